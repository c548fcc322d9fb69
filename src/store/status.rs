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

use sqlx::any::AnyRow;
use sqlx::Row;

use super::lease::db_now;
use super::review::pending_reviews_from;
use super::{decode_all, spelled, AnyConnection, Backend, Ctx, Result};
use crate::model::{MessageState, OutboxState, ProposalStatus, Reason, Spelled};

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
    /// Messages per state (`received` is pending).
    pub messages: Vec<(MessageState, i64)>,
    /// Messages per (state, reason code), only those with a reason.
    pub message_reasons: Vec<(MessageState, Reason, i64)>,
    /// Proposals per status.
    pub proposals: Vec<(ProposalStatus, i64)>,
    /// Reviews owed ([`super::review::pending_reviews`]'s definition).
    pub reviews_pending: i64,
    /// Outbox rows per state.
    pub outbox: Vec<(OutboxState, i64)>,
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
    /// Mails that may or may not have arrived (the first [`UNCERTAIN_LISTED`]),
    /// which a person must resolve; their number is in `outbox`.
    pub uncertain: Vec<super::outbox::UncertainMail>,
}

/// How many uncertain mails a snapshot lists one by one.
pub const UNCERTAIN_LISTED: i64 = 50;

impl Snapshot {
    /// The count for `state` in a per-state list (0 when absent).
    pub fn count<T: PartialEq>(list: &[(T, i64)], state: T) -> i64 {
        list.iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    }

    /// The lease's holder, if it holds it now (unexpired on the database clock).
    pub fn holder(&self) -> Option<&LeaseRow> {
        self.lease.as_ref().filter(|l| l.expires_at > self.now)
    }

    /// `(spelling, count)` for every variant of `T`, in the enum's order (0
    /// when absent): a report shows every state, also those with no rows yet.
    /// (The CHECK constraints keep any other value out of the database.)
    pub fn ordered<T: Spelled + PartialEq>(rows: &[(T, i64)]) -> Vec<(String, i64)> {
        T::all()
            .iter()
            .map(|k| (k.as_str().to_string(), Snapshot::count(rows, *k)))
            .collect()
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
    fn pairs<T: Spelled>(
        col: &'static str,
        context: &'static str,
    ) -> impl Fn(Vec<AnyRow>) -> Result<Vec<(T, i64)>> {
        move |rows| decode_all(rows, |r| Ok((spelled(r, col)?, r.try_get("n")?)), context)
    }
    let n = |r: AnyRow, context: &'static str| -> Result<i64> { r.try_get("n").ctx(context) };
    let now = n(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} AS n",
            db_now(backend)
        )))
        .fetch_one(&mut *conn)
        .await
        .ctx("reading the database clock")?,
        "reading the database clock",
    )?;
    let messages = pairs("state", "counting messages per state")(
        sqlx::query("SELECT state, COUNT(*) AS n FROM messages GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting messages per state")?,
    )?;
    let message_reasons = decode_all(
        sqlx::query(
            "SELECT state, reason, COUNT(*) AS n FROM messages WHERE reason IS NOT NULL
             GROUP BY state, reason ORDER BY state, reason",
        )
        .fetch_all(&mut *conn)
        .await
        .ctx("counting messages per reason")?,
        |r| Ok((spelled(r, "state")?, spelled(r, "reason")?, r.try_get("n")?)),
        "counting messages per reason",
    )?;
    let proposals = pairs("status", "counting proposals")(
        sqlx::query("SELECT status, COUNT(*) AS n FROM proposals GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting proposals")?,
    )?;
    let reviews_pending = n(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n {}",
            pending_reviews_from()
        )))
        .fetch_one(&mut *conn)
        .await
        .ctx("counting pending reviews")?,
        "counting pending reviews",
    )?;
    let outbox = super::outbox::stats(conn).await?;
    let oldest_queued_at = super::outbox::oldest_queued_at(conn).await?;
    let b = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN hard <> 0 THEN 1 ELSE 0 END), 0) AS hard, COUNT(*) AS n
         FROM bounce_events",
    )
    .fetch_one(&mut *conn)
    .await
    .ctx("counting bounces")?;
    let bounces_hard: i64 = b.try_get("hard").ctx("counting bounces")?;
    let bounces_all = n(b, "counting bounces")?;
    let undeliverable = n(
        sqlx::query("SELECT COUNT(*) AS n FROM undeliverable")
            .fetch_one(&mut *conn)
            .await
            .ctx("counting undeliverable addresses")?,
        "counting undeliverable addresses",
    )?;
    let lease = sqlx::query(
        "SELECT holder, acquired_at, expires_at, generation FROM leases WHERE name = $1",
    )
    .bind(lease_name)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading the lease")?
    .map(|r| {
        Ok(LeaseRow {
            holder: r.try_get("holder")?,
            acquired_at: r.try_get("acquired_at")?,
            expires_at: r.try_get("expires_at")?,
            generation: r.try_get("generation")?,
        })
    })
    .transpose()
    .ctx("reading the lease")?;
    let last_poll = sqlx::query("SELECT holder, at FROM heartbeats WHERE name = $1")
        .bind(POLL)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the last poll")?
        .map(|r| {
            Ok(Poll {
                holder: r.try_get("holder")?,
                at: r.try_get("at")?,
            })
        })
        .transpose()
        .ctx("reading the last poll")?;
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
        uncertain: super::outbox::uncertain(conn, UNCERTAIN_LISTED).await?,
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
    use crate::model::{HoldReason, MailKind};

    #[tokio::test]
    async fn the_oldest_queued_mail_is_the_one_waiting_longest_not_the_lowest_id() {
        let (_dir, store) = crate::store::check_tests::new_sqlite().await;
        let mut c = store.conn().await.unwrap();
        // 1: an acknowledgment held over its recipient's cap, released at
        // 3,000 (its `created_at` is then the release); 2: queued at 2,000;
        // 3: still held since 500; 4: sent, queued at 100.
        for (i, created, state, hold) in [
            (1, 3_000, OutboxState::Queued, None),
            (2, 2_000, OutboxState::Queued, None),
            (3, 500, OutboxState::Queued, Some(HoldReason::AddressCap)),
            (4, 100, OutboxState::Sent, None),
        ] {
            sqlx::query(
                "INSERT INTO outbox (id, dedup_key, kind, created_at, envelope_from, recipient,
                                     message_id, subject, state, next_attempt_at, hold)
                 VALUES ($1, $2, $3, $4, '', 'a@x', 'm', 's', $5, 0, $6)",
            )
            .bind(i as i64)
            .bind(format!("d{i}"))
            .bind(MailKind::Ack.as_str())
            .bind(created as i64)
            .bind(state.as_str())
            .bind(hold.map(HoldReason::as_str))
            .execute(&mut *c)
            .await
            .unwrap();
        }
        let s = snapshot(&mut c, store.backend, "daemon").await.unwrap();
        assert_eq!(s.oldest_queued_at, Some(2_000));
        assert_eq!(
            crate::store::outbox::oldest_queued_at(&mut c)
                .await
                .unwrap(),
            Some(2_000)
        );
    }

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
            (MessageState::Accepted, None),
            (MessageState::Accepted, None),
            (MessageState::Rejected, Some(Reason::MissingFields)),
            (MessageState::Received, None),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query(
                "INSERT INTO messages (source_key, received_at, size, sha256, state, reason)
                 VALUES ($1, 0, 0, '', $2, $3)",
            )
            .bind(format!("k{i}"))
            .bind(state.as_str())
            .bind(reason.map(Reason::as_str))
            .execute(&mut *c)
            .await
            .unwrap();
        }
        for (i, state) in [OutboxState::Queued, OutboxState::Queued, OutboxState::Sent]
            .into_iter()
            .enumerate()
        {
            sqlx::query(
                "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                                     subject, state, next_attempt_at)
                 VALUES ($1, $4, $2, '', 'a@x', 'm', 's', $3, 0)",
            )
            .bind(format!("d{i}"))
            .bind(1_000 + i as i64)
            .bind(state.as_str())
            .bind(MailKind::Ack.as_str())
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
        assert_eq!(Snapshot::count(&s.messages, MessageState::Accepted), 2);
        assert_eq!(Snapshot::count(&s.messages, MessageState::Received), 1);
        assert_eq!(
            s.message_reasons,
            vec![(MessageState::Rejected, Reason::MissingFields, 1)]
        );
        assert_eq!(Snapshot::count(&s.outbox, OutboxState::Queued), 2);
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
