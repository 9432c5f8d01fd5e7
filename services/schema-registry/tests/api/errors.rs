//! Bad input of every kind gets a Confluent error body, never a 5xx or a plain-text rejection.

use reqwest::Method;
use serde_json::json;

use crate::support::{Registry, record};

const A_INT: &str = r#"{"name":"a","type":"int"}"#;

#[tokio::test]
async fn malformed_requests_get_confluent_errors() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let url = format!("{}/subjects/bad-value/versions", registry.base);
    let raw = |body: &'static str, media: &'static str| {
        registry
            .client
            .post(&url)
            .header("content-type", media)
            .body(body)
    };
    let vnd = "application/vnd.schemaregistry.v1+json";
    registry
        .send(raw("{not json", vnd))
        .await
        .assert_error(422, 422);
    registry.send(raw("", vnd)).await.assert_error(422, 422);
    registry
        .send(raw(r#"{"schemaType":"AVRO"}"#, vnd))
        .await
        .assert_error(422, 422);
    registry
        .send(raw(r#"{"schema": 5}"#, vnd))
        .await
        .assert_error(422, 422);
    registry
        .send(raw(r#""text""#, "application/json"))
        .await
        .assert_error(422, 422);
    registry
        .send(raw(r#"{"schema":"\"int\""}"#, "text/plain"))
        .await
        .assert_error(415, 415);
    let huge = "x".repeat(3 * 1024 * 1024);
    let too_large = registry
        .client
        .post(&url)
        .header("content-type", vnd)
        .body(huge);
    registry.send(too_large).await.assert_error(413, 413);

    // Unknown routes and methods.
    registry.get("/nope").await.assert_error(404, 404);
    registry
        .get("/subjects/a/b/c/d")
        .await
        .assert_error(404, 404);
    registry
        .call(Method::PATCH, "/subjects", None)
        .await
        .assert_error(405, 405);
    // Subjects that cannot be stored.
    registry
        .register("bad%00subject", &record("R", A_INT))
        .await
        .assert_error(422, 42208);
    registry
        .register("bad%0Asubject", &record("R", A_INT))
        .await
        .assert_error(422, 42208);
    let long = "s".repeat(2000);
    registry
        .get(&format!("/subjects/{long}/versions"))
        .await
        .assert_error(422, 42208);
    // A path segment that is not UTF-8 once decoded.
    registry
        .get("/subjects/%FF/versions")
        .await
        .assert_error(404, 404);
    assert!(
        registry
            .get("/subjects?deleted=%FF&subjectPrefix=%")
            .await
            .status
            == 200
    );
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn invalid_schemas_are_rejected_with_42201() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let deep = format!("{}\"int\"{}", "[".repeat(5000), "]".repeat(5000));
    let invalid = [
        String::new(),
        "not json".to_owned(),
        "{}".to_owned(),
        r#"{"type":"record"}"#.to_owned(),
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"NoSuchType"}]}"#.to_owned(),
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#.to_owned(),
        r#"{"type":"fixed","name":"F","size":-1}"#.to_owned(),
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#
            .to_owned(),
        r#""int\u0000""#.to_owned(),
        "\"int\"\u{0}".to_owned(),
        deep,
    ];
    for schema in &invalid {
        let reply = registry.register("bad-value", schema).await;
        reply.assert_error(422, 42201);
        let lookup = registry
            .post("/subjects/bad-value", &json!({ "schema": schema }))
            .await;
        lookup.assert_error(422, 42201);
    }
    let unsupported = json!({ "schema": "{\"type\":\"object\"}", "schemaType": "JSON" });
    registry
        .post("/subjects/bad-value/versions", &unsupported)
        .await
        .assert_error(422, 42201);
    let protobuf = json!({ "schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF" });
    registry
        .post("/subjects/bad-value/versions", &protobuf)
        .await
        .assert_error(422, 42201);
    let references = json!({
        "schema": record("R", A_INT),
        "references": [{ "name": "x", "subject": "y", "version": 1 }]
    });
    registry
        .post("/subjects/bad-value/versions", &references)
        .await
        .assert_error(422, 42201);
    assert_eq!(registry.get("/subjects").await.body, json!([]));

    // Odd but valid schemas survive registration and evolution checks.
    let recursive = r#"{"type":"record","name":"Node","fields":[
        {"name":"next","type":["null","Node"],"default":null}]}"#;
    let id = registry.register("odd-value", recursive).await.id();
    assert_eq!(registry.register("odd-value", recursive).await.id(), id);
    let recursive2 = r#"{"type":"record","name":"Node","fields":[
        {"name":"next","type":["null","Node"],"default":null},
        {"name":"label","type":"string","default":""}]}"#;
    assert_eq!(registry.register("odd-value", recursive2).await.status, 200);
    // An escaped NUL in a doc is fine: the stored text keeps the escape.
    let nul_doc = r#"{"type":"string","doc":"nul \u0000 inside"}"#;
    assert_eq!(registry.register("doc-value", nul_doc).await.status, 200);
    let decimal = r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#;
    assert_eq!(
        registry.register("decimal-value", decimal).await.status,
        200
    );
    let bad_decimal = r#"{"type":"bytes","logicalType":"decimal","precision":0,"scale":9}"#;
    assert!(registry.register("decimal-value", bad_decimal).await.status < 500);
    registry.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_things_get_404_codes() -> anyhow::Result<()> {
    let registry = Registry::start(false).await?;
    let id = registry
        .register("known-value", &record("Known", A_INT))
        .await
        .id();

    registry
        .get("/subjects/nobody-value/versions")
        .await
        .assert_error(404, 40401);
    registry
        .get("/subjects/nobody-value/versions/1")
        .await
        .assert_error(404, 40401);
    registry
        .get("/subjects/nobody-value/versions/latest/schema")
        .await
        .assert_error(404, 40401);
    registry
        .get("/subjects/known-value/versions/2")
        .await
        .assert_error(404, 40402);
    registry
        .get("/subjects/known-value/versions/2/schema")
        .await
        .assert_error(404, 40402);
    for version in ["abc", "0", "-2", "1.5", "99999999999"] {
        let path = format!("/subjects/known-value/versions/{version}");
        registry.get(&path).await.assert_error(422, 42202);
    }
    let missing = id + 1000;
    registry
        .get(&format!("/schemas/ids/{missing}"))
        .await
        .assert_error(404, 40403);
    registry
        .get(&format!("/schemas/ids/{missing}/versions"))
        .await
        .assert_error(404, 40403);
    registry
        .get("/schemas/ids/abc")
        .await
        .assert_error(404, 40403);
    registry
        .get("/schemas/ids/-1")
        .await
        .assert_error(404, 40403);
    registry.stop().await?;
    Ok(())
}
