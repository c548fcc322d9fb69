//! The four charts of the HTML report, each a complete inline `<svg>`.
//!
//! Every data mark (a bar segment, a dot) has the class `mark` and a tooltip with its
//! numbers; legend swatches have the class `key`, so marks can be counted apart from
//! them. Each chart is drawn only from data that exists: callers show an empty-state
//! message instead of calling a chart with no rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::svg::{num, wrap, Svg};
use super::timeline::Day;
use super::{status_colour, ReviewerBar, StatusCounts, TopicScores, TopicStatus, STATUSES};
use crate::review::rank::ScoreStats;

/// Width of every chart, in pixels (they scale down with the page).
pub const WIDTH: f64 = 960.0;

/// Colour of reviews done.
pub const DONE: &str = "#2f855a";
/// Colour of reviews pending.
pub const PENDING: &str = "#dd6b20";
/// Colour of declined assignments.
pub const DECLINED: &str = "#718096";
/// Colour of assignments released for a conflict of interest.
pub const CONFLICT: &str = "#c53030";
/// Colour of a score dot.
pub const SCORE: &str = "#2c7a7b";
/// Colour of the mean marker and of axes.
pub const INK: &str = "#1a202c";
const GRID: &str = "#e2e8f0";
const AXIS: &str = "#4a5568";
const DEADLINE: &str = "#9b2c2c";
const BAND: &str = "#f7fafc";

/// Width of the label column of the row charts.
const LABEL_W: f64 = 280.0;
/// Characters of a row label per line (13 px text in `LABEL_W`).
const LABEL_CHARS: usize = 38;

/// A step of 1, 2 or 5 × 10ⁿ giving at most `most` steps up to `max`, and the
/// axis top (a multiple of the step, at least `max`, at least one step).
fn ticks(max: f64, most: f64) -> (f64, f64) {
    let mut magnitude = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * magnitude;
            if (max / step).ceil() <= most {
                let top = ((max / step).ceil() * step).max(step);
                return (step, top);
            }
        }
        magnitude *= 10.0;
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn status_summary(c: &StatusCounts) -> String {
    let parts: Vec<String> = STATUSES
        .iter()
        .filter(|s| c.get(**s) > 0)
        .map(|s| format!("{} {}", c.get(*s), s.as_str()))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Legend swatches in a row starting at (x, y).
fn legend(s: &mut Svg, x: f64, y: f64, items: &[(&str, &str)]) {
    let mut x = x;
    for (label, colour) in items {
        s.rect(x, y - 10.0, 12.0, 12.0, colour, "key", None);
        s.text(x + 17.0, y, "start", "lbl", label);
        x += 17.0 + label.chars().count() as f64 * 7.5 + 20.0;
    }
}

/// A row label (one or two lines) vertically centred on `mid`, right-aligned at `x`.
fn row_label(s: &mut Svg, x: f64, mid: f64, text: &str) {
    let lines = wrap(text, LABEL_CHARS, 2);
    let first = if lines.len() > 1 {
        mid - 3.0
    } else {
        mid + 4.5
    };
    s.lines((x, first), 15.0, "end", "lbl", text, &lines);
}

/// Stacked bars per day: how many proposals existed at the end of each day, by their
/// status on that day. `deadline` (the CFP deadline's day) draws a dashed marker when
/// it falls within the days shown; `zone` names the conference zone for the axis.
pub fn timeline(days: &[Day], deadline: Option<NaiveDate>, zone: &str) -> String {
    let (left, right, top, plot_h, bottom) = (48.0, 16.0, 40.0, 240.0, 44.0);
    let plot_w = WIDTH - left - right;
    let height = top + plot_h + bottom;
    let (first, last) = match (days.first(), days.last()) {
        (Some(f), Some(l)) => (f.date, l.date),
        _ => {
            return Svg::new(
                "chart-timeline",
                WIDTH,
                40.0,
                "Proposals over time",
                "No proposals.",
            )
            .finish()
        }
    };
    let end = days.last().map(|d| d.counts).unwrap_or_default();
    let desc = format!(
        "Stacked bars, one per day from {first} to {last} ({zone}): the proposals that \
         existed at the end of the day, by their status on that day. At the end of {last}: {}.",
        status_summary(&end)
    );
    let mut s = Svg::new(
        "chart-timeline",
        WIDTH,
        height,
        "Proposals over time, by status",
        &desc,
    );
    let present: Vec<(&str, &str)> = STATUSES
        .iter()
        .filter(|st| days.iter().any(|d| d.counts.get(**st) > 0))
        .map(|st| (st.as_str(), status_colour(*st)))
        .collect();
    legend(&mut s, left, 18.0, &present);
    let max = days.iter().map(|d| d.counts.total()).max().unwrap_or(0) as f64;
    let (step, ymax) = ticks(max, 5.0);
    let y_of = |v: f64| top + plot_h - v / ymax * plot_h;
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let y = y_of(v);
        s.line(
            (left, y),
            (left + plot_w, y),
            GRID,
            1.0,
            false,
            "grid",
            None,
        );
        s.text(left - 8.0, y + 4.0, "end", "ax", &num(v));
        v += step;
    }
    let n = days.len() as f64;
    let band = plot_w / n;
    let bar_w = if band >= 4.0 { band * 0.8 } else { band };
    for (i, d) in days.iter().enumerate() {
        let x = left + i as f64 * band + (band - bar_w) / 2.0;
        let mut base = 0.0;
        let total = d.counts.total();
        for st in STATUSES {
            let c = d.counts.get(st);
            if c == 0 {
                continue;
            }
            let y0 = y_of(base);
            base += c as f64;
            let y1 = y_of(base);
            let tip = format!("{}: {c} {} of {total}", d.date, st.as_str());
            s.rect(
                x,
                y1,
                bar_w,
                y0 - y1,
                status_colour(st),
                &format!("mark s-{}", st.as_str()),
                Some(&tip),
            );
        }
    }
    s.line(
        (left, top + plot_h),
        (left + plot_w, top + plot_h),
        AXIS,
        1.0,
        false,
        "axis",
        None,
    );
    // At most about 12 date labels.
    let every = ((n / 12.0).ceil() as usize).max(1);
    for (i, d) in days.iter().enumerate().step_by(every) {
        let x = left + (i as f64 + 0.5) * band;
        s.text(
            x,
            top + plot_h + 16.0,
            "middle",
            "ax",
            &d.date.format("%b %-d").to_string(),
        );
    }
    let years = if first.format("%Y").to_string() == last.format("%Y").to_string() {
        first.format("%Y").to_string()
    } else {
        format!("{}–{}", first.format("%Y"), last.format("%Y"))
    };
    s.text(
        left + plot_w / 2.0,
        top + plot_h + 36.0,
        "middle",
        "ax",
        &format!("day ({years}, {zone})"),
    );
    if let Some(dl) = deadline.filter(|d| *d >= first && *d <= last) {
        let idx = (dl - first).num_days() as f64;
        let x = left + (idx + 1.0) * band;
        s.line(
            (x, top - 6.0),
            (x, top + plot_h),
            DEADLINE,
            2.0,
            true,
            "deadline",
            Some(&format!("CFP deadline: end of {dl}")),
        );
        s.text(x - 4.0, top + 6.0, "end", "lbl", "CFP deadline");
    }
    s.finish()
}

/// One horizontal stacked bar per topic: its proposals by current status.
pub fn by_topic(rows: &[TopicStatus]) -> String {
    let (top, row_h, bar_h) = (34.0, 38.0, 22.0);
    let bar_x = LABEL_W + 12.0;
    let bar_max = WIDTH - bar_x - 48.0;
    let height = top + rows.len() as f64 * row_h + 8.0;
    let desc = format!(
        "Horizontal stacked bars, one per topic ({}): each topic's proposals by their \
         current status. {}.",
        rows.len(),
        rows.iter()
            .map(|r| format!("{}: {}", r.name, status_summary(&r.counts)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut s = Svg::new(
        "chart-topics",
        WIDTH,
        height,
        "Proposals per topic, by status",
        &desc,
    );
    let present: Vec<(&str, &str)> = STATUSES
        .iter()
        .filter(|st| rows.iter().any(|r| r.counts.get(**st) > 0))
        .map(|st| (st.as_str(), status_colour(*st)))
        .collect();
    legend(&mut s, bar_x, 18.0, &present);
    let max = rows
        .iter()
        .map(|r| r.counts.total())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let scale = bar_max / max;
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let mid = y + row_h / 2.0;
        s.group("bar", &format!("{}: {}", r.name, status_summary(&r.counts)));
        row_label(&mut s, LABEL_W, mid, &r.name);
        let mut x = bar_x;
        for st in STATUSES {
            let c = r.counts.get(st);
            if c == 0 {
                continue;
            }
            let w = c as f64 * scale;
            let tip = format!("{}: {c} {}", r.name, st.as_str());
            s.rect(
                x,
                mid - bar_h / 2.0,
                w,
                bar_h,
                status_colour(st),
                &format!("mark s-{}", st.as_str()),
                Some(&tip),
            );
            if w >= 22.0 {
                s.text(x + w / 2.0, mid + 4.0, "middle", "val", &c.to_string());
            }
            x += w;
        }
        s.text(
            x + 6.0,
            mid + 4.5,
            "start",
            "lbl",
            &r.counts.total().to_string(),
        );
        s.end_group();
    }
    s.finish()
}

/// One row per topic: a dot per counted review score on the score axis (equal scores
/// stacked), a dark line at the mean, and n / mean / median / spread in words.
/// The axis covers the configured `scale`, widened to any stored score outside it.
pub fn scores(rows: &[TopicScores], scale: [i64; 2]) -> String {
    let (top, row_h, axis_h) = (8.0, 58.0, 36.0);
    let x0 = LABEL_W + 24.0;
    let x1 = WIDTH - 200.0;
    let lo = rows
        .iter()
        .flat_map(|r| r.scores.iter().copied())
        .chain([scale[0]])
        .min()
        .unwrap_or(scale[0]);
    let hi = rows
        .iter()
        .flat_map(|r| r.scores.iter().copied())
        .chain([scale[1]])
        .max()
        .unwrap_or(scale[1]);
    let x_of = |v: f64| {
        if hi == lo {
            (x0 + x1) / 2.0
        } else {
            x0 + (v - lo as f64) / (hi - lo) as f64 * (x1 - x0)
        }
    };
    let height = top + rows.len() as f64 * row_h + axis_h;
    let desc = format!(
        "Dot plot on the score scale {lo} to {hi}, one row per topic: each dot is one \
         counted review score, equal scores stacked; the dark line is the topic's mean. {}.",
        rows.iter()
            .map(|r| match ScoreStats::of(&r.scores) {
                Some(st) => format!(
                    "{}: {}, mean {:.2}",
                    r.name,
                    plural(st.n, "score", "scores"),
                    st.mean()
                ),
                None => format!("{}: no reviews yet", r.name),
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut s = Svg::new(
        "chart-scores",
        WIDTH,
        height,
        "Score distributions per topic",
        &desc,
    );
    let bottom = top + rows.len() as f64 * row_h;
    for (i, _) in rows.iter().enumerate() {
        if i % 2 == 0 {
            let y = top + i as f64 * row_h;
            s.rect(0.0, y, WIDTH, row_h, BAND, "band", None);
        }
    }
    let (step, _) = ticks((hi - lo) as f64, 10.0);
    let step = step.max(1.0) as i64;
    let mut v = lo;
    while v <= hi {
        let x = x_of(v as f64);
        s.line((x, top), (x, bottom), GRID, 1.0, false, "grid", None);
        s.text(x, bottom + 16.0, "middle", "ax", &v.to_string());
        v += step;
    }
    s.text(
        (x0 + x1) / 2.0,
        bottom + 32.0,
        "middle",
        "ax",
        &format!("score ({lo} to {hi})"),
    );
    let (r, gap, per_col) = (5.0, 11.0, 4usize);
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let mid = y + row_h / 2.0;
        s.group("strip", &row.name);
        row_label(&mut s, LABEL_W, mid, &row.name);
        match ScoreStats::of(&row.scores) {
            None => s.text(x0, mid + 4.5, "start", "note", "no reviews yet"),
            Some(st) => {
                // The mean first, so the dots stay visible on top of it.
                let xm = x_of(st.mean());
                s.line(
                    (xm, y + 5.0),
                    (xm, y + row_h - 5.0),
                    INK,
                    2.5,
                    false,
                    "mean",
                    Some(&format!("{}: mean {:.2}", row.name, st.mean())),
                );
                let mut by_value: BTreeMap<i64, usize> = BTreeMap::new();
                for sc in &row.scores {
                    *by_value.entry(*sc).or_default() += 1;
                }
                for (value, count) in by_value {
                    let cols = count.div_ceil(per_col);
                    let tip = format!(
                        "{}: {} scored {value}",
                        row.name,
                        plural(count, "review", "reviews")
                    );
                    for k in 0..count {
                        let (col, level) = (k / per_col, k % per_col);
                        let cx =
                            x_of(value as f64) + (col as f64 - (cols as f64 - 1.0) / 2.0) * gap;
                        let cy = y + row_h - 10.0 - level as f64 * gap;
                        s.circle(cx, cy, r, SCORE, "mark", Some(&tip));
                    }
                }
                let words = [
                    format!(
                        "{} · mean {:.2}",
                        plural(st.n, "score", "scores"),
                        st.mean()
                    ),
                    format!("median {:.1} · spread {}", st.median(), st.spread()),
                ];
                s.lines(
                    (x1 + 24.0, mid - 3.0),
                    15.0,
                    "start",
                    "lbl",
                    &words.join(" "),
                    &words,
                );
            }
        }
        s.end_group();
    }
    s.finish()
}

/// One horizontal stacked bar per reviewer: reviews done, pending, declined and
/// released for a conflict; "no assignments" for a reviewer without any.
pub fn reviewers(rows: &[ReviewerBar]) -> String {
    let (top, row_h, bar_h) = (34.0, 40.0, 22.0);
    let bar_x = LABEL_W + 12.0;
    let bar_max = WIDTH - bar_x - 48.0;
    let height = top + rows.len() as f64 * row_h + 8.0;
    let parts = |r: &ReviewerBar| {
        [
            ("done", r.done, DONE),
            ("pending", r.pending, PENDING),
            ("declined", r.declined, DECLINED),
            ("conflict", r.conflicts, CONFLICT),
        ]
    };
    let label = |r: &ReviewerBar| match &r.name {
        Some(n) if !n.trim().is_empty() => format!("{n} <{}>", r.email),
        _ => r.email.clone(),
    };
    let words = |r: &ReviewerBar| {
        let p: Vec<String> = parts(r)
            .iter()
            .filter(|(_, c, _)| *c > 0)
            .map(|(w, c, _)| format!("{c} {w}"))
            .collect();
        if p.is_empty() {
            "no assignments".to_string()
        } else {
            p.join(", ")
        }
    };
    let desc = format!(
        "Horizontal stacked bars, one per reviewer ({}): assignments reviewed, pending, \
         declined and released for a conflict of interest. {}.",
        rows.len(),
        rows.iter()
            .map(|r| format!("{}: {}", r.email, words(r)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut s = Svg::new("chart-reviewers", WIDTH, height, "Reviewer progress", &desc);
    let present: Vec<(&str, &str)> = ["done", "pending", "declined", "conflict"]
        .iter()
        .enumerate()
        .filter(|(k, _)| rows.iter().any(|r| parts(r)[*k].1 > 0))
        .map(|(k, w)| (*w, [DONE, PENDING, DECLINED, CONFLICT][k]))
        .collect();
    legend(&mut s, bar_x, 18.0, &present);
    let max = rows
        .iter()
        .map(|r| r.done + r.pending + r.declined + r.conflicts)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let scale = bar_max / max;
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let mid = y + row_h / 2.0;
        s.group("bar", &format!("{}: {}", r.email, words(r)));
        let name = label(r);
        let lines = match &r.name {
            Some(n) if !n.trim().is_empty() => {
                let mut l = wrap(n, LABEL_CHARS, 1);
                l.extend(wrap(&r.email, LABEL_CHARS, 1));
                l
            }
            _ => wrap(&r.email, LABEL_CHARS, 1),
        };
        let first = if lines.len() > 1 {
            mid - 3.0
        } else {
            mid + 4.5
        };
        s.lines((LABEL_W, first), 15.0, "end", "lbl", &name, &lines);
        let mut x = bar_x;
        let mut any = false;
        for (w, c, colour) in parts(r) {
            if c == 0 {
                continue;
            }
            any = true;
            let width = c as f64 * scale;
            s.rect(
                x,
                mid - bar_h / 2.0,
                width,
                bar_h,
                colour,
                &format!("mark r-{w}"),
                Some(&format!("{}: {c} {w}", r.email)),
            );
            if width >= 22.0 {
                s.text(x + width / 2.0, mid + 4.0, "middle", "val", &c.to_string());
            }
            x += width;
        }
        if !any {
            s.text(bar_x, mid + 4.5, "start", "note", "no assignments");
        }
        s.end_group();
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(ticks(0.0, 5.0), (1.0, 1.0));
        assert_eq!(ticks(4.0, 5.0), (1.0, 4.0));
        assert_eq!(ticks(7.0, 5.0), (2.0, 8.0));
        assert_eq!(ticks(23.0, 5.0), (5.0, 25.0));
        assert_eq!(ticks(230.0, 5.0), (50.0, 250.0));
    }

    #[test]
    fn one_bar_per_topic_one_segment_per_status_present() {
        let rows = vec![
            TopicStatus {
                name: "Web <frontends>".into(),
                counts: StatusCounts {
                    submitted: 3,
                    draft: 1,
                    ..Default::default()
                },
            },
            TopicStatus {
                name: "Databases".into(),
                counts: StatusCounts {
                    withdrawn: 2,
                    ..Default::default()
                },
            },
        ];
        let svg = by_topic(&rows);
        assert_eq!(count(&svg, "<g class=\"bar\""), 2);
        assert_eq!(count(&svg, "class=\"mark "), 3);
        // Legend: only the statuses that occur.
        assert_eq!(count(&svg, "class=\"key\""), 3);
        assert!(svg.contains("Web &lt;frontends&gt;") && !svg.contains("<frontends>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"chart-topics-title\">"));
        // Bar lengths are proportional: 4 proposals span the full width, 2 half of it.
        let width = |class: &str, nth: usize| -> f64 {
            let i = svg.match_indices(class).nth(nth).unwrap().0;
            let w = &svg[i..];
            let w = &w[w.find("width=\"").unwrap() + 7..];
            w[..w.find('"').unwrap()].parse().unwrap()
        };
        let full = width("s-submitted", 0) + width("s-draft", 0);
        assert!((width("s-withdrawn", 0) * 2.0 - full).abs() < 0.2);
    }

    #[test]
    fn scores_draw_one_dot_per_score_and_say_when_there_are_none() {
        let rows = vec![
            TopicScores {
                name: "A".into(),
                scores: vec![4, 4, 4, 4, 4, 2],
            },
            TopicScores {
                name: "B".into(),
                scores: vec![],
            },
        ];
        let svg = scores(&rows, [1, 5]);
        assert_eq!(count(&svg, "<circle class=\"mark\""), 6);
        assert_eq!(count(&svg, "class=\"mean\""), 1);
        assert!(svg.contains("no reviews yet"));
        assert!(svg.contains("6 scores · mean 3.67"));
        // Ticks for every score on a short scale.
        for v in 1..=5 {
            assert!(svg.contains(&format!(">{v}</text>")), "{v}");
        }
        // A stored score outside the configured scale widens the axis instead of
        // falling off the chart.
        let svg = scores(
            &[TopicScores {
                name: "A".into(),
                scores: vec![7],
            }],
            [1, 5],
        );
        assert!(svg.contains(">7</text>") && svg.contains("score (1 to 7)"));
    }

    #[test]
    fn timeline_stacks_statuses_per_day_and_marks_the_deadline() {
        let d = |day: u32, submitted, draft| Day {
            date: NaiveDate::from_ymd_opt(2024, 4, day).unwrap(),
            counts: StatusCounts {
                submitted,
                draft,
                ..Default::default()
            },
        };
        let days = vec![d(1, 1, 1), d(2, 2, 1), d(3, 3, 0)];
        let deadline = NaiveDate::from_ymd_opt(2024, 4, 2);
        let svg = timeline(&days, deadline, "AoE");
        assert_eq!(count(&svg, "class=\"mark s-submitted\""), 3);
        assert_eq!(count(&svg, "class=\"mark s-draft\""), 2);
        assert_eq!(count(&svg, "class=\"deadline\""), 1);
        assert!(svg.contains("2024-04-02: 1 draft of 3"));
        assert!(svg.contains("At the end of 2024-04-03: 3 submitted."));
        // A deadline outside the days shown is not drawn.
        let later = NaiveDate::from_ymd_opt(2024, 5, 1);
        assert_eq!(
            count(&timeline(&days, later, "AoE"), "class=\"deadline\""),
            0
        );
    }

    #[test]
    fn reviewer_rows_show_every_reviewer() {
        let rows = vec![
            ReviewerBar {
                email: "a@x.org".into(),
                name: Some("Ann <3".into()),
                done: 2,
                pending: 1,
                declined: 1,
                conflicts: 0,
            },
            ReviewerBar {
                email: "b@x.org".into(),
                name: None,
                done: 0,
                pending: 0,
                declined: 0,
                conflicts: 0,
            },
        ];
        let svg = reviewers(&rows);
        assert_eq!(count(&svg, "<g class=\"bar\""), 2);
        assert_eq!(count(&svg, "class=\"mark "), 3);
        assert!(svg.contains("no assignments"));
        assert!(svg.contains("Ann &lt;3") && !svg.contains("Ann <3"));
    }
}
