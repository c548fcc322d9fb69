//! The HTML tokenizer: one piece of markup at a time (start tag with attributes, end tag,
//! comment, CDATA), tolerant of malformed input and linear in the input's length.

use super::entities::decode_entities;

pub(super) enum Markup {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    End(String),
    Ignored,
    Cdata(String),
}

/// The HTML source with the last positions of `>`, `"` and `'`, so that a search for one of
/// them that would fail is known to fail without scanning (keeps parsing linear).
pub(super) struct Source<'a> {
    pub(super) html: &'a str,
    pub(super) lower: String,
    last_gt: Option<usize>,
    last_dquote: Option<usize>,
    last_squote: Option<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(html: &'a str) -> Self {
        Source {
            html,
            lower: html.to_ascii_lowercase(),
            last_gt: html.rfind('>'),
            last_dquote: html.rfind('"'),
            last_squote: html.rfind('\''),
        }
    }

    /// Position of the next `>` at or after `from`.
    fn find_gt(&self, from: usize) -> Option<usize> {
        if self.last_gt? < from {
            return None;
        }
        self.html[from..].find('>').map(|p| from + p)
    }

    fn find_quote(&self, quote: u8, from: usize) -> Option<usize> {
        let last = if quote == b'"' {
            self.last_dquote
        } else {
            self.last_squote
        };
        if last? < from {
            return None;
        }
        self.html[from..].find(quote as char).map(|p| from + p)
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_' | b'.')
}

/// Parses the markup starting at `i` (which holds `<`); `None` when it is literal text.
pub(super) fn parse_markup(src: &Source<'_>, i: usize) -> Option<(Markup, usize)> {
    let html = src.html;
    let b = html.as_bytes();
    let rest = &html[i..];
    if rest.starts_with("<!--") {
        let end = html[i + 4..].find("-->").map_or(b.len(), |p| i + 4 + p + 3);
        return Some((Markup::Ignored, end));
    }
    if rest.starts_with("<![CDATA[") {
        let start = i + 9;
        return Some(match html[start..].find("]]>") {
            Some(p) => (
                Markup::Cdata(html[start..start + p].to_string()),
                start + p + 3,
            ),
            None => (Markup::Cdata(html[start..].to_string()), b.len()),
        });
    }
    let next = *b.get(i + 1)?;
    if next == b'!' || next == b'?' {
        let end = src.find_gt(i)?;
        return Some((Markup::Ignored, end + 1));
    }
    if next == b'/' {
        let first = *b.get(i + 2)?;
        if !first.is_ascii_alphabetic() {
            let end = src.find_gt(i)?;
            return Some((Markup::Ignored, end + 1));
        }
        let mut j = i + 2;
        while j < b.len() && is_name_byte(b[j]) {
            j += 1;
        }
        let name = html[i + 2..j].to_ascii_lowercase();
        let end = src.find_gt(j)?;
        return Some((Markup::End(name), end + 1));
    }
    if !next.is_ascii_alphabetic() {
        return None;
    }
    // A start tag needs a `>` somewhere after it.
    src.find_gt(i)?;
    let mut j = i + 1;
    while j < b.len() && is_name_byte(b[j]) {
        j += 1;
    }
    let name = html[i + 1..j].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= b.len() {
            return None;
        }
        match b[j] {
            b'>' => {
                return Some((
                    Markup::Start {
                        name,
                        attrs,
                        self_closing,
                    },
                    j + 1,
                ))
            }
            b'/' => {
                self_closing = b.get(j + 1) == Some(&b'>');
                j += 1;
                continue;
            }
            _ => {}
        }
        let start = j;
        while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/') {
            j += 1;
        }
        if j == start {
            j += 1;
            continue;
        }
        let attr_name = html[start..j].to_ascii_lowercase();
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = String::new();
        if j < b.len() && b[j] == b'=' {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                let vstart = j + 1;
                let vend = src.find_quote(b[j], vstart)?;
                value = html[vstart..vend].to_string();
                j = vend + 1;
            } else {
                let vstart = j;
                while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                    j += 1;
                }
                value = html[vstart..j].to_string();
            }
        }
        if attrs.len() < 64 {
            attrs.push((attr_name, decode_entities(&value)));
        }
    }
}

pub(super) fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn has_class(attrs: &[(String, String)], class: &str) -> bool {
    attr(attrs, "class")
        .is_some_and(|c| c.split_whitespace().any(|t| t.eq_ignore_ascii_case(class)))
}

pub(super) fn compact_style(attrs: &[(String, String)]) -> String {
    attr(attrs, "style")
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}
