//! The mails cfpd writes, one askama template each (`templates/`).
//!
//! Templates are plain text (`.txt`, not HTML-escaped). Everything a speaker
//! wrote is echoed as data; headers are built by [`super::Composer`], never
//! here, so nothing in a template can inject a header.

use askama::Template;

use crate::proposal::{label, Fields, FiledTopic};
use crate::review::form::FormSpec;

/// The echo of a proposal: (label, value) pairs for the fields that are given.
pub fn record(fields: &Fields) -> Vec<(&'static str, String)> {
    crate::proposal::PROPOSAL_FIELDS
        .iter()
        .filter_map(|f| fields.get(f).map(|v| (label(f), v)))
        .map(|(l, v)| (l, fit(l, &v)))
        .collect()
}

/// A field's value as the mail shows it: on the label's line when it fits in
/// 78 characters, otherwise wrapped at 76 (the template indents it by two)
/// paragraph by paragraph. A word longer than a line (a URL) stays whole.
fn fit(label: &str, value: &str) -> String {
    let one_line = !value.contains('\n');
    if one_line && label.chars().count() + 2 + value.chars().count() <= 78 {
        return value.to_string();
    }
    let wrapped: Vec<String> = value
        .lines()
        .map(|l| {
            let opts = textwrap::Options::new(76).break_words(false);
            textwrap::fill(l.trim_end(), opts)
        })
        .collect();
    wrapped.join("\n")
}

/// Acknowledgment of a complete new proposal.
#[derive(Template)]
#[template(path = "ack.txt")]
pub struct Ack<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// What was understood.
    pub record: Vec<(&'static str, String)>,
    /// Filed-under topics.
    pub topics: &'a [FiledTopic],
    /// The deadline, formatted in the conference zone and UTC.
    pub deadline: &'a str,
}

/// Reply to an incomplete proposal, kept as a draft.
#[derive(Template)]
#[template(path = "draft.txt")]
pub struct DraftReply<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// What is missing or wrong.
    pub problems: &'a [String],
    /// Labels of the missing required fields, for the example.
    pub missing_labels: Vec<&'static str>,
    /// What was understood.
    pub record: Vec<(&'static str, String)>,
    /// Filed-under topics.
    pub topics: &'a [FiledTopic],
    /// The deadline.
    pub deadline: &'a str,
}

/// Confirmation of a speaker's update.
#[derive(Template)]
#[template(path = "updated.txt")]
pub struct Updated<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// New version number.
    pub version: i64,
    /// Remaining problems (empty when complete).
    pub problems: &'a [String],
    /// The proposal as it stands.
    pub record: Vec<(&'static str, String)>,
    /// Filed-under topics.
    pub topics: &'a [FiledTopic],
    /// The deadline.
    pub deadline: &'a str,
}

/// Reply to a proposal that arrived after the deadline (kept as a late entry).
#[derive(Template)]
#[template(path = "closed.txt")]
pub struct Closed<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// What was received.
    pub record: Vec<(&'static str, String)>,
    /// The deadline.
    pub deadline: &'a str,
}

/// Confirmation of a withdrawal.
#[derive(Template)]
#[template(path = "withdrawn.txt")]
pub struct Withdrawn<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
}

/// The template and topic list, with an optional reason for sending it.
#[derive(Template)]
#[template(path = "help.txt")]
pub struct Help<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Why the speaker gets this (e.g. "We could not find a proposal in your message.").
    pub reason: Option<&'a str>,
    /// Where to send proposals.
    pub cfp_address: &'a str,
    /// Allowed formats, joined.
    pub formats: String,
    /// Allowed audiences, joined.
    pub audiences: String,
    /// Required field labels, joined.
    pub required: String,
    /// (id, name) of every topic.
    pub topic_list: Vec<(String, String)>,
    /// The deadline.
    pub deadline: &'a str,
}

/// One review assignment, mailed to its reviewer.
#[derive(Template)]
#[template(path = "assignment.txt")]
pub struct AssignmentMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal as shown to reviewers (blind: no speaker identity).
    pub record: Vec<(&'static str, String)>,
    /// Topics it is filed under.
    pub topics: &'a [FiledTopic],
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// The review deadline (zone and UTC), when the chair has set one.
    pub review_deadline: Option<String>,
}

/// One filed topic as a speaker (or reviewer) reads it: its name and, in
/// plain words, why it is there — "you named it", or up to three of the
/// words that suggested it. The tagger's own evidence strings
/// (`declared: …`, "no topic vocabulary matched") are for chairs.
pub fn speaker_topic(t: &FiledTopic) -> String {
    use crate::topics::tagger::{CHAIR_ADDED, DECLARED_PREFIX, NOTHING_MATCHED, NOTHING_STRONG};
    let named = t.evidence.iter().any(|e| e.starts_with(DECLARED_PREFIX));
    if t.evidence.iter().any(|e| e == CHAIR_ADDED) {
        return format!("{} (added by the program chair)", t.name);
    }
    let words: Vec<&str> = t
        .evidence
        .iter()
        .filter(|e| !e.starts_with(DECLARED_PREFIX))
        .filter(|e| *e != NOTHING_MATCHED && *e != NOTHING_STRONG)
        .map(|e| e.as_str())
        .collect();
    let mut out = t.name.clone();
    if named {
        out.push_str(" (you named it)");
    } else if !words.is_empty() {
        // At most three words, and never past 72 characters (a line of the mail).
        let mut shown: Vec<&str> = Vec::new();
        for w in words.iter().take(3) {
            let next = format!("{out} (suggested by: {}, {w})", shown.join(", "));
            if next.chars().count() > 72 {
                break;
            }
            shown.push(w);
        }
        if !shown.is_empty() {
            out.push_str(&format!(" (suggested by: {})", shown.join(", ")));
        }
    }
    out
}

/// The record a reviewer sees: without bio and co-speakers when `blind`, with
/// the speaker's name and address first otherwise.
pub fn reviewer_record(
    fields: &Fields,
    blind: bool,
    speaker: (&str, Option<&str>),
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !blind {
        let who = match speaker.1 {
            Some(n) => format!("{n} <{}>", speaker.0),
            None => speaker.0.to_string(),
        };
        out.push(("Speaker", who));
    }
    out.extend(
        record(fields)
            .into_iter()
            .filter(|(l, _)| !blind || (*l != "Bio" && *l != "Co-speakers")),
    );
    out
}

/// The receipt of a recorded review: echoes exactly what was stored.
#[derive(Template)]
#[template(path = "receipt.txt")]
pub struct ReviewReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name (from the roster).
    pub reviewer_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title, so the reviewer sees which one was recorded.
    pub title: &'a str,
    /// The version just recorded (1 for the first reply).
    pub version: i64,
    /// The version it replaced and that version's score, for a revision.
    pub replaced: Option<(i64, i64)>,
    /// The recorded score.
    pub score: i64,
    /// The recorded confidence, if given.
    pub confidence: Option<i64>,
    /// The recorded comments for the speaker.
    pub comments_speaker: &'a str,
    /// The recorded comments for the committee.
    pub comments_committee: &'a str,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// Until when a revision counts (zone and UTC), if a review deadline is set.
    pub review_deadline: Option<String>,
}

/// Confirmation of a decline or a declared conflict.
#[derive(Template)]
#[template(path = "released.txt")]
pub struct ReleasedReply<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
    /// A declared conflict (remembered as such) rather than a plain decline.
    pub conflict: bool,
    /// Whether another reviewer took it over (who is never said).
    pub reassigned: bool,
}

/// The review form and how to answer, on a reviewer's `help`.
#[derive(Template)]
#[template(path = "review_help.txt")]
pub struct ReviewHelp<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// The review deadline (zone and UTC), if set.
    pub review_deadline: Option<String>,
}

/// One draft in a speaker's reminder.
#[derive(Debug, Clone)]
pub struct DraftItemView {
    /// `P-0042`.
    pub reference: String,
    /// Title, or "untitled".
    pub title: String,
    /// What is still missing or wrong.
    pub problems: Vec<String>,
    /// A fresh reply address for this draft (`cfp+<token>@…`): replies to it update the draft.
    pub address: String,
}

/// The reminder to an accepted speaker who has not answered: one mail
/// listing every such talk, each with its own reply address.
#[derive(Template)]
#[template(path = "remind_confirm.txt")]
pub struct ConfirmReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub name: Option<&'a str>,
    /// `[decisions] confirm_by` (zone and UTC).
    pub deadline: &'a str,
    /// The talks (reference, title, reply address).
    pub talks: &'a [ReviewItemView],
}

/// The reminder to a speaker with drafts: one mail listing all of them.
#[derive(Template)]
#[template(path = "remind_drafts.txt")]
pub struct DraftReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub name: Option<&'a str>,
    /// The CFP deadline, in the conference zone and UTC.
    pub deadline: &'a str,
    /// The drafts.
    pub drafts: &'a [DraftItemView],
}

/// One pending review in a reviewer's reminder.
#[derive(Debug, Clone)]
pub struct ReviewItemView {
    /// `P-0042`.
    pub reference: String,
    /// Title of the proposal.
    pub title: String,
    /// A fresh reply address bound to the reviewer and this assignment.
    pub address: String,
}

/// The reminder to a reviewer with pending reviews: one mail listing all of them.
#[derive(Template)]
#[template(path = "remind_reviews.txt")]
pub struct ReviewReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub name: Option<&'a str>,
    /// The review deadline, in the conference zone and UTC.
    pub deadline: &'a str,
    /// Worded for after the deadline.
    pub overdue: bool,
    /// The pending reviews.
    pub reviews: &'a [ReviewItemView],
    /// The score and confidence scales.
    pub scale: FormSpec,
}

/// The chairs' digest.
#[derive(Template)]
#[template(path = "digest.txt")]
pub struct DigestMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The occurrence's local date.
    pub date: &'a str,
    /// The CFP deadline, zone and UTC.
    pub cfp_deadline: &'a str,
    /// The review deadline, zone and UTC, when set.
    pub review_deadline: Option<&'a str>,
    /// Proposals in total.
    pub total: usize,
    /// `8 submitted, 3 draft, …`.
    pub by_status: &'a str,
    /// The per-topic table, header first.
    pub topic_lines: &'a [String],
    /// Pending reviews in total.
    pub pending_reviews: usize,
    /// Reviewers with at least one pending review.
    pub pending_reviewers: usize,
    /// `address: n pending`, after the review deadline only.
    pub overdue: &'a [String],
    /// Since when bounces are counted (the previous digest, or "the start").
    pub since: &'a str,
    /// One line per bounce.
    pub bounces: &'a [String],
    /// One line per declined or conflicting assignment.
    pub declines: &'a [String],
    /// `address  since  reason`: every address cfpd no longer mails.
    pub undeliverable: &'a [String],
    /// Mails that may not have arrived: `mail ID  <message-id>  to ADDRESS  subject`.
    pub uncertain: &'a [String],
    /// Accepted talks whose speaker has not answered: `P-0042  speaker  title`.
    pub unconfirmed: &'a [String],
}

/// "Last call for proposals", to an announcement address.
#[derive(Template)]
#[template(path = "last_call.txt")]
pub struct LastCallMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The CFP deadline, zone and UTC.
    pub deadline: &'a str,
    /// Where proposals go.
    pub cfp_address: &'a str,
    /// Allowed formats, joined.
    pub formats: &'a str,
    /// Allowed audiences, joined.
    pub audiences: &'a str,
    /// The address this copy goes to.
    pub recipient: &'a str,
    /// Its List-Unsubscribe address.
    pub unsubscribe: &'a str,
}

/// One proposal as the bidding mail lists it, blind: no speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct BidItemView {
    /// `P-0042`.
    pub reference: String,
    /// The title, wrapped.
    pub title: String,
    /// The format, or "not given".
    pub format: String,
    /// "Topics: …" in plain words, wrapped.
    pub topics: String,
    /// The abstract's first lines, wrapped (cut with "…"), or empty.
    pub opening: String,
}

impl BidItemView {
    /// The view of a proposal: title and topics wrapped to fit the mail's indent, and at
    /// most `lines` lines of its abstract.
    pub fn new(p: &crate::model::ProposalRow, lines: usize) -> BidItemView {
        let names: Vec<&str> = p.topics.iter().map(|t| t.name.as_str()).collect();
        let topics = if names.is_empty() {
            "Topics: none found".to_string()
        } else {
            format!("Topics: {}", names.join(", "))
        };
        let abstract_text = p.fields.abstract_text.as_deref().unwrap_or_default();
        let wrapped = wrap(abstract_text, 70);
        let mut opening_text = wrapped.lines().take(lines).collect::<Vec<_>>().join("\n");
        if wrapped.lines().count() > lines {
            opening_text.push_str(" …");
        }
        BidItemView {
            reference: p.reference(),
            title: wrap(p.fields.title.as_deref().unwrap_or("(untitled)"), 70),
            format: p
                .fields
                .format
                .clone()
                .unwrap_or_else(|| "not given".into()),
            topics: wrap(&topics, 70),
            opening: opening_text,
        }
    }
}

/// The bidding mail (`cfpd bids open`): the proposals of a reviewer's topics.
#[derive(Template)]
#[template(path = "bid_invite.txt")]
pub struct BidInvite<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, if known.
    pub reviewer_name: Option<&'a str>,
    /// The proposals, by reference.
    pub proposals: &'a [BidItemView],
    /// Where a person answers (`[conference] contact`), wrapped.
    pub contact: &'a str,
}

/// The bidding mail again, for a reviewer who has not answered
/// (`reviewers_without_bids` reminders).
#[derive(Template)]
#[template(path = "remind_bids.txt")]
pub struct BidReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, if known.
    pub name: Option<&'a str>,
    /// The review deadline as mails show it.
    pub deadline: &'a str,
    /// The proposals, by reference.
    pub proposals: &'a [BidItemView],
    /// Where a person answers, wrapped.
    pub contact: &'a str,
}

/// What a reply to the bidding mail recorded.
#[derive(Template)]
#[template(path = "bid_receipt.txt")]
pub struct BidReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, if known.
    pub reviewer_name: Option<&'a str>,
    /// One line per recorded bid (`P-0003: yes  Title`), each within the mail's width.
    pub recorded: &'a [String],
    /// What was not understood, each wrapped.
    pub problems: &'a [String],
    /// Where a person answers, wrapped.
    pub contact: &'a str,
}

/// A receipt line for one bid: `P-0003: yes — Title` within 76 characters.
pub fn bid_line(reference: &str, kind: crate::model::BidKind, title: &str) -> String {
    let head = format!("{reference}: {}", kind.as_str());
    format!("{head:<18} {}", short_title(title, 76 - 2 - 19))
}

#[cfg(test)]
mod tests {
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
        let r = record(&fields);
        let get = |l: &str| r.iter().find(|(k, _)| k.starts_with(l)).unwrap().1.clone();
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
        let deadline = Some("2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)".to_string());
        let topics = [topic("Database", &["declared: database"])];
        let assignment = AssignmentMail {
            conference: "DjangoCon US 2099",
            reviewer_name: Some("Rita Reviewer-Longname"),
            reference: "P-0042",
            record: record(&fields),
            topics: &topics,
            scale,
            review_deadline: deadline.clone(),
        }
        .render()
        .unwrap();
        let help = ReviewHelp {
            conference: "DjangoCon US 2099",
            reviewer_name: Some("Rita"),
            reference: "P-0042",
            title: "Forms",
            scale,
            review_deadline: deadline,
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
            name: Some("Rita"),
            deadline: "2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)",
            overdue: true,
            reviews: &items,
            scale,
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
        let contact = wrap(
            &["chair-with-a-long-name@conference.example.org"; 3].join(", "),
            74,
        );
        let invite = BidInvite {
            conference: "DjangoCon US 2099 Conference",
            reviewer_name: Some("Rita Reviewer-Longname"),
            proposals: &items,
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
            reviewer_name: None,
            recorded: &recorded,
            problems: &problems,
            contact: &contact,
        }
        .render()
        .unwrap();
        let reminder = BidReminderMail {
            conference: "DjangoCon US 2099 Conference",
            name: Some("Rita Reviewer-Longname"),
            deadline: "2099-05-20 23:59 AoE (2099-05-21 11:59 UTC)",
            proposals: &items,
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
            speaker_name: Some("Ada Lovelace"),
            reference: "P-0001",
            record: vec![("Title", "Forms".into())],
            topics: &topics,
            deadline: "2099-04-24 23:59 AoE",
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
    }
}

/// How a decision reads in a sentence to a speaker ("your proposal was …").
pub fn decision_phrase(d: crate::model::Decision) -> &'static str {
    match d {
        crate::model::Decision::Accepted => "accepted",
        crate::model::Decision::Waitlisted => "put on the waiting list",
        crate::model::Decision::Rejected => "not accepted",
    }
}

/// Break text at spaces so no line is longer than `width` (a word longer
/// than that stays whole): titles and address lists in decision mails, so
/// every line stays readable in any mail client.
pub fn wrap(text: &str, width: usize) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    textwrap::fill(&words, textwrap::Options::new(width).break_words(false))
}

/// A title on one line, at most `max` characters (cut with "…"), for list
/// lines in mails to the chairs that must stay within 78 characters.
pub fn short_title(title: &str, max: usize) -> String {
    super::clamp(&super::one_line(title), max)
}

/// A chair's decision, told to a speaker or co-speaker (`cfpd notify
/// --send`). One struct for the three decision templates, which differ in
/// what they say, not in what they need.
pub struct DecisionMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The recipient's display name (the speaker's; co-speakers have none).
    pub name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title in quotes, wrapped to fit an indented line.
    pub title: &'a str,
    /// For a co-speaker: who submitted it.
    pub submitted_by: Option<&'a str>,
    /// The decision told before, in words, when this one replaces it.
    pub previous: Option<&'static str>,
    /// The reviewers' comments for the speaker, without names (empty when
    /// the conference does not share them, or nobody wrote any).
    pub comments: &'a [String],
    /// Whom to write to: the chairs' addresses (or the CFP address),
    /// wrapped to fit an indented line.
    pub contact: &'a str,
    /// `[decisions] confirm_by`, as the speaker reads it, if set.
    pub confirm_by: Option<&'a str>,
}

/// `decision_accepted.txt`.
#[derive(Template)]
#[template(path = "decision_accepted.txt")]
pub struct DecisionAccepted<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
}

/// `decision_waitlisted.txt`.
#[derive(Template)]
#[template(path = "decision_waitlisted.txt")]
pub struct DecisionWaitlisted<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
}

/// `decision_rejected.txt`.
#[derive(Template)]
#[template(path = "decision_rejected.txt")]
pub struct DecisionRejected<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
}

impl DecisionMail<'_> {
    /// The text of the mail for `decision`.
    pub fn render(&self, decision: crate::model::Decision) -> askama::Result<String> {
        use crate::model::Decision;
        match decision {
            Decision::Accepted => DecisionAccepted { m: self }.render(),
            Decision::Waitlisted => DecisionWaitlisted { m: self }.render(),
            Decision::Rejected => DecisionRejected { m: self }.render(),
        }
    }
}

/// The receipt of an accepted speaker's confirm or decline.
pub struct ConfirmationReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: Option<&'a str>,
    /// `P-0042`.
    pub reference: &'a str,
    /// The title in quotes, wrapped to fit an indented line.
    pub title: &'a str,
    /// The chairs' addresses (or the CFP address), wrapped.
    pub contact: &'a str,
}

/// `confirmed.txt`.
#[derive(Template)]
#[template(path = "confirmed.txt")]
struct Confirmed<'a> {
    m: &'a ConfirmationReceipt<'a>,
}

/// `declined.txt`.
#[derive(Template)]
#[template(path = "declined.txt")]
struct Declined<'a> {
    m: &'a ConfirmationReceipt<'a>,
}

impl ConfirmationReceipt<'_> {
    /// The receipt of a confirmation.
    pub fn confirmed(&self) -> askama::Result<String> {
        Confirmed { m: self }.render()
    }

    /// The receipt of a decline.
    pub fn declined(&self) -> askama::Result<String> {
        Declined { m: self }.render()
    }
}

/// To the chairs: an accepted talk dropped out, and the waitlisted talk
/// proposed (or promoted) in its place.
#[derive(Template)]
#[template(path = "promotion.txt")]
pub struct PromotionMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The talk that dropped out (`P-0042`).
    pub dropped: &'a str,
    /// Its title.
    pub dropped_title: &'a str,
    /// Why (declined by its speaker, withdrawn).
    pub why: &'a str,
    /// The candidate, `P-0043 "Title" (mean score 4.5)`, if any.
    pub candidate: Option<&'a str>,
    /// The candidate's reference, for the command to type.
    pub candidate_ref: &'a str,
    /// It was accepted already (`promote = "auto"`).
    pub promoted: bool,
}

/// Step one of a chair's decisions by mail: what was understood.
#[derive(Template)]
#[template(path = "chair_understood.txt")]
pub struct ChairUnderstood<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// `accept P-0001 "Title"`, one per decision that may be made.
    pub understood: &'a [String],
    /// Refusals, each naming its proposal.
    pub refused: &'a [String],
    /// Lines that could not be read.
    pub unreadable: &'a [String],
}

/// Step two: what was recorded.
#[derive(Template)]
#[template(path = "chair_decided.txt")]
pub struct ChairDecided<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// `accept P-0001 "Title"`, one per decision recorded.
    pub recorded: &'a [String],
    /// What could no longer be decided.
    pub refused: &'a [String],
}

impl ChairUnderstood<'_> {
    /// The text (a template error is shown in the mail rather than lost).
    pub fn render_text(&self) -> String {
        self.render()
            .unwrap_or_else(|e| format!("(template error: {e})"))
    }
}

impl ChairDecided<'_> {
    /// The text (a template error is shown in the mail rather than lost).
    pub fn render_text(&self) -> String {
        self.render()
            .unwrap_or_else(|e| format!("(template error: {e})"))
    }
}

/// `cfpd decide --request`: the address a chair decides by mail through.
#[derive(Template)]
#[template(path = "chair_request.txt")]
pub struct ChairRequestMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The chair it is for (the only sender it accepts).
    pub chair: &'a str,
    /// `P-0001 "Title"`, submitted proposals without a decision.
    pub undecided: &'a [String],
    /// `P-0003 "Title"`, waitlisted proposals.
    pub waitlisted: &'a [String],
}

/// Where a person answers (`[conference] contact`, else the CFP address),
/// wrapped for a two-space indent.
pub fn contact_text(contact: &[String], cfp_address: &str) -> String {
    if contact.is_empty() {
        cfp_address.to_string()
    } else {
        wrap(&contact.join(", "), 74)
    }
}
