//! Answers typed inline: the runs of unquoted lines a person typed between the quoted lines
//! of a form, each paired with the quoted label it was typed under.

use super::attribution::{is_forward_marker, is_marker};
use super::classify::is_delimiter;
use super::headers::{header_block_at, is_header};
use super::preprocess;
use super::signature::is_sig_dash;
use crate::mailtext::lines::join_trimmed;
use crate::mailtext::quote::{is_quote_line, strip_quote_prefix};

/// A run of unquoted lines typed by the sender, found by [`inline_answers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineAnswer {
    /// The label of the nearest quoted label line above the run (for `> Score: (1-5)` this is
    /// `"Score"`), without Markdown decoration, colon or parenthesised hint. `None` when no
    /// quoted label precedes the run (or a quoted delimiter/attribution reset it).
    pub label: Option<String>,
    /// The typed lines, with leading and trailing blank lines removed.
    pub text: String,
    /// Whether a quoted line appears anywhere before the run.
    pub after_quote: bool,
    /// Whether the run is directly followed by a quoted line (it sits between quoted lines).
    pub before_quote: bool,
}

/// Finds the runs of unquoted lines typed between or after quoted lines, each paired with the
/// quoted label it was typed under.
///
/// This is how answers typed *inline inside a quoted form* are found: in
///
/// ```text
/// > Score: (1-5)
/// 4
/// > Comments for the speaker:
/// Great outline.
/// ```
///
/// the runs are `"4"` (label `"Score"`) and `"Great outline."` (label
/// `"Comments for the speaker"`). Quoted lines themselves are never returned as answers.
/// A signature delimiter (`-- `) ends collection until the next quoted line, and after an
/// unquoted Outlook-style header block or "Original Message" marker everything is treated as
/// quoted (Outlook does not mark quoted text). Runs before the first quote are returned too,
/// with `after_quote == false`.
pub fn inline_answers(text: &str) -> Vec<InlineAnswer> {
    let lines = preprocess(text);
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut seen_quote = false;
    let mut in_signature = false;
    let mut outlook_original = false;
    let mut run: Vec<&str> = Vec::new();
    let mut run_label: Option<String> = None;
    let mut run_after_quote = false;

    fn close(
        out: &mut Vec<InlineAnswer>,
        run: &mut Vec<&str>,
        label: &Option<String>,
        after_quote: bool,
        before_quote: bool,
    ) {
        let text = join_trimmed(run.iter().copied());
        run.clear();
        if !text.is_empty() {
            out.push(InlineAnswer {
                label: label.clone(),
                text,
                after_quote,
                before_quote,
            });
        }
    }

    for (i, line) in lines.iter().enumerate() {
        let line = line.as_str();
        let quoted = is_quote_line(line) || outlook_original;
        if quoted {
            close(&mut out, &mut run, &run_label, run_after_quote, true);
            in_signature = false;
            seen_quote = true;
            let content = strip_quote_prefix(line);
            if is_delimiter(content) || is_marker(content) {
                label = None;
            } else if let Some(l) = label_of(content) {
                label = Some(l);
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if !run.is_empty() {
                run.push("");
            }
            continue;
        }
        if in_signature {
            continue;
        }
        if is_sig_dash(line) {
            close(&mut out, &mut run, &run_label, run_after_quote, false);
            in_signature = true;
            continue;
        }
        if is_marker(line) {
            close(&mut out, &mut run, &run_label, run_after_quote, false);
            label = None;
            if is_forward_marker(line) {
                outlook_original = true;
            }
            continue;
        }
        if is_header(line) && header_block_at(&lines, i) {
            close(&mut out, &mut run, &run_label, run_after_quote, false);
            outlook_original = true;
            label = None;
            continue;
        }
        if run.is_empty() {
            run_label = label.clone();
            run_after_quote = seen_quote;
        }
        run.push(line);
    }
    close(&mut out, &mut run, &run_label, run_after_quote, false);
    out
}

/// The label of a `Label: value` or `## Heading` line, without Markdown decoration or a
/// parenthesised hint; `None` for ordinary sentences, URLs and long lines.
pub(super) fn label_of(content: &str) -> Option<String> {
    let t = content.trim();
    let t = t.trim_start_matches(|c: char| {
        matches!(c, '#' | '*' | '_' | '-' | '•') || c.is_whitespace()
    });
    let heading = content.trim_start().starts_with('#');
    let raw = match t.find([':', '：', '=']) {
        Some(pos) => {
            let after = &t[pos..];
            if after.starts_with("://") || after.starts_with(":/") {
                return None;
            }
            &t[..pos]
        }
        None if heading => t.trim_end_matches(|c: char| c == '#' || c.is_whitespace()),
        None => return None,
    };
    let mut label = raw.trim().trim_end_matches(['*', '_']).trim().to_string();
    if let Some(open) = label.find('(') {
        if label.ends_with(')') {
            label.truncate(open);
            label = label.trim().trim_end_matches(['*', '_']).trim().to_string();
        }
    }
    let words = label.split_whitespace().count();
    let first_ok = label.chars().next().is_some_and(|c| c.is_alphabetic());
    if !first_ok || words == 0 || words > 7 || label.chars().count() > 60 || label.contains("http")
    {
        return None;
    }
    Some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_form_lines() {
        assert_eq!(label_of("Score: (1-5)").as_deref(), Some("Score"));
        assert_eq!(
            label_of("**Comments for the speaker:**").as_deref(),
            Some("Comments for the speaker")
        );
        assert_eq!(label_of("## Confidence").as_deref(), Some("Confidence"));
        assert_eq!(label_of("Rating (1-5) = 4").as_deref(), Some("Rating"));
        assert_eq!(label_of("See https://example.org"), None);
        assert_eq!(label_of("http://example.org: here"), None);
        assert_eq!(
            label_of("I think this is a long sentence that goes on: and on"),
            None
        );
        assert_eq!(label_of("42: the answer"), None);
    }

    #[test]
    fn inline_answers_pair_with_quoted_labels() {
        let text = "On Tue, Jan 2, 2024 at 10:00 AM CFP <cfp@conf.example> wrote:\n> Title: Fast Django\n> Score: (1-5)\n4\n> Comments for the speaker:\nGreat outline.\nReally.\n> Comments for the committee:\n>\n";
        let runs = inline_answers(text);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[0].label.as_deref(), Some("Score"));
        assert_eq!(runs[0].text, "4");
        assert!(runs[0].after_quote && runs[0].before_quote);
        assert_eq!(runs[1].label.as_deref(), Some("Comments for the speaker"));
        assert_eq!(runs[1].text, "Great outline.\nReally.");
    }
}
