//! What the common mail clients put around a quoted original and a signature in an HTML
//! reply, so that reply mode can quote or drop it before the text rules run.
//!
//! - Gmail: `gmail_attr` (the attribution), `gmail_signature` / `data-smartmail`.
//! - Thunderbird: `moz-cite-prefix`, `moz-signature`.
//! - Yahoo: `yahoo_quoted`; Proton Mail: `protonmail_quote`.
//! - Outlook: `divRplyFwdMsg`, `appendonsend`, the new Outlook's reference container,
//!   `OutlookMessageHeader` and the bordered "From:" header `<div>` start the original,
//!   which runs to the end of the mail; `Signature` / `x_Signature` is its signature.
//! - Apple Mail and Thunderbird quote with `<blockquote type="cite">`, which every
//!   `<blockquote>` already covers.

use super::markup::{attr, compact_style, has_class};

/// Whether a start tag begins Outlook's quoted original (everything after it is quoted).
pub(super) fn starts_outlook_original(name: &str, attrs: &[(String, String)]) -> bool {
    let id = attr(attrs, "id").unwrap_or("").to_ascii_lowercase();
    let style = compact_style(attrs);
    id.ends_with("divrplyfwdmsg")
        || id.ends_with("appendonsend")
        || id == "mail-editor-reference-message-container"
        || has_class(attrs, "OutlookMessageHeader")
        || (name == "div"
            && (style.contains("border-top:solid#e1e1e1")
                || style.contains("border-top:solid#b5c4df")))
}

/// Whether an element is a client's quote container other than `<blockquote>` (its content
/// is quoted one level deeper).
pub(super) fn is_quote_container(attrs: &[(String, String)]) -> bool {
    has_class(attrs, "gmail_attr")
        || has_class(attrs, "moz-cite-prefix")
        || has_class(attrs, "yahoo_quoted")
        || has_class(attrs, "protonmail_quote")
}

/// Whether an element is a client's signature container (its content is dropped).
pub(super) fn is_signature_container(attrs: &[(String, String)]) -> bool {
    has_class(attrs, "gmail_signature")
        || has_class(attrs, "moz-signature")
        || attr(attrs, "data-smartmail") == Some("gmail_signature")
        || attr(attrs, "id").is_some_and(|id| {
            id.eq_ignore_ascii_case("signature") || id.eq_ignore_ascii_case("x_signature")
        })
}
