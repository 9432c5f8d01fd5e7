//! Bearer tokens, roles and stated purposes.
//!
//! Tokens are configured as the SHA-256 (hex) of the token, never the token itself, so the
//! settings file and the process memory hold nothing that authenticates. A token is a random
//! secret of at least 128 bits; `printf %s "$TOKEN" | sha256sum` gives the value to configure.
//! An unsalted hash suffices for such secrets (unlike ID numbers, their space cannot be
//! enumerated).
//!
//! | role | may read |
//! |---|---|
//! | clinician | persons with any record at the clinician's facility, or a referral to or from it; identifiers masked |
//! | analyst | aggregates only (`/stats`); 403 on every person endpoint |
//! | admin | every person, with unmasked ID numbers and phones; the audit log |
//! | auditor | the audit log only |

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A doctor or nurse of one facility.
    Clinician,
    /// The county health commission: aggregates, no one's record.
    Analyst,
    /// An administrator: every record, unmasked identifiers.
    Admin,
    /// Reads the audit log and nothing else.
    Auditor,
}

impl Role {
    /// The role's name as stored in the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Clinician => "clinician",
            Self::Analyst => "analyst",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }
}

/// One configured token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (a staff id, written to the audit log; not personal data of a patient).
    pub actor: String,
    /// What it may do.
    pub role: Role,
    /// The facility a clinician works at (required for clinicians, ignored otherwise).
    #[serde(default)]
    pub facility: Option<String>,
    /// SHA-256 of the token, 64 hex characters.
    pub sha256: String,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub actor: String,
    /// Role.
    pub role: Role,
    /// Facility of a clinician.
    pub facility: Option<String>,
}

/// Why the token configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TokenConfigError {
    /// Not 64 hex characters.
    #[error("token of {0}: sha256 must be 64 hex characters")]
    BadHash(String),
    /// A clinician without a facility.
    #[error("token of {0}: a clinician needs a facility")]
    NoFacility(String),
}

/// The configured tokens, by hash.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Caller>,
}

impl Tokens {
    /// Validates and indexes the configured tokens.
    ///
    /// # Errors
    /// A malformed hash or a clinician without a facility.
    pub fn new(entries: &[TokenEntry]) -> Result<Self, TokenConfigError> {
        let mut by_hash = HashMap::new();
        for entry in entries {
            let hash = entry.sha256.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(TokenConfigError::BadHash(entry.actor.clone()));
            }
            let facility = entry.facility.clone().filter(|f| !f.trim().is_empty());
            if entry.role == Role::Clinician && facility.is_none() {
                return Err(TokenConfigError::NoFacility(entry.actor.clone()));
            }
            by_hash.insert(
                hash,
                Caller {
                    actor: entry.actor.clone(),
                    role: entry.role,
                    facility,
                },
            );
        }
        Ok(Self { by_hash })
    }

    /// The caller of a request with `Authorization: Bearer <token>`.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] without a header or with an unknown token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        self.by_hash
            .get(&hash_token(token))
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// SHA-256 of a token, lower-case hex (what the settings hold).
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The header stating why a record is read.
pub const PURPOSE_HEADER: &str = "x-purpose";

/// Purposes a reader may state (recorded in the audit log; PIPL Art. 28 asks for a specific one).
pub const PURPOSES: &[&str] = &[
    "treatment",
    "referral",
    "emergency",
    "audit",
    "quality",
    "insurance",
    "public_health",
];

/// The stated purpose of a request.
///
/// # Errors
/// [`ApiError::BadRequest`] when `X-Purpose` is missing or not one of [`PURPOSES`].
pub fn purpose(headers: &HeaderMap) -> Result<&'static str, ApiError> {
    let stated = headers
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .ok_or_else(|| ApiError::BadRequest("the X-Purpose header is required".into()))?;
    PURPOSES
        .iter()
        .copied()
        .find(|p| *p == stated)
        .ok_or_else(|| {
            ApiError::BadRequest(format!("X-Purpose must be one of {}", PURPOSES.join(", ")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn authenticates_by_hash_only() {
        let tokens = Tokens::new(&[TokenEntry {
            actor: "dr-li".into(),
            role: Role::Clinician,
            facility: Some("F1".into()),
            sha256: hash_token("s3cret").to_uppercase(),
        }])
        .unwrap();
        let ok = tokens
            .authenticate(&headers(&[("authorization", "Bearer s3cret")]))
            .unwrap();
        assert_eq!((ok.actor.as_str(), ok.role), ("dr-li", Role::Clinician));
        for bad in ["Bearer nope", "Basic s3cret", "Bearer "] {
            let err = tokens.authenticate(&headers(&[("authorization", bad)]));
            assert!(matches!(err, Err(ApiError::Unauthorized)), "{bad}");
        }
        assert!(tokens.authenticate(&HeaderMap::new()).is_err());
    }

    #[test]
    fn refuses_bad_configuration() {
        let entry = |role, facility: Option<&str>, sha256: &str| TokenEntry {
            actor: "x".into(),
            role,
            facility: facility.map(str::to_owned),
            sha256: sha256.into(),
        };
        assert!(Tokens::new(&[entry(Role::Admin, None, "abc")]).is_err());
        let h = hash_token("t");
        assert!(Tokens::new(&[entry(Role::Clinician, None, &h)]).is_err());
        assert!(Tokens::new(&[entry(Role::Analyst, None, &h)]).is_ok());
    }

    #[test]
    fn requires_a_known_purpose() {
        assert_eq!(
            purpose(&headers(&[("x-purpose", "Treatment")])).unwrap(),
            "treatment"
        );
        assert!(purpose(&HeaderMap::new()).is_err());
        assert!(purpose(&headers(&[("x-purpose", "curiosity")])).is_err());
    }
}
