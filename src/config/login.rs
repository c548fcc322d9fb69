//! How cfpd logs in to IMAP and SMTP: transport security, the method, and
//! where a secret lives. Secrets never stand in the file in clear: a
//! `password` key is refused, and `password_env` / `password_file` /
//! `password_credential` name where the secret lives.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;

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

/// Why a secret could not be read; names where it looked, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    Env(String),
    /// A systemd credential was named but `$CREDENTIALS_DIRECTORY` is not set.
    #[error(
        "credential {0:?}: CREDENTIALS_DIRECTORY is not set (run under systemd with \
         LoadCredential={0}:/path/to/secret, or set CREDENTIALS_DIRECTORY to a folder \
         holding a file named {0})"
    )]
    NoCredentialsDirectory(String),
    /// The secret file could not be read.
    #[error("cannot read secret file {}: {cause}", path.display())]
    File {
        /// Which file.
        path: PathBuf,
        /// Why reading failed (in the message, not a separate source: shown once).
        cause: std::io::Error,
    },
    /// The credential's file could not be read.
    #[error("credential {name:?}: {cause}")]
    Credential {
        /// The credential name.
        name: String,
        /// Reading its file failed (in the message, not a separate source: shown once).
        cause: Box<SecretError>,
    },
}

impl Secret {
    /// Resolve the secret now. The error names where it looked, never the value.
    pub fn resolve(&self) -> Result<Option<String>, SecretError> {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        self.resolve_with(dir.as_deref())
    }

    /// [`Secret::resolve`] with the credentials directory given rather than
    /// read from `$CREDENTIALS_DIRECTORY` (`None`: not set).
    pub fn resolve_with(
        &self,
        credentials_dir: Option<&Path>,
    ) -> Result<Option<String>, SecretError> {
        match self {
            Secret::None => Ok(None),
            Secret::Env(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| SecretError::Env(var.clone())),
            Secret::File(p) => read_secret_file(p).map(Some),
            Secret::Credential(name) => {
                let dir = credentials_dir
                    .ok_or_else(|| SecretError::NoCredentialsDirectory(name.clone()))?;
                read_secret_file(&dir.join(name))
                    .map(Some)
                    .map_err(|e| SecretError::Credential {
                        name: name.clone(),
                        cause: Box::new(e),
                    })
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
fn read_secret_file(p: &Path) -> Result<String, SecretError> {
    std::fs::read_to_string(p)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|cause| SecretError::File {
            path: p.to_path_buf(),
            cause,
        })
}

/// How IMAP or SMTP logs in (`auth` in `[mailbox]` and `[outgoing]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `LOGIN` / `AUTH PLAIN` with the configured password (the default).
    Password,
    /// SASL XOAUTH2 with an access token from `[oauth2]`.
    OAuth2,
}

/// A secret named `name` in `table`: `name` itself (refused: secrets never
/// stand in the file), `name_env` or `name_file`.
#[allow(clippy::too_many_arguments)]
pub(super) fn secret(
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

pub(super) fn auth_method(
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

pub(super) fn oauth2_password(loc: &Locator<'_>, table: &str, env: &Option<String>) -> ConfigError {
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
