//! Sender authentication: bearer tokens configured as SHA-256 hashes, each bound to a sender
//! code. Only hashes are kept in configuration and memory; the lookup is by the hash of the
//! presented token, so no comparison ever runs over a stored secret (the hash of an unknown
//! token reveals nothing useful through timing).

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// How a connector's sender configuration is read for authentication.
pub trait SenderConfig {
    /// Sender code: `hub-facility` of its messages and the key prefix; no `:`.
    fn code(&self) -> &str;
    /// SHA-256 (lower-case hex) of each bearer token the sender may use.
    fn token_sha256(&self) -> &[String];
    /// Whether the sender may use the HTTP API.
    fn http(&self) -> bool;
    /// Whether everything from this sender is synthetic.
    fn synthetic(&self) -> bool;
}

/// A configured sender, as the ingest path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Sender code (`hub-facility`, key prefix, metric label).
    pub code: String,
    /// Whether its records are synthetic.
    pub synthetic: bool,
    /// Whether it may use the HTTP API.
    pub http: bool,
}

/// Why the sender list is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// A code is empty, contains `:` or is configured twice.
    #[error("sender code {0:?} is empty, contains ':' or is configured twice")]
    BadCode(String),
    /// A token hash is not 64 hex digits.
    #[error("sender {0}: token_sha256 entries must be 64 hex digits")]
    BadHash(String),
    /// Two senders share a token.
    #[error("sender {0}: a token hash is configured for another sender too")]
    SharedToken(String),
}

/// The outcome of authenticating a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// A known token of a sender allowed to use HTTP.
    Allowed(Arc<Sender>),
    /// No `Authorization: Bearer` header, or an unknown token (401).
    Unauthenticated,
    /// A known token of a sender that may not use HTTP (403).
    Forbidden(Arc<Sender>),
}

/// Every configured sender, by token hash.
#[derive(Debug, Clone, Default)]
pub struct Senders {
    by_hash: HashMap<[u8; 32], Arc<Sender>>,
    all: Vec<Arc<Sender>>,
}

impl Senders {
    /// Builds the lookup from configuration.
    ///
    /// # Errors
    /// A bad or duplicate code, a malformed hash, or a token shared by two senders.
    pub fn from_settings<S: SenderConfig>(settings: &[S]) -> Result<Self, SenderError> {
        let mut out = Self::default();
        for s in settings {
            let code = s.code();
            if code.is_empty() || code.contains(':') || out.get(code).is_some() {
                return Err(SenderError::BadCode(code.to_owned()));
            }
            let sender = Arc::new(Sender {
                code: code.to_owned(),
                synthetic: s.synthetic(),
                http: s.http(),
            });
            for hex in s.token_sha256() {
                let hash = parse_hash(hex).ok_or_else(|| SenderError::BadHash(code.to_owned()))?;
                if out.by_hash.insert(hash, Arc::clone(&sender)).is_some() {
                    return Err(SenderError::SharedToken(code.to_owned()));
                }
            }
            out.all.push(sender);
        }
        Ok(out)
    }

    /// The sender with `code`.
    pub fn get(&self, code: &str) -> Option<Arc<Sender>> {
        self.all.iter().find(|s| s.code == code).cloned()
    }

    /// Every configured sender.
    pub fn all(&self) -> &[Arc<Sender>] {
        &self.all
    }

    /// Authenticates the value of an `Authorization` header.
    pub fn authenticate(&self, authorization: Option<&str>) -> AuthOutcome {
        let Some(token) = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return AuthOutcome::Unauthenticated;
        };
        match self.by_hash.get(&sha256(token.as_bytes())) {
            Some(sender) if sender.http => AuthOutcome::Allowed(Arc::clone(sender)),
            Some(sender) => AuthOutcome::Forbidden(Arc::clone(sender)),
            None => AuthOutcome::Unauthenticated,
        }
    }
}

/// SHA-256 of `bytes`.
fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_slice());
    out
}

/// Lower-case hex of the SHA-256 of `token`: the form configuration holds.
pub fn token_hash(token: &str) -> String {
    sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Conf {
        code: String,
        hashes: Vec<String>,
        http: bool,
    }

    impl SenderConfig for Conf {
        fn code(&self) -> &str {
            &self.code
        }
        fn token_sha256(&self) -> &[String] {
            &self.hashes
        }
        fn http(&self) -> bool {
            self.http
        }
        fn synthetic(&self) -> bool {
            false
        }
    }

    fn sender(code: &str, token: &str, http: bool) -> Conf {
        Conf {
            code: code.into(),
            hashes: vec![token_hash(token)],
            http,
        }
    }

    #[test]
    fn tokens_map_to_their_sender() {
        let senders = Senders::from_settings(&[
            sender("YB01", "t-one", true),
            sender("YB02", "t-two", false),
        ])
        .unwrap();
        match senders.authenticate(Some("Bearer t-one")) {
            AuthOutcome::Allowed(s) => assert_eq!(s.code, "YB01"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            senders.authenticate(Some("Bearer t-two")),
            AuthOutcome::Forbidden(_)
        ));
        for bad in [
            None,
            Some("Bearer nope"),
            Some("Basic t-one"),
            Some("Bearer "),
        ] {
            assert_eq!(senders.authenticate(bad), AuthOutcome::Unauthenticated);
        }
        assert_eq!(senders.all().len(), 2);
    }

    #[test]
    fn refuses_bad_configuration() {
        let mut bad_hash = sender("YB01", "t", true);
        bad_hash.hashes = vec!["abc".into()];
        assert!(Senders::from_settings(&[bad_hash]).is_err());
        assert!(Senders::from_settings(&[sender("A:B", "t", true)]).is_err());
        assert!(Senders::from_settings(&[sender("A", "t", true), sender("B", "t", true)]).is_err());
        assert!(Senders::from_settings(&[sender("A", "t", true), sender("A", "u", true)]).is_err());
    }
}
