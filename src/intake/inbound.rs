//! Parsing raw bytes into what intake needs to know about a message.
//!
//! Parsing runs behind `catch_unwind`: mail-parser has panicked on crafted
//! input in the past, and one hostile message must not take the daemon down.
//! A message that cannot be parsed is quarantined, never answered.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use super::classify::{self, MachineKind, OwnIdentity};

/// A sender or recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Normalised address: local part exactly as written, domain lower-cased
    /// and IDNA-encoded (`xn--…`). Two addresses are the same only if these
    /// strings are equal: no Unicode folding, so look-alikes never match.
    pub address: String,
    /// Display name, if any (control characters removed).
    pub name: Option<String>,
}

/// One attachment of a message (never opened, only measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name, if the sender gave one (control characters removed).
    pub name: Option<String>,
    /// MIME type, lower case (`application/pdf`).
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// What intake reads from a message.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// The (first) From address; informational, never an authorization by itself.
    pub from: Option<Mailbox>,
    /// Every address the message was sent to: To, Cc, Delivered-To, X-Original-To.
    pub recipients: Vec<String>,
    /// Subject (empty when absent).
    pub subject: String,
    /// The text/plain body, if the message has one.
    pub text: Option<String>,
    /// The text/html body, if the message has one.
    pub html: Option<String>,
    /// In-Reply-To, for threading our answer (never for routing).
    pub in_reply_to: Option<String>,
    /// References, for threading our answer.
    pub references: Vec<String>,
    /// Set when a machine wrote it (bounce, auto-reply, list, our own mail).
    pub machine: Option<MachineKind>,
    /// Number of attachments.
    pub attachments: usize,
    /// Every attachment: file name, MIME type and decoded size.
    pub attachment_list: Vec<Attachment>,
    /// `Authentication-Results` header values, top first (see [`super::classify::authres`]).
    pub auth_results: Vec<String>,
}

impl Inbound {
    /// The body as readable text: the text/plain part, or the HTML part converted.
    pub fn body_text(&self) -> String {
        match (&self.text, &self.html) {
            (Some(t), _) => t.clone(),
            (None, Some(h)) => crate::mailtext::html::to_text(h),
            (None, None) => String::new(),
        }
    }

    /// What the person wrote in a reply: quotes and signatures removed.
    pub fn reply_text(&self) -> String {
        match (&self.text, &self.html) {
            (Some(t), _) => crate::mailtext::trim::trim_reply(t).kept,
            (None, Some(h)) => crate::mailtext::trim::trim_html_reply(h).kept,
            (None, None) => String::new(),
        }
    }
}

/// Normalise an address: domain lower-cased and IDNA-encoded, local part kept exact.
/// Returns `None` for anything that is not `local@domain`.
pub fn normalize_address(a: &str) -> Option<String> {
    let a = a.trim();
    let (local, domain) = a.rsplit_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || a.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    let ascii = idna::domain_to_ascii(domain).ok()?;
    if ascii.is_empty() {
        return None;
    }
    if !domain.is_ascii() && idna::domain_to_unicode(&ascii).0 != domain.to_lowercase() {
        // IDNA's mapping folded look-alikes into other characters (full-width
        // `ｅ` → `e`): keep the domain as written, so it never equals the
        // address it imitates.
        return Some(format!("{local}@{}", domain.to_lowercase()));
    }
    Some(format!("{local}@{ascii}"))
}

/// The one mailbox a From header names, or `None` (the mail then has no
/// usable sender: stored, never answered) when the header names none or
/// several, or when what the parser made of it is not written in the header.
/// mail-parser is lenient on purpose: it joins `<a@x> <b@y>` into the one
/// address `a@xb@y` and reads `<script>…</script> <x@y>` as `script/scriptx@y`.
/// Answering such an address would write to someone who never wrote, and
/// store a speaker no one is; the header itself is the only witness, so the
/// address must appear in it verbatim and be its only angle-bracketed one.
fn sender(parsed: Option<&Address<'_>>, raw: &str) -> Option<Mailbox> {
    let parsed = parsed?;
    let mut all = parsed.iter();
    let a = all.next()?;
    if all.next().is_some() || angle_addresses(raw) > 1 {
        return None;
    }
    let written = a.address()?;
    if !addr_spec_shaped(written) || !contains_lowercased(raw, written) {
        return None;
    }
    let address = normalize_address(written)?;
    let name = a
        .name()
        .map(crate::outbox::one_line)
        // A display name that is itself an address claims a second identity
        // (`victim@v.example <attacker@a.example>`): keep the address alone.
        .filter(|n| !n.is_empty() && !n.contains('@'));
    Some(Mailbox { address, name })
}

/// Whether `haystack.to_lowercase()` contains `needle.to_lowercase()`, without
/// lower-casing copies when both are ASCII (then it is a byte-wise comparison
/// ignoring ASCII case).
fn contains_lowercased(haystack: &str, needle: &str) -> bool {
    if !(haystack.is_ascii() && needle.is_ascii()) {
        return haystack.to_lowercase().contains(&needle.to_lowercase());
    }
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// How many `<…@…>` groups a raw address header holds outside quoted strings
/// and comments.
fn angle_addresses(raw: &str) -> usize {
    let (mut quoted, mut escaped, mut comment) = (false, false, 0usize);
    let (mut open, mut at, mut n) = (false, false, 0);
    for c in raw.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            _ if quoted || comment > 0 => {}
            '<' => (open, at) = (true, false),
            '@' if open => at = true,
            '>' if open => {
                n += usize::from(at);
                open = false;
            }
            _ => {}
        }
    }
    n
}

/// Whether `a` is shaped like `local@domain` as RFC 5322 (with RFC 6531's
/// UTF-8) writes it unquoted: one `@`, a dot-atom local part, a domain of
/// letter/digit/hyphen labels. A quoted local part is refused too: mail-parser
/// does not hand it back whole, and no speaker needs one.
fn addr_spec_shaped(a: &str) -> bool {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    let atom = |s: &str, ok: &dyn Fn(char) -> bool| !s.is_empty() && s.chars().all(ok);
    local.split('.').all(|p| {
        atom(p, &|c| {
            c.is_alphanumeric() || ATEXT.contains(c) || (!c.is_ascii() && !c.is_control())
        })
    }) && domain.split('.').all(|l| {
        atom(l, &|c| {
            c.is_alphanumeric() || c == '-' || (!c.is_ascii() && !c.is_control())
        }) && !l.starts_with('-')
            && !l.ends_with('-')
    })
}

/// Whether two addresses name the same mailbox, for authorization: domains compared after
/// IDNA lower-casing, local parts compared exactly (no case or Unicode folding), so
/// `Ada@Example.ORG` is `Ada@example.org` but neither `ada@example.org` nor a look-alike
/// with a Cyrillic letter. Anything that is not an address matches nothing.
pub fn same_address(a: &str, b: &str) -> bool {
    match (normalize_address(a), normalize_address(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn addresses(a: Option<&Address<'_>>, out: &mut Vec<String>) {
    if let Some(a) = a {
        for addr in a.iter() {
            if let Some(s) = addr.address().and_then(normalize_address) {
                out.push(s);
            }
        }
    }
}

fn header_texts(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        HeaderValue::Address(a) => a
            .iter()
            .filter_map(|x| x.address().map(String::from))
            .collect(),
        _ => vec![],
    }
}

/// Why raw bytes could not be read as a message (the message is quarantined).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not mail at all (no headers, not MIME).
    #[error("not a parseable mail message")]
    NotMail,
    /// mail-parser panicked on it (the panic's text).
    #[error("the mail parser failed on this message: {0}")]
    ParserPanicked(String),
}

/// Parse raw bytes. `Err` says why when the bytes are not a message or the parser
/// panicked.
pub fn parse(raw: &[u8], own: &OwnIdentity) -> Result<Inbound, ParseError> {
    let r = std::panic::catch_unwind(|| parse_inner(raw, own));
    match r {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(ParseError::NotMail),
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(ParseError::ParserPanicked(what))
        }
    }
}

fn parse_inner(raw: &[u8], own: &OwnIdentity) -> Option<Inbound> {
    let msg = MessageParser::default().parse(raw)?;
    // A message needs at least one header to be mail at all.
    if msg.headers().is_empty() {
        return None;
    }
    let from = sender(msg.from(), msg.header_raw("From").unwrap_or(""));
    let mut recipients = Vec::new();
    addresses(msg.to(), &mut recipients);
    addresses(msg.cc(), &mut recipients);
    for h in ["Delivered-To", "X-Original-To"] {
        for v in msg.header_values(h) {
            for t in header_texts(v) {
                if let Some(a) = normalize_address(t.trim().trim_matches(|c| c == '<' || c == '>'))
                {
                    recipients.push(a);
                }
            }
        }
    }
    recipients.dedup();
    let text = match msg.text_part(0).map(|p| &p.body) {
        Some(PartType::Text(t)) => Some(t.to_string()),
        _ => None,
    };
    let html = match msg.html_part(0).map(|p| &p.body) {
        Some(PartType::Html(h)) => Some(h.to_string()),
        _ => None,
    };
    // A multipart message whose closing boundary is missing leaves its text part
    // undecoded among the attachments (or the whole body in the multipart itself):
    // read it from that part's own bytes rather than call a readable mail empty.
    let recovered = if text.is_none() && html.is_none() {
        recover_text(&msg)
    } else {
        None
    };
    let (text, recovered_part) = match recovered {
        Some((t, part)) => (Some(t), part),
        None => (text, None),
    };
    let in_reply_to = header_texts(msg.in_reply_to()).into_iter().next();
    let references = header_texts(msg.references());
    Some(Inbound {
        message_id: msg
            .message_id()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        from,
        recipients,
        subject: msg
            .subject()
            .map(crate::outbox::one_line)
            .unwrap_or_default(),
        text,
        html,
        in_reply_to,
        references,
        machine: classify::classify(&msg, own),
        attachments: msg.attachment_count() - usize::from(recovered_part.is_some()),
        attachment_list: msg
            .attachments()
            .filter(|a| recovered_part.is_none_or(|p| !std::ptr::eq(*a, &msg.parts[p])))
            .map(|a| Attachment {
                name: a
                    .attachment_name()
                    .map(crate::outbox::one_line)
                    .filter(|n| !n.is_empty()),
                content_type: a
                    .content_type()
                    .map(|c| {
                        format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream"))
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: a.contents().len(),
            })
            .collect(),
        auth_results: msg
            .header_values("Authentication-Results")
            .flat_map(header_texts)
            .collect(),
    })
}

/// The readable text of a message whose MIME structure is broken (a missing closing
/// boundary): the first part that is text and not declared an attachment, decoded from its
/// own header and body bytes, or a multipart container's body that mail-parser kept as
/// text because no part boundary was found. Returns the text and, when it came from a part
/// mail-parser counted as an attachment, that part's index.
fn recover_text(msg: &mail_parser::Message<'_>) -> Option<(String, Option<usize>)> {
    let raw = msg.raw_message();
    for (i, part) in msg.parts.iter().enumerate() {
        let declared_attachment = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        if declared_attachment {
            continue;
        }
        let ctype = part.content_type();
        let is_multipart = ctype.is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
        if is_multipart {
            if let PartType::Text(t) = &part.body {
                if !t.trim().is_empty() {
                    return Some((t.to_string(), None));
                }
            }
            continue;
        }
        let is_text = ctype.is_none_or(|c| c.ctype().eq_ignore_ascii_case("text"));
        if !is_text {
            continue;
        }
        let bytes = raw.get(part.offset_header as usize..part.offset_end as usize)?;
        let Some(alone) = MessageParser::default().parse(bytes) else {
            continue;
        };
        let text = match (alone.text_part(0), alone.html_part(0)) {
            (Some(p), _) if matches!(p.body, PartType::Text(_)) => match &p.body {
                PartType::Text(t) => t.to_string(),
                _ => continue,
            },
            (_, Some(p)) => match &p.body {
                PartType::Html(h) => crate::mailtext::html::to_text(h),
                _ => continue,
            },
            _ => continue,
        };
        if !text.trim().is_empty() {
            return Some((text, Some(i)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_from_header_that_names_several_mailboxes_or_an_unwritten_one_has_no_sender() {
        let own = OwnIdentity::new("cfp@conf.example");
        let from = |h: &str| {
            let raw =
                format!("From: {h}\r\nTo: cfp@conf.example\r\nSubject: x\r\n\r\nTitle: x\r\n");
            parse(raw.as_bytes(), &own).unwrap().from
        };
        for bad in [
            "<victim@v.example> <attacker@a.example>",
            "<script>alert(1)</script> <xss@sql.example>",
            "Ann <ann@x.example> <bob@y.example>",
            "Ann <ann@x.example>, Bob <bob@y.example>",
            "a@b.example@c.example",
            "\"a b\"@x.example",
            "undisclosed-recipients:;",
        ] {
            assert_eq!(from(bad), None, "{bad}");
        }
        for (good, address, name) in [
            ("Ann Lee <ann@x.example>", "ann@x.example", Some("Ann Lee")),
            ("ann@x.example (Ann)", "ann@x.example", Some("Ann")),
            // Unclosed, but one address, written whole.
            ("Ann <ann@x.example", "ann@x.example", Some("Ann")),
            ("<ann@X.Example>", "ann@x.example", None),
            (
                "\"Lee, Ann <ann@x.example>\" <ann@x.example>",
                "ann@x.example",
                None,
            ),
            (
                "\"<script>\" <xss@sql.example>",
                "xss@sql.example",
                Some("<script>"),
            ),
            (
                "victim@v.example <attacker@a.example>",
                "attacker@a.example",
                None,
            ),
            (
                "Zoë <zoë@bücher.example>",
                "zoë@xn--bcher-kva.example",
                Some("Zoë"),
            ),
        ] {
            let got = from(good).unwrap_or_else(|| panic!("{good}"));
            assert_eq!(got.address, address, "{good}");
            assert_eq!(got.name.as_deref(), name, "{good}");
        }
    }

    #[test]
    fn the_ascii_containment_test_is_the_lowercased_one() {
        for (h, n) in [
            ("Ann <Ann@X.example>", "ann@x.example"),
            ("Ann <ann@x.example>", "ANN@X.EXAMPLE"),
            ("<a@b>", "a@bc"),
            ("", ""),
            ("x", ""),
            ("", "x"),
            ("Zoë <zoë@bücher.example>", "ZOË@BÜCHER.example"),
            ("<trac\u{212a}@x.example>", "track@x.example"),
        ] {
            let slow = h.to_lowercase().contains(&n.to_lowercase());
            assert_eq!(contains_lowercased(h, n), slow, "{h:?} {n:?}");
        }
    }

    #[test]
    fn addresses_normalise_domain_only() {
        assert_eq!(
            normalize_address("Ada.L@Example.ORG").as_deref(),
            Some("Ada.L@example.org")
        );
        assert_eq!(
            normalize_address("ada@bücher.example").as_deref(),
            Some("ada@xn--bcher-kva.example")
        );
        // A Cyrillic "а" in the local part stays different from the Latin one.
        assert_ne!(
            normalize_address("аda@example.org"),
            normalize_address("ada@example.org")
        );
        // Full-width and other compatibility characters are not folded away.
        assert_ne!(
            normalize_address("ada@\u{ff45}xample.org"),
            normalize_address("ada@example.org")
        );
        assert_ne!(
            normalize_address("\u{ff41}da@example.org"),
            normalize_address("ada@example.org")
        );
        // Greek alpha and Cyrillic a in the domain are different domains.
        assert_ne!(
            normalize_address("ada@ex\u{03b1}mple.org"),
            normalize_address("ada@example.org")
        );
        assert_ne!(
            normalize_address("ada@ex\u{0430}mple.org"),
            normalize_address("ada@example.org")
        );
        assert_eq!(normalize_address("no-at-sign"), None);
        assert_eq!(normalize_address("a b@example.org"), None);
    }

    #[test]
    fn same_address_folds_the_domain_only() {
        assert!(same_address("rita@CS.Uni.EDU", "rita@cs.uni.edu"));
        assert!(same_address(
            "rita@bücher.example",
            "rita@XN--BCHER-KVA.example"
        ));
        assert!(same_address(" rita@x.org ", "rita@x.org"));
        assert!(
            !same_address("Rita@x.org", "rita@x.org"),
            "local part is exact"
        );
        assert!(
            !same_address("rіta@x.org", "rita@x.org"),
            "Cyrillic і is not i"
        );
        assert!(!same_address("rita@x.org", "rita@x.org.evil.example"));
        assert!(!same_address("", ""), "nothing matches nothing");
        assert!(!same_address("not an address", "not an address"));
    }

    #[test]
    fn html_only_and_charsets_decode() {
        let own = OwnIdentity::new("cfp@conf.example");
        let raw = b"From: =?ISO-8859-1?Q?Jos=E9?= <jose@example.org>\r\nTo: cfp@conf.example\r\nSubject: =?Shift_JIS?B?g2WDWINn?=\r\nMessage-ID: <a@b>\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Title: Caf=E9 Django</p>\r\n";
        let m = parse(raw, &own).unwrap();
        assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("José"));
        assert_eq!(m.subject, "テスト");
        assert!(m.text.is_none());
        assert!(
            m.body_text().contains("Title: Café Django"),
            "{}",
            m.body_text()
        );
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
        assert!(m.machine.is_none());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let own = OwnIdentity::new("cfp@conf.example");
        assert!(parse(b"", &own).is_err());
        let _ = parse(&[0xff, 0x00, b'\n', b':'], &own);
    }

    #[test]
    fn a_missing_closing_boundary_keeps_the_text_readable() {
        let own = OwnIdentity::new("cfp@conf.example");
        let head = "From: a@b.org\r\nTo: cfp@conf.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n";
        for body in [
            "preamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTitle: T=C3=A9\r\nAbstract: A\r\n",
            "--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\nVGl0bGU6IFTpDQpBYnN0cmFjdDogQQ0K\r\n",
            "--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Title: T\u{e9}</p><p>Abstract: A</p>\r\n",
            "Title: T\u{e9}\r\nAbstract: A\r\n",
        ] {
            let raw = format!("{head}{body}");
            let m = parse(raw.as_bytes(), &own).unwrap();
            let text = m.body_text();
            assert!(
                text.contains("Title: T\u{e9}") && text.contains("Abstract: A"),
                "{body:?} -> {text:?}"
            );
            assert!(!text.contains("Content-Type"), "{text:?}");
            if body.starts_with("--XX") || body.starts_with("preamble") {
                assert_eq!(m.attachments, 0, "{body:?}");
                assert!(m.attachment_list.is_empty(), "{body:?}");
            }
        }
        // A declared attachment is never read as the body.
        let raw = format!("{head}--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nTitle: T\r\n");
        let m = parse(raw.as_bytes(), &own).unwrap();
        assert_eq!(m.body_text(), "");
    }
}
