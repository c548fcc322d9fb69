//! A chair's own wording of the mails (`[templates] dir`), rendered at run
//! time with minijinja against the same data the compiled askama template
//! gets (every template context derives `Serialize`). The built-in sources
//! are compiled in twice: as askama templates (the defaults) and as text
//! (below), so an override can include a built-in part (`_record.txt`) and
//! `cfpd templates export` can write them out. The built-ins are written in
//! the syntax both engines read alike, and a unit test renders every one
//! through both and compares the bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config::Overrides;

/// Every built-in template: its name (the file name an override uses) and
/// its source.
pub const BUILTIN: &[(&str, &str)] = &[
    ("_contact.txt", include_str!("../../templates/_contact.txt")),
    (
        "_decision_foot.txt",
        include_str!("../../templates/_decision_foot.txt"),
    ),
    (
        "_decision_head.txt",
        include_str!("../../templates/_decision_head.txt"),
    ),
    ("_howto.txt", include_str!("../../templates/_howto.txt")),
    ("_record.txt", include_str!("../../templates/_record.txt")),
    (
        "_review_form.txt",
        include_str!("../../templates/_review_form.txt"),
    ),
    (
        "_review_scale.txt",
        include_str!("../../templates/_review_scale.txt"),
    ),
    ("_topics.txt", include_str!("../../templates/_topics.txt")),
    ("ack.txt", include_str!("../../templates/ack.txt")),
    (
        "assignment.txt",
        include_str!("../../templates/assignment.txt"),
    ),
    (
        "chair_decided.txt",
        include_str!("../../templates/chair_decided.txt"),
    ),
    (
        "chair_request.txt",
        include_str!("../../templates/chair_request.txt"),
    ),
    (
        "chair_understood.txt",
        include_str!("../../templates/chair_understood.txt"),
    ),
    ("closed.txt", include_str!("../../templates/closed.txt")),
    (
        "confirmed.txt",
        include_str!("../../templates/confirmed.txt"),
    ),
    (
        "decision_accepted.txt",
        include_str!("../../templates/decision_accepted.txt"),
    ),
    (
        "decision_rejected.txt",
        include_str!("../../templates/decision_rejected.txt"),
    ),
    (
        "decision_waitlisted.txt",
        include_str!("../../templates/decision_waitlisted.txt"),
    ),
    ("declined.txt", include_str!("../../templates/declined.txt")),
    ("digest.txt", include_str!("../../templates/digest.txt")),
    ("draft.txt", include_str!("../../templates/draft.txt")),
    ("help.txt", include_str!("../../templates/help.txt")),
    (
        "last_call.txt",
        include_str!("../../templates/last_call.txt"),
    ),
    (
        "promotion.txt",
        include_str!("../../templates/promotion.txt"),
    ),
    ("receipt.txt", include_str!("../../templates/receipt.txt")),
    (
        "reject/assignment_mismatch.txt",
        include_str!("../../templates/reject/assignment_mismatch.txt"),
    ),
    (
        "reject/assignment_released.txt",
        include_str!("../../templates/reject/assignment_released.txt"),
    ),
    (
        "reject/attachments.txt",
        include_str!("../../templates/reject/attachments.txt"),
    ),
    (
        "reject/cfp_closed.txt",
        include_str!("../../templates/reject/cfp_closed.txt"),
    ),
    (
        "reject/chair_command_unclear.txt",
        include_str!("../../templates/reject/chair_command_unclear.txt"),
    ),
    (
        "reject/chair_confirmation_used.txt",
        include_str!("../../templates/reject/chair_confirmation_used.txt"),
    ),
    (
        "reject/chair_mismatch.txt",
        include_str!("../../templates/reject/chair_mismatch.txt"),
    ),
    (
        "reject/chair_without_token.txt",
        include_str!("../../templates/reject/chair_without_token.txt"),
    ),
    (
        "reject/confirmation_unclear.txt",
        include_str!("../../templates/reject/confirmation_unclear.txt"),
    ),
    (
        "reject/proposal_token_expired.txt",
        include_str!("../../templates/reject/proposal_token_expired.txt"),
    ),
    (
        "reject/proposal_withdrawn.txt",
        include_str!("../../templates/reject/proposal_withdrawn.txt"),
    ),
    (
        "reject/reply_without_token.txt",
        include_str!("../../templates/reject/reply_without_token.txt"),
    ),
    (
        "reject/review_closed.txt",
        include_str!("../../templates/reject/review_closed.txt"),
    ),
    (
        "reject/review_form.txt",
        include_str!("../../templates/reject/review_form.txt"),
    ),
    (
        "reject/review_of_withdrawn.txt",
        include_str!("../../templates/reject/review_of_withdrawn.txt"),
    ),
    (
        "reject/review_without_token.txt",
        include_str!("../../templates/reject/review_without_token.txt"),
    ),
    (
        "reject/reviewer_mismatch.txt",
        include_str!("../../templates/reject/reviewer_mismatch.txt"),
    ),
    (
        "reject/sender_mismatch.txt",
        include_str!("../../templates/reject/sender_mismatch.txt"),
    ),
    (
        "reject/token_expired.txt",
        include_str!("../../templates/reject/token_expired.txt"),
    ),
    (
        "reject/too_large.txt",
        include_str!("../../templates/reject/too_large.txt"),
    ),
    (
        "reject/update_not_understood.txt",
        include_str!("../../templates/reject/update_not_understood.txt"),
    ),
    (
        "reject/withdraw_without_token.txt",
        include_str!("../../templates/reject/withdraw_without_token.txt"),
    ),
    ("released.txt", include_str!("../../templates/released.txt")),
    (
        "remind_confirm.txt",
        include_str!("../../templates/remind_confirm.txt"),
    ),
    (
        "remind_drafts.txt",
        include_str!("../../templates/remind_drafts.txt"),
    ),
    (
        "remind_reviews.txt",
        include_str!("../../templates/remind_reviews.txt"),
    ),
    (
        "review_help.txt",
        include_str!("../../templates/review_help.txt"),
    ),
    ("updated.txt", include_str!("../../templates/updated.txt")),
    (
        "chair_edit.txt",
        include_str!("../../templates/chair_edit.txt"),
    ),
    ("restored.txt", include_str!("../../templates/restored.txt")),
    ("forward.txt", include_str!("../../templates/forward.txt")),
    (
        "bid_invite.txt",
        include_str!("../../templates/bid_invite.txt"),
    ),
    (
        "bid_receipt.txt",
        include_str!("../../templates/bid_receipt.txt"),
    ),
    (
        "remind_bids.txt",
        include_str!("../../templates/remind_bids.txt"),
    ),
    (
        "reject/bidder_mismatch.txt",
        include_str!("../../templates/reject/bidder_mismatch.txt"),
    ),
    (
        "reject/bids_not_understood.txt",
        include_str!("../../templates/reject/bids_not_understood.txt"),
    ),
    (
        "person_will_answer.txt",
        include_str!("../../templates/person_will_answer.txt"),
    ),
    (
        "withdrawn.txt",
        include_str!("../../templates/withdrawn.txt"),
    ),
];

/// The built-in source of `name`.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A mail template: its askama rendering is the default, an override of
/// [`Mail::NAME`] replaces it.
pub trait Mail: askama::Template + Serialize {
    /// The template's file name under `templates/` (and in an override folder).
    const NAME: &'static str;

    /// The mail's text: the chair's override of [`Mail::NAME`] when there
    /// is one, else the built-in. An override that fails on this data
    /// (`cfpd check` renders sample data, which may not reach every branch)
    /// is logged and the built-in is sent instead: the speaker still gets an
    /// answer, and the chair sees why in the log.
    fn text(&self, set: &Overrides) -> askama::Result<String> {
        if let Some(o) = override_text(self, Self::NAME, set) {
            match o {
                Ok(t) => return Ok(t),
                Err(e) => tracing::warn!(template = Self::NAME, "{e}; sending the built-in text"),
            }
        }
        self.render()
    }

    /// This mail behind a trait object, for code that picks one of
    /// several templates (the refusals).
    fn boxed<'a>(self) -> Box<dyn AnyMail + 'a>
    where
        Self: Sized + 'a,
    {
        Box::new(self)
    }
}

/// Any [`Mail`], as a trait object.
pub trait AnyMail {
    /// [`Mail::text`].
    fn text_in(&self, set: &Overrides) -> askama::Result<String>;
    /// Its sample for `cfpd check`.
    fn sample(&self) -> Sample;
}

impl<M: Mail> AnyMail for M {
    fn text_in(&self, set: &Overrides) -> askama::Result<String> {
        self.text(set)
    }

    fn sample(&self) -> Sample {
        sample(self)
    }
}

/// Implement [`Mail`] for template structs: `mail!(Ack => "ack.txt", …)`.
#[macro_export]
macro_rules! mail {
    ($($t:ident => $name:literal),* $(,)?) => {
        $(impl $crate::outbox::custom::Mail for $t<'_> {
            const NAME: &'static str = $name;
        })*
    };
}

/// An override that could not be rendered, at the file and line to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct OverrideError {
    /// The override file (or `built-in NAME` for a built-in part).
    pub path: PathBuf,
    /// 1-based line, 0 when the engine names none.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The rendering of `name` by its override with `ctx`, or `None` when
/// `name` has no override.
fn override_text<T: Serialize + ?Sized>(
    ctx: &T,
    name: &str,
    set: &Overrides,
) -> Option<Result<String, OverrideError>> {
    set.get(name)?;
    Some(render_runtime(name, ctx, set))
}

/// Render `name` with minijinja over `set` (overrides first, built-ins
/// for everything else, includes too).
pub fn render_runtime<T: Serialize + ?Sized>(
    name: &str,
    ctx: &T,
    set: &Overrides,
) -> Result<String, OverrideError> {
    let env = engine(set);
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| located(&e, set))
}

/// A minijinja environment for the text of a mail a chair wrote (an
/// override, a `cfpd mail` template): a placeholder the data does not have
/// is an error, not an empty string, and nothing is HTML-escaped.
pub fn text_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// The engine over `set`, built once per override set.
fn engine(set: &Overrides) -> &Environment<'static> {
    set.engine.get_or_init(|| {
        // askama drops a template's last newline, and so does minijinja by
        // default: the two must agree byte for byte.
        let mut env = text_environment();
        let files: BTreeMap<String, String> = set
            .files
            .iter()
            .map(|(n, f)| (n.clone(), f.source.clone()))
            .collect();
        env.set_loader(move |name| {
            Ok(files
                .get(name)
                .cloned()
                .or_else(|| builtin(name).map(String::from)))
        });
        env
    })
}

/// A minijinja error as the file and line a chair edits.
fn located(e: &minijinja::Error, set: &Overrides) -> OverrideError {
    // The innermost error names the template it happened in (an include).
    let mut inner: &minijinja::Error = e;
    while let Some(src) =
        std::error::Error::source(inner).and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        inner = src;
    }
    let name = inner.name().or(e.name()).unwrap_or("?");
    let path = match set.get(name) {
        Some(f) => f.path.clone(),
        None => PathBuf::from(format!("built-in {name}")),
    };
    let message = match inner.detail() {
        Some(d) => format!("{}: {d}", inner.kind()),
        None => inner.kind().to_string(),
    };
    OverrideError {
        path,
        line: inner.line().unwrap_or(0),
        message,
    }
}

/// One mail rendered with sample data: what the built-in says and the
/// context an override gets.
pub struct Sample {
    /// The template name.
    pub name: &'static str,
    /// The built-in (askama) text.
    pub builtin: String,
    /// The data, as an override sees it.
    pub ctx: minijinja::Value,
}

/// A sample of mail `m`.
pub fn sample<M: Mail>(m: &M) -> Sample {
    Sample {
        name: M::NAME,
        builtin: m
            .render()
            .unwrap_or_else(|e| format!("(template error: {e})")),
        ctx: minijinja::Value::from_serialize(m),
    }
}

/// An "undefined value" error says which placeholder of its line this
/// mail does not have, and which ones it has (minijinja names neither).
fn name_the_unknown(e: &mut OverrideError, set: &Overrides, ctx: &minijinja::Value) {
    if !e.message.starts_with("undefined value") {
        return;
    }
    let Some(line) = set
        .files
        .values()
        .find(|f| f.path == e.path)
        .and_then(|f| f.source.lines().nth(e.line.saturating_sub(1)))
    else {
        return;
    };
    let known: Vec<String> = ctx
        .try_iter()
        .map(|keys| keys.map(|k| k.to_string()).collect())
        .unwrap_or_default();
    let words = regex::Regex::new(r"\{[{%]-?\s*(?:if\s+|elif\s+|for\s+\w+\s+in\s+)?([A-Za-z_]\w*)")
        .expect("a valid pattern");
    let unknown: Vec<&str> = words
        .captures_iter(line)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .filter(|w| !known.iter().any(|k| k == w))
        .filter(|w| {
            !matches!(
                *w,
                "loop" | "endif" | "endfor" | "else" | "include" | "set" | "not"
            )
        })
        .collect();
    if let Some(u) = unknown.first() {
        e.message = format!(
            "unknown placeholder `{u}`: this mail has {}",
            known.join(", ")
        );
    }
}

/// What `cfpd check` says about an override folder.
#[derive(Debug, Default)]
pub struct Findings {
    /// Overrides that do not render: syntax errors, unknown placeholders.
    pub errors: Vec<OverrideError>,
    /// Lines over 78 characters, files that replace nothing.
    pub warnings: Vec<String>,
}

/// Render every mail of `samples` through the override set and report
/// what a chair must fix (errors at file:line) and what they should look
/// at (long lines in a mail an override changed, files that replace no
/// built-in template).
pub fn check(set: &Overrides, samples: &[Sample]) -> Findings {
    let mut out = Findings::default();
    for (name, f) in &set.files {
        if builtin(name).is_none() {
            out.warnings.push(format!(
                "{}: replaces no mail cfpd sends (`cfpd templates export DIR` \
                 writes every name)",
                f.path.display()
            ));
        }
    }
    for p in &set.other_languages {
        out.warnings.push(format!(
            "{}: not used ([conference] language is {})",
            p.display(),
            set.language
                .as_deref()
                .map_or("not set".to_string(), |l| format!("{l:?}"))
        ));
    }
    if set.files.is_empty() {
        return out;
    }
    let mut long_seen = std::collections::BTreeSet::new();
    for s in samples {
        match render_runtime(s.name, &s.ctx, set) {
            Err(mut e) => {
                name_the_unknown(&mut e, set, &s.ctx);
                if !out.errors.contains(&e) {
                    out.errors.push(e);
                }
            }
            Ok(text) if text != s.builtin => {
                let shown = set
                    .get(s.name)
                    .map(|f| f.path.display().to_string())
                    .unwrap_or_else(|| format!("{} (with your parts)", s.name));
                for (i, l) in text.lines().enumerate() {
                    let n = l.chars().count();
                    if n > 78 && long_seen.insert((shown.clone(), l.to_string())) {
                        out.warnings.push(format!(
                            "{shown}: line {} of the sample mail has {n} characters \
                             (keep lines within 78): {l}",
                            i + 1
                        ));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// A template file nobody listed in [`super::BUILTIN`] could be neither
    /// overridden nor exported: every file of `templates/` is listed.
    #[test]
    fn every_template_file_is_a_builtin() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut missing = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                let name = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if name.ends_with(".txt") && super::builtin(&name).is_none() {
                    missing.push(name);
                }
            }
        }
        assert!(missing.is_empty(), "not in BUILTIN: {missing:?}");
    }
}
