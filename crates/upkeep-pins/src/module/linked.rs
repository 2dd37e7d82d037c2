//! Linked strings: other string literals of a pin's file that name the same thing at the same
//! version (`…/crowdsec-bouncer-traefik-plugin/archive/refs/tags/v1.4.2.zip`, a JSON state
//! string). They move with the pin. Found by looking for the version's bytes in the file
//! (one search per pin), so files without a second mention cost nothing more.

use crate::fast_hash::FastMap;
use crate::location::LineCursor;
use crate::pin::Linked;
use std::ops::Range;
use std::path::Path;

/// The string literals of one file, found once and only when a pin's version appears in the
/// file outside pin tokens and references.
pub(super) struct FileLiterals<'a> {
    file: &'a Path,
    text: &'a str,
    hcl: bool,
    /// Pin tokens and references, sorted by start.
    taken: Vec<Range<usize>>,
    /// HCL: the content of each quoted string and each heredoc line, by start.
    literals: Option<Vec<Range<usize>>>,
    lines: Option<LineCursor<'a>>,
    /// For each version searched: its whole-token occurrences outside pin tokens and
    /// references, with the literal holding each. Pins often share a version.
    hits: FastMap<String, Vec<Hit>>,
}

/// An occurrence of a version outside pin tokens: its bytes, and the literal holding them.
type Hit = (Range<usize>, Range<usize>);

impl<'a> FileLiterals<'a> {
    /// The file `file` with text `text`, HCL or (`hcl` false) YAML, whose pin tokens and
    /// references are `taken`.
    pub(super) fn new(file: &'a Path, text: &'a str, hcl: bool, taken: Vec<Range<usize>>) -> Self {
        let mut taken = taken;
        // Merged into disjoint ranges, so one binary search answers whether a span overlaps.
        taken.sort_by_key(|range| range.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(taken.len());
        for range in taken {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let taken = merged;
        FileLiterals {
            file,
            text,
            hcl,
            taken,
            literals: None,
            lines: None,
            hits: FastMap::default(),
        }
    }

    /// The literals holding `version` as a whole token and `name`, outside pin tokens and
    /// references.
    pub(super) fn find(&mut self, name: &str, version: &str) -> Vec<Linked> {
        if !version.contains('.') || name.is_empty() {
            return Vec::new();
        }
        if !self.hits.contains_key(version) {
            let hits = self.hits_of(version);
            self.hits.insert(version.to_owned(), hits);
        }
        let hits = &self.hits[version];
        if hits.is_empty() {
            return Vec::new();
        }
        let names = spellings(name);
        let text = self.text;
        let mut found = Vec::new();
        for (span, literal) in hits {
            let lower = text[literal.clone()].to_ascii_lowercase();
            if !names.iter().any(|name| lower.contains(name.as_str())) {
                continue;
            }
            let (line, column) = self
                .lines
                .get_or_insert_with(|| LineCursor::new(text))
                .line_col(span.start);
            found.push(Linked {
                file: self.file.to_path_buf(),
                line,
                column,
                span: span.clone(),
                text: line_around(text, span.start, literal),
            });
        }
        found
    }

    /// The whole-token occurrences of `version` outside pin tokens and references, each with
    /// the literal holding it.
    fn hits_of(&mut self, version: &str) -> Vec<Hit> {
        let bytes = self.text.as_bytes();
        let mut hits = Vec::new();
        for at in memchr::memmem::find_iter(bytes, version.as_bytes()) {
            let span = at..at + version.len();
            if !whole_token(bytes, &span) || self.is_taken(&span) {
                continue;
            }
            if let Some(literal) = self.literal(at) {
                hits.push((span, literal));
            }
        }
        hits
    }

    /// Whether `span` overlaps a pin token or a reference.
    fn is_taken(&self, span: &Range<usize>) -> bool {
        let after = self.taken.partition_point(|t| t.start < span.end);
        after
            .checked_sub(1)
            .is_some_and(|last| span.start < self.taken[last].end)
    }

    /// The literal holding byte `at`, if any.
    fn literal(&mut self, at: usize) -> Option<Range<usize>> {
        if !self.hcl {
            return yaml_literal(self.text, at);
        }
        let text = self.text;
        let literals = self.literals.get_or_insert_with(|| hcl_literals(text));
        let index = literals.partition_point(|range| range.start <= at);
        let range = literals.get(index.checked_sub(1)?)?;
        (at < range.end).then(|| range.clone())
    }
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

/// The string literals of an HCL file, by start: the content of each quoted string (strings
/// nested in `${…}` belong to the outer one) and each line of each heredoc. Comments are not
/// literals.
fn hcl_literals(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |e| i + e + 4);
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => match heredoc(text, i + 2) {
                Some((body, end)) => {
                    let mut line = body.start;
                    while line < body.end {
                        let stop = line_end(bytes, line).min(body.end);
                        literals.push(line..stop);
                        line = stop + 1;
                    }
                    i = end.max(i + 2);
                }
                None => i += 2,
            },
            b'"' => match string_end(bytes, i + 1) {
                Some(end) => {
                    literals.push(i + 1..end);
                    i = end + 1;
                }
                None => i = line_end(bytes, i),
            },
            _ => i += 1,
        }
    }
    literals
}

/// Where the quoted string whose content starts at byte `from` ends (its closing quote),
/// strings nested in its `${…}` included.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    // Open interpolations, and whether each is inside a nested string.
    let mut depth: Vec<bool> = Vec::new();
    let mut in_nested = false;
    while from < bytes.len() {
        let in_string = depth.is_empty() || in_nested;
        match bytes[from] {
            b'\\' if in_string => from += 1,
            b'"' if depth.is_empty() => return Some(from),
            b'"' => in_nested = !in_nested,
            b'$' | b'%' if in_string && bytes.get(from + 1) == Some(&bytes[from]) => from += 1,
            b'$' | b'%' if in_string && bytes.get(from + 1) == Some(&b'{') => {
                depth.push(in_nested);
                in_nested = false;
                from += 1;
            }
            b'}' if !in_string => in_nested = depth.pop().unwrap_or(false),
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
    use super::{FileLiterals, hcl_literals, whole_token};
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
        let literals: Vec<&str> = hcl_literals(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(literals, ["x ${f(\"y\")} 1.2.3", "  get 1.2.3", "  other"]);
    }

    #[test]
    fn a_literal_must_name_the_thing() {
        let src = "url = \"https://example.org/x/plugin/v1.2.3.zip\"\nother = \"y/other v1.2.3\"\n";
        let mut file = FileLiterals::new(Path::new("m.tf"), src, true, Vec::new());
        let linked = file.find("example.org/x/plugin", "v1.2.3");
        assert_eq!(linked.len(), 1);
        assert_eq!((linked[0].line, linked[0].column), (1, 37));
    }
}
