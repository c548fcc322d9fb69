//! Mail a person wrote that cfpd cannot act on (`person_mail`): kept per
//! message until it has been forwarded to `[conference] contact`. The rule
//! that decides when a thread may be forwarded again is pure
//! (`intake::decide::person::due`); this module only reads and writes rows.

use sqlx::Row;

use super::{decode_all, spelled_opt, AnyConnection, Ctx, Result};
use crate::model::Reason;

/// One message kept for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonMail {
    /// The inbound message (`messages.id`).
    pub message_id: i64,
    /// Its thread: `proposal:<id>` or `from:<mailbox>`.
    pub thread: String,
    /// The sender's address (the forward's Reply-To).
    pub sender: String,
    /// The sender's display name.
    pub sender_name: Option<String>,
    /// Its subject.
    pub subject: String,
    /// The text to quote, reply tokens erased.
    pub body: String,
    /// The proposal it is about, when known.
    pub proposal_id: Option<i64>,
    /// When it reached the mailbox (ms).
    pub arrived_at: i64,
    /// Why cfpd could not act on it (`messages.reason`), once its message's
    /// terminal state is written; never written here.
    pub reason: Option<Reason>,
}

/// Keep one message for a person (a second insert of the same message is a no-op).
pub async fn insert(conn: &mut AnyConnection, m: &PersonMail) -> Result<()> {
    sqlx::query(
        "INSERT INTO person_mail (message_id, thread, sender, sender_name, subject, body,
                                  proposal_id, arrived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(m.message_id)
    .bind(&m.thread)
    .bind(&m.sender)
    .bind(&m.sender_name)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(m.proposal_id)
    .bind(m.arrived_at)
    .execute(&mut *conn)
    .await
    .ctx("keeping mail for a person")?;
    Ok(())
}

/// When `thread` was last forwarded (ms), if ever.
pub async fn last_forward(conn: &mut AnyConnection, thread: &str) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MAX(forwarded_at) AS last FROM person_mail
         WHERE thread = $1 AND forwarded_at IS NOT NULL",
    )
    .bind(thread)
    .fetch_one(&mut *conn)
    .await
    .ctx("reading a thread's last forward")?;
    row.try_get("last").ctx("reading a thread's last forward")
}

fn decode(r: &sqlx::any::AnyRow) -> std::result::Result<PersonMail, sqlx::Error> {
    Ok(PersonMail {
        message_id: r.try_get("message_id")?,
        thread: r.try_get("thread")?,
        sender: r.try_get("sender")?,
        sender_name: r.try_get("sender_name")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        proposal_id: r.try_get("proposal_id")?,
        arrived_at: r.try_get("arrived_at")?,
        reason: spelled_opt(r, "reason")?,
    })
}

/// Every message of `thread` not forwarded yet, oldest first.
pub async fn waiting_in(conn: &mut AnyConnection, thread: &str) -> Result<Vec<PersonMail>> {
    let rows = sqlx::query(
        "SELECT p.message_id, p.thread, p.sender, p.sender_name, p.subject, p.body,
                p.proposal_id, p.arrived_at, m.reason
         FROM person_mail p JOIN messages m ON m.id = p.message_id
         WHERE p.thread = $1 AND p.forwarded_at IS NULL ORDER BY p.message_id",
    )
    .bind(thread)
    .fetch_all(&mut *conn)
    .await
    .ctx("reading mail kept for a person")?;
    decode_all(rows, decode, "reading mail kept for a person")
}

/// Threads with mail not forwarded yet, and when each was last forwarded.
pub async fn waiting_threads(conn: &mut AnyConnection) -> Result<Vec<(String, Option<i64>)>> {
    let rows = sqlx::query(
        "SELECT w.thread AS thread,
                (SELECT MAX(f.forwarded_at) FROM person_mail f
                 WHERE f.thread = w.thread AND f.forwarded_at IS NOT NULL) AS last
         FROM person_mail w WHERE w.forwarded_at IS NULL
         GROUP BY w.thread ORDER BY w.thread",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing threads waiting for a person")?;
    decode_all(
        rows,
        |r| Ok((r.try_get("thread")?, r.try_get("last")?)),
        "listing threads waiting for a person",
    )
}

/// Mark messages forwarded at `now` (ms); only rows not forwarded yet are
/// claimed, so a forward never repeats. Returns how many were claimed.
pub async fn mark_forwarded(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<u64> {
    let mut n = 0;
    for id in ids {
        n += sqlx::query(
            "UPDATE person_mail SET forwarded_at = $1
             WHERE message_id = $2 AND forwarded_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .ctx("marking mail forwarded")?
        .rows_affected();
    }
    Ok(n)
}
