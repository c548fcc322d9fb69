//! The config loader's tests: what loads, and that every mistake names its line and key.

use super::*;

fn minimal() -> String {
    r#"
[conference]
name = "DjangoCon US 2024"
cfp_address = "cfp@djangocon.example"
time_zone = "AoE"
cfp_deadline = "2024-04-24T23:59:59"

[mailbox]
kind = "maildir"
path = "inbox"

[outgoing]
kind = "folder"
path = "sent"
"#
    .to_string()
}

#[test]
fn minimal_config_loads_with_defaults_relative_to_file() {
    let c = Config::from_str(&minimal(), Path::new("/etc/cfpd/cfpd.toml")).unwrap();
    assert_eq!(c.database_url, "sqlite:///etc/cfpd/cfpd.db");
    match c.mailbox {
        MailboxConfig::Maildir { path } => assert_eq!(path, Path::new("/etc/cfpd/inbox")),
        _ => panic!("expected maildir"),
    }
    // AoE: 23:59:59 on the 24th at UTC-12 is 11:59:59 UTC on the 25th.
    assert_eq!(
        c.conference.cfp_deadline.to_rfc3339(),
        "2024-04-25T11:59:59+00:00"
    );
}

#[test]
fn review_deadline_is_local_and_after_the_cfp_deadline() {
    let ok = minimal().replace(
        "cfp_deadline = \"2024-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20\"",
    );
    let c = Config::from_str(&ok, Path::new("/x/cfpd.toml")).unwrap();
    assert_eq!(
        c.conference.review_deadline.unwrap().to_rfc3339(),
        "2024-05-21T11:59:59+00:00"
    );
    let early = minimal().replace(
        "cfp_deadline = \"2024-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-04-01\"",
    );
    let e = Config::from_str(&early, Path::new("/x/cfpd.toml")).unwrap_err();
    assert!(e.to_string().contains("conference.review_deadline"), "{e}");
    assert!(e.to_string().contains("after cfp_deadline"), "{e}");
}

#[test]
fn contact_defaults_to_the_chairs_and_takes_one_address_or_a_list() {
    let with = |extra: &str| {
        minimal().replace(
            "cfp_deadline = \"2024-04-24T23:59:59\"",
            &format!("cfp_deadline = \"2024-04-24T23:59:59\"\n{extra}"),
        )
    };
    let p = Path::new("/x/cfpd.toml");
    let none = Config::from_str(&minimal(), p).unwrap();
    assert!(none.conference.contact.is_empty());
    let chairs = Config::from_str(&with("chairs = [\"a@x.example\", \"b@x.example\"]"), p).unwrap();
    assert_eq!(chairs.conference.contact, ["a@x.example", "b@x.example"]);
    let one = Config::from_str(
        &with("chairs = [\"a@x.example\"]\ncontact = \"Program@X.example\""),
        p,
    )
    .unwrap();
    assert_eq!(one.conference.contact, ["program@x.example"]);
    let many = Config::from_str(&with("contact = [\"p@x.example\", \"q@x.example\"]"), p).unwrap();
    assert_eq!(many.conference.contact, ["p@x.example", "q@x.example"]);
    let bad = Config::from_str(&with("contact = \"nobody\""), p).unwrap_err();
    assert!(bad.to_string().contains("conference.contact"), "{bad}");
}

#[test]
fn clear_password_is_refused_with_line() {
    let src = r#"
[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "Europe/Paris"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp"
password = "hunter2"

[outgoing]
kind = "folder"
path = "sent"
"#;
    let e = Config::from_str(src, Path::new("c.toml")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("c.toml:13: mailbox.password:"), "{msg}");
    assert!(!msg.contains("hunter2"));
}

fn imap_with(secret_lines: &str) -> String {
    format!(
        r#"
[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "Europe/Paris"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp"
{secret_lines}

[outgoing]
kind = "smtp"
host = "smtp.x.example"
tls = "starttls"
user = "cfp"
password_credential = "smtp-password"
"#
    )
}

#[test]
fn credential_secret_reads_the_named_file_in_the_credentials_directory() {
    let c = Config::from_str(
        &imap_with("password_credential = \"imap-password\""),
        Path::new("/etc/cfpd/cfpd.toml"),
    )
    .unwrap();
    let MailboxConfig::Imap(i) = &c.mailbox else {
        panic!("expected imap")
    };
    assert_eq!(i.password.to_string(), "systemd credential imap-password");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imap-password"), "s3cret\n").unwrap();
    assert_eq!(
        i.password
            .resolve_with(Some(dir.path()))
            .unwrap()
            .as_deref(),
        Some("s3cret"),
        "the trailing newline is stripped, as for password_file"
    );
    // Outside systemd: the error says what to do and names the credential.
    let e = i.password.resolve_with(None).unwrap_err().to_string();
    assert!(e.contains("CREDENTIALS_DIRECTORY is not set"), "{e}");
    assert!(e.contains("LoadCredential=imap-password:"), "{e}");
    // Loaded under another name: the error names the missing file.
    let other = tempfile::tempdir().unwrap();
    let e = i
        .password
        .resolve_with(Some(other.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("credential \"imap-password\""), "{e}");
    assert!(
        e.contains(&other.path().join("imap-password").display().to_string()),
        "{e}"
    );
    let OutgoingConfig::Smtp(s) = &c.outgoing else {
        panic!("expected smtp")
    };
    assert_eq!(s.password.to_string(), "systemd credential smtp-password");
}

#[test]
fn credential_secret_is_a_name_and_exclusive() {
    let e = Config::from_str(
        &imap_with("password_credential = \"../etc/shadow\""),
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("c.toml:13: mailbox.password_credential:"),
        "{e}"
    );
    assert!(e.contains("no slashes"), "{e}");
    let e = Config::from_str(
        &imap_with("password_env = \"PW\"\npassword_credential = \"imap\""),
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("c.toml:14: mailbox.password_credential:"),
        "{e}"
    );
    assert!(e.contains("only one of"), "{e}");
}

#[test]
fn unknown_key_and_bad_zone_name_line_and_key() {
    let src = minimal().replace("time_zone = \"AoE\"", "time_zone = \"Mars/Olympus\"");
    let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
    assert!(
        e.to_string().starts_with("c.toml:5: conference.time_zone:"),
        "{e}"
    );
    let src = minimal().replace("path = \"sent\"", "path = \"sent\"\ncolour = 3");
    let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
    assert!(
        e.to_string().starts_with("c.toml:15: outgoing.colour:"),
        "{e}"
    );
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn nonexistent_local_time_is_refused() {
    // 02:30 on 2024-03-10 does not exist in America/Chicago (spring forward).
    let src = minimal()
        .replace("time_zone = \"AoE\"", "time_zone = \"America/Chicago\"")
        .replace("2024-04-24T23:59:59", "2024-03-10T02:30:00");
    let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
    assert!(e.to_string().contains("conference.cfp_deadline"), "{e}");
}

#[test]
fn default_reminders_follow_the_deadlines() {
    let src = minimal().replace(
        "cfp_deadline = \"2024-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20\"\nchairs = [\"chair@djangocon.example\"]",
    ) + "\n[announce]\naddresses = [\"Announce@Lists.Example\"]\n";
    let c = Config::from_str(&src, Path::new("c.toml")).unwrap();
    let got: Vec<(String, String)> = c
        .reminders
        .iter()
        .map(|r| (r.name.clone(), r.cron.source().to_string()))
        .collect();
    let want = [
        ("drafts-7d", "0 0 9 17 Apr * 2024"),
        ("drafts-1d", "0 0 9 23 Apr * 2024"),
        ("last-call", "0 0 9 21 Apr * 2024"),
        ("reviews-3d", "0 0 9 17 May * 2024"),
        ("reviews-1d", "0 0 9 19 May * 2024"),
        ("reviews-overdue-1d", "0 0 9 21 May * 2024"),
        ("chairs-digest", "0 0 8 * * *"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
    );
    assert_eq!(c.announce, ["announce@lists.example"]);
    // Without review deadline, chairs or announce addresses: only the draft rules.
    let c = Config::from_str(&minimal(), Path::new("c.toml")).unwrap();
    let names: Vec<&str> = c.reminders.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["drafts-7d", "drafts-1d"]);
    // `reminders = []` turns reminders off.
    let off = minimal().replace("[mailbox]", "reminders = []\n\n[mailbox]");
    let off = off.replacen("reminders = []\n\n", "", 1);
    let off = format!("reminders = []\n{off}");
    let c = Config::from_str(&off, Path::new("c.toml")).unwrap();
    assert!(c.reminders.is_empty());
}

#[test]
fn reminder_errors_name_line_and_key() {
    let with = |rule: &str| format!("{}\n[[reminders]]\n{rule}", minimal());
    let base_lines = minimal().lines().count() + 3;
    let cases = [
        ("name = \"x\"\ncron = \"0 9 * * *\"\naudience = \"draft_speakers\"", 2, "reminders[0].cron", "seconds first"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"speakers\"", 3, "reminders[0].audience", "draft_speakers, pending_reviewers, chairs, announce"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"pending_reviewers\"", 3, "reminders[0].audience", "review_deadline"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"chairs\"", 3, "reminders[0].audience", "conference.chairs"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\ntemplate = \"chair_digest\"", 4, "reminders[0].template", "draft_reminder"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nuntil = \"+1d\"", 4, "reminders[0].until", "cannot fire after it"),
        ("name = \"x\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\nfrom = \"soon\"", 4, "reminders[0].from", "not an offset"),
        ("name = \"x\"\ncron = \"0 0 9 17 Apr * 2023\"\naudience = \"draft_speakers\"", 2, "reminders[0].cron", "never fires"),
        ("name = \"Bad Name\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"", 1, "reminders[0].name", "a-z"),
    ];
    for (rule, line, key, msg) in cases {
        let e = Config::from_str(&with(rule), Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        let want = format!("c.toml:{}: {key}: ", base_lines + line - 1);
        assert!(e.starts_with(&want), "{rule}\nwant {want}\ngot {e}");
        assert!(e.contains(msg), "{e}");
    }
    let dup = format!(
        "{}\n[[reminders]]\nname = \"a\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\n[[reminders]]\nname = \"a\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\n",
        minimal()
    );
    let e = Config::from_str(&dup, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reminders[1].name") && e.contains("unique"),
        "{e}"
    );
    let bad = format!(
        "{}\n[announce]\naddresses = [\"not an address\"]\n",
        minimal()
    );
    let e = Config::from_str(&bad, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("announce.addresses") && e.contains(":17:"),
        "{e}"
    );
    // A configured rule keeps the window it was given, relative to its deadline.
    let ok = with("name = \"weekly\"\ncron = \"0 0 9 * * Mon\"\naudience = \"draft_speakers\"\nfrom = \"-3w\"\nuntil = \"-1h\"");
    let c = Config::from_str(&ok, Path::new("c.toml")).unwrap();
    assert_eq!(c.reminders.len(), 1);
    let r = &c.reminders[0];
    assert_eq!(
        r.not_before.unwrap().to_rfc3339(),
        "2024-04-04T11:59:59+00:00"
    );
    assert_eq!(
        r.not_after.unwrap().to_rfc3339(),
        "2024-04-25T10:59:59+00:00"
    );
}

/// An IMAP + SMTP config with OAuth2 on both sides and `oauth2` as the
/// `[oauth2]` table's body.
fn oauth2_config(mailbox_extra: &str, oauth2: &str) -> String {
    format!(
        r#"[conference]
name = "X"
cfp_address = "cfp@x.example"
time_zone = "AoE"
cfp_deadline = "2024-04-24"

[mailbox]
kind = "imap"
host = "imap.x.example"
tls = "implicit"
user = "cfp@x.example"
auth = "oauth2"
{mailbox_extra}
[outgoing]
kind = "smtp"
host = "smtp.x.example"
tls = "starttls"
user = "cfp@x.example"
auth = "oauth2"

[oauth2]
{oauth2}
"#
    )
}

fn oauth2_err(mailbox_extra: &str, oauth2: &str) -> String {
    Config::from_str(&oauth2_config(mailbox_extra, oauth2), Path::new("c.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn oauth2_presets_fill_in_endpoints_and_scopes() {
    let c = Config::from_str(
        &oauth2_config(
            "",
            "provider = \"microsoft\"\ntenant = \"conf.onmicrosoft.com\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
        ),
        Path::new("/etc/cfpd/c.toml"),
    )
    .unwrap();
    let o = c.oauth2.unwrap();
    assert_eq!(
        o.token_url,
        "https://login.microsoftonline.com/conf.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert!(o.scopes.iter().any(|s| s.ends_with("/SMTP.Send")));
    assert!(o.scopes.contains(&"offline_access".to_string()));
    assert!(o.scope_on_refresh);
    assert!(matches!(&o.refresh_token, Secret::File(p) if p == Path::new("/etc/cfpd/rt")));
    assert!(matches!(o.client_secret, Secret::None));
    let MailboxConfig::Imap(i) = &c.mailbox else {
        panic!()
    };
    assert_eq!(i.auth, AuthMethod::OAuth2);
    assert!(matches!(i.password, Secret::None));

    let c = Config::from_str(
        &oauth2_config(
            "",
            "provider = \"google\"\nclient_id = \"abc\"\nclient_secret_env = \"CS\"\nrefresh_token_env = \"RT\"",
        ),
        Path::new("c.toml"),
    )
    .unwrap();
    let o = c.oauth2.unwrap();
    assert_eq!(o.token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(o.scopes, vec!["https://mail.google.com/".to_string()]);
    assert!(!o.scope_on_refresh, "Google's refresh grant takes no scope");
}

#[test]
fn oauth2_mistakes_are_named_with_line_and_key() {
    let base = "provider = \"google\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"";
    // A password next to auth = "oauth2".
    let e = oauth2_err("password_file = \"pw\"\n", base);
    assert!(e.starts_with("c.toml:13: mailbox.password_file:"), "{e}");
    assert!(e.contains("remove password_file"), "{e}");
    // A refresh token in clear.
    let e = oauth2_err(
        "",
        "provider = \"google\"\nclient_id = \"abc\"\nrefresh_token = \"1//0secret\"",
    );
    assert!(
        e.contains("oauth2.refresh_token: refresh_tokens are never stored"),
        "{e}"
    );
    assert!(!e.contains("1//0secret"));
    // No refresh token at all.
    let e = oauth2_err("", "provider = \"google\"\nclient_id = \"abc\"");
    assert!(e.contains("oauth2.refresh_token_file: required"), "{e}");
    // Microsoft without a tenant.
    let e = oauth2_err(
        "",
        "provider = \"microsoft\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
    );
    assert!(
        e.contains("oauth2.tenant:") && e.contains("directory (tenant) ID"),
        "{e}"
    );
    // Tokens never travel in plaintext to another machine.
    let e = oauth2_err(
        "",
        "provider = \"custom\"\ntoken_url = \"http://auth.example/token\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
    );
    assert!(
        e.contains("oauth2.token_url: expected an https:// URL"),
        "{e}"
    );
    assert!(Config::from_str(
        &oauth2_config(
            "",
            "provider = \"custom\"\ntoken_url = \"http://127.0.0.1:8080/token\"\nclient_id = \"abc\"\nrefresh_token_file = \"rt\"",
        ),
        Path::new("c.toml"),
    )
    .is_ok());
    // A preset's endpoint cannot be overridden by accident.
    let e = oauth2_err("", &format!("{base}\ntoken_url = \"https://x.example/t\""));
    assert!(e.contains("use provider = \"custom\""), "{e}");
    // auth = "oauth2" without an [oauth2] table, and the other way round.
    let src = oauth2_config("", base).replace("[oauth2]", "[unused]");
    let src = src.split("[unused]").next().unwrap().to_string();
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mailbox.auth: auth = \"oauth2\" needs an [oauth2] table"),
        "{e}"
    );
    let src = oauth2_config("password_env = \"PW\"\n", base)
        .replace("auth = \"oauth2\"\n", "")
        .replace("user = \"cfp@x.example\"\n\n[oauth2]", "\n[oauth2]");
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("[oauth2] is set but neither"), "{e}");
    let e = oauth2_err("", &base.replace("google", "yahoo"));
    assert!(e.contains("unknown provider \"yahoo\""), "{e}");
}

#[test]
fn example_config_is_valid() {
    Config::from_str(EXAMPLE_CONFIG, Path::new("cfpd.toml")).unwrap();
}
#[test]
fn metrics_listen_is_optional_and_thresholds_are_checked_against_the_source() {
    let c = Config::from_str(&minimal(), Path::new("c.toml")).unwrap();
    assert_eq!(c.metrics.listen, None, "no [metrics]: no HTTP server");
    // Maildir polls every 2 s: stale after 2 s + 5 min by default.
    assert_eq!(c.metrics.poll_stale.as_secs(), 302);
    assert_eq!(c.metrics.queue_stale.as_secs(), 1800);
    let with = |t: &str| Config::from_str(&format!("{}{t}", minimal()), Path::new("c.toml"));
    let c = with("[metrics]\nlisten = \"0.0.0.0:9469\"\npoll_stale_seconds = 60\n").unwrap();
    assert_eq!(c.metrics.listen, Some("0.0.0.0:9469".parse().unwrap()));
    assert_eq!(c.metrics.poll_stale.as_secs(), 60);
    let e = with("\n[metrics]\nlisten = \"localhost\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:17: metrics.listen: "), "{e}");
    assert!(e.contains("127.0.0.1:9469"), "{e}");
    let e = with("[metrics]\npoll_stale_seconds = 2\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("metrics.poll_stale_seconds: must be longer than 2 s"),
        "{e}"
    );
}

/// Dotted keys: the line is the one holding the key, wherever the table was
/// opened (a hand-written line scanner reported line 1 for both).
#[test]
fn dotted_keys_are_located_on_their_own_line() {
    // `a.b = 1` at the top level: the `[database]` table exists only through the dotted key.
    let src = format!("# cfpd\ndatabase.lease_seconds = 1\n{}", minimal());
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("c.toml:2: database.lease_seconds: expected 2 to 3600"),
        "{e}"
    );
    // `[x]` then `b.c = 2`: a key of a nested table written with a dotted key.
    let src = format!(
        "{}\n[proposals]\nformats = [\"talk\"]\nword_limits.title = 0\n",
        minimal()
    );
    let line = src.lines().count();
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "c.toml:{line}: proposals.word_limits.title: expected a positive number"
        )),
        "{e}"
    );
    // A missing key still points at its table's header, dotted or not.
    let src = minimal().replace("path = \"inbox\"", "");
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:8: mailbox.path: required"), "{e}");
}

/// Errors from the deserializer name the key the error is in, dotted keys included.
#[test]
fn deserializer_errors_name_the_dotted_key() {
    let src = minimal().replace("path = \"sent\"", "path = \"sent\"\nsmtp.colour = 3");
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:15: outgoing.smtp:"), "{e}");
    let src = minimal().replace(
        "path = \"sent\"",
        "path = \"sent\"\ntimeout_seconds = \"long\"",
    );
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:15: outgoing.timeout_seconds:"), "{e}");
    // A line that is not a key at all names the table it sits in.
    let src = minimal().replace("path = \"sent\"", "path = \"sent\"\nnot a key");
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("c.toml:15: outgoing"), "{e}");
}

/// A deserializer error inside an array of tables names the key without the
/// element's index, as before, on the element's own line.
#[test]
fn deserializer_errors_in_arrays_of_tables_name_the_key() {
    let src = format!(
        "{}\n[[reminders]]\nname = \"a\"\ncron = \"0 0 9 * * *\"\naudience = \"draft_speakers\"\n\n[[reminders]]\nname = \"b\"\ncolour = 1\n",
        minimal()
    );
    let line = src.lines().count();
    let e = Config::from_str(&src, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("c.toml:{line}: reminders.colour:")),
        "{e}"
    );
}

#[test]
fn past_deadlines_name_the_key_and_the_time_in_the_zone_and_utc() {
    let mut src = minimal();
    src = src.replace(
        "cfp_deadline = \"2024-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20T23:59:59\"",
    );
    let c = Config::from_str(&src, Path::new("/etc/cfpd/cfpd.toml")).unwrap();
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    assert!(c.past_deadlines(at("2024-04-01T00:00:00Z")).is_empty());
    let w = c.past_deadlines(at("2024-05-01T00:00:00Z"));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "conference.cfp_deadline 2024-04-24 23:59 AoE (2024-04-25 11:59 UTC) is in the past"
        ),
        "{w:?}"
    );
    assert!(w[0].contains("/etc/cfpd/cfpd.toml"), "{w:?}");
    let w = c.past_deadlines(at("2026-01-01T00:00:00Z"));
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[1].starts_with("conference.review_deadline 2024-05-20 23:59 AoE"));
}

#[test]
fn init_writes_deadlines_weeks_after_today() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let src = example_config(today);
    assert!(
        src.contains("cfp_deadline = \"2027-01-31T23:59:59\""),
        "{src}"
    );
    assert!(src.contains("review_deadline = \"2027-02-28T23:59:59\""));
    assert!(!src.contains("2024-04-24"));
    let c = Config::from_str(&src, Path::new("cfpd.toml")).unwrap();
    let now = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
    assert!(c.past_deadlines(now).is_empty());
    assert!(c.conference.cfp_deadline > now + chrono::Duration::weeks(7));
}

#[test]
fn decisions_share_reviews_and_confirm_by_in_the_conference_zone() {
    let c = Config::from_str(&minimal(), Path::new("/etc/cfpd/cfpd.toml")).unwrap();
    assert_eq!(c.decisions, DecisionRules::default());
    let src = minimal()
        + "\n[decisions]\nshare_reviews = true\nconfirm_by = \"2024-07-01T23:59:59\"\n\n\
           [[reminders]]\nname = \"confirm\"\ncron = \"0 0 9 * * *\"\naudience = \"unconfirmed_speakers\"\n";
    let c = Config::from_str(&src, Path::new("c.toml")).unwrap();
    assert!(c.decisions.share_reviews);
    assert_eq!(
        c.decisions.confirm_by.unwrap().to_rfc3339(),
        "2024-07-02T11:59:59+00:00",
        "AoE is UTC-12"
    );
    assert_eq!(c.reminders[0].deadline, c.decisions.confirm_by);
    let bad = minimal() + "\n[decisions]\nconfirm_by = \"July 1st\"\n";
    let e = Config::from_str(&bad, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("c.toml:17: decisions.confirm_by: expected a local time"),
        "{e}"
    );
    let no_deadline = minimal()
        + "\n[[reminders]]\nname = \"confirm\"\ncron = \"0 0 9 * * *\"\naudience = \"unconfirmed_speakers\"\n";
    let e = Config::from_str(&no_deadline, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("set [decisions] confirm_by"), "{e}");
}

#[test]
fn template_overrides_are_read_once_with_the_language_file_first() {
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails");
    std::fs::create_dir_all(mails.join("reject")).unwrap();
    for (f, text) in [
        ("ack.txt", "en"),
        ("ack.de.txt", "de"),
        ("draft.fr.txt", "fr"),
        ("help.txt", "help"),
        ("reject/too_large.de.txt", "zu groß"),
        ("notes.md", "not a template"),
    ] {
        std::fs::write(mails.join(f), text).unwrap();
    }
    let cfg = |language: &str, dir: &str| {
        minimal().replace(
            "time_zone = \"AoE\"",
            &format!("time_zone = \"AoE\"\n{language}"),
        ) + &format!("\n[templates]\ndir = \"{dir}\"\n")
    };
    let p = dir.path().join("cfpd.toml");
    let c = Config::from_str(&cfg("language = \"de\"", "mails"), &p).unwrap();
    let t = &c.templates;
    let names: Vec<&str> = t.files.keys().map(String::as_str).collect();
    assert_eq!(names, ["ack.txt", "help.txt", "reject/too_large.txt"]);
    assert_eq!(t.get("ack.txt").unwrap().source, "de");
    assert_eq!(t.get("ack.txt").unwrap().path, mails.join("ack.de.txt"));
    assert_eq!(t.other_languages, [mails.join("draft.fr.txt")]);
    // Without a language the plain files count and no language file does.
    let c = Config::from_str(&cfg("", "mails"), &p).unwrap();
    assert_eq!(c.templates.get("ack.txt").unwrap().source, "en");
    assert!(c.templates.get("reject/too_large.txt").is_none());
    // A missing folder and a strange language name each name their key.
    let e = Config::from_str(&cfg("", "nowhere"), &p).unwrap_err();
    assert!(
        e.to_string()
            .contains("templates.dir: cannot read the folder"),
        "{e}"
    );
    let e = Config::from_str(&cfg("language = \"../de\"", "mails"), &p).unwrap_err();
    assert!(e.to_string().contains("conference.language"), "{e}");
}

#[test]
fn review_objective_defaults_to_total_and_names_a_bad_value() {
    let c = Config::from_str(&minimal(), Path::new("/x/cfpd.toml")).unwrap();
    assert_eq!(c.review.objective, crate::model::Objective::Total);
    let fair = format!("{}\n[review]\nobjective = \"fair\"\n", minimal());
    let c = Config::from_str(&fair, Path::new("/x/cfpd.toml")).unwrap();
    assert_eq!(c.review.objective, crate::model::Objective::Fair);
    let bad = format!("{}\n[review]\nobjective = \"kind\"\n", minimal());
    let e = Config::from_str(&bad, Path::new("/x/cfpd.toml")).unwrap_err();
    assert!(e.to_string().contains("/x/cfpd.toml"), "{e}");
    assert!(e.to_string().contains("kind"), "{e}");
}
