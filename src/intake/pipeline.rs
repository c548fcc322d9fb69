//! The intake pipeline: batches of stored messages are read and prepared (parsed,
//! tagged) on the spare cores, then handled one after another in one transaction per
//! batch: the facts each message needs are loaded, [`decide`] says what to do, and the
//! decision is applied (rows, tokens, the reply queued) before the batch commits.
//!
//! The batching and pipelining here were tuned for throughput (see BENCHMARKS.md):
//! lookups go through the reader connection, writes are collected in [`Batch`] and
//! flushed with multi-row statements, replies are composed on a thread of their
//! own while the batch is handled and written.

use std::collections::{HashMap, HashSet};

use super::caps;
use super::classify::OwnIdentity;
use super::decide::{self, Body, Decision, Reply, ReplyToken, Unreadable};
use super::inbound::{self, Inbound};
use super::review_reply;
use super::{notice, Intake, IntakeError};
use crate::model::{HoldReason, MailKind};
use crate::outbox::{AutoSubmitted, ComposeError, Composer, Draft};
use crate::proposal::{self, TagOverrides};
use crate::review;
use crate::store::messages::{
    self, Chunk, Cursor, Finish, MessageState, NewMessage, PendingMessage, Received,
};
use crate::store::proposals as pstore;
use crate::store::{self, outbox, AnyConnection, Ctx};
use crate::topics::Tagger;

/// What handling a message produced: its terminal state, its log entry, its reply.
pub(super) struct Handled {
    pub(super) state: MessageState,
    pub(super) finish: Finish,
    pub(super) reply: Option<Reply>,
    /// The reply is a speaker's first acknowledgment (it carries the reply token of
    /// a proposal stored just now): never dropped by the caps, at most held.
    pub(super) first_ack: bool,
}

impl From<Decision> for Handled {
    /// A decision that needs no writes of its own (or whose writes are done).
    fn from(d: Decision) -> Handled {
        Handled {
            state: d.state(),
            finish: d.finish(),
            reply: d.into_reply(),
            first_ack: false,
        }
    }
}

/// Writes of one batch, collected while its messages are handled and
/// written with multi-row statements before the batch commits. Reads that
/// must see earlier messages of the same batch (duplicates, reply counts)
/// are answered from here.
#[derive(Default)]
pub(super) struct Batch {
    /// Message-ID → first message that carried it (stored or earlier in this batch).
    pub(super) seen: HashMap<String, i64>,
    /// Reply budgets (per address, per thread, circuit breaker), including this batch's.
    pub(super) caps: caps::Caps,
    /// Proposal ids reserved for this batch, used from the front.
    pub(super) reserved_ids: std::collections::VecDeque<i64>,
    /// Speakers to upsert (address → display name).
    pub(super) speakers: Vec<(String, Option<String>)>,
    /// New proposals with their first version.
    pub(super) proposals: Vec<pstore::NewProposal>,
    /// Token hashes.
    pub(super) tokens: Vec<pstore::NewTokenRow>,
    /// Review-form help replies per reviewer mailbox (`model::mailbox_key`) in the last
    /// 24 h, including this batch's
    /// (filled lazily: only reviewers who sent an unreadable form are looked up).
    pub(super) help_counts: HashMap<String, i64>,
    /// Replies to queue.
    pub(super) mails: Vec<crate::store::outbox::NewMail>,
    /// First acknowledgments over their recipient's cap, queued held
    /// (`HoldReason::AddressCap`) and released by [`caps::release_held`].
    pub(super) held: Vec<crate::store::outbox::NewMail>,
    /// Replies decided and not yet handed to the composing thread ([`Composing`]).
    pub(super) replies: Vec<PendingReply>,
    /// Terminal states.
    pub(super) finishes: Vec<(i64, MessageState, Finish)>,
    /// Bytes of messages that came through a token address, tokens erased
    /// (stored with their terminal state: a reader cannot reuse the token).
    pub(super) redactions: Vec<(i64, Vec<u8>)>,
    /// Row ids (reserved) of a fresh chunk's messages not stored yet: each is
    /// inserted once, with its terminal state, when the batch flushes, unless
    /// handling it writes rows that refer to it (then it is stored as
    /// `received` first: [`Intake::store_now`]).
    pub(super) unstored: HashSet<i64>,
    /// When a fresh chunk's messages were fetched (ms).
    pub(super) received_at: i64,
}

impl Batch {
    /// Write the batch's rows: its fresh messages, speakers, proposals,
    /// tokens, terminal states and erasures, in that order (what follows
    /// refers to what precedes), as one [`store::Plan`].
    async fn flush(
        &mut self,
        tx: &mut AnyConnection,
        now: i64,
        msgs: &[(PendingMessage, Prepared)],
    ) -> Result<(), IntakeError> {
        let backend = store::backend_of(tx);
        let fresh = self.take_unstored(msgs);
        let processed = fresh.rows(self.received_at);
        let bytes: Vec<messages::RawRow<'_>> = processed.iter().map(|p| p.raw_row()).collect();
        let mut speakers: HashMap<String, Option<String>> = HashMap::new();
        for (e, n) in self.speakers.drain(..) {
            let slot = speakers.entry(e).or_default();
            if n.is_some() {
                *slot = n;
            }
        }
        let mut speakers: Vec<_> = speakers.into_iter().collect();
        speakers.sort();
        let mut proposals = std::mem::take(&mut self.proposals);
        packed_ahead(&mut proposals, &fresh.by_id);
        let tokens = std::mem::take(&mut self.tokens);
        let finishes = std::mem::take(&mut self.finishes);
        let redactions = std::mem::take(&mut self.redactions);
        let mut plan = store::Plan::default();
        messages::plan_processed(&mut plan, backend, &processed, &bytes, now);
        pstore::plan_speakers(&mut plan, backend, &speakers, now);
        pstore::plan_new(&mut plan, backend, &proposals, now);
        pstore::plan_tokens(&mut plan, backend, &tokens, now);
        messages::plan_finish(&mut plan, backend, &finishes, now);
        messages::plan_replace_raw(&mut plan, &redactions);
        plan.run(tx).await?;
        Ok(())
    }

    /// Queue the batch's composed replies (after [`Batch::flush`]: they refer
    /// to its messages), noting on their messages the replies that could
    /// not be composed.
    async fn queue_replies(
        &mut self,
        tx: &mut AnyConnection,
        now: i64,
        composed: Vec<Composed>,
    ) -> Result<(), IntakeError> {
        let mut notes = Vec::new();
        for (cause, held, r) in composed {
            match r {
                Ok(mail) if held => self.held.push(mail),
                Ok(mail) => self.mails.push(mail),
                Err(why) => notes.push((cause, why.to_string())),
            }
        }
        messages::add_notes(tx, &notes).await?;
        outbox::queue_many(tx, &self.mails, now).await?;
        self.mails.clear();
        outbox::hold_many(tx, &self.held, HoldReason::AddressCap, now).await?;
        self.held.clear();
        Ok(())
    }

    /// Take the fresh messages not stored yet, with their terminal states
    /// and erased bytes, out of the batch (they are inserted in those states,
    /// see [`Unstored`]); the rest of the terminal states and erasures stay,
    /// for updates.
    fn take_unstored<'a>(&mut self, msgs: &'a [(PendingMessage, Prepared)]) -> Unstored<'a> {
        let unstored = std::mem::take(&mut self.unstored);
        if unstored.is_empty() {
            return Unstored::default();
        }
        let (fresh, finishes): (Vec<_>, Vec<_>) = std::mem::take(&mut self.finishes)
            .into_iter()
            .partition(|(id, _, _)| unstored.contains(id));
        self.finishes = finishes;
        let (redacted, redactions): (HashMap<i64, Vec<u8>>, _) =
            std::mem::take(&mut self.redactions)
                .into_iter()
                .partition(|(id, _)| unstored.contains(id));
        self.redactions = redactions.into_iter().collect();
        let by_id = msgs.iter().map(|(m, p)| (m.id, (m, p))).collect();
        Unstored {
            fresh,
            redacted,
            by_id,
        }
    }
}

/// Give each new proposal the record packed while its message was prepared
/// ([`Ahead::record`]; only a fresh chunk's messages have one, listed in
/// `fresh`, [`Unstored::by_id`]), when it is filed with the fields and
/// topics it was read with (the writer packs any other).
fn packed_ahead(proposals: &mut [pstore::NewProposal], fresh: &HashMap<i64, ByRow<'_>>) {
    for np in proposals {
        let Some(&(_, p)) = fresh.get(&np.message_row) else {
            continue;
        };
        if let (Some((parsed, topics)), Some(record)) = (
            &p.proposal,
            p.ahead.as_ref().and_then(|a| a.record.as_ref()),
        ) {
            if parsed.fields == np.fields && *topics == np.topics {
                np.record = Some(record.clone());
            }
        }
    }
}

/// A fresh chunk's messages not stored yet, taken out of a [`Batch`] as it
/// flushes: each is inserted once, in its terminal state.
#[derive(Default)]
struct Unstored<'a> {
    /// Their terminal states.
    fresh: Vec<(i64, MessageState, Finish)>,
    /// Bytes to keep instead of what was received (tokens erased).
    redacted: HashMap<i64, Vec<u8>>,
    /// The batch's messages by row id.
    by_id: HashMap<i64, ByRow<'a>>,
}

/// A batch's message and what preparing it found.
type ByRow<'a> = (&'a PendingMessage, &'a Prepared);

impl Unstored<'_> {
    /// The rows to insert (fetched at `received_at`).
    fn rows(&self, received_at: i64) -> Vec<messages::Processed<'_>> {
        self.fresh
            .iter()
            .filter_map(|(id, state, finish)| {
                let (m, p) = *self.by_id.get(id)?;
                let redacted = self.redacted.get(id);
                Some(messages::Processed {
                    id: *id,
                    received: Received {
                        source_key: &m.source_key,
                        received_at,
                        arrived_at: m.arrived_at,
                        raw: &m.raw,
                    },
                    keep: redacted.map_or(&m.raw, |r| r),
                    sha256: p.ahead.as_ref().map(|a| a.sha256.as_str()),
                    // Packed from the bytes as received: not for erased ones.
                    packed: p
                        .ahead
                        .as_ref()
                        .filter(|_| redacted.is_none())
                        .map(|a| a.packed.as_slice()),
                    state: *state,
                    finish,
                })
            })
            .collect()
    }
}

/// An automatic reply decided while a batch is handled. Composing it (MIME,
/// encodings, headers, compression for storage) was a fifth of a batch's
/// work inside its transaction, so it is done on a thread of its own
/// ([`Composing`]) while the batch goes on being handled and written.
pub(super) struct PendingReply {
    /// Outbox kind (`ack`, `draft`, `help`, …).
    kind: MailKind,
    /// The sender being answered.
    to: String,
    /// Their display name.
    to_name: Option<String>,
    /// Subject line.
    subject: String,
    /// Its text.
    body: Body,
    /// Message-ID answered, for threading.
    in_reply_to: Option<String>,
    /// References chain answered.
    references: Vec<String>,
    /// Reply token for the Reply-To address.
    reply_token: Option<String>,
    /// Else a person's address for Reply-To (see [`ReplyToken::Person`]).
    reply_to: Option<String>,
    /// The inbound message answered (row id).
    cause_message: i64,
    /// Conversation key for the per-thread cap.
    thread_key: Option<String>,
    /// Queued held (see [`Batch::held`]).
    held: bool,
}

impl PendingReply {
    fn compose(self, composer: &Composer) -> Result<crate::store::outbox::NewMail, NotSent> {
        let body = isolated(move || self.body.text()).map_err(NotSent::RenderPanicked)?;
        let draft = Draft {
            kind: self.kind,
            dedup_key: format!("reply:msg:{}", self.cause_message),
            to: &self.to,
            to_name: self.to_name.as_deref(),
            subject: self.subject,
            body,
            in_reply_to: self.in_reply_to.as_deref(),
            references: &self.references,
            reply_token: self.reply_token.as_deref(),
            auto: AutoSubmitted::AutoReplied,
            cause_message: Some(self.cause_message),
        };
        let composed = isolated(|| match &self.reply_to {
            Some(person) => composer.compose_forward(&draft, None, person),
            None => composer.compose(&draft),
        });
        match composed {
            Ok(Ok(mut mail)) => {
                mail.thread_key = self.thread_key;
                mail.pack();
                Ok(mail)
            }
            Ok(Err(e)) => Err(NotSent::Compose(e)),
            Err(panic) => Err(NotSent::ComposePanicked(panic)),
        }
    }
}

/// A reply as composed: the message it answers (row id), whether it is
/// queued held, and the mail or why there is none.
type Composed = (i64, bool, Result<crate::store::outbox::NewMail, NotSent>);

/// The thread composing a batch's replies while the batch is handled and
/// its other rows are written: replies are sent to it as they are decided
/// and come back in that order. Composing is pure work on values, so it
/// needs nothing from the transaction; on two cores it overlaps the
/// database writer instead of adding to it (BENCHMARKS.md, issue 18).
struct Composing {
    to: std::sync::mpsc::Sender<PendingReply>,
    done: tokio::task::JoinHandle<Vec<Composed>>,
}

impl Composing {
    fn start(composer: Composer) -> Composing {
        let (to, from) = std::sync::mpsc::channel::<PendingReply>();
        let done = tokio::task::spawn_blocking(move || {
            from.into_iter()
                .map(|r| (r.cause_message, r.held, r.compose(&composer)))
                .collect()
        });
        Composing { to, done }
    }

    /// Hand over the replies decided so far.
    fn send(&self, replies: &mut Vec<PendingReply>) {
        for r in replies.drain(..) {
            // The receiver lives until `finish`; it cannot be gone here.
            let _ = self.to.send(r);
        }
    }

    /// Every reply sent, composed, in the order sent.
    async fn finish(self) -> Result<Vec<Composed>, IntakeError> {
        let Composing { to, done } = self;
        // The thread's loop ends once the sender is gone.
        drop(to);
        // `compose` catches panics itself; the task fails only when the
        // runtime is going away, and then the batch is not committed.
        done.await.map_err(|e| IntakeError::Panic(e.to_string()))
    }
}

/// Why a decided reply was not queued (noted in its message's detail).
#[derive(Debug, thiserror::Error)]
enum NotSent {
    /// Rendering its template panicked.
    #[error("reply not sent: rendering it panicked: {0}")]
    RenderPanicked(Panicked),
    /// The composer refused it.
    #[error("reply not sent: {0}")]
    Compose(ComposeError),
    /// Composing it panicked.
    #[error("reply not sent: composing it panicked: {0}")]
    ComposePanicked(Panicked),
}

/// A caught panic's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct Panicked(pub(super) String);

/// Per-message work done before the transaction, on all cores: parsing the
/// mail, and for mail that may be a new proposal, its fields and topics.
pub(super) struct Prepared {
    /// The parsed mail, or why it is quarantined unread (unparseable, or preparing it
    /// panicked).
    pub(super) inbound: Result<Inbound, Unreadable>,
    pub(super) proposal: Option<decide::Read>,
    /// Looks like a review reply or a decline (see [`review_reply::looks_like_review`]);
    /// matters only when it arrives without an assignment token.
    pub(super) review_like: bool,
    /// For a fresh message (not stored yet), what storing it takes, made
    /// here on a spare core instead of by the writer, the serial step.
    pub(super) ahead: Option<Ahead>,
}

/// What storing a fresh message takes that can be made while it is
/// prepared ([`messages::Processed::sha256`], `packed`), and a new
/// proposal's packed record. Packing (zstd) and hashing on the writer were
/// a tenth of its path
/// (BENCHMARKS.md, "Intake round 2, seventh pass").
pub(super) struct Ahead {
    /// The SHA-256 of its bytes.
    sha256: String,
    /// Its bytes, packed.
    packed: Vec<u8>,
    /// The fields and topics it was read with, packed
    /// ([`crate::store::packed::record::pack`]).
    record: Option<Vec<u8>>,
}

/// Cores intake may fill with parallel work (parsing, tagging) while one
/// batch is written: all but one, which the database writer and
/// the mail source need (at most 4). On two cores that is one: measured with
/// `cargo bench --bench intake`, splitting the work over both cores starved
/// the writer, the serial part, and was slower.
fn spare_cores() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .min(4)
}

/// Split `v`, in order, into at most `workers` runs of about equal length.
fn split_for<T>(mut v: Vec<T>, workers: usize) -> Vec<Vec<T>> {
    let per = v.len().div_ceil(workers.max(1)).max(1);
    let mut parts = Vec::new();
    while !v.is_empty() {
        let rest = v.split_off(per.min(v.len()));
        parts.push(std::mem::replace(&mut v, rest));
    }
    parts
}

/// Run `f`, turning a panic into `Err` with the panic's text. Each message is
/// prepared and handled behind this, so one message that trips a bug in a
/// parser ends `quarantined` (reason `panic`) instead of taking the daemon
/// down or being retried forever.
fn isolated<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| Panicked(panic_text(&*p)))
}

/// The message of a caught panic.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Parse one message and, when it may be a new proposal, read and tag it.
fn prepare_one(
    m: &PendingMessage,
    own: &OwnIdentity,
    tagger: &Tagger,
    rules: &crate::proposal::ProposalRules,
    spec: &review::form::FormSpec,
    fresh: bool,
) -> Prepared {
    let inbound = inbound::parse(&m.raw, own).map_err(|e| Unreadable::Unparseable(e.to_string()));
    let review_like = inbound.as_ref().is_ok_and(|i| {
        i.machine.is_none() && i.from.is_some() && review_reply::looks_like_review(i, spec, rules)
    });
    let proposal = inbound.as_ref().ok().and_then(|i| {
        if i.machine.is_some() || i.from.is_none() || review_like {
            return None;
        }
        let text = i.body_text();
        // "help" still gets a proposal read: fields win over the word.
        if decide::command(&i.subject, &text) == Some(decide::Command::Withdraw) {
            return None;
        }
        let parsed = proposal::parse(&text, rules);
        if parsed.labels_found == 0 || parsed.fields.count_given() == 0 {
            return None;
        }
        let topics = decide::file_topics(tagger, &parsed.fields, &TagOverrides::default());
        Some((parsed, topics))
    });
    let ahead = fresh.then(|| Ahead {
        sha256: messages::sha256_hex(&m.raw),
        packed: crate::store::packed::pack(&m.raw),
        record: proposal
            .as_ref()
            .map(|(parsed, topics)| crate::store::packed::record::pack(&parsed.fields, topics)),
    });
    Prepared {
        inbound,
        proposal,
        review_like,
        ahead,
    }
}

/// A fetched chunk parsed and tagged before anything of it is stored (see
/// [`Intake::write_fresh`]).
pub(super) struct Fresh {
    /// Its messages (row id 0 until stored) and what preparing them found.
    prepared: Vec<(PendingMessage, Prepared)>,
    /// What [`write_batch`](Intake::write_batch) needs to store them.
    received_at: i64,
    /// Where the mailbox cursor moves with them.
    cursor: Option<Cursor>,
    /// Time spent parsing and tagging (for the batch's log line).
    prepare_ms: f64,
}

/// How to store a fresh chunk's messages inside the batch's transaction.
pub(super) struct FreshMeta {
    /// When they were fetched (ms).
    received_at: i64,
    /// The cursor position that covers them.
    cursor: Option<Cursor>,
}

/// How writing a batch ended.
pub(super) enum Written {
    /// Committed: this many messages reached a terminal state.
    Done(usize),
    /// Handling a fresh chunk's message panicked; nothing was written.
    Panicked,
}

/// Prepare a fresh chunk's storing at the start of the batch's transaction:
/// reserve a row id for each message (inserted as the batch flushes, see
/// [`Batch::unstored`]) and move the cursor. A message already stored under
/// its source key (the cursor moves with the rows it covers, so only a
/// cursor set back by hand refetches one) makes the insert fail, and the
/// chunk takes the fallback of [`Intake::write_fresh`], which skips it.
async fn store_fresh(
    tx: &mut AnyConnection,
    backend: store::Backend,
    b: &mut Batch,
    prepared: &mut [(PendingMessage, Prepared)],
    fresh: &FreshMeta,
) -> Result<(), IntakeError> {
    let ids = messages::reserve_ids(tx, backend, prepared.len()).await?;
    for ((m, _), id) in prepared.iter_mut().zip(ids) {
        m.id = id;
        b.unstored.insert(id);
    }
    b.received_at = fresh.received_at;
    if let Some(c) = &fresh.cursor {
        messages::set_cursor(tx, &c.mailbox, c.uidvalidity, c.last_uid).await?;
    }
    Ok(())
}

/// Messages per intake batch (one transaction).
const BATCH: i64 = 1000;

/// Most bytes of mail per intake batch (unless its first message alone is
/// larger): two batches are in memory at once, one written while the next
/// is parsed.
const BATCH_BYTES: i64 = 32 << 20;

impl Intake {
    /// Up to one batch of `received` messages with ids above `after`, oldest first.
    pub(super) async fn pending_after(
        &self,
        after: i64,
    ) -> Result<Vec<PendingMessage>, IntakeError> {
        let mut c = self.store.read_conn().await?;
        Ok(messages::pending(&mut c, after, BATCH, BATCH_BYTES).await?)
    }

    /// The first batch of `received` messages above `after`, parsed and tagged.
    pub(super) async fn read_and_prepare(
        &self,
        after: i64,
    ) -> Result<Option<(Vec<(PendingMessage, Prepared)>, f64)>, IntakeError> {
        let t = std::time::Instant::now();
        let batch = self.pending_after(after).await?;
        if batch.is_empty() {
            return Ok(None);
        }
        let prepared = self.prepare(batch, false).await;
        Ok(Some((prepared, t.elapsed().as_secs_f64() * 1e3)))
    }

    /// A fetched chunk, parsed and tagged from the bytes in memory (its rows
    /// are written by [`Intake::write_fresh`]). Fails when a part of it was
    /// lost to a panic outside the per-message isolation: nothing of the
    /// chunk is stored then, and the cursor stays, so it is fetched again.
    pub(super) async fn prepare_chunk(&self, chunk: Chunk) -> Result<Fresh, IntakeError> {
        let t = std::time::Instant::now();
        let n = chunk.messages.len();
        // A source fetches a chunk at one time.
        let received_at = chunk.messages.first().map_or(0, |m| m.received_at);
        let batch: Vec<PendingMessage> = chunk
            .messages
            .into_iter()
            .map(|m| PendingMessage {
                id: 0,
                arrived_at: m.arrived_at.min(m.received_at),
                source_key: m.source_key,
                raw: m.raw,
                released: false,
            })
            .collect();
        let prepared = self.prepare(batch, true).await;
        if prepared.len() != n {
            return Err(IntakeError::Panic(format!(
                "preparing a fetched chunk lost {} of its {n} messages",
                n - prepared.len()
            )));
        }
        Ok(Fresh {
            prepared,
            received_at,
            cursor: chunk.cursor,
            prepare_ms: t.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Store a prepared chunk and everything its messages did in one
    /// transaction: rows and bytes, outcomes, effects, replies queued, and the
    /// cursor. When that transaction fails (an error, or handling a message
    /// panicked), the chunk is stored as `received` with its cursor instead
    /// and processed from the database ([`Intake::process_pending`]), which
    /// quarantines a panicking message on its own. Returns messages processed.
    pub(super) async fn write_fresh(&self, mut f: Fresh) -> Result<usize, IntakeError> {
        let meta = FreshMeta {
            received_at: f.received_at,
            cursor: f.cursor.take(),
        };
        let why = match self
            .write_batch(&mut f.prepared, f.prepare_ms, Some(&meta))
            .await
        {
            Ok(Written::Done(n)) => {
                // (The fallback's batches are counted by `process_pending`.)
                if let Some(counter) = &self.on_batch {
                    counter.add(n as u64);
                }
                return Ok(n);
            }
            Ok(Written::Panicked) => "handling a message panicked".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(
            messages = f.prepared.len(),
            reason = %why,
            "a fetched chunk could not be stored with its outcome; storing it as received"
        );
        let chunk = Chunk {
            messages: f
                .prepared
                .into_iter()
                .map(|(m, _)| NewMessage {
                    source_key: m.source_key,
                    received_at: meta.received_at,
                    arrived_at: m.arrived_at,
                    raw: m.raw,
                })
                .collect(),
            cursor: meta.cursor,
        };
        let mut tx = self.store.begin().await?;
        messages::store_chunk(&mut tx, &chunk).await?;
        tx.commit().await.ctx("committing received messages")?;
        drop(chunk);
        let mut total = 0;
        loop {
            // A pass stops after quarantining a panicking message alone.
            let n = self.process_pending().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Handle one prepared batch and write its results in one transaction.
    /// With `fresh`, the messages are not stored yet: they are inserted, and
    /// the cursor moved, in the same transaction.
    pub(super) async fn write_batch(
        &self,
        prepared: &mut [(PendingMessage, Prepared)],
        prepare_ms: f64,
        fresh: Option<&FreshMeta>,
    ) -> Result<Written, IntakeError> {
        let t2 = std::time::Instant::now();
        let now = self.clock.now();
        let now_ms = store::ms(now);
        let mut b = Batch::default();
        let mids: Vec<String> = prepared
            .iter()
            .filter_map(|(_, p)| p.inbound.as_ref().ok()?.message_id.clone())
            .collect();
        let mut senders: Vec<String> = prepared
            .iter()
            .filter_map(|(_, p)| Some(p.inbound.as_ref().ok()?.from.as_ref()?.address.clone()))
            .collect();
        senders.sort();
        senders.dedup();
        let mut threads: Vec<String> = prepared
            .iter()
            .filter_map(|(_, p)| caps::thread_key(p.inbound.as_ref().ok()?))
            .collect();
        threads.sort();
        threads.dedup();
        let new_proposals = prepared
            .iter()
            .filter(|(_, p)| p.proposal.is_some())
            .count();
        // The batch's lookups go through the reader, so they need not wait
        // while the source stores a fetched chunk through the writer, and
        // they run while the writer opens the batch's transaction (ids
        // reserved, cursor moved): the two are on different connections
        // (BENCHMARKS.md, "Intake round 2, seventh pass"). They are exact:
        // what they count (processed Message-IDs, automatic replies) only
        // intake writes, one batch after another, and the previous batch has
        // committed; what this one writes, the reader does not see before
        // the commit.
        let lookups = async {
            let mut reader = self.store.read_conn().await?;
            let seen = messages::processed_ids(&mut reader, &mids).await?;
            let caps = caps::Caps::load(&mut reader, &self.cfg, &senders, &threads, now_ms).await?;
            Ok::<_, IntakeError>((seen, caps))
        };
        let opening = async {
            let mut tx = self.store.begin().await?;
            if let Some(fresh) = fresh {
                store_fresh(&mut tx, self.store.backend, &mut b, prepared, fresh).await?;
            }
            if new_proposals > 0 {
                b.reserved_ids = pstore::reserve_ids(&mut tx, self.store.backend, new_proposals)
                    .await?
                    .into();
            }
            Ok::<_, IntakeError>(tx)
        };
        let (looked, opened) = tokio::join!(lookups, opening);
        let mut tx = opened?;
        (b.seen, b.caps) = looked?;
        let n = prepared.len();
        let t3 = std::time::Instant::now();
        let composing = Composing::start(self.composer.clone());
        for (m, p) in prepared.iter() {
            use futures::FutureExt;
            let handled = std::panic::AssertUnwindSafe(async {
                let h = self.handle(&mut tx, &mut b, m, p, now).await?;
                self.record(&mut b, m, p.inbound.as_ref().ok(), h);
                Ok::<(), IntakeError>(())
            })
            .catch_unwind()
            .await;
            if let Err(panic) = handled {
                // What this message wrote so far is part of the batch's transaction:
                // roll all of it back, quarantine the message on its own, and let the
                // rest of the batch be handled again from scratch.
                let why = panic_text(&*panic);
                tracing::error!(message_row = m.id, panic = %why, "handling a message panicked; quarantining it");
                drop(tx);
                if fresh.is_some() {
                    // Rolled back with the rows: the caller stores the chunk as
                    // `received` and the quarantine happens on that path.
                    return Ok(Written::Panicked);
                }
                let h = Handled::from(Decision::Quarantine(Unreadable::Panicked(why)));
                let mut tx = self.store.begin().await?;
                messages::finish_many(&mut tx, &[(m.id, h.state, h.finish)], now_ms).await?;
                tx.commit().await.ctx("quarantining a message")?;
                return Ok(Written::Done(1));
            }
            handled.unwrap_or(Ok(()))?;
            composing.send(&mut b.replies);
        }
        let t4 = std::time::Instant::now();
        // One line per message once its decision is committed (debug: at full
        // speed intake decides thousands of messages a second).
        let decided: Vec<(i64, MessageState, Finish)> = if tracing::enabled!(tracing::Level::DEBUG)
        {
            b.finishes.clone()
        } else {
            Vec::new()
        };
        b.flush(&mut tx, now_ms, prepared).await?;
        let t_wait = std::time::Instant::now();
        let composed = composing.finish().await?;
        let t_queue = std::time::Instant::now();
        b.queue_replies(&mut tx, now_ms, composed).await?;
        let t5 = std::time::Instant::now();
        tx.commit().await.ctx("committing intake results")?;
        for (id, state, f) in &decided {
            tracing::debug!(
                message_row = id,
                message_id = f.message_id.as_deref().unwrap_or(""),
                state = state.as_str(),
                reason = f.reason.map(|r| r.as_str()).unwrap_or(""),
                proposal = f.proposal_id.map(proposal::reference).unwrap_or_default(),
                "message processed"
            );
        }
        let ms = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1e3;
        tracing::debug!(
            messages = n,
            read_prepare_ms = prepare_ms,
            lookups_ms = ms(t2, t3),
            handle_ms = ms(t3, t4),
            flush_ms = ms(t4, t_wait),
            compose_wait_ms = ms(t_wait, t_queue),
            queue_ms = ms(t_queue, t5),
            commit_ms = t5.elapsed().as_secs_f64() * 1e3,
            fresh = fresh.is_some(),
            "intake batch"
        );
        Ok(Written::Done(n))
    }

    /// Parse and pre-tag a batch outside the transaction, split over the cores.
    async fn prepare(
        &self,
        batch: Vec<PendingMessage>,
        fresh: bool,
    ) -> Vec<(PendingMessage, Prepared)> {
        let workers = spare_cores();
        let mut tasks = Vec::new();
        for part in split_for(batch, workers) {
            let own = self.own.clone();
            let tagger = self.tagger.clone();
            let rules = self.cfg.proposals.clone();
            let spec = self.form_spec();
            tasks.push(tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|m| {
                        let prepared =
                            isolated(|| prepare_one(&m, &own, &tagger, &rules, &spec, fresh))
                            .unwrap_or_else(|Panicked(why)| {
                                tracing::error!(message_row = m.id, panic = %why, "preparing a message panicked; quarantining it");
                                Prepared {
                                    inbound: Err(Unreadable::Panicked(why)),
                                    proposal: None,
                                    review_like: false,
                                    ahead: None,
                                }
                            });
                        (m, prepared)
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            match t.await {
                Ok(v) => out.extend(v),
                Err(e) => tracing::error!(error = %e, "preparing a batch panicked"),
            }
        }
        out
    }

    fn record(&self, b: &mut Batch, m: &PendingMessage, inbound: Option<&Inbound>, mut h: Handled) {
        if let (Some(reply), Some(i)) = (h.reply.take(), inbound) {
            if let Some(from) = &i.from {
                // A first acknowledgment is not part of the conversation it may
                // answer: it feeds neither the thread cap nor the breaker.
                let thread = caps::thread_key(i).filter(|_| !h.first_ack);
                let admit = b
                    .caps
                    .admit(&self.cfg, &from.address, thread.as_deref(), h.first_ack);
                let held = match admit {
                    caps::Admit::Drop(why) => {
                        tracing::warn!(message_row = m.id, "{why}");
                        if matches!(why, caps::Suppressed::Breaker(_)) {
                            self.breaker_alert(b);
                        }
                        h.finish.add_note(why.to_string());
                        None
                    }
                    caps::Admit::Hold(why) => {
                        tracing::info!(message_row = m.id, "{why}; acknowledgment held");
                        let note =
                            why.to_string()
                                .replacen("reply suppressed", "acknowledgment held", 1);
                        h.finish
                            .add_note(format!("{note}; sent when the window allows (cfpd outbox)"));
                        Some(true)
                    }
                    caps::Admit::Send => {
                        // Counted now, composed on the composing thread
                        // (see [`Composing`]).
                        b.caps.count(&from.address, thread.as_deref());
                        Some(false)
                    }
                };
                if let Some(held) = held {
                    b.replies.push(PendingReply {
                        kind: reply.kind,
                        to: from.address.clone(),
                        to_name: from.name.clone(),
                        subject: reply.subject,
                        body: reply.body,
                        in_reply_to: i.message_id.clone(),
                        references: i.references.clone(),
                        reply_to: match &reply.token {
                            ReplyToken::Person(a) => Some(a.clone()),
                            _ => None,
                        },
                        reply_token: match reply.token {
                            ReplyToken::Secret(s) => Some(s),
                            ReplyToken::None
                            | ReplyToken::FreshProposal
                            | ReplyToken::Person(_)
                            | ReplyToken::FreshBid(_) => None,
                        },
                        cause_message: m.id,
                        thread_key: thread,
                        held,
                    });
                }
            }
        }
        if let Some(i) = inbound {
            h.finish.message_id = i.message_id.clone();
            h.finish.from_addr = i.from.as_ref().map(|f| f.address.clone());
            h.finish.subject = Some(i.subject.clone());
            if let Some(mid) = &i.message_id {
                if h.state != MessageState::Duplicate {
                    b.seen.entry(mid.clone()).or_insert(m.id);
                }
            }
        }
        if let Some(i) = inbound.filter(|_| h.state != MessageState::NeedsReview) {
            let (local, domain) = (self.cfg.cfp_local(), self.cfg.cfp_domain());
            if i.recipients
                .iter()
                .any(|r| crate::token::extract(r, local, domain).is_some())
            {
                b.redactions.push((m.id, crate::token::redact_mail(&m.raw)));
            }
        }
        b.finishes.push((m.id, h.state, h.finish));
    }

    /// The circuit breaker opened: tell the chairs, once per breaker window.
    fn breaker_alert(&self, b: &mut Batch) {
        if b.caps.alerted {
            return;
        }
        b.caps.alerted = true;
        let l = &self.cfg.limits;
        let body = format!(
            "Hello,\n\ncfpd queued {} or more automatic replies to conversation mail within\n\
             {} minutes ([limits] circuit_breaker_replies / circuit_breaker_minutes). That looks\n\
             like a mail loop, so cfpd has stopped sending automatic replies. It keeps\n\
             recording every message (\"cfpd messages\"; suppressed replies are noted there)\n\
             and starts replying again by itself once the window holds fewer replies.\n\n\
             -- \ncfpd for {}\n",
            l.circuit_breaker_replies, l.circuit_breaker_minutes, self.cfg.conference.name
        );
        let subject = decide::subject(&self.cfg, "Automatic replies paused (possible mail loop)");
        b.mails.extend(notice::for_chairs(
            &self.cfg,
            &self.composer,
            MailKind::BreakerAlert,
            &format!("breaker:{}", b.caps.bucket),
            &subject,
            &body,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proposal keeps the record packed while its message was prepared
    /// only when it is filed with exactly what was read then; any other is
    /// packed as it is written (from its own fields and topics).
    #[test]
    fn a_record_packed_ahead_is_used_only_for_what_it_was_packed_from() {
        use crate::proposal::FiledTopic;
        use crate::store::packed::record;
        let fields = |title: &str| crate::proposal::Fields {
            title: Some(title.into()),
            ..Default::default()
        };
        let topics = vec![FiledTopic {
            id: "web".into(),
            name: "Web".into(),
            score: 2.5,
            evidence: vec!["django".into()],
        }];
        let msg = |id: i64, title: &str| {
            let parsed = crate::proposal::Parsed {
                fields: fields(title),
                labels_found: 1,
            };
            let ahead = Ahead {
                sha256: String::new(),
                packed: Vec::new(),
                record: Some(record::pack(&parsed.fields, &topics)),
            };
            let m = PendingMessage {
                id,
                source_key: format!("k{id}"),
                raw: Vec::new(),
                arrived_at: 0,
                released: false,
            };
            let p = Prepared {
                inbound: Err(Unreadable::Panicked("not read here".into())),
                proposal: Some((parsed, topics.clone())),
                review_like: false,
                ahead: Some(ahead),
            };
            (m, p)
        };
        let msgs = [msg(1, "Async Django"), msg(2, "Async Django")];
        let np = |row: i64, title: &str, topics: Vec<FiledTopic>| pstore::NewProposal {
            id: row,
            speaker_email: "ada@example.org".into(),
            status: crate::model::ProposalStatus::Submitted,
            message_row: row,
            fields: fields(title),
            problems: Vec::new(),
            topics,
            record: None,
        };
        let mut ps = [
            np(1, "Async Django", topics.clone()),
            np(2, "Another title", topics.clone()),
            np(3, "Async Django", topics.clone()),
            np(1, "Async Django", Vec::new()),
        ];
        let by_id: HashMap<i64, ByRow<'_>> = msgs.iter().map(|(m, p)| (m.id, (m, p))).collect();
        packed_ahead(&mut ps, &by_id);
        let read = |r: &Option<Vec<u8>>| r.as_ref().map(|r| record::unpack(r).unwrap());
        assert_eq!(read(&ps[0].record), Some((fields("Async Django"), topics)));
        assert_eq!(ps[1].record, None, "other fields");
        assert_eq!(ps[2].record, None, "no such message");
        assert_eq!(ps[3].record, None, "other topics");
    }

    #[test]
    fn a_panic_becomes_a_quarantine_with_reason_panic_not_a_crash() {
        let r: Result<(), Panicked> = isolated(|| panic!("boom {}", 7));
        assert_eq!(r.unwrap_err().0, "boom 7");
        let r: Result<(), Panicked> = isolated(|| std::panic::panic_any(3u8));
        assert_eq!(r.unwrap_err().0, "unknown panic");
        assert_eq!(isolated(|| 5), Ok(5));
        let h = Handled::from(Decision::Quarantine(Unreadable::Panicked("boom".into())));
        assert_eq!(h.state, MessageState::Quarantined);
        assert_eq!(h.finish.reason.map(|r| r.as_str()), Some("panic"));
        assert!(h.finish.detail.unwrap().contains("boom"));
        assert!(h.reply.is_none(), "never answered");
    }

    /// Replies are composed while the batch's rows are written, so a reply
    /// that could not be composed is noted on a message already written:
    /// the note is added to what its detail says, and the other replies of
    /// the batch are queued.
    #[tokio::test]
    async fn a_reply_not_composed_is_noted_on_its_written_message_and_the_rest_queued() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = store::Store::connect(&url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let new = |n: i64| NewMessage {
            source_key: format!("maildir:{n}"),
            received_at: 1,
            arrived_at: 1,
            raw: b"Subject: s\r\n\r\nbody\r\n".to_vec(),
        };
        messages::insert_received_many(&mut tx, &[new(1), new(2), new(3)])
            .await
            .unwrap();
        let finish = |detail: Option<&str>| Finish {
            detail: detail.map(str::to_string),
            ..Finish::default()
        };
        let finishes = [
            (1, MessageState::Accepted, finish(Some("over the cap"))),
            (2, MessageState::Accepted, finish(None)),
            (3, MessageState::Accepted, finish(None)),
        ];
        messages::finish_many(&mut tx, &finishes, 2).await.unwrap();
        let mail = outbox::NewMail {
            dedup_key: "reply:msg:3".into(),
            kind: MailKind::Ack,
            envelope_from: "cfp@conf.example".into(),
            recipient: "ada@example.org".into(),
            message_id: "m3@conf.example".into(),
            subject: "received".into(),
            raw: b"Subject: received\r\n\r\nThanks.\r\n".to_vec(),
            packed: None,
            reply_secret: None,
            cause_message: Some(3),
            bounce_hash: None,
            thread_key: None,
        };
        let refused = ComposeError::Address {
            address: "a..b@example.org".into(),
            reason: "invalid".into(),
        };
        let composed: Vec<Composed> = vec![
            (1, false, Err(NotSent::Compose(refused))),
            (
                2,
                false,
                Err(NotSent::RenderPanicked(Panicked("boom".into()))),
            ),
            (3, false, Ok(mail)),
        ];
        let mut b = Batch::default();
        b.queue_replies(&mut tx, 3, composed).await.unwrap();
        tx.commit().await.unwrap();

        let mut c = store.conn().await.unwrap();
        let details: Vec<_> = messages::list(&mut c)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.detail.unwrap_or_default())
            .collect();
        assert!(
            details[0].starts_with("over the cap; reply not sent: invalid mail address"),
            "{details:?}"
        );
        assert_eq!(details[1], "reply not sent: rendering it panicked: boom");
        assert_eq!(details[2], "");
        let queued = outbox::list(&mut c).await.unwrap();
        let to: Vec<_> = queued.iter().map(|o| o.recipient.as_str()).collect();
        assert_eq!(to, ["ada@example.org"]);
    }
}
