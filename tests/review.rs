//! Reviews by email reply, end to end on real servers (Dovecot + SMTP): reviewers get
//! assignment mails in their own mailboxes, answer them the way real mail clients build
//! replies, and read receipts over IMAP. Runs against SQLite, and against PostgreSQL when
//! `CFPD_TEST_DATABASE=postgres`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

macro_rules! need_servers {
    () => {
        if !servers_available() {
            return;
        }
    };
}

// ---- building replies the way mail clients do ---------------------------------------

/// What a reply needs from the mail it answers.
struct Orig {
    /// Reply-To (the tokenized address) — where a client sends the reply.
    reply_to: String,
    subject: String,
    message_id: String,
    text: String,
}

fn orig(raw: &[u8]) -> Orig {
    Orig {
        reply_to: reply_to(raw),
        subject: parsed(raw).subject().unwrap_or("").to_string(),
        message_id: message_id(raw),
        text: body(raw),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_lines(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                "<div><br></div>".to_string()
            } else {
                format!("<div>{}</div>", html_escape(l))
            }
        })
        .collect()
}

fn quote(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                ">\n".to_string()
            } else {
                format!("> {l}\n")
            }
        })
        .collect()
}

fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Minimal quoted-printable (RFC 2045), as Apple Mail writes its plain part.
fn qp(s: &str) -> String {
    let mut out = String::new();
    for line in s.split('\n') {
        let mut cur = String::new();
        for b in line.bytes() {
            let piece = if b == b'=' || b >= 0x7f || (b < 0x20 && b != b'\t') {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            };
            if cur.len() + piece.len() > 73 {
                out.push_str(&cur);
                out.push_str("=\r\n");
                cur.clear();
            }
            cur.push_str(&piece);
        }
        out.push_str(&cur);
        out.push_str("\r\n");
    }
    out
}

fn b64(s: &str) -> String {
    let e = data_encoding::BASE64.encode(s.as_bytes());
    e.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n")
        .collect()
}

fn headers(from: &str, to: &str, subject: &str, mid: &str, o: &Orig, extra: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nIn-Reply-To: <{irt}>\r\nReferences: <{irt}>\r\nDate: Mon, 13 May 2024 09:30:00 +0200\r\nMIME-Version: 1.0\r\n{extra}",
        irt = o.message_id
    )
}

/// Gmail: multipart/alternative; the plain part quotes with "> " under a wrapped
/// "On … wrote:" line; the HTML part has `gmail_quote` with a `gmail_attr` attribution.
fn gmail(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let attribution = format!(
        "On Mon, May 13, 2024 at 9:30 AM TestConf CFP <\n{}> wrote:",
        o.reply_to
    );
    let plain = format!("{answer}\n\n{attribution}\n\n{}", quote(&o.text));
    let html = format!(
        "<div dir=\"ltr\">{}</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, May 13, 2024 at 9:30 AM TestConf CFP &lt;<a href=\"mailto:{rt}\">{rt}</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">{}</blockquote></div>\n",
        html_lines(answer),
        html_lines(&o.text),
        rt = o.reply_to
    );
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("Re: {}", o.subject),
        mid,
        o,
        "Content-Type: multipart/alternative; boundary=\"000000000000gmail\"\r\n\r\n",
    );
    m.push_str(&format!(
        "--000000000000gmail\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--000000000000gmail\r\nContent-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--000000000000gmail--\r\n",
        qp(&plain),
        qp(&html)
    ));
    m.into_bytes()
}

/// Outlook (desktop / Microsoft 365): multipart/alternative; the plain part has the
/// original *unquoted* below a rule and a From/Sent/To/Subject block; the HTML part has
/// `divRplyFwdMsg`.
fn outlook(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\n________________________________\nFrom: TestConf CFP <{rt}>\nSent: Monday, May 13, 2024 9:30 AM\nTo: {from}\nSubject: {subj}\n\n{text}",
        rt = o.reply_to,
        subj = o.subject,
        text = o.text
    );
    let html = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><style type=\"text/css\" style=\"display:none;\"> P {{margin-top:0;margin-bottom:0;}} </style></head><body dir=\"ltr\"><div class=\"elementToProof\" style=\"font-family: Aptos, sans-serif; font-size: 12pt;\">{}</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\" tabindex=\"-1\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" color=\"#000000\"><b>From:</b> TestConf CFP &lt;{}&gt;<br><b>Sent:</b> Monday, May 13, 2024 9:30 AM<br><b>To:</b> {}<br><b>Subject:</b> {}</font><div>&nbsp;</div></div><div><pre>{}</pre></div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_escape(from),
        html_escape(&o.subject),
        html_escape(&o.text)
    );
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("RE: {}", o.subject),
        mid,
        o,
        "Thread-Topic: review\r\nThread-Index: AQHasd8fT2\r\nX-MS-Has-Attach: \r\nContent-Language: en-US\r\nContent-Type: multipart/alternative; boundary=\"_000_outlook_\"\r\n\r\n",
    );
    m.push_str(&format!(
        "--_000_outlook_\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--_000_outlook_\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--_000_outlook_--\r\n",
        b64(&plain),
        b64(&html)
    ));
    m.into_bytes()
}

/// Apple Mail: multipart/alternative; plain part in quoted-printable with the attribution
/// itself quoted; HTML with `<blockquote type="cite">`; "Sent from my iPhone"-style
/// signature.
fn apple_mail(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\nSent from my iPad\n\n> On 13 May 2024, at 09:30, TestConf CFP <{}> wrote:\n> \n{}",
        o.reply_to,
        quote(&o.text)
    );
    let html = format!(
        "<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\"></head><body dir=\"auto\">{}<div dir=\"ltr\"><br><div dir=\"ltr\">Sent from my iPad</div><div dir=\"ltr\"><br><blockquote type=\"cite\">On 13 May 2024, at 09:30, TestConf CFP &lt;{}&gt; wrote:<br><br></blockquote></div><blockquote type=\"cite\"><div dir=\"ltr\">{}</div></blockquote></div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_lines(&o.text)
    );
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("Re: {}", o.subject),
        mid,
        o,
        "X-Mailer: iPad Mail (21E236)\r\nContent-Type: multipart/alternative; boundary=Apple-Mail-5E1D\r\n\r\n",
    );
    m.push_str(&format!(
        "--Apple-Mail-5E1D\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--Apple-Mail-5E1D\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--Apple-Mail-5E1D--\r\n",
        qp(&plain),
        qp(&html)
    ));
    m.into_bytes()
}

/// Thunderbird: multipart/alternative; plain part format=flowed with "On … wrote:" and
/// "> " quoting and a "-- " signature; HTML with `moz-cite-prefix` + `<blockquote
/// type="cite">` holding a `moz-quote-pre`.
fn thunderbird(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let plain = format!(
        "{answer}\n\n-- \nRita, reviewing for fun\n\nOn 13/05/2024 09:30, TestConf CFP wrote:\n{}",
        quote(&o.text)
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head><body><p>{}</p><div class=\"moz-signature\">-- <br>Rita, reviewing for fun</div><div class=\"moz-cite-prefix\">On 13/05/2024 09:30, TestConf CFP wrote:<br></div><blockquote type=\"cite\" cite=\"mid:{}\"><pre class=\"moz-quote-pre\" wrap=\"\">{}</pre></blockquote></body></html>",
        answer
            .lines()
            .map(html_escape)
            .collect::<Vec<_>>()
            .join("<br>\n"),
        o.message_id,
        html_escape(&o.text)
    );
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("Re: {}", o.subject),
        mid,
        o,
        "User-Agent: Mozilla Thunderbird\r\nContent-Language: en-GB\r\nContent-Type: multipart/alternative; boundary=\"------------tb0123\"\r\n\r\n",
    );
    m.push_str(&format!(
        "This is a multi-part message in MIME format.\r\n--------------tb0123\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n--------------tb0123\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n--------------tb0123--\r\n",
        crlf(&plain),
        crlf(&html)
    ));
    m.into_bytes()
}

/// mutt: text/plain, "* Name <addr> [date]:" attribution, answers typed inline under the
/// quoted form labels, the rest of the original still quoted.
fn mutt(from: &str, o: &Orig, mid: &str, inline: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!(
        "* TestConf CFP <{}> [2024-05-13 09:30:00 +0200]:\n",
        o.reply_to
    );
    for line in o.text.lines() {
        text.push_str(&if line.is_empty() {
            ">\n".to_string()
        } else {
            format!("> {line}\n")
        });
        for (label, answer) in inline {
            if line.starts_with(label) {
                text.push_str(answer);
                text.push('\n');
            }
        }
    }
    text.push_str("\n-- \nRita\n");
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("Re: {}", o.subject),
        mid,
        o,
        "User-Agent: NeoMutt/20231103\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m.push_str(&crlf(&text));
    m.into_bytes()
}

/// HTML only (Outlook on the web, a phone client): a single text/html part, base64,
/// the original under `divRplyFwdMsg`.
fn html_only(from: &str, o: &Orig, mid: &str, answer: &str) -> Vec<u8> {
    let html = format!(
        "<html><body><div style=\"font-family: Aptos\">{}</div><div><br></div><div id=\"appendonsend\"></div><hr style=\"display:inline-block;width:98%\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> TestConf CFP &lt;{}&gt;<br><b>Sent:</b> 13 May 2024 09:30<br><b>Subject:</b> {}</div><div>{}</div></body></html>",
        html_lines(answer),
        o.reply_to,
        html_escape(&o.subject),
        html_lines(&o.text)
    );
    let mut m = headers(
        from,
        &o.reply_to,
        &format!("Re: {}", o.subject),
        mid,
        o,
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    m.push_str(&b64(&html));
    m.into_bytes()
}

/// A plain reply with arbitrary recipient, subject and threading (for the security cases).
fn raw_reply(
    from: &str,
    to: &str,
    subject: &str,
    mid: &str,
    in_reply_to: Option<&str>,
    text: &str,
) -> Vec<u8> {
    let threading = in_reply_to
        .map(|i| format!("In-Reply-To: <{i}>\r\nReferences: <{i}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n{threading}Date: Mon, 13 May 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        crlf(text)
    )
    .into_bytes()
}

// ---- world setup ---------------------------------------------------------------------

fn proposal_with(title: &str, topic: &str) -> String {
    format!(
        "Title: {title}\nFormat: talk-25\nAudience: intermediate\nTopics: {topic}\nAbstract:\n  A talk about {topic} in Django projects.\nDescription:\n  Outline: {topic} problems, {topic} solutions, and lessons learned.\n"
    )
}

/// Submit proposals (speaker, title, topic), import the roster, commit the assignment and
/// send the mails; `at` pins the clock: (when proposals arrive, when review starts).
async fn setup(
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
async fn mail_with_subject(w: &World, user: &str, needle: &str, n_expected: usize) -> Vec<u8> {
    let inbox = w.dovecot.wait_for(user, n_expected, T).await;
    inbox
        .into_iter()
        .rev()
        .find(|m| parsed(m).subject().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no mail with {needle:?} for {user}"))
}

async fn inbox(w: &World, user: &str) -> Vec<Vec<u8>> {
    w.dovecot.fetch_all(user, "INBOX").await
}

/// (state, reason, detail) of every inbound message, in arrival order.
async fn messages(w: &World) -> Vec<(String, Option<String>, Option<String>)> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::messages::list(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.state.to_string(),
                r.reason.map(|r| r.to_string()),
                r.detail,
            )
        })
        .collect()
}

/// (reviewer email, proposal id) → assignment id.
async fn assignment_ids(w: &World) -> HashMap<(String, i64), i64> {
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

async fn history(w: &World, assignment: i64) -> Vec<cfpd::store::reviews::StoredReview> {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::reviews::history(&mut c, assignment)
        .await
        .unwrap()
}

async fn review_count(w: &World) -> i64 {
    let store = w.store().await;
    let mut c = store.pool.acquire().await.unwrap();
    cfpd::store::reviews::count_versions(&mut c).await.unwrap()
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    parsed(raw)
        .header(name)
        .and_then(|h| h.as_text())
        .map(str::to_string)
}

/// A client-style reply and what must be recorded from it: (reviewer, proposal id, raw
/// reply, score, confidence, comments for the speaker, comments for the committee).
type Case = (
    &'static str,
    i64,
    Vec<u8>,
    i64,
    Option<i64>,
    &'static str,
    &'static str,
);

const ROSTER3: &str = "email,name,topics,max_load\n\
    rita@cs.uni.edu,Rita,frontend;database,5\n\
    sam@other.org,Sam,frontend;database,5\n\
    tom@tom.example,Tom,frontend;database,5\n";

// ---- tests ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn six_mail_clients_are_recorded_and_confirmed() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 3\n").await;
    setup(
        &w,
        &[
            ("Ada <ada@a.example>", "HTMX at scale", "frontend"),
            ("Bob <bob@b.example>", "Postgres tricks", "database"),
        ],
        ROSTER3,
        None,
    )
    .await;
    let ids = assignment_ids(&w).await;
    assert_eq!(ids.len(), 6, "3 reviewers × 2 proposals");
    let a = |user: &str| match user {
        "rita" => "Rita <rita@cs.uni.edu>",
        "sam" => "Sam <sam@other.org>",
        _ => "Tom <tom@tom.example>",
    };
    let assigned = |user: &'static str, p: &'static str| {
        let w = &w;
        async move { orig(&mail_with_subject(w, user, &format!("Review {p}:"), 2).await) }
    };
    let mut cases: Vec<Case> = Vec::new();
    let o = assigned("rita", "P-0001").await;
    cases.push((
        "rita",
        1,
        gmail(
            a("rita"),
            &o,
            "gmail-1@mail.gmail.com",
            "Score: 4\nConfidence: 2\nComments for the speaker:\nGreat topic; tighten the outline.\n\nComments for the committee:\nStrong accept.",
        ),
        4,
        Some(2),
        "Great topic; tighten the outline.",
        "Strong accept.",
    ));
    let o = assigned("sam", "P-0001").await;
    cases.push((
        "sam",
        1,
        outlook(
            a("sam"),
            &o,
            "outlook-1@AM0PR01MB.eurprd01.prod.exchangelabs.com",
            "Score: 3\nComments for the speaker:\nThe demo needs a fallback plan.",
        ),
        3,
        None,
        "The demo needs a fallback plan.",
        "",
    ));
    let o = assigned("tom", "P-0001").await;
    cases.push((
        "tom",
        1,
        apple_mail(
            a("tom"),
            &o,
            "apple-1@tom.example",
            "Score: 5\nConfidence: 3\nComments for the committee:\nBest in the batch — ça marche.",
        ),
        5,
        Some(3),
        "",
        "Best in the batch — ça marche.",
    ));
    let o = assigned("rita", "P-0002").await;
    cases.push((
        "rita",
        2,
        thunderbird(
            a("rita"),
            &o,
            "tb-1@cs.uni.edu",
            "Score: 2\nComments for the speaker: Too close to last year's talk.",
        ),
        2,
        None,
        "Too close to last year's talk.",
        "",
    ));
    let o = assigned("sam", "P-0002").await;
    cases.push((
        "sam",
        2,
        mutt(
            a("sam"),
            &o,
            "mutt-1@other.org",
            &[
                ("Score:", "4"),
                ("Confidence:", "1"),
                ("Comments for the speaker:", "Show the query plans."),
                ("Comments for the committee:", "Good, not great."),
            ],
        ),
        4,
        Some(1),
        "Show the query plans.",
        "Good, not great.",
    ));
    let o = assigned("tom", "P-0002").await;
    cases.push((
        "tom",
        2,
        html_only(
            a("tom"),
            &o,
            "owa-1@tom.example",
            "Score: 1\nComments for the speaker:\nOff topic for us, sorry.",
        ),
        1,
        None,
        "Off topic for us, sorry.",
        "",
    ));
    for (_, _, raw, ..) in &cases {
        w.dovecot.append("cfp", raw).await;
    }
    let out = w.cfpd(&["run", "--once"]);
    assert!(out.contains("processed 6 message(s)"), "{out}");
    let states = messages(&w).await;
    let reviews: Vec<_> = states.iter().filter(|s| s.0 == "review_recorded").collect();
    assert_eq!(reviews.len(), 6, "{states:#?}");
    for (user, pid, raw, score, confidence, speaker, committee) in &cases {
        let email = match *user {
            "rita" => "rita@cs.uni.edu",
            "sam" => "sam@other.org",
            _ => "tom@tom.example",
        };
        let h = history(&w, ids[&(email.to_string(), *pid)]).await;
        assert_eq!(h.len(), 1, "{user} P{pid}");
        let r = &h[0];
        assert_eq!(
            (
                r.score,
                r.confidence,
                r.comments_speaker.as_str(),
                r.comments_committee.as_str()
            ),
            (*score, *confidence, *speaker, *committee),
            "{user} on P-000{pid} ({})",
            String::from_utf8_lossy(raw)
                .lines()
                .find(|l| l.starts_with("Message-ID"))
                .unwrap()
        );
        // The receipt: in the reviewer's own mailbox, threaded, echoing what was recorded.
        let receipt = mail_with_subject(&w, user, &format!("Review P-000{pid}: recorded"), 4).await;
        let text = body(&receipt);
        assert!(
            text.contains(&format!("Score: {score} (scale 1-5)")),
            "{text}"
        );
        if !speaker.is_empty() {
            assert!(
                text.contains(&format!("Comments for the speaker:\n  {speaker}")),
                "{text}"
            );
        }
        if !committee.is_empty() {
            assert!(
                text.contains(&format!("Comments for the committee:\n  {committee}")),
                "{text}"
            );
        }
        match confidence {
            Some(c) => assert!(
                text.contains(&format!("Confidence: {c} (scale 1-3)")),
                "{text}"
            ),
            None => assert!(text.contains("Confidence: not given"), "{text}"),
        }
        let sent_mid = parsed(raw).message_id().unwrap().to_string();
        assert_eq!(
            parsed(&receipt).in_reply_to().as_text(),
            Some(sent_mid.as_str())
        );
        assert_eq!(
            header(&receipt, "Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        assert!(
            reply_to(&receipt).starts_with("cfp+"),
            "receipts can be answered"
        );
    }
    // Exactly one receipt each; nothing else was sent.
    for user in ["rita", "sam", "tom"] {
        assert_eq!(
            inbox(&w, user).await.len(),
            4,
            "{user}: 2 assignments + 2 receipts"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_review_cycle_by_mail_alone() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 1\n").await;
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        None,
    )
    .await;
    // 1. The assignment mail.
    let assignment = mail_with_subject(&w, "rita", "Review P-0001:", 1).await;
    assert!(body(&assignment).contains("Score: (1-5)"));
    // 2. The reply (Gmail).
    w.dovecot
        .append(
            "cfp",
            &gmail(
                "Rita <rita@cs.uni.edu>",
                &orig(&assignment),
                "cycle-1@mail.gmail.com",
                "Score: 4\nComments for the speaker:\nNice.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    // 3. The receipt.
    let receipt = mail_with_subject(&w, "rita", "recorded (score 4)", 2).await;
    let text = body(&receipt);
    assert!(
        text.contains("(version 1)") && text.contains("Score: 4 (scale 1-5)"),
        "{text}"
    );
    // 4. The revision, answering the receipt (its own token), from Apple Mail.
    w.dovecot
        .append(
            "cfp",
            &apple_mail(
                "Rita <rita@cs.uni.edu>",
                &orig(&receipt),
                "cycle-2@cs.uni.edu",
                "Score: 2\nComments for the speaker:\nOn second thought, the outline is thin.",
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    // 5. The second receipt names what it replaced.
    let receipt2 = mail_with_subject(&w, "rita", "recorded (score 2)", 3).await;
    let text = body(&receipt2);
    assert!(
        text.contains("It replaces version 1 (score 4), which stays in the history.")
            && text.contains("(version 2)")
            && text
                .contains("Comments for the speaker:\n  On second thought, the outline is thin."),
        "{text}"
    );
    // The revision replaced the score; the history keeps both.
    let ids = assignment_ids(&w).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(
        h.iter()
            .map(|r| (r.version, r.score, r.current))
            .collect::<Vec<_>>(),
        vec![(1, 4, false), (2, 2, true)]
    );
    let report = w.cfpd(&["report"]);
    assert!(
        report.contains("P-0001") && report.contains(" 2.00 "),
        "{report}"
    );
    // A third reply, to the original assignment mail, still works (its token is valid).
    w.dovecot
        .append(
            "cfp",
            &mutt(
                "rita@cs.uni.edu",
                &orig(&assignment),
                "cycle-3@cs.uni.edu",
                &[("Score:", "3")],
            ),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 3)", 4).await;
    let h = history(&w, ids[&("rita@cs.uni.edu".to_string(), 1)]).await;
    assert_eq!(h.len(), 3);
    assert!(h[2].current && h[2].score == 3);
    assert_eq!(
        inbox(&w, "rita").await.len(),
        4,
        "one receipt per reply, nothing else"
    );
}

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
        text.contains("ended 2024-05-20 23:59 AoE")
            && text.contains("the review you sent before the\ndeadline stands"),
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
async fn unreadable_forms_get_one_rate_limited_answer_naming_the_problem() {
    need_servers!();
    let w =
        World::start("[review]\nreviewers_per_proposal = 1\n[limits]\nreview_help_per_day = 2\n")
            .await;
    setup(
        &w,
        &[("Ada <ada@a.example>", "HTMX at scale", "frontend")],
        "email,name,topics,max_load\nrita@cs.uni.edu,Rita,frontend,5\n",
        None,
    )
    .await;
    let a = orig(&mail_with_subject(&w, "rita", "Review P-0001:", 1).await);
    let bad = [
        ("f1@x", "Score: 9\nComments for the speaker: ok"),
        ("f2@x", "Score: 4\nI said it above.\nScore: 5"),
        ("f3@x", "Looks fine to me."),
    ];
    for (mid, text) in bad {
        w.dovecot
            .append("cfp", &gmail("rita@cs.uni.edu", &a, mid, text))
            .await;
    }
    w.cfpd(&["run", "--once"]);
    assert_eq!(review_count(&w).await, 0, "{:#?}", messages(&w).await);
    let rita = w.dovecot.wait_for("rita", 3, T).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        inbox(&w, "rita").await.len(),
        3,
        "assignment + 2 help replies, the 3rd suppressed"
    );
    let t1 = body(&rita[1]);
    assert!(
        t1.contains("The score 9 is outside the scale, which goes from 1 to 5."),
        "{t1}"
    );
    assert!(t1.contains("Score: (1-5)"), "the form is shown again: {t1}");
    let t2 = body(&rita[2]);
    assert!(t2.contains("different scores (4 and 5)"), "{t2}");
    let detail = messages(&w).await.pop().unwrap();
    assert_eq!(detail.1.as_deref(), Some("review_form"));
    assert!(
        detail.2.unwrap().contains("help reply suppressed"),
        "rate limit noted"
    );
    // Answering the help reply (its own token) with a good form records the review.
    w.dovecot
        .append(
            "cfp",
            &thunderbird("rita@cs.uni.edu", &orig(&rita[2]), "f4@x", "Score: 3"),
        )
        .await;
    w.cfpd(&["run", "--once"]);
    mail_with_subject(&w, "rita", "recorded (score 3)", 4).await;
    assert_eq!(review_count(&w).await, 1);
    // "help" is answered with the form (not rate-limited with the problem replies), and
    // changes nothing.
    w.dovecot
        .append("cfp", &outlook("rita@cs.uni.edu", &a, "f5@x", "Help?"))
        .await;
    w.cfpd(&["run", "--once"]);
    let help = mail_with_subject(&w, "rita", "how to answer", 5).await;
    let text = body(&help);
    assert!(
        text.contains("Score: (1-5)\nConfidence: (1-3, optional)") && text.contains("decline"),
        "{text}"
    );
    assert!(reply_to(&help).starts_with("cfp+"), "answering it works");
    assert_eq!(messages(&w).await.pop().unwrap().0, "help");
    assert_eq!(review_count(&w).await, 1);
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

#[tokio::test(flavor = "multi_thread")]
async fn the_report_ranks_a_known_set_per_topic() {
    need_servers!();
    let w = World::start("[review]\nreviewers_per_proposal = 3\n").await;
    setup(
        &w,
        &[
            ("ada@a.example", "One", "frontend"),
            ("bob@b.example", "Two", "frontend"),
            ("cy@c.example", "Three", "database"),
            ("di@d.example", "Four", "frontend"),
        ],
        "email,name,topics,max_load\n\
         rita@cs.uni.edu,Rita,frontend;database,4\n\
         sam@other.org,Sam,frontend;database,4\n\
         tom@tom.example,Tom,frontend;database,4\n",
        None,
    )
    .await;
    // (reviewer, proposal, reply) — tom scores P-0002 twice: the revision counts.
    let plan: &[(&str, &str, &str)] = &[
        ("rita", "P-0001", "Score: 4"),
        ("sam", "P-0001", "Score: 4"),
        ("tom", "P-0001", "Score: 1"),
        ("rita", "P-0002", "Score: 5"),
        ("sam", "P-0002", "Score: 3"),
        ("tom", "P-0002", "Score: 3"),
        ("rita", "P-0003", "Score: 2"),
        ("tom", "P-0003", "decline"),
        ("rita", "P-0004", "Score: 5"),
        ("sam", "P-0004", "Score: 5"),
        ("tom", "P-0004", "Score: 4"),
        (
            "tom",
            "P-0002",
            "Score: 1\nComments for the committee: changed my mind",
        ),
    ];
    let address = |u: &str| match u {
        "rita" => "rita@cs.uni.edu",
        "sam" => "sam@other.org",
        _ => "tom@tom.example",
    };
    for (i, (user, p, text)) in plan.iter().enumerate() {
        let a = orig(&mail_with_subject(&w, user, &format!("Review {p}:"), 4).await);
        w.dovecot
            .append(
                "cfp",
                &raw_reply(
                    address(user),
                    &a.reply_to,
                    &format!("Re: {}", a.subject),
                    &format!("rank{i}@x"),
                    Some(&a.message_id),
                    text,
                ),
            )
            .await;
        if i == 10 {
            // The revision comes in a later run than the first score.
            w.cfpd(&["run", "--once"]);
        }
    }
    w.cfpd(&["run", "--once"]);
    let text = w.cfpd(&["report"]);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| t.len() >= 2 && t[1].starts_with("P-"))
        .collect();
    assert_eq!(
        rows,
        vec![
            // Frontend first: the default topic set lists it before Database.
            vec!["1", "P-0004", "4.67", "5.0", "1", "3", "0", "Four"],
            // Same mean (3.00): the higher median ranks first.
            vec!["2", "P-0001", "3.00", "4.0", "3", "3", "0", "One"],
            vec!["3", "P-0002", "3.00", "3.0", "4", "3", "0", "Two"],
            // One review counts, one is pending, the decline is neither.
            vec!["1", "P-0003", "2.00", "2.0", "0", "1", "1", "Three"],
        ],
        "{text}"
    );
    let at = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
    assert!(
        at("(frontend)") < at("P-0004")
            && at("P-0002") < at("(database)")
            && at("(database)") < at("P-0003"),
        "{text}"
    );
    let progress: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("Reviewer progress"))
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        progress,
        vec![
            vec!["rita@cs.uni.edu", "4", "4", "0", "0", "0"],
            vec!["sam@other.org", "4", "3", "1", "0", "0"],
            vec!["tom@tom.example", "3", "3", "0", "1", "0"],
        ],
        "{text}"
    );
    let csv = w.cfpd(&["report", "--format", "csv"]);
    assert!(
        csv.starts_with(
            "topic,topic_name,rank,proposal,title,mean,median,spread,reviews,pending\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",1,P-0004,Four,4.67,5.0,1,3,0\n"), "{csv}");
    assert!(
        csv.contains("\n\nreviewer,name,assigned,done,pending,declined,conflicts\n"),
        "{csv}"
    );
    assert!(csv.contains("tom@tom.example,Tom,3,3,0,1,0\n"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&w.cfpd(&["report", "--format", "json"])).unwrap();
    let frontend = json["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "frontend")
        .unwrap();
    let order: Vec<&str> = frontend["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reference"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["P-0004", "P-0001", "P-0002"]);
    assert_eq!(
        frontend["proposals"][2]["scores"],
        serde_json::json!([5, 3, 1])
    );
    assert_eq!(json["score_scale"], serde_json::json!([1, 5]));
}
