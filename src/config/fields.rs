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

/// The key `k` of field table `i`, as errors name it: `proposals.fields[0].kind`.
fn key(i: usize, k: &str) -> String {
    format!("proposals.fields[{i}].{k}")
}

/// Validate the fields: a name fit for a CSV column and unused, a label that
/// is not a built-in one, a known kind, choices exactly for `one-of`.
/// Under blind review a field reaches reviewers only when `reviewers = true`.
pub(super) fn fields(
    loc: &Locator<'_>,
    raw: &[RawField],
    blind: bool,
) -> Result<Vec<CustomField>, ConfigError> {
    let mut out: Vec<CustomField> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = |s: &toml::Spanned<String>, k: &str, msg: &str| {
            loc.err_at(s.span().start, &key(i, k), msg)
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
        let label = r
            .label
            .get_ref()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
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
            return Err(at(
                &r.label,
                "label",
                &format!("{label:?} is used by another field"),
            ));
        }
        let kind = kind(loc, i, r)?;
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
fn kind(loc: &Locator<'_>, i: usize, r: &RawField) -> Result<FieldKind, ConfigError> {
    let spelled = r.kind.as_ref().map_or("text", |k| k.get_ref().as_str());
    let offset = r
        .kind
        .as_ref()
        .map_or(r.name.span().start, |k| k.span().start);
    let kind = match spelled.trim().to_ascii_lowercase().as_str() {
        "text" => FieldKind::Text,
        "yes/no" | "yes-no" | "yesno" => FieldKind::YesNo,
        "one-of" | "one of" | "oneof" => {
            let Some(choices) = &r.choices else {
                return Err(loc.err_at(
                    offset,
                    &key(i, "choices"),
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
                    &key(i, "choices"),
                    "list at least two choices",
                ));
            }
            return Ok(FieldKind::OneOf(list));
        }
        other => {
            return Err(loc.err_at(
                offset,
                &key(i, "kind"),
                &format!("unknown kind {other:?}; kinds are: text, yes/no, one-of"),
            ))
        }
    };
    if let Some(c) = &r.choices {
        return Err(loc.err_at(
            c.span().start,
            &key(i, "choices"),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;
    use super::*;

    const BASE: &str = r#"
[conference]
name = "DjangoCon US 2024"
cfp_address = "cfp@djangocon.example"
time_zone = "AoE"
cfp_deadline = "2024-04-24T23:59:59"

[mailbox]
kind = "maildir"
path = "inbox"

[outgoing]
kind = "folder"
path = "sent"
"#;

    fn load(extra: &str) -> Result<Config, String> {
        Config::from_str(&format!("{BASE}{extra}"), Path::new("/x/cfpd.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fields_load_with_kinds_and_blind_defaults() {
        let c = load(
            r#"
[[proposals.fields]]
name = "pronouns"
label = "Pronouns:"

[[proposals.fields]]
name = "in_person"
label = "Can you attend in person?"
kind = "yes/no"
required = true
reviewers = true

[[proposals.fields]]
name = "travel"
label = "Travel support"
kind = "one-of"
choices = ["None", "Partial", "Full"]
"#,
        )
        .unwrap();
        let f = &c.proposals.custom;
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].label, "Pronouns");
        assert_eq!(
            (f[0].kind.clone(), f[0].required, f[0].reviewers),
            (FieldKind::Text, false, false)
        );
        assert_eq!(
            (f[1].kind.clone(), f[1].required, f[1].reviewers),
            (FieldKind::YesNo, true, true)
        );
        assert_eq!(
            f[2].kind,
            FieldKind::OneOf(vec!["none".into(), "partial".into(), "full".into()])
        );
        // Blind review (the default): only the explicit `reviewers = true` shows.
        assert_eq!(
            blind_warnings(f, c.review.blind),
            vec!["field \"in_person\" (Can you attend in person?) is shown to reviewers under blind review: make sure its answers cannot identify the speaker".to_string()]
        );
        // Open review: reviewers see fields unless told otherwise.
        let open = load("[review]\nblind = false\n[[proposals.fields]]\nname = \"pronouns\"\nlabel = \"Pronouns\"\n").unwrap();
        assert!(open.proposals.custom[0].reviewers);
        assert!(blind_warnings(&open.proposals.custom, false).is_empty());
    }

    #[test]
    fn mistakes_name_line_and_key() {
        let cases = [
            (
                "[[proposals.fields]]\nname = \"Pro nouns\"\nlabel = \"Pronouns\"\n",
                "/x/cfpd.toml:17: proposals.fields[0].name: write a short name",
            ),
            (
                "[[proposals.fields]]\nname = \"title\"\nlabel = \"Talk name\"\n",
                "/x/cfpd.toml:17: proposals.fields[0].name: \"title\" is a built-in field",
            ),
            (
                "[[proposals.fields]]\nname = \"kind\"\nlabel = \"Abstract\"\n",
                "/x/cfpd.toml:18: proposals.fields[0].label: \"Abstract\" is already a built-in label",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\n[[proposals.fields]]\nname = \"a\"\nlabel = \"B\"\n",
                "/x/cfpd.toml:20: proposals.fields[1].name: \"a\" is defined twice",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\nkind = \"number\"\n",
                "/x/cfpd.toml:19: proposals.fields[0].kind: unknown kind \"number\"; kinds are: text, yes/no, one-of",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\nkind = \"one-of\"\n",
                "/x/cfpd.toml:19: proposals.fields[0].choices: a one-of field needs choices",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\nchoices = [\"x\", \"y\"]\n",
                "/x/cfpd.toml:19: proposals.fields[0].choices: choices are only for kind = \"one-of\"",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\nkind = \"one-of\"\nchoices = [\"x\"]\n",
                "/x/cfpd.toml:20: proposals.fields[0].choices: list at least two choices",
            ),
            (
                "[[proposals.fields]]\nname = \"a\"\nlabel = \"A\"\ncolour = 1\n",
                "/x/cfpd.toml:19: proposals.fields",
            ),
        ];
        for (extra, want) in cases {
            let e = load(&format!("\n{extra}")).unwrap_err();
            assert!(e.starts_with(want), "{extra:?}\ngot:  {e}\nwant: {want}");
        }
    }
}
