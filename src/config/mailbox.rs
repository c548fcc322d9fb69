//! `[mailbox]`: where inbound mail comes from (IMAP or a local Maildir).

use std::path::PathBuf;

use serde::Deserialize;

use super::locate::Locator;
use super::login::{auth_method, oauth2_password, secret, AuthMethod, Secret, TlsMode};
use super::{default_timeout, default_true, ConfigError};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    pub(super) kind: String,
    pub(super) host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) tls: Option<TlsMode>,
    pub(super) ca_file: Option<String>,
    pub(super) user: Option<String>,
    pub(super) auth: Option<String>,
    pub(super) password: Option<toml::Value>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) password_credential: Option<String>,
    #[serde(default = "default_inbox")]
    pub(super) inbox: String,
    #[serde(default = "default_processed")]
    pub(super) processed_folder: String,
    #[serde(default = "default_rejected")]
    pub(super) rejected_folder: String,
    #[serde(default = "default_poll")]
    pub(super) poll_seconds: u64,
    #[serde(default = "default_true")]
    pub(super) idle: bool,
    #[serde(default = "default_idle_renew")]
    pub(super) idle_renew_minutes: u64,
    #[serde(default = "default_timeout")]
    pub(super) timeout_seconds: u64,
    #[serde(default = "default_batch")]
    pub(super) batch_size: usize,
    pub(super) path: Option<String>,
    pub(super) authserv_id: Option<String>,
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

fn default_idle_renew() -> u64 {
    25
}

fn default_batch() -> usize {
    1000
}

/// Validate `[mailbox]`: an IMAP server with its login, or a Maildir folder.
pub(super) fn mailbox(
    loc: &Locator<'_>,
    m: &RawMailbox,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<MailboxConfig, ConfigError> {
    let mailbox = match m.kind.as_str() {
        "imap" => {
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
                loc,
                "mailbox",
                "password",
                &m.password,
                &m.password_env,
                &m.password_file,
                &m.password_credential,
                resolve,
            )?;
            let auth = auth_method(loc, "mailbox", m.auth.as_deref())?;
            match auth {
                AuthMethod::Password if matches!(password, Secret::None) => {
                    return Err(loc.err(
                        "mailbox",
                        "password_env",
                        "IMAP needs a password: set password_env (a variable name), password_file or password_credential, or auth = \"oauth2\" with an [oauth2] table",
                    ));
                }
                AuthMethod::OAuth2 if !matches!(password, Secret::None) => {
                    return Err(oauth2_password(loc, "mailbox", &m.password_env));
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
                idle_renew: std::time::Duration::from_secs(60 * m.idle_renew_minutes.clamp(1, 28)),
                timeout: std::time::Duration::from_secs(m.timeout_seconds.max(1)),
                batch_size: m.batch_size,
            }))
        }
        "maildir" => {
            let p = m
                .path
                .as_deref()
                .ok_or_else(|| loc.err("mailbox", "path", "required for kind = \"maildir\""))?;
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
    Ok(mailbox)
}

/// Validate `[mailbox] authserv_id`: one token, compared lower-case.
pub(super) fn authserv_id(
    loc: &Locator<'_>,
    m: &RawMailbox,
) -> Result<Option<String>, ConfigError> {
    let authserv_id = match m.authserv_id.as_deref().map(str::trim) {
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
    Ok(authserv_id)
}
