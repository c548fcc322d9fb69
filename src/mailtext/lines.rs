//! Line helpers shared by the HTML renderer and reply trimming.

/// Whether a line holds nothing visible (whitespace and zero-width characters only).
pub(crate) fn is_empty_line(line: &str) -> bool {
    line.chars()
        .all(|c| c.is_whitespace() || matches!(c, '\u{200b}' | '\u{200c}' | '\u{feff}'))
}

/// Joins lines with `\n`, trimming trailing whitespace on each line and dropping leading and
/// trailing empty lines.
pub(crate) fn join_trimmed<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let lines: Vec<&str> = lines.map(|l| l.trim_end()).collect();
    let start = lines.iter().position(|l| !is_empty_line(l));
    let end = lines.iter().rposition(|l| !is_empty_line(l));
    match (start, end) {
        (Some(s), Some(e)) if s <= e => lines[s..=e].join("\n"),
        _ => String::new(),
    }
}
