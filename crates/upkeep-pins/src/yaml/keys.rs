//! Whether a YAML text can hold a site at all, judged from its keys without parsing it. A
//! literal block that holds YAML (a chart's `extraInitContainers: |`) is parsed for images only
//! when it can: a 2.4 MB `config: |` of SNMP exporter modules cannot, and parsing it cost more
//! than the rest of its repository. The keys are judged by the table the parser groups them by
//! ([`crate::shapes`]), so a shape added there is seen here too.

use crate::bytes::byte_set;
use crate::shapes::{self, Role, VERSION_KEY, VERSIONED_NAME_KEYS};

/// Whether `text` may hold a site: a key naming an image or a tag, or a `version` key in the
/// same mapping as a key that names something versioned (same column in block style; anywhere
/// in flow style). A colon inside a line's quoted value ends no key (see [`QuotedValue`]).
/// `false` only for text the parser finds no site in, but for one case: a
/// quoted scalar over several lines inside a flow collection, a line of which closes brackets
/// without a quote on it, may make a `version` and a name of that collection look like block
/// keys in different columns (see [`Depth`]). Anything else it cannot judge (explicit `?` keys,
/// a key on the line before its colon, aliases or templates as keys, escapes in quoted keys) is
/// `true`.
pub(super) fn may_hold_sites(text: &str) -> bool {
    let bytes = text.as_bytes();
    // An explicit key (`? image`) after the line's indentation and sequence dashes.
    let (mut line, mut last) = (0, 0);
    for mark in memchr::memchr_iter(b'?', bytes) {
        if let Some(i) = memchr::memrchr(b'\n', &bytes[last..mark]) {
            line = last + i + 1;
        }
        last = mark;
        if bytes[line..mark].iter().all(|b| matches!(b, b' ' | b'-')) {
            return true;
        }
    }
    let (mut versions, mut names) = (Vec::new(), Vec::new());
    let (mut flow_version, mut flow_name) = (false, false);
    let mut depth = Depth::default();
    let mut quoted = QuotedValue::default();
    let mut lines = LineStarts::default();
    for colon in memchr::memchr_iter(b':', bytes) {
        // The key's bytes, where its column starts (its opening quote if quoted), and whether
        // it holds a byte that makes it special. Most colons end keys that cannot count, told
        // from the key alone: the line's start, and whether the colon is inside the line's
        // quoted value, are asked only of keys that would count.
        let (key, column, special) = match key_before(bytes, colon) {
            Key::None => continue,
            Key::Unknown => return true,
            Key::Plain {
                start,
                end,
                special,
            } => (start..end, start, special),
            Key::Quoted { close } => {
                let line = lines.start(bytes, colon);
                let Some(open) = memchr::memrchr(bytes[close], &bytes[line..close]) else {
                    return true;
                };
                let key = line + open + 1..close;
                let special = bytes[key.clone()].iter().any(|&b| SPECIAL[usize::from(b)]);
                (key, line + open, special)
            }
        };
        let Some(key) = text.get(key) else {
            return true;
        };
        let special = special || key.starts_with('*');
        let imageish = imageish(key);
        let pin =
            special || imageish && matches!(shapes::role(key), Some((Role::Tag | Role::Image, _)));
        let version = key == VERSION_KEY;
        if !pin && !version && !VERSIONED_NAME_KEYS.contains(&key) {
            continue;
        }
        let line = lines.start(bytes, colon);
        if quoted.holds(bytes, line, colon) {
            continue;
        }
        if pin {
            return true;
        }
        let block = depth.at(bytes, line) == 0
            && bytes[line..column]
                .iter()
                .all(|&b| matches!(b, b' ' | b'-'));
        // A column repeated on the next key is kept once: the names of a long list stand in
        // one column, and each version is looked for among them.
        let column = column - line;
        match (version, block) {
            (true, true) if versions.last() != Some(&column) => versions.push(column),
            (false, true) if names.last() != Some(&column) => names.push(column),
            (true, false) => flow_version = true,
            (false, false) => flow_name = true,
            _ => {}
        }
    }
    (flow_version && (flow_name || !names.is_empty()))
        || (flow_name && !versions.is_empty())
        || versions.iter().any(|column| names.contains(column))
}

/// The quoted value of a line of the one shape where a colon inside it surely ends no key:
/// `KEY: "…"` (or `- KEY: '…'`) with a plain key of letters, digits and `_-./`, the quote
/// closing on the line (`summary: "{{ $labels.pod }}: down"`). Read once per line, when asked.
///
/// Why a colon inside is no key, whatever the lines before leave open: if the quote opens the
/// value, its colons are text. If the line is inside a scalar quoted with the same kind, the
/// quote closes it, and what follows must be `,`, `:`, `]`, `}`, a comment or the line's end
/// for the text to be YAML; a value that starts so is not taken. If the line is inside a scalar
/// quoted with the other kind, a quote of that kind in the value would close it just as well,
/// so the value may hold one only where such text does not follow (`didn't`), escaped or not
/// (`\'` escapes nothing in single quotes); else the whole value is text of that scalar. An
/// opening `'` followed by another is refused: there the two would be one escaped quote. Tags, anchors, flow brackets, comments
/// and quoted keys before the quote, and a quote that closes on a later line, are not read.
#[derive(Default)]
struct QuotedValue {
    /// The start of the line last read.
    line: Option<usize>,
    /// Its quoted value: from the opening quote to the closing one, exclusive.
    value: Option<(usize, usize)>,
}

impl QuotedValue {
    /// Whether the colon at `colon`, on the line starting at `line`, is inside the line's
    /// quoted value.
    fn holds(&mut self, bytes: &[u8], line: usize, colon: usize) -> bool {
        if self.line != Some(line) {
            *self = QuotedValue {
                line: Some(line),
                value: quoted_value(bytes, line),
            };
        }
        self.value
            .is_some_and(|(open, close)| open < colon && colon < close)
    }
}

/// Whether what follows the quote at `quote` lets it close a quoted scalar in valid YAML:
/// nothing but blanks before `,`, `:`, `]`, `}`, a comment or the line's end.
fn may_end_a_scalar(bytes: &[u8], quote: usize) -> bool {
    let next = bytes[quote + 1..]
        .iter()
        .find(|&&b| !matches!(b, b' ' | b'\t'))
        .copied();
    matches!(
        next,
        None | Some(b',' | b':' | b']' | b'}' | b'#' | b'\n' | b'\r')
    )
}

/// The quoted value of the line starting at `line` (see [`QuotedValue`]): the opening and
/// closing quotes' positions.
fn quoted_value(bytes: &[u8], line: usize) -> Option<(usize, usize)> {
    let blank = |b: u8| matches!(b, b' ' | b'\t');
    let byte = |at: usize| bytes.get(at).copied();
    let mut at = line;
    while byte(at) == Some(b' ') {
        at += 1;
    }
    // Sequence entries: a dash and a blank.
    while byte(at) == Some(b'-') && byte(at + 1).is_some_and(blank) {
        at += 1;
        while byte(at).is_some_and(blank) {
            at += 1;
        }
    }
    let key = at;
    while byte(at)
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
    {
        at += 1;
    }
    if at == key {
        return None;
    }
    while byte(at).is_some_and(blank) {
        at += 1;
    }
    if byte(at) != Some(b':') || !byte(at + 1).is_some_and(blank) {
        return None;
    }
    at += 1;
    while byte(at).is_some_and(blank) {
        at += 1;
    }
    let open = at;
    let (quote, other) = match byte(open)? {
        b'"' => (b'"', b'\''),
        // `'''`: in an earlier single-quoted scalar, the first two would be an escaped quote.
        b'\'' if byte(open + 1) == Some(b'\'') => return None,
        b'\'' => (b'\'', b'"'),
        _ => return None,
    };
    if may_end_a_scalar(bytes, open) {
        return None;
    }
    let mut at = open + 1;
    loop {
        match byte(at)? {
            b'\n' | b'\r' => return None,
            // `\'` escapes nothing in an earlier single-quoted scalar: that quote may close it.
            b'\\'
                if quote == b'"'
                    && byte(at + 1) == Some(other)
                    && may_end_a_scalar(bytes, at + 1) =>
            {
                return None;
            }
            b'\\' if quote == b'"' => at += 2,
            b'\'' if quote == b'\'' && byte(at + 1) == Some(b'\'') => at += 2,
            b if b == quote => return Some((open, at)),
            // `didn't`: a quote of the other kind can close no scalar where a letter follows.
            b if b == other && may_end_a_scalar(bytes, at) => return None,
            _ => at += 1,
        }
    }
}

/// How deep in flow brackets (`{`, `[`) a line starts, never less than the truth but for a
/// quoted scalar over several lines whose later lines close brackets: every opening bracket
/// counts, even one in a string; closing ones only on lines without quotes and before a
/// comment. Counted only as far as asked: at depth 0 only a line with an opening bracket
/// changes it, so the lines between are skipped.
#[derive(Default)]
struct Depth {
    /// The start of the first line not counted yet.
    line: usize,
    /// The depth there.
    depth: usize,
}

impl Depth {
    /// The depth at the start of the line starting at `line` (never before one asked for).
    fn at(&mut self, bytes: &[u8], line: usize) -> usize {
        while self.line < line {
            if self.depth == 0 {
                let Some(open) = memchr::memchr2(b'{', b'[', &bytes[self.line..line]) else {
                    self.line = line;
                    break;
                };
                let open = self.line + open;
                if let Some(i) = memchr::memrchr(b'\n', &bytes[self.line..open]) {
                    self.line += i + 1;
                }
            }
            let end =
                memchr::memchr(b'\n', &bytes[self.line..line]).map_or(line, |i| self.line + i);
            let (mut opens, mut closes, mut quoted, mut comment) = (0, 0, false, false);
            for (at, &byte) in bytes.iter().enumerate().take(end).skip(self.line) {
                match byte {
                    b'#' if at == self.line || matches!(bytes[at - 1], b' ' | b'\t') => {
                        comment = true;
                    }
                    b'{' | b'[' => opens += 1,
                    b'}' | b']' if !comment => closes += 1,
                    b'"' | b'\'' => quoted = true,
                    _ => {}
                }
            }
            self.depth = (self.depth + opens).saturating_sub(if quoted { 0 } else { closes });
            self.line = (end + 1).min(line);
        }
        self.depth
    }
}

/// Whether `key` ends like `tag` or `image` (see [`ends_like`]). Its last letter is looked at
/// first: of the 78,000 keys of a 2.4 MB block of SNMP modules, few end in `g` or `e`.
fn imageish(key: &str) -> bool {
    match key.bytes().rev().find(|b| !matches!(b, b'_' | b'-')) {
        Some(b'g' | b'G') => ends_like(key, "tag"),
        Some(b'e' | b'E') => ends_like(key, "image"),
        _ => false,
    }
}

/// Whether `key` ends with `word` once `_` and `-` are dropped and case is ignored, as
/// [`shapes::role`] compares keys: a key that does not cannot have the role `word` names, and
/// asking costs no allocation.
fn ends_like(key: &str, word: &str) -> bool {
    let mut letters = key.bytes().rev().filter(|b| !matches!(b, b'_' | b'-'));
    word.bytes().rev().all(|want| {
        letters
            .next()
            .is_some_and(|b| b.eq_ignore_ascii_case(&want))
    })
}

/// Bytes that make a key special: it cannot be judged (an escape, a template, a closing
/// bracket of a flow key).
const SPECIAL: [bool; 256] = byte_set(b"\\$%]}");

/// Bytes before which a plain key starts: blanks, a line's start, flow indicators.
const KEY_START: [bool; 256] = byte_set(b" \t{[,\n");

/// What ends at a colon.
enum Key {
    /// No key: the colon is text (`a:b`, `http://`).
    None,
    /// A key that does not start on the colon's line (`{image` then `: x` on the next line,
    /// `? image` then `: x`): it cannot be judged.
    Unknown,
    /// A plain key `bytes[start..end]`, and whether it holds a [`SPECIAL`] byte.
    Plain {
        start: usize,
        end: usize,
        special: bool,
    },
    /// A quoted key whose closing quote is at `close`; it opens earlier on the line, or the
    /// key cannot be judged.
    Quoted { close: usize },
}

/// The key ending at the colon at `colon`: a colon followed by a blank or the line's end, or
/// right after a quote as in `{"a":1}`. Read backwards from the colon, never past the line's
/// start: blanks, then the key up to a [`KEY_START`] byte.
fn key_before(bytes: &[u8], colon: usize) -> Key {
    let after = bytes.get(colon + 1);
    // `key : value` and `key\t: value` are keys too.
    let mut end = colon;
    while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    let before = match end.checked_sub(1).map(|at| bytes[at]) {
        // Only blanks before the colon on its line.
        None | Some(b'\n') => None,
        before => before,
    };
    let quoted = matches!(before, Some(b'"' | b'\''));
    if !(quoted || matches!(after, None | Some(b' ' | b'\t' | b'\r' | b'\n'))) {
        return Key::None;
    }
    if before.is_none() {
        // The key is on a line above.
        return Key::Unknown;
    }
    if quoted {
        return Key::Quoted { close: end - 1 };
    }
    let mut start = end;
    let mut special = false;
    while start > 0 && !KEY_START[usize::from(bytes[start - 1])] {
        start -= 1;
        special |= SPECIAL[usize::from(bytes[start])];
    }
    Key::Plain {
        start,
        end,
        special,
    }
}

/// The start of the line of each colon asked about, the colons asked in order: the text
/// since the colon asked before is searched for a line break.
#[derive(Default)]
struct LineStarts {
    /// The start of the line of the colon asked before.
    line: usize,
    /// That colon.
    last: usize,
}

impl LineStarts {
    /// The start of the line holding `colon` (not before the colon asked before).
    fn start(&mut self, bytes: &[u8], colon: usize) -> usize {
        if let Some(i) = memchr::memrchr(b'\n', &bytes[self.last..colon]) {
            self.line = self.last + i + 1;
        }
        self.last = colon;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::may_hold_sites;

    #[test]
    fn images_tags_and_versioned_objects_may_hold_sites() {
        for text in [
            "initContainers:\n  - name: init\n    image: busybox:1.36\n",
            "sidecar:\n  repository: x/y\n  imageTag: v1\n",
            "dependencies:\n  - name: redis\n    version: 17.3.0\n    repository: https://charts\n",
            "a: {name: redis, version: 1.0}\n",
            "a: {\n  name: redis,\n    version: 1.0 }\n",
            "{\"image\":\"x:1\"}\n",
            "? image\n: x:1\n",
            "  ? image\n  : x:1\n",
            "- ? image\n  : x:1\n",
            "*k : v\n",
            "a:\n  image\t: nginx:1.25.3\n",
            "b: {image\n   : nginx:1.25.3}\n",
            "b: {\"ima\\\n  ge\": nginx:1.25.3}\n",
            "\"im\\u0061ge\": x:1\n",
            // Quotes that close before the key's colon, or that open no scalar.
            "- \"image\": x:1\n",
            "{\"a\": \"b: c\", \"image\": \"x:1\"}\n",
            "a: 'it''s: here'\nimage: x:1\n",
            "a: \"b\\\" c: d\"\nimage: x:1\n",
            "a: !t \"b\"\n\"tag\": v1\n",
            // Quotes the line alone cannot vouch for (found by a review).
            "- {note: !!str \"step #1\", image: nginx:1.25}\n",
            "- !t \"a #\": {image: nginx:1.25}\n",
            "{\"note\":\"see #1\",\"image\":\"nginx:1.25\"}\n",
            "{\"a\":\"x, 'y\",\"image\":\"nginx:1\"}\n",
            "{a: \"x\n  \", image: nginx:1.25}\n",
            "{a: \"x\n  # y\", image: nginx:1.25}\n",
            "{\"image\\\n  \": nginx:1.25}\n",
            "x, \"Image: nginx:1.25\n",
            "{a: \"x\n  b: \", image: nginx:1}\n",
            "{a: 'x\n  b: \"it': image: b\"}\n",
            "k: \": image: x\"\n",
            "{a: \"x\n  k: 'y\", image: nginx:1'}\n",
            "{a: 'x\n  k: \"y', image: nginx:1\"}\n",
            "{a: 'x\n  k: \"y\\', image: nginx:1.25, z: '\"'}\n",
            "{a: 'x\n  k: ''', image: nginx:1.25, z: '\"'}\n",
            "{a: 'x\n  k: ''', name: redis, version: 1.0, z: '\"'}\n",
        ] {
            assert!(may_hold_sites(text), "{text:?}");
        }
    }

    #[test]
    fn texts_without_those_keys_cannot() {
        for text in [
            // SNMP exporter modules: a version beside walk and auth, names one level down.
            "dell:\n  walk:\n  - 1.3.6.1\n  metrics:\n  - name: temp\n    oid: 1.3.6\n  version: 2\n  auth:\n    community: public\n",
            "help: The stage: voltage tags of a hashtag\n",
            "expr: rate(x{job=\"a\"}[5m]) > 0\n",
            "a: b?c\nwhy: ? not a key\n",
            // A quoted help text whose next line starts with a colon.
            "help: 'Signal quality\n  :signal strength is 3'\n",
            // Alerting rules: colons inside quoted annotations, and after a comment.
            "- alert: Down\n  annotations:\n    summary: \"{{ $labels.pod }}: down {{ $value }}\"\n    description: '{{ $labels.node }}: it''s: {{ $x }}'\n",
            "- - key: \"{{ $a }}: b \\\" c: d\"\n",
            "description: \"it doesn't: {{ $x }}\"\nhelp: 'a \"b\" c: {{ $y }}'\n",
        ] {
            assert!(!may_hold_sites(text), "{text:?}");
        }
    }

    #[test]
    fn keys_of_flow_collections_in_a_value_count() {
        for text in [
            "a: {image: x:1}\n",
            "- a: [{name: redis, version: 1.0}]\n",
            "a: &x {tag: v1}\n",
            "a: b # c\nimage: x:1\n",
        ] {
            assert!(may_hold_sites(text), "{text:?}");
        }
    }

    /// Random values texts made of keys that hold sites and keys that do not, flow
    /// collections, comments and quoted text after a line's first key: wherever the
    /// parser finds a site, the key check must not have said there can be none.
    #[test]
    fn random_texts_with_sites_are_never_judged_without() {
        const INDENT: [&str; 4] = ["", "  ", "    ", "- "];
        const KEY: [&str; 12] = [
            "a: ",
            "image: ",
            "tag: ",
            "name: ",
            "version: ",
            "help: ",
            "\"image\": ",
            "'image': ",
            "\"a\": ",
            "- ",
            "- - ",
            "",
        ];
        const VALUE: [&str; 31] = [
            "\"{{ $v }}: x\"",
            "'it''s: {{ $v }}'",
            "\"esc \\\" image: x\"",
            "y \"image: x\"",
            "\"a\" # image: x",
            "[x, \"b: c\", image: x]",
            "\"open: {{ $v }}",
            "!!str \"a #\", image: x:1",
            "&q \"b: c\"",
            "{\"n\":\"x #1\",\"image\":\"x:1\"}",
            "\"multi\n  line: x\"",
            "\"two\n  \", image: x:1",
            "'one\n  b: \"it': image: x:1",
            "\"two\n  b: 'it\", image: x:1'",
            "\"don't: {{ $v }}\"",
            "'''",
            "\"y\\', image: x:1, z: '\"'",
            "x/y:1.0",
            "text: more",
            "{image: x:1}",
            "[{name: r, version: 1}]",
            "b # {",
            "'q: {'",
            "\"image: x\"",
            "{a: [1, 2]}",
            "&k {tag: v2}",
            "",
            "# image: x",
            "]",
            "{name: r,",
            "version: 2}",
        ];
        let mut next = super::super::picker(0x9e37_79b9_7f4a_7c15);
        let mut with_sites = 0;
        for _ in 0..100_000 {
            let mut text = String::new();
            for _ in 0..1 + next(5) {
                for part in [&INDENT[..], &KEY, &VALUE] {
                    text.push_str(part[next(part.len())]);
                }
                text.push('\n');
            }
            let Ok(facts) = super::super::parse(&text, true) else {
                continue;
            };
            if !facts.sites.is_empty() {
                with_sites += 1;
                assert!(may_hold_sites(&text), "{text:?}");
            }
        }
        assert!(with_sites > 5_000, "{with_sites} texts with sites");
    }

    /// A line of the `KEY: "…"` shape after a line that leaves a quoted scalar or a flow
    /// collection open, its value a run of quotes, escapes and doubled quotes of both kinds
    /// then keys and indicators: the quoted value the line seems to have must never hide a key
    /// the parser reads (the shapes two reviews found, and their neighbours).
    #[test]
    fn random_quoted_values_after_an_open_scalar_never_hide_a_key() {
        const OPEN: [&str; 8] = [
            "{a: '", "{a: \"", "{a: ", "a: '", "a: \"", "- {a: '", "[x, '", "[x, \"",
        ];
        const FIRST: [&str; 3] = ["x", "x y", ""];
        const QUOTES: [&str; 7] = ["'", "\"", "''", "\\'", "\\\"", "x", "n't"];
        const TAIL: [&str; 8] = [
            ", image: nginx:1.25, z: '\"'}",
            ", image: nginx:1.25, z: \"'\"}",
            ", name: redis, version: 1.0, z: '\"'}",
            ": image: x",
            " {{ $v }}: w\"",
            " {{ $v }}: w'",
            ", image: nginx:1.25\"}",
            ", image: nginx:1.25'}",
        ];
        const CLOSE: [&str; 6] = ["", "}", "'}", "\"}", "z: '\"'}", "image: nginx:1.2"];
        let mut next = super::super::picker(0x2545_f491_4f6c_dd1d);
        let (mut with_sites, mut hidden) = (0, 0);
        for _ in 0..200_000 {
            let mut text = format!("{}{}\n  k: ", OPEN[next(OPEN.len())], FIRST[next(3)]);
            for _ in 0..1 + next(3) {
                text.push_str(QUOTES[next(QUOTES.len())]);
            }
            text.push_str(TAIL[next(TAIL.len())]);
            text.push('\n');
            text.push_str(CLOSE[next(CLOSE.len())]);
            text.push('\n');
            let line = text.find("  k:").expect("the line");
            hidden += usize::from(super::quoted_value(text.as_bytes(), line).is_some());
            let Ok(facts) = super::super::parse(&text, true) else {
                continue;
            };
            if !facts.sites.is_empty() {
                with_sites += 1;
                assert!(may_hold_sites(&text), "{text:?}");
            }
        }
        assert!(
            with_sites > 1_000 && hidden > 10_000,
            "{with_sites} with sites, {hidden} hiding"
        );
    }
}
