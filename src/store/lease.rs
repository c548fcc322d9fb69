//! Leases: at most one cfpd instance at a time does the work that must not
//! run twice in parallel (see [`crate::lease`]).
//!
//! A lease is one row. It is taken or renewed with a single conditional
//! UPSERT — the row is written only if this instance already holds it or it
//! has expired — so two instances racing for it cannot both win, on SQLite
//! or PostgreSQL. Expiry is measured on the **database server's clock**
//! (`clock_timestamp()` on PostgreSQL, `julianday('now')` on SQLite), never
//! on [`crate::clock::Clock`]: a clock pinned by `CFPD_FAKE_NOW` must not
//! freeze a lease, and instances on hosts with skewed clocks still agree.

use sqlx::Row;

use super::{AnyConnection, Backend, Ctx, Result};

/// The database's own "now" in ms since the Unix epoch, as an SQL expression.
pub(crate) fn db_now(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

/// A lease this instance holds after [`acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Incremented each time the lease changes hands, so logs show takeovers.
    pub generation: i64,
    /// When the lease lapses unless renewed (database clock, ms).
    pub expires_at: i64,
}

/// Take or renew lease `name` for `holder` for `ttl_ms`. Returns `None` when
/// another holder has it and it has not expired.
pub async fn acquire(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
    holder: &str,
    ttl_ms: i64,
) -> Result<Option<Held>> {
    let now = db_now(backend);
    let sql = format!(
        "INSERT INTO leases (name, holder, expires_at, acquired_at, generation)
         VALUES ($1, $2, {now} + $3, {now}, 1)
         ON CONFLICT (name) DO UPDATE SET
             holder = excluded.holder,
             expires_at = excluded.expires_at,
             acquired_at = CASE WHEN leases.holder = excluded.holder
                                THEN leases.acquired_at ELSE excluded.acquired_at END,
             generation = CASE WHEN leases.holder = excluded.holder
                               THEN leases.generation ELSE leases.generation + 1 END
         WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at
         RETURNING generation, expires_at"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(holder)
        .bind(ttl_ms)
        .fetch_optional(&mut *conn)
        .await
        .ctx("taking or renewing a lease")?;
    row.map(|r| {
        Ok(Held {
            generation: r.try_get("generation")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
    .ctx("reading a lease")
}

/// Give the lease up (only if `holder` still has it), so a standby can take
/// over at once instead of waiting for it to expire. The row stays (expired),
/// so the generation keeps counting handovers.
pub async fn release(conn: &mut AnyConnection, name: &str, holder: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND expires_at > 0",
    )
    .bind(name)
    .bind(holder)
    .execute(&mut *conn)
    .await
    .ctx("releasing a lease")?;
    Ok(r.rows_affected() > 0)
}

/// Who holds lease `name`, and for how many more ms (negative: expired).
pub async fn holder(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
) -> Result<Option<(String, i64)>> {
    let sql = format!(
        "SELECT holder, expires_at - {} AS remaining FROM leases WHERE name = $1",
        db_now(backend)
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a lease")?;
    row.map(|r| Ok((r.try_get("holder")?, r.try_get("remaining")?)))
        .transpose()
        .ctx("reading a lease")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_until_expiry_or_release() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Store::connect(&format!("sqlite://{}/l.db", dir.path().display()))
                .await
                .unwrap();
        let mut c = store.conn().await.unwrap();
        let b = store.backend;
        let a1 = acquire(&mut c, b, "daemon", "a", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a1.generation, 1);
        assert_eq!(
            acquire(&mut c, b, "daemon", "b", 60_000).await.unwrap(),
            None,
            "held by a"
        );
        let a2 = acquire(&mut c, b, "daemon", "a", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a2.generation, 1, "a renewal is not a takeover");
        assert!(a2.expires_at >= a1.expires_at);
        assert_eq!(holder(&mut c, b, "daemon").await.unwrap().unwrap().0, "a");
        // Expired (a 0 ms lease): b takes over, and a cannot renew any more.
        acquire(&mut c, b, "daemon", "a", 0).await.unwrap().unwrap();
        let b1 = acquire(&mut c, b, "daemon", "b", 60_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b1.generation, 2);
        assert_eq!(
            acquire(&mut c, b, "daemon", "a", 60_000).await.unwrap(),
            None
        );
        assert!(
            !release(&mut c, "daemon", "a").await.unwrap(),
            "only the holder releases"
        );
        assert!(release(&mut c, "daemon", "b").await.unwrap());
        assert!(acquire(&mut c, b, "daemon", "a", 60_000)
            .await
            .unwrap()
            .is_some());
    }
}
