//! Replies that lost their token: a speaker answers our acknowledgment, but the answer
//! reaches the plain CFP address (the client ignored Reply-To, the speaker typed the
//! address, the token expired). Such a mail is about a proposal we already have, not a
//! new one: storing it would file a junk draft. It is recognised by structure only and
//! never acted on: it selects nothing and changes nothing, and its answer says how to
//! update the proposal (a From header authorizes nothing).

use std::sync::OnceLock;

use regex::Regex;

use crate::intake::inbound::Inbound;

fn re(pattern: &str) -> Regex {
    // The patterns are constants; the unit tests compile each one.
    Regex::new(pattern).expect("built-in regular expression")
}

/// A reply prefix at the start of a subject, in the common languages, after an optional
/// list tag: `Re:`, `RE[2]:`, `AW:`, `SV:`, `Antw:`, `Odp:`, `Réf. :`, `回复:`.
fn reply_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        re(r"(?i)^\s*(?:\[[^\]]{0,80}\]\s*)?(?:re|aw|sv|vs|antw|odp|res|ré[fp]\.?|ynt|回复|回覆|答复)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]")
    })
}

/// One of our proposal references, as [`crate::proposal::reference`] writes them.
fn reference_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| re(r"\bP-(\d{4,9})\b"))
}

/// The shape of our Message-IDs (`crate::outbox::Composer::new_message_id`) at the
/// CFP domain: 13 base32hex characters (the time), a dot and 16 base32 characters;
/// before issue 18, 24 base32 characters.
fn our_message_id(id: &str, cfp_domain: &str) -> bool {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let base32 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    };
    let base32hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
    };
    match id.rsplit_once('@') {
        Some((local, domain)) if domain.eq_ignore_ascii_case(cfp_domain) => {
            match local.split_once('.') {
                Some((time, random)) => {
                    time.len() == 13 && base32hex(time) && random.len() == 16 && base32(random)
                }
                None => local.len() == 24 && base32(local),
            }
        }
        _ => false,
    }
}

fn first_reference(text: &str) -> Option<String> {
    reference_re().find(text).map(|m| m.as_str().to_string())
}

/// Whether `i` (mail without a usable reply token) is a reply about one of our
/// proposals: the reference it names when so. A reply is about a proposal when
///
/// - its subject is a reply (`Re:` …) naming a reference `P-NNNN`, or
/// - its In-Reply-To or References names one of our Message-IDs and its text (quotes
///   included) names a reference — a reply to our help mail, which names none, stays a
///   possible new proposal.
///
/// `body` is the message's readable text, read only when the threading matches.
pub fn reply_about_proposal(
    i: &Inbound,
    cfp_domain: &str,
    body: impl FnOnce() -> String,
) -> Option<String> {
    if reply_prefix().is_match(&i.subject) {
        if let Some(r) = first_reference(&i.subject) {
            return Some(r);
        }
    }
    let threaded = i
        .in_reply_to
        .iter()
        .chain(i.references.iter())
        .any(|id| our_message_id(id, cfp_domain));
    if threaded {
        if let Some(r) = first_reference(&body()) {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::classify::OwnIdentity;
    use crate::intake::inbound;

    const DOMAIN: &str = "djangocon.example";
    const OURS: &str = "abcdefghijklmnopqrstuvwx@djangocon.example";

    #[test]
    fn our_message_ids_are_known_in_both_shapes_and_only_at_our_domain() {
        let cfg = crate::config::Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        let c = crate::outbox::Composer::new(&cfg).unwrap();
        let new = c.new_message_id();
        assert!(our_message_id(&new, c.domain()), "{new}");
        assert!(our_message_id(&format!("<{new}>"), c.domain()), "{new}");
        assert!(!our_message_id(&new, "other.example"), "{new}");
        assert!(our_message_id(OURS, DOMAIN));
        for not in [
            "abcdefghijklmnopqrstuvw@djangocon.example",
            "0123456789abc.ABCDEFGHIJKLMNOP@djangocon.example",
            "0123456789abw.abcdefghijklmnop@djangocon.example",
        ] {
            assert!(!our_message_id(not, DOMAIN), "{not}");
        }
        // Later ids sort after earlier ones (the outbox index grows at its end).
        let ids: Vec<String> = [1u64, 999, 1_000, 1_796_586_575_836, u64::MAX]
            .iter()
            .map(|ms| crate::outbox::message_id(*ms, [7; 10], DOMAIN))
            .collect();
        assert!(ids.iter().all(|id| our_message_id(id, DOMAIN)), "{ids:?}");
        let time = |id: &str| id.split('.').next().unwrap().to_string();
        assert!(ids.windows(2).all(|w| time(&w[0]) < time(&w[1])), "{ids:?}");
    }

    fn mail(headers: &str, subject: &str, body: &str) -> Inbound {
        let raw = format!(
            "From: Ann <ann@speaker.example>\r\nTo: cfp@{DOMAIN}\r\nSubject: {subject}\r\nMessage-ID: <m@speaker.example>\r\n{headers}\r\n{body}"
        );
        inbound::parse(raw.as_bytes(), &OwnIdentity::new("cfp@djangocon.example")).unwrap()
    }

    fn about(i: &Inbound) -> Option<String> {
        reply_about_proposal(i, DOMAIN, || i.body_text())
    }

    #[test]
    fn replies_naming_a_proposal_are_recognised() {
        for subject in [
            "Re: [DjangoCon] P-0001 received: Fast Django",
            "RE: P-0001 received",
            "AW: [DjangoCon] P-0001 received: Fast Django",
            "Re[2]: P-0001",
            "SV: P-0012 received",
            "[DjangoCon] Re: P-0001 received",
        ] {
            let i = mail("", subject, "Title: Faster Django\r\n");
            assert_eq!(about(&i), Some(subject_ref(subject)), "{subject}");
        }
        let body =
            "Title: Faster\r\n\r\nOn Mon, Ann wrote:\r\n> Your proposal P-0007 was received.\r\n";
        let i = mail(&format!("In-Reply-To: <{OURS}>\r\n"), "Re: thanks", body);
        assert_eq!(about(&i), Some("P-0007".into()));
        let i = mail(
            &format!("References: <x@y.example> <{OURS}>\r\n"),
            "Fast Django",
            body,
        );
        assert_eq!(about(&i), Some("P-0007".into()));
    }

    fn subject_ref(s: &str) -> String {
        first_reference(s).unwrap()
    }

    #[test]
    fn new_proposals_are_not_replies() {
        let cases = [
            // A new proposal that mentions a reference, not as a reply.
            ("", "Follow-up to P-0001: part two", "Title: T\r\n"),
            // A reply to our help mail: no reference anywhere.
            (
                "In-Reply-To: <abcdefghijklmnopqrstuvwx@djangocon.example>\r\n",
                "Re: How to submit a proposal",
                "Title: T\r\n> Title: (your title)\r\n",
            ),
            // Threading to someone else's mail, naming a reference.
            (
                "In-Reply-To: <abcdefghijklmnopqrstuvwx@other.example>\r\n",
                "Re: our talk",
                "Title: T\r\n> see P-0001\r\n",
            ),
            // Not our shape of Message-ID.
            (
                "In-Reply-To: <m1@djangocon.example>\r\n",
                "Re: talk",
                "Title: T P-0001\r\n",
            ),
            ("", "Re: my talk on HTTP-2000 and P-12", "Title: T\r\n"),
        ];
        for (headers, subject, body) in cases {
            let i = mail(headers, subject, body);
            assert_eq!(about(&i), None, "{subject}");
        }
    }
}
