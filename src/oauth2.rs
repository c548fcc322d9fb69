//! OAuth2 access tokens for IMAP and SMTP (SASL XOAUTH2).
//!
//! Gmail / Google Workspace and Microsoft 365 want an OAuth2 access token
//! instead of a password. cfpd holds a long-lived *refresh token* (from
//! `[oauth2] refresh_token_file` or `_env`) and trades it at the provider's
//! token endpoint for short-lived access tokens (the `refresh_token` grant,
//! RFC 6749 §6). A [`TokenSource`] is shared by the IMAP source, every SMTP
//! worker and `cfpd check`:
//!
//! - the access token is cached until shortly before it expires, and one
//!   refresh serves every caller waiting at that moment;
//! - a server that rejects a cached token (revoked, or expired early) makes
//!   the caller [`invalidate`](TokenSource::invalidate) it and try once more
//!   with a fresh one before its usual backoff;
//! - a rotated refresh token (Microsoft returns a new one with every
//!   refresh) replaces the old one in its file, atomically and with mode
//!   0600, so it survives a restart;
//! - the refresh token's home is re-read before each refresh, so a chair who
//!   re-authorizes (writes a new token into the file) fixes a running daemon.
//!
//! This is the only module that talks to token endpoints. Tokens are never
//! logged: [`AccessToken`] and [`Login`] print as `***`, and errors name
//! where a secret lives, never its value.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::config::{AuthMethod, Config, ImapConfig, OAuth2Config, Secret};

/// Why no access token could be had. Each variant's message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the refresh token (`invalid_grant`): it was
    /// revoked, expired, or issued for another client. Only a new consent fixes it.
    #[error("the provider rejected the refresh token ({code}{}): re-authorize (`cfpd oauth2 authorize`, see README \"Mail providers\") and store the new refresh token in {location}", detail(.description))]
    RefreshTokenRejected {
        /// The OAuth error code (`invalid_grant`).
        code: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
        /// Where the refresh token lives.
        location: String,
    },
    /// The provider refused the client (`invalid_client`, `unauthorized_client`).
    #[error("the provider rejected the OAuth client ({code}{}): check oauth2.client_id and the client secret in {secret_location}", detail(.description))]
    ClientRejected {
        /// The OAuth error code.
        code: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
        /// Where the client secret lives.
        secret_location: String,
    },
    /// Any other OAuth error answer (`invalid_scope`, `invalid_request`, …).
    #[error("the token endpoint {url} refused the refresh ({code}{}): check oauth2.scopes and the app's permissions", detail(.description))]
    Refused {
        /// The token endpoint.
        url: String,
        /// The OAuth error code.
        code: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The token endpoint could not be reached (DNS, connect, TLS, timeout).
    #[error("cannot reach the token endpoint {url}: {reason} (check the network, any HTTPS_PROXY, and oauth2.token_url)")]
    Unreachable {
        /// The token endpoint.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The endpoint answered, but not with a token or an OAuth error.
    #[error("the token endpoint {url} gave no usable answer (HTTP {status}): {reason}")]
    BadResponse {
        /// The token endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The refresh token (or client secret) could not be read.
    #[error("{0}")]
    Secret(String),
    /// The browser round trip of `cfpd oauth2 authorize` failed.
    #[error("authorization failed: {0}")]
    Authorization(String),
}

fn detail(description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

/// An access token. Prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token itself.
    secret: String,
    /// Whether it was obtained from the endpoint by this very call: a server
    /// rejecting a fresh token is not helped by another refresh.
    pub fresh: bool,
    /// When it stops being used (shortly before the provider says it expires).
    pub renew_at: SystemTime,
}

impl AccessToken {
    /// The token, for the SASL exchange only.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"***")
            .field("fresh", &self.fresh)
            .finish()
    }
}

/// How IMAP or SMTP logs in, with secrets resolved. Prints without them.
#[derive(Clone)]
pub enum Login {
    /// User name and password.
    Password {
        /// Login name.
        user: String,
        /// The password.
        password: String,
    },
    /// User name and an access token from `tokens` (SASL XOAUTH2).
    OAuth2 {
        /// The mailbox the refresh token was authorized for.
        user: String,
        /// Where access tokens come from (shared).
        tokens: Arc<TokenSource>,
    },
}

impl Login {
    /// The login name.
    pub fn user(&self) -> &str {
        match self {
            Login::Password { user, .. } | Login::OAuth2 { user, .. } => user,
        }
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::Password { user, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"***")
                .finish(),
            Login::OAuth2 { user, tokens } => f
                .debug_struct("OAuth2")
                .field("user", user)
                .field("token_url", &tokens.cfg.token_url)
                .finish(),
        }
    }
}

/// The token source for `cfg`'s `[oauth2]` table, if it has one.
pub fn token_source(cfg: &Config) -> Result<Option<Arc<TokenSource>>, TokenError> {
    cfg.oauth2
        .as_ref()
        .map(|o| TokenSource::new(o).map(Arc::new))
        .transpose()
}

/// Why the IMAP source has no way to log in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginConfigError {
    /// The password could not be read (the text names where it was looked for).
    #[error("mailbox password: {0}")]
    Password(String),
    /// `auth = "oauth2"` in `[mailbox]` but no `[oauth2]` table.
    #[error("mailbox auth = \"oauth2\" without an [oauth2] token source")]
    NoTokenSource,
}

/// How the IMAP source logs in: the password (resolved now; the error names
/// where it was looked for) or `tokens`.
pub fn imap_login(
    i: &ImapConfig,
    tokens: Option<&Arc<TokenSource>>,
) -> Result<Login, LoginConfigError> {
    match i.auth {
        AuthMethod::Password => Ok(Login::Password {
            user: i.user.clone(),
            password: i
                .password
                .resolve()
                .map_err(|e| LoginConfigError::Password(e.to_string()))?
                .unwrap_or_default(),
        }),
        AuthMethod::OAuth2 => Ok(Login::OAuth2 {
            user: i.user.clone(),
            tokens: tokens.ok_or(LoginConfigError::NoTokenSource)?.clone(),
        }),
    }
}

/// How one XOAUTH2 login attempt ended, as the protocol at hand classifies it.
pub enum Attempt<T, C, E> {
    /// Logged in.
    LoggedIn(T),
    /// The server rejected the token (or the user it names). `C` is what the next
    /// attempt starts from (the connection, handed back); the text is the server's.
    Rejected(C, String),
    /// Anything else: the connection broke, a timeout, or the server cannot check
    /// tokens right now (IMAP `[UNAVAILABLE]`). Another token would not help, so no
    /// refresh is spent on it.
    Failed(E),
}

/// Why [`xoauth2_login`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum XOAuth2Error<E> {
    /// No access token could be had.
    #[error("no OAuth2 access token: {0}")]
    NoToken(#[source] TokenError),
    /// The server rejected a token the provider had just issued (or a third one):
    /// `why` is the server's text. Not the cache's fault: the account, the scopes
    /// or the server's settings are.
    #[error("the server rejected the OAuth2 access token ({why})")]
    Rejected {
        /// The server's words.
        why: String,
    },
    /// An attempt failed for another reason.
    #[error(transparent)]
    Failed(E),
}

/// Log in with an OAuth2 access token, the same way for IMAP and SMTP: get a token,
/// `attempt` the login on `conn`; when the server rejects a cached token (revoked, or
/// expired early), drop it and try once more with a fresh one, on the connection the
/// attempt handed back. A rejected fresh token ends it: another refresh would give the
/// same answer. `service` and `host` name the server in the log.
pub async fn xoauth2_login<C, T, E, F, Fut>(
    tokens: &TokenSource,
    service: &str,
    host: &str,
    mut conn: C,
    mut attempt: F,
) -> Result<T, XOAuth2Error<E>>
where
    F: FnMut(C, AccessToken) -> Fut,
    Fut: std::future::Future<Output = Attempt<T, C, E>>,
{
    let mut token = tokens.access_token().await.map_err(XOAuth2Error::NoToken)?;
    // Bounded: a cached token, then at most two more (one is fresh from the endpoint).
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt(conn, token.clone()).await {
            Attempt::LoggedIn(t) => return Ok(t),
            Attempt::Failed(e) => return Err(XOAuth2Error::Failed(e)),
            Attempt::Rejected(c, why) => {
                tokens.invalidate(&token).await;
                if token.fresh || tries == 3 {
                    return Err(XOAuth2Error::Rejected { why });
                }
                tracing::info!(host = %host, "{service} rejected the cached OAuth2 access token; refreshing it");
                token = tokens.access_token().await.map_err(XOAuth2Error::NoToken)?;
                conn = c;
            }
        }
    }
}

/// The SASL XOAUTH2 initial response (before base64):
/// `user=<user>^Aauth=Bearer <token>^A^A`.
pub fn xoauth2_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// A server's XOAUTH2 error challenge (JSON such as
/// `{"status":"401","schemes":"bearer","scope":"…"}`), as a short phrase.
pub fn describe_xoauth2_error(challenge: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        status: Option<serde_json::Value>,
        scope: Option<String>,
    }
    match serde_json::from_slice::<E>(challenge) {
        Ok(E { status, scope }) => {
            let mut s = String::from("XOAUTH2 error");
            if let Some(st) = status {
                let st = st
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| st.to_string());
                s.push_str(&format!(" status {}", printable(&st, 40)));
            }
            if let Some(sc) = scope {
                s.push_str(&format!(", scope wanted: {}", printable(&sc, 200)));
            }
            s
        }
        Err(_) if challenge.is_empty() => "no detail".into(),
        Err(_) => printable(&String::from_utf8_lossy(challenge), 200),
    }
}

/// At most `max` characters of `s`, control characters replaced.
fn printable(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// When to stop using a token issued at `issued` for `lifetime`: a minute
/// before it expires, or a fifth of its lifetime before for short-lived ones,
/// so a token is never presented in its last moments.
pub fn renew_at(issued: SystemTime, lifetime: Duration) -> SystemTime {
    let margin = Duration::from_secs(60).min(lifetime / 5);
    issued + (lifetime - margin)
}

/// Lifetime assumed when the provider does not say (`expires_in` is optional).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A failed refresh is answered from memory for this long, so the sender's
/// parallel workers do not each ask the endpoint again at once.
const FAILURE_MEMORY: Duration = Duration::from_secs(5);

/// The token endpoint's answer (RFC 6749 §5.1, §5.2).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// A successful token answer.
struct Granted {
    /// The access token.
    access_token: String,
    /// How long it lives (`expires_in`, or [`DEFAULT_LIFETIME`]).
    lifetime: Duration,
    /// A new refresh token, if the provider issued one.
    refresh_token: Option<String>,
}

/// What the token cache holds.
#[derive(Default)]
struct State {
    /// The current access token.
    cached: Option<AccessToken>,
    /// The refresh token in use (possibly rotated, newer than its home).
    refresh: Option<String>,
    /// What was last read from, or written to, the refresh token's home: a
    /// different value there means someone stored a new token.
    loaded: Option<String>,
    /// The last refresh failure and when, see [`FAILURE_MEMORY`].
    failed: Option<(SystemTime, TokenError)>,
    /// Whether the "cannot persist a rotated token" warning was given.
    warned_env: bool,
}

/// Access tokens for one `[oauth2]` configuration, shared by IMAP and SMTP.
pub struct TokenSource {
    /// Endpoints, client and where the refresh token lives.
    cfg: OAuth2Config,
    /// HTTP client (rustls with the same roots as IMAP and SMTP).
    http: reqwest::Client,
    /// Cache and refresh token; a tokio mutex so one refresh serves all waiters.
    state: tokio::sync::Mutex<State>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.cfg.token_url)
            .field("client_id", &self.cfg.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source for `cfg`. Nothing is fetched until a token is needed.
    pub fn new(cfg: &OAuth2Config) -> Result<TokenSource, TokenError> {
        let tls = crate::tls::client_config(cfg.ca_file.as_deref())
            .map_err(|e| TokenError::Secret(format!("oauth2.ca_file: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .user_agent(concat!("cfpd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TokenError::Unreachable {
                url: cfg.token_url.clone(),
                reason: format!("HTTP client: {e}"),
            })?;
        Ok(TokenSource {
            cfg: cfg.clone(),
            http,
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    /// The token endpoint (for messages).
    pub fn token_url(&self) -> &str {
        &self.cfg.token_url
    }

    /// A usable access token: the cached one, or a fresh one from the endpoint.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        let mut st = self.state.lock().await;
        let now = SystemTime::now();
        if let Some(t) = &st.cached {
            if now < t.renew_at {
                return Ok(AccessToken {
                    fresh: false,
                    ..t.clone()
                });
            }
        }
        if let Some((at, e)) = &st.failed {
            if now.duration_since(*at).unwrap_or_default() < FAILURE_MEMORY {
                return Err(e.clone());
            }
        }
        match self.refresh(&mut st).await {
            Ok(t) => {
                st.failed = None;
                st.cached = Some(t.clone());
                Ok(t)
            }
            Err(e) => {
                st.failed = Some((SystemTime::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// A server rejected `token`: forget it (unless it was already replaced),
    /// so the next [`access_token`](Self::access_token) refreshes.
    pub async fn invalidate(&self, token: &AccessToken) {
        let mut st = self.state.lock().await;
        if st.cached.as_ref().is_some_and(|c| c.secret == token.secret) {
            st.cached = None;
            st.failed = None;
        }
    }

    /// One refresh_token grant; rotates the stored refresh token if told to.
    async fn refresh(&self, st: &mut State) -> Result<AccessToken, TokenError> {
        let location = self.cfg.refresh_token.location();
        match self.cfg.refresh_token.resolve() {
            Ok(Some(v)) => {
                let v = v.trim().to_string();
                if v.is_empty() {
                    if st.refresh.is_none() {
                        return Err(TokenError::Secret(format!(
                            "the refresh token in {location} is empty: run `cfpd oauth2 authorize` or store one there"
                        )));
                    }
                } else if st.loaded.as_deref() != Some(v.as_str()) {
                    // First read, or someone stored a new token since.
                    st.refresh = Some(v.clone());
                    st.loaded = Some(v);
                }
            }
            Ok(None) => {}
            Err(e) if st.refresh.is_none() => {
                return Err(TokenError::Secret(format!(
                    "oauth2 refresh token: {e} (`cfpd oauth2 authorize` signs in and stores one)"
                )))
            }
            // Its home became unreadable, but a token from before is in memory.
            Err(e) => {
                tracing::warn!(error = %e, "oauth2 refresh token unreadable; using the one in memory")
            }
        }
        let refresh = st
            .refresh
            .clone()
            .ok_or_else(|| TokenError::Secret(format!("no refresh token in {location}")))?;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh.clone()),
        ];
        if self.cfg.scope_on_refresh {
            form.push(("scope", self.cfg.scopes.join(" ")));
        }
        let issued = SystemTime::now();
        let g = self.grant(form).await?;
        let mut rotated = false;
        if let Some(new) = g.refresh_token.filter(|t| *t != refresh) {
            rotated = true;
            self.keep_rotated(st, new);
        }
        tracing::info!(
            token_url = %self.cfg.token_url,
            expires_in_s = g.lifetime.as_secs(),
            rotated,
            "OAuth2 access token refreshed"
        );
        Ok(AccessToken {
            secret: g.access_token,
            fresh: true,
            renew_at: renew_at(issued, g.lifetime),
        })
    }

    /// One request to the token endpoint with `form` (plus the client's
    /// credentials), its answer checked.
    async fn grant(&self, mut form: Vec<(&str, String)>) -> Result<Granted, TokenError> {
        let client_secret = self
            .cfg
            .client_secret
            .resolve()
            .map_err(|e| TokenError::Secret(format!("oauth2 client secret: {e}")))?;
        form.push(("client_id", self.cfg.client_id.clone()));
        if let Some(s) = client_secret {
            form.push(("client_secret", s));
        }
        let url = &self.cfg.token_url;
        let resp = self
            .http
            .post(url)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenError::Unreachable {
                url: url.clone(),
                reason: if e.is_timeout() {
                    format!("no answer within {}s", self.cfg.timeout.as_secs())
                } else {
                    root_cause(&e)
                },
            })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| TokenError::Unreachable {
            url: url.clone(),
            reason: format!("reading the answer: {}", root_cause(&e)),
        })?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
        let bad = |reason: String| TokenError::BadResponse {
            url: url.clone(),
            status,
            reason,
        };
        let Some(r) = parsed else {
            return Err(bad(format!(
                "not JSON: {:?}",
                printable(&String::from_utf8_lossy(&body), 120)
            )));
        };
        if let Some(code) = r.error {
            let code = printable(&code, 60);
            let description = r.error_description.map(|d| printable(&d, 300));
            return Err(match code.as_str() {
                "invalid_grant" => TokenError::RefreshTokenRejected {
                    code,
                    description,
                    location: self.cfg.refresh_token.location(),
                },
                "invalid_client" | "unauthorized_client" => TokenError::ClientRejected {
                    code,
                    description,
                    secret_location: self.cfg.client_secret.location(),
                },
                _ => TokenError::Refused {
                    url: url.clone(),
                    code,
                    description,
                },
            });
        }
        if !(200..300).contains(&status) {
            return Err(bad("an HTTP error without an OAuth error code".into()));
        }
        let access_token = r
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no access_token in the answer".into()))?;
        if let Some(tt) = &r.token_type {
            if !tt.eq_ignore_ascii_case("bearer") {
                return Err(bad(format!(
                    "token_type {:?}, not Bearer",
                    printable(tt, 40)
                )));
            }
        }
        let lifetime = match &r.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIFETIME);
        Ok(Granted {
            access_token,
            lifetime,
            refresh_token: r.refresh_token.filter(|t| !t.is_empty()),
        })
    }

    /// Sign in once in a browser and get a refresh token: the authorization
    /// code flow with PKCE (RFC 7636) and a loopback redirect (RFC 8252).
    /// `listener` receives the browser's redirect at `redirect_uri`;
    /// `announce` is given the URL to open. Waits at most `wait`.
    pub async fn authorize(
        &self,
        listener: tokio::net::TcpListener,
        redirect_uri: &str,
        announce: impl FnOnce(&str),
        wait: Duration,
    ) -> Result<String, TokenError> {
        use data_encoding::BASE64URL_NOPAD;
        use rand::RngCore;
        use sha2::Digest;
        let fail = |m: String| TokenError::Authorization(m);
        let auth_url = self.cfg.auth_url.as_deref().ok_or_else(|| {
            fail("oauth2.auth_url is not set (provider = \"custom\" needs it for authorize)".into())
        })?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let verifier = BASE64URL_NOPAD.encode(&bytes);
        let challenge = BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()));
        rand::rng().fill_bytes(&mut bytes[..16]);
        let state = BASE64URL_NOPAD.encode(&bytes[..16]);
        let scope = self.cfg.scopes.join(" ");
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.cfg.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if !scope.is_empty() {
            params.push(("scope", scope.as_str()));
        }
        if self.cfg.provider == crate::config::OAuth2Provider::Google {
            // Without these Google issues no refresh token (or only on first consent).
            params.push(("access_type", "offline"));
            params.push(("prompt", "consent"));
        }
        let url = reqwest::Url::parse_with_params(auth_url, &params)
            .map_err(|e| fail(format!("oauth2.auth_url: {e}")))?;
        announce(url.as_str());
        let code = tokio::time::timeout(wait, receive_code(listener, &state))
            .await
            .map_err(|_| {
                fail(format!(
                    "no answer from the browser within {} min",
                    wait.as_secs() / 60
                ))
            })??;
        let g = self
            .grant(vec![
                ("grant_type", "authorization_code".into()),
                ("code", code),
                ("redirect_uri", redirect_uri.to_string()),
                ("code_verifier", verifier),
            ])
            .await?;
        g.refresh_token.ok_or_else(|| {
            fail(
                "the provider issued no refresh token (Microsoft needs the offline_access scope in oauth2.scopes)"
                    .into(),
            )
        })
    }

    /// Use a rotated refresh token from now on, and store it where the old
    /// one came from if that is a file.
    fn keep_rotated(&self, st: &mut State, new: String) {
        st.refresh = Some(new.clone());
        match &self.cfg.refresh_token {
            Secret::File(path) => match write_private(path, &new) {
                Ok(()) => {
                    st.loaded = Some(new);
                    tracing::info!(file = %path.display(), "stored the rotated OAuth2 refresh token");
                }
                Err(e) => tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "the provider rotated the OAuth2 refresh token but it could not be stored; \
                     using it in memory (the old one may stop working: make the file writable by cfpd)"
                ),
            },
            _ => {
                if !st.warned_env {
                    st.warned_env = true;
                    tracing::warn!(
                        location = %self.cfg.refresh_token.location(),
                        "the provider rotated the OAuth2 refresh token; it is used in memory but cannot be \
                         stored in an environment variable: use refresh_token_file so it survives restarts"
                    );
                }
            }
        }
    }
}

/// Wait for the browser's redirect on `listener` and return its `code`,
/// answering the browser with a short page. Requests that are not the
/// redirect (a favicon) get a 404 and the wait goes on.
async fn receive_code(
    listener: tokio::net::TcpListener,
    state: &str,
) -> Result<String, TokenError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail = |m: String| TokenError::Authorization(m);
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| fail(format!("accepting the browser's connection: {e}")))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let parsed = reqwest::Url::parse(&format!("http://localhost{target}")).ok();
        let q: std::collections::HashMap<String, String> = parsed
            .as_ref()
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default();
        let (status, page, result) = if let Some(err) = q.get("error") {
            let d = q.get("error_description").cloned().unwrap_or_default();
            let m = format!(
                "the provider answered {}: {}",
                printable(err, 60),
                printable(&d, 300)
            );
            ("400 Bad Request", format!("cfpd: {m}"), Some(Err(fail(m))))
        } else if let Some(code) = q.get("code") {
            if q.get("state").map(String::as_str) == Some(state) {
                (
                    "200 OK",
                    "cfpd has the authorization. You can close this tab.".to_string(),
                    Some(Ok(code.clone())),
                )
            } else {
                let m = "the redirect carried a different state (an old or forged link); run authorize again".to_string();
                ("400 Bad Request", format!("cfpd: {m}"), Some(Err(fail(m))))
            }
        } else {
            (
                "404 Not Found",
                "cfpd: waiting for the authorization redirect".to_string(),
                None,
            )
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        let _ = sock.shutdown().await;
        if let Some(r) = result {
            return r;
        }
    }
}

/// The innermost cause of an HTTP error ("Connection refused (os error
/// 111)", "invalid peer certificate: UnknownIssuer"): reqwest's own message
/// repeats the URL, which the error names already.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(c) = cur.source() {
        cur = c;
    }
    cur.to_string()
}

/// Replace `path` with `contents` (plus a newline), readable by the owner
/// only, atomically: a crash leaves the old file or the new one, never half.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // `mode` applies only to a newly created file.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(contents.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoauth2_response_is_the_documented_layout() {
        assert_eq!(
            xoauth2_response("cfp@conf.example", "ya29.tok"),
            "user=cfp@conf.example\u{1}auth=Bearer ya29.tok\u{1}\u{1}"
        );
    }

    #[test]
    fn xoauth2_errors_are_summarised_without_raw_json() {
        let d = describe_xoauth2_error(
            br#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#,
        );
        assert_eq!(
            d,
            "XOAUTH2 error status 400, scope wanted: https://mail.google.com/"
        );
        assert_eq!(describe_xoauth2_error(b""), "no detail");
        assert_eq!(describe_xoauth2_error(b"bad\r\nthing"), "bad  thing");
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // An hour-long token is used until a minute before its end.
        assert_eq!(
            renew_at(t0, Duration::from_secs(3600)),
            t0 + Duration::from_secs(3540)
        );
        // A 5-second token is used for 4 seconds, not 0.
        assert_eq!(
            renew_at(t0, Duration::from_secs(5)),
            t0 + Duration::from_secs(4)
        );
        assert_eq!(renew_at(t0, Duration::ZERO), t0);
    }

    #[test]
    fn tokens_never_print() {
        let t = AccessToken {
            secret: "ya29.very-secret".into(),
            fresh: true,
            renew_at: SystemTime::now(),
        };
        assert!(!format!("{t:?}").contains("very-secret"));
        let l = Login::Password {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{l:?}").contains("hunter2"));
    }

    /// A token endpoint on loopback that issues `at-1`, `at-2`, … and counts requests.
    async fn endpoint() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then the form body (its length is in Content-Length).
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_ascii_lowercase();
                    let Some(end) = text.find("\r\n\r\n") else {
                        if n == 0 {
                            break;
                        }
                        continue;
                    };
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if n == 0 || req.len() >= end + 4 + len {
                        break;
                    }
                }
                let k = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let body = format!(
                    r#"{{"access_token":"at-{k}","token_type":"Bearer","expires_in":3600}}"#
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
        (url, hits)
    }

    fn source(url: String, dir: &Path) -> TokenSource {
        let refresh = dir.join("refresh-token");
        std::fs::write(&refresh, "rt-1\n").unwrap();
        TokenSource::new(&OAuth2Config {
            provider: crate::config::OAuth2Provider::Custom,
            token_url: url,
            auth_url: None,
            client_id: "client".into(),
            client_secret: Secret::None,
            refresh_token: Secret::File(refresh),
            scopes: vec![],
            scope_on_refresh: false,
            timeout: Duration::from_secs(5),
            ca_file: None,
        })
        .unwrap()
    }

    /// The shared login loop: a rejected cached token costs one refresh and one more
    /// try on the connection handed back; a rejected fresh token ends it; any other
    /// failure ends it without a refresh.
    #[tokio::test]
    async fn the_login_loop_refreshes_once_for_a_rejected_cached_token() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let (url, hits) = endpoint().await;
        let tokens = source(url, dir.path());
        tokens.access_token().await.unwrap(); // now cached: at-1
                                              // The server takes only at-2; the connection is a count of tries on it.
        let r: Result<(String, u32), XOAuth2Error<()>> =
            xoauth2_login(&tokens, "TEST", "h", 0u32, |tries, token| async move {
                if token.secret() == "at-2" {
                    Attempt::LoggedIn((token.secret().to_string(), tries + 1))
                } else {
                    Attempt::Rejected(tries + 1, format!("no {}", token.secret()))
                }
            })
            .await;
        assert_eq!(r.unwrap(), ("at-2".to_string(), 2));
        assert_eq!(hits.load(Ordering::SeqCst), 2);

        // at-2 is cached now; a server that takes nothing gets it and a fresh at-3.
        let r: Result<(), XOAuth2Error<()>> =
            xoauth2_login(&tokens, "TEST", "h", (), |(), token| async move {
                Attempt::Rejected((), format!("no {}", token.secret()))
            })
            .await;
        assert!(
            matches!(&r, Err(XOAuth2Error::Rejected { why }) if why == "no at-3"),
            "{r:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 3);

        // at-3 was dropped; at-4 is fresh and rejected: no fifth token.
        let r: Result<(), XOAuth2Error<()>> =
            xoauth2_login(&tokens, "TEST", "h", (), |(), _| async move {
                Attempt::Rejected((), "no".into())
            })
            .await;
        assert!(matches!(r, Err(XOAuth2Error::Rejected { .. })), "{r:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 4);

        // Another failure (UNAVAILABLE, a broken connection) spends no refresh.
        let r: Result<(), XOAuth2Error<&str>> =
            xoauth2_login(&tokens, "TEST", "h", (), |(), _| async move {
                Attempt::Failed("unavailable")
            })
            .await;
        assert!(
            matches!(r, Err(XOAuth2Error::Failed("unavailable"))),
            "{r:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 5, "at-4 was dropped above");
    }

    #[test]
    fn private_files_are_replaced_whole_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("refresh-token");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&p, "new-token").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new-token\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
