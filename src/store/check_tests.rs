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

/// Insert one row per variant (so every spelling passes the constraint), then
/// one row with an unknown value (refused).
#[tokio::test]
async fn sqlite_accepts_every_spelling_and_refuses_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::Store::connect(&format!("sqlite://{}/c.db", dir.path().display()))
        .await
        .unwrap();
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
    let (by_state, _) = super::outbox::stats(&mut c).await.unwrap();
    assert_eq!(by_state.len(), OutboxState::ALL.len());
}

#[tokio::test]
async fn an_unknown_spelling_in_the_database_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::Store::connect(&format!("sqlite://{}/u.db", dir.path().display()))
        .await
        .unwrap();
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
