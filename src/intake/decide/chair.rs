//! Chairs decide by mail, in two steps. A mail through a chair's command
//! token (in the digest, or the mail `cfpd decide --request` sends) is read
//! for commands and answered with what was understood and a confirmation
//! token; only a "yes" through that token, from the same chair, records the
//! decisions, once. A leaked digest alone decides nothing, and the same
//! identity rules as reviews hold: the token selects, its bound address
//! must be the sender.

use super::replies::{subject, Reply, ReplyToken};
use super::{reject, Decision, Facts};
use crate::decision::{self, command, confirm, Change};
use crate::intake::inbound::{same_address, Inbound, Mailbox};
use crate::intake::reject::Rejection;
use crate::model::{
    ChairTokenKind, ChairTokenRow, Confirmation, DecisionRequest, DecisionRow, MailKind,
    ProposalRow,
};
use crate::outbox::templates;

/// What a chair token selects, as loaded by the pipeline.
#[derive(Debug, Clone)]
pub struct ChairAuthority {
    /// The token.
    pub token: ChairTokenRow,
    /// For a confirm token: its request.
    pub request: Option<DecisionRequest>,
    /// Every proposal (commands name any of them).
    pub proposals: Vec<ProposalRow>,
    /// Every current decision.
    pub current: Vec<DecisionRow>,
}

/// The decisions a chair's mail may make now: (id, decision, line for the
/// answer) and refusals, each checked like `cfpd decide` without `--force`.
fn checked(
    a: &ChairAuthority,
    wanted: &[(String, crate::model::Decision)],
) -> (Vec<(i64, crate::model::Decision, String)>, Vec<String>) {
    let mut ok: Vec<(i64, crate::model::Decision, String)> = Vec::new();
    let mut refused = Vec::new();
    let mut seen = Vec::new();
    for (r, d) in wanted {
        let Some(id) = crate::proposal::parse_reference(r) else {
            refused.push(decision::Refusal::NotAReference(r.clone()).to_string());
            continue;
        };
        seen.push((id, r.clone(), *d));
        let p = a.proposals.iter().find(|p| p.id == id);
        let cur = a.current.iter().find(|c| c.proposal_id == id && c.current);
        match decision::check(r, p, cur, *d, false) {
            Err(e) => refused.push(e.to_string()),
            Ok(Change::Same) => {
                refused.push(format!("{} is already {d}", crate::proposal::reference(id)))
            }
            Ok(change) => {
                let title = p
                    .and_then(|p| p.fields.title.clone())
                    .unwrap_or_else(|| "untitled".into());
                let was = match change {
                    Change::Changed { from, .. } => format!(" (was {from})"),
                    _ => String::new(),
                };
                let line = format!(
                    "{} {} \"{}\"{was}",
                    d.verb(),
                    crate::proposal::reference(id),
                    templates::short_title(&title, 40)
                );
                if !ok.iter().any(|(i, ..)| *i == id) {
                    ok.push((id, *d, line));
                }
            }
        }
    }
    if let Err(e) = decision::dedup(&seen) {
        refused.push(e.to_string());
        let twice = crate::proposal::parse_reference(match &e {
            decision::Refusal::Contradictory(r) => r,
            _ => "",
        });
        ok.retain(|(id, ..)| Some(*id) != twice);
    }
    (ok, refused)
}

/// A mail through a chair token from `from`.
pub fn chair_mail(i: &Inbound, f: &Facts<'_>, from: &Mailbox, a: &ChairAuthority) -> Decision {
    let cfg = f.cfg;
    if !same_address(&from.address, &a.token.bound_address) {
        let from = from.address.clone();
        return reject(cfg, Rejection::ChairMismatch { from }, &i.subject);
    }
    let text = i.reply_text();
    match a.token.kind {
        ChairTokenKind::Command => {
            let c = command::parse(&text);
            let (ok, refused) = checked(a, &c.commands);
            if ok.is_empty() {
                let mut problems = c.unreadable;
                problems.extend(refused);
                return reject(cfg, Rejection::ChairCommandUnclear { problems }, &i.subject);
            }
            let lines: Vec<String> = ok.iter().map(|(.., l)| l.clone()).collect();
            let body = templates::ChairUnderstood {
                conference: &cfg.conference.name,
                contact: &cfg.conference.contact,
                understood: &lines,
                refused: &refused,
                unreadable: &c.unreadable,
            }
            .render_text(&cfg.templates);
            Decision::ChairRequest {
                chair: a.token.bound_address.clone(),
                commands: ok.iter().map(|(id, d, _)| (*id, *d)).collect(),
                reply: Reply {
                    kind: MailKind::ChairAnswer,
                    subject: subject(cfg, "Decisions by mail: reply \"yes\" to apply them"),
                    body: super::replies::Body::Ready(body),
                    token: ReplyToken::FreshProposal,
                },
            }
        }
        ChairTokenKind::Confirm => {
            let Some(req) = &a.request else {
                let problems = vec!["this confirmation belongs to no request".into()];
                return reject(cfg, Rejection::ChairCommandUnclear { problems }, &i.subject);
            };
            if req.applied_at.is_some() {
                return reject(cfg, Rejection::ChairConfirmationUsed, &i.subject);
            }
            if confirm::answer(&text) != Some(Confirmation::Confirmed) {
                let problems = vec![
                    "to apply the decisions, reply to our answer with the single word yes".into(),
                ];
                return reject(cfg, Rejection::ChairCommandUnclear { problems }, &i.subject);
            }
            // Checked again: the state may have moved since the request.
            let wanted: Vec<(String, crate::model::Decision)> = req
                .commands
                .iter()
                .map(|(id, d)| (crate::proposal::reference(*id), *d))
                .collect();
            let (ok, refused) = checked(a, &wanted);
            let lines: Vec<String> = ok.iter().map(|(.., l)| l.clone()).collect();
            let body = templates::ChairDecided {
                conference: &cfg.conference.name,
                contact: &cfg.conference.contact,
                recorded: &lines,
                recorded_count: lines.len(),
                refused: &refused,
            }
            .render_text(&cfg.templates);
            Decision::ChairDecided {
                request_id: req.id,
                chair: req.chair.clone(),
                commands: ok.iter().map(|(id, d, _)| (*id, *d)).collect(),
                reply: Reply::ready(
                    MailKind::ChairAnswer,
                    subject(cfg, &format!("{} decision(s) recorded", ok.len())),
                    body,
                ),
            }
        }
    }
}
