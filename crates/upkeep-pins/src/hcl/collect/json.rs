//! Terraform's JSON syntax (`.tf.json`, `.tfvars.json`): the document is an object whose
//! entries are what blocks and attributes are in native syntax (`"resource": { TYPE: { NAME:
//! { … } } }`), strings may hold `${…}` templates. hcl-edit parses JSON as an HCL object
//! expression; this walks it with the same [`Collector`] methods as a native file.

use super::{Collector, HelmRelease, Resource, ignore_paths, is_vm_resource, object_entries};
use crate::site::Precedence;
use hcl_edit::expr::Expression;

impl Collector<'_> {
    /// A `.tf.json` document.
    pub(super) fn json_terraform(&mut self, document: &Expression) {
        for (key, value) in entries_of(document) {
            match key.as_str() {
                "variable" => {
                    for (name, body) in entries_of(value) {
                        let default = entries_of(body)
                            .find(|(key, _)| key == "default")
                            .map(|(_, default)| default);
                        self.variable_default(name, default);
                    }
                }
                "locals" => {
                    let entries: Vec<(String, &Expression)> = entries_of(value).collect();
                    self.json_locals(&entries);
                }
                "terraform" => {
                    for (key, value) in entries_of(value) {
                        if key == "required_providers" {
                            for (name, requirement) in entries_of(value) {
                                self.provider(&name, requirement);
                            }
                        }
                    }
                }
                "module" => {
                    for (_, body) in entries_of(value) {
                        self.json_module(body);
                    }
                }
                "resource" | "data" => {
                    for (kind, named) in entries_of(value) {
                        for (_, body) in entries_of(named) {
                            self.json_resource(&kind, body);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A `.tfvars.json` document: each entry assigns a variable.
    pub(super) fn json_tfvars(&mut self, document: &Expression, precedence: Precedence) {
        for (key, value) in entries_of(document) {
            self.assign(&key, value, precedence);
        }
    }

    fn json_locals(&mut self, entries: &[(String, &Expression)]) {
        for (name, value) in entries {
            let mut names = Vec::new();
            self.object_names(name, value, 0, &mut names);
            self.facts.locals.extend(names);
            let value = self.value(value);
            self.facts.locals.push((name.clone(), value));
        }
        self.definition = true;
        self.entries(entries, None);
        self.definition = false;
    }

    fn json_module(&mut self, body: &Expression) {
        let entries: Vec<(String, &Expression)> = entries_of(body).collect();
        let find = |name: &str| {
            entries
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, expr)| *expr)
        };
        let source = find("source").map(|expr| self.value(expr));
        let version = find("version").map(|expr| self.value(expr));
        self.module_sites(source, version);
        let rest: Vec<(String, &Expression)> = entries
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "source" | "version"))
            .cloned()
            .collect();
        self.entries(&rest, None);
    }

    fn json_resource(&mut self, kind: &str, body: &Expression) {
        let entries: Vec<(String, &Expression)> = entries_of(body)
            .filter(|(key, _)| key != "lifecycle")
            .collect();
        let ignored = entries_of(body)
            .filter(|(key, _)| key == "lifecycle")
            .flat_map(|(_, lifecycle)| entries_of(lifecycle))
            .filter(|(key, _)| key == "ignore_changes")
            .flat_map(|(_, paths)| ignore_paths(paths))
            .collect();
        let helm = (kind == "helm_release").then(|| HelmRelease::starting(&self.facts));
        self.resource = Some(Resource {
            helm,
            ignored,
            vm: is_vm_resource(kind),
        });
        self.entries(&entries, None);
        self.end_resource();
    }
}

/// The entries of an object, or of each object of a list (JSON writes repeated blocks as a
/// list of objects).
fn entries_of(expr: &Expression) -> impl Iterator<Item = (String, &Expression)> {
    blocks_of(expr).flat_map(object_entries)
}

/// The objects of `expr`: itself, or the objects of a list.
fn blocks_of(expr: &Expression) -> impl Iterator<Item = &hcl_edit::expr::Object> {
    let items: Vec<&Expression> = match expr {
        Expression::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items.into_iter().filter_map(|item| match item {
        Expression::Object(object) => Some(object),
        _ => None,
    })
}
