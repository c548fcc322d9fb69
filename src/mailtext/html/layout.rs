//! The output side of the HTML renderer: lines with their quote depth, pending line breaks,
//! list prefixes, the stack of open elements, and the final `>`-quoted text.

use crate::mailtext::lines::join_trimmed;
use crate::mailtext::quote::strip_quote_prefix;

/// Rendered HTML: the text, and in reply mode what signature containers held.
pub(crate) struct Rendered {
    pub(crate) text: String,
    pub(crate) dropped: String,
}

pub(super) struct OpenElement {
    pub(super) name: String,
    pub(super) quote: bool,
    pub(super) drop: bool,
    pub(super) hidden: bool,
    pub(super) list: bool,
}

/// The open elements, with running counts so the rendering state is O(1) to read.
#[derive(Default)]
pub(super) struct OpenStack {
    pub(super) items: Vec<OpenElement>,
    pub(super) quotes: usize,
    pub(super) drops: usize,
    pub(super) hidden: usize,
}

/// Deeper nesting is ignored (its tags are treated as inline), keeping every step cheap.
const MAX_OPEN_ELEMENTS: usize = 1000;

impl OpenStack {
    pub(super) fn push(&mut self, e: OpenElement) -> bool {
        if self.items.len() >= MAX_OPEN_ELEMENTS {
            return false;
        }
        self.quotes += usize::from(e.quote);
        self.drops += usize::from(e.drop);
        self.hidden += usize::from(e.hidden);
        self.items.push(e);
        true
    }

    pub(super) fn pop(&mut self) -> Option<OpenElement> {
        let e = self.items.pop()?;
        self.quotes -= usize::from(e.quote);
        self.drops -= usize::from(e.drop);
        self.hidden -= usize::from(e.hidden);
        Some(e)
    }

    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.items.iter().rposition(|e| e.name == name)
    }

    pub(super) fn top_is(&self, name: &str) -> bool {
        self.items.last().is_some_and(|e| e.name == name)
    }
}

pub(super) struct RLine {
    pub(super) depth: usize,
    pub(super) dropped: bool,
    pub(super) text: String,
}

#[derive(Default)]
pub(super) struct Renderer {
    pub(super) lines: Vec<RLine>,
    pub(super) cur: String,
    pub(super) cur_depth: usize,
    pub(super) cur_dropped: bool,
    pub(super) pending_space: bool,
    pub(super) need_break: u8,
    pub(super) prefix: Option<String>,
}

impl Renderer {
    pub(super) fn end_line(&mut self) {
        let text = std::mem::take(&mut self.cur);
        self.lines.push(RLine {
            depth: self.cur_depth,
            dropped: self.cur_dropped,
            text,
        });
        self.pending_space = false;
    }

    pub(super) fn request_break(&mut self, n: u8) {
        self.need_break = self.need_break.max(n);
        self.pending_space = false;
    }

    pub(super) fn apply_breaks(&mut self, depth: usize, dropped: bool) {
        if self.need_break > 0 {
            if !self.cur.is_empty() {
                self.end_line();
            }
            if self.need_break >= 2 && self.lines.last().is_some_and(|l| !l.text.trim().is_empty())
            {
                self.lines.push(RLine {
                    depth: depth.min(self.lines.last().map_or(0, |l| l.depth)),
                    dropped,
                    text: String::new(),
                });
            }
            self.need_break = 0;
        }
        if !self.cur.is_empty() && (self.cur_depth != depth || self.cur_dropped != dropped) {
            self.end_line();
        }
        if self.cur.is_empty() {
            self.cur_depth = depth;
            self.cur_dropped = dropped;
        }
    }

    pub(super) fn push_char(&mut self, ch: char, depth: usize, dropped: bool, pre: bool) {
        if pre {
            if ch == '\n' {
                self.apply_breaks(depth, dropped);
                self.end_line();
                return;
            }
            if ch == '\r' {
                return;
            }
        } else if matches!(ch, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            if !self.cur.is_empty() {
                self.pending_space = true;
            }
            return;
        }
        self.apply_breaks(depth, dropped);
        if let Some(prefix) = self.prefix.take() {
            if self.cur.is_empty() {
                self.cur.push_str(&prefix);
            }
        }
        if self.pending_space && !self.cur.is_empty() {
            self.cur.push(' ');
        }
        self.pending_space = false;
        self.cur.push(ch);
    }

    pub(super) fn br(&mut self, depth: usize, dropped: bool) {
        self.apply_breaks(depth, dropped);
        self.prefix = None;
        self.end_line();
    }
}

pub(super) const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "basefont", "frame",
];
pub(super) const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
    "caption",
    "body",
    "html",
];
pub(super) const RAW_TEXT: &[&str] = &[
    "script", "style", "title", "textarea", "xmp", "noscript", "iframe", "noembed", "noframes",
];

pub(super) fn finish_render(lines: Vec<RLine>) -> Rendered {
    let mut text: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for line in lines {
        let content: String = line
            .text
            .chars()
            .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}' | '\u{ad}'))
            .map(|c| if c == '\u{a0}' { ' ' } else { c })
            .collect();
        let content = content.trim_end();
        let rendered = if line.depth == 0 {
            content.to_string()
        } else {
            let marks = ">".repeat(line.depth.min(50));
            if content.is_empty() {
                marks
            } else {
                format!("{marks} {content}")
            }
        };
        let target = if line.dropped {
            &mut dropped
        } else {
            &mut text
        };
        let blank = content.trim().is_empty();
        if blank
            && target
                .last()
                .is_none_or(|l| strip_quote_prefix(l).trim().is_empty())
        {
            continue;
        }
        target.push(rendered);
    }
    Rendered {
        text: join_trimmed(text.iter().map(String::as_str)),
        dropped: join_trimmed(dropped.iter().map(String::as_str)),
    }
}
