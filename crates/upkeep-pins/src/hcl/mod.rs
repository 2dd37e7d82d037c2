//! Terraform, `.tfvars` and Terragrunt files: parse with hcl-edit, collect sites.

mod collect;
mod literal;
mod outline;

pub(crate) use literal::unescape;
pub(crate) use outline::Duplicate;

use crate::site::{FileFacts, Precedence};
use std::borrow::Cow;

/// Which dialect of HCL a file is, which decides how its top level is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// A Terraform `.tf` file.
    Terraform,
    /// A `.tfvars` file: top-level attributes assign variables.
    Tfvars(Precedence),
    /// A `terragrunt.hcl` file: `inputs` assign variables.
    Terragrunt,
    /// A `.tf.json` file: Terraform in JSON syntax.
    TerraformJson,
    /// A `.tfvars.json` file.
    TfvarsJson(Precedence),
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

/// Parses `src` and collects its sites and declarations. Unless `strict`, a Terraform,
/// `.tfvars` or `terragrunt.hcl` file is first outlined and only its pieces that can hold pins are parsed; a file the outline does
/// not understand is parsed whole. `strict` parses every byte, so it reports every syntax
/// error, also where no pin can be. Object entries that a later entry with the same key
/// overrides (Terraform keeps the last) are blanked out before parsing and listed in the facts.
pub(crate) fn parse(src: &str, flavor: Flavor, strict: bool) -> Result<FileFacts, SyntaxError> {
    let bom = bom_len(src);
    if matches!(flavor, Flavor::TerraformJson | Flavor::TfvarsJson(_)) {
        check_brackets(src)?;
        // The expression parser takes no blanks around the document.
        let body = src[bom..].trim_end();
        let start = bom + (body.len() - body.trim_start().len());
        let document =
            hcl_edit::parser::parse_expr(&src[start..body.len() + bom]).map_err(|error| {
                SyntaxError {
                    offset: start + error.location().offset(),
                    message: first_line(error.message()),
                }
            })?;
        return Ok(collect::collect_json(src, start, &document, flavor));
    }
    let outline = outline::outline(src, bom);
    let duplicates = outline
        .as_ref()
        .map(|outline| outline.duplicates.clone())
        .unwrap_or_default();
    let text = without_overridden(src, &duplicates);
    let outlined = match outline {
        // The outline checks brackets itself; on anything it cannot vouch for, it gives up
        // and the whole file goes through `check_brackets` and hcl-edit below.
        Some(outline)
            if !strict
                && matches!(
                    flavor,
                    Flavor::Terraform | Flavor::Tfvars(_) | Flavor::Terragrunt
                ) =>
        {
            collect::collect_outlined(&text, bom, outline, flavor)
        }
        _ => None,
    };
    let mut facts = match outlined {
        Some(facts) => facts,
        None => {
            let body = parse_text(&text)?;
            collect::collect(&text, bom, &body, flavor)
        }
    };
    facts.duplicates = duplicates;
    Ok(facts)
}

/// `src` with the overridden object entries blanked (see [`outline::blank_overridden`]).
fn without_overridden<'a>(src: &'a str, duplicates: &[Duplicate]) -> Cow<'a, str> {
    if duplicates.is_empty() {
        Cow::Borrowed(src)
    } else {
        Cow::Owned(outline::blank_overridden(src, duplicates))
    }
}

/// Parses the whole text with hcl-edit, after checking its brackets.
fn parse_text(src: &str) -> Result<hcl_edit::structure::Body, SyntaxError> {
    let bom = bom_len(src);
    check_brackets(src)?;
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

/// Checks that brackets match before hcl-edit sees the text: every `(`, `[`, `{` and `${`
/// closes with its own kind, strings close on their line, and nothing nests deeper than
/// [`MAX_NESTING`]. hcl-edit backtracks exponentially on some unbalanced input (a fuzzed
/// 2 KB file took 28 s), so unbalanced text is reported here and never parsed.
fn check_brackets(src: &str) -> Result<(), SyntaxError> {
    let bytes = src.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let error = |offset: usize, message: String| Err(SyntaxError { offset, message });
    let mut i = 0;
    while i < bytes.len() {
        let in_string = open.last().is_some_and(|&(kind, _)| kind == b'"');
        let byte = bytes[i];
        if in_string {
            match byte {
                b'\\' => i += 1,
                b'"' => {
                    open.pop();
                }
                b'\n' => return error(i, "string is not closed on its line".to_owned()),
                b'$' | b'%'
                    if bytes.get(i + 1) == Some(&byte) && bytes.get(i + 2) == Some(&b'{') =>
                {
                    i += 2
                }
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                    open.push((b'$', i));
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match byte {
            b'#' => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(close) = memchr::memmem::find(&bytes[i + 2..], b"*/") else {
                    return error(i, "comment is never closed".to_owned());
                };
                i += close + 4;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => i = heredoc_end(src, i + 2),
            b'"' | b'(' | b'[' | b'{' => {
                if open.len() >= MAX_NESTING {
                    return error(i, format!("brackets nest deeper than {MAX_NESTING} levels"));
                }
                open.push((byte, i));
                i += 1;
            }
            b')' | b']' | b'}' => {
                let expected = match byte {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((kind, _)) if kind == expected || (byte == b'}' && kind == b'$') => {}
                    Some((kind, at)) => {
                        let (opened, _) = describe(kind);
                        let (line, column) = crate::location::LineIndex::new(src).line_col(at);
                        let closer = byte as char;
                        return error(
                            i,
                            format!("`{closer}` does not close the `{opened}` at {line}:{column}"),
                        );
                    }
                    None => return error(i, format!("`{}` closes nothing", byte as char)),
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    match open.pop() {
        Some((kind, at)) => {
            let (opened, what) = describe(kind);
            error(at, format!("this {what} (`{opened}`) is never closed"))
        }
        None => Ok(()),
    }
}

/// How an opening token is shown in messages.
fn describe(kind: u8) -> (&'static str, &'static str) {
    match kind {
        b'"' => ("\"", "string"),
        b'$' => ("${", "interpolation"),
        b'(' => ("(", "parenthesis"),
        b'[' => ("[", "bracket"),
        _ => ("{", "brace"),
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |e| from + e + 1)
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
    let mut at = line_end(src.as_bytes(), from);
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
    use super::{MAX_NESTING, check_brackets, parse_text};

    /// The outline ends a heredoc at its marker's line, the parser not inside an
    /// interpolation: a heredoc left unparsed must not be one the two read differently.
    #[test]
    fn a_heredoc_whose_interpolation_holds_its_marker_is_read_as_the_parser_reads_it() {
        // The first is valid (the parser reads one heredoc, no image); the second is not.
        for heredoc in [
            "${var.image}${\nEOT\n}",
            "%{ if var.image != \"\" }\nEOT\n%{ endif }",
        ] {
            let src = format!(
                "resource \"kubernetes_pod\" \"p\" {{\n  a = <<EOT\n{heredoc}\nresource \"kubernetes_pod\" \"q\" {{\n  image = \"nginx:1.25\"\n  b = <<EOT\nEOT\n}}\n"
            );
            let sites = |strict| {
                super::parse(&src, super::Flavor::Terraform, strict)
                    .map(|facts| facts.sites.len())
                    .map_err(|error| error.message)
            };
            assert_eq!(sites(false), sites(true), "{src}");
        }
    }

    /// The facts of `src` read by its outline (not by the whole-file parse it falls back to),
    /// as `Debug` text, after asserting they are what parsing every byte gives.
    fn outlined_as_parsed(src: &str, flavor: super::Flavor) -> String {
        let outline = super::outline::outline(src, 0).expect("outlined");
        let outlined = super::collect::collect_outlined(src, 0, outline, flavor).expect("read");
        let outlined = format!("{:?}", Ok::<_, super::SyntaxError>(outlined));
        assert_eq!(outlined, format!("{:?}", super::parse(src, flavor, true)));
        outlined
    }

    /// `locals` are read by their outline: every local's value, every object entry's dotted
    /// name and every site must be what parsing the whole file gives, spans included.
    #[test]
    fn locals_read_by_the_outline_are_what_the_parser_reads() {
        let src = r#"locals {
  image     = "l/one:15.0"
  tag       = "16.0"
  joined    = "l/two:${local.tag}"
  referred  = var.image
  spaced    = "l/three:${ var.tag }"
  images = {
    app = { repository = "l/app", tag = "17.0" }
    db  = { image = "l/db:18.0", "quoted key" = 1 }
  }
  list   = ["l/four:19.0", local.tag]
  picked = var.enabled ? "l/five:20.0" : "l/six:21.0"
  script = <<-EOT
    image: ${var.image}
    echo "$${HOME}"
  EOT
  called = merge(local.images, { extra = { tag = "22.0" } })
  number = 3
  last   = "l/seven:23.0"
}

locals {}

resource "kubernetes_deployment" "d" {
  image = "${local.images.app.repository}:${local.images.app.tag}"
}
"#;
        let outlined = outlined_as_parsed(src, super::Flavor::Terraform);
        for read in [
            "images.app.tag",
            "images.db.image",
            "l/one:15.0",
            "23.0",
            "EOT",
        ] {
            assert!(outlined.contains(read), "{read} in {outlined}");
        }
    }

    #[test]
    fn module_arguments_and_defaults_read_by_the_outline_are_what_the_parser_reads() {
        let src = r#"variable "images" {
  default = {
    app = { repository = "v/app", tag = "1.0" } # a comment
    "db" : { image = "v/db:2.0" }
  }
}

variable "script" {
  default = <<-EOT
    image: ${var.image}
  EOT
}

module "app" {
  source = "./app"
  rules = [
    {
      # A rule whose second key is `for`, as Prometheus rules have it.
      alert = "Down"
      for   = "5m"
      labels = { severity = "critical", "team.name" = "ops" }
    },
  ]
  images = {
    a = { b = { c = { d = { e = { tag = "3.0" } } } } }
    literal = { null = 1 }
    listed  = [{ tag = "4.0" }, "v/five:5.0", var.tag, merge(local.x, { y = 1 })]
    script  = <<-EOT
      echo "${var.tag}" $${HOME}
    EOT
    joined  = "v/six:${var.tag}"
    number  = 7
  }
  empty  = {}
  called = format("%s:%s", var.repository, var.tag)
}

locals {
  rules = { alert = "Up", for = "1m" }
}
"#;
        let outlined = outlined_as_parsed(src, super::Flavor::Terraform);
        for read in [
            "images.app.tag",
            "images.db.image",
            "rules.for",
            "images.a.b.c.d",
            "images.script",
            "images.listed",
        ] {
            assert!(outlined.contains(read), "{read} in {outlined}");
        }
        // Four levels of names, as the parser gives them; none for a literal key.
        assert!(!outlined.contains("images.a.b.c.d.e"), "{outlined}");
        assert!(!outlined.contains("literal.null"), "{outlined}");
    }

    #[test]
    fn tfvars_and_terragrunt_inputs_read_by_the_outline_are_what_the_parser_reads() {
        let tfvars = r#"image_tag = "1.2.3"
images = {
  app = { repository = "t/app", tag = "2.0" } # one level is named
  "db" : "t/db:3.0"
}
flags   = [true, { tag = "4.0" }]
script  = <<-EOT
  echo ${var.x}
EOT
literal = { null = "t/n:5.0" }
"#;
        let terragrunt = r#"include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../modules//app"
}

locals {
  tag = "6.0"
}

inputs = {
  image     = "t/app:${local.tag}"
  versions  = { chart = "7.0", nested = { tag = "8.0" } }
  replicas  = 2
  true      = 1
}
"#;
        let precedence = crate::site::Precedence::Tfvars;
        for (src, flavor) in [
            (tfvars, super::Flavor::Tfvars(precedence)),
            (terragrunt, super::Flavor::Terragrunt),
        ] {
            let outlined = outlined_as_parsed(src, flavor);
            assert!(outlined.contains("assignments: [("), "{outlined}");
        }
    }

    /// What hcl-edit refuses that the outline alone would take: a carriage return that ends no
    /// line, and nesting past hcl-edit's 64 levels (found by a review). The default scan must
    /// report the parser's error, as `--strict` does.
    #[test]
    fn a_lone_carriage_return_or_deep_nesting_is_left_to_the_parser() {
        let deep = (0..70).fold("1".to_owned(), |inner, _| format!("{{a={inner}}}"));
        let precedence = crate::site::Precedence::Tfvars;
        for (src, flavor) in [
            (
                "locals {\n  a = { image = \"nginx:1.25\"\r b = \"y\" }\n}\n".to_owned(),
                super::Flavor::Terraform,
            ),
            (
                "image_tag = \"1.2.3\"\rother = \"x\"\n".to_owned(),
                super::Flavor::Tfvars(precedence),
            ),
            (
                format!("locals {{\n  image = \"nginx:1.25\"\n  x = {deep}\n}}\n"),
                super::Flavor::Terraform,
            ),
            (
                format!("inputs = {{\n  image = \"nginx:1.25\"\n  x = {deep}\n}}\n"),
                super::Flavor::Terragrunt,
            ),
        ] {
            let default = super::parse(&src, flavor, false);
            assert!(default.is_err(), "{src:?}");
            assert_eq!(
                format!("{default:?}"),
                format!("{:?}", super::parse(&src, flavor, true))
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_with_its_offset() {
        let src = format!("x = {}", "[".repeat(MAX_NESTING + 1));
        let error = check_brackets(&src).unwrap_err();
        assert_eq!(error.offset, 4 + MAX_NESTING);
    }

    #[test]
    fn brackets_in_comments_strings_and_heredocs_do_not_count() {
        let noise = "(".repeat(MAX_NESTING + 1);
        let src = format!(
            "# {noise}\n// {noise}\n/* {noise} */\nx = \"{noise}\"\ny = <<-EOT\n  {noise}\n  EOT\n"
        );
        assert!(check_brackets(&src).is_ok());
    }

    #[test]
    fn mismatched_and_unclosed_brackets_are_located() {
        assert_eq!(check_brackets("x = [1, 2)\n").unwrap_err().offset, 9);
        assert_eq!(check_brackets("x = 1]\n").unwrap_err().offset, 5);
        assert_eq!(check_brackets("a {\n  b {\n}\n").unwrap_err().offset, 2);
        assert_eq!(check_brackets("x = \"abc\ny\n").unwrap_err().offset, 8);
        assert!(check_brackets("x = \"${f(\"}\")}-$${a}\"\n").is_ok());
        assert_eq!(check_brackets("x = \"${f(1}\"\n").unwrap_err().offset, 10);
    }

    #[test]
    fn fuzzed_input_that_made_the_parser_backtrack_for_28_seconds_is_refused_at_once() {
        let input = include_bytes!("../../tests/data/hcl-backtracking.bin");
        let text = String::from_utf8_lossy(input);
        let start = std::time::Instant::now();
        assert!(parse_text(&text).is_err());
        assert!(start.elapsed().as_secs() < 2, "took {:?}", start.elapsed());
    }
}
