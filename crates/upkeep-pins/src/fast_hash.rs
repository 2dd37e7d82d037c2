//! Hash maps and sets keyed by what a scan meets (paths, names, offsets), hashed with
//! foldhash: SipHash, the standard library's, took 3 % of a scan's instructions, and its
//! resistance to chosen keys buys little here (the seed is still random per process, and a
//! repository that wants a scan slow can simply be big).

/// A `HashMap` hashed with foldhash; build one with `default()` or
/// `with_capacity_and_hasher(n, Default::default())`.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` hashed with foldhash.
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
