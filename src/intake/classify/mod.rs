//! Machine-mail detection: decide whether an inbound message was written by a
//! machine (bounce, auto-reply, mailing list, feedback report, our own mail,
//! other automated senders) so that cfpd never auto-replies to it
//! (RFC 3834, "no loops, no backscatter").
//!
//! The entry point is [`classify`]; `None` means a human wrote the message.
//! Bounces are parsed further (RFC 3464 delivery-status notifications, with a
//! heuristic fallback for the plain-text bounces of qmail, Exim, Gmail,
//! Exchange and older Sendmail/Postfix) into a [`BounceInfo`], including the
//! VERP token of the outbound message that bounced (see [`verp_address`]).
//!
//! Everything here is pure (no I/O, no clock) and never panics, whatever the
//! input: all slicing goes through checked accessors and all text scanning is
//! bounded in size.

pub mod authres;
mod dsn;
mod headers;
mod heuristics;
mod person;

use dsn::*;
use headers::*;
use heuristics::*;
pub use person::not_written_by_person;
use person::*;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::sync::LazyLock;

use mail_parser::{HeaderValue, Message, MessagePart, MimeHeaders, PartType};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Who cfpd is, for recognising its own mail and the bounces of its own mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnIdentity {
    /// The CFP address, e.g. `cfp@conf.example`. Outgoing mail uses
    /// `<local>+b-<token>@<domain>` as its return path (see [`verp_address`]).
    pub cfp_address: String,
    /// The loop-detection header cfpd stamps on everything it sends, as
    /// `(name, value)`, e.g. `("X-Loop", "cfp@conf.example")`. The name is
    /// matched case-insensitively; the value case-insensitively after trimming
    /// whitespace and angle brackets. An empty value matches any value; an
    /// empty name disables the check.
    pub loop_header: (String, String),
}

impl OwnIdentity {
    /// Builds an identity whose loop header is `X-Loop: <cfp_address>`.
    pub fn new(cfp_address: impl Into<String>) -> Self {
        let cfp_address = cfp_address.into();
        let loop_header = ("X-Loop".to_string(), cfp_address.clone());
        Self {
            cfp_address,
            loop_header,
        }
    }
}

/// What kind of machine sent a message. Every variant says which signal
/// fired, see [`MachineKind::reason`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachineKind {
    /// A delivery failure or delay report (RFC 3464 DSN, or a non-standard
    /// bounce recognised heuristically).
    Bounce(BounceInfo),
    /// An automatic reply: out-of-office/vacation responders, `Auto-Submitted:
    /// auto-replied`, `X-Autoreply` and friends, read receipts (RFC 8098 MDNs).
    AutoReply {
        /// Which signal fired.
        reason: String,
    },
    /// Mail distributed by a mailing list (RFC 2369/2919 `List-*` headers,
    /// `Precedence: list`, Mailman/ezmlm markers).
    MailingList {
        /// The `List-Id` identifier (the part inside `<>`), when present.
        list_id: Option<String>,
        /// Which signal fired.
        reason: String,
    },
    /// An abuse/spam complaint: ARF (RFC 5965) feedback report or a
    /// Microsoft JMRP complaint.
    FeedbackReport {
        /// The ARF `Feedback-Type` (e.g. `abuse`), when present.
        feedback_type: Option<String>,
        /// Which signal fired.
        reason: String,
    },
    /// Mail cfpd sent itself (loop header, or sent from the CFP address).
    OwnMail {
        /// Which signal fired.
        reason: String,
    },
    /// Other automated mail: `Auto-Submitted: auto-generated`, bulk
    /// precedence, null return path, no-reply or postmaster senders, other
    /// reports, forwarded bounces.
    System {
        /// Which signal fired.
        reason: String,
    },
}

impl MachineKind {
    /// Human-readable explanation of the signal that classified the message.
    pub fn reason(&self) -> &str {
        match self {
            MachineKind::Bounce(info) => &info.reason,
            MachineKind::AutoReply { reason }
            | MachineKind::MailingList { reason, .. }
            | MachineKind::FeedbackReport { reason, .. }
            | MachineKind::OwnMail { reason }
            | MachineKind::System { reason } => reason,
        }
    }

    /// A short stable label for records and logs: `bounce`, `auto-reply`,
    /// `mailing-list`, `feedback-report`, `own-mail` or `system`.
    pub fn label(&self) -> &'static str {
        self.code().as_str()
    }

    /// The stored reason code of a message classified as this kind.
    pub fn code(&self) -> crate::model::Reason {
        use crate::model::Reason;
        match self {
            MachineKind::Bounce(_) => Reason::Bounce,
            MachineKind::AutoReply { .. } => Reason::AutoReply,
            MachineKind::MailingList { .. } => Reason::MailingList,
            MachineKind::FeedbackReport { .. } => Reason::FeedbackReport,
            MachineKind::OwnMail { .. } => Reason::OwnMail,
            MachineKind::System { .. } => Reason::System,
        }
    }

    /// True for [`MachineKind::Bounce`].
    pub fn is_bounce(&self) -> bool {
        matches!(self, MachineKind::Bounce(_))
    }

    /// The bounce details, for [`MachineKind::Bounce`].
    pub fn bounce(&self) -> Option<&BounceInfo> {
        match self {
            MachineKind::Bounce(info) => Some(info),
            _ => None,
        }
    }
}

/// Where the details of a [`BounceInfo`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BounceSource {
    /// A machine-readable `message/delivery-status` (or
    /// `message/global-delivery-status`) part, RFC 3464 / RFC 6533.
    Dsn,
    /// Scraped from a human-readable bounce text (qmail, Exim, Gmail,
    /// Exchange, …) and `X-Failed-Recipients`; best effort.
    Heuristic,
}

/// Details of a bounce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceInfo {
    /// The recipients the report is about, in report order, deduplicated
    /// case-insensitively. May be empty when the bounce names nobody.
    pub recipients: Vec<BouncedRecipient>,
    /// True when delivery failed permanently: some recipient has a class-5
    /// status (or `Action: failed` without status), or, when no status is
    /// known at all, the text says the failure is permanent. Delay warnings
    /// (class 4, `Action: delayed`) and success reports are not hard.
    pub hard: bool,
    /// Message-ID (without angle brackets) of the message that bounced, from
    /// the returned message or headers.
    pub original_message_id: Option<String>,
    /// The VERP token of the outbound message that bounced, see
    /// [`verp_token`].
    pub verp_token: Option<String>,
    /// The DSN `Original-Envelope-Id` (the SMTP `ENVID` cfpd may set).
    pub envelope_id: Option<String>,
    /// The DSN `Reporting-MTA`, without its type prefix.
    pub reporting_mta: Option<String>,
    /// Whether the details came from a DSN part or from heuristics.
    pub source: BounceSource,
    /// Which signal made this a bounce.
    pub reason: String,
}

/// One recipient of a bounce report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BouncedRecipient {
    /// The recipient address (DSN `Final-Recipient`, without its type).
    pub address: String,
    /// DSN `Action`, lower-cased: `failed`, `delayed`, `delivered`,
    /// `relayed` or `expanded`. `None` for heuristic bounces.
    pub action: Option<String>,
    /// Enhanced status code `class.subject.detail`, e.g. `5.1.1`. A basic
    /// SMTP reply code is mapped to `5.0.0` / `4.0.0` when nothing better is
    /// known.
    pub status: Option<String>,
    /// DSN `Diagnostic-Code` (without its type) or the matching line of a
    /// plain-text bounce.
    pub diagnostic: Option<String>,
}

impl BouncedRecipient {
    /// `Some(true)` for a permanent failure (status class 5, or `Action:
    /// failed` without a status), `Some(false)` for a transient one (class 4,
    /// `delayed`) or a success (class 2, `delivered`/`relayed`/`expanded`),
    /// `None` when unknown.
    pub fn is_hard(&self) -> Option<bool> {
        if let Some(class) = self.status.as_deref().and_then(|s| s.chars().next()) {
            match class {
                '5' => return Some(true),
                '4' | '2' => return Some(false),
                _ => {}
            }
        }
        match self.action.as_deref() {
            Some("failed") => Some(true),
            Some("delayed" | "delivered" | "relayed" | "expanded") => Some(false),
            _ => None,
        }
    }
}

/// Classifies `msg`: `Some(kind)` when a machine sent it, `None` when a human
/// wrote it. Signals are checked strongest first: our own mail, feedback
/// reports, bounces, read receipts, auto-replies, mailing lists, then other
/// automated senders. Never panics.
pub fn classify(msg: &Message<'_>, own: &OwnIdentity) -> Option<MachineKind> {
    let root = msg.parts.first()?;
    let ctx = Ctx::new(msg, root, own);

    if let Some(reason) = ctx.own_mail() {
        return Some(MachineKind::OwnMail { reason });
    }
    if let Some((feedback_type, reason)) = ctx.feedback_report() {
        return Some(MachineKind::FeedbackReport {
            feedback_type,
            reason,
        });
    }
    if let Some(reason) = ctx.bounce_evidence() {
        return Some(MachineKind::Bounce(ctx.bounce_info(reason)));
    }
    if let Some(reason) = ctx.read_receipt() {
        return Some(MachineKind::AutoReply { reason });
    }
    if let Some(reason) = ctx.auto_reply() {
        return Some(MachineKind::AutoReply { reason });
    }
    if let Some((list_id, reason)) = ctx.mailing_list() {
        return Some(MachineKind::MailingList { list_id, reason });
    }
    if let Some(reason) = ctx.system() {
        return Some(MachineKind::System { reason });
    }
    None
}

/// Extracts the VERP token from a bounce addressed to
/// `<local>+b-<token>@<domain>`, where `cfp_address` is `<local>@<domain>`.
///
/// Looks, in order, at the envelope headers the delivering MTA adds
/// (`Delivered-To`, `X-Original-To`, `Envelope-To`, …), then `To`/`Cc` and
/// `Received: … for <…>`, then anywhere in the message (e.g. the
/// `Return-Path` of the returned original). Local part and domain match
/// case-insensitively; the token is returned as found, so tokens should be
/// case-insensitive (e.g. lower-case base32) in case an MTA folds case.
pub fn verp_token(msg: &Message<'_>, cfp_address: &str) -> Option<String> {
    let re = verp_regex(cfp_address)?;
    let root = msg.parts.first()?;
    let headers = collect_headers(root, &msg.raw_message);
    const ENVELOPE: &[&str] = &[
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "x-delivered-to",
        "x-rcpt-to",
        "x-original-recipient",
        "original-recipient",
        "x-bounced-address",
        "to",
        "cc",
        "received",
    ];
    for name in ENVELOPE {
        for h in headers.iter().filter(|h| h.name == *name) {
            if let Some(token) = find_verp(&re, &h.value) {
                return Some(token);
            }
        }
    }
    let raw = msg.raw_message.as_ref();
    let raw = raw.get(..raw.len().min(MAX_RAW_SCAN)).unwrap_or_default();
    find_verp(&re, &String::from_utf8_lossy(raw))
}

/// Builds the VERP return path `<local>+b-<token>@<domain>` for an outgoing
/// message, the inverse of [`verp_token`]. `None` when `cfp_address` has no
/// `@` or the token is empty or uses characters other than ASCII letters,
/// digits, `_`, `=` and `-`.
pub fn verp_address(cfp_address: &str, token: &str) -> Option<String> {
    let (local, domain) = split_address(cfp_address)?;
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'=' || b == b'-')
    {
        return None;
    }
    Some(format!("{local}+b-{token}@{domain}"))
}

// ---------------------------------------------------------------------------
// Limits and patterns
// ---------------------------------------------------------------------------

/// At most this many bytes of one text part are scanned.
const MAX_PART_SCAN: usize = 128 * 1024;
/// At most this many bytes of report text are scanned in total.
const MAX_TEXT_SCAN: usize = 256 * 1024;
/// At most this many bytes of the raw message are scanned for a VERP token.
const MAX_RAW_SCAN: usize = 2 * 1024 * 1024;
/// Longest diagnostic kept, in characters.
const MAX_DIAGNOSTIC: usize = 500;

// ---------------------------------------------------------------------------
// Classification context
// ---------------------------------------------------------------------------

struct Ctx<'m, 'x> {
    msg: &'m Message<'x>,
    own: &'m OwnIdentity,
    headers: Vec<Hdr>,
    subject: String,
    from: Vec<Sender>,
    reports: Reports,
    /// Whether a person wrote the body, so that weak signals do not count.
    person: OnceCell<Option<String>>,
}

impl<'m, 'x> Ctx<'m, 'x> {
    fn new(msg: &'m Message<'x>, root: &'m MessagePart<'x>, own: &'m OwnIdentity) -> Self {
        let headers = collect_headers(root, &msg.raw_message);
        let subject = root
            .headers
            .iter()
            .rev()
            .find(|h| h.name.as_str().eq_ignore_ascii_case("subject"))
            .and_then(|h| header_text(&h.value))
            .unwrap_or_default();
        let from = senders(root, &headers, "from");
        let reports = scan_reports(msg);
        Ctx {
            msg,
            own,
            headers,
            subject,
            from,
            reports,
            person: OnceCell::new(),
        }
    }

    /// Whether weak signals (subject words, sender names) may count: not when the
    /// body reads as a proposal a person typed (with no message returned in it),
    /// nor when a person's note comes through a reply-token address.
    fn weak_counts(&self) -> bool {
        self.person.get_or_init(|| self.person_evidence()).is_none()
    }

    fn person_evidence(&self) -> Option<String> {
        if self.returns_a_message() {
            return None;
        }
        let text = report_text(self.msg);
        if reads_as_proposal(&text) {
            return Some("the body reads as a proposal".into());
        }
        // The sender's name is a weak signal itself: only the text counts here.
        if self.to_reply_token() && text_not_personal(&text).is_none() {
            return Some("a person's note through a reply token".into());
        }
        None
    }

    /// A returned message inside: a `message/rfc822` or `text/rfc822-headers` part.
    fn returns_a_message(&self) -> bool {
        self.msg.parts.iter().skip(1).any(|p| {
            matches!(&p.body, PartType::Message(_))
                || content_type_of(p).is_some_and(|(t, s)| {
                    (t == "message" && (s == "rfc822" || s == "global"))
                        || (t == "text" && s == "rfc822-headers")
                })
        })
    }

    /// Addressed to one of our reply-token addresses (`<local>+<token>@<domain>`,
    /// not a `+b-` return path).
    fn to_reply_token(&self) -> bool {
        let Some((local, domain)) = split_address(&self.own.cfp_address) else {
            return false;
        };
        let prefix = format!("{}+", local.to_ascii_lowercase());
        ["to", "cc", "delivered-to", "x-original-to"]
            .iter()
            .flat_map(|n| self.values(n))
            .flat_map(|v| ANY_ADDRESS.find_iter(v))
            .any(|m| {
                split_address(m.as_str()).is_some_and(|(l, d)| {
                    let l = l.to_ascii_lowercase();
                    d.eq_ignore_ascii_case(domain)
                        && l.strip_prefix(&prefix)
                            .is_some_and(|t| !t.is_empty() && !t.starts_with("b-"))
                })
            })
    }

    fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_string();
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_str())
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }
}

// ---------------------------------------------------------------------------
// Helpers: safe string slicing
// ---------------------------------------------------------------------------

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_starts(s: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(
        s.match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(move |i| *i < s.len()),
    )
}

fn line_start_of(s: &str, at: usize) -> usize {
    let at = floor_char_boundary(s, at);
    s.get(..at).and_then(|h| h.rfind('\n')).map_or(0, |i| i + 1)
}

fn line_at(s: &str, start: usize) -> &str {
    let rest = s.get(start..).unwrap_or_default();
    rest.split('\n').next().unwrap_or_default()
}

/// The line of `text` containing byte offset `at`, preceded by the previous
/// non-empty line when the status sits at the very start of its line (qmail
/// puts `(#5.1.1)` on a line of its own, Exim wraps long replies).
fn diagnostic_at(text: &str, at: usize) -> String {
    let start = line_start_of(text, at);
    let line = line_at(text, start).trim();
    let column = at.saturating_sub(start);
    if column < 12 && line.len() < 40 && start > 0 {
        let before = text.get(..start.saturating_sub(1)).unwrap_or_default();
        if let Some(prev) = before.lines().rev().find(|l| !l.trim().is_empty()) {
            return clip(&format!("{} {}", prev.trim(), line));
        }
    }
    clip(line)
}

fn clip(s: &str) -> String {
    let s = unfold(s);
    match s.char_indices().nth(MAX_DIAGNOSTIC) {
        Some((i, _)) => s.get(..i).unwrap_or_default().to_string(),
        None => s,
    }
}

#[cfg(test)]
mod testkit {
    use super::*;
    use mail_parser::MessageParser;

    pub(super) fn own() -> OwnIdentity {
        OwnIdentity {
            cfp_address: "cfp@conf.example".into(),
            loop_header: ("X-Loop".into(), "cfp@conf.example".into()),
        }
    }

    pub(super) fn classify_raw(raw: &str) -> Option<MachineKind> {
        let msg = MessageParser::default().parse(raw.as_bytes())?;
        classify(&msg, &own())
    }

    /// An ordinary proposal from a human, with `extra` headers inserted.
    pub(super) fn human_with(extra: &str, subject: &str, body: &str) -> String {
        format!(
            "Return-Path: <ada@example.org>\r\n\
             Delivered-To: cfp@conf.example\r\n\
             From: Ada Lovelace <ada@example.org>\r\n\
             To: cfp@conf.example\r\n\
             Subject: {subject}\r\n\
             Date: Tue, 2 Apr 2024 10:00:00 +0200\r\n\
             Message-ID: <p1@example.org>\r\n\
             MIME-Version: 1.0\r\n\
             {extra}\
             Content-Type: text/plain; charset=utf-8\r\n\
             \r\n\
             {body}\r\n"
        )
    }

    pub(super) const PROPOSAL: &str = "Title: Making Django fast without caching everything\r\n\
        Format: talk-25\r\nAudience: intermediate\r\nTopics: performance-scaling\r\n\
        Abstract:\r\n  A mailing list of tricks, plus an automatic profiler.\r\n";

    pub(super) fn human(extra: &str) -> String {
        human_with(extra, "Proposal: Making Django fast", PROPOSAL)
    }

    #[track_caller]
    pub(super) fn expect_label(raw: &str, label: &str) -> MachineKind {
        let kind = classify_raw(raw).unwrap_or_else(|| panic!("not flagged, expected {label}"));
        assert_eq!(kind.label(), label, "reason: {}", kind.reason());
        assert!(!kind.reason().is_empty());
        kind
    }

    pub(super) const DSN: &str = "Return-Path: <>\r\n\
        Delivered-To: cfp+b-k3j5abcd@conf.example\r\n\
        From: Mail Delivery System <MAILER-DAEMON@mx.conf.example>\r\n\
        To: cfp+b-k3j5abcd@conf.example\r\n\
        Subject: Undelivered Mail Returned to Sender\r\n\
        Auto-Submitted: auto-replied\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
        \r\n\
        --B\r\n\
        Content-Type: text/plain\r\n\
        \r\n\
        I'm sorry to have to inform you that your message could not be delivered.\r\n\
        \r\n\
        --B\r\n\
        Content-Type: message/delivery-status\r\n\
        \r\n\
        Reporting-MTA: dns; mx.conf.example\r\n\
        Original-Envelope-Id: ENV-42\r\n\
        \r\n\
        Final-Recipient: rfc822; reviewer@example.net\r\n\
        Original-Recipient: rfc822;reviewer@example.net\r\n\
        Action: failed\r\n\
        Status: 5.1.1\r\n\
        Diagnostic-Code: smtp; 550 5.1.1 <reviewer@example.net>: Recipient address\r\n\
        \trejected: User unknown\r\n\
        \r\n\
        Final-Recipient: rfc822; slow@example.org\r\n\
        Action: delayed\r\n\
        Status: 4.4.1\r\n\
        \r\n\
        --B\r\n\
        Content-Type: message/rfc822\r\n\
        \r\n\
        Return-Path: <cfp+b-k3j5abcd@conf.example>\r\n\
        From: cfp@conf.example\r\n\
        To: reviewer@example.net\r\n\
        Message-ID: <assign-7@conf.example>\r\n\
        Subject: Review request P-0042\r\n\
        \r\n\
        Please review.\r\n\
        --B--\r\n";
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use mail_parser::MessageParser;
    use std::path::PathBuf;

    #[test]
    fn plain_human_proposal_is_not_flagged() {
        assert_eq!(classify_raw(&human("")), None);
    }

    #[test]
    fn malformed_and_degenerate_input_does_not_panic() {
        let empty = Message::default();
        assert_eq!(classify(&empty, &own()), None);
        assert_eq!(verp_token(&empty, "cfp@conf.example"), None);
        let weird = OwnIdentity {
            cfp_address: "@".into(),
            loop_header: (String::new(), String::new()),
        };
        let raw = human("");
        let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(classify(&msg, &weird), None);
        let (m, g) = parse_dsn("\n\n :\n\t\nStatus:\nFinal-Recipient:\n  x\n:::");
        let _ = (m, g.iter().filter_map(recipient_from_group).count());
        assert_eq!(strip_type(";"), ";");
        assert_eq!(clip(""), "");
        assert_eq!(line_at("ab", 99), "");
        assert_eq!(line_start_of("é\né", 1), 0);
    }

    /// Cheap property test: arbitrary bytes, and byte-level mutations of
    /// machine-like messages, never make `classify` panic.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let seeds: Vec<Vec<u8>> = vec![
            DSN.as_bytes().to_vec(),
            human("X-Loop: cfp@conf.example\r\nList-Id: <x>\r\n").into_bytes(),
            b"Subject: failure notice\r\nFrom: MAILER-DAEMON\r\n\r\n<a@b.c>:\r\n550 5.1.1".to_vec(),
        ];
        let alphabet: &[u8] = b"<>@:;.-+ \r\n\t=\"5.1.1 Final-Recipient Status Content-Type: multipart/report; boundary=\xff\xc3\xa9";
        for i in 0..3000u32 {
            let mut bytes: Vec<u8> = if i % 3 == 0 {
                let len = (next() % 600) as usize;
                (0..len)
                    .map(|_| {
                        let r = next();
                        if r % 2 == 0 {
                            alphabet[(r >> 8) as usize % alphabet.len()]
                        } else {
                            (r >> 16) as u8
                        }
                    })
                    .collect()
            } else {
                seeds[(next() % seeds.len() as u64) as usize].clone()
            };
            let edits = (next() % 12) as usize;
            for _ in 0..edits {
                if bytes.is_empty() {
                    break;
                }
                let pos = (next() % bytes.len() as u64) as usize;
                match next() % 4 {
                    0 => bytes[pos] = (next() >> 24) as u8,
                    1 => {
                        bytes.truncate(pos);
                    }
                    2 => {
                        let b = alphabet[(next() % alphabet.len() as u64) as usize];
                        bytes.insert(pos, b);
                    }
                    _ => {
                        bytes.remove(pos);
                    }
                }
            }
            if let Some(msg) = MessageParser::default().parse(&bytes) {
                let kind = classify(&msg, &own());
                if let Some(k) = kind {
                    assert!(!k.reason().is_empty());
                }
                let _ = verp_token(&msg, "cfp@conf.example");
            }
        }
    }

    // -- corpus tests --------------------------------------------------------

    fn shared_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("CFPD_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
        dir.is_dir().then_some(dir)
    }

    fn corpus_files(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()) != Some("LICENSE"));
        files.sort();
        files
    }

    fn has_delivery_status_part(msg: &Message<'_>) -> bool {
        msg.parts.iter().any(|p| {
            content_type_of(p).is_some_and(|(t, s)| {
                t == "message" && (s == "delivery-status" || s == "global-delivery-status")
            })
        })
    }

    fn raw_contains_ci(raw: &[u8], needle: &[u8]) -> bool {
        raw.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    }

    #[test]
    fn corpus_bounces_are_all_machine_mail() {
        let Some(shared) = shared_dir() else {
            println!("skipped: shared/ not found");
            return;
        };
        let files = corpus_files(&shared.join("corpora/bounces"));
        assert!(!files.is_empty(), "no files in corpora/bounces");
        let mut misses = Vec::new();
        let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
        let mut dsn_total = 0;
        let mut dsn_problems = Vec::new();
        let (mut with_rcpt, mut with_status, mut hard) = (0, 0, 0);
        for path in &files {
            let raw = std::fs::read(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some(msg) = MessageParser::default().parse(&raw) else {
                misses.push(format!("{name}: unparseable"));
                continue;
            };
            let Some(kind) = classify(&msg, &own()) else {
                misses.push(name);
                continue;
            };
            *counts.entry(kind.label()).or_default() += 1;
            if let Some(info) = kind.bounce() {
                if !info.recipients.is_empty() {
                    with_rcpt += 1;
                }
                if info.recipients.iter().any(|r| r.status.is_some()) {
                    with_status += 1;
                }
                if info.hard {
                    hard += 1;
                }
            }
            if has_delivery_status_part(&msg) {
                if !raw_contains_ci(&raw, b"final-recipient") {
                    println!("DSN part names no recipient: {name}: {kind:?}");
                    continue;
                }
                dsn_total += 1;
                match kind.bounce() {
                    Some(info)
                        if !info.recipients.is_empty()
                            && info
                                .recipients
                                .iter()
                                .all(|r| !r.address.is_empty() && r.status.is_some()) => {}
                    _ => dsn_problems.push(format!("{name}: {kind:?}")),
                }
            }
        }
        println!("bounces corpus: {} files, by kind: {counts:?}", files.len());
        println!(
            "bounce kind: {with_rcpt} with recipients, {with_status} with a status, {hard} hard"
        );
        println!(
            "DSN parts with Final-Recipient: {dsn_total}, recipient+status extracted for {}",
            dsn_total - dsn_problems.len()
        );
        for m in &misses {
            println!("MISS {m}");
        }
        for p in &dsn_problems {
            println!("DSN PROBLEM {p}");
        }
        assert!(misses.is_empty(), "{} messages not flagged", misses.len());
        assert!(
            dsn_problems.is_empty(),
            "{} DSNs not extracted",
            dsn_problems.len()
        );
    }

    /// Every shared corpus message, and byte-level mutations of it
    /// (truncation, flipped bytes), classifies without panicking.
    #[test]
    fn corpus_mutations_never_panic() {
        let Some(shared) = shared_dir() else {
            println!("skipped: shared/ not found");
            return;
        };
        let mut files = corpus_files(&shared.join("corpora/bounces"));
        files.extend(corpus_files(
            &shared.join("corpora/malformed-mime/malformed"),
        ));
        files.extend(corpus_files(
            &shared.join("corpora/malformed-mime/thirdparty"),
        ));
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut runs = 0;
        for path in &files {
            let original = std::fs::read(path).unwrap();
            for variant in 0..4 {
                let mut bytes = original.clone();
                if variant > 0 && !bytes.is_empty() {
                    let cut = (next() % bytes.len() as u64) as usize;
                    if variant == 1 {
                        bytes.truncate(cut);
                    } else {
                        for _ in 0..(variant * 8) {
                            let i = (next() % bytes.len() as u64) as usize;
                            bytes[i] = (next() >> 32) as u8;
                        }
                    }
                }
                if let Some(msg) = MessageParser::default().parse(&bytes) {
                    let _ = classify(&msg, &own());
                    runs += 1;
                }
            }
        }
        println!(
            "{} files, {runs} classifications without panic",
            files.len()
        );
    }

    fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(kind);
        let files = corpus_files(&dir);
        assert!(files.len() >= 10, "too few fixtures in {}", dir.display());
        files
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                (name, std::fs::read(p).unwrap())
            })
            .collect()
    }

    /// Issue 14, item 2: proposals and follow-ups with machine-looking subjects,
    /// senders and layouts (tests/fixtures/human) are human mail, and the new ones
    /// read as proposals (so they get an ack or a draft receipt).
    #[test]
    fn human_fixtures_with_machine_looking_subjects_and_senders_are_human() {
        let all = fixtures("human");
        assert!(all.len() >= 30, "{} human fixtures", all.len());
        let mut wrong = Vec::new();
        for (name, raw) in &all {
            let msg = MessageParser::default().parse(raw).unwrap();
            if let Some(kind) = classify(&msg, &own()) {
                wrong.push(format!("{name}: {} ({})", kind.label(), kind.reason()));
                continue;
            }
            let text = report_text(&msg);
            let me = own();
            let ctx = Ctx::new(&msg, &msg.parts[0], &me);
            if !ctx.to_reply_token() && !reads_as_proposal(&text) {
                wrong.push(format!("{name}: new mail that does not read as a proposal"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// Issue 14, item 3: carrier notices quoting SMTP replies and list-manager
    /// notices (tests/fixtures/machine) are machine mail, or at least never look
    /// written by a person, so the help text never answers them.
    #[test]
    fn machine_fixtures_are_never_answered() {
        let mut answered = Vec::new();
        for (name, raw) in fixtures("machine") {
            let msg = MessageParser::default().parse(&raw).unwrap();
            if classify(&msg, &own()).is_some() {
                continue;
            }
            let text = report_text(&msg);
            let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address());
            if reads_as_proposal(&text) || not_written_by_person(from, &text).is_none() {
                answered.push(name);
            }
        }
        assert!(answered.is_empty(), "{answered:#?}");
    }

    #[test]
    fn corpus_human_replies_are_not_flagged() {
        let Some(shared) = shared_dir() else {
            println!("skipped: shared/ not found");
            return;
        };
        let files = corpus_files(&shared.join("corpora/reply-trimming/emails"));
        assert!(
            !files.is_empty(),
            "no files in corpora/reply-trimming/emails"
        );
        let mut flagged = Vec::new();
        for path in &files {
            let body = String::from_utf8_lossy(&std::fs::read(path).unwrap()).to_string();
            let raw = human_with(
                "In-Reply-To: <ack-1@conf.example>\r\n",
                "Re: [cfpd] P-0042 received",
                &body,
            );
            let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
            if let Some(kind) = classify(&msg, &own()) {
                flagged.push(format!("{}: {kind:?}", path.display()));
            }
        }
        println!(
            "human corpus: {} files, {} flagged",
            files.len(),
            flagged.len()
        );
        for f in &flagged {
            println!("FALSE POSITIVE {f}");
        }
        assert!(flagged.is_empty());
    }
}
