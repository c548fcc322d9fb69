//! `cfpd proposals list|show|tag`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::store::AnyConnection;
use anyhow::{bail, Context};
use clap::Subcommand;

use super::{load_config, open_store, tagger_for};
use crate::proposal::TagOverrides;
use crate::proposal::{self, parse_reference};
use crate::report::safe::terminal;
use crate::store::proposals as pstore;
use crate::topics::TopicSet;

/// What to do with proposals.
#[derive(Debug, Subcommand)]
pub enum ProposalsCmd {
    /// One line per proposal (full titles when not printing to a terminal),
    /// or every field as CSV or JSON (`--output`).
    List {
        /// Only this proposal status (submitted, draft, late, withdrawn) or
        /// current decision (accepted, rejected, waitlisted).
        #[arg(long)]
        status: Option<String>,
        /// Only proposals filed under this topic id.
        #[arg(long)]
        topic: Option<String>,
        /// Only this talk format (e.g. talk-25).
        #[arg(long)]
        format: Option<String>,
        /// Only proposals whose texts, speaker name or address contain every word.
        #[arg(long)]
        search: Option<String>,
        /// `table` (default), `csv` (safe to open in a spreadsheet) or `json`.
        #[arg(long, default_value = "table")]
        output: ListOutput,
    },
    /// Everything about one proposal: every version with what changed,
    /// decisions, reviews, and the mail thread with the speaker.
    Show {
        /// Reference, e.g. P-0042.
        reference: String,
    },
    /// Change a proposal's fields as the program committee: a new version
    /// marked as yours; the speaker is told what changed unless --quiet.
    Edit(super::fix::EditArgs),
    /// Undo a withdrawal: the proposal returns to the status it had; the
    /// speaker is told unless --quiet.
    Restore {
        /// Reference, e.g. P-0042.
        reference: String,
        /// Do not tell the speaker.
        #[arg(long)]
        quiet: bool,
        /// Who makes the change.
        #[command(flatten)]
        by: super::fix::By,
    },
    /// Accept a late entry (a proposal that arrived after the deadline) into review.
    AcceptLate {
        /// Reference, e.g. P-0042.
        reference: String,
    },
    /// Set how many reviewers this proposal gets (`default` for the configured number).
    Reviewers {
        /// Reference, e.g. P-0042.
        reference: String,
        /// A number, or `default`.
        count: String,
    },
    /// Override topics: `cfpd proposals tag P-0042 +security -frontend`.
    /// Overrides survive later speaker updates.
    #[command(allow_hyphen_values = true)]
    Tag {
        /// Reference, e.g. P-0042.
        reference: String,
        /// `+topic` to add, `-topic` to remove, `=topic` to clear an override.
        #[arg(required = true)]
        changes: Vec<String>,
    },
}

/// How `proposals list` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListOutput {
    /// Aligned columns for reading.
    Table,
    /// One row per proposal, every field.
    Csv,
    /// An array of objects, every field.
    Json,
}

/// Run a proposals subcommand.
pub async fn run(config: &Path, cmd: ProposalsCmd) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ProposalsCmd::List {
            status,
            topic,
            format,
            search,
            output,
        } => {
            let filter = crate::report::listing::Filter {
                status,
                topic,
                format,
                search,
            };
            list(&mut c, &mut out, &filter, output, &cfg.proposals.custom).await
        }
        ProposalsCmd::Show { reference } => {
            show(&mut c, &mut out, &reference, &cfg.proposals.custom).await
        }
        ProposalsCmd::Edit(args) => super::fix::edit_proposal(config, args, &mut out).await,
        ProposalsCmd::Restore {
            reference,
            quiet,
            by,
        } => super::fix::restore(config, &reference, quiet, &by, &mut out).await,
        ProposalsCmd::AcceptLate { reference } => accept_late(&mut c, &mut out, &reference).await,
        ProposalsCmd::Reviewers { reference, count } => {
            let id = existing(&mut c, &reference).await?.id;
            let k = reviewer_count(&count)?;
            pstore::set_reviewers_needed(&mut c, id, k).await?;
            writeln!(
                out,
                "{} gets {} reviewer(s)",
                proposal::reference(id),
                k.map_or_else(
                    || format!("the configured {}", cfg.review.reviewers_per_proposal),
                    |k| k.to_string()
                )
            )?;
            Ok(())
        }
        ProposalsCmd::Tag { reference, changes } => {
            let p = existing(&mut c, &reference).await?;
            let tagger = tagger_for(&cfg)?;
            let ov = apply_tag_changes(&p.overrides, &changes, tagger.set())?;
            let topics = crate::intake::file_topics(&tagger, &p.fields, &ov);
            pstore::set_current_topics(&mut c, p.id, &topics, &ov).await?;
            writeln!(
                out,
                "{} filed under: {}",
                proposal::reference(p.id),
                topics
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            Ok(())
        }
    }
}

/// The proposal a reference on the command line names.
pub(super) async fn existing(
    c: &mut AnyConnection,
    reference: &str,
) -> anyhow::Result<pstore::ProposalRow> {
    let id = parse_reference(reference)
        .with_context(|| format!("{reference:?} is not a reference like P-0042"))?;
    match pstore::get(c, id).await? {
        Some(p) => Ok(p),
        None => bail!("no proposal {reference}"),
    }
}

/// `cfpd proposals list`: one line per proposal.
async fn list(
    c: &mut AnyConnection,
    out: &mut dyn Write,
    filter: &crate::report::listing::Filter,
    output: ListOutput,
    custom: &[proposal::CustomField],
) -> anyhow::Result<()> {
    use crate::report::listing;
    let rows = listing::list(
        &pstore::list(c).await?,
        &crate::store::review::assignments(c).await?,
        &crate::store::reviews::current_all(c).await?,
        &crate::store::decisions::current_all(c).await?,
        filter,
    );
    match output {
        ListOutput::Json => {
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)?;
        }
        ListOutput::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            crate::report::safe::csv_record(&mut w, listing::csv_header(custom))?;
            for r in &rows {
                crate::report::safe::csv_record(&mut w, r.cells(custom))?;
            }
            w.flush()?;
        }
        ListOutput::Table => {
            // Cut titles only for a person at a terminal; a pipe or file gets them whole.
            let width = std::io::stdout().is_terminal().then_some(40);
            writeln!(
                out,
                "{:<8} {:<10} {:<10} {:>3}  {:<28} {:<40} topics",
                "ref", "status", "decision", "ver", "speaker", "title"
            )?;
            for r in &rows {
                let title = terminal(r.title.as_deref().unwrap_or("(untitled)")).to_string();
                let title: String = match width {
                    Some(w) => title.chars().take(w).collect(),
                    None => title,
                };
                writeln!(
                    out,
                    "{:<8} {:<10} {:<10} {:>3}  {:<28} {:<40} {}",
                    r.reference,
                    r.status,
                    r.decision.as_deref().unwrap_or("-"),
                    r.version,
                    terminal(&r.speaker_email),
                    title,
                    r.topics.join(", ")
                )?;
            }
            writeln!(out, "{} proposal(s)", rows.len())?;
        }
    }
    Ok(())
}

/// `cfpd proposals show`: everything about one proposal, all versions with
/// what changed from the one before, its reviews, and the mail thread.
async fn show(
    c: &mut AnyConnection,
    out: &mut dyn Write,
    reference: &str,
    custom: &[proposal::CustomField],
) -> anyhow::Result<()> {
    let p = existing(c, reference).await?;
    writeln!(out, "{}  ({})", p.reference(), p.status.as_str())?;
    writeln!(
        out,
        "speaker: {}{}",
        p.speaker_name
            .as_deref()
            .map(|n| format!("{} ", terminal(n)))
            .unwrap_or_default(),
        format_args!("<{}>", terminal(&p.speaker_email))
    )?;
    for d in crate::store::decisions::history(c, p.id).await? {
        writeln!(
            out,
            "decision v{}: {} ({} by {}, {}){}",
            d.version,
            d.decision,
            d.source,
            terminal(&d.decided_by),
            crate::store::from_ms(d.decided_at).format("%Y-%m-%d %H:%M UTC"),
            match (d.current, d.notified_at, d.confirmation) {
                (false, ..) => " — replaced".to_string(),
                (true, None, _) => " — not told yet".to_string(),
                (true, Some(_), None) => " — told".to_string(),
                (true, Some(_), Some(c)) => format!(" — told; speaker {c}"),
            }
        )?;
    }
    if !p.overrides.add.is_empty() || !p.overrides.remove.is_empty() {
        writeln!(
            out,
            "topic overrides: +{} -{}",
            p.overrides.add.join(" +"),
            p.overrides.remove.join(" -")
        )?;
    }
    let versions = pstore::versions(c, p.id).await?;
    for (k, v) in versions.iter().enumerate() {
        writeln!(
            out,
            "\n--- version {} ({}{}) ---",
            v.version,
            crate::store::from_ms(v.created_at).format("%Y-%m-%d %H:%M UTC"),
            v.edited_by
                .as_deref()
                .map(|c| format!(", edited by the chair {}", terminal(c)))
                .unwrap_or_default()
        )?;
        if let Some(before) = k.checked_sub(1).map(|b| &versions[b]) {
            let changes = proposal::changes::between(&before.fields, &v.fields, custom);
            if changes.is_empty() {
                writeln!(out, "no field changed since version {}", before.version)?;
            } else {
                writeln!(out, "changed since version {}:", before.version)?;
                for l in changes.iter().flat_map(|c| c.lines()) {
                    writeln!(out, "  {}", terminal(&l))?;
                }
                writeln!(out)?;
            }
        }
        for crate::outbox::templates::RecordLine { label, value, .. } in
            crate::outbox::templates::record(&v.fields, custom)
        {
            if value.contains('\n') {
                writeln!(out, "{label}:")?;
                for l in value.lines() {
                    writeln!(out, "  {}", terminal(l))?;
                }
            } else {
                writeln!(out, "{label}: {}", terminal(&value))?;
            }
        }
        for t in &v.topics {
            writeln!(
                out,
                "filed under {} ({:.2}): {}",
                t.id,
                t.score,
                terminal(&crate::topics::explain(&t.evidence))
            )?;
        }
        for pr in &v.problems {
            writeln!(out, "problem: {}", terminal(&pr.to_string()))?;
        }
    }
    let changes = crate::store::fixes::of_proposal(c, p.id).await?;
    if !changes.is_empty() {
        writeln!(out, "\nchanges by the chairs:")?;
        for a in changes {
            writeln!(
                out,
                "  {} {} {}: {}{}",
                crate::store::from_ms(a.at).format("%Y-%m-%d %H:%M UTC"),
                terminal(&a.chair),
                a.action,
                terminal(&a.detail),
                a.override_reason
                    .map(|r| format!(" (override: {})", terminal(&r)))
                    .unwrap_or_default()
            )?;
        }
    }
    writeln!(out, "reviews:")?;
    let reviews = crate::report::reviews::render(
        &crate::store::review::assignments(c).await?,
        &crate::store::review::reviewers(c).await?,
        &crate::store::reviews::current_all(c).await?,
        &crate::report::reviews::Which {
            proposal: Some(p.id),
            reviewer: None,
        },
    );
    for line in reviews.lines() {
        writeln!(out, "  {line}")?;
    }
    let inbound = crate::store::thread::inbound(c, p.id).await?;
    let outbound =
        crate::store::thread::outbound(c, p.id, &p.reference(), &p.speaker_email).await?;
    writeln!(out, "mail thread:")?;
    let thread = crate::report::thread::render(&inbound, &outbound);
    if thread.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for line in thread {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// `cfpd proposals accept-late`: a late entry goes into review as it stands
/// (submitted when complete, draft when not).
async fn accept_late(
    c: &mut AnyConnection,
    out: &mut dyn Write,
    reference: &str,
) -> anyhow::Result<()> {
    let p = existing(c, reference).await?;
    if p.status != crate::model::ProposalStatus::Late {
        bail!("{reference} is {}, not a late entry", p.status.as_str());
    }
    let status = if p.problems.is_empty() {
        crate::model::ProposalStatus::Submitted
    } else {
        crate::model::ProposalStatus::Draft
    };
    pstore::set_status(c, p.id, status, crate::store::ms(chrono::Utc::now())).await?;
    writeln!(out, "{reference} accepted as {}", status.as_str())?;
    Ok(())
}

/// A reviewer count as typed: `default` (None) or a number from 1 to 99.
fn reviewer_count(count: &str) -> anyhow::Result<Option<i64>> {
    Ok(match count {
        "default" => None,
        n => Some(
            n.parse::<i64>()
                .ok()
                .filter(|k| *k > 0 && *k < 100)
                .with_context(|| format!("{n:?}: write a number from 1 to 99, or default"))?,
        ),
    })
}

/// The overrides after `+topic` (add), `-topic` (remove) and `=topic` (clear an
/// override) changes, each naming a topic of `set`.
fn apply_tag_changes(
    current: &TagOverrides,
    changes: &[String],
    set: &TopicSet,
) -> anyhow::Result<TagOverrides> {
    let mut ov = current.clone();
    for ch in changes {
        let (op, tid) = ch.split_at(ch.chars().next().map_or(0, char::len_utf8));
        if set.get(tid).is_none() {
            bail!(
                "unknown topic {tid:?}; topics are: {}",
                set.topics()
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        ov.add.retain(|x| x != tid);
        ov.remove.retain(|x| x != tid);
        match op {
            "+" => ov.add.push(tid.to_string()),
            "-" => ov.remove.push(tid.to_string()),
            "=" => {}
            _ => bail!("{ch:?}: write +topic, -topic or =topic"),
        }
    }
    Ok(ov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewer_counts_are_default_or_one_to_ninety_nine() {
        assert_eq!(reviewer_count("default").unwrap(), None);
        assert_eq!(reviewer_count("3").unwrap(), Some(3));
        for bad in ["0", "100", "-1", "three"] {
            let e = reviewer_count(bad).unwrap_err().to_string();
            assert!(e.contains("write a number from 1 to 99, or default"), "{e}");
        }
    }

    #[test]
    fn tag_changes_add_remove_and_clear_overrides_of_known_topics() {
        let set = TopicSet::default_set();
        let start = TagOverrides {
            add: vec!["no-gil".into()],
            remove: vec!["spa-challenges".into()],
        };
        let ov = apply_tag_changes(
            &start,
            &[
                "-no-gil".into(),
                "=spa-challenges".into(),
                "+django-new-features".into(),
            ],
            &set,
        )
        .unwrap();
        assert_eq!(ov.add, vec!["django-new-features".to_string()]);
        assert_eq!(ov.remove, vec!["no-gil".to_string()]);
        let e = apply_tag_changes(&start, &["+nonsense".into()], &set)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown topic \"nonsense\"; topics are: "),
            "{e}"
        );
        let e = apply_tag_changes(&start, &["*no-gil".into()], &set)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "\"*no-gil\": write +topic, -topic or =topic");
    }
}
