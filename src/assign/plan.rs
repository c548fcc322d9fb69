//! Turning the stored roster, proposals and assignments into a solver [`Problem`].
//!
//! Two shapes, one set of rules (so the chair's `cfpd assign` and the reassignment after a
//! reviewer's `decline`/`conflict` can never disagree about who may review what):
//!
//! * [`full`]: every submitted proposal; existing active assignments are fixed, declined
//!   pairs excluded, declared conflicts forbidden (incremental fill).
//! * [`refill`]: one proposal only, the rest of each reviewer's work passed as
//!   [`Problem::external_load`] and minimum loads relaxed to 0 — so a released slot goes to
//!   the next-best eligible reviewer (highest affinity, then the least loaded) without
//!   touching, or reading the conflicts of, any other proposal.
//!
//! Both weigh the reviewers' bids the same way ([`bid_weight`]): the affinity of a pair is
//! `round(1000 · Jaccard(topics)) + bid weight`, with `yes` = +1000, `maybe` = +500, no bid
//! = 0 and `no` = −1000, so a `yes` outweighs any topic match and a `no` any topic match the
//! other way; a `conflict` bid forbids the pair like a declared conflict.
//!
//! Pure: no database, no clock.

use std::collections::{BTreeMap, HashMap};

use super::conflict::{proposal_conflict, ConflictReason};
use super::problem::{Affinity, AffinityTable, ConflictPair, Problem, ProposalNeed, ReviewerCap};
use crate::model::{
    Assignment, AssignmentState, Bid, BidKind, ProposalRow, ProposalStatus, Reviewer,
};

/// A problem plus what the chair's preview reports about it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The problem; proposal index `i` is `proposals[i]` of the input, reviewer index `r`
    /// is `reviewers[r]`.
    pub problem: Problem,
    /// Pairs blocked by a conflict, counted per human-readable reason.
    pub blocked: BTreeMap<String, usize>,
}

/// What a bid adds to a pair's topic affinity (`None`: the pair is forbidden). The steps
/// are a whole topic match (1000) apart, so yes > maybe > no bid > no whatever the topics.
pub fn bid_weight(kind: BidKind) -> Option<i32> {
    match kind {
        BidKind::Yes => Some(1000),
        BidKind::Maybe => Some(500),
        BidKind::No => Some(-1000),
        BidKind::Conflict => None,
    }
}

/// What the preview says about a pair blocked by a `conflict` bid.
pub const CONFLICT_BID: &str = "the reviewer bid \"conflict\"";

/// Weigh the bids into the problem: `conflict` bids become declared conflicts, the others
/// change their pair's affinity (the table becomes dense, one value per pair, when any
/// bid does). `pidx`/`ridx` map stored ids to problem indices; bids on anything else are
/// ignored.
fn apply_bids(
    problem: &mut Problem,
    blocked: &mut BTreeMap<String, usize>,
    bids: &[Bid],
    pidx: &HashMap<i64, usize>,
    ridx: &HashMap<i64, usize>,
) {
    let (np, nr) = (problem.proposals.len(), problem.reviewers.len());
    let mut delta: HashMap<(usize, usize), i32> = HashMap::new();
    for b in bids {
        let (Some(&pi), Some(&ri)) = (pidx.get(&b.proposal_id), ridx.get(&b.reviewer_id)) else {
            continue;
        };
        match bid_weight(b.kind) {
            Some(0) => {}
            Some(w) => {
                delta.insert((pi, ri), w);
            }
            None => {
                *blocked.entry(CONFLICT_BID.to_string()).or_default() += 1;
                problem.conflicts.push(ConflictPair {
                    proposal: pi,
                    reviewer: ri,
                    reason: ConflictReason::Declared,
                });
            }
        }
    }
    if delta.is_empty() {
        return;
    }
    let topics = &problem.affinity;
    problem.affinity = AffinityTable::from_fn(np, nr, |p, r| {
        topics.get(p, r) + delta.get(&(p, r)).copied().unwrap_or(0)
    });
}

fn need(p: &ProposalRow, default_k: u32) -> u32 {
    p.reviewers_needed.map_or(default_k, |k| k.max(0) as u32)
}

fn conflicts_of(
    pi: usize,
    p: &ProposalRow,
    reviewers: &[Reviewer],
    problem: &mut Problem,
    blocked: &mut BTreeMap<String, usize>,
) {
    // The speaker is verified; co-speakers are the speaker's claim (see
    // `proposal_conflict`): they block only the reviewers they name exactly.
    let co = p.fields.co_speakers.as_deref().unwrap_or_default();
    for (ri, r) in reviewers.iter().enumerate() {
        if let Some(reason) = proposal_conflict(&r.email, &r.conflicts, &p.speaker_email, co) {
            *blocked.entry(reason.to_string()).or_default() += 1;
            problem.conflicts.push(ConflictPair {
                proposal: pi,
                reviewer: ri,
                reason,
            });
        }
    }
}

/// Apply one stored assignment to the problem: active pairs are fixed, declared conflicts
/// forbidden as conflicts, declined pairs and pairs a chair removed excluded (never
/// offered again).
fn apply_existing(problem: &mut Problem, pi: usize, ri: usize, state: AssignmentState) {
    match state {
        AssignmentState::Active => problem.fixed.push((pi, ri)),
        AssignmentState::Conflict => problem.conflicts.push(ConflictPair {
            proposal: pi,
            reviewer: ri,
            reason: ConflictReason::Declared,
        }),
        AssignmentState::Declined | AssignmentState::Removed => problem.excluded.push((pi, ri)),
    }
}

/// An active assignment of a reviewer no longer on the roster (a chair
/// removed them; their finished review is kept): it counts towards the
/// proposal's reviewers, so nobody is added in its place.
fn kept_off_roster(problem: &mut Problem, pi: usize, state: AssignmentState) {
    if state == AssignmentState::Active {
        let k = &mut problem.proposals[pi].k;
        *k = k.saturating_sub(1);
    }
}

/// Every proposal in `proposals` against the whole roster (the chair's `cfpd assign`).
pub fn full(
    proposals: &[ProposalRow],
    reviewers: &[Reviewer],
    existing: &[Assignment],
    bids: &[Bid],
    default_k: u32,
) -> Plan {
    let pidx: HashMap<i64, usize> = proposals
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    let ridx: HashMap<i64, usize> = reviewers
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    let ptopics: Vec<Vec<String>> = proposals
        .iter()
        .map(|p| p.topics.iter().map(|t| t.id.clone()).collect())
        .collect();
    let rtopics: Vec<Vec<String>> = reviewers.iter().map(|r| r.topics.clone()).collect();
    let table = AffinityTable::from_topics(&ptopics, &rtopics, &Affinity::Jaccard);
    let mut problem = Problem::new(
        proposals
            .iter()
            .map(|p| ProposalNeed {
                id: p.reference(),
                k: need(p, default_k),
            })
            .collect(),
        reviewers
            .iter()
            .map(|r| ReviewerCap {
                id: r.email.clone(),
                min_load: r.min_load as u32,
                max_load: r.max_load as u32,
            })
            .collect(),
        table,
    );
    let mut blocked = BTreeMap::new();
    for (pi, p) in proposals.iter().enumerate() {
        conflicts_of(pi, p, reviewers, &mut problem, &mut blocked);
    }
    for a in existing {
        match (pidx.get(&a.proposal_id), ridx.get(&a.reviewer_id)) {
            (Some(&pi), Some(&ri)) => apply_existing(&mut problem, pi, ri, a.state),
            (Some(&pi), None) => kept_off_roster(&mut problem, pi, a.state),
            _ => {}
        }
    }
    apply_bids(&mut problem, &mut blocked, bids, &pidx, &ridx);
    Plan { problem, blocked }
}

/// The proposals a reviewer is asked about: submitted, sharing a topic with the reviewer,
/// and without a conflict the roster already knows (speaker, institution, listed).
pub fn proposals_for<'a>(r: &Reviewer, props: &'a [ProposalRow]) -> Vec<&'a ProposalRow> {
    props
        .iter()
        .filter(|p| p.status == ProposalStatus::Submitted)
        .filter(|p| p.topics.iter().any(|t| r.topics.contains(&t.id)))
        .filter(|p| {
            let co = p.fields.co_speakers.as_deref().unwrap_or_default();
            proposal_conflict(&r.email, &r.conflicts, &p.speaker_email, co).is_none()
        })
        .collect()
}

/// How many of an assignment's pairs were bid yes, maybe, no, or not at all (the preview's
/// line; `conflict` pairs are never assigned).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BidCounts {
    /// Pairs bid `yes`.
    pub yes: usize,
    /// Pairs bid `maybe`.
    pub maybe: usize,
    /// Pairs bid `no`.
    pub no: usize,
    /// Pairs without a bid.
    pub none: usize,
}

/// Count the bids behind `pairs` (proposal index, reviewer index, affinity).
pub fn bid_counts(
    pairs: &[(usize, usize, i64)],
    proposals: &[ProposalRow],
    reviewers: &[Reviewer],
    bids: &[Bid],
) -> BidCounts {
    let by_pair: HashMap<(i64, i64), BidKind> = bids
        .iter()
        .map(|b| ((b.proposal_id, b.reviewer_id), b.kind))
        .collect();
    let mut c = BidCounts::default();
    for &(p, r, _) in pairs {
        match by_pair.get(&(proposals[p].id, reviewers[r].id)) {
            Some(BidKind::Yes) => c.yes += 1,
            Some(BidKind::Maybe) => c.maybe += 1,
            Some(BidKind::No) => c.no += 1,
            Some(BidKind::Conflict) | None => c.none += 1,
        }
    }
    c
}

/// One proposal against the whole roster, to refill it after a release.
///
/// `own` are the proposal's stored assignments (any state); `active_load` is every
/// reviewer's number of active assignments over *all* proposals (this one included).
pub fn refill(
    proposal: &ProposalRow,
    reviewers: &[Reviewer],
    own: &[Assignment],
    active_load: &HashMap<i64, u32>,
    bids: &[Bid],
    default_k: u32,
) -> Plan {
    let ridx: HashMap<i64, usize> = reviewers
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    let ptopics = vec![proposal
        .topics
        .iter()
        .map(|t| t.id.clone())
        .collect::<Vec<_>>()];
    let rtopics: Vec<Vec<String>> = reviewers.iter().map(|r| r.topics.clone()).collect();
    let table = AffinityTable::from_topics(&ptopics, &rtopics, &Affinity::Jaccard);
    let mut problem = Problem::new(
        vec![ProposalNeed {
            id: proposal.reference(),
            k: need(proposal, default_k),
        }],
        reviewers
            .iter()
            .map(|r| ReviewerCap {
                id: r.email.clone(),
                min_load: 0,
                max_load: r.max_load.max(0) as u32,
            })
            .collect(),
        table,
    );
    let mut blocked = BTreeMap::new();
    conflicts_of(0, proposal, reviewers, &mut problem, &mut blocked);
    let mut external: Vec<u32> = reviewers
        .iter()
        .map(|r| active_load.get(&r.id).copied().unwrap_or(0))
        .collect();
    for a in own {
        if let Some(&ri) = ridx.get(&a.reviewer_id) {
            if a.state == AssignmentState::Active {
                // Counted as a fixed pair of this problem, not as outside work.
                external[ri] = external[ri].saturating_sub(1);
            }
            apply_existing(&mut problem, 0, ri, a.state);
        } else {
            kept_off_roster(&mut problem, 0, a.state);
        }
    }
    problem.external_load = external;
    let pidx: HashMap<i64, usize> = [(proposal.id, 0)].into_iter().collect();
    apply_bids(&mut problem, &mut blocked, bids, &pidx, &ridx);
    Plan { problem, blocked }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::solver::solve;
    use crate::model::ProposalStatus;
    use crate::proposal::{Fields, FiledTopic, TagOverrides};

    fn proposal(id: i64, speaker: &str, topics: &[&str]) -> ProposalRow {
        ProposalRow {
            id,
            speaker_email: speaker.into(),
            speaker_name: None,
            status: ProposalStatus::Submitted,
            version: 1,
            created_at: 0,
            updated_at: 0,
            fields: Fields::default(),
            problems: vec![],
            topics: topics
                .iter()
                .map(|t| FiledTopic {
                    id: t.to_string(),
                    name: t.to_string(),
                    score: 1.0,
                    evidence: vec![],
                })
                .collect(),
            overrides: TagOverrides::default(),
            reviewers_needed: None,
        }
    }

    fn reviewer(id: i64, email: &str, topics: &[&str], max_load: i64) -> Reviewer {
        Reviewer {
            id,
            email: email.into(),
            name: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            min_load: 1,
            max_load,
            conflicts: vec![],
        }
    }

    fn assignment(id: i64, p: i64, r: i64, state: AssignmentState) -> Assignment {
        Assignment {
            id,
            proposal_id: p,
            reviewer_id: r,
            affinity: 0,
            state,
        }
    }

    #[test]
    fn refill_skips_released_conflicted_and_full_reviewers_and_prefers_the_least_loaded() {
        let p = proposal(1, "ada@uni.edu", &["frontend"]);
        let revs = vec![
            reviewer(1, "rita@x.org", &["frontend"], 5), // declined it
            reviewer(2, "sam@y.org", &["frontend"], 5),  // declared a conflict
            reviewer(3, "tom@cs.uni.edu", &["frontend"], 5), // same institution as Ada
            reviewer(4, "uma@z.org", &["frontend"], 2),  // full elsewhere
            reviewer(5, "vic@v.org", &["frontend"], 5),  // 3 elsewhere
            reviewer(6, "wes@w.org", &["frontend"], 5),  // 1 elsewhere: the pick
            reviewer(7, "xia@q.org", &["database"], 5),  // idle but no matching topic
            reviewer(8, "yan@r.org", &["frontend"], 5),  // already active on it
        ];
        let own = vec![
            assignment(1, 1, 1, AssignmentState::Declined),
            assignment(2, 1, 2, AssignmentState::Conflict),
            assignment(3, 1, 8, AssignmentState::Active),
        ];
        let loads: HashMap<i64, u32> = [(4, 2), (5, 3), (6, 1), (8, 4), (1, 0)]
            .into_iter()
            .collect();
        let plan = refill(&p, &revs, &own, &loads, &[], 2);
        assert_eq!(plan.problem.external_load, vec![0, 0, 0, 2, 3, 1, 0, 3]);
        assert!(plan.problem.reviewers.iter().all(|r| r.min_load == 0));
        let s = solve(&plan.problem).unwrap();
        assert_eq!(s.added.len(), 1);
        assert_eq!(revs[s.added[0].1].email, "wes@w.org");
        assert_eq!(plan.blocked.len(), 1, "{:?}", plan.blocked);
    }

    #[test]
    fn full_fixes_active_pairs_and_forbids_released_ones() {
        let ps = vec![
            proposal(1, "ada@a.org", &["frontend"]),
            proposal(2, "bob@b.org", &["database"]),
        ];
        let revs = vec![
            reviewer(1, "rita@x.org", &["frontend"], 5),
            reviewer(2, "sam@y.org", &["database"], 5),
        ];
        let existing = vec![
            assignment(1, 1, 1, AssignmentState::Active),
            assignment(2, 2, 1, AssignmentState::Declined),
            assignment(3, 2, 2, AssignmentState::Conflict),
        ];
        let plan = full(&ps, &revs, &existing, &[], 1);
        assert_eq!(plan.problem.fixed, vec![(0, 0)]);
        assert_eq!(plan.problem.excluded, vec![(1, 0)]);
        assert!(plan.problem.conflicts.iter().any(
            |c| (c.proposal, c.reviewer, c.reason.clone()) == (1, 1, ConflictReason::Declared)
        ));
        // P-0002 has nobody left: the solver says so instead of reusing a released pair.
        assert!(solve(&plan.problem).is_err());
    }

    #[test]
    fn a_removed_reviewers_kept_review_counts_and_removed_pairs_are_never_offered_again() {
        let p = proposal(1, "ada@a.org", &["frontend"]);
        // Reviewer 9 left the roster with a finished (still active) review;
        // reviewer 1 was taken off by a chair; 2 and 3 remain.
        let revs = vec![
            reviewer(1, "rita@x.org", &["frontend"], 5),
            reviewer(2, "sam@y.org", &["frontend"], 5),
            reviewer(3, "tom@z.org", &["frontend"], 5),
        ];
        let own = vec![
            assignment(1, 1, 9, AssignmentState::Active),
            assignment(2, 1, 1, AssignmentState::Removed),
        ];
        let plan = refill(&p, &revs, &own, &HashMap::new(), &[], 2);
        assert_eq!(plan.problem.proposals[0].k, 1, "the kept review counts");
        assert_eq!(plan.problem.excluded, vec![(0, 0)]);
        let s = solve(&plan.problem).unwrap();
        assert_eq!(s.added.len(), 1);
        assert_ne!(revs[s.added[0].1].email, "rita@x.org");
        let full_plan = full(std::slice::from_ref(&p), &revs, &own, &[], 2);
        assert_eq!(full_plan.problem.proposals[0].k, 1);
        assert_eq!(full_plan.problem.excluded, vec![(0, 0)]);
    }

    #[test]
    fn bids_move_the_assignment_and_a_conflict_bid_forbids_the_pair() {
        let ps = vec![
            proposal(1, "ada@a.org", &["frontend"]),
            proposal(2, "bob@b.org", &["frontend"]),
        ];
        let revs = vec![
            reviewer(1, "rita@x.org", &["frontend"], 1),
            reviewer(2, "sam@y.org", &["frontend"], 1),
        ];
        let bid = |r, p, kind| Bid {
            reviewer_id: r,
            proposal_id: p,
            kind,
        };
        // Topics alone tie; the solver's tie-break picks one way.
        let plain = solve(&full(&ps, &revs, &[], &[], 1).problem).unwrap();
        // Rita bids yes on the talk she did not get, Sam maybe on the other.
        let (p_r, p_s) = if plain.pairs.contains(&(0, 0, 1000)) {
            (2, 1)
        } else {
            (1, 2)
        };
        let bids = vec![bid(1, p_r, BidKind::Yes), bid(2, p_s, BidKind::Maybe)];
        let plan = full(&ps, &revs, &[], &bids, 1);
        let s = solve(&plan.problem).unwrap();
        assert_ne!(s.pairs, plain.pairs, "the bids changed the assignment");
        assert_eq!(s.objective, 1000 + 1000 + 1000 + 500);
        let c = bid_counts(&s.pairs, &ps, &revs, &bids);
        assert_eq!(
            c,
            BidCounts {
                yes: 1,
                maybe: 1,
                no: 0,
                none: 0
            }
        );
        // A "no" weighs against a perfect topic match; a conflict is never assigned.
        let bids = vec![bid(1, 1, BidKind::No), bid(2, 2, BidKind::Conflict)];
        let plan = full(&ps, &revs, &[], &bids, 1);
        assert_eq!(plan.blocked.get(CONFLICT_BID), Some(&1));
        let s = solve(&plan.problem).unwrap();
        assert_eq!(s.pairs, vec![(0, 1, 1000), (1, 0, 1000)]);
        // The refill honours the conflict bid too: only Rita is left for P-0002.
        let loads: HashMap<i64, u32> = HashMap::new();
        let plan = refill(&ps[1], &revs, &[], &loads, &bids, 1);
        let s = solve(&plan.problem).unwrap();
        assert_eq!(s.added, vec![(0, 0, 1000)]);
        assert!(bid_weight(BidKind::Yes) > bid_weight(BidKind::Maybe));
        assert!(bid_weight(BidKind::Maybe).unwrap() > 0 && bid_weight(BidKind::No).unwrap() < 0);
    }
}
