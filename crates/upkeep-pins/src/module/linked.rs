//! Linked strings: other string literals of a pin's file that name the same thing at the same
//! version (`…/crowdsec-bouncer-traefik-plugin/archive/refs/tags/v1.4.2.zip`, a JSON state
//! string). They move with the pin. Found by looking for the version's bytes in the file
//! (one search per pin), so files without a second mention cost nothing more.

use crate::location::LineIndex;
use crate::pin::Linked;
use std::ops::Range;
use std::path::Path;

/// The literals of `text` (the file `file`) holding `version` as a whole token and `name`,
/// outside the `taken` ranges (pin tokens and references). `hcl` says how the file is
/// written; for YAML, each line outside comments is a literal.
pub(super) fn find(
    file: &Path,
    text: &str,
    hcl: bool,
    name: &str,
    version: &str,
    taken: &[Range<usize>],
) -> Vec<Linked> {
    if !version.contains('.') || name.is_empty() {
        return Vec::new();
    }
    let names = spellings(name);
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut lines = None;
    for at in memchr::memmem::find_iter(bytes, version.as_bytes()) {
        let span = at..at + version.len();
        if !whole_token(bytes, &span)
            || taken
                .iter()
                .any(|t| t.start < span.end && span.start < t.end)
        {
            continue;
        }
        let literal = if hcl {
            hcl_literal(text, at)
        } else {
            yaml_literal(text, at)
        };
        let Some(literal) = literal else { continue };
        let lower = text[literal.clone()].to_ascii_lowercase();
        if !names.iter().any(|name| lower.contains(name.as_str())) {
            continue;
        }
        let (line, column) = lines
            .get_or_insert_with(|| LineIndex::new(text))
            .line_col(at);
        let line_text = line_around(text, at, &literal);
        found.push(Linked {
            file: file.to_path_buf(),
            line,
            column,
            span,
            text: line_text,
        });
    }
    found
}

/// The spellings of a name to look for, lower case: as written, and without a registry or
/// URL host (`docker.io/grafana/grafana` → `grafana/grafana`).
fn spellings(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let bare = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let mut names = vec![lower.clone()];
    if let Some((host, path)) = bare.split_once('/')
        && host.contains(['.', ':'])
        && path.contains('/')
    {
        names.push(path.to_owned());
    }
    names
}

/// Whether `span` of `bytes` is a whole version: not inside a longer name or version
/// (`11.4.2`, `1.4.2.1`, `v1.4.20`), though it may be followed by a file extension
/// (`v1.4.2.zip`).
fn whole_token(bytes: &[u8], span: &Range<usize>) -> bool {
    let before = span.start.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(span.end).copied();
    let next = bytes.get(span.end + 1).copied();
    let joined_before = before.is_some_and(|b| {
        b.is_ascii_alphanumeric()
            || (b == b'.' && span.start >= 2 && bytes[span.start - 2].is_ascii_digit())
    });
    let joined_after = after.is_some_and(|b| {
        b.is_ascii_alphanumeric()
            || (matches!(b, b'.' | b'-' | b'_' | b'+') && next.is_some_and(|n| n.is_ascii_digit()))
    });
    !joined_before && !joined_after
}

/// The string literal of an HCL file that holds byte `at`: a quoted string (its content), or
/// the line of a heredoc. `None` when `at` is in a comment or outside any string.
fn hcl_literal(text: &str, at: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    // Open strings and interpolations: the start of each string's content, or `None` for an
    // interpolation (code again).
    let mut open: Vec<Option<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let in_string = matches!(open.last(), Some(Some(_)));
        if i == at {
            return match open.last() {
                Some(Some(start)) => string_end(bytes, i).map(|end| *start..end),
                _ => None,
            };
        }
        let byte = bytes[i];
        if in_string {
            match byte {
                b'\\' => i += 1,
                b'"' => {
                    open.pop();
                }
                b'\n' => return None,
                b'$' | b'%' if bytes.get(i + 1) == Some(&byte) => i += 1,
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                    open.push(None);
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match byte {
            b'#' => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |e| i + e + 4);
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                let (body, end) = heredoc(text, i + 2)?;
                if body.contains(&at) {
                    let start = text[..at].rfind('\n').map_or(0, |n| n + 1).max(body.start);
                    let stop = line_end(bytes, at).min(body.end);
                    return Some(start..stop);
                }
                i = end.max(i + 2);
                continue;
            }
            b'"' => {
                open.push(Some(i + 1));
                i += 1;
            }
            b'{' if !open.is_empty() => {
                open.push(None);
                i += 1;
            }
            b'}' if matches!(open.last(), Some(None)) => {
                open.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Where the quoted string whose content includes byte `from` ends (its closing quote).
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    let mut depth = 0usize;
    while from < bytes.len() {
        match bytes[from] {
            b'\\' => from += 1,
            b'"' if depth == 0 => return Some(from),
            b'$' | b'%' if bytes.get(from + 1) == Some(&b'{') => {
                depth += 1;
                from += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b'\n' => return None,
            _ => {}
        }
        from += 1;
    }
    None
}

/// The body of the heredoc whose `<<` ends at `from`, and where the heredoc ends.
fn heredoc(text: &str, from: usize) -> Option<(Range<usize>, usize)> {
    let rest = &text[from..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let body_start = text[from..].find('\n').map(|n| from + n + 1)?;
    let mut line = body_start;
    while line < text.len() {
        let end = line_end(text.as_bytes(), line);
        if text[line..end].trim() == name {
            return Some((body_start..line, end));
        }
        line = end + 1;
    }
    Some((body_start..text.len(), text.len()))
}

/// The line of a YAML file around byte `at`, when `at` is not in a comment.
fn yaml_literal(text: &str, at: usize) -> Option<Range<usize>> {
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let end = line_end(text.as_bytes(), at);
    let line = &text[start..end];
    let comment = line
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])))
        .map(|(i, _)| start + i);
    match comment {
        Some(comment) if comment <= at => None,
        Some(comment) => Some(start..comment),
        None => Some(start..end),
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |n| from + n)
}

/// The literal's text on the line of byte `at`, trimmed, for the report.
fn line_around(text: &str, at: usize, literal: &Range<usize>) -> String {
    let start = text[..at]
        .rfind('\n')
        .map_or(0, |n| n + 1)
        .max(literal.start);
    let end = line_end(text.as_bytes(), at).min(literal.end);
    text[start..end].trim().trim_end_matches('\r').to_owned()
}

#[cfg(test)]
mod tests {
    use super::{find, hcl_literal, whole_token};
    use std::path::Path;

    #[test]
    fn whole_versions_only() {
        let whole = |text: &str, version: &str| {
            let at = text.find(version).unwrap();
            whole_token(text.as_bytes(), &(at..at + version.len()))
        };
        assert!(whole("tags/v1.4.2.zip", "v1.4.2"));
        assert!(whole("(1.4.2)", "1.4.2"));
        assert!(whole("app-1.4.2-linux-amd64.tar.gz", "1.4.2"));
        assert!(!whole("11.4.2", "1.4.2"));
        assert!(!whole("1.4.2.1", "1.4.2"));
        assert!(!whole("1.4.20", "1.4.2"));
        assert!(!whole("v1.4.2", "1.4.2"));
        assert!(!whole("1.4.2-2", "1.4.2"));
    }

    #[test]
    fn strings_heredoc_lines_not_comments() {
        let src = "a = \"x ${f(\"y\")} 1.2.3\" # 1.2.3\nb = <<EOT\n  get 1.2.3\n  other\nEOT\n";
        let in_string = src.find("1.2.3").unwrap();
        assert_eq!(
            &src[hcl_literal(src, in_string).unwrap()],
            "x ${f(\"y\")} 1.2.3"
        );
        let in_comment = src[in_string + 1..].find("1.2.3").unwrap() + in_string + 1;
        assert_eq!(hcl_literal(src, in_comment), None);
        let in_heredoc = src.rfind("1.2.3").unwrap();
        assert_eq!(&src[hcl_literal(src, in_heredoc).unwrap()], "  get 1.2.3");
    }

    #[test]
    fn a_literal_must_name_the_thing() {
        let src = "url = \"https://example.org/x/plugin/v1.2.3.zip\"\nother = \"y/other v1.2.3\"\n";
        let linked = find(
            Path::new("m.tf"),
            src,
            true,
            "example.org/x/plugin",
            "v1.2.3",
            &[],
        );
        assert_eq!(linked.len(), 1);
        assert_eq!((linked[0].line, linked[0].column), (1, 37));
    }
}
