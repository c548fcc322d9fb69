//! Decisions and decision mails end to end on real servers (Dovecot + SMTP):
//! the chair decides on the command line (one by one and from a CSV file),
//! previews the decision mails, sends them, and every speaker and co-speaker
//! finds exactly one in their own mailbox, with the reviewers' comments for
//! the speaker and nothing else of the review. Runs against SQLite, and
//! against PostgreSQL when `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::time::Duration;

use support::clients::*;
use support::*;

const T: Duration = Duration::from_secs(20);

/// The decision mails in `user`'s inbox (by their subject), oldest first.
async fn decision_mails(w: &World, user: &str) -> Vec<Vec<u8>> {
    let re =
        regex::Regex::new(r"P-\d{4} (accepted|put on the waiting list|not accepted):").unwrap();
    w.dovecot
        .fetch_all(user, "INBOX")
        .await
        .into_iter()
        .filter(|m| re.is_match(parsed(m).subject().unwrap_or("")))
        .collect()
}

/// `cfpd <args>` that must fail: its stderr.
fn refused(w: &World, args: &[&str]) -> String {
    let out = w.cfpd_raw(args);
    assert!(!out.status.success(), "cfpd {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The text block `notify --preview` prints for one decision's sample mail.
fn preview_block<'a>(preview: &'a str, decision: &str) -> &'a str {
    let start = preview
        .find(&format!("=== {decision} mail, as sent to "))
        .unwrap_or_else(|| panic!("no {decision} sample in {preview}"));
    let rest = &preview[start..];
    let body = &rest[rest.find("\n\n").unwrap() + 2..];
    match body.find("\n=== ") {
        Some(end) => &body[..end],
        None => body,
    }
}

/// Five proposals (one a draft, one with two co-speakers), one reviewer who
/// reviews P-0001 with comments for the speaker and for the committee.
async fn proposals_and_a_review(w: &World) {
    let props: [(&str, String); 5] = [
        (
            "Ada <ada@a.example>",
            proposal_with("HTMX at scale", "frontend")
                + "Co-speakers: eve@e.example, Fay@F.example\n",
        ),
        (
            "Bob <bob@b.example>",
            proposal_with("Postgres tricks", "database"),
        ),
        (
            "Cy <cy@c.example>",
            proposal_with("Async views", "database"),
        ),
        (
            "Dee <dee@d.example>",
            proposal_with("Type hints", "frontend"),
        ),
        ("Gil <gil@g.example>", "Title: Just a title\n".to_string()),
    ];
    for (i, (from, body)) in props.iter().enumerate() {
        w.dovecot
            .append(
                "cfp",
                &mail(from, CFP, &format!("p{i}@x"), "Proposal", body),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend;database,10\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    w.cfpd(&["assign", "--commit"]);
    w.cfpd(&["run", "--once"]);
    let inbox = w.dovecot.wait_for("rita", 4, T).await;
    let a1 = inbox
        .iter()
        .find(|m| parsed(m).subject().unwrap_or("").contains("Review P-0001:"))
        .expect("rita's assignment of P-0001");
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Rita <rita@cs.uni.edu>",
                &orig(a1),
                "rev-1@mail.gmail.com",
                "Score: 5\nComments for the speaker:\nLovely demo; keep it under 25 minutes.\n\n\
                 Comments for the committee:\nSECRET committee note.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_speaker_and_co_speaker_gets_exactly_one_decision_mail_as_previewed() {
    need_servers!();
    let w = world_with_chair(
        "[review]\nreviewers_per_proposal = 1\n\n[decisions]\nshare_reviews = true\n",
    )
    .await;
    proposals_and_a_review(&w).await;

    // Refusals name every bad reference, and nothing of the request is decided.
    let e = refused(
        &w,
        &["decide", "accept", "P-0001", "P-0005", "P-0099", "x-1"],
    );
    assert!(e.contains("nothing was decided"), "{e}");
    assert!(e.contains("P-0005 is a draft (incomplete)"), "{e}");
    assert!(e.contains("P-0099: no such proposal"), "{e}");
    assert!(e.contains("\"x-1\" is not a reference like P-0042"), "{e}");
    assert!(w
        .cfpd(&["decide", "--history"])
        .contains("0 decision version(s)"));

    let out = w.cfpd(&["decide", "accept", "P-0001", "P-0002"]);
    assert!(out.contains("P-0001 accepted\nP-0002 accepted\n"), "{out}");
    assert!(
        out.contains("nothing is mailed until `cfpd notify --send`"),
        "{out}"
    );
    // A bad file decides nothing and names file and line.
    let bad = w.dir.path().join("bad.csv");
    std::fs::write(&bad, "ref,decision\nP-0003,waitlist\n\nP-0004,maybe\n").unwrap();
    let e = refused(&w, &["decide", "--file", bad.to_str().unwrap()]);
    assert!(
        e.contains(&format!(
            "{}:4: \"maybe\" is not a decision: write accept, reject or waitlist",
            bad.display()
        )),
        "{e}"
    );
    let good = w.dir.path().join("decisions.csv");
    std::fs::write(
        &good,
        "ref,decision,note\nP-0003,waitlist,\"good, keep warm\"\nP-0004,reject,\n",
    )
    .unwrap();
    let out = w.cfpd(&["decide", "--file", good.to_str().unwrap()]);
    assert!(out.contains("2 decision(s) recorded"), "{out}");

    // Dee withdraws P-0004 after the decision: she is told nothing.
    let ack = w.dovecot.wait_for("dee", 1, T).await.remove(0);
    w.dovecot
        .append(
            "cfp",
            &reply("Dee <dee@d.example>", &ack, "dee-w@x", "withdraw"),
        )
        .await;
    w.cfpd(&["run", "--once"]);

    let preview = w.cfpd(&["notify", "--preview"]);
    for line in [
        "P-0001   accepted   speaker     ada@a.example\n",
        "P-0001   accepted   co-speaker  eve@e.example\n",
        "P-0001   accepted   co-speaker  fay@f.example\n",
        "P-0002   accepted   speaker     bob@b.example\n",
        "P-0003   waitlisted speaker     cy@c.example\n",
        "5 decision mail(s) for 3 decision(s)\n",
    ] {
        assert!(preview.contains(line), "{line:?} in {preview}");
    }
    assert!(!preview.contains("dee@d.example"), "{preview}");
    assert_eq!(
        w.cfpd(&["notify"]),
        preview,
        "preview is the default and writes nothing"
    );

    let out = w.cfpd(&["notify", "--send"]);
    assert!(
        out.contains("5 decision mail(s) queued for 3 decision(s)"),
        "{out}"
    );
    let out = w.cfpd(&["notify", "--send"]);
    assert!(
        out.contains("0 decision mail(s) queued for 0 decision(s)"),
        "{out}"
    );
    assert!(w
        .cfpd(&["notify", "--preview"])
        .contains("no decision mail to send"));
    w.cfpd(&["run", "--once"]);
    w.settled().await;

    // The proposal's mail thread has the decision mails to all its speakers.
    let show = w.cfpd(&["proposals", "show", "P-0001"]);
    let thread = show.split("mail thread:\n").nth(1).expect(&show);
    for who in ["ada@a.example", "eve@e.example", "fay@f.example"] {
        assert!(
            thread.lines().any(|l| l.contains(" out  mail ")
                && l.contains(&format!("to {who}"))
                && l.contains("(decision, sent ")),
            "{who} in {thread}"
        );
    }
    assert!(!thread.contains("bob@b.example"), "{thread}");

    // What arrives is what the preview showed.
    let ada = decision_mails(&w, "ada").await;
    assert_eq!(ada.len(), 1);
    let text = body(&ada[0]);
    assert_eq!(
        text.trim_end(),
        preview_block(&preview, "accepted").trim_end()
    );
    assert!(
        text.contains("Lovely demo; keep it under 25 minutes."),
        "{text}"
    );
    assert!(
        !text.contains("SECRET") && !text.contains("Rita") && !text.contains("rita"),
        "{text}"
    );
    assert!(text.contains("chair@conf.example"), "{text}");
    assert_eq!(
        parsed(&ada[0]).subject().unwrap(),
        "[TestConf] P-0001 accepted: HTMX at scale"
    );
    for co in ["eve", "fay"] {
        let m = decision_mails(&w, co).await;
        assert_eq!(m.len(), 1, "{co}");
        assert!(
            body(&m[0])
                .contains("names you as a co-speaker; it was\nsubmitted by Ada <ada@a.example>."),
            "{}",
            body(&m[0])
        );
    }
    assert_eq!(decision_mails(&w, "bob").await.len(), 1);
    let cy = decision_mails(&w, "cy").await;
    assert_eq!(cy.len(), 1);
    assert_eq!(
        body(&cy[0]).trim_end(),
        preview_block(&preview, "waitlisted").trim_end()
    );
    assert!(
        decision_mails(&w, "dee").await.is_empty(),
        "withdrawn: no mail"
    );
    assert!(decision_mails(&w, "gil").await.is_empty(), "draft: no mail");

    // Told decisions change only with --force, and the new mail says so.
    let e = refused(&w, &["decide", "reject", "P-0002"]);
    assert!(
        e.contains("P-0002 is already accepted and the speakers were told: use --force"),
        "{e}"
    );
    let out = w.cfpd(&[
        "decide",
        "reject",
        "P-0002",
        "--force",
        "--note",
        "double-booked",
    ]);
    assert!(
        out.contains(
            "P-0002 rejected (was accepted; the speakers get a mail explaining the change)"
        ),
        "{out}"
    );
    let preview = w.cfpd(&["notify", "--preview"]);
    assert!(
        preview.contains("P-0002   rejected   speaker     bob@b.example  (replaces accepted)"),
        "{preview}"
    );
    assert!(
        preview.contains("1 decision mail(s) for 1 decision(s)"),
        "{preview}"
    );
    w.cfpd(&["notify", "--send"]);
    w.cfpd(&["run", "--once"]);
    let bob = decision_mails(&w, "bob").await;
    assert_eq!(bob.len(), 2);
    let text = body(&bob[1]);
    assert!(
        text.contains(
            "This mail replaces our earlier one about this proposal, which said it was\naccepted."
        ),
        "{text}"
    );
    assert!(text.contains("could not accept it"), "{text}");
    assert_eq!(
        decision_mails(&w, "ada").await.len(),
        1,
        "nobody else is mailed again"
    );

    let history = w.cfpd(&["decide", "--history"]);
    let p2: Vec<&str> = history
        .lines()
        .filter(|l| l.starts_with("P-0002"))
        .collect();
    assert_eq!(p2.len(), 2, "{history}");
    assert!(
        p2[0].contains("v1  accepted") && p2[0].contains(", told "),
        "{history}"
    );
    assert!(
        p2[1].contains("v2  rejected") && p2[1].contains("note: double-booked"),
        "{history}"
    );
    assert!(history.contains("note: good, keep warm"), "{history}");
    let show = w.cfpd(&["proposals", "show", "P-0002"]);
    assert!(show.contains("decision v1: accepted (cli by "), "{show}");
    assert!(
        show.contains(" — replaced\ndecision v2: rejected (cli by "),
        "{show}"
    );
    assert!(show.contains(" — told\n"), "{show}");
    let kinds: Vec<_> = w
        .outbox()
        .await
        .into_iter()
        .filter(|o| o.kind == "decision")
        .map(|o| (o.recipient, o.state))
        .collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert!(kinds.iter().all(|(_, s)| s == "sent"), "{kinds:?}");
}

/// The acceptance of `user`'s proposal, from their inbox.
async fn acceptance(w: &World, user: &str) -> Vec<u8> {
    w.dovecot.wait_for(user, 2, T).await;
    decision_mails(w, user)
        .await
        .into_iter()
        .find(|m| parsed(m).subject().unwrap_or("").contains(" accepted: "))
        .unwrap_or_else(|| panic!("no acceptance for {user}"))
}

/// (state, reason) of the messages after the first `skip`, in arrival order.
async fn states_after(w: &World, skip: usize) -> Vec<(String, Option<String>)> {
    w.messages()
        .await
        .into_iter()
        .skip(skip)
        .map(|m| (m.state, m.reason))
        .collect()
}

async fn confirmation_of(w: &World, pid: i64) -> Option<String> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::decisions::current(&mut c, pid)
        .await
        .unwrap()
        .and_then(|d| d.confirmation)
        .map(|c| c.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_speakers_confirm_or_decline_by_reply_and_only_the_silent_are_reminded() {
    need_servers!();
    let w = world_with_chair(
        "[decisions]\nconfirm_by = \"2099-06-30T23:59:59\"\n\n\
         [[reminders]]\nname = \"confirm\"\ncron = \"0 0 9 * * *\"\n\
         audience = \"unconfirmed_speakers\"\nfrom = \"-30d\"\n\n\
         [[reminders]]\nname = \"digest\"\ncron = \"0 0 8 * * *\"\naudience = \"chairs\"\n\
         from = \"-100d\"\nuntil = \"+60d\"\n",
    )
    .await;
    let speakers = [
        ("Ada <ada@a.example>", "HTMX at scale"),
        ("Bob <bob@b.example>", "Postgres tricks"),
        ("Cy <cy@c.example>", "Async views"),
        ("Dee <dee@d.example>", "Type hints"),
        ("Flo <flo@f.example>", "Silent talk"),
    ];
    for (i, (from, title)) in speakers.iter().enumerate() {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    from,
                    CFP,
                    &format!("p{i}@x"),
                    "Proposal",
                    &proposal_with(title, "frontend"),
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["decide", "accept", "P-0001", "P-0002", "P-0003", "P-0005"]);
    w.cfpd(&["decide", "waitlist", "P-0004"]);
    w.cfpd(&["notify", "--send"]);
    w.cfpd(&["run", "--once"]);
    let (ada, bob, cy) = (
        acceptance(&w, "ada").await,
        acceptance(&w, "bob").await,
        acceptance(&w, "cy").await,
    );
    let text = body(&ada);
    assert!(
        text.contains("please reply to this mail with the single word\n\n  confirm\n"),
        "{text}"
    );
    let before = w.messages().await.len();

    // Three mail clients, three answers; Eve forges Ada's, and Ada writes
    // "confirm" once without the token (to the plain CFP address).
    let replies = [
        gmail(
            "Ada <ada@a.example>",
            &orig(&ada),
            "a1@mail.gmail.com",
            "Yes, I'll be there!",
        ),
        outlook(
            "Bob <bob@b.example>",
            &orig(&bob),
            "b1@outlook.example",
            "Hi,\n\nsadly I can't make it: my visa was refused.\n\nBob",
        ),
        apple_mail(
            "Cy <cy@c.example>",
            &orig(&cy),
            "c1@c.example",
            "Thanks!! When is the schedule out?",
        ),
        gmail(
            "Eve <eve@e.example>",
            &orig(&cy),
            "e1@mail.gmail.com",
            "decline",
        ),
        mail(
            "Ada <ada@a.example>",
            CFP,
            "a2@x",
            &format!("Re: {}", parsed(&ada).subject().unwrap()),
            "confirm",
        ),
    ];
    for r in &replies {
        w.dovecot.append("cfp", r).await;
    }
    w.cfpd(&["run", "--once"]);
    w.settled().await;
    let s = |a: &str, b: Option<&str>| (a.to_string(), b.map(str::to_string));
    assert_eq!(
        states_after(&w, before).await,
        vec![
            s("confirmed", None),
            s("declined", None),
            s("rejected", Some("confirmation_unclear")),
            s("rejected", Some("sender_mismatch")),
            s("rejected", Some("update_not_understood")),
        ]
    );
    assert_eq!(confirmation_of(&w, 1).await.as_deref(), Some("confirmed"));
    assert_eq!(confirmation_of(&w, 2).await.as_deref(), Some("declined"));
    assert_eq!(
        confirmation_of(&w, 3).await,
        None,
        "neither the unclear answer nor Eve's"
    );

    // Receipts echo the new state; Cy is asked for one word and answers it.
    let receipt = |user: &'static str, needle: &'static str| {
        let w = &w;
        async move {
            let inbox = w.dovecot.fetch_all(user, "INBOX").await;
            inbox
                .into_iter()
                .find(|m| parsed(m).subject().unwrap_or("").contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} for {user}"))
        }
    };
    let r = body(&receipt("ada", "P-0001 confirmed:").await);
    assert!(r.contains("It is now confirmed."), "{r}");
    let r = body(&receipt("bob", "P-0002 declined:").await);
    assert!(r.contains("It is now declined"), "{r}");
    let ask = receipt("cy", "Re: ").await;
    assert!(body(&ask).contains("We could not tell from it whether you will give the talk"));
    w.dovecot
        .append(
            "cfp",
            &thunderbird("Cy <cy@c.example>", &orig(&ask), "c2@c.example", "confirm"),
        )
        .await;
    // Bob changes his mind by replying to his receipt.
    let bob_receipt = receipt("bob", "P-0002 declined:").await;
    w.dovecot
        .append(
            "cfp",
            &html_only(
                "Bob <bob@b.example>",
                &orig(&bob_receipt),
                "b2@b.example",
                "I confirm after all: the visa came through.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    assert_eq!(confirmation_of(&w, 3).await.as_deref(), Some("confirmed"));
    assert_eq!(confirmation_of(&w, 2).await.as_deref(), Some("confirmed"));
    let history = w.cfpd(&["decide", "--history"]);
    assert!(history.contains("speaker confirmed"), "{history}");

    // The program lists exactly the confirmed talks (Flo has not answered).
    let program: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["program", "--format", "json"])).unwrap();
    let refs: Vec<&str> = program["talks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["P-0001", "P-0002", "P-0003"], "{program}");
    let ada_talk = &program["talks"][0];
    assert_eq!(ada_talk["title"], "HTMX at scale");
    assert_eq!(ada_talk["duration_minutes"], 25);
    assert_eq!(ada_talk["speakers"][0]["name"], "Ada");
    assert!(ada_talk["speakers"][0].get("email").is_none());
    let csv = w.cfpd(&["program", "--format", "csv", "--accepted"]);
    assert!(csv.starts_with("reference,status,title,"), "{csv}");
    assert!(
        csv.contains("\nP-0005,accepted,Silent talk,talk-25,25,"),
        "{csv}"
    );
    let report = w.cfpd(&["report"]);
    assert!(
        report.contains("Decisions: 4 accepted, 1 waitlisted, 0 rejected, 0 undecided (80 % of decided proposals accepted)"),
        "{report}"
    );
    assert!(
        report.contains(
            "Confirmations: 3 confirmed, 0 declined, 1 waiting, of 4 accepted talks told"
        ),
        "{report}"
    );
    // Eve got a refusal that names nothing of Cy's proposal; nothing else.
    let eve = w.dovecot.fetch_all("eve", "INBOX").await;
    assert_eq!(eve.len(), 1);
    assert!(!body(&eve[0]).contains("Async views"), "{}", body(&eve[0]));

    // Reminders reach only the speaker who has not answered (Flo); the
    // chairs' digest lists the talk; her answer stops the reminders.
    let preview = w.cfpd_at(
        "2099-06-09T00:00:00Z",
        &["reminders", "--preview", "--until", "2099-06-11T23:00"],
    );
    assert!(preview.contains("flo@f.example"), "{preview}");
    for other in ["ada@", "bob@", "cy@", "dee@"] {
        assert!(!preview.contains(other), "{other} in {preview}");
    }
    w.cfpd_at("2099-06-09T00:00:00Z", &["run", "--once"]);
    let flo_before = w.dovecot.fetch_all("flo", "INBOX").await.len();
    w.cfpd_at("2099-06-10T21:00:30Z", &["run", "--once"]);
    let reminder = receipt("flo", "Please confirm your talk P-0005").await;
    let text = body(&reminder);
    assert!(text.lines().all(|l| l.chars().count() <= 78), "{text}");
    assert!(
        text.contains("send \"confirm\" or \"decline\" to\n  cfp+"),
        "{text}"
    );
    assert!(
        body(&reminder).contains("Please tell us by\n2099-06-30 23:59 AoE"),
        "{}",
        body(&reminder)
    );
    assert_eq!(
        w.dovecot.fetch_all("flo", "INBOX").await.len(),
        flo_before + 1
    );
    for other in ["ada", "bob", "cy", "dee"] {
        let got = w.dovecot.fetch_all(other, "INBOX").await;
        assert!(
            !got.iter()
                .any(|m| parsed(m).subject().unwrap_or("").contains("Please confirm")),
            "{other} was reminded"
        );
    }
    let digest = receipt("chair", "Digest").await;
    let text = body(&digest);
    assert!(
        text.contains(
            "Accepted talks not confirmed yet: 1\n  P-0005  flo@f.example  Silent talk\n"
        ),
        "{text}"
    );
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Flo <flo@f.example>",
                &orig(&reminder),
                "f1@mail.gmail.com",
                "I confirm.",
            ),
        )
        .await;
    w.cfpd_at("2099-06-10T21:05:00Z", &["run", "--once"]);
    assert_eq!(confirmation_of(&w, 5).await.as_deref(), Some("confirmed"));
    let n = w.dovecot.fetch_all("flo", "INBOX").await.len();
    w.cfpd_at("2099-06-11T21:00:30Z", &["run", "--once"]);
    let after: Vec<_> = w.dovecot.fetch_all("flo", "INBOX").await;
    assert_eq!(after.len(), n, "no reminder after she confirmed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_acceptance_proposes_or_promotes_the_waitlisted_talk_once() {
    need_servers!();
    let w = world_with_chair("[decisions]\npromote = \"ask\"\n").await;
    let talks = [
        ("Ada <ada@a.example>", "HTMX at scale", "talk-25"),
        ("Bob <bob@b.example>", "Postgres tricks", "talk-25"),
        ("Cy <cy@c.example>", "Async views", "talk-25"),
        ("Dee <dee@d.example>", "Long tutorial", "talk-45"),
    ];
    for (i, (from, title, format)) in talks.iter().enumerate() {
        let body = proposal_with(title, "frontend").replace("talk-25", format);
        w.dovecot
            .append(
                "cfp",
                &mail(from, CFP, &format!("p{i}@x"), "Proposal", &body),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["decide", "accept", "P-0001"]);
    w.cfpd(&["decide", "waitlist", "P-0002", "P-0003", "P-0004"]);
    w.cfpd(&["notify", "--send"]);
    w.cfpd(&["run", "--once"]);

    // "ask": Ada declines; the chairs are asked about P-0002; nothing changes.
    let ada = acceptance(&w, "ada").await;
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Ada <ada@a.example>",
                &orig(&ada),
                "a1@x",
                "Sorry, I can't make it.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let chair = w.dovecot.fetch_all("chair", "INBOX").await;
    let ask: Vec<_> = chair
        .iter()
        .filter(|m| parsed(m).subject().unwrap_or("").contains("dropped out"))
        .collect();
    assert_eq!(ask.len(), 1);
    assert_eq!(
        parsed(ask[0]).subject().unwrap(),
        "[TestConf] P-0001 dropped out; waitlist: P-0002?"
    );
    let text = body(ask[0]);
    assert!(text.contains("its speaker declined it."), "{text}");
    assert!(
        text.contains("  P-0002 \"Postgres tricks\" (not reviewed)"),
        "{text}"
    );
    assert!(
        text.contains("cfpd decide accept P-0002\n  cfpd notify --send"),
        "{text}"
    );
    assert!(w
        .cfpd(&["notify", "--preview"])
        .contains("no decision mail to send"));
    assert_eq!(
        decision_mails(&w, "bob").await.len(),
        1,
        "still only the waitlist mail"
    );

    // The chair accepts it; then, with "auto", Bob withdraws and Cy (the
    // same format; Dee's tutorial is not) is promoted and told, once.
    w.cfpd(&["decide", "accept", "P-0002"]);
    w.cfpd(&["notify", "--send"]);
    w.cfpd(&["run", "--once"]);
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        cfg.replace("promote = \"ask\"", "promote = \"auto\""),
    )
    .unwrap();
    let bob = acceptance(&w, "bob").await;
    w.dovecot
        .append(
            "cfp",
            &reply("Bob <bob@b.example>", &bob, "b1@x", "withdraw"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let cy = decision_mails(&w, "cy").await;
    assert_eq!(cy.len(), 2, "waitlisted, then accepted");
    let text = body(&cy[1]);
    assert!(
        text.contains("which said it was\nput on the waiting list."),
        "{text}"
    );
    assert!(text.contains("has been\naccepted for TestConf"), "{text}");
    assert!(
        parsed(&cy[1]).reply_to().is_some(),
        "Cy can confirm by reply"
    );
    assert!(decision_mails(&w, "dee").await.len() == 1, "another format");
    let chair = w.dovecot.fetch_all("chair", "INBOX").await;
    assert!(
        chair
            .iter()
            .any(|m| parsed(m).subject() == Some("[TestConf] P-0002 dropped out; promoted P-0003")),
        "the chairs are told"
    );
    let history = w.cfpd(&["decide", "--history"]);
    let p3: Vec<&str> = history
        .lines()
        .filter(|l| l.starts_with("P-0003"))
        .collect();
    assert_eq!(p3.len(), 2, "{history}");
    assert!(
        p3[1].contains("accepted")
            && p3[1].contains("promotion by waiting list, in place of P-0002"),
        "{history}"
    );
    assert!(w
        .cfpd(&["notify", "--preview"])
        .contains("no decision mail to send"));
    // Cy confirms through the promoted acceptance.
    w.dovecot
        .append(
            "cfp",
            &outlook(
                "Cy <cy@c.example>",
                &orig(&cy[1]),
                "c1@x",
                "Yes, I'll be there.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    assert_eq!(confirmation_of(&w, 3).await.as_deref(), Some("confirmed"));
}

/// The last mail in `user`'s inbox whose subject contains `needle`.
async fn last_with(w: &World, user: &str, needle: &str) -> Vec<u8> {
    w.dovecot
        .fetch_all(user, "INBOX")
        .await
        .into_iter()
        .rev()
        .find(|m| parsed(m).subject().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} for {user}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn chairs_decide_by_mail_in_two_steps_and_forgeries_and_replays_change_nothing() {
    need_servers!();
    let w = world_with_chair("").await;
    for (i, (from, title)) in [
        ("Ada <ada@a.example>", "HTMX at scale"),
        ("Bob <bob@b.example>", "Postgres tricks"),
        ("Cy <cy@c.example>", "Async views"),
    ]
    .iter()
    .enumerate()
    {
        w.dovecot
            .append(
                "cfp",
                &mail(
                    from,
                    CFP,
                    &format!("p{i}@x"),
                    "Proposal",
                    &proposal_with(title, "frontend"),
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let out = w.cfpd(&["decide", "--request"]);
    assert!(
        out.contains("queued a mail to decide by mail to 1 chair(s)"),
        "{out}"
    );
    w.cfpd(&["run", "--once"]);
    let request = last_with(&w, "chair", "Decide by mail").await;
    assert!(
        body(&request).contains("Not decided yet:\n  P-0001 \"HTMX at scale\""),
        "{}",
        body(&request)
    );
    let before = w.messages().await.len();

    // Step one, with forgeries around it.
    let ack = w.dovecot.wait_for("ada", 1, T).await.remove(0);
    let mails = [
        gmail(
            "Eve <eve@e.example>",
            &orig(&request),
            "e1@x",
            "accept P-0001",
        ),
        gmail(
            "Chair <chair@conf.example>",
            &orig(&request),
            "c1@x",
            "accept P-0001 P-0002\nwaitlist P-0003\nreject P-0099",
        ),
        reply("Ada <ada@a.example>", &ack, "a1@x", "accept P-0001"),
        mail(
            "Chair <chair@conf.example>",
            CFP,
            "c2@x",
            "decisions",
            "accept P-0002",
        ),
    ];
    for m in &mails {
        w.dovecot.append("cfp", m).await;
    }
    w.cfpd(&["run", "--once"]);
    let s = |a: &str, b: Option<&str>| (a.to_string(), b.map(str::to_string));
    assert_eq!(
        states_after(&w, before).await,
        vec![
            s("rejected", Some("chair_mismatch")),
            s("decision_requested", None),
            s("rejected", Some("chair_without_token")),
            s("rejected", Some("chair_without_token")),
        ]
    );
    assert!(
        w.cfpd(&["decide", "--history"])
            .contains("0 decision version(s)"),
        "nothing decided yet"
    );
    let answer = last_with(&w, "chair", "reply \"yes\" to apply them").await;
    let text = body(&answer);
    assert!(
        text.contains("  accept P-0001 \"HTMX at scale\"\n  accept P-0002 \"Postgres tricks\"\n  waitlist P-0003 \"Async views\"\n"),
        "{text}"
    );
    assert!(text.contains("  P-0099: no such proposal"), "{text}");
    let eve = w.dovecot.fetch_all("eve", "INBOX").await;
    assert_eq!(eve.len(), 1);
    assert!(
        !body(&eve[0]).contains("P-0001"),
        "a refusal names nothing: {}",
        body(&eve[0])
    );

    // Step two: Eve's "yes" through the confirmation token, then the chair's,
    // then the chair's again (a replay).
    let before = w.messages().await.len();
    w.dovecot
        .append(
            "cfp",
            &thunderbird("Eve <eve@e.example>", &orig(&answer), "e2@x", "yes"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.dovecot
        .append(
            "cfp",
            &thunderbird("Chair <chair@conf.example>", &orig(&answer), "c3@x", "yes"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.dovecot
        .append(
            "cfp",
            &apple_mail("Chair <chair@conf.example>", &orig(&answer), "c4@x", "Yes"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    assert_eq!(
        states_after(&w, before).await,
        vec![
            s("rejected", Some("chair_mismatch")),
            s("decided", None),
            s("rejected", Some("chair_confirmation_used")),
        ]
    );
    let history = w.cfpd(&["decide", "--history"]);
    assert!(history.contains("3 decision version(s)"), "{history}");
    assert!(history.contains("P-0001   v1  accepted"), "{history}");
    assert!(history.contains("mail by chair@conf.example"), "{history}");
    assert!(history.contains("P-0003   v1  waitlisted"), "{history}");
    let recorded = last_with(&w, "chair", "3 decision(s) recorded").await;
    assert!(
        body(&recorded).contains("cfpd notify --send"),
        "{}",
        body(&recorded)
    );
    assert!(w
        .cfpd(&["notify", "--preview"])
        .contains("3 decision mail(s) for 3 decision(s)"));
}

/// The whole cycle by mail and command line: proposals, reviews by reply,
/// decisions by the CLI and by a chair's two-step mail, the preview, one
/// decision mail per speaker and co-speaker, answers from several mail
/// clients, a decline that asks the chairs and one that promotes, reminders
/// to the silent only, and the program.
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_cycle_from_proposals_to_the_program() {
    need_servers!();
    let w = world_with_chair(
        "[review]\nreviewers_per_proposal = 1\n\n[decisions]\nshare_reviews = true\n\
         promote = \"ask\"\nconfirm_by = \"2099-06-30T23:59:59\"\n\n\
         [[reminders]]\nname = \"confirm\"\ncron = \"0 0 9 * * *\"\n\
         audience = \"unconfirmed_speakers\"\nfrom = \"-30d\"\n",
    )
    .await;
    let speakers = [
        ("Ada <ada@a.example>", "HTMX at scale", 5),
        ("Bob <bob@b.example>", "Postgres tricks", 4),
        ("Cy <cy@c.example>", "Async views", 2),
        ("Dee <dee@d.example>", "Type hints", 3),
        ("Flo <flo@f.example>", "Signals", 4),
    ];
    for (i, (from, title, _)) in speakers.iter().enumerate() {
        let mut body = proposal_with(title, "frontend");
        if i == 0 {
            body.push_str("Co-speakers: eve@e.example\n");
        }
        w.dovecot
            .append(
                "cfp",
                &mail(from, CFP, &format!("p{i}@x"), "Proposal", &body),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);
    let roster = w.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,10\n",
    )
    .unwrap();
    w.cfpd(&["reviewers", "import", roster.to_str().unwrap()]);
    w.cfpd(&["assign", "--commit"]);
    w.cfpd(&["run", "--once"]);
    let assigned = w.dovecot.wait_for("rita", 5, T).await;
    for (i, (_, _, score)) in speakers.iter().enumerate() {
        let r = cfpd::proposal::reference(i as i64 + 1);
        let a = assigned
            .iter()
            .find(|m| {
                parsed(m)
                    .subject()
                    .unwrap_or("")
                    .contains(&format!("Review {r}:"))
            })
            .unwrap();
        let answer = format!("Score: {score}\nComments for the speaker:\nNote for {r}.");
        w.dovecot
            .append(
                "cfp",
                &gmail(
                    "Rita <rita@cs.uni.edu>",
                    &orig(a),
                    &format!("rv{i}@x"),
                    &answer,
                ),
            )
            .await;
    }
    w.cfpd(&["run", "--once"]);

    // Decisions: two on the command line, three by the chair's mail.
    w.cfpd(&["decide", "accept", "P-0001"]);
    w.cfpd(&["decide", "reject", "P-0003"]);
    w.cfpd(&["decide", "--request"]);
    w.cfpd(&["run", "--once"]);
    let request = last_with(&w, "chair", "Decide by mail").await;
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Chair <chair@conf.example>",
                &orig(&request),
                "ch1@x",
                "accept P-0002 P-0005\nwaitlist P-0004",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let answer = last_with(&w, "chair", "reply \"yes\"").await;
    w.dovecot
        .append(
            "cfp",
            &outlook("Chair <chair@conf.example>", &orig(&answer), "ch2@x", "yes"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    assert!(w
        .cfpd(&["decide", "--history"])
        .contains("5 decision version(s)"));

    // Preview, send: what arrives is what was previewed, once per person.
    let preview = w.cfpd(&["notify", "--preview"]);
    assert!(
        preview.contains("6 decision mail(s) for 5 decision(s)"),
        "{preview}"
    );
    w.cfpd(&["notify", "--send"]);
    w.cfpd(&["run", "--once"]);
    for user in ["ada", "eve", "bob", "cy", "dee", "flo"] {
        assert_eq!(decision_mails(&w, user).await.len(), 1, "{user}");
    }
    let ada = acceptance(&w, "ada").await;
    assert_eq!(
        body(&ada).trim_end(),
        preview_block(&preview, "accepted").trim_end()
    );
    assert!(
        body(&ada).contains("Reviewer 1:\n  Note for P-0001."),
        "{}",
        body(&ada)
    );
    let cy = decision_mails(&w, "cy").await;
    assert_eq!(
        body(&cy[0]).trim_end(),
        preview_block(&preview, "rejected").trim_end()
    );
    let dee = decision_mails(&w, "dee").await;
    assert_eq!(
        body(&dee[0]).trim_end(),
        preview_block(&preview, "waitlisted").trim_end()
    );

    // Answers from several clients; Bob's decline asks the chairs.
    let (bob, flo) = (acceptance(&w, "bob").await, acceptance(&w, "flo").await);
    w.dovecot
        .append(
            "cfp",
            &outlook(
                "Ada <ada@a.example>",
                &orig(&ada),
                "a1@x",
                "I confirm, thank you!",
            ),
        )
        .await;
    w.dovecot
        .append(
            "cfp",
            &apple_mail(
                "Bob <bob@b.example>",
                &orig(&bob),
                "b1@x",
                "Sorry, I can't make it.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    let ask = last_with(&w, "chair", "P-0002 dropped out").await;
    assert!(
        body(&ask).contains("P-0004 \"Type hints\" (mean score 3.0)"),
        "{}",
        body(&ask)
    );
    assert_eq!(
        decision_mails(&w, "dee").await.len(),
        1,
        "ask changes nothing"
    );

    // With "auto", Flo's decline promotes Dee, who is told once.
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        cfg.replace("promote = \"ask\"", "promote = \"auto\""),
    )
    .unwrap();
    w.dovecot
        .append(
            "cfp",
            &thunderbird("Flo <flo@f.example>", &orig(&flo), "f1@x", "decline"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    w.cfpd(&["run", "--once"]);
    let dee = decision_mails(&w, "dee").await;
    assert_eq!(dee.len(), 2, "waitlisted, then accepted");
    assert!(
        body(&dee[1]).contains("has been\naccepted for TestConf"),
        "{}",
        body(&dee[1])
    );

    // Reminders reach only the silent (Dee); the program lists the confirmed.
    w.cfpd_at("2099-06-09T00:00:00Z", &["run", "--once"]);
    w.cfpd_at("2099-06-10T21:00:30Z", &["run", "--once"]);
    for user in ["ada", "bob", "cy", "flo", "eve"] {
        let got = w.dovecot.fetch_all(user, "INBOX").await;
        assert!(
            !got.iter()
                .any(|m| parsed(m).subject().unwrap_or("").contains("Please confirm")),
            "{user} was reminded"
        );
    }
    let reminder = last_with(&w, "dee", "Please confirm your talk P-0004").await;
    let program = |w: &World| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&w.cfpd(&["program"])).unwrap();
        v["talks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["reference"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(program(&w), ["P-0001"]);
    w.dovecot
        .append(
            "cfp",
            &html_only(
                "Dee <dee@d.example>",
                &orig(&reminder),
                "d1@x",
                "Yes, I'll be there.",
            ),
        )
        .await;
    w.cfpd_at("2099-06-10T21:05:00Z", &["run", "--once"]);
    assert_eq!(program(&w), ["P-0001", "P-0004"]);
    let page = w.dir.path().join("report.html");
    w.cfpd(&["report", "--html", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("4 accepted, 0 waitlisted, 1 rejected, 0 undecided (80 % of decided proposals accepted). Accepted talks told: 2 confirmed, 2 declined, 0 waiting"),
        "{html}"
    );
}
