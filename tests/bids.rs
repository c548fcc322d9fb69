//! Bidding by mail, end to end on real servers (Dovecot + SMTP): `cfpd bids open` mails
//! every reviewer the proposals of their topics, blind; reviewers answer the way real mail
//! clients build replies; a forged answer changes nothing; a later answer replaces the
//! earlier one; and the bids visibly change the assignment `cfpd assign` chooses. Runs
//! against SQLite, and against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::collections::BTreeMap;

use cfpd::model::BidKind;
use support::clients::*;
use support::review::*;
use support::*;

/// Three reviewers who know both topics equally well, one place each: topics alone do not
/// tell who should review what.
const ROSTER: &str = "email,name,topics,max_load\n\
    rita@cs.uni.edu,Rita,frontend;database,1\n\
    sam@other.org,Sam,frontend;database,1\n\
    tom@tom.example,Tom,frontend;database,1\n";

/// The bidding cycle's roster: Tom knows only frontend, so without bids the
/// frontend talk (P-0001) has one best reviewer, Tom, and the assignment
/// before the bids is not a tie the solver may break either way. The bids
/// then give P-0001 to Rita (Sam declares a conflict, Tom says no).
const CYCLE_ROSTER: &str = "email,name,topics,max_load\n\
    rita@cs.uni.edu,Rita,frontend;database,1\n\
    sam@other.org,Sam,frontend;database,1\n\
    tom@tom.example,Tom,frontend,1\n";

/// Every stored bid as reviewer → (proposal id → bid).
async fn bids(w: &World) -> BTreeMap<String, BTreeMap<i64, BidKind>> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let revs = cfpd::store::review::reviewers(&mut c).await.unwrap();
    let mut out: BTreeMap<String, BTreeMap<i64, BidKind>> = BTreeMap::new();
    for b in cfpd::store::bids::all(&mut c).await.unwrap() {
        let who = revs.iter().find(|r| r.id == b.reviewer_id).unwrap();
        out.entry(who.email.clone())
            .or_default()
            .insert(b.proposal_id, b.kind);
    }
    out
}

/// The pairs of `cfpd assign --preview --csv`, as (proposal, reviewer) lines, and its
/// printed summary.
fn preview(w: &World, name: &str) -> (Vec<(String, String)>, String) {
    let path = w.dir.path().join(name);
    let out = w.cfpd(&["assign", "--preview", "--csv", path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&path).unwrap();
    let pairs = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect();
    (pairs, out)
}

fn text(raw: &[u8]) -> String {
    body(raw)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bidding_cycle_by_mail_changes_the_assignment() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    for (i, (from, title, topic)) in [
        ("Ada <ada@a.example>", "HTMX at scale", "frontend"),
        ("Bob <bob@b.example>", "Postgres tricks", "database"),
    ]
    .iter()
    .enumerate()
    {
        let body = proposal_with(title, topic);
        let m = mail(
            from,
            CFP,
            &format!("prop{i}@speakers.example"),
            "Proposal",
            &body,
        );
        w.dovecot.append("cfp", &m).await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(&roster, CYCLE_ROSTER).unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    let (before, out) = preview(&w, "before.csv");
    assert_eq!(
        before[0],
        ("P-0001".to_string(), "tom@tom.example".to_string())
    );
    assert!(
        out.contains("bids behind the pairs: 0 yes, 0 maybe, 0 no, 2 without a bid"),
        "{out}"
    );

    // One bidding mail each, never twice.
    let out = w.cfpd(&["bids", "open"]);
    assert!(
        out.contains("bidding mail queued for 3 reviewer(s)"),
        "{out}"
    );
    let out = w.cfpd(&["bids", "open"]);
    assert!(out.contains("queued for 0 reviewer(s)"), "{out}");
    assert!(out.contains("3 had theirs already"), "{out}");
    w.cfpd(&["run", "--once"]);
    let invite = mail_with_subject(&w, "rita", "Which proposals", 1).await;
    let t = text(&invite);
    for want in [
        "P-0001",
        "HTMX at scale",
        "P-0002",
        "Postgres tricks",
        "Format: talk-25",
        "A talk about frontend in Django projects.",
        "What happens next",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    assert!(
        !t.contains("ada@") && !t.contains("Ada") && !t.contains("Bob"),
        "{t}"
    );
    assert!(t.lines().all(|l| l.chars().count() <= 78), "{t}");
    let out = w.cfpd(&["bids", "list"]);
    assert!(
        out.contains("3 reviewer(s) asked and not answered"),
        "{out}"
    );

    // Gmail, Outlook (top-posting above the unquoted original), Apple Mail.
    let sam = orig(&mail_with_subject(&w, "sam", "Which proposals", 1).await);
    let tom = orig(&mail_with_subject(&w, "tom", "Which proposals", 1).await);
    let rita = orig(&invite);
    let replies = [
        gmail(
            "Rita <rita@cs.uni.edu>",
            &rita,
            "b1@gmail",
            "yes: P-0001, P-0002",
        ),
        outlook(
            "Sam <sam@other.org>",
            &sam,
            "b2@outlook",
            "yes: 2\r\nconflict: P-0001",
        ),
        apple_mail(
            "Tom <tom@tom.example>",
            &tom,
            "b3@apple",
            "maybe: P2\nno: #1",
        ),
    ];
    for r in &replies {
        w.dovecot.append("cfp", r).await;
    }
    w.cfpd(&["run", "--once"]);
    let mut want: BTreeMap<String, BTreeMap<i64, BidKind>> = BTreeMap::new();
    want.insert(
        "rita@cs.uni.edu".into(),
        [(1, BidKind::Yes), (2, BidKind::Yes)].into(),
    );
    want.insert(
        "sam@other.org".into(),
        [(1, BidKind::Conflict), (2, BidKind::Yes)].into(),
    );
    want.insert(
        "tom@tom.example".into(),
        [(1, BidKind::No), (2, BidKind::Maybe)].into(),
    );
    assert_eq!(bids(&w).await, want);
    let receipt = mail_with_subject(&w, "sam", "Your answers were recorded", 2).await;
    let t = text(&receipt);
    assert!(
        t.contains("P-0001: conflict") && t.contains("P-0002: yes"),
        "{t}"
    );
    assert!(t.lines().all(|l| l.chars().count() <= 78), "{t}");

    // A forged From through Rita's token, and a reply with nothing readable: neither
    // changes anything; each is told why, and the forger learns nothing.
    let forged = raw_reply(
        "Eve <eve@evil.example>",
        &rita.reply_to,
        &rita.subject,
        "b4@evil",
        Some(&rita.message_id),
        "conflict: 1, 2",
    );
    w.dovecot.append("cfp", &forged).await;
    let unclear = raw_reply(
        "Tom <tom@tom.example>",
        &tom.reply_to,
        &tom.subject,
        "b5@tom",
        None,
        "P-0001 please, if I may",
    );
    w.dovecot.append("cfp", &unclear).await;
    // Rita's own address, but to the plain CFP address: no token, no bid.
    let tokenless = raw_reply(
        "Rita <rita@cs.uni.edu>",
        CFP,
        "my bids",
        "b7@rita",
        None,
        "conflict: 1, 2",
    );
    w.dovecot.append("cfp", &tokenless).await;
    w.cfpd(&["run", "--once"]);
    assert_eq!(bids(&w).await, want, "nothing changed");
    let refusal = text(&mail_with_subject(&w, "eve", "Re:", 1).await);
    assert!(refusal.contains("nothing was recorded"), "{refusal}");
    assert!(
        !refusal.contains("P-000") && !refusal.contains("HTMX"),
        "{refusal}"
    );
    let unclear_raw = mail_with_subject(&w, "tom", "Re:", 3).await;
    // Answering the refusal is a bid again: it carries a fresh bidding address.
    let again = reply_to(&unclear_raw);
    assert!(
        again.starts_with("cfp+") && again != tom.reply_to,
        "{again}"
    );
    let unclear = text(&unclear_raw);
    assert!(unclear.contains("\"P-0001 please, if I may\""), "{unclear}");
    assert!(
        unclear.contains("earlier answers, if any, still stand"),
        "{unclear}"
    );

    // Rita changes her mind by answering her receipt: the new answer replaces the old.
    let receipt = orig(&mail_with_subject(&w, "rita", "Your answers were recorded", 2).await);
    let later = thunderbird(
        "Rita <rita@cs.uni.edu>",
        &receipt,
        "b6@tb",
        "yes: P-0001\nno: P-0002",
    );
    w.dovecot.append("cfp", &later).await;
    w.cfpd(&["run", "--once"]);
    want.insert(
        "rita@cs.uni.edu".into(),
        [(1, BidKind::Yes), (2, BidKind::No)].into(),
    );
    assert_eq!(bids(&w).await, want);
    let states: Vec<(String, Option<String>)> = messages(&w)
        .await
        .into_iter()
        .skip(2)
        .map(|(s, r, _)| (s, r))
        .collect();
    let st = |s: &str, r: Option<&str>| (s.to_string(), r.map(str::to_string));
    assert_eq!(
        states,
        vec![
            st("bids_recorded", None),
            st("bids_recorded", None),
            st("bids_recorded", None),
            st("rejected", Some("reviewer_mismatch")),
            st("rejected", Some("bids_not_understood")),
            st("rejected", Some("review_without_token")),
            st("bids_recorded", None),
        ]
    );

    // The bids decide: each proposal goes to the reviewer who said yes to it.
    let (after, out) = preview(&w, "after.csv");
    assert_eq!(
        after,
        vec![
            ("P-0001".to_string(), "rita@cs.uni.edu".to_string()),
            ("P-0002".to_string(), "sam@other.org".to_string()),
        ]
    );
    assert_ne!(before, after, "the bids changed the assignment");
    assert!(
        out.contains("bids behind the pairs: 2 yes, 0 maybe, 0 no, 0 without a bid"),
        "{out}"
    );
    assert!(out.contains("worst-served proposal: P-0001"), "{out}");
}

/// The `reviewers_without_bids` reminder goes to reviewers asked and silent, lists the
/// proposals again with a fresh bidding address, and stops for whoever answers (by reply
/// to the bidding mail or to the reminder itself).
#[tokio::test(flavor = "multi_thread")]
async fn reviewers_who_have_not_bid_are_reminded_until_they_answer() {
    need_servers!();
    let w = World::start(
        "[review]\nreviewers_per_proposal = 1\n\n[[reminders]]\nname = \"bids\"\n\
         cron = \"0 0 9 * * *\"\naudience = \"reviewers_without_bids\"\nfrom = \"-60d\"\n",
    )
    .await;
    w.set_cfp_deadline(
        "2099-04-24T23:59:59",
        "\nreview_deadline = \"2099-06-01T23:59:59\"",
    );
    for (i, (from, title, topic)) in [
        ("Ada <ada@a.example>", "HTMX at scale", "frontend"),
        ("Bob <bob@b.example>", "Postgres tricks", "database"),
    ]
    .iter()
    .enumerate()
    {
        let body = proposal_with(title, topic);
        let m = mail(
            from,
            CFP,
            &format!("prop{i}@speakers.example"),
            "Proposal",
            &body,
        );
        w.dovecot.append("cfp", &m).await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(&roster, ROSTER).unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    w.cfpd(&["bids", "open"]);
    w.cfpd(&["run", "--once"]);
    let rita = orig(&mail_with_subject(&w, "rita", "Which proposals", 1).await);
    let answer = gmail("Rita <rita@cs.uni.edu>", &rita, "r1@gmail", "maybe: 1, 2");
    w.dovecot.append("cfp", &answer).await;
    w.cfpd(&["run", "--once"]);

    let out = w.cfpd_at("2099-05-02T00:00:00Z", &["run", "--once"]);
    assert!(out.contains("queued 2 reminder mail(s)"), "{out}");
    let reminder = mail_with_subject(&w, "tom", "Reminder: which proposals", 2).await;
    let t = text(&reminder);
    assert!(t.contains("P-0001") && t.contains("Postgres tricks"), "{t}");
    assert!(t.lines().all(|l| l.chars().count() <= 78), "{t}");
    assert!(!t.contains("ada@"), "{t}");
    let rita_inbox = inbox(&w, "rita").await;
    assert!(
        rita_inbox
            .iter()
            .all(|m| !parsed(m).subject().unwrap_or("").contains("Reminder")),
        "Rita answered: no reminder"
    );

    // Tom answers the reminder itself: that records his bids, and only Sam is left.
    let r = orig(&reminder);
    let answer = raw_reply(
        "Tom <tom@tom.example>",
        &r.reply_to,
        &format!("Re: {}", r.subject),
        "t1@tom",
        Some(&r.message_id),
        "no: P-0002\n",
    );
    w.dovecot.append("cfp", &answer).await;
    w.cfpd(&["run", "--once"]);
    assert_eq!(
        bids(&w).await.get("tom@tom.example"),
        Some(&[(2, BidKind::No)].into())
    );
    let out = w.cfpd_at("2099-05-03T00:00:00Z", &["run", "--once"]);
    assert!(out.contains("queued 1 reminder mail(s)"), "{out}");
    let sam = inbox(&w, "sam").await;
    let reminders = sam
        .iter()
        .filter(|m| parsed(m).subject().unwrap_or("").contains("Reminder"))
        .count();
    assert_eq!(reminders, 2, "Sam, still silent, is reminded each day");
}

/// `[review] objective = "fair"` on the same stored state as `total`: the preview reports
/// both figures either way, `fair` raises the worst-served proposal's affinity (at a lower
/// total), and both give every proposal its reviewer within every load.
#[tokio::test(flavor = "multi_thread")]
async fn fair_lifts_the_worst_served_proposal_that_total_sacrifices() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    for (i, (from, title, topic)) in [
        ("Ada <ada@a.example>", "Forms without tears", "frontend"),
        ("Bob <bob@b.example>", "Postgres tricks", "database"),
    ]
    .iter()
    .enumerate()
    {
        let body = proposal_with(title, topic);
        let m = mail(
            from,
            CFP,
            &format!("prop{i}@speakers.example"),
            "Proposal",
            &body,
        );
        w.dovecot.append("cfp", &m).await;
    }
    w.cfpd(&["run", "--once"]);
    // Rita knows only the frontend; Sam knows both but would rather not review P-0002.
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,1\nsam@other.org,Sam,frontend;database,1\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    w.cfpd(&["bids", "open"]);
    w.cfpd(&["run", "--once"]);
    for (user, from, answer) in [
        ("rita", "Rita <rita@cs.uni.edu>", "yes: 1"),
        ("sam", "Sam <sam@other.org>", "no: 2"),
    ] {
        let o = orig(&mail_with_subject(&w, user, "Which proposals", 1).await);
        let mid = format!("{user}@bids");
        w.dovecot
            .append("cfp", &gmail(from, &o, &mid, answer))
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let worst = |out: &str| -> (i64, i64) {
        let line = out
            .lines()
            .find(|l| l.starts_with("worst-served proposal:"))
            .unwrap_or_else(|| panic!("{out}"));
        let num = |after: &str| -> i64 {
            let rest = &line[line.find(after).unwrap() + after.len()..];
            let n: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            n.parse().unwrap()
        };
        (num("affinity "), num("total affinity "))
    };
    let (total_pairs, total_out) = preview(&w, "total.csv");
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let fair_cfg = cfg.replace(
        "reviewers_per_proposal = 1\n",
        "reviewers_per_proposal = 1\nobjective = \"fair\"\n",
    );
    assert_ne!(cfg, fair_cfg);
    std::fs::write(&w.config, fair_cfg).unwrap();
    let (fair_pairs, fair_out) = preview(&w, "fair.csv");
    assert!(total_out.contains("(total, proved optimal)"), "{total_out}");
    assert!(fair_out.contains("(fair, proved optimal)"), "{fair_out}");
    let (t_worst, t_total) = worst(&total_out);
    let (f_worst, f_total) = worst(&fair_out);
    assert!(
        f_worst > t_worst,
        "fair lifts the worst:\n{total_out}\n{fair_out}"
    );
    assert!(
        f_total < t_total,
        "at a lower total:\n{total_out}\n{fair_out}"
    );
    for pairs in [&total_pairs, &fair_pairs] {
        let mut ps: Vec<&str> = pairs.iter().map(|(p, _)| p.as_str()).collect();
        let mut rs: Vec<&str> = pairs.iter().map(|(_, r)| r.as_str()).collect();
        ps.sort();
        rs.sort();
        assert_eq!(ps, ["P-0001", "P-0002"], "one reviewer each");
        assert_eq!(
            rs,
            ["rita@cs.uni.edu", "sam@other.org"],
            "one proposal each"
        );
    }
    assert_eq!(
        fair_pairs,
        vec![
            ("P-0001".to_string(), "sam@other.org".to_string()),
            ("P-0002".to_string(), "rita@cs.uni.edu".to_string()),
        ]
    );
}
