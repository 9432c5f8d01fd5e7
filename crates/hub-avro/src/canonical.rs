//! Registering the canonical contract with a schema registry.

use std::collections::BTreeMap;

use hub_schemas::CANONICAL;

use crate::registry::{RegistryClient, RegistryError};

/// The compatibility level of every canonical subject: new fields need defaults, nothing is
/// removed or retyped, checked against every earlier version. A breaking change is a `.v2` topic.
pub const CANONICAL_COMPATIBILITY: &str = "FULL_TRANSITIVE";

/// Sets `FULL_TRANSITIVE` on every canonical subject and registers its committed schema.
/// Idempotent: a schema already registered keeps its id. Returns subject → schema id.
///
/// # Errors
/// The registry is unreachable or refuses a schema (an incompatible change to a `.avsc`).
pub async fn register_canonical(
    registry: &RegistryClient,
) -> Result<BTreeMap<&'static str, u32>, RegistryError> {
    let mut ids = BTreeMap::new();
    for contract in CANONICAL {
        registry
            .set_compatibility(contract.subject, CANONICAL_COMPATIBILITY)
            .await?;
        let id = registry.register(contract.subject, contract.schema).await?;
        ids.insert(contract.subject, id);
    }
    Ok(ids)
}
