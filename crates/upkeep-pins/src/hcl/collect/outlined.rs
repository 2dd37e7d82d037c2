//! Collecting a Terraform file by its outline: only the pieces that can hold pins are parsed,
//! then walked by the same [`Collector`] methods a full parse uses, so the facts are the same.

use super::{Collector, HelmRelease, Resource, ignore_paths, is_image_key};
use crate::hcl::outline::{Item, outline};
use crate::pin::PinKind;
use crate::site::{FileFacts, Lit, Piece, SiteKind, Value};
use hcl_edit::expr::Expression;
use memchr::memmem::Finder;
use std::ops::Range;
use std::sync::LazyLock;

/// Collects the facts of a Terraform file by parsing only the pieces that can hold pins (see
/// [`super::outline`]). Returns `None` when the outline or a piece does not parse; the caller
/// then parses the whole file, so the result is never less than a full parse finds.
pub(in crate::hcl) fn collect_outlined(src: &str, start: usize) -> Option<FileFacts> {
    let items = outline(src, start)?;
    let mut collector = Collector {
        src,
        base: start,
        facts: FileFacts::default(),
        resource: None,
        path: Vec::new(),
    };
    collector.outlined_attributes(&items)?;
    for item in &items {
        let Item::Block {
            ident,
            label,
            whole,
            items,
            ..
        } = item
        else {
            continue;
        };
        let kind = label.clone().map(|label| &src[label]);
        match &src[ident.clone()] {
            "variable" => collector.outlined_variable(label.as_ref(), items)?,
            "locals" => collector.parse_block(whole)?,
            "terraform" => collector.outlined_terraform(items)?,
            "module" => collector.outlined_module(items)?,
            "resource" | "data" if kind == Some("helm_release") => {
                collector.outlined_helm_release(items)?
            }
            "resource" | "data" => collector.outlined_resource(items)?,
            _ if may_hold_pins(&src[whole.clone()]) => collector.parse_block(whole)?,
            _ => {}
        }
    }
    Some(collector.facts)
}

/// Whether text may hold an image site or a `templatefile()` call (`mage` covers `image` and
/// `Image`); text without any of these words cannot produce a site outside the blocks that
/// are always parsed.
fn may_hold_pins(text: &str) -> bool {
    static WORDS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| {
        [
            Finder::new("mage"),
            Finder::new("templatefile"),
            Finder::new("repository"),
        ]
    });
    WORDS
        .iter()
        .any(|word| word.find(text.as_bytes()).is_some())
}

impl Collector<'_> {
    /// Parses one expression of the file; spans of the result are relative to `self.base`,
    /// which is set to the expression's start.
    fn parse_expr_at(&mut self, expr: &Range<usize>) -> Option<Expression> {
        let parsed = hcl_edit::parser::parse_expr(&self.src[expr.clone()]).ok()?;
        self.base = expr.start;
        Some(parsed)
    }

    /// The expression range of attribute `name` among `items`.
    fn attribute_range(&self, items: &[Item], name: &str) -> Option<Range<usize>> {
        items.iter().find_map(|item| match item {
            Item::Attribute { key, expr } if &self.src[key.clone()] == name => Some(expr.clone()),
            _ => None,
        })
    }

    /// A `terraform` block by its outline: its `source` and `required_providers` blocks.
    fn outlined_terraform(&mut self, items: &[Item]) -> Option<()> {
        if let Some(source) = self.attribute_range(items, "source") {
            let source = self.parse_expr_at(&source)?;
            self.source_ref(&source);
        }
        for item in items {
            if let Item::Block { ident, whole, .. } = item
                && &self.src[ident.clone()] == "required_providers"
            {
                let parsed = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
                self.base = whole.start;
                parsed
                    .blocks()
                    .for_each(|providers| self.required_providers(providers));
            }
        }
        Some(())
    }

    /// A `module` block by its outline: `source` and `version`, then what may hold pins.
    fn outlined_module(&mut self, items: &[Item]) -> Option<()> {
        let source = match self.attribute_range(items, "source") {
            Some(range) => {
                let parsed = self.parse_expr_at(&range)?;
                self.source_ref(&parsed);
                Some(self.value(&parsed))
            }
            None => None,
        };
        if let (Some(source), Some(version)) = (source, self.attribute_range(items, "version")) {
            let version = self.parse_expr_at(&version)?;
            let version = self.value(&version);
            self.site(SiteKind::Module { source }, version);
        }
        let rest: Vec<Item> = items
            .iter()
            .filter(|item| match item {
                Item::Attribute { key, .. } => {
                    !matches!(&self.src[key.clone()], "source" | "version")
                }
                Item::Block { .. } => true,
            })
            .cloned()
            .collect();
        self.outlined_body(&rest)
    }

    /// A `helm_release` by its outline: the chart attributes and `set` entries always, the
    /// rest only where it may hold pins.
    fn outlined_helm_release(&mut self, items: &[Item]) -> Option<()> {
        let ignored = self.lifecycle_ignores(items)?;
        self.resource = Some(Resource {
            helm: Some(HelmRelease::default()),
            ignored,
        });
        for item in items {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let key = &self.src[key.clone()];
            let helm_key = matches!(key, "chart" | "repository" | "version" | "set");
            if helm_key || is_image_key(key) || may_hold_pins(&self.src[expr.clone()]) {
                let parsed = self.parse_expr_at(expr)?;
                self.path.push(key.to_owned());
                self.attribute(key, &parsed);
                self.path.pop();
            }
        }
        for item in items {
            let Item::Block {
                ident,
                whole,
                body,
                items,
                ..
            } = item
            else {
                continue;
            };
            match &self.src[ident.clone()] {
                "lifecycle" => {}
                "set" => {
                    let parsed = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
                    self.base = whole.start;
                    parsed
                        .blocks()
                        .for_each(|set| self.helm_set_block(&set.body));
                }
                ident if may_hold_pins(&self.src[body.clone()]) => {
                    self.path.push(ident.to_owned());
                    self.outlined_body(items)?;
                    self.path.pop();
                }
                _ => {}
            }
        }
        self.end_resource();
        Some(())
    }

    /// The `ignore_changes` paths of the `lifecycle` blocks among `items`.
    fn lifecycle_ignores(&self, items: &[Item]) -> Option<Vec<Vec<String>>> {
        let mut ignored = Vec::new();
        for item in items {
            if let Item::Block { ident, whole, .. } = item
                && &self.src[ident.clone()] == "lifecycle"
            {
                let parsed = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
                let attrs = parsed
                    .blocks()
                    .filter_map(|block| block.body.get_attribute("ignore_changes"));
                ignored.extend(attrs.flat_map(|attr| ignore_paths(&attr.value)));
            }
        }
        Some(ignored)
    }

    /// Parses one top-level block and collects it as a full parse would.
    fn parse_block(&mut self, whole: &Range<usize>) -> Option<()> {
        let body = hcl_edit::parser::parse_body(&self.src[whole.clone()]).ok()?;
        self.base = whole.start;
        self.top_level(&body);
        Some(())
    }

    /// Walks a resource body by its outline: `lifecycle` first, then the attributes that may
    /// hold pins, parsed one expression at a time.
    fn outlined_resource(&mut self, items: &[Item]) -> Option<()> {
        let ignored = self.lifecycle_ignores(items)?;
        self.resource = Some(Resource {
            helm: None,
            ignored,
        });
        let walked = self.outlined_body(items);
        self.resource = None;
        walked
    }

    fn outlined_body(&mut self, items: &[Item]) -> Option<()> {
        self.outlined_attributes(items)?;
        for item in items {
            let Item::Block {
                ident, body, items, ..
            } = item
            else {
                continue;
            };
            let ident = &self.src[ident.clone()];
            if ident == "lifecycle" || !may_hold_pins(&self.src[body.clone()]) {
                continue;
            }
            self.path.push(ident.to_owned());
            self.outlined_body(items)?;
            self.path.pop();
        }
        Some(())
    }

    /// A `variable` block by its outline: only the `default` is read.
    fn outlined_variable(&mut self, label: Option<&Range<usize>>, items: &[Item]) -> Option<()> {
        let name = self.src[label?.clone()].to_owned();
        let default = items.iter().find_map(|item| match item {
            Item::Attribute { key, expr } if &self.src[key.clone()] == "default" => {
                Some(expr.clone())
            }
            _ => None,
        });
        let Some(expr) = default else {
            self.facts.variables.push((name, None));
            return Some(());
        };
        if let Some(value) = self.plain_literal(&expr) {
            self.facts.variables.push((name, Some(value)));
            return Some(());
        }
        let parsed = hcl_edit::parser::parse_expr(&self.src[expr.clone()]).ok()?;
        self.base = expr.start;
        self.variable_default(name, Some(&parsed));
        Some(())
    }

    /// The value of an expression that is one quoted string without escapes or templates, read
    /// straight from the bytes the outline delimited: exactly what the parser would give.
    fn plain_literal(&self, expr: &Range<usize>) -> Option<Value> {
        let source = &self.src[expr.clone()];
        let text = source.strip_prefix('"')?.strip_suffix('"')?;
        let special = |b: &u8| matches!(b, b'"' | b'\\' | b'\n' | b'\r');
        if text.as_bytes().iter().any(special) || text.contains("${") || text.contains("%{") {
            return None;
        }
        let lit = Lit::verbatim(text, expr.start + 1);
        Some(Value {
            pieces: vec![Piece::Lit(lit)],
            source: source.to_owned(),
            span: expr.clone(),
        })
    }

    fn outlined_attributes(&mut self, items: &[Item]) -> Option<()> {
        for item in items {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let key = &self.src[key.clone()];
            if !is_image_key(key) && !may_hold_pins(&self.src[expr.clone()]) {
                continue;
            }
            if let Some(value) = self.plain_literal(expr) {
                // A plain string is a site under an image key and nothing anywhere else.
                if is_image_key(key) {
                    self.path.push(key.to_owned());
                    self.site(
                        SiteKind::Image {
                            kind: PinKind::Image,
                        },
                        value,
                    );
                    self.path.pop();
                }
                continue;
            }
            let parsed = hcl_edit::parser::parse_expr(&self.src[expr.clone()]).ok()?;
            self.base = expr.start;
            self.path.push(key.to_owned());
            self.attribute(key, &parsed);
            self.path.pop();
        }
        Some(())
    }
}
