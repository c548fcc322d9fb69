//! Intake's rules as pure functions: what to do with one parsed message, given what the
//! pipeline loaded for it from the database.
//!
//! [`decide`] takes an [`Inbound`] and its [`Facts`] (the configuration, the clock's
//! reading, the Message-IDs seen, the proposal a reply token names, …) and returns a
//! [`Decision`]: record a new proposal, a draft, an update, a withdrawal; answer with help;
//! refuse with a typed [`Rejection`]; record machine mail, a duplicate, an unsubscription;
//! hold for review. Nothing here reads the database, the clock or the network, so every
//! rule is unit-tested from raw bytes and hand-made facts (`tests.rs`); the pipeline
//! (`super::pipeline`) loads the facts, calls [`decide`], and applies the decision in the
//! batch's transaction.
//!
//! [`authorize`] is the one rule for reply tokens: which token, found in a recipient
//! address, selects a proposal or an assignment at all.

pub mod bids;
pub mod chair;
pub mod person;
mod replies;
pub mod review;
mod stray;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use super::classify::{self, authres, MachineKind};
use super::inbound::{Inbound, Mailbox};
use super::reject::Rejection;
use super::{attachments, bounce, unsubscribe};
use crate::config::Config;
use crate::mailtext::command::{self as form, ReplyCommand};
use crate::model::{
    DecisionRow, MailKind, MessageState, ProposalRow, ProposalStatus, Reason, TokenKind,
};
use crate::proposal::{self, FiledTopic, TagOverrides};
use crate::store::messages::Finish;
use crate::store::proposals::TokenRow;
use crate::topics::{TagInput, Tagger};
pub use bids::BidAuthority;
pub use chair::ChairAuthority;
pub use replies::{help_reply, subject, Body, Reply, ReplyToken};
pub use stray::reply_about_proposal;

/// Commands a person can send as the first word of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Send me the template and topic list.
    Help,
    /// Withdraw the proposal this reply is about.
    Withdraw,
}

/// Recognise a speaker's command: the first meaningful line of the (trimmed) body, or
/// else the subject (after `Re:`), read by [`form::parse_command`] — the one
/// recogniser for speakers and reviewers. Reviewer-only commands (decline, conflict) are
/// not speaker commands.
pub fn command(subject: &str, text: &str) -> Option<Command> {
    let speaker = |c: ReplyCommand| match c {
        ReplyCommand::Help => Some(Command::Help),
        ReplyCommand::Withdraw => Some(Command::Withdraw),
        ReplyCommand::Decline | ReplyCommand::Conflict => None,
    };
    if let Some(c) = form::parse_command(text) {
        return speaker(c);
    }
    let mut subj = subject.trim();
    while let Some(rest) = subj
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("re:"))
        .map(|_| &subj[3..])
    {
        subj = rest.trim_start();
    }
    form::parse_command(subj).and_then(speaker)
}

/// A proposal read while the batch was prepared (on all cores, before the transaction):
/// its fields, and the topics it is filed under.
pub type Read = (proposal::Parsed, Vec<FiledTopic>);

/// What the pipeline knows about one message besides its bytes.
pub struct Facts<'a> {
    /// The conference's configuration (limits, deadline, proposal rules).
    pub cfg: &'a Config,
    /// Files proposals under topics.
    pub tagger: &'a Tagger,
    /// The batch's clock reading (token expiry, timestamps).
    pub now: DateTime<Utc>,
    /// When the message reached the mailbox (IMAP INTERNALDATE, Maildir delivery time,
    /// else when it was fetched; never after `now`): the CFP deadline is judged on this,
    /// so mail delivered in time is on time however late it is processed. Never the
    /// Date header, which a sender writes as they please.
    pub arrived: DateTime<Utc>,
    /// The message's row id.
    pub message_row: i64,
    /// Its size in bytes, as stored.
    pub raw_len: usize,
    /// A chair released it (`cfpd messages --release`): authentication results no longer hold it.
    pub released: bool,
    /// The first other message (stored, or earlier in this batch) with the same Message-ID.
    pub first_seen: Option<i64>,
    /// The proposal read while preparing, when the mail may be a new proposal.
    pub read: Option<&'a Read>,
    /// It looks like a review reply or a decline (see [`super::review_reply::looks_like_review`]).
    pub review_like: bool,
    /// What the first authorizing reply token among the recipients selects (see
    /// [`authorize`]); loaded only for mail that passes [`screen`].
    pub authority: Option<Authority>,
}

/// What a reply token found in a recipient address grants, per [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An assignment: the review-reply rules decide (expiry and identity included).
    Assignment,
    /// An unexpired proposal token naming this proposal.
    Proposal(i64),
    /// A proposal token past its lifetime: it changes nothing, but its speaker
    /// is told why (a later recipient's valid token still wins).
    ProposalExpired(i64),
}

/// The selected proposal or assignment, as loaded by the pipeline.
#[derive(Debug, Clone)]
pub enum Authority {
    /// An assignment token: handled by the review-reply rules.
    Assignment(TokenRow),
    /// A proposal token.
    Proposal {
        /// The proposal it names.
        id: i64,
        /// The only address allowed to use it.
        bound: String,
        /// The proposal, `None` when it no longer exists (the mail is then new mail).
        proposal: Option<Box<ProposalRow>>,
        /// The chairs' current decision about it, if any: a reply to a told
        /// acceptance may confirm or decline the talk.
        decision: Option<Box<DecisionRow>>,
    },
    /// An expired proposal token (and no valid token among the recipients).
    ExpiredProposal {
        /// The proposal it named.
        id: i64,
        /// The only address that may learn it expired.
        bound: String,
    },
    /// A chair token: decisions by mail (see [`chair`]).
    Chair(Box<ChairAuthority>),
    /// A reviewer's bidding token: bids by mail (see [`bids`]).
    Bids(Box<BidAuthority>),
}

/// Whether a token selects anything at `now_ms`. An assignment token always does: its
/// expiry and reviewer are checked by the review-reply rules, which answer with typed
/// refusals. A proposal token does until its own expiry and for `lifetime_days` after it
/// was issued (the lifetime is read at use, so a chair's change of
/// `[proposals] reply_token_days` applies to tokens already sent); past that it grants
/// only the answer that it expired.
pub fn authorize(t: &TokenRow, now_ms: i64, lifetime_days: u32) -> Option<Grant> {
    match t.kind {
        TokenKind::Assignment => Some(Grant::Assignment),
        TokenKind::Proposal => {
            let lifetime_end = t
                .created_at
                .saturating_add(i64::from(lifetime_days) * 86_400_000);
            let end = t.expires_at.map_or(lifetime_end, |e| e.min(lifetime_end));
            let id = t.proposal_id?;
            Some(if now_ms < end {
                Grant::Proposal(id)
            } else {
                Grant::ProposalExpired(id)
            })
        }
    }
}

/// Why a message is quarantined before it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Reading or handling it panicked (a bug in cfpd or a parser); the panic's text.
    Panicked(String),
    /// It is not a mail message; why.
    Unparseable(String),
}

/// A new proposal to record (submitted, draft, or late).
#[derive(Debug, Clone)]
pub struct NewProposal {
    /// Its speaker: the From address, to which its reply token is bound.
    pub speaker: Mailbox,
    /// Submitted, draft (problems), or late (after the deadline and grace).
    pub status: ProposalStatus,
    /// Its fields.
    pub fields: proposal::Fields,
    /// What is missing or wrong (empty when complete).
    pub problems: Vec<String>,
    /// The topics it is filed under.
    pub topics: Vec<FiledTopic>,
}

impl NewProposal {
    /// Accepted (also when late), or draft.
    pub fn state(&self) -> MessageState {
        match self.status {
            ProposalStatus::Draft => MessageState::Draft,
            _ => MessageState::Accepted,
        }
    }

    /// `late_entry`, `missing_fields`, or none for a complete proposal.
    pub fn reason(&self) -> Option<Reason> {
        match self.status {
            ProposalStatus::Late => Some(Reason::LateEntry),
            _ if !self.problems.is_empty() => Some(Reason::MissingFields),
            _ => None,
        }
    }

    /// Its problems, for the message log.
    pub fn detail(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| self.problems.join(" "))
    }
}

/// A speaker's update of their proposal: its next version.
#[derive(Debug)]
pub struct Update {
    /// The proposal.
    pub proposal_id: i64,
    /// The version this update becomes.
    pub version: i64,
    /// Submitted or draft.
    pub status: ProposalStatus,
    /// The merged fields.
    pub fields: proposal::Fields,
    /// What is missing or wrong.
    pub problems: Vec<String>,
    /// Topics for the merged fields (the chair's overrides applied).
    pub topics: Vec<FiledTopic>,
    /// The speaker's address (the new token is bound to it).
    pub bound: String,
    /// The receipt.
    pub reply: Reply,
}

/// What to do with one message. Every variant names its terminal state and stored reason
/// ([`Decision::state`], [`Decision::reason`]) and the reply to send, if any.
#[derive(Debug)]
pub enum Decision {
    /// Quarantined before it could be read: never answered.
    Quarantine(Unreadable),
    /// Sent to an announcement's unsubscribe address: unsubscribe the token's address.
    Unsubscribe {
        /// The token's secret.
        secret: String,
    },
    /// Machine mail (bounce, auto-reply, list, our own, …): recorded, never answered;
    /// a bounce is also recorded against the outbox mail it names.
    Machine(MachineKind),
    /// Sent to one of our VERP return paths: only machines write there.
    ReturnPath,
    /// A Message-ID seen before.
    Duplicate {
        /// The first message with it.
        first: i64,
    },
    /// DMARC failed at our own receiving server: the From address is probably forged,
    /// so nothing is done until a chair releases it.
    DmarcFail {
        /// The `authserv-id` whose result counted.
        authserv_id: String,
        /// The message, for the release command in the detail.
        message_row: i64,
    },
    /// A typed refusal: nothing changes.
    Reject {
        /// Why.
        rejection: Rejection,
        /// Quarantined rather than rejected (too large).
        quarantine: bool,
        /// The proposal concerned, when one is known.
        proposal_id: Option<i64>,
        /// The answer, when the reason gets one.
        reply: Option<Reply>,
    },
    /// A request for help: the template and topic list (or, from a reviewer, how to answer).
    Help {
        /// The proposal the request came through, if any.
        proposal_id: Option<i64>,
        /// The help text.
        reply: Reply,
    },
    /// No labelled proposal fields: answered with the template.
    NotAProposal {
        /// The template, with why.
        reply: Reply,
    },
    /// Record a new proposal; its reply needs the id it gets ([`NewProposal::reply`]).
    NewProposal(Box<NewProposal>),
    /// Record the next version of a proposal.
    Update(Box<Update>),
    /// Withdraw a proposal.
    Withdraw {
        /// The proposal.
        proposal_id: i64,
        /// The confirmation.
        reply: Reply,
    },
    /// A chair's decisions by mail, understood: stored as a request and
    /// answered with a confirmation token; nothing is decided yet.
    ChairRequest {
        /// The chair (the token's bound address).
        chair: String,
        /// (proposal id, decision) that may be made.
        commands: Vec<(i64, crate::model::Decision)>,
        /// What was understood; its token is issued when applied.
        reply: Reply,
    },
    /// A chair's "yes": the request's decisions are recorded.
    ChairDecided {
        /// The request confirmed.
        request_id: i64,
        /// The chair.
        chair: String,
        /// (proposal id, decision) still possible now.
        commands: Vec<(i64, crate::model::Decision)>,
        /// What was recorded.
        reply: Reply,
    },
    /// An accepted speaker confirmed or declined the talk.
    Confirmation {
        /// The proposal.
        proposal_id: i64,
        /// The acceptance (decision version) answered.
        version: i64,
        /// Their answer.
        answer: crate::model::Confirmation,
        /// The receipt, echoing the new state.
        reply: Reply,
    },
    /// Through an assignment token: the review-reply rules decide.
    ReviewReply {
        /// The assignment token.
        token: TokenRow,
        /// The sender.
        from: Mailbox,
    },
    /// A reviewer declined or declared a conflict: the assignment is released.
    Released {
        /// A conflict (true) or a decline.
        conflict: bool,
        /// The proposal.
        proposal_id: i64,
        /// What was done (reassignment).
        detail: String,
        /// The confirmation.
        reply: Reply,
    },
    /// A reviewer's bids were read: they replace the reviewer's earlier bids.
    BidsRecorded {
        /// The reviewer.
        reviewer_id: i64,
        /// (proposal id, bid), one per proposal.
        bids: Vec<(i64, crate::model::BidKind)>,
        /// What was recorded, for the message log.
        detail: String,
        /// The receipt.
        reply: Reply,
    },
    /// A review was recorded.
    ReviewRecorded {
        /// The proposal.
        proposal_id: i64,
        /// Version and score.
        detail: String,
        /// The receipt.
        reply: Reply,
    },
    /// A person wrote something cfpd cannot act on: kept and forwarded to
    /// `[conference] contact` (see [`person`]).
    ForPerson(Box<person::ForPerson>),
}

impl Decision {
    /// The message's terminal state.
    pub fn state(&self) -> MessageState {
        match self {
            Decision::Quarantine(_) => MessageState::Quarantined,
            Decision::Unsubscribe { .. } => MessageState::Unsubscribed,
            Decision::Machine(kind) if kind.is_bounce() => MessageState::Bounce,
            Decision::Machine(_) | Decision::ReturnPath => MessageState::AutoGenerated,
            Decision::Duplicate { .. } => MessageState::Duplicate,
            Decision::DmarcFail { .. } => MessageState::NeedsReview,
            Decision::Reject {
                quarantine: true, ..
            } => MessageState::Quarantined,
            Decision::Reject { .. } => MessageState::Rejected,
            Decision::Help { .. } | Decision::NotAProposal { .. } => MessageState::Help,
            Decision::NewProposal(p) => p.state(),
            Decision::Update(_) => MessageState::Updated,
            Decision::Withdraw { .. } => MessageState::Withdrawn,
            Decision::ChairRequest { .. } => MessageState::DecisionRequested,
            Decision::ChairDecided { .. } => MessageState::Decided,
            Decision::Confirmation { answer, .. } => match answer {
                crate::model::Confirmation::Confirmed => MessageState::Confirmed,
                crate::model::Confirmation::Declined => MessageState::Declined,
            },
            // Not terminal: the review-reply rules decide further.
            Decision::ReviewReply { .. } => MessageState::Received,
            Decision::Released { .. } => MessageState::Released,
            Decision::ReviewRecorded { .. } => MessageState::ReviewRecorded,
            Decision::ForPerson(_) => MessageState::ForPerson,
            Decision::BidsRecorded { .. } => MessageState::BidsRecorded,
        }
    }

    /// The stored reason code: the one place each spelling comes from.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Decision::Quarantine(Unreadable::Panicked(_)) => Some(Reason::Panic),
            Decision::Quarantine(Unreadable::Unparseable(_)) => Some(Reason::Unparseable),
            Decision::Unsubscribe { .. } => Some(Reason::Unsubscribe),
            Decision::Machine(kind) => Some(kind.code()),
            Decision::ReturnPath => Some(Reason::ReturnPath),
            Decision::Duplicate { .. } => Some(Reason::Duplicate),
            Decision::DmarcFail { .. } => Some(Reason::DmarcFail),
            Decision::Reject { rejection, .. } => Some(rejection.code()),
            Decision::Help { .. } => Some(Reason::Help),
            Decision::NotAProposal { .. } => Some(Reason::NotAProposal),
            Decision::NewProposal(p) => p.reason(),
            Decision::ForPerson(p) => Some(p.why.reason()),
            Decision::Released { conflict, .. } => Some(if *conflict {
                Reason::Conflict
            } else {
                Reason::Decline
            }),
            Decision::Update(_)
            | Decision::Withdraw { .. }
            | Decision::Confirmation { .. }
            | Decision::ChairRequest { .. }
            | Decision::ChairDecided { .. }
            | Decision::ReviewReply { .. }
            | Decision::BidsRecorded { .. }
            | Decision::ReviewRecorded { .. } => None,
        }
    }

    /// What the message log says about it (reason, detail, proposal, duplicate).
    pub fn finish(&self) -> Finish {
        let detail = match self {
            Decision::Quarantine(Unreadable::Panicked(why)) => {
                Some(format!("cfpd failed on this message (a bug): {why}"))
            }
            Decision::Quarantine(Unreadable::Unparseable(why)) => Some(why.clone()),
            Decision::Machine(kind) => Some(kind.reason().to_string()),
            Decision::ReturnPath => Some("sent to a bounce (return-path) address".into()),
            Decision::Duplicate { first } => Some(format!("same Message-ID as message {first}")),
            Decision::DmarcFail {
                authserv_id,
                message_row,
            } => Some(format!(
                "Authentication-Results from {authserv_id}: dmarc=fail; release with cfpd messages --release {message_row}"
            )),
            Decision::Reject { rejection, .. } => Some(rejection.detail()),
            Decision::NotAProposal { .. } => Some("no labelled proposal fields found".into()),
            Decision::NewProposal(p) => p.detail(),
            Decision::Update(u) => Some(format!("version {}", u.version)),
            Decision::ForPerson(p) => Some(format!(
                "{}: for [conference] contact to answer",
                p.why.phrase()
            )),
            Decision::Confirmation { version, .. } => {
                Some(format!("answer to the acceptance (decision version {version})"))
            }
            Decision::ChairRequest {
                chair, commands, ..
            } => Some(format!(
                "{chair} asks for {} decision(s); waiting for their \"yes\"",
                commands.len()
            )),
            Decision::ChairDecided {
                chair,
                commands,
                request_id,
                ..
            } => Some(format!(
                "{chair} confirmed request {request_id}: {} decision(s) recorded",
                commands.len()
            )),
            Decision::Released { detail, .. }
            | Decision::ReviewRecorded { detail, .. }
            | Decision::BidsRecorded { detail, .. } => Some(detail.clone()),
            Decision::Unsubscribe { .. }
            | Decision::Help { .. }
            | Decision::Withdraw { .. }
            | Decision::ReviewReply { .. } => None,
        };
        Finish {
            reason: self.reason(),
            detail,
            proposal_id: self.proposal_id(),
            duplicate_of: match self {
                Decision::Duplicate { first } => Some(*first),
                _ => None,
            },
            ..Default::default()
        }
    }

    /// The proposal the message is about, when known before it is applied.
    pub fn proposal_id(&self) -> Option<i64> {
        match self {
            Decision::Reject { proposal_id, .. } | Decision::Help { proposal_id, .. } => {
                *proposal_id
            }
            Decision::Update(u) => Some(u.proposal_id),
            Decision::ForPerson(p) => p.proposal_id,
            Decision::Withdraw { proposal_id, .. }
            | Decision::Confirmation { proposal_id, .. }
            | Decision::Released { proposal_id, .. }
            | Decision::ReviewRecorded { proposal_id, .. } => Some(*proposal_id),
            _ => None,
        }
    }

    /// The outbox kind of the reply this decision sends (`ack`, `rejection`, …), if any.
    pub fn reply_kind(&self) -> Option<MailKind> {
        match self {
            Decision::NewProposal(p) => Some(p.reply_kind()),
            _ => self.reply().map(|r| r.kind),
        }
    }

    /// The reply, for decisions whose reply is known before they are applied.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Decision::Reject { reply, .. } => reply.as_ref(),
            Decision::Help { reply, .. }
            | Decision::NotAProposal { reply }
            | Decision::Withdraw { reply, .. }
            | Decision::Confirmation { reply, .. }
            | Decision::ChairRequest { reply, .. }
            | Decision::ChairDecided { reply, .. }
            | Decision::Released { reply, .. }
            | Decision::BidsRecorded { reply, .. }
            | Decision::ReviewRecorded { reply, .. } => Some(reply),
            Decision::Update(u) => Some(&u.reply),
            Decision::ForPerson(p) => Some(&p.reply),
            _ => None,
        }
    }

    /// The reply, owned (see [`Decision::reply`]).
    pub fn into_reply(self) -> Option<Reply> {
        match self {
            Decision::Reject { reply, .. } => reply,
            Decision::Help { reply, .. }
            | Decision::NotAProposal { reply }
            | Decision::Withdraw { reply, .. }
            | Decision::Confirmation { reply, .. }
            | Decision::ChairRequest { reply, .. }
            | Decision::ChairDecided { reply, .. }
            | Decision::Released { reply, .. }
            | Decision::BidsRecorded { reply, .. }
            | Decision::ReviewRecorded { reply, .. } => Some(reply),
            Decision::Update(u) => Some(u.reply),
            Decision::ForPerson(p) => Some(p.reply),
            _ => None,
        }
    }

    /// A refused review reply (or a review without a token): nothing changes; the reply,
    /// if `answer`, goes to the From address with `subject`, without a reply token.
    pub fn review_refusal(
        cfg: &Config,
        rejection: Rejection,
        subject: String,
        answer: bool,
        proposal_id: Option<i64>,
    ) -> Decision {
        let reply = answer
            .then(|| rejection.reply(&crate::intake::reject::ReplyCtx::of(cfg), &subject))
            .flatten()
            .map(|body| Reply::ready(MailKind::Rejection, subject, body));
        Decision::Reject {
            rejection,
            quarantine: false,
            proposal_id,
            reply,
        }
    }
}

/// What to do with `i` (see the module docs): [`screen`], then [`authorized`].
pub fn decide(i: &Inbound, f: &Facts<'_>) -> Decision {
    match screen(i, f) {
        Ok(from) => authorized(i, f, from),
        Err(d) => *d,
    }
}

/// The rules after [`screen`] let `i` through from `from`: what [`Facts::authority`]
/// selects decides between a review reply, a follow-up and new mail.
pub fn authorized(i: &Inbound, f: &Facts<'_>, from: &Mailbox) -> Decision {
    match &f.authority {
        Some(Authority::Assignment(t)) => Decision::ReviewReply {
            token: t.clone(),
            from: from.clone(),
        },
        Some(Authority::Proposal {
            id,
            bound,
            proposal,
            decision,
        }) => follow_up(
            i,
            f,
            from,
            (*id, bound),
            proposal.as_deref(),
            decision.as_deref(),
        ),
        Some(Authority::ExpiredProposal { id, bound }) => {
            let reference = proposal::reference(*id);
            let r = if from.address == *bound {
                let days = f.cfg.proposals.reply_token_days;
                Rejection::ProposalTokenExpired { reference, days }
            } else {
                let from = from.address.clone();
                Rejection::SenderMismatch { reference, from }
            };
            reject(f.cfg, r, &i.subject)
        }
        Some(Authority::Chair(a)) => chair::chair_mail(i, f, from, a),
        Some(Authority::Bids(a)) => bids::bid_mail(i, f, from, a),
        None => new_mail(i, f, f.read, f.review_like, from),
    }
}

/// The checks before authorization, in order (unsubscribe, machine mail, return path,
/// size, sender, duplicate, DMARC, attachments): the decision when one applies, else `Ok`
/// with the sender, and the pipeline loads the reply tokens for [`authorized`].
pub fn screen<'i>(i: &'i Inbound, f: &Facts<'_>) -> Result<&'i Mailbox, Box<Decision>> {
    let cfg = f.cfg;
    if let Some(secret) = unsubscribe::secret(i, cfg) {
        return Err(Box::new(Decision::Unsubscribe { secret }));
    }
    if let Some(kind) = &i.machine {
        return Err(Box::new(Decision::Machine(kind.clone())));
    }
    if bounce::to_bounce_address(i, cfg).is_some() {
        return Err(Box::new(Decision::ReturnPath));
    }
    let limit = cfg.proposals.max_message_bytes;
    if f.raw_len > limit {
        let size = f.raw_len;
        let mut d = reject(cfg, Rejection::TooLarge { size, limit }, &i.subject);
        if let Decision::Reject { quarantine, .. } = &mut d {
            *quarantine = true;
        }
        return Err(Box::new(d));
    }
    let Some(from) = &i.from else {
        return Err(Box::new(reject(cfg, Rejection::NoSender, &i.subject)));
    };
    if let Some(first) = f.first_seen {
        return Err(Box::new(Decision::Duplicate { first }));
    }
    if let (Some(id), false) = (&cfg.authserv_id, f.released) {
        if authres::dmarc(&i.auth_results, id) == Some(authres::Dmarc::Fail) {
            return Err(Box::new(Decision::DmarcFail {
                authserv_id: id.clone(),
                message_row: f.message_row,
            }));
        }
    }
    if let Some(problem) = attachments::problem(i, &cfg.attachments) {
        return Err(Box::new(reject(
            cfg,
            Rejection::Attachments { problem },
            &i.subject,
        )));
    }
    Ok(from)
}

/// A refusal answered (when the reason gets an answer) under `Re: <their subject>`.
fn reject(cfg: &Config, r: Rejection, their_subject: &str) -> Decision {
    let reply = r
        .reply(&crate::intake::reject::ReplyCtx::of(cfg), their_subject)
        .map(|body| {
            Reply::ready(
                MailKind::Rejection,
                replies::reply_subject(cfg, their_subject),
                body,
            )
        });
    Decision::Reject {
        rejection: r,
        quarantine: false,
        proposal_id: None,
        reply,
    }
}

/// Whether the CFP was closed for mail that arrived at `arrived` (deadline plus grace
/// had passed).
pub fn closed(cfg: &Config, arrived: DateTime<Utc>) -> bool {
    arrived > cfg.conference.cfp_deadline + cfg.conference.grace
}

/// Mail without a valid reply token: a new proposal, a request for help, or a refusal
/// (a token-less withdraw or review); never a change to anything stored.
fn new_mail(
    i: &Inbound,
    f: &Facts<'_>,
    read: Option<&Read>,
    review_like: bool,
    from: &Mailbox,
) -> Decision {
    let cfg = f.cfg;
    // A proposal read while preparing has passed these checks already (no `withdraw`,
    // labelled fields found, so `help` cannot matter below): only mail that preparing did
    // not read needs its text here.
    let (text, cmd) = match read {
        Some(_) => (String::new(), None),
        None => {
            let text = i.body_text();
            let cmd = command(&i.subject, &text);
            (text, cmd)
        }
    };
    if cmd == Some(Command::Withdraw) {
        return reject(cfg, Rejection::WithdrawWithoutToken, &i.subject);
    }
    let is_chair = cfg
        .chairs
        .iter()
        .any(|c| super::inbound::same_address(c, &from.address));
    if is_chair && read.is_none() && !crate::decision::command::parse(&text).commands.is_empty() {
        return reject(cfg, Rejection::ChairWithoutToken, &i.subject);
    }
    if review_like {
        // A From header alone never selects an assignment.
        return Decision::review_refusal(
            cfg,
            Rejection::ReviewWithoutToken,
            subject(cfg, "Your review was not recorded"),
            true,
            None,
        );
    }
    if cmd != Some(Command::Help) {
        let body = || match read {
            Some(_) => i.body_text(),
            None => text.clone(),
        };
        if let Some(reference) = reply_about_proposal(i, cfg.cfp_domain(), body) {
            // Nothing is stored: a From header never selects the proposal it names.
            return reject(cfg, Rejection::ReplyWithoutToken { reference }, &i.subject);
        }
    }
    let computed;
    let parsed = match read {
        Some((p, _)) => p,
        None => {
            computed = proposal::parse(&text, &cfg.proposals);
            &computed
        }
    };
    if parsed.labels_found == 0 || parsed.fields.count_given() == 0 {
        // The help text to unreadable mail is the backscatter path: it goes only to
        // mail that looks written by a person.
        if let Some(why) = classify::not_written_by_person(Some(&from.address), &text) {
            return Decision::Machine(MachineKind::System {
                reason: format!("unreadable and not written by a person: {why}"),
            });
        }
        if cmd == Some(Command::Help) {
            return Decision::Help {
                proposal_id: None,
                reply: help_reply(cfg, f.tagger, None),
            };
        }
        let why = person::Why::NotAProposal;
        if let Some(d) = person::for_person(cfg, i, from, why, None, text.clone()) {
            return d;
        }
        return Decision::NotAProposal {
            reply: help_reply(cfg, f.tagger, Some(
                "We could not find a proposal in your message: it has none of the\nlabelled fields below (\"Title:\", \"Abstract:\", …). Nothing was recorded.",
            )),
        };
    }
    let topics = match read {
        Some((_, t)) => t.clone(),
        None => file_topics(f.tagger, &parsed.fields, &TagOverrides::default()),
    };
    let fields = parsed.fields.clone();
    let problems = proposal::problems(&fields, &cfg.proposals);
    let status = if closed(cfg, f.arrived) {
        ProposalStatus::Late
    } else if problems.is_empty() {
        ProposalStatus::Submitted
    } else {
        ProposalStatus::Draft
    };
    Decision::NewProposal(Box::new(NewProposal {
        speaker: from.clone(),
        status,
        fields,
        problems,
        topics,
    }))
}

/// Mail through a valid proposal token: help, withdraw, or an update — from its speaker
/// only; a token for a proposal that no longer exists makes it new mail.
fn follow_up(
    i: &Inbound,
    f: &Facts<'_>,
    from: &Mailbox,
    (pid, bound): (i64, &str),
    proposal: Option<&ProposalRow>,
    decision: Option<&DecisionRow>,
) -> Decision {
    let cfg = f.cfg;
    let reference = proposal::reference(pid);
    if from.address != bound {
        let from = from.address.clone();
        return reject(
            cfg,
            Rejection::SenderMismatch { reference, from },
            &i.subject,
        );
    }
    let Some(p) = proposal else {
        return new_mail(i, f, None, false, from);
    };
    let text = i.reply_text();
    let cmd = command(&i.subject, &text);
    if cmd == Some(Command::Help) {
        return Decision::Help {
            proposal_id: Some(pid),
            reply: help_reply(cfg, f.tagger, None),
        };
    }
    if p.status == ProposalStatus::Withdrawn {
        return reject(cfg, Rejection::ProposalWithdrawn { reference }, &i.subject);
    }
    if cmd == Some(Command::Withdraw) {
        return Decision::Withdraw {
            proposal_id: pid,
            reply: replies::withdrawn(cfg, from, &reference, p),
        };
    }
    let fields_given = proposal::parse(&text, &cfg.proposals).fields.count_given();
    if fields_given == 0 && !crate::decision::command::parse(&text).commands.is_empty() {
        // A speaker's token decides nothing about the program.
        return reject(cfg, Rejection::ChairWithoutToken, &i.subject);
    }
    let told_acceptance = decision
        .filter(|d| d.decision == crate::model::Decision::Accepted && d.notified_at.is_some());
    if let Some(d) = told_acceptance {
        if let Some(answer) = crate::decision::confirm::answer(&text) {
            return Decision::Confirmation {
                proposal_id: pid,
                version: d.version,
                answer,
                reply: replies::confirmation(cfg, from, &reference, p, answer),
            };
        }
        if proposal::parse(&text, &cfg.proposals).fields.count_given() == 0 {
            let mut d = reject(
                cfg,
                Rejection::ConfirmationUnclear { reference },
                &i.subject,
            );
            if let Decision::Reject {
                reply: Some(r),
                proposal_id,
                ..
            } = &mut d
            {
                // They answer this refusal with the word it asks for.
                r.token = ReplyToken::FreshProposal;
                *proposal_id = Some(pid);
            }
            return d;
        }
    }
    if closed(cfg, f.arrived) {
        let why = person::Why::AfterDeadline;
        if let Some(d) = person::for_person(cfg, i, from, why, Some(p), text.clone()) {
            return d;
        }
        let deadline = replies::deadline_text(cfg);
        let r = Rejection::CfpClosed {
            reference,
            deadline,
        };
        return reject(cfg, r, &i.subject);
    }
    let parsed = proposal::parse(&text, &cfg.proposals);
    if parsed.fields.count_given() == 0 {
        let why = person::Why::NothingToChange;
        if let Some(d) = person::for_person(cfg, i, from, why, Some(p), text.clone()) {
            return d;
        }
        return reject(
            cfg,
            Rejection::UpdateNotUnderstood { reference },
            &i.subject,
        );
    }
    let fields = p.fields.merged_with(&parsed.fields);
    let problems = proposal::problems(&fields, &cfg.proposals);
    let topics = file_topics(f.tagger, &fields, &p.overrides);
    let status = if problems.is_empty() {
        ProposalStatus::Submitted
    } else {
        ProposalStatus::Draft
    };
    let version = p.version + 1;
    let reply = replies::updated(cfg, from, &reference, version, &fields, &problems, &topics);
    Decision::Update(Box::new(Update {
        proposal_id: pid,
        version,
        status,
        fields,
        problems,
        topics,
        bound: bound.to_string(),
        reply,
    }))
}

/// The topics a proposal is filed under: the tagger's choice, then the chair's
/// overrides (removals dropped, additions kept with a note as evidence).
pub fn file_topics(
    tagger: &Tagger,
    f: &proposal::Fields,
    overrides: &TagOverrides,
) -> Vec<FiledTopic> {
    let declared = f.topics.clone().unwrap_or_default();
    let input = TagInput {
        title: f.title.as_deref().unwrap_or(""),
        abstract_text: f.abstract_text.as_deref().unwrap_or(""),
        description: f.description.as_deref().unwrap_or(""),
        declared: &declared,
    };
    let ranked = tagger.rank(&input);
    let mut filed: Vec<FiledTopic> = tagger
        .file(&ranked)
        .into_iter()
        .filter(|t| !overrides.remove.contains(&t.id))
        .map(|t| FiledTopic {
            id: t.id,
            name: t.name,
            score: t.score,
            evidence: t.evidence,
        })
        .collect();
    for id in &overrides.add {
        if filed.iter().any(|t| &t.id == id) {
            continue;
        }
        if let Some(t) = tagger.set().get(id) {
            filed.push(FiledTopic {
                id: t.id.clone(),
                name: t.name.clone(),
                score: 0.0,
                evidence: vec![crate::topics::tagger::CHAIR_ADDED.into()],
            });
        }
    }
    filed
}
