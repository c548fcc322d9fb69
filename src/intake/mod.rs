//! Intake: every stored message → exactly one terminal state.
//!
//! The pipeline, per message (Discourse's receiver in shape):
//!
//! 1. **receive** — the raw bytes are already in the database (`received`);
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
//! A crash before the commit leaves the messages `received`; they are
//! processed again from scratch after restart, and nothing was sent yet.

mod attachments;
pub mod authres;
mod bounce;
pub mod caps;
pub mod inbound;
pub mod machine;
mod notice;
pub mod reject;
pub mod review_reply;
mod unsubscribe;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;

use crate::clock::Clock;
use crate::config::Config;
use crate::outbox::{templates, AutoSubmitted, Composer, Draft};
use crate::progress::Counter;
use crate::proposal::{self, FiledTopic, ProposalStatus, TagOverrides};
use crate::review::{self, form::ReplyCommand};
use crate::store::messages::{self, Finish, MessageState, PendingMessage};
use crate::store::proposals::{self as pstore, NewVersion, TokenKind};
use crate::store::{self, outbox, AnyConnection, Ctx, Store, StoreError};
use crate::token;
use crate::topics::{TagInput, Tagger};
use inbound::Inbound;
use machine::OwnIdentity;
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
}

/// Commands a person can send as the first word of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Send me the template and topic list.
    Help,
    /// Withdraw the proposal this reply is about.
    Withdraw,
}

/// Recognise a speaker's command: the first meaningful line of the (trimmed) body, or
/// else the subject (after `Re:`), read by [`review::form::parse_command`] — the one
/// recogniser for speakers and reviewers. Reviewer-only commands (decline, conflict) are
/// not speaker commands.
pub fn command(subject: &str, text: &str) -> Option<Command> {
    let speaker = |c: ReplyCommand| match c {
        ReplyCommand::Help => Some(Command::Help),
        ReplyCommand::Withdraw => Some(Command::Withdraw),
        ReplyCommand::Decline | ReplyCommand::Conflict => None,
    };
    if let Some(c) = review::form::parse_command(text) {
        return speaker(c);
    }
    let mut subj = subject.trim();
    while let Some(rest) = subj
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("re:"))
        .map(|_| &subj[3..])
    {
        subj = rest.trim_start();
    }
    review::form::parse_command(subj).and_then(speaker)
}

/// What handling a message produced.
struct Handled {
    state: MessageState,
    finish: Finish,
    reply: Option<ReplySpec>,
}

struct ReplySpec {
    kind: &'static str,
    subject: String,
    body: Body,
    token: Option<String>,
}

/// A reply's text: rendered already, or rendered when the batch's replies
/// are composed (on all cores, see [`Intake::compose_replies`]).
enum Body {
    /// Rendered.
    Ready(String),
    /// Renders it; owns what the template shows.
    Later(Box<dyn FnOnce() -> String + Send>),
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::Ready(s)
    }
}

/// Writes of one batch, collected while its messages are handled and
/// written with multi-row statements before the batch commits. Reads that
/// must see earlier messages of the same batch (duplicates, reply counts)
/// are answered from here.
#[derive(Default)]
struct Batch {
    /// Message-ID → first message that carried it (stored or earlier in this batch).
    seen: HashMap<String, i64>,
    /// Reply budgets (per address, per thread, circuit breaker), including this batch's.
    caps: caps::Caps,
    /// Proposal ids reserved for this batch, used from the front.
    reserved_ids: std::collections::VecDeque<i64>,
    /// Speakers to upsert (address → display name).
    speakers: Vec<(String, Option<String>)>,
    /// New proposals with their first version.
    proposals: Vec<pstore::NewProposal>,
    /// Token hashes.
    tokens: Vec<pstore::NewTokenRow>,
    /// Review-form help replies per reviewer in the last 24 h, including this batch's
    /// (filled lazily: only reviewers who sent an unreadable form are looked up).
    help_counts: HashMap<String, i64>,
    /// Replies to queue.
    mails: Vec<crate::store::outbox::NewMail>,
    /// Replies decided but not yet composed (see [`Intake::compose_replies`]).
    replies: Vec<PendingReply>,
    /// Terminal states.
    finishes: Vec<(i64, MessageState, Finish)>,
}

impl Batch {
    async fn flush(&mut self, tx: &mut AnyConnection, now: i64) -> Result<(), IntakeError> {
        let mut speakers: HashMap<String, Option<String>> = HashMap::new();
        for (e, n) in self.speakers.drain(..) {
            let slot = speakers.entry(e).or_default();
            if n.is_some() {
                *slot = n;
            }
        }
        let mut speakers: Vec<_> = speakers.into_iter().collect();
        speakers.sort();
        pstore::upsert_speakers(tx, &speakers, now).await?;
        pstore::insert_new_many(tx, &self.proposals, now).await?;
        self.proposals.clear();
        pstore::insert_tokens(tx, &self.tokens, now).await?;
        self.tokens.clear();
        outbox::queue_many(tx, &self.mails, now).await?;
        self.mails.clear();
        messages::finish_many(tx, &self.finishes, now).await?;
        self.finishes.clear();
        Ok(())
    }
}

/// An automatic reply decided while a batch is handled. Composing it (MIME,
/// encodings, headers) is a fifth of a batch's work inside its transaction,
/// so it is done once for the whole batch, on all cores, after the
/// handling loop and before the writes.
struct PendingReply {
    /// Index in [`Batch::finishes`] of the message answered: a reply that
    /// cannot be composed is noted in that message's detail.
    finish: usize,
    /// Outbox kind (`ack`, `draft`, `help`, …).
    kind: &'static str,
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
    /// The inbound message answered (row id).
    cause_message: i64,
    /// Conversation key for the per-thread cap.
    thread_key: Option<String>,
}

impl PendingReply {
    fn compose(self, composer: &Composer) -> Result<crate::store::outbox::NewMail, String> {
        let body = match isolated(move || match self.body {
            Body::Ready(s) => s,
            Body::Later(render) => render(),
        }) {
            Ok(b) => b,
            Err(panic) => return Err(format!("reply not sent: rendering it panicked: {panic}")),
        };
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
        match isolated(|| composer.compose(&draft)) {
            Ok(Ok(mut mail)) => {
                mail.thread_key = self.thread_key;
                Ok(mail)
            }
            Ok(Err(e)) => Err(format!("reply not sent: {e}")),
            Err(panic) => Err(format!("reply not sent: composing it panicked: {panic}")),
        }
    }
}

/// Per-message work done before the transaction, on all cores: parsing the
/// mail, and for mail that may be a new proposal, its fields and topics.
struct Prepared {
    inbound: Result<Inbound, inbound::ParseError>,
    proposal: Option<(proposal::Parsed, Vec<FiledTopic>)>,
    /// Looks like a review reply or a decline (see [`review_reply::looks_like_review`]);
    /// matters only when it arrives without an assignment token.
    review_like: bool,
    /// Set when preparing this message panicked (the panic's text): it is
    /// quarantined with reason `panic` instead of being handled.
    panicked: Option<String>,
}

/// Cores intake may fill with parallel work (parsing, tagging, composing)
/// while one batch is written: all but one, which the database writer and
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

/// Add `note` to a message's detail (after what is there, `; `-separated).
fn add_detail(f: &mut Finish, note: String) {
    f.detail = Some(match f.detail.take() {
        Some(d) => format!("{d}; {note}"),
        None => note,
    });
}

/// Run `f`, turning a panic into `Err` with the panic's text. Each message is
/// prepared and handled behind this, so one message that trips a bug in a
/// parser ends `quarantined` (reason `panic`) instead of taking the daemon
/// down or being retried forever.
fn isolated<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| panic_text(&*p))
}

/// The message of a caught panic.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The terminal state of a message whose preparation or handling panicked.
fn quarantined_after_panic(why: &str) -> Handled {
    Handled {
        state: MessageState::Quarantined,
        finish: Finish {
            reason: Some("panic".into()),
            detail: Some(format!("cfpd failed on this message (a bug): {why}")),
            ..Default::default()
        },
        reply: None,
    }
}

/// Parse one message and, when it may be a new proposal, read and tag it.
fn prepare_one(
    m: &PendingMessage,
    own: &OwnIdentity,
    tagger: &Tagger,
    rules: &crate::config::ProposalRules,
    spec: &review::form::FormSpec,
) -> Prepared {
    let inbound = inbound::parse(&m.raw, own);
    let review_like = inbound.as_ref().is_ok_and(|i| {
        i.machine.is_none() && i.from.is_some() && review_reply::looks_like_review(i, spec, rules)
    });
    let proposal = inbound.as_ref().ok().and_then(|i| {
        if i.machine.is_some() || i.from.is_none() || review_like {
            return None;
        }
        let text = i.body_text();
        // "help" still gets a proposal read: fields win over the word.
        if command(&i.subject, &text) == Some(Command::Withdraw) {
            return None;
        }
        let parsed = proposal::parse(&text, rules);
        if parsed.labels_found == 0 || parsed.fields.count_given() == 0 {
            return None;
        }
        let topics = file_topics(tagger, &parsed.fields, &TagOverrides::default());
        Some((parsed, topics))
    });
    Prepared {
        inbound,
        proposal,
        review_like,
        panicked: None,
    }
}

/// Messages per intake batch (one transaction).
const BATCH: i64 = 1000;

/// Most bytes of mail per intake batch (unless its first message alone is
/// larger): two batches are in memory at once, one written while the next
/// is parsed.
const BATCH_BYTES: i64 = 32 << 20;

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
            match self.write_batch(prepared, read_ms).await {
                Ok(n) => {
                    if let Some(counter) = &self.on_batch {
                        counter.add(n as u64);
                    }
                    total += n;
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

    /// Process stored messages while a source is still fetching: a pass
    /// after every chunk it announces on `stored`, and a last one once it
    /// has finished (the sender is dropped); then tell the chairs about
    /// oversized messages the fetch quarantined. Returns messages processed.
    pub async fn process_alongside(
        &self,
        mut stored: tokio::sync::watch::Receiver<usize>,
    ) -> Result<usize, IntakeError> {
        let mut total = 0;
        loop {
            total += self.process_pending().await?;
            if stored.changed().await.is_err() {
                // The fetch ended: its last chunk may have landed after the pass above.
                total += self.process_pending().await?;
                break;
            }
        }
        let mut tx = self.store.begin().await?;
        let now = store::ms(self.clock.now());
        notice::report_too_large(&mut tx, &self.cfg, &self.composer, now).await?;
        tx.commit().await.ctx("committing chairs' notices")?;
        Ok(total)
    }

    /// Up to one batch of `received` messages with ids above `after`, oldest first.
    async fn pending_after(&self, after: i64) -> Result<Vec<PendingMessage>, IntakeError> {
        let mut c = self.store.read_conn().await?;
        Ok(messages::pending(&mut c, after, BATCH, BATCH_BYTES).await?)
    }

    /// The first batch of `received` messages above `after`, parsed and tagged.
    async fn read_and_prepare(
        &self,
        after: i64,
    ) -> Result<Option<(Vec<(PendingMessage, Prepared)>, f64)>, IntakeError> {
        let t = std::time::Instant::now();
        let batch = self.pending_after(after).await?;
        if batch.is_empty() {
            return Ok(None);
        }
        let prepared = self.prepare(batch).await;
        Ok(Some((prepared, t.elapsed().as_secs_f64() * 1e3)))
    }

    /// Handle one prepared batch and write its results in one transaction.
    async fn write_batch(
        &self,
        prepared: Vec<(PendingMessage, Prepared)>,
        prepare_ms: f64,
    ) -> Result<usize, IntakeError> {
        let t2 = std::time::Instant::now();
        let n = prepared.len();
        let now = self.clock.now();
        let now_ms = store::ms(now);
        let mut b = Batch::default();
        let mids: Vec<String> = prepared
            .iter()
            .filter_map(|(_, p)| p.inbound.as_ref().ok()?.message_id.clone())
            .collect();
        // The batch's lookups go through the reader, so they need not wait
        // while the source stores a fetched chunk through the writer. They
        // are exact: what they count (processed Message-IDs, automatic
        // replies) only intake writes, one batch after another, and the
        // previous batch has committed.
        let mut reader = self.store.read_conn().await?;
        b.seen = messages::processed_ids(&mut reader, &mids).await?;
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
        b.caps = caps::Caps::load(&mut reader, &self.cfg, &senders, &threads, now_ms).await?;
        drop(reader);
        let mut tx = self.store.begin().await?;
        let new_proposals = prepared
            .iter()
            .filter(|(_, p)| p.proposal.is_some())
            .count();
        if new_proposals > 0 {
            b.reserved_ids = pstore::reserve_ids(&mut tx, self.store.backend, new_proposals)
                .await?
                .into();
        }
        let t3 = std::time::Instant::now();
        for (m, p) in &prepared {
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
                let h = quarantined_after_panic(&why);
                let mut tx = self.store.begin().await?;
                messages::finish_many(&mut tx, &[(m.id, h.state, h.finish)], now_ms).await?;
                tx.commit().await.ctx("quarantining a message")?;
                return Ok(1);
            }
            handled.unwrap_or(Ok(()))?;
        }
        self.compose_replies(&mut b).await?;
        let t4 = std::time::Instant::now();
        // One line per message once its decision is committed (debug: at full
        // speed intake decides thousands of messages a second).
        let decided: Vec<(i64, MessageState, Finish)> = if tracing::enabled!(tracing::Level::DEBUG)
        {
            b.finishes.clone()
        } else {
            Vec::new()
        };
        b.flush(&mut tx, now_ms).await?;
        let t5 = std::time::Instant::now();
        tx.commit().await.ctx("committing intake results")?;
        for (id, state, f) in &decided {
            tracing::debug!(
                message_row = id,
                message_id = f.message_id.as_deref().unwrap_or(""),
                state = state.as_str(),
                reason = f.reason.as_deref().unwrap_or(""),
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
            flush_ms = ms(t4, t5),
            commit_ms = t5.elapsed().as_secs_f64() * 1e3,
            "intake batch"
        );
        Ok(n)
    }

    /// Compose the batch's decided replies, split over the cores, in the
    /// order they were decided; a reply that cannot be composed is noted in
    /// its message's detail instead of being queued.
    async fn compose_replies(&self, b: &mut Batch) -> Result<(), IntakeError> {
        let replies = std::mem::take(&mut b.replies);
        let workers = spare_cores();
        let results: Vec<(usize, Result<crate::store::outbox::NewMail, String>)> =
            if replies.len() < 64 || workers < 2 {
                replies
                    .into_iter()
                    .map(|r| (r.finish, r.compose(&self.composer)))
                    .collect()
            } else {
                let mut tasks = Vec::new();
                for part in split_for(replies, workers) {
                    let composer = self.composer.clone();
                    tasks.push(tokio::task::spawn_blocking(move || {
                        part.into_iter()
                            .map(|r| (r.finish, r.compose(&composer)))
                            .collect::<Vec<_>>()
                    }));
                }
                let mut out = Vec::new();
                for t in tasks {
                    // `compose` catches panics itself; a task fails only when the
                    // runtime is going away, and then the batch is not committed.
                    out.extend(t.await.map_err(|e| IntakeError::Panic(e.to_string()))?);
                }
                out
            };
        for (finish, r) in results {
            match r {
                Ok(mail) => b.mails.push(mail),
                Err(note) => add_detail(&mut b.finishes[finish].2, note),
            }
        }
        Ok(())
    }

    /// Parse and pre-tag a batch outside the transaction, split over the cores.
    async fn prepare(&self, batch: Vec<PendingMessage>) -> Vec<(PendingMessage, Prepared)> {
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
                        let prepared = isolated(|| prepare_one(&m, &own, &tagger, &rules, &spec))
                            .unwrap_or_else(|why| {
                                tracing::error!(message_row = m.id, panic = %why, "preparing a message panicked; quarantining it");
                                Prepared {
                                    inbound: Err(inbound::ParseError::ParserPanicked(why.clone())),
                                    proposal: None,
                                    review_like: false,
                                    panicked: Some(why),
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
                let thread = caps::thread_key(i);
                match b.caps.check(&self.cfg, &from.address, thread.as_deref()) {
                    Err(why) => {
                        tracing::warn!(message_row = m.id, "{why}");
                        if matches!(why, caps::Suppressed::Breaker(_)) {
                            self.breaker_alert(b);
                        }
                        add_detail(&mut h.finish, why.to_string());
                    }
                    Ok(()) => {
                        // Counted now, composed after the batch's handling loop
                        // (see `compose_replies`), on all cores.
                        b.caps.count(&from.address, thread.as_deref());
                        b.replies.push(PendingReply {
                            finish: b.finishes.len(),
                            kind: reply.kind,
                            to: from.address.clone(),
                            to_name: from.name.clone(),
                            subject: reply.subject,
                            body: reply.body,
                            in_reply_to: i.message_id.clone(),
                            references: i.references.clone(),
                            reply_token: reply.token,
                            cause_message: m.id,
                            thread_key: thread,
                        });
                    }
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
        let subject = self.subject("Automatic replies paused (possible mail loop)");
        b.mails.extend(notice::for_chairs(
            &self.cfg,
            &self.composer,
            "breaker_alert",
            &format!("breaker:{}", b.caps.bucket),
            &subject,
            &body,
        ));
    }

    fn deadline_text(&self) -> String {
        let c = &self.cfg.conference;
        format!(
            "{} ({} UTC)",
            c.zone.format(c.cfp_deadline),
            c.cfp_deadline.format("%Y-%m-%d %H:%M")
        )
    }

    /// Whether the CFP is closed at `now` (deadline plus grace has passed).
    fn closed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        now > self.cfg.conference.cfp_deadline + self.cfg.conference.grace
    }

    fn subject(&self, what: &str) -> String {
        format!("[{}] {what}", self.cfg.conference.name)
    }

    fn help_reply(&self, reason: Option<&str>) -> ReplySpec {
        let p = &self.cfg.proposals;
        let deadline = self.deadline_text();
        let body = templates::Help {
            conference: &self.cfg.conference.name,
            reason,
            cfp_address: &self.cfg.conference.cfp_address,
            formats: p.formats.join(" | "),
            audiences: p.audiences.join(" | "),
            required: p
                .required
                .iter()
                .map(|f| proposal::label(f))
                .collect::<Vec<_>>()
                .join(", "),
            topic_list: self
                .tagger
                .set()
                .topics()
                .iter()
                .map(|t| (t.id.clone(), t.name.clone()))
                .collect(),
            deadline: &deadline,
        }
        .render()
        .unwrap_or_default();
        ReplySpec {
            kind: "help",
            subject: self.subject("How to submit a proposal"),
            body: body.into(),
            token: None,
        }
    }

    fn rejection(&self, r: Rejection, subject: &str) -> Handled {
        let body = r.reply(
            &self.cfg.conference.name,
            &self.cfg.conference.cfp_address,
            subject,
        );
        Handled {
            state: MessageState::Rejected,
            finish: Finish {
                reason: Some(r.code().into()),
                detail: Some(r.detail()),
                ..Default::default()
            },
            reply: body.map(|body| ReplySpec {
                kind: "rejection",
                subject: self.subject(&format!("Re: {subject}")),
                body: body.into(),
                token: None,
            }),
        }
    }

    /// File a proposal under topics: the tagger's choice, then the chair's overrides.
    pub fn topics_for(&self, f: &proposal::Fields, overrides: &TagOverrides) -> Vec<FiledTopic> {
        file_topics(&self.tagger, f, overrides)
    }

    async fn handle(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        prepared: &Prepared,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        if let Some(why) = &prepared.panicked {
            return Ok(quarantined_after_panic(why));
        }
        let i = match &prepared.inbound {
            Err(why) => {
                return Ok(Handled {
                    state: MessageState::Quarantined,
                    finish: Finish {
                        reason: Some("unparseable".into()),
                        detail: Some(why.to_string()),
                        ..Default::default()
                    },
                    reply: None,
                })
            }
            Ok(i) => i,
        };
        if let Some(h) = unsubscribe::handle(tx, &self.cfg, i, m.id, now).await? {
            return Ok(h);
        }
        if let Some(kind) = &i.machine {
            let mut detail = kind.reason().to_string();
            if let Some(info) = kind.bounce() {
                let n =
                    bounce::record(tx, &self.cfg, &self.composer, i, info, m.id, store::ms(now))
                        .await?;
                detail = format!("{detail}; {n}");
            }
            return Ok(Handled {
                state: if kind.is_bounce() {
                    MessageState::Bounce
                } else {
                    MessageState::AutoGenerated
                },
                finish: Finish {
                    reason: Some(kind.label().into()),
                    detail: Some(detail),
                    ..Default::default()
                },
                reply: None,
            });
        }
        if bounce::to_bounce_address(i, &self.cfg).is_some() {
            // Only machines write to a return path; never answer it.
            return Ok(Handled {
                state: MessageState::AutoGenerated,
                finish: Finish {
                    reason: Some("return-path".into()),
                    detail: Some("sent to a bounce (return-path) address".into()),
                    ..Default::default()
                },
                reply: None,
            });
        }
        let limit = self.cfg.proposals.max_message_bytes;
        if m.raw.len() > limit {
            let mut h = self.rejection(
                Rejection::TooLarge {
                    size: m.raw.len(),
                    limit,
                },
                &i.subject,
            );
            h.state = MessageState::Quarantined;
            return Ok(h);
        }
        let Some(from) = &i.from else {
            return Ok(self.rejection(Rejection::NoSender, &i.subject));
        };
        if let Some(mid) = &i.message_id {
            if let Some(&first) = b.seen.get(mid).filter(|f| **f != m.id) {
                return Ok(Handled {
                    state: MessageState::Duplicate,
                    finish: Finish {
                        reason: Some("duplicate".into()),
                        detail: Some(format!("same Message-ID as message {first}")),
                        duplicate_of: Some(first),
                        ..Default::default()
                    },
                    reply: None,
                });
            }
        }
        if let (Some(id), false) = (&self.cfg.authserv_id, m.released) {
            if authres::dmarc(&i.auth_results, id) == Some(authres::Dmarc::Fail) {
                // The From address is probably forged: act on nothing, answer nothing.
                return Ok(Handled {
                    state: MessageState::NeedsReview,
                    finish: Finish {
                        reason: Some("dmarc_fail".into()),
                        detail: Some(format!(
                            "Authentication-Results from {id}: dmarc=fail; release with cfpd messages --release {}",
                            m.id
                        )),
                        ..Default::default()
                    },
                    reply: None,
                });
            }
        }
        if let Some(problem) = attachments::problem(i, &self.cfg.attachments) {
            return Ok(self.rejection(Rejection::Attachments { problem }, &i.subject));
        }
        // Authorize: only a valid reply token selects an existing proposal.
        for r in &i.recipients {
            if let Some(token::Tagged::Reply(secret)) =
                token::extract(r, self.cfg.cfp_local(), self.cfg.cfp_domain())
            {
                let Some(t) = pstore::lookup_token(tx, &token::hash(&secret)).await? else {
                    continue;
                };
                match t.kind {
                    // Expiry and identity are checked there, with typed refusals.
                    TokenKind::Assignment => {
                        return self.review_reply(tx, b, m, i, from, &t, now).await;
                    }
                    TokenKind::Proposal => {
                        let valid = t.expires_at.is_none_or(|e| e > store::ms(now));
                        if let (true, Some(pid)) = (valid, t.proposal_id) {
                            return self
                                .follow_up(tx, b, m, i, from, pid, &t.bound_address, now)
                                .await;
                        }
                    }
                }
            }
        }
        self.new_mail(
            tx,
            b,
            m,
            i,
            prepared.proposal.as_ref(),
            prepared.review_like,
            from,
            now,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn new_mail(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        i: &Inbound,
        prepared: Option<&(proposal::Parsed, Vec<FiledTopic>)>,
        review_like: bool,
        from: &inbound::Mailbox,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        // A proposal read while preparing has passed these checks already (no
        // `withdraw`, labelled fields found, so `help` cannot matter below):
        // only mail that preparing did not read needs its text here.
        let (text, cmd) = match prepared {
            Some(_) => (String::new(), None),
            None => {
                let text = i.body_text();
                let cmd = command(&i.subject, &text);
                (text, cmd)
            }
        };
        if cmd == Some(Command::Withdraw) {
            return Ok(self.rejection(Rejection::WithdrawWithoutToken, &i.subject));
        }
        if review_like {
            // A From header alone never selects an assignment.
            return Ok(self.review_refusal(
                Rejection::ReviewWithoutToken,
                self.subject("Your review was not recorded"),
                true,
                None,
            ));
        }
        let computed;
        let (parsed, topics) = match prepared {
            Some((p, t)) => (p, t.clone()),
            None => {
                computed = proposal::parse(&text, &self.cfg.proposals);
                let t = self.topics_for(&computed.fields, &TagOverrides::default());
                (&computed, t)
            }
        };
        if parsed.labels_found == 0 || parsed.fields.count_given() == 0 {
            if cmd == Some(Command::Help) {
                return Ok(Handled {
                    state: MessageState::Help,
                    finish: Finish {
                        reason: Some("help".into()),
                        ..Default::default()
                    },
                    reply: Some(self.help_reply(None)),
                });
            }
            return Ok(Handled {
                state: MessageState::Help,
                finish: Finish {
                    reason: Some("not_a_proposal".into()),
                    detail: Some("no labelled proposal fields found".into()),
                    ..Default::default()
                },
                reply: Some(self.help_reply(Some(
                    "We could not find a proposal in your message: it has none of the\nlabelled fields below (\"Title:\", \"Abstract:\", …). Nothing was recorded.",
                ))),
            });
        }
        let fields = parsed.fields.clone();
        let problems = proposal::problems(&fields, &self.cfg.proposals);
        let late = self.closed(now);
        let status = if late {
            ProposalStatus::Late
        } else if problems.is_empty() {
            ProposalStatus::Submitted
        } else {
            ProposalStatus::Draft
        };
        let pid = match b.reserved_ids.pop_front() {
            Some(id) => id,
            None => pstore::reserve_ids(tx, self.store.backend, 1).await?[0],
        };
        b.speakers.push((from.address.clone(), from.name.clone()));
        b.proposals.push(pstore::NewProposal {
            id: pid,
            speaker_email: from.address.clone(),
            status,
            message_row: m.id,
            fields: fields.clone(),
            problems: problems.clone(),
            topics: topics.clone(),
        });
        let tok = token::generate();
        b.tokens.push(pstore::NewTokenRow {
            hash: tok.hash.clone(),
            kind: TokenKind::Proposal,
            proposal_id: Some(pid),
            bound_address: from.address.clone(),
        });
        let reference = proposal::reference(pid);
        let deadline = self.deadline_text();
        let record = templates::record(&fields);
        let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
        // Acks and draft replies are rendered later, with the batch's other
        // replies, on all cores (see `Intake::compose_replies`): the closures
        // own what the templates show.
        let conference = self.cfg.conference.name.clone();
        let speaker_name = from.name.clone();
        let (state, kind, subject, body) = if late {
            let body = templates::Closed {
                conference: &conference,
                speaker_name: speaker_name.as_deref(),
                reference: &reference,
                record,
                deadline: &deadline,
            }
            .render();
            (
                MessageState::Accepted,
                "closed",
                self.subject(&format!("{reference} received after the deadline: {title}")),
                Body::Ready(body.unwrap_or_default()),
            )
        } else if problems.is_empty() {
            let subject = self.subject(&format!("{reference} received: {title}"));
            let body = Body::Later(Box::new(move || {
                templates::Ack {
                    conference: &conference,
                    speaker_name: speaker_name.as_deref(),
                    reference: &reference,
                    record,
                    topics: &topics,
                    deadline: &deadline,
                }
                .render()
                .unwrap_or_default()
            }));
            (MessageState::Accepted, "ack", subject, body)
        } else {
            let missing_labels = self
                .cfg
                .proposals
                .required
                .iter()
                .filter(|f| fields.get(f).is_none())
                .map(|f| proposal::label(f))
                .collect();
            let subject = self.subject(&format!("{reference} saved as a draft: {title}"));
            let problems = problems.clone();
            let body = Body::Later(Box::new(move || {
                templates::DraftReply {
                    conference: &conference,
                    speaker_name: speaker_name.as_deref(),
                    reference: &reference,
                    problems: &problems,
                    missing_labels,
                    record,
                    topics: &topics,
                    deadline: &deadline,
                }
                .render()
                .unwrap_or_default()
            }));
            (MessageState::Draft, "draft", subject, body)
        };
        Ok(Handled {
            state,
            finish: Finish {
                reason: if late {
                    Some("late_entry".into())
                } else {
                    (!problems.is_empty()).then(|| "missing_fields".into())
                },
                detail: (!problems.is_empty()).then(|| problems.join(" ")),
                proposal_id: Some(pid),
                ..Default::default()
            },
            reply: Some(ReplySpec {
                kind,
                subject,
                body,
                token: Some(tok.secret),
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn follow_up(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        i: &Inbound,
        from: &inbound::Mailbox,
        pid: i64,
        bound: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let reference = proposal::reference(pid);
        if from.address != bound {
            return Ok(self.rejection(
                Rejection::SenderMismatch {
                    reference,
                    from: from.address.clone(),
                },
                &i.subject,
            ));
        }
        let Some(p) = pstore::get(tx, pid).await? else {
            // A token for a proposal that no longer exists: treat as new mail.
            return self.new_mail(tx, b, m, i, None, false, from, now).await;
        };
        let text = i.reply_text();
        let now_ms = store::ms(now);
        let cmd = command(&i.subject, &text);
        if cmd == Some(Command::Help) {
            return Ok(Handled {
                state: MessageState::Help,
                finish: Finish {
                    reason: Some("help".into()),
                    proposal_id: Some(pid),
                    ..Default::default()
                },
                reply: Some(self.help_reply(None)),
            });
        }
        if p.status == ProposalStatus::Withdrawn {
            return Ok(self.rejection(Rejection::ProposalWithdrawn { reference }, &i.subject));
        }
        if cmd == Some(Command::Withdraw) {
            pstore::set_status(tx, pid, ProposalStatus::Withdrawn, now_ms).await?;
            let title = p.fields.title.clone().unwrap_or_else(|| "untitled".into());
            let body = templates::Withdrawn {
                conference: &self.cfg.conference.name,
                speaker_name: from.name.as_deref(),
                reference: &reference,
                title: &title,
            }
            .render()
            .unwrap_or_default();
            return Ok(Handled {
                state: MessageState::Withdrawn,
                finish: Finish {
                    proposal_id: Some(pid),
                    ..Default::default()
                },
                reply: Some(ReplySpec {
                    kind: "withdrawn",
                    subject: self.subject(&format!("{reference} withdrawn")),
                    body: body.into(),
                    token: None,
                }),
            });
        }
        if self.closed(now) {
            let deadline = self.deadline_text();
            return Ok(self.rejection(
                Rejection::CfpClosed {
                    reference,
                    deadline,
                },
                &i.subject,
            ));
        }
        let parsed = proposal::parse(&text, &self.cfg.proposals);
        if parsed.fields.count_given() == 0 {
            return Ok(self.rejection(Rejection::UpdateNotUnderstood { reference }, &i.subject));
        }
        let fields = p.fields.merged_with(&parsed.fields);
        let problems = proposal::problems(&fields, &self.cfg.proposals);
        let topics = self.topics_for(&fields, &p.overrides);
        let status = if problems.is_empty() {
            ProposalStatus::Submitted
        } else {
            ProposalStatus::Draft
        };
        let version = p.version + 1;
        pstore::insert_version(
            tx,
            &NewVersion {
                proposal_id: pid,
                version,
                message_row: Some(m.id),
                fields: &fields,
                problems: &problems,
                topics: &topics,
            },
            status,
            now_ms,
        )
        .await?;
        let tok = token::generate();
        b.tokens.push(pstore::NewTokenRow {
            hash: tok.hash.clone(),
            kind: TokenKind::Proposal,
            proposal_id: Some(pid),
            bound_address: bound.to_string(),
        });
        let deadline = self.deadline_text();
        let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
        let body = templates::Updated {
            conference: &self.cfg.conference.name,
            speaker_name: from.name.as_deref(),
            reference: &reference,
            version,
            problems: &problems,
            record: templates::record(&fields),
            topics: &topics,
            deadline: &deadline,
        }
        .render()
        .unwrap_or_default();
        Ok(Handled {
            state: MessageState::Updated,
            finish: Finish {
                proposal_id: Some(pid),
                detail: Some(format!("version {version}")),
                ..Default::default()
            },
            reply: Some(ReplySpec {
                kind: "updated",
                subject: self.subject(&format!("{reference} updated: {title}")),
                body: body.into(),
                token: Some(tok.secret),
            }),
        })
    }
}

/// The topics a proposal is filed under: the tagger's choice, then the chair's
/// overrides (removals dropped, additions kept with a note as evidence).
pub fn file_topics(
    tagger: &Tagger,
    f: &proposal::Fields,
    overrides: &TagOverrides,
) -> Vec<FiledTopic> {
    let declared = f.topics.clone().unwrap_or_default();
    let input = TagInput {
        title: f.title.as_deref().unwrap_or(""),
        abstract_text: f.abstract_text.as_deref().unwrap_or(""),
        description: f.description.as_deref().unwrap_or(""),
        declared: &declared,
    };
    let ranked = tagger.rank(&input);
    let mut filed: Vec<FiledTopic> = tagger
        .file(&ranked)
        .into_iter()
        .filter(|t| !overrides.remove.contains(&t.id))
        .map(|t| FiledTopic {
            id: t.id,
            name: t.name,
            score: t.score,
            evidence: t.evidence,
        })
        .collect();
    for id in &overrides.add {
        if filed.iter().any(|t| &t.id == id) {
            continue;
        }
        if let Some(t) = tagger.set().get(id) {
            filed.push(FiledTopic {
                id: t.id.clone(),
                name: t.name.clone(),
                score: 0.0,
                evidence: vec!["added by the program chair".into()],
            });
        }
    }
    filed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_quarantine_with_reason_panic_not_a_crash() {
        let r: Result<(), String> = isolated(|| panic!("boom {}", 7));
        assert_eq!(r.unwrap_err(), "boom 7");
        let r: Result<(), String> = isolated(|| std::panic::panic_any(3u8));
        assert_eq!(r.unwrap_err(), "unknown panic");
        assert_eq!(isolated(|| 5), Ok(5));
        let h = quarantined_after_panic("boom");
        assert_eq!(h.state, MessageState::Quarantined);
        assert_eq!(h.finish.reason.as_deref(), Some("panic"));
        assert!(h.finish.detail.unwrap().contains("boom"));
        assert!(h.reply.is_none(), "never answered");
    }

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
