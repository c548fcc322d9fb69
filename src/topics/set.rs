//! Topic sets: the embedded default, custom TOML files, validation, and
//! matching of speaker-declared topics.
//!
//! # File format
//!
//! ```toml
//! name = "DjangoCon US 2024"      # optional, shown to chairs
//!
//! [filing]                        # optional, defaults shown
//! min_score = 2.0                 # a topic is filed only from this score up
//! relative_score = 0.45           # ... and only within this fraction of the best
//! max_topics = 3                  # at most this many topics filed (declared ones always are)
//!
//! [[topic]]
//! id = "frontend"                 # lower-case letters, digits and '-'; unique
//! name = "HTMX, Alpine, Tailwind and other frontend"
//! description = "Server-rendered frontends, CSS and templates."
//! aliases = ["htmx", "front-end"] # optional: more names a speaker may declare
//! terms = [                       # vocabulary: words or phrases
//!   "htmx^3",                     # `^w`: weight w (default 1)
//!   "alpine.js^3",                # phrases match "Alpine.js", "alpine js", ...
//!   "=styling",                   # leading `=`: exact word forms, no stemming
//!   "template",                   # otherwise stemmed: matches "templates", "templating"
//! ]
//!
//! [[topic]]
//! id = "something-else"
//! name = "Something else entirely"
//! description = "Proposals that fit none of the topics above."
//! fallback = true                 # filed when nothing else fits; terms optional
//! ```
//!
//! **Fallback.** The topic marked `fallback = true` (at most one) is filed
//! when no other topic reaches the filing threshold. It may have `terms` of
//! its own, for subjects the set leaves out on purpose (the default set: a
//! CMS, the admin, translation); then it is also filed when those words
//! outscore every other topic. Without such a mark a
//! topic with id `something-else` is the fallback. A set without either is
//! valid: a proposal that matches nothing is then filed under its best-ranked
//! topic, with evidence saying that nothing matched.
//!
//! Every topic except the fallback needs a non-empty `terms` list. Unknown
//! keys, duplicate ids, names or aliases shared by two topics, malformed
//! terms and out-of-range settings are errors naming the file, line and key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::text;
use read::{parse_filing, strong_terms, unambiguous_keys, Lines, RawFile, Reader};

mod read;

/// Origin reported for the embedded default topic set.
pub const DEFAULT_ORIGIN: &str = "<embedded default_topics.toml>";

/// The embedded default topic set (DjangoCon US 2024 wish list).
pub const DEFAULT_TOPICS_TOML: &str = include_str!("default_topics.toml");

/// Largest weight a term may carry.
const MAX_WEIGHT: f64 = 100.0;

/// Smallest term weight that lets a declared topic be recognised through the
/// topic's vocabulary ("celery" declared → performance-scaling).
const DECLARED_VOCABULARY_MIN_WEIGHT: f64 = 2.0;

/// An error in a topic set file. Every message names the file and, where the
/// problem has one, the line and the key.
#[derive(Debug, thiserror::Error)]
pub enum TopicSetError {
    /// The file could not be read.
    #[error("{}: cannot read topic file: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (in the message, not a separate source: shown once).
        cause: std::io::Error,
    },
    /// The file is not valid TOML, or does not have the expected shape
    /// (unknown key, missing key, wrong type).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the TOML parser said, naming the key.
        message: String,
    },
    /// Two topics share an id.
    #[error("{}:{line}: key `id`: duplicate topic id \"{id}\" (first defined at line {first_line})", path.display())]
    DuplicateId {
        /// The file.
        path: PathBuf,
        /// Line of the second definition.
        line: usize,
        /// The id.
        id: String,
        /// Line of the first definition.
        first_line: usize,
    },
    /// A topic other than the fallback has no vocabulary.
    #[error("{}:{line}: key `terms` of topic \"{id}\": vocabulary is empty; list at least one word or phrase (only the fallback topic may have none)", path.display())]
    EmptyVocabulary {
        /// The file.
        path: PathBuf,
        /// Line of the `terms` key, or of the topic's `id` when `terms` is missing.
        line: usize,
        /// The topic.
        id: String,
    },
    /// Any other invalid value: bad id, empty name, malformed term, clashing
    /// alias, several fallbacks, out-of-range setting.
    #[error("{}:{line}: key `{key}`{}: {problem}", path.display(), topic_suffix(topic))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// The key holding it.
        key: String,
        /// The topic it belongs to, if any.
        topic: Option<String>,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The file defines no topic at all.
    #[error("{}: no topics defined; add `[[topic]]` tables with `id`, `name`, `description` and `terms`", path.display())]
    NoTopics {
        /// The file.
        path: PathBuf,
    },
}

fn topic_suffix(topic: &Option<String>) -> String {
    match topic {
        Some(id) => format!(" of topic \"{id}\""),
        None => String::new(),
    }
}

/// One vocabulary entry of a topic: a word or phrase and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    phrase: String,
    weight: f64,
    exact: bool,
}

impl Term {
    /// The word or phrase as written (without `=` and `^weight`).
    pub fn phrase(&self) -> &str {
        &self.phrase
    }
    /// How much one match counts (default 1).
    pub fn weight(&self) -> f64 {
        self.weight
    }
    /// Whether it matches exact word forms only (written with a leading `=`);
    /// otherwise words match on their English stem.
    pub fn is_exact(&self) -> bool {
        self.exact
    }
}

/// One topic of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    /// Stable identifier (`performance-scaling`).
    pub id: String,
    /// Human name (`Performance and scaling`).
    pub name: String,
    /// What the topic covers, for speakers and reviewers.
    pub description: String,
    aliases: Vec<String>,
    terms: Vec<Term>,
    fallback: bool,
    line: usize,
}

impl Topic {
    /// Further names a speaker may declare the topic by.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    /// The topic's vocabulary.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }
    /// Whether the file marked this topic `fallback = true`.
    pub fn is_marked_fallback(&self) -> bool {
        self.fallback
    }
    /// Line of the topic's `id` in its file.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// How [`super::Tagger::file`] chooses the topics a proposal is filed under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilingSettings {
    /// A topic is filed only from this score up.
    pub min_score: f64,
    /// ... and only if its score is at least this fraction of the best one.
    pub relative_score: f64,
    /// At most this many topics are filed (declared topics always are).
    pub max_topics: usize,
}

impl Default for FilingSettings {
    fn default() -> Self {
        FilingSettings {
            min_score: 2.0,
            relative_score: 0.45,
            max_topics: 3,
        }
    }
}

/// Precomputed keys for matching declared topics.
#[derive(Debug, Clone)]
struct DeclaredKeys {
    /// Compact forms of id, name and aliases (`performancescaling`).
    compact: Vec<String>,
    /// Word lists of id, name and aliases (`["performance", "scaling"]`).
    words: Vec<Vec<String>>,
}

/// A validated set of topics, in file order.
#[derive(Debug, Clone)]
pub struct TopicSet {
    name: Option<String>,
    origin: PathBuf,
    topics: Vec<Topic>,
    fallback: Option<usize>,
    filing: FilingSettings,
    keys: Vec<DeclaredKeys>,
    /// Stemmed phrase → (topic index, weight) for strong terms.
    strong_terms: HashMap<String, Vec<(usize, f64)>>,
}

impl TopicSet {
    /// The embedded default set: the 20 topics of the DjangoCon US 2024 talk
    /// wish list, with `something-else` as fallback.
    pub fn default_set() -> TopicSet {
        static DEFAULT: OnceLock<TopicSet> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                // The embedded file is checked by this module's tests; failing
                // here is a build defect, not bad input.
                TopicSet::from_toml_str(DEFAULT_TOPICS_TOML, Path::new(DEFAULT_ORIGIN))
                    .unwrap_or_else(|e| panic!("embedded default topic set is invalid: {e}"))
            })
            .clone()
    }

    /// Reads and validates a topic set file.
    pub fn load(path: &Path) -> Result<TopicSet, TopicSetError> {
        let src = std::fs::read_to_string(path).map_err(|cause| TopicSetError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        TopicSet::from_toml_str(&src, path)
    }

    /// Parses and validates a topic set; `origin` names the file in errors.
    pub fn from_toml_str(src: &str, origin: &Path) -> Result<TopicSet, TopicSetError> {
        let lines = Lines { src };
        let raw: RawFile = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| lines.line_col(s.start));
            TopicSetError::Syntax {
                path: origin.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut reader = Reader {
            lines,
            path: origin,
            topics: Vec::with_capacity(raw.topic.len()),
            first_line: HashMap::new(),
            marked_fallback: None,
        };
        let filing = parse_filing(raw.filing, &|offset, key, topic, problem| {
            reader.invalid(offset, key, topic, problem)
        })?;
        if raw.topic.is_empty() {
            return Err(TopicSetError::NoTopics {
                path: origin.to_path_buf(),
            });
        }
        for rt in raw.topic {
            reader.topic(rt)?;
        }
        let (topics, marked_fallback) = (reader.topics, reader.marked_fallback);
        let fallback = match marked_fallback {
            Some((i, _)) => Some(i),
            None => topics.iter().position(|t| t.id == "something-else"),
        };
        // A topic without vocabulary can only ever be filed as the fallback.
        if let Some(t) = topics
            .iter()
            .enumerate()
            .find(|(i, t)| t.terms.is_empty() && Some(*i) != fallback)
            .map(|(_, t)| t)
        {
            return Err(TopicSetError::EmptyVocabulary {
                path: origin.to_path_buf(),
                line: t.line,
                id: t.id.clone(),
            });
        }
        let keys = unambiguous_keys(&topics, origin)?;
        let strong_terms = strong_terms(&topics);
        Ok(TopicSet {
            name: raw.name,
            origin: origin.to_path_buf(),
            topics,
            fallback,
            filing,
            keys,
            strong_terms,
        })
    }

    /// All topics, in file order (the tie-break order of rankings).
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The topic with this id.
    pub fn get(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The set's display name, if the file gives one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the set came from (a path, or [`DEFAULT_ORIGIN`]).
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The fallback topic: the one marked `fallback = true`, else the one with
    /// id `something-else`, else none.
    pub fn fallback(&self) -> Option<&Topic> {
        self.fallback.and_then(|i| self.topics.get(i))
    }

    /// Position of the fallback topic in [`TopicSet::topics`].
    pub(crate) fn fallback_index(&self) -> Option<usize> {
        self.fallback
    }

    /// The filing thresholds of this set.
    pub fn filing(&self) -> FilingSettings {
        self.filing
    }

    /// The topic a speaker meant by `text`, if any. Tried in order, the first
    /// step with an unambiguous answer wins:
    ///
    /// 1. id, name or alias, ignoring case, punctuation, spaces and filler
    ///    words ("Web Sockets" = "websockets", "Perf & scaling" words);
    /// 2. abbreviated words: each declared word a prefix (4+ letters) of the
    ///    corresponding word of an id, name or alias ("Perf & scaling" →
    ///    `performance-scaling`);
    /// 3. a small typo: edit distance 1 for 5–7 letters, 2 from 8 letters,
    ///    none for shorter (so "gil" never matches "git"), and never a mere
    ///    prefix ("django" is not a typo of "django 5");
    /// 4. a strong vocabulary term (weight ≥ 2) of exactly one best topic
    ///    ("celery" → `performance-scaling`).
    pub fn match_declared(&self, text: &str) -> Option<&Topic> {
        self.match_declared_index(text)
            .and_then(|i| self.topics.get(i))
    }

    pub(crate) fn match_declared_index(&self, declared: &str) -> Option<usize> {
        let c = text::compact(declared);
        if c.is_empty() {
            return None;
        }
        if let Some(i) = self.keys.iter().position(|k| k.compact.contains(&c)) {
            return Some(i);
        }

        let words = text::name_words(declared);
        let abbreviated = |k: &Vec<String>| {
            k.len() == words.len()
                && words
                    .iter()
                    .zip(k)
                    .all(|(d, w)| d == w || (d.chars().count() >= 4 && w.starts_with(d.as_str())))
        };
        let hits: Vec<usize> = (0..self.keys.len())
            .filter(|&i| self.keys[i].words.iter().any(abbreviated))
            .collect();
        if let [only] = hits[..] {
            return Some(only);
        }

        let len = c.chars().count();
        let mut best: Option<(usize, usize)> = None; // (distance, topic)
        let mut tie = false;
        for (i, k) in self.keys.iter().enumerate() {
            for key in &k.compact {
                let budget = text::typo_budget(len.min(key.chars().count()));
                // A prefix is a partial name ("django" of "django5"), not a
                // typo; abbreviations are step 2's business.
                if budget == 0
                    || len.abs_diff(key.chars().count()) > budget
                    || key.starts_with(c.as_str())
                    || c.starts_with(key.as_str())
                {
                    continue;
                }
                let d = text::edit_distance(&c, key);
                if d > budget {
                    continue;
                }
                match best {
                    Some((bd, bi)) if d == bd && bi != i => tie = true,
                    Some((bd, _)) if d >= bd => {}
                    _ => {
                        best = Some((d, i));
                        tie = false;
                    }
                }
            }
        }
        if let (Some((_, i)), false) = (best, tie) {
            return Some(i);
        }

        let key = stem_key(declared, &text::Stems::plain());
        let candidates = self.strong_terms.get(&key)?;
        let top = candidates.iter().map(|&(_, w)| w).fold(f64::MIN, f64::max);
        let mut best_topics = candidates
            .iter()
            .filter(|&&(_, w)| w == top)
            .map(|&(i, _)| i);
        let first = best_topics.next()?;
        if best_topics.all(|i| i == first) {
            Some(first)
        } else {
            None
        }
    }
}

fn stem_key(phrase: &str, stems: &text::Stems) -> String {
    text::tokenize(phrase, stems)
        .into_iter()
        .map(|t| t.stem)
        .collect::<Vec<_>>()
        .join(" ")
}

fn declared_keys(t: &Topic) -> DeclaredKeys {
    let names = std::iter::once(t.id.as_str())
        .chain(std::iter::once(t.name.as_str()))
        .chain(t.aliases.iter().map(String::as_str));
    let mut compact = Vec::new();
    let mut words = Vec::new();
    for n in names {
        let c = text::compact(n);
        if !c.is_empty() && !compact.contains(&c) {
            compact.push(c);
            words.push(text::name_words(n));
        }
    }
    DeclaredKeys { compact, words }
}

fn has_word_char(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<TopicSet, TopicSetError> {
        TopicSet::from_toml_str(src, Path::new("conf/topics.toml"))
    }

    fn err(src: &str) -> String {
        match parse(src) {
            Ok(_) => panic!("expected an error for:\n{src}"),
            Err(e) => e.to_string(),
        }
    }

    const VALID: &str = r#"
name = "PyCon Example"

[filing]
min_score = 1.5
max_topics = 2

[[topic]]
id = "web"
name = "Web frameworks"
description = "Django, Flask and friends."
aliases = ["webdev"]
terms = ["django^3", "flask^3", "=routing", "template"]

[[topic]]
id = "data"
name = "Data science"
description = "Analysis and notebooks."
terms = ["pandas^3", "jupyter notebook^2"]

[[topic]]
id = "other"
name = "Other"
description = "Anything else."
fallback = true
"#;

    #[test]
    fn default_set_is_valid_and_complete() {
        let set = TopicSet::default_set();
        let ids: Vec<&str> = set.topics().iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "no-gil",
                "django-new-features",
                "spa-challenges",
                "unexpected-use-cases",
                "clever-hacks",
                "frontend",
                "channels-websockets",
                "dev-testing",
                "architecture",
                "security",
                "database",
                "community",
                "machine-learning",
                "performance-scaling",
                "deployment",
                "career",
                "ethics",
                "ai-llm",
                "personal-growth",
                "something-else",
            ]
        );
        assert_eq!(
            set.fallback().map(|t| t.id.as_str()),
            Some("something-else")
        );
        for t in set.topics() {
            assert!(!t.name.is_empty() && !t.description.is_empty(), "{}", t.id);
            if t.id != "something-else" {
                assert!(t.terms().len() >= 10, "{} has a thin vocabulary", t.id);
            }
        }
        assert_eq!(set.origin(), Path::new(DEFAULT_ORIGIN));
    }

    /// `conf/topics.toml:N: ` for the first line of `src` containing `needle`.
    fn at(src: &str, needle: &str) -> String {
        let line = src
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in test source"));
        format!("conf/topics.toml:{}:", line + 1)
    }

    /// Applies `from → to` to [`VALID`] and returns the error and the source.
    fn broken(from: &str, to: &str) -> (String, String) {
        assert!(VALID.contains(from), "{from:?} not in VALID");
        let src = VALID.replacen(from, to, 1);
        (err(&src), src)
    }

    #[test]
    fn valid_custom_file_loads() {
        let set = parse(VALID).expect("valid file");
        assert_eq!(set.name(), Some("PyCon Example"));
        assert_eq!(set.topics().len(), 3);
        assert_eq!(set.fallback().map(|t| t.id.as_str()), Some("other"));
        assert_eq!(set.filing().min_score, 1.5);
        assert_eq!(set.filing().max_topics, 2);
        assert_eq!(
            set.filing().relative_score,
            FilingSettings::default().relative_score
        );
        let web = set.get("web").expect("web topic");
        assert_eq!(web.terms()[0].phrase(), "django");
        assert_eq!(web.terms()[0].weight(), 3.0);
        assert!(web.terms()[2].is_exact());
        assert_eq!(web.terms()[2].phrase(), "routing");
        assert_eq!(web.aliases(), ["webdev"]);
        assert_eq!(
            format!("conf/topics.toml:{}:", web.line()),
            at(VALID, "id = \"web\"")
        );
        assert!(set.get("nope").is_none());
    }

    #[test]
    fn load_reads_files_and_names_missing_ones() {
        let dir = std::env::temp_dir().join(format!("cfpd-topics-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("topics.toml");
        std::fs::write(&file, VALID).expect("write");
        assert_eq!(TopicSet::load(&file).expect("loads").topics().len(), 3);
        let missing = dir.join("missing.toml");
        let e = TopicSet::load(&missing).expect_err("missing file");
        assert!(e.to_string().contains("missing.toml"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_set_without_fallback_is_valid() {
        let src = VALID.replace("fallback = true", "terms = [\"misc\"]");
        let set = parse(&src).expect("valid");
        assert!(set.fallback().is_none());
    }

    #[test]
    fn something_else_is_the_fallback_when_none_is_marked() {
        let src = VALID
            .replace("fallback = true", "")
            .replace("id = \"other\"", "id = \"something-else\"");
        let set = parse(&src).expect("valid");
        assert_eq!(
            set.fallback().map(|t| t.id.as_str()),
            Some("something-else")
        );
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let e = err("[[topic]]\nid = \"a\"\nname = \"A\nterms = []\n");
        assert!(e.starts_with("conf/topics.toml:3:"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let (e, src) = broken("aliases = [\"webdev\"]", "alias = [\"webdev\"]");
        assert!(e.starts_with(&at(&src, "alias =")), "{e}");
        assert!(e.contains("unknown field `alias`"), "{e}");
        let (e, src) = broken("max_topics = 2", "max_topic = 2");
        assert!(e.starts_with(&at(&src, "max_topic =")), "{e}");
        assert!(e.contains("`max_topic`"), "{e}");
        let (e, src) = broken("name = \"PyCon Example\"", "title = \"PyCon\"");
        assert!(e.starts_with(&at(&src, "title =")), "{e}");
        assert!(e.contains("`title`"), "{e}");
    }

    #[test]
    fn missing_and_mistyped_keys_are_named() {
        let (e, _) = broken("description = \"Analysis and notebooks.\"\n", "");
        assert!(e.starts_with("conf/topics.toml:"), "{e}");
        assert!(e.contains("missing field `description`"), "{e}");
        let (e, src) = broken("max_topics = 2", "max_topics = \"two\"");
        assert!(e.starts_with(&at(&src, "max_topics =")), "{e}");
        let (e, src) = broken(
            "terms = [\"pandas^3\", \"jupyter notebook^2\"]",
            "terms = \"pandas\"",
        );
        assert!(e.starts_with(&at(&src, "terms = \"pandas\"")), "{e}");
    }

    #[test]
    fn duplicate_ids_are_rejected_with_both_lines() {
        let (e, src) = broken("id = \"data\"", "id = \"web\"");
        let first = at(&src, "id = \"web\"");
        let second = src
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("id = \"web\""))
            .nth(1)
            .map(|(i, _)| i + 1)
            .expect("second web");
        assert_eq!(
            e,
            format!(
                "conf/topics.toml:{second}: key `id`: duplicate topic id \"web\" (first defined at line {})",
                first.trim_start_matches("conf/topics.toml:").trim_end_matches(':')
            )
        );
    }

    #[test]
    fn empty_vocabulary_is_rejected() {
        let (e, src) = broken(
            "terms = [\"pandas^3\", \"jupyter notebook^2\"]",
            "terms = []",
        );
        assert!(e.starts_with(&at(&src, "terms = []")), "{e}");
        assert!(
            e.contains("key `terms` of topic \"data\": vocabulary is empty"),
            "{e}"
        );
        // A missing `terms` key is reported at the topic's id.
        let (e, src) = broken("terms = [\"pandas^3\", \"jupyter notebook^2\"]\n", "");
        assert!(e.starts_with(&at(&src, "id = \"data\"")), "{e}");
        assert!(e.contains("key `terms` of topic \"data\""), "{e}");
        // Without a fallback mark, a topic without terms is an error too.
        let (e, src) = broken("fallback = true", "");
        assert!(e.starts_with(&at(&src, "id = \"other\"")), "{e}");
        assert!(e.contains("key `terms` of topic \"other\""), "{e}");
    }

    #[test]
    fn malformed_terms_are_rejected() {
        for (bad, needle) in [
            ("\"flask^x\"", "not a number"),
            ("\"flask^0\"", "out of range"),
            ("\"flask^1e9\"", "out of range"),
            ("\"^2\"", "no letters or digits"),
            ("\"  \"", "no letters or digits"),
            ("\"Django\"", "listed twice"),
        ] {
            let (e, src) = broken("\"=routing\"", bad);
            assert!(e.starts_with(&at(&src, bad)), "{bad}: {e}");
            assert!(e.contains("key `terms` of topic \"web\""), "{bad}: {e}");
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_ids_names_and_descriptions_are_rejected() {
        let (e, src) = broken("id = \"data\"", "id = \"Data Science\"");
        assert!(
            e.starts_with(&format!("{} key `id`", at(&src, "Data Science"))),
            "{e}"
        );
        let (e, src) = broken("name = \"Data science\"", "name = \"  \"");
        assert!(
            e.starts_with(&format!(
                "{} key `name` of topic \"data\"",
                at(&src, "name = \"  \"")
            )),
            "{e}"
        );
        let (e, src) = broken("description = \"Anything else.\"", "description = \"\"");
        assert!(
            e.starts_with(&format!(
                "{} key `description` of topic \"other\"",
                at(&src, "description = \"\"")
            )),
            "{e}"
        );
        let (e, src) = broken("aliases = [\"webdev\"]", "aliases = [\"--\"]");
        assert!(
            e.starts_with(&format!(
                "{} key `aliases` of topic \"web\"",
                at(&src, "aliases =")
            )),
            "{e}"
        );
    }

    #[test]
    fn clashing_aliases_are_rejected() {
        let (e, _) = broken("aliases = [\"webdev\"]", "aliases = [\"Data Science\"]");
        assert!(e.contains("key `aliases` of topic \"data\""), "{e}");
        assert!(e.contains("also names topic \"web\""), "{e}");
    }

    #[test]
    fn several_fallbacks_are_rejected() {
        let (e, src) = broken(
            "terms = [\"pandas^3\", \"jupyter notebook^2\"]",
            "terms = [\"pandas^3\"]\nfallback = true",
        );
        let second = src
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("fallback = true"))
            .nth(1)
            .map(|(i, _)| i + 1)
            .expect("second fallback");
        assert!(
            e.starts_with(&format!(
                "conf/topics.toml:{second}: key `fallback` of topic \"other\""
            )),
            "{e}"
        );
        assert!(e.contains("already the fallback"), "{e}");
    }

    #[test]
    fn bad_filing_settings_are_rejected() {
        let (e, src) = broken("min_score = 1.5", "min_score = -1.0");
        assert!(
            e.starts_with(&format!("{} key `filing.min_score`", at(&src, "min_score"))),
            "{e}"
        );
        let (e, src) = broken("max_topics = 2", "max_topics = 0");
        assert!(
            e.starts_with(&format!(
                "{} key `filing.max_topics`",
                at(&src, "max_topics")
            )),
            "{e}"
        );
        let (e, src) = broken("min_score = 1.5", "relative_score = 1.5");
        assert!(
            e.starts_with(&format!(
                "{} key `filing.relative_score`",
                at(&src, "relative_score")
            )),
            "{e}"
        );
    }

    #[test]
    fn a_file_without_topics_is_rejected() {
        let e = err("name = \"empty\"\n");
        assert!(e.starts_with("conf/topics.toml: no topics"), "{e}");
    }

    fn declared(text: &str) -> Option<String> {
        TopicSet::default_set()
            .match_declared(text)
            .map(|t| t.id.clone())
    }

    #[test]
    fn declared_topics_match_by_id_name_and_alias() {
        assert_eq!(
            declared("performance-scaling").as_deref(),
            Some("performance-scaling")
        );
        assert_eq!(declared("  Database  ").as_deref(), Some("database"));
        assert_eq!(declared("Security").as_deref(), Some("security"));
        assert_eq!(declared("Career development").as_deref(), Some("career"));
        assert_eq!(declared("htmx").as_deref(), Some("frontend"));
        assert_eq!(declared("GIL").as_deref(), Some("no-gil"));
        assert_eq!(
            declared("web sockets").as_deref(),
            Some("channels-websockets")
        );
        assert_eq!(
            declared("Web-Sockets").as_deref(),
            Some("channels-websockets")
        );
        assert_eq!(declared("LLMs").as_deref(), Some("ai-llm"));
        assert_eq!(
            declared("something else").as_deref(),
            Some("something-else")
        );
    }

    #[test]
    fn declared_topics_match_near_misses() {
        assert_eq!(
            declared("Perf & scaling").as_deref(),
            Some("performance-scaling")
        );
        assert_eq!(declared("databse").as_deref(), Some("database"));
        assert_eq!(declared("secuirty").as_deref(), Some("security"));
        assert_eq!(declared("deploymnet").as_deref(), Some("deployment"));
        assert_eq!(
            declared("machine lerning").as_deref(),
            Some("machine-learning")
        );
        assert_eq!(declared("celery").as_deref(), Some("performance-scaling"));
        assert_eq!(
            declared("Django REST framework").as_deref(),
            Some("spa-challenges")
        );
    }

    #[test]
    fn declared_topics_do_not_match_unrelated_words() {
        for text in [
            "banana",
            "git",
            "gift",
            "",
            "  ",
            "&",
            "the",
            "python",
            "django",
            "talk",
            "web",
            "code",
            "deep dive",
            "keynote",
        ] {
            assert_eq!(declared(text), None, "{text:?} matched");
        }
    }
}
