//! What the parsers extract from one file: the raw material pins are resolved from.
//!
//! A parser reports *sites* (places that hold or use a version) and *declarations*
//! (variables, locals, inputs) without resolving anything; [`crate::module`] then joins the
//! files of one module directory and turns sites into pins.

use crate::pin::PinKind;
use std::ops::Range;

/// A string literal of a source file, with the map from its decoded text back to raw bytes.
#[derive(Debug, Clone)]
pub(crate) struct Lit {
    /// The decoded text (escapes resolved).
    pub text: String,
    /// Byte range of the raw text in the file, quotes excluded.
    pub raw: Range<usize>,
    /// When the raw text differs from `text` (escape sequences): for each byte offset of
    /// `text`, plus one past the end, the offset in the raw text. `None` means identity.
    pub offsets: Option<Vec<u32>>,
}

impl Lit {
    /// A literal whose raw bytes equal its text.
    pub fn verbatim(text: &str, start: usize) -> Lit {
        Lit {
            text: text.to_owned(),
            raw: start..start + text.len(),
            offsets: None,
        }
    }

    /// The raw byte range in the file of the decoded sub-range `decoded`.
    pub fn raw_range(&self, decoded: Range<usize>) -> Range<usize> {
        match &self.offsets {
            None => self.raw.start + decoded.start..self.raw.start + decoded.end,
            Some(offsets) => {
                self.raw.start + offsets[decoded.start] as usize
                    ..self.raw.start + offsets[decoded.end] as usize
            }
        }
    }
}

/// A reference to a named value, resolved within the module directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Reference {
    /// `var.name`
    Var(String),
    /// `local.name`
    Local(String),
    /// `${name}` inside a `.tpl` file rendered by `templatefile(…, { name = … })`.
    TemplateVar(String),
}

impl Reference {
    /// The reference as written in Terraform.
    pub fn display(&self) -> String {
        match self {
            Reference::Var(name) => format!("var.{name}"),
            Reference::Local(name) => format!("local.{name}"),
            Reference::TemplateVar(name) => name.clone(),
        }
    }
}

/// One part of a value.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Literal text.
    Lit(Lit),
    /// A variable, local or template variable to look up.
    Ref(Reference),
    /// An expression upkeep does not evaluate, kept as written.
    Opaque(String),
}

/// An expression reduced to what upkeep can evaluate: a concatenation of pieces.
#[derive(Debug, Clone)]
pub(crate) struct Value {
    /// The pieces, in order.
    pub pieces: Vec<Piece>,
    /// The expression as written, for messages (`ghcr.io/x:${var.v}`).
    pub source: String,
    /// Byte range of the whole expression in its file.
    pub span: Range<usize>,
}

impl Value {
    /// The literal text when the value is one literal.
    pub fn as_literal(&self) -> Option<&Lit> {
        match self.pieces.as_slice() {
            [Piece::Lit(lit)] => Some(lit),
            _ => None,
        }
    }
}

/// What a site holds.
#[derive(Debug, Clone)]
pub(crate) enum SiteKind {
    /// The value is a whole image reference (`repo:tag`).
    Image {
        /// `image` in Terraform, `values_image` in YAML.
        kind: PinKind,
    },
    /// The value is an image tag; the repository (and registry, digest) may be given next to
    /// it (see [`crate::shapes`]).
    ImageTag {
        /// `image`, `helm_set` or `values_image`.
        kind: PinKind,
        /// The repository (or image name) next to the tag, if any.
        repository: Option<Value>,
        /// The registry next to the tag, if any.
        registry: Option<Value>,
        /// The digest next to the tag, if any.
        digest: Option<Value>,
        /// Dotted key path of the tag (`server.image.tag`), for tags without a repository.
        key: String,
        /// Byte range of the object or mapping holding the tag, when it is one: a reference
        /// to that object (`image = local.images.app`) is a user of the pin.
        object: Option<Range<usize>>,
        /// The chart of the `helm_release` whose values (`set`, inline `yamlencode`) hold the
        /// tag: a tag without a repository is named by it.
        chart: Option<Box<ChartRef>>,
    },
    /// The value is a `helm_release` version.
    Chart {
        /// The `chart` attribute.
        chart: Option<Value>,
        /// The `repository` attribute.
        repository: Option<Value>,
    },
    /// A `helm_release` of a chart from a repository without a `version`: the value is the
    /// `chart` attribute, and there is no version to move.
    UnversionedChart {
        /// The `repository` attribute.
        repository: Option<Value>,
    },
    /// The value is a `required_providers` version constraint.
    Provider {
        /// The provider source (`telmate/proxmox`), or its local name when there is none.
        source: String,
    },
    /// The value is a registry module version.
    Module {
        /// The module source.
        source: Value,
    },
    /// The value is a module source with a `?ref=` version (git sources, Terragrunt).
    SourceRef,
    /// The value is the `version` of an object that names something versioned:
    /// `{ moduleName = …, version = … }`, `{ name, version, repository }`.
    Versioned {
        /// The name (`moduleName`, `source`, `repository` or `name`).
        name: Value,
        /// A `repository` URL next to a `name`: the object is a chart dependency.
        repository: Option<Value>,
    },
}

/// A place that holds or uses a version.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// What the value is.
    pub kind: SiteKind,
    /// The value carrying the version.
    pub value: Value,
    /// A `lifecycle { ignore_changes }` of the enclosing resource covers this site.
    pub ignored: bool,
    /// The site defines a value others use (in `locals`): it is a pin, not a user of one.
    pub definition: bool,
}

/// Where a value assigned to a variable comes from, in Terraform's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Precedence {
    /// Terragrunt `inputs`, passed as `TF_VAR_` environment variables.
    TerragruntInputs,
    /// `terraform.tfvars`.
    Tfvars,
    /// `*.auto.tfvars`, in lexical order of file name (`rank`).
    AutoTfvars,
}

/// The chart a `helm_release` installs: what names a values tag the chart supplies the image
/// of (`immich[image.tag]`).
#[derive(Debug, Clone)]
pub(crate) struct ChartRef {
    /// The `chart` attribute.
    pub chart: Value,
    /// The `repository` attribute.
    pub repository: Option<Value>,
}

/// A `templatefile(path, { … })` call, or a `file(path)` in a `helm_release`'s `values`.
#[derive(Debug, Clone)]
pub(crate) struct TemplateCall {
    /// The template's path as written, without `${path.module}/`.
    pub path: String,
    /// The variables passed to the template.
    pub vars: Vec<(String, Value)>,
    /// The call renders a `helm_release`'s `values`: the template is a values file.
    pub values: bool,
    /// The chart of that `helm_release`, when the file is its values.
    pub chart: Option<ChartRef>,
    /// Terraform ignores changes to what the call renders: the resource's
    /// `lifecycle.ignore_changes` covers it (`[values]`, `all`).
    pub ignored: bool,
}

/// A `module` block whose `source` is a local folder (`./factory`, `../../modules/app`): its
/// arguments are the values of that module's variables.
#[derive(Debug, Clone)]
pub(crate) struct ModuleCall {
    /// The `source` as written.
    pub source: String,
    /// The arguments, by variable name; an object argument also as `name.key` entries.
    pub args: Vec<(String, Value)>,
}

impl ModuleCall {
    /// Whether a module `source` names a local folder.
    pub fn is_local(source: &str) -> bool {
        source.starts_with("./") || source.starts_with("../")
    }
}

/// Arguments of a `module` block that are Terraform's, not the module's variables.
pub(crate) const META_ARGUMENTS: [&str; 6] = [
    "source",
    "version",
    "count",
    "for_each",
    "providers",
    "depends_on",
];

/// Everything one file contributes to its module.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileFacts {
    /// Sites holding or using versions.
    pub sites: Vec<Site>,
    /// `variable` blocks: name and default.
    pub variables: Vec<(String, Option<Value>)>,
    /// `locals` entries.
    pub locals: Vec<(String, Value)>,
    /// Values assigned to variables outside `variable` blocks (tfvars, Terragrunt inputs).
    pub assignments: Vec<(String, Value, Precedence)>,
    /// `templatefile(path, { … })` calls.
    pub templates: Vec<TemplateCall>,
    /// Calls of modules in local folders.
    pub calls: Vec<ModuleCall>,
    /// Object entries a later entry with the same key overrides.
    pub duplicates: Vec<crate::hcl::Duplicate>,
}
