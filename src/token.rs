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
    /// Lowercase hex SHA-256 of the secret.
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

/// The stored form of a token.
pub fn hash(secret: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(secret.to_ascii_lowercase().as_bytes()))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_long_and_round_trip_through_addresses() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), TOKEN_LEN);
        assert_eq!(a.hash, hash(&a.secret));
        assert_ne!(a.hash, a.secret);
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
}
