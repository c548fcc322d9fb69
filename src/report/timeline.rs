//! Status over time, reconstructed from what is stored.
//!
//! cfpd keeps every proposal version with its time and its problems, and each
//! proposal's *current* status with the time it last changed; it keeps no log of
//! status changes. The history is rebuilt from that:
//!
//! * each version makes the proposal **draft** (it had problems) or **submitted**
//!   (complete) at the time it was stored — or **late** when it was stored after the
//!   CFP closed (deadline plus grace; only a first version can be, as updates after the
//!   close are refused);
//! * if the current status differs from what the last version made it (withdrawn, or a
//!   late entry a chair accepted), it changed to the current status at the proposal's
//!   last-change time.
//!
//! So the last state always equals the current status, and a late entry that was
//! accepted and later withdrawn shows as late until its withdrawal (the acceptance time
//! is not stored).

use chrono::{DateTime, NaiveDate, Utc};

use super::StatusCounts;
use crate::calendar::Zone;
use crate::model::{ProposalRow, ProposalStatus, VersionStamp};
use crate::store::from_ms;

/// A proposal entered a status at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// When (ms since the epoch).
    pub at: i64,
    /// The status it had from then on.
    pub status: ProposalStatus,
}

/// The status changes of one proposal, oldest first. `versions` are that proposal's
/// stamps (any order); `closes` is the instant after which mail is late (ms).
pub fn history(p: &ProposalRow, versions: &[VersionStamp], closes: i64) -> Vec<Change> {
    let mut vs: Vec<&VersionStamp> = versions.iter().filter(|v| v.proposal_id == p.id).collect();
    vs.sort_by_key(|v| v.version);
    let mut out: Vec<Change> = vs
        .iter()
        .map(|v| Change {
            at: v.created_at,
            status: if v.created_at > closes {
                ProposalStatus::Late
            } else if v.complete {
                ProposalStatus::Submitted
            } else {
                ProposalStatus::Draft
            },
        })
        .collect();
    match out.last() {
        Some(last) if last.status == p.status => {}
        Some(last) => {
            let at = p.updated_at.max(last.at);
            out.push(Change {
                at,
                status: p.status,
            });
        }
        None => out.push(Change {
            at: p.created_at,
            status: p.status,
        }),
    }
    out
}

/// The date of an instant on the conference's wall clock.
pub fn local_date(zone: Zone, t: DateTime<Utc>) -> NaiveDate {
    match zone {
        Zone::AoE => (t - chrono::Duration::hours(12)).date_naive(),
        Zone::Iana(tz) => t.with_timezone(&tz).date_naive(),
    }
}

/// Proposals by status at the end of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// The day (conference zone).
    pub date: NaiveDate,
    /// Every proposal that existed by the end of that day, by its status then.
    pub counts: StatusCounts,
}

/// Cumulative proposals per day by status, from the first day anything happened to the
/// last (both in the conference zone), every day in between included. Empty when there
/// are no proposals. Independent of "now", so the same database gives the same days.
pub fn daily(
    proposals: &[ProposalRow],
    versions: &[VersionStamp],
    closes: DateTime<Utc>,
    zone: Zone,
) -> Vec<Day> {
    let closes = crate::store::ms(closes);
    // (day, proposal index, status), in time order.
    let mut changes: Vec<(i64, usize, ProposalStatus)> = Vec::new();
    for (i, p) in proposals.iter().enumerate() {
        for c in history(p, versions, closes) {
            changes.push((c.at, i, c.status));
        }
    }
    changes.sort_by_key(|&(at, i, _)| (at, i));
    let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
        return Vec::new();
    };
    let day_of = |ms: i64| local_date(zone, from_ms(ms));
    let (first, last) = (day_of(first.0), day_of(last.0));
    let mut state: Vec<Option<ProposalStatus>> = vec![None; proposals.len()];
    let mut next = 0;
    let mut out = Vec::new();
    let mut date = first;
    while date <= last {
        while next < changes.len() && day_of(changes[next].0) <= date {
            state[changes[next].1] = Some(changes[next].2);
            next += 1;
        }
        let mut counts = StatusCounts::default();
        for s in state.iter().flatten() {
            counts.add(*s);
        }
        out.push(Day { date, counts });
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures as fx;

    const H: i64 = 3_600_000;
    // 2024-04-01T12:00:00Z
    const T0: i64 = 1_711_972_800_000;

    fn p(id: i64, status: ProposalStatus, created: i64, updated: i64) -> ProposalRow {
        fx::at(fx::proposal(id, status), created, updated)
    }

    fn v(proposal_id: i64, version: i64, created_at: i64, complete: bool) -> VersionStamp {
        VersionStamp {
            proposal_id,
            version,
            created_at,
            complete,
        }
    }

    #[test]
    fn versions_then_the_current_status() {
        let closes = T0 + 100 * H;
        // Draft, completed a day later, withdrawn two days later.
        let a = p(1, ProposalStatus::Withdrawn, T0, T0 + 48 * H);
        let vs = [v(1, 2, T0 + 24 * H, true), v(1, 1, T0, false)];
        let h = history(&a, &vs, closes);
        let st: Vec<_> = h
            .iter()
            .map(|c| (c.at - T0) / H)
            .zip(h.iter().map(|c| c.status))
            .collect();
        assert_eq!(
            st,
            vec![
                (0, ProposalStatus::Draft),
                (24, ProposalStatus::Submitted),
                (48, ProposalStatus::Withdrawn)
            ]
        );
        // A late entry, accepted by a chair later: late until then.
        let b = p(2, ProposalStatus::Submitted, T0 + 101 * H, T0 + 120 * H);
        let h = history(&b, &[v(2, 1, T0 + 101 * H, true)], closes);
        assert_eq!(
            h.iter().map(|c| c.status).collect::<Vec<_>>(),
            vec![ProposalStatus::Late, ProposalStatus::Submitted]
        );
        assert_eq!(h[1].at, T0 + 120 * H);
        // Still late: one change.
        let c = p(3, ProposalStatus::Late, T0 + 101 * H, T0 + 101 * H);
        assert_eq!(history(&c, &[v(3, 1, T0 + 101 * H, true)], closes).len(), 1);
    }

    #[test]
    fn daily_counts_are_cumulative_and_fill_quiet_days() {
        let closes = chrono::DateTime::from_timestamp_millis(T0 + 1000 * H).unwrap();
        let ps = [
            p(1, ProposalStatus::Withdrawn, T0, T0 + 72 * H),
            p(2, ProposalStatus::Submitted, T0 + 24 * H, T0 + 24 * H),
        ];
        let vs = [
            v(1, 1, T0, true),
            v(2, 1, T0 + 24 * H, false),
            v(2, 2, T0 + 25 * H, true),
        ];
        let days = daily(&ps, &vs, closes, Zone::Iana(chrono_tz::UTC));
        let got: Vec<(String, usize, usize, usize)> = days
            .iter()
            .map(|d| {
                (
                    d.date.to_string(),
                    d.counts.submitted,
                    d.counts.draft,
                    d.counts.withdrawn,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2024-04-01".into(), 1, 0, 0),
                // P2 was a draft for an hour; at the end of the day it is submitted.
                ("2024-04-02".into(), 2, 0, 0),
                ("2024-04-03".into(), 2, 0, 0),
                ("2024-04-04".into(), 1, 0, 1),
            ]
        );
        // Anywhere on Earth is 12 hours behind UTC: 11:00Z on 1 April is still 31 March.
        let before_noon = from_ms(T0 - H);
        assert_eq!(local_date(Zone::AoE, before_noon).to_string(), "2024-03-31");
        assert_eq!(
            local_date(Zone::Iana(chrono_tz::UTC), before_noon).to_string(),
            "2024-04-01"
        );
        assert!(daily(&[], &[], closes, Zone::AoE).is_empty());
    }
}
