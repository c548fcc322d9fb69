//! `cfpd decide` (record the chairs' decisions, with history) and `cfpd
//! notify` (preview, then send, the decision mails).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{load_config, open_store};
use crate::decision::{self, csv, notify, Change, Refusal};
use crate::model::{Decision, DecisionSource};
use crate::outbox::Composer;
use crate::proposal::{self, parse_reference};
use crate::report::safe::terminal;
use crate::store::{self, decisions, proposals as pstore};

/// `cfpd decide`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// accept, reject or waitlist.
    #[arg(required_unless_present_any = ["file", "history", "request"], requires = "refs")]
    pub decision: Option<String>,
    /// The proposals, e.g. P-0001 P-0004.
    #[arg(requires = "decision")]
    pub refs: Vec<String>,
    /// A CSV file of `ref,decision[,note]` lines (a `ref,decision,note`
    /// header is allowed).
    #[arg(long, conflicts_with_all = ["decision", "refs", "history"])]
    pub file: Option<PathBuf>,
    /// Change decisions the speakers were already told (they get a mail
    /// explaining the change at the next `cfpd notify --send`).
    #[arg(long)]
    pub force: bool,
    /// A note kept with the decision in its history (never mailed).
    #[arg(long, conflicts_with = "file")]
    pub note: Option<String>,
    /// Print every decision with its history instead.
    #[arg(long, conflicts_with_all = ["decision", "refs"])]
    pub history: bool,
    /// Mail each chair an address to decide by mail through (two steps:
    /// cfpd answers with what it understood, a "yes" applies it).
    #[arg(long, conflicts_with_all = ["decision", "refs", "file", "history"])]
    pub request: bool,
}

/// One decision asked for: (reference as written, decision, note, where).
struct Request {
    reference: String,
    decision: Decision,
    note: Option<String>,
    /// `file:line: ` for a CSV line, empty on the command line.
    at: String,
}

/// Run `cfpd decide`.
pub async fn decide(config: &Path, args: DecideArgs) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut out = std::io::stdout().lock();
    if args.history {
        let mut c = store.pool.acquire().await?;
        return history(&mut c, &mut out).await;
    }
    if args.request {
        let n = request_mails(&cfg, &store).await?;
        writeln!(
            out,
            "queued a mail to decide by mail to {n} chair(s); `cfpd run` sends it"
        )?;
        return Ok(());
    }
    let requests = match &args.file {
        Some(f) => read_file(f)?,
        None => {
            let word = args.decision.as_deref().unwrap_or_default();
            let d = Decision::from_verb(word).with_context(|| {
                format!("{word:?} is not a decision: write accept, reject or waitlist")
            })?;
            args.refs
                .iter()
                .map(|r| Request {
                    reference: r.clone(),
                    decision: d,
                    note: args.note.clone(),
                    at: String::new(),
                })
                .collect()
        }
    };
    let now = crate::clock::from_env()
        .map_err(|e| anyhow::anyhow!(e))?
        .now();
    let by = decided_by();
    let mut tx = store.begin().await?;
    decisions::lock_for_writing(&mut tx).await?;
    let changes = check_all(&mut tx, &requests, args.force).await?;
    let mut recorded = 0;
    for (req, id, change) in &changes {
        let reference = proposal::reference(*id);
        let line = match change {
            Change::Same => {
                writeln!(out, "{reference} is already {}", req.decision)?;
                continue;
            }
            Change::New => format!("{reference} {}", req.decision),
            Change::Changed { from, told } => format!(
                "{reference} {} (was {from}{})",
                req.decision,
                if *told {
                    "; the speakers get a mail explaining the change"
                } else {
                    ""
                }
            ),
        };
        decisions::record(
            &mut tx,
            &decisions::NewDecision {
                proposal_id: *id,
                decision: req.decision,
                source: DecisionSource::Cli,
                decided_by: &by,
                note: req.note.as_deref(),
            },
            store::ms(now),
        )
        .await?;
        recorded += 1;
        writeln!(out, "{line}")?;
    }
    tx.commit().await.context("committing the decisions")?;
    writeln!(
        out,
        "{recorded} decision(s) recorded; nothing is mailed until `cfpd notify --send`"
    )?;
    Ok(())
}

/// Check every request before recording any: one refused request refuses
/// them all, each refusal printed with where it came from.
async fn check_all<'r>(
    c: &mut store::AnyConnection,
    requests: &'r [Request],
    force: bool,
) -> anyhow::Result<Vec<(&'r Request, i64, Change)>> {
    let mut refusals: Vec<String> = Vec::new();
    let mut ok = Vec::new();
    let mut seen = Vec::new();
    for req in requests {
        let refuse = |r: Refusal| format!("{}{r}", req.at);
        let Some(id) = parse_reference(&req.reference) else {
            refusals.push(refuse(Refusal::NotAReference(req.reference.clone())));
            continue;
        };
        seen.push((id, req.reference.clone(), req.decision));
        let p = pstore::get(c, id).await?;
        let current = decisions::history(c, id)
            .await?
            .into_iter()
            .find(|d| d.current);
        match decision::check(
            &req.reference,
            p.as_ref(),
            current.as_ref(),
            req.decision,
            force,
        ) {
            Ok(change) => ok.push((req, id, change)),
            Err(r) => refusals.push(refuse(r)),
        }
    }
    if let Err(r) = decision::dedup(&seen) {
        refusals.push(r.to_string());
    }
    if !refusals.is_empty() {
        bail!(
            "nothing was decided:\n  {}",
            refusals
                .iter()
                .map(|r| terminal(r).into_owned())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    // The same proposal named twice with the same decision is decided once.
    let mut done = std::collections::HashSet::new();
    ok.retain(|(_, id, _)| done.insert(*id));
    Ok(ok)
}

/// The requests of a decisions file, or every bad line with `file:line`.
fn read_file(path: &Path) -> anyhow::Result<Vec<Request>> {
    let src =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match csv::parse(&src) {
        Ok(lines) => Ok(lines
            .into_iter()
            .map(|l| Request {
                reference: l.reference,
                decision: l.decision,
                note: l.note,
                at: format!("{}:{}: ", path.display(), l.line),
            })
            .collect()),
        Err(errors) => bail!(
            "nothing was decided:\n  {}",
            errors
                .iter()
                .map(|e| format!("{}:{}: {}", path.display(), e.line, terminal(&e.message)))
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    }
}

/// `cfpd decide --request`: one mail per chair, its Reply-To a command
/// token bound to that chair, listing what is undecided and waitlisted.
async fn request_mails(cfg: &crate::config::Config, store: &store::Store) -> anyhow::Result<usize> {
    use crate::outbox::custom::Mail;
    if cfg.chairs.is_empty() {
        bail!(
            "{}: conference.chairs is empty: list the chairs' addresses to decide by mail",
            cfg.path.display()
        );
    }
    let composer = Composer::new(cfg)?;
    let now = crate::clock::from_env()
        .map_err(|e| anyhow::anyhow!(e))?
        .now();
    let now_ms = store::ms(now);
    let mut tx = store.begin().await?;
    decisions::lock_for_writing(&mut tx).await?;
    let ps = pstore::list(&mut tx).await?;
    let current = decisions::current_all(&mut tx).await?;
    let decision_of = |id: i64| {
        current
            .iter()
            .find(|d| d.proposal_id == id)
            .map(|d| d.decision)
    };
    let line = |p: &crate::model::ProposalRow| {
        format!(
            "{} \"{}\"",
            p.reference(),
            crate::outbox::one_line(p.fields.title.as_deref().unwrap_or("untitled"))
        )
    };
    let submitted = ps
        .iter()
        .filter(|p| p.status == crate::model::ProposalStatus::Submitted);
    let undecided: Vec<String> = submitted
        .clone()
        .filter(|p| decision_of(p.id).is_none())
        .map(line)
        .collect();
    let waitlisted: Vec<String> = submitted
        .filter(|p| decision_of(p.id) == Some(Decision::Waitlisted))
        .map(line)
        .collect();
    let mut mails = Vec::new();
    for chair in &cfg.chairs {
        let tok = crate::token::generate();
        let kind = crate::model::ChairTokenKind::Command;
        store::chair::insert_token(&mut tx, &tok.hash, kind, chair, None, now_ms).await?;
        let body = crate::outbox::templates::ChairRequestMail {
            conference: &cfg.conference.name,
            contact: &cfg.conference.contact,
            chair,
            undecided: &undecided,
            waitlisted: &waitlisted,
        }
        .text(&cfg.templates)?;
        mails.push(composer.compose(&crate::outbox::Draft {
            kind: crate::model::MailKind::ChairRequest,
            dedup_key: format!(
                "chair-request:{now_ms}:{}",
                crate::model::mailbox_key(chair)
            ),
            to: chair,
            to_name: None,
            subject: format!("[{}] Decide by mail", cfg.conference.name),
            body,
            in_reply_to: None,
            references: &[],
            reply_token: Some(&tok.secret),
            auto: crate::outbox::AutoSubmitted::AutoGenerated,
            cause_message: None,
        })?);
    }
    store::outbox::queue_many(&mut tx, &mails, now_ms).await?;
    tx.commit().await.context("committing the request mails")?;
    Ok(mails.len())
}

/// Who runs `cfpd decide`: the login name, for the history.
fn decided_by() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("{u} (command line)"))
        .unwrap_or_else(|_| "command line".into())
}

/// `cfpd decide --history`: every proposal's decisions, oldest first.
async fn history(c: &mut store::AnyConnection, out: &mut dyn Write) -> anyhow::Result<()> {
    let all = decisions::history_all(c).await?;
    for d in &all {
        writeln!(
            out,
            "{:<8} v{:<2} {:<10} {}  {} by {}{}{}{}",
            proposal::reference(d.proposal_id),
            d.version,
            d.decision.as_str(),
            store::from_ms(d.decided_at).format("%Y-%m-%d %H:%M UTC"),
            d.source,
            terminal(&d.decided_by),
            match d.notified_at {
                Some(t) => format!(", told {}", store::from_ms(t).format("%Y-%m-%d %H:%M UTC")),
                None if d.current => ", not told yet".to_string(),
                None => String::new(),
            },
            match (d.confirmation, d.confirmed_at) {
                (Some(c), Some(t)) => format!(
                    ", speaker {c} {}",
                    store::from_ms(t).format("%Y-%m-%d %H:%M UTC")
                ),
                _ => String::new(),
            },
            d.note
                .as_deref()
                .map(|n| format!("  note: {}", terminal(n)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "{} decision version(s)", all.len())?;
    Ok(())
}

/// Run `cfpd notify`: `--preview` (the default) prints every mail that
/// would go out and the text of one per decision; `--send` queues them.
pub async fn notify_cmd(config: &Path, send: bool) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut out = std::io::stdout().lock();
    if !send {
        let mut c = store.pool.acquire().await?;
        let prepared = notify::prepare(&mut c, &cfg).await?;
        return preview(&prepared, &mut out);
    }
    let composer = Composer::new(&cfg)?;
    let now = crate::clock::from_env()
        .map_err(|e| anyhow::anyhow!(e))?
        .now();
    let mut tx = store.begin().await?;
    decisions::lock_for_writing(&mut tx).await?;
    let prepared = notify::prepare(&mut tx, &cfg).await?;
    let sent = notify::send(&mut tx, &composer, &prepared, now).await?;
    tx.commit().await.context("committing the decision mails")?;
    for (to, why) in &sent.failed {
        writeln!(out, "NOT QUEUED to {}: {}", terminal(to), terminal(why))?;
    }
    writeln!(
        out,
        "{} decision mail(s) queued for {} decision(s); `cfpd run` sends them",
        sent.queued, sent.decisions
    )?;
    if !sent.failed.is_empty() {
        bail!(
            "{} decision mail(s) could not be built: write to those addresses yourself",
            sent.failed.len()
        );
    }
    Ok(())
}

fn preview(p: &notify::Prepared, out: &mut dyn Write) -> anyhow::Result<()> {
    if p.mails.is_empty() {
        writeln!(out, "no decision mail to send")?;
        return Ok(());
    }
    for o in &p.mails {
        writeln!(
            out,
            "{:<8} {:<10} {:<11} {}{}",
            o.reference,
            o.planned.decision.as_str(),
            match o.planned.role {
                decision::plan::Role::Speaker => "speaker",
                decision::plan::Role::CoSpeaker => "co-speaker",
            },
            terminal(&o.planned.to),
            o.planned
                .previous
                .map(|d| format!("  (replaces {d})"))
                .unwrap_or_default()
        )?;
    }
    writeln!(
        out,
        "{} decision mail(s) for {} decision(s)",
        p.mails.len(),
        p.plan.settled.len()
    )?;
    for d in Decision::ALL {
        if let Some(o) = p.mails.iter().find(|o| o.planned.decision == *d) {
            writeln!(
                out,
                "\n=== {} mail, as sent to {} ===",
                d,
                terminal(&o.planned.to)
            )?;
            writeln!(out, "Subject: {}\n", terminal(&o.subject))?;
            for l in o.body.lines() {
                writeln!(out, "{}", terminal(l))?;
            }
        }
    }
    Ok(())
}

/// `cfpd program`'s output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProgramFormat {
    /// The documented JSON (README, "The program").
    Json,
    /// One talk per row.
    Csv,
}

/// Run `cfpd program`: the confirmed talks (with `accepted`, every accepted
/// talk not declined), as JSON or CSV on stdout.
pub async fn program_cmd(
    config: &Path,
    format: ProgramFormat,
    accepted: bool,
    emails: bool,
) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let ps = pstore::list(&mut c).await?;
    let ds = decisions::current_all(&mut c).await?;
    let p = decision::program::program(&cfg.conference.name, &ps, &ds, accepted, emails);
    let mut out = std::io::stdout().lock();
    match format {
        ProgramFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &p)?;
            writeln!(out)?;
        }
        ProgramFormat::Csv => {
            let mut w = ::csv::Writer::from_writer(out);
            crate::report::safe::csv_record(&mut w, decision::program::CSV_HEADER)?;
            for row in decision::program::csv_rows(&p) {
                crate::report::safe::csv_record(&mut w, row)?;
            }
            w.flush()?;
        }
    }
    Ok(())
}
