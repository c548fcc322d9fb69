//! The one command recogniser, shared by speakers and reviewers: a reply whose first
//! meaningful line is `decline`, `conflict`, `withdraw` or `help` (in many phrasings) is a
//! command rather than a proposal or a review. Intake decides which commands a sender may
//! give; this module only reads the text.

use crate::mailtext::quote::is_quote_line;
use crate::mailtext::re;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A reply that is a command rather than a review or a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplyCommand {
    /// The reviewer declines the assignment ("decline", "I decline", "I must decline this
    /// one", "I can't review this").
    Decline,
    /// The reviewer has a conflict of interest ("conflict", "conflict of interest", "COI").
    Conflict,
    /// The speaker withdraws the proposal ("withdraw", "please withdraw my proposal").
    Withdraw,
    /// The sender asks for help ("help", "?").
    Help,
}

struct Patterns {
    greeting: Regex,
    decline: Regex,
    conflict: Regex,
    withdraw: Regex,
    help: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        greeting: re(r"(?i)^(?:hi|hello|hey|dear|hallo|bonjour|hola|ciao|hej|moin|good\s+(?:morning|afternoon|evening))\b.{0,40}$"),
        decline: re(r"(?i)^(?:(?:sorry|unfortunately),?\s+)?(?:please\s+)?(?:i\s+(?:must|have\s+to|need\s+to|will|'ll|would\s+like\s+to|'d\s+like\s+to|want\s+to|am\s+going\s+to|'m\s+going\s+to)?\s*)?(?:(?:politely|respectfully|kindly)\s+)?(?:decline|declined|declining)(?:\s+(?:this|the|that|my)?\s*(?:review|assignment|proposal|talk|one|request|invitation|submission|paper))?(?:\s+please)?$|^(?:(?:sorry|unfortunately),?\s+)?i\s+(?:can't|cannot|can\s+not|am\s+unable\s+to|won't\s+be\s+able\s+to|will\s+not\s+be\s+able\s+to)\s+review\s+(?:this|it|this\s+one|this\s+proposal)$"),
        conflict: re(r"(?i)^(?:i\s+(?:have|declare|need\s+to\s+declare|must\s+declare)\s+(?:a\s+)?|declaring\s+(?:a\s+)?)?(?:conflict(?:\s+of\s+interests?)?|coi|conflicted)(?:\s+declared)?(?:\s+(?:with|—)\b.*)?$|^i(?:'m|\s+am)\s+conflicted(?:\s+.*)?$"),
        withdraw: re(r"(?i)^(?:please\s+)?(?:i\s+(?:would\s+like\s+to|'d\s+like\s+to|want\s+to|wish\s+to|hereby)\s+)?withdraw(?:n)?(?:\s+(?:my|this|the|our)\s+(?:proposal|talk|submission|session))?(?:\s+please)?$"),
        help: re(r"(?i)^(?:help|template|send\s+(?:me\s+)?the\s+(?:template|form)|help\s+me|help\s+please|please\s+help|i\s+need\s+help)\?*$|^\?+$"),
    })
}

/// Recognises a reply whose first meaningful line is a command: `decline`, `conflict`,
/// `withdraw` or `help`.
///
/// Case-insensitive and tolerant of punctuation, Markdown and a short reason after a
/// separator ("Decline - travelling that week", "Conflict: I work with the speaker"); also
/// accepts phrasings such as "I decline", "I must decline this one", "conflict of interest",
/// "I have a conflict", "please withdraw my proposal". Leading blank lines, quoted lines and a
/// short greeting ("Hi all,") are skipped. A line that merely mentions the word mid-sentence
/// ("I decline to comment on the abstract, but …") is not a command.
pub fn parse_command(trimmed: &str) -> Option<ReplyCommand> {
    let p = patterns();
    let mut first = None;
    for line in trimmed.lines() {
        if is_quote_line(line) {
            continue;
        }
        let norm = normalize_command_line(line);
        if norm.is_empty() {
            continue;
        }
        if p.greeting.is_match(&norm)
            && (line.trim_end().ends_with([',', '!', ':']) || norm.split_whitespace().count() <= 3)
        {
            continue;
        }
        first = Some(norm);
        break;
    }
    let first = first?;
    let mut candidates = vec![first.clone()];
    // A short reason may follow a separator: "Decline - travelling", "Conflict: …".
    for sep in [
        ":",
        " - ",
        " – ",
        " — ",
        ",",
        ";",
        ".",
        "(",
        "!",
        " because ",
        " as ",
        " since ",
    ] {
        if let Some(pos) = first.find(sep) {
            let head = first[..pos].trim();
            let tail = first[pos + sep.len()..].trim_start();
            // "Conflict of interest: none" is a statement that there is none.
            let negated = ["none", "no ", "no.", "n/a", "not ", "nothing", "nope"]
                .iter()
                .any(|n| tail.starts_with(n))
                || tail == "no";
            if !head.is_empty() && !negated {
                candidates.push(head.to_string());
            }
        }
    }
    for cand in candidates {
        let cand = cand.trim_matches(|c: char| !c.is_alphanumeric() && c != '?');
        let cand = cand.replace('’', "'");
        if p.help.is_match(&cand) {
            return Some(ReplyCommand::Help);
        }
        if p.decline.is_match(&cand) {
            return Some(ReplyCommand::Decline);
        }
        if p.conflict.is_match(&cand) {
            return Some(ReplyCommand::Conflict);
        }
        if p.withdraw.is_match(&cand) {
            return Some(ReplyCommand::Withdraw);
        }
    }
    None
}

/// A line without Markdown decoration, edge punctuation and repeated spaces, lowercased.
fn normalize_command_line(line: &str) -> String {
    let t = line.trim().replace('’', "'");
    let t = t.trim_start_matches(|c: char| {
        matches!(c, '#' | '*' | '_' | '`' | '~' | '-' | '•') || c.is_whitespace()
    });
    let t = t.trim_end_matches(|c: char| {
        matches!(c, '*' | '_' | '`' | '~' | '.' | '!' | ',' | ';') || c.is_whitespace()
    });
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtext::trim::trim_html_reply;

    #[test]
    fn commands() {
        for (text, cmd) in [
            ("decline", ReplyCommand::Decline),
            ("Decline.", ReplyCommand::Decline),
            ("  DECLINE!\n\nOn Tue … wrote:\n> x", ReplyCommand::Decline),
            ("I decline", ReplyCommand::Decline),
            ("I must decline this one, sorry.", ReplyCommand::Decline),
            (
                "Hi all,\n\nDecline - travelling that week.",
                ReplyCommand::Decline,
            ),
            ("**Decline**", ReplyCommand::Decline),
            ("Sorry, I can’t review this", ReplyCommand::Decline),
            ("conflict", ReplyCommand::Conflict),
            ("Conflict of interest", ReplyCommand::Conflict),
            ("Conflict: I work with the speaker.", ReplyCommand::Conflict),
            ("I have a conflict of interest.", ReplyCommand::Conflict),
            ("COI", ReplyCommand::Conflict),
            ("withdraw", ReplyCommand::Withdraw),
            ("Please withdraw my proposal.", ReplyCommand::Withdraw),
            ("help", ReplyCommand::Help),
            ("Help?", ReplyCommand::Help),
            ("Hi,\n\nhelp please", ReplyCommand::Help),
            ("I'm conflicted", ReplyCommand::Conflict),
        ] {
            assert_eq!(parse_command(text), Some(cmd), "{text:?}");
        }
        for text in [
            "Score: 4\nI decline to say more.",
            "I decline to comment on the abstract, but the talk is good.",
            "There is no conflict here.",
            "The speaker should not withdraw the demo.",
            "> decline",
            "",
            "Could you help me understand the scale?",
            "Conflict of interest: none\nScore: 4",
            "Conflicts: no",
        ] {
            assert_eq!(parse_command(text), None, "{text:?}");
        }
    }

    #[test]
    fn command_after_trimming_html() {
        let html = "<div dir=\"ltr\">Conflict &mdash; the speaker is my colleague.</div><div class=\"gmail_quote\"><blockquote class=\"gmail_quote\">Score: (1-5)</blockquote></div>";
        assert_eq!(
            parse_command(&trim_html_reply(html).kept),
            Some(ReplyCommand::Conflict)
        );
    }
}
