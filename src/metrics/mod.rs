//! Observability: this process's counters, the health verdict, and the
//! Prometheus text that `/metrics` serves ([`server`]).
//!
//! Two kinds of facts, kept apart so several instances on one PostgreSQL
//! report correctly:
//!
//! - **Database-wide** (messages by state, outbox depth, bounces, the lease,
//!   the last poll): read at scrape time through the one store function
//!   [`crate::store::status::snapshot`], so every instance shows the same
//!   numbers and a standby shows them too.
//! - **Per process** ([`Metrics`]: send attempts and failures, polls,
//!   whether this process holds the lease): counted in memory by the code
//!   that does the work, reset when the process restarts (Prometheus
//!   counters are meant to be).
//!
//! Nothing here writes to the database or changes what the daemon does.

pub mod server;

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::status::Snapshot;

/// Labels of one series (e.g. `[("state", "accepted")]`).
type Labels = Vec<(&'static str, String)>;

/// A gauge holding a float (timestamps, ages).
type FloatGauge = Gauge<f64, AtomicU64>;

/// Why a mail was not handed over (the `kind` label of `cfpd_send_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The SMTP server could not be reached (connect, TLS, login); the mail stays queued.
    Unreachable,
    /// A temporary refusal (4xx) or a broken envelope; retried later.
    Temporary,
    /// A permanent refusal (5xx); the mail is `failed`.
    Permanent,
    /// The connection broke after the body was sent; the mail is `uncertain`.
    Uncertain,
}

impl SendFailure {
    fn label(self) -> &'static str {
        match self {
            SendFailure::Unreachable => "unreachable",
            SendFailure::Temporary => "temporary",
            SendFailure::Permanent => "permanent",
            SendFailure::Uncertain => "uncertain",
        }
    }
}

/// What `/healthz` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// 200 when true, 503 when false.
    pub ok: bool,
    /// One line for a person (and the compose healthcheck's log).
    pub reason: String,
}

/// When this process became active and last polled, for the health verdict
/// (monotonic: a wall-clock jump cannot make a daemon look healthy or stale).
#[derive(Debug, Default)]
struct Activity {
    /// Set while this process holds the lease.
    active_since: Option<Instant>,
    /// The end of the last successful intake cycle.
    last_poll: Option<Instant>,
}

/// This process's own counters and state (see the module docs).
#[derive(Debug)]
pub struct Metrics {
    /// This instance's id: its lease holder id once `cfpd run` started.
    instance: Mutex<String>,
    /// Unix time this process started.
    start_time: FloatGauge,
    /// 1 while this process holds the lease (it is the one doing the work).
    lease_held: Gauge,
    /// Intake cycles (fetch, process, file away) that completed.
    polls: Counter,
    /// Intake cycles that failed (mail server or database unreachable).
    poll_failures: Counter,
    /// Unix time of the last completed cycle (0: none yet).
    last_poll: FloatGauge,
    /// Messages brought to a terminal state by this process.
    intake_messages: Counter,
    /// Duration of each intake cycle that processed something.
    cycle_seconds: Histogram,
    /// Mails the SMTP server accepted (or `.eml` files written).
    mails_sent: Counter,
    /// Mails not handed over, by [`SendFailure`].
    send_failures: Family<Labels, Counter>,
    /// For [`Metrics::health`].
    activity: Mutex<Activity>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Seconds since the Unix epoch, now (the real clock: metrics are about the
/// machine's time, not the pipeline's [`crate::clock::Clock`]).
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Metrics {
    /// Fresh counters; the process start time is now.
    pub fn new() -> Metrics {
        let m = Metrics {
            instance: Mutex::new(format!("pid {}", std::process::id())),
            start_time: FloatGauge::default(),
            lease_held: Gauge::default(),
            polls: Counter::default(),
            poll_failures: Counter::default(),
            last_poll: FloatGauge::default(),
            intake_messages: Counter::default(),
            cycle_seconds: Histogram::new(exponential_buckets(0.01, 4.0, 8)),
            mails_sent: Counter::default(),
            send_failures: Family::default(),
            activity: Mutex::new(Activity::default()),
        };
        m.start_time.set(unix_now());
        for f in [
            SendFailure::Unreachable,
            SendFailure::Temporary,
            SendFailure::Permanent,
            SendFailure::Uncertain,
        ] {
            // Present from the start, so rate() sees the first failure.
            let _ = m
                .send_failures
                .get_or_create(&vec![("kind", f.label().into())]);
        }
        m
    }

    /// Name this instance (its lease holder id).
    pub fn set_instance(&self, id: &str) {
        *self.instance.lock().expect("metrics lock") = id.to_string();
    }

    /// This instance's id (as written into the lease and the poll heartbeat).
    pub fn instance(&self) -> String {
        self.instance.lock().expect("metrics lock").clone()
    }

    /// This process took (`true`) or gave up (`false`) the lease.
    pub fn set_active(&self, active: bool) {
        self.lease_held.set(active as i64);
        let mut a = self.activity.lock().expect("metrics lock");
        a.active_since = active.then(Instant::now);
    }

    /// An intake cycle completed: `processed` messages in `took`.
    pub fn poll_succeeded(&self, processed: usize, took: Duration) {
        self.polls.inc();
        self.intake_messages.inc_by(processed as u64);
        if processed > 0 {
            self.cycle_seconds.observe(took.as_secs_f64());
        }
        self.last_poll.set(unix_now());
        self.activity.lock().expect("metrics lock").last_poll = Some(Instant::now());
    }

    /// An intake cycle failed (the source reconnects with backoff).
    pub fn poll_failed(&self) {
        self.poll_failures.inc();
    }

    /// A mail was handed over.
    pub fn mail_sent(&self) {
        self.mails_sent.inc();
    }

    /// A mail was not handed over.
    pub fn send_failed(&self, why: SendFailure) {
        self.send_failures
            .get_or_create(&vec![("kind", why.label().into())])
            .inc();
    }

    /// The `/healthz` verdict: healthy while standing by; while holding the
    /// lease, healthy as long as the last successful poll (or, before the
    /// first one, taking the lease) is at most `poll_stale` ago.
    pub fn health(&self, poll_stale: Duration) -> Health {
        let a = self.activity.lock().expect("metrics lock");
        let Some(since) = a.active_since else {
            return Health {
                ok: true,
                reason: "standby: another instance holds the lease (or none does yet)".into(),
            };
        };
        let (what, at) = match a.last_poll {
            Some(p) if p >= since => ("last successful poll", p),
            _ => ("no successful poll since taking the lease", since),
        };
        let age = at.elapsed();
        if age > poll_stale {
            Health {
                ok: false,
                reason: format!(
                    "active, but {what} {} s ago (limit {} s, [metrics] poll_stale_seconds)",
                    age.as_secs(),
                    poll_stale.as_secs()
                ),
            }
        } else {
            Health {
                ok: true,
                reason: format!("active: {what} {} s ago", age.as_secs()),
            }
        }
    }

    /// The Prometheus text (format 0.0.4) for this process and, when it could
    /// be read, the database snapshot.
    pub fn encode(&self, db: Option<&Snapshot>) -> String {
        let mut r = Registry::with_prefix("cfpd");
        let info: Family<Labels, Gauge> = Family::default();
        info.get_or_create(&vec![("id", self.instance())]).set(1);
        r.register(
            "instance_info",
            "This process's instance id (its lease holder id when it runs the daemon)",
            info,
        );
        r.register(
            "process_start_time_seconds",
            "Unix time this process started",
            self.start_time.clone(),
        );
        r.register(
            "lease_held",
            "1 while this process holds the instance lease and does the work, 0 on standby",
            self.lease_held.clone(),
        );
        r.register(
            "polls",
            "Intake cycles (fetch, process, file away) this process completed",
            self.polls.clone(),
        );
        r.register(
            "poll_failures",
            "Intake cycles that failed (mail server or database unreachable); the source reconnects with backoff",
            self.poll_failures.clone(),
        );
        r.register(
            "instance_last_poll_timestamp_seconds",
            "Unix time of this process's last completed intake cycle (0: none)",
            self.last_poll.clone(),
        );
        r.register(
            "intake_messages",
            "Messages this process brought to a terminal state",
            self.intake_messages.clone(),
        );
        r.register(
            "intake_cycle_duration_seconds",
            "Duration of intake cycles that processed at least one message",
            self.cycle_seconds.clone(),
        );
        r.register(
            "mails_sent",
            "Mails this process handed to the SMTP server (or wrote as .eml files)",
            self.mails_sent.clone(),
        );
        r.register(
            "send_failures",
            "Mails not handed over, by kind: unreachable (server down), temporary (4xx, retried), permanent (5xx, failed), uncertain (connection lost after the body)",
            self.send_failures.clone(),
        );
        let up: Gauge = Gauge::default();
        up.set(db.is_some() as i64);
        r.register(
            "database_up",
            "1 when this scrape read the database-wide facts below; 0 when the database did not answer in time (they are then missing)",
            up,
        );
        if let Some(s) = db {
            register_snapshot(&mut r, s);
        }
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &r)
            .expect("writing to a String cannot fail");
        out
    }
}

/// A gauge family with one series per `(label value, count)`.
fn per(label: &'static str, rows: &[(String, i64)]) -> Family<Labels, Gauge> {
    let f: Family<Labels, Gauge> = Family::default();
    for (v, n) in rows {
        f.get_or_create(&vec![(label, v.clone())]).set(*n);
    }
    f
}

fn gauge(v: i64) -> Gauge {
    let g = Gauge::default();
    g.set(v);
    g
}

fn float(v: f64) -> FloatGauge {
    let g = FloatGauge::default();
    g.set(v);
    g
}

/// The database-wide facts, as gauges (same numbers on every instance).
fn register_snapshot(r: &mut Registry, s: &Snapshot) {
    let messages: Family<Labels, Gauge> = Family::default();
    // Every known state is present (at 0 without messages), so alerts and
    // rate() see a series before the first message of that state arrives.
    for (state, n) in &Snapshot::ordered(&s.messages) {
        let with_reason: i64 = s
            .message_reasons
            .iter()
            .filter(|(st, _, _)| st.as_str() == state)
            .map(|(_, reason, c)| {
                messages
                    .get_or_create(&vec![
                        ("state", state.clone()),
                        ("reason", reason.as_str().to_string()),
                    ])
                    .set(*c);
                *c
            })
            .sum();
        if *n > with_reason || *n == 0 {
            messages
                .get_or_create(&vec![("state", state.clone()), ("reason", String::new())])
                .set(n - with_reason);
        }
    }
    r.register(
        "messages",
        "Stored messages by state (received = not processed yet) and reason code (empty: none); database-wide",
        messages,
    );
    r.register(
        "proposals",
        "Proposals by status; database-wide",
        per("status", &Snapshot::ordered(&s.proposals)),
    );
    r.register(
        "reviews_pending",
        "Reviews owed by reviewers (active assignments without a review); database-wide",
        gauge(s.reviews_pending),
    );
    r.register(
        "outbox_mails",
        "Outgoing mails by state (queued, sending, sent, failed, uncertain, suppressed); database-wide",
        per("state", &Snapshot::ordered(&s.outbox)),
    );
    r.register(
        "outbox_oldest_queued_age_seconds",
        "How long the mail queued longest ago has waited (0: nothing queued); database clock",
        float(s.oldest_queued_age_ms() as f64 / 1000.0),
    );
    r.register(
        "bounces",
        "Bounce reports recorded for our mails, by kind (hard 5.x.x, soft 4.x.x); database-wide",
        per(
            "kind",
            &[
                ("hard".into(), s.bounces_hard),
                ("soft".into(), s.bounces_soft),
            ],
        ),
    );
    r.register(
        "undeliverable_addresses",
        "Addresses cfpd no longer mails (a hard bounce, or repeated soft bounces); database-wide",
        gauge(s.undeliverable),
    );
    let holder: Family<Labels, Gauge> = Family::default();
    if let Some(l) = s.holder() {
        holder
            .get_or_create(&vec![("holder", l.holder.clone())])
            .set(1);
    }
    r.register(
        "lease_holder_info",
        "The instance that holds the lease now (no series: nobody does)",
        holder,
    );
    let expires_in = s
        .lease
        .as_ref()
        .map_or(0, |l| (l.expires_at - s.now).max(0));
    r.register(
        "lease_expires_in_seconds",
        "Seconds until the lease lapses unless renewed; 0: no instance holds it",
        float(expires_in as f64 / 1000.0),
    );
    r.register(
        "lease_generation",
        "How many times the lease changed hands (1: the first holder still has it)",
        gauge(s.lease.as_ref().map_or(0, |l| l.generation)),
    );
    r.register(
        "last_poll_timestamp_seconds",
        "Unix time the lease holder (any instance) last polled the mailbox successfully (0: never); database clock",
        float(s.last_poll.as_ref().map_or(0, |p| p.at) as f64 / 1000.0),
    );
    r.register(
        "last_poll_age_seconds",
        "Seconds since any instance last polled the mailbox successfully (-1: never); database clock",
        float(
            s.last_poll
                .as_ref()
                .map_or(-1.0, |p| (s.now - p.at).max(0) as f64 / 1000.0),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MessageState, OutboxState, Reason};
    use crate::store::status::{LeaseRow, Poll};

    /// The value of the series whose line starts with `prefix` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    #[test]
    fn process_counters_and_database_facts_are_exposed_in_the_text_format() {
        let m = Metrics::new();
        m.set_instance("h:1:42:abcd");
        m.poll_succeeded(3, Duration::from_millis(20));
        m.mail_sent();
        m.mail_sent();
        m.send_failed(SendFailure::Unreachable);
        let snap = Snapshot {
            now: 10_000_000,
            messages: vec![(MessageState::Accepted, 5), (MessageState::Rejected, 3)],
            message_reasons: vec![
                (MessageState::Rejected, Reason::MissingFields, 2),
                (MessageState::Rejected, Reason::TooLarge, 1),
            ],
            outbox: vec![(OutboxState::Queued, 2), (OutboxState::Sent, 7)],
            oldest_queued_at: Some(10_000_000 - 90_500),
            bounces_hard: 1,
            bounces_soft: 2,
            undeliverable: 1,
            lease: Some(LeaseRow {
                holder: "h:1:42:abcd".into(),
                acquired_at: 0,
                expires_at: 10_012_000,
                generation: 3,
            }),
            last_poll: Some(Poll {
                holder: "h:1:42:abcd".into(),
                at: 9_998_000,
            }),
            ..Snapshot::default()
        };
        let t = m.encode(Some(&snap));
        assert!(t.contains("# TYPE cfpd_mails_sent_total counter\n"), "{t}");
        assert_eq!(value(&t, "cfpd_mails_sent_total"), Some(2.0));
        assert_eq!(value(&t, "cfpd_intake_messages_total"), Some(3.0));
        assert_eq!(
            value(&t, "cfpd_send_failures_total{kind=\"unreachable\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "cfpd_send_failures_total{kind=\"permanent\"}"),
            Some(0.0),
            "every kind is there from the start"
        );
        assert_eq!(
            value(&t, "cfpd_instance_info{id=\"h:1:42:abcd\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "cfpd_messages{state=\"accepted\",reason=\"\"}"),
            Some(5.0)
        );
        assert_eq!(
            value(
                &t,
                "cfpd_messages{state=\"rejected\",reason=\"missing_fields\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            value(&t, "cfpd_messages{state=\"rejected\",reason=\"\"}"),
            None,
            "every rejected message has a reason"
        );
        assert_eq!(value(&t, "cfpd_outbox_mails{state=\"queued\"}"), Some(2.0));
        assert_eq!(
            value(&t, "cfpd_outbox_mails{state=\"uncertain\"}"),
            Some(0.0),
            "known states are there at 0"
        );
        assert_eq!(
            value(&t, "cfpd_messages{state=\"received\",reason=\"\"}"),
            Some(0.0)
        );
        assert_eq!(
            value(&t, "cfpd_outbox_oldest_queued_age_seconds"),
            Some(90.5)
        );
        assert_eq!(value(&t, "cfpd_bounces{kind=\"soft\"}"), Some(2.0));
        assert_eq!(
            value(&t, "cfpd_lease_holder_info{holder=\"h:1:42:abcd\"}"),
            Some(1.0)
        );
        assert_eq!(value(&t, "cfpd_lease_expires_in_seconds"), Some(12.0));
        assert_eq!(value(&t, "cfpd_last_poll_age_seconds"), Some(2.0));
        assert_eq!(value(&t, "cfpd_database_up"), Some(1.0));
        // Without the database: process facts only, and database_up says why.
        let t = m.encode(None);
        assert_eq!(value(&t, "cfpd_database_up"), Some(0.0));
        assert!(!t.contains("cfpd_outbox_mails"), "{t}");
        assert_eq!(value(&t, "cfpd_mails_sent_total"), Some(2.0));
    }

    #[test]
    fn healthy_on_standby_and_while_polls_are_recent() {
        let m = Metrics::new();
        let limit = Duration::from_millis(50);
        assert!(m.health(limit).ok, "standby is healthy");
        m.set_active(true);
        let h = m.health(limit);
        assert!(h.ok && h.reason.contains("no successful poll"), "{h:?}");
        std::thread::sleep(Duration::from_millis(80));
        let h = m.health(limit);
        assert!(!h.ok, "active and no poll within the limit: {h:?}");
        m.poll_succeeded(0, Duration::ZERO);
        assert!(m.health(limit).ok);
        std::thread::sleep(Duration::from_millis(80));
        let h = m.health(limit);
        assert!(!h.ok && h.reason.contains("last successful poll"), "{h:?}");
        m.set_active(false);
        assert!(m.health(limit).ok, "back on standby");
    }
}
