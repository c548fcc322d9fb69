//! Chairs deciding by mail: their tokens (hashes only) and their pending
//! decision requests.

use sqlx::Row;

use super::{spelled, AnyConnection, Ctx, Result};
use crate::model::{ChairTokenKind, ChairTokenRow, Decision, DecisionRequest};

/// Store a chair token's hash.
pub async fn insert_token(
    conn: &mut AnyConnection,
    hash: &str,
    kind: ChairTokenKind,
    bound_address: &str,
    request_id: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO chair_tokens (hash, kind, bound_address, request_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(kind.as_str())
    .bind(bound_address)
    .bind(request_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("storing a chair token")?;
    Ok(())
}

/// A chair token by its hash.
pub async fn lookup_token(conn: &mut AnyConnection, hash: &str) -> Result<Option<ChairTokenRow>> {
    let row =
        sqlx::query("SELECT kind, bound_address, request_id FROM chair_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&mut *conn)
            .await
            .ctx("looking up a chair token")?;
    row.map(|r| {
        Ok(ChairTokenRow {
            kind: spelled(&r, "kind")?,
            bound_address: r.try_get("bound_address")?,
            request_id: r.try_get("request_id")?,
        })
    })
    .transpose()
    .ctx("reading a chair token")
}

/// Store a request (what a chair's mail asked for); returns its id.
pub async fn insert_request(
    conn: &mut AnyConnection,
    chair: &str,
    commands: &[(i64, Decision)],
    message_row: i64,
    now: i64,
) -> Result<i64> {
    let json = serde_json::to_string(commands).unwrap_or_else(|_| "[]".into());
    let row = sqlx::query(
        "INSERT INTO decision_requests (chair, commands, message_id, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(chair)
    .bind(json)
    .bind(message_row)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .ctx("storing a decision request")?;
    row.try_get("id").ctx("storing a decision request")
}

/// A request by id.
pub async fn request(conn: &mut AnyConnection, id: i64) -> Result<Option<DecisionRequest>> {
    let row =
        sqlx::query("SELECT id, chair, commands, applied_at FROM decision_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .ctx("reading a decision request")?;
    row.map(|r| {
        Ok(DecisionRequest {
            id: r.try_get("id")?,
            chair: r.try_get("chair")?,
            commands: super::json_col(&r, "commands")?,
            applied_at: r.try_get("applied_at")?,
        })
    })
    .transpose()
    .ctx("reading a decision request")
}

/// Mark a request applied by `message_row`: false when it already was (a
/// replayed confirmation), and then nothing may be recorded for it.
pub async fn claim_request(
    conn: &mut AnyConnection,
    id: i64,
    message_row: i64,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE decision_requests SET applied_at = $2, applied_message = $3
         WHERE id = $1 AND applied_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(message_row)
    .execute(&mut *conn)
    .await
    .ctx("applying a decision request")?;
    Ok(done.rows_affected() == 1)
}
