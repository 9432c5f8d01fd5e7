//! The API tests' fixture: a record service with the sink off, a person with seven lab results
//! and an admission written through the sink's batch writer, and tokens of every role.

use hub_schemas::{AnyEvent, EncounterAction};
use hub_test_utils::TestDatabase;
use record::Settings;
use record::sink::write::Batch;
use reqwest::StatusCode;
use serde_json::Value;

use super::*;

pub struct Api {
    pub _db: TestDatabase,
    pub pool: sqlx::PgPool,
    pub service: Service,
    pub client: reqwest::Client,
    pub home: String,
    pub other: String,
    pub person: String,
}

impl Api {
    pub async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        purpose: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.service.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(purpose) = purpose {
            request = request.header("X-Purpose", purpose);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub fn clinician(&self) -> String {
        format!("clinician-{}", self.home)
    }

    pub async fn audit_rows(&self) -> i64 {
        scalar_i64(
            &self.pool,
            "SELECT count(*) FROM audit_log WHERE person_id = $1",
            &self.person,
        )
        .await
    }
}

pub async fn api() -> Api {
    let db = TestDatabase::create().await.unwrap();
    let home = unique("HOME");
    let other = unique("OTHR");
    let person = unique("P-");
    let settings = Settings {
        database_url: db.url().to_owned().into(),
        sink_enabled: false,
        tokens: tokens(&[&home, &other]),
        ..Settings::default()
    };
    let service = Service::start(settings).await;
    let pool = db.pool().await.unwrap();
    let mut batch = Batch::default();
    batch.push(AnyEvent::Person(super::person(
        &person,
        &home,
        "210102199003071234",
        "13856785678",
    )));
    for i in 0..7 {
        // Written in reverse time order: the timeline orders by event time, not arrival.
        let t = T0 + (7 - i) * HOUR;
        batch.push(AnyEvent::LabResult(lab(
            &format!("{person}-lab{i}"),
            &person,
            &home,
            t,
            &format!("{}.0", 5 + i),
        )));
    }
    batch.push(AnyEvent::Encounter(encounter(
        &format!("{person}-adm"),
        &person,
        &home,
        T0,
        EncounterAction::Admit,
    )));
    batch.deduped().write(&pool).await.unwrap();
    Api {
        _db: db,
        pool,
        service,
        client: reqwest::Client::new(),
        home,
        other,
        person,
    }
}
