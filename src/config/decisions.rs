//! `[decisions]`: how the chairs' decisions are told to speakers, and until
//! when accepted speakers are asked to confirm.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;
use crate::calendar::Zone;

/// Decision settings (`[decisions]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionRules {
    /// Put the reviewers' "Comments for the speaker" into the decision mails,
    /// without reviewer names (`share_reviews`, default false: what reviewers
    /// wrote for the speaker is shared only when the conference says so).
    pub share_reviews: bool,
    /// Accepted speakers are asked to confirm by then (a local time in the
    /// conference zone); `unconfirmed_speakers` reminders count towards it.
    pub confirm_by: Option<DateTime<Utc>>,
    /// What happens when an accepted talk drops out (declined or withdrawn).
    pub promote: Promote,
}

/// `[decisions] promote`: what to do with the waiting list when an accepted
/// talk drops out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Promote {
    /// Propose the best-ranked waitlisted talk of the same format to the
    /// chairs, who decide (the default: a person decides the program).
    #[default]
    Ask,
    /// Accept it at once and send its acceptance mail; the chairs are told.
    Auto,
    /// Do nothing.
    Off,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDecisions {
    #[serde(default)]
    pub(super) share_reviews: bool,
    #[serde(default)]
    pub(super) confirm_by: Option<String>,
    #[serde(default)]
    pub(super) promote: Promote,
}

/// Validate `[decisions]`: `confirm_by` must be a local time that exists in
/// the conference zone.
pub(super) fn decisions(
    loc: &Locator<'_>,
    raw: &RawDecisions,
    zone: &Zone,
) -> Result<DecisionRules, ConfigError> {
    let confirm_by = super::conference::local_instant(
        loc,
        zone,
        ("decisions", "confirm_by"),
        raw.confirm_by.as_deref(),
        "2024-07-01T23:59:59",
    )?;
    Ok(DecisionRules {
        share_reviews: raw.share_reviews,
        confirm_by,
        promote: raw.promote,
    })
}
