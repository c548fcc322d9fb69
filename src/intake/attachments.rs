//! Attachment limits (`[proposals] max_attachments`, `max_attachment_bytes`,
//! `blocked_attachment_extensions`).
//!
//! cfpd reads proposals and reviews from the body and never opens an
//! attachment. A mail beyond the limits is refused as a whole with a reply
//! that names the limit (typed rejection `attachments`), rather than
//! silently dropping part of what the person sent: they learn what to fix.

use crate::config::AttachmentLimits;

use super::inbound::Inbound;

/// What is wrong with a mail's attachments, naming the limit; `None` when
/// they are within the limits.
pub fn problem(i: &Inbound, rules: &AttachmentLimits) -> Option<String> {
    let list = &i.attachment_list;
    if list.len() > rules.max_attachments {
        return Some(format!(
            "it has {} attachments, and we accept at most {}",
            list.len(),
            rules.max_attachments
        ));
    }
    for a in list {
        let name = a.name.as_deref().unwrap_or("(unnamed)");
        let ext = a
            .name
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.trim().to_ascii_lowercase());
        let executable = matches!(
            a.content_type.as_str(),
            "application/x-msdownload"
                | "application/x-msdos-program"
                | "application/x-dosexec"
                | "application/x-executable"
                | "application/vnd.microsoft.portable-executable"
        );
        if let Some(e) = ext.filter(|e| rules.blocked_attachment_extensions.contains(e)) {
            return Some(format!(
                "the attachment \"{name}\" is a .{e} file, a type we do not accept"
            ));
        }
        if executable {
            return Some(format!(
                "the attachment \"{name}\" is a program ({}), a type we do not accept",
                a.content_type
            ));
        }
        if a.size > rules.max_attachment_bytes {
            return Some(format!(
                "the attachment \"{name}\" is {} KiB, and we accept at most {} KiB per attachment",
                a.size.div_ceil(1024),
                rules.max_attachment_bytes / 1024
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::classify::OwnIdentity;

    fn rules() -> AttachmentLimits {
        let cfg = crate::config::Config::from_str(
            &crate::config::EXAMPLE_CONFIG.replace("[limits]", "[limits]\n"),
            std::path::Path::new("/tmp/cfpd.toml"),
        )
        .unwrap();
        let mut r = cfg.attachments;
        r.max_attachments = 2;
        r.max_attachment_bytes = 1024;
        r
    }

    fn with(parts: &[(&str, &str, usize)]) -> Inbound {
        let mut m = String::from("From: a@example.org\r\nTo: cfp@conf.example\r\nSubject: p\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nTitle: x\r\n");
        for (name, ct, size) in parts {
            m.push_str(&format!(
                "--B\r\nContent-Type: {ct}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n",
                "a".repeat(*size)
            ));
        }
        m.push_str("--B--\r\n");
        crate::intake::inbound::parse(m.as_bytes(), &OwnIdentity::new("cfp@conf.example")).unwrap()
    }

    #[test]
    fn count_size_and_type_limits_name_the_limit() {
        let r = rules();
        assert_eq!(
            problem(&with(&[("slides.pdf", "application/pdf", 100)]), &r),
            None
        );
        assert_eq!(
            problem(
                &with(&[
                    ("a.pdf", "application/pdf", 1),
                    ("b.pdf", "application/pdf", 1),
                    ("c.pdf", "application/pdf", 1)
                ]),
                &r
            )
            .as_deref(),
            Some("it has 3 attachments, and we accept at most 2")
        );
        assert_eq!(
            problem(&with(&[("big.pdf", "application/pdf", 5000)]), &r).as_deref(),
            Some("the attachment \"big.pdf\" is 5 KiB, and we accept at most 1 KiB per attachment")
        );
        assert_eq!(
            problem(&with(&[("Setup.EXE", "application/pdf", 10)]), &r).as_deref(),
            Some("the attachment \"Setup.EXE\" is a .exe file, a type we do not accept")
        );
        assert!(
            problem(&with(&[("x.bin", "application/x-msdownload", 10)]), &r)
                .unwrap()
                .contains("is a program")
        );
    }
}
