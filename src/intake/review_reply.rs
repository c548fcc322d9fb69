//! Review replies, applied: mail that arrives through an assignment's reply token.
//!
//! The rules live in [`super::decide::review`] (pure): which token, which reviewer, which
//! assignment, which command or form. Here the facts they need are loaded, and what they
//! allow is recorded, in the intake batch's transaction, with the reply:
//!
//! * A review is stored as the assignment's next version (history kept) and answered
//!   with a receipt echoing what was recorded; the receipt carries a fresh token so the
//!   reviewer can revise by replying to it.
//! * `decline` / `conflict` release the assignment (a conflict is remembered as one) and
//!   refill the proposal with the next-best eligible reviewer ([`assignment::refill`]),
//!   who gets an assignment mail; the release is kept for the chair's digest
//!   ([`rstore::released_since`]).
//! * A form that cannot be read gets one reply naming every problem, at most
//!   `limits.review_help_per_day` per reviewer and day.

use crate::outbox::custom::Mail;

use super::decide::review::{self as rules, Allowed, ReviewAction, ReviewFacts};
use super::decide::{Body, Decision, Reply, ReplyToken};
use super::inbound::{self, Inbound};
use super::pipeline::{Batch, Handled};
use super::{Intake, IntakeError};
use crate::assign::commit as assignment;
use crate::model::MailKind;
use crate::outbox::templates;
use crate::review::form::{FormProblem, FormSpec, ReviewAnswer};
use crate::store::messages::PendingMessage;
use crate::store::proposals::{self as pstore, ProposalRow, TokenRow};
use crate::store::review::{self as rstore, AssignmentState};
use crate::store::reviews::{self, NewReview};
use crate::store::{self, outbox, AnyConnection};
use crate::token;
pub use rules::{looks_like_review, read_reply, Reading, REVIEW_HELP_KIND};

/// What an allowed reply is about, for its answer.
struct About<'a> {
    /// The assignment.
    assignment_id: i64,
    /// Its proposal.
    pid: i64,
    /// `P-0042`.
    reference: String,
    /// The proposal's title.
    title: String,
    /// The reviewer's name.
    reviewer_name: Option<String>,
    /// The token the reply came through.
    token: &'a TokenRow,
}

impl Intake {
    pub(super) fn review_subject(&self, reference: &str, what: &str) -> String {
        rules::review_subject(&self.cfg, reference, what)
    }

    /// The review form's scales, from the config.
    pub(super) fn form_spec(&self) -> FormSpec {
        rules::form_spec(&self.cfg)
    }

    /// A fresh reply token for the assignment, bound to its reviewer: receipts and help
    /// replies carry one so that answering them works like answering the assignment mail.
    async fn assignment_token(
        &self,
        tx: &mut AnyConnection,
        about: &About<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, IntakeError> {
        let tok = token::generate();
        rstore::insert_assignment_token(
            tx,
            &tok.hash,
            about.assignment_id,
            about.pid,
            &about.token.bound_address,
            store::ms(now),
            Some(assignment::token_expiry(&self.cfg, now)),
        )
        .await?;
        Ok(tok.secret)
    }

    /// What the review rules need: the assignment, the other assignment a threading
    /// header names (if any), the proposal, and (after the review deadline) whether a
    /// review stands.
    async fn review_facts(
        &self,
        tx: &mut AnyConnection,
        i: &Inbound,
        t: &TokenRow,
        arrived: chrono::DateTime<chrono::Utc>,
    ) -> Result<ReviewFacts, IntakeError> {
        let assignment = match t.assignment_id {
            Some(id) => rstore::assignment(tx, id).await?,
            None => None,
        };
        let mut rf = ReviewFacts {
            token: t.clone(),
            assignment: None,
            threaded: None,
            proposal: None,
            has_review: false,
            arrived,
        };
        let Some(a) = assignment else {
            return Ok(rf);
        };
        'headers: for (via, ids) in rules::threading_ids(i) {
            if ids.is_empty() {
                continue;
            }
            for other in rstore::assignments_mailed_as(tx, &ids).await? {
                if other == a.id {
                    continue;
                }
                if let Some(o) = rstore::assignment(tx, other).await? {
                    rf.threaded = Some((via, o.proposal_id));
                    break 'headers;
                }
            }
        }
        rf.proposal = pstore::get(tx, a.proposal_id).await?.map(Box::new);
        if rules::review_closed(&self.cfg, arrived) {
            rf.has_review = reviews::current(tx, a.id).await?.is_some();
        }
        rf.assignment = Some(a);
        Ok(rf)
    }

    /// Handle a mail that arrived through an assignment token (see the module docs).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn review_reply(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        m: &PendingMessage,
        i: &Inbound,
        from: &inbound::Mailbox,
        t: &TokenRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let rf = self
            .review_facts(tx, i, t, super::apply::arrived(m, now))
            .await?;
        let Allowed {
            assignment: a,
            proposal: p,
            action,
        } = match rules::review(i, from, &self.cfg, now, &rf) {
            Ok(allowed) => allowed,
            Err(d) if matches!(*d, Decision::ForPerson(_)) => {
                return self.for_person(tx, m, *d, now).await
            }
            Err(refusal) => return Ok((*refusal).into()),
        };
        let reviewer = rstore::reviewer(tx, a.reviewer_id).await?;
        let about = About {
            assignment_id: a.id,
            pid: a.proposal_id,
            reference: p.reference(),
            title: p.fields.title.clone().unwrap_or_else(|| "untitled".into()),
            reviewer_name: reviewer.and_then(|r| r.name),
            token: t,
        };
        match action {
            ReviewAction::Release { conflict } => {
                self.release(tx, m, &p, &about, conflict, now).await
            }
            ReviewAction::Help => self.review_help(tx, &about, now).await,
            ReviewAction::Problems(problems) => {
                self.form_problems(tx, b, &about, &problems, from, now)
                    .await
            }
            ReviewAction::Record(answer) => self.record_review(tx, m, &about, &answer, now).await,
        }
    }

    /// `decline` / `conflict`: release the assignment and refill the proposal.
    async fn release(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        p: &ProposalRow,
        about: &About<'_>,
        conflict: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let state = if conflict {
            AssignmentState::Conflict
        } else {
            AssignmentState::Declined
        };
        rstore::release(tx, about.assignment_id, state, Some(m.id), store::ms(now)).await?;
        let (replacement, note) = self.refill(tx, p, now).await?;
        if let Some(r) = replacement {
            rstore::set_replacement(tx, about.assignment_id, r).await?;
        }
        let reference = &about.reference;
        let body = templates::ReleasedReply {
            conference: &self.cfg.conference.name,
            contact: &self.cfg.conference.contact,
            reviewer_name: about.reviewer_name.as_deref().unwrap_or(""),
            reference,
            title: &templates::quoted(&about.title),
            conflict,
            reassigned: replacement.is_some(),
        }
        .text(&self.cfg.templates)
        .unwrap_or_default();
        let subject = self.review_subject(
            reference,
            if conflict {
                "conflict of interest recorded"
            } else {
                "declined"
            },
        );
        Ok(Decision::Released {
            conflict,
            proposal_id: about.pid,
            detail: format!("{reference}: {note}"),
            reply: Reply::ready(MailKind::Released, subject, body),
        }
        .into())
    }

    /// `help` from a reviewer: how to answer, with a fresh token.
    async fn review_help(
        &self,
        tx: &mut AnyConnection,
        about: &About<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let spec = self.form_spec();
        let body = templates::ReviewHelp {
            conference: &self.cfg.conference.name,
            contact: &self.cfg.conference.contact,
            reviewer_name: about.reviewer_name.as_deref().unwrap_or(""),
            reference: &about.reference,
            title: &templates::quoted(&about.title),
            scale: spec,
            review_deadline: self.cfg.review_deadline_text().unwrap_or_default(),
        }
        .text(&self.cfg.templates)
        .unwrap_or_default();
        let secret = self.assignment_token(tx, about, now).await?;
        Ok(Decision::Help {
            proposal_id: Some(about.pid),
            reply: Reply {
                kind: MailKind::Help,
                subject: self.review_subject(&about.reference, "how to answer"),
                body: Body::Ready(body),
                token: ReplyToken::Secret(secret),
            },
        }
        .into())
    }

    /// Store the review as the assignment's next version, with a receipt.
    async fn record_review(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        about: &About<'_>,
        answer: &ReviewAnswer,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let (version, previous) = reviews::record(
            tx,
            &NewReview {
                assignment_id: about.assignment_id,
                score: answer.score,
                confidence: answer.confidence,
                comments_speaker: &answer.comments_speaker,
                comments_committee: &answer.comments_committee,
                message_row: Some(m.id),
            },
            store::ms(now),
        )
        .await?;
        let secret = self.assignment_token(tx, about, now).await?;
        let replaced = previous.as_ref().map(|r| (r.version, r.score));
        let spec = self.form_spec();
        let reference = &about.reference;
        let body = templates::ReviewReceipt {
            conference: &self.cfg.conference.name,
            contact: &self.cfg.conference.contact,
            reviewer_name: about.reviewer_name.as_deref().unwrap_or(""),
            reference,
            title: &templates::quoted(&about.title),
            version,
            replaced_version: replaced.map_or(0, |(v, _)| v),
            replaced_score: replaced.map_or(0, |(_, s)| s),
            score: answer.score,
            confidence: answer.confidence.map(|c| c.to_string()).unwrap_or_default(),
            comments_speaker: &answer.comments_speaker,
            comments_committee: &answer.comments_committee,
            scale: spec,
            review_deadline: self.cfg.review_deadline_text().unwrap_or_default(),
        }
        .text(&self.cfg.templates)
        .unwrap_or_default();
        let detail = match replaced {
            Some((v, s)) => format!(
                "{reference} review version {version}: score {} (replaces version {v}, score {s})",
                answer.score
            ),
            None => format!(
                "{reference} review version {version}: score {}",
                answer.score
            ),
        };
        Ok(Decision::ReviewRecorded {
            proposal_id: about.pid,
            detail,
            reply: Reply {
                kind: MailKind::Receipt,
                subject: self
                    .review_subject(reference, &format!("recorded (score {})", answer.score)),
                body: Body::Ready(body),
                token: ReplyToken::Secret(secret),
            },
        }
        .into())
    }

    /// One reply naming every problem with the form (with a fresh token, so answering it
    /// works), unless this reviewer already had `limits.review_help_per_day` of them today.
    async fn form_problems(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        about: &About<'_>,
        problems: &[FormProblem],
        from: &inbound::Mailbox,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let refusal = rules::form_refusal(&self.cfg, &about.reference, problems, about.pid);
        let mut h = Handled::from(refusal);
        let since = store::ms(now) - 24 * 3600 * 1000;
        let mailbox = crate::model::mailbox_key(&from.address);
        let sent = match b.help_counts.get(&mailbox) {
            Some(n) => *n,
            None => outbox::kind_count(tx, &from.address, REVIEW_HELP_KIND, since).await?,
        };
        let cap = self.cfg.limits.review_help_per_day as i64;
        if sent >= cap {
            h.reply = None;
            if let Some(d) = h.finish.detail.as_mut() {
                d.push_str(&format!(
                    "; help reply suppressed: {sent} sent to {} in 24 h",
                    from.address
                ));
            }
            return Ok(h);
        }
        b.help_counts.insert(mailbox, sent + 1);
        let secret = self.assignment_token(tx, about, now).await?;
        if let Some(reply) = h.reply.as_mut() {
            reply.kind = REVIEW_HELP_KIND;
            reply.token = ReplyToken::Secret(secret);
        }
        Ok(h)
    }

    /// Give a proposal the reviewers it is missing after a release
    /// ([`assignment::refill`], shared with the chair's `cfpd reviewers
    /// remove`). Returns the first new assignment (if any) and a note for the
    /// message log.
    async fn refill(
        &self,
        tx: &mut AnyConnection,
        p: &ProposalRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Option<i64>, String), IntakeError> {
        let r = assignment::refill(tx, &self.cfg, &self.composer, p, now).await?;
        Ok((r.first, r.note))
    }
}
