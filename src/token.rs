//! Secret reply tokens carried in the local part of the reply address.
//!
//! Every mail that invites a reply that changes something (an acknowledgment,
//! an assignment) gets a fresh token: 160 random bits from the operating
//! system's generator, written as 32 lowercase base32 characters so that it
//! survives MTAs that fold the case of local parts. Only the SHA-256 of a
//! token is stored, so a database leak does not let anyone act as a speaker
//! or reviewer. The address looks like `cfp+<token>@conf.example`; bounce
//! (VERP) addresses look like `cfp+b-<token>@conf.example`; List-Unsubscribe
//! addresses of announcement mails look like `cfp+u-<token>@conf.example`.

use data_encoding::BASE32_NOPAD;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Length of a token in characters (160 bits in base32).
pub const TOKEN_LEN: usize = 32;

/// A freshly generated token: the secret (goes into the mail) and its hash (goes into the database).
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The secret, never stored.
    pub secret: String,
    /// Its stored form, [`hash`].
    pub hash: String,
}

/// Generate a token from the OS random number generator.
pub fn generate() -> NewToken {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    let secret = BASE32_NOPAD.encode(&bytes).to_ascii_lowercase();
    NewToken {
        hash: hash(&secret),
        secret,
    }
}

/// The stored form of a token: the first 128 bits of its SHA-256, in hex.
///
/// 128 bits keep a leaked database useless (finding a secret for a stored
/// hash takes 2^128 tries; the secrets themselves have 160 bits) and halve
/// what every token costs to store and index: one or two are written per
/// mail cfpd sends (issue 18). Hashes stored in full before migration 0023
/// were cut to this length by it.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.to_ascii_lowercase().as_bytes());
    data_encoding::HEXLOWER.encode(&digest[..HASH_BYTES])
}

/// Bytes of SHA-256 kept in a stored token hash.
const HASH_BYTES: usize = 16;

/// The reply address for a token: `local+token@domain`.
pub fn reply_address(local: &str, domain: &str, secret: &str) -> String {
    format!("{local}+{secret}@{domain}")
}

/// The VERP return path for an outgoing mail: `local+b-token@domain`.
pub fn bounce_address(local: &str, domain: &str, secret: &str) -> String {
    format!("{local}+b-{secret}@{domain}")
}

/// The List-Unsubscribe address of an announcement mail: `local+u-token@domain`.
pub fn unsubscribe_address(local: &str, domain: &str, secret: &str) -> String {
    format!("{local}+u-{secret}@{domain}")
}

/// Which kind of tagged address an address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    /// `local+<token>@domain`: a reply token.
    Reply(String),
    /// `local+b-<token>@domain`: a bounce token.
    Bounce(String),
    /// `local+u-<token>@domain`: a List-Unsubscribe token.
    Unsubscribe(String),
}

/// Recognise `local+…@domain` for our CFP address. The local part and domain
/// are compared case-insensitively (ASCII only); the token must have the exact
/// shape we generate, so look-alike characters never match.
pub fn extract(address: &str, local: &str, domain: &str) -> Option<Tagged> {
    let (l, d) = address.trim().rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let (base, tag) = l.split_once('+')?;
    if !base.eq_ignore_ascii_case(local) {
        return None;
    }
    let tag = tag.to_ascii_lowercase();
    let (kind, t) = if let Some(t) = tag.strip_prefix("b-") {
        ('b', t.to_string())
    } else if let Some(t) = tag.strip_prefix("u-") {
        ('u', t.to_string())
    } else {
        ('r', tag)
    };
    let valid = t.len() == TOKEN_LEN
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    if !valid {
        return None;
    }
    Some(match kind {
        'b' => Tagged::Bounce(t),
        'u' => Tagged::Unsubscribe(t),
        _ => Tagged::Reply(t),
    })
}

/// What a redacted token reads as: `cfp+redacted@…`, `cfp+b-redacted@…`.
pub const REDACTED: &str = "redacted";

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b)
}

/// Replace every token of a tagged address (`+<token>@`, `+b-<token>@`,
/// `+u-<token>@`, any case) in `text` with [`REDACTED`]: what is stored
/// after a mail has done its work must not let a reader act as anyone.
pub fn redact(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'+' {
            let mut start = i + 1;
            let tag = text.get(start..start + 2).map(|t| t.to_ascii_lowercase());
            if matches!(tag.as_deref(), Some(b"b-") | Some(b"u-")) {
                start += 2;
            }
            let end = start + TOKEN_LEN;
            let whole = text
                .get(start..end)
                .is_some_and(|t| t.iter().all(|b| is_token_byte(*b)))
                && text.get(end) == Some(&b'@');
            if whole {
                out.extend_from_slice(&text[i..start]);
                out.extend_from_slice(REDACTED.as_bytes());
                i = end;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// The bytes to send for a stored mail whose `Reply-To:` carries
/// `+`[`REDACTED`]`@` where its reply token goes (see
/// [`crate::outbox::Composer`]): the token put back in that one place.
/// None unless the header section has exactly one such address in a
/// `Reply-To:` field, so a mail whose reply address cannot be restored is
/// never sent without it.
///
/// Why the token is kept apart until the mail leaves: the stored bytes are
/// then the redacted copy from the start and are written once; erasing the
/// token after sending rewrote every mail (issue 18).
pub fn with_reply_token(raw: &[u8], secret: &str) -> Option<Vec<u8>> {
    let needle = format!("+{REDACTED}@");
    let head_end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len());
    // Header fields with their continuation lines, as (start, end) offsets.
    let mut at = None;
    let mut found = 0;
    let mut start = 0;
    while start < head_end {
        let mut end = start;
        loop {
            end = match find(&raw[end..head_end], b"\n") {
                Some(i) => end + i + 1,
                None => head_end,
            };
            if end >= head_end || !matches!(raw[end], b' ' | b'\t') {
                break;
            }
        }
        let field = &raw[start..end];
        if field.len() >= 9 && field[..9].eq_ignore_ascii_case(b"reply-to:") {
            let mut from = 0;
            while let Some(i) = find(&field[from..], needle.as_bytes()) {
                found += 1;
                at = Some(start + from + i);
                from += i + needle.len();
            }
        }
        start = end;
    }
    let at = at.filter(|_| found == 1)?;
    let mut out = Vec::with_capacity(raw.len() + secret.len());
    out.extend_from_slice(&raw[..at + 1]);
    out.extend_from_slice(secret.as_bytes());
    out.extend_from_slice(&raw[at + 1 + REDACTED.len()..]);
    Some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// [`redact`] a whole RFC 5322 message: the header and every part, also
/// those whose transfer encoding (base64, quoted-printable) hides a token
/// from a plain search. Such a part is stored re-encoded as base64 (its
/// `Content-Transfer-Encoding` changed to match), in its original charset.
pub fn redact_mail(raw: &[u8]) -> Vec<u8> {
    let Some(msg) = mail_parser::MessageParser::default().parse(raw) else {
        return redact(raw);
    };
    let mut spans: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    for part in &msg.parts {
        let leaf = matches!(
            part.body,
            mail_parser::PartType::Text(_)
                | mail_parser::PartType::Html(_)
                | mail_parser::PartType::Binary(_)
                | mail_parser::PartType::InlineBinary(_)
        );
        let (h, b, e) = (
            part.offset_header as usize,
            part.offset_body as usize,
            (part.offset_end as usize).min(raw.len()),
        );
        if !(leaf && h <= b && b <= e) {
            continue;
        }
        let body = &raw[b..e];
        let decoded = match part.encoding {
            mail_parser::Encoding::Base64 => {
                let clean: Vec<u8> = body
                    .iter()
                    .copied()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                data_encoding::BASE64.decode(&clean).ok()
            }
            mail_parser::Encoding::QuotedPrintable => Some(decode_qp(body)),
            mail_parser::Encoding::None => None,
        };
        let Some(plain) = decoded else { continue };
        let clean = redact(&plain);
        if clean == plain {
            continue;
        }
        let mut out = set_base64(&redact(&raw[h..b]));
        let enc = data_encoding::BASE64.encode(&clean);
        for line in enc.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        spans.push((h, e, out));
    }
    spans.sort_by_key(|s| s.0);
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for (h, e, bytes) in spans {
        if h < at {
            continue;
        }
        out.extend_from_slice(&redact(&raw[at..h]));
        out.extend_from_slice(&bytes);
        at = e;
    }
    out.extend_from_slice(&redact(&raw[at..]));
    out
}

/// A header block with `Content-Transfer-Encoding: base64` (added when absent).
fn set_base64(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 40);
    let mut set = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with(b"content-transfer-encoding:") {
            out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
            set = true;
        } else if !set && (line == b"\r\n" || line == b"\n") {
            out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
            out.extend_from_slice(line);
            set = true;
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Decode a quoted-printable body (soft line breaks, `=XX`).
fn decode_qp(body: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            if body.get(i + 1..i + 3) == Some(b"\r\n") {
                i += 3;
                continue;
            }
            if body.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (
                body.get(i + 1).and_then(|b| hex(*b)),
                body.get(i + 2).and_then(|b| hex(*b)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reply_token_is_put_back_in_the_reply_to_field_only() {
        let raw =
            b"From: CFP <cfp@x.example>\r\nReply-To: \"CFP\"\r\n <cfp+redacted@x.example>\r\n\
Subject: cfp+redacted@x.example\r\n\r\nWrite to cfp+redacted@x.example\r\n";
        let sent = super::with_reply_token(raw, "abcdefghijklmnopqrstuvwxyz234567").unwrap();
        let text = String::from_utf8(sent).unwrap();
        assert!(
            text.contains(
                "\r\n <cfp+abcdefghijklmnopqrstuvwxyz234567@x.example>\r\nSubject: cfp+redacted@"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("Write to cfp+redacted@x.example\r\n"),
            "{text}"
        );
        assert_eq!(super::redact(text.as_bytes()), raw.to_vec());
        // No placeholder, or two: nothing to send.
        assert!(super::with_reply_token(b"Reply-To: cfp@x.example\r\n\r\nhi", "t").is_none());
        assert!(
            super::with_reply_token(b"Reply-To: a+redacted@x, b+redacted@y\r\n\r\nhi", "t")
                .is_none()
        );
        assert!(
            super::with_reply_token(b"Subject: x\r\n\r\nReply-To: a+redacted@x\r\n", "t").is_none()
        );
    }

    use super::*;

    #[test]
    fn tokens_are_unique_long_and_round_trip_through_addresses() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), TOKEN_LEN);
        assert_eq!(a.hash, hash(&a.secret));
        assert_ne!(a.hash, a.secret);
        // What migration 0023 kept of a hash stored in full before it, so a
        // token mailed before the upgrade still works after it.
        let full = data_encoding::HEXLOWER.encode(&Sha256::digest(a.secret.as_bytes()));
        assert_eq!((a.hash.len(), a.hash.as_str()), (32, &full[..32]));
        assert_eq!(hash(&a.secret.to_uppercase()), a.hash);
        let addr = reply_address("cfp", "conf.example", &a.secret);
        assert_eq!(
            extract(&addr, "cfp", "conf.example"),
            Some(Tagged::Reply(a.secret.clone()))
        );
        // Case folding by an MTA does not break it.
        assert_eq!(
            extract(&addr.to_uppercase(), "cfp", "conf.example"),
            Some(Tagged::Reply(a.secret.clone()))
        );
        let b_addr = bounce_address("cfp", "conf.example", &b.secret);
        assert_eq!(
            extract(&b_addr, "cfp", "conf.example"),
            Some(Tagged::Bounce(b.secret.clone()))
        );
        let u_addr = unsubscribe_address("cfp", "conf.example", &b.secret);
        assert_eq!(u_addr, format!("cfp+u-{}@conf.example", b.secret));
        assert_eq!(
            extract(&u_addr, "cfp", "conf.example"),
            Some(Tagged::Unsubscribe(b.secret))
        );
    }

    #[test]
    fn foreign_or_malformed_addresses_are_not_tokens() {
        let t = generate().secret;
        assert_eq!(
            extract(&format!("cfp+{t}@other.example"), "cfp", "conf.example"),
            None
        );
        assert_eq!(
            extract(&format!("cfx+{t}@conf.example"), "cfp", "conf.example"),
            None
        );
        assert_eq!(
            extract("cfp+short@conf.example", "cfp", "conf.example"),
            None
        );
        assert_eq!(extract("cfp@conf.example", "cfp", "conf.example"), None);
        // A Cyrillic "а" in the token is not a base32 character.
        let lookalike = format!("cfp+{}а@conf.example", &t[..TOKEN_LEN - 1]);
        assert_eq!(extract(&lookalike, "cfp", "conf.example"), None);
    }

    fn mail(body: &str) -> (Vec<u8>, String) {
        let t = generate().secret;
        let cfg = crate::config::Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        let c = crate::outbox::Composer::new(&cfg).unwrap();
        let m = c
            .compose(&crate::outbox::Draft {
                kind: crate::model::MailKind::Ack,
                dedup_key: "k".into(),
                to: "ada@example.org",
                to_name: None,
                subject: "P-0001 received".into(),
                body: body.replace("TOKEN", &reply_address("cfp", "x.example", &t)),
                in_reply_to: None,
                references: &[],
                reply_token: Some(&t),
                auto: crate::outbox::AutoSubmitted::AutoReplied,
                cause_message: None,
            })
            .unwrap();
        // What is sent: the stored copy with its reply token put back.
        (with_reply_token(&m.raw, &t).unwrap(), t)
    }

    #[test]
    fn redacted_mail_holds_no_token_in_header_or_any_body_encoding() {
        let long = "é".repeat(200);
        for body in [
            "Reply to TOKEN.\n",
            "Réponse — TOKEN — merci.\n",
            &format!("{long}\nTOKEN\n{long}"),
            "\u{0}\u{1}binary-ish TOKEN",
        ] {
            let (raw, t) = mail(body);
            let text = String::from_utf8_lossy(&raw).to_string();
            assert!(text.contains(&t), "the fixture carries the token: {text}");
            let red = redact_mail(&raw);
            let parsed = mail_parser::MessageParser::default().parse(&red).unwrap();
            let shown = format!(
                "{}{}",
                String::from_utf8_lossy(&red),
                parsed.body_text(0).unwrap_or_default()
            );
            assert!(!shown.to_ascii_lowercase().contains(&t), "{shown}");
            assert!(shown.contains("cfp+redacted@"), "{shown}");
            let bt = parsed.body_text(0).unwrap_or_default();
            assert!(bt.contains("cfp+redacted@x.example"), "{bt}");
            // Idempotent: a second pass changes nothing.
            assert_eq!(redact_mail(&red), red);
        }
        // VERP and unsubscribe tags, any case; look-alikes are left alone.
        let t = generate().secret;
        let s = format!("cfp+b-{t}@x cfp+U-{}@x cfp+short@x", t.to_uppercase());
        assert_eq!(
            String::from_utf8(redact(s.as_bytes())).unwrap(),
            "cfp+b-redacted@x cfp+U-redacted@x cfp+short@x"
        );
    }

    #[test]
    fn a_reply_quoting_the_address_in_encoded_parts_is_redacted_in_every_part() {
        let t = generate().secret;
        let addr = reply_address("cfp", "x.example", &t);
        let html = data_encoding::BASE64.encode(format!("<p>&gt; {addr}</p>").as_bytes());
        let raw = format!(
            "From: ada@example.org\r\nTo: {addr}\r\nSubject: Re: P-0001\r\n\
             Content-Type: multipart/alternative; boundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n\
             withdraw =E2=80=94 thanks\r\n> reply address: cfp+{}=\r\n{}@x.example\r\n\
             --B\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{html}\r\n--B--\r\n",
            &t[..10],
            &t[10..]
        );
        let red = redact_mail(raw.as_bytes());
        let m = mail_parser::MessageParser::default().parse(&red).unwrap();
        let text = m.body_text(0).unwrap().to_string();
        let html = m.body_html(0).unwrap().to_string();
        let all = format!("{}{text}{html}", String::from_utf8_lossy(&red));
        assert!(!all.contains(&t), "{all}");
        assert!(text.contains("withdraw — thanks"), "{text}");
        assert!(text.contains("cfp+redacted@x.example"), "{text}");
        assert!(html.contains("cfp+redacted@x.example"), "{html}");
        assert!(String::from_utf8_lossy(&red).contains("To: cfp+redacted@x.example"));
        assert_eq!(redact_mail(&red), red);
    }
}
