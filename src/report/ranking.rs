//! The rankings per topic and reviewer progress of `cfpd report`, built from stored rows
//! and written as text, CSV or JSON (pure: no database, no clock).
//!
//! Which proposals: those `submitted` (late entries once accepted included; drafts,
//! withdrawn and pending late entries are not in review). Which scores: the *current*
//! version of the review of each *active* assignment; reviews of an assignment the
//! reviewer later declined (or declared a conflict with) do not count.
//!
//! Topics: each proposal is listed once, under its **primary topic** — the first topic of
//! its current version (the tagger's best, or the speaker's declared one; a chair's
//! override changes it) — so every ranking is a partition and counts add up. Proposals
//! without a topic are listed under "(no topic)". Topics appear in the order of the
//! conference's topic set. Within a topic the order is [`crate::review::rank`]'s: mean
//! score, then median (both highest first), then reference; unreviewed proposals last.
//! Spread is `max − min` of the scores.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use crate::model::ProposalStatus;
use crate::review::rank::{self, Entry};
use crate::store::proposals::ProposalRow;
use crate::store::review::{Assignment, AssignmentState, Reviewer};
use crate::store::reviews::StoredReview;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Writing to the output failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    /// Building a CSV table failed.
    #[error("writing the report as CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Serialising to JSON failed.
    #[error("writing the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Output format of `cfpd report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Text,
    /// The rankings as one CSV table (a spreadsheet opens one table a file).
    Csv,
    /// Reviewer progress as one CSV table.
    ReviewersCsv,
    /// One JSON document.
    Json,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Lowest and highest score of the configured scale.
    pub score_scale: [i64; 2],
    /// One ranking per primary topic that has proposals.
    pub topics: Vec<TopicRanking>,
    /// Every reviewer on the roster.
    pub reviewers: Vec<ReviewerProgress>,
}

/// The proposals whose primary topic is this one, best first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopicRanking {
    /// Topic id (`none` for proposals without a topic).
    pub id: String,
    /// Topic name.
    pub name: String,
    /// Ranked proposals.
    pub proposals: Vec<RankedProposal>,
}

/// One proposal's line in a ranking.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedProposal {
    /// 1 for the best of its topic.
    pub rank: usize,
    /// `P-0042`.
    pub reference: String,
    /// Its current title.
    pub title: String,
    /// Mean of the current scores (`None` before the first review).
    pub mean: Option<f64>,
    /// Median of the current scores.
    pub median: Option<f64>,
    /// `max − min` of the current scores.
    pub spread: Option<i64>,
    /// Reviews that count (current versions of active assignments).
    pub reviews: usize,
    /// Active assignments still without a review.
    pub pending: usize,
    /// The counted scores, in assignment order.
    pub scores: Vec<i64>,
}

/// How far one reviewer is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReviewerProgress {
    /// Address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Active assignments.
    pub assigned: usize,
    /// Active assignments with a review.
    pub done: usize,
    /// Active assignments without one.
    pub pending: usize,
    /// Assignments the reviewer declined.
    pub declined: usize,
    /// Assignments released for a declared conflict of interest.
    pub conflicts: usize,
}

/// A proposal's primary topic as (id, name): its first topic, or `("none", "(no topic)")`.
pub fn primary_topic(p: &ProposalRow) -> (String, String) {
    p.topics.first().map_or_else(
        || ("none".to_string(), "(no topic)".to_string()),
        |t| (t.id.clone(), t.name.clone()),
    )
}

/// Sort (id, name) topic keys as the report lists them: the topic set's order, then
/// topics the set no longer has (by id), then "no topic".
pub fn sort_topics(keys: &mut [(String, String)], topic_order: &[(String, String)]) {
    let position = |id: &str| {
        if id == "none" {
            return usize::MAX;
        }
        topic_order
            .iter()
            .position(|(t, _)| t == id)
            .unwrap_or(usize::MAX - 1)
    };
    keys.sort_by(|a, b| position(&a.0).cmp(&position(&b.0)).then(a.0.cmp(&b.0)));
}

/// Build the report from stored rows (pure: no database, no clock).
pub fn build(
    proposals: &[ProposalRow],
    reviewers: &[Reviewer],
    assignments: &[Assignment],
    current: &[StoredReview],
    topic_order: &[(String, String)],
    score_scale: [i64; 2],
) -> Report {
    let in_review: HashMap<i64, &ProposalRow> = proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Submitted)
        .map(|p| (p.id, p))
        .collect();
    let (entries, progress) = tally(&in_review, reviewers, assignments, current);
    let mut groups: HashMap<(String, String), Vec<Entry>> = HashMap::new();
    for (id, e) in entries {
        groups
            .entry(primary_topic(in_review[&id]))
            .or_default()
            .push(e);
    }
    let mut keys: Vec<(String, String)> = groups.keys().cloned().collect();
    sort_topics(&mut keys, topic_order);
    let topics = keys
        .into_iter()
        .map(|key| {
            let mut list = groups.remove(&key).unwrap_or_default();
            rank::rank(&mut list);
            ranking(key, list, &in_review)
        })
        .collect();
    let mut reviewers: Vec<ReviewerProgress> = progress.into_values().collect();
    reviewers.sort_by(|a, b| a.email.cmp(&b.email));
    Report {
        score_scale,
        topics,
        reviewers,
    }
}

/// The counted scores and pending reviews per proposal in review, and every
/// reviewer's progress. Work on proposals out of review (withdrawn, …) is neither
/// done nor pending; only active assignments count towards a ranking.
fn tally(
    in_review: &HashMap<i64, &ProposalRow>,
    reviewers: &[Reviewer],
    assignments: &[Assignment],
    current: &[StoredReview],
) -> (HashMap<i64, Entry>, HashMap<i64, ReviewerProgress>) {
    let score_of: HashMap<i64, i64> = current.iter().map(|r| (r.assignment_id, r.score)).collect();
    let mut entries: HashMap<i64, Entry> = in_review
        .keys()
        .map(|id| {
            (
                *id,
                Entry {
                    id: *id,
                    scores: Vec::new(),
                    pending: 0,
                },
            )
        })
        .collect();
    let mut progress: HashMap<i64, ReviewerProgress> = reviewers
        .iter()
        .map(|r| {
            (
                r.id,
                ReviewerProgress {
                    email: r.email.clone(),
                    name: r.name.clone(),
                    assigned: 0,
                    done: 0,
                    pending: 0,
                    declined: 0,
                    conflicts: 0,
                },
            )
        })
        .collect();
    for a in assignments {
        if !in_review.contains_key(&a.proposal_id) {
            continue;
        }
        let score = score_of.get(&a.id).copied();
        if let Some(rp) = progress.get_mut(&a.reviewer_id) {
            match a.state {
                AssignmentState::Active => {
                    rp.assigned += 1;
                    if score.is_some() {
                        rp.done += 1;
                    } else {
                        rp.pending += 1;
                    }
                }
                AssignmentState::Declined => rp.declined += 1,
                AssignmentState::Conflict => rp.conflicts += 1,
                // Taken off by a chair: not theirs to review any more.
                AssignmentState::Removed => {}
            }
        }
        if a.state != AssignmentState::Active {
            continue;
        }
        if let Some(e) = entries.get_mut(&a.proposal_id) {
            match score {
                Some(s) => e.scores.push(s),
                None => e.pending += 1,
            }
        }
    }
    (entries, progress)
}

/// One topic's table from its ranked entries.
fn ranking(
    key: (String, String),
    ranked: Vec<Entry>,
    in_review: &HashMap<i64, &ProposalRow>,
) -> TopicRanking {
    TopicRanking {
        proposals: ranked
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let st = e.stats();
                let p = in_review[&e.id];
                RankedProposal {
                    rank: i + 1,
                    reference: p.reference(),
                    title: p.fields.title.clone().unwrap_or_default(),
                    mean: st.map(|s| s.mean()),
                    median: st.map(|s| s.median()),
                    spread: st.map(|s| s.spread()),
                    reviews: e.scores.len(),
                    pending: e.pending,
                    scores: e.scores,
                }
            })
            .collect(),
        id: key.0,
        name: key.1,
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}

/// Write the report in one of the formats.
pub fn render(r: &Report, format: Format, out: &mut dyn Write) -> Result<(), RenderError> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)?;
        }
        Format::Csv => rankings_csv(r, out)?,
        Format::ReviewersCsv => reviewers_csv(r, out)?,
        Format::Text => render_text(r, out)?,
    }
    Ok(())
}

/// The rankings, one CSV table.
fn rankings_csv(r: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let mut w = csv::Writer::from_writer(out);
    super::safe::csv_record(
        &mut w,
        [
            "topic",
            "topic_name",
            "rank",
            "proposal",
            "title",
            "mean",
            "median",
            "spread",
            "reviews",
            "pending",
        ],
    )?;
    for t in &r.topics {
        for p in &t.proposals {
            super::safe::csv_record(
                &mut w,
                [
                    t.id.clone(),
                    t.name.clone(),
                    p.rank.to_string(),
                    p.reference.clone(),
                    p.title.clone(),
                    num(p.mean, 2),
                    num(p.median, 1),
                    p.spread.map(|s| s.to_string()).unwrap_or_default(),
                    p.reviews.to_string(),
                    p.pending.to_string(),
                ],
            )?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Reviewer progress, one CSV table.
fn reviewers_csv(r: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let mut w = csv::Writer::from_writer(out);
    super::safe::csv_record(
        &mut w,
        [
            "reviewer",
            "name",
            "assigned",
            "done",
            "pending",
            "declined",
            "conflicts",
        ],
    )?;
    for v in &r.reviewers {
        super::safe::csv_record(
            &mut w,
            [
                v.email.clone(),
                v.name.clone().unwrap_or_default(),
                v.assigned.to_string(),
                v.done.to_string(),
                v.pending.to_string(),
                v.declined.to_string(),
                v.conflicts.to_string(),
            ],
        )?;
    }
    w.flush()?;
    Ok(())
}

/// Aligned tables for a terminal.
fn render_text(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    use super::safe::terminal;
    {
        writeln!(
            out,
            "Rankings by primary topic (scores {}-{}; mean, then median, highest first)",
            r.score_scale[0], r.score_scale[1]
        )?;
        if r.topics.is_empty() {
            writeln!(out, "\n  (no submitted proposals)")?;
        }
        for t in &r.topics {
            writeln!(out, "\n{} ({})", terminal(&t.name), terminal(&t.id))?;
            writeln!(
                out,
                "  {:>4}  {:<8} {:>5} {:>6} {:>6} {:>7} {:>7}  title",
                "rank", "proposal", "mean", "median", "spread", "reviews", "pending"
            )?;
            for p in &t.proposals {
                writeln!(
                    out,
                    "  {:>4}  {:<8} {:>5} {:>6} {:>6} {:>7} {:>7}  {}",
                    p.rank,
                    p.reference,
                    num(p.mean, 2),
                    num(p.median, 1),
                    p.spread.map(|s| s.to_string()).unwrap_or_default(),
                    p.reviews,
                    p.pending,
                    terminal(&p.title)
                )?;
            }
        }
        writeln!(out, "\nReviewer progress")?;
        writeln!(
            out,
            "  {:<32} {:>8} {:>5} {:>7} {:>8} {:>9}",
            "reviewer", "assigned", "done", "pending", "declined", "conflicts"
        )?;
        for v in &r.reviewers {
            writeln!(
                out,
                "  {:<32} {:>8} {:>5} {:>7} {:>8} {:>9}",
                terminal(&v.email),
                v.assigned,
                v.done,
                v.pending,
                v.declined,
                v.conflicts
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{self as fx, reviewer};

    fn proposal(id: i64, topic: Option<&str>, status: ProposalStatus) -> ProposalRow {
        let p = fx::titled(fx::proposal(id, status), &format!("Talk {id}"));
        match topic {
            Some(t) => fx::filed(p, t, &t.to_uppercase()),
            None => p,
        }
    }

    #[test]
    fn groups_by_primary_topic_counts_only_current_active_reviews() {
        let ps = vec![
            proposal(1, Some("web"), ProposalStatus::Submitted),
            proposal(2, Some("web"), ProposalStatus::Submitted),
            proposal(3, Some("db"), ProposalStatus::Submitted),
            proposal(4, None, ProposalStatus::Submitted),
            proposal(5, Some("web"), ProposalStatus::Withdrawn),
        ];
        let rs = vec![reviewer(1), reviewer(2)];
        let a = fx::assignment;
        let assignments = vec![
            a(1, 1, 1, AssignmentState::Active),
            a(2, 1, 2, AssignmentState::Active),
            a(3, 2, 1, AssignmentState::Active),
            a(4, 2, 2, AssignmentState::Declined), // reviewed, then declined: not counted
            a(5, 3, 1, AssignmentState::Active),   // pending
            a(6, 3, 2, AssignmentState::Conflict),
            a(7, 5, 1, AssignmentState::Active), // withdrawn proposal
        ];
        let review = |aid, score| fx::review(aid, 2, score);
        let current = vec![
            review(1, 2),
            review(2, 4),
            review(3, 4),
            review(4, 1),
            review(7, 5),
        ];
        let order = vec![
            ("db".to_string(), "DB".to_string()),
            ("web".to_string(), "WEB".to_string()),
        ];
        let r = build(&ps, &rs, &assignments, &current, &order, [1, 5]);
        let ids: Vec<&str> = r.topics.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["db", "web", "none"],
            "topic-set order, no topic last"
        );
        let web = &r.topics[1].proposals;
        assert_eq!(
            web.iter().map(|p| p.reference.as_str()).collect::<Vec<_>>(),
            vec!["P-0002", "P-0001"]
        );
        assert_eq!(
            web[0].scores,
            vec![4],
            "declined reviewer's score is not counted"
        );
        assert_eq!(
            (web[1].mean, web[1].median, web[1].spread),
            (Some(3.0), Some(3.0), Some(2))
        );
        let db = &r.topics[0].proposals[0];
        assert_eq!((db.reviews, db.pending, db.mean), (0, 1, None));
        assert_eq!(r.topics[2].proposals[0].reference, "P-0004");
        assert_eq!(
            (
                r.reviewers[0].assigned,
                r.reviewers[0].done,
                r.reviewers[0].pending
            ),
            (3, 2, 1),
            "the withdrawn proposal's assignment is not counted"
        );
        assert_eq!(
            (
                r.reviewers[1].assigned,
                r.reviewers[1].declined,
                r.reviewers[1].conflicts
            ),
            (1, 1, 1)
        );
        let mut csv = Vec::new();
        render(&r, Format::Csv, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.contains("web,WEB,2,P-0001,Talk 1,3.00,3.0,2,2,0\n"),
            "{csv}"
        );
        assert!(!csv.contains("reviewer,name"), "one table: {csv}");
        let mut reviewers = Vec::new();
        render(&r, Format::ReviewersCsv, &mut reviewers).unwrap();
        let reviewers = String::from_utf8(reviewers).unwrap();
        assert!(
            reviewers.starts_with("reviewer,name,assigned"),
            "{reviewers}"
        );
        let mut json = Vec::new();
        render(&r, Format::Json, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["topics"][1]["proposals"][0]["reference"], "P-0002");
    }
}
