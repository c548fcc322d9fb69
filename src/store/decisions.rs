//! The chairs' decisions, with their history: every decision or change is a
//! new version (`decisions`), exactly one current per decided proposal, and
//! `notified_at` says whether `cfpd notify --send` has told it.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{decode_all, spelled, spelled_opt, AnyConnection, Ctx, Result};
use crate::model::{Confirmation, Decision, DecisionRow, DecisionSource};

const SELECT: &str = "SELECT proposal_id, version, decision, source, decided_by, note,
        decided_at, is_current, notified_at, confirmation, confirmed_at FROM decisions";

fn from_row(r: &AnyRow) -> std::result::Result<DecisionRow, sqlx::Error> {
    Ok(DecisionRow {
        proposal_id: r.try_get("proposal_id")?,
        version: r.try_get("version")?,
        decision: spelled(r, "decision")?,
        source: spelled(r, "source")?,
        decided_by: r.try_get("decided_by")?,
        note: r.try_get("note")?,
        decided_at: r.try_get("decided_at")?,
        current: r.try_get::<i64, _>("is_current")? == 1,
        notified_at: r.try_get("notified_at")?,
        confirmation: spelled_opt(r, "confirmation")?,
        confirmed_at: r.try_get("confirmed_at")?,
    })
}

/// A decision to record.
#[derive(Debug, Clone, Copy)]
pub struct NewDecision<'a> {
    /// The proposal.
    pub proposal_id: i64,
    /// What was decided.
    pub decision: Decision,
    /// CLI or mail.
    pub source: DecisionSource,
    /// Who decided.
    pub decided_by: &'a str,
    /// The chair's note, if any.
    pub note: Option<&'a str>,
}

/// Record a decision as the proposal's current one; the previous current
/// version stays in the history. Returns the new version number.
pub async fn record(conn: &mut AnyConnection, d: &NewDecision<'_>, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS latest FROM decisions WHERE proposal_id = $1",
    )
    .bind(d.proposal_id)
    .fetch_one(&mut *conn)
    .await
    .ctx("numbering a decision")?;
    let version = row
        .try_get::<i64, _>("latest")
        .ctx("numbering a decision")?
        + 1;
    sqlx::query("UPDATE decisions SET is_current = 0 WHERE proposal_id = $1 AND is_current = 1")
        .bind(d.proposal_id)
        .execute(&mut *conn)
        .await
        .ctx("retiring the current decision")?;
    sqlx::query(
        "INSERT INTO decisions (proposal_id, version, decision, source, decided_by, note,
                                decided_at, is_current)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1)",
    )
    .bind(d.proposal_id)
    .bind(version)
    .bind(d.decision.as_str())
    .bind(d.source.as_str())
    .bind(d.decided_by)
    .bind(d.note)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("recording a decision")?;
    Ok(version)
}

/// Every current decision, by proposal.
pub async fn current_all(conn: &mut AnyConnection) -> Result<Vec<DecisionRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE is_current = 1 ORDER BY proposal_id"
    )))
    .fetch_all(&mut *conn)
    .await
    .ctx("reading decisions")?;
    decode_all(rows, from_row, "reading decisions")
}

/// Every version of every decision, by proposal and version (the history).
pub async fn history_all(conn: &mut AnyConnection) -> Result<Vec<DecisionRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY proposal_id, version"
    )))
    .fetch_all(&mut *conn)
    .await
    .ctx("reading the decision history")?;
    decode_all(rows, from_row, "reading the decision history")
}

/// Every version of one proposal's decision, oldest first.
pub async fn history(conn: &mut AnyConnection, proposal_id: i64) -> Result<Vec<DecisionRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE proposal_id = $1 ORDER BY version"
    )))
    .bind(proposal_id)
    .fetch_all(&mut *conn)
    .await
    .ctx("reading a decision's history")?;
    decode_all(rows, from_row, "reading a decision's history")
}

/// Claim a decision version as told, at `now`: false when it already was
/// (another `notify --send` got there first), and then nothing may be queued
/// for it. Called in the transaction that queues its mails.
pub async fn claim_notified(
    conn: &mut AnyConnection,
    proposal_id: i64,
    version: i64,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE decisions SET notified_at = $3
         WHERE proposal_id = $1 AND version = $2 AND notified_at IS NULL",
    )
    .bind(proposal_id)
    .bind(version)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("marking a decision as told")?;
    Ok(done.rows_affected() == 1)
}

/// The current decision of one proposal, if it has one.
pub async fn current(conn: &mut AnyConnection, proposal_id: i64) -> Result<Option<DecisionRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE proposal_id = $1 AND is_current = 1"
    )))
    .bind(proposal_id)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading a decision")?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .ctx("reading a decision")
}

/// Record the speaker's answer to the acceptance `version` (a later answer
/// replaces an earlier one; the message that said it is kept).
pub async fn record_confirmation(
    conn: &mut AnyConnection,
    proposal_id: i64,
    version: i64,
    answer: Confirmation,
    message_row: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE decisions SET confirmation = $3, confirmed_at = $4, confirmation_message = $5
         WHERE proposal_id = $1 AND version = $2",
    )
    .bind(proposal_id)
    .bind(version)
    .bind(answer.as_str())
    .bind(now)
    .bind(message_row)
    .execute(&mut *conn)
    .await
    .ctx("recording a confirmation")?;
    Ok(())
}

/// Take SQLite's write lock first, before a transaction reads what it will
/// decide on (see `reminders::lock_for_writing`): otherwise a second `cfpd
/// notify --send` or `cfpd decide`, or the daemon, writing in between makes
/// this transaction fail with "database is locked" instead of waiting.
/// Matches no row; harmless on PostgreSQL, where row locks and the claims
/// order concurrent writers.
pub async fn lock_for_writing(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE decisions SET is_current = is_current WHERE id = -1")
        .execute(&mut *conn)
        .await
        .ctx("taking the write lock for decisions")?;
    Ok(())
}
