//! `cfpd messages show ID`: one stored message as a chair reads it — its
//! header lines as received and its text — with every control character
//! made visible ([`super::safe::terminal`]), so a hostile mail cannot drive
//! the chair's terminal. Pure.

use std::fmt::Write;

use super::safe::terminal;

/// The message's header lines (unfolded, as received), a blank line and its
/// text (the HTML part as text when there is no plain one).
pub fn show(raw: &[u8]) -> String {
    let mut out = String::new();
    let Some(msg) = mail_parser::MessageParser::default().parse(raw) else {
        let _ = writeln!(out, "(not readable as mail; {} bytes)", raw.len());
        return out;
    };
    for (name, value) in msg.headers_raw() {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "{}: {}", terminal(name), terminal(&value));
    }
    out.push('\n');
    match msg.body_text(0) {
        Some(text) => {
            for line in text.lines() {
                let _ = writeln!(out, "{}", terminal(line));
            }
        }
        None => out.push_str("(no text part)\n"),
    }
    let n = msg.attachment_count();
    if n > 0 {
        let _ = writeln!(out, "\n({n} attachment(s), not shown)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_text_with_control_characters_made_visible() {
        let raw = b"From: Eve <eve@x.example>\r\nSubject: Hi\x1b[2J\r\n there\r\n\
            Message-ID: <a@b>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
            Title: Forms \xe2\x80\xae gpj.exe\r\nSecond line\x07\r\n";
        let s = show(raw);
        assert!(s.contains("From: Eve <eve@x.example>\n"), "{s}");
        assert!(s.contains("Subject: Hi\\x1b[2J there\n"), "{s}");
        assert!(s.contains("Title: Forms \\u{202e} gpj.exe\n"), "{s}");
        assert!(s.contains("Second line\\x07\n"), "{s}");
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{202e}'));
    }

    #[test]
    fn html_only_mail_shows_its_text() {
        let raw =
            b"From: a@b.example\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>chairs</b></p>\r\n";
        assert!(show(raw).contains("Hello chairs"), "{}", show(raw));
    }
}
