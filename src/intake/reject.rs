//! Typed rejection reasons, each with its own reply template
//! (`templates/reject/<code>.txt`).
//!
//! A rejection changes nothing. Whether the sender gets an answer depends on
//! the reason: machine mail and unparseable mail never get one (no
//! backscatter), everything a person sent does (rate-limited per address).

use askama::Template;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A reply through a proposal's token, from an address other than its speaker's.
    SenderMismatch {
        /// The proposal (`P-0042`).
        reference: String,
        /// The From address that tried.
        from: String,
    },
    /// A follow-up with no fields and no command in it.
    UpdateNotUnderstood {
        /// The proposal.
        reference: String,
    },
    /// A follow-up to a withdrawn proposal.
    ProposalWithdrawn {
        /// The proposal.
        reference: String,
    },
    /// "withdraw" without a reply token: we cannot know which proposal, and a
    /// From header alone authorizes nothing.
    WithdrawWithoutToken,
    /// Larger than the configured limit.
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// Limit in bytes.
        limit: usize,
    },
    /// No usable From address.
    NoSender,
    /// A speaker update after the CFP deadline.
    CfpClosed {
        /// The proposal.
        reference: String,
        /// The deadline, formatted in the conference zone and UTC.
        deadline: String,
    },
}

impl Rejection {
    /// The stored reason code (also the template's file name).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::SenderMismatch { .. } => "sender_mismatch",
            Rejection::UpdateNotUnderstood { .. } => "update_not_understood",
            Rejection::ProposalWithdrawn { .. } => "proposal_withdrawn",
            Rejection::WithdrawWithoutToken => "withdraw_without_token",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::NoSender => "no_sender",
            Rejection::CfpClosed { .. } => "cfp_closed",
        }
    }

    /// A one-line explanation for the message log.
    pub fn detail(&self) -> String {
        match self {
            Rejection::SenderMismatch { reference, from } => {
                format!("reply to {reference} from {from}, not its speaker")
            }
            Rejection::UpdateNotUnderstood { reference } => {
                format!("reply to {reference} with nothing to change")
            }
            Rejection::ProposalWithdrawn { reference } => {
                format!("{reference} is withdrawn; follow-up ignored")
            }
            Rejection::WithdrawWithoutToken => "withdraw request without a reply token".into(),
            Rejection::TooLarge { size, limit } => {
                format!("{size} bytes exceeds the limit of {limit} bytes")
            }
            Rejection::NoSender => "no usable From address".into(),
            Rejection::CfpClosed { reference, .. } => {
                format!("update to {reference} after the CFP deadline")
            }
        }
    }

    /// The reply body, or `None` when the reason gets no reply.
    pub fn reply(&self, conference: &str, cfp_address: &str, subject: &str) -> Option<String> {
        let r = match self {
            Rejection::SenderMismatch { reference, from } => SenderMismatch {
                conference,
                reference,
                from,
            }
            .render(),
            Rejection::UpdateNotUnderstood { reference } => UpdateNotUnderstood {
                conference,
                reference,
            }
            .render(),
            Rejection::ProposalWithdrawn { reference } => ProposalWithdrawn {
                conference,
                reference,
                cfp_address,
            }
            .render(),
            Rejection::WithdrawWithoutToken => WithdrawWithoutToken { conference }.render(),
            Rejection::TooLarge { size, limit } => TooLarge {
                conference,
                subject,
                size_kib: size.div_ceil(1024),
                limit_kib: limit / 1024,
            }
            .render(),
            Rejection::CfpClosed {
                reference,
                deadline,
            } => CfpClosed {
                conference,
                reference,
                deadline,
            }
            .render(),
            Rejection::NoSender => return None,
        };
        Some(r.unwrap_or_else(|e| format!("(template error: {e})")))
    }
}

#[derive(Template)]
#[template(path = "reject/sender_mismatch.txt")]
struct SenderMismatch<'a> {
    conference: &'a str,
    reference: &'a str,
    from: &'a str,
}

#[derive(Template)]
#[template(path = "reject/update_not_understood.txt")]
struct UpdateNotUnderstood<'a> {
    conference: &'a str,
    reference: &'a str,
}

#[derive(Template)]
#[template(path = "reject/proposal_withdrawn.txt")]
struct ProposalWithdrawn<'a> {
    conference: &'a str,
    reference: &'a str,
    cfp_address: &'a str,
}

#[derive(Template)]
#[template(path = "reject/withdraw_without_token.txt")]
struct WithdrawWithoutToken<'a> {
    conference: &'a str,
}

#[derive(Template)]
#[template(path = "reject/too_large.txt")]
struct TooLarge<'a> {
    conference: &'a str,
    subject: &'a str,
    size_kib: usize,
    limit_kib: usize,
}

#[derive(Template)]
#[template(path = "reject/cfp_closed.txt")]
struct CfpClosed<'a> {
    conference: &'a str,
    reference: &'a str,
    deadline: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_person_facing_reason_renders_its_own_text() {
        let reasons = [
            Rejection::SenderMismatch {
                reference: "P-0001".into(),
                from: "eve@evil.example".into(),
            },
            Rejection::UpdateNotUnderstood {
                reference: "P-0001".into(),
            },
            Rejection::ProposalWithdrawn {
                reference: "P-0001".into(),
            },
            Rejection::WithdrawWithoutToken,
            Rejection::TooLarge {
                size: 5_000_000,
                limit: 2_097_152,
            },
            Rejection::CfpClosed {
                reference: "P-0001".into(),
                deadline: "2024-04-24 23:59 AoE".into(),
            },
        ];
        let mut seen = std::collections::HashSet::new();
        for r in reasons {
            let body = r.reply("ConfX", "cfp@x.example", "Subj").unwrap();
            assert!(body.contains("ConfX"), "{body}");
            assert!(!body.contains("template error"), "{body}");
            assert!(seen.insert(body), "{:?} shares its text", r.code());
        }
        assert_eq!(Rejection::NoSender.reply("C", "a@b", "s"), None);
    }
}
