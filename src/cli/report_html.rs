//! `cfpd report --html FILE`: the report as one self-contained web page.
//!
//! Sections: summary, proposals over time (status per day), proposals per topic (by
//! status), score distributions per topic, reviewer progress, and the rankings of
//! [`super::report`] (same proposals, scores and order). Charts are inline SVG drawn
//! by [`crate::report`]; the page has inline CSS only and loads nothing, so it opens
//! offline, from a mail attachment or a USB stick, and prints as shown.
//!
//! The same database gives the same bytes, except the one line that says when the page
//! was generated (read through the clock, so `CFPD_FAKE_NOW` pins it too). Everything a
//! speaker or the roster wrote (titles, names) is escaped: by askama in the template,
//! by [`crate::report::svg::esc`] in the charts.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use askama::Template;
use chrono::{DateTime, Utc};

use super::report::{self, Report};
use super::{load_config, open_store};
use crate::config::Config;
use crate::model::ProposalStatus;
use crate::model::{Assignment, AssignmentState, ProposalRow, VersionStamp};
use crate::report::timeline::{self, local_date};
use crate::report::{charts, ReviewerBar, StatusCounts, TopicScores, TopicStatus, STATUSES};
use crate::review::rank::ScoreStats;

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
    pub days: Vec<(String, Vec<usize>, usize)>,
    /// Proposals per topic, or `None` without proposals.
    pub topics: Option<String>,
    /// (topic, counts in `statuses` order, total).
    pub topic_rows: Vec<(String, Vec<usize>, usize)>,
    /// Score distributions, or `None` when there is nothing to plot.
    pub scores: Option<String>,
    /// Why there is no score chart.
    pub scores_empty: String,
    /// (topic, number of scores, "score: count" list, mean).
    pub score_rows: Vec<(String, usize, String, String)>,
    /// Reviewer progress, or `None` without a roster.
    pub reviewers: Option<String>,
    /// The same numbers as a table.
    pub reviewer_rows: Vec<report::ReviewerProgress>,
    /// Rankings per primary topic.
    pub rankings: Vec<RankTable>,
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
    /// When the page is generated.
    pub now: DateTime<Utc>,
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_default()
}

/// Build the page (pure).
pub fn page(i: &Inputs<'_>) -> Page {
    let conf = &i.cfg.conference;
    let zone = conf.zone;
    let statuses: Vec<&'static str> = STATUSES.iter().map(|s| s.as_str()).collect();
    let counts_vec = |c: &StatusCounts| STATUSES.iter().map(|s| c.get(*s)).collect::<Vec<_>>();

    // Status over time.
    let days = timeline::daily(i.proposals, i.stamps, conf.cfp_deadline + conf.grace, zone);
    let deadline_day = local_date(zone, conf.cfp_deadline);
    let timeline_svg =
        (!days.is_empty()).then(|| charts::timeline(&days, Some(deadline_day), &zone.to_string()));
    let day_rows = days
        .iter()
        .map(|d| (d.date.to_string(), counts_vec(&d.counts), d.counts.total()))
        .collect();

    // Per topic, every status.
    let position = |id: &str| {
        if id == "none" {
            return usize::MAX;
        }
        i.topic_order
            .iter()
            .position(|(t, _)| t == id)
            .unwrap_or(usize::MAX - 1)
    };
    let mut per_topic: HashMap<(String, String), StatusCounts> = HashMap::new();
    let mut all = StatusCounts::default();
    for p in i.proposals {
        let key = p.topics.first().map_or_else(
            || ("none".to_string(), "(no topic)".to_string()),
            |t| (t.id.clone(), t.name.clone()),
        );
        per_topic.entry(key).or_default().add(p.status);
        all.add(p.status);
    }
    let mut keys: Vec<(String, String)> = per_topic.keys().cloned().collect();
    keys.sort_by(|a, b| position(&a.0).cmp(&position(&b.0)).then(a.0.cmp(&b.0)));
    let topic_status: Vec<TopicStatus> = keys
        .iter()
        .map(|k| TopicStatus {
            name: k.1.clone(),
            counts: per_topic[k],
        })
        .collect();
    let topics_svg = (!topic_status.is_empty()).then(|| charts::by_topic(&topic_status));
    let topic_rows = topic_status
        .iter()
        .map(|t| (t.name.clone(), counts_vec(&t.counts), t.counts.total()))
        .collect();

    // Scores per topic (submitted proposals, counted reviews: the ranking's numbers).
    let r = i.report;
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
    let scores_svg = any_score.then(|| charts::scores(&topic_scores, r.score_scale));
    let scores_empty = if r.topics.is_empty() {
        "No submitted proposals yet."
    } else {
        "No reviews yet: scores appear here as reviewers reply."
    }
    .to_string();
    let score_rows = topic_scores
        .iter()
        .map(|t| {
            let mut by: std::collections::BTreeMap<i64, usize> = Default::default();
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

    // Reviewers.
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
    let reviewers_svg = (!bars.is_empty()).then(|| charts::reviewers(&bars));

    // Rankings, with ties marked.
    let rankings = r
        .topics
        .iter()
        .map(|t| {
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
        })
        .collect();

    // Summary.
    let active = i
        .assignments
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

    Page {
        conference: conf.name.clone(),
        generated_at: conf.zone.format_with_utc(i.now),
        cfp_deadline: conf.zone.format_with_utc(conf.cfp_deadline),
        review_deadline: conf.review_deadline.map(|d| conf.zone.format_with_utc(d)),
        zone: zone.to_string(),
        scale: format!("{}–{}", r.score_scale[0], r.score_scale[1]),
        summary,
        statuses,
        timeline: timeline_svg,
        days: day_rows,
        topics: topics_svg,
        topic_rows,
        scores: scores_svg,
        scores_empty,
        score_rows,
        reviewers: reviewers_svg,
        reviewer_rows: r.reviewers.clone(),
        rankings,
    }
}

fn capitalised(s: ProposalStatus) -> String {
    let w = s.as_str();
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

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
    drop(c);
    let p = page(&Inputs {
        cfg: &cfg,
        proposals: &data.proposals,
        stamps: &stamps,
        assignments: &data.assignments,
        report: &data.report,
        topic_order: &data.topic_order,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proposal::{Fields, FiledTopic, TagOverrides};
    use crate::store::reviews::StoredReview;

    fn cfg() -> Config {
        Config::from_str(crate::config::EXAMPLE_CONFIG, Path::new("cfpd.toml")).unwrap()
    }

    fn proposal(id: i64, title: &str, topic: &str, status: ProposalStatus, at: i64) -> ProposalRow {
        ProposalRow {
            id,
            speaker_email: format!("s{id}@x.org"),
            speaker_name: None,
            status,
            version: 1,
            created_at: at,
            updated_at: at,
            fields: Fields {
                title: Some(title.into()),
                ..Default::default()
            },
            problems: vec![],
            topics: vec![FiledTopic {
                id: topic.into(),
                name: format!("Topic {topic}"),
                score: 1.0,
                evidence: vec![],
            }],
            overrides: TagOverrides::default(),
            reviewers_needed: None,
        }
    }

    fn render(cfg: &Config, ps: &[ProposalRow], now: DateTime<Utc>) -> String {
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
            id: 1,
            email: "r@x.org".into(),
            name: Some("Rita".into()),
            topics: vec![],
            min_load: 0,
            max_load: 9,
            conflicts: vec![],
        };
        let assignments: Vec<Assignment> = ps
            .iter()
            .filter(|p| p.status == ProposalStatus::Submitted)
            .map(|p| Assignment {
                id: p.id,
                proposal_id: p.id,
                reviewer_id: 1,
                affinity: 0,
                state: AssignmentState::Active,
            })
            .collect();
        // Every assignment reviewed with score 3: all ranked proposals tie.
        let current: Vec<StoredReview> = assignments
            .iter()
            .map(|a| StoredReview {
                assignment_id: a.id,
                version: 1,
                current: true,
                score: 3,
                confidence: None,
                comments_speaker: String::new(),
                comments_committee: String::new(),
                message_row: None,
                created_at: 0,
            })
            .collect();
        let reviewers = if ps.is_empty() {
            vec![]
        } else {
            vec![reviewer]
        };
        let order = vec![("b".to_string(), "Topic b".to_string())];
        let report = report::build(ps, &reviewers, &assignments, &current, &order, [1, 5]);
        page(&Inputs {
            cfg,
            proposals: ps,
            stamps: &stamps,
            assignments: &assignments,
            report: &report,
            topic_order: &order,
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
}
