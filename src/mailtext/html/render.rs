//! The HTML walk: text and markup in document order, each start tag deciding the line
//! breaks, list bullets, quote depth and hidden or dropped content of what follows.

use super::clients::{is_quote_container, is_signature_container, starts_outlook_original};
use super::entities::decode_entities;
use super::layout::{
    finish_render, OpenElement, OpenStack, Rendered, Renderer, BLOCK, RAW_TEXT, VOID,
};
use super::markup::{attr, compact_style, has_class, parse_markup, Markup, Source};

/// The elements that may stand in `<head>`: any other start tag closes an open `<head>`,
/// since `</head>` is optional.
const HEAD_CONTENT: &[&str] = &[
    "meta", "link", "title", "style", "script", "base", "noscript", "template",
];

/// The renderer's state while it walks one document.
struct Walk {
    /// Quote containers become `>`-quoted lines and signature containers are dropped.
    reply_mode: bool,
    r: Renderer,
    stack: OpenStack,
    /// The open lists, innermost last: `Some(next number)` for `<ol>`, `None` for `<ul>`.
    lists: Vec<Option<u32>>,
    /// Set where Outlook's quoted original starts: everything after it is quoted.
    rest_quoted: bool,
    /// How many `<pre>` elements are open (whitespace is kept inside them).
    pre_depth: usize,
}

/// Renders HTML as text. In reply mode, quote containers become `>`-quoted lines (see
/// [`crate::mailtext::trim::trim_html_reply`]) and signature containers are separated into
/// `dropped`.
pub(crate) fn render(html: &str, reply_mode: bool) -> Rendered {
    let src = Source::new(html);
    let b = html.as_bytes();
    let mut w = Walk {
        reply_mode,
        r: Renderer::default(),
        stack: OpenStack::default(),
        lists: Vec::new(),
        rest_quoted: false,
        pre_depth: 0,
    };
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let Some((markup, next)) = parse_markup(&src, i) else {
            i += 1;
            continue;
        };
        w.emit_text(&html[text_start..i], false);
        i = match markup {
            Markup::Ignored => next,
            Markup::Cdata(text) => {
                w.emit_text(&text, false);
                next
            }
            Markup::Start {
                name,
                attrs,
                self_closing,
            } => w.start_tag(&src, name, &attrs, self_closing, next),
            Markup::End(name) => {
                w.end_tag(&name);
                next
            }
        };
        text_start = i;
    }
    w.emit_text(&html[text_start..], false);
    if !w.r.cur.is_empty() {
        w.r.end_line();
    }
    finish_render(w.r.lines)
}

impl Walk {
    /// The quote depth of text at this point.
    fn depth(&self) -> usize {
        self.stack.quotes + usize::from(self.rest_quoted)
    }

    /// Emits text (entities decoded) unless it is hidden; whitespace is kept inside `<pre>`
    /// or when `keep_whitespace` is set.
    fn emit_text(&mut self, text: &str, keep_whitespace: bool) {
        if self.stack.hidden > 0 || text.is_empty() {
            return;
        }
        let depth = self.depth();
        let dropped = self.stack.drops > 0;
        let pre = keep_whitespace || self.pre_depth > 0;
        for ch in decode_entities(text).chars() {
            self.r.push_char(ch, depth, dropped, pre);
        }
    }

    /// Handles a start tag whose markup ends at `next`; returns where the walk goes on.
    fn start_tag(
        &mut self,
        src: &Source<'_>,
        name: String,
        attrs: &[(String, String)],
        self_closing: bool,
        next: usize,
    ) -> usize {
        if !HEAD_CONTENT.contains(&name.as_str()) {
            if let Some(pos) = self.stack.position("head") {
                self.close_to(pos);
            }
        }
        if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            let end = src.lower[next..]
                .find(&close)
                .map_or(src.html.len(), |p| next + p);
            if name == "textarea" || name == "xmp" {
                self.emit_text(&src.html[next..end], true);
            }
            return end;
        }
        if self.reply_mode && !self.rest_quoted && starts_outlook_original(&name, attrs) {
            self.r.request_break(1);
            self.rest_quoted = true;
        }
        self.break_before(&name, attrs);
        if !VOID.contains(&name.as_str()) && !self_closing {
            self.open_element(name, attrs);
        }
        next
    }

    /// The line break, list bullet or cell space a start tag puts before its content.
    fn break_before(&mut self, name: &str, attrs: &[(String, String)]) {
        match name {
            "br" => {
                let depth = self.depth();
                self.r.br(depth, self.stack.drops > 0);
            }
            "hr" => self.r.request_break(2),
            "p" => {
                if self.stack.top_is("p") {
                    self.stack.pop();
                }
                let n = if has_class(attrs, "MsoNormal") { 1 } else { 2 };
                self.r.request_break(n);
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.r.request_break(2),
            "li" => self.list_item(),
            "td" | "th" if !self.r.cur.is_empty() => self.r.pending_space = true,
            n if BLOCK.contains(&n) => self.r.request_break(1),
            _ => {}
        }
    }

    /// Starts a list item: closes the previous one and sets its bullet (`- ` or `N. `),
    /// indented by the nesting of its list.
    fn list_item(&mut self) {
        let open = self
            .stack
            .items
            .iter()
            .rposition(|e| e.name == "li" || e.list);
        if let Some(pos) = open.filter(|&pos| self.stack.items[pos].name == "li") {
            self.close_to(pos);
        }
        self.r.request_break(1);
        let indent = "  ".repeat(self.lists.len().saturating_sub(1).min(20));
        let bullet = match self.lists.last_mut() {
            Some(Some(n)) => {
                let s = format!("{indent}{n}. ");
                *n = n.saturating_add(1);
                s
            }
            _ => format!("{indent}- "),
        };
        self.r.prefix = Some(bullet);
    }

    /// Pushes an element that has content, with what it does to the text inside it.
    fn open_element(&mut self, name: String, attrs: &[(String, String)]) {
        let quote = name == "blockquote" || self.reply_mode && is_quote_container(attrs);
        let drop = self.reply_mode && is_signature_container(attrs);
        let hidden = name == "head"
            || name == "template"
            || attr(attrs, "hidden").is_some()
            || compact_style(attrs).contains("display:none");
        let list = name == "ul" || name == "ol";
        let start = attr(attrs, "start").and_then(|s| s.trim().parse::<u32>().ok());
        let is_pre = name == "pre";
        let is_ol = name == "ol";
        if self.stack.push(OpenElement {
            name,
            quote,
            drop,
            hidden,
            list,
        }) {
            if list {
                self.lists.push(is_ol.then(|| start.unwrap_or(1)));
            }
            if is_pre {
                self.pre_depth += 1;
            }
        }
    }

    fn end_tag(&mut self, name: &str) {
        if let Some(pos) = self.stack.position(name) {
            self.close_to(pos);
        } else if name == "p" {
            self.r.request_break(2);
        } else if name == "br" {
            let depth = self.depth();
            self.r.br(depth, self.stack.drops > 0);
        }
    }

    /// Closes the open elements from the top of the stack down to (and including) `pos`.
    fn close_to(&mut self, pos: usize) {
        while self.stack.items.len() > pos {
            let Some(e) = self.stack.pop() else { break };
            if e.list {
                self.lists.pop();
            }
            match e.name.as_str() {
                "pre" => {
                    self.pre_depth = self.pre_depth.saturating_sub(1);
                    self.r.request_break(1);
                }
                "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.r.request_break(2),
                "li" => {
                    self.r.prefix = None;
                    self.r.request_break(1);
                }
                n if BLOCK.contains(&n) => self.r.request_break(1),
                _ => {}
            }
        }
    }
}
