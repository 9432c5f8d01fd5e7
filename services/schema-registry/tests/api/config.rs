//! Global and subject-level compatibility configuration.

use serde_json::json;

use crate::support::Registry;

#[tokio::test]
async fn global_and_subject_levels() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    assert_eq!(
        registry.get("/config").await.body,
        json!({ "compatibilityLevel": "BACKWARD" })
    );
    let put = registry
        .put("/config", &json!({ "compatibility": "FULL" }))
        .await;
    assert_eq!(
        (put.status, put.body),
        (200, json!({ "compatibility": "FULL" }))
    );
    assert_eq!(
        registry.get("/config").await.body,
        json!({ "compatibilityLevel": "FULL" })
    );

    // A subject without its own level.
    registry
        .get("/config/s-value")
        .await
        .assert_error(404, 40408);
    let fallback = registry.get("/config/s-value?defaultToGlobal=true").await;
    assert_eq!(fallback.body, json!({ "compatibilityLevel": "FULL" }));
    registry
        .delete("/config/s-value")
        .await
        .assert_error(404, 40408);

    // Its own level, set before the subject has any version; names are case-insensitive.
    let put = registry
        .put(
            "/config/s-value",
            &json!({ "compatibility": "backward_transitive" }),
        )
        .await;
    assert_eq!(put.body, json!({ "compatibility": "BACKWARD_TRANSITIVE" }));
    let own = registry.get("/config/s-value").await;
    assert_eq!(
        own.body,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );
    let removed = registry.delete("/config/s-value").await;
    assert_eq!(
        removed.body,
        json!({ "compatibilityLevel": "BACKWARD_TRANSITIVE" })
    );
    registry
        .get("/config/s-value")
        .await
        .assert_error(404, 40408);

    // Invalid levels, in any shape.
    for body in [
        json!({ "compatibility": "SIDEWAYS" }),
        json!({ "compatibility": 3 }),
        json!({ "compatibility": null }),
        json!({}),
    ] {
        registry
            .put("/config", &body)
            .await
            .assert_error(422, 42203);
        registry
            .put("/config/s-value", &body)
            .await
            .assert_error(422, 42203);
    }

    for level in [
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL_TRANSITIVE",
    ] {
        let put = registry
            .put("/config/s-value", &json!({ "compatibility": level }))
            .await;
        assert_eq!(put.body, json!({ "compatibility": level }));
    }

    // Resetting the global level answers the old one and restores the default.
    assert_eq!(
        registry.delete("/config").await.body,
        json!({ "compatibilityLevel": "FULL" })
    );
    assert_eq!(
        registry.get("/config").await.body,
        json!({ "compatibilityLevel": "BACKWARD" })
    );
    registry.stop().await?;
    Ok(())
}
