//! Which waitlisted talk takes the place of an accepted one that dropped out
//! (declined by its speaker, or withdrawn): the best-ranked waitlisted
//! proposal of the same format, by the mean of its current review scores
//! (unreviewed ones last), ties to the earlier proposal. Nothing else: a
//! talk of another format would not fit the slot that came free.

use std::collections::HashMap;

use crate::model::{Decision, DecisionRow, ProposalRow, ProposalStatus};

/// A waitlisted talk proposed for a free place.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The proposal.
    pub proposal_id: i64,
    /// The mean of its current review scores, if reviewed.
    pub mean: Option<f64>,
}

/// The candidate for the place `dropped` left, if any waitlisted proposal of
/// its format is still in the running. `scores` holds each proposal's
/// current review scores.
pub fn candidate(
    dropped: &ProposalRow,
    proposals: &[ProposalRow],
    current: &[DecisionRow],
    scores: &HashMap<i64, Vec<i64>>,
) -> Option<Candidate> {
    let waitlisted: HashMap<i64, &DecisionRow> = current
        .iter()
        .filter(|d| d.current && d.decision == Decision::Waitlisted)
        .map(|d| (d.proposal_id, d))
        .collect();
    let mean = |id: i64| {
        scores
            .get(&id)
            .filter(|s| !s.is_empty())
            .map(|s| s.iter().sum::<i64>() as f64 / s.len() as f64)
    };
    proposals
        .iter()
        .filter(|p| p.id != dropped.id && waitlisted.contains_key(&p.id))
        .filter(|p| p.status == ProposalStatus::Submitted)
        .filter(|p| p.fields.format == dropped.fields.format)
        .map(|p| Candidate {
            proposal_id: p.id,
            mean: mean(p.id),
        })
        .min_by(|a, b| {
            let key = |c: &Candidate| c.mean.map_or(f64::INFINITY, |m| -m);
            key(a)
                .total_cmp(&key(b))
                .then(a.proposal_id.cmp(&b.proposal_id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: i64, format: &str, status: ProposalStatus) -> ProposalRow {
        let mut p = crate::model::fixtures::proposal(id, status);
        p.fields.format = Some(format.into());
        p
    }

    fn d(id: i64, decision: Decision) -> DecisionRow {
        crate::model::fixtures::decision(id, decision)
    }

    #[test]
    fn the_best_ranked_waitlisted_talk_of_the_same_format_still_in_the_running() {
        use ProposalStatus::*;
        let ps = [
            p(1, "talk-25", Submitted),
            p(2, "talk-25", Submitted),
            p(3, "talk-25", Submitted),
            p(4, "talk-45", Submitted),
            p(5, "talk-25", Withdrawn),
            p(6, "talk-25", Submitted),
            p(7, "talk-25", Submitted),
        ];
        let ds = [
            d(1, Decision::Accepted),
            d(2, Decision::Waitlisted),
            d(3, Decision::Waitlisted),
            d(4, Decision::Waitlisted),
            d(5, Decision::Waitlisted),
            d(6, Decision::Rejected),
            d(7, Decision::Waitlisted),
        ];
        let scores = HashMap::from([
            (2, vec![3, 4]),
            (3, vec![5, 4]),
            (4, vec![5, 5]),
            (5, vec![5, 5]),
            (6, vec![5]),
        ]);
        let c = candidate(&ps[0], &ps, &ds, &scores).unwrap();
        assert_eq!((c.proposal_id, c.mean), (3, Some(4.5)));
        // Equal means: the earlier proposal; unreviewed ones come last.
        let scores = HashMap::from([(2, vec![4]), (3, vec![4])]);
        assert_eq!(candidate(&ps[0], &ps, &ds, &scores).unwrap().proposal_id, 2);
        let none = HashMap::new();
        let c = candidate(&ps[0], &ps, &ds, &none).unwrap();
        assert_eq!((c.proposal_id, c.mean), (2, None));
        // No waitlisted talk of that format: nobody.
        assert_eq!(candidate(&ps[3], &ps[..4], &ds[..3], &scores), None);
    }
}
