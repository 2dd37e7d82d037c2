//! Collecting a Terraform file (or a `.tfvars` or `terragrunt.hcl` file) by its outline: only
//! the pieces that can hold pins are parsed, then walked by the same [`Collector`] methods a
//! full parse uses, so the facts are the same.

use super::constructors::is_traversal;
use super::ignores::plain_ignore_paths;
use super::{Collector, HelmRelease, Resource, ignore_paths, is_vm_resource, local_source};
use crate::hcl::Flavor;
use crate::hcl::outline::{Item, Outline, object_entries};
use crate::shapes::{self, is_image_key};
use crate::site::{FileFacts, Lit, META_ARGUMENTS, ModuleCall, Piece, Reference, Value};
use aho_corasick::{AhoCorasick, MatchKind};
use hcl_edit::expr::Expression;
use std::ops::Range;
use std::sync::LazyLock;

/// Collects the facts of a file of `flavor` (Terraform, `.tfvars` or `terragrunt.hcl`) by
/// parsing only the pieces that can hold pins (see [`super::outline`]). Returns `None` when
/// the outline or a piece does not parse; the caller then parses the whole file, so the result
/// is never less than a full parse finds.
pub(in crate::hcl) fn collect_outlined(
    src: &str,
    start: usize,
    outline: Outline,
    flavor: Flavor,
) -> Option<FileFacts> {
    let map = Map::new(src, outline)?;
    let mut collector = Collector::new(src, start);
    collector.outlined_assignments(map.outline.top(), flavor)?;
    if matches!(flavor, Flavor::Tfvars(_)) {
        return Some(collector.facts);
    }
    collector.outlined_attributes(&map, map.outline.top())?;
    for item in map.outline.top() {
        let Item::Block {
            ident,
            label,
            whole,
            children,
            ..
        } = item
        else {
            continue;
        };
        let kind = label.clone().map(|label| &src[label]);
        match &src[ident.clone()] {
            "variable" => collector.outlined_variable(label.as_ref(), map.children(children))?,
            "locals" => collector.outlined_locals(&map, map.children(children))?,
            "terraform" => collector.outlined_terraform(&map, map.children(children))?,
            "module" => collector.outlined_module(&map, children)?,
            "resource" | "data" if kind == Some("helm_release") => {
                collector.outlined_helm_release(&map, children)?
            }
            "resource" | "data" => {
                let vm = kind.is_some_and(is_vm_resource);
                collector.outlined_resource(&map, children, vm)?
            }
            _ if map.may_hold_pins(whole) => collector.parse_block(whole)?,
            _ => {}
        }
    }
    Some(collector.facts)
}

/// Words without which a piece of text cannot produce a site outside the blocks that are
/// always parsed: `mage` covers `image` and `Image`, `templatefile` a values template,
/// `file(` a values file of a `helm_release`,
/// `repo` and `uri` the name next to a tag in an image split over several keys (see
/// [`crate::shapes`]), `version` an object naming something versioned.
const PIN_WORDS: [(&str, Boundary); 6] = [
    ("mage", Boundary::Any),
    ("templatefile", Boundary::Any),
    ("file(", Boundary::NotName),
    ("repo", Boundary::Any),
    ("uri", Boundary::NotLetter),
    ("version", Boundary::NotName),
];

/// What may come before a pin word for it to count.
#[derive(Clone, Copy)]
enum Boundary {
    /// Anything.
    Any,
    /// Not a letter (`image_uri`, not `security`).
    NotLetter,
    /// Not a letter, digit or `_` (a `version` key, not `engine_version` or `apiVersion`).
    NotName,
}

/// A file's outline, and where the [`PIN_WORDS`] occur in it: found in one pass over the
/// file, so asking whether a nested body may hold pins does not read its text again.
pub(super) struct Map {
    outline: Outline,
    /// The byte range of every occurrence of a pin word that its boundary lets count, by start.
    mentions: Vec<Range<usize>>,
}

impl Map {
    /// `None` if the words' automaton could not be built (it always is): the caller then
    /// parses the whole file.
    fn new(src: &str, outline: Outline) -> Option<Map> {
        // One pass for all the words. Leftmost-first finds no word that overlaps one found
        // before it; the only words that can overlap are `templatefile(` and the `file(` in
        // it, which its boundary refuses anyway.
        static WORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(PIN_WORDS.map(|(word, _)| word))
                .ok()
        });
        let bytes = src.as_bytes();
        let counts = |found: &aho_corasick::Match| {
            let start = found.start();
            let before = start.checked_sub(1).map(|i| bytes[i]);
            match (PIN_WORDS[found.pattern().as_usize()].1, before) {
                (Boundary::Any, _) | (_, None) => true,
                (Boundary::NotLetter, Some(b)) => !b.is_ascii_alphabetic(),
                (Boundary::NotName, Some(b)) => !(b.is_ascii_alphanumeric() || b == b'_'),
            }
        };
        let mentions = WORDS
            .as_ref()?
            .find_iter(bytes)
            .filter(counts)
            .map(|found| found.range())
            .collect();
        Some(Map { outline, mentions })
    }

    /// The items of a block's body.
    fn children(&self, children: &Range<usize>) -> &[Item] {
        self.outline.children(children)
    }

    /// Whether a pin word lies entirely within `range`.
    pub(super) fn may_hold_pins(&self, range: &Range<usize>) -> bool {
        let first = self
            .mentions
            .partition_point(|mention| mention.start < range.start);
        self.mentions[first..]
            .iter()
            .take_while(|mention| mention.start < range.end)
            .any(|mention| mention.end <= range.end)
    }
}

impl Collector<'_> {
    /// The value of one expression of the file: read directly when it is a simple string or
    /// reference, parsed otherwise.
    pub(super) fn value_at(&mut self, expr: &Range<usize>) -> Option<Value> {
        if let Some(value) = self.simple_string(expr) {
            return Some(value);
        }
        let source = &self.src[expr.clone()];
        let piece = match simple_reference(source) {
            Some(reference) => Some(Piece::Ref(reference)),
            // What the parser would make an opaque piece of, read without it.
            None if is_opaque_operand(source) => Some(Piece::Opaque(source.to_owned())),
            None => None,
        };
        match piece {
            Some(piece) => Some(Value {
                pieces: vec![piece],
                source: source.to_owned(),
                span: expr.clone(),
            }),
            None => {
                let parsed = self.parse_expr_at(expr)?;
                Some(self.value(&parsed))
            }
        }
    }

    /// Parses one expression of the file; spans of the result are relative to `self.base`,
    /// which is set to the expression's start.
    pub(super) fn parse_expr_at(&mut self, expr: &Range<usize>) -> Option<Expression> {
        let parsed = hcl_edit::parser::parse_expr(&self.src[expr.clone()]).ok()?;
        self.base = expr.start;
        Some(parsed)
    }

    /// The expression range of attribute `name` among `items`.
    fn attribute_range(&self, items: &[Item], name: &str) -> Option<Range<usize>> {
        items.iter().find_map(|item| match item {
            Item::Attribute { key, expr } if &self.src[key.clone()] == name => Some(expr.clone()),
            _ => None,
        })
    }

    /// A `terraform` block by its outline: its `source` and `required_providers` blocks.
    fn outlined_terraform(&mut self, map: &Map, items: &[Item]) -> Option<()> {
        if let Some(source) = self.attribute_range(items, "source") {
            let source = self.value_at(&source)?;
            self.source_ref(&source);
        }
        for item in items {
            if let Item::Block {
                ident, children, ..
            } = item
                && &self.src[ident.clone()] == "required_providers"
            {
                for provider in map.children(children) {
                    if let Item::Attribute { key, expr } = provider {
                        self.outlined_provider(&self.src[key.clone()], expr)?;
                    }
                }
            }
        }
        Some(())
    }

    /// Does what [`Collector::provider`] does with the parsed requirement at `expr`.
    fn outlined_provider(&mut self, local_name: &str, expr: &Range<usize>) -> Option<()> {
        if !self.src[expr.clone()].starts_with('{') {
            let version = self.value_at(expr)?;
            self.provider_site(local_name, None, version);
            return Some(());
        }
        let Some(entries) = object_entries(self.src, expr) else {
            let parsed = self.parse_expr_at(expr)?;
            self.provider(local_name, &parsed);
            return Some(());
        };
        // Like the parsed walk's map of entries, the last of duplicate keys counts.
        let last = |name: &str| {
            entries
                .iter()
                .rev()
                .find(|(key, _)| &self.src[key.clone()] == name)
                .map(|(_, value)| value.clone())
        };
        let Some(version) = last("version") else {
            return Some(());
        };
        let source = match last("source") {
            Some(source) => self
                .value_at(&source)?
                .as_literal()
                .map(|lit| lit.text.clone()),
            None => None,
        };
        let version = self.value_at(&version)?;
        self.provider_site(local_name, source, version);
        Some(())
    }

    /// A `module` block by its outline: `source` and `version`, then what may hold pins.
    fn outlined_module(&mut self, map: &Map, children: &Range<usize>) -> Option<()> {
        let items = map.children(children);
        let source = match self.attribute_range(items, "source") {
            Some(source) => Some(self.value_at(&source)?),
            None => None,
        };
        let version = match self.attribute_range(items, "version") {
            Some(version) => Some(self.value_at(&version)?),
            None => None,
        };
        let local = local_source(source.as_ref());
        if let Some(source) = local {
            self.outlined_call(source, items)?;
        }
        self.module_sites(source, version);
        let rest: Vec<Item> = items
            .iter()
            .filter(|item| match item {
                Item::Attribute { key, .. } => {
                    !matches!(&self.src[key.clone()], "source" | "version")
                }
                Item::Block { .. } => true,
            })
            .cloned()
            .collect();
        self.outlined_body(map, &rest)
    }

    /// Records the call of a local module with the arguments among `items`, as
    /// [`Collector::module`] does.
    fn outlined_call(&mut self, source: String, items: &[Item]) -> Option<()> {
        let mut args = Vec::new();
        for item in items {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let name = &self.src[key.clone()];
            if META_ARGUMENTS.contains(&name) {
                continue;
            }
            self.push_named(name, expr, &mut args)?;
        }
        self.facts.calls.push(ModuleCall { source, args });
        Some(())
    }

    /// Pushes onto `out` the value at `expr` named `name`, after its entries' dotted names
    /// when it is an object (see [`Collector::object_names`]), as the parsed walk names a
    /// module argument or a local.
    fn push_named(
        &mut self,
        name: &str,
        expr: &Range<usize>,
        out: &mut Vec<(String, Value)>,
    ) -> Option<()> {
        let value = self.named_value(name, expr, out)?;
        out.push((name.to_owned(), value));
        Some(())
    }

    /// The value at `expr`, after pushing onto `out` its entries' dotted names under `name`
    /// when it is an object. Read by [`Collector::outlined_value_named`]; parsed whole when
    /// that cannot read it.
    fn named_value(
        &mut self,
        name: &str,
        expr: &Range<usize>,
        out: &mut Vec<(String, Value)>,
    ) -> Option<Value> {
        let read = out.len();
        if let Some(value) = self.outlined_value_named(name, expr, 0, out) {
            return Some(value);
        }
        out.truncate(read);
        let parsed = self.parse_expr_at(expr)?;
        self.object_names(name, &parsed, 0, out);
        Some(self.value(&parsed))
    }

    /// A `helm_release` by its outline: the chart attributes and `set` entries always, the
    /// rest only where it may hold pins.
    fn outlined_helm_release(&mut self, map: &Map, children: &Range<usize>) -> Option<()> {
        let items = map.children(children);
        let ignored = self.lifecycle_ignores(map, items)?;
        self.resource = Some(Resource {
            helm: Some(HelmRelease::starting(&self.facts)),
            ignored,
            vm: false,
        });
        for item in items {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let key = &self.src[key.clone()];
            if matches!(key, "chart" | "repository" | "version") {
                let value = self.value_at(expr)?;
                if let Some(helm) = self.helm() {
                    match key {
                        "chart" => helm.chart = Some(value),
                        "repository" => helm.repository = Some(value),
                        _ => helm.version = Some(value),
                    }
                }
            } else if key == "set" || is_image_key(key) || map.may_hold_pins(expr) {
                self.path.push(key.to_owned());
                self.outlined_attribute(map, key, expr)?;
                self.path.pop();
            }
        }
        for item in items {
            let Item::Block {
                ident,
                whole,
                body,
                children,
                ..
            } = item
            else {
                continue;
            };
            match &self.src[ident.clone()] {
                "lifecycle" => {}
                "set" => {
                    let items = map.children(children);
                    let name = self.attribute_range(items, "name");
                    let value = self.attribute_range(items, "value");
                    let simple = |range: Option<Range<usize>>| self.simple_string(&range?);
                    if let (Some(name), Some(value)) = (simple(name), simple(value)) {
                        self.helm_set(&name, value);
                        continue;
                    }
                    let parsed = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
                    self.base = whole.start;
                    parsed
                        .blocks()
                        .for_each(|set| self.helm_set_block(&set.body));
                }
                ident if map.may_hold_pins(body) => {
                    self.path.push(ident.to_owned());
                    self.outlined_body(map, map.children(children))?;
                    self.path.pop();
                }
                _ => {}
            }
        }
        self.end_resource();
        Some(())
    }

    /// The `ignore_changes` paths of the `lifecycle` blocks among `items`.
    fn lifecycle_ignores(&self, map: &Map, items: &[Item]) -> Option<Vec<Vec<String>>> {
        let mut ignored = Vec::new();
        for item in items {
            if let Item::Block {
                ident, children, ..
            } = item
                && &self.src[ident.clone()] == "lifecycle"
                && let Some(expr) = self.attribute_range(map.children(children), "ignore_changes")
            {
                let text = &self.src[expr];
                match plain_ignore_paths(text) {
                    Some(paths) => ignored.extend(paths),
                    None => {
                        let parsed = hcl_edit::parser::parse_expr(text).ok()?;
                        ignored.extend(ignore_paths(&parsed));
                    }
                }
            }
        }
        Some(ignored)
    }

    /// A `locals` block by its outline, as [`Collector::locals`] does: each local's value
    /// (an object's entries also by their dotted names), then the sites in it, as definitions.
    /// Only objects and values that are not a plain string or reference are parsed.
    fn outlined_locals(&mut self, map: &Map, items: &[Item]) -> Option<()> {
        for item in items {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let mut named = Vec::new();
            self.push_named(&self.src[key.clone()], expr, &mut named)?;
            self.facts.locals.extend(named);
        }
        self.definition = true;
        let walked = self.outlined_attributes(map, items);
        self.definition = false;
        walked
    }

    /// Parses one top-level block and collects it as a full parse would.
    fn parse_block(&mut self, whole: &Range<usize>) -> Option<()> {
        let body = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
        self.base = whole.start;
        self.top_level(&body);
        Some(())
    }

    /// Walks a resource body by its outline: `lifecycle` first, then the attributes that may
    /// hold pins, parsed one expression at a time.
    fn outlined_resource(&mut self, map: &Map, children: &Range<usize>, vm: bool) -> Option<()> {
        let items = map.children(children);
        let ignored = self.lifecycle_ignores(map, items)?;
        self.resource = Some(Resource {
            helm: None,
            ignored,
            vm,
        });
        let walked = self.outlined_body(map, items);
        self.resource = None;
        walked
    }

    fn outlined_body(&mut self, map: &Map, items: &[Item]) -> Option<()> {
        self.outlined_attributes(map, items)?;
        for item in items {
            let Item::Block {
                ident,
                body,
                children,
                ..
            } = item
            else {
                continue;
            };
            let ident = &self.src[ident.clone()];
            if ident == "lifecycle" || !map.may_hold_pins(body) {
                continue;
            }
            self.path.push(ident.to_owned());
            self.outlined_body(map, map.children(children))?;
            self.path.pop();
        }
        Some(())
    }

    /// A `variable` block by its outline: only the `default` is read.
    fn outlined_variable(&mut self, label: Option<&Range<usize>>, items: &[Item]) -> Option<()> {
        let name = self.src[label?.clone()].to_owned();
        let default = items.iter().find_map(|item| match item {
            Item::Attribute { key, expr } if &self.src[key.clone()] == "default" => {
                Some(expr.clone())
            }
            _ => None,
        });
        let Some(expr) = default else {
            self.facts.variables.push((name, None));
            return Some(());
        };
        let mut entries = Vec::new();
        let default = self.named_value(&name, &expr, &mut entries)?;
        let variables = &mut self.facts.variables;
        variables.extend(entries.into_iter().map(|(name, value)| (name, Some(value))));
        variables.push((name, Some(default)));
        Some(())
    }

    /// The value of an expression that is one quoted string without escapes or directives,
    /// whose interpolations are all `${var.a.b}` or `${local.a.b}`, read straight from the
    /// bytes the outline delimited: exactly the pieces the parser would give. Anything else
    /// (escapes, spaces or other expressions inside `${}`) is `None`, left to the parser.
    pub(super) fn simple_string(&self, expr: &Range<usize>) -> Option<Value> {
        let source = &self.src[expr.clone()];
        let text = source.strip_prefix('"')?.strip_suffix('"')?;
        let special = |b: &u8| matches!(b, b'"' | b'\\' | b'\n' | b'\r');
        if text.as_bytes().iter().any(special) || text.contains("%{") || text.contains("$${") {
            return None;
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut at = expr.start + 1;
        while let Some(open) = rest.find("${") {
            if open > 0 {
                pieces.push(Piece::Lit(Lit::verbatim(&rest[..open], at)));
            }
            let inner = &rest[open + 2..];
            let close = inner.find('}')?;
            pieces.push(Piece::Ref(simple_reference(&inner[..close])?));
            let used = open + 2 + close + 1;
            rest = &rest[used..];
            at += used;
        }
        if !rest.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Lit(Lit::verbatim(rest, at)));
        }
        Some(Value {
            pieces,
            source: source.to_owned(),
            span: expr.clone(),
        })
    }

    /// Does what [`Collector::attributes`] does with the attributes among `items`.
    fn outlined_attributes(&mut self, map: &Map, items: &[Item]) -> Option<()> {
        let entries: Vec<(Range<usize>, Range<usize>)> = items
            .iter()
            .filter_map(|item| match item {
                Item::Attribute { key, expr } => Some((key.clone(), expr.clone())),
                Item::Block { .. } => None,
            })
            .collect();
        self.outlined_entries(map, &entries, None)
    }

    /// Does what [`Collector::entries`] does with these entries (key and value ranges).
    pub(super) fn outlined_entries(
        &mut self,
        map: &Map,
        entries: &[(Range<usize>, Range<usize>)],
        object: Option<Range<usize>>,
    ) -> Option<()> {
        if !entries
            .iter()
            .any(|(key, _)| shapes::may_group(&self.src[key.clone()]))
        {
            for (key, value) in entries {
                let key = &self.src[key.clone()];
                if is_image_key(key) || map.may_hold_pins(value) {
                    self.path.push(key.to_owned());
                    self.outlined_attribute(map, key, value)?;
                    self.path.pop();
                }
            }
            return Some(());
        }
        let keys: Vec<&str> = entries
            .iter()
            .map(|(key, _)| &self.src[key.clone()])
            .collect();
        let scalar: Vec<bool> = entries
            .iter()
            .map(|(_, value)| may_be_string(&self.src[value.clone()]))
            .collect();
        let (groups, used) = shapes::group(&keys, &scalar, self.under_image());
        for (i, (key, value)) in entries.iter().enumerate() {
            let key = &self.src[key.clone()];
            if used[i] || (!is_image_key(key) && !map.may_hold_pins(value)) {
                continue;
            }
            self.path.push(key.to_owned());
            self.outlined_attribute(map, key, value)?;
            self.path.pop();
        }
        for found in groups {
            let mut part = |index: Option<usize>| match index {
                Some(i) => self.value_at(&entries[i].1).map(Some),
                None => Some(None),
            };
            let (repository, registry, digest) = (
                part(found.repository)?,
                part(found.registry)?,
                part(found.digest)?,
            );
            let tag = self.value_at(&entries[found.tag].1)?;
            let key = &self.src[entries[found.tag].0.clone()];
            self.tag_site(key, tag, repository, registry, digest, object.clone());
        }
        if object.is_some()
            && let Some((name, version, repository)) = shapes::versioned(&keys, &scalar)
        {
            let name = self.value_at(&entries[name].1)?;
            let repository = match repository {
                Some(i) => Some(self.value_at(&entries[i].1)?),
                None => None,
            };
            let version = self.value_at(&entries[version].1)?;
            self.versioned_site(name, version, repository);
        }
        Some(())
    }
}

/// What [`super::may_be_string`] says of the expression `text`, read without parsing.
pub(super) fn may_be_string(text: &str) -> bool {
    !(text.starts_with(['{', '[']) || matches!(text, "null" | "true" | "false") || is_number(text))
}

/// Whether `text` is an HCL number literal: digits, an optional fraction, an optional
/// exponent.
fn is_number(text: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let integer = digits(text);
    if integer == 0 {
        return false;
    }
    let mut rest = &text[integer..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = digits(fraction);
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    if let Some(exponent) = rest.strip_prefix(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let count = digits(exponent);
        if count == 0 {
            return false;
        }
        rest = &exponent[count..];
    }
    rest.is_empty()
}

/// `var.a.b` or `local.a` written plainly (no spaces, no index) as a [`Reference`]; `None`
/// for anything else.
fn simple_reference(text: &str) -> Option<Reference> {
    let (root, name) = text.split_once('.')?;
    let ident = |part: &str| {
        let mut bytes = part.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if !name.split('.').all(ident) {
        return None;
    }
    match root {
        "var" => Some(Reference::Var(name.to_owned())),
        "local" => Some(Reference::Local(name.to_owned())),
        _ => None,
    }
}

/// Whether an expression is a number or a traversal not rooted at `var` or `local`
/// (`kubernetes_namespace.app.metadata[0].name`, `true`, `8080`): a value no pin can be read
/// from, which the parser would make one opaque piece of.
fn is_opaque_operand(text: &str) -> bool {
    let root = text.split(['.', '[']).next().unwrap_or_default();
    let number = text.split_once('.').map_or(text, |(whole, fraction)| {
        if fraction.bytes().all(|b| b.is_ascii_digit()) && !fraction.is_empty() {
            whole
        } else {
            ""
        }
    });
    let plain_number = !number.is_empty()
        && number.len() <= 15
        && (number == "0" || !number.starts_with('0'))
        && number.bytes().all(|b| b.is_ascii_digit());
    plain_number || (is_traversal(text) && !matches!(root, "var" | "local"))
}

#[cfg(test)]
mod tests {
    use super::Map;

    #[test]
    fn pin_words_are_found_in_one_pass_with_their_boundaries() {
        let src = "a = templatefile(\"v.yaml\")\nb = file(\"x\")\nc = myfile(\"x\")\n\
                   image_uri = 1\nsecurity = 1\nversion = 1\nengine_version = 1\n\
                   apiVersion = 1\nrepo = 1\nImage = 1\n";
        let outline = crate::hcl::outline::outline(src, 0).expect("outline");
        let map = Map::new(src, outline).expect("words");
        let words: Vec<&str> = map.mentions.iter().map(|m| &src[m.clone()]).collect();
        assert_eq!(
            words,
            [
                "templatefile",
                "file(",
                "mage",
                "uri",
                "version",
                "repo",
                "mage"
            ]
        );
    }
}
