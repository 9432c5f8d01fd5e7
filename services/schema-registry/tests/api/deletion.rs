//! Soft and permanent deletion of versions and subjects.

use serde_json::json;

use crate::support::{Registry, record};

const A_INT: &str = r#"{"name":"a","type":"int"}"#;
const B_DEFAULT: &str = r#"{"name":"b","type":"string","default":""}"#;

#[tokio::test]
async fn versions_are_soft_deleted_then_permanently() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("Doc", A_INT);
    let v2 = record("Doc", &format!("{A_INT},{B_DEFAULT}"));
    let id1 = registry.register("docs-value", &v1).await.id();
    registry.register("docs-value", &v2).await.id();

    // A permanent delete needs a soft delete first.
    registry
        .delete("/subjects/docs-value/versions/1?permanent=true")
        .await
        .assert_error(404, 40407);
    assert_eq!(
        registry
            .delete("/subjects/docs-value/versions/1")
            .await
            .body,
        json!(1)
    );
    registry
        .delete("/subjects/docs-value/versions/1")
        .await
        .assert_error(404, 40406);

    // Soft-deleted versions are hidden unless asked for, but the id still resolves.
    assert_eq!(
        registry.get("/subjects/docs-value/versions").await.body,
        json!([2])
    );
    let all = registry
        .get("/subjects/docs-value/versions?deleted=true")
        .await;
    assert_eq!(all.body, json!([1, 2]));
    registry
        .get("/subjects/docs-value/versions/1")
        .await
        .assert_error(404, 40402);
    let hidden = registry
        .get("/subjects/docs-value/versions/1?deleted=true")
        .await;
    assert_eq!(hidden.body["id"], id1);
    assert_eq!(
        registry.get(&format!("/schemas/ids/{id1}")).await.status,
        200
    );
    assert_eq!(
        registry
            .get(&format!("/schemas/ids/{id1}/versions"))
            .await
            .body,
        json!([])
    );

    assert_eq!(
        registry
            .delete("/subjects/docs-value/versions/1?permanent=true")
            .await
            .body,
        json!(1)
    );
    registry
        .get("/subjects/docs-value/versions/1?deleted=true")
        .await
        .assert_error(404, 40402);
    registry
        .delete("/subjects/docs-value/versions/9")
        .await
        .assert_error(404, 40402);
    registry
        .delete("/subjects/nobody-value/versions/1")
        .await
        .assert_error(404, 40401);
    registry
        .delete("/subjects/docs-value/versions/zero")
        .await
        .assert_error(422, 42202);

    // Re-registering a deleted schema brings it back as a new version, with its old id.
    let revived = registry.register("docs-value", &v1).await.id();
    assert_eq!(revived, id1);
    assert_eq!(
        registry.get("/subjects/docs-value/versions").await.body,
        json!([2, 3])
    );
    assert_eq!(
        registry
            .delete("/subjects/docs-value/versions/latest")
            .await
            .body,
        json!(3)
    );
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn subjects_are_soft_deleted_then_permanently() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let v1 = record("Page", A_INT);
    let id1 = registry.register("pages-value", &v1).await.id();
    registry
        .register(
            "pages-value",
            &record("Page", &format!("{A_INT},{B_DEFAULT}")),
        )
        .await
        .id();
    registry.register("kept-value", &v1).await.id();
    registry.set_level("pages-value", "FORWARD").await;

    registry
        .delete("/subjects/pages-value?permanent=true")
        .await
        .assert_error(404, 40405);
    assert_eq!(
        registry.delete("/subjects/pages-value").await.body,
        json!([1, 2])
    );
    registry
        .delete("/subjects/pages-value")
        .await
        .assert_error(404, 40404);
    assert_eq!(registry.get("/subjects").await.body, json!(["kept-value"]));
    let with_deleted = registry.get("/subjects?deleted=true").await.body;
    assert_eq!(with_deleted, json!(["kept-value", "pages-value"]));
    registry
        .get("/subjects/pages-value/versions")
        .await
        .assert_error(404, 40401);
    registry
        .get("/subjects/pages-value/versions/latest")
        .await
        .assert_error(404, 40401);

    // Soft-deleted versions take no part in compatibility: an incompatible schema is accepted.
    let retyped = record("Page", r#"{"name":"a","type":"string"}"#);
    registry.set_level("other-value", "BACKWARD").await;
    registry.register("other-value", &v1).await.id();
    registry.delete("/subjects/other-value").await;
    assert_eq!(registry.register("other-value", &retyped).await.status, 200);
    assert_eq!(
        registry.get("/subjects/other-value/versions").await.body,
        json!([2])
    );

    let gone = registry
        .delete("/subjects/pages-value?permanent=true")
        .await;
    assert_eq!(gone.body, json!([1, 2]));
    assert_eq!(
        registry.get("/subjects?deleted=true").await.body,
        json!(["kept-value", "other-value"])
    );
    registry
        .delete("/subjects/pages-value")
        .await
        .assert_error(404, 40401);
    registry
        .delete("/subjects/pages-value?permanent=true")
        .await
        .assert_error(404, 40401);
    // The subject's own level went with it; the schema id is still there.
    registry
        .get("/config/pages-value")
        .await
        .assert_error(404, 40408);
    assert_eq!(
        registry.get(&format!("/schemas/ids/{id1}")).await.status,
        200
    );
    // After a permanent delete the subject starts again at version 1, with the same id.
    assert_eq!(registry.register("pages-value", &v1).await.id(), id1);
    assert_eq!(
        registry.get("/subjects/pages-value/versions").await.body,
        json!([1])
    );
    registry.stop().await?;
    Ok(())
}
