//! The program: the talks that will be given, for the conference website
//! (`cfpd program --format json|csv`), and the decision view of `cfpd
//! report` (decisions per topic and format, acceptance rate, confirmations).
//!
//! A talk is in the program when its current decision is "accepted" and the
//! proposal is not withdrawn, and (unless `--accepted` asks for every
//! accepted talk) its speaker confirmed it. Speakers' addresses are left out
//! unless asked for: the export is meant to be published.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{Confirmation, Decision, DecisionRow, ProposalRow, ProposalStatus};

/// The version of the JSON below; bumped when a field changes meaning or
/// disappears (new fields may appear without a bump).
pub const SCHEMA_VERSION: u32 = 1;

/// `cfpd program --format json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Program {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The conference's name.
    pub conference: String,
    /// The talks, by reference.
    pub talks: Vec<Talk>,
}

/// One talk in the program.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Talk {
    /// `P-0042`: stable, and what the speakers' mails name.
    pub reference: String,
    /// `confirmed` (the speaker confirmed) or `accepted` (not answered yet;
    /// only with `--accepted`).
    pub status: &'static str,
    /// Title.
    pub title: String,
    /// The public abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    /// The format id (`talk-25`, `tutorial`, …).
    pub format: Option<String>,
    /// Minutes, when the format id ends in a number (`talk-25` → 25).
    pub duration_minutes: Option<u32>,
    /// The audience level.
    pub audience: Option<String>,
    /// Topics it is filed under, most relevant first.
    pub topics: Vec<TalkTopic>,
    /// The speaker first, then co-speakers.
    pub speakers: Vec<Speaker>,
}

/// A topic of a talk.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TalkTopic {
    /// Topic id.
    pub id: String,
    /// Topic name.
    pub name: String,
}

/// A person giving a talk.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Speaker {
    /// `speaker` (submitted it) or `co-speaker`.
    pub role: &'static str,
    /// Display name, if known (co-speakers are known by address only).
    pub name: Option<String>,
    /// The bio the speaker wrote (the speaker's only).
    pub bio: Option<String>,
    /// Their address, only with `--emails`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Minutes in a format id such as `talk-25`.
pub fn duration(format: &str) -> Option<u32> {
    let digits: String = format
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|m| *m > 0)
}

/// The program: confirmed talks (and, with `accepted`, every accepted one).
pub fn program(
    conference: &str,
    proposals: &[ProposalRow],
    decisions: &[DecisionRow],
    accepted: bool,
    emails: bool,
) -> Program {
    let current: HashMap<i64, &DecisionRow> = decisions
        .iter()
        .filter(|d| d.current)
        .map(|d| (d.proposal_id, d))
        .collect();
    let mut talks = Vec::new();
    for p in proposals {
        let Some(d) = current.get(&p.id) else {
            continue;
        };
        if d.decision != Decision::Accepted || p.status == ProposalStatus::Withdrawn {
            continue;
        }
        let status = match d.confirmation {
            Some(Confirmation::Confirmed) => "confirmed",
            Some(Confirmation::Declined) => continue,
            None if accepted => "accepted",
            None => continue,
        };
        let f = &p.fields;
        let mut speakers = vec![Speaker {
            role: "speaker",
            name: p.speaker_name.clone(),
            bio: f.bio.clone(),
            email: emails.then(|| p.speaker_email.clone()),
        }];
        for co in f.co_speakers.iter().flatten() {
            speakers.push(Speaker {
                role: "co-speaker",
                name: None,
                bio: None,
                email: emails.then(|| co.clone()),
            });
        }
        talks.push(Talk {
            reference: p.reference(),
            status,
            title: f.title.clone().unwrap_or_default(),
            abstract_text: f.abstract_text.clone().unwrap_or_default(),
            format: f.format.clone(),
            duration_minutes: f.format.as_deref().and_then(duration),
            audience: f.audience.clone(),
            topics: p
                .topics
                .iter()
                .map(|t| TalkTopic {
                    id: t.id.clone(),
                    name: t.name.clone(),
                })
                .collect(),
            speakers,
        });
    }
    Program {
        schema_version: SCHEMA_VERSION,
        conference: conference.to_string(),
        talks,
    }
}

/// The CSV columns of `cfpd program --format csv`, one talk per row.
pub const CSV_HEADER: [&str; 10] = [
    "reference",
    "status",
    "title",
    "format",
    "duration_minutes",
    "audience",
    "topics",
    "speakers",
    "abstract",
    "bio",
];

/// One CSV row per talk (cells as text; the caller writes them safely).
pub fn csv_rows(p: &Program) -> Vec<Vec<String>> {
    p.talks
        .iter()
        .map(|t| {
            let speakers: Vec<String> = t
                .speakers
                .iter()
                .map(|s| match (&s.name, &s.email) {
                    (Some(n), Some(e)) => format!("{n} <{e}>"),
                    (Some(n), None) => n.clone(),
                    (None, Some(e)) => e.clone(),
                    (None, None) => format!("({})", s.role),
                })
                .collect();
            vec![
                t.reference.clone(),
                t.status.to_string(),
                t.title.clone(),
                t.format.clone().unwrap_or_default(),
                t.duration_minutes
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                t.audience.clone().unwrap_or_default(),
                t.topics
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                speakers.join("; "),
                t.abstract_text.clone(),
                t.speakers[0].bio.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// Counts for the decision view: per decision, plus undecided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Accepted, waitlisted, rejected (in [`Decision::ALL`] order).
    pub decided: [usize; 3],
    /// Submitted proposals without a decision.
    pub undecided: usize,
}

/// What `cfpd report` shows about decisions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionView {
    /// All proposals in review (submitted, or withdrawn after a decision).
    pub total: Counts,
    /// Per primary topic name.
    pub by_topic: BTreeMap<String, Counts>,
    /// Per format.
    pub by_format: BTreeMap<String, Counts>,
    /// Accepted talks told, not withdrawn: (confirmed, declined, waiting).
    pub confirmations: (usize, usize, usize),
}

/// Count decisions per topic and format, and the confirmations.
pub fn view(proposals: &[ProposalRow], decisions: &[DecisionRow]) -> DecisionView {
    let current: HashMap<i64, &DecisionRow> = decisions
        .iter()
        .filter(|d| d.current)
        .map(|d| (d.proposal_id, d))
        .collect();
    let mut v = DecisionView::default();
    for p in proposals {
        let d = current.get(&p.id);
        if p.status != ProposalStatus::Submitted && d.is_none() {
            continue;
        }
        let topic = p
            .topics
            .first()
            .map_or("(untagged)".to_string(), |t| t.name.clone());
        let format = p.fields.format.clone().unwrap_or_else(|| "(none)".into());
        for c in [
            &mut v.total,
            v.by_topic.entry(topic).or_default(),
            v.by_format.entry(format).or_default(),
        ] {
            match d {
                Some(d) => {
                    let i = Decision::ALL
                        .iter()
                        .position(|x| *x == d.decision)
                        .unwrap_or(0);
                    c.decided[i] += 1;
                }
                None => c.undecided += 1,
            }
        }
        let told = |d: &&&DecisionRow| d.decision == Decision::Accepted && d.notified_at.is_some();
        if let (Some(d), false) = (d.filter(told), p.status == ProposalStatus::Withdrawn) {
            match d.confirmation {
                Some(Confirmation::Confirmed) => v.confirmations.0 += 1,
                Some(Confirmation::Declined) => v.confirmations.1 += 1,
                None => v.confirmations.2 += 1,
            }
        }
    }
    v
}

/// The decision view as text.
pub fn render_view(v: &DecisionView) -> String {
    let decided: usize = v.total.decided.iter().sum();
    let rate = if decided > 0 {
        format!(
            "{:.0} % of decided proposals accepted",
            100.0 * v.total.decided[0] as f64 / decided as f64
        )
    } else {
        "nothing decided yet".to_string()
    };
    let mut out = format!(
        "\nDecisions: {} accepted, {} waitlisted, {} rejected, {} undecided ({rate})\n",
        v.total.decided[0], v.total.decided[1], v.total.decided[2], v.total.undecided
    );
    let (c, d, w) = v.confirmations;
    out.push_str(&format!(
        "Confirmations: {c} confirmed, {d} declined, {w} waiting, of {} accepted talks told\n",
        c + d + w
    ));
    for (title, rows) in [("topic", &v.by_topic), ("format", &v.by_format)] {
        out.push_str(&format!(
            "\n{:<40} {:>8} {:>10} {:>8} {:>9}\n",
            format!("by {title}"),
            "accepted",
            "waitlisted",
            "rejected",
            "undecided"
        ));
        for (name, c) in rows.iter() {
            let name: String = crate::outbox::one_line(name).chars().take(40).collect();
            out.push_str(&format!(
                "{name:<40} {:>8} {:>10} {:>8} {:>9}\n",
                c.decided[0], c.decided[1], c.decided[2], c.undecided
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
