//! The bodies of block scalars (`config: |` and the lines below it) and of large nested
//! collections (`serverFiles:` and the thousands of lines of alerting rules below it), found
//! lexically so the YAML parser need not read them: saphyr-parser reads a block scalar one
//! character at a time, and one 2.4 MB `config: |` of a real values file cost a quarter of a
//! scan of its repository; a 270 KB values file of alerting rules cost more than 200 `.tf` files.
//!
//! Finding them is a guess that the parse confirms (see `super::parse`): a body is only
//! left out where the parser, reading the text without it, finds an empty block scalar (or,
//! for a collection, an empty value after its key) ending exactly where the body was. If any
//! guess is not confirmed, the caller reads the whole text. What a guess cannot show is a body
//! cut too long, so the extent follows YAML's rule exactly and every doubt keeps the body in:
//! the block's parent indentation is the column of its key (or of the `-` before it), the
//! content indentation that of the first line that is not blank, and the body ends before the
//! first line that is not blank and is less indented. A collection's body is the lines below
//! its key indented past it (and comment lines, which mean nothing): YAML reads every one of
//! them as part of the key's value.

use std::ops::Range;

/// A collection body shorter than this is read: leaving it out saves less than judging it costs.
const MIN_COLLECTION: usize = 2048;

/// Collections whose key is further right than this column are not judged: judging a collection
/// that is kept reads its body, and then each collection in it is judged, so nesting `n` deep
/// costs `n` readings of the text; this bounds `n` (large bodies sit near the left anyway).
const MAX_COLLECTION_COLUMN: usize = 8;

/// A body left out of the text the parser reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cut {
    /// Whole lines of the file, from the line after the header to the end of the body.
    pub body: Range<usize>,
    /// What the body is the value of.
    pub kind: Body,
}

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Body {
    /// A literal block scalar's (`|`).
    Literal,
    /// A folded block scalar's (`>`).
    Folded,
    /// A collection's, below a key with nothing after it on its line (`key:`).
    Collection,
}

/// The bodies of `src`'s block scalars and collections that can be left out: those `keep`
/// does not ask to keep (given the key, what the body is, and the body), nested in a mapping
/// or sequence. A block scalar's without an anchor (an alias could use its value elsewhere) or
/// an explicit indentation (`|2`); a collection's of [`MIN_COLLECTION`] bytes or more that may
/// define no anchor (one could be used elsewhere; see [`may_define_anchor`]), its key at column
/// [`MAX_COLLECTION_COLUMN`] or less. Sorted, disjoint. Empty for text with a
/// carriage return that ends no line (YAML reads it as a line break).
pub(super) fn block_bodies(src: &str, keep: impl Fn(Option<&str>, Body, &str) -> bool) -> Vec<Cut> {
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
            if let Some((parent, key)) =
                collection_header(line).filter(|&(parent, _)| parent <= MAX_COLLECTION_COLUMN)
            {
                let body_end = collection_end(bytes, at, parent);
                let body = &src[at..body_end];
                if body.len() >= MIN_COLLECTION
                    && !may_define_anchor(body)
                    && !keep(Some(key), Body::Collection, body)
                {
                    cuts.push(Cut {
                        body: at..body_end,
                        kind: Body::Collection,
                    });
                    at = body_end;
                }
                // Else its lines are looked at one by one, for smaller bodies in it.
            }
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
            && !keep(header.key, header.body, &src[body_start..body_end]);
        if safe {
            cuts.push(Cut {
                body: body_start..body_end,
                kind: header.body,
            });
        }
    }
    cuts
}

/// Whether `body` may define an anchor, which an alias elsewhere could use: an `&` where a
/// node's properties can start (a line's start, after a blank, a colon or a flow indicator),
/// followed by a character an anchor's name can start with. An `&` inside a scalar
/// (`"Networking & Access"`, `a && b` in a script) that looks like one counts too; one followed
/// by a blank cannot start a name.
fn may_define_anchor(body: &str) -> bool {
    let bytes = body.as_bytes();
    memchr::memchr_iter(b'&', bytes).any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 1).copied();
        matches!(
            before,
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':')
        ) && !matches!(
            after,
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'[' | b']' | b'{' | b'}' | b',')
        )
    })
}

/// A line that ends with a block scalar indicator.
struct Header<'a> {
    /// The column the body must be indented past.
    parent: usize,
    /// The key whose value the block is, if any.
    key: Option<&'a str>,
    /// No anchor, no explicit indentation.
    cuttable: bool,
    /// [`Body::Literal`] (`|`) or [`Body::Folded`] (`>`).
    body: Body,
}

/// Reads `INDENT (- )* (KEY: )? PROPERTIES? (|/>)[+-] COMMENT?`; anything else is `None`.
fn header(line: &str) -> Option<Header<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let (mut at, mut parent) = node_start(bytes);
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
    let body = match bytes.get(at) {
        Some(b'|') => Body::Literal,
        Some(b'>') => Body::Folded,
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
        body,
    })
}

/// Reads `INDENT (- )* KEY:` and blanks, a key whose value is on the lines below: the column
/// of the key and the key. Anything else (a value, a comment, properties) is `None`.
fn collection_header(line: &str) -> Option<(usize, &str)> {
    let line = line
        .strip_suffix('\r')
        .unwrap_or(line)
        .trim_end_matches(' ');
    if !line.ends_with(':') {
        return None;
    }
    let (at, _) = node_start(line.as_bytes());
    let (key, after) = key_at(line, at)?;
    (after == line.len()).then_some((at, key))
}

/// Where a line's node starts, past its indentation and sequence dashes (`  - - `), and the
/// column of the last dash, if any.
fn node_start(bytes: &[u8]) -> (usize, Option<usize>) {
    let mut at = bytes.iter().take_while(|&&b| b == b' ').count();
    let mut dash = None;
    while bytes.get(at) == Some(&b'-') && matches!(bytes.get(at + 1), Some(b' ')) {
        dash = Some(at);
        at += 1;
        at += bytes[at..].iter().take_while(|&&b| b == b' ').count();
    }
    (at, dash)
}

/// The end of the body of a collection whose key is at column `parent`, its lines starting at
/// `at`: blank lines, comment lines and lines indented past the key; trailing blank and
/// comment lines go with it.
fn collection_end(bytes: &[u8], mut at: usize, parent: usize) -> usize {
    while at < bytes.len() {
        let end = line_end(bytes, at);
        let line = &bytes[at..end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line[indent..].iter().all(|&b| b == b'\r');
        if !(blank || line[indent] == b'#' || indent > parent) {
            break;
        }
        at = next_line(bytes, end);
    }
    at
}

/// A plain or quoted key at `at` followed by `: ` (or by `:` ending the line), its text and the
/// position after the blanks that follow the colon. Keys with escapes, or plain keys holding
/// what could start something else, are `None`.
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
            let end = match memchr::memmem::find(&bytes[at..], b": ") {
                Some(i) => at + i,
                None => line
                    .len()
                    .checked_sub(1)
                    .filter(|&end| line.ends_with(':') && end > at)?,
            };
            let text = &line[at..end];
            if text.contains(" #") || text.contains(['"', '\'', '[', '{', '\t']) {
                return None;
            }
            (text, end)
        }
    };
    if bytes.get(after_key) != Some(&b':') || !matches!(bytes.get(after_key + 1), Some(b' ') | None)
    {
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
        block_bodies(src, |key, _, body| {
            key == Some("image") || body.contains("image")
        })
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

    /// `lines` lines of alerting rules under `indent` (about 22 bytes a line and the indent).
    fn rules(indent: &str, lines: usize) -> String {
        let rule = "- alert: Down\n  expr: up{job=\"a\"} == 0\n  annotations:\n    summary: a target is down\n";
        let mut text = String::new();
        for line in rule.lines().cycle().take(lines) {
            text.push_str(indent);
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    #[test]
    fn a_large_collection_whose_keys_cannot_be_pins_is_a_body() {
        let body = rules("    ", 120);
        let src = format!(
            "server:\n  image: a/b:1\nserverFiles:\n  rules:\n{body}# a comment\n\nnext: 1\n"
        );
        let cut = format!("  rules:\n{body}# a comment\n\n");
        assert_eq!(bodies(&src), [cut.as_str()]);
        // Under a dash, the key's column is the parent.
        let src = format!("groups:\n- name: x\n  rules:\n{body}- name: y\n");
        assert_eq!(bodies(&src), [body.as_str()]);
        let cuts = super::block_bodies(&src, |_, _, _| false);
        assert_eq!(cuts[0].kind, super::Body::Collection);
    }

    #[test]
    fn collections_that_are_read() {
        let body = rules("  ", 120);
        for src in [
            // A pin's key, a pin in it, an anchor in it, too small.
            format!("image:\n{body}"),
            format!("a:\n{body}  image: x\n"),
            format!("a:\n{body}  b: &x 1\n"),
            format!("a:\n{}", rules("  ", 4)),
            // A value, a comment or properties on the key's line.
            format!("a: 1\n{body}"),
            format!("a: # c\n{body}"),
            format!("a: !!map\n{body}"),
            // A sequence at the key's own column: the body ends before it.
            format!("a:\n{}", rules("", 120)),
            // Not a key a line can hold alone.
            format!("'a'b:\n{body}"),
            format!("a: b:\n{body}"),
            format!("[a]:\n{body}"),
        ] {
            assert!(bodies(&src).is_empty(), "{src:?}: {:?}", bodies(&src));
        }
    }

    /// An `&` that cannot start an anchor (`&` then a blank) keeps no collection; one that
    /// may does, wherever it stands. So do the colons of quoted annotations, which name no key.
    #[test]
    fn only_what_may_be_an_anchor_keeps_a_collection() {
        let body = rules("  ", 120);
        for text in [
            "  - name: \"Networking & Access\"\n",
            "  - summary: \"{{ $labels.pod }}: down\"\n",
            "  - run: a & b\n",
            "  - run: \"&x\"\n",
        ] {
            let src = format!("a:\n{body}{text}");
            assert_eq!(bodies(&src), [format!("{body}{text}")], "{text:?}");
        }
        for text in [
            "  - b: &x 1\n",
            "  - [&x 1]\n",
            "  - {\"a\":&x 1}\n",
            "  - run: a && b\n",
        ] {
            let src = format!("a:\n{body}{text}");
            assert!(bodies(&src).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn collections_right_of_the_column_limit_are_not_judged() {
        // `a` to `e` hold the image and are kept; `f`, which does not, is right of the limit.
        let body = rules(&" ".repeat(12), 120);
        let src = format!(
            "a:\n  b:\n    c:\n      d:\n        e:\n          image: x\n          f:\n{body}"
        );
        let cuts = super::block_bodies(&src, |_, _, body| body.contains("image"));
        assert_eq!(cuts, []);
        let src = src.replace("          ", "        ");
        assert_eq!(
            super::block_bodies(&src, |_, _, body| body.contains("image")).len(),
            1
        );
    }

    #[test]
    fn a_collection_that_is_read_is_looked_into() {
        let body = rules("    ", 120);
        let src = format!("a:\n  image: x\n  b:\n{body}  c: >\n    text\n");
        assert_eq!(bodies(&src), [body.as_str(), "    text\n"]);
    }

    #[test]
    fn tags_comments_and_quoted_keys() {
        let src = "\"my key\": !!str |+ # note\n  text\nz: 1\n";
        assert_eq!(bodies(src), ["  text\n"]);
    }
}
