//! A disk cache of API responses with their ETags, so a second run makes conditional requests
//! only (a `304 Not Modified` costs no rate limit on GitHub).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One cached response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CachedResponse {
    /// The URL it answers.
    pub url: String,
    /// The `ETag` to send as `If-None-Match`.
    pub etag: String,
    /// The body.
    pub body: String,
    /// The `Link: <…>; rel="next"` URL, for paginated lists.
    pub next: Option<String>,
    /// How many pages the list has, when the response said.
    pub pages: Option<usize>,
}

/// The cache directory: one JSON file per URL, named by a stable hash of the URL.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: &Path) -> Cache {
        Cache {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, url: &str) -> PathBuf {
        self.dir
            .join(format!("{:016x}.json", fnv1a(url.as_bytes())))
    }

    /// The entry for `url`, if cached and readable (a corrupt entry is a miss).
    pub fn get(&self, url: &str) -> Option<CachedResponse> {
        let text = std::fs::read_to_string(self.path(url)).ok()?;
        let entry: CachedResponse = serde_json::from_str(&text).ok()?;
        (entry.url == url).then_some(entry)
    }

    /// Stores an entry; failing to write only costs a future full request, so it is logged,
    /// not returned.
    pub fn put(&self, entry: &CachedResponse) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let path = self.path(&entry.url);
            let temp = path.with_extension("json.tmp");
            std::fs::write(&temp, serde_json::to_vec(entry)?)?;
            std::fs::rename(temp, path)
        };
        if let Err(error) = write() {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot write the response cache");
        }
    }
}

/// FNV-1a, 64 bits: a hash that is stable across runs and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::{Cache, CachedResponse, fnv1a};

    #[test]
    fn entries_round_trip_and_a_corrupt_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let entry = CachedResponse {
            url: "https://api.github.com/repos/a/b/releases".to_owned(),
            etag: "W/\"abc\"".to_owned(),
            body: "[]".to_owned(),
            next: None,
            pages: None,
        };
        assert_eq!(cache.get(&entry.url), None);
        cache.put(&entry);
        assert_eq!(cache.get(&entry.url), Some(entry.clone()));
        std::fs::write(cache.path(&entry.url), "{not json").unwrap();
        assert_eq!(cache.get(&entry.url), None);
    }

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
