//! Time, as the daemon sees it.
//!
//! Everything that depends on "now" (deadlines, reminders, backoff, rate
//! limits) reads it through a [`Clock`], so tests can drive time without
//! waiting. The binary uses [`SystemClock`]; `CFPD_FAKE_NOW` (RFC 3339)
//! pins it for end-to-end tests of deadline behaviour.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Shared so a test can move it while the daemon holds a copy.
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `t`.
    pub fn new(t: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(t)),
        }
    }

    /// Move the clock to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// Move the clock forward.
    pub fn advance(&self, d: chrono::Duration) {
        let mut g = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `CFPD_FAKE_NOW` is set but is not an instant.
#[derive(Debug, thiserror::Error)]
#[error("CFPD_FAKE_NOW={value:?} is not an RFC 3339 instant: {source}")]
pub struct FakeNowError {
    /// The variable's value.
    value: String,
    /// Why chrono refused it.
    #[source]
    source: chrono::ParseError,
}

/// The clock the binary runs with: the system clock, or a fixed instant from
/// `CFPD_FAKE_NOW` when set (for end-to-end tests).
pub fn from_env() -> Result<Arc<dyn Clock>, FakeNowError> {
    match std::env::var("CFPD_FAKE_NOW") {
        Ok(v) => {
            let t = DateTime::parse_from_rfc3339(&v).map_err(|source| FakeNowError {
                value: v.clone(),
                source,
            })?;
            Ok(Arc::new(ManualClock::new(t.with_timezone(&Utc))))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}
