//! Which files a scan parses strictly (every byte, so that every syntax error is found): all
//! of them (`--strict`), or those an edit of one name depends on ([`ScanOptions::strict_for`]).

use crate::mention::Mention;
use crate::scan::ScanOptions;
use crate::select::Query;

/// What a scan parses strictly, decided per file from its text.
pub(crate) struct Strictness {
    all: bool,
    /// Files mentioning the name of [`ScanOptions::strict_for`].
    mentioning: Option<Mention>,
}

impl Strictness {
    /// As `options` ask.
    pub(crate) fn new(options: &ScanOptions) -> Strictness {
        Strictness {
            all: options.strict,
            mentioning: options
                .strict_for
                .as_deref()
                .filter(|_| !options.strict)
                .map(|name| Mention::new(&Query::new(name).needle)),
        }
    }

    /// Whether a file holding `text` is parsed strictly.
    pub(crate) fn of(&self, text: &str) -> bool {
        self.all
            || self
                .mentioning
                .as_ref()
                .is_some_and(|mention| mention.in_text(text))
    }

    /// Whether every one of `texts` is parsed strictly. The texts are searched only when that
    /// depends on what they hold (a scan for an edit); otherwise the answer is known at once.
    pub(crate) fn of_all<'a>(&self, mut texts: impl Iterator<Item = &'a str>) -> bool {
        self.all || (self.mentioning.is_some() && texts.all(|text| self.of(text)))
    }
}
