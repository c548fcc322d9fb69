//! Primal network simplex: strongly feasible spanning trees rooted at the sink, block-search
//! pivoting, big-M artificial arcs, and a warm start when arcs are added between runs. The
//! hot loops (`find_entering`, `pivot`, `update_tree`) live here together and allocate
//! nothing: their scratch vectors are kept in the struct between pivots.

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
pub(super) struct Simplex {
    /// Nodes; arcs `0..n` are the artificial arcs.
    pub(super) n: usize,
    root: usize,
    /// Arc tails.
    pub(super) src: Vec<u32>,
    /// Arc heads.
    pub(super) tgt: Vec<u32>,
    /// Arc costs.
    pub(super) cost: Vec<i64>,
    /// Arc capacities.
    pub(super) cap: Vec<i64>,
    /// Arc flows.
    pub(super) flow: Vec<i64>,
    state: Vec<i8>,
    parent: Vec<u32>,
    pred: Vec<u32>,
    pred_dir: Vec<i8>,
    thread: Vec<u32>,
    rev_thread: Vec<u32>,
    depth: Vec<u32>,
    /// Node potentials of the current basis.
    pub(super) pi: Vec<i64>,
    next_arc: usize,
    /// Pivots so far.
    pub(super) pivots: u64,
    /// Pivots that moved no flow.
    pub(super) degenerate: u64,
    stem: Vec<u32>,
    ends: Vec<u32>,
    tails: Vec<u32>,
    links: Vec<(u32, u32)>,
    saved: Vec<(u32, i8)>,
    /// Scratch of [`Simplex::canonical_potentials`], kept between pricing rounds so that
    /// each round reuses the same residual-graph buffers instead of allocating fresh ones.
    canon: CanonScratch,
}

/// Buffers of one canonical-potentials pass (residual arcs by expanding node, distances).
#[derive(Default)]
struct CanonScratch {
    off: Vec<usize>,
    fill: Vec<usize>,
    adj: Vec<(u32, i64)>,
    dist: Vec<i64>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u32)>>,
}

impl Simplex {
    /// The initial basis: every node on its artificial arc to `root`, carrying its supply.
    pub(super) fn new(supply: &[i64], art_cost: i64, root: usize) -> Simplex {
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
            canon: CanonScratch::default(),
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
    pub(super) fn uses_artificial(&self) -> bool {
        (0..self.n).any(|u| u != self.root && self.flow[u] > 0)
    }

    /// Drop real non-tree arcs at their lower bound for which `drop(tail, head, cost)` holds
    /// (the basis stays valid: only non-basic arcs without flow go). Returns the number
    /// dropped. The predicate gets the arc's values, so callers need no copy of the arrays.
    pub(super) fn prune(&mut self, mut drop: impl FnMut(u32, u32, i64) -> bool) -> usize {
        let m = self.src.len();
        let mut map = vec![u32::MAX; m];
        let mut w = self.n;
        for (e, slot) in map.iter_mut().enumerate().take(self.n) {
            *slot = e as u32;
        }
        for e in self.n..m {
            if self.state[e] == LOWER
                && self.flow[e] == 0
                && drop(self.src[e], self.tgt[e], self.cost[e])
            {
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

    /// Append a real arc at its lower bound (not in the basis).
    #[inline]
    pub(super) fn add_arc(&mut self, u: usize, v: usize, cost: i64, cap: i64) {
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
    pub(super) fn canonical_potentials(&mut self, toward_root: bool) -> Vec<i64> {
        let mut canon = std::mem::take(&mut self.canon);
        let out = self.canonical_with(&mut canon, toward_root);
        self.canon = canon;
        out
    }

    /// Free the buffers of [`Simplex::canonical_potentials`] once pricing is over.
    pub(super) fn release_scratch(&mut self) {
        self.canon = CanonScratch::default();
    }

    /// [`Simplex::canonical_potentials`] with its buffers in `scratch` (overwritten).
    fn canonical_with(&self, scratch: &mut CanonScratch, toward_root: bool) -> Vec<i64> {
        let n = self.n;
        let m = self.src.len();
        let root = self.root;
        let pi = &self.pi;
        let CanonScratch {
            off,
            fill,
            adj,
            dist,
            heap,
        } = scratch;
        // CSR of residual arcs, stored by the node the search expands from.
        off.clear();
        off.resize(n + 1, 0);
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
        fill.clear();
        fill.extend_from_slice(off);
        adj.clear();
        adj.resize(off[n], (0, 0));
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
        dist.clear();
        dist.resize(n, i64::MAX);
        heap.clear();
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

    /// Pivot until no arc of the restricted network has a negative reduced cost.
    pub(super) fn run(&mut self) {
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
