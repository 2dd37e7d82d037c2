//! What a stack's own Terraform files say about where it runs: its namespace and the hosts
//! of its `kubernetes_ingress_v1` resources written as literal strings. Nothing is derived
//! from a module input (`host = "headscale"` given to an ingress module becomes
//! `headscale.<domain>` only inside the module): a value upkeep cannot read for certain is
//! not used.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use upkeep_pins::{DEFAULT_MAX_FILE_SIZE, RepoFiles};

/// Ingress resource types whose `spec.rule.host` is a hostname.
const INGRESS_TYPES: [&str; 2] = ["kubernetes_ingress_v1", "kubernetes_ingress"];

/// The `.tf` files directly in `dir` (relative to `root`), sorted, with their text; read
/// through [`RepoFiles`], so a link out of the repository or a special file is not read.
fn tf_texts(root: &Path, dir: &Path) -> Vec<String> {
    let Ok(repo) = RepoFiles::new(root) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|entry| Some(PathBuf::from(entry.ok()?.file_name())))
        .filter(|name| name.extension().is_some_and(|e| e == "tf"))
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|name| repo.read_text(&dir.join(name), DEFAULT_MAX_FILE_SIZE).ok())
        .collect()
}

/// The stack's namespace: its `kubernetes_namespace`'s name, else a literal
/// `namespace = "…"`, else the stack's name. `dir` is the stack's folder, relative to `root`.
pub fn namespace(root: &Path, dir: &Path, stack: &str) -> String {
    static NAMESPACE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"resource\s+"kubernetes_namespace(?:_v1)?"\s+"[^"]*"\s*\{[^}]*?\bname\s*=\s*"([^"$]+)"|(?m)^\s*namespace\s*=\s*"([^"$]+)""#,
        )
        .expect("valid regex")
    });
    tf_texts(root, dir)
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
/// left out. `dir` is the stack's folder, relative to `root`.
pub fn ingress_urls(root: &Path, dir: &Path) -> Vec<String> {
    let mut urls = Vec::new();
    for text in tf_texts(root, dir) {
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

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/homelab")
    }

    fn stack(name: &str) -> std::path::PathBuf {
        Path::new("stacks").join(name)
    }

    #[test]
    fn a_literal_ingress_host_is_a_url_and_a_module_input_is_not() {
        assert_eq!(
            ingress_urls(&fixtures(), &stack("vaultwarden")),
            ["http://vault.home.arpa"]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "module \"ingress\" {\n  source = \"../../modules/ingress\"\n  host   = \"headscale\"\n}\n\nresource \"kubernetes_ingress_v1\" \"api\" {\n  spec {\n    tls {\n      hosts = [\"api.home.arpa\"]\n    }\n    rule {\n      host = \"api.home.arpa\"\n    }\n    rule {\n      host = \"${var.name}.home.arpa\"\n    }\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(
            ingress_urls(dir.path(), Path::new("")),
            ["https://api.home.arpa"]
        );
    }

    #[test]
    fn database_hosts_of_other_resources_are_never_urls() {
        // authentik's Helm values name its database `host = "postgres.dbaas.svc…"`.
        assert!(ingress_urls(&fixtures(), &stack("authentik")).is_empty());
    }

    #[test]
    fn the_namespace_comes_from_the_stack() {
        assert_eq!(namespace(&fixtures(), &stack("immich"), "immich"), "immich");
        assert_eq!(
            namespace(&fixtures(), &stack("nextcloud"), "x"),
            "nextcloud"
        );
    }

    #[test]
    fn a_file_linked_from_outside_the_repository_is_not_read() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(
            outside.path().join("evil.tf"),
            "namespace = \"from-outside\"\nresource \"kubernetes_ingress_v1\" \"x\" {\n  spec {\n    rule {\n      host = \"outside.example\"\n    }\n  }\n}\n",
        )
        .unwrap();
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join("app")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("evil.tf"),
            repo.path().join("app/main.tf"),
        )
        .unwrap();
        assert_eq!(namespace(repo.path(), Path::new("app"), "app"), "app");
        assert!(ingress_urls(repo.path(), Path::new("app")).is_empty());
    }
}
