//! Starts the hub's schema registry in-process on a free loopback port, on a test database.

use hub_test_utils::TestDatabase;
use schema_registry::{Running, Settings};

/// Starts a registry on `db`; it stops when the returned value is dropped.
pub async fn start(db: &TestDatabase) -> anyhow::Result<Running> {
    let settings = Settings {
        database_url: db.url().to_owned().into(),
        seed_canonical: false,
        ..Settings::default()
    };
    Ok(schema_registry::spawn(settings).await?)
}
