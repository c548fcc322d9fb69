//! Restricted solves and pricing: solve the network on the candidate arcs, then price every
//! omitted (group, reviewer) pair against canonical potentials and add the violating ones,
//! until a full pass finds none (see the module docs of [`super`]).

use std::ops::Range;
use std::time::Instant;

use super::network::Net;
use super::simplex::Simplex;
use super::{SolveObserver, SolveStats};

/// Most violating omitted arcs added per proposal per pricing round.
const ADD_PER_ROUND: usize = 128;
/// Most threads used for pricing.
const MAX_THREADS: usize = 4;
/// Pricing rounds during which arcs with positive reduced cost are dropped from the
/// restricted network (keeps the simplex scans short; later rounds only add, which
/// guarantees termination).
const PRUNE_ROUNDS: u32 = 8;

/// Restricted solve + pricing until no omitted arc has negative reduced cost. Returns the
/// potentials of the last pricing pass (dual feasible for the full problem when the flow
/// needs no artificial arc) and the counters.
pub(super) fn optimize(
    net: &Net<'_>,
    sx: &mut Simplex,
    cand: &mut [Vec<u32>],
    observer: &dyn SolveObserver,
) -> (Vec<i64>, SolveStats) {
    let mut stats = SolveStats::default();
    let threads = std::thread::available_parallelism()
        .map(|x| x.get())
        .unwrap_or(1)
        .min(MAX_THREADS);
    let mut cpi: Vec<i64>;
    let (mut t_run, mut t_price) = (0f64, 0f64);
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
        let new_arcs = price_all(net, cand, &cpi, threads);
        stats.priced_pairs += (net.ng * net.nr) as u64;
        t_price += ta.elapsed().as_secs_f64();
        observer.round(stats.rounds, new_arcs.len(), sx.pivots);
        if new_arcs.is_empty() {
            break;
        }
        if stats.rounds <= PRUNE_ROUNDS {
            prune(net, sx, cand);
        }
        add_arcs(net, sx, cand, new_arcs);
    }
    sx.release_scratch();
    stats.pivots = sx.pivots;
    stats.degenerate_pivots = sx.degenerate;
    stats.simplex_millis = (t_run * 1000.0) as u64;
    stats.pricing_millis = (t_price * 1000.0) as u64;
    stats.candidate_arcs = cand.iter().map(|c| c.len()).sum();
    (cpi, stats)
}

/// Price every omitted (group, reviewer) pair, class by class, split over threads; results
/// are concatenated in class order, so the outcome is deterministic.
fn price_all(net: &Net<'_>, cand: &[Vec<u32>], cpi: &[i64], threads: usize) -> Vec<(usize, u32)> {
    let classes = net.class_groups.len();
    if threads <= 1 || net.ng < 16 {
        return price_classes(net, cand, cpi, 0..classes);
    }
    // Split classes into `threads` chunks of about equal group counts.
    let mut bounds = vec![0usize];
    let per = net.ng.div_ceil(threads);
    let mut acc = 0;
    for (c, gs) in net.class_groups.iter().enumerate() {
        acc += gs.len();
        if acc >= per * bounds.len() && bounds.len() < threads {
            bounds.push(c + 1);
        }
    }
    bounds.push(classes);
    let parts: Vec<Vec<(usize, u32)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (lo, hi) = (w[0], w[1]);
                sc.spawn(move || price_classes(net, cand, cpi, lo..hi))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("pricing thread panicked"))
            .collect()
    });
    let mut new_arcs: Vec<(usize, u32)> = Vec::new();
    for part in parts {
        new_arcs.extend(part);
    }
    new_arcs
}

/// The omitted pairs of the groups of `classes` whose reduced cost is negative, at most
/// [`ADD_PER_ROUND`] per group (the most violating, ties by reviewer).
fn price_classes(
    net: &Net<'_>,
    cand: &[Vec<u32>],
    cpi: &[i64],
    classes: Range<usize>,
) -> Vec<(usize, u32)> {
    // Locals, so the loops below index plain slices.
    let (rcap, rv, scale, rclass) = (&net.rcap[..], net.rv, net.scale, &net.rclass[..]);
    let mut key: Vec<i64> = vec![i64::MIN; net.nr];
    let mut buf: Vec<(i64, u32)> = Vec::new();
    let mut out = Vec::new();
    for c in classes {
        let gs = &net.class_groups[c];
        if gs.is_empty() {
            continue;
        }
        let row = net.table.row(c);
        for (r, k) in key.iter_mut().enumerate() {
            *k = if rcap[r] > 0 {
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
            buf.retain(|&(_, r)| list.binary_search(&r).is_err() && !net.blocked(g, r));
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
}

/// Early rounds: drop group arcs whose reduced cost is positive (they cannot enter soon),
/// and rebuild the candidate lists from what is left.
fn prune(net: &Net<'_>, sx: &mut Simplex, cand: &mut [Vec<u32>]) {
    let (ng, n, rv) = (net.ng, net.n, net.rv);
    // Only the node potentials are copied (the predicate reads them while `prune` moves
    // arcs); the arc arrays are not, so pruning needs no second copy of the network.
    let pis = sx.pi.clone();
    let dropped =
        sx.prune(|u, v, cost| (u as usize) < ng && cost + pis[u as usize] - pis[v as usize] > 0);
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

/// Add the priced arcs to the candidate lists (kept sorted) and to the simplex.
fn add_arcs(
    net: &Net<'_>,
    sx: &mut Simplex,
    cand: &mut [Vec<u32>],
    mut new_arcs: Vec<(usize, u32)>,
) {
    new_arcs.sort_unstable();
    for (g, r) in new_arcs {
        let list = &mut cand[g];
        let pos = list.binary_search(&r).unwrap_err();
        list.insert(pos, r);
        net.add_arc(sx, g, r);
    }
}
