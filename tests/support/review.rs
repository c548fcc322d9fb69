//! The review tests' world: proposals submitted, a roster imported, assignments
//! committed and mailed; and what the database says about reviews afterwards.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

/// How long to wait for mail that should arrive.
pub const T: Duration = Duration::from_secs(20);

/// Submit proposals (speaker, title, topic), import the roster, commit the assignment and
/// send the mails; `at` pins the clock: (when proposals arrive, when review starts).
pub async fn setup(
    w: &World,
    proposals: &[(&str, &str, &str)],
    roster: &str,
    at: Option<(&str, &str)>,
) {
    let submit = |args: &[&str]| match at {
        Some((t, _)) => w.cfpd_at(t, args),
        None => w.cfpd(args),
    };
    let run = |args: &[&str]| match at {
        Some((_, t)) => w.cfpd_at(t, args),
        None => w.cfpd(args),
    };
    for (i, (from, title, topic)) in proposals.iter().enumerate() {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    from,
                    CFP,
                    &format!("prop{i}@speakers.example"),
                    "Proposal",
                    &proposal_with(title, topic),
                ),
            )
            .await;
    }
    submit(&["run", "--once"]);
    let path = w.dir.path().join("roster.csv");
    std::fs::write(&path, roster).unwrap();
    run(&["reviewers", "import", path.to_str().unwrap()]);
    let out = run(&["assign", "--commit"]);
    assert!(out.contains("committed"), "{out}");
    run(&["run", "--once"]);
}

/// The mail in `user`'s INBOX whose subject contains `needle` (the last one if several).
pub async fn mail_with_subject(w: &World, user: &str, needle: &str, n_expected: usize) -> Vec<u8> {
    let inbox = w.dovecot.wait_for(user, n_expected, T).await;
    inbox
        .into_iter()
        .rev()
        .find(|m| parsed(m).subject().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no mail with {needle:?} for {user}"))
}

pub async fn inbox(w: &World, user: &str) -> Vec<Vec<u8>> {
    w.dovecot.fetch_all(user, "INBOX").await
}

/// (state, reason, detail) of every inbound message, in arrival order.
pub async fn messages(w: &World) -> Vec<(String, Option<String>, Option<String>)> {
    w.messages()
        .await
        .into_iter()
        .map(|r| (r.state, r.reason, r.detail))
        .collect()
}

/// (reviewer email, proposal id) → assignment id.
pub async fn assignment_ids(w: &World) -> HashMap<(String, i64), i64> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let revs = cfpd::store::review::reviewers(&mut c).await.unwrap();
    let email: HashMap<i64, String> = revs.into_iter().map(|r| (r.id, r.email)).collect();
    cfpd::store::review::assignments(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|a| ((email[&a.reviewer_id].clone(), a.proposal_id), a.id))
        .collect()
}

pub async fn history(w: &World, assignment: i64) -> Vec<cfpd::store::reviews::StoredReview> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::reviews::history(&mut c, assignment)
        .await
        .unwrap()
}

pub async fn review_count(w: &World) -> i64 {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::reviews::count_versions(&mut c).await.unwrap()
}

pub fn header(raw: &[u8], name: &str) -> Option<String> {
    parsed(raw)
        .header(name)
        .and_then(|h| h.as_text())
        .map(str::to_string)
}

/// A client-style reply and what must be recorded from it: (reviewer, proposal id, raw
/// reply, score, confidence, comments for the speaker, comments for the committee).
pub type Case = (
    &'static str,
    i64,
    Vec<u8>,
    i64,
    Option<i64>,
    &'static str,
    &'static str,
);

pub const ROSTER3: &str = "email,name,topics,max_load\n\
    rita@cs.uni.edu,Rita,frontend;database,5\n\
    sam@other.org,Sam,frontend;database,5\n\
    tom@tom.example,Tom,frontend;database,5\n";
