//! Attribution lines and forward markers: "On … wrote:" in many languages and the shapes of
//! the common clients (Gmail's date-and-address line, Outlook's "-----Original Message-----",
//! Apple Mail's "Begin forwarded message:", mutt's `* Name <addr> [date]:`), including
//! attributions a client wrapped over several lines.

use super::headers::is_header;
use crate::mailtext::lines::is_empty_line;
use crate::mailtext::re;
use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    markers: Vec<Regex>,
    markers_with_digit: Vec<Regex>,
    forward_markers: Vec<Regex>,
    address_start: Regex,
    /// How an attribution line begins: an opener word ("On", "Le", "Am", …), a year, or
    /// the Chinese "在/於/于" — so a wrapped attribution's first line can be told from the
    /// text above it.
    attribution_start: Regex,
}

const WROTE_VERBS: &str = r"(?:wrote|writes|a\s+écrit|nous\s+a\s+dit|escribió|escreveu|ha\s+scritto|geschrieben|schrieben\s+sie|napisał(?:\s*\(a\))?|napisała|napsal(?:\s*\(a\))?|написал(?:\s*\(а\))?|написала|kirjoitti|skrev)";

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let openers = r"(?:on|at|in\s+message|le|am|el|em|il|op|dnia|dňa|den)";
        let dashed = [
            r"(?:forwarded|original|reply)\s+message",
            r"message\s+(?:transféré|d'origine|original)",
            r"messaggio\s+(?:originale|inoltrato)",
            r"ursprüngliche\s+nachricht",
            r"weitergeleitete\s+nachricht",
            r"mensaje\s+(?:original|reenviado)",
            r"mensagem\s+(?:original|encaminhada)",
            r"(?:oorspronkelijk|origineel|doorgestuurd)\s+bericht",
            r"(?:ursprungligt|vidarebefordrat)\s+meddelande",
            r"opprinnelig\s+melding",
            r"oprindelig\s+meddelelse",
            r"alkuperäinen\s+viesti",
            r"wiadomość\s+(?:oryginalna|przekazana)",
            r"původní\s+zpráva",
            r"(?:исходное|пересылаемое|переслане)\s+(?:сообщение|повідомлення)",
            r"原始邮件",
            r"原始郵件",
            r"转发邮件",
            r"元のメッセージ",
            r"転送メッセージ",
            r"(?:전달된|원본)\s+메시지",
        ]
        .join("|");
        let forward_markers = vec![
            re(&format!(r"(?i)^[\s>*]*-{{2,}}\s*(?:{dashed})\s*-{{2,}}")),
            re(r"(?i)^[\s>*]*(?:begin\s+forwarded\s+message|début\s+du\s+message\s+(?:transféré|réexpédié)|anfang\s+der\s+weitergeleiteten\s+nachricht|inicio\s+del\s+mensaje\s+reenviado|inizio\s+messaggio\s+inoltrato|mensagem\s+encaminhada|転送されたメッセージ)\s*[:：]"),
        ];
        let mut markers = vec![
            // Someone via Something wrote:
            re(r"(?i)^.+\svia\s.+\s(?:wrote|schrieb|a\s+écrit|escribió|escreveu)\s*[:：]?\s*$"),
            // Some One <someone@example.org> wrote:
            re(&format!(
                r"(?i)^.*[\w.+-]+@[\w-]+(?:\.[\w-]+)+.*\s(?:{WROTE_VERBS}|schrieb|schreef)\s*[:：]?\s*$"
            )),
        ];
        markers.extend(forward_markers.iter().cloned());
        let markers_with_digit = vec![
            // On <date>, <someone> wrote:   (en, fr, de, es, pt, it, nl, pl, sv/no/da, ru, fi)
            re(&format!(
                r"(?i)^[\s<>*-]*{openers}\s.+?\s{WROTE_VERBS}\s*[:：]?[\s.>*-]*$"
            )),
            // Am <date> schrieb <someone>:   (de, nl, sv/no/da, and the like)
            re(&format!(
                r"(?i)^[\s<>*-]*{openers}\s.+?\s(?:schrieb|schreef|skrev|wrote|a\s+écrit|escribió|escreveu|ha\s+scritto)\s[^:：]*[:：][\s>*-]*$"
            )),
            // <date> <someone> napisał(a): / пише: / написал:  (pl, uk, ru, cs, fi, tr, …)
            re(r"(?i)(?:^|\W)(?:19|20)\d\d(?:\D|$).*?(?:napisał\s*\(a\)|napisała|napisał|napsal\s*\(a\)|napsal|пише|написал\s*\(а\)|написала|написал|написав|kirjoitti|yazdı|skrev|schreef|schrieb)\s*[:：]\s*$"),
            // <date> <someone> <someone@example.org>:   (Gmail in many languages, ja, ru)
            re(r"(?i)(?:^|\W)(?:19|20)\d\d(?:\D|$).*<\s*[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+\s*>+\s*[:：]?\s*$"),
            // <someone> wrote on <date>:  /  <someone> schrieb am <date>:
            re(r"(?i)^.+\s(?:wrote|schrieb)\s+(?:on|am)\s.+[:：]\s*$"),
            // 在 <date>，<someone> 写道：  (zh), 於 … 寫道 (zh-TW)
            re(r"^[\s>]*(?:在|於|于).+(?:写道|寫道)\s*[:：]?\s*$"),
            // <date> <someone> のメール: / は書きました:  (ja); 님이 작성: (ko)
            re(r"(?:のメール|は書きました|が書きました|님이\s*작성)\s*[:：]?\s*$"),
            // 2016-03-03 17:21 GMT+01:00 Some One
            re(r"^[\s>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [\w\s]+$"),
            // mutt's `* %n <%a> [%d]:` with any date format (`[2024-01-02 10:00]`,
            // `[240102 10:00]`, `[Tue, Jan 02, 2024 at 10:00:00AM +0100]`): an address, or
            // a bracket holding a year or a time.
            re(r"^[\s>]*\*\s.*[\w.+-]+@[\w-]+(?:\.[\w-]+)+.*\[[^\]]*\d[^\]]*\]\s*[:：]\s*$"),
            re(r"^[\s>]*\*\s.+\s\[[^\]]*(?:(?:19|20)\d\d|\d{6}|\d\d?[:.]\d\d)[^\]]*\]\s*[:：]\s*$"),
            // Posted by someone on 01/21/2016
            re(r"(?i)^[\s>]*Posted by .+ on \d{2}/\d{2}/\d{4}\s*$"),
        ];
        Patterns {
            markers,
            markers_with_digit,
            forward_markers,
            address_start: re(r"^[<(\[]?\s*(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
            attribution_start: re(&format!(
                r"(?i)^[\s>*-]*(?:{openers}\s|(?:19|20)\d\d\D|在|於|于)"
            )),
        }
    })
}

/// Whether a line is an attribution ("On … wrote:") or a forward marker. Lines over 1,000
/// bytes never are, which keeps every match cheap.
pub(super) fn is_marker(line: &str) -> bool {
    if line.len() > 1000 {
        return false;
    }
    let p = patterns();
    if p.markers.iter().any(|r| r.is_match(line)) {
        return true;
    }
    line.chars().any(|c| c.is_ascii_digit())
        && p.markers_with_digit.iter().any(|r| r.is_match(line))
}

/// Whether a line introduces a forwarded or "original" message (after which Outlook quotes
/// without `>`).
pub(super) fn is_forward_marker(line: &str) -> bool {
    patterns().forward_markers.iter().any(|r| r.is_match(line))
}

/// Joins an attribution line wrapped over up to five lines into one line.
///
/// A line starts a wrapped attribution when it has a digit or an `@`, does not already end
/// with a colon and is not a header; the join is accepted at the first following line (of at
/// most four, each short) after which the joined text is a marker ending with a colon.
pub(super) fn join_wrapped_markers(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let mut joined_to = None;
        let first = line.trim_end();
        if !is_empty_line(line)
            && line.chars().any(|c| c.is_ascii_digit() || c == '@')
            && first.len() < 300
            && !ends_with_colon(first)
            && !is_header(line)
        {
            let mut candidate = first.to_string();
            let mut blank_run = 0;
            for k in 1..=4 {
                let Some(next) = lines.get(i + k) else { break };
                let piece = next.trim_start_matches(|c: char| c.is_whitespace() || c == '>');
                let piece = piece.trim_end();
                if piece.chars().count() > 80 {
                    break;
                }
                if piece.is_empty() {
                    blank_run += 1;
                    if blank_run > 1 {
                        break;
                    }
                    continue;
                }
                blank_run = 0;
                // A complete attribution of its own starts a new marker, unless it begins
                // mid-attribution with an address ("info@example.org> wrote:").
                if is_marker(piece) && !patterns().address_start.is_match(piece) {
                    break;
                }
                candidate.push(' ');
                candidate.push_str(piece);
                if ends_with_colon(piece) && is_marker(&candidate) {
                    joined_to = Some((i + k, candidate));
                    break;
                }
            }
        }
        // The attribution is the shortest run of lines that forms a marker: when a later
        // line of the run starts one on its own ("Score: 5" above "On Mon, … <" /
        // "addr> wrote:"), the run starts there and this line stays text.
        if let Some((end, _)) = &joined_to {
            let starts_later = (i + 1..*end).any(|j| {
                patterns().attribution_start.is_match(&lines[j])
                    && is_marker(&join_pieces(&lines[j..=*end]))
            });
            if starts_later {
                joined_to = None;
            }
        }
        match joined_to {
            Some((end, candidate)) => {
                out.push(candidate);
                i = end + 1;
            }
            None => {
                out.push(line.clone());
                i += 1;
            }
        }
    }
    out
}

/// The pieces of a wrapped attribution joined with single spaces (quote markers, blank
/// lines and surrounding whitespace dropped), as [`join_wrapped_markers`] builds them.
fn join_pieces(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| {
            l.trim_start_matches(|c: char| c.is_whitespace() || c == '>')
                .trim_end()
        })
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a line ends with a colon (ASCII or full-width), ignoring trailing `>`, `*`, `-`.
fn ends_with_colon(s: &str) -> bool {
    let s = s.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '>' | '*' | '-'));
    s.ends_with(':') || s.ends_with('：')
}

#[cfg(test)]
mod tests {
    use super::super::trim_reply;
    use super::*;

    #[test]
    fn attribution_patterns_compile() {
        let _ = patterns();
        assert!(is_marker(
            "On Mon, Feb 1, 2016 at 6:32 PM, Jeff <a@b.org> wrote:"
        ));
    }

    #[test]
    fn a_line_with_a_digit_above_a_wrapped_attribution_stays_text() {
        // Gmail wraps a long attribution before the address; the answer above it has
        // digits ("Score: 5") and must not be taken as the attribution's first line.
        for answer in [
            "Score: 4\nI said it above.\nScore: 5",
            "Score: 9\nComments for the speaker: ok",
        ] {
            let mail = format!(
                "{answer}\n\nOn Mon, May 13, 2024 at 9:30 AM TestConf CFP <\ncfp+abc@conf.example> wrote:\n\n> Score: (1-5)\n"
            );
            let t = trim_reply(&mail);
            assert_eq!(t.kept, answer, "{mail}");
            assert!(t.elided.contains("wrote:"), "{t:?}");
        }
    }

    #[test]
    fn markers_in_many_languages() {
        for line in [
            "On Tue, Jan 2, 2024 at 10:00 AM Ada Lovelace <ada@example.org> wrote:",
            "Le mar. 2 janv. 2024 à 10:00, Ada Lovelace <ada@example.org> a écrit :",
            "Am Di., 2. Jan. 2024 um 10:00 Uhr schrieb Ada Lovelace <ada@example.org>:",
            "El mar, 2 ene 2024 a las 10:00, Ada Lovelace (<ada@example.org>) escribió:",
            "Il giorno mar 2 gen 2024 alle ore 10:00 Ada <ada@example.org> ha scritto:",
            "Op di 2 jan. 2024 om 10:00 schreef Ada Lovelace <ada@example.org>:",
            "Em ter., 2 de jan. de 2024 às 10:00, Ada Lovelace <ada@example.org> escreveu:",
            "2024年1月2日(火) 10:00 Ada Lovelace <ada@example.org>:",
            "在 2024年1月2日 10:00，Ada Lovelace <ada@example.org> 写道：",
            "вт, 2 янв. 2024 г. в 10:00, Ada Lovelace <ada@example.org>:",
            "Den tis 2 jan. 2024 kl 10:00 skrev Ada Lovelace <ada@example.org>:",
            "-----Original Message-----",
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
            "* TestConf CFP <cfp+abc@conf.example> [2024-05-13 09:30:00 +0200]:",
            "* TestConf CFP <cfp+abc@conf.example> [240513 09:30]:",
            "* TestConf CFP <cfp+abc@conf.example> [Mon, May 13, 2024 at 09:30:00AM +0200]:",
            "* TestConf CFP <cfp+abc@conf.example> [13.05.24 09:30]:",
            "* TestConf CFP <cfp@conf.example> [Mon 13.May'24 09:30]:",
            "* Ada Lovelace [2024-05-13 09:30]:",
            "* Ada Lovelace [13/05/2024]:",
        ] {
            assert!(is_marker(line), "not a marker: {line}");
        }
        for line in [
            "On second thought, the speaker said it well.",
            "In 2019 the speaker wrote a book.",
            "Score: 4",
            "On balance I would accept it.",
            "* Related work [1]:",
            "* Score [1-5]:",
        ] {
            assert!(!is_marker(line), "false marker: {line}");
        }
    }

    #[test]
    fn mutt_attributions_above_an_answered_form_are_not_kept() {
        for date in [
            "2024-05-13 09:30:00 +0200",
            "240513 09:30",
            "Mon, May 13, 2024 at 09:30:00AM +0200",
            "13.05.24 09:30",
        ] {
            let mail = format!(
                "* TestConf CFP <cfp+abc@conf.example> [{date}]:\n> Score (1-5):\n4\n> Comments for the committee:\nSolid.\n>\n> Thanks\n"
            );
            let t = trim_reply(&mail);
            assert!(!t.kept.contains("TestConf"), "{date}: {:?}", t.kept);
            assert!(t.kept.contains("Solid."), "{date}: {:?}", t.kept);
        }
    }
}
