//! Upgrading a database written by cfpd as of main 724ec4a (migrations 0001–0010)
//! to this version (0011 adds CHECK constraints; SQLite rebuilds five tables):
//! every row is still there and reads back through the `Store` API with the
//! same values; the constraints then refuse unknown values. Runs on SQLite, or
//! on PostgreSQL with `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::collections::BTreeMap;

use cfpd::model::{
    AssignmentState, MailKind, MessageState, OutboxState, ProposalStatus, Reason, TokenKind,
};
use cfpd::store::{self, AnyConnection, Store};
use sqlx::{AnyPool, Row};

/// 2024-06-01T10:00:00Z, in ms.
const T: i64 = 1_717_236_000_000;

/// A bound value for [`exec`].
enum V {
    I(i64),
    S(&'static str),
    /// NULL in an integer column.
    NI,
    /// NULL in a text column.
    NS,
    B(Vec<u8>),
}
use V::*;

async fn exec(pool: &AnyPool, sql: &'static str, values: Vec<V>) {
    let mut q = sqlx::query(sql);
    for v in values {
        q = match v {
            I(i) => q.bind(i),
            S(s) => q.bind(s),
            NI => q.bind(None::<i64>),
            NS => q.bind(None::<String>),
            B(b) => q.bind(b),
        };
    }
    q.execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The tables of schema 0010, and how many rows each holds.
const TABLES: &[&str] = &[
    "messages",
    "message_raw",
    "mailbox_cursor",
    "speakers",
    "proposals",
    "proposal_versions",
    "tokens",
    "outbox",
    "reviewers",
    "assignments",
    "reviews",
    "reminder_ledger",
    "reminder_checkpoints",
    "unsubscribe_tokens",
    "unsubscribes",
    "bounce_events",
    "undeliverable",
    "leases",
    "heartbeats",
];

async fn counts(pool: &AnyPool) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for t in TABLES {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {t}"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        out.insert(*t, row.try_get::<i64, _>("n").unwrap());
    }
    out
}

/// A database exactly as main 724ec4a creates it: its ten migrations, run by
/// sqlx's migrator from the files in the repository (so `_sqlx_migrations`
/// holds the same versions and checksums).
async fn old_database(url: &str) -> AnyPool {
    support::database_at(url, 10).await
}

fn raw(n: i64) -> Vec<u8> {
    format!("From: someone@example.org\r\nSubject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

fn fields(title: &str) -> String {
    serde_json::to_string(&cfpd::proposal::Fields {
        title: Some(title.into()),
        format: Some("talk-25".into()),
        abstract_text: Some(format!("About {title}.")),
        ..Default::default()
    })
    .unwrap()
}

/// `(source_key suffix, state, reason, proposal, has bytes, disposed)`.
type OldMessage = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<i64>,
    bool,
    i64,
);

/// Messages as main wrote them.
const MESSAGES: &[OldMessage] = &[
    ("1", "accepted", None, Some(1), true, 1),
    ("2", "draft", Some("missing_fields"), Some(2), true, 0),
    ("3", "auto_generated", Some("return-path"), None, true, 0),
    ("4", "auto_generated", Some("auto-reply"), None, true, 1),
    ("5", "rejected", Some("sender_mismatch"), Some(1), true, 1),
    ("6", "bounce", Some("bounce"), None, true, 0),
    ("7", "received", Some("released_by_chair"), None, true, 0),
    ("8", "quarantined", Some("too_large"), None, false, 0),
    ("9", "released", Some("decline"), Some(4), true, 1),
    ("10", "review_recorded", None, Some(1), true, 1),
    ("11", "received", None, None, true, 0),
    ("12", "rejected", Some("token_expired"), Some(4), true, 0),
    ("13", "duplicate", Some("duplicate"), None, true, 1),
];

/// Rows in every table, as main wrote them.
async fn fill(pool: &AnyPool) {
    fill_messages(pool).await;
    fill_proposals(pool).await;
    fill_reviews(pool).await;
    fill_outbox(pool).await;
    fill_the_rest(pool).await;
}

/// Speakers, messages in many states and reasons, their bytes, the cursor.
async fn fill_messages(pool: &AnyPool) {
    exec(
        pool,
        "INSERT INTO speakers (email, name, created_at) VALUES ($1, $2, $3), ($4, $5, $6)",
        vec![
            S("ada@example.org"),
            S("Ada Lovelace"),
            I(T),
            S("bob@example.org"),
            NS,
            I(T),
        ],
    )
    .await;
    for (i, (key, state, reason, proposal, bytes, disposed)) in MESSAGES.iter().enumerate() {
        let id = i as i64 + 1;
        let processed = if *state == "received" { NI } else { I(T + id) };
        let mut q = sqlx::query(
            "INSERT INTO messages (source_key, received_at, size, sha256, message_id, from_addr,
                                   subject, state, reason, detail, proposal_id, duplicate_of,
                                   processed_at, disposed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(format!("imap:INBOX:1:{key}"))
        .bind(T + id)
        .bind(raw(id).len() as i64)
        .bind(format!("{id:064x}"))
        .bind(format!("m{id}@example.org"))
        .bind("ada@example.org")
        .bind(format!("message {id}"))
        .bind(*state)
        .bind(reason.map(str::to_string))
        .bind(format!("detail {id}"))
        .bind(*proposal)
        .bind(if *state == "duplicate" {
            Some(1i64)
        } else {
            None
        });
        q = match processed {
            I(p) => q.bind(Some(p)),
            _ => q.bind(None::<i64>),
        };
        q.bind(*disposed).execute(pool).await.unwrap();
        if *bytes {
            exec(
                pool,
                "INSERT INTO message_raw (id, raw) VALUES ($1, $2)",
                vec![I(id), B(raw(id))],
            )
            .await;
        }
    }
    // A message row removed by hand (its id is never handed out again), and the cursor.
    let statements: Vec<(&'static str, Vec<V>)> = vec![
        (
            "INSERT INTO messages (source_key, received_at, size, sha256, state) VALUES ($1, $2, 0, '', $3)",
            vec![S("maildir:gone"), I(T), S("received")],
        ),
        (
            "DELETE FROM messages WHERE source_key = $1",
            vec![S("maildir:gone")],
        ),
        (
            "INSERT INTO mailbox_cursor (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)",
            vec![S("INBOX"), I(1), I(13)],
        ),
    ];
    for (sql, values) in statements {
        exec(pool, sql, values).await;
    }
}

/// Proposals in every status, with versions.
async fn fill_proposals(pool: &AnyPool) {
    for (speaker, status, version, needed, overrides) in [
        (
            1,
            "submitted",
            2,
            NI,
            r#"{"add":["web"],"remove":["data"]}"#,
        ),
        (2, "draft", 1, NI, r#"{"add":[],"remove":[]}"#),
        (1, "withdrawn", 1, NI, r#"{"add":[],"remove":[]}"#),
        (2, "late", 1, I(3), r#"{"add":[],"remove":[]}"#),
    ] {
        exec(
            pool,
            "INSERT INTO proposals (speaker_id, status, current_version, created_at, updated_at,
                                    tag_overrides, reviewers_needed)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                I(speaker),
                S(status),
                I(version),
                I(T),
                I(T + 10),
                S(overrides),
                needed,
            ],
        )
        .await;
    }
    let topics = r#"[{"id":"web","name":"Web","score":2.5,"evidence":["django"]}]"#;
    for (p, v, msg, title, problems) in [
        (1, 1, I(1), "Async Django", "[]"),
        (1, 2, NI, "Async Django, revised", "[]"),
        (2, 1, I(2), "Half a talk", r#"["The abstract is missing."]"#),
        (3, 1, NI, "Gone", "[]"),
        (4, 1, NI, "Too late", "[]"),
    ] {
        let f = fields(title);
        sqlx::query(
            "INSERT INTO proposal_versions (proposal_id, version, message_id, created_at, fields,
                                            problems, topics)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p as i64)
        .bind(v as i64)
        .bind(match msg {
            I(m) => Some(m),
            _ => None,
        })
        .bind(T + v as i64)
        .bind(f)
        .bind(problems)
        .bind(topics)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Reviewers, assignments in every state, reviews, tokens.
async fn fill_reviews(pool: &AnyPool) {
    exec(
        pool,
        "INSERT INTO reviewers (email, name, topics, min_load, max_load, conflicts, created_at, updated_at)
         VALUES ($1, $2, $3, 1, 5, $4, $5, $5), ($6, $7, $8, 0, 3, $9, $5, $5)",
        vec![
            S("rev1@example.org"),
            S("Grace"),
            S(r#"["web"]"#),
            S("[]"),
            I(T),
            S("rev2@example.org"),
            NS,
            S(r#"["data","web"]"#),
            S(r#"["example.org"]"#),
        ],
    )
    .await;
    for (p, r, affinity, state, released, message, replacement) in [
        (1, 1, 800, "active", NI, NI, NI),
        (4, 1, 300, "declined", I(T + 100), I(9), I(3)),
        (4, 2, 250, "active", NI, NI, NI),
        (3, 2, 100, "conflict", I(T + 200), NI, NI),
    ] {
        exec(
            pool,
            "INSERT INTO assignments (proposal_id, reviewer_id, affinity, state, created_at,
                                      released_at, released_message, replacement_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                I(p),
                I(r),
                I(affinity),
                S(state),
                I(T),
                released,
                message,
                replacement,
            ],
        )
        .await;
    }
    exec(
        pool,
        "INSERT INTO reviews (assignment_id, version, is_current, score, confidence,
                              comments_speaker, comments_committee, message_id, created_at)
         VALUES (1, 1, 0, 3, NULL, 'ok', '', NULL, $1), (1, 2, 1, 4, 2, 'good', 'accept', 10, $2)",
        vec![I(T + 300), I(T + 400)],
    )
    .await;
    exec(
        pool,
        "INSERT INTO tokens (hash, kind, proposal_id, assignment_id, bound_address, created_at, expires_at)
         VALUES ($1, $2, 1, NULL, $3, $4, NULL), ($5, $6, 1, 1, $7, $4, $8)",
        vec![
            S("hash-proposal"),
            S("proposal"),
            S("ada@example.org"),
            I(T),
            S("hash-assignment"),
            S("assignment"),
            S("rev1@example.org"),
            I(T + 1_000_000),
        ],
    )
    .await;
}

/// Outbox rows in every state.
async fn fill_outbox(pool: &AnyPool) {
    for (i, (kind, state, recipient, cause, error)) in [
        ("ack", "sent", "ada@example.org", I(1), NS),
        ("draft", "queued", "bob@example.org", I(2), NS),
        ("assignment", "sending", "rev1@example.org", NI, NS),
        ("reminder", "failed", "bob@example.org", NI, S("550 no")),
        (
            "digest",
            "uncertain",
            "chair@example.org",
            NI,
            S("connection lost"),
        ),
        (
            "bounce_alert",
            "suppressed",
            "ghost@example.net",
            NI,
            S("undeliverable"),
        ),
        ("rejection", "queued", "ada@example.org", I(5), NS),
    ]
    .into_iter()
    .enumerate()
    {
        let i = i as i64 + 1;
        let mut q = sqlx::query(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                                 subject, raw, state, attempts, next_attempt_at, last_error,
                                 sent_at, cause_message, bounce_hash, thread_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(format!("{kind}:{i}"))
        .bind(kind)
        .bind(T + i)
        .bind("cfp+b-secret@conf.example")
        .bind(recipient)
        .bind(format!("out{i}@conf.example"))
        .bind(format!("subject {i}"))
        .bind(raw(100 + i))
        .bind(state)
        .bind(i % 3)
        .bind(T + i)
        .bind(match error {
            S(e) => Some(e),
            _ => None,
        })
        .bind((state == "sent").then_some(T + 50));
        q = q.bind(match cause {
            I(c) => Some(c),
            _ => None,
        });
        q.bind(format!("bh{i}"))
            .bind((i == 7).then_some("thread-1"))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Reminders, unsubscriptions, bounces, lease and heartbeat.
async fn fill_the_rest(pool: &AnyPool) {
    let statements: Vec<(&'static str, Vec<V>)> = vec![
        (
            "INSERT INTO reminder_ledger (rule, occurrence, recipient, dedup_key, items, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                S("draft-reminder"),
                I(T),
                S("bob@example.org"),
                S("reminder:draft-reminder:1"),
                S(r#"["P-0002"]"#),
                I(T + 5),
            ],
        ),
        (
            "INSERT INTO reminder_checkpoints (rule, handled_until, updated_at) VALUES ($1, $2, $3)",
            vec![S("draft-reminder"), I(T), I(T + 5)],
        ),
        (
            "INSERT INTO unsubscribe_tokens (hash, address, created_at) VALUES ($1, $2, $3)",
            vec![S("uhash"), S("fan@example.org"), I(T)],
        ),
        (
            "INSERT INTO unsubscribes (address, message_id, created_at) VALUES ($1, NULL, $2)",
            vec![S("old@example.org"), I(T)],
        ),
        (
            "INSERT INTO bounce_events (message_row, outbox_id, address, hard, status, diagnostic, created_at)
             VALUES (6, 6, $1, 1, '5.1.1', 'no such user', $2)",
            vec![S("ghost@example.net"), I(T)],
        ),
        (
            "INSERT INTO undeliverable (address, since, reason, message_row) VALUES ($1, $2, $3, 6)",
            vec![S("ghost@example.net"), I(T), S("hard bounce: 5.1.1")],
        ),
        (
            "INSERT INTO leases (name, holder, expires_at, acquired_at, generation) VALUES ($1, $2, $3, $4, 2)",
            vec![S("daemon"), S("host:1:42:ab"), I(T + 60_000), I(T)],
        ),
        (
            "INSERT INTO heartbeats (name, holder, at) VALUES ($1, $2, $3)",
            vec![S("poll"), S("host:1:42:ab"), I(T + 1)],
        ),
    ];
    for (sql, values) in statements {
        exec(pool, sql, values).await;
    }
}

#[tokio::test]
async fn a_database_from_main_upgrades_in_place_with_every_row_readable() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let old = old_database(&url).await;
    fill(&old).await;
    let before = counts(&old).await;
    assert_eq!(before["messages"], MESSAGES.len() as i64);
    old.close().await;

    let store = Store::connect(&url).await.unwrap();
    assert_eq!(counts(&store.pool).await, before, "no row lost or added");
    let mut c = store.conn().await.unwrap();

    check_messages(&mut c).await;
    check_proposals(&mut c).await;
    check_reviews(&mut c).await;
    check_outbox(&mut c).await;
    check_status(&mut c, store.backend).await;
    // New rows continue after the highest id ever used (14 was deleted).
    let n = store::messages::insert_received_many(
        &mut c,
        &[store::messages::NewMessage {
            source_key: "imap:INBOX:1:14".into(),
            received_at: T + 999,
            arrived_at: T + 990,
            raw: raw(15),
        }],
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let last = store::messages::list(&mut c).await.unwrap();
    assert_eq!(
        last.last().map(|m| (m.id, m.state)),
        Some((15, MessageState::Received))
    );
}

/// Messages: every state and reason as main spelled them, hyphens included.
async fn check_messages(c: &mut AnyConnection) {
    let messages = store::messages::list(c).await.unwrap();
    let got: Vec<(String, MessageState, Option<Reason>, Option<i64>)> = messages
        .iter()
        .map(|m| (m.source_key.clone(), m.state, m.reason, m.proposal_id))
        .collect();
    let want: Vec<(String, MessageState, Option<Reason>, Option<i64>)> = MESSAGES
        .iter()
        .map(|(key, state, reason, proposal, _, _)| {
            (
                format!("imap:INBOX:1:{key}"),
                MessageState::parse(state).unwrap(),
                reason.map(|r| Reason::parse(r).unwrap()),
                *proposal,
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(messages[2].reason, Some(Reason::ReturnPath));
    assert_eq!(messages[3].reason, Some(Reason::AutoReply));
    assert_eq!(messages[4].detail.as_deref(), Some("detail 5"));
    assert_eq!(messages[4].subject.as_deref(), Some("message 5"));
    let pending = store::messages::pending(c, 0, 100, 1 << 20).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id, p.released, p.raw.clone(), p.arrived_at))
            .collect::<Vec<_>>(),
        // Stored before arrival times were kept: they arrived when fetched.
        vec![(7, true, raw(7), T + 7), (11, false, raw(11), T + 11)]
    );
    let undisposed = store::messages::undisposed(c, "imap:", 100).await.unwrap();
    assert_eq!(
        undisposed
            .iter()
            .map(|u| (u.id, u.state))
            .collect::<Vec<_>>(),
        vec![
            (2, MessageState::Draft),
            (3, MessageState::AutoGenerated),
            (6, MessageState::Bounce),
            (8, MessageState::Quarantined),
            (12, MessageState::Rejected),
        ]
    );
    assert_eq!(
        store::messages::cursor(c, "INBOX").await.unwrap(),
        Some((1, 13))
    );
    let ids = store::messages::processed_ids(c, &["m1@example.org".into()])
        .await
        .unwrap();
    assert_eq!(ids.get("m1@example.org"), Some(&1));
}

/// Proposals with their versions, tokens.
async fn check_proposals(c: &mut AnyConnection) {
    let proposals = store::proposals::list(c).await.unwrap();
    assert_eq!(
        proposals
            .iter()
            .map(|p| (p.id, p.status, p.version, p.reviewers_needed))
            .collect::<Vec<_>>(),
        vec![
            (1, ProposalStatus::Submitted, 2, None),
            (2, ProposalStatus::Draft, 1, None),
            (3, ProposalStatus::Withdrawn, 1, None),
            (4, ProposalStatus::Late, 1, Some(3)),
        ]
    );
    let p1 = &proposals[0];
    assert_eq!(p1.fields.title.as_deref(), Some("Async Django, revised"));
    assert_eq!(p1.speaker_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(p1.overrides.add, vec!["web".to_string()]);
    assert_eq!(p1.topics[0].evidence, vec!["django".to_string()]);
    assert_eq!(proposals[1].problems, vec!["The abstract is missing."]);
    assert_eq!(proposals[1].speaker_name, None);
    let versions = store::proposals::versions(c, 1).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].fields.title.as_deref(), Some("Async Django"));
    assert_eq!(store::proposals::version_stamps(c).await.unwrap().len(), 5);
    let t = store::proposals::lookup_token(c, "hash-proposal")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.kind, t.proposal_id), (TokenKind::Proposal, Some(1)));
    let t = store::proposals::lookup_token(c, "hash-assignment")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.kind, t.assignment_id, t.expires_at),
        (TokenKind::Assignment, Some(1), Some(T + 1_000_000))
    );
}

/// Reviewers, assignments, releases, reviews.
async fn check_reviews(c: &mut AnyConnection) {
    let reviewers = store::review::reviewers(c).await.unwrap();
    assert_eq!(reviewers.len(), 2);
    assert_eq!(reviewers[1].conflicts, vec!["example.org".to_string()]);
    let states: Vec<AssignmentState> = store::review::assignments(c)
        .await
        .unwrap()
        .iter()
        .map(|a| a.state)
        .collect();
    assert_eq!(
        states,
        vec![
            AssignmentState::Active,
            AssignmentState::Declined,
            AssignmentState::Active,
            AssignmentState::Conflict,
        ]
    );
    let released = store::review::released_since(c, 0).await.unwrap();
    assert_eq!(
        released
            .iter()
            .map(|r| (r.reference.as_str(), r.kind, r.replacement.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            (
                "P-0004",
                AssignmentState::Declined,
                Some("rev2@example.org")
            ),
            ("P-0003", AssignmentState::Conflict, None),
        ]
    );
    let pending_reviews = store::review::pending_reviews(c).await.unwrap();
    assert_eq!(
        pending_reviews
            .iter()
            .map(|p| p.assignment_id)
            .collect::<Vec<_>>(),
        vec![3]
    );
    let history = store::reviews::history(c, 1).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|r| (r.version, r.current, r.score, r.confidence))
            .collect::<Vec<_>>(),
        vec![(1, false, 3, None), (2, true, 4, Some(2))]
    );
    assert_eq!(history[1].message_row, Some(10));
}

/// The outbox in every state.
async fn check_outbox(c: &mut AnyConnection) {
    let outbox = store::outbox::list(c).await.unwrap();
    assert_eq!(
        outbox.iter().map(|o| (o.kind, o.state)).collect::<Vec<_>>(),
        vec![
            (MailKind::Ack, OutboxState::Sent),
            (MailKind::Draft, OutboxState::Queued),
            (MailKind::Assignment, OutboxState::Sending),
            (MailKind::Reminder, OutboxState::Failed),
            (MailKind::Digest, OutboxState::Uncertain),
            (MailKind::BounceAlert, OutboxState::Suppressed),
            (MailKind::Rejection, OutboxState::Queued),
        ]
    );
    assert_eq!(outbox[3].last_error.as_deref(), Some("550 no"));
    // 0021: the bytes moved to `outbox_raw`; the due mails are claimed with them.
    let due = store::outbox::claim_due(c, T + 100, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.id, d.raw.clone()))
            .collect::<Vec<_>>(),
        vec![(2, raw(102)), (7, raw(107))]
    );
    // Not offered after all: back in the queue as they were.
    let back: Vec<_> = due
        .iter()
        .map(|d| (d.id, store::outbox::Settled::NotTried))
        .collect();
    store::outbox::settle(c, &back, T + 100).await.unwrap();
    // 0022: queued mail is found through the list the triggers keep, which
    // follows every state change: claimed again, one sent, one retried later.
    let again = store::outbox::claim_due(c, T + 100, 10).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), vec![2, 7]);
    let outcomes = [
        (2, store::outbox::Settled::Sent { redacted: None }),
        (
            7,
            store::outbox::Settled::Retry {
                error: "451 later".into(),
                next: T + 500,
            },
        ),
    ];
    store::outbox::settle(c, &outcomes, T + 100).await.unwrap();
    assert!(store::outbox::claim_due(c, T + 499, 10)
        .await
        .unwrap()
        .is_empty());
    let later = store::outbox::claim_due(c, T + 500, 10).await.unwrap();
    assert_eq!(later.iter().map(|d| d.id).collect::<Vec<_>>(), vec![7]);
    store::outbox::settle(c, &[(7, store::outbox::Settled::NotTried)], T + 500)
        .await
        .unwrap();
    assert_eq!(
        store::outbox::kind_count(c, "ada@example.org", MailKind::Rejection, 0)
            .await
            .unwrap(),
        1
    );
    // 0014: the rows are counted per mailbox (backfilled), however it is spelled,
    // and none is held.
    assert_eq!(
        store::outbox::kind_count(c, "ADA+cfp@Example.org", MailKind::Rejection, 0)
            .await
            .unwrap(),
        1
    );
    let counts = store::outbox::reply_counts(c, &["ada@example.org".to_string()], 0)
        .await
        .unwrap();
    assert_eq!(counts.get("ada@example.org"), Some(&2));
    assert!(store::outbox::held(c).await.unwrap().is_empty());
    assert!(outbox.iter().all(|o| o.hold.is_none()));
    assert_eq!(
        store::outbox::by_bounce_hash(c, "bh6").await.unwrap(),
        Some((6, "ghost@example.net".into()))
    );
}

/// Reminders, bounces, lease and heartbeat: the status snapshot.
async fn check_status(c: &mut AnyConnection, backend: store::Backend) {
    let ledger = store::reminders::ledger(c).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].items, vec!["P-0002".to_string()]);
    assert_eq!(
        store::reminders::checkpoints(c)
            .await
            .unwrap()
            .get("draft-reminder"),
        Some(&T)
    );
    assert_eq!(store::bounces::list(c).await.unwrap().len(), 1);
    let s = store::status::snapshot(c, backend, "daemon").await.unwrap();
    assert_eq!(
        store::status::Snapshot::count(&s.messages, MessageState::AutoGenerated),
        2
    );
    assert!(s
        .message_reasons
        .contains(&(MessageState::AutoGenerated, Reason::ReturnPath, 1)));
    // Two were queued; one of them was sent above (0022's check).
    assert_eq!(
        store::status::Snapshot::count(&s.outbox, OutboxState::Queued),
        1
    );
    assert_eq!(
        store::status::Snapshot::count(&s.proposals, ProposalStatus::Late),
        1
    );
    assert_eq!(
        (s.bounces_hard, s.undeliverable, s.reviews_pending),
        (1, 1, 1)
    );
    assert_eq!(s.lease.map(|l| l.generation), Some(2));
    assert_eq!(s.last_poll.map(|p| p.at), Some(T + 1));
}

#[tokio::test]
async fn after_the_upgrade_unknown_values_and_dangling_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let old = old_database(&url).await;
    fill(&old).await;
    old.close().await;
    let store = Store::connect(&url).await.unwrap();
    let before = counts(&store.pool).await;
    let mut c = store.conn().await.unwrap();
    for sql in [
        "UPDATE messages SET state = 'processed' WHERE id = 1",
        "UPDATE messages SET reason = 'return_path' WHERE id = 3",
        "UPDATE proposals SET status = 'accepted' WHERE id = 1",
        "UPDATE tokens SET kind = 'speaker' WHERE hash = 'hash-proposal'",
        "UPDATE outbox SET state = 'delivered' WHERE id = 1",
        "UPDATE outbox SET kind = 'newsletter' WHERE id = 1",
        "UPDATE assignments SET state = 'gone' WHERE id = 1",
    ] {
        let err = sqlx::query(sql).execute(&mut *c).await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("check"),
            "{sql}: {err}"
        );
    }
    // Every enum spelling is still accepted by its column.
    let spellings = [
        (
            "UPDATE messages SET state = $1 WHERE id = 1",
            MessageState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "UPDATE messages SET reason = $1 WHERE id = 1",
            Reason::ALL.iter().map(|r| r.as_str()).collect(),
        ),
        (
            "UPDATE outbox SET kind = $1 WHERE id = 1",
            MailKind::ALL.iter().map(|k| k.as_str()).collect(),
        ),
    ];
    for (sql, values) in spellings {
        for v in values {
            sqlx::query(sql).bind(v).execute(&mut *c).await.unwrap();
        }
    }
    // The rebuilt tables are still referenced: foreign keys survived.
    let err = sqlx::query("INSERT INTO message_raw (id, raw) VALUES (9999, $1)")
        .bind(vec![0u8])
        .execute(&mut *c)
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("foreign key"),
        "{err}"
    );
    let err = sqlx::query("DELETE FROM proposals WHERE id = 1")
        .execute(&mut *c)
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("foreign key"),
        "{err}"
    );
    if store.backend == store::Backend::Sqlite {
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *c)
            .await
            .unwrap();
        assert!(broken.is_empty(), "{} dangling references", broken.len());
    }
    drop(c);
    assert_eq!(counts(&store.pool).await, before);
}

/// Issue 14 item 5: mails that were final before cfpd erased reply tokens
/// (sent, failed, suppressed) lose them at the first start after the upgrade;
/// queued and uncertain ones keep them (they may still be sent).
#[tokio::test]
async fn tokens_in_mails_already_sent_are_erased_by_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let old = old_database(&url).await;
    let token = "abcdefghijklmnopqrstuvwxyz234567";
    let states = ["sent", "failed", "suppressed", "queued", "uncertain"];
    for (i, state) in states.iter().enumerate() {
        let raw = format!(
            "From: cfp@conf.example\r\nReply-To: <cfp+{token}@conf.example>\r\n\
             Subject: s\r\n\r\nOr write to cfp+{token}@conf.example.\r\n"
        );
        sqlx::query(
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                                 subject, raw, state, attempts, next_attempt_at, bounce_hash)
             VALUES ($1, 'ack', $2, $3, 'ada@example.org', $4, 's', $5, $6, 0, $2, $7)",
        )
        .bind(format!("k{i}"))
        .bind(T)
        .bind(format!("cfp+b-{token}@conf.example"))
        .bind(format!("m{i}@conf.example"))
        .bind(raw.into_bytes())
        .bind(*state)
        .bind(format!("bh{i}"))
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;
    let store = Store::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT o.state, r.raw, r.compressed, o.envelope_from FROM outbox o
         JOIN outbox_raw r ON r.id = o.id ORDER BY o.id",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), states.len());
    for r in rows {
        let state: String = r.get("state");
        let raw = cfpd::store::packed::unpack(r.get("raw"), r.get::<i64, _>("compressed") == 1);
        let raw = String::from_utf8(raw.unwrap()).unwrap();
        let from: String = r.get("envelope_from");
        let kept = state == "queued" || state == "uncertain";
        assert_eq!(raw.contains(token), kept, "{state}: {raw}");
        assert_eq!(from.contains(token), kept, "{state}: {from}");
        if !kept {
            assert!(
                raw.contains("Reply-To: <cfp+redacted@conf.example>"),
                "{raw}"
            );
        }
    }
    // Done once: the list is empty and a second start changes nothing.
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox_redact_pending")
        .fetch_one(&store.pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 0);
    store.close().await;
    let again = Store::connect(&url).await.unwrap();
    let mut c = again.conn().await.unwrap();
    assert_eq!(store::outbox::redact_backlog(&mut c).await.unwrap(), 0);
}

/// Issue 15: migration 0015 adds decisions and the `decision` mail kind (on
/// SQLite by rebuilding the outbox). A database of main as of 0014 keeps its
/// held mail, its mailbox keys and its outbox ids: a new mail never reuses the
/// id of one ever queued.
#[tokio::test]
async fn a_database_at_0014_keeps_held_mail_and_outbox_ids_through_0015() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let old = support::database_at(&url, 14).await;
    // Ids as the database hands them out (1, 2, 3); the last is then deleted.
    for (n, key, hold) in [
        (1, "reply:msg:1", S("address_cap")),
        (2, "reply:msg:2", NS),
        (3, "gone", NS),
    ] {
        exec(
            &old,
            "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient,
                                 message_id, subject, raw, state, next_attempt_at, mailbox, hold,
                                 cause_message)
             VALUES ($1, 'ack', $2, 'b@x', 'Ada+cfp@Example.org', $3, 's', $4, 'queued', $2,
                     'ada@example.org', $5, $6)",
            vec![S(key), I(T), S("m@x"), B(raw(n)), hold, I(n)],
        )
        .await;
    }
    exec(&old, "DELETE FROM outbox WHERE dedup_key = 'gone'", vec![]).await;
    // A message waiting for intake, delivered before it was fetched: 0015
    // rebuilds messages, and its arrival time decides deadlines.
    exec(
        &old,
        "INSERT INTO messages (source_key, received_at, size, sha256, state, arrived_at)
         VALUES ('imap:INBOX:1:1', $1, 3, 'h', 'received', $2)",
        vec![I(T), I(T - 5_000)],
    )
    .await;
    exec(
        &old,
        "INSERT INTO message_raw (id, raw) SELECT id, $1 FROM messages",
        vec![B(raw(1))],
    )
    .await;
    old.close().await;

    let store = Store::connect(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let pending = store::messages::pending(&mut c, 0, 10, 1 << 30)
        .await
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.raw.clone(), p.arrived_at))
            .collect::<Vec<_>>(),
        vec![(raw(1), T - 5_000)],
        "the arrival time survives the rebuild"
    );
    let held = store::outbox::held(&mut c).await.unwrap();
    assert_eq!(held.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1]);
    assert_eq!(
        store::outbox::kind_count(&mut c, "ada@example.org", MailKind::Ack, 0)
            .await
            .unwrap(),
        1,
        "the held mail counts towards no cap; the other is counted by its mailbox"
    );
    let queued = store::outbox::queue(
        &mut c,
        &store::outbox::NewMail {
            dedup_key: "decision:1:1:ada@example.org".into(),
            kind: MailKind::Decision,
            envelope_from: "b@x".into(),
            recipient: "ada@example.org".into(),
            message_id: "d@x".into(),
            subject: "decided".into(),
            raw: raw(9),
            packed: None,
            reply_secret: None,
            cause_message: None,
            bounce_hash: None,
            thread_key: None,
        },
        T,
    )
    .await
    .unwrap();
    assert!(queued);
    let ids: Vec<(i64, MailKind)> = store::outbox::list(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o.kind))
        .collect();
    assert_eq!(
        ids,
        vec![
            (1, MailKind::Ack),
            (2, MailKind::Ack),
            (4, MailKind::Decision)
        ],
        "id 3 was used once and is never handed out again"
    );
    let err = sqlx::query("UPDATE outbox SET hold = 'whenever' WHERE id = 1")
        .execute(&mut *c)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("check"), "{err}");
    let err = sqlx::query(
        "INSERT INTO decisions (proposal_id, version, decision, source, decided_by,
                                decided_at, is_current)
         VALUES (1, 1, 'maybe', 'cli', 'x', 0, 1)",
    )
    .execute(&mut *c)
    .await
    .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("check"), "{err}");
}

/// Issues 16 and 17: 0016 widens the outbox's and messages' CHECKs (chair
/// holds, cancelled mail, forwards, bids) and 0017 the assignments'
/// (removed), both by rebuilding on SQLite, and
/// adds `chair_actions` and three columns. A database at 0015 keeps its
/// assignments and their ids, its held mail (still released by intake, not
/// mistaken for a chair's hold) and its withdrawn proposals, which restore
/// to what their record makes them.
#[tokio::test]
async fn a_database_at_0015_keeps_assignments_held_mail_and_ids_through_0017() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(dir.path()).await;
    let old = support::database_at(&url, 15).await;
    exec(
        &old,
        "INSERT INTO speakers (email, name, created_at) VALUES ('ada@example.org', 'Ada', $1)",
        vec![I(T)],
    )
    .await;
    exec(
        &old,
        "INSERT INTO proposals (speaker_id, status, current_version, created_at, updated_at)
         VALUES (1, 'withdrawn', 1, $1, $1)",
        vec![I(T)],
    )
    .await;
    exec(
        &old,
        "INSERT INTO proposal_versions (proposal_id, version, created_at, fields, problems, topics)
         VALUES (1, 1, $1, $2, '[]', '[]')",
        vec![I(T), S(r#"{"title":"Gone"}"#)],
    )
    .await;
    for email in ["r1@example.org", "r2@example.org", "r3@example.org"] {
        exec(
            &old,
            "INSERT INTO reviewers (email, topics, min_load, max_load, conflicts, created_at,
                                    updated_at)
             VALUES ($1, '[]', 0, 3, '[]', $2, $2)",
            vec![S(email), I(T)],
        )
        .await;
    }
    for (r, state) in [(1, "active"), (2, "declined"), (3, "active")] {
        exec(
            &old,
            "INSERT INTO assignments (proposal_id, reviewer_id, affinity, state, created_at)
             VALUES (1, $1, 0, $2, $3)",
            vec![I(r), S(state), I(T)],
        )
        .await;
    }
    exec(&old, "DELETE FROM assignments WHERE id = 3", vec![]).await;
    exec(
        &old,
        "INSERT INTO outbox (dedup_key, kind, created_at, envelope_from, recipient, message_id,
                             subject, raw, state, next_attempt_at, mailbox, hold, cause_message)
         VALUES ('reply:msg:1', 'ack', $1, 'b@x', 'ada@example.org', 'm@x', 's', $2, 'queued',
                 $1, 'ada@example.org', 'address_cap', 1)",
        vec![I(T), B(raw(1))],
    )
    .await;
    old.close().await;

    let store = Store::connect(&url).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let states: Vec<(i64, AssignmentState)> = store::review::assignments(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.state))
        .collect();
    assert_eq!(
        states,
        vec![(1, AssignmentState::Active), (2, AssignmentState::Declined)]
    );
    let new = store::review::insert_assignment(&mut c, 1, 3, 0, T)
        .await
        .unwrap();
    assert_eq!(
        new,
        Some(4),
        "id 3 was used once and is never handed out again"
    );
    assert!(store::fixes::unassign(&mut c, 4, T).await.unwrap());
    assert_eq!(
        store::review::assignment(&mut c, 4)
            .await
            .unwrap()
            .unwrap()
            .state,
        AssignmentState::Removed
    );
    // Withdrawn before 0017: no earlier status kept; the rule falls back.
    assert_eq!(store::fixes::withdrawn_from(&mut c, 1).await.unwrap(), None);
    assert_eq!(
        store::proposals::versions(&mut c, 1).await.unwrap()[0].edited_by,
        None
    );
    // The held ack is still intake's to release; once a chair holds it, it is not.
    let held = store::outbox::held(&mut c).await.unwrap();
    assert_eq!(held.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1]);
    assert!(store::fixes::hold(&mut c, 1).await.unwrap());
    assert!(store::outbox::held(&mut c).await.unwrap().is_empty());
    assert_eq!(store::outbox::release(&mut c, &[1], T).await.unwrap(), 0);
    assert!(store::fixes::cancel(&mut c, 1, "Grace").await.unwrap());
    let row = &store::outbox::list(&mut c).await.unwrap()[0];
    assert_eq!((row.state, row.hold), (OutboxState::Cancelled, None));
    for bad in [
        "UPDATE assignments SET state = 'gone' WHERE id = 1",
        "UPDATE outbox SET state = 'gone' WHERE id = 1",
        "UPDATE proposals SET withdrawn_from = 'gone' WHERE id = 1",
    ] {
        let err = sqlx::query(bad).execute(&mut *c).await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("check"),
            "{bad}: {err}"
        );
    }
}
