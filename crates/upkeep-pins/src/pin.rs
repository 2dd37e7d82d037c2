//! The pins a scan reports: where a version is written, and what uses it.

use serde::Serialize;
use std::ops::Range;
use std::path::PathBuf;

/// What kind of place a version is written in (the `kind` column of DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// A container image reference in Terraform (`image = "vaultwarden/server:1.35.4"`),
    /// hardcoded or through a variable or local.
    Image,
    /// The `version` of a `helm_release`.
    HelmChart,
    /// A `required_providers` version constraint.
    Provider,
    /// A `module` version, or the `?ref=` of a module or Terragrunt source.
    Module,
    /// An image tag set on a `helm_release` through `set` or inline `yamlencode` values.
    HelmSet,
    /// An image tag in a Helm values YAML file or `.tpl` template.
    ValuesImage,
    /// Something else versioned, written as an object `{ moduleName|source|repository|name,
    /// version }` (a Traefik plugin, an add-on): the `version`.
    Artifact,
}

impl PinKind {
    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PinKind::Image => "image",
            PinKind::HelmChart => "helm_chart",
            PinKind::Provider => "provider",
            PinKind::Module => "module",
            PinKind::HelmSet => "helm_set",
            PinKind::ValuesImage => "values_image",
            PinKind::Artifact => "artifact",
        }
    }
}

/// Whether a pin holds a version `set` can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    /// A concrete version; `set` can rewrite it.
    Pinned,
    /// The moving `latest` tag: reported, never bumped.
    Latest,
    /// An image with neither tag nor digest: reported, never bumped.
    Untagged,
    /// An image pinned by digest only: there is no tag to move.
    DigestOnly,
    /// A version range (`>= 1.0, < 2.0`) rather than one version: reported, not rewritten.
    Range,
    /// The version comes from an expression upkeep cannot evaluate statically.
    Unresolved,
    /// A `helm_release` without a `version`: Helm installs the newest chart on every apply.
    /// Reported, never bumped (there is no version to move).
    Unpinned,
    /// A tag with no image named next to it (a chart's default image set by `image.tag`
    /// alone): reported with its key path as its name, never matched by name or bumped.
    Unnamed,
}

/// One place where a version is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// The kind of pin.
    pub kind: PinKind,
    /// The name as written, without tag: image name, chart name, provider or module source.
    pub name: String,
    /// The normalized name used for matching (`docker.io/library/alpine`).
    pub canonical: String,
    /// The version token `set` rewrites, or `null` when there is none.
    pub version: Option<String>,
    /// Whether the pin can be moved, and if not, why.
    pub status: PinStatus,
    /// The file holding the version token, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line of the version token (of the expression, for unresolved pins).
    pub line: usize,
    /// 1-based column (in characters) of the version token.
    pub column: usize,
    /// Byte range of the version token in `file`.
    #[serde(skip)]
    pub span: Range<usize>,
    /// `var.x` or `local.y` when the version is written in a variable or local, else `null`.
    pub via: Option<String>,
    /// The references that use this version; more than one when a variable feeds several images.
    pub users: Vec<PinUser>,
    /// The digest pinned next to the tag (`sha256:…`); it goes stale when the tag moves.
    pub digest: Option<String>,
    /// The constraint operator in front of a provider or module version (`~>`, `>=`, `=`).
    pub constraint: Option<String>,
    /// The expression that could not be evaluated, for unresolved pins.
    pub expression: Option<String>,
    /// Helm chart repository, for `helm_chart` pins.
    pub repository: Option<String>,
    /// Terraform will not roll this pin out: a `lifecycle { ignore_changes }` covers a user.
    pub ignored_by_terraform: bool,
    /// Places whose value this pin overrides (a variable default shadowed by a `.tfvars`
    /// file or Terragrunt `inputs`); editing them would change nothing.
    pub shadows: Vec<Place>,
    /// Other string literals of the pin's file that name the same thing at the same version
    /// (a download URL, a JSON state string): they move with the pin. Left out of JSON when
    /// there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked: Vec<Linked>,
}

/// A string literal that holds a pin's name and, as a whole token, its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Linked {
    /// File, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line of the version in the literal.
    pub line: usize,
    /// 1-based column of the version in the literal.
    pub column: usize,
    /// Byte range of the version in `file`.
    #[serde(skip)]
    pub span: Range<usize>,
    /// The literal's text (on its line).
    pub text: String,
}

impl Pin {
    /// Whether `set` may rewrite this pin.
    pub fn is_settable(&self) -> bool {
        self.status == PinStatus::Pinned
    }

    /// The folder of the file holding the version token: the Terraform module or stack (the
    /// caller's, for a version given to a local module as an argument).
    pub fn stack(&self) -> PathBuf {
        self.file.parent().map(PathBuf::from).unwrap_or_default()
    }
}

/// A reference that uses a pinned version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinUser {
    /// File of the reference, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line of the reference.
    pub line: usize,
    /// 1-based column of the reference.
    pub column: usize,
    /// The reference as written in the source, e.g. `ghcr.io/x/y:${var.tag}-cuda`.
    pub reference: String,
    /// The reference with every variable and local substituted, e.g. `ghcr.io/x/y:v2.7.4-cuda`.
    pub resolved: String,
    /// The normalized name of what this user refers to.
    pub canonical: String,
    /// Terraform ignores changes to this reference (`lifecycle { ignore_changes }`).
    pub ignored_by_terraform: bool,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    /// File, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}
