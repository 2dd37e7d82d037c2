//! Which keys name the parts of a container image, and how sibling keys group into one image.
//! Shared by the HCL and YAML readers, so both find the same shapes:
//!
//! - `image = "repo:tag"` (also `*_image`, `*Image`): a whole reference;
//! - `tag` next to `repository` (or `repo`, `uri`, or an `image` without a tag), with an
//!   optional `registry` and `digest`: the Helm style, in any object or mapping;
//! - the same with a common stem: `image_registry` + `image_repository` + `image_tag`,
//!   `imageRepository` + `imageTag`, `image` + `imageTag`, `exporter_image` + `exporter_tag`.

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A whole image reference, or (next to a tag) the image's name.
    Image,
    /// The name of the image without registry: `repository`, `image_repository`, `uri`.
    Repository,
    /// The registry host.
    Registry,
    /// The tag.
    Tag,
    /// The digest pinned next to the tag.
    Digest,
}

/// Whether a key names a container image: `image`, `*_image`, `*Image`. Keys that name a
/// virtual machine's disk image (`source_image`, `machine_image`, …) do not.
pub(crate) fn is_image_key(key: &str) -> bool {
    normal_ends_with(key, "image") && matches!(role(key), Some((Role::Image, _)))
}

/// Stems of keys that end like an image key but say what to do with one (`push_image`,
/// `pullImage`, `sign_image`): flags, not images.
const VERB_STEMS: [&str; 10] = [
    "push", "pull", "build", "sign", "scan", "enable", "use", "create", "skip", "load",
];

/// Keys that end like an image key but name a virtual machine's disk image.
const VM_IMAGE_KEYS: [&str; 6] = [
    "sourceimage",
    "machineimage",
    "bootimage",
    "osimage",
    "vmimage",
    "diskimage",
];

/// The role of a key and its stem (the key without the role's suffix, lower case, without
/// `_` and `-`): `image_tag` → (tag, `image`), `imageRepository` → (repository, `image`),
/// `uri` → (repository, ``), `exporter_image` → (image, `exporter`).
pub(crate) fn role(key: &str) -> Option<(Role, String)> {
    // Most keys end in none of the suffixes: rejected without building the normal form.
    let last = key.bytes().last()?.to_ascii_lowercase();
    if !matches!(last, b'y' | b'o' | b'e' | b'g' | b't' | b'i') {
        return None;
    }
    // An environment variable (`PUSH_IMAGE`, `IMAGE_TAG`) is a setting of a program, not
    // a part of the image the pin is about.
    if !key.is_ascii() || !key.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    const SUFFIXES: [(&str, Role); 9] = [
        ("repository", Role::Repository),
        ("repo", Role::Repository),
        ("imagename", Role::Repository),
        ("imageuri", Role::Repository),
        ("image", Role::Image),
        ("registry", Role::Registry),
        ("tag", Role::Tag),
        ("digest", Role::Digest),
        ("uri", Role::Repository),
    ];
    let (suffix, role) = SUFFIXES
        .into_iter()
        .find(|(suffix, _)| normal_ends_with(key, suffix))?;
    let mut normal = String::with_capacity(key.len());
    normal.extend(
        key.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase()),
    );
    let stem = &normal[..normal.len() - suffix.len()];
    // `imagename`/`imageuri` keep `image` in the stem, as `imagerepository` does.
    let stem = match suffix {
        "imagename" | "imageuri" => format!("{stem}image"),
        _ => stem.to_owned(),
    };
    match role {
        // Plain `uri` only in its exact spelling; `*uri` is not an image part.
        Role::Repository if suffix == "uri" && !stem.is_empty() => None,
        Role::Image if VM_IMAGE_KEYS.contains(&normal.as_str()) => None,
        Role::Image if VERB_STEMS.contains(&stem.as_str()) => None,
        // A key that merely ends in these letters (`hashtag`, `stage`) is not a tag.
        Role::Tag if !stem.is_empty() && !key_ends_with_word(key, "tag") => None,
        Role::Image if !stem.is_empty() && !key_ends_with_word(key, "image") => None,
        _ => Some((role, stem)),
    }
}

/// Whether `key` without `_` and `-`, in lower case, ends with `suffix` (lower case).
fn normal_ends_with(key: &str, suffix: &str) -> bool {
    let mut key = key.bytes().rev().filter(|b| *b != b'_' && *b != b'-');
    suffix
        .bytes()
        .rev()
        .all(|want| key.next().is_some_and(|b| b.to_ascii_lowercase() == want))
}

/// Whether a key can make sibling entries into one pin: an image's tag, or a `version`.
/// Objects without one are walked entry by entry, with no grouping to compute.
pub(crate) fn may_group(key: &str) -> bool {
    key == "version" || (normal_ends_with(key, "tag") && matches!(role(key), Some((Role::Tag, _))))
}

/// Whether `key` ends with `word` as a word of its own: `image_tag`, `imageTag`, `image-tag`,
/// not `hashtag`.
fn key_ends_with_word(key: &str, word: &str) -> bool {
    let start = key.len() - word.len();
    let Some(tail) = key.get(start..) else {
        return false;
    };
    let boundary = key[..start].ends_with(['_', '-']);
    let camel = tail.starts_with(|c: char| c.is_ascii_uppercase());
    tail.eq_ignore_ascii_case(word) && (boundary || camel)
}

/// The key of a versioned object's version.
pub(crate) const VERSION_KEY: &str = "version";

/// The keys that can name a versioned object, one of which must stand next to its version.
pub(crate) const VERSIONED_NAME_KEYS: [&str; 4] = ["moduleName", "source", "name", "repository"];

/// The entries of an object that name something versioned: `(name, version, repository)`.
/// The name is the `moduleName` or `source`, else the `name` (with the `repository` next to
/// it: a chart dependency), else the `repository`. `None` when the object has no `version`,
/// no name, or is an image (a tag or an image key among its entries).
pub(crate) fn versioned(keys: &[&str], scalar: &[bool]) -> Option<(usize, usize, Option<usize>)> {
    let find = |wanted: &str| {
        keys.iter()
            .zip(scalar)
            .rposition(|(key, scalar)| *scalar && *key == wanted)
    };
    let version = find(VERSION_KEY)?;
    let imageish = keys
        .iter()
        .any(|key| matches!(role(key), Some((Role::Tag | Role::Image, _))));
    if imageish {
        return None;
    }
    let [module_name, source, name, repository] = VERSIONED_NAME_KEYS;
    let module = find(module_name).or_else(|| find(source));
    let (name, repository) = match (module, find(name), find(repository)) {
        (Some(module), _, _) => (module, None),
        (None, Some(name), repository) => (name, repository),
        (None, None, Some(repository)) => (repository, None),
        (None, None, None) => return None,
    };
    Some((name, version, repository))
}

/// One image made of sibling entries: indices into the keys given to [`group`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// The tag.
    pub tag: usize,
    /// The repository (or the image name), if any sibling gives it.
    pub repository: Option<usize>,
    /// The registry host.
    pub registry: Option<usize>,
    /// The digest.
    pub digest: Option<usize>,
}

/// Groups sibling entries (the keys of one object, mapping or block body, in order) into
/// images. `scalar[i]` says whether entry `i` can be a string (not an object or a list);
/// `under_image` whether the entries are the value of an image key (`image = { tag = … }`).
/// Returns the groups and, per entry, whether a group uses it as its repository (so it is
/// not an image reference of its own).
pub(crate) fn group(keys: &[&str], scalar: &[bool], under_image: bool) -> (Vec<Group>, Vec<bool>) {
    let roles: Vec<Option<(Role, String)>> = keys
        .iter()
        .zip(scalar)
        .map(|(key, scalar)| if *scalar { role(key) } else { None })
        .collect();
    let find = |wanted: Role, stem: &str| {
        roles.iter().rposition(|r| {
            r.as_ref()
                .is_some_and(|(role, s)| *role == wanted && s == stem)
        })
    };
    let mut groups = Vec::new();
    let mut used = vec![false; keys.len()];
    for (tag, entry) in roles.iter().enumerate() {
        let Some((Role::Tag, stem)) = entry else {
            continue;
        };
        // Only the last of repeated keys counts (YAML keeps it; HCL objects were blanked).
        if find(Role::Tag, stem) != Some(tag) {
            continue;
        }
        let imageish = stem.is_empty() || stem.ends_with("image");
        let repository = if imageish {
            find(Role::Repository, stem)
        } else {
            None
        }
        .or_else(|| {
            // `image` + `image_tag`, `sidecar_image` + `sidecar_image_tag`.
            let image_stem = stem.strip_suffix("image")?;
            find(Role::Image, image_stem)
        })
        .or_else(|| {
            // `image` + `tag`, `exporter_image` + `exporter_tag`.
            (!stem.ends_with("image"))
                .then(|| find(Role::Image, stem))
                .flatten()
        });
        let named_alone = (stem.is_empty() && under_image) || stem.ends_with("image");
        if repository.is_none() && !named_alone {
            continue;
        }
        if let Some(repository) = repository {
            used[repository] = true;
        }
        groups.push(Group {
            tag,
            repository,
            registry: find(Role::Registry, stem),
            digest: find(Role::Digest, stem),
        });
    }
    (groups, used)
}

#[cfg(test)]
mod tests {
    use super::{Group, Role, group, is_image_key, role};

    fn groups(keys: &[&str]) -> Vec<(String, Option<String>, Option<String>)> {
        let scalar = vec![true; keys.len()];
        group(keys, &scalar, false)
            .0
            .into_iter()
            .map(
                |Group {
                     tag,
                     repository,
                     registry,
                     ..
                 }| {
                    (
                        keys[tag].to_owned(),
                        repository.map(|r| keys[r].to_owned()),
                        registry.map(|r| keys[r].to_owned()),
                    )
                },
            )
            .collect()
    }

    #[test]
    fn roles_and_stems() {
        assert_eq!(role("image_tag"), Some((Role::Tag, "image".into())));
        assert_eq!(
            role("imageRepository"),
            Some((Role::Repository, "image".into()))
        );
        assert_eq!(role("uri"), Some((Role::Repository, String::new())));
        assert_eq!(role("image_uri"), Some((Role::Repository, "image".into())));
        assert_eq!(
            role("exporter_image"),
            Some((Role::Image, "exporter".into()))
        );
        assert_eq!(
            role("image_registry"),
            Some((Role::Registry, "image".into()))
        );
        for key in [
            "hashtag",
            "stage",
            "source_image",
            "machine_image",
            "security",
            "bootImage",
            "push_image",
            "signImage",
            "PUSH_IMAGE",
            "IMAGE_TAG",
        ] {
            assert!(!is_image_key(key) && role(key).is_none(), "{key}");
        }
    }

    #[test]
    fn siblings_group_by_stem() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            groups(&[
                "name",
                "image_registry",
                "image_repository",
                "image_tag",
                "command"
            ]),
            [(
                "image_tag".into(),
                some("image_repository"),
                some("image_registry")
            )]
        );
        assert_eq!(
            groups(&["image", "imageTag"]),
            [("imageTag".into(), some("image"), None)]
        );
        assert_eq!(
            groups(&["exporter_image", "exporter_tag"]),
            [("exporter_tag".into(), some("exporter_image"), None)]
        );
        assert_eq!(groups(&["uri", "tag"]), [("tag".into(), some("uri"), None)]);
        assert_eq!(groups(&["image_tag"]), [("image_tag".into(), None, None)]);
        assert!(groups(&["git_repository", "git_tag"]).is_empty());
        assert!(groups(&["tag"]).is_empty());
        assert_eq!(group(&["tag"], &[true], true).0.len(), 1);
    }
}
