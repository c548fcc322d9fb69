//! Bounce events and undeliverable addresses.
//!
//! A bounce that names one of our outgoing mails (by its VERP return path,
//! or the returned Message-ID) is recorded once per inbound message in
//! `bounce_events`. An address becomes undeliverable on the first hard
//! bounce, or once soft bounces were reported for a threshold number of
//! distinct outgoing mails; from then on nothing is sent to it
//! ([`super::outbox::suppress_undeliverable`], and the sender's queries skip
//! it).

use sqlx::Row;

use super::{AnyConnection, Ctx, Result};

/// A bounce report about one of our outgoing mails.
#[derive(Debug, Clone)]
pub struct NewBounce<'a> {
    /// The inbound message (the report); one event per message.
    pub message_row: i64,
    /// The outbox row that bounced.
    pub outbox_id: i64,
    /// Its recipient: the address that bounced.
    pub address: &'a str,
    /// Permanent failure (5.x.x) rather than a delay or transient failure.
    pub hard: bool,
    /// Enhanced status code, e.g. `5.1.1`, when the report gave one.
    pub status: Option<&'a str>,
    /// The remote server's diagnostic, when given (shown to the chairs).
    pub diagnostic: Option<&'a str>,
}

/// What recording a bounce changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceOutcome {
    /// This report made the address undeliverable (newly).
    NowUndeliverable {
        /// Why, for the chairs and `cfpd messages`.
        reason: String,
    },
    /// The address was already undeliverable.
    AlreadyUndeliverable,
    /// A soft bounce, counted: `count` distinct mails so far of `threshold`.
    Counted {
        /// Distinct outgoing mails to the address that soft-bounced.
        count: i64,
        /// The configured threshold.
        threshold: i64,
    },
}

/// Record a bounce event and decide whether its address is now undeliverable.
pub async fn record(
    conn: &mut AnyConnection,
    b: &NewBounce<'_>,
    soft_threshold: i64,
    now: i64,
) -> Result<BounceOutcome> {
    sqlx::query(
        "INSERT INTO bounce_events (message_row, outbox_id, address, hard, status, diagnostic, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_row) DO NOTHING",
    )
    .bind(b.message_row)
    .bind(b.outbox_id)
    .bind(b.address)
    .bind(b.hard as i64)
    .bind(b.status)
    .bind(b.diagnostic)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("recording a bounce")?;
    if is_undeliverable(conn, b.address).await? {
        return Ok(BounceOutcome::AlreadyUndeliverable);
    }
    let reason = if b.hard {
        format!(
            "hard bounce{}{}",
            b.status.map(|s| format!(" {s}")).unwrap_or_default(),
            b.diagnostic
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default()
        )
    } else {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT outbox_id) AS n FROM bounce_events WHERE address = $1 AND hard = 0",
        )
        .bind(b.address)
        .fetch_one(&mut *conn)
        .await
        .ctx("counting soft bounces")?;
        let count: i64 = row.try_get("n").ctx("counting soft bounces")?;
        if count < soft_threshold {
            return Ok(BounceOutcome::Counted {
                count,
                threshold: soft_threshold,
            });
        }
        format!("{count} soft bounces (threshold {soft_threshold})")
    };
    sqlx::query(
        "INSERT INTO undeliverable (address, since, reason, message_row) VALUES ($1, $2, $3, $4)
         ON CONFLICT (address) DO NOTHING",
    )
    .bind(b.address)
    .bind(now)
    .bind(&reason)
    .bind(b.message_row)
    .execute(&mut *conn)
    .await
    .ctx("marking an address undeliverable")?;
    Ok(BounceOutcome::NowUndeliverable { reason })
}

/// Whether cfpd stopped mailing `address`.
pub async fn is_undeliverable(conn: &mut AnyConnection, address: &str) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM undeliverable WHERE address = $1")
        .bind(address)
        .fetch_one(&mut *conn)
        .await
        .ctx("looking up an undeliverable address")?;
    Ok(row
        .try_get::<i64, _>("n")
        .ctx("looking up an undeliverable address")?
        > 0)
}

/// One undeliverable address, for the chairs' digest and listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeliverable {
    /// The address.
    pub address: String,
    /// Since when (ms).
    pub since: i64,
    /// Why (hard bounce with its status, or the soft-bounce count).
    pub reason: String,
}

/// Every undeliverable address, oldest first.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<Undeliverable>> {
    let rows =
        sqlx::query("SELECT address, since, reason FROM undeliverable ORDER BY since, address")
            .fetch_all(&mut *conn)
            .await
            .ctx("listing undeliverable addresses")?;
    super::decode_all(
        rows,
        |r| {
            Ok(Undeliverable {
                address: r.try_get("address")?,
                since: r.try_get("since")?,
                reason: r.try_get("reason")?,
            })
        },
        "reading undeliverable addresses",
    )
}
