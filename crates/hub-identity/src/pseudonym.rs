//! Keyed pseudonyms (HMAC-SHA256) for identifiers.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// Computes stable pseudonyms of identifiers under a secret key, so that records can be joined
/// or counted by person without carrying the identifier. Without the key a pseudonym cannot be
/// reversed by enumerating the identifier space; rotate the key and the pseudonyms change.
pub struct Pseudonymizer {
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<key redacted>)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with `key` (at least 32 random bytes in production).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: SecretSlice::from(key.into()),
        }
    }

    /// The lower-case hex HMAC-SHA256 of `domain`, a NUL separator and `value`. The domain (for
    /// example `resident-id` or `phone`) keeps equal strings of different kinds apart.
    pub fn pseudonym(&self, domain: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose_secret())
        else {
            return String::new();
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_domain_separated() {
        let a = Pseudonymizer::new(b"key-one".to_vec());
        let b = Pseudonymizer::new(b"key-two".to_vec());
        let p = a.pseudonym("resident-id", "11010519491231002X");
        assert_eq!(p.len(), 64);
        assert_eq!(p, a.pseudonym("resident-id", "11010519491231002X"));
        assert_ne!(
            p,
            b.pseudonym("resident-id", "11010519491231002X"),
            "depends on the key"
        );
        assert_ne!(
            p,
            a.pseudonym("phone", "11010519491231002X"),
            "depends on the domain"
        );
        assert!(!format!("{a:?}").contains("key-one"));
    }
}
