//! Who is pending, and what each of their mails lists.
//!
//! [`plan`] turns one occurrence of one rule into at most one [`Planned`]
//! mail per person, each listing all of that person's pending items. People
//! with nothing pending are not in the plan. It only reads: the scheduler
//! queues the plan (`Scheduler::fire_due`) and `cfpd reminders --preview`
//! prints it, so what the preview shows is what is sent.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::calendar::rules::{Audience, Rule, TemplateName};
use crate::config::Config;
use crate::model::{Decision, DecisionRow, ProposalStatus};
use crate::store::proposals::{self as pstore, ProposalRow};
use crate::store::reminders::{self as rem, BounceRow};
use crate::store::review::{self as rstore, Assignment, PendingReview, Reviewer};
use crate::store::{self, AnyConnection, StoreError};

/// The state reminders are planned from, read once per scheduler tick.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every proposal with its current version.
    pub proposals: Vec<ProposalRow>,
    /// Pending reviews, per [`rstore::pending_reviews`] (the one definition).
    pub pending: Vec<PendingReview>,
    /// Every assignment (the digest's declines and conflicts).
    pub assignments: Vec<Assignment>,
    /// The roster (addresses for the digest).
    pub reviewers: Vec<Reviewer>,
    /// Announcement addresses that unsubscribed.
    pub unsubscribed: HashSet<String>,
    /// Every proposal's current decision.
    pub decisions: Vec<DecisionRow>,
    /// Reviewers sent a bidding mail who have not bid (`store::bids::invited_without_bids`).
    pub without_bids: Vec<i64>,
}

impl Snapshot {
    /// Read everything planning needs, on one connection (inside the
    /// scheduler's transaction, so the plan and the ledger agree).
    pub async fn load(conn: &mut AnyConnection) -> Result<Snapshot, StoreError> {
        Ok(Snapshot {
            proposals: pstore::list(conn).await?,
            pending: rstore::pending_reviews(conn).await?,
            assignments: rstore::assignments(conn).await?,
            reviewers: rstore::reviewers(conn).await?,
            unsubscribed: rem::unsubscribed(conn).await?,
            decisions: crate::store::decisions::current_all(conn).await?,
            without_bids: crate::store::bids::invited_without_bids(conn).await?,
        })
    }
}

/// A draft in a speaker's reminder.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftItem {
    /// The proposal.
    pub proposal_id: i64,
    /// Its title, or "untitled".
    pub title: String,
    /// What is still missing or wrong.
    pub problems: Vec<String>,
}

/// An accepted talk its speaker has neither confirmed nor declined.
#[derive(Debug, Clone, PartialEq)]
pub struct UnconfirmedItem {
    /// The proposal.
    pub proposal_id: i64,
    /// Its title.
    pub title: String,
    /// Its speaker's address.
    pub speaker: String,
}

/// The accepted talks waiting for their speaker's answer: told, not
/// confirmed or declined, not withdrawn. The one definition, for the
/// reminders, the digest and `cfpd report`.
pub fn unconfirmed(snap: &Snapshot) -> Vec<UnconfirmedItem> {
    let by_id: HashMap<i64, &ProposalRow> = snap.proposals.iter().map(|p| (p.id, p)).collect();
    snap.decisions
        .iter()
        .filter(|d| d.current && d.decision == Decision::Accepted)
        .filter(|d| d.notified_at.is_some() && d.confirmation.is_none())
        .filter_map(|d| by_id.get(&d.proposal_id))
        .filter(|p| p.status != ProposalStatus::Withdrawn)
        .map(|p| UnconfirmedItem {
            proposal_id: p.id,
            title: title_of(p),
            speaker: p.speaker_email.clone(),
        })
        .collect()
}

/// A pending review in a reviewer's reminder.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    /// The assignment (a fresh reply token is bound to it).
    pub assignment_id: i64,
    /// The proposal.
    pub proposal_id: i64,
    /// Its title.
    pub title: String,
}

/// What the chairs' digest reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// Proposals per status, in a fixed order, statuses with none left out.
    pub by_status: Vec<(ProposalStatus, usize)>,
    /// Per topic name: counts in the order of [`DIGEST_STATUSES`].
    pub topics: Vec<(String, [usize; 4])>,
    /// Pending reviews in total.
    pub pending_reviews: usize,
    /// Reviewers with a pending review.
    pub pending_reviewers: usize,
    /// After the review deadline: reviewers with pending reviews, and how many.
    pub overdue: Vec<(String, usize)>,
    /// Bounces since the previous digest of this rule (`None`: since the start).
    pub since: Option<DateTime<Utc>>,
    /// Those bounces.
    pub bounces: Vec<BounceRow>,
    /// Declined or conflicting assignments: (proposal id, reviewer address, state).
    pub declines: Vec<(i64, String, String)>,
    /// Every address cfpd no longer mails because it bounced (not only since the
    /// previous digest: the chairs should always see whom they cannot reach).
    pub undeliverable: Vec<crate::store::bounces::Undeliverable>,
    /// Mails that may not have arrived (`uncertain`), until a chair resolves each.
    pub uncertain: Vec<crate::store::outbox::UncertainMail>,
    /// Accepted talks whose speaker has not answered yet.
    pub unconfirmed: Vec<UnconfirmedItem>,
    /// Late proposals (after the deadline) with no decision and not taken
    /// into review: a chair accepts them into review or decides them.
    pub late: Vec<UnconfirmedItem>,
    /// Inbound mail held for a chair (`needs_review`: the sender may be forged).
    pub held: Vec<crate::store::messages::MessageSummary>,
}

/// Statuses the digest's topic table has columns for.
pub const DIGEST_STATUSES: [ProposalStatus; 4] = [
    ProposalStatus::Submitted,
    ProposalStatus::Draft,
    ProposalStatus::Late,
    ProposalStatus::Withdrawn,
];

/// What one mail is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A speaker's drafts (at least one).
    Drafts(Vec<DraftItem>),
    /// A reviewer's pending reviews (at least one).
    Reviews {
        /// The reviews.
        items: Vec<ReviewItem>,
        /// Worded for after the review deadline.
        overdue: bool,
    },
    /// The chairs' digest.
    Digest(Box<Digest>),
    /// "Last call for proposals".
    LastCall,
    /// A speaker's accepted talks still waiting for their answer (at least one).
    Unconfirmed(Vec<UnconfirmedItem>),
    /// A reviewer who has not bid: the proposals of their topics again (at least one).
    Bids {
        /// The reviewer (a fresh bidding token is bound to them).
        reviewer_id: i64,
        /// The proposals, as the bidding mail lists them.
        items: Vec<crate::outbox::templates::BidItemView>,
    },
}

/// One reminder mail to be sent: the unit the ledger records.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The rule's name.
    pub rule: String,
    /// The occurrence it belongs to (the ledger key; the mail may leave later, in a catch-up).
    pub occurrence: DateTime<Utc>,
    /// Who gets it.
    pub recipient: String,
    /// Their display name, if known.
    pub name: Option<String>,
    /// What it lists.
    pub content: Content,
}

impl Planned {
    /// One line per item, as the preview shows them and the ledger stores them.
    pub fn items(&self) -> Vec<String> {
        match &self.content {
            Content::Drafts(ds) => ds
                .iter()
                .map(|d| {
                    let missing: Vec<&str> =
                        d.problems.iter().map(|p| p.trim_end_matches('.')).collect();
                    format!(
                        "{} \"{}\": {}",
                        crate::proposal::reference(d.proposal_id),
                        d.title,
                        missing.join("; ")
                    )
                })
                .collect(),
            Content::Reviews { items, overdue } => items
                .iter()
                .map(|r| {
                    format!(
                        "{} \"{}\"{}",
                        crate::proposal::reference(r.proposal_id),
                        r.title,
                        if *overdue { " (overdue)" } else { "" }
                    )
                })
                .collect(),
            Content::Digest(d) => {
                let total: usize = d.by_status.iter().map(|(_, n)| n).sum();
                let mut line = format!("digest: {total} proposal(s)");
                for (n, what) in [
                    (d.pending_reviews, "pending review(s)"),
                    (d.overdue.len(), "overdue reviewer(s)"),
                    (d.bounces.len(), "bounce(s)"),
                    (d.declines.len(), "decline(s)/conflict(s)"),
                    (d.unconfirmed.len(), "unconfirmed talk(s)"),
                ] {
                    if n > 0 {
                        line.push_str(&format!(", {n} {what}"));
                    }
                }
                vec![line]
            }
            Content::LastCall => vec!["last call for proposals".into()],
            Content::Bids { items, .. } => items
                .iter()
                .map(|b| format!("{} (no bid yet)", b.reference))
                .collect(),
            Content::Unconfirmed(items) => items
                .iter()
                .map(|u| {
                    format!(
                        "{} \"{}\" (not confirmed yet)",
                        crate::proposal::reference(u.proposal_id),
                        u.title
                    )
                })
                .collect(),
        }
    }
}

/// Lines of each abstract the bidding mail and its reminder show.
pub const BID_ABSTRACT_LINES: usize = 3;

fn title_of(p: &ProposalRow) -> String {
    p.fields
        .title
        .clone()
        .map(|t| crate::outbox::one_line(&t))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "untitled".into())
}

/// The mails one occurrence of `rule` causes, given `snap`: at most one per
/// person, listing all their pending items, nobody with nothing pending.
/// `at` is when the mails are handled (the occurrence itself, or later in a
/// catch-up): a reviewer reminder handled after the review deadline is
/// worded as overdue. Reads the database only for the digest's bounces.
pub async fn plan(
    conn: &mut AnyConnection,
    cfg: &Config,
    rule: &Rule,
    occurrence: DateTime<Utc>,
    at: DateTime<Utc>,
    snap: &Snapshot,
) -> Result<Vec<Planned>, StoreError> {
    let planned = |recipient: &str, name: Option<&str>, content: Content| Planned {
        rule: rule.name.clone(),
        occurrence,
        recipient: recipient.to_string(),
        name: name.map(str::to_string),
        content,
    };
    Ok(match rule.audience {
        Audience::DraftSpeakers => {
            let mut per: BTreeMap<&str, (Option<&str>, Vec<DraftItem>)> = BTreeMap::new();
            for p in snap
                .proposals
                .iter()
                .filter(|p| p.status == ProposalStatus::Draft)
            {
                let e = per.entry(p.speaker_email.as_str()).or_default();
                if e.0.is_none() {
                    e.0 = p.speaker_name.as_deref();
                }
                e.1.push(DraftItem {
                    proposal_id: p.id,
                    title: title_of(p),
                    problems: p.problems.clone(),
                });
            }
            per.into_iter()
                .map(|(to, (name, items))| planned(to, name, Content::Drafts(items)))
                .collect()
        }
        Audience::PendingReviewers => {
            let titles: HashMap<i64, String> =
                snap.proposals.iter().map(|p| (p.id, title_of(p))).collect();
            let overdue = rule.template == TemplateName::ReviewOverdue
                || rule.deadline.is_some_and(|d| occurrence.max(at) > d);
            let mut per: BTreeMap<&str, (Option<&str>, Vec<ReviewItem>)> = BTreeMap::new();
            for r in &snap.pending {
                let e = per.entry(r.reviewer_email.as_str()).or_default();
                e.0 = r.reviewer_name.as_deref();
                e.1.push(ReviewItem {
                    assignment_id: r.assignment_id,
                    proposal_id: r.proposal_id,
                    title: titles.get(&r.proposal_id).cloned().unwrap_or_default(),
                });
            }
            per.into_iter()
                .map(|(to, (name, items))| planned(to, name, Content::Reviews { items, overdue }))
                .collect()
        }
        Audience::Chairs => {
            let since = rem::previous_occurrence(conn, &rule.name, store::ms(occurrence))
                .await?
                .map(store::from_ms);
            let bounces = rem::bounces_between(
                conn,
                since.map_or(i64::MIN, store::ms),
                store::ms(occurrence),
            )
            .await?;
            let mut d = digest(cfg, occurrence, snap, since, bounces);
            d.undeliverable = crate::store::bounces::list(conn).await?;
            d.uncertain = crate::store::outbox::uncertain(conn, i64::MAX).await?;
            d.held = crate::store::messages::held_for_review(conn).await?;
            let quiet = d.by_status.is_empty()
                && d.bounces.is_empty()
                && d.declines.is_empty()
                && d.uncertain.is_empty()
                && d.unconfirmed.is_empty()
                && d.held.is_empty();
            if quiet {
                Vec::new()
            } else {
                cfg.chairs
                    .iter()
                    .map(|c| planned(c, None, Content::Digest(Box::new(d.clone()))))
                    .collect()
            }
        }
        Audience::Announce => cfg
            .announce
            .iter()
            .filter(|a| !snap.unsubscribed.contains(*a))
            .map(|a| planned(a, None, Content::LastCall))
            .collect(),
        Audience::ReviewersWithoutBids => snap
            .reviewers
            .iter()
            .filter(|r| snap.without_bids.contains(&r.id))
            .filter_map(|r| {
                let items: Vec<_> = crate::assign::plan::proposals_for(r, &snap.proposals)
                    .into_iter()
                    .map(|p| crate::outbox::templates::BidItemView::new(p, BID_ABSTRACT_LINES))
                    .collect();
                let content = Content::Bids {
                    reviewer_id: r.id,
                    items,
                };
                Some(planned(&r.email, r.name.as_deref(), content)).filter(
                    |p| !matches!(&p.content, Content::Bids { items, .. } if items.is_empty()),
                )
            })
            .collect(),
        Audience::UnconfirmedSpeakers => {
            let names: HashMap<&str, Option<&str>> = snap
                .proposals
                .iter()
                .map(|p| (p.speaker_email.as_str(), p.speaker_name.as_deref()))
                .collect();
            let mut per: BTreeMap<String, Vec<UnconfirmedItem>> = BTreeMap::new();
            for u in unconfirmed(snap) {
                per.entry(u.speaker.clone()).or_default().push(u);
            }
            per.into_iter()
                .map(|(to, items)| {
                    let name = names.get(to.as_str()).copied().flatten();
                    planned(&to, name, Content::Unconfirmed(items))
                })
                .collect()
        }
    })
}

fn digest(
    cfg: &Config,
    occurrence: DateTime<Utc>,
    snap: &Snapshot,
    since: Option<DateTime<Utc>>,
    bounces: Vec<BounceRow>,
) -> Digest {
    let col = |s: ProposalStatus| DIGEST_STATUSES.iter().position(|x| *x == s);
    let mut totals = [0usize; 4];
    let mut topics: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for p in &snap.proposals {
        let Some(c) = col(p.status) else { continue };
        totals[c] += 1;
        if p.topics.is_empty() {
            topics.entry("(untagged)".into()).or_default()[c] += 1;
        }
        for t in &p.topics {
            topics.entry(t.name.clone()).or_default()[c] += 1;
        }
    }
    let by_status = DIGEST_STATUSES
        .iter()
        .zip(totals)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (*s, n))
        .collect();
    let mut per_reviewer: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &snap.pending {
        *per_reviewer.entry(r.reviewer_email.as_str()).or_default() += 1;
    }
    let overdue = match cfg.conference.review_deadline {
        Some(rd) if occurrence > rd => per_reviewer
            .iter()
            .map(|(e, n)| (e.to_string(), *n))
            .collect(),
        _ => Vec::new(),
    };
    let email: HashMap<i64, &str> = snap
        .reviewers
        .iter()
        .map(|r| (r.id, r.email.as_str()))
        .collect();
    let declines = snap
        .assignments
        .iter()
        .filter(|a| a.state != crate::model::AssignmentState::Active)
        .map(|a| {
            (
                a.proposal_id,
                email
                    .get(&a.reviewer_id)
                    .copied()
                    .unwrap_or("?")
                    .to_string(),
                a.state.as_str().to_string(),
            )
        })
        .collect();
    Digest {
        by_status,
        topics: topics.into_iter().collect(),
        pending_reviews: snap.pending.len(),
        pending_reviewers: per_reviewer.len(),
        overdue,
        since,
        bounces,
        declines,
        undeliverable: Vec::new(),
        uncertain: Vec::new(),
        unconfirmed: unconfirmed(snap),
        late: late(snap),
        held: Vec::new(),
    }
}

/// Late proposals no chair has acted on: still `late` (not accepted into
/// review) and without a current decision.
fn late(snap: &Snapshot) -> Vec<UnconfirmedItem> {
    let decided: HashSet<i64> = snap
        .decisions
        .iter()
        .filter(|d| d.current)
        .map(|d| d.proposal_id)
        .collect();
    snap.proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Late && !decided.contains(&p.id))
        .map(|p| UnconfirmedItem {
            proposal_id: p.id,
            title: title_of(p),
            speaker: p.speaker_email.clone(),
        })
        .collect()
}
