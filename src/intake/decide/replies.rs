//! The replies decisions send: rendered from templates here (pure), queued by the pipeline.

use crate::outbox::custom::Mail;

use super::NewProposal;
use crate::config::Config;
use crate::intake::inbound::Mailbox;
use crate::model::MailKind;
use crate::model::ProposalStatus;
use crate::outbox::templates;
use crate::proposal::{self, FiledTopic};
use crate::store::proposals::ProposalRow;
use crate::topics::Tagger;

/// A reply's text: rendered already, or rendered when the batch's replies are composed
/// (on all cores, see the pipeline's `compose_replies`).
pub enum Body {
    /// Rendered.
    Ready(String),
    /// Renders it; owns what the template shows.
    Later(Box<dyn FnOnce() -> String + Send + Sync>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Ready(s) => f.debug_tuple("Ready").field(s).finish(),
            Body::Later(_) => f.write_str("Later(..)"),
        }
    }
}

impl Body {
    /// The text (rendering it now when it was left for later).
    pub fn text(self) -> String {
        match self {
            Body::Ready(s) => s,
            Body::Later(render) => render(),
        }
    }
}

/// Which reply token a reply's Reply-To carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyToken {
    /// None: answering it is new mail.
    None,
    /// A fresh token for the proposal the message is about, generated when the decision
    /// is applied (tokens are random).
    FreshProposal,
    /// A fresh bidding token for this reviewer (by id), bound to the sender the rules
    /// checked, generated when the decision is applied: answering the reply is a bid.
    FreshBid(i64),
    /// This secret (an assignment token issued while applying a review reply).
    Secret(String),
    /// No token: Reply-To is this person's address (`[conference] contact`),
    /// so an answer to "a person will answer" reaches the person.
    Person(String),
}

/// A reply to the sender of a message.
#[derive(Debug)]
pub struct Reply {
    /// Outbox kind (`ack`, `draft`, `help`, `rejection`, …).
    pub kind: MailKind,
    /// Subject line.
    pub subject: String,
    /// Its text.
    pub body: Body,
    /// Its reply token.
    pub token: ReplyToken,
}

impl Reply {
    /// A rendered reply without a token.
    pub fn ready(kind: MailKind, subject: String, body: String) -> Reply {
        Reply {
            kind,
            subject,
            body: Body::Ready(body),
            token: ReplyToken::None,
        }
    }
}

/// `[Conference] what`.
pub fn subject(cfg: &Config, what: &str) -> String {
    format!("[{}] {what}", cfg.conference.name)
}

/// `[Conference] Re: <their subject>`, with the reply and forward prefixes
/// and conference tags their client stacked up taken off first, so that a
/// thread reads `[Conf] Re: P-0009 received: …` however long it runs
/// (never `[Conf] Re: Re: [Conf] P-0009 …`).
pub fn reply_subject(cfg: &Config, theirs: &str) -> String {
    const PREFIXES: [&str; 7] = ["re:", "fw:", "fwd:", "aw:", "sv:", "wg:", "antw:"];
    let tag = format!("[{}]", cfg.conference.name);
    let mut s = theirs.trim();
    loop {
        // ASCII lower-casing keeps byte offsets, so `s[n..]` stays on a boundary.
        let lower = s.to_ascii_lowercase();
        let cut = PREFIXES
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len())
            .or_else(|| {
                lower
                    .starts_with(&tag.to_ascii_lowercase())
                    .then_some(tag.len())
            });
        match cut {
            Some(n) => s = s[n..].trim_start(),
            None => break,
        }
    }
    subject(cfg, &format!("Re: {s}"))
}

/// The CFP deadline in the conference zone and in UTC.
pub fn deadline_text(cfg: &Config) -> String {
    let c = &cfg.conference;
    c.zone.format_with_utc(c.cfp_deadline)
}

/// The template, field list and topics, with `reason` (why they get it) when given.
pub fn help_reply(cfg: &Config, tagger: &Tagger, reason: Option<&str>) -> Reply {
    let p = &cfg.proposals;
    let deadline = deadline_text(cfg);
    let body = templates::Help {
        conference: &cfg.conference.name,
        contact: &cfg.conference.contact,
        reason: reason.unwrap_or(""),
        cfp_address: &cfg.conference.cfp_address,
        formats: p.formats.join(" | "),
        audiences: p.audiences.join(" | "),
        required: p
            .required
            .iter()
            .map(|f| proposal::label(f))
            .collect::<Vec<_>>()
            .join(", "),
        topic_list: tagger
            .set()
            .topics()
            .iter()
            .map(|t| templates::TopicLine {
                id: t.id.clone(),
                name: t.name.clone(),
            })
            .collect(),
        deadline: &deadline,
    }
    .text(&cfg.templates)
    .unwrap_or_default();
    Reply::ready(
        MailKind::Help,
        subject(cfg, "How to submit a proposal"),
        body,
    )
}

/// The confirmation of a withdrawal.
pub(super) fn withdrawn(cfg: &Config, from: &Mailbox, reference: &str, p: &ProposalRow) -> Reply {
    let title = p.fields.title.clone().unwrap_or_else(|| "untitled".into());
    let body = templates::Withdrawn {
        conference: &cfg.conference.name,
        contact: &cfg.conference.contact,
        speaker_name: from.name.as_deref().unwrap_or(""),
        reference,
        title: &templates::quoted(&title),
    }
    .text(&cfg.templates)
    .unwrap_or_default();
    Reply::ready(
        MailKind::Withdrawn,
        subject(cfg, &format!("{reference} withdrawn")),
        body,
    )
}

/// The receipt of an update, with a fresh token.
pub(super) fn updated(
    cfg: &Config,
    from: &Mailbox,
    reference: &str,
    version: i64,
    fields: &proposal::Fields,
    problems: &[String],
    topics: &[FiledTopic],
) -> Reply {
    let deadline = deadline_text(cfg);
    let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
    let body = templates::Updated {
        conference: &cfg.conference.name,
        contact: &cfg.conference.contact,
        speaker_name: from.name.as_deref().unwrap_or(""),
        reference,
        version,
        problems: &problems
            .iter()
            .map(|p| templates::bullet(p))
            .collect::<Vec<_>>(),
        record: templates::record(fields, &cfg.proposals.custom),
        topics: templates::speaker_topics(topics),
        deadline: &deadline,
    }
    .text(&cfg.templates)
    .unwrap_or_default();
    Reply {
        kind: MailKind::Updated,
        subject: subject(cfg, &format!("{reference} updated: {title}")),
        body: Body::Ready(body),
        token: ReplyToken::FreshProposal,
    }
}

/// The receipt of an accepted speaker's answer, echoing what is now recorded;
/// it carries a fresh token, so they can change their answer by replying.
pub fn confirmation(
    cfg: &Config,
    from: &Mailbox,
    reference: &str,
    p: &ProposalRow,
    answer: crate::model::Confirmation,
) -> Reply {
    let title = p.fields.title.clone().unwrap_or_else(|| "untitled".into());
    let quoted = templates::wrap(&format!("\"{title}\""), 74);
    let m = templates::ConfirmationReceipt {
        conference: &cfg.conference.name,
        speaker_name: from.name.as_deref().unwrap_or(""),
        reference,
        title: &quoted,
        contact: &cfg.conference.contact,
    };
    let (what, body) = match answer {
        crate::model::Confirmation::Confirmed => ("confirmed", m.confirmed(&cfg.templates)),
        crate::model::Confirmation::Declined => ("declined", m.declined(&cfg.templates)),
    };
    Reply {
        kind: MailKind::Confirmation,
        subject: subject(cfg, &format!("{reference} {what}: {title}")),
        body: Body::Ready(body.unwrap_or_default()),
        token: ReplyToken::FreshProposal,
    }
}

impl NewProposal {
    /// The outbox kind of its reply: `closed` (late), `ack` (complete) or `draft`.
    pub fn reply_kind(&self) -> MailKind {
        match self.status {
            ProposalStatus::Late => MailKind::Closed,
            _ if self.problems.is_empty() => MailKind::Ack,
            _ => MailKind::Draft,
        }
    }

    /// Its reply once it has the id `pid`, with a fresh token. Acks and draft replies are
    /// rendered later, with the batch's other replies, on the thread that composes them:
    /// the closures own what the templates show, and lay out the record, the topics and
    /// the deadline there too, not on the writer's path (BENCHMARKS.md, "Intake round 2,
    /// seventh pass").
    pub fn reply(&self, cfg: &Config, pid: i64) -> Reply {
        let fields = &self.fields;
        let reference = proposal::reference(pid);
        let (zone, cfp_deadline) = (cfg.conference.zone, cfg.conference.cfp_deadline);
        let deadline = move || zone.format_with_utc(cfp_deadline);
        let custom = cfg.proposals.custom.clone();
        let owned = fields.clone();
        let record = move || templates::record(&owned, &custom);
        let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
        let conference = cfg.conference.name.clone();
        let speaker_name = self.speaker.name.clone().unwrap_or_default();
        let filed = self.topics.clone();
        let topics = move || templates::speaker_topics(&filed);
        let contact = cfg.conference.contact.clone();
        let set = cfg.templates.clone();
        let kind = self.reply_kind();
        let (subject, body) = match kind {
            MailKind::Closed => {
                let body = templates::Closed {
                    conference: &conference,
                    contact: &contact,
                    speaker_name: &speaker_name,
                    reference: &reference,
                    record: record(),
                    deadline: &deadline(),
                }
                .text(&set);
                (
                    subject(
                        cfg,
                        &format!("{reference} received after the deadline: {title}"),
                    ),
                    Body::Ready(body.unwrap_or_default()),
                )
            }
            MailKind::Ack => {
                let subject = subject(cfg, &format!("{reference} received: {title}"));
                let body = Body::Later(Box::new(move || {
                    templates::Ack {
                        conference: &conference,
                        contact: &contact,
                        speaker_name: &speaker_name,
                        reference: &reference,
                        record: record(),
                        topics: topics(),
                        deadline: &deadline(),
                    }
                    .text(&set)
                    .unwrap_or_default()
                }));
                (subject, body)
            }
            _ => {
                let missing_labels = proposal::missing_labels(fields, &cfg.proposals);
                let subject = subject(cfg, &format!("{reference} saved as a draft: {title}"));
                let problems: Vec<String> =
                    self.problems.iter().map(|p| templates::bullet(p)).collect();
                let body = Body::Later(Box::new(move || {
                    templates::DraftReply {
                        conference: &conference,
                        contact: &contact,
                        speaker_name: &speaker_name,
                        reference: &reference,
                        problems: &problems,
                        missing_labels,
                        record: record(),
                        topics: topics(),
                        deadline: &deadline(),
                    }
                    .text(&set)
                    .unwrap_or_default()
                }));
                (subject, body)
            }
        };
        Reply {
            kind,
            subject,
            body,
            token: ReplyToken::FreshProposal,
        }
    }
}
