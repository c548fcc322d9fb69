//! Reminders: time-zone exact, cron-scheduled, state-aware, exactly once.
//!
//! - [`crate::calendar::rules`] — the rules (`[[reminders]]` or the defaults), cron matched
//!   on the conference zone's wall clock, windows relative to deadlines
//!   (plain data in `calendar`, so `config` can validate them without importing this room).
//! - [`audience`] — who is pending at an occurrence, one planned mail per
//!   person listing all their items ([`audience::plan`]).
//! - [`mail`] — a planned mail rendered with fresh reply tokens.
//!
//! [`Scheduler::fire_due`] is the only code that queues reminders. For each
//! rule it looks at the occurrences since the rule's checkpoint, takes only
//! the latest (a catch-up after downtime never floods), fires it if it is
//! still meaningful (inside the rule's window, now as well as then), and in
//! **one transaction** claims a ledger row per (rule, occurrence,
//! recipient), queues the mails of the rows it claimed, stores their tokens
//! and advances the checkpoint. A rule seen for the first time starts at
//! the moment it is first seen: it does not fire for occurrences before
//! cfpd knew about it.
//!
//! [`Scheduler::preview`] runs the same planning for a time range without
//! writing anything, which is what `cfpd reminders --preview` prints.

pub mod audience;
pub mod mail;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use crate::calendar::rules::Rule;
use crate::clock::Clock;
use crate::config::Config;
use crate::outbox::{ComposeError, Composer};
use crate::shutdown::Shutdown;
use crate::store::reminders::{self as rem, NewLedgerRow};
use crate::store::{self, outbox, proposals as pstore, review as rstore, Ctx, Store, StoreError};
use audience::{Planned, Snapshot};
use mail::TokenWrite;

/// A scheduler failure. A failed tick is rolled back entirely and retried.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A built-in template failed to render (a bug in cfpd).
    #[error("rendering template {0}: {1}")]
    Render(&'static str, #[source] askama::Error),
    /// A mail could not be built (an address lettre refuses).
    #[error("composing a reminder to {recipient}: {source}")]
    Compose {
        /// Who it was for.
        recipient: String,
        /// Why it failed.
        #[source]
        source: ComposeError,
    },
}

/// What one rule did in a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The occurrence fired: this many mails were queued (0 when nobody was pending).
    Fired {
        /// Mails queued now (recipients already in the ledger are not counted).
        queued: usize,
        /// Earlier occurrences were passed over because a later one was due (downtime).
        caught_up: bool,
    },
    /// The due occurrence is no longer meaningful (its deadline's window has closed).
    Stale,
}

/// What [`Scheduler::fire_due`] did.
#[derive(Debug, Clone, Default)]
pub struct FireReport {
    /// Per rule with a due occurrence: (rule, occurrence, outcome).
    pub rules: Vec<(String, DateTime<Utc>, Outcome)>,
    /// Mails queued in total.
    pub queued: usize,
}

/// Whether a preview line was already sent or is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewStatus {
    /// In the ledger: queued or sent; the items are what that mail listed.
    Sent,
    /// Due now: the next run (or the running daemon) sends it, as a catch-up if it is past.
    Due,
    /// At a future occurrence, if nothing changes until then.
    Planned,
}

impl PreviewStatus {
    /// How the preview prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewStatus::Sent => "sent",
            PreviewStatus::Due => "due",
            PreviewStatus::Planned => "planned",
        }
    }
}

/// One line of `cfpd reminders --preview`: one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    /// The occurrence.
    pub occurrence: DateTime<Utc>,
    /// The rule's name.
    pub rule: String,
    /// Who gets it.
    pub recipient: String,
    /// What it lists (as the ledger records it).
    pub items: Vec<String>,
    /// Sent, due or planned.
    pub status: PreviewStatus,
}

/// The scheduler: rules, the store and a composer.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// The conference's configuration (rules, zone, deadlines, audiences).
    cfg: Arc<Config>,
    /// Where the ledger, checkpoints and outbox live.
    store: Store,
    /// Builds the mails.
    composer: Composer,
}

/// Longest sleep between checks: the daemon re-reads the clock at least
/// this often, so a changed system clock or a fixed test clock is noticed.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(300);

impl Scheduler {
    /// A scheduler for `cfg`'s rules.
    pub fn new(cfg: Arc<Config>, store: Store, composer: Composer) -> Scheduler {
        Scheduler {
            cfg,
            store,
            composer,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &[Rule] {
        &self.cfg.reminders
    }

    /// The occurrence of `rule` that is due at `now`, given its checkpoint:
    /// the latest occurrence after the checkpoint (for a rule never seen
    /// before: only one exactly at `now`). Earlier ones are passed over.
    pub fn due(
        &self,
        rule: &Rule,
        checkpoint: Option<i64>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let after = checkpoint.map_or(now - Duration::milliseconds(1), store::from_ms);
        rule.latest(&self.cfg.conference.zone, after, now)
    }

    /// Fire every rule whose occurrence is due at `now`, in one transaction.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<FireReport, ScheduleError> {
        let mut report = FireReport::default();
        if self.cfg.reminders.is_empty() {
            return Ok(report);
        }
        let now_ms = store::ms(now);
        let zone = self.cfg.conference.zone;
        let mut tx = self.store.begin().await?;
        rem::lock_for_writing(&mut tx).await?;
        let cps = rem::checkpoints(&mut tx).await?;
        let mut snap: Option<Snapshot> = None;
        for rule in &self.cfg.reminders {
            let cp = cps.get(&rule.name).copied();
            if let Some(o) = self.due(rule, cp, now) {
                if rule.meaningful(o, now) {
                    let caught_up = cp.is_some_and(|c| {
                        rule.latest(&zone, store::from_ms(c), o - Duration::milliseconds(1))
                            .is_some()
                    });
                    if snap.is_none() {
                        snap = Some(Snapshot::load(&mut tx).await?);
                    }
                    let s = snap.as_ref().expect("loaded above");
                    let planned = audience::plan(&mut tx, &self.cfg, rule, o, now, s).await?;
                    let queued = self.queue(&mut tx, rule, &planned, now_ms).await?;
                    report.queued += queued;
                    if caught_up {
                        tracing::info!(rule = %rule.name, occurrence = %o, "reminder caught up after downtime: only the latest missed occurrence fires");
                    }
                    tracing::info!(rule = %rule.name, occurrence = %o, queued, "reminder fired");
                    report
                        .rules
                        .push((rule.name.clone(), o, Outcome::Fired { queued, caught_up }));
                } else {
                    tracing::info!(rule = %rule.name, occurrence = %o, "reminder skipped: its deadline window has closed");
                    report.rules.push((rule.name.clone(), o, Outcome::Stale));
                }
            }
            rem::advance_checkpoint(&mut tx, &rule.name, now_ms, now_ms).await?;
        }
        tx.commit().await.ctx("committing reminders")?;
        Ok(report)
    }

    /// Claim the ledger rows of `planned`, and queue the mails (with their
    /// tokens) of the rows claimed now. Returns how many were queued.
    async fn queue(
        &self,
        tx: &mut store::AnyConnection,
        rule: &Rule,
        planned: &[Planned],
        now_ms: i64,
    ) -> Result<usize, ScheduleError> {
        let mut rendered = Vec::new();
        for p in planned {
            match mail::render(&self.cfg, &self.composer, rule, p) {
                Ok(r) => rendered.push((p, r)),
                // An address no mail can be built for never becomes valid: skip it, loudly.
                Err(ScheduleError::Compose { recipient, source }) => {
                    tracing::warn!(rule = %rule.name, %recipient, error = %source, "reminder not sent: cannot compose");
                }
                Err(e) => return Err(e),
            }
        }
        let rows: Vec<NewLedgerRow> = rendered
            .iter()
            .map(|(p, r)| NewLedgerRow {
                rule: p.rule.clone(),
                occurrence: store::ms(p.occurrence),
                recipient: p.recipient.clone(),
                dedup_key: r.mail.dedup_key.clone(),
                items: p.items(),
            })
            .collect();
        let claimed = rem::claim(tx, &rows, now_ms).await?;
        let mut mails = Vec::new();
        let mut proposal_tokens = Vec::new();
        let mut unsub_tokens = Vec::new();
        for (p, r) in rendered {
            let key = (p.rule.clone(), store::ms(p.occurrence), p.recipient.clone());
            if !claimed.contains(&key) {
                continue;
            }
            for t in r.tokens {
                match t {
                    TokenWrite::Proposal(row) => proposal_tokens.push(row),
                    TokenWrite::Assignment {
                        hash,
                        assignment_id,
                        proposal_id,
                        bound_address,
                    } => {
                        rstore::insert_assignment_token(
                            tx,
                            &hash,
                            assignment_id,
                            proposal_id,
                            &bound_address,
                            now_ms,
                            None,
                        )
                        .await?;
                    }
                    TokenWrite::Unsubscribe(hash, address) => unsub_tokens.push((hash, address)),
                    TokenWrite::Bid(hash, reviewer_id, address) => {
                        crate::store::bids::insert_token(tx, &hash, reviewer_id, &address, now_ms)
                            .await?;
                    }
                    TokenWrite::Chair(hash, address) => {
                        let kind = crate::model::ChairTokenKind::Command;
                        crate::store::chair::insert_token(tx, &hash, kind, &address, None, now_ms)
                            .await?;
                    }
                }
            }
            mails.push(r.mail);
        }
        pstore::insert_tokens(tx, &proposal_tokens, now_ms).await?;
        rem::insert_unsubscribe_tokens(tx, &unsub_tokens, now_ms).await?;
        Ok(outbox::queue_many(tx, &mails, now_ms).await? as usize)
    }

    /// What reminders occur in `[from, until]`, to whom, listing what, as
    /// seen at `now`: occurrences already handled show what the ledger
    /// recorded; the due one and future ones are planned from the current
    /// state by the same [`audience::plan`] that [`Scheduler::fire_due`]
    /// uses. Past occurrences that will never be sent (passed over, or out
    /// of their window) are not listed. Writes nothing.
    pub async fn preview(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PreviewLine>, ScheduleError> {
        let zone = self.cfg.conference.zone;
        let mut c = self.store.conn().await?;
        let cps = rem::checkpoints(&mut c).await?;
        let mut sent: HashMap<(String, i64), Vec<rem::LedgerEntry>> = HashMap::new();
        for e in rem::ledger(&mut c).await? {
            sent.entry((e.rule.clone(), e.occurrence))
                .or_default()
                .push(e);
        }
        let snap = Snapshot::load(&mut c).await?;
        let mut out = Vec::new();
        for rule in &self.cfg.reminders {
            let due = self.due(rule, cps.get(&rule.name).copied(), now);
            let handled_until = cps.get(&rule.name).copied().map(store::from_ms);
            let mut seen: HashSet<i64> = HashSet::new();
            for o in rule.occurrences(&zone, from - Duration::milliseconds(1), until) {
                let key = (rule.name.clone(), store::ms(o));
                if let Some(entries) = sent.get(&key) {
                    for e in entries {
                        out.push(PreviewLine {
                            occurrence: o,
                            rule: e.rule.clone(),
                            recipient: e.recipient.clone(),
                            items: e.items.clone(),
                            status: PreviewStatus::Sent,
                        });
                    }
                    seen.insert(store::ms(o));
                    continue;
                }
                let status = if Some(o) == due && rule.meaningful(o, now) {
                    PreviewStatus::Due
                } else if o > now && handled_until.is_none_or(|h| o > h) && rule.meaningful(o, o) {
                    PreviewStatus::Planned
                } else {
                    continue;
                };
                for p in audience::plan(&mut c, &self.cfg, rule, o, o.max(now), &snap).await? {
                    out.push(PreviewLine {
                        occurrence: o,
                        rule: p.rule.clone(),
                        recipient: p.recipient.clone(),
                        items: p.items(),
                        status,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (a.occurrence, &a.rule, &a.recipient).cmp(&(b.occurrence, &b.rule, &b.recipient))
        });
        Ok(out)
    }

    /// The next instant after `now` at which some rule may fire.
    pub fn next_occurrence(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let zone = self.cfg.conference.zone;
        self.cfg
            .reminders
            .iter()
            .filter_map(|r| r.next_in_window(&zone, now))
            .min()
    }

    /// The daemon's scheduler task: fire what is due, sleep until the next
    /// occurrence (at most five minutes), repeat until shutdown. Queued
    /// mail pokes the sender through `notify`.
    pub async fn run(self, clock: Arc<dyn Clock>, mut shutdown: Shutdown, notify: Arc<Notify>) {
        let mut backoff = crate::backoff::Backoff::new(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(300),
        );
        while !shutdown.is_shutdown() {
            let wait = match self.fire_due(clock.now()).await {
                Ok(r) => {
                    backoff.reset();
                    if r.queued > 0 {
                        notify.notify_one();
                    }
                    let now = clock.now();
                    self.next_occurrence(now)
                        .and_then(|t| (t - now).to_std().ok())
                        .unwrap_or(MAX_SLEEP)
                        .clamp(std::time::Duration::from_millis(10), MAX_SLEEP)
                }
                Err(e) => {
                    let d = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?d, "reminders failed; retrying");
                    d
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.recv() => {}
            }
        }
    }
}
