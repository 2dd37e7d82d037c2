//! `lifecycle { ignore_changes = [...] }` read straight from the text when it is a plain list
//! of attribute paths, as nearly every one is: parsing it with hcl-edit cost a tenth of a
//! scan of a real repository (581 of them), so hcl-edit now sees only the irregular ones.

/// The attribute paths of an `ignore_changes` value written plainly: `all`, or a list of
/// traversals (`spec[0].template[0].metadata[0].labels["x"]`, `replicas`) and plain strings,
/// with blanks, newlines, comments and a trailing comma between them. The result is what
/// [`super::ignore_paths`] gives for the parsed expression; `None` when the text is anything
/// else, and the caller parses it.
pub(super) fn plain_ignore_paths(text: &str) -> Option<Vec<Vec<String>>> {
    if text == "all" {
        return Some(vec![Vec::new()]);
    }
    let mut lexer = Lexer {
        bytes: text.as_bytes(),
        at: 0,
    };
    lexer.expect(b'[')?;
    let mut paths = Vec::new();
    loop {
        lexer.skip_blank()?;
        if lexer.eat(b']') {
            break;
        }
        paths.push(lexer.path()?);
        lexer.skip_blank()?;
        if lexer.eat(b']') {
            break;
        }
        lexer.expect(b',')?;
    }
    (lexer.at == text.len()).then_some(paths)
}

struct Lexer<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Skips spaces, newlines and comments; `None` on a comment that never closes.
    fn skip_blank(&mut self) -> Option<()> {
        loop {
            match (self.peek(), self.bytes.get(self.at + 1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n'), _) => self.at += 1,
                (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => {
                    self.at = memchr::memchr(b'\n', &self.bytes[self.at..])
                        .map_or(self.bytes.len(), |end| self.at + end);
                }
                (Some(b'/'), Some(b'*')) => {
                    let close = memchr::memmem::find(&self.bytes[self.at + 2..], b"*/")?;
                    self.at += close + 4;
                }
                _ => return Some(()),
            }
        }
    }

    /// An identifier (letters, digits, `_`, `-`; not starting with a digit or `-`).
    fn identifier(&mut self) -> Option<&str> {
        let start = self.at;
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            return None;
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at]).ok()
    }

    /// A string without escapes or templates; its text.
    fn plain_string(&mut self) -> Option<&str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + memchr::memchr(b'"', &self.bytes[start..])?;
        let text = std::str::from_utf8(&self.bytes[start..end]).ok()?;
        if text.contains(['\\', '\n', '\r']) || text.contains("${") || text.contains("%{") {
            return None;
        }
        self.at = end + 1;
        Some(text)
    }

    /// One element of the list: a traversal's attribute names, or a string's dotted parts.
    fn path(&mut self) -> Option<Vec<String>> {
        if self.peek() == Some(b'"') {
            return Some(self.plain_string()?.split('.').map(str::to_owned).collect());
        }
        let mut names = vec![self.identifier()?.to_owned()];
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.at += 1;
                    names.push(self.identifier()?.to_owned());
                }
                // An index (`[0]`, `["key"]`, `[*]`) names no attribute.
                Some(b'[') => {
                    self.at += 1;
                    match self.peek()? {
                        b'"' => {
                            self.plain_string()?;
                        }
                        b'*' => self.at += 1,
                        b'0'..=b'9' => {
                            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                                self.at += 1;
                            }
                        }
                        _ => return None,
                    }
                    self.expect(b']')?;
                }
                _ => return Some(names),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ignore_paths;
    use super::plain_ignore_paths;

    /// The fast reading agrees with hcl-edit's wherever it gives an answer.
    fn agrees(text: &str) -> Option<Vec<Vec<String>>> {
        let fast = plain_ignore_paths(text);
        if let Some(fast) = &fast {
            let parsed = hcl_edit::parser::parse_expr(text).expect("valid expression");
            assert_eq!(fast, &ignore_paths(&parsed), "{text}");
        }
        fast
    }

    #[test]
    fn plain_lists_as_real_stacks_write_them() {
        let cases = [
            "all",
            "[]",
            "[metadata[0].labels]",
            "[metadata[0].labels[\"goldilocks.fairwinds.com/vpa-update-mode\"]]",
            "[\n  spec[0].template[0].spec[0].dns_config, # KYVERNO_LIFECYCLE_V1\n  metadata[0].annotations,\n]",
            "[\n  # comments before the first\n  // and slashes\n  /* and blocks */ replicas\n]",
            "[spec[*].x, \"spec.0.replicas\", var.x, a-b]",
        ];
        for text in cases {
            assert!(agrees(text).is_some(), "{text}");
        }
        assert_eq!(agrees("all"), Some(vec![Vec::new()]));
        assert_eq!(
            agrees("[a[0].b[\"c.d\"].e, f]"),
            Some(vec![
                vec!["a".into(), "b".into(), "e".into()],
                vec!["f".into()]
            ])
        );
    }

    #[test]
    fn anything_irregular_is_left_to_the_parser() {
        for text in [
            "[f(x)]",
            "[a.0]",
            "[\"${x}\"]",
            "[\"a\\\\b\"]",
            "[a[i]]",
            "[a] + [b]",
            "concat([a], [b])",
            "[a /* never closed",
            "[a b]",
            "[1]",
            "\"all\"",
            "[a,,b]",
        ] {
            assert_eq!(plain_ignore_paths(text), None, "{text}");
        }
    }
}
