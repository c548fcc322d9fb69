//! Queued outgoing mail.
//!
//! A mail is queued (fully rendered, bytes and all) in the same transaction
//! as the state change that causes it, under a `dedup_key` that is unique:
//! queuing the same logical mail twice is a no-op. The sender moves a row
//! `queued → sending → sent`; `sending` is committed (for a group of mails,
//! [`claim_due`]) before the bodies are handed to the SMTP server, so a crash
//! leaves at most that group in `sending`, which is then marked `uncertain`
//! and never resent automatically (sending it again could deliver it twice).
//!
//! Queued mail is found through `outbox_due`, a list of queued ids kept by
//! triggers (migration 0022; on PostgreSQL, inserts add their queued rows
//! once per statement, 0024), not through an index on `state`: no outbox
//! index names `state`, so on PostgreSQL a state change is a short in-page
//! (HOT) update instead of a new version of the row in every index.

use std::collections::HashMap;

use sqlx::Row;

use super::{
    decode_all, in_list, placeholders, spelled, spelled_opt, AnyConnection, Ctx, Result, CHUNK,
};
use crate::model::{mailbox_key, HoldReason, MailKind, OutboxState};

/// A mail ready to queue.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// Unique name of this logical mail, e.g. `reply:msg:42`: a second queue is a no-op.
    pub dedup_key: String,
    /// What kind of mail it is (ack, draft, help, …), for reports and rate limits.
    pub kind: MailKind,
    /// SMTP envelope sender (MAIL FROM).
    pub envelope_from: String,
    /// The single recipient.
    pub recipient: String,
    /// Its Message-ID (without angle brackets).
    pub message_id: String,
    /// Subject, for listings.
    pub subject: String,
    /// The complete RFC 5322 message, as stored: a reply token's place in
    /// `Reply-To:` holds `+redacted@` (see [`NewMail::reply_secret`]).
    pub raw: Vec<u8>,
    /// `raw` compressed as it is stored ([`super::packed::pack`]), when done
    /// ahead by [`NewMail::pack`]; else it is done while queuing. Intake
    /// packs on the thread that composes its replies, so the database
    /// writer, the one serial step, does not.
    pub packed: Option<Vec<u8>>,
    /// The reply token `raw` leaves out, put back by the sender
    /// ([`crate::token::with_reply_token`]) and erased once the mail is
    /// final. Kept apart so the bytes are written once, already redacted.
    pub reply_secret: Option<String>,
    /// The inbound message that caused it, if any.
    pub cause_message: Option<i64>,
    /// SHA-256 of the VERP token in `envelope_from` (`cfp+b-<token>@…`): a
    /// bounce addressed there maps back to exactly this row.
    pub bounce_hash: Option<String>,
    /// The conversation an automatic reply belongs to (the root of its
    /// References chain), for the per-thread reply cap.
    pub thread_key: Option<String>,
}

impl NewMail {
    /// Compress [`NewMail::raw`] now, for storage; `raw` must not change after.
    pub fn pack(&mut self) {
        self.packed = Some(super::packed::pack(&self.raw));
    }
}

/// Queue a mail. Returns false when a mail with the same dedup key exists.
pub async fn queue(conn: &mut AnyConnection, m: &NewMail, now: i64) -> Result<bool> {
    Ok(queue_many(conn, std::slice::from_ref(m), now).await? == 1)
}

/// Queue many mails in multi-row statements (duplicates by dedup key are
/// skipped). Returns how many were queued.
pub async fn queue_many(conn: &mut AnyConnection, mails: &[NewMail], now: i64) -> Result<u64> {
    insert(conn, mails, None, now).await
}

/// Queue many mails held back for `why`: the sender skips them until
/// [`release`] clears the hold; until then they count towards no cap.
pub async fn hold_many(
    conn: &mut AnyConnection,
    mails: &[NewMail],
    why: HoldReason,
    now: i64,
) -> Result<u64> {
    insert(conn, mails, Some(why), now).await
}

async fn insert(
    conn: &mut AnyConnection,
    mails: &[NewMail],
    hold: Option<HoldReason>,
    now: i64,
) -> Result<u64> {
    let backend = super::backend_of(conn);
    let build = |chunk: &[NewMail]| {
        let sql = format!(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id, subject,
                                 state, attempts, next_attempt_at, cause_message,
                                 bounce_hash, thread_key, mailbox, hold, reply_secret)
             VALUES {} ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key",
            placeholders(chunk.len(), 16)
        );
        let mut q = sqlx::query(super::generated_for(backend, sql));
        for m in chunk {
            q = q
                .bind(&m.dedup_key)
                .bind(m.kind.as_str())
                .bind(now)
                .bind(&m.envelope_from)
                .bind(&m.recipient)
                .bind(&m.message_id)
                .bind(&m.subject)
                .bind(OutboxState::Queued.as_str())
                .bind(0i64)
                .bind(now)
                .bind(m.cause_message)
                .bind(&m.bounce_hash)
                .bind(&m.thread_key)
                .bind(mailbox_key(&m.recipient))
                .bind(hold.map(|h| h.as_str()))
                .bind(&m.reply_secret);
        }
        q
    };
    let mut queued = 0;
    let mut chunks = mails.chunks(CHUNK);
    let mut next = chunks.next().map(|c| (c, build(c)));
    while let Some((chunk, q)) = next.take() {
        // The next chunk's rows are bound while the database inserts these
        // (as in `store::Plan`; its bytes need these ids first).
        let (rows, built) = futures::join!(q.fetch_all(&mut *conn), async {
            chunks.next().map(|c| (c, build(c)))
        });
        next = built;
        let rows = rows.ctx("queuing mail")?;
        let mut ids: HashMap<String, i64> = decode_all(
            rows,
            |r| Ok((r.try_get("dedup_key")?, r.try_get("id")?)),
            "queuing mail",
        )?
        .into_iter()
        .collect();
        queued += ids.len() as u64;
        // The bytes of the rows just inserted (the first mail of a dedup key
        // wins, as in the statement above), in their own table.
        let raws: Vec<(i64, std::borrow::Cow<'_, [u8]>)> = chunk
            .iter()
            .filter_map(|m| {
                let id = ids.remove(&m.dedup_key)?;
                let packed = match &m.packed {
                    Some(p) => p.into(),
                    None => super::packed::pack(&m.raw).into(),
                };
                Some((id, packed))
            })
            .collect();
        if raws.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO outbox_raw (id, raw, compressed) VALUES {}",
            placeholders(raws.len(), 3)
        );
        let mut q = sqlx::query(super::generated_for(backend, sql));
        for (id, raw) in &raws {
            q = q.bind(*id).bind(&raw[..]).bind(1i64);
        }
        q.execute(&mut *conn).await.ctx("queuing mail")?;
    }
    Ok(queued)
}

/// Automatic replies per mailbox ([`mailbox_key`]) since `since` (ms), for the given
/// mailboxes (keys, as `mailbox_key` spells them).
///
/// Only mail caused by an inbound message counts (`cause_message` set): assignment mails,
/// reminders and digests are not replies and must not use up a reviewer's reply budget.
/// Held mail counts once it is released (its `created_at` is then the release).
pub async fn reply_counts(
    conn: &mut AnyConnection,
    mailboxes: &[String],
    since: i64,
) -> Result<HashMap<String, i64>> {
    replies_per(
        conn,
        "mailbox",
        "hold IS NULL",
        mailboxes,
        since,
        "counting replies",
    )
    .await
}

/// Replies (mail caused by an inbound message) since `since` (ms) and
/// matching `condition`, counted per value of `column` among `keys`.
async fn replies_per(
    conn: &mut AnyConnection,
    column: &'static str,
    condition: &'static str,
    keys: &[String],
    since: i64,
    context: &'static str,
) -> Result<HashMap<String, i64>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        // NULLIF: a key with no replies is left out, as a GROUP BY would.
        "SELECT wanted.value AS k,
                NULLIF((SELECT COUNT(*) FROM outbox o
                        WHERE o.{column} = wanted.value AND o.created_at >= $1
                          AND o.cause_message IS NOT NULL AND o.{condition}), 0) AS n
         FROM {}",
        super::each_wanted(conn, 2)
    );
    let q = sqlx::query(super::generated(conn, sql))
        .bind(since)
        .bind(super::json_list(keys));
    super::keyed_numbers(conn, q, ("k", "n"), context).await
}

/// Replies (mails caused by an inbound message) of one kind queued for one
/// recipient's mailbox ([`mailbox_key`]) since `since` (ms): per-kind rate limits
/// (e.g. at most so many review-form help replies per reviewer and day).
pub async fn kind_count(
    conn: &mut AnyConnection,
    recipient: &str,
    kind: MailKind,
    since: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM outbox
         WHERE mailbox = $1 AND created_at >= $3 AND cause_message IS NOT NULL
           AND hold IS NULL AND kind = $2",
    )
    .bind(mailbox_key(recipient))
    .bind(kind.as_str())
    .bind(since)
    .fetch_one(&mut *conn)
    .await
    .ctx("counting mails of a kind")?;
    row.try_get("n").ctx("counting mails of a kind")
}

/// A mail claimed for sending.
#[derive(Debug, Clone)]
pub struct DueMail {
    /// Row id.
    pub id: i64,
    /// MAIL FROM.
    pub envelope_from: String,
    /// RCPT TO.
    pub recipient: String,
    /// Message-ID, for logs.
    pub message_id: String,
    /// The stored bytes (see [`NewMail::raw`]).
    pub raw: Vec<u8>,
    /// The reply token to put back before sending (see [`NewMail::reply_secret`]).
    pub reply_secret: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
}

/// Claim up to `limit` queued mails due at `now`, oldest first: they become
/// `sending` in this statement, so a crash before [`settle`] leaves them
/// `uncertain` (see [`recover_in_flight`]), never sent twice. The sender
/// claims a group at a time and settles it with the next claim, in one
/// transaction: per-mail commits were most of what sending wrote to disk
/// (issue 18, BENCHMARKS.md), at the cost of a crash leaving up to a group
/// uncertain instead of one mail per connection.
///
/// The list of queued ids is walked in order and each mail looked up by its
/// id, in a subquery no planner turns into a join: a group then costs the
/// same whatever the queue holds. As a join, PostgreSQL planned it from the
/// table's statistics, which right after a backlog was queued still said
/// that almost nothing was `queued`; it scanned the whole outbox for every
/// group, 14–24 ms a claim at 10,000 queued mails (a fifth of the time to
/// send the group), against 0.1 ms now (BENCHMARKS.md, issue 18).
pub async fn claim_due(conn: &mut AnyConnection, now: i64, limit: i64) -> Result<Vec<DueMail>> {
    let sql = format!(
        "UPDATE outbox SET state = '{sending}'
         WHERE state = '{queued}' AND id IN (
             SELECT d.id FROM outbox_due d
             WHERE (SELECT o.state = '{queued}' AND o.next_attempt_at <= $1 AND o.hold IS NULL
                           AND o.recipient NOT IN (SELECT address FROM undeliverable)
                    FROM outbox o WHERE o.id = d.id)
             ORDER BY d.id LIMIT $2)
         RETURNING id",
        sending = OutboxState::Sending,
        queued = OutboxState::Queued
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .ctx("claiming due mail")?;
    let ids: Vec<i64> = decode_all(rows, |r| r.try_get("id"), "claiming due mail")?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT o.id, o.envelope_from, o.recipient, o.message_id, o.reply_secret, o.attempts,
                r.raw, r.compressed
         FROM outbox o JOIN outbox_raw r ON r.id = o.id
         WHERE o.id IN ({}) ORDER BY o.id",
        in_list(1, ids.len())
    );
    let mut q = sqlx::query(super::generated(conn, sql));
    for id in &ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *conn).await.ctx("reading claimed mail")?;
    decode_all(
        rows,
        |r| {
            Ok(DueMail {
                id: r.try_get("id")?,
                envelope_from: r.try_get("envelope_from")?,
                recipient: r.try_get("recipient")?,
                message_id: r.try_get("message_id")?,
                raw: super::packed::from_row(r)?,
                reply_secret: r.try_get("reply_secret")?,
                attempts: r.try_get("attempts")?,
            })
        },
        "reading claimed mail",
    )
}

/// How a claimed mail ended, for [`settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The server accepted it (250 after the body). `redacted`: its stored
    /// bytes with tokens erased, when they differ from what is stored.
    Sent {
        /// The new stored bytes, if any.
        redacted: Option<Vec<u8>>,
    },
    /// The server surely did not take it (4xx before or after the body):
    /// queued again, due at `next` (ms).
    Retry {
        /// The server's answer.
        error: String,
        /// When to try again (ms).
        next: i64,
    },
    /// Refused for good (5xx): failed, its secrets erased as for a sent mail.
    Failed {
        /// The server's answer.
        error: String,
        /// The new stored bytes, if any.
        redacted: Option<Vec<u8>>,
    },
    /// The connection broke after the body went out: the server may have it.
    Uncertain {
        /// What happened.
        error: String,
    },
    /// Claimed but never offered (its connection failed first): queued
    /// again as it was, not counted as an attempt.
    NotTried,
}

/// Record how claimed mails ended (see [`Settled`]). Sent mails are settled
/// with one statement; the secrets a final mail no longer needs (its reply
/// token, its VERP return path, tokens in its bytes) are erased with it.
pub async fn settle(conn: &mut AnyConnection, outcomes: &[(i64, Settled)], now: i64) -> Result<()> {
    let sent: Vec<i64> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Settled::Sent { .. }))
        .map(|(id, _)| *id)
        .collect();
    for ids in sent.chunks(CHUNK) {
        let sql = format!(
            "UPDATE outbox SET state = '{}', sent_at = $1, last_error = NULL, attempts = attempts + 1,
                    reply_secret = NULL,
                    envelope_from = CASE WHEN bounce_hash IS NULL THEN envelope_from ELSE '' END
             WHERE id IN ({})",
            OutboxState::Sent,
            in_list(2, ids.len())
        );
        let mut q = sqlx::query(super::generated(conn, sql)).bind(now);
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await.ctx("marking mail sent")?;
    }
    for (id, outcome) in outcomes {
        match outcome {
            Settled::Sent { redacted } => {
                if let Some(raw) = redacted {
                    replace_raw(conn, *id, raw).await?;
                }
            }
            Settled::Retry { error, next } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET state = '{}', last_error = $2, next_attempt_at = $3,
                            attempts = attempts + 1
                     WHERE id = $1",
                    OutboxState::Queued
                )))
                .bind(id)
                .bind(error)
                .bind(next)
                .execute(&mut *conn)
                .await
                .ctx("rescheduling a mail")?;
            }
            Settled::Failed { error, redacted } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET state = '{}', last_error = $2, attempts = attempts + 1,
                            reply_secret = NULL,
                            envelope_from = CASE WHEN bounce_hash IS NULL THEN envelope_from ELSE '' END
                     WHERE id = $1",
                    OutboxState::Failed
                )))
                .bind(id)
                .bind(error)
                .execute(&mut *conn)
                .await
                .ctx("marking a mail failed")?;
                if let Some(raw) = redacted {
                    replace_raw(conn, *id, raw).await?;
                }
            }
            Settled::Uncertain { error } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET state = '{}', last_error = $2, attempts = attempts + 1
                     WHERE id = $1",
                    OutboxState::Uncertain
                )))
                .bind(id)
                .bind(error)
                .execute(&mut *conn)
                .await
                .ctx("marking a mail uncertain")?;
            }
            Settled::NotTried => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET state = '{}' WHERE id = $1 AND state = '{}'",
                    OutboxState::Queued,
                    OutboxState::Sending
                )))
                .bind(id)
                .execute(&mut *conn)
                .await
                .ctx("returning a mail to the queue")?;
            }
        }
    }
    Ok(())
}

/// `raw` with its tokens erased ([`crate::token::redact_mail`]), when that
/// changes it: what to store once the mail is final. Mail queued since
/// migration 0021 keeps its reply token apart and mostly needs nothing.
pub fn redaction(raw: &[u8]) -> Option<Vec<u8>> {
    let clean = crate::token::redact_mail(raw);
    (clean != raw).then_some(clean)
}

/// Store new bytes for a mail (its redacted copy).
async fn replace_raw(conn: &mut AnyConnection, id: i64, raw: &[u8]) -> Result<()> {
    sqlx::query("UPDATE outbox_raw SET raw = $2, compressed = 1 WHERE id = $1")
        .bind(id)
        .bind(super::packed::pack(raw))
        .execute(&mut *conn)
        .await
        .ctx("storing a mail's redacted copy")?;
    Ok(())
}

/// Erase what a mail that will not be sent (again) keeps secret: its reply
/// token, its VERP return path (only its hash is kept, which is all a bounce
/// needs) and tokens in its bytes. Its state was changed by the caller, in
/// the same transaction. (The sender settles sent and failed mail itself,
/// with redactions it worked out before sending: see [`settle`].)
pub(crate) async fn erase_secrets(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET reply_secret = NULL,
                envelope_from = CASE WHEN bounce_hash IS NULL THEN envelope_from ELSE '' END
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await
    .ctx("erasing a mail's reply token")?;
    if let Some(raw) = raw_of(conn, id).await? {
        if let Some(clean) = redaction(&raw) {
            replace_raw(conn, id, &clean).await?;
        }
    }
    Ok(())
}

/// After a crash: mails left in `sending` may or may not have been delivered.
/// They become `uncertain` (shown to the chair, resendable by hand) instead of
/// being sent again. Returns how many.
pub async fn recover_in_flight(conn: &mut AnyConnection) -> Result<u64> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET state = '{}',
                last_error = 'cfpd stopped while the server was receiving this mail; not resent automatically'
         WHERE state = '{}'",
        OutboxState::Uncertain,
        OutboxState::Sending
    )))
    .execute(&mut *conn)
    .await
    .ctx("recovering in-flight mail")?;
    Ok(r.rows_affected())
}

/// Put a mail back in the queue by hand (`cfpd outbox retry`).
pub async fn requeue(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET state = '{}', next_attempt_at = $2
         WHERE id = $1 AND state IN ('{}', '{}')",
        OutboxState::Queued,
        OutboxState::Uncertain,
        OutboxState::Failed
    )))
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("requeuing a mail")?;
    Ok(r.rows_affected() == 1)
}

/// Send an uncertain mail again by hand (`cfpd outbox --resend`): it did
/// not arrive. Only an `uncertain` row moves; returns false otherwise.
pub async fn resend_uncertain(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET state = '{}', next_attempt_at = $2,
                last_error = 'queued again by hand after being uncertain'
         WHERE id = $1 AND state = '{}'",
        OutboxState::Queued,
        OutboxState::Uncertain
    )))
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("requeuing an uncertain mail")?;
    Ok(r.rows_affected() == 1)
}

/// Mail per state.
pub async fn stats(conn: &mut AnyConnection) -> Result<Vec<(OutboxState, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state")
        .fetch_all(&mut *conn)
        .await
        .ctx("counting outbox mail")?;
    decode_all(
        rows,
        |r| Ok((spelled(r, "state")?, r.try_get("n")?)),
        "counting outbox mail",
    )
}

/// When the queued mail that has waited longest was queued (ms), `None`
/// when nothing is queued. Held mail (an acknowledgment over its
/// recipient's cap) is not waiting for the sender and does not count; a
/// released one waits from its release, its `created_at` (which is why
/// this is not the `created_at` of the lowest queued id).
pub async fn oldest_queued_at(conn: &mut AnyConnection) -> Result<Option<i64>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT MIN(o.created_at) AS oldest FROM outbox_due d CROSS JOIN outbox o
         WHERE o.id = d.id AND o.state = '{}' AND o.hold IS NULL",
        OutboxState::Queued
    )))
    .fetch_one(&mut *conn)
    .await
    .ctx("finding the oldest queued mail")?
    .try_get::<Option<i64>, _>("oldest")
    .ctx("finding the oldest queued mail")
}

/// One outbox row for listings.
#[derive(Debug, Clone)]
pub struct OutboxSummary {
    /// Row id.
    pub id: i64,
    /// Kind of mail.
    pub kind: MailKind,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// State.
    pub state: OutboxState,
    /// Attempts so far.
    pub attempts: i64,
    /// Last error, if any.
    pub last_error: Option<String>,
    /// Why it is held back (queued, not sent until released), if it is.
    pub hold: Option<HoldReason>,
}

/// All outbox rows, oldest first.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<OutboxSummary>> {
    let rows = sqlx::query(
        "SELECT id, kind, recipient, subject, state, attempts, last_error, hold
         FROM outbox ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("listing the outbox")?;
    decode_all(
        rows,
        |r| {
            Ok(OutboxSummary {
                id: r.try_get("id")?,
                kind: spelled(r, "kind")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                state: spelled(r, "state")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                hold: spelled_opt(r, "hold")?,
            })
        },
        "reading the outbox",
    )
}

/// A mail that may or may not have arrived (`uncertain`), as the chair sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncertainMail {
    /// Row id (what `cfpd outbox --resend` / `--mark-sent` take).
    pub id: i64,
    /// Its Message-ID (without brackets): search the Sent copy or ask the recipient for it.
    pub message_id: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Why it is uncertain.
    pub last_error: Option<String>,
}

/// Mails in `uncertain`, oldest first, at most `limit` (read from the state index).
pub async fn uncertain(conn: &mut AnyConnection, limit: i64) -> Result<Vec<UncertainMail>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, message_id, recipient, subject, last_error FROM outbox
         WHERE state = '{}' ORDER BY id LIMIT $1",
        OutboxState::Uncertain
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .ctx("listing uncertain mail")?;
    decode_all(
        rows,
        |r| {
            Ok(UncertainMail {
                id: r.try_get("id")?,
                message_id: r.try_get("message_id")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                last_error: r.try_get("last_error")?,
            })
        },
        "reading uncertain mail",
    )
}

/// The chair found an uncertain mail in the recipient's hands (`cfpd outbox
/// --mark-sent`): it becomes `sent` and is never sent again. Returns false
/// when the mail is not uncertain.
pub async fn resolve_as_sent(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET state = '{}', sent_at = $2,
                last_error = 'marked sent by hand after being uncertain'
         WHERE id = $1 AND state = '{}'",
        OutboxState::Sent,
        OutboxState::Uncertain
    )))
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("marking an uncertain mail sent")?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    erase_secrets(conn, id).await?;
    Ok(true)
}

/// The stored bytes of one mail.
pub(crate) async fn raw_of(conn: &mut AnyConnection, id: i64) -> Result<Option<Vec<u8>>> {
    sqlx::query("SELECT raw, compressed FROM outbox_raw WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a stored mail")?
        .map(|r| super::packed::from_row(&r))
        .transpose()
        .ctx("reading a stored mail")
}

/// Queued mail to an address in `undeliverable` becomes `suppressed` (never
/// sent; the reason is kept in `last_error`; its tokens are erased as for a
/// sent mail). Returns how many rows changed.
///
/// While no address has bounced, nothing else is read: with a backlog
/// queued, the search below reads the whole queue (about 14 ms at 10,000
/// queued mails on PostgreSQL), and it runs before every drain.
pub async fn suppress_undeliverable(conn: &mut AnyConnection) -> Result<u64> {
    let bounced = sqlx::query("SELECT address FROM undeliverable LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .ctx("finding undeliverable addresses")?;
    if bounced.is_none() {
        return Ok(0);
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT o.id FROM outbox_due d CROSS JOIN outbox o
         WHERE o.id = d.id AND o.state = '{}' AND o.recipient IN (SELECT address FROM undeliverable)",
        OutboxState::Queued
    )))
    .fetch_all(&mut *conn)
    .await
    .ctx("finding mail to undeliverable addresses")?;
    let ids = decode_all(
        rows,
        |r| r.try_get::<i64, _>("id"),
        "reading mail to undeliverable addresses",
    )?;
    let mut n = 0;
    for id in ids {
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET state = '{}', hold = NULL,
                    last_error = 'not sent: the address is undeliverable (it bounced)'
             WHERE id = $1 AND state = '{}'",
            OutboxState::Suppressed,
            OutboxState::Queued
        )))
        .bind(id)
        .execute(&mut *conn)
        .await
        .ctx("suppressing mail to undeliverable addresses")?
        .rows_affected();
        if changed == 1 {
            erase_secrets(conn, id).await?;
        }
        n += changed;
    }
    Ok(n)
}

/// Erase the tokens of mails that reached a final state before cfpd did so
/// (listed in `outbox_redact_pending` by migration 0012), a bounded batch at
/// a time; called at every start, it costs one empty read once done.
/// Returns how many listed mails it went through.
pub async fn redact_backlog(conn: &mut AnyConnection) -> Result<u64> {
    let mut total = 0;
    loop {
        let rows = sqlx::query("SELECT id FROM outbox_redact_pending ORDER BY id LIMIT 200")
            .fetch_all(&mut *conn)
            .await
            .ctx("reading mails to redact")?;
        let ids = decode_all(
            rows,
            |r| r.try_get::<i64, _>("id"),
            "reading mails to redact",
        )?;
        if ids.is_empty() {
            return Ok(total);
        }
        for id in ids {
            erase_secrets(conn, id).await?;
            sqlx::query("DELETE FROM outbox_redact_pending WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .ctx("redacting a stored mail")?;
            total += 1;
        }
    }
}

/// The outbox row a bounce is about: by the hash of its VERP token.
pub async fn by_bounce_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, recipient FROM outbox WHERE bounce_hash = $1")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
        .ctx("finding a bounced mail by its return path")?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("recipient")?)))
        .transpose()
        .ctx("reading a bounced mail")
}

/// The outbox row a bounce is about: by the Message-ID of the returned mail
/// (our Message-IDs carry 120 random bits, so only a recipient knows one).
pub async fn by_message_id(
    conn: &mut AnyConnection,
    message_id: &str,
) -> Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, recipient FROM outbox WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("finding a bounced mail by its Message-ID")?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("recipient")?)))
        .transpose()
        .ctx("reading a bounced mail")
}

/// Automatic replies (mail caused by an inbound message) per thread key since `since` (ms).
pub async fn thread_counts(
    conn: &mut AnyConnection,
    threads: &[String],
    since: i64,
) -> Result<HashMap<String, i64>> {
    let context = "counting replies per thread";
    replies_per(
        conn,
        "thread_key",
        "thread_key IS NOT NULL",
        threads,
        since,
        context,
    )
    .await
}

/// Automatic replies to conversation mail (caused by an inbound message that answered an
/// earlier one: `thread_key` set) queued since `since` (ms): the circuit breaker's measure.
pub async fn conversation_replies_since(conn: &mut AnyConnection, since: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM outbox
         WHERE created_at >= $1 AND cause_message IS NOT NULL AND thread_key IS NOT NULL",
    )
    .bind(since)
    .fetch_one(&mut *conn)
    .await
    .ctx("counting recent replies")?;
    row.try_get("n").ctx("counting recent replies")
}

/// Mail held over its recipient's reply budget (id and mailbox), oldest
/// first: what [`release`] may let go. A chair's hold is not among them:
/// only a chair releases it (`store::fixes`).
pub async fn held(conn: &mut AnyConnection) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, mailbox FROM outbox WHERE hold = $1 ORDER BY id")
        .bind(HoldReason::AddressCap.as_str())
        .fetch_all(&mut *conn)
        .await
        .ctx("listing held mail")?;
    decode_all(
        rows,
        |r| Ok((r.try_get("id")?, r.try_get("mailbox")?)),
        "reading held mail",
    )
}

/// Release mail held over its recipient's reply budget: it is queued from
/// `now` (its `created_at`, so it counts towards its recipient's window from
/// now on) and sent like any other, once. A chair's hold stays. Returns how
/// many rows were released.
pub async fn release(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<u64> {
    let mut released = 0;
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "UPDATE outbox SET hold = NULL, created_at = $1, next_attempt_at = $1
             WHERE hold = $2 AND id IN ({})",
            in_list(3, chunk.len())
        );
        let mut q = sqlx::query(super::generated(conn, sql))
            .bind(now)
            .bind(HoldReason::AddressCap.as_str());
        for id in chunk {
            q = q.bind(id);
        }
        released += q
            .execute(&mut *conn)
            .await
            .ctx("releasing held mail")?
            .rows_affected();
    }
    Ok(released)
}
