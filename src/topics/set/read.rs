//! Reading a topic set file: the TOML shape, and the checks that turn each
//! `[[topic]]` table into a [`Topic`]. Lines come from the `Spanned` values
//! the `toml` crate records; errors name the file, the line and the key.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{
    declared_keys, has_word_char, stem_key, text, valid_id, DeclaredKeys, FilingSettings, Term,
    Topic, TopicSetError, DECLARED_VOCABULARY_MIN_WEIGHT, MAX_WEIGHT,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) filing: Option<RawFiling>,
    #[serde(default)]
    pub(super) topic: Vec<RawTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFiling {
    #[serde(default)]
    pub(super) min_score: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) relative_score: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) max_topics: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    pub(super) id: Spanned<String>,
    pub(super) name: Spanned<String>,
    pub(super) description: Spanned<String>,
    #[serde(default)]
    pub(super) aliases: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) terms: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) fallback: Option<Spanned<bool>>,
}

/// Maps byte offsets to 1-based line and column numbers.
pub(super) struct Lines<'a> {
    pub(super) src: &'a str,
}

impl Lines<'_> {
    pub(super) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before
            .get(line_start..)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
    pub(super) fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
}

/// Validation state while reading the `[[topic]]` tables in file order.
pub(super) struct Reader<'a> {
    pub(super) lines: Lines<'a>,
    pub(super) path: &'a Path,
    pub(super) topics: Vec<Topic>,
    /// Line of each id's first definition, for duplicates.
    pub(super) first_line: HashMap<String, usize>,
    /// The topic marked `fallback = true`, if any: (topic index, line).
    pub(super) marked_fallback: Option<(usize, usize)>,
}

impl Reader<'_> {
    /// An invalid value at `offset`, under `key` of `topic` (if any).
    pub(super) fn invalid(
        &self,
        offset: usize,
        key: &str,
        topic: Option<&str>,
        problem: String,
    ) -> TopicSetError {
        TopicSetError::Invalid {
            path: self.path.to_path_buf(),
            line: self.lines.line(offset),
            key: key.to_string(),
            topic: topic.map(str::to_string),
            problem,
        }
    }

    /// Validate one `[[topic]]` table and add it.
    pub(super) fn topic(&mut self, rt: RawTopic) -> Result<(), TopicSetError> {
        let id_off = rt.id.span().start;
        let id = rt.id.get_ref().trim().to_string();
        let line = self.lines.line(id_off);
        if !valid_id(&id) {
            return Err(self.invalid(
                id_off,
                "id",
                None,
                format!("invalid topic id \"{id}\": use lower-case letters, digits and '-', starting with a letter or digit (e.g. \"performance-scaling\")"),
            ));
        }
        if let Some(&first) = self.first_line.get(&id) {
            return Err(TopicSetError::DuplicateId {
                path: self.path.to_path_buf(),
                line,
                id,
                first_line: first,
            });
        }
        self.first_line.insert(id.clone(), line);

        let name = rt.name.get_ref().trim().to_string();
        if !has_word_char(&name) {
            return Err(self.invalid(
                rt.name.span().start,
                "name",
                Some(&id),
                "name is empty; give the topic a human-readable name".into(),
            ));
        }
        let description = rt.description.get_ref().trim().to_string();
        if description.is_empty() {
            return Err(self.invalid(
                rt.description.span().start,
                "description",
                Some(&id),
                "description is empty; say in a sentence what the topic covers".into(),
            ));
        }
        let mut aliases = Vec::with_capacity(rt.aliases.len());
        for a in &rt.aliases {
            let alias = a.get_ref().trim().to_string();
            if !has_word_char(&alias) {
                return Err(self.invalid(
                    a.span().start,
                    "aliases",
                    Some(&id),
                    format!("alias \"{alias}\" has no letters or digits"),
                ));
            }
            aliases.push(alias);
        }
        let fallback = self.fallback(&rt, &id)?;
        let (terms, terms_line) = self.terms(&rt, &id, line)?;
        let is_fallback_candidate =
            fallback || (self.marked_fallback.is_none() && id == "something-else");
        if terms.is_empty() && !is_fallback_candidate {
            return Err(TopicSetError::EmptyVocabulary {
                path: self.path.to_path_buf(),
                line: terms_line,
                id,
            });
        }
        self.topics.push(Topic {
            id,
            name,
            description,
            aliases,
            terms,
            fallback,
            line,
        });
        Ok(())
    }

    /// Whether the topic says `fallback = true`; only one topic may.
    fn fallback(&mut self, rt: &RawTopic, id: &str) -> Result<bool, TopicSetError> {
        match &rt.fallback {
            Some(f) if *f.get_ref() => {
                if let Some((prev, _)) = self.marked_fallback {
                    return Err(self.invalid(
                        f.span().start,
                        "fallback",
                        Some(id),
                        format!(
                            "topic \"{}\" is already the fallback; mark only one topic `fallback = true`",
                            self.topics.get(prev).map_or("?", |t| t.id.as_str())
                        ),
                    ));
                }
                self.marked_fallback = Some((self.topics.len(), self.lines.line(f.span().start)));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The topic's vocabulary (each term once), and the line of its `terms`
    /// key (`line`, the id's, when there is none).
    fn terms(
        &self,
        rt: &RawTopic,
        id: &str,
        line: usize,
    ) -> Result<(Vec<Term>, usize), TopicSetError> {
        let Some(list) = &rt.terms else {
            return Ok((Vec::new(), line));
        };
        let mut terms: Vec<Term> = Vec::new();
        for t in list.get_ref() {
            let term = parse_term(t.get_ref()).map_err(|problem| {
                self.invalid(t.span().start, "terms", Some(id), problem.to_string())
            })?;
            if let Some(prev) = terms
                .iter()
                .find(|p| p.phrase.to_lowercase() == term.phrase.to_lowercase())
            {
                return Err(self.invalid(
                    t.span().start,
                    "terms",
                    Some(id),
                    format!(
                        "term \"{}\" is listed twice; keep one (with the weight you mean)",
                        prev.phrase
                    ),
                ));
            }
            terms.push(term);
        }
        Ok((terms, self.lines.line(list.span().start)))
    }
}

/// The declared keys of every topic; names and aliases must not point at two topics.
pub(super) fn unambiguous_keys(
    topics: &[Topic],
    path: &Path,
) -> Result<Vec<DeclaredKeys>, TopicSetError> {
    let keys: Vec<DeclaredKeys> = topics.iter().map(declared_keys).collect();
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        for c in &k.compact {
            match owner.get(c.as_str()) {
                Some(&j) if j != i => {
                    let (a, b) = (&topics[j], &topics[i]);
                    return Err(TopicSetError::Invalid {
                        path: path.to_path_buf(),
                        line: b.line,
                        key: "aliases".into(),
                        topic: Some(b.id.clone()),
                        problem: format!(
                            "\"{c}\" (as id, name or alias) also names topic \"{}\" (line {}); a declared topic must point at one topic",
                            a.id, a.line
                        ),
                    });
                }
                _ => {
                    owner.insert(c.as_str(), i);
                }
            }
        }
    }
    Ok(keys)
}

/// Strong terms (weight at least [`DECLARED_VOCABULARY_MIN_WEIGHT`]) by stem
/// key, with the topics and weights that list them.
pub(super) fn strong_terms(topics: &[Topic]) -> HashMap<String, Vec<(usize, f64)>> {
    let stems = text::Stems::plain();
    let mut strong: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
    for (i, t) in topics.iter().enumerate() {
        for term in t
            .terms
            .iter()
            .filter(|t| t.weight >= DECLARED_VOCABULARY_MIN_WEIGHT)
        {
            let key = stem_key(&term.phrase, &stems);
            strong.entry(key).or_default().push((i, term.weight));
        }
    }
    strong
}

/// A term a topic file lists that cannot be used, with what to write instead.
#[derive(Debug, thiserror::Error)]
enum TermError {
    /// The text after `^` is not a number.
    #[error(
        "term \"{raw}\": weight \"{weight}\" after '^' is not a number (write e.g. \"htmx^3\")"
    )]
    WeightNotANumber { raw: String, weight: String },
    /// The weight is not in (0, MAX_WEIGHT].
    #[error("term \"{raw}\": weight {weight} is out of range; use a number above 0 and at most {MAX_WEIGHT}")]
    WeightOutOfRange { raw: String, weight: String },
    /// Nothing to match.
    #[error("term \"{raw}\" has no letters or digits; write a word or phrase, optionally with a weight (\"htmx^3\")")]
    NoWord { raw: String },
}

/// Parses `[=]phrase[^weight]`.
fn parse_term(raw: &str) -> Result<Term, TermError> {
    let s = raw.trim();
    let (s, exact) = match s.strip_prefix('=') {
        Some(rest) => (rest.trim_start(), true),
        None => (s, false),
    };
    let (phrase, weight) = match s.rsplit_once('^') {
        Some((p, w)) => {
            let weight: f64 = w.trim().parse().map_err(|_| TermError::WeightNotANumber {
                raw: raw.to_string(),
                weight: w.to_string(),
            })?;
            if !(weight.is_finite() && weight > 0.0 && weight <= MAX_WEIGHT) {
                return Err(TermError::WeightOutOfRange {
                    raw: raw.to_string(),
                    weight: w.to_string(),
                });
            }
            (p.trim(), weight)
        }
        None => (s, 1.0),
    };
    if !has_word_char(phrase) {
        return Err(TermError::NoWord {
            raw: raw.to_string(),
        });
    }
    Ok(Term {
        phrase: phrase.to_string(),
        weight,
        exact,
    })
}

pub(super) fn parse_filing<E>(
    raw: Option<RawFiling>,
    invalid: &impl Fn(usize, &str, Option<&str>, String) -> E,
) -> Result<FilingSettings, E> {
    let mut f = FilingSettings::default();
    let Some(raw) = raw else { return Ok(f) };
    if let Some(v) = raw.min_score {
        let x = *v.get_ref();
        if !(x.is_finite() && x > 0.0) {
            return Err(invalid(
                v.span().start,
                "filing.min_score",
                None,
                format!("{x} is out of range; use a number above 0"),
            ));
        }
        f.min_score = x;
    }
    if let Some(v) = raw.relative_score {
        let x = *v.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return Err(invalid(
                v.span().start,
                "filing.relative_score",
                None,
                format!("{x} is out of range; use a fraction from 0 to 1"),
            ));
        }
        f.relative_score = x;
    }
    if let Some(v) = raw.max_topics {
        let x = *v.get_ref();
        f.max_topics = usize::try_from(x).ok().filter(|&n| n >= 1).ok_or_else(|| {
            invalid(
                v.span().start,
                "filing.max_topics",
                None,
                format!("{x} is out of range; use a whole number from 1 up"),
            )
        })?;
    }
    Ok(f)
}
