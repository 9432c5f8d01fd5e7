//! Writing one batch in one transaction: an UNNEST upsert per entity, then the derived state
//! (current versions, cancellations, reversals, identifiers, merges) for the keys the batch
//! touched. Recomputing from the stored rows, rather than applying each event as a delta, is
//! what makes late and out-of-order events land right: the result depends on the set of events,
//! never on their arrival order.

use hub_schemas::{
    AnyEvent, ClinicalAlert, Diagnosis, Encounter, IdentityLink, IdentityLinkAction, ImagingReport,
    ImagingStudy, LabResult, Person, Referral, Settlement,
};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::keys::{Envelope, dedupe, ms};
use super::rows::{
    clinical_alerts, diagnoses, encounters, identity_links, imaging_reports, imaging_studies,
    lab_results, persons, referrals, settlements,
};

/// The events of one batch, by entity.
#[derive(Debug, Default)]
pub struct Batch {
    persons: Vec<Person>,
    encounters: Vec<Encounter>,
    diagnoses: Vec<Diagnosis>,
    lab_results: Vec<LabResult>,
    imaging_studies: Vec<ImagingStudy>,
    imaging_reports: Vec<ImagingReport>,
    settlements: Vec<Settlement>,
    referrals: Vec<Referral>,
    identity_links: Vec<IdentityLink>,
    clinical_alerts: Vec<ClinicalAlert>,
}

impl Batch {
    /// Adds a validated event.
    pub fn push(&mut self, event: AnyEvent) {
        match event {
            AnyEvent::Person(e) => self.persons.push(e),
            AnyEvent::Encounter(e) => self.encounters.push(e),
            AnyEvent::Diagnosis(e) => self.diagnoses.push(e),
            AnyEvent::LabResult(e) => self.lab_results.push(e),
            AnyEvent::ImagingStudy(e) => self.imaging_studies.push(e),
            AnyEvent::ImagingReport(e) => self.imaging_reports.push(e),
            AnyEvent::Settlement(e) => self.settlements.push(e),
            AnyEvent::Referral(e) => self.referrals.push(e),
            AnyEvent::IdentityLink(e) => self.identity_links.push(e),
            AnyEvent::ClinicalAlert(e) => self.clinical_alerts.push(e),
        }
    }

    /// One event per event id (see [`dedupe`]).
    pub fn deduped(self) -> Self {
        Self {
            persons: dedupe(self.persons),
            encounters: dedupe(self.encounters),
            diagnoses: dedupe(self.diagnoses),
            lab_results: dedupe(self.lab_results),
            imaging_studies: dedupe(self.imaging_studies),
            imaging_reports: dedupe(self.imaging_reports),
            settlements: dedupe(self.settlements),
            referrals: dedupe(self.referrals),
            identity_links: dedupe(self.identity_links),
            clinical_alerts: dedupe(self.clinical_alerts),
        }
    }

    /// Events per entity (entity name, count), for the written-events counter.
    pub fn counts(&self) -> [(&'static str, usize); 10] {
        [
            ("person", self.persons.len()),
            ("encounter", self.encounters.len()),
            ("diagnosis", self.diagnoses.len()),
            ("lab-result", self.lab_results.len()),
            ("imaging-study", self.imaging_studies.len()),
            ("imaging-report", self.imaging_reports.len()),
            ("settlement", self.settlements.len()),
            ("referral", self.referrals.len()),
            ("identity-link", self.identity_links.len()),
            ("clinical-alert", self.clinical_alerts.len()),
        ]
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| *n == 0)
    }

    /// Writes the batch in one transaction; nothing is visible unless all of it is.
    ///
    /// # Errors
    /// The database refused a statement or the commit; the transaction is rolled back.
    pub async fn write(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        self.write_in(&mut tx).await?;
        tx.commit().await
    }

    async fn write_in(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        persons(&self.persons).execute(conn).await?;
        identifiers(conn, &self.persons).await?;
        current(conn, "persons", &self.persons).await?;

        encounters(&self.encounters).execute(conn).await?;
        current(conn, "encounters", &self.encounters).await?;
        cancellations(conn, &self.encounters).await?;

        diagnoses(&self.diagnoses).execute(conn).await?;
        current(conn, "diagnoses", &self.diagnoses).await?;
        lab_results(&self.lab_results).execute(conn).await?;
        current(conn, "lab_results", &self.lab_results).await?;
        imaging_studies(&self.imaging_studies).execute(conn).await?;
        current(conn, "imaging_studies", &self.imaging_studies).await?;
        imaging_reports(&self.imaging_reports).execute(conn).await?;
        current(conn, "imaging_reports", &self.imaging_reports).await?;

        settlements(&self.settlements).execute(conn).await?;
        current(conn, "settlements", &self.settlements).await?;
        reversals(conn, &self.settlements).await?;

        referrals(&self.referrals).execute(conn).await?;
        current(conn, "referrals", &self.referrals).await?;
        identity_links(&self.identity_links).execute(conn).await?;
        current(conn, "identity_links", &self.identity_links).await?;
        aliases(conn, &self.identity_links).await?;
        clinical_alerts(&self.clinical_alerts).execute(conn).await?;
        current(conn, "clinical_alerts", &self.clinical_alerts).await?;
        Ok(())
    }
}

/// Marks the newest event of each natural key the batch touched as current, the others not.
async fn current<T: Envelope>(
    conn: &mut PgConnection,
    table: &'static str,
    rows: &[T],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<String> = rows.iter().map(Envelope::natural_key).collect();
    keys.sort_unstable();
    keys.dedup();
    // `table` is one of this module's constants.
    // Driven from the keys (one index probe each on `natural_key`, for the newest version and
    // for the rows to flip), so the cost follows the batch and never the table's size, whatever
    // the planner's statistics say (a DISTINCT ON over `natural_key = ANY($1)` was planned as
    // sequential scans of the whole table on a young table).
    let sql = format!(
        "UPDATE {table} x SET is_current = (x.event_id = w.event_id) \
         FROM (SELECT k.natural_key, (SELECT n.event_id FROM {table} n \
                 WHERE n.natural_key = k.natural_key \
                 ORDER BY n.event_time DESC, n.received_at DESC, n.event_id DESC LIMIT 1) AS event_id \
               FROM unnest($1::text[]) AS k(natural_key)) w \
         WHERE x.natural_key = w.natural_key AND x.is_current IS DISTINCT FROM (x.event_id = w.event_id)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(keys)
        .execute(conn)
        .await?;
    Ok(())
}

/// An encounter event is cancelled by a `CANCEL_<action>` event of the same visit that names it
/// (`cancels_event_id`) or, naming none, happened at or after it.
async fn cancellations(conn: &mut PgConnection, rows: &[Encounter]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = rows.iter().map(Envelope::natural_key).collect();
    sqlx::query(
        "UPDATE encounters e SET cancelled = f.flag FROM ( \
           SELECT v.event_id, EXISTS ( \
             SELECT 1 FROM encounters c WHERE c.facility_code = v.facility_code \
               AND c.encounter_id = v.encounter_id AND c.action = 'CANCEL_' || v.action \
               AND (c.cancels_event_id = v.event_id \
                    OR (c.cancels_event_id IS NULL AND c.event_time >= v.event_time))) AS flag \
           FROM encounters v WHERE v.natural_key = ANY($1)) f \
         WHERE e.event_id = f.event_id AND e.cancelled IS DISTINCT FROM f.flag",
    )
    .bind(keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// A settlement is reversed by the first REVERSAL or CANCELLATION naming its `setl_id`.
async fn reversals(conn: &mut PgConnection, rows: &[Settlement]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = rows
        .iter()
        .flat_map(|s| std::iter::once(s.setl_id.clone()).chain(s.reverses_setl_id.clone()))
        .collect();
    sqlx::query(
        "UPDATE settlements s SET reversed_by = r.by FROM ( \
           SELECT v.event_id, (SELECT x.setl_id FROM settlements x \
               WHERE x.reverses_setl_id = v.setl_id AND x.kind IN ('REVERSAL', 'CANCELLATION') \
               ORDER BY x.event_time, x.event_id LIMIT 1) AS by \
           FROM settlements v WHERE v.setl_id = ANY($1)) r \
         WHERE s.event_id = r.event_id AND s.reversed_by IS DISTINCT FROM r.by",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every identifier a person event lists, newest sighting kept.
async fn identifiers(conn: &mut PgConnection, rows: &[Person]) -> Result<(), sqlx::Error> {
    let mut seen = std::collections::HashMap::new();
    for p in rows {
        for id in &p.identifiers {
            let assigner = id.assigner_facility_code.clone().unwrap_or_default();
            let key = (
                id.system_oid.clone(),
                assigner,
                id.value.clone(),
                p.person_id.clone(),
            );
            let entry = seen
                .entry(key)
                .or_insert((p.event_id.clone(), p.event_time));
            if p.event_time >= entry.1 {
                *entry = (p.event_id.clone(), p.event_time);
            }
        }
    }
    if seen.is_empty() {
        return Ok(());
    }
    let (mut system, mut assigner, mut value, mut person, mut event, mut time) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ((s, a, v, p), (e, t)) in seen {
        system.push(s);
        assigner.push(a);
        value.push(v);
        person.push(p);
        event.push(e);
        time.push(ms(t));
    }
    sqlx::query(
        "INSERT INTO person_identifiers (system_oid, assigner, value, person_id, event_id, event_time) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) \
         ON CONFLICT (system_oid, assigner, value, person_id) DO UPDATE \
         SET event_id = EXCLUDED.event_id, event_time = EXCLUDED.event_time \
         WHERE EXCLUDED.event_time >= person_identifiers.event_time",
    )
    .bind(system)
    .bind(assigner)
    .bind(value)
    .bind(person)
    .bind(event)
    .bind(time)
    .execute(conn)
    .await?;
    Ok(())
}

/// MERGE makes `previous_person_id` an alias of `surviving_person_id`; UNMERGE deactivates it.
/// The newest decision per merged id wins, whatever the arrival order.
async fn aliases(conn: &mut PgConnection, rows: &[IdentityLink]) -> Result<(), sqlx::Error> {
    let mut latest: std::collections::HashMap<&str, &IdentityLink> =
        std::collections::HashMap::new();
    for link in rows {
        let re_keys = matches!(
            link.action,
            IdentityLinkAction::Merge | IdentityLinkAction::Unmerge
        );
        let (Some(prev), Some(surv)) = (&link.previous_person_id, &link.surviving_person_id) else {
            continue;
        };
        if !re_keys || prev == surv {
            continue;
        }
        let newer = latest
            .get(prev.as_str())
            .is_none_or(|old| link.version() >= old.version());
        if newer {
            latest.insert(prev, link);
        }
    }
    if latest.is_empty() {
        return Ok(());
    }
    let (mut merged, mut survivor, mut active, mut event, mut time) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (prev, link) in latest {
        merged.push(prev.to_owned());
        survivor.push(link.surviving_person_id.clone().unwrap_or_default());
        active.push(link.action == IdentityLinkAction::Merge);
        event.push(link.event_id.clone());
        time.push(ms(link.event_time));
    }
    sqlx::query(
        "INSERT INTO person_aliases (merged_id, survivor_id, active, event_id, event_time) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bool[], $4::text[], $5::timestamptz[]) \
         ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id, \
           active = EXCLUDED.active, event_id = EXCLUDED.event_id, event_time = EXCLUDED.event_time \
         WHERE (EXCLUDED.event_time, EXCLUDED.event_id) >= (person_aliases.event_time, person_aliases.event_id)",
    )
    .bind(merged)
    .bind(survivor)
    .bind(active)
    .bind(event)
    .bind(time)
    .execute(conn)
    .await?;
    Ok(())
}
