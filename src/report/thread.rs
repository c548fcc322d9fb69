//! The mail thread with a proposal's speakers in `cfpd proposals show`:
//! what came in and what cfpd sent, one line each, in time order, with
//! subjects and states (a held or uncertain mail says so). Pure: the
//! caller reads the rows (`store::thread`).

use super::safe::terminal;
use crate::store::thread::{Inbound, Outbound};

/// The thread's lines, oldest first (a message before the reply it caused
/// when both carry the same time).
pub fn render(inbound: &[Inbound], outbound: &[Outbound]) -> Vec<String> {
    let mut lines: Vec<(i64, u8, i64, String)> = Vec::new();
    for m in inbound {
        let state = match m.reason {
            Some(r) => format!("{}: {}", m.state.as_str(), r.as_str()),
            None => m.state.as_str().to_string(),
        };
        lines.push((
            m.at,
            0,
            m.id,
            format!(
                "{}  in   message {}  from {}  \"{}\"  ({state})",
                when(m.at),
                m.id,
                terminal(m.from_addr.as_deref().unwrap_or("(no sender)")),
                terminal(m.subject.as_deref().unwrap_or("")),
            ),
        ));
    }
    for o in outbound {
        let state = match (o.state.as_str(), o.hold) {
            (s, Some(h)) => format!("{s}, held: {}", h.as_str()),
            ("sent", None) => match o.sent_at {
                Some(t) => format!("sent {}", when(t)),
                None => "sent".into(),
            },
            (s, None) => s.to_string(),
        };
        lines.push((
            o.at,
            1,
            o.id,
            format!(
                "{}  out  mail {}  to {}  \"{}\"  ({}, {state})",
                when(o.at),
                o.id,
                terminal(&o.recipient),
                terminal(&o.subject),
                o.kind.as_str(),
            ),
        ));
    }
    lines.sort_by_key(|l| (l.0, l.1, l.2));
    lines.into_iter().map(|l| l.3).collect()
}

/// A stored time (ms) as the CLI prints times.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HoldReason, MailKind, MessageState, OutboxState};

    const T0: i64 = 1_767_268_800_000; // 2026-01-01 12:00 UTC

    #[test]
    fn messages_and_replies_interleave_in_time_order() {
        let inbound = vec![
            Inbound {
                id: 7,
                at: T0,
                from_addr: Some("ada@example.org".into()),
                subject: Some("Talk: Fast ORM".into()),
                state: MessageState::Accepted,
                reason: None,
            },
            Inbound {
                id: 9,
                at: T0 + 3_600_000,
                from_addr: Some("ada@example.org".into()),
                subject: Some("Re: \u{1b}[31mupdate".into()),
                state: MessageState::Accepted,
                reason: None,
            },
        ];
        let outbound = vec![
            Outbound {
                id: 2,
                at: T0 + 3_600_000,
                sent_at: None,
                kind: MailKind::Updated,
                recipient: "ada@example.org".into(),
                subject: "[Conf] P-0001 updated".into(),
                state: OutboxState::Queued,
                hold: Some(HoldReason::AddressCap),
            },
            Outbound {
                id: 1,
                at: T0,
                sent_at: Some(T0 + 60_000),
                kind: MailKind::Ack,
                recipient: "ada@example.org".into(),
                subject: "[Conf] P-0001 received: Fast ORM".into(),
                state: OutboxState::Sent,
                hold: None,
            },
        ];
        let lines = render(&inbound, &outbound);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("in   message 7") && lines[0].contains("(accepted)"));
        assert!(
            lines[1].contains("out  mail 1")
                && lines[1].contains("(ack, sent 2026-01-01 12:01 UTC)"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("message 9") && lines[2].contains("\\x1b"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("mail 2") && lines[3].contains("held: "),
            "{}",
            lines[3]
        );
        assert!(lines[0].starts_with("2026-01-01 12:00 UTC"));
    }
}
