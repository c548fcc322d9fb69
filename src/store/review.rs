//! Reviewers (the roster) and assignments: their states, releases
//! (decline/conflict, for the chair's digest) and the lookups a review reply needs.

use std::collections::HashMap;

use sqlx::Row;

use super::{in_list, AnyConnection, Ctx, Result, CHUNK};

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
    Ok(rows.into_iter().map(reviewer_from_row).collect())
}

fn reviewer_from_row(r: sqlx::any::AnyRow) -> Reviewer {
    Reviewer {
        id: r.get(0),
        email: r.get(1),
        name: r.get(2),
        topics: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or_default(),
        min_load: r.get(4),
        max_load: r.get(5),
        conflicts: serde_json::from_str(&r.get::<String, _>(6)).unwrap_or_default(),
    }
}

/// Where an assignment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentState {
    /// The reviewer is expected to review (reviewed or not yet).
    Active,
    /// The reviewer declined by mail; the pair is never assigned again.
    Declined,
    /// The reviewer declared a conflict of interest by mail; remembered as a conflict.
    Conflict,
}

impl AssignmentState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentState::Active => "active",
            AssignmentState::Declined => "declined",
            AssignmentState::Conflict => "conflict",
        }
    }

    /// Parse the stored spelling (unknown values read as declined: never reassigned, never counted).
    pub fn parse(s: &str) -> AssignmentState {
        match s {
            "active" => AssignmentState::Active,
            "conflict" => AssignmentState::Conflict,
            _ => AssignmentState::Declined,
        }
    }
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
    /// Active, or released (declined / conflict).
    pub state: AssignmentState,
}

fn assignment_from_row(r: sqlx::any::AnyRow) -> Assignment {
    Assignment {
        id: r.get(0),
        proposal_id: r.get(1),
        reviewer_id: r.get(2),
        affinity: r.get(3),
        state: AssignmentState::parse(&r.get::<String, _>(4)),
    }
}

/// Every assignment.
pub async fn assignments(conn: &mut AnyConnection) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT id, proposal_id, reviewer_id, affinity, state FROM assignments ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing assignments")?;
    Ok(rows.into_iter().map(assignment_from_row).collect())
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
    Ok(rows.into_iter().map(assignment_from_row).collect())
}

/// Number of active assignments per reviewer id (reviewers with none are absent).
pub async fn active_loads(conn: &mut AnyConnection) -> Result<HashMap<i64, u32>> {
    let rows = sqlx::query(
        "SELECT reviewer_id, COUNT(*) FROM assignments WHERE state = 'active' GROUP BY reviewer_id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("counting reviewer loads")?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1) as u32))
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
    Ok(row.map(reviewer_from_row))
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
    Ok(row.map(assignment_from_row))
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
         WHERE id = $1 AND state = 'active'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(now)
    .bind(message_row)
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
        "SELECT a.proposal_id, r.email, a.state, a.released_at, rr.email
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
    Ok(rows
        .into_iter()
        .map(|r| Released {
            reference: crate::proposal::reference(r.get(0)),
            reviewer: r.get(1),
            kind: AssignmentState::parse(&r.get::<String, _>(2)),
            at: r.get(3),
            replacement: r.get(4),
        })
        .collect())
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
            "SELECT dedup_key FROM outbox WHERE kind = 'assignment' AND message_id IN ({})",
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
            let key: String = r.get(0);
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

/// The `FROM … WHERE` of [`pending_reviews`] (aliases `a` assignments, `r`
/// reviewers, `p` proposals), shared with the count in `store::status` so the
/// definition stays in one place.
pub(crate) const PENDING_REVIEWS: &str = "FROM assignments a
         JOIN reviewers r ON r.id = a.reviewer_id
         JOIN proposals p ON p.id = a.proposal_id
         WHERE a.state = 'active' AND p.status <> 'withdrawn'
           AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.assignment_id = a.id)";

/// **The one definition of a pending review**, used by reviewer reminders
/// and the chairs' digest: an `active` assignment (not declined, not a
/// conflict) of a proposal that was not withdrawn, for which no review has
/// been recorded. Ordered by reviewer address, then proposal.
pub async fn pending_reviews(conn: &mut AnyConnection) -> Result<Vec<PendingReview>> {
    let sql = format!(
        "SELECT a.id, a.proposal_id, r.id, r.email, r.name {PENDING_REVIEWS}
         ORDER BY r.email, a.proposal_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
