//! `cfpd.toml`: what a chair configures, loaded and validated in one place.
//!
//! Every error names the file, the line and the key, because the person
//! reading it is editing that file. Relative paths are resolved against the
//! config file's folder, so a config works the same from any working
//! directory. Secrets never appear in the file in clear: a `password` key is
//! refused, and `password_env` / `password_file` / `password_credential`
//! name where the secret lives.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::calendar::rules::{self, Audience, Origin, Rule, TemplateName};
use crate::calendar::zone::parse_local;
use crate::calendar::Zone;
use crate::proposal::{looks_like_address, ProposalRules, PROPOSAL_FIELDS};

/// A configuration problem, pointing at the file, line and key to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read config: {source}")]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
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
}

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

impl MailboxConfig {
    /// The longest a healthy source waits between two polls: the poll
    /// interval, or with IMAP IDLE the renewal period (a quiet mailbox is
    /// only re-checked then).
    pub fn wait_interval(&self) -> std::time::Duration {
        match self {
            MailboxConfig::Imap(i) if i.idle => i.idle_renew.max(i.poll_interval),
            MailboxConfig::Imap(i) => i.poll_interval,
            MailboxConfig::Maildir { .. } => std::time::Duration::from_secs(2),
        }
    }
}

/// How review works.
#[derive(Debug, Clone)]
pub struct ReviewRules {
    /// Reviewers each proposal gets (K).
    pub reviewers_per_proposal: u32,
    /// Lowest score on the form.
    pub score_min: i64,
    /// Highest score on the form.
    pub score_max: i64,
    /// Lowest confidence.
    pub confidence_min: i64,
    /// Highest confidence.
    pub confidence_max: i64,
    /// Hide speaker names, addresses and bios from reviewers.
    pub blind: bool,
}

/// Conference identity and time.
#[derive(Debug, Clone)]
pub struct Conference {
    /// Shown in every mail.
    pub name: String,
    /// The address speakers write to; its local part carries reply tokens (`cfp+<token>@…`).
    pub cfp_address: String,
    /// The zone in which deadlines are stated and shown.
    pub zone: Zone,
    /// The CFP deadline as an instant.
    pub cfp_deadline: DateTime<Utc>,
    /// How long after the deadline proposals are still accepted silently.
    pub grace: chrono::Duration,
    /// The review deadline as an instant: review replies after it get "review is
    /// closed", and reviewer reminders count towards it. `None` until the chair sets it.
    pub review_deadline: Option<DateTime<Utc>>,
}

/// TLS mode for IMAP and SMTP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain connect, then STARTTLS before authenticating (SMTP 587, IMAP 143).
    Starttls,
    /// No encryption. Only when the config says so explicitly (loopback tests, local relays).
    None,
}

/// A secret's location: never the secret itself.
#[derive(Debug, Clone)]
pub enum Secret {
    /// Read from this environment variable at use.
    Env(String),
    /// Read from this file at use (trailing newline stripped).
    File(PathBuf),
    /// Read at use from the file of this name in `$CREDENTIALS_DIRECTORY`,
    /// where systemd puts what `LoadCredential=` loaded: the service reads a
    /// copy only it can see, and the source file can stay root's alone.
    Credential(String),
    /// No secret configured (e.g. an unauthenticated local relay).
    None,
}

impl Secret {
    /// Resolve the secret now. The error names where it looked, never the value.
    pub fn resolve(&self) -> Result<Option<String>, String> {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        self.resolve_with(dir.as_deref())
    }

    /// [`Secret::resolve`] with the credentials directory given rather than
    /// read from `$CREDENTIALS_DIRECTORY` (`None`: not set).
    pub fn resolve_with(&self, credentials_dir: Option<&Path>) -> Result<Option<String>, String> {
        match self {
            Secret::None => Ok(None),
            Secret::Env(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| format!("environment variable {var} is not set")),
            Secret::File(p) => read_secret_file(p).map(Some),
            Secret::Credential(name) => {
                let dir = credentials_dir.ok_or_else(|| {
                    format!(
                        "credential {name:?}: CREDENTIALS_DIRECTORY is not set (run under systemd with \
                         LoadCredential={name}:/path/to/secret, or set CREDENTIALS_DIRECTORY to a folder \
                         holding a file named {name})"
                    )
                })?;
                read_secret_file(&dir.join(name))
                    .map(Some)
                    .map_err(|e| format!("credential {name:?}: {e}"))
            }
        }
    }

    /// Where the secret lives, for messages ("file /etc/cfpd/token",
    /// "environment variable CFPD_TOKEN"); never the value.
    pub fn location(&self) -> String {
        match self {
            Secret::Env(var) => format!("environment variable {var}"),
            Secret::File(p) => format!("file {}", p.display()),
            Secret::Credential(name) => format!("systemd credential {name}"),
            Secret::None => "nowhere (not configured)".into(),
        }
    }
}

/// How IMAP or SMTP logs in (`auth` in `[mailbox]` and `[outgoing]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `LOGIN` / `AUTH PLAIN` with the configured password (the default).
    Password,
    /// SASL XOAUTH2 with an access token from `[oauth2]`.
    OAuth2,
}

/// Which OAuth2 provider issues the tokens; presets fill in the endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuth2Provider {
    /// Google (Gmail, Google Workspace).
    Google,
    /// Microsoft identity platform (Microsoft 365, Exchange Online).
    Microsoft {
        /// Directory (tenant) ID or domain: the endpoints are per tenant.
        tenant: String,
    },
    /// Any other provider: endpoints from the config.
    Custom,
}

/// `[oauth2]`: where access tokens come from.
#[derive(Debug, Clone)]
pub struct OAuth2Config {
    /// The provider preset, which decides the endpoints and default scopes.
    pub provider: OAuth2Provider,
    /// Token endpoint (refresh_token grant); HTTPS except on loopback.
    pub token_url: String,
    /// Authorization endpoint, for `cfpd oauth2 authorize` (browser consent).
    pub auth_url: Option<String>,
    /// The OAuth client (application) ID; public, so it lives in the file.
    pub client_id: String,
    /// The client secret, if the client has one (Google's always do; public
    /// Microsoft clients do not).
    pub client_secret: Secret,
    /// Where the refresh token lives. A file is rewritten (atomically, 0600)
    /// when the provider rotates the token, so the new one survives restarts.
    pub refresh_token: Secret,
    /// Scopes asked for at authorization; sent with each refresh too, except
    /// to Google (whose refresh grant takes none).
    pub scopes: Vec<String>,
    /// Whether `scopes` go with each refresh request.
    pub scope_on_refresh: bool,
    /// Timeout for one token request.
    pub timeout: std::time::Duration,
    /// Extra PEM CA file to trust for the endpoints (private providers).
    pub ca_file: Option<PathBuf>,
}

impl fmt::Display for Secret {
    /// Where the secret is looked for (never its value), as `cfpd check` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(var) => write!(f, "environment variable {var}"),
            Secret::File(p) => write!(f, "file {}", p.display()),
            Secret::Credential(name) => write!(f, "systemd credential {name}"),
            Secret::None => f.write_str("none"),
        }
    }
}

/// A secret file's contents without the trailing newline; the error names the file.
fn read_secret_file(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("cannot read secret file {}: {e}", p.display()))
}

/// Inbound mail source.
#[derive(Debug, Clone)]
pub enum MailboxConfig {
    /// A real IMAP mailbox.
    Imap(Box<ImapConfig>),
    /// A local Maildir (demo and offline use).
    Maildir {
        /// The Maildir folder (with `new/`, `cur/`, `tmp/`).
        path: PathBuf,
    },
}

/// IMAP connection settings.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Server host name (also the TLS server name).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub tls: TlsMode,
    /// Extra PEM CA file to trust (private CAs, test servers).
    pub ca_file: Option<PathBuf>,
    /// Login name.
    pub user: String,
    /// How to log in: the password, or an OAuth2 access token (XOAUTH2).
    pub auth: AuthMethod,
    /// Where the password lives (`Secret::None` with `auth = "oauth2"`).
    pub password: Secret,
    /// Folder watched for new mail.
    pub inbox: String,
    /// Where handled mail is moved after the database commit.
    pub processed_folder: String,
    /// Where rejected, machine and quarantined mail is moved.
    pub rejected_folder: String,
    /// Poll interval when IDLE is unavailable or disabled.
    pub poll_interval: std::time::Duration,
    /// Use IDLE when the server offers it.
    pub idle: bool,
    /// Re-issue IDLE after this much wall-clock time (RFC 2177 says servers may drop after 30 min).
    pub idle_renew: std::time::Duration,
    /// Timeout for each network call.
    pub timeout: std::time::Duration,
    /// Most messages fetched in one `UID FETCH` and stored in one
    /// transaction (a chunk also ends at [`crate::source::imap::CHUNK_BYTES`]).
    pub batch_size: usize,
}

/// Outbound mail transport.
#[derive(Debug, Clone)]
pub enum OutgoingConfig {
    /// SMTP submission.
    Smtp(SmtpConfig),
    /// Write each mail as an `.eml` file into a folder (demo, offline).
    Folder {
        /// The folder.
        path: PathBuf,
    },
}

/// SMTP submission settings.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name (also the TLS server name).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub tls: TlsMode,
    /// Extra PEM CA file to trust.
    pub ca_file: Option<PathBuf>,
    /// Login name; `None` for an unauthenticated relay.
    pub user: Option<String>,
    /// How to log in: the password, or an OAuth2 access token (XOAUTH2).
    pub auth: AuthMethod,
    /// Where the password lives (`Secret::None` with `auth = "oauth2"`).
    pub password: Secret,
    /// Timeout for each network call.
    pub timeout: std::time::Duration,
    /// Parallel connections the sender keeps open.
    pub connections: usize,
}

/// Attachment limits (`[proposals] max_attachments`, `max_attachment_bytes`,
/// `blocked_attachment_extensions`), for every mail a person sends.
#[derive(Debug, Clone)]
pub struct AttachmentLimits {
    /// At most this many attachments per mail (inline signature images count);
    /// more is refused with a reply naming the limit.
    pub max_attachments: usize,
    /// At most this many bytes per attachment (decoded).
    pub max_attachment_bytes: usize,
    /// File name extensions (lower case, no dot) refused as attachments:
    /// executables and scripts, which a mail archive should never hold.
    pub blocked_attachment_extensions: Vec<String>,
}

/// Flood protection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Automatic replies to one address per 24 hours, at most.
    pub replies_per_address_per_day: u32,
    /// "Your review form could not be read" replies to one reviewer per 24 hours, at most:
    /// a reviewer whose client mangles the form gets a few clear answers, not a flood.
    pub review_help_per_day: u32,
    /// Automatic replies to mail within one conversation (mail with References or
    /// In-Reply-To, keyed by the root) per 24 hours, at most, besides the answer to the mail
    /// that started it: two auto-responders that strip RFC 3834 headers cannot ping-pong.
    pub replies_per_thread_per_day: u32,
    /// Global circuit breaker: when this many automatic replies to conversation mail (mail
    /// that answers an earlier mail) were queued within `circuit_breaker_minutes`, cfpd stops
    /// automatic replies (it keeps recording everything) and alerts the chairs once. First
    /// contact (new proposals) does not count, so a legitimate backlog never trips it.
    pub circuit_breaker_replies: u32,
    /// The circuit breaker's window, in minutes; it closes by itself once the window holds
    /// fewer replies again.
    pub circuit_breaker_minutes: u32,
    /// Soft bounces (4.x.x, delays) of this many distinct mails make an address undeliverable,
    /// like one hard bounce (5.x.x) does.
    pub soft_bounce_threshold: u32,
}

// ---- raw (serde) layer -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    conference: RawConference,
    mailbox: RawMailbox,
    outgoing: RawOutgoing,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    proposals: RawProposals,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    topics: RawTopics,
    #[serde(default)]
    review: RawReview,
    /// `None`: no `[[reminders]]` at all (defaults apply); `Some(empty)`: `reminders = []`.
    #[serde(default)]
    reminders: Option<Vec<RawReminder>>,
    #[serde(default)]
    announce: RawAnnounce,
    #[serde(default)]
    metrics: RawMetrics,
    oauth2: Option<RawOAuth2>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
    poll_stale_seconds: Option<u64>,
    #[serde(default = "default_queue_stale")]
    queue_stale_seconds: u64,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth2 {
    provider: String,
    tenant: Option<String>,
    token_url: Option<String>,
    auth_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<toml::Value>,
    client_secret_env: Option<String>,
    client_secret_file: Option<String>,
    refresh_token: Option<toml::Value>,
    refresh_token_env: Option<String>,
    refresh_token_file: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(default = "default_timeout")]
    timeout_seconds: u64,
    ca_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReminder {
    name: toml::Spanned<String>,
    cron: toml::Spanned<String>,
    audience: toml::Spanned<String>,
    #[serde(default)]
    template: Option<toml::Spanned<String>>,
    #[serde(default)]
    from: Option<toml::Spanned<String>>,
    #[serde(default)]
    until: Option<toml::Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAnnounce {
    #[serde(default)]
    addresses: Vec<toml::Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReview {
    #[serde(default = "default_k")]
    reviewers_per_proposal: u32,
    #[serde(default = "default_score")]
    score: [i64; 2],
    #[serde(default = "default_confidence")]
    confidence: [i64; 2],
    #[serde(default = "default_true")]
    blind: bool,
}

impl Default for RawReview {
    fn default() -> Self {
        RawReview {
            reviewers_per_proposal: default_k(),
            score: default_score(),
            confidence: default_confidence(),
            blind: true,
        }
    }
}

fn default_k() -> u32 {
    3
}
fn default_score() -> [i64; 2] {
    [1, 5]
}
fn default_confidence() -> [i64; 2] {
    [1, 3]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConference {
    name: String,
    cfp_address: String,
    time_zone: String,
    cfp_deadline: String,
    #[serde(default)]
    review_deadline: Option<String>,
    #[serde(default)]
    grace_minutes: u32,
    #[serde(default)]
    chairs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    kind: String,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    ca_file: Option<String>,
    user: Option<String>,
    auth: Option<String>,
    password: Option<toml::Value>,
    password_env: Option<String>,
    password_file: Option<String>,
    password_credential: Option<String>,
    #[serde(default = "default_inbox")]
    inbox: String,
    #[serde(default = "default_processed")]
    processed_folder: String,
    #[serde(default = "default_rejected")]
    rejected_folder: String,
    #[serde(default = "default_poll")]
    poll_seconds: u64,
    #[serde(default = "default_true")]
    idle: bool,
    #[serde(default = "default_idle_renew")]
    idle_renew_minutes: u64,
    #[serde(default = "default_timeout")]
    timeout_seconds: u64,
    #[serde(default = "default_batch")]
    batch_size: usize,
    path: Option<String>,
    authserv_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutgoing {
    kind: String,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    ca_file: Option<String>,
    user: Option<String>,
    auth: Option<String>,
    password: Option<toml::Value>,
    password_env: Option<String>,
    password_file: Option<String>,
    password_credential: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_seconds: u64,
    #[serde(default = "default_connections")]
    connections: usize,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    #[serde(default = "default_db")]
    url: String,
    #[serde(default = "default_lease_seconds")]
    lease_seconds: u64,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            url: default_db(),
            lease_seconds: default_lease_seconds(),
        }
    }
}

fn default_lease_seconds() -> u64 {
    15
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProposals {
    #[serde(default = "default_required")]
    required: Vec<String>,
    #[serde(default = "default_formats")]
    formats: Vec<String>,
    #[serde(default = "default_audiences")]
    audiences: Vec<String>,
    #[serde(default = "default_word_limits")]
    word_limits: toml::Table,
    #[serde(default = "default_max_bytes")]
    max_message_bytes: usize,
    #[serde(default = "default_max_attachments")]
    max_attachments: usize,
    #[serde(default = "default_max_attachment_bytes")]
    max_attachment_bytes: usize,
    #[serde(default = "default_blocked_extensions")]
    blocked_attachment_extensions: Vec<String>,
}

fn default_max_attachments() -> usize {
    10
}

fn default_max_attachment_bytes() -> usize {
    1024 * 1024
}

fn default_blocked_extensions() -> Vec<String> {
    [
        "exe", "com", "scr", "pif", "bat", "cmd", "msi", "dll", "js", "jse", "vbs", "vbe", "wsf",
        "hta", "ps1", "jar", "lnk", "iso", "img", "apk", "app", "dmg",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for RawProposals {
    fn default() -> Self {
        RawProposals {
            required: default_required(),
            formats: default_formats(),
            audiences: default_audiences(),
            word_limits: default_word_limits(),
            max_message_bytes: default_max_bytes(),
            max_attachments: default_max_attachments(),
            max_attachment_bytes: default_max_attachment_bytes(),
            blocked_attachment_extensions: default_blocked_extensions(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default = "default_reply_cap")]
    replies_per_address_per_day: u32,
    #[serde(default = "default_review_help_cap")]
    review_help_per_day: u32,
    #[serde(default = "default_thread_cap")]
    replies_per_thread_per_day: u32,
    #[serde(default = "default_breaker_replies")]
    circuit_breaker_replies: u32,
    #[serde(default = "default_breaker_minutes")]
    circuit_breaker_minutes: u32,
    #[serde(default = "default_soft_bounces")]
    soft_bounce_threshold: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            replies_per_address_per_day: default_reply_cap(),
            review_help_per_day: default_review_help_cap(),
            replies_per_thread_per_day: default_thread_cap(),
            circuit_breaker_replies: default_breaker_replies(),
            circuit_breaker_minutes: default_breaker_minutes(),
            soft_bounce_threshold: default_soft_bounces(),
        }
    }
}

fn default_thread_cap() -> u32 {
    10
}

fn default_breaker_replies() -> u32 {
    300
}

fn default_breaker_minutes() -> u32 {
    10
}

fn default_soft_bounces() -> u32 {
    3
}

fn default_review_help_cap() -> u32 {
    3
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTopics {
    file: Option<String>,
}

fn default_inbox() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "Processed".into()
}
fn default_rejected() -> String {
    "Rejected".into()
}
fn default_poll() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_idle_renew() -> u64 {
    25
}
fn default_timeout() -> u64 {
    30
}
fn default_batch() -> usize {
    1000
}
fn default_connections() -> usize {
    1
}
fn default_db() -> String {
    "sqlite://cfpd.db".into()
}
fn default_required() -> Vec<String> {
    ["title", "format", "audience", "abstract", "description"]
        .map(String::from)
        .to_vec()
}
fn default_formats() -> Vec<String> {
    ["talk-25", "talk-45", "tutorial"]
        .map(String::from)
        .to_vec()
}
fn default_audiences() -> Vec<String> {
    ["beginner", "intermediate", "advanced"]
        .map(String::from)
        .to_vec()
}
fn default_word_limits() -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("title".into(), toml::Value::Integer(25));
    t.insert("abstract".into(), toml::Value::Integer(300));
    t.insert("description".into(), toml::Value::Integer(2000));
    t
}
fn default_max_bytes() -> usize {
    2 * 1024 * 1024
}
fn default_reply_cap() -> u32 {
    20
}

// ---- loading -------------------------------------------------------------------------

impl Config {
    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str(&src, path)
    }

    /// Parse and validate config text; `path` is used for error messages and relative paths.
    pub fn from_str(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let loc = Locator { src, path };
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| line_of(src, s.start)).unwrap_or(1);
            let key = key_at(src, line);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                key,
                message: e.message().trim().to_string(),
            }
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        // conference
        let c = &raw.conference;
        if !looks_like_address(&c.cfp_address) {
            return Err(loc.err(
                "conference",
                "cfp_address",
                "expected a mail address such as cfp@conf.example",
            ));
        }
        let zone = Zone::parse(&c.time_zone).ok_or_else(|| {
            loc.err(
                "conference",
                "time_zone",
                &format!(
                    "unknown time zone {:?}: use an IANA name such as America/Chicago, or AoE",
                    c.time_zone
                ),
            )
        })?;
        let cfp_deadline = parse_local(&c.cfp_deadline)
            .and_then(|l| zone.local_to_utc(l))
            .ok_or_else(|| {
                loc.err(
                    "conference",
                    "cfp_deadline",
                    "expected a local time like 2024-04-24T23:59:59 that exists in time_zone",
                )
            })?;
        let review_deadline = match &c.review_deadline {
            None => None,
            Some(v) => Some(
                parse_local(v)
                    .and_then(|l| zone.local_to_utc(l))
                    .ok_or_else(|| {
                        loc.err(
                    "conference",
                    "review_deadline",
                    "expected a local time like 2024-05-20T23:59:59 that exists in time_zone",
                )
                    })?,
            ),
        };
        if review_deadline.is_some_and(|r| r <= cfp_deadline) {
            return Err(loc.err(
                "conference",
                "review_deadline",
                "must be after cfp_deadline",
            ));
        }
        for ch in &c.chairs {
            if !looks_like_address(ch) {
                return Err(loc.err(
                    "conference",
                    "chairs",
                    &format!("{ch:?} is not a mail address"),
                ));
            }
        }

        let mailbox = match raw.mailbox.kind.as_str() {
            "imap" => {
                let m = &raw.mailbox;
                let host = m
                    .host
                    .clone()
                    .ok_or_else(|| loc.err("mailbox", "host", "required for kind = \"imap\""))?;
                let tls = m.tls.ok_or_else(|| {
                    loc.err(
                        "mailbox",
                        "tls",
                        "required: \"implicit\" (port 993), \"starttls\" (143) or \"none\" (plaintext, loopback only)",
                    )
                })?;
                let port = m.port.unwrap_or(match tls {
                    TlsMode::Implicit => 993,
                    _ => 143,
                });
                let user = m
                    .user
                    .clone()
                    .ok_or_else(|| loc.err("mailbox", "user", "required for kind = \"imap\""))?;
                let password = secret(
                    &loc,
                    "mailbox",
                    "password",
                    &m.password,
                    &m.password_env,
                    &m.password_file,
                    &m.password_credential,
                    &resolve,
                )?;
                let auth = auth_method(&loc, "mailbox", m.auth.as_deref())?;
                match auth {
                    AuthMethod::Password if matches!(password, Secret::None) => {
                        return Err(loc.err(
                            "mailbox",
                            "password_env",
                            "IMAP needs a password: set password_env (a variable name), password_file or password_credential, or auth = \"oauth2\" with an [oauth2] table",
                        ));
                    }
                    AuthMethod::OAuth2 if !matches!(password, Secret::None) => {
                        return Err(oauth2_password(&loc, "mailbox", &m.password_env));
                    }
                    _ => {}
                }
                if m.batch_size == 0 {
                    return Err(loc.err("mailbox", "batch_size", "must be at least 1"));
                }
                MailboxConfig::Imap(Box::new(ImapConfig {
                    host,
                    port,
                    tls,
                    ca_file: m.ca_file.as_deref().map(resolve),
                    user,
                    auth,
                    password,
                    inbox: m.inbox.clone(),
                    processed_folder: m.processed_folder.clone(),
                    rejected_folder: m.rejected_folder.clone(),
                    poll_interval: std::time::Duration::from_secs(m.poll_seconds.max(1)),
                    idle: m.idle,
                    idle_renew: std::time::Duration::from_secs(
                        60 * m.idle_renew_minutes.clamp(1, 28),
                    ),
                    timeout: std::time::Duration::from_secs(m.timeout_seconds.max(1)),
                    batch_size: m.batch_size,
                }))
            }
            "maildir" => {
                let p =
                    raw.mailbox.path.as_deref().ok_or_else(|| {
                        loc.err("mailbox", "path", "required for kind = \"maildir\"")
                    })?;
                MailboxConfig::Maildir { path: resolve(p) }
            }
            other => {
                return Err(loc.err(
                    "mailbox",
                    "kind",
                    &format!("unknown kind {other:?}: use \"imap\" or \"maildir\""),
                ))
            }
        };

        let outgoing = match raw.outgoing.kind.as_str() {
            "smtp" => {
                let o = &raw.outgoing;
                let host = o
                    .host
                    .clone()
                    .ok_or_else(|| loc.err("outgoing", "host", "required for kind = \"smtp\""))?;
                let tls = o.tls.ok_or_else(|| {
                    loc.err(
                        "outgoing",
                        "tls",
                        "required: \"starttls\" (port 587), \"implicit\" (465) or \"none\" (plaintext, loopback only)",
                    )
                })?;
                let port = o.port.unwrap_or(match tls {
                    TlsMode::Implicit => 465,
                    TlsMode::Starttls => 587,
                    TlsMode::None => 25,
                });
                let password = secret(
                    &loc,
                    "outgoing",
                    "password",
                    &o.password,
                    &o.password_env,
                    &o.password_file,
                    &o.password_credential,
                    &resolve,
                )?;
                let auth = auth_method(&loc, "outgoing", o.auth.as_deref())?;
                if auth == AuthMethod::OAuth2 {
                    if !matches!(password, Secret::None) {
                        return Err(oauth2_password(&loc, "outgoing", &o.password_env));
                    }
                    if o.user.is_none() {
                        return Err(loc.err(
                            "outgoing",
                            "user",
                            "auth = \"oauth2\" needs user: the mailbox the refresh token was authorized for",
                        ));
                    }
                } else if o.user.is_some() == matches!(password, Secret::None) {
                    return Err(loc.err(
                        "outgoing",
                        "user",
                        "set both user and password_env/password_file/password_credential, or neither (unauthenticated relay)",
                    ));
                }
                OutgoingConfig::Smtp(SmtpConfig {
                    host,
                    port,
                    tls,
                    ca_file: o.ca_file.as_deref().map(resolve),
                    user: o.user.clone(),
                    auth,
                    password,
                    timeout: std::time::Duration::from_secs(o.timeout_seconds.max(1)),
                    connections: o.connections.clamp(1, 16),
                })
            }
            "folder" => {
                let p =
                    raw.outgoing.path.as_deref().ok_or_else(|| {
                        loc.err("outgoing", "path", "required for kind = \"folder\"")
                    })?;
                OutgoingConfig::Folder { path: resolve(p) }
            }
            other => {
                return Err(loc.err(
                    "outgoing",
                    "kind",
                    &format!("unknown kind {other:?}: use \"smtp\" or \"folder\""),
                ))
            }
        };

        let uses_oauth2 = matches!(&mailbox, MailboxConfig::Imap(i) if i.auth == AuthMethod::OAuth2)
            || matches!(&outgoing, OutgoingConfig::Smtp(s) if s.auth == AuthMethod::OAuth2);
        let oauth2 = match (&raw.oauth2, uses_oauth2) {
            (None, false) => None,
            (None, true) => {
                let table = if matches!(&mailbox, MailboxConfig::Imap(i) if i.auth == AuthMethod::OAuth2)
                {
                    "mailbox"
                } else {
                    "outgoing"
                };
                return Err(loc.err(
                    table,
                    "auth",
                    "auth = \"oauth2\" needs an [oauth2] table (provider, client_id, refresh_token_file)",
                ));
            }
            (Some(_), false) => {
                return Err(loc.err(
                    "oauth2",
                    "provider",
                    "[oauth2] is set but neither [mailbox] nor [outgoing] says auth = \"oauth2\"",
                ))
            }
            (Some(o), true) => Some(oauth2_config(&loc, o, &resolve)?),
        };

        let authserv_id = match raw.mailbox.authserv_id.as_deref().map(str::trim) {
            None => None,
            Some(a) if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == ';') => {
                return Err(loc.err(
                    "mailbox",
                    "authserv_id",
                    "expected the authserv-id your mail server writes into Authentication-Results, e.g. \"mx.example.org\"",
                ))
            }
            Some(a) => Some(a.to_ascii_lowercase()),
        };

        let database_url = resolve_db_url(&raw.database.url, &base)
            .ok_or_else(|| loc.err("database", "url", "expected sqlite://FILE or postgres://…"))?;
        if !(2..=3600).contains(&raw.database.lease_seconds) {
            return Err(loc.err(
                "database",
                "lease_seconds",
                "expected 2 to 3600 (seconds; 15 is the default)",
            ));
        }
        let lease = std::time::Duration::from_secs(raw.database.lease_seconds);

        let p = &raw.proposals;
        for f in &p.required {
            if !PROPOSAL_FIELDS.contains(&f.as_str()) {
                return Err(loc.err(
                    "proposals",
                    "required",
                    &format!(
                        "unknown field {f:?}; fields are: {}",
                        PROPOSAL_FIELDS.join(", ")
                    ),
                ));
            }
        }
        if p.formats.is_empty() {
            return Err(loc.err("proposals", "formats", "list at least one format"));
        }
        if p.audiences.is_empty() {
            return Err(loc.err("proposals", "audiences", "list at least one audience"));
        }
        let mut word_limits = Vec::new();
        for (k, v) in &p.word_limits {
            if !PROPOSAL_FIELDS.contains(&k.as_str()) {
                return Err(loc.err(
                    "proposals.word_limits",
                    k,
                    &format!("unknown field; fields are: {}", PROPOSAL_FIELDS.join(", ")),
                ));
            }
            let n = v
                .as_integer()
                .filter(|n| *n > 0)
                .ok_or_else(|| loc.err("proposals.word_limits", k, "expected a positive number"))?;
            word_limits.push((k.clone(), n as usize));
        }
        if p.max_message_bytes < 4096 {
            return Err(loc.err("proposals", "max_message_bytes", "must be at least 4096"));
        }
        for (key, v) in [
            (
                "circuit_breaker_replies",
                raw.limits.circuit_breaker_replies,
            ),
            (
                "circuit_breaker_minutes",
                raw.limits.circuit_breaker_minutes,
            ),
            ("soft_bounce_threshold", raw.limits.soft_bounce_threshold),
            (
                "replies_per_thread_per_day",
                raw.limits.replies_per_thread_per_day,
            ),
        ] {
            if v == 0 {
                return Err(loc.err("limits", key, "must be at least 1"));
            }
        }

        let rv = &raw.review;
        if rv.reviewers_per_proposal == 0 {
            return Err(loc.err("review", "reviewers_per_proposal", "must be at least 1"));
        }
        if rv.score[0] >= rv.score[1] {
            return Err(loc.err("review", "score", "write [lowest, highest], e.g. [1, 5]"));
        }
        if rv.confidence[0] >= rv.confidence[1] {
            return Err(loc.err(
                "review",
                "confidence",
                "write [lowest, highest], e.g. [1, 3]",
            ));
        }
        let mut announce = Vec::new();
        for a in &raw.announce.addresses {
            let v = a.get_ref().trim().to_ascii_lowercase();
            if !looks_like_address(&v) {
                return Err(loc.err_at(
                    a.span().start,
                    "announce.addresses",
                    &format!("{:?} is not a mail address", a.get_ref()),
                ));
            }
            if !announce.contains(&v) {
                announce.push(v);
            }
        }
        let reminders = match &raw.reminders {
            None => rules::defaults(
                &zone,
                cfp_deadline,
                review_deadline,
                !c.chairs.is_empty(),
                !announce.is_empty(),
            ),
            Some(list) => reminder_rules(
                &loc,
                list,
                &zone,
                cfp_deadline,
                review_deadline,
                !c.chairs.is_empty(),
                !announce.is_empty(),
            )?,
        };
        let metrics = metrics_config(&loc, &raw.metrics, &mailbox)?;
        Ok(Config {
            metrics,
            reminders,
            announce,
            review: ReviewRules {
                reviewers_per_proposal: rv.reviewers_per_proposal,
                score_min: rv.score[0],
                score_max: rv.score[1],
                confidence_min: rv.confidence[0],
                confidence_max: rv.confidence[1],
                blind: rv.blind,
            },
            path: path.to_path_buf(),
            conference: Conference {
                name: c.name.clone(),
                cfp_address: c.cfp_address.to_ascii_lowercase(),
                zone,
                cfp_deadline,
                grace: chrono::Duration::minutes(c.grace_minutes as i64),
                review_deadline,
            },
            chairs: c.chairs.clone(),
            authserv_id,
            mailbox,
            outgoing,
            oauth2,
            database_url,
            lease,
            proposals: ProposalRules {
                required: p.required.clone(),
                formats: p.formats.iter().map(|s| s.to_ascii_lowercase()).collect(),
                audiences: p.audiences.iter().map(|s| s.to_ascii_lowercase()).collect(),
                word_limits,
                max_message_bytes: p.max_message_bytes,
            },
            attachments: AttachmentLimits {
                max_attachments: p.max_attachments,
                max_attachment_bytes: p.max_attachment_bytes,
                blocked_attachment_extensions: p
                    .blocked_attachment_extensions
                    .iter()
                    .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                    .collect(),
            },
            limits: Limits {
                replies_per_address_per_day: raw.limits.replies_per_address_per_day,
                review_help_per_day: raw.limits.review_help_per_day,
                replies_per_thread_per_day: raw.limits.replies_per_thread_per_day,
                circuit_breaker_replies: raw.limits.circuit_breaker_replies,
                circuit_breaker_minutes: raw.limits.circuit_breaker_minutes,
                soft_bounce_threshold: raw.limits.soft_bounce_threshold,
            },
            topics_file: raw.topics.file.as_deref().map(resolve),
        })
    }

    /// The review deadline as shown in mails (conference zone, then UTC), if one is set.
    pub fn review_deadline_text(&self) -> Option<String> {
        let c = &self.conference;
        c.review_deadline
            .map(|d| format!("{} ({} UTC)", c.zone.format(d), d.format("%Y-%m-%d %H:%M")))
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

/// Validate `[[reminders]]` tables into rules. Each rule's window is
/// resolved against the deadline its audience is about.
#[allow(clippy::too_many_arguments)]
fn reminder_rules(
    loc: &Locator<'_>,
    list: &[RawReminder],
    zone: &Zone,
    cfp_deadline: DateTime<Utc>,
    review_deadline: Option<DateTime<Utc>>,
    has_chairs: bool,
    has_announce: bool,
) -> Result<Vec<Rule>, ConfigError> {
    let mut out: Vec<Rule> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let key = |k: &str| format!("reminders[{i}].{k}");
        let name = r.name.get_ref().trim().to_string();
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(loc.err_at(
                r.name.span().start,
                &key("name"),
                "use 1-64 characters a-z, 0-9, - and _ (the name identifies the rule in the reminder ledger)",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(loc.err_at(
                r.name.span().start,
                &key("name"),
                &format!("another rule is already called {name:?}; names must be unique"),
            ));
        }
        let cron = rules::parse_cron(r.cron.get_ref().trim())
            .map_err(|m| loc.err_at(r.cron.span().start, &key("cron"), &m))?;
        let audience = Audience::parse(r.audience.get_ref().trim()).ok_or_else(|| {
            loc.err_at(
                r.audience.span().start,
                &key("audience"),
                &format!(
                    "unknown audience {:?}: use one of {}",
                    r.audience.get_ref(),
                    Audience::ALL.map(|a| a.as_str()).join(", ")
                ),
            )
        })?;
        let template = match &r.template {
            None => audience.default_template(),
            Some(t) => {
                let allowed = audience.templates();
                TemplateName::parse(t.get_ref().trim())
                    .filter(|n| allowed.contains(n))
                    .ok_or_else(|| {
                        loc.err_at(
                            t.span().start,
                            &key("template"),
                            &format!(
                                "template {:?} does not fit audience {}: use {}",
                                t.get_ref(),
                                audience.as_str(),
                                allowed
                                    .iter()
                                    .map(|n| n.as_str())
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        )
                    })?
            }
        };
        let (deadline, default_until) = match audience {
            Audience::DraftSpeakers | Audience::Announce => (cfp_deadline, chrono::Duration::zero()),
            Audience::PendingReviewers => match review_deadline {
                Some(rd) => (rd, chrono::Duration::days(rules::DEFAULT_REVIEW_GRACE_DAYS)),
                None => {
                    return Err(loc.err_at(
                        r.audience.span().start,
                        &key("audience"),
                        "pending_reviewers reminders count towards the review deadline: set conference.review_deadline",
                    ))
                }
            },
            Audience::Chairs => (
                review_deadline.unwrap_or(cfp_deadline),
                chrono::Duration::days(rules::DEFAULT_DIGEST_TAIL_DAYS),
            ),
        };
        if audience == Audience::Chairs && !has_chairs {
            return Err(loc.err_at(
                r.audience.span().start,
                &key("audience"),
                "the chairs audience mails conference.chairs, which is empty",
            ));
        }
        if audience == Audience::Announce && !has_announce {
            return Err(loc.err_at(
                r.audience.span().start,
                &key("audience"),
                "the announce audience mails [announce] addresses, which is empty",
            ));
        }
        let offset = |v: &Option<toml::Spanned<String>>,
                      k: &str|
         -> Result<Option<chrono::Duration>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s) => rules::parse_offset(s.get_ref()).map(Some).ok_or_else(|| {
                    loc.err_at(
                        s.span().start,
                        &key(k),
                        &format!(
                            "{:?} is not an offset from the deadline: write e.g. \"-14d\", \"+2d\", \"-36h\", \"0\" (units w, d, h, m, s)",
                            s.get_ref()
                        ),
                    )
                }),
            }
        };
        let from = offset(&r.from, "from")?;
        let until = offset(&r.until, "until")?.unwrap_or(default_until);
        if matches!(audience, Audience::DraftSpeakers | Audience::Announce)
            && until > chrono::Duration::zero()
        {
            let at = r
                .until
                .as_ref()
                .map_or(r.audience.span().start, |u| u.span().start);
            return Err(loc.err_at(
                at,
                &key("until"),
                &format!(
                    "{} reminders are about the CFP deadline and cannot fire after it (use 0 or a negative offset)",
                    audience.as_str()
                ),
            ));
        }
        if from.is_some_and(|f| f >= until) {
            let at = r
                .from
                .as_ref()
                .map_or(r.name.span().start, |f| f.span().start);
            return Err(loc.err_at(at, &key("from"), "must be earlier than until"));
        }
        let rule = Rule {
            name,
            cron,
            audience,
            template,
            deadline: Some(deadline),
            not_before: from.map(|f| deadline + f),
            not_after: Some(deadline + until),
            origin: Origin::Config {
                line: line_of(loc.src, r.name.span().start),
            },
        };
        // A rule whose every occurrence falls outside its window is a typo
        // (a wrong year or month), not an intention.
        // Without a start, look at the year before the deadline: a CFP is not longer.
        let lo = rule
            .not_before
            .unwrap_or(deadline - chrono::Duration::days(366));
        let hi = deadline + until;
        let fires = rule
            .latest(zone, lo - chrono::Duration::seconds(1), hi)
            .is_some();
        if !fires {
            return Err(loc.err_at(
                r.cron.span().start,
                &key("cron"),
                &format!(
                    "{:?} never fires between {} and {}, where this rule is meaningful",
                    r.cron.get_ref(),
                    zone.format(lo),
                    zone.format(hi)
                ),
            ));
        }
        out.push(rule);
    }
    Ok(out)
}

/// A secret named `name` in `table`: `name` itself (refused: secrets never
/// stand in the file), `name_env` or `name_file`.
#[allow(clippy::too_many_arguments)]
fn secret(
    loc: &Locator<'_>,
    table: &str,
    name: &str,
    clear: &Option<toml::Value>,
    env: &Option<String>,
    file: &Option<String>,
    credential: &Option<String>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Secret, ConfigError> {
    if clear.is_some() {
        let what = if name == "password" {
            "passwords are".to_string()
        } else {
            format!("{name}s are")
        };
        return Err(loc.err(
            table,
            name,
            &if name == "password" {
                "passwords are never stored in the config file: use password_env = \"VAR\", password_file = \"path\" or password_credential = \"name\"".to_string()
            } else {
                format!("{what} never stored in the config file: use {name}_env = \"VAR\" or {name}_file = \"path\"")
            },
        ));
    }
    match (env, file, credential) {
        (Some(v), None, None) => Ok(Secret::Env(v.clone())),
        (None, Some(f), None) => Ok(Secret::File(resolve(f))),
        (None, None, Some(c)) => {
            // A credential name is a file name in $CREDENTIALS_DIRECTORY, never a path.
            if c.is_empty() || c.contains('/') || c == "." || c == ".." {
                return Err(loc.err(
                    table,
                    "password_credential",
                    "expected a credential name as in the unit's LoadCredential=NAME:/path (no slashes)",
                ));
            }
            Ok(Secret::Credential(c.clone()))
        }
        (None, None, None) => Ok(Secret::None),
        (_, _, Some(_)) => Err(loc.err(
            table,
            "password_credential",
            "set only one of password_env, password_file and password_credential",
        )),
        (Some(_), Some(_), None) => Err(loc.err(
            table,
            &format!("{name}_file"),
            &format!("set {name}_env or {name}_file, not both"),
        )),
    }
}

/// Validate `[metrics]`; the poll threshold defaults to the source's quietest
/// healthy gap plus five minutes.
fn metrics_config(
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

fn auth_method(
    loc: &Locator<'_>,
    table: &str,
    auth: Option<&str>,
) -> Result<AuthMethod, ConfigError> {
    match auth {
        None | Some("password") => Ok(AuthMethod::Password),
        Some("oauth2") => Ok(AuthMethod::OAuth2),
        Some(other) => Err(loc.err(
            table,
            "auth",
            &format!("unknown auth {other:?}: use \"password\" (the default) or \"oauth2\""),
        )),
    }
}

fn oauth2_password(loc: &Locator<'_>, table: &str, env: &Option<String>) -> ConfigError {
    let key = if env.is_some() {
        "password_env"
    } else {
        "password_file"
    };
    loc.err(
        table,
        key,
        &format!(
            "auth = \"oauth2\" logs in with a token from [oauth2], not a password: remove {key}"
        ),
    )
}

/// Default scopes per provider: what IMAP and SMTP need.
const GOOGLE_SCOPES: &[&str] = &["https://mail.google.com/"];
const MICROSOFT_SCOPES: &[&str] = &[
    "https://outlook.office365.com/IMAP.AccessAsUser.All",
    "https://outlook.office365.com/SMTP.Send",
    "offline_access",
];

fn oauth2_config(
    loc: &Locator<'_>,
    o: &RawOAuth2,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<OAuth2Config, ConfigError> {
    let t = "oauth2";
    let client_id = o
        .client_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| {
            loc.err(
                t,
                "client_id",
                "required: the OAuth client (application) ID from your provider's console",
            )
        })?;
    let client_secret = secret(
        loc,
        t,
        "client_secret",
        &o.client_secret,
        &o.client_secret_env,
        &o.client_secret_file,
        &None,
        resolve,
    )?;
    let refresh_token = secret(
        loc,
        t,
        "refresh_token",
        &o.refresh_token,
        &o.refresh_token_env,
        &o.refresh_token_file,
        &None,
        resolve,
    )?;
    if matches!(refresh_token, Secret::None) {
        return Err(loc.err(
            t,
            "refresh_token_file",
            "required: where the refresh token lives (refresh_token_file = \"path\", which `cfpd oauth2 authorize` writes, or refresh_token_env = \"VAR\")",
        ));
    }
    let preset_only = |key: &str, v: &Option<String>| -> Result<(), ConfigError> {
        match v {
            Some(_) => Err(loc.err(
                t,
                key,
                &format!(
                    "{key} comes with provider = {:?}; use provider = \"custom\" to set it",
                    o.provider
                ),
            )),
            None => Ok(()),
        }
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (provider, token_url, auth_url, default_scopes) = match o.provider.as_str() {
        "google" => {
            preset_only("token_url", &o.token_url)?;
            preset_only("auth_url", &o.auth_url)?;
            preset_only("tenant", &o.tenant)?;
            (
                OAuth2Provider::Google,
                "https://oauth2.googleapis.com/token".to_string(),
                Some("https://accounts.google.com/o/oauth2/v2/auth".to_string()),
                strings(GOOGLE_SCOPES),
            )
        }
        "microsoft" => {
            preset_only("token_url", &o.token_url)?;
            preset_only("auth_url", &o.auth_url)?;
            let tenant = o
                .tenant
                .clone()
                .filter(|x| {
                    !x.is_empty()
                        && x.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                })
                .ok_or_else(|| {
                    loc.err(
                        t,
                        "tenant",
                        "provider = \"microsoft\" needs tenant: the directory (tenant) ID or domain (e.g. \"conf.onmicrosoft.com\") from the app registration's overview page",
                    )
                })?;
            let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
            (
                OAuth2Provider::Microsoft { tenant },
                format!("{base}/token"),
                Some(format!("{base}/authorize")),
                strings(MICROSOFT_SCOPES),
            )
        }
        "custom" => {
            preset_only("tenant", &o.tenant)?;
            let token_url = o.token_url.clone().ok_or_else(|| {
                loc.err(
                    t,
                    "token_url",
                    "provider = \"custom\" needs token_url (the provider's token endpoint)",
                )
            })?;
            (
                OAuth2Provider::Custom,
                token_url,
                o.auth_url.clone(),
                vec![],
            )
        }
        other => {
            return Err(loc.err(
                t,
                "provider",
                &format!("unknown provider {other:?}: use \"google\", \"microsoft\" or \"custom\""),
            ))
        }
    };
    for (key, url) in [
        ("token_url", Some(&token_url)),
        ("auth_url", auth_url.as_ref()),
    ] {
        if let Some(u) = url {
            if !endpoint_ok(u) {
                return Err(loc.err(
                    t,
                    key,
                    "expected an https:// URL (http:// only on loopback: 127.0.0.1, [::1], localhost)",
                ));
            }
        }
    }
    let scopes = match &o.scopes {
        Some(s) => s.clone(),
        None => default_scopes,
    };
    Ok(OAuth2Config {
        scope_on_refresh: provider != OAuth2Provider::Google && !scopes.is_empty(),
        provider,
        token_url,
        auth_url,
        client_id,
        client_secret,
        refresh_token,
        scopes,
        timeout: std::time::Duration::from_secs(o.timeout_seconds.max(1)),
        ca_file: o.ca_file.as_deref().map(resolve),
    })
}

/// An endpoint URL tokens may travel to: HTTPS, or HTTP to this machine.
fn endpoint_ok(u: &str) -> bool {
    if u.starts_with("https://") {
        return u.len() > "https://".len();
    }
    let Some(rest) = u.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn resolve_db_url(url: &str, base: &Path) -> Option<String> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let (file, query) = match rest.split_once('?') {
            Some((f, q)) => (f, Some(q)),
            None => (rest, None),
        };
        if file.is_empty() {
            return None;
        }
        let p = if file == ":memory:" || Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            base.join(file)
        };
        let mut s = format!("sqlite://{}", p.display());
        if let Some(q) = query {
            s.push('?');
            s.push_str(q);
        }
        Some(s)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(url.to_string())
    } else {
        None
    }
}

/// Finds the line of a key inside a table, for errors that come from validation
/// rather than from the TOML parser.
struct Locator<'a> {
    src: &'a str,
    path: &'a Path,
}

impl Locator<'_> {
    /// An error at a byte offset of the source (from a `Spanned` value).
    fn err_at(&self, offset: usize, key: &str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: line_of(self.src, offset),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn err(&self, table: &str, key: &str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of_key(table, key),
            key: format!("{table}.{key}"),
            message: message.to_string(),
        }
    }

    fn line_of_key(&self, table: &str, key: &str) -> usize {
        let mut in_table = false;
        let mut table_line = 1;
        for (i, line) in self.src.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                let name = t.trim_matches(|c| c == '[' || c == ']').trim();
                in_table = name == table;
                if in_table {
                    table_line = i + 1;
                }
                continue;
            }
            if in_table {
                if let Some((k, _)) = t.split_once('=') {
                    if k.trim().trim_matches('"') == key {
                        return i + 1;
                    }
                }
            }
        }
        table_line
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

fn key_at(src: &str, line: usize) -> String {
    let mut table = String::new();
    for (i, l) in src.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim();
                return if table.is_empty() {
                    k.to_string()
                } else {
                    format!("{table}.{k}")
                };
            }
            return if table.is_empty() {
                "(top level)".into()
            } else {
                table
            };
        }
    }
    "(end of file)".into()
}

/// The commented example config written by `cfpd init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../examples/cfpd.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> String {
        r#"
[conference]
name = "DjangoCon US 2024"
cfp_address = "cfp@djangocon.example"
time_zone = "AoE"
cfp_deadline = "2024-04-24T23:59:59"

[mailbox]
kind = "maildir"
path = "inbox"

[outgoing]
kind = "folder"
path = "sent"
"#
        .to_string()
    }

    #[test]
    fn minimal_config_loads_with_defaults_relative_to_file() {
        let c = Config::from_str(&minimal(), Path::new("/etc/cfpd/cfpd.toml")).unwrap();
        assert_eq!(c.database_url, "sqlite:///etc/cfpd/cfpd.db");
        match c.mailbox {
            MailboxConfig::Maildir { path } => assert_eq!(path, Path::new("/etc/cfpd/inbox")),
            _ => panic!("expected maildir"),
        }
        // AoE: 23:59:59 on the 24th at UTC-12 is 11:59:59 UTC on the 25th.
        assert_eq!(
            c.conference.cfp_deadline.to_rfc3339(),
            "2024-04-25T11:59:59+00:00"
        );
    }

    #[test]
    fn review_deadline_is_local_and_after_the_cfp_deadline() {
        let ok = minimal().replace(
            "cfp_deadline = \"2024-04-24T23:59:59\"",
            "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20\"",
        );
        let c = Config::from_str(&ok, Path::new("/x/cfpd.toml")).unwrap();
        assert_eq!(
            c.conference.review_deadline.unwrap().to_rfc3339(),
            "2024-05-21T11:59:59+00:00"
        );
        let early = minimal().replace(
            "cfp_deadline = \"2024-04-24T23:59:59\"",
            "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-04-01\"",
        );
        let e = Config::from_str(&early, Path::new("/x/cfpd.toml")).unwrap_err();
        assert!(e.to_string().contains("conference.review_deadline"), "{e}");
        assert!(e.to_string().contains("after cfp_deadline"), "{e}");
    }

    #[test]
    fn clear_password_is_refused_with_line() {
        let src = r#"
[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "Europe/Paris"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp"
password = "hunter2"

[outgoing]
kind = "folder"
path = "sent"
"#;
        let e = Config::from_str(src, Path::new("c.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("c.toml:13: mailbox.password:"), "{msg}");
        assert!(!msg.contains("hunter2"));
    }

    fn imap_with(secret_lines: &str) -> String {
        format!(
            r#"
[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "Europe/Paris"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp"
{secret_lines}

[outgoing]
kind = "smtp"
host = "smtp.x.example"
tls = "starttls"
user = "cfp"
password_credential = "smtp-password"
"#
        )
    }

    #[test]
    fn credential_secret_reads_the_named_file_in_the_credentials_directory() {
        let c = Config::from_str(
            &imap_with("password_credential = \"imap-password\""),
            Path::new("/etc/cfpd/cfpd.toml"),
        )
        .unwrap();
        let MailboxConfig::Imap(i) = &c.mailbox else {
            panic!("expected imap")
        };
        assert_eq!(i.password.to_string(), "systemd credential imap-password");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("imap-password"), "s3cret\n").unwrap();
        assert_eq!(
            i.password
                .resolve_with(Some(dir.path()))
                .unwrap()
                .as_deref(),
            Some("s3cret"),
            "the trailing newline is stripped, as for password_file"
        );
        // Outside systemd: the error says what to do and names the credential.
        let e = i.password.resolve_with(None).unwrap_err();
        assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
        assert!(e.contains("LoadCredential=imap-password:"), "{e}");
        // Loaded under another name: the error names the missing file.
        let other = tempfile::tempdir().unwrap();
        let e = i.password.resolve_with(Some(other.path())).unwrap_err();
        assert!(e.contains("credential \"imap-password\""), "{e}");
        assert!(
            e.contains(&other.path().join("imap-password").display().to_string()),
            "{e}"
        );
        let OutgoingConfig::Smtp(s) = &c.outgoing else {
            panic!("expected smtp")
        };
        assert_eq!(s.password.to_string(), "systemd credential smtp-password");
    }

    #[test]
    fn credential_secret_is_a_name_and_exclusive() {
        let e = Config::from_str(
            &imap_with("password_credential = \"../etc/shadow\""),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("c.toml:13: mailbox.password_credential:"),
            "{e}"
        );
        assert!(e.contains("no slashes"), "{e}");
        let e = Config::from_str(
            &imap_with("password_env = \"PW\"\npassword_credential = \"imap\""),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("c.toml:14: mailbox.password_credential:"),
            "{e}"
        );
        assert!(e.contains("only one of"), "{e}");
    }

    #[test]
    fn unknown_key_and_bad_zone_name_line_and_key() {
        let src = minimal().replace("time_zone = \"AoE\"", "time_zone = \"Mars/Olympus\"");
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string().starts_with("c.toml:5: conference.time_zone:"),
            "{e}"
        );
        let src = minimal().replace("path = \"sent\"", "path = \"sent\"\ncolour = 3");
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string().starts_with("c.toml:15: outgoing.colour:"),
            "{e}"
        );
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn nonexistent_local_time_is_refused() {
        // 02:30 on 2024-03-10 does not exist in America/Chicago (spring forward).
        let src = minimal()
            .replace("time_zone = \"AoE\"", "time_zone = \"America/Chicago\"")
            .replace("2024-04-24T23:59:59", "2024-03-10T02:30:00");
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("conference.cfp_deadline"), "{e}");
    }

    #[test]
    fn default_reminders_follow_the_deadlines() {
        let src = minimal().replace(
            "cfp_deadline = \"2024-04-24T23:59:59\"",
            "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20\"\nchairs = [\"chair@djangocon.example\"]",
        ) + "\n[announce]\naddresses = [\"Announce@Lists.Example\"]\n";
        let c = Config::from_str(&src, Path::new("c.toml")).unwrap();
        let got: Vec<(String, String)> = c
            .reminders
            .iter()
            .map(|r| (r.name.clone(), r.cron.source().to_string()))
            .collect();
        let want = [
            ("drafts-7d", "0 0 9 17 Apr * 2024"),
            ("drafts-1d", "0 0 9 23 Apr * 2024"),
            ("last-call", "0 0 9 21 Apr * 2024"),
            ("reviews-3d", "0 0 9 17 May * 2024"),
            ("reviews-1d", "0 0 9 19 May * 2024"),
            ("reviews-overdue-1d", "0 0 9 21 May * 2024"),
            ("chairs-digest", "0 0 8 * * *"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
        assert_eq!(c.announce, ["announce@lists.example"]);
        // Without review deadline, chairs or announce addresses: only the draft rules.
        let c = Config::from_str(&minimal(), Path::new("c.toml")).unwrap();
        let names: Vec<&str> = c.reminders.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["drafts-7d", "drafts-1d"]);
        // `reminders = []` turns reminders off.
        let off = minimal().replace("[mailbox]", "reminders = []\n\n[mailbox]");
        let off = off.replacen("reminders = []\n\n", "", 1);
        let off = format!("reminders = []\n{off}");
        let c = Config::from_str(&off, Path::new("c.toml")).unwrap();
        assert!(c.reminders.is_empty());
    }

    #[test]
    fn reminder_errors_name_line_and_key() {
        let with = |rule: &str| format!("{}\n[[reminders]]\n{rule}", minimal());
        let base_lines = minimal().lines().count() + 3;
        let cases = [
            ("name = \"x\"\ncron = \"0 9 * * *\"\naudience = \"draft_speakers\"", 2, "reminders[0].cron", "seconds first"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"speakers\"", 3, "reminders[0].audience", "draft_speakers, pending_reviewers, chairs, announce"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"pending_reviewers\"", 3, "reminders[0].audience", "review_deadline"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"chairs\"", 3, "reminders[0].audience", "conference.chairs"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\ntemplate = \"chair_digest\"", 4, "reminders[0].template", "draft_reminder"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nuntil = \"+1d\"", 4, "reminders[0].until", "cannot fire after it"),
            ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nfrom = \"soon\"", 4, "reminders[0].from", "not an offset"),
            ("name = \"x\"\ncron = \"0 0 9 17 Apr * 2023\"\naudience = \"draft_speakers\"", 2, "reminders[0].cron", "never fires"),
            ("name = \"Bad Name\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"", 1, "reminders[0].name", "a-z"),
        ];
        for (rule, line, key, msg) in cases {
            let e = Config::from_str(&with(rule), Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            let want = format!("c.toml:{}: {key}: ", base_lines + line - 1);
            assert!(e.starts_with(&want), "{rule}\nwant {want}\ngot {e}");
            assert!(e.contains(msg), "{e}");
        }
        let dup = format!(
            "{}\n[[reminders]]\nname = \"a\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\n[[reminders]]\nname = \"a\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\n",
            minimal()
        );
        let e = Config::from_str(&dup, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reminders[1].name") && e.contains("unique"),
            "{e}"
        );
        let bad = format!(
            "{}\n[announce]\naddresses = [\"not an address\"]\n",
            minimal()
        );
        let e = Config::from_str(&bad, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("announce.addresses") && e.contains(":17:"),
            "{e}"
        );
        // A configured rule keeps the window it was given, relative to its deadline.
        let ok = with("name = \"weekly\"\ncron = \"0 0 9 * * Mon\"\naudience = \"draft_speakers\"\nfrom = \"-3w\"\nuntil = \"-1h\"");
        let c = Config::from_str(&ok, Path::new("c.toml")).unwrap();
        assert_eq!(c.reminders.len(), 1);
        let r = &c.reminders[0];
        assert_eq!(
            r.not_before.unwrap().to_rfc3339(),
            "2024-04-04T11:59:59+00:00"
        );
        assert_eq!(
            r.not_after.unwrap().to_rfc3339(),
            "2024-04-25T10:59:59+00:00"
        );
    }

    /// An IMAP + SMTP config with OAuth2 on both sides and `oauth2` as the
    /// `[oauth2]` table's body.
    fn oauth2_config(mailbox_extra: &str, oauth2: &str) -> String {
        format!(
            r#"[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "AoE"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp@x.example"
auth = "oauth2"
{mailbox_extra}
[outgoing]
kind = "smtp"
host = "smtp.x.example"
tls = "starttls"
user = "cfp@x.example"
auth = "oauth2"

[oauth2]
{oauth2}
"#
        )
    }

    fn oauth2_err(mailbox_extra: &str, oauth2: &str) -> String {
        Config::from_str(&oauth2_config(mailbox_extra, oauth2), Path::new("c.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn oauth2_presets_fill_in_endpoints_and_scopes() {
        let c = Config::from_str(
            &oauth2_config(
                "",
                "provider = \"microsoft\"\ntenant = \"conf.onmicrosoft.com\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
            ),
            Path::new("/etc/cfpd/c.toml"),
        )
        .unwrap();
        let o = c.oauth2.unwrap();
        assert_eq!(
            o.token_url,
            "https://login.microsoftonline.com/conf.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(o.scopes.iter().any(|s| s.ends_with("/SMTP.Send")));
        assert!(o.scopes.contains(&"offline_access".to_string()));
        assert!(o.scope_on_refresh);
        assert!(matches!(&o.refresh_token, Secret::File(p) if p == Path::new("/etc/cfpd/rt")));
        assert!(matches!(o.client_secret, Secret::None));
        let MailboxConfig::Imap(i) = &c.mailbox else {
            panic!()
        };
        assert_eq!(i.auth, AuthMethod::OAuth2);
        assert!(matches!(i.password, Secret::None));

        let c = Config::from_str(
            &oauth2_config(
                "",
                "provider = \"google\"\nclient_id = \"abc\"\nclient_secret_env = \"CS\"\nrefresh_token_env = \"RT\"",
            ),
            Path::new("c.toml"),
        )
        .unwrap();
        let o = c.oauth2.unwrap();
        assert_eq!(o.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(o.scopes, vec!["https://mail.google.com/".to_string()]);
        assert!(!o.scope_on_refresh, "Google's refresh grant takes no scope");
    }

    #[test]
    fn oauth2_mistakes_are_named_with_line_and_key() {
        let base = "provider = \"google\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"";
        // A password next to auth = "oauth2".
        let e = oauth2_err("password_file = \"pw\"\n", base);
        assert!(e.starts_with("c.toml:13: mailbox.password_file:"), "{e}");
        assert!(e.contains("remove password_file"), "{e}");
        // A refresh token in clear.
        let e = oauth2_err(
            "",
            "provider = \"google\"\nclient_id = \"abc\"\nrefresh_token = \"1//0secret\"",
        );
        assert!(
            e.contains("oauth2.refresh_token: refresh_tokens are never stored"),
            "{e}"
        );
        assert!(!e.contains("1//0secret"));
        // No refresh token at all.
        let e = oauth2_err("", "provider = \"google\"\nclient_id = \"abc\"");
        assert!(e.contains("oauth2.refresh_token_file: required"), "{e}");
        // Microsoft without a tenant.
        let e = oauth2_err(
            "",
            "provider = \"microsoft\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
        );
        assert!(
            e.contains("oauth2.tenant:") && e.contains("directory (tenant) ID"),
            "{e}"
        );
        // Tokens never travel in plaintext to another machine.
        let e = oauth2_err(
            "",
            "provider = \"custom\"\ntoken_url = \"http://auth.example/token\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
        );
        assert!(
            e.contains("oauth2.token_url: expected an https:// URL"),
            "{e}"
        );
        assert!(Config::from_str(
            &oauth2_config(
                "",
                "provider = \"custom\"\ntoken_url = \"http://127.0.0.1:8080/token\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
            ),
            Path::new("c.toml"),
        )
        .is_ok());
        // A preset's endpoint cannot be overridden by accident.
        let e = oauth2_err("", &format!("{base}\ntoken_url = \"https://x.example/t\""));
        assert!(e.contains("use provider = \"custom\""), "{e}");
        // auth = "oauth2" without an [oauth2] table, and the other way round.
        let src = oauth2_config("", base).replace("[oauth2]", "[unused]");
        let src = src.split("[unused]").next().unwrap().to_string();
        let e = Config::from_str(&src, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mailbox.auth: auth = \"oauth2\" needs an [oauth2] table"),
            "{e}"
        );
        let src = oauth2_config("password_env = \"PW\"\n", base)
            .replace("auth = \"oauth2\"\n", "")
            .replace("user = \"cfp@x.example\"\n\n[oauth2]", "\n[oauth2]");
        let e = Config::from_str(&src, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[oauth2] is set but neither"), "{e}");
        let e = oauth2_err("", &base.replace("google", "yahoo"));
        assert!(e.contains("unknown provider \"yahoo\""), "{e}");
    }

    #[test]
    fn example_config_is_valid() {
        Config::from_str(EXAMPLE_CONFIG, Path::new("cfpd.toml")).unwrap();
    }
    #[test]
    fn metrics_listen_is_optional_and_thresholds_are_checked_against_the_source() {
        let c = Config::from_str(&minimal(), Path::new("c.toml")).unwrap();
        assert_eq!(c.metrics.listen, None, "no [metrics]: no HTTP server");
        // Maildir polls every 2 s: stale after 2 s + 5 min by default.
        assert_eq!(c.metrics.poll_stale.as_secs(), 302);
        assert_eq!(c.metrics.queue_stale.as_secs(), 1800);
        let with = |t: &str| Config::from_str(&format!("{}{t}", minimal()), Path::new("c.toml"));
        let c = with("[metrics]\nlisten = \"0.0.0.0:9469\"\npoll_stale_seconds = 60\n").unwrap();
        assert_eq!(c.metrics.listen, Some("0.0.0.0:9469".parse().unwrap()));
        assert_eq!(c.metrics.poll_stale.as_secs(), 60);
        let e = with("\n[metrics]\nlisten = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:17: metrics.listen: "), "{e}");
        assert!(e.contains("127.0.0.1:9469"), "{e}");
        let e = with("[metrics]\npoll_stale_seconds = 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metrics.poll_stale_seconds: must be longer than 2 s"),
            "{e}"
        );
    }
}
