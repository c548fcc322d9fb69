//! A small writer for inline SVG: shapes, text, and the accessible frame
//! (`role="img"`, `<title>`, `<desc>`) every chart gets.
//!
//! Coordinates are printed with at most one decimal, so output is stable across
//! platforms; every string is escaped with [`esc`].

use std::fmt::Write;

/// Escape text for HTML and SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length, rounded to one decimal (`12`, `12.5`).
pub fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Split a label into at most `lines` lines of at most `width` characters, at spaces
/// where possible; what does not fit ends in `…`.
pub fn wrap(s: &str, width: usize, lines: usize) -> Vec<String> {
    let width = width.max(2);
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut words: Vec<String> = Vec::new();
    for w in s.split_whitespace() {
        // Hard-cut words longer than a line.
        let chars: Vec<char> = w.chars().collect();
        for piece in chars.chunks(width) {
            words.push(piece.iter().collect());
        }
    }
    let mut overflow = false;
    for w in words {
        let len = cur.chars().count();
        if len == 0 {
            cur = w;
        } else if len + 1 + w.chars().count() <= width {
            cur.push(' ');
            cur.push_str(&w);
        } else {
            out.push(std::mem::take(&mut cur));
            if out.len() == lines {
                overflow = true;
                break;
            }
            cur = w;
        }
    }
    if !overflow && !cur.is_empty() {
        out.push(cur);
    }
    if overflow {
        if let Some(last) = out.last_mut() {
            let mut t: String = last.chars().take(width - 1).collect();
            t = t.trim_end().to_string();
            t.push('…');
            *last = t;
        }
    }
    out
}

/// An SVG document being written.
#[derive(Debug)]
pub struct Svg {
    /// The markup so far.
    out: String,
}

impl Svg {
    /// Start a chart `width`×`height` pixels with element id `id`; `title` names it and
    /// `desc` says what it shows in words (read by screen readers and shown as a tooltip).
    pub fn new(id: &str, width: f64, height: f64, title: &str, desc: &str) -> Svg {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg id=\"{id}\" class=\"chart\" role=\"img\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" aria-labelledby=\"{id}-title {id}-desc\">\
             <title id=\"{id}-title\">{t}</title><desc id=\"{id}-desc\">{d}</desc>",
            id = esc(id),
            w = num(width),
            h = num(height),
            t = esc(title),
            d = esc(desc),
        );
        Svg { out }
    }

    /// A filled rectangle; `tip` becomes its tooltip.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: &str,
        class: &str,
        tip: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"",
            esc(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0)),
            esc(fill)
        );
        self.close_with_tip("rect", tip);
    }

    /// A filled circle with a thin white outline (so touching dots stay countable);
    /// `tip` becomes its tooltip.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, class: &str, tip: Option<&str>) {
        let _ = write!(
            self.out,
            "<circle class=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1\"",
            esc(class),
            num(cx),
            num(cy),
            num(r),
            esc(fill)
        );
        self.close_with_tip("circle", tip);
    }

    /// A straight line; `dash` draws it dashed.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        stroke: &str,
        width: f64,
        dash: bool,
        class: &str,
        tip: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            "<line class=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}",
            esc(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            esc(stroke),
            num(width),
            if dash { " stroke-dasharray=\"5 4\"" } else { "" }
        );
        self.close_with_tip("line", tip);
    }

    /// Text at (x, y) (the baseline); `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
        let _ = writeln!(
            self.out,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
            esc(class),
            num(x),
            num(y),
            esc(anchor),
            esc(s)
        );
    }

    /// Several lines of text, `step` pixels apart, the first baseline at (x, y); the whole
    /// text as a tooltip when it was shortened.
    pub fn lines(
        &mut self,
        (x, y): (f64, f64),
        step: f64,
        anchor: &str,
        class: &str,
        full: &str,
        lines: &[String],
    ) {
        let _ = write!(
            self.out,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">",
            esc(class),
            num(x),
            num(y),
            esc(anchor)
        );
        let shortened = lines.join(" ") != full.split_whitespace().collect::<Vec<_>>().join(" ");
        if shortened {
            let _ = write!(self.out, "<title>{}</title>", esc(full));
        }
        for (i, l) in lines.iter().enumerate() {
            let _ = write!(
                self.out,
                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                num(x),
                if i == 0 { "0".to_string() } else { num(step) },
                esc(l)
            );
        }
        self.out.push_str("</text>\n");
    }

    /// Open a group (`<g>`); `label` names it for screen readers.
    pub fn group(&mut self, class: &str, label: &str) {
        let _ = writeln!(
            self.out,
            "<g class=\"{}\" aria-label=\"{}\">",
            esc(class),
            esc(label)
        );
    }

    /// Close the group opened last.
    pub fn end_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    fn close_with_tip(&mut self, tag: &str, tip: Option<&str>) {
        match tip {
            Some(t) => {
                let _ = writeln!(self.out, "><title>{}</title></{tag}>", esc(t));
            }
            None => self.out.push_str("/>\n"),
        }
    }

    /// The finished `<svg>` element.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_become_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let mut s = Svg::new("c", 10.0, 10.0, "<b>", "a&b");
        s.text(1.0, 2.0, "start", "t", "</text><script>");
        s.rect(0.0, 0.0, 1.0, 1.0, "#000", "mark", Some("<i>"));
        let out = s.finish();
        assert!(
            !out.contains("<b>") && !out.contains("<script>") && !out.contains("<i>"),
            "{out}"
        );
        assert!(
            out.contains("<title id=\"c-title\">&lt;b&gt;</title>"),
            "{out}"
        );
    }

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.25), "12.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(1.0 / 3.0), "0.3");
    }

    #[test]
    fn wraps_at_words_and_marks_what_was_cut() {
        assert_eq!(
            wrap("HTMX, Alpine, Tailwind and other frontend", 20, 2),
            vec!["HTMX, Alpine,", "Tailwind and other…"]
        );
        assert_eq!(wrap("Database tips", 20, 2), vec!["Database tips"]);
        assert_eq!(wrap("abcdefghij", 4, 3), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("abcdefghij", 4, 2), vec!["abcd", "efg…"]);
    }
}
