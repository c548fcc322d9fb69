//! `[outgoing]`: how outbound mail leaves (SMTP submission or a folder of `.eml` files).

use std::path::PathBuf;

use serde::Deserialize;

use super::locate::Locator;
use super::login::{auth_method, oauth2_password, secret, AuthMethod, Secret, TlsMode};
use super::{default_timeout, ConfigError};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutgoing {
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
    #[serde(default = "default_timeout")]
    pub(super) timeout_seconds: u64,
    #[serde(default = "default_connections")]
    pub(super) connections: usize,
    pub(super) path: Option<String>,
}

fn default_connections() -> usize {
    1
}

/// Validate `[outgoing]`: an SMTP server with its (optional) login, or a folder.
pub(super) fn outgoing(
    loc: &Locator<'_>,
    o: &RawOutgoing,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<OutgoingConfig, ConfigError> {
    let outgoing = match o.kind.as_str() {
        "smtp" => {
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
                loc,
                "outgoing",
                "password",
                &o.password,
                &o.password_env,
                &o.password_file,
                &o.password_credential,
                resolve,
            )?;
            let auth = auth_method(loc, "outgoing", o.auth.as_deref())?;
            if auth == AuthMethod::OAuth2 {
                if !matches!(password, Secret::None) {
                    return Err(oauth2_password(loc, "outgoing", &o.password_env));
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
            let p = o
                .path
                .as_deref()
                .ok_or_else(|| loc.err("outgoing", "path", "required for kind = \"folder\""))?;
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
    Ok(outgoing)
}
