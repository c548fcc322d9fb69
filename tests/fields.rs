//! The conference's own questions (`[[proposals.fields]]`) end to end on real
//! servers: a speaker's answers are read from the mail, echoed in the
//! acknowledgment, exported, kept from blind reviewers unless the chair says
//! otherwise; a missing required answer keeps a draft; and `cfpd proposals
//! show` says what each version changed and lists the mail thread. Runs
//! against SQLite, and against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::time::Duration;

use support::review::*;
use support::*;

/// Pronouns (hidden from blind reviewers by default) and a required yes/no
/// question the chair shows to reviewers explicitly.
const FIELDS: &str = r#"
[[proposals.fields]]
name = "pronouns"
label = "Pronouns"

[[proposals.fields]]
name = "in_person"
label = "Can you attend in person?"
kind = "yes/no"
required = true
reviewers = true
"#;

const T: Duration = Duration::from_secs(20);

fn body_with(title: &str, extra: &str) -> String {
    format!("{}{extra}", proposal_with(title, "frontend"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_field_reaches_the_ack_and_the_export_and_not_the_blind_assignment_mail() {
    need_servers!();
    let w = World::start(&format!("[review]\nreviewers_per_proposal = 1\n{FIELDS}")).await;
    let check = w.cfpd(&["check", "--config-only"]);
    assert!(
        check.contains("fields    ok   pronouns, in_person"),
        "{check}"
    );
    assert!(
        check.contains("WARNING   field \"in_person\" (Can you attend in person?) is shown to reviewers under blind review"),
        "{check}"
    );
    let body = body_with(
        "HTMX at scale",
        "Pronouns: she/her\nCan you attend in person? Yes\n",
    );
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Ada <ada@a.example>",
                CFP,
                "p1@a.example",
                "Proposal",
                &body,
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let ack = body_of(&w.dovecot.wait_for("ada", 1, T).await[0]);
    assert!(ack.contains("Pronouns: she/her\n"), "{ack}");
    assert!(ack.contains("Can you attend in person?: yes\n"), "{ack}");
    assert!(ack.lines().all(|l| l.chars().count() <= 78), "{ack}");
    // The answers are fields of their own, not part of the description.
    let description = ack.split("Description:").nth(1).unwrap();
    let description = description.split("Pronouns:").next().unwrap();
    assert!(!description.contains("she/her"), "{ack}");

    let csv = w.cfpd(&["proposals", "list", "--output", "csv"]);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(",median_score,pronouns,in_person"),
        "{csv}"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("P-0001,") && row.ends_with(",she/her,yes"),
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["proposals", "list", "--output", "json"])).unwrap();
    assert_eq!(json[0]["fields"]["pronouns"], "she/her");
    assert_eq!(json[0]["fields"]["in_person"], "yes");
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("Pronouns: she/her"), "{show}");

    // Blind review: the reviewer sees the question the chair opened to
    // reviewers, and not the pronouns.
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(out.contains("committed"), "{out}");
    w.cfpd(&["run", "--once"]);
    let assignment = body_of(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    assert!(assignment.contains("Title: HTMX at scale"), "{assignment}");
    assert!(
        assignment.contains("Can you attend in person?: yes"),
        "{assignment}"
    );
    assert!(!assignment.contains("Pronouns"), "{assignment}");
    assert!(!assignment.contains("she/her"), "{assignment}");
    assert!(!assignment.contains("ada@a.example"), "{assignment}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_required_field_keeps_a_draft_and_show_tells_the_story() {
    need_servers!();
    let w = World::start(FIELDS).await;
    let body = body_with("Postgres tricks", "Pronouns: he/him\n");
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Bob <bob@b.example>",
                CFP,
                "p1@b.example",
                "Proposal",
                &body,
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let draft_raw = w.dovecot.wait_for("bob", 1, T).await.remove(0);
    let subject = parsed(&draft_raw).subject().unwrap().to_string();
    assert!(subject.contains("P-0001 saved as a draft"), "{subject}");
    let draft = body_of(&draft_raw);
    assert!(
        draft.contains("  - Can you attend in person? is missing.\n"),
        "{draft}"
    );
    assert!(
        draft.contains("\nCan you attend in person?: ...\n"),
        "{draft}"
    );
    assert!(draft.contains("Pronouns: he/him\n"), "{draft}");

    // Bob answers the question alone: that is an update, and completes it.
    let answer = reply(
        "Bob <bob@b.example>",
        &draft_raw,
        "p2@b.example",
        "Can you attend in person? no",
    );
    w.dovecot.append("cfp", &answer).await;
    w.cfpd(&["run", "--once"]);
    let updated_raw = w.dovecot.wait_for("bob", 2, T).await.remove(1);
    let updated = body_of(&updated_raw);
    assert!(
        updated.contains("Can you attend in person?: no\n"),
        "{updated}"
    );
    let list = w.cfpd(&["proposals", "list", "--status", "submitted"]);
    assert!(list.contains("P-0001"), "{list}");
    // Then he retitles the talk and adds a line to its abstract.
    let retitle = reply(
        "Bob <bob@b.example>",
        &updated_raw,
        "p3@b.example",
        "Title: Postgres tricks for Django\nAbstract:\n  A talk about frontend in Django projects.\n  With EXPLAIN ANALYZE.",
    );
    w.dovecot.append("cfp", &retitle).await;
    w.cfpd(&["run", "--once"]);
    w.dovecot.wait_for("bob", 3, T).await;

    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    let v2 = show.split("--- version 2").nth(1).expect(&show);
    let v2 = v2.split("--- version 3").next().unwrap();
    assert!(
        v2.contains("changed since version 1:\n  Can you attend in person? added\n\n"),
        "{show}"
    );
    let v3 = show.split("--- version 3").nth(1).expect(&show);
    assert!(
        v3.contains("changed since version 2:\n  Title changed: \"Postgres tricks\" -> \"Postgres tricks for Django\"\n  Abstract changed:\n    + With EXPLAIN ANALYZE.\n"),
        "{show}"
    );
    // The thread: Bob's three mails and the three replies, in order.
    let thread: Vec<&str> = show
        .split("mail thread:\n")
        .nth(1)
        .expect(&show)
        .lines()
        .collect();
    assert_eq!(thread.len(), 6, "{show}");
    assert!(
        thread[0].contains(" in   message ") && thread[0].contains("\"Proposal\""),
        "{show}"
    );
    assert!(
        thread[1].contains(" out  mail ") && thread[1].contains("saved as a draft"),
        "{show}"
    );
    assert!(thread[1].contains("(draft, sent "), "{show}");
    assert!(
        thread[2].contains(" in   message ") && thread[2].contains("from bob@b.example"),
        "{show}"
    );
    assert!(
        thread[3].contains(" out  mail ") && thread[3].contains("P-0001 updated"),
        "{show}"
    );
}

fn body_of(raw: &[u8]) -> String {
    body(raw)
}
