//! Rendering reports for people and machines, and writing them out.

pub mod diff;
pub mod streamed;
pub mod table;
pub mod terminal;

use anyhow::Context;
use serde::Serialize;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::Path;

/// Writes `value` as pretty JSON with a final newline to standard output, streamed (a large
/// report is never held as one string).
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    write_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    })
}

/// Writes `text` to standard output.
pub fn print(text: &str) -> anyhow::Result<()> {
    write_stdout(|out| out.write_all(text.as_bytes()))
}

/// Writes `text` to `file`, or to standard output without one (`--output`).
pub fn emit(file: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match file {
        Some(file) => {
            std::fs::write(file, text).with_context(|| format!("cannot write {}", file.display()))
        }
        None => print(text),
    }
}

/// Writes `value` as pretty JSON to `file`, or to standard output without one (`--output`).
pub fn emit_json(file: Option<&Path>, value: &impl Serialize) -> anyhow::Result<()> {
    let Some(file) = file else {
        return print_json(value);
    };
    let write = || -> std::io::Result<()> {
        let mut out = BufWriter::new(std::fs::File::create(file)?);
        serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()
    };
    write().with_context(|| format!("cannot write {}", file.display()))
}

/// Runs `write` on buffered standard output; a closed pipe (`upkeep scan | head`) is not an
/// error.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}
