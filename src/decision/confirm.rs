//! An accepted speaker's answer, read from their reply: confirm or decline.
//!
//! People answer "Yes, I'll be there!", "I confirm", "Sadly I can't make
//! it", or just "confirm". Only the opening of the reply counts (its first
//! paragraph, at most three lines, after the mail client's quoted text and
//! signature were trimmed): a "can't" in a later anecdote must not decline
//! a talk. A decline needs a decline phrase; a confirmation needs a
//! confirming phrase and no negation of it ("I can't confirm yet" is no
//! answer). When the opening says both, or neither, there is no answer, and
//! the speaker is asked to write `confirm` or `decline`: a talk is never
//! declined, nor confirmed, on a guess.

use crate::model::Confirmation;

/// Phrases that decline, after [`normalise`].
const DECLINE: &[&str] = &[
    "decline",
    "i decline",
    "declining",
    "can't make it",
    "cannot make it",
    "won't make it",
    "will not make it",
    "can't come",
    "cannot come",
    "can't attend",
    "cannot attend",
    "can't be there",
    "cannot be there",
    "won't be there",
    "will not be there",
    "won't be able to",
    "will not be able to",
    "not be able to",
    "unable to attend",
    "unable to come",
    "unable to make it",
    "unable to present",
    "unable to give",
    "can't give the talk",
    "cannot give the talk",
    "can't present",
    "cannot present",
    "have to withdraw",
    "must withdraw",
    "need to withdraw",
    "have to cancel",
    "must cancel",
    "have to say no",
    "no, sorry",
    "no sorry",
    "not coming",
    "not able to come",
    "not able to attend",
];

/// Phrases that confirm, after [`normalise`].
const CONFIRM: &[&str] = &[
    "confirm",
    "confirmed",
    "i confirm",
    "yes",
    "yep",
    "yes please",
    "i'll be there",
    "i will be there",
    "we'll be there",
    "we will be there",
    "count me in",
    "count us in",
    "i accept",
    "we accept",
    "happy to give",
    "happy to present",
    "glad to give",
    "will give the talk",
    "looking forward to giving",
    "looking forward to presenting",
    "absolutely",
    "of course",
    "sure",
];

/// Words that negate a confirming phrase near them ("I can't confirm").
const NEGATIONS: &[&str] = &[
    "not", "can't", "cannot", "won't", "don't", "unable", "never", "couldn't", "wouldn't", "isn't",
];

/// The speaker's answer in `text` (the trimmed reply), if it gives one.
pub fn answer(text: &str) -> Option<Confirmation> {
    let opening = opening(text);
    if opening.is_empty() {
        return None;
    }
    let declines = DECLINE.iter().any(|p| has_phrase(&opening, p));
    let confirms = CONFIRM
        .iter()
        .any(|p| has_phrase(&opening, p) && !negated(&opening, p));
    match (confirms, declines) {
        (true, false) => Some(Confirmation::Confirmed),
        (false, true) => Some(Confirmation::Declined),
        _ => None,
    }
}

/// The first paragraph, at most three lines, normalised.
fn opening(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || is_greeting(l))
        .take_while(|l| !l.is_empty())
        .take(3)
        .collect();
    normalise(&lines.join(" "))
}

/// "Hi," / "Hello all," / "Dear committee," on a line of its own.
fn is_greeting(line: &str) -> bool {
    let l = line.to_lowercase();
    let first = l.split_whitespace().next().unwrap_or("");
    [
        "hi", "hi,", "hello", "hello,", "dear", "hey", "hey,", "thanks,", "thank",
    ]
    .contains(&first)
        && l.ends_with(',')
}

/// Lower case, typographic apostrophes as `'`, punctuation (but `'`) as
/// word breaks, single spaces.
fn normalise(s: &str) -> String {
    s.to_lowercase()
        .replace(['\u{2019}', '\u{2018}', '`'], "'")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `phrase` (normalised the same way) occurs in `text` as whole words.
fn has_phrase(text: &str, phrase: &str) -> bool {
    positions(text, phrase).next().is_some()
}

/// Word offsets where `phrase` starts in `text`.
fn positions<'a>(text: &'a str, phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    let words: Vec<&str> = text.split(' ').collect();
    let want: Vec<String> = normalise(phrase).split(' ').map(str::to_string).collect();
    (0..words.len())
        .filter(move |&i| {
            i + want.len() <= words.len()
                && words[i..i + want.len()]
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a == b)
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// Every occurrence of `phrase` has a negation among the three words before it.
fn negated(text: &str, phrase: &str) -> bool {
    let words: Vec<&str> = text.split(' ').collect();
    positions(text, phrase).all(|i| {
        words[i.saturating_sub(3)..i]
            .iter()
            .any(|w| NEGATIONS.contains(w) || w.ends_with("n't"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Confirmation::*;

    #[test]
    fn confirmations_in_the_ways_people_write_them() {
        for text in [
            "confirm",
            "Confirm",
            "CONFIRMED",
            "I confirm.",
            "Yes!",
            "yes, I'll be there",
            "Yes, I’ll be there — thank you so much!",
            "Hi,\n\nI will be there. Can't wait!",
            "Count me in :)",
            "Dear committee,\nI accept, and thank you!",
            "Absolutely, happy to give the talk.",
            "We'll be there, both of us.",
            "Sure, looking forward to presenting it.",
            "Yes\n\nAlso: I could not find the hotel link last time, can you resend?",
        ] {
            assert_eq!(answer(text), Some(Confirmed), "{text:?}");
        }
    }

    #[test]
    fn declines_in_the_ways_people_write_them() {
        for text in [
            "decline",
            "I decline, sorry.",
            "Sadly I can't make it this year.",
            "Unfortunately I cannot attend.",
            "I won't be able to come: my visa was refused.",
            "Hi,\nI am afraid I will not be able to give the talk.",
            "can’t make it",
            "I have to withdraw the talk, my employer said no.",
            "No, sorry.",
            "Thank you, but I'm unable to attend after all.",
        ] {
            assert_eq!(answer(text), Some(Declined), "{text:?}");
        }
    }

    #[test]
    fn negated_mixed_and_empty_answers_are_no_answer() {
        for text in [
            "I can't confirm yet, I need to ask my employer.",
            "I cannot confirm at this point.",
            "not sure yet",
            "Thanks! When is the schedule out?",
            "Yes, but unfortunately I can't make it.",
            "",
            "\n\n",
            "Hello,",
            // Only the opening counts: the later "can't" is an anecdote.
            "What time is my slot?\n\nLast year I couldn't come, can't wait.",
        ] {
            assert_eq!(answer(text), None, "{text:?}");
        }
    }

    #[test]
    fn only_the_first_paragraph_and_three_lines_count() {
        assert_eq!(answer("Thanks for the news.\n\nYes, I confirm."), None);
        assert_eq!(answer("a\nb\nc\nconfirm"), None);
        assert_eq!(answer("a\nb\nconfirm"), Some(Confirmed));
    }

    #[test]
    fn a_word_is_matched_whole_not_inside_another() {
        assert_eq!(answer("yesterday was great"), None);
        assert_eq!(answer("unconfirmed rumours"), None);
        assert_eq!(answer("surely a question"), None);
    }
}
