//! Canonical serialization and SHA-256: the one way itera turns a value into a hash (frame
//! registration G1/G7, data hash, test commitment G15, journal chain).

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of some bytes.
///
/// ```
/// // sha256("abc") from FIPS 180-2, appendix B.1
/// assert_eq!(
///     itera_core::hash::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a digest's bytes.
pub(crate) fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(2 * digest.len());
    for b in digest {
        out.push(char::from(HEX[(b >> 4) as usize]));
        out.push(char::from(HEX[(b & 0x0f) as usize]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Canonical JSON: object keys sorted at every depth, no whitespace, numbers as serde_json prints
/// them. The same value gives the same bytes on every machine, whatever feature flags another
/// crate turns on for serde_json.
///
/// ```
/// let a = itera_core::hash::canonical_json(&serde_json::json!({"b": 1, "a": [true, null]})).unwrap();
/// assert_eq!(a, r#"{"a":[true,null],"b":1}"#);
/// ```
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    crate::canonical::write(value, &mut out)?;
    // serde_json writes UTF-8 only; the conversion cannot fail.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

#[cfg(test)]
thread_local! {
    /// Canonical encodings made on this thread (the journal codec's tests count them).
    pub(crate) static ENCODINGS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// SHA-256 of the canonical JSON of a value.
///
/// ```
/// let h1 = itera_core::hash::hash_value(&serde_json::json!({"a": 1, "b": 2})).unwrap();
/// let h2 = itera_core::hash::hash_value(&serde_json::json!({"b": 2, "a": 1})).unwrap();
/// assert_eq!(h1, h2);
/// ```
pub fn hash_value<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(canonical_json(value)?.as_bytes()))
}

/// SHA-256 of the canonical JSON of a sequence, streamed item by item: the same bytes (and so the
/// same hash) as [`hash_value`] of the whole slice, without building the whole document in memory.
///
/// ```
/// let rows = vec![serde_json::json!({"b": 1, "a": 2}), serde_json::json!([3])];
/// assert_eq!(
///     itera_core::hash::hash_seq(&rows).unwrap(),
///     itera_core::hash::hash_value(&rows).unwrap()
/// );
/// ```
pub fn hash_seq<T: Serialize>(items: &[T]) -> Result<String, serde_json::Error> {
    let mut hasher = Sha256::new();
    hasher.update(b"[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        hasher.update(canonical_json(item)?.as_bytes());
    }
    hasher.update(b"]");
    Ok(hex(&hasher.finalize()))
}
