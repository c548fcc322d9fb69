//! `[[reminders]]`: reminder rules, validated against the deadlines they are
//! about. Errors point at the rule's own lines (from the `Spanned` values).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::locate::Locator;
use super::ConfigError;
use crate::calendar::rules::{self, Audience, Origin, Rule, TemplateName};
use crate::calendar::Zone;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReminder {
    pub(super) name: toml::Spanned<String>,
    pub(super) cron: toml::Spanned<String>,
    pub(super) audience: toml::Spanned<String>,
    #[serde(default)]
    pub(super) template: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub(super) from: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub(super) until: Option<toml::Spanned<String>>,
}

/// What a reminder rule is validated against: the zone, the deadlines and
/// whether its audience has anyone to mail.
pub(super) struct Deadlines<'z> {
    /// The conference zone.
    pub(super) zone: &'z Zone,
    /// The CFP deadline.
    pub(super) cfp: DateTime<Utc>,
    /// The review deadline, if set.
    pub(super) review: Option<DateTime<Utc>>,
    /// Whether `conference.chairs` is non-empty.
    pub(super) has_chairs: bool,
    /// Whether `[announce] addresses` is non-empty.
    pub(super) has_announce: bool,
    /// `[decisions] confirm_by`, if set.
    pub(super) confirm_by: Option<DateTime<Utc>>,
}

/// The reminder rules: the defaults generated from the deadlines when the
/// config has no `[[reminders]]`, else the tables, validated.
pub(super) fn reminders(
    loc: &Locator<'_>,
    raw: Option<&[RawReminder]>,
    d: &Deadlines<'_>,
) -> Result<Vec<Rule>, ConfigError> {
    match raw {
        None => Ok(rules::defaults(
            d.zone,
            d.cfp,
            d.review,
            d.has_chairs,
            d.has_announce,
        )),
        Some(list) => reminder_rules(loc, list, d),
    }
}

/// Validate `[[reminders]]` tables into rules. Each rule's window is
/// resolved against the deadline its audience is about.
fn reminder_rules(
    loc: &Locator<'_>,
    list: &[RawReminder],
    d: &Deadlines<'_>,
) -> Result<Vec<Rule>, ConfigError> {
    let mut out: Vec<Rule> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let rule = reminder_rule(loc, i, r, d, &out)?;
        out.push(rule);
    }
    Ok(out)
}

/// The `[[reminders]]` key `k` of rule `i`, as errors name it: `reminders[0].cron`.
fn key(i: usize, k: &str) -> String {
    format!("reminders[{i}].{k}")
}

/// Validate one `[[reminders]]` table (number `i`; `earlier` are the rules before it).
fn reminder_rule(
    loc: &Locator<'_>,
    i: usize,
    r: &RawReminder,
    d: &Deadlines<'_>,
    earlier: &[Rule],
) -> Result<Rule, ConfigError> {
    let name = rule_name(loc, i, r, earlier)?;
    let cron = rules::parse_cron(r.cron.get_ref().trim())
        .map_err(|m| loc.err_at(r.cron.span().start, &key(i, "cron"), &m.to_string()))?;
    let (audience, template) = audience_and_template(loc, i, r)?;
    let (deadline, default_until) = deadline_of(loc, i, r, audience, d)?;
    let (from, until) = window(loc, i, r, audience, default_until)?;
    let rule = Rule {
        name,
        cron,
        audience,
        template,
        deadline: Some(deadline),
        not_before: from.map(|f| deadline + f),
        not_after: Some(deadline + until),
        origin: Origin::Config {
            line: loc.line_of(r.name.span().start),
        },
    };
    // A rule whose every occurrence falls outside its window is a typo
    // (a wrong year or month), not an intention.
    // Without a start, look at the year before the deadline: a CFP is not longer.
    let lo = rule
        .not_before
        .unwrap_or(deadline - chrono::Duration::days(366));
    let hi = deadline + until;
    let fires = rule
        .latest(d.zone, lo - chrono::Duration::seconds(1), hi)
        .is_some();
    if !fires {
        return Err(loc.err_at(
            r.cron.span().start,
            &key(i, "cron"),
            &format!(
                "{:?} never fires between {} and {}, where this rule is meaningful",
                r.cron.get_ref(),
                d.zone.format(lo),
                d.zone.format(hi)
            ),
        ));
    }
    Ok(rule)
}

/// A rule's name: a short slug, unique among the rules (it keys the ledger).
fn rule_name(
    loc: &Locator<'_>,
    i: usize,
    r: &RawReminder,
    earlier: &[Rule],
) -> Result<String, ConfigError> {
    let name = r.name.get_ref().trim().to_string();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(loc.err_at(
            r.name.span().start,
            &key(i, "name"),
            "use 1-64 characters a-z, 0-9, - and _ (the name identifies the rule in the reminder ledger)",
        ));
    }
    if earlier.iter().any(|o| o.name == name) {
        return Err(loc.err_at(
            r.name.span().start,
            &key(i, "name"),
            &format!("another rule is already called {name:?}; names must be unique"),
        ));
    }
    Ok(name)
}

/// A rule's audience, and its template (the audience's default unless named;
/// a named one must fit the audience).
fn audience_and_template(
    loc: &Locator<'_>,
    i: usize,
    r: &RawReminder,
) -> Result<(Audience, TemplateName), ConfigError> {
    let audience = Audience::parse(r.audience.get_ref().trim()).ok_or_else(|| {
        loc.err_at(
            r.audience.span().start,
            &key(i, "audience"),
            &format!(
                "unknown audience {:?}: use one of {}",
                r.audience.get_ref(),
                Audience::ALL.map(|a| a.as_str()).join(", ")
            ),
        )
    })?;
    let template = match &r.template {
        None => audience.default_template(),
        Some(t) => {
            let allowed = audience.templates();
            TemplateName::parse(t.get_ref().trim())
                .filter(|n| allowed.contains(n))
                .ok_or_else(|| {
                    loc.err_at(
                        t.span().start,
                        &key(i, "template"),
                        &format!(
                            "template {:?} does not fit audience {}: use {}",
                            t.get_ref(),
                            audience.as_str(),
                            allowed
                                .iter()
                                .map(|n| n.as_str())
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    )
                })?
        }
    };
    Ok((audience, template))
}

/// The deadline a rule's audience is about, and how long after it the rule
/// stays meaningful by default; refused when the audience has nobody to mail.
fn deadline_of(
    loc: &Locator<'_>,
    i: usize,
    r: &RawReminder,
    audience: Audience,
    d: &Deadlines<'_>,
) -> Result<(DateTime<Utc>, chrono::Duration), ConfigError> {
    let at = r.audience.span().start;
    let (deadline, default_until) = match audience {
        Audience::DraftSpeakers | Audience::Announce => (d.cfp, chrono::Duration::zero()),
        Audience::PendingReviewers => match d.review {
            Some(rd) => (rd, chrono::Duration::days(rules::DEFAULT_REVIEW_GRACE_DAYS)),
            None => {
                return Err(loc.err_at(
                    at,
                    &key(i, "audience"),
                    "pending_reviewers reminders count towards the review deadline: set conference.review_deadline",
                ))
            }
        },
        Audience::Chairs => (
            d.review.unwrap_or(d.cfp),
            chrono::Duration::days(rules::DEFAULT_DIGEST_TAIL_DAYS),
        ),
        Audience::ReviewersWithoutBids => match d.review {
            Some(rd) => (rd, chrono::Duration::zero()),
            None => {
                return Err(loc.err_at(
                    at,
                    &key(i, "audience"),
                    "reviewers_without_bids reminders count towards the review deadline: set conference.review_deadline",
                ))
            }
        },
        Audience::UnconfirmedSpeakers => match d.confirm_by {
            Some(c) => (c, chrono::Duration::zero()),
            None => {
                return Err(loc.err_at(
                    at,
                    &key(i, "audience"),
                    "unconfirmed_speakers reminders count towards the confirmation deadline: set [decisions] confirm_by",
                ))
            }
        },
    };
    if audience == Audience::Chairs && !d.has_chairs {
        return Err(loc.err_at(
            at,
            &key(i, "audience"),
            "the chairs audience mails conference.chairs, which is empty",
        ));
    }
    if audience == Audience::Announce && !d.has_announce {
        return Err(loc.err_at(
            at,
            &key(i, "audience"),
            "the announce audience mails [announce] addresses, which is empty",
        ));
    }
    Ok((deadline, default_until))
}

/// A rule's window as offsets from its deadline (`from`, `until`): CFP
/// reminders end by the deadline, and the window is not empty.
fn window(
    loc: &Locator<'_>,
    i: usize,
    r: &RawReminder,
    audience: Audience,
    default_until: chrono::Duration,
) -> Result<(Option<chrono::Duration>, chrono::Duration), ConfigError> {
    let offset = |v: &Option<toml::Spanned<String>>,
                  k: &str|
     -> Result<Option<chrono::Duration>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => rules::parse_offset(s.get_ref()).map(Some).ok_or_else(|| {
                loc.err_at(
                    s.span().start,
                    &key(i, k),
                    &format!(
                        "{:?} is not an offset from the deadline: write e.g. \"-14d\", \"+2d\", \"-36h\", \"0\" (units w, d, h, m, s)",
                        s.get_ref()
                    ),
                )
            }),
        }
    };
    let from = offset(&r.from, "from")?;
    let until = offset(&r.until, "until")?.unwrap_or(default_until);
    if matches!(audience, Audience::DraftSpeakers | Audience::Announce)
        && until > chrono::Duration::zero()
    {
        let at = r
            .until
            .as_ref()
            .map_or(r.audience.span().start, |u| u.span().start);
        return Err(loc.err_at(
            at,
            &key(i, "until"),
            &format!(
                "{} reminders are about the CFP deadline and cannot fire after it (use 0 or a negative offset)",
                audience.as_str()
            ),
        ));
    }
    if from.is_some_and(|f| f >= until) {
        let at = r
            .from
            .as_ref()
            .map_or(r.name.span().start, |f| f.span().start);
        return Err(loc.err_at(at, &key(i, "from"), "must be earlier than until"));
    }
    Ok((from, until))
}
