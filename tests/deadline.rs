//! The CFP deadline, Anywhere on Earth: 23:59:59 AoE on deadline day is
//! accepted, one second later is a late entry with a "closed" reply, late
//! updates are refused, and a chair can accept a late entry.
//!
//! Arrival counts, not processing: mail delivered before the deadline (IMAP
//! INTERNALDATE, a Maildir file's delivery time) and processed after it is on
//! time, for proposals and for review replies alike. Runs against SQLite, and
//! against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use support::clients::*;
use support::review::*;
use support::*;

/// The CFP deadline every test here sets: 23:59:59 AoE on April 24 is 11:59:59 UTC on
/// April 25.
fn with_past_deadline(w: &World, extra: &str) {
    w.set_cfp_deadline("2024-04-24T23:59:59", extra);
}

/// Ada's proposal (delivered in time) is on time, Bob's (delivered after the
/// deadline) is a late entry: in their acknowledgments and in the list.
async fn ada_on_time_and_bob_late(w: &World) {
    let ada = w.dovecot.wait_for("ada", 1, Duration::from_secs(20)).await;
    let text = body(&ada[0]);
    assert!(
        text.contains("registered as P-0001") && !text.contains("late entry"),
        "{text}"
    );
    let bob = w.dovecot.wait_for("bob", 1, Duration::from_secs(20)).await;
    assert!(
        body(&bob[0]).contains("late entry P-0002"),
        "{}",
        body(&bob[0])
    );
    let list = w.cfpd(&["proposals", "list"]);
    assert!(list.contains("P-0001   submitted"), "{list}");
    assert!(list.contains("P-0002   late"), "{list}");
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn aoe_boundary_late_entries_and_refused_late_updates() {
    if !servers_available() {
        return;
    }
    let w = World::start("").await;
    with_past_deadline(&w, "");
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
        body(&ack).contains("registered as P-0001"),
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

#[tokio::test(flavor = "multi_thread")]
async fn imap_mail_delivered_before_the_deadline_is_on_time_when_processed_after() {
    need_servers!();
    let w = World::start("").await;
    with_past_deadline(&w, "");
    // Delivered at 09:56 UTC on deadline day (two hours before it closed), and one
    // delivered a minute after it closed; the daemon reads both at 12:05.
    let early = mail(
        "ada@example.org",
        CFP,
        "arr1@x",
        "p",
        &proposal_body("Delivered in time"),
    );
    w.dovecot
        .append_at("cfp", &early, at("2024-04-25T09:56:00Z"))
        .await;
    // Its Date header (April 1, as in every test mail) claims it was written in time:
    // a sender writes what they like there, so it counts for nothing.
    let late = mail(
        "bob@example.org",
        CFP,
        "arr2@x",
        "p",
        &proposal_body("Delivered too late"),
    );
    w.dovecot
        .append_at("cfp", &late, at("2024-04-25T12:01:00Z"))
        .await;
    w.cfpd_at("2024-04-25T12:05:00Z", &["run", "--once"]);
    ada_on_time_and_bob_late(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_maildir_file_delivered_before_the_deadline_is_on_time_when_processed_after() {
    need_servers!();
    let w = World::start("").await;
    with_past_deadline(&w, "");
    // The same world, reading a local Maildir instead of IMAP.
    let md = w.use_maildir("md");
    let deliver = |name: &str, from: &str, mid: &str, title: &str, when: &str| {
        let path = md.join("new").join(name);
        std::fs::write(&path, mail(from, CFP, mid, "p", &proposal_body(title))).unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_millis(at(when).timestamp_millis() as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    // Names that carry no time: the file's own delivery time is what counts.
    deliver(
        "a-ada",
        "ada@example.org",
        "md1@x",
        "Delivered in time",
        "2024-04-25T09:56:00Z",
    );
    deliver(
        "b-bob",
        "bob@example.org",
        "md2@x",
        "Delivered too late",
        "2024-04-25T12:01:00Z",
    );
    w.cfpd_at("2024-04-25T12:05:00Z", &["run", "--once"]);
    ada_on_time_and_bob_late(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_review_reply_delivered_before_the_review_deadline_is_recorded_when_processed_after() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    // The review deadline, 23:59:59 AoE on May 20, is 11:59:59 UTC on May 21.
    with_past_deadline(&w, "\nreview_deadline = \"2024-05-20T23:59:59\"");
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        Some(("2024-04-01T10:00:00Z", "2024-04-30T10:00:00Z")),
    )
    .await;
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    let send = |mid: &str, score: i64| {
        raw_reply(
            "rita@cs.uni.edu",
            &a.reply_to,
            &format!("Re: {}", a.subject),
            mid,
            Some(&a.message_id),
            &format!("Score: {score}"),
        )
    };
    // Delivered at 11:00 UTC, read at 12:30: recorded.
    w.dovecot
        .append_at("cfp", &send("rv1@x", 4), at("2024-05-21T11:00:00Z"))
        .await;
    w.cfpd_at("2024-05-21T12:30:00Z", &["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 4)", 2).await;
    // Delivered at 12:10, read at 12:30: the review period is closed.
    w.dovecot
        .append_at("cfp", &send("rv2@x", 1), at("2024-05-21T12:10:00Z"))
        .await;
    w.cfpd_at("2024-05-21T12:30:00Z", &["run", "--once"]);
    mail_with_subject(&w, "rita", "the review period is closed", 3).await;
    let ids = assignment_ids(&w).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(h.iter().map(|r| r.score).collect::<Vec<_>>(), vec![4]);
}
