//! The mail templates' unit tests: every mail within 78 characters, naming
//! the contact, alike in both engines; the record's fitting; overrides.

use super::*;

#[test]
fn short_titles_fit_and_say_they_were_cut() {
    assert_eq!(short_title("Fast\nDjango", 40), "Fast Django");
    let long = "A very long title about everything Django can do for you";
    let s = short_title(long, 20);
    assert_eq!(s, "A very long title a…");
    assert_eq!(s.chars().count(), 20);
    assert_eq!(wrap("a bb ccc", 4), "a bb\nccc");
}

fn topic(name: &str, evidence: &[&str]) -> FiledTopic {
    FiledTopic {
        id: name.to_lowercase(),
        name: name.into(),
        score: 1.0,
        evidence: evidence.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn long_fields_are_wrapped_under_their_label() {
    let abstract_text = "We build interactive pages with htmx and Alpine.js instead of a \
        single-page application, and show how far server-rendered Django templates go \
        before a SPA pays for itself.\n\nSecond paragraph, short.";
    let fields = Fields {
        title: Some("Forms without tears".into()),
        abstract_text: Some(abstract_text.into()),
        notes: Some(format!("See https://example.org/{}", "x".repeat(90))),
        ..Fields::default()
    };
    let r = record(&fields, &[]);
    let get = |l: &str| {
        r.iter()
            .find(|k| k.label.starts_with(l))
            .unwrap()
            .value
            .clone()
    };
    assert_eq!(get("Title"), "Forms without tears");
    let a = get("Abstract");
    assert!(
        a.lines().count() >= 3 && a.contains("\n\nSecond paragraph"),
        "{a}"
    );
    assert!(a.lines().all(|l| l.chars().count() <= 76), "{a}");
    // The words are all there, in order.
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(words(&a), words(abstract_text));
    // A URL longer than a line is never broken.
    assert!(get("Notes").lines().any(|l| l.ends_with(&"x".repeat(90))));
}

#[test]
fn reviewers_mails_explain_the_scales_within_78_characters() {
    let scale = FormSpec {
        score_min: 1,
        score_max: 10,
        confidence_min: 1,
        confidence_max: 3,
    };
    let fields = Fields {
        title: Some("Forms without tears: a field guide to Django forms in 2025".into()),
        abstract_text: Some("word ".repeat(120)),
        ..Fields::default()
    };
    let deadline = "2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)".to_string();
    let topics = [topic("Database", &["declared: database"])];
    let contact = vec!["chairs@djangocon.example".to_string()];
    let assignment = AssignmentMail {
        conference: "DjangoCon US 2099",
        reviewer_name: "Rita Reviewer-Longname",
        reference: "P-0042",
        record: record(&fields, &[]),
        topics: speaker_topics(&topics),
        scale,
        review_deadline: deadline.clone(),
        contact: &contact,
    }
    .render()
    .unwrap();
    let help = ReviewHelp {
        conference: "DjangoCon US 2099",
        reviewer_name: "Rita",
        reference: "P-0042",
        title: "Forms",
        scale,
        review_deadline: deadline,
        contact: &contact,
    }
    .render()
    .unwrap();
    let items = [ReviewItemView {
        reference: "P-0042".into(),
        title: "Forms".into(),
        address: "cfp+abcdefghijklmnopqrstuvwxyz234567@conf.example".into(),
    }];
    let reminder = ReviewReminderMail {
        conference: "DjangoCon US 2099",
        name: "Rita",
        deadline: "2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)",
        overdue: true,
        reviews: &items,
        count: items.len(),
        scale,
        contact: &contact,
    }
    .render()
    .unwrap();
    for mail in [&assignment, &help, &reminder] {
        assert!(
            mail.contains("from 1 (weakest) to 10 (strongest)"),
            "{mail}"
        );
        assert!(mail.contains("Score: (1-10)"), "{mail}");
        for l in mail.lines() {
            assert!(
                l.chars().count() <= 78,
                "{} characters: {l}",
                l.chars().count()
            );
        }
        assert!(!mail.contains("declared:"), "{mail}");
    }
}

#[test]
fn bidding_mails_fit_78_characters_and_stay_blind() {
    let mut p = crate::model::fixtures::proposal(42, crate::model::ProposalStatus::Submitted);
    p.speaker_email = "ada@secret.example".into();
    p.speaker_name = Some("Ada Secretname".into());
    p.fields.title = Some("Forms without tears: ".repeat(6));
    p.fields.abstract_text = Some("word ".repeat(200));
    p.fields.format = Some("talk-25".into());
    p.topics = vec![topic("Database", &["declared: database"]); 9];
    let items = vec![BidItemView::new(&p, 3), BidItemView::new(&p, 3)];
    let contact = vec!["chair-with-a-long-name@conference.example.org".to_string(); 3];
    let invite = BidInvite {
        conference: "DjangoCon US 2099 Conference",
        reviewer_name: "Rita Reviewer-Longname",
        proposals: &items,
        count: items.len(),
        contact: &contact,
    }
    .render()
    .unwrap();
    let recorded = vec![bid_line(
        "P-0042",
        crate::model::BidKind::Conflict,
        &"T".repeat(99),
    )];
    let problems = vec![wrap(&"not a number ".repeat(20), 72)];
    let receipt = BidReceipt {
        conference: "DjangoCon US 2099 Conference",
        reviewer_name: "",
        recorded: &recorded,
        problems: &problems,
        contact: &contact,
    }
    .render()
    .unwrap();
    let reminder = BidReminderMail {
        conference: "DjangoCon US 2099 Conference",
        name: "Rita Reviewer-Longname",
        deadline: "2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)",
        proposals: &items,
        count: items.len(),
        contact: &contact,
    }
    .render()
    .unwrap();
    assert!(reminder.contains("Reminder") || reminder.contains("not received"));
    for mail in [&invite, &receipt, &reminder] {
        for l in mail.lines() {
            assert!(
                l.chars().count() <= 78,
                "{} characters: {l}",
                l.chars().count()
            );
        }
        assert!(mail.contains("chair-with-a-long-name@"), "{mail}");
    }
    for mail in [&invite, &receipt] {
        assert!(mail.contains("What happens next"), "{mail}");
    }
    assert!(
        invite.contains("P-0042\n    Forms without tears"),
        "{invite}"
    );
    assert!(
        invite.contains("    Topics: Database, Database"),
        "{invite}"
    );
    assert!(invite.contains("word word …\n"), "{invite}");
    assert!(!invite.contains("Secretname") && !invite.contains("secret.example"));
    assert!(!invite.contains("declared:"), "{invite}");
    assert!(receipt.contains("  P-0042: conflict"), "{receipt}");
    // Nothing of the bidding mails reads as a bid if a client quotes them unmarked.
    for mail in [&invite, &receipt, &reminder] {
        let read = crate::review::bids::parse(mail);
        assert!(read.bids.is_empty(), "{read:?}");
    }
}

#[test]
fn speakers_read_topics_in_plain_words() {
    let topics = [
        topic(
            "Database",
            &["declared: database", "select_related", "the ORM's"],
        ),
        topic(
            "Performance",
            &[
                "caching",
                "query optimisation for very large multi-tenant setups",
                "n+1",
            ],
        ),
        topic("Something else", &[crate::topics::tagger::NOTHING_MATCHED]),
    ];
    let ack = Ack {
        conference: "DjangoCon",
        speaker_name: "Ada Lovelace",
        reference: "P-0001",
        record: vec![RecordLine::new("Title", "Forms".into())],
        topics: speaker_topics(&topics),
        deadline: "2099-04-24 23:59 AoE",
        contact: &[],
    }
    .render()
    .unwrap();
    assert!(ack.contains("Hello Ada Lovelace,\n\nThank you"), "{ack}");
    assert!(ack.contains("What happens next:"), "{ack}");
    assert!(ack.contains("  - Database (you named it)\n"), "{ack}");
    assert!(
        ack.contains("  - Performance (suggested by: caching)\n"),
        "{ack}"
    );
    assert!(ack.contains("  - Something else\n"), "{ack}");
    assert!(
        !ack.contains("declared:") && !ack.contains("vocabulary"),
        "{ack}"
    );
    assert!(ack.lines().all(|l| l.chars().count() <= 78), "{ack}");
    // No contact configured: the mail says a person reads replies.
    assert!(
        ack.contains("Questions? Reply to this mail; a person on the program committee\nreads it."),
        "{ack}"
    );
}

fn long_conference(contact: &[String]) -> crate::outbox::samples::SampleConference<'_> {
    crate::outbox::samples::SampleConference {
        name: "DjangoCon US 2099 Conference",
        cfp_address: "call-for-proposals@djangocon-us-2099.example.org",
        contact,
        scale: FormSpec {
            score_min: 1,
            score_max: 10,
            confidence_min: 1,
            confidence_max: 3,
        },
    }
}

/// Every mail of this module, with long realistic data: within 78
/// characters a line, naming every contact address, and rendered by
/// minijinja from the same sources exactly as askama renders them (so
/// `cfpd templates export` writes files that change nothing).
#[test]
fn every_mail_fits_names_the_contact_and_renders_alike_in_both_engines() {
    use crate::outbox::custom::{render_runtime, BUILTIN};
    let contact = vec![
        "program-committee@djangocon-us-2099.example.org".to_string(),
        "ada.lovelace.chair@analytical-engine.example.org".to_string(),
    ];
    let samples = crate::outbox::samples::all(&long_conference(&contact));
    let none = crate::config::Overrides::default();
    let mut long = Vec::new();
    for s in &samples {
        assert!(
            !s.builtin.contains("template error"),
            "{}: {}",
            s.name,
            s.builtin
        );
        for l in s.builtin.lines() {
            let n = l.chars().count();
            if n > 78 {
                long.push(format!("{}: {n} characters: {l}", s.name));
            }
        }
        for c in &contact {
            assert!(
                s.builtin.contains(&format!("\n  {c}\n")),
                "{} does not name {c}:\n{}",
                s.name,
                s.builtin
            );
        }
        assert!(!s.builtin.contains("declared:"), "{}", s.name);
        let runtime = render_runtime(s.name, &s.ctx, &none).unwrap();
        assert_eq!(runtime, s.builtin, "{} differs between the engines", s.name);
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
    // Every mail template of templates/ (not a part, not a refusal,
    // which `intake::reject` covers) has a sample.
    for (name, _) in BUILTIN {
        if name.starts_with('_') || name.starts_with("reject/") {
            continue;
        }
        assert!(
            samples.iter().any(|s| s.name == *name),
            "{name} has no sample"
        );
    }
}

#[test]
fn an_override_replaces_its_mail_and_its_typo_is_found_at_its_line() {
    use crate::outbox::custom::{check, Mail};
    let contact = vec!["chairs@conf.example".to_string()];
    let samples = crate::outbox::samples::all(&long_conference(&contact));
    let mut set = crate::config::Overrides::default();
    let file = |path: &str, source: &str| crate::config::OverrideFile {
        path: std::path::PathBuf::from(path),
        source: source.into(),
    };
    set.files.insert(
        "withdrawn.txt".into(),
        file(
            "/t/withdrawn.txt",
            "Dear {{ speaker_name }},\n\n{{ title }} is gone.\n{% include \"_contact.txt\" %}",
        ),
    );
    set.files.insert(
        "ack.txt".into(),
        file(
            "/t/ack.txt",
            "Hi,\n\nthanks for {{ reference }}.\nSee you {{ speker_name }}\n",
        ),
    );
    set.files.insert(
        "_topics.txt".into(),
        file(
            "/t/_topics.txt",
            "Topics:\n{% for t in topics %}\n  {{ t }\n{% endfor %}",
        ),
    );
    let w = Withdrawn {
        conference: "Conf",
        speaker_name: "Ada",
        reference: "P-0001",
        title: "Forms",
        contact: &contact,
    };
    assert_eq!(
        w.text(&set).unwrap(),
        "Dear Ada,\n\nForms is gone.\nQuestions? Write to the program committee; a person reads it:\n  chairs@conf.example\n"
    );
    let f = check(&set, &samples);
    let shown: Vec<String> = f.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        shown
            .iter()
            .any(|e| e
                .starts_with("/t/ack.txt:4: unknown placeholder `speker_name`: this mail has ")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|e| e.starts_with("/t/_topics.txt:3: syntax error")),
        "{shown:?}"
    );
    // An override that fails at run time sends the built-in instead.
    let ack = Ack {
        conference: "Conf",
        speaker_name: "Ada",
        reference: "P-0001",
        record: vec![],
        topics: vec![],
        deadline: "soon",
        contact: &contact,
    };
    assert_eq!(ack.text(&set).unwrap(), ack.render().unwrap());
}

#[test]
fn chair_edit_and_restored_mails_name_the_change_and_a_person_within_78_characters() {
    let long = "A very long title about the Django ORM, its query planner, \
                select_related, prefetch_related and the many ways to make \
                them slower than they need to be";
    let new = Fields {
        title: Some(long.into()),
        abstract_text: Some(
            "First paragraph that goes on and on about caching layers and \
             invalidation strategies for large deployments.\n\nSecond one."
                .into(),
        ),
        // Too long for the label's line, short enough to be one line.
        description: Some(
            "What a year of htmx in production taught us about partials and caching.".into(),
        ),
        ..Default::default()
    };
    let changes: Vec<_> = record(&new, &[]).into_iter().collect();
    let contact = [
        "program-chair-with-a-long-name@conference.example.org".to_string(),
        "second.chair.with.another.long.name@university.example.edu".to_string(),
    ];
    let edit = ChairEdit {
        conference: "DjangoCon US 2099 With A Long Conference Name",
        speaker_name: "Ada Augusta King, Countess of Lovelace",
        reference: "P-0042",
        version: 3,
        changed_count: changes.len(),
        record: changes,
        contact: &contact,
    }
    .render()
    .unwrap();
    assert!(
        edit.contains("These are the parts that changed:\n\nTitle:\n  A very"),
        "{edit}"
    );
    assert!(edit.contains("now version 3"), "{edit}");
    assert!(
        edit.contains("Description:\n  What a year of htmx in production"),
        "{edit}"
    );
    assert!(edit.contains("  program-chair-with-a-long-name@"), "{edit}");
    assert!(edit.lines().all(|l| l.chars().count() <= 78), "{edit}");
    let title = wrap(&format!("\"{long}\""), 74);
    let back = Restored {
        conference: "DjangoCon",
        speaker_name: "",
        reference: "P-0042",
        title: &title,
        where_now: &wrap(restored_where(crate::model::ProposalStatus::Late), 76),
        contact: &contact,
    }
    .render()
    .unwrap();
    assert!(back.starts_with("Hello,\n\nYour proposal P-0042 is no longer withdrawn"));
    assert!(back.contains("late entry"), "{back}");
    assert!(back.contains("second.chair"), "{back}");
    assert!(back.lines().all(|l| l.chars().count() <= 78), "{back}");
}

#[test]
fn own_fields_are_echoed_to_speakers_and_shown_to_reviewers_only_when_set() {
    let mut custom = crate::proposal::custom::tests::sample();
    custom[0].label = "Pronouns, and how you would like to be introduced".into();
    let mut fields = Fields {
        title: Some("Forms".into()),
        bio: Some("I am Ada.".into()),
        ..Fields::default()
    };
    fields.custom.insert(
        "pronouns".into(),
        format!("she/her; {}", "word ".repeat(30)),
    );
    fields.custom.insert("in_person".into(), "yes".into());
    let topics = [topic("Forms", &[])];
    let ack = Ack {
        conference: "DjangoCon US 2099",
        speaker_name: "Ada Lovelace",
        reference: "P-0001",
        record: record(&fields, &custom),
        topics: speaker_topics(&topics),
        deadline: "2099-04-24 23:59 AoE",
        contact: &[],
    }
    .render()
    .unwrap();
    assert!(
        ack.contains("Pronouns, and how you would like to be introduced:\n  she/her;"),
        "{ack}"
    );
    assert!(ack.contains("Can you attend in person?: yes\n"), "{ack}");
    assert!(ack.lines().all(|l| l.chars().count() <= 78), "{ack}");
    // pronouns: reviewers = false; in_person: reviewers = true.
    let speaker = ("ada@example.org", Some("Ada"));
    let blind = reviewer_record(&fields, true, speaker, &custom);
    let labels: Vec<&str> = blind.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["Title", "Can you attend in person?"]);
    let open = reviewer_record(&fields, false, speaker, &custom);
    let labels: Vec<&str> = open.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Speaker", "Title", "Bio", "Can you attend in person?"]
    );
    // A draft asks for a missing answer by its label, within 78 columns.
    // The longest label the config allows (60 characters).
    custom[1].label = "Will you attend in person, and on which days of the meeting?".into();
    assert_eq!(custom[1].label.chars().count(), 60);
    let rules = crate::proposal::ProposalRules {
        required: vec!["title".into()],
        formats: vec![],
        audiences: vec![],
        word_limits: vec![],
        max_message_bytes: 1 << 20,
        reply_token_days: 365,
        custom: custom.clone(),
    };
    let missing = crate::proposal::missing_labels(&Fields::default(), &rules);
    assert_eq!(missing, ["Title".to_string(), custom[1].label.clone()]);
    let mut answered = Fields::default();
    answered
        .custom
        .insert("travel".into(), "as much as you can give".into());
    let problems: Vec<String> = crate::proposal::custom::problems(&answered, &custom)
        .iter()
        .map(|p| bullet(p))
        .collect();
    let draft = DraftReply {
        conference: "DjangoCon US 2099",
        speaker_name: "Ada Lovelace",
        reference: "P-0001",
        problems: &problems,
        missing_labels: missing,
        record: record(&fields, &custom),
        topics: speaker_topics(&topics),
        deadline: "2099-04-24 23:59 AoE",
        contact: &[],
    }
    .render()
    .unwrap();
    assert!(
        draft.contains(&format!("\n{}: ...\n", custom[1].label)),
        "{draft}"
    );
    assert!(
        draft.contains(
            "  - Travel support \"as much as you can give\" is not one of: none, partial,\n    full.\n"
        ),
        "{draft}"
    );
    for l in draft.lines() {
        assert!(
            l.chars().count() <= 78,
            "{} characters: {l}",
            l.chars().count()
        );
    }
}
