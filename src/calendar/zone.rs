//! Deadline zones: how the conference's wall clock maps to instants.
//!
//! Deadlines are stated in the conference zone (an IANA zone or Anywhere on
//! Earth) and mails show them in that zone and in UTC; reminder rules match
//! cron expressions against the same wall clock.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// A deadline zone: a named IANA zone, or Anywhere on Earth (UTC−12).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// A named IANA zone such as `America/Chicago`.
    Iana(chrono_tz::Tz),
    /// Anywhere on Earth: the deadline has passed nowhere on Earth until it passes at UTC−12.
    AoE,
}

impl Zone {
    /// Parse `AoE` or an IANA zone name.
    pub fn parse(s: &str) -> Option<Zone> {
        if s.eq_ignore_ascii_case("aoe") || s.eq_ignore_ascii_case("anywhere on earth") {
            return Some(Zone::AoE);
        }
        s.parse::<chrono_tz::Tz>().ok().map(Zone::Iana)
    }

    /// Interpret a local wall-clock time in this zone. Ambiguous times (DST fall-back)
    /// take the later instant, so a deadline never closes early; times that do not
    /// exist (DST spring-forward gap) are refused.
    pub fn local_to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::AoE => Some(Utc.from_utc_datetime(&(local + chrono::Duration::hours(12)))),
            Zone::Iana(tz) => tz
                .from_local_datetime(&local)
                .latest()
                .map(|d| d.with_timezone(&Utc)),
        }
    }

    /// Format an instant in this zone, e.g. `2024-04-24 23:59 AoE` or `2024-04-24 23:59 CDT`.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        match self {
            Zone::AoE => format!(
                "{} AoE",
                (t - chrono::Duration::hours(12)).format("%Y-%m-%d %H:%M")
            ),
            Zone::Iana(tz) => t.with_timezone(tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        }
    }

    /// Format an instant in this zone and in UTC, as every mail shows a
    /// deadline: `2024-04-24 23:59 AoE (2024-04-25 11:59 UTC)`.
    pub fn format_with_utc(&self, t: DateTime<Utc>) -> String {
        format!("{} ({})", self.format(t), t.format("%Y-%m-%d %H:%M UTC"))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::AoE => f.write_str("AoE"),
            Zone::Iana(tz) => f.write_str(tz.name()),
        }
    }
}

/// Parse a local wall-clock time as a chair writes it in the config
/// (`2024-04-24T23:59:59`, `2024-04-24 23:59`, …); a bare date means the end of that day.
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    // A bare date means the end of that day.
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
}

/// The widest daylight-saving gap or overlap we allow for when scanning
/// wall-clock matches (real ones are 30 min to 2 h).
pub(crate) const MARGIN_HOURS: i64 = 3;

/// The wall-clock time of an instant in `zone`.
pub fn to_local(zone: &Zone, t: DateTime<Utc>) -> NaiveDateTime {
    match zone {
        Zone::AoE => t.naive_utc() - chrono::Duration::hours(12),
        Zone::Iana(tz) => t.with_timezone(tz).naive_local(),
    }
}

/// The instant a wall-clock match fires at, with RFC 5545's rules: an
/// ambiguous time is its first occurrence; a time inside a gap is read with
/// the offset in effect before the gap (so it is shifted by the gap's length).
pub fn fire_instant(zone: &Zone, local: NaiveDateTime) -> DateTime<Utc> {
    match zone {
        Zone::AoE => Utc.from_utc_datetime(&(local + chrono::Duration::hours(12))),
        Zone::Iana(tz) => match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            chrono::LocalResult::None => {
                // The offset before the gap: that of a time safely before it.
                let before = tz
                    .from_local_datetime(&(local - chrono::Duration::hours(MARGIN_HOURS)))
                    .earliest()
                    .map(|t| chrono::Offset::fix(t.offset()))
                    .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
                Utc.from_utc_datetime(
                    &(local - chrono::Duration::seconds(before.local_minus_utc() as i64)),
                )
            }
        },
    }
}
