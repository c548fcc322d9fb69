//! Intake benchmarks on real servers (not timed assertions: numbers for BENCHMARKS.md).
//!
//! `cargo bench --bench intake -- [backlog N | latency N | all]`
//!
//! - backlog: N proposal mails already in Dovecot → `cfpd run --once`
//!   (release build): intake rate (fetched, parsed, recorded, acks queued,
//!   filed to Processed), then the SMTP delivery rate of the acks, and peak
//!   RSS; beside it the ceiling: raw IMAP fetch + MIME parse of the same
//!   mailbox.
//! - latency: the daemon idles on the inbox; N proposals are APPENDed one at
//!   a time and the time until each ack is readable in the speaker's mailbox
//!   is recorded: p50 / p99.
//!
//! Database: SQLite, or PostgreSQL with `CFPD_TEST_DATABASE=postgres` and
//! `CFPD_TEST_PG_URL`. Needs Dovecot and python3-aiosmtpd (scripts/test.sh
//! installs them).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use support::*;

fn proposals(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            mail(
                &format!("Speaker {i} <s{}@example.org>", i % 1000),
                CFP,
                &format!("bench-{i}@example.org"),
                "Proposal",
                &format!(
                    "Hello,\n\nTitle: Scaling Django number {i}\nFormat: talk-25\nAudience: intermediate\nTopics: performance-scaling\nAbstract:\n  How we served thousands of users with caching, Celery background tasks\n  and read replicas, and what we would do differently.\nDescription:\n  1. Profiling the slow pages with django-debug-toolbar.\n  2. select_related and prefetch_related.\n  3. Caching with Redis; cache invalidation.\n  4. Celery for background work.\nBio:\n  Speaker {i} works on web performance.\n"
                ),
            )
        })
        .collect()
}

/// Bytes the daemon wrote to the file system (`/usr/bin/time -v` counts 512-byte blocks):
/// the database, its WAL and the journal, whatever the machine is doing besides.
fn fs_written_mib(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find(|l| l.contains("File system outputs"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|blocks| blocks * 512.0 / (1024.0 * 1024.0))
}

fn peak_rss_kib(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
}

/// Raw IMAP fetch + MIME parse (mail-parser) of the whole inbox: the ceiling.
async fn ceiling(w: &World, n: usize) -> f64 {
    let start = Instant::now();
    let mut s = w.dovecot.login("cfp").await;
    s.select("INBOX").await.unwrap();
    let mut parsed = 0;
    let mut lo = 1;
    while lo <= n {
        let hi = (lo + 499).min(n);
        let stream = s.fetch(format!("{lo}:{hi}"), "BODY.PEEK[]").await.unwrap();
        let items: Vec<_> = stream.try_collect().await.unwrap();
        for f in &items {
            if let Some(b) = f.body() {
                if mail_parser::MessageParser::default().parse(b).is_some() {
                    parsed += 1;
                }
            }
        }
        lo = hi + 1;
    }
    let _ = s.logout().await;
    assert_eq!(parsed, n);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Fetch variants against one mailbox, to find where the ceiling is.
async fn ceiling_only(n: usize) {
    let w = World::start("").await;
    w.dovecot.deliver_maildir("cfp", &proposals(n));
    assert_eq!(w.dovecot.count("cfp", "INBOX").await as usize, n);
    let _ = ceiling(&w, n).await;
    for _ in 0..3 {
        let t = Instant::now();
        let c = ceiling(&w, n).await;
        println!(
            "ceiling (chunks of 500, fetch+parse): {c:.0} msg/s in {:?}",
            t.elapsed()
        );
    }
    for chunk in [100usize, 1000, 10_000] {
        let mut s = w.dovecot.login("cfp").await;
        s.select("INBOX").await.unwrap();
        let t = Instant::now();
        let mut got = 0;
        let mut bytes = 0;
        let mut lo = 1;
        while lo <= n {
            let hi = (lo + chunk - 1).min(n);
            let stream = s
                .uid_fetch(format!("{lo}:{hi}"), "(UID BODY.PEEK[])")
                .await
                .unwrap();
            let items: Vec<_> = stream.try_collect().await.unwrap();
            got += items.len();
            bytes += items
                .iter()
                .filter_map(|f| f.body())
                .map(|b| b.len())
                .sum::<usize>();
            lo = hi + 1;
        }
        let e = t.elapsed();
        println!(
            "fetch only, chunks of {chunk}: {got} msgs, {} KiB, {:.0} msg/s",
            bytes / 1024,
            got as f64 / e.as_secs_f64()
        );
    }
    if let Ok(secs) = std::env::var("CFPD_BENCH_HOLD") {
        println!("IMAP port {} (user cfp / secret)", w.dovecot.imap_port);
        tokio::time::sleep(Duration::from_secs(secs.parse().unwrap())).await;
    }
}

async fn backlog(n: usize) {
    let w = World::start("[limits]\nreplies_per_address_per_day = 1000000\n").await;
    let cfg = std::fs::read_to_string(&w.config)
        .unwrap()
        // The default `[mailbox] batch_size` unless CFPD_BENCH_CHUNK names one.
        .replace(
            "batch_size = 200\n",
            &std::env::var("CFPD_BENCH_CHUNK")
                .map(|n| format!("batch_size = {n}\n"))
                .unwrap_or_default(),
        )
        .replace(
            "timeout_seconds = 10\n\n[outgoing]",
            "timeout_seconds = 60\n\n[outgoing]",
        )
        // Four SMTP connections unless CFPD_BENCH_CONNECTIONS names a number.
        .replace(
            "tls = \"none\"\ntimeout_seconds = 10\n",
            &format!(
                "tls = \"none\"\ntimeout_seconds = 60\nconnections = {}\n",
                std::env::var("CFPD_BENCH_CONNECTIONS").unwrap_or_else(|_| "4".into())
            ),
        );
    // CFPD_BENCH_NO_SEND=1: acks are written to a folder instead of sent, for
    // quicker runs when only the intake figure matters.
    let no_send = std::env::var("CFPD_BENCH_NO_SEND").is_ok();
    let cfg = if no_send {
        let start = cfg.find("[outgoing]").unwrap();
        let end = cfg.find("[database]").unwrap();
        let out = w.dir.path().join("sent");
        format!(
            "{}[outgoing]\nkind = \"folder\"\npath = \"{}\"\n\n{}",
            &cfg[..start],
            out.display(),
            &cfg[end..]
        )
    } else {
        cfg
    };
    std::fs::write(&w.config, cfg).unwrap();
    w.dovecot.deliver_maildir("cfp", &proposals(n));
    // Let Dovecot index the new mail once (as it would have, mail arriving over a week).
    assert_eq!(w.dovecot.count("cfp", "INBOX").await as usize, n);
    // The first pass makes Dovecot build its index and cache (as it would
    // have, mail arriving over a week); the second is the ceiling.
    let cold = ceiling(&w, n).await;
    let ceil = ceiling(&w, n).await;
    // CPU cost of cfpd's per-message preparation (parse + classify + proposal parse + tag), one core.
    {
        let raws = proposals(2000);
        let own = cfpd::intake::classify::OwnIdentity::new(CFP);
        let tagger = cfpd::topics::Tagger::new(cfpd::topics::TopicSet::default_set());
        let t = Instant::now();
        for r in &raws {
            let _ = mail_parser::MessageParser::default().parse(r);
        }
        let parse = t.elapsed() / raws.len() as u32;
        let t = Instant::now();
        let parsed: Vec<_> = raws
            .iter()
            .map(|r| cfpd::intake::inbound::parse(r, &own).unwrap())
            .collect();
        let classify = t.elapsed() / raws.len() as u32;
        let t = Instant::now();
        for i in &parsed {
            let f = cfpd::proposal::parse(
                &i.body_text(),
                &cfpd::proposal::ProposalRules {
                    required: vec![],
                    formats: vec!["talk-25".into()],
                    audiences: vec!["intermediate".into()],
                    word_limits: vec![],
                    max_message_bytes: 1 << 20,
                    reply_token_days: 365,
                    custom: vec![],
                },
            );
            let _ = cfpd::intake::file_topics(&tagger, &f.fields, &Default::default());
        }
        let tag = t.elapsed() / raws.len() as u32;
        // Deflating a stored mail (an acknowledgment is about 2.5 times a proposal).
        let t = Instant::now();
        let mut packed = 0;
        for r in &raws {
            packed += cfpd::store::packed::pack(&r.repeat(5)[..r.len() * 5 / 2]).len();
        }
        let pack = t.elapsed() / raws.len() as u32;
        println!("per message, one core: mail-parser {parse:?}; inbound::parse (with machine classifier) {classify:?}; proposal parse + tag {tag:?}; deflate an ack-sized mail {pack:?} ({} bytes)", packed / raws.len());
    }
    println!("fetch+parse: first pass {cold:.0} msg/s, warm {ceil:.0} msg/s");
    // CFPD_BENCH_PERF=FILE records a CPU profile of the run instead of timing it.
    let mut cmd = match std::env::var("CFPD_BENCH_PERF") {
        Ok(f) => {
            let mut c = std::process::Command::new("perf");
            let extra =
                std::env::var("CFPD_BENCH_PERF_ARGS").unwrap_or_else(|_| "-F 2000 -g".into());
            c.arg("record")
                .args(extra.split_whitespace())
                .args(["-o", &f, "--"]);
            c
        }
        Err(_) => {
            let mut c = std::process::Command::new("/usr/bin/time");
            c.arg("-v");
            // CFPD_BENCH_WRAP="strace -f -o FILE …": a tracer between time and cfpd
            // (to see which pages each write touches).
            if let Ok(w) = std::env::var("CFPD_BENCH_WRAP") {
                c.args(w.split_whitespace());
            }
            c
        }
    };
    let pg_before = pg_writes(&w.db_url).await;
    let out = cmd
        .arg(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(["run", "--once"])
        .env(
            "RUST_LOG",
            std::env::var("CFPD_BENCH_LOG").unwrap_or_else(|_| "warn,cfpd::daemon=debug".into()),
        )
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let server_mib = match (pg_before, pg_writes(&w.db_url).await) {
        (Some(b), Some(a)) => Some((a.0 - b.0, a.1 - b.1, a.2.zip(b.2).map(|(a, b)| a - b))),
        _ => None,
    };
    // CFPD_BENCH_KEEP=DIR keeps the SQLite database of the run (to map pages to tables).
    if let Ok(dir) = std::env::var("CFPD_BENCH_KEEP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            w.dir.path().join("cfpd.db"),
            Path::new(&dir).join("cfpd.db"),
        )
        .unwrap();
    }
    // Phases of each cycle: fetch+store (its own duration), fetch ∥ process up to
    // the last ack queued (the intake figure), and filing to Processed.
    let (mut fetch_ms, mut intake_ms, mut file_ms) = (0u64, 0u64, 0u64);
    for l in stderr.lines().filter(|l| {
        l.contains("intake batch") || l.contains("intake finished") || l.contains("fetched chunk")
    }) {
        // Keep the time of day (seconds and fraction) for a timeline.
        let at = l.get(17..26).unwrap_or("");
        println!("  {at} {}", l.split("DEBUG").last().unwrap_or(l).trim());
    }
    for l in stderr.lines().filter(|l| l.contains("intake cycle")) {
        let num = |k: &str| -> u64 {
            l.split(k)
                .nth(1)
                .and_then(|r| {
                    r.trim_start_matches(|c: char| !c.is_ascii_digit())
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        fetch_ms += num("fetch_ms");
        intake_ms += num("intake_ms");
        file_ms += num("file_ms");
    }
    let queued_rate = n as f64 * 1000.0 / intake_ms.max(1) as f64;
    println!(
        "phases: fetch+store {fetch_ms} ms (overlapped with processing); all stored, processed and acks queued {intake_ms} ms ({queued_rate:.0} msg/s); file to Processed {file_ms} ms"
    );
    println!("{}", stdout.trim());
    let rate = |line: &str| -> f64 {
        stdout
            .lines()
            .find(|l| l.starts_with(line))
            .and_then(|l| l.rsplit('(').next())
            .and_then(|v| v.trim_end_matches("/s)").split('/').next())
            .and_then(|v| v.trim_end_matches(')').parse().ok())
            .unwrap_or(0.0)
    };
    if let Some((wal, pages, _)) = server_mib {
        println!(
            "PostgreSQL server writes during the run: WAL {wal:.1} MiB, data pages written {pages:.1} MiB (checkpoints, background writer and backends; in PostgreSQL 15 a backend's count includes the zero-filled page it writes to extend a file, so pages are counted about twice)"
        );
    }
    // On its own disk (CFPD_BENCH_PG_DEVICE), what reached the disk is
    // measured rather than added up from PostgreSQL's counters.
    let server_written = server_mib.map(|(w, p, dev)| {
        if let Some(dev) = dev {
            println!("PostgreSQL's own disk received {dev:.1} MiB during the run (WAL, data and file-system metadata, synced)");
            dev
        } else {
            w + p
        }
    });
    let written = fs_written_mib(&stderr).unwrap_or(0.0) + server_written.unwrap_or(0.0);
    let intake = rate("processed");
    let send = rate("sent");
    let rss = peak_rss_kib(&stderr).unwrap_or(0);
    let received = if no_send {
        std::fs::read_dir(w.dir.path().join("sent"))
            .unwrap()
            .count()
    } else {
        let mut total = 0;
        for s in 0..1000.min(n) {
            total += w.dovecot.count(&format!("s{s}"), "INBOX").await as usize;
        }
        total
    };
    assert_eq!(received, n, "every ack delivered once");
    println!(
        "backlog {n} ({}): to acks queued {queued_rate:.0} msg/s ({:.0}% of the fetch+parse ceiling {ceil:.0} msg/s); end to end incl. filing {intake:.0} msg/s; ack delivery {send:.0} msg/s; peak RSS {:.0} MiB; written to disk {written:.0} MiB ({:.1} KiB per message); {received} acks in speakers' mailboxes",
        backend(),
        100.0 * queued_rate / ceil,
        rss as f64 / 1024.0,
        written * 1024.0 / n as f64,
    );
}

/// PostgreSQL's own writes so far, in MiB: WAL bytes and data pages written
/// (by checkpoints, the background writer and backends). The cluster is the
/// bench's alone, so the difference across a run is that run's. A CHECKPOINT
/// first, so pages the run dirtied are counted when they reach the disk.
/// None on SQLite, whose writes are the process's own (counted by `time`).
///
/// The third figure is what the block device named by
/// `CFPD_BENCH_PG_DEVICE` (e.g. `loop0`: a file system holding only the
/// cluster) has received, after `sync`: the bytes that really reached a disk.
/// PostgreSQL's counters cannot say that (a page written to extend a file
/// and written again with its content is two writes to them, often one to
/// the disk; WAL pages rewritten at each commit are one to them).
async fn pg_writes(url: &str) -> Option<(f64, f64, Option<f64>)> {
    use sqlx::Connection;
    if !url.starts_with("postgres") {
        return None;
    }
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&mut c).await.unwrap();
    use sqlx::Row;
    let wal: f64 = sqlx::query("SELECT wal_bytes::float8 AS wal FROM pg_stat_wal")
        .fetch_one(&mut c)
        .await
        .unwrap()
        .get("wal");
    // With the WAL position, so `pg_waldump --stats=record -s FROM -e TO`
    // can say which records the run's WAL is made of.
    let at = sqlx::query(
        "SELECT pg_current_wal_lsn()::text AS lsn, buffers_checkpoint, buffers_clean, buffers_backend
         FROM pg_stat_bgwriter",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    let (checkpoint, clean, backend): (i64, i64, i64) = (
        at.get("buffers_checkpoint"),
        at.get("buffers_clean"),
        at.get("buffers_backend"),
    );
    println!(
        "PostgreSQL WAL position {}; pages written so far by checkpoints {checkpoint}, the background writer {clean}, backends {backend}",
        at.get::<String, _>("lsn"),
    );
    let pages = checkpoint + clean + backend;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let device = std::env::var("CFPD_BENCH_PG_DEVICE").ok().map(|dev| {
        let synced = std::process::Command::new("sync").status().unwrap();
        assert!(synced.success());
        let stat = std::fs::read_to_string(format!("/sys/block/{dev}/stat")).unwrap();
        // Field 7: sectors written (512 bytes each).
        let sectors: f64 = stat.split_whitespace().nth(6).unwrap().parse().unwrap();
        mib(sectors * 512.0)
    });
    Some((mib(wal), mib(pages as f64 * 8192.0), device))
}

async fn latency(n: usize) {
    let w = World::start("[limits]\nreplies_per_address_per_day = 1000000\n").await;
    let mut d = w.spawn_daemon();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut lat = Vec::with_capacity(n);
    let mut reader = w.dovecot.login("lat").await;
    reader.select("INBOX").await.unwrap();
    for i in 0..n {
        let m = mail(
            "lat@example.org",
            CFP,
            &format!("lat-{i}@x"),
            "p",
            &proposal_body(&format!("Latency {i}")),
        );
        w.dovecot.append("cfp", &m).await;
        let t0 = Instant::now();
        loop {
            reader.noop().await.unwrap();
            let mb = reader.examine("INBOX").await.unwrap();
            if mb.exists as usize > i {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "ack {i} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lat.push(t0.elapsed());
    }
    let _ = d.kill();
    let _ = d.wait();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "IDLE latency over {n} proposals ({}): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (APPEND done → ack readable in the speaker's INBOX)",
        backend(),
        p(0.5).as_secs_f64() * 1000.0,
        p(0.99).as_secs_f64() * 1000.0,
        lat.last().unwrap().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    if !servers_available() {
        return;
    }
    // The receiving side (Dovecot delivering each ack into a speaker's
    // Maildir) is a test fixture: on this machine's ext4 its inode
    // allocation for each new file took a whole core and set the delivery
    // pace, not cfpd (BENCHMARKS.md, issue 18). Its directories go on tmpfs
    // unless CFPD_TEST_DOVECOT_TMP names a place (`/tmp` to measure with the
    // disk, as before). Set before anything reads the environment.
    if std::env::var_os("CFPD_TEST_DOVECOT_TMP").is_none() && Path::new("/dev/shm").is_dir() {
        std::env::set_var("CFPD_TEST_DOVECOT_TMP", "/dev/shm");
    }
    let root = std::env::var("CFPD_TEST_DOVECOT_TMP").unwrap_or_else(|_| "/tmp".into());
    println!("test Dovecot (the receiving side) under {root}");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let what = args.first().map(String::as_str).unwrap_or("all");
    let count = args.iter().skip(1).find_map(|v| v.parse().ok());
    let n = |d: usize| count.unwrap_or(d);
    match what {
        "backlog" => backlog(n(10_000)).await,
        "latency" => latency(n(200)).await,
        "ceiling" => ceiling_only(n(10_000)).await,
        _ => {
            backlog(n(10_000)).await;
            latency(200).await;
        }
    }
}
