//! Byte offsets to 1-based line and column numbers.

/// Maps byte offsets of one text to 1-based line and column numbers.
///
/// Columns count characters (Unicode scalar values), not bytes, so they match what an editor
/// shows; a UTF-8 byte order mark at the start of the text is not counted.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text`.
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, line_starts }
    }

    /// The 1-based `(line, column)` of the byte `offset`; offsets past the end map to the end.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.text, &self.line_starts, offset)
    }
}

/// Like [`LineIndex`] for a text whose places are asked one by one (a folder's pins, in
/// the order they are found): the text is indexed only as far as the furthest offset asked,
/// so a pin near the top of a 2 MB values file costs the lines above it, not the file.
#[derive(Debug)]
pub(crate) struct LineCursor<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// The bytes before this were searched for line ends.
    indexed: usize,
}

impl<'a> LineCursor<'a> {
    /// A cursor over `text`, nothing indexed yet.
    pub(crate) fn new(text: &'a str) -> Self {
        LineCursor {
            text,
            line_starts: vec![0],
            indexed: 0,
        }
    }

    /// The 1-based `(line, column)` of the byte `offset`, as [`LineIndex::line_col`] gives it.
    pub(crate) fn line_col(&mut self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset);
        if offset > self.indexed {
            // A line starting at or before `offset` ends before it.
            let from = self.indexed;
            let ends = memchr::memchr_iter(b'\n', &self.text.as_bytes()[from..offset]);
            self.line_starts.extend(ends.map(|end| from + end + 1));
            self.indexed = offset;
        }
        line_col(self.text, &self.line_starts, offset)
    }
}

/// The 1-based `(line, column)` of `offset` in `text`, given the starts of its lines up to
/// `offset` at least.
fn line_col(text: &str, line_starts: &[usize], offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let line = line_starts.partition_point(|&start| start <= offset);
    let start = line_starts[line - 1];
    let mut prefix = &text[start..offset];
    if start == 0 {
        prefix = prefix.strip_prefix('\u{feff}').unwrap_or(prefix);
    }
    (line, prefix.chars().count() + 1)
}

/// The largest char boundary of `text` that is not after `offset`.
pub(crate) fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::{LineCursor, LineIndex};

    #[test]
    fn a_cursor_places_offsets_asked_in_any_order_as_the_index_does() {
        let texts = [
            "",
            "\n\n",
            "a\nb",
            "\u{feff}é = \"x\"\nkey: ü\r\n\n  image: \"nginx:1.2\"\n",
            "no line end at all, but ünïcödé",
        ];
        // A fixed-seed generator, so a failure repeats.
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize % bound
        };
        for text in texts {
            let index = LineIndex::new(text);
            let mut cursor = LineCursor::new(text);
            for _ in 0..200 {
                let offset = next(text.len() + 3);
                assert_eq!(
                    cursor.line_col(offset),
                    index.line_col(offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn counts_lines_and_columns_from_one() {
        let index = LineIndex::new("ab\ncd\r\nef");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(1), (1, 2));
        assert_eq!(index.line_col(3), (2, 1));
        assert_eq!(index.line_col(7), (3, 1));
        assert_eq!(index.line_col(100), (3, 3));
    }

    #[test]
    fn columns_count_characters_and_skip_the_bom() {
        let index = LineIndex::new("\u{feff}é = \"x\"");
        assert_eq!(index.line_col(3), (1, 1));
        assert_eq!(index.line_col(5), (1, 2));
        // An offset inside a multi-byte character maps to that character.
        assert_eq!(index.line_col(4), (1, 1));
    }
}
