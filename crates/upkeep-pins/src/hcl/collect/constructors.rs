//! Object and list constructors walked by their outline, as [`Collector::attribute`] and
//! [`Collector::object`] walk parsed ones. Only entries that are neither plain strings, plain
//! references nor constructors themselves are handed to the parser, so a large manifest or
//! `yamlencode({…})` costs a lexical pass instead of a parse.

use super::outlined::{Map, may_be_string};
use super::{Collector, MAX_OBJECT_DEPTH};
use crate::hcl::outline::{list_elements, object_entries};
use crate::shapes::is_image_key;
use crate::site::{Piece, Value};
use std::ops::Range;

impl Collector<'_> {
    /// Does what [`Collector::attribute`] does with the parsed expression at `expr`, the
    /// current path ending with `key`.
    pub(super) fn outlined_attribute(
        &mut self,
        map: &Map,
        key: &str,
        expr: &Range<usize>,
    ) -> Option<()> {
        let helm_attribute = self.path.len() == 1
            && self.helm().is_some()
            && matches!(key, "chart" | "repository" | "version" | "set");
        if helm_attribute {
            self.parsed_attribute(key, expr)
        } else if is_image_key(key) && may_be_string(&self.src[expr.clone()]) {
            let value = self.value_at(expr)?;
            self.image_site(value);
            Some(())
        } else {
            self.outlined_expression(map, expr)
        }
    }

    /// Does what [`Collector::expression`] does with the parsed expression at `expr`.
    fn outlined_expression(&mut self, map: &Map, expr: &Range<usize>) -> Option<()> {
        let text = &self.src[expr.clone()];
        if is_inert(text)
            || is_traversal(text)
            || is_lone_heredoc(text)
            || self.simple_string(expr).is_some()
        {
            return Some(());
        }
        if text.starts_with('{')
            && let Some(entries) = object_entries(self.src, expr)
        {
            return self.outlined_object(map, &entries, expr);
        }
        if let Some(list) = list_elements(self.src, expr)
            && list
                .function
                .is_none_or(|name| !matches!(&self.src[name], "templatefile" | "file"))
        {
            for element in &list.elements {
                self.outlined_expression(map, element)?;
            }
            return Some(());
        }
        let parsed = self.parse_expr_at(expr)?;
        self.expression(&parsed);
        Some(())
    }

    /// The value at `expr` as [`Collector::value`] gives it parsed, after pushing onto `out`
    /// the dotted names [`Collector::object_names`] would give its entries, the object at
    /// `expr` being `depth` deep. An object or a list is read by its outline: its value is one
    /// opaque piece, and only leaves [`Collector::value_at`] cannot read plainly are parsed.
    /// `None` when a part cannot be read; then `out` may hold some of the names, and the
    /// caller parses the whole expression instead.
    pub(super) fn outlined_value_named(
        &mut self,
        prefix: &str,
        expr: &Range<usize>,
        depth: usize,
        out: &mut Vec<(String, Value)>,
    ) -> Option<Value> {
        let text = &self.src[expr.clone()];
        if text.starts_with('{') {
            for (key, value) in object_entries(self.src, expr)? {
                let key = &self.src[key];
                // The parser makes these keys literals, which have no name.
                if matches!(key, "null" | "true" | "false") {
                    return None;
                }
                if depth < MAX_OBJECT_DEPTH {
                    let name = format!("{prefix}.{key}");
                    let value = self.outlined_value_named(&name, &value, depth + 1, out)?;
                    out.push((name, value));
                } else {
                    self.outlined_value_named(prefix, &value, depth + 1, out)?;
                }
            }
        } else if text.starts_with('[') {
            let list = list_elements(self.src, expr)?;
            // The entries of objects in a list have no names.
            for element in &list.elements {
                self.outlined_value_named(prefix, element, MAX_OBJECT_DEPTH, out)?;
            }
        } else if !is_lone_heredoc(text) {
            return self.value_at(expr);
        }
        Some(Value {
            pieces: vec![Piece::Opaque(text.to_owned())],
            source: text.to_owned(),
            span: expr.clone(),
        })
    }

    /// Does what [`Collector::object`] does with a parsed object of these entries, the object
    /// being `src[object]`.
    fn outlined_object(
        &mut self,
        map: &Map,
        entries: &[(Range<usize>, Range<usize>)],
        object: &Range<usize>,
    ) -> Option<()> {
        self.outlined_entries(map, entries, Some(object.clone()))
    }

    /// Parses the expression at `expr` and walks it as the attribute `key`.
    fn parsed_attribute(&mut self, key: &str, expr: &Range<usize>) -> Option<()> {
        let parsed = self.parse_expr_at(expr)?;
        self.attribute(key, &parsed);
        Some(())
    }
}

/// Whether an expression is a number, a boolean, `null` or a reference such as
/// `var.replicas`: nothing [`Collector::expression`] looks into.
fn is_inert(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Whether an expression is a traversal and nothing else (`kubernetes_namespace.x.metadata[0].name`,
/// `local.images["app"].tag`, `var.hosts[*]`), which [`Collector::expression`] does not look
/// into; written so that anything this accepts is a valid traversal, and anything irregular
/// (spaces, operators, escapes) is left to the parser.
pub(super) fn is_traversal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let name = |at: usize| {
        let first = bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        // HCL's identifiers go on with `-` too (`kubernetes_namespace.stirling-pdf`).
        let len = bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            .count();
        first.then_some(len)
    };
    // An index as the parser takes it: no leading zero, and it fits in 64 bits.
    let digits = |at: usize| {
        let len = bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let leading_zero = len > 1 && bytes[at] == b'0';
        (len > 0 && len <= 18 && !leading_zero).then_some(len)
    };
    let Some(mut at) = name(0) else {
        return false;
    };
    while at < bytes.len() {
        at += match bytes[at] {
            b'.' if bytes.get(at + 1) == Some(&b'*') => 2,
            b'.' => match name(at + 1).or_else(|| digits(at + 1)) {
                Some(len) => 1 + len,
                None => return false,
            },
            b'[' => {
                let inner = match bytes.get(at + 1) {
                    Some(b'*') => Some(1),
                    Some(b'"') => bytes[at + 2..]
                        .iter()
                        .position(|b| {
                            !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
                        })
                        .filter(|&end| bytes.get(at + 2 + end) == Some(&b'"'))
                        .map(|end| end + 2),
                    _ => digits(at + 1),
                };
                match inner {
                    Some(len) if bytes.get(at + 1 + len) == Some(&b']') => len + 2,
                    _ => return false,
                }
            }
            _ => return false,
        };
    }
    true
}

/// Whether an expression is one heredoc and nothing else: a template, which
/// [`Collector::expression`] does not look into, whatever its interpolations hold. Shell
/// scripts in container commands and manifests are written so. One whose interpolations do
/// not all close on their own line, or that holds a directive (`%{ if }`), is refused: the
/// parser does not end a heredoc inside them, the outline does. Not parsing it, upkeep does
/// not see a syntax error in its interpolations (`--strict` parses every byte and does).
fn is_lone_heredoc(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let Some((marker, body)) = rest.split_once('\n') else {
        return false;
    };
    let marker = marker.strip_suffix('\r').unwrap_or(marker);
    let is_marker = marker
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && marker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_marker || !interpolations_close_on_their_line(body) {
        return false;
    }
    // Only the last line may start with the marker (the parser ends a heredoc at `EOT foo`
    // too), and it is the marker after blanks and tabs alone.
    let (content, last) = body.rsplit_once('\n').unwrap_or(("", body));
    last.trim_start_matches([' ', '\t']) == marker
        && content
            .split('\n')
            .all(|line| !line.trim_start().starts_with(marker))
}

/// Whether `body` holds no directive (`%%{`, an escaped one, is text) and each `${` in it
/// (escaped or not) closes on its own line; a string in it must close on that line too and
/// hold no template of its own.
fn interpolations_close_on_their_line(body: &str) -> bool {
    let bytes = body.as_bytes();
    if memchr::memmem::find_iter(bytes, b"%{").any(|at| at == 0 || bytes[at - 1] != b'%') {
        return false;
    }
    let mut at = 0;
    while let Some(open) = memchr::memmem::find(&bytes[at..], b"${").map(|i| at + i) {
        let (mut depth, mut i) = (0usize, open + 1);
        loop {
            match bytes.get(i) {
                Some(b'{') => depth += 1,
                Some(b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Some(b'"') => loop {
                    i += 1;
                    match bytes.get(i) {
                        Some(b'"') => break,
                        Some(b'\\') => i += 1,
                        Some(b'{') if matches!(bytes[i - 1], b'$' | b'%') => return false,
                        Some(b'\n') | None => return false,
                        Some(_) => {}
                    }
                },
                Some(b'\n') | None => return false,
                Some(_) => {}
            }
            i += 1;
        }
        at = i + 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{is_lone_heredoc, is_traversal};
    use hcl_edit::expr::Expression;
    use hcl_edit::parser::parse_expr;

    /// Every text of up to 6 bytes from the bytes traversals are written with: whatever is
    /// taken for a traversal, the parser reads as one too (or as a variable).
    #[test]
    fn every_short_text_taken_for_a_traversal_parses_as_one() {
        let alphabet = b"a0-_.[]*\"";
        let mut text = Vec::new();
        let mut taken = 0;
        for len in 1..=6u32 {
            for mut code in 0..alphabet.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                let text = std::str::from_utf8(&text).expect("ASCII");
                if is_traversal(text) {
                    taken += 1;
                    let parsed = parse_expr(text);
                    assert!(
                        matches!(
                            parsed,
                            Ok(Expression::Traversal(_) | Expression::Variable(_))
                        ),
                        "{text:?}: {parsed:?}"
                    );
                }
            }
        }
        assert!(taken > 1000, "{taken}");
    }

    #[test]
    fn what_is_left_unparsed_is_what_the_parser_reads_as_a_traversal_or_a_lone_heredoc() {
        for text in [
            "kubernetes_namespace.app.metadata[0].name",
            "local.images[\"vault-warden\"].tag",
            "var.hosts[*]",
            "module.db.*.id",
            "data.x.y.0",
            "each",
            "kubernetes_namespace.stirling-pdf.metadata[0].name",
            "a-b",
            "x.a--b-",
        ] {
            assert!(is_traversal(text), "{text}");
            let parsed = parse_expr(text).expect(text);
            assert!(
                matches!(parsed, Expression::Traversal(_) | Expression::Variable(_)),
                "{text}"
            );
        }
        for text in [
            "a - b",
            "-a",
            "x.-a",
            "x[var.i]",
            "x[\"a b\"]",
            "x[\"${y}\"]",
            "f(x)",
            "x.",
            "x[0",
            "1.5",
            "a == b ? c : d",
            "x[\"a\"]]",
            "data.image.y[*].01",
            "x[0].00",
            "x.18446744073709551616",
            "x[01]",
        ] {
            assert!(!is_traversal(text), "{text}");
        }
        for text in [
            "<<-EOT\n  set -eu\n  echo \"$HOME\"\n  EOT",
            "<<EOF\nrelayhost = [smtp]:587\nEOF",
            "<<-EOT\n  echo ${var.x}\n  EOT",
            "<<-EOT\n  echo $${HOME}\n  EOT",
            "<<EOT\nimage: ${jsonencode({ a = 1 })}:${var.tag}\nEOT",
            "<<-EOT\n  curl -w '%%{http_code}' ${var.url}\n  EOT",
            "<<EOT\nimage: ${var.images[\"app\"]}:${lookup(var.tags, \"a}\", \"\\\"\")}\nEOT",
        ] {
            assert!(is_lone_heredoc(text), "{text}");
            let parsed = parse_expr(text).expect(text);
            assert!(matches!(parsed, Expression::HeredocTemplate(_)), "{text}");
        }
        for text in [
            "<<EOT\nEOT\n== \"\" ? {} : <<EOT\nx\nEOT",
            // The outline ends these at `EOT`; the parser does not, inside `${` or `%{`.
            "<<EOT\n${var.image}${\nEOT",
            "<<EOT\n%{ if var.image != \"\" }\nEOT",
            "<<EOT\n%%{%{ if true }\nEOT",
            "<<EOT\n${jsonencode({ a = \"${b}\" })}\nEOT",
            "<<EOT\n${\"a\nEOT",
            "<<EOT\n${x}\nEOT == \"\" ? { image = \"redis:7.2.4\" } : <<EOT\nb\nEOT",
            "<<EOT\nnever closed\n",
            "<<EOT\nx\nEOT\n",
            "<<\"EOT\"\nx\nEOT",
            "<<EOT\ndocker pull image\nEOT foo\nEOT",
            "<<EOT\na\nEOT == \"\" ? { image = \"redis:7.2.4\" } : <<EOT\nb\nEOT",
            "<<EOT\nx\n\x0cEOT",
            "<<EOT\nx\n\rEOT",
        ] {
            assert!(!is_lone_heredoc(text), "{text}");
        }
    }
}
