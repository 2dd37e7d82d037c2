//! Helm values YAML and `.tpl` templates: find `image:` tags at any depth.
//!
//! The file is read as a stream of parser events (saphyr-parser), which carry positions;
//! nothing is re-serialized. `%{ … }` template directives are taken out before parsing (see
//! [`text`]; positions map back to the file) and `${name}` interpolations become references
//! to the variables of the `templatefile()` call that renders the file. Anchored scalars are
//! remembered, so an alias (`tag: *tag`) uses the anchored value. Outside `--strict`, the
//! bodies of block scalars and large collections that cannot be pins are not read (see
//! [`blocks`]).

mod blocks;
mod keys;
mod text;

use crate::hcl::SyntaxError;
use crate::pin::PinKind;
use crate::shapes::{self, is_image_key};
use crate::site::{FileFacts, Lit, Piece, Reference, Site, SiteKind, Value};
use blocks::Body;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use text::Stripped;

/// How deep mappings and sequences may nest before upkeep refuses a file.
const MAX_NESTING: usize = 256;

/// Parses `src` (the whole file) and collects its image sites. Unless `strict`, the bodies of
/// block scalars and of large collections that cannot hold a site are left out of what the
/// parser reads (see [`blocks`]); if the parse does not confirm every one, or fails, the whole
/// text is read instead, so the sites are a full parse's, and so are the errors outside the
/// bodies left out.
pub(crate) fn parse(src: &str, strict: bool) -> Result<FileFacts, SyntaxError> {
    let stripped = Stripped::new(src);
    if !strict {
        let cuts = blocks::block_bodies(&stripped.text, block_may_hold_sites);
        if !cuts.is_empty() {
            let bodies: Vec<_> = cuts.iter().map(|cut| cut.body.clone()).collect();
            let (without, points) = stripped.without(&bodies);
            let mut confirmed = Confirmed::new(&cuts, points);
            let mut facts = FileFacts::default();
            let read = read(src, &without, &mut facts, true, Some(&mut confirmed));
            if read.is_ok() && confirmed.all() {
                return Ok(facts);
            }
        }
    }
    let mut facts = FileFacts::default();
    read(src, &stripped, &mut facts, true, None)?;
    Ok(facts)
}

/// Whether a body must be read: a literal block's that may hold YAML with sites (it is read
/// as values, see [`read`]), a folded block's whose key could make it a pin's value (a literal
/// block's value is never one), a collection's whose key could be part of a pin or whose keys
/// may make sites.
fn block_may_hold_sites(key: Option<&str>, body_is: Body, body: &str) -> bool {
    let pin_key = || {
        key.is_some_and(|key| {
            shapes::role(key).is_some()
                || is_image_key(key)
                || key == shapes::VERSION_KEY
                || shapes::VERSIONED_NAME_KEYS.contains(&key)
        })
    };
    match body_is {
        Body::Literal => body.contains(": ") && keys::may_hold_sites(body),
        Body::Folded => pin_key(),
        Body::Collection => pin_key() || keys::may_hold_sites(body),
    }
}

/// Where bodies were left out of the text read, what they were, and whether the parse
/// confirmed each: a block scalar with nothing but line breaks in it ending there (the parser
/// ends a block past the indentation of the line after it), or an empty value right after the
/// key of a collection on the line before.
struct Confirmed {
    points: Vec<(usize, Body, bool)>,
}

impl Confirmed {
    /// `points` are where `cuts` were, in the text read.
    fn new(cuts: &[blocks::Cut], points: Vec<usize>) -> Confirmed {
        let points = points
            .into_iter()
            .zip(cuts)
            .map(|(at, cut)| (at, cut.kind, false));
        Confirmed {
            points: points.collect(),
        }
    }

    /// A block scalar of the text read ends at `end`, holding `value`.
    fn block(&mut self, text: &str, end: usize, value: &str) {
        let before = self.points.partition_point(|&(at, ..)| at <= end);
        let Some(cut) = before.checked_sub(1) else {
            return;
        };
        let (at, kind, _) = self.points[cut];
        let indentation = text.get(at..end).unwrap_or("x");
        if kind != Body::Collection
            && indentation.bytes().all(|b| b == b' ')
            && value.bytes().all(|b| b == b'\n')
        {
            self.points[cut].2 = true;
        }
    }

    /// An empty plain scalar of the text read is at `at`.
    fn empty(&mut self, text: &str, at: usize) {
        let after = self.points.partition_point(|&(point, ..)| point < at);
        let Some(&(point, Body::Collection, _)) = self.points.get(after) else {
            return;
        };
        // The rest of the key's line: `key :`, blanks, the line's end.
        let Some(rest) = text.get(at..point) else {
            return;
        };
        let rest = rest
            .trim_start_matches(' ')
            .strip_prefix(':')
            .unwrap_or("x");
        let rest = rest.trim_start_matches(' ');
        if matches!(rest, "\n" | "\r\n") {
            self.points[after].2 = true;
        }
    }

    fn all(&self) -> bool {
        self.points.iter().all(|&(.., confirmed)| confirmed)
    }
}

/// Reads the YAML text of `stripped` (all of `src`, or a block scalar of it), adding its
/// sites to `facts`. With `nested`, a literal block scalar that holds YAML itself (a chart's
/// `extraInitContainers: |`, which Helm renders) is read too, when its keys can make a site.
/// With `confirmed`, block scalars and the empty values of collections' keys confirm the
/// bodies left out of `stripped`.
fn read(
    src: &str,
    stripped: &Stripped,
    facts: &mut FileFacts,
    nested: bool,
    mut confirmed: Option<&mut Confirmed>,
) -> Result<(), SyntaxError> {
    let mut frames: Vec<Frame> = Vec::new();
    // Anchored scalars by anchor id, for the aliases that repeat them.
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    for event in Parser::new_from_str(&stripped.text) {
        let (event, span) = event.map_err(|error| SyntaxError {
            offset: stripped.byte(error.marker().index()),
            message: error.info().to_owned(),
        })?;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if frames.len() >= MAX_NESTING {
                    return Err(SyntaxError {
                        offset: stripped.byte(span.start.index()),
                        message: format!(
                            "mappings and sequences nest deeper than {MAX_NESTING} levels"
                        ),
                    });
                }
                let key = frames.last_mut().and_then(Frame::take_key);
                let mapping = matches!(event, Event::MappingStart(..));
                // A flow collection's span is its properties and its `{` or `[`; a block
                // one's, its properties or nothing; a single pair in a flow sequence is flow
                // by its parent.
                let start = stripped.text_byte(span.start.index());
                let end = stripped.text_byte(span.end.index());
                let opening = stripped.text.get(start..end).unwrap_or_default();
                let flow = opening[properties_len(opening)..].starts_with(['{', '['])
                    || frames.last().is_some_and(|frame| frame.flow);
                frames.push(Frame {
                    key,
                    mapping,
                    flow,
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
                    image_tag_site(&frame, &path, facts);
                    // A document's top level is the document (a chart's own `name` and
                    // `version`), not an entry naming something.
                    if !frames.is_empty() {
                        versioned_site(&frame, facts);
                    }
                }
                if let Some(parent) = frames.last_mut() {
                    parent.value(Node::Complex);
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                if let Some(confirmed) = confirmed.as_deref_mut() {
                    match style {
                        ScalarStyle::Literal | ScalarStyle::Folded => {
                            let end = stripped.text_byte(span.end.index());
                            confirmed.block(&stripped.text, end, &value);
                        }
                        // The value of a key of a block mapping: in a flow collection, the
                        // lines below a key need not be its value.
                        ScalarStyle::Plain
                            if value.is_empty()
                                && frames.last().is_some_and(|frame| {
                                    frame.mapping && !frame.flow && frame.pending.is_some()
                                }) =>
                        {
                            let at = stripped.text_byte(span.start.index());
                            confirmed.empty(&stripped.text, at);
                        }
                        _ => {}
                    }
                }
                let Some(frame) = frames.last_mut() else {
                    continue;
                };
                if frame.mapping && frame.pending.is_none() {
                    frame.pending = Some(value.into_owned());
                } else if style == ScalarStyle::Plain && is_null(&value) {
                    frame.value(Node::Complex);
                } else if style == ScalarStyle::Literal {
                    if nested && value.contains(": ") && keys::may_hold_sites(&value) {
                        let start = stripped.byte(span.start.index());
                        if let Some(lines) = block_lines(src, start, &value) {
                            let inner = Stripped::new(&value).within(lines, src.len());
                            let mut found = FileFacts::default();
                            // A block that is not YAML is just text.
                            if read(src, &inner, &mut found, false, None).is_ok() {
                                facts.sites.extend(found.sites);
                            }
                        }
                    }
                    frame.value(Node::Complex);
                } else {
                    let node = scalar(src, stripped, &value, style, span);
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    frame.value(Node::Scalar(node));
                }
            }
            Event::Alias(anchor) => {
                if let Some(frame) = frames.last_mut() {
                    if frame.mapping && frame.pending.is_none() {
                        frame.pending = Some("*".to_owned());
                    } else {
                        // The anchored scalar's bytes, used from where the alias is written.
                        let node = anchors.get(&anchor).cloned().map(|mut value| {
                            value.span =
                                stripped.byte(span.start.index())..stripped.byte(span.end.index());
                            value.source = src.get(value.span.clone()).unwrap_or("*").to_owned();
                            value
                        });
                        frame.value(node.map_or(Node::Complex, Node::Scalar));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Where each line of the literal block scalar `value` (its text) starts in `src`, the
/// scalar's content starting at `start`: `(start in value, start in src)`. `None` when the
/// lines cannot be matched up.
fn block_lines(src: &str, start: usize, value: &str) -> Option<Vec<(usize, usize)>> {
    let mut cursor = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut lines = Vec::new();
    let mut offset = 0;
    for line in value.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let end = src[cursor..].find('\n').map_or(src.len(), |i| cursor + i);
        let source = src[cursor..end].trim_end_matches('\r');
        if !content.is_empty() {
            let indent = source.len().checked_sub(content.len())?;
            if !source.ends_with(content) || !source[..indent].bytes().all(|b| b == b' ') {
                return None;
            }
            lines.push((offset, cursor + indent));
        }
        offset += line.len();
        cursor = (end + 1).min(src.len());
    }
    Some(lines)
}

/// Whether a plain scalar is YAML's null (`~`, `null`, or nothing).
fn is_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

/// A value in a mapping: a scalar as a [`Value`], or anything else.
#[derive(Clone)]
enum Node {
    Scalar(Value),
    Complex,
}

/// A mapping or sequence being read.
struct Frame {
    /// The key this collection is the value of, in its parent mapping.
    key: Option<String>,
    mapping: bool,
    /// Whether it is a flow collection (`{…}`, `[…]`) or in one.
    flow: bool,
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
    if !frame.entries.iter().any(|(key, _)| shapes::may_group(key)) {
        for (key, node) in &frame.entries {
            if let (true, Node::Scalar(value)) = (is_image_key(key), node) {
                facts.sites.push(Site {
                    kind: SiteKind::Image {
                        kind: PinKind::ValuesImage,
                    },
                    value: value.clone(),
                    ignored: false,
                    definition: false,
                });
            }
        }
        return;
    }
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
            chart: None,
        };
        facts.sites.push(Site {
            kind,
            value: tag,
            ignored: false,
            definition: false,
        });
    }
}

/// Records the `version` of a mapping that names something versioned (see
/// [`shapes::versioned`]).
fn versioned_site(frame: &Frame, facts: &mut FileFacts) {
    if !frame.entries.iter().any(|(key, _)| key == "version") {
        return;
    }
    let keys: Vec<&str> = frame.entries.iter().map(|(key, _)| key.as_str()).collect();
    let scalar: Vec<bool> = frame
        .entries
        .iter()
        .map(|(_, node)| matches!(node, Node::Scalar(_)))
        .collect();
    let Some((name, version, repository)) = shapes::versioned(&keys, &scalar) else {
        return;
    };
    let value = |index: usize| match &frame.entries[index].1 {
        Node::Scalar(value) => Some(value.clone()),
        Node::Complex => None,
    };
    let (Some(name), Some(version)) = (value(name), value(version)) else {
        return;
    };
    let repository = repository.and_then(value);
    facts.sites.push(Site {
        kind: SiteKind::Versioned { name, repository },
        value: version,
        ignored: false,
        definition: false,
    });
}

/// Reduces a scalar to a [`Value`] whose literal pieces point at the source bytes. The
/// parser's span may start at an anchor or a tag (`&tag !!str 1.0`) and, for a quoted scalar,
/// run on over a comment after it; both are trimmed here.
fn scalar(src: &str, stripped: &Stripped, value: &str, style: ScalarStyle, span: Span) -> Value {
    let range = stripped.byte(span.start.index())..stripped.byte(span.end.index());
    let raw = src.get(range.clone()).unwrap_or_default();
    let properties = properties_len(raw);
    let start = range.start + properties;
    let raw = &raw[properties..];
    let (text_start, inner, end) = match style {
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => match quoted(raw, style) {
            Some(inner) => (start + 1, inner, start + inner.len() + 2),
            None => (start, raw, range.end),
        },
        _ => (start, raw, range.end),
    };
    let literal = matches!(
        style,
        ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
    ) && inner == value;
    let source = src.get(start..end).unwrap_or_default().to_owned();
    let pieces = if literal {
        template_pieces(inner, text_start)
    } else {
        vec![Piece::Opaque(source.clone())]
    };
    Value {
        pieces,
        source,
        span: start..end,
    }
}

/// The length of the anchor and tag properties (`&name`, `!!str`, `!local`) at the start of a
/// node's text, with the blanks after them.
fn properties_len(raw: &str) -> usize {
    let mut rest = raw;
    while rest.starts_with(['&', '!']) {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    raw.len() - rest.len()
}

/// The content between the quotes of a quoted scalar at the start of `raw`, when its closing
/// quote is found.
fn quoted(raw: &str, style: ScalarStyle) -> Option<&str> {
    let quote = if style == ScalarStyle::SingleQuoted {
        b'\''
    } else {
        b'"'
    };
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&quote) {
        return None;
    }
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quote == b'"' => at += 2,
            b if b == quote && quote == b'\'' && bytes.get(at + 1) == Some(&b'\'') => at += 2,
            b if b == quote => return raw.get(1..at),
            _ => at += 1,
        }
    }
    None
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

/// A seeded xorshift picker for the random tests of this folder: each call gives a number
/// below the one it is given, the same sequence on every run.
#[cfg(test)]
fn picker(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::{Confirmed, Stripped, block_may_hold_sites, blocks, parse, read};
    use crate::site::{FileFacts, Piece, SiteKind};

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
    fn directives_are_taken_out_and_positions_map_back() {
        let src = "%{ if gpu }\nimage:\n  tag: \"1.0\"\n%{ endif }\n";
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
        let src = "config: |\n  walk: not/read:1.0\n  more: text\n\nsidecar:\n  image: busybox:1.36.1\nnotes: >-\n  folded\n  é text\nagent:\n  image:\n    repository: x/y\n    tag: \"2.0\"\n";
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

    /// Where each site of `src` is and its text, or the parse's error.
    fn spans_and_sources(
        src: &str,
        strict: bool,
    ) -> Result<Vec<(std::ops::Range<usize>, String)>, crate::hcl::SyntaxError> {
        parse(src, strict).map(|facts| {
            facts
                .sites
                .iter()
                .map(|site| (site.value.span.clone(), site.value.source.clone()))
                .collect()
        })
    }

    /// How many bodies `src` has to leave out, and whether the parse without them confirms
    /// them all (`None`: it fails).
    fn cut_read(src: &str) -> (usize, Option<bool>) {
        let stripped = Stripped::new(src);
        let cuts = blocks::block_bodies(&stripped.text, block_may_hold_sites);
        let bodies: Vec<_> = cuts.iter().map(|cut| cut.body.clone()).collect();
        let (without, points) = stripped.without(&bodies);
        let mut confirmed = Confirmed::new(&cuts, points);
        let mut facts = FileFacts::default();
        let read = read(src, &without, &mut facts, true, Some(&mut confirmed));
        (cuts.len(), read.ok().map(|()| confirmed.all()))
    }

    #[test]
    fn a_literal_block_holding_values_with_images_is_read() {
        let src =
            "extraInitContainers: |\n  - name: init\n    image: busybox:1.36\nother: >\n  text\n";
        assert_eq!(tags(src), vec!["image=busybox:1.36"]);
        assert_eq!(cut_read(src), (1, Some(true)));
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

    /// Comment lines enough to make a body worth leaving out, at column `indent`.
    fn padding(indent: usize) -> String {
        format!("{}# {}\n", " ".repeat(indent), "x".repeat(60)).repeat(40)
    }

    #[test]
    fn a_large_collection_that_cannot_hold_a_pin_is_left_out_and_confirmed() {
        let pad = padding(4);
        let src = format!(
            "image:\n  tag: v1\nserverFiles:\n  rules:\n    - alert: A\n{pad}    - alert: B\nsidecar:\n  image: c/d:2\n"
        );
        assert_eq!(tags(&src), vec!["image.tag=v1", "image=c/d:2"]);
        assert_eq!(cut_read(&src), (1, Some(true)));
        // `key :` and trailing blanks, CRLF.
        let src = format!("a :  \r\n  b: 1\r\n{}c: 2\r\nimage: e/f:3\r\n", padding(2))
            .replace("\n#", "\r\n#");
        assert_eq!(tags(&src), vec!["image=e/f:3"]);
        assert_eq!(cut_read(&src), (1, Some(true)));
        // Below a block mapping with properties.
        let src = format!("d: &d !!map\n  a:\n    b: 1\n{}image: e/f:3\n", padding(4));
        assert_eq!(tags(&src), vec!["image=e/f:3"]);
        assert_eq!(cut_read(&src), (1, Some(true)));
        // An anchor in it could be used outside.
        let src = format!(
            "a:\n  b: &v v2\n{}image:\n  repository: g/h\n  tag: *v\n",
            padding(2)
        );
        assert_eq!(tags(&src), vec!["image.tag=v2"]);
        assert_eq!(cut_read(&src).0, 0);
    }

    #[test]
    fn keys_the_key_check_once_missed_keep_their_collection() {
        // A tab before the colon; a flow key whose colon is on the next line; a quoted key
        // over two lines.
        for (key, tag) in [
            ("image\t", "image=nginx:1.25.3"),
            ("b: {image\n   ", "image=nginx:1.25.3"),
            ("b: {\"ima\\\n      ge\"", "image=nginx:1.25.3"),
        ] {
            let close = if key.contains('{') { "}" } else { "" };
            let src = format!("a:\n  {key}: nginx:1.25.3{close}\n{}", padding(2));
            assert_eq!(tags(&src), vec![tag], "{src:?}");
            assert_eq!(cut_read(&src).0, 0, "{src:?}");
        }
    }

    #[test]
    fn a_key_in_a_flow_collection_is_not_confirmed() {
        // Indentation means nothing in a flow collection: the lines below `key:` are not its
        // value but a `version` beside the `name` above.
        let pad = padding(6);
        let src =
            format!("x: [{{name: redis,\n   key:\n      2, version: 1.0\n{pad}   , other: 3}}]\n");
        assert_eq!(tags(&src), vec!["image=1.0"]);
        assert_eq!(cut_read(&src), (1, Some(false)));
    }

    #[test]
    fn syntax_error_has_an_offset() {
        let error = parse("a: [1, 2\nb: c\n", false).unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }

    /// Random nested values texts: mappings and sequences of mappings whose keys hold pins or
    /// not, scalars, flow collections (some left open on one line and closed on a later one),
    /// anchors and aliases, block scalars, long comment lines (so collections are large enough
    /// to leave out) and, now and then, a line at a random indentation: wherever the whole
    /// text parses, leaving bodies out finds the same sites; wherever it does not, the same
    /// error, unless a collection was left out (a syntax error in it is reported only with
    /// `--strict`).
    #[test]
    fn random_yaml_with_large_collections_reads_the_same() {
        const KEY: [&str; 14] = [
            "a",
            "b",
            "rules",
            "expr",
            "labels",
            "'k'",
            "\"q k\"",
            "c",
            "d",
            "image",
            "tag",
            "name",
            "version",
            "repository",
        ];
        const VALUE: [&str; 14] = [
            "x/y:1.0",
            "1",
            "text: more",
            "[1, 2]",
            "{b: 1, version: 2}",
            "[1,",
            "{b: 1,",
            "&x 1",
            "*x",
            "|\n",
            "\"q",
            "# c",
            "{name: r,",
            "version: 3}",
        ];
        fn mapping(
            next: &mut impl FnMut(usize) -> usize,
            indent: usize,
            depth: usize,
            out: &mut String,
        ) {
            let pad = format!("# {}\n", "x".repeat(2100));
            for _ in 0..1 + next(4) {
                let column = if next(25) == 0 { next(8) } else { indent };
                out.push_str(&" ".repeat(column));
                out.push_str(KEY[next(KEY.len())]);
                out.push(':');
                match next(6) {
                    0 | 1 if depth < 4 => {
                        out.push('\n');
                        if next(3) == 0 {
                            out.push_str(&" ".repeat(indent + 2 + next(3)));
                            out.push_str(&pad);
                        }
                        if next(4) == 0 {
                            out.push_str(&" ".repeat(indent + 2));
                            out.push_str("- ");
                            mapping(next, indent + 4, depth + 1, out);
                        } else {
                            mapping(next, indent + 2, depth + 1, out);
                        }
                    }
                    2 => {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent + 2));
                        out.push_str(&pad);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(VALUE[next(VALUE.len())]);
                        out.push('\n');
                    }
                }
            }
        }
        let mut next = super::picker(0x9e37_79b9_7f4a_7c15);
        let (mut parsed, mut cut) = (0, 0);
        for _ in 0..3_000 {
            let mut src = String::new();
            mapping(&mut next, 0, 0, &mut src);
            let render = |strict| spans_and_sources(&src, strict);
            let strict = render(true);
            let confirmed = matches!(cut_read(&src), (1.., Some(true)));
            parsed += usize::from(strict.is_ok());
            cut += usize::from(strict.is_ok() && confirmed);
            match (render(false), strict) {
                (Ok(_), Err(_)) if confirmed => {}
                (fast, strict) => assert_eq!(fast, strict, "{src:?}"),
            }
        }
        assert!(
            parsed > 500 && cut > 150,
            "{parsed} parsed, {cut} of them with bodies left out"
        );
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
        let mut next = super::picker(0x2545_f491_4f6c_dd1d);
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
            let render = |strict| spans_and_sources(&src, strict);
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
