//! `[database]`: where the store lives and how long the instance lease lasts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    #[serde(default = "default_db")]
    pub(super) url: String,
    #[serde(default = "default_lease_seconds")]
    pub(super) lease_seconds: u64,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            url: default_db(),
            lease_seconds: default_lease_seconds(),
        }
    }
}

fn default_lease_seconds() -> u64 {
    15
}

fn default_db() -> String {
    "sqlite://cfpd.db".into()
}

/// Validate `[database]`: the URL (a relative SQLite file is resolved against
/// the config's folder) and the lease.
pub(super) fn database(
    loc: &Locator<'_>,
    d: &RawDatabase,
    base: &Path,
) -> Result<(String, Duration), ConfigError> {
    let database_url = resolve_db_url(&d.url, base)
        .ok_or_else(|| loc.err("database", "url", "expected sqlite://FILE or postgres://…"))?;
    if !(2..=3600).contains(&d.lease_seconds) {
        return Err(loc.err(
            "database",
            "lease_seconds",
            "expected 2 to 3600 (seconds; 15 is the default)",
        ));
    }
    let lease = Duration::from_secs(d.lease_seconds);
    Ok((database_url, lease))
}

fn resolve_db_url(url: &str, base: &Path) -> Option<String> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let (file, query) = match rest.split_once('?') {
            Some((f, q)) => (f, Some(q)),
            None => (rest, None),
        };
        if file.is_empty() {
            return None;
        }
        let p = if file == ":memory:" || Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            base.join(file)
        };
        let mut s = format!("sqlite://{}", p.display());
        if let Some(q) = query {
            s.push('?');
            s.push_str(q);
        }
        Some(s)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(url.to_string())
    } else {
        None
    }
}
