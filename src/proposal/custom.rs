//! The conference's own questions (`[[proposals.fields]]`): "Pronouns",
//! "Accessibility needs", "Can you attend in person?". Each is recognised
//! in a speaker's mail by its label like the built-in ones, normalised by
//! its kind and checked in [`problems`]. Plain data, filled in by `config`.

use super::Fields;

/// One configured question.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    /// Its name in exports and the store (`pronouns`): lower-case letters,
    /// digits, `-` and `_`.
    pub name: String,
    /// What the speaker writes before the answer (`Pronouns`).
    pub label: String,
    /// What an answer may be.
    pub kind: FieldKind,
    /// A proposal without an answer stays a draft.
    pub required: bool,
    /// Reviewers see the answer in their assignment mail. Under blind review
    /// this is only true when the chair set it explicitly.
    pub reviewers: bool,
}

/// What an answer may be.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// Any text (one or more paragraphs).
    Text,
    /// `yes` or `no` (also y/n, true/false, written in any case).
    YesNo,
    /// One of the listed choices, normalised like `Format:` is.
    OneOf(Vec<String>),
}

impl FieldKind {
    /// How the config spells the kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::YesNo => "yes/no",
            FieldKind::OneOf(_) => "one-of",
        }
    }

    /// Whether the answer ends at the first blank line (a choice is one line).
    pub(super) fn one_paragraph(&self) -> bool {
        !matches!(self, FieldKind::Text)
    }
}

/// A label as compared: emphasis and a trailing colon gone, whitespace,
/// `-` and `_` as single spaces, lower case.
pub fn normalise_label(s: &str) -> String {
    s.trim_matches(|c: char| c == '*' || c == '_' || c == ':' || c.is_whitespace())
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The index of the field `label` (as written in a mail) names, by its label
/// or its name.
pub(super) fn field_named(label: &str, custom: &[CustomField]) -> Option<usize> {
    let l = normalise_label(label);
    if l.is_empty() {
        return None;
    }
    custom
        .iter()
        .position(|c| normalise_label(&c.label) == l || normalise_label(&c.name) == l)
}

/// A question label (ending in `?`) followed on its line by the answer:
/// "Can you attend in person? Yes". Returns the field's index and the answer.
pub(super) fn question_answered(line: &str, custom: &[CustomField]) -> Option<(usize, String)> {
    let plain: String = line
        .trim()
        .trim_start_matches(['#', '-', '+', ' ', '\t'])
        .replace("**", "")
        .replace("__", "");
    custom.iter().enumerate().find_map(|(i, c)| {
        if !c.label.ends_with('?') {
            return None;
        }
        let rest = strip_prefix_ignoring_case(&plain, &c.label)?;
        let answer = rest.trim().trim_start_matches([':', '：']).trim();
        (!answer.is_empty()).then(|| (i, answer.to_string()))
    })
}

/// `s` after `prefix`, compared character by character ignoring case
/// (never slicing inside a character).
fn strip_prefix_ignoring_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let mut chars = s.char_indices();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    Some(chars.as_str())
}

/// A yes/no answer as stored: `yes`, `no`, or `None` when it is neither.
pub fn yes_no(value: &str) -> Option<&'static str> {
    let v = value
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    match v.as_str() {
        "yes" | "y" | "true" | "yes please" | "sure" => Some("yes"),
        "no" | "n" | "false" | "none" | "no thanks" => Some("no"),
        _ => None,
    }
}

/// An answer normalised by its kind: yes/no as `yes`/`no`, a choice as the
/// configured spelling; anything unrecognised stays as written so the
/// reply can quote it.
pub(super) fn normalise(value: &str, kind: &FieldKind) -> String {
    match kind {
        FieldKind::Text => value.to_string(),
        FieldKind::YesNo => yes_no(value).map_or_else(
            || value.split_whitespace().collect::<Vec<_>>().join(" "),
            String::from,
        ),
        FieldKind::OneOf(choices) => super::parse::choose(value, choices),
    }
}

/// What keeps the custom answers in `fields` from being complete, as
/// sentences a speaker can act on.
pub fn problems(fields: &Fields, custom: &[CustomField]) -> Vec<String> {
    let mut out = Vec::new();
    for c in custom {
        let value = fields.custom.get(&c.name).filter(|v| !v.trim().is_empty());
        match (value, &c.kind) {
            (None, _) if c.required => out.push(format!("{} is missing.", c.label)),
            (None, _) | (Some(_), FieldKind::Text) => {}
            (Some(v), FieldKind::YesNo) => {
                if yes_no(v).is_none() {
                    out.push(format!(
                        "{} \"{v}\" is not an answer: write yes or no.",
                        c.label
                    ));
                }
            }
            (Some(v), FieldKind::OneOf(choices)) => {
                if !choices.iter().any(|x| x == v) {
                    out.push(format!(
                        "{} \"{v}\" is not one of: {}.",
                        c.label,
                        choices.join(", ")
                    ));
                }
            }
        }
    }
    out
}

/// The (label, answer) pairs of `fields` in config order; answers to fields
/// no longer configured follow under their stored name, so nothing a
/// speaker gave disappears from a chair's view.
pub fn answers(fields: &Fields, custom: &[CustomField]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = custom
        .iter()
        .filter_map(|c| {
            let v = fields.custom.get(&c.name)?;
            (!v.trim().is_empty()).then(|| (c.label.clone(), v.clone()))
        })
        .collect();
    out.extend(
        fields
            .custom
            .iter()
            .filter(|(k, v)| !custom.iter().any(|c| &c.name == *k) && !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Pronouns (text, optional, hidden), in person (yes/no, required,
    /// shown) and travel (one-of, optional, shown).
    pub(crate) fn sample() -> Vec<CustomField> {
        vec![
            CustomField {
                name: "pronouns".into(),
                label: "Pronouns".into(),
                kind: FieldKind::Text,
                required: false,
                reviewers: false,
            },
            CustomField {
                name: "in_person".into(),
                label: "Can you attend in person?".into(),
                kind: FieldKind::YesNo,
                required: true,
                reviewers: true,
            },
            CustomField {
                name: "travel".into(),
                label: "Travel support".into(),
                kind: FieldKind::OneOf(vec!["none".into(), "partial".into(), "full".into()]),
                required: false,
                reviewers: true,
            },
        ]
    }

    #[test]
    fn labels_match_by_label_or_name_in_any_case() {
        let c = sample();
        assert_eq!(field_named("PRONOUNS", &c), Some(0));
        assert_eq!(field_named("**Pronouns**", &c), Some(0));
        assert_eq!(field_named("can you attend  in person?", &c), Some(1));
        assert_eq!(field_named("in person", &c), Some(1));
        assert_eq!(field_named("in-person", &c), Some(1));
        assert_eq!(field_named("travel", &c), Some(2));
        assert_eq!(field_named("travel costs", &c), None);
        assert_eq!(field_named("", &c), None);
    }

    #[test]
    fn a_question_may_carry_its_answer_on_its_line() {
        let c = sample();
        assert_eq!(
            question_answered("**Can you attend in person?** Yes!", &c),
            Some((1, "Yes!".into()))
        );
        assert_eq!(
            question_answered("can you attend in person?: no", &c),
            Some((1, "no".into()))
        );
        assert_eq!(question_answered("Can you attend in person?", &c), None);
        assert_eq!(question_answered("İİİ Can you", &c), None);
        assert_eq!(question_answered("Pronouns she/her", &c), None);
    }

    #[test]
    fn answers_normalise_by_kind() {
        assert_eq!(normalise("Yes.", &FieldKind::YesNo), "yes");
        assert_eq!(normalise("N", &FieldKind::YesNo), "no");
        assert_eq!(normalise("maybe  later", &FieldKind::YesNo), "maybe later");
        let k = FieldKind::OneOf(vec!["none".into(), "partial".into(), "full".into()]);
        assert_eq!(normalise("Full", &k), "full");
        assert_eq!(normalise("partial (flights only)", &k), "partial");
        assert_eq!(normalise("lots", &k), "lots");
        assert_eq!(
            normalise("she/her\nthey", &FieldKind::Text),
            "she/her\nthey"
        );
    }

    #[test]
    fn problems_name_missing_required_and_bad_answers() {
        let c = sample();
        assert_eq!(
            problems(&Fields::default(), &c),
            vec!["Can you attend in person? is missing.".to_string()]
        );
        let mut f = Fields::default();
        f.custom.insert("in_person".into(), "maybe".into());
        f.custom.insert("travel".into(), "lots".into());
        assert_eq!(
            problems(&f, &c),
            vec![
                "Can you attend in person? \"maybe\" is not an answer: write yes or no."
                    .to_string(),
                "Travel support \"lots\" is not one of: none, partial, full.".into(),
            ]
        );
        f.custom.insert("in_person".into(), "yes".into());
        f.custom.insert("travel".into(), "full".into());
        assert!(problems(&f, &c).is_empty());
    }

    #[test]
    fn answers_follow_config_order_and_keep_unconfigured_ones() {
        let c = sample();
        let mut f = Fields::default();
        f.custom.insert("travel".into(), "full".into());
        f.custom.insert("pronouns".into(), "she/her".into());
        f.custom.insert("old_question".into(), "kept".into());
        assert_eq!(
            answers(&f, &c),
            vec![
                ("Pronouns".to_string(), "she/her".to_string()),
                ("Travel support".into(), "full".into()),
                ("old_question".into(), "kept".into()),
            ]
        );
    }
}
