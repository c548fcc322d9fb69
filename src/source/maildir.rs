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
