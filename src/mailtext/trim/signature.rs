//! Signatures: the RFC 3676 `-- ` separator and the one-line signatures mobile and webmail
//! clients append ("Sent from my iPhone", "Get Outlook for Android", "Von meinem … gesendet",
//! "iPhoneから送信", …).

use crate::mailtext::re;
use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    signatures: Vec<Regex>,
    /// A closing line: "Thanks,", "Best regards".
    sign_off: Regex,
    /// A closing line with a name: "Cheers, Ann", "Thanks Ann Lee!".
    sign_off_named: Regex,
    /// A Markdown link, replaced by its text before matching.
    md_link: Regex,
    /// A URL, removed before matching ("Sent from Yahoo Mail <https://…>").
    url: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let signatures = vec![
            re(r"(?i)^\s*(?:從我的\s*iPhone\s*傳送|从我的\s*iPhone\s*发送|發自我的\s*iPhone|发自我的\s*iPhone|iPhoneから送信|iPadから送信|나의\s*iPhone에서\s*보냄)"),
            re(r"(?i)^\s*\w+\s+from\s+(?:my\s+)?mobile\b"),
            re(r"(?i)^\s*[(<\[]*\s*sent\s+(?:from|via|with|using)\s+\S+(?:\s+\S+){0,10}\s*$"),
            re(r"(?i)^\s*[(<\[]*\s*sent\s+by\s+\S+(?:\s+\S+){0,3}\s*$"),
            re(r"(?i)^\s*from\s+my\s+(?:i?phone|ipad|android|mobile|samsung|galaxy|blackberry|tablet|smartphone|pixel|\w+\s?phone)\b.{0,30}$"),
            re(r"(?i)^\s*get\s+outlook\s+for\b"),
            re(r"(?i)^\s*envoyé\s+(?:depuis|de)\s+(?:mon|ma|yahoo|l'application|outlook)"),
            re(r"(?i)^\s*von\s+meinem\s+.{1,60}\s+gesendet"),
            re(r"(?i)^\s*diese\s+nachricht\s+wurde\s+von\s+.{1,80}\s+gesendet"),
            re(r"(?i)^\s*gesendet\s+(?:von|mit)\s+(?:meinem|mein|der|outlook)"),
            re(r"(?i)^\s*inviato\s+da\s"),
            re(r"(?i)^\s*sendt\s+fra\s+(?:min|mi|my)\s"),
            re(r"(?i)^\s*enviado\s+(?:do|desde|de)\s+(?:meu|mi|o|el|mi)\s"),
            re(r"(?i)^\s*(?:verzonden|verstuurd)\s+(?:met|vanaf|van)\s"),
            re(r"(?i)^\s*(?:skickat\s+)?från\s+min\s"),
            re(r"(?i)^\s*отправлено\s+(?:с|из)\s"),
            re(r"(?i)^\s*(?:wysłane|wysłano)\s+z\s"),
            re(r"(?i)^\s*odesláno\s+z\s"),
        ];
        let words = r"thanks|thank\s+you|many\s+thanks|thanks\s+(?:again|a\s+lot|so\s+much|in\s+advance)|thank\s+you\s+(?:again|so\s+much|in\s+advance)|thx|cheers|best|best\s+wishes|(?:best|kind|warm|warmest|many)\s+regards|regards|sincerely|yours(?:\s+(?:truly|sincerely))?|all\s+the\s+best|greetings|ciao|bye|gruß|grüße|viele\s+grüße|liebe\s+grüße|mit\s+freundlichen\s+grüßen|cordialement|bien\s+à\s+vous|merci|danke|saludos|un\s+saludo|abraços|atenciosamente|groeten|met\s+vriendelijke\s+groet|mvh|hälsningar|med\s+vänliga\s+hälsningar|с\s+уважением|спасибо|よろしくお願いします|谢谢";
        let name = r"\p{Lu}[\p{L}.'\-]*(?:\s+\p{Lu}[\p{L}.'\-]*){0,2}";
        Patterns {
            sign_off: re(&format!(r"(?i)^[\s*_]*(?:{words})[\s,.!*_]*$")),
            sign_off_named: re(&format!(
                r"(?i)^[\s*_]*(?:{words})[\s,.!*_]*(?-i:{name})[\s.!*_]*$"
            )),
            signatures,
            md_link: re(r"\[([^\]]*)\]\([^)]*\)"),
            url: re(r"<?(?:https?://|mailto:)[^\s>]*>?"),
        }
    })
}

/// The RFC 3676 signature separator `-- ` (also accepted without the trailing space).
pub(super) fn is_sig_dash(line: &str) -> bool {
    line.trim_end() == "--"
}

pub(super) fn is_signature(line: &str) -> bool {
    let p = patterns();
    let stripped = p.md_link.replace_all(line, "$1");
    let stripped = p.url.replace_all(&stripped, "");
    if stripped.chars().count() > 150 {
        return false;
    }
    p.signatures.iter().any(|r| r.is_match(&stripped))
}

/// How a line closes a letter: a sign-off alone ("Thanks,", "Best regards") or followed
/// by a name ("Thanks, Ann", "Cheers Ann Lee").
#[derive(PartialEq)]
enum SignOff {
    Bare,
    Named,
}

fn sign_off(line: &str) -> Option<SignOff> {
    if line.chars().count() > 80 {
        return None;
    }
    let p = patterns();
    if p.sign_off.is_match(line) {
        Some(SignOff::Bare)
    } else if p.sign_off_named.is_match(line) {
        Some(SignOff::Named)
    } else {
        None
    }
}

/// Where the closing of a letter begins at the end of `lines`, if it has one: a signature
/// delimiter, a mobile signature, or a sign-off followed by at most four short lines (a
/// name, a role, a company, a link). The closing must follow some text; a sign-off that
/// carries no name needs either a blank line above it or nothing but short lines below it
/// ("Thanks,\nAnn"), and a sign-off with a name must be preceded by a blank line or be the
/// last line. Used to keep "Thanks, Ann" out of the last field of a proposal.
pub fn sign_off_start(lines: &[&str]) -> Option<usize> {
    let last = lines.iter().rposition(|l| !l.trim().is_empty())?;
    let mut found = None;
    let mut seen = 0;
    for k in (0..=last).rev() {
        let line = lines[k].trim();
        if line.is_empty() {
            continue;
        }
        seen += 1;
        if seen > 5 {
            break;
        }
        let has_text_above = lines[..k].iter().any(|l| !l.trim().is_empty());
        if !has_text_above {
            break;
        }
        let blank_above = lines[k - 1].trim().is_empty();
        let closing = if is_sig_dash(line) || is_signature(line) {
            true
        } else {
            match sign_off(line) {
                Some(SignOff::Bare) => true,
                Some(SignOff::Named) => blank_above || k == last,
                None => false,
            }
        };
        if closing {
            found = Some(k);
        } else if line.chars().count() > 60 || line.split_whitespace().count() > 6 {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::trim_reply;
    use super::*;

    #[test]
    fn mobile_signatures_and_the_dash_separator() {
        for line in [
            "Sent from my iPhone",
            "Get Outlook for Android",
            "Von meinem iPhone gesendet",
            "Envoyé de mon iPad",
            "iPhoneから送信",
            "Sent from [Proton Mail](https://proton.me) for Android",
        ] {
            assert!(is_signature(line), "not a signature: {line}");
        }
        for line in [
            "Sent the slides yesterday, see the link below please.",
            "From my point of view, yes.",
        ] {
            assert!(!is_signature(line), "false signature: {line}");
        }
        assert!(is_sig_dash("-- "));
        assert!(is_sig_dash("--"));
        assert!(!is_sig_dash("---"));
    }

    #[test]
    fn signature_dash_and_mobile_signature() {
        let t = trim_reply("Fine by me.\n\nSent from my iPhone\n\n-- \nAda\nhttps://ada.example\n");
        assert_eq!(t.kept, "Fine by me.");
        assert!(t.elided.contains("Sent from my iPhone"));
        assert!(t.elided.contains("Ada"));
    }

    #[test]
    fn sign_offs_after_text_are_found() {
        let cut = |t: &str| {
            let lines: Vec<&str> = t.lines().collect();
            sign_off_start(&lines).map(|k| lines[..k].join("\n").trim_end().to_string())
        };
        for (text, kept) in [
            ("I build things.\n\nThanks, Ann", "I build things."),
            ("I build things.\nThanks, Ann", "I build things."),
            (
                "I build things.\n\nBest regards,\nAnn Lee\nACME Corp",
                "I build things.",
            ),
            ("I build things.\nThanks,\nAnn", "I build things."),
            ("I build things.\nCheers!\nAnn", "I build things."),
            ("I build things.\n\nSent from my iPhone", "I build things."),
            (
                "I build things.\n\nMerci beaucoup,\nAnn",
                "I build things.\n\nMerci beaucoup,\nAnn",
            ),
            (
                "Three parts:\nBest Practices\nCommon mistakes",
                "Three parts:\nBest Practices\nCommon mistakes",
            ),
            ("I build things.\n\nViele Grüße\nAnn", "I build things."),
            (
                "I build things.\n\nKind regards\n-- \nAnn",
                "I build things.",
            ),
        ] {
            assert_eq!(
                cut(text).unwrap_or_else(|| text.to_string()),
                kept,
                "{text:?}"
            );
        }
        for text in [
            "I build things.\nThanks to my team for the help.",
            "Thanks, Ann",
            "We compare regards\nand best practices.",
            "Three parts:\nBest practices\nCommon mistakes",
            "I build things.\nThanks to Ann\nfor the idea.",
        ] {
            assert_eq!(cut(text), None, "{text:?}");
        }
    }
}
