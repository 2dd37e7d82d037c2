//! Terraform, `.tfvars` and Terragrunt files: parse with hcl-edit, collect sites.

mod collect;
mod literal;

pub(crate) use literal::unescape;

use crate::site::{FileFacts, Precedence};

/// Which dialect of HCL a file is, which decides how its top level is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// A Terraform `.tf` file.
    Terraform,
    /// A `.tfvars` file: top-level attributes assign variables.
    Tfvars(Precedence),
    /// A `terragrunt.hcl` file: `inputs` assign variables.
    Terragrunt,
}

/// A syntax error at a byte offset of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset in the file.
    pub offset: usize,
    /// The parser's message.
    pub message: String,
}

/// How deep brackets may nest before upkeep refuses a file. Real Terraform stays far below;
/// the limit keeps the recursive parser's stack bounded on hostile input.
pub(crate) const MAX_NESTING: usize = 128;

/// Parses `src` and collects its sites and declarations.
pub(crate) fn parse(src: &str, flavor: Flavor) -> Result<FileFacts, SyntaxError> {
    let body = parse_body(src)?;
    Ok(collect::collect(src, bom_len(src), &body, flavor))
}

/// Checks that `src` parses; used to confirm an edited file still reads back.
pub(crate) fn parse_body(src: &str) -> Result<hcl_edit::structure::Body, SyntaxError> {
    let bom = bom_len(src);
    check_nesting(src)?;
    hcl_edit::parser::parse_body(&src[bom..]).map_err(|error| SyntaxError {
        offset: bom + error.location().offset(),
        message: first_line(error.message()),
    })
}

fn bom_len(src: &str) -> usize {
    if src.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    }
}

fn first_line(message: &str) -> String {
    let message = message.lines().next().unwrap_or("").trim();
    if message.is_empty() {
        "invalid HCL syntax".to_owned()
    } else {
        message.to_owned()
    }
}

/// Refuses input whose brackets nest deeper than [`MAX_NESTING`]. A light lexer skips
/// comments, quoted strings and heredocs so that their brackets are not counted.
fn check_nesting(src: &str) -> Result<(), SyntaxError> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |e| i + e + 4);
            }
            b'"' => i = string_end(bytes, i + 1),
            b'<' if bytes.get(i + 1) == Some(&b'<') => i = heredoc_end(src, i + 2),
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(SyntaxError {
                        offset: i,
                        message: format!("brackets nest deeper than {MAX_NESTING} levels"),
                    });
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |e| from + e + 1)
}

/// The offset after the quote closing a string that starts at `from`, or the line end.
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while from < bytes.len() {
        match bytes[from] {
            b'\\' => from += 2,
            b'"' | b'\n' => return from + 1,
            _ => from += 1,
        }
    }
    bytes.len()
}

/// The offset after a heredoc whose `<<` ends at `from`, or `from` when it is not one.
fn heredoc_end(src: &str, from: usize) -> usize {
    let rest = &src[from..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return from;
    }
    let name = &rest[..name_len];
    let body_start = line_end(src.as_bytes(), from);
    let mut at = body_start;
    while at < src.len() {
        let end = line_end(src.as_bytes(), at);
        if src[at..end].trim() == name {
            return end;
        }
        at = end;
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::{MAX_NESTING, check_nesting};

    #[test]
    fn deep_nesting_is_refused_with_its_offset() {
        let src = format!("x = {}", "[".repeat(MAX_NESTING + 1));
        let error = check_nesting(&src).unwrap_err();
        assert_eq!(error.offset, 4 + MAX_NESTING);
    }

    #[test]
    fn brackets_in_comments_strings_and_heredocs_do_not_count() {
        let noise = "(".repeat(MAX_NESTING + 1);
        let src = format!(
            "# {noise}\n// {noise}\n/* {noise} */\nx = \"{noise}\"\ny = <<-EOT\n  {noise}\n  EOT\n"
        );
        assert!(check_nesting(&src).is_ok());
    }
}
