//! Preprocessing shared by the diagnosis and the solve: validated input, what each
//! proposal still needs and each reviewer can still take once fixed pairs and outside
//! load are counted, and the blocked pairs per proposal in one sorted array.

use crate::assign::conflict::ConflictReason;
use crate::assign::problem::{InvalidProblem, Problem};

/// Kinds of blocked pairs, in precedence order for counting.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum BlockKind {
    Fixed,
    Speaker,
    Institution,
    Listed,
    Declared,
    Excluded,
}

/// The problem's numbers after fixed pairs and outside load are taken off.
pub(super) struct Prep {
    /// Proposals.
    pub(super) np: usize,
    /// Reviewers.
    pub(super) nr: usize,
    /// Reviewers each proposal still needs (k minus fixed pairs).
    pub(super) need: Vec<u32>,
    /// Fixed pairs per proposal.
    pub(super) fixed_p: Vec<u32>,
    /// Load each reviewer already carries (external + fixed).
    pub(super) fixed_load: Vec<u32>,
    /// Load each reviewer can still take (max_load minus fixed load).
    pub(super) cap_left: Vec<u32>,
    /// Load each reviewer must still take to reach min_load.
    pub(super) mandatory: Vec<u32>,
    /// CSR of blocked reviewers per proposal (sorted, unique), with the strongest kind.
    blk_off: Vec<usize>,
    blk: Vec<(u32, BlockKind)>,
    /// Fixed pairs, sorted and de-duplicated.
    pub(super) fixed_pairs: Vec<(usize, usize)>,
}

impl Prep {
    /// Validate `p` and take off what fixed pairs and outside load already use.
    pub(super) fn new(p: &Problem) -> Result<Prep, InvalidProblem> {
        let np = p.proposals.len();
        let nr = p.reviewers.len();
        if p.affinity.n_proposals() != np || p.affinity.n_reviewers() != nr {
            return Err(InvalidProblem::TableCoverage {
                table_proposals: p.affinity.n_proposals(),
                table_reviewers: p.affinity.n_reviewers(),
                proposals: np,
                reviewers: nr,
            });
        }
        if np >= u32::MAX as usize / 2 || nr >= u32::MAX as usize / 2 {
            return Err(InvalidProblem::TooLarge);
        }
        let check = |pi: usize, ri: usize, what: &'static str| -> Result<(), InvalidProblem> {
            if pi >= np || ri >= nr {
                Err(InvalidProblem::PairOutOfRange {
                    what,
                    proposal: pi,
                    reviewer: ri,
                })
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
            return Err(InvalidProblem::ExternalLoadLength {
                entries: p.external_load.len(),
                reviewers: nr,
            });
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

    /// The blocked reviewers of proposal `p`, sorted, each with its strongest kind.
    #[inline]
    pub(super) fn blocked(&self, p: usize) -> &[(u32, BlockKind)] {
        &self.blk[self.blk_off[p]..self.blk_off[p + 1]]
    }

    /// True when reviewer `r` may not take proposal `p` (fixed already, conflict, excluded).
    #[inline]
    pub(super) fn is_blocked(&self, p: usize, r: u32) -> bool {
        self.blocked(p).binary_search_by_key(&r, |x| x.0).is_ok()
    }
}
