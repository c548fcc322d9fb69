//! The chairs fix mistakes (issue 16, "Fix"), end to end on real servers:
//! queued mail held, released and cancelled; a reviewer assigned and taken
//! off by hand under the conflict rules; a reviewer removed from the roster
//! and their open work refilled; a proposal edited as the chair's version;
//! a withdrawal undone. Every change is listed with who made it. Runs
//! against SQLite, and against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use support::clients::*;
use support::review::*;
use support::*;

fn subjects(inbox: &[Vec<u8>]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| parsed(m).subject().unwrap_or("").to_string())
        .collect()
}

/// The outbox rows of one kind: (id, state, hold).
async fn of_kind(w: &World, kind: &str) -> Vec<(i64, String, Option<String>)> {
    w.outbox()
        .await
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.id, r.state, r.hold))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_mail_is_not_sent_a_released_one_is_sent_once_and_a_cancelled_one_never() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    for (i, (from, title)) in [
        ("Ada <ada@a.example>", "HTMX at scale"),
        ("Bob <bob@b.example>", "Postgres tricks"),
        ("Cy <cy@c.example>", "Async views"),
    ]
    .iter()
    .enumerate()
    {
        let m = mail(
            from,
            CFP,
            &format!("h{i}@x"),
            "Proposal",
            &proposal_body(title),
        );
        w.dovecot.append("cfp", &m).await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@r.example,Rita,frontend;database,3\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    // `assign --commit` queues three mails to Rita; the chair holds them all.
    w.cfpd(&["assign", "--commit"]);
    let out = w.cfpd(&["outbox", "--hold", "--kind", "assignment", "--by", "Grace"]);
    assert_eq!(
        out,
        "3 queued assignment mail(s) held by Grace; not sent until released \
         (--release) or cancelled\n"
    );
    let held = of_kind(&w, "assignment").await;
    assert_eq!(held.len(), 3);
    assert!(held
        .iter()
        .all(|(_, s, h)| s == "queued" && h.as_deref() == Some("chair")));
    let (first, second, third) = (held[0].0, held[1].0, held[2].0);
    let out = w.cfpd(&["outbox", "--cancel", &first.to_string()]);
    assert!(
        out.contains(&format!("mail {first} cancelled by ")),
        "{out}"
    );

    // A run sends nothing that is held or cancelled.
    w.cfpd(&["run", "--once"]);
    let rows = of_kind(&w, "assignment").await;
    assert_eq!(rows[0].1, "cancelled");
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2.as_deref()),
        ("queued", Some("chair"))
    );
    assert_eq!(
        (rows[2].1.as_str(), rows[2].2.as_deref()),
        ("queued", Some("chair"))
    );
    let listing = w.cfpd(&["outbox"]);
    assert!(listing.contains("held:chair"), "{listing}");
    assert!(listing.contains("cancelled"), "{listing}");
    assert!(w.dovecot.fetch_all("rita", "INBOX").await.is_empty());

    // Released one by id, the others by kind: each sent once, the cancelled never.
    w.cfpd(&["outbox", "--release", &second.to_string()]);
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("rita", 1, T).await;
    assert_eq!(inbox.len(), 1, "{:?}", subjects(&inbox));
    let out = w.cfpd(&["outbox", "--release", "--kind", "assignment"]);
    assert!(
        out.starts_with("1 queued assignment mail(s) released by "),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("rita", 2, T).await;
    assert_eq!(inbox.len(), 2, "{:?}", subjects(&inbox));
    let rows = of_kind(&w, "assignment").await;
    assert_eq!(
        rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["cancelled", "sent", "sent"]
    );
    assert_eq!(rows[2].0, third);

    // Past stopping: a sent mail is neither held nor cancelled; a cancelled
    // one is not released.
    for (flag, id, why) in [
        ("--cancel", second, "it was already sent"),
        ("--hold", third, "it was already sent"),
        (
            "--release",
            first,
            "it is cancelled and will not be sent anyway",
        ),
    ] {
        let o = w.cfpd_raw(&["outbox", flag, &id.to_string()]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{flag} {id}: {err}");
    }
    let o = w.cfpd_raw(&["outbox", "--hold", "--kind", "nonsense"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--kind \"nonsense\": one of ack,"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manual_assignment_follows_the_conflict_rules_unless_overridden_and_is_mailed_once() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    let m = mail(
        "Ada <ada@uni.edu>",
        CFP,
        "m1@x",
        "Proposal",
        &proposal_body("HTMX at scale"),
    );
    w.dovecot.append("cfp", &m).await;
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend,3\n\
         sam@other.org,Sam,frontend,3\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);

    // Rita is at the speaker's university: refused, with the reason.
    let o = w.cfpd_raw(&["assign", "add", "P-0001", "rita@cs.uni.edu"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rita@cs.uni.edu cannot review P-0001: conflict of interest: the reviewer and a speaker are both at uni.edu"),
        "{err}"
    );
    assert!(err.contains("--override"), "{err}");
    assert!(of_kind(&w, "assignment").await.is_empty(), "nothing stored");

    let out = w.cfpd(&[
        "assign",
        "add",
        "P-0001",
        "rita@cs.uni.edu",
        "--override",
        "the only HTMX expert",
        "--by",
        "Grace",
    ]);
    assert!(
        out.starts_with("P-0001: rita@cs.uni.edu assigned by Grace despite a conflict"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("rita", 1, T).await;
    assert_eq!(subjects(&inbox).len(), 1);
    assert!(
        subjects(&inbox)[0].contains("Review P-0001:"),
        "{:?}",
        subjects(&inbox)
    );
    // Assigning the same pair again is refused: the mail is never sent twice.
    let o = w.cfpd_raw(&[
        "assign",
        "add",
        "P-0001",
        "rita@cs.uni.edu",
        "--override",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already assigned"));

    // Taken off by hand; the pair is never offered again.
    let out = w.cfpd(&[
        "assign",
        "remove",
        "P-0001",
        "rita@cs.uni.edu",
        "--by",
        "Grace",
    ]);
    assert!(
        out.starts_with("P-0001: rita@cs.uni.edu removed by Grace"),
        "{out}"
    );
    let o = w.cfpd_raw(&[
        "assign",
        "add",
        "P-0001",
        "rita@cs.uni.edu",
        "--override",
        "x",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("a chair took the reviewer off it earlier"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Her reply address no longer records a review, and she is told why.
    let a = orig(&inbox[0]);
    let late = raw_reply(
        "rita@cs.uni.edu",
        &a.reply_to,
        &format!("Re: {}", a.subject),
        "late1@x",
        Some(&a.message_id),
        "Score: 4",
    );
    w.dovecot.append("cfp", &late).await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("rita", 2, T).await;
    let answer = body(&inbox[1]);
    assert!(
        answer.contains("The program committee took P-0001 off your list of reviews"),
        "{answer}"
    );
    assert_eq!(review_count(&w).await, 0);
    // Sam is assigned and taken off again before the next run: his mail,
    // not sent yet, is cancelled with the assignment.
    w.cfpd(&["assign", "add", "P-0001", "sam@other.org"]);
    let out = w.cfpd(&["assign", "remove", "P-0001", "sam@other.org"]);
    assert!(out.contains("not sent yet, is cancelled"), "{out}");
    w.cfpd(&["run", "--once"]);
    let sam = of_kind(&w, "assignment").await;
    assert_eq!(sam.last().map(|r| r.1.as_str()), Some("cancelled"));
    assert!(w.dovecot.fetch_all("sam", "INBOX").await.is_empty());
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("changes by the chairs:"), "{show}");
    assert!(
        show.contains("Grace assign: assigned rita@cs.uni.edu despite a conflict: the reviewer and a speaker are both at uni.edu (override: the only HTMX expert)"),
        "{show}"
    );
    assert!(
        show.contains("Grace unassign: took rita@cs.uni.edu off"),
        "{show}"
    );
    assert!(show.contains("P-0001  rita@cs.uni.edu  removed"), "{show}");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_reviewer_refills_their_open_assignments_and_keeps_finished_reviews() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    setup(
        &w,
        &[
            ("Ada <ada@a.example>", "HTMX at scale", "frontend"),
            ("Bob <bob@b.example>", "Postgres tricks", "database"),
        ],
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend;database,2\n\
         sam@other.org,Sam,frontend;database,2\n",
        None,
    )
    .await;
    // Tom joins after the assignment: the one left to take over.
    let roster = w.dir.path().join("roster2.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\ntom@tom.example,Tom,frontend;database,2\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    // Rita reviews P-0001, not P-0002.
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 2).await);
    let review = raw_reply(
        "rita@cs.uni.edu",
        &a.reply_to,
        &format!("Re: {}", a.subject),
        "r1@x",
        Some(&a.message_id),
        "Score: 4\nComments for the speaker: Good.",
    );
    w.dovecot.append("cfp", &review).await;
    w.cfpd(&["run", "--once"]);

    let out = w.cfpd(&["reviewers", "remove", "rita@cs.uni.edu", "--by", "Grace"]);
    assert_eq!(
        out,
        "rita@cs.uni.edu removed from the roster by Grace: 1 open assignment(s) released, \
         1 finished review(s) kept\n  P-0002: reassigned to tom@tom.example\n"
    );
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("tom", 1, T).await;
    assert_eq!(subjects(&inbox).len(), 1);
    assert!(
        subjects(&inbox)[0].contains("Review P-0002:"),
        "{:?}",
        subjects(&inbox)
    );
    let reviews = w.cfpd(&["reviews", "list"]);
    assert!(
        reviews.contains("P-0001  rita@cs.uni.edu  score 4"),
        "{reviews}"
    );
    assert!(
        reviews.contains("P-0002  rita@cs.uni.edu  removed"),
        "{reviews}"
    );
    assert!(
        reviews.contains("P-0002  tom@tom.example  pending"),
        "{reviews}"
    );
    // The kept review still counts, and nobody else is added to P-0001.
    let out = w.cfpd(&["assign"]);
    assert!(out.contains("0 new pair(s)"), "{out}");
    let show = w.cfpd(&["proposals", "show", "P-0002"]);
    assert!(
        show.contains("Grace remove_reviewer: rita@cs.uni.edu removed from the roster; reassigned to tom@tom.example"),
        "{show}"
    );
    let list = w.cfpd(&["reviewers", "list"]);
    let rita = list.lines().find(|l| l.starts_with("rita@")).unwrap();
    assert!(rita.ends_with("(removed: gets no new work)"), "{list}");
    let o = w.cfpd_raw(&["reviewers", "remove", "rita@cs.uni.edu"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("was already removed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chair_edit_is_a_marked_version_and_the_speaker_is_told_once_unless_quiet() {
    need_servers!();
    let w = World::start("").await;
    w.submit("ada", "Ada <ada@example.org>", "e1@x", "Original title")
        .await;
    let out = w.cfpd(&[
        "proposals",
        "edit",
        "P-0001",
        "--field",
        "title",
        "A clearer title",
        "--by",
        "Grace",
    ]);
    assert!(
        out.starts_with("P-0001 is now version 2 (submitted), by Grace: changed Title\n"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("ada", 2, T).await;
    assert_eq!(inbox.len(), 2, "{:?}", subjects(&inbox));
    let told = body(&inbox[1]);
    assert!(
        subjects(&inbox)[1].contains("P-0001 was changed by the program committee"),
        "{:?}",
        subjects(&inbox)
    );
    assert!(
        told.contains("This is the part that changed:\n\nTitle: A clearer title\n"),
        "{told}"
    );
    // Names where a person answers (no contact here: reply to the mail).
    assert!(
        told.contains("Questions? Reply to this mail; a person on the program committee"),
        "{told}"
    );
    assert!(told.lines().all(|l| l.chars().count() <= 78), "{told}");

    // Quiet: a new version, no mail.
    w.cfpd(&[
        "proposals",
        "edit",
        "P-0001",
        "--field",
        "abstract",
        "A shorter abstract.",
        "--quiet",
    ]);
    w.cfpd(&["run", "--once"]);
    assert_eq!(of_kind(&w, "chair_edit").await.len(), 1);
    assert_eq!(w.dovecot.fetch_all("ada", "INBOX").await.len(), 2);

    // A file in the speaker's format; a bad value is refused with its line.
    let file = w.dir.path().join("edit.txt");
    std::fs::write(&file, "Title: Fine\nFormat: a lightning thing\n").unwrap();
    let o = w.cfpd_raw(&[
        "proposals",
        "edit",
        "P-0001",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{}: line 2: Format \"a lightning thing\"",
            file.display()
        )),
        "{err}"
    );
    assert!(err.contains("Nothing was changed."), "{err}");

    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("--- version 1 ("), "{show}");
    assert!(
        show.contains(
            ", edited by the chair Grace) ---\nchanged since version 1:\n  \
             Title changed: \"Original title\" -> \"A clearer title\"\n\nTitle: A clearer title"
        ),
        "{show}"
    );
    assert!(show.contains("--- version 3 ("), "{show}");
    assert!(show.contains("Abstract: A shorter abstract."), "{show}");
    assert!(
        show.contains("Grace edit: version 2: changed Title"),
        "{show}"
    );
    assert!(!show.contains("--- version 4"), "{show}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawal_is_undone_and_the_speaker_told() {
    need_servers!();
    let w = World::start("").await;
    let ack = w
        .submit("ada", "ada@example.org", "u1@x", "Original title")
        .await;
    w.dovecot
        .append("cfp", &reply("ada@example.org", &ack, "u2@x", "withdraw"))
        .await;
    w.cfpd(&["run", "--once"]);
    assert!(w
        .cfpd(&["proposals", "show", "P-0001"])
        .starts_with("P-0001  (withdrawn)"));
    w.dovecot.wait_for("ada", 2, T).await;

    let out = w.cfpd(&["proposals", "restore", "P-0001", "--by", "Grace"]);
    assert_eq!(
        out,
        "P-0001 restored as submitted, by Grace; the speaker is told by mail\n"
    );
    assert!(w
        .cfpd(&["proposals", "show", "P-0001"])
        .starts_with("P-0001  (submitted)"));
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("ada", 3, T).await;
    assert_eq!(inbox.len(), 3, "{:?}", subjects(&inbox));
    let told = body(&inbox[2]);
    assert!(
        told.contains("Your proposal P-0001 is no longer withdrawn"),
        "{told}"
    );
    assert!(told.contains("It is back in the running"), "{told}");
    let o = w.cfpd_raw(&["proposals", "restore", "P-0001"]);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("P-0001 cannot be restored: it is submitted, not withdrawn"));
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        show.contains("Grace restore: withdrawal undone: submitted again"),
        "{show}"
    );
}
