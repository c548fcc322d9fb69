//! Text normalisation shared by the topic set (declared-topic matching) and
//! the tagger (vocabulary matching): tokenising, stemming, compact keys and
//! edit distance.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rust_stemmers::{Algorithm, Stemmer};

/// A map keyed by words or stems that a proposal's words are looked up in, once
/// per word. The keys are fixed when the tagger is built (the vocabulary, common
/// words), so a text can only probe them, never grow them: the standard library's
/// flood-resistant SipHash buys nothing here and cost a large share of tagging.
pub(crate) type WordMap<V> = HashMap<String, V, BuildHasherDefault<WordHasher>>;

/// The Fx hash (Firefox's, rustc's): a rotate, xor and multiply per eight bytes.
/// Only for [`WordMap`]: lookups of fixed keys, where the order of entries is
/// never read.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One word of a text: its lower-cased form, its English (Porter2) stem and
/// its byte range in the original text (for quoting evidence as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Lower-cased word, typographic apostrophes folded to `'`.
    pub word: String,
    /// Porter2 stem of `word`.
    pub stem: String,
    /// Byte offset of the first character in the source text.
    pub start: usize,
    /// Byte offset just past the last character in the source text.
    pub end: usize,
    /// Whether a phrase may run from the previous token into this one: false
    /// after a sentence or clause break (`,` `;` `:` `!` `?` brackets,
    /// quotes, a line break, or `.` followed by a space), so "Django,
    /// Channels" is not the phrase "django channels" but "Alpine.js" is
    /// "alpine js".
    pub joined: bool,
}

/// Common English words, stemmed once up front: they make up about half of
/// any text, and stemming is the tagger's main cost.
const COMMON_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "you",
    "your",
    "with",
    "that",
    "this",
    "how",
    "are",
    "was",
    "will",
    "can",
    "our",
    "from",
    "have",
    "has",
    "not",
    "but",
    "all",
    "what",
    "about",
    "when",
    "which",
    "more",
    "they",
    "their",
    "there",
    "these",
    "those",
    "them",
    "then",
    "than",
    "some",
    "into",
    "also",
    "just",
    "like",
    "use",
    "using",
    "used",
    "make",
    "making",
    "one",
    "two",
    "new",
    "way",
    "ways",
    "get",
    "getting",
    "its",
    "it's",
    "we'll",
    "you'll",
    "we're",
    "you're",
    "don't",
    "can't",
    "talk",
    "django",
    "python",
    "app",
    "apps",
    "web",
    "project",
    "projects",
    "code",
    "work",
    "working",
    "build",
    "building",
    "other",
    "many",
    "most",
    "much",
    "any",
    "each",
    "well",
    "here",
    "where",
    "why",
    "who",
    "been",
    "being",
    "were",
    "would",
    "could",
    "should",
    "may",
    "might",
    "over",
    "out",
    "only",
    "such",
    "even",
    "both",
    "through",
    "after",
    "before",
    "while",
    "because",
    "without",
    "within",
    "between",
    "under",
    "about",
    "some",
    "very",
    "own",
    "same",
    "time",
    "data",
    "users",
    "user",
    "developers",
    "developer",
    "help",
    "learn",
    "look",
    "take",
    "see",
    "want",
    "need",
    "know",
    "let",
    "lets",
    "let's",
    "first",
    "also",
    "does",
    "did",
    "done",
];

/// Porter2 stemming with a cache of precomputed stems.
pub(crate) struct Stems {
    stemmer: Stemmer,
    cache: WordMap<String>,
}

impl Stems {
    /// A stemmer without cache.
    pub(crate) fn plain() -> Stems {
        Stems {
            stemmer: Stemmer::create(Algorithm::English),
            cache: WordMap::default(),
        }
    }

    /// A stemmer that precomputes the stems of [`COMMON_WORDS`] and of
    /// `extra` words (lower-cased).
    pub(crate) fn cached<'a>(extra: impl IntoIterator<Item = &'a str>) -> Stems {
        let mut stems = Stems::plain();
        for w in COMMON_WORDS.iter().copied().chain(extra) {
            if !stems.cache.contains_key(w) {
                let stem = stems.compute(w);
                stems.cache.insert(w.to_string(), stem);
            }
        }
        stems
    }

    fn compute(&self, word: &str) -> String {
        // Porter2 leaves words of one or two letters as they are.
        if word.chars().nth(2).is_none() {
            return word.to_string();
        }
        self.stemmer.stem(word).into_owned()
    }

    /// The words whose stems are cached.
    pub(crate) fn cached_words(&self) -> impl Iterator<Item = &str> {
        self.cache.keys().map(String::as_str)
    }

    /// The stem of a lower-cased word.
    pub(crate) fn stem(&self, word: &str) -> String {
        self.stem_ref(word).into_owned()
    }

    /// The stem of a lower-cased word, borrowed when it is cached or the word
    /// itself (what [`Stems::stem`] returns, without copying it).
    pub(crate) fn stem_ref<'a>(&'a self, word: &'a str) -> Cow<'a, str> {
        if let Some(s) = self.cache.get(word) {
            return Cow::Borrowed(s);
        }
        // Porter2 leaves words of one or two letters as they are.
        if word.chars().nth(2).is_none() {
            return Cow::Borrowed(word);
        }
        self.stemmer.stem(word)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Splits `text` into word tokens, appending them to `out`.
///
/// A word is a run of alphanumeric characters and underscores (so Python
/// identifiers such as `select_related` stay whole); an apostrophe between
/// two alphanumerics stays inside the word ("django's", "what's"); every
/// other character separates words, so "Alpine.js" is `alpine` `js` and
/// "CI/CD" is `ci` `cd`. Vocabulary phrases are tokenised the same way, which
/// is what makes "alpine.js" match both "Alpine.js" and "alpine js".
///
/// Dotted initialisms are one word: "A.I." is `ai` and "U.S." is `us`, as
/// the writer meant, not two stray letters.
pub(crate) fn tokenize_into(text: &str, stems: &Stems, out: &mut Vec<Token>) {
    let after = out.last().map(|t| t.end);
    scan_words(text, after, |w| {
        out.push(Token {
            word: w.word.to_string(),
            stem: stems.stem(w.word),
            start: w.start,
            end: w.end,
            joined: w.joined,
        })
    });
}

/// One word of a text as [`scan_words`] finds it: a [`Token`] without its stem,
/// the lower-cased word borrowed from a buffer the scanner reuses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word<'w> {
    /// Lower-cased word, typographic apostrophes folded to `'`.
    pub word: &'w str,
    /// Byte offset of the first character in the source text.
    pub start: usize,
    /// Byte offset just past the last character in the source text.
    pub end: usize,
    /// See [`Token::joined`].
    pub joined: bool,
}

/// The words of `text` in order (see [`tokenize_into`] for what a word is),
/// handed to `each` without allocating one string per word. `after` is where
/// the previous word ended, if `text` continues a token list.
pub(crate) fn scan_words(text: &str, after: Option<usize>, mut each: impl FnMut(Word<'_>)) {
    let mut buf = String::new();
    let mut prev_end = after;
    let mut emit = |start: usize, end: usize, word: &str| {
        let joined = prev_end
            .and_then(|p| text.get(p..start))
            .is_some_and(|gap| !breaks_phrase(gap));
        prev_end = Some(end);
        each(Word {
            word,
            start,
            end,
            joined,
        });
    };
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if start.is_none() {
            if let Some(end) = dotted_initialism(text, i) {
                buf.clear();
                buf.extend(
                    text[i..end]
                        .chars()
                        .filter(|c| c.is_alphabetic())
                        .flat_map(char::to_lowercase),
                );
                emit(i, end, &buf);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
                continue;
            }
        }
        let inner_apostrophe = is_apostrophe(c)
            && start.is_some()
            && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric());
        if is_word_char(c) || inner_apostrophe {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            lower_into(&text[s..i], &mut buf);
            emit(s, i, &buf);
        }
    }
    if let Some(s) = start {
        lower_into(&text[s..], &mut buf);
        emit(s, text.len(), &buf);
    }
}

/// The end (past the last dot) of a dotted initialism such as "A.I." or
/// "U.S.A." starting at byte `at`: single letters each followed by a dot,
/// at least two of them, not inside a longer word.
fn dotted_initialism(text: &str, at: usize) -> Option<usize> {
    if text[..at].chars().next_back().is_some_and(is_word_char) {
        return None;
    }
    let mut letters = 0;
    let mut chars = text[at..].char_indices().peekable();
    let mut end = at;
    while let Some((_, c)) = chars.next() {
        if !c.is_alphabetic() {
            break;
        }
        match chars.next() {
            Some((j, '.')) => {
                letters += 1;
                end = at + j + 1;
            }
            _ => break,
        }
        if !chars.peek().is_some_and(|&(_, n)| n.is_alphabetic()) {
            break;
        }
    }
    let followed_by_word = text[end..].chars().next().is_some_and(is_word_char);
    (letters >= 2 && !followed_by_word).then_some(end)
}

/// Whether the characters between two words break a phrase.
fn breaks_phrase(gap: &str) -> bool {
    gap.chars().any(|c| {
        matches!(
            c,
            ',' | ';'
                | ':'
                | '!'
                | '?'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '"'
                | '\u{201c}'
                | '\u{201d}'
                | '\n'
                | '|'
                | '\u{2022}'
        )
    }) || (gap.contains('.') && gap.chars().any(char::is_whitespace))
}

/// `raw` lower-cased into `out`, typographic apostrophes folded to `'`.
fn lower_into(raw: &str, out: &mut String) {
    out.clear();
    if raw.is_ascii() {
        out.push_str(raw);
        out.make_ascii_lowercase();
    } else {
        for c in raw.chars() {
            if c == '\u{2019}' {
                out.push('\'');
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
}

/// Tokenises `text` into a fresh vector (see [`tokenize_into`]).
pub(crate) fn tokenize(text: &str, stems: &Stems) -> Vec<Token> {
    let mut out = Vec::new();
    tokenize_into(text, stems, &mut out);
    out
}

/// Filler words ignored when comparing a declared topic with topic names.
const NAME_STOPWORDS: &[&str] = &["and", "the", "of", "in", "for", "a", "an", "with", "on"];

/// Lower-cased words of `text` without filler words: "Perf & scaling" gives
/// `["perf", "scaling"]`.
pub(crate) fn name_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !NAME_STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The compact form of a name: its [`name_words`] joined with nothing, so
/// "Web Sockets", "web-sockets" and "websockets" all give `websockets`.
pub(crate) fn compact(text: &str) -> String {
    name_words(text).concat()
}

/// Optimal-string-alignment edit distance (insertions, deletions,
/// substitutions and adjacent transpositions), on characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// How many edits a compact name of this many characters may be off by and
/// still count as a near miss of it: none up to 4 characters (so "gil" never
/// matches "git"), one up to 7, two from 8.
pub(crate) fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text, &Stems::plain())
            .into_iter()
            .map(|t| t.word)
            .collect()
    }

    #[test]
    fn tokenizer_splits_on_punctuation_and_keeps_inner_apostrophes() {
        assert_eq!(words("Alpine.js + HTMX"), ["alpine", "js", "htmx"]);
        assert_eq!(
            words("Django’s ORM, CI/CD"),
            ["django's", "orm", "ci", "cd"]
        );
        assert_eq!(words("'quoted' PEP-703"), ["quoted", "pep", "703"]);
        assert_eq!(words("qs.select_related()"), ["qs", "select_related"]);
        assert!(words("").is_empty());
        assert_eq!(
            words("Don't buy the \"A.I.\" hype"),
            ["don't", "buy", "the", "ai", "hype"]
        );
        assert_eq!(
            words("U.S.A. e.g. a.b.c2 x.y"),
            ["usa", "eg", "a", "b", "c2", "x", "y"]
        );
    }

    #[test]
    fn tokens_keep_their_source_spans() {
        let text = "Ünïcode café’s htmx";
        for t in tokenize(text, &Stems::plain()) {
            assert_eq!(
                text[t.start..t.end].to_lowercase().replace('’', "'"),
                t.word
            );
        }
    }

    #[test]
    fn clause_breaks_end_phrases() {
        let joined: Vec<bool> = tokenize("Alpine.js, Django. Channels (x) y/z", &Stems::plain())
            .into_iter()
            .map(|t| t.joined)
            .collect();
        // alpine js | django | channels | x | y z
        assert_eq!(joined, [false, true, false, false, false, false, true]);
    }

    #[test]
    fn stems_conflate_inflections() {
        let s = Stems::plain();
        let stems: Vec<String> = tokenize("testing tests tested deployments deploying", &s)
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, ["test", "test", "test", "deploy", "deploy"]);
    }

    #[test]
    fn cached_stems_equal_computed_stems() {
        let plain = Stems::plain();
        let cached = Stems::cached(["deployments", "testing"]);
        for w in COMMON_WORDS
            .iter()
            .chain(&["deployments", "testing", "ai", "x"])
        {
            assert_eq!(cached.stem(w), plain.stemmer.stem(w), "{w}");
        }
    }

    #[test]
    fn compact_and_edit_distance() {
        assert_eq!(compact("Perf & scaling"), "perfscaling");
        assert_eq!(compact("Web Sockets"), "websockets");
        assert_eq!(edit_distance("databse", "database"), 1);
        assert_eq!(edit_distance("secuirty", "security"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(typo_budget(3), 0);
    }
}
