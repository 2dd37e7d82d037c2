//! Helm values YAML and `.tpl` templates: find `image:` tags at any depth.
//!
//! The file is read as a stream of parser events (saphyr-parser), which carry positions;
//! nothing is re-serialized. `%{ … }` template directives are blanked to spaces before
//! parsing (same byte length, so positions stay valid) and `${name}` interpolations become
//! references to the variables of the `templatefile()` call that renders the file.

use crate::hcl::SyntaxError;
use crate::pin::PinKind;
use crate::shapes::{self, is_image_key};
use crate::site::{FileFacts, Lit, Piece, Reference, Site, SiteKind, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::borrow::Cow;

/// How deep mappings and sequences may nest before upkeep refuses a file.
const MAX_NESTING: usize = 256;

/// Parses `src` (the whole file) and collects its image sites.
pub(crate) fn parse(src: &str) -> Result<FileFacts, SyntaxError> {
    let blanked = blank_directives(src);
    let text: &str = &blanked;
    let positions = CharToByte::new(text);
    let mut frames: Vec<Frame> = Vec::new();
    let mut facts = FileFacts::default();
    for event in Parser::new_from_str(text) {
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
                let Some(frame) = frames.last_mut() else {
                    continue;
                };
                if frame.mapping && frame.pending.is_none() {
                    frame.pending = Some(value.into_owned());
                } else {
                    let node = scalar(src, &positions, &value, style, span);
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
    Ok(facts)
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
}

/// Records the image sites of a finished mapping: the images whose parts are its entries
/// (`repository` + `tag`, `image` + `imageTag`, … see [`crate::shapes`]), and `image: repo:tag`
/// scalars.
fn image_tag_site(frame: &Frame, path: &[&str], facts: &mut FileFacts) {
    let keys: Vec<&str> = frame.entries.iter().map(|(key, _)| key.as_str()).collect();
    let scalar: Vec<bool> = frame
        .entries
        .iter()
        .map(|(_, node)| matches!(node, Node::Scalar(_)))
        .collect();
    let under_image = frame.key.as_deref().is_some_and(is_image_key);
    let (groups, used) = shapes::group(&keys, &scalar, under_image);
    for (i, (key, node)) in frame.entries.iter().enumerate() {
        if let (false, true, Node::Scalar(value)) = (used[i], is_image_key(key), node) {
            let kind = SiteKind::Image {
                kind: PinKind::ValuesImage,
            };
            facts.sites.push(Site {
                kind,
                value: value.clone(),
                ignored: false,
                definition: false,
            });
        }
    }
    let part = |index: Option<usize>| match index.map(|i| &frame.entries[i].1) {
        Some(Node::Scalar(value)) => Some(value.clone()),
        _ => None,
    };
    for found in groups {
        let Some(tag) = part(Some(found.tag)) else {
            continue;
        };
        let kind = SiteKind::ImageTag {
            kind: PinKind::ValuesImage,
            repository: part(found.repository),
            registry: part(found.registry),
            digest: part(found.digest),
            key: path
                .iter()
                .copied()
                .chain([keys[found.tag]])
                .collect::<Vec<_>>()
                .join("."),
            object: None,
        };
        facts.sites.push(Site {
            kind,
            value: tag,
            ignored: false,
            definition: false,
        });
    }
}

/// Reduces a scalar to a [`Value`] whose literal pieces point at the source bytes.
fn scalar(src: &str, positions: &CharToByte, value: &str, style: ScalarStyle, span: Span) -> Value {
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

/// Converts the parser's character indices to byte offsets.
struct CharToByte {
    /// Byte offset of each character; empty when the text is ASCII (identity).
    offsets: Vec<usize>,
    len: usize,
}

impl CharToByte {
    fn new(text: &str) -> Self {
        let offsets = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        CharToByte {
            offsets,
            len: text.len(),
        }
    }

    fn byte(&self, index: usize) -> usize {
        if self.offsets.is_empty() {
            index.min(self.len)
        } else {
            self.offsets.get(index).copied().unwrap_or(self.len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{blank_directives, parse};
    use crate::site::{Piece, SiteKind};

    fn tags(src: &str) -> Vec<String> {
        parse(src)
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
        let _ = parse(src);
    }

    #[test]
    fn syntax_error_has_an_offset() {
        let error = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }
}
