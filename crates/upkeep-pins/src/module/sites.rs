//! Turning a site into pin material: name, canonical name, version token, status.

use super::resolved::Resolved;
use super::scope::{Scopes, TemplateArgs};
use super::{Found, placeholder, unquote};
use crate::canonical::{chart_canonical, git_canonical, registry_canonical};
use crate::image::{ImageRef, canonical_image_name};
use crate::pin::{PinKind, PinStatus};
use crate::site::{ChartRef, Site, SiteKind, Value};

/// Whether a version reads as a release (`1.4.2`, `v1.4.2`, `2024.10.5`): a digit (after an
/// optional `v`) and at least one dot, so an API version (`v1`, `v1beta1`) or a range
/// (`2.x.x`, `>= 1.0`) is not taken for one.
fn looks_like_release(text: &str) -> bool {
    let body = text.strip_prefix(['v', 'V']).unwrap_or(text);
    body.starts_with(|c: char| c.is_ascii_digit())
        && body.contains('.')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
        && !body
            .split(['.', '-'])
            .any(|part| part.eq_ignore_ascii_case("x"))
}

/// Functions whose result may be an image reference built from their arguments; a call to
/// any other function (`jsonencode`, `base64encode`, `file`, `length`) cannot be one.
const IMAGE_BUILDERS: [&str; 16] = [
    "coalesce",
    "element",
    "format",
    "join",
    "lookup",
    "lower",
    "nonsensitive",
    "one",
    "replace",
    "sensitive",
    "substr",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
];

/// Whether an expression that upkeep cannot evaluate may still yield an image reference: not
/// a call to a function outside [`IMAGE_BUILDERS`], and not a `join` whose separator cannot
/// be part of a reference (`join(" | ", [...])` builds a pattern list, as Kyverno policies
/// do). References, conditionals, indexes and templates may.
fn may_build_an_image(source: &str) -> bool {
    let Some((function, args)) = whole_call(source.trim()) else {
        return true;
    };
    if !IMAGE_BUILDERS.contains(&function) {
        return false;
    }
    if function == "join" {
        let separator = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
            .map(|(separator, _)| separator);
        let image_byte = |b: u8| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/' | b'@')
        };
        return separator.is_none_or(|separator| separator.bytes().all(image_byte));
    }
    true
}

/// When `source` is one function call and nothing else (`join(" | ", [...])`, not
/// `f(x) == "" ? a : b`), its function name and the text of its arguments.
fn whole_call(source: &str) -> Option<(&str, &str)> {
    let name_end = source
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|&end| end > 0)?;
    let name = &source[..name_end];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = source[name_end..].trim_start();
    let open = source.len() - rest.len();
    if !rest.starts_with('(') {
        return None;
    }
    let bytes = source.as_bytes();
    let (mut depth, mut in_string, mut i) = (0usize, false, open);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'#' if !in_string => i = line_end(bytes, i),
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i..], b"*/").map_or(bytes.len(), |end| i + end + 1)
            }
            b'(' | b'[' | b'{' if !in_string => depth += 1,
            b')' | b']' | b'}' if !in_string => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (i == bytes.len() - 1).then(|| (name, &source[open + 1..i]));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset of the newline ending the line `from` is on (or the end).
fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |end| from + end)
}

/// The name of an artifact as compared: lower case, without a URL scheme or trailing `/`.
fn artifact_canonical(name: &str) -> String {
    let name = name.split_once("://").map_or(name, |(_, rest)| rest);
    name.trim_end_matches('/').to_ascii_lowercase()
}

/// The one image name the quoted `name:tag` strings of an expression share
/// (`var.gpu ? "x/y:1.6-cuda" : "x/y:cpu-1.6"` names `x/y`), or `None`.
fn image_named_in(source: &str) -> Option<String> {
    let mut names = source.split('"').skip(1).step_by(2).filter_map(|text| {
        let image = ImageRef::parse(text)?;
        image.tag.as_ref()?;
        Some(&text[image.name])
    });
    let first = names.next()?;
    names.all(|name| name == first).then(|| first.to_owned())
}

impl<'a> Scopes<'a> {
    /// Turns one site (of file `file`, evaluated in scope `scope`) into pin material, or
    /// `None` when it is not a pin after all (a string that cannot be an image, an empty
    /// tag), with the resolved value.
    pub(super) fn pin(
        &self,
        scope: usize,
        file: usize,
        site: &'a Site,
        template: Option<TemplateArgs<'a>>,
    ) -> Option<(Found, Resolved<'a>)> {
        let resolved = self.resolve(scope, file, &site.value, template);
        let found = self.found(scope, file, site, template, &resolved)?;
        Some((found, resolved))
    }

    fn found(
        &self,
        scope: usize,
        file: usize,
        site: &'a Site,
        template: Option<TemplateArgs<'a>>,
        resolved: &Resolved<'a>,
    ) -> Option<Found> {
        let resolve = |value: &'a Value| self.resolve(scope, file, value, template).text;
        match &site.kind {
            SiteKind::Image { kind } => self.image(*kind, resolved, &site.value),
            SiteKind::ImageTag {
                kind,
                repository,
                registry,
                digest,
                key,
                chart,
                ..
            } => {
                if resolved.text.is_empty() {
                    return None;
                }
                // An expression in a part is shown as `${…}`, as in an image string.
                let part = |value: &'a Value| {
                    let resolved = self.resolve(scope, file, value, template);
                    let all = 0..resolved.text.len();
                    if resolved.has_unresolved(&all) && !resolved.text.contains("${") {
                        format!("${{{}}}", resolved.text)
                    } else {
                        resolved.text
                    }
                };
                let repository = repository.as_ref().map(part);
                let registry = registry
                    .as_ref()
                    .map(part)
                    .filter(|registry| !registry.trim().is_empty());
                let name = match (registry, repository) {
                    (Some(registry), Some(repository))
                        if !repository.starts_with(&format!("{registry}/")) =>
                    {
                        Some(format!("{registry}/{repository}"))
                    }
                    (_, repository) => repository,
                };
                let Some(name) = name else {
                    // A tag whose image is not named next to it: the chart supplies the image
                    // (`image.tag` alone). Named by the chart of the release whose values hold
                    // it; else where it is written is all that is known.
                    let release = match (chart, template) {
                        (Some(chart), _) => self.chart_name(scope, file, chart),
                        (None, Some(args)) => args
                            .chart
                            .and_then(|chart| self.chart_name(scope, args.file, chart)),
                        (None, None) => None,
                    };
                    let key = key.strip_prefix("values.").unwrap_or(key);
                    let named = release.is_some();
                    let (name, canonical) = match release {
                        Some((chart, canonical)) => {
                            (format!("{chart}[{key}]"), format!("{canonical}[{key}]"))
                        }
                        None => (key.to_owned(), key.to_owned()),
                    };
                    let mut found = Found::new(*kind, name, canonical, resolved).with_version(
                        resolved,
                        0..resolved.text.len(),
                        &site.value,
                    );
                    if found.status == PinStatus::Pinned && !named {
                        found.status = PinStatus::Unnamed;
                    }
                    return Some(found);
                };
                let canonical = if name.contains("${") {
                    name.clone()
                } else {
                    canonical_image_name(&name)
                };
                let tag_end = resolved.text.find('@').unwrap_or(resolved.text.len());
                let reference = format!("{name}:{}", resolved.text);
                let mut found = Found::new(*kind, name, canonical, resolved).with_version(
                    resolved,
                    0..tag_end,
                    &site.value,
                );
                found.digest = resolved
                    .text
                    .get(tag_end + 1..)
                    .map(str::to_owned)
                    .or_else(|| digest.as_ref().map(resolve).filter(|d| !d.is_empty()));
                found.resolved = reference;
                if placeholder(&found.name) {
                    found.unresolve(&site.value);
                }
                Some(found)
            }
            SiteKind::Chart { chart, repository } => {
                let chart = chart.as_ref().map(resolve).unwrap_or_default();
                let repository = repository.as_ref().map(resolve);
                let canonical = chart_canonical(&chart, repository.as_deref());
                let mut found = Found::new(PinKind::HelmChart, chart, canonical, resolved);
                found.repository = repository;
                Some(self.constrained(found, resolved, &site.value))
            }
            SiteKind::UnversionedChart { repository } => {
                let chart = resolved.text.clone();
                if chart.starts_with(['.', '/']) || resolved.has_unresolved(&(0..chart.len())) {
                    return None;
                }
                let repository = repository.as_ref().map(resolve);
                let canonical = chart_canonical(&chart, repository.as_deref());
                let mut found = Found::new(PinKind::HelmChart, chart, canonical, resolved);
                found.repository = repository;
                found.status = PinStatus::Unpinned;
                Some(found)
            }
            SiteKind::Provider { source } => {
                let canonical = registry_canonical(source, 2, Some("hashicorp"));
                let found = Found::new(PinKind::Provider, source.clone(), canonical, resolved);
                Some(self.constrained(found, resolved, &site.value))
            }
            SiteKind::Module { source } => {
                let source = resolve(source);
                let canonical = registry_canonical(&source, 3, None);
                let found = Found::new(PinKind::Module, source, canonical, resolved);
                Some(self.constrained(found, resolved, &site.value))
            }
            SiteKind::Versioned { name, repository } => {
                let name = resolve(name);
                let repository = repository
                    .as_ref()
                    .map(resolve)
                    .filter(|repository| repository.contains("://"));
                if name.is_empty() || name.contains("${") || !looks_like_release(&resolved.text) {
                    return None;
                }
                let found = match repository {
                    Some(repository) => {
                        let canonical = chart_canonical(&name, Some(&repository));
                        let mut found = Found::new(PinKind::HelmChart, name, canonical, resolved);
                        found.repository = Some(repository);
                        found
                    }
                    None => {
                        let canonical = artifact_canonical(&name);
                        Found::new(PinKind::Artifact, name, canonical, resolved)
                    }
                };
                Some(found.with_version(resolved, 0..resolved.text.len(), &site.value))
            }
            SiteKind::SourceRef => {
                let text = &resolved.text;
                let query = text.find('?')?;
                let start = query + text[query..].find("ref=")? + "ref=".len();
                let end = text[start..].find('&').map_or(text.len(), |i| start + i);
                let name = text[..query].to_owned();
                let canonical = git_canonical(&name);
                Some(
                    Found::new(PinKind::Module, name, canonical, resolved).with_version(
                        resolved,
                        start..end,
                        &site.value,
                    ),
                )
            }
        }
    }

    /// The chart name and canonical name of a `helm_release`'s chart (whose attributes are in
    /// file `file`), or `None` when they cannot be read statically.
    fn chart_name(
        &self,
        scope: usize,
        file: usize,
        chart: &'a ChartRef,
    ) -> Option<(String, String)> {
        let name = self.resolve(scope, file, &chart.chart, None);
        if name.text.is_empty() || name.has_unresolved(&(0..name.text.len())) {
            return None;
        }
        let repository = chart
            .repository
            .as_ref()
            .map(|repository| self.resolve(scope, file, repository, None))
            .filter(|repository| !repository.has_unresolved(&(0..repository.text.len())))
            .map(|repository| repository.text);
        let canonical = chart_canonical(&name.text, repository.as_deref());
        Some((name.text, canonical))
    }

    fn image(&self, kind: PinKind, resolved: &Resolved<'a>, value: &Value) -> Option<Found> {
        let Some(image) = ImageRef::parse(&resolved.text) else {
            let unresolved = resolved.has_unresolved(&(0..resolved.text.len()));
            return (unresolved && may_build_an_image(&value.source)).then(|| {
                let name = resolved
                    .literal_image_name()
                    .map(str::to_owned)
                    .or_else(|| image_named_in(&value.source));
                let (name, canonical) = match name {
                    Some(name) => {
                        let canonical = canonical_image_name(&name);
                        (name, canonical)
                    }
                    None => (resolved.text.clone(), resolved.text.clone()),
                };
                let mut found = Found::new(kind, name, canonical, resolved);
                found.expression = Some(unquote(&value.source).to_owned());
                found
            });
        };
        let name = resolved.text[image.name.clone()].to_owned();
        let canonical = if resolved.has_unresolved(&image.name) {
            name.clone()
        } else {
            canonical_image_name(&name)
        };
        let digest = image
            .digest
            .clone()
            .map(|range| resolved.text[range].to_owned());
        let name_unresolved = resolved.has_unresolved(&image.name);
        let mut found = match image.tag {
            Some(tag) => {
                Found::new(kind, name, canonical, resolved).with_version(resolved, tag, value)
            }
            // `${var.image}` with no value: it may well hold a tag; nothing is known.
            None if name_unresolved => {
                let mut found = Found::new(kind, name, canonical, resolved);
                found.unresolve(value);
                found
            }
            None => {
                let mut found = Found::new(kind, name, canonical, resolved);
                found.status = if digest.is_some() {
                    PinStatus::DigestOnly
                } else {
                    PinStatus::Untagged
                };
                found
            }
        };
        found.digest = digest;
        if name_unresolved {
            found.expression = Some(unquote(&value.source).to_owned());
        }
        if placeholder(&resolved.text) {
            found.unresolve(value);
        }
        Some(found)
    }

    /// Splits a version constraint (`~> 2.30`, `= 1.2.0`, `>= 1.0, < 2.0`) into its operator
    /// and the version token; ranges are reported as such, never rewritten.
    fn constrained(&self, mut found: Found, resolved: &Resolved<'a>, value: &Value) -> Found {
        let text = &resolved.text;
        let lead = text.len() - text.trim_start().len();
        let operator = ["~>", ">=", "<=", "!=", "=", ">", "<", "^", "~"]
            .into_iter()
            .find(|op| text[lead..].starts_with(op))
            .unwrap_or("");
        let after = &text[lead + operator.len()..];
        let version_start = lead + operator.len() + (after.len() - after.trim_start().len());
        let version_end = text.trim_end().len().max(version_start);
        let is_range = text[version_start..version_end].contains([',', ' ', '|', '*'])
            || matches!(operator, ">=" | "<=" | "!=" | ">" | "<");
        let operator = (!operator.is_empty()).then(|| operator.to_owned());
        if is_range && !resolved.has_unresolved(&(0..text.len())) {
            found.status = PinStatus::Range;
            found.version = Some(text.clone());
            found.constraint = operator;
            return found;
        }
        found = found.with_version(resolved, version_start..version_end, value);
        found.constraint = operator;
        found
    }
}
