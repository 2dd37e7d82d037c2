//! What a name or version arriving over the network may be, and the one spelling a job is
//! kept under, so that every request for one update finds the same job.
//!
//! Image names, chart names, provider and module sources and version tags are ASCII in every
//! registry's grammar, so only printable ASCII without spaces is accepted: nothing invisible
//! (zero-width characters), nothing that reorders what a reviewer reads (bidirectional
//! controls such as U+202E), no control characters. Each refusal names the field and what is
//! wrong with it, and never echoes a long value back.

use std::path::Path;
use upkeep_pins::{ImageRef, PinKind, ScanReport, SetRequest, canonical_image_name, plan_set};

/// The longest name accepted, in bytes (a module source with a `?ref=` fits easily).
pub const MAX_NAME: usize = 512;

/// The longest version accepted, in bytes (the OCI limit of a tag).
pub const MAX_VERSION: usize = 128;

/// Checks one field (`what` names it in the message, `max` is its length limit in bytes).
pub fn check(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("`{what}` is empty"));
    }
    if text.len() > max {
        return Err(format!(
            "`{what}` is {} bytes long; at most {max} are accepted",
            text.len()
        ));
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())
    {
        return Err(format!(
            "`{what}` holds {} (U+{:04X}) at character {}: only printable ASCII without spaces is accepted",
            describe(c),
            u32::from(c),
            at + 1
        ));
    }
    if text.starts_with('-') {
        return Err(format!(
            "`{what}` starts with `-`, which would be read as an option"
        ));
    }
    Ok(())
}

/// What kind of character `c` (not printable ASCII) is, in words.
fn describe(c: char) -> &'static str {
    match c {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => "a bidirectional control",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "an invisible character",
        c if c.is_control() => "a control character",
        c if c.is_whitespace() => "a space",
        _ => "a non-ASCII character",
    }
}

/// The name a job for `name` is kept under: an image the repository pins, in any spelling
/// (`vaultwarden/server`, `index.docker.io/vaultwarden/server`), becomes its canonical name
/// (`docker.io/vaultwarden/server`), as DIUN deliveries are; anything else — a chart, a
/// provider, a module, a name matching several kinds or none — stays as written, since
/// canonicalizing `grafana` as an image would turn a chart into `docker.io/library/grafana`.
/// Pins are matched as `upkeep set` and `upkeep bump` match them.
pub fn job_name(root: &Path, name: &str, version: &str, pins: &ScanReport) -> String {
    let request = SetRequest {
        name,
        version,
        from: None,
        kind: None,
    };
    let Ok(plan) = plan_set(root, pins, &request) else {
        return name.to_owned();
    };
    let mut matched = plan
        .changes
        .iter()
        .map(|change| &change.pin)
        .chain(&plan.unchanged)
        .chain(plan.skipped.iter().map(|(pin, _)| pin))
        .peekable();
    let is_image = |kind: PinKind| {
        matches!(
            kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        )
    };
    if matched.peek().is_none() || !matched.all(|pin| is_image(pin.kind)) {
        return name.to_owned();
    }
    let image = ImageRef::parse(name).map_or(name, |reference| &name[reference.name]);
    canonical_image_name(image)
}

#[cfg(test)]
mod tests {
    use super::{MAX_NAME, check};

    #[test]
    fn refusals_name_the_field_and_the_character() {
        assert!(check("name", "ghcr.io/immich-app/immich-server", MAX_NAME).is_ok());
        assert!(
            check(
                "name",
                "git::https://example.org/m.git//vm?ref=v1.2.0",
                MAX_NAME
            )
            .is_ok()
        );
        let cases = [
            (
                "app\u{202E}",
                "a bidirectional control (U+202E) at character 4",
            ),
            ("app\u{200B}x", "an invisible character (U+200B)"),
            ("a b", "a space (U+0020)"),
            ("a\tb", "a control character (U+0009)"),
            ("caf\u{E9}", "a non-ASCII character (U+00E9)"),
            ("", "`name` is empty"),
            ("--help", "starts with `-`"),
        ];
        for (text, says) in cases {
            let error = check("name", text, MAX_NAME).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
        let long = check("name", &"a".repeat(600), MAX_NAME).unwrap_err();
        assert_eq!(long, "`name` is 600 bytes long; at most 512 are accepted");
    }
}
