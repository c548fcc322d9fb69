//! Observability end to end on real servers (issue 8): `cfpd run` with
//! `[metrics] listen` serves /metrics and /healthz; scraped while proposals,
//! a bounce and an SMTP outage go through, the numbers move as a person
//! would expect, `cfpd status` shows the same numbers and exits 2 when
//! something needs attention, and `--log-json` lines carry the fields an
//! operator searches by.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::metrics::*;
use support::*;

/// Upper bound for waiting on something that should happen (not a performance assertion).
const PATIENCE: Duration = Duration::from_secs(60);

/// `cfpd status` with `config`: (exit code, stdout, stderr).
fn status(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(config)
        .arg("status")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn proposal(i: usize) -> Vec<u8> {
    mail(
        &format!("s{i}@example.org"),
        CFP,
        &format!("p{i}@example.org"),
        "Proposal",
        &proposal_body(&format!("Talk {i}")),
    )
}

/// A hard-bounce DSN for one of our mails, to its VERP return path.
fn hard_bounce(return_path: &str, rcpt: &str, original_mid: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n\
         To: {return_path}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-{rcpt}>\r\n\
         Date: Mon, 01 Apr 2024 12:00:00 +0000\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: TestConf CFP <cfp@conf.example>\r\nTo: {rcpt}\r\nMessage-ID: <{original_mid}>\r\n\r\n\
         --B--\r\n"
    )
    .into_bytes()
}

/// A copy of the world's config with `edit` applied, written next to it.
fn config_variant(w: &World, name: &str, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let p = w.dir.path().join(name);
    std::fs::write(&p, edit(std::fs::read_to_string(&w.config).unwrap())).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_with_the_work_status_agrees_and_both_flag_a_stuck_queue() {
    need_servers!();
    let port = free_port();
    let mut w = World::start(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    for i in 0..6 {
        w.dovecot.ensure_user(&format!("s{i}"));
    }
    let mut d = w.spawn_daemon();

    // Active: it holds the lease, has polled once, and says so.
    let m0 = scrape_until(port, "active and polled", |t| {
        num(t, "cfpd_lease_held") == 1.0
            && num(t, "cfpd_instance_last_poll_timestamp_seconds") > 0.0
            && num(t, "cfpd_last_poll_timestamp_seconds") > 0.0
    })
    .await;
    let me = label(&m0, "cfpd_instance_info").unwrap();
    assert!(me.contains(&format!(":{}:", d.id())), "{me}");
    assert_eq!(label(&m0, "cfpd_lease_holder_info").as_deref(), Some(&*me));
    assert_eq!(num(&m0, "cfpd_database_up"), 1.0);
    assert!(num(&m0, "cfpd_lease_expires_in_seconds") > 0.0, "{m0}");
    assert_eq!(num(&m0, "cfpd_mails_sent_total"), 0.0);
    assert_eq!(num(&m0, "cfpd_outbox_mails{state=\"sent\"}"), 0.0);
    let (code, body) = get(port, "/healthz").await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("active: last successful poll"), "{body}");
    let (code, _) = get(port, "/nothing").await.unwrap();
    assert_eq!(code, 404);

    // Three proposals and a mail that is not one (answered with help).
    for i in 0..3 {
        w.dovecot.append("cfp", &proposal(i)).await;
    }
    w.dovecot
        .append(
            "cfp",
            &mail("s5@example.org", CFP, "q@example.org", "Question", "Hello?"),
        )
        .await;
    let mut acks = Vec::new();
    for i in 0..3 {
        acks.push(w.dovecot.wait_for(&format!("s{i}"), 1, PATIENCE).await[0].clone());
    }
    w.dovecot.wait_for("s5", 1, PATIENCE).await;
    // The first speaker's address bounces.
    w.dovecot
        .append(
            "cfp",
            &hard_bounce(
                &return_path(&acks[0]),
                "s0@example.org",
                &message_id(&acks[0]),
            ),
        )
        .await;
    let m1 = scrape_until(port, "the bounce counted and all mail sent", |t| {
        num(t, "cfpd_bounces{kind=\"hard\"}") == 1.0
            && num(t, "cfpd_mails_sent_total") == 4.0
            && num(t, "cfpd_outbox_mails{state=\"sent\"}") == 4.0
    })
    .await;
    assert_eq!(
        num(&m1, "cfpd_messages{state=\"accepted\",reason=\"\"}"),
        3.0,
        "{m1}"
    );
    assert_eq!(num(&m1, "cfpd_intake_messages_total"), 5.0, "{m1}");
    assert_eq!(num(&m1, "cfpd_outbox_mails{state=\"sent\"}"), 4.0, "{m1}");
    assert_eq!(num(&m1, "cfpd_outbox_mails{state=\"queued\"}"), 0.0);
    assert_eq!(num(&m1, "cfpd_outbox_oldest_queued_age_seconds"), 0.0);
    assert_eq!(num(&m1, "cfpd_undeliverable_addresses"), 1.0);
    assert_eq!(num(&m1, "cfpd_proposals{status=\"submitted\"}"), 3.0);
    assert!(num(&m1, "cfpd_polls_total") > num(&m0, "cfpd_polls_total"));
    assert!(
        num(&m1, "cfpd_last_poll_timestamp_seconds") > num(&m0, "cfpd_last_poll_timestamp_seconds"),
        "the database's last poll moved"
    );
    assert!(
        num(&m1, "cfpd_instance_last_poll_timestamp_seconds")
            > num(&m0, "cfpd_instance_last_poll_timestamp_seconds")
    );
    assert!(num(&m1, "cfpd_intake_cycle_duration_seconds_count") >= 1.0);
    assert_eq!(label(&m1, "cfpd_lease_holder_info").as_deref(), Some(&*me));
    assert_eq!(
        num(&m1, "cfpd_send_failures_total{kind=\"unreachable\"}"),
        0.0
    );

    // `cfpd status` shows the same numbers, and all is well.
    let (code, text, err) = status(&w.config, &[]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.contains(&format!("lease        held by {me} since ")),
        "{text}"
    );
    assert!(text.contains("accepted 3"), "{text}");
    assert!(
        text.contains("outbox       queued 0, sending 0, sent 4, failed 0"),
        "{text}"
    );
    assert!(
        text.contains("bounces      1 hard, 0 soft; 1 undeliverable address\n"),
        "{text}"
    );
    assert!(text.contains("proposals    submitted 3"), "{text}");
    assert!(text.ends_with("status       ok\n"), "{text}");
    let (code, json, _) = status(&w.config, &["--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(j["lease"]["holder"], me.as_str());
    assert_eq!(j["last_poll"]["holder"], me.as_str());
    assert_eq!(j["messages"]["accepted"], 3);
    assert_eq!(j["outbox"]["sent"], 4);
    assert_eq!(j["bounces"]["hard"], 1);

    // The SMTP server goes away: new acks wait, the queue ages, failures count.
    w.smtp.stop();
    for i in 3..5 {
        w.dovecot.append("cfp", &proposal(i)).await;
    }
    let a = scrape_until(port, "two acks queued and a failed send", |t| {
        num(t, "cfpd_outbox_mails{state=\"queued\"}") == 2.0
            && num(t, "cfpd_send_failures_total{kind=\"unreachable\"}") >= 1.0
    })
    .await;
    let age = "cfpd_outbox_oldest_queued_age_seconds";
    let b = scrape_until(port, "the queue older by more than a second", |t| {
        num(t, age) > num(&a, age) + 1.0
    })
    .await;
    let (age_a, age_b) = (num(&a, age), num(&b, age));
    assert!(age_a > 0.0 && age_b > age_a + 1.0, "{age_a} then {age_b}");
    assert_eq!(num(&b, "cfpd_mails_sent_total"), 4.0, "nothing left");
    assert_eq!(
        num(&b, "cfpd_messages{state=\"accepted\",reason=\"\"}"),
        5.0
    );
    let (code, body) = get(port, "/healthz").await.unwrap();
    assert_eq!(code, 200, "SMTP trouble is not the poller's health: {body}");
    // Within the default 30 minutes: fine; with a 1 s limit: attention, exit 2.
    let (code, text, _) = status(&w.config, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("outbox       queued 2,"), "{text}");
    let strict = config_variant(&w, "strict.toml", |c| {
        c.replace("[metrics]\n", "[metrics]\nqueue_stale_seconds = 1\n")
    });
    let (code, text, err) = status(&strict, &[]);
    assert_eq!(code, 2, "{text}{err}");
    assert!(
        text.contains("ATTENTION    the oldest queued mail has waited "),
        "{text}"
    );
    assert!(err.contains("needs attention"), "{err}");
    let (code, json, _) = status(&strict, &["--json"]);
    assert_eq!(code, 2);
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(j["ok"], false);
    assert_eq!(j["outbox"]["queued"], 2);

    // Back: the queue drains and the counters say so.
    w.smtp.restart();
    let c = scrape_until(port, "the queue drained", |t| {
        num(t, "cfpd_outbox_mails{state=\"queued\"}") == 0.0
            && num(t, "cfpd_mails_sent_total") == 6.0
    })
    .await;
    assert_eq!(num(&c, "cfpd_outbox_mails{state=\"sent\"}"), 6.0);
    assert_eq!(num(&c, "cfpd_outbox_oldest_queued_age_seconds"), 0.0);

    // Shutdown stops the endpoint with the daemon and releases the lease.
    sigterm(&mut d);
    assert!(get(port, "/metrics").await.is_none(), "nothing listens");
    let (code, text, _) = status(&w.config, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ATTENTION    no `cfpd run` holds the lease"),
        "{text}"
    );
    assert!(
        text.contains(&format!("lease        free (last held by {me}")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_fails_while_the_mailbox_cannot_be_polled_and_recovers() {
    need_servers!();
    let port = free_port();
    let mut w = World::start(&format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\npoll_stale_seconds = 4\n"
    ))
    .await;
    // Polling (not IDLE), so a healthy daemon polls every second.
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        cfg.replacen("poll_seconds = 1\n", "poll_seconds = 1\nidle = false\n", 1),
    )
    .unwrap();
    let mut d = w.spawn_daemon();
    let healthy = |port| async move {
        let start = Instant::now();
        loop {
            if let Some((200, body)) = get(port, "/healthz").await {
                if body.starts_with("active: last successful poll") {
                    return body;
                }
            }
            assert!(start.elapsed() < PATIENCE, "never healthy");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    healthy(port).await;
    let before = scrape(port).await;
    assert_eq!(num(&before, "cfpd_poll_failures_total"), 0.0);

    w.dovecot.stop();
    let start = Instant::now();
    let body = loop {
        let (code, body) = get(port, "/healthz").await.unwrap();
        if code == 503 {
            break body;
        }
        assert!(start.elapsed() < PATIENCE, "never unhealthy: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        body.starts_with("active, but last successful poll ") && body.contains("(limit 4 s"),
        "{body}"
    );
    let t = scrape(port).await;
    assert!(num(&t, "cfpd_poll_failures_total") >= 1.0, "{t}");
    assert_eq!(num(&t, "cfpd_lease_held"), 1.0);
    assert!(num(&t, "cfpd_last_poll_age_seconds") > 4.0, "{t}");
    let (code, text, _) = status(&w.config, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ATTENTION    last successful mailbox poll "),
        "{text}"
    );
    assert!(d.try_wait().unwrap().is_none(), "the daemon stays up");

    w.dovecot.restart();
    healthy(port).await;
    let (code, text, _) = status(&w.config, &[]);
    assert_eq!(code, 0, "{text}");
    sigterm(&mut d);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_instance_reports_the_same_database_facts_and_only_the_holder_is_active() {
    need_servers!();
    if backend() != "postgres" {
        eprintln!("skipped: several instances need PostgreSQL (CFPD_TEST_DATABASE=postgres)");
        return;
    }
    let (pa, pb) = (free_port(), free_port());
    let w = World::start(&format!("[metrics]\nlisten = \"127.0.0.1:{pa}\"\n")).await;
    for i in 0..3 {
        w.dovecot.ensure_user(&format!("s{i}"));
    }
    let mut a = w.spawn_daemon();
    scrape_until(pa, "a holds the lease", |t| {
        num(t, "cfpd_lease_held") == 1.0
    })
    .await;
    let other = config_variant(&w, "b.toml", |c| {
        c.replace(&format!("127.0.0.1:{pa}"), &format!("127.0.0.1:{pb}"))
    });
    let mut b = Daemon(
        Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&other)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    for i in 0..3 {
        w.dovecot.append("cfp", &proposal(i)).await;
    }
    let ta = scrape_until(pa, "three acks sent", |t| {
        num(t, "cfpd_outbox_mails{state=\"sent\"}") == 3.0
    })
    .await;
    let tb = scrape_until(pb, "the standby sees them too", |t| {
        num(t, "cfpd_outbox_mails{state=\"sent\"}") == 3.0
    })
    .await;
    for series in [
        "cfpd_messages{state=\"accepted\",reason=\"\"}",
        "cfpd_proposals{status=\"submitted\"}",
        "cfpd_lease_generation",
    ] {
        assert_eq!(value(&ta, series), value(&tb, series), "{series}");
    }
    assert_eq!(
        num(&ta, "cfpd_messages{state=\"accepted\",reason=\"\"}"),
        3.0
    );
    let holder = label(&ta, "cfpd_instance_info").unwrap();
    assert_eq!(label(&tb, "cfpd_lease_holder_info"), Some(holder.clone()));
    assert_ne!(label(&tb, "cfpd_instance_info"), Some(holder));
    assert_eq!(num(&ta, "cfpd_lease_held"), 1.0);
    assert_eq!(num(&tb, "cfpd_lease_held"), 0.0);
    // Only the holder did the work.
    assert_eq!(num(&ta, "cfpd_mails_sent_total"), 3.0);
    assert_eq!(num(&tb, "cfpd_mails_sent_total"), 0.0);
    assert_eq!(num(&tb, "cfpd_intake_messages_total"), 0.0);
    let (code, body) = get(pb, "/healthz").await.unwrap();
    assert_eq!(code, 200);
    assert!(body.starts_with("standby"), "{body}");
    sigterm(&mut a);
    sigterm(&mut b);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_log_lines_carry_the_message_proposal_and_outbox_fields() {
    need_servers!();
    let w = World::start("").await;
    w.dovecot.ensure_user("s0");
    w.dovecot.append("cfp", &proposal(0)).await;
    let out = Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(["--log-json", "run", "--once"])
        .env("RUST_LOG", "cfpd=debug,warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let event = |msg: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == msg)
            .unwrap_or_else(|| panic!("no {msg:?} line in {lines:#?}"))
    };
    let processed = &event("message processed")["fields"];
    assert_eq!(processed["state"], "accepted");
    assert_eq!(processed["message_id"], "p0@example.org");
    assert_eq!(processed["proposal"], "P-0001");
    assert!(processed["message_row"].is_number(), "{processed}");
    let cycle = event("intake cycle");
    assert_eq!(cycle["level"], "INFO");
    assert_eq!(cycle["fields"]["processed"], 1);
    let sent = &event("mail sent")["fields"];
    assert_eq!(sent["outbox"], 1);
    assert!(sent["message_id"].as_str().unwrap().contains('@'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_metrics_port_stops_the_daemon_at_start_with_the_reason() {
    need_servers!();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let w = World::start(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    let out = w.cfpd_raw(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "[metrics] listen = \"127.0.0.1:{port}\": cannot listen: Address already in use"
        )),
        "{err}"
    );
    // It never took the lease.
    let (code, text, _) = status(&w.config, &[]);
    assert_eq!(code, 2);
    assert!(text.contains("lease        free (never taken"), "{text}");
}
