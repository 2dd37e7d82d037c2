//! A value resolved to text, each segment remembering where its bytes came from.

use crate::image::ImageRef;
use crate::site::{Lit, Reference};
use std::ops::Range;

/// The literal bytes holding a version.
pub(super) struct Token {
    pub(super) file: usize,
    pub(super) span: Range<usize>,
    pub(super) text: String,
    pub(super) via: Option<Reference>,
    pub(super) shadows: Vec<(usize, usize)>,
    /// Reached through a variable every caller of the module sets.
    pub(super) external: bool,
}

/// Where the bytes of a resolved segment came from.
#[derive(Clone)]
pub(super) enum Origin<'a> {
    Lit {
        file: usize,
        lit: &'a Lit,
        via: Option<Reference>,
        shadows: Vec<(usize, usize)>,
        /// Reached through a variable every caller of the module sets.
        external: bool,
    },
    /// Something upkeep cannot evaluate, in the value `value` (`source`) of file `file`.
    Unresolved {
        file: usize,
        value: Range<usize>,
        source: String,
        /// Reached through (or missing because of) a variable every caller sets.
        external: bool,
    },
}

/// A value resolved to text, with the origin of each segment.
pub(super) struct Resolved<'a> {
    pub(super) text: String,
    pub(super) segments: Vec<(Range<usize>, Origin<'a>)>,
}

impl<'a> Resolved<'a> {
    pub(super) fn push(&mut self, text: &str, origin: Origin<'a>) {
        let start = self.text.len();
        self.text.push_str(text);
        self.segments.push((start..self.text.len(), origin));
    }

    /// The image name when the text is `name:` followed by something upkeep cannot evaluate
    /// (`b/two:${lookup(var.tags, "two")}`): the literal prefix up to the tag separator.
    pub(super) fn literal_image_name(&self) -> Option<&str> {
        let first_unresolved = self
            .segments
            .iter()
            .find(|(_, origin)| matches!(origin, Origin::Unresolved { .. }))?
            .0
            .start;
        let prefix = &self.text[..first_unresolved];
        let last_slash = prefix.rfind('/').map_or(0, |i| i + 1);
        let colon = last_slash + prefix[last_slash..].find(':')?;
        let name = &prefix[..colon];
        ImageRef::parse(name).filter(|image| image.tag.is_none() && image.digest.is_none())?;
        Some(name)
    }

    pub(super) fn has_unresolved(&self, range: &Range<usize>) -> bool {
        self.overlapping(range)
            .any(|(_, origin)| matches!(origin, Origin::Unresolved { .. }))
    }

    /// The segments upkeep could not evaluate: file, value span and source, and whether
    /// they came through a variable every caller sets.
    pub(super) fn unresolved(&self) -> impl Iterator<Item = (usize, &Range<usize>, &str, bool)> {
        self.segments.iter().filter_map(|(_, origin)| match origin {
            Origin::Unresolved {
                file,
                value,
                source,
                external,
            } => Some((*file, value, source.as_str(), *external)),
            Origin::Lit { .. } => None,
        })
    }

    pub(super) fn overlapping<'s>(
        &'s self,
        range: &'s Range<usize>,
    ) -> impl Iterator<Item = &'s (Range<usize>, Origin<'a>)> + 's {
        self.segments
            .iter()
            .filter(move |(seg, _)| seg.start < range.end && range.start < seg.end)
    }

    /// The one literal holding `range` of the text: the only overlapping segment, or the only
    /// one reached through a reference (the rest being the user's own prefix or suffix, as the
    /// `-cuda` of `"${var.v}-cuda"`). `None` when the range is built from several values or
    /// from something upkeep cannot evaluate.
    pub(super) fn token(&self, range: Range<usize>) -> Option<Token> {
        if range.is_empty() || self.has_unresolved(&range) {
            return None;
        }
        let overlapping: Vec<_> = self.overlapping(&range).collect();
        let chosen = match overlapping.as_slice() {
            [one] => *one,
            many => {
                let mut referenced = many
                    .iter()
                    .filter(|(_, o)| matches!(o, Origin::Lit { via: Some(_), .. }));
                let one = referenced.next()?;
                if referenced.next().is_some() {
                    return None;
                }
                *one
            }
        };
        let (
            seg,
            Origin::Lit {
                file,
                lit,
                via,
                shadows,
                external,
            },
        ) = chosen
        else {
            return None;
        };
        let start = range.start.max(seg.start) - seg.start;
        let end = range.end.min(seg.end) - seg.start;
        Some(Token {
            file: *file,
            span: lit.raw_range(start..end),
            text: lit.text[start..end].to_owned(),
            via: via.clone(),
            shadows: shadows.clone(),
            external: *external,
        })
    }
}
