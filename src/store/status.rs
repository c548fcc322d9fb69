//! The database-wide facts behind `/metrics` and `cfpd status`.
//!
//! [`snapshot`] is the one read: every instance's `/metrics` and the
//! `cfpd status` command call it, so with several instances on one
//! PostgreSQL they all report the same numbers. It only reads, and each
//! statement is answered from an index or a small table (the `messages` and
//! `outbox` rows hold whole mails and are never read row by row here).
//!
//! [`record_poll`] is the one write: the lease holder's "I polled the
//! mailbox successfully" heartbeat, once per intake cycle, on the database's
//! clock (so another process can tell how long ago it was).

use sqlx::Row;

use super::lease::db_now;
use super::review::PENDING_REVIEWS;
use super::{AnyConnection, Backend, Ctx, Result};

/// Outbox states in the order reports show them (all of them, also at 0).
pub const OUTBOX_STATES: &[&str] = &[
    "queued",
    "sending",
    "sent",
    "failed",
    "uncertain",
    "suppressed",
];

/// Proposal statuses in the order reports show them.
pub const PROPOSAL_STATUSES: &[&str] = &["submitted", "draft", "late", "withdrawn"];

/// The heartbeat [`record_poll`] writes.
const POLL: &str = "poll";

/// The instance lease as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// Holder id (`host:pidns:pid:random`) of the last instance that took it.
    pub holder: String,
    /// When that holder took it (ms, database clock).
    pub acquired_at: i64,
    /// When it lapses unless renewed (ms, database clock); 0 after a release.
    pub expires_at: i64,
    /// How many times it changed hands (1 for the first holder).
    pub generation: i64,
}

/// The last successful mailbox poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// The instance that polled.
    pub holder: String,
    /// When (ms, database clock).
    pub at: i64,
}

/// Database-wide facts at one moment (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The database's clock when this was read (ms): ages are measured on it.
    pub now: i64,
    /// Messages per state (`received` is pending), every state present.
    pub messages: Vec<(String, i64)>,
    /// Messages per (state, reason code), only those with a reason.
    pub message_reasons: Vec<(String, String, i64)>,
    /// Proposals per status.
    pub proposals: Vec<(String, i64)>,
    /// Reviews owed ([`super::review::pending_reviews`]'s definition).
    pub reviews_pending: i64,
    /// Outbox rows per state.
    pub outbox: Vec<(String, i64)>,
    /// When the mail queued longest ago was queued (ms), if any is queued.
    pub oldest_queued_at: Option<i64>,
    /// Hard bounce reports recorded.
    pub bounces_hard: i64,
    /// Soft bounce reports recorded.
    pub bounces_soft: i64,
    /// Addresses cfpd no longer mails.
    pub undeliverable: i64,
    /// The daemon lease's row, if an instance ever took it.
    pub lease: Option<LeaseRow>,
    /// The last successful poll, if any instance ever polled.
    pub last_poll: Option<Poll>,
}

impl Snapshot {
    /// The count for `state` in a per-state list (0 when absent).
    pub fn count(list: &[(String, i64)], state: &str) -> i64 {
        list.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n)
    }

    /// The lease's holder, if it holds it now (unexpired on the database clock).
    pub fn holder(&self) -> Option<&LeaseRow> {
        self.lease.as_ref().filter(|l| l.expires_at > self.now)
    }

    /// `(name, count)` for every name in `known`, in order (0 when absent),
    /// then any other name found in `rows`: a report shows every state, also
    /// those with no rows yet.
    pub fn ordered(known: &[&str], rows: &[(String, i64)]) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = known
            .iter()
            .map(|k| (k.to_string(), Snapshot::count(rows, k)))
            .collect();
        out.extend(
            rows.iter()
                .filter(|(k, _)| !known.contains(&k.as_str()))
                .cloned(),
        );
        out
    }

    /// How long the oldest queued mail has waited (ms), 0 when none is queued.
    pub fn oldest_queued_age_ms(&self) -> i64 {
        self.oldest_queued_at.map_or(0, |t| (self.now - t).max(0))
    }
}

/// Read every database-wide fact (lease `lease_name`, e.g. [`crate::lease::DAEMON`]).
pub async fn snapshot(
    conn: &mut AnyConnection,
    backend: Backend,
    lease_name: &str,
) -> Result<Snapshot> {
    let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Vec<(String, i64)> {
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let now: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {}", db_now(backend))))
        .fetch_one(&mut *conn)
        .await
        .ctx("reading the database clock")?
        .get(0);
    let messages = pairs(
        sqlx::query("SELECT state, COUNT(*) FROM messages GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting messages per state")?,
    );
    let message_reasons = sqlx::query(
        "SELECT state, reason, COUNT(*) FROM messages WHERE reason IS NOT NULL
         GROUP BY state, reason ORDER BY state, reason",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("counting messages per reason")?
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    let proposals = pairs(
        sqlx::query("SELECT status, COUNT(*) FROM proposals GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting proposals")?,
    );
    let reviews_pending: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) {PENDING_REVIEWS}"
    )))
    .fetch_one(&mut *conn)
    .await
    .ctx("counting pending reviews")?
    .get(0);
    let outbox = pairs(
        sqlx::query("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting outbox mail")?,
    );
    // The lowest queued id is the mail waiting longest; finding it reads the
    // (state, next_attempt_at) index only.
    let oldest_queued_at: Option<i64> = sqlx::query(
        "SELECT created_at FROM outbox WHERE id = (SELECT MIN(id) FROM outbox WHERE state = 'queued')",
    )
    .fetch_optional(&mut *conn)
    .await
    .ctx("finding the oldest queued mail")?
    .map(|r| r.get(0));
    let b = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN hard <> 0 THEN 1 ELSE 0 END), 0), COUNT(*) FROM bounce_events",
    )
    .fetch_one(&mut *conn)
    .await
    .ctx("counting bounces")?;
    let (bounces_hard, bounces_all): (i64, i64) = (b.get(0), b.get(1));
    let undeliverable: i64 = sqlx::query("SELECT COUNT(*) FROM undeliverable")
        .fetch_one(&mut *conn)
        .await
        .ctx("counting undeliverable addresses")?
        .get(0);
    let lease = sqlx::query(
        "SELECT holder, acquired_at, expires_at, generation FROM leases WHERE name = $1",
    )
    .bind(lease_name)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading the lease")?
    .map(|r| LeaseRow {
        holder: r.get(0),
        acquired_at: r.get(1),
        expires_at: r.get(2),
        generation: r.get(3),
    });
    let last_poll = sqlx::query("SELECT holder, at FROM heartbeats WHERE name = $1")
        .bind(POLL)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the last poll")?
        .map(|r| Poll {
            holder: r.get(0),
            at: r.get(1),
        });
    Ok(Snapshot {
        now,
        messages,
        message_reasons,
        proposals,
        reviews_pending,
        outbox,
        oldest_queued_at,
        bounces_hard,
        bounces_soft: bounces_all - bounces_hard,
        undeliverable,
        lease,
        last_poll,
    })
}

/// Record that `holder` polled the mailbox successfully just now (database clock).
pub async fn record_poll(conn: &mut AnyConnection, backend: Backend, holder: &str) -> Result<()> {
    let sql = format!(
        "INSERT INTO heartbeats (name, holder, at) VALUES ($1, $2, {now})
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, at = excluded.at",
        now = db_now(backend)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(POLL)
        .bind(holder)
        .execute(&mut *conn)
        .await
        .ctx("recording the last poll")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_come_from_the_tables_and_the_poll_moves() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Store::connect(&format!("sqlite://{}/s.db", dir.path().display()))
                .await
                .unwrap();
        let mut c = store.conn().await.unwrap();
        let b = store.backend;
        let empty = snapshot(&mut c, b, "daemon").await.unwrap();
        assert!(empty.messages.is_empty() && empty.lease.is_none() && empty.last_poll.is_none());
        assert_eq!(empty.oldest_queued_age_ms(), 0);
        for (i, (state, reason)) in [
            ("accepted", None),
            ("accepted", None),
            ("rejected", Some("missing_fields")),
            ("received", None),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO messages (source_key, received_at, size, sha256, state, reason)
                 VALUES ($1, 0, 0, '', $2, $3)",
            )
            .bind(format!("k{i}"))
            .bind(state)
            .bind(reason)
            .execute(&mut *c)
            .await
            .unwrap();
        }
        for (i, state) in ["queued", "queued", "sent"].into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                                     subject, raw, state, next_attempt_at)
                 VALUES ($1, 'ack', $2, '', 'a@x', 'm', 's', x'00', $3, 0)",
            )
            .bind(format!("d{i}"))
            .bind(1_000 + i as i64)
            .bind(state)
            .execute(&mut *c)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO bounce_events (message_row, outbox_id, address, hard, created_at)
             VALUES (1, 3, 'a@x', 1, 0), (2, 3, 'a@x', 0, 0), (3, 3, 'a@x', 0, 0)",
        )
        .execute(&mut *c)
        .await
        .unwrap();
        crate::store::lease::acquire(&mut c, b, "daemon", "me", 60_000)
            .await
            .unwrap()
            .unwrap();
        record_poll(&mut c, b, "me").await.unwrap();
        let s = snapshot(&mut c, b, "daemon").await.unwrap();
        assert_eq!(Snapshot::count(&s.messages, "accepted"), 2);
        assert_eq!(Snapshot::count(&s.messages, "received"), 1);
        assert_eq!(
            s.message_reasons,
            vec![("rejected".into(), "missing_fields".into(), 1)]
        );
        assert_eq!(Snapshot::count(&s.outbox, "queued"), 2);
        assert_eq!(
            s.oldest_queued_at,
            Some(1_000),
            "the first queued, not the sent"
        );
        assert_eq!((s.bounces_hard, s.bounces_soft), (1, 2));
        assert_eq!(s.holder().map(|l| l.holder.as_str()), Some("me"));
        let poll = s.last_poll.clone().unwrap();
        assert_eq!(poll.holder, "me");
        assert!((s.now - poll.at).abs() < 5_000, "{} vs {}", s.now, poll.at);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        record_poll(&mut c, b, "other").await.unwrap();
        let later = snapshot(&mut c, b, "daemon")
            .await
            .unwrap()
            .last_poll
            .unwrap();
        assert_eq!(later.holder, "other");
        assert!(later.at > poll.at, "the heartbeat moved");
        crate::store::lease::release(&mut c, "daemon", "me")
            .await
            .unwrap();
        assert!(snapshot(&mut c, b, "daemon")
            .await
            .unwrap()
            .holder()
            .is_none());
    }
}
