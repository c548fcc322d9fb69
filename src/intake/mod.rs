//! Intake: every stored message → exactly one terminal state.
//!
//! The pipeline, per message (Discourse's receiver in shape):
//!
//! 1. **receive** — the raw bytes are in the database (`received`), or, for a
//!    chunk an IMAP source hands over, in memory: they are stored with the
//!    outcome, in the same transaction;
//! 2. **classify** — parse (isolated), then: too large → quarantined;
//!    machine mail (bounce, auto-reply, list, our own) → recorded, never
//!    answered; a Message-ID seen before → duplicate;
//! 3. **authorize** — a secret reply token in a recipient address selects
//!    the proposal, and only the address it is bound to may use it; no
//!    valid token means the mail is a new proposal or a request for help,
//!    never a change;
//! 4. **process** — new proposal / draft / update / withdraw / help, or a
//!    typed [`Rejection`].
//!
//! The terminal state, its effects (proposal rows, versions, tokens) and its
//! reply (queued in the outbox) are written in one transaction per batch.
//! A crash before the commit leaves the messages `received` (or, for a
//! handed-over chunk, unstored with the cursor before them, so they are
//! fetched again); they are processed again from scratch after restart, and
//! nothing was sent yet.

mod apply;
mod attachments;
mod bounce;
pub mod caps;
pub mod classify;
pub mod decide;
pub mod inbound;
mod notice;
pub mod person;
mod pipeline;
pub mod reject;
pub mod review_reply;
mod unsubscribe;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::outbox::Composer;
use crate::progress::Counter;
use crate::proposal::{self, FiledTopic, TagOverrides};
use crate::store::{self, Ctx, Store, StoreError};
use crate::topics::Tagger;
use classify::OwnIdentity;
pub use decide::{command, file_topics, Command};
pub use reject::Rejection;

/// An intake failure (database). Message-level problems are never errors:
/// they are terminal states.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The database failed; the batch is rolled back and retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Preparing a batch panicked; nothing of it was written and it is retried.
    #[error("preparing an intake batch failed: {0}")]
    Panic(String),
    /// Filling the place of an accepted talk that dropped out failed; the
    /// batch is rolled back and retried.
    #[error("waiting-list promotion: {0}")]
    Promotion(#[from] crate::decision::notify::NotifyError),
}

/// The intake stage: owns nothing but references to shared services.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The conference's configuration.
    cfg: Arc<Config>,
    /// Where messages, proposals and the outbox live.
    store: Store,
    /// Builds reply mails.
    composer: Composer,
    /// Files proposals under topics.
    tagger: Arc<Tagger>,
    /// Time source (deadlines, rate limits).
    clock: Arc<dyn Clock>,
    /// Who "we" are, for loop detection.
    own: OwnIdentity,
    /// Told how many messages each committed batch brought to a terminal
    /// state (`cfpd run --once` shows progress with it).
    on_batch: Option<Counter>,
}

impl Intake {
    /// An intake stage.
    pub fn new(
        cfg: Arc<Config>,
        store: Store,
        composer: Composer,
        tagger: Arc<Tagger>,
        clock: Arc<dyn Clock>,
    ) -> Intake {
        let own = OwnIdentity::new(cfg.conference.cfp_address.clone());
        Intake {
            cfg,
            store,
            composer,
            tagger,
            clock,
            own,
            on_batch: None,
        }
    }

    /// Count each committed batch's messages on `counter` (`None`: stop counting).
    pub fn set_batch_counter(&mut self, counter: Option<Counter>) {
        self.on_batch = counter;
    }

    /// Process every stored `received` message; returns how many reached a terminal state.
    ///
    /// Batches are pipelined: while one batch is handled and written (one
    /// transaction, on the database's writer), the next is already read
    /// (through [`Store::reader`], beside the writer) and parsed and tagged
    /// on the other cores. Writing stays strictly sequential, so every batch
    /// sees everything the previous one committed.
    pub async fn process_pending(&self) -> Result<usize, IntakeError> {
        let mut total = 0;
        let mut next = self.read_and_prepare(0).await?;
        while let Some((prepared, read_ms)) = next.take() {
            let last = prepared.last().map_or(0, |(m, _)| m.id);
            // Rows above `last` are not touched by this batch's transaction.
            let this = self.clone();
            let ahead = tokio::spawn(async move { this.read_and_prepare(last).await });
            let mut prepared = prepared;
            match self.write_batch(&mut prepared, read_ms, None).await {
                Ok(pipeline::Written::Done(n)) => {
                    if let Some(counter) = &self.on_batch {
                        counter.add(n as u64);
                    }
                    total += n;
                }
                Ok(pipeline::Written::Panicked) => {
                    unreachable!("only a fresh chunk's batch ends Panicked")
                }
                Err(e) => {
                    ahead.abort();
                    return Err(e);
                }
            }
            next = ahead
                .await
                .map_err(|e| IntakeError::Panic(e.to_string()))??;
        }
        Ok(total)
    }

    /// Process messages while a source is still fetching: each chunk it
    /// hands over on `chunks` is parsed and tagged on the spare cores while
    /// the one before is written, then stored with its outcome in one
    /// transaction (`Intake::write_fresh`: each message written once);
    /// messages a source stores itself (Maildir), a chair releases, or a
    /// failed chunk left `received` get a pass after every chunk announced on
    /// `stored` and a last one once the fetch has finished (both senders are
    /// dropped). Then tell the chairs about oversized messages the fetch
    /// quarantined. Returns messages processed.
    pub async fn process_alongside(
        &self,
        mut stored: tokio::sync::watch::Receiver<usize>,
        mut chunks: tokio::sync::mpsc::Receiver<store::messages::Chunk>,
    ) -> Result<usize, IntakeError> {
        let mut total = self.process_pending().await?;
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(1);
        let this = self.clone();
        // Dropping `ready` (on return) stops it, which drops `chunks` and
        // so makes the source's hand-over fail instead of waiting.
        let preparer = tokio::spawn(async move {
            while let Some(chunk) = chunks.recv().await {
                if ready_tx
                    .send(this.prepare_chunk(chunk).await)
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let (mut fetching, mut storing) = (true, true);
        let passes = async {
            while fetching || storing {
                tokio::select! {
                    biased;
                    fresh = ready.recv(), if fetching => match fresh {
                        Some(fresh) => total += self.write_fresh(fresh?).await?,
                        None => fetching = false,
                    },
                    changed = stored.changed(), if storing => match changed {
                        Ok(()) => total += self.process_pending().await?,
                        Err(_) => storing = false,
                    },
                }
            }
            // The fetch ended: a chunk it stored itself may have landed after the last pass.
            total += self.process_pending().await?;
            Ok::<(), IntakeError>(())
        };
        let passed = passes.await;
        drop(ready);
        if passed.is_err() {
            preparer.abort();
        }
        passed?;
        let mut tx = self.store.begin().await?;
        let now = store::ms(self.clock.now());
        notice::report_too_large(&mut tx, &self.cfg, &self.composer, now).await?;
        let forwarded = person::forward_due(&mut tx, &self.cfg, &self.composer, now).await?;
        if forwarded > 0 {
            tracing::info!(forwarded, "threads waiting for a person forwarded");
        }
        let released = caps::release_held(&mut tx, &self.cfg, now).await?;
        if released > 0 {
            tracing::info!(released, "held acknowledgments released");
        }
        tx.commit().await.ctx("committing chairs' notices")?;
        Ok(total)
    }

    /// File a proposal under topics: the tagger's choice, then the chair's overrides.
    pub fn topics_for(&self, f: &proposal::Fields, overrides: &TagOverrides) -> Vec<FiledTopic> {
        file_topics(&self.tagger, f, overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_whole_words_only() {
        assert_eq!(command("", "withdraw"), Some(Command::Withdraw));
        assert_eq!(
            command("", "  Withdraw.\n\nthanks"),
            Some(Command::Withdraw)
        );
        assert_eq!(command("help", ""), Some(Command::Help));
        assert_eq!(command("Re: HELP", "\n"), Some(Command::Help));
        assert_eq!(
            command("", "I will not withdraw my talk, here is an update"),
            None
        );
        assert_eq!(command("Helpful tips for Django", "Title: x"), None);
        assert_eq!(command("Re: RE: withdraw", ""), Some(Command::Withdraw));
        assert_eq!(
            command("", "Hi,\n\nplease withdraw my proposal"),
            Some(Command::Withdraw)
        );
        assert_eq!(command("", "template"), Some(Command::Help));
        // Reviewer commands mean nothing from a speaker, and a first line that is not a
        // command is not overridden by the subject.
        assert_eq!(command("help", "decline"), None);
    }
}
