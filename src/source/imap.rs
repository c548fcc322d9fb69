//! The IMAP poller: async-imap on tokio, TLS through rustls.
//!
//! Cycle: connect (implicit TLS, STARTTLS, or plaintext only when the config
//! says `tls = "none"`) → LOGIN (or AUTHENTICATE XOAUTH2 with an access token
//! from [`crate::oauth2`]) → SELECT inbox → `UID FETCH last+1:* (UID
//! RFC822.SIZE)` to learn what is new and how big → fetch bodies of the
//! acceptable ones in batches (`BODY.PEEK[]`, so nothing is marked seen, with
//! INTERNALDATE, the arrival time deadlines are judged on) →
//! store them with the cursor in one transaction. Oversized messages are
//! never downloaded: they are recorded as quarantined by size alone.
//!
//! Every network call has a timeout; any failure drops the session and the
//! daemon reconnects with capped exponential backoff. A UIDVALIDITY change
//! restarts the cursor at 0: messages still in the inbox are stored again
//! under new keys and intake recognises them by Message-ID, so nothing is
//! acted on twice. Filing (MOVE, or COPY + STORE \Deleted + UID EXPUNGE) only
//! touches messages whose UIDVALIDITY is still current.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::SourceError;
use crate::config::{ImapConfig, TlsMode};
use async_imap::imap_proto::{Response, Status};

use crate::oauth2::{AccessToken, Attempt, Login, TokenSource, XOAuth2Error};
use crate::shutdown::Shutdown;
use crate::store::{messages, Ctx, Store};

/// A plain or TLS TCP stream, so one session type serves every TLS mode; while
/// AUTHENTICATE runs it keeps a copy of what the server sends (see `heard`), because
/// async-imap reports a refusal without the response it came in.
pub struct ImapStream {
    /// The connection.
    io: Io,
    /// What was read since recording started, when recording.
    tap: Option<Vec<u8>>,
}

/// The transport under an [`ImapStream`].
enum Io {
    /// Plaintext (only with `tls = "none"`, or before STARTTLS).
    Plain(TcpStream),
    /// TLS.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl ImapStream {
    fn plain(s: TcpStream) -> ImapStream {
        ImapStream {
            io: Io::Plain(s),
            tap: None,
        }
    }

    fn tls(s: tokio_rustls::client::TlsStream<TcpStream>) -> ImapStream {
        ImapStream {
            io: Io::Tls(Box::new(s)),
            tap: None,
        }
    }
}

impl fmt::Debug for ImapStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.io {
            Io::Plain(_) => "ImapStream::Plain",
            Io::Tls(_) => "ImapStream::Tls",
        })
    }
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if let (Poll::Ready(Ok(())), Some(tap)) = (&r, this.tap.as_mut()) {
            tap.extend_from_slice(&buf.filled()[before..]);
        }
        r
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An authenticated IMAP session.
pub type Session = async_imap::Session<ImapStream>;

/// What the server told us when the inbox was selected.
#[derive(Debug, Clone, Copy)]
struct Selected {
    /// Current UIDVALIDITY of the inbox.
    uidvalidity: u32,
    /// Whether the server supports IDLE (RFC 2177).
    idle: bool,
    /// Whether the server supports MOVE (RFC 6851).
    moves: bool,
    /// Whether the server supports UID EXPUNGE (UIDPLUS, RFC 4315).
    uidplus: bool,
}

/// The IMAP source.
pub struct ImapSource {
    /// Connection and folder settings.
    cfg: ImapConfig,
    /// How to log in (password resolved from env or file, or OAuth2 tokens); never logged.
    login: Login,
    /// Largest message downloaded; larger ones are quarantined by size.
    max_bytes: usize,
    /// The live session, if connected.
    session: Option<Session>,
    /// State of the selected inbox.
    selected: Option<Selected>,
}

impl fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSource")
            .field("host", &self.cfg.host)
            .field("user", &self.cfg.user)
            .field("connected", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

/// Wrap an IMAP future in the configured timeout.
async fn timed<T, E: fmt::Display>(
    d: Duration,
    host: &str,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, SourceError> {
    match tokio::time::timeout(d, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(SourceError::Imap {
            host: host.to_string(),
            reason: format!("{what}: {e}"),
        }),
        Err(_) => Err(SourceError::Imap {
            host: host.to_string(),
            reason: format!("{what}: no answer within {}s", d.as_secs()),
        }),
    }
}

/// Connect and log in, without selecting a folder (also used by `cfpd check`).
pub async fn connect(cfg: &ImapConfig, login: &Login) -> Result<Session, SourceError> {
    let h = cfg.host.as_str();
    let t = cfg.timeout;
    let tcp = timed(t, h, "connect", TcpStream::connect((h, cfg.port)))
        .await
        .map_err(|e| match e {
            SourceError::Imap { host, reason } => SourceError::Imap {
                reason: format!(
                    "{reason} — cannot reach port {} (check mailbox.host and mailbox.port, and that the server is up)",
                    cfg.port
                ),
                host,
            },
            other => other,
        })?;
    let _ = tcp.set_nodelay(true);
    let tls_connect = |tcp: TcpStream| async move {
        let tls =
            crate::tls::client_config(cfg.ca_file.as_deref()).map_err(|e| SourceError::Imap {
                host: h.to_string(),
                reason: e.to_string(),
            })?;
        let name = crate::tls::server_name(h).map_err(|e| SourceError::Imap {
            host: h.to_string(),
            reason: e.to_string(),
        })?;
        let s = timed(
            t,
            h,
            "TLS handshake",
            tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
        )
        .await?;
        Ok::<_, SourceError>(ImapStream::tls(s))
    };
    let client = match cfg.tls {
        TlsMode::Implicit => {
            let mut c = async_imap::Client::new(tls_connect(tcp).await?);
            greeting(&mut c, cfg).await?;
            c
        }
        TlsMode::None => {
            let mut c = async_imap::Client::new(ImapStream::plain(tcp));
            greeting(&mut c, cfg).await?;
            c
        }
        TlsMode::Starttls => {
            let mut c = async_imap::Client::new(ImapStream::plain(tcp));
            greeting(&mut c, cfg).await?;
            timed(
                t,
                h,
                "STARTTLS",
                c.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let plain = match c.into_inner().io {
                Io::Plain(s) => s,
                Io::Tls(_) => unreachable!("STARTTLS on a TLS stream"),
            };
            async_imap::Client::new(tls_connect(plain).await?)
        }
    };
    let password = match login {
        Login::Password { password, .. } => password,
        Login::OAuth2 { user, tokens } => return xoauth2_login(client, cfg, user, tokens).await,
    };
    match tokio::time::timeout(t, client.login(&cfg.user, password)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err((e, _))) => Err(SourceError::Imap {
            host: h.to_string(),
            reason: format!(
                "login as {:?} failed: {e} (check mailbox.user and the password in mailbox.password_env/password_file/password_credential)",
                cfg.user
            ),
        }),
        Err(_) => Err(SourceError::Imap {
            host: h.to_string(),
            reason: format!("login: no answer within {}s", t.as_secs()),
        }),
    }
}

/// The XOAUTH2 exchange as an async-imap authenticator: the first
/// continuation gets the SASL response; a second one carries the server's
/// error (JSON), which is answered with an empty line as the mechanism
/// requires, and kept for the error message.
struct XOAuth2 {
    /// `user=…^Aauth=Bearer …^A^A` (async-imap base64-encodes it).
    response: Vec<u8>,
    /// Whether the response was sent.
    sent: bool,
    /// The server's error challenge, decoded.
    error: Option<Vec<u8>>,
}

impl async_imap::Authenticator for &mut XOAuth2 {
    type Response = Vec<u8>;
    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if self.sent {
            self.error = Some(challenge.to_vec());
            Vec::new()
        } else {
            self.sent = true;
            std::mem::take(&mut self.response)
        }
    }
}

/// One AUTHENTICATE XOAUTH2 with `token`. A NO is a rejection of the token (the
/// client is handed back for another try on the same connection), except RFC 5530
/// `[UNAVAILABLE]`: the server's own authentication backend is down (Dovecot cannot
/// reach its provider), which is not the token's fault and costs no refresh.
async fn authenticate(
    mut client: async_imap::Client<ImapStream>,
    cfg: &ImapConfig,
    user: &str,
    token: &AccessToken,
) -> Attempt<Session, async_imap::Client<ImapStream>, SourceError> {
    let mut auth = XOAuth2 {
        response: crate::oauth2::xoauth2_response(user, token.secret()).into_bytes(),
        sent: false,
        error: None,
    };
    let host = cfg.host.clone();
    client.get_mut().tap = Some(Vec::new());
    match tokio::time::timeout(cfg.timeout, client.authenticate("XOAUTH2", &mut auth)).await {
        Ok(Ok(mut s)) => {
            s.get_mut().tap = None;
            Attempt::LoggedIn(s)
        }
        Ok(Err((async_imap::error::Error::No(_), mut client))) => {
            let answer = heard(&client.get_mut().tap.take().unwrap_or_default());
            if answer.unavailable() {
                return Attempt::Failed(SourceError::Imap {
                    host,
                    reason: format!(
                        "AUTHENTICATE XOAUTH2 as {user:?}: the server cannot check tokens right now ({})",
                        answer.text
                    ),
                });
            }
            let mut why = answer.text;
            if let Some(e) = &auth.error {
                why = format!("{why}; {}", crate::oauth2::describe_xoauth2_error(e));
            }
            Attempt::Rejected(client, why)
        }
        Ok(Err((e, _))) => Attempt::Failed(SourceError::Imap {
            host,
            reason: format!(
                "AUTHENTICATE XOAUTH2 as {user:?}: {e} (does the server offer AUTH=XOAUTH2?)"
            ),
        }),
        Err(_) => Attempt::Failed(SourceError::Imap {
            host,
            reason: format!("AUTHENTICATE: no answer within {}s", cfg.timeout.as_secs()),
        }),
    }
}

/// The server's final answer to a command, from the bytes it sent.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    /// NO, BAD, … (`None` when nothing parseable was heard).
    status: Option<Status>,
    /// The response text as the server wrote it, after any response code imap-proto
    /// knows (RFC 5530 codes such as `[UNAVAILABLE]` it does not: they stay in the text).
    text: String,
}

impl Answer {
    /// A NO with RFC 5530's `[UNAVAILABLE]`: a temporary failure on the server's side.
    fn unavailable(&self) -> bool {
        self.status == Some(Status::No) && self.text.starts_with("[UNAVAILABLE]")
    }
}

/// The last tagged response (`Done`) in `bytes`, parsed by imap-proto.
fn heard(bytes: &[u8]) -> Answer {
    let mut answer = Answer {
        status: None,
        text: String::new(),
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        match Response::parse(rest) {
            Ok((next, response)) => {
                if let Response::Done {
                    status, outcome, ..
                } = response
                {
                    answer = Answer {
                        status: Some(status),
                        text: outcome
                            .information
                            .as_deref()
                            .unwrap_or("")
                            .trim()
                            .to_string(),
                    };
                }
                rest = next;
            }
            // A response imap-proto does not know: skip its line.
            Err(_) => match rest.windows(2).position(|w| w == b"\r\n") {
                Some(i) => rest = &rest[i + 2..],
                None => break,
            },
        }
    }
    answer
}

/// Log in with an OAuth2 access token (see [`crate::oauth2::xoauth2_login`]).
async fn xoauth2_login(
    client: async_imap::Client<ImapStream>,
    cfg: &ImapConfig,
    user: &str,
    tokens: &TokenSource,
) -> Result<Session, SourceError> {
    crate::oauth2::xoauth2_login(tokens, "IMAP", &cfg.host, client, |c, token| async move {
        authenticate(c, cfg, user, &token).await
    })
    .await
    .map_err(|e| match e {
        XOAuth2Error::Failed(e) => e,
        XOAuth2Error::NoToken(e) => SourceError::Imap {
            host: cfg.host.clone(),
            reason: format!("no OAuth2 access token: {e}"),
        },
        XOAuth2Error::Rejected { why } => SourceError::Imap {
            host: cfg.host.clone(),
            reason: format!(
                "the server rejected the OAuth2 access token for {user:?} ({why}): the provider issued it, \
                 so check that mailbox.user is the account that authorized cfpd, that the scopes allow IMAP \
                 (oauth2.scopes) and that IMAP access is enabled for this mailbox"
            ),
        },
    })
}

async fn greeting(
    c: &mut async_imap::Client<ImapStream>,
    cfg: &ImapConfig,
) -> Result<(), SourceError> {
    match tokio::time::timeout(cfg.timeout, c.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(SourceError::Imap {
            host: cfg.host.clone(),
            reason: "the server closed the connection before its greeting".into(),
        }),
        Ok(Err(e)) => Err(SourceError::Imap {
            host: cfg.host.clone(),
            reason: format!("greeting: {e}"),
        }),
        Err(_) => Err(SourceError::Imap {
            host: cfg.host.clone(),
            reason: format!(
                "no greeting within {}s (is this an IMAP port?)",
                cfg.timeout.as_secs()
            ),
        }),
    }
}

/// Compress sorted UIDs into an IMAP sequence set: `1:5,7,9:12`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Most bytes (by the server's RFC822.SIZE) fetched in one chunk: a chunk
/// is held in memory until it is stored, so its size is bounded by bytes as
/// well as by `[mailbox] batch_size`. One message larger than this still
/// makes a chunk of its own (the per-message limit is
/// `[proposals] max_message_bytes`).
pub const CHUNK_BYTES: u64 = 32 << 20;

/// Split `(uid, size)` pairs, in order, into runs of UIDs of at most `count`
/// messages and, unless a single message is larger, `bytes` bytes.
fn chunks(sizes: &[(u32, u32)], count: usize, bytes: u64) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut cur_bytes = 0u64;
    for &(uid, size) in sizes {
        let size = u64::from(size);
        if !cur.is_empty() && (cur.len() >= count || cur_bytes + size > bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(uid);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl ImapSource {
    /// A source for `cfg`; connects lazily.
    pub fn new(cfg: ImapConfig, login: Login, max_bytes: usize) -> ImapSource {
        ImapSource {
            cfg,
            login,
            max_bytes,
            session: None,
            selected: None,
        }
    }

    fn err(&self, reason: String) -> SourceError {
        SourceError::Imap {
            host: self.cfg.host.clone(),
            reason,
        }
    }

    /// Forget the session (after an error).
    pub fn reset(&mut self) {
        self.session = None;
        self.selected = None;
    }

    fn key_prefix(&self) -> String {
        format!("imap:{}:", self.cfg.inbox)
    }

    async fn ensure(&mut self) -> Result<(), SourceError> {
        if self.session.is_some() {
            return Ok(());
        }
        let mut s = connect(&self.cfg, &self.login).await?;
        let h = self.cfg.host.clone();
        let t = self.cfg.timeout;
        let caps = timed(t, &h, "CAPABILITY", s.capabilities()).await?;
        for folder in [&self.cfg.processed_folder, &self.cfg.rejected_folder] {
            // CREATE fails harmlessly when the folder exists.
            let _ = tokio::time::timeout(t, s.create(folder)).await;
        }
        let mb = timed(t, &h, "SELECT", s.select(&self.cfg.inbox)).await?;
        let uidvalidity = mb
            .uid_validity
            .ok_or_else(|| self.err("the server reported no UIDVALIDITY".into()))?;
        self.selected = Some(Selected {
            uidvalidity,
            idle: caps.has_str("IDLE"),
            moves: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        });
        self.session = Some(s);
        tracing::info!(host = %h, inbox = %self.cfg.inbox, uidvalidity, "IMAP connected");
        Ok(())
    }

    /// Fetch new messages: hand each chunk (with the cursor that covers it)
    /// to intake on `handoff`, which stores it in the transaction that
    /// records its outcome; without `handoff`, store it here as `received`.
    /// Returns how many were fetched (handed over) or newly stored.
    pub async fn fetch(
        &mut self,
        store: &Store,
        now: i64,
        progress: &super::Progress,
        handoff: Option<&super::Handoff>,
    ) -> Result<usize, SourceError> {
        self.ensure().await?;
        let sel = self.selected.expect("selected after ensure");
        let last = self.cursor(store, sel).await?;
        let sizes = self.new_sizes(last).await?;
        if sizes.is_empty() {
            return Ok(0);
        }
        let (big, ok): (Vec<_>, Vec<_>) = sizes
            .iter()
            .partition(|(_, size)| *size as usize > self.max_bytes);
        // With nothing else to fetch, the quarantine moves the cursor past them all.
        let mut stored = if big.is_empty() {
            0
        } else {
            let covers = ok
                .is_empty()
                .then(|| sizes.iter().map(|(u, _)| *u).max().unwrap_or(last));
            self.quarantine(store, sel, &big, covers, now).await?
        };
        let highest = sizes.iter().map(|(u, _)| *u).max();
        let last_ok = ok.last().map(|(u, _)| *u);
        for chunk in chunks(&ok, self.cfg.batch_size, CHUNK_BYTES) {
            // The cursor covers this chunk and every oversized UID below its end.
            let chunk_max = *chunk.last().expect("non-empty chunk");
            let cursor = if Some(chunk_max) == last_ok {
                highest.unwrap_or(chunk_max)
            } else {
                let max_big = big
                    .iter()
                    .map(|(u, _)| *u)
                    .filter(|u| *u <= chunk_max)
                    .max();
                chunk_max.max(max_big.unwrap_or(0))
            };
            stored += self
                .fetch_chunk(store, sel, &chunk, cursor, now, handoff)
                .await?;
            progress.send_modify(|n| *n = stored);
        }
        Ok(stored)
    }

    /// The last UID already stored, 0 when none is or UIDVALIDITY changed.
    async fn cursor(&self, store: &Store, sel: Selected) -> Result<u32, SourceError> {
        let mut conn = store.conn().await?;
        Ok(match messages::cursor(&mut conn, &self.cfg.inbox).await? {
            Some((v, last)) if v == sel.uidvalidity => last,
            Some((v, _)) => {
                tracing::warn!(
                    old = v,
                    new = sel.uidvalidity,
                    "UIDVALIDITY changed; rescanning the inbox"
                );
                0
            }
            None => 0,
        })
    }

    /// (UID, RFC822.SIZE) of every message above `last`.
    async fn new_sizes(&mut self, last: u32) -> Result<Vec<(u32, u32)>, SourceError> {
        let h = self.cfg.host.clone();
        let t = self.cfg.timeout;
        let session = self.session.as_mut().expect("connected");
        // Sync point so the selected session sees mail delivered since the last command.
        timed(t, &h, "NOOP", session.noop()).await?;
        let stream = timed(
            t,
            &h,
            "UID FETCH sizes",
            session.uid_fetch(format!("{}:*", last + 1), "(UID RFC822.SIZE)"),
        )
        .await?;
        // Each response is dropped as soon as it is read (see the bodies in fetch_chunk).
        let items: Vec<(u32, u32)> = timed(
            t,
            &h,
            "UID FETCH sizes",
            stream
                .try_filter_map(|f| {
                    futures::future::ready(Ok(f.uid.map(|u| (u, f.size.unwrap_or(0)))))
                })
                .try_collect::<Vec<_>>(),
        )
        .await?;
        // `n:*` always includes the highest UID, even below n.
        Ok(items.into_iter().filter(|(u, _)| *u > last).collect())
    }

    /// The source key of `uid` in the selected inbox.
    fn key(&self, sel: Selected, uid: u32) -> String {
        format!("{}{}:{uid}", self.key_prefix(), sel.uidvalidity)
    }

    /// Record oversized messages as quarantined by size alone (never downloaded), and
    /// move the cursor to `covers` when given. Returns how many were new.
    async fn quarantine(
        &self,
        store: &Store,
        sel: Selected,
        big: &[(u32, u32)],
        covers: Option<u32>,
        now: i64,
    ) -> Result<usize, SourceError> {
        let mut stored = 0;
        let mut tx = store.begin().await?;
        for (uid, size) in big {
            let detail = format!(
                "message of {size} bytes exceeds the limit of {} bytes; not downloaded",
                self.max_bytes
            );
            if messages::insert_quarantined(
                &mut tx,
                &self.key(sel, *uid),
                now,
                *size as i64,
                crate::model::Reason::TooLarge,
                &detail,
            )
            .await?
            .is_some()
            {
                stored += 1;
            }
        }
        if let Some(max_uid) = covers {
            messages::set_cursor(&mut tx, &self.cfg.inbox, sel.uidvalidity, max_uid).await?;
        }
        tx.commit().await.ctx("committing quarantined messages")?;
        Ok(stored)
    }

    /// Download one chunk's bodies and hand them to intake with the cursor at
    /// `cursor` (see [`ImapSource::fetch`]), or store them with it in one
    /// transaction. Returns how many were handed over or newly stored.
    async fn fetch_chunk(
        &mut self,
        store: &Store,
        sel: Selected,
        chunk: &[u32],
        cursor: u32,
        now: i64,
        handoff: Option<&super::Handoff>,
    ) -> Result<usize, SourceError> {
        let h = self.cfg.host.clone();
        let t = self.cfg.timeout;
        let session = self.session.as_mut().expect("connected");
        let t_fetch = std::time::Instant::now();
        // INTERNALDATE is when the server took the message in: deadlines are judged on
        // it (see `arrival`), never on the Date header a sender writes.
        let fetched: Vec<(u32, Option<i64>, Vec<u8>)> = {
            let stream = timed(
                t,
                &h,
                "UID FETCH bodies",
                session.uid_fetch(uid_set(chunk), "(UID INTERNALDATE BODY.PEEK[])"),
            )
            .await?;
            // Copy each body out as its response arrives and drop the
            // response at once: async-imap gives every response its own
            // zeroed buffer, and holding a whole chunk of them made the
            // allocator fault in fresh pages for every chunk.
            timed(
                t * 4,
                &h,
                "UID FETCH bodies",
                stream
                    .try_filter_map(|f| {
                        let item = match (f.uid, f.body()) {
                            (Some(uid), Some(body)) if chunk.contains(&uid) => {
                                let internal = f.internal_date().map(|d| d.timestamp_millis());
                                Some((uid, internal, body.to_vec()))
                            }
                            _ => None,
                        };
                        futures::future::ready(Ok(item))
                    })
                    .try_collect::<Vec<_>>(),
            )
            .await?
        };
        let t_store = std::time::Instant::now();
        let batch = messages::Chunk {
            messages: fetched
                .into_iter()
                .map(|(uid, internal, raw)| messages::NewMessage {
                    source_key: self.key(sel, uid),
                    received_at: now,
                    arrived_at: super::arrival(internal, now),
                    raw,
                })
                .collect(),
            cursor: Some(messages::Cursor {
                mailbox: self.cfg.inbox.clone(),
                uidvalidity: sel.uidvalidity,
                last_uid: cursor,
            }),
        };
        let stored = match handoff {
            Some(to_intake) => {
                let n = batch.messages.len();
                // Intake stopped (its error ends the cycle): nothing of this
                // chunk is stored and the cursor stays, so it is fetched again.
                to_intake
                    .send(batch)
                    .await
                    .map_err(|_| self.err("intake stopped before storing a chunk".into()))?;
                n
            }
            None => {
                let mut tx = store.begin().await?;
                let n = messages::store_chunk(&mut tx, &batch).await? as usize;
                tx.commit().await.ctx("committing received messages")?;
                n
            }
        };
        tracing::debug!(
            messages = chunk.len(),
            fetch_ms = (t_store - t_fetch).as_secs_f64() * 1e3,
            store_ms = t_store.elapsed().as_secs_f64() * 1e3,
            "fetched chunk"
        );
        Ok(stored)
    }

    /// Move processed messages to the Processed or Rejected folder.
    pub async fn dispose(&mut self, store: &Store) -> Result<usize, SourceError> {
        self.ensure().await?;
        let sel = self.selected.expect("selected");
        let h = self.cfg.host.clone();
        let t = self.cfg.timeout;
        let mut conn = store.conn().await?;
        let current = format!("{}{}:", self.key_prefix(), sel.uidvalidity);
        let mut total = 0;
        loop {
            let rows = messages::undisposed(&mut conn, &self.key_prefix(), 1000).await?;
            if rows.is_empty() {
                return Ok(total);
            }
            let mut stale = Vec::new();
            let mut by_folder: BTreeMap<String, (Vec<u32>, Vec<i64>)> = BTreeMap::new();
            for r in &rows {
                let uid = r
                    .source_key
                    .strip_prefix(&current)
                    .and_then(|u| u.parse::<u32>().ok());
                match uid {
                    Some(uid) => {
                        let folder = if r.state.is_rejection() {
                            &self.cfg.rejected_folder
                        } else {
                            &self.cfg.processed_folder
                        };
                        let e = by_folder.entry(folder.clone()).or_default();
                        e.0.push(uid);
                        e.1.push(r.id);
                    }
                    // From an earlier UIDVALIDITY: its UID means nothing now. It was
                    // (or will be) stored again under its new UID and filed then.
                    None => stale.push(r.id),
                }
            }
            messages::mark_disposed(&mut conn, &stale).await?;
            total += stale.len();
            for (folder, (mut uids, ids)) in by_folder {
                uids.sort_unstable();
                let set = uid_set(&uids);
                let session = self.session.as_mut().expect("connected");
                if sel.moves {
                    timed(t, &h, "UID MOVE", session.uid_mv(&set, &folder)).await?;
                } else {
                    timed(t, &h, "UID COPY", session.uid_copy(&set, &folder)).await?;
                    {
                        let s = timed(
                            t,
                            &h,
                            "UID STORE",
                            session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)"),
                        )
                        .await?;
                        timed(t, &h, "UID STORE", s.try_collect::<Vec<_>>()).await?;
                    }
                    if sel.uidplus {
                        let s = timed(t, &h, "UID EXPUNGE", session.uid_expunge(&set)).await?;
                        timed(t, &h, "UID EXPUNGE", s.try_collect::<Vec<_>>()).await?;
                    } else {
                        let s = timed(t, &h, "EXPUNGE", session.expunge()).await?;
                        timed(t, &h, "EXPUNGE", s.try_collect::<Vec<_>>()).await?;
                    }
                }
                messages::mark_disposed(&mut conn, &ids).await?;
                total += ids.len();
            }
        }
    }

    /// Wait for new mail: IDLE when the server offers it (re-issued after
    /// `idle_renew` of wall-clock time), otherwise one poll interval.
    pub async fn wait(&mut self, shutdown: &mut Shutdown) -> Result<(), SourceError> {
        self.ensure().await?;
        let sel = self.selected.expect("selected");
        if !(self.cfg.idle && sel.idle) {
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = shutdown.recv() => {}
            }
            return Ok(());
        }
        let session = self.session.take().expect("connected");
        let h = self.cfg.host.clone();
        let mut idle = session.idle();
        timed(self.cfg.timeout, &h, "IDLE", idle.init()).await?;
        let started = SystemTime::now();
        let renew = self.cfg.idle_renew;
        {
            let (wait, stop) = idle.wait_with_timeout(renew);
            tokio::pin!(wait);
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            let mut stop = Some(stop);
            loop {
                tokio::select! {
                    r = &mut wait => {
                        r.map_err(|e| self.err(format!("IDLE: {e}")))?;
                        break;
                    }
                    _ = tick.tick() => {
                        // Wall clock, not the monotonic timer: a suspended host must not
                        // leave an IDLE open past the server's 30-minute limit.
                        let elapsed = SystemTime::now().duration_since(started).unwrap_or(renew);
                        if elapsed >= renew {
                            drop(stop.take());
                        }
                    }
                    _ = shutdown.recv() => {
                        drop(stop.take());
                    }
                }
            }
        }
        let session = timed(self.cfg.timeout, &h, "DONE", idle.done()).await?;
        self.session = Some(session);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{chunks, uid_set};

    #[test]
    fn fetch_chunks_end_at_the_count_or_the_byte_bound() {
        let sizes: Vec<(u32, u32)> = (1..=7).map(|u| (u, 100)).collect();
        assert_eq!(
            chunks(&sizes, 3, 10_000),
            vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]
        );
        assert_eq!(
            chunks(&sizes, 100, 250),
            vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7]]
        );
        // A message larger than the bound is a chunk of its own, never dropped.
        let big = [(1, 50), (2, 5_000), (3, 50)];
        assert_eq!(chunks(&big, 100, 1_000), vec![vec![1], vec![2], vec![3]]);
        assert!(chunks(&[], 10, 10).is_empty());
    }

    #[test]
    fn the_final_answer_is_read_with_imap_proto() {
        use super::{heard, Status};
        // A continuation with the XOAUTH2 error, then the tagged NO.
        let a = heard(
            b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\nA2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
        );
        assert_eq!(a.status, Some(Status::No));
        assert_eq!(a.text, "[AUTHENTICATIONFAILED] Authentication failed.");
        assert!(!a.unavailable());
        let a = heard(b"A1 NO [UNAVAILABLE] Temporary authentication failure.\r\n");
        assert!(a.unavailable(), "{a:?}");
        // A code imap-proto knows is not part of the text.
        let a = heard(b"* OK hello\r\nA3 BAD [ALERT] go away\r\n");
        assert_eq!(a.status, Some(Status::Bad));
        assert_eq!(a.text, "go away");
        assert!(!a.unavailable());
        assert_eq!(heard(b"garbage").status, None);
        // A line it cannot parse does not hide the answer after it.
        let a = heard(b"* 1 NONSENSE \x01\r\nA4 NO [UNAVAILABLE] try later\r\n");
        assert!(a.unavailable(), "{a:?}");
    }

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }
}
