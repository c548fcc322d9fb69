//! Turning a [`Planned`] reminder into a queueable mail plus the reply
//! tokens it carries.
//!
//! Only token hashes are stored, so a reminder cannot re-print the token of
//! an earlier mail. Each reminder therefore carries **fresh** tokens: one per
//! listed draft (a proposal token bound to the speaker) and one per listed
//! review (an assignment token bound to the reviewer and that assignment),
//! stored in the same transaction as the mail. They authorize exactly what
//! the original mail's token does, so a reply to a reminder works like a
//! reply to the acknowledgment or the assignment mail. When a mail lists a
//! single item its Reply-To carries that item's token; with several items
//! each is listed with its own reply address.

use askama::Template;

use super::audience::{Content, Planned, DIGEST_STATUSES};
use super::ScheduleError;
use crate::calendar::rules::Rule;
use crate::config::Config;
use crate::outbox::{templates, AutoSubmitted, Composer, Draft};
use crate::store::outbox::NewMail;
use crate::store::proposals::{NewTokenRow, TokenKind};
use crate::token;

/// A token row to write with the mail.
#[derive(Debug, Clone)]
pub enum TokenWrite {
    /// A proposal token for a listed draft.
    Proposal(NewTokenRow),
    /// An assignment token for a listed review.
    Assignment {
        /// SHA-256 of the secret.
        hash: String,
        /// The assignment it answers.
        assignment_id: i64,
        /// Its proposal.
        proposal_id: i64,
        /// The reviewer's address.
        bound_address: String,
    },
    /// A List-Unsubscribe token: (hash, the address it unsubscribes).
    Unsubscribe(String, String),
}

/// A reminder ready to queue.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The mail.
    pub mail: NewMail,
    /// Tokens its addresses carry, stored only if the mail is queued.
    pub tokens: Vec<TokenWrite>,
}

/// The outbox dedup key of a reminder: one per rule, occurrence and recipient.
pub fn dedup_key(p: &Planned) -> String {
    format!(
        "remind:{}:{}:{}",
        p.rule,
        crate::store::ms(p.occurrence),
        p.recipient
    )
}

fn subject(cfg: &Config, what: &str) -> String {
    format!("[{}] {what}", cfg.conference.name)
}

/// Render `p` (a mail of `rule`) with fresh tokens.
pub fn render(
    cfg: &Config,
    composer: &Composer,
    rule: &Rule,
    p: &Planned,
) -> Result<Rendered, ScheduleError> {
    let zone = &cfg.conference.zone;
    let deadline_of = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| zone.format_with_utc(d)).unwrap_or_default()
    };
    let conference = cfg.conference.name.as_str();
    let reply_addr =
        |secret: &str| token::reply_address(composer.local(), composer.domain(), secret);
    let mut tokens = Vec::new();
    let mut reply_token: Option<String> = None;
    let mut unsubscribe: Option<String> = None;
    let (kind, subject, body) = match &p.content {
        Content::Drafts(items) => {
            let mut views = Vec::new();
            for d in items {
                let t = token::generate();
                views.push(templates::DraftItemView {
                    reference: crate::proposal::reference(d.proposal_id),
                    title: d.title.clone(),
                    problems: d.problems.clone(),
                    address: reply_addr(&t.secret),
                });
                tokens.push(TokenWrite::Proposal(NewTokenRow {
                    hash: t.hash,
                    kind: TokenKind::Proposal,
                    proposal_id: Some(d.proposal_id),
                    bound_address: p.recipient.clone(),
                }));
                if items.len() == 1 {
                    reply_token = Some(t.secret);
                }
            }
            let deadline = deadline_of(rule.deadline);
            let body = templates::DraftReminderMail {
                conference,
                name: p.name.as_deref(),
                deadline: &deadline,
                drafts: &views,
            }
            .render()
            .map_err(|e| ScheduleError::Render("remind_drafts.txt", e))?;
            let what = if views.len() == 1 {
                format!("Reminder: {} is still a draft", views[0].reference)
            } else {
                format!("Reminder: {} proposals are still drafts", views.len())
            };
            ("reminder", subject(cfg, &what), body)
        }
        Content::Reviews { items, overdue } => {
            let mut views = Vec::new();
            for r in items {
                let t = token::generate();
                views.push(templates::ReviewItemView {
                    reference: crate::proposal::reference(r.proposal_id),
                    title: r.title.clone(),
                    address: reply_addr(&t.secret),
                });
                tokens.push(TokenWrite::Assignment {
                    hash: t.hash,
                    assignment_id: r.assignment_id,
                    proposal_id: r.proposal_id,
                    bound_address: p.recipient.clone(),
                });
                if items.len() == 1 {
                    reply_token = Some(t.secret);
                }
            }
            let deadline = deadline_of(rule.deadline);
            let body = templates::ReviewReminderMail {
                conference,
                name: p.name.as_deref(),
                deadline: &deadline,
                overdue: *overdue,
                reviews: &views,
                score_min: cfg.review.score_min,
                score_max: cfg.review.score_max,
                confidence_min: cfg.review.confidence_min,
                confidence_max: cfg.review.confidence_max,
            }
            .render()
            .map_err(|e| ScheduleError::Render("remind_reviews.txt", e))?;
            let n = views.len();
            let what = match (*overdue, n) {
                (true, 1) => format!("Overdue: your review of {}", views[0].reference),
                (true, _) => format!("Overdue: {n} reviews"),
                (false, 1) => format!("Reminder: your review of {} is pending", views[0].reference),
                (false, _) => format!("Reminder: {n} reviews are pending"),
            };
            ("reminder", subject(cfg, &what), body)
        }
        Content::Digest(d) => {
            let date = crate::calendar::zone::to_local(zone, p.occurrence)
                .format("%Y-%m-%d")
                .to_string();
            let total: usize = d.by_status.iter().map(|(_, n)| n).sum();
            let by_status = d
                .by_status
                .iter()
                .map(|(s, n)| format!("{n} {}", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut topic_lines = Vec::new();
            if !d.topics.is_empty() {
                let head: Vec<&str> = DIGEST_STATUSES.iter().map(|s| s.as_str()).collect();
                topic_lines.push(format!(
                    "  {:<40} {:>9} {:>5} {:>4} {:>9}",
                    "topic", head[0], head[1], head[2], head[3]
                ));
                for (name, c) in &d.topics {
                    let name = if name.chars().count() > 40 {
                        format!("{}…", name.chars().take(39).collect::<String>())
                    } else {
                        name.clone()
                    };
                    topic_lines.push(format!(
                        "  {name:<40} {:>9} {:>5} {:>4} {:>9}",
                        c[0], c[1], c[2], c[3]
                    ));
                }
            }
            let overdue: Vec<String> = d
                .overdue
                .iter()
                .map(|(e, n)| format!("{e}: {n} pending"))
                .collect();
            let bounces: Vec<String> = d
                .bounces
                .iter()
                .map(|b| {
                    let mut l = format!(
                        "{}  {}  {}",
                        zone.format(crate::store::from_ms(b.received_at)),
                        b.from_addr.as_deref().unwrap_or("(no sender)"),
                        crate::outbox::one_line(b.subject.as_deref().unwrap_or(""))
                    );
                    if let Some(detail) = &b.detail {
                        l.push_str(&format!("  [{}]", crate::outbox::one_line(detail)));
                    }
                    l
                })
                .collect();
            let declines: Vec<String> = d
                .declines
                .iter()
                .map(|(pid, who, state)| {
                    format!("{}  {who}  {state}", crate::proposal::reference(*pid))
                })
                .collect();
            let since = d
                .since
                .map(|s| zone.format(s))
                .unwrap_or_else(|| "the start".into());
            let cfp_deadline = zone.format_with_utc(cfg.conference.cfp_deadline);
            let review_deadline = cfg
                .conference
                .review_deadline
                .map(|r| zone.format_with_utc(r));
            let undeliverable: Vec<String> = d
                .undeliverable
                .iter()
                .map(|u| {
                    format!(
                        "{}  since {}  {}",
                        u.address,
                        zone.format(crate::store::from_ms(u.since)),
                        crate::outbox::one_line(&u.reason)
                    )
                })
                .collect();
            let body = templates::DigestMail {
                conference,
                date: &date,
                cfp_deadline: &cfp_deadline,
                review_deadline: review_deadline.as_deref(),
                total,
                by_status: &by_status,
                topic_lines: &topic_lines,
                pending_reviews: d.pending_reviews,
                pending_reviewers: d.pending_reviewers,
                overdue: &overdue,
                since: &since,
                bounces: &bounces,
                declines: &declines,
                undeliverable: &undeliverable,
            }
            .render()
            .map_err(|e| ScheduleError::Render("digest.txt", e))?;
            let mut what = format!("Digest {date}: {total} proposal(s)");
            if !d.bounces.is_empty() {
                what.push_str(&format!(", {} bounce(s)", d.bounces.len()));
            }
            if !d.overdue.is_empty() {
                what.push_str(&format!(", {} overdue reviewer(s)", d.overdue.len()));
            }
            ("digest", subject(cfg, &what), body)
        }
        Content::LastCall => {
            let t = token::generate();
            let address =
                token::unsubscribe_address(composer.local(), composer.domain(), &t.secret);
            tokens.push(TokenWrite::Unsubscribe(t.hash, p.recipient.clone()));
            let deadline = deadline_of(rule.deadline);
            let body = templates::LastCallMail {
                conference,
                deadline: &deadline,
                cfp_address: &cfg.conference.cfp_address,
                formats: &cfg.proposals.formats.join(" | "),
                audiences: &cfg.proposals.audiences.join(" | "),
                recipient: &p.recipient,
                unsubscribe: &address,
            }
            .render()
            .map_err(|e| ScheduleError::Render("last_call.txt", e))?;
            let what = format!(
                "Last call for proposals: the CFP closes {}",
                rule.deadline.map(|d| zone.format(d)).unwrap_or_default()
            );
            unsubscribe = Some(address);
            ("announcement", subject(cfg, &what), body)
        }
    };
    let draft = Draft {
        kind,
        dedup_key: dedup_key(p),
        to: &p.recipient,
        to_name: p.name.as_deref(),
        subject,
        body,
        in_reply_to: None,
        references: &[],
        reply_token: reply_token.as_deref(),
        auto: AutoSubmitted::AutoGenerated,
        cause_message: None,
    };
    let mail = match &unsubscribe {
        Some(u) => composer.compose_announcement(&draft, u),
        None => composer.compose(&draft),
    }
    .map_err(|e| ScheduleError::Compose {
        recipient: p.recipient.clone(),
        source: e,
    })?;
    Ok(Rendered { mail, tokens })
}
