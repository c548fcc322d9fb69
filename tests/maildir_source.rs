//! A Maildir source under odd and heavy mail, end to end with `cfpd run --once`
//! (real SMTP and Dovecot, SQLite or PostgreSQL): files over
//! `[proposals] max_message_bytes` are quarantined by size without being read
//! (peak memory stays bounded), every file in `new/` is processed whatever
//! its name (not UTF-8, flags that differ only after the `:`), and each ends
//! in `cur/` with no file lost.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::Command;

use support::*;

/// A world whose mailbox is the Maildir `<dir>/Maildir` (the config's IMAP section replaced).
async fn maildir_world(extra: &str) -> (World, std::path::PathBuf) {
    let w = World::start(extra).await;
    let md = w.use_maildir("Maildir");
    (w, md)
}

fn deliver(md: &Path, name: &[u8], raw: &[u8]) {
    let name = OsString::from_vec(name.to_vec());
    let tmp = md.join("tmp").join(&name);
    std::fs::write(&tmp, raw).unwrap();
    std::fs::rename(&tmp, md.join("new").join(&name)).unwrap();
}

/// `cfpd run --once` under /usr/bin/time: its peak RSS in kilobytes.
fn run_once_peak_kb(w: &World) -> u64 {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak-kb %M"])
        .arg(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(["run", "--once"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cfpd under /usr/bin/time");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cfpd run --once failed: {err}");
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with("peak-kb "))
        .unwrap();
    line["peak-kb ".len()..].trim().parse().unwrap()
}

fn names(dir: &Path) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_maildir_files_are_quarantined_by_size_unread() {
    if !servers_available() {
        return;
    }
    let (w, md) = maildir_world("[proposals]\nmax_message_bytes = 65536\n").await;
    // Eight files of 128 MB each (sparse: no disk is used, but reading one
    // costs its size in memory) and a few proposals of ordinary size.
    for i in 0..8 {
        let name = format!("17000000{i:02}.big{i}.host");
        let tmp = md.join("tmp").join(&name);
        let mut raw = proposal_mail(&format!("big{i}@example.org"), &format!("big{i}@x"), "Big");
        raw.extend_from_slice(b"\r\n");
        std::fs::write(&tmp, &raw).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&tmp).unwrap();
        f.set_len(128 << 20).unwrap();
        drop(f);
        std::fs::rename(&tmp, md.join("new").join(&name)).unwrap();
    }
    for i in 0..5 {
        let raw = proposal_mail(&format!("s{i}@example.org"), &format!("s{i}@x"), "Small");
        deliver(
            &md,
            format!("17000001{i:02}.small{i}.host").as_bytes(),
            &raw,
        );
    }
    let peak_kb = run_once_peak_kb(&w);
    let msgs = w.messages().await;
    let big: Vec<_> = msgs
        .iter()
        .filter(|m| m.source_key.contains(".big"))
        .collect();
    assert_eq!(big.len(), 8, "{msgs:#?}");
    for m in &big {
        assert_eq!(m.state, "quarantined", "{m:?}");
        assert_eq!(m.reason.as_deref(), Some("too_large"), "{m:?}");
        let detail = m.detail.as_deref().unwrap_or("");
        assert!(detail.contains(&(128u64 << 20).to_string()), "{m:?}");
        assert!(detail.contains("not read"), "{m:?}");
    }
    let small = msgs.iter().filter(|m| m.source_key.contains(".small"));
    assert_eq!(
        small.filter(|m| m.proposal_id.is_some()).count(),
        5,
        "{msgs:#?}"
    );
    // Reading the eight files would take a gigabyte.
    assert!(peak_kb < 300 * 1024, "peak RSS {peak_kb} kB");
    assert!(names(&md.join("new")).is_empty());
    assert_eq!(names(&md.join("cur")).len(), 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_maildir_file_is_processed_whatever_its_name() {
    if !servers_available() {
        return;
    }
    let (w, md) = maildir_world("").await;
    let files: [&[u8]; 5] = [
        b"1700000000.a.host:2,S",
        b"1700000000.a.host:2,T",
        b"1700000000.a.host",
        b"1700000001.\xff\xfe.host",
        b"1700000002.%FF%FE.host",
    ];
    for (i, name) in files.iter().enumerate() {
        let raw = proposal_mail(&format!("n{i}@example.org"), &format!("n{i}@x"), "Named");
        deliver(&md, name, &raw);
    }
    w.cfpd(&["run", "--once"]);
    let msgs = w.messages().await;
    assert_eq!(msgs.len(), 5, "{msgs:#?}");
    let mut keys: Vec<_> = msgs.iter().map(|m| m.source_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(msgs.iter().all(|m| m.proposal_id.is_some()), "{msgs:#?}");
    let mut senders: Vec<_> = msgs.iter().filter_map(|m| m.from_addr.clone()).collect();
    senders.sort();
    assert_eq!(
        senders,
        (0..5)
            .map(|i| format!("n{i}@example.org"))
            .collect::<Vec<_>>()
    );
    // Every file is filed away, none over another.
    assert!(names(&md.join("new")).is_empty());
    assert_eq!(
        names(&md.join("cur")).len(),
        5,
        "{:?}",
        names(&md.join("cur"))
    );
    // A second pass finds nothing new.
    w.cfpd(&["run", "--once"]);
    assert_eq!(w.messages().await.len(), 5);
}
