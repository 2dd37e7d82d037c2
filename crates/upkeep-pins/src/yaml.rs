//! Helm values YAML and `.tpl` templates: find `image:` tags at any depth.
//!
//! The file is read as a stream of parser events (saphyr-parser), which carry positions;
//! nothing is re-serialized. `%{ … }` template directives are blanked to spaces before
//! parsing (same byte length, so positions stay valid) and `${name}` interpolations become
//! references to the variables of the `templatefile()` call that renders the file. Outside
//! `--strict`, the bodies of block scalars that cannot be pins are not read (see [`blocks`]).

use crate::hcl::SyntaxError;
use crate::pin::PinKind;
use crate::site::{FileFacts, Lit, Piece, Reference, Site, SiteKind, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
mod blocks;

use std::borrow::Cow;

/// How deep mappings and sequences may nest before upkeep refuses a file.
const MAX_NESTING: usize = 256;

/// Parses `src` (the whole file) and collects its image sites. Unless `strict`, the bodies of
/// block scalars that cannot hold a pin are left out of what the parser reads (see [`blocks`]);
/// if the parse does not confirm every one, or fails, the whole text is read instead, so the
/// sites and errors are a full parse's.
pub(crate) fn parse(src: &str, strict: bool) -> Result<FileFacts, SyntaxError> {
    let blanked = blank_directives(src);
    if !strict {
        let cuts = blocks::block_bodies(&blanked, key_may_hold_pin);
        if !cuts.is_empty() {
            let positions = Positions::new(&blanked, &cuts);
            if let Ok(Some(facts)) = read(src, &positions, &cuts) {
                return Ok(facts);
            }
        }
    }
    let positions = Positions::new(&blanked, &[]);
    Ok(read(src, &positions, &[])?.unwrap_or_default())
}

/// Whether a block scalar under `key` could be a pin's value, so it must be read.
fn key_may_hold_pin(key: &str) -> bool {
    is_image_key(key) || matches!(key, "tag" | "repository" | "registry")
}

/// Reads the text of `positions` (`src` with `cuts` left out). `None` when a cut is not
/// confirmed by the parse: a block scalar with an empty value ending where its body was.
fn read(
    src: &str,
    positions: &Positions,
    cuts: &[blocks::Cut],
) -> Result<Option<FileFacts>, SyntaxError> {
    debug_assert_eq!(cuts.len(), positions.cut_points.len());
    // Where each body was in the text read, and whether the parse confirmed it.
    let mut cuts: Vec<(usize, bool)> = positions.cut_points.iter().map(|&at| (at, false)).collect();
    let mut frames: Vec<Frame> = Vec::new();
    let mut facts = FileFacts::default();
    for event in Parser::new_from_str(&positions.text) {
        let (event, span) = event.map_err(|error| SyntaxError {
            offset: positions.byte(error.marker().index()),
            message: error.info().to_owned(),
        })?;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if frames.len() >= MAX_NESTING {
                    return Err(SyntaxError {
                        offset: positions.byte(span.start.index()),
                        message: format!(
                            "mappings and sequences nest deeper than {MAX_NESTING} levels"
                        ),
                    });
                }
                let key = frames.last_mut().and_then(Frame::take_key);
                let mapping = matches!(event, Event::MappingStart(..));
                frames.push(Frame {
                    key,
                    mapping,
                    entries: Vec::new(),
                    pending: None,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = frames.pop() else { continue };
                if frame.mapping {
                    let path = frames
                        .iter()
                        .filter_map(|f| f.key.as_deref())
                        .chain(frame.key.as_deref());
                    let path: Vec<&str> = path.collect();
                    image_tag_site(&frame, &path, &mut facts);
                }
                if let Some(parent) = frames.last_mut() {
                    parent.value(Node::Complex);
                }
            }
            Event::Scalar(value, style, ..) => {
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    let end = positions.text_byte(span.end.index());
                    confirm(&mut cuts, &positions.text, end, &value);
                }
                let Some(frame) = frames.last_mut() else {
                    continue;
                };
                if frame.mapping && frame.pending.is_none() {
                    frame.pending = Some(value.into_owned());
                } else {
                    let node = scalar(src, positions, &value, style, span);
                    frame.value(Node::Scalar(node));
                }
            }
            Event::Alias(_) => {
                if let Some(frame) = frames.last_mut() {
                    if frame.mapping && frame.pending.is_none() {
                        frame.pending = Some("*".to_owned());
                    } else {
                        frame.value(Node::Complex);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(cuts
        .iter()
        .all(|&(_, confirmed)| confirmed)
        .then_some(facts))
}

/// Marks a cut confirmed by a block scalar that ends at `end` (a byte offset of `text`) with an
/// empty value: the parser ends a block at the line after it, past that line's indentation.
fn confirm(cuts: &mut [(usize, bool)], text: &str, end: usize, value: &str) {
    let before = cuts.partition_point(|&(at, _)| at <= end);
    let Some(cut) = before.checked_sub(1) else {
        return;
    };
    let indentation = text.get(cuts[cut].0..end).unwrap_or("x");
    if indentation.bytes().all(|b| b == b' ') && value.bytes().all(|b| b == b'\n') {
        cuts[cut].1 = true;
    }
}

/// A value in a mapping: a scalar as a [`Value`], or anything else.
enum Node {
    Scalar(Value),
    Complex,
}

/// A mapping or sequence being read.
struct Frame {
    /// The key this collection is the value of, in its parent mapping.
    key: Option<String>,
    mapping: bool,
    entries: Vec<(String, Node)>,
    /// A mapping key waiting for its value.
    pending: Option<String>,
}

impl Frame {
    fn take_key(&mut self) -> Option<String> {
        if self.mapping {
            self.pending.clone()
        } else {
            self.key.clone()
        }
    }

    fn value(&mut self, node: Node) {
        if let Some(key) = self.pending.take() {
            self.entries.push((key, node));
        }
    }

    fn scalar(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find_map(|(k, node)| match node {
            Node::Scalar(value) if k == key => Some(value),
            _ => None,
        })
    }
}

/// Records the image sites of a finished mapping: `tag` next to `repository` (or under an
/// `image` key), and `image: repo:tag` scalars.
fn image_tag_site(frame: &Frame, path: &[&str], facts: &mut FileFacts) {
    for (key, node) in &frame.entries {
        if let (true, Node::Scalar(value)) = (is_image_key(key), node) {
            let kind = SiteKind::Image {
                kind: PinKind::ValuesImage,
            };
            facts.sites.push(Site {
                kind,
                value: value.clone(),
                ignored: false,
            });
        }
    }
    let Some(tag) = frame.scalar("tag") else {
        return;
    };
    let repository = frame.scalar("repository");
    let under_image = frame.key.as_deref().is_some_and(is_image_key);
    if repository.is_none() && !under_image {
        return;
    }
    let kind = SiteKind::ImageTag {
        kind: PinKind::ValuesImage,
        repository: repository.cloned(),
        registry: frame.scalar("registry").cloned(),
        key: path
            .iter()
            .copied()
            .chain(["tag"])
            .collect::<Vec<_>>()
            .join("."),
    };
    facts.sites.push(Site {
        kind,
        value: tag.clone(),
        ignored: false,
    });
}

fn is_image_key(key: &str) -> bool {
    key == "image" || key.ends_with("Image") || key.ends_with("_image")
}

/// Reduces a scalar to a [`Value`] whose literal pieces point at the source bytes.
fn scalar(src: &str, positions: &Positions, value: &str, style: ScalarStyle, span: Span) -> Value {
    let range = positions.byte(span.start.index())..positions.byte(span.end.index());
    let raw = src.get(range.clone()).unwrap_or_default();
    let quote = match style {
        ScalarStyle::SingleQuoted => Some('\''),
        ScalarStyle::DoubleQuoted => Some('"'),
        _ => None,
    };
    let inner = match (style, quote) {
        (_, Some(quote)) => raw
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
            .map(|inner| (range.start + 1, inner)),
        (ScalarStyle::Plain, None) => Some((range.start, raw)),
        _ => None,
    };
    let pieces = match inner {
        Some((start, inner)) if inner == value => template_pieces(inner, start),
        _ => vec![Piece::Opaque(raw.to_owned())],
    };
    Value {
        pieces,
        source: raw.to_owned(),
        span: range,
    }
}

/// Splits `text` (at byte `start` of the file) into literals and `${name}` references.
fn template_pieces(text: &str, start: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("${").map(|i| rest + i) {
        let Some(close) = text[open..].find('}').map(|i| open + i) else {
            break;
        };
        if open > rest {
            pieces.push(Piece::Lit(Lit::verbatim(&text[rest..open], start + rest)));
        }
        let inner = text[open + 2..close].trim();
        let is_name = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        pieces.push(if is_name {
            Piece::Ref(Reference::TemplateVar(inner.to_owned()))
        } else {
            Piece::Opaque(text[open..=close].to_owned())
        });
        rest = close + 1;
    }
    if rest < text.len() || pieces.is_empty() {
        pieces.push(Piece::Lit(Lit::verbatim(&text[rest..], start + rest)));
    }
    pieces
}

/// Replaces every `%{ … }` template directive with spaces, keeping byte positions and lines.
fn blank_directives(src: &str) -> Cow<'_, str> {
    if !src.contains("%{") {
        return Cow::Borrowed(src);
    }
    let mut bytes = src.as_bytes().to_vec();
    let mut from = 0;
    while let Some(open) = memchr::memmem::find(&bytes[from..], b"%{").map(|i| from + i) {
        let close = memchr::memchr(b'}', &bytes[open..]).map_or(bytes.len(), |i| open + i + 1);
        for byte in &mut bytes[open..close] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        from = close;
    }
    // Only ASCII bytes were replaced, and whole multi-byte characters at that.
    Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| src.to_owned()))
}

/// The text the parser reads (the file, directives blanked, cut bodies left out) and the map
/// from the parser's character indices back to byte offsets of the file.
struct Positions {
    text: String,
    /// Runs of `text` copied from the file: `(start in text, start in the file)`, in order.
    runs: Vec<(usize, usize)>,
    /// Where each cut body was, as a byte offset of `text`.
    cut_points: Vec<usize>,
    /// Byte offset in `text` of each character; empty when `text` is ASCII (identity).
    chars: Vec<usize>,
    /// Length of the file.
    len: usize,
}

impl Positions {
    /// `file` without the `cuts` (sorted, disjoint, within `file`).
    fn new(file: &str, cuts: &[blocks::Cut]) -> Positions {
        let mut text = String::with_capacity(file.len());
        let mut runs = vec![(0, 0)];
        let mut cut_points = Vec::with_capacity(cuts.len());
        let mut copied = 0;
        for cut in cuts {
            text.push_str(&file[copied..cut.body.start]);
            cut_points.push(text.len());
            copied = cut.body.end;
            runs.push((text.len(), copied));
        }
        text.push_str(&file[copied..]);
        let chars = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Positions {
            text,
            runs,
            cut_points,
            chars,
            len: file.len(),
        }
    }

    /// The byte offset in the text read of the parser's character index `index`.
    fn text_byte(&self, index: usize) -> usize {
        if self.chars.is_empty() {
            index.min(self.text.len())
        } else {
            self.chars.get(index).copied().unwrap_or(self.text.len())
        }
    }

    /// The byte offset in the file of the parser's character index `index`.
    fn byte(&self, index: usize) -> usize {
        let at = self.text_byte(index);
        let run = self.runs.partition_point(|&(start, _)| start <= at);
        let (start, origin) = self.runs[run.saturating_sub(1)];
        (origin + at - start).min(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::{Positions, blank_directives, blocks, key_may_hold_pin, parse, read};
    use crate::site::{Piece, SiteKind};

    /// The sites of `src` as text; both modes must find the same.
    fn tags(src: &str) -> Vec<String> {
        let fast = tags_in(src, false);
        assert_eq!(fast, tags_in(src, true), "{src:?}");
        fast
    }

    fn tags_in(src: &str, strict: bool) -> Vec<String> {
        parse(src, strict)
            .unwrap()
            .sites
            .iter()
            .map(|site| {
                let text: String = site
                    .value
                    .pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::Lit(lit) => src[lit.raw.clone()].to_owned(),
                        Piece::Ref(r) => format!("<{}>", r.display()),
                        Piece::Opaque(text) => format!("?{text}"),
                    })
                    .collect();
                let kind = match &site.kind {
                    SiteKind::ImageTag { key, .. } => key.clone(),
                    _ => "image".to_owned(),
                };
                format!("{kind}={text}")
            })
            .collect()
    }

    #[test]
    fn finds_tags_at_any_depth_with_quotes_kept_outside_the_token() {
        let src = "agent:\n  image:\n    registry: docker.io\n    repository: woodpeckerci/woodpecker-agent\n    tag: \"v3.14.0\"\nserver:\n  deep:\n    image: {repository: x/y, tag: '1.2'}\n";
        assert_eq!(
            tags(src),
            vec!["agent.image.tag=v3.14.0", "server.deep.image.tag=1.2"]
        );
    }

    #[test]
    fn image_scalars_are_sites() {
        assert_eq!(
            tags("sidecar:\n  image: busybox:1.36.1 # pinned\n"),
            vec!["image=busybox:1.36.1"]
        );
    }

    #[test]
    fn template_interpolations_become_references() {
        let src = "image:\n  repository: ghcr.io/x/y\n  tag: v${app_version}-cuda\n";
        assert_eq!(tags(src), vec!["image.tag=v<app_version>-cuda"]);
    }

    #[test]
    fn directives_are_blanked_without_moving_bytes() {
        let src = "%{ if gpu }\nimage:\n  tag: \"1.0\"\n%{ endif }\n";
        assert_eq!(blank_directives(src).len(), src.len());
        assert_eq!(tags(src), vec!["image.tag=1.0"]);
    }

    #[test]
    fn multibyte_text_keeps_byte_positions() {
        let src = "# größe\nimage:\n  repository: é/x\n  tag: \"2.0\"\n";
        assert_eq!(tags(src), vec!["image.tag=2.0"]);
    }

    #[test]
    fn quoted_scalar_next_to_multibyte_text_does_not_panic() {
        // Found by fuzzing: the parser's span of this scalar ends inside a 3-byte character.
        let src = "N: \" \" # \" \u{feef}\u{feef}";
        let _ = parse(src, false);
        let _ = parse(src, true);
    }

    #[test]
    fn block_scalar_bodies_left_out_change_no_site_and_no_position() {
        let src = "config: |\n  image: not/read:1.0\n  more: text\n\nsidecar:\n  image: busybox:1.36.1\nnotes: >-\n  folded\n  é text\nagent:\n  image:\n    repository: x/y\n    tag: \"2.0\"\n";
        assert_eq!(
            tags(src),
            vec!["image=busybox:1.36.1", "agent.image.tag=2.0"]
        );
        assert_eq!(cut_read(src), (2, Some(true)));
        // The parser ends a nested block past the next line's indentation.
        let src = "rules:\n  - alert: A\n    expr: |\n      rate(x[5m])\n    for: 15m\n    image: a/b:1\n";
        assert_eq!(tags(src), vec!["image=a/b:1"]);
        assert_eq!(cut_read(src), (1, Some(true)));
    }

    /// How many bodies `src` has to leave out, and whether the parse without them confirms
    /// them all (`None`: it fails).
    fn cut_read(src: &str) -> (usize, Option<bool>) {
        let cuts = blocks::block_bodies(src, key_may_hold_pin);
        let read = read(src, &Positions::new(src, &cuts), &cuts);
        (cuts.len(), read.ok().map(|facts| facts.is_some()))
    }

    #[test]
    fn a_cut_the_parse_does_not_confirm_falls_back_to_the_whole_text() {
        // `word - |` is one plain scalar; the line below continues it.
        let src = "a: word\n  - |\n    b\nimage: c/d:1.0\n";
        assert_eq!(tags(src), vec!["image=c/d:1.0"]);
        assert_eq!(cut_read(src), (1, Some(false)));
        // A parse error with the bodies left out is the whole text's error.
        let src = "a: |\n  x\nb: [1, 2\n";
        assert_eq!(
            parse(src, false).unwrap_err(),
            parse(src, true).unwrap_err()
        );
    }

    #[test]
    fn syntax_error_has_an_offset() {
        let error = parse("a: [1, 2\nb: c\n", false).unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }

    /// Random YAML lines made of what block scalars meet (indentation, sequence dashes, keys
    /// that hold pins and keys that do not, indicators with and without chomping, explicit
    /// indentation and anchors, plain, quoted and multi-line text, comments, blank lines):
    /// wherever the whole text parses, leaving bodies out finds the same sites; wherever it
    /// does not, the same error.
    #[test]
    fn random_yaml_reads_the_same_with_bodies_left_out() {
        const INDENT: [&str; 5] = ["", "  ", "    ", "      ", " "];
        const LEAD: [&str; 4] = ["", "", "- ", "- - "];
        const KEY: [&str; 8] = [
            "a: ",
            "config: ",
            "image: ",
            "tag: ",
            "repository: ",
            "'k': ",
            "",
            "? ",
        ];
        const VALUE: [&str; 16] = [
            "|", "|-", ">", ">+", "|2", "&x |", "!!str |", "| # c", "x/y:1.0", "text", "'q: |'",
            "\"d |\"", "*x", "", "word - |", "[a, |]",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut parsed, mut cut) = (0, 0);
        for _ in 0..60_000 {
            let mut src = String::new();
            for _ in 0..2 + next(10) {
                if next(6) == 0 {
                    src.push_str(INDENT[next(INDENT.len())]);
                } else {
                    for part in [&INDENT[..], &LEAD, &KEY, &VALUE] {
                        src.push_str(part[next(part.len())]);
                    }
                }
                src.push_str(if next(20) == 0 { "\r\n" } else { "\n" });
            }
            let render = |strict| {
                parse(&src, strict).map(|facts| {
                    facts
                        .sites
                        .iter()
                        .map(|site| (site.value.span.clone(), site.value.source.clone()))
                        .collect::<Vec<_>>()
                })
            };
            let strict = render(true);
            parsed += usize::from(strict.is_ok());
            cut += usize::from(matches!(cut_read(&src), (1.., Some(true))));
            assert_eq!(render(false), strict, "{src:?}");
        }
        assert!(
            parsed > 5_000 && cut > 500,
            "{parsed} parsed, {cut} with bodies left out"
        );
    }
}
