//! Builders and readers of the mail tests send and receive.

/// A proposal mail.
pub fn mail(from: &str, to: &str, message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 01 Apr 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

/// A complete proposal body.
pub fn proposal_body(title: &str) -> String {
    format!(
        "Title: {title}\nFormat: talk-25\nAudience: intermediate\nTopics: frontend\nAbstract:\n  We build interactive pages with htmx and Alpine.js instead of a SPA.\nDescription:\n  Partials, hx-swap, Alpine state, and Tailwind for styling.\n"
    )
}

/// A complete proposal body filed under `topic`.
pub fn proposal_with(title: &str, topic: &str) -> String {
    format!(
        "Title: {title}\nFormat: talk-25\nAudience: intermediate\nTopics: {topic}\nAbstract:\n  A talk about {topic} in Django projects.\nDescription:\n  Outline: {topic} problems, {topic} solutions, and lessons learned.\n"
    )
}

/// A proposal mail from `from` to the CFP address.
pub fn proposal_mail(from: &str, mid: &str, title: &str) -> Vec<u8> {
    mail(from, super::CFP, mid, "Proposal", &proposal_body(title))
}

/// Parse a fetched mail.
pub fn parsed(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).unwrap()
}

/// The text body of a fetched mail.
pub fn body(raw: &[u8]) -> String {
    parsed(raw)
        .body_text(0)
        .unwrap_or_default()
        .replace("\r\n", "\n")
}

/// The address in a fetched mail's Reply-To.
pub fn reply_to(raw: &[u8]) -> String {
    parsed(raw)
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap()
        .to_string()
}

/// The Message-ID of a fetched mail.
pub fn message_id(raw: &[u8]) -> String {
    parsed(raw).message_id().unwrap().to_string()
}

/// A reply to `original` (as a mail client builds it: quoted original below).
pub fn reply(from: &str, original: &[u8], mid: &str, text: &str) -> Vec<u8> {
    let orig_body = body(original);
    let quoted: String = orig_body.lines().map(|l| format!("> {l}\n")).collect();
    let subject = parsed(original).subject().unwrap_or("").to_string();
    let body = format!("{text}\n\nOn Mon, 1 Apr 2024, TestConf CFP wrote:\n{quoted}");
    let mut m = format!(
        "From: {from}\r\nTo: {}\r\nSubject: Re: {subject}\r\nMessage-ID: <{mid}>\r\nIn-Reply-To: <{}>\r\nDate: Mon, 01 Apr 2024 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        reply_to(original),
        message_id(original)
    );
    m.push_str(&body.replace('\n', "\r\n"));
    m.into_bytes()
}

/// The envelope sender Dovecot recorded on delivery (`Return-Path:`).
pub fn return_path(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("return-path:"))
        .unwrap_or_else(|| panic!("no Return-Path in {text}"));
    line["return-path:".len()..]
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_string()
}
