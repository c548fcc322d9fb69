//! The one mailbox key that reply budgets count by.

/// The mailbox an address delivers to, as the reply caps count it: the local
/// part lower-cased and without its `+tag`, the domain lower-cased and in
/// its IDNA (punycode) form. `Victim@Example.org`, `VICTIM@example.org` and
/// `victim+1@example.org` are one key, so spelling an address differently
/// never buys a second budget. Used for counting only, never to address mail
/// or to authorize anyone (see `intake::inbound::same_address` for that).
pub fn mailbox_key(address: &str) -> String {
    let a = address.trim();
    let Some((local, domain)) = a.rsplit_once('@') else {
        return a.to_lowercase();
    };
    let local = local.split_once('+').map_or(local, |(base, _)| base);
    let domain = domain.trim_end_matches('.');
    let domain = match idna::domain_to_ascii(domain) {
        Ok(d) if !d.is_empty() => d,
        _ => domain.to_lowercase(),
    };
    format!("{}@{domain}", local.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::mailbox_key;

    #[test]
    fn case_tags_and_idna_spellings_are_one_mailbox() {
        let k = mailbox_key("victim@example.org");
        for a in [
            "Victim@example.org",
            "VICTIM@EXAMPLE.ORG",
            "victim+1@example.org",
            "Victim+cfp+x@Example.Org",
            " victim@example.org. ",
        ] {
            assert_eq!(mailbox_key(a), k, "{a}");
        }
        assert_eq!(
            mailbox_key("Anna@Bücher.example"),
            mailbox_key("anna@xn--bcher-kva.example")
        );
        assert_eq!(
            mailbox_key("anna@xn--bcher-kva.example"),
            "anna@xn--bcher-kva.example"
        );
        assert_ne!(mailbox_key("victim2@example.org"), k);
        assert_ne!(mailbox_key("victim@example.net"), k);
        // A "+" in the domain part is not a tag; an empty base stays empty.
        assert_eq!(mailbox_key("+x@example.org"), "@example.org");
        assert_eq!(mailbox_key("not an address"), "not an address");
    }
}
