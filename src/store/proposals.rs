//! Speakers, proposals with all their versions, and reply tokens.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::packed::record;
use super::{
    backend_of, decode_all, generated_for, json_col, placeholders, spelled, AnyConnection, Backend,
    Built, Ctx, Plan, Result, CHUNK,
};
use crate::model::ProposalStatus;
pub use crate::model::{ProposalRow, TokenKind, VersionStamp};
use crate::proposal::{Fields, FiledTopic, TagOverrides};

/// A version to store.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// Proposal it belongs to.
    pub proposal_id: i64,
    /// 1, 2, …
    pub version: i64,
    /// The inbound message it came from (none for chair edits).
    pub message_row: Option<i64>,
    /// The record as understood.
    pub fields: &'a Fields,
    /// What is missing or wrong (empty when complete).
    pub problems: &'a [String],
    /// Topics it is filed under, with evidence.
    pub topics: &'a [FiledTopic],
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The columns of a version as written now: fields and topics packed into
/// `record`, `''` in their old JSON columns (migration 0023).
const VERSION_INSERT: &str = "INSERT INTO proposal_versions
    (proposal_id, version, message_id, created_at, fields, problems, topics, record)";

/// Store a version and make it current.
pub async fn insert_version(
    conn: &mut AnyConnection,
    v: &NewVersion<'_>,
    status: ProposalStatus,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO proposal_versions
             (proposal_id, version, message_id, created_at, fields, problems, topics, record)
         VALUES ($1, $2, $3, $4, '', $5, '', $6)",
    )
    .bind(v.proposal_id)
    .bind(v.version)
    .bind(v.message_row)
    .bind(now)
    .bind(json(&v.problems))
    .bind(record::pack(v.fields, v.topics))
    .execute(&mut *conn)
    .await
    .ctx("storing a proposal version")?;
    sqlx::query(
        "UPDATE proposals SET current_version = $2, status = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(v.proposal_id)
    .bind(v.version)
    .bind(status.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("updating a proposal")?;
    Ok(())
}

/// Change a proposal's status without a new version (withdraw, accept-late).
pub async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: ProposalStatus,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE proposals SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await
        .ctx("changing a proposal's status")?;
    Ok(())
}

/// Withdraw a proposal, keeping the status it had (`withdrawn_from`) so a
/// chair can restore it (`cfpd proposals restore`).
pub async fn withdraw(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE proposals SET withdrawn_from = status, status = $2, updated_at = $3
         WHERE id = $1 AND status <> $2",
    )
    .bind(id)
    .bind(ProposalStatus::Withdrawn.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await
    .ctx("withdrawing a proposal")?;
    Ok(())
}

/// Replace the topics of the current version (after a chair's override).
pub async fn set_current_topics(
    conn: &mut AnyConnection,
    id: i64,
    topics: &[FiledTopic],
    overrides: &TagOverrides,
) -> Result<()> {
    // A version written before records were packed keeps its JSON columns;
    // a packed one is read, changed and packed again.
    let row = sqlx::query(
        "SELECT record FROM proposal_versions
         WHERE proposal_id = $1 AND version = (SELECT current_version FROM proposals WHERE id = $1)",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .ctx("reading topics")?;
    let packed: Option<Vec<u8>> = match row {
        Some(r) => r.try_get("record").ctx("reading topics")?,
        None => None,
    };
    let q = match packed {
        Some(stored) => {
            let (fields, _) = record::unpack(&stored).ctx("reading topics")?;
            sqlx::query(
                "UPDATE proposal_versions SET record = $2
                 WHERE proposal_id = $1 AND version = (SELECT current_version FROM proposals WHERE id = $1)",
            )
            .bind(id)
            .bind(record::pack(&fields, topics))
        }
        None => sqlx::query(
            "UPDATE proposal_versions SET topics = $2
             WHERE proposal_id = $1 AND version = (SELECT current_version FROM proposals WHERE id = $1)",
        )
        .bind(id)
        .bind(json(&topics)),
    };
    q.execute(&mut *conn).await.ctx("storing topics")?;
    sqlx::query("UPDATE proposals SET tag_overrides = $2 WHERE id = $1")
        .bind(id)
        .bind(json(overrides))
        .execute(&mut *conn)
        .await
        .ctx("storing tag overrides")?;
    Ok(())
}

const PROPOSAL_SELECT: &str =
    "SELECT p.id, s.email AS speaker_email, s.name AS speaker_name, p.status, p.current_version, p.created_at, p.updated_at,
        v.fields, v.problems, v.topics, v.record, p.tag_overrides, p.reviewers_needed
 FROM proposals p
 JOIN speakers s ON s.id = p.speaker_id
 JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.current_version";

/// A version row's fields and topics: from `record` when it was packed,
/// else from the JSON columns of a version written before (migration 0023).
fn fields_and_topics(r: &AnyRow) -> std::result::Result<(Fields, Vec<FiledTopic>), sqlx::Error> {
    match r.try_get::<Option<Vec<u8>>, _>("record")? {
        Some(stored) => record::unpack(&stored),
        None => Ok((json_col(r, "fields")?, json_col(r, "topics")?)),
    }
}

fn proposal_from_row(r: &AnyRow) -> std::result::Result<ProposalRow, sqlx::Error> {
    let (fields, topics) = fields_and_topics(r)?;
    Ok(ProposalRow {
        id: r.try_get("id")?,
        speaker_email: r.try_get("speaker_email")?,
        speaker_name: r.try_get("speaker_name")?,
        status: spelled(r, "status")?,
        version: r.try_get("current_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        fields,
        problems: json_col(r, "problems")?,
        topics,
        overrides: json_col(r, "tag_overrides")?,
        reviewers_needed: r.try_get("reviewers_needed")?,
    })
}

/// One proposal by id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<ProposalRow>> {
    let sql = const_format(PROPOSAL_SELECT, " WHERE p.id = $1");
    let row = sqlx::query(super::generated(conn, sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading a proposal")?;
    row.as_ref()
        .map(proposal_from_row)
        .transpose()
        .ctx("reading a proposal")
}

/// All proposals, by reference.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<ProposalRow>> {
    let sql = const_format(PROPOSAL_SELECT, " ORDER BY p.id");
    let rows = sqlx::query(super::generated(conn, sql))
        .fetch_all(&mut *conn)
        .await
        .ctx("listing proposals")?;
    decode_all(rows, proposal_from_row, "reading proposals")
}

fn const_format(a: &str, b: &str) -> String {
    format!("{a}{b}")
}

/// One stored version, for `cfpd proposals show`.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// 1, 2, …
    pub version: i64,
    /// When it was stored (ms).
    pub created_at: i64,
    /// The record.
    pub fields: Fields,
    /// Problems at that version.
    pub problems: Vec<String>,
    /// Topics at that version.
    pub topics: Vec<FiledTopic>,
    /// The chair who wrote it (`cfpd proposals edit`); `None`: the speaker.
    pub edited_by: Option<String>,
}

/// Every version of a proposal, oldest first.
pub async fn versions(conn: &mut AnyConnection, id: i64) -> Result<Vec<VersionRow>> {
    let rows = sqlx::query(
        "SELECT version, created_at, fields, problems, topics, record, edited_by FROM proposal_versions
         WHERE proposal_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .ctx("reading proposal versions")?;
    decode_all(
        rows,
        |r| {
            let (fields, topics) = fields_and_topics(r)?;
            Ok(VersionRow {
                version: r.try_get("version")?,
                created_at: r.try_get("created_at")?,
                fields,
                problems: json_col(r, "problems")?,
                topics,
                edited_by: r.try_get("edited_by")?,
            })
        },
        "reading proposal versions",
    )
}

/// A stored token (only its hash is stored; the secret is in the mail we sent).
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// What it grants.
    pub kind: TokenKind,
    /// The proposal, for proposal tokens.
    pub proposal_id: Option<i64>,
    /// The assignment, for assignment tokens.
    pub assignment_id: Option<i64>,
    /// The only address allowed to use it.
    pub bound_address: String,
    /// After this instant (ms) the token no longer authorizes anything.
    pub expires_at: Option<i64>,
    /// When it was issued (ms); a proposal token's lifetime counts from here.
    pub created_at: i64,
}

/// Look a token up by its hash.
pub async fn lookup_token(conn: &mut AnyConnection, hash: &str) -> Result<Option<TokenRow>> {
    let row = sqlx::query(
        "SELECT kind, proposal_id, assignment_id, bound_address, expires_at, created_at
         FROM tokens WHERE hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await
    .ctx("looking up a reply token")?;
    row.map(|r| {
        Ok(TokenRow {
            kind: spelled(&r, "kind")?,
            proposal_id: r.try_get("proposal_id")?,
            assignment_id: r.try_get("assignment_id")?,
            bound_address: r.try_get("bound_address")?,
            expires_at: r.try_get("expires_at")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
    .ctx("reading a reply token")
}

/// Reserve `n` proposal ids for a batch of new proposals (inserted later with
/// `plan_new`). PostgreSQL draws them from the identity sequence;
/// SQLite (one writer, inside the batch's transaction) continues after the
/// highest id ever used.
pub async fn reserve_ids(conn: &mut AnyConnection, backend: Backend, n: usize) -> Result<Vec<i64>> {
    super::reserve_row_ids(conn, backend, "proposals", n, "reserving proposal ids").await
}

/// Insert or refresh many speakers (by address) in multi-row statements.
/// A speaker whose name is unchanged is not written again: a backlog names
/// the same speakers over and over, and each rewrite was a new row version
/// on PostgreSQL and a page on SQLite (issue 18). Adds the statements to `plan`.
pub(crate) fn plan_speakers<'a>(
    plan: &mut Plan<'a>,
    backend: Backend,
    speakers: &'a [(String, Option<String>)],
    now: i64,
) {
    for chunk in speakers.chunks(CHUNK) {
        plan.push(move || {
            let sql = format!(
                "INSERT INTO speakers (email, name, created_at) VALUES {}
                 ON CONFLICT (email) DO UPDATE SET name = excluded.name
                 WHERE excluded.name IS NOT NULL AND excluded.name IS DISTINCT FROM speakers.name",
                placeholders(chunk.len(), 3)
            );
            let mut q = sqlx::query(generated_for(backend, sql));
            for (email, name) in chunk {
                q = q.bind(email).bind(name).bind(now);
            }
            Built::new(q, "recording speakers")
        });
    }
}

/// A new proposal with its first version, for `plan_new`.
#[derive(Debug, Clone)]
pub struct NewProposal {
    /// Reserved id (from [`reserve_ids`]).
    pub id: i64,
    /// Speaker address (must be upserted first).
    pub speaker_email: String,
    /// Initial status.
    pub status: ProposalStatus,
    /// The inbound message it came from.
    pub message_row: i64,
    /// The record.
    pub fields: Fields,
    /// Problems (empty when complete).
    pub problems: Vec<String>,
    /// Topics filed under.
    pub topics: Vec<FiledTopic>,
    /// `fields` and `topics` packed ([`record::pack`]), when that was done
    /// ahead, off the one connection that writes; else it is done here.
    pub record: Option<Vec<u8>>,
}

/// Insert new proposals and their version 1 in multi-row statements (added
/// to `plan`).
pub(crate) fn plan_new<'a>(plan: &mut Plan<'a>, backend: Backend, ps: &'a [NewProposal], now: i64) {
    for chunk in ps.chunks(CHUNK) {
        plan.push(move || {
            let rows = (0..chunk.len())
                .map(|i| {
                    // Each parameter used once, in order (see `store::generated`).
                    let b = i * 5;
                    format!(
                        "(${}, (SELECT id FROM speakers WHERE email = ${}), ${}, 1, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO proposals (id, speaker_id, status, current_version, created_at, updated_at) VALUES {rows}"
            );
            let mut q = sqlx::query(generated_for(backend, sql));
            for p in chunk {
                q = q
                    .bind(p.id)
                    .bind(&p.speaker_email)
                    .bind(p.status.as_str())
                    .bind(now)
                    .bind(now);
            }
            Built::new(q, "creating proposals")
        });
        plan.push(move || {
            let sql = format!("{VERSION_INSERT} VALUES {}", placeholders(chunk.len(), 8));
            let mut q = sqlx::query(generated_for(backend, sql));
            for p in chunk {
                q = q
                    .bind(p.id)
                    .bind(1i64)
                    .bind(p.message_row)
                    .bind(now)
                    .bind("")
                    .bind(json(&p.problems))
                    .bind("");
                q = match &p.record {
                    Some(r) => q.bind(r.as_slice()),
                    None => q.bind(record::pack(&p.fields, &p.topics)),
                };
            }
            Built::new(q, "storing proposal versions")
        });
    }
}

/// A token hash to store, for [`insert_tokens`].
#[derive(Debug, Clone)]
pub struct NewTokenRow {
    /// SHA-256 of the secret.
    pub hash: String,
    /// What it grants.
    pub kind: TokenKind,
    /// The proposal, for proposal tokens.
    pub proposal_id: Option<i64>,
    /// The only address allowed to use it.
    pub bound_address: String,
}

/// Store many token hashes in multi-row statements.
pub async fn insert_tokens(conn: &mut AnyConnection, ts: &[NewTokenRow], now: i64) -> Result<()> {
    let mut plan = Plan::default();
    plan_tokens(&mut plan, backend_of(conn), ts, now);
    plan.run(conn).await
}

/// The statements of [`insert_tokens`], for a [`Plan`].
pub(crate) fn plan_tokens<'a>(
    plan: &mut Plan<'a>,
    backend: Backend,
    ts: &'a [NewTokenRow],
    now: i64,
) {
    for chunk in ts.chunks(CHUNK) {
        plan.push(move || {
            let sql = format!(
                "INSERT INTO tokens (hash, kind, proposal_id, bound_address, created_at) VALUES {}",
                placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(generated_for(backend, sql));
            for t in chunk {
                q = q
                    .bind(&t.hash)
                    .bind(t.kind.as_str())
                    .bind(t.proposal_id)
                    .bind(&t.bound_address)
                    .bind(now);
            }
            Built::new(q, "storing reply tokens")
        });
    }
}

/// Set (or clear) a proposal's own number of reviewers.
pub async fn set_reviewers_needed(conn: &mut AnyConnection, id: i64, k: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE proposals SET reviewers_needed = $2 WHERE id = $1")
        .bind(id)
        .bind(k)
        .execute(&mut *conn)
        .await
        .ctx("setting reviewers per proposal")?;
    Ok(())
}

/// Every version of every proposal, by proposal then version.
pub async fn version_stamps(conn: &mut AnyConnection) -> Result<Vec<VersionStamp>> {
    let rows = sqlx::query(
        "SELECT proposal_id, version, created_at, problems FROM proposal_versions
         ORDER BY proposal_id, version",
    )
    .fetch_all(&mut *conn)
    .await
    .ctx("reading proposal version times")?;
    decode_all(
        rows,
        |r| {
            Ok(VersionStamp {
                proposal_id: r.try_get("proposal_id")?,
                version: r.try_get("version")?,
                created_at: r.try_get("created_at")?,
                complete: json_col::<Vec<String>>(r, "problems")?.is_empty(),
            })
        },
        "reading proposal version times",
    )
}
