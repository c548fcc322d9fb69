//! The web page of `cfpd report --html`: sections for the summary, proposals over
//! time (status per day), proposals per topic (by status), score distributions per
//! topic, reviewer progress, and the rankings of [`super::ranking`] (same proposals,
//! scores and order). Charts are inline SVG drawn by [`super::charts`]; the page has
//! inline CSS only and loads nothing, so it opens offline, from a mail attachment or a
//! USB stick, and prints as shown.
//!
//! The same rows give the same bytes, except the one line that says when the page was
//! generated (passed in as `now`). Everything a speaker or the roster wrote (titles,
//! names) is escaped: by askama in the template, by [`super::svg::esc`] in the charts.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use chrono::{DateTime, Utc};

use super::ranking::{primary_topic, sort_topics, Report, ReviewerProgress, TopicRanking};
use super::timeline::{self, local_date};
use super::{charts, ReviewerBar, StatusCounts, TopicScores, TopicStatus, STATUSES};
use crate::config::Config;
use crate::model::ProposalStatus;
use crate::review::rank::ScoreStats;
use crate::store::proposals::{ProposalRow, VersionStamp};
use crate::store::review::{Assignment, AssignmentState};

/// A ranking row as the page shows it (numbers already formatted).
#[derive(Debug, Clone, PartialEq)]
pub struct RankRow {
    /// 1 for the best of its topic (the same numbers as the text report).
    pub rank: usize,
    /// `P-0042`.
    pub reference: String,
    /// Current title, escaped by the template.
    pub title: String,
    /// Mean, two decimals, empty before the first review.
    pub mean: String,
    /// Median, one decimal.
    pub median: String,
    /// `max − min`.
    pub spread: String,
    /// Reviews that count.
    pub reviews: usize,
    /// Active assignments without a review.
    pub pending: usize,
    /// The counted scores, comma-separated.
    pub scores: String,
    /// Same mean and median as the row above: only the reference orders them, and a
    /// chair should see that the order between them means nothing.
    pub tie: bool,
}

/// One topic's ranking table.
#[derive(Debug, Clone, PartialEq)]
pub struct RankTable {
    /// Topic id (an anchor for links into the page).
    pub id: String,
    /// Topic name.
    pub name: String,
    /// Its proposals, best first.
    pub rows: Vec<RankRow>,
}

/// A data table row: (day or topic, counts in [`STATUSES`] order, total).
pub type CountRow = (String, Vec<usize>, usize);

/// A score table row: (topic, number of scores, "score: count" list, mean).
pub type ScoreRow = (String, usize, String, String);

/// The page (`templates/report.html`).
#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    /// Conference name (page title and heading).
    pub conference: String,
    /// When the page was generated, conference zone and UTC: the only line that differs
    /// between two pages from the same database.
    pub generated_at: String,
    /// The CFP deadline, conference zone and UTC.
    pub cfp_deadline: String,
    /// The review deadline, if set.
    pub review_deadline: Option<String>,
    /// The conference zone's name, for the time axis.
    pub zone: String,
    /// Score scale as text (`1–5`).
    pub scale: String,
    /// Headline numbers: (label, value).
    pub summary: Vec<(String, String)>,
    /// Status names in chart order (table headers).
    pub statuses: Vec<&'static str>,
    /// Proposals over time, or `None` without proposals.
    pub timeline: Option<String>,
    /// (day, counts in `statuses` order, total) for the data table.
    pub days: Vec<CountRow>,
    /// Proposals per topic, or `None` without proposals.
    pub topics: Option<String>,
    /// (topic, counts in `statuses` order, total).
    pub topic_rows: Vec<CountRow>,
    /// Score distributions, or `None` when there is nothing to plot.
    pub scores: Option<String>,
    /// Why there is no score chart.
    pub scores_empty: String,
    /// (topic, number of scores, "score: count" list, mean).
    pub score_rows: Vec<ScoreRow>,
    /// Reviewer progress, or `None` without a roster.
    pub reviewers: Option<String>,
    /// The same numbers as a table.
    pub reviewer_rows: Vec<ReviewerProgress>,
    /// Every proposal in review across topics, best first.
    pub overall: Vec<super::overall::OverallRow>,
    /// Whether the overall ranking has a speaker column (not under blind review).
    pub show_speakers: bool,
    /// A small CFP (at most [`super::overall::COMPACT_MAX`] proposals in
    /// review): denser layout, per-topic rankings folded away.
    pub compact: bool,
    /// Rankings per primary topic.
    pub rankings: Vec<RankTable>,
    /// The decision view, once anything is decided.
    pub decisions: Option<DecisionSection>,
}

/// Everything the page is drawn from (rows already read; no database, no clock).
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The validated config (conference, deadlines, zone, score scale).
    pub cfg: &'a Config,
    /// Every proposal with its current version.
    pub proposals: &'a [ProposalRow],
    /// Every version's time and completeness.
    pub stamps: &'a [VersionStamp],
    /// Every assignment (for the summary's counts).
    pub assignments: &'a [Assignment],
    /// The rankings and reviewer progress, as `cfpd report` builds them.
    pub report: &'a Report,
    /// The conference's topics (id, name) in their configured order.
    pub topic_order: &'a [(String, String)],
    /// Every current decision (the decision view; empty: no such section).
    pub decisions: &'a [crate::model::DecisionRow],
    /// When the page is generated.
    pub now: DateTime<Utc>,
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}

/// A status count in `STATUSES` order, for the data tables.
fn counts_vec(c: &StatusCounts) -> Vec<usize> {
    STATUSES.iter().map(|s| c.get(*s)).collect()
}

/// Build the page (pure).
pub fn page(i: &Inputs<'_>) -> Page {
    let conf = &i.cfg.conference;
    let zone = conf.zone;
    let r = i.report;
    let (timeline, days) = status_over_time(i);
    let (all, topic_status) = status_per_topic(i.proposals, i.topic_order);
    let topics = (!topic_status.is_empty()).then(|| charts::by_topic(&topic_status));
    let topic_rows = topic_status
        .iter()
        .map(|t| (t.name.clone(), counts_vec(&t.counts), t.counts.total()))
        .collect();
    let (scores, score_rows) = score_distributions(r);
    let scores_empty = if r.topics.is_empty() {
        "No submitted proposals yet."
    } else {
        "No reviews yet: scores appear here as reviewers reply."
    }
    .to_string();
    Page {
        conference: conf.name.clone(),
        generated_at: conf.zone.format_with_utc(i.now),
        cfp_deadline: conf.zone.format_with_utc(conf.cfp_deadline),
        review_deadline: conf.review_deadline.map(|d| conf.zone.format_with_utc(d)),
        zone: zone.to_string(),
        scale: format!("{}–{}", r.score_scale[0], r.score_scale[1]),
        summary: summary(&all, r, i.assignments),
        statuses: STATUSES.iter().map(|s| s.as_str()).collect(),
        timeline,
        days,
        topics,
        topic_rows,
        scores,
        scores_empty,
        score_rows,
        reviewers: reviewer_chart(r),
        reviewer_rows: r.reviewers.clone(),
        overall: super::overall::rows(
            r,
            i.proposals,
            i.decisions,
            i.cfg.review.reviewers_per_proposal as usize,
            i.cfg.review.blind,
        ),
        show_speakers: !i.cfg.review.blind,
        compact: r.topics.iter().map(|t| t.proposals.len()).sum::<usize>()
            <= super::overall::COMPACT_MAX,
        rankings: r.topics.iter().map(rank_table).collect(),
        decisions: decision_section(i),
    }
}

/// One row of a decision table: (name, [accepted, waitlisted, rejected, undecided]).
pub type DecisionCounts = (String, [usize; 4]);

/// The decision view of the page: what `cfpd report` ends with, as tables.
#[derive(Debug, Clone)]
pub struct DecisionSection {
    /// "3 accepted, 1 waitlisted, …".
    pub totals: String,
    /// The acceptance rate, in words.
    pub rate: String,
    /// Confirmations of the accepted talks told: (confirmed, declined, waiting).
    pub confirmations: (usize, usize, usize),
    /// ("primary topic" or "format", rows of (name, [accepted, waitlisted,
    /// rejected, undecided])).
    pub tables: Vec<(&'static str, Vec<DecisionCounts>)>,
}

fn decision_section(i: &Inputs<'_>) -> Option<DecisionSection> {
    if i.decisions.is_empty() {
        return None;
    }
    let v = crate::decision::program::view(i.proposals, i.decisions);
    let row = |(name, c): (&String, &crate::decision::program::Counts)| {
        (
            name.clone(),
            [c.decided[0], c.decided[1], c.decided[2], c.undecided],
        )
    };
    let t = &v.total;
    let decided: usize = t.decided.iter().sum();
    Some(DecisionSection {
        totals: format!(
            "{} accepted, {} waitlisted, {} rejected, {} undecided",
            t.decided[0], t.decided[1], t.decided[2], t.undecided
        ),
        rate: if decided == 0 {
            "nothing decided yet".into()
        } else {
            format!(
                "{:.0} % of decided proposals accepted",
                100.0 * t.decided[0] as f64 / decided as f64
            )
        },
        confirmations: v.confirmations,
        tables: vec![
            ("primary topic", v.by_topic.iter().map(row).collect()),
            ("format", v.by_format.iter().map(row).collect()),
        ],
    })
}

/// The status-over-time chart (none without proposals) and its data table rows.
fn status_over_time(i: &Inputs<'_>) -> (Option<String>, Vec<CountRow>) {
    let conf = &i.cfg.conference;
    let zone = conf.zone;
    let days = timeline::daily(i.proposals, i.stamps, conf.cfp_deadline + conf.grace, zone);
    let deadline_day = local_date(zone, conf.cfp_deadline);
    let svg =
        (!days.is_empty()).then(|| charts::timeline(&days, Some(deadline_day), &zone.to_string()));
    let rows = days
        .iter()
        .map(|d| (d.date.to_string(), counts_vec(&d.counts), d.counts.total()))
        .collect();
    (svg, rows)
}

/// Every proposal counted by status: all together, and per primary topic in the
/// report's topic order.
fn status_per_topic(
    proposals: &[ProposalRow],
    topic_order: &[(String, String)],
) -> (StatusCounts, Vec<TopicStatus>) {
    let mut per_topic: HashMap<(String, String), StatusCounts> = HashMap::new();
    let mut all = StatusCounts::default();
    for p in proposals {
        per_topic.entry(primary_topic(p)).or_default().add(p.status);
        all.add(p.status);
    }
    let mut keys: Vec<(String, String)> = per_topic.keys().cloned().collect();
    sort_topics(&mut keys, topic_order);
    let topic_status = keys
        .iter()
        .map(|k| TopicStatus {
            name: k.1.clone(),
            counts: per_topic[k],
        })
        .collect();
    (all, topic_status)
}

/// Scores per topic (submitted proposals, counted reviews: the ranking's numbers):
/// the chart, when there is a score to plot, and (topic, count, distribution, mean) rows.
fn score_distributions(r: &Report) -> (Option<String>, Vec<ScoreRow>) {
    let topic_scores: Vec<TopicScores> = r
        .topics
        .iter()
        .map(|t| TopicScores {
            name: t.name.clone(),
            scores: t
                .proposals
                .iter()
                .flat_map(|p| p.scores.iter().copied())
                .collect(),
        })
        .collect();
    let any_score = topic_scores.iter().any(|t| !t.scores.is_empty());
    let svg = any_score.then(|| charts::scores(&topic_scores, r.score_scale));
    let rows = topic_scores
        .iter()
        .map(|t| {
            let mut by: BTreeMap<i64, usize> = BTreeMap::new();
            for s in &t.scores {
                *by.entry(*s).or_default() += 1;
            }
            let dist = by
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mean = fmt(ScoreStats::of(&t.scores).map(|s| s.mean()), 2);
            (t.name.clone(), t.scores.len(), dist, mean)
        })
        .collect();
    (svg, rows)
}

/// The reviewer progress chart, or `None` without a roster.
fn reviewer_chart(r: &Report) -> Option<String> {
    let bars: Vec<ReviewerBar> = r
        .reviewers
        .iter()
        .map(|v| ReviewerBar {
            email: v.email.clone(),
            name: v.name.clone(),
            done: v.done,
            pending: v.pending,
            declined: v.declined,
            conflicts: v.conflicts,
        })
        .collect();
    (!bars.is_empty()).then(|| charts::reviewers(&bars))
}

/// One topic's ranking, numbers formatted and ties marked.
fn rank_table(t: &TopicRanking) -> RankTable {
    let mut prev: Option<ScoreStats> = None;
    let rows = t
        .proposals
        .iter()
        .map(|p| {
            let st = ScoreStats::of(&p.scores);
            let tie = matches!((prev, st), (Some(a), Some(b)) if a.ties(&b));
            prev = st;
            RankRow {
                rank: p.rank,
                reference: p.reference.clone(),
                title: p.title.clone(),
                mean: fmt(p.mean, 2),
                median: fmt(p.median, 1),
                spread: p.spread.map(|s| s.to_string()).unwrap_or_default(),
                reviews: p.reviews,
                pending: p.pending,
                scores: p
                    .scores
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                tie,
            }
        })
        .collect();
    RankTable {
        id: t.id.clone(),
        name: t.name.clone(),
        rows,
    }
}

/// The headline numbers: (label, value).
fn summary(all: &StatusCounts, r: &Report, assignments: &[Assignment]) -> Vec<(String, String)> {
    let active = assignments
        .iter()
        .filter(|a| a.state == AssignmentState::Active)
        .count();
    let done: usize = r.reviewers.iter().map(|v| v.done).sum();
    let pending: usize = r.reviewers.iter().map(|v| v.pending).sum();
    let mut summary = vec![("Proposals".to_string(), all.total().to_string())];
    for s in STATUSES {
        summary.push((capitalised(s), all.get(s).to_string()));
    }
    summary.extend([
        ("Topics in review".to_string(), r.topics.len().to_string()),
        ("Reviewers".to_string(), r.reviewers.len().to_string()),
        ("Active assignments".to_string(), active.to_string()),
        ("Reviews done".to_string(), done.to_string()),
        ("Reviews pending".to_string(), pending.to_string()),
    ]);
    summary
}

fn capitalised(s: ProposalStatus) -> String {
    let w = s.as_str();
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures as fx;
    use crate::report::ranking;
    use crate::store::reviews::StoredReview;
    use std::path::Path;

    fn cfg() -> Config {
        Config::from_str(crate::config::EXAMPLE_CONFIG, Path::new("cfpd.toml")).unwrap()
    }

    fn proposal(id: i64, title: &str, topic: &str, status: ProposalStatus, at: i64) -> ProposalRow {
        let p = fx::titled(fx::proposal(id, status), title);
        fx::at(fx::filed(p, topic, &format!("Topic {topic}")), at, at)
    }

    fn render(cfg: &Config, ps: &[ProposalRow], now: DateTime<Utc>) -> String {
        render_with(cfg, ps, now, &[])
    }

    fn render_with(
        cfg: &Config,
        ps: &[ProposalRow],
        now: DateTime<Utc>,
        decisions: &[crate::model::DecisionRow],
    ) -> String {
        let stamps: Vec<VersionStamp> = ps
            .iter()
            .map(|p| VersionStamp {
                proposal_id: p.id,
                version: 1,
                created_at: p.created_at,
                complete: p.status != ProposalStatus::Draft,
            })
            .collect();
        let reviewer = crate::store::review::Reviewer {
            email: "r@x.org".into(),
            name: Some("Rita".into()),
            ..fx::reviewer(1)
        };
        let assignments: Vec<Assignment> = ps
            .iter()
            .filter(|p| p.status == ProposalStatus::Submitted)
            .map(|p| fx::assignment(p.id, p.id, 1, AssignmentState::Active))
            .collect();
        // Every assignment reviewed with score 3: all ranked proposals tie.
        let current: Vec<StoredReview> =
            assignments.iter().map(|a| fx::review(a.id, 1, 3)).collect();
        let reviewers = if ps.is_empty() {
            vec![]
        } else {
            vec![reviewer]
        };
        let order = vec![("b".to_string(), "Topic b".to_string())];
        let report = ranking::build(ps, &reviewers, &assignments, &current, &order, [1, 5]);
        page(&Inputs {
            cfg,
            proposals: ps,
            stamps: &stamps,
            assignments: &assignments,
            report: &report,
            topic_order: &order,
            decisions,
            now,
        })
        .render()
        .unwrap()
    }

    const DAY: i64 = 86_400_000;
    // 2024-03-01T12:00:00Z
    const T0: i64 = 1_709_294_400_000;

    #[test]
    fn titles_are_escaped_and_nothing_is_loaded_from_elsewhere() {
        let cfg = cfg();
        let ps = vec![
            proposal(
                1,
                "<script>alert(\"x\")</script> & more",
                "a",
                ProposalStatus::Submitted,
                T0,
            ),
            proposal(2, "Plain", "b", ProposalStatus::Submitted, T0 + DAY),
            proposal(3, "Draft", "b", ProposalStatus::Draft, T0 + 2 * DAY),
        ];
        let html = render(&cfg, &ps, Utc::now());
        assert!(!html.contains("<script"), "a title became markup");
        // askama writes numeric entities.
        assert!(
            html.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; more"),
            "{html}"
        );
        for bad in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!html.contains(bad), "{bad} in the page");
        }
        // Topic order: the configured topic (b) first, then the unknown one.
        let b = html.find("<h3 id=\"rank-b\">").unwrap();
        let a = html.find("<h3 id=\"rank-a\">").unwrap();
        assert!(b < a);
        // P-0002 and the draft are under b; only P-0002 is ranked.
        assert!(html.contains("<td>P-0002</td>") && !html.contains("<td>P-0003</td>"));
        // Three days of timeline, two topic bars, two score dots, one reviewer bar.
        let chart = |id: &str| {
            let i = html.find(&format!("<svg id=\"{id}\"")).unwrap();
            let rest = &html[i..];
            rest[..rest.find("</svg>").unwrap()].to_string()
        };
        assert_eq!(
            chart("chart-timeline").matches("class=\"mark s-").count(),
            3 + 1
        );
        assert_eq!(chart("chart-topics").matches("<g class=\"bar\"").count(), 2);
        assert_eq!(
            chart("chart-scores")
                .matches("<circle class=\"mark\"")
                .count(),
            2
        );
        assert_eq!(
            chart("chart-reviewers").matches("<g class=\"bar\"").count(),
            1
        );
    }

    #[test]
    fn same_data_same_bytes_but_the_generated_line() {
        let cfg = cfg();
        let ps = vec![
            proposal(1, "One", "b", ProposalStatus::Submitted, T0),
            proposal(2, "Two", "b", ProposalStatus::Submitted, T0),
        ];
        let t1 = DateTime::parse_from_rfc3339("2024-03-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let t2 = DateTime::parse_from_rfc3339("2024-04-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let (a, b) = (render(&cfg, &ps, t1), render(&cfg, &ps, t2));
        let differing: Vec<(&str, &str)> =
            a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(differing.len(), 1, "{differing:?}");
        assert!(differing[0].0.contains("id=\"generated\""));
        assert_eq!(a.lines().count(), b.lines().count());
        // Equal scores: the second row is marked as a tie.
        assert!(a.contains("<tr class=\"tie\"><td class=\"n\">2 (tie)</td><td>P-0002</td>"));
    }

    #[test]
    fn the_overall_ranking_shows_speakers_unless_blind_and_small_cfps_are_compact() {
        let mut cfg = cfg();
        let mut ps: Vec<ProposalRow> = (1..=3)
            .map(|i| proposal(i, &format!("T{i}"), "b", ProposalStatus::Submitted, T0))
            .collect();
        for p in &mut ps {
            p.speaker_name = Some(format!("Ada <{}>", p.id));
            p.fields.format = Some("tutorial".into());
        }
        cfg.review.blind = true;
        cfg.review.reviewers_per_proposal = 2;
        let html = render(&cfg, &ps, Utc::now());
        assert!(html.contains("<body class=\"compact\">"), "{html}");
        assert!(html.contains("<details><summary>The ranking of each topic</summary>"));
        assert!(!html.contains("<th>speaker</th>") && !html.contains("Ada &#60;1&#62;"));
        assert!(html.contains("Speakers are not shown: review is blind."));
        // One review each of the two they need: every mean is flagged.
        assert_eq!(
            html.matches("<span class=\"flag\" title=").count(),
            3,
            "{html}"
        );
        assert!(html.contains("<td class=\"n short\">1 of 2<span"), "{html}");
        assert!(html.contains("<td>Topic b</td><td>tutorial</td>"), "{html}");
        cfg.review.blind = false;
        let html = render(&cfg, &ps, Utc::now());
        assert!(html.contains("<th>speaker</th>"));
        assert!(
            html.contains("<td>tutorial</td><td>Ada &#60;1&#62;</td>"),
            "{html}"
        );
        // A larger CFP: the usual spacing, every topic's ranking open.
        let many: Vec<ProposalRow> = (1..=(crate::report::overall::COMPACT_MAX as i64 + 1))
            .map(|i| proposal(i, "T", "b", ProposalStatus::Submitted, T0))
            .collect();
        let html = render(&cfg, &many, Utc::now());
        assert!(html.contains("<body>") && !html.contains("The ranking of each topic"));
    }

    #[test]
    fn empty_database_says_so_instead_of_drawing() {
        let html = render(&cfg(), &[], Utc::now());
        assert!(!html.contains("<svg"), "no chart without data");
        for h in [
            "Summary",
            "Proposals over time",
            "Proposals per topic",
            "Score distributions",
            "Reviewer progress",
            "Ranking",
        ] {
            assert!(html.contains(&format!("\">{h}</h2>")), "{h}");
        }
        assert_eq!(
            html.matches("<p class=\"empty\">No proposals yet.</p>")
                .count(),
            2
        );
        assert!(html.contains("No submitted proposals yet."));
        assert!(html.contains("No reviewers yet"));
    }

    #[test]
    fn the_decision_view_appears_once_anything_is_decided() {
        use crate::model::{Confirmation, Decision, DecisionRow};
        let ps = [
            proposal(1, "<b>One</b>", "a&b", ProposalStatus::Submitted, 0),
            proposal(2, "Two", "b", ProposalStatus::Submitted, 0),
            proposal(3, "Three", "b", ProposalStatus::Submitted, 0),
        ];
        let d = |id: i64, decision: Decision, c: Option<Confirmation>| DecisionRow {
            confirmation: c,
            ..crate::model::fixtures::decision(id, decision)
        };
        let now = Utc::now();
        assert!(!render(&cfg(), &ps, now).contains("id=\"decisions\""));
        let html = render_with(
            &cfg(),
            &ps,
            now,
            &[
                d(1, Decision::Accepted, Some(Confirmation::Confirmed)),
                d(2, Decision::Rejected, None),
            ],
        );
        assert!(
            html.contains("<h2 id=\"h-decisions\">Decisions</h2>"),
            "{html}"
        );
        assert!(
            html.contains("1 accepted, 0 waitlisted, 1 rejected, 1 undecided (50 % of decided proposals accepted). Accepted talks told: 1 confirmed, 0 declined, 0 waiting"),
            "{html}"
        );
        assert!(html.contains("<th>format</th>"), "{html}");
        assert!(
            html.contains("<td>Topic a&#38;b</td><td class=\"n\">1</td>"),
            "{html}"
        );
    }
}
