//! Reply trimming (plain and HTML) and the review form parser on arbitrary text.
#![no_main]

use cfpd::mailtext::{command, html, trim};
use cfpd::review::form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spec = form::FormSpec::default();
    let t = trim::trim_reply(&text);
    let _ = form::parse_review(&t.kept, &t.elided, &spec);
    let h = trim::trim_html_reply(&text);
    let _ = form::parse_review(&h.kept, &h.elided, &spec);
    let _ = command::parse_command(&t.kept);
    let _ = html::to_text(&text);
});
