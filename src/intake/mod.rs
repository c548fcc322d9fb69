//! Intake: every stored message → exactly one terminal state.
//!
//! The pipeline, per message (Discourse's receiver in shape):
//!
//! 1. **receive** — the raw bytes are already in the database (`received`);
//! 2. **classify** — parse (isolated), then: too large → quarantined;
//!    machine mail (bounce, auto-reply, list, our own) → recorded, never
//!    answered; a Message-ID seen before → duplicate;
//! 3. **authorize** — a secret reply token in a recipient address selects
//!    the proposal, and only the address it is bound to may use it; no
//!    valid token means the mail is a new proposal or a request for help,
//!    never a change;
//! 4. **process** — new proposal / draft / update / withdraw / help, or a
//!    typed [`Rejection`].
//!
//! The terminal state, its effects (proposal rows, versions, tokens) and its
//! reply (queued in the outbox) are written in one transaction per batch.
//! A crash before the commit leaves the messages `received`; they are
//! processed again from scratch after restart, and nothing was sent yet.

pub mod inbound;
pub mod machine;
pub mod reject;

use std::sync::Arc;

use askama::Template;

use crate::clock::Clock;
use crate::config::Config;
use crate::outbox::{templates, AutoSubmitted, Composer, Draft};
use crate::proposal::{self, FiledTopic, ProposalStatus, TagOverrides};
use crate::store::messages::{self, Finish, MessageState, PendingMessage};
use crate::store::proposals::{self as pstore, NewVersion, TokenKind};
use crate::store::{self, outbox, AnyConnection, Ctx, Store, StoreError};
use crate::token;
use crate::topics::{TagInput, Tagger};
use inbound::Inbound;
use machine::OwnIdentity;
pub use reject::Rejection;

/// An intake failure (database). Message-level problems are never errors:
/// they are terminal states.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The database failed; the batch is rolled back and retried.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commands a person can send as the first word of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Send me the template and topic list.
    Help,
    /// Withdraw the proposal this reply is about.
    Withdraw,
}

/// Recognise a command: the subject, or the first non-empty line of the
/// (trimmed) body, is the bare word, optionally with punctuation.
pub fn command(subject: &str, text: &str) -> Option<Command> {
    let word = |s: &str| -> Option<Command> {
        let w = s
            .trim()
            .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
            .to_ascii_lowercase();
        match w.as_str() {
            "help" | "template" => Some(Command::Help),
            "withdraw"
            | "withdrawn"
            | "please withdraw"
            | "withdraw my proposal"
            | "withdraw proposal" => Some(Command::Withdraw),
            _ => None,
        }
    };
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let subj = subject
        .trim()
        .trim_start_matches(|c: char| c.is_whitespace())
        .trim_start_matches("Re:")
        .trim_start_matches("RE:")
        .trim_start_matches("re:");
    // Strip our own subject prefix "[Conf] P-0001 …" so "Re: [Conf] withdraw" still counts.
    first.and_then(word).or_else(|| word(subj))
}

/// What handling a message produced.
struct Handled {
    state: MessageState,
    finish: Finish,
    reply: Option<ReplySpec>,
}

struct ReplySpec {
    kind: &'static str,
    subject: String,
    body: String,
    token: Option<String>,
}

/// The intake stage: owns nothing but references to shared services.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The conference's configuration.
    cfg: Arc<Config>,
    /// Where messages, proposals and the outbox live.
    store: Store,
    /// Builds reply mails.
    composer: Composer,
    /// Files proposals under topics.
    tagger: Arc<Tagger>,
    /// Time source (deadlines, rate limits).
    clock: Arc<dyn Clock>,
    /// Who "we" are, for loop detection.
    own: OwnIdentity,
}

impl Intake {
    /// An intake stage.
    pub fn new(
        cfg: Arc<Config>,
        store: Store,
        composer: Composer,
        tagger: Arc<Tagger>,
        clock: Arc<dyn Clock>,
    ) -> Intake {
        let own = OwnIdentity::new(cfg.conference.cfp_address.clone());
        Intake {
            cfg,
            store,
            composer,
            tagger,
            clock,
            own,
        }
    }

    /// Process every stored `received` message; returns how many reached a terminal state.
    pub async fn process_pending(&self) -> Result<usize, IntakeError> {
        let mut total = 0;
        loop {
            let batch = {
                let mut c = self
                    .store
                    .pool
                    .acquire()
                    .await
                    .ctx("acquiring a connection")?;
                messages::pending(&mut c, 500).await?
            };
            if batch.is_empty() {
                return Ok(total);
            }
            // Parse outside the transaction: CPU work, isolated from panics.
            let own = self.own.clone();
            let parsed: Vec<(PendingMessage, Result<Inbound, String>)> =
                tokio::task::spawn_blocking(move || {
                    batch
                        .into_iter()
                        .map(|m| {
                            let p = inbound::parse(&m.raw, &own);
                            (m, p)
                        })
                        .collect()
                })
                .await
                .unwrap_or_default();
            let mut tx = self.store.begin().await?;
            for (m, p) in &parsed {
                let now = self.clock.now();
                let h = self.handle(&mut tx, m, p, now).await?;
                self.record(&mut tx, m, p.as_ref().ok(), h, now).await?;
                total += 1;
            }
            tx.commit().await.ctx("committing intake results")?;
        }
    }

    async fn record(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        inbound: Option<&Inbound>,
        mut h: Handled,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), IntakeError> {
        let now_ms = store::ms(now);
        if let (Some(reply), Some(from)) = (h.reply, inbound.and_then(|i| i.from.as_ref())) {
            let since = now_ms - 24 * 3600 * 1000;
            let sent = outbox::replies_to_since(tx, &from.address, since).await?;
            if sent >= self.cfg.limits.replies_per_address_per_day as i64 {
                let note = format!(
                    "reply suppressed: {sent} automatic replies to {} in 24 h",
                    from.address
                );
                tracing::warn!(message = m.id, "{note}");
                h.finish.detail = Some(match h.finish.detail.take() {
                    Some(d) => format!("{d}; {note}"),
                    None => note,
                });
            } else {
                let i = inbound.expect("from implies inbound");
                let draft = Draft {
                    kind: reply.kind,
                    dedup_key: format!("reply:msg:{}", m.id),
                    to: &from.address,
                    to_name: from.name.as_deref(),
                    subject: reply.subject,
                    body: reply.body,
                    in_reply_to: i.message_id.as_deref(),
                    references: &i.references,
                    reply_token: reply.token.as_deref(),
                    auto: AutoSubmitted::AutoReplied,
                    cause_message: Some(m.id),
                };
                match self.composer.compose(&draft) {
                    Ok(mail) => {
                        outbox::queue(tx, &mail, now_ms).await?;
                    }
                    Err(e) => {
                        let note = format!("reply not sent: {e}");
                        h.finish.detail = Some(match h.finish.detail.take() {
                            Some(d) => format!("{d}; {note}"),
                            None => note,
                        });
                    }
                }
            }
        }
        if let Some(i) = inbound {
            h.finish.message_id = i.message_id.clone();
            h.finish.from_addr = i.from.as_ref().map(|f| f.address.clone());
            h.finish.subject = Some(i.subject.clone());
        }
        messages::finish(tx, m.id, h.state, &h.finish, now_ms).await?;
        Ok(())
    }

    fn deadline_text(&self) -> String {
        let c = &self.cfg.conference;
        format!(
            "{} ({} UTC)",
            c.zone.format(c.cfp_deadline),
            c.cfp_deadline.format("%Y-%m-%d %H:%M")
        )
    }

    fn subject(&self, what: &str) -> String {
        format!("[{}] {what}", self.cfg.conference.name)
    }

    fn help_reply(&self, reason: Option<&str>) -> ReplySpec {
        let p = &self.cfg.proposals;
        let deadline = self.deadline_text();
        let body = templates::Help {
            conference: &self.cfg.conference.name,
            reason,
            cfp_address: &self.cfg.conference.cfp_address,
            formats: p.formats.join(" | "),
            audiences: p.audiences.join(" | "),
            required: p
                .required
                .iter()
                .map(|f| proposal::label(f))
                .collect::<Vec<_>>()
                .join(", "),
            topic_list: self
                .tagger
                .set()
                .topics()
                .iter()
                .map(|t| (t.id.clone(), t.name.clone()))
                .collect(),
            deadline: &deadline,
        }
        .render()
        .unwrap_or_default();
        ReplySpec {
            kind: "help",
            subject: self.subject("How to submit a proposal"),
            body,
            token: None,
        }
    }

    fn rejection(&self, r: Rejection, subject: &str) -> Handled {
        let body = r.reply(
            &self.cfg.conference.name,
            &self.cfg.conference.cfp_address,
            subject,
        );
        Handled {
            state: MessageState::Rejected,
            finish: Finish {
                reason: Some(r.code().into()),
                detail: Some(r.detail()),
                ..Default::default()
            },
            reply: body.map(|body| ReplySpec {
                kind: "rejection",
                subject: self.subject(&format!("Re: {subject}")),
                body,
                token: None,
            }),
        }
    }

    /// File a proposal under topics: the tagger's choice, then the chair's overrides.
    pub fn topics_for(&self, f: &proposal::Fields, overrides: &TagOverrides) -> Vec<FiledTopic> {
        file_topics(&self.tagger, f, overrides)
    }

    async fn handle(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        parsed: &Result<Inbound, String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let i = match parsed {
            Err(why) => {
                return Ok(Handled {
                    state: MessageState::Quarantined,
                    finish: Finish {
                        reason: Some("unparseable".into()),
                        detail: Some(why.clone()),
                        ..Default::default()
                    },
                    reply: None,
                })
            }
            Ok(i) => i,
        };
        if let Some(kind) = &i.machine {
            return Ok(Handled {
                state: if kind.is_bounce() {
                    MessageState::Bounce
                } else {
                    MessageState::AutoGenerated
                },
                finish: Finish {
                    reason: Some(kind.label().into()),
                    detail: Some(kind.reason().to_string()),
                    ..Default::default()
                },
                reply: None,
            });
        }
        let limit = self.cfg.proposals.max_message_bytes;
        if m.raw.len() > limit {
            let mut h = self.rejection(
                Rejection::TooLarge {
                    size: m.raw.len(),
                    limit,
                },
                &i.subject,
            );
            h.state = MessageState::Quarantined;
            return Ok(h);
        }
        let Some(from) = &i.from else {
            return Ok(self.rejection(Rejection::NoSender, &i.subject));
        };
        if let Some(mid) = &i.message_id {
            if let Some(first) = messages::first_with_message_id(tx, mid, m.id).await? {
                return Ok(Handled {
                    state: MessageState::Duplicate,
                    finish: Finish {
                        reason: Some("duplicate".into()),
                        detail: Some(format!("same Message-ID as message {first}")),
                        duplicate_of: Some(first),
                        ..Default::default()
                    },
                    reply: None,
                });
            }
        }
        // Authorize: only a valid reply token selects an existing proposal.
        for r in &i.recipients {
            if let Some(token::Tagged::Reply(secret)) =
                token::extract(r, self.cfg.cfp_local(), self.cfg.cfp_domain())
            {
                let row = pstore::lookup_token(tx, &token::hash(&secret)).await?;
                let valid = row.filter(|t| t.expires_at.is_none_or(|e| e > store::ms(now)));
                if let Some(t) = valid {
                    if t.kind == TokenKind::Proposal {
                        if let Some(pid) = t.proposal_id {
                            return self
                                .follow_up(tx, m, i, from, pid, &t.bound_address, now)
                                .await;
                        }
                    }
                }
            }
        }
        self.new_mail(tx, m, i, from, now).await
    }

    async fn new_mail(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        i: &Inbound,
        from: &inbound::Mailbox,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let text = i.body_text();
        match command(&i.subject, &text) {
            Some(Command::Help) => {
                return Ok(Handled {
                    state: MessageState::Help,
                    finish: Finish {
                        reason: Some("help".into()),
                        ..Default::default()
                    },
                    reply: Some(self.help_reply(None)),
                })
            }
            Some(Command::Withdraw) => {
                return Ok(self.rejection(Rejection::WithdrawWithoutToken, &i.subject))
            }
            None => {}
        }
        let parsed = proposal::parse(&text, &self.cfg.proposals);
        if parsed.labels_found == 0 || parsed.fields.count_given() == 0 {
            return Ok(Handled {
                state: MessageState::Help,
                finish: Finish {
                    reason: Some("not_a_proposal".into()),
                    detail: Some("no labelled proposal fields found".into()),
                    ..Default::default()
                },
                reply: Some(self.help_reply(Some(
                    "We could not find a proposal in your message: it has none of the\nlabelled fields below (\"Title:\", \"Abstract:\", …). Nothing was recorded.",
                ))),
            });
        }
        let now_ms = store::ms(now);
        let fields = parsed.fields;
        let problems = proposal::problems(&fields, &self.cfg.proposals);
        let topics = self.topics_for(&fields, &TagOverrides::default());
        let status = if problems.is_empty() {
            ProposalStatus::Submitted
        } else {
            ProposalStatus::Draft
        };
        let speaker =
            pstore::upsert_speaker(tx, &from.address, from.name.as_deref(), now_ms).await?;
        let pid = pstore::create(tx, speaker, status, now_ms).await?;
        pstore::insert_version(
            tx,
            &NewVersion {
                proposal_id: pid,
                version: 1,
                message_row: Some(m.id),
                fields: &fields,
                problems: &problems,
                topics: &topics,
            },
            status,
            now_ms,
        )
        .await?;
        let tok = token::generate();
        pstore::insert_token(
            tx,
            &tok.hash,
            TokenKind::Proposal,
            Some(pid),
            &from.address,
            now_ms,
        )
        .await?;
        let reference = proposal::reference(pid);
        let deadline = self.deadline_text();
        let record = templates::record(&fields);
        let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
        let (state, kind, subject, body) = if problems.is_empty() {
            let body = templates::Ack {
                conference: &self.cfg.conference.name,
                speaker_name: from.name.as_deref(),
                reference: &reference,
                record,
                topics: &topics,
                deadline: &deadline,
            }
            .render();
            (
                MessageState::Accepted,
                "ack",
                self.subject(&format!("{reference} received: {title}")),
                body,
            )
        } else {
            let missing_labels = self
                .cfg
                .proposals
                .required
                .iter()
                .filter(|f| fields.get(f).is_none())
                .map(|f| proposal::label(f))
                .collect();
            let body = templates::DraftReply {
                conference: &self.cfg.conference.name,
                speaker_name: from.name.as_deref(),
                reference: &reference,
                problems: &problems,
                missing_labels,
                record,
                topics: &topics,
                deadline: &deadline,
            }
            .render();
            (
                MessageState::Draft,
                "draft",
                self.subject(&format!("{reference} saved as a draft: {title}")),
                body,
            )
        };
        Ok(Handled {
            state,
            finish: Finish {
                reason: (!problems.is_empty()).then(|| "missing_fields".into()),
                detail: (!problems.is_empty()).then(|| problems.join(" ")),
                proposal_id: Some(pid),
                ..Default::default()
            },
            reply: Some(ReplySpec {
                kind,
                subject,
                body: body.unwrap_or_default(),
                token: Some(tok.secret),
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn follow_up(
        &self,
        tx: &mut AnyConnection,
        m: &PendingMessage,
        i: &Inbound,
        from: &inbound::Mailbox,
        pid: i64,
        bound: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Handled, IntakeError> {
        let reference = proposal::reference(pid);
        if from.address != bound {
            return Ok(self.rejection(
                Rejection::SenderMismatch {
                    reference,
                    from: from.address.clone(),
                },
                &i.subject,
            ));
        }
        let Some(p) = pstore::get(tx, pid).await? else {
            // A token for a proposal that no longer exists: treat as new mail.
            return self.new_mail(tx, m, i, from, now).await;
        };
        let text = i.reply_text();
        let now_ms = store::ms(now);
        let cmd = command(&i.subject, &text);
        if cmd == Some(Command::Help) {
            return Ok(Handled {
                state: MessageState::Help,
                finish: Finish {
                    reason: Some("help".into()),
                    proposal_id: Some(pid),
                    ..Default::default()
                },
                reply: Some(self.help_reply(None)),
            });
        }
        if p.status == ProposalStatus::Withdrawn {
            return Ok(self.rejection(Rejection::ProposalWithdrawn { reference }, &i.subject));
        }
        if cmd == Some(Command::Withdraw) {
            pstore::set_status(tx, pid, ProposalStatus::Withdrawn, now_ms).await?;
            let title = p.fields.title.clone().unwrap_or_else(|| "untitled".into());
            let body = templates::Withdrawn {
                conference: &self.cfg.conference.name,
                speaker_name: from.name.as_deref(),
                reference: &reference,
                title: &title,
            }
            .render()
            .unwrap_or_default();
            return Ok(Handled {
                state: MessageState::Withdrawn,
                finish: Finish {
                    proposal_id: Some(pid),
                    ..Default::default()
                },
                reply: Some(ReplySpec {
                    kind: "withdrawn",
                    subject: self.subject(&format!("{reference} withdrawn")),
                    body,
                    token: None,
                }),
            });
        }
        let parsed = proposal::parse(&text, &self.cfg.proposals);
        if parsed.fields.count_given() == 0 {
            return Ok(self.rejection(Rejection::UpdateNotUnderstood { reference }, &i.subject));
        }
        let fields = p.fields.merged_with(&parsed.fields);
        let problems = proposal::problems(&fields, &self.cfg.proposals);
        let topics = self.topics_for(&fields, &p.overrides);
        let status = if problems.is_empty() {
            ProposalStatus::Submitted
        } else {
            ProposalStatus::Draft
        };
        let version = p.version + 1;
        pstore::insert_version(
            tx,
            &NewVersion {
                proposal_id: pid,
                version,
                message_row: Some(m.id),
                fields: &fields,
                problems: &problems,
                topics: &topics,
            },
            status,
            now_ms,
        )
        .await?;
        let tok = token::generate();
        pstore::insert_token(tx, &tok.hash, TokenKind::Proposal, Some(pid), bound, now_ms).await?;
        let deadline = self.deadline_text();
        let title = fields.title.clone().unwrap_or_else(|| "untitled".into());
        let body = templates::Updated {
            conference: &self.cfg.conference.name,
            speaker_name: from.name.as_deref(),
            reference: &reference,
            version,
            problems: &problems,
            record: templates::record(&fields),
            topics: &topics,
            deadline: &deadline,
        }
        .render()
        .unwrap_or_default();
        Ok(Handled {
            state: MessageState::Updated,
            finish: Finish {
                proposal_id: Some(pid),
                detail: Some(format!("version {version}")),
                ..Default::default()
            },
            reply: Some(ReplySpec {
                kind: "updated",
                subject: self.subject(&format!("{reference} updated: {title}")),
                body,
                token: Some(tok.secret),
            }),
        })
    }
}

/// The topics a proposal is filed under: the tagger's choice, then the chair's
/// overrides (removals dropped, additions kept with a note as evidence).
pub fn file_topics(
    tagger: &Tagger,
    f: &proposal::Fields,
    overrides: &TagOverrides,
) -> Vec<FiledTopic> {
    let declared = f.topics.clone().unwrap_or_default();
    let input = TagInput {
        title: f.title.as_deref().unwrap_or(""),
        abstract_text: f.abstract_text.as_deref().unwrap_or(""),
        description: f.description.as_deref().unwrap_or(""),
        declared: &declared,
    };
    let ranked = tagger.rank(&input);
    let mut filed: Vec<FiledTopic> = tagger
        .file(&ranked)
        .into_iter()
        .filter(|t| !overrides.remove.contains(&t.id))
        .map(|t| FiledTopic {
            id: t.id,
            name: t.name,
            score: t.score,
            evidence: t.evidence,
        })
        .collect();
    for id in &overrides.add {
        if filed.iter().any(|t| &t.id == id) {
            continue;
        }
        if let Some(t) = tagger.set().get(id) {
            filed.push(FiledTopic {
                id: t.id.clone(),
                name: t.name.clone(),
                score: 0.0,
                evidence: vec!["added by the program chair".into()],
            });
        }
    }
    filed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_whole_words_only() {
        assert_eq!(command("", "withdraw"), Some(Command::Withdraw));
        assert_eq!(
            command("", "  Withdraw.\n\nthanks"),
            Some(Command::Withdraw)
        );
        assert_eq!(command("help", ""), Some(Command::Help));
        assert_eq!(command("Re: HELP", "\n"), Some(Command::Help));
        assert_eq!(
            command("", "I will not withdraw my talk, here is an update"),
            None
        );
        assert_eq!(command("Helpful tips for Django", "Title: x"), None);
    }
}
