//! Delivery reports: `multipart/report` structure (RFC 6522), RFC 3464 delivery-status
//! notifications, ARF feedback reports and read receipts, and the details of a bounce
//! (recipients, hard or soft, the returned message's identity).

use super::*;

/// Report parts found in the message's own MIME tree.
#[derive(Default)]
pub(super) struct Reports {
    /// `multipart/report` report-types seen.
    pub(super) report_types: Vec<String>,
    /// Texts of `message/delivery-status` / `message/global-delivery-status`.
    pub(super) delivery_status: Vec<String>,
    /// Texts of `message/feedback-report`.
    pub(super) feedback: Vec<String>,
    /// A `message/disposition-notification` part was seen.
    pub(super) disposition: bool,
    /// Report parts seen only inside attached messages.
    pub(super) nested_report: Option<String>,
    /// An attached message carries Microsoft JMRP markers.
    pub(super) jmrp: bool,
}

impl Ctx<'_, '_> {
    pub(super) fn feedback_report(&self) -> Option<(Option<String>, String)> {
        let r = &self.reports;
        let feedback_type = r.feedback.iter().find_map(|text| {
            let (fields, _) = parse_dsn(text);
            field(&fields, "feedback-type").map(|v| v.to_ascii_lowercase())
        });
        if r.report_types.iter().any(|t| t == "feedback-report") {
            return Some((
                feedback_type,
                "multipart/report; report-type=feedback-report (ARF)".into(),
            ));
        }
        if !r.feedback.is_empty() {
            return Some((feedback_type, "message/feedback-report part (ARF)".into()));
        }
        if r.jmrp {
            return Some((
                None,
                "Microsoft JMRP complaint (X-HmXmrOriginalRecipient)".into(),
            ));
        }
        None
    }

    /// Why this message is a bounce, if it is one.
    pub(super) fn bounce_evidence(&self) -> Option<String> {
        let r = &self.reports;
        if r.report_types.iter().any(|t| t == "delivery-status") {
            return Some("multipart/report; report-type=delivery-status (DSN)".into());
        }
        if !r.delivery_status.is_empty() {
            return Some("message/delivery-status part (DSN)".into());
        }
        if let Some(v) = self.first("x-failed-recipients") {
            if !v.trim().is_empty() {
                return Some(format!("X-Failed-Recipients: {}", v.trim()));
            }
        }
        // Weak signals (sender names, subject words) never outweigh a body a person
        // wrote; see `Ctx::weak_counts`. It is asked only once a weak signal is
        // there: it reads the whole body, and most mail has no weak signal at all.
        let weak_sender = self
            .from
            .iter()
            .any(|s| is_mailer_daemon(&s.address) || is_mailer_daemon_name(&s.name));
        if weak_sender && self.weak_counts() {
            for s in &self.from {
                if is_mailer_daemon(&s.address) {
                    return Some(format!("sender is {}", s.address));
                }
                if is_mailer_daemon_name(&s.name) {
                    return Some(format!("sender display name is \"{}\"", s.name));
                }
            }
        }
        if let Some(rp) = self.return_path() {
            if is_mailer_daemon(&rp) {
                return Some(format!("Return-Path is {rp}"));
            }
        }
        let (core, prefixed) = self.core_subject();
        if !prefixed
            && (BOUNCE_SUBJECT.is_match(core) || BOUNCE_SUBJECT_ANYWHERE.is_match(core))
            && self.weak_counts()
        {
            return Some(format!(
                "delivery-failure subject \"{}\"",
                self.subject.trim()
            ));
        }
        // Body phrases only count together with a header-level machine signal.
        let machine_header = self.return_path().is_some_and(|rp| rp.is_empty())
            || self.auto_submitted().is_some()
            || (self.from.iter().any(|s| is_postmaster(&s.address)) && self.weak_counts());
        if machine_header {
            let text = report_text(self.msg);
            if let Some(m) = BOUNCE_BODY.find(&text) {
                return Some(format!(
                    "automated sender and bounce text \"{}\"",
                    m.as_str().trim()
                ));
            }
        }
        None
    }

    pub(super) fn read_receipt(&self) -> Option<String> {
        if self.reports.disposition
            || self
                .reports
                .report_types
                .iter()
                .any(|t| t == "disposition-notification")
        {
            return Some("message disposition notification (read receipt, RFC 8098)".into());
        }
        None
    }
    pub(super) fn bounce_info(&self, reason: String) -> BounceInfo {
        let mut recipients: Vec<BouncedRecipient> = Vec::new();
        let mut envelope_id = None;
        let mut reporting_mta = None;
        for text in &self.reports.delivery_status {
            let (fields, groups) = parse_dsn(text);
            envelope_id = envelope_id.or_else(|| field(&fields, "original-envelope-id"));
            reporting_mta =
                reporting_mta.or_else(|| field(&fields, "reporting-mta").map(|v| strip_type(&v)));
            recipients.extend(groups.iter().filter_map(recipient_from_group));
        }
        let mut source = BounceSource::Dsn;
        let text = report_text(self.msg);
        let report = cut_at_original(&text);
        if recipients.is_empty() {
            source = BounceSource::Heuristic;
            // A DSN pasted into the text body (broken MTAs, wrapped reports).
            let (fields, groups) = parse_dsn(report);
            envelope_id = envelope_id.or_else(|| field(&fields, "original-envelope-id"));
            recipients.extend(groups.iter().filter_map(recipient_from_group));
            if recipients.is_empty() {
                recipients = self.heuristic_recipients(report);
            }
            if recipients.is_empty() {
                recipients.extend(self.returned_message_recipient());
            }
        }
        dedupe(&mut recipients);

        let known: Vec<bool> = recipients.iter().filter_map(|r| r.is_hard()).collect();
        let hard = if known.is_empty() {
            !DELAY_TEXT.is_match(report)
                && !DELAY_TEXT.is_match(&self.subject)
                && (PERMANENT_TEXT.is_match(report) || PERMANENT_TEXT.is_match(&self.subject))
        } else {
            known.iter().any(|h| *h)
        };

        BounceInfo {
            recipients,
            hard,
            original_message_id: original_message_id(self.msg, &text),
            verp_token: verp_token(self.msg, &self.own.cfp_address),
            envelope_id,
            reporting_mta,
            source,
            reason,
        }
    }

    /// The single `To` address of the returned original message, for
    /// reports that name no recipient ("Delivery report unavailable").
    pub(super) fn returned_message_recipient(&self) -> Option<BouncedRecipient> {
        let nested = self.msg.parts.iter().skip(1).find_map(|p| match &p.body {
            PartType::Message(m) => Some(m),
            _ => None,
        })?;
        let root = nested.parts.first()?;
        let headers = collect_headers(root, &nested.raw_message);
        let to = senders(root, &headers, "to");
        match to.as_slice() {
            [only] if only.address.contains('@') && !self.is_excluded(&only.address) => {
                Some(BouncedRecipient {
                    address: only.address.clone(),
                    action: None,
                    status: None,
                    diagnostic: None,
                })
            }
            _ => None,
        }
    }

    /// Addresses that must not be taken for the failed recipient.
    pub(super) fn is_excluded(&self, addr: &str) -> bool {
        let a = addr.to_ascii_lowercase();
        if is_mailer_daemon(&a) || is_postmaster(&a) {
            return true;
        }
        if let Some((l, d)) = split_address(&self.own.cfp_address) {
            if let Some((al, ad)) = split_address(&a) {
                let l = l.to_ascii_lowercase();
                if ad.eq_ignore_ascii_case(d)
                    && (al == l
                        || al
                            .strip_prefix(l.as_str())
                            .is_some_and(|r| r.starts_with('+')))
                {
                    return true;
                }
            }
        }
        self.from.iter().any(|s| s.address.eq_ignore_ascii_case(&a))
    }
}

// ---------------------------------------------------------------------------
// Helpers: MIME parts and text
// ---------------------------------------------------------------------------

pub(super) fn content_type_of(part: &MessagePart<'_>) -> Option<(String, String)> {
    let ct = part.content_type()?;
    Some((
        ct.ctype().to_ascii_lowercase(),
        ct.subtype().unwrap_or_default().to_ascii_lowercase(),
    ))
}

pub(super) fn attribute_ci(part: &MessagePart<'_>, name: &str) -> Option<String> {
    let ct = part.content_type()?;
    ct.attributes()?
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value.to_ascii_lowercase().trim().to_string())
}

pub(super) fn part_text(part: &MessagePart<'_>) -> Option<String> {
    let text: Cow<'_, str> = match &part.body {
        PartType::Text(t) => Cow::Borrowed(t.as_ref()),
        PartType::Html(h) => Cow::Owned(html_to_text(h)),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b),
        PartType::Message(_) | PartType::Multipart(_) => return None,
    };
    let end = floor_char_boundary(&text, text.len().min(MAX_PART_SCAN));
    Some(text.get(..end).unwrap_or_default().to_string())
}

/// An HTML part as text, for scanning: at most [`MAX_PART_SCAN`] bytes of markup, through
/// the one HTML→text converter cfpd has (the reply trimmer's).
pub(super) fn html_to_text(html: &str) -> String {
    let end = floor_char_boundary(html, html.len().min(MAX_PART_SCAN));
    crate::mailtext::html::to_text(html.get(..end).unwrap_or_default())
}

pub(super) fn scan_reports(msg: &Message<'_>) -> Reports {
    let mut r = Reports::default();
    for (i, part) in msg.parts.iter().enumerate() {
        let Some((ctype, subtype)) = content_type_of(part) else {
            continue;
        };
        match (ctype.as_str(), subtype.as_str()) {
            ("multipart", "report") => {
                let t = attribute_ci(part, "report-type").unwrap_or_default();
                r.report_types.push(t);
            }
            ("message", "delivery-status" | "global-delivery-status") => {
                r.delivery_status.push(part_text(part).unwrap_or_default());
            }
            ("message", "feedback-report") => {
                r.feedback.push(part_text(part).unwrap_or_default());
            }
            ("message", "disposition-notification" | "global-disposition-notification") => {
                r.disposition = true;
            }
            _ => {}
        }
        if i > 0 {
            if let PartType::Message(nested) = &part.body {
                scan_nested(nested, &mut r, 0);
            }
        }
    }
    r
}

pub(super) fn scan_nested(msg: &Message<'_>, r: &mut Reports, depth: usize) {
    if depth > 4 {
        return;
    }
    if let Some(root) = msg.parts.first() {
        if root.headers.iter().any(|h| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("x-hmxmroriginalrecipient")
        }) {
            r.jmrp = true;
        }
    }
    for part in &msg.parts {
        if let Some((ctype, subtype)) = content_type_of(part) {
            let what = match (ctype.as_str(), subtype.as_str()) {
                ("multipart", "report") => Some("multipart/report"),
                ("message", "delivery-status" | "global-delivery-status") => {
                    Some("delivery-status report")
                }
                ("message", "feedback-report") => Some("feedback report"),
                _ => None,
            };
            if let Some(what) = what {
                if r.nested_report.is_none() {
                    r.nested_report = Some(what.to_string());
                }
            }
        }
        if let PartType::Message(inner) = &part.body {
            scan_nested(inner, r, depth + 1);
        }
    }
}

/// The human-readable text of the message's own MIME tree (plain text
/// parts, or HTML converted when there is no plain text), bounded in size.
pub(super) fn report_text(msg: &Message<'_>) -> String {
    let mut plain = String::new();
    let mut html = String::new();
    for part in &msg.parts {
        let ct = content_type_of(part);
        let is_plain = matches!(
            ct.as_ref().map(|(t, s)| (t.as_str(), s.as_str())),
            None | Some(("text", "plain"))
        );
        let is_html = matches!(
            ct.as_ref().map(|(t, s)| (t.as_str(), s.as_str())),
            Some(("text", "html"))
        );
        match &part.body {
            PartType::Text(_) if is_plain && plain.len() < MAX_TEXT_SCAN => {
                if let Some(t) = part_text(part) {
                    plain.push_str(&t);
                    plain.push('\n');
                }
            }
            PartType::Html(_) | PartType::Text(_) if is_html && html.len() < MAX_TEXT_SCAN => {
                if let Some(t) = part_text(part) {
                    html.push_str(&t);
                    html.push('\n');
                }
            }
            _ => {}
        }
    }
    if plain.trim().is_empty() {
        plain = html;
    }
    if plain.trim().is_empty() {
        // Broken MIME (e.g. a multipart/report without boundary lines): use
        // the root body as text.
        if let Some(root) = msg.parts.first() {
            let end = (root.offset_end as usize).min(root.offset_body as usize + MAX_TEXT_SCAN);
            if let Some(body) = msg.raw_message.get(root.offset_body as usize..end) {
                plain = String::from_utf8_lossy(body).into_owned();
            }
        }
    }
    let end = floor_char_boundary(&plain, plain.len().min(MAX_TEXT_SCAN));
    plain.truncate(end);
    plain
}

/// The report part of a bounce text: everything before the returned copy
/// of the original message.
pub(super) fn cut_at_original(text: &str) -> &str {
    match ORIGINAL_SEPARATOR.find(text) {
        Some(m) if m.start() > 0 => text.get(..m.start()).unwrap_or(text),
        _ => text,
    }
}

pub(super) fn original_message_id(msg: &Message<'_>, text: &str) -> Option<String> {
    for part in msg.parts.iter().skip(1) {
        match &part.body {
            PartType::Message(nested) => {
                if let Some(root) = nested.parts.first() {
                    let id = root
                        .headers
                        .iter()
                        .find(|h| h.name.as_str().eq_ignore_ascii_case("message-id"))
                        .and_then(|h| header_text(&h.value));
                    if let Some(id) = id.filter(|s| !s.trim().is_empty()) {
                        return Some(id.trim().trim_matches(['<', '>']).to_string());
                    }
                }
            }
            _ => {
                let is_headers = content_type_of(part)
                    .is_some_and(|(t, s)| (t == "text" || t == "message") && s == "rfc822-headers");
                if is_headers {
                    if let Some(t) = part_text(part) {
                        if let Some(id) = message_id_in(&t) {
                            return Some(id);
                        }
                    }
                }
            }
        }
    }
    let report = cut_at_original(text);
    let rest = text.get(report.len()..).unwrap_or_default();
    message_id_in(rest).or_else(|| message_id_in(text))
}

pub(super) fn message_id_in(text: &str) -> Option<String> {
    MESSAGE_ID_LINE
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// Helpers: DSN fields and status codes
// ---------------------------------------------------------------------------

pub(super) type Fields = Vec<(String, String)>;

pub(super) const RECIPIENT_FIELDS: &[&str] = &[
    "original-recipient",
    "final-recipient",
    "x-actual-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "last-attempt-date",
    "final-log-id",
    "will-retry-until",
    "x-supplementary-info",
    "x-display-name",
];

/// Parses RFC 3464 fields: per-message fields and per-recipient groups.
/// Tolerates missing blank lines between groups, `\r\n`, continuation
/// lines and stray text.
pub(super) fn parse_dsn(text: &str) -> (Fields, Vec<Fields>) {
    let mut message: Fields = Vec::new();
    let mut groups: Vec<Fields> = Vec::new();
    let mut current: Option<Fields> = None;
    // Where the last field went: None, message, or current recipient.
    let mut last_in_recipient: Option<bool> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if let Some(g) = current.take() {
                groups.push(g);
            }
            last_in_recipient = None;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let target = match last_in_recipient {
                Some(true) => current.as_mut().and_then(|g| g.last_mut()),
                Some(false) => message.last_mut(),
                None => None,
            };
            if let Some((_, v)) = target {
                if v.len() < 4 * MAX_DIAGNOSTIC {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            last_in_recipient = None;
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(' ') || name.len() > 40 {
            last_in_recipient = None;
            continue;
        }
        let value = value.trim().to_string();
        if RECIPIENT_FIELDS.contains(&name.as_str()) {
            let starts_new = current.as_ref().is_some_and(|g| {
                let has = |k: &str| g.iter().any(|(n, _)| n == k);
                has(&name)
                    || (name == "original-recipient"
                        && has("final-recipient")
                        && (has("status") || has("diagnostic-code")))
            });
            if starts_new {
                if let Some(g) = current.take() {
                    groups.push(g);
                }
            }
            current.get_or_insert_with(Vec::new).push((name, value));
            last_in_recipient = Some(true);
        } else if let Some(g) = current.as_mut() {
            g.push((name, value));
            last_in_recipient = Some(true);
        } else {
            message.push((name, value));
            last_in_recipient = Some(false);
        }
    }
    if let Some(g) = current.take() {
        groups.push(g);
    }
    (message, groups)
}

pub(super) fn field(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, v)| n == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
}

/// Removes an RFC 3464 type prefix such as `rfc822;` or `smtp;`.
pub(super) fn strip_type(v: &str) -> String {
    match v.split_once(';') {
        Some((t, rest))
            if !t.trim().is_empty()
                && t.trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            rest.trim().to_string()
        }
        _ => v.trim().to_string(),
    }
}

pub(super) fn recipient_from_group(g: &Fields) -> Option<BouncedRecipient> {
    let raw = field(g, "final-recipient")
        .or_else(|| field(g, "x-actual-recipient"))
        .or_else(|| field(g, "original-recipient"))?;
    let addr = strip_type(&raw);
    let addr = addr
        .trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    if addr.is_empty() {
        return None;
    }
    let diagnostic = field(g, "diagnostic-code").map(|d| clip(&strip_type(&d)));
    let status = field(g, "status")
        .and_then(|s| find_status(&s).map(|(st, _)| st))
        .or_else(|| {
            diagnostic
                .as_deref()
                .and_then(find_status)
                .map(|(st, _)| st)
        });
    let action = field(g, "action").map(|a| {
        a.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_ascii_lowercase()
    });
    Some(BouncedRecipient {
        address: addr,
        action,
        status,
        diagnostic,
    })
}

pub(super) fn dedupe(recipients: &mut Vec<BouncedRecipient>) {
    let mut seen: Vec<String> = Vec::new();
    recipients.retain(|r| {
        let a = r.address.to_ascii_lowercase();
        if seen.contains(&a) {
            false
        } else {
            seen.push(a);
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use mail_parser::MessageParser;

    #[test]
    fn x_failed_recipients_is_a_bounce() {
        let k = expect_label(&human("X-Failed-Recipients: bob@example.net\r\n"), "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.recipients.len(), 1);
        assert_eq!(info.recipients[0].address, "bob@example.net");
        assert_eq!(info.source, BounceSource::Heuristic);
    }
    #[test]
    fn dsn_is_parsed() {
        let k = expect_label(DSN, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.source, BounceSource::Dsn);
        assert!(info.hard);
        assert_eq!(info.verp_token.as_deref(), Some("k3j5abcd"));
        assert_eq!(
            info.original_message_id.as_deref(),
            Some("assign-7@conf.example")
        );
        assert_eq!(info.envelope_id.as_deref(), Some("ENV-42"));
        assert_eq!(info.reporting_mta.as_deref(), Some("mx.conf.example"));
        assert_eq!(info.recipients.len(), 2);
        let r = &info.recipients[0];
        assert_eq!(r.address, "reviewer@example.net");
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.diagnostic.as_deref(),
            Some("550 5.1.1 <reviewer@example.net>: Recipient address rejected: User unknown")
        );
        assert_eq!(r.is_hard(), Some(true));
        assert_eq!(info.recipients[1].is_hard(), Some(false));
        assert!(k.reason().contains("delivery-status"));
    }

    #[test]
    fn hard_vs_soft() {
        let soft = DSN
            .replace("Status: 5.1.1", "Status: 4.2.2")
            .replace("Action: failed", "Action: delayed");
        let k = expect_label(&soft, "bounce");
        assert!(!k.bounce().unwrap().hard);
        assert_eq!(
            k.bounce().unwrap().recipients[0].status.as_deref(),
            Some("4.2.2")
        );

        // Action: failed without a status is hard.
        let no_status = DSN.replace("Status: 5.1.1\r\n", "").replace(
            "Diagnostic-Code: smtp; 550 5.1.1 <reviewer@example.net>: Recipient address\r\n\
             \trejected: User unknown\r\n",
            "",
        );
        let k = expect_label(&no_status, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.recipients[0].status, None);
        assert!(info.hard);

        // Plain-text bounces: qmail permanent error with #5.1.1, Exim delay.
        let qmail = "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net\r\n\
            To: cfp+b-tok1@conf.example\r\nSubject: failure notice\r\n\r\n\
            Hi. This is the qmail-send program at mx.example.net.\r\n\
            I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
            This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
            <speaker@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n\
            --- Below this line is a copy of the message.\r\n\r\n\
            Return-Path: <cfp+b-tok1@conf.example>\r\nMessage-ID: <ack-1@conf.example>\r\n\
            From: cfp@conf.example\r\nTo: speaker@example.net\r\n\r\nThanks\r\n";
        let k = expect_label(qmail, "bounce");
        let info = k.bounce().unwrap();
        assert_eq!(info.source, BounceSource::Heuristic);
        assert!(info.hard);
        assert_eq!(info.verp_token.as_deref(), Some("tok1"));
        assert_eq!(
            info.original_message_id.as_deref(),
            Some("ack-1@conf.example")
        );
        assert_eq!(info.recipients.len(), 1);
        assert_eq!(info.recipients[0].address, "speaker@example.net");
        assert_eq!(info.recipients[0].status.as_deref(), Some("5.1.1"));

        let exim_delay =
            "Return-path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n\
            To: cfp+b-tok2@conf.example\r\nAuto-Submitted: auto-replied\r\n\
            Subject: Warning: message 1abc-000 delayed 24 hours\r\n\r\n\
            This message was created automatically by mail delivery software.\r\n\
            A message that you sent has not yet been delivered to one or more of its\r\n\
            recipients after more than 24 hours on the queue on mx.example.net.\r\n\r\n\
            The address to which the message has not yet been delivered is:\r\n\r\n\
              speaker@example.net\r\n\
                host mx.example.net [192.0.2.5.1]\r\n\
                Delay reason: SMTP error from remote mail server after RCPT TO:\r\n\
                450 4.2.0 mailbox temporarily unavailable\r\n\r\n\
            No action is required on your part.\r\n";
        let k = expect_label(exim_delay, "bounce");
        let info = k.bounce().unwrap();
        assert!(!info.hard);
        assert_eq!(info.recipients[0].address, "speaker@example.net");
        assert_eq!(info.recipients[0].status.as_deref(), Some("4.2.0"));
        assert_eq!(info.verp_token.as_deref(), Some("tok2"));
    }

    #[test]
    fn verp_token_extraction() {
        let parse = |raw: &'static str| MessageParser::default().parse(raw.as_bytes()).unwrap();
        let m = parse(
            "Delivered-To: cfp+b-k3j5mnop@conf.example\r\nTo: x@y.example\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("k3j5mnop")
        );
        // Case of local part and domain does not matter; token kept as found.
        let m = parse("X-Original-To: CFP+b-AbC123@CONF.EXAMPLE\r\nSubject: s\r\n\r\nb");
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("AbC123")
        );
        // Envelope headers win over To.
        let m = parse(
            "To: cfp+b-fromto@conf.example\r\nEnvelope-To: cfp+b-envelope@conf.example\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("envelope")
        );
        // Received "for <...>".
        let m = parse(
            "Received: from mx by in.conf.example with ESMTP id 1\r\n for <cfp+b-rcvd_1@conf.example>; Tue, 2 Apr 2024\r\nSubject: s\r\n\r\nb",
        );
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("rcvd_1")
        );
        // Only in the returned original's Return-Path.
        let m = parse("To: someone@else.example\r\nSubject: s\r\n\r\nReturn-Path: <cfp+b-body9@conf.example>\r\n");
        assert_eq!(verp_token(&m, "cfp@conf.example").as_deref(), Some("body9"));
        // Other domains, other local parts, longer domains, plain address: none.
        for raw in [
            "To: cfp+b-x1@conf.example.org\r\nSubject: s\r\n\r\nb",
            "To: cfp+b-x1@other.example\r\nSubject: s\r\n\r\nb",
            "To: xcfp+b-x1@conf.example\r\nSubject: s\r\n\r\nb",
            "To: papers+b-x1@conf.example\r\nSubject: s\r\n\r\nb",
            "To: cfp@conf.example\r\nSubject: s\r\n\r\nb",
            "To: cfp+r-x1@conf.example\r\nSubject: s\r\n\r\nb",
        ] {
            let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
            assert_eq!(verp_token(&m, "cfp@conf.example"), None, "{raw}");
        }
        assert_eq!(
            verp_token(&parse("Subject: s\r\n\r\nb"), "not-an-address"),
            None
        );
        // Round trip with verp_address.
        let addr = verp_address("cfp@conf.example", "k3j5-x_y=").unwrap();
        assert_eq!(addr, "cfp+b-k3j5-x_y=@conf.example");
        let raw = format!("Delivered-To: {addr}\r\nSubject: s\r\n\r\nb");
        let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(
            verp_token(&m, "cfp@conf.example").as_deref(),
            Some("k3j5-x_y=")
        );
        assert_eq!(verp_address("cfp@conf.example", ""), None);
        assert_eq!(verp_address("cfp@conf.example", "a@b"), None);
        assert_eq!(verp_address("cfp", "abc"), None);
    }

    #[test]
    fn feedback_and_read_receipts() {
        let arf = "From: feedback@isp.example\r\nTo: abuse@conf.example\r\nSubject: FW: hi\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
            --F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n\
            --F\r\nContent-Type: message/feedback-report\r\n\r\n\
            Feedback-Type: abuse\r\nUser-Agent: Test/1.0\r\nVersion: 1\r\n\r\n\
            --F--\r\n";
        match expect_label(arf, "feedback-report") {
            MachineKind::FeedbackReport { feedback_type, .. } => {
                assert_eq!(feedback_type.as_deref(), Some("abuse"))
            }
            other => panic!("{other:?}"),
        }
        let mdn = "From: ada@example.org\r\nTo: cfp@conf.example\r\nSubject: Read: P-0042\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\r\n\r\n\
            --M\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n\
            --M\r\nContent-Type: message/disposition-notification\r\n\r\n\
            Final-Recipient: rfc822; ada@example.org\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n\
            --M--\r\n";
        let k = expect_label(mdn, "auto-reply");
        assert!(k.reason().contains("disposition"));
        // A bare message/delivery-status part is a bounce even without multipart/report.
        let bare = "From: gateway@example.net\r\nTo: cfp@conf.example\r\nSubject: hello\r\n\
            MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
            --X\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; gw.example.net\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\n\
            Action: failed\r\nStatus: 5.2.2\r\n\r\n--X--\r\n";
        let k = expect_label(bare, "bounce");
        assert_eq!(
            k.bounce().unwrap().recipients[0].status.as_deref(),
            Some("5.2.2")
        );
    }
}
