//! The migrations' CHECK constraints against the enums in `model`: every
//! spelling of every enum is allowed, nothing else is, and a value that got
//! past them anyway (an older cfpd, a hand edit) reads as an error. A later
//! migration may redefine a constraint (0015 adds the `decision` mail kind):
//! the latest definition is the one that must match.

use std::collections::BTreeSet;

use crate::model::{
    AssignmentState, BidKind, ChairAction, ChairTokenKind, Confirmation, Decision, DecisionSource,
    HoldReason, MailKind, MessageState, OutboxState, ProposalStatus, Reason, Spelled, TokenKind,
};

const SQLITE: &str = include_str!("../../migrations/sqlite/0011_check_states.sql");
const POSTGRES: &str = include_str!("../../migrations/postgres/0011_check_states.sql");
const SQLITE_0014: &str = include_str!("../../migrations/sqlite/0014_reply_mailbox_hold.sql");
const POSTGRES_0014: &str = include_str!("../../migrations/postgres/0014_reply_mailbox_hold.sql");

/// The quoted values of `CONSTRAINT <name> CHECK (…)` in `sql`, written as
/// `<column> IN ('a', 'b')` (PostgreSQL) or `<column> = 'a' OR <column> =
/// 'b'` (SQLite, where an IN list in a CHECK is slow); the constraint ends at
/// its first `)` outside a quoted value, and no spelling contains one.
fn allowed(sql: &str, name: &str) -> BTreeSet<String> {
    let start = sql
        .rfind(&format!("CONSTRAINT {name} CHECK ("))
        .unwrap_or_else(|| panic!("no constraint {name}"));
    let body = &sql[start + format!("CONSTRAINT {name} CHECK (").len()..];
    let mut values = BTreeSet::new();
    let mut rest = body;
    loop {
        let quote = rest.find('\'');
        let close = rest.find(')');
        match (quote, close) {
            (Some(q), Some(c)) if q < c => {
                let after = &rest[q + 1..];
                let end = after.find('\'').expect("a closed quote");
                values.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            _ => return values,
        }
    }
}

fn spellings<T: Spelled>() -> BTreeSet<String> {
    T::all().iter().map(|v| v.as_str().to_string()).collect()
}

/// Every migration of a dialect, in the order they are applied.
fn migrations(dialect: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The values of the latest definition of constraint `name` in a dialect.
fn latest(dialect: &str, name: &str) -> BTreeSet<String> {
    let needle = format!("CONSTRAINT {name} CHECK (");
    let (_, sql) = migrations(dialect)
        .into_iter()
        .rev()
        .find(|(_, sql)| sql.contains(&needle))
        .unwrap_or_else(|| panic!("no migration defines {name}"));
    allowed(&sql, name)
}

#[test]
fn the_latest_definition_of_every_check_lists_exactly_its_enums_spellings() {
    let expected = [
        ("messages_state_check", spellings::<MessageState>()),
        ("messages_reason_check", spellings::<Reason>()),
        ("proposals_status_check", spellings::<ProposalStatus>()),
        ("tokens_kind_check", spellings::<TokenKind>()),
        ("outbox_state_check", spellings::<OutboxState>()),
        ("outbox_kind_check", spellings::<MailKind>()),
        ("outbox_hold_check", spellings::<HoldReason>()),
        ("assignments_state_check", spellings::<AssignmentState>()),
        ("decisions_decision_check", spellings::<Decision>()),
        ("decisions_source_check", spellings::<DecisionSource>()),
        ("decisions_confirmation_check", spellings::<Confirmation>()),
        ("chair_tokens_kind_check", spellings::<ChairTokenKind>()),
        ("chair_actions_action_check", spellings::<ChairAction>()),
        (
            "proposals_withdrawn_from_check",
            spellings::<ProposalStatus>(),
        ),
        ("bids_kind_check", spellings::<BidKind>()),
    ];
    let names: BTreeSet<&str> = expected.iter().map(|(n, _)| *n).collect();
    let constraint = regex::Regex::new(r"CONSTRAINT (\w+) CHECK").unwrap();
    for dialect in ["sqlite", "postgres"] {
        for (name, want) in &expected {
            assert_eq!(&latest(dialect, name), want, "{dialect}: {name}");
        }
        for (file, sql) in migrations(dialect) {
            for c in constraint.captures_iter(&sql) {
                assert!(
                    names.contains(&c[1]),
                    "{dialect}/{file}: {} is held to no enum here",
                    &c[1]
                );
            }
        }
    }
}

/// Migration 0011 as it was written (its text never changes: databases
/// recorded its checksum).
#[test]
fn every_check_lists_exactly_its_enums_spellings_in_both_dialects() {
    let expected = [
        ("proposals_status_check", spellings::<ProposalStatus>()),
        ("tokens_kind_check", spellings::<TokenKind>()),
    ];
    let later = |name: &str, now: BTreeSet<String>, added: &[&str]| {
        for sql in [SQLITE, POSTGRES] {
            let then = allowed(sql, name);
            assert!(
                then.is_subset(&now),
                "{name}: 0011's spellings are all still spelled"
            );
            let mut diff: Vec<&str> = now.difference(&then).map(String::as_str).collect();
            diff.sort();
            assert_eq!(
                diff, added,
                "{name}: added by a later migration (0015, 0016)"
            );
        }
    };
    later(
        "outbox_state_check",
        spellings::<OutboxState>(),
        &["cancelled"],
    );
    later(
        "assignments_state_check",
        spellings::<AssignmentState>(),
        &["removed"],
    );
    later(
        "outbox_kind_check",
        spellings::<MailKind>(),
        &[
            "bid_invite",
            "bid_receipt",
            "chair_answer",
            "chair_edit",
            "chair_request",
            "confirmation",
            "decision",
            "forward",
            "group_mail",
            "person_will_answer",
            "promotion",
            "restored",
        ],
    );
    later(
        "messages_state_check",
        spellings::<MessageState>(),
        &[
            "bids_recorded",
            "confirmed",
            "decided",
            "decision_requested",
            "declined",
            "for_person",
        ],
    );
    later(
        "messages_reason_check",
        spellings::<Reason>(),
        &[
            "bids_not_understood",
            "chair_command_unclear",
            "chair_confirmation_used",
            "chair_mismatch",
            "chair_without_token",
            "confirmation_unclear",
        ],
    );
    for sql in [SQLITE, POSTGRES] {
        for (name, want) in &expected {
            assert_eq!(&allowed(sql, name), want, "{name}");
        }
        assert_eq!(
            sql.matches("CONSTRAINT ").count(),
            expected.len() + 5,
            "one constraint per stored enum column"
        );
    }
}

#[test]
fn the_hold_check_of_0014_lists_the_hold_reasons_but_the_chairs() {
    let mut then = spellings::<HoldReason>();
    assert!(then.remove(HoldReason::Chair.as_str()), "added by 0016");
    for sql in [SQLITE_0014, POSTGRES_0014] {
        assert_eq!(allowed(sql, "outbox_hold_check"), then);
        assert_eq!(sql.matches("CONSTRAINT ").count(), 1);
    }
}

/// Run one statement that must succeed.
async fn exec(c: &mut super::AnyConnection, sql: &'static str) {
    sqlx::query(sql).execute(&mut *c).await.unwrap();
}

/// A new SQLite database with every migration applied (the directory
/// holding it lives as long as the first value).
pub(super) async fn new_sqlite() -> (tempfile::TempDir, super::Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/check.db", dir.path().display());
    let store = super::Store::connect(&url).await.unwrap();
    (dir, store)
}

/// Insert one row per variant (so every spelling passes the constraint), then
/// one row with an unknown value (refused).
#[tokio::test]
async fn sqlite_accepts_every_spelling_and_refuses_any_other() {
    let (_dir, store) = new_sqlite().await;
    let mut c = store.conn().await.unwrap();
    let insert = |i: usize, state: &str, reason: Option<&str>| {
        sqlx::query(
            "INSERT INTO messages (source_key, received_at, size, sha256, state, reason)
             VALUES ($1, 0, 0, '', $2, $3)",
        )
        .bind(format!("k{i}"))
        .bind(state.to_string())
        .bind(reason.map(str::to_string))
    };
    for (i, s) in MessageState::ALL.iter().enumerate() {
        insert(i, s.as_str(), None).execute(&mut *c).await.unwrap();
    }
    for (i, r) in Reason::ALL.iter().enumerate() {
        insert(100 + i, "rejected", Some(r.as_str()))
            .execute(&mut *c)
            .await
            .unwrap();
    }
    for (i, (k, s)) in MailKind::ALL
        .iter()
        .zip(OutboxState::ALL.iter().cycle())
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                                 subject, state, next_attempt_at)
             VALUES ($1, $2, 0, '', 'a@x', 'm', 's', $3, 0)",
        )
        .bind(format!("d{i}"))
        .bind(k.as_str())
        .bind(s.as_str())
        .execute(&mut *c)
        .await
        .unwrap();
    }
    let err = insert(999, "misspelled", None)
        .execute(&mut *c)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    let err = insert(998, "rejected", Some("return_path"))
        .execute(&mut *c)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    let listed = super::messages::list(&mut c).await.unwrap();
    assert_eq!(listed.len(), MessageState::ALL.len() + Reason::ALL.len());
    let by_state = super::outbox::stats(&mut c).await.unwrap();
    assert_eq!(by_state.len(), OutboxState::ALL.len());
}

#[tokio::test]
async fn an_unknown_spelling_in_the_database_is_an_error_not_a_guess() {
    let (_dir, store) = new_sqlite().await;
    let mut c = store.conn().await.unwrap();
    // Only a bypassed constraint lets such a value in.
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO messages (source_key, received_at, size, sha256, state, reason)
         VALUES ('k', 0, 0, '', 'rejected', 'no_such_reason')",
    )
    .execute(&mut *c)
    .await
    .unwrap();
    let err = super::messages::list(&mut c).await.unwrap_err();
    let text = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(text.contains("no_such_reason"), "{text}");
    sqlx::query("UPDATE messages SET reason = NULL, state = 'gone'")
        .execute(&mut *c)
        .await
        .unwrap();
    assert!(super::messages::count_by_state(&mut c).await.is_err());
}

/// The indexes on `outbox` a dialect's migrations leave, by name: each
/// `CREATE INDEX … ON outbox …;` up to its semicolon, forgotten again by a
/// later `DROP INDEX` of its name.
fn outbox_indexes(dialect: &str) -> std::collections::BTreeMap<String, String> {
    let mut live = std::collections::BTreeMap::new();
    for (_, sql) in migrations(dialect) {
        for stmt in sql.split(';') {
            let code: String = stmt
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join(" ");
            let words: Vec<&str> = code.split_whitespace().collect();
            match words.as_slice() {
                ["DROP", "INDEX", name, ..] => {
                    live.remove(*name);
                }
                ["CREATE", "INDEX", name, "ON", "outbox", ..]
                | ["CREATE", "UNIQUE", "INDEX", name, "ON", "outbox", ..] => {
                    live.insert(name.to_string(), code.clone());
                }
                _ => {}
            }
        }
    }
    live
}

/// No index on `outbox` names `state`, not even in its predicate: on
/// PostgreSQL that is what lets the sender's state changes stay in page
/// (HOT) instead of writing the row and every index entry again (0022).
/// Queued mail is found through `outbox_due` instead.
#[test]
fn no_outbox_index_names_the_state() {
    for dialect in ["sqlite", "postgres"] {
        let live = outbox_indexes(dialect);
        assert!(
            live.contains_key("outbox_replies_to"),
            "{dialect}: {live:?}"
        );
        for (name, sql) in &live {
            assert!(
                !sql.contains("state"),
                "{dialect}: {name} names the state: {sql}"
            );
        }
    }
}

/// What the migrations leave is what a new SQLite database has (the text
/// reading above is checked against a real schema), and `outbox_due`
/// follows every state change, whichever statement makes it.
#[tokio::test]
async fn the_due_list_holds_exactly_the_queued_mail() {
    use sqlx::Row;
    let (_dir, store) = new_sqlite().await;
    let mut c = store.conn().await.unwrap();
    let names: std::collections::BTreeSet<String> = sqlx::query(
        "SELECT name FROM sqlite_master
         WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("name"))
    .collect();
    assert_eq!(
        names,
        outbox_indexes("sqlite").into_keys().collect(),
        "the migrations' text and the database agree"
    );
    for (i, state) in OutboxState::all().iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient,
                                 message_id, subject, state, next_attempt_at)
             VALUES ($1, 'ack', 0, '', 'a@example.org', $1, 's', $2, 0)",
        )
        .bind(format!("k{i}"))
        .bind(state.as_str())
        .execute(&mut *c)
        .await
        .unwrap();
    }
    exec(
        &mut c,
        "INSERT INTO outbox_raw (id, raw) SELECT id, x'00' FROM outbox",
    )
    .await;
    async fn ids(c: &mut super::AnyConnection, sql: &'static str) -> Vec<i64> {
        let rows = sqlx::query(sql).fetch_all(&mut *c).await.unwrap();
        rows.iter().map(|r| r.get("id")).collect()
    }
    async fn check(c: &mut super::AnyConnection) {
        let queued = ids(
            c,
            "SELECT id FROM outbox WHERE state = 'queued' ORDER BY id",
        )
        .await;
        let due = ids(c, "SELECT id FROM outbox_due ORDER BY id").await;
        assert_eq!(due, queued);
    }
    check(&mut c).await;
    // Every state to every other and back, by plain statements.
    async fn set_k0(c: &mut super::AnyConnection, state: OutboxState) {
        sqlx::query("UPDATE outbox SET state = $1 WHERE dedup_key = 'k0'")
            .bind(state.as_str())
            .execute(&mut *c)
            .await
            .unwrap();
    }
    for &from in OutboxState::all() {
        for &to in OutboxState::all() {
            set_k0(&mut c, from).await;
            set_k0(&mut c, to).await;
            check(&mut c).await;
            set_k0(&mut c, from).await;
            check(&mut c).await;
        }
    }
    set_k0(&mut c, OutboxState::Queued).await;
    check(&mut c).await;
    let sending = super::outbox::claim_due(&mut c, 1, 10).await.unwrap();
    assert_eq!(sending.len(), 1, "one mail was queued");
    check(&mut c).await;
    exec(
        &mut c,
        "DELETE FROM outbox_raw WHERE id IN (SELECT id FROM outbox WHERE state <> 'sending')",
    )
    .await;
    exec(&mut c, "DELETE FROM outbox WHERE state <> 'sending'").await;
    check(&mut c).await;
}

#[tokio::test]
async fn damaged_stored_json_is_an_error_naming_its_column_not_an_empty_value() {
    let (_dir, store) = new_sqlite().await;
    let mut c = store.conn().await.unwrap();
    exec(
        &mut c,
        "INSERT INTO reviewers (email, name, topics, min_load, max_load, conflicts,
                                created_at, updated_at)
         VALUES ('rev@example.org', 'Rev', '[\"web\"]', 0, 5, '[\"ada@exa', 0, 0)",
    )
    .await;
    // Read as empty, the damaged conflicts would make the reviewer look free
    // to review Ada's proposals.
    let err = super::review::reviewers(&mut c).await.unwrap_err();
    assert!(err.to_string().contains("conflicts"), "{err}");
    exec(
        &mut c,
        "UPDATE reviewers SET conflicts = '[\"ada@example.org\"]' WHERE email = 'rev@example.org'",
    )
    .await;
    let roster = super::review::reviewers(&mut c).await.unwrap();
    assert_eq!(roster[0].conflicts, ["ada@example.org"]);
}
