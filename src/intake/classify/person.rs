//! Who wrote the text: the evidence that weighs weak signals (subject words, sender
//! names) against the body, and the test that unreadable mail looks written by a
//! person before cfpd answers it (the help reply is the backscatter path).
//!
//! Machine structure in a body: SMTP status lines (`550 5.1.1 …`, `552-5.2.2`,
//! `<a@b>: host x said: 550 …`), delivery-notice phrases ("The following
//! address(es) failed"), quoted transport headers (`Received:`, `Message-ID:`,
//! `Return-Path:` …), a returned message, and list-manager notices (loops,
//! moderation, non-member posts). None of these appear in a short first-person
//! note; a proposal may quote an error inside its fields, so the text before
//! its first label is what counts there.

use super::*;

/// A line that carries an SMTP reply: the code at the start of the line, or after
/// an address or a "host … said:" preamble, with an enhanced code or a
/// continuation dash, or a basic code followed by reply-like text.
static SMTP_STATUS_LINE: LazyLock<Regex> = LazyLock::new(|| re(SMTP_PAT));
const SMTP_PAT: &str = concat!(
    r"(?im)^[ \t]*(?:[-*>|]\s*)?(?:",
    // An address, a "host … said:" or an "error:" label, then a reply code.
    r"(?:(?:<?[^\s<>@]+@[^\s<>:]+>?|\([^)]{0,80}\))[ \t]*[:.,]*[ \t]*",
    r"(?:(?:remote |the )?(?:host|server|mx|smtp|mail server)\b.{0,160}?(?:said|says|replied|responded|answered|returned|reported)\s*:?\s*",
    r"|(?:smtp |remote )?(?:error|response|reply|diagnostic(?:-code)?|status|reason)\s*:\s*(?:smtp\s*;\s*)?)?)",
    r"|(?:(?:remote |the )?(?:host|server|mx|smtp|mail server)\b.{0,160}?(?:said|says|replied|responded|answered|returned|reported)\s*:?\s*",
    r"|(?:smtp |remote )?(?:error|response|reply|diagnostic(?:-code)?|status|reason)\s*:\s*(?:smtp\s*;\s*)?)",
    r")[\[(\x22']?[45][0-5]\d(?:[ -]#?[245]\.\d{1,3}\.\d{1,3}\b|-\S|[ \t]+[^\s\d])",
    // Or a bare reply code with an enhanced status at the start of a line.
    r"|^[ \t]*[\[(\x22']?[45][0-5]\d[ -]#?[245]\.\d{1,3}\.\d{1,3}\b",
);

/// A status pair `550 5.1.1` / `552-5.2.2` anywhere on a line (mid-sentence quotes
/// included); counts as machine evidence only outside a proposal's fields.
static STATUS_PAIR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^\d.])[45][0-5]\d[ -]#?[45]\.\d{1,3}\.\d{1,3}(?:$|[^\d.])"));

/// Delivery-notice phrases beyond the fixed ones of [`BOUNCE_BODY`].
static DELIVERY_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:the following (?:address(?:\(es\)|es)?|recipients?(?:\(s\))?|destination addresses?) (?:failed|had (?:permanent )?(?:fatal )?errors|could not be reached)",
        r"|(?:your|this|the) message (?:to .{0,120}? )?(?:could not|couldn't|cannot|can't|was not|wasn't) (?:be )?delivered",
        r"|(?:was|were) not delivered to|delivery to .{0,120}? (?:has )?failed|permanent(?:ly)? (?:delivery )?failure",
        r"|(?:message|mail) (?:was |has been )?(?:rejected|refused|returned) by|undeliverable (?:message|mail) (?:returned|follows)",
        r"|unable to deliver (?:your|the|this) message|delivery (?:attempts?|retries) (?:will continue|exhausted|failed)",
        r"|reporting-mta:|remote-mta:|final-recipient:|action:\s*failed|x-postfix-queue-id|smtp error from remote mail server",
        r")",
    ))
});

/// List-manager notices: loops, moderation, posting refused.
static LIST_MANAGER_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:mail(?:ing)? loop|loop (?:was )?detected|looping (?:message|mail)|detected a (?:possible )?loop",
        r"|(?:held|waiting|awaiting|queued) (?:for|until) (?:the )?(?:list )?moderat|requires? (?:the )?moderator|post(?:ing)? (?:by|from) (?:a )?non-?member",
        r"|not (?:a )?(?:member|subscriber) of (?:the|this) (?:list|group)|not allowed to post|no permission to post",
        r"|(?:list|group) (?:owner|administrator|moderator)s? (?:will|must|has|have)|message (?:to|for) the list .{0,80}? (?:rejected|held|bounced)",
        r"|google groups? (?:team|couldn't|could not|tried)",
        r"|\bx-(?:loop|mailman-[a-z-]+|beenthere|listserver|list-[a-z-]+)\s*:",
        r")",
    ))
});

/// Transport headers that people do not write, quoted in a body.
static QUOTED_TRANSPORT_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^[ \t>]*(?:received|message-id|return-path|delivered-to|dkim-signature|arc-seal|x-originating-ip|x-mailer|mime-version|content-transfer-encoding|x-ms-exchange-[a-z-]+|authentication-results|received-spf|x-spam-[a-z-]+|x-google-[a-z-]+|x-original-to)[ \t]*:",
    )
});

/// First-person or addressed writing: a person wrote this.
static FIRST_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:^|[^\p{L}])(?:i|i'm|i’m|i've|i'd|i'll|my|me|we|we're|our|us|hi|hello|hey|dear|thanks|thank you|cheers|regards|best)(?:$|[^\p{L}])",
    )
});

/// What machine structure `text` shows, if any (see the module docs).
pub(super) fn machine_text(text: &str) -> Option<String> {
    let own = own_text(text);
    if let Some(m) = SMTP_STATUS_LINE.find(&own) {
        return Some(format!("SMTP status line \"{}\"", clip(m.as_str().trim())));
    }
    if let Some(m) = STATUS_PAIR.find(&own) {
        return Some(format!("SMTP status \"{}\"", clip(m.as_str().trim())));
    }
    if let Some(m) = BOUNCE_BODY.find(&own).or_else(|| DELIVERY_TEXT.find(&own)) {
        return Some(format!("delivery notice \"{}\"", clip(m.as_str().trim())));
    }
    if let Some(m) = LIST_MANAGER_TEXT.find(&own) {
        return Some(format!(
            "list-manager notice \"{}\"",
            clip(m.as_str().trim())
        ));
    }
    let quoted = QUOTED_TRANSPORT_HEADER.find_iter(text).count();
    if quoted >= 2 {
        return Some(format!("{quoted} quoted transport headers"));
    }
    if ORIGINAL_SEPARATOR.is_match(&own) && quoted >= 1 {
        return Some("a returned message with its headers".into());
    }
    None
}

/// The text as its writer typed it: `>` quotes dropped, bounded in size.
fn own_text(text: &str) -> String {
    let end = floor_char_boundary(text, text.len().min(MAX_TEXT_SCAN));
    let mut out = String::new();
    for line in text.get(..end).unwrap_or_default().lines() {
        if !line.trim_start().starts_with('>') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A system mailbox: daemons, list managers, bounce and no-reply addresses.
pub(super) fn is_system_address(addr: &str) -> bool {
    let l = local_part(addr);
    let base = l.split('+').next().unwrap_or_default();
    is_mailer_daemon(addr)
        || is_postmaster(addr)
        || is_noreply(addr)
        || is_bounce_address(addr)
        || base.starts_with("owner-")
        || base.ends_with("-owner")
        || base.ends_with("-request")
        || base.ends_with("-admin")
        || matches!(
            base,
            "listserv" | "majordomo" | "sympa" | "mailman" | "ezmlm" | "lyris" | "listmaster"
        )
}

/// Whether `text` reads as a proposal a person typed: labelled fields, and no
/// machine structure before the first label (a notice that returns a proposal
/// puts its own text first).
pub(super) fn reads_as_proposal(text: &str) -> bool {
    let rules = crate::proposal::ProposalRules {
        required: Vec::new(),
        formats: Vec::new(),
        audiences: Vec::new(),
        word_limits: Vec::new(),
        max_message_bytes: usize::MAX,
        reply_token_days: 365,
        custom: vec![],
    };
    let end = floor_char_boundary(text, text.len().min(MAX_TEXT_SCAN));
    let text = text.get(..end).unwrap_or_default();
    let parsed = crate::proposal::parse(text, &rules);
    if parsed.labels_found < 2 || parsed.fields.count_given() < 2 {
        return false;
    }
    let preamble = preamble(text);
    machine_text(preamble).is_none() && !ORIGINAL_SEPARATOR.is_match(preamble)
}

/// The text before the first line that starts with a proposal label.
fn preamble(text: &str) -> &str {
    static LABEL: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?im)^[ \t#*]*(?:title|talk title|proposal title|session title|abstract|summary|format|audience|description|topics|bio|speaker bio)[ \t*]*:",
        )
    });
    match LABEL.find(text) {
        Some(m) => text.get(..m.start()).unwrap_or_default(),
        None => text,
    }
}

/// Why unreadable mail does not look written by a person (`None`: it does, and may
/// be answered with the help text). `from` is the sender address; `text` the body.
pub fn not_written_by_person(from: Option<&str>, text: &str) -> Option<String> {
    match from {
        None => return Some("no sender".into()),
        Some(a) if is_system_address(a) => return Some(format!("system sender {a}")),
        Some(_) => {}
    }
    text_not_personal(text)
}

/// Why `text` does not read as a person's note, whoever sent it.
pub(super) fn text_not_personal(text: &str) -> Option<String> {
    if let Some(why) = machine_text(text) {
        return Some(why);
    }
    let own = own_text(text);
    let words = own.split_whitespace().count();
    if words > 250 && !FIRST_PERSON.is_match(&own) {
        return Some(format!("{words} words with no first-person line"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        if let Err(e) = Regex::new(SMTP_PAT) {
            panic!("{e}");
        }
        for p in [
            &*SMTP_STATUS_LINE,
            &*STATUS_PAIR,
            &*DELIVERY_TEXT,
            &*LIST_MANAGER_TEXT,
            &*QUOTED_TRANSPORT_HEADER,
            &*FIRST_PERSON,
        ] {
            assert_ne!(p.as_str(), r"[^\s\S]");
        }
        for p in [SMTP_PAT] {
            if let Err(e) = Regex::new(p) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn carrier_notices_and_list_alerts_are_not_personal() {
        for text in [
            "Your message could not be sent.\n\nrecipient: bob@x.example\n550 5.1.1 User unknown\n",
            "Delivery to bob@x.example failed.\nServer said: 552-5.2.2 mailbox full\n",
            "<bob@x.example>: host mx.x.example[192.0.2.1] said: 550 no such user\n",
            "The following address(es) failed:\n\n  bob@x.example\n",
            "Mailman has detected a mail loop for the list talks@lists.example.\n",
            "Your post to devs is being held until the list moderator can review it.\n",
            "Notice.\nReceived: from mx.example\nMessage-ID: <a@b>\n",
        ] {
            assert!(
                not_written_by_person(Some("alerts@carrier.example"), text).is_some(),
                "{text}"
            );
        }
        assert!(not_written_by_person(Some("MAILER-DAEMON@x.example"), "hi").is_some());
        assert!(not_written_by_person(Some("devs-owner@lists.example"), "hi").is_some());
    }

    #[test]
    fn short_notes_by_people_are_personal() {
        for text in [
            "Can I speak at your conference?\n",
            "Hello,\n450 people came last year.\n500 of them want a talk on mail.\n",
            "Hi, what is the deadline? My talk got a 550 error last time, sorry.\n",
            "",
            "help\n",
            "-----Original Message-----\nFrom: Ann\nSent: Monday\nTo: cfp\nSubject: x\n",
        ] {
            assert_eq!(
                not_written_by_person(Some("ann@example.org"), text),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn a_proposal_quoting_an_error_reads_as_one_but_a_returned_one_does_not() {
        let p = "Hi,\n\nTitle: When mail says 550 5.1.1\nFormat: talk-25\nAbstract:\n\
                 Received: headers and 550 5.1.1 User unknown, explained.\n";
        assert!(reads_as_proposal(p));
        let bounce = "This is the mail system at host mx.example.\n\n<a@b.example>: 550 5.1.1\n\n\
                      Title: x\nFormat: talk-25\n";
        assert!(!reads_as_proposal(bounce));
    }
}
