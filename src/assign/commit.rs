//! Storing new assignments together with their reply tokens and assignment mails.
//!
//! Shared by the chair's `cfpd assign --commit` and by intake, which refills a proposal
//! when its reviewer declines or declares a conflict: both store an assignment, the hash
//! of a fresh reply token bound to the reviewer's address, and one blind assignment mail
//! (outbox `dedup_key` `assign:<id>`: never twice), all in the caller's transaction.
//!
//! The one file of [`crate::assign`] that does I/O (it writes through the store and
//! renders mail): kept apart so that the solver, the plan, the conflict rules and the
//! benchmark format stay pure and testable without a database.

use crate::outbox::custom::Mail;
use chrono::{DateTime, Duration, Utc};

use super::{plan, solver};
use crate::config::Config;
use crate::model::{ProposalRow, ProposalStatus, Reviewer};
use crate::outbox::{templates, AutoSubmitted, Composer, Draft};
use crate::store::review::{self as rstore, ASSIGNMENT_MAIL_KEY};
use crate::store::{self, outbox, AnyConnection, StoreError};

/// How long an assignment's reply tokens keep working after the review deadline: replies
/// in this window get a clear "review is closed" answer; later ones only "this address
/// has expired".
pub const TOKEN_GRACE_AFTER_DEADLINE: Duration = Duration::days(30);

/// Without a configured review deadline, a token works this long after it was issued
/// (plus [`TOKEN_GRACE_AFTER_DEADLINE`]).
pub const TOKEN_LIFETIME_WITHOUT_DEADLINE: Duration = Duration::days(180);

/// Why assignments could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    /// The database failed; the caller's transaction must be rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The template failed to render.
    #[error("assignment mail template: {0}")]
    Render(#[from] askama::Error),
}

/// When a reply token for an assignment issued at `now` stops authorizing anything (ms).
pub fn token_expiry(cfg: &Config, now: DateTime<Utc>) -> i64 {
    let end = cfg
        .conference
        .review_deadline
        .unwrap_or(now + TOKEN_LIFETIME_WITHOUT_DEADLINE);
    store::ms(end + TOKEN_GRACE_AFTER_DEADLINE)
}

/// A pair the solver chose, to store.
#[derive(Debug, Clone, Copy)]
pub struct NewPair<'a> {
    /// The proposal.
    pub proposal: &'a ProposalRow,
    /// The reviewer.
    pub reviewer: &'a Reviewer,
    /// Affinity (topics ×1000 plus the bid weight, see `plan::bid_weight`), kept for the
    /// chair's listings.
    pub affinity: i64,
}

/// What [`store_pairs`] stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// (index into the `pairs` argument, new assignment id) for every pair stored; pairs
    /// that already existed, or whose mail could not be built, are absent.
    pub ids: Vec<(usize, i64)>,
    /// Assignment mails queued (one per stored pair).
    pub queued: u64,
    /// Pairs left out because their mail could not be built: (reviewer address, why).
    /// Nothing was written for them.
    pub failed: Vec<(String, String)>,
}

/// Store the pairs (those already stored are skipped), each with a fresh token and its
/// queued assignment mail. Every pair is complete (assignment, token hash, mail) or
/// absent: the mail is built before anything is written, so an unusable address leaves
/// nothing behind and is reported in [`Stored::failed`].
pub async fn store_pairs(
    conn: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    pairs: &[NewPair<'_>],
    now: DateTime<Utc>,
) -> Result<Stored, AssignmentError> {
    let now_ms = store::ms(now);
    let expires = token_expiry(cfg, now);
    let mut out = Stored::default();
    for (i, pair) in pairs.iter().enumerate() {
        let (p, r) = (pair.proposal, pair.reviewer);
        let tok = crate::token::generate();
        let reference = p.reference();
        let body = templates::AssignmentMail {
            conference: &cfg.conference.name,
            contact: &cfg.conference.contact,
            reviewer_name: r.name.as_deref().unwrap_or(""),
            reference: &reference,
            record: templates::reviewer_record(
                &p.fields,
                cfg.review.blind,
                (&p.speaker_email, p.speaker_name.as_deref()),
                &cfg.proposals.custom,
            ),
            topics: templates::speaker_topics(&p.topics),
            scale: cfg.form_spec(),
            review_deadline: cfg.review_deadline_text().unwrap_or_default(),
        }
        .text(&cfg.templates)?;
        let mail = composer.compose(&Draft {
            kind: crate::model::MailKind::Assignment,
            // Replaced by `assign:<id>` once the assignment has its id.
            dedup_key: String::new(),
            to: &r.email,
            to_name: r.name.as_deref(),
            subject: format!(
                "[{}] Review {reference}: {}",
                cfg.conference.name,
                p.fields.title.clone().unwrap_or_default()
            ),
            body,
            in_reply_to: None,
            references: &[],
            reply_token: Some(&tok.secret),
            auto: AutoSubmitted::AutoGenerated,
            cause_message: None,
        });
        let mut mail = match mail {
            Ok(m) => m,
            Err(e) => {
                out.failed.push((r.email.clone(), e.to_string()));
                continue;
            }
        };
        let Some(aid) = rstore::insert_assignment(conn, p.id, r.id, pair.affinity, now_ms).await?
        else {
            continue;
        };
        rstore::insert_assignment_token(
            conn,
            &tok.hash,
            aid,
            p.id,
            &r.email,
            now_ms,
            Some(expires),
        )
        .await?;
        mail.dedup_key = format!("{ASSIGNMENT_MAIL_KEY}{aid}");
        out.queued += outbox::queue_many(conn, std::slice::from_ref(&mail), now_ms).await?;
        out.ids.push((i, aid));
    }
    Ok(out)
}

/// What [`refill`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refilled {
    /// The first new assignment, if any.
    pub first: Option<i64>,
    /// The reviewers who got it, in order.
    pub added: Vec<String>,
    /// One line for the message log or the chair: who took over, or why
    /// nobody did.
    pub note: String,
}

/// Give a proposal the reviewers it is missing after a release (a decline,
/// a conflict, a chair taking a reviewer off the roster): the next-best
/// eligible reviewers by the same rules as `cfpd assign` (conflicts, earlier
/// releases, loads; [`plan::refill`]) among the reviewers still on the
/// roster, each with an assignment mail, in the caller's transaction. Only a
/// database error is an error; "nobody is left" is a note.
pub async fn refill(
    tx: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    p: &ProposalRow,
    now: DateTime<Utc>,
) -> Result<Refilled, StoreError> {
    let mut out = Refilled::default();
    if p.status != ProposalStatus::Submitted {
        out.note = format!("not reassigned: the proposal is {}", p.status.as_str());
        return Ok(out);
    }
    let reviewers = rstore::roster(tx).await?;
    let own = rstore::assignments_of_proposal(tx, p.id).await?;
    let loads = rstore::active_loads(tx).await?;
    // A conflict bid forbids the pair here as in the full plan.
    let bids = crate::store::bids::of_proposal(tx, p.id).await?;
    let plan = plan::refill(
        p,
        &reviewers,
        &own,
        &loads,
        &bids,
        cfg.review.reviewers_per_proposal,
    );
    let sol = match solver::solve(&plan.problem) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(proposal = %p.reference(), error = %e, "no reviewer to reassign to");
            out.note = format!("not reassigned: no eligible reviewer is left ({e})");
            return Ok(out);
        }
    };
    let pairs: Vec<NewPair<'_>> = sol
        .added
        .iter()
        .map(|&(_, r, affinity)| NewPair {
            proposal: p,
            reviewer: &reviewers[r],
            affinity,
        })
        .collect();
    let stored = match store_pairs(tx, cfg, composer, &pairs, now).await {
        Ok(s) => s,
        Err(AssignmentError::Store(e)) => return Err(e),
        Err(e) => {
            out.note = format!("not reassigned: {e}");
            return Ok(out);
        }
    };
    out.added = stored
        .ids
        .iter()
        .map(|&(i, _)| pairs[i].reviewer.email.clone())
        .collect();
    out.note = if out.added.is_empty() {
        "not reassigned: the proposal has all its reviewers".to_string()
    } else {
        format!("reassigned to {}", out.added.join(", "))
    };
    for (to, why) in &stored.failed {
        out.note.push_str(&format!("; could not mail {to}: {why}"));
    }
    out.first = stored.ids.first().map(|&(_, id)| id);
    Ok(out)
}
