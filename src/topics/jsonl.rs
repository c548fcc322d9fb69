//! Batch tagging of JSON lines, for `cfpd tag` and for evaluation.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::tagger::{TagInput, Tagger};

/// An error while tagging JSON lines; every variant names the 1-based input
/// line it happened on.
#[derive(Debug, thiserror::Error)]
pub enum TagJsonlError {
    /// The input could not be read (including invalid UTF-8).
    #[error("line {line}: cannot read input: {source}")]
    Read {
        /// 1-based input line.
        line: usize,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The line is not a JSON object of the expected shape (the message
    /// names the missing or mistyped key).
    #[error("line {line}: not a valid proposal record: {source}")]
    Parse {
        /// 1-based input line.
        line: usize,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A key has a value of the wrong kind.
    #[error("line {line}: key `{key}`: {problem}")]
    Field {
        /// 1-based input line.
        line: usize,
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The output could not be written.
    #[error("line {line}: cannot write output: {source}")]
    Write {
        /// 1-based input line whose result was being written.
        line: usize,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Declared topics: a list, or one string of comma- or semicolon-separated names.
#[derive(Deserialize)]
#[serde(untagged)]
enum Declared {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
struct Record {
    id: serde_json::Value,
    title: String,
    #[serde(rename = "abstract")]
    abstract_text: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    topics_declared: Option<Declared>,
}

#[derive(Serialize)]
struct OutTopic<'a> {
    id: &'a str,
    score: f64,
    evidence: &'a [String],
}

#[derive(Serialize)]
struct OutRecord<'a> {
    id: &'a serde_json::Value,
    topics: Vec<OutTopic<'a>>,
    filed: Vec<&'a str>,
}

/// Reads JSON lines (`id`, `title`, `abstract`, optional `description` and
/// `topics_declared`; other keys are ignored) and writes one JSON line per
/// record:
///
/// ```json
/// {"id": "…", "topics": [{"id": "frontend", "score": 7.2, "evidence": ["htmx"]}, …], "filed": ["frontend"]}
/// ```
///
/// `topics` ranks every topic, best first; `filed` lists the ids
/// [`Tagger::file`] chose. Blank lines are skipped. Returns the number of
/// records written; stops at the first bad line with an error naming it.
pub fn tag_jsonl(
    tagger: &Tagger,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<usize, TagJsonlError> {
    let mut written = 0;
    let mut last_line = 0;
    let mut buf = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line_no = n + 1;
        last_line = line_no;
        let line = line.map_err(|source| TagJsonlError::Read {
            line: line_no,
            source,
        })?;
        let text = line.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let rec: Record = serde_json::from_str(text).map_err(|source| TagJsonlError::Parse {
            line: line_no,
            source,
        })?;
        if !(rec.id.is_string() || rec.id.is_number()) {
            return Err(TagJsonlError::Field {
                line: line_no,
                key: "id",
                problem: format!("expected a string or a number, found {}", rec.id),
            });
        }
        let declared: Vec<String> = match rec.topics_declared {
            None => Vec::new(),
            Some(Declared::List(v)) => v,
            Some(Declared::Text(s)) => s
                .split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let input = TagInput {
            title: &rec.title,
            abstract_text: &rec.abstract_text,
            description: rec.description.as_deref().unwrap_or(""),
            declared: &declared,
        };
        let ranked = tagger.rank(&input);
        let filed = tagger.file(&ranked);
        let record = OutRecord {
            id: &rec.id,
            topics: ranked
                .iter()
                .map(|t| OutTopic {
                    id: &t.id,
                    score: t.score,
                    evidence: &t.evidence,
                })
                .collect(),
            filed: filed
                .iter()
                .filter_map(|f| ranked.iter().find(|r| r.id == f.id).map(|r| r.id.as_str()))
                .collect(),
        };
        buf.clear();
        serde_json::to_writer(&mut buf, &record).map_err(|e| TagJsonlError::Write {
            line: line_no,
            source: e.into(),
        })?;
        buf.push(b'\n');
        out.write_all(&buf).map_err(|source| TagJsonlError::Write {
            line: line_no,
            source,
        })?;
        written += 1;
    }
    out.flush().map_err(|source| TagJsonlError::Write {
        line: last_line,
        source,
    })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::super::set::TopicSet;
    use super::*;
    use std::path::PathBuf;

    fn run(input: &[u8]) -> Result<(usize, Vec<serde_json::Value>), TagJsonlError> {
        let tagger = Tagger::new(TopicSet::default_set());
        let mut out = Vec::new();
        let n = tag_jsonl(&tagger, input, &mut out)?;
        let text = String::from_utf8(out).expect("utf-8 output");
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json output"))
            .collect();
        Ok((n, lines))
    }

    #[test]
    fn writes_one_ranked_line_per_record() {
        let input = br#"{"id": "p1", "title": "HTMX in practice", "abstract": "Alpine.js and Tailwind CSS.", "year": 2024}

{"id": 7, "title": "Untitled", "abstract": "", "description": "Read replicas and indexes.", "topics_declared": "web sockets; GIL"}
{"id": "p3", "title": "Lorem", "abstract": "Ipsum.", "topics_declared": ["Perf & scaling"], "description": null}
"#;
        let (n, lines) = run(input).expect("tags");
        assert_eq!(n, 3);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["id"], "p1");
        assert_eq!(lines[1]["id"], 7);
        for l in &lines {
            let topics = l["topics"].as_array().expect("topics");
            assert_eq!(topics.len(), 20);
            assert!(topics[0]["score"].as_f64().is_some());
            assert!(topics[0]["evidence"].is_array());
            assert!(!l["filed"].as_array().expect("filed").is_empty());
        }
        assert_eq!(lines[0]["topics"][0]["id"], "frontend");
        let filed1: Vec<&str> = lines[1]["filed"]
            .as_array()
            .expect("filed")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(
            filed1.contains(&"channels-websockets") && filed1.contains(&"no-gil"),
            "{filed1:?}"
        );
        assert!(filed1.contains(&"database"), "{filed1:?}");
        assert_eq!(lines[2]["topics"][0]["id"], "performance-scaling");
        assert_eq!(
            lines[2]["topics"][0]["evidence"][0],
            "declared: Perf & scaling"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let ok = r#"{"id": "a", "title": "t", "abstract": "a"}"#;
        let cases: [(String, &str); 5] = [
            (format!("{ok}\n{ok}\n{{not json\n"), "line 3: not a valid proposal record"),
            (format!("{ok}\n{{\"id\": \"b\", \"abstract\": \"x\"}}\n"), "missing field `title`"),
            (
                "{\"id\": {}, \"title\": \"t\", \"abstract\": \"a\"}\n".to_string(),
                "line 1: key `id`",
            ),
            (format!("{ok}\n\n{{\"id\": \"c\", \"title\": 5, \"abstract\": \"\"}}\n"), "line 3:"),
            (format!("{ok}\n{{\"id\": \"d\", \"title\": \"t\", \"abstract\": \"a\", \"topics_declared\": 3}}\n"), "line 2:"),
        ];
        for (input, needle) in cases {
            let e = run(input.as_bytes()).expect_err("error").to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
        }
        let mut bad = ok.as_bytes().to_vec();
        bad.extend_from_slice(b"\n{\"id\": \"\xff\"}\n");
        let e = run(&bad).expect_err("invalid utf-8");
        assert!(matches!(e, TagJsonlError::Read { line: 2, .. }), "{e}");
    }

    fn shared_dir() -> Option<PathBuf> {
        let dir = match std::env::var_os("CFPD_SHARED") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        };
        dir.is_dir().then_some(dir)
    }

    /// Regression guard on the labelled DjangoCon talks (development data;
    /// the real measure is the sealed holdout).
    #[test]
    fn labelled_talks_are_tagged_well() {
        let Some(shared) = shared_dir() else {
            eprintln!("skipped: shared/ not found (set CFPD_SHARED)");
            return;
        };
        let path = shared.join("data/djangocon-talks-2022-2023.jsonl");
        let Ok(data) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} not readable", path.display());
            return;
        };
        let (n, lines) = run(data.as_bytes()).expect("tags the data set");
        let labels: Vec<Vec<String>> = data
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("data json");
                v["topics"]
                    .as_array()
                    .expect("labels")
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .collect();
        assert_eq!(n, labels.len());
        let (mut hit1, mut hit3) = (0usize, 0usize);
        for (line, labels) in lines.iter().zip(&labels) {
            let ranked: Vec<&str> = line["topics"]
                .as_array()
                .expect("topics")
                .iter()
                .filter_map(|t| t["id"].as_str())
                .collect();
            assert_eq!(ranked.len(), 20);
            for f in line["filed"].as_array().expect("filed") {
                let t = line["topics"]
                    .as_array()
                    .and_then(|ts| ts.iter().find(|t| t["id"] == *f))
                    .expect("filed topic is ranked");
                assert!(
                    !t["evidence"].as_array().expect("evidence").is_empty(),
                    "{line}"
                );
            }
            hit1 += usize::from(labels.iter().any(|l| l == ranked[0]));
            hit3 += usize::from(ranked[..3].iter().any(|r| labels.iter().any(|l| l == r)));
        }
        let (h1, h3) = (hit1 as f64 / n as f64, hit3 as f64 / n as f64);
        eprintln!("labelled talks: n={n} hit@1={h1:.3} hit@3={h3:.3}");
        assert!(h1 >= 0.80 && h3 >= 0.88, "hit@1 {h1:.3}, hit@3 {h3:.3}");
    }
}
