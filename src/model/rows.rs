//! Rows the store returns and pure modules (assignment, ranking, reports,
//! reminders) work on. Defined here, not in `store`, so those modules need
//! nothing from the database layer.

use super::{
    AssignmentState, ChairTokenKind, Confirmation, Decision, DecisionSource, ProposalStatus,
};
use crate::proposal::{Fields, FiledTopic, TagOverrides};

/// A proposal with its current version.
#[derive(Debug, Clone)]
pub struct ProposalRow {
    /// Row id; the public reference is derived from it.
    pub id: i64,
    /// Speaker's address (the one the proposal's token is bound to).
    pub speaker_email: String,
    /// Speaker's display name, if given.
    pub speaker_name: Option<String>,
    /// Lifecycle status.
    pub status: ProposalStatus,
    /// Number of the current version.
    pub version: i64,
    /// Created (ms).
    pub created_at: i64,
    /// Last changed (ms).
    pub updated_at: i64,
    /// Current fields.
    pub fields: Fields,
    /// Current problems (empty when complete).
    pub problems: Vec<String>,
    /// Current topics.
    pub topics: Vec<FiledTopic>,
    /// Chair's topic overrides, kept across versions.
    pub overrides: TagOverrides,
    /// Per-proposal number of reviewers (None: the configured default).
    pub reviewers_needed: Option<i64>,
}

impl ProposalRow {
    /// The public reference, `P-0042`.
    pub fn reference(&self) -> String {
        crate::proposal::reference(self.id)
    }
}

/// A reviewer as imported from the roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewer {
    /// Row id (0 before import).
    pub id: i64,
    /// Address: assignments are mailed here and replies must come from it.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Expertise topic ids.
    pub topics: Vec<String>,
    /// Fewest proposals this reviewer should get.
    pub min_load: i64,
    /// Most proposals this reviewer can take.
    pub max_load: i64,
    /// Addresses or domains this reviewer must not review.
    pub conflicts: Vec<String>,
}

/// An assignment row.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Row id.
    pub id: i64,
    /// Proposal.
    pub proposal_id: i64,
    /// Reviewer.
    pub reviewer_id: i64,
    /// Affinity (0–1000) when assigned.
    pub affinity: i64,
    /// Active, or released (declined / conflict).
    pub state: AssignmentState,
}

/// When one proposal version was stored and whether it was complete, for the
/// report's status-over-time chart (the fields themselves are not needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionStamp {
    /// The proposal.
    pub proposal_id: i64,
    /// 1, 2, …
    pub version: i64,
    /// When it was stored (ms): the moment the proposal took this shape.
    pub created_at: i64,
    /// No problems recorded: the version made (or kept) the proposal submitted.
    pub complete: bool,
}

/// One decision about a proposal, as stored: every change is a new version,
/// so the history says who decided what, when and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    /// The proposal.
    pub proposal_id: i64,
    /// 1, 2, … per proposal.
    pub version: i64,
    /// What was decided.
    pub decision: Decision,
    /// CLI or mail.
    pub source: DecisionSource,
    /// Who: the chair's address (mail) or the user who ran `cfpd decide`.
    pub decided_by: String,
    /// The chair's note (from `--note` or the CSV), never mailed.
    pub note: Option<String>,
    /// When (ms).
    pub decided_at: i64,
    /// The version in force (exactly one per decided proposal).
    pub current: bool,
    /// When `cfpd notify --send` queued its mails (ms); `None`: not told yet.
    pub notified_at: Option<i64>,
    /// The speaker's answer to an acceptance, once they replied.
    pub confirmation: Option<Confirmation>,
    /// When they answered (ms).
    pub confirmed_at: Option<i64>,
}

/// A chair token, as stored (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChairTokenRow {
    /// Command (step one) or confirm (step two).
    pub kind: ChairTokenKind,
    /// The chair's address: the only one allowed to use it.
    pub bound_address: String,
    /// For a confirm token: the request it confirms.
    pub request_id: Option<i64>,
}

/// Decisions a chair sent by mail, waiting for their "yes".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// Row id.
    pub id: i64,
    /// The chair who sent them.
    pub chair: String,
    /// (proposal id, decision), as understood.
    pub commands: Vec<(i64, Decision)>,
    /// When the chair's "yes" applied them; `None`: not yet.
    pub applied_at: Option<i64>,
}

/// A reviewer's current bid on a proposal (`bids`): the assignment weighs it
/// (`assign::plan::bid_weight`), and a `conflict` bid forbids the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bid {
    /// The reviewer.
    pub reviewer_id: i64,
    /// The proposal.
    pub proposal_id: i64,
    /// What they answered.
    pub kind: super::BidKind,
}
