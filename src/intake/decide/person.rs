//! Reach a human: mail a person wrote that cfpd cannot act on (a question to
//! the CFP address, a speaker's follow-up with nothing to change, a known
//! speaker's mail after the deadline) goes to `[conference] contact`, and
//! its sender is told who will answer.
//!
//! Why here, in the pure rules: whether mail is for a person is a decision
//! like any other ([`Decision::ForPerson`], state `for_person`, the reason
//! saying why cfpd could not act), made only after the screening (never for
//! machines, bounces, our own mail, a forged sender or `dmarc=fail`) and
//! only when the text reads as written by a person
//! ([`classify::not_written_by_person`]). The pipeline keeps the message
//! and forwards its thread at most once a day ([`due`]); the forward's text
//! is rendered here ([`forward_text`]).

use crate::outbox::custom::Mail;
use crate::outbox::templates::{Forward, ForwardItem, PersonWillAnswer};

use super::replies::{self, Reply, ReplyToken};
use super::Decision;
use crate::config::Config;
use crate::intake::classify;
use crate::intake::inbound::{Inbound, Mailbox};
use crate::model::{mailbox_key, MailKind, ProposalRow, Reason};

/// A day, in milliseconds: a thread is forwarded at most once per this.
pub const DAY_MS: i64 = 86_400_000;

/// Why cfpd could not act on mail a person wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// To the CFP address, without a reply token, and not a proposal.
    NotAProposal,
    /// A speaker's reply through their token with nothing to change.
    NothingToChange,
    /// A known speaker's reply after the CFP closed.
    AfterDeadline,
    /// A reviewer's reply through their assignment's token with nothing of
    /// the review form in it.
    ReviewerQuestion,
}

impl Why {
    /// The stored reason (the same codes as the answers cfpd gave before).
    pub fn reason(self) -> Reason {
        match self {
            Why::NotAProposal => Reason::NotAProposal,
            Why::NothingToChange => Reason::UpdateNotUnderstood,
            Why::AfterDeadline => Reason::CfpClosed,
            Why::ReviewerQuestion => Reason::ReviewForm,
        }
    }

    /// The why of a stored reason (see [`Why::reason`]).
    pub fn from_reason(r: Reason) -> Option<Why> {
        [
            Why::NotAProposal,
            Why::NothingToChange,
            Why::AfterDeadline,
            Why::ReviewerQuestion,
        ]
        .into_iter()
        .find(|w| w.reason() == r)
    }

    /// For the chairs (message log, forward).
    pub fn phrase(self) -> &'static str {
        match self {
            Why::NotAProposal => "not a proposal",
            Why::NothingToChange => "a reply with nothing to change",
            Why::AfterDeadline => "a reply after the CFP closed",
            Why::ReviewerQuestion => "a reviewer's reply without a review",
        }
    }
}

/// Mail for a person, as decided: kept and forwarded by the pipeline.
#[derive(Debug)]
pub struct ForPerson {
    /// Why cfpd could not act on it.
    pub why: Why,
    /// Its sender (the forward's Reply-To).
    pub sender: Mailbox,
    /// The proposal it is about, when a token named one.
    pub proposal_id: Option<i64>,
    /// The forward thread ([`thread`]).
    pub thread: String,
    /// Their subject.
    pub subject: String,
    /// Their text (a follow-up's reply part; the whole text otherwise).
    pub text: String,
    /// "A person will answer", to the sender, sent when the thread is forwarded.
    pub reply: Reply,
}

/// The thread a forward is counted in: the sender's mailbox
/// (`model::mailbox_key`) and the proposal the mail is about, if any (a
/// speaker and a reviewer of one proposal are two threads). Not the References
/// chain: a sender writes that as they please, and a new chain per mail
/// would lift the once-a-day bound.
pub fn thread(proposal_id: Option<i64>, sender: &str) -> String {
    match proposal_id {
        Some(id) => format!("proposal:{id}:{}", mailbox_key(sender)),
        None => format!("from:{}", mailbox_key(sender)),
    }
}

/// Whether a thread last forwarded at `last` (ms) may be forwarded at
/// `now` (ms): never forwarded, or at least a day ago.
pub fn due(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|l| now.saturating_sub(l) >= DAY_MS)
}

/// `Some` when `i` goes to a person rather than getting cfpd's own answer:
/// a contact is configured, the sender is not one of the contacts (their
/// mail would come back to them) and the text reads as written by a person.
/// `None` keeps today's answer.
pub fn for_person(
    cfg: &Config,
    i: &Inbound,
    from: &Mailbox,
    why: Why,
    proposal: Option<&ProposalRow>,
    text: String,
) -> Option<Decision> {
    let contact = &cfg.conference.contact;
    if contact.is_empty()
        || contact
            .iter()
            .any(|c| mailbox_key(c) == mailbox_key(&from.address))
    {
        return None;
    }
    if only_thanks(&text) || classify::not_written_by_person(Some(&from.address), &text).is_some() {
        return None;
    }
    let reference = proposal.map(|p| crate::proposal::reference(p.id));
    let body = PersonWillAnswer {
        conference: &cfg.conference.name,
        name: from.name.as_deref().unwrap_or(""),
        reference: reference.as_deref().unwrap_or(""),
        why: &speaker_why(cfg, why),
        suggest_help: why == Why::NotAProposal,
        contact,
    }
    .text(&cfg.templates)
    .unwrap_or_default();
    let mut reply = Reply::ready(
        MailKind::PersonWillAnswer,
        replies::reply_subject(cfg, &i.subject),
        body,
    );
    // Answering it reaches the person, not cfpd again.
    reply.token = ReplyToken::Person(contact[0].clone());
    let proposal_id = proposal.map(|p| p.id);
    Some(Decision::ForPerson(Box::new(ForPerson {
        why,
        sender: from.clone(),
        proposal_id,
        thread: thread(proposal_id, &from.address),
        subject: i.subject.clone(),
        text,
        reply,
    })))
}

/// A short note of thanks ("Thanks!", "Great, thank you. Ada"): nothing
/// for a person to answer, so cfpd's own answer stays. At most eight
/// words, a word of thanks among them, and no question mark.
fn only_thanks(text: &str) -> bool {
    const THANKS: [&str; 6] = ["thanks", "thank", "thx", "cheers", "merci", "danke"];
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    !text.contains('?') && words.len() <= 8 && words.iter().any(|w| THANKS.contains(&w.as_str()))
}

/// Why their mail was not acted on, in words for the sender.
fn speaker_why(cfg: &Config, why: Why) -> String {
    match why {
        Why::NotAProposal => "It is not a proposal, so the program that runs the call for\n\
                              proposals cannot answer it by itself."
            .into(),
        Why::NothingToChange => "It has no labelled fields (such as \"Title:\") to change in your\n\
                                 proposal, so nothing was changed, and the program that keeps\n\
                                 the proposals cannot answer it by itself."
            .into(),
        Why::ReviewerQuestion => "It holds no review (no \"Score:\" line), so nothing was recorded,\n\
                                  and the program that collects the reviews cannot answer it by\n\
                                  itself."
            .into(),
        Why::AfterDeadline => format!(
            "The call for proposals closed on\n\n  {}\n\nso nothing in your proposal was changed by it.",
            replies::deadline_text(cfg)
        ),
    }
}

/// One message in a forward.
#[derive(Debug, Clone)]
pub struct Quoted {
    /// `Name <address>` or the address.
    pub from: String,
    /// Their subject.
    pub subject: String,
    /// When it arrived, as the chairs read it.
    pub received: String,
    /// `P-0003 "Title"`, when known.
    pub about: Option<String>,
    /// Why cfpd could not act on it ([`Why::phrase`]), when known.
    pub why: Option<&'static str>,
    /// Their text.
    pub text: String,
}

/// `Label:    value`, wrapped under the label within 78 columns.
fn labelled(label: &str, value: &str) -> String {
    let first = format!("{label:<10}");
    let rest = " ".repeat(10);
    let opts = textwrap::Options::new(78)
        .break_words(false)
        .initial_indent(&first)
        .subsequent_indent(&rest);
    textwrap::fill(&crate::outbox::one_line(value), opts)
}

/// `text` quoted with `> `, each line wrapped within 78 columns (a word
/// longer than a line stays whole); blank lines stay as `>`.
fn quote(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.trim_end().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push(">".to_string());
            continue;
        }
        let opts = textwrap::Options::new(78)
            .break_words(false)
            .initial_indent("> ")
            .subsequent_indent("> ");
        out.extend(
            textwrap::wrap(line, opts)
                .into_iter()
                .map(|l| l.into_owned()),
        );
    }
    if out.is_empty() {
        out.push("> (no text)".into());
    }
    out.join("\n")
}

/// The forward's subject and text for the messages of one thread.
pub fn forward_text(cfg: &Config, items: &[Quoted]) -> (String, String) {
    let rows = items
        .iter()
        .map(|q| {
            let mut head = vec![
                labelled("From:", &q.from),
                labelled("Subject:", &q.subject),
                labelled("Received:", &q.received),
            ];
            if let Some(a) = &q.about {
                head.push(labelled("About:", a));
            }
            if let Some(w) = q.why {
                head.push(labelled("Why:", w));
            }
            ForwardItem {
                head: head.join("\n"),
                quoted: quote(&q.text),
            }
        })
        .collect::<Vec<_>>();
    let body = Forward {
        conference: &cfg.conference.name,
        count: rows.len(),
        items: rows,
        contact: &cfg.conference.contact,
    }
    .text(&cfg.templates)
    .unwrap_or_default();
    let who = items.last().map(|q| q.from.as_str()).unwrap_or("");
    let about = items
        .iter()
        .rev()
        .find_map(|q| q.about.as_deref())
        .and_then(|a| a.split_whitespace().next())
        .map(|r| format!(" about {r}"))
        .unwrap_or_default();
    let subject = replies::subject(cfg, &format!("To answer: {who}{about}"));
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_thread_is_forwarded_at_most_once_a_day() {
        let t0 = 1_000_000_000_000;
        assert!(due(None, t0), "never forwarded");
        assert!(!due(Some(t0), t0), "just forwarded");
        assert!(!due(Some(t0), t0 + DAY_MS - 1), "the same day");
        assert!(due(Some(t0), t0 + DAY_MS), "a day later");
        assert!(
            !due(Some(t0 + 5), t0),
            "a clock that went back forwards nothing"
        );
    }

    #[test]
    fn short_thanks_are_not_for_a_person_but_questions_are() {
        for t in [
            "Thanks!",
            "Great, thank you.\n\nAda",
            "Cheers",
            "Merci beaucoup !",
        ] {
            assert!(only_thanks(t), "{t}");
        }
        for t in [
            "Thanks! Can I present remotely?",
            "Thank you. I would like to change the co-speaker of my talk to Bob",
            "Hello, I cannot travel in May.",
        ] {
            assert!(!only_thanks(t), "{t}");
        }
    }

    #[test]
    fn the_thread_is_the_proposal_else_the_senders_mailbox() {
        assert_eq!(
            thread(Some(3), "ada@example.org"),
            "proposal:3:ada@example.org"
        );
        assert_ne!(
            thread(Some(3), "ada@example.org"),
            thread(Some(3), "rita@example.org")
        );
        assert_eq!(
            thread(None, "Ada+cfp@Example.org"),
            thread(None, "ada@example.org"),
            "one person, one thread, however they spell their address"
        );
        assert_ne!(
            thread(None, "ada@example.org"),
            thread(None, "bob@example.org")
        );
    }

    #[test]
    fn the_forward_quotes_every_message_within_78_columns() {
        let cfg = cfg();
        let long = "word ".repeat(60);
        let items = [
            Quoted {
                from: "Ada Augusta King-Noel, Countess of Lovelace <ada.lovelace@analytical-engine.example.org>".into(),
                subject: format!("Can I present remotely? {long}"),
                received: "2099-04-24 23:59 AoE (2099-04-25 11:59 UTC)".into(),
                about: Some(format!("P-0003 \"{long}\"")),
                why: Some(Why::AfterDeadline.phrase()),
                text: format!("Hello,\n\n{long}\n\nhttps://example.org/{}\nThanks, Ada", "x".repeat(90)),
            },
            Quoted {
                from: "ada@example.org".into(),
                subject: "Also".into(),
                received: "2099-04-25".into(),
                about: None,
                why: None,
                text: String::new(),
            },
        ];
        let (subject, body) = forward_text(&cfg, &items);
        assert!(
            subject.ends_with("To answer: ada@example.org about P-0003"),
            "{subject}"
        );
        assert!(body.contains("2 messages from one person"), "{body}");
        assert!(body.contains("---- 1 of 2 ----") && body.contains("---- 2 of 2 ----"));
        assert!(body.contains("> Thanks, Ada"), "{body}");
        assert!(body.contains("> (no text)"), "{body}");
        assert!(
            body.contains("\nWhy:      a reply after the CFP closed\n"),
            "{body}"
        );
        for w in [
            Why::NotAProposal,
            Why::NothingToChange,
            Why::AfterDeadline,
            Why::ReviewerQuestion,
        ] {
            assert_eq!(Why::from_reason(w.reason()), Some(w));
        }
        assert_eq!(Why::from_reason(Reason::Help), None);
        assert!(body.contains("Reply-To"), "{body}");
        for l in body.lines() {
            let url = l.contains(&"x".repeat(90));
            assert!(
                url || l.chars().count() <= 78,
                "{} columns: {l}",
                l.chars().count()
            );
        }
        // Every word of the text is there.
        let words = body
            .split_whitespace()
            .filter(|w| w.trim_matches('"') == "word")
            .count();
        assert_eq!(words, 60 * 3, "subject, about and text each quote 60 words");
    }

    fn inbound(from: &str, subject: &str) -> Inbound {
        let raw = format!(
            "From: Ada Lovelace <{from}>\r\nTo: cfp@djangocon.example\r\nSubject: {subject}\r\n\
             Message-ID: <q1@example.org>\r\n\r\nHello, can I present remotely? Thanks, Ada\r\n"
        );
        crate::intake::inbound::parse(
            raw.as_bytes(),
            &crate::intake::classify::OwnIdentity::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_persons_question_goes_to_the_contact_and_the_sender_is_told_who_answers() {
        let mut cfg = cfg();
        cfg.conference.contact = vec![format!(
            "program-chairs-of-the-conference@{}",
            "very-long-domain.example.org"
        )];
        cfg.conference.name = "DjangoCon Europe and Friends 2099".into();
        let i = inbound("ada@example.org", "Remote talks?");
        let from = i.from.clone().unwrap();
        let text = i.body_text();
        for why in [
            Why::NotAProposal,
            Why::NothingToChange,
            Why::AfterDeadline,
            Why::ReviewerQuestion,
        ] {
            let d = for_person(&cfg, &i, &from, why, None, text.clone()).expect("for a person");
            assert_eq!(d.state(), crate::model::MessageState::ForPerson);
            assert_eq!(d.reason(), Some(why.reason()));
            let Decision::ForPerson(p) = d else {
                unreachable!()
            };
            assert_eq!(p.thread, "from:ada@example.org");
            assert_eq!(
                p.reply.token,
                ReplyToken::Person(
                    "program-chairs-of-the-conference@very-long-domain.example.org".into()
                )
            );
            let Reply {
                kind,
                subject,
                body,
                ..
            } = p.reply;
            assert_eq!(kind, MailKind::PersonWillAnswer);
            assert!(subject.contains("Re: Remote talks?"), "{subject}");
            let body = body.text();
            assert!(
                body.starts_with("Hello Ada Lovelace,\n\nThank you"),
                "{body}"
            );
            assert!(
                body.contains("  program-chairs-of-the-conference@very-long-domain.example.org\n"),
                "{body}"
            );
            assert!(body.contains("A person\nwill answer you"), "{body}");
            assert_eq!(
                body.contains("\"help\""),
                why == Why::NotAProposal,
                "{body}"
            );
            for l in body.lines() {
                assert!(
                    l.chars().count() <= 78,
                    "{} columns: {l}",
                    l.chars().count()
                );
            }
        }
    }

    #[test]
    fn machines_contacts_and_an_empty_contact_keep_cfpds_own_answer() {
        let mut cfg = cfg();
        cfg.conference.contact = vec!["chair@djangocon.example".into()];
        let i = inbound("ada@example.org", "Question");
        let from = i.from.clone().unwrap();
        let bounce = "550 5.1.1 <x@y>: Recipient address rejected: User unknown".to_string();
        assert!(for_person(&cfg, &i, &from, Why::NotAProposal, None, bounce).is_none());
        let system = inbound("mailer-daemon@example.org", "Question");
        let sys_from = system.from.clone().unwrap();
        assert!(for_person(
            &cfg,
            &system,
            &sys_from,
            Why::NotAProposal,
            None,
            "Hello, I have a question".into()
        )
        .is_none());
        let chair = inbound("Chair@DjangoCon.example", "Re: To answer");
        let chair_from = chair.from.clone().unwrap();
        assert!(
            for_person(
                &cfg,
                &chair,
                &chair_from,
                Why::NotAProposal,
                None,
                "Hello, I answered".into()
            )
            .is_none(),
            "a contact's own mail never goes back to the contact"
        );
        assert!(for_person(
            &cfg,
            &i,
            &from,
            Why::NotAProposal,
            None,
            "Hello, a question".into()
        )
        .is_some());
        cfg.conference.contact.clear();
        assert!(for_person(
            &cfg,
            &i,
            &from,
            Why::NotAProposal,
            None,
            "Hello, a question".into()
        )
        .is_none());
    }
}
