//! Exact reviewer assignment: maximise total affinity, then balance loads, with a proof of
//! optimality, or name in the chair's words why no assignment exists. The problem and the
//! affinity formulas are stated in [`crate::assign::problem`]. Pure: no I/O; the only
//! concurrency is pricing split over scoped threads.
//!
//! Files by concern: `prep` (validated input, remaining needs and capacities, blocked
//! pairs), `network` (grouping, cost scale, first candidates), `simplex` (the network
//! simplex), `pricing` (restricted solves and pricing rounds), `certify` (flows to pairs,
//! certificate, verification) and `diagnose` (infeasibility in words).
//!
//! # Algorithm and optimality argument
//!
//! The problem is a min-cost flow (a b-matching, whose constraint matrix is totally
//! unimodular, so the LP optimum is integral): proposal `p` supplies `need_p = k_p − fixed_p`
//! units; arc `p → r` (capacity 1, cost `−S·w(p,r)`) for every allowed pair; reviewer `r`
//! absorbs its mandatory `max(0, min_load − fixed)` units itself and sends the rest to a sink
//! through unit arcs whose costs `2ℓ − 1` are the marginal costs of `ℓ²` (convex, so they
//! fill in order and a load `ℓ` costs `ℓ² − base²`). `S = 1 + (largest possible total
//! balance cost)`, so one unit of affinity outweighs any balance difference: minimising the
//! combined cost is exactly the lexicographic (affinity, then balance) optimum.
//!
//! Proposals with identical affinity rows and the same remaining need share one network
//! node (a group of `n` members supplying `n·need`), *whatever their blocked reviewers*:
//! the arc `g → r` has capacity `n − b(g,r)`, where `b(g,r)` counts the members blocked for
//! `r` (conflict, exclusion, fixed pair). Every assignment maps to a group flow of the same
//! cost and loads, so the grouped network is a relaxation. A group flow is turned back into
//! an assignment by dealing each group's reviewer units round-robin to its members (a
//! reviewer sends at most `n` units, so its units reach distinct members, and each member
//! gets exactly `need`) and then swapping away every blocked pair: member `p` dealt a
//! blocked `r` trades it for a reviewer of another member `q` that `p` may take, when `q`
//! may take `r` (each swap removes one blocked pair, creates none and keeps every reviewer's
//! unit count, hence the cost and the loads). When that yields an assignment it attains the
//! relaxation's optimum, so it is optimal for the problem. When no swap works for some
//! member (rare: it needs a member blocked for most of its group's reviewers), that member
//! is split off into its own node and the problem is solved again; a single-member node's
//! flow is always an assignment, so this terminates. Before issue 17 every proposal with a
//! conflict was its own node (5,000 of 6,000 nodes at P=20,000), which made the network
//! simplex four times slower for no gain.
//!
//! Reviewers are aggregated the same way, but only when nothing tells them apart: one
//! affinity class, the same fixed load, mandatory load and remaining capacity, and no
//! blocked pair at all (a reviewer with a conflict, exclusion or fixed pair stays alone).
//! A node of `m` such reviewers takes `m` units on each of their balance levels, which is
//! the sum of their convex costs at the most even spread of the node's total, so the
//! aggregated network is exact: its flow is dealt back to the members round-robin (loads
//! within one of each other, at most `⌈f/m⌉ ≤ |group|` units of a group's `f` per member)
//! before the proposal-side dealing above. At P=50,000 R=20,000 this turns 20,000 reviewer
//! nodes into about 9,000 and made the network simplex, which spent most of its time
//! re-hanging large subtrees, five times faster (issue 17). An infeasible problem is solved
//! once more without reviewer aggregation, so that the shortage names real reviewers.
//!
//! All `P × R` arcs of a large instance (160 M for 20,000 × 8,000) are never built. The
//! solver keeps a small candidate arc set per group (its best reviewers by affinity, ties
//! spread deterministically, plus a greedy capacity-respecting pick so the first restricted
//! network is feasible), solves that restricted network exactly with a primal network
//! simplex (strongly feasible spanning trees rooted at the sink, block-search pivoting,
//! big-M artificial arcs), and then *prices out* every omitted pair: an omitted arc
//! `g → r` could improve the solution only if its reduced cost `−S·w(g,r) + π_g − π_r` is
//! negative. The potentials `π` used are canonical shortest-path potentials of the optimal
//! restricted flow (`π_u = −dist(u → sink)` in its residual graph), which are dual optimal for
//! the restricted problem but, unlike raw simplex potentials, never float an artificial cost
//! away from the sink in degenerate parts of the tree. Violating arcs are added (up to a few
//! per group and round; early rounds also drop arcs with positive reduced cost, later rounds
//! only add, so the loop terminates) and the simplex continues from its current basis. When
//! a full pass over all pairs finds no violation, the potentials are dual feasible for the
//! *full* problem. [`Solution::certificate`] then records the primal cost and the LP dual
//! bound `Σ_a u_a·min(0, rc_a) − Σ_i b_i·π_i` computed from those potentials over every arc;
//! they are equal, which proves optimality (weak duality) without trusting the simplex
//! internals. Pricing costs `O(groups · R)` cheap comparisons per round, done per affinity
//! class and split over threads (results merged in a fixed order, so output is deterministic).
//!
//! Infeasibility: [`diagnose`] runs cheap necessary checks first (per-proposal eligible
//! reviewers with reasons, total capacity, total minimum load, per-reviewer minimum load,
//! fixed pairs over bounds). If they pass but the network still needs artificial flow, the
//! problem is infeasible (big-M argument: artificial cost exceeds any real path cost) and
//! [`solve`] names a Hall-type witness: a set of proposals whose eligible reviewers, all
//! used up by that set, have less capacity than the set needs.
//!
//! # Incremental fill
//!
//! Put existing assignments in [`Problem::fixed`] and declined pairs in
//! [`Problem::excluded`]; proposals already at `k` need nothing, the rest are filled
//! optimally with the reviewers' remaining capacity, and fixed pairs are returned untouched.

// Index loops over parallel node/arc arrays are the clearest form for graph code.
#![allow(clippy::needless_range_loop)]

mod certify;
mod diagnose;
mod network;
mod prep;
mod pricing;
mod simplex;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Instant;

pub use diagnose::{diagnose, BlockedCounts, Infeasibility};

use crate::assign::problem::{InvalidProblem, Problem};

/// Proof data for optimality (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Weight `S` of one affinity unit against the balance cost in the combined objective.
    pub scale: i64,
    /// Combined cost of the returned solution: `−S·Σw + Σ(load² − base²)`.
    pub primal_cost: i128,
    /// LP dual bound from the final potentials over *all* allowed pairs; equal to
    /// `primal_cost` exactly when the solution is optimal.
    pub dual_bound: i128,
}

/// Counters describing how the solve went (for benchmarks and logs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SolveStats {
    /// Pricing rounds (restricted solves) until no omitted pair could improve.
    pub rounds: u32,
    /// Proposal→reviewer arcs in the final restricted network.
    pub candidate_arcs: usize,
    /// Network simplex pivots in total.
    pub pivots: u64,
    /// Pivots that changed no flow (dual-only moves).
    pub degenerate_pivots: u64,
    /// Milliseconds in the network simplex.
    pub simplex_millis: u64,
    /// Milliseconds in canonical potentials and pricing.
    pub pricing_millis: u64,
    /// Pairs examined by pricing in total.
    pub priced_pairs: u64,
    /// Proposal-side network nodes after aggregating interchangeable proposals.
    pub groups: usize,
    /// Reviewer-side network nodes after aggregating interchangeable reviewers.
    pub reviewer_nodes: usize,
    /// Proposals split off their group because its flow could not be dealt out around
    /// their blocked reviewers (each split costs one more solve).
    pub split: usize,
    /// Wall-clock milliseconds spent in `solve`.
    pub millis: u64,
}

/// An optimal assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// All final pairs (fixed and new) as (proposal, reviewer, affinity), sorted.
    pub pairs: Vec<(usize, usize, i64)>,
    /// Only the newly chosen pairs (the ones to notify), sorted.
    pub added: Vec<(usize, usize, i64)>,
    /// Σ affinity over all pairs (the primary objective; fixed pairs included).
    pub objective: i64,
    /// Final load of each reviewer (external + fixed + new).
    pub loads: Vec<u32>,
    /// Σ load² (the secondary objective).
    pub load_square_sum: u64,
    /// Whether the balance objective was applied (false when disabled or when the numbers
    /// were too large to combine safely).
    pub balanced: bool,
    /// Optimality proof values.
    pub certificate: Certificate,
    /// Solve counters.
    pub stats: SolveStats,
}

/// Why [`solve`] returned no solution.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The constraints cannot all be met; each entry names the proposals/reviewers involved.
    #[error("no feasible assignment: {}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" "))]
    Infeasible(Vec<Infeasibility>),
    /// The input is malformed (index out of range, table size mismatch, numbers too large).
    #[error("invalid assignment problem: {0}")]
    InvalidInput(#[from] InvalidProblem),
    /// A self-check failed (a bug): the returned solution would not have been provably optimal.
    #[error("internal solver error: {0}")]
    Internal(String),
}

/// The phases of [`solve_observed`], in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SolvePhase {
    /// Checking bounds and the cheap infeasibility tests.
    Checking,
    /// Grouping proposals and choosing the first candidate pairs.
    Building,
    /// Restricted simplex and pricing rounds (reported through [`SolveObserver::round`]).
    Optimizing,
    /// Splitting group flows into pairs and computing the optimality certificate.
    Certifying,
}

impl fmt::Display for SolvePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SolvePhase::Checking => "checking the problem",
            SolvePhase::Building => "building the network",
            SolvePhase::Optimizing => "optimizing",
            SolvePhase::Certifying => "certifying optimality",
        })
    }
}

/// What [`solve_observed`] reports while it works, so a caller can show
/// progress; the solver itself draws nothing. Called a handful of times per
/// solve (once per phase and per pricing round), never in an inner loop.
pub trait SolveObserver {
    /// A phase begins.
    fn phase(&self, _phase: SolvePhase) {}
    /// A pricing round ended: its number (from 1), the omitted pairs it added
    /// (0 on the last round, which proves optimality) and pivots so far.
    fn round(&self, _round: u32, _added_arcs: usize, _pivots: u64) {}
}

/// No observer: [`solve`].
impl SolveObserver for () {}

/// Solve to proven optimality, or explain why no assignment exists.
pub fn solve(p: &Problem) -> Result<Solution, SolveError> {
    solve_observed(p, &())
}

/// [`solve`], reporting phases and pricing rounds to `observer`.
///
/// The phases, each in its own file: check (`prep`, `diagnose`), build the network
/// (`network`), optimise (`pricing` over `simplex`), certify (`certify`).
pub fn solve_observed(p: &Problem, observer: &dyn SolveObserver) -> Result<Solution, SolveError> {
    let t0 = Instant::now();
    observer.phase(SolvePhase::Checking);
    let prep = prep::Prep::new(p)?;
    let diag = diagnose::diagnose_prepared(p, &prep);
    if !diag.is_empty() {
        return Err(SolveError::Infeasible(diag));
    }
    // Proposals split off as single nodes because their group's flow could not be dealt
    // out around their blocked reviewers (rare: the repair swaps nearly always succeed).
    let mut split = vec![false; prep.np];
    // Interchangeable reviewers share a node, except when naming a shortage, which needs
    // each reviewer's own flow (an infeasible instance is solved once more without).
    let mut aggregate = true;
    loop {
        observer.phase(SolvePhase::Building);
        let (net, mut sx) = network::Net::build(p, &prep, &split, aggregate)?;
        let mut cand = net.initial_candidates(&mut sx);
        observer.phase(SolvePhase::Optimizing);
        let (cpi, mut stats) = pricing::optimize(&net, &mut sx, &mut cand, observer);
        observer.phase(SolvePhase::Certifying);
        let (mut assigned, failed) = certify::decompose(&net, &sx);
        // Infeasible iff artificial flow remains (big-M argument): the aggregated network
        // is a relaxation, so its infeasibility is the problem's.
        if sx.uses_artificial() {
            if aggregate {
                aggregate = false;
                continue;
            }
            for (i, list) in assigned.iter_mut().enumerate() {
                list.retain(|&r| !prep.is_blocked(i, r));
            }
            return Err(certify::shortage(p, &net, &sx, assigned));
        }
        if !failed.is_empty() {
            for &i in &failed {
                split[i as usize] = true;
            }
            continue;
        }
        stats.split = split.iter().filter(|&&x| x).count();
        return finish(p, &net, sx, cand, cpi, assigned, stats, t0);
    }
}

/// Certify the restricted optimum, free the network and return the checked pairs.
#[allow(clippy::too_many_arguments)]
fn finish(
    p: &Problem,
    net: &network::Net<'_>,
    sx: simplex::Simplex,
    cand: Vec<Vec<u32>>,
    cpi: Vec<i64>,
    assigned: Vec<Vec<u32>>,
    mut stats: SolveStats,
    t0: Instant,
) -> Result<Solution, SolveError> {
    let (primal, dual) = certify::certificate(net, &sx, &cpi)?;
    // The network's arcs (the largest buffers of the solve) are not needed to extract and
    // check the pairs: free them first, so they never coexist with the answer.
    drop((sx, cand, cpi));
    let chosen = certify::extract(p, net, &assigned)?;
    let objective = chosen.pairs.iter().map(|x| x.2).sum();
    let load_square_sum = chosen.loads.iter().map(|&l| l as u64 * l as u64).sum();
    stats.groups = net.ng;
    stats.reviewer_nodes = net.nr;
    stats.millis = t0.elapsed().as_millis() as u64;
    Ok(Solution {
        pairs: chosen.pairs,
        added: chosen.added,
        objective,
        loads: chosen.loads,
        load_square_sum,
        balanced: net.balanced,
        certificate: Certificate {
            scale: net.scale,
            primal_cost: primal,
            dual_bound: dual,
        },
        stats,
    })
}
