//! Every decision kind and every rejection reason intake decides, from raw bytes and
//! hand-made facts: no database, no mail server, no clock.

use super::*;
use crate::intake::classify::OwnIdentity;
use crate::intake::inbound;
use crate::model::MailKind;
use crate::token;
use crate::topics::TopicSet;

const CFP: &str = "cfp@djangocon.example";

fn cfg_with(replace: &[(&str, &str)]) -> Config {
    let mut src = crate::config::EXAMPLE_CONFIG.to_string();
    for (a, b) in replace {
        assert!(src.contains(a), "{a} not in the example config");
        src = src.replacen(a, b, 1);
    }
    Config::from_str(&src, std::path::Path::new("cfpd.toml")).unwrap()
}

fn cfg() -> Config {
    cfg_with(&[])
}

fn tagger() -> Tagger {
    Tagger::new(TopicSet::default_set())
}

/// Parse a mail; `headers` are whole header lines (with `\r\n`).
fn mail(headers: &str, body: &str) -> Inbound {
    let raw = format!(
        "{headers}Message-ID: <m1@speaker.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    inbound::parse(raw.as_bytes(), &OwnIdentity::new(CFP)).unwrap()
}

/// A mail from Ada to the CFP address.
fn from_ada(subject: &str, body: &str) -> Inbound {
    mail(
        &format!("From: Ada <ada@speaker.example>\r\nTo: {CFP}\r\nSubject: {subject}\r\n"),
        body,
    )
}

/// A mail from `from` through a reply token address.
fn through_token(from: &str, subject: &str, body: &str) -> Inbound {
    let to = token::reply_address("cfp", "djangocon.example", &token::generate().secret);
    mail(
        &format!("From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n"),
        body,
    )
}

const COMPLETE: &str = "Title: Fast Django\r\nFormat: talk-25\r\nAudience: beginner\r\nAbstract:\r\n  Making Django fast.\r\nDescription:\r\n  How to profile and fix slow views.\r\n";

/// Before the CFP deadline (2024-04-24).
fn before() -> DateTime<Utc> {
    "2024-04-01T10:00:00Z".parse().unwrap()
}

fn after() -> DateTime<Utc> {
    "2024-05-01T10:00:00Z".parse().unwrap()
}

fn facts<'a>(cfg: &'a Config, tagger: &'a Tagger) -> Facts<'a> {
    Facts {
        cfg,
        tagger,
        now: before(),
        arrived: before(),
        message_row: 5,
        raw_len: 1000,
        released: false,
        first_seen: None,
        read: None,
        review_like: false,
        authority: None,
    }
}

fn proposal(id: i64, status: ProposalStatus) -> ProposalRow {
    let parsed = proposal::parse(COMPLETE, &cfg().proposals);
    ProposalRow {
        id,
        speaker_email: "ada@speaker.example".into(),
        speaker_name: Some("Ada".into()),
        status,
        version: 2,
        created_at: 0,
        updated_at: 0,
        fields: parsed.fields,
        problems: vec![],
        topics: vec![],
        overrides: TagOverrides::default(),
        reviewers_needed: None,
    }
}

fn proposal_token(id: i64, status: ProposalStatus) -> Option<Authority> {
    Some(Authority::Proposal {
        id,
        bound: "ada@speaker.example".into(),
        proposal: Some(Box::new(proposal(id, status))),
        decision: None,
    })
}

/// A proposal token of proposal 7 whose current decision is `d` (told or not).
fn decided_token(d: crate::model::Decision, told: bool) -> Option<Authority> {
    let mut a = proposal_token(7, ProposalStatus::Submitted);
    if let Some(Authority::Proposal { decision, .. }) = &mut a {
        *decision = Some(Box::new(DecisionRow {
            proposal_id: 7,
            version: 3,
            decision: d,
            source: crate::model::DecisionSource::Cli,
            decided_by: "chair".into(),
            note: None,
            decided_at: 0,
            current: true,
            notified_at: told.then_some(1),
            confirmation: None,
            confirmed_at: None,
        }));
    }
    a
}

/// The decision's state, stored reason and reply kind.
fn outcome(d: &Decision) -> (MessageState, Option<&'static str>, Option<&'static str>) {
    (
        d.state(),
        d.reason().map(|r| r.as_str()),
        d.reply_kind().map(|k| k.as_str()),
    )
}

/// Mail for a person (issue 16, item 4): kept and forwarded to the
/// contact, the sender told a person will answer; `code` is why.
#[track_caller]
fn for_person(d: &Decision, code: &str) {
    assert_eq!(
        outcome(d),
        (
            MessageState::ForPerson,
            Some(code),
            Some("person_will_answer")
        ),
        "{d:?}"
    );
}

/// The config without a contact: cfpd answers by itself, as before.
fn without_contact(mut c: crate::config::Config) -> crate::config::Config {
    c.conference.contact.clear();
    c
}

#[track_caller]
fn rejected(d: &Decision, code: &str) -> Option<i64> {
    match d {
        Decision::Reject {
            rejection,
            proposal_id,
            ..
        } => {
            assert_eq!(rejection.code().as_str(), code);
            assert_eq!(
                d.reason().map(|r| r.as_str()),
                Some(rejection.code().as_str())
            );
            *proposal_id
        }
        other => panic!("expected a {code} rejection, got {other:?}"),
    }
}

// -- before authorization ---------------------------------------------------------------

#[test]
fn unreadable_mail_is_quarantined_unanswered() {
    let err = inbound::parse(b"", &OwnIdentity::new(CFP)).unwrap_err();
    let d = Decision::Quarantine(Unreadable::Unparseable(err.to_string()));
    assert_eq!(
        outcome(&d),
        (MessageState::Quarantined, Some("unparseable"), None)
    );
    assert_eq!(
        d.finish().detail.as_deref(),
        Some("not a parseable mail message")
    );
    let d = Decision::Quarantine(Unreadable::Panicked("boom".into()));
    assert_eq!(
        outcome(&d),
        (MessageState::Quarantined, Some("panic"), None)
    );
}

#[test]
fn unsubscribe_address_unsubscribes_whoever_sends() {
    let (c, t) = (cfg(), tagger());
    let secret = token::generate().secret;
    let to = token::unsubscribe_address("cfp", "djangocon.example", &secret);
    // Even machine mail (providers unsubscribe on the user's behalf).
    let i = mail(
        &format!("From: list@provider.example\r\nTo: {to}\r\nSubject: unsubscribe\r\nAuto-Submitted: auto-generated\r\n"),
        "",
    );
    let d = decide(&i, &facts(&c, &t));
    assert!(
        matches!(&d, Decision::Unsubscribe { secret: s } if *s == secret),
        "{d:?}"
    );
    assert_eq!(
        outcome(&d),
        (MessageState::Unsubscribed, Some("unsubscribe"), None)
    );
}

#[test]
fn every_machine_kind_is_recorded_unanswered() {
    let (c, t) = (cfg(), tagger());
    let cases = [
        ("Auto-Submitted: auto-replied\r\n", "auto-reply"),
        ("List-Id: <django-users.example>\r\n", "mailing-list"),
        (&*format!("X-Loop: {CFP}\r\n"), "own-mail"),
        ("Precedence: bulk\r\n", "system"),
    ];
    for (header, label) in cases {
        let i = mail(
            &format!("From: ada@speaker.example\r\nTo: {CFP}\r\nSubject: hi\r\n{header}"),
            COMPLETE,
        );
        let d = decide(&i, &facts(&c, &t));
        assert!(matches!(&d, Decision::Machine(_)), "{label}: {d:?}");
        assert_eq!(
            outcome(&d),
            (MessageState::AutoGenerated, Some(label), None),
            "{header}"
        );
        assert!(!d.finish().detail.unwrap().is_empty());
    }
    let bounce = mail(
        &format!("From: MAILER-DAEMON@mx.example\r\nTo: {CFP}\r\nSubject: Undelivered Mail Returned to Sender\r\nReturn-Path: <>\r\n"),
        "This is the mail system at host mx.example.\r\n\r\n<gone@nowhere.example>: host said: 550 5.1.1 user unknown\r\n",
    );
    let d = decide(&bounce, &facts(&c, &t));
    assert_eq!(outcome(&d), (MessageState::Bounce, Some("bounce"), None));
    let feedback = "From: feedback@isp.example\r\nTo: cfp@djangocon.example\r\nSubject: complaint\r\nMessage-ID: <f@isp>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n--b--\r\n";
    let i = inbound::parse(feedback.as_bytes(), &OwnIdentity::new(CFP)).unwrap();
    let d = decide(&i, &facts(&c, &t));
    assert_eq!(
        outcome(&d),
        (MessageState::AutoGenerated, Some("feedback-report"), None)
    );
}

#[test]
fn mail_to_a_return_path_is_never_answered() {
    let (c, t) = (cfg(), tagger());
    let to = token::bounce_address("cfp", "djangocon.example", &token::generate().secret);
    let i = mail(
        &format!("From: ada@speaker.example\r\nTo: {to}\r\nSubject: hi\r\n"),
        COMPLETE,
    );
    let d = decide(&i, &facts(&c, &t));
    assert_eq!(
        outcome(&d),
        (MessageState::AutoGenerated, Some("return-path"), None)
    );
}

#[test]
fn too_large_is_quarantined_and_answered() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.raw_len = c.proposals.max_message_bytes + 1;
    let d = decide(&from_ada("Proposal", COMPLETE), &f);
    rejected(&d, "too_large");
    assert_eq!(
        outcome(&d),
        (
            MessageState::Quarantined,
            Some("too_large"),
            Some("rejection")
        )
    );
    f.raw_len = c.proposals.max_message_bytes;
    assert!(matches!(
        decide(&from_ada("Proposal", COMPLETE), &f),
        Decision::NewProposal(_)
    ));
}

#[test]
fn no_sender_is_rejected_without_a_reply() {
    let (c, t) = (cfg(), tagger());
    let i = mail(&format!("To: {CFP}\r\nSubject: Proposal\r\n"), COMPLETE);
    let d = decide(&i, &facts(&c, &t));
    rejected(&d, "no_sender");
    assert_eq!(
        outcome(&d),
        (MessageState::Rejected, Some("no_sender"), None)
    );
}

#[test]
fn a_message_id_seen_before_is_a_duplicate() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.first_seen = Some(3);
    let d = decide(&from_ada("Proposal", COMPLETE), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Duplicate, Some("duplicate"), None)
    );
    let fin = d.finish();
    assert_eq!(fin.duplicate_of, Some(3));
    assert_eq!(fin.detail.as_deref(), Some("same Message-ID as message 3"));
}

#[test]
fn dmarc_failure_at_our_mx_holds_the_message_until_released() {
    let t = tagger();
    let c = cfg_with(&[(
        "# authserv_id = \"mx.djangocon.example\"",
        "authserv_id = \"mx.djangocon.example\"",
    )]);
    let i = mail(
        &format!("Authentication-Results: mx.djangocon.example; dmarc=fail header.from=speaker.example\r\nFrom: ada@speaker.example\r\nTo: {CFP}\r\nSubject: Proposal\r\n"),
        COMPLETE,
    );
    let mut f = facts(&c, &t);
    let d = decide(&i, &f);
    assert_eq!(
        outcome(&d),
        (MessageState::NeedsReview, Some("dmarc_fail"), None)
    );
    assert!(d.finish().detail.unwrap().ends_with("--release 5"));
    f.released = true;
    assert!(matches!(decide(&i, &f), Decision::NewProposal(_)));
    // Another server's verdict is not ours to trust.
    let i = mail(
        &format!("Authentication-Results: mx.elsewhere.example; dmarc=fail\r\nFrom: ada@speaker.example\r\nTo: {CFP}\r\nSubject: Proposal\r\n"),
        COMPLETE,
    );
    f.released = false;
    assert!(matches!(decide(&i, &f), Decision::NewProposal(_)));
}

#[test]
fn attachments_beyond_the_limits_are_refused_naming_the_limit() {
    let (c, t) = (cfg(), tagger());
    let raw = format!("From: ada@speaker.example\r\nTo: {CFP}\r\nSubject: Proposal\r\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{COMPLETE}\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe\"\r\n\r\nMZ\r\n--b--\r\n");
    let i = inbound::parse(raw.as_bytes(), &OwnIdentity::new(CFP)).unwrap();
    let d = decide(&i, &facts(&c, &t));
    rejected(&d, "attachments");
    assert_eq!(
        outcome(&d),
        (
            MessageState::Rejected,
            Some("attachments"),
            Some("rejection")
        )
    );
    assert!(d.finish().detail.unwrap().contains("setup.exe"));
}

#[test]
fn screening_comes_before_any_token_lookup() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    assert!(screen(&from_ada("Proposal", COMPLETE), &f).is_ok());
    f.first_seen = Some(1);
    assert!(screen(&from_ada("Proposal", COMPLETE), &f).is_err());
}

// -- new mail ---------------------------------------------------------------------------

#[test]
fn withdraw_without_a_token_is_refused() {
    let (c, t) = (cfg(), tagger());
    let d = decide(&from_ada("withdraw", ""), &facts(&c, &t));
    rejected(&d, "withdraw_without_token");
    assert_eq!(d.reply_kind().map(|k| k.as_str()), Some("rejection"));
    assert_eq!(
        d.reply().unwrap().subject,
        "[DjangoCon US 2024] Re: withdraw"
    );
}

#[test]
fn a_review_without_a_token_is_refused() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.review_like = true;
    let d = decide(&from_ada("Re: Review P-0001", "Score: 4\r\n"), &f);
    rejected(&d, "review_without_token");
    assert_eq!(
        d.reply().unwrap().subject,
        "[DjangoCon US 2024] Your review was not recorded"
    );
}

#[test]
fn help_and_not_a_proposal_get_the_template() {
    let (c, t) = (cfg(), tagger());
    let d = decide(&from_ada("help", ""), &facts(&c, &t));
    assert_eq!(
        outcome(&d),
        (MessageState::Help, Some("help"), Some("help"))
    );
    assert_eq!(d.proposal_id(), None);
    let d = decide(&from_ada("Hi", "How do I submit a talk?"), &facts(&c, &t));
    for_person(&d, "not_a_proposal");
    let Decision::ForPerson(p) = &d else {
        panic!("for a person")
    };
    let super::Body::Ready(text) = &p.reply.body else {
        panic!("rendered")
    };
    assert!(text.contains("\"help\" as the subject"), "{text}");
    let c = without_contact(c);
    let d = decide(&from_ada("Hi", "How do I submit a talk?"), &facts(&c, &t));
    assert_eq!(
        outcome(&d),
        (MessageState::Help, Some("not_a_proposal"), Some("help"))
    );
    let Decision::NotAProposal { reply } = d else {
        panic!("not a proposal")
    };
    assert!(reply.body.text().contains("We could not find a proposal"));
    // Fields win over the word.
    let d = decide(&from_ada("help", COMPLETE), &facts(&c, &t));
    assert!(matches!(d, Decision::NewProposal(_)), "{d:?}");
}

/// Issue 14, item 3: the help text to unreadable mail is the backscatter path, so it
/// answers only mail that looks written by a person.
#[test]
fn unreadable_mail_gets_help_only_when_a_person_wrote_it() {
    let (c, t) = (cfg(), tagger());
    let notice = |from: &str, subject: &str, body: &str| {
        mail(
            &format!("From: {from}\r\nTo: {CFP}\r\nSubject: {subject}\r\n"),
            body,
        )
    };
    for i in [
        notice(
            "Carrier <alerts@carrier.example>",
            "Message status",
            "Your message could not be sent.\r\nReason: 550 5.1.1 Recipient rejected\r\n",
        ),
        notice(
            "Lists <lists@community.example>",
            "help",
            "A mail loop was detected: your post came back to the list.\r\n",
        ),
        notice(
            "talks-owner@lists.example",
            "Your message",
            "Please ask the owner.\r\n",
        ),
    ] {
        let d = decide(&i, &facts(&c, &t));
        assert!(matches!(d, Decision::Machine(_)), "{d:?}");
        assert!(d.reply().is_none());
    }
    let d = decide(
        &from_ada(
            "Hi",
            "Hello, my last mail got a 550 error. Can I still send a talk?",
        ),
        &facts(&c, &t),
    );
    for_person(&d, "not_a_proposal");
}

#[test]
fn a_complete_proposal_is_accepted_with_an_ack_and_a_fresh_token() {
    let (c, t) = (cfg(), tagger());
    let d = decide(&from_ada("Proposal", COMPLETE), &facts(&c, &t));
    assert_eq!(outcome(&d), (MessageState::Accepted, None, Some("ack")));
    let Decision::NewProposal(p) = d else {
        panic!("new proposal")
    };
    assert_eq!(p.status, ProposalStatus::Submitted);
    assert_eq!(p.speaker.address, "ada@speaker.example");
    let reply = p.reply(&c, 42);
    assert_eq!(reply.token, ReplyToken::FreshProposal);
    assert_eq!(
        reply.subject,
        "[DjangoCon US 2024] P-0042 received: Fast Django"
    );
    assert!(reply.body.text().contains("P-0042"));
}

#[test]
fn a_proposal_read_while_preparing_is_used_as_read() {
    let (c, t) = (cfg(), tagger());
    let parsed = proposal::parse(COMPLETE, &c.proposals);
    let topics = file_topics(&t, &parsed.fields, &TagOverrides::default());
    let read = (parsed, topics.clone());
    let mut f = facts(&c, &t);
    f.read = Some(&read);
    // The body is not read again: the prepared reading decides.
    let d = decide(&from_ada("Proposal", ""), &f);
    let Decision::NewProposal(p) = d else {
        panic!("new proposal")
    };
    assert_eq!(p.topics.len(), topics.len());
}

#[test]
fn an_incomplete_proposal_is_a_draft() {
    let (c, t) = (cfg(), tagger());
    let d = decide(
        &from_ada("Proposal", "Title: Fast Django\r\nFormat: talk-25\r\n"),
        &facts(&c, &t),
    );
    assert_eq!(
        outcome(&d),
        (MessageState::Draft, Some("missing_fields"), Some("draft"))
    );
    assert!(!d.finish().detail.unwrap().is_empty());
}

#[test]
fn a_proposal_after_the_deadline_is_kept_as_late() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.now = after();
    f.arrived = after();
    let d = decide(&from_ada("Proposal", COMPLETE), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Accepted, Some("late_entry"), Some("closed"))
    );
}

#[test]
fn the_deadline_is_judged_on_arrival_not_on_processing() {
    let (c, t) = (cfg(), tagger());
    // Delivered before the deadline, processed after it: on time.
    let mut f = facts(&c, &t);
    f.now = after();
    f.arrived = before();
    let d = decide(&from_ada("Proposal", COMPLETE), &f);
    assert_eq!(outcome(&d), (MessageState::Accepted, None, Some("ack")));
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let d = decide(
        &through_token("ada@speaker.example", "Re: P-0007", "Title: New\r\n"),
        &f,
    );
    assert_eq!(d.reason(), None, "an update delivered in time is applied");
    // The Date header a sender writes counts for nothing.
    let mut f = facts(&c, &t);
    f.now = after();
    f.arrived = after();
    let dated = mail(
        &format!(
            "From: Ada <ada@speaker.example>\r\nTo: {CFP}\r\nSubject: Proposal\r\n\
             Date: Mon, 01 Apr 2024 10:00:00 +0000\r\n"
        ),
        COMPLETE,
    );
    assert_eq!(
        outcome(&decide(&dated, &f)),
        (MessageState::Accepted, Some("late_entry"), Some("closed"))
    );
}

// -- through a proposal token -----------------------------------------------------------

#[test]
fn authorize_grants_assignments_and_unexpired_proposal_tokens() {
    let t = |kind, proposal_id, expires_at| TokenRow {
        kind,
        proposal_id,
        assignment_id: None,
        bound_address: "ada@speaker.example".into(),
        expires_at,
        created_at: 0,
    };
    const DAY: i64 = 86_400_000;
    assert_eq!(
        authorize(&t(TokenKind::Assignment, Some(1), Some(0)), 10, 1),
        Some(Grant::Assignment)
    );
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), None), 10, 1),
        Some(Grant::Proposal(7))
    );
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), Some(11)), 10, 1),
        Some(Grant::Proposal(7))
    );
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), Some(10)), 10, 1),
        Some(Grant::ProposalExpired(7))
    );
    // The lifetime counts from issue, also for tokens stored without an expiry.
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), None), 30 * DAY - 1, 30),
        Some(Grant::Proposal(7))
    );
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), None), 30 * DAY, 30),
        Some(Grant::ProposalExpired(7))
    );
    assert_eq!(
        authorize(&t(TokenKind::Proposal, Some(7), Some(5 * DAY)), 6 * DAY, 30),
        Some(Grant::ProposalExpired(7))
    );
    assert_eq!(authorize(&t(TokenKind::Proposal, None, None), 10, 1), None);
}

#[test]
fn an_expired_proposal_token_changes_nothing_and_tells_only_its_speaker() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = Some(Authority::ExpiredProposal {
        id: 7,
        bound: "ada@speaker.example".into(),
    });
    let d = decide(
        &through_token("ada@speaker.example", "Re: P-0007", "withdraw"),
        &f,
    );
    rejected(&d, "token_expired");
    let body = match &d.reply().unwrap().body {
        replies::Body::Ready(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        body.contains("P-0007") && body.contains("365 days"),
        "{body}"
    );
    let d = decide(
        &through_token("eve@attacker.example", "Re: P-0007", "withdraw"),
        &f,
    );
    rejected(&d, "sender_mismatch");
}

#[test]
fn only_the_speaker_may_use_a_proposal_token() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let i = through_token("eve@attacker.example", "Re: P-0007", "withdraw");
    let d = decide(&i, &f);
    rejected(&d, "sender_mismatch");
    assert_eq!(d.reply_kind().map(|k| k.as_str()), Some("rejection"));
}

#[test]
fn a_token_for_a_vanished_proposal_makes_new_mail() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = Some(Authority::Proposal {
        id: 7,
        bound: "ada@speaker.example".into(),
        proposal: None,
        decision: None,
    });
    let i = through_token("ada@speaker.example", "Proposal", COMPLETE);
    assert!(matches!(decide(&i, &f), Decision::NewProposal(_)));
}

#[test]
fn follow_up_commands() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let ada = "Ada <ada@speaker.example>";
    let d = decide(&through_token(ada, "Re: P-0007", "help"), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Help, Some("help"), Some("help"))
    );
    assert_eq!(d.proposal_id(), Some(7));
    let d = decide(&through_token(ada, "Re: P-0007", "withdraw"), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Withdrawn, None, Some("withdrawn"))
    );
    assert_eq!(d.proposal_id(), Some(7));
    // Only thanks: nothing for a person to answer.
    let d = decide(&through_token(ada, "Re: P-0007", "Thanks!"), &f);
    rejected(&d, "update_not_understood");
    assert_eq!(d.reply_kind().map(|k| k.as_str()), Some("rejection"));
    // A question is for a person; the proposal is named and is its thread.
    let q = "Hello, can I present remotely? I cannot travel in May.";
    let d = decide(&through_token(ada, "Re: P-0007", q), &f);
    for_person(&d, "update_not_understood");
    assert_eq!(d.proposal_id(), Some(7));
    let Decision::ForPerson(p) = &d else {
        panic!("for a person")
    };
    assert_eq!(p.thread, "proposal:7:ada@speaker.example");
    assert_eq!(p.text, q);
    // Without a contact, cfpd answers by itself as before.
    let c2 = without_contact(c.clone());
    f.cfg = &c2;
    let d = decide(&through_token(ada, "Re: P-0007", q), &f);
    rejected(&d, "update_not_understood");
}

#[test]
fn a_withdrawn_proposal_takes_no_follow_up_but_help() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = proposal_token(7, ProposalStatus::Withdrawn);
    let ada = "ada@speaker.example";
    let d = decide(&through_token(ada, "Re: P-0007", "Title: New\r\n"), &f);
    assert_eq!(rejected(&d, "proposal_withdrawn"), None);
    let d = decide(&through_token(ada, "Re: P-0007", "help"), &f);
    assert_eq!(d.reason().map(|r| r.as_str()), Some("help"));
}

#[test]
fn updates_after_the_deadline_are_refused() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    f.now = after();
    f.arrived = after();
    let d = decide(
        &through_token("ada@speaker.example", "Re: P-0007", "Title: New\r\n"),
        &f,
    );
    // Nothing changes; a person hears of it (issue 16, item 4).
    for_person(&d, "cfp_closed");
    let c2 = without_contact(c.clone());
    f.cfg = &c2;
    let d = decide(
        &through_token("ada@speaker.example", "Re: P-0007", "Title: New\r\n"),
        &f,
    );
    rejected(&d, "cfp_closed");
    assert_eq!(d.reply_kind().map(|k| k.as_str()), Some("rejection"));
}

#[test]
fn an_update_is_the_next_version_with_a_fresh_token() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let i = through_token(
        "ada@speaker.example",
        "Re: P-0007",
        "Title: Faster Django\r\n",
    );
    let d = decide(&i, &f);
    assert_eq!(outcome(&d), (MessageState::Updated, None, Some("updated")));
    assert_eq!(d.finish().detail.as_deref(), Some("version 3"));
    let Decision::Update(u) = d else {
        panic!("update")
    };
    assert_eq!((u.proposal_id, u.version), (7, 3));
    assert_eq!(u.fields.title.as_deref(), Some("Faster Django"));
    assert_eq!(u.reply.token, ReplyToken::FreshProposal);
}

#[test]
fn an_assignment_token_goes_to_the_review_rules() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    let token = TokenRow {
        kind: TokenKind::Assignment,
        proposal_id: Some(7),
        assignment_id: Some(3),
        bound_address: "rita@reviewers.example".into(),
        expires_at: None,
        created_at: 0,
    };
    f.authority = Some(Authority::Assignment(token));
    let d = decide(
        &through_token("rita@reviewers.example", "Re: Review P-0007", "Score: 4"),
        &f,
    );
    assert!(
        matches!(&d, Decision::ReviewReply { token, from } if token.assignment_id == Some(3) && from.address == "rita@reviewers.example"),
        "{d:?}"
    );
}

#[test]
fn review_outcomes_store_their_reasons() {
    let reply = || Reply::ready(MailKind::Released, "s".into(), "b".into());
    let released = |conflict| Decision::Released {
        conflict,
        proposal_id: 7,
        detail: "P-0007: reassigned".into(),
        reply: reply(),
    };
    assert_eq!(
        outcome(&released(true)),
        (MessageState::Released, Some("conflict"), Some("released"))
    );
    assert_eq!(
        released(false).reason().map(|r| r.as_str()),
        Some("decline")
    );
    let d = Decision::ReviewRecorded {
        proposal_id: 7,
        detail: "P-0007 review version 1: score 4".into(),
        reply: Reply::ready(MailKind::Receipt, "s".into(), "b".into()),
    };
    assert_eq!(
        outcome(&d),
        (MessageState::ReviewRecorded, None, Some("receipt"))
    );
    assert_eq!(d.proposal_id(), Some(7));
}

#[test]
fn a_reply_without_the_token_is_answered_not_stored() {
    let (cfg, tagger) = (cfg(), tagger());
    let f = facts(&cfg, &tagger);
    // The speaker answers the acknowledgment at the plain address, quoting it.
    let quoted = "Title: Faster Django\r\n\r\nOn Mon, 1 Apr 2024, cfp wrote:\r\n> P-0001 received: Fast Django\r\n> Title: Fast Django\r\n";
    let i = from_ada(
        "Re: [DjangoCon US 2024] P-0001 received: Fast Django",
        quoted,
    );
    let d = decide(&i, &f);
    assert_eq!(rejected(&d, "update_not_understood"), None);
    assert_eq!(outcome(&d).2, Some("rejection"));
    let body = &d.reply().unwrap().body;
    let text = format!("{body:?}");
    assert!(
        text.contains("P-0001") && text.contains("acknowledgment"),
        "{text}"
    );
    // The same when preparing read it as a proposal.
    let read = (proposal::parse(quoted, &cfg.proposals), vec![]);
    let f = Facts {
        read: Some(&read),
        ..facts(&cfg, &tagger)
    };
    rejected(&decide(&i, &f), "update_not_understood");
    // Threaded to one of our mails, naming the proposal in the quote.
    let i = mail(
        &format!("From: Ada <ada@speaker.example>\r\nTo: {CFP}\r\nSubject: my update\r\nIn-Reply-To: <abcdefghijklmnopqrstuvwx@djangocon.example>\r\n"),
        quoted,
    );
    rejected(&decide(&i, &facts(&cfg, &tagger)), "update_not_understood");
    // "help" in such a reply still gets help; a new mail naming a proposal is new mail.
    let i = from_ada("Re: P-0001 received", "help\r\n");
    assert!(matches!(
        decide(&i, &facts(&cfg, &tagger)),
        Decision::Help { .. }
    ));
    let i = from_ada("Like P-0001, but about forms", COMPLETE);
    assert!(matches!(
        decide(&i, &facts(&cfg, &tagger)),
        Decision::NewProposal(_)
    ));
}

#[test]
fn answers_never_stack_re_and_the_conference_tag() {
    let c = cfg();
    let name = &c.conference.name;
    for theirs in [
        format!("Re: [{name}] P-0009 received: Forms"),
        format!("RE: Re: [{name}] P-0009 received: Forms"),
        format!("Fwd: re: [{name}] Re: P-0009 received: Forms"),
        format!("AW: [{}] P-0009 received: Forms", name.to_uppercase()),
        "P-0009 received: Forms".to_string(),
    ] {
        assert_eq!(
            replies::reply_subject(&c, &theirs),
            format!("[{name}] Re: P-0009 received: Forms"),
            "{theirs}"
        );
    }
    // Only leading prefixes go; a title that starts like one stays whole.
    assert_eq!(
        replies::reply_subject(&c, "Réponse: Re-thinking forms"),
        format!("[{name}] Re: Réponse: Re-thinking forms")
    );
}

#[test]
fn a_speaker_confirms_or_declines_a_told_acceptance_by_reply() {
    use crate::model::{Confirmation, Decision as Chairs};
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    // After the CFP deadline: answers are not proposal updates.
    f.arrived = after();
    f.now = after();
    f.authority = decided_token(Chairs::Accepted, true);
    let ada = "Ada <ada@speaker.example>";
    let re = "Re: [DjangoCon US 2024] P-0007 accepted: Fast Django";
    let d = decide(&through_token(ada, re, "Yes, I'll be there!"), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Confirmed, None, Some("confirmation"))
    );
    match &d {
        Decision::Confirmation {
            proposal_id,
            version,
            answer,
            reply,
        } => {
            assert_eq!(
                (*proposal_id, *version, *answer),
                (7, 3, Confirmation::Confirmed)
            );
            assert_eq!(reply.token, ReplyToken::FreshProposal);
            assert_eq!(
                reply.subject,
                "[DjangoCon US 2024] P-0007 confirmed: Fast Django"
            );
        }
        other => panic!("{other:?}"),
    }
    let d = decide(&through_token(ada, re, "Sadly I can't make it."), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Declined, None, Some("confirmation"))
    );
    // Neither: asked for one word, through a fresh token; nothing recorded.
    let d = decide(&through_token(ada, re, "I can't confirm yet."), &f);
    assert_eq!(rejected(&d, "confirmation_unclear"), Some(7));
    assert_eq!(
        d.reply().map(|r| r.token.clone()),
        Some(ReplyToken::FreshProposal)
    );
    // Another sender through Ada's token changes nothing.
    let d = decide(&through_token("eve@attacker.example", re, "confirm"), &f);
    rejected(&d, "sender_mismatch");
}

#[test]
fn confirm_means_nothing_before_an_acceptance_is_told() {
    use crate::model::Decision as Chairs;
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.arrived = after();
    f.now = after();
    let ada = "Ada <ada@speaker.example>";
    for (decision, told) in [
        (Chairs::Accepted, false),
        (Chairs::Waitlisted, true),
        (Chairs::Rejected, true),
    ] {
        f.authority = decided_token(decision, told);
        let d = decide(&through_token(ada, "Re: P-0007", "confirm"), &f);
        for_person(&d, "cfp_closed");
    }
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let d = decide(&through_token(ada, "Re: P-0007", "confirm"), &f);
    for_person(&d, "cfp_closed");
}

fn chair_authority(kind: crate::model::ChairTokenKind, applied: bool) -> Option<Authority> {
    use crate::model::DecisionRequest;
    let waitlisted = crate::model::fixtures::decision(8, crate::model::Decision::Waitlisted);
    Some(Authority::Chair(Box::new(ChairAuthority {
        token: crate::model::ChairTokenRow {
            kind,
            bound_address: "chair@djangocon.example".into(),
            request_id: Some(3),
        },
        request: Some(DecisionRequest {
            id: 3,
            chair: "chair@djangocon.example".into(),
            commands: vec![(7, crate::model::Decision::Accepted)],
            applied_at: applied.then_some(9),
        }),
        proposals: vec![
            proposal(7, ProposalStatus::Submitted),
            proposal(8, ProposalStatus::Submitted),
            proposal(9, ProposalStatus::Draft),
        ],
        current: vec![waitlisted],
    })))
}

#[test]
fn a_chairs_commands_are_answered_never_applied_in_one_step() {
    use crate::model::ChairTokenKind::Command;
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = chair_authority(Command, false);
    let chair = "Chair <chair@djangocon.example>";
    let d = decide(
        &through_token(
            chair,
            "Re: Decide",
            "accept P-0007 P-0008\nreject P-0009 P-0042",
        ),
        &f,
    );
    assert_eq!(
        outcome(&d),
        (MessageState::DecisionRequested, None, Some("chair_answer"))
    );
    let Decision::ChairRequest {
        commands, reply, ..
    } = &d
    else {
        panic!("{d:?}")
    };
    use crate::model::Decision as Chairs;
    assert_eq!(commands, &[(7, Chairs::Accepted), (8, Chairs::Accepted)]);
    let Body::Ready(text) = &reply.body else {
        panic!()
    };
    assert!(
        text.contains("  accept P-0008 \"Fast Django\" (was waitlisted)\n"),
        "{text}"
    );
    assert!(text.contains("P-0009 is a draft"), "{text}");
    assert!(text.contains("P-0042: no such proposal"), "{text}");
    // Nothing readable, or nothing decidable: a refusal saying how to write.
    let d = decide(&through_token(chair, "Re: Decide", "Thanks!"), &f);
    rejected(&d, "chair_command_unclear");
    let d = decide(&through_token(chair, "Re: Decide", "reject P-0009"), &f);
    rejected(&d, "chair_command_unclear");
    // Another sender through the chair's token: refused, naming nothing.
    let d = decide(
        &through_token("eve@attacker.example", "Re: Decide", "accept P-0007"),
        &f,
    );
    rejected(&d, "chair_mismatch");
    let body = d.reply().map(|r| match &r.body {
        Body::Ready(t) => t.clone(),
        Body::Later(_) => String::new(),
    });
    assert!(!body.unwrap().contains("P-0007"));
}

#[test]
fn a_chairs_yes_applies_once_and_only_from_the_chair() {
    use crate::model::ChairTokenKind::Confirm;
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = chair_authority(Confirm, false);
    let chair = "Chair <chair@djangocon.example>";
    let d = decide(&through_token(chair, "Re: Decisions", "Yes"), &f);
    assert_eq!(
        outcome(&d),
        (MessageState::Decided, None, Some("chair_answer"))
    );
    assert!(
        matches!(&d, Decision::ChairDecided { request_id: 3, commands, .. } if commands.len() == 1)
    );
    rejected(
        &decide(&through_token(chair, "Re: Decisions", "no, wait"), &f),
        "chair_command_unclear",
    );
    rejected(
        &decide(
            &through_token("eve@attacker.example", "Re: Decisions", "yes"),
            &f,
        ),
        "chair_mismatch",
    );
    f.authority = chair_authority(Confirm, true);
    rejected(
        &decide(&through_token(chair, "Re: Decisions", "yes"), &f),
        "chair_confirmation_used",
    );
}

#[test]
fn decisions_without_a_chair_token_decide_nothing() {
    // The example config's chair is chair@djangocon.example.
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    let i = mail(
        &format!("From: Chair <chair@djangocon.example>\r\nTo: {CFP}\r\nSubject: decisions\r\n"),
        "accept P-0007",
    );
    rejected(&decide(&i, &f), "chair_without_token");
    // A speaker's token is not a chair's.
    f.authority = proposal_token(7, ProposalStatus::Submitted);
    let d = decide(
        &through_token("Ada <ada@speaker.example>", "Re: P-0007", "accept P-0007"),
        &f,
    );
    rejected(&d, "chair_without_token");
}

fn bid_authority() -> Option<Authority> {
    let rita = crate::model::Reviewer {
        id: 4,
        email: "rita@cs.uni.example".into(),
        name: Some("Rita".into()),
        topics: vec!["database".into()],
        min_load: 0,
        max_load: 3,
        conflicts: vec![],
    };
    Some(Authority::Bids(Box::new(BidAuthority {
        token: crate::store::bids::BidTokenRow {
            reviewer_id: 4,
            bound_address: "rita@cs.uni.example".into(),
        },
        reviewer: Some(rita),
        proposals: vec![
            proposal(7, ProposalStatus::Submitted),
            proposal(8, ProposalStatus::Submitted),
            proposal(9, ProposalStatus::Withdrawn),
        ],
    })))
}

#[test]
fn bids_through_the_reviewers_token_are_recorded_with_a_receipt() {
    use crate::model::BidKind;
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = bid_authority();
    let rita = "Rita <rita@CS.UNI.example>";
    let d = decide(
        &through_token(
            rita,
            "Re: Bidding",
            "yes: P-0007\nconflict: 8, 9\nmaybe: soon",
        ),
        &f,
    );
    assert_eq!(
        outcome(&d),
        (MessageState::BidsRecorded, None, Some("bid_receipt"))
    );
    let Decision::BidsRecorded {
        reviewer_id,
        bids,
        reply,
        ..
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(*reviewer_id, 4);
    assert_eq!(bids, &[(7, BidKind::Yes), (8, BidKind::Conflict)]);
    let Body::Ready(text) = &reply.body else {
        panic!()
    };
    assert!(text.contains("  P-0007: yes"), "{text}");
    assert!(
        text.contains("P-0009 is not a proposal in review"),
        "{text}"
    );
    assert!(text.contains("\"soon\" (in \"maybe: soon\")"), "{text}");
    // Nothing readable: refused, saying what was not understood.
    let d = decide(&through_token(rita, "Re: Bidding", "P-0007 please"), &f);
    rejected(&d, "bids_not_understood");
    // Its answer carries a fresh bidding token for Rita: replying to it is a bid.
    assert_eq!(d.reply().map(|r| &r.token), Some(&ReplyToken::FreshBid(4)));
}

#[test]
fn a_forged_bid_records_nothing_and_names_nothing() {
    let (c, t) = (cfg(), tagger());
    let mut f = facts(&c, &t);
    f.authority = bid_authority();
    for from in [
        "eve@attacker.example",
        "rita@cs.uni.example.evil.org",
        "Rita@cs.uni.example",
    ] {
        let d = decide(&through_token(from, "Re: Bidding", "conflict: 7, 8"), &f);
        rejected(&d, "reviewer_mismatch");
        let body = d.reply().map(|r| match &r.body {
            Body::Ready(t) => t.clone(),
            Body::Later(_) => String::new(),
        });
        let body = body.unwrap();
        assert!(
            !body.contains("P-000") && !body.contains("Fast Django"),
            "{body}"
        );
    }
}
