//! `[templates] dir` and `[conference] language`: a chair's own wording of
//! the mails. The files are read once, here, when the config is loaded (at
//! start and by `cfpd check`); `outbox::custom` renders them. A template a
//! chair has not overridden stays the compiled built-in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;

/// `[templates]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTemplates {
    pub(super) dir: Option<String>,
}

/// One override file.
#[derive(Debug, Clone)]
pub struct OverrideFile {
    /// Where it was read from (for errors at file:line).
    pub path: PathBuf,
    /// Its text.
    pub source: String,
}

/// The chair's override files, by the built-in template name they replace
/// (`ack.txt`, `reject/too_large.txt`), after the language choice: for each
/// name `NAME.<language>.txt` when present, else `NAME.txt`.
#[derive(Debug, Default)]
pub struct Overrides {
    /// `[templates] dir`, resolved; `None` when the chair overrides nothing.
    pub dir: Option<PathBuf>,
    /// `[conference] language`, if set.
    pub language: Option<String>,
    /// Template name → the file that replaces it.
    pub files: BTreeMap<String, OverrideFile>,
    /// Language files for another language than `[conference] language`
    /// (`cfpd check` names them: they are not used).
    pub other_languages: Vec<PathBuf>,
    /// The template engine over these files, built on first use by
    /// `outbox::custom` (which holds the built-in sources that includes
    /// fall back to).
    pub engine: OnceLock<minijinja::Environment<'static>>,
}

impl Overrides {
    /// The file that replaces `name`, if any.
    pub fn get(&self, name: &str) -> Option<&OverrideFile> {
        self.files.get(name)
    }
}

/// A language tag as the file names carry it: letters, digits and `-`
/// (`de`, `pt-BR`), so `NAME.<lang>.txt` is unambiguous.
fn valid_language(l: &str) -> bool {
    !l.is_empty() && l.len() <= 16 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Validate `[conference] language` and read `[templates] dir`: every
/// `.txt` file in it and in its `reject/` folder, language files chosen.
pub(super) fn overrides(
    loc: &Locator<'_>,
    raw: &RawTemplates,
    language: Option<&str>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Arc<Overrides>, ConfigError> {
    if let Some(l) = language {
        if !valid_language(l) {
            return Err(loc.err(
                "conference",
                "language",
                &format!("{l:?} is not a language tag like \"de\" or \"pt-BR\""),
            ));
        }
    }
    let Some(d) = raw.dir.as_deref() else {
        return Ok(Arc::new(Overrides {
            language: language.map(String::from),
            ..Overrides::default()
        }));
    };
    let dir = resolve(d);
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for sub in ["", "reject/"] {
        let folder = dir.join(sub);
        let entries = match std::fs::read_dir(&folder) {
            Ok(e) => e,
            Err(_) if !sub.is_empty() => continue,
            Err(e) => {
                return Err(loc.err(
                    "templates",
                    "dir",
                    &format!("cannot read the folder {}: {e}", dir.display()),
                ))
            }
        };
        for e in entries.flatten() {
            let path = e.path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            if path.is_file() && file.ends_with(".txt") {
                found.push((format!("{sub}{file}"), path));
            }
        }
    }
    found.sort();
    let mut files = BTreeMap::new();
    let mut localized = BTreeMap::new();
    let mut other_languages = Vec::new();
    for (name, path) in found {
        let source = std::fs::read_to_string(&path).map_err(|e| {
            loc.err(
                "templates",
                "dir",
                &format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let stem = name.trim_end_matches(".txt");
        // `ack.de.txt`: the part after the last dot is a language.
        match stem.rsplit_once('.') {
            Some((base, lang)) => {
                if Some(lang) == language {
                    localized.insert(format!("{base}.txt"), OverrideFile { path, source });
                } else {
                    other_languages.push(path);
                }
            }
            None => {
                files.insert(name, OverrideFile { path, source });
            }
        }
    }
    files.extend(localized);
    Ok(Arc::new(Overrides {
        dir: Some(dir),
        language: language.map(String::from),
        files,
        other_languages,
        engine: OnceLock::new(),
    }))
}
