//! The invariants ARCHITECTURE.md states, checked against the source text.
//!
//! These are absences: what a module must not import, how long a file or a
//! function may grow, which shapes of code must not appear at all. A prose
//! rule drifts; this test fails the build the day one is broken, naming the
//! file and line. The checks read the code as text (no parser): they are
//! deliberately simple and rustfmt-shaped, which is what the tree is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 1_200;
const MAX_FN_LINES: usize = 150;

/// The rooms that decide or compute and must stay free of I/O. A path ending
/// in `/` is a folder (everything below it); otherwise one file.
const PURE: &[&str] = &[
    "src/model/",
    "src/calendar/",
    "src/intake/classify/",
    "src/intake/decide/",
    "src/assign/",
    "src/topics/",
    "src/mailtext/",
    "src/proposal/",
    "src/decision/",
    "src/fix/",
];

/// Files inside a pure room that are its I/O edge, named here so that the
/// exception is visible and reviewed.
const PURE_EXCEPTIONS: &[&str] = &["src/assign/commit.rs", "src/decision/notify.rs"];

/// What "I/O" means for the purity rule: the database, the runtime, SMTP.
const IMPURE_CRATES: &[&str] = &["sqlx", "tokio", "lettre"];

fn src_files() -> Vec<PathBuf> {
    rust_files(&["src"])
}

/// Every `.rs` file below the given folders of the crate, sorted.
fn rust_files(folders: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack: Vec<PathBuf> = folders.iter().map(|f| root.join(f)).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `src/...` with forward slashes, for messages and for matching `PURE`.
fn rel(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .expect("under the crate")
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read source file")
}

/// The text with `//` comments removed (doc comments included), so that a
/// doc sentence naming a crate is not taken for a use of it. String
/// literals are kept: the rules below look for code shapes, not words.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => l[..i].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// Line ranges (0-based, inclusive) of `#[cfg(test)]` items: unit tests may
/// be long and may use anything.
fn test_ranges(lines: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("#[cfg(test)]") {
            if let Some(end) = item_end(lines, i + 1) {
                out.push((i, end));
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

/// The line of the closing brace of the item starting at `start`
/// (rustfmt puts it alone at the item's indentation), or `None` for an item
/// without a body.
fn item_end(lines: &[String], start: usize) -> Option<usize> {
    let ind = indent(lines.get(start)?);
    let mut k = start;
    while k < lines.len() {
        let t = lines[k].trim_end();
        if t.ends_with('{') {
            break;
        }
        if t.ends_with(';') {
            return None;
        }
        k += 1;
    }
    (k + 1..lines.len()).find(|&e| {
        let l = &lines[e];
        indent(l) == ind && l.trim_start().starts_with('}')
    })
}

fn in_ranges(ranges: &[(usize, usize)], i: usize) -> bool {
    ranges.iter().any(|&(a, b)| a <= i && i <= b)
}

#[test]
fn no_source_file_is_over_the_limit() {
    let big: Vec<String> = src_files()
        .iter()
        .filter_map(|p| {
            let n = read(p).lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} ({n} lines)", rel(p)))
        })
        .collect();
    assert!(
        big.is_empty(),
        "files over {MAX_FILE_LINES} lines (split where a seam shows): {big:#?}"
    );
}

#[test]
fn no_production_function_is_over_the_limit() {
    let fn_start = regex::Regex::new(
        r"^\s*(pub(\([a-z]+\))? )?(const )?(async )?(unsafe )?(extern \S+ )?fn \w+",
    )
    .unwrap();
    let mut long = Vec::new();
    for p in src_files() {
        let lines = code_lines(&read(&p));
        let tests = test_ranges(&lines);
        for (i, l) in lines.iter().enumerate() {
            if in_ranges(&tests, i) || !fn_start.is_match(l) {
                continue;
            }
            if let Some(end) = item_end(&lines, i) {
                let n = end - i + 1;
                if n > MAX_FN_LINES {
                    long.push(format!("{}:{} {} ({n} lines)", rel(&p), i + 1, l.trim()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines: {long:#?}"
    );
}

#[test]
fn pure_rooms_import_no_io_crates() {
    let mut found = Vec::new();
    for p in src_files() {
        let r = rel(&p);
        let pure = PURE
            .iter()
            .any(|room| r == *room || (room.ends_with('/') && r.starts_with(room)));
        if !pure || PURE_EXCEPTIONS.contains(&r.as_str()) {
            continue;
        }
        for (i, l) in code_lines(&read(&p)).iter().enumerate() {
            for c in IMPURE_CRATES {
                let word = regex::Regex::new(&format!(r"\b{c}\s*::|\buse\s+{c}\b")).unwrap();
                if word.is_match(l) {
                    found.push(format!("{r}:{}: {}", i + 1, l.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a pure room uses sqlx, tokio or lettre (move the I/O to the pipeline): {found:#?}"
    );
}

#[test]
fn library_errors_are_typed_not_strings() {
    let shape = regex::Regex::new(r"Result<[^;{]*,\s*String\s*>").unwrap();
    let mut found = Vec::new();
    for p in src_files() {
        let r = rel(&p);
        if r == "src/main.rs" {
            continue;
        }
        let lines = code_lines(&read(&p));
        let tests = test_ranges(&lines);
        for (i, l) in lines.iter().enumerate() {
            if !in_ranges(&tests, i) && shape.is_match(l) {
                found.push(format!("{r}:{}: {}", i + 1, l.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Result<_, String> in library code: {found:#?}"
    );
}

#[test]
fn rows_are_read_by_column_name() {
    // `row.get(0)`, `try_get::<i64, _>(2)` and tuple `query_as` all read by
    // position: a reordered SELECT then silently swaps two fields.
    let positional = regex::Regex::new(
        r"\.(try_)?get(::<[^>]*>)?\(\s*\d+\s*\)|query_as::<\s*_\s*,\s*\(|query_as::<[^>]*\(\s*[A-Za-z]",
    )
    .unwrap();
    let mut found = Vec::new();
    for p in rust_files(&["src", "tests", "benches"]) {
        let r = rel(&p);
        let lines = code_lines(&read(&p));
        let uses_sqlx = lines.iter().any(|l| l.contains("sqlx"));
        if !uses_sqlx {
            continue;
        }
        for (i, l) in lines.iter().enumerate() {
            // Tests read rows too: the rule holds for them as well.
            if positional.is_match(l) {
                found.push(format!("{r}:{}: {}", i + 1, l.trim()));
            }
        }
    }
    assert!(found.is_empty(), "positional row reads: {found:#?}");
}

/// The top-level modules that `crate::<name>` paths in `file` name.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let path = regex::Regex::new(r"crate::(\w+)").unwrap();
    let group = regex::Regex::new(r"(?s)use crate::\{([^}]*)\}").unwrap();
    let name = regex::Regex::new(r"(?:^|,)\s*(\w+)").unwrap();
    let mut out: BTreeSet<String> = path.captures_iter(text).map(|c| c[1].to_string()).collect();
    for g in group.captures_iter(text) {
        out.extend(name.captures_iter(&g[1]).map(|c| c[1].to_string()));
    }
    out.remove("self");
    out
}

/// The top-level module a file belongs to: `src/store/outbox.rs` → `store`.
fn top_module(r: &str) -> String {
    let rest = r.trim_start_matches("src/");
    match rest.split_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => rest.trim_end_matches(".rs").to_string(),
    }
}

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in src_files() {
        let r = rel(&p);
        let from = top_module(&r);
        if from == "lib" || from == "main" {
            continue;
        }
        let lines = code_lines(&read(&p));
        let tests = test_ranges(&lines);
        let text: String = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !in_ranges(&tests, *i))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let deps = graph.entry(from.clone()).or_default();
        deps.extend(crate_refs(&text).into_iter().filter(|d| *d != from));
    }
    // Depth-first search for a back edge; report the first cycle found as a path.
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == d).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(d, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(n, &graph, &mut state, &mut Vec::new()) {
                panic!("module cycle: {}", cycle.join(" -> "));
            }
        }
    }
}

/// The checks above must be able to fail: each is run on a small text that
/// breaks it.
#[test]
fn the_checks_catch_what_they_look_for() {
    let long_fn: Vec<String> = std::iter::once("fn f() {".to_string())
        .chain((0..200).map(|_| "    x();".to_string()))
        .chain(std::iter::once("}".to_string()))
        .collect();
    assert_eq!(item_end(&long_fn, 0), Some(201));
    let tested: Vec<String> = ["#[cfg(test)]", "mod tests {", "    fn a() {}", "}"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(test_ranges(&tested), vec![(0, 3)]);
    assert!(crate_refs("use crate::{store, model::X};").contains("store"));
    assert!(crate_refs("let x = crate::config::Zone::Utc;").contains("config"));
    assert_eq!(top_module("src/store/outbox.rs"), "store");
    assert_eq!(top_module("src/clock.rs"), "clock");
    assert_eq!(code_lines("let a = 1; // sqlx::query"), vec!["let a = 1; "]);
}
