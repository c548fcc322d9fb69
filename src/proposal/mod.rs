//! Proposals: the record a speaker's mail becomes, its validation and its parser.
//!
//! Nothing here knows about mail transport or SQL: [`parse()`] turns the text of
//! a message body into [`Fields`], [`problems`] says what keeps it from being
//! complete under the conference's [`ProposalRules`].
//!
//! The rules come in as plain data ([`ProposalRules`], filled in by `config`
//! from `[proposals]`), so this room imports no configuration.

pub mod changes;
pub mod custom;
mod label;
pub mod parse;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use custom::{CustomField, FieldKind};

pub use parse::{parse, Parsed};

/// Proposal completeness rules (`[proposals]` in the config, validated there).
#[derive(Debug, Clone)]
pub struct ProposalRules {
    /// Fields that must be present for a proposal to leave draft state.
    pub required: Vec<String>,
    /// Allowed values of `Format:`.
    pub formats: Vec<String>,
    /// Allowed values of `Audience:`.
    pub audiences: Vec<String>,
    /// Maximum words per field.
    pub word_limits: Vec<(String, usize)>,
    /// Larger inbound messages are quarantined, not parsed.
    pub max_message_bytes: usize,
    /// Days a speaker's reply address (proposal token) works after it was
    /// issued: a mail left in an old mailbox stops being a key to the proposal.
    pub reply_token_days: u32,
    /// The conference's own questions (`[[proposals.fields]]`), in config order.
    pub custom: Vec<CustomField>,
}

/// Field names a proposal may have.
pub const PROPOSAL_FIELDS: &[&str] = &[
    "title",
    "format",
    "audience",
    "topics",
    "abstract",
    "description",
    "notes",
    "bio",
    "co-speakers",
];

/// Names a conference's own field may not take: the built-in fields and the
/// other columns of `cfpd proposals list --output csv`, where each own field
/// is a column under its name.
pub const RESERVED_NAMES: &[&str] = &[
    "title",
    "format",
    "audience",
    "topics",
    "abstract",
    "description",
    "notes",
    "bio",
    "co-speakers",
    "co_speakers",
    "reference",
    "status",
    "decision",
    "version",
    "speaker_email",
    "speaker_name",
    "reviews",
    "mean_score",
    "median_score",
    "fields",
];

/// Loose check that a string is a single mail address (`local@domain.tld`).
pub fn looks_like_address(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && !d.is_empty()
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                && !d.contains('@')
        }
        None => false,
    }
}

/// The public reference of a proposal id: `P-0042`.
pub fn reference(id: i64) -> String {
    format!("P-{id:04}")
}

/// Parse a `P-0042` reference (case-insensitive, leading zeros optional).
pub fn parse_reference(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s.strip_prefix("P-").or_else(|| s.strip_prefix("p-"))?;
    rest.parse::<i64>().ok().filter(|n| *n > 0)
}

/// A proposal's fields as the speaker gave them (after normalisation).
/// `None` means "not given", which matters when a follow-up is merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    /// Talk title.
    pub title: Option<String>,
    /// One of the configured formats (normalised, e.g. `talk-25`), or the raw text if unrecognised.
    pub format: Option<String>,
    /// One of the configured audiences, or the raw text if unrecognised.
    pub audience: Option<String>,
    /// Topics the speaker declared (ids or names, as written).
    pub topics: Option<Vec<String>>,
    /// Public abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: Option<String>,
    /// Longer outline for reviewers.
    pub description: Option<String>,
    /// Notes for reviewers.
    pub notes: Option<String>,
    /// Speaker bio.
    pub bio: Option<String>,
    /// Co-speakers' addresses.
    pub co_speakers: Option<Vec<String>>,
    /// Answers to the conference's own questions (`[[proposals.fields]]`),
    /// by field name. Stored inside the version's `fields` JSON, so every
    /// version keeps the answers it was given; versions written before any
    /// field was configured read as none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

impl Fields {
    /// Overlay the fields `newer` gives on top of these (a follow-up changes only what it names).
    pub fn merged_with(&self, newer: &Fields) -> Fields {
        Fields {
            title: newer.title.clone().or_else(|| self.title.clone()),
            format: newer.format.clone().or_else(|| self.format.clone()),
            audience: newer.audience.clone().or_else(|| self.audience.clone()),
            topics: newer.topics.clone().or_else(|| self.topics.clone()),
            abstract_text: newer
                .abstract_text
                .clone()
                .or_else(|| self.abstract_text.clone()),
            description: newer
                .description
                .clone()
                .or_else(|| self.description.clone()),
            notes: newer.notes.clone().or_else(|| self.notes.clone()),
            bio: newer.bio.clone().or_else(|| self.bio.clone()),
            co_speakers: newer
                .co_speakers
                .clone()
                .or_else(|| self.co_speakers.clone()),
            custom: {
                let mut c = self.custom.clone();
                c.extend(newer.custom.clone());
                c
            },
        }
    }

    /// The value of a field by its config name, as text.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "title" => self.title.clone(),
            "format" => self.format.clone(),
            "audience" => self.audience.clone(),
            "topics" => self.topics.as_ref().map(|t| t.join(", ")),
            "abstract" => self.abstract_text.clone(),
            "description" => self.description.clone(),
            "notes" => self.notes.clone(),
            "bio" => self.bio.clone(),
            "co-speakers" => self.co_speakers.as_ref().map(|t| t.join(", ")),
            other => self.custom.get(other).cloned(),
        }
        .filter(|v| !v.trim().is_empty())
    }

    /// How many fields are given, the conference's own included (a reply
    /// that only answers a question a draft asked is an update).
    pub fn count_given(&self) -> usize {
        PROPOSAL_FIELDS
            .iter()
            .filter(|f| self.get(f).is_some())
            .count()
            + self
                .custom
                .values()
                .filter(|v| !v.trim().is_empty())
                .count()
    }
}

/// The label a field is written under in mails.
pub fn label(field: &str) -> &'static str {
    match field {
        "title" => "Title",
        "format" => "Format",
        "audience" => "Audience",
        "topics" => "Topics",
        "abstract" => "Abstract",
        "description" => "Description",
        "notes" => "Notes for reviewers",
        "bio" => "Bio",
        "co-speakers" => "Co-speakers",
        _ => "?",
    }
}

/// Everything that keeps `fields` from being a complete proposal, as sentences
/// a speaker can act on. Empty means complete.
pub fn problems(fields: &Fields, rules: &ProposalRules) -> Vec<String> {
    let mut out = Vec::new();
    for f in &rules.required {
        if fields.get(f).is_none() {
            out.push(format!("{} is missing.", label(f)));
        }
    }
    if let Some(v) = &fields.format {
        if !rules.formats.iter().any(|a| a == v) {
            out.push(format!(
                "Format \"{v}\" is not one of: {}.",
                rules.formats.join(", ")
            ));
        }
    }
    if let Some(v) = &fields.audience {
        if !rules.audiences.iter().any(|a| a == v) {
            out.push(format!(
                "Audience \"{v}\" is not one of: {}.",
                rules.audiences.join(", ")
            ));
        }
    }
    if let Some(list) = &fields.co_speakers {
        for a in list {
            if !looks_like_address(a) {
                out.push(format!(
                    "Co-speaker \"{a}\" is not a mail address (write name@example.org)."
                ));
            }
        }
    }
    out.extend(custom::problems(fields, &rules.custom));
    for (f, limit) in &rules.word_limits {
        if let Some(v) = fields.get(f) {
            let n = v.split_whitespace().count();
            if n > *limit {
                out.push(format!(
                    "{} has {n} words; the limit is {limit}. Please shorten it.",
                    label(f)
                ));
            }
        }
    }
    out
}

/// The labels of the required fields `fields` lacks (built-in and custom),
/// for the example a draft's reply gives.
pub fn missing_labels(fields: &Fields, rules: &ProposalRules) -> Vec<String> {
    let builtin = rules
        .required
        .iter()
        .filter(|f| fields.get(f).is_none())
        .map(|f| label(f).to_string());
    let own = rules
        .custom
        .iter()
        .filter(|c| c.required && fields.get(&c.name).is_none())
        .map(|c| c.label.clone());
    builtin.chain(own).collect()
}

/// A topic a proposal is filed under, with the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiledTopic {
    /// Topic id (`frontend`).
    pub id: String,
    /// Display name (`Frontend`).
    pub name: String,
    /// Tagger score (0 for chair additions).
    pub score: f64,
    /// Words or phrases that put it there.
    pub evidence: Vec<String>,
}

/// A chair's topic overrides; they survive later speaker updates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagOverrides {
    /// Topic ids always filed.
    pub add: Vec<String>,
    /// Topic ids never filed.
    pub remove: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ProposalRules {
        ProposalRules {
            required: vec!["title".into(), "format".into(), "abstract".into()],
            formats: vec!["talk-25".into(), "talk-45".into(), "tutorial".into()],
            audiences: vec!["beginner".into(), "intermediate".into()],
            word_limits: vec![("abstract".into(), 5)],
            max_message_bytes: 1 << 20,
            reply_token_days: 365,
            custom: vec![],
        }
    }

    #[test]
    fn problems_name_each_missing_and_invalid_field() {
        let f = Fields {
            title: Some("T".into()),
            format: Some("keynote".into()),
            abstract_text: Some("one two three four five six".into()),
            co_speakers: Some(vec!["ada at example".into()]),
            ..Default::default()
        };
        let p = problems(&f, &rules());
        assert_eq!(
            p,
            vec![
                "Format \"keynote\" is not one of: talk-25, talk-45, tutorial.".to_string(),
                "Co-speaker \"ada at example\" is not a mail address (write name@example.org)."
                    .into(),
                "Abstract has 6 words; the limit is 5. Please shorten it.".into(),
            ]
        );
        let p = problems(&Fields::default(), &rules());
        assert_eq!(
            p,
            vec![
                "Title is missing.",
                "Format is missing.",
                "Abstract is missing."
            ]
        );
    }

    #[test]
    fn merge_keeps_old_fields_not_named_again() {
        let old = Fields {
            title: Some("Old".into()),
            abstract_text: Some("A".into()),
            ..Default::default()
        };
        let new = Fields {
            title: Some("New".into()),
            ..Default::default()
        };
        let m = old.merged_with(&new);
        assert_eq!(m.title.as_deref(), Some("New"));
        assert_eq!(m.abstract_text.as_deref(), Some("A"));
    }

    #[test]
    fn references_round_trip() {
        assert_eq!(reference(42), "P-0042");
        assert_eq!(reference(12345), "P-12345");
        assert_eq!(parse_reference("p-0042"), Some(42));
        assert_eq!(parse_reference("P-0"), None);
        assert_eq!(parse_reference("42"), None);
    }
}
