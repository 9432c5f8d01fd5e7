//! Compatibility levels enforced on registration, and the compatibility endpoints.

use serde_json::json;

use crate::support::{Registry, record};

const A_INT: &str = r#"{"name":"a","type":"int"}"#;
const A_INT_DEFAULT: &str = r#"{"name":"a","type":"int","default":0}"#;
const A_STRING: &str = r#"{"name":"a","type":"string"}"#;
const B_DEFAULT: &str = r#"{"name":"b","type":"string","default":""}"#;
const B_REQUIRED: &str = r#"{"name":"b","type":"string"}"#;
const C_REQUIRED: &str = r#"{"name":"c","type":"long"}"#;

#[tokio::test]
async fn backward_accepts_new_fields_with_defaults_and_rejects_breaking_changes()
-> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    registry
        .register("orders-value", &record("Order", A_INT))
        .await
        .id();
    let with_default = record("Order", &format!("{A_INT},{B_DEFAULT}"));
    registry.register("orders-value", &with_default).await.id();

    // A new field without a default: the new schema cannot read old data.
    let required = record("Order", &format!("{A_INT},{B_DEFAULT},{C_REQUIRED}"));
    let required = registry.register("orders-value", &required).await;
    required.assert_error(409, 409);
    let message = required.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Schema being registered is incompatible with an earlier schema"),
        "{message}"
    );
    // A changed type.
    let retyped = record("Order", &format!("{A_STRING},{B_DEFAULT}"));
    registry
        .register("orders-value", &retyped)
        .await
        .assert_error(409, 409);
    // A renamed record.
    let renamed = record("Purchase", &format!("{A_INT},{B_DEFAULT}"));
    registry
        .register("orders-value", &renamed)
        .await
        .assert_error(409, 409);

    assert_eq!(
        registry.get("/subjects/orders-value/versions").await.body,
        json!([1, 2])
    );
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn full_transitive_checks_every_version_but_full_only_the_latest() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("Reading", A_INT);
    let v2 = record("Reading", A_INT_DEFAULT);
    // Compatible with v2 both ways (v2's `a` has a default), but v1 cannot read data without `a`.
    let v3 = record("Reading", B_DEFAULT);

    registry
        .set_level("transitive-value", "FULL_TRANSITIVE")
        .await;
    registry.set_level("latest-only-value", "FULL").await;
    for subject in ["transitive-value", "latest-only-value"] {
        registry.register(subject, &v1).await.id();
        registry.register(subject, &v2).await.id();
    }
    registry
        .register("transitive-value", &v3)
        .await
        .assert_error(409, 409);
    assert_eq!(
        registry.register("latest-only-value", &v3).await.status,
        200
    );
    assert_eq!(
        registry
            .get("/subjects/transitive-value/versions")
            .await
            .body,
        json!([1, 2])
    );
    assert_eq!(
        registry
            .get("/subjects/latest-only-value/versions")
            .await
            .body,
        json!([1, 2, 3])
    );

    // The same answers from the compatibility endpoints, without registering.
    let body = json!({ "schema": v3 });
    let check = |path: String| {
        let (registry, body) = (&registry, &body);
        async move { registry.post(&path, body).await }
    };
    let base = "/compatibility/subjects/transitive-value/versions";
    assert_eq!(
        check(format!("{base}/latest")).await.body,
        json!({ "is_compatible": true })
    );
    assert_eq!(
        check(format!("{base}/2")).await.body,
        json!({ "is_compatible": true })
    );
    assert_eq!(
        check(format!("{base}/1")).await.body,
        json!({ "is_compatible": false })
    );
    assert_eq!(
        check(base.to_owned()).await.body,
        json!({ "is_compatible": false })
    );
    let verbose = check(format!("{base}?verbose=true")).await.body;
    assert_eq!(verbose["is_compatible"], false);
    let messages = verbose["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1, "{verbose}");
    assert!(
        messages[0]
            .as_str()
            .unwrap_or_default()
            .contains("version 1"),
        "{verbose}"
    );
    // A subject without versions accepts anything.
    let fresh = check("/compatibility/subjects/fresh-value/versions".to_owned()).await;
    assert_eq!(fresh.body, json!({ "is_compatible": true }));
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn compatibility_endpoint_errors() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("Thing", A_INT);
    registry.register("things-value", &v1).await.id();
    let body = json!({ "schema": v1 });
    let base = "/compatibility/subjects";
    registry
        .post(&format!("{base}/nobody-value/versions/1"), &body)
        .await
        .assert_error(404, 40401);
    registry
        .post(&format!("{base}/nobody-value/versions/latest"), &body)
        .await
        .assert_error(404, 40401);
    registry
        .post(&format!("{base}/things-value/versions/7"), &body)
        .await
        .assert_error(404, 40402);
    registry
        .post(&format!("{base}/things-value/versions/one"), &body)
        .await
        .assert_error(422, 42202);
    let invalid = json!({ "schema": "{\"type\":\"record\",\"name\":\"T\"}" });
    registry
        .post(&format!("{base}/things-value/versions/1"), &invalid)
        .await
        .assert_error(422, 42201);
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn level_none_and_forward_follow_their_rules() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    registry.set_level("free-value", "NONE").await;
    registry
        .register("free-value", &record("Free", A_INT))
        .await
        .id();
    assert_eq!(
        registry
            .register("free-value", &record("Free", A_STRING))
            .await
            .status,
        200
    );

    registry.set_level("fwd-value", "FORWARD").await;
    registry
        .register("fwd-value", &record("Fwd", A_INT))
        .await
        .id();
    // Adding a required field is forward compatible (old readers ignore it)...
    let added = record("Fwd", &format!("{A_INT},{B_REQUIRED}"));
    assert_eq!(registry.register("fwd-value", &added).await.status, 200);
    // ...removing a field old readers need without a default is not.
    registry
        .register("fwd-value", &record("Fwd", B_REQUIRED))
        .await
        .assert_error(409, 409);
    registry.stop().await?;
    Ok(())
}
