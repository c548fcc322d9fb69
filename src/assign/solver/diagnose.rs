//! Explaining infeasibility in the chair's words: cheap necessary checks before the solve
//! ([`diagnose`]) and, when the network still needs artificial flow, a Hall-type witness
//! naming the proposals that compete for too few reviewers.

use std::fmt;

use super::prep::{BlockKind, Prep};
use super::SolveError;
use crate::assign::problem::Problem;

/// Per-kind counts of why reviewers cannot take a proposal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockedCounts {
    /// Reviewers who speak on the proposal.
    pub speaker: u32,
    /// Reviewers at a speaker's institution.
    pub same_institution: u32,
    /// Reviewers whose conflict list names a speaker.
    pub listed: u32,
    /// Reviewers who declared a conflict.
    pub declared: u32,
    /// Reviewers who declined or were removed from the proposal.
    pub excluded: u32,
    /// Reviewers already reviewing it (fixed pairs; they count toward k already).
    pub already: u32,
    /// Reviewers with no capacity left (fixed load at max_load, or max_load 0).
    pub full: u32,
}

/// A named reason the problem has no solution. `Display` gives a sentence for the chair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Infeasibility {
    /// Malformed input (bad index, mismatched affinity table).
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// A proposal has fewer eligible reviewers than it still needs.
    ProposalShort {
        /// Proposal index.
        proposal: usize,
        /// Proposal id, for the message.
        id: String,
        /// Reviewers still needed (k minus fixed).
        need: u32,
        /// Reviewers who could take it.
        eligible: u32,
        /// Reviewers in total.
        reviewers: u32,
        /// Why the others cannot.
        blocked: BlockedCounts,
    },
    /// More reviewer slots are needed than all reviewers can give.
    CapacityShort {
        /// Σ needed slots.
        demand: u64,
        /// Σ remaining max loads.
        capacity: u64,
    },
    /// Minimum loads add up to more than there is work.
    MinLoadsExceedDemand {
        /// Σ remaining minimum loads.
        min_total: u64,
        /// Σ needed slots.
        demand: u64,
    },
    /// A reviewer's minimum load exceeds their maximum.
    ReviewerBounds {
        /// Reviewer index.
        reviewer: usize,
        /// Reviewer id.
        id: String,
        /// Its min_load.
        min_load: u32,
        /// Its max_load.
        max_load: u32,
    },
    /// Fixed assignments already exceed a reviewer's maximum load.
    ReviewerOverFixed {
        /// Reviewer index.
        reviewer: usize,
        /// Reviewer id.
        id: String,
        /// Fixed pairs of this reviewer.
        fixed: u32,
        /// Its max_load.
        max_load: u32,
    },
    /// Fixed assignments already exceed a proposal's k.
    ProposalOverFixed {
        /// Proposal index.
        proposal: usize,
        /// Proposal id.
        id: String,
        /// Fixed pairs of this proposal.
        fixed: u32,
        /// Its k.
        k: u32,
    },
    /// A reviewer cannot reach min_load: too few proposals they may review need reviewers.
    ReviewerCannotReachMin {
        /// Reviewer index.
        reviewer: usize,
        /// Reviewer id.
        id: String,
        /// Load still needed to reach min_load.
        missing: u32,
        /// Proposals that still need reviewers and that this reviewer may take.
        eligible: u32,
    },
    /// Hall-type shortage: this group of proposals needs more reviewer slots than all
    /// reviewers together can give it (a reviewer gives the group at most its remaining
    /// capacity, and at most one slot per proposal of the group it may review).
    GroupShort {
        /// Proposal indices of the group.
        proposals: Vec<usize>,
        /// Their ids.
        proposal_ids: Vec<String>,
        /// Bottleneck reviewers: eligible for the group and fully used by it.
        reviewers: Vec<usize>,
        /// Their ids.
        reviewer_ids: Vec<String>,
        /// Slots the group needs.
        demand: u64,
        /// Most slots the reviewers can give the group: Σ_r min(capacity left, proposals of
        /// the group r may review).
        capacity: u64,
    },
    /// Constraints interact (typically minimum loads) so that these proposals stay short.
    Unsatisfiable {
        /// Ids of proposals left short in the best attempt.
        short_proposals: Vec<String>,
        /// Ids of reviewers left under their minimum load in the best attempt.
        underloaded_reviewers: Vec<String>,
    },
}

/// The first ten ids, then how many more: a diagnosis stays one readable sentence.
fn list_ids(ids: &[String]) -> String {
    const SHOW: usize = 10;
    let mut s = ids
        .iter()
        .take(SHOW)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOW {
        s.push_str(&format!(" and {} more", ids.len() - SHOW));
    }
    s
}

/// `n` with the singular or plural noun.
fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Infeasibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Infeasibility::InvalidInput { message } => write!(f, "Invalid input: {message}."),
            Infeasibility::ProposalShort {
                id,
                need,
                eligible,
                reviewers,
                blocked: b,
                ..
            } => {
                write!(
                    f,
                    "Proposal {id} needs {} but only {eligible} of the {} can take it",
                    plural(*need, "more reviewer", "more reviewers"),
                    plural(*reviewers, "reviewer", "reviewers")
                )?;
                let mut why = Vec::new();
                let mut add = |n: u32, one: &str, many: &str| {
                    if n > 0 {
                        why.push(format!("{n} {}", if n == 1 { one } else { many }));
                    }
                };
                add(b.speaker, "is a speaker on it", "are speakers on it");
                add(
                    b.same_institution,
                    "is at a speaker's institution",
                    "are at a speaker's institution",
                );
                add(
                    b.listed,
                    "lists a speaker as a conflict",
                    "list a speaker as a conflict",
                );
                add(b.declared, "declared a conflict", "declared a conflict");
                add(
                    b.excluded,
                    "declined it or was removed from it",
                    "declined it or were removed from it",
                );
                add(b.already, "already reviews it", "already review it");
                add(
                    b.full,
                    "has no capacity left (max load reached)",
                    "have no capacity left (max load reached)",
                );
                if why.is_empty() {
                    write!(f, ": there are not enough reviewers.")
                } else {
                    write!(f, ": {}.", why.join(", "))
                }
            }
            Infeasibility::CapacityShort { demand, capacity } => write!(
                f,
                "Proposals need {demand} reviewer slots in total but the reviewers' maximum loads allow only {capacity}: raise max loads or add {} slots' worth of reviewers.",
                demand - capacity
            ),
            Infeasibility::MinLoadsExceedDemand { min_total, demand } => write!(
                f,
                "Reviewers' minimum loads add up to {min_total} but proposals need only {demand} reviewer slots: lower the minimum loads."
            ),
            Infeasibility::ReviewerBounds {
                id,
                min_load,
                max_load,
                ..
            } => write!(
                f,
                "Reviewer {id} has min load {min_load} above max load {max_load}."
            ),
            Infeasibility::ReviewerOverFixed {
                id, fixed, max_load, ..
            } => write!(
                f,
                "Reviewer {id} already has {} but max load {max_load}.",
                plural(*fixed, "assignment", "assignments")
            ),
            Infeasibility::ProposalOverFixed { id, fixed, k, .. } => write!(
                f,
                "Proposal {id} already has {} but needs exactly {k}.",
                plural(*fixed, "reviewer", "reviewers")
            ),
            Infeasibility::ReviewerCannotReachMin {
                id,
                missing,
                eligible,
                ..
            } => write!(
                f,
                "Reviewer {id} needs {} to reach their minimum load but may review only {} that still need reviewers.",
                plural(*missing, "more assignment", "more assignments"),
                plural(*eligible, "proposal", "proposals")
            ),
            Infeasibility::GroupShort {
                proposal_ids,
                reviewer_ids,
                demand,
                capacity,
                ..
            } => write!(
                f,
                "{} ({}) need {demand} reviewer slots, but the reviewers allowed to review them can give at most {capacity} (each takes a proposal at most once and no more than their remaining load); the bottleneck is {} ({}): add reviewers for these topics, raise those max loads or lower k.",
                plural(proposal_ids.len() as u64, "proposal", "proposals"),
                list_ids(proposal_ids),
                plural(reviewer_ids.len() as u64, "reviewer", "reviewers"),
                list_ids(reviewer_ids)
            ),
            Infeasibility::Unsatisfiable {
                short_proposals,
                underloaded_reviewers,
            } => {
                write!(
                    f,
                    "No assignment meets every constraint: proposals {} stay short",
                    list_ids(short_proposals)
                )?;
                if !underloaded_reviewers.is_empty() {
                    write!(
                        f,
                        " while reviewers {} would stay under their minimum load",
                        list_ids(underloaded_reviewers)
                    )?;
                }
                write!(f, "; minimum loads and conflicts cannot all be met.")
            }
        }
    }
}

/// Cheap necessary feasibility checks; empty when nothing is wrong as far as checked.
///
/// Checks: reviewer bounds (min > max, fixed > max), proposals over-fixed, every proposal
/// has at least as many eligible reviewers as it still needs (with per-kind reasons when not),
/// total capacity ≥ total need, total minimum load ≤ total need, every reviewer with a
/// minimum load has enough eligible proposals. [`solve`](super::solve) additionally detects the remaining
/// (Hall-type) infeasibilities exactly.
pub fn diagnose(p: &Problem) -> Vec<Infeasibility> {
    match Prep::new(p) {
        Ok(prep) => diagnose_prepared(p, &prep),
        // Worded as `solve` words it, so both name the same problem the same way.
        Err(e) => vec![Infeasibility::InvalidInput {
            message: SolveError::from(e).to_string(),
        }],
    }
}

/// [`diagnose`] on an already validated problem.
pub(super) fn diagnose_prepared(p: &Problem, prep: &Prep) -> Vec<Infeasibility> {
    let mut out = Vec::new();
    for (r, rev) in p.reviewers.iter().enumerate() {
        if rev.min_load > rev.max_load {
            out.push(Infeasibility::ReviewerBounds {
                reviewer: r,
                id: rev.id.clone(),
                min_load: rev.min_load,
                max_load: rev.max_load,
            });
        }
        if prep.fixed_load[r] > rev.max_load {
            out.push(Infeasibility::ReviewerOverFixed {
                reviewer: r,
                id: rev.id.clone(),
                fixed: prep.fixed_load[r],
                max_load: rev.max_load,
            });
        }
    }
    for (i, prop) in p.proposals.iter().enumerate() {
        if prep.fixed_p[i] > prop.k {
            out.push(Infeasibility::ProposalOverFixed {
                proposal: i,
                id: prop.id.clone(),
                fixed: prep.fixed_p[i],
                k: prop.k,
            });
        }
    }
    let n_cap = prep.cap_left.iter().filter(|&&c| c > 0).count() as u32;
    for i in 0..prep.np {
        let need = prep.need[i];
        if need == 0 {
            continue;
        }
        let bl = prep.blocked(i);
        let lost = bl
            .iter()
            .filter(|&&(r, _)| prep.cap_left[r as usize] > 0)
            .count() as u32;
        let eligible = n_cap - lost;
        if eligible < need {
            let mut b = BlockedCounts::default();
            let mut blocked_or_full = 0u32;
            for &(r, kind) in bl {
                blocked_or_full += 1;
                let _ = r;
                match kind {
                    BlockKind::Fixed => b.already += 1,
                    BlockKind::Speaker => b.speaker += 1,
                    BlockKind::Institution => b.same_institution += 1,
                    BlockKind::Listed => b.listed += 1,
                    BlockKind::Declared => b.declared += 1,
                    BlockKind::Excluded => b.excluded += 1,
                }
            }
            b.full = prep.nr as u32 - eligible - blocked_or_full;
            out.push(Infeasibility::ProposalShort {
                proposal: i,
                id: p.proposals[i].id.clone(),
                need,
                eligible,
                reviewers: prep.nr as u32,
                blocked: b,
            });
        }
    }
    let demand: u64 = prep.need.iter().map(|&x| x as u64).sum();
    let capacity: u64 = prep.cap_left.iter().map(|&x| x as u64).sum();
    if capacity < demand {
        out.push(Infeasibility::CapacityShort { demand, capacity });
    }
    let min_total: u64 = prep.mandatory.iter().map(|&x| x as u64).sum();
    if min_total > demand {
        out.push(Infeasibility::MinLoadsExceedDemand { min_total, demand });
    }
    if min_total > 0 {
        let n_needy = prep.need.iter().filter(|&&x| x > 0).count() as u32;
        let mut lost = vec![0u32; prep.nr];
        for i in 0..prep.np {
            if prep.need[i] > 0 {
                for &(r, _) in prep.blocked(i) {
                    lost[r as usize] += 1;
                }
            }
        }
        for r in 0..prep.nr {
            let m = prep.mandatory[r];
            let eligible = n_needy - lost[r];
            if m > 0 && m > eligible && p.reviewers[r].min_load <= p.reviewers[r].max_load {
                out.push(Infeasibility::ReviewerCannotReachMin {
                    reviewer: r,
                    id: p.reviewers[r].id.clone(),
                    missing: m,
                    eligible,
                });
            }
        }
    }
    out
}

/// Explain an infeasibility found by the solver. `assigned` holds the real pairs of the
/// big-M optimum per proposal, `over` the units each reviewer took beyond its capacity
/// (through its artificial arc), `under` the reviewers left below their minimum load.
/// From the proposals left short, follow alternating paths (unused allowed pair → reviewer
/// → proposals that reviewer serves). If every reviewer reached is full, the proposals
/// reached violate the generalised Hall condition, which is reported with its numbers.
pub(super) fn witness(
    p: &Problem,
    prep: &Prep,
    mut assigned: Vec<Vec<u32>>,
    over: &[i64],
    under: &[usize],
) -> Vec<Infeasibility> {
    let (np, nr) = (prep.np, prep.nr);
    let mut served: Vec<Vec<u32>> = vec![Vec::new(); nr];
    let mut load = vec![0u32; nr];
    for (i, list) in assigned.iter().enumerate() {
        for &r in list {
            served[r as usize].push(i as u32);
            load[r as usize] += 1;
        }
    }
    // Units beyond a reviewer's capacity do not count: those proposals are short instead.
    for r in 0..nr {
        for _ in 0..over[r] {
            if let Some(q) = served[r].pop() {
                let q = q as usize;
                if let Some(pos) = assigned[q].iter().position(|&x| x as usize == r) {
                    assigned[q].remove(pos);
                }
                load[r] -= 1;
            }
        }
    }
    for a in assigned.iter_mut() {
        a.sort_unstable();
    }
    let short: Vec<usize> = (0..np)
        .filter(|&i| (assigned[i].len() as u32) < prep.need[i])
        .collect();
    let mut seen_p = vec![false; np];
    let mut seen_r = vec![false; nr];
    let mut queue: Vec<usize> = short.clone();
    for &i in &short {
        seen_p[i] = true;
    }
    let mut clean = true;
    while let Some(i) = queue.pop() {
        for r in 0..nr {
            if seen_r[r] || prep.cap_left[r] == 0 || prep.is_blocked(i, r as u32) {
                continue;
            }
            if assigned[i].binary_search(&(r as u32)).is_ok() {
                continue;
            }
            seen_r[r] = true;
            if load[r] < prep.cap_left[r] {
                clean = false;
            }
            for &q in &served[r] {
                if !seen_p[q as usize] {
                    seen_p[q as usize] = true;
                    queue.push(q as usize);
                }
            }
        }
    }
    let ids_p = |v: &[usize]| {
        v.iter()
            .map(|&i| p.proposals[i].id.clone())
            .collect::<Vec<_>>()
    };
    let ids_r = |v: &[usize]| {
        v.iter()
            .map(|&r| p.reviewers[r].id.clone())
            .collect::<Vec<_>>()
    };
    if clean && !short.is_empty() {
        // Generalised Hall bound for the reached proposals X: every reviewer gives X at most
        // min(capacity left, |eligible proposals in X|). The cut found above proves this
        // bound is below X's need.
        let ps: Vec<usize> = (0..np).filter(|&i| seen_p[i]).collect();
        let mut in_x = vec![0u64; nr];
        for &i in &ps {
            for (r, c) in in_x.iter_mut().enumerate() {
                if !prep.is_blocked(i, r as u32) {
                    *c += 1;
                }
            }
        }
        let capacity: u64 = (0..nr).map(|r| in_x[r].min(prep.cap_left[r] as u64)).sum();
        let demand: u64 = ps.iter().map(|&i| prep.need[i] as u64).sum();
        let rs: Vec<usize> = (0..nr).filter(|&r| seen_r[r]).collect();
        if capacity < demand {
            return vec![Infeasibility::GroupShort {
                proposal_ids: ids_p(&ps),
                reviewer_ids: ids_r(&rs),
                proposals: ps,
                reviewers: rs,
                demand,
                capacity,
            }];
        }
    }
    vec![Infeasibility::Unsatisfiable {
        short_proposals: ids_p(&short),
        underloaded_reviewers: ids_r(under),
    }]
}
