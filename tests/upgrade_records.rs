//! Migration 0023 writes smaller rows (issue 18). A proposal version's
//! fields and topics are packed: a database at 0022 keeps its versions as
//! JSON, and after the upgrade they read back unchanged next to new, packed
//! versions, and a chair's topic change works on both kinds. Token hashes
//! are cut to 128 bits: a token mailed before the upgrade still works after
//! it. Queued mail stays listed in `outbox_due` across 0024, which fills
//! that list once per statement on PostgreSQL. Runs on SQLite, or on
//! PostgreSQL with `CFPD_TEST_DATABASE=postgres`.

mod support;

use cfpd::model::ProposalStatus;
use cfpd::proposal::FiledTopic;
use cfpd::store::{self, Store};
use sqlx::Row;

/// A reply token and a VERP token mailed before the upgrade.
const SECRET: &str = "abcdefghijklmnopqrstuvwxyz234567";
const VERP: &str = "bcdefghijklmnopqrstuvwxyz2345672";

/// A token's hash as cfpd stored it before 0023: all of SHA-256, in hex.
fn full_hash(secret: &str) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(secret.as_bytes()))
}

/// A database as migrations 0001–0022 create it, holding one proposal with
/// two versions written the old way, its token, and a sent mail's VERP hash.
async fn database_at_0022(url: &str) {
    let pool = support::database_at(url, 22).await;
    for sql in [
        "INSERT INTO speakers (id, email, name, created_at) VALUES (1, 'ada@example.org', 'Ada', 1)",
        "INSERT INTO proposals (id, speaker_id, status, current_version, created_at, updated_at,
                                tag_overrides)
         VALUES (1, 1, 'submitted', 2, 1, 2, '{\"add\":[\"web\"],\"remove\":[]}')",
        "INSERT INTO proposal_versions (proposal_id, version, created_at, fields, problems, topics)
         VALUES (1, 1, 1, '{\"title\":\"Async Django\",\"format\":\"talk-25\"}',
                 '[\"The abstract is missing.\"]',
                 '[{\"id\":\"web\",\"name\":\"Web\",\"score\":2.5,\"evidence\":[\"django\"]}]')",
        "INSERT INTO proposal_versions (proposal_id, version, created_at, fields, problems, topics)
         VALUES (1, 2, 2, '{\"title\":\"Async Django, revised\",\"abstract\":\"ASGI.\"}', '[]',
                 '[{\"id\":\"web\",\"name\":\"Web\",\"score\":3.5,\"evidence\":[\"asgi\"]}]')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO tokens (hash, kind, proposal_id, bound_address, created_at)
         VALUES ($1, 'proposal', 1, 'ada@example.org', 1)",
    )
    .bind(full_hash(SECRET))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                             subject, state, next_attempt_at, bounce_hash, mailbox)
         VALUES ('reply:msg:1', 'ack', 1, '', 'ada@example.org', 'out1@conf.example',
                 'received', 'sent', 1, $1, 'ada@example.org')",
    )
    .bind(full_hash(VERP))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

fn titles(vs: &[store::proposals::VersionRow]) -> Vec<String> {
    vs.iter()
        .map(|v| v.fields.title.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn versions_from_before_0023_read_unchanged_beside_packed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    database_at_0022(&url).await;
    let store = Store::connect(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();

    let t = store::proposals::lookup_token(&mut c, &cfpd::token::hash(SECRET))
        .await
        .unwrap()
        .expect("a token mailed before the upgrade still works");
    assert_eq!(
        (t.proposal_id, t.bound_address.as_str()),
        (Some(1), "ada@example.org")
    );
    let bounced = store::outbox::by_bounce_hash(&mut c, &cfpd::token::hash(VERP))
        .await
        .unwrap();
    assert_eq!(bounced, Some((1, "ada@example.org".to_string())));

    let p = store::proposals::get(&mut c, 1).await.unwrap().unwrap();
    assert_eq!(p.fields.title.as_deref(), Some("Async Django, revised"));
    assert_eq!(p.fields.abstract_text.as_deref(), Some("ASGI."));
    assert_eq!(p.topics[0].evidence, ["asgi"]);
    let vs = store::proposals::versions(&mut c, 1).await.unwrap();
    assert_eq!(titles(&vs), ["Async Django", "Async Django, revised"]);
    assert_eq!(vs[0].problems, ["The abstract is missing."]);

    // A chair's topics on the old current version stay in its JSON column.
    let mut topics = p.topics.clone();
    topics.push(FiledTopic {
        id: "async".into(),
        name: "Async".into(),
        score: 0.0,
        evidence: vec![],
    });
    store::proposals::set_current_topics(&mut c, 1, &topics, &p.overrides)
        .await
        .unwrap();
    let p = store::proposals::get(&mut c, 1).await.unwrap().unwrap();
    assert_eq!(p.topics, topics);

    // A new version is packed; the chair's change works on it too.
    let mut fields = p.fields.clone();
    fields.title = Some("Async Django, third take".into());
    let v3 = store::proposals::NewVersion {
        proposal_id: 1,
        version: 3,
        message_row: None,
        fields: &fields,
        problems: &[],
        topics: &topics[..1],
    };
    store::proposals::insert_version(&mut c, &v3, ProposalStatus::Submitted, 3)
        .await
        .unwrap();
    topics[0].score = 9.0;
    store::proposals::set_current_topics(&mut c, 1, &topics, &p.overrides)
        .await
        .unwrap();

    let p = store::proposals::get(&mut c, 1).await.unwrap().unwrap();
    assert_eq!((p.version, &p.fields, &p.topics), (3, &fields, &topics));
    let vs = store::proposals::versions(&mut c, 1).await.unwrap();
    let want = [
        "Async Django",
        "Async Django, revised",
        "Async Django, third take",
    ];
    assert_eq!(titles(&vs), want);
    assert_eq!(
        vs[1].topics.len(),
        2,
        "the old version keeps the chair's topics"
    );
    assert_eq!(vs[1].topics[0].score, 3.5);
    assert_eq!(vs[2].topics, topics);
    let complete: Vec<_> = store::proposals::version_stamps(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|s| s.complete)
        .collect();
    assert_eq!(complete, [false, true, true]);

    // On disk: the new version's JSON columns are empty, its record is set
    // and smaller than the JSON it replaces.
    let rows = sqlx::query(
        "SELECT version, fields, topics, record FROM proposal_versions ORDER BY version",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    let record: Vec<Option<Vec<u8>>> = rows.iter().map(|r| r.get("record")).collect();
    assert!(record[0].is_none() && record[1].is_none());
    let packed = record[2].as_ref().expect("the new version is packed");
    let json = serde_json::to_string(&fields).unwrap() + &serde_json::to_string(&topics).unwrap();
    assert!(
        packed.len() < json.len(),
        "{} bytes for {json}",
        packed.len()
    );
    let text: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get("fields"), r.get("topics")))
        .collect();
    assert_eq!(text[2], (String::new(), String::new()));
    assert!(text[1].0.contains("revised"));
}

#[tokio::test]
async fn a_damaged_json_column_is_an_error_naming_it_not_an_empty_value() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    database_at_0022(&url).await;
    let store = Store::connect(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    // Read as an empty list, a damaged `problems` made the incomplete first
    // version look complete.
    sqlx::query("UPDATE proposal_versions SET problems = '[\"The abstract' WHERE version = 1")
        .execute(&mut *c)
        .await
        .unwrap();
    let err = store::proposals::versions(&mut c, 1).await.unwrap_err();
    assert!(err.to_string().contains("problems"), "{err}");
    // The current version is whole and still reads.
    let p = store::proposals::get(&mut c, 1).await.unwrap().unwrap();
    assert_eq!(p.fields.title.as_deref(), Some("Async Django, revised"));
}

/// Queued mail is found through `outbox_due` (0022), which PostgreSQL now
/// fills once per INSERT statement instead of once per row (0024). Across
/// that upgrade and after it the list holds exactly the queued mail:
/// mail queued before it stays listed, and a multi-row insert in every
/// state, an insert whose conflict skips a row, every state change (one
/// row or many) and deletes all keep it exact.
#[tokio::test]
async fn the_due_list_holds_exactly_the_queued_mail_across_the_upgrade() {
    use cfpd::model::OutboxState;
    async fn exec(c: &mut sqlx::AnyConnection, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *c)
            .await
            .unwrap();
    }
    async fn ids(c: &mut sqlx::AnyConnection, sql: &'static str) -> Vec<i64> {
        let rows = sqlx::query(sql).fetch_all(&mut *c).await.unwrap();
        rows.iter().map(|r| r.get("id")).collect()
    }
    async fn check(c: &mut sqlx::AnyConnection, after: &str) -> usize {
        let queued = ids(
            c,
            "SELECT id FROM outbox WHERE state = 'queued' ORDER BY id",
        )
        .await;
        let due = ids(c, "SELECT id FROM outbox_due ORDER BY id").await;
        assert_eq!(due, queued, "after {after}");
        queued.len()
    }
    /// Rows `(dedup_key, state)` for one multi-row INSERT.
    fn insert(rows: &[(String, OutboxState)], tail: &str) -> String {
        let values: Vec<String> = rows
            .iter()
            .map(|(k, s)| {
                format!(
                    "('{k}', 'ack', 1, '', 'ada@example.org', '{k}', 's', '{}', 1)",
                    s.as_str()
                )
            })
            .collect();
        format!(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient,
                                 message_id, subject, state, next_attempt_at)
             VALUES {} {tail}",
            values.join(", ")
        )
    }

    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let pool = support::database_at(&url, 23).await;
    let before = [
        ("old:queued".to_string(), OutboxState::Queued),
        ("old:sent".to_string(), OutboxState::Sent),
    ];
    sqlx::query(sqlx::AssertSqlSafe(insert(&before, "")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = Store::connect(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    assert_eq!(check(&mut c, "the upgrade").await, 1);

    let every: Vec<(String, OutboxState)> = OutboxState::ALL
        .iter()
        .map(|s| (format!("k:{}", s.as_str()), *s))
        .collect();
    exec(&mut c, &insert(&every, "")).await;
    assert_eq!(check(&mut c, "one insert in every state").await, 2);

    // The queued row that conflicts is skipped; only the new one is listed.
    let again = [
        ("k:queued".to_string(), OutboxState::Queued),
        ("k:new".to_string(), OutboxState::Queued),
    ];
    exec(
        &mut c,
        &insert(&again, "ON CONFLICT (dedup_key) DO NOTHING"),
    )
    .await;
    assert_eq!(check(&mut c, "an insert with a conflict").await, 3);

    for &from in OutboxState::ALL {
        for &to in OutboxState::ALL {
            for s in [from, to] {
                exec(
                    &mut c,
                    &format!(
                        "UPDATE outbox SET state = '{}' WHERE dedup_key = 'k:new'",
                        s.as_str()
                    ),
                )
                .await;
                check(&mut c, &format!("{from:?} to {to:?}")).await;
            }
        }
    }
    exec(&mut c, "UPDATE outbox SET state = 'queued'").await;
    let all = check(&mut c, "queuing every row").await;
    exec(&mut c, "UPDATE outbox SET state = 'sent' WHERE id % 2 = 0").await;
    let half = check(&mut c, "sending every other row").await;
    assert!(half < all, "{half} of {all}");
    exec(&mut c, "DELETE FROM outbox WHERE dedup_key LIKE 'k:%'").await;
    assert_eq!(check(&mut c, "deleting rows").await, 1);
}
