//! What `cfpd report` shows: the rankings per primary topic and reviewer progress
//! ([`ranking`]), and the web page of `cfpd report --html` ([`page`]) with its
//! pictures — status over time, counts per topic, score distributions and reviewer
//! progress, as inline SVG.
//!
//! Pure: no database, no clock, no I/O. Callers pass rows already read (and
//! "now" where it matters); the same input always gives the same bytes, so a
//! report generated twice from one database differs only where the caller
//! prints the time it was generated. Every text that reaches a chart is
//! escaped here ([`svg::esc`]), and every text printed on a terminal
//! or written as CSV goes through [`safe`]; nothing in the output loads anything (no
//! scripts, fonts, images or style sheets from elsewhere), so a page renders
//! offline and prints as it shows.

pub mod charts;
#[cfg(test)]
pub mod fixtures;
pub mod listing;
pub mod message;
pub mod overall;
pub mod page;
pub mod ranking;
pub mod reviews;
pub mod safe;
pub mod svg;
pub mod thread;
pub mod timeline;

use crate::model::ProposalStatus;

/// Proposal statuses in the order charts stack them (bottom first) and legends list them.
pub const STATUSES: [ProposalStatus; 4] = [
    ProposalStatus::Submitted,
    ProposalStatus::Late,
    ProposalStatus::Draft,
    ProposalStatus::Withdrawn,
];

/// The colour of a proposal status, the same in every chart.
pub fn status_colour(s: ProposalStatus) -> &'static str {
    match s {
        ProposalStatus::Submitted => "#2b6cb0",
        ProposalStatus::Late => "#805ad5",
        ProposalStatus::Draft => "#d69e2e",
        ProposalStatus::Withdrawn => "#a0aec0",
    }
}

/// How many proposals are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Complete and in review.
    pub submitted: usize,
    /// Arrived after the deadline, waiting for a chair.
    pub late: usize,
    /// Incomplete.
    pub draft: usize,
    /// Withdrawn by the speaker.
    pub withdrawn: usize,
}

impl StatusCounts {
    /// The count of one status.
    pub fn get(&self, s: ProposalStatus) -> usize {
        match s {
            ProposalStatus::Submitted => self.submitted,
            ProposalStatus::Late => self.late,
            ProposalStatus::Draft => self.draft,
            ProposalStatus::Withdrawn => self.withdrawn,
        }
    }

    /// Count one more proposal in status `s`.
    pub fn add(&mut self, s: ProposalStatus) {
        match s {
            ProposalStatus::Submitted => self.submitted += 1,
            ProposalStatus::Late => self.late += 1,
            ProposalStatus::Draft => self.draft += 1,
            ProposalStatus::Withdrawn => self.withdrawn += 1,
        }
    }

    /// All proposals counted.
    pub fn total(&self) -> usize {
        self.submitted + self.late + self.draft + self.withdrawn
    }
}

/// One row of the per-topic chart: the proposals whose primary topic this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    /// Topic name as the chair's topic set spells it.
    pub name: String,
    /// Its proposals by current status.
    pub counts: StatusCounts,
}

/// One row of the score chart: the counted scores of a topic's proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicScores {
    /// Topic name.
    pub name: String,
    /// Every counted score (current review of an active assignment) of the topic's
    /// submitted proposals.
    pub scores: Vec<i64>,
}

/// One row of the reviewer chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerBar {
    /// The reviewer's address (always shown: names can repeat).
    pub email: String,
    /// Display name from the roster, if any.
    pub name: Option<String>,
    /// Active assignments with a review.
    pub done: usize,
    /// Active assignments without one.
    pub pending: usize,
    /// Assignments the reviewer declined.
    pub declined: usize,
    /// Assignments released for a conflict of interest.
    pub conflicts: usize,
}
