//! List-Unsubscribe requests for the announcement audience.
//!
//! Announcement mails carry `List-Unsubscribe: <mailto:cfp+u-<token>@…>`
//! (RFC 2369). A mail to such an address unsubscribes the address the token
//! was sent to, whoever the sender is: the token is a capability only its
//! recipient received (a mailing list's members write from their own
//! addresses, not the list's), and it can only ever *stop* mail. Machine
//! mail counts too (mailbox providers unsubscribe on the user's behalf),
//! and nothing is ever answered, so no loop or backscatter is possible. An
//! unknown token is recorded as rejected, also without a reply.

use super::inbound::Inbound;
use super::pipeline::Handled;
use super::IntakeError;
use crate::config::Config;
use crate::model::Reason;
use crate::store::messages::{Finish, MessageState};
use crate::store::{self, reminders, AnyConnection};
use crate::token;

/// The unsubscribe token `i` was sent to, if any (pure: see [`super::decide`]).
pub fn secret(i: &Inbound, cfg: &Config) -> Option<String> {
    i.recipients.iter().find_map(
        |r| match token::extract(r, cfg.cfp_local(), cfg.cfp_domain()) {
            Some(token::Tagged::Unsubscribe(s)) => Some(s),
            _ => None,
        },
    )
}

/// Record the unsubscription the token `secret` asks for, and return the message's
/// terminal state: unsubscribed, or rejected when cfpd never issued the token.
pub(super) async fn apply(
    tx: &mut AnyConnection,
    secret: &str,
    message_row: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Handled, IntakeError> {
    let address =
        reminders::unsubscribe_by_token(tx, &token::hash(secret), message_row, store::ms(now))
            .await?;
    if address.is_some() {
        tracing::info!(message_row, "announcement address unsubscribed");
    }
    Ok(outcome(address))
}

/// The terminal state of a mail to an unsubscribe address, given the address the token
/// unsubscribed (`None`: cfpd never issued the token). Never answered.
fn outcome(address: Option<String>) -> Handled {
    match address {
        Some(a) => Handled {
            state: MessageState::Unsubscribed,
            finish: Finish {
                reason: Some(Reason::Unsubscribe),
                detail: Some(format!("{a} gets no more announcements")),
                ..Default::default()
            },
            reply: None,
            first_ack: false,
        },
        None => Handled {
            state: MessageState::Rejected,
            finish: Finish {
                reason: Some(Reason::UnknownUnsubscribeToken),
                detail: Some("sent to an unsubscribe address cfpd never issued".into()),
                ..Default::default()
            },
            reply: None,
            first_ack: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_unsubscribes_and_an_unknown_one_is_rejected_unanswered() {
        let h = outcome(Some("ann@x.example".into()));
        assert_eq!(h.state, MessageState::Unsubscribed);
        assert_eq!(h.finish.reason.map(|r| r.as_str()), Some("unsubscribe"));
        assert_eq!(
            h.finish.detail.as_deref(),
            Some("ann@x.example gets no more announcements")
        );
        assert!(h.reply.is_none());
        let h = outcome(None);
        assert_eq!(h.state, MessageState::Rejected);
        assert_eq!(
            h.finish.reason.map(|r| r.as_str()),
            Some("unknown_unsubscribe_token")
        );
        assert!(h.reply.is_none());
    }
}
