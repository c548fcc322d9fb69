//! `cfpd mail --to GROUP --template FILE` (issue 16, item 5): the preview
//! shows the count and the first mail and queues nothing; `--send` reaches
//! each member once, a second `--send` of the same file sends nothing new;
//! a template typo is reported at file:line before anything is queued.
//! Real Dovecot, SMTP and database (SQLite, or PostgreSQL with
//! `CFPD_TEST_DATABASE=postgres`).

mod support;

use std::time::Duration;

use support::*;

const TEMPLATE: &str = "Subject: {{ conference }}: the schedule for {{ reference }}\n\
\n\
Hello{% if name %} {{ name }}{% endif %},\n\
\n\
the schedule is out. Your talk\n\
\n\
\x20 {{ reference }} \"{{ title }}\"\n\
\n\
is on day one. Questions: {{ contact }}\n";

fn group_mails(w: &World, all: &[Vec<u8>]) -> Vec<String> {
    let _ = w;
    all.iter()
        .filter(|m| {
            parsed(m)
                .subject()
                .is_some_and(|s| s.contains("the schedule for"))
        })
        .map(|m| body(m))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_gets_one_mail_each_however_often_it_is_sent() {
    need_servers!();
    let w = world_with_chair("").await;
    w.submit(
        "ada",
        "Ada Lovelace <ada@example.org>",
        "p1@example.org",
        "Forms without tears",
    )
    .await;
    w.submit("bob", "bob@example.org", "p2@example.org", "Async views")
        .await;
    let file = w.dir.path().join("schedule.txt");
    std::fs::write(&file, TEMPLATE).unwrap();
    let file = file.to_str().unwrap();

    // Preview: the count and the first mail, nothing queued.
    let out = w.cfpd(&[
        "mail",
        "--to",
        "speakers:submitted",
        "--template",
        file,
        "--preview",
    ]);
    assert!(
        out.starts_with("2 recipient(s) in speakers:submitted\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "first mail:\nTo: ada@example.org\nSubject: TestConf: the schedule for P-0001\n\n"
        ),
        "{out}"
    );
    assert!(out.contains("Hello Ada Lovelace,\n"), "{out}");
    assert!(out.contains("  P-0001 \"Forms without tears\"\n"), "{out}");
    assert!(out.contains("Questions: chair@conf.example\n"), "{out}");
    assert!(out.contains("nothing queued"), "{out}");
    assert!(!w.outbox().await.iter().any(|m| m.kind == "group_mail"));

    // Send: each speaker once, their own proposal in it, answers to the chair.
    let out = w.cfpd(&[
        "mail",
        "--to",
        "speakers:submitted",
        "--template",
        file,
        "--send",
    ]);
    assert!(
        out.starts_with("queued 2 mail(s) to speakers:submitted"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    let ada = w.dovecot.wait_for("ada", 2, Duration::from_secs(20)).await;
    let bob = w.dovecot.wait_for("bob", 2, Duration::from_secs(20)).await;
    let (ada_m, bob_m) = (group_mails(&w, &ada), group_mails(&w, &bob));
    assert_eq!((ada_m.len(), bob_m.len()), (1, 1));
    assert!(
        ada_m[0].contains("P-0001 \"Forms without tears\""),
        "{}",
        ada_m[0]
    );
    assert!(bob_m[0].starts_with("Hello,\n"), "{}", bob_m[0]);
    assert!(bob_m[0].contains("P-0002 \"Async views\""), "{}", bob_m[0]);
    assert_eq!(reply_to(&ada[1]), "chair@conf.example");

    // Twice: nothing new.
    let out = w.cfpd(&[
        "mail",
        "--to",
        "speakers:submitted",
        "--template",
        file,
        "--send",
    ]);
    assert!(out.starts_with("queued 0 mail(s)"), "{out}");
    assert!(
        out.contains("2 recipient(s) already had this template queued"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert_eq!(w.dovecot.fetch_all("ada", "INBOX").await.len(), 2);
    assert_eq!(w.dovecot.fetch_all("bob", "INBOX").await.len(), 2);
    let sent = w.outbox().await;
    assert_eq!(sent.iter().filter(|m| m.kind == "group_mail").count(), 2);

    // The chairs' group has no proposal: `reference` is unknown there.
    let (ok, out) = {
        let o = w.cfpd_raw(&["mail", "--to", "chairs", "--template", file]);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert!(!ok);
    assert!(
        out.contains(&format!("{file}:1: unknown placeholder \"reference\"")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_typo_is_reported_at_file_and_line_and_nothing_is_queued() {
    need_servers!();
    let w = world_with_chair("").await;
    w.submit("ada", "Ada <ada@example.org>", "p1@example.org", "Forms")
        .await;
    let file = w.dir.path().join("typo.txt");
    std::fs::write(
        &file,
        "Subject: News\n\nHello {{ name }},\n\nyour talk {{ titel }} is in.\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    for mode in ["--preview", "--send"] {
        let o = w.cfpd_raw(&["mail", "--to", "speakers:all", "--template", file, mode]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{file}:5: unknown placeholder \"titel\"")),
            "{err}"
        );
    }
    assert!(!w.outbox().await.iter().any(|m| m.kind == "group_mail"));
    let o = w.cfpd_raw(&["mail", "--to", "speakers:everyone", "--template", file]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown group \"speakers:everyone\""));
    // A chair checks the chairs' group: one recipient, and the mail.
    std::fs::write(
        file,
        "Subject: Hi\n\nHello {{ email }}, see {{ cfp_address }}.\n",
    )
    .unwrap();
    let out = w.cfpd(&["mail", "--to", "chairs", "--template", file]);
    assert!(out.starts_with("1 recipient(s) in chairs\n"), "{out}");
    assert!(
        out.contains("Hello chair@conf.example, see cfp@conf.example.\n"),
        "{out}"
    );
}

/// A hard bounce of the mail `raw` (to `rcpt`), as a receiving server writes it.
fn hard_bounce(raw: &[u8], rcpt: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n\
         To: {}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-gm@mx.example.org>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: TestConf CFP <cfp@conf.example>\r\nTo: {rcpt}\r\nMessage-ID: <{}>\r\n\r\n--B--\r\n",
        return_path(raw),
        message_id(raw)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_that_bounced_is_skipped_and_named() {
    need_servers!();
    let w = world_with_chair("").await;
    w.submit("ada", "Ada <ada@example.org>", "p1@example.org", "Forms")
        .await;
    let bob_ack = w
        .submit("bob", "bob@example.org", "p2@example.org", "Async")
        .await;
    w.dovecot
        .append("cfp", &hard_bounce(&bob_ack, "bob@example.org"))
        .await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    let file = w.dir.path().join("news.txt");
    std::fs::write(&file, "Subject: News\n\nHello {{ email }}.\n").unwrap();
    let file = file.to_str().unwrap();
    let out = w.cfpd(&["mail", "--to", "speakers:all", "--template", file]);
    assert!(out.starts_with("1 recipient(s) in speakers:all\n"), "{out}");
    assert!(
        out.contains("skipped bob@example.org: undeliverable (it bounced)\n"),
        "{out}"
    );
    let out = w.cfpd(&["mail", "--to", "speakers:all", "--template", file, "--send"]);
    assert!(out.starts_with("queued 1 mail(s)"), "{out}");
    let queued: Vec<_> = w
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.kind == "group_mail")
        .map(|m| m.recipient)
        .collect();
    assert_eq!(queued, vec!["ada@example.org".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn reviewers_with_open_reviews_get_their_list_and_nothing_about_speakers() {
    need_servers!();
    let w = world_with_chair("[review]\nreviewers_per_proposal = 1\n").await;
    support::review::setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\nsam@cs.uni.edu,Sam,database,5\n",
        None,
    )
    .await;
    let file = w.dir.path().join("nudge.txt");
    std::fs::write(
        &file,
        "Subject: {{ pending }} review(s) to go\n\nHello {{ name }},\n\n\
         {% for r in reviews %}- {{ r.reference }} {{ r.title }}\n{% endfor %}",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = w.cfpd(&["mail", "--to", "reviewers:pending", "--template", file]);
    assert!(
        out.starts_with("1 recipient(s) in reviewers:pending\n"),
        "{out}"
    );
    assert!(
        out.contains("To: rita@cs.uni.edu\nSubject: 1 review(s) to go\n"),
        "{out}"
    );
    assert!(out.contains("- P-0001 HTMX at scale\n"), "{out}");
    assert!(!out.contains("ada@a.example"), "{out}");
    let out = w.cfpd(&["mail", "--to", "reviewers:all", "--template", file]);
    assert!(
        out.starts_with("2 recipient(s) in reviewers:all\n"),
        "{out}"
    );
}
