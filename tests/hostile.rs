//! Promises under hostile and machine mail, end to end on real servers
//! (Dovecot, an SMTP server delivering into it, SQLite or PostgreSQL):
//! bounces to VERP return paths, machine mail from the shared corpus,
//! malformed MIME, header injection, look-alike addresses,
//! Authentication-Results, reply caps and the circuit breaker, oversized mail.
//!
//! The corpus tests read `../shared/corpora` (or `$CFPD_SHARED/corpora`) and
//! print that they are skipped when it is absent.

mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

/// An RFC 3464 delivery-status notification for `rcpt`, sent to `return_path`.
fn dsn(return_path: &str, rcpt: &str, status: &str, mid: &str, original_mid: &str) -> Vec<u8> {
    let action = if status.starts_with('5') {
        "failed"
    } else {
        "delayed"
    };
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n\
         To: {return_path}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <{mid}>\r\n\
         Date: Mon, 01 Apr 2024 12:00:00 +0000\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: {status}\r\n\
         Diagnostic-Code: smtp; {status} mailbox problem\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: TestConf CFP <cfp@conf.example>\r\nTo: {rcpt}\r\nMessage-ID: <{original_mid}>\r\n\r\n\
         --B--\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_bounce_makes_the_address_undeliverable_tells_the_chair_and_stops_mail() {
    need_servers!();
    let w = world_with_chair("").await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Ada <ada@example.org>",
                CFP,
                "p1@example.org",
                "Proposal",
                &proposal_body("First talk"),
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("ada", 1, T).await;
    assert_eq!(inbox.len(), 1);
    let ack = &inbox[0];
    // The envelope sender is a VERP address, and only its hash is kept.
    let rp = return_path(ack);
    assert!(
        rp.starts_with("cfp+b-") && rp.ends_with("@conf.example"),
        "{rp}"
    );
    assert!(rp.len() > "cfp+b-@conf.example".len() + 30, "{rp}");
    {
        let store = w.store().await;
        let mut c = store.pool.acquire().await.unwrap();
        use sqlx::Row;
        let r = sqlx::query("SELECT envelope_from, bounce_hash FROM outbox")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        let env: String = r.get("envelope_from");
        let hash: String = r.get("bounce_hash");
        assert_eq!(env, "", "the secret return path is erased once sent");
        let token = rp
            .trim_start_matches("cfp+b-")
            .trim_end_matches("@conf.example");
        assert_eq!(hash, cfpd::token::hash(token));
    }
    // The DSN names a different Final-Recipient (a forwarding hop): the VERP
    // token, not the report's text, says who bounced.
    let ack_mid = message_id(ack);
    w.dovecot
        .append(
            "cfp",
            &dsn(
                &rp,
                "ada@mailhost.example.org",
                "5.1.1",
                "dsn1@mx",
                &ack_mid,
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r[1].state, "bounce");
    let detail = r[1].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("ada@example.org is now undeliverable"),
        "{detail}"
    );
    let chair = w.dovecot.wait_for("chair", 1, T).await;
    assert_eq!(chair.len(), 1, "one alert to the chair");
    let m = parsed(&chair[0]);
    assert!(
        m.subject()
            .unwrap()
            .contains("Undeliverable address: ada@example.org"),
        "{:?}",
        m.subject()
    );
    assert!(body(&chair[0]).contains("5.1.1"), "{}", body(&chair[0]));
    // Ada writes again: recorded and answered in the database, but never sent.
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Ada <ada@example.org>",
                CFP,
                "p2@example.org",
                "Proposal",
                &proposal_body("Second talk"),
            ),
        )
        .await;
    // A second bounce of the same address alerts nobody again.
    w.dovecot
        .append(
            "cfp",
            &dsn(&rp, "ada@example.org", "5.1.1", "dsn2@mx", &ack_mid),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r[2].state, "accepted");
    assert_eq!(r[3].state, "bounce");
    assert!(
        r[3].detail
            .as_deref()
            .unwrap_or("")
            .contains("already undeliverable"),
        "{:?}",
        r[3].detail
    );
    let o = w.outbox().await;
    let to_ada: Vec<_> = o
        .iter()
        .filter(|o| o.recipient == "ada@example.org")
        .collect();
    assert_eq!(to_ada.len(), 2);
    assert_eq!(to_ada[0].state, "sent");
    assert_eq!(to_ada[1].state, "suppressed", "{:?}", to_ada[1]);
    assert!(to_ada[1]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("undeliverable"));
    w.settled().await;
    assert_eq!(
        w.dovecot.count("ada", "INBOX").await,
        1,
        "nothing more sent"
    );
    assert_eq!(w.dovecot.count("chair", "INBOX").await, 1, "alerted once");
    // The chairs' digest lists every undeliverable address.
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    w.cfpd_at(&later, &["run", "--once"]);
    let chair = w.dovecot.wait_for("chair", 2, T).await;
    let digest = chair
        .iter()
        .map(|m| body(m))
        .find(|b| b.contains("Digest for"))
        .expect("a digest");
    assert!(
        digest.contains(
            "Undeliverable addresses (cfpd sends them nothing): 1\n  ada@example.org  since "
        ),
        "{digest}"
    );
    assert!(digest.contains("hard bounce 5.1.1"), "{digest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_bounces_of_distinct_mails_count_up_to_the_threshold() {
    need_servers!();
    let w = World::start("[limits]\nsoft_bounce_threshold = 2\n").await;
    for i in 0..2 {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    "bob@example.org",
                    CFP,
                    &format!("b{i}@example.org"),
                    "Proposal",
                    &proposal_body(&format!("Talk {i}")),
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let acks = w.dovecot.wait_for("bob", 2, T).await;
    assert_eq!(acks.len(), 2);
    let rp: Vec<String> = acks.iter().map(|a| return_path(a)).collect();
    assert_ne!(rp[0], rp[1], "one return path per mail");
    // Two delay reports about the same mail count once.
    for (i, p) in [&rp[0], &rp[0]].iter().enumerate() {
        w.dovecot
            .append(
                "cfp",
                &dsn(p, "bob@example.org", "4.2.2", &format!("d{i}@mx"), "x@y"),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    for row in &r[2..4] {
        assert_eq!(row.state, "bounce");
        assert!(
            row.detail.as_deref().unwrap_or("").contains("1 of 2"),
            "{:?}",
            row.detail
        );
    }
    // A delay report about the other mail reaches the threshold.
    w.dovecot
        .append(
            "cfp",
            &dsn(&rp[1], "bob@example.org", "4.2.2", "d3@mx", "x@y"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    let d = r[4].detail.clone().unwrap_or_default();
    assert!(
        d.contains("bob@example.org is now undeliverable (2 soft bounces"),
        "{d}"
    );
    // Nothing is ever answered to a bounce: only the two acks left.
    assert_eq!(w.outbox().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bounce_in_the_shared_corpus_is_recorded_and_answered_by_nothing() {
    need_servers!();
    let Some(shared) = shared_dir() else {
        println!("skipped: shared/ not found (set CFPD_SHARED); corpus bounces not tested");
        return;
    };
    let dir = shared.join("corpora/bounces");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 281,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    let w = world_with_chair("").await;
    let raws: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    w.dovecot.deliver_maildir("cfp", &raws);
    let out = w.cfpd(&["run", "--once"]);
    assert!(
        out.contains(&format!("processed {} message", files.len())),
        "{out}"
    );
    let r = w.messages().await;
    assert_eq!(r.len(), files.len());
    let wrong: Vec<_> = r
        .iter()
        .filter(|r| r.state != "bounce" && r.state != "auto_generated")
        .map(|r| format!("{} {} {:?}", r.source_key, r.state, r.reason))
        .collect();
    assert!(wrong.is_empty(), "not machine mail: {wrong:#?}");
    let bounces = r.iter().filter(|r| r.state == "bounce").count();
    println!(
        "corpus: {} messages, {bounces} bounce, {} auto_generated",
        r.len(),
        r.len() - bounces
    );
    assert!(w.outbox().await.is_empty(), "nothing queued");
    assert_eq!(w.dovecot.count("chair", "INBOX").await, 0);
    // The mailbox was emptied into Rejected, nothing left behind.
    assert_eq!(w.dovecot.count("cfp", "INBOX").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_mime_nul_bytes_and_invalid_utf8_end_in_a_terminal_state() {
    need_servers!();
    let w = World::start("").await;
    let mut raws: Vec<Vec<u8>> = Vec::new();
    // NUL bytes and invalid UTF-8 in headers and body of a proposal.
    let mut evil = b"From: =?utf-8?q?Nul=00Name?= <nul@example.org>\r\nTo: cfp@conf.example\r\nSubject: Talk\x00 with \xff\xfe bytes\r\nMessage-ID: <nul1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
    evil.extend_from_slice(
        proposal_body("Zero\u{0}byte \u{fffd} title")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    evil.extend_from_slice(b"Bio:\r\n  bad \xc3\x28 utf8 and \x00 nul\r\n");
    raws.push(evil.clone());
    // NUL bytes that survive IMAP: inside a base64 body and an encoded word.
    let b64 = data_encoding::BASE64_MIME.encode(
        format!(
            "{}Bio:\n  nul \u{0} here and a lone \u{fffd}\n",
            proposal_body("Nul\u{0}in the title")
        )
        .as_bytes(),
    );
    raws.push(
        format!(
            "From: nul2@example.org\r\nTo: cfp@conf.example\r\nSubject: =?utf-8?q?Sub=00ject?=\r\nMessage-ID: <nul2@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}"
        )
        .into_bytes(),
    );
    let shared = shared_dir();
    match &shared {
        Some(s) => {
            for sub in ["malformed", "thirdparty"] {
                let mut files: Vec<_> = std::fs::read_dir(s.join("corpora/malformed-mime").join(sub))
                    .unwrap()
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                files.sort();
                raws.extend(files.iter().map(|p| std::fs::read(p).unwrap()));
            }
        }
        None => println!("skipped: shared/ not found (set CFPD_SHARED); malformed-mime corpus not tested, only the built-in NUL/invalid UTF-8 message"),
    }
    w.dovecot.deliver_maildir("cfp", &raws);
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r.len(), raws.len(), "every message stored");
    let open: Vec<_> = r.iter().filter(|r| r.state == "received").collect();
    assert!(open.is_empty(), "left without a terminal state: {open:?}");
    let mut by_state = std::collections::BTreeMap::<(&str, &str), usize>::new();
    for row in &r {
        *by_state
            .entry((row.state.as_str(), row.reason.as_deref().unwrap_or("-")))
            .or_default() += 1;
    }
    println!("{} messages: {by_state:?}", r.len());
    // The NUL message: raw bytes kept exactly, text fields without NUL.
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT r.raw, r.compressed, m.subject, m.state, m.size, m.sha256 FROM messages m
         JOIN message_raw r ON r.id = m.id
         WHERE m.message_id = 'nul1@example.org'",
    )
    .fetch_one(&mut *c)
    .await
    .unwrap();
    let raw = cfpd::store::packed::unpack(row.get("raw"), row.get::<i64, _>("compressed") == 1);
    let raw = raw.unwrap();
    // Its size and hash are those of the bytes kept (made while the chunk
    // was prepared, not by the writer).
    assert_eq!(row.get::<i64, _>("size"), raw.len() as i64);
    assert_eq!(
        row.get::<String, _>("sha256"),
        cfpd::store::messages::sha256_hex(&raw)
    );
    // IMAP cannot carry NUL in a non-BINARY FETCH: Dovecot sends 0x80 in its
    // place (RFC 3501 §4.3). Every other byte, invalid UTF-8 included, is kept.
    let over_imap: Vec<u8> = evil
        .iter()
        .map(|&b| if b == 0 { 0x80 } else { b })
        .collect();
    assert!(
        raw == evil || raw == over_imap,
        "raw bytes not kept: {:?}",
        String::from_utf8_lossy(&raw)
    );
    let subject: String = row.get("subject");
    assert!(!subject.contains('\0'), "{subject:?}");
    let state: String = row.get("state");
    assert!(state == "accepted" || state == "draft", "{state}");
    let row = sqlx::query(
        "SELECT m.subject, m.state, v.proposal_id FROM messages m
         JOIN proposal_versions v ON v.message_id = m.id
         WHERE m.message_id = 'nul2@example.org'",
    )
    .fetch_one(&mut *c)
    .await
    .unwrap();
    let subject: String = row.get("subject");
    assert_eq!(subject, "Sub ject");
    let state: String = row.get("state");
    assert_eq!(state, "accepted");
    let id: i64 = row.get("proposal_id");
    let shown = w.cfpd(&["proposals", "show", &format!("P-{id:04}")]);
    assert!(shown.contains("in the title"), "{shown}");
    let shown = w.cfpd(&["proposals", "list"]);
    assert!(shown.contains("in the title"), "{shown}");
    // A second run finds nothing left to do and does not fail.
    let out = w.cfpd(&["run", "--once"]);
    assert!(!out.contains("processed 1"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn crlf_in_subject_and_name_never_injects_a_header() {
    need_servers!();
    let w = World::start("").await;
    let raw = format!(
        "From: =?utf-8?q?Eve=0D=0AX-Injected:_name?= <eve@example.org>\r\n\
         To: {CFP}\r\n\
         Subject: =?utf-8?q?Talk=0D=0AX-Injected:_subject=0D=0ABcc:_victim@example.org?=\r\n\
         Message-ID: <inj1@example.org>\r\n\
         Date: Mon, 01 Apr 2024 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
        proposal_body("Title\r\nX-Injected: title").replace('\n', "\r\n")
    );
    w.dovecot.append("cfp", raw.as_bytes()).await;
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("eve", 1, T).await;
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0]).to_string();
    let headers = text.split("\r\n\r\n").next().unwrap();
    for l in headers.lines() {
        let l = l.to_ascii_lowercase();
        assert!(
            !l.starts_with("x-injected") && !l.starts_with("bcc"),
            "injected header line {l:?} in:\n{headers}"
        );
    }
    assert!(parsed(&inbox[0]).header("X-Injected").is_none());
    assert_eq!(w.dovecot.count("victim", "INBOX").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn look_alike_addresses_never_use_a_speakers_token() {
    need_servers!();
    let w = World::start("").await;
    let ack = w
        .submit("ada", "ada@example.org", "la1@example.org", "Original")
        .await;
    let fakes = [
        "\u{0430}da@example.org", // Cyrillic а
        "\u{03b1}da@example.org", // Greek α
        "\u{ff41}da@example.org", // full-width ａ in the local part
        "ada@\u{ff45}xample.org", // full-width ｅ in the domain
        "ada@ex\u{0430}mple.org", // Cyrillic а in the domain
        "ADA@example.org",        // case of the local part
    ];
    for (i, f) in fakes.iter().enumerate() {
        // The From is written in UTF-8 (RFC 6532), as a mail client would.
        let r = reply(f, &ack, &format!("fake{i}@x"), "withdraw");
        w.dovecot.append("cfp", &r).await;
    }
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    for row in &r[1..] {
        assert_eq!(
            (row.state.as_str(), row.reason.as_deref()),
            ("rejected", Some("sender_mismatch")),
            "{row:?}"
        );
    }
    assert!(w.cfpd(&["proposals", "list"]).contains("submitted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dmarc_fail_from_our_mx_is_held_for_review_and_released_by_a_chair() {
    need_servers!();
    let w = World::start("").await;
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
    let with_ar = |ar: &str, from: &str, mid: &str| {
        let mut m = ar.as_bytes().to_vec();
        m.extend(mail(from, CFP, mid, "Proposal", &proposal_body("Forged?")));
        m
    };
    // Our MX's verdict on top, a forged "pass" below it.
    w.dovecot
        .append(
            "cfp",
            &with_ar(
                "Authentication-Results: mx.conf.example; spf=fail smtp.mailfrom=bank.example;\r\n dmarc=fail (p=reject) header.from=bank.example\r\nAuthentication-Results: mx.conf.example; dmarc=pass header.from=bank.example\r\n",
                "ceo@bank.example",
                "ar1@x",
            ),
        )
        .await;
    // Someone else's dmarc=fail means nothing.
    w.dovecot
        .append(
            "cfp",
            &with_ar(
                "Authentication-Results: mx.elsewhere.example; dmarc=fail header.from=example.org\r\n",
                "ok@example.org",
                "ar2@x",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r[0].state, "needs_review");
    assert_eq!(r[0].reason.as_deref(), Some("dmarc_fail"));
    assert_eq!(r[1].state, "accepted");
    let listing = w.cfpd(&["messages"]);
    assert!(listing.contains("needs_review"), "{listing}");
    assert_eq!(w.outbox().await.len(), 1, "only the second is answered");
    assert_eq!(w.dovecot.count("ceo", "INBOX").await, 0);
    // Releasing something not held is refused with an explanation.
    let out = w.cfpd_raw(&["messages", "--release", &r[1].id.to_string()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not held in needs_review"));
    let out = w.cfpd(&["messages", "--release", &r[0].id.to_string()]);
    assert!(out.contains("released"), "{out}");
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r[0].state, "accepted");
    assert_eq!(w.dovecot.wait_for("ceo", 1, T).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn thread_caps_and_the_circuit_breaker_stop_replies_but_record_everything() {
    need_servers!();
    let w = world_with_chair(
        "[limits]\nreplies_per_thread_per_day = 2\ncircuit_breaker_replies = 4\ncircuit_breaker_minutes = 60\n",
    )
    .await;
    // Three "help" mails in one conversation from three addresses: two answers.
    let conv = |from: &str, mid: &str, root: &str| {
        format!(
            "From: {from}\r\nTo: {CFP}\r\nSubject: Re: help\r\nMessage-ID: <{mid}>\r\nIn-Reply-To: <{root}>\r\nReferences: <{root}>\r\nContent-Type: text/plain\r\n\r\nhelp\r\n"
        )
        .into_bytes()
    };
    for i in 0..3 {
        w.dovecot
            .append(
                "cfp",
                &conv(&format!("u{i}@example.org"), &format!("t{i}@x"), "root1@x"),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert!(r.iter().all(|r| r.state == "help"));
    assert!(
        r[2].detail
            .as_deref()
            .unwrap_or("")
            .contains("2 automatic replies in this conversation"),
        "{:?}",
        r[2].detail
    );
    assert_eq!(w.outbox().await.len(), 2);
    // Two more conversations reach the breaker (4 in the window); then no more
    // conversation mail is answered and the chair is told once, but a new
    // proposal's acknowledgment (its speaker's reply token) still goes out.
    for i in 3..5 {
        w.dovecot
            .append(
                "cfp",
                &conv(
                    &format!("u{i}@example.org"),
                    &format!("t{i}@x"),
                    &format!("root{i}@x"),
                ),
            )
            .await;
    }
    for i in 0..3 {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    &format!("new{i}@example.org"),
                    CFP,
                    &format!("n{i}@x"),
                    "Proposal",
                    &proposal_body("After the breaker"),
                ),
            )
            .await;
    }
    w.dovecot
        .append("cfp", &conv("u5@example.org", "t5@x", "root5@x"))
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(r.len(), 9);
    for row in &r[5..8] {
        assert_eq!(row.state, "accepted", "still recorded");
        assert!(row.detail.is_none(), "{:?}", row.detail);
    }
    assert!(
        r[8].detail
            .as_deref()
            .unwrap_or("")
            .contains("circuit breaker open"),
        "{:?}",
        r[8].detail
    );
    let o = w.outbox().await;
    assert_eq!(o.iter().filter(|o| o.kind == "breaker_alert").count(), 1);
    assert_eq!(o.iter().filter(|o| o.kind == "ack").count(), 3);
    assert_eq!(o.iter().filter(|o| o.kind == "help").count(), 4);
    let chair = w.dovecot.wait_for("chair", 1, T).await;
    assert!(parsed(&chair[0])
        .subject()
        .unwrap()
        .contains("Automatic replies paused"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_mail_is_not_downloaded_and_the_chair_is_told_once() {
    need_servers!();
    let w = world_with_chair("[proposals]\nmax_message_bytes = 8192\n").await;
    let big = mail(
        "big@example.org",
        CFP,
        "big1@x",
        "Proposal",
        &format!("{}\n{}", proposal_body("Huge"), "x".repeat(20_000)),
    );
    w.dovecot.append("cfp", &big).await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(
        (r[0].state.as_str(), r[0].reason.as_deref()),
        ("quarantined", Some("too_large"))
    );
    let chair = w.dovecot.wait_for("chair", 1, T).await;
    assert_eq!(chair.len(), 1);
    assert!(
        body(&chair[0]).contains("did not download it"),
        "{}",
        body(&chair[0])
    );
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    assert_eq!(w.dovecot.count("chair", "INBOX").await, 1, "told once");
    assert_eq!(
        w.dovecot.count("big", "INBOX").await,
        0,
        "nothing read, nobody answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_beyond_the_limits_are_refused_with_the_limit_named() {
    need_servers!();
    let w = World::start("[proposals]\nmax_attachments = 2\n").await;
    let with_parts = |from: &str, mid: &str, parts: &[(&str, &str)]| {
        let mut m = format!(
            "From: {from}\r\nTo: {CFP}\r\nSubject: Proposal\r\nMessage-ID: <{mid}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            proposal_body("With attachments").replace('\n', "\r\n")
        );
        for (name, ct) in parts {
            m.push_str(&format!(
                "--B\r\nContent-Type: {ct}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
            ));
        }
        m.push_str("--B--\r\n");
        m.into_bytes()
    };
    w.dovecot
        .append(
            "cfp",
            &with_parts(
                "exe@example.org",
                "a1@x",
                &[("setup.exe", "application/octet-stream")],
            ),
        )
        .await;
    w.dovecot
        .append(
            "cfp",
            &with_parts(
                "many@example.org",
                "a2@x",
                &[
                    ("a.pdf", "application/pdf"),
                    ("b.pdf", "application/pdf"),
                    ("c.pdf", "application/pdf"),
                ],
            ),
        )
        .await;
    w.dovecot
        .append(
            "cfp",
            &with_parts(
                "ok@example.org",
                "a3@x",
                &[("slides.pdf", "application/pdf")],
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(
        r.iter()
            .map(|r| (r.state.as_str(), r.reason.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            ("rejected", Some("attachments")),
            ("rejected", Some("attachments")),
            ("accepted", None)
        ]
    );
    let exe = body(&w.dovecot.wait_for("exe", 1, T).await[0]);
    assert!(
        exe.contains("\"setup.exe\" is a .exe file, a type we do not accept"),
        "{exe}"
    );
    let many = body(&w.dovecot.wait_for("many", 1, T).await[0]);
    assert!(
        many.contains("it has 3 attachments, and we accept at most 2"),
        "{many}"
    );
    assert!(w.cfpd(&["proposals", "list"]).contains("1 proposal(s)"));
}

/// A peer that answers every mail and strips RFC 3834 headers (the worst
/// case of two auto-responders, e.g. a second cfpd behind a header-stripping
/// relay): the conversation stops at the per-thread cap.
#[tokio::test(flavor = "multi_thread")]
async fn an_auto_responder_that_hides_itself_cannot_loop_with_cfpd() {
    need_servers!();
    let w = World::start("").await;
    let peer = "peer@example.org";
    let first = format!(
        "From: {peer}\r\nTo: {CFP}\r\nSubject: help\r\nMessage-ID: <loop0@example.org>\r\nContent-Type: text/plain\r\n\r\nhelp\r\n"
    );
    w.dovecot.append("cfp", first.as_bytes()).await;
    let mut seen = 0;
    let mut rounds = 0;
    loop {
        w.cfpd(&["run", "--once"]);
        rounds += 1;
        w.settled().await;
        let inbox = w.dovecot.fetch_all("peer", "INBOX").await;
        if inbox.len() == seen {
            break;
        }
        assert!(rounds < 30, "still looping after {rounds} rounds");
        seen = inbox.len();
        // The peer answers the newest mail, threaded, without Auto-Submitted.
        let ours = parsed(inbox.last().unwrap());
        let mid = ours.message_id().unwrap().to_string();
        let mut refs: Vec<String> = match ours.references() {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => vec![],
        };
        refs.push(mid.clone());
        let refs: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        let answer = format!(
            "From: {peer}\r\nTo: {CFP}\r\nSubject: Re: help\r\nMessage-ID: <loop{rounds}@example.org>\r\nIn-Reply-To: <{mid}>\r\nReferences: {}\r\nContent-Type: text/plain\r\n\r\nhelp\r\n",
            refs.join(" ")
        );
        w.dovecot.append("cfp", answer.as_bytes()).await;
    }
    // The answer to the first mail, then replies_per_thread_per_day (default
    // 10) answers within the conversation it started.
    assert_eq!(seen, 11, "the thread cap ends it");
    let r = w.messages().await;
    assert_eq!(r.len(), 12, "every mail recorded");
    assert!(r[11]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("10 automatic replies in this conversation"));
}

/// Issue 14 item 5: a read of the database does not let anyone act as a
/// speaker. Once a mail is sent its stored bytes hold no token; a reply that
/// came through a token address is stored with the token erased once intake
/// has used it. The speaker's own copy keeps its working Reply-To.
#[tokio::test(flavor = "multi_thread")]
async fn no_reply_token_is_readable_in_the_database_once_used() {
    need_servers!();
    use sqlx::Row;
    let w = World::start("").await;
    let ack = w
        .submit("ada", "ada@example.org", "tok1@example.org", "Original")
        .await;
    let address = reply_to(&ack);
    let token = address
        .split_once('+')
        .and_then(|(_, t)| t.split_once('@'))
        .map(|(t, _)| t.to_string())
        .unwrap();
    assert_eq!(token.len(), 32, "{address}");
    w.dovecot
        .append(
            "cfp",
            &reply("ada@example.org", &ack, "tok2@example.org", "withdraw"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    assert!(
        w.cfpd(&["proposals", "list"]).contains("withdrawn"),
        "the token worked before it was erased"
    );
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let outbox = sqlx::query(
        "SELECT o.state, r.raw, r.compressed, o.envelope_from, o.reply_secret FROM outbox o
         JOIN outbox_raw r ON r.id = o.id ORDER BY o.id",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    assert!(outbox.len() >= 2, "an ack and a receipt");
    for r in &outbox {
        let state: String = r.get("state");
        assert_eq!(state, "sent");
        let raw = cfpd::store::packed::unpack(r.get("raw"), r.get::<i64, _>("compressed") == 1);
        let raw = String::from_utf8_lossy(&raw.unwrap()).to_lowercase();
        assert!(!raw.contains(&token), "{raw}");
        let from: String = r.get("envelope_from");
        assert!(!from.contains("+b-"), "{from}");
        let secret: Option<String> = r.get("reply_secret");
        assert_eq!(secret, None, "the reply token is erased once sent");
    }
    let ack_raw = cfpd::store::packed::unpack(outbox[0].get("raw"), true).unwrap();
    let ack_raw = String::from_utf8_lossy(&ack_raw).to_string();
    assert!(ack_raw.contains("cfp+redacted@conf.example"), "{ack_raw}");
    let inbound = sqlx::query("SELECT id, raw, compressed FROM message_raw ORDER BY id")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    assert_eq!(inbound.len(), 2);
    let reply_raw = cfpd::store::packed::unpack(
        inbound[1].get("raw"),
        inbound[1].get::<i64, _>("compressed") == 1,
    )
    .unwrap();
    let reply_raw = String::from_utf8_lossy(&reply_raw).to_lowercase();
    assert!(!reply_raw.contains(&token), "{reply_raw}");
    assert!(
        reply_raw.contains("cfp+redacted@conf.example"),
        "{reply_raw}"
    );
}

/// Issue 14: forged conversations open the circuit breaker (320 `help` mails
/// from 16 throwaway addresses, each in a made-up thread); the proposals of
/// real speakers that follow are still acknowledged, each with a reply token
/// that works, also when the proposal answers one of the forged threads.
#[tokio::test(flavor = "multi_thread")]
async fn forged_conversations_never_silence_a_real_speakers_first_acknowledgment() {
    need_servers!();
    let w = world_with_chair("").await;
    for i in 0..320 {
        let forged = format!(
            "From: throwaway{}@spam.example\r\nTo: {CFP}\r\nSubject: Re: help\r\nMessage-ID: <f{i}@spam.example>\r\nIn-Reply-To: <made-up{i}@spam.example>\r\nContent-Type: text/plain\r\n\r\nhelp\r\n",
            i % 16
        );
        w.dovecot.append("cfp", forged.as_bytes()).await;
    }
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert!(
        r.iter().any(|m| m
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("circuit breaker open")),
        "the breaker is open"
    );
    for j in 0..5 {
        let mut m = String::from_utf8(proposal_mail(
            &format!("speaker{j}@example.org"),
            &format!("real{j}@example.org"),
            &format!("Real talk number {j}"),
        ))
        .unwrap();
        if j % 2 == 1 {
            // Answers a forged thread (as a reply to an announcement would).
            m = m.replacen(
                "Message-ID:",
                &format!("In-Reply-To: <made-up{j}@spam.example>\r\nMessage-ID:"),
                1,
            );
        }
        w.dovecot.append("cfp", m.as_bytes()).await;
    }
    w.cfpd(&["run", "--once"]);
    for j in 0..5 {
        let user = format!("speaker{j}");
        let inbox = w.dovecot.wait_for(&user, 1, T).await;
        assert_eq!(inbox.len(), 1, "{user}: one acknowledgment");
        let ack = &inbox[0];
        assert!(reply_to(ack).starts_with("cfp+"), "{}", reply_to(ack));
        let update = reply(
            &format!("{user}@example.org"),
            ack,
            &format!("upd{j}@example.org"),
            &format!("Title: Updated talk number {j}\n"),
        );
        w.dovecot.append("cfp", &update).await;
    }
    w.cfpd(&["run", "--once"]);
    let r = w.messages().await;
    assert_eq!(
        r.iter().filter(|m| m.state == "updated").count(),
        5,
        "every token works"
    );
}

/// Issue 14: 100 proposals from one mailbox, spelled four ways
/// (`Victim@`, `VICTIM@`, `victim+1@`, `victim@`): the spellings share one
/// daily cap, the acknowledgments over it are held (shown by `cfpd outbox`)
/// and released day by day, each exactly once, until every stored proposal's
/// reply token has reached its speaker.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_mailbox_holds_acknowledgments_and_delivers_every_token() {
    need_servers!();
    let w = World::start("").await;
    let spellings = [
        "Victim@example.org",
        "VICTIM@example.org",
        "victim+1@example.org",
        "victim@example.org",
    ];
    for i in 0..100 {
        w.dovecot
            .append(
                "cfp",
                &proposal_mail(
                    spellings[i % 4],
                    &format!("flood{i}@example.org"),
                    &format!("Flood talk {i}"),
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let o = w.outbox().await;
    assert_eq!(o.len(), 100, "one acknowledgment per stored proposal");
    let held = o.iter().filter(|r| r.hold.is_some()).count();
    assert_eq!(held, 80, "20 a day to one mailbox, however it is spelled");
    assert!(o
        .iter()
        .filter(|r| r.hold.is_some())
        .all(|r| r.hold.as_deref() == Some("address_cap") && r.state == "queued"));
    let listing = w.cfpd(&["outbox"]);
    assert_eq!(listing.matches("held:address_cap").count(), 80, "{listing}");
    let r = w.messages().await;
    assert_eq!(
        r.iter()
            .filter(|m| m
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("acknowledgment held"))
            .count(),
        80
    );
    assert_eq!(w.dovecot.wait_for("victim", 20, T).await.len(), 20);
    let start = chrono::Utc::now();
    for day in 1..=5 {
        let at =
            (start + chrono::Duration::days(day) + chrono::Duration::minutes(day)).to_rfc3339();
        w.cfpd_at(&at, &["run", "--once"]);
        let want = (20 * (day as usize + 1)).min(100);
        assert_eq!(
            w.outbox().await.iter().filter(|r| r.hold.is_none()).count(),
            want
        );
        assert_eq!(w.dovecot.wait_for("victim", want, T).await.len(), want);
    }
    let inbox = w.dovecot.fetch_all("victim", "INBOX").await;
    assert_eq!(inbox.len(), 100, "each exactly once");
    let mut refs: Vec<String> = inbox
        .iter()
        .map(|m| {
            let s = parsed(m).subject().unwrap().to_string();
            s.split_whitespace()
                .find(|w| w.starts_with("P-"))
                .unwrap()
                .to_string()
        })
        .collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), 100, "every proposal's acknowledgment");
    let mut tokens: Vec<String> = inbox.iter().map(|m| reply_to(m)).collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 100, "every proposal's own token");
    assert!(w.outbox().await.iter().all(|r| r.state == "sent"));
}

/// Issue 14 item 12: a From header naming two mailboxes, or one the parser
/// has to invent (`<script>…</script> <xss@…>` read as `script/scriptxss@…`),
/// names no sender: the mail is kept (visible in `cfpd messages`), nobody is
/// answered and no proposal is stored for an address that never wrote.
#[tokio::test(flavor = "multi_thread")]
async fn from_headers_that_name_two_mailboxes_or_an_invented_one_are_never_answered() {
    need_servers!();
    let w = World::start("").await;
    let froms = [
        "<victim@example.org> <attacker@example.org>",
        "<script>alert(1)</script> <xss@example.org>",
        "Ann <ann@example.org> <mallory@example.org>",
    ];
    for (i, from) in froms.iter().enumerate() {
        let m = mail(
            from,
            CFP,
            &format!("odd{i}@example.org"),
            "Proposal",
            &proposal_body("Forms without tears"),
        );
        w.dovecot.append("cfp", &m).await;
    }
    // And a well-formed one after them, answered as usual.
    w.dovecot
        .append(
            "cfp",
            &proposal_mail("ada@example.org", "ok@example.org", "Fine"),
        )
        .await;
    let out = w.cfpd(&["run", "--once"]);
    assert!(out.contains("processed 4 message"), "{out}");
    let m = w.messages().await;
    for r in &m[..3] {
        assert_eq!(
            (r.state.as_str(), r.reason.as_deref()),
            ("rejected", Some("no_sender")),
            "{r:?}"
        );
        assert_eq!(r.proposal_id, None, "{r:?}");
    }
    assert_eq!(m[3].state, "accepted");
    let o = w.outbox().await;
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].recipient, "ada@example.org");
    for user in ["victim", "attacker", "xss", "ann", "mallory"] {
        assert!(
            w.dovecot.fetch_all(user, "INBOX").await.is_empty(),
            "{user}"
        );
    }
    let listed = w.cfpd(&["messages"]);
    assert_eq!(listed.matches("no_sender").count(), 3, "{listed}");
}

/// Issue 14 item 10: a 3,000-character one-word title. The real SMTP server
/// refuses any line over 998 octets; the acknowledgment still arrives, its
/// subject cut and marked, every header line within RFC 5322's limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_title_of_one_3000_character_word_still_gets_its_acknowledgment() {
    need_servers!();
    let w = World::start("").await;
    let title = "W".repeat(3000);
    w.dovecot
        .append(
            "cfp",
            &proposal_mail("ada@example.org", "long@example.org", &title),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let ack = w.dovecot.wait_for("ada", 1, T).await.remove(0);
    let head_end = ack.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    for line in ack[..head_end].split(|&b| b == b'\n') {
        assert!(line.len() <= 999, "{} octets", line.len());
    }
    let subject = parsed(&ack).subject().unwrap().to_string();
    assert!(
        subject.contains("P-0001") && subject.ends_with('…'),
        "{subject}"
    );
    assert!(subject.chars().count() <= 160, "{subject}");
    assert!(w.outbox().await.iter().all(|r| r.state == "sent"));
}

/// Issue 14 item 5: a speaker's reply address works for
/// `[proposals] reply_token_days` after it was sent, judged on arrival; past
/// that a reply changes nothing and the speaker is told why.
#[tokio::test(flavor = "multi_thread")]
async fn a_speakers_reply_address_stops_working_after_its_lifetime() {
    need_servers!();
    let w = World::start("[proposals]\nreply_token_days = 30\n").await;
    // Forty days ago onwards, so that every mail can be delivered on its day
    // (Dovecot stamps an APPEND dated in the future with the present).
    let start = chrono::Utc::now() - chrono::Duration::days(40);
    let day = |d: i64| start + chrono::Duration::days(d);
    w.dovecot
        .append_at(
            "cfp",
            &proposal_mail("ada@example.org", "p@example.org", "Forms"),
            day(0),
        )
        .await;
    w.cfpd_at(&day(0).to_rfc3339(), &["run", "--once"]);
    let ack = w.dovecot.wait_for("ada", 1, T).await.remove(0);
    // Arrived on day 29, processed on day 31: still valid.
    let update = reply(
        "ada@example.org",
        &ack,
        "u@example.org",
        "Title: Better forms\n",
    );
    w.dovecot.append_at("cfp", &update, day(29)).await;
    w.cfpd_at(&day(31).to_rfc3339(), &["run", "--once"]);
    assert!(w
        .cfpd(&["proposals", "show", "P-0001"])
        .contains("Title: Better forms"));
    // Arrived on day 31: expired.
    let withdraw = reply("ada@example.org", &ack, "w@example.org", "withdraw");
    w.dovecot.append_at("cfp", &withdraw, day(31)).await;
    w.cfpd_at(&day(31).to_rfc3339(), &["run", "--once"]);
    let m = w.messages().await;
    assert_eq!(m[2].reason.as_deref(), Some("token_expired"), "{m:?}");
    assert!(!w.cfpd(&["proposals", "list"]).contains("withdrawn"));
    let inbox = w.dovecot.wait_for("ada", 3, T).await;
    let told = body(&inbox[2]);
    assert!(
        told.contains("no longer in use") && told.contains("30 days"),
        "{told}"
    );
    assert!(told.lines().all(|l| l.chars().count() <= 78), "{told}");
}
