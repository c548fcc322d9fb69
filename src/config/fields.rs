//! `[[proposals.fields]]`: the conference's own questions to speakers
//! ("Pronouns", "Accessibility needs"). Errors point at the field's own
//! lines (from the `Spanned` values).

use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;
use crate::proposal::{parse::is_builtin_label, CustomField, FieldKind, RESERVED_NAMES};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub(super) name: toml::Spanned<String>,
    pub(super) label: toml::Spanned<String>,
    #[serde(default)]
    pub(super) kind: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub(super) choices: Option<toml::Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) required: bool,
    /// Unset: reviewers see it unless review is blind.
    #[serde(default)]
    pub(super) reviewers: Option<bool>,
}

const KEY: &str = "proposals.fields";

/// Validate the fields: a name fit for a CSV column and unused, a label that
/// is not a built-in one, a known kind, choices exactly for `one-of`.
/// Under blind review a field reaches reviewers only when `reviewers = true`.
pub(super) fn fields(
    loc: &Locator<'_>,
    raw: &[RawField],
    blind: bool,
) -> Result<Vec<CustomField>, ConfigError> {
    let mut out: Vec<CustomField> = Vec::new();
    for r in raw {
        let at = |s: &toml::Spanned<String>, key: &str, msg: &str| {
            loc.err_at(s.span().start, &format!("{KEY}.{key}"), msg)
        };
        let name = r.name.get_ref().trim().to_string();
        let name_ok = !name.is_empty()
            && name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !name_ok {
            return Err(at(
                &r.name,
                "name",
                "write a short name of lower-case letters, digits, - and _ (e.g. pronouns)",
            ));
        }
        if RESERVED_NAMES.contains(&name.as_str()) || is_builtin_label(&name) {
            return Err(at(
                &r.name,
                "name",
                &format!("{name:?} is a built-in field or export column; choose another name"),
            ));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(at(&r.name, "name", &format!("{name:?} is defined twice")));
        }
        let label = r.label.get_ref().split_whitespace().collect::<Vec<_>>().join(" ");
        let label = label.trim_end_matches([':', '：']).trim().to_string();
        if label.is_empty() || label.chars().count() > 60 {
            return Err(at(&r.label, "label", "write a label of 1 to 60 characters"));
        }
        if is_builtin_label(&label) {
            return Err(at(
                &r.label,
                "label",
                &format!("{label:?} is already a built-in label; choose another"),
            ));
        }
        let norm = crate::proposal::custom::normalise_label(&label);
        if out.iter().any(|c| {
            crate::proposal::custom::normalise_label(&c.label) == norm
                || crate::proposal::custom::normalise_label(&c.name) == norm
        }) {
            return Err(at(&r.label, "label", &format!("{label:?} is used by another field")));
        }
        let kind = kind(loc, r)?;
        out.push(CustomField {
            name,
            label,
            kind,
            required: r.required,
            reviewers: r.reviewers.unwrap_or(!blind),
        });
    }
    Ok(out)
}

/// A field's kind, with its choices for `one-of`.
fn kind(loc: &Locator<'_>, r: &RawField) -> Result<FieldKind, ConfigError> {
    let spelled = r.kind.as_ref().map_or("text", |k| k.get_ref().as_str());
    let offset = r.kind.as_ref().map_or(r.name.span().start, |k| k.span().start);
    let kind = match spelled.trim().to_ascii_lowercase().as_str() {
        "text" => FieldKind::Text,
        "yes/no" | "yes-no" | "yesno" => FieldKind::YesNo,
        "one-of" | "one of" | "oneof" => {
            let Some(choices) = &r.choices else {
                return Err(loc.err_at(
                    offset,
                    &format!("{KEY}.choices"),
                    "a one-of field needs choices = [\"…\", \"…\"]",
                ));
            };
            let list: Vec<String> = choices
                .get_ref()
                .iter()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .collect();
            if list.len() < 2 {
                return Err(loc.err_at(
                    choices.span().start,
                    &format!("{KEY}.choices"),
                    "list at least two choices",
                ));
            }
            return Ok(FieldKind::OneOf(list));
        }
        other => {
            return Err(loc.err_at(
                offset,
                &format!("{KEY}.kind"),
                &format!("unknown kind {other:?}; kinds are: text, yes/no, one-of"),
            ))
        }
    };
    if let Some(c) = &r.choices {
        return Err(loc.err_at(
            c.span().start,
            &format!("{KEY}.choices"),
            "choices are only for kind = \"one-of\"",
        ));
    }
    Ok(kind)
}

/// `cfpd check`'s warnings: a field blind reviewers see may name or point
/// at the speaker (pronouns, affiliation, a city), so say which ones.
pub fn blind_warnings(custom: &[CustomField], blind: bool) -> Vec<String> {
    if !blind {
        return Vec::new();
    }
    custom
        .iter()
        .filter(|c| c.reviewers)
        .map(|c| {
            format!(
                "field {:?} ({}) is shown to reviewers under blind review: make sure its answers cannot identify the speaker",
                c.name, c.label
            )
        })
        .collect()
}
