//! The query API against a real PostgreSQL: authentication, roles, the clinician's facility
//! rule, purposes, audit rows and the append-only audit table, masking, keyset pagination,
//! merges resolved at read time, the OpenAPI document and FHIR. Data is written with the sink's
//! own batch writer (the sink itself is tested in `sink.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod common;

use common::*;
use hub_schemas::AnyEvent;
use record::sink::write::Batch;
use reqwest::StatusCode;

use common::fixture::api;

#[tokio::test]
async fn tokens_roles_facilities_and_purposes() {
    let api = api().await;
    let p = format!("/persons/{}", api.person);
    assert_eq!(
        api.get(&p, None, Some("treatment")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = api.get(&p, Some("wrong"), Some("treatment")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(
        api.get(&p, Some("analyst-token"), Some("treatment"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.get(&p, Some("auditor-token"), Some("audit")).await.0,
        StatusCode::FORBIDDEN
    );
    let other = format!("clinician-{}", api.other);
    assert_eq!(
        api.get(&p, Some(&other), Some("treatment")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = api.get(&p, Some(&api.clinician()), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        api.get(&p, Some(&api.clinician()), Some("gossip")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.get(&p, Some(&api.clinician()), Some("treatment"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/persons/nobody", Some("admin-token"), Some("audit"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/stats", Some("analyst-token"), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/stats", Some(&api.clinician()), None).await.0,
        StatusCode::FORBIDDEN
    );

    // A referral to the other facility opens the record to its clinicians.
    let mut batch = Batch::default();
    batch.push(AnyEvent::Referral(referral(
        &format!("{}-ref", api.person),
        &api.person,
        &api.home,
        &api.other,
        T0,
    )));
    batch.write(&api.pool).await.unwrap();
    assert_eq!(
        api.get(&p, Some(&other), Some("referral")).await.0,
        StatusCode::OK
    );
    let (status, body) = api
        .get(&format!("{p}/referrals"), Some(&other), Some("referral"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["referrals"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_read_is_audited_and_the_audit_table_is_append_only() {
    let api = api().await;
    let c = api.clinician();
    let reads = [
        format!("/persons/{}", api.person),
        format!("/persons/{}/timeline", api.person),
        format!("/persons/{}/labs?code=GLU", api.person),
        format!("/persons/{}/imaging", api.person),
        format!("/persons/{}/settlements", api.person),
        format!("/persons/{}/referrals", api.person),
        format!("/fhir/Patient/{}", api.person),
        format!("/fhir/Patient/{}/$everything", api.person),
        "/persons?id_number=210102199003071234".to_owned(),
    ];
    for (i, path) in reads.iter().enumerate() {
        let (status, body) = api.get(path, Some(&c), Some("treatment")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(api.audit_rows().await, i as i64 + 1, "{path}");
    }
    // A refused clinician is audited as denied.
    let other = format!("clinician-{}", api.other);
    api.get(&reads[0], Some(&other), Some("treatment")).await;
    let (status, body) = api
        .get(
            &format!("/audit?person={}", api.person),
            Some("auditor-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), reads.len() + 1);
    assert_eq!(entries[0]["outcome"], "denied");
    assert_eq!(entries[1]["endpoint"], "search");
    assert_eq!(entries[1]["purpose"], "treatment");
    assert_eq!(entries[1]["role"], "clinician");

    for sql in [
        "UPDATE audit_log SET purpose = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&api.pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(api.audit_rows().await, reads.len() as i64 + 1);
}

#[tokio::test]
async fn identifiers_are_masked_except_for_admins() {
    let api = api().await;
    let p = format!("/persons/{}", api.person);
    let (_, body) = api.get(&p, Some(&api.clinician()), Some("treatment")).await;
    assert_eq!(body["demographics"]["id_number"], "210102********1234");
    assert_eq!(body["demographics"]["phone"], "138****5678");
    assert_eq!(body["identifiers"][0]["value"], "210102********1234");
    assert!(!body.to_string().contains("210102199003071234"));
    let (_, body) = api.get(&p, Some("admin-token"), Some("audit")).await;
    assert_eq!(body["demographics"]["id_number"], "210102199003071234");
    assert_eq!(body["demographics"]["phone"], "13856785678");
    let (_, body) = api
        .get(
            &format!("/fhir/Patient/{}", api.person),
            Some(&api.clinician()),
            Some("treatment"),
        )
        .await;
    assert_eq!(
        body["identifier"][0]["system"],
        "urn:oid:2.16.156.10011.1.3"
    );
    assert_eq!(body["identifier"][0]["value"], "210102********1234");
}

#[tokio::test]
async fn timeline_pages_by_event_time_with_a_cursor() {
    let api = api().await;
    let c = api.clinician();
    let base = format!("/persons/{}/timeline?type=lab&limit=3", api.person);
    let mut seen: Vec<String> = Vec::new();
    let mut path = base.clone();
    let mut pages = 0;
    loop {
        let (status, body) = api.get(&path, Some(&c), Some("treatment")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        for item in body["items"].as_array().unwrap() {
            seen.push(item["event_time"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no repeats");

    let (status, _) = api
        .get(&format!("{base}&cursor=zz"), Some(&c), Some("treatment"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .get(&format!("{base}&limit=0"), Some(&c), Some("treatment"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .get(
            &format!("/persons/{}/timeline?type=gossip", api.person),
            Some(&c),
            Some("treatment"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = api
        .get(
            &format!(
                "/persons/{}/timeline?from=2026-01-01T03:00:00Z&to=2026-01-01T05:00:00Z",
                api.person
            ),
            Some(&c),
            Some("treatment"),
        )
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = api
        .get(
            &format!("/persons/{}/labs?code=GLU", api.person),
            Some(&c),
            Some("treatment"),
        )
        .await;
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 7);
    assert_eq!(series[0]["value_text"], "11.0", "oldest first");
    let (status, _) = api
        .get(
            &format!("/persons/{}/labs", api.person),
            Some(&c),
            Some("treatment"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn undecodable_queries_unknown_routes_and_wrong_methods_get_json_errors() {
    let api = api().await;
    let c = api.clinician();
    // A filter that does not decode to a known value, and a path that does not percent-decode to
    // UTF-8 (rejected by axum's extractor, answered as JSON). Query strings decode lossily.
    for path in [
        format!("/persons/{}/timeline?type=%FF%FE", api.person),
        "/persons/%FF/labs?code=GLU".to_owned(),
    ] {
        let (status, body) = api.get(&path, Some(&c), Some("treatment")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(
            body["error"], "bad_request",
            "{path}: JSON, not text: {body}"
        );
    }
    let (status, body) = api.get("/no/such/route", Some(&c), Some("treatment")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found", "{body}");
    let response = api
        .client
        .post(format!("{}/persons", api.service.url))
        .bearer_auth(&c)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed", "{body}");
}

#[tokio::test]
async fn merges_show_one_person_with_both_histories() {
    let api = api().await;
    let old = unique("P-old-");
    let mut batch = Batch::default();
    batch.push(AnyEvent::LabResult(lab(
        &format!("{old}-a"),
        &old,
        &api.home,
        T0 - HOUR,
        "4.0",
    )));
    batch.push(AnyEvent::IdentityLink(merge(
        &format!("{old}-m"),
        &old,
        &api.person,
        T0 + 100 * HOUR,
    )));
    batch.write(&api.pool).await.unwrap();
    // A late event still carrying the merged-away id.
    let mut late = Batch::default();
    late.push(AnyEvent::LabResult(lab(
        &format!("{old}-late"),
        &old,
        &api.home,
        T0 - 2 * HOUR,
        "3.0",
    )));
    late.write(&api.pool).await.unwrap();

    let (status, body) = api
        .get(
            &format!("/persons/{old}"),
            Some("admin-token"),
            Some("audit"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["person_id"], api.person.as_str());
    assert_eq!(body["merged_ids"][0], old.as_str());
    let (_, body) = api
        .get(
            &format!("/persons/{}/labs?code=GLU", api.person),
            Some("admin-token"),
            Some("audit"),
        )
        .await;
    let values: Vec<&str> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value_text"].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 9);
    assert_eq!(&values[..2], &["3.0", "4.0"], "{values:?}");
}

#[tokio::test]
async fn openapi_documents_every_route_and_every_route_answers() {
    let api = api().await;
    let (status, doc) = api.get("/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path) in record::api::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
        let concrete = path.replace("{id}", &api.person);
        let (status, _) = api.get(&concrete, None, None).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{path} not routed");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    }
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        record::api::ROUTES.len()
    );
    let (status, bundle) = api
        .get(
            &format!("/fhir/Patient/{}/$everything", api.person),
            Some("admin-token"),
            Some("audit"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["resourceType"], "Bundle");
    let kinds: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Observation").count(), 7);
    assert!(kinds.contains(&"Patient") && kinds.contains(&"Encounter"));
}
