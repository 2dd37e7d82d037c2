//! Rendering reports for people and machines, and writing them out.

pub mod diff;
pub mod streamed;
pub mod table;

use serde::Serialize;
use std::io::{BufWriter, ErrorKind, Write};

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

/// Runs `write` on buffered standard output; a closed pipe (`upkeep scan | head`) is not an
/// error.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}
