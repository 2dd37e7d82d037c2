//! Variable assignments read by their outline: every top-level attribute of a `.tfvars` file,
//! and each entry of a `terragrunt.hcl`'s `inputs`, as [`Collector::assign`] records them
//! parsed. Only leaves that are not plain are parsed.

use super::{Collector, MAX_OBJECT_DEPTH, object_entries};
use crate::hcl::Flavor;
use crate::hcl::outline::{self, Item};
use crate::site::Precedence;
use hcl_edit::expr::Expression;
use std::ops::Range;

impl Collector<'_> {
    /// Records the assignments of a file of `flavor` whose top-level items are `top`: what
    /// [`super::collect`] records before walking the body.
    pub(super) fn outlined_assignments(&mut self, top: &[Item], flavor: Flavor) -> Option<()> {
        for item in top {
            let Item::Attribute { key, expr } = item else {
                continue;
            };
            let key = &self.src[key.clone()];
            match flavor {
                Flavor::Tfvars(precedence) => self.outlined_assign(key, expr, precedence)?,
                Flavor::Terragrunt if key == "inputs" => self.outlined_inputs(expr)?,
                _ => {}
            }
        }
        Some(())
    }

    /// Each entry of `inputs = { … }` assigns a variable.
    fn outlined_inputs(&mut self, expr: &Range<usize>) -> Option<()> {
        let precedence = Precedence::TerragruntInputs;
        let entries = outline::object_entries(self.src, expr)
            .filter(|entries| entries.iter().all(|(key, _)| !self.literal_key(key)));
        let Some(entries) = entries else {
            let parsed = self.parse_expr_at(expr)?;
            if let Expression::Object(object) = &parsed {
                for (key, value) in object_entries(object) {
                    self.assign(&key, value, precedence);
                }
            }
            return Some(());
        };
        for (key, value) in entries {
            let key = self.src[key].to_owned();
            self.outlined_assign(&key, &value, precedence)?;
        }
        Some(())
    }

    /// Records the assignment of the value at `expr` to variable `name`, and of its entries to
    /// `name.key` when it is an object.
    fn outlined_assign(
        &mut self,
        name: &str,
        expr: &Range<usize>,
        precedence: Precedence,
    ) -> Option<()> {
        let mut entries = Vec::new();
        // One level of entries is named, as the parsed assignment names them.
        let Some(value) = self.outlined_value_named(name, expr, MAX_OBJECT_DEPTH - 1, &mut entries)
        else {
            let parsed = self.parse_expr_at(expr)?;
            self.assign(name, &parsed, precedence);
            return Some(());
        };
        let assignments = &mut self.facts.assignments;
        assignments.extend(
            entries
                .into_iter()
                .map(|(name, value)| (name, value, precedence)),
        );
        assignments.push((name.to_owned(), value, precedence));
        Some(())
    }

    /// Whether an object key at `key` is one the parser reads as a literal (`null`, `true`,
    /// `false`), which names nothing.
    fn literal_key(&self, key: &Range<usize>) -> bool {
        matches!(&self.src[key.clone()], "null" | "true" | "false")
    }
}
