//! Heuristics: subject words (auto-replies and delivery failures in several languages),
//! system sender names (mailer-daemon, postmaster, no-reply, bounce addresses), bounce
//! body phrases, and the scraping of plain-text bounces for recipients and status codes.

use super::*;

pub(super) fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests; an invalid one
    // degrades to a regex that never matches instead of panicking.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("trivial regex"))
}

/// Reply/forward prefixes and bracketed tags in front of a subject.
pub(super) static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:(re|fwd?|aw|wg|tr|sv|vs|rv|enc|res|antw|odp|vb|ynt|回复|回覆|答复|转发|轉寄|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{0,60}\]\s*)",
    )
});

/// Out-of-office / auto-reply subjects, anchored at the start. A phrase
/// must be followed by a colon, bracket, dash or the end of the subject
/// (optionally after "reply"/"notice"/…), so that talk titles such as
/// "Automatic reply suggestions with LLMs" stay human; a few sentence forms
/// ("I am out of the office …") are unambiguous on their own.
pub(super) static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:",
        r"(?:out of (?:the )?office|ooo|automatic reply|automatic response|auto[ -]?(?:reply|replied|response|respons|responder|answer|antwort)",
        r"|autoreply|autoresponse|r[ée]ponse automatique|absente? du bureau|abwesenheitsnotiz|abwesenheit|abwesend",
        r"|automatische (?:antwort|r[üu]ckantwort)|respuesta autom[áa]tica|fuera de (?:la )?oficina|risposta automatica",
        r"|fuori (?:sede|ufficio)|automatisch antwoord|afwezig|resposta autom[áa]tica|autosvar|automatisk svar",
        r"|automaattinen vastaus|automatyczna odpowied[źz]|автоматический ответ|автоответ|自動応答|自動返信|自动回复|自動回覆|자동\s?응답",
        r"|vacation|on vacation|away from (?:the |my )?(?:office|desk))",
        r"(?:\s+(?:reply|autoreply|auto[- ]reply|response|notice|notification|message))?",
        r"\s*(?:[:：(\[\-–—]|$|(?:until|till|from|returning|back)\b)",
        r"|i(?: am|'m|’m) (?:currently )?(?:out of (?:the )?office|away from (?:the |my )?(?:office|desk)|on (?:vacation|holiday|leave|annual leave))",
        r")",
    ))
});

/// Delivery-failure subjects, anchored at the start; like auto-reply
/// subjects, a phrase must be followed by a colon, bracket, dash or the end,
/// except for verbatim MTA phrases.
pub(super) static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:",
        r"(?:undeliverable|undelivered|undelivered mail|delivery status notification|mail delivery (?:failed|failure|delayed|status report)",
        r"|delivery (?:failure|failed|has failed|notification|delayed|final failure|status)|failure notice|returned mail|mail returned",
        r"|message not delivered|non[- ]?delivery|nondeliverable|delayed mail|mail failure|postmaster notify|mail system error",
        r"|message delivery failure|unable to deliver|could not deliver|non remis|non distribu[ée]|unzustellbar|nicht zustellbar",
        r"|onbestelbaar|non recapitabile|no se puede entregar|mensaje no entregado)",
        r"(?:\s+(?:mail|message|notification|notice|report))?",
        r"\s*(?:[:：(\[\-–—]|$)",
        r"|undelivered mail returned to sender|delivery has failed to these recipients|warning: could not send message",
        r"|warning: message .{0,120} delayed|mail delivery failed\s*:|returned mail\s*:|delivery status notification\s*\(",
        r")",
    ))
});

/// Verbatim MTA delivery-failure subjects that may appear after a host name
/// or tag anywhere in a subject.
pub(super) static BOUNCE_SUBJECT_ANYWHERE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:mail delivery failed\s*:\s*returning message to sender|undelivered mail returned to sender|delivery status notification \((?:failure|delay|delayed)\))",
    )
});

/// Fixed phrases of common bounce bodies.
pub(super) static BOUNCE_BODY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)(?:this is the qmail-send program|created automatically by mail delivery software|this is the mail system at host|the original message was received at|addresses had permanent fatal errors|delivery to the following recipients? failed|delivery has failed to these recipients|could not be delivered to one or more|i'm afraid i wasn't able to deliver|transcript of session follows|failed addresses follow|^final-recipient:|^diagnostic-code:)",
    )
});

/// Lines that start the returned copy of the original message.
pub(super) static ORIGINAL_SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^.{0,30}(?:copy of (?:the|your) message|-+\s*original message\s*-+|original message (?:headers|follows)|message text follows|header of the original message|returned message follows|unsent message below)",
    )
});

/// Text that says a failure is only a delay.
pub(super) static DELAY_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:has not yet been delivered|warning only|still being retried|will (?:continue|be retried|retry)|delivery attempts will continue|\(delay\)|delivery delayed|message delayed|could not send message for past|delayed mail)",
    )
});

/// Text that says a failure is permanent.
pub(super) static PERMANENT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:permanent(?:ly)? (?:error|failure|fatal)|failed permanently|i've given up|could not be delivered|couldn't be delivered|delivery has failed|undelivered mail returned|returning message to sender|no mailbox here|user unknown|unknown user)",
    )
});

/// `Message-ID:` line in text.
pub(super) static MESSAGE_ID_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?mi)^[ \t>]*message-id:[ \t]*<?([^\s<>]+@[^\s<>]+|[^\s<>]+)>?"));

/// A line that consists of one address (qmail `<a@b>:`, Exim `  a@b`,
/// Gmail, Exchange `a@b<mailto:a@b>`, Sendmail `<a@b>`).
pub(super) static ADDRESS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^[ \t]*<?([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?(?:<mailto:[^>\s]*>)?[ \t]*(?::|\.\.\.)?[ \t]*\r?$",
    )
});

/// Postfix-style `<a@b>: host mx.example said: 550 ...` at the start of a line.
pub(super) static POSTFIX_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^[ \t]*<([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>:[ \t]+\S",
    )
});

/// An address in angle brackets.
pub(super) static ANGLE_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"<([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,})>",
    )
});

/// Sendmail-style `a@b... reason` or `<a@b>... reason`.
pub(super) static ADDRESS_ELLIPSIS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)<?([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?[ \t]*\.\.\.\s",
    )
});

/// Any address.
pub(super) static ANY_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"([A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,})",
    )
});

/// Enhanced status code candidate; boundaries are checked by hand.
pub(super) static ENHANCED_STATUS: LazyLock<Regex> =
    LazyLock::new(|| re(r"([245])\.(\d{1,3})\.(\d{1,3})"));

/// SMTP basic reply code candidate; boundaries are checked by hand.
pub(super) static BASIC_CODE: LazyLock<Regex> = LazyLock::new(|| re(r"([45])[0-5]\d"));

impl Ctx<'_, '_> {
    /// Subject with reply/forward prefixes and `[tags]` removed, and whether
    /// a reply or forward prefix was removed.
    pub(super) fn core_subject(&self) -> (&str, bool) {
        let mut s = self.subject.trim();
        let mut prefixed = false;
        for _ in 0..16 {
            let Some(caps) = SUBJECT_PREFIX.captures(s) else {
                break;
            };
            let Some(whole) = caps.get(0) else { break };
            if whole.end() == 0 {
                break;
            }
            if caps.get(1).is_some() {
                prefixed = true;
            }
            s = s.get(whole.end()..).unwrap_or_default().trim_start();
        }
        (s, prefixed)
    }

    pub(super) fn heuristic_recipients(&self, report: &str) -> Vec<BouncedRecipient> {
        // Candidate (position, address) pairs. X-Failed-Recipients (Exim,
        // Gmail) is authoritative; otherwise the strongest text pattern wins.
        let mut found: Vec<(usize, String)> = Vec::new();
        let lower = report.to_ascii_lowercase();
        for v in self.values("x-failed-recipients") {
            for m in ANY_ADDRESS.find_iter(v) {
                let a = m.as_str();
                let pos = lower.find(&a.to_ascii_lowercase()).unwrap_or(usize::MAX);
                found.push((pos, a.to_string()));
            }
        }
        if found.is_empty() {
            let tiers: [&[&Regex]; 2] = [&[&ADDRESS_LINE, &POSTFIX_LINE], &[&ADDRESS_ELLIPSIS]];
            for tier in tiers {
                for re in tier {
                    for c in re.captures_iter(report) {
                        if let Some(m) = c.get(1) {
                            if !self.is_excluded(m.as_str()) {
                                found.push((m.start(), m.as_str().to_string()));
                            }
                        }
                    }
                }
                if !found.is_empty() {
                    break;
                }
            }
        }
        if found.is_empty() {
            // Addresses on lines that carry an SMTP status.
            for line_start in line_starts(report) {
                let line = line_at(report, line_start);
                if find_failure_status(line).is_none() {
                    continue;
                }
                for m in ANY_ADDRESS.find_iter(line) {
                    if !self.is_excluded(m.as_str()) {
                        found.push((line_start + m.start(), m.as_str().to_string()));
                    }
                }
            }
        }
        if found.is_empty() {
            // Last resort: the first <address> the report mentions, other
            // than an SMTP `MAIL FROM:<...>`.
            let candidate = ANGLE_ADDRESS.captures_iter(report).find_map(|c| {
                let m = c.get(1)?;
                let before = report
                    .get(..m.start().saturating_sub(1))
                    .unwrap_or_default();
                let is_mail_from = before.trim_end().to_ascii_lowercase().ends_with("from:");
                (!is_mail_from && !self.is_excluded(m.as_str())).then_some(m)
            });
            if let Some(m) = candidate {
                found.push((m.start(), m.as_str().to_string()));
            }
        }
        found.sort_by_key(|(pos, _)| *pos);
        let mut seen: Vec<String> = Vec::new();
        found.retain(|(_, a)| {
            let l = a.to_ascii_lowercase();
            if seen.contains(&l) {
                false
            } else {
                seen.push(l);
                true
            }
        });

        let positions: Vec<usize> = found.iter().map(|(p, _)| *p).collect();
        let single = found.len() == 1;
        found
            .iter()
            .map(|(pos, address)| {
                let block = if *pos == usize::MAX || single {
                    report
                } else {
                    let end = positions
                        .iter()
                        .copied()
                        .filter(|p| *p > *pos && *p != usize::MAX)
                        .min()
                        .unwrap_or(report.len());
                    let end = floor_char_boundary(report, end.min(pos.saturating_add(2000)));
                    report.get(*pos..end).unwrap_or(report)
                };
                let local = if *pos == usize::MAX {
                    None
                } else {
                    report.get(*pos..)
                };
                let (status, diagnostic) = match find_failure_status(block) {
                    Some((status, at)) => (Some(status), Some(diagnostic_at(block, at))),
                    None => (None, local.and_then(paragraph_after_address)),
                };
                BouncedRecipient {
                    address: address.clone(),
                    action: None,
                    status,
                    diagnostic,
                }
            })
            .collect()
    }
}

pub(super) fn is_mailer_daemon(addr: &str) -> bool {
    let l = local_part(addr);
    let base = l.split('+').next().unwrap_or_default();
    matches!(
        base,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "mail-daemon" | "maildaemon"
    )
}

pub(super) fn is_mailer_daemon_name(name: &str) -> bool {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    n.contains("mailer-daemon")
        || n.contains("mailer daemon")
        || n.starts_with("mail delivery system")
        || n.starts_with("mail delivery subsystem")
        || n.starts_with("mail delivery service")
}

pub(super) fn is_postmaster(addr: &str) -> bool {
    let l = local_part(addr);
    l.split('+').next().unwrap_or_default() == "postmaster"
}

pub(super) fn is_noreply(addr: &str) -> bool {
    let l = local_part(addr);
    [
        "noreply",
        "no-reply",
        "no_reply",
        "no.reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "do.not.reply",
        "dontreply",
    ]
    .iter()
    .any(|w| l.contains(w))
}

pub(super) fn is_bounce_address(addr: &str) -> bool {
    let l = local_part(addr);
    if matches!(l.as_str(), "bounce" | "bounces" | "double-bounce") {
        return true;
    }
    for stem in ["bounce", "bounces"] {
        if let Some(rest) = l.strip_prefix(stem) {
            if rest.starts_with(['-', '+', '.', '_', '=']) {
                return true;
            }
        }
    }
    // Mailman-style "list-bounces", "list-bounces+user=host".
    l.split(['+', '='])
        .next()
        .is_some_and(|base| base.ends_with("-bounces") || base.ends_with("-bounce"))
}

/// Like [`find_status`] but ignores success codes (`250 2.0.0 Ok` lines in
/// SMTP transcripts).
pub(super) fn find_failure_status(s: &str) -> Option<(String, usize)> {
    let mut offset = 0;
    while let Some(rest) = s.get(offset..) {
        let (status, at) = find_status(rest)?;
        if !status.starts_with('2') {
            return Some((status, offset + at));
        }
        offset += at + 1;
    }
    None
}

/// The explanation following a recipient line in a plain-text bounce: the
/// rest of the address line and the lines up to the next blank line, or the
/// next paragraph when the address stands alone.
pub(super) fn paragraph_after_address(from_address: &str) -> Option<String> {
    let mut lines = from_address.lines();
    let first = lines.next().unwrap_or_default();
    let rest_of_first = first
        .split_once(['>', ':'])
        .map(|(_, r)| r.trim_start_matches([':', '>']).trim())
        .unwrap_or_default();
    let mut parts: Vec<&str> = Vec::new();
    if rest_of_first.len() > 3 {
        parts.push(rest_of_first);
    }
    let mut started = !parts.is_empty();
    for line in lines.take(12) {
        let t = line.trim();
        if t.is_empty() {
            if started {
                break;
            }
            continue;
        }
        if t.starts_with("---") || t.starts_with("|--") {
            break;
        }
        parts.push(t);
        started = true;
    }
    let joined = clip(&parts.join(" "));
    (!joined.is_empty()).then_some(joined)
}

/// Finds a status in `s`: the first enhanced status code (`5.1.1`) or else
/// the first SMTP basic reply code (`550` -> `5.0.0`). Returns the status
/// and the byte offset where it was found.
pub(super) fn find_status(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    for m in ENHANCED_STATUS.find_iter(s) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(m.end()).copied();
        let after2 = bytes.get(m.end() + 1).copied();
        let bad_before = before.is_some_and(|b| b.is_ascii_digit() || b == b'.');
        let bad_after = after.is_some_and(|b| b.is_ascii_digit())
            || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()));
        if !bad_before && !bad_after {
            return Some((m.as_str().to_string(), m.start()));
        }
    }
    for m in BASIC_CODE.find_iter(s) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(m.end()).copied();
        let ok_before = before.is_none_or(|b| {
            b == b' '
                || b == b'\t'
                || b == b'\''
                || b == b'"'
                || b == b'('
                || b == b'\n'
                || b == b':'
                || b == b'<'
                || b == b'#'
        });
        let ok_after = after.is_none_or(|b| b == b' ' || b == b'-' || b == b'\r' || b == b'\n');
        if ok_before && ok_after {
            let class = m.as_str().chars().next().unwrap_or('5');
            return Some((format!("{class}.0.0"), m.start()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn patterns_compile() {
        for (name, pattern) in [
            ("SUBJECT_PREFIX", &*SUBJECT_PREFIX),
            ("AUTO_REPLY_SUBJECT", &*AUTO_REPLY_SUBJECT),
            ("BOUNCE_SUBJECT", &*BOUNCE_SUBJECT),
            ("BOUNCE_SUBJECT_ANYWHERE", &*BOUNCE_SUBJECT_ANYWHERE),
            ("BOUNCE_BODY", &*BOUNCE_BODY),
            ("ORIGINAL_SEPARATOR", &*ORIGINAL_SEPARATOR),
            ("DELAY_TEXT", &*DELAY_TEXT),
            ("PERMANENT_TEXT", &*PERMANENT_TEXT),
            ("MESSAGE_ID_LINE", &*MESSAGE_ID_LINE),
            ("ADDRESS_LINE", &*ADDRESS_LINE),
            ("ADDRESS_ELLIPSIS", &*ADDRESS_ELLIPSIS),
            ("POSTFIX_LINE", &*POSTFIX_LINE),
            ("ANGLE_ADDRESS", &*ANGLE_ADDRESS),
            ("ANY_ADDRESS", &*ANY_ADDRESS),
            ("ENHANCED_STATUS", &*ENHANCED_STATUS),
            ("BASIC_CODE", &*BASIC_CODE),
        ] {
            // The never-matching fallback means the pattern failed to compile.
            assert_ne!(pattern.as_str(), r"[^\s\S]", "{name} does not compile");
        }
    }

    #[test]
    fn auto_reply_subjects_in_several_languages() {
        for subject in [
            "Out of Office: Proposal: Making Django fast",
            "Out of office reply",
            "Automatic reply: Your proposal P-0042",
            "Auto reply: Nyaan",
            "AutoReply: hello",
            "Auto-Response: hello",
            "Réponse automatique : Re: P-0042",
            "Abwesenheitsnotiz: Ihr Vorschlag",
            "Automatische Antwort: Ihr Vorschlag",
            "Respuesta automática: propuesta",
            "Risposta automatica: proposta",
            "Automatisch antwoord: voorstel",
            "Resposta automática: proposta",
            "Autosvar: förslag",
            "Automaattinen vastaus: ehdotus",
            "Automatyczna odpowiedź: propozycja",
            "Автоматический ответ: заявка",
            "自動応答: 提案",
            "自动回复: 提案",
            "Vacation reply",
            "I am out of the office until Monday",
            "[EXTERNAL] Automatic reply: P-0042",
        ] {
            let k = expect_label(&human_with("", subject, "I am away."), "auto-reply");
            assert!(k.reason().contains("subject"), "{subject}: {}", k.reason());
        }
    }

    #[test]
    fn delivery_failure_subjects() {
        for subject in [
            "Undeliverable: Proposal: Making Django fast",
            "Undelivered Mail Returned to Sender",
            "Delivery Status Notification (Failure)",
            "Mail delivery failed: returning message to sender",
            "Returned mail: see transcript for details",
            "failure notice",
            "Delivery has failed to these recipients or groups",
            "Unzustellbar: Ihr Vorschlag",
            "Non remis : votre proposition",
            "Warning: could not send message for past 4 hours",
        ] {
            let raw = human_with("", subject, "Sorry.");
            let k = expect_label(&raw, "bounce");
            assert!(k.reason().contains("subject"), "{subject}: {}", k.reason());
        }
        // A human forwarding a bounce: automated content, but not a bounce.
        let raw = human_with("", "Fwd: Returned mail: see transcript for details", "FYI");
        let k = expect_label(&raw, "system");
        assert!(k.reason().contains("forwarded"));
    }

    #[test]
    fn status_codes_are_not_taken_from_ip_addresses() {
        assert_eq!(find_status("host 10.5.1.1 said hi"), None);
        assert_eq!(find_status("192.0.2.153"), None);
        assert_eq!(
            find_status("said: 550 5.1.1 unknown").map(|s| s.0),
            Some("5.1.1".to_string())
        );
        assert_eq!(
            find_status("550-5.7.26 Unauthenticated").map(|s| s.0),
            Some("5.7.26".to_string())
        );
        assert_eq!(
            find_status("said: 550 Unknown user").map(|s| s.0),
            Some("5.0.0".to_string())
        );
        assert_eq!(
            find_status("(#4.4.1)").map(|s| s.0),
            Some("4.4.1".to_string())
        );
        assert_eq!(find_status("version 5.1.1.3"), None);
    }
}
