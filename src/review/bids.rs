//! Bids read from a reviewer's reply to the bidding mail (`cfpd bids open`).
//!
//! The reply is trimmed first (quoted text, attribution lines and signatures go, by
//! [`crate::mailtext::trim`], as for reviews); what is left is read line by line:
//!
//! * `yes: P-0003, P-0017` — a line that starts with `yes`, `maybe`, `no` or `conflict`
//!   (any case, after an optional list bullet), then `:` or a space, then proposal
//!   numbers separated by commas, semicolons, spaces or `and`. A number is written
//!   `P-0003`, `P-3`, `P3`, `#3` or `3`.
//! * A line that names proposals without saying how (`P-0004 please`) is not understood
//!   and said so; other lines (a greeting, "thanks") are ignored, they are not bids.
//! * A proposal named under two different kinds is recorded under neither, and said so.
//!
//! Pure: the caller decides which numbers are proposals the reviewer may bid on.

use crate::model::BidKind;

/// What a reply says: the bids (one per proposal, sorted by proposal id) and, in the
/// reviewer's words, what could not be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bids {
    /// (proposal id, bid), sorted by proposal id.
    pub bids: Vec<(i64, BidKind)>,
    /// One sentence per line or word that was not understood.
    pub problems: Vec<String>,
}

/// A proposal number as reviewers write it: `P-0003`, `p-3`, `P3`, `#3` or `3`.
pub fn proposal_number(word: &str) -> Option<i64> {
    let w = word.trim();
    let digits = w
        .strip_prefix("P-")
        .or_else(|| w.strip_prefix("p-"))
        .or_else(|| w.strip_prefix('P'))
        .or_else(|| w.strip_prefix('p'))
        .or_else(|| w.strip_prefix('#'))
        .unwrap_or(w);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return None;
    }
    digits.parse::<i64>().ok().filter(|n| *n > 0)
}

/// The bid kind a line starts with, and the rest of the line.
fn kind_of(line: &str) -> Option<(BidKind, &str)> {
    let end = line
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(line.len());
    let kind = match line[..end].to_ascii_lowercase().as_str() {
        "yes" => BidKind::Yes,
        "maybe" => BidKind::Maybe,
        "no" => BidKind::No,
        "conflict" => BidKind::Conflict,
        _ => return None,
    };
    let rest = &line[end..];
    let rest = match rest.trim_start().strip_prefix(':') {
        Some(r) => r,
        // "yes P-3" reads as a bid; "yes," or "no-one" does not.
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    Some((kind, rest))
}

/// Whether a word looks like a proposal number someone meant (not a bare count in prose).
fn names_a_proposal(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '#');
    proposal_number(w).is_some() && !w.bytes().all(|b| b.is_ascii_digit())
}

/// Read the bids of a trimmed reply.
pub fn parse(trimmed: &str) -> Bids {
    let mut found: Vec<(i64, BidKind)> = Vec::new();
    let mut contradicted: Vec<i64> = Vec::new();
    let mut problems = Vec::new();
    for raw in trimmed.lines() {
        let line = raw
            .trim()
            .trim_start_matches(['-', '*', '•', '>'])
            .trim_start();
        if line.is_empty() {
            continue;
        }
        let Some((kind, rest)) = kind_of(line) else {
            if line.split_whitespace().any(names_a_proposal) {
                problems.push(format!(
                    "\"{}\": start the line with yes, maybe, no or conflict",
                    short(line)
                ));
            }
            continue;
        };
        let words: Vec<&str> = rest
            .split([',', ';', ' ', '\t', '/'])
            .map(|w| w.trim_matches(['.', '(', ')', '"']))
            .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("and"))
            .collect();
        if words.is_empty() {
            problems.push(format!("\"{}\": no proposal number after it", short(line)));
            continue;
        }
        for w in words {
            let Some(id) = proposal_number(w) else {
                problems.push(format!(
                    "\"{}\" (in \"{}\") is not a proposal number",
                    short(w),
                    short(line)
                ));
                continue;
            };
            match found.iter().find(|(p, _)| *p == id) {
                Some((_, k)) if *k != kind => {
                    if !contradicted.contains(&id) {
                        contradicted.push(id);
                    }
                }
                Some(_) => {}
                None => found.push((id, kind)),
            }
        }
    }
    for id in &contradicted {
        problems.push(format!(
            "{} is named under two different answers: not recorded, write it once",
            crate::proposal::reference(*id)
        ));
    }
    found.retain(|(p, _)| !contradicted.contains(p));
    found.sort_by_key(|(p, _)| *p);
    Bids {
        bids: found,
        problems,
    }
}

/// A piece of the reviewer's text short enough to quote on one line of a mail.
fn short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests;
