//! `{"pins": [...], "errors": [...]}` written pin by pin as a scan finds them, byte for byte
//! what serde_json's pretty printer writes for the whole report, so a large report is never
//! held in memory.

use serde::Serialize;
use std::io::{self, Write};

/// Writes the report object: [`PinsWriter::begin`], one [`PinsWriter::pin`] per pin, then
/// [`PinsWriter::finish`] with the errors.
pub struct PinsWriter<W: Write> {
    out: W,
    pins: usize,
}

impl<W: Write> PinsWriter<W> {
    /// Opens the object and its `pins` list.
    pub fn begin(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\n  \"pins\": [")?;
        Ok(PinsWriter { out, pins: 0 })
    }

    /// Writes one element of the list.
    pub fn pin(&mut self, pin: &impl Serialize) -> io::Result<()> {
        let separator: &[u8] = if self.pins == 0 {
            b"\n    "
        } else {
            b",\n    "
        };
        self.out.write_all(separator)?;
        self.pins += 1;
        pretty(&mut self.out, pin, b"\n    ")
    }

    /// Closes the list, writes `errors` and closes the object with a final newline.
    pub fn finish(mut self, errors: &impl Serialize) -> io::Result<W> {
        self.out
            .write_all(if self.pins == 0 { b"]" } else { b"\n  ]" })?;
        self.out.write_all(b",\n  \"errors\": ")?;
        pretty(&mut self.out, errors, b"\n  ")?;
        self.out.write_all(b"\n}\n")?;
        Ok(self.out)
    }
}

/// Writes `value` as pretty JSON, each line after the first starting with `newline`'s
/// indentation. A JSON string never holds a raw newline, so every newline is a line break.
fn pretty(out: &mut dyn Write, value: &impl Serialize, newline: &[u8]) -> io::Result<()> {
    let mut indented = Indented { out, newline };
    serde_json::to_writer_pretty(&mut indented, value).map_err(io::Error::from)
}

/// A writer that replaces each newline with `newline`.
struct Indented<'a> {
    out: &'a mut dyn Write,
    newline: &'a [u8],
}

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            self.out.write_all(&rest[..at])?;
            self.out.write_all(self.newline)?;
            rest = &rest[at + 1..];
        }
        self.out.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::PinsWriter;
    use serde_json::json;

    #[test]
    fn writes_what_the_pretty_printer_writes_for_the_whole_object() {
        let pins = vec![
            json!({"kind": "image", "users": [{"file": "a\nb"}], "via": null}),
            json!({"kind": "module", "users": [], "shadows": {}}),
        ];
        let errors = vec![json!({"file": "x.tf", "line": 1})];
        for (pins, errors) in [
            (pins.clone(), errors.clone()),
            (Vec::new(), errors.clone()),
            (pins.clone(), Vec::new()),
            (Vec::new(), Vec::new()),
        ] {
            let mut writer = PinsWriter::begin(Vec::new()).unwrap();
            for pin in &pins {
                writer.pin(pin).unwrap();
            }
            let streamed = writer.finish(&errors).unwrap();
            let whole = json!({"pins": pins, "errors": errors});
            let mut expected = serde_json::to_vec_pretty(&whole).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
