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

use std::borrow::Cow;
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

fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests; an invalid one
    // degrades to a regex that never matches instead of panicking.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("trivial regex"))
}

/// Reply/forward prefixes and bracketed tags in front of a subject.
static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:(re|fwd?|aw|wg|tr|sv|vs|rv|enc|res|antw|odp|vb|ynt|回复|回覆|答复|转发|轉寄|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{0,60}\]\s*)",
    )
});

/// Out-of-office / auto-reply subjects, anchored at the start. A phrase
/// must be followed by a colon, bracket, dash or the end of the subject
/// (optionally after "reply"/"notice"/…), so that talk titles such as
/// "Automatic reply suggestions with LLMs" stay human; a few sentence forms
/// ("I am out of the office …") are unambiguous on their own.
static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:",
        r"(?:out of (?:the )?office|ooo|automatic reply|automatic response|auto[ -]?(?:reply|replied|response|respons|responder|answer|antwort)",
        r"|autoreply|autoresponse|r[ée]ponse automatique|absente? du bureau|abwesenheitsnotiz|abwesenheit|abwesend",
        r"|automatische (?:antwort|r[üu]ckantwort)|respuesta autom[áa]tica|fuera de (?:la )?oficina|risposta automatica",
        r"|fuori (?:sede|ufficio)|automatisch antwoord|afwezig|resposta autom[áa]tica|autosvar|automatisk svar",
        r"|automaattinen vastaus|automatyczna odpowied[źz]|автоматический ответ|автоответ|自動応答|自動返信|自动回复|自動回覆|자동\s?응답",
        r"|vacation|on vacation|away from (?:the |my )?(?:office|desk))",
        r"(?:\s+(?:reply|autoreply|auto[- ]reply|response|notice|notification|message))?",
        r"\s*(?:[:：(\[\-–—]|$|(?:until|till|from|returning|back)\b)",
        r"|i(?: am|'m|’m) (?:currently )?(?:out of (?:the )?office|away from (?:the |my )?(?:office|desk)|on (?:vacation|holiday|leave|annual leave))",
        r")",
    ))
});

/// Delivery-failure subjects, anchored at the start; like auto-reply
/// subjects, a phrase must be followed by a colon, bracket, dash or the end,
/// except for verbatim MTA phrases.
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:",
        r"(?:undeliverable|undelivered|undelivered mail|delivery status notification|mail delivery (?:failed|failure|delayed|status report)",
        r"|delivery (?:failure|failed|has failed|notification|delayed|final failure|status)|failure notice|returned mail|mail returned",
        r"|message not delivered|non[- ]?delivery|nondeliverable|delayed mail|mail failure|postmaster notify|mail system error",
        r"|message delivery failure|unable to deliver|could not deliver|non remis|non distribu[ée]|unzustellbar|nicht zustellbar",
        r"|onbestelbaar|non recapitabile|no se puede entregar|mensaje no entregado)",
        r"(?:\s+(?:mail|message|notification|notice|report))?",
        r"\s*(?:[:：(\[\-–—]|$)",
        r"|undelivered mail returned to sender|delivery has failed to these recipients|warning: could not send message",
        r"|warning: message .{0,120} delayed|mail delivery failed\s*:|returned mail\s*:|delivery status notification\s*\(",
        r")",
    ))
});

/// Verbatim MTA delivery-failure subjects that may appear after a host name
/// or tag anywhere in a subject.
static BOUNCE_SUBJECT_ANYWHERE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:mail delivery failed\s*:\s*returning message to sender|undelivered mail returned to sender|delivery status notification \((?:failure|delay|delayed)\))",
    )
});

/// Fixed phrases of common bounce bodies.
static BOUNCE_BODY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)(?:this is the qmail-send program|created automatically by mail delivery software|this is the mail system at host|the original message was received at|addresses had permanent fatal errors|delivery to the following recipients? failed|delivery has failed to these recipients|could not be delivered to one or more|i'm afraid i wasn't able to deliver|transcript of session follows|failed addresses follow|^final-recipient:|^diagnostic-code:)",
    )
});

/// Lines that start the returned copy of the original message.
static ORIGINAL_SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^.{0,30}(?:copy of (?:the|your) message|-+\s*original message\s*-+|original message (?:headers|follows)|message text follows|header of the original message|returned message follows|unsent message below)",
    )
});

/// Text that says a failure is only a delay.
static DELAY_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:has not yet been delivered|warning only|still being retried|will (?:continue|be retried|retry)|delivery attempts will continue|\(delay\)|delivery delayed|message delayed|could not send message for past|delayed mail)",
    )
});

/// Text that says a failure is permanent.
static PERMANENT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:permanent(?:ly)? (?:error|failure|fatal)|failed permanently|i've given up|could not be delivered|couldn't be delivered|delivery has failed|undelivered mail returned|returning message to sender|no mailbox here|user unknown|unknown user)",
    )
});

/// `Message-ID:` line in text.
static MESSAGE_ID_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?mi)^[ \t>]*message-id:[ \t]*<?([^\s<>]+@[^\s<>]+|[^\s<>]+)>?"));

/// A line that consists of one address (qmail `<a@b>:`, Exim `  a@b`,
/// Gmail, Exchange `a@b<mailto:a@b>`, Sendmail `<a@b>`).
static ADDRESS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^[ \t]*<?([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?(?:<mailto:[^>\s]*>)?[ \t]*(?::|\.\.\.)?[ \t]*\r?$",
    )
});

/// Postfix-style `<a@b>: host mx.example said: 550 ...` at the start of a line.
static POSTFIX_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^[ \t]*<([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>:[ \t]+\S",
    )
});

/// An address in angle brackets.
static ANGLE_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"<([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,})>",
    )
});

/// Sendmail-style `a@b... reason` or `<a@b>... reason`.
static ADDRESS_ELLIPSIS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)<?([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?[ \t]*\.\.\.\s",
    )
});

/// Any address.
static ANY_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,})",
    )
});

/// Enhanced status code candidate; boundaries are checked by hand.
static ENHANCED_STATUS: LazyLock<Regex> = LazyLock::new(|| re(r"([245])\.(\d{1,3})\.(\d{1,3})"));

/// SMTP basic reply code candidate; boundaries are checked by hand.
static BASIC_CODE: LazyLock<Regex> = LazyLock::new(|| re(r"([45])[0-5]\d"));

/// HTML tags, for crude HTML-to-text.
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<[^>]{0,2000}>"));

// ---------------------------------------------------------------------------
// Classification context
// ---------------------------------------------------------------------------

/// One header, name lower-cased, value unfolded and trimmed (raw, not
/// RFC 2047-decoded).
struct Hdr {
    name: String,
    value: String,
}

/// A sender address split into display name and address.
struct Sender {
    name: String,
    address: String,
}

/// Report parts found in the message's own MIME tree.
#[derive(Default)]
struct Reports {
    /// `multipart/report` report-types seen.
    report_types: Vec<String>,
    /// Texts of `message/delivery-status` / `message/global-delivery-status`.
    delivery_status: Vec<String>,
    /// Texts of `message/feedback-report`.
    feedback: Vec<String>,
    /// A `message/disposition-notification` part was seen.
    disposition: bool,
    /// Report parts seen only inside attached messages.
    nested_report: Option<String>,
    /// An attached message carries Microsoft JMRP markers.
    jmrp: bool,
}

struct Ctx<'m, 'x> {
    msg: &'m Message<'x>,
    own: &'m OwnIdentity,
    headers: Vec<Hdr>,
    subject: String,
    from: Vec<Sender>,
    reports: Reports,
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
        }
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

    /// The topmost Return-Path: `Some("")` for the null path `<>`.
    fn return_path(&self) -> Option<String> {
        self.first("return-path").map(|v| {
            let v = v.trim();
            let v = v.strip_prefix('<').unwrap_or(v);
            let v = v.split('>').next().unwrap_or_default();
            v.trim().to_string()
        })
    }

    /// Subject with reply/forward prefixes and `[tags]` removed, and whether
    /// a reply or forward prefix was removed.
    fn core_subject(&self) -> (&str, bool) {
        let mut s = self.subject.trim();
        let mut prefixed = false;
        for _ in 0..16 {
            let Some(caps) = SUBJECT_PREFIX.captures(s) else {
                break;
            };
            let Some(whole) = caps.get(0) else { break };
            if whole.end() == 0 {
                break;
            }
            if caps.get(1).is_some() {
                prefixed = true;
            }
            s = s.get(whole.end()..).unwrap_or_default().trim_start();
        }
        (s, prefixed)
    }

    fn own_mail(&self) -> Option<String> {
        let (name, value) = &self.own.loop_header;
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() {
            let want = normalize_token(value);
            for v in self.values(&name) {
                if want.is_empty() || normalize_token(v) == want {
                    return Some(format!("loop header {}: {}", self.own.loop_header.0, v));
                }
            }
        }
        if let Some((local, domain)) = split_address(&self.own.cfp_address) {
            let local = local.to_ascii_lowercase();
            let domain = domain.to_ascii_lowercase();
            let is_ours = |addr: &str| {
                let Some((l, d)) = split_address(addr) else {
                    return false;
                };
                let l = l.to_ascii_lowercase();
                d.eq_ignore_ascii_case(&domain)
                    && (l == local
                        || l.strip_prefix(local.as_str())
                            .is_some_and(|rest| rest.starts_with('+')))
            };
            for s in &self.from {
                if is_ours(&s.address) {
                    return Some(format!("From is our own address {}", s.address));
                }
            }
            if let Some(rp) = self.return_path() {
                if is_ours(&rp) {
                    return Some(format!("Return-Path is our own address {rp}"));
                }
            }
        }
        None
    }

    fn feedback_report(&self) -> Option<(Option<String>, String)> {
        let r = &self.reports;
        let feedback_type = r.feedback.iter().find_map(|text| {
            let (fields, _) = parse_dsn(text);
            field(&fields, "feedback-type").map(|v| v.to_ascii_lowercase())
        });
        if r.report_types.iter().any(|t| t == "feedback-report") {
            return Some((
                feedback_type,
                "multipart/report; report-type=feedback-report (ARF)".into(),
            ));
        }
        if !r.feedback.is_empty() {
            return Some((feedback_type, "message/feedback-report part (ARF)".into()));
        }
        if r.jmrp {
            return Some((
                None,
                "Microsoft JMRP complaint (X-HmXmrOriginalRecipient)".into(),
            ));
        }
        None
    }

    /// Why this message is a bounce, if it is one.
    fn bounce_evidence(&self) -> Option<String> {
        let r = &self.reports;
        if r.report_types.iter().any(|t| t == "delivery-status") {
            return Some("multipart/report; report-type=delivery-status (DSN)".into());
        }
        if !r.delivery_status.is_empty() {
            return Some("message/delivery-status part (DSN)".into());
        }
        if let Some(v) = self.first("x-failed-recipients") {
            if !v.trim().is_empty() {
                return Some(format!("X-Failed-Recipients: {}", v.trim()));
            }
        }
        for s in &self.from {
            if is_mailer_daemon(&s.address) {
                return Some(format!("sender is {}", s.address));
            }
            if is_mailer_daemon_name(&s.name) {
                return Some(format!("sender display name is \"{}\"", s.name));
            }
        }
        if let Some(rp) = self.return_path() {
            if is_mailer_daemon(&rp) {
                return Some(format!("Return-Path is {rp}"));
            }
        }
        let (core, prefixed) = self.core_subject();
        if !prefixed && (BOUNCE_SUBJECT.is_match(core) || BOUNCE_SUBJECT_ANYWHERE.is_match(core)) {
            return Some(format!(
                "delivery-failure subject \"{}\"",
                self.subject.trim()
            ));
        }
        // Body phrases only count together with a header-level machine signal.
        let machine_header = self.return_path().is_some_and(|rp| rp.is_empty())
            || self.auto_submitted().is_some()
            || self.from.iter().any(|s| is_postmaster(&s.address));
        if machine_header {
            let text = report_text(self.msg);
            if let Some(m) = BOUNCE_BODY.find(&text) {
                return Some(format!(
                    "automated sender and bounce text \"{}\"",
                    m.as_str().trim()
                ));
            }
        }
        None
    }

    fn read_receipt(&self) -> Option<String> {
        if self.reports.disposition
            || self
                .reports
                .report_types
                .iter()
                .any(|t| t == "disposition-notification")
        {
            return Some("message disposition notification (read receipt, RFC 8098)".into());
        }
        None
    }

    /// The `Auto-Submitted` keyword when it is not `no`.
    fn auto_submitted(&self) -> Option<String> {
        self.values("auto-submitted").find_map(|v| {
            let kw = v
                .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
                .find(|s| !s.is_empty())?
                .to_ascii_lowercase();
            (kw != "no").then_some(kw)
        })
    }

    fn auto_reply(&self) -> Option<String> {
        if let Some(kw) = self.auto_submitted() {
            if kw.starts_with("auto-replied") {
                return Some(format!("Auto-Submitted: {kw}"));
            }
        }
        const AUTO_HEADERS: &[&str] = &[
            "x-autoreply",
            "x-autorespond",
            "x-autoresponder",
            "x-auto-reply",
            "x-autogenerated",
            "x-autoreply-from",
            "x-mail-autoreply",
        ];
        for h in &self.headers {
            if AUTO_HEADERS.contains(&h.name.as_str()) {
                let v = h.value.trim().to_ascii_lowercase();
                if !matches!(v.as_str(), "no" | "false" | "0") {
                    return Some(format!("{} header", display_header_name(&h.name)));
                }
            }
        }
        if let Some(p) = self.precedence() {
            if p == "auto_reply" || p == "auto-reply" {
                return Some(format!("Precedence: {p}"));
            }
        }
        let (core, _) = self.core_subject();
        if AUTO_REPLY_SUBJECT.is_match(core) {
            return Some(format!("auto-reply subject \"{}\"", self.subject.trim()));
        }
        None
    }

    fn precedence(&self) -> Option<String> {
        self.first("precedence").map(|v| {
            v.split(|c: char| c == ';' || c.is_whitespace())
                .find(|s| !s.is_empty())
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
    }

    fn mailing_list(&self) -> Option<(Option<String>, String)> {
        let list_id = self.first("list-id").map(|v| {
            let inner = v
                .rsplit_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(id, _)| id)
                .unwrap_or(v);
            inner.trim().to_string()
        });
        let list_id = list_id.filter(|s| !s.is_empty());
        for h in &self.headers {
            let n = h.name.as_str();
            if n.starts_with("list-")
                || matches!(
                    n,
                    "mailing-list" | "x-mailing-list" | "x-beenthere" | "x-mailman-version"
                )
            {
                return Some((list_id, format!("{} header", display_header_name(n))));
            }
        }
        if self.precedence().as_deref() == Some("list") {
            return Some((list_id, "Precedence: list".into()));
        }
        None
    }

    fn system(&self) -> Option<String> {
        if let Some(kw) = self.auto_submitted() {
            return Some(format!("Auto-Submitted: {kw}"));
        }
        if let Some(p) = self.precedence() {
            if p == "bulk" || p == "junk" {
                return Some(format!("Precedence: {p}"));
            }
        }
        if let Some(v) = self.first("x-auto-response-suppress") {
            let suppress = v
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .any(|t| {
                    ["all", "oof", "autoreply"]
                        .iter()
                        .any(|w| t.eq_ignore_ascii_case(w))
                });
            if suppress {
                return Some(format!("X-Auto-Response-Suppress: {}", v.trim()));
            }
        }
        if let Some(t) = self.reports.report_types.first() {
            let t = if t.is_empty() { "(none)" } else { t.as_str() };
            return Some(format!("multipart/report; report-type={t}"));
        }
        if let Some(what) = &self.reports.nested_report {
            return Some(format!("attached message contains a {what}"));
        }
        if self.return_path().is_some_and(|rp| rp.is_empty()) {
            return Some("null Return-Path <>".into());
        }
        for s in &self.from {
            if is_postmaster(&s.address) || is_noreply(&s.address) || is_bounce_address(&s.address)
            {
                return Some(format!("system sender {}", s.address));
            }
        }
        for s in senders_of(self, "sender") {
            if is_noreply(&s.address)
                || is_bounce_address(&s.address)
                || is_mailer_daemon(&s.address)
            {
                return Some(format!("system Sender {}", s.address));
            }
        }
        if let Some(rp) = self.return_path() {
            if is_bounce_address(&rp) || is_noreply(&rp) {
                return Some(format!("bulk-mail Return-Path {rp}"));
            }
        }
        let (core, prefixed) = self.core_subject();
        if prefixed && (BOUNCE_SUBJECT.is_match(core) || BOUNCE_SUBJECT_ANYWHERE.is_match(core)) {
            return Some(format!(
                "forwarded or quoted delivery-failure notice \"{}\"",
                self.subject.trim()
            ));
        }
        None
    }

    // -- bounce details ----------------------------------------------------

    fn bounce_info(&self, reason: String) -> BounceInfo {
        let mut recipients: Vec<BouncedRecipient> = Vec::new();
        let mut envelope_id = None;
        let mut reporting_mta = None;
        for text in &self.reports.delivery_status {
            let (fields, groups) = parse_dsn(text);
            envelope_id = envelope_id.or_else(|| field(&fields, "original-envelope-id"));
            reporting_mta =
                reporting_mta.or_else(|| field(&fields, "reporting-mta").map(|v| strip_type(&v)));
            recipients.extend(groups.iter().filter_map(recipient_from_group));
        }
        let mut source = BounceSource::Dsn;
        let text = report_text(self.msg);
        let report = cut_at_original(&text);
        if recipients.is_empty() {
            source = BounceSource::Heuristic;
            // A DSN pasted into the text body (broken MTAs, wrapped reports).
            let (fields, groups) = parse_dsn(report);
            envelope_id = envelope_id.or_else(|| field(&fields, "original-envelope-id"));
            recipients.extend(groups.iter().filter_map(recipient_from_group));
            if recipients.is_empty() {
                recipients = self.heuristic_recipients(report);
            }
            if recipients.is_empty() {
                recipients.extend(self.returned_message_recipient());
            }
        }
        dedupe(&mut recipients);

        let known: Vec<bool> = recipients.iter().filter_map(|r| r.is_hard()).collect();
        let hard = if known.is_empty() {
            !DELAY_TEXT.is_match(report)
                && !DELAY_TEXT.is_match(&self.subject)
                && (PERMANENT_TEXT.is_match(report) || PERMANENT_TEXT.is_match(&self.subject))
        } else {
            known.iter().any(|h| *h)
        };

        BounceInfo {
            recipients,
            hard,
            original_message_id: original_message_id(self.msg, &text),
            verp_token: verp_token(self.msg, &self.own.cfp_address),
            envelope_id,
            reporting_mta,
            source,
            reason,
        }
    }

    /// The single `To` address of the returned original message, for
    /// reports that name no recipient ("Delivery report unavailable").
    fn returned_message_recipient(&self) -> Option<BouncedRecipient> {
        let nested = self.msg.parts.iter().skip(1).find_map(|p| match &p.body {
            PartType::Message(m) => Some(m),
            _ => None,
        })?;
        let root = nested.parts.first()?;
        let headers = collect_headers(root, &nested.raw_message);
        let to = senders(root, &headers, "to");
        match to.as_slice() {
            [only] if only.address.contains('@') && !self.is_excluded(&only.address) => {
                Some(BouncedRecipient {
                    address: only.address.clone(),
                    action: None,
                    status: None,
                    diagnostic: None,
                })
            }
            _ => None,
        }
    }

    /// Addresses that must not be taken for the failed recipient.
    fn is_excluded(&self, addr: &str) -> bool {
        let a = addr.to_ascii_lowercase();
        if is_mailer_daemon(&a) || is_postmaster(&a) {
            return true;
        }
        if let Some((l, d)) = split_address(&self.own.cfp_address) {
            if let Some((al, ad)) = split_address(&a) {
                let l = l.to_ascii_lowercase();
                if ad.eq_ignore_ascii_case(d)
                    && (al == l
                        || al
                            .strip_prefix(l.as_str())
                            .is_some_and(|r| r.starts_with('+')))
                {
                    return true;
                }
            }
        }
        self.from.iter().any(|s| s.address.eq_ignore_ascii_case(&a))
    }

    fn heuristic_recipients(&self, report: &str) -> Vec<BouncedRecipient> {
        // Candidate (position, address) pairs. X-Failed-Recipients (Exim,
        // Gmail) is authoritative; otherwise the strongest text pattern wins.
        let mut found: Vec<(usize, String)> = Vec::new();
        let lower = report.to_ascii_lowercase();
        for v in self.values("x-failed-recipients") {
            for m in ANY_ADDRESS.find_iter(v) {
                let a = m.as_str();
                let pos = lower.find(&a.to_ascii_lowercase()).unwrap_or(usize::MAX);
                found.push((pos, a.to_string()));
            }
        }
        if found.is_empty() {
            let tiers: [&[&Regex]; 2] = [&[&ADDRESS_LINE, &POSTFIX_LINE], &[&ADDRESS_ELLIPSIS]];
            for tier in tiers {
                for re in tier {
                    for c in re.captures_iter(report) {
                        if let Some(m) = c.get(1) {
                            if !self.is_excluded(m.as_str()) {
                                found.push((m.start(), m.as_str().to_string()));
                            }
                        }
                    }
                }
                if !found.is_empty() {
                    break;
                }
            }
        }
        if found.is_empty() {
            // Addresses on lines that carry an SMTP status.
            for line_start in line_starts(report) {
                let line = line_at(report, line_start);
                if find_failure_status(line).is_none() {
                    continue;
                }
                for m in ANY_ADDRESS.find_iter(line) {
                    if !self.is_excluded(m.as_str()) {
                        found.push((line_start + m.start(), m.as_str().to_string()));
                    }
                }
            }
        }
        if found.is_empty() {
            // Last resort: the first <address> the report mentions, other
            // than an SMTP `MAIL FROM:<...>`.
            let candidate = ANGLE_ADDRESS.captures_iter(report).find_map(|c| {
                let m = c.get(1)?;
                let before = report
                    .get(..m.start().saturating_sub(1))
                    .unwrap_or_default();
                let is_mail_from = before.trim_end().to_ascii_lowercase().ends_with("from:");
                (!is_mail_from && !self.is_excluded(m.as_str())).then_some(m)
            });
            if let Some(m) = candidate {
                found.push((m.start(), m.as_str().to_string()));
            }
        }
        found.sort_by_key(|(pos, _)| *pos);
        let mut seen: Vec<String> = Vec::new();
        found.retain(|(_, a)| {
            let l = a.to_ascii_lowercase();
            if seen.contains(&l) {
                false
            } else {
                seen.push(l);
                true
            }
        });

        let positions: Vec<usize> = found.iter().map(|(p, _)| *p).collect();
        let single = found.len() == 1;
        found
            .iter()
            .map(|(pos, address)| {
                let block = if *pos == usize::MAX || single {
                    report
                } else {
                    let end = positions
                        .iter()
                        .copied()
                        .filter(|p| *p > *pos && *p != usize::MAX)
                        .min()
                        .unwrap_or(report.len());
                    let end = floor_char_boundary(report, end.min(pos.saturating_add(2000)));
                    report.get(*pos..end).unwrap_or(report)
                };
                let local = if *pos == usize::MAX {
                    None
                } else {
                    report.get(*pos..)
                };
                let (status, diagnostic) = match find_failure_status(block) {
                    Some((status, at)) => (Some(status), Some(diagnostic_at(block, at))),
                    None => (None, local.and_then(paragraph_after_address)),
                };
                BouncedRecipient {
                    address: address.clone(),
                    action: None,
                    status,
                    diagnostic,
                }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Helpers: headers and addresses
// ---------------------------------------------------------------------------

fn collect_headers(part: &MessagePart<'_>, raw: &[u8]) -> Vec<Hdr> {
    part.headers
        .iter()
        .map(|h| {
            let value = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .map(|b| unfold(&String::from_utf8_lossy(b)))
                .or_else(|| header_text(&h.value))
                .unwrap_or_default();
            Hdr {
                name: h.name.as_str().to_ascii_lowercase(),
                value,
            }
        })
        .collect()
}

fn unfold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c == '\r' || c == '\n' || c == '\t' || c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_string()
}

fn header_text(v: &HeaderValue<'_>) -> Option<String> {
    match v {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => {
            Some(l.iter().map(|t| t.as_ref()).collect::<Vec<_>>().join(", "))
        }
        _ => None,
    }
}

fn display_header_name(lower: &str) -> String {
    lower
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Parsed addresses of header `name` (From, Sender) with a raw fallback.
fn senders(part: &MessagePart<'_>, headers: &[Hdr], name: &str) -> Vec<Sender> {
    let mut out = Vec::new();
    for h in part
        .headers
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
    {
        if let HeaderValue::Address(addr) = &h.value {
            for a in addr.iter() {
                out.push(Sender {
                    name: a.name.as_deref().unwrap_or_default().trim().to_string(),
                    address: a.address.as_deref().unwrap_or_default().trim().to_string(),
                });
            }
        }
    }
    if out.is_empty() {
        for h in headers.iter().filter(|h| h.name == name) {
            let address = ANY_ADDRESS
                .find(&h.value)
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| {
                    h.value
                        .trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                });
            out.push(Sender {
                name: h.value.clone(),
                address,
            });
        }
    }
    out
}

fn senders_of(ctx: &Ctx<'_, '_>, name: &str) -> Vec<Sender> {
    match ctx.msg.parts.first() {
        Some(root) => senders(root, &ctx.headers, name),
        None => Vec::new(),
    }
}

/// Splits `local@domain` at the last `@`.
fn split_address(addr: &str) -> Option<(&str, &str)> {
    let addr = addr.trim().trim_start_matches('<').trim_end_matches('>');
    let (l, d) = addr.rsplit_once('@')?;
    (!l.is_empty() && !d.is_empty()).then_some((l, d))
}

fn local_part(addr: &str) -> String {
    let addr = addr.trim().trim_start_matches('<').trim_end_matches('>');
    let l = addr.rsplit_once('@').map(|(l, _)| l).unwrap_or(addr);
    l.trim_matches('"').to_ascii_lowercase()
}

fn is_mailer_daemon(addr: &str) -> bool {
    let l = local_part(addr);
    let base = l.split('+').next().unwrap_or_default();
    matches!(
        base,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "mail-daemon" | "maildaemon"
    )
}

fn is_mailer_daemon_name(name: &str) -> bool {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    n.contains("mailer-daemon")
        || n.contains("mailer daemon")
        || n.starts_with("mail delivery system")
        || n.starts_with("mail delivery subsystem")
        || n.starts_with("mail delivery service")
}

fn is_postmaster(addr: &str) -> bool {
    let l = local_part(addr);
    l.split('+').next().unwrap_or_default() == "postmaster"
}

fn is_noreply(addr: &str) -> bool {
    let l = local_part(addr);
    [
        "noreply",
        "no-reply",
        "no_reply",
        "no.reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "do.not.reply",
        "dontreply",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn is_bounce_address(addr: &str) -> bool {
    let l = local_part(addr);
    if matches!(l.as_str(), "bounce" | "bounces" | "double-bounce") {
        return true;
    }
    for stem in ["bounce", "bounces"] {
        if let Some(rest) = l.strip_prefix(stem) {
            if rest.starts_with(['-', '+', '.', '_', '=']) {
                return true;
            }
        }
    }
    // Mailman-style "list-bounces", "list-bounces+user=host".
    l.split(['+', '='])
        .next()
        .is_some_and(|base| base.ends_with("-bounces") || base.ends_with("-bounce"))
}

fn normalize_token(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_ascii_lowercase()
}

fn verp_regex(cfp_address: &str) -> Option<Regex> {
    let (local, domain) = split_address(cfp_address)?;
    let pattern = format!(
        r"(?i)(?:^|[^A-Za-z0-9._%+=-]){}\+b-([A-Za-z0-9_=-]+)@{}(?:$|[^A-Za-z0-9.-]|\.(?:$|[^A-Za-z0-9-]))",
        regex::escape(local),
        regex::escape(domain)
    );
    Regex::new(&pattern).ok()
}

fn find_verp(re: &Regex, text: &str) -> Option<String> {
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

// ---------------------------------------------------------------------------
// Helpers: MIME parts and text
// ---------------------------------------------------------------------------

fn content_type_of(part: &MessagePart<'_>) -> Option<(String, String)> {
    let ct = part.content_type()?;
    Some((
        ct.ctype().to_ascii_lowercase(),
        ct.subtype().unwrap_or_default().to_ascii_lowercase(),
    ))
}

fn attribute_ci(part: &MessagePart<'_>, name: &str) -> Option<String> {
    let ct = part.content_type()?;
    ct.attributes()?
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value.to_ascii_lowercase().trim().to_string())
}

fn part_text(part: &MessagePart<'_>) -> Option<String> {
    let text: Cow<'_, str> = match &part.body {
        PartType::Text(t) => Cow::Borrowed(t.as_ref()),
        PartType::Html(h) => Cow::Owned(html_to_text(h)),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b),
        PartType::Message(_) | PartType::Multipart(_) => return None,
    };
    let end = floor_char_boundary(&text, text.len().min(MAX_PART_SCAN));
    Some(text.get(..end).unwrap_or_default().to_string())
}

fn html_to_text(html: &str) -> String {
    let end = floor_char_boundary(html, html.len().min(MAX_PART_SCAN));
    let html = html.get(..end).unwrap_or_default();
    let with_breaks = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n")
        .replace("</div>", "\n");
    HTML_TAG
        .replace_all(&with_breaks, "")
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn scan_reports(msg: &Message<'_>) -> Reports {
    let mut r = Reports::default();
    for (i, part) in msg.parts.iter().enumerate() {
        let Some((ctype, subtype)) = content_type_of(part) else {
            continue;
        };
        match (ctype.as_str(), subtype.as_str()) {
            ("multipart", "report") => {
                let t = attribute_ci(part, "report-type").unwrap_or_default();
                r.report_types.push(t);
            }
            ("message", "delivery-status" | "global-delivery-status") => {
                r.delivery_status.push(part_text(part).unwrap_or_default());
            }
            ("message", "feedback-report") => {
                r.feedback.push(part_text(part).unwrap_or_default());
            }
            ("message", "disposition-notification" | "global-disposition-notification") => {
                r.disposition = true;
            }
            _ => {}
        }
        if i > 0 {
            if let PartType::Message(nested) = &part.body {
                scan_nested(nested, &mut r, 0);
            }
        }
    }
    r
}

fn scan_nested(msg: &Message<'_>, r: &mut Reports, depth: usize) {
    if depth > 4 {
        return;
    }
    if let Some(root) = msg.parts.first() {
        if root.headers.iter().any(|h| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("x-hmxmroriginalrecipient")
        }) {
            r.jmrp = true;
        }
    }
    for part in &msg.parts {
        if let Some((ctype, subtype)) = content_type_of(part) {
            let what = match (ctype.as_str(), subtype.as_str()) {
                ("multipart", "report") => Some("multipart/report"),
                ("message", "delivery-status" | "global-delivery-status") => {
                    Some("delivery-status report")
                }
                ("message", "feedback-report") => Some("feedback report"),
                _ => None,
            };
            if let Some(what) = what {
                if r.nested_report.is_none() {
                    r.nested_report = Some(what.to_string());
                }
            }
        }
        if let PartType::Message(inner) = &part.body {
            scan_nested(inner, r, depth + 1);
        }
    }
}

/// The human-readable text of the message's own MIME tree (plain text
/// parts, or HTML converted when there is no plain text), bounded in size.
fn report_text(msg: &Message<'_>) -> String {
    let mut plain = String::new();
    let mut html = String::new();
    for part in &msg.parts {
        let ct = content_type_of(part);
        let is_plain = matches!(
            ct.as_ref().map(|(t, s)| (t.as_str(), s.as_str())),
            None | Some(("text", "plain"))
        );
        let is_html = matches!(
            ct.as_ref().map(|(t, s)| (t.as_str(), s.as_str())),
            Some(("text", "html"))
        );
        match &part.body {
            PartType::Text(_) if is_plain && plain.len() < MAX_TEXT_SCAN => {
                if let Some(t) = part_text(part) {
                    plain.push_str(&t);
                    plain.push('\n');
                }
            }
            PartType::Html(_) | PartType::Text(_) if is_html && html.len() < MAX_TEXT_SCAN => {
                if let Some(t) = part_text(part) {
                    html.push_str(&t);
                    html.push('\n');
                }
            }
            _ => {}
        }
    }
    if plain.trim().is_empty() {
        plain = html;
    }
    if plain.trim().is_empty() {
        // Broken MIME (e.g. a multipart/report without boundary lines): use
        // the root body as text.
        if let Some(root) = msg.parts.first() {
            let end = (root.offset_end as usize).min(root.offset_body as usize + MAX_TEXT_SCAN);
            if let Some(body) = msg.raw_message.get(root.offset_body as usize..end) {
                plain = String::from_utf8_lossy(body).into_owned();
            }
        }
    }
    let end = floor_char_boundary(&plain, plain.len().min(MAX_TEXT_SCAN));
    plain.truncate(end);
    plain
}

/// The report part of a bounce text: everything before the returned copy
/// of the original message.
fn cut_at_original(text: &str) -> &str {
    match ORIGINAL_SEPARATOR.find(text) {
        Some(m) if m.start() > 0 => text.get(..m.start()).unwrap_or(text),
        _ => text,
    }
}

fn original_message_id(msg: &Message<'_>, text: &str) -> Option<String> {
    for part in msg.parts.iter().skip(1) {
        match &part.body {
            PartType::Message(nested) => {
                if let Some(root) = nested.parts.first() {
                    let id = root
                        .headers
                        .iter()
                        .find(|h| h.name.as_str().eq_ignore_ascii_case("message-id"))
                        .and_then(|h| header_text(&h.value));
                    if let Some(id) = id.filter(|s| !s.trim().is_empty()) {
                        return Some(id.trim().trim_matches(['<', '>']).to_string());
                    }
                }
            }
            _ => {
                let is_headers = content_type_of(part)
                    .is_some_and(|(t, s)| (t == "text" || t == "message") && s == "rfc822-headers");
                if is_headers {
                    if let Some(t) = part_text(part) {
                        if let Some(id) = message_id_in(&t) {
                            return Some(id);
                        }
                    }
                }
            }
        }
    }
    let report = cut_at_original(text);
    let rest = text.get(report.len()..).unwrap_or_default();
    message_id_in(rest).or_else(|| message_id_in(text))
}

fn message_id_in(text: &str) -> Option<String> {
    MESSAGE_ID_LINE
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// Helpers: DSN fields and status codes
// ---------------------------------------------------------------------------

type Fields = Vec<(String, String)>;

const RECIPIENT_FIELDS: &[&str] = &[
    "original-recipient",
    "final-recipient",
    "x-actual-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "last-attempt-date",
    "final-log-id",
    "will-retry-until",
    "x-supplementary-info",
    "x-display-name",
];

/// Parses RFC 3464 fields: per-message fields and per-recipient groups.
/// Tolerates missing blank lines between groups, `\r\n`, continuation
/// lines and stray text.
fn parse_dsn(text: &str) -> (Fields, Vec<Fields>) {
    let mut message: Fields = Vec::new();
    let mut groups: Vec<Fields> = Vec::new();
    let mut current: Option<Fields> = None;
    // Where the last field went: None, message, or current recipient.
    let mut last_in_recipient: Option<bool> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if let Some(g) = current.take() {
                groups.push(g);
            }
            last_in_recipient = None;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let target = match last_in_recipient {
                Some(true) => current.as_mut().and_then(|g| g.last_mut()),
                Some(false) => message.last_mut(),
                None => None,
            };
            if let Some((_, v)) = target {
                if v.len() < 4 * MAX_DIAGNOSTIC {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            last_in_recipient = None;
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(' ') || name.len() > 40 {
            last_in_recipient = None;
            continue;
        }
        let value = value.trim().to_string();
        if RECIPIENT_FIELDS.contains(&name.as_str()) {
            let starts_new = current.as_ref().is_some_and(|g| {
                let has = |k: &str| g.iter().any(|(n, _)| n == k);
                has(&name)
                    || (name == "original-recipient"
                        && has("final-recipient")
                        && (has("status") || has("diagnostic-code")))
            });
            if starts_new {
                if let Some(g) = current.take() {
                    groups.push(g);
                }
            }
            current.get_or_insert_with(Vec::new).push((name, value));
            last_in_recipient = Some(true);
        } else if let Some(g) = current.as_mut() {
            g.push((name, value));
            last_in_recipient = Some(true);
        } else {
            message.push((name, value));
            last_in_recipient = Some(false);
        }
    }
    if let Some(g) = current.take() {
        groups.push(g);
    }
    (message, groups)
}

fn field(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, v)| n == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
}

/// Removes an RFC 3464 type prefix such as `rfc822;` or `smtp;`.
fn strip_type(v: &str) -> String {
    match v.split_once(';') {
        Some((t, rest))
            if !t.trim().is_empty()
                && t.trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            rest.trim().to_string()
        }
        _ => v.trim().to_string(),
    }
}

fn recipient_from_group(g: &Fields) -> Option<BouncedRecipient> {
    let raw = field(g, "final-recipient")
        .or_else(|| field(g, "x-actual-recipient"))
        .or_else(|| field(g, "original-recipient"))?;
    let addr = strip_type(&raw);
    let addr = addr
        .trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if addr.is_empty() {
        return None;
    }
    let diagnostic = field(g, "diagnostic-code").map(|d| clip(&strip_type(&d)));
    let status = field(g, "status")
        .and_then(|s| find_status(&s).map(|(st, _)| st))
        .or_else(|| {
            diagnostic
                .as_deref()
                .and_then(find_status)
                .map(|(st, _)| st)
        });
    let action = field(g, "action").map(|a| {
        a.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_ascii_lowercase()
    });
    Some(BouncedRecipient {
        address: addr,
        action,
        status,
        diagnostic,
    })
}

fn dedupe(recipients: &mut Vec<BouncedRecipient>) {
    let mut seen: Vec<String> = Vec::new();
    recipients.retain(|r| {
        let a = r.address.to_ascii_lowercase();
        if seen.contains(&a) {
            false
        } else {
            seen.push(a);
            true
        }
    });
}

/// Like [`find_status`] but ignores success codes (`250 2.0.0 Ok` lines in
/// SMTP transcripts).
fn find_failure_status(s: &str) -> Option<(String, usize)> {
    let mut offset = 0;
    while let Some(rest) = s.get(offset..) {
        let (status, at) = find_status(rest)?;
        if !status.starts_with('2') {
            return Some((status, offset + at));
        }
        offset += at + 1;
    }
    None
}

/// The explanation following a recipient line in a plain-text bounce: the
/// rest of the address line and the lines up to the next blank line, or the
/// next paragraph when the address stands alone.
fn paragraph_after_address(from_address: &str) -> Option<String> {
    let mut lines = from_address.lines();
    let first = lines.next().unwrap_or_default();
    let rest_of_first = first
        .split_once(['>', ':'])
        .map(|(_, r)| r.trim_start_matches([':', '>']).trim())
        .unwrap_or_default();
    let mut parts: Vec<&str> = Vec::new();
    if rest_of_first.len() > 3 {
        parts.push(rest_of_first);
    }
    let mut started = !parts.is_empty();
    for line in lines.take(12) {
        let t = line.trim();
        if t.is_empty() {
            if started {
                break;
            }
            continue;
        }
        if t.starts_with("---") || t.starts_with("|--") {
            break;
        }
        parts.push(t);
        started = true;
    }
    let joined = clip(&parts.join(" "));
    (!joined.is_empty()).then_some(joined)
}

/// Finds a status in `s`: the first enhanced status code (`5.1.1`) or else
/// the first SMTP basic reply code (`550` -> `5.0.0`). Returns the status
/// and the byte offset where it was found.
fn find_status(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    for m in ENHANCED_STATUS.find_iter(s) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(m.end()).copied();
        let after2 = bytes.get(m.end() + 1).copied();
        let bad_before = before.is_some_and(|b| b.is_ascii_digit() || b == b'.');
        let bad_after = after.is_some_and(|b| b.is_ascii_digit())
            || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()));
        if !bad_before && !bad_after {
            return Some((m.as_str().to_string(), m.start()));
        }
    }
    for m in BASIC_CODE.find_iter(s) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(m.end()).copied();
        let ok_before = before.is_none_or(|b| {
            b == b' '
                || b == b'\t'
                || b == b'\''
                || b == b'"'
                || b == b'('
                || b == b'\n'
                || b == b':'
                || b == b'<'
                || b == b'#'
        });
        let ok_after = after.is_none_or(|b| b == b' ' || b == b'-' || b == b'\r' || b == b'\n');
        if ok_before && ok_after {
            let class = m.as_str().chars().next().unwrap_or('5');
            return Some((format!("{class}.0.0"), m.start()));
        }
    }
    None
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
mod tests {
    use super::*;
    use mail_parser::MessageParser;
    use std::path::PathBuf;

    fn own() -> OwnIdentity {
        OwnIdentity {
            cfp_address: "cfp@conf.example".into(),
            loop_header: ("X-Loop".into(), "cfp@conf.example".into()),
        }
    }

    fn classify_raw(raw: &str) -> Option<MachineKind> {
        let msg = MessageParser::default().parse(raw.as_bytes())?;
        classify(&msg, &own())
    }

    /// An ordinary proposal from a human, with `extra` headers inserted.
    fn human_with(extra: &str, subject: &str, body: &str) -> String {
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

    const PROPOSAL: &str = "Title: Making Django fast without caching everything\r\n\
        Format: talk-25\r\nAudience: intermediate\r\nTopics: performance-scaling\r\n\
        Abstract:\r\n  A mailing list of tricks, plus an automatic profiler.\r\n";

    fn human(extra: &str) -> String {
        human_with(extra, "Proposal: Making Django fast", PROPOSAL)
    }

    #[track_caller]
    fn expect_label(raw: &str, label: &str) -> MachineKind {
        let kind = classify_raw(raw).unwrap_or_else(|| panic!("not flagged, expected {label}"));
        assert_eq!(kind.label(), label, "reason: {}", kind.reason());
        assert!(!kind.reason().is_empty());
        kind
    }

    #[test]
    fn patterns_compile() {
        for (name, pattern) in [
            ("SUBJECT_PREFIX", &*SUBJECT_PREFIX),
            ("AUTO_REPLY_SUBJECT", &*AUTO_REPLY_SUBJECT),
            ("BOUNCE_SUBJECT", &*BOUNCE_SUBJECT),
            ("BOUNCE_SUBJECT_ANYWHERE", &*BOUNCE_SUBJECT_ANYWHERE),
            ("BOUNCE_BODY", &*BOUNCE_BODY),
            ("ORIGINAL_SEPARATOR", &*ORIGINAL_SEPARATOR),
            ("DELAY_TEXT", &*DELAY_TEXT),
            ("PERMANENT_TEXT", &*PERMANENT_TEXT),
            ("MESSAGE_ID_LINE", &*MESSAGE_ID_LINE),
            ("ADDRESS_LINE", &*ADDRESS_LINE),
            ("ADDRESS_ELLIPSIS", &*ADDRESS_ELLIPSIS),
            ("POSTFIX_LINE", &*POSTFIX_LINE),
            ("ANGLE_ADDRESS", &*ANGLE_ADDRESS),
            ("ANY_ADDRESS", &*ANY_ADDRESS),
            ("ENHANCED_STATUS", &*ENHANCED_STATUS),
            ("BASIC_CODE", &*BASIC_CODE),
            ("HTML_TAG", &*HTML_TAG),
        ] {
            // The never-matching fallback means the pattern failed to compile.
            assert_ne!(pattern.as_str(), r"[^\s\S]", "{name} does not compile");
        }
    }

    #[test]
    fn plain_human_proposal_is_not_flagged() {
        assert_eq!(classify_raw(&human("")), None);
    }

    #[test]
    fn words_like_list_or_automatic_in_body_or_subject_are_human() {
        let cases = [
            (
                "Proposal: Automatic reply suggestions with Django and LLMs",
                "Abstract: an automatic reply engine. Out of office? Undeliverable mail? \
                 Mail delivery failed for my list; this is an auto-reply demo.",
            ),
            (
                "Talk: Mailing lists, List-Id headers and bulk mail in Django",
                "I will cover List-Unsubscribe, Precedence: bulk and noreply@ senders.\r\n\
                 Final-Recipient: rfc822; someone@example.com\r\nStatus: 5.1.1",
            ),
            (
                "Re: Out-of-band migrations",
                "A list of automatic migrations.",
            ),
            (
                "Vacation planner app with Django",
                "Built on an automatic scheduler.",
            ),
            (
                "Absence of evidence: testing async views",
                "A list of tricks.",
            ),
            (
                "Returning to Django after ten years",
                "The undelivered promises of SPAs.",
            ),
            (
                "Delivery pipelines for Django apps",
                "Automatic deploys from a list.",
            ),
            (
                "Automatic reply suggestions with Django and LLMs",
                "A talk.",
            ),
            ("Autoresponders done right", "A talk."),
            ("Out of office hours: on-call for Django teams", "A talk."),
            ("Undeliverable promises of microservices", "A talk."),
            ("Delivery notification systems with Channels", "A talk."),
            ("Returned mail handling in Django", "A talk."),
            ("Mail delivery failures and how to debug them", "A talk."),
            ("Vacation rentals on Django", "A talk."),
            ("Failure notices in CI pipelines", "A talk."),
            ("Unable to deliver? Retry queues with Celery", "A talk."),
            (
                "Re: [cfpd] P-0042 received",
                "Thanks! I fixed the list of co-speakers.",
            ),
        ];
        for (subject, body) in cases {
            let raw = human_with("", subject, body);
            assert_eq!(classify_raw(&raw), None, "subject {subject:?} was flagged");
        }
    }

    #[test]
    fn auto_submitted_signals() {
        let k = expect_label(&human("Auto-Submitted: auto-replied\r\n"), "auto-reply");
        assert!(k.reason().contains("Auto-Submitted"));
        let k = expect_label(
            &human("Auto-Submitted: auto-generated (failure)\r\n"),
            "system",
        );
        assert!(k.reason().contains("auto-generated"));
        expect_label(&human("Auto-Submitted: auto-notified\r\n"), "system");
        assert_eq!(classify_raw(&human("Auto-Submitted: no\r\n")), None);
        assert_eq!(classify_raw(&human("Auto-Submitted: No (human)\r\n")), None);
    }

    #[test]
    fn return_path_signals() {
        let raw = human("").replace("Return-Path: <ada@example.org>", "Return-Path: <>");
        let k = expect_label(&raw, "system");
        assert!(k.reason().contains("null Return-Path"));
        let raw = human("").replace(
            "Return-Path: <ada@example.org>",
            "Return-Path: <MAILER-DAEMON>",
        );
        expect_label(&raw, "bounce");
        let raw = human("").replace(
            "Return-Path: <ada@example.org>",
            "Return-Path: <bounces+12345-abcd=example.org@em.example.net>",
        );
        expect_label(&raw, "system");
    }

    #[test]
    fn x_failed_recipients_is_a_bounce() {
        let k = expect_label(&human("X-Failed-Recipients: bob@example.net\r\n"), "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.recipients.len(), 1);
        assert_eq!(info.recipients[0].address, "bob@example.net");
        assert_eq!(info.source, BounceSource::Heuristic);
    }

    #[test]
    fn precedence_signals() {
        expect_label(&human("Precedence: bulk\r\n"), "system");
        expect_label(&human("Precedence: junk\r\n"), "system");
        expect_label(&human("Precedence: list\r\n"), "mailing-list");
        expect_label(&human("Precedence: auto_reply\r\n"), "auto-reply");
        assert_eq!(classify_raw(&human("Precedence: first-class\r\n")), None);
    }

    #[test]
    fn autoreply_header_signals() {
        for h in [
            "X-Autoreply: yes",
            "X-Autorespond: Out of office",
            "X-Autogenerated: Reply",
            "X-AutoReply-From: ada@example.org",
            "X-Mail-Autoreply: ada@example.org",
        ] {
            let k = expect_label(&human(&format!("{h}\r\n")), "auto-reply");
            let name = h.split(':').next().unwrap();
            assert!(
                k.reason()
                    .to_ascii_lowercase()
                    .contains(&name.to_ascii_lowercase()),
                "{h}: {}",
                k.reason()
            );
        }
        for v in ["All", "OOF", "DR, RN, NRN, OOF, AutoReply", "AutoReply"] {
            let k = expect_label(
                &human(&format!("X-Auto-Response-Suppress: {v}\r\n")),
                "system",
            );
            assert!(k.reason().contains("X-Auto-Response-Suppress"));
        }
        assert_eq!(
            classify_raw(&human("X-Auto-Response-Suppress: DR, RN\r\n")),
            None
        );
    }

    #[test]
    fn list_header_signals() {
        let k = expect_label(
            &human("List-Id: Django developers <django-developers.googlegroups.com>\r\n"),
            "mailing-list",
        );
        match k {
            MachineKind::MailingList { list_id, .. } => {
                assert_eq!(
                    list_id.as_deref(),
                    Some("django-developers.googlegroups.com")
                )
            }
            other => panic!("{other:?}"),
        }
        for h in [
            "List-Unsubscribe: <mailto:leave@lists.example.org>",
            "List-Post: <mailto:dev@lists.example.org>",
            "List-Help: <mailto:help@lists.example.org>",
            "List-Subscribe: <mailto:join@lists.example.org>",
            "List-Owner: <mailto:owner@lists.example.org>",
            "List-Archive: <https://lists.example.org/archive>",
            "Mailing-List: contact dev-help@example.org; run by ezmlm",
            "X-BeenThere: dev@lists.example.org",
        ] {
            let k = expect_label(&human(&format!("{h}\r\n")), "mailing-list");
            if let MachineKind::MailingList { list_id, .. } = k {
                assert_eq!(list_id, None);
            }
        }
    }

    #[test]
    fn system_sender_signals() {
        let from = "From: Ada Lovelace <ada@example.org>";
        for (sender, label) in [
            ("From: MAILER-DAEMON@mx.example.net", "bounce"),
            (
                "From: Mail Delivery System <mailer-daemon@mx.example.net>",
                "bounce",
            ),
            ("From: MAILER-DAEMON <daemon@mx.example.net>", "bounce"),
            (
                "From: Mail Delivery Subsystem <root@mx.example.net>",
                "bounce",
            ),
            ("From: postmaster@example.net", "system"),
            ("From: GitHub <noreply@github.com>", "system"),
            ("From: Shop <no-reply@shop.example>", "system"),
            ("From: Bank <do-not-reply@bank.example>", "system"),
            ("From: Bank <donotreply@bank.example>", "system"),
            ("From: bounces@lists.example.org", "system"),
            ("From: bounce@esp.example", "system"),
        ] {
            let raw = human("").replace(from, sender);
            expect_label(&raw, label);
        }
        // Lookalikes are humans.
        for sender in [
            "From: Bouncer Dev <bouncer@example.org>",
            "From: Postma Sterling <postma@example.org>",
            "From: Reply Guy <reply@example.org>",
        ] {
            let raw = human("").replace(from, sender);
            assert_eq!(classify_raw(&raw), None, "{sender}");
        }
    }

    #[test]
    fn auto_reply_subjects_in_several_languages() {
        for subject in [
            "Out of Office: Proposal: Making Django fast",
            "Out of office reply",
            "Automatic reply: Your proposal P-0042",
            "Auto reply: Nyaan",
            "AutoReply: hello",
            "Auto-Response: hello",
            "Réponse automatique : Re: P-0042",
            "Abwesenheitsnotiz: Ihr Vorschlag",
            "Automatische Antwort: Ihr Vorschlag",
            "Respuesta automática: propuesta",
            "Risposta automatica: proposta",
            "Automatisch antwoord: voorstel",
            "Resposta automática: proposta",
            "Autosvar: förslag",
            "Automaattinen vastaus: ehdotus",
            "Automatyczna odpowiedź: propozycja",
            "Автоматический ответ: заявка",
            "自動応答: 提案",
            "自动回复: 提案",
            "Vacation reply",
            "I am out of the office until Monday",
            "[EXTERNAL] Automatic reply: P-0042",
        ] {
            let k = expect_label(&human_with("", subject, "I am away."), "auto-reply");
            assert!(k.reason().contains("subject"), "{subject}: {}", k.reason());
        }
    }

    #[test]
    fn delivery_failure_subjects() {
        for subject in [
            "Undeliverable: Proposal: Making Django fast",
            "Undelivered Mail Returned to Sender",
            "Delivery Status Notification (Failure)",
            "Mail delivery failed: returning message to sender",
            "Returned mail: see transcript for details",
            "failure notice",
            "Delivery has failed to these recipients or groups",
            "Unzustellbar: Ihr Vorschlag",
            "Non remis : votre proposition",
            "Warning: could not send message for past 4 hours",
        ] {
            let raw = human_with("", subject, "Sorry.");
            let k = expect_label(&raw, "bounce");
            assert!(k.reason().contains("subject"), "{subject}: {}", k.reason());
        }
        // A human forwarding a bounce: automated content, but not a bounce.
        let raw = human_with("", "Fwd: Returned mail: see transcript for details", "FYI");
        let k = expect_label(&raw, "system");
        assert!(k.reason().contains("forwarded"));
    }

    #[test]
    fn loop_header_and_own_address() {
        let k = expect_label(&human("X-Loop: cfp@conf.example\r\n"), "own-mail");
        assert!(k.reason().contains("loop header"));
        expect_label(&human("x-loop: <CFP@Conf.Example>\r\n"), "own-mail");
        // Someone else's X-Loop is not ours.
        assert_eq!(classify_raw(&human("X-Loop: other@example.org\r\n")), None);

        let custom = OwnIdentity {
            cfp_address: "papers@conf.example".into(),
            loop_header: ("X-Cfpd-Instance".into(), "conf-2024".into()),
        };
        let raw = human("X-Cfpd-Instance: conf-2024\r\n");
        let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(classify(&msg, &custom).map(|k| k.label()), Some("own-mail"));
        let raw = human("X-Cfpd-Instance: other\r\n");
        let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(classify(&msg, &custom), None);

        let from = "From: Ada Lovelace <ada@example.org>";
        let raw = human("").replace(from, "From: CFP <CFP@conf.example>");
        let k = expect_label(&raw, "own-mail");
        assert!(k.reason().contains("From"));
        let raw = human("").replace(from, "From: CFP <cfp+r-abc@conf.example>");
        expect_label(&raw, "own-mail");
        // Same local part on another domain is not us.
        let raw = human("").replace(from, "From: CFP <cfp@other.example>");
        assert_eq!(classify_raw(&raw), None);
        // The default identity uses X-Loop with the CFP address.
        assert_eq!(OwnIdentity::new("cfp@conf.example"), own());
    }

    const DSN: &str = "Return-Path: <>\r\n\
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

    #[test]
    fn dsn_is_parsed() {
        let k = expect_label(DSN, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.source, BounceSource::Dsn);
        assert!(info.hard);
        assert_eq!(info.verp_token.as_deref(), Some("k3j5abcd"));
        assert_eq!(
            info.original_message_id.as_deref(),
            Some("assign-7@conf.example")
        );
        assert_eq!(info.envelope_id.as_deref(), Some("ENV-42"));
        assert_eq!(info.reporting_mta.as_deref(), Some("mx.conf.example"));
        assert_eq!(info.recipients.len(), 2);
        let r = &info.recipients[0];
        assert_eq!(r.address, "reviewer@example.net");
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.diagnostic.as_deref(),
            Some("550 5.1.1 <reviewer@example.net>: Recipient address rejected: User unknown")
        );
        assert_eq!(r.is_hard(), Some(true));
        assert_eq!(info.recipients[1].is_hard(), Some(false));
        assert!(k.reason().contains("delivery-status"));
    }

    #[test]
    fn hard_vs_soft() {
        let soft = DSN
            .replace("Status: 5.1.1", "Status: 4.2.2")
            .replace("Action: failed", "Action: delayed");
        let k = expect_label(&soft, "bounce");
        assert!(!k.bounce().unwrap().hard);
        assert_eq!(
            k.bounce().unwrap().recipients[0].status.as_deref(),
            Some("4.2.2")
        );

        // Action: failed without a status is hard.
        let no_status = DSN.replace("Status: 5.1.1\r\n", "").replace(
            "Diagnostic-Code: smtp; 550 5.1.1 <reviewer@example.net>: Recipient address\r\n\
             \trejected: User unknown\r\n",
            "",
        );
        let k = expect_label(&no_status, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.recipients[0].status, None);
        assert!(info.hard);

        // Plain-text bounces: qmail permanent error with #5.1.1, Exim delay.
        let qmail = "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net\r\n\
            To: cfp+b-tok1@conf.example\r\nSubject: failure notice\r\n\r\n\
            Hi. This is the qmail-send program at mx.example.net.\r\n\
            I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
            This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
            <speaker@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n\
            --- Below this line is a copy of the message.\r\n\r\n\
            Return-Path: <cfp+b-tok1@conf.example>\r\nMessage-ID: <ack-1@conf.example>\r\n\
            From: cfp@conf.example\r\nTo: speaker@example.net\r\n\r\nThanks\r\n";
        let k = expect_label(qmail, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.source, BounceSource::Heuristic);
        assert!(info.hard);
        assert_eq!(info.verp_token.as_deref(), Some("tok1"));
        assert_eq!(
            info.original_message_id.as_deref(),
            Some("ack-1@conf.example")
        );
        assert_eq!(info.recipients.len(), 1);
        assert_eq!(info.recipients[0].address, "speaker@example.net");
        assert_eq!(info.recipients[0].status.as_deref(), Some("5.1.1"));

        let exim_delay =
            "Return-path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n\
            To: cfp+b-tok2@conf.example\r\nAuto-Submitted: auto-replied\r\n\
            Subject: Warning: message 1abc-000 delayed 24 hours\r\n\r\n\
            This message was created automatically by mail delivery software.\r\n\
            A message that you sent has not yet been delivered to one or more of its\r\n\
            recipients after more than 24 hours on the queue on mx.example.net.\r\n\r\n\
            The address to which the message has not yet been delivered is:\r\n\r\n\
              speaker@example.net\r\n\
                host mx.example.net [192.0.2.5.1]\r\n\
                Delay reason: SMTP error from remote mail server after RCPT TO:\r\n\
                450 4.2.0 mailbox temporarily unavailable\r\n\r\n\
            No action is required on your part.\r\n";
        let k = expect_label(exim_delay, "bounce");
        let info = k.bounce().unwrap();
        assert!(!info.hard);
        assert_eq!(info.recipients[0].address, "speaker@example.net");
        assert_eq!(info.recipients[0].status.as_deref(), Some("4.2.0"));
        assert_eq!(info.verp_token.as_deref(), Some("tok2"));
    }

    #[test]
    fn status_codes_are_not_taken_from_ip_addresses() {
        assert_eq!(find_status("host 10.5.1.1 said hi"), None);
        assert_eq!(find_status("192.0.2.153"), None);
        assert_eq!(
            find_status("said: 550 5.1.1 unknown").map(|s| s.0),
            Some("5.1.1".to_string())
        );
        assert_eq!(
            find_status("550-5.7.26 Unauthenticated").map(|s| s.0),
            Some("5.7.26".to_string())
        );
        assert_eq!(
            find_status("said: 550 Unknown user").map(|s| s.0),
            Some("5.0.0".to_string())
        );
        assert_eq!(
            find_status("(#4.4.1)").map(|s| s.0),
            Some("4.4.1".to_string())
        );
        assert_eq!(find_status("version 5.1.1.3"), None);
    }

    #[test]
    fn verp_token_extraction() {
        let parse = |raw: &'static str| MessageParser::default().parse(raw.as_bytes()).unwrap();
        let m = parse(
            "Delivered-To: cfp+b-k3j5mnop@conf.example\r\nTo: x@y.example\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("k3j5mnop")
        );
        // Case of local part and domain does not matter; token kept as found.
        let m = parse("X-Original-To: CFP+b-AbC123@CONF.EXAMPLE\r\nSubject: s\r\n\r\nb");
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("AbC123")
        );
        // Envelope headers win over To.
        let m = parse(
            "To: cfp+b-fromto@conf.example\r\nEnvelope-To: cfp+b-envelope@conf.example\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("envelope")
        );
        // Received "for <...>".
        let m = parse(
            "Received: from mx by in.conf.example with ESMTP id 1\r\n for <cfp+b-rcvd_1@conf.example>; Tue, 2 Apr 2024\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("rcvd_1")
        );
        // Only in the returned original's Return-Path.
        let m = parse("To: someone@else.example\r\nSubject: s\r\n\r\nReturn-Path: <cfp+b-body9@conf.example>\r\n");
        assert_eq!(verp_token(&m, "cfp@conf.example").as_deref(), Some("body9"));
        // Other domains, other local parts, longer domains, plain address: none.
        for raw in [
            "To: cfp+b-x1@conf.example.org\r\nSubject: s\r\n\r\nb",
            "To: cfp+b-x1@other.example\r\nSubject: s\r\n\r\nb",
            "To: xcfp+b-x1@conf.example\r\nSubject: s\r\n\r\nb",
            "To: papers+b-x1@conf.example\r\nSubject: s\r\n\r\nb",
            "To: cfp@conf.example\r\nSubject: s\r\n\r\nb",
            "To: cfp+r-x1@conf.example\r\nSubject: s\r\n\r\nb",
        ] {
            let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
            assert_eq!(verp_token(&m, "cfp@conf.example"), None, "{raw}");
        }
        assert_eq!(
            verp_token(&parse("Subject: s\r\n\r\nb"), "not-an-address"),
            None
        );
        // Round trip with verp_address.
        let addr = verp_address("cfp@conf.example", "k3j5-x_y=").unwrap();
        assert_eq!(addr, "cfp+b-k3j5-x_y=@conf.example");
        let raw = format!("Delivered-To: {addr}\r\nSubject: s\r\n\r\nb");
        let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("k3j5-x_y=")
        );
        assert_eq!(verp_address("cfp@conf.example", ""), None);
        assert_eq!(verp_address("cfp@conf.example", "a@b"), None);
        assert_eq!(verp_address("cfp", "abc"), None);
    }

    #[test]
    fn feedback_and_read_receipts() {
        let arf = "From: feedback@isp.example\r\nTo: abuse@conf.example\r\nSubject: FW: hi\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
            --F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n\
            --F\r\nContent-Type: message/feedback-report\r\n\r\n\
            Feedback-Type: abuse\r\nUser-Agent: Test/1.0\r\nVersion: 1\r\n\r\n\
            --F--\r\n";
        match expect_label(arf, "feedback-report") {
            MachineKind::FeedbackReport { feedback_type, .. } => {
                assert_eq!(feedback_type.as_deref(), Some("abuse"))
            }
            other => panic!("{other:?}"),
        }
        let mdn = "From: ada@example.org\r\nTo: cfp@conf.example\r\nSubject: Read: P-0042\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\r\n\r\n\
            --M\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n\
            --M\r\nContent-Type: message/disposition-notification\r\n\r\n\
            Final-Recipient: rfc822; ada@example.org\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n\
            --M--\r\n";
        let k = expect_label(mdn, "auto-reply");
        assert!(k.reason().contains("disposition"));
        // A bare message/delivery-status part is a bounce even without multipart/report.
        let bare = "From: gateway@example.net\r\nTo: cfp@conf.example\r\nSubject: hello\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
            --X\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; gw.example.net\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\n\
            Action: failed\r\nStatus: 5.2.2\r\n\r\n--X--\r\n";
        let k = expect_label(bare, "bounce");
        assert_eq!(
            k.bounce().unwrap().recipients[0].status.as_deref(),
            Some("5.2.2")
        );
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
