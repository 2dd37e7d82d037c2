//! The text the YAML parser reads: a template's `%{ … }` directives taken out (and, outside
//! `--strict`, the bodies of block scalars and large collections that cannot hold a pin), and a
//! map from the parser's character positions back to bytes of the file.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

/// A file's text with its template directives removed, and where each kept run came from.
pub(super) struct Stripped<'a> {
    /// What the YAML parser reads: the file's own text when nothing was removed (a 2.4 MB
    /// values file is not copied to be read).
    pub text: Cow<'a, str>,
    /// Runs of `text` copied from the file: `(start in text, start in the file)`, in order.
    runs: Vec<(usize, usize)>,
    /// Byte offset in `text` of every [`CHECKPOINT`]th character; empty when `text` is ASCII.
    /// Made when the first position is asked: a text whose blocks are left out is not read
    /// whole, and decoding a 2.4 MB values file for it cost more than reading what was kept.
    checkpoints: OnceCell<Vec<usize>>,
    /// Length of the file.
    len: usize,
    /// For text read out of a block scalar: where each of its lines starts in the file,
    /// `(start in the block's text, start in the file)`.
    outer: Option<Vec<(usize, usize)>>,
}

impl<'a> Stripped<'a> {
    /// Takes the `%{ if … }`, `%{ for … }`, `%{ else }`, `%{ endif }` … directives out of
    /// `src`. A directive alone on its line goes with its line; one followed by text on its line
    /// (`%{ if x }key: ${x}%{ endif }`) goes alone, so the text keeps its indentation. What a
    /// directive chooses between is all kept: every branch, each loop body once.
    pub(super) fn new(src: &'a str) -> Stripped<'a> {
        let directives = memchr::memmem::Finder::new("%{");
        let Some(first) = directives.find(src.as_bytes()) else {
            return Stripped {
                text: Cow::Borrowed(src),
                runs: vec![(0, 0)],
                checkpoints: OnceCell::new(),
                len: src.len(),
                outer: None,
            };
        };
        let mut text = String::with_capacity(src.len());
        let mut runs = Vec::new();
        let mut copied = 0;
        let mut from = first;
        while let Some(open) = directives.find(&src.as_bytes()[from..]).map(|i| from + i) {
            if open > 0 && src.as_bytes()[open - 1] == b'%' {
                // `%%{` is an escaped, literal `%{`.
                from = open + 2;
                continue;
            }
            let close = src[open..].find('}').map_or(src.len(), |i| open + i + 1);
            let line_start = src[..open].rfind('\n').map_or(0, |i| i + 1);
            let line_end = src[close..].find('\n').map_or(src.len(), |i| close + i + 1);
            let alone =
                src[line_start..open].trim().is_empty() && src[close..line_end].trim().is_empty();
            let (cut_start, cut_end) = if alone {
                (line_start.max(copied), line_end)
            } else {
                (open, close)
            };
            if cut_start > copied {
                runs.push((text.len(), copied));
                text.push_str(&src[copied..cut_start]);
            }
            copied = cut_end;
            from = cut_end.max(close);
        }
        if copied < src.len() || runs.is_empty() {
            runs.push((text.len(), copied));
            text.push_str(&src[copied..]);
        }
        Stripped {
            checkpoints: OnceCell::new(),
            text: Cow::Owned(text),
            runs,
            len: src.len(),
            outer: None,
        }
    }

    /// Text read out of a block scalar of a file of `len` bytes, whose lines start at the
    /// file offsets `lines` (see [`Stripped::outer`]).
    pub(super) fn within(mut self, lines: Vec<(usize, usize)>, len: usize) -> Stripped<'a> {
        self.outer = Some(lines);
        self.len = len;
        self
    }

    /// This text with the byte ranges `cuts` of it (sorted, disjoint) left out, positions still
    /// mapping to the file; and where each cut was in the new text.
    pub(super) fn without(&self, cuts: &[Range<usize>]) -> (Stripped<'static>, Vec<usize>) {
        let cut: usize = cuts.iter().map(Range::len).sum();
        let mut text = String::with_capacity(self.text.len().saturating_sub(cut));
        let mut runs = Vec::with_capacity(self.runs.len() + cuts.len());
        let mut points = Vec::with_capacity(cuts.len());
        let mut keep = |text: &mut String, kept: Range<usize>| {
            // The old runs that overlap `kept`, each from where `kept` meets it.
            let first = self.runs.partition_point(|&(start, _)| start <= kept.start);
            for (i, &(start, origin)) in self.runs.iter().enumerate().skip(first.saturating_sub(1))
            {
                if start >= kept.end {
                    break;
                }
                let from = start.max(kept.start);
                let end = self
                    .runs
                    .get(i + 1)
                    .map_or(kept.end, |&(next, _)| next.min(kept.end));
                if from < end {
                    runs.push((text.len() + from - kept.start, origin + from - start));
                }
            }
            text.push_str(&self.text[kept]);
        };
        let mut copied = 0;
        for cut in cuts {
            keep(&mut text, copied..cut.start);
            points.push(text.len());
            copied = cut.end;
        }
        keep(&mut text, copied..self.text.len());
        let stripped = Stripped {
            checkpoints: OnceCell::new(),
            text: Cow::Owned(text),
            runs,
            len: self.len,
            outer: self.outer.clone(),
        };
        (stripped, points)
    }

    /// The byte offset in the text of the parser's character index `index`.
    pub(super) fn text_byte(&self, index: usize) -> usize {
        let checkpoints = self.checkpoints.get_or_init(|| checkpoints(&self.text));
        if checkpoints.is_empty() {
            return index.min(self.text.len());
        }
        let Some(&from) = checkpoints.get(index / CHECKPOINT) else {
            return self.text.len();
        };
        self.text[from..]
            .char_indices()
            .nth(index % CHECKPOINT)
            .map_or(self.text.len(), |(at, _)| from + at)
    }

    /// The byte offset in the file of the parser's character index `index`.
    pub(super) fn byte(&self, index: usize) -> usize {
        let at = map(&self.runs, self.text_byte(index));
        match &self.outer {
            Some(lines) => map(lines, at).min(self.len),
            None => at.min(self.len),
        }
    }
}

/// How many characters apart the byte offsets of a text that is not ASCII are kept: a
/// character's offset is found by decoding at most this many characters from the last one
/// kept, and the table is a quarter of a byte per character (an offset per character was
/// eight times the size of the file).
const CHECKPOINT: usize = 32;

/// Byte offset of every [`CHECKPOINT`]th character of `text`; empty when `text` is ASCII.
fn checkpoints(text: &str) -> Vec<usize> {
    if text.is_ascii() {
        Vec::new()
    } else {
        text.char_indices()
            .step_by(CHECKPOINT)
            .map(|(at, _)| at)
            .collect()
    }
}

/// Maps an offset through runs `(start in the new text, start in the old)`.
fn map(runs: &[(usize, usize)], at: usize) -> usize {
    let run = runs.partition_point(|&(start, _)| start <= at);
    match run.checked_sub(1).map(|i| runs[i]) {
        Some((start, origin)) => origin + at - start,
        None => at,
    }
}

#[cfg(test)]
mod tests {
    use super::Stripped;

    #[test]
    fn a_directive_alone_on_its_line_goes_with_the_line() {
        let src = "a:\n%{ for x in xs ~}\n  - ${x}\n%{ endfor }\nb: 1\n";
        let stripped = Stripped::new(src);
        assert_eq!(stripped.text, "a:\n  - ${x}\nb: 1\n");
        let b = stripped.text.find("b: 1").unwrap();
        assert_eq!(&src[stripped.byte(b)..stripped.byte(b) + 4], "b: 1");
    }

    #[test]
    fn an_inline_directive_goes_alone_and_the_text_keeps_its_column() {
        let src = "spec:\n  %{ if sc != null }storageClassName: ${sc}%{ endif }\n  size: 1\n";
        let stripped = Stripped::new(src);
        assert_eq!(
            stripped.text,
            "spec:\n  storageClassName: ${sc}\n  size: 1\n"
        );
        let size = stripped.text.find("size").unwrap();
        assert_eq!(&src[stripped.byte(size)..stripped.byte(size) + 4], "size");
    }

    #[test]
    fn escaped_directives_and_multibyte_text_stay() {
        let src = "é: \"%%{ not }\"\n%{ if a }\nx: 1\n%{ endif }\n";
        let stripped = Stripped::new(src);
        assert_eq!(stripped.text, "é: \"%%{ not }\"\nx: 1\n");
        let x = stripped.text.chars().position(|c| c == 'x').unwrap();
        assert_eq!(&src[stripped.byte(x)..stripped.byte(x) + 4], "x: 1");
    }

    #[test]
    fn every_character_index_maps_to_its_byte_in_a_text_that_is_not_ascii() {
        let src = "é: ü\nname: 名前 ✓\n".repeat(9);
        let stripped = Stripped::new(&src);
        let starts: Vec<usize> = src.char_indices().map(|(at, _)| at).collect();
        for index in 0..starts.len() + 3 {
            let want = starts.get(index).copied().unwrap_or(src.len());
            assert_eq!(stripped.text_byte(index), want, "character {index}");
        }
    }

    #[test]
    fn a_text_is_decoded_for_positions_only_when_one_is_asked() {
        let src = format!(
            "key: {}\nblock: |\n{}",
            "é".repeat(100),
            "  ü\n".repeat(1000)
        );
        let stripped = Stripped::new(&src);
        assert!(stripped.checkpoints.get().is_none(), "decoded before asked");
        let body = src.find("  ü").unwrap()..src.len();
        let (without, _) = stripped.without(std::slice::from_ref(&body));
        assert!(stripped.checkpoints.get().is_none(), "decoded to be cut");
        assert!(without.checkpoints.get().is_none());
        let index = without.text.chars().position(|c| c == 'b').unwrap();
        assert_eq!(without.byte(index), src.find("block").unwrap());
        assert!(without.checkpoints.get().is_some());
    }
}
