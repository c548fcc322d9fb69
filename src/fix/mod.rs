//! The chairs' corrections (issue 16, "Fix"), as pure rules: which change
//! to a queued mail, an assignment or a proposal may be made, and why not.
//!
//! The command line (`cli/fix.rs`) reads the rows, asks these functions, and
//! writes through `store::fixes` with statements conditional on the same
//! states, so a change the sender or intake made in between is refused by
//! the database rather than overwritten. No I/O here: every rule is
//! unit-tested below.

pub mod edit;

use crate::assign::conflict::{proposal_conflict, ConflictReason};
use crate::model::{
    AssignmentState, HoldReason, OutboxState, ProposalRow, ProposalStatus, Reviewer,
};

/// What a chair does to a queued mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxAction {
    /// Keep it from being sent until released.
    Hold,
    /// Let a mail a chair held be sent (once).
    Release,
    /// Never send it.
    Cancel,
}

/// Why a mail cannot be held, released or cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxRefusal {
    /// It is being handed to the mail server right now.
    #[error("it is being sent right now; it cannot be stopped")]
    Sending,
    /// It has left.
    #[error("it was already sent")]
    Sent,
    /// It may have arrived.
    #[error(
        "it may already have arrived (uncertain): see `cfpd outbox --uncertain` \
         (--mark-sent or --resend)"
    )]
    Uncertain,
    /// It will never be sent anyway.
    #[error("it is {0} and will not be sent anyway")]
    Final(OutboxState),
    /// Held by a chair already.
    #[error("a chair already holds it (release it with --release)")]
    AlreadyHeld,
    /// Release asked of a mail no chair holds.
    #[error("no chair holds it{}", match .0 {
        Some(HoldReason::AddressCap) =>
            " (it waits for its recipient's daily reply budget and goes out by itself)",
        _ => " (it is queued and goes out with the next run)",
    })]
    NotHeld(Option<HoldReason>),
}

/// Whether `action` may be applied to a mail in `state`, held for `hold`.
///
/// Only queued mail changes: a chair's hold replaces a hold for the reply
/// budget (the chair decides when it goes); a release applies to a chair's
/// hold only; a cancel applies to any queued mail, held or not. Mail that is
/// sending, sent or uncertain is past stopping, and failed, suppressed or
/// cancelled mail is never sent anyway.
pub fn outbox_change(
    action: OutboxAction,
    state: OutboxState,
    hold: Option<HoldReason>,
) -> Result<(), OutboxRefusal> {
    match state {
        OutboxState::Queued => {}
        OutboxState::Sending => return Err(OutboxRefusal::Sending),
        OutboxState::Sent => return Err(OutboxRefusal::Sent),
        OutboxState::Uncertain => return Err(OutboxRefusal::Uncertain),
        s @ (OutboxState::Failed | OutboxState::Suppressed | OutboxState::Cancelled) => {
            return Err(OutboxRefusal::Final(s))
        }
    }
    match (action, hold) {
        (OutboxAction::Hold, Some(HoldReason::Chair)) => Err(OutboxRefusal::AlreadyHeld),
        (OutboxAction::Hold, _) | (OutboxAction::Cancel, _) => Ok(()),
        (OutboxAction::Release, Some(HoldReason::Chair)) => Ok(()),
        (OutboxAction::Release, other) => Err(OutboxRefusal::NotHeld(other)),
    }
}

/// Why a reviewer cannot be assigned to a proposal by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignRefusal {
    /// Only proposals in review get reviewers.
    #[error("the proposal is {0}, not submitted: only submitted proposals are reviewed")]
    NotInReview(ProposalStatus),
    /// The reviewer was taken off the roster.
    #[error("the reviewer was removed from the roster")]
    ReviewerRemoved,
    /// Already assigned.
    #[error("the reviewer is already assigned to it")]
    AlreadyAssigned,
    /// Assigned before and released: the pair is never offered again.
    #[error("{}", match .0 {
        AssignmentState::Declined => "the reviewer declined it earlier",
        AssignmentState::Conflict => "the reviewer declared a conflict of interest with it",
        _ => "a chair took the reviewer off it earlier",
    })]
    Released(AssignmentState),
    /// The solver's conflict rules forbid the pair.
    #[error("conflict of interest: {0} (assign anyway with --override \"reason\")")]
    Conflict(ConflictReason),
}

/// Whether `reviewer` may be assigned to `proposal` by hand; `existing` is the
/// pair's stored assignment, if any. The conflict rules are the solver's
/// (`proposal_conflict`, as `assign::plan` applies them); a conflict is
/// assigned anyway when the chair gives a reason (`overridden`), and the
/// conflict is returned so it is recorded with the reason. Everything else
/// is refused whatever the reason: the pair's history stays as it is.
pub fn manual_assign(
    proposal: &ProposalRow,
    reviewer: &Reviewer,
    reviewer_removed: bool,
    existing: Option<AssignmentState>,
    overridden: bool,
) -> Result<Option<ConflictReason>, AssignRefusal> {
    if proposal.status != ProposalStatus::Submitted {
        return Err(AssignRefusal::NotInReview(proposal.status));
    }
    if reviewer_removed {
        return Err(AssignRefusal::ReviewerRemoved);
    }
    match existing {
        Some(AssignmentState::Active) => return Err(AssignRefusal::AlreadyAssigned),
        Some(s) => return Err(AssignRefusal::Released(s)),
        None => {}
    }
    let co = proposal.fields.co_speakers.as_deref().unwrap_or_default();
    match proposal_conflict(
        &reviewer.email,
        &reviewer.conflicts,
        &proposal.speaker_email,
        co,
    ) {
        Some(c) if !overridden => Err(AssignRefusal::Conflict(c)),
        c => Ok(c),
    }
}

/// Why a reviewer cannot be taken off a proposal by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnassignRefusal {
    /// Nothing to take off.
    #[error("the reviewer is not assigned to it")]
    NotAssigned,
    /// Already released.
    #[error("the assignment is already {0}")]
    NotActive(AssignmentState),
    /// Their review would stop counting.
    #[error(
        "the reviewer has reviewed it; their review would stop counting \
         (remove anyway with --override \"reason\")"
    )]
    Reviewed,
}

/// Whether an assignment in `state` (`None`: there is none) may be removed;
/// a finished review is removed only with a reason.
pub fn manual_unassign(
    state: Option<AssignmentState>,
    reviewed: bool,
    overridden: bool,
) -> Result<(), UnassignRefusal> {
    match state {
        None => Err(UnassignRefusal::NotAssigned),
        Some(AssignmentState::Active) if reviewed && !overridden => Err(UnassignRefusal::Reviewed),
        Some(AssignmentState::Active) => Ok(()),
        Some(s) => Err(UnassignRefusal::NotActive(s)),
    }
}

/// Why a proposal cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreRefusal {
    /// Only a withdrawn proposal is restored.
    #[error("it is {0}, not withdrawn")]
    NotWithdrawn(ProposalStatus),
}

/// The status a withdrawn proposal returns to: the one its withdrawal left
/// (`withdrawn_from`, stored since migration 0017), or, for a withdrawal
/// recorded before that, what its current version makes it (submitted when
/// complete, else a draft; a late entry withdrawn before 0017 comes back as
/// if accepted, the nearest the record allows).
pub fn restored_status(
    status: ProposalStatus,
    withdrawn_from: Option<ProposalStatus>,
    complete: bool,
) -> Result<ProposalStatus, RestoreRefusal> {
    if status != ProposalStatus::Withdrawn {
        return Err(RestoreRefusal::NotWithdrawn(status));
    }
    Ok(match withdrawn_from {
        Some(s) if s != ProposalStatus::Withdrawn => s,
        _ if complete => ProposalStatus::Submitted,
        _ => ProposalStatus::Draft,
    })
}

/// Who made a change: `--by NAME` when given, else the user running the
/// command (`USER`, then `LOGNAME`), else `unknown`.
pub fn who(by: Option<&str>, user: Option<&str>, logname: Option<&str>) -> String {
    [by, user, logname]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests;
