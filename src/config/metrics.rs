//! `[metrics]`: the HTTP endpoint and the thresholds `/healthz` and `cfpd status` judge by.

use serde::Deserialize;

use super::locate::Locator;
use super::mailbox::MailboxConfig;
use super::ConfigError;

/// Observability settings (`[metrics]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Where `cfpd run` serves `/metrics` and `/healthz`; `None` (no `listen`)
    /// runs no HTTP server at all, so nothing listens unless asked to.
    pub listen: Option<std::net::SocketAddr>,
    /// A lease holder whose last successful mailbox poll is older than this
    /// is unhealthy (`/healthz` 503, `cfpd status` exit 2). Longer than the
    /// source's quietest healthy gap (poll interval or IDLE renewal), or a
    /// healthy daemon would look stale.
    pub poll_stale: std::time::Duration,
    /// `cfpd status` exits 2 when the oldest queued mail has waited longer:
    /// mail is stuck (SMTP down or refusing), and people are waiting for it.
    pub queue_stale: std::time::Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<String>,
    pub(super) poll_stale_seconds: Option<u64>,
    #[serde(default = "default_queue_stale")]
    pub(super) queue_stale_seconds: u64,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            listen: None,
            poll_stale_seconds: None,
            queue_stale_seconds: default_queue_stale(),
        }
    }
}

fn default_queue_stale() -> u64 {
    1800
}

/// Validate `[metrics]`; the poll threshold defaults to the source's quietest
/// healthy gap plus five minutes.
pub(super) fn metrics_config(
    loc: &Locator<'_>,
    m: &RawMetrics,
    mailbox: &MailboxConfig,
) -> Result<MetricsConfig, ConfigError> {
    let listen = match &m.listen {
        None => None,
        Some(a) => Some(a.parse::<std::net::SocketAddr>().map_err(|_| {
            loc.err(
                "metrics",
                "listen",
                &format!(
                    "{a:?} is not an address and port: use e.g. \"127.0.0.1:9469\" \
                     (or \"0.0.0.0:9469\" inside a container)"
                ),
            )
        })?),
    };
    let gap = mailbox.wait_interval();
    let poll_stale = match m.poll_stale_seconds {
        None => gap + std::time::Duration::from_secs(300),
        Some(s) if std::time::Duration::from_secs(s) <= gap => {
            return Err(loc.err(
                "metrics",
                "poll_stale_seconds",
                &format!(
                    "must be longer than {} s, the longest a healthy mailbox source waits \
                     between polls (poll_seconds, or idle_renew_minutes with IDLE)",
                    gap.as_secs()
                ),
            ))
        }
        Some(s) => std::time::Duration::from_secs(s),
    };
    if m.queue_stale_seconds == 0 {
        return Err(loc.err(
            "metrics",
            "queue_stale_seconds",
            "must be at least 1 (seconds; 1800 is the default)",
        ));
    }
    Ok(MetricsConfig {
        listen,
        poll_stale,
        queue_stale: std::time::Duration::from_secs(m.queue_stale_seconds),
    })
}
