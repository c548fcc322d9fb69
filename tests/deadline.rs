//! The CFP deadline, Anywhere on Earth: 23:59:59 AoE on deadline day is
//! accepted, one second later is a late entry with a "closed" reply, late
//! updates are refused, and a chair can accept a late entry.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn aoe_boundary_late_entries_and_refused_late_updates() {
    if !servers_available() {
        return;
    }
    let w = World::start("").await;
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "cfp_deadline = \"2099-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"",
    );
    std::fs::write(&w.config, cfg).unwrap();
    // 23:59:59 AoE on April 24 is 11:59:59 UTC on April 25.
    let last_second = "2024-04-25T11:59:59Z";
    let one_later = "2024-04-25T12:00:00Z";
    w.dovecot
        .append(
            "cfp",
            &mail(
                "ada@example.org",
                CFP,
                "dl1@x",
                "p",
                &proposal_body("Just in time"),
            ),
        )
        .await;
    w.cfpd_at(last_second, &["run", "--once"]);
    let ack = w
        .dovecot
        .wait_for("ada", 1, Duration::from_secs(20))
        .await
        .remove(0);
    assert!(
        body(&ack).contains("registered as\nP-0001"),
        "{}",
        body(&ack)
    );

    w.dovecot
        .append(
            "cfp",
            &mail(
                "bob@example.org",
                CFP,
                "dl2@x",
                "p",
                &proposal_body("One second late"),
            ),
        )
        .await;
    let update = reply(
        "ada@example.org",
        &ack,
        "dl3@x",
        "Title: Changed after the deadline",
    );
    w.dovecot.append("cfp", &update).await;
    w.cfpd_at(one_later, &["run", "--once"]);
    let bob = w.dovecot.wait_for("bob", 1, Duration::from_secs(20)).await;
    let text = body(&bob[0]);
    assert!(text.contains("closed 2024-04-24 23:59 AoE"), "{text}");
    assert!(text.contains("late entry P-0002"), "{text}");
    let ada = w.dovecot.wait_for("ada", 2, Duration::from_secs(20)).await;
    assert!(
        body(&ada[1]).contains("can no longer be changed"),
        "{}",
        body(&ada[1])
    );
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        show.contains("Title: Just in time") && !show.contains("version 2"),
        "{show}"
    );
    let list = w.cfpd(&["proposals", "list"]);
    assert!(list.contains("P-0002   late"), "{list}");
    let out = w.cfpd(&["proposals", "accept-late", "P-0002"]);
    assert!(out.contains("P-0002 accepted as submitted"), "{out}");
    let bad = w.cfpd_raw(&["proposals", "accept-late", "P-0001"]);
    assert!(!bad.status.success());
}
