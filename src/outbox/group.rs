//! `cfpd mail --to GROUP --template FILE`: a chair's own mail to a group,
//! written in a text file with placeholders. Pure: the group and its
//! members come from rows the CLI read ([`plan`]); the file is rendered with
//! minijinja in strict mode ([`GroupTemplate`]), so a placeholder the group
//! does not have is an error naming `file:line` before anything is queued;
//! each mail's dedup key is the template's content hash and the recipient's
//! mailbox ([`GroupTemplate::dedup_key`]), so a second `--send` of the same
//! file queues nothing.
//!
//! The file: a first line `Subject: …`, then the body. Variables every
//! group has: `name` (the recipient's display name, empty when unknown),
//! `email`, `conference`, `contact` (the `[conference] contact` addresses,
//! comma-separated) and `cfp_address`. Speakers also have `reference` and
//! `title` (of their first proposal in the group) and `proposals` (each
//! with `reference`, `title`, `status` and `decision`, empty when none);
//! reviewers have `pending` (how many reviews they owe) and `reviews` (each
//! with `reference` and `title`: blind, no speaker).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use minijinja::{Environment, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{mailbox_key, Decision, DecisionRow, ProposalRow, ProposalStatus};

/// Which speakers a group holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speakers {
    /// Every proposal's speaker (withdrawn ones too).
    All,
    /// Speakers of proposals with this status.
    Status(ProposalStatus),
    /// Speakers of proposals with this current decision.
    Decided(Decision),
    /// Speakers of these proposals (ids).
    Proposals(Vec<i64>),
}

/// Who gets the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// Speakers (`speakers:STATUS|DECISION|P-0001,P-0002|all`).
    Speakers(Speakers),
    /// Reviewers with open reviews (`reviewers:pending`).
    ReviewersPending,
    /// Every reviewer on the roster (`reviewers:all`).
    ReviewersAll,
    /// The chairs (`chairs`).
    Chairs,
}

/// A GROUP that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown group {0:?}: use speakers:STATUS (submitted, draft, late, withdrawn), \
     speakers:DECISION (accepted, waitlisted, rejected), speakers:P-0003,P-0007, \
     speakers:all, reviewers:pending, reviewers:all or chairs"
)]
pub struct BadGroup(pub String);

impl FromStr for Group {
    type Err = BadGroup;

    fn from_str(s: &str) -> Result<Group, BadGroup> {
        let bad = || BadGroup(s.to_string());
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "chairs" => return Ok(Group::Chairs),
            "reviewers:pending" => return Ok(Group::ReviewersPending),
            "reviewers:all" | "reviewers" => return Ok(Group::ReviewersAll),
            "speakers:all" | "speakers" => return Ok(Group::Speakers(Speakers::All)),
            _ => {}
        }
        let (kind, what) = t.split_once(':').ok_or_else(bad)?;
        if !kind.eq_ignore_ascii_case("speakers") {
            return Err(bad());
        }
        let what = what.trim();
        if let Ok(st) = ProposalStatus::parse(&what.to_ascii_lowercase()) {
            return Ok(Group::Speakers(Speakers::Status(st)));
        }
        if let Ok(d) = Decision::parse(&what.to_ascii_lowercase()) {
            return Ok(Group::Speakers(Speakers::Decided(d)));
        }
        let ids = what
            .split(',')
            .map(|r| crate::proposal::parse_reference(r.trim()).ok_or_else(bad))
            .collect::<Result<Vec<i64>, BadGroup>>()?;
        Ok(Group::Speakers(Speakers::Proposals(ids)))
    }
}

/// A proposal as a template shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProposalVar {
    /// `P-0003`.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// `submitted`, `draft`, `late`, `withdrawn` (empty for a review).
    pub status: String,
    /// `accepted`, `waitlisted`, `rejected`, or empty.
    pub decision: String,
}

/// One recipient and what the template may show about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Address.
    pub email: String,
    /// Display name, when known.
    pub name: Option<String>,
    /// Their proposals in the group (speakers).
    pub proposals: Vec<ProposalVar>,
    /// Their open reviews (reviewers).
    pub reviews: Vec<ProposalVar>,
}

/// What the group is read from.
pub struct Rows<'a> {
    /// Every proposal.
    pub proposals: &'a [ProposalRow],
    /// The current decisions.
    pub decisions: &'a [DecisionRow],
    /// The roster: (address, name).
    pub reviewers: &'a [(String, Option<String>)],
    /// Open reviews: (reviewer address, proposal id).
    pub pending: &'a [(String, i64)],
    /// The chairs' addresses.
    pub chairs: &'a [String],
}

fn title(p: &ProposalRow) -> String {
    p.fields.title.clone().unwrap_or_else(|| "untitled".into())
}

/// The members of `group`, one per mailbox (`model::mailbox_key`), in the
/// order they are first met (proposals by id, reviewers by address).
pub fn plan(group: &Group, rows: &Rows<'_>) -> Vec<Member> {
    let mut out: Vec<Member> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut member = |email: &str, name: Option<&String>| -> usize {
        let key = mailbox_key(email);
        *index.entry(key).or_insert_with(|| {
            out.push(Member {
                email: email.to_string(),
                name: name.cloned(),
                proposals: Vec::new(),
                reviews: Vec::new(),
            });
            out.len() - 1
        })
    };
    let decision = |id: i64| rows.decisions.iter().find(|d| d.proposal_id == id);
    let var = |p: &ProposalRow| ProposalVar {
        reference: crate::proposal::reference(p.id),
        title: title(p),
        status: p.status.as_str().to_string(),
        decision: decision(p.id)
            .map(|d| d.decision.as_str().to_string())
            .unwrap_or_default(),
    };
    let mut slots: Vec<(usize, ProposalVar, bool)> = Vec::new();
    match group {
        Group::Speakers(which) => {
            for p in rows.proposals {
                let within = match which {
                    Speakers::All => true,
                    Speakers::Status(s) => p.status == *s,
                    Speakers::Decided(d) => decision(p.id).is_some_and(|c| c.decision == *d),
                    Speakers::Proposals(ids) => ids.contains(&p.id),
                };
                if within {
                    let i = member(&p.speaker_email, p.speaker_name.as_ref());
                    slots.push((i, var(p), true));
                }
            }
        }
        Group::ReviewersPending | Group::ReviewersAll => {
            for (email, name) in rows.reviewers {
                let open: Vec<i64> = rows
                    .pending
                    .iter()
                    .filter(|(e, _)| mailbox_key(e) == mailbox_key(email))
                    .map(|(_, id)| *id)
                    .collect();
                if open.is_empty() && *group == Group::ReviewersPending {
                    continue;
                }
                let i = member(email, name.as_ref());
                for id in open {
                    if let Some(p) = rows.proposals.iter().find(|p| p.id == id) {
                        let review = ProposalVar {
                            reference: crate::proposal::reference(id),
                            title: title(p),
                            status: String::new(),
                            decision: String::new(),
                        };
                        slots.push((i, review, false));
                    }
                }
            }
        }
        Group::Chairs => {
            for c in rows.chairs {
                member(c, None);
            }
        }
    }
    for (i, v, speaker) in slots {
        if speaker {
            out[i].proposals.push(v);
        } else {
            out[i].reviews.push(v);
        }
    }
    out
}

/// The conference facts every mail may show.
pub struct Common<'a> {
    /// `[conference] name`.
    pub conference: &'a str,
    /// `[conference] contact`, comma-separated.
    pub contact: &'a str,
    /// The CFP address.
    pub cfp_address: &'a str,
}

/// The variables `group`'s mails have, by name (see the module docs).
pub fn variables(group: &Group, c: &Common<'_>, m: &Member) -> BTreeMap<&'static str, Value> {
    let mut v: BTreeMap<&'static str, Value> = BTreeMap::new();
    v.insert("name", Value::from(m.name.clone().unwrap_or_default()));
    v.insert("email", Value::from(m.email.clone()));
    v.insert("conference", Value::from(c.conference));
    v.insert("contact", Value::from(c.contact));
    v.insert("cfp_address", Value::from(c.cfp_address));
    match group {
        Group::Speakers(_) => {
            let first = m.proposals.first();
            let get = |f: fn(&ProposalVar) -> &String| first.map(f).cloned().unwrap_or_default();
            v.insert("reference", Value::from(get(|p| &p.reference)));
            v.insert("title", Value::from(get(|p| &p.title)));
            v.insert("proposals", Value::from_serialize(&m.proposals));
        }
        Group::ReviewersPending | Group::ReviewersAll => {
            v.insert("pending", Value::from(m.reviews.len()));
            v.insert("reviews", Value::from_serialize(&m.reviews));
        }
        Group::Chairs => {}
    }
    v
}

/// A template that cannot be used, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {what}")]
pub struct TemplateError {
    /// The template file, as given.
    pub file: String,
    /// Its line (1-based).
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// From the `Subject:` line.
    pub subject: String,
    /// The rest, after the blank line that follows the subject.
    pub body: String,
}

/// A chair's template file, read and parsed.
pub struct GroupTemplate {
    file: String,
    source: String,
    env: Environment<'static>,
}

impl GroupTemplate {
    /// Parse `source` (read from `file`): a syntax error names its line.
    pub fn new(file: &str, source: &str) -> Result<GroupTemplate, TemplateError> {
        let mut env = super::custom::text_environment();
        env.set_keep_trailing_newline(true);
        env.add_template_owned("mail", source.to_string())
            .map_err(|e| TemplateError {
                file: file.to_string(),
                line: e.line().unwrap_or(1),
                what: e.detail().unwrap_or("syntax error").to_string(),
            })?;
        let first = source.lines().next().unwrap_or("");
        if !first.to_ascii_lowercase().starts_with("subject:") {
            return Err(TemplateError {
                file: file.to_string(),
                line: 1,
                what: "the first line must be \"Subject: …\"".into(),
            });
        }
        Ok(GroupTemplate {
            file: file.to_string(),
            source: source.to_string(),
            env,
        })
    }

    /// First 16 hex digits of the SHA-256 of the file's bytes.
    pub fn hash(&self) -> String {
        let d = Sha256::digest(self.source.as_bytes());
        data_encoding::HEXLOWER.encode(&d)[..16].to_string()
    }

    /// `group:<hash>:<mailbox>`: the same file to the same mailbox is
    /// queued once, however often `--send` runs; a changed file is a new mail.
    pub fn dedup_key(&self, email: &str) -> String {
        format!("group:{}:{}", self.hash(), mailbox_key(email))
    }

    /// The first line that uses `name` inside `{{ }}` or `{% %}`.
    fn line_of(&self, name: &str) -> usize {
        let word = regex::Regex::new(&format!(r"\b{}\b", regex::escape(name))).ok();
        let tag = regex::Regex::new(r"\{\{.*?\}\}|\{%.*?%\}").ok();
        let (Some(word), Some(tag)) = (word, tag) else {
            return 1;
        };
        self.source
            .lines()
            .position(|l| tag.find_iter(l).any(|t| word.is_match(t.as_str())))
            .map_or(1, |i| i + 1)
    }

    /// Render for one member: every placeholder must be one of `vars`.
    pub fn render(&self, vars: &BTreeMap<&'static str, Value>) -> Result<Rendered, TemplateError> {
        let err = |line: usize, what: String| TemplateError {
            file: self.file.clone(),
            line,
            what,
        };
        let t = self
            .env
            .get_template("mail")
            .map_err(|e| err(e.line().unwrap_or(1), e.to_string()))?;
        let known: BTreeSet<&str> = vars.keys().copied().collect();
        let mut unknown: Vec<String> = t
            .undeclared_variables(false)
            .into_iter()
            .filter(|n| !known.contains(n.as_str()))
            .collect();
        unknown.sort_by_key(|n| self.line_of(n));
        if let Some(n) = unknown.first() {
            let list = known.iter().copied().collect::<Vec<_>>().join(", ");
            return Err(err(
                self.line_of(n),
                format!("unknown placeholder {n:?} (this group has: {list})"),
            ));
        }
        let text = t.render(Value::from_serialize(vars)).map_err(|e| {
            err(
                e.line().unwrap_or(1),
                e.detail().unwrap_or("cannot render").to_string(),
            )
        })?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first["subject:".len()..].trim().to_string();
        if subject.is_empty() {
            return Err(err(1, "the subject is empty".into()));
        }
        let body = rest
            .strip_prefix('\n')
            .or_else(|| rest.strip_prefix("\r\n"))
            .unwrap_or(rest);
        Ok(Rendered {
            subject,
            body: body.trim_end().to_string() + "\n",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;

    fn common() -> Common<'static> {
        Common {
            conference: "DjangoCon",
            contact: "chair@conf.example",
            cfp_address: "cfp@conf.example",
        }
    }

    #[test]
    fn groups_parse_and_a_wrong_one_says_what_exists() {
        let g = |s: &str| s.parse::<Group>();
        assert_eq!(g("chairs"), Ok(Group::Chairs));
        assert_eq!(g("reviewers:pending"), Ok(Group::ReviewersPending));
        assert_eq!(g("reviewers:all"), Ok(Group::ReviewersAll));
        assert_eq!(
            g("speakers:submitted"),
            Ok(Group::Speakers(Speakers::Status(ProposalStatus::Submitted)))
        );
        assert_eq!(
            g("speakers:Accepted"),
            Ok(Group::Speakers(Speakers::Decided(Decision::Accepted)))
        );
        assert_eq!(
            g("speakers:P-0003,P-0007"),
            Ok(Group::Speakers(Speakers::Proposals(vec![3, 7])))
        );
        let e = g("speakers:accpeted").unwrap_err().to_string();
        assert!(
            e.contains("\"speakers:accpeted\"") && e.contains("reviewers:pending"),
            "{e}"
        );
        assert!(g("everyone").is_err());
    }

    fn rows_fixture() -> (Vec<ProposalRow>, Vec<DecisionRow>) {
        let mut a = fixtures::proposal(1, ProposalStatus::Submitted);
        a.fields.title = Some("Forms".into());
        a.speaker_email = "ada@example.org".into();
        a.speaker_name = Some("Ada".into());
        let mut b = fixtures::proposal(2, ProposalStatus::Submitted);
        b.speaker_email = "Ada+talks@Example.org".into();
        let mut c = fixtures::proposal(3, ProposalStatus::Draft);
        c.speaker_email = "bob@example.org".into();
        let d = vec![fixtures::decision(2, Decision::Accepted)];
        (vec![a, b, c], d)
    }

    #[test]
    fn one_member_per_mailbox_with_their_proposals_in_the_group() {
        let (p, d) = rows_fixture();
        let rows = Rows {
            proposals: &p,
            decisions: &d,
            reviewers: &[],
            pending: &[],
            chairs: &[],
        };
        let all = plan(&Group::Speakers(Speakers::All), &rows);
        assert_eq!(all.len(), 2, "Ada's two addresses are one mailbox");
        assert_eq!(all[0].proposals.len(), 2);
        assert_eq!(all[0].proposals[1].decision, "accepted");
        let sub = plan(&"speakers:submitted".parse().unwrap(), &rows);
        assert_eq!(sub.len(), 1);
        let acc = plan(&"speakers:accepted".parse().unwrap(), &rows);
        assert_eq!(acc[0].proposals.len(), 1);
        assert_eq!(acc[0].proposals[0].reference, "P-0002");
        let picked = plan(&"speakers:P-0003".parse().unwrap(), &rows);
        assert_eq!(picked[0].email, "bob@example.org");
    }

    #[test]
    fn reviewers_pending_are_those_with_open_reviews_and_see_no_speaker() {
        let (p, d) = rows_fixture();
        let roster = vec![
            ("rita@example.org".to_string(), Some("Rita".to_string())),
            ("sam@example.org".to_string(), None),
        ];
        let pending = vec![
            ("rita@example.org".to_string(), 1),
            ("rita@example.org".to_string(), 3),
        ];
        let rows = Rows {
            proposals: &p,
            decisions: &d,
            reviewers: &roster,
            pending: &pending,
            chairs: &[],
        };
        let open = plan(&Group::ReviewersPending, &rows);
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].reviews.len(), 2);
        let vars = variables(&Group::ReviewersPending, &common(), &open[0]);
        assert_eq!(vars["pending"].as_usize(), Some(2));
        assert!(!vars.contains_key("proposals"));
        assert_eq!(plan(&Group::ReviewersAll, &rows).len(), 2);
    }

    #[test]
    fn a_template_renders_subject_and_body_and_an_unknown_placeholder_names_its_line() {
        let src = "Subject: {{ reference }} at {{ conference }}\n\nHello{% if name %} {{ name }}{% endif %},\n\n\
                   {% for p in proposals %}- {{ p.reference }} {{ p.title }} ({{ p.status }})\n{% endfor %}\n\
                   Write to {{ contact }}.\n";
        let t = GroupTemplate::new("news.txt", src).unwrap();
        let m = Member {
            email: "ada@example.org".into(),
            name: Some("Ada <&>".into()),
            proposals: vec![ProposalVar {
                reference: "P-0001".into(),
                title: "Forms & more".into(),
                status: "submitted".into(),
                decision: String::new(),
            }],
            reviews: vec![],
        };
        let g = Group::Speakers(Speakers::All);
        let r = t.render(&variables(&g, &common(), &m)).unwrap();
        assert_eq!(r.subject, "P-0001 at DjangoCon");
        assert!(
            r.body
                .starts_with("Hello Ada <&>,\n\n- P-0001 Forms & more (submitted)\n"),
            "{:?}",
            r.body
        );
        assert!(
            r.body.ends_with("Write to chair@conf.example.\n"),
            "{:?}",
            r.body
        );
        // A placeholder the chairs' group does not have, on line 3.
        let e = t
            .render(&variables(&Group::Chairs, &common(), &m))
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("news.txt", 1), "{e}");
        let typo = GroupTemplate::new("news.txt", "Subject: hi\n\nHello {{ nmae }},\n").unwrap();
        let e = typo
            .render(&variables(&g, &common(), &m))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("news.txt:3: unknown placeholder \"nmae\""),
            "{e}"
        );
        let e = GroupTemplate::new("bad.txt", "Subject: x\n\n{% if name %}\nno end\n")
            .err()
            .unwrap();
        assert_eq!(e.file, "bad.txt");
        assert!(e.line >= 3, "{e}");
        let e = GroupTemplate::new("nosubj.txt", "Hello\n").err().unwrap();
        assert_eq!(
            e.to_string(),
            "nosubj.txt:1: the first line must be \"Subject: …\""
        );
    }

    #[test]
    fn the_dedup_key_is_the_files_content_and_the_mailbox() {
        let a = GroupTemplate::new("a.txt", "Subject: a\n\nx\n").unwrap();
        let a2 = GroupTemplate::new("elsewhere.txt", "Subject: a\n\nx\n").unwrap();
        let b = GroupTemplate::new("a.txt", "Subject: a\n\ny\n").unwrap();
        assert_eq!(
            a.dedup_key("Ada@Example.org"),
            a2.dedup_key("ada@example.org")
        );
        assert_ne!(
            a.dedup_key("ada@example.org"),
            b.dedup_key("ada@example.org")
        );
        assert_ne!(
            a.dedup_key("ada@example.org"),
            a.dedup_key("bob@example.org")
        );
        assert!(a.dedup_key("ada@example.org").starts_with("group:"));
    }
}
