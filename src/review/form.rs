//! Review form parsing: reads a reviewer's reply to an assignment mail.
//!
//! The reviewer fills in the form above the quoted text, or inline inside the quoted form:
//!
//! ```text
//! Score: 4
//! Confidence: 2
//! Comments for the speaker:
//!   ...
//! Comments for the committee:
//!   ...
//! ```
//!
//! Labels are case-insensitive and tolerate Markdown (`**Score:** 4`, `## Score`), `=` as a
//! separator, a parenthesised scale hint (`Score (1-5): 4`) and values such as `4/5`,
//! `4 out of 5` or `four`. Quoted lines (`> …`) are never answers, so the placeholders of the
//! quoted form (`> Score: (1-5)`) are ignored, but an answer typed unquoted right below a
//! quoted label (`> Score:` then `4`) counts for that label. The assignment mail should show
//! the scale as a placeholder (`Score: (1-5)`), never a sample value: a placeholder range equal
//! to the configured scale is recognised as "not filled in" even when it is not quoted.
//!
//! Text the reviewer typed outside any comments section (for example under a quoted part of
//! the proposal) is treated as a comment for the committee when it is more than a greeting;
//! nothing unlabelled ever goes to the speaker.
//!
//! Replies that are a command (`decline`, `conflict`, `withdraw`, `help`) instead of a review
//! are recognised by [`crate::mailtext::command::parse_command`].

use crate::mailtext::quote::{is_quote_line, strip_quote_prefix};
use crate::mailtext::trim::{inline_answers, Trimmed};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The scales of the review form (inclusive bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSpec {
    /// Lowest allowed score.
    pub score_min: i64,
    /// Highest allowed score.
    pub score_max: i64,
    /// Lowest allowed confidence (confidence itself is optional).
    pub confidence_min: i64,
    /// Highest allowed confidence.
    pub confidence_max: i64,
}

impl Default for FormSpec {
    /// Score 1–5, confidence 1–3.
    fn default() -> Self {
        FormSpec {
            score_min: 1,
            score_max: 5,
            confidence_min: 1,
            confidence_max: 3,
        }
    }
}

/// A successfully parsed review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewAnswer {
    /// The score, within `score_min..=score_max`.
    pub score: i64,
    /// The confidence, within `confidence_min..=confidence_max`, if given.
    pub confidence: Option<i64>,
    /// Comments for the speaker (may be empty). Sections found in several places are joined
    /// with a blank line.
    pub comments_speaker: String,
    /// Comments for the committee (may be empty), followed by any substantive unlabelled
    /// text the reviewer wrote.
    pub comments_committee: String,
}

/// Something wrong with a review reply. The `Display` text is written for the reviewer: it
/// says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormProblem {
    /// No score was found.
    #[error("{}", missing_score_message(*min, *max, quoted_line.as_deref()))]
    MissingScore {
        /// Lowest allowed score.
        min: i64,
        /// Highest allowed score.
        max: i64,
        /// A quoted line that looks like a filled-in score (typed inside the quote, where it
        /// is ignored), to point the reviewer at it.
        quoted_line: Option<String>,
    },
    /// A score outside the scale.
    #[error(
        "The score {found} is outside the scale, which goes from {min} to {max}. \
         Please reply with a line \"Score: N\" where N is a whole number from {min} to {max}."
    )]
    ScoreOutOfRange {
        /// The score found.
        found: i64,
        /// Lowest allowed score.
        min: i64,
        /// Highest allowed score.
        max: i64,
    },
    /// A score value that is not a whole number.
    #[error(
        "I could not read \"{found}\" as a score. Please write a whole number from {min} to \
         {max} on the score line, for example \"Score: {max}\"."
    )]
    ScoreNotANumber {
        /// The value as written.
        found: String,
        /// Lowest allowed score.
        min: i64,
        /// Highest allowed score.
        max: i64,
    },
    /// A score given on another scale (`8/10` when the scale is 1–5).
    #[error(
        "The score \"{found}\" uses a different scale; this review uses {min} to {max}. \
         Please reply with \"Score: N\" where N is a whole number from {min} to {max}."
    )]
    ScoreWrongScale {
        /// The value as written.
        found: String,
        /// Lowest allowed score.
        min: i64,
        /// Highest allowed score.
        max: i64,
    },
    /// Several different scores.
    #[error(
        "Your reply contains different scores ({}). Please reply with exactly one \
         \"Score:\" line.",
        list(found)
    )]
    ConflictingScores {
        /// The distinct scores, in order of appearance.
        found: Vec<i64>,
    },
    /// A confidence outside its scale.
    #[error(
        "The confidence {found} is outside the scale, which goes from {min} to {max}. \
         Please write \"Confidence: N\" with N from {min} to {max}, or leave the line out \
         (confidence is optional)."
    )]
    ConfidenceOutOfRange {
        /// The confidence found.
        found: i64,
        /// Lowest allowed confidence.
        min: i64,
        /// Highest allowed confidence.
        max: i64,
    },
    /// A confidence value that is not a whole number (or is on another scale).
    #[error(
        "I could not read \"{found}\" as a confidence. Please write a whole number from {min} \
         to {max}, for example \"Confidence: {max}\", or leave the line out (confidence is \
         optional)."
    )]
    ConfidenceNotANumber {
        /// The value as written.
        found: String,
        /// Lowest allowed confidence.
        min: i64,
        /// Highest allowed confidence.
        max: i64,
    },
    /// Several different confidences.
    #[error(
        "Your reply contains different confidence values ({}). Please give at most one \
         \"Confidence:\" line.",
        list(found)
    )]
    ConflictingConfidence {
        /// The distinct values, in order of appearance.
        found: Vec<i64>,
    },
}

fn list(values: &[i64]) -> String {
    let parts: Vec<String> = values.iter().map(i64::to_string).collect();
    match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

fn missing_score_message(min: i64, max: i64, quoted_line: Option<&str>) -> String {
    let mut msg = format!(
        "No score found in your reply. Please write a line like \"Score: {max}\" (a whole \
         number from {min} to {max}) above the quoted message and send it again."
    );
    if let Some(line) = quoted_line {
        let _ = write!(
            msg,
            " It looks like you typed it inside the quoted text (\"{}\"); lines starting \
             with \">\" are ignored, so put the score on a line of its own without \">\".",
            line.trim()
        );
    }
    msg
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Score,
    Confidence,
    Speaker,
    Committee,
}

enum Value {
    Empty,
    Placeholder,
    Number { n: i64, of: Option<i64> },
    Unreadable(String),
}

struct FormPatterns {
    label: Regex,
    number: Regex,
    range: Regex,
    sign_off: Regex,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this module; the unit tests compile every one of them.
    Regex::new(pattern).expect("built-in regular expression")
}

fn pats() -> &'static FormPatterns {
    static P: OnceLock<FormPatterns> = OnceLock::new();
    P.get_or_init(|| {
        let md = r"(?:\*\*|__|\*|_)?";
        let score = r"(?P<score>(?:(?:your|overall|final)\s+)?(?:score|rating))";
        let confidence = r"(?P<confidence>(?:(?:your|reviewer)\s+)?(?:confidence(?:\s+level)?|expertise))";
        let speaker = r"(?P<speaker>(?:comments?|feedback|notes?|remarks?)\s+(?:for|to)\s+(?:the\s+)?(?:speakers?|authors?|presenters?|submitters?)|(?:speaker|author|public)\s+(?:comments?|feedback)|for\s+(?:the\s+)?speakers?)";
        let committee = r"(?P<committee>(?:comments?|feedback|notes?|remarks?)\s+(?:for|to)\s+(?:the\s+)?(?:program\s+committee|committee|chairs?|pc|organi[sz]ers)|(?:committee|private|confidential)\s+(?:comments?|notes?|feedback)|for\s+(?:the\s+)?committee|comments?)";
        FormPatterns {
            label: re(&format!(
                r"(?i)^\s*(?:#{{1,6}}\s*)?(?:[-*+•]\s+)?{md}\s*(?:{score}|{confidence}|{speaker}|{committee})\b\s*(?:\([^)]{{0,40}}\))?\s*{md}\s*(?P<sep>[:：=]|[-–—](?:\s|$))?\s*{md}\s*(?P<rest>.*)$"
            )),
            number: re(r"(?i)^([+-]?\d{1,9})(?:[.,](\d+))?(?:\s*(?:/|out\s+of|of|von|sur|de|su|van|из)\s*(\d{1,9}))?"),
            range: re(r"(?i)^(-?\d{1,9})\s*(?:-|–|—|\.\.\.?|to|bis|à|a)\s*(-?\d{1,9})$"),
            sign_off: re(r"(?i)^(?:thanks|thank\s+you|many\s+thanks|thx|cheers|best|best\s+wishes|(?:best|kind|warm|warmest)\s+regards|regards|sincerely|yours|all\s+the\s+best|greetings|ciao|bye|gruß|grüße|viele\s+grüße|liebe\s+grüße|cordialement|bien\s+à\s+vous|saludos|un\s+saludo|abraços|atenciosamente|groeten|met\s+vriendelijke\s+groet|mvh|hälsningar|med\s+vänliga\s+hälsningar|с\s+уважением|спасибо|よろしくお願いします|谢谢)[\s,.!]*$"),
        }
    })
}

/// Parses a review reply.
///
/// `trimmed` is what the reviewer wrote (for example [`Trimmed::kept`]); it may contain
/// quoted form lines the reviewer answered inline. `quoted` is the removed part of the reply
/// ([`Trimmed::elided`]), searched only for answers typed *between* quoted lines or directly
/// under a quoted form label; pass `""` if there is none. Returns every problem found at
/// once, so a single reply to the reviewer can list them all.
pub fn parse_review(
    trimmed: &str,
    quoted: &str,
    spec: &FormSpec,
) -> Result<ReviewAnswer, Vec<FormProblem>> {
    let mut c = Collector::default();
    // A comments section interrupted by a quoted excerpt continues after it, unless the
    // quote ends with a form label of its own.
    let mut carry = None;
    for run in inline_answers(trimmed) {
        let field = run.label.as_deref().and_then(field_for_label);
        let field = field.or(if run.after_quote { carry } else { None });
        carry = c.parse_run(field, &run.text, spec);
    }
    let mut carry = None;
    for run in inline_answers(quoted) {
        let labelled = run.label.as_deref().and_then(field_for_label);
        if run.after_quote && (run.before_quote || labelled.is_some()) {
            carry = c.parse_run(labelled.or(carry), &run.text, spec);
        }
    }
    c.finish(spec, &[trimmed, quoted])
}

/// Parses the review in a trimmed reply: [`parse_review`] with `kept` and `elided`.
pub fn parse_trimmed_review(
    reply: &Trimmed,
    spec: &FormSpec,
) -> Result<ReviewAnswer, Vec<FormProblem>> {
    parse_review(&reply.kept, &reply.elided, spec)
}

fn field_for_label(label: &str) -> Option<Field> {
    let line = format!("{label}:");
    match label_line(&line) {
        Some((field, rest)) if rest.trim().is_empty() => Some(field),
        _ => None,
    }
}

/// Recognises a form label line; returns the field and the text after the label.
fn label_line(line: &str) -> Option<(Field, &str)> {
    let c = pats().label.captures(line)?;
    let field = if c.name("score").is_some() {
        Field::Score
    } else if c.name("confidence").is_some() {
        Field::Confidence
    } else if c.name("speaker").is_some() {
        Field::Speaker
    } else {
        Field::Committee
    };
    let rest = c.name("rest").map_or("", |m| m.as_str());
    let has_sep = c.name("sep").is_some();
    if !has_sep && !rest.trim().is_empty() {
        // "Score 4" is an answer; "Comments for the speaker are below" is a sentence.
        let numeric = matches!(field, Field::Score | Field::Confidence)
            && rest
                .trim_start()
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_digit() || matches!(ch, '+' | '-' | '−'));
        if !numeric {
            return None;
        }
    }
    Some((field, rest))
}

fn number_word(word: &str) -> Option<i64> {
    const WORDS: [&str; 11] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    WORDS.iter().position(|w| *w == word).map(|n| n as i64)
}

fn strip_markdown(s: &str) -> &str {
    s.trim()
        .trim_matches(|c: char| matches!(c, '*' | '_' | '`' | '~'))
        .trim()
}

/// Parses a score or confidence value. `min..=max` is the field's scale (a range equal to it
/// is the form's placeholder).
fn parse_value(raw: &str, min: i64, max: i64, words: bool) -> Value {
    let s = strip_markdown(raw).replace('−', "-");
    let s = s.trim_start_matches([':', '=', '：']).trim();
    if s.is_empty() {
        return Value::Empty;
    }
    let lower = s.to_lowercase();
    if !s.chars().any(|c| c.is_alphanumeric())
        || ["n/a", "na", "tbd", "tba", "none", "x", "xx"].contains(&lower.as_str())
    {
        return Value::Empty;
    }
    if let Some(first) = s
        .chars()
        .next()
        .filter(|c| matches!(c, '(' | '[' | '<' | '{'))
    {
        let close = match first {
            '(' => ')',
            '[' => ']',
            '<' => '>',
            _ => '}',
        };
        let inner_end = s.find(close).unwrap_or(s.len());
        let inner = s[first.len_utf8()..inner_end].trim();
        let after = s.get(inner_end + close.len_utf8()..).unwrap_or("").trim();
        if !after.is_empty() {
            // "(1-5) 4": the placeholder was left and the value written after it.
            return parse_value(after, min, max, words);
        }
        return match parse_value(inner, min, max, words) {
            v @ Value::Number { .. } => v,
            _ => Value::Placeholder,
        };
    }
    let p = pats();
    if let Some(c) = p.range.captures(s) {
        let lo = c.get(1).and_then(|m| m.as_str().parse::<i64>().ok());
        let hi = c.get(2).and_then(|m| m.as_str().parse::<i64>().ok());
        if lo == Some(min) && hi == Some(max) {
            return Value::Placeholder;
        }
        return Value::Unreadable(shorten(s));
    }
    if let Some(c) = p.number.captures(s) {
        let whole = c.get(0).map_or("", |m| m.as_str());
        let n = c.get(1).and_then(|m| m.as_str().parse::<i64>().ok());
        let fraction_zero = c
            .get(2)
            .is_none_or(|m| m.as_str().chars().all(|ch| ch == '0'));
        let of = c.get(3).and_then(|m| m.as_str().parse::<i64>().ok());
        let next = s[whole.len()..].chars().next();
        let glued = next.is_some_and(|ch| ch.is_alphanumeric() && !ch.is_ascii_alphabetic());
        return match n {
            Some(n) if fraction_zero && !glued => Value::Number { n, of },
            _ => Value::Unreadable(shorten(s)),
        };
    }
    let first_word: String = lower
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string();
    if let Some(n) = number_word(&first_word) {
        return Value::Number { n, of: None };
    }
    if words && max - min == 2 {
        match first_word.as_str() {
            "low" => return Value::Number { n: min, of: None },
            "medium" | "moderate" | "mid" => {
                return Value::Number {
                    n: min + 1,
                    of: None,
                }
            }
            "high" => return Value::Number { n: max, of: None },
            _ => {}
        }
    }
    Value::Unreadable(shorten(s))
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn is_placeholder_comment(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() || !t.chars().any(|c| c.is_alphanumeric()) {
        return true;
    }
    let lower = t.to_lowercase();
    if ["n/a", "tbd", "none", "nothing", "none."].contains(&lower.as_str()) {
        return true;
    }
    let bracketed = (t.starts_with('(') && t.ends_with(')'))
        || (t.starts_with('[') && t.ends_with(']'))
        || (t.starts_with('<') && t.ends_with('>'));
    bracketed
        && !t.contains('\n')
        && [
            "optional",
            "visible",
            "shared",
            "private",
            "write",
            "here",
            "speaker",
            "committee",
            "comment",
            "e.g.",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// A blank line or a decorative rule (`---`, `***`, `___`).
fn is_rule_or_blank(line: &str) -> bool {
    line.trim()
        .chars()
        .all(|c| matches!(c, '-' | '_' | '*' | '=' | '~' | '#' | '—' | '–'))
}

/// Removes a trailing sign-off ("Thanks,\nAda") so the reviewer's name never reaches the
/// speaker through the comments.
fn strip_sign_off(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let first_tail = lines.len().saturating_sub(3);
    for k in (first_tail..lines.len()).rev() {
        let line = strip_markdown(lines[k]);
        if pats().sign_off.is_match(line) {
            let tail_short = lines[k + 1..]
                .iter()
                .all(|l| l.split_whitespace().count() <= 4);
            if tail_short {
                return lines[..k].join("\n").trim_end().to_string();
            }
        }
    }
    text.to_string()
}

/// Removes common leading indentation and leading/trailing blank lines.
fn dedent(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(start), Some(end)) = (start, end) else {
        return String::new();
    };
    let body = &lines[start..=end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| {
            let cut = l.char_indices().nth(indent).map_or(l.len(), |(i, _)| i);
            let cut = if l[..cut].trim().is_empty() { cut } else { 0 };
            l[cut..].trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Default)]
struct Collector {
    scores: Vec<i64>,
    score_problems: Vec<FormProblem>,
    confidences: Vec<i64>,
    confidence_problems: Vec<FormProblem>,
    speaker: Vec<String>,
    committee: Vec<String>,
    unassigned: Vec<String>,
}

impl Collector {
    fn record(&mut self, field: Field, value: Value, raw: &str, spec: &FormSpec) {
        let (min, max) = match field {
            Field::Score => (spec.score_min, spec.score_max),
            _ => (spec.confidence_min, spec.confidence_max),
        };
        let problem = match value {
            Value::Empty | Value::Placeholder => return,
            Value::Number { n, of } => {
                if of.is_some_and(|of| of != max) {
                    let found = shorten(strip_markdown(raw));
                    Some(match field {
                        Field::Score => FormProblem::ScoreWrongScale { found, min, max },
                        _ => FormProblem::ConfidenceNotANumber { found, min, max },
                    })
                } else {
                    match field {
                        Field::Score => self.scores.push(n),
                        _ => self.confidences.push(n),
                    }
                    None
                }
            }
            Value::Unreadable(found) => Some(match field {
                Field::Score => FormProblem::ScoreNotANumber { found, min, max },
                _ => FormProblem::ConfidenceNotANumber { found, min, max },
            }),
        };
        if let Some(problem) = problem {
            let list = match field {
                Field::Score => &mut self.score_problems,
                _ => &mut self.confidence_problems,
            };
            if !list.contains(&problem) {
                list.push(problem);
            }
        }
    }

    fn flush(&mut self, field: Option<Field>, buf: &mut Vec<&str>) {
        while buf.last().is_some_and(|l| is_rule_or_blank(l)) {
            buf.pop();
        }
        while buf.first().is_some_and(|l| is_rule_or_blank(l)) {
            buf.remove(0);
        }
        let text = strip_sign_off(&dedent(buf));
        buf.clear();
        if is_placeholder_comment(&text) {
            return;
        }
        match field {
            Some(Field::Speaker) => self.speaker.push(text),
            Some(Field::Committee) => self.committee.push(text),
            _ => self.unassigned.push(text),
        }
    }

    /// Parses one run of typed lines; returns the comments field still open at its end.
    fn parse_run(&mut self, context: Option<Field>, text: &str, spec: &FormSpec) -> Option<Field> {
        let scale = |f: Field| match f {
            Field::Score => (spec.score_min, spec.score_max, false),
            _ => (spec.confidence_min, spec.confidence_max, true),
        };
        let mut field = context;
        let mut awaiting = matches!(context, Some(Field::Score | Field::Confidence));
        let mut buf: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some((f, rest)) = label_line(line) {
                self.flush(field, &mut buf);
                field = Some(f);
                awaiting = false;
                match f {
                    Field::Score | Field::Confidence => {
                        let (min, max, words) = scale(f);
                        match parse_value(rest, min, max, words) {
                            Value::Empty | Value::Placeholder => awaiting = true,
                            v => self.record(f, v, rest, spec),
                        }
                    }
                    Field::Speaker | Field::Committee => {
                        if !rest.trim().is_empty() {
                            buf.push(rest);
                        }
                    }
                }
                continue;
            }
            match field {
                Some(f @ (Field::Score | Field::Confidence)) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    if awaiting {
                        let (min, max, words) = scale(f);
                        let short = line.trim().chars().count() <= 24
                            && line.split_whitespace().count() <= 4;
                        match parse_value(line, min, max, words) {
                            Value::Empty | Value::Placeholder => continue,
                            v @ Value::Number { .. } => {
                                self.record(f, v, line, spec);
                                awaiting = false;
                                continue;
                            }
                            v @ Value::Unreadable(_) if short => {
                                self.record(f, v, line, spec);
                                awaiting = false;
                                continue;
                            }
                            Value::Unreadable(_) => {}
                        }
                    }
                    awaiting = false;
                    field = None;
                    buf.push(line);
                }
                _ => buf.push(line),
            }
        }
        self.flush(field, &mut buf);
        field.filter(|f| matches!(f, Field::Speaker | Field::Committee))
    }

    fn finish(mut self, spec: &FormSpec, texts: &[&str]) -> Result<ReviewAnswer, Vec<FormProblem>> {
        if self.scores.is_empty() && self.score_problems.is_empty() {
            if let Some(n) = self.bare_fraction(spec) {
                self.scores.push(n);
            }
        }
        let mut problems = Vec::new();
        let distinct = |values: &[i64]| {
            let mut out: Vec<i64> = Vec::new();
            for v in values {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
            out
        };
        let scores = distinct(&self.scores);
        for &s in &scores {
            if s < spec.score_min || s > spec.score_max {
                problems.push(FormProblem::ScoreOutOfRange {
                    found: s,
                    min: spec.score_min,
                    max: spec.score_max,
                });
            }
        }
        if scores.len() > 1 {
            problems.push(FormProblem::ConflictingScores {
                found: scores.clone(),
            });
        }
        if scores.is_empty() && self.score_problems.is_empty() {
            problems.push(FormProblem::MissingScore {
                min: spec.score_min,
                max: spec.score_max,
                quoted_line: quoted_score_line(texts, spec),
            });
        }
        problems.append(&mut self.score_problems);
        let confidences = distinct(&self.confidences);
        for &c in &confidences {
            if c < spec.confidence_min || c > spec.confidence_max {
                problems.push(FormProblem::ConfidenceOutOfRange {
                    found: c,
                    min: spec.confidence_min,
                    max: spec.confidence_max,
                });
            }
        }
        if confidences.len() > 1 {
            problems.push(FormProblem::ConflictingConfidence {
                found: confidences.clone(),
            });
        }
        problems.append(&mut self.confidence_problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        let substantive: Vec<String> = self
            .unassigned
            .iter()
            .flat_map(|t| t.split("\n\n"))
            .map(str::trim)
            .filter(|t| t.split_whitespace().count() >= 4)
            .map(str::to_string)
            .collect();
        let mut committee = self.committee;
        committee.extend(substantive);
        Ok(ReviewAnswer {
            score: scores[0],
            confidence: confidences.first().copied(),
            comments_speaker: self.speaker.join("\n\n"),
            comments_committee: committee.join("\n\n"),
        })
    }
}

impl Collector {
    /// A reply whose first line is only `N/MAX` (`4/5`, `4 / 5.`) with the
    /// form's own maximum: a score written without its label, as reviewers
    /// do. Any other fraction (`3/10` on a 1–5 form) stays unread: a missing
    /// score is asked for again rather than guessed.
    fn bare_fraction(&self, spec: &FormSpec) -> Option<i64> {
        let first = self
            .unassigned
            .iter()
            .flat_map(|t| t.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())?;
        let (n, max) = first.trim_end_matches('.').split_once('/')?;
        let (n, max) = (
            n.trim().parse::<i64>().ok()?,
            max.trim().parse::<i64>().ok()?,
        );
        (max == spec.score_max && (spec.score_min..=spec.score_max).contains(&n)).then_some(n)
    }
}

/// A quoted line that looks like a filled-in score (typed inside the quote by mistake).
fn quoted_score_line(texts: &[&str], spec: &FormSpec) -> Option<String> {
    for text in texts {
        for line in text.lines().filter(|l| is_quote_line(l)) {
            let content = strip_quote_prefix(line);
            if let Some((Field::Score, rest)) = label_line(content) {
                if matches!(
                    parse_value(rest, spec.score_min, spec.score_max, false),
                    Value::Number { .. }
                ) {
                    return Some(line.trim().to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtext::command::parse_command;
    use crate::mailtext::trim::{trim_html_reply, trim_reply};

    fn spec() -> FormSpec {
        FormSpec::default()
    }

    fn review_of_text(text: &str) -> Result<ReviewAnswer, Vec<FormProblem>> {
        parse_trimmed_review(&trim_reply(text), &spec())
    }

    #[test]
    fn a_bare_fraction_with_the_forms_maximum_is_the_score() {
        for (text, score) in [
            ("4/5\n\nClear outline, good examples for beginners.", 4),
            ("  5 / 5.\nLovely.", 5),
            ("1/5", 1),
        ] {
            let r = review_of_text(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
            assert_eq!(r.score, score, "{text:?}");
        }
        // Another scale, a fraction inside a sentence, or a labelled score elsewhere.
        for text in ["3/10", "6/5", "I'd say 4/5 overall", "0/5"] {
            assert!(review_of_text(text).is_err(), "{text:?}");
        }
        let r = review_of_text("4/5\nScore: 2\n").unwrap();
        assert_eq!(r.score, 2, "a labelled score wins");
    }

    fn review_of_html(html: &str) -> Result<ReviewAnswer, Vec<FormProblem>> {
        parse_trimmed_review(&trim_html_reply(html), &spec())
    }

    const FORM_QUOTED: &str = "> Please review proposal P-0042 by 1 May.
>
> Title: Making Django fast without caching everything
> Format: talk-25
> Abstract:
> Caching is not the only answer; this talk shows query shaping.
>
> Score: (1-5)
> Confidence: (1-3, optional)
> Comments for the speaker:
>
> Comments for the committee:
>
> --
> cfpd for DjangoCon US";

    #[test]
    fn gmail_plain_alternative() {
        let text = format!(
            "Score: 4\nConfidence: 2\n\nComments for the speaker:\nClear outline; consider trimming the intro.\n\nComments for the committee:\nStrong fit for the performance track.\n\nOn Tue, Jan 2, 2024 at 10:00 AM DjangoCon CFP <\ncfp+r-abc123@conf.example> wrote:\n\n{FORM_QUOTED}\n"
        );
        let r = review_of_text(&text).expect("valid review");
        assert_eq!(r.score, 4);
        assert_eq!(r.confidence, Some(2));
        assert_eq!(
            r.comments_speaker,
            "Clear outline; consider trimming the intro."
        );
        assert_eq!(
            r.comments_committee,
            "Strong fit for the performance track."
        );
    }

    #[test]
    fn gmail_html() {
        let html = r##"<div dir="ltr"><div>Score: 4</div><div>Confidence: 2</div><div><br></div><div>Comments for the speaker:</div><div>Clear outline; consider trimming the intro.</div><div><br></div><div>Comments for the committee:</div><div>Strong fit for the performance track.</div><br clear="all"><div><br></div><span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">Ada Lovelace<br>Analytical Engines Ltd</div></div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Tue, Jan 2, 2024 at 10:00&#8239;AM DjangoCon CFP &lt;<a href="mailto:cfp@conf.example">cfp@conf.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Please review proposal P-0042.<br><br>Title: Making Django fast<br>Score: (1-5)<br>Confidence: (1-3, optional)<br>Comments for the speaker:<br><br>Comments for the committee:<br></blockquote></div>"##;
        let t = trim_html_reply(html);
        assert!(!t.kept.contains("Ada Lovelace"), "{t:?}");
        assert!(!t.kept.contains("Title:"), "{t:?}");
        let r = review_of_html(html).expect("valid review");
        assert_eq!(r.score, 4);
        assert_eq!(r.confidence, Some(2));
        assert_eq!(
            r.comments_speaker,
            "Clear outline; consider trimming the intro."
        );
        assert_eq!(
            r.comments_committee,
            "Strong fit for the performance track."
        );
    }

    #[test]
    fn gmail_html_inline_answers() {
        let html = r##"<div dir="ltr">Answers inline.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, Jan 2, 2024 at 10:00 AM DjangoCon CFP &lt;cfp@conf.example&gt; wrote:<br></div><blockquote class="gmail_quote">Title: Making Django fast<br>Score: (1-5)<br></blockquote><div>5</div><blockquote class="gmail_quote">Confidence: (1-3, optional)<br></blockquote><div>3</div><blockquote class="gmail_quote">Comments for the speaker:<br></blockquote><div>Loved it.</div><div>Really.</div><blockquote class="gmail_quote">Comments for the committee:<br><br>--<br>cfpd</blockquote></div>"##;
        let r = review_of_html(html).expect("valid review");
        assert_eq!(r.score, 5);
        assert_eq!(r.confidence, Some(3));
        assert_eq!(r.comments_speaker, "Loved it.\nReally.");
        assert_eq!(r.comments_committee, "");
    }

    #[test]
    fn outlook_html_with_div_rply_fwd_msg() {
        let html = r##"<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">Score: 3</div><div class="elementToProof" style="font-family: Aptos; font-size: 12pt;">Comments for the speaker:</div><div class="elementToProof">Good topic, but the abstract is vague about what attendees will learn.</div><div><br></div><div class="elementToProof">Comments for the committee:</div><div class="elementToProof">Borderline; depends on the rest of the track.</div><div id="Signature"><div>Charles Babbage</div></div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> DjangoCon CFP &lt;cfp@conf.example&gt;<br><b>Sent:</b> Tuesday, January 2, 2024 10:00 AM<br><b>To:</b> Charles Babbage &lt;cb@example.org&gt;<br><b>Subject:</b> Review request P-0042</font><div>&nbsp;</div></div><div><p>Please review proposal P-0042.</p><p>Example: Score: 5</p><p>Score: 5<br>Confidence: (1-3)<br>Comments for the speaker:</p></div></body></html>"##;
        let t = trim_html_reply(html);
        assert!(!t.kept.contains("Charles"), "{t:?}");
        assert!(t.elided.contains("Review request P-0042"), "{t:?}");
        let r = review_of_html(html).expect("valid review");
        assert_eq!(r.score, 3);
        assert_eq!(r.confidence, None);
        assert_eq!(
            r.comments_speaker,
            "Good topic, but the abstract is vague about what attendees will learn."
        );
        assert_eq!(
            r.comments_committee,
            "Borderline; depends on the rest of the track."
        );
    }

    #[test]
    fn outlook_desktop_word_html() {
        let html = r##"<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><!--[if gte mso 9]><xml><o:OfficeDocumentSettings></o:OfficeDocumentSettings></xml><![endif]--></head><body lang="EN-US"><div class="WordSection1"><p class="MsoNormal">Score: 2<o:p></o:p></p><p class="MsoNormal">Confidence: 1<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Comments for the committee:<o:p></o:p></p><p class="MsoNormal">Too close to last year&#8217;s keynote.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p class="MsoNormal"><b>From:</b> DjangoCon CFP &lt;cfp@conf.example&gt; <br><b>Sent:</b> Tuesday, January 2, 2024 10:00 AM<br><b>To:</b> Ada &lt;ada@example.org&gt;<br><b>Subject:</b> Review P-0042<o:p></o:p></p></div><p class="MsoNormal">Score: (1-5)<o:p></o:p></p></div></body></html>"##;
        let r = review_of_html(html).expect("valid review");
        assert_eq!(r.score, 2);
        assert_eq!(r.confidence, Some(1));
        assert_eq!(r.comments_speaker, "");
        assert_eq!(r.comments_committee, "Too close to last year’s keynote.");
    }

    #[test]
    fn apple_mail_html_and_plain() {
        let html = r##"<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">Score: 5<div>Confidence: 3</div><div><br></div><div>Comments for the speaker:</div><div>Excellent — I&#8217;d attend this.</div><div><br></div><div>Comments for the committee:</div><div>Speaker gave a similar talk at PyCon; still worth it.</div><div><br id="lineBreakAtBeginningOfMessage"><div><br><blockquote type="cite"><div>On 2 Jan 2024, at 10:00, DjangoCon CFP &lt;cfp@conf.example&gt; wrote:</div><br class="Apple-interchange-newline"><div><div>Please review proposal P-0042.<br><br>Score: (1-5)<br>Confidence: (1-3)<br></div></div></blockquote></div><br></div></body></html>"##;
        let plain = "Score: 5\nConfidence: 3\n\nComments for the speaker:\nExcellent — I’d attend this.\n\nComments for the committee:\nSpeaker gave a similar talk at PyCon; still worth it.\n\n> On 2 Jan 2024, at 10:00, DjangoCon CFP <cfp@conf.example> wrote:\n> \n> Please review proposal P-0042.\n> \n> Score: (1-5)\n> Confidence: (1-3)\n\n";
        for r in [review_of_html(html), review_of_text(plain)] {
            let r = r.expect("valid review");
            assert_eq!(r.score, 5);
            assert_eq!(r.confidence, Some(3));
            assert_eq!(r.comments_speaker, "Excellent — I’d attend this.");
            assert_eq!(
                r.comments_committee,
                "Speaker gave a similar talk at PyCon; still worth it."
            );
        }
    }

    #[test]
    fn thunderbird_html_and_plain() {
        let html = r##"<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body><p>Score: 2<br>Confidence: 1</p><p>Comments for the speaker:<br>The outline needs more detail on the demo.</p><p>Comments for the committee:<br>Not convinced the speaker can fill 45 minutes.<br></p><div class="moz-signature">-- <br>Grace Hopper</div><div class="moz-cite-prefix">On 02/01/2024 10:00, DjangoCon CFP wrote:<br></div><blockquote type="cite" cite="mid:abc@conf.example">Please review proposal P-0042.<br>Score: (1-5)<br></blockquote><br></body></html>"##;
        let plain = "Score: 2\nConfidence: 1\n\nComments for the speaker:\nThe outline needs more detail on the demo.\n\nComments for the committee:\nNot convinced the speaker can fill 45 minutes.\n\n-- \nGrace Hopper\n\nOn 02/01/2024 10:00, DjangoCon CFP wrote:\n> Please review proposal P-0042.\n> Score: (1-5)\n";
        for r in [review_of_html(html), review_of_text(plain)] {
            let r = r.expect("valid review");
            assert_eq!(r.score, 2);
            assert_eq!(r.confidence, Some(1));
            assert_eq!(
                r.comments_speaker,
                "The outline needs more detail on the demo."
            );
            assert_eq!(
                r.comments_committee,
                "Not convinced the speaker can fill 45 minutes."
            );
        }
    }

    #[test]
    fn mutt_inline_answers_in_quoted_form() {
        let text = "* DjangoCon CFP <cfp@conf.example> [2024-01-02 10:00]:\n> Please review proposal P-0042.\n>\n> Title: Making Django fast without caching everything\n> Abstract:\n> Caching is not the only answer.\n>\n> Score: (1-5)\n4\n> Confidence: (1-3, optional)\n2\n> Comments for the speaker:\nNice scope. Maybe drop the ORM section.\n\n> Comments for the committee:\nWould pair well with the async talk.\n\n-- \nLinus\n";
        let r = review_of_text(text).expect("valid review");
        assert_eq!(r.score, 4);
        assert_eq!(r.confidence, Some(2));
        assert_eq!(
            r.comments_speaker,
            "Nice scope. Maybe drop the ORM section."
        );
        assert_eq!(r.comments_committee, "Would pair well with the async talk.");
    }

    #[test]
    fn inline_score_after_top_note_is_found_in_elided_part() {
        // The trimmer cuts everything after the attribution; the answer typed under the
        // quoted label is recovered from the elided part.
        let text = "Thanks, see inline.\n\nOn Tue, Jan 2, 2024 at 10:00 AM CFP <cfp@conf.example> wrote:\n> Score: (1-5)\n\n4\n";
        let t = trim_reply(text);
        assert_eq!(t.kept, "Thanks, see inline.");
        let r = parse_trimmed_review(&t, &spec()).expect("valid review");
        assert_eq!(r.score, 4);
    }

    #[test]
    fn bottom_posted_answer_keeps_its_quoted_label() {
        let text = "On Tue, Jan 2, 2024 at 10:00 AM CFP <cfp@conf.example> wrote:\n> Comments for the speaker:\n>\n> Score: (1-5)\n\n3\n";
        let r = review_of_text(text).expect("valid review");
        assert_eq!(r.score, 3);
    }

    #[test]
    fn unquoted_score_between_quoted_lines() {
        let text = "> Title: Fast Django\nScore: 4\n> Abstract:\n> Text\nComments for the speaker: Good.\n> Score: (1-5)\n";
        let r = review_of_text(text).expect("valid review");
        assert_eq!(r.score, 4);
        assert_eq!(r.comments_speaker, "Good.");
    }

    #[test]
    fn comments_continue_after_a_quoted_excerpt() {
        let text = "Score: 2\nComments for the speaker:\nSome general remarks.\n> We show that X is always faster.\nX is not shown by the benchmark.\n\nComments for the committee:\nWeak.\n";
        let r = parse_review(text, "", &spec()).expect("valid");
        assert_eq!(
            r.comments_speaker,
            "Some general remarks.\n\nX is not shown by the benchmark."
        );
        assert_eq!(r.comments_committee, "Weak.");
    }

    #[test]
    fn html_only_webmail_with_markdown_labels_and_non_ascii() {
        let html = "<html><body><p><b>Score:</b> 4 out of 5</p><p>**Confidence:** 2</p><h2>Comments for the speaker</h2><p>Tr&egrave;s bon sujet &mdash; j&rsquo;adore. 很好！ Отлично.</p><ul><li>Plus de d&eacute;mos</li><li>Moins de slides</li></ul><h2>Comments for the committee</h2><p>Rien &agrave; signaler.</p><blockquote type=\"cite\">Le 2 janv. 2024 &agrave; 10:00, DjangoCon CFP &lt;cfp@conf.example&gt; a &eacute;crit :<br>Score: (1-5)</blockquote></body></html>";
        let r = review_of_html(html).expect("valid review");
        assert_eq!(r.score, 4);
        assert_eq!(r.confidence, Some(2));
        assert_eq!(
            r.comments_speaker,
            "Très bon sujet — j’adore. 很好！ Отлично.\n\n- Plus de démos\n- Moins de slides"
        );
        assert_eq!(r.comments_committee, "Rien à signaler.");
    }

    #[test]
    fn label_variants() {
        for (text, score) in [
            ("**Score:** 4", 4),
            ("**Score**: 4", 4),
            ("## Score\n\n4", 4),
            ("Score = 4", 4),
            ("score 4/5", 4),
            ("SCORE: 4 out of 5", 4),
            ("Score (1-5): 2", 2),
            ("Score: (1-5) 3", 3),
            ("Score: four", 4),
            ("- Score: 5 (strong accept)", 5),
            ("Overall score: 1", 1),
            ("Score: 4.0", 4),
            ("Score:\n\n3\n", 3),
        ] {
            let r = parse_review(text, "", &spec()).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(r.score, score, "{text}");
        }
        let r = parse_review("Score: 3\nConfidence: high", "", &spec()).expect("valid");
        assert_eq!(r.confidence, Some(3));
    }

    #[test]
    fn quoted_example_values_are_ignored() {
        let text = "Comments for the speaker:\nNice.\n\nOn Tue, Jan 2, 2024 at 10:00 AM CFP <cfp@conf.example> wrote:\n> Score: 5\n> Confidence: 3\n";
        let err = review_of_text(text).expect_err("no score of the reviewer's own");
        assert!(
            matches!(&err[..], [FormProblem::MissingScore { quoted_line: Some(l), .. }] if l == "> Score: 5"),
            "{err:?}"
        );
        let msg = err[0].to_string();
        assert!(
            msg.contains("Score: 5") && msg.contains("from 1 to 5"),
            "{msg}"
        );
        // An unquoted copy of the form with the placeholder left in place is not an answer.
        let err = parse_review(
            "Score: (1-5)\nScore: 1-5\nComments for the speaker:\n(visible to the speaker)",
            "",
            &spec(),
        )
        .expect_err("placeholder only");
        assert!(
            matches!(
                &err[..],
                [FormProblem::MissingScore {
                    quoted_line: None,
                    ..
                }]
            ),
            "{err:?}"
        );
    }

    #[test]
    fn conflicting_scores() {
        let err = parse_review("Score: 4\nScore: 2\n", "", &spec()).expect_err("conflict");
        assert_eq!(
            err,
            vec![FormProblem::ConflictingScores { found: vec![4, 2] }]
        );
        assert!(err[0].to_string().contains("4 and 2"));
        // The same score twice (top and inline) is fine.
        let text = "Score: 4\n\nOn Tue, Jan 2, 2024 at 10:00 AM CFP <cfp@conf.example> wrote:\n> Score: (1-5)\n4\n> Comments for the speaker:\n";
        assert_eq!(review_of_text(text).expect("same score").score, 4);
    }

    #[test]
    fn out_of_range_wrong_scale_and_unreadable() {
        let err = parse_review("Score: 7", "", &spec()).expect_err("out of range");
        assert_eq!(
            err,
            vec![FormProblem::ScoreOutOfRange {
                found: 7,
                min: 1,
                max: 5
            }]
        );
        assert!(err[0].to_string().contains("from 1 to 5"));
        let err = parse_review("Score: 8/10", "", &spec()).expect_err("scale");
        assert!(
            matches!(&err[..], [FormProblem::ScoreWrongScale { .. }]),
            "{err:?}"
        );
        let err = parse_review("Score: 3.5", "", &spec()).expect_err("fraction");
        assert!(matches!(&err[..], [FormProblem::ScoreNotANumber { found, .. }] if found == "3.5"));
        let err = parse_review("Score: 4\nConfidence: 9", "", &spec()).expect_err("conf");
        assert_eq!(
            err,
            vec![FormProblem::ConfidenceOutOfRange {
                found: 9,
                min: 1,
                max: 3
            }]
        );
        let custom = FormSpec {
            score_min: -3,
            score_max: 3,
            confidence_min: 0,
            confidence_max: 4,
        };
        let r = parse_review("Score: -2\nConfidence: 0", "", &custom).expect("negative scale");
        assert_eq!((r.score, r.confidence), (-2, Some(0)));
    }

    #[test]
    fn missing_score() {
        let err = parse_review("Comments for the speaker:\nLooks fine.", "", &spec())
            .expect_err("missing");
        assert_eq!(
            err,
            vec![FormProblem::MissingScore {
                min: 1,
                max: 5,
                quoted_line: None
            }]
        );
        assert!(err[0].to_string().contains("Score: 5"));
        assert!(parse_review("", "", &spec()).is_err());
    }

    #[test]
    fn unlabelled_text_goes_to_the_committee_only() {
        let r = parse_review(
            "Hi,\n\nScore: 4\nI think the speaker oversells the benchmark.\n\nThanks!",
            "",
            &spec(),
        )
        .expect("valid");
        assert_eq!(r.comments_speaker, "");
        assert_eq!(
            r.comments_committee,
            "I think the speaker oversells the benchmark."
        );
        let r = parse_review(
            "Score: 4\nComments for the speaker:\nGreat talk, thanks for submitting!\n\nCheers,\nAda Lovelace",
            "",
            &spec(),
        )
        .expect("valid");
        assert_eq!(r.comments_speaker, "Great talk, thanks for submitting!");
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut next = crate::mailtext::xorshift(0xDEAD_BEEF_CAFE_F00D);
        let pieces = [
            "Score:",
            "score",
            " 4",
            "/5",
            " out of ",
            "(1-5)",
            "\n",
            "> ",
            ">",
            "Confidence: ",
            "Comments for the speaker:",
            "Comments for the committee:",
            "**",
            "## ",
            "-",
            "−",
            "9999999999999999999",
            "é",
            "漢",
            "decline",
            "conflict",
            "\r\n",
            " ",
            "=",
            "On 2 Jan 2024, X <x@y.z> wrote:",
            "-- ",
            "(",
            ")",
            "[",
            "<",
            "four",
            "3.5",
        ];
        for _ in 0..600 {
            let n = (next() % 40) as usize;
            let text: String = (0..n)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let lo = (next() % 7) as i64 - 3;
            let spec = FormSpec {
                score_min: lo,
                score_max: lo + (next() % 10) as i64 - 2,
                confidence_min: 1,
                confidence_max: 3,
            };
            let _ = parse_review(&text, &text, &spec);
            let _ = parse_command(&text);
            let t = trim_reply(&text);
            let _ = parse_trimmed_review(&t, &spec);
            if let Err(problems) = parse_review(&text, "", &spec) {
                for p in problems {
                    assert!(!p.to_string().is_empty());
                }
            }
        }
        let bytes: Vec<u8> = (0..4000).map(|_| (next() & 0xff) as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_review(&s, &s, &spec());
        let _ = parse_command(&s);
    }
}
