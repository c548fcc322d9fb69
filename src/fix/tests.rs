use super::edit::{changed, check_problems, edited_status, field_name, from_field, from_text};
use super::*;
use crate::model::fixtures::proposal;
use crate::proposal::ProposalRules;

fn rules() -> ProposalRules {
    ProposalRules {
        required: vec!["title".into(), "abstract".into()],
        formats: vec!["talk-25".into(), "talk-45".into()],
        audiences: vec!["beginner".into(), "advanced".into()],
        word_limits: vec![],
        max_message_bytes: 1 << 20,
        reply_token_days: 365,
        custom: vec![],
    }
}

fn reviewer(email: &str, conflicts: &[&str]) -> Reviewer {
    Reviewer {
        id: 7,
        email: email.into(),
        name: None,
        topics: vec![],
        min_load: 0,
        max_load: 5,
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn only_queued_mail_is_held_released_or_cancelled() {
    use OutboxAction::*;
    let q = OutboxState::Queued;
    assert_eq!(outbox_change(Hold, q, None), Ok(()));
    assert_eq!(outbox_change(Hold, q, Some(HoldReason::AddressCap)), Ok(()));
    assert_eq!(
        outbox_change(Hold, q, Some(HoldReason::Chair)),
        Err(OutboxRefusal::AlreadyHeld)
    );
    assert_eq!(outbox_change(Release, q, Some(HoldReason::Chair)), Ok(()));
    assert_eq!(
        outbox_change(Release, q, None),
        Err(OutboxRefusal::NotHeld(None))
    );
    let e = outbox_change(Release, q, Some(HoldReason::AddressCap)).unwrap_err();
    assert!(e.to_string().contains("goes out by itself"), "{e}");
    for hold in [None, Some(HoldReason::Chair), Some(HoldReason::AddressCap)] {
        assert_eq!(outbox_change(Cancel, q, hold), Ok(()));
    }
    for action in [Hold, Release, Cancel] {
        assert_eq!(
            outbox_change(action, OutboxState::Sending, None),
            Err(OutboxRefusal::Sending)
        );
        assert_eq!(
            outbox_change(action, OutboxState::Sent, None),
            Err(OutboxRefusal::Sent)
        );
        assert_eq!(
            outbox_change(action, OutboxState::Uncertain, None),
            Err(OutboxRefusal::Uncertain)
        );
        for s in [
            OutboxState::Failed,
            OutboxState::Suppressed,
            OutboxState::Cancelled,
        ] {
            assert_eq!(outbox_change(action, s, None), Err(OutboxRefusal::Final(s)));
        }
    }
    assert_eq!(
        OutboxRefusal::Sent.to_string(),
        "it was already sent",
        "a chair reads why"
    );
}

#[test]
fn a_manual_assignment_follows_the_solvers_conflict_rules_unless_overridden() {
    let mut p = proposal(1, ProposalStatus::Submitted);
    p.speaker_email = "ada@uni.example.edu".into();
    p.fields.co_speakers = Some(vec!["bob@else.org".into()]);
    let free = reviewer("rita@other.org", &[]);
    assert_eq!(manual_assign(&p, &free, false, None, false), Ok(None));
    // Same institution as the speaker.
    let colleague = reviewer("carl@example.edu", &[]);
    let e = manual_assign(&p, &colleague, false, None, false).unwrap_err();
    assert!(matches!(e, AssignRefusal::Conflict(_)), "{e:?}");
    assert!(e.to_string().contains("--override"), "{e}");
    let c = manual_assign(&p, &colleague, false, None, true).unwrap();
    assert!(
        c.is_some(),
        "the overridden conflict is returned to be recorded"
    );
    // A co-speaker, and a listed conflict.
    let co = reviewer("bob@else.org", &[]);
    assert_eq!(
        manual_assign(&p, &co, false, None, false),
        Err(AssignRefusal::Conflict(ConflictReason::Speaker))
    );
    let listed = reviewer("dan@third.org", &["ada@uni.example.edu"]);
    assert!(matches!(
        manual_assign(&p, &listed, false, None, false),
        Err(AssignRefusal::Conflict(ConflictReason::Listed { .. }))
    ));
}

#[test]
fn a_manual_assignment_refuses_what_no_reason_can_change() {
    let p = proposal(1, ProposalStatus::Submitted);
    let r = reviewer("rita@other.org", &[]);
    for overridden in [false, true] {
        assert_eq!(
            manual_assign(&p, &r, true, None, overridden),
            Err(AssignRefusal::ReviewerRemoved)
        );
        assert_eq!(
            manual_assign(&p, &r, false, Some(AssignmentState::Active), overridden),
            Err(AssignRefusal::AlreadyAssigned)
        );
        for s in [
            AssignmentState::Declined,
            AssignmentState::Conflict,
            AssignmentState::Removed,
        ] {
            assert_eq!(
                manual_assign(&p, &r, false, Some(s), overridden),
                Err(AssignRefusal::Released(s))
            );
        }
        for status in [
            ProposalStatus::Draft,
            ProposalStatus::Late,
            ProposalStatus::Withdrawn,
        ] {
            let q = proposal(2, status);
            assert_eq!(
                manual_assign(&q, &r, false, None, overridden),
                Err(AssignRefusal::NotInReview(status))
            );
        }
    }
    assert_eq!(
        AssignRefusal::Released(AssignmentState::Declined).to_string(),
        "the reviewer declined it earlier"
    );
}

#[test]
fn an_assignment_is_removed_when_active_and_a_finished_review_needs_a_reason() {
    use AssignmentState::*;
    assert_eq!(manual_unassign(Some(Active), false, false), Ok(()));
    assert_eq!(
        manual_unassign(Some(Active), true, false),
        Err(UnassignRefusal::Reviewed)
    );
    assert_eq!(manual_unassign(Some(Active), true, true), Ok(()));
    assert_eq!(
        manual_unassign(None, false, true),
        Err(UnassignRefusal::NotAssigned)
    );
    for s in [Declined, Conflict, Removed] {
        assert_eq!(
            manual_unassign(Some(s), false, true),
            Err(UnassignRefusal::NotActive(s))
        );
    }
}

#[test]
fn a_restored_proposal_gets_back_the_status_its_withdrawal_left() {
    use ProposalStatus::*;
    assert_eq!(restored_status(Withdrawn, Some(Late), true), Ok(Late));
    assert_eq!(restored_status(Withdrawn, Some(Draft), true), Ok(Draft));
    assert_eq!(
        restored_status(Withdrawn, Some(Submitted), false),
        Ok(Submitted)
    );
    // Withdrawn before the status was kept: what the record makes it.
    assert_eq!(restored_status(Withdrawn, None, true), Ok(Submitted));
    assert_eq!(restored_status(Withdrawn, None, false), Ok(Draft));
    for s in [Submitted, Draft, Late] {
        assert_eq!(
            restored_status(s, None, true),
            Err(RestoreRefusal::NotWithdrawn(s))
        );
    }
}

#[test]
fn who_is_the_by_name_then_the_os_user() {
    assert_eq!(who(Some("Grace"), Some("gh"), None), "Grace");
    assert_eq!(who(None, Some("gh"), Some("x")), "gh");
    assert_eq!(who(Some("  "), None, Some("lg")), "lg");
    assert_eq!(who(None, None, None), "unknown");
}

#[test]
fn a_field_is_named_by_its_name_or_any_label_a_speaker_may_write() {
    assert_eq!(field_name("title"), Ok("title"));
    assert_eq!(field_name("Abstract"), Ok("abstract"));
    assert_eq!(field_name("co-speakers"), Ok("co-speakers"));
    assert_eq!(field_name("Notes for reviewers"), Ok("notes"));
    assert_eq!(field_name("summary"), Ok("abstract"));
    let e = field_name("pronouns").unwrap_err().to_string();
    assert!(
        e.starts_with("there is no field \"pronouns\"; fields are: title,"),
        "{e}"
    );
}

#[test]
fn an_edit_is_read_like_a_speakers_mail() {
    let f = from_field("format", "45 minute talk", &rules()).unwrap();
    assert_eq!(f.format.as_deref(), Some("talk-45"));
    let f = from_field("abstract", "First line.\nSecond line.", &rules()).unwrap();
    assert_eq!(
        f.abstract_text.as_deref(),
        Some("First line.\nSecond line.")
    );
    assert_eq!(f.title, None, "only the named field is given");
    let e = from_field("title", "  ", &rules()).unwrap_err().to_string();
    assert!(e.contains("changed, not erased"), "{e}");

    let text = "Title: A better title\n\nFormat: talk-25\n";
    let (f, lines) = from_text(text, &rules()).unwrap();
    assert_eq!(f.title.as_deref(), Some("A better title"));
    assert_eq!(lines, vec![(1, "title"), (3, "format")]);
    let e = from_text("just some words\n", &rules()).unwrap_err();
    assert_eq!(e.line, Some(1));
    assert!(e.to_string().starts_with("line 1: no field found"), "{e}");
}

#[test]
fn an_edit_names_what_changed_and_may_not_make_a_proposal_worse() {
    let mut old = crate::proposal::Fields {
        title: Some("Old".into()),
        abstract_text: Some("Same".into()),
        ..Default::default()
    };
    let new = old.merged_with(&crate::proposal::Fields {
        title: Some("New".into()),
        abstract_text: Some("Same".into()),
        ..Default::default()
    });
    assert_eq!(changed(&old, &new, &[]), vec!["Title"]);
    old.format = Some("talk-25".into());
    assert!(changed(&old, &old, &[]).is_empty());
    // An answer to one of the conference's own questions is a change too,
    // named by its label after the built-in fields.
    let custom = crate::proposal::custom::tests::sample();
    let mut answered = new.clone();
    answered.custom.insert("pronouns".into(), "she/her".into());
    assert_eq!(changed(&new, &answered, &custom), vec!["Pronouns"]);

    let text = "Title: T\nFormat: a lightning thing\n";
    let (f, lines) = from_text(text, &rules()).unwrap();
    let after = crate::proposal::problems(&old.merged_with(&f), &rules());
    let e = check_problems(&[], &after, &lines).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.to_string().contains("Format"), "{e}");
    assert!(e.to_string().ends_with("Nothing was changed."), "{e}");
    // A problem it already had is no reason to refuse.
    assert_eq!(check_problems(&after, &after, &lines), Ok(()));
}

#[test]
fn an_edit_keeps_a_proposal_in_its_place() {
    use ProposalStatus::*;
    assert_eq!(edited_status(Submitted, true), Submitted);
    assert_eq!(edited_status(Draft, true), Submitted);
    assert_eq!(edited_status(Draft, false), Draft);
    assert_eq!(edited_status(Late, true), Late);
    assert_eq!(edited_status(Withdrawn, true), Withdrawn);
}
