//! One message inside a batch's transaction: load the facts [`decide`] needs, call it,
//! and apply what it decided (proposal rows, versions, tokens, unsubscriptions, bounce
//! records, review replies), collecting the batch's writes in [`Batch`].

use super::decide::{self, Authority, Decision, Facts, Grant, ReplyToken, Unreadable};
use super::inbound::Inbound;
use super::pipeline::{Batch, Handled, Prepared};
use super::{bounce, unsubscribe, Intake, IntakeError};
use crate::store::messages::{self, Finish, PendingMessage, Received};
use crate::store::proposals::{self as pstore, NewVersion, TokenKind};
use crate::store::{self, chair, decisions, AnyConnection};
use crate::token;

/// When `m` reached the mailbox, as its source recorded it, never after `now`: the
/// instant the CFP and review deadlines are judged on (see [`Facts::arrived`]).
pub(super) fn arrived(
    m: &PendingMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    store::from_ms(m.arrived_at).min(now)
}

/// `d` handled, its reply carrying a fresh token for proposal `pid` bound to
/// the sender (whom the rules already checked against the token they used).
fn with_fresh_token(b: &mut Batch, d: Decision, pid: i64, i: &Inbound) -> Handled {
    let mut h = Handled::from(d);
    if let (Some(reply), Some(from)) = (h.reply.as_mut(), i.from.as_ref()) {
        let tok = token::generate();
        b.tokens.push(pstore::NewTokenRow {
            hash: tok.hash,
            kind: TokenKind::Proposal,
            proposal_id: Some(pid),
            bound_address: from.address.clone(),
        });
        reply.token = ReplyToken::Secret(tok.secret);
    }
    h
}

/// Whether applying `d` writes only through [`Batch`] (flushed after the
/// message's own row), never a row that refers to the message at once: a
/// fresh message with such a decision is stored once, with its terminal
/// state, when the batch flushes.
fn writes_through_batch_only(d: &Decision) -> bool {
    match d {
        Decision::NewProposal(_)
        | Decision::Duplicate { .. }
        | Decision::Help { .. }
        | Decision::NotAProposal { .. }
        | Decision::ReturnPath
        | Decision::DmarcFail { .. }
        | Decision::Quarantine(Unreadable::Panicked(_))
        | Decision::Quarantine(Unreadable::Unparseable(_)) => true,
        Decision::Reject { reply, .. } => !matches!(
            reply,
            Some(decide::Reply {
                token: ReplyToken::FreshBid(_),
                ..
            })
        ),
        _ => false,
    }
}

impl Intake {
    /// Decide and apply one prepared message.
    pub(super) async fn handle(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        prepared: &Prepared,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let i = match &prepared.inbound {
            Err(why) => return Ok(Decision::Quarantine(why.clone()).into()),
            Ok(i) => i,
        };
        let first_seen = i
            .message_id
            .as_ref()
            .and_then(|mid| b.seen.get(mid))
            .copied()
            .filter(|first| *first != m.id);
        let mut facts = Facts {
            cfg: &self.cfg,
            tagger: &self.tagger,
            now,
            arrived: arrived(m, now),
            message_row: m.id,
            raw_len: m.raw.len(),
            released: m.released,
            first_seen,
            read: prepared.proposal.as_ref(),
            review_like: prepared.review_like,
            authority: None,
        };
        // `decide::decide` in two steps: the reply tokens are looked up only for mail
        // that passes the screening.
        let d = match decide::screen(i, &facts) {
            Err(d) => *d,
            Ok(from) => {
                // A reply that arrived while its token was valid counts, as
                // for the deadlines.
                facts.authority = self.authority(tx, i, facts.arrived).await?;
                decide::authorized(i, &facts, from)
            }
        };
        if b.unstored.contains(&m.id) && !writes_through_batch_only(&d) {
            self.store_now(tx, b, m).await?;
        }
        self.apply(tx, b, m, i, d, now).await
    }

    /// Store a fresh message as `received` now, before handling it writes
    /// rows that refer to it; its terminal state is then an update, as for
    /// a message stored by its source.
    async fn store_now(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
    ) -> Result<(), IntakeError> {
        let received = Received {
            source_key: &m.source_key,
            received_at: b.received_at,
            arrived_at: m.arrived_at,
            raw: &m.raw,
        };
        messages::insert_received_as(tx, m.id, &received).await?;
        b.unstored.remove(&m.id);
        Ok(())
    }

    /// What the first authorizing reply token among the recipients selects at `at` (see
    /// [`decide::authorize`]), with the proposal a proposal token names; an expired
    /// proposal token only when no recipient's token is valid.
    async fn authority(
        &self,
        tx: &mut AnyConnection,
        i: &Inbound,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Authority>, IntakeError> {
        let mut expired = None;
        for r in &i.recipients {
            let Some(token::Tagged::Reply(secret)) =
                token::extract(r, self.cfg.cfp_local(), self.cfg.cfp_domain())
            else {
                continue;
            };
            let hash = token::hash(&secret);
            let Some(t) = pstore::lookup_token(tx, &hash).await? else {
                if let Some(ct) = chair::lookup_token(tx, &hash).await? {
                    return Ok(Some(self.chair_authority(tx, ct).await?));
                }
                if let Some(bt) = store::bids::lookup_token(tx, &hash).await? {
                    let reviewer = store::review::reviewers(tx)
                        .await?
                        .into_iter()
                        .find(|r| r.id == bt.reviewer_id);
                    return Ok(Some(Authority::Bids(Box::new(decide::BidAuthority {
                        token: bt,
                        reviewer,
                        proposals: pstore::list(tx).await?,
                    }))));
                }
                continue;
            };
            let days = self.cfg.proposals.reply_token_days;
            match decide::authorize(&t, store::ms(now), days) {
                Some(Grant::Assignment) => return Ok(Some(Authority::Assignment(t))),
                Some(Grant::Proposal(id)) => {
                    let proposal = pstore::get(tx, id).await?.map(Box::new);
                    let decision = decisions::current(tx, id).await?.map(Box::new);
                    return Ok(Some(Authority::Proposal {
                        id,
                        bound: t.bound_address,
                        proposal,
                        decision,
                    }));
                }
                Some(Grant::ProposalExpired(id)) => {
                    let bound = t.bound_address;
                    expired = expired.or(Some(Authority::ExpiredProposal { id, bound }));
                }
                None => {}
            }
        }
        Ok(expired)
    }

    /// What a chair token selects: its request (for a confirm token), and
    /// every proposal and current decision (commands may name any).
    async fn chair_authority(
        &self,
        tx: &mut AnyConnection,
        token: crate::model::ChairTokenRow,
    ) -> Result<Authority, IntakeError> {
        let request = match token.request_id {
            Some(id) => chair::request(tx, id).await?,
            None => None,
        };
        Ok(Authority::Chair(Box::new(decide::ChairAuthority {
            token,
            request,
            proposals: pstore::list(tx).await?,
            current: decisions::current_all(tx).await?,
        })))
    }

    /// Carry out a decision: its writes, and the terminal state and reply it leads to.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        i: &Inbound,
        d: Decision,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let now_ms = store::ms(now);
        match d {
            Decision::Unsubscribe { secret } => unsubscribe::apply(tx, &secret, m.id, now).await,
            Decision::Machine(ref kind) => {
                let note = match kind.bounce() {
                    Some(info) => Some(
                        bounce::record(tx, &self.cfg, &self.composer, i, info, m.id, now_ms)
                            .await?,
                    ),
                    None => None,
                };
                let mut h = Handled::from(d);
                if let (Some(n), Some(detail)) = (note, h.finish.detail.as_mut()) {
                    detail.push_str(&format!("; {n}"));
                }
                Ok(h)
            }
            Decision::ReviewReply { token, from } => {
                self.review_reply(tx, b, m, i, &from, &token, now).await
            }
            Decision::NewProposal(np) => self.record_new(tx, b, m, *np).await,
            Decision::Update(ref u) => {
                let v = NewVersion {
                    proposal_id: u.proposal_id,
                    version: u.version,
                    message_row: Some(m.id),
                    fields: &u.fields,
                    problems: &u.problems,
                    topics: &u.topics,
                };
                pstore::insert_version(tx, &v, u.status, now_ms).await?;
                let tok = token::generate();
                b.tokens.push(pstore::NewTokenRow {
                    hash: tok.hash,
                    kind: TokenKind::Proposal,
                    proposal_id: Some(u.proposal_id),
                    bound_address: u.bound.clone(),
                });
                let mut h = Handled::from(d);
                if let Some(reply) = h.reply.as_mut() {
                    reply.token = ReplyToken::Secret(tok.secret);
                }
                Ok(h)
            }
            Decision::Withdraw { proposal_id, .. } => {
                pstore::withdraw(tx, proposal_id, now_ms).await?;
                let why = "its speaker withdrew it";
                let mut h = Handled::from(d);
                self.drop_out(tx, &mut h, proposal_id, why, now).await?;
                Ok(h)
            }
            Decision::Confirmation {
                proposal_id,
                version,
                answer,
                ..
            } => {
                decisions::record_confirmation(tx, proposal_id, version, answer, m.id, now_ms)
                    .await?;
                let mut h = with_fresh_token(b, d, proposal_id, i);
                if answer == crate::model::Confirmation::Declined {
                    let why = "its speaker declined it";
                    self.drop_out(tx, &mut h, proposal_id, why, now).await?;
                }
                Ok(h)
            }
            Decision::Reject {
                proposal_id: Some(pid),
                reply: Some(ref r),
                ..
            } if r.token == ReplyToken::FreshProposal => Ok(with_fresh_token(b, d, pid, i)),
            Decision::BidsRecorded { .. }
            | Decision::Reject {
                reply:
                    Some(decide::Reply {
                        token: ReplyToken::FreshBid(_),
                        ..
                    }),
                ..
            } => self.bid_reply(tx, m, i, d, now_ms).await,
            Decision::ChairRequest {
                ref chair,
                ref commands,
                ..
            } => {
                let id = chair::insert_request(tx, chair, commands, m.id, now_ms).await?;
                let tok = token::generate();
                let kind = crate::model::ChairTokenKind::Confirm;
                chair::insert_token(tx, &tok.hash, kind, chair, Some(id), now_ms).await?;
                let mut h = Handled::from(d);
                if let Some(reply) = h.reply.as_mut() {
                    reply.token = ReplyToken::Secret(tok.secret);
                }
                Ok(h)
            }
            Decision::ChairDecided {
                request_id,
                ref chair,
                ref commands,
                ..
            } => {
                if !chair::claim_request(tx, request_id, m.id, now_ms).await? {
                    // Applied meanwhile by another "yes": this one is a replay.
                    let subject = decide::subject(&self.cfg, "Nothing was decided again");
                    let r = crate::intake::reject::Rejection::ChairConfirmationUsed;
                    return Ok(Decision::review_refusal(&self.cfg, r, subject, true, None).into());
                }
                {
                    for (pid, decision) in commands {
                        let new = decisions::NewDecision {
                            proposal_id: *pid,
                            decision: *decision,
                            source: crate::model::DecisionSource::Mail,
                            decided_by: chair,
                            note: None,
                        };
                        decisions::record(tx, &new, now_ms).await?;
                    }
                }
                Ok(d.into())
            }
            Decision::ForPerson(_) => self.for_person(tx, m, d, now).await,
            Decision::Quarantine(Unreadable::Panicked(_))
            | Decision::Quarantine(Unreadable::Unparseable(_))
            | Decision::ReturnPath
            | Decision::Duplicate { .. }
            | Decision::DmarcFail { .. }
            | Decision::Reject { .. }
            | Decision::Help { .. }
            | Decision::NotAProposal { .. }
            | Decision::Released { .. }
            | Decision::ReviewRecorded { .. } => Ok(d.into()),
        }
    }

    /// Mail for a person: kept, and its thread forwarded to the contact
    /// when due; when not, the sender was told today already, so the reply
    /// is dropped and the next forward of the thread carries the message.
    pub(super) async fn for_person(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        d: Decision,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let Decision::ForPerson(p) = &d else {
            return Ok(d.into());
        };
        let arrived_ms = store::ms(arrived(m, now));
        let (cfg, composer) = (&self.cfg, &self.composer);
        let now_ms = store::ms(now);
        let forwarded =
            super::person::keep_and_forward(tx, cfg, composer, m.id, p, arrived_ms, now_ms).await?;
        let mut h = Handled::from(d);
        let note = if forwarded {
            format!("forwarded to {}", self.cfg.conference.contact.join(", "))
        } else {
            h.reply = None;
            "kept: this thread was forwarded less than a day ago; \
             it goes with the next forward"
                .to_string()
        };
        if let Some(detail) = h.finish.detail.as_mut() {
            detail.push_str(&format!("; {note}"));
        }
        Ok(h)
    }

    /// Bids read from a reply (stored, replacing all of the reviewer's earlier bids), or a
    /// refusal whose answer is a bid again: either way the answer carries a fresh bidding
    /// token bound to the sender, whom the rules already checked against the token used.
    async fn bid_reply(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        i: &Inbound,
        d: Decision,
        now_ms: i64,
    ) -> Result<Handled, IntakeError> {
        let reviewer_id = match &d {
            Decision::BidsRecorded {
                reviewer_id, bids, ..
            } => {
                store::bids::replace(tx, *reviewer_id, bids, m.id, now_ms).await?;
                *reviewer_id
            }
            Decision::Reject {
                reply:
                    Some(decide::Reply {
                        token: ReplyToken::FreshBid(id),
                        ..
                    }),
                ..
            } => *id,
            _ => return Ok(d.into()),
        };
        let mut h = Handled::from(d);
        if let (Some(reply), Some(from)) = (h.reply.as_mut(), i.from.as_ref()) {
            let tok = token::generate();
            store::bids::insert_token(tx, &tok.hash, reviewer_id, &from.address, now_ms).await?;
            reply.token = ReplyToken::Secret(tok.secret);
        }
        Ok(h)
    }

    /// An accepted talk dropped out: the waiting list per `[decisions]
    /// promote`, noted in the message's detail.
    async fn drop_out(
        &self,
        tx: &mut AnyConnection,
        h: &mut Handled,
        pid: i64,
        why: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), IntakeError> {
        let p =
            crate::decision::notify::after_drop_out(tx, &self.cfg, &self.composer, pid, why, now)
                .await?;
        if let Some(note) = p.detail() {
            h.finish.add_note(note);
        }
        Ok(())
    }

    /// Record a new proposal: an id (reserved for the batch), its speaker, its first
    /// version and a reply token bound to its speaker, all written when the batch flushes.
    async fn record_new(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        np: decide::NewProposal,
    ) -> Result<Handled, IntakeError> {
        let pid = match b.reserved_ids.pop_front() {
            Some(id) => id,
            None => pstore::reserve_ids(tx, self.store.backend, 1).await?[0],
        };
        let mut reply = np.reply(&self.cfg, pid);
        let state = np.state();
        let finish = Finish {
            reason: np.reason(),
            detail: np.detail(),
            proposal_id: Some(pid),
            ..Default::default()
        };
        let tok = token::generate();
        reply.token = ReplyToken::Secret(tok.secret);
        b.speakers
            .push((np.speaker.address.clone(), np.speaker.name.clone()));
        b.tokens.push(pstore::NewTokenRow {
            hash: tok.hash,
            kind: TokenKind::Proposal,
            proposal_id: Some(pid),
            bound_address: np.speaker.address.clone(),
        });
        b.proposals.push(pstore::NewProposal {
            id: pid,
            speaker_email: np.speaker.address,
            status: np.status,
            message_row: m.id,
            fields: np.fields,
            problems: np.problems,
            topics: np.topics,
            record: None,
        });
        Ok(Handled {
            state,
            finish,
            reply: Some(reply),
            first_ack: true,
        })
    }
}
