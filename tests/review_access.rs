//! Who may review what, and until when, end to end on real servers (Dovecot + SMTP):
//! forged, mismatched and misthreaded replies record nothing; the review deadline closes
//! and reply tokens expire; a decline or a declared conflict releases the assignment to
//! the next best reviewer. Runs against SQLite, and against PostgreSQL when
//! `CFPD_TEST_DATABASE=postgres`.

mod support;

use support::clients::*;
use support::review::*;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn forged_missing_mismatched_and_misthreaded_replies_record_nothing() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 2\n").await;
    setup(
        &w,
        &[
            ("Ada <ada@a.example>", "Secret frontend talk", "frontend"),
            ("Bob <bob@b.example>", "Hidden database talk", "database"),
        ],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend;database,5\nsam@other.org,Sam,frontend;database,5\n",
        None,
    )
    .await;
    let rita_p1 = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 2).await);
    let rita_p2 = orig(&mail_with_subject(&w, "rita", "Review P-0002:", 2).await);
    let review = "Score: 5\nComments for the speaker:\nFORGED-CONTENT";
    let subject1 = format!("Re: {}", rita_p1.subject);
    let replies = [
        // 1. Valid token, forged From (an outsider).
        raw_reply(
            "Eve <eve@evil.example>",
            &rita_p1.reply_to,
            &subject1,
            "s1@evil.example",
            Some(&rita_p1.message_id),
            review,
        ),
        // 2. Valid token, From forged as another reviewer.
        raw_reply(
            "Sam <sam@other.org>",
            &rita_p1.reply_to,
            &subject1,
            "s2@evil.example",
            None,
            review,
        ),
        // 3. Valid token, From differs only in the local part's case / by a look-alike letter.
        raw_reply(
            "Rita@cs.uni.edu",
            &rita_p1.reply_to,
            &subject1,
            "s3@evil.example",
            None,
            review,
        ),
        raw_reply(
            "rіta@cs.uni.edu",
            &rita_p1.reply_to,
            &subject1,
            "s4@evil.example",
            None,
            review,
        ),
        // 4. The right From, no token.
        raw_reply(
            "Rita <rita@cs.uni.edu>",
            CFP,
            &subject1,
            "s5@cs.uni.edu",
            None,
            review,
        ),
        // 5. P-0001's token with P-0002's subject.
        raw_reply(
            "Rita <rita@cs.uni.edu>",
            &rita_p1.reply_to,
            &format!("Re: {}", rita_p2.subject),
            "s6@cs.uni.edu",
            None,
            review,
        ),
        // 6. In-Reply-To pointing at another assignment: without a token…
        raw_reply(
            "Rita <rita@cs.uni.edu>",
            CFP,
            "Re: my review",
            "s7@cs.uni.edu",
            Some(&rita_p2.message_id),
            review,
        ),
        //    …and through P-0001's token.
        raw_reply(
            "Rita <rita@cs.uni.edu>",
            &rita_p1.reply_to,
            "Re: my review",
            "s8@cs.uni.edu",
            Some(&rita_p2.message_id),
            review,
        ),
    ];
    for r in &replies {
        w.dovecot.append("cfp", r).await;
    }
    let out = w.cfpd(&["run", "--once"]);
    // The refusal to the Cyrillic look-alike cannot be delivered (no SMTPUTF8 here); it
    // fails alone, and the mail sent after it on the same connection still goes out.
    assert!(out.contains("1 failed or uncertain"), "{out}");
    assert_eq!(review_count(&w).await, 0, "nothing recorded");
    let reasons: Vec<(String, Option<String>)> = messages(&w)
        .await
        .into_iter()
        .skip(2) // the two proposals
        .map(|(s, r, _)| (s, r))
        .collect();
    let rejected = |r: &str| ("rejected".to_string(), Some(r.to_string()));
    assert_eq!(
        reasons,
        vec![
            rejected("reviewer_mismatch"),
            rejected("reviewer_mismatch"),
            rejected("reviewer_mismatch"),
            rejected("reviewer_mismatch"),
            rejected("review_without_token"),
            rejected("assignment_mismatch"),
            rejected("review_without_token"),
            rejected("assignment_mismatch"),
        ]
    );
    assert_eq!(
        w.cfpd(&["proposals", "list"]).matches("P-00").count(),
        2,
        "a review without a token never becomes a proposal"
    );
    // The forger and the forged-as reviewer learn nothing about the assignment.
    let leaks = [
        "P-0001",
        "P-0002",
        "Secret",
        "Hidden",
        "FORGED-CONTENT",
        "rita@",
    ];
    let eve = w.dovecot.wait_for("eve", 1, T).await;
    assert_eq!(eve.len(), 1);
    let sam = w.dovecot.wait_for("sam", 3, T).await;
    assert_eq!(sam.len(), 3, "2 assignments + 1 refusal");
    for m in eve.iter().chain(
        sam.iter()
            .filter(|m| !parsed(m).subject().unwrap_or("").contains("Review P-")),
    ) {
        let all = String::from_utf8_lossy(m).to_string() + &body(m);
        for leak in leaks {
            assert!(!all.contains(leak), "{leak} leaked: {all}");
        }
        assert!(body(m).contains("nothing was recorded"), "{}", body(m));
        assert!(
            header(m, "Reply-To").is_none(),
            "a refusal carries no token"
        );
    }
    // Rita hears about her own mistakes (no token, mismatches). The test mail server, like
    // many, folds the local part's case, so the refusal to "Rita@cs.uni.edu" reaches her
    // too — and says nothing.
    let rita = w.dovecot.wait_for("rita", 7, T).await;
    let refusals: Vec<String> = rita
        .iter()
        .map(|m| body(m))
        .filter(|b| b.contains("nothing was recorded"))
        .collect();
    assert_eq!(refusals.len(), 5, "{refusals:#?}");
    assert!(!refusals.iter().any(|b| b.contains("FORGED-CONTENT")));
    let count = |needle: &str| refusals.iter().filter(|b| b.contains(needle)).count();
    assert_eq!(count("cfp@conf.example directly"), 2, "{refusals:#?}");
    assert_eq!(
        count("from Rita@cs.uni.edu, but the address"),
        1,
        "{refusals:#?}"
    );
    assert_eq!(count("subject refers to P-0002"), 1, "{refusals:#?}");
    assert_eq!(
        count("In-Reply-To header refers to P-0002"),
        1,
        "{refusals:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn review_deadline_closes_and_tokens_expire() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "cfp_deadline = \"2099-04-24T23:59:59\"",
        "cfp_deadline = \"2024-04-24T23:59:59\"\nreview_deadline = \"2024-05-20T23:59:59\"",
    );
    std::fs::write(&w.config, cfg).unwrap();
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        Some(("2024-04-01T10:00:00Z", "2024-04-30T10:00:00Z")),
    )
    .await;
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    let send = |mid: &str, from: &str, score: i64| {
        raw_reply(
            from,
            &a.reply_to,
            &format!("Re: {}", a.subject),
            mid,
            Some(&a.message_id),
            &format!("Score: {score}"),
        )
    };
    // Before the deadline (23:59:59 AoE = 11:59:59 UTC the next day): recorded.
    w.dovecot
        .append("cfp", &send("d1@x", "rita@cs.uni.edu", 4))
        .await;
    w.cfpd_at("2024-05-21T11:59:59Z", &["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 4)", 2).await;
    // One second later: "the review period is closed", the earlier review stands.
    w.dovecot
        .append("cfp", &send("d2@x", "rita@cs.uni.edu", 1))
        .await;
    w.cfpd_at("2024-05-21T12:00:00Z", &["run", "--once"]);
    let closed = mail_with_subject(&w, "rita", "the review period is closed", 3).await;
    let text = body(&closed);
    assert!(
        text.contains("ended\n2024-05-20 23:59 AoE (2024-05-21 11:59 UTC),\n")
            && text.contains("the review you sent before the deadline stands"),
        "{text}"
    );
    // Weeks later the token itself has expired: only its reviewer hears about it.
    w.dovecot
        .append("cfp", &send("d3@x", "rita@cs.uni.edu", 1))
        .await;
    w.dovecot
        .append("cfp", &send("d4@x", "eve@evil.example", 1))
        .await;
    w.cfpd_at("2024-07-01T00:00:00Z", &["run", "--once"]);
    let expired = mail_with_subject(&w, "rita", "reply address expired", 4).await;
    assert!(
        body(&expired).contains("has expired, so\nnothing was recorded"),
        "{}",
        body(&expired)
    );
    w.settled().await;
    assert_eq!(
        inbox(&w, "eve").await.len(),
        0,
        "no mail to a forger of an expired token"
    );
    let reasons: Vec<Option<String>> = messages(&w)
        .await
        .into_iter()
        .skip(1)
        .map(|m| m.1)
        .collect();
    assert_eq!(
        reasons,
        vec![
            None,
            Some("review_closed".into()),
            Some("token_expired".into()),
            Some("token_expired".into())
        ]
    );
    let ids = assignment_ids(&w).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(h.iter().map(|r| r.score).collect::<Vec<_>>(), vec![4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn decline_and_conflict_release_and_reassign_to_the_next_best_reviewer() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    // Topic affinity makes the order of preference explicit: rita (frontend only) is the
    // best fit, then sam (frontend + database), then tom (frontend + 2 more); uma has no
    // matching topic at all.
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend,5\n\
         sam@other.org,Sam,frontend;database,5\n\
         tom@tom.example,Tom,frontend;database;security,5\n\
         uma@uma.example,Uma,career,5\n",
        None,
    )
    .await;
    let ids = assignment_ids(&w).await;
    assert_eq!(
        ids.keys().map(|k| k.0.as_str()).collect::<Vec<_>>(),
        vec!["rita@cs.uni.edu"]
    );
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    w.dovecot
        .append(
            "cfp",
            &outlook(
                "Rita <rita@cs.uni.edu>",
                &a,
                "dec1@x",
                "Decline - travelling that week.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let confirm = mail_with_subject(&w, "rita", "declined", 2).await;
    assert!(
        body(&confirm).contains("passed on to another reviewer"),
        "{}",
        body(&confirm)
    );
    // Sam, the next best, gets an assignment mail; the proposal is never sent to rita again.
    let sam_mail = mail_with_subject(&w, "sam", "Review P-0001:", 1).await;
    assert!(body(&sam_mail).contains("Score: (1-5)"));
    let last = messages(&w).await.pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_deref()),
        ("released", Some("decline"))
    );
    assert!(last.2.unwrap().contains("reassigned to sam@other.org"));
    // Sam declares a conflict: tom takes over; the conflict is remembered.
    let s = orig(&sam_mail);
    w.dovecot
        .append(
            "cfp",
            &apple_mail(
                "sam@other.org",
                &s,
                "coi1@x",
                "Conflict: the speaker is my colleague.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    mail_with_subject(&w, "sam", "conflict of interest recorded", 2).await;
    mail_with_subject(&w, "tom", "Review P-0001:", 1).await;
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    let released = cfpd::store::review::released_since(&mut c, 0)
        .await
        .unwrap();
    use cfpd::store::review::AssignmentState;
    assert_eq!(
        released
            .iter()
            .map(|r| (
                r.reference.as_str(),
                r.reviewer.as_str(),
                r.kind,
                r.replacement.as_deref()
            ))
            .collect::<Vec<_>>(),
        vec![
            (
                "P-0001",
                "rita@cs.uni.edu",
                AssignmentState::Declined,
                Some("sam@other.org")
            ),
            (
                "P-0001",
                "sam@other.org",
                AssignmentState::Conflict,
                Some("tom@tom.example")
            ),
        ]
    );
    let since_later = cfpd::store::review::released_since(&mut c, released[1].at + 1)
        .await
        .unwrap();
    assert!(since_later.is_empty());
    // A reply from sam after the conflict changes nothing.
    w.dovecot
        .append(
            "cfp",
            &raw_reply(
                "sam@other.org",
                &s.reply_to,
                &format!("Re: {}", s.subject),
                "coi2@x",
                None,
                "Score: 5",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let last = messages(&w).await.pop().unwrap();
    assert_eq!(last.1.as_deref(), Some("assignment_released"));
    assert_eq!(review_count(&w).await, 0);
    // The chair's own assign never brings rita or sam back.
    let out = w.cfpd(&["assign", "--commit"]);
    assert!(out.contains("0 new pair(s), 1 kept"), "{out}");
    // Tom declines too; uma has no matching topic but is eligible, so she gets it.
    let t = orig(&mail_with_subject(&w, "tom", "Review P-0001:", 1).await);
    w.dovecot
        .append(
            "cfp",
            &raw_reply(
                "tom@tom.example",
                &t.reply_to,
                &format!("Re: {}", t.subject),
                "dec2@x",
                None,
                "I must decline this one, sorry.\n\nTom",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let u = orig(&mail_with_subject(&w, "uma", "Review P-0001:", 1).await);
    // Uma declines: nobody eligible is left; she is told the chairs will handle it and
    // the release is on record for the digest with no replacement.
    w.dovecot
        .append(
            "cfp",
            &html_only("uma@uma.example", &u, "dec3@x", "decline"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let confirm = mail_with_subject(&w, "uma", "declined", 2).await;
    assert!(
        body(&confirm).contains("The program chairs will find another reviewer"),
        "{}",
        body(&confirm)
    );
    let released = cfpd::store::review::released_since(&mut c, 0)
        .await
        .unwrap();
    assert_eq!(released.len(), 4);
    assert_eq!(released[3].reviewer, "uma@uma.example");
    assert_eq!(released[3].replacement, None);
    let last = messages(&w).await.pop().unwrap();
    assert!(
        last.2
            .unwrap()
            .contains("not reassigned: no eligible reviewer"),
        "chair can see why"
    );
    let report = w.cfpd(&["report"]);
    assert!(report.contains("P-0001"), "{report}");
    assert!(
        report.lines().any(|l| l.contains("sam@other.org")
            && l.split_whitespace().collect::<Vec<_>>()
                == ["sam@other.org", "0", "0", "0", "0", "1"]),
        "{report}"
    );
}
