//! `cfpd templates export DIR` and the templates line of `cfpd check`: the
//! chair's own wording of the mails (`[templates] dir`), checked with
//! sample data before a speaker ever sees it.

use std::path::Path;

use anyhow::{bail, Context};

use crate::config::Config;
use crate::intake::reject::{Rejection, ReplyCtx};
use crate::outbox::custom::{self, Sample, BUILTIN};
use crate::outbox::samples::{self, SampleConference};

/// `cfpd templates` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TemplatesCmd {
    /// Write every built-in mail template into DIR as a starting point for
    /// `[templates] dir` (keep the files you change, delete the others).
    Export {
        /// The folder to write (created if missing).
        dir: std::path::PathBuf,
        /// Overwrite files that exist already.
        #[arg(long)]
        force: bool,
    },
}

/// Run a `cfpd templates` subcommand.
pub fn run(cmd: TemplatesCmd) -> anyhow::Result<()> {
    match cmd {
        TemplatesCmd::Export { dir, force } => export(&dir, force),
    }
}

/// Write the built-in sources, refusing to overwrite any file without `force`.
fn export(dir: &Path, force: bool) -> anyhow::Result<()> {
    let exists: Vec<String> = BUILTIN
        .iter()
        .map(|(n, _)| dir.join(n))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !force && !exists.is_empty() {
        bail!(
            "{} exists already ({} of the files); nothing was written: use --force to overwrite",
            exists[0],
            exists.len()
        );
    }
    for (name, source) in BUILTIN {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, source).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "wrote {} templates to {}: set [templates] dir to it, change the mails you want \
         in your own words, delete the others, and run `cfpd check`",
        BUILTIN.len(),
        dir.display()
    );
    Ok(())
}

/// Every mail cfpd sends, with this conference's name, addresses and
/// scales and long realistic data.
fn all_samples(cfg: &Config) -> Vec<Sample> {
    let mut out = samples::all(&SampleConference {
        name: &cfg.conference.name,
        cfp_address: &cfg.conference.cfp_address,
        contact: &cfg.conference.contact,
        scale: cfg.form_spec(),
    });
    out.extend(Rejection::samples(&ReplyCtx::of(cfg)));
    out
}

/// `cfpd check`'s templates lines: the built-ins, or the overrides rendered
/// with sample data, each error at file:line (and a failed check), long
/// lines and unused files as warnings (an empty contact is `check_contact`'s
/// warning). Returns the number of failed checks (0 or 1).
pub fn check(cfg: &Config) -> usize {
    let set = &cfg.templates;
    let Some(dir) = &set.dir else {
        println!("templates ok   built-in ([templates] dir to write them in your own words)");
        return 0;
    };
    let findings = custom::check(set, &all_samples(cfg));
    let language = match &set.language {
        Some(l) => format!(", language {l}"),
        None => String::new(),
    };
    let failed = if findings.errors.is_empty() {
        println!(
            "templates ok   {} ({} of {} templates in your own words{language})",
            dir.display(),
            set.files.len(),
            BUILTIN.len()
        );
        0
    } else {
        println!(
            "templates FAIL {}: {} error(s) with sample data",
            dir.display(),
            findings.errors.len()
        );
        for e in &findings.errors {
            println!("          {e}");
        }
        1
    };
    for w in &findings.warnings {
        println!("WARNING   {w}");
    }
    failed
}
