//! The chairs' decisions, pure: which decisions may be made
//! ([`check`]), the bulk file a chair writes (`csv.rs`), who is told what
//! (`plan.rs`), an accepted speaker's answer (`confirm.rs`), the program
//! export and decision view (`program.rs`), and which waitlisted talk takes
//! a free place (`promote.rs`). No I/O here but `notify.rs`, the one edge that renders,
//! composes and queues the decision mails (as `assign/commit.rs` is for
//! assignments).
//!
//! A decision is kept apart from the proposal's status: the status is the
//! speaker's side (submitted, draft, late, withdrawn), the decision the
//! chairs' (accepted, waitlisted, rejected), with a history of versions.

pub mod command;
pub mod confirm;
pub mod csv;
pub mod notify;
pub mod plan;
pub mod program;
pub mod promote;

use crate::model::{Decision, DecisionRow, ProposalRow, ProposalStatus};

/// Why a decision about one proposal was refused. Every refusal names the
/// proposal and says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The text is not a reference at all.
    #[error("{0:?} is not a reference like P-0042")]
    NotAReference(String),
    /// No proposal has this reference.
    #[error("{0}: no such proposal")]
    Unknown(String),
    /// Incomplete proposals are not decided.
    #[error("{0} is a draft (incomplete): only submitted proposals are decided")]
    Draft(String),
    /// The speaker withdrew it.
    #[error("{0} was withdrawn by its speaker: it cannot be decided")]
    Withdrawn(String),
    /// It arrived after the deadline and was never taken into review.
    #[error(
        "{0} is a late entry: take it into review first \
         (cfpd proposals accept-late {0}), then decide"
    )]
    Late(String),
    /// Its current decision was already mailed; changing it needs `--force`
    /// (and the new mail explains the change), except accepting a waitlisted
    /// talk.
    #[error(
        "{reference} is already {told} and the speakers were told: \
         use --force to change it to {new} (they get a mail explaining the change)"
    )]
    AlreadyTold {
        /// The proposal.
        reference: String,
        /// The decision they were told.
        told: Decision,
        /// The decision asked for.
        new: Decision,
    },
    /// The same proposal twice, with different decisions, in one request.
    #[error("{0} is named twice with different decisions")]
    Contradictory(String),
}

/// What deciding would change for one proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// First decision.
    New,
    /// Already this decision: nothing to record.
    Same,
    /// A different decision than the current one (told, when `told`).
    Changed {
        /// The current decision.
        from: Decision,
        /// Whether the speakers were told the current one.
        told: bool,
    },
}

/// Whether `new` may be recorded for the proposal `reference` names
/// (`proposal` is what the store found; `current` its current decision).
pub fn check(
    reference: &str,
    proposal: Option<&ProposalRow>,
    current: Option<&DecisionRow>,
    new: Decision,
    force: bool,
) -> Result<Change, Refusal> {
    let Some(p) = proposal else {
        return Err(Refusal::Unknown(reference.to_string()));
    };
    let r = p.reference();
    match p.status {
        ProposalStatus::Submitted => {}
        ProposalStatus::Draft => return Err(Refusal::Draft(r)),
        ProposalStatus::Withdrawn => return Err(Refusal::Withdrawn(r)),
        ProposalStatus::Late => return Err(Refusal::Late(r)),
    }
    match current {
        None => Ok(Change::New),
        Some(c) if c.decision == new => Ok(Change::Same),
        Some(c) => {
            let told = c.notified_at.is_some();
            // Accepting from the waiting list is what the list is for: no
            // --force (the new mail says it replaces the waitlist mail).
            let from_waitlist = c.decision == Decision::Waitlisted && new == Decision::Accepted;
            if told && !force && !from_waitlist {
                Err(Refusal::AlreadyTold {
                    reference: r,
                    told: c.decision,
                    new,
                })
            } else {
                Ok(Change::Changed {
                    from: c.decision,
                    told,
                })
            }
        }
    }
}

/// Refuse requests that name one proposal twice with different decisions
/// (`(proposal id, reference, decision)` in request order); the same
/// decision twice is harmless and kept once.
pub fn dedup(
    requests: &[(i64, String, Decision)],
) -> Result<Vec<(i64, String, Decision)>, Refusal> {
    let mut out: Vec<(i64, String, Decision)> = Vec::new();
    for (id, r, d) in requests {
        match out.iter().find(|(i, ..)| i == id) {
            Some((.., prev)) if prev != d => return Err(Refusal::Contradictory(r.clone())),
            Some(_) => {}
            None => out.push((*id, r.clone(), *d)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
