//! Reviewers (the roster) and assignments.

use sqlx::Row;

use super::{AnyConnection, Ctx, Result};

/// A reviewer as imported from the roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewer {
    /// Row id (0 before import).
    pub id: i64,
    /// Address: assignments are mailed here and replies must come from it.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Expertise topic ids.
    pub topics: Vec<String>,
    /// Fewest proposals this reviewer should get.
    pub min_load: i64,
    /// Most proposals this reviewer can take.
    pub max_load: i64,
    /// Addresses or domains this reviewer must not review.
    pub conflicts: Vec<String>,
}

/// Insert or update a reviewer by address (re-import never duplicates). Returns true if new.
pub async fn upsert_reviewer(conn: &mut AnyConnection, r: &Reviewer, now: i64) -> Result<bool> {
    let existed = sqlx::query("SELECT 1 FROM reviewers WHERE email = $1")
        .bind(&r.email)
        .fetch_optional(&mut *conn)
        .await
        .ctx("looking up a reviewer")?
        .is_some();
    sqlx::query(
        "INSERT INTO reviewers (email, name, topics, min_load, max_load, conflicts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (email) DO UPDATE SET name = excluded.name, topics = excluded.topics,
             min_load = excluded.min_load, max_load = excluded.max_load,
             conflicts = excluded.conflicts, updated_at = excluded.updated_at",
    )
    .bind(&r.email)
    .bind(&r.name)
    .bind(serde_json::to_string(&r.topics).unwrap_or_default())
    .bind(r.min_load)
    .bind(r.max_load)
    .bind(serde_json::to_string(&r.conflicts).unwrap_or_default())
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("storing a reviewer")?;
    Ok(!existed)
}

/// The roster, by address.
pub async fn reviewers(conn: &mut AnyConnection) -> Result<Vec<Reviewer>> {
    let rows = sqlx::query(
        "SELECT id, email, name, topics, min_load, max_load, conflicts FROM reviewers ORDER BY email",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing reviewers")?;
    Ok(rows
        .into_iter()
        .map(|r| Reviewer {
            id: r.get(0),
            email: r.get(1),
            name: r.get(2),
            topics: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or_default(),
            min_load: r.get(4),
            max_load: r.get(5),
            conflicts: serde_json::from_str(&r.get::<String, _>(6)).unwrap_or_default(),
        })
        .collect())
}

/// An assignment row.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Row id.
    pub id: i64,
    /// Proposal.
    pub proposal_id: i64,
    /// Reviewer.
    pub reviewer_id: i64,
    /// Affinity (0–1000) when assigned.
    pub affinity: i64,
    /// `active`, `declined` or `conflict`.
    pub state: String,
}

/// Every assignment.
pub async fn assignments(conn: &mut AnyConnection) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT id, proposal_id, reviewer_id, affinity, state FROM assignments ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing assignments")?;
    Ok(rows
        .into_iter()
        .map(|r| Assignment {
            id: r.get(0),
            proposal_id: r.get(1),
            reviewer_id: r.get(2),
            affinity: r.get(3),
            state: r.get(4),
        })
        .collect())
}

/// Store a new active assignment; `None` when the pair already exists.
pub async fn insert_assignment(
    conn: &mut AnyConnection,
    proposal_id: i64,
    reviewer_id: i64,
    affinity: i64,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO assignments (proposal_id, reviewer_id, affinity, state, created_at)
         VALUES ($1, $2, $3, 'active', $4) ON CONFLICT (proposal_id, reviewer_id) DO NOTHING RETURNING id",
    )
    .bind(proposal_id)
    .bind(reviewer_id)
    .bind(affinity)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .ctx("storing an assignment")?;
    Ok(row.map(|r| r.get(0)))
}

/// Store an assignment token's hash.
pub async fn insert_assignment_token(
    conn: &mut AnyConnection,
    hash: &str,
    assignment_id: i64,
    proposal_id: i64,
    bound_address: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO tokens (hash, kind, proposal_id, assignment_id, bound_address, created_at, expires_at)
         VALUES ($1, 'assignment', $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(proposal_id)
    .bind(assignment_id)
    .bind(bound_address)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .ctx("storing an assignment token")?;
    Ok(())
}

/// A review still owed by a reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReview {
    /// The assignment.
    pub assignment_id: i64,
    /// The proposal to review.
    pub proposal_id: i64,
    /// The reviewer.
    pub reviewer_id: i64,
    /// Where reminders go (and the address the assignment's tokens are bound to).
    pub reviewer_email: String,
    /// Display name.
    pub reviewer_name: Option<String>,
}

/// **The one definition of a pending review**, used by reviewer reminders
/// and the chairs' digest: an `active` assignment (not declined, not a
/// conflict) of a proposal that was not withdrawn. Recording reviews by
/// reply (issue 5) adds "and no review is recorded for the assignment"
/// here, and nowhere else. Ordered by reviewer address, then proposal.
pub async fn pending_reviews(conn: &mut AnyConnection) -> Result<Vec<PendingReview>> {
    let rows = sqlx::query(
        "SELECT a.id, a.proposal_id, r.id, r.email, r.name
         FROM assignments a
         JOIN reviewers r ON r.id = a.reviewer_id
         JOIN proposals p ON p.id = a.proposal_id
         WHERE a.state = 'active' AND p.status <> 'withdrawn'
         ORDER BY r.email, a.proposal_id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing pending reviews")?;
    Ok(rows
        .into_iter()
        .map(|r| PendingReview {
            assignment_id: r.get(0),
            proposal_id: r.get(1),
            reviewer_id: r.get(2),
            reviewer_email: r.get(3),
            reviewer_name: r.get(4),
        })
        .collect())
}
