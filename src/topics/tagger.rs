//! Ranking a proposal against every topic of a set, with evidence, and
//! choosing the topics it is filed under.
//!
//! # Method
//!
//! A weighted lexicon with stemming and phrase matching:
//!
//! * Title, abstract and description are tokenised and stemmed (Porter2);
//!   every vocabulary phrase of every topic is precompiled in
//!   [`Tagger::new`] into stem sequences indexed by their first stem.
//! * For each topic, overlapping matches keep only the longest phrase
//!   ("read replicas" does not also count "replicas").
//! * A term found in the body counts `weight × sat(n)`, where `n` is the
//!   number of occurrences (abstract 1, description [`DESCRIPTION_WEIGHT`])
//!   and `sat(n) = n (k+1) / (n+k)` saturates repetition (BM25's tf curve,
//!   `k` = [`SATURATION_K`]). A term in the title adds `weight ×`
//!   [`TITLE_BONUS`] on top: titles say what a talk is about, while an
//!   abstract also lists the tools it happens to use.
//! * A topic sums its terms strongest first, each counting
//!   [`BREADTH_DECAY`] times the one before: a topic named a few times
//!   strongly beats one whose long tail of incidental words ("AWS",
//!   "Docker", "cloud", "production" in a talk about predicting lightning)
//!   adds up.
//! * Declared topics get [`DECLARED_BOOST`] and `declared: …` evidence.
//! * The fallback topic scores the set's `min_score` (or its own vocabulary
//!   score if higher: subjects the set leaves out on purpose, such as a
//!   CMS or the admin in the default set), so it ranks first when no topic
//!   reaches the filing threshold or when its own words are the strongest.
//!
//! Rankings are deterministic: scores are rounded to 1e-6 and ties keep the
//! set's order.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::set::TopicSet;
use super::text::{self, Stems, WordMap};

/// Score added once, per term weight, when a term appears in the title.
pub const TITLE_BONUS: f64 = 3.0;
/// Each further term of a topic, strongest first, counts this fraction of
/// the one before (a geometric series: many weak mentions cannot outweigh a
/// few strong ones).
pub const BREADTH_DECAY: f64 = 0.7;
/// How much an occurrence in the description counts next to one in the abstract.
pub const DESCRIPTION_WEIGHT: f64 = 0.6;
/// Saturation constant of the per-term occurrence curve.
pub const SATURATION_K: f64 = 1.2;
/// Score added to a topic the speaker declared.
pub const DECLARED_BOOST: f64 = 10.0;
/// Evidence prefix marking a speaker-declared topic.
pub const DECLARED_PREFIX: &str = "declared: ";
/// Fallback evidence when no vocabulary matched at all.
pub const NOTHING_MATCHED: &str = "no topic vocabulary matched";
/// Fallback evidence when some vocabulary matched, but too little.
pub const NOTHING_STRONG: &str = "no topic matched strongly enough to be filed";
/// Evidence of a topic a chair added by hand.
pub const CHAIR_ADDED: &str = "added by the program chair";
/// How many words of evidence [`explain`] lists before "and N more".
pub const EXPLAINED_WORDS: usize = 6;

/// The text of one proposal, as the tagger sees it.
#[derive(Debug, Clone, Copy)]
pub struct TagInput<'a> {
    /// Title (weighted most).
    pub title: &'a str,
    /// Public abstract.
    pub abstract_text: &'a str,
    /// Longer description for reviewers (weighted less; may be empty).
    pub description: &'a str,
    /// Topics the speaker declared, as written (ids, names or near misses).
    pub declared: &'a [String],
}

/// One topic's score for a proposal and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicScore {
    /// Topic id.
    pub id: String,
    /// Topic name.
    pub name: String,
    /// Score (0 when nothing matched; higher is better; not bounded).
    pub score: f64,
    /// Why: `declared: …` first if the speaker declared it, then the
    /// words and phrases found, as they appear in the text, strongest first,
    /// without case-insensitive duplicates. May be empty for unfiled topics.
    pub evidence: Vec<String>,
}

/// A vocabulary phrase compiled for matching.
#[derive(Debug, Clone)]
struct CompiledTerm {
    topic: usize,
    weight: f64,
    /// Per token, what it is compared by: `exact` terms by the word (numbered
    /// among the exact phrases' words), others by the stem (an id in
    /// [`Tagger::stem_ids`]).
    ids: Vec<u32>,
    exact: bool,
}

/// Ranks proposals against a [`TopicSet`]. Build once, use for many
/// proposals; `Send + Sync`.
///
/// The vocabulary's stems and exact words are numbered when it is built, and a
/// proposal's words are looked up once each: matching then compares numbers, and
/// tokenising a proposal allocates nothing per word.
pub struct Tagger {
    set: TopicSet,
    stems: Stems,
    terms: Vec<CompiledTerm>,
    /// Every stem of a vocabulary phrase → its id.
    stem_ids: WordMap<u32>,
    /// The ids of every word whose stem is cached or that an exact phrase
    /// uses: one lookup per word of a proposal, the stemmer only for the rest.
    known: WordMap<Ids>,
    /// Stem id → the terms whose first token has that stem, longest phrases
    /// first.
    index: Vec<Vec<usize>>,
}

/// What a word is compared by: its stem's id and its own id, where the
/// vocabulary has them.
#[derive(Debug, Clone, Copy)]
struct Ids {
    stem: Option<u32>,
    word: Option<u32>,
}

/// One word of a proposal, as matching needs it: the ids of its stem and word
/// when the vocabulary has them (`None` never equals a term's id).
#[derive(Debug, Clone, Copy)]
struct Tok {
    stem: Option<u32>,
    word: Option<u32>,
    start: usize,
    end: usize,
    joined: bool,
}

/// The id of `key` in `ids`, numbering it when it is new.
fn intern(ids: &mut WordMap<u32>, key: &str) -> u32 {
    if let Some(&id) = ids.get(key) {
        return id;
    }
    let id = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    ids.insert(key.to_string(), id);
    id
}

impl fmt::Debug for Tagger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tagger")
            .field("set", &self.set.origin())
            .field("topics", &self.set.topics().len())
            .field("terms", &self.terms.len())
            .finish()
    }
}

/// One match of a term in one field.
#[derive(Debug, Clone, Copy)]
struct Match {
    term: usize,
    start: usize,
    len: usize,
}

/// One term's share of a topic's score, for ordering evidence.
#[derive(Debug, Clone, Copy)]
struct Evidence<'a> {
    contribution: f64,
    first_seen: (usize, usize),
    surface: &'a str,
}

/// Per-term accumulation for one proposal.
#[derive(Debug, Clone)]
struct TermHits {
    in_title: bool,
    body: f64,
    surface: String,
    /// Order of first appearance (field, token) for stable evidence order.
    first_seen: (usize, usize),
}

/// Whether `a` and `b` are equal once lower-cased (`str::to_lowercase`), without
/// allocating for ASCII text (where that is `eq_ignore_ascii_case`).
fn same_lowercase(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// A quoted word without its possessive ending: evidence reads "Admin", not
/// "Admin’s" (the stem matched either way).
fn without_possessive(surface: &str) -> &str {
    ["'s", "\u{2019}s", "'S", "\u{2019}S"]
        .iter()
        .find_map(|p| surface.strip_suffix(p))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(surface)
}

/// A topic's evidence as a chair reads it: what the speaker named, the
/// words of the proposal that suggested it, or why it is the fallback — in
/// plain words, never the tagger's markers. For example `declared:
/// database`, `select_related`, `ORM` reads `the speaker chose "database";
/// mentions select_related, ORM`. At most [`EXPLAINED_WORDS`] words are
/// listed, then how many more there are.
pub fn explain(evidence: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for e in evidence {
        if let Some(d) = e.strip_prefix(DECLARED_PREFIX) {
            parts.push(format!("the speaker chose \"{d}\""));
        } else if e == CHAIR_ADDED {
            parts.push(CHAIR_ADDED.to_string());
        } else if e == NOTHING_MATCHED {
            parts.push("no topic's words appear in it".to_string());
        } else if e == NOTHING_STRONG {
            parts.push("no topic's words appear often enough to file it elsewhere".to_string());
        } else {
            words.push(e);
        }
    }
    if !words.is_empty() {
        let more = words.len().saturating_sub(EXPLAINED_WORDS);
        let mut listed = words[..words.len() - more].join(", ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        // The words come before the fallback's reason, after a choice.
        let at = parts
            .iter()
            .position(|p| !p.starts_with("the speaker") && p != CHAIR_ADDED)
            .unwrap_or(parts.len());
        parts.insert(at, format!("mentions {listed}"));
    }
    if parts.is_empty() {
        return "no reason recorded".to_string();
    }
    parts.join("; ")
}

impl Tagger {
    /// Compiles every vocabulary phrase of `set` for matching.
    pub fn new(set: TopicSet) -> Tagger {
        let stems = Stems::cached(
            set.topics()
                .iter()
                .flat_map(|t| t.terms())
                .flat_map(|t| t.phrase().split(|c: char| !c.is_alphanumeric() && c != '_'))
                .filter(|w| {
                    !w.is_empty() && w.is_ascii() && !w.bytes().any(|b| b.is_ascii_uppercase())
                }),
        );
        let mut terms = Vec::new();
        let mut stem_ids = WordMap::default();
        let mut word_ids = WordMap::default();
        // Each term's first stem: the index is by stem, exact terms included.
        let mut firsts = Vec::new();
        for (ti, topic) in set.topics().iter().enumerate() {
            for term in topic.terms() {
                let tokens = text::tokenize(term.phrase(), &stems);
                let Some(first) = tokens.first() else {
                    continue; // rejected by validation; defensive only
                };
                firsts.push(intern(&mut stem_ids, &first.stem));
                let exact = term.is_exact();
                let ids = tokens
                    .iter()
                    .map(|t| match exact {
                        true => intern(&mut word_ids, &t.word),
                        false => intern(&mut stem_ids, &t.stem),
                    })
                    .collect();
                terms.push(CompiledTerm {
                    topic: ti,
                    weight: term.weight(),
                    ids,
                    exact,
                });
            }
        }
        let mut index: Vec<Vec<usize>> = vec![Vec::new(); stem_ids.len()];
        for (i, &first) in firsts.iter().enumerate() {
            index[first as usize].push(i);
        }
        for list in &mut index {
            list.sort_by_key(|&i| (std::cmp::Reverse(terms[i].ids.len()), i));
        }
        let mut known = WordMap::default();
        for word in stems
            .cached_words()
            .chain(word_ids.keys().map(String::as_str))
        {
            let ids = Ids {
                stem: stem_ids.get(stems.stem_ref(word).as_ref()).copied(),
                word: word_ids.get(word).copied(),
            };
            known.insert(word.to_string(), ids);
        }
        Tagger {
            set,
            stems,
            terms,
            stem_ids,
            known,
            index,
        }
    }

    /// The ids of a lower-cased word: what [`Tagger::known`] says, or else its
    /// stem's (it is no exact phrase's word, or `known` would have it).
    fn ids(&self, word: &str) -> Ids {
        if let Some(&ids) = self.known.get(word) {
            return ids;
        }
        Ids {
            stem: self
                .stem_ids
                .get(self.stems.stem_ref(word).as_ref())
                .copied(),
            word: None,
        }
    }

    /// The words of `field`, with the ids matching compares, into `out`.
    fn tokens_into(&self, field: &str, out: &mut Vec<Tok>) {
        out.clear();
        text::scan_words(field, None, |w| {
            let Ids { stem, word } = self.ids(w.word);
            out.push(Tok {
                stem,
                word,
                start: w.start,
                end: w.end,
                joined: w.joined,
            });
        });
    }

    /// The topic set this tagger ranks against.
    pub fn set(&self) -> &TopicSet {
        &self.set
    }

    fn term_matches_at(&self, term: &CompiledTerm, tokens: &[Tok], at: usize) -> bool {
        let Some(window) = tokens.get(at..at + term.ids.len()) else {
            return false;
        };
        if window.iter().skip(1).any(|t| !t.joined) {
            return false;
        }
        window.iter().zip(&term.ids).all(|(tok, &id)| {
            if term.exact {
                tok.word == Some(id)
            } else {
                tok.stem == Some(id)
            }
        })
    }

    /// All matches in one field, reduced per topic to non-overlapping ones,
    /// longest phrase first.
    fn field_matches(&self, tokens: &[Tok]) -> Vec<Match> {
        let mut found = Vec::new();
        for (at, tok) in tokens.iter().enumerate() {
            if let Some(list) = tok.stem.and_then(|id| self.index.get(id as usize)) {
                for &ti in list {
                    if self.term_matches_at(&self.terms[ti], tokens, at) {
                        found.push(Match {
                            term: ti,
                            start: at,
                            len: self.terms[ti].ids.len(),
                        });
                    }
                }
            }
        }
        // A phrase inside a longer phrase of any topic is not evidence on its
        // own: "machine learning" is not about "learning", "background jobs"
        // not about "jobs".
        let inside_longer = |m: &Match| {
            found
                .iter()
                .any(|o| o.len > m.len && o.start <= m.start && m.start + m.len <= o.start + o.len)
        };
        let mut found: Vec<Match> = found
            .iter()
            .filter(|m| !inside_longer(m))
            .copied()
            .collect();
        // Per topic, longest first, then leftmost: keep a match only if it
        // does not overlap one already kept for the same topic.
        found.sort_by_key(|m| {
            (
                self.terms[m.term].topic,
                std::cmp::Reverse(m.len),
                m.start,
                m.term,
            )
        });
        let mut kept: Vec<Match> = Vec::with_capacity(found.len());
        let mut topic_start = 0;
        for m in found {
            let topic = self.terms[m.term].topic;
            if kept
                .get(topic_start)
                .is_some_and(|k| self.terms[k.term].topic != topic)
            {
                topic_start = kept.len();
            }
            let overlaps = kept[topic_start..]
                .iter()
                .any(|k| m.start < k.start + k.len && k.start < m.start + m.len);
            if !overlaps {
                kept.push(m);
            }
        }
        kept
    }

    /// Scores every topic of the set for `input`: all topics, best first,
    /// ties in set order.
    pub fn rank(&self, input: &TagInput<'_>) -> Vec<TopicScore> {
        let topics = self.set.topics();
        let fields = [input.title, input.abstract_text, input.description];
        // Keyed by term index: summing in term order keeps scores bit-identical
        // from run to run.
        let mut hits: BTreeMap<usize, TermHits> = BTreeMap::new();
        let mut tokens = Vec::new();
        for (fi, field) in fields.iter().enumerate() {
            self.tokens_into(field, &mut tokens);
            for m in self.field_matches(&tokens) {
                let (Some(first), Some(last)) =
                    (tokens.get(m.start), tokens.get(m.start + m.len - 1))
                else {
                    continue;
                };
                let surface =
                    without_possessive(field.get(first.start..last.end).unwrap_or_default());
                let h = hits.entry(m.term).or_insert_with(|| TermHits {
                    in_title: false,
                    body: 0.0,
                    surface: surface.to_string(),
                    first_seen: (fi, m.start),
                });
                match fi {
                    0 => h.in_title = true,
                    1 => h.body += 1.0,
                    _ => h.body += DESCRIPTION_WEIGHT,
                }
            }
        }

        let mut evidence: Vec<Vec<Evidence<'_>>> = vec![Vec::new(); topics.len()];
        for (&ti, h) in &hits {
            let term = &self.terms[ti];
            let sat = h.body * (SATURATION_K + 1.0) / (h.body + SATURATION_K);
            let contribution = term.weight * (sat + if h.in_title { TITLE_BONUS } else { 0.0 });
            evidence[term.topic].push(Evidence {
                contribution,
                first_seen: h.first_seen,
                surface: &h.surface,
            });
        }
        let mut scores = vec![0.0f64; topics.len()];
        for (score, ev) in scores.iter_mut().zip(evidence.iter_mut()) {
            ev.sort_by(|a, b| {
                b.contribution
                    .total_cmp(&a.contribution)
                    .then(a.first_seen.cmp(&b.first_seen))
            });
            let mut factor = 1.0;
            for e in ev.iter() {
                *score += e.contribution * factor;
                factor *= BREADTH_DECAY;
            }
        }

        let mut declared_as: Vec<Option<&str>> = vec![None; topics.len()];
        for d in input.declared {
            if let Some(i) = self.set.match_declared_index(d) {
                if declared_as[i].is_none() {
                    declared_as[i] = Some(d.trim());
                }
            }
        }

        let any_match = !hits.is_empty();
        let fallback = self.set.fallback_index();
        let min_score = self.set.filing().min_score;
        let mut out: Vec<(usize, TopicScore)> = topics
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let ev = std::mem::take(&mut evidence[i]);
                let declared = usize::from(declared_as[i].is_some());
                let mut words: Vec<String> = Vec::with_capacity(ev.len() + declared);
                let mut score = scores[i];
                if let Some(d) = declared_as[i] {
                    score += DECLARED_BOOST;
                    words.push(format!("{DECLARED_PREFIX}{d}"));
                }
                // Evidence without case-insensitive duplicates.
                for (k, e) in ev.iter().enumerate() {
                    if !ev[..k].iter().any(|o| same_lowercase(o.surface, e.surface)) {
                        words.push(e.surface.to_string());
                    }
                }
                if Some(i) == fallback && score < min_score {
                    score = min_score;
                    words.push(
                        if any_match {
                            NOTHING_STRONG
                        } else {
                            NOTHING_MATCHED
                        }
                        .to_string(),
                    );
                }
                let score = (score * 1e6).round() / 1e6;
                (
                    i,
                    TopicScore {
                        id: t.id.clone(),
                        name: t.name.clone(),
                        score,
                        evidence: words,
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// The topics a proposal is filed under, best first, from its
    /// [`Tagger::rank`] output:
    ///
    /// * every declared topic (evidence starting with `declared: `), first:
    ///   what the speaker named is the primary topic, whatever the text's
    ///   words score (the per-topic rankings are by primary topic);
    /// * then, up to the set's `max_topics`, each other topic scoring at least
    ///   `min_score` and at least `relative_score` × the best such score —
    ///   the fallback too when its own vocabulary scored it and it comes
    ///   first (nothing declared, nothing stronger): a CMS talk is
    ///   "something else" in the default set because of what it names;
    /// * if that leaves nothing, the fallback topic (`something-else`), or,
    ///   in a set without one, the best-ranked topic.
    ///
    /// Never empty (for a non-empty ranking); every filed topic has evidence.
    pub fn file(&self, ranked: &[TopicScore]) -> Vec<TopicScore> {
        let filing = self.set.filing();
        let fallback = self.set.fallback();
        let is_fallback = |t: &TopicScore| fallback.is_some_and(|f| f.id == t.id);
        let is_declared = |t: &TopicScore| {
            t.evidence
                .first()
                .is_some_and(|e| e.starts_with(DECLARED_PREFIX))
        };
        // The fallback competes only on its own words: the floor score it
        // gets when nothing else fits is no evidence for it.
        let fallback_on_its_words = |t: &TopicScore| {
            !t.evidence
                .iter()
                .any(|e| e == NOTHING_MATCHED || e == NOTHING_STRONG)
        };
        let candidate = |t: &TopicScore| {
            !is_declared(t)
                && !t.evidence.is_empty()
                && (!is_fallback(t) || fallback_on_its_words(t))
        };
        let best = ranked
            .iter()
            .filter(|t| candidate(t))
            .map(|t| t.score)
            .fold(0.0f64, f64::max);
        let cutoff = filing.min_score.max(best * filing.relative_score);
        let declared = ranked.iter().filter(|t| is_declared(t)).count();
        let mut room = filing.max_topics.saturating_sub(declared);
        let mut out: Vec<TopicScore> = ranked.iter().filter(|t| is_declared(t)).cloned().collect();
        for t in ranked {
            // "Something else" beside a topic that fits would contradict it.
            let fallback_first = !is_fallback(t) || out.is_empty();
            if room > 0 && candidate(t) && t.score >= cutoff && fallback_first {
                room -= 1;
                out.push(t.clone());
            }
        }
        if !out.is_empty() {
            return out;
        }
        let reason = if ranked.iter().any(candidate) {
            NOTHING_STRONG
        } else {
            NOTHING_MATCHED
        };
        let chosen = match fallback {
            Some(f) => Some(
                ranked
                    .iter()
                    .find(|t| t.id == f.id)
                    .cloned()
                    .unwrap_or_else(|| TopicScore {
                        id: f.id.clone(),
                        name: f.name.clone(),
                        score: filing.min_score,
                        evidence: Vec::new(),
                    }),
            ),
            None => ranked.first().cloned(),
        };
        if let Some(mut t) = chosen {
            if t.evidence.is_empty() {
                t.evidence.push(if fallback.is_some() {
                    reason.to_string()
                } else {
                    format!("{reason}; this topic set has no fallback topic, so the best-ranked one is used")
                });
            }
            out.push(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tagger() -> Tagger {
        Tagger::new(TopicSet::default_set())
    }

    fn input<'a>(title: &'a str, abstract_text: &'a str, declared: &'a [String]) -> TagInput<'a> {
        TagInput {
            title,
            abstract_text,
            description: "",
            declared,
        }
    }

    fn ids(scores: &[TopicScore]) -> Vec<&str> {
        scores.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn tagger_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Tagger>();
        assert_send_sync::<TopicSet>();
    }

    #[test]
    fn ranking_covers_every_topic_once_best_first() {
        let t = tagger();
        let ranked = t.rank(&input(
            "Scaling Django with Celery and read replicas",
            "Caching, background tasks and PostgreSQL read replicas for thousands of users.",
            &[],
        ));
        let mut got = ids(&ranked);
        assert_eq!(got.len(), t.set().topics().len());
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), t.set().topics().len());
        assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(ranked[0].id, "performance-scaling");
        assert_eq!(ranked[1].id, "database");
        // Ties (here all zero-scored topics) keep the set's order.
        let order: Vec<usize> = ranked
            .iter()
            .filter(|s| s.score == 0.0)
            .map(|s| {
                t.set()
                    .topics()
                    .iter()
                    .position(|x| x.id == s.id)
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }

    #[test]
    fn ranking_is_deterministic() {
        let text = "Testing HTMX views with pytest and Playwright; deploying with Docker.";
        let a = tagger().rank(&input("Tests", text, &[]));
        let b = tagger().rank(&input("Tests", text, &[]));
        assert_eq!(a, b);
        let t = tagger();
        for _ in 0..5 {
            assert_eq!(t.rank(&input("Tests", text, &[])), a);
        }
    }

    #[test]
    fn evidence_quotes_the_text_deduplicated() {
        let t = tagger();
        let ranked = t.rank(&input(
            "Interactive pages with HTMX",
            "HTMX and Alpine.js, htmx again, and Tailwind CSS.",
            &[],
        ));
        let fe = ranked
            .iter()
            .find(|s| s.id == "frontend")
            .expect("frontend");
        assert_eq!(
            fe.evidence
                .iter()
                .filter(|e| e.eq_ignore_ascii_case("htmx"))
                .count(),
            1
        );
        assert!(
            fe.evidence.contains(&"HTMX".to_string()),
            "{:?}",
            fe.evidence
        );
        assert!(
            fe.evidence.contains(&"Alpine.js".to_string()),
            "{:?}",
            fe.evidence
        );
        assert!(
            fe.evidence.contains(&"Tailwind".to_string()),
            "{:?}",
            fe.evidence
        );
        assert_eq!(ranked[0].id, "frontend");
    }

    #[test]
    fn a_phrase_of_one_topic_is_not_evidence_for_its_words_elsewhere() {
        let t = tagger();
        let ranked = t.rank(&input("Machine learning with background jobs", "", &[]));
        let career = ranked.iter().find(|s| s.id == "career").expect("career");
        assert!(career.evidence.is_empty(), "{:?}", career.evidence);
        assert_eq!(career.score, 0.0);
    }

    #[test]
    fn phrases_do_not_cross_clause_breaks() {
        let t = tagger();
        let ranked = t.rank(&input(
            "",
            "We use Django, channels of communication matter.",
            &[],
        ));
        let ch = ranked
            .iter()
            .find(|s| s.id == "channels-websockets")
            .expect("channels");
        assert!(
            !ch.evidence.iter().any(|e| e.contains("Django")),
            "{:?}",
            ch.evidence
        );
    }

    #[test]
    fn the_title_counts_more_than_the_abstract() {
        let t = tagger();
        let in_title = t.rank(&input("Security", "A talk.", &[]));
        let in_abstract = t.rank(&input("A talk", "Security.", &[]));
        let score = |r: &[TopicScore]| r.iter().find(|s| s.id == "security").map(|s| s.score);
        assert!(score(&in_title) > score(&in_abstract));
    }

    #[test]
    fn nothing_matched_files_under_the_fallback() {
        let t = tagger();
        for (title, abs) in [("", ""), ("Lorem ipsum", "Dolor sit amet, consectetur.")] {
            let ranked = t.rank(&input(title, abs, &[]));
            assert_eq!(ranked[0].id, "something-else");
            let filed = t.file(&ranked);
            assert_eq!(ids(&filed), ["something-else"]);
            assert_eq!(filed[0].evidence, [NOTHING_MATCHED]);
        }
        // Some vocabulary, but too little to file under it.
        let ranked = t.rank(&input("", "It has a fun side.", &[]));
        let filed = t.file(&ranked);
        assert_eq!(ids(&filed), ["something-else"]);
        assert_eq!(filed[0].evidence, [NOTHING_STRONG]);
    }

    #[test]
    fn declared_topics_are_boosted_and_always_filed() {
        let t = tagger();
        let declared = vec![
            "htmx".to_string(),
            "Perf & scaling".to_string(),
            "bananas".to_string(),
        ];
        let ranked = t.rank(&input(
            "Our database story",
            "Indexes and query plans in PostgreSQL.",
            &declared,
        ));
        let filed = t.file(&ranked);
        let filed_ids = ids(&filed);
        assert!(filed_ids.contains(&"frontend"), "{filed_ids:?}");
        assert!(filed_ids.contains(&"performance-scaling"), "{filed_ids:?}");
        assert!(filed_ids.contains(&"database"), "{filed_ids:?}");
        let fe = filed.iter().find(|s| s.id == "frontend").expect("frontend");
        assert_eq!(fe.evidence[0], "declared: htmx");
        assert!(fe.score >= DECLARED_BOOST);
        let perf = filed
            .iter()
            .find(|s| s.id == "performance-scaling")
            .expect("perf");
        assert_eq!(perf.evidence[0], "declared: Perf & scaling");
        // The unmatched declaration changes nothing.
        assert!(!ranked
            .iter()
            .any(|s| s.evidence.iter().any(|e| e.contains("bananas"))));
    }

    #[test]
    fn a_declared_topic_is_primary_however_strong_the_text_is_elsewhere() {
        let t = tagger();
        // The text is all about the frontend; the speaker names architecture.
        let declared = vec!["architecture".to_string()];
        let filed = t.file(&t.rank(&input(
            "HTMX, Alpine.js and Tailwind: a frontend without a SPA",
            "htmx partials, hx-swap, Alpine.js state, Tailwind CSS, templates.",
            &declared,
        )));
        let filed_ids = ids(&filed);
        assert_eq!(
            filed[0].evidence[0], "declared: architecture",
            "{filed_ids:?}"
        );
        assert!(
            filed_ids.contains(&"frontend"),
            "the suggestion follows: {filed_ids:?}"
        );
    }

    #[test]
    fn declared_topics_are_filed_beyond_max_topics() {
        let t = tagger();
        let declared: Vec<String> = ["security", "database", "deployment", "career"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let filed = t.file(&t.rank(&input(
            "HTMX and Tailwind",
            "htmx, alpine.js, css",
            &declared,
        )));
        assert_eq!(filed.len(), 4, "{:?}", ids(&filed));
        assert!(filed
            .iter()
            .all(|s| s.evidence[0].starts_with(DECLARED_PREFIX)));
    }

    #[test]
    fn filed_topics_are_few_strong_and_have_evidence() {
        let t = tagger();
        let ranked = t.rank(&input(
            "Testing and deploying a secure Django API",
            "pytest, Docker, Kubernetes, CSRF, OAuth, Django REST Framework, PostgreSQL indexes, HTMX, Celery.",
            &[],
        ));
        let filed = t.file(&ranked);
        assert!(!filed.is_empty() && filed.len() <= t.set().filing().max_topics);
        let best = ranked[0].score;
        for f in &filed {
            assert!(!f.evidence.is_empty(), "{f:?}");
            assert!(f.score >= t.set().filing().min_score);
            assert!(f.score >= best * t.set().filing().relative_score);
        }
        assert_eq!(filed[0], ranked[0]);
    }

    #[test]
    fn a_set_without_fallback_files_the_best_topic_with_a_reason() {
        let set = TopicSet::from_toml_str(
            "[[topic]]\nid = \"a\"\nname = \"A\"\ndescription = \"a\"\nterms = [\"apple\"]\n\
             [[topic]]\nid = \"b\"\nname = \"B\"\ndescription = \"b\"\nterms = [\"banana\"]\n",
            Path::new("t.toml"),
        )
        .expect("valid");
        let t = Tagger::new(set);
        let filed = t.file(&t.rank(&input("Cherries", "", &[])));
        assert_eq!(ids(&filed), ["a"]);
        assert!(
            filed[0].evidence[0].starts_with(NOTHING_MATCHED),
            "{:?}",
            filed[0].evidence
        );
        let filed = t.file(&t.rank(&input("Bananas", "banana bread", &[])));
        assert_eq!(ids(&filed), ["b"]);
        assert_eq!(filed[0].evidence, ["Bananas"]);
    }

    #[test]
    fn file_of_an_empty_ranking_is_the_fallback() {
        let t = tagger();
        let filed = t.file(&[]);
        assert_eq!(ids(&filed), ["something-else"]);
        assert_eq!(filed[0].evidence, [NOTHING_MATCHED]);
    }

    #[test]
    fn each_default_topic_description_ranks_its_own_topic_first() {
        // The chair's own words for a topic, with or without its name as
        // the title, must find that topic: a check of the vocabulary that
        // uses no labelled talk.
        let t = tagger();
        for topic in t.set().topics() {
            for title in [topic.name.as_str(), ""] {
                let ranked = t.rank(&input(title, &topic.description, &[]));
                assert_eq!(
                    ranked[0].id,
                    topic.id,
                    "{title:?} / {:?}: {:?}",
                    topic.description,
                    &ids(&ranked)[..3]
                );
            }
        }
    }

    #[test]
    fn evidence_reads_as_plain_words_for_chairs() {
        let ev = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            explain(&ev(&["declared: database", "select_related", "ORM"])),
            "the speaker chose \"database\"; mentions select_related, ORM"
        );
        assert_eq!(
            explain(&ev(&["a", "b", "c", "d", "e", "f", "g", "h"])),
            "mentions a, b, c, d, e, f and 2 more"
        );
        assert_eq!(
            explain(&ev(&[NOTHING_MATCHED])),
            "no topic's words appear in it"
        );
        assert_eq!(
            explain(&ev(&["admin", NOTHING_STRONG])),
            "mentions admin; no topic's words appear often enough to file it elsewhere"
        );
        assert_eq!(explain(&ev(&[CHAIR_ADDED])), "added by the program chair");
        // Whatever the tagger found, no marker of its own shows.
        let t = tagger();
        let declared = vec!["databse".to_string()];
        for s in t.file(&t.rank(&input(
            "The Django Admin’s hidden gems",
            "select_related and the ORM’s prefetch_related, on PostgreSQL.",
            &declared,
        ))) {
            let text = explain(&s.evidence);
            assert!(!text.contains("declared:"), "{text}");
            assert!(!text.contains('’'), "possessive kept: {text}");
        }
    }

    #[test]
    fn a_subject_the_set_leaves_out_files_under_the_fallback_on_its_own_words() {
        let t = tagger();
        let filed = t.file(&t.rank(&input(
            "Multilingual sites with Wagtail",
            "Translations, i18n and the Wagtail CMS editing experience.",
            &[],
        )));
        assert_eq!(filed[0].id, "something-else", "{:?}", ids(&filed));
        assert!(
            filed[0].evidence.iter().any(|e| e == "Wagtail"),
            "{:?}",
            filed[0].evidence
        );
        // A real topic named strongly still wins over the fallback's words.
        let filed = t.file(&t.rank(&input(
            "Making a Wagtail site accessible",
            "Accessibility for screen readers, WCAG and keyboard navigation in the CMS.",
            &[],
        )));
        assert_eq!(filed[0].id, "ethics", "{:?}", ids(&filed));
        assert!(
            !ids(&filed).contains(&"something-else"),
            "{:?}",
            ids(&filed)
        );
        // Nor beside what the speaker named.
        let declared = vec!["frontend".to_string()];
        let filed = t.file(&t.rank(&input(
            "Multilingual sites with Wagtail",
            "Translations, i18n and the Wagtail CMS editing experience.",
            &declared,
        )));
        assert_eq!(ids(&filed), ["frontend"]);
    }

    #[test]
    fn many_incidental_words_do_not_outweigh_what_the_title_names() {
        let t = tagger();
        let ranked = t.rank(&input(
            "Forecasting wildfires for rural fire crews",
            "We deploy on AWS with Docker, Terraform, GitHub Actions, nginx and \
             gunicorn, and monitor the servers in production.",
            &[],
        ));
        assert_eq!(ranked[0].id, "unexpected-use-cases", "{:?}", ids(&ranked));
        assert_eq!(ranked[1].id, "deployment", "{:?}", ids(&ranked));
    }

    #[test]
    fn exact_terms_do_not_match_other_word_forms() {
        // "=accessibility" must not fire on "access".
        let t = tagger();
        let ranked = t.rank(&input(
            "",
            "Access the admin and check access control.",
            &[],
        ));
        let ethics = ranked.iter().find(|s| s.id == "ethics").expect("ethics");
        assert!(ethics.evidence.is_empty(), "{:?}", ethics.evidence);
        let ranked = t.rank(&input("", "Accessibility for screen readers.", &[]));
        assert_eq!(ranked[0].id, "ethics");
    }

    /// A word's ids, looked up in `known` or through the stemmer, are what
    /// comparing its stem and word as strings with every phrase's would give.
    #[test]
    fn word_ids_agree_with_comparing_stems_and_words() {
        let t = tagger();
        let phrases: Vec<Vec<text::Token>> = t
            .set
            .topics()
            .iter()
            .flat_map(|topic| topic.terms())
            .map(|term| text::tokenize(term.phrase(), &t.stems))
            .filter(|tokens| !tokens.is_empty())
            .collect();
        assert_eq!(phrases.len(), t.terms.len());
        let mut sample: String = t
            .set
            .topics()
            .iter()
            .map(|topic| format!("{} {}\n", topic.name, topic.description))
            .collect();
        sample.push_str("Ünïcode café’s A.I. U.S.A. django's it's tests testing Celery ACCESS");
        let words = text::tokenize(&sample, &t.stems);
        assert!(words.len() > 300, "{}", words.len());
        for w in &words {
            let ids = t.ids(&w.word);
            for (tokens, term) in phrases.iter().zip(&t.terms) {
                assert_eq!(tokens.len(), term.ids.len());
                for (tok, &id) in tokens.iter().zip(&term.ids) {
                    let (same_text, same_id) = match term.exact {
                        true => (w.word == tok.word, ids.word == Some(id)),
                        false => (w.stem == tok.stem, ids.stem == Some(id)),
                    };
                    assert_eq!(same_text, same_id, "{:?} vs {:?}", w.word, tok.word);
                }
            }
        }
    }
}
