//! Registering, reading back by version and id, and looking schemas up.

use serde_json::{Value, json};

use crate::support::{Registry, json_of, record};

const A_INT: &str = r#"{"name":"a","type":"int"}"#;
const B_DEFAULT: &str = r#"{"name":"b","type":"string","default":"x"}"#;

#[tokio::test]
async fn registration_is_idempotent_and_readable_by_version_and_id() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("User", A_INT);
    let id1 = registry.register("users-value", &v1).await.id();

    // The same schema again, formatted differently: same id, no new version.
    let reformatted = serde_json::to_string_pretty(&json_of(&v1))?;
    assert_eq!(
        registry.register("users-value", &reformatted).await.id(),
        id1
    );
    assert_eq!(registry.register("users-value", &v1).await.id(), id1);
    assert_eq!(
        registry.get("/subjects/users-value/versions").await.body,
        json!([1])
    );

    let v2 = record("User", &format!("{A_INT},{B_DEFAULT}"));
    let id2 = registry.register("users-value", &v2).await.id();
    assert_ne!(id1, id2);
    assert_eq!(
        registry.get("/subjects/users-value/versions").await.body,
        json!([1, 2])
    );
    assert_eq!(registry.get("/subjects").await.body, json!(["users-value"]));

    let first = registry.get("/subjects/users-value/versions/1").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["subject"], "users-value");
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.body["id"], id1);
    assert_eq!(
        json_of(first.body["schema"].as_str().unwrap_or_default()),
        json_of(&v1)
    );
    assert!(
        first.body.get("schemaType").is_none(),
        "AVRO is implied: {first:?}"
    );
    for latest in ["latest", "-1"] {
        let reply = registry
            .get(&format!("/subjects/users-value/versions/{latest}"))
            .await;
        assert_eq!(
            (reply.body["version"].clone(), reply.body["id"].clone()),
            (json!(2), json!(id2))
        );
    }
    let raw = registry
        .get("/subjects/users-value/versions/2/schema")
        .await;
    assert_eq!(raw.body, json_of(&v2));

    let by_id = registry.get(&format!("/schemas/ids/{id1}")).await;
    assert_eq!(
        json_of(by_id.body["schema"].as_str().unwrap_or_default()),
        json_of(&v1)
    );
    assert_eq!(
        registry
            .get(&format!("/schemas/ids/{id2}/schema"))
            .await
            .body,
        json_of(&v2)
    );
    assert_eq!(
        registry
            .get(&format!("/schemas/ids/{id2}/versions"))
            .await
            .body,
        json!([{ "subject": "users-value", "version": 2 }])
    );
    assert_eq!(registry.get("/schemas/types").await.body, json!(["AVRO"]));
    assert_eq!(registry.get("/").await.body, json!({}));
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_same_schema_in_two_subjects_has_one_id() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let schema = record("Shared", A_INT);
    let other = record("Other", A_INT);
    registry.set_level("first-value", "NONE").await;
    assert_eq!(registry.register("first-value", &other).await.status, 200);
    let id = registry.register("first-value", &schema).await;
    let again = registry.register("second-value", &schema).await;
    assert_eq!(id.id(), again.id());
    assert_eq!(
        registry.get("/subjects/second-value/versions").await.body,
        json!([1])
    );
    let versions = registry
        .get(&format!("/schemas/ids/{}/versions", id.id()))
        .await
        .body;
    assert_eq!(
        versions,
        json!([{ "subject": "first-value", "version": 2 }, { "subject": "second-value", "version": 1 }])
    );
    let subjects = registry
        .get(&format!("/schemas/ids/{}/subjects", id.id()))
        .await
        .body;
    assert_eq!(subjects, json!(["first-value", "second-value"]));
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn lookup_finds_the_version_holding_a_schema() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("Item", A_INT);
    let v2 = record("Item", &format!("{A_INT},{B_DEFAULT}"));
    let id1 = registry.register("items-value", &v1).await.id();
    registry.register("items-value", &v2).await.id();

    let found = registry
        .post("/subjects/items-value", &json!({ "schema": v1 }))
        .await;
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.body["id"], id1);
    assert_eq!(found.body["version"], 1);
    assert_eq!(found.body["subject"], "items-value");
    assert_eq!(
        json_of(found.body["schema"].as_str().unwrap_or_default()),
        json_of(&v1)
    );

    let unknown = record("Item", r#"{"name":"z","type":"long"}"#);
    registry
        .post("/subjects/items-value", &json!({ "schema": unknown }))
        .await
        .assert_error(404, 40403);
    registry
        .post("/subjects/nobody-value", &json!({ "schema": v1 }))
        .await
        .assert_error(404, 40401);
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn confluent_clients_media_types_are_accepted() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let body = json!({ "schema": record("Media", A_INT), "schemaType": "AVRO", "references": [] });
    let mut ids = Vec::new();
    for media in [
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
        "application/json; charset=utf-8",
        "application/octet-stream",
    ] {
        let request = registry
            .client
            .post(format!("{}/subjects/media-value/versions", registry.base))
            .header("content-type", media)
            .header("accept", "application/vnd.schemaregistry.v1+json")
            .body(body.to_string());
        ids.push(registry.send(request).await.id());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    // Primitive schemas are schemas too.
    let primitive = registry.register("key-value", r#""string""#).await;
    assert_eq!(primitive.status, 200, "{primitive:?}");
    let value: Value = registry
        .get("/subjects/key-value/versions/1/schema")
        .await
        .body;
    assert_eq!(value, json!("string"));
    registry.stop().await?;
    Ok(())
}
