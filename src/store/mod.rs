//! The one place SQL lives.
//!
//! cfpd talks to SQLite (the embedded default) and PostgreSQL (several
//! instances, failover) through `sqlx::Any`, with the same statements for
//! both: `$n` placeholders, `RETURNING`, `ON CONFLICT`. Only the migrations
//! differ (`migrations/sqlite`, `migrations/postgres`) and are applied at
//! start. Times are stored as milliseconds since the Unix epoch (`i64`) so
//! that both backends compare them the same way.
//!
//! Functions that must be part of a caller's transaction take
//! `&mut AnyConnection`; pass `&mut *tx` from [`Store::begin`].

pub mod bids;
pub mod bounces;
pub mod chair;
pub mod decisions;
pub mod fixes;
pub mod lease;
pub mod messages;
pub mod outbox;
pub mod packed;
pub mod person;
pub mod proposals;
pub mod reminders;
pub mod review;
pub mod reviews;
pub mod status;
pub mod thread;

#[cfg(test)]
mod check_tests;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::str::FromStr;

use crate::model::Spelled;

pub use sqlx::AnyConnection;

/// A database transaction over either backend.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// A database failure, with what cfpd was doing when it happened.
#[derive(Debug, thiserror::Error)]
#[error("database: {context}: {source}")]
pub struct StoreError {
    /// What cfpd was doing.
    pub context: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

/// Result alias for store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

pub(crate) trait Ctx<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> Ctx<T> for std::result::Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| StoreError { context, source })
    }
}

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The connection pool plus what kind of database it is.
#[derive(Clone, Debug)]
pub struct Store {
    /// Shared by every task of the process.
    pub pool: AnyPool,
    /// Engine behind `pool`, for the rare statement that differs.
    pub backend: Backend,
    /// Connections for reads that may run beside the writer: on SQLite a
    /// second connection (WAL lets it read the last commit while `pool`'s
    /// one connection writes), so intake reads its next batch without
    /// waiting for the current one's transaction; on PostgreSQL `pool` itself.
    pub reader: AnyPool,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connect, configure and migrate. A SQLite file is created when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite://") {
            let url = if rest.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_string())
        };
        let opts = AnyConnectOptions::from_str(&url).ctx("parsing the database URL")?;
        let sqlite = |max: u32, pragmas: &'static str| {
            pool_options(max).after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            })
        };
        let pool = match backend {
            // One writer connection: SQLite serialises writes anyway, and a single
            // connection means no SQLITE_BUSY between our own tasks. Other processes
            // (the CLI next to the daemon) wait through busy_timeout.
            // Checkpoints every 128 MiB of WAL (not 32): each copies every page
            // written since the last one, so hot pages (indexes, the outbox) were
            // copied several times over a backlog; the file is cut back to 64 MiB
            // after. Temporary b-trees and statement journals stay in memory: as
            // files they were an eighth of what a backlog wrote (issue 18).
            Backend::Sqlite => sqlite(
                1,
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 32768; \
                 PRAGMA journal_size_limit = 67108864; \
                 PRAGMA temp_store = MEMORY;",
            )
            .connect_with(opts.clone())
            .await
            .ctx("opening the SQLite database")?,
            Backend::Postgres => pool_options(8)
                .connect_with(opts)
                .await
                .ctx("connecting to PostgreSQL")?,
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&pool).await.map_err(|e| StoreError {
            context: "applying migrations",
            source: e.into(),
        })?;
        {
            // Mails that were final before cfpd erased tokens (migration 0012).
            let mut c = pool.acquire().await.ctx("acquiring a connection")?;
            outbox::redact_backlog(&mut c).await?;
        }
        let reader = match backend {
            // Opened after the migrations, so it never sees an older schema;
            // `query_only` makes a write through it an error, not a second writer.
            Backend::Sqlite => sqlite(
                1,
                "PRAGMA busy_timeout = 10000; PRAGMA query_only = ON; \
                 PRAGMA cache_size = -16384;",
            )
            .connect_with(AnyConnectOptions::from_str(&url).ctx("parsing the database URL")?)
            .await
            .ctx("opening a SQLite reader")?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Store {
            pool,
            backend,
            reader,
        })
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool.acquire().await.ctx("acquiring a connection")
    }

    /// A connection for reads that need not wait for the writer (see [`Store::reader`]).
    pub async fn read_conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.reader
            .acquire()
            .await
            .ctx("acquiring a reader connection")
    }

    /// Start a transaction.
    pub async fn begin(&self) -> Result<Tx> {
        self.pool.begin().await.ctx("starting a transaction")
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.reader.close().await;
        self.pool.close().await;
    }
}

/// A stored enum read by column name: a spelling that is none of the enum's
/// is a decode error naming the column, never mapped to some variant.
pub(crate) fn spelled<T: Spelled>(r: &AnyRow, col: &str) -> std::result::Result<T, sqlx::Error> {
    let s: String = r.try_get(col)?;
    T::parse(&s).map_err(|e| sqlx::Error::ColumnDecode {
        index: col.to_string(),
        source: Box::new(e),
    })
}

/// Like [`spelled`], for a nullable column.
pub(crate) fn spelled_opt<T: Spelled>(
    r: &AnyRow,
    col: &str,
) -> std::result::Result<Option<T>, sqlx::Error> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| {
        T::parse(&s).map_err(|e| sqlx::Error::ColumnDecode {
            index: col.to_string(),
            source: Box::new(e),
        })
    })
    .transpose()
}

/// Decode every row with `f`, failing on the first row that does not decode.
pub(crate) fn decode_all<T>(
    rows: Vec<AnyRow>,
    f: impl Fn(&AnyRow) -> std::result::Result<T, sqlx::Error>,
    context: &'static str,
) -> Result<Vec<T>> {
    rows.iter()
        .map(f)
        .collect::<std::result::Result<_, _>>()
        .ctx(context)
}

/// Milliseconds since the Unix epoch for a chrono instant.
pub fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// A chrono instant from milliseconds since the Unix epoch.
pub fn from_ms(v: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// `n` unused ids of `table`'s integer key, for rows inserted with them
/// later in the same transaction. PostgreSQL takes them from the column's
/// sequence; SQLite (one writer, inside its transaction) counts on from the
/// highest id ever used (`sqlite_sequence`, so an id is never reused).
pub(crate) async fn reserve_row_ids(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &'static str,
    n: usize,
    what: &'static str,
) -> Result<Vec<i64>> {
    match backend {
        Backend::Postgres => {
            // The sequence's name in a subquery, found once per statement:
            // as `nextval`'s argument it was looked up in the catalogue for
            // every id, 5 µs each (4.5 of the 5.5 ms a batch's 1,000 ids took).
            let sql = format!(
                "SELECT nextval((SELECT pg_get_serial_sequence('{table}', 'id'))::regclass) AS id
                 FROM generate_series(1, $1)"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(n as i64)
                .fetch_all(&mut *conn)
                .await
                .ctx(what)?;
            decode_all(rows, |r| r.try_get("id"), what)
        }
        Backend::Sqlite => {
            let sql = format!(
                "SELECT MAX(x) AS base FROM (SELECT COALESCE(MAX(id), 0) AS x FROM {table}
                 UNION ALL SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = '{table}')"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *conn)
                .await
                .ctx(what)?;
            let base: i64 = row.try_get("base").ctx(what)?;
            Ok((1..=n as i64).map(|i| base + i).collect())
        }
    }
}

/// Pool options for every pool the store opens: at most `max` connections,
/// and no idle timeout or maximum lifetime, so sqlx starts no maintenance
/// task. That task can spin forever at 100 % CPU: sqlx 0.9.0 can count its
/// idle connections below zero when a connection is taken back between
/// being returned and being counted, and the task then loops over
/// `usize::MAX` connections (launchbadge/sqlx#3645, fixed upstream by #4289
/// after 0.9.0). The test suite hit it once: `cfpd notify --send` hung
/// at 100 % CPU and never finished. A daemon's connections are kept
/// open anyway: SQLite's are local files, and a PostgreSQL pool holds at
/// most 8.
fn pool_options(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// `($1, $2), ($3, $4), …` for a multi-row statement: `rows` rows of `cols`
/// placeholders, numbered from `$1`.
pub(crate) fn placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// The strings of parameter `$n` (bound as a JSON array, [`json_list`]) as
/// a table `wanted` with one column, `value`. The lookups of every intake
/// batch (a thousand Message-IDs, senders, threads) select from it and look
/// each value up in a subquery: one statement with one parameter, planned
/// once, where an `IN ($1, …, $200)` list took a statement per 200 values,
/// each bound and planned anew (BENCHMARKS.md, "Intake round 2, fourth
/// pass"). A subquery per value is an index probe per value whatever the
/// table's statistics say. On PostgreSQL, `column = ANY(…)` over the same
/// values was a scan of the whole table while its statistics called it
/// small (a new database filling with a backlog), searching the thousand
/// values one by one for every row: 16–40 ms a lookup by the fourth batch;
/// `IN (SELECT …)` hashed the values but still scanned every reply of the
/// day (BENCHMARKS.md, "Intake round 2, seventh pass").
pub(crate) fn each_wanted(conn: &AnyConnection, n: usize) -> String {
    match backend_of(conn) {
        Backend::Sqlite => format!("json_each(${n}) AS wanted"),
        Backend::Postgres => format!("json_array_elements_text(${n}::json) AS wanted(value)"),
    }
}

/// Strings as a JSON array, the parameter of [`each_wanted`].
pub(crate) fn json_list(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

/// Run a lookup that answers one number or NULL per key (columns `key` and
/// `value`), as a map of the keys that have a number.
pub(crate) async fn keyed_numbers<'q>(
    conn: &mut AnyConnection,
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    (key, value): (&str, &str),
    context: &'static str,
) -> Result<std::collections::HashMap<String, i64>> {
    let rows = q.fetch_all(&mut *conn).await.ctx(context)?;
    let pairs = decode_all(
        rows,
        |r| {
            Ok((
                r.try_get::<String, _>(key)?,
                r.try_get::<Option<i64>, _>(value)?,
            ))
        },
        context,
    )?;
    Ok(pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect())
}

/// `$start, $start+1, …` (`n` placeholders) for an `IN (…)` list.
pub(crate) fn in_list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A generated statement, ready for `sqlx::query`. On SQLite, `$1, $2, …`
/// numbered in order of appearance become anonymous `?`: SQLite looks a named
/// parameter up by a linear scan, so binding the thousands of parameters of a
/// multi-row statement by name is quadratic (measured: 60 % of intake's
/// write time). Statements whose numbers are not `1, 2, 3, …` in order are
/// left as they are (correct, only slower).
pub(crate) fn generated(conn: &AnyConnection, sql: String) -> sqlx::AssertSqlSafe<String> {
    generated_for(backend_of(conn), sql)
}

/// [`generated`] for a statement built away from its connection ([`Plan`]).
pub(crate) fn generated_for(backend: Backend, sql: String) -> sqlx::AssertSqlSafe<String> {
    match backend {
        Backend::Postgres => sqlx::AssertSqlSafe(sql),
        Backend::Sqlite => sqlx::AssertSqlSafe(positional(&sql).unwrap_or(sql)),
    }
}

/// A column of JSON that cfpd wrote. A value that does not parse is an
/// error naming the column, as a damaged packed record is
/// ([`packed::record::unpack`]), never the type's default: read as empty,
/// a damaged `problems` made an incomplete proposal look complete, and
/// damaged `conflicts` a conflicted reviewer look free.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    r: &AnyRow,
    col: &str,
) -> std::result::Result<T, sqlx::Error> {
    serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(|e| sqlx::Error::ColumnDecode {
        index: format!("{col:?} (stored JSON)"),
        source: Box::new(e),
    })
}

/// The engine behind `conn`.
pub(crate) fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name() == "SQLite" {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// A statement with its arguments bound, ready to run, and what it does
/// (the context of its error).
pub(crate) struct Built {
    q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
    context: &'static str,
}

impl Built {
    pub(crate) fn new(
        q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>,
        context: &'static str,
    ) -> Built {
        Built { q, context }
    }
}

/// Statements that run one after another on one connection (in one
/// transaction), each built while the one before it runs.
///
/// Why: building a multi-row statement (binding 200 rows, packing their
/// bytes, hashing them) takes about as long as PostgreSQL takes to run it,
/// and a batch's writes were a strict alternation of the two, one side
/// idle while the other worked. SQLite runs statements on a thread of its
/// own, so the same holds there. The statements and their order are the
/// same as when each is built just before it runs (BENCHMARKS.md, issue 18).
#[derive(Default)]
pub(crate) struct Plan<'a> {
    steps: Vec<Box<dyn FnOnce() -> Built + Send + 'a>>,
}

impl<'a> Plan<'a> {
    /// Add a statement, built by `f` when the one before it starts.
    pub(crate) fn push(&mut self, f: impl FnOnce() -> Built + Send + 'a) {
        self.steps.push(Box::new(f));
    }

    /// Run the statements in order; the first error stops the plan.
    pub(crate) async fn run(self, conn: &mut AnyConnection) -> Result<()> {
        let mut steps = self.steps.into_iter();
        let mut next = steps.next().map(|f| f());
        while let Some(Built { q, context }) = next.take() {
            // `join!` polls the statement first (it is sent), then builds
            // the next one while the database works on it.
            let (done, built) =
                futures::join!(q.execute(&mut *conn), async { steps.next().map(|f| f()) });
            done.ctx(context)?;
            next = built;
        }
        Ok(())
    }
}

/// `$1 … $n` in order → `?`; `None` when the numbering is not sequential.
fn positional(sql: &str) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut next = 1usize;
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits = rest[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[i + 1..i + 1 + digits].parse().ok()?;
        if n != next {
            return None;
        }
        next += 1;
        out.push('?');
        rest = &rest[i + 1 + digits..];
    }
    out.push_str(rest);
    Some(out)
}

/// Rows per multi-row statement: keeps every statement far below both
/// backends' bound-parameter limits (SQLite 32766, PostgreSQL 65535).
pub(crate) const CHUNK: usize = 200;

#[cfg(test)]
mod positional_tests {
    use super::positional;

    #[test]
    fn sequential_numbers_become_anonymous() {
        assert_eq!(
            positional("INSERT INTO t VALUES ($1, $2), ($3, $4) -- x").as_deref(),
            Some("INSERT INTO t VALUES (?, ?), (?, ?) -- x")
        );
        assert_eq!(positional("SELECT 1").as_deref(), Some("SELECT 1"));
        // Reused or out-of-order numbers keep their names.
        assert_eq!(positional("a = $1 OR b = $1"), None);
        assert_eq!(positional("a = $2 AND b = $1"), None);
        assert_eq!(positional("cost in $"), None);
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    /// No pool the store opens runs sqlx's maintenance task (see
    /// [`pool_options`]): without an idle timeout, a maximum lifetime or a
    /// minimum of connections, sqlx never starts it.
    #[tokio::test]
    async fn the_store_s_pools_start_no_maintenance_task() {
        let (_dir, store) = check_tests::new_sqlite().await;
        for pool in [&store.pool, &store.reader] {
            let o = pool.options();
            assert_eq!(o.get_idle_timeout(), None);
            assert_eq!(o.get_max_lifetime(), None);
            assert_eq!(o.get_min_connections(), 0);
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    /// A plan runs its statements in the order they were added (each is
    /// built while the one before runs), and the first failure stops it
    /// with that statement's context: nothing after it runs.
    #[tokio::test]
    async fn a_plan_runs_in_order_and_stops_at_the_first_failure() {
        let (_dir, store) = check_tests::new_sqlite().await;
        let mut c = store.conn().await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, after INTEGER)")
            .execute(&mut *c)
            .await
            .unwrap();
        let insert = |n: i64, context: &'static str| {
            // Each row records how many rows were there before it.
            move || {
                Built::new(
                    sqlx::query("INSERT INTO t (n, after) VALUES ($1, (SELECT COUNT(*) FROM t))")
                        .bind(n),
                    context,
                )
            }
        };
        let mut plan = Plan::default();
        for n in [3, 1, 2] {
            plan.push(insert(n, "first three"));
        }
        plan.run(&mut c).await.unwrap();
        let order: Vec<(i64, i64)> = sqlx::query("SELECT n, after FROM t ORDER BY after")
            .fetch_all(&mut *c)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("n"), r.get("after")))
            .collect();
        assert_eq!(order, [(3, 0), (1, 1), (2, 2)]);

        let mut plan = Plan::default();
        plan.push(insert(4, "a new row"));
        plan.push(insert(1, "a row that is there"));
        plan.push(insert(5, "a row after the failure"));
        let err = plan.run(&mut c).await.unwrap_err();
        assert_eq!(err.context, "a row that is there");
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t WHERE n IN (4, 5)")
            .fetch_one(&mut *c)
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 1, "4 was inserted, 5 never ran");
    }
}
