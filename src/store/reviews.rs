//! Recorded reviews: every version a reviewer sent, one current per assignment.
//!
//! A review is never updated in place: a revision inserts the next version and
//! moves the `is_current` flag to it in the same transaction, so the history
//! of what a reviewer said, and when, stays complete.

use sqlx::Row;

use super::{AnyConnection, Ctx, Result};

/// A review to record (the parsed form of one reply).
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    /// The assignment it belongs to (selected by the reply token, never by headers).
    pub assignment_id: i64,
    /// The score, already checked against the configured scale.
    pub score: i64,
    /// The optional confidence, already checked against its scale.
    pub confidence: Option<i64>,
    /// Shown to the speaker later (may be empty).
    pub comments_speaker: &'a str,
    /// Only for the committee (may be empty).
    pub comments_committee: &'a str,
    /// The inbound message it came from, so a chair can trace every version to its mail.
    pub message_row: Option<i64>,
}

/// A stored review version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReview {
    /// The assignment it belongs to.
    pub assignment_id: i64,
    /// 1 for the first reply, then 2, 3, … per revision.
    pub version: i64,
    /// Whether this is the version that counts.
    pub current: bool,
    /// The score.
    pub score: i64,
    /// The confidence, if given.
    pub confidence: Option<i64>,
    /// Comments for the speaker.
    pub comments_speaker: String,
    /// Comments for the committee.
    pub comments_committee: String,
    /// The inbound message it came from.
    pub message_row: Option<i64>,
    /// When it was recorded (ms).
    pub created_at: i64,
}

const SELECT: &str =
    "SELECT assignment_id, version, is_current, score, confidence, comments_speaker,
        comments_committee, message_id, created_at FROM reviews";

fn from_row(r: &sqlx::any::AnyRow) -> std::result::Result<StoredReview, sqlx::Error> {
    Ok(StoredReview {
        assignment_id: r.try_get("assignment_id")?,
        version: r.try_get("version")?,
        current: r.try_get::<i64, _>("is_current")? == 1,
        score: r.try_get("score")?,
        confidence: r.try_get("confidence")?,
        comments_speaker: r.try_get("comments_speaker")?,
        comments_committee: r.try_get("comments_committee")?,
        message_row: r.try_get("message_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Record a review as the assignment's current version; the previous current version (if
/// any) stays in the history. Returns the new version number and the version it replaced.
pub async fn record(
    conn: &mut AnyConnection,
    r: &NewReview<'_>,
    now: i64,
) -> Result<(i64, Option<StoredReview>)> {
    let previous = current(conn, r.assignment_id).await?;
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS latest FROM reviews WHERE assignment_id = $1",
    )
    .bind(r.assignment_id)
    .fetch_one(&mut *conn)
    .await
    .ctx("numbering a review version")?;
    let version = row
        .try_get::<i64, _>("latest")
        .ctx("numbering a review version")?
        + 1;
    sqlx::query("UPDATE reviews SET is_current = 0 WHERE assignment_id = $1 AND is_current = 1")
        .bind(r.assignment_id)
        .execute(&mut *conn)
        .await
        .ctx("retiring the current review")?;
    sqlx::query(
        "INSERT INTO reviews (assignment_id, version, is_current, score, confidence,
                              comments_speaker, comments_committee, message_id, created_at)
         VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.assignment_id)
    .bind(version)
    .bind(r.score)
    .bind(r.confidence)
    .bind(r.comments_speaker)
    .bind(r.comments_committee)
    .bind(r.message_row)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("recording a review")?;
    Ok((version, previous))
}

/// The current review of an assignment, if any.
pub async fn current(conn: &mut AnyConnection, assignment_id: i64) -> Result<Option<StoredReview>> {
    let sql = format!("{SELECT} WHERE assignment_id = $1 AND is_current = 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(assignment_id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the current review")?;
    row.as_ref()
        .map(from_row)
        .transpose()
        .ctx("reading the current review")
}

/// Every version of an assignment's review, oldest first.
pub async fn history(conn: &mut AnyConnection, assignment_id: i64) -> Result<Vec<StoredReview>> {
    let sql = format!("{SELECT} WHERE assignment_id = $1 ORDER BY version");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(assignment_id)
        .fetch_all(&mut *conn)
        .await
        .ctx("reading review history")?;
    super::decode_all(rows, from_row, "reading review history")
}

/// The current review of every assignment that has one, by assignment id.
pub async fn current_all(conn: &mut AnyConnection) -> Result<Vec<StoredReview>> {
    let sql = format!("{SELECT} WHERE is_current = 1 ORDER BY assignment_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .ctx("reading current reviews")?;
    super::decode_all(rows, from_row, "reading current reviews")
}

/// Number of stored review versions in total (for tests and `cfpd check`-style summaries).
pub async fn count_versions(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM reviews")
        .fetch_one(&mut *conn)
        .await
        .ctx("counting reviews")?;
    row.try_get("n").ctx("counting reviews")
}
