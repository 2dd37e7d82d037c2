//! Mapping HCL string literals back to their raw bytes.
//!
//! hcl-edit gives the decoded text of a literal (escapes resolved) and the byte span of its
//! raw form. To rewrite a tag inside a literal that also holds an escape sequence, each byte of
//! the decoded text must map to its raw offset; this module computes that map.

use crate::site::Lit;
use std::ops::Range;

/// Builds a [`Lit`] from the decoded `text` of a literal whose raw form is `src[raw]`.
/// Returns `None` when the raw bytes do not decode to `text` (nothing is guessed).
pub(crate) fn lit(src: &str, raw: Range<usize>, text: &str) -> Option<Lit> {
    let raw_text = src.get(raw.clone())?;
    if raw_text == text {
        return Some(Lit {
            text: text.to_owned(),
            raw,
            offsets: None,
        });
    }
    let offsets = decode_offsets(raw_text, text)?;
    Some(Lit {
        text: text.to_owned(),
        raw,
        offsets: Some(offsets),
    })
}

/// Decodes the escape sequences of a raw HCL string fragment, or `None` if one is invalid.
pub(crate) fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(ch) = rest.chars().next() {
        let (decoded, len) = if ch == '\\' {
            escape(rest)?
        } else {
            (ch, ch.len_utf8())
        };
        out.push(decoded);
        rest = &rest[len..];
    }
    Some(out)
}

/// For each byte of the decoded form of `raw`, the raw offset it came from (plus the end),
/// or `None` when decoding `raw` does not give `expected`.
fn decode_offsets(raw: &str, expected: &str) -> Option<Vec<u32>> {
    let mut decoded = String::with_capacity(expected.len());
    let mut offsets = Vec::with_capacity(expected.len() + 1);
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let (ch, len) = match bytes[i] {
            b'\\' => escape(&raw[i..])?,
            // `$${` and `%%{` are the escaped forms of `${` and `%{`.
            b'$' if raw[i + 1..].starts_with("${") => ('$', 2),
            b'%' if raw[i + 1..].starts_with("%{") => ('%', 2),
            _ => {
                let ch = raw[i..].chars().next()?;
                (ch, ch.len_utf8())
            }
        };
        for _ in 0..ch.len_utf8() {
            offsets.push(u32::try_from(i).ok()?);
        }
        decoded.push(ch);
        i += len;
    }
    offsets.push(u32::try_from(raw.len()).ok()?);
    (decoded == expected).then_some(offsets)
}

/// Decodes one backslash escape at the start of `raw`: the character and the raw length.
fn escape(raw: &str) -> Option<(char, usize)> {
    let kind = raw.as_bytes().get(1)?;
    let simple = match kind {
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, 2));
    }
    let digits = match kind {
        b'u' => 4,
        b'U' => 8,
        _ => return None,
    };
    let hex = raw.get(2..2 + digits)?;
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((ch, 2 + digits))
}

#[cfg(test)]
mod tests {
    use super::lit;

    #[test]
    fn verbatim_literal_maps_identity() {
        let src = r#""vaultwarden/server:1.35.4""#;
        let lit = lit(src, 1..src.len() - 1, "vaultwarden/server:1.35.4").unwrap();
        assert_eq!(lit.raw_range(19..25), 20..26);
        assert_eq!(&src[lit.raw_range(19..25)], "1.35.4");
    }

    #[test]
    fn escapes_map_to_their_raw_bytes() {
        let src = r#""\u0061lpine:3.\u0032\n""#;
        let lit = lit(src, 1..src.len() - 1, "alpine:3.2\n").unwrap();
        assert_eq!(&src[lit.raw_range(7..10)], r"3.\u0032");
        assert_eq!(&src[lit.raw_range(0..1)], r"\u0061");
    }

    #[test]
    fn escaped_template_markers_map_to_both_bytes() {
        let src = r#""$${x}:1""#;
        let lit = lit(src, 1..src.len() - 1, "${x}:1").unwrap();
        assert_eq!(&src[lit.raw_range(5..6)], "1");
    }

    #[test]
    fn mismatch_is_refused() {
        assert!(lit("\"abc\"", 1..4, "xyz").is_none());
    }
}
