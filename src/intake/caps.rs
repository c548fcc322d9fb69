//! Loop protection beyond RFC 3834: per-address and per-thread daily reply
//! caps and a global circuit breaker.
//!
//! Machine mail is never answered (see [`super::machine`]); these caps bound
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

use std::collections::HashMap;

use crate::config::Config;
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
    /// Automatic replies per recipient in the last 24 h, including this batch's.
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
        let day = now_ms - 24 * 3600 * 1000;
        let window = now_ms - i64::from(cfg.limits.circuit_breaker_minutes) * 60_000;
        Ok(Caps {
            per_address: outbox::reply_counts(tx, senders, day).await?,
            per_thread: outbox::thread_counts(tx, threads, day).await?,
            window: outbox::conversation_replies_since(tx, window).await?,
            alerted: false,
            bucket: now_ms / (i64::from(cfg.limits.circuit_breaker_minutes) * 60_000),
        })
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
        let a = self.per_address.get(address).copied().unwrap_or(0);
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

    /// A reply to `address` in `thread` was queued.
    pub fn count(&mut self, address: &str, thread: Option<&str>) {
        *self.per_address.entry(address.to_string()).or_default() += 1;
        if let Some(t) = thread {
            *self.per_thread.entry(t.to_string()).or_default() += 1;
            self.window += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        let src = crate::config::EXAMPLE_CONFIG.replace("[limits]", &format!("[limits]\n{extra}"));
        Config::from_str(&src, std::path::Path::new("/tmp/cfpd.toml")).unwrap()
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
