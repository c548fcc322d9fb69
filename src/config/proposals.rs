//! `[proposals]` and `[limits]`: what makes a proposal complete, which
//! attachments are refused, and how cfpd keeps from flooding anyone.

use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;
use crate::proposal::{ProposalRules, PROPOSAL_FIELDS};

/// Attachment limits (`[proposals] max_attachments`, `max_attachment_bytes`,
/// `blocked_attachment_extensions`), for every mail a person sends.
#[derive(Debug, Clone)]
pub struct AttachmentLimits {
    /// At most this many attachments per mail (inline signature images count);
    /// more is refused with a reply naming the limit.
    pub max_attachments: usize,
    /// At most this many bytes per attachment (decoded).
    pub max_attachment_bytes: usize,
    /// File name extensions (lower case, no dot) refused as attachments:
    /// executables and scripts, which a mail archive should never hold.
    pub blocked_attachment_extensions: Vec<String>,
}

/// Flood protection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Automatic replies to one address per 24 hours, at most.
    pub replies_per_address_per_day: u32,
    /// "Your review form could not be read" replies to one reviewer per 24 hours, at most:
    /// a reviewer whose client mangles the form gets a few clear answers, not a flood.
    pub review_help_per_day: u32,
    /// Automatic replies to mail within one conversation (mail with References or
    /// In-Reply-To, keyed by the root) per 24 hours, at most, besides the answer to the mail
    /// that started it: two auto-responders that strip RFC 3834 headers cannot ping-pong.
    pub replies_per_thread_per_day: u32,
    /// Global circuit breaker: when this many automatic replies to conversation mail (mail
    /// that answers an earlier mail) were queued within `circuit_breaker_minutes`, cfpd stops
    /// automatic replies (it keeps recording everything) and alerts the chairs once. First
    /// contact (new proposals) does not count, so a legitimate backlog never trips it.
    pub circuit_breaker_replies: u32,
    /// The circuit breaker's window, in minutes; it closes by itself once the window holds
    /// fewer replies again.
    pub circuit_breaker_minutes: u32,
    /// Soft bounces (4.x.x, delays) of this many distinct mails make an address undeliverable,
    /// like one hard bounce (5.x.x) does.
    pub soft_bounce_threshold: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProposals {
    #[serde(default = "default_required")]
    pub(super) required: Vec<String>,
    #[serde(default = "default_formats")]
    pub(super) formats: Vec<String>,
    #[serde(default = "default_audiences")]
    pub(super) audiences: Vec<String>,
    #[serde(default = "default_word_limits")]
    pub(super) word_limits: toml::Table,
    #[serde(default = "default_max_bytes")]
    pub(super) max_message_bytes: usize,
    #[serde(default = "default_max_attachments")]
    pub(super) max_attachments: usize,
    #[serde(default = "default_max_attachment_bytes")]
    pub(super) max_attachment_bytes: usize,
    #[serde(default = "default_blocked_extensions")]
    pub(super) blocked_attachment_extensions: Vec<String>,
    #[serde(default = "default_reply_token_days")]
    pub(super) reply_token_days: u32,
    /// `[[proposals.fields]]`: the conference's own questions.
    #[serde(default)]
    pub(super) fields: Vec<super::fields::RawField>,
}

/// A year: a speaker can withdraw or confirm a talk until the conference is
/// long over, and no longer.
fn default_reply_token_days() -> u32 {
    365
}

fn default_max_attachments() -> usize {
    10
}

fn default_max_attachment_bytes() -> usize {
    1024 * 1024
}

fn default_blocked_extensions() -> Vec<String> {
    [
        "exe", "com", "scr", "pif", "bat", "cmd", "msi", "dll", "js", "jse", "vbs", "vbe", "wsf",
        "hta", "ps1", "jar", "lnk", "iso", "img", "apk", "app", "dmg",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for RawProposals {
    fn default() -> Self {
        RawProposals {
            required: default_required(),
            formats: default_formats(),
            audiences: default_audiences(),
            word_limits: default_word_limits(),
            max_message_bytes: default_max_bytes(),
            max_attachments: default_max_attachments(),
            max_attachment_bytes: default_max_attachment_bytes(),
            blocked_attachment_extensions: default_blocked_extensions(),
            reply_token_days: default_reply_token_days(),
            fields: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    #[serde(default = "default_reply_cap")]
    pub(super) replies_per_address_per_day: u32,
    #[serde(default = "default_review_help_cap")]
    pub(super) review_help_per_day: u32,
    #[serde(default = "default_thread_cap")]
    pub(super) replies_per_thread_per_day: u32,
    #[serde(default = "default_breaker_replies")]
    pub(super) circuit_breaker_replies: u32,
    #[serde(default = "default_breaker_minutes")]
    pub(super) circuit_breaker_minutes: u32,
    #[serde(default = "default_soft_bounces")]
    pub(super) soft_bounce_threshold: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            replies_per_address_per_day: default_reply_cap(),
            review_help_per_day: default_review_help_cap(),
            replies_per_thread_per_day: default_thread_cap(),
            circuit_breaker_replies: default_breaker_replies(),
            circuit_breaker_minutes: default_breaker_minutes(),
            soft_bounce_threshold: default_soft_bounces(),
        }
    }
}

fn default_thread_cap() -> u32 {
    10
}

fn default_breaker_replies() -> u32 {
    300
}

fn default_breaker_minutes() -> u32 {
    10
}

fn default_soft_bounces() -> u32 {
    3
}

fn default_review_help_cap() -> u32 {
    3
}

fn default_required() -> Vec<String> {
    ["title", "format", "audience", "abstract", "description"]
        .map(String::from)
        .to_vec()
}

fn default_formats() -> Vec<String> {
    ["talk-25", "talk-45", "tutorial"]
        .map(String::from)
        .to_vec()
}

fn default_audiences() -> Vec<String> {
    ["beginner", "intermediate", "advanced"]
        .map(String::from)
        .to_vec()
}

fn default_word_limits() -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("title".into(), toml::Value::Integer(25));
    t.insert("abstract".into(), toml::Value::Integer(300));
    t.insert("description".into(), toml::Value::Integer(2000));
    t
}

fn default_max_bytes() -> usize {
    2 * 1024 * 1024
}

fn default_reply_cap() -> u32 {
    20
}

/// Validate `[proposals]`: known field names, at least one format and
/// audience, positive word limits, a sane message size; and the attachment limits.
pub(super) fn proposals(
    loc: &Locator<'_>,
    p: &RawProposals,
    blind: bool,
) -> Result<(ProposalRules, AttachmentLimits), ConfigError> {
    for f in &p.required {
        if !PROPOSAL_FIELDS.contains(&f.as_str()) {
            return Err(loc.err(
                "proposals",
                "required",
                &format!(
                    "unknown field {f:?}; fields are: {}",
                    PROPOSAL_FIELDS.join(", ")
                ),
            ));
        }
    }
    if p.formats.is_empty() {
        return Err(loc.err("proposals", "formats", "list at least one format"));
    }
    if p.audiences.is_empty() {
        return Err(loc.err("proposals", "audiences", "list at least one audience"));
    }
    let mut word_limits = Vec::new();
    for (k, v) in &p.word_limits {
        if !PROPOSAL_FIELDS.contains(&k.as_str()) {
            return Err(loc.err(
                "proposals.word_limits",
                k,
                &format!("unknown field; fields are: {}", PROPOSAL_FIELDS.join(", ")),
            ));
        }
        let n = v
            .as_integer()
            .filter(|n| *n > 0)
            .ok_or_else(|| loc.err("proposals.word_limits", k, "expected a positive number"))?;
        word_limits.push((k.clone(), n as usize));
    }
    if p.max_message_bytes < 4096 {
        return Err(loc.err("proposals", "max_message_bytes", "must be at least 4096"));
    }
    if !(1..=3650).contains(&p.reply_token_days) {
        return Err(loc.err(
            "proposals",
            "reply_token_days",
            "must be between 1 and 3650 (days a speaker's reply address works)",
        ));
    }
    let rules = ProposalRules {
        required: p.required.clone(),
        formats: p.formats.iter().map(|s| s.to_ascii_lowercase()).collect(),
        audiences: p.audiences.iter().map(|s| s.to_ascii_lowercase()).collect(),
        word_limits,
        max_message_bytes: p.max_message_bytes,
        reply_token_days: p.reply_token_days,
        custom: super::fields::fields(loc, &p.fields, blind)?,
    };
    let attachments = AttachmentLimits {
        max_attachments: p.max_attachments,
        max_attachment_bytes: p.max_attachment_bytes,
        blocked_attachment_extensions: p
            .blocked_attachment_extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect(),
    };
    Ok((rules, attachments))
}

/// Validate `[limits]`: every threshold at least 1.
pub(super) fn limits(loc: &Locator<'_>, l: &RawLimits) -> Result<Limits, ConfigError> {
    for (key, v) in [
        ("circuit_breaker_replies", l.circuit_breaker_replies),
        ("circuit_breaker_minutes", l.circuit_breaker_minutes),
        ("soft_bounce_threshold", l.soft_bounce_threshold),
        ("replies_per_thread_per_day", l.replies_per_thread_per_day),
    ] {
        if v == 0 {
            return Err(loc.err("limits", key, "must be at least 1"));
        }
    }
    Ok(Limits {
        replies_per_address_per_day: l.replies_per_address_per_day,
        review_help_per_day: l.review_help_per_day,
        replies_per_thread_per_day: l.replies_per_thread_per_day,
        circuit_breaker_replies: l.circuit_breaker_replies,
        circuit_breaker_minutes: l.circuit_breaker_minutes,
        soft_bounce_threshold: l.soft_bounce_threshold,
    })
}
