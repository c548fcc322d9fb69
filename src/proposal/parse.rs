//! The proposal format parser.
//!
//! Forgiving by design: labels in any order and case, with or without a
//! colon, as Markdown headings (`## Abstract`) or bold (`**Title:**`), values
//! on the label's line or on the lines below, until the next label. Text
//! before the first label (greetings) and after a signature delimiter is
//! ignored. Choice fields (format, audience) are normalised against the
//! configured values: "25 minute talk" becomes `talk-25`.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::Fields;
use super::ProposalRules;

/// The result of parsing a body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The fields found.
    pub fields: Fields,
    /// How many labelled fields were found (0 means "this is not a proposal").
    pub labels_found: usize,
}

/// Which field a label names; several spellings per field.
pub(super) const LABELS: &[(&str, &[&str])] = &[
    (
        "title",
        &["title", "talk title", "proposal title", "session title"],
    ),
    (
        "format",
        &["format", "talk format", "session type", "type", "length"],
    ),
    ("audience", &["audience", "audience level", "level"]),
    ("topics", &["topics", "topic", "tags", "track", "tracks"]),
    ("abstract", &["abstract", "summary"]),
    (
        "description",
        &["description", "outline", "details", "detailed description"],
    ),
    (
        "notes",
        &[
            "notes for reviewers",
            "notes for the reviewers",
            "notes to reviewers",
            "reviewer notes",
            "notes",
        ],
    ),
    (
        "bio",
        &[
            "bio",
            "speaker bio",
            "biography",
            "about me",
            "about the speaker",
        ],
    ),
    (
        "co-speakers",
        &[
            "co-speakers",
            "co-speaker",
            "co speakers",
            "co speaker",
            "cospeakers",
            "co-presenters",
        ],
    ),
];

fn field_of(label: &str) -> &'static str {
    if label.is_ascii() {
        // What the general case below computes, without building the string:
        // for ASCII, lower-casing is per byte and the words compare one by one.
        let same = |spelling: &str| {
            let (mut a, mut b) = (label.split_whitespace(), spelling.split(' '));
            loop {
                match (a.next(), b.next()) {
                    (None, None) => return true,
                    (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                    _ => return false,
                }
            }
        };
        return LABELS
            .iter()
            .find(|(_, spellings)| spellings.iter().any(|s| same(s)))
            .map_or("description", |(field, _)| field);
    }
    field_of_any(label)
}

/// [`field_of`] for any label: its words lower-cased (`str::to_lowercase`, so
/// the Kelvin sign in "TRAC\u{212a}" reads `k`) and compared with each spelling.
fn field_of_any(label: &str) -> &'static str {
    let norm = label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    for (field, spellings) in LABELS {
        if spellings.contains(&norm.as_str()) {
            return field;
        }
    }
    "description"
}

/// What a labelled section of the body holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    /// A built-in field (`title`, `abstract`, …).
    Builtin(&'static str),
    /// The conference's own field at this index of `ProposalRules::custom`.
    Custom(usize),
}

/// Any `Label: value` line (or a Markdown heading), for the conference's own
/// labels, which are matched by name after this finds the line's label.
fn any_label_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^[ \t]*(#{1,6}[ \t]*|[-*+][ \t]+)?(?:\*\*|__|\*|_)?[ \t]*([^:：\n]{1,80}?)[ \t]*(?:\*\*|__|\*|_)?[ \t]*(?:(?:[:：])(?:\*\*|__)?[ \t]*(.*?))?[ \t]*$",
        )
        .expect("custom label regex")
    })
}

/// The section a line opens, with the value on its own line; `None` when
/// the line continues the section before it.
fn section_of(line: &str, rules: &ProposalRules) -> Option<(Section, String)> {
    if !rules.custom.is_empty() {
        if let Some((i, answer)) = super::custom::question_answered(line, &rules.custom) {
            return Some((Section::Custom(i), answer));
        }
        if let Some(c) = any_label_regex().captures(line) {
            let heading = c.get(1).is_some_and(|m| m.as_str().starts_with('#'));
            let colon = c.get(3).is_some();
            if heading || colon || line.trim().len() == c.get(2).map_or(0, |m| m.len()) {
                if let Some(i) =
                    super::custom::field_named(c.get(2).map_or("", |m| m.as_str()), &rules.custom)
                {
                    let first = strip_emphasis(c.get(3).map_or("", |m| m.as_str()).trim());
                    return Some((Section::Custom(i), first));
                }
            }
        }
    }
    label_of(line).map(|(field, first)| (Section::Builtin(field), first))
}

/// The built-in field a line labels and the value on the label's line, when
/// the line is a label: the one reading of a built-in label, shared by
/// [`parse`] and [`label_lines`].
fn label_of(line: &str) -> Option<(&'static str, String)> {
    let m = super::label::match_label(line)?;
    let label = line.get(m.label).unwrap_or_default();
    let field = field_of(label);
    let first = m.value.and_then(|v| line.get(v)).unwrap_or_default().trim();
    // "Type" and "Level" are common words: only treat them as labels with a value.
    const WEAK: &[&str] = &["type", "level", "length", "details", "summary", "track"];
    let weak = match label.is_ascii() {
        true => WEAK.iter().any(|w| label.eq_ignore_ascii_case(w)),
        false => WEAK.contains(&label.to_lowercase().as_str()),
    };
    if weak && first.is_empty() && !line.trim_start().starts_with('#') {
        return None;
    }
    Some((field, strip_emphasis(first)))
}

/// Where each field's label is in `text`: (1-based line number, field
/// name), in order, up to a signature delimiter. For errors that name the
/// line of a file a chair wrote (`cfpd proposals edit --file`).
pub fn label_lines(text: &str) -> Vec<(usize, &'static str)> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line == "-- " || line == "--" {
            break;
        }
        if let Some((field, _)) = label_of(line) {
            out.push((i + 1, field));
        }
    }
    out
}

/// Parse a proposal body. `rules` supplies the allowed formats and audiences
/// and the conference's own fields.
pub fn parse(text: &str, rules: &ProposalRules) -> Parsed {
    // Bodies rarely carry a bare or CRLF `\r` here (mail-parser decodes to `\n`):
    // copy the text only when one needs replacing.
    let text = match text.contains('\r') {
        true => Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")),
        false => Cow::Borrowed(text),
    };
    // Lines borrow from the text; only a label's first value is a new string.
    let mut sections: Vec<(Section, Vec<Cow<'_, str>>)> = Vec::new();
    for line in text.lines() {
        if line == "-- " || line == "--" {
            break; // signature
        }
        if let Some((section, first)) = section_of(line, rules) {
            sections.push((
                section,
                if first.is_empty() {
                    vec![]
                } else {
                    vec![Cow::Owned(first)]
                },
            ));
            continue;
        }
        if let Some((_, lines)) = sections.last_mut() {
            lines.push(Cow::Borrowed(line));
        }
    }

    // A closing after the last field ("Thanks, Ann", "Best regards,\nAnn Lee", "Sent from
    // my iPhone") is not part of it.
    if let Some((_, lines)) = sections.last_mut() {
        let refs: Vec<&str> = lines.iter().map(|l| l.as_ref()).collect();
        if let Some(k) = crate::mailtext::trim::sign_off_start(&refs) {
            lines.truncate(k);
        }
    }
    let mut out = Parsed::default();
    for (section, lines) in sections {
        let one = match section {
            Section::Builtin(field) => ONE_PARAGRAPH.contains(&field),
            Section::Custom(i) => rules.custom[i].kind.one_paragraph(),
        };
        let lines = if one {
            first_paragraph(&lines)
        } else {
            &lines[..]
        };
        let value = clean_block(lines);
        out.labels_found += 1;
        if value.is_empty() {
            continue;
        }
        match section {
            Section::Builtin(field) => set_builtin(&mut out.fields, field, value, rules),
            Section::Custom(i) => {
                let c = &rules.custom[i];
                let value = super::custom::normalise(&value, &c.kind);
                out.fields.custom.insert(c.name.clone(), value);
            }
        }
    }
    out
}

/// Store a built-in field's value, normalised.
fn set_builtin(f: &mut Fields, field: &str, value: String, rules: &ProposalRules) {
    match field {
        "title" => f.title = Some(one_line(&value)),
        "format" => f.format = Some(choose(&value, &rules.formats)),
        "audience" => f.audience = Some(choose(&value, &rules.audiences)),
        "topics" => {
            f.topics = Some(
                value
                    .split([',', ';', '\n'])
                    .map(|s| s.trim().trim_start_matches(['-', '*']).trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        }
        "abstract" => f.abstract_text = Some(value),
        "description" => f.description = Some(value),
        "notes" => f.notes = Some(value),
        "bio" => f.bio = Some(value),
        "co-speakers" => {
            let list: Vec<String> = value
                .split([',', ';', '\n'])
                .map(|s| extract_address(s.trim()))
                .filter(|s| !s.is_empty())
                .filter(|a| !matches!(a.to_lowercase().as_str(), "none" | "n/a" | "-"))
                .collect();
            if !list.is_empty() {
                f.co_speakers = Some(list);
            }
        }
        _ => {}
    }
}

/// Whether `label` (as a config would spell it) is one of the built-in
/// labels, which a conference's own field may not take.
pub fn is_builtin_label(label: &str) -> bool {
    let l = super::custom::normalise_label(label);
    LABELS
        .iter()
        .flat_map(|(f, a)| std::iter::once(*f).chain(a.iter().copied()))
        .any(|b| super::custom::normalise_label(b) == l)
}

/// Fields whose value is one line or one list: a blank line after their value ends them
/// ("Title: X", a blank line, "Thanks, Ann" is the title "X").
const ONE_PARAGRAPH: &[&str] = &["title", "format", "audience", "topics", "co-speakers"];

/// The lines up to the first blank line after some text.
fn first_paragraph<'a, 'l>(lines: &'a [Cow<'l, str>]) -> &'a [Cow<'l, str>] {
    let Some(start) = lines.iter().position(|l| !l.trim().is_empty()) else {
        return lines;
    };
    match lines[start..].iter().position(|l| l.trim().is_empty()) {
        Some(n) => &lines[..start + n],
        None => lines,
    }
}

fn strip_emphasis(s: &str) -> String {
    s.trim_matches(|c| c == '*' || c == '_').trim().to_string()
}

/// Remove common indentation and surrounding blank lines; keep paragraphs.
/// When the value is indented under its label, an unindented line after a
/// blank line ends it ("Thanks, Ada" after the last field is not part of it).
fn clean_block(lines: &[Cow<'_, str>]) -> String {
    let indent_of = |l: &Cow<'_, str>| l.len() - l.trim_start().len();
    let first_body = lines.iter().position(|l| !l.trim().is_empty());
    let mut end = lines.len();
    if let Some(fb) = first_body {
        if indent_of(&lines[fb]) > 0 {
            for k in fb + 1..lines.len() {
                if !lines[k].trim().is_empty()
                    && indent_of(&lines[k]) == 0
                    && lines[k - 1].trim().is_empty()
                {
                    end = k;
                    break;
                }
            }
        }
    }
    let lines = &lines[..end];
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                l.get(indent..).unwrap_or(l.trim_start()).trim_end()
            }
        })
        .collect();
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    // collapse runs of blank lines
    let mut res = String::new();
    let mut blank = false;
    for l in out {
        if l.is_empty() {
            blank = true;
            continue;
        }
        if !res.is_empty() {
            res.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        res.push_str(l);
    }
    res
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tokens(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Normalise a choice against the allowed values: exact match first, then the
/// unique allowed value all of whose words appear in the text ("25 minute talk"
/// → `talk-25`), then the unique allowed value sharing a word ("workshop" stays
/// raw, "45" → `talk-45`). An unrecognised or ambiguous value is kept as written
/// so the reply can quote it.
pub(super) fn choose(value: &str, allowed: &[String]) -> String {
    let full = one_line(value).to_lowercase();
    // "talk-25 (25 minutes)": the part before a parenthesis, then the whole text.
    let head = full.split('(').next().unwrap_or(&full).trim().to_string();
    for v in [&head, &full] {
        if let Some(a) = allowed.iter().find(|a| *a == v) {
            return a.clone();
        }
    }
    for v in [&head, &full] {
        let vt = tokens(v);
        let all: Vec<&String> = allowed
            .iter()
            .filter(|a| {
                let at = tokens(a);
                !at.is_empty() && at.iter().all(|t| vt.contains(t))
            })
            .collect();
        if all.len() == 1 {
            return all[0].clone();
        }
        if all.len() > 1 {
            break;
        }
    }
    let vt = tokens(&head);
    let some: Vec<&String> = allowed
        .iter()
        .filter(|a| tokens(a).iter().any(|t| vt.contains(t)))
        .collect();
    if some.len() == 1 {
        return some[0].clone();
    }
    head
}

fn extract_address(s: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("address regex")
    });
    match re.find(s) {
        Some(m) => m.as_str().to_lowercase(),
        None => s.trim_matches(|c| c == '<' || c == '>').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ProposalRules {
        ProposalRules {
            required: vec![],
            formats: vec!["talk-25".into(), "talk-45".into(), "tutorial".into()],
            audiences: vec!["beginner".into(), "intermediate".into(), "advanced".into()],
            word_limits: vec![],
            max_message_bytes: 1 << 20,
            reply_token_days: 365,
            custom: vec![],
        }
    }

    #[test]
    fn product_template_parses() {
        let body = "Hi!\n\nTitle: Making Django fast without caching everything\nFormat: talk-25\nAudience: intermediate\nTopics: performance-scaling, database\nAbstract:\n  one paragraph, public\n  still abstract\nDescription:\n  longer outline for reviewers\n\n  second paragraph\nNotes for reviewers:\n  optional\nBio:\n  I am Ada.\nCo-speakers: Ada <ada@example.org>, bob@example.org\n-- \nAda\n";
        let p = parse(body, &rules());
        let f = &p.fields;
        assert_eq!(p.labels_found, 9);
        assert_eq!(
            f.title.as_deref(),
            Some("Making Django fast without caching everything")
        );
        assert_eq!(f.format.as_deref(), Some("talk-25"));
        assert_eq!(f.audience.as_deref(), Some("intermediate"));
        assert_eq!(
            f.topics.as_deref(),
            Some(&["performance-scaling".to_string(), "database".to_string()][..])
        );
        assert_eq!(
            f.abstract_text.as_deref(),
            Some("one paragraph, public\nstill abstract")
        );
        assert_eq!(
            f.description.as_deref(),
            Some("longer outline for reviewers\n\nsecond paragraph")
        );
        assert_eq!(f.notes.as_deref(), Some("optional"));
        assert_eq!(f.bio.as_deref(), Some("I am Ada."));
        let p = parse("Bio:\n  I am Ada.\n\nThanks!\nAda\n", &rules());
        assert_eq!(p.fields.bio.as_deref(), Some("I am Ada."));
        assert_eq!(
            f.co_speakers.as_deref(),
            Some(&["ada@example.org".to_string(), "bob@example.org".to_string()][..])
        );
    }

    #[test]
    fn markdown_headings_bold_any_case_any_order() {
        let body = "## ABSTRACT\nShort.\n\n**Title:** Fast ORM\n\n### description\nLong text.\n\n*Format*: 45 minute talk\naudience - Beginner\n";
        let f = parse(body, &rules()).fields;
        assert_eq!(f.title.as_deref(), Some("Fast ORM"));
        assert_eq!(f.abstract_text.as_deref(), Some("Short."));
        assert_eq!(f.description.as_deref(), Some("Long text."));
        assert_eq!(f.format.as_deref(), Some("talk-45"));
        assert_eq!(f.audience.as_deref(), Some("beginner"));
    }

    #[test]
    fn choices_normalise_or_stay_raw() {
        let r = rules();
        assert_eq!(choose("Talk (25 min)", &r.formats), "talk-25");
        assert_eq!(choose("talk-45 (45 minutes)", &r.formats), "talk-45");
        assert_eq!(choose("Tutorial", &r.formats), "tutorial");
        assert_eq!(choose("keynote", &r.formats), "keynote");
        assert_eq!(choose("talk", &r.formats), "talk");
        assert_eq!(
            choose("intermediate to advanced", &r.audiences),
            "intermediate to advanced"
        );
    }

    #[test]
    fn plain_prose_has_no_labels() {
        let p = parse(
            "Hello, I would like to give a talk about Django.\nThanks",
            &rules(),
        );
        assert_eq!(p.labels_found, 0);
        assert_eq!(p.fields, Fields::default());
    }

    #[test]
    fn common_words_are_not_labels_without_a_value() {
        let p = parse(
            "Title: T\nDescription:\nThe type\nlevel\nof this talk.\n",
            &rules(),
        );
        assert_eq!(
            p.fields.description.as_deref(),
            Some("The type\nlevel\nof this talk.")
        );
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let samples = [
            "",
            ":",
            "Title:",
            "\u{0}\u{FFFF}Title: \u{202E}x",
            "Abstract\r\n\r\n\r\nx",
            "# \n## \n**",
            "Co-speakers: <>,,;;",
            "İİİ Can you attend in person?İ",
            "## :\n**Pronouns**\n**",
        ];
        let mut own = rules();
        own.custom = crate::proposal::custom::tests::sample();
        for s in samples {
            let _ = parse(s, &rules());
            let _ = parse(s, &own);
        }
        let mut x: u64 = 7;
        for _ in 0..300 {
            let mut s = String::new();
            for _ in 0..80 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let c = char::from_u32((x % 0x3000) as u32).unwrap_or(':');
                s.push(if x.is_multiple_of(7) { '\n' } else { c });
            }
            let _ = parse(&s, &rules());
            let _ = parse(&s, &own);
        }
    }

    #[test]
    fn one_line_fields_end_at_a_blank_line() {
        for body in [
            "Abstract: A\nTitle: Fast ORM\n\nThanks, Ann\n",
            "Abstract: A\nTitle:\n  Fast ORM\n\nThanks,\nAnn\n",
            "Title: Fast\n  ORM\n\nAbstract: A\n\nCheers\n",
        ] {
            let f = parse(body, &rules()).fields;
            assert_eq!(f.title.as_deref(), Some("Fast ORM"), "{body:?}");
            assert_eq!(f.abstract_text.as_deref(), Some("A"), "{body:?}");
        }
        let f = parse(
            "Title: T\nFormat: talk-25\n\nsee you\nTopics: web, db\n\nAnn\nCo-speakers: bob@x.org\n\nThanks, Ann Lee\n",
            &rules(),
        )
        .fields;
        assert_eq!(f.format.as_deref(), Some("talk-25"));
        assert_eq!(
            f.topics.as_deref(),
            Some(&["web".to_string(), "db".to_string()][..])
        );
        assert_eq!(
            f.co_speakers.as_deref(),
            Some(&["bob@x.org".to_string()][..])
        );
    }

    #[test]
    fn a_closing_after_the_last_field_is_not_part_of_it() {
        for (closing, bio) in [
            ("\nThanks, Ann", "I am Ann."),
            ("Thanks,\nAnn", "I am Ann."),
            (
                "\nBest regards,\nAnn Lee\nStaff engineer, ACME\nhttps://ann.example",
                "I am Ann.",
            ),
            ("\nSent from my iPhone", "I am Ann."),
            ("\nCheers!", "I am Ann."),
            ("Thanks to my team.", "I am Ann.\nThanks to my team."),
        ] {
            let body = format!("Title: T\nBio: I am Ann.\n{closing}\n");
            let f = parse(&body, &rules()).fields;
            assert_eq!(f.bio.as_deref(), Some(bio), "{body:?}");
        }
        // A field in the middle keeps every paragraph.
        let f = parse(
            "Description: One.\n\nThanks to X we can.\n\nBio: B\n",
            &rules(),
        )
        .fields;
        assert_eq!(
            f.description.as_deref(),
            Some("One.\n\nThanks to X we can.")
        );
    }

    #[test]
    fn own_fields_are_read_by_their_labels_not_folded_into_description() {
        let mut r = rules();
        r.custom = crate::proposal::custom::tests::sample();
        let body = "Title: Fast ORM\nDescription:\n  Long text.\nPronouns: she/her\n**Can you attend in person?** Yes!\n## Travel support\nFull (flights and hotel)\n\nBio: I am Ada.\n";
        let p = parse(body, &r);
        let f = &p.fields;
        assert_eq!(f.description.as_deref(), Some("Long text."));
        assert_eq!(
            f.custom.get("pronouns").map(String::as_str),
            Some("she/her")
        );
        assert_eq!(f.custom.get("in_person").map(String::as_str), Some("yes"));
        assert_eq!(f.custom.get("travel").map(String::as_str), Some("full"));
        assert_eq!(f.bio.as_deref(), Some("I am Ada."));
        assert_eq!(p.labels_found, 6);
        // Without the fields configured, the lines stay where they were.
        let f = parse(body, &rules()).fields;
        assert!(f.custom.is_empty());
        assert!(f.description.unwrap().contains("Pronouns: she/her"));
    }

    #[test]
    fn own_field_answers_keep_what_is_not_understood() {
        let mut r = rules();
        r.custom = crate::proposal::custom::tests::sample();
        let f = parse("Title: T\nIn person: maybe\nTravel support: lots\n", &r).fields;
        assert_eq!(f.custom.get("in_person").map(String::as_str), Some("maybe"));
        assert_eq!(f.custom.get("travel").map(String::as_str), Some("lots"));
        // Prose mentioning a label is not a label.
        let f = parse("Title: T\nAbstract: my pronouns are\nimportant to me\n", &r).fields;
        assert!(f.custom.is_empty());
    }

    #[test]
    fn ascii_labels_find_the_field_the_general_reading_finds() {
        for l in [
            "Title",
            "TALK  TITLE",
            "talk\ttitle",
            "Notes For Reviewers",
            "notes",
            "co-Speakers",
            "co  speakers",
            "ABOUT me",
            "about",
            "",
            "x",
            "summary",
            "Bio",
            " bio",
            "bio ",
            "about\x0bme",
            "about\x0cme",
            "about\rme",
            "about\nme",
            "about\x1cme",
            "about me ",
        ] {
            assert_eq!(field_of(l), field_of_any(l), "{l:?}");
        }
        for (_, spellings) in LABELS {
            for s in *spellings {
                assert_eq!(field_of(s), field_of_any(s), "{s:?}");
                let upper = s.to_uppercase().replace(' ', " \t ");
                assert_eq!(field_of(&upper), field_of_any(&upper), "{upper:?}");
            }
        }
        assert_eq!(field_of("Trac\u{212a}"), "topics");
    }

    #[test]
    fn built_in_labels_are_known() {
        assert!(is_builtin_label("Title"));
        assert!(is_builtin_label("notes for reviewers"));
        assert!(is_builtin_label("Co-speakers"));
        assert!(!is_builtin_label("Pronouns"));
    }
}
