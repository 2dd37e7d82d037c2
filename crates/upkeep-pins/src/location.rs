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
        let offset = floor_char_boundary(self.text, offset);
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let mut prefix = &self.text[start..offset];
        if start == 0 {
            prefix = prefix.strip_prefix('\u{feff}').unwrap_or(prefix);
        }
        (line, prefix.chars().count() + 1)
    }
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
    use super::LineIndex;

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
