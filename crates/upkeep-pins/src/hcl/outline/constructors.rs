//! Object and list constructors delimited lexically, for walking them without a parse.

use super::{Lexer, Until};
use std::ops::Range;

/// A list constructor `[a, b]` or a call `f(a, b)`.
#[derive(Debug)]
pub(in crate::hcl) struct List {
    /// The called function's name; `None` for a list.
    pub function: Option<Range<usize>>,
    /// The elements or arguments.
    pub elements: Vec<Range<usize>>,
}

/// The entries `(key, value)` of the object constructor `src[range]` (`{ a = 1, "b" = 2 }`),
/// the key without quotes. `None` unless every key is an identifier or a plain quoted string,
/// keys are unique, every entry has the `key = value` or `key: value` form and the braces
/// enclose exactly `range`. Like an attribute's, a value is delimited lexically and need not
/// be a valid expression (`{ a = 1 b = 2 }` gives `1 b = 2`): its reader must check it.
pub(in crate::hcl) fn object_entries(
    src: &str,
    range: &Range<usize>,
) -> Option<Vec<(Range<usize>, Range<usize>)>> {
    let lexer = Lexer::for_expressions(src);
    if lexer.byte(range.start)? != b'{' {
        return None;
    }
    let mut entries: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    let mut at = range.start + 1;
    loop {
        at = lexer.skip_blank(at, true)?;
        if lexer.byte(at)? == b'}' {
            // Duplicate keys are an error the parser reports; leave them to it.
            let unique = entries.iter().enumerate().all(|(i, (key, _))| {
                entries[..i]
                    .iter()
                    .all(|(other, _)| src[other.clone()] != src[key.clone()])
            });
            return (at + 1 == range.end && unique).then_some(entries);
        }
        let (key, key_end) = match lexer.byte(at)? {
            b'"' => {
                let end = lexer.string(at + 1, 0)?;
                let key = at + 1..end - 1;
                let plain = !src[key.clone()].contains(['\\', '$', '%']);
                (plain.then_some(key)?, end)
            }
            _ => {
                let end = lexer.identifier(at)?;
                (at..end, end)
            }
        };
        // `{ for` starts a `for` expression; a later `for` is a key (`for = "5m"`).
        if entries.is_empty() && &src[key.clone()] == "for" {
            return None;
        }
        at = lexer.skip_blank(key_end, false)?;
        match (lexer.byte(at)?, lexer.byte(at + 1)) {
            (b'=', Some(b'=' | b'>')) => return None,
            (b'=' | b':', _) => {}
            _ => return None,
        }
        let start = lexer.skip_blank(at + 1, false)?;
        let end = lexer.expression(start, 0, Until::EntryEnd, None)?;
        if end <= start {
            return None;
        }
        entries.push((key, start..end));
        at = lexer.skip_blank(end, false)?;
        match lexer.byte(at)? {
            b',' => at += 1,
            b'\n' | b'#' | b'}' => {}
            b'\r' if lexer.byte(at + 1) == Some(b'\n') => {}
            b'/' if lexer.byte(at + 1) == Some(b'/') => {}
            _ => return None,
        }
    }
}

/// The elements of the list `[a, b]` or the arguments of the call `f(a, b)` at `src[range]`,
/// with the function's name for a call. `None` for anything else, including `for`
/// expressions, argument expansion (`f(x...)`) and namespaced functions.
pub(in crate::hcl) fn list_elements(src: &str, range: &Range<usize>) -> Option<List> {
    let lexer = Lexer::for_expressions(src);
    let (name, open) = match lexer.byte(range.start)? {
        b'[' => (None, range.start),
        _ => {
            let end = lexer.identifier(range.start)?;
            (Some(range.start..end), end)
        }
    };
    let close = match lexer.byte(open)? {
        b'[' => b']',
        b'(' => b')',
        _ => return None,
    };
    let mut elements = Vec::new();
    let mut at = open + 1;
    loop {
        at = lexer.skip_blank(at, true)?;
        if lexer.byte(at)? == close {
            return (at + 1 == range.end).then_some(List {
                function: name,
                elements,
            });
        }
        if lexer
            .identifier(at)
            .is_some_and(|end| &src[at..end] == "for")
        {
            return None;
        }
        let end = lexer.expression(at, 0, Until::ListSeparator, None)?;
        if end <= at || src[..end].ends_with("...") {
            return None;
        }
        elements.push(at..end);
        at = lexer.skip_blank(end, true)?;
        match lexer.byte(at)? {
            b',' => at += 1,
            byte if byte == close => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{list_elements, object_entries};

    fn entries(src: &str) -> Option<Vec<(String, String)>> {
        let entries = object_entries(src, &(0..src.len()))?;
        Some(
            entries
                .into_iter()
                .map(|(key, value)| (src[key].to_owned(), src[value].to_owned()))
                .collect(),
        )
    }

    #[test]
    fn object_entries_in_every_separator_style() {
        let src = "{\n  a = 1 # one\n  \"b.c\" : [1,\n 2], d = { e = \"}\" } // two\n}";
        let expected = [("a", "1"), ("b.c", "[1,\n 2]"), ("d", "{ e = \"}\" }")];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(entries(src), Some(expected));
        assert_eq!(entries("{}"), Some(Vec::new()));
        // Only a first `for` starts a `for` expression: a later one is a key.
        let rule = "{\n  alert = \"Down\"\n  for   = \"5m\"\n}";
        let expected = [("alert", "\"Down\""), ("for", "\"5m\"")];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(entries(rule), Some(expected));
    }

    #[test]
    fn object_entries_leave_the_irregular_to_the_parser() {
        let cases = [
            "{ for k, v in x : k => v }",
            "{ for = \"5m\" }",
            "{ a = 1, a = 2 }",
            "{ \"${k}\" = 1 }",
            "{ (k) = 1 }",
            "{ a == 1 }",
            "{ a =\n 1 }",
            "{ a = 1 } + x",
            "[1]",
        ];
        for src in cases {
            assert_eq!(entries(src), None, "{src:?}");
        }
    }

    #[test]
    fn list_elements_and_call_arguments() {
        let elements = |src: &str| {
            list_elements(src, &(0..src.len())).map(|list| {
                let name = list.function.map(|name| src[name].to_owned());
                let elements = list.elements.into_iter().map(|e| src[e].to_owned());
                (name, elements.collect::<Vec<_>>())
            })
        };
        assert_eq!(
            elements("[\n  { a = 1 }, # c\n  \"x,y\",\n]"),
            Some((None, vec!["{ a = 1 }".to_owned(), "\"x,y\"".to_owned()]))
        );
        assert_eq!(
            elements("yamlencode({ a = [1, 2] })"),
            Some((
                Some("yamlencode".to_owned()),
                vec!["{ a = [1, 2] }".to_owned()]
            ))
        );
        for src in [
            "[for x in y : x]",
            "f(x...)",
            "provider::p::f(1)",
            "f (1)",
            "[1] [0]",
        ] {
            assert_eq!(elements(src), None, "{src:?}");
        }
    }
}
