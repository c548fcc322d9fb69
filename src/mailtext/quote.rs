//! Quote markers: which lines are quoted, their markers stripped, and the foreign prefix styles
//! (supercite `Name>` and pipe `|`) that are rewritten to `>` before trimming.

/// Returns whether a line is quoted (`>` after optional whitespace).
pub fn is_quote_line(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Removes the quote markers (`>`, `> >`, `>>`) and the following whitespace from a line.
pub fn strip_quote_prefix(line: &str) -> &str {
    line.trim_start_matches(|c: char| c == '>' || c.is_whitespace())
}

/// Rewrites supercite-style (`Name> text`) and pipe-style (`| text`) quote prefixes to `>`.
pub(crate) fn normalize_quote_prefix(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let mut changed = false;
    let trimmed_end = line.trim_end();
    let pipe_ok = !(trimmed_end.len() > 1 && trimmed_end.ends_with('|'));
    loop {
        let start = i;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            i = start;
            break;
        }
        let next_ok = |j: usize| j >= chars.len() || matches!(chars[j], ' ' | '\t' | '>' | '|');
        if chars[i] == '>' {
            out.extend(&chars[start..=i]);
            i += 1;
            continue;
        }
        if chars[i] == '|' && pipe_ok && next_ok(i + 1) {
            out.extend(&chars[start..i]);
            out.push('>');
            changed = true;
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && j - i < 10 && chars[j].is_alphabetic() {
            j += 1;
        }
        if j > i && j < chars.len() && chars[j] == '>' && next_ok(j + 1) {
            out.extend(&chars[start..i]);
            out.push('>');
            changed = true;
            i = j + 1;
            continue;
        }
        i = start;
        break;
    }
    if !changed {
        return line.to_string();
    }
    out.extend(&chars[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_levels_and_foreign_prefixes() {
        assert!(is_quote_line("  > > deep"));
        assert!(!is_quote_line("a > b"));
        assert_eq!(strip_quote_prefix("> >> deep"), "deep");
        assert_eq!(normalize_quote_prefix("Ada> hi"), "> hi");
        assert_eq!(normalize_quote_prefix("| piped"), "> piped");
        assert_eq!(normalize_quote_prefix("> Ada> both"), "> > both");
        // A table row ending with a pipe is not a quote, nor is a word before `>` mid-line.
        assert_eq!(normalize_quote_prefix("| a | b |"), "| a | b |");
        assert_eq!(normalize_quote_prefix("a -> b"), "a -> b");
    }
}
