//! The one I/O edge of [`crate::decision`]: read what the plan needs, render
//! the decision mails, and (for `--send`) queue them and mark their decisions
//! as told in one transaction.
//!
//! Exactly once: each decision version is claimed as told
//! ([`store::decisions::claim_notified`]) before its mails are queued, in the
//! same transaction, and each mail has the dedup key of its (proposal,
//! decision version, recipient). A second `--send`, a concurrent one, or one
//! repeated after a crash finds nothing left to claim; a crash before the
//! commit leaves nothing behind, so the next `--send` sends everything.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::plan::{plan, Plan, Planned, Role};
use crate::config::Config;
use crate::model::{Decision, MailKind, ProposalRow, TokenKind};
use crate::outbox::custom::Mail;
use crate::outbox::templates::{decision_phrase, wrap, DecisionMail};

use crate::outbox::{AutoSubmitted, Composer, Draft};
use crate::store::{
    self, decisions, outbox, proposals, review, reviews, AnyConnection, StoreError,
};
use crate::token;

/// Why decision mails could not be prepared or queued.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The database failed (nothing was queued).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A decision template failed to render.
    #[error("decision mail template: {0}")]
    Render(#[from] askama::Error),
}

/// One rendered decision mail.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Who gets it, and which decision.
    pub planned: Planned,
    /// The proposal's reference.
    pub reference: String,
    /// The recipient's display name, if known.
    pub to_name: Option<String>,
    /// Subject line.
    pub subject: String,
    /// The text, exactly as it will be sent.
    pub body: String,
}

/// The plan and its rendered mails.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Which decision versions are told, and to whom.
    pub plan: Plan,
    /// One rendered mail per planned mail, in the same order.
    pub mails: Vec<Outgoing>,
}

/// What [`send`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// Decision versions marked as told by this call.
    pub decisions: usize,
    /// Mails queued.
    pub queued: u64,
    /// Mails that could not be built: (address, why). Nothing was queued for
    /// them; the chair writes to them by hand.
    pub failed: Vec<(String, String)>,
}

/// Read the untold decisions and render every mail they need.
pub async fn prepare(conn: &mut AnyConnection, cfg: &Config) -> Result<Prepared, NotifyError> {
    let ps = proposals::list(conn).await?;
    let history = decisions::history_all(conn).await?;
    let plan = plan(&ps, &history);
    let comments = if cfg.decisions.share_reviews {
        speaker_comments(conn).await?
    } else {
        HashMap::new()
    };
    let by_id: HashMap<i64, &ProposalRow> = ps.iter().map(|p| (p.id, p)).collect();
    let mut mails = Vec::with_capacity(plan.mails.len());
    for m in &plan.mails {
        let p = by_id[&m.proposal_id];
        mails.push(render(cfg, p, m, comments.get(&p.id))?);
    }
    Ok(Prepared { plan, mails })
}

/// The reviewers' current "Comments for the speaker" per proposal, non-empty
/// ones only, in assignment order (which names nobody).
async fn speaker_comments(
    conn: &mut AnyConnection,
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let proposal_of: HashMap<i64, i64> = review::assignments(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.proposal_id))
        .collect();
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for r in reviews::current_all(conn).await? {
        let text = r.comments_speaker.trim();
        if let (false, Some(p)) = (text.is_empty(), proposal_of.get(&r.assignment_id)) {
            out.entry(*p).or_default().push(text.to_string());
        }
    }
    Ok(out)
}

fn render(
    cfg: &Config,
    p: &ProposalRow,
    m: &Planned,
    comments: Option<&Vec<String>>,
) -> Result<Outgoing, askama::Error> {
    let reference = p.reference();
    let title = p.fields.title.as_deref().unwrap_or("(untitled)");
    let quoted = wrap(&format!("\"{title}\""), 74);
    let to_name = match m.role {
        Role::Speaker => p.speaker_name.clone(),
        Role::CoSpeaker => None,
    };
    let submitted_by = match m.role {
        Role::Speaker => None,
        Role::CoSpeaker => Some(match &p.speaker_name {
            Some(n) => format!("{n} <{}>", p.speaker_email),
            None => p.speaker_email.clone(),
        }),
    };
    let body = DecisionMail {
        conference: &cfg.conference.name,
        name: to_name.as_deref().unwrap_or(""),
        reference: &reference,
        title: &quoted,
        submitted_by: submitted_by.as_deref().unwrap_or(""),
        previous: m.previous.map(decision_phrase).unwrap_or(""),
        comments: &comments
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|c| crate::outbox::templates::comment_block(c))
            .collect::<Vec<_>>(),
        contact: &cfg.conference.contact,
        confirm_by: cfg.confirm_by_text().as_deref().unwrap_or(""),
    }
    .render(m.decision, &cfg.templates)?;
    let subject = format!(
        "[{}] {reference} {}: {title}",
        cfg.conference.name,
        decision_phrase(m.decision)
    );
    Ok(Outgoing {
        planned: m.clone(),
        reference,
        to_name,
        subject,
        body,
    })
}

/// Queue the prepared mails and mark their decisions as told, in the
/// caller's transaction. A decision version another `--send` already told
/// is skipped with its mails.
pub async fn send(
    conn: &mut AnyConnection,
    composer: &Composer,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<Sent, NotifyError> {
    let now_ms = store::ms(now);
    let mut out = Sent::default();
    let mut tokens = Vec::new();
    for &(pid, version) in &prepared.plan.settled {
        if !decisions::claim_notified(conn, pid, version, now_ms).await? {
            continue;
        }
        out.decisions += 1;
        let mine = prepared
            .mails
            .iter()
            .filter(|o| o.planned.proposal_id == pid && o.planned.version == version);
        let mut batch = Vec::new();
        for o in mine {
            // The speaker answers an acceptance by replying: through a token
            // bound to their address, like every change to a proposal.
            let tok = (o.planned.role == Role::Speaker && o.planned.decision == Decision::Accepted)
                .then(token::generate);
            let draft = Draft {
                kind: MailKind::Decision,
                dedup_key: o.planned.dedup_key(),
                to: &o.planned.to,
                to_name: o.to_name.as_deref(),
                subject: o.subject.clone(),
                body: o.body.clone(),
                in_reply_to: None,
                references: &[],
                reply_token: tok.as_ref().map(|t| t.secret.as_str()),
                auto: AutoSubmitted::AutoGenerated,
                cause_message: None,
            };
            match composer.compose(&draft) {
                Ok(mail) => batch.push(mail),
                Err(e) => {
                    out.failed.push((o.planned.to.clone(), e.to_string()));
                    continue;
                }
            }
            if let Some(t) = tok {
                tokens.push(proposals::NewTokenRow {
                    hash: t.hash,
                    kind: TokenKind::Proposal,
                    proposal_id: Some(pid),
                    bound_address: o.planned.to.clone(),
                });
            }
        }
        out.queued += outbox::queue_many(conn, &batch, now_ms).await?;
    }
    proposals::insert_tokens(conn, &tokens, now_ms).await?;
    Ok(out)
}

/// What happened to the waiting list when an accepted talk dropped out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    /// `promote = "off"`, or the talk was not an accepted one.
    Nothing,
    /// No waitlisted talk of its format (the chairs were told).
    NoCandidate,
    /// The chairs were asked to accept this one.
    Proposed(i64),
    /// This one was accepted and its acceptance queued.
    Promoted(i64),
}

impl Promotion {
    /// For the message log.
    pub fn detail(&self) -> Option<String> {
        match self {
            Promotion::Nothing => None,
            Promotion::NoCandidate => Some("no waitlisted talk of its format".into()),
            Promotion::Proposed(id) => Some(format!(
                "{} proposed to the chairs in its place",
                crate::proposal::reference(*id)
            )),
            Promotion::Promoted(id) => Some(format!(
                "{} promoted from the waiting list in its place",
                crate::proposal::reference(*id)
            )),
        }
    }
}

/// An accepted talk (`dropped`, its current decision accepted) dropped out
/// for `why`: per `[decisions] promote`, propose the best waitlisted talk of
/// its format to the chairs, or accept it and queue its acceptance, in the
/// caller's transaction. Once per dropped decision version (dedup keys).
pub async fn after_drop_out(
    conn: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    dropped: i64,
    why: &str,
    now: DateTime<Utc>,
) -> Result<Promotion, NotifyError> {
    use crate::config::Promote;
    if cfg.decisions.promote == Promote::Off {
        return Ok(Promotion::Nothing);
    }
    let Some(d) = decisions::current(conn, dropped).await? else {
        return Ok(Promotion::Nothing);
    };
    if d.decision != Decision::Accepted || d.notified_at.is_none() {
        return Ok(Promotion::Nothing);
    }
    let ps = proposals::list(conn).await?;
    let Some(p) = ps.iter().find(|p| p.id == dropped) else {
        return Ok(Promotion::Nothing);
    };
    let current = decisions::current_all(conn).await?;
    let scores = review_scores(conn).await?;
    let cand = super::promote::candidate(p, &ps, &current, &scores);
    let auto = cfg.decisions.promote == Promote::Auto;
    let outcome = match (&cand, auto) {
        (None, _) => Promotion::NoCandidate,
        (Some(c), false) => Promotion::Proposed(c.proposal_id),
        (Some(c), true) => {
            promote(conn, cfg, composer, c.proposal_id, &p.reference(), now).await?;
            Promotion::Promoted(c.proposal_id)
        }
    };
    let title = |p: &ProposalRow| p.fields.title.clone().unwrap_or_else(|| "untitled".into());
    let line = cand.as_ref().and_then(|c| {
        let cp = ps.iter().find(|x| x.id == c.proposal_id)?;
        Some(format!(
            "{} \"{}\" ({})",
            cp.reference(),
            crate::outbox::templates::short_title(&title(cp), 40),
            c.mean
                .map_or("not reviewed".into(), |m| format!("mean score {m:.1}"))
        ))
    });
    let cand_ref = cand
        .as_ref()
        .map(|c| crate::proposal::reference(c.proposal_id))
        .unwrap_or_default();
    let body = crate::outbox::templates::PromotionMail {
        conference: &cfg.conference.name,
        contact: &cfg.conference.contact,
        dropped: &p.reference(),
        dropped_title: &crate::outbox::templates::short_title(&title(p), 40),
        why,
        candidate: line.as_deref().unwrap_or(""),
        candidate_ref: &cand_ref,
        promoted: matches!(outcome, Promotion::Promoted(_)),
    }
    .text(&cfg.templates)?;
    let what = match &outcome {
        Promotion::Promoted(id) => format!("promoted {}", crate::proposal::reference(*id)),
        Promotion::Proposed(id) => format!("waitlist: {}?", crate::proposal::reference(*id)),
        _ => "nobody on the waiting list".into(),
    };
    let subject = format!(
        "[{}] {} dropped out; {what}",
        cfg.conference.name,
        p.reference()
    );
    let mut mails = Vec::new();
    for chair in &cfg.chairs {
        let draft = Draft {
            kind: MailKind::Promotion,
            dedup_key: format!(
                "promotion:{}:{}:{}",
                p.id,
                d.version,
                crate::model::mailbox_key(chair)
            ),
            to: chair,
            to_name: None,
            subject: subject.clone(),
            body: body.clone(),
            in_reply_to: None,
            references: &[],
            reply_token: None,
            auto: AutoSubmitted::AutoGenerated,
            cause_message: None,
        };
        if let Ok(m) = composer.compose(&draft) {
            mails.push(m);
        }
    }
    outbox::queue_many(conn, &mails, store::ms(now)).await?;
    Ok(outcome)
}

/// Accept `id` from the waiting list (a decision with history, source
/// `promotion`) and queue its acceptance mails now, exactly as `notify
/// --send` would for it alone (other untold decisions wait for the chairs).
async fn promote(
    conn: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    id: i64,
    dropped: &str,
    now: DateTime<Utc>,
) -> Result<(), NotifyError> {
    let by = format!("waiting list, in place of {dropped}");
    decisions::record(
        conn,
        &decisions::NewDecision {
            proposal_id: id,
            decision: Decision::Accepted,
            source: crate::model::DecisionSource::Promotion,
            decided_by: &by,
            note: None,
        },
        store::ms(now),
    )
    .await?;
    let mut prepared = prepare(conn, cfg).await?;
    prepared.plan.settled.retain(|(pid, _)| *pid == id);
    prepared.plan.mails.retain(|m| m.proposal_id == id);
    prepared.mails.retain(|m| m.planned.proposal_id == id);
    send(conn, composer, &prepared, now).await?;
    Ok(())
}

/// Each proposal's current review scores.
async fn review_scores(conn: &mut AnyConnection) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let proposal_of: HashMap<i64, i64> = review::assignments(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.proposal_id))
        .collect();
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in reviews::current_all(conn).await? {
        if let Some(p) = proposal_of.get(&r.assignment_id) {
            out.entry(*p).or_default().push(r.score);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Decision, ProposalStatus};
    use crate::proposal::{Fields, TagOverrides};

    fn cfg() -> Config {
        let mut c = Config::from_str(
            crate::config::EXAMPLE_CONFIG,
            std::path::Path::new("c.toml"),
        )
        .unwrap();
        c.conference.contact = vec!["chairs@conf.example".into()];
        c
    }

    fn proposal() -> ProposalRow {
        ProposalRow {
            id: 7,
            speaker_email: "ada@a.example".into(),
            speaker_name: Some("Ada Lovelace".into()),
            status: ProposalStatus::Submitted,
            version: 1,
            created_at: 0,
            updated_at: 0,
            fields: Fields {
                title: Some("Making Django fast without caching everything".into()),
                ..Fields::default()
            },
            problems: vec![],
            topics: vec![],
            overrides: TagOverrides::default(),
            reviewers_needed: None,
        }
    }

    fn planned(d: Decision, previous: Option<Decision>, role: Role) -> Planned {
        Planned {
            proposal_id: 7,
            version: 2,
            decision: d,
            previous,
            to: "bob@b.example".into(),
            role,
        }
    }

    #[test]
    fn every_decision_mail_reads_well_and_says_what_happens_next() {
        let cfg = cfg();
        let p = proposal();
        let comments = [
            "Great topic.\nTighten the outline.".to_string(),
            "Show the numbers.".to_string(),
        ];
        let next = [
            (Decision::Accepted, "Congratulations"),
            (Decision::Waitlisted, "There is nothing you need to do now."),
            (Decision::Rejected, "could not accept it"),
        ];
        for (d, says) in next {
            for (prev, role, comments) in [
                (None, Role::Speaker, &[][..]),
                (Some(Decision::Waitlisted), Role::CoSpeaker, &comments[..]),
            ] {
                let prev = prev.filter(|p| *p != d);
                let o =
                    render(&cfg, &p, &planned(d, prev, role), Some(&comments.to_vec())).unwrap();
                let b = &o.body;
                assert!(b.contains(says), "{b}");
                assert!(b.contains("P-0007"), "{b}");
                assert!(
                    b.contains("\"Making Django fast without caching everything\""),
                    "{b}"
                );
                assert!(
                    b.contains("chairs@conf.example"),
                    "a person to write to: {b}"
                );
                assert!(b.lines().all(|l| l.chars().count() <= 78), "{b}");
                assert!(!b.contains("\n\n\n"), "no gaps: {b:?}");
                assert!(!b.starts_with('\n'), "{b:?}");
                assert_eq!(
                    b.contains("replaces our earlier one"),
                    prev.is_some(),
                    "{b}"
                );
                assert_eq!(
                    b.contains("Reviewer 2:\n  Show the numbers."),
                    !comments.is_empty(),
                    "{b}"
                );
                let asks =
                    b.contains("please reply to this mail with the single word\n\n  confirm\n");
                assert_eq!(
                    asks,
                    d == Decision::Accepted && role == Role::Speaker,
                    "{b}"
                );
                match role {
                    Role::Speaker => assert!(b.starts_with("Hello Ada Lovelace,\n"), "{b}"),
                    Role::CoSpeaker => {
                        assert!(b.starts_with("Hello,\n"), "{b}");
                        assert!(
                            b.contains("submitted by Ada Lovelace <ada@a.example>"),
                            "{b}"
                        );
                    }
                }
            }
        }
        let mut long = p.clone();
        long.fields.title = Some("A very long title ".repeat(8));
        let mut cfg = cfg;
        cfg.conference.contact = [
            "first.chair@conference.example",
            "second.chair@conference.example",
            "third.chair@conference.example",
        ]
        .map(String::from)
        .to_vec();
        let o = render(
            &cfg,
            &long,
            &planned(Decision::Accepted, None, Role::Speaker),
            None,
        )
        .unwrap();
        assert!(
            o.body.lines().all(|l| l.chars().count() <= 78),
            "{}",
            o.body
        );
        assert!(o.body.contains("\n  \"A very long title"), "{}", o.body);
        assert!(
            o.body.contains("\n  third.chair@conference.example\n"),
            "{}",
            o.body
        );
        let o = render(
            &cfg,
            &p,
            &planned(Decision::Rejected, None, Role::Speaker),
            None,
        )
        .unwrap();
        assert_eq!(
            o.subject,
            "[DjangoCon US 2024] P-0007 not accepted: Making Django fast without caching everything"
        );
        assert!(!o.body.contains("Reviewer"), "{}", o.body);
    }
}
