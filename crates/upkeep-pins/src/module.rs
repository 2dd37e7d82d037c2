//! Joins the files of one module directory and turns their sites into pins.
//!
//! A value is resolved to text made of *segments*, each remembering where its bytes came from
//! (a literal of some file, reached through some reference) or that it could not be evaluated.
//! The version part of a resolved reference is then traced back to the one literal that holds
//! it: that literal is the token `set` rewrites.

use crate::image::{ImageRef, canonical_image_name};
use crate::location::LineIndex;
use crate::pin::{Pin, PinKind, PinStatus, PinUser, Place};
use crate::site::{FileFacts, Lit, Piece, Reference, Site, SiteKind, Value};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How many references a value may pass through; deeper chains are reported as unresolved
/// (this also stops reference cycles).
const MAX_REFERENCE_DEPTH: usize = 16;

/// A parsed file of a unit.
pub(crate) struct SourceFile {
    /// Path relative to the scanned root.
    pub rel: PathBuf,
    /// The file's text.
    pub text: String,
    /// What the parser found.
    pub facts: FileFacts,
}

/// Resolves every site of the files of one module directory (with the values files that
/// belong to it) into pins. `dir` is the module directory relative to the scanned root.
pub(crate) fn resolve(dir: &Path, files: &[SourceFile]) -> Vec<Pin> {
    let scope = Scope::new(dir, files);
    let mut pins: Vec<Pin> = Vec::new();
    let mut by_token: HashMap<(usize, usize), usize> = HashMap::new();
    let mut lines: HashMap<usize, LineIndex<'_>> = HashMap::new();
    for (index, file) in files.iter().enumerate() {
        let template = scope.templates.get(&file.rel).copied();
        for site in &file.facts.sites {
            let Some(found) = scope.pin(index, site, template) else {
                continue;
            };
            let mut place = |file: usize, offset: usize| {
                let lines = lines
                    .entry(file)
                    .or_insert_with(|| LineIndex::new(&files[file].text));
                lines.line_col(offset)
            };
            let (user_line, user_column) = place(index, site.value.span.start);
            let user = PinUser {
                file: file.rel.clone(),
                line: user_line,
                column: user_column,
                reference: unquote(&site.value.source).to_owned(),
                resolved: found.resolved,
                canonical: found.canonical.clone(),
                ignored_by_terraform: site.ignored,
            };
            if let Some(&existing) = found
                .token
                .as_ref()
                .and_then(|t| by_token.get(&(t.file, t.span.start)))
            {
                let pin: &mut Pin = &mut pins[existing];
                pin.ignored_by_terraform |= user.ignored_by_terraform;
                pin.users.push(user);
                continue;
            }
            let (file_index, span, via, shadows) = match &found.token {
                Some(token) => (
                    token.file,
                    token.span.clone(),
                    token.via.clone(),
                    token.shadows.clone(),
                ),
                None => (index, site.value.span.clone(), None, Vec::new()),
            };
            let (line, column) = place(file_index, span.start);
            let shadows = shadows
                .into_iter()
                .map(|(file, offset)| {
                    let (line, column) = place(file, offset);
                    Place {
                        file: files[file].rel.clone(),
                        line,
                        column,
                    }
                })
                .collect();
            if found.token.is_some() {
                by_token.insert((file_index, span.start), pins.len());
            }
            pins.push(Pin {
                kind: found.kind,
                name: found.name,
                canonical: found.canonical,
                version: found.version,
                status: found.status,
                file: files[file_index].rel.clone(),
                line,
                column,
                span,
                via: via.map(|r| r.display()),
                users: vec![user],
                digest: found.digest,
                constraint: found.constraint,
                expression: found.expression,
                repository: found.repository,
                ignored_by_terraform: site.ignored,
                shadows,
            });
        }
    }
    pins
}

/// A site turned into pin material, before locations become lines and columns.
struct Found {
    kind: PinKind,
    name: String,
    canonical: String,
    version: Option<String>,
    status: PinStatus,
    token: Option<Token>,
    resolved: String,
    digest: Option<String>,
    constraint: Option<String>,
    expression: Option<String>,
    repository: Option<String>,
}

impl Found {
    fn new(kind: PinKind, name: String, canonical: String, resolved: &Resolved<'_>) -> Found {
        Found {
            kind,
            name,
            canonical,
            version: None,
            status: PinStatus::Unresolved,
            token: None,
            resolved: resolved.text.clone(),
            digest: None,
            constraint: None,
            expression: None,
            repository: None,
        }
    }

    /// Fills in the version from the resolved `range`, or marks the pin unresolved.
    fn with_version(
        mut self,
        resolved: &Resolved<'_>,
        range: Range<usize>,
        source: &Value,
    ) -> Found {
        match resolved.token(range) {
            Some(token) => {
                self.status = if token.text.eq_ignore_ascii_case("latest") {
                    PinStatus::Latest
                } else {
                    PinStatus::Pinned
                };
                self.version = Some(token.text.clone());
                self.token = Some(token);
            }
            None => {
                self.status = PinStatus::Unresolved;
                self.expression = Some(unquote(&source.source).to_owned());
            }
        }
        self
    }
}

/// The literal bytes holding a version.
struct Token {
    file: usize,
    span: Range<usize>,
    text: String,
    via: Option<Reference>,
    shadows: Vec<(usize, usize)>,
}

/// Where the bytes of a resolved segment came from.
#[derive(Clone)]
enum Origin<'a> {
    Lit {
        file: usize,
        lit: &'a Lit,
        via: Option<Reference>,
        shadows: Vec<(usize, usize)>,
    },
    Unresolved,
}

/// A value resolved to text, with the origin of each segment.
struct Resolved<'a> {
    text: String,
    segments: Vec<(Range<usize>, Origin<'a>)>,
}

impl<'a> Resolved<'a> {
    fn push(&mut self, text: &str, origin: Origin<'a>) {
        let start = self.text.len();
        self.text.push_str(text);
        self.segments.push((start..self.text.len(), origin));
    }

    /// The image name when the text is `name:` followed by something upkeep cannot evaluate
    /// (`b/two:${lookup(var.tags, "two")}`): the literal prefix up to the tag separator.
    fn literal_image_name(&self) -> Option<&str> {
        let first_unresolved = self
            .segments
            .iter()
            .find(|(_, origin)| matches!(origin, Origin::Unresolved))?
            .0
            .start;
        let prefix = &self.text[..first_unresolved];
        let last_slash = prefix.rfind('/').map_or(0, |i| i + 1);
        let colon = last_slash + prefix[last_slash..].find(':')?;
        let name = &prefix[..colon];
        ImageRef::parse(name).filter(|image| image.tag.is_none() && image.digest.is_none())?;
        Some(name)
    }

    fn has_unresolved(&self, range: &Range<usize>) -> bool {
        self.overlapping(range)
            .any(|(_, origin)| matches!(origin, Origin::Unresolved))
    }

    fn overlapping<'s>(
        &'s self,
        range: &'s Range<usize>,
    ) -> impl Iterator<Item = &'s (Range<usize>, Origin<'a>)> + 's {
        self.segments
            .iter()
            .filter(move |(seg, _)| seg.start < range.end && range.start < seg.end)
    }

    /// The one literal holding `range` of the text: the only overlapping segment, or the only
    /// one reached through a reference (the rest being the user's own prefix or suffix, as the
    /// `-cuda` of `"${var.v}-cuda"`). `None` when the range is built from several values or
    /// from something upkeep cannot evaluate.
    fn token(&self, range: Range<usize>) -> Option<Token> {
        if range.is_empty() || self.has_unresolved(&range) {
            return None;
        }
        let overlapping: Vec<_> = self.overlapping(&range).collect();
        let chosen = match overlapping.as_slice() {
            [one] => *one,
            many => {
                let mut referenced = many
                    .iter()
                    .filter(|(_, o)| matches!(o, Origin::Lit { via: Some(_), .. }));
                let one = referenced.next()?;
                if referenced.next().is_some() {
                    return None;
                }
                *one
            }
        };
        let (
            seg,
            Origin::Lit {
                file,
                lit,
                via,
                shadows,
            },
        ) = chosen
        else {
            return None;
        };
        let start = range.start.max(seg.start) - seg.start;
        let end = range.end.min(seg.end) - seg.start;
        Some(Token {
            file: *file,
            span: lit.raw_range(start..end),
            text: lit.text[start..end].to_owned(),
            via: via.clone(),
            shadows: shadows.clone(),
        })
    }
}

/// The `templatefile()` call rendering a template: the calling file and its variables.
type TemplateArgs<'a> = (usize, &'a [(String, Value)]);

/// What a reference points at: the file and value holding it, and the places it shadows.
struct Target<'a> {
    file: usize,
    value: &'a Value,
    shadows: Vec<(usize, usize)>,
}

/// The effective value of a variable and the values it shadows.
struct Binding<'a> {
    file: usize,
    value: Option<&'a Value>,
    shadows: Vec<(usize, usize)>,
}

/// The names visible in one module directory.
struct Scope<'a> {
    vars: HashMap<&'a str, Binding<'a>>,
    locals: HashMap<&'a str, (usize, &'a Value)>,
    /// Template files rendered by `templatefile()`: the calling file and the variables.
    templates: HashMap<PathBuf, TemplateArgs<'a>>,
}

impl<'a> Scope<'a> {
    fn new(dir: &Path, files: &'a [SourceFile]) -> Scope<'a> {
        let mut vars: HashMap<&str, Binding<'_>> = HashMap::new();
        let mut locals = HashMap::new();
        let mut templates = HashMap::new();
        for (index, file) in files.iter().enumerate() {
            for (name, default) in &file.facts.variables {
                vars.insert(
                    name,
                    Binding {
                        file: index,
                        value: default.as_ref(),
                        shadows: Vec::new(),
                    },
                );
            }
            for (name, value) in &file.facts.locals {
                locals.insert(name.as_str(), (index, value));
            }
            for (path, args) in &file.facts.templates {
                templates
                    .entry(normalize(&dir.join(path)))
                    .or_insert((index, args.as_slice()));
            }
        }
        let mut assignments: Vec<_> = files
            .iter()
            .enumerate()
            .flat_map(|(index, file)| {
                file.facts
                    .assignments
                    .iter()
                    .map(move |a| (a.2, index, &a.0, &a.1))
            })
            .collect();
        // Terraform's order: inputs (environment) < terraform.tfvars < *.auto.tfvars by name.
        assignments.sort_by(|a, b| (a.0, &files[a.1].rel).cmp(&(b.0, &files[b.1].rel)));
        for (_, index, name, value) in assignments {
            let binding = vars.entry(name).or_insert(Binding {
                file: index,
                value: None,
                shadows: Vec::new(),
            });
            if let Some(previous) = binding.value {
                binding.shadows.push((binding.file, previous.span.start));
            }
            binding.file = index;
            binding.value = Some(value);
        }
        Scope {
            vars,
            locals,
            templates,
        }
    }

    /// Evaluates `value` (found in file `file`) as far as statically possible.
    fn resolve(
        &self,
        file: usize,
        value: &'a Value,
        template: Option<TemplateArgs<'a>>,
    ) -> Resolved<'a> {
        let mut resolved = Resolved {
            text: String::new(),
            segments: Vec::new(),
        };
        self.resolve_into(&mut resolved, file, value, None, &[], template, 0);
        resolved
    }

    #[allow(clippy::too_many_arguments)]
    fn resolve_into(
        &self,
        out: &mut Resolved<'a>,
        file: usize,
        value: &'a Value,
        via: Option<&Reference>,
        shadows: &[(usize, usize)],
        template: Option<TemplateArgs<'a>>,
        depth: usize,
    ) {
        for piece in &value.pieces {
            match piece {
                Piece::Lit(lit) => out.push(
                    &lit.text,
                    Origin::Lit {
                        file,
                        lit,
                        via: via.cloned(),
                        shadows: shadows.to_vec(),
                    },
                ),
                Piece::Opaque(text) => out.push(text, Origin::Unresolved),
                Piece::Ref(reference) => {
                    let target = (depth < MAX_REFERENCE_DEPTH)
                        .then(|| self.lookup(reference, template))
                        .flatten();
                    match target {
                        Some(target) => self.resolve_into(
                            out,
                            target.file,
                            target.value,
                            Some(reference),
                            &target.shadows,
                            None,
                            depth + 1,
                        ),
                        None => {
                            out.push(&format!("${{{}}}", reference.display()), Origin::Unresolved)
                        }
                    }
                }
            }
        }
    }

    fn lookup(
        &self,
        reference: &Reference,
        template: Option<TemplateArgs<'a>>,
    ) -> Option<Target<'a>> {
        match reference {
            Reference::Var(name) => {
                let binding = self.vars.get(name.as_str())?;
                Some(Target {
                    file: binding.file,
                    value: binding.value?,
                    shadows: binding.shadows.clone(),
                })
            }
            Reference::Local(name) => {
                let &(file, value) = self.locals.get(name.as_str())?;
                Some(Target {
                    file,
                    value,
                    shadows: Vec::new(),
                })
            }
            Reference::TemplateVar(name) => {
                let (file, args) = template?;
                let value = args
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value)?;
                Some(Target {
                    file,
                    value,
                    shadows: Vec::new(),
                })
            }
        }
    }

    /// Turns one site into pin material, or `None` when it is not a pin after all (a string
    /// that cannot be an image, an empty tag).
    fn pin(
        &self,
        file: usize,
        site: &'a Site,
        template: Option<TemplateArgs<'a>>,
    ) -> Option<Found> {
        let resolved = self.resolve(file, &site.value, template);
        let resolve = |value: &'a Value| self.resolve(file, value, template).text;
        match &site.kind {
            SiteKind::Image { kind } => self.image(*kind, &resolved, &site.value),
            SiteKind::ImageTag {
                kind,
                repository,
                registry,
                key,
            } => {
                if resolved.text.is_empty() {
                    return None;
                }
                let repository = repository.as_ref().map(resolve);
                let name = match (registry.as_ref().map(resolve), repository) {
                    (Some(registry), Some(repository))
                        if !repository.starts_with(&format!("{registry}/")) =>
                    {
                        format!("{registry}/{repository}")
                    }
                    (_, Some(repository)) => repository,
                    (_, None) => key.clone(),
                };
                let canonical = if name.contains("${") || name == *key {
                    name.clone()
                } else {
                    canonical_image_name(&name)
                };
                let tag_end = resolved.text.find('@').unwrap_or(resolved.text.len());
                let reference = format!("{name}:{}", resolved.text);
                let mut found = Found::new(*kind, name, canonical, &resolved).with_version(
                    &resolved,
                    0..tag_end,
                    &site.value,
                );
                found.digest = resolved.text.get(tag_end + 1..).map(str::to_owned);
                found.resolved = reference;
                Some(found)
            }
            SiteKind::Chart { chart, repository } => {
                let chart = chart.as_ref().map(resolve).unwrap_or_default();
                let repository = repository.as_ref().map(resolve);
                let canonical = chart_canonical(&chart, repository.as_deref());
                let mut found = Found::new(PinKind::HelmChart, chart, canonical, &resolved);
                found.repository = repository;
                Some(self.constrained(found, &resolved, &site.value))
            }
            SiteKind::Provider { source } => {
                let canonical = registry_canonical(source, 2, Some("hashicorp"));
                let found = Found::new(PinKind::Provider, source.clone(), canonical, &resolved);
                Some(self.constrained(found, &resolved, &site.value))
            }
            SiteKind::Module { source } => {
                let source = resolve(source);
                let canonical = registry_canonical(&source, 3, None);
                let found = Found::new(PinKind::Module, source, canonical, &resolved);
                Some(self.constrained(found, &resolved, &site.value))
            }
            SiteKind::SourceRef => {
                let text = &resolved.text;
                let query = text.find('?')?;
                let start = query + text[query..].find("ref=")? + "ref=".len();
                let end = text[start..].find('&').map_or(text.len(), |i| start + i);
                let name = text[..query].to_owned();
                let canonical = git_canonical(&name);
                Some(
                    Found::new(PinKind::Module, name, canonical, &resolved).with_version(
                        &resolved,
                        start..end,
                        &site.value,
                    ),
                )
            }
        }
    }

    fn image(&self, kind: PinKind, resolved: &Resolved<'a>, value: &Value) -> Option<Found> {
        let Some(image) = ImageRef::parse(&resolved.text) else {
            let unresolved = resolved.has_unresolved(&(0..resolved.text.len()));
            return unresolved.then(|| {
                let (name, canonical) = match resolved.literal_image_name() {
                    Some(name) => (name.to_owned(), canonical_image_name(name)),
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

/// `"text"` → `text`: the source of a string expression without its quotes.
fn unquote(source: &str) -> &str {
    source
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(source)
}

/// Lexically normalizes `a/./b/../c` to `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `https://grafana.github.io/helm-charts` + `grafana` → `grafana.github.io/helm-charts/grafana`;
/// an `oci://` chart reference is its own name.
fn chart_canonical(chart: &str, repository: Option<&str>) -> String {
    let strip = |s: &str| {
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        s.trim_end_matches('/').to_ascii_lowercase()
    };
    match repository {
        Some(repository) if !chart.contains("://") => {
            format!("{}/{}", strip(repository), chart.to_ascii_lowercase())
        }
        _ => strip(chart),
    }
}

/// A registry address: `hashicorp/helm` → `registry.terraform.io/hashicorp/helm`. `parts` is
/// the number of components without a host; `default_namespace` fills a bare name.
pub(crate) fn registry_canonical(
    source: &str,
    parts: usize,
    default_namespace: Option<&str>,
) -> String {
    let source = source.to_ascii_lowercase();
    let count = source.split('/').count();
    if source.starts_with('.') || source.contains("::") || source.contains("://") {
        return git_canonical(&source);
    }
    match (count, default_namespace) {
        (1, Some(namespace)) => format!("registry.terraform.io/{namespace}/{source}"),
        (n, _) if n == parts => format!("registry.terraform.io/{source}"),
        _ => source,
    }
}

/// `git::https://github.com/org/repo.git//modules/x` → `github.com/org/repo`.
pub(crate) fn git_canonical(source: &str) -> String {
    let source = source.strip_prefix("git::").unwrap_or(source);
    let source = source.split_once("://").map_or(source, |(_, rest)| rest);
    let source = source
        .strip_prefix("git@")
        .map_or_else(|| source.to_owned(), |rest| rest.replacen(':', "/", 1));
    let repo = source.split("//").next().unwrap_or(&source);
    repo.trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::{chart_canonical, git_canonical, registry_canonical};

    #[test]
    fn canonical_names_of_charts_providers_and_modules() {
        assert_eq!(
            chart_canonical("grafana", Some("https://grafana.github.io/helm-charts/")),
            "grafana.github.io/helm-charts/grafana"
        );
        assert_eq!(
            chart_canonical("oci://ghcr.io/x/charts/app", None),
            "ghcr.io/x/charts/app"
        );
        assert_eq!(
            registry_canonical("Telmate/proxmox", 2, Some("hashicorp")),
            "registry.terraform.io/telmate/proxmox"
        );
        assert_eq!(
            registry_canonical("helm", 2, Some("hashicorp")),
            "registry.terraform.io/hashicorp/helm"
        );
        assert_eq!(
            registry_canonical("terraform-aws-modules/vpc/aws", 3, None),
            "registry.terraform.io/terraform-aws-modules/vpc/aws"
        );
        assert_eq!(
            git_canonical("git::https://github.com/org/repo.git//modules/x"),
            "github.com/org/repo"
        );
        assert_eq!(
            git_canonical("git@github.com:org/repo.git"),
            "github.com/org/repo"
        );
    }
}
