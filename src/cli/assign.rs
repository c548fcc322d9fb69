//! `cfpd reviewers import|list` and `cfpd assign --preview|--commit`.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use super::{load_config, open_store, tagger_for};
use crate::assign::commit::{self as assignment, NewPair};
use crate::assign::{fair, plan, solver};
use crate::model::ProposalStatus;
use crate::outbox::Composer;
use crate::progress::Progress;
use crate::report::safe::{csv_record, terminal};
use crate::store::{self, proposals as pstore, review as rstore};
use rstore::AssignmentState;

/// Parse a roster CSV: header `email,name,topics,max_load[,min_load][,conflicts]`;
/// topics and conflicts are separated by `;`. Errors name the line and column.
pub fn parse_roster(
    src: &str,
    file: &Path,
    known_topic: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Vec<rstore::Reviewer>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(src.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .with_context(|| format!("{}:1: cannot read the header line", file.display()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_email), Some(c_topics), Some(c_max)) =
        (col("email"), col("topics"), col("max_load"))
    else {
        bail!(
            "{}:1: the header must name at least email, topics and max_load (also: name, min_load, conflicts)",
            file.display()
        );
    };
    let (c_name, c_min, c_conf) = (col("name"), col("min_load"), col("conflicts"));
    let mut out: Vec<rstore::Reviewer> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{}: malformed CSV", file.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let at = |c: usize| {
            format!(
                "{}:{line}: column {} ({})",
                file.display(),
                c + 1,
                headers[c]
            )
        };
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        // Domain lower-cased and IDNA-encoded, local part as written: review replies
        // must come from exactly this address (see intake::inbound::same_address).
        let written = get(c_email);
        let Some(email) = crate::intake::inbound::normalize_address(&written)
            .filter(|e| crate::proposal::looks_like_address(e))
        else {
            bail!("{}: {written:?} is not a mail address", at(c_email));
        };
        let list = |c: Option<usize>| -> Vec<String> {
            c.map(|c| {
                get(c)
                    .split([';', '|'])
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        let topics = list(Some(c_topics));
        for t in &topics {
            if !known_topic(t) {
                bail!(
                    "{}: unknown topic {t:?} (see `cfpd proposals` topic ids)",
                    at(c_topics)
                );
            }
        }
        let num = |c: usize, default: Option<i64>| -> anyhow::Result<i64> {
            let v = get(c);
            if v.is_empty() {
                if let Some(d) = default {
                    return Ok(d);
                }
            }
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .with_context(|| format!("{}: expected a whole number, found {v:?}", at(c)))
        };
        let max_load = num(c_max, None)?;
        let min_load = match c_min {
            Some(c) => num(c, Some(0))?,
            None => 0,
        };
        if min_load > max_load {
            bail!(
                "{}: min_load {min_load} is above max_load {max_load}",
                at(c_min.unwrap_or(c_max))
            );
        }
        if out.iter().any(|r| r.email == email) {
            bail!("{}: {email} is listed twice", at(c_email));
        }
        out.push(rstore::Reviewer {
            id: 0,
            email,
            name: c_name.map(get).filter(|n| !n.is_empty()),
            topics,
            min_load,
            max_load,
            conflicts: list(c_conf),
        });
    }
    Ok(out)
}

/// `cfpd reviewers import FILE`.
pub async fn import(config: &Path, file: &Path) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let tagger = tagger_for(&cfg)?;
    let src =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let roster = parse_roster(&src, file, &|t| tagger.set().get(t).is_some())?;
    let store = open_store(&cfg).await?;
    let mut tx = store.begin().await?;
    let now = store::ms(chrono::Utc::now());
    let (mut new, mut updated) = (0, 0);
    let shown = Progress::start("import", "reviewers", Some(roster.len() as u64));
    for r in &roster {
        if rstore::upsert_reviewer(&mut tx, r, now).await? {
            new += 1;
        } else {
            updated += 1;
        }
        shown.inc(1);
    }
    shown.phase("committing");
    tx.commit().await?;
    shown.finish(&format!("{new} new, {updated} updated"));
    println!("{} reviewer(s): {new} new, {updated} updated", roster.len());
    Ok(())
}

/// `cfpd reviewers list`.
pub async fn list(config: &Path) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let rs = rstore::reviewers(&mut c).await?;
    let on_roster: std::collections::HashSet<i64> =
        rstore::roster(&mut c).await?.iter().map(|r| r.id).collect();
    let load = rstore::assignments(&mut c).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<32} {:<20} {:>5} {:>8}  topics",
        "email", "name", "load", "min-max"
    )?;
    for r in &rs {
        let n = load
            .iter()
            .filter(|a| a.reviewer_id == r.id && a.state == AssignmentState::Active)
            .count();
        writeln!(
            out,
            "{:<32} {:<20} {:>5} {:>8}  {}{}",
            terminal(&r.email),
            terminal(r.name.as_deref().unwrap_or_default()),
            n,
            format!("{}-{}", r.min_load, r.max_load),
            terminal(&r.topics.join(", ")),
            if on_roster.contains(&r.id) {
                ""
            } else {
                "  (removed: gets no new work)"
            }
        )?;
    }
    writeln!(out, "{} reviewer(s)", rs.len())?;
    Ok(())
}

/// `cfpd assign --preview|--commit`.
pub async fn assign(config: &Path, commit: bool, csv_out: Option<&Path>) -> anyhow::Result<()> {
    let cfg = load_config(config)?;
    let store = open_store(&cfg).await?;
    let mut c = store.pool.acquire().await?;
    let props: Vec<pstore::ProposalRow> = pstore::list(&mut c)
        .await?
        .into_iter()
        .filter(|p| p.status == ProposalStatus::Submitted)
        .collect();
    let revs = rstore::roster(&mut c).await?;
    let existing = rstore::assignments(&mut c).await?;
    let bids = store::bids::all(&mut c).await?;
    drop(c);
    if props.is_empty() {
        bail!("no submitted proposals to assign");
    }
    if revs.is_empty() {
        bail!("no reviewers: import a roster first (cfpd reviewers import FILE.csv)");
    }
    let k = cfg.review.reviewers_per_proposal;
    let plan = plan::full(&props, &revs, &existing, &bids, k);
    let problem = plan.problem;
    let blocked = plan.blocked;
    // Phases and pricing rounds: a spinner on a terminal, log lines otherwise.
    let shown = Progress::start("assign", "pricing rounds", None);
    let solved = fair::solve(&problem, cfg.review.objective, &shown);
    if let Ok(s) = &solved {
        shown.finish(&format!(
            "objective {} proved optimal, {} new pair(s)",
            s.objective,
            s.added.len()
        ));
    } else {
        shown.finish("no assignment");
    }
    let sol = match solved {
        Ok(s) => s,
        Err(solver::SolveError::Infeasible(why)) => {
            let mut msg = String::from("no valid assignment exists:\n");
            for w in why {
                msg.push_str(&format!("  - {w}\n"));
            }
            bail!("{msg}Add reviewers, raise max_load, or lower review.reviewers_per_proposal.");
        }
        Err(e) => bail!("assignment failed: {e}"),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} proposal(s) × {} reviewer(s), {} per proposal: objective {} ({}, proved optimal), {} new pair(s), {} kept",
        props.len(),
        revs.len(),
        cfg.review.reviewers_per_proposal,
        sol.objective,
        cfg.review.objective.as_str(),
        sol.added.len(),
        problem.fixed.len()
    )?;
    print_figures(&mut out, &sol, &props, &revs, &bids)?;
    writeln!(out, "\nloads:")?;
    for (ri, r) in revs.iter().enumerate() {
        writeln!(
            out,
            "  {:<32} {:>3} (max {})",
            terminal(&r.email),
            sol.loads[ri],
            r.max_load
        )?;
    }
    let per_p = print_histogram(&mut out, &sol.pairs, props.len())?;
    let mut worst: Vec<usize> = (0..props.len()).collect();
    worst.sort_by_key(|&p| (per_p[p], p));
    writeln!(out, "\nworst-served proposals:")?;
    for &p in worst.iter().take(5) {
        writeln!(
            out,
            "  {} total affinity {}",
            props[p].reference(),
            per_p[p]
        )?;
    }
    if !blocked.is_empty() {
        writeln!(out, "\nblocked pairs:")?;
        let mut b: Vec<_> = blocked.into_iter().collect();
        b.sort();
        for (reason, n) in b {
            writeln!(out, "  {n} × {reason}")?;
        }
    }
    if let Some(path) = csv_out {
        write_csv(path, &sol, &props, &revs)?;
        writeln!(out, "\nwrote {}", path.display())?;
    }
    if !commit {
        writeln!(out, "\npreview only: nothing stored (use --commit)")?;
        return Ok(());
    }
    let composer = Composer::new(&cfg)?;
    let clock = crate::clock::from_env().map_err(|e| anyhow::anyhow!(e))?;
    let pairs: Vec<NewPair<'_>> = sol
        .added
        .iter()
        .map(|&(p, r, affinity)| NewPair {
            proposal: &props[p],
            reviewer: &revs[r],
            affinity,
        })
        .collect();
    let mut tx = store.begin().await?;
    let stored = assignment::store_pairs(&mut tx, &cfg, &composer, &pairs, clock.now()).await?;
    if !stored.failed.is_empty() {
        let mut msg = String::from("nothing stored: assignment mails could not be built:\n");
        for (to, why) in &stored.failed {
            msg.push_str(&format!("  - {to}: {why}\n"));
        }
        bail!("{msg}Fix these addresses in the roster and import it again.");
    }
    let queued = stored.queued;
    tx.commit().await?;
    writeln!(
        out,
        "\ncommitted: {} new assignment(s), {queued} mail(s) queued (sent by `cfpd run`)",
        sol.added.len()
    )?;
    Ok(())
}

/// The affinity distribution of the pairs; returns each proposal's total affinity.
fn print_histogram(
    out: &mut impl Write,
    pairs: &[(usize, usize, i64)],
    n_proposals: usize,
) -> anyhow::Result<Vec<i64>> {
    // Bids move a pair below 0 (no) or above 1000 (yes, maybe): those buckets are shown
    // only when used, so a preview without bids reads as before.
    let mut hist = [0usize; 7];
    let mut per_p = vec![0i64; n_proposals];
    for (p, _, a) in pairs {
        per_p[*p] += a;
        let b = match *a {
            i64::MIN..=-1 => 0,
            0 => 1,
            1..=250 => 2,
            251..=500 => 3,
            501..=750 => 4,
            751..=1000 => 5,
            _ => 6,
        };
        hist[b] += 1;
    }
    let mut line = String::from("\naffinity (Jaccard of topics ×1000, plus bids): ");
    if hist[0] > 0 {
        line.push_str(&format!("below 0: {}, ", hist[0]));
    }
    line.push_str(&format!(
        "0: {}, 1-250: {}, 251-500: {}, 501-750: {}, 751-1000: {}",
        hist[1], hist[2], hist[3], hist[4], hist[5]
    ));
    if hist[6] > 0 {
        line.push_str(&format!(", above 1000: {}", hist[6]));
    }
    writeln!(out, "{line}")?;
    Ok(per_p)
}

/// Both objectives' figures, whichever chose the assignment, and the bids behind it.
fn print_figures(
    out: &mut impl Write,
    sol: &solver::Solution,
    props: &[pstore::ProposalRow],
    revs: &[rstore::Reviewer],
    bids: &[crate::model::Bid],
) -> anyhow::Result<()> {
    let f = fair::figures(&sol.pairs, props.len());
    if let Some((p, a)) = f.worst {
        writeln!(
            out,
            "worst-served proposal: {} (weakest reviewer's affinity {a}); total affinity {}",
            props[p].reference(),
            f.total
        )?;
    }
    let c = plan::bid_counts(&sol.pairs, props, revs, bids);
    writeln!(
        out,
        "bids behind the pairs: {} yes, {} maybe, {} no, {} without a bid",
        c.yes, c.maybe, c.no, c.none
    )?;
    Ok(())
}

/// `cfpd assign --csv`: one row per pair, through the one CSV record writer.
fn write_csv(
    path: &Path,
    sol: &solver::Solution,
    props: &[pstore::ProposalRow],
    revs: &[rstore::Reviewer],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| path.display().to_string())?;
    csv_record(&mut w, ["proposal", "title", "reviewer", "affinity", "new"])?;
    let added: std::collections::HashSet<(usize, usize)> =
        sol.added.iter().map(|(p, r, _)| (*p, *r)).collect();
    for (p, r, a) in &sol.pairs {
        csv_record(
            &mut w,
            [
                props[*p].reference(),
                props[*p].fields.title.clone().unwrap_or_default(),
                revs[*r].email.clone(),
                a.to_string(),
                added.contains(&(*p, *r)).to_string(),
            ],
        )?;
    }
    w.flush()?;
    Ok(())
}

/// The solver's progress on the command line: phases and pricing rounds
/// drawn by [`Progress`]. Implemented here, where both meet, so that neither
/// the solver nor the progress module depends on the other.
impl solver::SolveObserver for Progress {
    fn phase(&self, phase: solver::SolvePhase) {
        Progress::phase(self, &phase.to_string());
    }

    fn round(&self, round: u32, added_arcs: usize, pivots: u64) {
        self.pricing_round(round, added_arcs, pivots);
    }
}
