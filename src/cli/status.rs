//! `cfpd status`: the state of the whole installation for a person, from
//! the same database snapshot `/metrics` serves
//! ([`crate::store::status::snapshot`]), with a verdict.
//!
//! Exit code 0 when nothing needs attention, 2 when something does (the
//! reasons are printed), 1 when the database cannot be read: usable from
//! cron or a monitoring check as well as by hand.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::MetricsConfig;
use crate::model::{MessageState, OutboxState};
use crate::store::status::Snapshot;

/// Something needs a person's attention (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("needs attention: {}", .0.join("; "))]
pub struct NeedsAttention(pub Vec<String>);

/// What needs attention in `s`, judged with `[metrics]`'s thresholds; empty
/// when all is well. The same rules as `/healthz` for the poll, plus the
/// queue: the lease has a holder, its last successful poll (or its taking
/// the lease, before the first poll) is at most `poll_stale` ago, and no
/// mail has been queued for longer than `queue_stale`.
pub fn attention(s: &Snapshot, m: &MetricsConfig) -> Vec<String> {
    let mut out = Vec::new();
    match s.holder() {
        None => out.push(
            "no `cfpd run` holds the lease: nothing reads the mailbox or sends mail".to_string(),
        ),
        Some(l) => {
            let polled = s.last_poll.as_ref().map(|p| p.at);
            let since = polled.unwrap_or(l.acquired_at).max(l.acquired_at);
            let age = s.now - since;
            if age > m.poll_stale.as_millis() as i64 {
                out.push(format!(
                    "{} {} ago (limit {}, [metrics] poll_stale_seconds): is the mail server reachable?",
                    if polled.is_some_and(|p| p >= l.acquired_at) {
                        "last successful mailbox poll"
                    } else {
                        "no successful mailbox poll since the holder took the lease"
                    },
                    span(age),
                    span(m.poll_stale.as_millis() as i64)
                ));
            }
        }
    }
    let waited = s.oldest_queued_age_ms();
    if waited > m.queue_stale.as_millis() as i64 {
        out.push(format!(
            "the oldest queued mail has waited {} (limit {}, [metrics] queue_stale_seconds): \
             is the SMTP server reachable? see `cfpd outbox`",
            span(waited),
            span(m.queue_stale.as_millis() as i64)
        ));
    }
    let uncertain = Snapshot::count(&s.outbox, OutboxState::Uncertain);
    if uncertain > 0 {
        out.push(format!(
            "{uncertain} mail(s) may not have arrived (cfpd stopped or the connection broke \
             while the server was taking them), listed below: search your Sent copy or ask \
             the recipient, then `cfpd outbox --mark-sent ID` if it arrived or \
             `cfpd outbox --resend ID` if it did not"
        ));
    }
    out
}

/// The uncertain mails, one line each (id, Message-ID, recipient, subject).
pub fn uncertain_lines(s: &Snapshot) -> Vec<String> {
    let total = Snapshot::count(&s.outbox, OutboxState::Uncertain);
    let mut out: Vec<String> = s
        .uncertain
        .iter()
        .map(crate::outbox::uncertain_line)
        .collect();
    let more = total - out.len() as i64;
    if more > 0 {
        out.push(format!("… and {more} more: `cfpd outbox --uncertain`"));
    }
    out
}

/// A duration in ms for a person: `42 s`, `5 min`, `3 h 20 min`, `2 d 4 h`.
fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn when(ms: i64) -> String {
    crate::store::from_ms(ms)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// The summary as text (one labelled line per subject).
pub fn render_text(conference: &str, s: &Snapshot, problems: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "cfpd status for {conference} at {}", when(s.now));
    match (s.holder(), &s.lease) {
        (Some(l), _) => {
            let _ = writeln!(
                o,
                "lease        held by {} since {} ({} ago), expires in {} unless renewed; generation {}",
                l.holder,
                when(l.acquired_at),
                span(s.now - l.acquired_at),
                span(l.expires_at - s.now),
                l.generation
            );
        }
        (None, Some(l)) => {
            let _ = writeln!(
                o,
                "lease        free (last held by {}, generation {})",
                l.holder, l.generation
            );
        }
        (None, None) => {
            let _ = writeln!(
                o,
                "lease        free (never taken: no `cfpd run` has started)"
            );
        }
    }
    match &s.last_poll {
        Some(p) => {
            let _ = writeln!(
                o,
                "last poll    {} ago ({}) by {}",
                span(s.now - p.at),
                when(p.at),
                p.holder
            );
        }
        None => {
            let _ = writeln!(o, "last poll    never");
        }
    }
    let total: i64 = s.messages.iter().map(|(_, n)| n).sum();
    let count = |st: MessageState| Snapshot::count(&s.messages, st);
    let _ = writeln!(
        o,
        "messages     {total} stored: {} pending, {} needs_review, {} quarantined",
        count(MessageState::Received),
        count(MessageState::NeedsReview),
        count(MessageState::Quarantined)
    );
    let terminal: Vec<String> = Snapshot::ordered(&s.messages)
        .into_iter()
        .filter(|(k, n)| *n > 0 && k != MessageState::Received.as_str())
        .map(|(k, n)| {
            let reasons: Vec<String> = s
                .message_reasons
                .iter()
                .filter(|(st, r, _)| st.as_str() == k && r.as_str() != k)
                .map(|(_, r, c)| format!("{r} {c}"))
                .collect();
            if reasons.is_empty() {
                format!("{k} {n}")
            } else {
                format!("{k} {n} ({})", reasons.join(", "))
            }
        })
        .collect();
    if !terminal.is_empty() {
        let _ = writeln!(o, "             {}", terminal.join(", "));
    }
    let _ = writeln!(o, "proposals    {}", join(&Snapshot::ordered(&s.proposals)));
    let _ = writeln!(o, "reviews      {} pending", s.reviews_pending);
    let _ = writeln!(o, "outbox       {}", join(&Snapshot::ordered(&s.outbox)));
    match s.oldest_queued_at {
        Some(t) => {
            let _ = writeln!(
                o,
                "             oldest queued mail waiting {} (since {})",
                span(s.now - t),
                when(t)
            );
        }
        None => {
            let _ = writeln!(o, "             nothing queued");
        }
    }
    let _ = writeln!(
        o,
        "bounces      {} hard, {} soft; {} undeliverable address{}",
        s.bounces_hard,
        s.bounces_soft,
        s.undeliverable,
        if s.undeliverable == 1 { "" } else { "es" }
    );
    for l in uncertain_lines(s) {
        let _ = writeln!(o, "uncertain    {l}");
    }
    if problems.is_empty() {
        let _ = writeln!(o, "status       ok");
    }
    for p in problems {
        let _ = writeln!(o, "ATTENTION    {}", crate::report::safe::terminal(p));
    }
    o
}

fn join(rows: &[(String, i64)]) -> String {
    rows.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn map(rows: &[(String, i64)]) -> serde_json::Map<String, serde_json::Value> {
    rows.iter()
        .map(|(k, n)| (k.clone(), serde_json::Value::from(*n)))
        .collect()
}

/// The summary as JSON (the same facts; times in RFC 3339 and seconds).
pub fn render_json(conference: &str, s: &Snapshot, problems: &[String]) -> serde_json::Value {
    use serde_json::json;
    let rfc = |ms: i64| crate::store::from_ms(ms).to_rfc3339();
    let secs = |ms: i64| ms as f64 / 1000.0;
    json!({
        "conference": conference,
        "ok": problems.is_empty(),
        "attention": problems,
        "database_time": rfc(s.now),
        "lease": s.lease.as_ref().map(|l| json!({
            "holder": l.holder,
            "held": s.holder().is_some(),
            "acquired_at": rfc(l.acquired_at),
            "expires_in_seconds": secs((l.expires_at - s.now).max(0)),
            "generation": l.generation,
        })),
        "last_poll": s.last_poll.as_ref().map(|p| json!({
            "holder": p.holder,
            "at": rfc(p.at),
            "age_seconds": secs(s.now - p.at),
        })),
        "messages": map(&Snapshot::ordered(&s.messages)),
        "message_reasons": s.message_reasons.iter().map(|(st, r, n)| json!({
            "state": st, "reason": r, "count": n,
        })).collect::<Vec<_>>(),
        "proposals": map(&Snapshot::ordered(&s.proposals)),
        "reviews_pending": s.reviews_pending,
        "outbox": map(&Snapshot::ordered(&s.outbox)),
        "outbox_oldest_queued_age_seconds": secs(s.oldest_queued_age_ms()),
        "bounces": { "hard": s.bounces_hard, "soft": s.bounces_soft },
        "undeliverable_addresses": s.undeliverable,
        "uncertain_mails": s.uncertain.iter().map(|u| json!({
            "id": u.id,
            "message_id": u.message_id,
            "recipient": u.recipient,
            "subject": u.subject,
            "error": u.last_error,
        })).collect::<Vec<_>>(),
    })
}

/// `cfpd status [--json]`.
pub async fn run(path: &Path, json: bool) -> anyhow::Result<()> {
    let cfg = super::load_config(path)?;
    let store = super::open_store(&cfg).await?;
    let snap = {
        let mut c = store.conn().await?;
        crate::store::status::snapshot(&mut c, store.backend, crate::lease::DAEMON).await?
    };
    store.close().await;
    let problems = attention(&snap, &cfg.metrics);
    let name = &cfg.conference.name;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render_json(name, &snap, &problems))?
        );
    } else {
        print!("{}", render_text(name, &snap, &problems));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(NeedsAttention(problems).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ProposalStatus, Reason};
    use crate::store::status::{LeaseRow, Poll};
    use std::time::Duration;

    fn thresholds() -> MetricsConfig {
        MetricsConfig {
            listen: None,
            poll_stale: Duration::from_secs(300),
            queue_stale: Duration::from_secs(1800),
        }
    }

    fn healthy() -> Snapshot {
        let now = 1_717_236_000_000;
        Snapshot {
            now,
            messages: vec![
                (MessageState::Accepted, 5),
                (MessageState::Received, 1),
                (MessageState::Rejected, 2),
            ],
            message_reasons: vec![(MessageState::Rejected, Reason::MissingFields, 2)],
            proposals: vec![(ProposalStatus::Submitted, 5)],
            reviews_pending: 3,
            outbox: vec![(OutboxState::Queued, 1), (OutboxState::Sent, 7)],
            oldest_queued_at: Some(now - 60_000),
            bounces_hard: 1,
            bounces_soft: 0,
            undeliverable: 1,
            lease: Some(LeaseRow {
                holder: "h:1:7:ab".into(),
                acquired_at: now - 3_600_000,
                expires_at: now + 12_000,
                generation: 2,
            }),
            last_poll: Some(Poll {
                holder: "h:1:7:ab".into(),
                at: now - 4_000,
            }),
            uncertain: Vec::new(),
        }
    }

    #[test]
    fn a_healthy_installation_needs_nothing_and_the_summary_shows_its_numbers() {
        let s = healthy();
        assert!(attention(&s, &thresholds()).is_empty());
        let t = render_text("Conf", &s, &[]);
        assert!(t.contains("lease        held by h:1:7:ab since 2024-06-01 09:00:00 UTC (60 min ago), expires in 12 s"), "{t}");
        assert!(t.contains("last poll    4 s ago"), "{t}");
        assert!(
            t.contains("messages     8 stored: 1 pending, 0 needs_review, 0 quarantined"),
            "{t}"
        );
        assert!(
            t.contains("accepted 5, rejected 2 (missing_fields 2)"),
            "{t}"
        );
        assert!(
            t.contains(
                "outbox       queued 1, sending 0, sent 7, failed 0, uncertain 0, suppressed 0"
            ),
            "{t}"
        );
        assert!(t.contains("oldest queued mail waiting 60 s"), "{t}");
        assert!(
            t.contains("bounces      1 hard, 0 soft; 1 undeliverable address\n"),
            "{t}"
        );
        assert!(t.contains("reviews      3 pending"), "{t}");
        assert!(t.ends_with("status       ok\n"), "{t}");
        let j = render_json("Conf", &s, &[]);
        assert_eq!(j["ok"], true);
        assert_eq!(j["messages"]["accepted"], 5);
        assert_eq!(j["messages"]["needs_review"], 0);
        assert_eq!(j["outbox"]["queued"], 1);
        assert_eq!(j["outbox_oldest_queued_age_seconds"], 60.0);
        assert_eq!(j["lease"]["held"], true);
        assert_eq!(j["last_poll"]["age_seconds"], 4.0);
    }

    #[test]
    fn no_holder_a_stale_poll_or_a_stuck_queue_each_need_attention() {
        let m = thresholds();
        let mut s = healthy();
        s.lease.as_mut().unwrap().expires_at = 0;
        let a = attention(&s, &m);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(a[0].contains("no `cfpd run` holds the lease"), "{a:?}");
        assert!(render_text("C", &s, &a).contains("lease        free (last held by h:1:7:ab"));

        let mut s = healthy();
        s.last_poll.as_mut().unwrap().at = s.now - 400_000;
        let a = attention(&s, &m);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(
            a[0].starts_with("last successful mailbox poll 6 min ago (limit 5 min"),
            "{a:?}"
        );

        // A new holder that has not polled yet is judged from when it took over.
        let mut s = healthy();
        s.lease.as_mut().unwrap().acquired_at = s.now - 10_000;
        s.last_poll.as_mut().unwrap().at = s.now - 400_000;
        assert!(attention(&s, &m).is_empty());
        s.lease.as_mut().unwrap().acquired_at = s.now - 301_000;
        let a = attention(&s, &m);
        assert!(
            a[0].starts_with("no successful mailbox poll since the holder took the lease"),
            "{a:?}"
        );

        let mut s = healthy();
        s.oldest_queued_at = Some(s.now - 31 * 60_000);
        let a = attention(&s, &m);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(
            a[0].contains("the oldest queued mail has waited 31 min (limit 30 min"),
            "{a:?}"
        );
        let t = render_text("C", &s, &a);
        assert!(t.contains("ATTENTION    the oldest queued mail"), "{t}");
        assert!(!t.contains("status       ok"), "{t}");
        assert_eq!(render_json("C", &s, &a)["ok"], false);
    }

    #[test]
    fn an_uncertain_mail_needs_attention_and_is_listed_with_its_message_id() {
        let m = thresholds();
        let mut s = healthy();
        s.outbox.push((OutboxState::Uncertain, 2));
        s.uncertain = vec![crate::store::outbox::UncertainMail {
            id: 17,
            message_id: "abc@djangocon.example".into(),
            recipient: "ada@example.org".into(),
            subject: "P-0004 received".into(),
            last_error: None,
        }];
        let a = attention(&s, &m);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(a[0].starts_with("2 mail(s) may not have arrived"), "{a:?}");
        assert!(a[0].contains("--mark-sent ID") && a[0].contains("--resend ID"));
        let t = render_text("C", &s, &a);
        assert!(
            t.contains("uncertain    mail 17  <abc@djangocon.example>  to ada@example.org  P-0004 received\n"),
            "{t}"
        );
        assert!(t.contains("uncertain    … and 1 more"), "{t}");
        assert!(t.contains("ATTENTION    2 mail(s)"), "{t}");
        let j = render_json("C", &s, &a);
        assert_eq!(j["uncertain_mails"][0]["id"], 17);
        assert_eq!(j["ok"], false);
    }
}
