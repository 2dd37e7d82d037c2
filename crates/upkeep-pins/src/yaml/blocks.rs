//! The bodies of block scalars (`config: |` and the lines below it), found lexically so the
//! YAML parser need not read them: saphyr-parser reads a block scalar one character at a time,
//! and one 2.4 MB `config: |` of a real values file cost a quarter of a scan of its repository.
//!
//! Finding them is a guess that the parse confirms (see `super::parse`): a body is only
//! left out where the parser, reading the text without it, finds an empty block scalar ending
//! exactly where the body was. If any guess is not confirmed, the caller reads the whole text.
//! What a guess cannot show is a body cut too long, so the extent follows YAML's rule exactly
//! and every doubt keeps the body in: the block's parent indentation is the column of its key
//! (or of the `-` before it), the content indentation that of the first line that is not
//! blank, and the body ends before the first line that is not blank and is less indented.

use std::ops::Range;

/// A block scalar body left out of the text the parser reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cut {
    /// Whole lines of the file, from the line after the header to the end of the body.
    pub body: Range<usize>,
}

/// The bodies of `src`'s block scalars that can be left out: those `keep` does not ask to keep
/// (given the key, whether the block is literal, and the body), without an anchor (an alias
/// could use their value elsewhere) or an explicit indentation (`|2`), nested in a mapping or
/// sequence. Sorted, disjoint. Empty for text with a carriage return that ends no line (YAML
/// reads it as a line break).
pub(super) fn block_bodies(src: &str, keep: impl Fn(Option<&str>, bool, &str) -> bool) -> Vec<Cut> {
    let bytes = src.as_bytes();
    if memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n')) {
        return Vec::new();
    }
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let end = line_end(bytes, at);
        let line = &src[at..end];
        at = next_line(bytes, end);
        let Some(header) = header(line) else {
            continue;
        };
        // The body: blank lines and lines indented past the parent, the first non-blank one
        // setting the content indentation.
        let body_start = at;
        let mut content = None;
        let mut leading_blank_max = 0;
        while at < bytes.len() {
            let end = line_end(bytes, at);
            let line = &bytes[at..end];
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            let blank = line[indent..].iter().all(|&b| b == b'\r');
            match content {
                _ if blank => {
                    if content.is_none() {
                        leading_blank_max = leading_blank_max.max(indent);
                    }
                }
                None if indent > header.parent => content = Some(indent),
                Some(content) if indent >= content => {}
                _ => break,
            }
            at = next_line(bytes, end);
        }
        // Trailing blank lines are the block's too, and go with it.
        let body_end = at;
        let Some(content) = content else {
            continue;
        };
        let safe = header.cuttable
            // YAML refuses a leading blank line indented past the content; keep the error.
            && leading_blank_max <= content
            && body_end > body_start
            && !keep(header.key, header.literal, &src[body_start..body_end]);
        if safe {
            cuts.push(Cut {
                body: body_start..body_end,
            });
        }
    }
    cuts
}

/// A line that ends with a block scalar indicator.
struct Header<'a> {
    /// The column the body must be indented past.
    parent: usize,
    /// The key whose value the block is, if any.
    key: Option<&'a str>,
    /// No anchor, no explicit indentation.
    cuttable: bool,
    /// `|` rather than `>`.
    literal: bool,
}

/// Reads `INDENT (- )* (KEY: )? PROPERTIES? (|/>)[+-] COMMENT?`; anything else is `None`.
fn header(line: &str) -> Option<Header<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let mut at = bytes.iter().take_while(|&&b| b == b' ').count();
    let mut parent = None;
    while bytes.get(at) == Some(&b'-') && matches!(bytes.get(at + 1), Some(b' ')) {
        parent = Some(at);
        at += 1;
        at += bytes[at..].iter().take_while(|&&b| b == b' ').count();
    }
    let mut key = None;
    if let Some((text, after)) = key_at(line, at) {
        parent = Some(at);
        key = Some(text);
        at = after;
    }
    let parent = parent?;
    let mut cuttable = true;
    // Properties: a tag (`!!str`, `!local`) or an anchor (`&name`).
    while let Some(&first @ (b'!' | b'&')) = bytes.get(at) {
        cuttable &= first != b'&';
        at += bytes[at..].iter().take_while(|&&b| b != b' ').count();
        at += bytes[at..].iter().take_while(|&&b| b == b' ').count();
    }
    let literal = match bytes.get(at) {
        Some(b'|') => true,
        Some(b'>') => false,
        _ => return None,
    };
    at += 1;
    for _ in 0..2 {
        match bytes.get(at) {
            Some(b'+' | b'-') => at += 1,
            Some(b'1'..=b'9') => {
                cuttable = false;
                at += 1;
            }
            _ => break,
        }
    }
    let rest = &line[at..];
    let rest_trimmed = rest.trim_start_matches(' ');
    let comment = rest_trimmed.starts_with('#') && rest_trimmed.len() < rest.len();
    if !(rest_trimmed.is_empty() || comment) {
        return None;
    }
    Some(Header {
        parent,
        key,
        cuttable,
        literal,
    })
}

/// A plain or quoted key at `at` followed by `: `, its text and the position after the blanks
/// that follow the colon. Keys with escapes, or plain keys holding what could start something
/// else, are `None`.
fn key_at(line: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = line.as_bytes();
    let (text, after_key) = match bytes.get(at)? {
        quote @ (b'"' | b'\'') => {
            let close = at + 1 + memchr::memchr(*quote, &bytes[at + 1..])?;
            let text = &line[at + 1..close];
            if text.contains('\\') || (*quote == b'\'' && bytes.get(close + 1) == Some(quote)) {
                return None;
            }
            (text, close + 1)
        }
        b'[' | b']' | b'{' | b'}' | b',' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%'
        | b'@' | b'`' | b'?' | b':' | b'-' => return None,
        _ => {
            let end = at + memchr::memmem::find(&bytes[at..], b": ")?;
            let text = &line[at..end];
            if text.contains(" #") || text.contains(['"', '\'', '[', '{', '\t']) {
                return None;
            }
            (text, end)
        }
    };
    if bytes.get(after_key) != Some(&b':') || bytes.get(after_key + 1) != Some(&b' ') {
        return None;
    }
    let after = after_key
        + 1
        + bytes[after_key + 1..]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
    Some((text.trim_end_matches(' '), after))
}

/// The end of the line starting at `at`, before its `\n`.
fn line_end(bytes: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i)
}

/// The start of the line after the one ending at `end`.
fn next_line(bytes: &[u8], end: usize) -> usize {
    (end + 1).min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::block_bodies;

    fn bodies(src: &str) -> Vec<&str> {
        block_bodies(src, |key, _, _| key == Some("image"))
            .into_iter()
            .map(|cut| &src[cut.body])
            .collect()
    }

    #[test]
    fn bodies_end_before_the_first_less_indented_line() {
        let src = "a: 1\nconfig: |\n  x: 1\n\n    deep\n  # text, not a comment\nnext: 2\n";
        assert_eq!(
            bodies(src),
            ["  x: 1\n\n    deep\n  # text, not a comment\n"]
        );
        let src = "list:\n  - |\n    one\n  - name: x\n    script: >-\n      two\n      three\n    after: 1\n";
        assert_eq!(bodies(src), ["    one\n", "      two\n      three\n"]);
    }

    #[test]
    fn trailing_blank_lines_and_crlf_go_with_the_body() {
        let src = "a: |-\r\n  x\r\n\r\n  \r\nb: 1\r\n";
        assert_eq!(bodies(src), ["  x\r\n\r\n  \r\n"]);
    }

    #[test]
    fn what_is_kept() {
        for src in [
            // A pin key, an anchor, an explicit indentation, a top-level block.
            "image: |\n  x:1\n",
            "a: &x |\n  text\nb: *x\n",
            "a: |2\n   text\n",
            "--- |\ntext\n",
            "|\n text\n",
            // An empty block: the next line is not indented past the key.
            "a:\n  b: |\n  c: 1\n",
            // A leading blank line indented past the content is an error to keep.
            "a: |\n     \n  x\n",
            // A lone carriage return is a line break to YAML.
            "a: |\r  x\r",
            // Not headers.
            "a: 'it is |'\n  x\n",
            "a: b |\n  x\n",
            "? |\n  x\n",
        ] {
            assert!(bodies(src).is_empty(), "{src:?}: {:?}", bodies(src));
        }
    }

    #[test]
    fn tags_comments_and_quoted_keys() {
        let src = "\"my key\": !!str |+ # note\n  text\nz: 1\n";
        assert_eq!(bodies(src), ["  text\n"]);
    }
}
