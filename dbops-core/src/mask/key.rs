//! The masking key: every transformer's output is a keyed function of its input, so the same input
//! gives the same output in every table and every run with the same key, and nothing without it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The secret that makes masking deterministic and not reversible without it. Never printed.
#[derive(Clone)]
pub struct MaskKey {
    mac: Hmac<Sha256>,
    rounds: [u64; 8],
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(<redacted>)")
    }
}

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

impl MaskKey {
    /// A key from secret bytes (at least 16).
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(Error::config(
                "masking key",
                format!(
                    "the key has {} bytes; use at least {MIN_KEY_BYTES} random bytes (e.g. `openssl rand \
                     -hex 32`)",
                    secret.len()
                ),
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| {
            Error::config(
                "masking key",
                format!("the key cannot key HMAC-SHA256: {e}"),
            )
        })?;
        let mut key = Self {
            mac,
            rounds: [0; 8],
        };
        let mut rounds = [0u64; 8];
        for (i, round) in rounds.iter_mut().enumerate() {
            *round = key.word(b"feistel-round", &[i as u8]);
        }
        key.rounds = rounds;
        Ok(key)
    }

    /// A fixed key for checking whether transformers fit their columns, where what they would write
    /// does not matter (rules checked without their key, drafts).
    pub(crate) fn for_checks() -> Option<&'static MaskKey> {
        static KEY: std::sync::OnceLock<Option<MaskKey>> = std::sync::OnceLock::new();
        KEY.get_or_init(|| MaskKey::new(b"dbops-type-check-only-key").ok())
            .as_ref()
    }

    /// The key held by environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self> {
        let value = std::env::var(var).map_err(|_| {
            Error::config(
                "masking key",
                format!(
                    "environment variable {var} is not set (or not UTF-8); put at least \
                     {MIN_KEY_BYTES} random bytes in it, e.g. `export {var}=$(openssl rand -hex 32)`"
                ),
            )
        })?;
        Self::new(value.as_bytes()).map_err(|_| {
            Error::config(
                "masking key",
                format!(
                    "environment variable {var} holds {} bytes; use at least {MIN_KEY_BYTES}",
                    value.len()
                ),
            )
        })
    }

    /// HMAC-SHA256 of `input` in the domain `label`.
    pub(crate) fn digest(&self, label: &[u8], input: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(label);
        mac.update(&[0]);
        mac.update(input);
        mac.finalize().into_bytes().into()
    }

    /// The first 64 bits of [`MaskKey::digest`].
    pub(crate) fn word(&self, label: &[u8], input: &[u8]) -> u64 {
        let digest = self.digest(label, input);
        u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
    }

    /// A keyed permutation of `0..2^bits` (`bits` even, at most 64): a balanced Feistel network.
    fn feistel(&self, value: u64, bits: u32) -> u64 {
        let half = bits / 2;
        let mask = if half == 32 {
            u32::MAX as u64
        } else {
            (1u64 << half) - 1
        };
        let (mut left, mut right) = ((value >> half) & mask, value & mask);
        for round in self.rounds {
            let mixed = mix(right ^ round) & mask;
            (left, right) = (right, left ^ mixed);
        }
        (left << half) | right
    }

    /// A keyed permutation of `0..domain` (`domain` at most 2^63), by cycle-walking the smallest even
    /// power of two that holds it.
    pub(crate) fn permute(&self, value: u64, domain: u64) -> u64 {
        if domain <= 1 {
            return value;
        }
        let mut bits = 64 - (domain - 1).leading_zeros();
        bits += bits % 2;
        let bits = bits.max(2);
        let mut out = self.feistel(value, bits);
        while out >= domain {
            out = self.feistel(out, bits);
        }
        out
    }
}

/// A 64-bit mixing function (the splitmix64 finaliser).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections() {
        let key = MaskKey::new(b"0123456789abcdef0123").unwrap();
        for domain in [1u64, 2, 7, 10, 100, 1000, 4096] {
            let mut seen: Vec<u64> = (0..domain).map(|v| key.permute(v, domain)).collect();
            seen.sort();
            assert_eq!(seen, (0..domain).collect::<Vec<_>>(), "domain {domain}");
        }
        let big = 1u64 << 63;
        assert!(key.permute(12345, big) < big);
        assert_ne!(key.permute(12345, big), 12345);
    }

    #[test]
    fn short_keys_are_refused_and_never_printed() {
        let error = MaskKey::new(b"short").unwrap_err().to_string();
        assert!(error.contains("at least 16"), "{error}");
        let key = MaskKey::new(b"a-secret-of-enough-bytes").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
    }
}
