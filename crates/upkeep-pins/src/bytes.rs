//! Byte-level helpers of the lexical readers (the Terraform outline, the values key check).

/// A table of the bytes in `set`, for telling them from the others with one lookup.
pub(crate) const fn byte_set(set: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    table
}
