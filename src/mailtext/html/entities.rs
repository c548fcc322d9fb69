//! HTML character references: named (the common ones), decimal and hexadecimal, with the
//! Windows-1252 meaning of C1 code points and the legacy semicolon-less forms browsers accept.

const NAMED_ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("ensp", " "),
    ("emsp", " "),
    ("thinsp", " "),
    ("zwnj", "\u{200c}"),
    ("zwj", "\u{200d}"),
    ("shy", "\u{ad}"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("hellip", "…"),
    ("mdash", "—"),
    ("ndash", "–"),
    ("minus", "−"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("sbquo", "‚"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("bdquo", "„"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("lsaquo", "‹"),
    ("rsaquo", "›"),
    ("bull", "•"),
    ("middot", "·"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("curren", "¤"),
    ("sect", "§"),
    ("para", "¶"),
    ("deg", "°"),
    ("plusmn", "±"),
    ("times", "×"),
    ("divide", "÷"),
    ("frac12", "½"),
    ("frac14", "¼"),
    ("frac34", "¾"),
    ("sup1", "¹"),
    ("sup2", "²"),
    ("sup3", "³"),
    ("micro", "µ"),
    ("iexcl", "¡"),
    ("iquest", "¿"),
    ("dagger", "†"),
    ("Dagger", "‡"),
    ("permil", "‰"),
    ("prime", "′"),
    ("larr", "←"),
    ("rarr", "→"),
    ("uarr", "↑"),
    ("darr", "↓"),
    ("harr", "↔"),
    ("le", "≤"),
    ("ge", "≥"),
    ("ne", "≠"),
    ("check", "✓"),
    ("agrave", "à"),
    ("aacute", "á"),
    ("acirc", "â"),
    ("atilde", "ã"),
    ("auml", "ä"),
    ("aring", "å"),
    ("aelig", "æ"),
    ("ccedil", "ç"),
    ("egrave", "è"),
    ("eacute", "é"),
    ("ecirc", "ê"),
    ("euml", "ë"),
    ("igrave", "ì"),
    ("iacute", "í"),
    ("icirc", "î"),
    ("iuml", "ï"),
    ("eth", "ð"),
    ("ntilde", "ñ"),
    ("ograve", "ò"),
    ("oacute", "ó"),
    ("ocirc", "ô"),
    ("otilde", "õ"),
    ("ouml", "ö"),
    ("oslash", "ø"),
    ("ugrave", "ù"),
    ("uacute", "ú"),
    ("ucirc", "û"),
    ("uuml", "ü"),
    ("yacute", "ý"),
    ("yuml", "ÿ"),
    ("szlig", "ß"),
    ("thorn", "þ"),
    ("oelig", "œ"),
    ("scaron", "š"),
    ("Agrave", "À"),
    ("Aacute", "Á"),
    ("Acirc", "Â"),
    ("Atilde", "Ã"),
    ("Auml", "Ä"),
    ("Aring", "Å"),
    ("AElig", "Æ"),
    ("Ccedil", "Ç"),
    ("Egrave", "È"),
    ("Eacute", "É"),
    ("Ecirc", "Ê"),
    ("Euml", "Ë"),
    ("Igrave", "Ì"),
    ("Iacute", "Í"),
    ("Icirc", "Î"),
    ("Iuml", "Ï"),
    ("Ntilde", "Ñ"),
    ("Ograve", "Ò"),
    ("Oacute", "Ó"),
    ("Ocirc", "Ô"),
    ("Otilde", "Õ"),
    ("Ouml", "Ö"),
    ("Oslash", "Ø"),
    ("Ugrave", "Ù"),
    ("Uacute", "Ú"),
    ("Ucirc", "Û"),
    ("Uuml", "Ü"),
    ("Yacute", "Ý"),
    ("OElig", "Œ"),
    ("Scaron", "Š"),
];

/// Windows-1252 meanings of the C1 code points, as browsers decode `&#128;`–`&#159;`.
const C1_WINDOWS_1252: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

pub(super) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        match decode_one_entity(rest) {
            Some((decoded, used)) => {
                out.push_str(&decoded);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the entity at the start of `s` (which starts with `&`); returns the text and the
/// number of bytes consumed.
fn decode_one_entity(s: &str) -> Option<(String, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            let n = hex.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
            (&hex[..n], 16, 3)
        } else {
            let n = num.bytes().take_while(|b| b.is_ascii_digit()).count();
            (&num[..n], 10, 2)
        };
        if digits.is_empty() {
            return None;
        }
        let mut used = 1 + skip - 1 + digits.len();
        if s[used..].starts_with(';') {
            used += 1;
        }
        let value = if digits.len() > 8 {
            0xFFFD
        } else {
            u32::from_str_radix(digits, radix).unwrap_or(0xFFFD)
        };
        let ch = match value {
            0 => '\u{fffd}',
            0x80..=0x9F => C1_WINDOWS_1252[(value - 0x80) as usize],
            v => char::from_u32(v).unwrap_or('\u{fffd}'),
        };
        return Some((ch.to_string(), used));
    }
    let n = body
        .bytes()
        .take(32)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if n == 0 {
        return None;
    }
    let name = &body[..n];
    let with_semicolon = body[n..].starts_with(';');
    let lookup = |name: &str| {
        NAMED_ENTITIES
            .iter()
            .find(|(k, _)| *k == name)
            .or_else(|| {
                NAMED_ENTITIES
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.to_string())
    };
    if with_semicolon {
        return lookup(name).map(|v| (v, 1 + n + 1));
    }
    // Legacy entities without a semicolon (`&amp`, `&nbsp`, …).
    for legacy in ["amp", "lt", "gt", "quot", "nbsp", "copy", "reg"] {
        if name.starts_with(legacy) {
            return lookup(legacy).map(|v| (v, 1 + legacy.len()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_numeric_c1_and_legacy_references() {
        assert_eq!(
            decode_entities("&amp;&lt;&#65;&#x42;&#150;&nbspx&unknown;&Eacute;&EACUTE;"),
            "&<AB–\u{a0}x&unknown;Éé"
        );
        assert_eq!(decode_entities("no references"), "no references");
        assert_eq!(decode_entities("&#;&#x;&"), "&#;&#x;&");
    }
}
