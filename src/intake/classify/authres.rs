//! `Authentication-Results` (RFC 8601), believed only from our own MX.
//!
//! Anyone can write an `Authentication-Results` header into a mail, so only
//! a header whose authserv-id is the configured `[mailbox] authserv_id`
//! counts, and of those only the topmost: our MX prepends its header, so it
//! sits above anything the sender forged (even a forgery that names our
//! authserv-id). Without a configured authserv-id nothing is believed.

/// The DMARC verdict our MX recorded for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dmarc {
    /// `dmarc=pass`.
    Pass,
    /// `dmarc=fail`: the From domain's owner says this mail is not theirs.
    Fail,
    /// Any other result (`none`, `temperror`, `permerror`, `bestguesspass`, …).
    Other(String),
}

/// The DMARC result in the topmost `Authentication-Results` header written by
/// `authserv_id`; `headers` are the header values in message order (top first).
pub fn dmarc(headers: &[String], authserv_id: &str) -> Option<Dmarc> {
    let ours = headers
        .iter()
        .map(|h| strip_comments(h))
        .find(|h| server_id(h).is_some_and(|id| id.eq_ignore_ascii_case(authserv_id)))?;
    for clause in ours.split(';').skip(1) {
        let Some(first) = clause.split_whitespace().next() else {
            continue;
        };
        let Some((method, result)) = first.split_once('=') else {
            continue;
        };
        // `dmarc` or `dmarc/1` (method version).
        let method = method.split('/').next().unwrap_or("").trim();
        if method.eq_ignore_ascii_case("dmarc") {
            let result = result.trim().to_ascii_lowercase();
            return Some(match result.as_str() {
                "pass" => Dmarc::Pass,
                "fail" => Dmarc::Fail,
                _ => Dmarc::Other(result),
            });
        }
    }
    None
}

/// The authserv-id: the first word before the first `;`.
fn server_id(h: &str) -> Option<&str> {
    h.split(';').next()?.split_whitespace().next()
}

/// Remove RFC 5322 comments `( … )`, nested, with `\` escapes; unbalanced
/// input drops the rest.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut escaped = false;
    let mut quoted = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_configured_authserv_id_counts() {
        let forged = "mx.example.org; dmarc=pass header.from=bank.example";
        let real = "mx.example.org;\r\n dkim=none; spf=softfail smtp.mailfrom=x.example;\r\n dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=example.org";
        // Ours is on top; a forged one further down (even with our id) is ignored.
        assert_eq!(
            dmarc(&h(&[real, forged]), "mx.example.org"),
            Some(Dmarc::Fail)
        );
        assert_eq!(dmarc(&h(&[real]), "MX.Example.ORG"), Some(Dmarc::Fail));
        // Someone else's verdict is not ours.
        assert_eq!(
            dmarc(
                &h(&["mx.evil.example; dmarc=fail header.from=a.example"]),
                "mx.example.org"
            ),
            None
        );
        assert_eq!(
            dmarc(
                &h(&[
                    "mx.evil.example; dmarc=pass",
                    "mx.example.org 1; dmarc=pass (ok) header.from=a"
                ]),
                "mx.example.org"
            ),
            Some(Dmarc::Pass)
        );
        assert_eq!(dmarc(&h(&["mx.example.org; none"]), "mx.example.org"), None);
        assert_eq!(
            dmarc(&h(&["mx.example.org; dmarc/1=TempError"]), "mx.example.org"),
            Some(Dmarc::Other("temperror".into()))
        );
    }

    #[test]
    fn comments_cannot_smuggle_a_verdict() {
        // The only dmarc=fail is inside a comment.
        let v =
            "mx.example.org; spf=pass (dmarc=fail; nested (x) \\) still comment) smtp.mailfrom=a";
        assert_eq!(dmarc(&h(&[v]), "mx.example.org"), None);
        // A comment before the id does not hide it.
        let v = "(our mx) mx.example.org; dmarc=fail";
        assert_eq!(dmarc(&h(&[v]), "mx.example.org"), Some(Dmarc::Fail));
        assert_eq!(dmarc(&h(&["", ";;;", "((("]), "mx.example.org"), None);
    }
}
