//! Reviews by email reply, end to end on real servers (Dovecot + SMTP): reviewers get
//! assignment mails in their own mailboxes, answer them the way real mail clients build
//! replies, and read receipts over IMAP; the chair's report ranks what was recorded.
//! Who may review what, and until when, is in `review_access.rs`. Runs against SQLite,
//! and against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use support::clients::*;
use support::review::*;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn six_mail_clients_are_recorded_and_confirmed() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 3\n").await;
    setup(
        &w,
        &[
            ("Ada <ada@a.example>", "HTMX at scale", "frontend"),
            ("Bob <bob@b.example>", "Postgres tricks", "database"),
        ],
        ROSTER3,
        None,
    )
    .await;
    let ids = assignment_ids(&w).await;
    assert_eq!(ids.len(), 6, "3 reviewers × 2 proposals");
    let a = |user: &str| match user {
        "rita" => "Rita <rita@cs.uni.edu>",
        "sam" => "Sam <sam@other.org>",
        _ => "Tom <tom@tom.example>",
    };
    let assigned = |user: &'static str, p: &'static str| {
        let w = &w;
        async move { orig(&mail_with_subject(w, user, &format!("Review {p}:"), 2).await) }
    };
    let mut cases: Vec<Case> = Vec::new();
    let o = assigned("rita", "P-0001").await;
    cases.push((
        "rita",
        1,
        gmail(
            a("rita"),
            &o,
            "gmail-1@mail.gmail.com",
            "Score: 4\nConfidence: 2\nComments for the speaker:\nGreat topic; tighten the outline.\n\nComments for the committee:\nStrong accept.",
        ),
        4,
        Some(2),
        "Great topic; tighten the outline.",
        "Strong accept.",
    ));
    let o = assigned("sam", "P-0001").await;
    cases.push((
        "sam",
        1,
        outlook(
            a("sam"),
            &o,
            "outlook-1@AM0PR01MB.eurprd01.prod.exchangelabs.com",
            "Score: 3\nComments for the speaker:\nThe demo needs a fallback plan.",
        ),
        3,
        None,
        "The demo needs a fallback plan.",
        "",
    ));
    let o = assigned("tom", "P-0001").await;
    cases.push((
        "tom",
        1,
        apple_mail(
            a("tom"),
            &o,
            "apple-1@tom.example",
            "Score: 5\nConfidence: 3\nComments for the committee:\nBest in the batch — ça marche.",
        ),
        5,
        Some(3),
        "",
        "Best in the batch — ça marche.",
    ));
    let o = assigned("rita", "P-0002").await;
    cases.push((
        "rita",
        2,
        thunderbird(
            a("rita"),
            &o,
            "tb-1@cs.uni.edu",
            "Score: 2\nComments for the speaker: Too close to last year's talk.",
        ),
        2,
        None,
        "Too close to last year's talk.",
        "",
    ));
    let o = assigned("sam", "P-0002").await;
    cases.push((
        "sam",
        2,
        mutt(
            a("sam"),
            &o,
            "mutt-1@other.org",
            &[
                ("Score:", "4"),
                ("Confidence:", "1"),
                ("Comments for the speaker:", "Show the query plans."),
                ("Comments for the committee:", "Good, not great."),
            ],
        ),
        4,
        Some(1),
        "Show the query plans.",
        "Good, not great.",
    ));
    let o = assigned("tom", "P-0002").await;
    cases.push((
        "tom",
        2,
        html_only(
            a("tom"),
            &o,
            "owa-1@tom.example",
            "Score: 1\nComments for the speaker:\nOff topic for us, sorry.",
        ),
        1,
        None,
        "Off topic for us, sorry.",
        "",
    ));
    for (_, _, raw, ..) in &cases {
        w.dovecot.append("cfp", raw).await;
    }
    let out = w.cfpd(&["run", "--once"]);
    assert!(out.contains("processed 6 message(s)"), "{out}");
    let states = messages(&w).await;
    let reviews: Vec<_> = states.iter().filter(|s| s.0 == "review_recorded").collect();
    assert_eq!(reviews.len(), 6, "{states:#?}");
    for (user, pid, raw, score, confidence, speaker, committee) in &cases {
        let email = match *user {
            "rita" => "rita@cs.uni.edu",
            "sam" => "sam@other.org",
            _ => "tom@tom.example",
        };
        let h = history(&w, ids[&(email.to_string(), *pid)]).await;
        assert_eq!(h.len(), 1, "{user} P{pid}");
        let r = &h[0];
        assert_eq!(
            (
                r.score,
                r.confidence,
                r.comments_speaker.as_str(),
                r.comments_committee.as_str()
            ),
            (*score, *confidence, *speaker, *committee),
            "{user} on P-000{pid} ({})",
            String::from_utf8_lossy(raw)
                .lines()
                .find(|l| l.starts_with("Message-ID"))
                .unwrap()
        );
        // The receipt: in the reviewer's own mailbox, threaded, echoing what was recorded.
        let receipt = mail_with_subject(&w, user, &format!("Review P-000{pid}: recorded"), 4).await;
        let text = body(&receipt);
        assert!(
            text.contains(&format!("Score: {score} (scale 1-5)")),
            "{text}"
        );
        if !speaker.is_empty() {
            assert!(
                text.contains(&format!("Comments for the speaker:\n  {speaker}")),
                "{text}"
            );
        }
        if !committee.is_empty() {
            assert!(
                text.contains(&format!("Comments for the committee:\n  {committee}")),
                "{text}"
            );
        }
        match confidence {
            Some(c) => assert!(
                text.contains(&format!("Confidence: {c} (scale 1-3)")),
                "{text}"
            ),
            None => assert!(text.contains("Confidence: not given"), "{text}"),
        }
        let sent_mid = parsed(raw).message_id().unwrap().to_string();
        assert_eq!(
            parsed(&receipt).in_reply_to().as_text(),
            Some(sent_mid.as_str())
        );
        assert_eq!(
            header(&receipt, "Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        assert!(
            reply_to(&receipt).starts_with("cfp+"),
            "receipts can be answered"
        );
    }
    // Exactly one receipt each; nothing else was sent.
    for user in ["rita", "sam", "tom"] {
        assert_eq!(
            inbox(&w, user).await.len(),
            4,
            "{user}: 2 assignments + 2 receipts"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_review_cycle_by_mail_alone() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        None,
    )
    .await;
    // 1. The assignment mail.
    let assignment = mail_with_subject(&w, "rita", "Review P-0001:", 1).await;
    assert!(body(&assignment).contains("Score: (1-5)"));
    // 2. The reply (Gmail).
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Rita <rita@cs.uni.edu>",
                &orig(&assignment),
                "cycle-1@mail.gmail.com",
                "Score: 4\nComments for the speaker:\nNice.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    // 3. The receipt.
    let receipt = mail_with_subject(&w, "rita", "recorded (score 4)", 2).await;
    let text = body(&receipt);
    assert!(
        text.contains("(version 1)") && text.contains("Score: 4 (scale 1-5)"),
        "{text}"
    );
    // 4. The revision, answering the receipt (its own token), from Apple Mail.
    w.dovecot
        .append(
            "cfp",
            &apple_mail(
                "Rita <rita@cs.uni.edu>",
                &orig(&receipt),
                "cycle-2@cs.uni.edu",
                "Score: 2\nComments for the speaker:\nOn second thought, the outline is thin.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    // 5. The second receipt names what it replaced.
    let receipt2 = mail_with_subject(&w, "rita", "recorded (score 2)", 3).await;
    let text = body(&receipt2);
    assert!(
        text.contains("It replaces version 1 (score 4), which stays in the history.")
            && text.contains("(version 2)")
            && text
                .contains("Comments for the speaker:\n  On second thought, the outline is thin."),
        "{text}"
    );
    // The revision replaced the score; the history keeps both.
    let ids = assignment_ids(&w).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(
        h.iter()
            .map(|r| (r.version, r.score, r.current))
            .collect::<Vec<_>>(),
        vec![(1, 4, false), (2, 2, true)]
    );
    let report = w.cfpd(&["report"]);
    assert!(
        report.contains("P-0001") && report.contains(" 2.00 "),
        "{report}"
    );
    // Chairs read the current review, both comments, where they work.
    let listed = w.cfpd(&["reviews", "list", "--proposal", "P-0001"]);
    assert!(
        listed.contains("P-0001  rita@cs.uni.edu  score 2  (version 2)\n")
            && listed.contains("  for the speaker:\n    On second thought, the outline is thin.\n"),
        "{listed}"
    );
    let by_rita = w.cfpd(&["reviews", "list", "--reviewer", "rita@cs.uni.edu"]);
    assert!(by_rita.contains("score 2"), "{by_rita}");
    assert!(w
        .cfpd(&["reviews", "list", "--reviewer", "nobody@x.example"])
        .contains("0 assignment(s)"));
    let shown = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        shown.contains("reviews:\n  P-0001  rita@cs.uni.edu  score 2  (version 2)"),
        "{shown}"
    );
    // A third reply, to the original assignment mail, still works (its token is valid).
    w.dovecot
        .append(
            "cfp",
            &mutt(
                "rita@cs.uni.edu",
                &orig(&assignment),
                "cycle-3@cs.uni.edu",
                &[("Score:", "3")],
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 3)", 4).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(h.len(), 3);
    assert!(h[2].current && h[2].score == 3);
    assert_eq!(
        inbox(&w, "rita").await.len(),
        4,
        "one receipt per reply, nothing else"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_forms_get_one_rate_limited_answer_naming_the_problem() {
    need_servers!();
    let w =
        World::start("[review]\nreviewers_per_proposal = 1\n[limits]\nreview_help_per_day = 2\n")
            .await;
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        None,
    )
    .await;
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    let bad = [
        ("f1@x", "Score: 9\nComments for the speaker: ok"),
        ("f2@x", "Score: 4\nI said it above.\nScore: 5"),
        ("f3@x", "Looks fine to me."),
    ];
    for (mid, text) in bad {
        w.dovecot
            .append("cfp", &gmail("rita@cs.uni.edu", &a, mid, text))
            .await;
    }
    w.cfpd(&["run", "--once"]);
    assert_eq!(review_count(&w).await, 0, "{:#?}", messages(&w).await);
    let rita = w.dovecot.wait_for("rita", 3, T).await;
    w.settled().await;
    assert_eq!(
        inbox(&w, "rita").await.len(),
        3,
        "assignment + 2 help replies, the 3rd suppressed"
    );
    let t1 = body(&rita[1]);
    assert!(
        t1.contains("The score 9 is outside the scale, which goes from 1 to 5."),
        "{t1}"
    );
    assert!(t1.contains("Score: (1-5)"), "the form is shown again: {t1}");
    let t2 = body(&rita[2]);
    assert!(t2.contains("different scores (4 and 5)"), "{t2}");
    let detail = messages(&w).await.pop().unwrap();
    assert_eq!(detail.1.as_deref(), Some("review_form"));
    assert!(
        detail.2.unwrap().contains("help reply suppressed"),
        "rate limit noted"
    );
    // Answering the help reply (its own token) with a good form records the review.
    w.dovecot
        .append(
            "cfp",
            &thunderbird("rita@cs.uni.edu", &orig(&rita[2]), "f4@x", "Score: 3"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 3)", 4).await;
    assert_eq!(review_count(&w).await, 1);
    // "help" is answered with the form (not rate-limited with the problem replies), and
    // changes nothing.
    w.dovecot
        .append("cfp", &outlook("rita@cs.uni.edu", &a, "f5@x", "Help?"))
        .await;
    w.cfpd(&["run", "--once"]);
    let help = mail_with_subject(&w, "rita", "how to answer", 5).await;
    let text = body(&help);
    assert!(
        text.contains("Score: (1-5)\nConfidence: (1-3, optional)") && text.contains("decline"),
        "{text}"
    );
    assert!(reply_to(&help).starts_with("cfp+"), "answering it works");
    assert_eq!(messages(&w).await.pop().unwrap().0, "help");
    assert_eq!(review_count(&w).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_ranks_a_known_set_per_topic() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 3\n").await;
    setup(
        &w,
        &[
            ("ada@a.example", "One", "frontend"),
            ("bob@b.example", "Two", "frontend"),
            ("cy@c.example", "Three", "database"),
            ("di@d.example", "Four", "frontend"),
        ],
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend;database,4\n\
         sam@other.org,Sam,frontend;database,4\n\
         tom@tom.example,Tom,frontend;database,4\n",
        None,
    )
    .await;
    // (reviewer, proposal, reply) — tom scores P-0002 twice: the revision counts.
    let plan: &[(&str, &str, &str)] = &[
        ("rita", "P-0001", "Score: 4"),
        ("sam", "P-0001", "Score: 4"),
        ("tom", "P-0001", "Score: 1"),
        ("rita", "P-0002", "Score: 5"),
        ("sam", "P-0002", "Score: 3"),
        ("tom", "P-0002", "Score: 3"),
        ("rita", "P-0003", "Score: 2"),
        ("tom", "P-0003", "decline"),
        ("rita", "P-0004", "Score: 5"),
        ("sam", "P-0004", "Score: 5"),
        ("tom", "P-0004", "Score: 4"),
        (
            "tom",
            "P-0002",
            "Score: 1\nComments for the committee: changed my mind",
        ),
    ];
    let address = |u: &str| match u {
        "rita" => "rita@cs.uni.edu",
        "sam" => "sam@other.org",
        _ => "tom@tom.example",
    };
    for (i, (user, p, text)) in plan.iter().enumerate() {
        let a = orig(&mail_with_subject(&w, user, &format!("Review {p}:"), 4).await);
        w.dovecot
            .append(
                "cfp",
                &raw_reply(
                    address(user),
                    &a.reply_to,
                    &format!("Re: {}", a.subject),
                    &format!("rank{i}@x"),
                    Some(&a.message_id),
                    text,
                ),
            )
            .await;
        if i == 10 {
            // The revision comes in a later run than the first score.
            w.cfpd(&["run", "--once"]);
        }
    }
    w.cfpd(&["run", "--once"]);
    let text = w.cfpd(&["report"]);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| t.len() >= 2 && t[1].starts_with("P-"))
        .collect();
    assert_eq!(
        rows,
        vec![
            // Frontend first: the default topic set lists it before Database.
            vec!["1", "P-0004", "4.67", "5.0", "1", "3", "0", "Four"],
            // Same mean (3.00): the higher median ranks first.
            vec!["2", "P-0001", "3.00", "4.0", "3", "3", "0", "One"],
            vec!["3", "P-0002", "3.00", "3.0", "4", "3", "0", "Two"],
            // One review counts, one is pending, the decline is neither.
            vec!["1", "P-0003", "2.00", "2.0", "0", "1", "1", "Three"],
        ],
        "{text}"
    );
    let at = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
    assert!(
        at("(frontend)") < at("P-0004")
            && at("P-0002") < at("(database)")
            && at("(database)") < at("P-0003"),
        "{text}"
    );
    let progress: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("Reviewer progress"))
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        progress,
        vec![
            vec!["rita@cs.uni.edu", "4", "4", "0", "0", "0"],
            vec!["sam@other.org", "4", "3", "1", "0", "0"],
            vec!["tom@tom.example", "3", "3", "0", "1", "0"],
        ],
        "{text}"
    );
    let csv = w.cfpd(&["report", "--format", "csv"]);
    assert!(
        csv.starts_with(
            "topic,topic_name,rank,proposal,title,mean,median,spread,reviews,pending\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",1,P-0004,Four,4.67,5.0,1,3,0\n"), "{csv}");
    assert!(!csv.contains("\n\n"), "one table per file: {csv}");
    let reviewers = w.cfpd(&["report", "--format", "reviewers-csv"]);
    assert!(
        reviewers.starts_with("reviewer,name,assigned,done,pending,declined,conflicts\n"),
        "{reviewers}"
    );
    assert!(
        reviewers.contains("tom@tom.example,Tom,3,3,0,1,0\n"),
        "{reviewers}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["report", "--format", "json"])).unwrap();
    let frontend = json["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "frontend")
        .unwrap();
    let order: Vec<&str> = frontend["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reference"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["P-0004", "P-0001", "P-0002"]);
    assert_eq!(
        frontend["proposals"][2]["scores"],
        serde_json::json!([5, 3, 1])
    );
    assert_eq!(json["score_scale"], serde_json::json!([1, 5]));
}
