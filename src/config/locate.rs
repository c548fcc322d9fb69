//! Where in `cfpd.toml` a problem is. Lines and dotted keys come from the
//! spans the `toml` crate records while parsing (its `Spanned` tree), never
//! from scanning the text a second time: dotted keys (`a.b = 1`, or
//! `b.c = 2` inside `[x]`), quoted keys and arrays of tables all point at
//! the line that holds them.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ConfigError;

/// The config source with its parsed span tree, for errors found while
/// deserializing or validating.
pub(super) struct Locator<'a> {
    src: &'a str,
    path: &'a Path,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Locator<'a> {
    /// Parse `src` for its spans. A syntax error is reported by the
    /// deserializer; whatever parsed before and after it still locates keys.
    pub(super) fn new(src: &'a str, path: &'a Path) -> Self {
        let (root, _errors) = DeTable::parse_recoverable(src);
        Locator { src, path, root }
    }

    /// The 1-based line of a byte offset.
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.src[..offset.min(self.src.len())].matches('\n').count() + 1
    }

    /// An error at a byte offset of the source (from a `Spanned` value).
    pub(super) fn err_at(&self, offset: usize, key: &str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of(offset),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// An error about `key` of `table` (dotted for nested tables, e.g.
    /// `proposals.word_limits`), at the key's line; at the table's header
    /// when the key is missing, line 1 when the table is too.
    pub(super) fn err(&self, table: &str, key: &str, message: &str) -> ConfigError {
        let path: Vec<&str> = table.split('.').chain([key]).collect();
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of_path(&path),
            key: format!("{table}.{key}"),
            message: message.to_string(),
        }
    }

    /// The line of the key at `path`, or of the deepest table on the way that exists.
    fn line_of_path(&self, path: &[&str]) -> usize {
        let mut line = 1;
        let mut table = self.root.get_ref();
        for (depth, name) in path.iter().enumerate() {
            let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == name) else {
                return line;
            };
            if depth + 1 == path.len() {
                return self.line_of(k.span().start);
            }
            match v.get_ref() {
                DeValue::Table(t) => {
                    line = self.line_of(v.span().start);
                    table = t;
                }
                _ => return line,
            }
        }
        line
    }

    /// The dotted key a deserializer error at `offset` is about: the deepest
    /// key whose name or value holds the offset (array-of-tables elements
    /// without their index, `reminders.name`); else the table whose header
    /// comes last before it; else `(top level)`, or `(end of file)` past the last line.
    pub(super) fn dotted_key_at(&self, offset: usize) -> String {
        if self.line_of(offset) > self.src.lines().count() {
            return "(end of file)".into();
        }
        let mut path = Vec::new();
        if entry_at(self.root.get_ref(), offset, &mut path) {
            return path.join(".");
        }
        let mut best = None;
        last_header(self.root.get_ref(), offset, &mut Vec::new(), &mut best);
        best.map_or_else(|| "(top level)".into(), |(_, p)| p.join("."))
    }
}

/// Whether `span` holds `offset` (an empty span holds its own start).
fn holds(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The tables inside a value: itself, or the elements of an array of tables.
fn tables<'t, 'i>(v: &'t DeValue<'i>) -> Vec<&'t DeTable<'i>> {
    match v {
        DeValue::Table(t) => vec![t],
        DeValue::Array(a) => a
            .iter()
            .filter_map(|e| match e.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Fill `path` with the deepest key whose name or value holds `offset`.
fn entry_at(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (k, v) in table.iter() {
        path.push(k.get_ref().to_string());
        if tables(v.get_ref())
            .into_iter()
            .any(|t| entry_at(t, offset, path))
        {
            return true;
        }
        if holds(&k.span(), offset) || holds(&v.span(), offset) {
            return true;
        }
        path.pop();
    }
    false
}

/// The explicit table (`[x]` or `[[x]]`, not a dotted key's implicit one)
/// whose header starts last at or before `offset`.
fn last_header(
    table: &DeTable<'_>,
    offset: usize,
    path: &mut Vec<String>,
    best: &mut Option<(usize, Vec<String>)>,
) {
    for (k, v) in table.iter() {
        path.push(k.get_ref().to_string());
        let header = v.span();
        let explicit = header != k.span() && matches!(v.get_ref(), DeValue::Table(_));
        if explicit
            && header.start <= offset
            && best.as_ref().is_none_or(|(s, _)| header.start > *s)
        {
            *best = Some((header.start, path.clone()));
        }
        if let DeValue::Array(a) = v.get_ref() {
            for e in a.iter() {
                let s = e.span();
                if matches!(e.get_ref(), DeValue::Table(_))
                    && s.start <= offset
                    && best.as_ref().is_none_or(|(b, _)| s.start > *b)
                {
                    *best = Some((s.start, path.clone()));
                }
            }
        }
        for t in tables(v.get_ref()) {
            last_header(t, offset, path, best);
        }
        path.pop();
    }
}
