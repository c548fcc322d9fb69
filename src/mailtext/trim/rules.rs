//! The trimming rules: which classified lines of a reply stay.
//!
//! The rules read the string of line codes ([`Kind::code`]: `e`mpty, `d`elimiter,
//! `s`ignature, `b` marker, `h`eader, `q`uote, `t`ext) with regular expressions over it,
//! so each rule is one linear match.

use super::classify::Kind;
use super::inline::label_of;
use super::signature::is_sig_dash;
use crate::mailtext::quote::strip_quote_prefix;
use crate::mailtext::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Patterns over the line codes, named after the rule that uses them.
struct Patterns {
    at_end: Regex,
    marker_no_quote: Regex,
    marker_quote: Regex,
    trailing_quote: Regex,
    header_fix: Regex,
    header_cut: Regex,
    header_run: Regex,
    trailing_empty_quote: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        at_end: re(r"^b[^t]+t[et]*$"),
        marker_no_quote: re(r"te*b[^q]*$"),
        marker_quote: re(r"te*b[eqbh]*([te]*)$"),
        trailing_quote: re(r"t?e*[qbe]+$"),
        header_fix: re(r"h+[hte]+h+e"),
        header_cut: re(r"t[eq]*h{3,}"),
        header_run: re(r"h{2,}"),
        trailing_empty_quote: re(r"[eq]+$"),
    })
}

// ---------------------------------------------------------------------------------------

/// Whether the lines after a (non `--`) delimiter look like content rather than a signature:
/// a section heading ("Comments for the committee:") or more than ten lines of text.
fn delimiter_followed_by_content(lines: &[String], kinds: &[Kind], items: &[usize]) -> bool {
    let mut text_lines = 0;
    for &i in items {
        match kinds[i] {
            Kind::Quote | Kind::Marker | Kind::Header => break,
            Kind::Empty | Kind::Delimiter | Kind::Signature => {}
            Kind::Text => {
                text_lines += 1;
                let t = lines[i].trim();
                let t = t.trim_end_matches(['*', '_']);
                if (t.ends_with(':') || t.ends_with('：')) && t.chars().count() <= 80 {
                    return true;
                }
                if t.starts_with('#') && !t.starts_with("##########") {
                    return true;
                }
            }
        }
    }
    text_lines > 10
}

fn pattern_of(kinds: &[Kind], items: &[usize]) -> String {
    items.iter().map(|&i| kinds[i].code()).collect()
}

/// Applies the trimming rules and returns the indices of the kept lines.
pub(super) fn select_kept(lines: &[String], kinds_in: &[Kind]) -> Vec<usize> {
    let p = patterns();
    let mut kinds = kinds_in.to_vec();
    let mut items: Vec<usize> = (0..lines.len()).collect();

    // 1. Cut at the first signature delimiter. A decorative rule (`-----`, `***`) followed by
    //    more content is kept as a blank separator instead.
    let mut pos = 0;
    while pos < items.len() {
        let i = items[pos];
        if kinds[i] == Kind::Delimiter {
            if !is_sig_dash(&lines[i])
                && delimiter_followed_by_content(lines, &kinds, &items[pos + 1..])
            {
                kinds[i] = Kind::Empty;
            } else {
                items.truncate(pos);
                break;
            }
        }
        pos += 1;
    }

    // 2. Remove mobile signatures.
    items.retain(|&i| kinds[i] != Kind::Signature);

    let pat = pattern_of(&kinds, &items);

    // No text at all (a message made only of quotes): keep the quoted text itself.
    if !pat.contains('t') {
        let mut kept: Vec<usize> = items
            .iter()
            .copied()
            .filter(|&i| matches!(kinds[i], Kind::Quote | Kind::Empty))
            .collect();
        let has_content = |i: &usize| !strip_quote_prefix(&lines[*i]).trim().is_empty();
        while kept.last().is_some_and(|i| !has_content(i)) {
            kept.pop();
        }
        let first = kept.iter().position(has_content).unwrap_or(kept.len());
        kept.drain(..first);
        return kept;
    }

    // 3. The reply is at the end, below an attribution and a quote.
    if p.at_end.is_match(&pat) {
        let mut start = pat.find('t').unwrap_or(0);
        // Keep the quoted label or question the reply answers ("> Score: (1-5)" then "4").
        let mut j = start;
        while j > 0 {
            j -= 1;
            let line = &lines[items[j]];
            match kinds[items[j]] {
                Kind::Empty => continue,
                Kind::Quote if strip_quote_prefix(line).trim().is_empty() => continue,
                Kind::Quote => {
                    let content = strip_quote_prefix(line).trim_end();
                    if label_of(content).is_some() || content.ends_with('?') {
                        start = j;
                    }
                    break;
                }
                _ => break,
            }
        }
        items.drain(..start);
        items.retain(|&i| kinds[i] != Kind::Marker);
        return items;
    }

    // 4. An embedded message introduced by a marker and not quoted: keep up to the marker.
    if let Some(m) = p.marker_no_quote.find(&pat) {
        items.truncate(m.start() + 1);
    } else if let Some(c) = p.marker_quote.captures(&pat) {
        // 5. A marker followed by a quote and at most a short text tail (a signature).
        let tail_text = c.get(1).map_or(0, |g| g.as_str().matches('t').count());
        if tail_text < 7 {
            if let Some(m) = c.get(0) {
                items.truncate(m.start() + 1);
            }
        }
    }

    // 6. Text followed by a quote that runs to the end: drop the quote.
    let pat = pattern_of(&kinds, &items);
    if let Some(m) = p.trailing_quote.find(&pat) {
        if pat[m.start()..].starts_with('t') {
            items.truncate(m.start() + 1);
        }
    }

    // 7. Remaining markers are removed.
    items.retain(|&i| kinds[i] != Kind::Marker);

    // 8. Header blocks: a header value wrapped over several lines belongs to the block.
    let pat = pattern_of(&kinds, &items);
    if let Some(m) = p.header_fix.find(&pat) {
        if m.len() <= 16 {
            for &i in &items[m.start()..m.end()] {
                kinds[i] = Kind::Header;
            }
        }
    }
    // 9. Text followed by at least three headers: the rest is an Outlook-style quote.
    let pat = pattern_of(&kinds, &items);
    if let Some(m) = p.header_cut.find(&pat) {
        items.truncate(m.start() + 1);
    }
    // 10. Remaining runs of headers are removed; a lone header-like line is text.
    let pat = pattern_of(&kinds, &items);
    let mut drop: HashSet<usize> = HashSet::new();
    for m in p.header_run.find_iter(&pat) {
        drop.extend(items[m.start()..m.end()].iter().copied());
    }
    items.retain(|i| !drop.contains(i));

    // 11. Trailing quotes after the text are removed.
    let pat = pattern_of(&kinds, &items);
    if pat.contains('t') {
        if let Some(m) = p.trailing_empty_quote.find(&pat) {
            items.truncate(m.start());
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::super::trim_reply;
    use super::*;

    #[test]
    fn code_patterns_compile() {
        let p = patterns();
        assert!(p.at_end.is_match("bqqet"));
        assert!(p.trailing_quote.is_match("teqq"));
    }

    #[test]
    fn decorative_rule_before_a_section_is_kept() {
        let t = trim_reply("Score: 4\n\n---\n\nComments for the committee:\nSolid.\n");
        assert!(
            t.kept.contains("Comments for the committee:\nSolid."),
            "{t:?}"
        );
    }
}
