//! Whether a text names something: a whole name, in any ASCII case. An edit refuses files that
//! do not parse and mention the name it moves (they may hold a pin of it), and a scan for an
//! edit parses strictly exactly the files that mention it; both ask here, so they agree.

use aho_corasick::AhoCorasick;
use std::io::Read;

/// Whether `reader` holds `needle` as a whole name (ASCII case-insensitive; `needle` in lower
/// case; not inside a longer name of letters, digits, `_` and `-`), read in pieces so that a
/// file of any size costs little memory. A read that fails holds nothing more.
pub(crate) fn mentions(mut reader: impl Read, needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return true;
    }
    let finder = memchr::memmem::Finder::new(needle);
    // Kept from one piece to the next: a match that ends the piece and the byte before it.
    let keep = needle.len() + 1;
    let mut window: Vec<u8> = Vec::with_capacity(PIECE + keep);
    let mut chunk = vec![0u8; PIECE];
    // Whether bytes before the window were dropped (then the window's first byte is only
    // context, never the start of a match).
    let mut dropped = false;
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(read) => read,
            Err(_) => return false,
        };
        let end = read == 0;
        window.extend(chunk[..read].iter().map(u8::to_ascii_lowercase));
        let whole = finder.find_iter(&window).any(|at| {
            if dropped && at == 0 {
                return false;
            }
            let after = window.get(at + needle.len()).copied();
            if after.is_none() && !end {
                return false; // decided with the next piece
            }
            let before = at.checked_sub(1).map(|i| window[i]);
            !before.is_some_and(name_byte) && !after.is_some_and(name_byte)
        });
        if whole {
            return true;
        }
        if end {
            return false;
        }
        let drop = window.len().saturating_sub(keep);
        dropped |= drop > 0;
        window.drain(..drop);
    }
}

/// The size of the pieces [`mentions`] reads.
const PIECE: usize = 64 * 1024;

/// Whether `byte` may be part of a name.
fn name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// [`mentions`] of one needle in texts held in memory: most texts do not hold the needle in
/// any case at all, which one pass of a case-insensitive search tells without copying them.
pub(crate) struct Mention {
    needle: String,
    anywhere: Option<AhoCorasick>,
}

impl Mention {
    /// A search for `needle` (in lower case).
    pub(crate) fn new(needle: &str) -> Mention {
        let anywhere = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([needle])
            .ok();
        Mention {
            needle: needle.to_owned(),
            anywhere,
        }
    }

    /// Whether `text` holds the needle as a whole name, as [`mentions`] decides.
    pub(crate) fn in_text(&self, text: &str) -> bool {
        let maybe = self
            .anywhere
            .as_ref()
            .is_none_or(|anywhere| self.needle.is_empty() || anywhere.is_match(text));
        maybe && mentions(text.as_bytes(), &self.needle)
    }
}

#[cfg(test)]
mod tests {
    use super::{Mention, mentions};

    #[test]
    fn a_whole_name_is_found_across_piece_boundaries_in_any_case() {
        let text = |middle: &str| {
            let mut text = "x".repeat(super::PIECE - 4);
            text.push_str(middle);
            text
        };
        let needle = "vaultwarden/server";
        let search = Mention::new(needle);
        for (middle, whole) in [
            (" \"VaultWarden/Server\"", true),
            (" VaultWarden/Server", true),
            (" VaultWarden/Server-credentials", false),
            ("xVaultWarden/Server", false),
            (" nginx", false),
        ] {
            let text = text(middle);
            assert_eq!(mentions(text.as_bytes(), needle), whole, "{middle}");
            assert_eq!(search.in_text(&text), whole, "{middle}");
        }
    }

    #[test]
    fn texts_in_memory_are_judged_as_read_in_pieces() {
        // Every placement of a few names against every neighbour, the way both searches see it.
        let needle = "a-b/c";
        let search = Mention::new(needle);
        let pieces = [
            "a-b/c", "A-B/C", "a-b/", "/c", "a", "-", "_", "/", " ", "x", "\n", "é",
        ];
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    let text = format!("{first}{second}{third}");
                    assert_eq!(
                        search.in_text(&text),
                        mentions(text.as_bytes(), needle),
                        "{text:?}"
                    );
                }
            }
        }
        assert!(Mention::new("").in_text("anything"));
    }
}
