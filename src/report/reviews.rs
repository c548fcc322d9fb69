//! `cfpd reviews list` and the reviews in `cfpd proposals show`: every
//! assignment with its reviewer and, once reviewed, the current review with
//! both comments — what chairs otherwise could only read in the database.
//! Pure; every outside text goes through [`super::safe::terminal`].

use std::fmt::Write;

use super::safe::terminal;
use crate::model::{Assignment, AssignmentState, Reviewer};
use crate::store::reviews::StoredReview;

/// Which assignments to show.
#[derive(Debug, Default, Clone)]
pub struct Which<'a> {
    /// Only this proposal (its id).
    pub proposal: Option<i64>,
    /// Only this reviewer's address (case-insensitive).
    pub reviewer: Option<&'a str>,
}

/// The assignments `which` asks for, by proposal then reviewer address, each
/// with its current review, rendered for a terminal.
pub fn render(
    assignments: &[Assignment],
    reviewers: &[Reviewer],
    reviews: &[StoredReview],
    which: &Which<'_>,
) -> String {
    let email = |id: i64| {
        reviewers
            .iter()
            .find(|r| r.id == id)
            .map_or("(removed reviewer)", |r| r.email.as_str())
    };
    let mut chosen: Vec<&Assignment> = assignments
        .iter()
        .filter(|a| which.proposal.is_none_or(|p| a.proposal_id == p))
        .filter(|a| {
            which
                .reviewer
                .is_none_or(|r| email(a.reviewer_id).eq_ignore_ascii_case(r.trim()))
        })
        .collect();
    chosen.sort_by(|a, b| {
        (a.proposal_id, email(a.reviewer_id)).cmp(&(b.proposal_id, email(b.reviewer_id)))
    });
    let mut out = String::new();
    for a in &chosen {
        let head = format!(
            "{}  {}",
            crate::proposal::reference(a.proposal_id),
            terminal(email(a.reviewer_id))
        );
        let review = reviews
            .iter()
            .find(|r| r.assignment_id == a.id && r.current);
        match (a.state, review) {
            (AssignmentState::Active, None) => {
                let _ = writeln!(out, "{head}  pending");
            }
            (AssignmentState::Active, Some(r)) => {
                let confidence = r
                    .confidence
                    .map(|c| format!(", confidence {c}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{head}  score {}{confidence}  (version {})",
                    r.score, r.version
                );
                for (label, text) in [
                    ("for the speaker", &r.comments_speaker),
                    ("for the committee", &r.comments_committee),
                ] {
                    if text.trim().is_empty() {
                        let _ = writeln!(out, "  {label}: (none)");
                        continue;
                    }
                    let _ = writeln!(out, "  {label}:");
                    for line in text.lines() {
                        let _ = writeln!(out, "    {}", terminal(line));
                    }
                }
            }
            (state, _) => {
                let _ = writeln!(out, "{head}  {state}");
            }
        }
    }
    let _ = writeln!(out, "{} assignment(s)", chosen.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{assignment, review, reviewer};

    #[test]
    fn every_assignment_with_its_review_and_both_comments() {
        let mut rita = reviewer(1);
        rita.email = "rita@x.example".into();
        let mut sam = reviewer(2);
        sam.email = "sam@y.example".into();
        let a = [
            assignment(10, 1, 1, AssignmentState::Active),
            assignment(11, 1, 2, AssignmentState::Active),
            assignment(12, 2, 2, AssignmentState::Declined),
        ];
        let mut r = review(10, 2, 4);
        r.confidence = Some(2);
        r.comments_speaker = "Clear outline.\nMore demos\u{1b}[2J".into();
        let mut old = review(10, 1, 1);
        old.current = false;
        let all = render(&a, &[rita, sam], &[old, r], &Which::default());
        assert!(
            all.contains("P-0001  rita@x.example  score 4, confidence 2  (version 2)\n"),
            "{all}"
        );
        assert!(
            all.contains("  for the speaker:\n    Clear outline.\n    More demos\\x1b[2J\n"),
            "{all}"
        );
        assert!(all.contains("  for the committee: (none)\n"), "{all}");
        assert!(all.contains("P-0001  sam@y.example  pending\n"), "{all}");
        assert!(all.contains("P-0002  sam@y.example  declined\n"), "{all}");
        assert!(all.ends_with("3 assignment(s)\n"), "{all}");
        let rita_only = render(
            &a,
            &[],
            &[],
            &Which {
                proposal: None,
                reviewer: Some("RITA@x.example"),
            },
        );
        assert!(
            rita_only.ends_with("0 assignment(s)\n"),
            "roster needed: {rita_only}"
        );
        let p2 = render(
            &a,
            &[],
            &[],
            &Which {
                proposal: Some(2),
                reviewer: None,
            },
        );
        assert!(p2.contains("P-0002  (removed reviewer)  declined"), "{p2}");
    }
}
