//! The one HTML → text conversion.
//!
//! A small tolerant tokenizer (`markup`), a walk over it that decides line breaks, list
//! bullets, quote depth and hidden content (`render`), the line buffer it writes into
//! (`layout`), character references (`entities`), and — for replies only — the quote and
//! signature containers of the common mail clients (`clients`). Linear in the input and
//! panic-free on any input.

mod clients;
mod entities;
mod layout;
mod markup;
mod render;

pub(crate) use render::render;

/// Converts HTML to plain text suitable for reading a reply: the one HTML → text
/// conversion of cfpd (reply trimming, proposals sent as HTML only, and the machine-mail
/// classifier all read HTML through it).
///
/// Block elements and `<br>` become line breaks, paragraphs and headings are separated by a
/// blank line, list items become `- item` / `1. item`, table cells are separated by spaces,
/// `<blockquote>` content is prefixed with `> `, `<pre>` keeps its whitespace, entities
/// (named, decimal, hexadecimal) are decoded, and `<head>`, `<script>`, `<style>`, comments
/// and hidden elements are skipped. Malformed markup is tolerated; this never panics.
pub fn to_text(html: &str) -> String {
    render(html, false).text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtext::trim::trim_html_reply;

    #[test]
    fn html_to_text_basics() {
        let html = "<html><head><title>x</title><style>p{color:red}</style></head><body>\
            <p>Hello&nbsp;<b>world</b> &amp; friends&#33; &#x263A; &eacute;</p>\
            <div>line one<br>line two</div><div><br></div><div>after blank</div>\
            <ul><li>first</li><li>second<ol><li>nested</li></ol></li></ul>\
            <blockquote>quoted <i>text</i></blockquote>\
            <pre>  keep   spaces\n  here</pre><script>alert(1)</script>\
            <table><tr><td>Score:</td><td>4</td></tr></table></body></html>";
        let text = to_text(html);
        assert_eq!(
            text,
            "Hello world & friends! ☺ é\n\nline one\nline two\n\nafter blank\n- first\n- second\n  1. nested\n> quoted text\n  keep   spaces\n  here\nScore: 4"
        );
    }

    #[test]
    fn html_to_text_survives_malformed_markup() {
        for html in [
            "<div><p>unclosed <b>bold",
            "</div></p></blockquote>text",
            "a < b and c > d",
            "<a href=\"x>y\">link</a>",
            "<<<>>>",
            "<!-- never closed",
            "<div class='x",
            "&#99999999999; &#0; &#x110000; &unknown; &amp",
            "<p>caf\u{e9} \u{1F600}</p>",
            "<blockquote><blockquote>deep</div></blockquote>",
        ] {
            let _ = to_text(html);
            let _ = trim_html_reply(html);
        }
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(
            to_text("<html><head><title>t</title><meta charset=utf-8><body>Score: 4"),
            "Score: 4"
        );
        assert_eq!(
            to_text("&#99999999999;&#0;&unknown;&amp"),
            "\u{fffd}\u{fffd}&unknown;&"
        );
    }
}
