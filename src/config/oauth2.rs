//! `[oauth2]`: where access tokens come from when IMAP or SMTP says
//! `auth = "oauth2"` (one refresh token serves both at Google and Microsoft).

use std::path::PathBuf;

use serde::Deserialize;

use super::locate::Locator;
use super::login::{secret, AuthMethod, Secret};
use super::mailbox::MailboxConfig;
use super::outgoing::OutgoingConfig;
use super::{default_timeout, ConfigError};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth2 {
    pub(super) provider: String,
    pub(super) tenant: Option<String>,
    pub(super) token_url: Option<String>,
    pub(super) auth_url: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<toml::Value>,
    pub(super) client_secret_env: Option<String>,
    pub(super) client_secret_file: Option<String>,
    pub(super) refresh_token: Option<toml::Value>,
    pub(super) refresh_token_env: Option<String>,
    pub(super) refresh_token_file: Option<String>,
    pub(super) scopes: Option<Vec<String>>,
    #[serde(default = "default_timeout")]
    pub(super) timeout_seconds: u64,
    pub(super) ca_file: Option<String>,
}

/// Default scopes per provider: what IMAP and SMTP need.
const GOOGLE_SCOPES: &[&str] = &["https://mail.google.com/"];

const MICROSOFT_SCOPES: &[&str] = &[
    "https://outlook.office365.com/IMAP.AccessAsUser.All",
    "https://outlook.office365.com/SMTP.Send",
    "offline_access",
];

/// A provider with its token endpoint, authorization endpoint and default scopes.
type Preset = (OAuth2Provider, String, Option<String>, Vec<String>);

/// Validate `[oauth2]` against the logins: present exactly when IMAP or SMTP
/// says `auth = "oauth2"`.
pub(super) fn oauth2(
    loc: &Locator<'_>,
    raw: Option<&RawOAuth2>,
    mailbox: &MailboxConfig,
    outgoing: &OutgoingConfig,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<OAuth2Config>, ConfigError> {
    let uses_oauth2 = matches!(mailbox, MailboxConfig::Imap(i) if i.auth == AuthMethod::OAuth2)
        || matches!(outgoing, OutgoingConfig::Smtp(s) if s.auth == AuthMethod::OAuth2);
    let oauth2 = match (raw, uses_oauth2) {
        (None, false) => None,
        (None, true) => {
            let table = if matches!(mailbox, MailboxConfig::Imap(i) if i.auth == AuthMethod::OAuth2)
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
        (Some(o), true) => Some(oauth2_config(loc, o, resolve)?),
    };
    Ok(oauth2)
}

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
    let (provider, token_url, auth_url, default_scopes) = preset(loc, o)?;
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

/// The endpoints and default scopes of `[oauth2] provider`: a preset fills
/// them in (and refuses them in the file), `custom` takes them from the file.
fn preset(loc: &Locator<'_>, o: &RawOAuth2) -> Result<Preset, ConfigError> {
    let t = "oauth2";
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
    Ok(match o.provider.as_str() {
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
