//! The reminder ledger, per-rule checkpoints, unsubscriptions, and the
//! reads only the chairs' digest needs.
//!
//! The ledger holds one row per (rule, occurrence, recipient) under a
//! UNIQUE constraint. The scheduler claims rows with `ON CONFLICT DO
//! NOTHING … RETURNING` and queues mail only for the rows it claimed, in
//! the same transaction: whatever crashes or races happen (a restart, two
//! instances on one PostgreSQL database), a person gets at most one mail per
//! rule and occurrence.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{placeholders, AnyConnection, Ctx, Result, CHUNK};

/// A ledger row to claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLedgerRow {
    /// Rule name.
    pub rule: String,
    /// The occurrence (ms) the mail is for: the ledger key, not the send time.
    pub occurrence: i64,
    /// Who gets the mail.
    pub recipient: String,
    /// The outbox row's dedup key, to find the mail from the ledger.
    pub dedup_key: String,
    /// What the mail lists, one line per item (as `cfpd reminders --preview` shows it).
    pub items: Vec<String>,
}

/// A stored ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Rule name.
    pub rule: String,
    /// Occurrence (ms).
    pub occurrence: i64,
    /// Recipient.
    pub recipient: String,
    /// The outbox row's dedup key.
    pub dedup_key: String,
    /// What the mail listed.
    pub items: Vec<String>,
    /// When it was queued (ms).
    pub created_at: i64,
}

/// Claim ledger rows; returns the recipients (per rule and occurrence) that
/// were claimed now. A row that exists already (sent before, or claimed by
/// another instance) is not returned, and its mail must not be queued.
pub async fn claim(
    conn: &mut AnyConnection,
    rows: &[NewLedgerRow],
    now: i64,
) -> Result<HashSet<(String, i64, String)>> {
    let mut claimed = HashSet::new();
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO reminder_ledger (rule, occurrence, recipient, dedup_key, items, created_at)
             VALUES {} ON CONFLICT (rule, occurrence, recipient) DO NOTHING
             RETURNING rule, occurrence, recipient",
            placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(super::generated(conn, sql));
        for r in chunk {
            q = q
                .bind(&r.rule)
                .bind(r.occurrence)
                .bind(&r.recipient)
                .bind(&r.dedup_key)
                .bind(serde_json::to_string(&r.items).unwrap_or_else(|_| "[]".into()))
                .bind(now);
        }
        for row in q
            .fetch_all(&mut *conn)
            .await
            .ctx("claiming reminder ledger rows")?
        {
            let read = |row: &sqlx::any::AnyRow| -> std::result::Result<_, sqlx::Error> {
                Ok((
                    row.try_get("rule")?,
                    row.try_get("occurrence")?,
                    row.try_get("recipient")?,
                ))
            };
            claimed.insert(read(&row).ctx("reading claimed ledger rows")?);
        }
    }
    Ok(claimed)
}

/// Every ledger row, by occurrence, rule and recipient.
pub async fn ledger(conn: &mut AnyConnection) -> Result<Vec<LedgerEntry>> {
    let rows = sqlx::query(
        "SELECT rule, occurrence, recipient, dedup_key, items, created_at FROM reminder_ledger
         ORDER BY occurrence, rule, recipient",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("reading the reminder ledger")?;
    super::decode_all(
        rows,
        |r| {
            Ok(LedgerEntry {
                rule: r.try_get("rule")?,
                occurrence: r.try_get("occurrence")?,
                recipient: r.try_get("recipient")?,
                dedup_key: r.try_get("dedup_key")?,
                items: super::json_col(r, "items")?,
                created_at: r.try_get("created_at")?,
            })
        },
        "reading the reminder ledger",
    )
}

/// The latest occurrence of `rule` before `before` (ms) that mailed anyone:
/// the previous digest, for "bounces since the last digest".
pub async fn previous_occurrence(
    conn: &mut AnyConnection,
    rule: &str,
    before: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MAX(occurrence) AS previous FROM reminder_ledger WHERE rule = $1 AND occurrence < $2",
    )
    .bind(rule)
    .bind(before)
    .fetch_one(&mut *conn)
    .await
    .ctx("finding a rule's previous occurrence")?;
    row.try_get::<Option<i64>, _>("previous")
        .ctx("finding a rule's previous occurrence")
}

/// Take the write lock at the start of a scheduler transaction. SQLite
/// starts a transaction as a reader and, when it later writes while another
/// process has written in between, fails at once with "database is locked"
/// instead of waiting; a write as the first statement waits for the lock
/// (busy_timeout), like `BEGIN IMMEDIATE`. Matches no row; harmless on
/// PostgreSQL, where the ledger's UNIQUE constraint orders concurrent
/// instances.
pub async fn lock_for_writing(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE reminder_checkpoints SET updated_at = updated_at WHERE rule = ''")
        .execute(&mut *conn)
        .await
        .ctx("taking the write lock for reminders")?;
    Ok(())
}

/// Every rule's checkpoint: occurrences at or before it (ms) were handled.
pub async fn checkpoints(conn: &mut AnyConnection) -> Result<HashMap<String, i64>> {
    let rows = sqlx::query("SELECT rule, handled_until FROM reminder_checkpoints")
        .fetch_all(&mut *conn)
        .await
        .ctx("reading reminder checkpoints")?;
    Ok(super::decode_all(
        rows,
        |r| Ok((r.try_get("rule")?, r.try_get("handled_until")?)),
        "reading reminder checkpoints",
    )?
    .into_iter()
    .collect())
}

/// Move a rule's checkpoint forward to `until` (never backwards).
pub async fn advance_checkpoint(
    conn: &mut AnyConnection,
    rule: &str,
    until: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO reminder_checkpoints (rule, handled_until, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (rule) DO UPDATE SET
             handled_until = CASE WHEN excluded.handled_until > reminder_checkpoints.handled_until
                                  THEN excluded.handled_until ELSE reminder_checkpoints.handled_until END,
             updated_at = excluded.updated_at",
    )
    .bind(rule)
    .bind(until)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("advancing a reminder checkpoint")?;
    Ok(())
}

/// Store the hashes of List-Unsubscribe tokens, each bound to the address it was sent to.
pub async fn insert_unsubscribe_tokens(
    conn: &mut AnyConnection,
    tokens: &[(String, String)],
    now: i64,
) -> Result<()> {
    for chunk in tokens.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO unsubscribe_tokens (hash, address, created_at) VALUES {}",
            placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(super::generated(conn, sql));
        for (hash, address) in chunk {
            q = q.bind(hash).bind(address).bind(now);
        }
        q.execute(&mut *conn)
            .await
            .ctx("storing unsubscribe tokens")?;
    }
    Ok(())
}

/// Unsubscribe the address a List-Unsubscribe token is bound to. Returns
/// the address, or `None` for an unknown token. Unsubscribing twice is fine.
pub async fn unsubscribe_by_token(
    conn: &mut AnyConnection,
    hash: &str,
    message_row: i64,
    now: i64,
) -> Result<Option<String>> {
    let Some(row) = sqlx::query("SELECT address FROM unsubscribe_tokens WHERE hash = $1")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
        .ctx("looking up an unsubscribe token")?
    else {
        return Ok(None);
    };
    let address: String = row.try_get("address").ctx("reading an unsubscribe token")?;
    sqlx::query(
        "INSERT INTO unsubscribes (address, message_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (address) DO NOTHING",
    )
    .bind(&address)
    .bind(message_row)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("recording an unsubscription")?;
    Ok(Some(address))
}

/// Every unsubscribed address.
pub async fn unsubscribed(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    let rows = sqlx::query("SELECT address FROM unsubscribes")
        .fetch_all(&mut *conn)
        .await
        .ctx("listing unsubscriptions")?;
    Ok(
        super::decode_all(rows, |r| r.try_get("address"), "reading unsubscriptions")?
            .into_iter()
            .collect(),
    )
}

/// A bounce, for the chairs' digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceRow {
    /// When it arrived (ms).
    pub received_at: i64,
    /// Who sent it (usually MAILER-DAEMON).
    pub from_addr: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// What the classifier read from it (failed recipient, status).
    pub detail: Option<String>,
}

/// Inbound messages recorded as bounces that arrived in `(after, until]` (ms).
pub async fn bounces_between(
    conn: &mut AnyConnection,
    after: i64,
    until: i64,
) -> Result<Vec<BounceRow>> {
    let rows = sqlx::query(
        "SELECT received_at, from_addr, subject, detail FROM messages
         WHERE state = $3 AND received_at > $1 AND received_at <= $2 ORDER BY received_at, id",
    )
    .bind(after)
    .bind(until)
    .bind(crate::model::MessageState::Bounce.as_str())
    .fetch_all(&mut *conn)
    .await
    .ctx("listing bounces")?;
    super::decode_all(
        rows,
        |r| {
            Ok(BounceRow {
                received_at: r.try_get("received_at")?,
                from_addr: r.try_get("from_addr")?,
                subject: r.try_get("subject")?,
                detail: r.try_get("detail")?,
            })
        },
        "reading bounces",
    )
}
