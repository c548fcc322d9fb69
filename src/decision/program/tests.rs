//! The program export and the decision view.

use super::*;
use crate::model::DecisionSource;
use crate::proposal::{Fields, FiledTopic, TagOverrides};

fn proposal(id: i64, status: ProposalStatus, format: &str, topic: &str) -> ProposalRow {
    ProposalRow {
        id,
        speaker_email: format!("s{id}@x.org"),
        speaker_name: Some(format!("Speaker {id}")),
        status,
        version: 1,
        created_at: 0,
        updated_at: 0,
        fields: Fields {
            title: Some(format!("Talk {id}")),
            format: Some(format.into()),
            audience: Some("beginner".into()),
            abstract_text: Some(format!("Abstract {id}")),
            bio: Some(format!("Bio {id}")),
            co_speakers: (id == 1).then(|| vec!["co@y.org".to_string()]),
            ..Fields::default()
        },
        problems: vec![],
        topics: vec![FiledTopic {
            id: topic.into(),
            name: topic.to_uppercase(),
            score: 1.0,
            evidence: vec![],
        }],
        overrides: TagOverrides::default(),
        reviewers_needed: None,
    }
}

fn decided(p: i64, d: Decision, told: bool, c: Option<Confirmation>) -> DecisionRow {
    DecisionRow {
        proposal_id: p,
        version: 1,
        decision: d,
        source: DecisionSource::Cli,
        decided_by: "chair".into(),
        note: None,
        decided_at: 0,
        current: true,
        notified_at: told.then_some(1),
        confirmation: c,
        confirmed_at: c.map(|_| 2),
    }
}

fn world() -> (Vec<ProposalRow>, Vec<DecisionRow>) {
    use Confirmation::*;
    let ps = vec![
        proposal(1, ProposalStatus::Submitted, "talk-25", "frontend"),
        proposal(2, ProposalStatus::Submitted, "talk-45", "frontend"),
        proposal(3, ProposalStatus::Submitted, "tutorial", "database"),
        proposal(4, ProposalStatus::Withdrawn, "talk-25", "database"),
        proposal(5, ProposalStatus::Submitted, "talk-25", "database"),
        proposal(6, ProposalStatus::Submitted, "talk-25", "database"),
        proposal(7, ProposalStatus::Draft, "talk-25", "database"),
    ];
    let ds = vec![
        decided(1, Decision::Accepted, true, Some(Confirmed)),
        decided(2, Decision::Accepted, true, None),
        decided(3, Decision::Accepted, true, Some(Declined)),
        decided(4, Decision::Accepted, true, Some(Confirmed)),
        decided(5, Decision::Rejected, true, None),
    ];
    (ps, ds)
}

#[test]
fn the_program_lists_exactly_the_confirmed_talks_or_every_accepted_one() {
    let (ps, ds) = world();
    let p = program("Conf", &ps, &ds, false, false);
    let refs: Vec<&str> = p.talks.iter().map(|t| t.reference.as_str()).collect();
    assert_eq!(
        refs,
        ["P-0001"],
        "declined, withdrawn and unanswered are not in it"
    );
    let t = &p.talks[0];
    assert_eq!(t.duration_minutes, Some(25));
    assert_eq!(t.speakers.len(), 2);
    assert_eq!(t.speakers[0].name.as_deref(), Some("Speaker 1"));
    assert_eq!(t.speakers[0].bio.as_deref(), Some("Bio 1"));
    assert_eq!(t.speakers[1].role, "co-speaker");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["talks"][0]["abstract"], "Abstract 1");
    assert_eq!(json["talks"][0]["topics"][0]["id"], "frontend");
    assert!(
        json["talks"][0]["speakers"][0].get("email").is_none(),
        "{json}"
    );
    let all = program("Conf", &ps, &ds, true, true);
    let refs: Vec<(&str, &str)> = all
        .talks
        .iter()
        .map(|t| (t.reference.as_str(), t.status))
        .collect();
    assert_eq!(refs, [("P-0001", "confirmed"), ("P-0002", "accepted")]);
    assert_eq!(all.talks[0].speakers[1].email.as_deref(), Some("co@y.org"));
    let rows = csv_rows(&all);
    assert_eq!(rows[0][7], "Speaker 1 <s1@x.org>; co@y.org");
    assert_eq!(rows[1][4], "45");
}

#[test]
fn durations_come_from_the_format_id() {
    assert_eq!(duration("talk-25"), Some(25));
    assert_eq!(duration("lightning5"), Some(5));
    assert_eq!(duration("tutorial"), None);
    assert_eq!(duration("talk-0"), None);
}

#[test]
fn the_view_counts_decisions_per_topic_and_format_and_the_confirmations() {
    let (ps, ds) = world();
    let v = view(&ps, &ds);
    assert_eq!(v.total.decided, [4, 0, 1]);
    assert_eq!(v.total.undecided, 1, "P-0006; drafts are not in review");
    assert_eq!(v.by_topic["FRONTEND"].decided, [2, 0, 0]);
    assert_eq!(v.by_format["talk-25"].decided, [2, 0, 1]);
    assert_eq!(v.by_format["talk-25"].undecided, 1);
    assert_eq!(v.confirmations, (1, 1, 1), "P-0004 was withdrawn");
    let text = render_view(&v);
    assert!(
        text.contains("Decisions: 4 accepted, 0 waitlisted, 1 rejected, 1 undecided (80 % of decided proposals accepted)"),
        "{text}"
    );
    assert!(
        text.contains(
            "Confirmations: 1 confirmed, 1 declined, 1 waiting, of 3 accepted talks told"
        ),
        "{text}"
    );
}
