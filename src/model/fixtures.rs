//! Row builders for unit tests across the rooms (report, decision, intake):
//! one place that knows every field of a [`ProposalRow`] and a
//! [`DecisionRow`], so a new field is added once and a test says only what
//! matters to it.

use super::{Decision, DecisionRow, DecisionSource, ProposalRow, ProposalStatus};
use crate::proposal::{Fields, TagOverrides};

/// Proposal `id` in `status`: speaker `s{id}@x.org`, version 1, no fields,
/// no topic, created and changed at 0.
pub fn proposal(id: i64, status: ProposalStatus) -> ProposalRow {
    ProposalRow {
        id,
        speaker_email: format!("s{id}@x.org"),
        speaker_name: None,
        status,
        version: 1,
        created_at: 0,
        updated_at: 0,
        fields: Fields::default(),
        problems: vec![],
        topics: vec![],
        overrides: TagOverrides::default(),
        reviewers_needed: None,
    }
}

/// The current, first version of a chair's `decision` on proposal `id`, made
/// on the command line at 0 and told to the speaker at 1, not answered.
pub fn decision(id: i64, decision: Decision) -> DecisionRow {
    DecisionRow {
        proposal_id: id,
        version: 1,
        decision,
        source: DecisionSource::Cli,
        decided_by: "chair".into(),
        note: None,
        decided_at: 0,
        current: true,
        notified_at: Some(1),
        confirmation: None,
        confirmed_at: None,
    }
}
