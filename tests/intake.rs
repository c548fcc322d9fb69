//! Intake end to end on real servers: proposals arrive in Dovecot, `cfpd`
//! processes them, and the replies are read from the speakers' mailboxes
//! over IMAP. Runs against SQLite, and against PostgreSQL when
//! `CFPD_TEST_DATABASE=postgres` (scripts/test.sh runs both).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use cfpd::model::{MessageState, OutboxState};
use support::*;

const T: Duration = Duration::from_secs(20);

async fn states(w: &World) -> Vec<(String, Option<String>)> {
    let rows = w.messages().await;
    rows.into_iter().map(|r| (r.state, r.reason)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn proposal_gets_an_ack_with_reference_record_and_topics() {
    need_servers!();
    let w = World::start("").await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Ada Lovelace <ada@example.org>",
                CFP,
                "p1@example.org",
                "Proposal",
                &proposal_body("HTMX and Alpine without a SPA"),
            ),
        )
        .await;
    let out = w.cfpd(&["run", "--once"]);
    assert!(out.contains("processed 1 message"), "{out}");
    let inbox = w.dovecot.wait_for("ada", 1, T).await;
    assert_eq!(inbox.len(), 1, "exactly one ack");
    let ack = &inbox[0];
    let m = parsed(ack);
    assert!(
        m.subject().unwrap().contains("P-0001 received"),
        "{:?}",
        m.subject()
    );
    assert_eq!(
        m.header("Auto-Submitted").and_then(|h| h.as_text()),
        Some("auto-replied")
    );
    assert_eq!(m.in_reply_to().as_text(), Some("p1@example.org"));
    let text = body(ack);
    assert!(text.contains("registered as P-0001"), "{text}");
    assert!(
        text.contains("Title: HTMX and Alpine without a SPA"),
        "{text}"
    );
    assert!(text.contains("Format: talk-25"), "{text}");
    // The tagger's topics with their evidence.
    assert!(
        text.contains("Filed under:\n  - HTMX, Alpine, Tailwind and other frontend (you named it)"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("htmx"), "{text}");
    let rt = reply_to(ack);
    assert!(
        rt.starts_with("cfp+") && rt.ends_with("@conf.example"),
        "{rt}"
    );
    // Handled mail left the inbox for Processed, after the commit.
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
    assert_eq!(w.dovecot.count("cfp", "Processed").await, 1);
    assert_eq!(states(&w).await, vec![("accepted".to_string(), None)]);
    let list = w.cfpd(&["proposals", "list"]);
    assert!(
        list.contains("P-0001") && list.contains("ada@example.org"),
        "{list}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn incomplete_proposal_is_a_draft_and_the_reply_names_what_is_missing() {
    need_servers!();
    let w = World::start("").await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "bob@example.org",
                CFP,
                "d1@example.org",
                "idea",
                "Title: Zero-downtime deploys\nFormat: keynote\n",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("bob", 1, T).await;
    assert_eq!(inbox.len(), 1);
    let text = body(&inbox[0]);
    assert!(text.contains("saved it as draft"), "{text}");
    for missing in [
        "Audience is missing.",
        "Abstract is missing.",
        "Description is missing.",
        "Format \"keynote\" is not one of: talk-25, talk-45, tutorial.",
    ] {
        assert!(text.contains(missing), "{missing:?} not in {text}");
    }
    assert!(!text.contains("Title is missing"), "{text}");
    assert_eq!(
        states(&w).await,
        vec![("draft".to_string(), Some("missing_fields".to_string()))]
    );

    // The speaker completes it by replying: a new version, now complete.
    let update = reply(
        "bob@example.org",
        &inbox[0],
        "d2@example.org",
        "Format: talk-45\nAudience: beginner\nAbstract:\n  Blue-green deploys.\nDescription:\n  Migrations that never lock.",
    );
    w.dovecot.append("cfp", &update).await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("bob", 2, T).await;
    let text = body(&inbox[1]);
    assert!(text.contains("updated (version 2)"), "{text}");
    assert!(text.contains("It is complete."), "{text}");
    assert!(
        text.contains("Title: Zero-downtime deploys"),
        "kept field: {text}"
    );
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        show.contains("--- version 1") && show.contains("--- version 2"),
        "{show}"
    );
    assert!(show.starts_with("P-0001  (submitted)"), "{show}");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_and_unreadable_mail_get_the_template_and_topic_list() {
    need_servers!();
    let w = World::start("").await;
    w.dovecot
        .append(
            "cfp",
            &mail("new@example.net", CFP, "h1@x", "help", "help\n"),
        )
        .await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "new@example.net",
                CFP,
                "h2@x",
                "Hi",
                "Can I speak at your conference?\n",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("new", 2, T).await;
    assert_eq!(inbox.len(), 2);
    for raw in &inbox {
        let text = body(raw);
        assert!(text.contains("Title: Making Django fast"), "{text}");
        assert!(text.contains("channels-websockets"), "{text}");
        assert!(text.contains("talk-25 | talk-45 | tutorial"), "{text}");
    }
    let texts: Vec<String> = inbox.iter().map(|r| body(r)).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("could not find a proposal")),
        "the unreadable mail is told why: {texts:?}"
    );
    let st = states(&w).await;
    assert_eq!(st[0], ("help".into(), Some("help".into())));
    assert_eq!(st[1], ("help".into(), Some("not_a_proposal".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn withdraw_by_reply_and_forged_changes_change_nothing() {
    need_servers!();
    let w = World::start("").await;
    let ack = w
        .submit("ada", "ada@example.org", "w1@x", "Original title")
        .await;

    // 1. Right token, wrong sender: refused, the forger is told, nothing changes.
    let forged = reply("eve@evil.example", &ack, "f1@x", "Title: Hacked\n");
    // 2. Right reference in the subject, no token (sent to the plain address).
    let no_token = String::from_utf8(reply(
        "ada@example.org",
        &ack,
        "f2@x",
        "Title: Also hacked\n",
    ))
    .unwrap()
    .replace(&reply_to(&ack), CFP)
    .replace("Subject: Re:", "Subject: Re: P-0001");
    // 3. From spoofed as the speaker but sent to a made-up token.
    let bad_token = String::from_utf8(reply("ada@example.org", &ack, "f3@x", "withdraw\n"))
        .unwrap()
        .replace(
            &reply_to(&ack),
            "cfp+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@conf.example",
        );
    w.dovecot.append("cfp", &forged).await;
    w.dovecot.append("cfp", no_token.as_bytes()).await;
    w.dovecot.append("cfp", bad_token.as_bytes()).await;
    w.cfpd(&["run", "--once"]);
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("Title: Original title"), "{show}");
    assert!(
        !show.contains("Hacked") && !show.contains("hacked"),
        "{show}"
    );
    assert!(!show.contains("version 2"), "{show}");
    assert!(show.starts_with("P-0001  (submitted)"), "{show}");
    let eve = w.dovecot.wait_for("eve", 1, T).await;
    assert!(
        body(&eve[0]).contains("not the address the proposal was"),
        "{}",
        body(&eve[0])
    );
    let st = states(&w).await;
    assert_eq!(st[1], ("rejected".into(), Some("sender_mismatch".into())));
    // Without a valid token a reply about P-0001 changes nothing and stores nothing new:
    // it is answered with how to update the proposal.
    assert_eq!(
        st[2],
        ("rejected".into(), Some("update_not_understood".into())),
        "{st:?}"
    );
    assert!(!w.cfpd(&["proposals", "list"]).contains("P-0002"));
    let ada = w.dovecot.wait_for("ada", 2, T).await;
    let how = body(&ada[1]);
    assert!(
        how.contains("To update P-0001, reply to the acknowledgment"),
        "{how}"
    );
    assert_eq!(
        st[3],
        ("rejected".into(), Some("withdraw_without_token".into()))
    );

    // The real speaker withdraws through the token.
    let withdraw = reply("ada@example.org", &ack, "w2@x", "withdraw");
    w.dovecot.append("cfp", &withdraw).await;
    w.cfpd(&["run", "--once"]);
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.starts_with("P-0001  (withdrawn)"), "{show}");
    let inbox = w.dovecot.fetch_all("ada", "INBOX").await;
    assert!(
        inbox.iter().any(|r| body(r).contains("is withdrawn")),
        "withdraw confirmation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_message_delivered_twice_gives_one_record_and_one_ack() {
    need_servers!();
    let w = World::start("").await;
    let m = mail(
        "ada@example.org",
        CFP,
        "twice@x",
        "p",
        &proposal_body("Twice"),
    );
    w.dovecot.append("cfp", &m).await;
    w.dovecot.append("cfp", &m).await;
    w.cfpd(&["run", "--once"]);
    // And once more in a later run.
    w.dovecot.append("cfp", &m).await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert_eq!(w.dovecot.fetch_all("ada", "INBOX").await.len(), 1);
    let st = states(&w).await;
    assert_eq!(
        st.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        vec!["accepted", "duplicate", "duplicate"]
    );
    assert!(w.cfpd(&["proposals", "list"]).contains("1 proposal(s)"));
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn html_only_latin1_and_shift_jis_bodies_are_read() {
    need_servers!();
    let w = World::start("").await;
    let html = b"From: grace@navy.example\r\nTo: cfp@conf.example\r\nSubject: talk\r\nMessage-ID: <html1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><h2>Title</h2><p>Channels and websockets in practice</p><p><b>Format:</b> talk-45</p><p><b>Audience:</b> advanced</p><h2>Abstract</h2><p>Realtime Django with Channels.</p><h2>Description</h2><p>Consumers, groups, and deployment.</p></body></html>\r\n".to_vec();
    let latin1 = b"From: jose@example.es\r\nTo: cfp@conf.example\r\nSubject: =?ISO-8859-1?Q?propuesta?=\r\nMessage-ID: <l1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTitle: Ciencia ciudadana: c=F3mo contar p=E1jaros\r\nFormat: talk-25\r\nAudience: beginner\r\nAbstract: Un museo.\r\nDescription: Con Django.\r\n".to_vec();
    // "Title: 日本語のDjango" in Shift_JIS, base64.
    let sjis_body = {
        let (enc, _, _) = encoding_sjis("Title: 日本語のDjango\r\nFormat: talk-25\r\nAudience: beginner\r\nAbstract: テスト\r\nDescription: 説明\r\n");
        enc
    };
    let mut sjis = b"From: taro@example.jp\r\nTo: cfp@conf.example\r\nSubject: =?Shift_JIS?B?g2WDWINn?=\r\nMessage-ID: <sj1@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    sjis.extend_from_slice(sjis_body.as_bytes());
    for m in [&html, &latin1, &sjis] {
        w.dovecot.append("cfp", m).await;
    }
    w.cfpd(&["run", "--once"]);
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(
        show.contains("Title: Channels and websockets in practice"),
        "{show}"
    );
    assert!(show.contains("Format: talk-45"), "{show}");
    assert!(show.contains("filed under channels-websockets"), "{show}");
    let show = w.cfpd(&["proposals", "show", "P-0002"]);
    assert!(
        show.contains("Title: Ciencia ciudadana: cómo contar pájaros"),
        "{show}"
    );
    let show = w.cfpd(&["proposals", "show", "P-0003"]);
    assert!(show.contains("Title: 日本語のDjango"), "{show}");
    assert!(show.contains("Abstract: テスト"), "{show}");
    let ack = w.dovecot.wait_for("jose", 1, T).await;
    assert!(body(&ack[0]).contains("cómo contar pájaros"));
    assert_eq!(
        states(&w)
            .await
            .iter()
            .map(|s| s.0.as_str())
            .collect::<Vec<_>>(),
        vec!["accepted"; 3]
    );
}

/// Shift_JIS-encode and base64 a string (test helper, via the `iconv` tool).
fn encoding_sjis(s: &str) -> (String, (), ()) {
    use std::io::Write;
    let mut child = std::process::Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "SHIFT_JIS"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("iconv");
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    (data_encoding::BASE64_MIME.encode(&out.stdout), (), ())
}

#[tokio::test(flavor = "multi_thread")]
async fn uidvalidity_change_rescans_without_duplicates() {
    need_servers!();
    let w = World::start("").await;
    let m1 = mail("ada@example.org", CFP, "u1@x", "p", &proposal_body("One"));
    w.dovecot.append("cfp", &m1).await;
    w.cfpd(&["run", "--once"]);
    // The mailbox is rebuilt: the same message is back in the inbox, with a
    // new one, under a new UIDVALIDITY (UIDs restart).
    let m2 = mail("bob@example.org", CFP, "u2@x", "p", &proposal_body("Two"));
    w.dovecot.append("cfp", &m1).await;
    w.dovecot.append("cfp", &m2).await;
    let conf = w.dovecot.dir.path().join("dovecot.conf");
    let st = std::process::Command::new("doveadm")
        .arg("-c")
        .arg(&conf)
        .args([
            "mailbox",
            "update",
            "-u",
            "cfp",
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .status()
        .unwrap();
    assert!(st.success(), "doveadm mailbox update");
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert_eq!(
        w.dovecot.fetch_all("ada", "INBOX").await.len(),
        1,
        "no second ack"
    );
    assert_eq!(w.dovecot.fetch_all("bob", "INBOX").await.len(), 1);
    let st: Vec<String> = states(&w).await.into_iter().map(|s| s.0).collect();
    assert_eq!(st, vec!["accepted", "duplicate", "accepted"]);
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
    assert!(w.cfpd(&["proposals", "list"]).contains("2 proposal(s)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_killed_mid_backlog_loses_nothing_and_sends_nothing_twice() {
    need_servers!();
    let w = World::start("[limits]\nreplies_per_address_per_day = 100000\n").await;
    let n = 400;
    let mails: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            mail(
                &format!("s{}@example.org", i % 20),
                CFP,
                &format!("k{i}@x"),
                "p",
                &proposal_body(&format!("Talk {i}")),
            )
        })
        .collect();
    w.dovecot.deliver_maildir("cfp", &mails);
    let store = w.store().await;
    for round in 0..4 {
        let before = w.progress().json["messages"]["accepted"]
            .as_i64()
            .unwrap_or(0);
        let mut d = w.spawn_daemon();
        // Let it get somewhere, then kill -9 at a point that differs per round: once
        // it has stored the backlog (round 0), or taken more of it through intake.
        let start = std::time::Instant::now();
        loop {
            let p = w.progress();
            let stored: i64 = p.json["messages"]
                .as_object()
                .map(|m| m.values().filter_map(|v| v.as_i64()).sum())
                .unwrap_or(0);
            let accepted = p.json["messages"]["accepted"].as_i64().unwrap_or(0);
            let got_somewhere = if round == 0 {
                stored > 0
            } else {
                accepted >= (before + 40 * round).min(n as i64)
            };
            if got_somewhere || start.elapsed() > PATIENCE {
                break;
            }
        }
        d.kill().unwrap();
        d.wait().unwrap();
    }
    w.cfpd(&["run", "--once"]);
    let mut c = store.pool.acquire().await.unwrap();
    let rows = cfpd::store::messages::list(&mut c).await.unwrap();
    assert_eq!(rows.len(), n, "one row per message");
    assert!(
        rows.iter().all(|r| r.state == MessageState::Accepted),
        "every message in a terminal state: {:?}",
        rows.iter()
            .filter(|r| r.state != MessageState::Accepted)
            .collect::<Vec<_>>()
    );
    let outbox = cfpd::store::outbox::list(&mut c).await.unwrap();
    let uncertain = outbox
        .iter()
        .filter(|o| o.state == OutboxState::Uncertain)
        .count();
    assert_eq!(outbox.len(), n, "one ack queued per proposal");
    // Count what the speakers actually received, by In-Reply-To.
    let mut acks: HashMap<String, usize> = HashMap::new();
    for s in 0..20 {
        for raw in w.dovecot.fetch_all(&format!("s{s}"), "INBOX").await {
            let irt = parsed(&raw).in_reply_to().as_text().unwrap().to_string();
            *acks.entry(irt).or_default() += 1;
        }
    }
    let twice: Vec<_> = acks.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "acks delivered twice: {twice:?}");
    // A mail in flight at a kill is "uncertain": delivered or not, never resent.
    assert!(
        acks.len() <= n && acks.len() + uncertain >= n,
        "every ack delivered, except possibly those left uncertain by a kill: {} delivered, {uncertain} uncertain",
        acks.len()
    );
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
    assert_eq!(w.dovecot.count("cfp", "Processed").await as usize, n);
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_acks_new_mail_via_idle_and_stops_on_sigterm() {
    need_servers!();
    let w = World::start("").await;
    w.progress();
    let since = chrono::Utc::now();
    let mut d = w.spawn_daemon();
    // Up, the (empty) inbox read once: from here on it waits for mail.
    w.polled_since(since).await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "ada@example.org",
                CFP,
                "idle1@x",
                "p",
                &proposal_body("Idle"),
            ),
        )
        .await;
    let inbox = w.dovecot.wait_for("ada", 1, Duration::from_secs(10)).await;
    assert_eq!(inbox.len(), 1, "ack arrives while the daemon idles");
    let pid = d.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = d.try_wait().unwrap() {
            assert!(st.success(), "clean exit on SIGTERM: {st}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_connection_and_init_writes_a_valid_config() {
    need_servers!();
    let w = World::start("").await;
    let out = w.cfpd(&["check"]);
    for want in [
        "config    ok",
        "database  ok",
        "mailbox   ok   IMAP cfp@127.0.0.1",
        "outgoing  ok   SMTP",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }
    // A wrong password is named as such, without printing it.
    std::fs::write(w.dir.path().join("imap-password"), "wrong-secret\n").unwrap();
    let out = w.cfpd_raw(&["check"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("mailbox   FAIL") && text.contains("login as \"cfp\" failed"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"), "{text}");
    std::fs::write(w.dir.path().join("imap-password"), format!("{PASSWORD}\n")).unwrap();
    // An unreachable SMTP server.
    w.smtp_port_closed_check();
    // An unreachable IMAP server: named with its port and what to check.
    let closed = free_port();
    let (ok, text) = w.check_with("closed-imap.toml", |c| {
        c.replace(
            &format!("port = {}\n", w.dovecot.imap_port),
            &format!("port = {closed}\n"),
        )
    });
    assert!(!ok);
    assert!(
        text.contains("mailbox   FAIL")
            && text.contains(&format!("cannot reach port {closed}"))
            && text.contains("check mailbox.host and mailbox.port"),
        "{text}"
    );
    // A missing inbox folder: logged in, but the folder is named as missing.
    let (ok, text) = w.check_with("no-folder.toml", |c| {
        c.replace(
            "user = \"cfp\"\n",
            "user = \"cfp\"\ninbox = \"Proposals\"\n",
        )
    });
    assert!(!ok);
    assert!(
        text.contains("folder \"Proposals\" does not exist (mailbox.inbox)"),
        "{text}"
    );
    // Three different failures, three different lines.
    assert!(!text.contains("login as") && !text.contains("cannot reach"));
    // `cfpd init` writes the commented example, which validates.
    let path = w.dir.path().join("new.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .args(["init"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    cfpd::config::Config::load(&path).unwrap();
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .args(["init"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "init never overwrites without --force"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_over_implicit_tls_and_starttls_with_a_private_ca() {
    need_servers!();
    let (dovecot, cert, imaps) = Dovecot::start_tls();
    dovecot.ensure_user("cfp");
    let smtp = Smtp::start(&dovecot);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
    for (tls, port) in [("implicit", imaps), ("starttls", dovecot.imap_port)] {
        let cfg = dir.path().join(format!("{tls}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[conference]\nname = \"T\"\ncfp_address = \"{CFP}\"\ntime_zone = \"AoE\"\ncfp_deadline = \"2099-01-01\"\n\
                 [mailbox]\nkind = \"imap\"\nhost = \"localhost\"\nport = {port}\ntls = \"{tls}\"\nca_file = \"{}\"\nuser = \"cfp\"\npassword_file = \"pw\"\n\
                 [outgoing]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
                 [database]\nurl = \"sqlite://{tls}.db\"\n",
                cert.display(),
                smtp.port
            ),
        )
        .unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
                .arg("--config")
                .arg(&cfg)
                .args(args)
                .output()
                .unwrap()
        };
        let out = run(&["check"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{tls}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("mailbox   ok   IMAP cfp@localhost"), "{text}");
        dovecot
            .append(
                "cfp",
                &mail(
                    "ada@example.org",
                    CFP,
                    &format!("tls-{tls}@x"),
                    "p",
                    &proposal_body("TLS"),
                ),
            )
            .await;
        let out = run(&["run", "--once"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("processed 1 message"),
            "{tls}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(dovecot.wait_for("ada", 2, T).await.len(), 2);
    // Without the private CA the certificate is refused.
    let cfg = dir.path().join("implicit.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let no_ca: String = text
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&cfg, no_ca).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TLS handshake"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The fixtures of one kind (`human`, `machine`) as (file name, raw bytes).
fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(p).unwrap())
        })
        .collect()
}

/// The Dovecot user (local part, lower case) of a fixture's From address.
fn from_user(raw: &[u8]) -> String {
    let m = parsed(raw);
    let addr = m.from().unwrap().first().unwrap().address().unwrap();
    addr.split('@').next().unwrap().to_ascii_lowercase()
}

/// Issue 14, items 2 and 3 on real servers: proposals with machine-looking subjects,
/// senders and layouts are all answered (ack or draft receipt); carrier notices quoting
/// SMTP replies and list-manager notices are never answered.
#[tokio::test(flavor = "multi_thread")]
async fn machine_looking_proposals_are_answered_and_notices_without_headers_are_not() {
    need_servers!();
    let w = World::start("").await;
    // New mail only: the follow-ups in the fixtures need tokens of a real run.
    let humans: Vec<_> = fixtures("human")
        .into_iter()
        .filter(|(_, raw)| !String::from_utf8_lossy(raw).contains("To: cfp+"))
        .collect();
    let machines = fixtures("machine");
    assert!(humans.len() >= 25 && machines.len() >= 10);
    for (_, raw) in humans.iter().chain(&machines) {
        w.dovecot.append("cfp", raw).await;
    }
    let out = w.cfpd(&["run", "--once"]);
    let total = humans.len() + machines.len();
    assert!(out.contains(&format!("processed {total} message")), "{out}");
    for (name, raw) in &humans {
        let user = from_user(raw);
        let inbox = w.dovecot.wait_for(&user, 1, T).await;
        assert_eq!(inbox.len(), 1, "{name}: one answer to {user}");
        let text = body(&inbox[0]);
        assert!(
            text.contains("registered as") || text.contains("saved it as draft"),
            "{name}: {text}"
        );
    }
    for (name, raw) in &machines {
        let user = from_user(raw);
        let inbox = w.dovecot.fetch_all(&user, "INBOX").await;
        assert!(inbox.is_empty(), "{name} was answered");
    }
    let answered = states(&w)
        .await
        .into_iter()
        .filter(|(s, _)| s == "accepted" || s == "draft")
        .count();
    assert_eq!(answered, humans.len());
}

/// Issue 14 item 11: closings, replies without the token and a missing MIME
/// boundary keep the speaker's meaning.
#[tokio::test(flavor = "multi_thread")]
async fn the_speakers_meaning_survives_closings_replies_and_broken_mime() {
    need_servers!();
    let w = World::start("").await;
    // A closing after a one-line field and after the last field.
    let text = "Title: Forms without tears\n\nThanks, Ann\nFormat: talk-25\nAudience: beginner\nAbstract:\n  Forms.\nDescription:\n  More forms.\nBio: Ann builds forms.\n\nBest regards,\nAnn Lee\nACME Corp\n";
    w.dovecot
        .append(
            "cfp",
            &mail("ann@example.org", CFP, "m1@x", "Proposal", text),
        )
        .await;
    // A multipart proposal whose closing boundary is missing.
    let broken = "From: bob@example.org\r\nTo: cfp@conf.example\r\nSubject: Proposal\r\nMessage-ID: <m2@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nThis is a multi-part message.\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTitle: Caf=C3=A9 queries\r\nFormat: talk-25\r\nAudience: beginner\r\nAbstract:\r\n  Queries.\r\nDescription:\r\n  More queries.\r\n";
    w.dovecot.append("cfp", broken.as_bytes()).await;
    w.cfpd(&["run", "--once"]);
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("Title: Forms without tears"), "{show}");
    assert!(!show.contains("tears Thanks"), "{show}");
    assert!(!show.contains("Thanks, Ann"), "{show}");
    assert!(
        !show.contains("Best regards") && !show.contains("ACME"),
        "{show}"
    );
    let show = w.cfpd(&["proposals", "show", "P-0002"]);
    assert!(show.contains("Title: Café queries"), "{show}");
    assert!(show.starts_with("P-0002  (submitted)"), "{show}");
    let st = states(&w).await;
    assert_eq!(st[1], ("accepted".to_string(), None), "{st:?}");

    // The speaker replies to the ack at the plain address: answered, nothing stored.
    let ack = w.dovecot.wait_for("ann", 1, T).await.remove(0);
    let plain = String::from_utf8(reply(
        "ann@example.org",
        &ack,
        "m3@x",
        "Title: Better forms\n",
    ))
    .unwrap()
    .replace(&reply_to(&ack), CFP);
    w.dovecot.append("cfp", plain.as_bytes()).await;
    w.cfpd(&["run", "--once"]);
    let st = states(&w).await;
    assert_eq!(
        st[2],
        ("rejected".into(), Some("update_not_understood".into())),
        "{st:?}"
    );
    let list = w.cfpd(&["proposals", "list"]);
    assert!(!list.contains("P-0003"), "{list}");
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    assert!(show.contains("Title: Forms without tears"), "{show}");
    let ann = w.dovecot.wait_for("ann", 2, T).await;
    let how = body(&ann[1]);
    assert!(how.contains("reply to the acknowledgment"), "{how}");
    assert!(how.lines().all(|l| l.chars().count() <= 78), "{how}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetched_chunk_holding_an_already_stored_message_is_stored_as_received_and_processed_once(
) {
    need_servers!();
    let w = World::start("").await;
    let first = mail(
        "ada@example.org",
        CFP,
        "stored@x",
        "p",
        &proposal_body("Stored first"),
    );
    let second = mail(
        "grace@example.org",
        CFP,
        "fetched@x",
        "p",
        &proposal_body("Fetched after"),
    );
    w.dovecot.append("cfp", &first).await;
    w.dovecot.append("cfp", &second).await;
    // UID 1 is already stored (as a source that stored it itself would
    // leave it) while the cursor is still before it: the chunk's single
    // transaction fails on its key, and the chunk takes the old path.
    let uidvalidity = {
        let mut s = w.dovecot.login("cfp").await;
        let mb = s.select("INBOX").await.unwrap();
        let _ = s.logout().await;
        mb.uid_validity.unwrap()
    };
    let store = w.store().await;
    let mut c = store.conn().await.unwrap();
    let stored = cfpd::store::messages::insert_received_many(
        &mut c,
        &[cfpd::store::messages::NewMessage {
            source_key: format!("imap:INBOX:{uidvalidity}:1"),
            received_at: 0,
            arrived_at: 0,
            raw: first.clone(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(stored, 1);
    drop(c);
    store.close().await;
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    let st = states(&w).await;
    assert_eq!(
        st.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        vec!["accepted", "accepted"]
    );
    assert!(w.cfpd(&["proposals", "list"]).contains("2 proposal(s)"));
    assert_eq!(w.dovecot.fetch_all("ada", "INBOX").await.len(), 1);
    assert_eq!(w.dovecot.fetch_all("grace", "INBOX").await.len(), 1);
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
}
