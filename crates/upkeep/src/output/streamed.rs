//! `{"pins": [...], "errors": [...], …}` written pin by pin as a scan finds them, byte for
//! byte what serde_json's pretty printer writes for the whole report, so a large report is
//! never held in memory.

use serde::Serialize;
use std::io::{self, Write};

/// Writes the report object: [`PinsWriter::begin`], one [`PinsWriter::pin`] per pin, then
/// [`PinsWriter::finish`] with the fields that follow the pins.
pub struct PinsWriter<W: Write> {
    out: W,
    pins: usize,
    /// One element's JSON, reused from pin to pin.
    buffer: Vec<u8>,
}

impl<W: Write> PinsWriter<W> {
    /// Opens the object and its `pins` list.
    pub fn begin(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\n  \"pins\": [")?;
        Ok(PinsWriter {
            out,
            pins: 0,
            buffer: Vec::new(),
        })
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
        pretty(&mut self.out, &mut self.buffer, pin, b"\n    ")
    }

    /// Closes the list, writes the fields of `rest` (a struct) after it and closes the object
    /// with a final newline.
    pub fn finish(mut self, rest: &impl Serialize) -> io::Result<W> {
        self.out
            .write_all(if self.pins == 0 { b"]" } else { b"\n  ]" })?;
        // `rest` printed alone is `{\n  "a": …\n}`: its fields are this object's next lines.
        self.buffer.clear();
        serde_json::to_writer_pretty(&mut self.buffer, rest).map_err(io::Error::from)?;
        let fields = self
            .buffer
            .strip_prefix(b"{")
            .and_then(|fields| fields.strip_suffix(b"\n}"))
            .filter(|fields| !fields.is_empty())
            .ok_or_else(|| io::Error::other("the fields after the pins are not an object"))?;
        self.out.write_all(b",")?;
        self.out.write_all(fields)?;
        self.out.write_all(b"\n}\n")?;
        Ok(self.out)
    }
}

/// Writes `value` as pretty JSON, each line after the first starting with `newline`'s
/// indentation. A JSON string never holds a raw newline, so every newline is a line break.
/// The JSON is made in `buffer` first: the pretty printer writes token by token.
fn pretty(
    out: &mut impl Write,
    buffer: &mut Vec<u8>,
    value: &impl Serialize,
    newline: &[u8],
) -> io::Result<()> {
    buffer.clear();
    serde_json::to_writer_pretty(&mut *buffer, value).map_err(io::Error::from)?;
    let mut rest = buffer.as_slice();
    while let Some(at) = memchr::memchr(b'\n', rest) {
        out.write_all(&rest[..at])?;
        out.write_all(newline)?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest)
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
            #[derive(serde::Serialize)]
            struct Rest<'a> {
                errors: &'a [serde_json::Value],
                warnings: &'a [serde_json::Value],
            }
            let rest = Rest {
                errors: &errors,
                warnings: &[],
            };
            let streamed = writer.finish(&rest).unwrap();
            // Field order as the report's struct has it (a JSON map would sort the keys).
            #[derive(serde::Serialize)]
            struct Whole<'a> {
                pins: &'a [serde_json::Value],
                errors: &'a [serde_json::Value],
                warnings: &'a [serde_json::Value],
            }
            let whole = Whole {
                pins: &pins,
                errors: &errors,
                warnings: &[],
            };
            let mut expected = serde_json::to_vec_pretty(&whole).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
