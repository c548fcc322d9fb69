//! `cfpd.toml`: what a chair configures, loaded and validated in one place.
//!
//! Every error names the file, the line and the key, because the person
//! reading it is editing that file; lines come from the spans the `toml`
//! crate records (`locate`). Relative paths are resolved against the
//! config file's folder, so a config works the same from any working
//! directory. Secrets never appear in the file in clear (`login`).
//!
//! One file per table: each holds the table's validated type, its serde
//! shape and the checks that turn one into the other. The time vocabulary
//! (zones, reminder rules) lives in [`crate::calendar`] and the proposal
//! rules in [`crate::proposal`], so neither imports configuration.

mod conference;
mod database;
mod decisions;
mod fields;
mod locate;
mod login;
mod mailbox;
mod metrics;
mod oauth2;
mod outgoing;
mod proposals;
mod reminders;
mod templates;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use conference::{Conference, ReviewRules};
pub use decisions::{DecisionRules, Promote};
pub use fields::blind_warnings;
pub use login::{AuthMethod, Secret, SecretError, TlsMode};
pub use mailbox::{ImapConfig, MailboxConfig};
pub use metrics::MetricsConfig;
pub use oauth2::{OAuth2Config, OAuth2Provider};
pub use outgoing::{OutgoingConfig, SmtpConfig};
pub use proposals::{AttachmentLimits, Limits};
pub use templates::{OverrideFile, Overrides};

use crate::calendar::rules::Rule;
use crate::proposal::ProposalRules;
use locate::Locator;

/// A configuration problem, pointing at the file, line and key to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read config: {cause}", path.display())]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why reading failed: part of the message, not a separate source, so
        /// that an error chain (`{:#}`) shows it once.
        cause: std::io::Error,
    },
    /// The file was read but a value is wrong.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        /// Which file.
        path: PathBuf,
        /// 1-based line of the offending key (or of its table when the key is missing).
        line: usize,
        /// Dotted key, e.g. `mailbox.tls`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config was loaded from; relative paths are resolved against its folder.
    pub path: PathBuf,
    /// Conference identity, deadlines and time zone.
    pub conference: Conference,
    /// Where inbound mail comes from.
    pub mailbox: MailboxConfig,
    /// How outbound mail leaves.
    pub outgoing: OutgoingConfig,
    /// `[oauth2]`: the provider and refresh token shared by IMAP and SMTP when
    /// either says `auth = "oauth2"` (one refresh token serves both at Google
    /// and Microsoft); `None` when both use passwords.
    pub oauth2: Option<OAuth2Config>,
    /// Database URL (SQLite file by default).
    pub database_url: String,
    /// How long the instance lease lasts unless renewed (`[database] lease_seconds`):
    /// after a crash, another instance (or the restarted one) takes over at most this
    /// long after the last renewal. Short means fast failover; long tolerates a slow
    /// database without instances taking the lease from each other.
    pub lease: std::time::Duration,
    /// Rules a proposal must satisfy to be complete.
    pub proposals: ProposalRules,
    /// Attachment limits for every mail a person sends.
    pub attachments: AttachmentLimits,
    /// Limits that protect people from being flooded by cfpd.
    pub limits: Limits,
    /// Path of a custom topic file, if the conference replaces the default set.
    pub topics_file: Option<PathBuf>,
    /// Chair addresses (alerts and digests).
    pub chairs: Vec<String>,
    /// `[mailbox] authserv_id`: the authserv-id our own MX writes into
    /// `Authentication-Results` (RFC 8601). Only those headers are believed
    /// (anyone can write one into a mail); `None` ignores them all.
    pub authserv_id: Option<String>,
    /// Review settings.
    pub review: ReviewRules,
    /// Reminder rules: the `[[reminders]]` tables, or the defaults generated
    /// from the deadlines when there are none (`reminders = []` turns them off).
    pub reminders: Vec<Rule>,
    /// Addresses of the `announce` audience (e.g. the conference announcement
    /// list), from `[announce] addresses`.
    pub announce: Vec<String>,
    /// `[metrics]`: the HTTP endpoint and the thresholds `/healthz` and
    /// `cfpd status` judge by.
    pub metrics: MetricsConfig,
    /// `[decisions]`: how decisions are told.
    pub decisions: DecisionRules,
    /// `[templates] dir` (read at load) and `[conference] language`: the
    /// chair's own wording of the mails; empty when there is none.
    pub templates: std::sync::Arc<Overrides>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    conference: conference::RawConference,
    mailbox: mailbox::RawMailbox,
    outgoing: outgoing::RawOutgoing,
    #[serde(default)]
    database: database::RawDatabase,
    #[serde(default)]
    proposals: proposals::RawProposals,
    #[serde(default)]
    limits: proposals::RawLimits,
    #[serde(default)]
    topics: RawTopics,
    #[serde(default)]
    review: conference::RawReview,
    /// `None`: no `[[reminders]]` at all (defaults apply); `Some(empty)`: `reminders = []`.
    #[serde(default)]
    reminders: Option<Vec<reminders::RawReminder>>,
    #[serde(default)]
    announce: conference::RawAnnounce,
    #[serde(default)]
    metrics: metrics::RawMetrics,
    #[serde(default)]
    decisions: decisions::RawDecisions,
    oauth2: Option<oauth2::RawOAuth2>,
    #[serde(default)]
    templates: templates::RawTemplates,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTopics {
    file: Option<String>,
}

pub(super) fn default_true() -> bool {
    true
}

pub(super) fn default_timeout() -> u64 {
    30
}

impl Config {
    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Config::from_str(&src, path)
    }

    /// Parse and validate config text; `path` is used for error messages and relative paths.
    /// Tables are checked in the order a chair reads the file, so the first
    /// error reported is the first one in the example config's order.
    pub fn from_str(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let loc = Locator::new(src, path);
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line: e.span().map_or(1, |s| loc.line_of(s.start)),
                key: loc.dotted_key_at(offset),
                message: e.message().trim().to_string(),
            }
        })?;
        let base = base_folder(path);
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let conference = conference::conference(&loc, &raw.conference)?;
        let mailbox = mailbox::mailbox(&loc, &raw.mailbox, &resolve)?;
        let outgoing = outgoing::outgoing(&loc, &raw.outgoing, &resolve)?;
        let oauth2 = oauth2::oauth2(&loc, raw.oauth2.as_ref(), &mailbox, &outgoing, &resolve)?;
        let authserv_id = mailbox::authserv_id(&loc, &raw.mailbox)?;
        let (database_url, lease) = database::database(&loc, &raw.database, &base)?;
        let (proposals, attachments) =
            proposals::proposals(&loc, &raw.proposals, raw.review.blind)?;
        let limits = proposals::limits(&loc, &raw.limits)?;
        let review = conference::review(&loc, &raw.review)?;
        let announce = conference::announce(&loc, &raw.announce)?;
        let decisions = decisions::decisions(&loc, &raw.decisions, &conference.zone)?;
        let deadlines = reminders::Deadlines {
            zone: &conference.zone,
            cfp: conference.cfp_deadline,
            review: conference.review_deadline,
            has_chairs: !raw.conference.chairs.is_empty(),
            has_announce: !announce.is_empty(),
            confirm_by: decisions.confirm_by,
        };
        let reminders = reminders::reminders(&loc, raw.reminders.as_deref(), &deadlines)?;
        let metrics = metrics::metrics_config(&loc, &raw.metrics, &mailbox)?;
        let templates = templates::overrides(
            &loc,
            &raw.templates,
            raw.conference.language.as_deref(),
            &resolve,
        )?;
        Ok(Config {
            templates,
            metrics,
            decisions,
            reminders,
            announce,
            review,
            path: path.to_path_buf(),
            conference,
            chairs: raw.conference.chairs.clone(),
            authserv_id,
            mailbox,
            outgoing,
            oauth2,
            database_url,
            lease,
            proposals,
            attachments,
            limits,
            topics_file: raw.topics.file.as_deref().map(resolve),
        })
    }

    /// The review form's scales (`[review] score_min` … `confidence_max`).
    pub fn form_spec(&self) -> crate::review::form::FormSpec {
        let r = &self.review;
        crate::review::form::FormSpec {
            score_min: r.score_min,
            score_max: r.score_max,
            confidence_min: r.confidence_min,
            confidence_max: r.confidence_max,
        }
    }

    /// `[decisions] confirm_by` as shown in mails (conference zone, then UTC), if set.
    pub fn confirm_by_text(&self) -> Option<String> {
        let c = &self.conference;
        self.decisions
            .confirm_by
            .map(|d| format!("{} ({} UTC)", c.zone.format(d), d.format("%Y-%m-%d %H:%M")))
    }

    /// The review deadline as shown in mails (conference zone, then UTC), if one is set.
    pub fn review_deadline_text(&self) -> Option<String> {
        let c = &self.conference;
        c.review_deadline
            .map(|d| format!("{} ({} UTC)", c.zone.format(d), d.format("%Y-%m-%d %H:%M")))
    }

    /// One warning per deadline already past at `now`, naming the key and the
    /// time in the conference zone and in UTC (what `cfpd check` and `cfpd run`
    /// tell the chair: a CFP deadline in the past files every new proposal late).
    pub fn past_deadlines(&self, now: DateTime<Utc>) -> Vec<String> {
        let c = &self.conference;
        let mut out = Vec::new();
        if c.cfp_deadline + c.grace < now {
            out.push(format!(
                "conference.cfp_deadline {} is in the past: every new proposal is filed \
                 late (fix the date in {} if the call is still open)",
                c.zone.format_with_utc(c.cfp_deadline),
                self.path.display()
            ));
        }
        if let Some(r) = c.review_deadline.filter(|r| *r < now) {
            out.push(format!(
                "conference.review_deadline {} is in the past: review replies are \
                 answered \"review is closed\"",
                c.zone.format_with_utc(r)
            ));
        }
        out
    }

    /// The domain of the CFP address (used for Message-IDs and reply-token addresses).
    pub fn cfp_domain(&self) -> &str {
        self.conference
            .cfp_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost")
    }

    /// The local part of the CFP address.
    pub fn cfp_local(&self) -> &str {
        self.conference
            .cfp_address
            .rsplit_once('@')
            .map(|(l, _)| l)
            .unwrap_or("cfp")
    }
}

/// The folder relative paths are resolved against: the config file's own.
fn base_folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The commented example config (its deadlines are fixed, for tests; `cfpd
/// init` writes [`example_config`]).
pub const EXAMPLE_CONFIG: &str = include_str!("../../examples/cfpd.example.toml");

/// The example config as `cfpd init` writes it: the CFP deadline 8 weeks
/// after `today` and the (commented) review deadline 4 weeks after that, so a
/// fresh install does not file every proposal late.
pub fn example_config(today: chrono::NaiveDate) -> String {
    let cfp = today + chrono::Days::new(56);
    let review = cfp + chrono::Days::new(28);
    EXAMPLE_CONFIG
        .replace(
            "cfp_deadline = \"2024-04-24T23:59:59\"",
            &format!("cfp_deadline = \"{}T23:59:59\"", cfp.format("%Y-%m-%d")),
        )
        .replace(
            "review_deadline = \"2024-05-20T23:59:59\"",
            &format!(
                "review_deadline = \"{}T23:59:59\"",
                review.format("%Y-%m-%d")
            ),
        )
}
