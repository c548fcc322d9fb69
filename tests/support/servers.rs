//! The servers a test world runs: Dovecot (IMAP + LMTP), the SMTP relay and the
//! OAuth2 provider, each on free loopback ports in a temp dir, stopped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;

/// The password of every Dovecot test user.
pub const PASSWORD: &str = "secret";

/// A free TCP port on loopback, below the kernel's ephemeral range.
///
/// Why not port 0: the kernel takes that port from the same range it hands
/// to the local end of every outgoing connection, and between this probe
/// and the server binding it, a test's other connections (IMAP, SMTP,
/// PostgreSQL) can take it: seen once, a daemon's metrics port taken while
/// the test started its servers. Linux's range starts at 32768; ports are
/// tried from a per-process starting point, each at most once per process.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (start + n) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", LOW + SPAN);
}

fn wait_port(port: u16, what: &str, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{what} exited before listening: {st}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on {port} within 15 s");
}

/// Whether real servers are available; prints why not and returns false when a test should skip.
pub fn servers_available() -> bool {
    let ok = Path::new("/usr/sbin/dovecot").exists()
        && Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !ok {
        if std::env::var("CFPD_REQUIRE_SERVERS").as_deref() == Ok("1") {
            panic!("dovecot or python3-aiosmtpd is missing; scripts/test.sh installs them");
        }
        eprintln!("skipped: dovecot / python3-aiosmtpd not installed (run scripts/test.sh)");
    }
    ok
}

/// A throwaway Dovecot.
pub struct Dovecot {
    /// Temp dir holding config, mail and sockets.
    pub dir: tempfile::TempDir,
    /// IMAP port.
    pub imap_port: u16,
    /// LMTP port.
    pub lmtp_port: u16,
    child: Child,
}

impl Dovecot {
    /// Start Dovecot with a static passdb: any user name logs in with [`PASSWORD`].
    pub fn start() -> Dovecot {
        Self::start_with(None, None)
    }

    /// Start Dovecot that also takes AUTHENTICATE XOAUTH2, checking each
    /// bearer token at `introspect` (the test OAuth2 provider), as an IMAP
    /// server in front of an OAuth2 provider does. Password logins still work
    /// (tests read other users' mail with them).
    pub fn start_oauth2(introspect: &str) -> Dovecot {
        Self::start_with(None, Some(introspect))
    }

    /// Start Dovecot with TLS: a self-signed certificate for `localhost`
    /// (returned path, to trust as a CA), STARTTLS on the IMAP port and
    /// implicit TLS on the returned IMAPS port.
    pub fn start_tls() -> (Dovecot, PathBuf, u16) {
        let imaps = free_port();
        let d = Self::start_with(Some(imaps), None);
        let cert = d.dir.path().join("cert.pem");
        (d, cert, imaps)
    }

    fn start_with(imaps: Option<u16>, introspect: Option<&str>) -> Dovecot {
        // base_dir must stay short (socket paths), so keep the temp dir under
        // /tmp, or under CFPD_TEST_DOVECOT_TMP (the bench: /dev/shm, so that
        // the receiving side's file system is not what it measures).
        let root = std::env::var("CFPD_TEST_DOVECOT_TMP").unwrap_or_else(|_| "/tmp".into());
        let dir = tempfile::Builder::new()
            .prefix("cfpd-dc")
            .tempdir_in(root)
            .unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("home")).unwrap();
        chown_dovecot(&d.join("home"));
        let imap_port = free_port();
        let lmtp_port = free_port();
        let ssl = match imaps {
            None => "ssl = no".to_string(),
            Some(_) => {
                let st = Command::new("openssl")
                    .args([
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-days",
                        "2",
                        "-subj",
                        "/CN=localhost",
                    ])
                    .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                    .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
                    .arg("-keyout")
                    .arg(d.join("key.pem"))
                    .arg("-out")
                    .arg(d.join("cert.pem"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("openssl");
                assert!(st.success(), "openssl req");
                format!(
                    "ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem",
                    d = d.display()
                )
            }
        };
        let imaps_port = imaps.unwrap_or(0);
        // With the oauth2 passdb first, LMTP's recipient lookups cannot go
        // through the passdbs: the static userdb takes every user itself.
        let allow_all = if introspect.is_some() {
            " allow_all_users=yes"
        } else {
            ""
        };
        let (mechanisms, oauth2_passdb, static_mechanisms) = match introspect {
            None => ("plain login", String::new(), ""),
            Some(url) => {
                std::fs::write(
                    d.join("dovecot-oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\nforce_introspection = yes\n\
                         username_attribute = username\nactive_attribute = active\nactive_value = true\n"
                    ),
                )
                .unwrap();
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}/dovecot-oauth2.conf.ext\n}}\n",
                        d.display()
                    ),
                    "  mechanisms = plain login\n",
                )
            }
        };
        let conf = format!(
            r#"instance_name = cfpd-test-{imap_port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_username_format = %Ln
recipient_delimiter = +
default_internal_user = dovecot
default_login_user = dovenull
default_internal_group = dovecot
mail_location = maildir:~/Maildir
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2_passdb}passdb {{
  driver = static
  args = password={PASSWORD}
{static_mechanisms}}}
userdb {{
  driver = static
  args = home={d}/home/%u{allow_all}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@example.org
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"#,
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let mut child = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        wait_port(imap_port, "dovecot", &mut child);
        Dovecot {
            dir,
            imap_port,
            lmtp_port,
            child,
        }
    }

    /// Create a user's Maildir (Dovecot needs it owned by the mail uid).
    pub fn ensure_user(&self, user: &str) -> PathBuf {
        let m = self.dir.path().join("home").join(user).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(m.join(sub)).unwrap();
        }
        chown_dovecot(&self.dir.path().join("home").join(user));
        m
    }

    /// Log in as `user` (plaintext, loopback).
    pub async fn login(&self, user: &str) -> async_imap::Session<tokio::net::TcpStream> {
        self.ensure_user(user);
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut c = async_imap::Client::new(tcp);
        c.read_response().await.unwrap();
        c.login(user, PASSWORD).await.map_err(|e| e.0).unwrap()
    }

    /// Put a message into a user's INBOX with IMAP APPEND (as a delivery would).
    pub async fn append(&self, user: &str, raw: &[u8]) {
        let mut s = self.login(user).await;
        s.append("INBOX", None, None, raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// APPEND a message delivered at `at` (its INTERNALDATE), as a delivery then would.
    pub async fn append_at(&self, user: &str, raw: &[u8], at: chrono::DateTime<chrono::Utc>) {
        let date = at.format("\"%d-%b-%Y %H:%M:%S +0000\"").to_string();
        let mut s = self.login(user).await;
        s.append("INBOX", None, Some(&date), raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// Write messages straight into a user's Maildir `new/` (fast bulk delivery).
    pub fn deliver_maildir(&self, user: &str, raws: &[Vec<u8>]) {
        // Unique across calls: a later delivery must never reuse a base name.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let m = self.ensure_user(user);
        let first = NEXT.fetch_add(raws.len(), std::sync::atomic::Ordering::Relaxed);
        for (i, raw) in (first..).zip(raws) {
            // Shaped like a name Dovecot's own delivery gives (`<secs>.M<usecs>P<pid>.<host>,S=<size>`),
            // with the unique part last: Dovecot hashes base names with an ELF-style hash in
            // which only the last few characters count, so names that all end in the same
            // eight characters make every lookup in its uidlist a linear scan (measured: 76 %
            // of Dovecot's CPU, 8k instead of 60k FETCHes a second).
            let name = format!(
                "{}.P{}M{i}.cfpdtest{i},S={}",
                1_700_000_000 + i,
                std::process::id(),
                raw.len()
            );
            let tmp = m.join("tmp").join(&name);
            std::fs::write(&tmp, raw).unwrap();
            std::fs::rename(&tmp, m.join("new").join(&name)).unwrap();
        }
        chown_dovecot(&m);
    }

    /// Every message in a user's folder (empty if the folder does not exist).
    pub async fn fetch_all(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut s = self.login(user).await;
        let out = match s.select(folder).await {
            Ok(mb) if mb.exists > 0 => {
                let stream = s.fetch("1:*", "BODY.PEEK[]").await.unwrap();
                let items: Vec<_> = stream.try_collect().await.unwrap();
                items
                    .iter()
                    .filter_map(|f| f.body().map(|b| b.to_vec()))
                    .collect()
            }
            _ => vec![],
        };
        let _ = s.logout().await;
        out
    }

    /// Wait until a user's INBOX holds at least `n` messages; returns them.
    pub async fn wait_for(&self, user: &str, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let start = Instant::now();
        loop {
            let all = self.fetch_all(user, "INBOX").await;
            if all.len() >= n || start.elapsed() > timeout {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Number of messages in a user's folder.
    pub async fn count(&self, user: &str, folder: &str) -> u32 {
        let mut s = self.login(user).await;
        let n = match s.examine(folder).await {
            Ok(mb) => mb.exists,
            Err(_) => 0,
        };
        let _ = s.logout().await;
        n
    }
}

fn chown_dovecot(p: &Path) {
    let _ = Command::new("chown")
        .args(["-R", "dovecot:dovecot"])
        .arg(p)
        .status();
}

impl Dovecot {
    /// Stop this Dovecot, as a crash or a restart would: the master and every
    /// process of this instance (open IMAP sessions included) go away; mail
    /// stays on disk.
    pub fn stop(&mut self) {
        // SIGKILL of the master is safe for a throwaway instance and frees the port at once.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("pkill")
            .args(["-9", "-f", &format!("cfpd-test-{}", self.imap_port)])
            .status();
    }

    /// Start it again with the same config, ports and mail (after [`Dovecot::stop`]).
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(self.dir.path().join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("restart dovecot");
        wait_port(self.imap_port, "dovecot", &mut child);
        self.child = child;
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The SMTP server (aiosmtpd → Dovecot LMTP).
pub struct Smtp {
    /// SMTP port.
    pub port: u16,
    lmtp_port: u16,
    /// Introspection URL when AUTH XOAUTH2 is required.
    xoauth2: Option<String>,
    child: Option<Child>,
}

impl Smtp {
    /// Start it in front of `dovecot`.
    pub fn start(dovecot: &Dovecot) -> Smtp {
        Self::start_with(dovecot, None)
    }

    /// Start it requiring AUTH XOAUTH2 (the only mechanism offered), with
    /// tokens checked at `introspect`.
    pub fn start_oauth2(dovecot: &Dovecot, introspect: &str) -> Smtp {
        Self::start_with(dovecot, Some(introspect.to_string()))
    }

    fn start_with(dovecot: &Dovecot, xoauth2: Option<String>) -> Smtp {
        let mut s = Smtp {
            port: free_port(),
            lmtp_port: dovecot.lmtp_port,
            xoauth2,
            child: None,
        };
        s.restart();
        s
    }

    /// Stop the server (connections are refused until `restart`).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_to_lmtp.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .args(["--port", &self.port.to_string()])
            .args(["--lmtp-port", &self.lmtp_port.to_string()]);
        if let Some(url) = &self.xoauth2 {
            cmd.args(["--xoauth2-introspect", url]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        wait_port(self.port, "smtp server", &mut child);
        self.child = Some(child);
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The test OAuth2 provider (`scripts/oauth2_provider.py`): a token endpoint
/// and the introspection endpoint Dovecot and the SMTP server check tokens at.
pub struct OAuthProvider {
    /// HTTP port on loopback.
    pub port: u16,
    child: Child,
}

/// The OAuth client every test provider knows.
pub const CLIENT_ID: &str = "cfpd-test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "client-secret-42";
/// The refresh token a test provider starts with.
pub const REFRESH_TOKEN: &str = "rt-initial-7f3a";

impl OAuthProvider {
    /// Start a provider issuing access tokens that live `lifetime` seconds to
    /// `user`; with `rotate`, every refresh returns a new refresh token and
    /// retires the old one.
    pub fn start(user: &str, lifetime: u64, rotate: bool) -> OAuthProvider {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oauth2_provider.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .args(["--port", &port.to_string()])
            .args(["--client-id", CLIENT_ID])
            .args(["--client-secret", CLIENT_SECRET])
            .args(["--user", user])
            .args(["--refresh-token", REFRESH_TOKEN])
            .args(["--lifetime", &lifetime.to_string()]);
        if rotate {
            cmd.arg("--rotate");
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OAuth2 provider");
        wait_port(port, "oauth2 provider", &mut child);
        OAuthProvider { port, child }
    }

    /// `http://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Change the provider: `{"lifetime": 3}`, `{"revoke_refresh": true}`,
    /// `{"revoke_access": true}`, `{"reject_access": true}`, `{"rotate": true}`.
    pub async fn admin(&self, json: &str) {
        let (status, body) = self.http("POST", "/admin", json);
        assert_eq!(status, 200, "admin {json}: {body}");
    }

    /// Counters: refreshes, rotations, introspections, rejected.
    pub async fn stats(&self) -> serde_json::Value {
        let (status, body) = self.http("GET", "/stats", "");
        assert_eq!(status, 200, "stats: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// One HTTP/1.0 request to the provider (no client library: the test
    /// only needs its two control endpoints).
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for OAuthProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
