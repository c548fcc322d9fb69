//! Signatures: the RFC 3676 `-- ` separator and the one-line signatures mobile and webmail
//! clients append ("Sent from my iPhone", "Get Outlook for Android", "Von meinem … gesendet",
//! "iPhoneから送信", …).

use crate::mailtext::re;
use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    signatures: Vec<Regex>,
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
        Patterns {
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
}
