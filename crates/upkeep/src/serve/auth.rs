//! Bearer tokens: read from the environment (`UPKEEP_SERVE_TOKENS`, comma-separated) or a
//! file (one per line; `#` comments), never from the committed config; compared in constant
//! time, by their SHA-256, against every known token.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

/// The accepted tokens, kept as digests.
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

/// Tokens shorter than this are refused: a webhook secret must not be guessable.
const MIN_LENGTH: usize = 16;

impl Tokens {
    /// The tokens from `env` (the value of `UPKEEP_SERVE_TOKENS`) and `file`; at least one
    /// is required.
    pub fn load(env: Option<&str>, file: Option<&Path>) -> anyhow::Result<Tokens> {
        let mut tokens: Vec<String> = env
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the token file {}", file.display()))?;
            tokens.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        if tokens.is_empty() {
            bail!(
                "no bearer token: set UPKEEP_SERVE_TOKENS or --token-file; every mutating request needs one"
            );
        }
        if let Some(short) = tokens.iter().position(|t| t.len() < MIN_LENGTH) {
            bail!(
                "token #{} is shorter than {MIN_LENGTH} characters; use a random one (e.g. `openssl rand -hex 32`)",
                short + 1
            );
        }
        Ok(Tokens {
            digests: tokens.iter().map(|t| digest(t)).collect(),
        })
    }

    /// Whether an `Authorization` header value carries a known bearer token. Every token is
    /// compared, whatever matched, so the time taken says nothing.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }) else {
            return false;
        };
        let candidate = digest(token);
        let mut allowed = subtle::Choice::from(0);
        for known in &self.digests {
            allowed |= known.ct_eq(&candidate);
        }
        allowed.into()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::Tokens;

    #[test]
    fn only_known_bearer_tokens_pass() {
        let tokens = Tokens::load(
            Some("first-token-0123456789, second-token-0123456789"),
            None,
        )
        .unwrap();
        assert!(tokens.allows(Some("Bearer first-token-0123456789")));
        assert!(tokens.allows(Some("bearer second-token-0123456789")));
        assert!(!tokens.allows(Some("Bearer first-token-012345678")));
        assert!(!tokens.allows(Some("Basic first-token-0123456789")));
        assert!(!tokens.allows(Some("first-token-0123456789")));
        assert!(!tokens.allows(None));
        assert!(!format!("{tokens:?}").contains("first"));
    }

    #[test]
    fn missing_or_weak_tokens_are_refused() {
        assert!(Tokens::load(None, None).is_err());
        assert!(Tokens::load(Some("short"), None).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# DIUN\nfile-token-abcdefghijkl\n").unwrap();
        let tokens = Tokens::load(None, Some(&file)).unwrap();
        assert!(tokens.allows(Some("Bearer file-token-abcdefghijkl")));
    }
}
