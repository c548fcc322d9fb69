//! Crashes and outages on real servers (issue 7): kill -9 the daemon again and
//! again in a 2,000-message backlog, restart Dovecot under it, stop the SMTP
//! server for a while, and (on PostgreSQL) run two daemons against one
//! database and kill the one holding the lease. After each: every message in
//! exactly one terminal state, every ack in its speaker's mailbox at most once
//! (by Message-ID and by content), nothing left queued.

mod support;

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use rand::Rng;
use sha2::Digest;
use sqlx::Row;
use support::metrics::{num, scrape, scrape_until};
use support::*;

fn proposals(n: usize, speakers: usize, tag: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            mail(
                &format!("s{}@example.org", i % speakers),
                CFP,
                &format!("{tag}{i}@x"),
                "p",
                &proposal_body(&format!("Talk {tag} {i}")),
            )
        })
        .collect()
}

/// (state of every message, (outbox state, Message-ID of the ack, In-Reply-To)).
async fn db_states(store: &cfpd::store::Store) -> (Vec<String>, Vec<(String, Option<String>)>) {
    let mut c = store.pool.acquire().await.unwrap();
    let msgs = cfpd::store::messages::list(&mut c).await.unwrap();
    let rows = sqlx::query(
        "SELECT o.state, m.message_id FROM outbox o LEFT JOIN messages m ON m.id = o.cause_message ORDER BY o.id",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    (
        msgs.into_iter().map(|m| m.state.to_string()).collect(),
        rows.iter()
            .map(|r| (r.get("state"), r.get("message_id")))
            .collect(),
    )
}

/// Poll until every message is terminal and nothing is queued or in flight.
async fn wait_settled(store: &cfpd::store::Store, n: usize) {
    let start = Instant::now();
    loop {
        let (msgs, outbox) = db_states(store).await;
        let done = msgs.len() == n
            && msgs.iter().all(|s| s != "received")
            && outbox.iter().all(|(s, _)| s != "queued" && s != "sending");
        if done {
            return;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "not settled: {} messages, {} received, outbox {:?}",
            msgs.len(),
            msgs.iter().filter(|s| *s == "received").count(),
            count_by(outbox.iter().map(|(s, _)| s.clone()))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count_by(it: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for s in it {
        *m.entry(s).or_default() += 1;
    }
    m
}

/// What the speakers received: In-Reply-To of each ack, and duplicates by
/// Message-ID and by body hash.
struct Received {
    in_reply_to: HashMap<String, usize>,
    twice_by_id: Vec<String>,
    twice_by_content: usize,
}

async fn received(w: &World, speakers: usize) -> Received {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut hashes: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut in_reply_to: HashMap<String, usize> = HashMap::new();
    for s in 0..speakers {
        for raw in w.dovecot.fetch_all(&format!("s{s}"), "INBOX").await {
            *ids.entry(message_id(&raw)).or_default() += 1;
            *hashes
                .entry(sha2::Sha256::digest(body(&raw).as_bytes()).to_vec())
                .or_default() += 1;
            let irt = parsed(&raw).in_reply_to().as_text().unwrap().to_string();
            *in_reply_to.entry(irt).or_default() += 1;
        }
    }
    Received {
        in_reply_to,
        twice_by_id: ids
            .into_iter()
            .filter(|(_, c)| *c > 1)
            .map(|(k, _)| k)
            .collect(),
        twice_by_content: hashes.values().filter(|c| **c > 1).count(),
    }
}

/// Check the end state of a run with `n` proposals; returns how many acks ended `uncertain`.
async fn assert_exactly_once(
    w: &World,
    store: &cfpd::store::Store,
    n: usize,
    speakers: usize,
) -> usize {
    let (msgs, outbox) = db_states(store).await;
    assert_eq!(msgs.len(), n, "one row per message");
    let states = count_by(msgs.into_iter());
    assert_eq!(
        states.get("accepted"),
        Some(&n),
        "every proposal accepted exactly once: {states:?}"
    );
    assert_eq!(outbox.len(), n, "one ack per proposal");
    let by_state = count_by(outbox.iter().map(|(s, _)| s.clone()));
    let uncertain = by_state.get("uncertain").copied().unwrap_or(0);
    assert_eq!(
        by_state.get("sent").copied().unwrap_or(0) + uncertain,
        n,
        "every ack sent, or uncertain after a kill mid-send: {by_state:?}"
    );
    // The list of queued mail the triggers keep (migration 0022) followed
    // every claim and settlement, across the kills: nothing is left on it.
    let due: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox_due")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(due, 0, "no mail is queued, so none is listed as due");
    let got = received(w, speakers).await;
    assert!(
        got.twice_by_id.is_empty(),
        "acks delivered twice (by Message-ID): {:?}",
        got.twice_by_id
    );
    assert_eq!(got.twice_by_content, 0, "acks delivered twice (by content)");
    let twice: Vec<_> = got.in_reply_to.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "a proposal acknowledged twice: {twice:?}");
    // Every ack recorded as sent is in its speaker's mailbox; uncertain ones may or may not be.
    let mut uncertain_delivered = 0;
    for (state, mid) in &outbox {
        let mid = mid.as_deref().expect("ack caused by a message");
        let seen = got
            .in_reply_to
            .get(&format!("<{mid}>"))
            .or(got.in_reply_to.get(mid))
            .copied()
            .unwrap_or(0);
        match state.as_str() {
            "sent" => assert_eq!(seen, 1, "sent ack for {mid} delivered once"),
            "uncertain" => {
                assert!(seen <= 1);
                uncertain_delivered += seen;
            }
            other => panic!("ack for {mid} left {other}"),
        }
    }
    assert_eq!(
        w.dovecot.count("cfp", "INBOX").await,
        0,
        "nothing left unprocessed in INBOX"
    );
    assert_eq!(w.dovecot.count("cfp", "Processed").await as usize, n);
    if uncertain > 0 {
        eprintln!("uncertain acks: {uncertain}, of which delivered before the kill: {uncertain_delivered}");
    }
    uncertain_are_impossible_to_miss(w, store, uncertain).await;
    uncertain
}

/// Every mail that may not have arrived is named to the chair: `cfpd status`
/// exits 2 with an ATTENTION line counting them, and `cfpd outbox --uncertain`
/// lists each by Message-ID (what the chair searches their Sent copy for).
async fn uncertain_are_impossible_to_miss(w: &World, store: &cfpd::store::Store, uncertain: usize) {
    let status = w.cfpd_raw(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    if uncertain == 0 {
        assert!(!text.contains("may not have arrived"), "{text}");
        return;
    }
    assert_eq!(status.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "ATTENTION    {uncertain} mail(s) may not have arrived"
        )),
        "{text}"
    );
    let mut c = store.pool.acquire().await.unwrap();
    let ids: Vec<String> = sqlx::query("SELECT message_id FROM outbox WHERE state = 'uncertain'")
        .fetch_all(&mut *c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("message_id"))
        .collect();
    let listing = w.cfpd(&["outbox", "--uncertain"]);
    for id in &ids {
        assert!(listing.contains(id.as_str()), "{id} not listed:\n{listing}");
    }
}

/// The pid in the current lease holder's id (`host:pidns:pid:random`), if any.
async fn lease_pid(store: &cfpd::store::Store) -> Option<u32> {
    let mut c = store.pool.acquire().await.unwrap();
    let (holder, left) = cfpd::store::lease::holder(&mut c, store.backend, cfpd::lease::DAEMON)
        .await
        .unwrap()?;
    (left > 0).then(|| holder.rsplit(':').nth(1)?.parse().ok())?
}

async fn wait_holder(store: &cfpd::store::Store, pid: u32, d: &mut Child) {
    let start = Instant::now();
    while lease_pid(store).await != Some(pid) {
        assert!(
            d.try_wait().unwrap().is_none(),
            "daemon exited while waiting for the lease"
        );
        assert!(
            start.elapsed() < PATIENCE,
            "daemon {pid} never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a kill loop did.
struct KillReport {
    seed: u64,
    kills: usize,
    /// Kills that found work in flight: a message not yet terminal, or a
    /// mail queued or being sent.
    busy_kills: usize,
    messages: usize,
    uncertain: usize,
    wall: Duration,
}

/// Deliver `n` proposals, kill -9 the daemon `kills` times at random points of
/// its work (seeded; `CFPD_FAULT_SEED` replays a run), restart it each time,
/// let the last one finish, and check that nothing was lost or sent twice.
async fn kill_loop(n: usize, speakers: usize, kills: usize) -> KillReport {
    // A short lease so that each restart takes over quickly after a kill.
    let w =
        World::start("lease_seconds = 2\n[limits]\nreplies_per_address_per_day = 1000000\n").await;
    // Half the backlog at once, the rest in slices before each restart, so
    // that kills keep landing while mail is being processed and sent.
    let all = proposals(n, speakers, "k");
    let (first, rest) = all.split_at(n / 2);
    w.dovecot.deliver_maildir("cfp", first);
    let mut slices = rest.chunks(rest.len().div_ceil(kills.max(1)).max(1));
    let store = w.store().await;
    let (seed, mut rng) = fault_rng();
    let started = Instant::now();
    let mut busy_kills = 0;
    for _ in 0..kills {
        if let Some(slice) = slices.next() {
            w.dovecot.deliver_maildir("cfp", slice);
        }
        let mut d = w.spawn_daemon();
        // Kill at a random point of the work: once this process holds the lease.
        wait_holder(&store, d.id(), &mut d).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..600))).await;
        d.kill().unwrap();
        d.wait().unwrap();
        // The daemon is dead: what is unfinished now was in flight at the kill.
        let (msgs, outbox) = db_states(&store).await;
        let unfinished = msgs.iter().any(|s| s == "received")
            || outbox.iter().any(|(s, _)| s == "queued" || s == "sending")
            || w.dovecot.count("cfp", "INBOX").await > 0;
        busy_kills += usize::from(unfinished);
    }
    for slice in slices {
        w.dovecot.deliver_maildir("cfp", slice);
    }
    // The last restart runs to completion.
    let mut d = w.spawn_daemon();
    wait_settled(&store, n).await;
    sigterm(&mut d);
    let wall = started.elapsed();
    let uncertain = assert_exactly_once(&w, &store, n, speakers).await;
    KillReport {
        seed,
        kills,
        busy_kills,
        messages: n,
        uncertain,
        wall,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_ten_times_in_a_2000_message_backlog_loses_nothing_and_sends_nothing_twice() {
    need_servers!();
    let r = kill_loop(2000, 40, 10).await;
    eprintln!(
        "kill -9 x{}: {} messages, 0 lost, 0 duplicates, {} acks uncertain (in flight at a kill)",
        r.kills, r.messages, r.uncertain
    );
}

/// The soak benchmark (`scripts/soak.sh`): a longer kill loop and, on
/// PostgreSQL, the failover time with the default lease. Not part of the suite.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "soak benchmark: run through scripts/soak.sh"]
async fn soak() {
    need_servers!();
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let r = kill_loop(
        env("CFPD_SOAK_MESSAGES", 10_000),
        100,
        env("CFPD_SOAK_KILLS", 30),
    )
    .await;
    println!("SOAK backend={} seed={}", backend(), r.seed);
    println!(
        "SOAK kills survived: {} ({} with work in flight)",
        r.kills, r.busy_kills
    );
    println!(
        "SOAK messages processed: {} (each exactly one terminal state)",
        r.messages
    );
    println!("SOAK duplicates delivered: 0 (by Message-ID, content and In-Reply-To)");
    println!("SOAK lost: 0");
    println!(
        "SOAK acks uncertain (in flight at a kill, not resent): {}",
        r.uncertain
    );
    println!(
        "SOAK wall time incl. restarts: {:.1} s",
        r.wall.as_secs_f64()
    );
    if backend() == "postgres" {
        for round in 0..env("CFPD_SOAK_FAILOVERS", 3) {
            let t = failover().await;
            println!("SOAK failover {}: {:.1} s", round + 1, t.as_secs_f64());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_restarted_under_the_daemon_is_reconnected_and_mail_resumes() {
    need_servers!();
    let port = free_port();
    let mut w = World::start(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    let store = w.store().await;
    let mut d = w.spawn_daemon();
    w.dovecot.deliver_maildir("cfp", &proposals(5, 5, "a"));
    wait_settled(&store, 5).await;
    // Dovecot goes away (its sessions with it); mail keeps arriving on disk.
    let failed = |t: &str| num(t, "cfpd_poll_failures_total");
    let before = failed(&scrape(port).await);
    w.dovecot.stop();
    w.dovecot.deliver_maildir("cfp", &proposals(5, 5, "b"));
    scrape_until(port, "a poll failing while Dovecot is down", |t| {
        failed(t) > before
    })
    .await;
    assert!(
        d.try_wait().unwrap().is_none(),
        "the daemon survives the outage"
    );
    w.dovecot.restart();
    wait_settled(&store, 10).await;
    sigterm(&mut d);
    let uncertain = assert_exactly_once(&w, &store, 10, 5).await;
    assert_eq!(uncertain, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn acks_stay_queued_while_smtp_is_down_and_go_out_once_when_it_returns() {
    need_servers!();
    let port = free_port();
    let mut w = World::start(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    let store = w.store().await;
    w.smtp.stop();
    let mut d = w.spawn_daemon();
    let n = 20;
    w.dovecot.deliver_maildir("cfp", &proposals(n, 4, "q"));
    // Every proposal is accepted and its ack queued while the server is down.
    let start = Instant::now();
    loop {
        let (msgs, outbox) = db_states(&store).await;
        if msgs.len() == n && msgs.iter().all(|s| s == "accepted") && outbox.len() == n {
            assert!(outbox.iter().all(|(s, _)| s == "queued"), "{outbox:?}");
            break;
        }
        assert!(start.elapsed() < PATIENCE, "proposals not processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few sender rounds against the closed port change nothing.
    let failed = |t: &str| num(t, "cfpd_send_failures_total{kind=\"unreachable\"}");
    let before = failed(&scrape(port).await);
    scrape_until(port, "another round failing against the closed port", |t| {
        failed(t) > before
    })
    .await;
    let listing = w.cfpd(&["outbox"]);
    assert!(listing.contains("queued"), "{listing}");
    let (_, outbox) = db_states(&store).await;
    assert!(outbox.iter().all(|(s, _)| s == "queued"), "{outbox:?}");
    assert!(w.dovecot.fetch_all("s0", "INBOX").await.is_empty());
    w.smtp.restart();
    wait_settled(&store, n).await;
    sigterm(&mut d);
    let uncertain = assert_exactly_once(&w, &store, n, 4).await;
    assert_eq!(uncertain, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_daemons_on_postgres_one_holds_the_lease_and_the_other_takes_over() {
    need_servers!();
    if backend() != "postgres" {
        eprintln!("skipped: several instances need PostgreSQL (CFPD_TEST_DATABASE=postgres)");
        return;
    }
    let failover = failover().await;
    eprintln!(
        "failover after kill -9 of the holder: {:.1} s",
        failover.as_secs_f64()
    );
}

/// Two daemons, proposals, kill -9 the holder, more proposals: exactly one
/// holder at a time, nothing lost, nothing twice. Returns the failover time
/// (kill → the standby holds the lease).
async fn failover() -> Duration {
    // Default lease (15 s): the failover bound is measured with the shipped setting.
    let w = World::start("").await;
    let store = w.store().await;
    let mut a = w.spawn_daemon();
    wait_holder(&store, a.id(), &mut a).await;
    let mut b = w.spawn_daemon();
    w.dovecot.deliver_maildir("cfp", &proposals(50, 10, "a"));
    wait_settled(&store, 50).await;
    assert_eq!(
        lease_pid(&store).await,
        Some(a.id()),
        "the first daemon kept the lease"
    );
    let generation: i64 = sqlx::query("SELECT generation FROM leases")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get("generation");
    assert_eq!(generation, 1, "the standby never held the lease");
    let check = w.cfpd(&["check"]);
    assert!(
        check.contains("lease     held by ") && check.contains(&format!(":{}:", a.id())),
        "{check}"
    );
    a.kill().unwrap();
    a.wait().unwrap();
    let killed = Instant::now();
    w.dovecot.deliver_maildir("cfp", &proposals(50, 10, "b"));
    wait_holder(&store, b.id(), &mut b).await;
    let failover = killed.elapsed();
    assert!(
        failover < Duration::from_secs(30),
        "failover took {failover:?}"
    );
    wait_settled(&store, 100).await;
    sigterm(&mut b);
    let uncertain = assert_exactly_once(&w, &store, 100, 10).await;
    assert_eq!(uncertain, 0, "nothing was in flight at the kill");
    // Released on SIGTERM.
    assert_eq!(lease_pid(&store).await, None);
    assert!(w.cfpd(&["check"]).contains("lease     free"));
    failover
}

/// Item 6 of issue 14: a mail that may not have arrived (the daemon died
/// while the server was taking it) is impossible to miss and safe to resolve.
#[tokio::test(flavor = "multi_thread")]
async fn uncertain_mail_is_listed_by_status_and_digest_and_resolved_by_hand_exactly_once() {
    need_servers!();
    let mut w = World::start(
        "\n[[reminders]]\nname = \"digest\"\ncron = \"0 0 8 * * *\"\naudience = \"chairs\"\n",
    )
    .await;
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "cfp_deadline = \"2099-04-24T23:59:59\"",
        "cfp_deadline = \"2099-04-24T23:59:59\"\nchairs = [\"chair@conf.example\"]",
    );
    std::fs::write(&w.config, cfg).unwrap();
    let store = w.store().await;
    // Both acks are queued while the SMTP server is away ...
    w.smtp.stop();
    w.dovecot.deliver_maildir(
        "cfp",
        &[proposals(1, 1, "u")[0].clone(), {
            mail(
                "t1@example.org",
                CFP,
                "u1@x",
                "p",
                &proposal_body("Talk two"),
            )
        }],
    );
    w.cfpd(&["run", "--once"]);
    // ... and left `sending` by a process killed in the middle of the body.
    {
        let mut c = store.pool.acquire().await.unwrap();
        let n =
            sqlx::query("UPDATE outbox SET state = 'sending', attempts = 1 WHERE state = 'queued'")
                .execute(&mut *c)
                .await
                .unwrap()
                .rows_affected();
        assert_eq!(n, 2);
    }
    w.smtp.restart();
    // The next start marks them uncertain and sends neither.
    w.cfpd(&["run", "--once"]);
    let rows = w.outbox().await;
    assert!(rows.iter().all(|r| r.state == "uncertain"), "{rows:?}");
    let (a, b) = (&rows[0], &rows[1]);
    let mids: Vec<String> = {
        let mut c = store.pool.acquire().await.unwrap();
        cfpd::store::outbox::uncertain(&mut c, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.message_id)
            .collect()
    };
    assert_eq!(mids.len(), 2);
    // `cfpd status`: exit 2, an ATTENTION line, each mail with its Message-ID.
    let out = w.cfpd_raw(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("ATTENTION    2 mail(s) may not have arrived"),
        "{text}"
    );
    for (r, mid) in [(a, &mids[0]), (b, &mids[1])] {
        assert!(
            text.contains(&format!("mail {}  <{mid}>  to {}", r.id, r.recipient)),
            "{text}"
        );
    }
    // `cfpd outbox --uncertain`: the same mails, with the advice.
    let listing = w.cfpd(&["outbox", "--uncertain"]);
    assert!(listing.contains("search your Sent copy"), "{listing}");
    assert!(listing.contains(&format!("<{}>", mids[0])), "{listing}");
    assert!(listing.contains(&b.subject), "{listing}");
    // The chairs' digest lists them too.
    w.cfpd_at("2098-06-01T20:00:00Z", &["run", "--once"]);
    let digests = w.dovecot.fetch_all("chair", "INBOX").await;
    let digest = digests
        .iter()
        .find(|m| parsed(m).subject().unwrap_or("").contains("Digest"))
        .expect("a digest");
    let text = body(digest);
    assert!(
        text.contains("ATTENTION: 2 mail(s) may not have arrived"),
        "{text}"
    );
    assert!(
        text.contains(&format!("mail {}  <{}>  to {}", a.id, mids[0], a.recipient)),
        "{text}"
    );
    // Nothing reached either speaker yet.
    assert_eq!(w.dovecot.fetch_all("s0", "INBOX").await.len(), 0);
    assert_eq!(w.dovecot.fetch_all("t1", "INBOX").await.len(), 0);
    // Resend sends once; mark-sent never sends.
    w.cfpd(&["outbox", "--resend", &a.id.to_string()]);
    w.cfpd(&["outbox", "--mark-sent", &b.id.to_string()]);
    let again = w.cfpd_raw(&["outbox", "--resend", &b.id.to_string()]);
    assert!(!again.status.success(), "a resolved mail is not resent");
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let got = w.dovecot.fetch_all("s0", "INBOX").await;
    assert_eq!(got.len(), 1);
    assert_eq!(message_id(&got[0]), mids[0]);
    assert_eq!(w.dovecot.fetch_all("t1", "INBOX").await.len(), 0);
    let rows = w.outbox().await;
    assert!(rows.iter().take(2).all(|r| r.state == "sent"), "{rows:?}");
    let text = String::from_utf8_lossy(&w.cfpd_raw(&["status"]).stdout).into_owned();
    assert!(!text.contains("may not have arrived"), "{text}");
    assert!(!text.contains("uncertain    mail"), "{text}");
}
