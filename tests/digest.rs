//! The chairs' digest opens with what needs a chair, on real servers: a
//! late proposal nobody has decided, a message held because its sender may
//! be forged, overdue reviews and unconfirmed talks, each with what to do.
//! Runs against SQLite, and against PostgreSQL when
//! `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_digest_names_what_needs_a_chair() {
    need_servers!();
    let w = world_with_chair(
        "[[reminders]]\nname = \"digest\"\ncron = \"0 0 8 * * *\"\naudience = \"chairs\"\n\
         from = \"-400d\"\nuntil = \"+400d\"\n",
    )
    .await;
    // The CFP closed in the past: what arrives now is late.
    w.set_cfp_deadline("2026-01-01T00:00:00", "");
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        cfg.replacen(
            "user = \"cfp\"",
            "user = \"cfp\"\nauthserv_id = \"mx.conf.example\"",
            1,
        ),
    )
    .unwrap();
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Bob <bob@b.example>",
                CFP,
                "late@b.example",
                "Proposal",
                &proposal_body("Postgres tricks"),
            ),
        )
        .await;
    let mut forged =
        b"Authentication-Results: mx.conf.example; dmarc=fail header.from=bank.example\r\n"
            .to_vec();
    forged.extend(mail(
        "ceo@bank.example",
        CFP,
        "forged@x",
        "Urgent invoice",
        "Please pay.",
    ));
    w.dovecot.append("cfp", &forged).await;
    w.cfpd(&["run", "--once"]);
    let next_day = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT23:00:00Z")
        .to_string();
    w.cfpd_at(&next_day, &["run", "--once"]);
    let chair = w
        .dovecot
        .wait_for("chair", 1, Duration::from_secs(20))
        .await;
    let raw = chair
        .iter()
        .find(|m| body(m).starts_with("Digest for the TestConf chairs"))
        .expect("a digest");
    let subject = parsed(raw).subject().unwrap().to_string();
    assert!(
        subject.ends_with(": 1 proposal(s), 2 waiting for a chair"),
        "{subject}"
    );
    let digest = body(raw);
    assert!(
        digest.contains(
            "\n\nNeeds a chair:\n  - 1 late proposal(s) wait for a decision. Take one into review\n    with `cfpd proposals accept-late P-…`, or decide it:\n      P-0001  Postgres tricks  (bob@b.example)\n"
        ),
        "{digest}"
    );
    let held = w
        .messages()
        .await
        .into_iter()
        .find(|m| m.state == "needs_review")
        .expect("a held message");
    assert!(
        digest.contains(&format!(
            "  - 1 message(s) held: the sender may be forged. Read one with\n    `cfpd messages show ID`; `cfpd messages --release ID` processes it:\n      message {}  from ceo@bank.example  \"Urgent invoice\"\n",
            held.id
        )),
        "{digest}"
    );
    assert!(digest.lines().all(|l| l.chars().count() <= 78), "{digest}");

    // Once a chair has acted, the next digest no longer names it.
    w.cfpd(&["proposals", "accept-late", "P-0001"]);
    w.cfpd(&["messages", "--release", &held.id.to_string()]);
    let day_after = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT23:00:00Z")
        .to_string();
    w.cfpd_at(&day_after, &["run", "--once"]);
    let chair = w.dovecot.fetch_all("chair", "INBOX").await;
    let digests: Vec<String> = chair
        .iter()
        .map(|m| body(m))
        .filter(|b| b.starts_with("Digest for the TestConf chairs"))
        .collect();
    assert_eq!(digests.len(), 2, "{digests:?}");
    let second = &digests[1];
    assert!(
        second.contains("\n\nNothing needs a chair today.\n"),
        "{second}"
    );
}
