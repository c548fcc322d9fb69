//! `cfpd report [--format text|csv|reviewers-csv|json]`: reads the rows, has
//! [`crate::report::ranking`] build the rankings per topic and reviewer progress, and
//! prints them.

use std::path::Path;

use super::{load_config, open_store, tagger_for};
use crate::report::ranking::{build, render, Format, Report};
use crate::store::proposals::{self as pstore, ProposalRow};
use crate::store::review::{self as rstore, Assignment};
use crate::store::reviews;

/// What the report is built from, read in one go (shared with `cfpd report --html`).
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The rankings and reviewer progress.
    pub report: Report,
    /// Every proposal with its current version.
    pub proposals: Vec<ProposalRow>,
    /// Every assignment.
    pub assignments: Vec<Assignment>,
    /// The conference's topics (id, name), in the topic set's order.
    pub topic_order: Vec<(String, String)>,
}

/// Read the rows and build the report.
pub async fn gather(
    cfg: &crate::config::Config,
    tagger: &crate::topics::Tagger,
    c: &mut crate::store::AnyConnection,
) -> anyhow::Result<Gathered> {
    let proposals = pstore::list(c).await?;
    let reviewers = rstore::reviewers(c).await?;
    let assignments = rstore::assignments(c).await?;
    let current = reviews::current_all(c).await?;
    let topic_order: Vec<(String, String)> = tagger
        .set()
        .topics()
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let report = build(
        &proposals,
        &reviewers,
        &assignments,
        &current,
        &topic_order,
        [cfg.review.score_min, cfg.review.score_max],
    );
    Ok(Gathered {
        report,
        proposals,
        assignments,
        topic_order,
    })
}

/// `cfpd report`.
pub async fn report(config: &Path, format: Format) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let tagger = tagger_for(&cfg)?;
    let store = open_store(&cfg).await?;
    let mut c = store.conn().await?;
    let g = gather(&cfg, &tagger, &mut c).await?;
    let decided = crate::store::decisions::current_all(&mut c).await?;
    drop(c);
    let mut out = std::io::stdout().lock();
    render(&g.report, format, &mut out)?;
    if matches!(format, Format::Text) && !decided.is_empty() {
        let v = crate::decision::program::view(&g.proposals, &decided);
        std::io::Write::write_all(
            &mut out,
            crate::decision::program::render_view(&v).as_bytes(),
        )?;
    }
    Ok(())
}
