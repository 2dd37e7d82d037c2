//! Joins the files of one module directory and turns their sites into pins.
//!
//! A value is resolved to text made of *segments*, each remembering where its bytes came from
//! (a literal of some file, reached through some reference) or that it could not be evaluated.
//! The version part of a resolved reference is then traced back to the one literal that holds
//! it: that literal is the token `set` rewrites.

mod linked;
mod resolved;
mod scope;
mod sites;

use crate::fast_hash::{FastMap, FastSet};
use crate::location::LineCursor;
use crate::pin::{Pin, PinKind, PinStatus, PinUser, Place};
use crate::site::{FileFacts, Piece, Reference, Site, SiteKind, Value};
use resolved::{Resolved, Token};
use scope::{Call, Scopes};
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

/// A local module that a unit calls, instantiated with the call's arguments: its pins whose
/// version is written on the unit's side (an argument, or what an argument refers to) are
/// the unit's.
pub(crate) struct Instance {
    /// The called module's folder, relative to the scanned root.
    pub dir: PathBuf,
    /// Its files, as indices of the unit's file list.
    pub files: Range<usize>,
    /// The scope of the caller: 0 for the unit's own module, `i + 1` for instance `i`.
    pub parent: usize,
    /// The file holding the `module` block, and the call's index among its calls.
    pub call: (usize, usize),
}

/// Resolves every site of one unit into pins: `files[..own]` are the files of the module
/// directory `dir` (relative to the scanned root) with the values files that belong to it;
/// the rest are files of the local modules it calls, listed in `instances` (each after its
/// caller). Variables in `external` are set by every caller of `dir`: pins they hold are the
/// callers', not this unit's.
pub(crate) fn resolve(
    dir: &Path,
    files: &[&SourceFile],
    own: usize,
    instances: &[Instance],
    external: &FastSet<String>,
) -> Vec<Pin> {
    let mut scopes = Scopes::new(files, dir, 0..own, external);
    for instance in instances {
        let (file, call) = instance.call;
        let call = Call {
            parent: instance.parent,
            file,
            args: &files[file].facts.calls[call].args,
        };
        scopes.instance(&instance.dir, instance.files.clone(), &call);
    }
    let mut pins = Pins {
        files,
        pins: Vec::new(),
        token_files: Vec::new(),
        by_token: FastMap::default(),
        by_object: FastMap::default(),
        lines: FastMap::default(),
    };
    // Every site is evaluated first: which values other sites reach is known only then.
    let mut found = Vec::new();
    // References to a whole image object (`image = local.images.app`) are users of the pin
    // that object defines, so they are joined once every pin exists.
    let mut object_users = Vec::new();
    for (scope, names) in scopes.scopes.iter().enumerate() {
        for index in names.files.clone() {
            let file = files[index];
            let template = names.templates.get(&file.rel).copied();
            let values = matches!(
                crate::scan::FileType::of(&file.rel),
                Some(crate::scan::FileType::Yaml | crate::scan::FileType::Template)
            );
            for site in &file.facts.sites {
                // `${name}` in a values file nothing renders (its `templatefile()` call
                // commented out, or in another folder): no value is known, nor used.
                if values && template.is_none() && uses_template_variables(site) {
                    continue;
                }
                if let Some(target) = scopes.object_reference(scope, index, site) {
                    object_users.push((index, site, target));
                    continue;
                }
                let Some((material, resolved)) = scopes.pin(scope, index, site, template) else {
                    continue;
                };
                if let Some(material) = owned(material, &resolved, scope, own) {
                    found.push((index, site, material));
                }
            }
        }
    }
    // Values files a `helm_release` renders under `ignore_changes = [values]`: Terraform
    // rolls out none of their places.
    let ignored_values: FastSet<&Path> = scopes
        .scopes
        .iter()
        .flat_map(|names| &names.templates)
        .filter(|(_, call)| call.ignored)
        .map(|(path, _)| path.as_path())
        .collect();
    let reached = scopes.reached.into_inner();
    let (direct, defining): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(index, site, _)| !reached.contains(&(*index, site.value.span.start)));
    for (index, site, material) in direct {
        pins.add(index, site, material, true);
    }
    // A site whose value another site reaches (a `locals` entry, a Terragrunt input, a module
    // argument) defines what that site uses: it makes a pin only if none has its token yet,
    // and is no user of it; what cannot be read there is reported where it is used.
    for (index, site, material) in defining {
        if matches!(material.status, PinStatus::Pinned | PinStatus::Latest) {
            pins.add(index, site, material, false);
        }
    }
    for (index, site, target) in object_users {
        if let Some(&pin) = pins.by_object.get(&target) {
            let resolved = reference_of(&pins.pins[pin]);
            let canonical = pins.pins[pin].canonical.clone();
            let user = pins.user(index, site, resolved, canonical);
            pins.join(pin, user);
        }
    }
    pins.link();
    let mut pins = pins.pins;
    for pin in &mut pins {
        if ignored_values.contains(pin.file.as_path()) {
            pin.ignored_by_terraform = true;
        }
        for user in &mut pin.users {
            if ignored_values.contains(user.file.as_path()) {
                user.ignored_by_terraform = true;
                pin.ignored_by_terraform = true;
            }
        }
        pin.users
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        pin.shadows.sort();
        pin.shadows.dedup();
    }
    pins
}

/// The pin material of a site evaluated in scope `scope`, if the unit reports it: in the
/// unit's own module, unless its version comes through a variable every caller sets (the
/// callers report it); in a module instance, only when its version is written on the unit's
/// side (`files[..own]`), located there when it cannot be evaluated.
fn owned(mut found: Found, resolved: &Resolved<'_>, scope: usize, own: usize) -> Option<Found> {
    let ours = |file: usize, external: bool| file < own && !external;
    match &found.token {
        Some(token) if scope == 0 => (!token.external).then_some(found),
        Some(token) => ours(token.file, token.external).then_some(found),
        None if scope == 0 => {
            let external = resolved.unresolved().any(|(_, _, _, external)| external);
            (!external).then_some(found)
        }
        None => {
            let (file, value, source, _) = resolved
                .unresolved()
                .find(|&(file, _, _, external)| ours(file, external))?;
            if found.status == PinStatus::Unresolved {
                found.expression = Some(unquote(source).to_owned());
            }
            found.at = Some((file, value.clone()));
            Some(found)
        }
    }
}

/// Whether a site's value, or a part named next to it, holds a `${name}` of a template.
fn uses_template_variables(site: &Site) -> bool {
    let template = |value: &Value| {
        value
            .pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Ref(Reference::TemplateVar(_))))
    };
    match &site.kind {
        SiteKind::ImageTag {
            repository,
            registry,
            ..
        } => {
            template(&site.value)
                || repository.as_ref().is_some_and(template)
                || registry.as_ref().is_some_and(template)
        }
        _ => template(&site.value),
    }
}

/// The pins of a unit being built, indexed by the token they rewrite.
struct Pins<'a> {
    files: &'a [&'a SourceFile],
    pins: Vec<Pin>,
    /// The index of the file holding each pin's token.
    token_files: Vec<usize>,
    /// Pin by file and start of its version token.
    by_token: FastMap<(usize, usize), usize>,
    /// Pin by file and start of the image object its tag is an entry of.
    by_object: FastMap<(usize, usize), usize>,
    lines: FastMap<usize, LineCursor<'a>>,
}

impl<'a> Pins<'a> {
    /// 1-based line and column of `offset` in file `file`.
    fn place(&mut self, file: usize, offset: usize) -> (usize, usize) {
        let files = self.files;
        self.lines
            .entry(file)
            .or_insert_with(|| LineCursor::new(&files[file].text))
            .line_col(offset)
    }

    /// The user a site of file `index` makes.
    fn user(&mut self, index: usize, site: &Site, resolved: String, canonical: String) -> PinUser {
        let (line, column) = self.place(index, site.value.span.start);
        PinUser {
            file: self.files[index].rel.clone(),
            line,
            column,
            reference: one_line(unquote(&site.value.source)),
            resolved,
            canonical,
            ignored_by_terraform: site.ignored,
        }
    }

    /// Adds a user to pin `pin`, once.
    fn join(&mut self, pin: usize, user: PinUser) {
        let pin = &mut self.pins[pin];
        let known = pin
            .users
            .iter()
            .any(|u| (&u.file, u.line, u.column) == (&user.file, user.line, user.column));
        if !known {
            pin.ignored_by_terraform |= user.ignored_by_terraform;
            pin.users.push(user);
        }
    }

    /// Adds the pin material `found` of a site of file `index`: a new pin, or a user of the
    /// pin whose token it resolves to. A site in `locals` defines a pin without using it, as
    /// does one that is not `used` (another site reaches its value); only images have users.
    fn add(&mut self, index: usize, site: &Site, found: Found, used: bool) {
        let token = found.token.as_ref().map(|t| (t.file, t.span.start));
        if site.definition && token.is_none() {
            // Its users, if any, report what cannot be resolved.
            return;
        }
        // A site in `locals` that writes its version, or builds the image from written parts
        // (`"x/y:${var.tag}"`, `{ repository = "x/y", tag = var.tag }`), defines the pin; one
        // that only passes a reference on (`image = var.default_image`) uses it.
        let defines = !used
            || site.definition
                && (found.token.as_ref().is_some_and(|t| t.via.is_none()) || writes_parts(site));
        // An image string is a reference even where it holds the tag; a chart, provider or
        // module version written in place is the pin itself, no user of it.
        let image = matches!(
            found.kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        );
        // Without a token (a chart without `version`), the pin is located at its site.
        let in_place = match &found.token {
            Some(t) => t.file == index && site.value.span.contains(&t.span.start),
            None => found.at.is_none(),
        };
        let user = (!defines && (image || !in_place))
            .then(|| self.user(index, site, found.resolved.clone(), found.canonical.clone()));
        if let Some(&existing) = token.as_ref().and_then(|t| self.by_token.get(t)) {
            // A tag first seen alone (`image_tag = "…"` in locals) takes the name of an image
            // that uses it.
            let pin = &mut self.pins[existing];
            if pin.status == PinStatus::Unnamed && found.status != PinStatus::Unnamed {
                pin.kind = found.kind;
                pin.name = one_line(&found.name);
                pin.canonical = found.canonical.clone();
                pin.status = found.status;
                pin.digest = found.digest.clone();
            }
            if let Some(user) = user {
                self.join(existing, user);
            }
            self.note_object(index, site, existing);
            return;
        }
        let (file_index, span, via, shadows) = match (&found.token, &found.at) {
            (Some(token), _) => (
                token.file,
                token.span.clone(),
                token.via.clone(),
                token.shadows.clone(),
            ),
            (None, Some((file, span))) => (*file, span.clone(), None, Vec::new()),
            (None, None) => (index, site.value.span.clone(), None, Vec::new()),
        };
        let (line, column) = self.place(file_index, span.start);
        let shadows = shadows
            .into_iter()
            .map(|(file, offset)| {
                let (line, column) = self.place(file, offset);
                Place {
                    file: self.files[file].rel.clone(),
                    line,
                    column,
                }
            })
            .collect();
        if let Some(token) = token {
            self.by_token.insert(token, self.pins.len());
        }
        self.note_object(index, site, self.pins.len());
        self.token_files.push(file_index);
        self.pins.push(Pin {
            kind: found.kind,
            name: one_line(&found.name),
            canonical: found.canonical,
            version: found.version,
            status: found.status,
            file: self.files[file_index].rel.clone(),
            line,
            column,
            span,
            via: via.map(|r| r.display()),
            users: user.into_iter().collect(),
            digest: found.digest,
            constraint: found.constraint,
            expression: found.expression.as_deref().map(one_line),
            repository: found.repository,
            ignored_by_terraform: site.ignored,
            shadows,
            linked: Vec::new(),
        });
    }

    /// Finds the linked strings of every pinned version: literals of the pin's file, other
    /// than pin tokens and references, that hold the pin's name and version.
    fn link(&mut self) {
        let mut taken: FastMap<usize, Vec<Range<usize>>> = FastMap::default();
        for (pin, &file) in self.pins.iter().zip(&self.token_files) {
            taken.entry(file).or_default().push(pin.span.clone());
        }
        for (index, file) in self.files.iter().enumerate() {
            let spans = file.facts.sites.iter().map(|site| site.value.span.clone());
            taken.entry(index).or_default().extend(spans);
        }
        let mut literals: FastMap<usize, linked::FileLiterals<'_>> = FastMap::default();
        for (pin, &file) in self.pins.iter_mut().zip(&self.token_files) {
            let Some(version) = pin.version.as_deref().filter(|_| pin.is_settable()) else {
                continue;
            };
            let source = &self.files[file];
            let literals = literals.entry(file).or_insert_with(|| {
                let hcl = !matches!(
                    crate::scan::FileType::of(&source.rel),
                    Some(crate::scan::FileType::Yaml | crate::scan::FileType::Template)
                );
                let taken = taken.remove(&file).unwrap_or_default();
                linked::FileLiterals::new(&source.rel, &source.text, hcl, taken)
            });
            pin.linked = literals.find(&pin.name, version);
        }
    }

    /// Remembers the image object a tag site belongs to, for references to the object.
    fn note_object(&mut self, index: usize, site: &Site, pin: usize) {
        if let SiteKind::ImageTag {
            object: Some(object),
            ..
        } = &site.kind
        {
            self.by_object.insert((index, object.start), pin);
        }
    }
}

/// Whether a site writes part of what it stands for as a literal (not only references).
fn writes_parts(site: &Site) -> bool {
    let literal = |value: &Value| value.pieces.iter().any(|p| matches!(p, Piece::Lit(_)));
    match &site.kind {
        SiteKind::ImageTag { repository, .. } => {
            literal(&site.value) || repository.as_ref().is_some_and(literal)
        }
        _ => literal(&site.value),
    }
}

/// The image reference a pin stands for, as a user of it resolves: `name:tag@digest`.
fn reference_of(pin: &Pin) -> String {
    let mut reference = format!(
        "{}:{}",
        pin.name,
        pin.version.as_deref().unwrap_or_default()
    );
    if let Some(digest) = &pin.digest {
        reference.push('@');
        reference.push_str(digest);
    }
    reference
}

/// An expression on one line (a multi-line one with its runs of blanks as single spaces), for
/// names and references.
fn one_line(text: &str) -> String {
    if memchr::memchr(b'\n', text.as_bytes()).is_some() {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_owned()
    }
}

/// Whether text holds a template placeholder another tool fills in (`{{inputs.parameters.tag}}`,
/// `{{ .Values.tag }}`): not a version upkeep can read.
fn placeholder(text: &str) -> bool {
    text.contains("{{") || text.contains("}}")
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
    /// Where an unresolved pin is reported when not at its site: the file and span of the
    /// argument it comes from, for a site of a module instance.
    at: Option<(usize, Range<usize>)>,
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
            at: None,
        }
    }

    /// Marks the pin unresolved: its version (or name) is not something upkeep can read.
    fn unresolve(&mut self, source: &Value) {
        self.status = PinStatus::Unresolved;
        self.version = None;
        self.token = None;
        self.expression = Some(unquote(&source.source).to_owned());
    }

    /// Fills in the version from the resolved `range`, or marks the pin unresolved.
    fn with_version(
        mut self,
        resolved: &Resolved<'_>,
        range: Range<usize>,
        source: &Value,
    ) -> Found {
        match resolved.token(range) {
            Some(token) if placeholder(&token.text) => {
                self.status = PinStatus::Unresolved;
                self.expression = Some(unquote(&source.source).to_owned());
            }
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

/// `"text"` → `text`: the source of a string expression without its quotes.
fn unquote(source: &str) -> &str {
    source
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(source)
}

/// Lexically normalizes `a/./b/../c` to `a/c`.
pub(crate) fn normalize(path: &Path) -> PathBuf {
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
