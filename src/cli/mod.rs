//! The `cfpd` command line: what a chair types.

mod assign;
mod bids;
mod decide;
mod fix;
mod mail;
mod oauth2;
mod proposals;
mod reminders;
pub mod report;
pub mod report_html;
pub mod status;
mod templates;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::config::{AuthMethod, Config, MailboxConfig, OutgoingConfig};
use crate::daemon::App;
use crate::report::safe::terminal;
use crate::store::Store;

/// cfpd — a call for proposals run entirely by email.
#[derive(Debug, Parser)]
#[command(name = "cfpd", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(
        short,
        long,
        global = true,
        env = "CFPD_CONFIG",
        default_value = "cfpd.toml"
    )]
    pub config: PathBuf,
    /// Log as JSON lines (for log collectors): one object per line with
    /// timestamp, level, target and the event's fields.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented example config.
    Init {
        /// Where to write it (default: the --config path).
        path: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate the config and connect to the database, IMAP and SMTP.
    Check {
        /// Only validate the config file: open no database or connection and
        /// read no secret (for packaging and CI; says where each secret is looked for).
        #[arg(long)]
        config_only: bool,
    },
    /// Run the daemon (until SIGINT/SIGTERM).
    Run {
        /// Process everything pending, send the outbox, and exit.
        #[arg(long)]
        once: bool,
    },
    /// List, show and re-tag proposals.
    Proposals {
        /// What to do with proposals.
        #[command(subcommand)]
        action: proposals::ProposalsCmd,
    },
    /// The message log: every inbound message and its terminal state.
    Messages {
        /// `show ID`: one message, its headers and text.
        #[command(subcommand)]
        cmd: Option<MessagesCmd>,
        /// Release a message held in `needs_review` (dmarc=fail): the next
        /// `cfpd run` processes it as usual.
        #[arg(long)]
        release: Option<i64>,
    },
    /// The outbox: queued, sent, failed and uncertain mail.
    Outbox {
        /// Requeue an uncertain or failed mail by id.
        #[arg(long)]
        retry: Option<i64>,
        /// List only the mails that may not have arrived (uncertain), with
        /// their Message-ID, and what to do about them.
        #[arg(long)]
        uncertain: bool,
        /// An uncertain mail did not arrive (not in your Sent copy, the
        /// recipient has not got it): send it again, once.
        #[arg(long, conflicts_with_all = ["retry", "mark_sent"])]
        resend: Option<i64>,
        /// An uncertain mail did arrive: record it as sent; it is never sent again.
        #[arg(long, conflicts_with = "retry")]
        mark_sent: Option<i64>,
        /// Hold a queued mail (by id, or every queued mail of --kind): it is
        /// not sent until released or cancelled.
        #[arg(long, value_name = "ID", num_args = 0..=1,
              conflicts_with_all = ["retry", "resend", "mark_sent", "release", "cancel"])]
        hold: Option<Option<i64>>,
        /// Release mail a chair held (by id, or of --kind): it is sent once.
        #[arg(long, value_name = "ID", num_args = 0..=1,
              conflicts_with_all = ["retry", "resend", "mark_sent", "cancel"])]
        release: Option<Option<i64>>,
        /// Cancel a queued or held mail (by id, or of --kind): it is never
        /// sent. Mail already sending or sent cannot be cancelled.
        #[arg(long, value_name = "ID", num_args = 0..=1,
              conflicts_with_all = ["retry", "resend", "mark_sent"])]
        cancel: Option<Option<i64>>,
        /// With --hold, --release or --cancel and no id: every queued mail of
        /// this kind (e.g. assignment, reminder, decision).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Who makes the change (--hold, --release, --cancel).
        #[command(flatten)]
        by: fix::By,
    },
    /// Reviews as recorded: `cfpd reviews list [--proposal P-…] [--reviewer ADDR]`.
    Reviews {
        /// What to do.
        #[command(subcommand)]
        action: ReviewsCmd,
    },
    /// Import or list the reviewer roster.
    Reviewers {
        /// What to do with reviewers.
        #[command(subcommand)]
        action: ReviewersCmd,
    },
    /// Bidding by mail: `cfpd bids open` asks every reviewer which proposals of
    /// their topics they would review; `cfpd bids list` shows the answers.
    Bids {
        /// What to do.
        #[command(subcommand)]
        action: BidsCmd,
    },
    /// Assign reviewers to submitted proposals (optimal, conflict-free, balanced);
    /// or, with --instance, solve a benchmark instance without a database.
    Assign {
        /// `add P-… REVIEWER` or `remove P-… REVIEWER`: one pair by hand.
        #[command(subcommand)]
        cmd: Option<fix::AssignCmd>,
        /// Show the assignment without storing it (the default).
        #[arg(long, conflicts_with = "commit")]
        preview: bool,
        /// Store new assignments and queue one mail per assignment.
        #[arg(long)]
        commit: bool,
        /// Also write the assignment as CSV.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Instance JSON (schema of shared/bench/assignment); needs --out.
        #[arg(long, requires = "out")]
        instance: Option<PathBuf>,
        /// Affinity formula for --instance: jaccard or overlap.
        #[arg(long, default_value = "jaccard")]
        affinity: String,
        /// Where to write the --instance result.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rankings per primary topic (mean, median, spread, reviews, pending) and reviewer
    /// progress; with --html FILE, a self-contained web page with charts.
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: crate::report::ranking::Format,
        /// Write one self-contained HTML page with charts to this file instead.
        #[arg(long, value_name = "FILE", conflicts_with = "format")]
        html: Option<PathBuf>,
    },
    /// Reminder rules and their next occurrences; with --preview, every
    /// reminder mail in a time range, when and to whom, listing what.
    Reminders {
        /// List the mails instead of the rules.
        #[arg(long)]
        preview: bool,
        /// Start of the range: RFC 3339, or `YYYY-MM-DD[THH:MM]` in the conference zone (default: now).
        #[arg(long, requires = "preview")]
        from: Option<String>,
        /// End of the range, same forms (default: when the last rule's window closes).
        #[arg(long, requires = "preview")]
        until: Option<String>,
    },
    /// Summary of the whole installation (lease, last poll, messages, outbox,
    /// bounces, reviews); exit code 2 when something needs attention.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Decide proposals: `cfpd decide accept P-0001 P-0004`, `reject`,
    /// `waitlist`, or many at once with --file. Every decision is kept with
    /// its history; nothing is mailed until `cfpd notify --send`.
    Decide(decide::DecideArgs),
    /// The decision mails: --preview (the default) prints every mail that
    /// would go out and the text of one per decision; --send queues them,
    /// each exactly once.
    Notify {
        /// Show what would be sent (the default).
        #[arg(long, conflicts_with = "send")]
        preview: bool,
        /// Queue the decision mails (the outbox sends them, once).
        #[arg(long)]
        send: bool,
    },
    /// Mail a group in your own words: `--to speakers:accepted` (any status
    /// or decision), `speakers:P-0003,P-0007`, `reviewers:pending`,
    /// `reviewers:all` or `chairs`; `--template FILE` starts with a
    /// `Subject:` line and uses {{ placeholders }} (see the README). Each
    /// recipient gets a template's mail once, however often you --send.
    Mail {
        /// Who: speakers:STATUS|DECISION|P-…,P-…|all, reviewers:pending|all, chairs.
        #[arg(long)]
        to: String,
        /// The template file.
        #[arg(long)]
        template: PathBuf,
        /// Show the number of recipients and the first mail (the default).
        #[arg(long, conflicts_with = "send")]
        preview: bool,
        /// Queue one mail per recipient (the outbox sends them, once).
        #[arg(long)]
        send: bool,
    },
    /// The program for the website: confirmed talks (reference, title,
    /// abstract, format and duration, audience, topics, speakers with names
    /// and bios) as JSON (schema in the README) or CSV.
    Program {
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: decide::ProgramFormat,
        /// Also list accepted talks whose speaker has not confirmed yet.
        #[arg(long)]
        accepted: bool,
        /// Include the speakers' addresses (leave out of anything published).
        #[arg(long)]
        emails: bool,
    },
    /// OAuth2 for Gmail / Google Workspace and Microsoft 365: sign in once
    /// to get the refresh token cfpd logs in with.
    Oauth2 {
        /// What to do.
        #[command(subcommand)]
        action: oauth2::Oauth2Cmd,
    },
    /// The mail templates: `export DIR` writes the built-ins to start your own.
    Templates {
        /// What to do.
        #[command(subcommand)]
        action: templates::TemplatesCmd,
    },
    /// Tag proposals from a JSON-lines file (no database or config needed).
    Tag {
        /// Input: JSON lines with id, title, abstract[, description, topics_declared].
        #[arg(long)]
        input: PathBuf,
        /// A custom topic file (default: the built-in DjangoCon US 2024 set).
        #[arg(long)]
        topics: Option<PathBuf>,
    },
}

/// Review subcommands.
#[derive(Debug, Subcommand)]
pub enum ReviewsCmd {
    /// Every assignment with its score and both comments (or pending,
    /// declined, conflict).
    List {
        /// Only this proposal (P-0042).
        #[arg(long)]
        proposal: Option<String>,
        /// Only this reviewer's address.
        #[arg(long)]
        reviewer: Option<String>,
    },
}

async fn reviews_list(
    path: &Path,
    proposal: Option<String>,
    reviewer: Option<String>,
) -> anyhow::Result<()> {
    let proposal = match proposal {
        Some(r) => Some(
            crate::proposal::parse_reference(&r)
                .with_context(|| format!("{r:?} is not a reference like P-0042"))?,
        ),
        None => None,
    };
    let cfg = load_config(path)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let text = crate::report::reviews::render(
        &crate::store::review::assignments(&mut c).await?,
        &crate::store::review::reviewers(&mut c).await?,
        &crate::store::reviews::current_all(&mut c).await?,
        &crate::report::reviews::Which {
            proposal,
            reviewer: reviewer.as_deref(),
        },
    );
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Bidding subcommands.
#[derive(Debug, Subcommand)]
pub enum BidsCmd {
    /// Queue one bidding mail per reviewer (the proposals of their topics, blind);
    /// reviewers mailed before are skipped.
    Open,
    /// Every reviewer's bids, and who has not answered.
    List,
}

/// Roster subcommands.
#[derive(Debug, Subcommand)]
pub enum ReviewersCmd {
    /// Import or update reviewers from CSV: `email,name,topics,max_load[,min_load][,conflicts]`.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// List reviewers with their loads.
    List,
    /// Take a reviewer off the roster: their open assignments are released
    /// and given to the next-best reviewers (each gets the assignment mail);
    /// finished reviews are kept.
    Remove {
        /// The reviewer's address.
        address: String,
        /// Who makes the change.
        #[command(flatten)]
        by: fix::By,
    },
}

/// Run the command line; returns the process exit code.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match cli.command {
        Command::Init { path, force } => init(path.as_deref().unwrap_or(&cli.config), force),
        Command::Templates { action } => templates::run(action),
        Command::Check { config_only: true } => check_config_only(&cli.config),
        Command::Check { config_only: false } => check(&cli.config).await,
        Command::Run { once } => run(&cli.config, once).await,
        Command::Proposals { action } => proposals::run(&cli.config, action).await,
        Command::Messages {
            cmd: Some(MessagesCmd::Show { id }),
            ..
        } => show_message(&cli.config, id).await,
        Command::Messages { cmd: None, release } => messages(&cli.config, release).await,
        Command::Outbox {
            hold,
            release,
            cancel,
            kind,
            by,
            ..
        } if hold.is_some() || release.is_some() || cancel.is_some() => {
            let (action, id) = match (hold, release, cancel) {
                (Some(id), _, _) => (crate::fix::OutboxAction::Hold, id),
                (_, Some(id), _) => (crate::fix::OutboxAction::Release, id),
                (_, _, id) => (crate::fix::OutboxAction::Cancel, id.flatten()),
            };
            let target = match (id, kind) {
                (Some(id), None) => fix::Target::Id(id),
                (None, Some(k)) => {
                    fix::Target::Kind(crate::model::MailKind::parse(&k).map_err(|_| {
                        anyhow::anyhow!(
                            "--kind {k:?}: one of {}",
                            crate::model::MailKind::ALL
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?)
                }
                _ => bail!("give a mail id or --kind KIND (not both)"),
            };
            fix::outbox_change(&cli.config, action, target, &by, &mut std::io::stdout()).await
        }
        Command::Outbox { kind: Some(_), .. } => {
            bail!("--kind goes with --hold, --release or --cancel")
        }
        Command::Outbox {
            retry,
            uncertain,
            resend,
            mark_sent,
            ..
        } => {
            let act = match (retry, resend, mark_sent) {
                (Some(id), _, _) => Some(OutboxAct::Retry(id)),
                (_, Some(id), _) => Some(OutboxAct::Resend(id)),
                (_, _, Some(id)) => Some(OutboxAct::MarkSent(id)),
                _ => None,
            };
            outbox(&cli.config, act, uncertain).await
        }
        Command::Status { json } => status::run(&cli.config, json).await,
        Command::Decide(args) => decide::decide(&cli.config, args).await,
        Command::Notify { preview: _, send } => decide::notify_cmd(&cli.config, send).await,
        Command::Mail {
            to,
            template,
            preview: _,
            send,
        } => mail::run(&cli.config, &to, &template, send).await,
        Command::Program {
            format,
            accepted,
            emails,
        } => decide::program_cmd(&cli.config, format, accepted, emails).await,
        Command::Tag { input, topics } => tag(&input, topics.as_deref()),
        Command::Oauth2 { action } => oauth2::run(&cli.config, action).await,
        Command::Report { format, html } => match html {
            Some(path) => report_html::write(&cli.config, &path).await,
            None => report::report(&cli.config, format).await,
        },
        Command::Reminders {
            preview,
            from,
            until,
        } => reminders::run(&cli.config, preview, from.as_deref(), until.as_deref()).await,
        Command::Reviews {
            action: ReviewsCmd::List { proposal, reviewer },
        } => reviews_list(&cli.config, proposal, reviewer).await,
        Command::Reviewers { action } => match action {
            ReviewersCmd::Import { file } => assign::import(&cli.config, &file).await,
            ReviewersCmd::List => assign::list(&cli.config).await,
            ReviewersCmd::Remove { address, by } => {
                fix::remove_reviewer(&cli.config, &address, &by, &mut std::io::stdout()).await
            }
        },
        Command::Assign { cmd: Some(cmd), .. } => {
            fix::assign(&cli.config, cmd, &mut std::io::stdout()).await
        }
        Command::Bids { action } => match action {
            BidsCmd::Open => bids::open(&cli.config).await,
            BidsCmd::List => bids::list(&cli.config).await,
        },
        Command::Assign {
            cmd: None,
            preview: _,
            commit,
            csv,
            instance,
            affinity,
            out,
        } => match (instance, out) {
            (Some(i), Some(o)) => assign_instance(&i, &affinity, &o),
            _ => assign::assign(&cli.config, commit, csv.as_deref()).await,
        },
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
        // async-imap traces every command it writes, LOGIN passwords and
        // AUTHENTICATE tokens included: never below debug, whatever RUST_LOG says.
        .add_directive(
            "async_imap::imap_stream=debug"
                .parse()
                .expect("a valid directive"),
        );
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Through the progress layer, so a drawn bar is never overwritten.
        .with_writer(crate::progress::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

/// Load the config, with the error naming file and line.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

/// An error and its causes on one line, each cause once: a cause whose text
/// the message already carries (`"reading x: {source}"` with `#[source]`, or a
/// driver repeating its own message) is not printed again.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Create the folder of a SQLite database file when it is missing (0700:
/// the database holds every speaker's mail), so that a fresh install works;
/// the error names the folder when it cannot be created.
pub fn prepare_sqlite_folder(database_url: &str) -> anyhow::Result<()> {
    let Some(rest) = database_url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let file = rest.split_once('?').map_or(rest, |(f, _)| f);
    if file.is_empty() || file == ":memory:" {
        return Ok(());
    }
    let Some(dir) = Path::new(file).parent() else {
        return Ok(());
    };
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the database folder {}", dir.display()))?;
    tracing::info!(folder = %dir.display(), "created the database folder");
    Ok(())
}

/// Open the database the config names.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    prepare_sqlite_folder(&cfg.database_url)?;
    Store::connect(&cfg.database_url)
        .await
        .with_context(|| format!("database {}", redact_url(&cfg.database_url)))
}

/// A database URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn init(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    let today = chrono::Utc::now().date_naive();
    std::fs::write(path, crate::config::example_config(today))
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {}: edit it, then run `cfpd --config {} check`",
        path.display(),
        path.display()
    );
    Ok(())
}

/// `cfpd check --config-only`: the config file alone, and where each secret is looked for.
fn check_config_only(path: &Path) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    println!("config    ok   {}", path.display());
    check_deadlines(&cfg)?;
    check_contact(&cfg);
    check_topics(&cfg)?;
    let templates_failed = templates::check(&cfg);
    check_fields(&cfg);
    println!(
        "database  {} (not opened: --config-only)",
        redact_url(&cfg.database_url)
    );
    match &cfg.mailbox {
        MailboxConfig::Maildir { path } => println!("mailbox   Maildir {}", path.display()),
        MailboxConfig::Imap(i) => println!(
            "mailbox   IMAP {}@{}:{} ({:?}), password from {}",
            i.user, i.host, i.port, i.tls, i.password
        ),
    }
    match &cfg.outgoing {
        OutgoingConfig::Folder { path } => println!("outgoing  folder {}", path.display()),
        OutgoingConfig::Smtp(s) => println!(
            "outgoing  SMTP {}:{} ({:?}){}",
            s.host,
            s.port,
            s.tls,
            match &s.user {
                Some(u) => format!(", user {u}, password from {}", s.password),
                None => String::new(),
            }
        ),
    }
    if templates_failed > 0 {
        bail!("the mail templates have errors (above)");
    }
    Ok(())
}

async fn check(path: &Path) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    println!("config    ok   {}", path.display());
    check_deadlines(&cfg)?;
    check_contact(&cfg);
    check_topics(&cfg)?;
    let mut failed = templates::check(&cfg);
    check_fields(&cfg);
    match open_store(&cfg).await {
        Ok(s) => {
            println!(
                "database  ok   {} (migrations applied)",
                redact_url(&cfg.database_url)
            );
            // Which `cfpd run` is the active instance (several on PostgreSQL).
            let lease = match s.conn().await {
                Ok(mut c) => {
                    crate::store::lease::holder(&mut c, s.backend, crate::lease::DAEMON).await
                }
                Err(e) => Err(e),
            };
            match lease {
                Ok(Some((holder, left))) if left > 0 => println!(
                    "lease     held by {holder} (expires in {} s unless renewed)",
                    (left + 999) / 1000
                ),
                Ok(_) => println!("lease     free (no cfpd run is active)"),
                Err(e) => println!("lease     unknown: {e}"),
            }
            s.close().await;
        }
        Err(e) => {
            failed += 1;
            println!("database  FAIL {}", error_text(&e));
        }
    }
    // OAuth2 first: without an access token neither server can be tried.
    let (tokens, token_ok) = check_oauth2(&cfg, &mut failed).await;
    let no_token = "not tried: no OAuth2 access token (see the oauth2 line above)";
    match &cfg.mailbox {
        MailboxConfig::Imap(i) if i.auth == AuthMethod::OAuth2 && !token_ok => {
            failed += 1;
            println!("mailbox   FAIL {no_token}");
        }
        MailboxConfig::Maildir { path } => {
            let ok = path.join("new").is_dir() || !path.exists();
            if ok {
                println!("mailbox   ok   Maildir {}", path.display());
            } else {
                failed += 1;
                println!(
                    "mailbox   FAIL {} exists but has no new/ folder: is it a Maildir?",
                    path.display()
                );
            }
        }
        MailboxConfig::Imap(i) => match crate::oauth2::imap_login(i, tokens.as_ref()) {
            Err(e) => {
                failed += 1;
                println!("mailbox   FAIL {e}");
            }
            Ok(login) => match crate::source::imap::connect(i, &login).await {
                Ok(mut s) => {
                    let mut missing = Vec::new();
                    for f in [&i.inbox, &i.processed_folder, &i.rejected_folder] {
                        let r = tokio::time::timeout(i.timeout, s.examine(f)).await;
                        if !matches!(r, Ok(Ok(_))) {
                            missing.push(f.clone());
                        }
                    }
                    let _ = tokio::time::timeout(i.timeout, s.logout()).await;
                    if missing.contains(&i.inbox) {
                        failed += 1;
                        println!(
                            "mailbox   FAIL logged in to {}:{} but folder {:?} does not exist (mailbox.inbox)",
                            i.host, i.port, i.inbox
                        );
                    } else if missing.is_empty() {
                        println!(
                            "mailbox   ok   IMAP {}@{}:{} ({:?})",
                            i.user, i.host, i.port, i.tls
                        );
                    } else {
                        println!(
                            "mailbox   ok   IMAP {}@{}:{}; folders {} do not exist yet and will be created",
                            i.user,
                            i.host,
                            i.port,
                            missing.join(", ")
                        );
                    }
                }
                Err(e) => {
                    failed += 1;
                    println!("mailbox   FAIL {e}");
                }
            },
        },
    }
    match &cfg.outgoing {
        OutgoingConfig::Folder { path } => {
            println!("outgoing  ok   mail is written to {}", path.display())
        }
        OutgoingConfig::Smtp(s) if s.auth == AuthMethod::OAuth2 && !token_ok => {
            failed += 1;
            println!("outgoing  FAIL {no_token}");
        }
        OutgoingConfig::Smtp(s) => {
            match crate::outbox::sender::Transport::from_config(&cfg.outgoing, tokens.as_ref()) {
                Err(e) => {
                    failed += 1;
                    println!("outgoing  FAIL password: {e}");
                }
                Ok(crate::outbox::sender::Transport::Smtp { cfg: sc, login }) => {
                    match crate::outbox::sender::connect(&sc, login.as_ref()).await {
                        Ok(mut c) => {
                            let _ = tokio::time::timeout(s.timeout, c.quit()).await;
                            println!("outgoing  ok   SMTP {}:{} ({:?})", s.host, s.port, s.tls);
                        }
                        Err(e) => {
                            failed += 1;
                            println!("outgoing  FAIL {e}");
                        }
                    }
                }
                Ok(_) => {}
            }
        }
    }
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    Ok(())
}

/// `cfpd check`'s warning lines for deadlines already past (the clock honours
/// `CFPD_FAKE_NOW`): a CFP deadline in the past files every new proposal late.
fn check_deadlines(cfg: &Config) -> anyhow::Result<()> {
    let clock = crate::clock::from_env().map_err(|e| anyhow::anyhow!(e))?;
    for w in cfg.past_deadlines(clock.now()) {
        println!("WARNING   {w}");
    }
    Ok(())
}

/// `cfpd check`'s warning when nobody is `[conference] contact` (no
/// `contact` and no chairs): mail a person wrote that cfpd cannot act on
/// then gets cfpd's own answer and reaches no person.
fn check_contact(cfg: &Config) {
    if cfg.conference.contact.is_empty() {
        println!("WARNING   [conference] contact is empty (and there are no chairs):");
        println!("          questions and mail cfpd cannot act on reach no person;");
        println!("          set contact = \"you@example.org\" under [conference]");
    }
}

/// `cfpd check`'s line for the conference's own fields (none when there are
/// none) and a warning for each that blind reviewers see.
fn check_fields(cfg: &Config) {
    let custom = &cfg.proposals.custom;
    if custom.is_empty() {
        return;
    }
    println!(
        "fields    ok   {}",
        custom
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for w in crate::config::blind_warnings(custom, cfg.review.blind) {
        println!("WARNING   {w}");
    }
}

/// `cfpd check`'s topics line: the topic file must load (the error names the
/// file and line), or the built-in set is used.
fn check_topics(cfg: &Config) -> anyhow::Result<()> {
    let set = crate::daemon::load_topics(cfg)?;
    match &cfg.topics_file {
        Some(p) => println!(
            "topics    ok   {} ({} topics)",
            p.display(),
            set.topics().len()
        ),
        None => println!(
            "topics    ok   built-in set ({} topics; [topics] file to use your own)",
            set.topics().len()
        ),
    }
    Ok(())
}

/// `cfpd check`'s oauth2 line: trade the refresh token for an access token
/// (storing a rotated refresh token, as the daemon would). Returns the token
/// source and whether it produced a token (true when OAuth2 is not used).
async fn check_oauth2(
    cfg: &Config,
    failed: &mut usize,
) -> (Option<Arc<crate::oauth2::TokenSource>>, bool) {
    let tokens = match crate::oauth2::token_source(cfg) {
        Ok(Some(t)) => t,
        Ok(None) => return (None, true),
        Err(e) => {
            *failed += 1;
            println!("oauth2    FAIL {e}");
            return (None, false);
        }
    };
    match tokens.access_token().await {
        Ok(t) => {
            let left = t
                .renew_at
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            println!(
                "oauth2    ok   access token from {} (used for {} more min)",
                tokens.token_url(),
                left.as_secs() / 60
            );
            (Some(tokens), true)
        }
        Err(e) => {
            *failed += 1;
            println!("oauth2    FAIL {e}");
            (Some(tokens), false)
        }
    }
}

async fn run(path: &Path, once: bool) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    let clock = crate::clock::from_env().map_err(|e| anyhow::anyhow!(e))?;
    for w in cfg.past_deadlines(clock.now()) {
        tracing::warn!("{w}");
    }
    prepare_sqlite_folder(&cfg.database_url)?;
    let mut app = App::build(cfg, clock).await?;
    if once {
        let st = app.run_once().await?;
        let rate = |n: usize, d: std::time::Duration| n as f64 / d.as_secs_f64().max(1e-9);
        println!(
            "processed {} message(s) in {:.2}s ({:.0}/s)",
            st.processed,
            st.intake_time.as_secs_f64(),
            rate(st.processed, st.intake_time)
        );
        if st.reminders > 0 {
            println!("queued {} reminder mail(s)", st.reminders);
        }
        let sent = st.sent;
        println!(
            "sent {} mail(s) in {:.2}s ({:.0}/s){}{}",
            sent.sent,
            st.send_time.as_secs_f64(),
            rate(sent.sent, st.send_time),
            if sent.retried > 0 {
                format!(", {} to retry later", sent.retried)
            } else {
                String::new()
            },
            if sent.failed + sent.uncertain > 0 {
                format!(
                    ", {} failed or uncertain (see `cfpd outbox`)",
                    sent.failed + sent.uncertain
                )
            } else {
                String::new()
            }
        );
        app.store.close().await;
        return Ok(());
    }
    let (tx, _) = tokio::sync::broadcast::channel(1);
    let signal_tx = tx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received; finishing the current batch");
        let _ = signal_tx.send(());
    });
    app.run(tx).await
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `cfpd messages show ID`.
#[derive(Debug, clap::Subcommand)]
pub enum MessagesCmd {
    /// One message: its state, its header lines and its text, control
    /// characters made visible.
    Show {
        /// The message's id (first column of `cfpd messages`).
        id: i64,
    },
}

async fn show_message(path: &Path, id: i64) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let rows = crate::store::messages::list(&mut c).await?;
    let Some(m) = rows.into_iter().find(|r| r.id == id) else {
        bail!("there is no message {id} (see `cfpd messages`)");
    };
    let raw = crate::store::messages::raw(&mut c, id)
        .await?
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "message {id}  {}{}{}",
        m.state,
        m.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
        m.proposal_id
            .map(|p| format!("  {}", crate::proposal::reference(p)))
            .unwrap_or_default()
    )?;
    if let Some(d) = &m.detail {
        writeln!(out, "detail: {}", terminal(d))?;
    }
    writeln!(out)?;
    out.write_all(crate::report::message::show(&raw).as_bytes())?;
    Ok(())
}

async fn messages(path: &Path, release: Option<i64>) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    if let Some(id) = release {
        if crate::store::messages::release_held(&mut c, id).await? {
            println!(
                "message {id} released: the next `cfpd run` (or the running daemon) processes it"
            );
            return Ok(());
        }
        anyhow::bail!("message {id} is not held in needs_review (see `cfpd messages`)");
    }
    let rows = crate::store::messages::list(&mut c).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>6}  {:<15} {:<22} {:<8} {:<30} subject",
        "id", "state", "reason", "proposal", "from"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>6}  {:<15} {:<22} {:<8} {:<30} {}",
            r.id,
            r.state,
            r.reason.map_or("", crate::model::Reason::as_str),
            r.proposal_id
                .map(crate::proposal::reference)
                .unwrap_or_default(),
            terminal(r.from_addr.as_deref().unwrap_or_default()),
            terminal(r.subject.as_deref().unwrap_or_default())
        )?;
    }
    Ok(())
}

/// What `cfpd outbox` is asked to change.
#[derive(Debug, Clone, Copy)]
enum OutboxAct {
    /// Requeue an uncertain or failed mail.
    Retry(i64),
    /// Requeue an uncertain mail (it did not arrive).
    Resend(i64),
    /// Record an uncertain mail as sent (it arrived).
    MarkSent(i64),
}

async fn outbox(path: &Path, act: Option<OutboxAct>, uncertain: bool) -> anyhow::Result<()> {
    let cfg = load_config(path)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let now = crate::store::ms(chrono::Utc::now());
    match act {
        Some(OutboxAct::Retry(id)) => {
            if crate::store::outbox::requeue(&mut c, id, now).await? {
                println!("mail {id} queued again; it is sent by the running daemon or the next `cfpd run --once`");
                return Ok(());
            }
            bail!("mail {id} is not uncertain or failed (see `cfpd outbox`)");
        }
        Some(OutboxAct::Resend(id)) => {
            if crate::store::outbox::resend_uncertain(&mut c, id, now).await? {
                println!("mail {id} queued again; it is sent once by the running daemon or the next `cfpd run --once`");
                return Ok(());
            }
            bail!("mail {id} is not uncertain (see `cfpd outbox --uncertain`)");
        }
        Some(OutboxAct::MarkSent(id)) => {
            // The state and the erasure of its secrets commit together.
            let mut tx = sqlx::Connection::begin(&mut *c).await?;
            if crate::store::outbox::resolve_as_sent(&mut tx, id, now).await? {
                tx.commit().await?;
                println!("mail {id} recorded as sent; it will not be sent again");
                return Ok(());
            }
            bail!("mail {id} is not uncertain (see `cfpd outbox --uncertain`)");
        }
        None => {}
    }
    if uncertain {
        return print_uncertain(&mut c).await;
    }
    let rows = crate::store::outbox::list(&mut c).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>6}  {:<10} {:<10} {:>3}  {:<30} subject",
        "id", "state", "kind", "try", "to"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>6}  {:<10} {:<10} {:>3}  {:<30} {}{}",
            r.id,
            match r.hold {
                Some(h) => format!("held:{h}"),
                None => r.state.to_string(),
            },
            r.kind,
            r.attempts,
            terminal(&r.recipient),
            terminal(&r.subject),
            r.last_error
                .map(|e| format!("  [{}]", terminal(&e)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

async fn print_uncertain(c: &mut crate::store::AnyConnection) -> anyhow::Result<()> {
    let rows = crate::store::outbox::uncertain(c, i64::MAX).await?;
    let mut out = std::io::stdout().lock();
    if rows.is_empty() {
        writeln!(
            out,
            "no uncertain mail: every mail was either sent or is still queued"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} mail(s) may or may not have arrived: cfpd stopped, or the connection broke,\n\
         while the server was taking them. For each, search your Sent copy (or the\n\
         server's log) for its Message-ID, or ask the recipient; then run\n  \
         cfpd outbox --mark-sent ID   if it arrived (it is never sent again), or\n  \
         cfpd outbox --resend ID      if it did not (it is sent once more).\n",
        rows.len()
    )?;
    writeln!(
        out,
        "{:>6}  {:<40} {:<30} subject",
        "id", "message-id", "to"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>6}  {:<40} {:<30} {}",
            r.id,
            format!("<{}>", r.message_id),
            r.recipient,
            crate::outbox::one_line(&r.subject)
        )?;
    }
    Ok(())
}

fn assign_instance(instance: &Path, affinity: &str, out: &Path) -> anyhow::Result<()> {
    use crate::assign::problem::Affinity;
    let aff = match affinity {
        "jaccard" => Affinity::Jaccard,
        "overlap" => Affinity::Overlap,
        other => bail!("--affinity {other:?}: use jaccard or overlap"),
    };
    let json = std::fs::read_to_string(instance)
        .with_context(|| format!("reading {}", instance.display()))?;
    let res = crate::assign::instance::solve_instance(&json, aff)
        .with_context(|| instance.display().to_string())?;
    std::fs::write(out, serde_json::to_string(&res)?)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "{}: {} objective_int {:?}",
        instance.display(),
        res.status,
        res.objective_int
    );
    if res.status != "OPTIMAL" {
        bail!(
            "the instance is infeasible; see \"diagnosis\" in {}",
            out.display()
        );
    }
    Ok(())
}

fn tag(input: &Path, topics: Option<&Path>) -> anyhow::Result<()> {
    let set = match topics {
        Some(p) => crate::topics::TopicSet::load(p)?,
        None => crate::topics::TopicSet::default_set(),
    };
    let tagger = crate::topics::Tagger::new(set);
    let f = std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::topics::tag_jsonl(&tagger, std::io::BufReader::new(f), out)
        .with_context(|| input.display().to_string())?;
    Ok(())
}

/// Shared by subcommands that need the tagger from config.
pub fn tagger_for(cfg: &Config) -> anyhow::Result<Arc<crate::topics::Tagger>> {
    Ok(Arc::new(crate::topics::Tagger::new(
        crate::daemon::load_topics(cfg)?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading x.toml: {source}")]
    struct Repeats {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn error_text_shows_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(Repeats { source: io }).context("database sqlite:///x/y.db");
        assert_eq!(
            error_text(&e),
            "database sqlite:///x/y.db: reading x.toml: No such file or directory"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_text(&e), "outer: inner");
    }

    #[test]
    fn the_sqlite_folder_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a/b/cfpd.db");
        prepare_sqlite_folder(&format!("sqlite://{}?mode=rwc", db.display())).unwrap();
        let mode = std::fs::metadata(dir.path().join("a/b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        prepare_sqlite_folder("postgres://u@h/db").unwrap();
        prepare_sqlite_folder("sqlite://:memory:").unwrap();
    }
}
