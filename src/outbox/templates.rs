//! The mails cfpd writes, one askama template each (`templates/`).
//!
//! Templates are plain text (`.txt`, not HTML-escaped). Everything a speaker
//! wrote is echoed as data; headers are built by [`super::Composer`], never
//! here, so nothing in a template can inject a header.

use askama::Template;
use serde::Serialize;

use crate::mail;
use crate::proposal::{custom, label, CustomField, Fields, FiledTopic};
use crate::review::form::FormSpec;

/// One field of a proposal as a mail echoes it (`_record.txt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordLine {
    /// `Title`, `Abstract`, …, or the label of one of the conference's own
    /// fields.
    pub label: String,
    /// The value, wrapped to fit (see `fit`).
    pub value: String,
    /// The value has several lines, so it goes below its label, indented.
    pub multiline: bool,
}

impl RecordLine {
    /// A line of the record.
    pub fn new(label: impl Into<String>, value: String) -> RecordLine {
        let label = label.into();
        // Below the label when it has several lines or when it would not
        // fit beside it: a one-line value of up to 76 characters fits the
        // indented line but not always the label's.
        let multiline =
            value.contains('\n') || label.chars().count() + 2 + value.chars().count() > 78;
        RecordLine {
            label,
            multiline,
            value,
        }
    }
}

/// The echo of a proposal: the fields that are given, the built-in ones
/// first, then the conference's own (`custom`), each fitted to 78
/// characters.
pub fn record(fields: &Fields, custom: &[CustomField]) -> Vec<RecordLine> {
    crate::proposal::PROPOSAL_FIELDS
        .iter()
        .filter_map(|f| fields.get(f).map(|v| (label(f).to_string(), v)))
        .chain(custom::answers(fields, custom))
        .map(|(l, v)| {
            let v = fit(&l, &v);
            RecordLine::new(l, v)
        })
        .collect()
}

/// A problem as a template's bullet ("  - " before it) shows it: wrapped
/// within 78 characters, its further lines indented under the first word
/// (a long label of the conference's own fields makes long sentences).
pub fn bullet(problem: &str) -> String {
    let opts = textwrap::Options::new(78)
        .initial_indent("  - ")
        .subsequent_indent("    ")
        .break_words(false);
    let filled = textwrap::fill(problem, opts);
    filled
        .strip_prefix("  - ")
        .map_or(filled.clone(), str::to_string)
}

/// The filed topics as speakers and reviewers read them ([`speaker_topic`]).
pub fn speaker_topics(topics: &[FiledTopic]) -> Vec<String> {
    topics.iter().map(speaker_topic).collect()
}

/// One topic of the list in the help mail.
#[derive(Debug, Clone, Serialize)]
pub struct TopicLine {
    /// Its id (`database`).
    pub id: String,
    /// Its name (`Databases and the ORM`).
    pub name: String,
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
#[derive(Template, Serialize)]
#[template(path = "ack.txt")]
pub struct Ack<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// What was understood.
    pub record: Vec<RecordLine>,
    /// Filed-under topics.
    pub topics: Vec<String>,
    /// The deadline, formatted in the conference zone and UTC.
    pub deadline: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Reply to an incomplete proposal, kept as a draft.
#[derive(Template, Serialize)]
#[template(path = "draft.txt")]
pub struct DraftReply<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// What is missing or wrong.
    pub problems: &'a [String],
    /// Labels of the missing required fields, for the example.
    pub missing_labels: Vec<String>,
    /// What was understood.
    pub record: Vec<RecordLine>,
    /// Filed-under topics.
    pub topics: Vec<String>,
    /// The deadline.
    pub deadline: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Confirmation of a speaker's update.
#[derive(Template, Serialize)]
#[template(path = "updated.txt")]
pub struct Updated<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// New version number.
    pub version: i64,
    /// Remaining problems (empty when complete).
    pub problems: &'a [String],
    /// The proposal as it stands.
    pub record: Vec<RecordLine>,
    /// Filed-under topics.
    pub topics: Vec<String>,
    /// The deadline.
    pub deadline: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// A speaker told what a chair changed in their proposal
/// (`cfpd proposals edit`).
#[derive(Template, Serialize)]
#[template(path = "chair_edit.txt")]
pub struct ChairEdit<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name, `""` when unknown.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The new version number.
    pub version: i64,
    /// The changed fields as they read now ([`record`] of the new version,
    /// only the fields that changed).
    pub record: Vec<RecordLine>,
    /// How many fields changed (`record.len()`: the template engines share no
    /// length filter).
    pub changed_count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// A speaker told their withdrawn proposal is back (`cfpd proposals
/// restore`).
#[derive(Template, Serialize)]
#[template(path = "restored.txt")]
pub struct Restored<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name, `""` when unknown.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The title in quotes, wrapped to fit an indented line.
    pub title: &'a str,
    /// Where the proposal is now, in a sentence or two, wrapped.
    pub where_now: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The sender of mail cfpd cannot act on but a person wrote: it went to
/// the contact, and a person will answer (`intake::decide::person`).
#[derive(Template, Serialize)]
#[template(path = "person_will_answer.txt")]
pub struct PersonWillAnswer<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The sender's display name, `""` when unknown.
    pub name: &'a str,
    /// `P-0042` when the mail is about a proposal, else `""`.
    pub reference: &'a str,
    /// Why cfpd could not act on it, in a sentence for the sender.
    pub why: &'a str,
    /// A person's question to the CFP address that is not a proposal: say
    /// how to get the form, in case it was meant as one.
    pub suggest_help: bool,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// One message's block in `forward.txt`.
#[derive(Debug, Clone, Serialize)]
pub struct ForwardItem {
    /// `From:`, `Subject:`, `Received:`, `About:`, `Why:` lines.
    pub head: String,
    /// Their text, quoted with `> ` within 78 columns.
    pub quoted: String,
}

/// The contact's copy of one thread of mail a person wrote and cfpd cannot
/// act on; its Reply-To is the sender.
#[derive(Template, Serialize)]
#[template(path = "forward.txt")]
pub struct Forward<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The messages, oldest first.
    pub items: Vec<ForwardItem>,
    /// How many (`items.len()`).
    pub count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Reply to a proposal that arrived after the deadline (kept as a late entry).
#[derive(Template, Serialize)]
#[template(path = "closed.txt")]
pub struct Closed<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// What was received.
    pub record: Vec<RecordLine>,
    /// The deadline.
    pub deadline: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Confirmation of a withdrawal.
#[derive(Template, Serialize)]
#[template(path = "withdrawn.txt")]
pub struct Withdrawn<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The template and topic list, with an optional reason for sending it.
#[derive(Template, Serialize)]
#[template(path = "help.txt")]
pub struct Help<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Why the speaker gets this (e.g. "We could not find a proposal in your message.").
    pub reason: &'a str,
    /// Where to send proposals.
    pub cfp_address: &'a str,
    /// Allowed formats, joined.
    pub formats: String,
    /// Allowed audiences, joined.
    pub audiences: String,
    /// Required field labels, joined.
    pub required: String,
    /// (id, name) of every topic.
    pub topic_list: Vec<TopicLine>,
    /// The deadline.
    pub deadline: &'a str,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// One review assignment, mailed to its reviewer.
#[derive(Template, Serialize)]
#[template(path = "assignment.txt")]
pub struct AssignmentMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal as shown to reviewers (blind: no speaker identity).
    pub record: Vec<RecordLine>,
    /// Topics it is filed under.
    pub topics: Vec<String>,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// The review deadline (zone and UTC), when the chair has set one.
    pub review_deadline: String,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
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
/// the speaker's name and address first otherwise; of the conference's own
/// fields only those configured for reviewers (`reviewers`, which under
/// blind review only the chair's explicit `true` sets).
pub fn reviewer_record(
    fields: &Fields,
    blind: bool,
    speaker: (&str, Option<&str>),
    custom: &[CustomField],
) -> Vec<RecordLine> {
    let mut out = Vec::new();
    if !blind {
        let who = match speaker.1 {
            Some(n) => format!("{n} <{}>", speaker.0),
            None => speaker.0.to_string(),
        };
        out.push(RecordLine::new("Speaker", fit("Speaker", &who)));
    }
    let shown: Vec<CustomField> = custom.iter().filter(|c| c.reviewers).cloned().collect();
    let mut visible = fields.clone();
    visible
        .custom
        .retain(|k, _| shown.iter().any(|c| &c.name == k));
    out.extend(
        record(&visible, &shown)
            .into_iter()
            .filter(|r| !blind || (r.label != "Bio" && r.label != "Co-speakers")),
    );
    out
}

/// The receipt of a recorded review: echoes exactly what was stored.
#[derive(Template, Serialize)]
#[template(path = "receipt.txt")]
pub struct ReviewReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name (from the roster).
    pub reviewer_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title, so the reviewer sees which one was recorded.
    pub title: &'a str,
    /// The version just recorded (1 for the first reply).
    pub version: i64,
    /// The version it replaced, for a revision (0 for a first review).
    pub replaced_version: i64,
    /// That version's score (0 for a first review).
    pub replaced_score: i64,
    /// The recorded score.
    pub score: i64,
    /// The recorded confidence, empty when not given.
    pub confidence: String,
    /// The recorded comments for the speaker.
    pub comments_speaker: &'a str,
    /// The recorded comments for the committee.
    pub comments_committee: &'a str,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// Until when a revision counts (zone and UTC), if a review deadline is set.
    pub review_deadline: String,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Confirmation of a decline or a declared conflict.
#[derive(Template, Serialize)]
#[template(path = "released.txt")]
pub struct ReleasedReply<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
    /// A declared conflict (remembered as such) rather than a plain decline.
    pub conflict: bool,
    /// Whether another reviewer took it over (who is never said).
    pub reassigned: bool,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The review form and how to answer, on a reviewer's `help`.
#[derive(Template, Serialize)]
#[template(path = "review_help.txt")]
pub struct ReviewHelp<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub reviewer_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title.
    pub title: &'a str,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// The review deadline (zone and UTC), if set.
    pub review_deadline: String,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// One draft in a speaker's reminder.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Template, Serialize)]
#[template(path = "remind_confirm.txt")]
pub struct ConfirmReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub name: &'a str,
    /// `[decisions] confirm_by` (zone and UTC).
    pub deadline: &'a str,
    /// The talks (reference, title, reply address).
    pub talks: &'a [ReviewItemView],
    /// How many talks.
    pub count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The reminder to a speaker with drafts: one mail listing all of them.
#[derive(Template, Serialize)]
#[template(path = "remind_drafts.txt")]
pub struct DraftReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub name: &'a str,
    /// The CFP deadline, in the conference zone and UTC.
    pub deadline: &'a str,
    /// The drafts.
    pub drafts: &'a [DraftItemView],
    /// How many drafts.
    pub count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// One pending review in a reviewer's reminder.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItemView {
    /// `P-0042`.
    pub reference: String,
    /// Title of the proposal.
    pub title: String,
    /// A fresh reply address bound to the reviewer and this assignment.
    pub address: String,
}

/// The reminder to a reviewer with pending reviews: one mail listing all of them.
#[derive(Template, Serialize)]
#[template(path = "remind_reviews.txt")]
pub struct ReviewReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's display name.
    pub name: &'a str,
    /// The review deadline, in the conference zone and UTC.
    pub deadline: &'a str,
    /// Worded for after the deadline.
    pub overdue: bool,
    /// The pending reviews.
    pub reviews: &'a [ReviewItemView],
    /// How many reviews.
    pub count: usize,
    /// The score and confidence scales.
    pub scale: FormSpec,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The chairs' digest.
#[derive(Template, Serialize)]
#[template(path = "digest.txt")]
pub struct DigestMail<'a> {
    /// What needs a chair (`schedule::mail::needs_chair`), empty when nothing.
    pub needs: &'a [String],
    /// Conference name.
    pub conference: &'a str,
    /// The occurrence's local date.
    pub date: &'a str,
    /// The CFP deadline, zone and UTC.
    pub cfp_deadline: &'a str,
    /// The review deadline, zone and UTC, when set.
    pub review_deadline: &'a str,
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
    /// How many (`bounces`).
    pub bounces_count: usize,
    /// One line per declined or conflicting assignment.
    pub declines: &'a [String],
    /// How many (`declines`).
    pub declines_count: usize,
    /// `address  since  reason`: every address cfpd no longer mails.
    pub undeliverable: &'a [String],
    /// How many (`undeliverable`).
    pub undeliverable_count: usize,
    /// Mails that may not have arrived: `mail ID  <message-id>  to ADDRESS  subject`.
    pub uncertain: &'a [String],
    /// How many (`uncertain`).
    pub uncertain_count: usize,
    /// Accepted talks whose speaker has not answered: `P-0042  speaker  title`.
    pub unconfirmed: &'a [String],
    /// How many (`unconfirmed`).
    pub unconfirmed_count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// "Last call for proposals", to an announcement address.
#[derive(Template, Serialize)]
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
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// One proposal as the bidding mail lists it, blind: no speaker.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Template, Serialize)]
#[template(path = "bid_invite.txt")]
pub struct BidInvite<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, `""` when unknown.
    pub reviewer_name: &'a str,
    /// The proposals, by reference.
    pub proposals: &'a [BidItemView],
    /// How many (`proposals.len()`).
    pub count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// The bidding mail again, for a reviewer who has not answered
/// (`reviewers_without_bids` reminders).
#[derive(Template, Serialize)]
#[template(path = "remind_bids.txt")]
pub struct BidReminderMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, `""` when unknown.
    pub name: &'a str,
    /// The review deadline as mails show it.
    pub deadline: &'a str,
    /// The proposals, by reference.
    pub proposals: &'a [BidItemView],
    /// How many (`proposals.len()`).
    pub count: usize,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// What a reply to the bidding mail recorded.
#[derive(Template, Serialize)]
#[template(path = "bid_receipt.txt")]
pub struct BidReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Reviewer's name, `""` when unknown.
    pub reviewer_name: &'a str,
    /// One line per recorded bid (`P-0003: yes  Title`), each within the mail's width.
    pub recorded: &'a [String],
    /// What was not understood, each wrapped.
    pub problems: &'a [String],
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// A receipt line for one bid: `P-0003: yes — Title` within 76 characters.
pub fn bid_line(reference: &str, kind: crate::model::BidKind, title: &str) -> String {
    let head = format!("{reference}: {}", kind.as_str());
    format!("{head:<18} {}", short_title(title, 76 - 2 - 19))
}

mail!(
    Ack => "ack.txt",
    DraftReply => "draft.txt",
    Updated => "updated.txt",
    Closed => "closed.txt",
    Withdrawn => "withdrawn.txt",
    Help => "help.txt",
    AssignmentMail => "assignment.txt",
    ReviewReceipt => "receipt.txt",
    ReleasedReply => "released.txt",
    ReviewHelp => "review_help.txt",
    ConfirmReminderMail => "remind_confirm.txt",
    DraftReminderMail => "remind_drafts.txt",
    ReviewReminderMail => "remind_reviews.txt",
    DigestMail => "digest.txt",
    LastCallMail => "last_call.txt",
    DecisionAccepted => "decision_accepted.txt",
    DecisionWaitlisted => "decision_waitlisted.txt",
    DecisionRejected => "decision_rejected.txt",
    Confirmed => "confirmed.txt",
    Declined => "declined.txt",
    PromotionMail => "promotion.txt",
    ChairUnderstood => "chair_understood.txt",
    ChairDecided => "chair_decided.txt",
    ChairRequestMail => "chair_request.txt",
    ChairEdit => "chair_edit.txt",
    Restored => "restored.txt",
    PersonWillAnswer => "person_will_answer.txt",
    Forward => "forward.txt",
    BidInvite => "bid_invite.txt",
    BidReminderMail => "remind_bids.txt",
    BidReceipt => "bid_receipt.txt",
);

#[cfg(test)]
mod tests;

/// Where a restored proposal is now, as its speaker reads it (`restored.txt`).
pub fn restored_where(status: crate::model::ProposalStatus) -> &'static str {
    use crate::model::ProposalStatus::*;
    match status {
        Submitted | Withdrawn => {
            "It is back in the running: it will be reviewed with the other \
             proposals, and you will hear from us when the program is decided."
        }
        Draft => {
            "It is back as a draft, as it was: some of the details we need are \
             still missing, as our earlier mail explained."
        }
        Late => {
            "It is back as a late entry, as it was: it arrived after the \
             deadline, and the program committee decides whether it is reviewed."
        }
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

/// A title in quotes, wrapped to 76 characters (a mail line with a
/// comma or full stop after it), for mails that show it on lines of its own.
pub fn quoted(title: &str) -> String {
    wrap(&format!("\"{title}\""), 76)
}

/// A reviewer's comment for a speaker, each paragraph wrapped to 76
/// characters (the decision mails indent it by two).
pub fn comment_block(text: &str) -> String {
    fit("", text)
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
#[derive(Serialize)]
pub struct DecisionMail<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// The recipient's display name (the speaker's; co-speakers have none).
    pub name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The proposal's title in quotes, wrapped to fit an indented line.
    pub title: &'a str,
    /// For a co-speaker: who submitted it.
    pub submitted_by: &'a str,
    /// The decision told before, in words, when this one replaces it.
    pub previous: &'static str,
    /// The reviewers' comments for the speaker, without names (empty when
    /// the conference does not share them, or nobody wrote any).
    pub comments: &'a [String],
    /// Where a person answers (`[conference] contact`).
    pub contact: &'a [String],
    /// `[decisions] confirm_by`, as the speaker reads it, if set.
    pub confirm_by: &'a str,
}

/// `decision_accepted.txt`.
#[derive(Template, Serialize)]
#[template(path = "decision_accepted.txt")]
pub struct DecisionAccepted<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// `decision_waitlisted.txt`.
#[derive(Template, Serialize)]
#[template(path = "decision_waitlisted.txt")]
pub struct DecisionWaitlisted<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// `decision_rejected.txt`.
#[derive(Template, Serialize)]
#[template(path = "decision_rejected.txt")]
pub struct DecisionRejected<'a> {
    /// What every decision mail says.
    pub m: &'a DecisionMail<'a>,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

impl DecisionMail<'_> {
    /// The text of the mail for `decision`.
    pub fn render(
        &self,
        decision: crate::model::Decision,
        set: &crate::config::Overrides,
    ) -> askama::Result<String> {
        use super::custom::Mail;
        use crate::model::Decision;
        match decision {
            Decision::Accepted => DecisionAccepted {
                m: self,
                contact: self.contact,
            }
            .text(set),
            Decision::Waitlisted => DecisionWaitlisted {
                m: self,
                contact: self.contact,
            }
            .text(set),
            Decision::Rejected => DecisionRejected {
                m: self,
                contact: self.contact,
            }
            .text(set),
        }
    }
}

/// The receipt of an accepted speaker's confirm or decline.
#[derive(Serialize)]
pub struct ConfirmationReceipt<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Speaker's display name.
    pub speaker_name: &'a str,
    /// `P-0042`.
    pub reference: &'a str,
    /// The title in quotes, wrapped to fit an indented line.
    pub title: &'a str,
    /// Where a person answers (`[conference] contact`).
    pub contact: &'a [String],
}

/// `confirmed.txt`.
#[derive(Template, Serialize)]
#[template(path = "confirmed.txt")]
struct Confirmed<'a> {
    m: &'a ConfirmationReceipt<'a>,
    /// Where a person answers (`[conference] contact`), named in every mail.
    contact: &'a [String],
}

/// `declined.txt`.
#[derive(Template, Serialize)]
#[template(path = "declined.txt")]
struct Declined<'a> {
    m: &'a ConfirmationReceipt<'a>,
    /// Where a person answers (`[conference] contact`), named in every mail.
    contact: &'a [String],
}

impl ConfirmationReceipt<'_> {
    /// The receipt of a confirmation.
    pub fn confirmed(&self, set: &crate::config::Overrides) -> askama::Result<String> {
        use super::custom::Mail;
        Confirmed {
            m: self,
            contact: self.contact,
        }
        .text(set)
    }

    /// The confirmation's sample for `cfpd check`.
    pub fn sample_confirmed(&self) -> super::custom::Sample {
        super::custom::sample(&Confirmed {
            m: self,
            contact: self.contact,
        })
    }

    /// The decline's sample for `cfpd check`.
    pub fn sample_declined(&self) -> super::custom::Sample {
        super::custom::sample(&Declined {
            m: self,
            contact: self.contact,
        })
    }

    /// The receipt of a decline.
    pub fn declined(&self, set: &crate::config::Overrides) -> askama::Result<String> {
        use super::custom::Mail;
        Declined {
            m: self,
            contact: self.contact,
        }
        .text(set)
    }
}

/// To the chairs: an accepted talk dropped out, and the waitlisted talk
/// proposed (or promoted) in its place.
#[derive(Template, Serialize)]
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
    pub candidate: &'a str,
    /// The candidate's reference, for the command to type.
    pub candidate_ref: &'a str,
    /// It was accepted already (`promote = "auto"`).
    pub promoted: bool,
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Step one of a chair's decisions by mail: what was understood.
#[derive(Template, Serialize)]
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
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

/// Step two: what was recorded.
#[derive(Template, Serialize)]
#[template(path = "chair_decided.txt")]
pub struct ChairDecided<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// `accept P-0001 "Title"`, one per decision recorded.
    pub recorded: &'a [String],
    /// How many were recorded.
    pub recorded_count: usize,
    /// What could no longer be decided.
    pub refused: &'a [String],
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}

impl ChairUnderstood<'_> {
    /// The text (a template error is shown in the mail rather than lost).
    pub fn render_text(&self, set: &crate::config::Overrides) -> String {
        use super::custom::Mail;
        self.text(set)
            .unwrap_or_else(|e| format!("(template error: {e})"))
    }
}

impl ChairDecided<'_> {
    /// The text (a template error is shown in the mail rather than lost).
    pub fn render_text(&self, set: &crate::config::Overrides) -> String {
        use super::custom::Mail;
        self.text(set)
            .unwrap_or_else(|e| format!("(template error: {e})"))
    }
}

/// `cfpd decide --request`: the address a chair decides by mail through.
#[derive(Template, Serialize)]
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
    /// Where a person answers (`[conference] contact`), named in every mail.
    pub contact: &'a [String],
}
