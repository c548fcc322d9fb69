//! Benchmark instance format (shared with `bench/assignment/peer_assign.py`) in and out.
//!
//! Input: `{"proposals":[{"id","topics":[..],"speakers":[emails]}],
//! "reviewers":[{"email","topics":[..],"max_load":N,"conflicts":[emails or domains]}],
//! "reviewers_per_proposal":K}`. Extensions the peer ignores: a proposal may carry `"k"`
//! (its own reviewer count) and a reviewer `"min_load"`; unknown fields (e.g. `"meta"`) are
//! ignored.
//!
//! Output: `{"status","objective_int","total_affinity","assignment":{proposal_id:[emails]},
//! "diagnosis":[sentences],"stats":{..}}` — the peer's schema plus `diagnosis` and `stats`.
//! `status` is `"OPTIMAL"` or `"INFEASIBLE"` (then `objective_int` is null, `assignment` is
//! empty and `diagnosis` says why).
//!
//! Conflicts here follow the peer exactly ([`MatchMode::Exact`]: exact domain equality, no
//! subdomain folding, listed entries literal) so that objectives are comparable. The product
//! uses the stricter institution rule ([`super::conflict::conflict_reason`]), which can only
//! add conflicts.

use std::time::Instant;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::conflict::{conflict_pairs, MatchMode, ReviewerRef};
use super::problem::{Affinity, AffinityTable, ConflictPair, Problem, ProposalNeed, ReviewerCap};
use super::solver::{solve, SolveError};

/// A benchmark instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Instance {
    /// Proposals to assign.
    pub proposals: Vec<InstanceProposal>,
    /// Available reviewers.
    pub reviewers: Vec<InstanceReviewer>,
    /// Global K: reviewers every proposal needs unless it sets its own `k`.
    pub reviewers_per_proposal: u32,
}

/// One proposal of an instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceProposal {
    /// Unique id; the key of the output `assignment`.
    pub id: String,
    /// Topics, most relevant first (ranks matter only for rank-weighted affinity).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Speaker addresses, used for conflicts.
    #[serde(default)]
    pub speakers: Vec<String>,
    /// Per-proposal override of K (extension; absent in peer instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
}

/// One reviewer of an instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceReviewer {
    /// Unique address; also the reviewer's name in the output.
    pub email: String,
    /// Expertise topics.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Maximum number of proposals.
    pub max_load: u32,
    /// Minimum number of proposals (extension; the peer has none).
    #[serde(default)]
    pub min_load: u32,
    /// Conflict list: speaker addresses or bare domains.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub conflicts: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Proposal id → assigned reviewer addresses, serialised as a JSON object in proposal order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment(pub Vec<(String, Vec<String>)>);

impl Serialize for Assignment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Timings and solver counters written alongside the result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceStats {
    /// Proposals in the instance.
    pub proposals: usize,
    /// Reviewers in the instance.
    pub reviewers: usize,
    /// Conflicted pairs found (peer rules).
    pub conflict_pairs: usize,
    /// Distinct proposal / reviewer topic profiles (affinity table size).
    pub profile_classes: (usize, usize),
    /// JSON parsing time.
    pub parse_seconds: f64,
    /// Conflicts + affinity table time.
    pub build_seconds: f64,
    /// Solver time (restricted solves, pricing, certificate).
    pub solve_seconds: f64,
    /// Pricing rounds.
    pub rounds: u32,
    /// Candidate arcs in the final restricted network.
    pub candidate_arcs: usize,
    /// Network simplex pivots.
    pub pivots: u64,
    /// Network nodes after aggregation: proposal groups, reviewer nodes.
    pub nodes: (usize, usize),
    /// Milliseconds in the network simplex / in pricing (canonical duals + full scans).
    pub simplex_pricing_millis: (u64, u64),
    /// Σ load² of the result (secondary objective).
    pub load_square_sum: u64,
    /// Smallest and largest reviewer load.
    pub load_range: (u32, u32),
    /// Optimality certificate holds (primal cost == dual bound over all pairs).
    pub certified: bool,
}

/// The result of [`solve_instance`] (the peer's output schema plus diagnosis and stats).
#[derive(Clone, Debug, Serialize)]
pub struct InstanceOutput {
    /// `"OPTIMAL"` or `"INFEASIBLE"`.
    pub status: String,
    /// Σ round_half_up(1000·aff) over assigned pairs; the number to compare with the peer.
    pub objective_int: Option<i64>,
    /// Σ aff as a float, rounded to 6 decimals (informational, as in the peer).
    pub total_affinity: f64,
    /// Proposal id → sorted reviewer addresses.
    pub assignment: Assignment,
    /// Sentences explaining infeasibility; empty when optimal.
    pub diagnosis: Vec<String>,
    /// Timings and counters.
    pub stats: InstanceStats,
}

/// Why an instance could not be processed (infeasibility is not an error: see `status`).
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The file is not valid instance JSON.
    #[error("instance JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The instance is malformed (duplicate ids or emails, bad numbers).
    #[error("invalid instance: {0}")]
    Invalid(String),
    /// The solver failed a self-check.
    #[error("{0}")]
    Solver(SolveError),
}

/// Parse an instance, solve it exactly with `affinity`, and return the peer-format result.
pub fn solve_instance(json: &str, affinity: Affinity) -> Result<InstanceOutput, InstanceError> {
    let t0 = Instant::now();
    let inst: Instance = serde_json::from_str(json)?;
    let parse_seconds = t0.elapsed().as_secs_f64();
    solve_parsed(&inst, affinity, parse_seconds)
}

/// [`solve_instance`] for an already parsed instance.
pub fn solve_parsed(
    inst: &Instance,
    affinity: Affinity,
    parse_seconds: f64,
) -> Result<InstanceOutput, InstanceError> {
    let t1 = Instant::now();
    let mut seen = std::collections::HashSet::new();
    for p in &inst.proposals {
        if !seen.insert(p.id.as_str()) {
            return Err(InstanceError::Invalid(format!(
                "duplicate proposal id {}",
                p.id
            )));
        }
    }
    seen.clear();
    for r in &inst.reviewers {
        if !seen.insert(r.email.as_str()) {
            return Err(InstanceError::Invalid(format!(
                "duplicate reviewer email {}",
                r.email
            )));
        }
    }
    let proposals: Vec<ProposalNeed> = inst
        .proposals
        .iter()
        .map(|p| ProposalNeed {
            id: p.id.clone(),
            k: p.k.unwrap_or(inst.reviewers_per_proposal),
        })
        .collect();
    let reviewers: Vec<ReviewerCap> = inst
        .reviewers
        .iter()
        .map(|r| ReviewerCap {
            id: r.email.clone(),
            min_load: r.min_load,
            max_load: r.max_load,
        })
        .collect();
    let ptopics: Vec<Vec<&str>> = inst
        .proposals
        .iter()
        .map(|p| p.topics.iter().map(|s| s.as_str()).collect())
        .collect();
    let rtopics: Vec<Vec<&str>> = inst
        .reviewers
        .iter()
        .map(|r| r.topics.iter().map(|s| s.as_str()).collect())
        .collect();
    let table = AffinityTable::from_topics(&ptopics, &rtopics, &affinity);
    let refs: Vec<ReviewerRef> = inst
        .reviewers
        .iter()
        .map(|r| ReviewerRef {
            email: &r.email,
            conflicts: &r.conflicts,
        })
        .collect();
    let speakers: Vec<Vec<String>> = inst.proposals.iter().map(|p| p.speakers.clone()).collect();
    let conflicts: Vec<ConflictPair> = conflict_pairs(MatchMode::Exact, &refs, &speakers)
        .into_iter()
        .map(|c| ConflictPair {
            proposal: c.proposal,
            reviewer: c.reviewer,
            reason: c.reason,
        })
        .collect();
    // The topic lists and speaker copies served the table and the conflicts; the solve
    // does not need them.
    drop((ptopics, rtopics, refs, speakers));
    let mut stats = InstanceStats {
        proposals: proposals.len(),
        reviewers: reviewers.len(),
        conflict_pairs: conflicts.len(),
        profile_classes: table.n_classes(),
        parse_seconds,
        ..Default::default()
    };
    let mut problem = Problem::new(proposals, reviewers, table);
    problem.conflicts = conflicts;
    stats.build_seconds = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let result = solve(&problem);
    stats.solve_seconds = t2.elapsed().as_secs_f64();
    match result {
        Ok(sol) => {
            stats.rounds = sol.stats.rounds;
            stats.candidate_arcs = sol.stats.candidate_arcs;
            stats.pivots = sol.stats.pivots;
            stats.nodes = (sol.stats.groups, sol.stats.reviewer_nodes);
            stats.simplex_pricing_millis = (sol.stats.simplex_millis, sol.stats.pricing_millis);
            stats.load_square_sum = sol.load_square_sum;
            stats.load_range = (
                sol.loads.iter().copied().min().unwrap_or(0),
                sol.loads.iter().copied().max().unwrap_or(0),
            );
            stats.certified = sol.certificate.primal_cost == sol.certificate.dual_bound;
            let mut per: Vec<Vec<String>> = vec![Vec::new(); inst.proposals.len()];
            let mut total = 0f64;
            for &(p, r, _) in &sol.pairs {
                per[p].push(inst.reviewers[r].email.clone());
                total += exact_affinity(&inst.proposals[p], &inst.reviewers[r], &affinity);
            }
            let assignment = Assignment(
                inst.proposals
                    .iter()
                    .zip(per)
                    .map(|(p, mut v)| {
                        v.sort();
                        (p.id.clone(), v)
                    })
                    .collect(),
            );
            Ok(InstanceOutput {
                status: "OPTIMAL".into(),
                objective_int: Some(sol.objective),
                total_affinity: (total * 1e6).round() / 1e6,
                assignment,
                diagnosis: Vec::new(),
                stats,
            })
        }
        Err(SolveError::Infeasible(why)) => Ok(InstanceOutput {
            status: "INFEASIBLE".into(),
            objective_int: None,
            total_affinity: 0.0,
            assignment: Assignment::default(),
            diagnosis: why.iter().map(|w| w.to_string()).collect(),
            stats,
        }),
        Err(e @ SolveError::InvalidInput(_)) => Err(InstanceError::Invalid(e.to_string())),
        Err(e) => Err(InstanceError::Solver(e)),
    }
}

/// The unrounded affinity of one pair (for `total_affinity`).
fn exact_affinity(p: &InstanceProposal, r: &InstanceReviewer, affinity: &Affinity) -> f64 {
    let mut pt: Vec<&str> = Vec::new();
    for t in &p.topics {
        if !pt.contains(&t.as_str()) {
            pt.push(t);
        }
    }
    let mut rt: Vec<&str> = r.topics.iter().map(|s| s.as_str()).collect();
    rt.sort_unstable();
    rt.dedup();
    let matched: Vec<bool> = pt.iter().map(|t| rt.binary_search(t).is_ok()).collect();
    let inter = matched.iter().filter(|&&m| m).count() as f64;
    let (num, den) = match affinity {
        Affinity::Jaccard => (inter, (pt.len() + rt.len()) as f64 - inter),
        Affinity::Overlap => (inter, pt.len() as f64),
        Affinity::RankWeighted(w) if w.is_empty() => (inter, pt.len() as f64),
        Affinity::RankWeighted(w) => {
            let wt = |i: usize| w[i.min(w.len() - 1)] as f64;
            (
                (0..pt.len()).filter(|&i| matched[i]).map(wt).sum(),
                (0..pt.len()).map(wt).sum(),
            )
        }
    };
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{
      "proposals": [
        {"id": "P0", "topics": ["ml", "web"], "speakers": ["a@org1.example.com"]},
        {"id": "P1", "topics": ["db"], "speakers": ["b@gmail.com", "r3@x.org"]},
        {"id": "P2", "topics": ["ml"], "speakers": ["c@org2.example.com"], "k": 1}
      ],
      "reviewers": [
        {"email": "r0@org1.example.com", "topics": ["ml", "web"], "max_load": 3, "conflicts": []},
        {"email": "r1@gmail.com", "topics": ["db", "ml"], "max_load": 3, "conflicts": ["org2.example.com"]},
        {"email": "r2@y.org", "topics": ["web"], "max_load": 3, "conflicts": null},
        {"email": "r3@x.org", "topics": ["db"], "max_load": 3}
      ],
      "reviewers_per_proposal": 2,
      "meta": {"ignored": true}
    }"#;

    #[test]
    fn small_instance_round_trip() {
        let out = solve_instance(SMALL, Affinity::Jaccard).unwrap();
        assert_eq!(out.status, "OPTIMAL");
        let a: std::collections::HashMap<_, _> = out.assignment.0.iter().cloned().collect();
        // r0 shares org1 with P0's speaker; r3 speaks on P1; r1 lists org2 (P2).
        assert!(!a["P0"].contains(&"r0@org1.example.com".to_string()));
        assert!(!a["P1"].contains(&"r3@x.org".to_string()));
        assert!(!a["P2"].contains(&"r1@gmail.com".to_string()));
        assert_eq!(a["P2"].len(), 1);
        assert_eq!(a["P0"].len(), 2);
        let json = serde_json::to_value(&out).unwrap();
        assert!(json["assignment"]["P0"].is_array());
        assert_eq!(json["objective_int"], out.objective_int.unwrap());
        // P0: r1 (1/3 -> 333) + r2 (1/2 -> 500); P1: r1 (1/2 -> 500) + r2 (0);
        // P2: r0 (1/2 -> 500). Total 1833.
        assert_eq!(out.objective_int, Some(1833));
    }

    #[test]
    fn infeasible_instance_is_explained() {
        let json = SMALL.replace(
            "\"reviewers_per_proposal\": 2",
            "\"reviewers_per_proposal\": 4",
        );
        let out = solve_instance(&json, Affinity::Overlap).unwrap();
        assert_eq!(out.status, "INFEASIBLE");
        assert!(
            out.diagnosis.iter().any(|d| d.contains("P0")),
            "{:?}",
            out.diagnosis
        );
        assert!(out.objective_int.is_none());
    }

    #[test]
    fn duplicate_reviewer_is_rejected() {
        let json = SMALL.replace("r2@y.org", "r3@x.org");
        assert!(matches!(
            solve_instance(&json, Affinity::Jaccard),
            Err(InstanceError::Invalid(_))
        ));
    }
}
