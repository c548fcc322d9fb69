//! The rules for mail that arrives through an assignment's reply token, as pure functions.
//!
//! The token in the recipient address selects the assignment — nothing else does. The
//! reply counts only when the token is unexpired *and* the From address is the reviewer it
//! is bound to ([`inbound::same_address`]: domain after IDNA lower-casing, local part
//! exact). Then the reply is checked for consistency (a subject or a threading header
//! naming a *different* assignment makes it ambiguous: refused — threading headers can
//! refuse, never select), then for state (released assignment, withdrawn proposal, review
//! deadline passed), then read: quoted text and signatures are trimmed ([`trim`]), and the
//! rest is a command (`decline`, `conflict`, `help`) or a review form ([`form`]).
//!
//! [`review`] says which ([`Allowed`], or the refusal); the pipeline (`super::super::review_reply`)
//! loads the [`ReviewFacts`] and records what it says.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::Decision;
use crate::config::Config;
use crate::intake::inbound::{self, Inbound, Mailbox};
use crate::intake::reject::Rejection;
use crate::mailtext::command::{parse_command, ReplyCommand};
use crate::mailtext::trim;
use crate::model::MailKind;
use crate::model::ProposalStatus;
use crate::model::{Assignment, AssignmentState, ProposalRow};
use crate::proposal;
use crate::review::form::{self, FormProblem, FormSpec, ReviewAnswer};
use crate::store::proposals::TokenRow;

/// What the pipeline loads for a reply through an assignment token.
#[derive(Debug, Clone)]
pub struct ReviewFacts {
    /// The token.
    pub token: TokenRow,
    /// The assignment it names (`None`: it no longer exists).
    pub assignment: Option<Assignment>,
    /// The first *other* assignment the In-Reply-To or References header names, as
    /// (which header, its proposal): see [`threading_ids`].
    pub threaded: Option<(&'static str, i64)>,
    /// The assignment's proposal (`None`: it no longer exists).
    pub proposal: Option<Box<ProposalRow>>,
    /// A review from this reviewer is recorded (asked only after the review deadline).
    pub has_review: bool,
    /// When the reply reached the mailbox (see [`super::Facts::arrived`]): the review
    /// deadline is judged on this, token expiry on the clock.
    pub arrived: DateTime<Utc>,
}

/// A reply through an assignment token that passed every check: from the assigned
/// reviewer, about an active assignment of a proposal still open for review.
#[derive(Debug)]
pub struct Allowed {
    /// The assignment.
    pub assignment: Assignment,
    /// Its proposal.
    pub proposal: Box<ProposalRow>,
    /// What the reply says.
    pub action: ReviewAction,
}

/// What an allowed review reply asks for.
#[derive(Debug)]
pub enum ReviewAction {
    /// `decline` or `conflict`: release the assignment and refill the proposal.
    Release {
        /// A declared conflict (true) or a decline.
        conflict: bool,
    },
    /// `help`: how to answer, with a fresh token.
    Help,
    /// The form could not be read: one reply naming every problem (rate-limited).
    Problems(Vec<FormProblem>),
    /// Record this review.
    Record(ReviewAnswer),
}

/// `[Conference] Review P-0042: what`.
pub fn review_subject(cfg: &Config, reference: &str, what: &str) -> String {
    super::subject(cfg, &format!("Review {reference}: {what}"))
}

/// The review form's scales, from the config.
pub fn form_spec(cfg: &Config) -> FormSpec {
    cfg.form_spec()
}

/// Whether the review period was over for a reply that arrived at `arrived` (there is a
/// review deadline and it had passed).
pub fn review_closed(cfg: &Config, arrived: chrono::DateTime<chrono::Utc>) -> bool {
    cfg.conference.review_deadline.is_some_and(|d| arrived > d)
}

/// The Message-IDs of the threading headers, in the order they are checked, each with
/// the header's name as a refusal names it.
pub fn threading_ids(i: &Inbound) -> [(&'static str, Vec<String>); 2] {
    let clean = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|s| s.trim().trim_matches(|c| c == '<' || c == '>').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    [
        ("In-Reply-To header", clean(i.in_reply_to.as_slice())),
        ("References header", clean(&i.references)),
    ]
}

/// The rules, in order (see the module docs): what the reply asks for, or the refusal.
pub fn review(
    i: &Inbound,
    from: &Mailbox,
    cfg: &Config,
    now: DateTime<Utc>,
    rf: &ReviewFacts,
) -> Result<Allowed, Box<Decision>> {
    let t = &rf.token;
    let refuse = |r, subject, answer, pid| {
        Err(Box::new(Decision::review_refusal(
            cfg, r, subject, answer, pid,
        )))
    };
    let not_recorded = || super::subject(cfg, "Your review reply was not recorded");
    let sent_by_reviewer = inbound::same_address(&from.address, &t.bound_address);
    let reference = t
        .proposal_id
        .or(rf.assignment.as_ref().map(|a| a.proposal_id))
        .map(proposal::reference)
        .unwrap_or_else(|| "an unknown proposal".into());
    let expired = t.expires_at.is_some_and(|e| e <= now.timestamp_millis());
    let (Some(a), false) = (&rf.assignment, expired) else {
        // Expired (or pointing at nothing): only its own reviewer hears about it.
        let subject = review_subject(cfg, &reference, "reply address expired");
        let r = Rejection::ReviewTokenExpired { reference };
        return refuse(r, subject, sent_by_reviewer, t.proposal_id);
    };
    let pid = a.proposal_id;
    if !sent_by_reviewer {
        // The reply names nothing: the From address may be forged.
        let from = from.address.clone();
        let r = Rejection::ReviewerMismatch { reference, from };
        return refuse(r, not_recorded(), true, Some(pid));
    }
    // From here on the sender is the assigned reviewer.
    let named = subject_references(&i.subject)
        .into_iter()
        .find(|&o| o != pid)
        .map(|o| ("subject", o))
        .or(rf.threaded);
    if let Some((via, other)) = named {
        let other = proposal::reference(other);
        let r = Rejection::AssignmentMismatch {
            reference,
            other,
            via,
        };
        return refuse(r, not_recorded(), true, Some(pid));
    }
    if a.state != AssignmentState::Active {
        let subject = review_subject(cfg, &reference, "no longer assigned to you");
        let r = Rejection::AssignmentReleased {
            reference,
            state: a.state,
        };
        return refuse(r, subject, true, Some(pid));
    }
    let Some(p) = &rf.proposal else {
        let subject = review_subject(cfg, &reference, "reply address expired");
        return refuse(
            Rejection::ReviewTokenExpired { reference },
            subject,
            true,
            None,
        );
    };
    if p.status == ProposalStatus::Withdrawn {
        let subject = review_subject(cfg, &reference, "proposal withdrawn");
        let r = Rejection::ReviewOfWithdrawn { reference };
        return refuse(r, subject, true, Some(pid));
    }
    if review_closed(cfg, rf.arrived) {
        let subject = review_subject(cfg, &reference, "the review period is closed");
        let r = Rejection::ReviewClosed {
            reference,
            deadline: cfg.review_deadline_text().unwrap_or_default(),
            has_review: rf.has_review,
        };
        return refuse(r, subject, true, Some(pid));
    }
    let reading = read_reply(i, &form_spec(cfg));
    if reading.command.is_none() {
        if let Err(problems) = &reading.answer {
            if let Some(d) = reviewer_question(cfg, i, from, p, problems) {
                return Err(Box::new(d));
            }
        }
    }
    let action = match (reading.command, reading.answer) {
        (Some(c @ (ReplyCommand::Decline | ReplyCommand::Conflict)), _) => ReviewAction::Release {
            conflict: c == ReplyCommand::Conflict,
        },
        (Some(ReplyCommand::Help), _) => ReviewAction::Help,
        (Some(ReplyCommand::Withdraw) | None, Ok(answer)) => ReviewAction::Record(answer),
        (Some(ReplyCommand::Withdraw) | None, Err(problems)) => ReviewAction::Problems(problems),
    };
    Ok(Allowed {
        assignment: a.clone(),
        proposal: p.clone(),
        action,
    })
}

/// A reviewer's reply with nothing of the form in it (no score, no line
/// starting with a form label): a question for a person (see
/// [`super::person`]), when a person wrote it and there is a contact; a
/// reply that tried the form still gets the form's problems.
fn reviewer_question(
    cfg: &Config,
    i: &Inbound,
    from: &Mailbox,
    p: &ProposalRow,
    problems: &[FormProblem],
) -> Option<Decision> {
    let nothing_found = matches!(
        problems,
        [FormProblem::MissingScore {
            quoted_line: None,
            ..
        }]
    );
    let text = i.reply_text();
    let labelled = text.lines().any(|l| {
        let l = l.trim_start().to_ascii_lowercase();
        ["score", "confidence", "comment", "rating", "expertise"]
            .iter()
            .any(|w| l.starts_with(w) && l.contains(':'))
    });
    if !nothing_found || labelled {
        return None;
    }
    let why = super::person::Why::ReviewerQuestion;
    super::person::for_person(cfg, i, from, why, Some(p), text)
}

/// The refusal of a form that could not be read: every problem, with the form again.
pub fn form_refusal(cfg: &Config, reference: &str, problems: &[FormProblem], pid: i64) -> Decision {
    let r = Rejection::ReviewForm {
        reference: reference.to_string(),
        problems: problems.iter().map(|p| p.to_string()).collect(),
        scale: form_spec(cfg),
    };
    let subject = review_subject(cfg, reference, "not recorded, please check the form");
    Decision::review_refusal(cfg, r, subject, true, Some(pid))
}

/// Outbox kind of the "your review form could not be read" reply (rate-limited per reviewer).
pub const REVIEW_HELP_KIND: MailKind = MailKind::ReviewHelp;

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
    let command = parse_command(&first.kept);
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
    rules: &crate::proposal::ProposalRules,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::classify::OwnIdentity;
    use crate::intake::inbound;

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

/// Every refusal and every action of the review rules, from raw bytes and hand-made facts.
#[cfg(test)]
mod rule_tests {
    use super::*;
    use crate::intake::classify::OwnIdentity;
    use crate::proposal::TagOverrides;
    use crate::store::proposals::TokenKind;
    use crate::store::review::AssignmentState;

    const RITA: &str = "rita@reviewers.example";

    fn cfg(closed: bool) -> Config {
        let mut src = crate::config::EXAMPLE_CONFIG.to_string();
        if closed {
            src = src.replacen(
                "# review_deadline = \"2024-05-20T23:59:59\"",
                "review_deadline = \"2024-05-20T23:59:59\"",
                1,
            );
            assert!(src.contains("\nreview_deadline"));
        }
        Config::from_str(&src, std::path::Path::new("cfpd.toml")).unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2024-06-01T10:00:00Z".parse().unwrap()
    }

    fn mail(from: &str, subject: &str, extra: &str, body: &str) -> (Inbound, Mailbox) {
        let raw = format!(
            "From: {from}\r\nTo: cfp+r-x@djangocon.example\r\nSubject: {subject}\r\nMessage-ID: <r1@reviewers.example>\r\n{extra}Content-Type: text/plain\r\n\r\n{body}"
        );
        let i = inbound::parse(raw.as_bytes(), &OwnIdentity::new("cfp@djangocon.example")).unwrap();
        let from = i.from.clone().unwrap();
        (i, from)
    }

    fn facts(state: AssignmentState, status: ProposalStatus) -> ReviewFacts {
        ReviewFacts {
            token: TokenRow {
                kind: TokenKind::Assignment,
                proposal_id: Some(7),
                assignment_id: Some(3),
                bound_address: RITA.into(),
                expires_at: None,
                created_at: 0,
            },
            assignment: Some(Assignment {
                id: 3,
                proposal_id: 7,
                reviewer_id: 1,
                affinity: 500,
                state,
            }),
            threaded: None,
            proposal: Some(Box::new(ProposalRow {
                id: 7,
                speaker_email: "ada@speaker.example".into(),
                speaker_name: None,
                status,
                version: 1,
                created_at: 0,
                updated_at: 0,
                fields: Default::default(),
                problems: vec![],
                topics: vec![],
                overrides: TagOverrides::default(),
                reviewers_needed: None,
            })),
            has_review: false,
            arrived: now(),
        }
    }

    fn active() -> ReviewFacts {
        facts(AssignmentState::Active, ProposalStatus::Submitted)
    }

    /// The refusal's code, whether it is answered, and the proposal it names.
    #[track_caller]
    fn refused(
        r: Result<Allowed, Box<Decision>>,
        code: &str,
    ) -> (bool, Option<i64>, crate::store::messages::MessageState) {
        match r.map_err(|d| *d) {
            Err(d @ Decision::Reject { .. }) => {
                assert_eq!(d.reason().map(|r| r.as_str()), Some(code), "{d:?}");
                (
                    d.reply_kind().map(|k| k.as_str()) == Some("rejection"),
                    d.proposal_id(),
                    d.state(),
                )
            }
            other => panic!("expected {code}, got {other:?}"),
        }
    }

    #[track_caller]
    fn allowed(r: Result<Allowed, Box<Decision>>) -> ReviewAction {
        match r {
            Ok(a) => {
                assert_eq!((a.assignment.id, a.proposal.id), (3, 7));
                a.action
            }
            Err(d) => panic!("refused: {d:?}"),
        }
    }

    #[test]
    fn an_expired_token_is_refused_and_only_its_reviewer_hears_of_it() {
        let c = cfg(false);
        let mut rf = active();
        rf.token.expires_at = Some(now().timestamp_millis());
        let (i, from) = mail(RITA, "Re: Review P-0007", "", "Score: 4\r\n");
        let (answered, pid, state) = refused(review(&i, &from, &c, now(), &rf), "token_expired");
        assert_eq!((answered, pid), (true, Some(7)));
        assert_eq!(state, crate::store::messages::MessageState::Rejected);
        let (i, from) = mail("eve@attacker.example", "Re: x", "", "Score: 4\r\n");
        let (answered, ..) = refused(review(&i, &from, &c, now(), &rf), "token_expired");
        assert!(!answered, "a stranger learns nothing");
        // An assignment that no longer exists is an expired address too.
        let mut rf = active();
        rf.assignment = None;
        let (i, from) = mail(RITA, "Re: x", "", "Score: 4\r\n");
        refused(review(&i, &from, &c, now(), &rf), "token_expired");
        // So is a proposal that no longer exists.
        let mut rf = active();
        rf.proposal = None;
        let (_, pid, _) = refused(review(&i, &from, &c, now(), &rf), "token_expired");
        assert_eq!(pid, None);
    }

    #[test]
    fn another_sender_is_refused_without_naming_anything() {
        let c = cfg(false);
        let (i, from) = mail("eve@attacker.example", "Re: x", "", "Score: 4\r\n");
        let r = review(&i, &from, &c, now(), &active());
        let Err(d) = r else { panic!("allowed") };
        assert_eq!(d.reason().map(|r| r.as_str()), Some("reviewer_mismatch"));
        let reply = d.reply().unwrap();
        assert_eq!(
            reply.subject,
            "[DjangoCon US 2024] Your review reply was not recorded"
        );
        // Domain case does not matter; the local part does.
        let (i, from) = mail("rita@REVIEWERS.example", "Re: x", "", "Score: 4\r\n");
        assert!(review(&i, &from, &c, now(), &active()).is_ok());
    }

    #[test]
    fn a_subject_or_threading_header_naming_another_assignment_is_ambiguous() {
        let c = cfg(false);
        let (i, from) = mail(
            RITA,
            "Re: [DjangoCon US 2024] Review P-0002: x",
            "",
            "Score: 4\r\n",
        );
        refused(
            review(&i, &from, &c, now(), &active()),
            "assignment_mismatch",
        );
        let mut rf = active();
        rf.threaded = Some(("In-Reply-To header", 2));
        let (i, from) = mail(RITA, "Re: Review P-0007", "", "Score: 4\r\n");
        let Err(d) = review(&i, &from, &c, now(), &rf) else {
            panic!("allowed")
        };
        assert!(d
            .finish()
            .detail
            .unwrap()
            .contains("In-Reply-To header names P-0002"));
    }

    #[test]
    fn threading_ids_are_cleaned_in_order() {
        let (i, _) = mail(
            RITA,
            "Re: x",
            "In-Reply-To: <a@cfp>\r\nReferences: <b@cfp> <a@cfp>\r\n",
            "",
        );
        let [(v1, irt), (v2, refs)] = threading_ids(&i);
        assert_eq!((v1, irt), ("In-Reply-To header", vec!["a@cfp".to_string()]));
        assert_eq!(v2, "References header");
        assert_eq!(refs, vec!["b@cfp".to_string(), "a@cfp".to_string()]);
    }

    #[test]
    fn a_released_assignment_takes_no_reply() {
        let c = cfg(false);
        let (i, from) = mail(RITA, "Re: x", "", "Score: 4\r\n");
        for state in [
            AssignmentState::Declined,
            AssignmentState::Conflict,
            AssignmentState::Removed,
        ] {
            let rf = facts(state, ProposalStatus::Submitted);
            let Err(d) = review(&i, &from, &c, now(), &rf) else {
                panic!("allowed")
            };
            assert_eq!(d.reason().map(|r| r.as_str()), Some("assignment_released"));
        }
    }

    #[test]
    fn a_withdrawn_proposal_takes_no_review() {
        let c = cfg(false);
        let (i, from) = mail(RITA, "Re: x", "", "Score: 4\r\n");
        let rf = facts(AssignmentState::Active, ProposalStatus::Withdrawn);
        refused(review(&i, &from, &c, now(), &rf), "review_of_withdrawn");
    }

    #[test]
    fn after_the_review_deadline_nothing_is_recorded() {
        let c = cfg(true);
        let (i, from) = mail(RITA, "Re: x", "", "Score: 4\r\n");
        let mut rf = active();
        rf.has_review = true;
        refused(review(&i, &from, &c, now(), &rf), "review_closed");
        // Delivered before the deadline, processed after it: recorded.
        rf.arrived = "2024-05-01T10:00:00Z".parse().unwrap();
        assert!(review(&i, &from, &c, now(), &rf).is_ok());
        // Processing time alone does not matter.
        let before = "2024-05-01T10:00:00Z".parse().unwrap();
        rf.arrived = now();
        refused(review(&i, &from, &c, before, &rf), "review_closed");
    }

    #[test]
    fn commands_and_forms_are_what_the_reply_asks_for() {
        let c = cfg(false);
        let ask = |body: &str| {
            let (i, from) = mail(RITA, "Re: Review P-0007", "", body);
            allowed(review(&i, &from, &c, now(), &active()))
        };
        assert!(matches!(
            ask("decline\r\n"),
            ReviewAction::Release { conflict: false }
        ));
        assert!(matches!(
            ask("conflict\r\n"),
            ReviewAction::Release { conflict: true }
        ));
        assert!(matches!(ask("help\r\n"), ReviewAction::Help));
        assert!(
            matches!(ask("Score: 4\r\nComments for the speaker: good\r\n"), ReviewAction::Record(a) if a.score == 4)
        );
        let ReviewAction::Problems(problems) = ask("Score: 9\r\n") else {
            panic!("not a problem")
        };
        let d = form_refusal(&c, "P-0007", &problems, 7);
        assert_eq!(d.reason().map(|r| r.as_str()), Some("review_form"));
        assert_eq!(d.reply_kind().map(|k| k.as_str()), Some("rejection"));
        assert_eq!(d.proposal_id(), Some(7));
        // A form without its score still gets the form's problems.
        assert!(matches!(
            ask("Comments for the speaker: good\r\n"),
            ReviewAction::Problems(_)
        ));
    }

    /// Issue 16, item 4: a reviewer's question (nothing of the form in it)
    /// goes to a person, not back as "your form could not be read".
    #[test]
    fn a_reviewers_question_is_for_a_person() {
        let mut c = cfg(false);
        let q = "Hello, I know the speaker a little. Is that a conflict?\r\nRita\r\n";
        let (i, from) = mail(RITA, "Re: Review P-0007", "", q);
        let Err(d) = review(&i, &from, &c, now(), &active()) else {
            panic!("allowed")
        };
        assert_eq!(d.state(), crate::model::MessageState::ForPerson);
        assert_eq!(d.reason().map(|r| r.as_str()), Some("review_form"));
        assert_eq!(d.reply_kind(), Some(MailKind::PersonWillAnswer));
        assert_eq!(d.proposal_id(), Some(7));
        // Without a contact: the form's problems, as before.
        c.conference.contact.clear();
        let (i, from) = mail(RITA, "Re: Review P-0007", "", q);
        assert!(review(&i, &from, &c, now(), &active()).is_ok());
    }
}
