//! `cfpd reminders [--preview [--from T] [--until T]]`.
//!
//! Without `--preview`: the rules in force, their windows and next
//! occurrences. With it: every reminder mail in the range, when and to
//! whom, listing what — computed by [`Scheduler::preview`], which plans with
//! the same code that sends.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::{load_config, open_store};
use crate::calendar::rules::Origin;
use crate::calendar::Zone;
use crate::outbox::Composer;
use crate::report::safe::terminal;
use crate::schedule::{PreviewStatus, Scheduler};

/// Parse `--from`/`--until`: RFC 3339, or a local `YYYY-MM-DD[THH:MM[:SS]]`
/// in the conference zone. A bare date is the start of that day, or its
/// last second when `end_of_day`.
pub fn parse_time(s: &str, zone: &Zone, end_of_day: bool) -> anyhow::Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| {
            if end_of_day {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            }
        })
    });
    let Some(local) = local else {
        bail!("{s:?} is not a time: write 2024-04-24, 2024-04-24T09:00 (in {zone}) or an RFC 3339 instant such as 2024-04-24T09:00:00Z");
    };
    zone.local_to_utc(local)
        .with_context(|| format!("{s:?} does not exist in {zone} (a daylight-saving gap)"))
}

/// Run `cfpd reminders`.
pub async fn run(
    config: &Path,
    preview: bool,
    from: Option<&str>,
    until: Option<&str>,
) -> anyhow::Result<()> {
    let cfg = Arc::new(load_config(config)?);
    let clock = crate::clock::from_env().map_err(|e| anyhow::anyhow!(e))?;
    let now = clock.now();
    let zone = cfg.conference.zone;
    let store = open_store(&cfg).await?;
    let sched = Scheduler::new(cfg.clone(), store.clone(), Composer::new(&cfg)?);
    let mut out = std::io::stdout().lock();
    let when =
        |t: DateTime<Utc>| format!("{:<20}  {}", zone.format(t), t.format("%Y-%m-%d %H:%M UTC"));
    if !preview {
        if cfg.reminders.is_empty() {
            writeln!(
                out,
                "no reminder rules (reminders = [] in {})",
                config.display()
            )?;
            return Ok(());
        }
        if cfg.reminders.iter().all(|r| r.origin == Origin::Default) {
            writeln!(
                out,
                "default rules ({} has no [[reminders]]); times in {zone}\n",
                config.display()
            )?;
        }
        let nw = sched
            .rules()
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let cw = sched
            .rules()
            .iter()
            .map(|r| r.cron.source().len())
            .max()
            .unwrap_or(4)
            .max(4);
        let local =
            |t: Option<DateTime<Utc>>| t.map(|t| zone.format(t)).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<nw$}  {:<17}  {:<cw$}  {:<20}  {:<20}  next",
            "rule", "audience", "cron", "from", "until"
        )?;
        for r in sched.rules() {
            let next = r
                .next_in_window(&zone, now)
                .map(when)
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{:<nw$}  {:<17}  {:<cw$}  {:<20}  {:<20}  {next}",
                r.name,
                r.audience.as_str(),
                r.cron.source(),
                local(r.not_before),
                local(r.not_after),
            )?;
        }
        return Ok(());
    }
    let from = match from {
        Some(s) => parse_time(s, &zone, false).context("--from")?,
        None => now,
    };
    let until = match until {
        Some(s) => parse_time(s, &zone, true).context("--until")?,
        None => cfg
            .reminders
            .iter()
            .filter_map(|r| r.not_after)
            .max()
            .unwrap_or(from + Duration::days(30))
            .min(from + Duration::days(366)),
    };
    if until < from {
        bail!("--until is before --from");
    }
    let lines = sched.preview(from, until, now).await?;
    store.close().await;
    writeln!(
        out,
        "reminders from {} to {} (now {}); mails not yet sent are planned from the state now",
        zone.format_with_utc(from),
        zone.format_with_utc(until),
        zone.format(now)
    )?;
    if lines.is_empty() {
        writeln!(out, "no reminder mails in this range")?;
        return Ok(());
    }
    let rw = lines.iter().map(|l| l.rule.len()).max().unwrap_or(4).max(4);
    let tw = lines
        .iter()
        .map(|l| l.recipient.len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(
        out,
        "{:<20}  {:<20}  {:<rw$}  {:<7}  {:<tw$}  items",
        format!("when ({zone})"),
        "when (UTC)",
        "rule",
        "status",
        "to"
    )?;
    let indent = 20 + 2 + 20 + 2 + rw + 2 + 7 + 2 + tw + 2;
    for l in &lines {
        let mut items = l.items.iter();
        writeln!(
            out,
            "{}  {:<rw$}  {:<7}  {:<tw$}  {}",
            when(l.occurrence),
            l.rule,
            l.status.as_str(),
            terminal(&l.recipient),
            terminal(items.next().map(String::as_str).unwrap_or(""))
        )?;
        for i in items {
            writeln!(out, "{:indent$}{}", "", terminal(i))?;
        }
    }
    let recipients: HashSet<&str> = lines.iter().map(|l| l.recipient.as_str()).collect();
    let count = |s: PreviewStatus| lines.iter().filter(|l| l.status == s).count();
    writeln!(
        out,
        "{} mail(s) to {} recipient(s): {} sent, {} due, {} planned",
        lines.len(),
        recipients.len(),
        count(PreviewStatus::Sent),
        count(PreviewStatus::Due),
        count(PreviewStatus::Planned)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_local_in_the_conference_zone() {
        let aoe = Zone::AoE;
        assert_eq!(
            parse_time("2024-04-24", &aoe, false).unwrap().to_rfc3339(),
            "2024-04-24T12:00:00+00:00"
        );
        assert_eq!(
            parse_time("2024-04-24", &aoe, true).unwrap().to_rfc3339(),
            "2024-04-25T11:59:59+00:00"
        );
        assert_eq!(
            parse_time("2024-04-24T09:00", &aoe, false)
                .unwrap()
                .to_rfc3339(),
            "2024-04-24T21:00:00+00:00"
        );
        assert_eq!(
            parse_time("2024-04-24T09:00:00-04:00", &aoe, false)
                .unwrap()
                .to_rfc3339(),
            "2024-04-24T13:00:00+00:00"
        );
        let ny = Zone::parse("America/New_York").unwrap();
        let e = parse_time("2024-03-10T02:30", &ny, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist in America/New_York"), "{e}");
        let e = parse_time("next tuesday", &ny, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a time"), "{e}");
    }
}
