//! Header blocks: the "From: … Sent: … To: … Subject: …" lines (in many languages) that
//! Outlook and other clients put, unquoted, above the original message.

use crate::mailtext::lines::is_empty_line;
use crate::mailtext::re;
use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    /// A date header ("Sent:", "Date:", "Gesendet:", …) with a digit in its value.
    header_date: Regex,
    /// Any other header of a quoted original ("From:", "To:", "Subject:", "Betreff:", …).
    header_text: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        header_date: re(r"(?i)^[\s*]*(?:sent|date|sendt|gesendet|datum|enviado|enviada\s+em|fecha|data|skickat|lähetetty|päivämäärä|wysłano|data\s+wysłania|odesláno|отправлено|дата|发送时间|日期|日付|送信日時|날짜|보낸\s+날짜|le)[\s*]*[:：].*\d"),
        header_text: re(r"(?i)^[\s*]*(?:from|to|cc|bcc|reply-to|subject|fra|til|emne|de|expéditeur|à|a|destinataire|répondre\s+à|objet|von|an|betreff|para|assunto|asunto|da|risposta|oggetto|van|aan|onderwerp|beantwoorden\s+-\s+aan|från|till|ämne|kopia|od|do|temat|dw|předmět|komu|lähettäjä|vastaanottaja|aihe|от|кому|тема|копия|发件人|收件人|抄送|主题|寄件者|收件者|主旨|差出人|宛先|件名|보낸\s+사람|받는\s+사람|제목)[\s*]*[:：].*\w"),
    })
}

/// Whether a line looks like a header of a quoted original. Lines over 1,000 bytes never
/// do, which keeps every match cheap.
pub(super) fn is_header(line: &str) -> bool {
    if line.len() > 1000 {
        return false;
    }
    let p = patterns();
    p.header_date.is_match(line) || p.header_text.is_match(line)
}

/// Whether an Outlook-style header block (three header lines, allowing one wrapped value
/// line) starts at line `i`.
pub(super) fn header_block_at(lines: &[String], i: usize) -> bool {
    let mut headers = 0;
    let mut others = 0;
    for line in lines.iter().skip(i).take(8) {
        if is_empty_line(line) {
            break;
        }
        if is_header(line) {
            headers += 1;
        } else {
            others += 1;
            if others > 1 {
                break;
            }
        }
    }
    headers >= 3
}

#[cfg(test)]
mod tests {
    use super::super::trim_reply;
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn header_lines_and_blocks() {
        assert!(is_header("From: CFP <cfp@conf.example>"));
        assert!(is_header("Gesendet: Dienstag, 2. Januar 2024 10:00"));
        assert!(!is_header("Sent: yesterday"), "a date header needs a digit");
        assert!(!is_header("Thanks for the talk"));
        let block = lines("From: a\nSent: 2 Jan 2024\nTo: b\nSubject: c");
        assert!(header_block_at(&block, 0));
        // One wrapped value line is allowed inside the block, two are not.
        assert!(header_block_at(
            &lines("From: a\nSent: 2 Jan 2024\nwrapped\nTo: b"),
            0
        ));
        assert!(!header_block_at(
            &lines("From: a\nx\ny\nTo: b\nSubject: c"),
            0
        ));
        assert!(!header_block_at(&lines("From: a\n\nTo: b\nSubject: c"), 0));
    }

    #[test]
    fn outlook_plain_text_header_block() {
        let t = trim_reply(
            "Looks good to me.\n\nFrom: CFP <cfp@conf.example>\nSent: Tuesday, January 2, 2024 10:00 AM\nTo: Ada <ada@example.org>\nSubject: Review P-0042\n\nScore: (1-5)\n",
        );
        assert_eq!(t.kept, "Looks good to me.");
        assert!(t.elided.contains("Subject: Review P-0042"));
    }
}
