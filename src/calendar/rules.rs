//! Reminder rules: when they fire, whom they are for, and when they stop
//! making sense.
//!
//! A rule's cron expression (the `cron` crate: 6–7 fields, seconds first) is
//! evaluated on the **wall clock of the conference zone**, not on UTC: the
//! expression is matched against local date-times, and each match is then
//! turned into an instant. That makes daylight-saving changes explicit and
//! predictable, following RFC 5545 (iCalendar):
//!
//! - a local time that occurs twice (autumn fall-back) fires **once**, at its
//!   first occurrence;
//! - a local time that does not exist (spring-forward gap) fires **once**,
//!   shifted by the length of the gap (02:30 in a 02:00→03:00 gap fires at
//!   03:30), i.e. it is read with the UTC offset in effect before the gap;
//! - two matches that land on the same instant fire once.
//!
//! Anywhere on Earth is the fixed offset UTC−12 and has no such changes.
//!
//! Every rule has a window: the instants at which reminding is still
//! meaningful, derived from the deadline the audience is about (drafts and
//! announcements: the CFP deadline; reviewers: the review deadline; chairs:
//! the last deadline). An occurrence fires only if both the occurrence and
//! the moment it is handled lie inside the window, which is what keeps a
//! catch-up after downtime from reminding about a deadline that has passed.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};

use super::zone::{fire_instant, to_local, Zone, MARGIN_HOURS};

/// Who a rule mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Speakers with draft proposals (required fields still missing), one
    /// mail per speaker listing all their drafts. Before the CFP deadline only.
    DraftSpeakers,
    /// Reviewers with pending reviews, one mail per reviewer listing all of
    /// them. Before and just after the review deadline.
    PendingReviewers,
    /// The chairs (`conference.chairs`): a digest of counts, bounces,
    /// declines and overdue reviewers.
    Chairs,
    /// The `[announce] addresses` (e.g. the conference announcement list):
    /// "last call for proposals", with `List-Unsubscribe`.
    Announce,
    /// Speakers told of an acceptance who have neither confirmed nor
    /// declined, one mail per speaker listing those talks. Until
    /// `[decisions] confirm_by`.
    UnconfirmedSpeakers,
    /// Reviewers sent a bidding mail (`cfpd bids open`) who have recorded no
    /// bid yet, one mail each listing the proposals of their topics again.
    /// Before the review deadline.
    ReviewersWithoutBids,
}

impl Audience {
    /// Every audience, in the order the docs list them.
    pub const ALL: [Audience; 6] = [
        Audience::DraftSpeakers,
        Audience::PendingReviewers,
        Audience::Chairs,
        Audience::Announce,
        Audience::UnconfirmedSpeakers,
        Audience::ReviewersWithoutBids,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::DraftSpeakers => "draft_speakers",
            Audience::PendingReviewers => "pending_reviewers",
            Audience::Chairs => "chairs",
            Audience::Announce => "announce",
            Audience::UnconfirmedSpeakers => "unconfirmed_speakers",
            Audience::ReviewersWithoutBids => "reviewers_without_bids",
        }
    }

    /// Parse the config spelling.
    pub fn parse(s: &str) -> Option<Audience> {
        Audience::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The built-in template this audience gets unless the rule names another.
    pub fn default_template(self) -> TemplateName {
        match self {
            Audience::DraftSpeakers => TemplateName::DraftReminder,
            Audience::PendingReviewers => TemplateName::ReviewReminder,
            Audience::Chairs => TemplateName::ChairDigest,
            Audience::Announce => TemplateName::LastCall,
            Audience::UnconfirmedSpeakers => TemplateName::ConfirmReminder,
            Audience::ReviewersWithoutBids => TemplateName::BidReminder,
        }
    }

    /// Templates that make sense for this audience (a template needs the
    /// items its audience provides: drafts, reviews, counts).
    pub fn templates(self) -> &'static [TemplateName] {
        match self {
            Audience::DraftSpeakers => &[TemplateName::DraftReminder],
            Audience::PendingReviewers => {
                &[TemplateName::ReviewReminder, TemplateName::ReviewOverdue]
            }
            Audience::Chairs => &[TemplateName::ChairDigest],
            Audience::Announce => &[TemplateName::LastCall],
            Audience::UnconfirmedSpeakers => &[TemplateName::ConfirmReminder],
            Audience::ReviewersWithoutBids => &[TemplateName::BidReminder],
        }
    }
}

/// A built-in reminder template (`templates/remind_*.txt`, `digest.txt`, `last_call.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateName {
    /// "Your drafts are still missing …" (`remind_drafts.txt`).
    DraftReminder,
    /// "These reviews are pending; the review deadline is …" (`remind_reviews.txt`).
    ReviewReminder,
    /// Like `review_reminder`, worded for after the deadline ("overdue").
    ReviewOverdue,
    /// The chairs' digest (`digest.txt`).
    ChairDigest,
    /// "Last call for proposals" (`last_call.txt`).
    LastCall,
    /// "Please confirm or decline your accepted talk" (`remind_confirm.txt`).
    ConfirmReminder,
    /// "Which proposals would you like to review?" again (`remind_bids.txt`).
    BidReminder,
}

impl TemplateName {
    /// Every template.
    pub const ALL: [TemplateName; 7] = [
        TemplateName::DraftReminder,
        TemplateName::ReviewReminder,
        TemplateName::ReviewOverdue,
        TemplateName::ChairDigest,
        TemplateName::LastCall,
        TemplateName::ConfirmReminder,
        TemplateName::BidReminder,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateName::DraftReminder => "draft_reminder",
            TemplateName::ReviewReminder => "review_reminder",
            TemplateName::ReviewOverdue => "review_overdue",
            TemplateName::ChairDigest => "chair_digest",
            TemplateName::LastCall => "last_call",
            TemplateName::ConfirmReminder => "confirm_reminder",
            TemplateName::BidReminder => "bid_reminder",
        }
    }

    /// Parse the config spelling.
    pub fn parse(s: &str) -> Option<TemplateName> {
        TemplateName::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where a rule comes from (for listings and error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[reminders]]` table at this line of the config.
    Config {
        /// 1-based line of the rule's `name`.
        line: usize,
    },
    /// Generated from the deadlines because the config has no `[[reminders]]`.
    Default,
}

/// One reminder rule, validated and resolved against the deadlines.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name; part of the ledger key, so renaming a rule makes it a new rule.
    pub name: String,
    /// The parsed cron expression, matched against wall-clock time in the conference zone.
    pub cron: cron::Schedule,
    /// Who gets the mail.
    pub audience: Audience,
    /// Which built-in template renders it.
    pub template: TemplateName,
    /// The deadline this rule reminds about (shown in its mails); `None` for
    /// a chairs' digest when no deadline applies.
    pub deadline: Option<DateTime<Utc>>,
    /// Occurrences before this instant do not fire (inclusive bound).
    pub not_before: Option<DateTime<Utc>>,
    /// Occurrences after this instant, and catch-ups handled after it, do not
    /// fire (inclusive bound): the reminder would no longer be meaningful.
    pub not_after: Option<DateTime<Utc>>,
    /// Config line or default.
    pub origin: Origin,
}

/// Treat a wall-clock time as a `DateTime<Utc>` so the cron crate matches
/// its fields literally (no zone logic inside the crate).
fn naive_utc(local: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&local)
}

impl Rule {
    /// Whether handling occurrence `occurrence` at instant `now` is still
    /// meaningful: both lie inside the rule's window.
    pub fn meaningful(&self, occurrence: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.inside(occurrence) && self.inside(now)
    }

    fn inside(&self, t: DateTime<Utc>) -> bool {
        self.not_before.is_none_or(|s| t >= s) && self.not_after.is_none_or(|e| t <= e)
    }

    /// Every occurrence in the half-open interval `(after, until]`, in order,
    /// each instant once. The window is not applied here.
    pub fn occurrences(
        &self,
        zone: &Zone,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        if until <= after {
            return Vec::new();
        }
        let margin = Duration::hours(MARGIN_HOURS);
        let start = naive_utc(to_local(zone, after) - margin);
        let end = to_local(zone, until) + margin;
        let mut out: Vec<DateTime<Utc>> = self
            .cron
            .after(&start)
            .take_while(|n| n.naive_utc() <= end)
            .map(|n| fire_instant(zone, n.naive_utc()))
            .filter(|t| *t > after && *t <= until)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The latest occurrence in `(after, until]`, if any: the one a catch-up
    /// fires. Scans backwards from `until`, so a long downtime costs no more
    /// than a short one.
    pub fn latest(
        &self,
        zone: &Zone,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if until <= after {
            return None;
        }
        let margin = Duration::hours(MARGIN_HOURS);
        let floor = to_local(zone, after) - margin;
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for n in self
            .cron
            .after(&naive_utc(to_local(zone, until) + margin))
            .rev()
        {
            let local = n.naive_utc();
            if local < floor || best.is_some_and(|(_, bn)| local < bn - margin) {
                break;
            }
            let t = fire_instant(zone, local);
            if t > after && t <= until && best.is_none_or(|(b, _)| t > b) {
                best = Some((t, local));
            }
        }
        best.map(|(t, _)| t)
    }

    /// The first occurrence strictly after `t` that lies inside the rule's
    /// window, if any: when the rule will next send something.
    pub fn next_in_window(&self, zone: &Zone, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = match self.not_before {
            Some(s) if s > t => s - Duration::milliseconds(1),
            _ => t,
        };
        self.next_after(zone, start)
            .filter(|o| self.not_after.is_none_or(|e| *o <= e))
    }

    /// The first occurrence strictly after `t`, if the expression has one.
    pub fn next_after(&self, zone: &Zone, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let margin = Duration::hours(MARGIN_HOURS);
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for n in self.cron.after(&naive_utc(to_local(zone, t) - margin)) {
            let local = n.naive_utc();
            if best.is_some_and(|(_, bn)| local > bn + margin) {
                break;
            }
            let f = fire_instant(zone, local);
            if f > t && best.is_none_or(|(b, _)| f < b) {
                best = Some((f, local));
            }
        }
        best.map(|(f, _)| f)
    }
}

/// A cron expression a chair wrote that cannot be used, with what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    /// Not 6 or 7 fields (the common 5-field form has no seconds).
    #[error(
        "{src:?} has {fields} field(s); cron expressions here have 6 or 7, seconds first: \
         \"sec min hour day-of-month month day-of-week [year]\", e.g. \"0 0 9 * * Mon-Fri\""
    )]
    FieldCount {
        /// The expression as written.
        src: String,
        /// How many fields it has.
        fields: usize,
    },
    /// The `cron` crate refused it.
    #[error(
        "{src:?} is not a valid cron expression ({source}); the fields are \
         \"sec min hour day-of-month month day-of-week [year]\", e.g. \"0 0 9 * * Mon-Fri\""
    )]
    Invalid {
        /// The expression as written.
        src: String,
        /// The crate's reason.
        #[source]
        source: cron::error::Error,
    },
}

/// Parse a cron expression, with an error a chair can act on.
pub fn parse_cron(src: &str) -> Result<cron::Schedule, CronError> {
    let fields = src.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(CronError::FieldCount {
            src: src.to_string(),
            fields,
        });
    }
    cron::Schedule::from_str(src).map_err(|source| CronError::Invalid {
        src: src.to_string(),
        source,
    })
}

/// Parse an offset relative to a deadline: `-7d`, `+2d`, `36h`, `-1d12h`,
/// `30m`, `0`. Units: `w`, `d`, `h`, `m`, `s`.
pub fn parse_offset(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if rest == "0" {
        return Some(Duration::zero());
    }
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'w' => Duration::try_weeks(n)?,
            'd' => Duration::try_days(n)?,
            'h' => Duration::try_hours(n)?,
            'm' => Duration::try_minutes(n)?,
            's' => Duration::try_seconds(n)?,
            _ => return None,
        };
        total = total.checked_add(&unit)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(total * sign)
}

/// A cron expression that fires once, at `hour`:00 local time on the local
/// date of `deadline` shifted by `days` (e.g. `0 0 9 17 Apr * 2024`).
pub fn day_cron(zone: &Zone, deadline: DateTime<Utc>, days: i64, hour: u32) -> String {
    let d = to_local(zone, deadline).date() + Duration::days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "0 0 {hour} {} {} * {}",
        d.day(),
        MONTHS[d.month0() as usize],
        d.year()
    )
}

/// The rules a conference gets when its config has no `[[reminders]]`:
///
/// - `drafts-7d`, `drafts-1d`: speakers with drafts, 09:00 local seven days
///   and one day before the CFP deadline's date;
/// - `reviews-3d`, `reviews-1d`, `reviews-overdue-1d`: reviewers with pending
///   reviews, 09:00 local three days and one day before the review
///   deadline's date (meaningful until the deadline) and one day after it
///   (meaningful until two days after; only when a review deadline is set);
/// - `chairs-digest`: the chairs' digest daily at 08:00 local, until a week
///   after the last deadline (only when chairs are configured);
/// - `last-call`: the announcement addresses, 09:00 local three days before
///   the CFP deadline's date (only when `[announce] addresses` are set).
pub fn defaults(
    zone: &Zone,
    cfp_deadline: DateTime<Utc>,
    review_deadline: Option<DateTime<Utc>>,
    has_chairs: bool,
    has_announce: bool,
) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut one = |name: &str,
                   cron: String,
                   audience: Audience,
                   template: TemplateName,
                   deadline: DateTime<Utc>,
                   until: Duration| {
        out.push(Rule {
            name: name.to_string(),
            cron: parse_cron(&cron).expect("generated cron expressions are valid"),
            audience,
            template,
            deadline: Some(deadline),
            not_before: None,
            not_after: Some(deadline + until),
            origin: Origin::Default,
        });
    };
    for days in [7, 1] {
        one(
            &format!("drafts-{days}d"),
            day_cron(zone, cfp_deadline, -days, 9),
            Audience::DraftSpeakers,
            TemplateName::DraftReminder,
            cfp_deadline,
            Duration::zero(),
        );
    }
    if has_announce {
        one(
            "last-call",
            day_cron(zone, cfp_deadline, -3, 9),
            Audience::Announce,
            TemplateName::LastCall,
            cfp_deadline,
            Duration::zero(),
        );
    }
    if let Some(rd) = review_deadline {
        for days in [3, 1] {
            one(
                &format!("reviews-{days}d"),
                day_cron(zone, rd, -days, 9),
                Audience::PendingReviewers,
                TemplateName::ReviewReminder,
                rd,
                Duration::zero(),
            );
        }
        one(
            "reviews-overdue-1d",
            day_cron(zone, rd, 1, 9),
            Audience::PendingReviewers,
            TemplateName::ReviewOverdue,
            rd,
            Duration::days(DEFAULT_REVIEW_GRACE_DAYS),
        );
    }
    if has_chairs {
        let last = review_deadline.unwrap_or(cfp_deadline);
        one(
            "chairs-digest",
            "0 0 8 * * *".into(),
            Audience::Chairs,
            TemplateName::ChairDigest,
            last,
            Duration::days(DEFAULT_DIGEST_TAIL_DAYS),
        );
    }
    out
}

/// How long (days) after the review deadline reviewer reminders still fire
/// by default: "just after the deadline", not for ever.
pub const DEFAULT_REVIEW_GRACE_DAYS: i64 = 2;

/// How long (days) after the last deadline the chairs' digest keeps coming by default.
pub const DEFAULT_DIGEST_TAIL_DAYS: i64 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cron: &str) -> Rule {
        Rule {
            name: "t".into(),
            cron: parse_cron(cron).unwrap(),
            audience: Audience::DraftSpeakers,
            template: TemplateName::DraftReminder,
            deadline: None,
            not_before: None,
            not_after: None,
            origin: Origin::Default,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ny() -> Zone {
        Zone::parse("America/New_York").unwrap()
    }

    fn local_strings(zone: &Zone, ts: &[DateTime<Utc>]) -> Vec<String> {
        ts.iter().map(|t| zone.format(*t)).collect()
    }

    #[test]
    fn spring_forward_each_daily_rule_fires_once_per_day_at_the_right_local_time() {
        // 2024-03-10: New York jumps from 02:00 EST to 03:00 EDT.
        let z = ny();
        let (a, b) = (utc("2024-03-09T00:00:00Z"), utc("2024-03-12T00:00:00Z"));
        let nine = rule("0 0 9 * * *").occurrences(&z, a, b);
        assert_eq!(
            local_strings(&z, &nine),
            [
                "2024-03-09 09:00 EST",
                "2024-03-10 09:00 EDT",
                "2024-03-11 09:00 EDT"
            ]
        );
        assert_eq!(nine[1], utc("2024-03-10T13:00:00Z"));
        // 02:30 does not exist on the 10th: it fires once, shifted by the gap (RFC 5545).
        let half_two = rule("0 30 2 * * *").occurrences(&z, a, b);
        assert_eq!(
            local_strings(&z, &half_two),
            [
                "2024-03-09 02:30 EST",
                "2024-03-10 03:30 EDT",
                "2024-03-11 02:30 EDT"
            ]
        );
        assert_eq!(half_two[1], utc("2024-03-10T07:30:00Z"));
        // An hourly rule fires once per real hour: 02:00 (gap) and 03:00 are the same instant.
        let hourly = rule("0 0 * * * *").occurrences(
            &z,
            utc("2024-03-10T05:00:00Z"),
            utc("2024-03-10T09:00:00Z"),
        );
        assert_eq!(
            local_strings(&z, &hourly),
            [
                "2024-03-10 01:00 EST",
                "2024-03-10 03:00 EDT",
                "2024-03-10 04:00 EDT",
                "2024-03-10 05:00 EDT"
            ]
        );
    }

    #[test]
    fn fall_back_an_ambiguous_time_fires_once_at_its_first_occurrence() {
        // 2024-11-03: New York goes from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
        let z = ny();
        let (a, b) = (utc("2024-11-02T00:00:00Z"), utc("2024-11-05T00:00:00Z"));
        let r = rule("0 30 1 * * *").occurrences(&z, a, b);
        assert_eq!(
            local_strings(&z, &r),
            [
                "2024-11-02 01:30 EDT",
                "2024-11-03 01:30 EDT",
                "2024-11-04 01:30 EST"
            ]
        );
        let r = rule("0 30 2 * * *").occurrences(&z, a, b);
        assert_eq!(
            local_strings(&z, &r),
            [
                "2024-11-02 02:30 EDT",
                "2024-11-03 02:30 EST",
                "2024-11-04 02:30 EST"
            ]
        );
        let r = rule("0 0 9 * * *").occurrences(&z, a, b);
        assert_eq!(
            r,
            [
                utc("2024-11-02T13:00:00Z"),
                utc("2024-11-03T14:00:00Z"),
                utc("2024-11-04T14:00:00Z")
            ]
        );
    }

    #[test]
    fn aoe_is_utc_minus_twelve_without_changes() {
        let r = rule("0 0 9 * * *");
        let t = r
            .next_after(&Zone::AoE, utc("2024-04-24T00:00:00Z"))
            .unwrap();
        assert_eq!(t, utc("2024-04-24T21:00:00Z"));
        assert_eq!(Zone::AoE.format(t), "2024-04-24 09:00 AoE");
        assert_eq!(
            Zone::AoE.format_with_utc(t),
            "2024-04-24 09:00 AoE (2024-04-24 21:00 UTC)"
        );
    }

    #[test]
    fn latest_and_next_agree_with_the_full_list_across_dst() {
        let z = ny();
        for cron in [
            "0 30 2 * * *",
            "0 30 1 * * *",
            "0 0 * * * *",
            "0 */20 1-3 * * *",
        ] {
            let r = rule(cron);
            for (a, b) in [
                ("2024-03-09T12:00:00Z", "2024-03-11T12:00:00Z"),
                ("2024-11-02T12:00:00Z", "2024-11-04T12:00:00Z"),
            ] {
                let (a, b) = (utc(a), utc(b));
                let all = r.occurrences(&z, a, b);
                assert!(!all.is_empty());
                assert!(
                    all.windows(2).all(|w| w[0] < w[1]),
                    "{cron}: sorted, each once"
                );
                assert_eq!(r.latest(&z, a, b), all.last().copied(), "{cron}");
                assert_eq!(r.next_after(&z, a), all.first().copied(), "{cron}");
                for w in all.windows(2) {
                    assert_eq!(r.next_after(&z, w[0]), Some(w[1]), "{cron} after {}", w[0]);
                    assert_eq!(
                        r.latest(&z, a, w[1] - Duration::seconds(1)),
                        Some(w[0]),
                        "{cron}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_shot_rules_and_bounds() {
        let r = rule(&day_cron(&Zone::AoE, utc("2024-04-25T11:59:59Z"), -7, 9));
        assert_eq!(r.cron.source(), "0 0 9 17 Apr * 2024");
        let z = Zone::AoE;
        let at = utc("2024-04-17T21:00:00Z");
        assert_eq!(r.next_after(&z, utc("2024-01-01T00:00:00Z")), Some(at));
        assert_eq!(r.next_after(&z, at), None);
        // (after, until]: the occurrence itself is included at the top, excluded at the bottom.
        assert_eq!(r.latest(&z, at - Duration::seconds(1), at), Some(at));
        assert_eq!(r.latest(&z, at, at + Duration::days(400)), None);
        assert_eq!(
            r.occurrences(&z, utc("2020-01-01T00:00:00Z"), utc("2030-01-01T00:00:00Z")),
            [at]
        );
    }

    #[test]
    fn next_in_window_skips_to_the_window_and_stops_after_it() {
        let mut r = rule("0 0 9 * * *");
        r.not_before = Some(utc("2024-05-13T11:59:59Z"));
        r.not_after = Some(utc("2024-05-21T11:59:59Z"));
        let z = Zone::AoE;
        assert_eq!(
            r.next_in_window(&z, utc("2024-04-15T00:00:00Z")),
            Some(utc("2024-05-13T21:00:00Z"))
        );
        assert_eq!(
            r.next_in_window(&z, utc("2024-05-14T00:00:00Z")),
            Some(utc("2024-05-14T21:00:00Z"))
        );
        assert_eq!(r.next_in_window(&z, utc("2024-05-20T21:00:00Z")), None);
    }

    #[test]
    fn windows_need_both_the_occurrence_and_the_handling_inside() {
        let mut r = rule("0 0 9 * * *");
        r.not_after = Some(utc("2024-04-25T11:59:59Z"));
        let o = utc("2024-04-24T21:00:00Z");
        assert!(r.meaningful(o, o));
        assert!(r.meaningful(o, utc("2024-04-25T11:59:59Z")));
        assert!(!r.meaningful(o, utc("2024-04-25T12:00:00Z")));
        assert!(!r.meaningful(utc("2024-04-25T21:00:00Z"), utc("2024-04-25T21:00:00Z")));
    }

    #[test]
    fn offsets_and_cron_errors() {
        assert_eq!(parse_offset("-7d"), Some(Duration::days(-7)));
        assert_eq!(parse_offset("+2d"), Some(Duration::days(2)));
        assert_eq!(parse_offset("-1d12h"), Some(Duration::hours(-36)));
        assert_eq!(parse_offset("0"), Some(Duration::zero()));
        assert_eq!(parse_offset("30m"), Some(Duration::minutes(30)));
        for bad in ["", "-", "7", "d", "7x", "1d2", "--1d"] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
        let e = parse_cron("0 9 * * *").unwrap_err().to_string();
        assert!(
            e.contains("5 field(s)") && e.contains("seconds first"),
            "{e}"
        );
        let e = parse_cron("0 0 25 * * *").unwrap_err().to_string();
        assert!(e.contains("not a valid cron expression"), "{e}");
    }
}
