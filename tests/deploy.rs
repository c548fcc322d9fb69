//! Deployment: the example configs in deploy/ validate with
//! `cfpd check --config-only`, and secrets handed over as systemd credentials
//! (`password_credential`, `$CREDENTIALS_DIRECTORY`) log in to a real IMAP
//! server. The unit, container recipe and compose file are checked by
//! scripts/check-deploy.sh.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::*;

fn cfpd(config: &Path, args: &[&str], credentials: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cfpd"));
    c.arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CREDENTIALS_DIRECTORY");
    if let Some(dir) = credentials {
        c.env("CREDENTIALS_DIRECTORY", dir);
    }
    c.output().expect("run cfpd")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn deploy_configs_pass_config_only_check_without_touching_anything() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = cfpd(
        &root.join("deploy/cfpd.toml"),
        &["check", "--config-only"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("config    ok"), "{text}");
    assert!(
        text.contains("password from systemd credential imap-password"),
        "{text}"
    );
    assert!(
        text.contains("password from systemd credential smtp-password"),
        "{text}"
    );
    assert!(text.contains("sqlite:///var/lib/cfpd/cfpd.db"), "{text}");

    let out = cfpd(
        &root.join("deploy/staging/cfpd.toml"),
        &["check", "--config-only"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("password from file /run/secrets/imap_password"),
        "{}",
        stdout(&out)
    );

    // A copy with a relative SQLite path: --config-only creates no database,
    // and a broken copy is refused with file, line and key.
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(root.join("deploy/cfpd.toml"))
        .unwrap()
        .replace("sqlite:///var/lib/cfpd/cfpd.db", "sqlite://state.db");
    let ok = dir.path().join("ok.toml");
    std::fs::write(&ok, &src).unwrap();
    let out = cfpd(&ok, &["check", "--config-only"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.path().join("state.db").exists(), "no database opened");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        src.replace(
            "password_credential = \"imap-password\"",
            "password_credential = \"imap/password\"",
        ),
    )
    .unwrap();
    let out = cfpd(&bad, &["check", "--config-only"], None);
    assert!(!out.status.success());
    let line = src
        .lines()
        .position(|l| l.starts_with("password_credential = \"imap-password\""))
        .unwrap()
        + 1;
    assert!(
        stderr(&out).contains(&format!(
            "bad.toml:{line}: mailbox.password_credential: expected a credential name"
        )),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_password_from_a_systemd_credential() {
    if !servers_available() {
        return;
    }
    let w = World::start("").await;
    let config = w.dir.path().join("credential.toml");
    let src = std::fs::read_to_string(&w.config).unwrap();
    assert!(src.contains("password_file = \"imap-password\""));
    std::fs::write(
        &config,
        src.replace(
            "password_file = \"imap-password\"",
            "password_credential = \"imap\"",
        ),
    )
    .unwrap();
    // What systemd's LoadCredential=imap:/etc/cfpd/credentials/imap-password provides.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("imap"), format!("{PASSWORD}\n")).unwrap();

    // Outside systemd: the check says what is missing and how to provide it.
    let out = cfpd(&config, &["check"], None);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains(
            "mailbox   FAIL mailbox password: credential \"imap\": CREDENTIALS_DIRECTORY is not set"
        ),
        "{text}"
    );

    let out = cfpd(&config, &["check"], Some(creds.path()));
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("mailbox   ok   IMAP cfp@"),
        "{}",
        stdout(&out)
    );

    // The daemon logs in with it and answers a proposal.
    w.dovecot
        .append(
            "cfp",
            &mail(
                "ada@speaker.example",
                CFP,
                "cred-1@speaker.example",
                "Proposal",
                &proposal_body("Credentials"),
            ),
        )
        .await;
    let out = cfpd(&config, &["run", "--once"], Some(creds.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("processed 1 message(s)"),
        "{}",
        stdout(&out)
    );
    let got = w.dovecot.wait_for("ada", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the speaker got an acknowledgment");
}
