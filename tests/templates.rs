//! The mails in the conference's own words, end to end on real servers: a
//! chair's override folder (`[templates] dir`) is checked by `cfpd check`
//! (a typo at file:line), used in the mail a speaker really receives, in
//! the conference's language when a language file exists; `cfpd templates
//! export` writes files that `cfpd check` accepts unchanged. And `cfpd
//! check` prints exactly what README.md shows.

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

/// Point the world's config at the override folder `mails` (beside it),
/// with `conference` lines added to `[conference]`.
fn use_templates(w: &World, conference: &str) -> std::path::PathBuf {
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let cfg = cfg.replacen(
        "time_zone = \"AoE\"",
        &format!("time_zone = \"AoE\"\n{conference}"),
        1,
    );
    std::fs::write(&w.config, format!("{cfg}\n[templates]\ndir = \"mails\"\n")).unwrap();
    let dir = w.dir.path().join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check(w: &World) -> (bool, String) {
    let out = w.cfpd_raw(&["check"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_with_a_typo_is_reported_by_check_at_file_and_line() {
    need_servers!();
    let w = world_with_chair("").await;
    let dir = use_templates(&w, "");
    std::fs::write(
        dir.join("ack.txt"),
        "Hello {{ speaker_name }},\n\nthank you for {{ reference }}.\n\
         We read it {{ deadlin }}.\n{% include \"_contact.txt\" %}",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("reject")).unwrap();
    std::fs::write(
        dir.join("reject/too_large.txt"),
        "Too large.\n{% if size_kib > limit_kib %}\nsorry\n",
    )
    .unwrap();
    let (ok, out) = check(&w);
    assert!(!ok, "a broken override passes: {out}");
    let at = |f: &str| format!("{}:", dir.join(f).display());
    assert!(
        out.contains(&format!(
            "{}4: unknown placeholder `deadlin`: this mail has ",
            at("ack.txt")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}2: syntax error: unexpected end of input, expected end of block",
            at("reject/too_large.txt")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "templates FAIL {}: 2 error(s) with sample data",
            dir.display()
        )),
        "{out}"
    );
    // The connections are still checked and reported.
    assert!(out.contains("mailbox   ok   IMAP"), "{out}");
    // Fixed, it passes; a file that replaces nothing is named.
    std::fs::write(
        dir.join("ack.txt"),
        "Hello {{ speaker_name }},\n\nthank you for {{ reference }}.\n",
    )
    .unwrap();
    std::fs::remove_file(dir.join("reject/too_large.txt")).unwrap();
    std::fs::write(dir.join("akc.txt"), "typo in the file name\n").unwrap();
    let (ok, out) = check(&w);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("WARNING   {} replaces no mail", at("akc.txt"))),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_speaker_gets_the_override_in_the_conference_language() {
    need_servers!();
    let w = world_with_chair("").await;
    let dir = use_templates(&w, "language = \"de\"");
    w.dovecot.ensure_user("ada");
    w.dovecot.ensure_user("bob");
    std::fs::write(
        dir.join("ack.txt"),
        "Hello {{ speaker_name }}, English override for {{ reference }}.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ack.de.txt"),
        "Hallo {{ speaker_name }},\n\nvielen Dank für {{ reference }} an {{ conference }}.\n\n\
         {% include \"_record.txt\" %}\n{% include \"_contact.txt\" %}\n— das Programmkomitee",
    )
    .unwrap();
    // A help mail is not overridden: the built-in is sent.
    let (ok, out) = check(&w);
    assert!(ok, "{out}");
    assert!(out.contains("(1 of "), "{out}");
    assert!(out.contains("language de"), "{out}");
    let ack = w
        .submit(
            "ada",
            "Ada Lovelace <ada@example.org>",
            "p1@example.org",
            "Forms",
        )
        .await;
    let text = body(&ack);
    assert!(
        text.starts_with(
            "Hallo Ada Lovelace,\n\nvielen Dank für P-0001 an TestConf.\n\nTitle: Forms\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("a person reads it:\n  chair@conf.example\n\n— das Programmkomitee"),
        "{text}"
    );
    assert!(!text.contains("English override"), "{text}");
    w.dovecot
        .append(
            "cfp",
            &mail("bob@example.org", CFP, "h1@example.org", "help", "help"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let help = body(&w.dovecot.wait_for("bob", 1, T).await[0]);
    assert!(help.contains("To propose a talk to TestConf"), "{help}");
    assert!(help.contains("  chair@conf.example\n"), "{help}");
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_templates_pass_check_unchanged_and_export_never_overwrites() {
    need_servers!();
    let w = world_with_chair("").await;
    let dir = use_templates(&w, "");
    std::fs::remove_dir(&dir).unwrap();
    let out = w.cfpd(&["templates", "export", dir.to_str().unwrap()]);
    assert!(out.starts_with("wrote "), "{out}");
    assert!(dir.join("ack.txt").is_file() && dir.join("reject/too_large.txt").is_file());
    let (ok, out) = check(&w);
    assert!(ok, "{out}");
    assert!(!out.contains("WARNING"), "exported files warn: {out}");
    assert!(out.contains("templates ok   "), "{out}");
    // A second export refuses, and leaves the chair's edit alone.
    std::fs::write(dir.join("ack.txt"), "mine\n").unwrap();
    let again = w.cfpd_raw(&["templates", "export", dir.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("use --force to overwrite"),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("ack.txt")).unwrap(),
        "mine\n"
    );
    w.cfpd(&["templates", "export", "--force", dir.to_str().unwrap()]);
    assert_ne!(
        std::fs::read_to_string(dir.join("ack.txt")).unwrap(),
        "mine\n"
    );
    // The mail sent with the exported files reads as the built-in one.
    w.dovecot.ensure_user("ada");
    let ack = w
        .submit(
            "ada",
            "Ada Lovelace <ada@example.org>",
            "p1@example.org",
            "Forms",
        )
        .await;
    let text = body(&ack);
    assert!(
        text.starts_with("Hello Ada Lovelace,\n\nThank you for your proposal to TestConf."),
        "{text}"
    );
}

/// The lines of the first fenced block in README.md that follows `marker`
/// and starts with `cfpd --config cfpd.toml check` (that line left out).
fn readme_block(marker: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme.find(marker).expect("README marker");
    let rest = &readme[at..];
    let start = rest.find("```").unwrap();
    let rest = &rest[start..];
    let body = &rest[rest.find('\n').unwrap() + 1..];
    let end = body.find("```").unwrap();
    body[..end]
        .lines()
        .filter(|l| !l.starts_with("cfpd "))
        .map(String::from)
        .collect()
}

/// A `cfpd check` line with what differs between machines made a
/// placeholder: paths, database URLs, accounts, hosts and ports, TLS modes
/// and token lifetimes. Everything else (labels, words, order) must match.
fn normalise(line: &str) -> String {
    let rules = [
        (r"^config    ok   \S+$", "config    ok   PATH"),
        (r"(sqlite|postgres)://\S+", "DATABASE"),
        (r"IMAP \S+:\d+ \(\w+\)", "IMAP ACCOUNT (TLS)"),
        (r"SMTP \S+:\d+ \(\w+\)", "SMTP HOST (TLS)"),
        (
            r"access token from \S+ \(used for \d+ more min\)",
            "access token from URL (used for N more min)",
        ),
    ];
    let mut l = line.to_string();
    for (pat, with) in rules {
        l = regex::Regex::new(pat)
            .unwrap()
            .replace_all(&l, with)
            .into_owned();
    }
    l
}

#[tokio::test(flavor = "multi_thread")]
async fn check_prints_what_the_readme_shows() {
    need_servers!();
    let w = world_with_chair("").await;
    let readme: Vec<String> =
        readme_block("Check the config and the connections before going live")
            .iter()
            .map(|l| normalise(l))
            .collect();
    // A first run creates the mailbox's folders, as on a live system.
    w.cfpd(&["run", "--once"]);
    let (ok, out) = check(&w);
    assert!(ok, "{out}");
    let real: Vec<String> = out.lines().map(normalise).collect();
    assert_eq!(real, readme, "cfpd check printed:\n{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_with_oauth2_prints_what_the_readme_shows() {
    need_servers!();
    let w = World::start_oauth2("", 3600, false).await;
    let readme: Vec<String> = readme_block("Then `cfpd check` shows the token and both logins")
        .iter()
        .map(|l| normalise(l))
        .collect();
    w.cfpd(&["run", "--once"]);
    let out = w.cfpd(&["check"]);
    let real: Vec<String> = out.lines().map(normalise).collect();
    assert!(
        real.windows(readme.len()).any(|w| w == readme.as_slice()),
        "README shows\n{}\ncfpd check printed:\n{out}",
        readme.join("\n")
    );
}
