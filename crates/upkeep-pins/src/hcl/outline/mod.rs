//! A fast outline of an HCL file: the tree of its blocks and attributes, with byte ranges.
//!
//! The outline does not parse expressions; it knows just enough lexical structure (strings
//! with `${…}` templates, heredocs, comments, brackets) to find where each item ends, and it
//! checks that every bracket closes with its own kind. It lets the scanner hand hcl-edit only
//! the pieces that can hold pins, and only pieces whose brackets are known to balance (hcl-edit
//! backtracks exponentially on some unbalanced input). Anything it does not understand makes
//! it give up (`None`), and the caller checks and parses the whole file instead.

use crate::bytes::byte_set;
use std::ops::Range;

mod constructors;
mod keys;

pub(super) use constructors::{list_elements, object_entries};
use keys::Keys;
pub(crate) use keys::{Duplicate, blank_overridden};

/// One item of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    /// `key = expression`.
    Attribute {
        /// The key.
        key: Range<usize>,
        /// The expression, without surrounding blanks or a trailing comment.
        expr: Range<usize>,
    },
    /// `ident "label" … { body }`.
    Block {
        /// The block type.
        ident: Range<usize>,
        /// The first label, quotes excluded, if any.
        label: Option<Range<usize>>,
        /// From the identifier to the closing brace, inclusive.
        whole: Range<usize>,
        /// Between the braces.
        body: Range<usize>,
        /// Where the items of the body are in [`Outline::children`].
        children: Range<usize>,
    },
}

/// The items of a file, all in one vector: the items of each body are contiguous, so a block
/// refers to its children by a range (one allocation per file, not one per block).
#[derive(Debug)]
pub(super) struct Outline {
    items: Vec<Item>,
    top: Range<usize>,
    /// Object entries that a later entry with the same key overrides.
    pub(super) duplicates: Vec<Duplicate>,
}

impl Outline {
    /// The top-level items of the file.
    pub(super) fn top(&self) -> &[Item] {
        &self.items[self.top.clone()]
    }

    /// The items of a block's body, by the block's `children` range.
    pub(super) fn children(&self, children: &Range<usize>) -> &[Item] {
        &self.items[children.clone()]
    }
}

/// How deep blocks and brackets may nest in a file the outline reads. hcl-edit refuses more
/// than 64 levels, counting conditionals, templates and operands too, and its pieces are
/// parsed from their own start: a file nested anywhere near that is left to the whole parse,
/// which judges it.
const MAX_DEPTH: usize = 32;

/// The outline of the body `src[start..]` (a whole file), or `None` when its structure is not
/// understood, its brackets do not balance, they nest deeper than [`MAX_DEPTH`] with the
/// blocks, or it holds a carriage return that ends no line (hcl-edit takes only `\n` and
/// `\r\n` for line ends; the outline would take it for one).
pub(super) fn outline(src: &str, start: usize) -> Option<Outline> {
    let bytes = src.as_bytes();
    if memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n')) {
        return None;
    }
    let mut lexer = Lexer::for_outline(src);
    let mut keys = Keys::default();
    let (top, end) = lexer.body(start, 0, &mut keys)?;
    (end == src.len()).then_some(Outline {
        items: lexer.items,
        top,
        duplicates: keys.duplicates,
    })
}

/// The bytes per item the lexer reserves room for, before it has read any.
const ITEM_BYTES: usize = 48;

/// The most items reserved before reading (a large file grows its vector as it must).
const MAX_RESERVED_ITEMS: usize = 8192;

struct Lexer<'a> {
    bytes: &'a [u8],
    /// The items of the bodies being read, innermost last.
    pending: Vec<Item>,
    /// The items of the bodies read completely.
    items: Vec<Item>,
}

/// The closers still expected inside one expression; on the stack, as nesting is bounded.
struct Brackets {
    closers: [u8; MAX_DEPTH],
    len: usize,
}

impl Brackets {
    fn new() -> Self {
        Brackets {
            closers: [0; MAX_DEPTH],
            len: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Opens a bracket at total nesting `depth + len`; `None` past [`MAX_DEPTH`].
    fn open(&mut self, opener: u8, depth: usize) -> Option<()> {
        if depth + self.len >= MAX_DEPTH {
            return None;
        }
        self.closers[self.len] = closer(opener);
        self.len += 1;
        Some(())
    }

    /// The closer the innermost open bracket expects.
    fn innermost(&self) -> Option<u8> {
        self.len.checked_sub(1).map(|i| self.closers[i])
    }

    /// Closes the innermost bracket with `byte`; `None` when it does not match.
    fn close(&mut self, byte: u8) -> Option<()> {
        if self.len == 0 || self.closers[self.len - 1] != byte {
            return None;
        }
        self.len -= 1;
        Some(())
    }
}

/// Whether two attributes among `items` have the same key.
fn repeats_a_key(bytes: &[u8], items: &[Item]) -> bool {
    let key = |item: &Item| match item {
        Item::Attribute { key, .. } => Some(&bytes[key.clone()]),
        Item::Block { .. } => None,
    };
    if items.len() < 2 {
        return false;
    }
    // Most bodies are small: comparing each key with those before it allocates nothing.
    if items.len() <= 16 {
        return items.iter().enumerate().any(|(i, item)| {
            key(item).is_some_and(|this| items[..i].iter().any(|other| key(other) == Some(this)))
        });
    }
    let mut keys: Vec<&[u8]> = items.iter().filter_map(key).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

/// Bytes that end a run of plain expression text.
const EXPRESSION_SPECIAL: [bool; 256] = byte_set(b"\n\r#/\"<([{)]}, \t");

/// Bytes that end a run of plain string text.
const STRING_SPECIAL: [bool; 256] = byte_set(b"\\\"\n$%");

/// Bytes that cannot continue an identifier (all but ASCII letters, digits, `_` and `-`).
const NOT_IDENTIFIER: [bool; 256] = {
    let mut set = [true; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            set[b] = false;
        }
        b += 1;
    }
    set
};

/// What ends an expression outside any bracket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// A body attribute: a newline, a comment, or the `}` closing the body.
    LineEnd,
    /// An object entry: the same or a `,`.
    EntryEnd,
    /// An element of a list or an argument of a call: a `,` or the closing bracket; newlines
    /// and comments are blanks.
    ListSeparator,
}

/// The closing bracket of an opening one.
fn closer(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

impl Lexer<'_> {
    /// A lexer for outlining the whole of `src`, its item vectors sized for the file.
    fn for_outline(src: &str) -> Lexer<'_> {
        // Terraform files hold an attribute or a block per 60 bytes or so (the median file of
        // the user's repository; one per 37 bytes at the 10th percentile): sized once, the
        // items are not copied again each time they outgrow their vector.
        let items = (src.len() / ITEM_BYTES).min(MAX_RESERVED_ITEMS);
        Lexer {
            bytes: src.as_bytes(),
            pending: Vec::with_capacity(16),
            items: Vec::with_capacity(items),
        }
    }

    /// A lexer for delimiting expressions in `src`, which records no items and so allocates
    /// nothing: the constructors' readers make one per value they walk.
    fn for_expressions(src: &str) -> Lexer<'_> {
        Lexer {
            bytes: src.as_bytes(),
            pending: Vec::new(),
            items: Vec::new(),
        }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    /// The position of the first byte from `at` that is in `special`, or the end of input.
    fn skip_plain(&self, at: usize, special: &[bool; 256]) -> usize {
        self.bytes[at..]
            .iter()
            .position(|&b| special[usize::from(b)])
            .map_or(self.bytes.len(), |offset| at + offset)
    }

    /// Moves the items of the body begun at `mark` to [`Lexer::items`]; `None` when two of
    /// its attributes have the same key, which the parser (and Terraform) refuses.
    fn finish(&mut self, mark: usize) -> Option<Range<usize>> {
        if repeats_a_key(self.bytes, &self.pending[mark..]) {
            return None;
        }
        let start = self.items.len();
        self.items.extend(self.pending.drain(mark..));
        Some(start..self.items.len())
    }

    /// The range of the items of a body starting at `at` (see [`Outline::children`]), and the
    /// position of the `}` that closes it (`depth > 0`) or of the end of the input (`depth == 0`).
    /// The keys of the object constructors in its attributes are noted in `keys`.
    fn body(
        &mut self,
        mut at: usize,
        depth: usize,
        keys: &mut Keys,
    ) -> Option<(Range<usize>, usize)> {
        let mark = self.pending.len();
        loop {
            at = self.skip_blank(at, true)?;
            match self.byte(at) {
                None if depth == 0 => return Some((self.finish(mark)?, at)),
                Some(b'}') if depth > 0 => return Some((self.finish(mark)?, at)),
                None | Some(b'}') => return None,
                Some(_) => {}
            }
            let key_end = self.identifier(at)?;
            let key = at..key_end;
            at = self.skip_blank(key_end, false)?;
            if self.byte(at) == Some(b'=') && self.byte(at + 1) != Some(b'=') {
                let start = self.skip_blank(at + 1, false)?;
                let end = self.expression(start, depth, Until::LineEnd, Some(keys))?;
                if end <= start {
                    return None;
                }
                self.pending.push(Item::Attribute {
                    key,
                    expr: start..end,
                });
                at = end;
            } else {
                let mut label = None;
                while self.byte(at) != Some(b'{') {
                    let (label_start, label_end) = match self.byte(at)? {
                        b'"' => (at + 1, self.string(at + 1, depth)?),
                        _ => (at, self.identifier(at)?),
                    };
                    let text_end = if self.byte(at) == Some(b'"') {
                        label_end - 1
                    } else {
                        label_end
                    };
                    label.get_or_insert(label_start..text_end);
                    at = self.skip_blank(label_end, false)?;
                }
                if depth + 1 > MAX_DEPTH {
                    return None;
                }
                let (children, close) = self.body(at + 1, depth + 1, keys)?;
                self.pending.push(Item::Block {
                    ident: key.clone(),
                    label,
                    whole: key.start..close + 1,
                    body: at + 1..close,
                    children,
                });
                at = close + 1;
            }
            // An item ends at a newline, a comment, or the brace closing a one-line block.
            let next = self.skip_blank(at, false)?;
            match self.byte(next) {
                None | Some(b'\n' | b'\r' | b'#') => {}
                Some(b'/') if self.byte(next + 1) == Some(b'/') => {}
                Some(b'}') if depth > 0 => {}
                Some(_) => return None,
            }
            at = next;
        }
    }

    /// Skips spaces and comments, and newlines too when `newlines`.
    #[inline]
    fn skip_blank(&self, mut at: usize, newlines: bool) -> Option<usize> {
        loop {
            match self.byte(at) {
                Some(b' ' | b'\t') => at += 1,
                Some(b'\n' | b'\r') if newlines => at += 1,
                Some(b'#') if newlines => at = self.line_end(at),
                Some(b'/') if newlines && self.byte(at + 1) == Some(b'/') => at = self.line_end(at),
                Some(b'/') if self.byte(at + 1) == Some(b'*') => {
                    let close = memchr::memmem::find(&self.bytes[at + 2..], b"*/")?;
                    at += close + 4;
                }
                _ => return Some(at),
            }
        }
    }

    fn line_end(&self, at: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[at..]).map_or(self.bytes.len(), |i| at + i)
    }

    fn identifier(&self, at: usize) -> Option<usize> {
        let first = self.byte(at)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        Some(self.skip_plain(at + 1, &NOT_IDENTIFIER))
    }

    /// The end of the expression starting at `at`: the last byte before what ends it outside
    /// any bracket (see [`Until`]). Brackets must close with their kind. With `keys`, the keys
    /// of its object constructors are noted.
    fn expression(
        &self,
        mut at: usize,
        depth: usize,
        until: Until,
        mut keys: Option<&mut Keys>,
    ) -> Option<usize> {
        let mut open = Brackets::new();
        let mut last = at;
        let lines = until != Until::ListSeparator;
        // An object entry may start at the next token (after `{`, `,` or a line break directly
        // inside an object whose keys are noted).
        let mut entry_next = false;
        loop {
            let Some(byte) = self.byte(at) else {
                return open.is_empty().then_some(last);
            };
            let outside = open.is_empty();
            if entry_next && !matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'#' | b'/' | b'}') {
                entry_next = false;
                if let Some(keys) = keys.as_deref_mut() {
                    keys.entry(self, at);
                }
            }
            match byte {
                b'\n' | b'\r' | b'#' if outside && lines => return Some(last),
                b'/' if outside && lines && self.byte(at + 1) == Some(b'/') => return Some(last),
                b'}' if outside => return Some(last),
                b',' if outside && until != Until::LineEnd => return Some(last),
                b')' | b']' if outside && until == Until::ListSeparator => return Some(last),
                b'#' => at = self.line_end(at),
                b'/' if self.byte(at + 1) == Some(b'/') => at = self.line_end(at),
                b'/' if self.byte(at + 1) == Some(b'*') => at = self.skip_blank(at, false)?,
                b'"' => {
                    at = self.string(at + 1, depth + open.len)?;
                    last = at;
                }
                b'<' if self.byte(at + 1) == Some(b'<') => {
                    at = self.heredoc(at + 2)?;
                    last = at;
                }
                b'(' | b'[' | b'{' => {
                    open.open(byte, depth)?;
                    if byte == b'{'
                        && let Some(keys) = keys.as_deref_mut()
                    {
                        keys.open();
                        entry_next = true;
                    }
                    at += 1;
                    last = at;
                }
                b')' | b']' | b'}' => {
                    open.close(byte)?;
                    if byte == b'}'
                        && let Some(keys) = keys.as_deref_mut()
                    {
                        keys.close(self.bytes, at);
                    }
                    entry_next = false;
                    at += 1;
                    last = at;
                }
                b',' | b'\n' => {
                    entry_next = keys.is_some() && open.innermost() == Some(b'}');
                    at += 1;
                    if byte == b',' {
                        last = at;
                    }
                }
                b' ' | b'\t' | b'\r' => at += 1,
                _ => {
                    at = self.skip_plain(at + 1, &EXPRESSION_SPECIAL);
                    last = at;
                }
            }
        }
    }

    /// The position after the quote closing a string whose content starts at `at`.
    fn string(&self, mut at: usize, depth: usize) -> Option<usize> {
        loop {
            match self.byte(at)? {
                b'\\' => at += 2,
                b'"' => return Some(at + 1),
                b'\n' => return None,
                b'$' | b'%'
                    if self.byte(at + 1) == Some(self.bytes[at])
                        && self.byte(at + 2) == Some(b'{') =>
                {
                    at += 3;
                }
                b'$' | b'%' if self.byte(at + 1) == Some(b'{') => {
                    at = self.interpolation(at + 2, depth + 1)?
                }
                _ => at = self.skip_plain(at + 1, &STRING_SPECIAL),
            }
        }
    }

    /// The position after the `}` closing a `${` or `%{` sequence whose content starts at `at`,
    /// `depth` levels deep; `None` past [`MAX_DEPTH`] (strings and templates nest by recursion).
    fn interpolation(&self, mut at: usize, depth: usize) -> Option<usize> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let mut open = Brackets::new();
        loop {
            let byte = self.byte(at)?;
            match byte {
                b'"' => at = self.string(at + 1, depth + open.len)?,
                b'}' if open.is_empty() => return Some(at + 1),
                b'{' | b'(' | b'[' => {
                    open.open(byte, depth)?;
                    at += 1;
                }
                b'}' | b')' | b']' => {
                    open.close(byte)?;
                    at += 1;
                }
                _ => at += 1,
            }
        }
    }

    /// The position after the closing delimiter of a heredoc whose `<<` ends at `at`.
    fn heredoc(&self, at: usize) -> Option<usize> {
        let start = if self.byte(at) == Some(b'-') {
            at + 1
        } else {
            at
        };
        let name_end = self.identifier(start)?;
        let name = &self.bytes[start..name_end];
        let mut line = match self.byte(name_end)? {
            b'\n' => name_end + 1,
            b'\r' if self.byte(name_end + 1) == Some(b'\n') => name_end + 2,
            _ => return None,
        };
        while line < self.bytes.len() {
            let end = self.line_end(line);
            if self.bytes[line..end].trim_ascii() == name {
                return Some(line + self.bytes[line..end].trim_ascii_end().len());
            }
            line = end + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Item, Outline, outline};

    fn render(src: &str, outline: &Outline, items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Item::Attribute { key, expr } => {
                    format!("{}={}", &src[key.clone()], &src[expr.clone()])
                }
                Item::Block {
                    ident,
                    label,
                    children,
                    ..
                } => {
                    let label = label.clone().map(|l| src[l].to_owned()).unwrap_or_default();
                    format!(
                        "{}[{label}]{{{}}}",
                        &src[ident.clone()],
                        render(src, outline, outline.children(children)).join(";")
                    )
                }
            })
            .collect()
    }

    fn items(src: &str) -> Vec<String> {
        let outline = outline(src, 0).expect("outline");
        render(src, &outline, outline.top())
    }

    #[test]
    fn attributes_end_at_newline_comment_or_brace() {
        let src = "a = 1 # one\nb = { x = [1,\n 2] } // two\nc { d = \"}\" }\n";
        assert_eq!(items(src), ["a=1", "b={ x = [1,\n 2] }", "c[]{d=\"}\"}"]);
    }

    #[test]
    fn nested_blocks_form_a_tree() {
        let src = "resource \"k\" \"n\" {\n  spec {\n    image = \"a:1\"\n  }\n  lifecycle { ignore_changes = all }\n}\n";
        assert_eq!(
            items(src),
            ["resource[k]{spec[]{image=\"a:1\"};lifecycle[]{ignore_changes=all}}"]
        );
    }

    #[test]
    fn templates_with_nested_strings_and_escapes() {
        let src = "image = \"x:${lookup(var.m, \"k}\")}-$${y}\"\nz = 1\n";
        assert_eq!(
            items(src),
            ["image=\"x:${lookup(var.m, \"k}\")}-$${y}\"", "z=1"]
        );
    }

    #[test]
    fn heredocs_with_braces_inside() {
        let src = "resource \"k\" \"n\" {\n  data = <<-EOT\n    { not: closed\n  EOT\n  image = \"a:1\"\n}\n";
        assert_eq!(
            items(src),
            ["resource[k]{data=<<-EOT\n    { not: closed\n  EOT;image=\"a:1\"}"]
        );
    }

    #[test]
    fn labels_and_crlf() {
        let src = "variable \"v\" {\r\n  default = \"1\"\r\n}\r\nlocals {\r\n}\r\n";
        assert_eq!(items(src), ["variable[v]{default=\"1\"}", "locals[]{}"]);
    }

    /// The parser refuses a body that sets an attribute twice; so must the outline, or the
    /// default scan would report pins of a file that Terraform and a strict scan refuse.
    #[test]
    fn an_attribute_set_twice_in_one_body_is_refused_as_the_parser_refuses_it() {
        // Small bodies are compared key by key, large ones sorted: both are tried.
        let many: String = (0..20).map(|i| format!("  k{i} = 1\n")).collect();
        let large = format!("locals {{\n{many}  k7 = 2\n}}\n");
        for src in [
            "resource \"k\" \"n\" {\n  image = \"a/b:1.0\"\n  image = \"a/b:2.0\"\n}\n",
            "locals {\n  a = 1\n  b = 2\n  a = 3\n}\n",
            "a = 1\nb { c = 1 }\na = 2\n",
            "x {\n  y {\n    k = 1\n    k = 1\n  }\n}\n",
            &large,
        ] {
            assert!(outline(src, 0).is_none(), "{src}");
            assert!(super::super::parse_text(src).is_err(), "{src}");
        }
        // A block may share a name with an attribute, and the same block may repeat.
        let src = "set = 1\nset { a = 1 }\nset { a = 2 }\n";
        assert_eq!(items(src), ["set=1", "set[]{a=1}", "set[]{a=2}"]);
        assert!(super::super::parse_text(src).is_ok());
        let unique = format!("locals {{\n{many}}}\n");
        assert!(outline(&unique, 0).is_some());
    }

    #[test]
    fn gives_up_on_what_it_does_not_understand_or_cannot_balance() {
        let cases = [
            "resource \"a\" {\n",
            "x = \"open\n",
            "= 1\n",
            "a b = 1\n",
            "a { } b\n",
            "x = <<EOT\nnever closed\n",
            "x = [1, 2)\n",
            "x = \"${f(1}\"\n",
            "}\n",
            "x = (1]\n",
        ];
        for src in cases {
            assert!(outline(src, 0).is_none(), "{src:?}");
        }
    }

    /// Templates nest by recursion (`"${"${"…`): a file of 6 MB of them overflowed the stack.
    #[test]
    fn templates_nested_past_the_bound_give_up_without_overflowing() {
        let src = format!("x = \"{}\n", "${\"".repeat(200_000));
        assert!(outline(&src, 0).is_none());
        assert!(super::super::parse(&src, super::super::Flavor::Terraform, false).is_err());
        let within = format!("x = {}1{}\n", "\"${".repeat(20), "}\"".repeat(20));
        assert!(outline(&within, 0).is_some());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("x = {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(outline(&deep, 0).is_none());
    }

    /// The constructors' readers make a lexer per value they walk: sized for the whole file,
    /// as the outline's is, they reserved 43 MB of item vectors a scan of the user's
    /// repository that none of them used.
    #[test]
    fn a_lexer_for_expressions_reserves_nothing_however_long_the_file() {
        let src = "x = 1\n".repeat(100_000);
        let lexer = super::Lexer::for_expressions(&src);
        assert_eq!((lexer.items.capacity(), lexer.pending.capacity()), (0, 0));
        assert!(super::Lexer::for_outline(&src).items.capacity() > 0);
    }
}
