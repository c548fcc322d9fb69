//! Reviewers' bids and the tokens of their bidding mails (hashes only).

use sqlx::Row;

use super::{spelled, AnyConnection, Ctx, Result};
use crate::model::{Bid, BidKind};

/// A bid token as stored: whose bids it may change, and from which address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidTokenRow {
    /// The reviewer.
    pub reviewer_id: i64,
    /// The only address whose reply through it counts.
    pub bound_address: String,
}

/// Store a bid token's hash, bound to the reviewer's address.
pub async fn insert_token(
    conn: &mut AnyConnection,
    hash: &str,
    reviewer_id: i64,
    bound_address: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO bid_tokens (hash, reviewer_id, bound_address, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(reviewer_id)
    .bind(bound_address)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("storing a bid token")?;
    Ok(())
}

/// A bid token by its hash.
pub async fn lookup_token(conn: &mut AnyConnection, hash: &str) -> Result<Option<BidTokenRow>> {
    let row = sqlx::query("SELECT reviewer_id, bound_address FROM bid_tokens WHERE hash = $1")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
        .ctx("looking up a bid token")?;
    row.map(|r| {
        Ok(BidTokenRow {
            reviewer_id: r.try_get("reviewer_id")?,
            bound_address: r.try_get("bound_address")?,
        })
    })
    .transpose()
    .ctx("reading a bid token")
}

/// Replace every bid of a reviewer with `bids` (a later reply replaces the earlier one
/// whole), noting the message that said them.
pub async fn replace(
    conn: &mut AnyConnection,
    reviewer_id: i64,
    bids: &[(i64, BidKind)],
    message_row: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM bids WHERE reviewer_id = $1")
        .bind(reviewer_id)
        .execute(&mut *conn)
        .await
        .ctx("replacing bids")?;
    for (proposal_id, kind) in bids {
        sqlx::query(
            "INSERT INTO bids (reviewer_id, proposal_id, kind, message_id, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(reviewer_id)
        .bind(proposal_id)
        .bind(kind.as_str())
        .bind(message_row)
        .bind(now)
        .execute(&mut *conn)
        .await
        .ctx("storing a bid")?;
    }
    Ok(())
}

/// Every current bid, by reviewer then proposal.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Bid>> {
    let rows = sqlx::query(
        "SELECT reviewer_id, proposal_id, kind FROM bids ORDER BY reviewer_id, proposal_id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing bids")?;
    read(&rows)
}

/// The current bids on one proposal (to refill it after a release).
pub async fn of_proposal(conn: &mut AnyConnection, proposal_id: i64) -> Result<Vec<Bid>> {
    let rows = sqlx::query(
        "SELECT reviewer_id, proposal_id, kind FROM bids WHERE proposal_id = $1
         ORDER BY reviewer_id",
    )
    .bind(proposal_id)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing a proposal's bids")?;
    read(&rows)
}

fn read(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Bid>> {
    rows.iter()
        .map(|r| {
            Ok(Bid {
                reviewer_id: r.try_get("reviewer_id")?,
                proposal_id: r.try_get("proposal_id")?,
                kind: spelled(r, "kind")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .ctx("reading bids")
}

/// Reviewers who were sent a bidding mail and have recorded no bid yet (the audience of
/// the `bids` reminder).
pub async fn invited_without_bids(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT t.reviewer_id FROM bid_tokens t
         WHERE NOT EXISTS (SELECT 1 FROM bids b WHERE b.reviewer_id = t.reviewer_id)
         ORDER BY t.reviewer_id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing reviewers who have not bid")?;
    rows.iter()
        .map(|r| r.try_get("reviewer_id"))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .ctx("reading reviewers who have not bid")
}
