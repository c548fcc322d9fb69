//! Reminders on real servers (Dovecot, an SMTP server, SQLite or PostgreSQL),
//! with time driven through `CFPD_FAKE_NOW` (`cfpd run --once` at chosen
//! instants) or a `ManualClock` given to an in-process daemon.
//!
//! DjangoCon US 2024's CFP closed April 24, 2024, Anywhere on Earth:
//! 2024-04-24T23:59:59 AoE is 2024-04-25T11:59:59Z, and 09:00 AoE is 21:00Z.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cfpd::store::reminders::LedgerEntry;
use support::*;

/// A world whose CFP closes on DjangoCon US 2024's deadline; `conference`
/// lines go into `[conference]`, `extra` at the end of the file.
async fn world(conference: &str, extra: &str) -> World {
    let w = World::start(extra).await;
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "cfp_deadline = \"2099-04-24T23:59:59\"",
        &format!("cfp_deadline = \"2024-04-24T23:59:59\"\n{conference}"),
    );
    std::fs::write(&w.config, cfg).unwrap();
    w
}

/// A proposal missing Audience, Abstract and Description: a draft.
fn draft_body(title: &str) -> String {
    format!("Title: {title}\nFormat: talk-25\n")
}

const COMPLETION: &str =
    "Audience: beginner\nAbstract:\n  Now it has an abstract.\nDescription:\n  And a description.";

async fn propose(w: &World, from: &str, mid: &str, body: &str) {
    w.dovecot
        .append("cfp", &mail(from, CFP, mid, "p", body))
        .await;
}

fn subject(raw: &[u8]) -> String {
    parsed(raw).subject().unwrap_or("").to_string()
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .replace("\r\n ", " ");
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The reminders (auto-generated mail with "Reminder"/"Overdue" subjects) in a user's inbox.
async fn reminders_of(w: &World, user: &str) -> Vec<Vec<u8>> {
    w.dovecot
        .fetch_all(user, "INBOX")
        .await
        .into_iter()
        .filter(|m| {
            let s = subject(m);
            s.contains("Reminder:") || s.contains("Overdue:")
        })
        .collect()
}

async fn ledger(w: &World) -> Vec<LedgerEntry> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let l = cfpd::store::reminders::ledger(&mut c).await.unwrap();
    drop(c);
    store.close().await;
    l
}

fn at(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// Every `cfp+<token>@conf.example` address in a text.
fn token_addresses(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"cfp\+[a-z2-7]{32}@conf\.example").unwrap();
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_are_reminded_once_per_person_listing_all_and_completed_ones_are_skipped() {
    if !servers_available() {
        return;
    }
    let w = world("", "").await;
    propose(
        &w,
        "Ada <ada@example.org>",
        "d1@x",
        &draft_body("First draft"),
    )
    .await;
    propose(
        &w,
        "Ada <ada@example.org>",
        "d2@x",
        &draft_body("Second draft"),
    )
    .await;
    propose(&w, "bob@example.org", "d3@x", &draft_body("Bob's draft")).await;
    propose(
        &w,
        "carol@example.org",
        "d4@x",
        &proposal_body("Complete from the start"),
    )
    .await;
    w.cfpd_at("2024-04-10T00:00:00Z", &["run", "--once"]);
    // Bob completes his draft by replying to the draft reply.
    let bob_draft = w
        .dovecot
        .wait_for("bob", 1, Duration::from_secs(20))
        .await
        .remove(0);
    w.dovecot
        .append(
            "cfp",
            &reply("bob@example.org", &bob_draft, "d5@x", COMPLETION),
        )
        .await;
    w.cfpd_at("2024-04-10T01:00:00Z", &["run", "--once"]);
    assert!(w
        .cfpd(&["proposals", "list"])
        .contains("P-0003   submitted"));

    // drafts-7d: 09:00 AoE on April 17 = 21:00 UTC.
    let out = w.cfpd_at("2024-04-17T21:00:00Z", &["run", "--once"]);
    assert!(out.contains("queued 1 reminder mail(s)"), "{out}");
    let ada = reminders_of(&w, "ada").await;
    assert_eq!(ada.len(), 1, "one mail for two drafts");
    let text = body(&ada[0]);
    assert!(
        text.contains("Your 2 proposals to TestConf are still drafts"),
        "{text}"
    );
    assert!(
        text.contains("P-0001 \"First draft\"") && text.contains("P-0002 \"Second draft\""),
        "{text}"
    );
    assert!(text.contains("Audience is missing."), "{text}");
    assert!(
        text.contains("2024-04-24 23:59 AoE (2024-04-25 11:59 UTC)"),
        "deadline in the zone and in UTC: {text}"
    );
    assert_eq!(
        header(&ada[0], "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let addrs = token_addresses(&text);
    assert_eq!(addrs.len(), 2, "a fresh reply address per draft: {text}");
    assert_ne!(addrs[0], addrs[1]);
    assert!(
        reminders_of(&w, "bob").await.is_empty(),
        "completed: no reminder"
    );
    assert!(
        reminders_of(&w, "carol").await.is_empty(),
        "complete: no reminder"
    );

    // Restarts at and after the occurrence send nothing again.
    w.cfpd_at("2024-04-17T21:00:00Z", &["run", "--once"]);
    w.cfpd_at("2024-04-18T03:00:00Z", &["run", "--once"]);
    assert_eq!(reminders_of(&w, "ada").await.len(), 1);

    // The reminder's address for P-0001 updates P-0001 (the fresh token works).
    let completion = format!(
        "From: Ada <ada@example.org>\r\nTo: {}\r\nSubject: completing\r\nMessage-ID: <d6@x>\r\n\r\n{}",
        addrs[0],
        COMPLETION.replace('\n', "\r\n")
    );
    w.dovecot.append("cfp", completion.as_bytes()).await;
    w.cfpd_at("2024-04-20T00:00:00Z", &["run", "--once"]);
    let list = w.cfpd(&["proposals", "list"]);
    assert!(
        list.contains("P-0001   submitted") && list.contains("P-0002   draft"),
        "{list}"
    );

    // drafts-1d lists only what is still a draft, and a single draft gets a Reply-To.
    w.cfpd_at("2024-04-23T21:00:00Z", &["run", "--once"]);
    let ada = reminders_of(&w, "ada").await;
    assert_eq!(ada.len(), 2);
    let text = body(&ada[1]);
    assert!(
        text.contains("P-0002") && !text.contains("P-0001"),
        "{text}"
    );
    assert!(subject(&ada[1]).contains("P-0002 is still a draft"));
    assert!(
        token_addresses(&reply_to(&ada[1])).len() == 1,
        "Reply-To carries the draft's token"
    );
    // After the deadline no draft reminder fires, whatever the cron says.
    w.cfpd_at("2024-04-26T00:00:00Z", &["run", "--once"]);
    assert_eq!(reminders_of(&w, "ada").await.len(), 2);
    let l = ledger(&w).await;
    let got: Vec<(&str, i64, &str)> = l
        .iter()
        .map(|e| (e.rule.as_str(), e.occurrence, e.recipient.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("drafts-7d", at("2024-04-17T21:00:00Z"), "ada@example.org"),
            ("drafts-1d", at("2024-04-23T21:00:00Z"), "ada@example.org"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn downtime_over_three_occurrences_catches_up_once_and_only_while_meaningful() {
    if !servers_available() {
        return;
    }
    let w = world(
        "",
        "\n[[reminders]]\nname = \"drafts-daily\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nfrom = \"-14d\"\n",
    )
    .await;
    propose(&w, "ada@example.org", "c1@x", &draft_body("Draft")).await;
    w.cfpd_at("2024-04-16T22:00:00Z", &["run", "--once"]);
    // Down from just after the April 16 occurrence until after the April 19 one:
    // April 17, 18 and 19 at 21:00 UTC were missed. One catch-up, for the 19th.
    let out = w.cfpd_at("2024-04-20T03:00:00Z", &["run", "--once"]);
    assert!(out.contains("queued 1 reminder mail(s)"), "{out}");
    assert_eq!(reminders_of(&w, "ada").await.len(), 1);
    let l = ledger(&w).await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].occurrence, at("2024-04-19T21:00:00Z"));
    // Running on normally: the next occurrence fires once.
    w.cfpd_at("2024-04-20T21:00:00Z", &["run", "--once"]);
    w.cfpd_at("2024-04-20T21:30:00Z", &["run", "--once"]);
    assert_eq!(reminders_of(&w, "ada").await.len(), 2);
    // Down again from April 21 until just after the deadline: the latest missed
    // occurrence (April 24, 21:00 UTC) was before the deadline, but reminding
    // now, after it, is pointless: nothing is sent.
    w.cfpd_at("2024-04-21T00:00:00Z", &["run", "--once"]);
    let out = w.cfpd_at("2024-04-25T12:00:00Z", &["run", "--once"]);
    assert!(!out.contains("reminder"), "{out}");
    assert_eq!(reminders_of(&w, "ada").await.len(), 2);
    assert_eq!(ledger(&w).await.len(), 2);
}

/// Parse `cfpd reminders --preview` lines into (UTC time, rule, status, to, items).
fn preview_rows(out: &str) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut rows: Vec<(String, String, String, String, Vec<String>)> = Vec::new();
    for line in out.lines() {
        if line.starts_with("2024-") {
            let f: Vec<&str> = line
                .split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            assert!(f.len() >= 6, "{line}");
            rows.push((
                f[1].to_string(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].to_string(),
                vec![f[5..].join("  ")],
            ));
        } else if line.starts_with("      ") {
            rows.last_mut().unwrap().4.push(line.trim().to_string());
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_equals_what_is_then_sent() {
    if !servers_available() {
        return;
    }
    let w = world(
        "chairs = [\"chair@conf.example\"]",
        "\n[[reminders]]\nname = \"drafts-daily\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nfrom = \"-3d\"\n\
         \n[[reminders]]\nname = \"digest\"\ncron = \"0 0 8 * * Mon-Fri\"\naudience = \"chairs\"\n",
    )
    .await;
    propose(&w, "ada@example.org", "p1@x", &draft_body("Ada one")).await;
    propose(&w, "ada@example.org", "p2@x", &draft_body("Ada two")).await;
    propose(&w, "bob@example.org", "p3@x", &draft_body("Bob one")).await;
    propose(
        &w,
        "carol@example.org",
        "p4@x",
        &proposal_body("Carol done"),
    )
    .await;
    w.cfpd_at("2024-04-20T00:00:00Z", &["run", "--once"]);
    let preview = w.cfpd_at(
        "2024-04-20T00:00:00Z",
        &[
            "reminders",
            "--preview",
            "--from",
            "2024-04-20",
            "--until",
            "2024-04-26",
        ],
    );
    let rows = preview_rows(&preview);
    // drafts-daily fires 09:00 AoE on April 22..24 (from -3d .. the deadline),
    // to Ada (two drafts) and Bob; the digest on weekdays 22..26.
    let drafts: Vec<_> = rows.iter().filter(|r| r.1 == "drafts-daily").collect();
    assert_eq!(drafts.len(), 6, "{preview}");
    assert!(drafts.iter().all(|r| r.2 == "planned"), "{preview}");
    let ada = drafts.iter().find(|r| r.3 == "ada@example.org").unwrap();
    assert_eq!(ada.4.len(), 2, "{preview}");
    assert!(!preview.contains("carol@example.org"), "{preview}");
    let digests: Vec<_> = rows.iter().filter(|r| r.1 == "digest").collect();
    assert_eq!(digests.len(), 5, "{preview}");
    assert!(
        preview.contains("11 mail(s) to 3 recipient(s): 0 sent, 0 due, 11 planned"),
        "{preview}"
    );

    // Let the time pass, stopping at every occurrence the preview listed.
    let mut times: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    times.sort();
    times.dedup();
    for t in times {
        let rfc = format!("{}Z", t.trim_end_matches(" UTC").replace(' ', "T") + ":00");
        w.cfpd_at(&rfc, &["run", "--once"]);
    }
    // What was sent is exactly what was previewed.
    let l = ledger(&w).await;
    let mut sent: Vec<(String, String, String, Vec<String>)> = l
        .iter()
        .map(|e| {
            (
                cfpd::store::from_ms(e.occurrence)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string(),
                e.rule.clone(),
                e.recipient.clone(),
                e.items.clone(),
            )
        })
        .collect();
    let mut previewed: Vec<(String, String, String, Vec<String>)> = rows
        .iter()
        .map(|r| (r.0.clone(), r.1.clone(), r.3.clone(), r.4.clone()))
        .collect();
    sent.sort();
    previewed.sort();
    assert_eq!(sent, previewed);
    let mut per_person: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_person.entry(r.3.as_str()).or_default() += 1;
    }
    assert_eq!(
        reminders_of(&w, "ada").await.len(),
        per_person["ada@example.org"]
    );
    assert_eq!(
        reminders_of(&w, "bob").await.len(),
        per_person["bob@example.org"]
    );
    let chair = w.dovecot.fetch_all("chair", "INBOX").await;
    assert_eq!(chair.len(), per_person["chair@conf.example"]);
    // The same preview now reports every line as sent, unchanged.
    let again = w.cfpd_at(
        "2024-04-27T00:00:00Z",
        &[
            "reminders",
            "--preview",
            "--from",
            "2024-04-20",
            "--until",
            "2024-04-26",
        ],
    );
    let again_rows = preview_rows(&again);
    assert!(again_rows.iter().all(|r| r.2 == "sent"), "{again}");
    let strip = |rs: &[(String, String, String, String, Vec<String>)]| {
        rs.iter()
            .map(|r| (r.0.clone(), r.1.clone(), r.3.clone(), r.4.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again_rows), strip(&rows));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_rule_fires_once_a_day_at_the_right_local_time_across_dst() {
    if !servers_available() {
        return;
    }
    let w = World::start(
        "\n[[reminders]]\nname = \"nightly\"\ncron = \"0 30 2 * * *\"\naudience = \"draft_speakers\"\nfrom = \"-300d\"\n",
    )
    .await;
    let cfg = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("time_zone = \"AoE\"", "time_zone = \"America/New_York\"")
        .replace("2099-04-24T23:59:59", "2024-12-01T23:59:59");
    std::fs::write(&w.config, cfg).unwrap();
    propose(&w, "ada@example.org", "n1@x", &draft_body("Night owl")).await;
    // Spring forward, March 10: 02:30 does not exist; it fires once, at 03:30 EDT (07:30 UTC).
    for t in [
        "2024-03-10T00:00:00Z",
        "2024-03-10T07:29:59Z",
        "2024-03-10T07:30:00Z",
        "2024-03-10T08:30:00Z",
        "2024-03-11T06:29:59Z",
        "2024-03-11T06:30:00Z", // 02:30 EDT
        "2024-11-02T00:00:00Z",
        // Fall back, November 3: 01:30 happens twice, 02:30 once, at 07:30 UTC.
        "2024-11-03T05:30:00Z",
        "2024-11-03T06:30:00Z",
        "2024-11-03T07:29:59Z",
        "2024-11-03T07:30:00Z",
        "2024-11-03T08:30:00Z",
    ] {
        w.cfpd_at(t, &["run", "--once"]);
    }
    let got: Vec<i64> = ledger(&w).await.iter().map(|e| e.occurrence).collect();
    assert_eq!(
        got,
        [
            at("2024-03-10T07:30:00Z"),
            at("2024-03-11T06:30:00Z"),
            // The November 2 run catches up once, with the latest missed occurrence.
            at("2024-11-01T06:30:00Z"),
            at("2024-11-02T06:30:00Z"), // 02:30 EDT
            at("2024-11-03T07:30:00Z"), // 02:30 EST, not 01:30 EST (06:30 UTC)
        ]
    );
    assert_eq!(reminders_of(&w, "ada").await.len(), 5);
}

fn daemon_at(w: &World, now: &str) -> Daemon {
    Daemon(
        std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&w.config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .env("CFPD_FAKE_NOW", now)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("spawn cfpd run"),
    )
}

fn stop(mut child: Daemon) {
    // SIGTERM: the daemon finishes what it is doing and exits.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_restarted_across_an_occurrence_sends_once() {
    if !servers_available() {
        return;
    }
    let w = world("", "").await;
    propose(&w, "ada@example.org", "r1@x", &draft_body("Restart me")).await;
    // Up before the drafts-7d occurrence (21:00 UTC on April 17) …
    w.progress();
    let since = chrono::Utc::now();
    let d = daemon_at(&w, "2024-04-17T20:00:00Z");
    w.dovecot.wait_for("ada", 1, Duration::from_secs(20)).await;
    w.polled_since(since).await;
    w.settled().await;
    stop(d);
    assert!(reminders_of(&w, "ada").await.is_empty());
    // … down over it, up again after: the occurrence fires once.
    let d = daemon_at(&w, "2024-04-17T22:00:00Z");
    let inbox = w.dovecot.wait_for("ada", 2, Duration::from_secs(20)).await;
    assert_eq!(inbox.len(), 2);
    stop(d);
    // Killed hard and restarted: nothing again.
    let since = chrono::Utc::now();
    let mut d = daemon_at(&w, "2024-04-17T23:00:00Z");
    w.polled_since(since).await;
    w.settled().await;
    let _ = d.kill();
    let _ = d.wait();
    // The new one takes over once the killed one's lease has expired.
    let since = chrono::Utc::now();
    let d = daemon_at(&w, "2024-04-18T01:00:00Z");
    w.polled_since(since).await;
    w.settled().await;
    stop(d);
    assert_eq!(reminders_of(&w, "ada").await.len(), 1);
    assert_eq!(ledger(&w).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_wakes_when_its_clock_reaches_an_occurrence() {
    if !servers_available() {
        return;
    }
    let w = world("", "").await;
    propose(&w, "ada@example.org", "m1@x", &draft_body("Clockwork")).await;
    let o: chrono::DateTime<chrono::Utc> = "2024-04-17T21:00:00Z".parse().unwrap();
    let clock = cfpd::clock::ManualClock::new(o - chrono::Duration::seconds(1));
    let cfg = cfpd::config::Config::load(&w.config).unwrap();
    let app = cfpd::daemon::App::build(cfg, Arc::new(clock.clone()))
        .await
        .unwrap();
    let (tx, _) = tokio::sync::broadcast::channel(1);
    let daemon = tokio::spawn(app.run(tx.clone()));
    w.dovecot.wait_for("ada", 1, Duration::from_secs(20)).await;
    // The scheduler sleeps until the next occurrence, one second away; the
    // clock reaches it meanwhile.
    clock.set(o);
    let inbox = w.dovecot.wait_for("ada", 2, Duration::from_secs(20)).await;
    assert_eq!(inbox.len(), 2, "the reminder arrived");
    assert!(subject(&inbox[1]).contains("Reminder: P-0001 is still a draft"));
    clock.advance(chrono::Duration::hours(2));
    w.settled().await;
    let _ = tx.send(());
    daemon.await.unwrap().unwrap();
    assert_eq!(reminders_of(&w, "ada").await.len(), 1);
}

/// Three proposals, three reviewers, two reviewers per proposal: everyone
/// reviews two. Returns the reviewers' user names by address.
async fn assigned_world(extra_conference: &str) -> World {
    let w = world(
        &format!("review_deadline = \"2024-05-20T23:59:59\"\n{extra_conference}"),
        "[review]\nreviewers_per_proposal = 2\n",
    )
    .await;
    for (i, (from, title)) in [
        ("ada@uni.edu", "HTMX at scale"),
        ("bob@corp.example", "ORM tricks"),
        ("carol@else.example", "Stopping fraud"),
    ]
    .iter()
    .enumerate()
    {
        propose(&w, from, &format!("rv{i}@x"), &proposal_body(title)).await;
    }
    w.cfpd_at("2024-04-20T00:00:00Z", &["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@r.example,Rita,frontend,2\nsam@s.example,Sam,frontend,2\ntom@t.example,Tom,frontend,2\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(out.contains("6 mail(s) queued"), "{out}");
    w.cfpd_at("2024-05-01T00:00:00Z", &["run", "--once"]);
    w
}

async fn set_assignment_state(w: &World, reviewer: &str, proposal: Option<i64>, state: &str) {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let reviewers = cfpd::store::review::reviewers(&mut c).await.unwrap();
    let rid = reviewers.iter().find(|r| r.email == reviewer).unwrap().id;
    let sql = match proposal {
        Some(_) => "UPDATE assignments SET state = $1 WHERE reviewer_id = $2 AND proposal_id = $3",
        None => "UPDATE assignments SET state = $1 WHERE reviewer_id = $2 AND proposal_id <> $3",
    };
    let r = sqlx::query(sql)
        .bind(state)
        .bind(rid)
        .bind(proposal.unwrap_or(0))
        .execute(&mut *c)
        .await
        .unwrap();
    assert!(r.rows_affected() >= 1);
    drop(c);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_reviewers_are_reminded_with_working_tokens_and_declined_ones_are_skipped() {
    if !servers_available() {
        return;
    }
    let w = assigned_world("").await;
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let sam_assignments: Vec<i64> = {
        let rs = cfpd::store::review::reviewers(&mut c).await.unwrap();
        let sam = rs.iter().find(|r| r.email == "sam@s.example").unwrap().id;
        cfpd::store::review::assignments(&mut c)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.reviewer_id == sam)
            .map(|a| a.proposal_id)
            .collect()
    };
    drop(c);
    assert_eq!(sam_assignments.len(), 2);
    // Rita declined everything; Sam one of his two (a conflict).
    set_assignment_state(&w, "rita@r.example", None, "declined").await;
    set_assignment_state(&w, "sam@s.example", Some(sam_assignments[0]), "conflict").await;

    // reviews-3d: 09:00 AoE on May 17.
    w.cfpd_at("2024-05-17T21:00:00Z", &["run", "--once"]);
    assert!(
        reminders_of(&w, "rita").await.is_empty(),
        "declined: nothing pending"
    );
    let sam = reminders_of(&w, "sam").await;
    assert_eq!(sam.len(), 1);
    let text = body(&sam[0]);
    let kept = cfpd::proposal::reference(sam_assignments[1]);
    let dropped = cfpd::proposal::reference(sam_assignments[0]);
    assert!(text.contains(&kept) && !text.contains(&dropped), "{text}");
    assert!(
        text.contains("2024-05-20 23:59 AoE (2024-05-21 11:59 UTC)"),
        "{text}"
    );
    assert!(subject(&sam[0]).contains(&format!("your review of {kept} is pending")));
    let tom = reminders_of(&w, "tom").await;
    assert_eq!(tom.len(), 1, "one mail for two reviews");
    let text = body(&tom[0]);
    assert!(text.contains("These 2 reviews are still pending"), "{text}");
    // Each listed review has a fresh token bound to the reviewer and that assignment.
    let mut c = store.pool.acquire().await.unwrap();
    let assignments = cfpd::store::review::assignments(&mut c).await.unwrap();
    for addr in token_addresses(&text) {
        let secret = addr.trim_start_matches("cfp+").split('@').next().unwrap();
        let t = cfpd::store::proposals::lookup_token(&mut c, &cfpd::token::hash(secret))
            .await
            .unwrap()
            .expect("token stored");
        assert_eq!(t.kind, cfpd::store::proposals::TokenKind::Assignment);
        assert_eq!(t.bound_address, "tom@t.example");
        let a = assignments
            .iter()
            .find(|a| Some(a.id) == t.assignment_id)
            .unwrap();
        assert_eq!(Some(a.proposal_id), t.proposal_id);
        assert!(text.contains(&cfpd::proposal::reference(a.proposal_id)));
    }
    drop(c);
    store.close().await;

    // Tom reviews one of the two by replying to the reminder's address for it:
    // a recorded review is no longer pending.
    let first = token_addresses(&text)[0].clone();
    let reviewed = {
        let mut c = w.store().await.pool.acquire().await.unwrap();
        let secret = first
            .trim_start_matches("cfp+")
            .split('@')
            .next()
            .unwrap()
            .to_string();
        cfpd::store::proposals::lookup_token(&mut c, &cfpd::token::hash(&secret))
            .await
            .unwrap()
            .unwrap()
            .proposal_id
            .unwrap()
    };
    w.dovecot
        .append(
            "cfp",
            &mail(
                "Tom <tom@t.example>",
                &first,
                "tom-review@t.example",
                "Re: reminder",
                "Score: 4\nComments for the speaker: Clear and useful.\n",
            ),
        )
        .await;
    w.cfpd_at("2024-05-19T00:00:00Z", &["run", "--once"]);

    // Just after the deadline: "overdue", only for what is still pending.
    w.cfpd_at("2024-05-21T21:00:00Z", &["run", "--once"]);
    let tom = reminders_of(&w, "tom").await;
    assert_eq!(
        tom.len(),
        2,
        "reviews-1d was skipped (downtime), overdue fired"
    );
    let overdue = body(&tom[1]);
    assert!(
        !overdue.contains(&cfpd::proposal::reference(reviewed)),
        "the reviewed proposal is not listed as overdue: {overdue}"
    );
    assert!(subject(&tom[1]).contains("Overdue"), "{}", subject(&tom[1]));
    assert!(body(&tom[1]).contains("The review deadline for TestConf was"));
    assert!(reminders_of(&w, "rita").await.is_empty());
    // Past the "just after" window nothing more, even with pending reviews.
    w.cfpd_at("2024-06-01T00:00:00Z", &["run", "--once"]);
    assert_eq!(reminders_of(&w, "tom").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn chairs_digest_counts_topics_statuses_bounces_declines_and_overdue_reviewers() {
    if !servers_available() {
        return;
    }
    let w = assigned_world("chairs = [\"chair@conf.example\", \"cochair@conf.example\"]").await;
    propose(&w, "dan@example.org", "dg1@x", &draft_body("A draft")).await;
    let dsn = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: cfp@conf.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
Final-Recipient: rfc822; gone@nowhere.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n";
    w.dovecot.append("cfp", dsn.as_bytes()).await;
    w.cfpd_at("2024-05-02T00:00:00Z", &["run", "--once"]);
    set_assignment_state(&w, "rita@r.example", None, "declined").await;
    // The chairs-digest rule fires daily at 08:00 AoE (20:00 UTC); after the
    // review deadline it names the overdue reviewers.
    w.cfpd_at("2024-05-21T20:00:00Z", &["run", "--once"]);
    for chair in ["chair", "cochair"] {
        let inbox: Vec<_> = w
            .dovecot
            .fetch_all(chair, "INBOX")
            .await
            .into_iter()
            .filter(|m| subject(m).contains("Digest 2024-05-21"))
            .collect();
        assert_eq!(inbox.len(), 1, "one digest per chair per occurrence");
        let text = body(&inbox[0]);
        assert!(
            subject(&inbox[0])
                .contains("Digest 2024-05-21: 4 proposal(s), 1 bounce(s), 2 overdue reviewer(s)"),
            "{}",
            subject(&inbox[0])
        );
        assert!(
            text.contains("Proposals: 4 (3 submitted, 1 late)"),
            "{text}"
        );
        assert!(
            text.contains("Reviews pending: 4 (2 reviewer(s))"),
            "{text}"
        );
        assert!(
            text.contains(
                "HTMX, Alpine, Tailwind and other fronte…         3     0    0         0"
            ),
            "{text}"
        );
        // The DSN arrived at 2024-05-02T00:00Z, after the May 1 digest (20:00 UTC).
        assert!(
            text.contains("Bounces since 2024-05-01 08:00 AoE: 1"),
            "{text}"
        );
        assert!(
            text.contains("mailer-daemon@mx.example") || text.contains("MAILER-DAEMON@mx.example"),
            "{text}"
        );
        assert!(text.contains("Declines and conflicts: 2"), "{text}");
        assert!(text.contains("rita@r.example  declined"), "{text}");
        assert!(text.contains("Overdue reviewers"), "{text}");
        assert!(
            text.contains("sam@s.example: 2 pending") && text.contains("tom@t.example: 2 pending"),
            "{text}"
        );
        assert!(!text.contains("rita@r.example: "), "{text}");
    }
    // The next digest counts bounces since the previous one.
    w.cfpd_at("2024-05-22T20:00:00Z", &["run", "--once"]);
    let inbox = w.dovecot.fetch_all("chair", "INBOX").await;
    let last = inbox.last().unwrap();
    assert!(
        subject(last).contains("Digest 2024-05-22"),
        "{}",
        subject(last)
    );
    let text = body(last);
    assert!(
        text.contains("Bounces since 2024-05-21 08:00 AoE: 0"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn last_call_carries_list_unsubscribe_and_unsubscribing_is_honoured() {
    if !servers_available() {
        return;
    }
    let w = world(
        "",
        "\n[announce]\naddresses = [\"news@lists.example\", \"fan@example.org\"]\n\
         \n[[reminders]]\nname = \"last-call\"\ncron = \"0 0 9 20,23 Apr * 2024\"\naudience = \"announce\"\n",
    )
    .await;
    w.cfpd_at("2024-04-19T00:00:00Z", &["run", "--once"]);
    w.cfpd_at("2024-04-20T21:00:00Z", &["run", "--once"]);
    let fan = w.dovecot.wait_for("fan", 1, Duration::from_secs(20)).await;
    assert_eq!(fan.len(), 1);
    assert!(
        subject(&fan[0]).contains("Last call for proposals: the CFP closes 2024-04-24 23:59 AoE")
    );
    let text = body(&fan[0]);
    assert!(
        text.contains("closes 2024-04-24 23:59 AoE (2024-04-25 11:59 UTC)"),
        "{text}"
    );
    let lu = header(&fan[0], "List-Unsubscribe").expect("List-Unsubscribe header");
    let re =
        regex::Regex::new(r"^<mailto:(cfp\+u-[a-z2-7]{32}@conf\.example)\?subject=unsubscribe>$")
            .unwrap();
    let unsub = re.captures(&lu).unwrap_or_else(|| panic!("{lu}"))[1].to_string();
    assert!(text.contains(&unsub), "{text}");
    let news = w.dovecot.fetch_all("news", "INBOX").await;
    assert_eq!(news.len(), 1);
    assert_ne!(
        header(&news[0], "List-Unsubscribe").unwrap(),
        lu,
        "one token per address"
    );

    // The fan's mail client sends the unsubscribe request (any sender works:
    // the address itself is the secret).
    let req = format!(
        "From: Fan <fan.personal@elsewhere.example>\r\nTo: {unsub}\r\nSubject: unsubscribe\r\nMessage-ID: <u1@x>\r\n\r\nunsubscribe\r\n"
    );
    w.dovecot.append("cfp", req.as_bytes()).await;
    // And someone guesses an unsubscribe address: recorded, nobody unsubscribed.
    let guess = "From: x@example.org\r\nTo: cfp+u-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@conf.example\r\nSubject: unsubscribe\r\nMessage-ID: <u2@x>\r\n\r\nunsubscribe\r\n";
    w.dovecot.append("cfp", guess.as_bytes()).await;
    w.cfpd_at("2024-04-21T00:00:00Z", &["run", "--once"]);
    let msgs = w.cfpd(&["messages"]);
    assert!(msgs.contains("unsubscribed    unsubscribe"), "{msgs}");
    assert!(
        msgs.contains("rejected        unknown_unsubscribe_token"),
        "{msgs}"
    );
    assert_eq!(
        w.dovecot.count("fan.personal", "INBOX").await,
        0,
        "no reply"
    );
    assert_eq!(w.dovecot.count("x", "INBOX").await, 0, "no reply");
    let preview = w.cfpd_at("2024-04-21T00:00:00Z", &["reminders", "--preview"]);
    assert!(
        preview.contains("news@lists.example") && !preview.contains("fan@example.org"),
        "{preview}"
    );
    w.cfpd_at("2024-04-23T21:00:00Z", &["run", "--once"]);
    assert_eq!(w.dovecot.fetch_all("news", "INBOX").await.len(), 2);
    assert_eq!(
        w.dovecot.fetch_all("fan", "INBOX").await.len(),
        1,
        "unsubscribed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_firing_the_same_occurrence_mail_once() {
    if !servers_available() {
        return;
    }
    let w = world("", "").await;
    for (i, who) in ["ada", "bob", "carol", "dan", "eve"].iter().enumerate() {
        propose(
            &w,
            &format!("{who}@example.org"),
            &format!("t{i}@x"),
            &draft_body(who),
        )
        .await;
    }
    w.cfpd_at("2024-04-17T00:00:00Z", &["run", "--once"]);
    // Two instances on the same database, both at the drafts-7d occurrence.
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&w.config)
            .args(["run", "--once"])
            .env("RUST_LOG", "warn")
            .env("CFPD_FAKE_NOW", "2024-04-17T21:00:00Z")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let l = ledger(&w).await;
    assert_eq!(l.len(), 5, "one ledger row per speaker");
    for who in ["ada", "bob", "carol", "dan", "eve"] {
        assert_eq!(reminders_of(&w, who).await.len(), 1, "{who}");
    }
}
