//! Ranking proposals by their review scores (the chair's `cfpd report`).
//!
//! Per proposal, over the *current* score of each *active* assignment:
//!
//! * **mean** — the ranking key, highest first;
//! * **median** — the first tie-break (highest first): with 3 reviewers it discounts one
//!   outlier, so `4, 4, 1` (median 4) ranks above `5, 3, 1` (median 3) at the same mean;
//! * **spread** — `max − min`, the range of the scores. With the typical 2–4 reviews per
//!   proposal a range is easier to read than a standard deviation and flags exactly what a
//!   chair looks for: reviewers who disagree. It is reported, never used for ranking.
//!
//! The last tie-break is the proposal id (`P-0001` before `P-0002`), so the order is total
//! and the same on every run. Proposals without any review come last, by id. Comparisons are
//! exact (integer cross-multiplication), never floating point.
//!
//! Pure: no database, no clock.

use std::cmp::Ordering;

/// Summary of one proposal's scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreStats {
    /// Number of scores.
    pub n: usize,
    /// Sum of the scores (the mean is `sum / n`, kept exact for comparisons).
    pub sum: i64,
    /// Twice the median (`a + b` of the two middle scores, or twice the middle one), exact.
    pub median2: i64,
    /// Lowest score.
    pub min: i64,
    /// Highest score.
    pub max: i64,
}

impl ScoreStats {
    /// The statistics of a non-empty list of scores; `None` when there are none.
    pub fn of(scores: &[i64]) -> Option<ScoreStats> {
        if scores.is_empty() {
            return None;
        }
        let mut s = scores.to_vec();
        s.sort_unstable();
        let n = s.len();
        let median2 = if n % 2 == 1 {
            2 * s[n / 2]
        } else {
            s[n / 2 - 1] + s[n / 2]
        };
        Some(ScoreStats {
            n,
            sum: s.iter().sum(),
            median2,
            min: s[0],
            max: s[n - 1],
        })
    }

    /// The mean score.
    pub fn mean(&self) -> f64 {
        self.sum as f64 / self.n as f64
    }

    /// The median score.
    pub fn median(&self) -> f64 {
        self.median2 as f64 / 2.0
    }

    /// `max − min`.
    pub fn spread(&self) -> i64 {
        self.max - self.min
    }

    /// Whether two proposals rank equal on their scores (same mean and same median), so
    /// only the final tie-break, the reference, orders them.
    pub fn ties(&self, other: &ScoreStats) -> bool {
        self.cmp_rank(other) == Ordering::Equal
    }

    /// Mean, then median, both descending: `Less` means `self` ranks higher.
    fn cmp_rank(&self, other: &ScoreStats) -> Ordering {
        let a = self.sum as i128 * other.n as i128;
        let b = other.sum as i128 * self.n as i128;
        b.cmp(&a).then(other.median2.cmp(&self.median2))
    }
}

/// One proposal to rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Proposal id (the final tie-break; `P-0001` is id 1).
    pub id: i64,
    /// Current scores of its active assignments.
    pub scores: Vec<i64>,
    /// Active assignments without a review yet.
    pub pending: usize,
}

impl Entry {
    /// The statistics of its scores (`None` before the first review).
    pub fn stats(&self) -> Option<ScoreStats> {
        ScoreStats::of(&self.scores)
    }
}

/// The ranking order of two entries: reviewed before unreviewed, then mean and median
/// descending, then id ascending.
pub fn compare(a: &Entry, b: &Entry) -> Ordering {
    match (a.stats(), b.stats()) {
        (Some(x), Some(y)) => x.cmp_rank(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then(a.id.cmp(&b.id))
}

/// Sort entries into ranking order (best first).
pub fn rank(entries: &mut [Entry]) {
    entries.sort_by(compare);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: i64, scores: &[i64]) -> Entry {
        Entry {
            id,
            scores: scores.to_vec(),
            pending: 0,
        }
    }

    #[test]
    fn statistics() {
        let s = ScoreStats::of(&[5, 1, 4]).unwrap();
        assert_eq!((s.n, s.sum, s.min, s.max), (3, 10, 1, 5));
        assert!((s.mean() - 10.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.median(), 4.0);
        assert_eq!(s.spread(), 4);
        let s = ScoreStats::of(&[2, 5, 3, 4]).unwrap();
        assert_eq!(s.median(), 3.5);
        assert_eq!(s.mean(), 3.5);
        assert_eq!(s.spread(), 3);
        let s = ScoreStats::of(&[3]).unwrap();
        assert_eq!((s.mean(), s.median(), s.spread()), (3.0, 3.0, 0));
        assert_eq!(ScoreStats::of(&[]), None);
    }

    #[test]
    fn ranking_mean_then_median_then_id_and_unreviewed_last() {
        let mut v = vec![
            e(7, &[]),
            e(1, &[3, 3, 3]),    // mean 3, median 3
            e(2, &[5, 3, 1]),    // mean 3, median 3: tie with 1 → id
            e(3, &[4, 4, 1]),    // mean 3, median 4: above 1 and 2
            e(4, &[5, 4, 4]),    // mean 4.33: first
            e(5, &[2]),          // mean 2
            e(6, &[4, 3, 3, 2]), // mean 3, median 3 (even count): tie → id after 2
            e(0, &[]),
        ];
        rank(&mut v);
        let order: Vec<i64> = v.iter().map(|x| x.id).collect();
        assert_eq!(order, vec![4, 3, 1, 2, 6, 5, 0, 7]);
        let st = |i: usize| v[i].stats().unwrap();
        assert!(
            st(2).ties(&st(3)) && st(3).ties(&st(4)),
            "3,3,3 / 5,3,1 / 4,3,3,2"
        );
        assert!(!st(1).ties(&st(2)), "same mean, higher median");
    }

    #[test]
    fn means_compare_exactly() {
        // 2/3 vs 0.6666…: floating point would call 20/30 and 2/3 different in some
        // formulations; cross-multiplication never does, so the id decides.
        let mut v = vec![e(2, &[1, 1, 0]), e(1, &[1, 0, 1])];
        rank(&mut v);
        assert_eq!(v[0].id, 1);
        // 7/3 (2.333…) beats 9/4 (2.25).
        let mut v = vec![e(1, &[3, 3, 2, 1]), e(2, &[3, 2, 2])];
        rank(&mut v);
        assert_eq!(v[0].id, 2);
    }
}
