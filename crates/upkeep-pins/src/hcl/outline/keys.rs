//! Keys an object constructor repeats. Terraform accepts `{ a = 1, a = 2 }` (the last value
//! wins); hcl-edit refuses it. The outline notes every repeated key while it delimits
//! expressions, so the earlier entries can be blanked out before hcl-edit sees the text, and
//! each one reported.

use super::Lexer;
use std::ops::Range;

/// An object entry that a later entry with the same key overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// The overridden key as written (quotes included).
    pub ignored: Range<usize>,
    /// The overridden entry, from its key to the next entry: the bytes to blank out.
    pub entry: Range<usize>,
    /// The key that wins, as written.
    pub winner: Range<usize>,
}

/// An object constructor being lexed.
struct Frame {
    /// Where its entries start in [`Keys::entries`].
    first: usize,
    /// A `{ for … }` comprehension: it has no keys.
    comprehension: bool,
}

/// One entry: where it starts (its key as written) and the key's text without quotes, when
/// the key is a plain name (`(expr) = …` keys are not compared).
struct Entry {
    key: Range<usize>,
    name: Option<Range<usize>>,
}

/// The object keys met while lexing expressions.
#[derive(Default)]
pub(crate) struct Keys {
    frames: Vec<Frame>,
    entries: Vec<Entry>,
    /// The overridden entries found so far, in file order of their object's end.
    pub duplicates: Vec<Duplicate>,
}

impl Keys {
    /// An object constructor opens at the `{` before `at`.
    pub(super) fn open(&mut self) {
        self.frames.push(Frame {
            first: self.entries.len(),
            comprehension: false,
        });
    }

    /// The innermost object closes with the `}` at `close`; its repeated keys are recorded.
    pub(super) fn close(&mut self, src: &[u8], close: usize) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let entries = &self.entries[frame.first..];
        for (i, entry) in entries.iter().enumerate() {
            let Some(name) = entry.name.clone().map(|name| &src[name]) else {
                continue;
            };
            let Some(winner) = entries[i + 1..]
                .iter()
                .rev()
                .find(|later| later.name.clone().is_some_and(|later| &src[later] == name))
            else {
                continue;
            };
            let end = entries.get(i + 1).map_or(close, |next| next.key.start);
            self.duplicates.push(Duplicate {
                ignored: entry.key.clone(),
                entry: entry.key.start..end,
                winner: winner.key.clone(),
            });
        }
        self.entries.truncate(frame.first);
    }

    /// An entry of the innermost object starts at `at`: notes its key (an identifier or a plain
    /// quoted string followed by `=` or `:`), or that it has a key of another form.
    pub(super) fn entry(&mut self, lexer: &Lexer<'_>, at: usize) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if frame.comprehension {
            return;
        }
        if lexer.bytes[at..].starts_with(b"for")
            && matches!(lexer.byte(at + 3), Some(b' ' | b'\t' | b'\n' | b'\r'))
        {
            frame.comprehension = true;
            return;
        }
        let name = key_name(lexer, at);
        self.entries.push(Entry {
            key: at..name.as_ref().map_or(at + 1, |(_, end)| *end),
            name: name.map(|(name, _)| name),
        });
    }
}

/// The text of the key of an entry starting at `at` (quotes excluded) and where the key ends,
/// when it is an identifier or a plain quoted string followed by `=` or `:`.
fn key_name(lexer: &Lexer<'_>, at: usize) -> Option<(Range<usize>, usize)> {
    let (name, end) = match lexer.byte(at)? {
        b'"' => {
            let end = lexer.string(at + 1, 0)?;
            let name = at + 1..end - 1;
            let plain = !lexer.bytes[name.clone()]
                .iter()
                .any(|b| matches!(b, b'\\' | b'$' | b'%'));
            (plain.then_some(name)?, end)
        }
        _ => {
            let end = lexer.identifier(at)?;
            (at..end, end)
        }
    };
    let after = lexer.skip_blank(end, false)?;
    match (lexer.byte(after)?, lexer.byte(after + 1)) {
        (b'=', Some(b'=' | b'>')) => None,
        (b'=' | b':', _) => Some((name, end)),
        _ => None,
    }
}

/// `src` with every overridden entry blanked: each of its bytes but line breaks becomes a
/// space, so offsets, lines and columns stay where they were.
pub(crate) fn blank_overridden(src: &str, duplicates: &[Duplicate]) -> String {
    let mut bytes = src.as_bytes().to_vec();
    for duplicate in duplicates {
        for byte in &mut bytes[duplicate.entry.clone()] {
            if !matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
    }
    // Whole characters were replaced by ASCII spaces, so the text is still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| src.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::outline;
    use super::blank_overridden;

    /// `(ignored key, winning key)` of each repeated key, and the text with them blanked.
    fn repeated(src: &str) -> (Vec<(String, String)>, String) {
        let duplicates = outline(src, 0).expect("outline").duplicates;
        let pairs = duplicates
            .iter()
            .map(|d| {
                (
                    src[d.ignored.clone()].to_owned(),
                    src[d.winner.clone()].to_owned(),
                )
            })
            .collect();
        (pairs, blank_overridden(src, &duplicates))
    }

    #[test]
    fn the_last_of_a_repeated_key_wins_and_the_others_are_blanked() {
        let src = "x = {\n  a = 1 # one\n  \"b\" = 2\n  \"a\" : { c = 3, c = 4 }\n}\n";
        let (pairs, blanked) = repeated(src);
        assert_eq!(
            pairs,
            [("c", "c"), ("a", "\"a\"")].map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert_eq!(
            blanked,
            format!(
                "x = {{\n{}\n  \"b\" = 2\n  \"a\" : {{{}c = 4 }}\n}}\n",
                " ".repeat(13),
                " ".repeat(8)
            )
        );
        assert_eq!(blanked.len(), src.len());
    }

    #[test]
    fn keys_of_other_forms_bound_the_blanked_entry() {
        let (pairs, blanked) = repeated("x = { a = 1, (k) = 2, a = 3 }\n");
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            blanked,
            format!("x = {{{}(k) = 2, a = 3 }}\n", " ".repeat(8))
        );
    }

    #[test]
    fn comprehensions_blocks_and_distinct_keys_are_not_repeats() {
        let cases = [
            "x = { for k, v in m : k => v if v == 1 }\n",
            "x = { a = { a = 1 }, b = [{ a = 2 }, { a = 3 }] }\n",
            "block { a = 1 }\nblock { a = 1 }\n",
            "x = { a = b == c ? { d = 1 } : { d = 2 } }\n",
            "x = \"${ { a = 1, a = 2 } }\"\n",
        ];
        for src in cases {
            assert!(repeated(src).0.is_empty(), "{src:?}");
        }
    }
}
