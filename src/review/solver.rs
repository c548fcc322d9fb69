//! Exact reviewer assignment: maximise total affinity, then balance loads.
//!
//! # Problem
//!
//! Given proposals `p` (each needing `k_p` distinct reviewers), reviewers `r` (each with a
//! load between `min_load` and `max_load`), an integer affinity `w(p, r)` per pair, and sets
//! of forbidden pairs (conflicts, declined/excluded pairs) and fixed pairs (kept as they are,
//! counting toward `k_p` and toward the reviewer's load), choose new pairs so that
//!
//! * every proposal ends with exactly `k_p` distinct reviewers,
//! * every reviewer's load (fixed + new) is within `[min_load, max_load]`,
//! * no forbidden pair is used,
//!
//! maximising `Σ w(p, r)` (primary objective) and, among all primary-optimal solutions,
//! minimising `Σ_r load_r²` (secondary objective: with the total load fixed this is the load
//! variance, so `2/2` beats `4/0`). The result is deterministic for the same input.
//!
//! # Affinity formulas
//!
//! Affinities are integers. [`AffinityTable::from_topics`] derives them from topic lists with
//! an [`Affinity`] formula, all scaled to `round_half_up(1000 · aff)` computed exactly in
//! integers (`(2000·num + den) / (2·den)`, 0 when `den = 0`):
//!
//! * [`Affinity::Jaccard`]: `aff = |T_p ∩ T_r| / |T_p ∪ T_r|` (the benchmark peer's default).
//! * [`Affinity::Overlap`]: `aff = |T_p ∩ T_r| / |T_p|`, the share of the proposal's topics the
//!   reviewer covers.
//! * [`Affinity::RankWeighted`]: the proposal's topics are ranked (most relevant first); topic
//!   at rank `i` (0-based) has weight `weights[min(i, len-1)]` and
//!   `aff = Σ_{i: t_i ∈ T_r} weight_i / Σ_i weight_i`. With equal weights this is `Overlap`.
//!
//! Any other per-pair integer affinity can be passed with [`AffinityTable::new`] /
//! [`AffinityTable::from_fn`]. The table stores values per (proposal class, reviewer class):
//! proposals (reviewers) with identical topic profiles share a class, which keeps the table
//! small (≤ 1,350 proposal classes for 20 topics and 1–3 topics per proposal).
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
//! Proposals with identical affinity rows, the same remaining need and *no* blocked
//! reviewer are interchangeable, so they share one network node (a group of `n` members
//! supplying `n·need`, arcs of capacity `n`). This aggregation is exact: every assignment maps
//! to a group flow of the same cost and loads, and conversely a group flow decomposes into an
//! assignment by dealing each group's reviewer units round-robin to its members (a reviewer
//! sends at most `n` units, so its units reach distinct members, and each member gets exactly
//! `need`). Proposals with any conflict, exclusion or fixed pair stay single nodes.
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

use std::collections::HashMap;
use std::fmt;
use std::time::Instant;

use super::conflict::ConflictReason;

/// A proposal's reviewing need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalNeed {
    /// Stable identifier (e.g. `P-0042`), used to name the proposal in diagnoses.
    pub id: String,
    /// Total number of distinct reviewers the proposal must end with (the global K or a
    /// per-proposal override); fixed pairs count toward it.
    pub k: u32,
}

/// A reviewer's load limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewerCap {
    /// Stable identifier (e.g. the reviewer's address), used in diagnoses.
    pub id: String,
    /// Minimum total load (fixed + new) the chair wants this reviewer to carry.
    pub min_load: u32,
    /// Maximum total load (fixed + new) the reviewer agreed to.
    pub max_load: u32,
}

/// Topic-overlap formula turning two topic lists into an affinity in `[0, 1]`, stored as
/// `round_half_up(1000 · aff)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// `|T_p ∩ T_r| / |T_p ∪ T_r|`: penalises reviewers with many unrelated topics.
    Jaccard,
    /// `|T_p ∩ T_r| / |T_p|`: share of the proposal's topics the reviewer covers.
    Overlap,
    /// Rank-weighted overlap: the proposal's topic at rank `i` weighs
    /// `weights[min(i, len-1)]`; `aff = Σ matched weights / Σ all weights`. Lets the product
    /// favour reviewers who know the proposal's *main* topic. Empty weights mean `Overlap`.
    RankWeighted(Vec<u32>),
}

/// `round_half_up(1000 · num / den)` in exact integer arithmetic; 0 when `den == 0`.
pub fn round_half_up_permille(num: u64, den: u64) -> i32 {
    if den == 0 {
        return 0;
    }
    ((2000 * num + den) / (2 * den)) as i32
}

impl Affinity {
    /// Score one pair: `proposal_topics` ranked (duplicates ignored), `reviewer_topics` a set.
    pub fn score<S: AsRef<str>>(&self, proposal_topics: &[S], reviewer_topics: &[S]) -> i32 {
        let mut pt: Vec<&str> = Vec::new();
        for t in proposal_topics {
            if !pt.contains(&t.as_ref()) {
                pt.push(t.as_ref());
            }
        }
        let mut rt: Vec<&str> = reviewer_topics.iter().map(|t| t.as_ref()).collect();
        rt.sort_unstable();
        rt.dedup();
        let matched: Vec<bool> = pt.iter().map(|t| rt.binary_search(t).is_ok()).collect();
        self.score_matched(&matched, rt.len())
    }

    /// Score from the per-rank match flags of the proposal's topics and the reviewer's topic
    /// count.
    fn score_matched(&self, matched: &[bool], n_rev: usize) -> i32 {
        let inter = matched.iter().filter(|&&m| m).count() as u64;
        let np = matched.len() as u64;
        match self {
            Affinity::Jaccard => round_half_up_permille(inter, np + n_rev as u64 - inter),
            Affinity::Overlap => round_half_up_permille(inter, np),
            Affinity::RankWeighted(w) if w.is_empty() => round_half_up_permille(inter, np),
            Affinity::RankWeighted(w) => {
                let wt = |i: usize| w[i.min(w.len() - 1)] as u64;
                let num: u64 = (0..matched.len()).filter(|&i| matched[i]).map(wt).sum();
                let den: u64 = (0..matched.len()).map(wt).sum();
                round_half_up_permille(num, den)
            }
        }
    }
}

/// Integer affinity per (proposal, reviewer), stored per (proposal class, reviewer class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffinityTable {
    /// Class of each proposal; proposals of one class have identical affinity rows.
    proposal_class: Vec<u32>,
    /// Class of each reviewer; reviewers of one class have identical affinity columns.
    reviewer_class: Vec<u32>,
    /// Number of proposal classes (rows of `values`).
    n_pc: usize,
    /// Number of reviewer classes (columns of `values`).
    n_rc: usize,
    /// Row-major `n_pc × n_rc` affinities.
    values: Vec<i32>,
}

impl AffinityTable {
    /// Build from explicit classes: `values[pc * n_reviewer_classes + rc]` is the affinity of
    /// every proposal of class `pc` with every reviewer of class `rc`. Fails when a class index
    /// is out of range or `values` has the wrong length.
    pub fn new(
        proposal_class: Vec<u32>,
        reviewer_class: Vec<u32>,
        n_proposal_classes: usize,
        n_reviewer_classes: usize,
        values: Vec<i32>,
    ) -> Result<Self, SolveError> {
        if values.len() != n_proposal_classes * n_reviewer_classes {
            return Err(SolveError::InvalidInput(format!(
                "affinity table has {} values, expected {} x {}",
                values.len(),
                n_proposal_classes,
                n_reviewer_classes
            )));
        }
        if proposal_class
            .iter()
            .any(|&c| c as usize >= n_proposal_classes)
            || reviewer_class
                .iter()
                .any(|&c| c as usize >= n_reviewer_classes)
        {
            return Err(SolveError::InvalidInput(
                "affinity class index out of range".into(),
            ));
        }
        Ok(AffinityTable {
            proposal_class,
            reviewer_class,
            n_pc: n_proposal_classes,
            n_rc: n_reviewer_classes,
            values,
        })
    }

    /// A dense `n_proposals × n_reviewers` table, row-major by proposal.
    pub fn dense(
        n_proposals: usize,
        n_reviewers: usize,
        values: Vec<i32>,
    ) -> Result<Self, SolveError> {
        Self::new(
            (0..n_proposals as u32).collect(),
            (0..n_reviewers as u32).collect(),
            n_proposals,
            n_reviewers,
            values,
        )
    }

    /// A dense table filled by `f(proposal, reviewer)` (e.g. a product-specific score).
    pub fn from_fn(
        n_proposals: usize,
        n_reviewers: usize,
        f: impl Fn(usize, usize) -> i32,
    ) -> Self {
        let mut values = Vec::with_capacity(n_proposals * n_reviewers);
        for p in 0..n_proposals {
            for r in 0..n_reviewers {
                values.push(f(p, r));
            }
        }
        AffinityTable {
            proposal_class: (0..n_proposals as u32).collect(),
            reviewer_class: (0..n_reviewers as u32).collect(),
            n_pc: n_proposals,
            n_rc: n_reviewers,
            values,
        }
    }

    /// Topic-based affinities: `proposal_topics[p]` is the proposal's ranked topic list,
    /// `reviewer_topics[r]` the reviewer's expertise. Identical profiles share a class.
    pub fn from_topics<S: AsRef<str>>(
        proposal_topics: &[Vec<S>],
        reviewer_topics: &[Vec<S>],
        affinity: &Affinity,
    ) -> Self {
        let mut vocab: HashMap<&str, u32> = HashMap::new();
        for list in proposal_topics.iter().chain(reviewer_topics.iter()) {
            for t in list {
                let n = vocab.len() as u32;
                vocab.entry(t.as_ref()).or_insert(n);
            }
        }
        let words = vocab.len().div_ceil(64).max(1);
        // Proposal classes: ranked, de-duplicated topic id lists (order matters for ranks).
        let mut pmap: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut pkeys: Vec<Vec<u32>> = Vec::new();
        let rank_sensitive = matches!(affinity, Affinity::RankWeighted(w) if w.len() > 1);
        let proposal_class: Vec<u32> = proposal_topics
            .iter()
            .map(|list| {
                let mut ids: Vec<u32> = Vec::new();
                for t in list {
                    let id = vocab[t.as_ref()];
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                if !rank_sensitive {
                    ids.sort_unstable();
                }
                let n = pmap.len() as u32;
                *pmap.entry(ids.clone()).or_insert_with(|| {
                    pkeys.push(ids);
                    n
                })
            })
            .collect();
        let mut rmap: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut rkeys: Vec<Vec<u32>> = Vec::new();
        let reviewer_class: Vec<u32> = reviewer_topics
            .iter()
            .map(|list| {
                let mut ids: Vec<u32> = list.iter().map(|t| vocab[t.as_ref()]).collect();
                ids.sort_unstable();
                ids.dedup();
                let n = rmap.len() as u32;
                *rmap.entry(ids.clone()).or_insert_with(|| {
                    rkeys.push(ids);
                    n
                })
            })
            .collect();
        let n_pc = pkeys.len();
        let n_rc = rkeys.len();
        let mut rmask = vec![0u64; n_rc * words];
        for (c, ids) in rkeys.iter().enumerate() {
            for &t in ids {
                rmask[c * words + (t as usize >> 6)] |= 1u64 << (t & 63);
            }
        }
        let mut values = vec![0i32; n_pc * n_rc];
        let mut matched: Vec<bool> = Vec::new();
        for (pc, ids) in pkeys.iter().enumerate() {
            let row = &mut values[pc * n_rc..(pc + 1) * n_rc];
            for (rc, v) in row.iter_mut().enumerate() {
                let m = &rmask[rc * words..(rc + 1) * words];
                matched.clear();
                matched.extend(
                    ids.iter()
                        .map(|&t| m[t as usize >> 6] & (1u64 << (t & 63)) != 0),
                );
                *v = affinity.score_matched(&matched, rkeys[rc].len());
            }
        }
        AffinityTable {
            proposal_class,
            reviewer_class,
            n_pc,
            n_rc,
            values,
        }
    }

    /// Affinity of proposal `p` with reviewer `r`.
    pub fn get(&self, p: usize, r: usize) -> i32 {
        self.values[self.proposal_class[p] as usize * self.n_rc + self.reviewer_class[r] as usize]
    }

    /// Number of proposals the table covers.
    pub fn n_proposals(&self) -> usize {
        self.proposal_class.len()
    }

    /// Number of reviewers the table covers.
    pub fn n_reviewers(&self) -> usize {
        self.reviewer_class.len()
    }

    /// Number of distinct (proposal class, reviewer class) entries actually stored.
    pub fn n_classes(&self) -> (usize, usize) {
        (self.n_pc, self.n_rc)
    }

    /// Affinity row of a proposal class, indexed by reviewer class.
    fn row(&self, pc: usize) -> &[i32] {
        &self.values[pc * self.n_rc..(pc + 1) * self.n_rc]
    }
}

/// A forbidden (proposal, reviewer) pair and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictPair {
    /// Proposal index into [`Problem::proposals`].
    pub proposal: usize,
    /// Reviewer index into [`Problem::reviewers`].
    pub reviewer: usize,
    /// Why the pair is forbidden; counted per kind when explaining a shortage.
    pub reason: ConflictReason,
}

/// Everything the solver needs; indices refer to `proposals` and `reviewers`.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Proposals and how many reviewers each must end with.
    pub proposals: Vec<ProposalNeed>,
    /// Reviewers and their load bounds.
    pub reviewers: Vec<ReviewerCap>,
    /// Integer affinity of every pair (must cover exactly these proposals and reviewers).
    pub affinity: AffinityTable,
    /// Conflicted pairs: never assigned (promise 6). Reasons feed the diagnosis.
    pub conflicts: Vec<ConflictPair>,
    /// Other forbidden pairs, e.g. the reviewer declined the proposal or the chair removed
    /// the pair; never (re)assigned.
    pub excluded: Vec<(usize, usize)>,
    /// Existing assignments (proposal, reviewer) kept as they are: they count toward the
    /// proposal's `k` and the reviewer's load; only the remainder is optimised.
    pub fixed: Vec<(usize, usize)>,
    /// Load each reviewer already carries on proposals that are *not* part of this problem
    /// (indexed like `reviewers`; empty means none). It counts toward `min_load`/`max_load`
    /// and the balance objective exactly like fixed pairs, so a problem restricted to one
    /// proposal (refilling a released assignment) still prefers the least-loaded reviewer
    /// among equally suitable ones and never exceeds anyone's `max_load`.
    pub external_load: Vec<u32>,
    /// Apply the secondary objective (minimise Σ load²) among affinity-optimal solutions.
    pub balance_loads: bool,
}

impl Problem {
    /// A problem with no conflicts, exclusions or fixed pairs, and load balancing on.
    pub fn new(
        proposals: Vec<ProposalNeed>,
        reviewers: Vec<ReviewerCap>,
        affinity: AffinityTable,
    ) -> Self {
        Problem {
            proposals,
            reviewers,
            affinity,
            conflicts: Vec::new(),
            excluded: Vec::new(),
            fixed: Vec::new(),
            external_load: Vec::new(),
            balance_loads: true,
        }
    }
}

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

/// Why [`solve`] returned no solution.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The constraints cannot all be met; each entry names the proposals/reviewers involved.
    #[error("no feasible assignment: {}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" "))]
    Infeasible(Vec<Infeasibility>),
    /// The input is malformed (index out of range, table size mismatch, numbers too large).
    #[error("invalid assignment problem: {0}")]
    InvalidInput(String),
    /// A self-check failed (a bug): the returned solution would not have been provably optimal.
    #[error("internal solver error: {0}")]
    Internal(String),
}

// ---------------------------------------------------------------------------------------
// Preprocessing
// ---------------------------------------------------------------------------------------

/// Kinds of blocked pairs, in precedence order for counting.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum BlockKind {
    Fixed,
    Speaker,
    Institution,
    Listed,
    Declared,
    Excluded,
}

struct Prep {
    np: usize,
    nr: usize,
    need: Vec<u32>,
    fixed_p: Vec<u32>,
    fixed_load: Vec<u32>,
    cap_left: Vec<u32>,
    mandatory: Vec<u32>,
    /// CSR of blocked reviewers per proposal (sorted, unique), with the strongest kind.
    blk_off: Vec<usize>,
    blk: Vec<(u32, BlockKind)>,
    fixed_pairs: Vec<(usize, usize)>,
}

impl Prep {
    fn new(p: &Problem) -> Result<Prep, SolveError> {
        let np = p.proposals.len();
        let nr = p.reviewers.len();
        if p.affinity.n_proposals() != np || p.affinity.n_reviewers() != nr {
            return Err(SolveError::InvalidInput(format!(
                "affinity table covers {} x {} but there are {np} proposals and {nr} reviewers",
                p.affinity.n_proposals(),
                p.affinity.n_reviewers()
            )));
        }
        if np >= u32::MAX as usize / 2 || nr >= u32::MAX as usize / 2 {
            return Err(SolveError::InvalidInput(
                "too many proposals or reviewers".into(),
            ));
        }
        let check = |pi: usize, ri: usize, what: &str| -> Result<(), SolveError> {
            if pi >= np || ri >= nr {
                Err(SolveError::InvalidInput(format!(
                    "{what} pair ({pi}, {ri}) is out of range"
                )))
            } else {
                Ok(())
            }
        };
        let mut pairs: Vec<(u32, u32, BlockKind)> = Vec::new();
        let mut fixed_pairs: Vec<(usize, usize)> = Vec::new();
        for &(pi, ri) in &p.fixed {
            check(pi, ri, "fixed")?;
            fixed_pairs.push((pi, ri));
        }
        fixed_pairs.sort_unstable();
        fixed_pairs.dedup();
        for &(pi, ri) in &fixed_pairs {
            pairs.push((pi as u32, ri as u32, BlockKind::Fixed));
        }
        for c in &p.conflicts {
            check(c.proposal, c.reviewer, "conflict")?;
            let kind = match c.reason {
                ConflictReason::Speaker => BlockKind::Speaker,
                ConflictReason::SameInstitution { .. } => BlockKind::Institution,
                ConflictReason::Listed { .. } => BlockKind::Listed,
                ConflictReason::Declared => BlockKind::Declared,
            };
            pairs.push((c.proposal as u32, c.reviewer as u32, kind));
        }
        for &(pi, ri) in &p.excluded {
            check(pi, ri, "excluded")?;
            pairs.push((pi as u32, ri as u32, BlockKind::Excluded));
        }
        pairs.sort_unstable();
        pairs.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut blk_off = vec![0usize; np + 1];
        for &(pi, _, _) in &pairs {
            blk_off[pi as usize + 1] += 1;
        }
        for i in 0..np {
            blk_off[i + 1] += blk_off[i];
        }
        let blk: Vec<(u32, BlockKind)> = pairs.iter().map(|&(_, r, k)| (r, k)).collect();
        if !p.external_load.is_empty() && p.external_load.len() != nr {
            return Err(SolveError::InvalidInput(format!(
                "external_load has {} entries but there are {nr} reviewers",
                p.external_load.len()
            )));
        }
        let mut fixed_p = vec![0u32; np];
        let mut fixed_load = p.external_load.clone();
        fixed_load.resize(nr, 0);
        for &(pi, ri) in &fixed_pairs {
            fixed_p[pi] += 1;
            fixed_load[ri] += 1;
        }
        let need: Vec<u32> = (0..np)
            .map(|i| p.proposals[i].k.saturating_sub(fixed_p[i]))
            .collect();
        let cap_left: Vec<u32> = (0..nr)
            .map(|r| p.reviewers[r].max_load.saturating_sub(fixed_load[r]))
            .collect();
        let mandatory: Vec<u32> = (0..nr)
            .map(|r| p.reviewers[r].min_load.saturating_sub(fixed_load[r]))
            .collect();
        Ok(Prep {
            np,
            nr,
            need,
            fixed_p,
            fixed_load,
            cap_left,
            mandatory,
            blk_off,
            blk,
            fixed_pairs,
        })
    }

    fn blocked(&self, p: usize) -> &[(u32, BlockKind)] {
        &self.blk[self.blk_off[p]..self.blk_off[p + 1]]
    }

    fn is_blocked(&self, p: usize, r: u32) -> bool {
        self.blocked(p).binary_search_by_key(&r, |x| x.0).is_ok()
    }
}

/// Cheap necessary feasibility checks; empty when nothing is wrong as far as checked.
///
/// Checks: reviewer bounds (min > max, fixed > max), proposals over-fixed, every proposal
/// has at least as many eligible reviewers as it still needs (with per-kind reasons when not),
/// total capacity ≥ total need, total minimum load ≤ total need, every reviewer with a
/// minimum load has enough eligible proposals. [`solve`] additionally detects the remaining
/// (Hall-type) infeasibilities exactly.
pub fn diagnose(p: &Problem) -> Vec<Infeasibility> {
    match Prep::new(p) {
        Ok(prep) => diagnose_prepared(p, &prep),
        Err(e) => vec![Infeasibility::InvalidInput {
            message: e.to_string(),
        }],
    }
}

fn diagnose_prepared(p: &Problem, prep: &Prep) -> Vec<Infeasibility> {
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

// ---------------------------------------------------------------------------------------
// Network simplex (primal, strongly feasible trees, block search)
// ---------------------------------------------------------------------------------------

const NONE: u32 = u32::MAX;
const UP: i8 = 1; // pred arc goes node -> parent
const DOWN: i8 = -1; // pred arc goes parent -> node
const LOWER: i8 = 1;
const TREE: i8 = 0;
const UPPER: i8 = -1;
const INF_CAP: i64 = i64::MAX / 4;

/// Primal network simplex over nodes `0..n`, one of which (`root`, the sink) is the root of
/// the initial spanning tree. Arc `u < n` is the artificial arc between node `u` and the
/// root (cost `art_cost`; arc `root` itself is an unused placeholder); real arcs follow and
/// may be appended between runs (warm start). Rooting at the sink, with every artificial arc
/// expensive, keeps all potentials anchored to the sink so they stay meaningful for pricing.
struct Simplex {
    n: usize,
    root: usize,
    src: Vec<u32>,
    tgt: Vec<u32>,
    cost: Vec<i64>,
    cap: Vec<i64>,
    flow: Vec<i64>,
    state: Vec<i8>,
    parent: Vec<u32>,
    pred: Vec<u32>,
    pred_dir: Vec<i8>,
    thread: Vec<u32>,
    rev_thread: Vec<u32>,
    depth: Vec<u32>,
    pi: Vec<i64>,
    next_arc: usize,
    pivots: u64,
    degenerate: u64,
    stem: Vec<u32>,
    ends: Vec<u32>,
    tails: Vec<u32>,
    links: Vec<(u32, u32)>,
    saved: Vec<(u32, i8)>,
}

impl Simplex {
    fn new(supply: &[i64], art_cost: i64, root: usize) -> Simplex {
        let n = supply.len();
        let rt = root as u32;
        let mut s = Simplex {
            n,
            root,
            src: Vec::with_capacity(2 * n),
            tgt: Vec::with_capacity(2 * n),
            cost: Vec::with_capacity(2 * n),
            cap: Vec::with_capacity(2 * n),
            flow: Vec::with_capacity(2 * n),
            state: Vec::with_capacity(2 * n),
            parent: vec![rt; n],
            pred: (0..n as u32).collect(),
            pred_dir: vec![UP; n],
            thread: vec![0; n],
            rev_thread: vec![0; n],
            depth: vec![1; n],
            pi: vec![0; n],
            next_arc: n,
            pivots: 0,
            degenerate: 0,
            stem: Vec::new(),
            ends: Vec::new(),
            tails: Vec::new(),
            links: Vec::new(),
            saved: Vec::new(),
        };
        for (u, &b) in supply.iter().enumerate() {
            if u == root {
                // Placeholder so that arc u is node u's artificial arc.
                s.src.push(rt);
                s.tgt.push(rt);
                s.cost.push(0);
                s.flow.push(0);
                s.cap.push(0);
                s.state.push(LOWER);
                continue;
            }
            if b >= 0 {
                s.src.push(u as u32);
                s.tgt.push(rt);
                s.flow.push(b);
                s.pred_dir[u] = UP;
                s.pi[u] = -art_cost;
            } else {
                s.src.push(rt);
                s.tgt.push(u as u32);
                s.flow.push(-b);
                s.pred_dir[u] = DOWN;
                s.pi[u] = art_cost;
            }
            s.cost.push(art_cost);
            s.cap.push(INF_CAP);
            s.state.push(TREE);
        }
        s.parent[root] = NONE;
        s.pred[root] = NONE;
        s.depth[root] = 0;
        s.pi[root] = 0;
        // Thread: root, then every other node in index order, back to root.
        let mut prev = rt;
        for u in (0..n as u32).filter(|&u| u != rt) {
            s.thread[prev as usize] = u;
            s.rev_thread[u as usize] = prev;
            prev = u;
        }
        s.thread[prev as usize] = rt;
        s.rev_thread[root] = prev;
        s
    }

    /// True when some artificial arc still carries flow (the restricted problem needed it).
    fn uses_artificial(&self) -> bool {
        (0..self.n).any(|u| u != self.root && self.flow[u] > 0)
    }

    /// Drop real non-tree arcs at their lower bound for which `drop(e)` holds (the basis
    /// stays valid: only non-basic arcs without flow go). Returns the number dropped.
    fn prune(&mut self, mut drop: impl FnMut(usize) -> bool) -> usize {
        let m = self.src.len();
        let mut map = vec![u32::MAX; m];
        let mut w = self.n;
        for (e, slot) in map.iter_mut().enumerate().take(self.n) {
            *slot = e as u32;
        }
        for e in self.n..m {
            if self.state[e] == LOWER && self.flow[e] == 0 && drop(e) {
                continue;
            }
            map[e] = w as u32;
            self.src[w] = self.src[e];
            self.tgt[w] = self.tgt[e];
            self.cost[w] = self.cost[e];
            self.cap[w] = self.cap[e];
            self.flow[w] = self.flow[e];
            self.state[w] = self.state[e];
            w += 1;
        }
        for v in [&mut self.src, &mut self.tgt] {
            v.truncate(w);
        }
        self.cost.truncate(w);
        self.cap.truncate(w);
        self.flow.truncate(w);
        self.state.truncate(w);
        for (u, pr) in self.pred.iter_mut().enumerate() {
            if u != self.root {
                *pr = map[*pr as usize];
            }
        }
        self.next_arc = self.n;
        m - w
    }

    fn add_arc(&mut self, u: usize, v: usize, cost: i64, cap: i64) {
        self.src.push(u as u32);
        self.tgt.push(v as u32);
        self.cost.push(cost);
        self.cap.push(cap);
        self.flow.push(0);
        self.state.push(LOWER);
    }

    /// Canonical dual potentials of the current (optimal) flow on the real arcs, anchored at
    /// the root (sink) with value 0. The simplex's own potentials of degenerate parts of the
    /// tree hang off artificial arcs and may sit an artificial cost away from the sink, which
    /// would make pricing report spurious improvements; shortest-path potentials do not.
    ///
    /// `toward_root`: `π_u = −dist(u → root)` (pointwise smallest feasible potentials);
    /// otherwise `π_v = dist(root → v)` (largest). Distances are in the residual graph of the
    /// real arcs, found by Dijkstra on the simplex reduced costs (non-negative at optimality).
    /// Nodes not connected to the root keep the simplex potentials, shifted uniformly by the
    /// least amount that keeps every residual arc's reduced cost non-negative.
    fn canonical_potentials(&self, toward_root: bool) -> Vec<i64> {
        let n = self.n;
        let m = self.src.len();
        let root = self.root;
        let pi = &self.pi;
        // CSR of residual arcs, stored by the node the search expands from.
        let mut off = vec![0usize; n + 1];
        let mut count = |from: usize| off[from + 1] += 1;
        for e in n..m {
            let (u, v) = (self.src[e] as usize, self.tgt[e] as usize);
            if self.flow[e] < self.cap[e] {
                count(if toward_root { v } else { u });
            }
            if self.flow[e] > 0 {
                count(if toward_root { u } else { v });
            }
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        let mut fill = off.clone();
        let mut adj: Vec<(u32, i64)> = vec![(0, 0); off[n]];
        for e in n..m {
            let (u, v) = (self.src[e] as usize, self.tgt[e] as usize);
            let rc = self.cost[e] + pi[u] - pi[v];
            if self.flow[e] < self.cap[e] {
                // residual u -> v with reduced cost rc >= 0
                let (from, to) = if toward_root { (v, u) } else { (u, v) };
                adj[fill[from]] = (to as u32, rc);
                fill[from] += 1;
            }
            if self.flow[e] > 0 {
                // residual v -> u with reduced cost -rc >= 0
                let (from, to) = if toward_root { (u, v) } else { (v, u) };
                adj[fill[from]] = (to as u32, -rc);
                fill[from] += 1;
            }
        }
        let mut dist = vec![i64::MAX; n];
        let mut heap = std::collections::BinaryHeap::new();
        dist[root] = 0;
        heap.push(std::cmp::Reverse((0i64, root as u32)));
        while let Some(std::cmp::Reverse((d, u))) = heap.pop() {
            let u = u as usize;
            if d > dist[u] {
                continue;
            }
            for &(v, w) in &adj[off[u]..off[u + 1]] {
                let nd = d + w;
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    heap.push(std::cmp::Reverse((nd, v)));
                }
            }
        }
        let mut out = vec![0i64; n];
        for u in 0..n {
            if dist[u] != i64::MAX {
                out[u] = if toward_root {
                    -dist[u] + pi[u] - pi[root]
                } else {
                    dist[u] - pi[root] + pi[u]
                };
            }
        }
        // Unreached nodes: uniform shift of the simplex potentials.
        let mut shift: Option<i64> = None;
        for e in n..m {
            let (u, v) = (self.src[e] as usize, self.tgt[e] as usize);
            let mut arcs = [(u, v, self.cost[e], self.flow[e] < self.cap[e]); 2];
            arcs[1] = (v, u, -self.cost[e], self.flow[e] > 0);
            for &(a, b, c, live) in &arcs {
                if !live {
                    continue;
                }
                let (ra, rb) = (dist[a] != i64::MAX, dist[b] != i64::MAX);
                // need out[b] <= out[a] + c
                if !ra && rb && !toward_root {
                    // out[a] = pi[a] - pi[root] + shift >= out[b] - c
                    let need = out[b] - c - (pi[a] - pi[root]);
                    shift = Some(shift.map_or(need, |s| s.max(need)));
                } else if ra && !rb && toward_root {
                    // out[b] = pi[b] - pi[root] + shift <= out[a] + c
                    let need = out[a] + c - (pi[b] - pi[root]);
                    shift = Some(shift.map_or(need, |s| s.min(need)));
                }
            }
        }
        let shift = shift.unwrap_or(0);
        for u in 0..n {
            if dist[u] == i64::MAX {
                out[u] = pi[u] - pi[root] + shift;
            }
        }
        out
    }

    #[inline]
    fn rc(&self, e: usize) -> i64 {
        self.cost[e] + self.pi[self.src[e] as usize] - self.pi[self.tgt[e] as usize]
    }

    /// Block search pivot rule: scan blocks of about √m real arcs, take the most violating
    /// arc of the first block that has one.
    fn find_entering(&mut self) -> Option<usize> {
        let lo = self.n;
        let m = self.src.len();
        let total = m - lo;
        if total == 0 {
            return None;
        }
        let block = ((total as f64).sqrt() as usize).max(10);
        let mut e = if self.next_arc >= lo && self.next_arc < m {
            self.next_arc
        } else {
            lo
        };
        let mut best = usize::MAX;
        let mut min = 0i64;
        let mut scanned = 0;
        let pi = &self.pi;
        while scanned < total {
            let end = (e + block).min(m);
            let src = &self.src[e..end];
            let tgt = &self.tgt[e..end];
            let cost = &self.cost[e..end];
            let state = &self.state[e..end];
            for k in 0..src.len() {
                // Tree arcs have state 0, so c = 0 and they are never chosen.
                let c = state[k] as i64 * (cost[k] + pi[src[k] as usize] - pi[tgt[k] as usize]);
                if c < min {
                    min = c;
                    best = e + k;
                }
            }
            scanned += end - e;
            e = if end == m { lo } else { end };
            if min < 0 {
                self.next_arc = e;
                return Some(best);
            }
        }
        None
    }

    fn run(&mut self) {
        while let Some(e) = self.find_entering() {
            self.pivot(e);
            self.pivots += 1;
        }
    }

    fn pivot(&mut self, e: usize) {
        let (first, second) = if self.state[e] == LOWER {
            (self.src[e], self.tgt[e])
        } else {
            (self.tgt[e], self.src[e])
        };
        // Join node (lowest common ancestor).
        let (mut a, mut b) = (first, second);
        while a != b {
            let (da, db) = (self.depth[a as usize], self.depth[b as usize]);
            if da > db {
                a = self.parent[a as usize];
            } else if db > da {
                b = self.parent[b as usize];
            } else {
                a = self.parent[a as usize];
                b = self.parent[b as usize];
            }
        }
        let join = a;
        // Leaving arc: the last blocking arc of the cycle oriented from the join.
        let mut delta = self.cap[e];
        let mut u_out = NONE;
        let mut side = 0u8;
        let mut u = first;
        while u != join {
            let x = u as usize;
            let arc = self.pred[x] as usize;
            let d = if self.pred_dir[x] == DOWN {
                self.cap[arc] - self.flow[arc]
            } else {
                self.flow[arc]
            };
            if d < delta {
                delta = d;
                u_out = u;
                side = 1;
            }
            u = self.parent[x];
        }
        u = second;
        while u != join {
            let x = u as usize;
            let arc = self.pred[x] as usize;
            let d = if self.pred_dir[x] == UP {
                self.cap[arc] - self.flow[arc]
            } else {
                self.flow[arc]
            };
            if d <= delta {
                delta = d;
                u_out = u;
                side = 2;
            }
            u = self.parent[x];
        }
        if delta == 0 {
            self.degenerate += 1;
        }
        if delta > 0 {
            let val = self.state[e] as i64 * delta;
            self.flow[e] += val;
            let mut u = self.src[e];
            while u != join {
                let x = u as usize;
                self.flow[self.pred[x] as usize] -= self.pred_dir[x] as i64 * val;
                u = self.parent[x];
            }
            u = self.tgt[e];
            while u != join {
                let x = u as usize;
                self.flow[self.pred[x] as usize] += self.pred_dir[x] as i64 * val;
                u = self.parent[x];
            }
        }
        if side == 0 {
            self.state[e] = -self.state[e];
            return;
        }
        let out_arc = self.pred[u_out as usize] as usize;
        self.state[out_arc] = if self.flow[out_arc] == 0 {
            LOWER
        } else {
            UPPER
        };
        self.state[e] = TREE;
        let (u_in, v_in) = if side == 1 {
            (first, second)
        } else {
            (second, first)
        };
        let rc = self.rc(e);
        let sigma = if u_in == self.src[e] { -rc } else { rc };
        self.update_tree(e, u_in, v_in, u_out, sigma);
    }

    #[inline]
    fn link(&mut self, a: u32, b: u32) {
        self.thread[a as usize] = b;
        self.rev_thread[b as usize] = a;
    }

    /// Re-hang the subtree cut off at `u_out` so that it is rooted at `u_in` below `v_in`,
    /// reversing the stem `u_in → … → u_out`, re-threading in O(|subtree| + |stem|), and
    /// shifting its potentials by `sigma`.
    fn update_tree(&mut self, e: usize, u_in: u32, v_in: u32, u_out: u32, sigma: i64) {
        let mut stem = std::mem::take(&mut self.stem);
        let mut ends = std::mem::take(&mut self.ends);
        let mut tails = std::mem::take(&mut self.tails);
        let mut links = std::mem::take(&mut self.links);
        let mut saved = std::mem::take(&mut self.saved);
        stem.clear();
        ends.clear();
        tails.clear();
        links.clear();
        saved.clear();
        let mut u = u_in;
        loop {
            stem.push(u);
            if u == u_out {
                break;
            }
            u = self.parent[u as usize];
        }
        let k = stem.len() - 1;
        // Old preorder block ends of each stem node's subtree.
        let mut x = stem[0];
        for (i, &s) in stem.iter().enumerate() {
            if i > 0 {
                x = ends[i - 1];
            }
            let ds = self.depth[s as usize];
            loop {
                let nx = self.thread[x as usize];
                if self.depth[nx as usize] > ds {
                    x = nx;
                } else {
                    break;
                }
            }
            ends.push(x);
        }
        // New order: A_0 ++ A_1 ++ ... ++ A_k where A_i = T(s_i) minus T(s_{i-1}).
        tails.push(ends[0]);
        for i in 1..=k {
            let p1end = self.rev_thread[stem[i - 1] as usize];
            if ends[i] != ends[i - 1] {
                links.push((p1end, self.thread[ends[i - 1] as usize]));
                tails.push(ends[i]);
            } else {
                tails.push(p1end);
            }
        }
        for i in 0..k {
            links.push((tails[i], stem[i + 1]));
        }
        let before = self.rev_thread[u_out as usize];
        let after = self.thread[ends[k] as usize];
        for &(a, b) in &links {
            self.link(a, b);
        }
        self.link(before, after);
        let nxt = self.thread[v_in as usize];
        self.link(v_in, stem[0]);
        self.link(tails[k], nxt);
        // Reverse the stem.
        for &s in &stem {
            saved.push((self.pred[s as usize], self.pred_dir[s as usize]));
        }
        self.parent[stem[0] as usize] = v_in;
        self.pred[stem[0] as usize] = e as u32;
        self.pred_dir[stem[0] as usize] = if self.src[e] == u_in { UP } else { DOWN };
        for i in 1..=k {
            let s = stem[i] as usize;
            self.parent[s] = stem[i - 1];
            self.pred[s] = saved[i - 1].0;
            self.pred_dir[s] = -saved[i - 1].1;
        }
        // Depths and potentials of the moved subtree (parents precede children).
        let last = tails[k];
        let mut x = stem[0];
        loop {
            let xi = x as usize;
            self.depth[xi] = self.depth[self.parent[xi] as usize] + 1;
            self.pi[xi] += sigma;
            if x == last {
                break;
            }
            x = self.thread[xi];
        }
        self.stem = stem;
        self.ends = ends;
        self.tails = tails;
        self.links = links;
        self.saved = saved;
    }
}

// ---------------------------------------------------------------------------------------
// Solve
// ---------------------------------------------------------------------------------------

/// Initial candidate reviewers per proposal beyond its need.
const INITIAL_EXTRA: usize = 8;
/// Most violating omitted arcs added per proposal per pricing round.
const ADD_PER_ROUND: usize = 32;
/// Most threads used for pricing.
const MAX_THREADS: usize = 4;
/// Pricing rounds during which arcs with positive reduced cost are dropped from the
/// restricted network (keeps the simplex scans short; later rounds only add, which
/// guarantees termination).
const PRUNE_ROUNDS: u32 = 8;
/// Above this many balance unit arcs, each reviewer's marginal cost becomes flat after a cap.
const UNIT_ARC_LIMIT: usize = 4_000_000;

/// Deterministic hash used to spread ties among equally good reviewers.
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 29)
}

/// A node on the proposal side of the network: either all "clean" proposals (no blocked
/// reviewer at all) of one affinity class and one need, or a single proposal.
struct Group {
    /// Affinity class shared by all members.
    class: u32,
    /// Reviewers each member still needs.
    need: u32,
    /// Member proposals, ascending.
    members: Vec<u32>,
    /// True for a single proposal with blocked reviewers (check `Prep::is_blocked`).
    single: bool,
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
pub fn solve_observed(p: &Problem, observer: &dyn SolveObserver) -> Result<Solution, SolveError> {
    let t0 = Instant::now();
    observer.phase(SolvePhase::Checking);
    let prep = Prep::new(p)?;
    let diag = diagnose_prepared(p, &prep);
    if !diag.is_empty() {
        return Err(SolveError::Infeasible(diag));
    }
    observer.phase(SolvePhase::Building);
    let (np, nr) = (prep.np, prep.nr);
    let table = &p.affinity;

    // Proposal-side aggregation (exact, see module docs).
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<(u32, u32), usize> = HashMap::new();
    for i in 0..np {
        let need = prep.need[i];
        if need == 0 {
            continue;
        }
        let class = table.proposal_class[i];
        if prep.blocked(i).is_empty() {
            let g = *group_of.entry((class, need)).or_insert_with(|| {
                groups.push(Group {
                    class,
                    need,
                    members: Vec::new(),
                    single: false,
                });
                groups.len() - 1
            });
            groups[g].members.push(i as u32);
        } else {
            groups.push(Group {
                class,
                need,
                members: vec![i as u32],
                single: true,
            });
        }
    }
    let ng = groups.len();
    let blocked =
        |g: usize, r: u32| groups[g].single && prep.is_blocked(groups[g].members[0] as usize, r);

    let rv = ng; // first reviewer node
    let sink = ng + nr;
    let n = ng + nr + 1; // nodes: groups, reviewers, sink
    let demand: i64 = prep.need.iter().map(|&x| x as i64).sum();
    let mand_total: i64 = prep.mandatory.iter().map(|&x| x as i64).sum();
    let opt_demand = demand - mand_total;

    // Balance unit arcs: reviewer r may take `units[r]` optional units beyond `base[r]`.
    let base: Vec<i64> = (0..nr)
        .map(|r| (prep.fixed_load[r] + prep.mandatory[r]) as i64)
        .collect();
    let units: Vec<i64> = (0..nr)
        .map(|r| ((prep.cap_left[r] - prep.mandatory[r]) as i64).min(opt_demand))
        .collect();
    let total_units: i64 = units.iter().sum();
    let per_rev_cap = if total_units as usize > UNIT_ARC_LIMIT {
        ((UNIT_ARC_LIMIT / nr.max(1)) as i64).max(1)
    } else {
        i64::MAX
    };
    let marg = |r: usize, j: i64| 2 * (base[r] + j) - 1; // marginal cost of unit j (1-based)
    let wmax: i64 = table
        .values
        .iter()
        .map(|&v| (v as i64).abs())
        .max()
        .unwrap_or(0);
    let mut balanced = p.balance_loads;
    let mut scale = 1i64;
    let mut max_marg = 0i64;
    if balanced {
        let mut bmax: i128 = 0;
        for r in 0..nr {
            if units[r] == 0 {
                continue;
            }
            let q = units[r].min(per_rev_cap);
            let b = base[r] as i128;
            let hi = (b + q as i128) * (b + q as i128) - b * b;
            let tail = (units[r] - q) as i128 * marg(r, q + 1) as i128;
            bmax += hi + tail;
            let top = if units[r] > q { q + 1 } else { q };
            max_marg = max_marg.max(marg(r, top));
        }
        bmax = bmax.min(max_marg as i128 * opt_demand as i128);
        let s = bmax + 1;
        let maxc = s * wmax as i128 + max_marg as i128;
        let art = (maxc + 1) * (n as i128 + 1);
        if art < (i64::MAX / 16) as i128 {
            scale = s as i64;
        } else {
            balanced = false;
        }
    }
    if !balanced {
        scale = 1;
        max_marg = 0;
    }
    let max_cost = scale as i128 * wmax as i128 + max_marg as i128;
    let art128 = (max_cost + 1) * (n as i128 + 1);
    if art128 >= (i64::MAX / 16) as i128 {
        return Err(SolveError::InvalidInput(
            "affinity values are too large to combine safely".into(),
        ));
    }
    let art = art128 as i64;

    let mut supply = vec![0i64; n];
    for (g, grp) in groups.iter().enumerate() {
        supply[g] = grp.need as i64 * grp.members.len() as i64;
    }
    for r in 0..nr {
        supply[rv + r] = -(prep.mandatory[r] as i64);
    }
    supply[sink] = -opt_demand;
    let mut sx = Simplex::new(&supply, art, sink);
    for r in 0..nr {
        if units[r] == 0 {
            continue;
        }
        if balanced {
            let q = units[r].min(per_rev_cap);
            for j in 1..=q {
                sx.add_arc(rv + r, sink, marg(r, j), 1);
            }
            if units[r] > q {
                sx.add_arc(rv + r, sink, marg(r, q + 1), units[r] - q);
            }
        } else {
            sx.add_arc(rv + r, sink, 0, units[r]);
        }
    }

    let mut class_groups: Vec<Vec<u32>> = vec![Vec::new(); table.n_pc];
    for (g, grp) in groups.iter().enumerate() {
        class_groups[grp.class as usize].push(g as u32);
    }
    let rclass: Vec<usize> = table.reviewer_class.iter().map(|&c| c as usize).collect();
    let gcost = |g: usize, r: usize| -> i64 {
        -(scale * table.values[groups[g].class as usize * table.n_rc + rclass[r]] as i64)
    };

    // Initial candidates: best reviewers by affinity, ties spread by a per-group offset.
    let mut cand: Vec<Vec<u32>> = vec![Vec::new(); ng];
    let avail: Vec<u32> = (0..nr as u32)
        .filter(|&r| prep.cap_left[r as usize] > 0)
        .collect();
    let mut ws: Vec<i32> = Vec::with_capacity(nr);
    let mut ties: Vec<u32> = Vec::new();
    let mut above: Vec<u32> = Vec::new();
    for (c, gs) in class_groups.iter().enumerate() {
        if gs.is_empty() || avail.is_empty() {
            continue;
        }
        let row = table.row(c);
        let max_need = gs
            .iter()
            .map(|&g| groups[g as usize].need)
            .max()
            .unwrap_or(0);
        let l = (max_need as usize + INITIAL_EXTRA).min(avail.len());
        ws.clear();
        ws.extend(avail.iter().map(|&r| row[rclass[r as usize]]));
        let (_, thr, _) = ws.select_nth_unstable_by(l - 1, |a, b| b.cmp(a));
        let thr = *thr;
        above.clear();
        ties.clear();
        for &r in &avail {
            let v = row[rclass[r as usize]];
            if v > thr {
                above.push(r);
            } else if v == thr {
                ties.push(r);
            }
        }
        for &g in gs {
            let g = g as usize;
            let list = &mut cand[g];
            for &r in &above {
                if !blocked(g, r) {
                    list.push(r);
                }
            }
            let want = l.saturating_sub(list.len());
            if want > 0 && !ties.is_empty() {
                let start = (mix(g as u64, c as u64) as usize) % ties.len();
                let mut taken = 0;
                for t in 0..ties.len() {
                    let r = ties[(start + t) % ties.len()];
                    if !blocked(g, r) {
                        list.push(r);
                        taken += 1;
                        if taken == want {
                            break;
                        }
                    }
                }
            }
        }
    }
    // Plus a greedy capacity-respecting choice per proposal, so that the first restricted
    // network is (nearly always) feasible: while artificial flow remains, the big-M duals
    // make every reviewer with spare capacity look attractive and pricing converges slowly.
    {
        let mut order: Vec<Vec<u32>> = vec![Vec::new(); table.n_pc];
        let mut cursor = vec![0usize; table.n_pc];
        let mut load = vec![0u32; nr];
        let mut mark = vec![usize::MAX; nr];
        for (g, list) in cand.iter_mut().enumerate() {
            for &r in list.iter() {
                mark[r as usize] = g;
            }
            let grp = &groups[g];
            let c = grp.class as usize;
            if order[c].is_empty() {
                let row = table.row(c);
                let mut o = avail.clone();
                o.sort_unstable_by_key(|&r| {
                    (
                        std::cmp::Reverse(row[rclass[r as usize]]),
                        mix(c as u64, r as u64),
                    )
                });
                order[c] = o;
            }
            let o = &order[c];
            for _ in &grp.members {
                while cursor[c] < o.len() && {
                    let r = o[cursor[c]] as usize;
                    load[r] >= prep.cap_left[r]
                } {
                    cursor[c] += 1;
                }
                let mut got = 0;
                for &r in &o[cursor[c]..] {
                    if got == grp.need {
                        break;
                    }
                    let ru = r as usize;
                    if load[ru] < prep.cap_left[ru]
                        && !(grp.single && prep.is_blocked(grp.members[0] as usize, r))
                    {
                        load[ru] += 1;
                        got += 1;
                        if mark[ru] != g {
                            mark[ru] = g;
                            list.push(r);
                        }
                    }
                }
            }
        }
    }
    for (g, list) in cand.iter_mut().enumerate() {
        list.sort_unstable();
        let cap = groups[g].members.len() as i64;
        for &r in list.iter() {
            sx.add_arc(g, rv + r as usize, gcost(g, r as usize), cap);
        }
    }

    // Restricted solve + pricing until no omitted arc has negative reduced cost.
    let mut stats = SolveStats::default();
    let threads = std::thread::available_parallelism()
        .map(|x| x.get())
        .unwrap_or(1)
        .min(MAX_THREADS);
    let mut cpi: Vec<i64>;
    let (mut t_run, mut t_price) = (0f64, 0f64);
    observer.phase(SolvePhase::Optimizing);
    loop {
        stats.rounds += 1;
        let ta = Instant::now();
        sx.run();
        t_run += ta.elapsed().as_secs_f64();
        let ta = Instant::now();
        // While artificial flow remains, the big-M potentials are the right duals (they also
        // price augmenting paths); once the flow is feasible, use canonical potentials.
        cpi = if sx.uses_artificial() {
            sx.pi.clone()
        } else {
            sx.canonical_potentials(true)
        };
        // Price every omitted (group, reviewer) pair, class by class, split over threads;
        // results are concatenated in class order, so the outcome is deterministic.
        let price = |classes: std::ops::Range<usize>| -> Vec<(usize, u32)> {
            let mut key: Vec<i64> = vec![i64::MIN; nr];
            let mut buf: Vec<(i64, u32)> = Vec::new();
            let mut out = Vec::new();
            for c in classes {
                let gs = &class_groups[c];
                if gs.is_empty() {
                    continue;
                }
                let row = table.row(c);
                for (r, k) in key.iter_mut().enumerate() {
                    *k = if prep.cap_left[r] > 0 {
                        scale * row[rclass[r]] as i64 + cpi[rv + r]
                    } else {
                        i64::MIN
                    };
                }
                for &g in gs {
                    let g = g as usize;
                    let thr = cpi[g];
                    buf.clear();
                    buf.extend(
                        key.iter()
                            .enumerate()
                            .filter(|&(_, &kv)| kv > thr)
                            .map(|(r, &kv)| (kv, r as u32)),
                    );
                    if buf.is_empty() {
                        continue;
                    }
                    let list = &cand[g];
                    buf.retain(|&(_, r)| list.binary_search(&r).is_err() && !blocked(g, r));
                    if buf.len() > ADD_PER_ROUND {
                        buf.select_nth_unstable_by(ADD_PER_ROUND - 1, |a, b| {
                            b.0.cmp(&a.0).then(a.1.cmp(&b.1))
                        });
                        buf.truncate(ADD_PER_ROUND);
                    }
                    out.extend(buf.iter().map(|&(_, r)| (g, r)));
                }
            }
            out
        };
        let mut new_arcs: Vec<(usize, u32)> = Vec::new();
        if threads <= 1 || ng < 16 {
            new_arcs = price(0..class_groups.len());
        } else {
            // Split classes into `threads` chunks of about equal group counts.
            let mut bounds = vec![0usize];
            let per = ng.div_ceil(threads);
            let mut acc = 0;
            for (c, gs) in class_groups.iter().enumerate() {
                acc += gs.len();
                if acc >= per * bounds.len() && bounds.len() < threads {
                    bounds.push(c + 1);
                }
            }
            bounds.push(class_groups.len());
            let parts: Vec<Vec<(usize, u32)>> = std::thread::scope(|sc| {
                let handles: Vec<_> = bounds
                    .windows(2)
                    .map(|w| {
                        let (lo, hi) = (w[0], w[1]);
                        let price = &price;
                        sc.spawn(move || price(lo..hi))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("pricing thread panicked"))
                    .collect()
            });
            for part in parts {
                new_arcs.extend(part);
            }
        }
        stats.priced_pairs += (ng * nr) as u64;
        t_price += ta.elapsed().as_secs_f64();
        observer.round(stats.rounds, new_arcs.len(), sx.pivots);
        if new_arcs.is_empty() {
            break;
        }
        if stats.rounds <= PRUNE_ROUNDS {
            let pis = sx.pi.clone();
            let (src, tgt, cost) = (sx.src.clone(), sx.tgt.clone(), sx.cost.clone());
            let dropped = sx.prune(|e| {
                (src[e] as usize) < ng && cost[e] + pis[src[e] as usize] - pis[tgt[e] as usize] > 0
            });
            if dropped > 0 {
                for list in cand.iter_mut() {
                    list.clear();
                }
                for e in n..sx.src.len() {
                    let s = sx.src[e] as usize;
                    if s < ng {
                        cand[s].push(sx.tgt[e] - rv as u32);
                    }
                }
                for list in cand.iter_mut() {
                    list.sort_unstable();
                }
            }
        }
        new_arcs.sort_unstable();
        for (g, r) in new_arcs {
            let list = &mut cand[g];
            let pos = list.binary_search(&r).unwrap_err();
            list.insert(pos, r);
            let cap = groups[g].members.len() as i64;
            sx.add_arc(g, rv + r as usize, gcost(g, r as usize), cap);
        }
    }
    stats.pivots = sx.pivots;
    stats.degenerate_pivots = sx.degenerate;
    stats.simplex_millis = (t_run * 1000.0) as u64;
    stats.pricing_millis = (t_price * 1000.0) as u64;
    stats.candidate_arcs = cand.iter().map(|c| c.len()).sum();
    let m = sx.src.len();
    observer.phase(SolvePhase::Certifying);

    // Decompose group flows into per-proposal pairs: lay each group's reviewer units out in
    // reviewer order and deal them round-robin to its members. A reviewer sends a group at
    // most |members| units, so its units land on distinct members; every member gets `need`.
    let mut per_group: Vec<Vec<(u32, i64)>> = vec![Vec::new(); ng];
    for e in n..m {
        let s = sx.src[e] as usize;
        if s < ng && sx.flow[e] > 0 {
            per_group[s].push((sx.tgt[e] - rv as u32, sx.flow[e]));
        }
    }
    let mut assigned: Vec<Vec<u32>> = vec![Vec::new(); np];
    for (g, flows) in per_group.iter_mut().enumerate() {
        flows.sort_unstable();
        let mem = &groups[g].members;
        let mut j = 0usize;
        for &(r, f) in flows.iter() {
            for _ in 0..f {
                assigned[mem[j % mem.len()] as usize].push(r);
                j += 1;
            }
        }
    }

    // Infeasible iff artificial flow remains (big-M argument).
    if sx.uses_artificial() {
        let over: Vec<i64> = (0..nr)
            .map(|r| {
                if supply[rv + r] >= 0 {
                    sx.flow[rv + r]
                } else {
                    0
                }
            })
            .collect();
        let under: Vec<usize> = (0..nr)
            .filter(|&r| supply[rv + r] < 0 && sx.flow[rv + r] > 0)
            .collect();
        return Err(SolveError::Infeasible(witness(
            p, &prep, assigned, &over, &under,
        )));
    }

    // Certificate: primal cost and LP dual bound over all arcs of the full (aggregated)
    // problem; omitted arcs have non-negative reduced cost (last pricing pass found none).
    let mut primal: i128 = 0;
    let mut dual: i128 = 0;
    for e in n..m {
        primal += sx.cost[e] as i128 * sx.flow[e] as i128;
        let rc = sx.cost[e] + cpi[sx.src[e] as usize] - cpi[sx.tgt[e] as usize];
        if rc < 0 {
            dual += rc as i128 * sx.cap[e] as i128;
        }
    }
    for (u, &b) in supply.iter().enumerate() {
        dual -= b as i128 * cpi[u] as i128;
    }
    if primal != dual {
        return Err(SolveError::Internal(format!(
            "optimality certificate failed: primal {primal} != dual {dual}"
        )));
    }

    // Extract and verify.
    let mut added: Vec<(usize, usize, i64)> = Vec::with_capacity(demand as usize);
    for (i, list) in assigned.iter().enumerate() {
        for &r in list {
            added.push((i, r as usize, table.get(i, r as usize) as i64));
        }
    }
    added.sort_unstable();
    let mut pairs: Vec<(usize, usize, i64)> = added.clone();
    for &(pi, r) in &prep.fixed_pairs {
        pairs.push((pi, r, table.get(pi, r) as i64));
    }
    pairs.sort_unstable();
    let mut loads = p.external_load.clone();
    loads.resize(nr, 0);
    let mut per_p = vec![0u32; np];
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 && w[0].1 == w[1].1 {
            return Err(SolveError::Internal("duplicate pair".into()));
        }
    }
    for &(pi, r, _) in &pairs {
        loads[r] += 1;
        per_p[pi] += 1;
    }
    for &(pi, r, _) in &added {
        if prep.is_blocked(pi, r as u32) {
            return Err(SolveError::Internal("forbidden pair assigned".into()));
        }
    }
    for i in 0..np {
        if per_p[i] != p.proposals[i].k {
            return Err(SolveError::Internal(format!(
                "proposal {} got {} reviewers",
                p.proposals[i].id, per_p[i]
            )));
        }
    }
    for r in 0..nr {
        let rv = &p.reviewers[r];
        if loads[r] < rv.min_load || loads[r] > rv.max_load {
            return Err(SolveError::Internal(format!(
                "reviewer {} load {} out of bounds",
                rv.id, loads[r]
            )));
        }
    }
    let objective = pairs.iter().map(|x| x.2).sum();
    let load_square_sum = loads.iter().map(|&l| l as u64 * l as u64).sum();
    stats.groups = ng;
    stats.millis = t0.elapsed().as_millis() as u64;
    Ok(Solution {
        pairs,
        added,
        objective,
        loads,
        load_square_sum,
        balanced,
        certificate: Certificate {
            scale,
            primal_cost: primal,
            dual_bound: dual,
        },
        stats,
    })
}

/// Explain an infeasibility found by the solver. `assigned` holds the real pairs of the
/// big-M optimum per proposal, `over` the units each reviewer took beyond its capacity
/// (through its artificial arc), `under` the reviewers left below their minimum load.
/// From the proposals left short, follow alternating paths (unused allowed pair → reviewer
/// → proposals that reviewer serves). If every reviewer reached is full, the proposals
/// reached violate the generalised Hall condition, which is reported with its numbers.
fn witness(
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn reasons() -> [ConflictReason; 4] {
        [
            ConflictReason::Speaker,
            ConflictReason::SameInstitution {
                domain: "uni.edu".into(),
            },
            ConflictReason::Listed {
                entry: "x@y.org".into(),
            },
            ConflictReason::Declared,
        ]
    }

    /// Random small instance; `rich` adds min loads, per-proposal k, fixed and excluded pairs.
    fn random_problem(seed: u64, np: usize, nr: usize, rich: bool) -> Problem {
        let mut g = Rng(seed * 7919 + 17);
        let proposals = (0..np)
            .map(|i| ProposalNeed {
                id: format!("P{i}"),
                k: if rich { g.below(3) as u32 } else { 2 },
            })
            .collect();
        let reviewers = (0..nr)
            .map(|r| {
                let max = 1 + g.below(4) as u32;
                ReviewerCap {
                    id: format!("R{r}"),
                    min_load: if rich { g.below(2) as u32 } else { 0 },
                    max_load: max,
                }
            })
            .collect();
        // Every third seed shares affinity classes, so interchangeable proposals are
        // aggregated into one network node (and conflicts split some of them off).
        let table = if seed.is_multiple_of(3) {
            let (npc, nrc) = (2, 2 + g.below(2) as usize);
            let pc: Vec<u32> = (0..np).map(|_| g.below(npc as u64) as u32).collect();
            let rc: Vec<u32> = (0..nr).map(|_| g.below(nrc as u64) as u32).collect();
            let vals: Vec<i32> = (0..npc * nrc).map(|_| g.below(6) as i32 * 100).collect();
            AffinityTable::new(pc, rc, npc, nrc, vals).unwrap()
        } else {
            let vals: Vec<i32> = (0..np * nr).map(|_| g.below(6) as i32 * 100).collect();
            AffinityTable::dense(np, nr, vals).unwrap()
        };
        let conflict_pct = if seed.is_multiple_of(3) { 5 } else { 12 };
        let mut pb = Problem::new(proposals, reviewers, table);
        for i in 0..np {
            for r in 0..nr {
                let x = g.below(100) + 12 - conflict_pct;
                if x < 12 - conflict_pct {
                    continue;
                }
                if x < 12 {
                    pb.conflicts.push(ConflictPair {
                        proposal: i,
                        reviewer: r,
                        reason: reasons()[g.below(4) as usize].clone(),
                    });
                } else if rich && x < 16 {
                    pb.excluded.push((i, r));
                } else if rich && x < 22 {
                    pb.fixed.push((i, r));
                }
            }
        }
        pb
    }

    /// Brute force: lexicographic best (max Σw, then min Σload²) over all assignments.
    fn brute(p: &Problem) -> Option<(i64, u64)> {
        let np = p.proposals.len();
        let nr = p.reviewers.len();
        let mut fixed = vec![vec![false; nr]; np];
        let mut load = vec![0u32; nr];
        let mut base = 0i64;
        for &(i, r) in &p.fixed {
            if !fixed[i][r] {
                fixed[i][r] = true;
                load[r] += 1;
                base += p.affinity.get(i, r) as i64;
            }
        }
        let mut forbidden = vec![vec![false; nr]; np];
        for c in &p.conflicts {
            forbidden[c.proposal][c.reviewer] = true;
        }
        for &(i, r) in &p.excluded {
            forbidden[i][r] = true;
        }
        fn rec(
            i: usize,
            p: &Problem,
            fixed: &[Vec<bool>],
            forbidden: &[Vec<bool>],
            load: &mut Vec<u32>,
            acc: i64,
            best: &mut Option<(i64, u64)>,
        ) {
            let nr = p.reviewers.len();
            if i == p.proposals.len() {
                if (0..nr).all(|r| load[r] >= p.reviewers[r].min_load) {
                    let sq: u64 = load.iter().map(|&l| (l as u64).pow(2)).sum();
                    let cand = (acc, sq);
                    let better = match best {
                        None => true,
                        Some((w, s)) => cand.0 > *w || (cand.0 == *w && cand.1 < *s),
                    };
                    if better {
                        *best = Some(cand);
                    }
                }
                return;
            }
            let have = fixed[i].iter().filter(|&&x| x).count() as u32;
            let k = p.proposals[i].k;
            if have > k {
                return;
            }
            let need = (k - have) as usize;
            let elig: Vec<usize> = (0..nr)
                .filter(|&r| !fixed[i][r] && !forbidden[i][r])
                .collect();
            #[allow(clippy::too_many_arguments)]
            fn choose(
                start: usize,
                left: usize,
                elig: &[usize],
                i: usize,
                p: &Problem,
                fixed: &[Vec<bool>],
                forbidden: &[Vec<bool>],
                load: &mut Vec<u32>,
                acc: i64,
                best: &mut Option<(i64, u64)>,
            ) {
                if left == 0 {
                    rec(i + 1, p, fixed, forbidden, load, acc, best);
                    return;
                }
                for j in start..elig.len() {
                    let r = elig[j];
                    if load[r] < p.reviewers[r].max_load {
                        load[r] += 1;
                        let a = acc + p.affinity.get(i, r) as i64;
                        choose(j + 1, left - 1, elig, i, p, fixed, forbidden, load, a, best);
                        load[r] -= 1;
                    }
                }
            }
            choose(0, need, &elig, i, p, fixed, forbidden, load, acc, best);
        }
        if (0..nr).any(|r| load[r] > p.reviewers[r].max_load) {
            return None;
        }
        let mut best = None;
        rec(0, p, &fixed, &forbidden, &mut load, base, &mut best);
        best
    }

    /// Independent exact solver for the primary objective: successive shortest paths with
    /// Bellman-Ford on the full dense network; min loads via a large bonus on mandatory units.
    fn ssp_objective(p: &Problem) -> Option<i64> {
        let np = p.proposals.len();
        let nr = p.reviewers.len();
        let mut fixed = vec![vec![false; nr]; np];
        let mut fp = vec![0u32; np];
        let mut fl = vec![0u32; nr];
        let mut base = 0i64;
        for &(i, r) in &p.fixed {
            if !fixed[i][r] {
                fixed[i][r] = true;
                fp[i] += 1;
                fl[r] += 1;
                base += p.affinity.get(i, r) as i64;
            }
        }
        let mut forbidden = vec![vec![false; nr]; np];
        for c in &p.conflicts {
            forbidden[c.proposal][c.reviewer] = true;
        }
        for &(i, r) in &p.excluded {
            forbidden[i][r] = true;
        }
        if (0..np).any(|i| fp[i] > p.proposals[i].k)
            || (0..nr).any(|r| fl[r] > p.reviewers[r].max_load)
        {
            return None;
        }
        let big: i64 = 1_000_000_000;
        let (s, t) = (np + nr, np + nr + 1);
        let nn = np + nr + 2;
        let mut to = Vec::new();
        let mut cap = Vec::new();
        let mut cost = Vec::new();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); nn];
        let mut add = |u: usize, v: usize, c: i64, w: i64| {
            adj[u].push(to.len());
            to.push(v);
            cap.push(c);
            cost.push(w);
            adj[v].push(to.len());
            to.push(u);
            cap.push(0);
            cost.push(-w);
        };
        let mut demand = 0i64;
        for i in 0..np {
            let need = (p.proposals[i].k - fp[i]) as i64;
            demand += need;
            add(s, i, need, 0);
            for r in 0..nr {
                if !fixed[i][r] && !forbidden[i][r] {
                    add(i, np + r, 1, -(p.affinity.get(i, r) as i64));
                }
            }
        }
        let mut mand = 0i64;
        for r in 0..nr {
            let m = p.reviewers[r].min_load.saturating_sub(fl[r]) as i64;
            let left = (p.reviewers[r].max_load - fl[r]) as i64;
            mand += m;
            add(np + r, t, m, -big);
            add(np + r, t, left - m.min(left), 0);
            if m > left {
                return None;
            }
        }
        let mut flow = 0i64;
        let mut total = 0i64;
        loop {
            let mut dist = vec![i64::MAX; nn];
            let mut prev = vec![usize::MAX; nn];
            dist[s] = 0;
            for _ in 0..nn {
                let mut changed = false;
                for u in 0..nn {
                    if dist[u] == i64::MAX {
                        continue;
                    }
                    for &e in &adj[u] {
                        if cap[e] > 0 && dist[u] + cost[e] < dist[to[e]] {
                            dist[to[e]] = dist[u] + cost[e];
                            prev[to[e]] = e;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
            if dist[t] == i64::MAX {
                break;
            }
            let mut v = t;
            while v != s {
                let e = prev[v];
                cap[e] -= 1;
                cap[e ^ 1] += 1;
                v = to[e ^ 1];
            }
            flow += 1;
            total += dist[t];
        }
        if flow != demand {
            return None;
        }
        let w = -(total + big * mand);
        // Mandatory units all used iff the bonus was collected in full.
        if -(total) < big * mand - big / 2 {
            return None;
        }
        Some(base + w)
    }

    fn check_solution(p: &Problem, s: &Solution) {
        let np = p.proposals.len();
        let mut cnt = vec![0u32; np];
        let mut loads = vec![0u32; p.reviewers.len()];
        let mut seen = std::collections::HashSet::new();
        let forb: std::collections::HashSet<(usize, usize)> = p
            .conflicts
            .iter()
            .map(|c| (c.proposal, c.reviewer))
            .chain(p.excluded.iter().copied())
            .collect();
        let fixed: std::collections::HashSet<(usize, usize)> = p.fixed.iter().copied().collect();
        for &(i, r, w) in &s.pairs {
            assert!(seen.insert((i, r)), "duplicate pair");
            assert_eq!(w, p.affinity.get(i, r) as i64);
            if !fixed.contains(&(i, r)) {
                assert!(!forb.contains(&(i, r)), "forbidden pair used");
            }
            cnt[i] += 1;
            loads[r] += 1;
        }
        for f in &fixed {
            assert!(seen.contains(f), "fixed pair dropped");
        }
        for i in 0..np {
            assert_eq!(cnt[i], p.proposals[i].k);
        }
        for (r, rv) in p.reviewers.iter().enumerate() {
            assert!(loads[r] >= rv.min_load && loads[r] <= rv.max_load);
        }
        assert_eq!(loads, s.loads);
        assert_eq!(s.objective, s.pairs.iter().map(|x| x.2).sum::<i64>());
        assert_eq!(s.certificate.primal_cost, s.certificate.dual_bound);
    }

    #[test]
    fn matches_brute_force_lexicographically() {
        let mut solved = 0;
        let mut infeasible = 0;
        for seed in 0..400 {
            let rich = seed % 2 == 0;
            let np = 2 + (seed as usize % 3);
            let nr = 3 + (seed as usize / 3 % 3);
            let p = random_problem(seed, np, nr, rich);
            let b = brute(&p);
            match (solve(&p), b) {
                (Ok(s), Some((w, sq))) => {
                    check_solution(&p, &s);
                    assert_eq!(s.objective, w, "seed {seed}");
                    assert_eq!(s.load_square_sum, sq, "seed {seed}");
                    solved += 1;
                }
                (Err(SolveError::Infeasible(d)), None) => {
                    assert!(!d.is_empty());
                    infeasible += 1;
                }
                (r, b) => panic!("seed {seed}: solver {r:?} vs brute {b:?}"),
            }
        }
        assert!(solved > 100 && infeasible > 20, "{solved} {infeasible}");
    }

    #[test]
    fn matches_independent_ssp_on_medium_instances() {
        for seed in 0..60 {
            let rich = seed % 3 != 0;
            let p = random_problem(
                1000 + seed,
                12 + seed as usize % 7,
                6 + seed as usize % 4,
                rich,
            );
            let want = ssp_objective(&p);
            match (solve(&p), want) {
                (Ok(s), Some(w)) => {
                    check_solution(&p, &s);
                    assert_eq!(s.objective, w, "seed {seed}");
                }
                (Err(SolveError::Infeasible(_)), None) => {}
                (r, w) => panic!(
                    "seed {seed}: solver {:?} vs ssp {w:?}",
                    r.map(|s| s.objective)
                ),
            }
        }
    }

    #[test]
    fn large_random_many_candidates_and_pricing() {
        // Big enough that pricing must add arcs beyond the initial candidates.
        let np = 60;
        let nr = 12;
        let mut g = Rng(99);
        let proposals = (0..np)
            .map(|i| ProposalNeed {
                id: format!("P{i}"),
                k: 3,
            })
            .collect();
        let reviewers = (0..nr)
            .map(|r| ReviewerCap {
                id: format!("R{r}"),
                min_load: 0,
                max_load: 16,
            })
            .collect();
        // Strongly skewed: everyone wants reviewer 0..3.
        let vals: Vec<i32> = (0..np * nr)
            .map(|x| {
                let r = x % nr;
                (if r < 3 { 900 } else { 100 }) + g.below(50) as i32
            })
            .collect();
        let p = Problem::new(
            proposals,
            reviewers,
            AffinityTable::dense(np, nr, vals).unwrap(),
        );
        let s = solve(&p).unwrap();
        check_solution(&p, &s);
        assert_eq!(Some(s.objective), ssp_objective(&p));
    }

    #[test]
    fn observer_sees_phases_in_order_and_every_pricing_round() {
        #[derive(Default)]
        struct Log(std::cell::RefCell<Vec<String>>);
        impl SolveObserver for Log {
            fn phase(&self, phase: SolvePhase) {
                self.0.borrow_mut().push(format!("{phase:?}"));
            }
            fn round(&self, round: u32, added: usize, _pivots: u64) {
                self.0.borrow_mut().push(format!("round {round} +{added}"));
            }
        }
        let mut several_rounds = false;
        for seed in 0..60 {
            let p = random_problem(seed, 30, 30, false);
            let log = Log::default();
            let Ok(observed) = solve_observed(&p, &log) else {
                continue;
            };
            let events = log.0.into_inner();
            let rounds: Vec<&String> = events.iter().filter(|e| e.starts_with("round")).collect();
            assert_eq!(rounds.len() as u32, observed.stats.rounds, "{events:?}");
            assert_eq!(
                rounds.last().unwrap().as_str(),
                &format!("round {} +0", rounds.len()),
                "the last round adds nothing: {events:?}"
            );
            several_rounds |= rounds.len() > 1;
            let phases: Vec<&String> = events.iter().filter(|e| !e.starts_with("round")).collect();
            assert_eq!(phases, ["Checking", "Building", "Optimizing", "Certifying"]);
        }
        assert!(several_rounds, "no instance needed a second pricing round");
        let p = random_problem(1, 30, 30, false);
        let observed = solve_observed(&p, &Log::default()).unwrap();
        // Observing changes nothing (timings aside).
        let plain = solve(&p).unwrap();
        assert_eq!(plain.pairs, observed.pairs);
        assert_eq!(plain.certificate, observed.certificate);
        assert_eq!(plain.stats.rounds, observed.stats.rounds);
    }

    #[test]
    fn topic_instances_with_groups_match_ssp() {
        let topics = ["a", "b", "c", "d", "e"];
        for seed in 0..12u64 {
            let mut g = Rng(seed + 77);
            let np = 60 + (seed as usize % 5) * 5;
            let nr = 14;
            let pick = |g: &mut Rng, lo: u64, hi: u64| -> Vec<&str> {
                let k = lo + g.below(hi - lo + 1);
                let mut v: Vec<&str> = Vec::new();
                while (v.len() as u64) < k {
                    // skewed: topic "a" is popular
                    let t = topics[(g.below(25) as f64).sqrt() as usize];
                    if !v.contains(&t) {
                        v.push(t);
                    }
                }
                v
            };
            let pt: Vec<Vec<&str>> = (0..np).map(|_| pick(&mut g, 1, 2)).collect();
            let rt: Vec<Vec<&str>> = (0..nr).map(|_| pick(&mut g, 1, 3)).collect();
            let f = if seed % 2 == 0 {
                Affinity::Jaccard
            } else {
                Affinity::Overlap
            };
            let mut p = Problem::new(
                (0..np)
                    .map(|i| ProposalNeed {
                        id: format!("P{i}"),
                        k: if i % 9 == 0 { 3 } else { 2 },
                    })
                    .collect(),
                (0..nr)
                    .map(|r| ReviewerCap {
                        id: format!("R{r}"),
                        min_load: (r % 3 == 0) as u32 * 4,
                        max_load: 13,
                    })
                    .collect(),
                AffinityTable::from_topics(&pt, &rt, &f),
            );
            for _ in 0..np / 4 {
                p.conflicts.push(ConflictPair {
                    proposal: g.below(np as u64) as usize,
                    reviewer: g.below(nr as u64) as usize,
                    reason: ConflictReason::Declared,
                });
            }
            let s = solve(&p).unwrap();
            check_solution(&p, &s);
            assert!(s.stats.groups < np, "aggregation expected");
            assert_eq!(Some(s.objective), ssp_objective(&p), "seed {seed}");
            let mut nb = p.clone();
            nb.balance_loads = false;
            let s2 = solve(&nb).unwrap();
            assert_eq!(s2.objective, s.objective);
            assert!(s2.load_square_sum >= s.load_square_sum);
        }
    }

    #[test]
    fn deterministic() {
        for seed in 0..20 {
            let p = random_problem(500 + seed, 9, 6, true);
            let a = solve(&p);
            let b = solve(&p);
            match (a, b) {
                (Ok(mut x), Ok(mut y)) => {
                    x.stats.millis = 0;
                    y.stats.millis = 0;
                    assert_eq!(x, y)
                }
                (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
                _ => panic!("nondeterministic feasibility"),
            }
        }
    }

    #[test]
    fn balanced_tie_breaking() {
        let p = Problem::new(
            (0..4)
                .map(|i| ProposalNeed {
                    id: format!("P{i}"),
                    k: 1,
                })
                .collect(),
            (0..2)
                .map(|r| ReviewerCap {
                    id: format!("R{r}"),
                    min_load: 0,
                    max_load: 4,
                })
                .collect(),
            AffinityTable::from_fn(4, 2, |_, _| 500),
        );
        let s = solve(&p).unwrap();
        assert_eq!(s.loads, vec![2, 2]);
        assert_eq!(s.objective, 2000);
        // Balance never costs affinity: one extra point for R0 on P0 keeps 4 x 500 + 1.
        let p2 = Problem {
            affinity: AffinityTable::from_fn(4, 2, |i, r| if i == 0 && r == 0 { 501 } else { 500 }),
            ..p.clone()
        };
        let s2 = solve(&p2).unwrap();
        assert_eq!(s2.objective, 2001);
        assert_eq!(s2.loads, vec![2, 2]);
        let p3 = Problem {
            balance_loads: false,
            ..p
        };
        assert_eq!(solve(&p3).unwrap().objective, 2000);
    }

    #[test]
    fn incremental_fill_keeps_fixed_pairs() {
        let mut p = Problem::new(
            (0..3)
                .map(|i| ProposalNeed {
                    id: format!("P{i}"),
                    k: 2,
                })
                .collect(),
            (0..3)
                .map(|r| ReviewerCap {
                    id: format!("R{r}"),
                    min_load: 0,
                    max_load: 2,
                })
                .collect(),
            AffinityTable::from_fn(3, 3, |i, r| ((i + r) % 3) as i32 * 100 + 10),
        );
        // P0 fully assigned already (with poor choices), P1 lost a reviewer who declined.
        p.fixed = vec![(0, 0), (0, 1), (1, 2)];
        p.excluded = vec![(1, 1)];
        let s = solve(&p).unwrap();
        check_solution(&p, &s);
        for f in &p.fixed {
            assert!(s.pairs.iter().any(|x| (x.0, x.1) == *f));
            assert!(!s.added.iter().any(|x| (x.0, x.1) == *f));
        }
        assert!(!s.added.iter().any(|x| x.0 == 0));
        assert!(!s.added.iter().any(|x| (x.0, x.1) == (1, 1)));
        assert_eq!(s.added.len(), 3);
        assert_eq!(brute(&p).unwrap().0, s.objective);
    }

    #[test]
    fn external_load_counts_toward_caps_and_balance() {
        // One proposal needing one more reviewer; three equally suitable reviewers.
        let mut p = Problem::new(
            vec![ProposalNeed {
                id: "P-0001".into(),
                k: 2,
            }],
            (0..4)
                .map(|r| ReviewerCap {
                    id: format!("R{r}"),
                    min_load: 0,
                    max_load: 3,
                })
                .collect(),
            AffinityTable::from_fn(1, 4, |_, r| if r == 3 { 100 } else { 500 }),
        );
        p.fixed = vec![(0, 0)];
        // R1 already carries 2 proposals elsewhere, R2 only 1: the balance prefers R2.
        p.external_load = vec![1, 2, 1, 0];
        let s = solve(&p).unwrap();
        assert_eq!(s.added, vec![(0, 2, 500)]);
        assert_eq!(s.loads, vec![2, 2, 2, 0]);
        // Full elsewhere: R2 at its max is not eligible, R1 is next.
        p.external_load = vec![1, 2, 3, 0];
        let s = solve(&p).unwrap();
        assert_eq!(s.added, vec![(0, 1, 500)]);
        // Affinity still comes first: the idle but unsuitable R3 is only taken when
        // nobody suitable has room.
        p.external_load = vec![1, 3, 3, 0];
        let s = solve(&p).unwrap();
        assert_eq!(s.added, vec![(0, 3, 100)]);
        // A wrong-sized vector is refused, not silently misread.
        p.external_load = vec![1];
        assert!(matches!(solve(&p), Err(SolveError::InvalidInput(_))));
    }

    #[test]
    fn infeasibility_names_proposals() {
        let mut p = Problem::new(
            vec![
                ProposalNeed {
                    id: "P-0001".into(),
                    k: 2,
                },
                ProposalNeed {
                    id: "P-0002".into(),
                    k: 2,
                },
            ],
            vec![
                ReviewerCap {
                    id: "ann@uni.edu".into(),
                    min_load: 0,
                    max_load: 2,
                },
                ReviewerCap {
                    id: "bob@x.org".into(),
                    min_load: 0,
                    max_load: 2,
                },
            ],
            AffinityTable::from_fn(2, 2, |_, _| 1),
        );
        p.conflicts.push(ConflictPair {
            proposal: 0,
            reviewer: 0,
            reason: ConflictReason::Speaker,
        });
        let d = diagnose(&p);
        assert_eq!(d.len(), 1);
        let msg = d[0].to_string();
        assert!(msg.contains("P-0001") && msg.contains("speaker"), "{msg}");
        assert!(matches!(solve(&p), Err(SolveError::Infeasible(_))));

        // Capacity and min load totals.
        let mut q = p.clone();
        q.conflicts.clear();
        q.reviewers[0].max_load = 1;
        let d = diagnose(&q);
        assert!(d
            .iter()
            .any(|x| matches!(x, Infeasibility::CapacityShort { .. })));
        let mut q2 = p.clone();
        q2.conflicts.clear();
        q2.reviewers[0].min_load = 3;
        q2.reviewers[0].max_load = 5;
        q2.reviewers[1].min_load = 3;
        q2.reviewers[1].max_load = 5;
        let d = diagnose(&q2);
        assert!(d
            .iter()
            .any(|x| matches!(x, Infeasibility::MinLoadsExceedDemand { .. })));
    }

    #[test]
    fn hall_shortage_is_named() {
        // P0 and P1 can only use R0 and R1 (conflicts with R2), each needs 2, but R0/R1 have
        // capacity 1 + 2 = 3 < 4. Every proposal alone has 2 eligible reviewers.
        let mut p = Problem::new(
            (0..3)
                .map(|i| ProposalNeed {
                    id: format!("P{i}"),
                    k: 2,
                })
                .collect(),
            vec![
                ReviewerCap {
                    id: "R0".into(),
                    min_load: 0,
                    max_load: 1,
                },
                ReviewerCap {
                    id: "R1".into(),
                    min_load: 0,
                    max_load: 2,
                },
                ReviewerCap {
                    id: "R2".into(),
                    min_load: 0,
                    max_load: 9,
                },
            ],
            AffinityTable::from_fn(3, 3, |_, _| 5),
        );
        for i in 0..2 {
            p.conflicts.push(ConflictPair {
                proposal: i,
                reviewer: 2,
                reason: ConflictReason::SameInstitution {
                    domain: "uni.edu".into(),
                },
            });
        }
        assert!(diagnose(&p).is_empty());
        match solve(&p) {
            Err(SolveError::Infeasible(d)) => {
                let msg = d[0].to_string();
                assert!(
                    matches!(
                        &d[0],
                        Infeasibility::GroupShort {
                            demand: 6,
                            capacity: 4,
                            ..
                        }
                    ),
                    "{msg}"
                );
                assert!(
                    msg.contains("P0") && msg.contains("P1") && msg.contains("R0"),
                    "{msg}"
                );
            }
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn topic_formulas() {
        let j = Affinity::Jaccard;
        let o = Affinity::Overlap;
        let rw = Affinity::RankWeighted(vec![3, 2, 1]);
        let pt = ["a", "b", "c"];
        assert_eq!(j.score(&pt, &["a", "d"]), 250);
        assert_eq!(o.score(&pt, &["a", "d"]), 333);
        assert_eq!(o.score(&["a", "b"], &["a"]), 500);
        assert_eq!(j.score(&["a", "b", "c"], &["a", "b"]), 667);
        assert_eq!(rw.score(&pt, &["a"]), 500);
        assert_eq!(rw.score(&pt, &["c"]), 167);
        assert_eq!(j.score::<&str>(&[], &[]), 0);
        // Table agrees with pairwise scoring, including rank order.
        let props = vec![vec!["a", "b"], vec!["b", "a"], vec!["c"], vec!["a", "b"]];
        let revs = vec![vec!["a"], vec!["b", "c"], vec!["a"]];
        for f in [j, o, rw] {
            let t = AffinityTable::from_topics(&props, &revs, &f);
            for (i, pt) in props.iter().enumerate() {
                for (r, rt) in revs.iter().enumerate() {
                    assert_eq!(t.get(i, r), f.score(pt, rt));
                }
            }
            assert!(t.n_classes().1 == 2);
        }
    }

    #[test]
    fn edge_cases() {
        let empty = Problem::new(
            Vec::new(),
            Vec::new(),
            AffinityTable::dense(0, 0, Vec::new()).unwrap(),
        );
        let s = solve(&empty).unwrap();
        assert!(s.pairs.is_empty() && s.objective == 0);
        let none_needed = Problem::new(
            vec![ProposalNeed {
                id: "P0".into(),
                k: 0,
            }],
            Vec::new(),
            AffinityTable::dense(1, 0, Vec::new()).unwrap(),
        );
        assert!(solve(&none_needed).unwrap().pairs.is_empty());
        let no_reviewers = Problem::new(
            vec![ProposalNeed {
                id: "P0".into(),
                k: 2,
            }],
            Vec::new(),
            AffinityTable::dense(1, 0, Vec::new()).unwrap(),
        );
        let d = diagnose(&no_reviewers);
        assert!(d
            .iter()
            .any(|x| matches!(x, Infeasibility::ProposalShort { .. })));
        assert!(d
            .iter()
            .any(|x| matches!(x, Infeasibility::CapacityShort { .. })));
        // Min load forces a zero-affinity pair over a better one elsewhere.
        let p = Problem::new(
            vec![ProposalNeed {
                id: "P0".into(),
                k: 1,
            }],
            vec![
                ReviewerCap {
                    id: "R0".into(),
                    min_load: 0,
                    max_load: 1,
                },
                ReviewerCap {
                    id: "R1".into(),
                    min_load: 1,
                    max_load: 1,
                },
            ],
            AffinityTable::dense(1, 2, vec![900, 0]).unwrap(),
        );
        let s = solve(&p).unwrap();
        assert_eq!(s.pairs, vec![(0, 1, 0)]);
    }

    #[test]
    fn invalid_input_is_reported() {
        let mut p = random_problem(3, 3, 3, false);
        p.fixed.push((7, 0));
        assert!(matches!(solve(&p), Err(SolveError::InvalidInput(_))));
        assert!(matches!(
            diagnose(&p)[0],
            Infeasibility::InvalidInput { .. }
        ));
    }
}
