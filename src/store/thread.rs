//! The mail thread of one proposal with its speakers, for `cfpd proposals
//! show`: the inbound messages tied to it and the mail cfpd sent them about
//! it (replies to those messages, its decision mails, and any other mail to
//! the speaker whose subject names the proposal, such as reminders).

use sqlx::Row;

use super::{decode_all, spelled, spelled_opt, AnyConnection, Ctx, Result};
use crate::model::{HoldReason, MailKind, MessageState, OutboxState, Reason};

/// An inbound message tied to the proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Message row id (what `cfpd messages show` takes).
    pub id: i64,
    /// When cfpd fetched it (ms): before anything it caused, to the
    /// millisecond (the mailbox's own arrival time has whole seconds only).
    pub at: i64,
    /// Sender as written.
    pub from_addr: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Its state.
    pub state: MessageState,
    /// Why, for a refusal or a hold.
    pub reason: Option<Reason>,
}

/// A mail cfpd queued to a speaker about the proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// Outbox row id (what `cfpd outbox` shows).
    pub id: i64,
    /// When it was queued (ms).
    pub at: i64,
    /// When the server took it (ms), if it did.
    pub sent_at: Option<i64>,
    /// What kind of mail.
    pub kind: MailKind,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Its state.
    pub state: OutboxState,
    /// Why it is held, if it is.
    pub hold: Option<HoldReason>,
}

/// Inbound messages of proposal `id`, oldest first.
pub async fn inbound(conn: &mut AnyConnection, id: i64) -> Result<Vec<Inbound>> {
    let rows = sqlx::query(
        "SELECT id, received_at, from_addr, subject, state, reason
         FROM messages WHERE proposal_id = $1 ORDER BY received_at, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .ctx("reading a proposal's messages")?;
    decode_all(
        rows,
        |r| {
            Ok(Inbound {
                id: r.try_get("id")?,
                at: r.try_get("received_at")?,
                from_addr: r.try_get("from_addr")?,
                subject: r.try_get("subject")?,
                state: spelled(r, "state")?,
                reason: spelled_opt(r, "reason")?,
            })
        },
        "reading a proposal's messages",
    )
}

/// Mail to the speakers of proposal `id` (`reference` is `P-0042`,
/// `speaker` the speaker's address): replies to its messages, its decision
/// mails, and mail to the speaker whose subject names it. Oldest first.
pub async fn outbound(
    conn: &mut AnyConnection,
    id: i64,
    reference: &str,
    speaker: &str,
) -> Result<Vec<Outbound>> {
    let rows = sqlx::query(
        "SELECT id, created_at, sent_at, kind, recipient, subject, state, hold FROM outbox
         WHERE cause_message IN (SELECT id FROM messages WHERE proposal_id = $1)
            OR dedup_key LIKE $2
            OR (LOWER(recipient) = $3 AND subject LIKE $4)
         ORDER BY created_at, id",
    )
    .bind(id)
    .bind(format!("decision:{id}:%"))
    .bind(speaker.to_lowercase())
    .bind(format!("%{reference}%"))
    .fetch_all(&mut *conn)
    .await
    .ctx("reading a proposal's mail")?;
    decode_all(
        rows,
        |r| {
            Ok(Outbound {
                id: r.try_get("id")?,
                at: r.try_get("created_at")?,
                sent_at: r.try_get("sent_at")?,
                kind: spelled(r, "kind")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                state: spelled(r, "state")?,
                hold: spelled_opt(r, "hold")?,
            })
        },
        "reading a proposal's mail",
    )
}
