//! Typed rejection reasons, each with its own reply template
//! (`templates/reject/<code>.txt`).
//!
//! A rejection changes nothing. Whether the sender gets an answer depends on
//! the reason: machine mail and unparseable mail never get one (no
//! backscatter), everything a person sent does (rate-limited per address).

use askama::Template;
use serde::Serialize;

use crate::config::Overrides;
use crate::mail;
use crate::outbox::custom::{AnyMail, Mail};

use crate::model::{AssignmentState, Reason};
use crate::outbox::templates::wrap;
use crate::review::form::FormSpec;

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
    /// A reply about a proposal (its subject or threading names one of ours) sent to the
    /// plain CFP address, without the reply token: nothing is stored, and the answer says
    /// how to update the proposal. Stored as `update_not_understood` for now.
    ReplyWithoutToken {
        /// The proposal the reply names (`P-0042`), as written; never verified or used.
        reference: String,
    },
    /// Larger than the configured limit.
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// Limit in bytes.
        limit: usize,
    },
    /// Attachments beyond `[proposals]` limits (count, size per attachment,
    /// blocked types). cfpd reads proposals from the body and never opens an
    /// attachment; the limits keep executables and bulk data out of the archive.
    Attachments {
        /// What was wrong, naming the limit (e.g. `"setup.exe" is a .exe file; …`).
        problem: String,
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
    /// A reply through an assignment's token from an address other than its reviewer's.
    /// The reply (to the From address) names neither the proposal nor the reviewer.
    ReviewerMismatch {
        /// The proposal (for the chair's log only).
        reference: String,
        /// The From address that tried.
        from: String,
    },
    /// A reply through a proposal token past its lifetime
    /// (`[proposals] reply_token_days`).
    ProposalTokenExpired {
        /// The proposal.
        reference: String,
        /// The lifetime, for the answer.
        days: u32,
    },
    /// A reply through an assignment token that has expired.
    ReviewTokenExpired {
        /// The proposal.
        reference: String,
    },
    /// A mail that looks like a review or a decline, sent without a reply token: a From
    /// header alone never selects an assignment.
    ReviewWithoutToken,
    /// The subject or the threading headers name another assignment than the token the
    /// reply was sent through: ambiguous, so nothing is recorded.
    AssignmentMismatch {
        /// The proposal of the token.
        reference: String,
        /// What the other header named (`P-0002`).
        other: String,
        /// Which header: `subject`, `In-Reply-To header` or `References header`.
        via: &'static str,
    },
    /// A reply to an assignment the reviewer declined or declared a conflict
    /// with, or a chair took them off.
    AssignmentReleased {
        /// The proposal.
        reference: String,
        /// How it was released: declined, conflict or removed.
        state: AssignmentState,
    },
    /// A review reply after the review deadline.
    ReviewClosed {
        /// The proposal.
        reference: String,
        /// The review deadline, formatted in the conference zone and UTC.
        deadline: String,
        /// Whether a review from before the deadline stands.
        has_review: bool,
    },
    /// A review reply whose form could not be read: every problem, for one help reply.
    ReviewForm {
        /// The proposal.
        reference: String,
        /// What is wrong, each written for the reviewer.
        problems: Vec<String>,
        /// The scales, to show the form again.
        scale: FormSpec,
    },
    /// A review reply for a proposal its speaker has withdrawn.
    ReviewOfWithdrawn {
        /// The proposal.
        reference: String,
    },
    /// An accepted speaker's reply through their token that says neither
    /// confirm nor decline (and changes no field): nothing is recorded, and
    /// they are asked for one plain word.
    ConfirmationUnclear {
        /// The proposal.
        reference: String,
    },
    /// A chair token used from another address than its chair's. The reply
    /// (to the From address) names no proposal and no chair.
    ChairMismatch {
        /// The From address that tried.
        from: String,
    },
    /// A chair's confirmation token used a second time (replayed).
    ChairConfirmationUsed,
    /// Through a chair token, but no decision could be read (or a
    /// confirmation that is not "yes"): what could not be read.
    ChairCommandUnclear {
        /// Lines that could not be read, or why.
        problems: Vec<String>,
    },
    /// Decision commands without a chair token (from the right address or
    /// through a speaker's or reviewer's token): a From header decides nothing.
    ChairWithoutToken,
    /// A reply through a reviewer's bidding token from another address: stored
    /// as `reviewer_mismatch`; the answer names no proposal and no reviewer.
    BidderMismatch {
        /// The From address that tried.
        from: String,
    },
    /// A reply to the bidding mail in which no bid could be read.
    BidsNotUnderstood {
        /// What could not be read, in the reviewer's words.
        problems: Vec<String>,
    },
}

impl Rejection {
    /// The stored reason code (also the template's file name).
    pub fn code(&self) -> Reason {
        match self {
            Rejection::SenderMismatch { .. } => Reason::SenderMismatch,
            Rejection::UpdateNotUnderstood { .. } => Reason::UpdateNotUnderstood,
            Rejection::ProposalWithdrawn { .. } => Reason::ProposalWithdrawn,
            Rejection::WithdrawWithoutToken => Reason::WithdrawWithoutToken,
            Rejection::ReplyWithoutToken { .. } => Reason::UpdateNotUnderstood,
            Rejection::ConfirmationUnclear { .. } => Reason::ConfirmationUnclear,
            Rejection::ChairMismatch { .. } => Reason::ChairMismatch,
            Rejection::ChairConfirmationUsed => Reason::ChairConfirmationUsed,
            Rejection::ChairCommandUnclear { .. } => Reason::ChairCommandUnclear,
            Rejection::ChairWithoutToken => Reason::ChairWithoutToken,
            Rejection::BidderMismatch { .. } => Reason::ReviewerMismatch,
            Rejection::BidsNotUnderstood { .. } => Reason::BidsNotUnderstood,
            Rejection::TooLarge { .. } => Reason::TooLarge,
            Rejection::Attachments { .. } => Reason::Attachments,
            Rejection::NoSender => Reason::NoSender,
            Rejection::CfpClosed { .. } => Reason::CfpClosed,
            Rejection::ReviewerMismatch { .. } => Reason::ReviewerMismatch,
            Rejection::ReviewTokenExpired { .. } | Rejection::ProposalTokenExpired { .. } => {
                Reason::TokenExpired
            }
            Rejection::ReviewWithoutToken => Reason::ReviewWithoutToken,
            Rejection::AssignmentMismatch { .. } => Reason::AssignmentMismatch,
            Rejection::AssignmentReleased { .. } => Reason::AssignmentReleased,
            Rejection::ReviewClosed { .. } => Reason::ReviewClosed,
            Rejection::ReviewForm { .. } => Reason::ReviewForm,
            Rejection::ReviewOfWithdrawn { .. } => Reason::ReviewOfWithdrawn,
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
            Rejection::ReplyWithoutToken { reference } => {
                format!("reply about {reference} without a reply token; nothing stored")
            }
            Rejection::ConfirmationUnclear { reference } => {
                format!("reply to the acceptance of {reference}: neither confirm nor decline")
            }
            Rejection::ChairMismatch { from } => {
                format!("chair token used by {from}, not its chair; nothing decided")
            }
            Rejection::ChairConfirmationUsed => {
                "a chair's confirmation used again; nothing decided".into()
            }
            Rejection::ChairCommandUnclear { problems } => {
                format!("no decision read: {}", problems.join("; "))
            }
            Rejection::ChairWithoutToken => {
                "decision commands without a chair token; nothing decided".into()
            }
            Rejection::BidderMismatch { from } => {
                format!("bids from {from}, not the reviewer the bidding mail was sent to")
            }
            Rejection::BidsNotUnderstood { problems } => {
                format!("no bid read: {}", problems.join("; "))
            }
            Rejection::TooLarge { size, limit } => {
                format!("{size} bytes exceeds the limit of {limit} bytes")
            }
            Rejection::Attachments { problem } => problem.clone(),
            Rejection::NoSender => "no usable From address".into(),
            Rejection::CfpClosed { reference, .. } => {
                format!("update to {reference} after the CFP deadline")
            }
            Rejection::ReviewerMismatch { reference, from } => {
                format!("review reply for {reference} from {from}, not its assigned reviewer")
            }
            Rejection::ReviewTokenExpired { reference } => {
                format!("review reply for {reference} through an expired token")
            }
            Rejection::ProposalTokenExpired { reference, days } => {
                format!("reply for {reference} through a token older than {days} days")
            }
            Rejection::ReviewWithoutToken => "review or decline sent without a reply token".into(),
            Rejection::AssignmentMismatch {
                reference,
                other,
                via,
            } => format!("token is for {reference} but the {via} names {other}"),
            Rejection::AssignmentReleased { reference, state } => format!(
                "reply to {reference} after {}",
                match state {
                    AssignmentState::Conflict => "the reviewer declared a conflict",
                    AssignmentState::Removed => "a chair took the reviewer off it",
                    _ => "the reviewer declined",
                }
            ),
            Rejection::ReviewClosed { reference, .. } => {
                format!("review reply for {reference} after the review deadline")
            }
            Rejection::ReviewForm {
                reference,
                problems,
                ..
            } => format!("review of {reference} not readable: {}", problems.join(" ")),
            Rejection::ReviewOfWithdrawn { reference } => {
                format!("review reply for {reference}, which is withdrawn")
            }
        }
    }

    /// The reply body, or `None` when the reason gets no reply.
    pub fn reply(&self, ctx: &ReplyCtx<'_>, subject: &str) -> Option<String> {
        let m = self.mail(ctx, subject)?;
        Some(
            m.text_in(ctx.set)
                .unwrap_or_else(|e| format!("(template error: {e})")),
        )
    }

    /// The reply as a template with its data (what [`Rejection::reply`]
    /// renders and `cfpd check` samples), or `None` when the reason gets no
    /// reply.
    pub fn mail<'a>(
        &'a self,
        ctx: &ReplyCtx<'a>,
        subject: &'a str,
    ) -> Option<Box<dyn AnyMail + 'a>> {
        let ReplyCtx {
            conference,
            cfp_address,
            contact,
            ..
        } = *ctx;
        let r = match self {
            Rejection::SenderMismatch { reference, from } => SenderMismatch {
                conference,
                contact,
                reference,
                from,
            }
            .boxed(),
            Rejection::UpdateNotUnderstood { reference } => UpdateNotUnderstood {
                conference,
                contact,
                reference,
            }
            .boxed(),
            Rejection::ProposalWithdrawn { reference } => ProposalWithdrawn {
                conference,
                contact,
                reference,
                cfp_address,
            }
            .boxed(),
            Rejection::WithdrawWithoutToken => WithdrawWithoutToken {
                conference,
                contact,
            }
            .boxed(),
            Rejection::ReplyWithoutToken { reference } => ReplyWithoutToken {
                conference,
                contact,
                reference,
                cfp_address,
            }
            .boxed(),
            Rejection::TooLarge { size, limit } => TooLarge {
                conference,
                contact,
                subject,
                size_kib: size.div_ceil(1024),
                limit_kib: limit / 1024,
            }
            .boxed(),
            Rejection::CfpClosed {
                reference,
                deadline,
            } => CfpClosed {
                conference,
                contact,
                reference,
                deadline,
            }
            .boxed(),
            Rejection::ReviewerMismatch { .. }
            | Rejection::ReviewTokenExpired { .. }
            | Rejection::ReviewWithoutToken
            | Rejection::AssignmentMismatch { .. }
            | Rejection::AssignmentReleased { .. }
            | Rejection::ReviewClosed { .. }
            | Rejection::ReviewForm { .. }
            | Rejection::ReviewOfWithdrawn { .. } => return self.reviewer_mail(ctx),
            Rejection::ProposalTokenExpired { reference, days } => ProposalTokenExpired {
                conference,
                contact,
                reference,
                days: *days,
            }
            .boxed(),
            Rejection::Attachments { problem } => Attachments {
                conference,
                contact,
                subject,
                problem,
            }
            .boxed(),
            Rejection::ConfirmationUnclear { reference } => ConfirmationUnclear {
                conference,
                contact,
                reference,
            }
            .boxed(),
            Rejection::ChairMismatch { from } => ChairMismatch {
                conference,
                contact,
                from,
            }
            .boxed(),
            Rejection::ChairConfirmationUsed => ChairConfirmationUsed {
                conference,
                contact,
            }
            .boxed(),
            Rejection::ChairCommandUnclear { problems } => ChairCommandUnclear {
                conference,
                contact,
                problems,
            }
            .boxed(),
            Rejection::ChairWithoutToken => ChairWithoutToken {
                conference,
                contact,
            }
            .boxed(),
            Rejection::BidderMismatch { from } => BidderMismatch {
                conference,
                contact,
                from,
            }
            .boxed(),
            Rejection::BidsNotUnderstood { problems } => BidsNotUnderstood {
                conference,
                contact,
                problems: problems.iter().map(|p| wrap(p, 72)).collect(),
            }
            .boxed(),
            Rejection::NoSender => return None,
        };
        Some(r)
    }

    /// [`Rejection::mail`] for the reasons about a review reply.
    fn reviewer_mail<'a>(&'a self, ctx: &ReplyCtx<'a>) -> Option<Box<dyn AnyMail + 'a>> {
        let ReplyCtx {
            conference,
            cfp_address,
            contact,
            ..
        } = *ctx;
        let r = match self {
            Rejection::ReviewerMismatch { from, .. } => ReviewerMismatch {
                conference,
                contact,
                from,
            }
            .boxed(),
            Rejection::ReviewTokenExpired { reference } => ReviewTokenExpired {
                conference,
                contact,
                reference,
            }
            .boxed(),
            Rejection::ReviewWithoutToken => ReviewWithoutToken {
                conference,
                contact,
                cfp_address,
            }
            .boxed(),
            Rejection::AssignmentMismatch {
                reference,
                other,
                via,
            } => AssignmentMismatch {
                conference,
                contact,
                reference,
                other,
                via,
            }
            .boxed(),
            Rejection::AssignmentReleased { reference, state } => AssignmentReleased {
                conference,
                contact,
                reference,
                conflict: *state == AssignmentState::Conflict,
                removed: *state == AssignmentState::Removed,
            }
            .boxed(),
            Rejection::ReviewClosed {
                reference,
                deadline,
                has_review,
            } => ReviewClosed {
                conference,
                contact,
                reference,
                deadline,
                has_review: *has_review,
            }
            .boxed(),
            Rejection::ReviewForm {
                reference,
                problems,
                scale,
            } => ReviewForm {
                conference,
                contact,
                reference,
                problems: problems.iter().map(|p| wrap(p, 70)).collect(),
                scale: *scale,
            }
            .boxed(),
            Rejection::ReviewOfWithdrawn { reference } => ReviewOfWithdrawn {
                conference,
                contact,
                reference,
            }
            .boxed(),
            _ => return None,
        };
        Some(r)
    }
}

/// What every refusal mail needs besides its own facts.
#[derive(Clone, Copy)]
pub struct ReplyCtx<'a> {
    /// Conference name.
    pub conference: &'a str,
    /// Where proposals go.
    pub cfp_address: &'a str,
    /// Where a person answers (`[conference] contact`).
    pub contact: &'a [String],
    /// The chair's own wording of the mails.
    pub set: &'a Overrides,
}

impl<'a> ReplyCtx<'a> {
    /// From the configuration.
    pub fn of(cfg: &'a crate::config::Config) -> ReplyCtx<'a> {
        ReplyCtx {
            conference: &cfg.conference.name,
            cfp_address: &cfg.conference.cfp_address,
            contact: &cfg.conference.contact,
            set: &cfg.templates,
        }
    }
}

mail!(
    ChairMismatch => "reject/chair_mismatch.txt",
    ChairConfirmationUsed => "reject/chair_confirmation_used.txt",
    ChairCommandUnclear => "reject/chair_command_unclear.txt",
    ChairWithoutToken => "reject/chair_without_token.txt",
    BidderMismatch => "reject/bidder_mismatch.txt",
    BidsNotUnderstood => "reject/bids_not_understood.txt",
    ConfirmationUnclear => "reject/confirmation_unclear.txt",
    SenderMismatch => "reject/sender_mismatch.txt",
    ReplyWithoutToken => "reject/reply_without_token.txt",
    UpdateNotUnderstood => "reject/update_not_understood.txt",
    ProposalWithdrawn => "reject/proposal_withdrawn.txt",
    WithdrawWithoutToken => "reject/withdraw_without_token.txt",
    Attachments => "reject/attachments.txt",
    TooLarge => "reject/too_large.txt",
    CfpClosed => "reject/cfp_closed.txt",
    ReviewerMismatch => "reject/reviewer_mismatch.txt",
    ProposalTokenExpired => "reject/proposal_token_expired.txt",
    ReviewTokenExpired => "reject/token_expired.txt",
    ReviewWithoutToken => "reject/review_without_token.txt",
    AssignmentMismatch => "reject/assignment_mismatch.txt",
    AssignmentReleased => "reject/assignment_released.txt",
    ReviewClosed => "reject/review_closed.txt",
    ReviewForm => "reject/review_form.txt",
    ReviewOfWithdrawn => "reject/review_of_withdrawn.txt",
);

#[derive(Template, Serialize)]
#[template(path = "reject/chair_mismatch.txt")]
struct ChairMismatch<'a> {
    conference: &'a str,
    contact: &'a [String],
    from: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/chair_confirmation_used.txt")]
struct ChairConfirmationUsed<'a> {
    conference: &'a str,
    contact: &'a [String],
}

#[derive(Template, Serialize)]
#[template(path = "reject/chair_command_unclear.txt")]
struct ChairCommandUnclear<'a> {
    conference: &'a str,
    contact: &'a [String],
    problems: &'a [String],
}

#[derive(Template, Serialize)]
#[template(path = "reject/chair_without_token.txt")]
struct ChairWithoutToken<'a> {
    conference: &'a str,
    contact: &'a [String],
}

#[derive(Template, Serialize)]
#[template(path = "reject/confirmation_unclear.txt")]
struct ConfirmationUnclear<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/sender_mismatch.txt")]
struct SenderMismatch<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    from: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/reply_without_token.txt")]
struct ReplyWithoutToken<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    cfp_address: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/update_not_understood.txt")]
struct UpdateNotUnderstood<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/proposal_withdrawn.txt")]
struct ProposalWithdrawn<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    cfp_address: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/withdraw_without_token.txt")]
struct WithdrawWithoutToken<'a> {
    conference: &'a str,
    contact: &'a [String],
}

#[derive(Template, Serialize)]
#[template(path = "reject/attachments.txt")]
struct Attachments<'a> {
    conference: &'a str,
    contact: &'a [String],
    subject: &'a str,
    problem: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/too_large.txt")]
struct TooLarge<'a> {
    conference: &'a str,
    contact: &'a [String],
    subject: &'a str,
    size_kib: usize,
    limit_kib: usize,
}

#[derive(Template, Serialize)]
#[template(path = "reject/cfp_closed.txt")]
struct CfpClosed<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    deadline: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/reviewer_mismatch.txt")]
struct ReviewerMismatch<'a> {
    conference: &'a str,
    contact: &'a [String],
    from: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/proposal_token_expired.txt")]
struct ProposalTokenExpired<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    days: u32,
}

#[derive(Template, Serialize)]
#[template(path = "reject/token_expired.txt")]
struct ReviewTokenExpired<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/review_without_token.txt")]
struct ReviewWithoutToken<'a> {
    conference: &'a str,
    contact: &'a [String],
    cfp_address: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/assignment_mismatch.txt")]
struct AssignmentMismatch<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    other: &'a str,
    via: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/assignment_released.txt")]
struct AssignmentReleased<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    conflict: bool,
    removed: bool,
}

#[derive(Template, Serialize)]
#[template(path = "reject/review_closed.txt")]
struct ReviewClosed<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    deadline: &'a str,
    has_review: bool,
}

#[derive(Template, Serialize)]
#[template(path = "reject/review_form.txt")]
struct ReviewForm<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
    problems: Vec<String>,
    scale: FormSpec,
}

#[derive(Template, Serialize)]
#[template(path = "reject/bidder_mismatch.txt")]
struct BidderMismatch<'a> {
    conference: &'a str,
    contact: &'a [String],
    from: &'a str,
}

#[derive(Template, Serialize)]
#[template(path = "reject/bids_not_understood.txt")]
struct BidsNotUnderstood<'a> {
    conference: &'a str,
    contact: &'a [String],
    problems: Vec<String>,
}

#[derive(Template, Serialize)]
#[template(path = "reject/review_of_withdrawn.txt")]
struct ReviewOfWithdrawn<'a> {
    conference: &'a str,
    contact: &'a [String],
    reference: &'a str,
}

impl Rejection {
    /// One example of every reason that gets a reply, with realistic data:
    /// the unit tests render them all, and `cfpd check` renders a chair's
    /// override of each with them.
    pub fn samples(ctx: &ReplyCtx<'_>) -> Vec<crate::outbox::custom::Sample> {
        let examples = Rejection::examples();
        examples
            .iter()
            .filter_map(|r| {
                r.mail(
                    ctx,
                    "Re: [DjangoCon US 2099] P-0042 received: Forms without tears",
                )
                .map(|m| m.sample())
            })
            .collect()
    }

    /// One example of every reason that gets a reply (see [`Rejection::samples`]).
    pub fn examples() -> Vec<Rejection> {
        vec![
            Rejection::Attachments {
                problem: "\"setup.exe\" is a .exe file; cfpd takes no programs".into(),
            },
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
            Rejection::ReplyWithoutToken {
                reference: "P-0001".into(),
            },
            Rejection::TooLarge {
                size: 5_000_000,
                limit: 2_097_152,
            },
            Rejection::CfpClosed {
                reference: "P-0001".into(),
                deadline: "2024-04-24 23:59 AoE".into(),
            },
            Rejection::ReviewerMismatch {
                reference: "P-0001".into(),
                from: "eve@evil.example".into(),
            },
            Rejection::ReviewTokenExpired {
                reference: "P-0001".into(),
            },
            Rejection::ProposalTokenExpired {
                reference: "P-0001".into(),
                days: 365,
            },
            Rejection::ReviewWithoutToken,
            Rejection::AssignmentMismatch {
                reference: "P-0001".into(),
                other: "P-0002".into(),
                via: "subject",
            },
            Rejection::AssignmentReleased {
                reference: "P-0001".into(),
                state: AssignmentState::Conflict,
            },
            Rejection::AssignmentReleased {
                reference: "P-0001".into(),
                state: AssignmentState::Removed,
            },
            Rejection::ReviewClosed {
                reference: "P-0001".into(),
                deadline: "2024-05-20 23:59 AoE".into(),
                has_review: true,
            },
            Rejection::ReviewForm {
                reference: "P-0001".into(),
                problems: vec!["No score found in your reply.".into()],
                scale: FormSpec::default(),
            },
            Rejection::ReviewOfWithdrawn {
                reference: "P-0001".into(),
            },
            Rejection::ConfirmationUnclear {
                reference: "P-0001".into(),
            },
            Rejection::ChairMismatch {
                from: "eve@evil.example".into(),
            },
            Rejection::ChairConfirmationUsed,
            Rejection::ChairCommandUnclear {
                problems: vec!["accept the HTMX talk".into()],
            },
            Rejection::ChairWithoutToken,
            Rejection::BidderMismatch {
                from: "eve@evil.example".into(),
            },
            Rejection::BidsNotUnderstood {
                problems: vec![format!(
                    "\"P-0004 please\": start the line with yes, maybe, no or conflict {}",
                    "and then some more words to wrap".repeat(3)
                )],
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CONTACT: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["program-committee@djangocon-us-2099.example.org".into()]);
    static NONE: std::sync::LazyLock<Overrides> = std::sync::LazyLock::new(Overrides::default);

    fn ctx<'a>(conference: &'a str, cfp_address: &'a str) -> ReplyCtx<'a> {
        ReplyCtx {
            conference,
            cfp_address,
            contact: &CONTACT,
            set: &NONE,
        }
    }

    #[test]
    fn every_person_facing_reason_renders_its_own_text() {
        let reasons = Rejection::examples();
        let mut seen = std::collections::HashSet::new();
        for r in reasons {
            let body = r.reply(&ctx("ConfX", "cfp@x.example"), "Subj").unwrap();
            assert!(body.contains("ConfX"), "{body}");
            assert!(!body.contains("template error"), "{body}");
            // With a realistic long conference name, address and subject.
            let long = r
                .reply(
                    &ctx(
                        "DjangoCon US 2099 Conference",
                        "call-for-proposals@djangocon-us-2099.example.org",
                    ),
                    "Re: [DjangoCon US 2099] P-0042 received: Forms",
                )
                .unwrap();
            for l in long.lines() {
                assert!(l.chars().count() <= 78, "{:?}: {l}", r.code());
            }
            assert!(
                long.contains("  program-committee@djangocon-us-2099.example.org\n"),
                "{:?} names no contact: {long}",
                r.code()
            );
            assert!(seen.insert(body), "{:?} shares its text", r.code());
        }
        assert_eq!(Rejection::NoSender.reply(&ctx("C", "a@b"), "s"), None);
    }

    /// Every refusal with long data renders alike in askama and minijinja
    /// (so an exported copy changes nothing), and every refusal template
    /// has an example.
    #[test]
    fn every_refusal_renders_alike_in_both_engines_and_has_an_example() {
        let c = ctx(
            "DjangoCon US 2099 Conference",
            "call-for-proposals@djangocon-us-2099.example.org",
        );
        let samples = Rejection::samples(&c);
        for s in &samples {
            let runtime = crate::outbox::custom::render_runtime(s.name, &s.ctx, &NONE).unwrap();
            assert_eq!(runtime, s.builtin, "{} differs between the engines", s.name);
        }
        for (name, _) in crate::outbox::custom::BUILTIN {
            if name.starts_with("reject/") {
                assert!(
                    samples.iter().any(|s| s.name == *name),
                    "{name} has no example"
                );
            }
        }
        let no_contact = ReplyCtx { contact: &[], ..c };
        let body = Rejection::WithdrawWithoutToken
            .reply(&no_contact, "s")
            .unwrap();
        assert!(
            body.contains("Questions? Reply to this mail; a person"),
            "{body}"
        );
    }

    #[test]
    fn a_reviewer_mismatch_reply_reveals_nothing_about_the_assignment() {
        let body = Rejection::ReviewerMismatch {
            reference: "P-0042".into(),
            from: "eve@evil.example".into(),
        }
        .reply(
            &ctx("ConfX", "cfp@x.example"),
            "Re: [ConfX] Review P-0042: Secret title",
        )
        .unwrap();
        assert!(body.contains("eve@evil.example"), "{body}");
        assert!(
            !body.contains("P-0042") && !body.contains("Secret"),
            "{body}"
        );
    }

    #[test]
    fn form_problems_are_listed_wrapped_with_the_form() {
        let long = "The score 9 is outside the scale, which goes from 1 to 5. Please reply with a line \"Score: N\" where N is a whole number from 1 to 5.";
        let body = Rejection::ReviewForm {
            reference: "P-0007".into(),
            problems: vec![long.into()],
            scale: FormSpec::default(),
        }
        .reply(&ctx("ConfX", "cfp@x.example"), "s")
        .unwrap();
        assert!(body.lines().all(|l| l.chars().count() <= 78), "{body}");
        assert!(
            body.contains("  - The score 9 is outside the scale"),
            "{body}"
        );
        assert!(
            body.contains("Score: (1-5)\nConfidence: (1-3, optional)"),
            "{body}"
        );
        assert_eq!(wrap("a bb ccc", 4), "a bb\nccc");
    }
}
