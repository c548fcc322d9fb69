//! A Maildir source for the demo and offline use.
//!
//! New mail is read from `new/` (files are delivered there atomically by
//! the Maildir convention); once processed, a file is renamed into `cur/`
//! with the Seen flag. The file name (up to the `:` flag separator) is the
//! message's source key, so a crash between storing and renaming only
//! means the file is seen again and recognised as already stored.

use std::path::PathBuf;
use std::time::Duration;

use super::SourceError;
use crate::shutdown::Shutdown;
use crate::store::{messages, Ctx, Store};

/// A Maildir folder (`new/`, `cur/`, `tmp/`).
#[derive(Debug)]
pub struct MaildirSource {
    /// The Maildir root.
    root: PathBuf,
    /// How long `wait` sleeps between scans.
    poll: Duration,
}

/// When a file was delivered (ms): its modification time (set when the delivery agent
/// wrote it into `tmp/`; the rename into `new/` keeps it), else the seconds a
/// conventional unique name starts with (`<secs>.<unique>.<host>`), else unknown.
fn delivered(path: &std::path::Path, name: &str) -> Option<i64> {
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    mtime.or_else(|| named_time(name))
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
    pub fn new(root: PathBuf, poll: Duration) -> Result<MaildirSource, SourceError> {
        for sub in ["new", "cur", "tmp"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| SourceError::Maildir {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(MaildirSource { root, poll })
    }

    fn key(name: &str) -> String {
        format!("maildir:{}", name.split(':').next().unwrap_or(name))
    }

    /// Store every file in `new/` that is not stored yet.
    pub async fn fetch(
        &mut self,
        store: &Store,
        now: i64,
        progress: &super::Progress,
    ) -> Result<usize, SourceError> {
        let new = self.root.join("new");
        let mut names: Vec<String> = std::fs::read_dir(&new)
            .map_err(|e| SourceError::Maildir {
                path: new.display().to_string(),
                reason: e.to_string(),
            })?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        let mut stored = 0;
        for chunk in names.chunks(500) {
            let mut tx = store.begin().await?;
            let mut batch = Vec::with_capacity(chunk.len());
            for name in chunk {
                let path = new.join(name);
                let delivered = delivered(&path, name);
                let raw = match std::fs::read(&path) {
                    Ok(r) => r,
                    // Renamed away by someone else meanwhile: not ours to read.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(SourceError::Maildir {
                            path: path.display().to_string(),
                            reason: e.to_string(),
                        })
                    }
                };
                batch.push(messages::NewMessage {
                    source_key: Self::key(name),
                    received_at: now,
                    arrived_at: super::arrival(delivered, now),
                    raw,
                });
            }
            stored += messages::insert_received_many(&mut tx, &batch).await? as usize;
            tx.commit().await.ctx("committing received messages")?;
            progress.send_modify(|n| *n = stored);
        }
        Ok(stored)
    }

    /// Move processed files from `new/` to `cur/` (flag Seen).
    pub async fn dispose(&mut self, store: &Store) -> Result<usize, SourceError> {
        let mut conn = store.conn().await?;
        let mut done = 0;
        loop {
            let rows = messages::undisposed(&mut conn, "maildir:", 500).await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut ids = Vec::new();
            let new = self.root.join("new");
            let names: Vec<String> = std::fs::read_dir(&new)
                .map(|it| {
                    it.filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            for r in rows {
                let base = r.source_key.trim_start_matches("maildir:");
                for n in names.iter().filter(|n| n.split(':').next() == Some(base)) {
                    let from = new.join(n);
                    let to = self.root.join("cur").join(format!("{base}:2,S"));
                    if let Err(e) = std::fs::rename(&from, &to) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            return Err(SourceError::Maildir {
                                path: from.display().to_string(),
                                reason: e.to_string(),
                            });
                        }
                    }
                }
                ids.push(r.id);
            }
            messages::mark_disposed(&mut conn, &ids).await?;
            done += ids.len();
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
        assert_eq!(delivered(&path, "1000.M1P2.host"), Some(1_717_236_000_000));
        // Unreadable: the name's second.
        let gone = dir.path().join("gone");
        assert_eq!(delivered(&gone, "1000.M1P2.host"), Some(1_000_000));
        assert_eq!(delivered(&gone, "gone"), None);
    }
}
