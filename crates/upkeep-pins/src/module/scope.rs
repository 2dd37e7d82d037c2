//! The names visible in a module, and evaluating values through them.
//!
//! A unit's own module directory is one scope; every local module it calls (`source =
//! "./factory"`) is another, an *instance* whose variables are the call's arguments,
//! evaluated in the caller's scope. All scopes index one list of files.

use super::resolved::{Origin, Resolved};
use super::{MAX_REFERENCE_DEPTH, SourceFile, normalize};
use crate::fast_hash::{FastMap, FastSet};
use crate::site::{ChartRef, FileFacts, Piece, Reference, Site, SiteKind, Value};
use std::cell::RefCell;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The `templatefile()` (or `file()`) call rendering a template.
#[derive(Clone, Copy)]
pub(super) struct TemplateArgs<'a> {
    /// The file of the call.
    pub(super) file: usize,
    /// The variables passed to the template.
    pub(super) vars: &'a [(String, Value)],
    /// The chart of the `helm_release` whose values the template is.
    pub(super) chart: Option<&'a ChartRef>,
    /// Terraform ignores changes to what the call renders.
    pub(super) ignored: bool,
}

/// What a reference points at: the file and value holding it, the places it shadows, and the
/// scope its own references are evaluated in.
pub(super) struct Target<'a> {
    pub(super) file: usize,
    pub(super) value: &'a Value,
    pub(super) shadows: Vec<(usize, usize)>,
    pub(super) scope: usize,
    pub(super) external: bool,
}

/// The effective value of a variable and the values it shadows.
pub(super) struct Binding<'a> {
    pub(super) file: usize,
    pub(super) value: Option<&'a Value>,
    pub(super) shadows: Vec<(usize, usize)>,
    /// The scope `value` is evaluated in: the caller's, for a module argument.
    pub(super) scope: usize,
    /// Every caller of this module sets the variable: what it holds here is not what runs,
    /// and the callers report the pins it makes.
    pub(super) external: bool,
}

/// The names visible in one module.
pub(super) struct Scope<'a> {
    pub(super) vars: FastMap<&'a str, Binding<'a>>,
    pub(super) locals: FastMap<&'a str, (usize, &'a Value)>,
    /// Template files rendered by `templatefile()`, by path relative to the scanned root.
    pub(super) templates: FastMap<PathBuf, TemplateArgs<'a>>,
    /// The module's files, as indices of the unit's file list.
    pub(super) files: Range<usize>,
}

/// A module call to instantiate: the scope of the caller, and the call.
pub(super) struct Call<'a> {
    /// The scope the arguments are evaluated in.
    pub(super) parent: usize,
    /// The file holding the `module` block.
    pub(super) file: usize,
    /// The arguments.
    pub(super) args: &'a [(String, Value)],
}

/// Every scope of a unit, and the values reached while evaluating.
pub(super) struct Scopes<'a> {
    pub(super) files: &'a [&'a SourceFile],
    pub(super) scopes: Vec<Scope<'a>>,
    /// `(file, start)` of every value a reference led to: a site whose value another site
    /// reaches is that site's definition, not a pin of its own.
    pub(super) reached: RefCell<FastSet<(usize, usize)>>,
}

impl<'a> Scopes<'a> {
    /// The scopes over `files`: the unit's own module first (`files[root]`, in `dir`), whose
    /// variables named in `external` are set by every caller.
    pub(super) fn new(
        files: &'a [&'a SourceFile],
        dir: &Path,
        root: Range<usize>,
        external: &FastSet<String>,
    ) -> Scopes<'a> {
        let mut scopes = Scopes {
            files,
            scopes: Vec::new(),
            reached: RefCell::new(FastSet::default()),
        };
        let mut scope = scopes.module(dir, root.clone(), 0, true);
        for (name, binding) in &mut scope.vars {
            binding.external = external.contains(*name)
                || name
                    .split_once('.')
                    .is_some_and(|(root, _)| external.contains(root));
        }
        scopes.scopes.push(scope);
        scopes
    }

    /// Adds the scope of a module instance (its files `files`, in `dir`) called by `call`,
    /// and returns its index.
    pub(super) fn instance(&mut self, dir: &Path, files: Range<usize>, call: &Call<'a>) -> usize {
        let index = self.scopes.len();
        let mut scope = self.module(dir, files, index, false);
        for (name, value) in call.args {
            let binding = scope.vars.entry(name.as_str()).or_insert(Binding {
                file: call.file,
                value: None,
                shadows: Vec::new(),
                scope: call.parent,
                external: false,
            });
            if let Some(default) = binding.value {
                binding.shadows.push((binding.file, default.span.start));
            }
            binding.file = call.file;
            binding.value = Some(value);
            binding.scope = call.parent;
        }
        self.scopes.push(scope);
        index
    }

    /// The names of one module: variable defaults, locals, template calls and, for the unit's
    /// own module (`assignments`), `.tfvars` and Terragrunt inputs.
    fn module(
        &self,
        dir: &Path,
        range: Range<usize>,
        index: usize,
        assignments: bool,
    ) -> Scope<'a> {
        let files = self.files;
        // Sized once: growing the maps insert by insert cost more than filling them.
        let count = |of: fn(&FileFacts) -> usize| range.clone().map(|i| of(&files[i].facts)).sum();
        let mut vars: FastMap<&str, Binding<'_>> = FastMap::with_capacity_and_hasher(
            count(|facts| facts.variables.len()),
            Default::default(),
        );
        let mut locals = FastMap::with_capacity_and_hasher(
            count(|facts| facts.locals.len()),
            Default::default(),
        );
        let mut templates = FastMap::default();
        for file_index in range.clone() {
            let file = files[file_index];
            for (name, default) in &file.facts.variables {
                vars.insert(
                    name,
                    Binding {
                        file: file_index,
                        value: default.as_ref(),
                        shadows: Vec::new(),
                        scope: index,
                        external: false,
                    },
                );
            }
            for (name, value) in &file.facts.locals {
                locals.insert(name.as_str(), (file_index, value));
            }
            for call in &file.facts.templates {
                templates
                    .entry(normalize(&dir.join(&call.path)))
                    .or_insert(TemplateArgs {
                        file: file_index,
                        vars: call.vars.as_slice(),
                        chart: call.chart.as_ref(),
                        ignored: call.ignored,
                    });
            }
        }
        if assignments {
            let mut assignments: Vec<_> = range
                .clone()
                .flat_map(|index| {
                    files[index]
                        .facts
                        .assignments
                        .iter()
                        .map(move |a| (a.2, index, &a.0, &a.1))
                })
                .collect();
            // Terraform's order: inputs (environment) < terraform.tfvars < *.auto.tfvars by name.
            assignments.sort_by(|a, b| (a.0, &files[a.1].rel).cmp(&(b.0, &files[b.1].rel)));
            for (_, file, name, value) in assignments {
                let binding = vars.entry(name).or_insert(Binding {
                    file,
                    value: None,
                    shadows: Vec::new(),
                    scope: index,
                    external: false,
                });
                if let Some(previous) = binding.value {
                    binding.shadows.push((binding.file, previous.span.start));
                }
                binding.file = file;
                binding.value = Some(value);
            }
        }
        Scope {
            vars,
            locals,
            templates,
            files: range,
        }
    }

    /// Evaluates `value` (found in file `file`, in scope `scope`) as far as statically possible.
    pub(super) fn resolve(
        &self,
        scope: usize,
        file: usize,
        value: &'a Value,
        template: Option<TemplateArgs<'a>>,
    ) -> Resolved<'a> {
        let mut resolved = Resolved {
            text: String::new(),
            segments: Vec::new(),
        };
        let from = Walk {
            scope,
            file,
            via: None,
            shadows: Vec::new(),
            template,
            external: false,
        };
        self.resolve_into(&mut resolved, value, &from, 0);
        resolved
    }

    fn resolve_into(&self, out: &mut Resolved<'a>, value: &'a Value, at: &Walk<'a>, depth: usize) {
        for piece in &value.pieces {
            match piece {
                Piece::Lit(lit) => out.push(
                    &lit.text,
                    Origin::Lit {
                        file: at.file,
                        lit,
                        via: at.via.clone(),
                        shadows: at.shadows.clone(),
                        external: at.external,
                    },
                ),
                Piece::Opaque(text) => out.push(text, at.unresolved(value)),
                Piece::Ref(reference) => {
                    let target = (depth < MAX_REFERENCE_DEPTH)
                        .then(|| self.lookup(at.scope, reference, at.template))
                        .flatten();
                    match target {
                        Some(target) => {
                            self.reached
                                .borrow_mut()
                                .insert((target.file, target.value.span.start));
                            let mut shadows = at.shadows.clone();
                            shadows.extend(target.shadows);
                            let next = Walk {
                                scope: target.scope,
                                file: target.file,
                                via: Some(reference.clone()),
                                shadows,
                                template: None,
                                external: at.external || target.external,
                            };
                            self.resolve_into(out, target.value, &next, depth + 1);
                        }
                        None => {
                            let mut unresolved = at.unresolved(value);
                            if let Origin::Unresolved { external, .. } = &mut unresolved {
                                *external |= self.is_external(at.scope, reference);
                            }
                            out.push(&format!("${{{}}}", reference.display()), unresolved);
                        }
                    }
                }
            }
        }
    }

    /// Whether `reference` is a variable every caller of the module sets.
    fn is_external(&self, scope: usize, reference: &Reference) -> bool {
        let Reference::Var(name) = reference else {
            return false;
        };
        let vars = &self.scopes[scope].vars;
        vars.get(name.as_str())
            .is_some_and(|binding| binding.external)
            || name
                .split_once('.')
                .and_then(|(root, _)| vars.get(root))
                .is_some_and(|binding| binding.external)
    }

    /// When `site` (of file `file`, in scope `scope`) is an image reference that is nothing
    /// but a reference to an object (`image = local.images.app`), the file and start of that
    /// object.
    pub(super) fn object_reference(
        &self,
        scope: usize,
        file: usize,
        site: &Site,
    ) -> Option<(usize, usize)> {
        if !matches!(site.kind, SiteKind::Image { .. }) {
            return None;
        }
        let (mut scope, mut file, mut value) = (scope, file, &site.value);
        for _ in 0..MAX_REFERENCE_DEPTH {
            let [Piece::Ref(reference)] = value.pieces.as_slice() else {
                break;
            };
            let target = self.lookup(scope, reference, None)?;
            (scope, file, value) = (target.scope, target.file, target.value);
        }
        value
            .source
            .starts_with('{')
            .then_some((file, value.span.start))
    }

    pub(super) fn lookup(
        &self,
        scope: usize,
        reference: &Reference,
        template: Option<TemplateArgs<'a>>,
    ) -> Option<Target<'a>> {
        let names = &self.scopes[scope];
        match reference {
            Reference::Var(name) => {
                let binding = names.vars.get(name.as_str())?;
                Some(Target {
                    file: binding.file,
                    value: binding.value?,
                    shadows: binding.shadows.clone(),
                    scope: binding.scope,
                    external: binding.external,
                })
            }
            Reference::Local(name) => {
                let &(file, value) = names.locals.get(name.as_str())?;
                Some(Target {
                    file,
                    value,
                    shadows: Vec::new(),
                    scope,
                    external: false,
                })
            }
            Reference::TemplateVar(name) => {
                let args = template?;
                let value = args
                    .vars
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value)?;
                Some(Target {
                    file: args.file,
                    value,
                    shadows: Vec::new(),
                    scope,
                    external: false,
                })
            }
        }
    }
}

/// Where an evaluation is: the scope and file of the value being read, and how it got there.
struct Walk<'a> {
    scope: usize,
    file: usize,
    via: Option<Reference>,
    shadows: Vec<(usize, usize)>,
    template: Option<TemplateArgs<'a>>,
    external: bool,
}

impl Walk<'_> {
    /// The origin of a piece of `value` that cannot be evaluated.
    fn unresolved<'v>(&self, value: &Value) -> Origin<'v> {
        Origin::Unresolved {
            file: self.file,
            value: value.span.clone(),
            source: value.source.clone(),
            external: self.external,
        }
    }
}
