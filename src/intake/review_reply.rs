//! Review replies: mail that arrives through an assignment's reply token.
//!
//! The token in the recipient address selects the assignment — nothing else does. The
//! reply counts only when the token is unexpired *and* the From address is the reviewer it
//! is bound to ([`inbound::same_address`]: domain after IDNA lower-casing, local part
//! exact). Every refusal is a typed [`Rejection`] and changes nothing.
//!
//! Once the sender is known to be the assigned reviewer, the reply is checked for
//! consistency (a subject or In-Reply-To naming a *different* assignment makes it
//! ambiguous: refused — threading headers can refuse, never select), then for state
//! (released assignment, withdrawn proposal, review deadline passed), then read: quoted
//! text and signatures are trimmed ([`review::trim`]), and the rest is a command
//! (`decline`, `conflict`, `help`) or a review form ([`review::form`]).
//!
//! * A review is stored as the assignment's next version (history kept) and answered
//!   with a receipt echoing what was recorded; the receipt carries a fresh token so the
//!   reviewer can revise by replying to it.
//! * `decline` / `conflict` release the assignment (a conflict is remembered as one) and
//!   refill the proposal with the next-best eligible reviewer ([`review::plan::refill`]),
//!   who gets an assignment mail; the release is kept for the chair's digest
//!   ([`rstore::released_since`]).
//! * A form that cannot be read gets one reply naming every problem, at most
//!   `limits.review_help_per_day` per reviewer and day.
//!
//! Everything is written in the intake batch's transaction, with the reply.

use std::sync::OnceLock;

use askama::Template;

use super::decide::{Body, Decision, Reply, ReplyToken};
use super::inbound::{self, Inbound};
use super::pipeline::{Batch, Handled};
use super::{Intake, IntakeError, Rejection};
use crate::assignment::{self, NewPair};
use crate::outbox::templates;
use crate::proposal::{self, ProposalStatus};
use crate::review::form::{self, FormProblem, FormSpec, ReplyCommand, ReviewAnswer};
use crate::review::{plan, solver, trim};
use crate::store::messages::PendingMessage;
use crate::store::proposals::{ProposalRow, TokenRow};
use crate::store::review::{self as rstore, AssignmentState, Reviewer};
use crate::store::reviews::{self, NewReview};
use crate::store::{self, outbox, AnyConnection};
use crate::token;

/// Outbox kind of the "your review form could not be read" reply (rate-limited per reviewer).
pub const REVIEW_HELP_KIND: &str = "review_help";

/// What a reviewer's reply says, after trimming.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// A command on the first meaningful line (`decline`, `conflict`, `help`, `withdraw`).
    pub command: Option<ReplyCommand>,
    /// The review form, or every problem with it.
    pub answer: Result<ReviewAnswer, Vec<FormProblem>>,
}

/// Read a reply: the text/plain part, trimmed; for HTML-only mail the HTML part, trimmed
/// structurally. When the plain part yields no review but the HTML part does (a client
/// whose plain alternative lost the inline answers), the HTML reading is used.
pub fn read_reply(i: &Inbound, spec: &FormSpec) -> Reading {
    let mut candidates = Vec::new();
    if let Some(t) = &i.text {
        candidates.push(trim::trim_reply(t));
    }
    if let Some(h) = &i.html {
        candidates.push(trim::trim_html_reply(h));
    }
    // An empty plain alternative next to an HTML body says nothing: skip it.
    let useful: Vec<&trim::Trimmed> = candidates
        .iter()
        .filter(|t| !t.kept.trim().is_empty())
        .collect();
    let Some(first) = useful.first() else {
        return Reading {
            command: None,
            answer: form::parse_review("", "", spec),
        };
    };
    let command = form::parse_command(&first.kept);
    let answer = form::parse_trimmed_review(first, spec);
    if answer.is_err() {
        for other in &useful[1..] {
            if let Ok(a) = form::parse_trimmed_review(other, spec) {
                return Reading {
                    command,
                    answer: Ok(a),
                };
            }
        }
    }
    Reading { command, answer }
}

/// Whether a mail without a reply token looks like a review reply or a decline (so it
/// gets "reply to the assignment mail" instead of the proposal template): a readable form,
/// a score line with a problem, or `decline`/`conflict` — and no proposal fields in what
/// the sender wrote.
pub fn looks_like_review(
    i: &Inbound,
    spec: &FormSpec,
    rules: &crate::config::ProposalRules,
) -> bool {
    // Cheap pre-filter (this runs on every new mail): a score or confidence label, or a
    // decline/conflict command, contains one of these. "review" alone is not enough:
    // every proposal has "Notes for reviewers".
    let has_word = |t: &str| {
        let t = t.to_ascii_lowercase();
        [
            "score",
            "rating",
            "confidence",
            "expertise",
            "decline",
            "conflict",
            "coi",
            "review this",
            "review it",
        ]
        .iter()
        .any(|w| t.contains(w))
    };
    if !i.text.as_deref().is_some_and(has_word) && !i.html.as_deref().is_some_and(has_word) {
        return false;
    }
    let r = read_reply(i, spec);
    let review_like = matches!(
        r.command,
        Some(ReplyCommand::Decline | ReplyCommand::Conflict)
    ) || match &r.answer {
        Ok(_) => true,
        Err(problems) => problems
            .iter()
            .any(|p| !matches!(p, FormProblem::MissingScore { .. })),
    };
    review_like && proposal::parse(&i.reply_text(), rules).labels_found == 0
}

/// The proposal ids a subject names as "Review P-0042" (our assignment-mail subjects).
fn subject_references(subject: &str) -> Vec<i64> {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\breview\s+P-(\d{1,12})\b").expect("built-in regular expression")
    });
    re.captures_iter(subject)
        .filter_map(|c| c[1].parse().ok())
        .collect()
}

impl Intake {
    pub(super) fn review_subject(&self, reference: &str, what: &str) -> String {
        self.subject(&format!("Review {reference}: {what}"))
    }

    /// A typed refusal of a review reply: nothing changes; the reply (if `answer`) goes to
    /// the From address with `subject`, without a reply token.
    pub(super) fn review_refusal(
        &self,
        r: Rejection,
        subject: String,
        answer: bool,
        proposal_id: Option<i64>,
    ) -> Handled {
        Decision::review_refusal(&self.cfg, r, subject, answer, proposal_id).into()
    }

    /// A fresh reply token for the assignment, bound to its reviewer: receipts and help
    /// replies carry one so that answering them works like answering the assignment mail.
    async fn assignment_token(
        &self,
        tx: &mut AnyConnection,
        token_row: &TokenRow,
        assignment_id: i64,
        proposal_id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, IntakeError> {
        let tok = token::generate();
        rstore::insert_assignment_token(
            tx,
            &tok.hash,
            assignment_id,
            proposal_id,
            &token_row.bound_address,
            store::ms(now),
            Some(assignment::token_expiry(&self.cfg, now)),
        )
        .await?;
        Ok(tok.secret)
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
        let now_ms = store::ms(now);
        let sent_by_reviewer = inbound::same_address(&from.address, &t.bound_address);
        let assignment = match t.assignment_id {
            Some(id) => rstore::assignment(tx, id).await?,
            None => None,
        };
        let reference = t
            .proposal_id
            .or(assignment.as_ref().map(|a| a.proposal_id))
            .map(proposal::reference)
            .unwrap_or_else(|| "an unknown proposal".into());
        let expired = t.expires_at.is_some_and(|e| e <= now_ms);
        let (Some(a), false) = (assignment, expired) else {
            // Expired (or pointing at nothing): only its own reviewer hears about it.
            return Ok(self.review_refusal(
                Rejection::ReviewTokenExpired {
                    reference: reference.clone(),
                },
                self.review_subject(&reference, "reply address expired"),
                sent_by_reviewer,
                t.proposal_id,
            ));
        };
        let pid = a.proposal_id;
        if !sent_by_reviewer {
            // The reply names nothing: the From address may be forged.
            return Ok(self.review_refusal(
                Rejection::ReviewerMismatch {
                    reference,
                    from: from.address.clone(),
                },
                self.subject("Your review reply was not recorded"),
                true,
                Some(pid),
            ));
        }
        // From here on the sender is the assigned reviewer.
        if let Some(other) = subject_references(&i.subject)
            .into_iter()
            .find(|&o| o != pid)
        {
            return Ok(self.review_refusal(
                Rejection::AssignmentMismatch {
                    reference,
                    other: proposal::reference(other),
                    via: "subject",
                },
                self.subject("Your review reply was not recorded"),
                true,
                Some(pid),
            ));
        }
        let clean = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .map(|s| s.trim().trim_matches(|c| c == '<' || c == '>').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let headers = [
            ("In-Reply-To header", clean(i.in_reply_to.as_slice())),
            ("References header", clean(&i.references)),
        ];
        for (via, ids) in headers {
            if ids.is_empty() {
                continue;
            }
            for other in rstore::assignments_mailed_as(tx, &ids).await? {
                if other == a.id {
                    continue;
                }
                let Some(o) = rstore::assignment(tx, other).await? else {
                    continue;
                };
                return Ok(self.review_refusal(
                    Rejection::AssignmentMismatch {
                        reference,
                        other: proposal::reference(o.proposal_id),
                        via,
                    },
                    self.subject("Your review reply was not recorded"),
                    true,
                    Some(pid),
                ));
            }
        }
        if a.state != AssignmentState::Active {
            return Ok(self.review_refusal(
                Rejection::AssignmentReleased {
                    reference: reference.clone(),
                    conflict: a.state == AssignmentState::Conflict,
                },
                self.review_subject(&reference, "no longer assigned to you"),
                true,
                Some(pid),
            ));
        }
        let Some(p) = crate::store::proposals::get(tx, pid).await? else {
            return Ok(self.review_refusal(
                Rejection::ReviewTokenExpired {
                    reference: reference.clone(),
                },
                self.review_subject(&reference, "reply address expired"),
                true,
                None,
            ));
        };
        if p.status == ProposalStatus::Withdrawn {
            return Ok(self.review_refusal(
                Rejection::ReviewOfWithdrawn {
                    reference: reference.clone(),
                },
                self.review_subject(&reference, "proposal withdrawn"),
                true,
                Some(pid),
            ));
        }
        if let Some(deadline) = self.cfg.conference.review_deadline {
            if now > deadline {
                let has_review = reviews::current(tx, a.id).await?.is_some();
                return Ok(self.review_refusal(
                    Rejection::ReviewClosed {
                        reference: reference.clone(),
                        deadline: self.cfg.review_deadline_text().unwrap_or_default(),
                        has_review,
                    },
                    self.review_subject(&reference, "the review period is closed"),
                    true,
                    Some(pid),
                ));
            }
        }
        let reviewer = rstore::reviewer(tx, a.reviewer_id).await?;
        let reviewer_name = reviewer.as_ref().and_then(|r| r.name.clone());
        let title = p.fields.title.clone().unwrap_or_else(|| "untitled".into());
        let spec = self.form_spec();
        let reading = read_reply(i, &spec);
        match reading.command {
            Some(c @ (ReplyCommand::Decline | ReplyCommand::Conflict)) => {
                let conflict = c == ReplyCommand::Conflict;
                let state = if conflict {
                    AssignmentState::Conflict
                } else {
                    AssignmentState::Declined
                };
                rstore::release(tx, a.id, state, Some(m.id), now_ms).await?;
                let (replacement, note) = self.refill(tx, &p, now).await?;
                if let Some(r) = replacement {
                    rstore::set_replacement(tx, a.id, r).await?;
                }
                let body = templates::ReleasedReply {
                    conference: &self.cfg.conference.name,
                    reviewer_name: reviewer_name.as_deref(),
                    reference: &reference,
                    title: &title,
                    conflict,
                    reassigned: replacement.is_some(),
                }
                .render()
                .unwrap_or_default();
                let subject = self.review_subject(
                    &reference,
                    if conflict {
                        "conflict of interest recorded"
                    } else {
                        "declined"
                    },
                );
                return Ok(Decision::Released {
                    conflict,
                    proposal_id: pid,
                    detail: format!("{reference}: {note}"),
                    reply: Reply::ready("released", subject, body),
                }
                .into());
            }
            Some(ReplyCommand::Help) => {
                let body = templates::ReviewHelp {
                    conference: &self.cfg.conference.name,
                    reviewer_name: reviewer_name.as_deref(),
                    reference: &reference,
                    title: &title,
                    score_min: spec.score_min,
                    score_max: spec.score_max,
                    confidence_min: spec.confidence_min,
                    confidence_max: spec.confidence_max,
                    review_deadline: self.cfg.review_deadline_text(),
                }
                .render()
                .unwrap_or_default();
                let secret = self.assignment_token(tx, t, a.id, pid, now).await?;
                return Ok(Decision::Help {
                    proposal_id: Some(pid),
                    reply: Reply {
                        kind: "help",
                        subject: self.review_subject(&reference, "how to answer"),
                        body: Body::Ready(body),
                        token: ReplyToken::Secret(secret),
                    },
                }
                .into());
            }
            Some(ReplyCommand::Withdraw) | None => {}
        }
        let answer = match reading.answer {
            Ok(answer) => answer,
            Err(problems) => {
                return self
                    .form_problems(tx, b, t, a.id, pid, &reference, &problems, from, now)
                    .await
            }
        };
        let (version, previous) = reviews::record(
            tx,
            &NewReview {
                assignment_id: a.id,
                score: answer.score,
                confidence: answer.confidence,
                comments_speaker: &answer.comments_speaker,
                comments_committee: &answer.comments_committee,
                message_row: Some(m.id),
            },
            now_ms,
        )
        .await?;
        let secret = self.assignment_token(tx, t, a.id, pid, now).await?;
        let replaced = previous.as_ref().map(|r| (r.version, r.score));
        let body = templates::ReviewReceipt {
            conference: &self.cfg.conference.name,
            reviewer_name: reviewer_name.as_deref(),
            reference: &reference,
            title: &title,
            version,
            replaced,
            score: answer.score,
            confidence: answer.confidence,
            comments_speaker: &answer.comments_speaker,
            comments_committee: &answer.comments_committee,
            score_min: spec.score_min,
            score_max: spec.score_max,
            confidence_min: spec.confidence_min,
            confidence_max: spec.confidence_max,
            review_deadline: self.cfg.review_deadline_text(),
        }
        .render()
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
            proposal_id: pid,
            detail,
            reply: Reply {
                kind: "receipt",
                subject: self
                    .review_subject(&reference, &format!("recorded (score {})", answer.score)),
                body: Body::Ready(body),
                token: ReplyToken::Secret(secret),
            },
        }
        .into())
    }

    /// The review form's scales, from the config.
    pub(super) fn form_spec(&self) -> FormSpec {
        let r = &self.cfg.review;
        FormSpec {
            score_min: r.score_min,
            score_max: r.score_max,
            confidence_min: r.confidence_min,
            confidence_max: r.confidence_max,
        }
    }

    /// One reply naming every problem with the form (with a fresh token, so answering it
    /// works), unless this reviewer already had `limits.review_help_per_day` of them today.
    #[allow(clippy::too_many_arguments)]
    async fn form_problems(
        &self,
        tx: &mut AnyConnection,
        b: &mut Batch,
        t: &TokenRow,
        assignment_id: i64,
        pid: i64,
        reference: &str,
        problems: &[FormProblem],
        from: &inbound::Mailbox,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let r = Rejection::ReviewForm {
            reference: reference.to_string(),
            problems: problems.iter().map(|p| p.to_string()).collect(),
            scale: self.form_spec(),
        };
        let mut h = self.review_refusal(
            r,
            self.review_subject(reference, "not recorded, please check the form"),
            true,
            Some(pid),
        );
        let since = store::ms(now) - 24 * 3600 * 1000;
        let sent = match b.help_counts.get(&from.address) {
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
        b.help_counts.insert(from.address.clone(), sent + 1);
        let secret = self
            .assignment_token(tx, t, assignment_id, pid, now)
            .await?;
        if let Some(reply) = h.reply.as_mut() {
            reply.kind = REVIEW_HELP_KIND;
            reply.token = ReplyToken::Secret(secret);
        }
        Ok(h)
    }

    /// Give a proposal the reviewers it is missing after a release: the next-best eligible
    /// reviewers by the same rules as `cfpd assign` (conflicts, earlier declines, loads),
    /// each with an assignment mail. Returns the first new assignment (if any) and a note
    /// for the message log.
    async fn refill(
        &self,
        tx: &mut AnyConnection,
        p: &ProposalRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Option<i64>, String), IntakeError> {
        if p.status != ProposalStatus::Submitted {
            return Ok((
                None,
                format!("not reassigned: the proposal is {}", p.status.as_str()),
            ));
        }
        let reviewers = rstore::reviewers(tx).await?;
        let own = rstore::assignments_of_proposal(tx, p.id).await?;
        let loads = rstore::active_loads(tx).await?;
        let plan = plan::refill(
            p,
            &reviewers,
            &own,
            &loads,
            self.cfg.review.reviewers_per_proposal,
        );
        let sol = match solver::solve(&plan.problem) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(proposal = %p.reference(), error = %e, "no reviewer to reassign to");
                return Ok((
                    None,
                    format!("not reassigned: no eligible reviewer is left ({e})"),
                ));
            }
        };
        let chosen: Vec<&Reviewer> = sol.added.iter().map(|&(_, r, _)| &reviewers[r]).collect();
        let pairs: Vec<NewPair<'_>> = sol
            .added
            .iter()
            .map(|&(_, r, affinity)| NewPair {
                proposal: p,
                reviewer: &reviewers[r],
                affinity,
            })
            .collect();
        let stored = match assignment::store_pairs(tx, &self.cfg, &self.composer, &pairs, now).await
        {
            Ok(s) => s,
            Err(assignment::AssignmentError::Store(e)) => return Err(e.into()),
            Err(e) => return Ok((None, format!("not reassigned: {e}"))),
        };
        let mut note = if stored.ids.is_empty() {
            "not reassigned: the proposal has all its reviewers".to_string()
        } else {
            format!(
                "reassigned to {}",
                stored
                    .ids
                    .iter()
                    .map(|&(i, _)| chosen[i].email.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        for (to, why) in &stored.failed {
            note.push_str(&format!("; could not mail {to}: {why}"));
        }
        Ok((stored.ids.first().map(|&(_, id)| id), note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::classify::OwnIdentity;

    fn inbound(raw: &str) -> Inbound {
        inbound::parse(raw.as_bytes(), &OwnIdentity::new("cfp@conf.example")).unwrap()
    }

    #[test]
    fn subjects_name_assignments_only_as_review_references() {
        assert_eq!(
            subject_references("Re: [Conf] Review P-0042: Fast Django"),
            vec![42]
        );
        assert_eq!(
            subject_references("RE: AW: [Conf] review p-7 recorded (score 4)"),
            vec![7]
        );
        assert!(subject_references("Re: [Conf] P-0042 received: Review P-bad").is_empty());
        assert!(subject_references("Peer review practices (P-0003 style)").is_empty());
    }

    #[test]
    fn html_answer_is_used_when_the_plain_alternative_lost_it() {
        // The plain part is only the quoted original (some clients write the answer into
        // the HTML only); the HTML part has the form filled in.
        let raw = "From: rita@x.org\r\nTo: cfp@conf.example\r\nSubject: Re: x\r\nMessage-ID: <r@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n> Score: (1-5)\r\n> Comments for the speaker:\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>Score: 4</div><div>Comments for the speaker:</div><div>Nice.</div><blockquote type=\"cite\">Score: (1-5)</blockquote>\r\n--b--\r\n";
        let r = read_reply(&inbound(raw), &FormSpec::default());
        let a = r.answer.unwrap();
        assert_eq!((a.score, a.comments_speaker.as_str()), (4, "Nice."));
    }

    #[test]
    fn quoted_example_values_never_count() {
        let raw = "From: rita@x.org\r\nTo: cfp@conf.example\r\nSubject: Re: x\r\nMessage-ID: <r@x>\r\nContent-Type: text/plain\r\n\r\nThanks!\r\n\r\nOn Mon, Apr 1, 2024 at 10:00 AM TestConf wrote:\r\n> Score: (1-5)\r\n> Score: 3\r\n> Comments for the speaker:\r\n";
        let r = read_reply(&inbound(raw), &FormSpec::default());
        assert!(
            matches!(&r.answer, Err(p) if matches!(p[0], FormProblem::MissingScore { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn commands_and_review_likeness() {
        let rules = crate::config::Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap()
        .proposals;
        let spec = FormSpec::default();
        let mail = |body: &str| {
            inbound(&format!(
                "From: rita@x.org\r\nTo: cfp@conf.example\r\nSubject: s\r\nMessage-ID: <r@x>\r\nContent-Type: text/plain\r\n\r\n{body}"
            ))
        };
        let r = read_reply(
            &mail("Decline - travelling.\r\n\r\n> Score: (1-5)\r\n"),
            &spec,
        );
        assert_eq!(r.command, Some(ReplyCommand::Decline));
        assert!(looks_like_review(
            &mail("Score: 4\r\nComments for the speaker: ok\r\n"),
            &spec,
            &rules
        ));
        assert!(looks_like_review(&mail("Score: 9\r\n"), &spec, &rules));
        assert!(looks_like_review(&mail("conflict\r\n"), &spec, &rules));
        assert!(!looks_like_review(
            &mail("Hello, how do I submit?\r\n"),
            &spec,
            &rules
        ));
        // A proposal is never mistaken for a review.
        assert!(!looks_like_review(
            &mail("Title: Scores in Django\r\nScore: 4\r\nAbstract: x\r\n"),
            &spec,
            &rules
        ));
    }
}
