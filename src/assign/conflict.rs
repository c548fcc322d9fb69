//! Conflict-of-interest rules for reviewer assignment.
//!
//! A reviewer must never be assigned a proposal they have a conflict with (PRODUCT.md,
//! promise 6). A conflict exists when any of these holds, checked in this order (the first
//! one found is the reason reported to the chair):
//!
//! 1. [`ConflictReason::Speaker`]: the reviewer's address is one of the proposal's speakers.
//! 2. [`ConflictReason::SameInstitution`]: the reviewer and a speaker are at the same
//!    institution, judged from their email domains. Public webmail domains
//!    ([`PUBLIC_WEBMAIL_DOMAINS`], the one list used everywhere) never count.
//! 3. [`ConflictReason::Listed`]: the reviewer's own conflict list names a speaker's address
//!    or a speaker's domain.
//! 4. [`ConflictReason::Declared`]: the reviewer declared a conflict by mail (recorded by the
//!    product, not derivable from addresses).
//!
//! Only the verified speaker's address counts by domain: a co-speaker is named by the
//! speaker, a claim, and blocks only the reviewers whose address it is or whose conflict
//! list names it ([`proposal_conflict`]).
//!
//! Two matching modes exist ([`MatchMode`]):
//!
//! * [`MatchMode::Institution`] (the product's rule, used by [`conflict_reason`]): domains are
//!   folded to their registrable domain ("eTLD+1"), so `cs.uni.edu` and `uni.edu` are the same
//!   institution, and so are `ox.ac.uk` and `cs.ox.ac.uk`; but a public suffix is never an
//!   institution, so `ox.ac.uk` and `cam.ac.uk` are *not* the same institution even though both
//!   end in `ac.uk`. Listed domain entries match the speaker's institution the same way, except
//!   that a listed public webmail domain (e.g. `gmail.com`) matches that exact domain only.
//! * [`MatchMode::Exact`] (the benchmark peer's rule, `peer_assign.py`): domains are compared
//!   exactly after trimming and lower-casing, with no subdomain folding; listed entries are
//!   honoured literally. The benchmark instance path uses this mode so objectives agree with
//!   the peer. It is laxer than the product rule (it misses `cs.uni.edu` vs `uni.edu`).
//!
//! Public suffixes come from Mozilla's Public Suffix List (the `psl` crate, ICANN and private
//! sections both): `ac.uk`, `k12.ca.us` and `github.io` are suffixes, so `cs.ox.ac.uk` and
//! `eng.ox.ac.uk` share the institution `ox.ac.uk` while `a.github.io` and `b.github.io` are
//! different owners. A name under an unlisted top-level label follows the list's default rule
//! (the last label is the suffix). A domain that *is* a public suffix has no institution.

use std::collections::HashMap;
use std::fmt;

/// Public webmail domains: sharing one of these says nothing about a shared institution.
///
/// This is the single list used by the whole crate; it is identical to the list in the
/// benchmark peer (`peer_assign.py`) so that benchmark objectives agree. Extending it changes
/// the benchmark path too (for instances that use the added domains).
pub const PUBLIC_WEBMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "foxmail.com",
    "naver.com",
    "hey.com",
    "fastmail.com",
    "zoho.com",
    "tutanota.com",
];

/// How addresses and domains are compared when looking for conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMode {
    /// Exact domain equality (trim + lower-case only), as the benchmark peer does.
    Exact,
    /// Registrable-domain (institution) equality with public-suffix awareness: the product rule.
    Institution,
}

/// Why a reviewer may not review a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictReason {
    /// The reviewer is one of the proposal's speakers.
    Speaker,
    /// The reviewer and a speaker share an institution; `domain` is the shared institution
    /// domain (registrable domain in institution mode, the exact domain in exact mode).
    SameInstitution {
        /// The shared (non-webmail) domain, shown to the chair.
        domain: String,
    },
    /// The reviewer's conflict list names a speaker's address or domain; `entry` is the list
    /// entry as written, so the chair can find it.
    Listed {
        /// The matching entry of the reviewer's conflict list, as the chair wrote it.
        entry: String,
    },
    /// The reviewer declared a conflict for this proposal (e.g. replied `conflict`).
    Declared,
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictReason::Speaker => write!(f, "the reviewer is a speaker on the proposal"),
            ConflictReason::SameInstitution { domain } => {
                write!(f, "the reviewer and a speaker are both at {domain}")
            }
            ConflictReason::Listed { entry } => {
                write!(f, "the reviewer lists \"{entry}\" as a conflict")
            }
            ConflictReason::Declared => write!(f, "the reviewer declared a conflict"),
        }
    }
}

/// Trim and lower-case an address the way the peer does (`e.strip().lower()`).
fn norm_email(e: &str) -> String {
    e.trim().to_lowercase()
}

/// The part after the last `@`, or `""` when there is none (the peer's `domain_of`).
fn domain_part(email: &str) -> &str {
    match email.rfind('@') {
        Some(i) => &email[i + 1..],
        None => "",
    }
}

/// Normalise a domain (or the domain of an address) for institution matching: trim, drop a
/// leading `@` and trailing dots, lower-case, and convert internationalised names to their
/// ASCII (punycode) form so `münchen.de` and `xn--mnchen-3ya.de` compare equal.
pub fn normalize_domain(domain_or_email: &str) -> String {
    let s = domain_or_email.trim();
    let s = match s.rfind('@') {
        Some(i) => &s[i + 1..],
        None => s,
    };
    let s = s.trim_end_matches('.');
    match idna::domain_to_ascii(s) {
        Ok(a) if !a.is_empty() => a,
        _ => s.to_lowercase(),
    }
}

/// True when `domain` is a public webmail domain (exact match after normalisation).
pub fn is_public_webmail(domain: &str) -> bool {
    let d = normalize_domain(domain);
    PUBLIC_WEBMAIL_DOMAINS.contains(&d.as_str())
}

/// The registrable domain ("eTLD+1") of a domain or address: the institution it belongs to.
///
/// Returns `None` when the domain is empty, has a single label, or is itself a public suffix
/// (`ac.uk`, `com`, `github.io`), because such a domain identifies no institution.
pub fn registrable_domain(domain_or_email: &str) -> Option<String> {
    let d = normalize_domain(domain_or_email);
    // Empty names and empty labels (`a..b`, a lone dot) name nothing.
    if d.split('.').any(|l| l.is_empty()) {
        return None;
    }
    psl::domain_str(&d).map(str::to_string)
}

/// True when two domains (or addresses) belong to the same institution: their registrable
/// domains exist, are equal, and are not public webmail. `cs.uni.edu` ~ `uni.edu`,
/// `ox.ac.uk` ~ `cs.ox.ac.uk`, but not `ox.ac.uk` ~ `cam.ac.uk` and never `gmail.com` ~
/// `gmail.com`.
pub fn same_institution(a: &str, b: &str) -> bool {
    match (registrable_domain(a), registrable_domain(b)) {
        (Some(x), Some(y)) => x == y && !PUBLIC_WEBMAIL_DOMAINS.contains(&x.as_str()),
        _ => false,
    }
}

/// The product's conflict rule ([`MatchMode::Institution`]) for one reviewer and one
/// proposal: `reviewer_conflicts` is the reviewer's conflict list (addresses or domains),
/// `speakers` the proposal's speaker addresses. `None` means no conflict.
pub fn conflict_reason(
    reviewer_email: &str,
    reviewer_conflicts: &[String],
    speakers: &[String],
) -> Option<ConflictReason> {
    conflict_reason_with(
        MatchMode::Institution,
        reviewer_email,
        reviewer_conflicts,
        speakers,
    )
}

/// The product's conflict rule for a proposal, telling its verified speaker from the
/// co-speakers the speaker only named.
///
/// The speaker's address is verified (their reply token is bound to it), so every rule
/// applies to it: the same address, the same institution, the reviewer's listed addresses
/// and domains. A co-speaker is a claim: anyone can write `Co-speakers:` with one address
/// at each reviewer's institution. So a co-speaker blocks only the reviewers it names
/// exactly — the reviewer's own address ([`ConflictReason::Speaker`]) or an address on the
/// reviewer's conflict list ([`ConflictReason::Listed`]) — and never by domain or
/// institution: a claim can take away the reviewers it names, never the rest of an
/// institution, so it cannot make a proposal unassignable.
pub fn proposal_conflict(
    reviewer_email: &str,
    reviewer_conflicts: &[String],
    speaker: &str,
    co_speakers: &[String],
) -> Option<ConflictReason> {
    if let Some(r) = conflict_reason(reviewer_email, reviewer_conflicts, &[speaker.to_string()]) {
        return Some(r);
    }
    let me = norm_email(reviewer_email);
    let claimed: Vec<String> = co_speakers
        .iter()
        .map(|s| norm_email(s))
        .filter(|s| s.contains('@'))
        .collect();
    if claimed.contains(&me) {
        return Some(ConflictReason::Speaker);
    }
    reviewer_conflicts
        .iter()
        .find(|raw| {
            let x = norm_entry(raw);
            x.contains('@') && claimed.contains(&x)
        })
        .map(|raw| ConflictReason::Listed {
            entry: raw.trim().to_string(),
        })
}

/// Institution key for rule 2 in institution mode: registrable, non-webmail domain.
fn institution_key(domain: &str) -> Option<String> {
    registrable_domain(domain).filter(|d| !PUBLIC_WEBMAIL_DOMAINS.contains(&d.as_str()))
}

/// A listed conflict entry, normalised the way the peer does (trim, lower-case, one leading
/// `@` dropped).
fn norm_entry(x: &str) -> String {
    let x = x.trim().to_lowercase();
    match x.strip_prefix('@') {
        Some(rest) => rest.to_string(),
        None => x,
    }
}

/// True when a listed domain entry (already normalised) covers `speaker_domain`.
fn listed_domain_matches(mode: MatchMode, entry: &str, speaker_domain: &str) -> bool {
    match mode {
        MatchMode::Exact => entry == speaker_domain,
        MatchMode::Institution => {
            let e = normalize_domain(entry);
            let s = normalize_domain(speaker_domain);
            if e == s {
                return true;
            }
            if PUBLIC_WEBMAIL_DOMAINS.contains(&e.as_str()) {
                return false;
            }
            same_institution(&e, &s)
        }
    }
}

/// [`conflict_reason`] with an explicit [`MatchMode`].
pub fn conflict_reason_with(
    mode: MatchMode,
    reviewer_email: &str,
    reviewer_conflicts: &[String],
    speakers: &[String],
) -> Option<ConflictReason> {
    let me = norm_email(reviewer_email);
    let speakers: Vec<String> = speakers.iter().map(|s| norm_email(s)).collect();
    if speakers.contains(&me) {
        return Some(ConflictReason::Speaker);
    }
    let my_dom = domain_part(&me);
    match mode {
        MatchMode::Exact => {
            if !my_dom.is_empty()
                && !PUBLIC_WEBMAIL_DOMAINS.contains(&my_dom)
                && speakers.iter().any(|s| domain_part(s) == my_dom)
            {
                return Some(ConflictReason::SameInstitution {
                    domain: my_dom.to_string(),
                });
            }
        }
        MatchMode::Institution => {
            if let Some(inst) = institution_key(my_dom) {
                if speakers
                    .iter()
                    .any(|s| institution_key(domain_part(s)).as_deref() == Some(inst.as_str()))
                {
                    return Some(ConflictReason::SameInstitution { domain: inst });
                }
            }
        }
    }
    for raw in reviewer_conflicts {
        let x = norm_entry(raw);
        let hit = if x.contains('@') {
            speakers.contains(&x)
        } else {
            speakers
                .iter()
                .any(|s| listed_domain_matches(mode, &x, domain_part(s)))
        };
        if hit {
            return Some(ConflictReason::Listed {
                entry: raw.trim().to_string(),
            });
        }
    }
    None
}

/// One conflicted (proposal, reviewer) pair found by [`conflict_pairs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundConflict {
    /// Index of the proposal in the caller's proposal list.
    pub proposal: usize,
    /// Index of the reviewer in the caller's reviewer list.
    pub reviewer: usize,
    /// The first applicable rule, as [`conflict_reason_with`] would report it.
    pub reason: ConflictReason,
}

/// A reviewer as seen by the bulk conflict finder: address and own conflict list.
#[derive(Clone, Copy, Debug)]
pub struct ReviewerRef<'a> {
    /// The reviewer's email address.
    pub email: &'a str,
    /// The reviewer's conflict list (addresses or domains).
    pub conflicts: &'a [String],
}

/// All conflicted pairs of a whole instance, in time linear in the number of speakers and
/// list entries (not proposals × reviewers): speakers are indexed by address and by
/// (registrable) domain. Returns pairs sorted by (proposal, reviewer), each with the same
/// reason [`conflict_reason_with`] gives for that pair.
pub fn conflict_pairs(
    mode: MatchMode,
    reviewers: &[ReviewerRef<'_>],
    speakers: &[Vec<String>],
) -> Vec<FoundConflict> {
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_domain: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_inst: HashMap<String, Vec<usize>> = HashMap::new();
    for (p, list) in speakers.iter().enumerate() {
        for s in list {
            let e = norm_email(s);
            let d = domain_part(&e).to_string();
            if mode == MatchMode::Institution {
                if let Some(k) = institution_key(&d) {
                    by_inst.entry(k).or_default().push(p);
                }
                by_domain.entry(normalize_domain(&d)).or_default().push(p);
            } else {
                by_domain.entry(d).or_default().push(p);
            }
            by_email.entry(e).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    let mut found: HashMap<usize, ConflictReason> = HashMap::new();
    for (r, rev) in reviewers.iter().enumerate() {
        found.clear();
        let mut add = |ps: Option<&Vec<usize>>, reason: &ConflictReason| {
            for &p in ps.into_iter().flatten() {
                found.entry(p).or_insert_with(|| reason.clone());
            }
        };
        let me = norm_email(rev.email);
        add(by_email.get(&me), &ConflictReason::Speaker);
        let my_dom = domain_part(&me);
        match mode {
            MatchMode::Exact => {
                if !my_dom.is_empty() && !PUBLIC_WEBMAIL_DOMAINS.contains(&my_dom) {
                    let reason = ConflictReason::SameInstitution {
                        domain: my_dom.to_string(),
                    };
                    add(by_domain.get(my_dom), &reason);
                }
            }
            MatchMode::Institution => {
                if let Some(inst) = institution_key(my_dom) {
                    let reason = ConflictReason::SameInstitution {
                        domain: inst.clone(),
                    };
                    add(by_inst.get(&inst), &reason);
                }
            }
        }
        for raw in rev.conflicts {
            let x = norm_entry(raw);
            let reason = ConflictReason::Listed {
                entry: raw.trim().to_string(),
            };
            if x.contains('@') {
                add(by_email.get(&x), &reason);
            } else {
                match mode {
                    MatchMode::Exact => add(by_domain.get(&x), &reason),
                    MatchMode::Institution => {
                        let nx = normalize_domain(&x);
                        add(by_domain.get(&nx), &reason);
                        if !PUBLIC_WEBMAIL_DOMAINS.contains(&nx.as_str()) {
                            if let Some(k) = institution_key(&nx) {
                                add(by_inst.get(&k), &reason);
                            }
                        }
                    }
                }
            }
        }
        let mut v: Vec<(usize, ConflictReason)> = found.drain().collect();
        v.sort_by_key(|x| x.0);
        out.extend(v.into_iter().map(|(p, reason)| FoundConflict {
            proposal: p,
            reviewer: r,
            reason,
        }));
    }
    out.sort_by_key(|c| (c.proposal, c.reviewer));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn public_suffixes_are_never_institutions() {
        assert!(same_institution("cs.uni.edu", "uni.edu"));
        assert!(same_institution("ann@cs.uni.edu", "bob@math.uni.edu"));
        assert!(same_institution("ox.ac.uk", "cs.ox.ac.uk"));
        assert!(!same_institution("ox.ac.uk", "cam.ac.uk"));
        assert!(!same_institution("ac.uk", "ac.uk"));
        assert!(!same_institution("ac.uk", "ox.ac.uk"));
        assert!(!same_institution("gmail.com", "gmail.com"));
        assert!(!same_institution("a.github.io", "b.github.io"));
        assert!(same_institution("Uni.EDU.", "uni.edu"));
        assert!(!same_institution("uni.edu", "uni2.edu"));
        assert!(!same_institution("", ""));
        assert!(!same_institution("localhost", "localhost"));
        assert_eq!(
            registrable_domain("a.b.k12.ca.us").as_deref(),
            Some("b.k12.ca.us")
        );
        assert_eq!(registrable_domain("ac.uk"), None);
        assert_eq!(registrable_domain("x.co.jp").as_deref(), Some("x.co.jp"));
        assert_eq!(
            registrable_domain("www.x.co.jp").as_deref(),
            Some("x.co.jp")
        );
        assert!(same_institution("münchen.de", "xn--mnchen-3ya.de"));
    }

    #[test]
    fn multi_label_suffixes_come_from_the_public_suffix_list() {
        // Departments of one institution under a two-label suffix.
        assert!(same_institution("cs.ox.ac.uk", "eng.ox.ac.uk"));
        assert!(same_institution("ann@a.b.cs.ox.ac.uk", "bob@ox.ac.uk"));
        assert_eq!(
            registrable_domain("a.b.cs.ox.ac.uk").as_deref(),
            Some("ox.ac.uk")
        );
        // Hosting suffixes from the list's private section: each customer is its own owner.
        assert!(!same_institution("a.github.io", "b.github.io"));
        assert_eq!(registrable_domain("github.io"), None);
        assert_eq!(
            registrable_domain("docs.a.github.io").as_deref(),
            Some("a.github.io")
        );
        assert!(same_institution("docs.a.github.io", "a.github.io"));
        // Three-label suffixes the old approximation folded into one "institution".
        assert!(!same_institution("x.act.edu.au", "y.act.edu.au"));
        assert!(same_institution("cs.x.act.edu.au", "x.act.edu.au"));
        assert_eq!(registrable_domain("k12.ca.us"), None);
        // Conflicts follow: a reviewer at another school under the same suffix is free.
        assert_eq!(
            conflict_reason("r@eng.ox.ac.uk", &[], &s(&["ann@cs.ox.ac.uk"])),
            Some(ConflictReason::SameInstitution {
                domain: "ox.ac.uk".into()
            })
        );
        assert_eq!(
            conflict_reason("r@b.github.io", &[], &s(&["ann@a.github.io"])),
            None
        );
    }

    #[test]
    fn internationalised_domains_are_compared_lower_cased_in_ascii() {
        assert_eq!(
            normalize_domain("Ann@Mail.MÜNCHEN.de."),
            "mail.xn--mnchen-3ya.de"
        );
        assert_eq!(
            registrable_domain("Ann@Mail.MÜNCHEN.de").as_deref(),
            Some("xn--mnchen-3ya.de")
        );
        assert!(same_institution("CS.Bücher.DE", "xn--bcher-kva.de"));
        assert!(!same_institution("bücher.de", "bucher.de"));
        // A non-Latin top-level domain, as Unicode and as punycode.
        assert!(same_institution("lab.пример.рф", "xn--e1afmkfd.xn--p1ai"));
        assert_eq!(registrable_domain("рф"), None);
        assert_eq!(
            conflict_reason("r@Dept.Bücher.de", &[], &s(&["ann@xn--bcher-kva.de"])),
            Some(ConflictReason::SameInstitution {
                domain: "xn--bcher-kva.de".into()
            })
        );
    }

    #[test]
    fn webmail_list() {
        assert!(is_public_webmail("gmail.com"));
        assert!(is_public_webmail("GMail.com."));
        assert!(is_public_webmail("yahoo.co.uk"));
        assert!(!is_public_webmail("uni.edu"));
    }

    #[test]
    fn reasons_in_order() {
        let sp = s(&["Ann@Uni.edu", "bob@gmail.com"]);
        assert_eq!(
            conflict_reason("ann@uni.edu", &[], &sp),
            Some(ConflictReason::Speaker)
        );
        assert_eq!(
            conflict_reason("carl@cs.uni.edu", &[], &sp),
            Some(ConflictReason::SameInstitution {
                domain: "uni.edu".into()
            })
        );
        // exact mode (peer) does not fold subdomains
        assert_eq!(
            conflict_reason_with(MatchMode::Exact, "carl@cs.uni.edu", &[], &sp),
            None
        );
        assert_eq!(conflict_reason("dan@gmail.com", &[], &sp), None);
        assert_eq!(
            conflict_reason("dan@gmail.com", &s(&[" @Gmail.com "]), &sp),
            Some(ConflictReason::Listed {
                entry: "@Gmail.com".into()
            })
        );
        assert_eq!(
            conflict_reason("dan@x.org", &s(&["bob@gmail.com"]), &sp),
            Some(ConflictReason::Listed {
                entry: "bob@gmail.com".into()
            })
        );
        assert_eq!(
            conflict_reason("dan@x.org", &s(&["cs.uni.edu"]), &sp),
            Some(ConflictReason::Listed {
                entry: "cs.uni.edu".into()
            })
        );
        assert_eq!(
            conflict_reason_with(MatchMode::Exact, "dan@x.org", &s(&["cs.uni.edu"]), &sp),
            None
        );
        assert_eq!(
            conflict_reason("eve@ox.ac.uk", &[], &s(&["f@cam.ac.uk"])),
            None
        );
        assert!(ConflictReason::Speaker.to_string().contains("speaker"));
    }

    #[test]
    fn bulk_agrees_with_pairwise() {
        let doms = [
            "gmail.com",
            "uni.edu",
            "cs.uni.edu",
            "ox.ac.uk",
            "cam.ac.uk",
            "org1.example.com",
            "yahoo.co.uk",
        ];
        let mut seed = 12345u64;
        let mut rnd = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let mut speakers = Vec::new();
        for p in 0..30 {
            let n = 1 + rnd(3);
            speakers.push(
                (0..n)
                    .map(|i| format!("s{}{}@{}", p % 7, i, doms[rnd(doms.len())]))
                    .collect::<Vec<_>>(),
            );
        }
        let mut revs: Vec<(String, Vec<String>)> = Vec::new();
        for r in 0..25 {
            let email = if r % 5 == 0 {
                speakers[rnd(30)][0].to_uppercase()
            } else {
                format!("r{r}@{}", doms[rnd(doms.len())])
            };
            let mut c = Vec::new();
            for _ in 0..rnd(3) {
                if rnd(2) == 0 {
                    c.push(doms[rnd(doms.len())].to_string());
                } else {
                    c.push(speakers[rnd(30)][0].clone());
                }
            }
            revs.push((email, c));
        }
        for mode in [MatchMode::Exact, MatchMode::Institution] {
            let refs: Vec<ReviewerRef> = revs
                .iter()
                .map(|(e, c)| ReviewerRef {
                    email: e,
                    conflicts: c,
                })
                .collect();
            let bulk = conflict_pairs(mode, &refs, &speakers);
            let mut pair = Vec::new();
            for (p, sp) in speakers.iter().enumerate() {
                for (r, (e, c)) in revs.iter().enumerate() {
                    if let Some(reason) = conflict_reason_with(mode, e, c, sp) {
                        pair.push(FoundConflict {
                            proposal: p,
                            reviewer: r,
                            reason,
                        });
                    }
                }
            }
            assert_eq!(bulk, pair, "mode {mode:?}");
            assert!(!bulk.is_empty());
        }
    }

    #[test]
    fn claimed_co_speakers_block_only_the_reviewers_they_name() {
        let none: Vec<String> = vec![];
        // The verified speaker counts by institution.
        assert_eq!(
            proposal_conflict("rita@cs.uni.edu", &none, "ann@uni.edu", &none),
            Some(ConflictReason::SameInstitution {
                domain: "uni.edu".into()
            })
        );
        // A claimed co-speaker at the reviewer's institution does not.
        let co = s(&["someone@cs.uni.edu", "x@ox.ac.uk"]);
        assert_eq!(
            proposal_conflict("rita@cs.uni.edu", &none, "eve@gmail.com", &co),
            None
        );
        assert_eq!(
            proposal_conflict("rita@uni.edu", &s(&["ox.ac.uk"]), "eve@gmail.com", &co),
            None
        );
        // Naming the reviewer exactly blocks that reviewer.
        assert_eq!(
            proposal_conflict(
                "Rita@CS.uni.edu",
                &none,
                "eve@gmail.com",
                &s(&["rita@cs.uni.edu"])
            ),
            Some(ConflictReason::Speaker)
        );
        // So does a co-speaker the reviewer lists by address.
        assert_eq!(
            proposal_conflict(
                "rita@cs.uni.edu",
                &s(&[" Bob@x.org "]),
                "eve@gmail.com",
                &s(&["bob@x.org"])
            ),
            Some(ConflictReason::Listed {
                entry: "Bob@x.org".into()
            })
        );
        // The speaker is the reviewer.
        assert_eq!(
            proposal_conflict("eve@gmail.com", &none, "eve@gmail.com", &none),
            Some(ConflictReason::Speaker)
        );
    }
}
