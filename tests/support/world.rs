//! A complete test world (servers, config, database) and how tests drive cfpd in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// Which database backend this test run uses.
pub fn backend() -> &'static str {
    match std::env::var("CFPD_TEST_DATABASE").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// A fresh database URL: a SQLite file in `dir`, or a new database on the
/// PostgreSQL server named by `CFPD_TEST_PG_URL` (its `/postgres` database is
/// used to create it).
pub async fn database_url(dir: &Path) -> String {
    if backend() == "postgres" {
        let base = std::env::var("CFPD_TEST_PG_URL")
            .expect("CFPD_TEST_DATABASE=postgres needs CFPD_TEST_PG_URL (scripts/test.sh sets it)");
        let name = format!(
            "cfpd_test_{}_{}",
            std::process::id(),
            DB_SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        format!("{prefix}/{name}")
    } else {
        format!("sqlite://{}/cfpd.db", dir.display())
    }
}

static DB_SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The database at `url` as cfpd's migrations up to `version` create it
/// (run by sqlx's migrator from the files in the repository, so
/// `_sqlx_migrations` holds the same versions and checksums): an earlier
/// version's database, for upgrade tests.
pub async fn database_at(url: &str, version: i64) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite://") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend());
    let migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    migrator.run_to(version, &pool).await.unwrap();
    if backend() == "sqlite" {
        // As cfpd's own connections have it.
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&pool)
            .await
            .unwrap();
    }
    pool
}

/// A complete test world: servers, a config and a database.
pub struct World {
    /// Dovecot (the CFP mailbox and everyone's inbox).
    pub dovecot: Dovecot,
    /// The SMTP server cfpd sends through.
    pub smtp: Smtp,
    /// Holds the config file.
    pub dir: tempfile::TempDir,
    /// Path of cfpd.toml.
    pub config: PathBuf,
    /// The database URL in the config.
    pub db_url: String,
    /// The OAuth2 provider, in a world started with [`World::start_oauth2`].
    pub oauth2: Option<OAuthProvider>,
}

/// A world whose conference has a chair (`chair@conf.example`, Dovecot user
/// `chair`), with `extra` config.
pub async fn world_with_chair(extra: &str) -> World {
    let w = World::start(extra).await;
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        cfg.replacen(
            "time_zone = \"AoE\"",
            "time_zone = \"AoE\"\nchairs = [\"chair@conf.example\"]",
            1,
        ),
    )
    .unwrap();
    w.dovecot.ensure_user("chair");
    w
}

/// The CFP address of every test world.
pub const CFP: &str = "cfp@conf.example";

impl World {
    /// Move the CFP deadline (conference zone, `YYYY-MM-DDTHH:MM:SS`). Tests
    /// that need mail to *arrive* after the deadline set one in the real
    /// past: Dovecot stamps an APPEND dated in the future with the present.
    /// `extra` follows it in `[conference]` (e.g. a `review_deadline`).
    pub fn set_cfp_deadline(&self, deadline: &str, extra: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let old = "cfp_deadline = \"2099-04-24T23:59:59\"";
        assert!(text.contains(old), "the config was already changed");
        let text = text.replace(old, &format!("cfp_deadline = \"{deadline}\"{extra}"));
        std::fs::write(&self.config, text).unwrap();
    }

    /// Read mail from the Maildir `<dir>/<name>` instead of IMAP (the config's
    /// `[mailbox]` section replaced); returns the Maildir's path.
    pub fn use_maildir(&self, name: &str) -> PathBuf {
        let md = self.dir.path().join(name);
        let cfg = std::fs::read_to_string(&self.config).unwrap();
        let (head, rest) = cfg.split_once("[mailbox]").unwrap();
        let (_, tail) = rest.split_once("[outgoing]").unwrap();
        let cfg = format!(
            "{head}[mailbox]\nkind = \"maildir\"\npath = \"{}\"\n\n[outgoing]{tail}",
            md.display()
        );
        std::fs::write(&self.config, cfg).unwrap();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        md
    }

    /// `from` proposes `title` (Message-ID `mid`); cfpd runs once; returns
    /// the acknowledgment from the speaker's mailbox (Dovecot user `user`).
    pub async fn submit(&self, user: &str, from: &str, mid: &str, title: &str) -> Vec<u8> {
        let m = mail(from, CFP, mid, "Proposal", &proposal_body(title));
        self.dovecot.append("cfp", &m).await;
        self.cfpd(&["run", "--once"]);
        self.dovecot
            .wait_for(user, 1, Duration::from_secs(20))
            .await
            .remove(0)
    }

    /// Start everything; `extra` is appended to the config (e.g. `[limits]`).
    pub async fn start(extra: &str) -> World {
        Self::start_with(extra, None).await
    }

    /// Start everything with OAuth2 instead of passwords: a test provider
    /// (access tokens living `lifetime` seconds, refresh tokens rotated when
    /// `rotate`), Dovecot and the SMTP server taking only XOAUTH2 for the CFP
    /// mailbox, and a config with `auth = "oauth2"` on both sides, the client
    /// secret in `client-secret` and the refresh token in `refresh-token`.
    /// No password is configured anywhere.
    pub async fn start_oauth2(extra: &str, lifetime: u64, rotate: bool) -> World {
        let p = OAuthProvider::start("cfp", lifetime, rotate);
        Self::start_with(extra, Some(p)).await
    }

    async fn start_with(extra: &str, oauth2: Option<OAuthProvider>) -> World {
        let (dovecot, smtp) = match &oauth2 {
            None => {
                let d = Dovecot::start();
                let s = Smtp::start(&d);
                (d, s)
            }
            Some(p) => {
                let d = Dovecot::start_oauth2(&p.url("introspect"));
                let s = Smtp::start_oauth2(&d, &p.url("introspect"));
                (d, s)
            }
        };
        dovecot.ensure_user("cfp");
        let dir = tempfile::tempdir().unwrap();
        let db_url = database_url(dir.path()).await;
        let config = dir.path().join("cfpd.toml");
        let (imap_auth, smtp_auth, oauth2_table) = match &oauth2 {
            None => {
                std::fs::write(dir.path().join("imap-password"), format!("{PASSWORD}\n")).unwrap();
                (
                    "password_file = \"imap-password\"".to_string(),
                    String::new(),
                    String::new(),
                )
            }
            Some(p) => {
                std::fs::write(
                    dir.path().join("client-secret"),
                    format!("{CLIENT_SECRET}\n"),
                )
                .unwrap();
                std::fs::write(
                    dir.path().join("refresh-token"),
                    format!("{REFRESH_TOKEN}\n"),
                )
                .unwrap();
                (
                    "auth = \"oauth2\"".to_string(),
                    "user = \"cfp\"\nauth = \"oauth2\"\n".to_string(),
                    format!(
                        "[oauth2]\nprovider = \"custom\"\ntoken_url = \"{}\"\nauth_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\
                         client_secret_file = \"client-secret\"\nrefresh_token_file = \"refresh-token\"\ntimeout_seconds = 5\n",
                        p.url("token"),
                        p.url("authorize")
                    ),
                )
            }
        };
        let toml = format!(
            r#"[conference]
name = "TestConf"
cfp_address = "{CFP}"
time_zone = "AoE"
cfp_deadline = "2099-04-24T23:59:59"

[mailbox]
kind = "imap"
host = "127.0.0.1"
port = {imap}
tls = "none"
user = "cfp"
{imap_auth}
poll_seconds = 1
timeout_seconds = 10
batch_size = 200

[outgoing]
kind = "smtp"
host = "127.0.0.1"
port = {smtp}
tls = "none"
timeout_seconds = 10
{smtp_auth}
[database]
url = "{db_url}"
{extra}
{oauth2_table}"#,
            imap = dovecot.imap_port,
            smtp = smtp.port,
        );
        std::fs::write(&config, toml).unwrap();
        World {
            dovecot,
            smtp,
            dir,
            config,
            db_url,
            oauth2,
        }
    }

    /// Run `cfpd <args>` with this world's config; panics on failure, returns stdout.
    pub fn cfpd(&self, args: &[&str]) -> String {
        let out = self.cfpd_raw(args);
        assert!(
            out.status.success(),
            "cfpd {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run `cfpd <args>` and return the whole output.
    pub fn cfpd_raw(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run cfpd")
    }

    /// Run `cfpd <args>` with the clock pinned at `now` (RFC 3339); panics on failure.
    pub fn cfpd_at(&self, now: &str, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .env("CFPD_FAKE_NOW", now)
            .output()
            .expect("run cfpd");
        assert!(
            out.status.success(),
            "cfpd {args:?} at {now} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Spawn `cfpd run` (the daemon) with this world's config.
    pub fn spawn_daemon(&self) -> Daemon {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_cfpd"))
                .arg("--config")
                .arg(&self.config)
                .arg("run")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn cfpd run"),
        )
    }

    /// `cfpd check` with this world's config edited by `edit`: (success, stdout).
    pub fn check_with(&self, name: &str, edit: impl Fn(String) -> String) -> (bool, String) {
        let alt = self.dir.path().join(name);
        std::fs::write(&alt, edit(std::fs::read_to_string(&self.config).unwrap())).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .arg("--config")
            .arg(&alt)
            .arg("check")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// With the SMTP port closed, `cfpd check` names the outgoing failure.
    pub fn smtp_port_closed_check(&self) {
        let closed = free_port();
        let (ok, text) = self.check_with("closed-smtp.toml", |c| {
            c.replace(
                &format!("port = {}\ntls", self.smtp.port),
                &format!("port = {closed}\ntls"),
            )
        });
        assert!(!ok);
        assert!(
            text.contains(&format!("outgoing  FAIL SMTP 127.0.0.1:{closed}: connect")),
            "{text}"
        );
    }

    /// Every inbound message, in arrival order (for assertions), with states
    /// and reasons in their stored spelling.
    pub async fn messages(&self) -> Vec<MessageRow> {
        let store = self.store().await;
        let mut c = store.pool.acquire().await.unwrap();
        let rows = cfpd::store::messages::list(&mut c).await.unwrap();
        rows.into_iter()
            .map(|r| MessageRow {
                id: r.id,
                source_key: r.source_key,
                state: r.state.to_string(),
                reason: r.reason.map(|r| r.to_string()),
                from_addr: r.from_addr,
                subject: r.subject,
                proposal_id: r.proposal_id,
                detail: r.detail,
            })
            .collect()
    }

    /// Every outbox row, in queueing order (for assertions), with kinds and
    /// states in their stored spelling.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        let store = self.store().await;
        let mut c = store.pool.acquire().await.unwrap();
        let rows = cfpd::store::outbox::list(&mut c).await.unwrap();
        rows.into_iter()
            .map(|r| OutboxRow {
                id: r.id,
                kind: r.kind.to_string(),
                recipient: r.recipient,
                subject: r.subject,
                state: r.state.to_string(),
                attempts: r.attempts,
                last_error: r.last_error,
                hold: r.hold.map(|h| h.to_string()),
            })
            .collect()
    }

    /// Open the world's database (for assertions).
    pub async fn store(&self) -> cfpd::store::Store {
        cfpd::store::Store::connect(&self.db_url).await.unwrap()
    }
}

/// A message log row as tests compare it: the stored spellings, which are
/// also what `cfpd messages` and the metrics show.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct MessageRow {
    pub id: i64,
    pub source_key: String,
    pub state: String,
    pub reason: Option<String>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub proposal_id: Option<i64>,
    pub detail: Option<String>,
}

/// An outbox row as tests compare it (stored spellings).
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Why it is held back (`address_cap`), if it is.
    pub hold: Option<String>,
}

/// Upper bound for waiting on a state cfpd reaches by itself (not a performance assertion).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// What `cfpd status --json` says: how far cfpd is with the mail it was given.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Messages stored but not yet through intake.
    pub pending: i64,
    /// Mail queued or being handed to the SMTP server.
    pub unsent: i64,
    /// When the lease holder last polled the mailbox (RFC 3339), if ever.
    pub last_poll: Option<String>,
    /// The whole answer, for failure messages.
    pub json: serde_json::Value,
}

impl World {
    /// Ask `cfpd status --json` (exit code 2, "needs attention", is an answer too).
    /// `None` when it could not answer (the database was being created by another
    /// process at that moment): ask again.
    pub fn try_progress(&self) -> Option<Progress> {
        let out = self.cfpd_raw(&["status", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let n = |v: &serde_json::Value| v.as_i64().unwrap_or(0);
        Some(Progress {
            pending: n(&json["messages"]["received"]),
            unsent: n(&json["outbox"]["queued"]) + n(&json["outbox"]["sending"]),
            last_poll: json["last_poll"]["at"].as_str().map(str::to_string),
            json,
        })
    }

    /// [`World::try_progress`], which must answer. Also creates the database when it
    /// does not exist yet: call it before spawning a daemon whose progress a test
    /// follows, so that no status request races the daemon's migrations.
    pub fn progress(&self) -> Progress {
        self.try_progress().unwrap_or_else(|| {
            let out = self.cfpd_raw(&["status", "--json"]);
            panic!(
                "cfpd status --json: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Wait until cfpd has done everything it was given: the CFP inbox is empty
    /// (every message fetched and filed), no message waits for intake, and no mail is
    /// queued or being sent. The test relay delivers into Dovecot before it answers
    /// 250, so from then on nothing more arrives anywhere: "nothing more arrived" can
    /// be asserted. After `cfpd run --once` this holds at once; a daemon gets there
    /// by itself.
    pub async fn settled(&self) {
        poll("cfpd to settle", || async {
            let inbox = self.dovecot.count("cfp", "INBOX").await;
            match self.try_progress() {
                Some(p) if inbox == 0 && p.pending == 0 && p.unsent == 0 => Ok(()),
                p => Err(format!("{inbox} in the CFP inbox, {:?}", p.map(|p| p.json))),
            }
        })
        .await
    }

    /// Wait until a daemon started at `since` holds the lease and has polled the
    /// mailbox since then: it is up, has read the inbox once and waits for mail.
    /// (Create the database before spawning it: see [`World::progress`].)
    pub async fn polled_since(&self, since: chrono::DateTime<chrono::Utc>) {
        poll("the daemon to poll", || async {
            let p = self.try_progress().ok_or("no status")?;
            let held = p.json["lease"]["held"].as_bool() == Some(true);
            let polled = p
                .last_poll
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t >= since);
            if held && polled {
                Ok(())
            } else {
                Err(p.json.to_string())
            }
        })
        .await
    }
}

/// Check every 50 ms until `check` holds; fail with what it last said after [`PATIENCE`].
pub async fn poll<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) => assert!(
                start.elapsed() < PATIENCE,
                "waited in vain for {what}: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait, polling, until `deadline` has passed: for states defined by time alone (a
/// token's lifetime), where there is nothing else to observe.
pub async fn wait_until(deadline: Instant) {
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
