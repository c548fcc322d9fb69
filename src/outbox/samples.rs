//! Every mail template filled with realistic, long data: what `cfpd check`
//! renders a chair's overrides with, and what the unit tests render the
//! built-ins with (every line within 78 characters, the contact named,
//! askama and minijinja byte-identical). The refusals' samples are in
//! `intake::reject` (`Rejection::examples`), which this module cannot see.

use super::custom::{sample, Sample};
use super::templates::*;
use crate::proposal::{Fields, FiledTopic};
use crate::review::form::FormSpec;

/// The facts of the conference a sample uses.
pub struct SampleConference<'a> {
    /// `[conference] name`.
    pub name: &'a str,
    /// `[conference] cfp_address`.
    pub cfp_address: &'a str,
    /// `[conference] contact`.
    pub contact: &'a [String],
    /// The review form's scales.
    pub scale: FormSpec,
}

const DEADLINE: &str = "2099-04-24 23:59 AoE (2099-04-25 11:59 UTC)";
const SPEAKER: &str = "Ada Augusta King-Noel, Countess of Lovelace";
const REVIEWER: &str = "Rita Reviewer-Longname von Hohenzollern";
const TITLE: &str = "Forms without tears: a field guide to Django forms, formsets and \
     validation in 2099";
const ADDRESS: &str = "cfp+abcdefghijklmnopqrstuvwxyz234567@call-for-proposals.example.org";

/// A long proposal, every field given.
pub fn sample_fields() -> Fields {
    Fields {
        title: Some(TITLE.into()),
        format: Some("talk-25".into()),
        audience: Some("intermediate".into()),
        topics: Some(vec!["database".into(), "forms".into()]),
        abstract_text: Some(
            "We build interactive pages with htmx and Alpine.js instead of a \
             single-page application, and show how far server-rendered Django \
             templates go before a SPA pays for itself.\n\nA second paragraph \
             about formsets, inline validation and the accessibility of error \
             messages that screen readers announce."
                .into(),
        ),
        description: Some(
            "1. Why forms hurt (5 min)\n2. Formsets without JavaScript (10 min)\n\
             3. Validation that users understand, with examples from a production \
             application serving two million requests a day (10 min)"
                .into(),
        ),
        notes: Some(format!(
            "Slides: https://slides.example.org/{}",
            "forms-without-tears-".repeat(4)
        )),
        bio: Some(
            "Ada writes software for the analytical engine and has spoken at \
             many conferences about forms, their validation and their users."
                .into(),
        ),
        co_speakers: Some(vec![
            "charles.babbage@difference-engine.example.org".into(),
            "mary.somerville@royal-society.example.org".into(),
        ]),
        custom: Default::default(),
    }
}

fn sample_topics() -> Vec<String> {
    speaker_topics(&[
        FiledTopic {
            id: "database".into(),
            name: "Databases and the ORM".into(),
            score: 3.0,
            evidence: vec!["declared: database".into(), "select_related".into()],
        },
        FiledTopic {
            id: "performance".into(),
            name: "Performance and scaling".into(),
            score: 1.5,
            evidence: vec![
                "caching".into(),
                "query optimisation for very large setups".into(),
            ],
        },
    ])
}

fn lines(prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("P-00{i:02}  {prefix} {}", short_title(TITLE, 40)))
        .collect()
}

/// One sample of every template in `outbox::templates`, with the
/// branches a chair's override is most likely to get wrong (a name or
/// none, one item or several, a first review or a revision).
pub fn all(c: &SampleConference<'_>) -> Vec<Sample> {
    let mut out = speaker_samples(c);
    out.extend(reviewer_samples(c));
    out.extend(decision_samples(c));
    out.extend(chair_samples(c));
    out.extend(desk_samples(c));
    out.extend(bid_samples(c));
    out
}

fn speaker_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    let fields = sample_fields();
    let problems = vec![
        "Abstract is missing: one paragraph that says what the talk is about.".to_string(),
        "Format \"workshop-90\" is not one of: talk-25, talk-45, lightning.".to_string(),
    ];
    let mut out = Vec::new();
    for name in [SPEAKER, ""] {
        out.push(sample(&Ack {
            conference: c.name,
            speaker_name: name,
            reference: "P-0042",
            record: record(&fields, &[]),
            topics: sample_topics(),
            deadline: DEADLINE,
            contact: c.contact,
        }));
    }
    out.push(sample(&Ack {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        record: record(&fields, &[]),
        topics: vec![],
        deadline: DEADLINE,
        contact: c.contact,
    }));
    out.push(sample(&DraftReply {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        problems: &problems,
        missing_labels: vec!["Abstract".into(), "Format".into()],
        record: record(&fields, &[]),
        topics: sample_topics(),
        deadline: DEADLINE,
        contact: c.contact,
    }));
    for p in [&problems[..], &[]] {
        out.push(sample(&Updated {
            conference: c.name,
            speaker_name: SPEAKER,
            reference: "P-0042",
            version: 3,
            problems: p,
            record: record(&fields, &[]),
            topics: sample_topics(),
            deadline: DEADLINE,
            contact: c.contact,
        }));
    }
    out.push(sample(&Closed {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        record: record(&fields, &[]),
        deadline: DEADLINE,
        contact: c.contact,
    }));
    out.push(sample(&Withdrawn {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        title: &quoted(TITLE),
        contact: c.contact,
    }));
    for reason in ["We could not find a proposal in your message.", ""] {
        out.push(sample(&Help {
            conference: c.name,
            reason,
            cfp_address: c.cfp_address,
            formats: "talk-25 | talk-45 | lightning".into(),
            audiences: "beginner | intermediate | advanced".into(),
            required: "Title, Format, Abstract".into(),
            topic_list: vec![
                TopicLine {
                    id: "database".into(),
                    name: "Databases and the ORM".into(),
                },
                TopicLine {
                    id: "frontend".into(),
                    name: "Frontend, templates and htmx".into(),
                },
            ],
            deadline: DEADLINE,
            contact: c.contact,
        }));
    }
    let drafts = [
        DraftItemView {
            reference: "P-0042".into(),
            title: short_title(TITLE, 60),
            problems: problems.clone(),
            address: ADDRESS.into(),
        },
        DraftItemView {
            reference: "P-0043".into(),
            title: "untitled".into(),
            problems: problems.clone(),
            address: ADDRESS.into(),
        },
    ];
    for n in [1, 2] {
        out.push(sample(&DraftReminderMail {
            conference: c.name,
            name: SPEAKER,
            deadline: DEADLINE,
            drafts: &drafts[..n],
            count: n,
            contact: c.contact,
        }));
    }
    let talks = [
        ReviewItemView {
            reference: "P-0042".into(),
            title: short_title(TITLE, 60),
            address: ADDRESS.into(),
        },
        ReviewItemView {
            reference: "P-0043".into(),
            title: short_title(TITLE, 60),
            address: ADDRESS.into(),
        },
    ];
    for n in [1, 2] {
        out.push(sample(&ConfirmReminderMail {
            conference: c.name,
            name: SPEAKER,
            deadline: DEADLINE,
            talks: &talks[..n],
            count: n,
            contact: c.contact,
        }));
    }
    out.push(sample(&LastCallMail {
        conference: c.name,
        deadline: DEADLINE,
        cfp_address: c.cfp_address,
        formats: "talk-25 | talk-45 | lightning",
        audiences: "beginner | intermediate | advanced",
        recipient: "announce@lists.djangocon-us-2099.example.org",
        unsubscribe: ADDRESS,
        contact: c.contact,
    }));
    out
}

fn reviewer_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    let fields = sample_fields();
    let mut out = Vec::new();
    for (blind, deadline) in [(true, DEADLINE), (false, "")] {
        out.push(sample(&AssignmentMail {
            conference: c.name,
            reviewer_name: REVIEWER,
            reference: "P-0042",
            record: reviewer_record(
                &fields,
                blind,
                ("ada@analytical-engine.example.org", Some(SPEAKER)),
                &[],
            ),
            topics: sample_topics(),
            scale: c.scale,
            review_deadline: deadline.into(),
            contact: c.contact,
        }));
    }
    for (replaced, confidence) in [(0, ""), (1, "2")] {
        out.push(sample(&ReviewReceipt {
            conference: c.name,
            reviewer_name: REVIEWER,
            reference: "P-0042",
            title: &quoted(TITLE),
            version: replaced + 1,
            replaced_version: replaced,
            replaced_score: if replaced > 0 { 3 } else { 0 },
            score: 4,
            confidence: confidence.into(),
            comments_speaker: if replaced > 0 {
                "A clear outline; the second part could use a live demo.\nThank you!"
            } else {
                ""
            },
            comments_committee: "Solid, fits the intermediate track.",
            scale: c.scale,
            review_deadline: DEADLINE.into(),
            contact: c.contact,
        }));
    }
    for (conflict, reassigned) in [(true, true), (false, false)] {
        out.push(sample(&ReleasedReply {
            conference: c.name,
            reviewer_name: REVIEWER,
            reference: "P-0042",
            title: &quoted(TITLE),
            conflict,
            reassigned,
            contact: c.contact,
        }));
    }
    out.push(sample(&ReviewHelp {
        conference: c.name,
        reviewer_name: REVIEWER,
        reference: "P-0042",
        title: &quoted(TITLE),
        scale: c.scale,
        review_deadline: DEADLINE.into(),
        contact: c.contact,
    }));
    let items = [
        ReviewItemView {
            reference: "P-0042".into(),
            title: short_title(TITLE, 60),
            address: ADDRESS.into(),
        },
        ReviewItemView {
            reference: "P-0043".into(),
            title: short_title(TITLE, 60),
            address: ADDRESS.into(),
        },
    ];
    for (n, overdue) in [(1, false), (2, true)] {
        out.push(sample(&ReviewReminderMail {
            conference: c.name,
            name: REVIEWER,
            deadline: DEADLINE,
            overdue,
            reviews: &items[..n],
            count: n,
            scale: c.scale,
            contact: c.contact,
        }));
    }
    out
}

fn decision_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    use crate::model::Decision;
    let title = wrap(&format!("\"{TITLE}\""), 74);
    let comments = vec![
        comment_block(
            "A clear outline; the second part could use a live demo. We would \
             love to see the formset example from your blog post.",
        ),
        comment_block("Thank you!"),
    ];
    let mut out = Vec::new();
    for (co, previous) in [(false, ""), (true, "put on the waiting list")] {
        let m = DecisionMail {
            conference: c.name,
            name: if co { "" } else { SPEAKER },
            reference: "P-0042",
            title: &title,
            submitted_by: if co {
                "Ada Lovelace <ada@analytical-engine.example.org>"
            } else {
                ""
            },
            previous,
            comments: if co { &[] } else { &comments },
            contact: c.contact,
            confirm_by: DEADLINE,
        };
        for d in [Decision::Accepted, Decision::Waitlisted, Decision::Rejected] {
            out.push(match d {
                Decision::Accepted => sample(&DecisionAccepted {
                    m: &m,
                    contact: c.contact,
                }),
                Decision::Waitlisted => sample(&DecisionWaitlisted {
                    m: &m,
                    contact: c.contact,
                }),
                Decision::Rejected => sample(&DecisionRejected {
                    m: &m,
                    contact: c.contact,
                }),
            });
        }
    }
    let r = ConfirmationReceipt {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        title: &title,
        contact: c.contact,
    };
    out.push(r.sample_confirmed());
    out.push(r.sample_declined());
    out
}

fn chair_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    let mut out = Vec::new();
    let (some, none): (Vec<String>, Vec<String>) = (lines("accept", 3), vec![]);
    let topic_lines = vec![
        "  topic                      proposals  reviewed".to_string(),
        "  Databases and the ORM              12         9".to_string(),
    ];
    let needs = vec![
        "  - 2 late proposal(s) wait for a decision. Take one into review".to_string(),
        "    with `cfpd proposals accept-late P-…`, or decide it:".to_string(),
        crate::outbox::clamp(
            &format!("      P-0031  Forms without tears: a field guide to Dj…  ({SPEAKER})"),
            78,
        ),
    ];
    for full in [true, false] {
        let l = if full { &some } else { &none };
        out.push(sample(&DigestMail {
            needs: if full { &needs } else { &[] },
            conference: c.name,
            date: "2099-04-20",
            cfp_deadline: DEADLINE,
            review_deadline: if full { DEADLINE } else { "" },
            total: 31,
            by_status: if full { "28 submitted, 3 draft" } else { "" },
            topic_lines: if full { &topic_lines } else { &none },
            pending_reviews: if full { 12 } else { 0 },
            pending_reviewers: if full { 5 } else { 0 },
            overdue: l,
            since: "2099-04-19 08:00 AoE",
            bounces: l,
            bounces_count: l.len(),
            declines: l,
            declines_count: l.len(),
            undeliverable: l,
            undeliverable_count: l.len(),
            uncertain: l,
            uncertain_count: l.len(),
            unconfirmed: l,
            unconfirmed_count: l.len(),
            contact: c.contact,
        }));
    }
    for (candidate, promoted) in [
        ("P-0043 \"Second best\" (mean score 4.5)", true),
        ("P-0043 \"Second best\" (mean score 4.5)", false),
        ("", false),
    ] {
        out.push(sample(&PromotionMail {
            conference: c.name,
            dropped: "P-0042",
            dropped_title: &short_title(TITLE, 40),
            why: "declined by its speaker",
            candidate,
            candidate_ref: "P-0043",
            promoted,
            contact: c.contact,
        }));
    }
    out.push(sample(&ChairUnderstood {
        conference: c.name,
        understood: &some,
        refused: &some,
        unreadable: &some,
        contact: c.contact,
    }));
    for l in [&some, &none] {
        out.push(sample(&ChairDecided {
            conference: c.name,
            recorded: l,
            recorded_count: l.len(),
            refused: &some,
            contact: c.contact,
        }));
    }
    out.push(sample(&ChairRequestMail {
        conference: c.name,
        chair: "program-chair@djangocon-us-2099.example.org",
        undecided: &some,
        waitlisted: &some,
        contact: c.contact,
    }));
    out
}

/// The mails about a chair's change and a person's answer.
fn desk_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut changed = record(&sample_fields(), &[]);
    changed.truncate(2);
    out.push(sample(&ChairEdit {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        version: 3,
        changed_count: changed.len(),
        record: changed,
        contact: c.contact,
    }));
    out.push(sample(&Restored {
        conference: c.name,
        speaker_name: SPEAKER,
        reference: "P-0042",
        title: &quoted(TITLE),
        where_now: &wrap(restored_where(crate::model::ProposalStatus::Late), 76),
        contact: c.contact,
    }));
    for (reference, suggest_help) in [("P-0042", false), ("", true)] {
        out.push(sample(&PersonWillAnswer {
            conference: c.name,
            name: SPEAKER,
            reference,
            why: "It has no labelled fields (such as \"Title:\") to change in your\n\
                  proposal, so nothing was changed, and the program that keeps\n\
                  the proposals cannot answer it by itself.",
            suggest_help,
            contact: c.contact,
        }));
    }
    let items = vec![
        ForwardItem {
            head: format!("From:     {SPEAKER}\nSubject:  Re: P-0042 received\nAbout:    P-0042"),
            quoted: "> Can I present remotely? I cannot travel in April.\n>\n> Ada".into(),
        },
        ForwardItem {
            head: format!("From:     {SPEAKER}\nSubject:  Re: P-0042 received"),
            quoted: "> And may my co-speaker join by video?".into(),
        },
    ];
    out.push(sample(&Forward {
        conference: c.name,
        count: items.len(),
        items,
        contact: c.contact,
    }));
    out
}

/// The bidding mails.
fn bid_samples(c: &SampleConference<'_>) -> Vec<Sample> {
    let mut out = Vec::new();
    let bid_items: Vec<BidItemView> = (1..=3)
        .map(|i| BidItemView {
            reference: format!("P-00{i}7"),
            title: wrap(TITLE, 70),
            format: "talk-25".into(),
            topics: wrap("Topics: Databases and the ORM, Performance and scaling", 70),
            opening: "We build interactive pages with htmx and Alpine.js instead of a\n\
                      single-page application, and show how far server-rendered …"
                .into(),
        })
        .collect();
    out.push(sample(&BidInvite {
        conference: c.name,
        reviewer_name: REVIEWER,
        proposals: &bid_items,
        count: bid_items.len(),
        contact: c.contact,
    }));
    out.push(sample(&BidReminderMail {
        conference: c.name,
        name: REVIEWER,
        deadline: DEADLINE,
        proposals: &bid_items,
        count: bid_items.len(),
        contact: c.contact,
    }));
    let recorded = vec![
        bid_line("P-0017", crate::model::BidKind::Yes, TITLE),
        bid_line("P-0027", crate::model::BidKind::Conflict, TITLE),
    ];
    for problems in [
        vec![],
        vec![wrap(
            "\"P-0004 please\": start the line with yes, maybe, no or conflict",
            72,
        )],
    ] {
        out.push(sample(&BidReceipt {
            conference: c.name,
            reviewer_name: REVIEWER,
            recorded: &recorded,
            problems: &problems,
            contact: c.contact,
        }));
    }
    out
}
