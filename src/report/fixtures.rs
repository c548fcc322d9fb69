//! Row builders shared by the report modules' unit tests: one place that knows how
//! to make a [`ProposalRow`], a reviewer, an assignment and a review, so a new field
//! is added once and the tests say only what matters to them.

use crate::proposal::FiledTopic;
use crate::store::proposals::ProposalRow;
use crate::store::review::{Assignment, AssignmentState, Reviewer};
use crate::store::reviews::StoredReview;

pub use crate::model::fixtures::proposal;

/// `p` with a title.
pub fn titled(mut p: ProposalRow, title: &str) -> ProposalRow {
    p.fields.title = Some(title.into());
    p
}

/// `p` filed under one more topic (the first one is its primary topic).
pub fn filed(mut p: ProposalRow, id: &str, name: &str) -> ProposalRow {
    p.topics.push(FiledTopic {
        id: id.into(),
        name: name.into(),
        score: 1.0,
        evidence: vec![],
    });
    p
}

/// `p` created at `created` and last changed at `updated` (ms).
pub fn at(mut p: ProposalRow, created: i64, updated: i64) -> ProposalRow {
    p.created_at = created;
    p.updated_at = updated;
    p
}

/// Reviewer `id`, address `r{id}@x.org`, no topics, load 0 to 9.
pub fn reviewer(id: i64) -> Reviewer {
    Reviewer {
        id,
        email: format!("r{id}@x.org"),
        name: None,
        topics: vec![],
        min_load: 0,
        max_load: 9,
        conflicts: vec![],
    }
}

/// Assignment `id` of proposal `proposal_id` to reviewer `reviewer_id`.
pub fn assignment(
    id: i64,
    proposal_id: i64,
    reviewer_id: i64,
    state: AssignmentState,
) -> Assignment {
    Assignment {
        id,
        proposal_id,
        reviewer_id,
        affinity: 0,
        state,
    }
}

/// The current review of assignment `assignment_id`, in its `version`, with `score`.
pub fn review(assignment_id: i64, version: i64, score: i64) -> StoredReview {
    StoredReview {
        assignment_id,
        version,
        current: true,
        score,
        confidence: None,
        comments_speaker: String::new(),
        comments_committee: String::new(),
        message_row: None,
        created_at: 0,
    }
}
