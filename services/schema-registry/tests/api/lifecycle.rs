//! Concurrency, canonical seeding, restarts, database creation and metrics.

use std::collections::BTreeSet;

use hub_test_utils::TestDatabase;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use crate::support::{Registry, json_of, record};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_yield_one_id_and_one_version() -> anyhow::Result<()> {
    let registry = std::sync::Arc::new(Registry::start(false).await?);
    let schema = record("Race", r#"{"name":"a","type":"int"}"#);

    // Eight clients register the same new schema under one subject at once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (registry, schema) = (registry.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            registry.register("race-value", &schema).await.id()
        }));
    }
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.insert(task.await?);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        registry.get("/subjects/race-value/versions").await.body,
        json!([1])
    );

    // Eight subjects register another new schema at once: still one global id.
    let shared = record("Shared", r#"{"name":"b","type":"long"}"#);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (registry, shared) = (registry.clone(), shared.clone());
        let subject = format!("race-{n}-value");
        tasks.push(tokio::spawn(async move {
            registry.register(&subject, &shared).await.id()
        }));
    }
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.insert(task.await?);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids.first().copied().unwrap_or_default();
    let versions = registry
        .get(&format!("/schemas/ids/{id}/versions"))
        .await
        .body;
    assert_eq!(versions.as_array().map(Vec::len), Some(8), "{versions}");

    let registry = std::sync::Arc::into_inner(registry).expect("tasks are done");
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn canonical_subjects_are_seeded_with_full_transitive() -> anyhow::Result<()> {
    let registry = Registry::start(true).await?;
    let subjects = registry.get("/subjects").await.body;
    let expected: Vec<&str> = hub_schemas::CANONICAL.iter().map(|c| c.subject).collect();
    assert_eq!(expected.len(), 10);
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    assert_eq!(subjects, json!(sorted));
    for contract in hub_schemas::CANONICAL {
        let level = registry
            .get(&format!("/config/{}", contract.subject))
            .await
            .body;
        assert_eq!(
            level,
            json!({ "compatibilityLevel": "FULL_TRANSITIVE" }),
            "{}",
            contract.subject
        );
        let latest = registry
            .get(&format!("/subjects/{}/versions/latest", contract.subject))
            .await;
        assert_eq!(latest.body["version"], 1);
        let text = latest.body["schema"].as_str().unwrap_or_default();
        assert_eq!(
            json_of(text),
            json_of(contract.schema),
            "{}",
            contract.subject
        );
    }
    // A breaking change to a canonical subject is refused.
    let person = hub_schemas::CANONICAL
        .iter()
        .find(|c| c.entity == "person")
        .expect("person");
    let breaking = record("Person", r#"{"name":"event_id","type":"long"}"#);
    registry
        .register(person.subject, &breaking)
        .await
        .assert_error(409, 409);
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_restart_on_the_same_database_keeps_ids() -> anyhow::Result<()> {
    let registry = Registry::start(true).await?;
    let canonical_ids = latest_ids(&registry).await;
    let custom = record("Kept", r#"{"name":"a","type":"int"}"#);
    let custom_id = registry.register("kept-value", &custom).await.id();
    registry.set_level("kept-value", "NONE").await;
    let db = registry.stop().await?;

    // Seeding again is idempotent: same ids, no new versions.
    let registry = Registry::start_on(db, true).await?;
    assert_eq!(latest_ids(&registry).await, canonical_ids);
    for contract in hub_schemas::CANONICAL {
        let versions = registry
            .get(&format!("/subjects/{}/versions", contract.subject))
            .await;
        assert_eq!(versions.body, json!([1]), "{}", contract.subject);
    }
    assert_eq!(
        registry.register("kept-value", &custom).await.id(),
        custom_id
    );
    assert_eq!(
        registry
            .get(&format!("/schemas/ids/{custom_id}"))
            .await
            .status,
        200
    );
    let level = registry.get("/config/kept-value").await.body;
    assert_eq!(level, json!({ "compatibilityLevel": "NONE" }));
    let newer = registry
        .register("new-value", &record("New", r#"{"name":"n","type":"int"}"#))
        .await;
    assert!(newer.id() > custom_id);
    registry.stop().await?;
    Ok(())
}

async fn latest_ids(registry: &Registry) -> Vec<Value> {
    let mut ids = Vec::new();
    for contract in hub_schemas::CANONICAL {
        let path = format!("/subjects/{}/versions/latest", contract.subject);
        ids.push(registry.get(&path).await.body["id"].clone());
    }
    ids
}

#[tokio::test]
async fn a_missing_database_is_created() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let name = db.url().rsplit('/').next().unwrap_or_default().to_owned();
    let mut admin = PgConnection::connect(&hub_test_utils::admin_database_url()).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\"")))
        .await?;
    admin.close().await?;

    let registry = Registry::start_on(db, false).await?;
    assert_eq!(
        registry.register("fresh-value", r#""string""#).await.status,
        200
    );
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn metrics_use_route_templates_and_health_is_served() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    registry
        .register(
            "secret-subject-value",
            &record("M", r#"{"name":"a","type":"int"}"#),
        )
        .await
        .id();
    registry
        .get("/subjects/secret-subject-value/versions/9")
        .await
        .assert_error(404, 40402);
    registry.get("/no/such/route").await.assert_error(404, 404);

    let get = |path: &str| {
        registry
            .client
            .get(format!("{}{path}", registry.base))
            .send()
    };
    assert_eq!(get("/healthz").await?.status(), 200);
    assert_eq!(get("/readyz").await?.status(), 200);
    let metrics = get("/metrics").await?.text().await?;
    let counted = |route: &str, status: u16| {
        metrics.lines().any(|line| {
            line.starts_with("hub_registry_requests_total{")
                && line.contains(&format!("route=\"{route}\""))
                && line.contains(&format!("status=\"{status}\""))
                && line.contains("service=\"schema-registry\"")
                && line.ends_with(" 1")
        })
    };
    assert!(counted("/subjects/{subject}/versions", 200), "{metrics}");
    assert!(
        counted("/subjects/{subject}/versions/{version}", 404),
        "{metrics}"
    );
    assert!(counted("unmatched", 404), "{metrics}");
    assert!(
        metrics.contains("hub_registry_schemas{service=\"schema-registry\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("secret-subject"),
        "raw paths leaked into labels"
    );
    registry.stop().await?;
    Ok(())
}
