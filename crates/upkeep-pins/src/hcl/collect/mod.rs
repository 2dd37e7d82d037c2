//! Walks a parsed HCL body and records every site and declaration of DESIGN.md's pin kinds.

mod assignments;
mod constructors;
mod ignores;
mod json;
mod outlined;

pub(super) use outlined::collect_outlined;

use super::Flavor;
use super::literal::lit;
use crate::pin::PinKind;
use crate::shapes::{self, is_image_key};
use crate::site::{
    ChartRef, FileFacts, META_ARGUMENTS, ModuleCall, Piece, Precedence, Reference, Site, SiteKind,
    TemplateCall, Value,
};
use hcl_edit::Span;
use hcl_edit::expr::{Expression, Object, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::Element;
use std::collections::HashMap;
use std::ops::Range;

/// How deep the entries of object-valued locals and variable defaults are named
/// (`local.images.app.tag`).
const MAX_OBJECT_DEPTH: usize = 4;

/// Collects the facts of one parsed file. `base` is the byte offset of the parsed text in
/// `src` (the length of a byte order mark, if any).
pub(super) fn collect(src: &str, base: usize, body: &Body, flavor: Flavor) -> FileFacts {
    let mut collector = Collector::new(src, base);
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
        Flavor::Terraform | Flavor::TerraformJson | Flavor::TfvarsJson(_) => {
            collector.top_level(body)
        }
    }
    collector.facts
}

/// Collects the facts of a document in Terraform's JSON syntax, parsed as one expression.
pub(super) fn collect_json(
    src: &str,
    base: usize,
    document: &Expression,
    flavor: Flavor,
) -> FileFacts {
    let mut collector = Collector::new(src, base);
    match flavor {
        Flavor::TfvarsJson(precedence) => collector.json_tfvars(document, precedence),
        _ => collector.json_terraform(document),
    }
    collector.facts
}

/// State of the resource block being walked.
struct Resource {
    /// `resource "helm_release"`: `set` entries and chart attributes are collected.
    helm: Option<HelmRelease>,
    /// Attribute paths listed in `lifecycle { ignore_changes }`; an empty path means `all`.
    ignored: Vec<Vec<String>>,
    /// A virtual machine (or its disk image): its `image` is not a container image.
    vm: bool,
}

/// Resource types whose `image` attributes name virtual machine images.
const VM_RESOURCES: [&str; 10] = [
    "_instance",
    "_instance_template",
    "virtual_machine",
    "virtualmachine",
    "vm_qemu",
    "droplet",
    "hcloud_server",
    "launch_template",
    "libvirt_",
    "_image",
];

/// Blocks that describe a virtual machine's disk.
const VM_BLOCKS: [&str; 5] = [
    "boot_disk",
    "initialize_params",
    "os_disk",
    "source_image_reference",
    "storage_image_reference",
];

/// Whether a resource type is a virtual machine or a machine image.
fn is_vm_resource(kind: &str) -> bool {
    !kind.starts_with("kubernetes_")
        && !kind.starts_with("helm_")
        && VM_RESOURCES.iter().any(|part| kind.contains(part))
}

/// What a `helm_release` says about its chart and `set` values.
#[derive(Default)]
struct HelmRelease {
    chart: Option<Value>,
    repository: Option<Value>,
    version: Option<Value>,
    sets: Vec<(String, Value)>,
    /// The first site and template call found in the release: those found later belong to
    /// its values, and learn its chart when the release ends.
    sites_from: usize,
    templates_from: usize,
}

impl HelmRelease {
    /// A release whose walk starts now, with `facts` found so far.
    fn starting(facts: &FileFacts) -> HelmRelease {
        HelmRelease {
            sites_from: facts.sites.len(),
            templates_from: facts.templates.len(),
            ..HelmRelease::default()
        }
    }
}

struct Collector<'a> {
    src: &'a str,
    base: usize,
    facts: FileFacts,
    resource: Option<Resource>,
    /// Block and key names from the resource body down to the current node.
    path: Vec<String>,
    /// Walking `locals`: sites found define values, they do not use them.
    definition: bool,
}

impl<'a> Collector<'a> {
    /// A collector of the file `src` whose parsed text starts at byte `base`.
    fn new(src: &'a str, base: usize) -> Self {
        Collector {
            src,
            base,
            facts: FileFacts::default(),
            resource: None,
            path: Vec::new(),
            definition: false,
        }
    }
}

impl Collector<'_> {
    fn top_level(&mut self, body: &Body) {
        self.attributes(body);
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
        let mut entries = Vec::new();
        if let Some(default) = default {
            self.object_names(&name, default, 0, &mut entries);
        }
        self.facts
            .variables
            .extend(entries.into_iter().map(|(name, value)| (name, Some(value))));
        let default = default.map(|expr| self.value(expr));
        self.facts.variables.push((name, default));
    }

    /// The entries of an object value as dotted names (`images.app.tag`), down to
    /// [`MAX_OBJECT_DEPTH`].
    fn object_names(
        &self,
        prefix: &str,
        expr: &Expression,
        depth: usize,
        out: &mut Vec<(String, Value)>,
    ) {
        let Expression::Object(object) = expr else {
            return;
        };
        if depth >= MAX_OBJECT_DEPTH {
            return;
        }
        for (key, value) in object_entries(object) {
            let name = format!("{prefix}.{key}");
            self.object_names(&name, value, depth + 1, out);
            out.push((name, self.value(value)));
        }
    }

    fn locals(&mut self, block: &Block) {
        for attr in block.body.attributes() {
            let name = attr.key.as_str();
            let mut entries = Vec::new();
            self.object_names(name, &attr.value, 0, &mut entries);
            self.facts.locals.extend(entries);
            let value = self.value(&attr.value);
            self.facts.locals.push((name.to_owned(), value));
        }
        // What locals hold is defined here and used elsewhere: an image in a local is a pin
        // whose users are the references to it.
        self.definition = true;
        self.attributes(&block.body);
        self.definition = false;
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
        let local = local_source(source.as_ref());
        if let Some(source) = local {
            let mut args = Vec::new();
            for attr in block.body.attributes() {
                let name = attr.key.as_str();
                if !META_ARGUMENTS.contains(&name) {
                    self.object_names(name, &attr.value, 0, &mut args);
                    args.push((name.to_owned(), self.value(&attr.value)));
                }
            }
            self.facts.calls.push(ModuleCall { source, args });
        }
        self.module_sites(source, version);
        let entries: Vec<(String, &Expression)> = block
            .body
            .attributes()
            .filter(|attr| !matches!(attr.key.as_str(), "source" | "version"))
            .map(|attr| (attr.key.as_str().to_owned(), &attr.value))
            .collect();
        self.entries(&entries, None);
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
        let helm = (kind == Some("helm_release")).then(|| HelmRelease::starting(&self.facts));
        let vm = kind.is_some_and(is_vm_resource);
        self.resource = Some(Resource { helm, ignored, vm });
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
        let chart = helm.chart.clone().map(|chart| ChartRef {
            chart,
            repository: helm.repository.clone(),
        });
        // Tags in the release's inline values and the files it renders are named by its chart.
        for site in &mut self.facts.sites[helm.sites_from..] {
            if let SiteKind::ImageTag {
                kind: PinKind::HelmSet,
                chart: release,
                ..
            } = &mut site.kind
            {
                *release = chart.clone().map(Box::new);
            }
        }
        for call in &mut self.facts.templates[helm.templates_from..] {
            if call.values {
                call.chart.clone_from(&chart);
            }
        }
        match (helm.version, helm.chart) {
            (Some(version), chart) => {
                let kind = SiteKind::Chart {
                    chart,
                    repository: helm.repository,
                };
                self.path = vec!["version".to_owned()];
                self.site(kind, version);
            }
            // A chart from a repository (or an OCI registry) with no version floats to the
            // newest; a chart given as a local path has no version to pin.
            (None, Some(chart)) if helm.repository.is_some() || chart.source.contains("oci://") => {
                let kind = SiteKind::UnversionedChart {
                    repository: helm.repository,
                };
                self.path = vec!["chart".to_owned()];
                self.site(kind, chart);
            }
            (None, _) => {}
        }
        self.path = vec!["set".to_owned()];
        for (prefix, group) in set_groups(&helm.sets) {
            let keys: Vec<&str> = group.iter().map(|(key, _)| *key).collect();
            let scalar = vec![true; keys.len()];
            let under_image = prefix.rsplit('.').next().is_some_and(is_image_key);
            let (groups, used) = shapes::group(&keys, &scalar, under_image);
            for (i, (key, value)) in group.iter().enumerate() {
                if !used[i] && is_image_key(key) {
                    self.image_site((*value).clone());
                }
            }
            for found in groups {
                let part = |index: Option<usize>| index.map(|i| group[i].1.clone());
                let key = group[found.tag].0;
                let kind = SiteKind::ImageTag {
                    kind: PinKind::HelmSet,
                    repository: part(found.repository),
                    registry: part(found.registry),
                    digest: part(found.digest),
                    key: if prefix.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{prefix}.{key}")
                    },
                    object: None,
                    chart: chart.clone().map(Box::new),
                };
                self.site(kind, group[found.tag].1.clone());
            }
        }
        self.path.clear();
    }

    fn body(&mut self, body: &Body) {
        self.attributes(body);
        self.blocks(body);
    }

    /// The attributes of a body, as sibling entries.
    fn attributes(&mut self, body: &Body) {
        let entries: Vec<(String, &Expression)> = body
            .attributes()
            .map(|attr| (attr.key.as_str().to_owned(), &attr.value))
            .collect();
        self.entries(&entries, None);
    }

    /// Walks sibling entries (a body's attributes or an object's entries, `object` being the
    /// object's span): the parts of an image split over several keys become one tag site,
    /// every other entry is walked as an attribute.
    fn entries(&mut self, entries: &[(String, &Expression)], object: Option<Range<usize>>) {
        // The top level of a `helm_release` is the chart's, not an image's. Without a tag or
        // a `version` among the keys, nothing groups: each entry is walked on its own.
        let helm_top = self.path.is_empty() && self.helm().is_some();
        if helm_top || !entries.iter().any(|(key, _)| shapes::may_group(key)) {
            for (key, expr) in entries {
                self.path.push(key.clone());
                self.attribute(key, expr);
                self.path.pop();
            }
            return;
        }
        let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
        let scalar: Vec<bool> = entries
            .iter()
            .map(|(_, expr)| may_be_string(expr))
            .collect();
        let (groups, used) = if helm_top {
            (Vec::new(), vec![false; keys.len()])
        } else {
            shapes::group(&keys, &scalar, self.under_image())
        };
        for (i, (key, expr)) in entries.iter().enumerate() {
            if used[i] {
                continue;
            }
            self.path.push(key.clone());
            self.attribute(key, expr);
            self.path.pop();
        }
        for found in groups {
            let part = |index: Option<usize>| index.map(|i| self.value(entries[i].1));
            let (repository, registry, digest) = (
                part(found.repository),
                part(found.registry),
                part(found.digest),
            );
            let tag = self.value(entries[found.tag].1);
            self.tag_site(
                &entries[found.tag].0,
                tag,
                repository,
                registry,
                digest,
                object.clone(),
            );
        }
        // Only an object names a versioned thing; a block's `name` and `version` do not.
        if object.is_some()
            && let Some((name, version, repository)) = shapes::versioned(&keys, &scalar)
        {
            let name = self.value(entries[name].1);
            let repository = repository.map(|i| self.value(entries[i].1));
            let version = self.value(entries[version].1);
            self.versioned_site(name, version, repository);
        }
    }

    /// The site of the `version` of an object naming something versioned.
    fn versioned_site(&mut self, name: Value, version: Value, repository: Option<Value>) {
        self.path.push("version".to_owned());
        self.site(SiteKind::Versioned { name, repository }, version);
        self.path.pop();
    }

    /// Whether the current node is the value of an image key (`image = { tag = … }`).
    fn under_image(&self) -> bool {
        self.path.last().is_some_and(|key| is_image_key(key))
    }

    /// Whether the current node belongs to a virtual machine, whose images are disk images.
    fn in_vm(&self) -> bool {
        self.resource.as_ref().is_some_and(|resource| resource.vm)
            || self
                .path
                .iter()
                .any(|key| VM_BLOCKS.contains(&key.as_str()))
    }

    /// A site holding a whole image reference, unless the image is a virtual machine's.
    fn image_site(&mut self, value: Value) {
        if !self.in_vm() {
            let kind = SiteKind::Image {
                kind: PinKind::Image,
            };
            self.site(kind, value);
        }
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
        if is_image_key(key) && may_be_string(expr) {
            let value = self.value(expr);
            self.image_site(value);
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
            Expression::Object(object) => {
                let span = expr
                    .span()
                    .map(|span| span.start + self.base..span.end + self.base);
                self.object(object, span);
            }
            Expression::Array(items) => items.iter().for_each(|item| self.expression(item)),
            Expression::Parenthesis(inner) => self.expression(inner.inner()),
            Expression::Conditional(cond) => {
                self.expression(&cond.true_expr);
                self.expression(&cond.false_expr);
            }
            Expression::FuncCall(call) => {
                let args: Vec<&Expression> = call.args.iter().collect();
                if call.name.namespace.is_empty() {
                    match call.name.name.as_str() {
                        "templatefile" => self.templatefile(&args),
                        "file" => self.values_file(&args),
                        _ => {}
                    }
                }
                args.into_iter().for_each(|arg| self.expression(arg));
            }
            _ => {}
        }
    }

    /// `values = [file(…)]` in a `helm_release`: the file is a values document, rendered
    /// without variables. A `file()` anywhere else is no values file.
    fn values_file(&mut self, args: &[&Expression]) {
        let [path] = args else {
            return;
        };
        if self.helm().is_none() || self.path != ["values"] {
            return;
        }
        let path = self.value(path);
        let path = path.source.trim_matches('"').replace("${path.module}/", "");
        let ignored = self.ignored_here();
        self.facts.templates.push(TemplateCall {
            path,
            vars: Vec::new(),
            values: true,
            chart: None,
            ignored,
        });
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
        // `values = [templatefile(…)]`: the rendered file is the values document. One called
        // deeper (`styles = templatefile(…)` inside `yamlencode`) renders a string in it.
        let values = self.helm().is_some() && self.path == ["values"];
        let ignored = self.ignored_here();
        self.facts.templates.push(TemplateCall {
            path,
            vars,
            values,
            chart: None,
            ignored,
        });
    }

    fn object(&mut self, object: &Object, span: Option<Range<usize>>) {
        let entries: Vec<(String, &Expression)> = object_entries(object).collect();
        self.entries(&entries, span);
    }

    /// The site of the tag of an image whose parts are sibling entries, the tag under `key`.
    fn tag_site(
        &mut self,
        key: &str,
        tag: Value,
        repository: Option<Value>,
        registry: Option<Value>,
        digest: Option<Value>,
        object: Option<Range<usize>>,
    ) {
        if self.in_vm() {
            return;
        }
        let kind = if self.helm().is_some() {
            PinKind::HelmSet
        } else {
            PinKind::Image
        };
        self.path.push(key.to_owned());
        let kind = SiteKind::ImageTag {
            kind,
            repository,
            registry,
            digest,
            key: self.path.join("."),
            object,
            chart: None,
        };
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

    /// Whether the resource's `lifecycle.ignore_changes` covers the attribute being read.
    fn ignored_here(&self) -> bool {
        self.resource.as_ref().is_some_and(|resource| {
            resource.ignored.iter().any(|ignored| {
                ignored.len() <= self.path.len()
                    && ignored.iter().zip(&self.path).all(|(a, b)| a == b)
            })
        })
    }

    fn site(&mut self, kind: SiteKind, value: Value) {
        let ignored = self.ignored_here();
        self.facts.sites.push(Site {
            kind,
            value,
            ignored,
            definition: self.definition,
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

/// The path of a module call's literal `source` when it is a local module (`./x`, `../y`).
fn local_source(source: Option<&Value>) -> Option<String> {
    source
        .and_then(Value::as_literal)
        .map(|source| source.text.clone())
        .filter(|source| ModuleCall::is_local(source))
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

/// Whether an expression may evaluate to a string: not `null`, a number, a boolean, an
/// object, a list or a comprehension.
fn may_be_string(expr: &Expression) -> bool {
    !matches!(
        expr,
        Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::Object(_)
            | Expression::Array(_)
            | Expression::ForExpr(_)
    )
}

/// `set` entries grouped by the path before their last dot (`controller.image.repository`
/// and `controller.image.tag` are siblings under `controller.image`), in order.
fn set_groups(sets: &[(String, Value)]) -> Vec<(&str, Vec<(&str, &Value)>)> {
    let mut groups: Vec<(&str, Vec<(&str, &Value)>)> = Vec::new();
    for (name, value) in sets {
        let (prefix, last) = name.rsplit_once('.').unwrap_or(("", name.as_str()));
        match groups.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, group)) => group.push((last, value)),
            None => groups.push((prefix, vec![(last, value)])),
        }
    }
    groups
}
