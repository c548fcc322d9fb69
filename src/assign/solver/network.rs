//! Building the min-cost-flow network (see the module docs of [`super`]): proposals
//! aggregated into groups, the cost scale that makes one affinity unit outweigh any
//! balance difference, the balance unit arcs, and the first candidate arcs.

use std::collections::HashMap;

use super::prep::Prep;
use super::simplex::Simplex;
use crate::assign::problem::{AffinityTable, InvalidProblem, Problem};

/// Initial candidate reviewers per proposal beyond its need.
const INITIAL_EXTRA: usize = 8;
/// Above this many balance unit arcs, each reviewer's marginal cost becomes flat after a cap.
const UNIT_ARC_LIMIT: usize = 4_000_000;

/// Deterministic hash used to spread ties among equally good reviewers.
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 29)
}

/// A node on the proposal side of the network: all proposals of one affinity class and one
/// need, except those split off as singles (see [`group_proposals`]).
pub(super) struct Group {
    /// Affinity class shared by all members.
    pub(super) class: u32,
    /// Reviewers each member still needs.
    pub(super) need: u32,
    /// Member proposals, ascending.
    pub(super) members: Vec<u32>,
    /// Reviewers some members may not take, each with how many members it is blocked
    /// for, sorted by reviewer: the arc `g → r` carries at most `members − blocked` units.
    pub(super) blocked: Vec<(u32, u32)>,
}

/// The network's layout and costs, shared (read-only) by the pricing threads.
///
/// Nodes: groups `0..ng`, reviewer nodes `rv..rv + nr`, the sink last. A reviewer node
/// stands for one reviewer, or for several interchangeable ones (see [`reviewer_nodes`]);
/// candidate lists, pricing and arcs all speak of reviewer *nodes* `0..nr`.
pub(super) struct Net<'a> {
    /// The problem's affinities.
    pub(super) table: &'a AffinityTable,
    /// The problem after fixed pairs and outside load are taken off.
    pub(super) prep: &'a Prep,
    /// Proposal-side nodes.
    pub(super) groups: Vec<Group>,
    /// The groups of each proposal affinity class.
    pub(super) class_groups: Vec<Vec<u32>>,
    /// Each reviewer node's affinity class, as an index.
    pub(super) rclass: Vec<usize>,
    /// Load each member of a reviewer node can still take (equal for all members).
    pub(super) rcap: Vec<u32>,
    /// CSR of the reviewers of each reviewer node (ascending): `rmem[roff[q]..roff[q + 1]]`.
    roff: Vec<u32>,
    rmem: Vec<u32>,
    /// Groups.
    pub(super) ng: usize,
    /// Reviewer nodes.
    pub(super) nr: usize,
    /// First reviewer node.
    pub(super) rv: usize,
    /// Nodes in total.
    pub(super) n: usize,
    /// Weight `S` of one affinity unit against the balance cost.
    pub(super) scale: i64,
    /// Whether the balance objective is applied.
    pub(super) balanced: bool,
    /// Supply of every node (groups positive, reviewers and sink negative).
    pub(super) supply: Vec<i64>,
    /// Reviewer slots needed in total.
    pub(super) demand: i64,
}

/// Aggregate proposals of one class and need into one group, whatever their blocked
/// reviewers (a relaxation, made exact by the decomposition; see the module docs), except
/// the proposals in `split`, which stay alone.
fn group_proposals(prep: &Prep, table: &AffinityTable, split: &[bool]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<(u32, u32), usize> = HashMap::new();
    for i in 0..prep.np {
        let need = prep.need[i];
        if need == 0 {
            continue;
        }
        let class = table.proposal_class[i];
        let fresh = |groups: &mut Vec<Group>| {
            groups.push(Group {
                class,
                need,
                members: Vec::new(),
                blocked: Vec::new(),
            });
            groups.len() - 1
        };
        let g = if split.get(i).copied().unwrap_or(false) {
            fresh(&mut groups)
        } else {
            *group_of
                .entry((class, need))
                .or_insert_with(|| fresh(&mut groups))
        };
        groups[g].members.push(i as u32);
    }
    let mut rs: Vec<u32> = Vec::new();
    for grp in &mut groups {
        rs.clear();
        for &i in &grp.members {
            rs.extend(prep.blocked(i as usize).iter().map(|x| x.0));
        }
        rs.sort_unstable();
        for chunk in rs.chunk_by(|a, b| a == b) {
            grp.blocked.push((chunk[0], chunk.len() as u32));
        }
    }
    groups
}

/// Reviewer nodes as a CSR (offsets, members): with `aggregate`, reviewers of one affinity
/// class with the same fixed load, mandatory load and remaining capacity, and no blocked
/// pair at all, share one node; everyone else is a node alone.
///
/// Why: such reviewers are interchangeable, and at P=50,000 R=20,000 the network simplex
/// spent most of its time re-hanging subtrees of the 20,000 reviewer nodes; 7,400 topic
/// classes (plus the reviewers with conflicts, alone) make it about half as many nodes. A
/// node of `m` reviewers takes `m` units per balance level (the sum of its members'
/// convex costs at equal loads, which is the cheapest way to spread a total), so the
/// aggregated network is exact: [`super::certify::decompose`] deals a node's flow back to
/// its members round-robin, which keeps their loads within one of each other.
fn reviewer_nodes(prep: &Prep, table: &AffinityTable, aggregate: bool) -> (Vec<u32>, Vec<u32>) {
    let nr = prep.nr;
    let mut alone = vec![!aggregate; nr];
    if aggregate {
        for p in 0..prep.np {
            for &(r, _) in prep.blocked(p) {
                alone[r as usize] = true;
            }
        }
    }
    let mut node_of: HashMap<(u32, u32, u32, u32), usize> = HashMap::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    for r in 0..nr {
        let key = (
            table.reviewer_class[r],
            prep.fixed_load[r],
            prep.mandatory[r],
            prep.cap_left[r],
        );
        let q = if alone[r] {
            members.len()
        } else {
            *node_of.entry(key).or_insert(members.len())
        };
        if q == members.len() {
            members.push(Vec::new());
        }
        members[q].push(r as u32);
    }
    let mut off = Vec::with_capacity(members.len() + 1);
    off.push(0u32);
    let mut mem = Vec::with_capacity(nr);
    for list in &members {
        mem.extend_from_slice(list);
        off.push(mem.len() as u32);
    }
    (off, mem)
}

/// The balance part of the costs: reviewer `r` may take `units[r]` optional units beyond
/// `base[r]`, unit `j` (1-based) costing the marginal `2·(base + j) − 1` of `load²`.
struct Balance {
    base: Vec<i64>,
    units: Vec<i64>,
    /// Unit arcs per reviewer before the marginal cost turns flat.
    per_rev_cap: i64,
    balanced: bool,
    scale: i64,
    /// Cost of the artificial arcs (big M).
    art: i64,
}

impl Balance {
    /// Marginal cost of reviewer `r`'s optional unit `j` (1-based).
    #[inline]
    fn marg(&self, r: usize, j: i64) -> i64 {
        2 * (self.base[r] + j) - 1
    }

    /// Choose `S` so that one affinity unit outweighs the largest possible balance cost, and
    /// big M above any real path; drop the balance when the numbers would not fit in i64.
    fn new(p: &Problem, prep: &Prep, n: usize, opt_demand: i64) -> Result<Balance, InvalidProblem> {
        let nr = prep.nr;
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
        let mut b = Balance {
            base,
            units,
            per_rev_cap,
            balanced: p.balance_loads,
            scale: 1,
            art: 0,
        };
        let wmax: i64 = p
            .affinity
            .values
            .iter()
            .map(|&v| (v as i64).abs())
            .max()
            .unwrap_or(0);
        let mut max_marg = 0i64;
        if b.balanced {
            let mut bmax: i128 = 0;
            for r in 0..nr {
                if b.units[r] == 0 {
                    continue;
                }
                let q = b.units[r].min(per_rev_cap);
                let base = b.base[r] as i128;
                let hi = (base + q as i128) * (base + q as i128) - base * base;
                let tail = (b.units[r] - q) as i128 * b.marg(r, q + 1) as i128;
                bmax += hi + tail;
                let top = if b.units[r] > q { q + 1 } else { q };
                max_marg = max_marg.max(b.marg(r, top));
            }
            bmax = bmax.min(max_marg as i128 * opt_demand as i128);
            let s = bmax + 1;
            let maxc = s * wmax as i128 + max_marg as i128;
            let art = (maxc + 1) * (n as i128 + 1);
            if art < (i64::MAX / 16) as i128 {
                b.scale = s as i64;
            } else {
                b.balanced = false;
            }
        }
        if !b.balanced {
            b.scale = 1;
            max_marg = 0;
        }
        let max_cost = b.scale as i128 * wmax as i128 + max_marg as i128;
        let art128 = (max_cost + 1) * (n as i128 + 1);
        if art128 >= (i64::MAX / 16) as i128 {
            return Err(InvalidProblem::AffinityTooLarge);
        }
        b.art = art128 as i64;
        Ok(b)
    }
}

impl<'a> Net<'a> {
    /// The network without proposal→reviewer arcs: groups, supplies, the simplex's initial
    /// basis and the balance unit arcs from every reviewer to the sink.
    ///
    /// `aggregate`: let interchangeable reviewers share a node (see [`reviewer_nodes`]).
    pub(super) fn build(
        p: &'a Problem,
        prep: &'a Prep,
        split: &[bool],
        aggregate: bool,
    ) -> Result<(Net<'a>, Simplex), InvalidProblem> {
        let table = &p.affinity;
        let groups = group_proposals(prep, table, split);
        let (roff, rmem) = reviewer_nodes(prep, table, aggregate);
        let nr = roff.len() - 1;
        let rep = |q: usize| rmem[roff[q] as usize] as usize;
        let size = |q: usize| (roff[q + 1] - roff[q]) as i64;
        let ng = groups.len();
        let rv = ng; // first reviewer node
        let sink = ng + nr;
        let n = ng + nr + 1; // nodes: groups, reviewers, sink
        let demand: i64 = prep.need.iter().map(|&x| x as i64).sum();
        let mand_total: i64 = prep.mandatory.iter().map(|&x| x as i64).sum();
        let opt_demand = demand - mand_total;
        let bal = Balance::new(p, prep, n, opt_demand)?;

        let mut supply = vec![0i64; n];
        for (g, grp) in groups.iter().enumerate() {
            supply[g] = grp.need as i64 * grp.members.len() as i64;
        }
        for q in 0..nr {
            supply[rv + q] = -(prep.mandatory[rep(q)] as i64) * size(q);
        }
        supply[sink] = -opt_demand;
        let mut sx = Simplex::new(&supply, bal.art, sink);
        // A node's members share base and units, so its level `j` is theirs, `size` times.
        for q in 0..nr {
            let (r, m) = (rep(q), size(q));
            let units = bal.units[r];
            if units == 0 {
                continue;
            }
            if bal.balanced {
                let top = units.min(bal.per_rev_cap);
                for j in 1..=top {
                    sx.add_arc(rv + q, sink, bal.marg(r, j), m);
                }
                if units > top {
                    sx.add_arc(rv + q, sink, bal.marg(r, top + 1), (units - top) * m);
                }
            } else {
                sx.add_arc(rv + q, sink, 0, units * m);
            }
        }

        let mut class_groups: Vec<Vec<u32>> = vec![Vec::new(); table.n_pc];
        for (g, grp) in groups.iter().enumerate() {
            class_groups[grp.class as usize].push(g as u32);
        }
        let rclass: Vec<usize> = (0..nr)
            .map(|q| table.reviewer_class[rep(q)] as usize)
            .collect();
        let rcap: Vec<u32> = (0..nr).map(|q| prep.cap_left[rep(q)]).collect();
        let net = Net {
            table,
            prep,
            groups,
            class_groups,
            rclass,
            rcap,
            roff,
            rmem,
            ng,
            nr,
            rv,
            n,
            scale: bal.scale,
            balanced: bal.balanced,
            supply,
            demand,
        };
        Ok((net, sx))
    }

    /// The reviewers of reviewer node `q`, ascending.
    #[inline]
    pub(super) fn rmembers(&self, q: usize) -> &[u32] {
        &self.rmem[self.roff[q] as usize..self.roff[q + 1] as usize]
    }

    /// True when proposal `p` may not take reviewer node `q` (only a node of one reviewer
    /// can be blocked: reviewers with a blocked pair are never aggregated).
    #[inline]
    pub(super) fn member_blocked(&self, p: usize, q: u32) -> bool {
        let m = self.rmembers(q as usize);
        m.len() == 1 && self.prep.is_blocked(p, m[0])
    }

    /// Units group `g` may send reviewer node `q`: one per (member, reviewer) pair that is
    /// not blocked.
    #[inline]
    pub(super) fn arc_cap(&self, g: usize, q: u32) -> i64 {
        let grp = &self.groups[g];
        let rs = self.rmembers(q as usize);
        // Aggregated reviewers have no blocked pair, so only a lone reviewer can match.
        let blocked = match grp.blocked.binary_search_by_key(&rs[0], |x| x.0) {
            Ok(k) => grp.blocked[k].1,
            Err(_) => 0,
        };
        // i64: members × reviewers may exceed u32 on a huge instance.
        grp.members.len() as i64 * rs.len() as i64 - blocked as i64
    }

    /// True when no member of group `g` may take reviewer `r`.
    #[inline]
    pub(super) fn blocked(&self, g: usize, r: u32) -> bool {
        self.arc_cap(g, r) == 0
    }

    /// Cost of arc `g → r`: minus the scaled affinity.
    #[inline]
    pub(super) fn cost(&self, g: usize, r: usize) -> i64 {
        let t = self.table;
        -(self.scale * t.values[self.groups[g].class as usize * t.n_rc + self.rclass[r]] as i64)
    }

    /// Add arc `g → r` (capacity: one unit per member not blocked for `r`) to the simplex.
    #[inline]
    pub(super) fn add_arc(&self, sx: &mut Simplex, g: usize, r: u32) {
        let cap = self.arc_cap(g, r);
        sx.add_arc(g, self.rv + r as usize, self.cost(g, r as usize), cap);
    }

    /// The first candidate reviewers of every group, sorted, with their arcs added to `sx`.
    pub(super) fn initial_candidates(&self, sx: &mut Simplex) -> Vec<Vec<u32>> {
        let avail: Vec<u32> = (0..self.nr as u32)
            .filter(|&q| self.rcap[q as usize] > 0)
            .collect();
        let mut cand = self.best_by_affinity(&avail);
        self.add_greedy(&avail, &mut cand);
        for (g, list) in cand.iter_mut().enumerate() {
            list.sort_unstable();
            for &r in list.iter() {
                self.add_arc(sx, g, r);
            }
        }
        cand
    }

    /// Best reviewers by affinity per group (its class's top `max need + INITIAL_EXTRA`),
    /// ties spread by a per-group offset so groups do not all start on the same reviewers.
    fn best_by_affinity(&self, avail: &[u32]) -> Vec<Vec<u32>> {
        let mut cand: Vec<Vec<u32>> = vec![Vec::new(); self.ng];
        let mut ws: Vec<i32> = Vec::with_capacity(self.nr);
        let mut ties: Vec<u32> = Vec::new();
        let mut above: Vec<u32> = Vec::new();
        for (c, gs) in self.class_groups.iter().enumerate() {
            if gs.is_empty() || avail.is_empty() {
                continue;
            }
            let row = self.table.row(c);
            let max_need = gs
                .iter()
                .map(|&g| self.groups[g as usize].need)
                .max()
                .unwrap_or(0);
            let l = (max_need as usize + INITIAL_EXTRA).min(avail.len());
            ws.clear();
            ws.extend(avail.iter().map(|&r| row[self.rclass[r as usize]]));
            let (_, thr, _) = ws.select_nth_unstable_by(l - 1, |a, b| b.cmp(a));
            let thr = *thr;
            above.clear();
            ties.clear();
            for &r in avail {
                let v = row[self.rclass[r as usize]];
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
                    if !self.blocked(g, r) {
                        list.push(r);
                    }
                }
                let want = l.saturating_sub(list.len());
                if want > 0 && !ties.is_empty() {
                    let start = (mix(g as u64, c as u64) as usize) % ties.len();
                    let mut taken = 0;
                    for t in 0..ties.len() {
                        let r = ties[(start + t) % ties.len()];
                        if !self.blocked(g, r) {
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
        cand
    }

    /// Plus a greedy capacity-respecting choice per proposal, so that the first restricted
    /// network is (nearly always) feasible: while artificial flow remains, the big-M duals
    /// make every reviewer with spare capacity look attractive and pricing converges slowly.
    fn add_greedy(&self, avail: &[u32], cand: &mut [Vec<u32>]) {
        let (table, nr) = (self.table, self.nr);
        // Capacity of each reviewer node: its members' remaining loads together.
        let cap: Vec<u64> = (0..nr)
            .map(|q| self.rcap[q] as u64 * self.rmembers(q).len() as u64)
            .collect();
        let mut order: Vec<Vec<u32>> = vec![Vec::new(); table.n_pc];
        let mut cursor = vec![0usize; table.n_pc];
        let mut load = vec![0u64; nr];
        let mut mark = vec![usize::MAX; nr];
        for (g, list) in cand.iter_mut().enumerate() {
            for &r in list.iter() {
                mark[r as usize] = g;
            }
            let grp = &self.groups[g];
            let c = grp.class as usize;
            if order[c].is_empty() {
                let row = table.row(c);
                let mut o = avail.to_vec();
                o.sort_unstable_by_key(|&r| {
                    (
                        std::cmp::Reverse(row[self.rclass[r as usize]]),
                        mix(c as u64, r as u64),
                    )
                });
                order[c] = o;
            }
            let o = &order[c];
            for &member in &grp.members {
                while cursor[c] < o.len() && {
                    let r = o[cursor[c]] as usize;
                    load[r] >= cap[r]
                } {
                    cursor[c] += 1;
                }
                let mut got = 0;
                for &r in &o[cursor[c]..] {
                    if got == grp.need {
                        break;
                    }
                    let ru = r as usize;
                    if load[ru] < cap[ru] && !self.member_blocked(member as usize, r) {
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
}
