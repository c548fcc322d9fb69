//! The overall ranking of the HTML report, the table chairs decide from:
//! every proposal in review across topics, in the order of
//! [`crate::review::rank`], with its topic, format, speaker (not under
//! blind review), mean and the number of reviews it rests on — flagged
//! when that is fewer than it was given to (or than it should have). Pure.

use std::collections::HashMap;

use super::ranking::Report;
use crate::model::DecisionRow;
use crate::proposal::parse_reference;
use crate::review::rank::{self, Entry};
use crate::store::proposals::ProposalRow;

/// CFPs with at most this many proposals in review get the compact page:
/// denser spacing and the per-topic rankings folded away (the overall
/// ranking shows each proposal's topic).
pub const COMPACT_MAX: usize = 30;

/// One row of the overall ranking (numbers formatted, text escaped by the template).
#[derive(Debug, Clone, PartialEq)]
pub struct OverallRow {
    /// 1 for the best proposal of the CFP.
    pub rank: usize,
    /// Same mean and median as the row above (only the reference orders them).
    pub tie: bool,
    /// `P-0042`.
    pub reference: String,
    /// Current title.
    pub title: String,
    /// Its primary topic's name.
    pub topic: String,
    /// Its format (`talk-25`), empty when not given.
    pub format: String,
    /// The speaker's name (or address); empty under blind review.
    pub speaker: String,
    /// Mean, two decimals; empty before the first review.
    pub mean: String,
    /// Reviews that count.
    pub reviews: usize,
    /// Reviews it should rest on: its active assignments, or the reviewers
    /// it needs when it has fewer.
    pub expected: usize,
    /// The current decision, if any.
    pub decision: String,
}

impl OverallRow {
    /// Whether its mean rests on fewer reviews than expected.
    pub fn short(&self) -> bool {
        self.reviews < self.expected
    }
}

/// The overall ranking. `needed` is the configured reviewers per proposal
/// (a proposal's own count overrides it); `blind` leaves the speaker out.
pub fn rows(
    r: &Report,
    proposals: &[ProposalRow],
    decisions: &[DecisionRow],
    needed: usize,
    blind: bool,
) -> Vec<OverallRow> {
    let by_id: HashMap<i64, &ProposalRow> = proposals.iter().map(|p| (p.id, p)).collect();
    let decision: HashMap<i64, &DecisionRow> = decisions
        .iter()
        .filter(|d| d.current)
        .map(|d| (d.proposal_id, d))
        .collect();
    let mut entries = Vec::new();
    let mut topic_of: HashMap<i64, String> = HashMap::new();
    for t in &r.topics {
        for p in &t.proposals {
            let Some(id) = parse_reference(&p.reference) else {
                continue;
            };
            topic_of.insert(id, t.name.clone());
            entries.push(Entry {
                id,
                scores: p.scores.clone(),
                pending: p.pending,
            });
        }
    }
    rank::rank(&mut entries);
    let mut prev = None;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let st = e.stats();
            let tie = matches!((prev, st), (Some(a), Some(b)) if b.ties(&a));
            prev = st;
            let p = by_id.get(&e.id);
            let own = p
                .and_then(|p| p.reviewers_needed)
                .map(|n| n.max(0) as usize);
            OverallRow {
                rank: i + 1,
                tie,
                reference: crate::proposal::reference(e.id),
                title: p.and_then(|p| p.fields.title.clone()).unwrap_or_default(),
                topic: topic_of.remove(&e.id).unwrap_or_default(),
                format: p.and_then(|p| p.fields.format.clone()).unwrap_or_default(),
                speaker: match p {
                    Some(p) if !blind => p
                        .speaker_name
                        .clone()
                        .unwrap_or_else(|| p.speaker_email.clone()),
                    _ => String::new(),
                },
                mean: st.map(|s| format!("{:.2}", s.mean())).unwrap_or_default(),
                reviews: e.scores.len(),
                expected: (e.scores.len() + e.pending).max(own.unwrap_or(needed)),
                decision: decision
                    .get(&e.id)
                    .map(|d| d.decision.as_str().to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssignmentState, Decision, ProposalStatus};
    use crate::report::{fixtures as fx, ranking};

    fn proposals() -> Vec<ProposalRow> {
        let p = |id: i64, title: &str, topic: &str| {
            let mut p = fx::filed(
                fx::titled(fx::proposal(id, ProposalStatus::Submitted), title),
                topic,
                &format!("Topic {topic}"),
            );
            p.fields.format = Some("talk-25".into());
            p.speaker_name = Some(format!("Speaker {id}"));
            p
        };
        vec![
            p(1, "One", "a"),
            p(2, "Two", "b"),
            p(3, "Three", "a"),
            p(4, "Four", "b"),
        ]
    }

    /// 1: 4, 4 (two reviews of two); 2: 5 and one pending; 3: 4, 4 (ties
    /// with 1); 4: no review, one declined and not refilled.
    fn report(ps: &[ProposalRow]) -> Report {
        let a = |id, p, r, s| fx::assignment(id, p, r, s);
        let assignments = vec![
            a(1, 1, 1, AssignmentState::Active),
            a(2, 1, 2, AssignmentState::Active),
            a(3, 2, 1, AssignmentState::Active),
            a(4, 2, 2, AssignmentState::Active),
            a(5, 3, 1, AssignmentState::Active),
            a(6, 3, 2, AssignmentState::Active),
            a(7, 4, 1, AssignmentState::Declined),
        ];
        let reviews = vec![
            fx::review(1, 1, 4),
            fx::review(2, 1, 4),
            fx::review(3, 1, 5),
            fx::review(5, 1, 4),
            fx::review(6, 1, 4),
        ];
        let order = vec![("a".to_string(), "Topic a".to_string())];
        ranking::build(ps, &[], &assignments, &reviews, &order, [1, 5])
    }

    #[test]
    fn one_ranking_across_topics_with_review_counts_and_flags() {
        let ps = proposals();
        let decided = [crate::model::fixtures::decision(3, Decision::Accepted)];
        let rows = rows(&report(&ps), &ps, &decided, 2, false);
        let refs: Vec<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
        assert_eq!(refs, ["P-0002", "P-0001", "P-0003", "P-0004"]);
        let r = &rows[0];
        assert_eq!(
            (r.mean.as_str(), r.reviews, r.expected, r.short()),
            ("5.00", 1, 2, true)
        );
        assert_eq!(
            (r.topic.as_str(), r.format.as_str(), r.speaker.as_str()),
            ("Topic b", "talk-25", "Speaker 2")
        );
        assert_eq!(
            (rows[1].reviews, rows[1].expected, rows[1].short()),
            (2, 2, false)
        );
        assert!(!rows[1].tie && rows[2].tie);
        assert_eq!(rows[2].decision, "accepted");
        // No review and nobody assigned any more: still expected to have two.
        assert_eq!(
            (rows[3].mean.as_str(), rows[3].reviews, rows[3].expected),
            ("", 0, 2)
        );
        assert_eq!(
            rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // Blind review: no speaker.
        let blind = super::rows(&report(&ps), &ps, &[], 2, true);
        assert!(blind.iter().all(|r| r.speaker.is_empty()));
        // A proposal's own reviewer count wins over the configured one.
        let mut ps1 = ps.clone();
        ps1[1].reviewers_needed = Some(1);
        let own = super::rows(&report(&ps1), &ps1, &[], 2, false);
        assert_eq!((own[0].reference.as_str(), own[0].expected), ("P-0002", 2));
    }
}
