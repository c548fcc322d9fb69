//! `cfpd proposals list`: which proposals a chair asked for ([`Filter`]) and
//! every field of each ([`Listed`]) for the table, CSV and JSON outputs.
//! Pure: the caller reads the rows; one table per output.

use serde::Serialize;

use crate::model::{Assignment, DecisionRow, ProposalRow};
use crate::proposal::CustomField;
use crate::review::rank::ScoreStats;
use crate::store::reviews::StoredReview;

/// What the chair asked for; every given condition must hold.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// A proposal status (`submitted`, `draft`, …) or a current decision
    /// (`accepted`, `rejected`, `waitlisted`).
    pub status: Option<String>,
    /// A topic id the proposal is filed under.
    pub topic: Option<String>,
    /// A talk format (`talk-25`).
    pub format: Option<String>,
    /// Words that must all appear (case-insensitive) in the title, abstract,
    /// description, notes, bio, the answers to the conference's own
    /// questions, or the speaker's name or address.
    pub search: Option<String>,
}

impl Filter {
    /// Whether `p` (with its current decision) is asked for.
    pub fn matches(&self, p: &ProposalRow, decision: Option<&DecisionRow>) -> bool {
        let eq = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let status_ok = self.status.as_deref().is_none_or(|s| {
            eq(p.status.as_str(), s) || decision.is_some_and(|d| eq(d.decision.as_str(), s))
        });
        let topic_ok = self
            .topic
            .as_deref()
            .is_none_or(|t| p.topics.iter().any(|f| eq(&f.id, t)));
        let format_ok = self
            .format
            .as_deref()
            .is_none_or(|f| p.fields.format.as_deref().is_some_and(|pf| eq(pf, f)));
        let search_ok = self.search.as_deref().is_none_or(|s| {
            let f = &p.fields;
            let hay = [
                f.title.as_deref(),
                f.abstract_text.as_deref(),
                f.description.as_deref(),
                f.notes.as_deref(),
                f.bio.as_deref(),
                p.speaker_name.as_deref(),
                Some(p.speaker_email.as_str()),
            ]
            .into_iter()
            .flatten()
            .chain(f.custom.values().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
            s.split_whitespace()
                .all(|w| hay.contains(&w.to_lowercase()))
        });
        status_ok && topic_ok && format_ok && search_ok
    }
}

/// One proposal with every field a chair exports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Listed {
    /// `P-0042`.
    pub reference: String,
    /// Proposal status (`submitted`, `draft`, `late`, `withdrawn`).
    pub status: String,
    /// The chairs' current decision, if any.
    pub decision: Option<String>,
    /// Version number (1 + updates).
    pub version: i64,
    /// The speaker's address.
    pub speaker_email: String,
    /// The speaker's name, if known.
    pub speaker_name: Option<String>,
    /// Co-speakers' addresses.
    pub co_speakers: Vec<String>,
    /// Title.
    pub title: Option<String>,
    /// Format.
    pub format: Option<String>,
    /// Audience.
    pub audience: Option<String>,
    /// Topic ids it is filed under, primary first.
    pub topics: Vec<String>,
    /// Abstract.
    #[serde(rename = "abstract")]
    pub abstract_text: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Notes for reviewers.
    pub notes: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// How many current reviews count.
    pub reviews: usize,
    /// Mean of the current scores.
    pub mean_score: Option<f64>,
    /// Median of the current scores.
    pub median_score: Option<f64>,
    /// Answers to the conference's own questions, by field name.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// The CSV header, in the order of [`Listed::cells`].
pub const CSV_HEADER: [&str; 18] = [
    "reference",
    "status",
    "decision",
    "version",
    "speaker_email",
    "speaker_name",
    "co_speakers",
    "title",
    "format",
    "audience",
    "topics",
    "abstract",
    "description",
    "notes",
    "bio",
    "reviews",
    "mean_score",
    "median_score",
];

/// The CSV header: [`CSV_HEADER`], then a column per configured own field,
/// named by the field's name (config keeps them apart from these).
pub fn csv_header(custom: &[CustomField]) -> Vec<String> {
    CSV_HEADER
        .iter()
        .map(|h| h.to_string())
        .chain(custom.iter().map(|c| c.name.clone()))
        .collect()
}

impl Listed {
    /// The CSV cells, in the order of [`csv_header`] (lists joined with `; `).
    pub fn cells(&self, custom: &[CustomField]) -> Vec<String> {
        let o = |s: &Option<String>| s.clone().unwrap_or_default();
        let n = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_default();
        vec![
            self.reference.clone(),
            self.status.clone(),
            o(&self.decision),
            self.version.to_string(),
            self.speaker_email.clone(),
            o(&self.speaker_name),
            self.co_speakers.join("; "),
            o(&self.title),
            o(&self.format),
            o(&self.audience),
            self.topics.join("; "),
            o(&self.abstract_text),
            o(&self.description),
            o(&self.notes),
            o(&self.bio),
            self.reviews.to_string(),
            n(self.mean_score),
            n(self.median_score),
        ]
        .into_iter()
        .chain(
            custom
                .iter()
                .map(|c| self.fields.get(&c.name).cloned().unwrap_or_default()),
        )
        .collect()
    }
}

/// Every proposal `filter` asks for, in reference order, with its scores
/// (current reviews of its assignments) and current decision.
pub fn list(
    proposals: &[ProposalRow],
    assignments: &[Assignment],
    reviews: &[StoredReview],
    decisions: &[DecisionRow],
    filter: &Filter,
) -> Vec<Listed> {
    proposals
        .iter()
        .filter_map(|p| {
            let decision = decisions
                .iter()
                .find(|d| d.proposal_id == p.id && d.current);
            if !filter.matches(p, decision) {
                return None;
            }
            let scores: Vec<i64> = assignments
                .iter()
                .filter(|a| a.proposal_id == p.id)
                .filter_map(|a| {
                    reviews
                        .iter()
                        .find(|r| r.assignment_id == a.id && r.current)
                        .map(|r| r.score)
                })
                .collect();
            let stats = ScoreStats::of(&scores);
            let f = &p.fields;
            Some(Listed {
                reference: p.reference(),
                status: p.status.as_str().to_string(),
                decision: decision.map(|d| d.decision.as_str().to_string()),
                version: p.version,
                speaker_email: p.speaker_email.clone(),
                speaker_name: p.speaker_name.clone(),
                co_speakers: f.co_speakers.clone().unwrap_or_default(),
                title: f.title.clone(),
                format: f.format.clone(),
                audience: f.audience.clone(),
                topics: p.topics.iter().map(|t| t.id.clone()).collect(),
                abstract_text: f.abstract_text.clone(),
                description: f.description.clone(),
                notes: f.notes.clone(),
                bio: f.bio.clone(),
                reviews: scores.len(),
                mean_score: stats.as_ref().map(ScoreStats::mean),
                median_score: stats.as_ref().map(ScoreStats::median),
                fields: f.custom.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssignmentState, ProposalStatus};
    use crate::report::fixtures::{assignment, filed, proposal, review, titled};

    fn rows() -> Vec<ProposalRow> {
        let mut a = filed(
            titled(
                proposal(1, ProposalStatus::Submitted),
                "Fast pages with htmx",
            ),
            "frontend",
            "Frontend",
        );
        a.fields.format = Some("talk-25".into());
        a.fields.abstract_text = Some("Partials and hx-swap.".into());
        let mut b = filed(
            titled(proposal(2, ProposalStatus::Submitted), "Postgres tricks"),
            "database",
            "Database",
        );
        b.fields.format = Some("tutorial".into());
        let c = titled(proposal(3, ProposalStatus::Draft), "Half an idea");
        vec![a, b, c]
    }

    fn refs(l: &[Listed]) -> Vec<&str> {
        l.iter().map(|x| x.reference.as_str()).collect()
    }

    #[test]
    fn filters_combine_and_search_reads_every_text_field() {
        let p = rows();
        let all = |f: Filter| list(&p, &[], &[], &[], &f);
        assert_eq!(
            refs(&all(Filter::default())),
            ["P-0001", "P-0002", "P-0003"]
        );
        let by = |status: &str| Filter {
            status: Some(status.into()),
            ..Filter::default()
        };
        assert_eq!(refs(&all(by("draft"))), ["P-0003"]);
        assert_eq!(refs(&all(by("Submitted"))), ["P-0001", "P-0002"]);
        let topic = Filter {
            topic: Some("database".into()),
            ..Filter::default()
        };
        assert_eq!(refs(&all(topic)), ["P-0002"]);
        let format = Filter {
            format: Some("talk-25".into()),
            ..Filter::default()
        };
        assert_eq!(refs(&all(format)), ["P-0001"]);
        let search = |s: &str| Filter {
            search: Some(s.into()),
            ..Filter::default()
        };
        assert_eq!(refs(&all(search("HX-SWAP partials"))), ["P-0001"]);
        assert!(
            all(search("htmx postgres")).is_empty(),
            "every word must match"
        );
        let both = Filter {
            status: Some("submitted".into()),
            search: Some("tricks".into()),
            ..Filter::default()
        };
        assert_eq!(refs(&all(both)), ["P-0002"]);
    }

    #[test]
    fn scores_count_current_reviews_and_csv_has_one_cell_per_column() {
        let p = rows();
        let a = [
            assignment(10, 1, 1, AssignmentState::Active),
            assignment(11, 1, 2, AssignmentState::Active),
            assignment(12, 2, 1, AssignmentState::Active),
        ];
        let mut old = review(10, 1, 1);
        old.current = false;
        let r = [old, review(10, 2, 4), review(11, 1, 5)];
        let l = list(&p, &a, &r, &[], &Filter::default());
        assert_eq!(l[0].reviews, 2);
        assert_eq!(l[0].mean_score, Some(4.5));
        assert_eq!(l[0].median_score, Some(4.5));
        assert_eq!((l[1].reviews, l[1].mean_score), (0, None));
        for x in &l {
            assert_eq!(x.cells(&[]).len(), CSV_HEADER.len());
        }
        assert_eq!(l[0].cells(&[])[16], "4.50");
        let json = serde_json::to_value(&l[0]).unwrap();
        assert_eq!(json["abstract"], "Partials and hx-swap.");
        assert_eq!(json["topics"][0], "frontend");
    }

    #[test]
    fn own_fields_get_a_column_each_and_a_json_object() {
        let custom = crate::proposal::custom::tests::sample();
        let mut p = rows();
        p[0].fields
            .custom
            .insert("pronouns".into(), "she/her".into());
        p[0].fields.custom.insert("travel".into(), "full".into());
        let l = list(&p, &[], &[], &[], &Filter::default());
        let header = csv_header(&custom);
        assert_eq!(header[18..], ["pronouns", "in_person", "travel"]);
        let cells = l[0].cells(&custom);
        assert_eq!(cells.len(), header.len());
        assert_eq!(cells[18..], ["she/her", "", "full"]);
        assert_eq!(l[1].cells(&custom)[18..], ["", "", ""]);
        let json = serde_json::to_value(&l[0]).unwrap();
        assert_eq!(json["fields"]["pronouns"], "she/her");
        // The answers are searched like the other texts.
        let search = Filter {
            search: Some("SHE/HER".into()),
            ..Filter::default()
        };
        assert_eq!(list(&p, &[], &[], &[], &search).len(), 1);
    }

    #[test]
    fn export_columns_are_names_no_own_field_may_take() {
        for h in CSV_HEADER {
            assert!(
                crate::proposal::RESERVED_NAMES.contains(&h),
                "{h} is not reserved"
            );
        }
    }
}
