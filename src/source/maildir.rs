//! A Maildir source for the demo and offline use.
//!
//! New mail is read from `new/` (files are delivered there atomically by
//! the Maildir convention); once processed, a file is renamed into `cur/`
//! with the Seen flag. The whole file name is the message's source key
//! (see [`key`]), so a crash between storing and renaming only means the
//! file is seen again and recognised as already stored, and two files that
//! differ only after the `:` (`a:2,S`, `a:2,T`) are two messages.
//!
//! Memory is bounded as for IMAP: a file's size is read from its metadata
//! first; files over `[proposals] max_message_bytes` are quarantined by size
//! alone, never read, and the others are read and stored in chunks of at
//! most [`CHUNK_COUNT`] files and [`CHUNK_BYTES`] bytes.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::imap::CHUNK_BYTES;
use super::SourceError;
use crate::shutdown::Shutdown;
use crate::store::{messages, Ctx, Store};

/// Most files stored in one transaction.
pub const CHUNK_COUNT: usize = 500;

/// A Maildir folder (`new/`, `cur/`, `tmp/`).
#[derive(Debug)]
pub struct MaildirSource {
    /// The Maildir root.
    root: PathBuf,
    /// How long `wait` sleeps between scans.
    poll: Duration,
    /// Largest message read; larger ones are quarantined by size.
    max_bytes: usize,
}

/// The source key of a file name in `new/`, lossless and unambiguous: a
/// UTF-8 name without `%` is kept as it is (the keys of earlier versions);
/// any other name has `%`, control bytes and every byte outside ASCII
/// written as `%XX`, so a name that is not UTF-8 is a key of its own too.
pub fn key(name: &OsStr) -> String {
    let bytes = name.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.contains('%') => format!("maildir:{s}"),
        _ => {
            let mut out = String::from("maildir:");
            for &b in bytes {
                if b == b'%' || !(0x20..0x7f).contains(&b) {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push(char::from(b));
                }
            }
            out
        }
    }
}

/// The name a processed file gets in `cur/`: its unique part (followed by
/// `.n` when `n` > 0, to step aside from another file) and its `:2,` flags
/// with the Seen flag added.
fn seen_name(name: &OsStr, n: u32) -> OsString {
    let b = name.as_bytes();
    let (unique, flags): (&[u8], &[u8]) = match b.windows(3).rposition(|w| w == b":2,") {
        Some(i) => (&b[..i], &b[i + 3..]),
        None => (b, b""),
    };
    let mut flags = flags.to_vec();
    if !flags.contains(&b'S') {
        flags.push(b'S');
        flags.sort_unstable();
    }
    let step = if n > 0 {
        format!(".{n}")
    } else {
        String::new()
    };
    OsString::from_vec([unique, step.as_bytes(), b":2,", &flags].concat())
}

/// Split `(item, size)` pairs, in order, into runs of at most `count` items
/// and, unless a single item is larger, `bytes` bytes.
fn chunks<T: Clone>(sizes: &[(T, u64)], count: usize, bytes: u64) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut cur: Vec<T> = Vec::new();
    let mut cur_bytes = 0u64;
    for (item, size) in sizes {
        if !cur.is_empty() && (cur.len() >= count || cur_bytes + size > bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(item.clone());
        cur_bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn maildir_err(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::Maildir {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// What reading one file gave.
enum Got {
    /// Its bytes.
    Raw(Vec<u8>),
    /// It has grown past the limit since it was listed: `size` bytes at least.
    TooLarge(u64),
    /// It is gone (renamed away by someone else meanwhile).
    Gone,
}

/// When a file was delivered (ms): its modification time (set when the delivery agent
/// wrote it into `tmp/`; the rename into `new/` keeps it), else the seconds a
/// conventional unique name starts with (`<secs>.<unique>.<host>`), else unknown.
fn delivered(path: &std::path::Path, name: &OsStr) -> Option<i64> {
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    mtime.or_else(|| name.to_str().and_then(named_time))
}

/// The delivery second a conventional Maildir name starts with (`1717236000.M1P2.host`),
/// in ms; `None` for a name not shaped like that.
fn named_time(name: &str) -> Option<i64> {
    let (secs, rest) = name.split_once('.')?;
    if rest.is_empty() || secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    secs.parse::<i64>().ok()?.checked_mul(1000)
}

impl MaildirSource {
    /// A source over `root`; the sub-folders are created when missing.
    /// Files larger than `max_bytes` are quarantined without being read.
    pub fn new(
        root: PathBuf,
        poll: Duration,
        max_bytes: usize,
    ) -> Result<MaildirSource, SourceError> {
        for sub in ["new", "cur", "tmp"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| maildir_err(&p, e))?;
        }
        Ok(MaildirSource {
            root,
            poll,
            max_bytes,
        })
    }

    /// Every regular file in `new/` (any name, UTF-8 or not) with its size, by name.
    fn listing(&self) -> Result<Vec<(OsString, u64)>, SourceError> {
        let new = self.root.join("new");
        let mut names: Vec<(OsString, u64)> = Vec::new();
        for e in std::fs::read_dir(&new).map_err(|e| maildir_err(&new, e))? {
            let Ok(e) = e else { continue };
            let name = e.file_name();
            if name.as_bytes().first() == Some(&b'.') {
                continue;
            }
            match e.metadata() {
                Ok(m) if m.is_file() => names.push((name, m.len())),
                _ => {}
            }
        }
        names.sort();
        Ok(names)
    }

    /// Read one file, never more than one byte past the limit.
    fn read(&self, path: &Path) -> Result<Got, SourceError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Got::Gone),
            Err(e) => return Err(maildir_err(path, e)),
        };
        let mut raw = Vec::new();
        file.take(self.max_bytes as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| maildir_err(path, e))?;
        Ok(if raw.len() > self.max_bytes {
            Got::TooLarge(raw.len() as u64)
        } else {
            Got::Raw(raw)
        })
    }

    /// Store every file in `new/` that is not stored yet.
    pub async fn fetch(
        &mut self,
        store: &Store,
        now: i64,
        progress: &super::Progress,
    ) -> Result<usize, SourceError> {
        let new = self.root.join("new");
        let (big, ok): (Vec<_>, Vec<_>) = self
            .listing()?
            .into_iter()
            .partition(|(_, size)| *size > self.max_bytes as u64);
        let mut stored = self.quarantine(store, &big, now).await?;
        for chunk in chunks(&ok, CHUNK_COUNT, CHUNK_BYTES) {
            let mut batch = Vec::with_capacity(chunk.len());
            let mut grown = Vec::new();
            for name in chunk {
                let path = new.join(&name);
                let delivered = delivered(&path, &name);
                match self.read(&path)? {
                    Got::Raw(raw) => batch.push(messages::NewMessage {
                        source_key: key(&name),
                        received_at: now,
                        arrived_at: super::arrival(delivered, now),
                        raw,
                    }),
                    Got::TooLarge(size) => grown.push((name, size)),
                    Got::Gone => {}
                }
            }
            stored += self.quarantine(store, &grown, now).await?;
            let mut tx = store.begin().await?;
            stored += messages::insert_received_many(&mut tx, &batch).await? as usize;
            tx.commit().await.ctx("committing received messages")?;
            progress.send_modify(|n| *n = stored);
        }
        Ok(stored)
    }

    /// Record oversized files as quarantined by size alone (never read).
    /// Returns how many were new.
    async fn quarantine(
        &self,
        store: &Store,
        big: &[(OsString, u64)],
        now: i64,
    ) -> Result<usize, SourceError> {
        if big.is_empty() {
            return Ok(0);
        }
        let mut stored = 0;
        let mut tx = store.begin().await?;
        for (name, size) in big {
            let detail = format!(
                "message of {size} bytes exceeds the limit of {} bytes; not read",
                self.max_bytes
            );
            let size = i64::try_from(*size).unwrap_or(i64::MAX);
            let reason = crate::model::Reason::TooLarge;
            if messages::insert_quarantined(&mut tx, &key(name), now, size, reason, &detail)
                .await?
                .is_some()
            {
                stored += 1;
            }
        }
        tx.commit().await.ctx("committing quarantined messages")?;
        Ok(stored)
    }

    /// Move processed files from `new/` to `cur/` (flag Seen).
    pub async fn dispose(&mut self, store: &Store) -> Result<usize, SourceError> {
        let mut conn = store.conn().await?;
        let mut done = 0;
        let new = self.root.join("new");
        loop {
            let rows = messages::undisposed(&mut conn, "maildir:", 500).await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut by_key: std::collections::HashMap<String, OsString> = self
                .listing()
                .unwrap_or_default()
                .into_iter()
                .map(|(n, _)| (key(&n), n))
                .collect();
            let mut ids = Vec::new();
            for r in rows {
                if let Some(name) = by_key.remove(&r.source_key) {
                    self.file_away(&new.join(&name), &name)?;
                }
                ids.push(r.id);
            }
            messages::mark_disposed(&mut conn, &ids).await?;
            done += ids.len();
        }
    }

    /// Rename `from` into `cur/` with the Seen flag, never over another file.
    fn file_away(&self, from: &Path, name: &OsStr) -> Result<(), SourceError> {
        let cur = self.root.join("cur");
        let mut n = 0;
        let mut to = cur.join(seen_name(name, n));
        while to.exists() {
            // Another file already has that name: keep both.
            n += 1;
            to = cur.join(seen_name(name, n));
        }
        match std::fs::rename(from, &to) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(maildir_err(from, e)),
            _ => Ok(()),
        }
    }

    /// Sleep one poll interval (or until shutdown).
    pub async fn wait(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        tokio::select! {
            _ = tokio::time::sleep(self.poll) => {}
            _ = shutdown.recv() => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conventional_name_carries_its_delivery_second() {
        assert_eq!(
            named_time("1717236000.M1P2.host,S=10:2,"),
            Some(1_717_236_000_000)
        );
        assert_eq!(named_time("hello"), None);
        assert_eq!(named_time("12ab.host"), None);
        assert_eq!(named_time("1717236000."), None);
        assert_eq!(named_time(".1717236000"), None);
    }

    #[test]
    fn the_files_mtime_is_its_delivery_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1000.M1P2.host");
        std::fs::write(&path, b"x").unwrap();
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_717_236_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(at)
            .unwrap();
        assert_eq!(
            delivered(&path, OsStr::new("1000.M1P2.host")),
            Some(1_717_236_000_000)
        );
        // Unreadable: the name's second.
        let gone = dir.path().join("gone");
        assert_eq!(
            delivered(&gone, OsStr::new("1000.M1P2.host")),
            Some(1_000_000)
        );
        assert_eq!(delivered(&gone, OsStr::new("gone")), None);
    }

    #[test]
    fn chunks_end_at_the_count_or_the_byte_bound() {
        let mb = 1u64 << 20;
        let sizes: Vec<(u32, u64)> = (0..20).map(|i| (i, 2 * mb)).collect();
        let got = chunks(&sizes, 500, CHUNK_BYTES);
        assert!(got.len() > 1);
        for c in &got {
            assert!(c.len() as u64 * 2 * mb <= CHUNK_BYTES, "{c:?}");
        }
        assert_eq!(got.concat(), (0..20).collect::<Vec<_>>());
        let small: Vec<(u32, u64)> = (0..1200).map(|i| (i, 10)).collect();
        let got = chunks(&small, 500, CHUNK_BYTES);
        assert_eq!(
            got.iter().map(Vec::len).collect::<Vec<_>>(),
            [500, 500, 200]
        );
        // One item larger than the bound is a chunk of its own.
        let got = chunks(&[(1, 1), (2, CHUNK_BYTES + 1), (3, 1)], 500, CHUNK_BYTES);
        assert_eq!(got, [vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn keys_are_whole_names_and_lossless() {
        let k = |b: &[u8]| key(OsStr::from_bytes(b));
        assert_eq!(k(b"123.abc.host"), "maildir:123.abc.host");
        assert_ne!(k(b"a:2,S"), k(b"a:2,T"));
        assert_ne!(k(b"a\xff"), k(b"a\xfe"));
        assert_ne!(k(b"a\xff"), k(b"a%FF"));
        assert_ne!(k(b"a%FF"), k(b"a%25FF"));
        assert_eq!(k(b"a\xff\n"), "maildir:a%FF%0A");
    }

    #[test]
    fn seen_names_keep_the_flags_and_add_seen() {
        let s = |b: &[u8], n| seen_name(OsStr::from_bytes(b), n).into_vec();
        assert_eq!(s(b"a", 0), b"a:2,S");
        assert_eq!(s(b"a:2,T", 0), b"a:2,ST");
        assert_eq!(s(b"a:2,S", 0), b"a:2,S");
        assert_eq!(s(b"a:2,T", 1), b"a.1:2,ST");
        assert_eq!(s(b"a\xff", 0), b"a\xff:2,S");
    }
}
