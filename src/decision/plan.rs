//! Who is told which decision: the one plan behind both `cfpd notify
//! --preview` and `--send`, so the preview shows exactly what is queued.
//!
//! One mail per (proposal, decision version, recipient): the speaker, and
//! each co-speaker the proposal names (once per mailbox, never the speaker
//! again). Decisions already told are not planned again; a withdrawn
//! proposal is told nothing (its speaker has left the process). A changed
//! decision whose earlier version was told carries that earlier decision,
//! so its mail can explain the change.

use std::collections::{HashMap, HashSet};

use crate::model::{mailbox_key, Decision, DecisionRow, ProposalRow, ProposalStatus};

/// Who a mail goes to, in the proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The speaker who submitted it (its token is bound to them).
    Speaker,
    /// A co-speaker named in the proposal.
    CoSpeaker,
}

/// One decision mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The proposal.
    pub proposal_id: i64,
    /// The decision version it tells.
    pub version: i64,
    /// What it tells.
    pub decision: Decision,
    /// The decision told before (always a different one): the mail says
    /// this one replaces it.
    pub previous: Option<Decision>,
    /// The address, as the proposal gives it.
    pub to: String,
    /// Speaker or co-speaker.
    pub role: Role,
}

impl Planned {
    /// The outbox dedup key: one mail per (proposal, decision version,
    /// recipient mailbox), whoever queues it and however often.
    pub fn dedup_key(&self) -> String {
        format!(
            "decision:{}:{}:{}",
            self.proposal_id,
            self.version,
            mailbox_key(&self.to)
        )
    }
}

/// What `notify --send` does: the mails, and the decision versions it marks
/// as told (those with mails, and a decision changed back to the one told
/// before, which needs no mail: the speakers already know it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The mails, by proposal.
    pub mails: Vec<Planned>,
    /// (proposal id, decision version) to mark as told.
    pub settled: Vec<(i64, i64)>,
}

/// Every decision mail not yet sent: for each current, untold decision of a
/// proposal that is not withdrawn, one per recipient. `history` is every
/// version of every decision (for the decision told before).
pub fn plan(proposals: &[ProposalRow], history: &[DecisionRow]) -> Plan {
    let by_id: HashMap<i64, &ProposalRow> = proposals.iter().map(|p| (p.id, p)).collect();
    let mut out = Plan::default();
    for d in history
        .iter()
        .filter(|d| d.current && d.notified_at.is_none())
    {
        let Some(p) = by_id.get(&d.proposal_id) else {
            continue;
        };
        if p.status == ProposalStatus::Withdrawn {
            continue;
        }
        let previous = history
            .iter()
            .filter(|h| h.proposal_id == d.proposal_id && h.version < d.version)
            .filter(|h| h.notified_at.is_some())
            .max_by_key(|h| h.version)
            .map(|h| h.decision);
        out.settled.push((p.id, d.version));
        if previous == Some(d.decision) {
            continue;
        }
        let mut seen = HashSet::new();
        let speaker = std::iter::once((p.speaker_email.as_str(), Role::Speaker));
        let co = p
            .fields
            .co_speakers
            .iter()
            .flatten()
            .map(|a| (a.as_str(), Role::CoSpeaker));
        for (to, role) in speaker.chain(co) {
            if !crate::proposal::looks_like_address(to) || !seen.insert(mailbox_key(to)) {
                continue;
            }
            out.mails.push(Planned {
                proposal_id: p.id,
                version: d.version,
                decision: d.decision,
                previous,
                to: to.to_string(),
                role,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DecisionSource;

    fn proposal(id: i64, status: ProposalStatus, co: &[&str]) -> ProposalRow {
        let mut p = crate::model::fixtures::proposal(id, status);
        p.fields.co_speakers = (!co.is_empty()).then(|| co.iter().map(|c| c.to_string()).collect());
        p
    }

    fn decision(p: i64, v: i64, d: Decision, current: bool, told: bool) -> DecisionRow {
        DecisionRow {
            proposal_id: p,
            version: v,
            decision: d,
            source: DecisionSource::Cli,
            decided_by: "chair".into(),
            note: None,
            decided_at: 0,
            current,
            notified_at: told.then_some(1),
            confirmation: None,
            confirmed_at: None,
        }
    }

    #[test]
    fn speaker_and_each_co_speaker_once_withdrawn_and_told_never() {
        let ps = [
            proposal(
                1,
                ProposalStatus::Submitted,
                &["ada@a.org", "ADA+x@a.org", "s1@x.org", "nonsense"],
            ),
            proposal(2, ProposalStatus::Withdrawn, &[]),
            proposal(3, ProposalStatus::Submitted, &[]),
            proposal(4, ProposalStatus::Submitted, &[]),
        ];
        let h = [
            decision(1, 1, Decision::Accepted, true, false),
            decision(2, 1, Decision::Rejected, true, false),
            decision(3, 1, Decision::Waitlisted, true, true),
        ];
        let plan = plan(&ps, &h);
        assert_eq!(plan.settled, vec![(1, 1)]);
        let p = plan.mails;
        let who: Vec<(&str, Role)> = p.iter().map(|m| (m.to.as_str(), m.role)).collect();
        assert_eq!(
            who,
            vec![("s1@x.org", Role::Speaker), ("ada@a.org", Role::CoSpeaker)]
        );
        assert_eq!(p[0].dedup_key(), "decision:1:1:s1@x.org");
        assert_eq!(p[1].dedup_key(), "decision:1:1:ada@a.org");
        assert!(p.iter().all(|m| m.previous.is_none()));
    }

    #[test]
    fn a_changed_decision_names_the_one_told_before_and_gets_new_keys() {
        let ps = [proposal(1, ProposalStatus::Submitted, &[])];
        let h = [
            decision(1, 1, Decision::Waitlisted, false, true),
            decision(1, 2, Decision::Rejected, false, false),
            decision(1, 3, Decision::Accepted, true, false),
        ];
        let p = plan(&ps, &h).mails;
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].previous, Some(Decision::Waitlisted));
        assert_eq!(p[0].dedup_key(), "decision:1:3:s1@x.org");
        // Changed and back to what was told before anyone heard of the
        // change: nothing new to tell, the version is only marked as told.
        let h = [
            decision(1, 1, Decision::Accepted, false, true),
            decision(1, 2, Decision::Rejected, false, false),
            decision(1, 3, Decision::Accepted, true, false),
        ];
        let again = plan(&ps, &h);
        assert!(again.mails.is_empty());
        assert_eq!(again.settled, vec![(1, 3)]);
    }
}
