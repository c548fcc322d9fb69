//! `cfpd decide --file decisions.csv`: one decision per line,
//! `ref,decision[,note]`, an optional header line (`ref,decision,note`).
//! Every line that cannot be read is reported with its line number, all at
//! once, so a chair fixes the file in one go; nothing is decided from a file
//! with any bad line.

use crate::model::Decision;

/// One line of the file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub line: u64,
    /// The reference as written (`P-0042`).
    pub reference: String,
    /// The decision.
    pub decision: Decision,
    /// The chair's note, if the third column is not empty.
    pub note: Option<String>,
}

/// One line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong and how to write it.
    pub message: String,
}

/// Read a decisions file. `Err` holds every bad line.
///
/// Each line is read as one CSV record on its own (a note may be quoted to
/// hold commas, not line breaks), so every error names the line a chair
/// sees in an editor; blank lines and `#` comments are skipped.
pub fn parse(src: &str) -> Result<Vec<Line>, Vec<LineError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in src.lines().enumerate() {
        let line = i as u64 + 1;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(text.as_bytes());
        let rec = match rdr.records().next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                errors.push(LineError {
                    line,
                    message: format!("not readable as CSV ({e})"),
                });
                continue;
            }
            None => continue,
        };
        let cell = |k: usize| rec.get(k).unwrap_or("").trim();
        if out.is_empty()
            && errors.is_empty()
            && ["ref", "reference"].contains(&cell(0).to_ascii_lowercase().as_str())
        {
            continue; // the header line
        }
        if rec.len() > 3 {
            errors.push(LineError {
                line,
                message: format!(
                    "{} columns; write ref,decision[,note] (quote a note that holds commas)",
                    rec.len()
                ),
            });
            continue;
        }
        if crate::proposal::parse_reference(cell(0)).is_none() {
            errors.push(LineError {
                line,
                message: format!("{:?} is not a reference like P-0042", cell(0)),
            });
            continue;
        }
        let Some(decision) = Decision::from_verb(cell(1)) else {
            errors.push(LineError {
                line,
                message: format!(
                    "{:?} is not a decision: write accept, reject or waitlist",
                    cell(1)
                ),
            });
            continue;
        };
        out.push(Line {
            line,
            reference: cell(0).to_string(),
            decision,
            note: Some(cell(2).to_string()).filter(|n| !n.is_empty()),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_header_notes_blank_lines_and_comments_is_read() {
        let src = "ref,decision,note\n\
                   P-0001,accept,\n\
                   \n\
                   # the waitlist\n\
                   P-0002, Waitlist ,\"strong, but long\"\n\
                   p-3,reject\n";
        let lines = parse(src).unwrap();
        assert_eq!(
            lines,
            vec![
                Line {
                    line: 2,
                    reference: "P-0001".into(),
                    decision: Decision::Accepted,
                    note: None
                },
                Line {
                    line: 5,
                    reference: "P-0002".into(),
                    decision: Decision::Waitlisted,
                    note: Some("strong, but long".into())
                },
                Line {
                    line: 6,
                    reference: "p-3".into(),
                    decision: Decision::Rejected,
                    note: None
                },
            ]
        );
    }

    #[test]
    fn every_bad_line_is_named_with_its_number() {
        let src = "P-0001,accept\nP-0002,maybe\nfoo,reject\nP-0004,accept,a,b\nP-0005,accepted\n";
        let errs = parse(src).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "line 2: \"maybe\" is not a decision: write accept, reject or waitlist",
                "line 3: \"foo\" is not a reference like P-0042",
                "line 4: 4 columns; write ref,decision[,note] (quote a note that holds commas)",
            ]
        );
    }

    #[test]
    fn a_header_is_only_a_header_on_the_first_line() {
        let errs = parse("P-0001,accept\nref,decision\n").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(parse("").unwrap().is_empty());
    }
}
