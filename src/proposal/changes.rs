//! What changed between two versions of a proposal, field by field, as a
//! chair reads it in `cfpd proposals show`: "Title changed", a field added
//! or removed, and for texts a short diff of their lines.

use super::{label, CustomField, Fields, PROPOSAL_FIELDS};

/// At most this many diff lines per field; the rest is counted.
const MAX_DIFF_LINES: usize = 8;

/// One field's change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Given now, not before.
    Added {
        /// The field's label.
        label: String,
    },
    /// Given before, not now.
    Removed {
        /// The field's label.
        label: String,
    },
    /// A one-line value that changed.
    Replaced {
        /// The field's label.
        label: String,
        /// The old value.
        old: String,
        /// The new value.
        new: String,
    },
    /// A text that changed: its diff lines (`- old`, `+ new`), at most
    /// `MAX_DIFF_LINES`, and how many more there were.
    Text {
        /// The field's label.
        label: String,
        /// `- ` and `+ ` lines, in order.
        lines: Vec<String>,
        /// Diff lines left out.
        more: usize,
    },
}

impl Change {
    /// The label of the field that changed.
    pub fn label(&self) -> &str {
        match self {
            Change::Added { label }
            | Change::Removed { label }
            | Change::Replaced { label, .. }
            | Change::Text { label, .. } => label,
        }
    }

    /// The change as lines for a terminal (the caller makes them safe to print).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Change::Added { label } => vec![format!("{label} added")],
            Change::Removed { label } => vec![format!("{label} removed")],
            Change::Replaced { label, old, new } => {
                vec![format!("{label} changed: \"{old}\" -> \"{new}\"")]
            }
            Change::Text { label, lines, more } => {
                let mut out = vec![format!("{label} changed:")];
                out.extend(lines.iter().map(|l| format!("  {l}")));
                if *more > 0 {
                    out.push(format!("  ({more} more changed lines)"));
                }
                out
            }
        }
    }
}

/// The changes from `old` to `new`: built-in fields in their usual order,
/// then the conference's own fields (labelled from `custom` when configured).
pub fn between(old: &Fields, new: &Fields, custom: &[CustomField]) -> Vec<Change> {
    let mut names: Vec<(String, String)> = PROPOSAL_FIELDS
        .iter()
        .map(|f| (f.to_string(), label(f).to_string()))
        .collect();
    for k in old.custom.keys().chain(new.custom.keys()) {
        if !names.iter().any(|(n, _)| n == k) {
            let l = custom
                .iter()
                .find(|c| &c.name == k)
                .map_or_else(|| k.clone(), |c| c.label.clone());
            names.push((k.clone(), l));
        }
    }
    // Configured fields first in config order; the rest by name.
    let order = |n: &str| {
        custom
            .iter()
            .position(|c| c.name == n)
            .unwrap_or(usize::MAX)
    };
    names[PROPOSAL_FIELDS.len()..]
        .sort_by(|a, b| order(&a.0).cmp(&order(&b.0)).then(a.0.cmp(&b.0)));
    names
        .into_iter()
        .filter_map(|(name, label)| change(old.get(&name), new.get(&name), label))
        .collect()
}

/// One field's change, if any.
fn change(old: Option<String>, new: Option<String>, label: String) -> Option<Change> {
    match (old, new) {
        (None, None) => None,
        (None, Some(_)) => Some(Change::Added { label }),
        (Some(_), None) => Some(Change::Removed { label }),
        (Some(o), Some(n)) if o == n => None,
        (Some(o), Some(n))
            if !o.contains('\n') && !n.contains('\n') && o.len() + n.len() <= 120 =>
        {
            Some(Change::Replaced {
                label,
                old: o,
                new: n,
            })
        }
        (Some(o), Some(n)) => {
            let all = line_diff(&o, &n);
            let more = all.len().saturating_sub(MAX_DIFF_LINES);
            Some(Change::Text {
                label,
                lines: all.into_iter().take(MAX_DIFF_LINES).collect(),
                more,
            })
        }
    }
}

/// The lines removed (`- `) and added (`+ `) from `old` to `new`, in order,
/// from a longest common subsequence of lines. Written here rather than
/// taken from a diff crate: proposal texts are a few dozen lines, so the
/// quadratic table is small, and only changed lines are shown (no hunks).
fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals first: "- old" then "+ new" reads as a replacement.
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out.retain(|l| l.trim() != "+" && l.trim() != "-");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proposal::custom;

    #[test]
    fn title_change_is_named_with_both_values() {
        let old = Fields {
            title: Some("Fast ORM".into()),
            format: Some("talk-25".into()),
            ..Default::default()
        };
        let new = Fields {
            title: Some("Faster ORM".into()),
            format: Some("talk-25".into()),
            bio: Some("I am Ada.".into()),
            ..Default::default()
        };
        let c = between(&old, &new, &[]);
        assert_eq!(
            c,
            vec![
                Change::Replaced {
                    label: "Title".into(),
                    old: "Fast ORM".into(),
                    new: "Faster ORM".into()
                },
                Change::Added {
                    label: "Bio".into()
                },
            ]
        );
        assert_eq!(
            c[0].lines(),
            vec!["Title changed: \"Fast ORM\" -> \"Faster ORM\"".to_string()]
        );
        assert!(between(&new, &new, &[]).is_empty());
        assert_eq!(
            between(&new, &old, &[])[1],
            Change::Removed {
                label: "Bio".into()
            }
        );
    }

    #[test]
    fn texts_show_only_their_changed_lines() {
        let old = Fields {
            abstract_text: Some("We profile.\nWe fix N+1 queries.\nWe measure.".into()),
            ..Default::default()
        };
        let new = Fields {
            abstract_text: Some(
                "We profile.\nWe fix N+1 queries with select_related.\nWe measure.\nWe ship."
                    .into(),
            ),
            ..Default::default()
        };
        let c = between(&old, &new, &[]);
        assert_eq!(
            c[0].lines(),
            vec![
                "Abstract changed:".to_string(),
                "  - We fix N+1 queries.".into(),
                "  + We fix N+1 queries with select_related.".into(),
                "  + We ship.".into(),
            ]
        );
    }

    #[test]
    fn long_diffs_are_cut_and_counted() {
        let old = Fields {
            description: Some(
                (0..20)
                    .map(|i| format!("old {i}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            ..Default::default()
        };
        let new = Fields {
            description: Some(
                (0..20)
                    .map(|i| format!("new {i}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            ..Default::default()
        };
        let Change::Text { lines, more, .. } = &between(&old, &new, &[])[0] else {
            panic!("a text change");
        };
        assert_eq!(lines.len(), MAX_DIFF_LINES);
        assert_eq!(*more, 40 - MAX_DIFF_LINES);
        assert!(between(&old, &new, &[])[0]
            .lines()
            .last()
            .is_some_and(|l| l == "  (32 more changed lines)"));
    }

    #[test]
    fn own_fields_are_labelled_from_the_config() {
        let custom = custom::tests::sample();
        let mut old = Fields::default();
        old.custom.insert("travel".into(), "none".into());
        let mut new = old.clone();
        new.custom.insert("travel".into(), "full".into());
        new.custom.insert("pronouns".into(), "she/her".into());
        assert_eq!(
            between(&old, &new, &custom),
            vec![
                Change::Added {
                    label: "Pronouns".into()
                },
                Change::Replaced {
                    label: "Travel support".into(),
                    old: "none".into(),
                    new: "full".into()
                },
            ]
        );
    }
}
