//! A chair's decisions written in a mail: one command per line,
//! `accept P-0001 P-0004`, `reject P-0007`, `waitlist: P-0009, P-0010`.
//! Lines without a decision word are left alone (greetings, signatures);
//! a line that starts with one but names no proposal is reported back.

use crate::model::Decision;

/// What a chair's mail says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands {
    /// (reference as written, decision), in the order written.
    pub commands: Vec<(String, Decision)>,
    /// Lines that start with a decision word but name no proposal, or name
    /// something that is not a reference.
    pub unreadable: Vec<String>,
}

/// Read the commands in `text` (the reply, quoted text already trimmed).
pub fn parse(text: &str) -> Commands {
    let mut out = Commands::default();
    for line in text.lines() {
        let line = line.trim();
        if line == "--" || line == "-- " {
            break;
        }
        let cleaned = line.replace([',', ';'], " ");
        let mut words = cleaned.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        let Some(d) = Decision::from_verb(first.trim_end_matches(':')) else {
            continue;
        };
        let rest: Vec<&str> = words.collect();
        let refs: Vec<&str> = rest
            .iter()
            .copied()
            .filter(|w| crate::proposal::parse_reference(w).is_some())
            .collect();
        if refs.is_empty() || refs.len() != rest.len() {
            out.unreadable.push(line.to_string());
            continue;
        }
        out.commands
            .extend(refs.into_iter().map(|r| (r.to_ascii_uppercase(), d)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_per_line_many_references_greetings_ignored() {
        let c = parse(
            "Hi all,\n\naccept P-0001 P-0004\nReject: p-7\nwaitlist P-0009, P-0010\n\nThanks,\nAnna\n-- \naccept P-0099",
        );
        assert_eq!(
            c.commands,
            vec![
                ("P-0001".to_string(), Decision::Accepted),
                ("P-0004".to_string(), Decision::Accepted),
                ("P-7".to_string(), Decision::Rejected),
                ("P-0009".to_string(), Decision::Waitlisted),
                ("P-0010".to_string(), Decision::Waitlisted),
            ]
        );
        assert!(c.unreadable.is_empty());
    }

    #[test]
    fn a_decision_word_without_clean_references_is_reported_not_guessed() {
        let c = parse("accept\naccept P-0001 and P-0002\nreject the HTMX talk\nmaybe P-0003");
        assert!(c.commands.is_empty(), "{c:?}");
        assert_eq!(
            c.unreadable,
            vec!["accept", "accept P-0001 and P-0002", "reject the HTMX talk"]
        );
    }
}
