//! Inbound messages and the mailbox cursor.
//!
//! A message from an IMAP chunk is stored once, directly in its terminal
//! state with its bytes, in the transaction that records its effects and
//! queues its reply (`plan_processed`). Otherwise it is stored as
//! raw bytes when fetched (`received`), then moved to exactly one terminal
//! state by intake in that transaction. `messages_unfiled` lists the
//! messages the source has not filed away yet (IMAP MOVE, Maildir `cur/`),
//! which only happens after the terminal state is committed: a row there is
//! written with the message and deleted once it is filed, so the message's
//! own row is never rewritten for it (migration 0022).

use std::collections::HashMap;

use sqlx::Row;

use super::{
    backend_of, decode_all, generated_for, in_list, placeholders, spelled, spelled_opt,
    AnyConnection, Backend, Built, Ctx, Plan, Result, CHUNK,
};
pub use crate::model::MessageState;
use crate::model::Reason;

/// A message as the source hands it over.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Stable identity at the source (`imap:INBOX:<uidvalidity>:<uid>`, `maildir:<name>`):
    /// storing it twice is a no-op, which makes re-fetching after a crash harmless.
    pub source_key: String,
    /// When cfpd fetched it (ms).
    pub received_at: i64,
    /// When it reached the mailbox (ms), by the source's own record (IMAP INTERNALDATE,
    /// Maildir delivery time), never after `received_at`: deadlines are judged on it.
    pub arrived_at: i64,
    /// The message exactly as received.
    pub raw: Vec<u8>,
}

/// A stored message waiting for intake.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    /// Row id.
    pub id: i64,
    /// Source identity (for logs and filing).
    pub source_key: String,
    /// Raw bytes.
    pub raw: Vec<u8>,
    /// When it reached the mailbox (ms; see [`NewMessage::arrived_at`]).
    pub arrived_at: i64,
    /// A chair released it from `needs_review`: process it without the
    /// Authentication-Results hold.
    pub released: bool,
}

/// What intake decided about a message.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// Normalised Message-ID header (for duplicate detection).
    pub message_id: Option<String>,
    /// Sender address as written in From (informational; never an authorization).
    pub from_addr: Option<String>,
    /// Subject, for the chair's listings.
    pub subject: Option<String>,
    /// Machine-readable reason code (e.g. `missing_fields`, `sender_mismatch`).
    pub reason: Option<Reason>,
    /// Human-readable detail: notes joined by [`NOTE_SEPARATOR`].
    pub detail: Option<String>,
    /// The proposal this message created or changed.
    pub proposal_id: Option<i64>,
    /// For duplicates: the first message with the same Message-ID.
    pub duplicate_of: Option<i64>,
}

/// Between two notes in a message's `detail` ("reply suppressed: …; …"),
/// whether the later one is added before the message is written
/// ([`Finish::add_note`]) or after ([`add_notes`]).
pub const NOTE_SEPARATOR: &str = "; ";

impl Finish {
    /// `note` after the detail so far.
    pub fn add_note(&mut self, note: String) {
        self.detail = Some(match self.detail.take() {
            Some(d) => format!("{d}{NOTE_SEPARATOR}{note}"),
            None => note,
        });
    }
}

/// Store many fetched messages as `received` in multi-row statements; keys
/// already stored are skipped. Returns how many were new.
///
/// The bytes go to `message_raw`, written once: the `messages` row, which
/// intake updates twice more, stays small.
pub async fn insert_received_many(conn: &mut AnyConnection, ms: &[NewMessage]) -> Result<u64> {
    let rows: Vec<Received<'_>> = ms
        .iter()
        .map(|m| Received {
            source_key: &m.source_key,
            received_at: m.received_at,
            arrived_at: m.arrived_at,
            raw: &m.raw,
        })
        .collect();
    Ok(insert_received_ids(conn, &rows).await?.len() as u64)
}

/// A fetched message borrowed for [`insert_received_ids`] (see [`NewMessage`]).
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// See [`NewMessage::source_key`].
    pub source_key: &'a str,
    /// See [`NewMessage::received_at`].
    pub received_at: i64,
    /// See [`NewMessage::arrived_at`].
    pub arrived_at: i64,
    /// See [`NewMessage::raw`].
    pub raw: &'a [u8],
}

/// Store fetched messages as `received` (rows and bytes, multi-row
/// statements) and return the row id of each one that was new, by source
/// key; keys already stored are skipped. Intake calls this inside the
/// transaction that also records what the messages did, so each message is
/// written once (see `Intake::process_alongside`).
pub async fn insert_received_ids(
    conn: &mut AnyConnection,
    ms: &[Received<'_>],
) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for chunk in ms.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO messages (source_key, received_at, arrived_at, size, sha256, state)
             VALUES {}
             ON CONFLICT (source_key) DO NOTHING
             RETURNING id, source_key",
            placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(super::generated(conn, sql));
        for m in chunk {
            q = q
                .bind(m.source_key)
                .bind(m.received_at)
                .bind(m.arrived_at.min(m.received_at))
                .bind(m.raw.len() as i64)
                .bind(sha256_hex(m.raw))
                .bind(MessageState::Received.as_str());
        }
        let rows = q
            .fetch_all(&mut *conn)
            .await
            .ctx("storing received messages")?;
        if rows.is_empty() {
            continue;
        }
        let by_key: HashMap<&str, &[u8]> = chunk.iter().map(|m| (m.source_key, m.raw)).collect();
        let mut bytes = Vec::with_capacity(rows.len());
        for r in &rows {
            let key: String = r.try_get("source_key").ctx("reading stored ids")?;
            let id: i64 = r.try_get("id").ctx("reading stored ids")?;
            bytes.push(RawRow::unpacked(id, by_key[key.as_str()]));
            ids.insert(key, id);
        }
        insert_bytes(conn, &bytes).await?;
    }
    Ok(ids)
}

/// The SHA-256 of a message's bytes, as `messages.sha256` stores it (hex).
pub fn sha256_hex(raw: &[u8]) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(raw))
}

/// A message's bytes for `message_raw`, under its row id.
#[derive(Debug, Clone, Copy)]
pub struct RawRow<'a> {
    /// Its row id.
    pub id: i64,
    /// The bytes to keep (as received, or with tokens erased).
    pub raw: &'a [u8],
    /// `raw` already packed ([`super::packed::pack`]), when it was done
    /// ahead, off the one connection that writes.
    pub packed: Option<&'a [u8]>,
}

impl<'a> RawRow<'a> {
    /// Bytes packed as they are written.
    pub fn unpacked(id: i64, raw: &'a [u8]) -> RawRow<'a> {
        RawRow {
            id,
            raw,
            packed: None,
        }
    }
}

/// Store new messages' bytes (compressed, [`super::packed`]) under their
/// row ids, in one multi-row statement (`rows` at most [`CHUNK`] long), and
/// list them as waiting to be filed at their source.
async fn insert_bytes(conn: &mut AnyConnection, rows: &[RawRow<'_>]) -> Result<()> {
    let mut plan = Plan::default();
    plan_bytes(&mut plan, backend_of(conn), rows);
    plan.run(conn).await
}

/// Store messages' bytes (packed) and list them as waiting to be filed:
/// two statements.
fn plan_bytes<'a>(plan: &mut Plan<'a>, backend: Backend, rows: &'a [RawRow<'a>]) {
    plan.push(move || {
        let sql = format!(
            "INSERT INTO message_raw (id, raw, compressed) VALUES {}",
            placeholders(rows.len(), 3)
        );
        let mut q = sqlx::query(generated_for(backend, sql));
        for r in rows {
            q = q.bind(r.id);
            q = match r.packed {
                Some(packed) => q.bind(packed),
                None => q.bind(super::packed::pack(r.raw)),
            };
            q = q.bind(1i64);
        }
        Built::new(q, "storing messages' bytes")
    });
    plan.push(move || filing_statement(backend, rows.iter().map(|r| r.id)));
}

/// List new messages as waiting to be filed at their source ([`undisposed`]).
async fn queue_filing(conn: &mut AnyConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let Built { q, context } = filing_statement(backend_of(conn), ids.iter().copied());
    q.execute(&mut *conn).await.ctx(context)?;
    Ok(())
}

/// The statement of [`queue_filing`] (`ids` not empty).
fn filing_statement(backend: Backend, ids: impl ExactSizeIterator<Item = i64>) -> Built {
    let sql = format!(
        "INSERT INTO messages_unfiled (id) VALUES {}",
        placeholders(ids.len(), 1)
    );
    let mut q = sqlx::query(generated_for(backend, sql));
    for id in ids {
        q = q.bind(id);
    }
    Built::new(q, "listing messages to file away")
}

/// `n` unused message row ids, for messages inserted with their outcome
/// later in the same transaction (see `plan_processed`).
pub async fn reserve_ids(
    conn: &mut AnyConnection,
    backend: super::Backend,
    n: usize,
) -> Result<Vec<i64>> {
    super::reserve_row_ids(conn, backend, "messages", n, "reserving message ids").await
}

/// Store one fetched message as `received` under the reserved row id `id`
/// (before its outcome is known: what handling it writes refers to it).
pub async fn insert_received_as(conn: &mut AnyConnection, id: i64, m: &Received<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (id, source_key, received_at, arrived_at, size, sha256, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(m.source_key)
    .bind(m.received_at)
    .bind(m.arrived_at.min(m.received_at))
    .bind(m.raw.len() as i64)
    .bind(sha256_hex(m.raw))
    .bind(MessageState::Received.as_str())
    .execute(&mut *conn)
    .await
    .ctx("storing a received message")?;
    insert_bytes(conn, &[RawRow::unpacked(id, m.raw)]).await
}

/// A fetched message stored with its outcome in one write.
#[derive(Debug)]
pub struct Processed<'a> {
    /// Its reserved row id.
    pub id: i64,
    /// The message as fetched.
    pub received: Received<'a>,
    /// The bytes to keep: `received.raw`, or a copy with its tokens erased.
    pub keep: &'a [u8],
    /// `received.raw`'s SHA-256 ([`sha256_hex`]) and `keep` packed
    /// ([`super::packed::pack`]), each when it was made ahead: intake makes
    /// them while preparing the message, on a spare core, so the writer,
    /// the serial step, does not (BENCHMARKS.md, "Intake round 2, seventh
    /// pass").
    pub sha256: Option<&'a str>,
    /// See `sha256`.
    pub packed: Option<&'a [u8]>,
    /// Its terminal state.
    pub state: MessageState,
    /// What intake decided.
    pub finish: &'a Finish,
}

impl<'a> Processed<'a> {
    /// Its row of `message_raw`.
    pub fn raw_row(&self) -> RawRow<'a> {
        RawRow {
            id: self.id,
            raw: self.keep,
            packed: self.packed,
        }
    }
}

/// Store fetched messages directly in their terminal states (rows and
/// bytes, multi-row statements): one write each instead of an insert as
/// `received` and an update. Adds to `plan`, per chunk of rows, the rows,
/// their bytes (`bytes`, in the order of `rows`) and their place in the
/// filing list.
pub(crate) fn plan_processed<'a>(
    plan: &mut Plan<'a>,
    backend: Backend,
    rows: &'a [Processed<'a>],
    bytes: &'a [RawRow<'a>],
    now: i64,
) {
    for (chunk, bytes) in rows.chunks(CHUNK).zip(bytes.chunks(CHUNK)) {
        plan.push(move || {
            let sql = format!(
                "INSERT INTO messages (id, source_key, received_at, arrived_at, size, sha256, state,
                                       reason, detail, message_id, from_addr, subject, proposal_id,
                                       duplicate_of, processed_at)
                 VALUES {}",
                placeholders(chunk.len(), 15)
            );
            let mut q = sqlx::query(generated_for(backend, sql));
            for p in chunk {
                let (m, f) = (&p.received, p.finish);
                q = q
                    .bind(p.id)
                    .bind(m.source_key)
                    .bind(m.received_at)
                    .bind(m.arrived_at.min(m.received_at))
                    .bind(m.raw.len() as i64);
                q = match p.sha256 {
                    Some(sha256) => q.bind(sha256),
                    None => q.bind(sha256_hex(m.raw)),
                };
                q = bind_outcome(q, p.state, f).bind(now);
            }
            Built::new(q, "storing processed messages")
        });
        plan_bytes(plan, backend, bytes);
    }
}

/// A chunk of fetched messages handed from the source to intake, which
/// stores them in the transaction that records their outcome (or, when that
/// fails, as `received`: [`store_chunk`]).
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The messages, in UID order.
    pub messages: Vec<NewMessage>,
    /// Where the mailbox cursor moves once they are stored.
    pub cursor: Option<Cursor>,
}

/// A position of the IMAP cursor ([`set_cursor`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Mailbox name.
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: u32,
    /// Highest UID covered.
    pub last_uid: u32,
}

/// Store a chunk as `received` with its cursor (the path for intake to take
/// later, from the database). Returns how many were new.
pub async fn store_chunk(conn: &mut AnyConnection, chunk: &Chunk) -> Result<u64> {
    let n = insert_received_many(conn, &chunk.messages).await?;
    if let Some(c) = &chunk.cursor {
        set_cursor(conn, &c.mailbox, c.uidvalidity, c.last_uid).await?;
    }
    Ok(n)
}

/// For each Message-ID, the earliest message already processed with it.
pub async fn processed_ids(
    conn: &mut AnyConnection,
    message_ids: &[String],
) -> Result<HashMap<String, i64>> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        // GROUP BY keeps PostgreSQL from reading MIN(id) as "the first row
        // of the primary key whose Message-ID matches", a walk through the
        // whole table for a Message-ID it has not seen (700 ms a batch).
        "SELECT wanted.value AS message_id,
                (SELECT MIN(m.id) FROM messages m
                 WHERE m.message_id = wanted.value AND m.state NOT IN ('{}', '{}')
                 GROUP BY m.message_id) AS first
         FROM {}",
        MessageState::Received,
        MessageState::Duplicate,
        super::each_wanted(conn, 1),
    );
    let q = sqlx::query(super::generated(conn, sql)).bind(super::json_list(message_ids));
    super::keyed_numbers(conn, q, ("message_id", "first"), "looking up Message-IDs").await
}

/// Bind a message's outcome: its terminal state and what intake decided,
/// in the column order both statements that write it use (`state, reason,
/// detail, message_id, from_addr, subject, proposal_id, duplicate_of`).
fn bind_outcome<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    state: MessageState,
    f: &Finish,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(state.as_str())
        .bind(f.reason.map(Reason::as_str))
        .bind(&f.detail)
        .bind(&f.message_id)
        .bind(&f.from_addr)
        .bind(&f.subject)
        .bind(f.proposal_id)
        .bind(f.duplicate_of)
}

/// Put many messages in their terminal states (only rows still `received`).
pub async fn finish_many(
    conn: &mut AnyConnection,
    rows: &[(i64, MessageState, Finish)],
    now: i64,
) -> Result<()> {
    let mut plan = Plan::default();
    plan_finish(&mut plan, backend_of(conn), rows, now);
    plan.run(conn).await
}

/// The statements of [`finish_many`], for a [`Plan`].
pub(crate) fn plan_finish<'a>(
    plan: &mut Plan<'a>,
    backend: Backend,
    rows: &'a [(i64, MessageState, Finish)],
    now: i64,
) {
    for chunk in rows.chunks(CHUNK) {
        plan.push(move || {
            let sql = format!(
                "WITH v (id, state, reason, detail, message_id, from_addr, subject, proposal_id, duplicate_of) AS (VALUES {})
                 UPDATE messages SET state = v.state, reason = v.reason, detail = v.detail,
                        message_id = v.message_id, from_addr = v.from_addr, subject = v.subject,
                        proposal_id = v.proposal_id, duplicate_of = v.duplicate_of, processed_at = ${}
                 FROM v WHERE messages.id = v.id AND messages.state = '{}'",
                placeholders(chunk.len(), 9),
                chunk.len() * 9 + 1,
                MessageState::Received
            );
            let mut q = sqlx::query(generated_for(backend, sql));
            for (id, state, f) in chunk {
                q = bind_outcome(q.bind(*id), *state, f);
            }
            Built::new(q.bind(now), "recording terminal states")
        });
    }
}

/// Add a note to the detail of messages already finished (after what is
/// there, `; `-separated): intake learns that a reply could not be composed
/// only after the message's row is written.
pub async fn add_notes(conn: &mut AnyConnection, notes: &[(i64, String)]) -> Result<()> {
    for (id, note) in notes {
        sqlx::query(
            "UPDATE messages SET detail = CASE WHEN detail IS NULL THEN $2 ELSE detail || $3 || $2 END
             WHERE id = $1",
        )
        .bind(*id)
        .bind(note)
        .bind(NOTE_SEPARATOR)
        .execute(&mut *conn)
        .await
        .ctx("noting why a reply was not sent")?;
    }
    Ok(())
}

/// Replace the stored bytes of messages (their tokens erased once intake has
/// used them: [`crate::token::redact_mail`]), one statement each in `plan`.
pub(crate) fn plan_replace_raw<'a>(plan: &mut Plan<'a>, rows: &'a [(i64, Vec<u8>)]) {
    for (id, raw) in rows {
        plan.push(move || {
            let q = sqlx::query("UPDATE message_raw SET raw = $2, compressed = 1 WHERE id = $1")
                .bind(*id)
                .bind(super::packed::pack(raw));
            Built::new(q, "erasing tokens from stored messages")
        });
    }
}

/// Record a message that is kept aside without its body (e.g. too large to download).
pub async fn insert_quarantined(
    conn: &mut AnyConnection,
    source_key: &str,
    received_at: i64,
    size: i64,
    reason: Reason,
    detail: &str,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO messages (source_key, received_at, size, sha256, state, reason, detail, processed_at)
         VALUES ($1, $2, $3, '', $4, $5, $6, $2)
         ON CONFLICT (source_key) DO NOTHING
         RETURNING id",
    )
    .bind(source_key)
    .bind(received_at)
    .bind(size)
    .bind(MessageState::Quarantined.as_str())
    .bind(reason.as_str())
    .bind(detail)
    .fetch_optional(&mut *conn)
    .await
    .ctx("recording a quarantined message")?;
    let id: Option<i64> = row
        .map(|r| r.try_get("id"))
        .transpose()
        .ctx("reading a quarantined message's id")?;
    if let Some(id) = id {
        queue_filing(conn, &[id]).await?;
    }
    Ok(id)
}

/// Messages stored but not yet processed with an id above `after`, oldest
/// first: at most `limit` of them and, unless the first alone is larger,
/// `max_bytes` of mail (a batch is held in memory while it is processed).
pub async fn pending(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
    max_bytes: i64,
) -> Result<Vec<PendingMessage>> {
    let sql = format!(
        "SELECT p.id, p.source_key, r.raw, r.compressed, p.reason, p.arrived
         FROM (SELECT id, source_key, reason, size,
                      COALESCE(arrived_at, received_at) AS arrived,
                      SUM(size) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS upto
               FROM messages WHERE state = '{}' AND id > $1
               ORDER BY id LIMIT $2) p
         LEFT JOIN message_raw r ON r.id = p.id
         WHERE p.upto <= $3 OR p.upto = p.size
         ORDER BY p.id",
        MessageState::Received
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .bind(max_bytes)
        .fetch_all(&mut *conn)
        .await
        .ctx("listing pending messages")?;
    decode_all(
        rows,
        |r| {
            Ok(PendingMessage {
                id: r.try_get("id")?,
                source_key: r.try_get("source_key")?,
                raw: super::packed::from_row_opt(r)?.unwrap_or_default(),
                arrived_at: r.try_get("arrived")?,
                released: spelled_opt(r, "reason")? == Some(Reason::ReleasedByChair),
            })
        },
        "reading pending messages",
    )
}

/// Release a message held in `needs_review`: it becomes `received` again and
/// intake processes it as usual, without the Authentication-Results hold.
/// Returns false when the message is not held.
pub async fn release_held(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE messages SET state = $3, reason = $2, processed_at = NULL
         WHERE id = $1 AND state = $4",
    )
    .bind(id)
    .bind(Reason::ReleasedByChair.as_str())
    .bind(MessageState::Received.as_str())
    .bind(MessageState::NeedsReview.as_str())
    .execute(&mut *conn)
    .await
    .ctx("releasing a held message")?;
    Ok(r.rows_affected() == 1)
}

/// A processed message the source has not filed away yet.
#[derive(Debug, Clone)]
pub struct Undisposed {
    /// Row id.
    pub id: i64,
    /// Source identity.
    pub source_key: String,
    /// Its terminal state (decides the destination folder).
    pub state: MessageState,
}

/// Processed messages still waiting to be filed at the source, oldest first.
pub async fn undisposed(
    conn: &mut AnyConnection,
    key_prefix: &str,
    limit: i64,
) -> Result<Vec<Undisposed>> {
    let sql = format!(
        "SELECT m.id, m.source_key, m.state
         FROM messages_unfiled u JOIN messages m ON m.id = u.id
         WHERE m.state <> '{}' AND m.source_key LIKE $1
         ORDER BY u.id LIMIT $2",
        MessageState::Received
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(format!("{key_prefix}%"))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .ctx("listing messages to file away")?;
    decode_all(
        rows,
        |r| {
            Ok(Undisposed {
                id: r.try_get("id")?,
                source_key: r.try_get("source_key")?,
                state: spelled(r, "state")?,
            })
        },
        "reading messages to file away",
    )
}

/// Mark messages as filed away at the source.
pub async fn mark_disposed(conn: &mut AnyConnection, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM messages_unfiled WHERE id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(super::generated(conn, sql));
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await.ctx("marking messages filed")?;
    }
    Ok(())
}

/// The IMAP cursor: UIDVALIDITY and the highest UID stored.
pub async fn cursor(conn: &mut AnyConnection, mailbox: &str) -> Result<Option<(u32, u32)>> {
    let row = sqlx::query("SELECT uidvalidity, last_uid FROM mailbox_cursor WHERE mailbox = $1")
        .bind(mailbox)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the mailbox cursor")?;
    row.map(|r| {
        Ok((
            r.try_get::<i64, _>("uidvalidity")? as u32,
            r.try_get::<i64, _>("last_uid")? as u32,
        ))
    })
    .transpose()
    .ctx("reading the mailbox cursor")
}

/// Move the IMAP cursor (in the transaction that stored the messages it covers).
pub async fn set_cursor(
    conn: &mut AnyConnection,
    mailbox: &str,
    uidvalidity: u32,
    last_uid: u32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mailbox_cursor (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
         ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
    )
    .bind(mailbox)
    .bind(uidvalidity as i64)
    .bind(last_uid as i64)
    .execute(&mut *conn)
    .await
    .ctx("moving the mailbox cursor")?;
    Ok(())
}

/// Message counts per state.
pub async fn count_by_state(conn: &mut AnyConnection) -> Result<Vec<(MessageState, i64)>> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM messages GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await
            .ctx("counting messages")?;
    decode_all(
        rows,
        |r| Ok((spelled(r, "state")?, r.try_get("n")?)),
        "counting messages",
    )
}

/// One row of the message log, for `cfpd messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageSummary {
    /// Row id.
    pub id: i64,
    /// Source identity.
    pub source_key: String,
    /// Terminal (or pending) state.
    pub state: MessageState,
    /// Reason code.
    pub reason: Option<Reason>,
    /// Sender as written.
    pub from_addr: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Proposal it touched.
    pub proposal_id: Option<i64>,
    /// Human-readable detail of the outcome (what was recorded, why it was refused).
    pub detail: Option<String>,
}

/// The stored bytes of message `id` (`None` for no such message; tokens
/// in mail that came through a token address are already erased).
pub async fn raw(conn: &mut AnyConnection, id: i64) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT raw, compressed FROM message_raw WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a stored message")?;
    row.map(|r| super::packed::from_row(&r))
        .transpose()
        .ctx("reading a stored message")
}

/// All messages, oldest first.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<MessageSummary>> {
    let rows = sqlx::query(
        "SELECT id, source_key, state, reason, from_addr, subject, proposal_id, detail FROM messages ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing messages")?;
    decode_all(
        rows,
        |r| {
            Ok(MessageSummary {
                id: r.try_get("id")?,
                source_key: r.try_get("source_key")?,
                state: spelled(r, "state")?,
                reason: spelled_opt(r, "reason")?,
                from_addr: r.try_get("from_addr")?,
                subject: r.try_get("subject")?,
                proposal_id: r.try_get("proposal_id")?,
                detail: r.try_get("detail")?,
            })
        },
        "reading the message log",
    )
}

/// Messages held for a chair (`needs_review`), oldest first: the digest
/// names each until a chair releases it.
pub async fn held_for_review(conn: &mut AnyConnection) -> Result<Vec<MessageSummary>> {
    let rows = sqlx::query(
        "SELECT id, source_key, state, reason, from_addr, subject, proposal_id, detail
         FROM messages WHERE state = $1 ORDER BY id",
    )
    .bind(MessageState::NeedsReview.as_str())
    .fetch_all(&mut *conn)
    .await
    .ctx("listing held messages")?;
    decode_all(
        rows,
        |r| {
            Ok(MessageSummary {
                id: r.try_get("id")?,
                source_key: r.try_get("source_key")?,
                state: spelled(r, "state")?,
                reason: spelled_opt(r, "reason")?,
                from_addr: r.try_get("from_addr")?,
                subject: r.try_get("subject")?,
                proposal_id: r.try_get("proposal_id")?,
                detail: r.try_get("detail")?,
            })
        },
        "reading held messages",
    )
}

/// Messages quarantined as too large (never downloaded) whose chairs'
/// notice is not queued yet: `(id, size, source_key)`, oldest first.
pub async fn too_large_without_notice(conn: &mut AnyConnection) -> Result<Vec<(i64, i64, String)>> {
    let sql = format!(
        "SELECT m.id, m.size, m.source_key FROM messages m
         WHERE m.state = '{}' AND m.reason = '{}'
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedup_key LIKE 'too_large:msg:' || m.id || ':%')
         ORDER BY m.id",
        MessageState::Quarantined,
        Reason::TooLarge
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .ctx("listing oversized messages to report")?;
    decode_all(
        rows,
        |r| {
            Ok((
                r.try_get("id")?,
                r.try_get("size")?,
                r.try_get("source_key")?,
            ))
        },
        "reading oversized messages",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_added_before_and_after_a_message_is_written_read_alike() {
        let (_dir, store) = crate::store::check_tests::new_sqlite().await;
        let mut c = store.conn().await.unwrap();
        let msg = NewMessage {
            source_key: "k".into(),
            received_at: 0,
            arrived_at: 0,
            raw: b"x".to_vec(),
        };
        insert_received_many(&mut c, std::slice::from_ref(&msg))
            .await
            .unwrap();
        let id = list(&mut c).await.unwrap()[0].id;
        let mut f = Finish::default();
        f.add_note("first".into());
        f.add_note("second".into());
        finish_many(&mut c, &[(id, MessageState::Accepted, f.clone())], 0)
            .await
            .unwrap();
        add_notes(&mut c, &[(id, "third".into())]).await.unwrap();
        f.add_note("third".into());
        assert_eq!(f.detail.as_deref(), Some("first; second; third"));
        assert_eq!(list(&mut c).await.unwrap()[0].detail, f.detail);
    }

    #[tokio::test]
    async fn a_pending_batch_ends_at_the_byte_bound_but_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::Store::connect(&format!("sqlite://{}/m.db", dir.path().display()))
                .await
                .unwrap();
        let mut c = store.conn().await.unwrap();
        let msgs: Vec<NewMessage> = [300usize, 300, 300, 5_000, 10]
            .iter()
            .enumerate()
            .map(|(i, n)| NewMessage {
                source_key: format!("k{i}"),
                received_at: 0,
                arrived_at: 0,
                raw: vec![b'x'; *n],
            })
            .collect();
        assert_eq!(insert_received_many(&mut c, &msgs).await.unwrap(), 5);
        let sizes = |v: Vec<PendingMessage>| v.iter().map(|m| m.raw.len()).collect::<Vec<_>>();
        // 1,000 bytes: the first three (900), not the fourth.
        let first = pending(&mut c, 0, 100, 1_000).await.unwrap();
        assert_eq!(sizes(first.clone()), vec![300, 300, 300]);
        // The large one comes alone, then the rest.
        let after = first.last().unwrap().id;
        let big = pending(&mut c, after, 100, 1_000).await.unwrap();
        assert_eq!(sizes(big.clone()), vec![5_000]);
        let rest = pending(&mut c, big[0].id, 100, 1_000).await.unwrap();
        assert_eq!(sizes(rest), vec![10]);
        // The count bound still holds.
        assert_eq!(
            sizes(pending(&mut c, 0, 2, 1 << 20).await.unwrap()),
            vec![300, 300]
        );
    }
}
