//! `cfpd report --html FILE`: reads the rows, has [`crate::report::page`] build the
//! page, and writes it.

use std::path::Path;

use anyhow::Context;
use askama::Template;

use super::report;
use super::{load_config, open_store};
use crate::report::page::{page, Inputs};

/// `cfpd report --html FILE`: read the database, write the page to `path` (atomically:
/// a temporary file next to it, then a rename, so a browser reloading it never sees half
/// a page).
pub async fn write(config: &Path, path: &Path) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let tagger = super::tagger_for(&cfg)?;
    let store = open_store(&cfg).await?;
    let clock = crate::clock::from_env().map_err(|e| anyhow::anyhow!(e))?;
    let mut c = store.conn().await?;
    let data = report::gather(&cfg, &tagger, &mut c).await?;
    let stamps = crate::store::proposals::version_stamps(&mut c).await?;
    let decisions = crate::store::decisions::current_all(&mut c).await?;
    drop(c);
    let p = page(&Inputs {
        cfg: &cfg,
        proposals: &data.proposals,
        stamps: &stamps,
        assignments: &data.assignments,
        report: &data.report,
        topic_order: &data.topic_order,
        decisions: &decisions,
        now: clock.now(),
    });
    let html = p.render().context("rendering the HTML report")?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, html.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    println!("wrote {} ({} bytes)", path.display(), html.len());
    Ok(())
}
