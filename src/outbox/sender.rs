//! The sender task: the only code in cfpd that talks SMTP.
//!
//! It takes due mail from the outbox and hands it to the SMTP server over
//! persistent connections (TCP_NODELAY set: lettre's own transport leaves
//! Nagle on, which caps a pooled connection near 22 mails/s on loopback), or
//! writes it as `.eml` files for the demo. The connections are opened
//! first (a server that cannot be reached leaves the mail `queued`, never
//! claimed); then mail is claimed in groups
//! ([`outbox::claim_due`]: the rows become `sending` in one commit, with how
//! the previous group ended), dealt to the connections, and per mail:
//!
//! 1. `MAIL FROM`, `RCPT TO`, `DATA` — a refusal here means the server did
//!    not take the mail: 4xx is retried with backoff, 5xx marks it failed.
//! 2. The body is transmitted, with its reply token put back
//!    ([`crate::token::with_reply_token`]; the stored copy never holds it).
//! 3. `250` → `sent`. A 4xx/5xx reply → retry/failed. A broken connection or
//!    timeout at this point is ambiguous and the row becomes `uncertain`:
//!    cfpd never risks sending a mail twice. A crash leaves the rows of the
//!    group in flight `sending`, and the next start marks them `uncertain`.

use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::backoff::{mail_retry_delay, Backoff};
use crate::clock::Clock;
use crate::config::{AuthMethod, OutgoingConfig, SmtpConfig, TlsMode};
use crate::metrics::{Metrics, SendFailure};
use crate::oauth2::{AccessToken, Attempt, Login, TokenSource, XOAuth2Error};
use crate::progress::Counter;
use crate::shutdown::Shutdown;
use crate::store::{self, outbox, Ctx, Store};

/// Why sending could not proceed at all.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Could not connect, negotiate TLS or log in.
    #[error("SMTP {host}:{port}: {reason}")]
    Connect {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What failed.
        reason: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Writing an `.eml` file failed.
    #[error("writing {path}: {source}")]
    File {
        /// Target file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why the configured transport cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The password could not be read (the text names where it was looked for).
    #[error("{0}")]
    Password(String),
    /// `auth = "oauth2"` in `[outgoing]` but no `[oauth2]` table.
    #[error("auth = \"oauth2\" without an [oauth2] token source")]
    NoTokenSource,
}

/// Why one step of opening an SMTP connection failed; it becomes the reason of
/// [`SendError::Connect`].
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// The step failed.
    #[error("{what}: {source}")]
    Failed {
        /// Which step (`connect`, `greeting`, `STARTTLS`, …).
        what: &'static str,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The step got no answer in time.
    #[error("{what}: timed out after {secs}s")]
    TimedOut {
        /// Which step.
        what: &'static str,
        /// The configured timeout.
        secs: u64,
    },
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Transport {
    /// An SMTP submission server.
    Smtp {
        /// Connection settings.
        cfg: SmtpConfig,
        /// How to log in (password resolved from env or file, or OAuth2
        /// tokens), if the server wants it. Prints without secrets.
        login: Option<Login>,
    },
    /// A folder receiving one `.eml` file per mail.
    Folder(std::path::PathBuf),
}

impl Transport {
    /// Build from config, resolving the secret now (errors name where it was
    /// looked for). `tokens` serves `auth = "oauth2"`.
    pub fn from_config(
        cfg: &OutgoingConfig,
        tokens: Option<&Arc<TokenSource>>,
    ) -> Result<Transport, TransportError> {
        Ok(match cfg {
            OutgoingConfig::Folder { path } => Transport::Folder(path.clone()),
            OutgoingConfig::Smtp(s) => {
                let login = match (s.auth, &s.user) {
                    (AuthMethod::OAuth2, Some(u)) => Some(Login::OAuth2 {
                        user: u.clone(),
                        tokens: tokens.ok_or(TransportError::NoTokenSource)?.clone(),
                    }),
                    (AuthMethod::Password, Some(u)) => s
                        .password
                        .resolve()
                        .map_err(|e| TransportError::Password(e.to_string()))?
                        .map(|password| Login::Password {
                            user: u.clone(),
                            password,
                        }),
                    (_, None) => None,
                };
                Transport::Smtp {
                    cfg: s.clone(),
                    login,
                }
            }
        })
    }

    fn workers(&self) -> usize {
        match self {
            Transport::Smtp { cfg, .. } => cfg.connections.max(1),
            Transport::Folder(_) => 1,
        }
    }
}

/// A TLS stream wrapper lettre can use as its transport (implicit TLS with our rustls config).
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

async fn timed<T, E: std::error::Error + Send + Sync + 'static>(
    d: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(d, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StepError::Failed {
            what,
            source: Box::new(e),
        }),
        Err(_) => Err(StepError::TimedOut {
            what,
            secs: d.as_secs(),
        }),
    }
}

/// Open an SMTP connection: TCP (no Nagle), TLS as configured, EHLO, AUTH.
pub async fn connect(
    cfg: &SmtpConfig,
    login: Option<&Login>,
) -> Result<AsyncSmtpConnection, SendError> {
    let err = |reason: String| SendError::Connect {
        host: cfg.host.clone(),
        port: cfg.port,
        reason,
    };
    let step = |e: StepError| err(e.to_string());
    let tcp = timed(
        cfg.timeout,
        "connect",
        TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    .map_err(step)?;
    tcp.set_nodelay(true)
        .map_err(|e| err(format!("TCP_NODELAY: {e}")))?;
    let hello = ClientId::Domain(hostname_for_ehlo().unwrap_or_else(|| "localhost".into()));
    let mut conn = match cfg.tls {
        TlsMode::None => timed(
            cfg.timeout,
            "greeting",
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
        )
        .await
        .map_err(step)?,
        TlsMode::Starttls => {
            let mut c = timed(
                cfg.timeout,
                "greeting",
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
            )
            .await
            .map_err(step)?;
            if !c.server_info().supports_feature(Extension::StartTls) {
                return Err(err(
                    "the server does not offer STARTTLS; refusing to send in plaintext (set tls = \"none\" only for a local relay)".into(),
                ));
            }
            let mut b = TlsParameters::builder(cfg.host.clone());
            if let Some(ca) = &cfg.ca_file {
                let pem =
                    std::fs::read(ca).map_err(|e| err(format!("CA file {}: {e}", ca.display())))?;
                let cert = lettre::transport::smtp::client::Certificate::from_pem(&pem)
                    .map_err(|e| err(format!("CA file {}: {e}", ca.display())))?;
                b = b.add_root_certificate(cert);
            }
            let params = b.build_rustls().map_err(|e| err(format!("TLS: {e}")))?;
            timed(cfg.timeout, "STARTTLS", c.starttls(params, &hello))
                .await
                .map_err(step)?;
            c
        }
        TlsMode::Implicit => {
            let tls = crate::tls::client_config(cfg.ca_file.as_deref())
                .map_err(|e| err(e.to_string()))?;
            let name = crate::tls::server_name(&cfg.host).map_err(|e| err(e.to_string()))?;
            let stream = timed(
                cfg.timeout,
                "TLS handshake",
                tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
            )
            .await
            .map_err(step)?;
            timed(
                cfg.timeout,
                "greeting",
                AsyncSmtpConnection::connect_with_transport(Box::new(TlsTcp(stream)), &hello),
            )
            .await
            .map_err(step)?
        }
    };
    match login {
        None => {}
        Some(Login::Password { user, password }) => {
            let creds = Credentials::new(user.clone(), password.clone());
            timed(
                cfg.timeout,
                "authentication",
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds),
            )
            .await
            .map_err(|e| {
                err(format!(
                    "{e} (check user and password_env/password_file/password_credential)"
                ))
            })?;
        }
        Some(Login::OAuth2 { user, tokens }) => {
            xoauth2_login(&mut conn, cfg, user, tokens)
                .await
                .map_err(|e| err(e.to_string()))?;
        }
    }
    Ok(conn)
}

/// One `AUTH XOAUTH2` with an initial response. Some servers (Gmail) answer a
/// bad token with a 334 challenge carrying a JSON error, to which the client
/// must send an empty line before the final 535; lettre's own `auth` refuses
/// that challenge, so the exchange is done here.
///
/// A 5xx answer rejects the token (or the user it names); anything else (4xx, a
/// broken connection, a timeout) is another failure.
async fn xoauth2_once<'c>(
    conn: &'c mut AsyncSmtpConnection,
    t: Duration,
    user: &str,
    token: &AccessToken,
) -> Attempt<(), &'c mut AsyncSmtpConnection, AuthError> {
    let b64 = data_encoding::BASE64
        .encode(crate::oauth2::xoauth2_response(user, token.secret()).as_bytes());
    let timeout = || AuthError::TimedOut(t.as_secs());
    match tokio::time::timeout(t, conn.command(format!("AUTH XOAUTH2 {b64}\r\n"))).await {
        Err(_) => Attempt::Failed(timeout()),
        Ok(Ok(r)) if r.has_code(235) => Attempt::LoggedIn(()),
        Ok(Ok(r)) if r.has_code(334) => {
            let challenge = r
                .first_line()
                .and_then(|l| data_encoding::BASE64.decode(l.trim().as_bytes()).ok())
                .unwrap_or_default();
            let detail = crate::oauth2::describe_xoauth2_error(&challenge);
            let last = match tokio::time::timeout(t, conn.command("\r\n")).await {
                Err(_) => return Attempt::Failed(timeout()),
                Ok(Ok(r)) => format!("answer {}", r.code()),
                Ok(Err(e)) => e.to_string(),
            };
            Attempt::Rejected(conn, format!("{last}; {detail}"))
        }
        Ok(Ok(r)) => Attempt::Failed(AuthError::Unexpected(r.code().to_string())),
        Ok(Err(e)) if e.is_permanent() => Attempt::Rejected(conn, e.to_string()),
        Ok(Err(e)) => Attempt::Failed(AuthError::Smtp(e)),
    }
}

/// Why `AUTH XOAUTH2` failed other than by a rejected token.
#[derive(Debug, thiserror::Error)]
enum AuthError {
    /// No answer in time.
    #[error("authentication: timed out after {0}s")]
    TimedOut(u64),
    /// An answer that is neither success, a challenge nor an error.
    #[error("authentication: unexpected answer {0}")]
    Unexpected(String),
    /// A temporary error or a broken connection.
    #[error("authentication: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
}

/// Why an OAuth2 login failed.
#[derive(Debug, thiserror::Error)]
enum OAuth2LoginError {
    /// The server does not offer the mechanism.
    #[error(
        "the server does not offer AUTH XOAUTH2 (check outgoing.host and outgoing.port; \
             Microsoft 365 needs SMTP AUTH enabled for the mailbox)"
    )]
    NotOffered,
    /// The login loop gave up.
    #[error("{0}")]
    Login(XOAuth2Error<AuthError>),
    /// The server rejected a fresh token.
    #[error("the server rejected the OAuth2 access token for {user:?} ({why}): the provider issued it, \
             so check that outgoing.user is the account that authorized cfpd, that the scopes allow \
             SMTP (oauth2.scopes) and that SMTP AUTH is enabled for this mailbox")]
    Rejected {
        /// The login name.
        user: String,
        /// The server's words.
        why: String,
    },
}

/// Log in with an OAuth2 access token (see [`crate::oauth2::xoauth2_login`]).
async fn xoauth2_login(
    conn: &mut AsyncSmtpConnection,
    cfg: &SmtpConfig,
    user: &str,
    tokens: &TokenSource,
) -> Result<(), OAuth2LoginError> {
    if !conn
        .server_info()
        .supports_auth_mechanism(Mechanism::Xoauth2)
    {
        return Err(OAuth2LoginError::NotOffered);
    }
    let t = cfg.timeout;
    crate::oauth2::xoauth2_login(tokens, "SMTP", &cfg.host, conn, |c, token| async move {
        xoauth2_once(c, t, user, &token).await
    })
    .await
    .map_err(|e| match e {
        XOAuth2Error::Rejected { why } => OAuth2LoginError::Rejected {
            user: user.to_string(),
            why,
        },
        e => OAuth2LoginError::Login(e),
    })
}

/// One envelope command with a timeout; the error says whether the refusal is permanent (5xx).
async fn step(
    d: Duration,
    what: &str,
    f: impl std::future::Future<
        Output = Result<
            lettre::transport::smtp::response::Response,
            lettre::transport::smtp::Error,
        >,
    >,
) -> Result<(), (bool, String)> {
    match tokio::time::timeout(d, f).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err((e.is_permanent(), format!("{what}: {e}"))),
        Err(_) => Err((false, format!("{what}: timed out after {}s", d.as_secs()))),
    }
}

fn hostname_for_ehlo() -> Option<String> {
    let h = std::fs::read_to_string("/etc/hostname").ok()?;
    let h = h.trim();
    (!h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    .then(|| h.to_string())
}

/// What happened to one mail.
enum Outcome {
    Sent,
    /// Not delivered for sure; try again later.
    Retry(String),
    /// Refused permanently.
    Failed(String),
    /// The body may or may not have been delivered.
    Uncertain(String),
    /// The server could not be reached: not this mail's fault, so its retry
    /// schedule is left alone and it goes out as soon as the server is back.
    Unreachable(String),
}

/// Counts from a drain.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainStats {
    /// Accepted by the server.
    pub sent: usize,
    /// Rescheduled.
    pub retried: usize,
    /// Refused permanently.
    pub failed: usize,
    /// Outcome unknown (connection lost after the body).
    pub uncertain: usize,
}

impl std::ops::AddAssign for DrainStats {
    fn add_assign(&mut self, o: DrainStats) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.uncertain += o.uncertain;
    }
}

/// The sender: one per process.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Where queued mail lives.
    store: Store,
    /// Where mail goes.
    transport: Transport,
    /// Time source for retry schedules.
    clock: Arc<dyn Clock>,
    /// Poked by intake when it queues mail, so acks leave within milliseconds.
    pub notify: Arc<Notify>,
    /// Counts what happened to each mail, for `/metrics`.
    metrics: Arc<Metrics>,
}

/// One connection's state through a drain.
#[derive(Default)]
struct Worker {
    conn: Option<AsyncSmtpConnection>,
    /// The server or connection is unwell: no more mail for this worker
    /// until the next drain.
    stopped: bool,
}

impl Worker {
    /// This worker's live connection, opened (again) when it has none or
    /// the one it had broke.
    async fn connected(
        &mut self,
        cfg: &SmtpConfig,
        login: Option<&Login>,
    ) -> Result<&mut AsyncSmtpConnection, SendError> {
        if self.conn.as_ref().is_some_and(|c| c.has_broken()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some(connect(cfg, login).await?);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }
}

/// Mails claimed per connection with one commit (see [`Sender::drain_counted`]).
const GROUP_PER_CONNECTION: usize = 8;

/// What one worker did with its share of a group.
#[derive(Default)]
struct Share {
    settled: Vec<(i64, outbox::Settled)>,
    stats: DrainStats,
    /// The server could not be reached: end the drain.
    unreachable: bool,
    /// Writing an `.eml` file failed.
    error: Option<SendError>,
}

impl Sender {
    /// A sender over `store` and `transport`.
    pub fn new(store: Store, transport: Transport, clock: Arc<dyn Clock>) -> Sender {
        Sender {
            store,
            transport,
            clock,
            notify: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Count into the process's `metrics` (those `/metrics` serves).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Sender {
        self.metrics = metrics;
        self
    }

    /// Mark mail left `sending` by a crashed process as `uncertain`. Call once at start.
    pub async fn recover(&self) -> Result<u64, SendError> {
        let mut c = self.store.conn().await?;
        Ok(outbox::recover_in_flight(&mut c).await?)
    }

    /// Send everything due now, then return (for `run --once`).
    pub async fn drain(&self) -> Result<DrainStats, SendError> {
        self.drain_counted(None).await
    }

    /// [`Sender::drain`], counting each mail handed over or given up on `counter`.
    ///
    /// Mail goes out in groups: one transaction records how the previous
    /// group ended and claims the next (up to `GROUP_PER_CONNECTION` per
    /// connection, oldest first), whose mails are dealt to the connections
    /// and sent side by side. Claiming and settling each mail in its own
    /// transaction was most of what a backlog wrote to disk (issue 18);
    /// the price is that a crash in the middle of a group leaves that group
    /// `uncertain` (at most `connections × 8` mails, listed for the chair),
    /// where it left one mail per connection.
    pub async fn drain_counted(&self, counter: Option<Counter>) -> Result<DrainStats, SendError> {
        {
            // Mail to an address that bounced is never sent (see store::bounces);
            // each one's state and the erasure of its secrets commit together.
            let mut tx = self.store.begin().await?;
            outbox::suppress_undeliverable(&mut tx).await?;
            tx.commit()
                .await
                .ctx("suppressing mail to undeliverable addresses")?;
        }
        let mut workers: Vec<Worker> = (0..self.transport.workers())
            .map(|_| Worker::default())
            .collect();
        let mut stats = DrainStats::default();
        let mut settled = Vec::new();
        let r = self
            .drain_groups(&mut workers, &mut stats, &mut settled, counter.as_ref())
            .await;
        if !settled.is_empty() {
            // Whatever stopped the drain, record what was sent. Should this
            // fail too, the rows stay `sending` and the next start marks
            // them uncertain: never sent twice.
            let now = store::ms(self.clock.now());
            let mut tx = self.store.begin().await?;
            outbox::settle(&mut tx, &settled, now).await?;
            tx.commit().await.ctx("recording sent mail")?;
        }
        for w in &mut workers {
            if let Some(mut c) = w.conn.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), c.quit()).await;
            }
        }
        r.map(|()| stats)
    }

    /// Claim, send and settle groups until nothing is due or every
    /// connection stopped; `settled` holds the last group's outcomes, not
    /// yet recorded.
    async fn drain_groups(
        &self,
        workers: &mut [Worker],
        stats: &mut DrainStats,
        settled: &mut Vec<(i64, outbox::Settled)>,
        counter: Option<&Counter>,
    ) -> Result<(), SendError> {
        loop {
            self.open_connections(workers).await;
            let active = workers.iter().filter(|w| !w.stopped).count();
            if active == 0 {
                return Ok(());
            }
            let now = store::ms(self.clock.now());
            let group = {
                let mut tx = self.store.begin().await?;
                outbox::settle(&mut tx, settled, now).await?;
                let group =
                    outbox::claim_due(&mut tx, now, (GROUP_PER_CONNECTION * active) as i64).await?;
                tx.commit().await.ctx("claiming mail to send")?;
                settled.clear();
                group
            };
            if group.is_empty() {
                return Ok(());
            }
            let mut shares: Vec<Vec<outbox::DueMail>> = vec![Vec::new(); active];
            for (i, m) in group.into_iter().enumerate() {
                shares[i % active].push(m);
            }
            let done = futures::future::join_all(
                workers
                    .iter_mut()
                    .filter(|w| !w.stopped)
                    .zip(shares)
                    .map(|(w, share)| self.send_share(w, share, counter)),
            )
            .await;
            let mut unreachable = false;
            let mut error = None;
            for share in done {
                settled.extend(share.settled);
                *stats += share.stats;
                unreachable |= share.unreachable;
                error = error.or(share.error);
            }
            if let Some(e) = error {
                return Err(e);
            }
            if unreachable {
                return Ok(());
            }
        }
    }

    /// Open the SMTP connections a group will need before it is claimed, so
    /// that while the server cannot be reached no mail is claimed at all: it
    /// stays `queued` instead of going through `sending` and back each round
    /// (two commits for nothing, and a window in which the chairs' view
    /// showed mail "sending" to a server that was down). A worker that cannot
    /// connect stops for this drain.
    async fn open_connections(&self, workers: &mut [Worker]) {
        let Transport::Smtp { cfg, login } = &self.transport else {
            return;
        };
        let opening = workers
            .iter_mut()
            .filter(|w| !w.stopped)
            .map(|w| async move {
                if let Err(e) = w.connected(cfg, login.as_ref()).await {
                    self.metrics.send_failed(SendFailure::Unreachable);
                    tracing::warn!(error = %e, "SMTP server unreachable; mail stays queued");
                    w.stopped = true;
                }
            });
        futures::future::join_all(opening).await;
    }

    /// Send one worker's share of a group, in order, on its connection.
    async fn send_share(
        &self,
        w: &mut Worker,
        mails: Vec<outbox::DueMail>,
        counter: Option<&Counter>,
    ) -> Share {
        use outbox::Settled;
        let mut share = Share::default();
        let mut mails = mails.into_iter();
        for m in mails.by_ref() {
            // Before the send: after it, every moment is a window for `uncertain`.
            let redacted = outbox::redaction(&m.raw);
            let wire = match &m.reply_secret {
                None => Some(std::borrow::Cow::Borrowed(&m.raw[..])),
                Some(secret) => {
                    crate::token::with_reply_token(&m.raw, secret).map(std::borrow::Cow::Owned)
                }
            };
            let outcome = match &wire {
                Some(wire) => match self.send_one(w, &m, wire).await {
                    Ok(o) => o,
                    Err(e) => {
                        share.settled.push((m.id, Settled::NotTried));
                        share.error = Some(e);
                        break;
                    }
                },
                None => {
                    Outcome::Failed("the stored mail has no place for its reply address".into())
                }
            };
            let now = self.clock.now();
            let settled = match outcome {
                Outcome::Sent => {
                    share.stats.sent += 1;
                    self.metrics.mail_sent();
                    tracing::debug!(outbox = m.id, message_id = %m.message_id, "mail sent");
                    Settled::Sent { redacted }
                }
                Outcome::Retry(e) => {
                    let next = now + mail_retry_delay(m.attempts);
                    self.metrics.send_failed(SendFailure::Temporary);
                    tracing::warn!(outbox = m.id, message_id = %m.message_id, attempts = m.attempts + 1, error = %e, "mail not delivered; will retry");
                    share.stats.retried += 1;
                    // The server or connection is unwell: this connection stops for this drain.
                    w.stopped = w.conn.is_none();
                    Settled::Retry {
                        error: e,
                        next: store::ms(next),
                    }
                }
                Outcome::Unreachable(e) => {
                    self.metrics.send_failed(SendFailure::Unreachable);
                    tracing::warn!(outbox = m.id, error = %e, "SMTP server unreachable; mail stays queued");
                    share.stats.retried += 1;
                    share.unreachable = true;
                    w.stopped = true;
                    Settled::NotTried
                }
                Outcome::Failed(e) => {
                    self.metrics.send_failed(SendFailure::Permanent);
                    tracing::warn!(outbox = m.id, message_id = %m.message_id, error = %e, "mail refused permanently");
                    share.stats.failed += 1;
                    Settled::Failed { error: e, redacted }
                }
                Outcome::Uncertain(e) => {
                    self.metrics.send_failed(SendFailure::Uncertain);
                    tracing::error!(outbox = m.id, message_id = %m.message_id, error = %e, "connection lost while sending; not resending");
                    share.stats.uncertain += 1;
                    Settled::Uncertain { error: e }
                }
            };
            share.settled.push((m.id, settled));
            if let Some(counter) = counter {
                counter.add(1);
            }
            if w.stopped {
                break;
            }
        }
        // Mails this connection will not offer in this drain go back as they were.
        share
            .settled
            .extend(mails.map(|m| (m.id, Settled::NotTried)));
        share
    }

    /// Hand `wire` (the bytes of `m` to send) to the server or the folder.
    async fn send_one(
        &self,
        w: &mut Worker,
        m: &outbox::DueMail,
        wire: &[u8],
    ) -> Result<Outcome, SendError> {
        match &self.transport {
            Transport::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| SendError::File {
                    path: dir.display().to_string(),
                    source,
                })?;
                let name = format!("{:06}-{}.eml", m.id, safe_name(&m.recipient));
                let tmp = dir.join(format!(".{name}.tmp"));
                let path = dir.join(&name);
                std::fs::write(&tmp, wire)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|source| SendError::File {
                        path: path.display().to_string(),
                        source,
                    })?;
                Ok(Outcome::Sent)
            }
            Transport::Smtp { cfg, login } => {
                let conn = match w.connected(cfg, login.as_ref()).await {
                    Ok(c) => c,
                    Err(e) => return Ok(Outcome::Unreachable(e.to_string())),
                };
                let t = cfg.timeout;
                let from = m.envelope_from.parse::<lettre::Address>().ok();
                let to = match m.recipient.parse::<lettre::Address>() {
                    Ok(a) => a,
                    Err(e) => return Ok(Outcome::Failed(format!("invalid recipient: {e}"))),
                };
                let mut params = vec![];
                if !wire.is_ascii() {
                    params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
                }
                // Envelope: the server has not taken the mail yet, so failures are safe to retry.
                let envelope = async {
                    step(t, "MAIL FROM", conn.command(Mail::new(from, params))).await?;
                    step(t, "RCPT TO", conn.command(Rcpt::new(to, vec![]))).await?;
                    step(t, "DATA", conn.command(Data)).await?;
                    Ok::<(), (bool, String)>(())
                }
                .await;
                if let Err((permanent, e)) = envelope {
                    // Reset the session: drop the connection, a new one is cheap.
                    w.conn = None;
                    return Ok(if permanent {
                        Outcome::Failed(e)
                    } else {
                        Outcome::Retry(e)
                    });
                }
                let conn = w.conn.as_mut().expect("still connected");
                match tokio::time::timeout(t, conn.message(wire)).await {
                    Ok(Ok(_)) => Ok(Outcome::Sent),
                    // A refused body ends the transaction, but not every server resets its
                    // session cleanly (aiosmtpd answers the next MAIL FROM with "503 nested
                    // MAIL command"): start the next mail on a fresh connection so one bad
                    // mail never fails the innocent one after it.
                    Ok(Err(e)) if e.is_permanent() => {
                        w.conn = None;
                        Ok(Outcome::Failed(e.to_string()))
                    }
                    Ok(Err(e)) if e.is_transient() => {
                        w.conn = None;
                        Ok(Outcome::Retry(e.to_string()))
                    }
                    Ok(Err(e)) => {
                        w.conn = None;
                        Ok(Outcome::Uncertain(e.to_string()))
                    }
                    Err(_) => {
                        w.conn = None;
                        Ok(Outcome::Uncertain(format!(
                            "no answer to the message body within {}s",
                            t.as_secs()
                        )))
                    }
                }
            }
        }
    }

    /// Run until shutdown: drain, then wait for a poke from intake or the next retry.
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
        while !shutdown.is_shutdown() {
            let wait = match self.drain().await {
                Ok(s) => {
                    if s.sent > 0 {
                        tracing::debug!(sent = s.sent, "outbox drained");
                    }
                    backoff.reset();
                    Duration::from_secs(5)
                }
                Err(e) => {
                    let d = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?d, "sender failed");
                    d
                }
            };
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.recv() => {}
            }
        }
    }
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '@' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}
