//! Long work shows progress: `cfpd run --once` on a backlog, `cfpd reviewers
//! import` and `cfpd assign` write plain log lines when stderr is not a
//! terminal (a journal, CI), and draw a bar on a terminal (here a pseudo
//! terminal from util-linux `script`), on real servers.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::*;

const TOPICS: [&str; 5] = [
    "frontend",
    "security",
    "architecture",
    "dev-testing",
    "channels-websockets",
];

/// `count` proposals from distinct speakers, written straight into cfp's Maildir.
fn backlog(w: &World, from: usize, count: usize) {
    let raws: Vec<Vec<u8>> = (from..from + count)
        .map(|i| {
            let topic = TOPICS[i % TOPICS.len()];
            mail(
                &format!("speaker{i}@speakers.example"),
                CFP,
                &format!("progress-{i}@speakers.example"),
                "Proposal",
                &format!(
                    "Title: Talk {i}\nFormat: talk-25\nAudience: beginner\nTopics: {topic}\nAbstract:\n  About {topic}.\nDescription:\n  More about {topic}.\n"
                ),
            )
        })
        .collect();
    w.dovecot.deliver_maildir("cfp", &raws);
}

/// `cfpd <args>` with stderr a pipe (not a terminal) and info logging.
fn plain(w: &World, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&w.config)
        .args(args)
        .env("RUST_LOG", "info,sqlx=warn")
        .output()
        .expect("run cfpd");
    assert!(out.status.success(), "cfpd {args:?}: {}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

/// `cfpd <args>` on a pseudo terminal (`script`): everything it wrote, stdout and stderr.
fn on_terminal(w: &World, args: &[&str]) -> String {
    let cmd = format!(
        "{} --config {} {}",
        env!("CARGO_BIN_EXE_cfpd"),
        w.config.display(),
        args.join(" ")
    );
    let out: Output = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    let all = text(&out.stdout);
    assert!(out.status.success(), "cfpd {args:?} on a terminal: {all}");
    all
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn roster(w: &World, n: usize) -> String {
    let path = w.dir.path().join("roster.csv");
    let mut csv = String::from("email,name,topics,max_load\n");
    for r in 0..n {
        csv.push_str(&format!(
            "reviewer{r}@reviewers.example,Reviewer {r},{};{},25\n",
            TOPICS[r % TOPICS.len()],
            TOPICS[(r + 2) % TOPICS.len()]
        ));
    }
    std::fs::write(&path, csv).unwrap();
    path.display().to_string()
}

fn script_available() -> bool {
    let ok = Path::new("/usr/bin/script").exists();
    if !ok {
        assert!(
            std::env::var("CFPD_REQUIRE_SERVERS").as_deref() != Ok("1"),
            "util-linux `script` is missing; scripts/test.sh installs bsdutils"
        );
        eprintln!("skipped: util-linux `script` is not installed");
    }
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn long_work_logs_lines_off_a_terminal_and_draws_bars_on_one() {
    if !servers_available() || !script_available() {
        return;
    }
    let w = World::start("").await;

    // Nothing to do (cron every minute): no progress lines at all.
    let (out, err) = plain(&w, &["run", "--once"]);
    assert!(out.contains("processed 0 message(s)"), "{out}");
    assert!(
        !err.contains("intake:") && !err.contains("send:"),
        "nothing was done, nothing is said:\n{err}"
    );

    // Not a terminal: log lines, no control codes.
    backlog(&w, 0, 150);
    let (out, err) = plain(&w, &["run", "--once"]);
    assert!(out.contains("processed 150 message(s)"), "{out}");
    for line in [
        "intake: starting",
        "intake: 150/150 messages (100%)",
        "intake: done, 150 messages in",
        "send: starting, 150 mails",
        "send: 150/150 mails (100%)",
        "send: done, 150 mails in",
        "150 sent, 0 to retry, 0 failed or uncertain",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    assert!(
        !err.contains('\u{1b}'),
        "no control codes off a terminal:\n{err}"
    );

    let csv = roster(&w, 40);
    let (out, err) = plain(&w, &["reviewers", "import", &csv]);
    assert!(out.contains("40 reviewer(s): 40 new"), "{out}");
    for line in [
        "import: starting, 40 reviewers",
        "import: 4/40 reviewers (10%)",
        "import: 40/40 reviewers (100%)",
        "import: done, 40 reviewers in",
        "40 new, 0 updated",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }

    let (out, err) = plain(&w, &["assign", "--preview"]);
    assert!(out.contains("proved optimal"), "{out}");
    for line in [
        "assign: starting",
        "assign: 0 pricing rounds (checking the problem)",
        "(building the network)",
        "(optimizing)",
        "assign: pricing round 1:",
        "(certifying optimality)",
        "assign: done,",
        "proved optimal, 450 new pair(s)",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }

    // A terminal: bars with counts, and none of the plain lines.
    backlog(&w, 150, 120);
    let screen = on_terminal(&w, &["run", "--once"]);
    assert!(screen.contains('\u{1b}'), "a bar is drawn:\n{screen}");
    assert!(
        screen.contains("120/120 messages, 120 processed"),
        "{screen}"
    );
    assert!(
        screen.contains("120/120 mails, 120 sent, 0 to retry"),
        "{screen}"
    );
    assert!(!screen.contains("intake: starting"), "{screen}");

    let screen = on_terminal(&w, &["reviewers", "import", &csv]);
    assert!(
        screen.contains("40/40 reviewers, 0 new, 40 updated"),
        "{screen}"
    );
    assert!(!screen.contains("import: starting"), "{screen}");

    let screen = on_terminal(&w, &["assign", "--preview"]);
    assert!(screen.contains("pricing rounds, objective"), "{screen}");
    assert!(
        screen.contains("proved optimal, 810 new pair(s)"),
        "{screen}"
    );
}
