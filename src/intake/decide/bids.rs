//! A reviewer's reply to the bidding mail (`cfpd bids open`). The token selects the
//! reviewer; its bound address must be the sender (a forged From, or a token passed on,
//! records nothing and the answer names no proposal); the trimmed reply is read by
//! [`crate::review::bids`]; only proposals in review can be bid on. What was recorded, and
//! what was not understood, is echoed in a receipt that carries a fresh bidding token, so
//! replying to the receipt changes the bids again.

use super::replies::{subject, Body, Reply, ReplyToken};
use super::{reject, Decision, Facts};
use crate::intake::inbound::{same_address, Inbound, Mailbox};
use crate::intake::reject::Rejection;
use crate::model::{BidKind, MailKind, ProposalRow, ProposalStatus, Reviewer};
use crate::outbox::templates;
use crate::store::bids::BidTokenRow;

/// What a bidding token selects, as loaded by the pipeline.
#[derive(Debug, Clone)]
pub struct BidAuthority {
    /// The token.
    pub token: BidTokenRow,
    /// Its reviewer (`None` if no longer on the roster).
    pub reviewer: Option<Reviewer>,
    /// Every proposal (bids name any of them; only submitted ones count).
    pub proposals: Vec<ProposalRow>,
}

/// A reply through a bidding token from `from`.
pub fn bid_mail(i: &Inbound, f: &Facts<'_>, from: &Mailbox, a: &BidAuthority) -> Decision {
    let cfg = f.cfg;
    let reviewer = match &a.reviewer {
        Some(r) if same_address(&from.address, &a.token.bound_address) => r,
        _ => {
            let from = from.address.clone();
            return reject(cfg, Rejection::BidderMismatch { from }, &i.subject);
        }
    };
    let read = crate::review::bids::parse(&i.reply_text());
    let mut problems = read.problems;
    let mut bids: Vec<(i64, BidKind)> = Vec::new();
    let mut lines = Vec::new();
    for (id, kind) in read.bids {
        let p = a.proposals.iter().find(|p| p.id == id);
        match p.filter(|p| p.status == ProposalStatus::Submitted) {
            Some(p) => {
                bids.push((id, kind));
                let title = p.fields.title.as_deref().unwrap_or("(untitled)");
                lines.push(templates::bid_line(&p.reference(), kind, title));
            }
            None => problems.push(format!(
                "{} is not a proposal in review",
                crate::proposal::reference(id)
            )),
        }
    }
    if bids.is_empty() {
        // Answering the refusal is a bid again, like answering the bidding mail.
        let mut d = reject(cfg, Rejection::BidsNotUnderstood { problems }, &i.subject);
        if let Decision::Reject { reply: Some(r), .. } = &mut d {
            r.token = ReplyToken::FreshBid(reviewer.id);
        }
        return d;
    }
    let problems: Vec<String> = problems.iter().map(|p| templates::wrap(p, 72)).collect();
    let body = templates::BidReceipt {
        conference: &cfg.conference.name,
        reviewer_name: reviewer.name.as_deref().unwrap_or(""),
        recorded: &lines,
        problems: &problems,
        contact: &cfg.conference.contact,
    };
    let body = crate::outbox::custom::Mail::text(&body, &cfg.templates)
        .unwrap_or_else(|e| format!("(template error: {e})"));
    let count = |k: BidKind| bids.iter().filter(|(_, b)| *b == k).count();
    Decision::BidsRecorded {
        reviewer_id: reviewer.id,
        detail: format!(
            "{} bid(s) from {}: {} yes, {} maybe, {} no, {} conflict{}",
            bids.len(),
            reviewer.email,
            count(BidKind::Yes),
            count(BidKind::Maybe),
            count(BidKind::No),
            count(BidKind::Conflict),
            if problems.is_empty() {
                String::new()
            } else {
                format!("; {} part(s) not understood", problems.len())
            }
        ),
        bids,
        reply: Reply {
            kind: MailKind::BidReceipt,
            subject: subject(cfg, "Your answers were recorded"),
            body: Body::Ready(body),
            // Replaced by a fresh bidding token when the bids are stored.
            token: ReplyToken::None,
        },
    }
}
