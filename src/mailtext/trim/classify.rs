//! Line classification: each line of a reply is empty, a delimiter, a mobile signature, an
//! attribution or forward marker, a header of a quoted original, a quote, or text.

use super::attribution::is_marker;
use super::headers::is_header;
use super::signature::is_signature;
use crate::mailtext::lines::is_empty_line;
use crate::mailtext::quote::is_quote_line;

/// What a line of a reply is; the trimming rules work on the string of their codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Empty,
    Delimiter,
    Signature,
    Marker,
    Header,
    Quote,
    Text,
}

impl Kind {
    pub(super) fn code(self) -> char {
        match self {
            Kind::Empty => 'e',
            Kind::Delimiter => 'd',
            Kind::Signature => 's',
            Kind::Marker => 'b',
            Kind::Header => 'h',
            Kind::Quote => 'q',
            Kind::Text => 't',
        }
    }
}

/// A line made only of rule characters (`---`, `___`, `==`, `-- `, …): a signature
/// delimiter or a decorative rule.
pub(super) fn is_delimiter(line: &str) -> bool {
    let mut any = false;
    for c in line.chars() {
        if c.is_whitespace() {
            continue;
        }
        if !matches!(
            c,
            '-' | '_' | ',' | '=' | '+' | '~' | '#' | '*' | 'ᐧ' | '—' | '–'
        ) {
            return false;
        }
        any = true;
    }
    any
}

fn classify(line: &str) -> Kind {
    if is_empty_line(line) {
        Kind::Empty
    } else if is_delimiter(line) {
        Kind::Delimiter
    } else if is_signature(line) {
        Kind::Signature
    } else if is_marker(line) {
        Kind::Marker
    } else if is_header(line) {
        Kind::Header
    } else if is_quote_line(line) {
        Kind::Quote
    } else {
        Kind::Text
    }
}

fn is_fence(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    indent <= 3 && line.trim_start_matches(' ').starts_with("```")
}

/// Classifies every line; lines inside a closed ``` code fence are always text.
pub(super) fn classify_all(lines: &[String]) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = lines.iter().map(|l| classify(l)).collect();
    let mut open: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if is_fence(line) {
            match open {
                None => open = Some(i),
                Some(start) => {
                    for k in kinds.iter_mut().take(i + 1).skip(start) {
                        if *k != Kind::Empty {
                            *k = Kind::Text;
                        }
                    }
                    open = None;
                }
            }
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> String {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        classify_all(&lines).into_iter().map(Kind::code).collect()
    }

    #[test]
    fn every_kind_and_fenced_code() {
        assert_eq!(
            codes(
                "Fine.\n\n-- \nSent from my iPhone\nOn 2 Jan 2024, X <x@y.z> wrote:\nFrom: a\n> q"
            ),
            "tedsbhq"
        );
        // Inside a closed ``` fence everything but blank lines is text.
        assert_eq!(codes("```\n> q\n\n-- \n```"), "ttett");
        // An unclosed fence changes nothing.
        assert_eq!(codes("```\n> q"), "tq");
    }
}
