//! Walks a parsed HCL body and records every site and declaration of DESIGN.md's pin kinds.

mod constructors;
mod ignores;
mod outlined;

pub(super) use outlined::collect_outlined;

use super::Flavor;
use super::literal::lit;
use crate::pin::PinKind;
use crate::site::{FileFacts, Piece, Precedence, Reference, Site, SiteKind, Value};
use hcl_edit::Span;
use hcl_edit::expr::{Expression, Object, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::Element;
use std::collections::HashMap;

/// Collects the facts of one parsed file. `base` is the byte offset of the parsed text in
/// `src` (the length of a byte order mark, if any).
pub(super) fn collect(src: &str, base: usize, body: &Body, flavor: Flavor) -> FileFacts {
    let mut collector = Collector {
        src,
        base,
        facts: FileFacts::default(),
        resource: None,
        path: Vec::new(),
    };
    match flavor {
        Flavor::Tfvars(precedence) => {
            for attr in body.attributes() {
                collector.assign(attr.key.as_str(), &attr.value, precedence);
            }
        }
        Flavor::Terragrunt => {
            for attr in body
                .attributes()
                .filter(|attr| attr.key.as_str() == "inputs")
            {
                if let Expression::Object(object) = &attr.value {
                    for (key, value) in object_entries(object) {
                        collector.assign(&key, value, Precedence::TerragruntInputs);
                    }
                }
            }
            collector.top_level(body);
        }
        Flavor::Terraform => collector.top_level(body),
    }
    collector.facts
}

/// State of the resource block being walked.
struct Resource {
    /// `resource "helm_release"`: `set` entries and chart attributes are collected.
    helm: Option<HelmRelease>,
    /// Attribute paths listed in `lifecycle { ignore_changes }`; an empty path means `all`.
    ignored: Vec<Vec<String>>,
}

/// What a `helm_release` says about its chart and `set` values.
#[derive(Default)]
struct HelmRelease {
    chart: Option<Value>,
    repository: Option<Value>,
    version: Option<Value>,
    sets: Vec<(String, Value)>,
}

struct Collector<'a> {
    src: &'a str,
    base: usize,
    facts: FileFacts,
    resource: Option<Resource>,
    /// Block and key names from the resource body down to the current node.
    path: Vec<String>,
}

impl Collector<'_> {
    fn top_level(&mut self, body: &Body) {
        for attr in body.attributes() {
            self.path.push(attr.key.as_str().to_owned());
            self.attribute(attr.key.as_str(), &attr.value);
            self.path.pop();
        }
        for block in body.blocks() {
            match block.ident.as_str() {
                "variable" => self.variable(block),
                "locals" => self.locals(block),
                "terraform" => self.terraform(block),
                "module" => self.module(block),
                "resource" | "data" => self.resource(block),
                _ => self.body(&block.body),
            }
        }
    }

    fn variable(&mut self, block: &Block) {
        let Some(name) = block.labels.first().map(|label| label.as_str().to_owned()) else {
            return;
        };
        let default = block.body.get_attribute("default").map(|attr| &attr.value);
        self.variable_default(name, default);
    }

    /// Records a variable and its default (object defaults also as `name.key` entries).
    fn variable_default(&mut self, name: String, default: Option<&Expression>) {
        if let Some(Expression::Object(object)) = default {
            for (key, value) in object_entries(object) {
                let value = self.value(value);
                self.facts
                    .variables
                    .push((format!("{name}.{key}"), Some(value)));
            }
        }
        let default = default.map(|expr| self.value(expr));
        self.facts.variables.push((name, default));
    }

    fn locals(&mut self, block: &Block) {
        for attr in block.body.attributes() {
            let name = attr.key.as_str();
            if let Expression::Object(object) = &attr.value {
                for (key, value) in object_entries(object) {
                    let value = self.value(value);
                    self.facts.locals.push((format!("{name}.{key}"), value));
                }
            }
            let value = self.value(&attr.value);
            self.facts.locals.push((name.to_owned(), value));
            // The local's own key is not a site (its users are); nested objects may hold some.
            self.path.push(name.to_owned());
            self.expression(&attr.value);
            self.path.pop();
        }
    }

    fn terraform(&mut self, block: &Block) {
        if let Some(source) = block.body.get_attribute("source") {
            let source = self.value(&source.value);
            self.source_ref(&source);
        }
        for providers in block.body.get_blocks("required_providers") {
            self.required_providers(providers);
        }
    }

    /// The provider version sites of one `required_providers` block.
    fn required_providers(&mut self, providers: &Block) {
        for attr in providers.body.attributes() {
            self.provider(attr.key.as_str(), &attr.value);
        }
    }

    /// The version site of one provider requirement: `{ source, version }` or, in the legacy
    /// form, a bare version constraint.
    fn provider(&mut self, local_name: &str, requirement: &Expression) {
        match requirement {
            Expression::Object(object) => {
                let entries: HashMap<String, &Expression> = object_entries(object).collect();
                let Some(version) = entries.get("version") else {
                    return;
                };
                let source = entries
                    .get("source")
                    .and_then(|expr| self.value(expr).as_literal().map(|lit| lit.text.clone()));
                let version = self.value(version);
                self.provider_site(local_name, source, version);
            }
            legacy => {
                let version = self.value(legacy);
                self.provider_site(local_name, None, version);
            }
        }
    }

    /// A provider version site; the source defaults to the local name.
    fn provider_site(&mut self, local_name: &str, source: Option<String>, version: Value) {
        let source = source.unwrap_or_else(|| local_name.to_owned());
        self.site(SiteKind::Provider { source }, version);
    }

    fn module(&mut self, block: &Block) {
        let source = block
            .body
            .get_attribute("source")
            .map(|attr| self.value(&attr.value));
        let version = block
            .body
            .get_attribute("version")
            .map(|attr| self.value(&attr.value));
        self.module_sites(source, version);
        for attr in block.body.attributes() {
            if !matches!(attr.key.as_str(), "source" | "version") {
                self.path.push(attr.key.as_str().to_owned());
                self.attribute(attr.key.as_str(), &attr.value);
                self.path.pop();
            }
        }
        self.blocks(&block.body);
    }

    /// The sites of a module's `source` (a `?ref=`) and `version` attributes.
    fn module_sites(&mut self, source: Option<Value>, version: Option<Value>) {
        if let Some(source) = &source {
            self.source_ref(source);
        }
        if let (Some(source), Some(version)) = (source, version) {
            self.site(SiteKind::Module { source }, version);
        }
    }

    /// A module or Terragrunt `source` with a `?ref=` version.
    fn source_ref(&mut self, source: &Value) {
        if source
            .as_literal()
            .is_some_and(|lit| lit.text.contains("ref="))
        {
            self.site(SiteKind::SourceRef, source.clone());
        }
    }

    fn resource(&mut self, block: &Block) {
        let kind = block.labels.first().map(|label| label.as_str());
        let ignored = block
            .body
            .get_blocks("lifecycle")
            .filter_map(|lifecycle| lifecycle.body.get_attribute("ignore_changes"))
            .flat_map(|attr| ignore_paths(&attr.value))
            .collect();
        let helm = (kind == Some("helm_release")).then(HelmRelease::default);
        self.resource = Some(Resource { helm, ignored });
        self.body(&block.body);
        self.end_resource();
    }

    /// Leaves the resource being walked, turning a `helm_release`'s collected chart and `set`
    /// entries into sites first.
    fn end_resource(&mut self) {
        if let Some(helm) = self
            .resource
            .as_mut()
            .and_then(|resource| resource.helm.take())
        {
            self.helm_release(helm);
        }
        self.resource = None;
    }

    fn helm_release(&mut self, helm: HelmRelease) {
        if let Some(version) = helm.version {
            let kind = SiteKind::Chart {
                chart: helm.chart,
                repository: helm.repository,
            };
            self.path = vec!["version".to_owned()];
            self.site(kind, version);
        }
        let by_name: HashMap<&str, &Value> = helm
            .sets
            .iter()
            .map(|(name, value)| (name.as_str(), value))
            .collect();
        for (name, value) in &helm.sets {
            self.path = vec!["set".to_owned()];
            let (prefix, last) = name
                .rsplit_once('.')
                .map_or(("", name.as_str()), |(p, l)| (p, l));
            let sibling = |key: &str| {
                let full = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                by_name.get(full.as_str()).map(|value| (*value).clone())
            };
            if last == "tag" || last.ends_with("Tag") {
                let kind = SiteKind::ImageTag {
                    kind: PinKind::HelmSet,
                    repository: sibling("repository"),
                    registry: sibling("registry"),
                    key: name.clone(),
                };
                self.site(kind, value.clone());
            } else if is_image_key(last) {
                self.site(
                    SiteKind::Image {
                        kind: PinKind::Image,
                    },
                    value.clone(),
                );
            }
        }
        self.path.clear();
    }

    fn body(&mut self, body: &Body) {
        for attr in body.attributes() {
            self.path.push(attr.key.as_str().to_owned());
            self.attribute(attr.key.as_str(), &attr.value);
            self.path.pop();
        }
        self.blocks(body);
    }

    fn blocks(&mut self, body: &Body) {
        for block in body.blocks() {
            let ident = block.ident.as_str();
            if ident == "lifecycle" {
                continue;
            }
            if ident == "set" && self.path.is_empty() && self.helm().is_some() {
                self.helm_set_block(&block.body);
                continue;
            }
            self.path.push(ident.to_owned());
            self.body(&block.body);
            self.path.pop();
        }
    }

    fn helm(&mut self) -> Option<&mut HelmRelease> {
        self.resource
            .as_mut()
            .and_then(|resource| resource.helm.as_mut())
    }

    fn helm_set_block(&mut self, body: &Body) {
        let name = body
            .get_attribute("name")
            .map(|attr| self.value(&attr.value));
        let value = body
            .get_attribute("value")
            .map(|attr| self.value(&attr.value));
        if let (Some(name), Some(value)) = (name, value) {
            self.helm_set(&name, value);
        }
    }

    /// Records a `set` entry of the `helm_release` being walked; its name must be a literal.
    fn helm_set(&mut self, name: &Value, value: Value) {
        if let Some(name) = name.as_literal().map(|lit| lit.text.clone())
            && let Some(helm) = self.helm()
        {
            helm.sets.push((name, value));
        }
    }

    fn attribute(&mut self, key: &str, expr: &Expression) {
        if self.path.len() == 1 && self.helm().is_some() {
            let value = self.value(expr);
            let Some(helm) = self.helm() else { return };
            match key {
                "chart" => return helm.chart = Some(value),
                "repository" => return helm.repository = Some(value),
                "version" => return helm.version = Some(value),
                "set" => {
                    if let Expression::Array(items) = expr {
                        for item in items.iter() {
                            if let Expression::Object(object) = item {
                                self.helm_set_object(object);
                            }
                        }
                    }
                    return;
                }
                _ => {}
            }
        }
        if is_image_key(key) && !matches!(expr, Expression::Object(_)) {
            let value = self.value(expr);
            self.site(
                SiteKind::Image {
                    kind: PinKind::Image,
                },
                value,
            );
        } else {
            self.expression(expr);
        }
    }

    fn helm_set_object(&mut self, object: &Object) {
        let entries: HashMap<String, &Expression> = object_entries(object).collect();
        if let (Some(name), Some(value)) = (entries.get("name"), entries.get("value")) {
            let (name, value) = (self.value(name), self.value(value));
            self.helm_set(&name, value);
        }
    }

    fn expression(&mut self, expr: &Expression) {
        match expr {
            Expression::Object(object) => self.object(object),
            Expression::Array(items) => items.iter().for_each(|item| self.expression(item)),
            Expression::Parenthesis(inner) => self.expression(inner.inner()),
            Expression::Conditional(cond) => {
                self.expression(&cond.true_expr);
                self.expression(&cond.false_expr);
            }
            Expression::FuncCall(call) => {
                let args: Vec<&Expression> = call.args.iter().collect();
                if call.name.name.as_str() == "templatefile" && call.name.namespace.is_empty() {
                    self.templatefile(&args);
                }
                args.into_iter().for_each(|arg| self.expression(arg));
            }
            _ => {}
        }
    }

    fn templatefile(&mut self, args: &[&Expression]) {
        let [path, Expression::Object(vars)] = args else {
            return;
        };
        let path = self.value(path);
        let path = path.source.trim_matches('"').replace("${path.module}/", "");
        let vars = object_entries(vars)
            .map(|(key, value)| (key, self.value(value)))
            .collect();
        self.facts.templates.push((path, vars));
    }

    fn object(&mut self, object: &Object) {
        let entries: Vec<(String, &Expression)> = object_entries(object).collect();
        for (key, value) in &entries {
            self.path.push(key.clone());
            self.attribute(key, value);
            self.path.pop();
        }
        let find = |name: &str| {
            entries
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, expr)| *expr)
        };
        let Some(tag) = find("tag") else { return };
        if !self.is_image_object(find("repository").is_some()) {
            return;
        }
        let tag = self.value(tag);
        let repository = find("repository").map(|expr| self.value(expr));
        let registry = find("registry").map(|expr| self.value(expr));
        self.tag_site(tag, repository, registry);
    }

    /// Whether an object with a `tag` entry, walked at the current path, is an image: it has a
    /// `repository` entry or sits under an image key.
    fn is_image_object(&self, has_repository: bool) -> bool {
        has_repository || self.path.last().is_some_and(|key| is_image_key(key))
    }

    /// The site of the `tag` of an `{registry, repository, tag}` image object.
    fn tag_site(&mut self, tag: Value, repository: Option<Value>, registry: Option<Value>) {
        let kind = if self.helm().is_some() {
            PinKind::HelmSet
        } else {
            PinKind::Image
        };
        let kind = SiteKind::ImageTag {
            kind,
            repository,
            registry,
            key: self
                .path
                .iter()
                .chain(["tag".to_owned()].iter())
                .cloned()
                .collect::<Vec<_>>()
                .join("."),
        };
        self.path.push("tag".to_owned());
        self.site(kind, tag);
        self.path.pop();
    }

    fn assign(&mut self, name: &str, expr: &Expression, precedence: Precedence) {
        if let Expression::Object(object) = expr {
            for (key, value) in object_entries(object) {
                let value = self.value(value);
                self.facts
                    .assignments
                    .push((format!("{name}.{key}"), value, precedence));
            }
        }
        let value = self.value(expr);
        self.facts
            .assignments
            .push((name.to_owned(), value, precedence));
    }

    fn site(&mut self, kind: SiteKind, value: Value) {
        let ignored = self.resource.as_ref().is_some_and(|resource| {
            resource.ignored.iter().any(|ignored| {
                ignored.len() <= self.path.len()
                    && ignored.iter().zip(&self.path).all(|(a, b)| a == b)
            })
        });
        self.facts.sites.push(Site {
            kind,
            value,
            ignored,
        });
    }

    /// Reduces an expression to pieces upkeep can evaluate.
    fn value(&self, expr: &Expression) -> Value {
        let span = expr
            .span()
            .map_or(0..0, |span| span.start + self.base..span.end + self.base);
        let source = self.src.get(span.clone()).unwrap_or_default().to_owned();
        let pieces = match expr {
            Expression::String(string) => {
                let raw = span.start + 1..span.end.saturating_sub(1);
                vec![self.literal(raw, string.value(), &source)]
            }
            Expression::StringTemplate(template) => template
                .iter()
                .map(|element| match element {
                    Element::Literal(literal) => {
                        let raw = literal
                            .span()
                            .map_or(0..0, |s| s.start + self.base..s.end + self.base);
                        self.literal(raw, literal.value(), &source)
                    }
                    Element::Interpolation(interpolation) => reference(&interpolation.expr)
                        .map_or_else(|| Piece::Opaque(self.text_of(element)), Piece::Ref),
                    Element::Directive(_) => Piece::Opaque(self.text_of(element)),
                })
                .collect(),
            Expression::Parenthesis(inner) => return self.value(inner.inner()),
            other => {
                vec![reference(other).map_or_else(|| Piece::Opaque(source.clone()), Piece::Ref)]
            }
        };
        Value {
            pieces,
            source,
            span,
        }
    }

    fn literal(&self, raw: std::ops::Range<usize>, text: &str, source: &str) -> Piece {
        lit(self.src, raw, text).map_or_else(|| Piece::Opaque(source.to_owned()), Piece::Lit)
    }

    fn text_of(&self, node: &impl Span) -> String {
        node.span()
            .and_then(|span| self.src.get(span.start + self.base..span.end + self.base))
            .unwrap_or_default()
            .to_owned()
    }
}

/// `var.x`, `local.x.y`, `local.x["y"]` as a [`Reference`] with a dotted name.
fn reference(expr: &Expression) -> Option<Reference> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    let Expression::Variable(root) = &traversal.expr else {
        return None;
    };
    let mut names = Vec::with_capacity(traversal.operators.len());
    for operator in &traversal.operators {
        match operator.value() {
            TraversalOperator::GetAttr(ident) => names.push(ident.as_str().to_owned()),
            TraversalOperator::Index(Expression::String(key)) => names.push(key.value().clone()),
            _ => return None,
        }
    }
    let name = names.join(".");
    if name.is_empty() {
        return None;
    }
    match root.as_str() {
        "var" => Some(Reference::Var(name)),
        "local" => Some(Reference::Local(name)),
        _ => None,
    }
}

/// The paths of a `lifecycle { ignore_changes = [...] }` value; `all` is the empty path.
fn ignore_paths(expr: &Expression) -> Vec<Vec<String>> {
    match expr {
        Expression::Variable(all) if all.as_str() == "all" => vec![Vec::new()],
        Expression::Array(items) => items.iter().filter_map(traversal_names).collect(),
        _ => Vec::new(),
    }
}

/// The attribute names of a traversal such as `spec[0].template[0].spec[0].container[0].image`.
fn traversal_names(expr: &Expression) -> Option<Vec<String>> {
    match expr {
        Expression::Variable(name) => Some(vec![name.as_str().to_owned()]),
        Expression::Traversal(traversal) => {
            let mut names = traversal_names(&traversal.expr)?;
            for operator in &traversal.operators {
                if let TraversalOperator::GetAttr(ident) = operator.value() {
                    names.push(ident.as_str().to_owned());
                }
            }
            Some(names)
        }
        Expression::String(path) => Some(path.value().split('.').map(str::to_owned).collect()),
        _ => None,
    }
}

/// An object's entries whose keys are identifiers or string literals.
fn object_entries(object: &Object) -> impl Iterator<Item = (String, &Expression)> {
    object.iter().filter_map(|(key, value)| {
        let key = match key {
            ObjectKey::Ident(ident) => ident.as_str().to_owned(),
            ObjectKey::Expression(Expression::String(string)) => string.value().clone(),
            ObjectKey::Expression(_) => return None,
        };
        Some((key, value.expr()))
    })
}

/// Whether an attribute or object key names a container image.
fn is_image_key(key: &str) -> bool {
    key == "image" || key.ends_with("_image") || key.ends_with("Image")
}
