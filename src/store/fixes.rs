//! The chairs' corrections (`cfpd proposals edit|restore`, `cfpd assign
//! add|remove`, `cfpd reviewers remove`, `cfpd outbox --hold|--release|
//! --cancel`) and their record, `chair_actions`.
//!
//! Every change is a statement conditional on the state the rule in
//! [`crate::fix`] allowed (a queued mail, an active assignment, a withdrawn
//! proposal), so a change the sender or intake made meanwhile is not
//! overwritten: the statement changes nothing and the caller says so.

use sqlx::Row;

use super::{decode_all, spelled, spelled_opt, AnyConnection, Ctx, Result};
use crate::model::{
    AssignmentState, ChairAction, HoldReason, MailKind, OutboxState, ProposalStatus,
};

/// A change to record.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    /// Who (the OS user or `--by`).
    pub chair: &'a str,
    /// What.
    pub action: ChairAction,
    /// On which proposal, if one.
    pub proposal_id: Option<i64>,
    /// Which reviewer's address, if one.
    pub reviewer: Option<&'a str>,
    /// Which outbox row, if one.
    pub outbox_id: Option<i64>,
    /// What changed, in words.
    pub detail: &'a str,
    /// The reason given with `--override`, if any.
    pub override_reason: Option<&'a str>,
}

/// Record a change (ms `now`).
pub async fn record(conn: &mut AnyConnection, a: &NewAction<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO chair_actions (at, chair, action, proposal_id, reviewer, outbox_id, detail, override)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(now)
    .bind(a.chair)
    .bind(a.action.as_str())
    .bind(a.proposal_id)
    .bind(a.reviewer)
    .bind(a.outbox_id)
    .bind(a.detail)
    .bind(a.override_reason)
    .execute(&mut *conn)
    .await
    .ctx("recording a chair's change")?;
    Ok(())
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    /// When (ms).
    pub at: i64,
    /// Who.
    pub chair: String,
    /// What.
    pub action: ChairAction,
    /// Which reviewer, if one.
    pub reviewer: Option<String>,
    /// Which outbox row, if one.
    pub outbox_id: Option<i64>,
    /// What changed.
    pub detail: String,
    /// The override reason, if any.
    pub override_reason: Option<String>,
}

/// The changes chairs made to one proposal (or its assignments and mail),
/// oldest first.
pub async fn of_proposal(conn: &mut AnyConnection, proposal_id: i64) -> Result<Vec<ActionRow>> {
    let rows = sqlx::query(
        "SELECT at, chair, action, reviewer, outbox_id, detail, override FROM chair_actions
         WHERE proposal_id = $1 ORDER BY id",
    )
    .bind(proposal_id)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing a proposal's chair changes")?;
    decode_all(
        rows,
        |r| {
            Ok(ActionRow {
                at: r.try_get("at")?,
                chair: r.try_get("chair")?,
                action: spelled(r, "action")?,
                reviewer: r.try_get("reviewer")?,
                outbox_id: r.try_get("outbox_id")?,
                detail: r.try_get("detail")?,
                override_reason: r.try_get("override")?,
            })
        },
        "reading chair changes",
    )
}

/// An outbox row as the hold/release/cancel rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailState {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: MailKind,
    /// State.
    pub state: OutboxState,
    /// Hold, if held.
    pub hold: Option<HoldReason>,
    /// Recipient.
    pub recipient: String,
}

fn mail_state(r: &sqlx::any::AnyRow) -> std::result::Result<MailState, sqlx::Error> {
    Ok(MailState {
        id: r.try_get("id")?,
        kind: spelled(r, "kind")?,
        state: spelled(r, "state")?,
        hold: spelled_opt(r, "hold")?,
        recipient: r.try_get("recipient")?,
    })
}

const MAIL_STATE: &str = "SELECT id, kind, state, hold, recipient FROM outbox";

/// One outbox row by id.
pub async fn mail(conn: &mut AnyConnection, id: i64) -> Result<Option<MailState>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{MAIL_STATE} WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading an outbox row")?;
    row.as_ref()
        .map(mail_state)
        .transpose()
        .ctx("reading an outbox row")
}

/// Every still-queued mail of a kind, held or not, oldest first.
pub async fn queued_of_kind(conn: &mut AnyConnection, kind: MailKind) -> Result<Vec<MailState>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{MAIL_STATE} WHERE kind = $1 AND state = $2 ORDER BY id"
    )))
    .bind(kind.as_str())
    .bind(OutboxState::Queued.as_str())
    .fetch_all(&mut *conn)
    .await
    .ctx("listing queued mail of a kind")?;
    decode_all(rows, mail_state, "reading queued mail")
}

/// Hold a queued mail for a chair (replacing a hold for the reply budget).
/// False when it is no longer queued, or a chair holds it already.
pub async fn hold(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET hold = $2
         WHERE id = $1 AND state = $3 AND (hold IS NULL OR hold <> $2)",
    )
    .bind(id)
    .bind(HoldReason::Chair.as_str())
    .bind(OutboxState::Queued.as_str())
    .execute(&mut *conn)
    .await
    .ctx("holding a mail")?
    .rows_affected();
    Ok(n == 1)
}

/// Release a mail a chair held: it is due at once and sent like any other,
/// once. False when no chair holds it (any more).
pub async fn release(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET hold = NULL, next_attempt_at = $3
         WHERE id = $1 AND hold = $2 AND state = $4",
    )
    .bind(id)
    .bind(HoldReason::Chair.as_str())
    .bind(now)
    .bind(OutboxState::Queued.as_str())
    .execute(&mut *conn)
    .await
    .ctx("releasing a held mail")?
    .rows_affected();
    Ok(n == 1)
}

/// Cancel a queued mail (held or not): it is never sent, its tokens are
/// erased as for a sent mail, and `last_error` says who cancelled it. False
/// when it is no longer queued (the sender took it meanwhile).
pub async fn cancel(conn: &mut AnyConnection, id: i64, chair: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE outbox SET state = $2, hold = NULL, last_error = $3
         WHERE id = $1 AND state = $4",
    )
    .bind(id)
    .bind(OutboxState::Cancelled.as_str())
    .bind(format!("not sent: cancelled by {chair}"))
    .bind(OutboxState::Queued.as_str())
    .execute(&mut *conn)
    .await
    .ctx("cancelling a mail")?
    .rows_affected();
    if n == 1 {
        super::outbox::erase_secrets(conn, id).await?;
    }
    Ok(n == 1)
}

/// Mark a version as written by a chair.
pub async fn mark_edited_by(
    conn: &mut AnyConnection,
    proposal_id: i64,
    version: i64,
    chair: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE proposal_versions SET edited_by = $3 WHERE proposal_id = $1 AND version = $2",
    )
    .bind(proposal_id)
    .bind(version)
    .bind(chair)
    .execute(&mut *conn)
    .await
    .ctx("marking a chair's version")?;
    Ok(())
}

/// The status a proposal's withdrawal left (`None`: not withdrawn, or
/// withdrawn before cfpd kept it).
pub async fn withdrawn_from(
    conn: &mut AnyConnection,
    proposal_id: i64,
) -> Result<Option<ProposalStatus>> {
    let row = sqlx::query("SELECT withdrawn_from FROM proposals WHERE id = $1")
        .bind(proposal_id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a proposal's earlier status")?;
    match row {
        Some(r) => spelled_opt(&r, "withdrawn_from").ctx("reading a proposal's earlier status"),
        None => Ok(None),
    }
}

/// Put a withdrawn proposal back to `status`. False when it is not
/// withdrawn (any more).
pub async fn restore(
    conn: &mut AnyConnection,
    proposal_id: i64,
    status: ProposalStatus,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE proposals SET status = $2, withdrawn_from = NULL, updated_at = $3
         WHERE id = $1 AND status = $4",
    )
    .bind(proposal_id)
    .bind(status.as_str())
    .bind(now)
    .bind(ProposalStatus::Withdrawn.as_str())
    .execute(&mut *conn)
    .await
    .ctx("restoring a proposal")?
    .rows_affected();
    Ok(n == 1)
}

/// Take a reviewer off one proposal (an active assignment becomes
/// `removed`). False when it was not active (any more).
pub async fn unassign(conn: &mut AnyConnection, assignment_id: i64, now: i64) -> Result<bool> {
    super::review::release(conn, assignment_id, AssignmentState::Removed, None, now).await
}

/// Cancel an assignment's mail if it is still queued (held or not): a
/// reviewer taken off a proposal is not asked to review it. Returns the
/// cancelled mail's id.
pub async fn cancel_assignment_mail(
    conn: &mut AnyConnection,
    assignment_id: i64,
    chair: &str,
) -> Result<Option<i64>> {
    let key = format!("{}{assignment_id}", super::review::ASSIGNMENT_MAIL_KEY);
    let row = sqlx::query("SELECT id FROM outbox WHERE dedup_key = $1 AND state = $2")
        .bind(&key)
        .bind(OutboxState::Queued.as_str())
        .fetch_optional(&mut *conn)
        .await
        .ctx("finding an assignment's mail")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id").ctx("finding an assignment's mail")?;
    Ok(cancel(conn, id, chair).await?.then_some(id))
}

/// Whether a reviewer was removed from the roster.
pub async fn reviewer_removed(conn: &mut AnyConnection, reviewer_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT removed_at FROM reviewers WHERE id = $1")
        .bind(reviewer_id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a reviewer")?;
    Ok(match row {
        Some(r) => r
            .try_get::<Option<i64>, _>("removed_at")
            .ctx("reading a reviewer")?
            .is_some(),
        None => false,
    })
}

/// Take a reviewer off the roster. False when already removed.
pub async fn remove_reviewer(conn: &mut AnyConnection, reviewer_id: i64, now: i64) -> Result<bool> {
    let n =
        sqlx::query("UPDATE reviewers SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL")
            .bind(reviewer_id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .ctx("removing a reviewer")?
            .rows_affected();
    Ok(n == 1)
}

/// A reviewer's assignments with whether each has a recorded review:
/// (assignment id, proposal id, state, reviewed).
pub async fn assignments_of_reviewer(
    conn: &mut AnyConnection,
    reviewer_id: i64,
) -> Result<Vec<(i64, i64, AssignmentState, bool)>> {
    let rows = sqlx::query(
        "SELECT a.id, a.proposal_id, a.state,
                EXISTS (SELECT 1 FROM reviews v WHERE v.assignment_id = a.id) AS reviewed
         FROM assignments a WHERE a.reviewer_id = $1 ORDER BY a.proposal_id",
    )
    .bind(reviewer_id)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing a reviewer's assignments")?;
    decode_all(
        rows,
        |r| {
            // SQLite answers EXISTS with an integer, PostgreSQL with a boolean.
            let reviewed = match r.try_get::<bool, _>("reviewed") {
                Ok(b) => b,
                Err(_) => r.try_get::<i64, _>("reviewed")? != 0,
            };
            Ok((
                r.try_get("id")?,
                r.try_get("proposal_id")?,
                spelled(r, "state")?,
                reviewed,
            ))
        },
        "reading a reviewer's assignments",
    )
}
