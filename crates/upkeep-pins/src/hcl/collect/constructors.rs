//! Object and list constructors walked by their outline, as [`Collector::attribute`] and
//! [`Collector::object`] walk parsed ones. Only entries that are neither plain strings, plain
//! references nor constructors themselves are handed to the parser, so a large manifest or
//! `yamlencode({…})` costs a lexical pass instead of a parse.

use super::Collector;
use super::outlined::{Map, may_be_string};
use crate::hcl::outline::{list_elements, object_entries};
use crate::shapes::is_image_key;
use std::ops::Range;

impl Collector<'_> {
    /// Does what [`Collector::attribute`] does with the parsed expression at `expr`, the
    /// current path ending with `key`.
    pub(super) fn outlined_attribute(
        &mut self,
        map: &Map,
        key: &str,
        expr: &Range<usize>,
    ) -> Option<()> {
        let helm_attribute = self.path.len() == 1
            && self.helm().is_some()
            && matches!(key, "chart" | "repository" | "version" | "set");
        if helm_attribute {
            self.parsed_attribute(key, expr)
        } else if is_image_key(key) && may_be_string(&self.src[expr.clone()]) {
            let value = self.value_at(expr)?;
            self.image_site(value);
            Some(())
        } else {
            self.outlined_expression(map, expr)
        }
    }

    /// Does what [`Collector::expression`] does with the parsed expression at `expr`.
    fn outlined_expression(&mut self, map: &Map, expr: &Range<usize>) -> Option<()> {
        let text = &self.src[expr.clone()];
        if is_inert(text) || self.simple_string(expr).is_some() {
            return Some(());
        }
        if text.starts_with('{')
            && let Some(entries) = object_entries(self.src, expr)
        {
            return self.outlined_object(map, &entries, expr);
        }
        if let Some(list) = list_elements(self.src, expr)
            && list
                .function
                .is_none_or(|name| !matches!(&self.src[name], "templatefile" | "file"))
        {
            for element in &list.elements {
                self.outlined_expression(map, element)?;
            }
            return Some(());
        }
        let parsed = self.parse_expr_at(expr)?;
        self.expression(&parsed);
        Some(())
    }

    /// Does what [`Collector::object`] does with a parsed object of these entries, the object
    /// being `src[object]`.
    fn outlined_object(
        &mut self,
        map: &Map,
        entries: &[(Range<usize>, Range<usize>)],
        object: &Range<usize>,
    ) -> Option<()> {
        self.outlined_entries(map, entries, Some(object.clone()))
    }

    /// Parses the expression at `expr` and walks it as the attribute `key`.
    fn parsed_attribute(&mut self, key: &str, expr: &Range<usize>) -> Option<()> {
        let parsed = self.parse_expr_at(expr)?;
        self.attribute(key, &parsed);
        Some(())
    }
}

/// Whether an expression is a number, a boolean, `null` or a reference such as
/// `var.replicas`: nothing [`Collector::expression`] looks into.
fn is_inert(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}
