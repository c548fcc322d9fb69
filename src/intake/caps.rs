//! Loop protection beyond RFC 3834: per-address and per-thread daily reply
//! caps and a global circuit breaker.
//!
//! Machine mail is never answered (see [`super::classify`]); these caps bound
//! the damage when a machine is not recognisable as one (say, a second cfpd
//! or an auto-responder that strips `Auto-Submitted`). Every automatic reply
//! counts against its recipient's and its conversation's 24-hour budget.
//! Replies to conversation mail (mail that answers an earlier one) also count
//! towards the circuit breaker: when `circuit_breaker_replies` of them were
//! queued within `circuit_breaker_minutes`, no automatic reply is queued at
//! all until the window holds fewer again, and the chairs get one alert per
//! window. Everything is still recorded; only replies are suppressed, with a
//! note on the message. New proposals (first contact) never trip the breaker,
//! so a backlog of thousands of proposals after downtime is acknowledged.
//!
//! A speaker's first acknowledgment (the ack, draft or late reply that carries
//! the reply token of a newly stored proposal) is never lost to other people's
//! traffic: the breaker and the thread caps do not apply to it, and over its
//! recipient's daily cap it is held (queued with `hold = address_cap`, shown by
//! `cfpd outbox`) and released, once, when the recipient's window has room
//! ([`releasable`]). Every cap counts per mailbox ([`mailbox_key`]), so
//! `Victim@`, `VICTIM@` and `victim+1@` share one budget.

use std::collections::HashMap;

use crate::config::Config;
use crate::model::mailbox_key;
use crate::store::{outbox, AnyConnection, StoreError};

use super::inbound::Inbound;

/// The conversation a message belongs to: the root of its References chain,
/// else its In-Reply-To. `None` for first contact (a new conversation).
pub fn thread_key(i: &Inbound) -> Option<String> {
    i.references
        .first()
        .or(i.in_reply_to.as_ref())
        .map(|s| s.trim().trim_matches(|c| c == '<' || c == '>').to_string())
        .filter(|s| !s.is_empty())
}

/// The budgets of one intake batch: loaded once, updated as replies are queued.
#[derive(Debug, Default)]
pub struct Caps {
    /// Automatic replies per recipient mailbox ([`mailbox_key`]) in the last 24 h,
    /// including this batch's.
    pub per_address: HashMap<String, i64>,
    /// Automatic replies per thread in the last 24 h, including this batch's.
    pub per_thread: HashMap<String, i64>,
    /// Conversation replies in the breaker's window, including this batch's.
    pub window: i64,
    /// Whether the chairs' breaker alert was already queued by this batch.
    pub alerted: bool,
    /// The breaker window this batch runs in (`now / window length`): the
    /// chairs' alert is queued at most once per window (its dedup key).
    pub bucket: i64,
}

/// Why a reply was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppressed {
    /// The recipient got its daily budget of automatic replies.
    Address(i64),
    /// The conversation got its daily budget.
    Thread(i64),
    /// The circuit breaker is open.
    Breaker(i64),
}

/// What happens to a reply ([`Caps::admit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Queue it now.
    Send,
    /// A first acknowledgment over its recipient's cap: queue it held, to be
    /// released when the window has room.
    Hold(Suppressed),
    /// Do not queue it (noted on the message).
    Drop(Suppressed),
}

impl std::fmt::Display for Suppressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Suppressed::Address(n) => write!(f, "reply suppressed: {n} automatic replies to this address in 24 h"),
            Suppressed::Thread(n) => write!(f, "reply suppressed: {n} automatic replies in this conversation in 24 h"),
            Suppressed::Breaker(n) => write!(f, "reply suppressed: circuit breaker open ({n} replies to conversation mail in the window)"),
        }
    }
}

impl Caps {
    /// Load the budgets for a batch's senders and threads at `now_ms`.
    pub async fn load(
        tx: &mut AnyConnection,
        cfg: &Config,
        senders: &[String],
        threads: &[String],
        now_ms: i64,
    ) -> Result<Caps, StoreError> {
        let day = now_ms - DAY_MS;
        let window = now_ms - i64::from(cfg.limits.circuit_breaker_minutes) * 60_000;
        let mut mailboxes: Vec<String> = senders.iter().map(|s| mailbox_key(s)).collect();
        mailboxes.sort();
        mailboxes.dedup();
        Ok(Caps {
            per_address: outbox::reply_counts(tx, &mailboxes, day).await?,
            per_thread: outbox::thread_counts(tx, threads, day).await?,
            window: outbox::conversation_replies_since(tx, window).await?,
            alerted: false,
            bucket: now_ms / (i64::from(cfg.limits.circuit_breaker_minutes) * 60_000),
        })
    }

    /// What happens to a reply to `address` in `thread`: a speaker's `first`
    /// acknowledgment is held over the address cap and is not subject to the
    /// breaker or the thread cap; any other reply is sent or dropped by [`Caps::check`].
    pub fn admit(&self, cfg: &Config, address: &str, thread: Option<&str>, first: bool) -> Admit {
        if first {
            let a = self.sent_to(address);
            if a >= i64::from(cfg.limits.replies_per_address_per_day) {
                return Admit::Hold(Suppressed::Address(a));
            }
            return Admit::Send;
        }
        match self.check(cfg, address, thread) {
            Ok(()) => Admit::Send,
            Err(why) => Admit::Drop(why),
        }
    }

    /// Replies to `address`'s mailbox in the last 24 h, including this batch's.
    fn sent_to(&self, address: &str) -> i64 {
        self.per_address
            .get(&mailbox_key(address))
            .copied()
            .unwrap_or(0)
    }

    /// Whether a reply to `address` in `thread` may be queued now.
    pub fn check(
        &self,
        cfg: &Config,
        address: &str,
        thread: Option<&str>,
    ) -> Result<(), Suppressed> {
        let l = &cfg.limits;
        if self.window >= i64::from(l.circuit_breaker_replies) {
            return Err(Suppressed::Breaker(self.window));
        }
        let a = self.sent_to(address);
        if a >= i64::from(l.replies_per_address_per_day) {
            return Err(Suppressed::Address(a));
        }
        if let Some(t) = thread {
            let n = self.per_thread.get(t).copied().unwrap_or(0);
            if n >= i64::from(l.replies_per_thread_per_day) {
                return Err(Suppressed::Thread(n));
            }
        }
        Ok(())
    }

    /// A reply to `address` in `thread` was queued (a first acknowledgment is
    /// counted without its thread: it feeds neither the thread cap nor the breaker).
    pub fn count(&mut self, address: &str, thread: Option<&str>) {
        *self.per_address.entry(mailbox_key(address)).or_default() += 1;
        if let Some(t) = thread {
            *self.per_thread.entry(t.to_string()).or_default() += 1;
            self.window += 1;
        }
    }
}

/// The reply caps' day.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Which held mails (`(id, mailbox)`, oldest first) may be released now, given
/// the replies each mailbox got in the last 24 h (`sent`) and the daily cap: per
/// mailbox, the oldest ones, as many as its window has room for.
pub fn releasable(held: &[(i64, String)], sent: &HashMap<String, i64>, cap: u32) -> Vec<i64> {
    let mut room: HashMap<&str, i64> = HashMap::new();
    let mut out = Vec::new();
    for (id, mailbox) in held {
        let left = room
            .entry(mailbox.as_str())
            .or_insert_with(|| i64::from(cap) - sent.get(mailbox).copied().unwrap_or(0));
        if *left > 0 {
            *left -= 1;
            out.push(*id);
        }
    }
    out
}

/// Release the held mail whose recipients' windows have room at `now_ms` (see
/// [`releasable`]). Returns how many were released.
pub async fn release_held(
    tx: &mut AnyConnection,
    cfg: &Config,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let held = outbox::held(tx).await?;
    if held.is_empty() {
        return Ok(0);
    }
    let mut mailboxes: Vec<String> = held.iter().map(|(_, m)| m.clone()).collect();
    mailboxes.sort();
    mailboxes.dedup();
    let sent = outbox::reply_counts(tx, &mailboxes, now_ms - DAY_MS).await?;
    let ids = releasable(&held, &sent, cfg.limits.replies_per_address_per_day);
    outbox::release(tx, &ids, now_ms).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        let src = crate::config::EXAMPLE_CONFIG.replace("[limits]", &format!("[limits]\n{extra}"));
        Config::from_str(&src, std::path::Path::new("/tmp/cfpd.toml")).unwrap()
    }

    trait AddressCap {
        fn with_address_cap(self, n: u32) -> Self;
    }

    impl AddressCap for Config {
        fn with_address_cap(mut self, n: u32) -> Config {
            self.limits.replies_per_address_per_day = n;
            self
        }
    }

    #[test]
    fn address_thread_and_breaker_budgets() {
        let c = cfg("replies_per_thread_per_day = 2\ncircuit_breaker_replies = 5\n");
        let mut caps = Caps::default();
        // First contact: only the address cap applies.
        for _ in 0..10 {
            assert_eq!(caps.check(&c, "a@x", None), Ok(()));
            caps.count("a@x", None);
        }
        assert_eq!(caps.window, 0, "first contact never feeds the breaker");
        // A conversation: two replies, then the thread cap.
        caps.count("b@x", Some("t1"));
        caps.count("b@x", Some("t1"));
        assert_eq!(
            caps.check(&c, "b@x", Some("t1")),
            Err(Suppressed::Thread(2))
        );
        assert_eq!(caps.check(&c, "b@x", Some("t2")), Ok(()));
        // Three more conversations: the breaker opens for everyone.
        for t in ["t2", "t3", "t4"] {
            caps.count("c@x", Some(t));
        }
        assert_eq!(caps.check(&c, "new@x", None), Err(Suppressed::Breaker(5)));
    }

    #[test]
    fn first_acks_pass_the_breaker_and_thread_cap_and_are_held_over_the_address_cap() {
        let c = cfg("replies_per_thread_per_day = 1\ncircuit_breaker_replies = 2\n")
            .with_address_cap(3);
        let mut caps = Caps::default();
        // Forged conversations open the breaker and fill a thread.
        caps.count("x1@evil.example", Some("t"));
        caps.count("x2@evil.example", Some("u"));
        assert_eq!(
            caps.admit(&c, "spam@evil.example", Some("v"), false),
            Admit::Drop(Suppressed::Breaker(2))
        );
        // A real speaker's first acknowledgment still goes out, even in a thread.
        assert_eq!(caps.admit(&c, "ann@example.org", None, true), Admit::Send);
        assert_eq!(
            caps.admit(&c, "ann@example.org", Some("t"), true),
            Admit::Send
        );
        // Over the address cap it is held, never dropped; one mailbox, any spelling.
        for a in [
            "Victim@example.org",
            "VICTIM@EXAMPLE.ORG",
            "victim+1@example.org",
        ] {
            assert_eq!(caps.admit(&c, a, None, true), Admit::Send, "{a}");
            caps.count(a, None);
        }
        assert_eq!(caps.per_address.len(), 3, "x1, x2 and one victim mailbox");
        assert_eq!(
            caps.admit(&c, "victim+2@Example.org", None, true),
            Admit::Hold(Suppressed::Address(3))
        );
        assert_eq!(
            caps.admit(&c, "victim@example.org", None, false),
            Admit::Drop(Suppressed::Breaker(2))
        );
    }

    #[test]
    fn held_mail_is_released_oldest_first_as_the_window_allows() {
        let held: Vec<(i64, String)> = [(1, "a@x"), (2, "b@x"), (3, "a@x"), (4, "a@x"), (5, "b@x")]
            .iter()
            .map(|(i, m)| (*i, m.to_string()))
            .collect();
        let sent: HashMap<String, i64> = [("a@x".to_string(), 1), ("b@x".to_string(), 3)].into();
        // a@x has room for 2 of 3, b@x for none.
        assert_eq!(releasable(&held, &sent, 3), vec![1, 3]);
        // A day later nothing was sent: each gets up to the cap.
        assert_eq!(releasable(&held, &HashMap::new(), 2), vec![1, 2, 3, 5]);
        assert!(releasable(&[], &sent, 3).is_empty());
    }

    #[test]
    fn zero_limits_are_config_errors_naming_the_line() {
        let src = crate::config::EXAMPLE_CONFIG
            .replace("[limits]", "[limits]\ncircuit_breaker_minutes = 0");
        let e = Config::from_str(&src, std::path::Path::new("/tmp/cfpd.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("limits.circuit_breaker_minutes: must be at least 1"),
            "{e}"
        );
        let line = src
            .lines()
            .position(|l| l.starts_with("circuit_breaker_minutes"))
            .unwrap()
            + 1;
        assert!(e.contains(&format!("cfpd.toml:{line}:")), "{e}");
    }
}
