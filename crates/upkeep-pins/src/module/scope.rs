//! The names visible in one module directory, and evaluating values through them.

use super::resolved::{Origin, Resolved};
use super::{MAX_REFERENCE_DEPTH, SourceFile, normalize};
use crate::site::{Piece, Reference, Site, SiteKind, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The `templatefile()` call rendering a template: the calling file and its variables.
pub(super) type TemplateArgs<'a> = (usize, &'a [(String, Value)]);

/// What a reference points at: the file and value holding it, and the places it shadows.
pub(super) struct Target<'a> {
    pub(super) file: usize,
    pub(super) value: &'a Value,
    pub(super) shadows: Vec<(usize, usize)>,
}

/// The effective value of a variable and the values it shadows.
pub(super) struct Binding<'a> {
    pub(super) file: usize,
    pub(super) value: Option<&'a Value>,
    pub(super) shadows: Vec<(usize, usize)>,
}

/// The names visible in one module directory.
pub(super) struct Scope<'a> {
    pub(super) vars: HashMap<&'a str, Binding<'a>>,
    pub(super) locals: HashMap<&'a str, (usize, &'a Value)>,
    /// Template files rendered by `templatefile()`: the calling file and the variables.
    pub(super) templates: HashMap<PathBuf, TemplateArgs<'a>>,
}

impl<'a> Scope<'a> {
    pub(super) fn new(dir: &Path, files: &'a [SourceFile]) -> Scope<'a> {
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
            for call in &file.facts.templates {
                templates
                    .entry(normalize(&dir.join(&call.path)))
                    .or_insert((index, call.vars.as_slice()));
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
    pub(super) fn resolve(
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
    pub(super) fn resolve_into(
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

    /// When `site` is an image reference that is nothing but a reference to an object
    /// (`image = local.images.app`), the file and start of that object.
    pub(super) fn object_reference(&self, file: usize, site: &Site) -> Option<(usize, usize)> {
        if !matches!(site.kind, SiteKind::Image { .. }) {
            return None;
        }
        let (mut file, mut value) = (file, &site.value);
        for _ in 0..MAX_REFERENCE_DEPTH {
            let [Piece::Ref(reference)] = value.pieces.as_slice() else {
                break;
            };
            let target = self.lookup(reference, None)?;
            (file, value) = (target.file, target.value);
        }
        value
            .source
            .starts_with('{')
            .then_some((file, value.span.start))
    }

    pub(super) fn lookup(
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
}
