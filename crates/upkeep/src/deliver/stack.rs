//! What a stack's own Terraform files say about where it runs: its namespace and the hosts
//! of its `kubernetes_ingress_v1` resources written as literal strings. Nothing is derived
//! from a module input (`host = "headscale"` given to an ingress module becomes
//! `headscale.<domain>` only inside the module): a value upkeep cannot read for certain is
//! not used.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Ingress resource types whose `spec.rule.host` is a hostname.
const INGRESS_TYPES: [&str; 2] = ["kubernetes_ingress_v1", "kubernetes_ingress"];

/// The `.tf` files directly in `dir`, sorted, with their text.
fn tf_texts(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "tf"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect()
}

/// The stack's namespace: its `kubernetes_namespace`'s name, else a literal
/// `namespace = "…"`, else the stack's name.
pub fn namespace(dir: &Path, stack: &str) -> String {
    static NAMESPACE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"resource\s+"kubernetes_namespace(?:_v1)?"\s+"[^"]*"\s*\{[^}]*?\bname\s*=\s*"([^"$]+)"|(?m)^\s*namespace\s*=\s*"([^"$]+)""#,
        )
        .expect("valid regex")
    });
    tf_texts(dir)
        .iter()
        .find_map(|text| {
            let captures = NAMESPACE.captures(text)?;
            let found = captures.get(1).or_else(|| captures.get(2))?;
            Some(found.as_str().to_owned())
        })
        .unwrap_or_else(|| stack.to_owned())
}

/// URLs of the literal hosts of the stack's ingress resources: `https://host` when the
/// resource's `tls` block lists the host, else `http://host`. Files that do not parse are
/// left out.
pub fn ingress_urls(dir: &Path) -> Vec<String> {
    let mut urls = Vec::new();
    for text in tf_texts(dir) {
        let Ok(body) = hcl_edit::parser::parse_body(&text) else {
            continue;
        };
        for block in body.get_blocks("resource") {
            let is_ingress = block
                .labels
                .first()
                .is_some_and(|label| INGRESS_TYPES.contains(&label.as_str()));
            if !is_ingress {
                continue;
            }
            for spec in block.body.get_blocks("spec") {
                let tls: Vec<&str> = spec
                    .body
                    .get_blocks("tls")
                    .filter_map(|tls| tls.body.get_attribute("hosts"))
                    .filter_map(|hosts| hosts.value.as_array())
                    .flat_map(|array| array.iter().filter_map(|v| v.as_str()))
                    .collect();
                for rule in spec.body.get_blocks("rule") {
                    let Some(host) = rule
                        .body
                        .get_attribute("host")
                        .and_then(|attribute| attribute.value.as_str())
                    else {
                        continue;
                    };
                    if host.is_empty() || host.starts_with('*') {
                        continue;
                    }
                    let scheme = if tls.contains(&host) { "https" } else { "http" };
                    urls.push(format!("{scheme}://{host}"));
                }
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

#[cfg(test)]
mod tests {
    use super::{ingress_urls, namespace};
    use std::path::Path;

    fn fixture(stack: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/homelab/stacks")
            .join(stack)
    }

    #[test]
    fn a_literal_ingress_host_is_a_url_and_a_module_input_is_not() {
        assert_eq!(
            ingress_urls(&fixture("vaultwarden")),
            ["http://vault.home.arpa"]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "module \"ingress\" {\n  source = \"../../modules/ingress\"\n  host   = \"headscale\"\n}\n\nresource \"kubernetes_ingress_v1\" \"api\" {\n  spec {\n    tls {\n      hosts = [\"api.home.arpa\"]\n    }\n    rule {\n      host = \"api.home.arpa\"\n    }\n    rule {\n      host = \"${var.name}.home.arpa\"\n    }\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(ingress_urls(dir.path()), ["https://api.home.arpa"]);
    }

    #[test]
    fn database_hosts_of_other_resources_are_never_urls() {
        // authentik's Helm values name its database `host = "postgres.dbaas.svc…"`.
        assert!(ingress_urls(&fixture("authentik")).is_empty());
    }

    #[test]
    fn the_namespace_comes_from_the_stack() {
        assert_eq!(namespace(&fixture("immich"), "immich"), "immich");
        assert_eq!(namespace(&fixture("nextcloud"), "x"), "nextcloud");
    }
}
