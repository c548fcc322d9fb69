//! Bounces of our own mail: from a delivery-status report to the address
//! that bounced.
//!
//! Every mail cfpd sends has the return path `cfp+b-<token>@domain` (VERP;
//! see [`crate::outbox::Composer`]), and only the token's hash is stored
//! with the outbox row. A bounce arrives at that address (or quotes it, or
//! quotes our Message-ID), which names the exact outbox row and therefore
//! the recipient — never an address taken from the report's text, which a
//! forwarding hop may have rewritten. A hard bounce (5.x.x) makes the
//! address undeliverable at once; soft bounces (4.x.x, delays) of
//! `limits.soft_bounce_threshold` distinct mails do too. The chairs are told
//! once per address, and nothing more is sent to it.

use crate::config::Config;
use crate::outbox::Composer;
use crate::store::bounces::{self, BounceOutcome, NewBounce};
use crate::store::{outbox, AnyConnection, StoreError};
use crate::token;

use super::classify::BounceInfo;
use super::inbound::Inbound;

/// Whether the message was sent to one of our VERP return paths.
pub fn to_bounce_address(i: &Inbound, cfg: &Config) -> Option<String> {
    i.recipients.iter().find_map(
        |r| match token::extract(r, cfg.cfp_local(), cfg.cfp_domain()) {
            Some(token::Tagged::Bounce(t)) => Some(t),
            _ => None,
        },
    )
}

/// Record a bounce report; returns a note for the message's detail.
pub async fn record(
    tx: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    i: &Inbound,
    info: &BounceInfo,
    message_row: i64,
    now_ms: i64,
) -> Result<String, StoreError> {
    // The outbox row: by VERP token (the envelope recipient, or quoted in the
    // report), else by the returned Message-ID.
    let mut found = None;
    let verp = to_bounce_address(i, cfg).or_else(|| {
        info.verp_token.as_deref().and_then(|t| {
            // Only a token of the exact shape we generate.
            let a = token::bounce_address(cfg.cfp_local(), cfg.cfp_domain(), t);
            match token::extract(&a, cfg.cfp_local(), cfg.cfp_domain()) {
                Some(token::Tagged::Bounce(t)) => Some(t),
                _ => None,
            }
        })
    });
    if let Some(t) = verp {
        found = outbox::by_bounce_hash(tx, &token::hash(&t)).await?;
    }
    if found.is_none() {
        if let Some(mid) = info.original_message_id.as_deref() {
            found = outbox::by_message_id(tx, mid).await?;
        }
    }
    let Some((outbox_id, address)) = found else {
        return Ok("names none of our mails".into());
    };
    // Hard, soft, or a success report (delivered/relayed: nothing to do).
    let verdicts: Vec<Option<bool>> = info.recipients.iter().map(|r| r.is_hard()).collect();
    let success = !info.hard
        && !info.recipients.is_empty()
        && info.recipients.iter().all(|r| {
            r.status.as_deref().is_some_and(|s| s.starts_with('2'))
                || matches!(
                    r.action.as_deref(),
                    Some("delivered" | "relayed" | "expanded")
                )
        });
    if success {
        return Ok(format!(
            "delivery report for outbox mail {outbox_id}, not a failure"
        ));
    }
    let hard = info.hard || verdicts.contains(&Some(true));
    let pick = info
        .recipients
        .iter()
        .find(|r| r.is_hard() == Some(hard))
        .or(info.recipients.first());
    let status = pick.and_then(|r| r.status.as_deref());
    let diagnostic = pick.and_then(|r| r.diagnostic.as_deref());
    let outcome = bounces::record(
        tx,
        &NewBounce {
            message_row,
            outbox_id,
            address: &address,
            hard,
            status,
            diagnostic,
        },
        i64::from(cfg.limits.soft_bounce_threshold),
        now_ms,
    )
    .await?;
    let kind = if hard { "hard" } else { "soft" };
    Ok(match outcome {
        BounceOutcome::NowUndeliverable { reason } => {
            alert_chairs(tx, cfg, composer, &address, &reason, message_row, now_ms).await?;
            format!("{kind} bounce of outbox mail {outbox_id}: {address} is now undeliverable ({reason})")
        }
        BounceOutcome::AlreadyUndeliverable => {
            format!("{kind} bounce of outbox mail {outbox_id}: {address} was already undeliverable")
        }
        BounceOutcome::Counted { count, threshold } => format!(
            "{kind} bounce of outbox mail {outbox_id}: {count} of {threshold} for {address}"
        ),
    })
}

/// Tell each chair, once per address, that cfpd stopped mailing it.
async fn alert_chairs(
    tx: &mut AnyConnection,
    cfg: &Config,
    composer: &Composer,
    address: &str,
    reason: &str,
    message_row: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let body = format!(
        "Hello,\n\ncfpd no longer sends mail to\n\n  {address}\n\nbecause it bounced: {reason}.\n\
         Mail already queued for this address is suppressed (\"cfpd outbox\" shows it), and\n\
         nothing further is sent to it. The bounce report is inbound message {message_row}\n\
         (\"cfpd messages\"). If the address works again, or the person has a new one,\n\
         ask them to write from the address they want to use.\n\n-- \ncfpd for {}\n",
        cfg.conference.name
    );
    let subject = format!("[{}] Undeliverable address: {address}", cfg.conference.name);
    let mails = super::notice::for_chairs(
        cfg,
        composer,
        crate::model::MailKind::BounceAlert,
        &format!("undeliverable:{address}"),
        &subject,
        &body,
    );
    outbox::queue_many(tx, &mails, now_ms).await?;
    Ok(())
}
