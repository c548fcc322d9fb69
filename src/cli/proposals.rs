//! `cfpd proposals list|show|tag`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{load_config, open_store, tagger_for};
use crate::proposal::{self, parse_reference};
use crate::store::proposals as pstore;

/// What to do with proposals.
#[derive(Debug, Subcommand)]
pub enum ProposalsCmd {
    /// One line per proposal.
    List,
    /// Everything about one proposal, all versions.
    Show {
        /// Reference, e.g. P-0042.
        reference: String,
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

/// Run a proposals subcommand.
pub async fn run(config: &Path, cmd: ProposalsCmd) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ProposalsCmd::List => {
            let rows = pstore::list(&mut c).await?;
            writeln!(
                out,
                "{:<8} {:<10} {:>3}  {:<28} {:<40} topics",
                "ref", "status", "ver", "speaker", "title"
            )?;
            for p in &rows {
                let title: String = p
                    .fields
                    .title
                    .clone()
                    .unwrap_or_else(|| "(untitled)".into())
                    .chars()
                    .take(40)
                    .collect();
                writeln!(
                    out,
                    "{:<8} {:<10} {:>3}  {:<28} {:<40} {}",
                    p.reference(),
                    p.status.as_str(),
                    p.version,
                    p.speaker_email,
                    title,
                    p.topics
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            writeln!(out, "{} proposal(s)", rows.len())?;
        }
        ProposalsCmd::Show { reference } => {
            let id = parse_reference(&reference)
                .with_context(|| format!("{reference:?} is not a reference like P-0042"))?;
            let Some(p) = pstore::get(&mut c, id).await? else {
                bail!("no proposal {reference}");
            };
            writeln!(out, "{}  ({})", p.reference(), p.status.as_str())?;
            writeln!(
                out,
                "speaker: {}{}",
                p.speaker_name
                    .as_deref()
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                format_args!("<{}>", p.speaker_email)
            )?;
            if !p.overrides.add.is_empty() || !p.overrides.remove.is_empty() {
                writeln!(
                    out,
                    "topic overrides: +{} -{}",
                    p.overrides.add.join(" +"),
                    p.overrides.remove.join(" -")
                )?;
            }
            for v in pstore::versions(&mut c, id).await? {
                writeln!(
                    out,
                    "\n--- version {} ({}) ---",
                    v.version,
                    crate::store::from_ms(v.created_at).format("%Y-%m-%d %H:%M UTC")
                )?;
                for (label, value) in crate::outbox::templates::record(&v.fields) {
                    if value.contains('\n') {
                        writeln!(out, "{label}:")?;
                        for l in value.lines() {
                            writeln!(out, "  {l}")?;
                        }
                    } else {
                        writeln!(out, "{label}: {value}")?;
                    }
                }
                for t in &v.topics {
                    writeln!(
                        out,
                        "filed under {} ({:.2}): {}",
                        t.id,
                        t.score,
                        t.evidence.join(", ")
                    )?;
                }
                for pr in &v.problems {
                    writeln!(out, "problem: {pr}")?;
                }
            }
        }
        ProposalsCmd::AcceptLate { reference } => {
            let id = parse_reference(&reference)
                .with_context(|| format!("{reference:?} is not a reference like P-0042"))?;
            let Some(p) = pstore::get(&mut c, id).await? else {
                bail!("no proposal {reference}");
            };
            if p.status != proposal::ProposalStatus::Late {
                bail!("{reference} is {}, not a late entry", p.status.as_str());
            }
            let status = if p.problems.is_empty() {
                proposal::ProposalStatus::Submitted
            } else {
                proposal::ProposalStatus::Draft
            };
            pstore::set_status(&mut c, id, status, crate::store::ms(chrono::Utc::now())).await?;
            writeln!(out, "{reference} accepted as {}", status.as_str())?;
        }
        ProposalsCmd::Reviewers { reference, count } => {
            let id = parse_reference(&reference)
                .with_context(|| format!("{reference:?} is not a reference like P-0042"))?;
            if pstore::get(&mut c, id).await?.is_none() {
                bail!("no proposal {reference}");
            }
            let k = match count.as_str() {
                "default" => None,
                n => Some(
                    n.parse::<i64>()
                        .ok()
                        .filter(|k| *k > 0 && *k < 100)
                        .with_context(|| {
                            format!("{n:?}: write a number from 1 to 99, or default")
                        })?,
                ),
            };
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
        }
        ProposalsCmd::Tag { reference, changes } => {
            let id = parse_reference(&reference)
                .with_context(|| format!("{reference:?} is not a reference like P-0042"))?;
            let Some(p) = pstore::get(&mut c, id).await? else {
                bail!("no proposal {reference}");
            };
            let tagger = tagger_for(&cfg)?;
            let mut ov = p.overrides.clone();
            for ch in &changes {
                let (op, tid) = ch.split_at(ch.chars().next().map_or(0, char::len_utf8));
                if tagger.set().get(tid).is_none() {
                    bail!(
                        "unknown topic {tid:?}; topics are: {}",
                        tagger
                            .set()
                            .topics()
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
            let topics = crate::intake::file_topics(&tagger, &p.fields, &ov);
            pstore::set_current_topics(&mut c, id, &topics, &ov).await?;
            writeln!(
                out,
                "{} filed under: {}",
                proposal::reference(id),
                topics
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    Ok(())
}
