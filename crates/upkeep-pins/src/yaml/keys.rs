//! Whether a YAML text can hold a site at all, judged from its keys without parsing it. A
//! literal block that holds YAML (a chart's `extraInitContainers: |`) is parsed for images only
//! when it can: a 2.4 MB `config: |` of SNMP exporter modules cannot, and parsing it cost more
//! than the rest of its repository. The keys are judged by the table the parser groups them by
//! ([`crate::shapes`]), so a shape added there is seen here too.

use crate::shapes::{self, Role, VERSION_KEY, VERSIONED_NAME_KEYS};

/// Whether `text` may hold a site: a key naming an image or a tag, or a `version` key in the
/// same mapping as a key that names something versioned (same column in block style; anywhere
/// in flow style). Never `false` for text the parser finds a site in; anything it cannot
/// judge (explicit `?` keys, aliases or templates as keys, escapes in quoted keys) is `true`.
pub(super) fn may_hold_sites(text: &str) -> bool {
    let (mut versions, mut names) = (Vec::new(), Vec::new());
    let (mut flow_version, mut flow_name) = (false, false);
    for line in text.lines() {
        let start = line.len() - line.trim_start_matches([' ', '-']).len();
        if line[start..].starts_with('?') {
            return true;
        }
        for (key, column) in keys(line) {
            if key.starts_with('*') || key.contains(['\\', '$', '%', ']', '}']) {
                return true;
            }
            if matches!(shapes::role(key), Some((Role::Tag | Role::Image, _))) {
                return true;
            }
            let block = column == start;
            if key == VERSION_KEY {
                if block {
                    versions.push(column);
                } else {
                    flow_version = true;
                }
            } else if VERSIONED_NAME_KEYS.contains(&key) {
                if block {
                    names.push(column);
                } else {
                    flow_name = true;
                }
            }
        }
    }
    (flow_version && (flow_name || !names.is_empty()))
        || (flow_name && !versions.is_empty())
        || versions.iter().any(|column| names.contains(column))
}

/// Every `key:` of a line (a colon followed by a blank or the line's end, or right after a
/// quote as in `{"a":1}`), with the column where the key starts, quotes left out.
fn keys(line: &str) -> impl Iterator<Item = (&str, usize)> {
    let bytes = line.as_bytes();
    memchr::memchr_iter(b':', bytes).filter_map(move |colon| {
        let after = bytes.get(colon + 1);
        // `key : value` is a key too.
        let end = colon
            - bytes[..colon]
                .iter()
                .rev()
                .take_while(|&&b| b == b' ')
                .count();
        let before = end.checked_sub(1).map(|at| bytes[at]);
        let quoted = matches!(before, Some(b'"' | b'\''));
        if !(quoted || matches!(after, None | Some(b' ' | b'\t' | b'\r'))) {
            return None;
        }
        if quoted {
            let quote = before?;
            let open = memchr::memrchr(quote, &bytes[..end - 1])?;
            return Some((&line[open + 1..end - 1], open));
        }
        let start = bytes[..end]
            .iter()
            .rposition(|b| matches!(b, b' ' | b'\t' | b'{' | b'[' | b','))
            .map_or(0, |at| at + 1);
        Some((&line[start..end], start))
    })
}

#[cfg(test)]
mod tests {
    use super::may_hold_sites;

    #[test]
    fn images_tags_and_versioned_objects_may_hold_sites() {
        for text in [
            "initContainers:\n  - name: init\n    image: busybox:1.36\n",
            "sidecar:\n  repository: x/y\n  imageTag: v1\n",
            "dependencies:\n  - name: redis\n    version: 17.3.0\n    repository: https://charts\n",
            "a: {name: redis, version: 1.0}\n",
            "{\"image\":\"x:1\"}\n",
            "? image\n: x:1\n",
            "*k : v\n",
            "\"im\\u0061ge\": x:1\n",
        ] {
            assert!(may_hold_sites(text), "{text:?}");
        }
    }

    #[test]
    fn texts_without_those_keys_cannot() {
        for text in [
            // SNMP exporter modules: a version beside walk and auth, names one level down.
            "dell:\n  walk:\n  - 1.3.6.1\n  metrics:\n  - name: temp\n    oid: 1.3.6\n  version: 2\n  auth:\n    community: public\n",
            "help: The stage: voltage tags of a hashtag\n",
            "expr: rate(x{job=\"a\"}[5m]) > 0\n",
        ] {
            assert!(!may_hold_sites(text), "{text:?}");
        }
    }
}
