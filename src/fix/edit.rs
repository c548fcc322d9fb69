//! A chair's edit of a proposal (`cfpd proposals edit`): what the new
//! version holds, what changed, and what an edit may not do.
//!
//! The edit is read with the speaker's own parser ([`crate::proposal::parse()`]):
//! `--field abstract VALUE` is the labelled line `Abstract: VALUE`, and a
//! `--file` is what a speaker would mail. So a format is normalised the same
//! way ("25 minute talk" is `talk-25`), and a chair cannot store what a
//! speaker could not.

use crate::model::ProposalStatus;
use crate::proposal::{self, label, CustomField, Fields, ProposalRules, PROPOSAL_FIELDS};

/// Why an edit was refused; `line` is the line of the `--file` at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct EditError {
    /// 1-based line of the file, when the fault is on one.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(line: Option<usize>, message: impl Into<String>) -> EditError {
    EditError {
        line,
        message: message.into(),
    }
}

/// The field a chair names on the command line: a field name (`title`,
/// `co-speakers`) or any label a speaker may write (`Notes for reviewers`,
/// `Summary`), any case.
pub fn field_name(name: &str) -> Result<&'static str, EditError> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(f) = PROPOSAL_FIELDS.iter().find(|f| **f == n) {
        return Ok(f);
    }
    match proposal::parse::label_lines(&format!("{name}: x")).first() {
        Some((_, f)) => Ok(f),
        None => Err(err(
            None,
            format!(
                "there is no field {name:?}; fields are: {}",
                PROPOSAL_FIELDS.join(", ")
            ),
        )),
    }
}

/// The fields one `--field NAME VALUE` gives, read as the labelled text a
/// speaker would write (a value on several lines stays whole).
pub fn from_field(name: &str, value: &str, rules: &ProposalRules) -> Result<Fields, EditError> {
    let field = field_name(name)?;
    if value.trim().is_empty() {
        return Err(err(
            None,
            format!(
                "the new {} is empty; a field can be changed, not erased",
                label(field)
            ),
        ));
    }
    let parsed = proposal::parse(&format!("{}:\n{value}", label(field)), rules);
    if parsed.fields.get(field).is_none() {
        return Err(err(
            None,
            format!("could not read {value:?} as {}", label(field)),
        ));
    }
    Ok(parsed.fields)
}

/// Where each field's label is in a file: (1-based line, field name).
pub type LabelLines = Vec<(usize, &'static str)>;

/// The fields a `--file` gives, with each label's line for errors.
pub fn from_text(text: &str, rules: &ProposalRules) -> Result<(Fields, LabelLines), EditError> {
    let lines = proposal::parse::label_lines(text);
    let parsed = proposal::parse(text, rules);
    if parsed.fields.count_given() == 0 {
        return Err(err(
            Some(lines.first().map_or(1, |(l, _)| *l)),
            format!(
                "no field found; write labelled fields as in a proposal mail, \
                 e.g. \"Title: …\" (labels: {})",
                PROPOSAL_FIELDS
                    .iter()
                    .map(|f| label(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok((parsed.fields, lines))
}

/// The labels of the fields that differ between two versions, in the order
/// mails list fields, the conference's own questions after the built-in
/// ones: what [`proposal::changes::between`] finds, so the chair's edit, the
/// speaker's mail about it and `cfpd proposals show` agree on what changed.
pub fn changed(old: &Fields, new: &Fields, custom: &[CustomField]) -> Vec<String> {
    proposal::changes::between(old, new, custom)
        .iter()
        .map(|c| c.label().to_string())
        .collect()
}

/// The problems `new_problems` has that `old_problems` had not: an edit may
/// leave a proposal as incomplete as it was, never make it worse. The error
/// names the line of the field at fault when the edit came from a file.
pub fn check_problems(
    old_problems: &[String],
    new_problems: &[String],
    lines: &[(usize, &'static str)],
) -> Result<(), EditError> {
    let Some(p) = new_problems.iter().find(|p| !old_problems.contains(p)) else {
        return Ok(());
    };
    let line = lines
        .iter()
        .rev()
        .find(|(_, f)| {
            let l = label(f);
            p.starts_with(l) || p.starts_with(l.trim_end_matches('s'))
        })
        .map(|(l, _)| *l);
    Err(err(line, format!("{p} Nothing was changed.")))
}

/// The status after a chair's edit: a proposal in review stays in review
/// while complete (a draft the edit completes is submitted); a late entry or
/// a withdrawn proposal keeps its status (accept-late and restore are their
/// own decisions).
pub fn edited_status(current: ProposalStatus, complete: bool) -> ProposalStatus {
    match current {
        ProposalStatus::Late | ProposalStatus::Withdrawn => current,
        ProposalStatus::Submitted | ProposalStatus::Draft if complete => ProposalStatus::Submitted,
        ProposalStatus::Submitted | ProposalStatus::Draft => ProposalStatus::Draft,
    }
}
