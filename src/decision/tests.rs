//! The rules of `cfpd decide`: what may be decided, and when a change needs
//! `--force`.

use super::*;

use crate::model::fixtures::proposal;

fn current(d: Decision, told: bool) -> DecisionRow {
    DecisionRow {
        notified_at: told.then_some(5),
        ..crate::model::fixtures::decision(1, d)
    }
}

#[test]
fn only_submitted_proposals_are_decided_and_each_refusal_names_the_proposal() {
    let accept = Decision::Accepted;
    assert_eq!(
        check("P-0009", None, None, accept, false)
            .unwrap_err()
            .to_string(),
        "P-0009: no such proposal"
    );
    let cases = [
        (ProposalStatus::Draft, "P-0001 is a draft (incomplete): only submitted proposals are decided"),
        (ProposalStatus::Withdrawn, "P-0001 was withdrawn by its speaker: it cannot be decided"),
        (
            ProposalStatus::Late,
            "P-0001 is a late entry: take it into review first (cfpd proposals accept-late P-0001), then decide",
        ),
    ];
    for (status, text) in cases {
        let p = proposal(1, status);
        let e = check("P-0001", Some(&p), None, accept, true).unwrap_err();
        assert_eq!(e.to_string(), text, "{status}");
    }
    let p = proposal(1, ProposalStatus::Submitted);
    assert_eq!(check("p-1", Some(&p), None, accept, false), Ok(Change::New));
}

#[test]
fn a_decision_changes_freely_until_told_then_only_with_force() {
    let p = proposal(1, ProposalStatus::Submitted);
    let untold = current(Decision::Waitlisted, false);
    assert_eq!(
        check(
            "P-0001",
            Some(&p),
            Some(&untold),
            Decision::Waitlisted,
            false
        ),
        Ok(Change::Same)
    );
    assert_eq!(
        check("P-0001", Some(&p), Some(&untold), Decision::Accepted, false),
        Ok(Change::Changed {
            from: Decision::Waitlisted,
            told: false
        })
    );
    let told = current(Decision::Waitlisted, true);
    let e = check("P-0001", Some(&p), Some(&told), Decision::Rejected, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "P-0001 is already waitlisted and the speakers were told: use --force to change \
         it to rejected (they get a mail explaining the change)"
    );
    assert_eq!(
        check("P-0001", Some(&p), Some(&told), Decision::Rejected, true),
        Ok(Change::Changed {
            from: Decision::Waitlisted,
            told: true
        })
    );
    // Accepting from the waiting list is what it is for: no --force.
    assert_eq!(
        check("P-0001", Some(&p), Some(&told), Decision::Accepted, false),
        Ok(Change::Changed {
            from: Decision::Waitlisted,
            told: true
        })
    );
    let accepted = current(Decision::Accepted, true);
    assert!(check(
        "P-0001",
        Some(&p),
        Some(&accepted),
        Decision::Waitlisted,
        false
    )
    .is_err());
    // Deciding what was told again is no change, with or without --force.
    assert_eq!(
        check("P-0001", Some(&p), Some(&told), Decision::Waitlisted, false),
        Ok(Change::Same)
    );
}

#[test]
fn one_proposal_twice_is_kept_once_or_refused_when_contradictory() {
    let reqs = vec![
        (1, "P-0001".to_string(), Decision::Accepted),
        (2, "P-0002".to_string(), Decision::Rejected),
        (1, "p-1".to_string(), Decision::Accepted),
    ];
    assert_eq!(dedup(&reqs).unwrap().len(), 2);
    let mut bad = reqs.clone();
    bad.push((2, "P-2".into(), Decision::Waitlisted));
    assert_eq!(
        dedup(&bad).unwrap_err().to_string(),
        "P-2 is named twice with different decisions"
    );
}
