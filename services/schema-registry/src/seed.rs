//! Seeding the hub's canonical contract at start-up.
//!
//! Each canonical subject gets `FULL_TRANSITIVE` and its schema from `hub_schemas::CANONICAL`,
//! through the same store code as `POST /subjects/{subject}/versions`. Seeding is idempotent: an
//! unchanged schema keeps its id and version; an evolved one becomes a new version if it is
//! compatible, and an incompatible one stops the start (the contract says a breaking change is a
//! new `.v2` topic, never a new version).

use tracing::info;

use crate::avro;
use crate::compat::Level;
use crate::error::RegistryError;
use crate::model::Subject;
use crate::store::Store;

/// Why a canonical schema could not be seeded.
#[derive(Debug, thiserror::Error)]
#[error("cannot seed canonical subject {subject}: {source}")]
pub struct SeedError {
    /// The subject.
    pub subject: &'static str,
    /// What went wrong.
    #[source]
    pub source: RegistryError,
}

/// Registers every canonical schema under its subject with `FULL_TRANSITIVE`.
///
/// # Errors
/// A schema does not parse, is incompatible with the registered versions, or storage fails.
pub async fn seed_canonical(store: &Store) -> Result<(), SeedError> {
    for contract in hub_schemas::CANONICAL {
        let fail = |source| SeedError {
            subject: contract.subject,
            source,
        };
        let subject = Subject::new(contract.subject).map_err(fail)?;
        store
            .set_subject_level(&subject, Level::FullTransitive)
            .await
            .map_err(fail)?;
        let parsed =
            avro::parse(contract.schema).map_err(|e| fail(RegistryError::InvalidSchema(e.0)))?;
        let registered = store.register(&subject, &parsed).await.map_err(fail)?;
        info!(
            subject = contract.subject,
            id = registered.id,
            version = registered.version,
            new_version = registered.new_version,
            "Canonical schema seeded."
        );
    }
    Ok(())
}
