//! OAuth2 (SASL XOAUTH2) end to end on real servers: Dovecot checks IMAP
//! bearer tokens and the SMTP server checks its own, both at the test OAuth2
//! provider's introspection endpoint (`scripts/oauth2_provider.py`), which
//! also runs the token endpoint cfpd refreshes at. The config holds no
//! password at all. Runs against SQLite, and against PostgreSQL when
//! `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

fn provider(w: &World) -> &OAuthProvider {
    w.oauth2.as_ref().expect("an OAuth2 world")
}

fn refresh_token_file(w: &World) -> String {
    std::fs::read_to_string(w.dir.path().join("refresh-token"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_flows_over_xoauth2_while_tokens_expire_and_rotate() {
    need_servers!();
    // Access tokens live 3 s; every refresh retires the old refresh token.
    let mut w = World::start_oauth2("", 3, true).await;
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    assert!(!cfg.contains("password"), "no password anywhere:\n{cfg}");
    let mut d = w.spawn_daemon();
    w.dovecot
        .append("cfp", &proposal_mail("ada@example.org", "o1@x", "First"))
        .await;
    let ada = w.dovecot.wait_for("ada", 1, T).await;
    let ack_at = std::time::Instant::now();
    assert_eq!(
        ada.len(),
        1,
        "ack over SMTP XOAUTH2 for mail read over IMAP XOAUTH2"
    );
    assert!(parsed(&ada[0])
        .subject()
        .unwrap()
        .contains("P-0001 received"));

    // Let the access token expire, then force the IMAP session to be
    // re-established: both the new IMAP login and the next SMTP connection
    // need a fresh token.
    // Every token the daemon has was issued before Ada's ack arrived, so all of them
    // have expired once their 3-second lifetime has passed since then.
    wait_until(ack_at + Duration::from_secs(3)).await;
    w.dovecot.restart();
    w.dovecot
        .append("cfp", &proposal_mail("bob@example.org", "o2@x", "Second"))
        .await;
    let bob = w.dovecot.wait_for("bob", 1, T).await;
    assert_eq!(bob.len(), 1, "mail still flows after the token expired");
    assert!(parsed(&bob[0])
        .subject()
        .unwrap()
        .contains("P-0002 received"));
    d.kill().unwrap();
    d.wait().unwrap();

    let stats = provider(&w).stats().await;
    assert!(stats["refreshes"].as_u64().unwrap() >= 2, "{stats}");
    // Every rotated refresh token was stored: the file holds the only one the
    // provider still accepts (the initial one was retired on first use).
    let stored = refresh_token_file(&w);
    assert_ne!(stored, REFRESH_TOKEN);
    assert!(stored.starts_with("rt-"), "{stored}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.dir.path().join("refresh-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the refresh token file is private");
    // A new process (a restart) carries on with the stored token.
    let out = w.cfpd(&["check"]);
    assert!(out.contains("oauth2    ok   access token from"), "{out}");
    assert!(out.contains("mailbox   ok"), "{out}");
    assert!(out.contains("outgoing  ok"), "{out}");
    assert_ne!(
        refresh_token_file(&w),
        stored,
        "check's refresh rotated it again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_access_token_is_replaced_once_for_imap_and_smtp() {
    need_servers!();
    let mut w = World::start_oauth2("", 3600, false).await;
    let mut d = w.spawn_daemon();
    w.dovecot
        .append("cfp", &proposal_mail("ada@example.org", "r1@x", "First"))
        .await;
    assert_eq!(w.dovecot.wait_for("ada", 1, T).await.len(), 1);
    let p = provider(&w);
    assert_eq!(
        p.stats().await["refreshes"],
        1,
        "IMAP and SMTP share one token"
    );
    // The provider revokes every access token (say, after a password change):
    // the cached one is still within its lifetime, so only the servers' refusal
    // can tell cfpd to get another.
    provider(&w).admin(r#"{"revoke_access": true}"#).await;
    w.dovecot.restart();
    w.dovecot
        .append("cfp", &proposal_mail("bob@example.org", "r2@x", "Second"))
        .await;
    assert_eq!(w.dovecot.wait_for("bob", 1, T).await.len(), 1);
    d.kill().unwrap();
    d.wait().unwrap();
    let stats = provider(&w).stats().await;
    assert_eq!(
        stats["refreshes"], 2,
        "one refresh after the refusal serves both IMAP and SMTP: {stats}"
    );
    assert!(stats["rejected"].as_u64().unwrap() >= 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_each_oauth2_failure_distinctly() {
    need_servers!();
    let w = World::start_oauth2("", 3600, false).await;
    let p = provider(&w);
    let out = w.cfpd(&["check"]);
    assert!(out.contains("oauth2    ok"), "{out}");
    assert!(out.contains("mailbox   ok   IMAP cfp@127.0.0.1"), "{out}");
    assert!(out.contains("outgoing  ok"), "{out}");

    // 1. The token endpoint cannot be reached.
    let closed = free_port();
    let (ok, unreachable) = w.check_with("closed-token.toml", |c| {
        c.replace(
            &format!("127.0.0.1:{}/token", p.port),
            &format!("127.0.0.1:{closed}/token"),
        )
    });
    assert!(!ok);
    assert!(
        unreachable.contains(&format!(
            "oauth2    FAIL cannot reach the token endpoint http://127.0.0.1:{closed}/token"
        )) && unreachable.contains("check the network"),
        "{unreachable}"
    );
    assert!(unreachable.contains("mailbox   FAIL not tried: no OAuth2 access token"));
    assert!(unreachable.contains("outgoing  FAIL not tried: no OAuth2 access token"));

    // 2. The client secret is wrong.
    std::fs::write(w.dir.path().join("wrong-secret"), "nope\n").unwrap();
    let (ok, client) = w.check_with("wrong-client.toml", |c| {
        c.replace("\"client-secret\"", "\"wrong-secret\"")
    });
    assert!(!ok);
    assert!(
        client.contains("oauth2    FAIL the provider rejected the OAuth client (invalid_client")
            && client.contains("check oauth2.client_id and the client secret in file"),
        "{client}"
    );

    // 3. The server refuses the provider's access tokens (wrong scope, IMAP
    //    disabled for the mailbox): a fresh token is refused, so it is not
    //    the token's age.
    p.admin(r#"{"reject_access": true}"#).await;
    let out = w.cfpd_raw(&["check"]);
    assert!(!out.status.success());
    let rejected = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(rejected.contains("oauth2    ok"), "{rejected}");
    assert!(
        rejected.contains(
            "mailbox   FAIL IMAP 127.0.0.1: the server rejected the OAuth2 access token for \"cfp\""
        ) && rejected.contains("check that mailbox.user is the account that authorized cfpd"),
        "{rejected}"
    );
    assert!(
        rejected.contains("outgoing  FAIL SMTP 127.0.0.1:")
            && rejected.contains("the server rejected the OAuth2 access token for \"cfp\"")
            && rejected.contains("XOAUTH2 error status 401"),
        "{rejected}"
    );
    p.admin(r#"{"reject_access": false}"#).await;

    // 4. The refresh token is revoked: re-authorize, and where to put the new one.
    p.admin(r#"{"revoke_refresh": true}"#).await;
    let out = w.cfpd_raw(&["check"]);
    assert!(!out.status.success());
    let revoked = String::from_utf8_lossy(&out.stdout).into_owned();
    let file = w.dir.path().join("refresh-token");
    assert!(
        revoked.contains("oauth2    FAIL the provider rejected the refresh token (invalid_grant")
            && revoked.contains(&format!(
                "store the new refresh token in file {}",
                file.display()
            )),
        "{revoked}"
    );

    // Four failures, four different first lines; no secret printed.
    let first = |t: &str| {
        t.lines()
            .find(|l| l.contains("FAIL"))
            .unwrap_or_default()
            .to_string()
    };
    let lines = [
        first(&unreachable),
        first(&client),
        first(&rejected),
        first(&revoked),
    ];
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            assert_ne!(a, b);
        }
    }
    for text in [&unreachable, &client, &rejected, &revoked] {
        assert!(!text.contains(REFRESH_TOKEN) && !text.contains(CLIENT_SECRET));
        assert!(!text.contains("at-"), "no access token printed: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_never_reach_the_log_even_at_trace_level() {
    need_servers!();
    let w = World::start_oauth2("", 3600, true).await;
    w.dovecot
        .append("cfp", &proposal_mail("ada@example.org", "l1@x", "Logged"))
        .await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(["run", "--once"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.dovecot.wait_for("ada", 1, T).await.len(), 1);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("OAuth2 access token refreshed"),
        "the refresh is logged"
    );
    let rotated = refresh_token_file(&w);
    assert_ne!(rotated, REFRESH_TOKEN);
    for secret in [
        REFRESH_TOKEN,
        rotated.as_str(),
        CLIENT_SECRET,
        "at-",
        "auth=Bearer",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the trace log");
    }
    // The SASL response travels base64-encoded: not that either.
    assert!(!log.contains("AUTH XOAUTH2 ") && !log.contains("dXNlcj1jZnAB"));
}

/// A browser's GET, without following redirects: (status, head, body).
fn browser_get(url: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// Start `cfpd oauth2 authorize` and return it with the URL it prints.
fn start_authorize(w: &World) -> (Daemon, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(["oauth2", "authorize"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("authorize prints a URL").unwrap();
        if line.starts_with("http://") {
            break line;
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Daemon(child), url)
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_signs_in_once_and_stores_a_working_refresh_token() {
    need_servers!();
    let w = World::start_oauth2("", 3600, false).await;
    let file = w.dir.path().join("refresh-token");
    std::fs::remove_file(&file).unwrap();
    let out = String::from_utf8_lossy(&w.cfpd_raw(&["check"]).stdout).into_owned();
    assert!(
        out.contains("oauth2    FAIL oauth2 refresh token: cannot read secret file"),
        "{out}"
    );

    let (mut d, url) = start_authorize(&w);
    assert!(url.starts_with(&provider(&w).url("authorize")), "{url}");
    assert!(
        url.contains("code_challenge_method=S256")
            && url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A")
    );
    // The browser: the provider's consent redirects to cfpd's loopback listener.
    let (status, head, _) = browser_get(&url);
    assert_eq!(status, 302, "{head}");
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    let (status, _, page) = browser_get(&location);
    assert_eq!(status, 200);
    assert!(page.contains("You can close this tab"), "{page}");
    let st = d.wait().unwrap();
    assert!(st.success(), "authorize exits cleanly");
    // The provider verified the PKCE verifier before issuing the token.
    let stored = refresh_token_file(&w);
    assert!(
        stored.starts_with("rt-") && stored != REFRESH_TOKEN,
        "{stored}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = w.cfpd(&["check"]);
    assert!(
        out.contains("oauth2    ok") && out.contains("mailbox   ok"),
        "{out}"
    );

    // A redirect whose state is not the one cfpd sent (an old or forged link)
    // stores nothing.
    let (d, url) = start_authorize(&w);
    let (_, head, _) = browser_get(&url);
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    let forged = format!("{}state=forged", location.split("state=").next().unwrap());
    let (status, _, page) = browser_get(&forged);
    assert_eq!(status, 400, "{page}");
    let mut d = d;
    let st = d.wait().unwrap();
    assert!(!st.success());
    let mut err = String::new();
    std::io::Read::read_to_string(d.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("different state"), "{err}");
    assert_eq!(refresh_token_file(&w), stored, "nothing stored");
}
