//! Text that came from outside (a speaker's title, a reviewer's name, a mail's
//! subject or address), made safe to print: the one place every CLI printer
//! and every CSV writer goes through.
//!
//! - [`terminal`]: control characters (C0, DEL, C1: escape sequences, OSC
//!   titles and hyperlinks, BEL, carriage returns) and the Unicode bidi
//!   embedding, override, isolate and mark characters are shown as visible
//!   `\x1b` / `\u{202e}` escapes, so nothing a speaker typed can move the
//!   cursor, clear the screen, retitle the window or reverse the text around it.
//! - [`csv_cell`]: the same, and a cell that a spreadsheet would read as a
//!   formula (starting with `=`, `+`, `-`, `@`, TAB or CR, after any spaces)
//!   gets a leading `'` (OWASP "CSV injection").
//! - [`csv_record`]: writes one CSV record with every cell through [`csv_cell`].
//!
//! JSON output needs none of this: serde_json escapes every control character.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(
            c,
            '\u{061C}'                // ARABIC LETTER MARK
            | '\u{200E}' | '\u{200F}' // LRM, RLM
            | '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
            | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
        )
}

/// `s` with every control and bidi character replaced by a visible escape
/// (`\x1b`, `\x07`, `\x9b`, `\u{202e}`); borrowed when there is none.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV cell: [`terminal`]-safe, and prefixed with `'` when a spreadsheet
/// would read it as a formula.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    // Checked on the raw text too: a leading TAB or CR is escaped by
    // `terminal` but still marks the cell.
    let formula = |t: &str| t.trim_start_matches(' ').starts_with(FORMULA_START);
    let raw_formula = formula(s);
    let safe = terminal(s);
    if raw_formula || formula(&safe) {
        Cow::Owned(format!("'{safe}"))
    } else {
        safe
    }
}

/// Write one record, every cell through [`csv_cell`]: the only way cfpd writes CSV.
pub fn csv_record<W, I, S>(w: &mut csv::Writer<W>, cells: I) -> csv::Result<()>
where
    W: std::io::Write,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    w.write_record(cells.into_iter().map(|c| csv_cell(c.as_ref()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["Django at scale", "Ünïcødé — ok", "ضوء", "日本語", ""] {
            assert!(matches!(terminal(s), Cow::Borrowed(x) if x == s));
        }
    }

    #[test]
    fn controls_and_bidi_are_shown_as_visible_escapes() {
        let hostile = "a\u{1b}[2Jb\u{1b}]0;pwned\u{7}c\u{1b}]8;;http://x\u{1b}\\l\u{9b}31m\
                       \r\n\t\u{0}\u{7f}\u{202e}gpj.exe\u{2066}\u{2069}\u{200f}\u{2028}";
        let t = terminal(hostile);
        for c in t.chars() {
            assert!(!is_unsafe(c), "{c:?} left in {t}");
        }
        assert_eq!(
            t,
            "a\\x1b[2Jb\\x1b]0;pwned\\x07c\\x1b]8;;http://x\\x1b\\l\\x9b31m\
             \\x0d\\x0a\\x09\\x00\\x7f\\u{202e}gpj.exe\\u{2066}\\u{2069}\\u{200f}\\u{2028}"
        );
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2067}', '\u{2068}',
        ] {
            assert!(!terminal(&c.to_string()).contains(c));
        }
    }

    #[test]
    fn formula_cells_get_a_quote_and_others_do_not() {
        for (raw, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\\x09=1"),
            ("\r=1", "'\\x0d=1"),
            ("  =1", "'  =1"),
            ("Talk = good", "Talk = good"),
            ("P-0001", "P-0001"),
            ("3.50", "3.50"),
            ("", ""),
            ("\u{1b}[31mred", "\\x1b[31mred"),
        ] {
            assert_eq!(csv_cell(raw), cell, "{raw:?}");
        }
    }

    #[test]
    fn records_go_through_the_cell_function() {
        let mut w = csv::Writer::from_writer(Vec::new());
        csv_record(&mut w, ["=1+1", "ok", "a,b", "\u{7}"]).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "'=1+1,ok,\"a,b\",\\x07\n");
    }
}
