//! Reach a human (issue 16, item 4): mail a person wrote that cfpd cannot
//! act on reaches `[conference] contact` (here the chair) with Reply-To the
//! sender, at most once per thread per day, and the sender is told who will
//! answer; machines, bounces and forged senders never reach the contact.
//! Real Dovecot, SMTP and database (SQLite, or PostgreSQL with
//! `CFPD_TEST_DATABASE=postgres`).

mod support;

use std::time::Duration;

use support::*;

const WAIT: Duration = Duration::from_secs(20);

/// The chair's mails that are forwards (the chair may get other mail).
async fn forwards(w: &World) -> Vec<Vec<u8>> {
    w.dovecot
        .fetch_all("chair", "INBOX")
        .await
        .into_iter()
        .filter(|m| {
            parsed(m)
                .subject()
                .is_some_and(|s| s.contains("To answer:"))
        })
        .collect()
}

/// Ada submits; returns her acknowledgment (which carries her reply token).
async fn ada_submits(w: &World) -> Vec<u8> {
    w.submit(
        "ada",
        "Ada Lovelace <ada@example.org>",
        "p1@example.org",
        "Forms without tears",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_question_reaches_the_contact_once_a_day_and_nothing_is_lost() {
    need_servers!();
    let w = world_with_chair("").await;
    let ack = ada_submits(&w).await;
    let q1 = "Hello, can I present remotely? I cannot travel in May.\nThanks, Ada";
    w.dovecot
        .append(
            "cfp",
            &reply("Ada Lovelace <ada@example.org>", &ack, "q1@example.org", q1),
        )
        .await;
    w.cfpd(&["run", "--once"]);

    // The chair has the question, quoted, with Ada as Reply-To.
    let fw = forwards(&w).await;
    assert_eq!(fw.len(), 1, "one forward");
    assert_eq!(reply_to(&fw[0]), "ada@example.org");
    let text = body(&fw[0]);
    assert!(text.contains("> Hello, can I present remotely?"), "{text}");
    assert!(
        text.contains("About:    P-0001 \"Forms without tears\""),
        "{text}"
    );
    assert!(
        text.contains("From:     Ada Lovelace <ada@example.org>"),
        "{text}"
    );
    assert!(
        text.contains("\nWhy:      a reply with nothing to change\n"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 78), "{text}");
    let subject = parsed(&fw[0]).subject().unwrap().to_string();
    assert_eq!(
        subject,
        "[TestConf] To answer: Ada Lovelace <ada@example.org> about P-0001"
    );

    // Ada is told that a person answers, and from which address.
    let ada = w.dovecot.wait_for("ada", 2, WAIT).await;
    assert_eq!(ada.len(), 2);
    let told = body(&ada[1]);
    assert!(told.contains("A person\nwill answer you"), "{told}");
    assert!(told.contains("\n  chair@conf.example\n"), "{told}");
    assert!(!told.contains("found nothing"), "{told}");
    assert_eq!(
        reply_to(&ada[1]),
        "chair@conf.example",
        "answering it reaches the chair"
    );

    // A second question the same day: kept, not forwarded again, not answered again.
    let q2 = "Hello again, and may I bring a co-speaker? Ada";
    w.dovecot
        .append(
            "cfp",
            &reply("Ada Lovelace <ada@example.org>", &ack, "q2@example.org", q2),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert_eq!(forwards(&w).await.len(), 1, "not forwarded twice in a day");
    assert_eq!(w.dovecot.fetch_all("ada", "INBOX").await.len(), 2);
    let msgs = w.messages().await;
    let kept = msgs.last().unwrap();
    assert_eq!(kept.state, "for_person");
    assert_eq!(kept.reason.as_deref(), Some("update_not_understood"));
    assert!(kept.detail.as_deref().unwrap().contains("kept"), "{kept:?}");
    let log = w.cfpd(&["messages"]);
    assert!(log.contains("for_person"), "{log}");

    // A day later the kept question goes out by itself, once.
    let later = (chrono::Utc::now() + chrono::Duration::hours(25)).to_rfc3339();
    w.cfpd_at(&later, &["run", "--once"]);
    let fw = w.dovecot.wait_for("chair", 2, WAIT).await;
    let fw: Vec<_> = fw
        .into_iter()
        .filter(|m| {
            parsed(m)
                .subject()
                .is_some_and(|s| s.contains("To answer:"))
        })
        .collect();
    assert_eq!(fw.len(), 2, "the kept question forwarded the next day");
    let text = body(&fw[1]);
    assert!(
        text.contains("> Hello again, and may I bring a co-speaker?"),
        "{text}"
    );
    assert!(
        !text.contains("can I present remotely"),
        "sent once: {text}"
    );
    assert!(
        text.contains("\nWhy:      a reply with nothing to change\n"),
        "the kept message's reason, read back: {text}"
    );
    assert_eq!(reply_to(&fw[1]), "ada@example.org");
    w.cfpd_at(&later, &["run", "--once"]);
    assert_eq!(forwards(&w).await.len(), 2, "nothing forwarded twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_after_the_deadline_from_a_known_speaker_reaches_the_contact() {
    need_servers!();
    let w = world_with_chair("").await;
    let ack = ada_submits(&w).await;
    // The CFP closes (in the past: the reply arrives after it).
    w.set_cfp_deadline("2024-04-24T23:59:59", "");
    let late = "Hi, my co-speaker changed: it is Bob now. Can you update it? Ada";
    w.dovecot
        .append(
            "cfp",
            &reply(
                "Ada Lovelace <ada@example.org>",
                &ack,
                "late@example.org",
                late,
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let fw = forwards(&w).await;
    assert_eq!(fw.len(), 1);
    assert_eq!(reply_to(&fw[0]), "ada@example.org");
    assert!(
        body(&fw[0]).contains("> Hi, my co-speaker changed")
            && body(&fw[0]).contains("\nWhy:      a reply after the CFP closed\n"),
        "{}",
        body(&fw[0])
    );
    let ada = w.dovecot.wait_for("ada", 2, WAIT).await;
    let told = body(&ada[1]);
    assert!(told.contains("The call for proposals closed on"), "{told}");
    assert!(told.contains("\n  chair@conf.example\n"), "{told}");
    let m = w.messages().await;
    let last = m.last().unwrap();
    assert_eq!(
        (last.state.as_str(), last.reason.as_deref()),
        ("for_person", Some("cfp_closed"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bounces_auto_replies_forged_senders_and_our_own_forwards_never_reach_the_contact() {
    need_servers!();
    let w = world_with_chair("").await;
    let ack = ada_submits(&w).await;
    // An out-of-office reply to the acknowledgment.
    let ooo = format!(
        "From: Ada Lovelace <ada@example.org>\r\nTo: {}\r\nSubject: Out of office\r\n\
         Message-ID: <ooo@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\n\
         Hello, I am away until May and will answer your mail then.\r\n",
        reply_to(&ack)
    );
    w.dovecot.append("cfp", ooo.as_bytes()).await;
    // A bounce to the CFP address.
    let bounce = "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n\
         To: cfp@conf.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn1@mx.example.org>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; nobody@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n";
    w.dovecot.append("cfp", bounce.as_bytes()).await;
    // Eve writes through Ada's token: refused as before, never forwarded as Ada.
    w.dovecot
        .append(
            "cfp",
            &reply(
                "Ada Lovelace <eve@evil.example>",
                &ack,
                "forged@evil.example",
                "Hello, please call me back? Ada",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert!(forwards(&w).await.is_empty(), "nothing for a person yet");
    let m = w.messages().await;
    let states: Vec<(String, Option<String>)> = m
        .iter()
        .map(|r| (r.state.clone(), r.reason.clone()))
        .collect();
    assert!(
        states.contains(&("auto_generated".into(), Some("auto-reply".into()))),
        "{states:?}"
    );
    assert!(
        states.contains(&("bounce".into(), Some("bounce".into()))),
        "{states:?}"
    );
    assert!(
        states.contains(&("rejected".into(), Some("sender_mismatch".into()))),
        "{states:?}"
    );
    assert!(!states.iter().any(|(s, _)| s == "for_person"), "{states:?}");

    // The control: a real question from a new person is forwarded…
    let q = mail(
        "Bob <bob@example.net>",
        CFP,
        "bobq@example.net",
        "Student tickets",
        "Hello, is there a discount for students? Bob",
    );
    w.dovecot.append("cfp", &q).await;
    w.cfpd(&["run", "--once"]);
    let fw = forwards(&w).await;
    assert_eq!(fw.len(), 1);
    assert_eq!(reply_to(&fw[0]), "bob@example.net");
    let bob = w.dovecot.wait_for("bob", 1, WAIT).await;
    let told = body(&bob[0]);
    assert!(told.contains("\"help\" as the subject"), "{told}");
    assert!(told.contains("\n  chair@conf.example\n"), "{told}");
    // …and that forward, coming back to the CFP address, is our own mail.
    w.dovecot.append("cfp", &fw[0]).await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    let last = w.messages().await.pop().unwrap();
    assert_eq!(last.state, "auto_generated", "{last:?}");
    assert_eq!(last.reason.as_deref(), Some("own-mail"));
    assert_eq!(forwards(&w).await.len(), 1, "a forward is never forwarded");
    assert_eq!(
        w.cfpd(&["proposals", "list"])
            .lines()
            .filter(|l| l.contains("P-0"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewers_question_reaches_the_contact_and_records_no_review() {
    need_servers!();
    let w = world_with_chair("[review]\nreviewers_per_proposal = 1\n").await;
    support::review::setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        None,
    )
    .await;
    let assignment = support::review::mail_with_subject(&w, "rita", "Review P-0001:", 1).await;
    let q = "Hello, I worked with the speaker last year. Is that a conflict of interest?\nRita";
    w.dovecot
        .append(
            "cfp",
            &reply("Rita <rita@cs.uni.edu>", &assignment, "rq@cs.uni.edu", q),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let fw = forwards(&w).await;
    assert_eq!(fw.len(), 1);
    assert_eq!(reply_to(&fw[0]), "rita@cs.uni.edu");
    let text = body(&fw[0]);
    assert!(
        text.contains("> Hello, I worked with the speaker last year."),
        "{text}"
    );
    assert!(
        text.contains("About:    P-0001 \"HTMX at scale\""),
        "{text}"
    );
    let rita = w.dovecot.wait_for("rita", 2, WAIT).await;
    let told = body(rita.last().unwrap());
    assert!(told.contains("It holds no review"), "{told}");
    assert!(told.contains("\n  chair@conf.example\n"), "{told}");
    assert_eq!(support::review::review_count(&w).await, 0);
    let last = w.messages().await.pop().unwrap();
    assert_eq!(
        (last.state.as_str(), last.reason.as_deref()),
        ("for_person", Some("review_form"))
    );
}
