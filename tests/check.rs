//! A chair's mistakes, caught by the real `cfpd` binary: a deadline already
//! past, a missing or broken topic file, `cfpd init`'s deadlines, a missing
//! SQLite folder, I/O errors printed once, dotted keys on their own line.
//! No mail server is needed: the configs use a Maildir and an outgoing folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cfpd(config: &Path, args: &[&str], now: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cfpd"));
    c.arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CFPD_FAKE_NOW");
    if let Some(t) = now {
        c.env("CFPD_FAKE_NOW", t);
    }
    c.output().expect("run cfpd")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A config without servers in `dir`, with `extra` appended.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("cfpd.toml");
    std::fs::write(
        &p,
        format!(
            "[conference]\nname = \"TestConf\"\ncfp_address = \"cfp@conf.example\"\n\
             time_zone = \"AoE\"\ncfp_deadline = \"2024-04-24T23:59:59\"\n\
             chairs = [\"chair@conf.example\"]\n\n\
             [mailbox]\nkind = \"maildir\"\npath = \"inbox\"\n\n\
             [outgoing]\nkind = \"folder\"\npath = \"sent\"\n{extra}"
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_past_deadline_is_a_warning_in_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let warning =
        "conference.cfp_deadline 2024-04-24 23:59 AoE (2024-04-25 11:59 UTC) is in the past";
    for args in [&["check", "--config-only"][..], &["check"][..]] {
        let out = cfpd(&cfg, args, Some("2024-06-01T00:00:00Z"));
        let (o, e) = text(&out);
        assert!(out.status.success(), "{o}{e}");
        assert!(o.contains(&format!("WARNING   {warning}")), "{args:?}: {o}");
        let out = cfpd(&cfg, args, Some("2024-04-01T00:00:00Z"));
        let (o, e) = text(&out);
        assert!(out.status.success(), "{o}{e}");
        assert!(
            !o.contains("WARNING   conference.cfp_deadline"),
            "{args:?}: {o}"
        );
    }
    let out = cfpd(&cfg, &["run", "--once"], Some("2024-06-01T00:00:00Z"));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(e.contains(warning), "run logs no warning: {e}");
}

/// Issue 16, item 4: with no `[conference] contact` (and no chairs) mail a
/// person wrote reaches nobody, so `cfpd check` says so.
#[test]
fn an_empty_contact_is_a_warning_in_check() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let now = Some("2024-04-01T00:00:00Z");
    let (o, _) = text(&cfpd(&cfg, &["check", "--config-only"], now));
    assert!(!o.contains("WARNING"), "the chairs are the contact: {o}");
    let src = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, src.replace("chairs = [\"chair@conf.example\"]\n", "")).unwrap();
    let out = cfpd(&cfg, &["check", "--config-only"], now);
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.contains("WARNING   [conference] contact is empty (and there are no chairs):\n"),
        "{o}"
    );
}

#[test]
fn a_missing_or_broken_topic_file_fails_check_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "\n[topics]\nfile = \"topics.toml\"\n");
    let topics = dir.path().join("topics.toml");
    for args in [&["check", "--config-only"][..], &["check"][..]] {
        let out = cfpd(&cfg, args, None);
        let (o, e) = text(&out);
        assert!(!out.status.success(), "{args:?} passes: {o}");
        assert!(e.contains(&topics.display().to_string()), "{e}");
        assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    }
    std::fs::write(
        &topics,
        "[[topic]]\nid = \"web\"\nname = \"Web\"\nbogus = 3\n",
    )
    .unwrap();
    let out = cfpd(&cfg, &["check", "--config-only"], None);
    let (o, e) = text(&out);
    assert!(!out.status.success(), "broken topic file passes: {o}");
    assert!(e.contains(&format!("{}:4:", topics.display())), "{e}");
}

#[test]
fn init_writes_a_deadline_in_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfpd.toml");
    let out = cfpd(&cfg, &["init"], None);
    assert!(out.status.success(), "{:?}", text(&out));
    let src = std::fs::read_to_string(&cfg).unwrap();
    let line = src.lines().find(|l| l.starts_with("cfp_deadline")).unwrap();
    let date = line.split('"').nth(1).unwrap();
    let d = chrono::NaiveDate::parse_from_str(&date[..10], "%Y-%m-%d").unwrap();
    let today = chrono::Utc::now().date_naive();
    assert!(d > today + chrono::Days::new(28), "{line}");
    let out = cfpd(&cfg, &["check", "--config-only"], None);
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(!o.contains("WARNING"), "{o}");
}

#[test]
fn a_missing_sqlite_folder_is_created_or_named_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "\n[database]\nurl = \"sqlite://state/db/cfpd.db\"\n",
    );
    let out = cfpd(&cfg, &["check"], Some("2024-04-01T00:00:00Z"));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    let folder = dir.path().join("state/db");
    assert!(folder.join("cfpd.db").exists());
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    // A folder that cannot be created (a file is in the way): one line naming it.
    std::fs::write(dir.path().join("blocked"), "").unwrap();
    let cfg = config(
        dir.path(),
        "\n[database]\nurl = \"sqlite://blocked/cfpd.db\"\n",
    );
    let out = cfpd(&cfg, &["proposals", "list"], None);
    let (o, e) = text(&out);
    assert!(!out.status.success(), "{o}");
    let blocked = dir.path().join("blocked").display().to_string();
    assert!(e.contains(&blocked), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    for line in e.lines() {
        let parts: Vec<&str> = line.split(": ").collect();
        let mut seen = std::collections::HashSet::new();
        for p in &parts[1..] {
            assert!(seen.insert(*p), "{p:?} repeated in {e}");
        }
    }
}

#[test]
fn io_errors_print_their_text_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/cfpd.toml");
    let out = cfpd(&missing, &["check", "--config-only"], None);
    let (_, e) = text(&out);
    assert!(!out.status.success());
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
}

#[test]
fn dotted_keys_are_reported_on_their_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "\n[database]\nurl = \"sqlite://cfpd.db\"\n\nlease.seconds = 3\n",
    );
    let src = std::fs::read_to_string(&cfg).unwrap();
    let line = src
        .lines()
        .position(|l| l.starts_with("lease.seconds"))
        .unwrap()
        + 1;
    let out = cfpd(&cfg, &["check", "--config-only"], None);
    let (o, e) = text(&out);
    assert!(!out.status.success(), "{o}");
    assert!(
        e.contains(&format!("{}:{line}:", cfg.display())),
        "expected line {line}: {e}"
    );
}

/// The fenced block of README.md after `marker`, without its command line.
fn readme_block(marker: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let rest = &readme[readme.find(marker).expect("README marker")..];
    let rest = &rest[rest.find("```").unwrap()..];
    let body = &rest[rest.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()]
        .lines()
        .filter(|l| !l.starts_with("cfpd --config"))
        .map(String::from)
        .collect()
}

/// README's "Writing the mails in your own words" shows `cfpd check` on the
/// demo config with an exported acknowledgment given a typo, then with the
/// typo fixed: the same steps print exactly those lines.
#[test]
fn check_of_an_override_prints_what_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/cfpd.toml");
    let cfg = format!(
        "{}\n[templates]\ndir = \"mails\"\n",
        std::fs::read_to_string(demo).unwrap()
    );
    std::fs::write(dir.path().join("cfpd.toml"), cfg).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cfpd"))
            .current_dir(dir.path())
            .args(["--config", "cfpd.toml"])
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("CFPD_FAKE_NOW")
            .output()
            .unwrap()
    };
    let out = run(&["templates", "export", "mails"]);
    let (o, _) = text(&out);
    assert_eq!(
        o.lines().collect::<Vec<_>>(),
        readme_block("Start from a copy of\nthe built-ins")
    );
    let ack = dir.path().join("mails/ack.txt");
    let edit = |with: &str| {
        let src = std::fs::read_to_string(&ack).unwrap();
        let line = src.lines().nth(2).unwrap().to_string();
        std::fs::write(&ack, src.replacen(&line, with, 1)).unwrap();
    };
    edit("Thank you for proposing a talk to {{ conference }}, {{ speakr_name }}!");
    let out = run(&["check", "--config-only"]);
    assert!(!out.status.success());
    let (o, e) = text(&out);
    let printed: Vec<&str> = o.lines().chain(e.lines()).collect();
    assert_eq!(
        printed,
        readme_block("so a typo fails the check instead of a\nspeaker's mail")
    );
    edit("Thank you for proposing a talk to {{ conference }}, {{ speaker_name }}!");
    let (o, _) = text(&run(&["check", "--config-only"]));
    for l in readme_block("ask people to reply, and name nobody") {
        assert!(
            o.lines().any(|x| x == l),
            "README shows {l:?}; check printed:\n{o}"
        );
    }
}
