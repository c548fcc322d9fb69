//! The two objectives of `cfpd assign` (`[review] objective`) and the figures the preview
//! shows for either.
//!
//! # Definitions
//!
//! * The **affinity of a proposal** in an assignment is the affinity of its *weakest*
//!   assigned pair: the least-suited reviewer it gets. (A proposal with no reviewer needed
//!   has none and does not count.) The **worst-served proposal** is the one whose weakest
//!   pair is lowest; [`Figures::worst`] is that value.
//! * `total` ([`Objective::Total`]): maximise the sum of the affinities of all pairs, then
//!   balance the loads (the solver's own lexicographic objective, [`super::solver`]).
//! * `fair` ([`Objective::Fair`]): first maximise the **floor** — the smallest affinity
//!   among the pairs the solver chooses — then, among all assignments with that floor,
//!   maximise the total, then balance the loads. Pairs already fixed (assignments made
//!   earlier, kept as they are) are not the solver's choice, so they do not bound the
//!   floor; on a first `cfpd assign` there are none and the floor *is* the worst-served
//!   proposal's affinity.
//!
//! Maximising the minimum of per-proposal *sums* is NP-hard in general; the weakest-pair
//! definition keeps `fair` exact and tractable: the best floor is the largest affinity
//! value `t` for which an assignment using only new pairs of affinity ≥ `t` exists (a
//! feasibility question of the same flow problem), found by binary search over the
//! distinct affinity values of the allowed pairs; the solve at that `t` is the exact total
//! optimum under it. Every constraint (K per proposal, load bounds, conflicts, exclusions,
//! fixed pairs) is the solver's, so `fair` can never break one.
//!
//! The `total` path is [`solver::solve_observed`] unchanged; `fair` costs about
//! `log2(distinct affinities)` more solves, each over the same problem with the pairs
//! under the tried floor excluded. Pure: no I/O.

use super::problem::Problem;
use super::solver::{self, Solution, SolveError, SolveObserver};
use crate::model::Objective;

/// What the preview reports for an assignment, whichever objective chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    /// The worst-served proposal (index) and its affinity (its weakest pair's), `None`
    /// when no proposal has a pair.
    pub worst: Option<(usize, i64)>,
    /// Σ affinity over all pairs.
    pub total: i64,
}

/// The figures of `pairs` (proposal, reviewer, affinity) over `n_proposals` proposals.
/// Ties between equally served proposals go to the lowest index, so the output is stable.
pub fn figures(pairs: &[(usize, usize, i64)], n_proposals: usize) -> Figures {
    let mut weakest: Vec<Option<i64>> = vec![None; n_proposals];
    for &(p, _, a) in pairs {
        weakest[p] = Some(weakest[p].map_or(a, |w| w.min(a)));
    }
    let worst = weakest
        .iter()
        .enumerate()
        .filter_map(|(p, w)| w.map(|w| (p, w)))
        .min_by_key(|&(p, w)| (w, p));
    Figures {
        worst,
        total: pairs.iter().map(|x| x.2).sum(),
    }
}

/// The smallest affinity among the solution's *new* pairs (the fair objective's floor).
pub fn floor(s: &Solution) -> Option<i64> {
    s.added.iter().map(|x| x.2).min()
}

/// Solve for `objective`: [`Objective::Total`] is the solver as it is; [`Objective::Fair`]
/// maximises the floor, then the total (see the module docs). Infeasible problems are
/// reported exactly as by the solver.
pub fn solve(
    p: &Problem,
    objective: Objective,
    observer: &dyn SolveObserver,
) -> Result<Solution, SolveError> {
    let best_total = solver::solve_observed(p, observer)?;
    match objective {
        Objective::Total => Ok(best_total),
        Objective::Fair => fairest(p, best_total),
    }
}

/// Binary search for the largest feasible floor, starting from the total optimum (whose
/// floor is feasible by construction).
fn fairest(p: &Problem, best_total: Solution) -> Result<Solution, SolveError> {
    let Some(lowest) = floor(&best_total) else {
        return Ok(best_total); // Nothing to choose: every pair is fixed.
    };
    let allowed = allowed_pairs(p);
    let mut values: Vec<i64> = allowed
        .iter()
        .map(|&(i, r)| p.affinity.get(i, r) as i64)
        .filter(|&a| a >= lowest)
        .collect();
    values.sort_unstable();
    values.dedup();
    if values.is_empty() {
        return Ok(best_total);
    }
    // values[lo] is feasible (with `best`); everything above hi is not.
    let (mut lo, mut hi) = (0usize, values.len() - 1);
    let mut best = best_total;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match with_floor(p, &allowed, values[mid]) {
            Ok(s) => {
                lo = mid;
                best = s;
            }
            Err(SolveError::Infeasible(_)) => hi = mid - 1,
            Err(e) => return Err(e),
        }
    }
    Ok(best)
}

/// The problem with every allowed pair under `t` excluded, solved.
fn with_floor(p: &Problem, allowed: &[(usize, usize)], t: i64) -> Result<Solution, SolveError> {
    let mut q = p.clone();
    q.excluded.extend(
        allowed
            .iter()
            .copied()
            .filter(|&(i, r)| (p.affinity.get(i, r) as i64) < t),
    );
    solver::solve(&q)
}

/// Pairs the solver may choose: not a conflict, not excluded, not already fixed, for a
/// proposal that still needs a reviewer.
fn allowed_pairs(p: &Problem) -> Vec<(usize, usize)> {
    let (np, nr) = (p.proposals.len(), p.reviewers.len());
    let mut blocked = vec![false; np * nr];
    let mut have = vec![0u32; np];
    for c in &p.conflicts {
        blocked[c.proposal * nr + c.reviewer] = true;
    }
    for &(i, r) in &p.excluded {
        blocked[i * nr + r] = true;
    }
    for &(i, r) in &p.fixed {
        if !blocked[i * nr + r] {
            have[i] += 1;
        }
        blocked[i * nr + r] = true;
    }
    let mut out = Vec::new();
    for i in 0..np {
        if have[i] >= p.proposals[i].k {
            continue;
        }
        for r in 0..nr {
            if !blocked[i * nr + r] {
                out.push((i, r));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
