//! `[decisions]`: how the chairs' decisions are told to speakers.

use serde::Deserialize;

/// Decision settings (`[decisions]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionRules {
    /// Put the reviewers' "Comments for the speaker" into the decision mails,
    /// without reviewer names (`share_reviews`, default false: what reviewers
    /// wrote for the speaker is shared only when the conference says so).
    pub share_reviews: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDecisions {
    #[serde(default)]
    pub(super) share_reviews: bool,
}

/// Validate `[decisions]`.
pub(super) fn decisions(raw: &RawDecisions) -> DecisionRules {
    DecisionRules {
        share_reviews: raw.share_reviews,
    }
}
