//! The EMPI against a real PostgreSQL database (a fresh one per test).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use chrono::NaiveDate;
use hub_empi::{Action, Empi, Method};
use hub_identity::{PatientRef, Pseudonymizer};
use hub_test_utils::TestDatabase;

async fn empi() -> (TestDatabase, Empi) {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool().await.unwrap();
    Empi::migrate(&pool).await.unwrap();
    (
        db,
        Empi::new(pool, Pseudonymizer::new(b"test-key".to_vec())),
    )
}

fn zhang() -> PatientRef {
    PatientRef {
        facility_code: "H21028100001".into(),
        mrn: Some("MRN-1".into()),
        id_number: Some("230127197908177456".into()),
        name: Some("张伟".into()),
        birth_date: NaiveDate::from_ymd_opt(1979, 8, 17),
        sex_code: Some("1".into()),
        phone: Some("13800138000".into()),
        ..PatientRef::default()
    }
}

#[tokio::test]
async fn a_valid_id_number_links_across_facilities() {
    let (_db, empi) = empi().await;
    let first = empi.resolve(&zhang(), "H1:M1").await.unwrap();
    assert_eq!(first.decisions[0].action, Action::NewPerson);

    let at_township = PatientRef {
        facility_code: "H21028100002".into(),
        mrn: Some("T-77".into()),
        id_number: Some("230127197908177456".into()),
        ..PatientRef::default()
    };
    let second = empi.resolve(&at_township, "H2:M9").await.unwrap();
    assert_eq!(second.person_id, first.person_id);
    assert_eq!(
        (second.decisions[0].action, second.decisions[0].method),
        (Action::Link, Method::IdNumber)
    );

    // The township's MRN is now known: a later message with only that MRN finds the person.
    let mrn_only = PatientRef {
        mrn: Some("T-77".into()),
        ..at_township
    };
    let third = empi
        .resolve(
            &PatientRef {
                id_number: None,
                ..mrn_only
            },
            "H2:M10",
        )
        .await
        .unwrap();
    assert_eq!(third.person_id, first.person_id);
    assert_eq!(third.decisions[0].method, Method::FacilityMrn);
}

#[tokio::test]
async fn a_typo_in_the_id_number_is_ignored_not_matched() {
    let (_db, empi) = empi().await;
    let original = empi.resolve(&zhang(), "H1:M1").await.unwrap();
    // One digit wrong: the check character no longer fits. The MRN still finds the person, and
    // the bad number is attached to nobody.
    let typo = PatientRef {
        id_number: Some("230127197908177457".into()),
        ..zhang()
    };
    let again = empi.resolve(&typo, "H1:M2").await.unwrap();
    assert_eq!(again.person_id, original.person_id);
    assert_eq!(again.decisions[0].method, Method::FacilityMrn);
    assert_eq!(
        again.decisions[0].reason.as_deref(),
        Some("invalid resident ID number ignored")
    );
}

#[tokio::test]
async fn a_newborn_without_an_id_number_is_found_by_the_hospital_mrn() {
    let (_db, empi) = empi().await;
    let newborn = PatientRef {
        facility_code: "H21028100001".into(),
        mrn: Some("NB-2026-001".into()),
        name: Some("张伟之女".into()),
        birth_date: NaiveDate::from_ymd_opt(2026, 11, 20),
        sex_code: Some("2".into()),
        ..PatientRef::default()
    };
    let born = empi.resolve(&newborn, "H1:ADT1").await.unwrap();
    let later = empi.resolve(&newborn, "H1:ORU1").await.unwrap();
    assert_eq!(later.person_id, born.person_id);
    assert_eq!(later.decisions[0].method, Method::FacilityMrn);
    // Months later the ID number is issued and arrives with the same MRN: it is attached.
    let with_id = PatientRef {
        id_number: Some("110101202311012176".into()),
        ..newborn.clone()
    };
    assert_eq!(
        empi.resolve(&with_id, "H1:A08").await.unwrap().person_id,
        born.person_id
    );
}

#[tokio::test]
async fn same_name_and_birth_date_is_a_review_not_a_link() {
    let (_db, empi) = empi().await;
    let first = empi.resolve(&zhang(), "H1:M1").await.unwrap();
    // Another 张伟 born the same day, at a village clinic, no ID number, different phone.
    let namesake = PatientRef {
        facility_code: "H21028100009".into(),
        mrn: Some("V-5".into()),
        name: Some("张伟".into()),
        birth_date: NaiveDate::from_ymd_opt(1979, 8, 17),
        sex_code: Some("1".into()),
        phone: Some("13900000000".into()),
        ..PatientRef::default()
    };
    let second = empi.resolve(&namesake, "H9:M1").await.unwrap();
    assert_ne!(
        second.person_id, first.person_id,
        "a provisional person, not a link"
    );
    let review = second
        .decisions
        .iter()
        .find(|d| d.action == Action::ReviewQueued)
        .expect("review");
    assert_eq!(
        review.candidate_person_id.as_deref(),
        Some(first.person_id.as_str())
    );
    assert_eq!(empi.open_reviews().await.unwrap().len(), 1);

    // The reviewer says: same person. The provisional person is merged into the candidate, and
    // the village MRN now finds the surviving person.
    let review_id = review.review_id.clone().unwrap();
    let outcome = empi
        .decide_review(&review_id, true, "reviewer-7")
        .await
        .unwrap();
    assert_eq!(outcome.decisions[0].action, Action::Merge);
    assert_eq!(
        empi.resolve(&namesake, "H9:M2").await.unwrap().person_id,
        first.person_id
    );
    assert!(
        empi.decide_review(&review_id, true, "reviewer-7")
            .await
            .is_err(),
        "decided once"
    );
}

#[tokio::test]
async fn name_birth_date_and_phone_link_without_an_identifier() {
    let (_db, empi) = empi().await;
    let first = empi.resolve(&zhang(), "H1:M1").await.unwrap();
    let same = PatientRef {
        facility_code: "H21028100003".into(),
        mrn: Some("X-1".into()),
        name: Some("张 伟".into()),
        birth_date: NaiveDate::from_ymd_opt(1979, 8, 17),
        phone: Some("138-0013-8000".into()),
        ..PatientRef::default()
    };
    let linked = empi.resolve(&same, "H3:M1").await.unwrap();
    assert_eq!(linked.person_id, first.person_id);
    assert_eq!(linked.decisions[0].method, Method::Probabilistic);
}

#[tokio::test]
async fn an_hl7_merge_re_keys_the_merged_record() {
    let (_db, empi) = empi().await;
    let survivor = empi.resolve(&zhang(), "H1:M1").await.unwrap();
    let duplicate = PatientRef {
        facility_code: "H21028100001".into(),
        mrn: Some("MRN-DUP".into()),
        name: Some("张伟".into()),
        ..PatientRef::default()
    };
    let dup = empi.resolve(&duplicate, "H1:M2").await.unwrap();
    assert_ne!(dup.person_id, survivor.person_id);

    let merged = empi.merge(&zhang(), &duplicate, "H1:A40").await.unwrap();
    let merge = merged
        .decisions
        .iter()
        .find(|d| d.action == Action::Merge)
        .expect("merge");
    assert_eq!(
        merge.previous_person_id.as_deref(),
        Some(dup.person_id.as_str())
    );
    assert_eq!(
        merge.surviving_person_id.as_deref(),
        Some(survivor.person_id.as_str())
    );
    assert_eq!(
        empi.resolve(&duplicate, "H1:M3").await.unwrap().person_id,
        survivor.person_id
    );
}

#[tokio::test]
async fn concurrent_messages_about_one_new_person_create_one_person() {
    let (_db, empi) = empi().await;
    let empi = std::sync::Arc::new(empi);
    let tasks = (0..8).map(|i| {
        let empi = empi.clone();
        tokio::spawn(async move { empi.resolve(&zhang(), &format!("H1:M{i}")).await.unwrap() })
    });
    let results = futures::future::join_all(tasks).await;
    let ids: std::collections::BTreeSet<String> =
        results.into_iter().map(|r| r.unwrap().person_id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn person_ids_are_deterministic_so_a_fresh_replay_converges() {
    let (_db1, first) = empi().await;
    let (_db2, second) = empi().await;
    let a = first.resolve(&zhang(), "H1:M1").await.unwrap();
    let b = second.resolve(&zhang(), "H1:M1").await.unwrap();
    assert_eq!(a.person_id, b.person_id);
}

#[tokio::test]
async fn a_patient_with_nothing_to_go_by_is_refused() {
    let (_db, empi) = empi().await;
    let nobody = PatientRef {
        facility_code: "H1".into(),
        ..PatientRef::default()
    };
    let err = empi.resolve(&nobody, "H1:M1").await.unwrap_err();
    assert!(err.is_bad_data());
}
