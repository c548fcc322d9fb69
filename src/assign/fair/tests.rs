//! Both objectives against a brute force over every assignment of small random instances,
//! written from the definitions in the module docs (not from the solver), and the
//! instance built to show what `fair` is for.

use super::*;
use crate::assign::conflict::ConflictReason;
use crate::assign::problem::{AffinityTable, ConflictPair, ProposalNeed, ReviewerCap};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A small random instance: up to 4 proposals and 5 reviewers, K 0–2, loads, conflicts,
/// exclusions and a few fixed pairs.
fn random(seed: u64) -> Problem {
    let mut g = Rng(seed.wrapping_mul(0x9e37_79b9) + 5);
    let np = 1 + g.below(4) as usize;
    let nr = 2 + g.below(4) as usize;
    let proposals = (0..np)
        .map(|i| ProposalNeed {
            id: format!("P{i}"),
            k: g.below(3) as u32,
        })
        .collect();
    let reviewers = (0..nr)
        .map(|r| {
            let max = 1 + g.below(3) as u32;
            ReviewerCap {
                id: format!("R{r}"),
                min_load: g.below(2) as u32 % (max + 1),
                max_load: max,
            }
        })
        .collect();
    // Negative values too: a `no` bid makes a pair's affinity negative.
    let vals = (0..np * nr)
        .map(|_| (g.below(10) as i32 - 2) * 125)
        .collect();
    let mut p = Problem::new(
        proposals,
        reviewers,
        AffinityTable::dense(np, nr, vals).unwrap(),
    );
    for i in 0..np {
        for r in 0..nr {
            match g.below(20) {
                0 | 1 => p.conflicts.push(ConflictPair {
                    proposal: i,
                    reviewer: r,
                    reason: ConflictReason::Declared,
                }),
                2 => p.excluded.push((i, r)),
                3 => p.fixed.push((i, r)),
                _ => {}
            }
        }
    }
    p
}

/// The best (floor, total, −Σload²) over every valid assignment for `fair`, and the best
/// (total, −Σload²) for `total`, by enumeration.
#[derive(Debug, Default)]
struct Best {
    total: Option<(i64, i64)>,
    fair: Option<(Option<i64>, i64, i64)>,
}

fn brute(p: &Problem) -> Best {
    let (np, nr) = (p.proposals.len(), p.reviewers.len());
    let mut load = vec![0u32; nr];
    let mut base = 0;
    let mut taken = vec![vec![false; nr]; np];
    for &(i, r) in &p.fixed {
        taken[i][r] = true;
        load[r] += 1;
        base += p.affinity.get(i, r) as i64;
    }
    let mut best = Best::default();
    if load
        .iter()
        .zip(&p.reviewers)
        .any(|(l, rv)| *l > rv.max_load)
    {
        return best;
    }
    let forbidden = |i: usize, r: usize| {
        p.conflicts
            .iter()
            .any(|c| (c.proposal, c.reviewer) == (i, r))
            || p.excluded.contains(&(i, r))
            || taken[i][r]
    };
    // Every proposal's choice of new reviewers: subsets of its eligible ones of the size
    // it still needs.
    let mut options: Vec<Vec<Vec<usize>>> = Vec::new();
    for (i, need) in p.proposals.iter().enumerate() {
        let have = taken[i].iter().filter(|&&t| t).count() as u32;
        if have > need.k {
            return best;
        }
        let elig: Vec<usize> = (0..nr).filter(|&r| !forbidden(i, r)).collect();
        let want = (need.k - have) as usize;
        let mut subsets = Vec::new();
        for mask in 0u32..(1 << elig.len()) {
            if mask.count_ones() as usize == want {
                subsets.push(
                    (0..elig.len())
                        .filter(|b| mask & (1 << b) != 0)
                        .map(|b| elig[b])
                        .collect(),
                );
            }
        }
        options.push(subsets);
    }
    let mut pick = vec![0usize; np];
    loop {
        if options.iter().all(|o| !o.is_empty()) {
            let mut l = load.clone();
            let mut total = base;
            let mut floor: Option<i64> = None;
            for i in 0..np {
                for &r in &options[i][pick[i]] {
                    l[r] += 1;
                    let a = p.affinity.get(i, r) as i64;
                    total += a;
                    floor = Some(floor.map_or(a, |f| f.min(a)));
                }
            }
            let ok = l
                .iter()
                .zip(&p.reviewers)
                .all(|(x, rv)| *x >= rv.min_load && *x <= rv.max_load);
            if ok {
                let sq = -(l.iter().map(|&x| (x * x) as i64).sum::<i64>());
                if best.total.is_none_or(|b| (total, sq) > b) {
                    best.total = Some((total, sq));
                }
                // `None` (nothing new to choose) only happens when every assignment
                // has it, so the ordering of None against values never matters.
                if best.fair.is_none_or(|b| (floor, total, sq) > b) {
                    best.fair = Some((floor, total, sq));
                }
            }
        }
        // Next combination (odometer).
        let mut i = 0;
        loop {
            if i == np {
                return best;
            }
            pick[i] += 1;
            if pick[i] < options[i].len() {
                break;
            }
            pick[i] = 0;
            i += 1;
        }
    }
}

/// Every constraint a chair relies on, checked on the solution itself.
fn valid(p: &Problem, s: &Solution) {
    let mut count = vec![0u32; p.proposals.len()];
    let mut load = vec![0u32; p.reviewers.len()];
    for &(i, r, a) in &s.pairs {
        count[i] += 1;
        load[r] += 1;
        assert_eq!(a, p.affinity.get(i, r) as i64);
    }
    for &(i, r, _) in &s.added {
        assert!(!p.excluded.contains(&(i, r)), "excluded pair ({i}, {r})");
        assert!(
            !p.conflicts
                .iter()
                .any(|c| (c.proposal, c.reviewer) == (i, r)),
            "conflicted pair ({i}, {r})"
        );
    }
    for f in &p.fixed {
        assert!(
            s.pairs.iter().any(|&(i, r, _)| (i, r) == *f),
            "fixed pair dropped"
        );
    }
    for (i, need) in p.proposals.iter().enumerate() {
        assert_eq!(count[i], need.k, "proposal {i} staffed wrongly");
    }
    for (r, rv) in p.reviewers.iter().enumerate() {
        assert!(
            load[r] >= rv.min_load && load[r] <= rv.max_load,
            "load of {r}"
        );
    }
}

#[test]
fn both_objectives_match_brute_force_on_small_random_instances() {
    let (mut feasible, mut fairer) = (0, 0);
    for seed in 0..1500 {
        let p = random(seed);
        let b = brute(&p);
        let total = solve(&p, Objective::Total, &());
        let fair = solve(&p, Objective::Fair, &());
        match (total, fair, b.total, b.fair) {
            (Ok(t), Ok(f), Some((bt, bsq)), Some((bfloor, bft, bfsq))) => {
                valid(&p, &t);
                valid(&p, &f);
                assert_eq!(
                    (t.objective, -(t.load_square_sum as i64)),
                    (bt, bsq),
                    "seed {seed}"
                );
                assert_eq!(
                    (floor(&f), f.objective, -(f.load_square_sum as i64)),
                    (bfloor, bft, bfsq),
                    "seed {seed}"
                );
                feasible += 1;
                if floor(&f) > floor(&t) {
                    fairer += 1;
                }
            }
            (Err(SolveError::Infeasible(_)), Err(SolveError::Infeasible(_)), None, None) => {}
            (t, f, bt, bf) => panic!("seed {seed}: total {t:?} fair {f:?} brute {bt:?} {bf:?}"),
        }
    }
    // The sample exercises both outcomes: mostly feasible, and fair often differing.
    assert!(feasible > 500, "only {feasible} feasible instances");
    assert!(
        fairer >= 10,
        "fair raised the floor on only {fairer} instances"
    );
}

/// Two talks, two reviewers with one place each. The best total gives the first talk its
/// expert and leaves the second with a reviewer who knows nothing of it; `fair` gives each
/// talk a reviewer of some use, at a lower total.
#[test]
fn fair_raises_the_worst_served_proposal_on_a_built_instance() {
    let need = |id: &str| ProposalNeed {
        id: id.into(),
        k: 1,
    };
    let cap = |id: &str| ReviewerCap {
        id: id.into(),
        min_load: 0,
        max_load: 1,
    };
    let p = Problem::new(
        vec![need("P-0001"), need("P-0002")],
        vec![cap("rita"), cap("sam")],
        AffinityTable::dense(2, 2, vec![1000, 200, 300, 0]).unwrap(),
    );
    let t = solve(&p, Objective::Total, &()).unwrap();
    let f = solve(&p, Objective::Fair, &()).unwrap();
    valid(&p, &t);
    valid(&p, &f);
    let (ft, ff) = (figures(&t.pairs, 2), figures(&f.pairs, 2));
    assert_eq!(
        ft,
        Figures {
            worst: Some((1, 0)),
            total: 1000
        }
    );
    assert_eq!(
        ff,
        Figures {
            worst: Some((0, 200)),
            total: 500
        }
    );
    assert_eq!(floor(&f), Some(200));
}

/// Fixed pairs are kept whatever their affinity and do not bound the floor: the new pairs
/// are still chosen as fairly as possible.
#[test]
fn fair_keeps_fixed_pairs_and_lifts_the_new_ones() {
    let p = {
        let mut p = Problem::new(
            vec![
                ProposalNeed {
                    id: "A".into(),
                    k: 2,
                },
                ProposalNeed {
                    id: "B".into(),
                    k: 1,
                },
            ],
            (0..3)
                .map(|r| ReviewerCap {
                    id: format!("R{r}"),
                    min_load: 0,
                    max_load: 1,
                })
                .collect(),
            AffinityTable::dense(2, 3, vec![0, 900, 300, 0, 500, 100]).unwrap(),
        );
        p.fixed.push((0, 0));
        p
    };
    let t = solve(&p, Objective::Total, &()).unwrap();
    assert_eq!((floor(&t), t.objective), (Some(100), 1000));
    let f = solve(&p, Objective::Fair, &()).unwrap();
    valid(&p, &f);
    assert!(f.pairs.contains(&(0, 0, 0)), "the fixed pair stays");
    assert_eq!((floor(&f), f.objective), (Some(300), 800));
}
