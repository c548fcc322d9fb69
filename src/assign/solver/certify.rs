//! From the optimal group flow to the answer: deal group flows out to proposals, name the
//! shortage when artificial flow remains, check the optimality certificate, and verify the
//! pairs against every constraint before anything is returned.

use super::diagnose::witness;
use super::network::Net;
use super::prep::Prep;
use super::simplex::Simplex;
use super::SolveError;
use crate::assign::problem::Problem;

/// Decompose group flows into per-proposal reviewers: lay each group's reviewer units out in
/// reviewer order and deal them round-robin to its members. A reviewer sends a group at
/// most |members| units, so its units land on distinct members; every member gets `need`.
/// A member dealt a reviewer it may not take is then repaired by a swap with another
/// member (see [`repair`]). Returns the reviewers per proposal and the proposals no swap
/// could repair (empty when the decomposition is an assignment); those still hold their
/// blocked reviewer.
pub(super) fn decompose(net: &Net<'_>, sx: &Simplex) -> (Vec<Vec<u32>>, Vec<u32>) {
    let (ng, n, rv) = (net.ng, net.n, net.rv);
    let m = sx.src.len();
    let mut per_group: Vec<Vec<(u32, i64)>> = vec![Vec::new(); ng];
    // Flows into reviewer nodes of several reviewers, by node: (group, units).
    let mut per_node: Vec<Vec<(u32, i64)>> = vec![Vec::new(); net.nr];
    for e in n..m {
        let s = sx.src[e] as usize;
        if s < ng && sx.flow[e] > 0 {
            let q = (sx.tgt[e] - rv as u32) as usize;
            match net.rmembers(q) {
                &[r] => per_group[s].push((r, sx.flow[e])),
                _ => per_node[q].push((s as u32, sx.flow[e])),
            }
        }
    }
    expand_reviewer_nodes(net, &mut per_node, &mut per_group);
    let mut assigned: Vec<Vec<u32>> = vec![Vec::new(); net.prep.np];
    let mut failed: Vec<u32> = Vec::new();
    for (g, flows) in per_group.iter_mut().enumerate() {
        flows.sort_unstable();
        let grp = &net.groups[g];
        let mem = &grp.members;
        let mut j = 0usize;
        for &(r, f) in flows.iter() {
            for _ in 0..f {
                assigned[mem[j % mem.len()] as usize].push(r);
                j += 1;
            }
        }
        if !grp.blocked.is_empty() {
            repair(net.prep, mem, &mut assigned, &mut failed);
        }
    }
    failed.sort_unstable();
    failed.dedup();
    (assigned, failed)
}

/// Deal the units each group sends a reviewer node of `m` reviewers to its members:
/// the node's units, group after group, go round-robin over the members. A member's load
/// is then the node's total divided by `m`, rounded up or down (the balanced spread the
/// node's balance arcs priced), and a group sending `f ≤ |group|·m` units gives one member
/// at most `⌈f/m⌉ ≤ |group|` of them, so the per-reviewer flow fits the arc capacities and
/// can be dealt to the group's members as before. Aggregated reviewers have no blocked
/// pair, so nothing here needs repair.
fn expand_reviewer_nodes(
    net: &Net<'_>,
    per_node: &mut [Vec<(u32, i64)>],
    per_group: &mut [Vec<(u32, i64)>],
) {
    for (q, flows) in per_node.iter_mut().enumerate() {
        if flows.is_empty() {
            continue;
        }
        flows.sort_unstable();
        let rs = net.rmembers(q);
        let m = rs.len() as i64;
        let mut pos = 0i64;
        for &(g, f) in flows.iter() {
            // Positions pos..pos+f; offset t < m gets every m-th of them from pos + t.
            for t in 0..f.min(m) {
                let r = rs[((pos + t) % m) as usize];
                per_group[g as usize].push((r, (f - t + m - 1) / m));
            }
            pos += f;
        }
    }
}

/// Swap away every blocked reviewer a member of one group was dealt: member `p` holding
/// blocked `r` trades it for a reviewer `r2` of another member `q` when `q` may take `r`
/// and does not hold it, and `p` may take `r2` and does not hold it. Each swap removes one
/// blocked pair and creates none, and keeps every reviewer's unit count, so the group's
/// flow (and the cost) is unchanged. Members no swap repairs are pushed to `failed`.
fn repair(prep: &Prep, mem: &[u32], assigned: &mut [Vec<u32>], failed: &mut Vec<u32>) {
    for &p in mem {
        let p = p as usize;
        let mut k = 0;
        while k < assigned[p].len() {
            let r = assigned[p][k];
            if !prep.is_blocked(p, r) {
                k += 1;
                continue;
            }
            let mut swap: Option<(usize, usize)> = None;
            'search: for &q in mem {
                let q = q as usize;
                if q == p || prep.is_blocked(q, r) || assigned[q].contains(&r) {
                    continue;
                }
                for (k2, &r2) in assigned[q].iter().enumerate() {
                    if !prep.is_blocked(p, r2) && !assigned[p].contains(&r2) {
                        swap = Some((q, k2));
                        break 'search;
                    }
                }
            }
            match swap {
                Some((q, k2)) => {
                    let r2 = assigned[q][k2];
                    assigned[q][k2] = r;
                    assigned[p][k] = r2;
                }
                None => {
                    failed.push(p as u32);
                }
            }
            k += 1;
        }
    }
}

/// Why the problem is infeasible, once artificial flow remains in the optimum: the
/// reviewers over capacity and under their minimum load feed the witness.
pub(super) fn shortage(
    p: &Problem,
    net: &Net<'_>,
    sx: &Simplex,
    assigned: Vec<Vec<u32>>,
) -> SolveError {
    // Only called on a network of one reviewer per node (see `solve_observed`).
    debug_assert_eq!(net.nr, net.prep.nr);
    let (nr, rv, supply) = (net.nr, net.rv, &net.supply);
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
    SolveError::Infeasible(witness(p, net.prep, assigned, &over, &under))
}

/// Certificate: primal cost and LP dual bound over all arcs of the full (aggregated)
/// problem; omitted arcs have non-negative reduced cost (the last pricing pass found none).
/// Returns (primal, dual), which must be equal.
pub(super) fn certificate(
    net: &Net<'_>,
    sx: &Simplex,
    cpi: &[i64],
) -> Result<(i128, i128), SolveError> {
    let mut primal: i128 = 0;
    let mut dual: i128 = 0;
    for e in net.n..sx.src.len() {
        primal += sx.cost[e] as i128 * sx.flow[e] as i128;
        let rc = sx.cost[e] + cpi[sx.src[e] as usize] - cpi[sx.tgt[e] as usize];
        if rc < 0 {
            dual += rc as i128 * sx.cap[e] as i128;
        }
    }
    for (u, &b) in net.supply.iter().enumerate() {
        dual -= b as i128 * cpi[u] as i128;
    }
    if primal != dual {
        return Err(SolveError::Internal(format!(
            "optimality certificate failed: primal {primal} != dual {dual}"
        )));
    }
    Ok((primal, dual))
}

/// The chosen pairs, checked against every constraint of `p`.
pub(super) struct Pairs {
    /// All final pairs (fixed and new), sorted.
    pub(super) pairs: Vec<(usize, usize, i64)>,
    /// The new pairs only, sorted.
    pub(super) added: Vec<(usize, usize, i64)>,
    /// Final load of each reviewer.
    pub(super) loads: Vec<u32>,
}

/// Extract the pairs (new ones from `assigned`, plus the fixed ones) and verify them:
/// no duplicate, no blocked pair, every proposal at exactly `k`, every load within bounds.
pub(super) fn extract(
    p: &Problem,
    net: &Net<'_>,
    assigned: &[Vec<u32>],
) -> Result<Pairs, SolveError> {
    let (table, prep) = (net.table, net.prep);
    let (np, nr) = (prep.np, prep.nr);
    let mut added: Vec<(usize, usize, i64)> = Vec::with_capacity(net.demand as usize);
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
    Ok(Pairs {
        pairs,
        added,
        loads,
    })
}
