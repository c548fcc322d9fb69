//! Whether a line is a built-in label, read by hand.
//!
//! [`super::parse`] asks this of every line of every body. The grammar is one
//! regex, kept in the tests as the specification:
//!
//! ```text
//! (?i)^[ \t]*(?:#{1,6}[ \t]*|[-*+][ \t]+)?(?:\*\*|__|\*|_)?[ \t]*(LABEL|…)
//!     [ \t]*(?:\*\*|__|\*|_)?[ \t]*(?:(?:[:：]|\s-\s)(?:\*\*|__)?[ \t]*(.*?)|\(.*\))?[ \t]*$
//! ```
//!
//! Its captures cost the regex crate a backtracking run over some thirty-five
//! case-insensitive alternatives on every labelled line: most of what parsing a
//! proposal cost. The grammar is simple enough to follow directly, choice by
//! choice in the order the regex prefers them, so this module does, and gives the
//! same spans. The tests compare both on generated and real lines, and check the
//! two Unicode facts it relies on: which characters `(?i)` folds onto an ASCII
//! letter (`ſ` onto `s`, the Kelvin sign onto `k`), and that `\s` is
//! [`char::is_whitespace`].

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// The spans a label line's regex captures: the label as written, and the value
/// on the label's line (when a colon or ` - ` introduces one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LabelMatch {
    /// Group 1: the label as written (`Talk  Title`).
    pub(super) label: Range<usize>,
    /// Group 2: the value after the colon, blanks trimmed; `None` when the label
    /// stands alone or is followed by a parenthesis.
    pub(super) value: Option<Range<usize>>,
}

/// The label spellings in the order the regex tries them: longest first, ties in
/// [`super::parse::LABELS`] order (so "notes for reviewers" wins over "notes").
pub(super) fn alternatives() -> &'static [&'static str] {
    static ALTS: OnceLock<Vec<&'static str>> = OnceLock::new();
    ALTS.get_or_init(|| {
        let mut alts: Vec<&'static str> = super::parse::LABELS
            .iter()
            .flat_map(|(_, a)| a.iter().copied())
            .collect();
        alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
        alts
    })
}

/// [`alternatives`] by their first letter, in the same order: a line is only
/// compared with the spellings its first letter can start.
fn alternatives_from(first: char) -> &'static [&'static str] {
    static BY_LETTER: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    let by_letter = BY_LETTER.get_or_init(|| {
        (b'a'..=b'z')
            .map(|l| {
                let l = char::from(l);
                alternatives()
                    .iter()
                    .copied()
                    .filter(|a| a.starts_with(l))
                    .collect()
            })
            .collect()
    });
    let letter = match first {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    match letter {
        'a'..='z' => &by_letter[usize::from(letter as u8 - b'a')],
        _ => &[],
    }
}

/// The spans of `line` as a built-in label, or `None` when it is not one.
/// `line` is one line (`str::lines`), though a `\n` in it is handled as the
/// regex would handle it.
pub(super) fn match_label(line: &str) -> Option<LabelMatch> {
    // Heading marks, bullets and emphasis are made of these bytes and a label
    // starts with a letter: the label can only start at the first other byte.
    let at = line
        .bytes()
        .position(|b| !matches!(b, b' ' | b'\t' | b'#' | b'-' | b'*' | b'+' | b'_'))?;
    let marks = &line[..at];
    if !marks.bytes().all(|b| is_blank(&b)) && !marks_regex().is_match(marks) {
        return None;
    }
    let first = line[at..].chars().next()?;
    for alt in alternatives_from(first) {
        let Some(end) = label_end(line, at, alt) else {
            continue;
        };
        if let Some(value) = after_label(&line[end..]) {
            return Some(LabelMatch {
                label: at..end,
                value: value.map(|v| v.start + end..v.end + end),
            });
        }
    }
    None
}

/// What may come before a label: `[ \t]*(?:#{1,6}[ \t]*|[-*+][ \t]+)?(?:\*\*|__|\*|_)?[ \t]*`.
/// Most lines have nothing there or only blanks, and this is not asked.
fn marks_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[ \t]*(?:#{1,6}[ \t]*|[-*+][ \t]+)?(?:\*\*|__|\*|_)?[ \t]*$")
            .expect("label marks regex")
    })
}

/// Whether `c` is what `(?i)` matches for the lower-case ASCII letter `l`: the
/// letter in either case, and the two non-ASCII characters Unicode simple case
/// folding maps onto ASCII letters.
fn folds_to(c: char, l: char) -> bool {
    c.to_ascii_lowercase() == l || (l == 's' && c == '\u{17f}') || (l == 'k' && c == '\u{212a}')
}

/// Where `alt` ends when it is written at byte `at` of `line`: letters in any
/// case, `-` as itself, a space as one or more whitespace characters (`\s+`,
/// which takes them all: the next character of a label is a letter).
fn label_end(line: &str, at: usize, alt: &str) -> Option<usize> {
    let mut chars = line[at..].char_indices().peekable();
    for l in alt.chars() {
        if l == ' ' {
            chars.next_if(|&(_, c)| c.is_whitespace())?;
            while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        } else {
            chars.next_if(|&(_, c)| if l == '-' { c == '-' } else { folds_to(c, l) })?;
        }
    }
    Some(chars.peek().map_or(line.len(), |&(i, _)| at + i))
}

fn is_blank(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

/// Whether what follows a label matches
/// `[ \t]*(?:\*\*|__|\*|_)?[ \t]*(?:(?:[:：]|\s-\s)(?:\*\*|__)?[ \t]*(.*?)|\(.*\))?[ \t]*$`,
/// and the span of its `(.*?)` when that is how it matched. The choices are
/// tried in the order the regex prefers them (greedy blanks longest first,
/// emphasis alternatives left to right, a value before a parenthesis before
/// nothing), so the first that matches is the one the regex reports.
fn after_label(r: &str) -> Option<Option<Range<usize>>> {
    let b = r.as_bytes();
    let blanks_from = |i: usize| i + b[i..].iter().take_while(|c| is_blank(c)).count();
    let w1 = blanks_from(0);
    for p1 in (0..=w1).rev() {
        for emphasis in ["**", "__", "*", "_", ""] {
            if !b[p1..].starts_with(emphasis.as_bytes()) {
                continue;
            }
            let p2 = p1 + emphasis.len();
            for p3 in (p2..=blanks_from(p2)).rev() {
                if let Some(head) = separator_end(r, p3) {
                    // `(?:\*\*|__)?[ \t]*(.*?)[ \t]*$`: `.` stops at a line break.
                    if !r[head..].contains('\n') {
                        return Some(Some(value_span(r, head)));
                    }
                }
                // `\(.*\)[ \t]*$`
                let rest = &r[p3..];
                if let Some(inner) = rest.strip_prefix('(') {
                    if !inner.contains('\n') && inner.trim_end_matches([' ', '\t']).ends_with(')') {
                        return Some(None);
                    }
                }
                if rest.bytes().all(|c| is_blank(&c)) {
                    return Some(None);
                }
            }
        }
    }
    None
}

/// Where `[:：]` or `\s-\s` ends, when one starts at byte `at` of `r`.
fn separator_end(r: &str, at: usize) -> Option<usize> {
    let mut chars = r[at..].chars();
    match chars.next()? {
        c @ (':' | '：') => Some(at + c.len_utf8()),
        c if c.is_whitespace() => {
            chars.next().filter(|&d| d == '-')?;
            let after = chars.next().filter(|d| d.is_whitespace())?;
            Some(at + c.len_utf8() + 1 + after.len_utf8())
        }
        _ => None,
    }
}

/// The value after a separator ending at `head`: past `**`/`__` and blanks,
/// up to the trailing blanks.
fn value_span(r: &str, head: usize) -> Range<usize> {
    let b = r.as_bytes();
    let mut start = head;
    if b[start..].starts_with(b"**") || b[start..].starts_with(b"__") {
        start += 2;
    }
    start += b[start..].iter().take_while(|c| is_blank(c)).count();
    let end = r.trim_end_matches([' ', '\t']).len().max(start);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification: the regex `parse` used to run on every line.
    fn reference() -> &'static Regex {
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| {
            let alts = alternatives()
                .iter()
                .map(|a| regex::escape(a).replace("\\ ", "\\s+").replace(' ', "\\s+"))
                .collect::<Vec<_>>()
                .join("|");
            Regex::new(&format!(
                r"(?i)^[ \t]*(?:#{{1,6}}[ \t]*|[-*+][ \t]+)?(?:\*\*|__|\*|_)?[ \t]*({alts})[ \t]*(?:\*\*|__|\*|_)?[ \t]*(?:(?:[:：]|\s-\s)(?:\*\*|__)?[ \t]*(.*?)|\(.*\))?[ \t]*$"
            ))
            .expect("label regex")
        })
    }

    fn by_regex(line: &str) -> Option<LabelMatch> {
        let c = reference().captures(line)?;
        Some(LabelMatch {
            label: c.get(1)?.range(),
            value: c.get(2).map(|m| m.range()),
        })
    }

    #[track_caller]
    fn same(line: &str) {
        assert_eq!(match_label(line), by_regex(line), "{line:?}");
    }

    #[test]
    fn case_folding_and_whitespace_are_the_regex_crates() {
        let letters: std::collections::BTreeSet<char> = alternatives()
            .iter()
            .flat_map(|a| a.chars())
            .filter(char::is_ascii_lowercase)
            .collect();
        let space = Regex::new(r"^\s$").unwrap();
        let folds: Vec<(char, Regex)> = letters
            .iter()
            .map(|&l| (l, Regex::new(&format!("(?i)^{l}$")).unwrap()))
            .collect();
        let mut buf = [0u8; 4];
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s: &str = c.encode_utf8(&mut buf);
            assert_eq!(space.is_match(s), c.is_whitespace(), "{c:?}");
            for (l, re) in &folds {
                assert_eq!(re.is_match(s), folds_to(c, *l), "{c:?} for {l}");
            }
        }
    }

    #[test]
    fn every_spelling_is_found_from_its_first_letter() {
        for alt in alternatives() {
            let first = alt.chars().next().unwrap();
            for c in [first, first.to_ascii_uppercase()] {
                let from: Vec<_> = alternatives()
                    .iter()
                    .filter(|a| a.starts_with(first))
                    .collect();
                assert_eq!(alternatives_from(c).iter().collect::<Vec<_>>(), from, "{c}");
            }
        }
        assert_eq!(alternatives_from('\u{17f}'), alternatives_from('s'));
        assert!(alternatives_from('é').is_empty() && alternatives_from('1').is_empty());
    }

    #[test]
    fn labels_read_as_the_regex_reads_them() {
        for line in [
            "Title: Fast ORM",
            "title:Fast ORM  ",
            "TITLE : x",
            "Talk  title: x",
            "talk\u{3000}title: x",
            "## Abstract",
            "### description",
            "####### Abstract",
            "**Title:** Fast ORM",
            "*Format*: 45 minute talk",
            "__Bio__ - x",
            "audience - Beginner",
            "audience -Beginner",
            "audience\u{a0}-\u{a0}Beginner",
            " - Topics: web",
            "* Title: x",
            "*Title: x",
            "+ Title: x",
            "-Title: x",
            "Notes for reviewers: optional",
            "notes for the reviewers",
            "Notes: x",
            "Type",
            "Type: talk",
            "Level (1-3)",
            "Level (1-3) x",
            "Bio (short) ",
            "Bio ( ",
            "Summary：一句话",
            "\u{17f}ummary: x",
            "Trac\u{212a}: web",
            "Titles: x",
            "Title of my talk",
            "Co-speakers: ann@x.org",
            "co speakers: none",
            "Title: **Fast**",
            "Title: ** ",
            "Title:",
            "Title:   ",
            "Title\t:\tx\t",
            "Title: a\nb",
            "Title (x\n)",
            "Title \n",
            "",
            "   ",
            "# ",
            "Hello,",
            "Título: x",
        ] {
            same(line);
        }
    }

    /// Lines made of the pieces the grammar cares about, in any order: every
    /// one reads the same both ways.
    #[test]
    fn generated_lines_read_as_the_regex_reads_them() {
        let mut pieces: Vec<String> = [
            "",
            " ",
            "  ",
            "\t",
            "#",
            "###",
            "#######",
            "-",
            "*",
            "**",
            "+",
            "_",
            "__",
            ":",
            "：",
            " - ",
            "-",
            "(",
            ")",
            "x",
            "é",
            "\u{3000}",
            "\u{a0}",
            "\n",
            "\u{17f}",
            "\u{212a}",
            "Title",
            "talk title",
            "TALK  TITLE",
            "notes",
            "notes for",
            "for reviewers",
            "Co-Speakers",
            "type",
            "Abstract",
            "bio",
            "value",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        pieces.extend(alternatives().iter().map(|a| a.to_uppercase()));
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..60_000 {
            let n = (next() % 8) as usize;
            let line: String = (0..n)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize].as_str())
                .collect();
            same(&line);
        }
        // Labels behind every prefix and before every suffix.
        let before = ["", " ", "#", "## ", "- ", "* ", "**", "_", " * __", "#\t**"];
        let after = [
            "", ":", ": x", " : x ", "**: x", ":** x", " - x", "-x", " (x)", "(x) y", "x",
        ];
        for alt in alternatives() {
            for b in before {
                for a in after {
                    same(&format!("{b}{alt}{a}"));
                    same(&format!("{b}{}{a}", alt.to_uppercase()));
                }
            }
        }
    }

    /// Every line of the fixture mails reads the same both ways.
    #[test]
    fn fixture_lines_read_as_the_regex_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut lines = 0;
        for dir in ["human", "machine"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                for line in text.lines() {
                    same(line);
                    lines += 1;
                }
            }
        }
        assert!(lines > 500, "{lines}");
    }
}
