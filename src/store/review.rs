//! Reviewers (the roster) and assignments: their states, releases
//! (decline/conflict, for the chair's digest) and the lookups a review reply needs.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{decode_all, in_list, spelled, AnyConnection, Ctx, Result, CHUNK};
pub use crate::model::{Assignment, AssignmentState, Reviewer};
use crate::model::{MailKind, ProposalStatus, TokenKind};

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

/// Every reviewer ever imported, removed ones included, by address.
pub async fn reviewers(conn: &mut AnyConnection) -> Result<Vec<Reviewer>> {
    let rows = sqlx::query(
        "SELECT id, email, name, topics, min_load, max_load, conflicts FROM reviewers ORDER BY email",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing reviewers")?;
    decode_all(rows, reviewer_from_row, "reading reviewers")
}

/// The reviewers who may be given work: the roster without those a chair
/// removed (`cfpd reviewers remove`). The solver and every refill use this;
/// listings use [`reviewers`], which keeps the removed for their history.
pub async fn roster(conn: &mut AnyConnection) -> Result<Vec<Reviewer>> {
    let rows = sqlx::query(
        "SELECT id, email, name, topics, min_load, max_load, conflicts FROM reviewers
         WHERE removed_at IS NULL ORDER BY email",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing the roster")?;
    decode_all(rows, reviewer_from_row, "reading the roster")
}

fn reviewer_from_row(r: &AnyRow) -> std::result::Result<Reviewer, sqlx::Error> {
    Ok(Reviewer {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        topics: super::json_col(r, "topics")?,
        min_load: r.try_get("min_load")?,
        max_load: r.try_get("max_load")?,
        conflicts: super::json_col(r, "conflicts")?,
    })
}

fn assignment_from_row(r: &AnyRow) -> std::result::Result<Assignment, sqlx::Error> {
    Ok(Assignment {
        id: r.try_get("id")?,
        proposal_id: r.try_get("proposal_id")?,
        reviewer_id: r.try_get("reviewer_id")?,
        affinity: r.try_get("affinity")?,
        state: spelled(r, "state")?,
    })
}

/// Every assignment.
pub async fn assignments(conn: &mut AnyConnection) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT id, proposal_id, reviewer_id, affinity, state FROM assignments ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing assignments")?;
    decode_all(rows, assignment_from_row, "reading assignments")
}

/// The assignments of one proposal (any state), oldest first.
pub async fn assignments_of_proposal(
    conn: &mut AnyConnection,
    proposal_id: i64,
) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT id, proposal_id, reviewer_id, affinity, state FROM assignments
         WHERE proposal_id = $1 ORDER BY id",
    )
    .bind(proposal_id)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing a proposal's assignments")?;
    decode_all(
        rows,
        assignment_from_row,
        "reading a proposal's assignments",
    )
}

/// Number of active assignments per reviewer id (reviewers with none are absent).
pub async fn active_loads(conn: &mut AnyConnection) -> Result<HashMap<i64, u32>> {
    let rows = sqlx::query(
        "SELECT reviewer_id, COUNT(*) AS n FROM assignments WHERE state = $1 GROUP BY reviewer_id",
    )
    .bind(AssignmentState::Active.as_str())
    .fetch_all(&mut *conn)
    .await
    .ctx("counting reviewer loads")?;
    Ok(decode_all(
        rows,
        |r| {
            Ok((
                r.try_get::<i64, _>("reviewer_id")?,
                r.try_get::<i64, _>("n")? as u32,
            ))
        },
        "counting reviewer loads",
    )?
    .into_iter()
    .collect())
}

/// One reviewer by id.
pub async fn reviewer(conn: &mut AnyConnection, id: i64) -> Result<Option<Reviewer>> {
    let row = sqlx::query(
        "SELECT id, email, name, topics, min_load, max_load, conflicts FROM reviewers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading a reviewer")?;
    row.as_ref()
        .map(reviewer_from_row)
        .transpose()
        .ctx("reading a reviewer")
}

/// One assignment by id.
pub async fn assignment(conn: &mut AnyConnection, id: i64) -> Result<Option<Assignment>> {
    let row = sqlx::query(
        "SELECT id, proposal_id, reviewer_id, affinity, state FROM assignments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading an assignment")?;
    row.as_ref()
        .map(assignment_from_row)
        .transpose()
        .ctx("reading an assignment")
}

/// Release an active assignment (decline or conflict), remembering when and through
/// which inbound message. Returns false when it was not active (nothing changed).
pub async fn release(
    conn: &mut AnyConnection,
    id: i64,
    state: AssignmentState,
    message_row: Option<i64>,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE assignments SET state = $2, released_at = $3, released_message = $4
         WHERE id = $1 AND state = $5",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(now)
    .bind(message_row)
    .bind(AssignmentState::Active.as_str())
    .execute(&mut *conn)
    .await
    .ctx("releasing an assignment")?
    .rows_affected();
    Ok(n == 1)
}

/// Record which assignment took over from a released one.
pub async fn set_replacement(conn: &mut AnyConnection, id: i64, replacement: i64) -> Result<()> {
    sqlx::query("UPDATE assignments SET replacement_id = $2 WHERE id = $1")
        .bind(id)
        .bind(replacement)
        .execute(&mut *conn)
        .await
        .ctx("recording a replacement assignment")?;
    Ok(())
}

/// A released assignment, as the chair's digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The proposal's public reference (`P-0042`).
    pub reference: String,
    /// Who released it.
    pub reviewer: String,
    /// [`AssignmentState::Declined`] or [`AssignmentState::Conflict`].
    pub kind: AssignmentState,
    /// When (ms since the epoch).
    pub at: i64,
    /// Who took over (`None`: nobody eligible was left, the chair must act).
    pub replacement: Option<String>,
}

/// Assignments released (declined or conflict) at or after `since` (ms), oldest first,
/// with who took over. (The chairs' digest currently lists releases from the
/// assignment states instead, cumulatively, without the replacement.)
pub async fn released_since(conn: &mut AnyConnection, since: i64) -> Result<Vec<Released>> {
    let rows = sqlx::query(
        "SELECT a.proposal_id, r.email AS reviewer, a.state, a.released_at, rr.email AS replacement
         FROM assignments a
         JOIN reviewers r ON r.id = a.reviewer_id
         LEFT JOIN assignments ra ON ra.id = a.replacement_id
         LEFT JOIN reviewers rr ON rr.id = ra.reviewer_id
         WHERE a.released_at IS NOT NULL AND a.released_at >= $1
         ORDER BY a.released_at, a.id",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing released assignments")?;
    decode_all(
        rows,
        |r| {
            Ok(Released {
                reference: crate::proposal::reference(r.try_get("proposal_id")?),
                reviewer: r.try_get("reviewer")?,
                kind: spelled(r, "state")?,
                at: r.try_get("released_at")?,
                replacement: r.try_get("replacement")?,
            })
        },
        "reading released assignments",
    )
}

/// The assignments whose assignment mail had one of these Message-IDs (without angle
/// brackets). Used only to *refuse* a reply whose In-Reply-To/References name another
/// assignment than its token: threading headers never select or authorize anything.
pub async fn assignments_mailed_as(
    conn: &mut AnyConnection,
    message_ids: &[String],
) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in message_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT dedup_key FROM outbox WHERE kind = '{}' AND message_id IN ({})",
            MailKind::Assignment,
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(super::generated(conn, sql));
        for m in chunk {
            q = q.bind(m);
        }
        for r in q
            .fetch_all(&mut *conn)
            .await
            .ctx("looking up assignment mails")?
        {
            let key: String = r.try_get("dedup_key").ctx("reading assignment mails")?;
            if let Some(id) = key
                .strip_prefix(ASSIGNMENT_MAIL_KEY)
                .and_then(|n| n.parse().ok())
            {
                out.push(id);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Prefix of an assignment mail's outbox `dedup_key` (`assign:<assignment id>`): one mail
/// per assignment, ever.
pub const ASSIGNMENT_MAIL_KEY: &str = "assign:";

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
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (proposal_id, reviewer_id) DO NOTHING RETURNING id",
    )
    .bind(proposal_id)
    .bind(reviewer_id)
    .bind(affinity)
    .bind(AssignmentState::Active.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .ctx("storing an assignment")?;
    row.map(|r| r.try_get("id"))
        .transpose()
        .ctx("reading a new assignment's id")
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
         VALUES ($1, $7, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(proposal_id)
    .bind(assignment_id)
    .bind(bound_address)
    .bind(now)
    .bind(expires_at)
    .bind(TokenKind::Assignment.as_str())
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

/// The `FROM … WHERE` of [`pending_reviews`] (aliases `a` assignments, `r`
/// reviewers, `p` proposals), shared with the count in `store::status` so the
/// definition stays in one place.
pub(crate) fn pending_reviews_from() -> String {
    format!(
        "FROM assignments a
         JOIN reviewers r ON r.id = a.reviewer_id
         JOIN proposals p ON p.id = a.proposal_id
         WHERE a.state = '{}' AND p.status <> '{}'
           AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.assignment_id = a.id)",
        AssignmentState::Active,
        ProposalStatus::Withdrawn
    )
}

/// **The one definition of a pending review**, used by reviewer reminders
/// and the chairs' digest: an `active` assignment (not declined, not a
/// conflict) of a proposal that was not withdrawn, for which no review has
/// been recorded. Ordered by reviewer address, then proposal.
pub async fn pending_reviews(conn: &mut AnyConnection) -> Result<Vec<PendingReview>> {
    let sql = format!(
        "SELECT a.id AS assignment_id, a.proposal_id, r.id AS reviewer_id, r.email, r.name {}
         ORDER BY r.email, a.proposal_id",
        pending_reviews_from()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .ctx("listing pending reviews")?;
    decode_all(
        rows,
        |r| {
            Ok(PendingReview {
                assignment_id: r.try_get("assignment_id")?,
                proposal_id: r.try_get("proposal_id")?,
                reviewer_id: r.try_get("reviewer_id")?,
                reviewer_email: r.try_get("email")?,
                reviewer_name: r.try_get("name")?,
            })
        },
        "reading pending reviews",
    )
}
