//! Reviewer assignment end to end on real servers: roster import, an
//! optimal conflict-free assignment, one blind mail per assignment in each
//! reviewer's mailbox, nothing new on a second commit, and an infeasible
//! roster refused with reasons.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::*;

fn body_with(title: &str, topics: &str, bio: &str) -> String {
    format!(
        "Title: {title}\nFormat: talk-25\nAudience: beginner\nTopics: {topics}\nAbstract:\n  About {topics}.\nDescription:\n  Details about {topics}.\nBio:\n  {bio}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn assignments_are_mailed_blind_once_each_and_respect_conflicts() {
    if !servers_available() {
        return;
    }
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    let speakers = [
        (
            "Ada Lovelace <ada@uni.edu>",
            "HTMX at scale",
            "frontend",
            "Ada Lovelace teaches.",
        ),
        (
            "Bob Tables <bob@gmail.com>",
            "ORM tricks",
            "database",
            "Bob Tables writes SQL.",
        ),
        (
            "Carol Cipher <carol@corp.example>",
            "Stopping fraud",
            "security",
            "Carol Cipher hunts bugs.",
        ),
    ];
    for (i, (from, title, topics, bio)) in speakers.iter().enumerate() {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    from,
                    CFP,
                    &format!("a{i}@x"),
                    "p",
                    &body_with(title, topics, bio),
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load,min_load,conflicts\n\
         rita@cs.uni.edu,Rita,frontend;database,3,0,\n\
         sam@other.org,Sam,frontend;security,3,0,\n\
         tom@gmail.com,Tom,database;security,3,0,\n\
         uma@x.org,Uma,security;frontend,3,0,carol@corp.example\n",
    )
    .unwrap();
    let out = w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    assert!(out.contains("4 new"), "{out}");
    // Re-import updates, never duplicates.
    let out = w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    assert!(out.contains("0 new, 4 updated"), "{out}");
    let preview = w.cfpd(&["assign", "--preview"]);
    assert!(
        preview.contains("6 new pair(s)") && preview.contains("nothing stored"),
        "{preview}"
    );
    assert!(preview.contains("both at uni.edu"), "{preview}");
    assert!(
        preview.contains("lists \"carol@corp.example\""),
        "{preview}"
    );
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(out.contains("6 mail(s) queued"), "{out}");
    w.cfpd(&["run", "--once"]);

    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let assignments = cfpd::store::review::assignments(&mut c).await.unwrap();
    let reviewers = cfpd::store::review::reviewers(&mut c).await.unwrap();
    assert_eq!(assignments.len(), 6);
    let email_of: HashMap<i64, String> =
        reviewers.iter().map(|r| (r.id, r.email.clone())).collect();
    // Rita (uni.edu) never gets Ada's (uni.edu) proposal; Uma never gets Carol's.
    for a in &assignments {
        let who = &email_of[&a.reviewer_id];
        assert!(
            !(a.proposal_id == 1 && who == "rita@cs.uni.edu"),
            "institution conflict"
        );
        assert!(
            !(a.proposal_id == 3 && who == "uma@x.org"),
            "listed conflict"
        );
    }
    for r in &reviewers {
        let user = r.email.split('@').next().unwrap();
        let want = assignments.iter().filter(|a| a.reviewer_id == r.id).count();
        let inbox = w
            .dovecot
            .wait_for(user, want, Duration::from_secs(20))
            .await;
        assert_eq!(
            inbox.len(),
            want,
            "{} holds exactly their assignments",
            r.email
        );
        for raw in &inbox {
            let text = String::from_utf8_lossy(raw).to_lowercase() + &body(raw).to_lowercase();
            for (from, _, _, _) in &speakers {
                let (name, addr) = from.split_once(" <").unwrap();
                assert!(
                    !text.contains(&name.to_lowercase()),
                    "speaker name leaked to {}",
                    r.email
                );
                assert!(
                    !text.contains(addr.trim_end_matches('>')),
                    "speaker address leaked to {}",
                    r.email
                );
            }
            let b = body(raw);
            assert!(b.contains("Score: (1-5)"), "{b}");
            assert!(reply_to(raw).starts_with("cfp+"), "token reply address");
        }
    }
    // Committing again sends nothing new.
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(
        out.contains("0 new pair(s)") && out.contains("0 mail(s) queued"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    let total: usize = {
        let mut n = 0;
        for u in ["rita", "sam", "tom", "uma"] {
            n += w.dovecot.fetch_all(u, "INBOX").await.len();
        }
        n
    };
    assert_eq!(total, 6);

    // A proposal that arrives later, with its own reviewer count, is filled
    // incrementally; existing assignments stay as they are.
    w.dovecot
        .append(
            "cfp",
            &mail(
                "dan@late.example",
                CFP,
                "a9@x",
                "p",
                &body_with("Late talk", "database", "Dan."),
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["proposals", "reviewers", "P-0004", "1"]);
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(
        out.contains("1 new pair(s), 6 kept") && out.contains("1 mail(s) queued"),
        "{out}"
    );
    let after = cfpd::store::review::assignments(&mut c).await.unwrap();
    assert_eq!(
        &after[..6],
        &assignments[..],
        "existing assignments untouched"
    );
    assert_eq!(after.len(), 7);
    assert_eq!(after[6].proposal_id, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infeasible_roster_is_refused_naming_proposals_and_reasons() {
    if !servers_available() {
        return;
    }
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    w.dovecot
        .append(
            "cfp",
            &mail(
                "ada@uni.edu",
                CFP,
                "i1@x",
                "p",
                &body_with("T", "frontend", "b"),
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\nsam@other.org,Sam,frontend,5\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    let out = w.cfpd_raw(&["assign", "--commit"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("P-0001"), "{err}");
    assert!(err.contains("no valid assignment"), "{err}");
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    assert!(cfpd::store::review::assignments(&mut c)
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn roster_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfpd.toml");
    std::fs::write(
        &cfg,
        "[conference]\nname = \"X\"\ncfp_address = \"cfp@x.example\"\ntime_zone = \"AoE\"\ncfp_deadline = \"2099-01-01\"\n[mailbox]\nkind = \"maildir\"\npath = \"in\"\n[outgoing]\nkind = \"folder\"\npath = \"out\"\n",
    )
    .unwrap();
    let roster = dir.path().join("r.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\na@x.org,A,frontend,2\nb@x.org,B,knitting,2\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cfpd"))
        .arg("--config")
        .arg(&cfg)
        .args(["reviewers", "import"])
        .arg(&roster)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("r.csv:3: column 3 (topics)"), "{err}");
    assert!(err.contains("knitting"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn claimed_co_speakers_cannot_veto_reviewers() {
    if !servers_available() {
        return;
    }
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    // Each attacker (a webmail speaker) names one co-speaker at every reviewer's
    // institution; one also names a reviewer exactly; one speaker really is at uni.edu.
    let everywhere = "a@cs.uni.edu, b@other.org, c@x.org, d@corp.example";
    let proposals = [
        ("eve@gmail.com", everywhere.to_string()),
        ("mallory@gmail.com", format!("{everywhere}, sam@other.org")),
        (
            "ada@uni.edu",
            "e@other.org, f@x.org, g@corp.example".to_string(),
        ),
    ];
    for (i, (from, co)) in proposals.iter().enumerate() {
        let body = format!(
            "{}Co-speakers: {co}\n",
            body_with(&format!("Talk {i}"), "frontend", "A speaker.")
        );
        w.dovecot
            .append("cfp", &mail(from, CFP, &format!("c{i}@x"), "p", &body))
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend,3\n\
         sam@other.org,Sam,frontend,3\n\
         uma@x.org,Uma,frontend,3\n\
         vic@corp.example,Vic,frontend,3\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    let out = w.cfpd_raw(&["assign", "--commit"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("6 mail(s) queued"), "{text}");
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let assignments = cfpd::store::review::assignments(&mut c).await.unwrap();
    let reviewers = cfpd::store::review::reviewers(&mut c).await.unwrap();
    let email_of: HashMap<i64, String> =
        reviewers.iter().map(|r| (r.id, r.email.clone())).collect();
    for p in 1..=3 {
        let n = assignments.iter().filter(|a| a.proposal_id == p).count();
        assert_eq!(n, 2, "P-{p:04} has its reviewers");
    }
    for a in &assignments {
        let who = email_of[&a.reviewer_id].as_str();
        assert!(
            !(a.proposal_id == 2 && who == "sam@other.org"),
            "a co-speaker naming the reviewer exactly blocks them"
        );
        assert!(
            !(a.proposal_id == 3 && who == "rita@cs.uni.edu"),
            "the verified speaker's institution still blocks"
        );
    }
}
