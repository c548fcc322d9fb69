//! The assignment problem as the solver sees it: proposals with their reviewer counts,
//! reviewers with their load bounds, integer affinities, and the pairs that are forbidden
//! (conflicts, exclusions) or already fixed.
//!
//! Kept apart from the solver so that the plan (stored rows → problem), the benchmark
//! instance format and the solver all speak one vocabulary without depending on one
//! another's internals. Pure: no I/O.
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
//! The solver ([`super::solver`]) finds the proven optimum or names why none exists.

use std::collections::HashMap;

use super::conflict::ConflictReason;

/// Why a [`Problem`] (or its [`AffinityTable`]) is malformed: a caller's bug, not an
/// infeasibility, so it names the offending numbers instead of proposals and reviewers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProblem {
    /// The affinity values do not fill the class table.
    #[error("affinity table has {values} values, expected {rows} x {cols}")]
    TableSize {
        /// Values given.
        values: usize,
        /// Proposal classes (rows).
        rows: usize,
        /// Reviewer classes (columns).
        cols: usize,
    },
    /// A proposal or reviewer names a class the table does not have.
    #[error("affinity class index out of range")]
    ClassOutOfRange,
    /// The affinity table was built for other proposals or reviewers.
    #[error("affinity table covers {table_proposals} x {table_reviewers} but there are {proposals} proposals and {reviewers} reviewers")]
    TableCoverage {
        /// Proposals the table covers.
        table_proposals: usize,
        /// Reviewers the table covers.
        table_reviewers: usize,
        /// Proposals in the problem.
        proposals: usize,
        /// Reviewers in the problem.
        reviewers: usize,
    },
    /// More proposals or reviewers than the solver's 32-bit node indices allow.
    #[error("too many proposals or reviewers")]
    TooLarge,
    /// A fixed, conflict or excluded pair names a proposal or reviewer that does not exist.
    #[error("{what} pair ({proposal}, {reviewer}) is out of range")]
    PairOutOfRange {
        /// Which list the pair is in: `fixed`, `conflict` or `excluded`.
        what: &'static str,
        /// The pair's proposal index.
        proposal: usize,
        /// The pair's reviewer index.
        reviewer: usize,
    },
    /// [`Problem::external_load`] is neither empty nor one entry per reviewer.
    #[error("external_load has {entries} entries but there are {reviewers} reviewers")]
    ExternalLoadLength {
        /// Entries given.
        entries: usize,
        /// Reviewers in the problem.
        reviewers: usize,
    },
    /// Affinities so large that the combined cost could overflow the solver's integers.
    #[error("affinity values are too large to combine safely")]
    AffinityTooLarge,
}

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
    pub(super) proposal_class: Vec<u32>,
    /// Class of each reviewer; reviewers of one class have identical affinity columns.
    pub(super) reviewer_class: Vec<u32>,
    /// Number of proposal classes (rows of `values`).
    pub(super) n_pc: usize,
    /// Number of reviewer classes (columns of `values`).
    pub(super) n_rc: usize,
    /// Row-major `n_pc × n_rc` affinities.
    pub(super) values: Vec<i32>,
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
    ) -> Result<Self, InvalidProblem> {
        if values.len() != n_proposal_classes * n_reviewer_classes {
            return Err(InvalidProblem::TableSize {
                values: values.len(),
                rows: n_proposal_classes,
                cols: n_reviewer_classes,
            });
        }
        if proposal_class
            .iter()
            .any(|&c| c as usize >= n_proposal_classes)
            || reviewer_class
                .iter()
                .any(|&c| c as usize >= n_reviewer_classes)
        {
            return Err(InvalidProblem::ClassOutOfRange);
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
    ) -> Result<Self, InvalidProblem> {
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
    #[inline]
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
    #[inline]
    pub(super) fn row(&self, pc: usize) -> &[i32] {
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
