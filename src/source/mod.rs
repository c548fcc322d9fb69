//! Where inbound mail comes from: an IMAP mailbox or a local Maildir.
//!
//! A source does three things, and nothing else:
//! 1. [`fetch`](MailSource::fetch): store every new message as raw bytes
//!    (`received`), together with its checkpoint (IMAP UIDVALIDITY + last
//!    UID), in one transaction;
//! 2. [`dispose`](MailSource::dispose): after intake has committed a terminal
//!    state, file the message away (IMAP MOVE to Processed/Rejected, Maildir
//!    `new/` → `cur/`);
//! 3. [`wait`](MailSource::wait): block until there may be new mail (IMAP
//!    IDLE, or a poll interval), or shutdown.
//!
//! Sources never parse mail and never decide anything about it: intake reads
//! the stored bytes. That is what makes a crash at any point harmless: a
//! message is either not stored (and still in the inbox, fetched again) or
//! stored (and processed from the database, exactly once).

pub mod imap;
pub mod maildir;

use crate::shutdown::Shutdown;
use crate::store::StoreError;

/// A source failure.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A network or protocol problem with the IMAP server (transient: reconnect).
    #[error("IMAP {host}: {reason}")]
    Imap {
        /// Server.
        host: String,
        /// What failed.
        reason: String,
    },
    /// A local file problem (Maildir).
    #[error("maildir {path}: {reason}")]
    Maildir {
        /// Folder or file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// When a message arrived (ms), from the source's record of its delivery (`delivered`:
/// IMAP INTERNALDATE, a Maildir file's delivery time), else when it was fetched (`now`).
/// Never later than `now`: a delivery time in the future (a wrong clock on the mail
/// server, a file touched into the future) must not move a message ahead of its fetch.
pub fn arrival(delivered: Option<i64>, now: i64) -> i64 {
    delivered.map_or(now, |d| d.min(now))
}

/// How many messages a running [`MailSource::fetch`] has stored so far,
/// published after each committed chunk so intake can start on them while
/// the rest is still being fetched. Dropping the sender means the fetch ended.
pub type Progress = tokio::sync::watch::Sender<usize>;

/// Where a source hands fetched chunks to intake, which stores each one in
/// the transaction that records its outcome (bounded: the source waits while
/// intake is a chunk behind, so at most a few chunks are held in memory).
pub type Handoff = tokio::sync::mpsc::Sender<crate::store::messages::Chunk>;

/// The configured source.
#[derive(Debug)]
pub enum MailSource {
    /// An IMAP mailbox.
    Imap(Box<imap::ImapSource>),
    /// A Maildir folder.
    Maildir(maildir::MaildirSource),
}

impl MailSource {
    /// Store new messages, or (IMAP, with `handoff`) hand them to intake to
    /// store with their outcome; returns how many were stored or handed over.
    /// Each chunk is announced on `progress`. Maildir always stores: its
    /// files are few per cycle and it needs no cursor.
    pub async fn fetch(
        &mut self,
        store: &crate::store::Store,
        now: i64,
        progress: &Progress,
        handoff: Option<&Handoff>,
    ) -> Result<usize, SourceError> {
        match self {
            MailSource::Imap(s) => s.fetch(store, now, progress, handoff).await,
            MailSource::Maildir(s) => s.fetch(store, now, progress).await,
        }
    }

    /// File away processed messages; returns how many were filed.
    pub async fn dispose(&mut self, store: &crate::store::Store) -> Result<usize, SourceError> {
        match self {
            MailSource::Imap(s) => s.dispose(store).await,
            MailSource::Maildir(s) => s.dispose(store).await,
        }
    }

    /// Wait for possible new mail or shutdown.
    pub async fn wait(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        match self {
            MailSource::Imap(s) => s.wait(shutdown).await,
            MailSource::Maildir(s) => s.wait(shutdown).await,
        }
    }

    /// Drop the connection after an error, so the next call reconnects.
    pub fn reset(&mut self) {
        if let MailSource::Imap(s) = self {
            s.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arrival_is_the_delivery_time_never_after_the_fetch() {
        assert_eq!(super::arrival(Some(1_000), 5_000), 1_000);
        assert_eq!(super::arrival(Some(9_000), 5_000), 5_000);
        assert_eq!(super::arrival(None, 5_000), 5_000);
    }
}
