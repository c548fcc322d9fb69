//! `[conference]`, `[review]` and `[announce]`: who the conference is, its
//! deadlines in its zone, how reviews are scored, and who hears the last call.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::locate::Locator;
use super::{default_true, ConfigError};
use crate::calendar::zone::parse_local;
use crate::calendar::Zone;
use crate::model::Objective;
use crate::proposal::looks_like_address;

/// A local time of the conference zone (`2024-04-24T23:59:59`) as an
/// instant, or `None` when the key is absent; an error naming `table.key`
/// and showing `example` when it is not such a time or does not exist in the
/// zone (a DST gap).
pub(super) fn local_instant(
    loc: &Locator<'_>,
    zone: &Zone,
    (table, key): (&str, &str),
    value: Option<&str>,
    example: &str,
) -> Result<Option<DateTime<Utc>>, ConfigError> {
    let Some(v) = value else {
        return Ok(None);
    };
    parse_local(v)
        .and_then(|l| zone.local_to_utc(l))
        .map(Some)
        .ok_or_else(|| {
            loc.err(
                table,
                key,
                &format!(
                    "expected a local time like {example} that exists in conference.time_zone"
                ),
            )
        })
}

/// Conference identity and time.
#[derive(Debug, Clone)]
pub struct Conference {
    /// Shown in every mail.
    pub name: String,
    /// The address speakers write to; its local part carries reply tokens (`cfp+<token>@…`).
    pub cfp_address: String,
    /// The zone in which deadlines are stated and shown.
    pub zone: Zone,
    /// The CFP deadline as an instant.
    pub cfp_deadline: DateTime<Utc>,
    /// How long after the deadline proposals are still accepted silently.
    pub grace: chrono::Duration,
    /// The review deadline as an instant: review replies after it get "review is
    /// closed", and reviewer reminders count towards it. `None` until the chair sets it.
    pub review_deadline: Option<DateTime<Utc>>,
    /// `[conference] contact`: where a person answers. Mail cfpd cannot act
    /// on but a person wrote is forwarded here, and mails name it so nobody
    /// is left with only a robot to write to. Defaults to the chairs; empty
    /// when there are none.
    pub contact: Vec<String>,
}

/// How review works.
#[derive(Debug, Clone)]
pub struct ReviewRules {
    /// Reviewers each proposal gets (K).
    pub reviewers_per_proposal: u32,
    /// Lowest score on the form.
    pub score_min: i64,
    /// Highest score on the form.
    pub score_max: i64,
    /// Lowest confidence.
    pub confidence_min: i64,
    /// Highest confidence.
    pub confidence_max: i64,
    /// Hide speaker names, addresses and bios from reviewers.
    pub blind: bool,
    /// What `cfpd assign` optimises: the total affinity, or first the
    /// worst-served proposal (see `assign::fair`).
    pub objective: Objective,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConference {
    pub(super) name: String,
    pub(super) cfp_address: String,
    pub(super) time_zone: String,
    pub(super) cfp_deadline: String,
    #[serde(default)]
    pub(super) review_deadline: Option<String>,
    #[serde(default)]
    pub(super) grace_minutes: u32,
    #[serde(default)]
    pub(super) chairs: Vec<String>,
    /// One address or a list; absent means the chairs.
    #[serde(default)]
    pub(super) contact: Option<OneOrMany>,
    /// `de`: mails use `NAME.de.txt` override files where present.
    #[serde(default)]
    pub(super) language: Option<String>,
}

/// A key that takes one address or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReview {
    #[serde(default = "default_k")]
    pub(super) reviewers_per_proposal: u32,
    #[serde(default = "default_score")]
    pub(super) score: [i64; 2],
    #[serde(default = "default_confidence")]
    pub(super) confidence: [i64; 2],
    #[serde(default = "default_true")]
    pub(super) blind: bool,
    #[serde(default)]
    pub(super) objective: Option<Objective>,
}

impl Default for RawReview {
    fn default() -> Self {
        RawReview {
            reviewers_per_proposal: default_k(),
            score: default_score(),
            confidence: default_confidence(),
            blind: true,
            objective: None,
        }
    }
}

fn default_k() -> u32 {
    3
}

fn default_score() -> [i64; 2] {
    [1, 5]
}

fn default_confidence() -> [i64; 2] {
    [1, 3]
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnnounce {
    #[serde(default)]
    pub(super) addresses: Vec<toml::Spanned<String>>,
}

/// Validate `[conference]`: the CFP address, the zone, the deadlines as
/// instants in that zone (the review deadline after the CFP deadline) and the
/// chairs' addresses.
pub(super) fn conference(loc: &Locator<'_>, c: &RawConference) -> Result<Conference, ConfigError> {
    if !looks_like_address(&c.cfp_address) {
        return Err(loc.err(
            "conference",
            "cfp_address",
            "expected a mail address such as cfp@conf.example",
        ));
    }
    let zone = Zone::parse(&c.time_zone).ok_or_else(|| {
        loc.err(
            "conference",
            "time_zone",
            &format!(
                "unknown time zone {:?}: use an IANA name such as America/Chicago, or AoE",
                c.time_zone
            ),
        )
    })?;
    let cfp_deadline = local_instant(
        loc,
        &zone,
        ("conference", "cfp_deadline"),
        Some(&c.cfp_deadline),
        "2024-04-24T23:59:59",
    )?
    .expect("a value was given");
    let review_deadline = local_instant(
        loc,
        &zone,
        ("conference", "review_deadline"),
        c.review_deadline.as_deref(),
        "2024-05-20T23:59:59",
    )?;
    if review_deadline.is_some_and(|r| r <= cfp_deadline) {
        return Err(loc.err(
            "conference",
            "review_deadline",
            "must be after cfp_deadline",
        ));
    }
    for ch in &c.chairs {
        if !looks_like_address(ch) {
            return Err(loc.err(
                "conference",
                "chairs",
                &format!("{ch:?} is not a mail address"),
            ));
        }
    }
    let contact = match &c.contact {
        None => c.chairs.clone(),
        Some(OneOrMany::One(a)) => vec![a.clone()],
        Some(OneOrMany::Many(v)) => v.clone(),
    };
    for a in &contact {
        if !looks_like_address(a) {
            return Err(loc.err(
                "conference",
                "contact",
                &format!("{a:?} is not a mail address"),
            ));
        }
    }
    Ok(Conference {
        contact: contact.iter().map(|a| a.to_ascii_lowercase()).collect(),
        name: c.name.clone(),
        cfp_address: c.cfp_address.to_ascii_lowercase(),
        zone,
        cfp_deadline,
        grace: chrono::Duration::minutes(c.grace_minutes as i64),
        review_deadline,
    })
}

/// Validate `[review]`: at least one reviewer, and score and confidence
/// ranges written lowest first.
pub(super) fn review(loc: &Locator<'_>, rv: &RawReview) -> Result<ReviewRules, ConfigError> {
    if rv.reviewers_per_proposal == 0 {
        return Err(loc.err("review", "reviewers_per_proposal", "must be at least 1"));
    }
    if rv.score[0] >= rv.score[1] {
        return Err(loc.err("review", "score", "write [lowest, highest], e.g. [1, 5]"));
    }
    if rv.confidence[0] >= rv.confidence[1] {
        return Err(loc.err(
            "review",
            "confidence",
            "write [lowest, highest], e.g. [1, 3]",
        ));
    }
    Ok(ReviewRules {
        reviewers_per_proposal: rv.reviewers_per_proposal,
        score_min: rv.score[0],
        score_max: rv.score[1],
        confidence_min: rv.confidence[0],
        confidence_max: rv.confidence[1],
        blind: rv.blind,
        objective: rv.objective.unwrap_or(Objective::Total),
    })
}

/// Validate `[announce] addresses`: lower-cased, without duplicates.
pub(super) fn announce(loc: &Locator<'_>, raw: &RawAnnounce) -> Result<Vec<String>, ConfigError> {
    let mut announce = Vec::new();
    for a in &raw.addresses {
        let v = a.get_ref().trim().to_ascii_lowercase();
        if !looks_like_address(&v) {
            return Err(loc.err_at(
                a.span().start,
                "announce.addresses",
                &format!("{:?} is not a mail address", a.get_ref()),
            ));
        }
        if !announce.contains(&v) {
            announce.push(v);
        }
    }
    Ok(announce)
}
