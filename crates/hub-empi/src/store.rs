//! The EMPI's operations on its PostgreSQL state.

use hub_identity::{PatientRef, Pseudonymizer};
use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::cache::IdentityCache;
use crate::decision::{Action, Decision, Method, Resolution};
use crate::keys::{IdentifierKind, IdentityKeys};
use crate::matcher::{self, DEFAULT_LINK_THRESHOLD, DEFAULT_REVIEW_THRESHOLD, Features};

/// Longest merge chain followed before giving up (merges flatten chains, so this is a guard).
const MAX_MERGE_HOPS: usize = 16;
/// Most candidates scored per resolution (a blocking key shared by more is itself a data issue).
const MAX_CANDIDATES: i64 = 50;

/// A failed EMPI operation.
#[derive(Debug, thiserror::Error)]
pub enum EmpiError {
    /// The database failed: transient, retry the message.
    #[error("EMPI database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("EMPI migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The message names its patient by nothing usable (no valid identifier, no name).
    #[error("the patient has no usable identifier and no name")]
    Unidentifiable,
    /// The review does not exist or was already decided.
    #[error("review not found or already decided")]
    UnknownReview,
    /// A merge chain is longer than any merge can make (corrupt state).
    #[error("merge chain too long")]
    MergeChain,
}

impl EmpiError {
    /// Whether the input is at fault (dead-letter it) rather than the database (retry).
    pub fn is_bad_data(&self) -> bool {
        matches!(self, Self::Unidentifiable)
    }
}

/// What a reviewer's decision did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewOutcome {
    /// The decisions (a merge and the resolution, or the resolution alone).
    pub decisions: Vec<Decision>,
}

/// The EMPI: a connection pool, the pseudonym key and the match thresholds.
pub struct Empi {
    pool: PgPool,
    pseudonyms: Pseudonymizer,
    cache: IdentityCache,
    link_threshold: f64,
    review_threshold: f64,
}

impl std::fmt::Debug for Empi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Empi")
            .field("link_threshold", &self.link_threshold)
            .field("review_threshold", &self.review_threshold)
            .finish_non_exhaustive()
    }
}

struct Candidate {
    person_id: String,
    name_key: Option<String>,
    birth_date: Option<chrono::NaiveDate>,
    sex_code: Option<String>,
    phone_key: Option<String>,
    resident_id: Option<String>,
}

impl Empi {
    /// An EMPI on `pool` (migrated: see [`Empi::migrate`]) with the pseudonym key.
    pub fn new(pool: PgPool, pseudonyms: Pseudonymizer) -> Self {
        Self {
            pool,
            pseudonyms,
            cache: IdentityCache::default(),
            link_threshold: DEFAULT_LINK_THRESHOLD,
            review_threshold: DEFAULT_REVIEW_THRESHOLD,
        }
    }

    /// Changes the thresholds (link >= review).
    pub fn with_thresholds(mut self, link: f64, review: f64) -> Self {
        self.link_threshold = link.max(review);
        self.review_threshold = review.min(link);
        self
    }

    /// Applies the EMPI's migrations.
    ///
    /// # Errors
    /// The database refuses them.
    pub async fn migrate(pool: &PgPool) -> Result<(), EmpiError> {
        sqlx::migrate!("./migrations").run(pool).await?;
        Ok(())
    }

    /// Resolves `patient` to a person id. `seed` identifies the message (e.g. facility and message
    /// id) and makes the id of a person created without any identifier deterministic, so that a
    /// replay of the same message creates the same person.
    ///
    /// # Errors
    /// [`EmpiError::Unidentifiable`] for a patient with nothing to go by; database errors.
    pub async fn resolve(&self, patient: &PatientRef, seed: &str) -> Result<Resolution, EmpiError> {
        let keys = IdentityKeys::derive(patient, &self.pseudonyms);
        if keys.identifiers.is_empty() && keys.name_key.is_none() {
            return Err(EmpiError::Unidentifiable);
        }
        if let (Some(person), Some((kind, _))) =
            (self.cache.lookup(&keys), keys.identifiers.first())
        {
            let decision = Decision::new(Action::Link, kind.method(), &person);
            return Ok(Resolution {
                person_id: person,
                decisions: vec![decision],
            });
        }
        let mut tx = self.pool.begin().await?;
        lock(&mut tx, &keys).await?;
        let resolution = self.resolve_in(&mut tx, &keys, seed).await?;
        tx.commit().await?;
        self.remember(&keys, &resolution);
        Ok(resolution)
    }

    /// Caches the outcome when it is a plain link or a new person with nothing left to review.
    fn remember(&self, keys: &IdentityKeys, resolution: &Resolution) {
        let settled = resolution
            .decisions
            .iter()
            .all(|d| matches!(d.action, Action::Link | Action::NewPerson));
        if settled {
            self.cache.remember(keys, &resolution.person_id);
        }
    }

    async fn resolve_in(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        keys: &IdentityKeys,
        seed: &str,
    ) -> Result<Resolution, EmpiError> {
        for (kind, key) in &keys.identifiers {
            if let Some(person) = find_identifier(tx, *kind, key).await? {
                let mut decisions = vec![note_invalid(
                    Decision::new(Action::Link, kind.method(), &person),
                    keys,
                )];
                decisions.extend(attach(tx, keys, &person).await?);
                return Ok(Resolution {
                    person_id: person,
                    decisions,
                });
            }
        }

        let (best, score) = self.best_candidate(tx, keys).await?;
        if let Some(candidate) = best.as_ref().filter(|_| score >= self.link_threshold) {
            let mut decision = Decision::new(Action::Link, Method::Probabilistic, candidate);
            decision.score = Some(score);
            let mut decisions = vec![note_invalid(decision, keys)];
            decisions.extend(attach(tx, keys, candidate).await?);
            return Ok(Resolution {
                person_id: candidate.clone(),
                decisions,
            });
        }

        let person = self.create_person(tx, keys, seed).await?;
        let mut decisions = vec![note_invalid(
            Decision::new(Action::NewPerson, Method::NoMatch, &person),
            keys,
        )];
        if let Some(candidate) = best.filter(|_| score >= self.review_threshold) {
            decisions.push(
                queue_review(
                    tx,
                    &person,
                    &candidate,
                    score,
                    "scored match in the review band",
                )
                .await?,
            );
        }
        decisions.extend(attach(tx, keys, &person).await?);
        Ok(Resolution {
            person_id: person,
            decisions,
        })
    }

    async fn best_candidate(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        keys: &IdentityKeys,
    ) -> Result<(Option<String>, f64), EmpiError> {
        let rows = sqlx::query(
            "SELECT p.person_id, p.name_key, p.birth_date, p.sex_code, p.phone_key,
                    (SELECT i.key FROM empi_identifiers i
                      WHERE i.person_id = p.person_id AND i.kind = 'resident_id' LIMIT 1) AS resident_id
               FROM empi_persons p
              WHERE p.merged_into IS NULL
                AND ((p.name_key = $1 AND p.birth_date = $2) OR p.phone_key = $3)
              ORDER BY p.person_id
              LIMIT $4",
        )
        .bind(&keys.name_key)
        .bind(keys.birth_date)
        .bind(&keys.phone_key)
        .bind(MAX_CANDIDATES)
        .fetch_all(&mut **tx)
        .await?;
        let incoming = Features {
            name_key: keys.name_key.as_deref(),
            birth_date: keys.birth_date,
            sex_code: keys.sex_code.as_deref(),
            phone_key: keys.phone_key.as_deref(),
            resident_id: keys.resident_id(),
        };
        let mut best: (Option<String>, f64) = (None, 0.0);
        for row in rows {
            let c = Candidate {
                person_id: row.try_get("person_id")?,
                name_key: row.try_get("name_key")?,
                birth_date: row.try_get("birth_date")?,
                sex_code: row.try_get("sex_code")?,
                phone_key: row.try_get("phone_key")?,
                resident_id: row.try_get("resident_id")?,
            };
            let features = Features {
                name_key: c.name_key.as_deref(),
                birth_date: c.birth_date,
                sex_code: c.sex_code.as_deref(),
                phone_key: c.phone_key.as_deref(),
                resident_id: c.resident_id.as_deref(),
            };
            let score = matcher::score(&incoming, &features);
            if score > best.1 {
                best = (Some(c.person_id), score);
            }
        }
        Ok(best)
    }

    async fn create_person(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        keys: &IdentityKeys,
        seed: &str,
    ) -> Result<String, EmpiError> {
        // Deterministic: from the strongest identifier (a fresh replay re-creates the same ids),
        // or from the message itself when the patient has no identifier at all.
        let basis = match keys.identifiers.first() {
            Some((kind, key)) => format!("{}\u{0}{key}", kind.as_str()),
            None => format!("message\u{0}{seed}"),
        };
        let person_id = format!("P{}", &self.pseudonyms.pseudonym("person-id", &basis)[..20]);
        sqlx::query(
            "INSERT INTO empi_persons (person_id, name_key, birth_date, sex_code, phone_key)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(&person_id)
        .bind(&keys.name_key)
        .bind(keys.birth_date)
        .bind(&keys.sex_code)
        .bind(&keys.phone_key)
        .execute(&mut **tx)
        .await?;
        Ok(person_id)
    }

    /// Merges the person of `merged` into the person of `surviving` (HL7 A40). `seed` as in
    /// [`Empi::resolve`]. Returns the surviving person with the decisions.
    ///
    /// # Errors
    /// As [`Empi::resolve`].
    pub async fn merge(
        &self,
        surviving: &PatientRef,
        merged: &PatientRef,
        seed: &str,
    ) -> Result<Resolution, EmpiError> {
        let survivor_keys = IdentityKeys::derive(surviving, &self.pseudonyms);
        let merged_keys = IdentityKeys::derive(merged, &self.pseudonyms);
        if survivor_keys.identifiers.is_empty() && survivor_keys.name_key.is_none() {
            return Err(EmpiError::Unidentifiable);
        }
        let mut tx = self.pool.begin().await?;
        lock_all(&mut tx, [&survivor_keys, &merged_keys]).await?;
        let mut resolution = self.resolve_in(&mut tx, &survivor_keys, seed).await?;
        let mut previous = None;
        for (kind, key) in &merged_keys.identifiers {
            if let Some(person) = find_identifier(&mut tx, *kind, key).await? {
                previous = Some(person);
                break;
            }
        }
        match previous {
            Some(previous) if previous != resolution.person_id => {
                merge_into(&mut tx, &previous, &resolution.person_id).await?;
                self.cache.forget_person(&previous);
                let mut decision =
                    Decision::new(Action::Merge, Method::Hl7Merge, &resolution.person_id);
                decision.previous_person_id = Some(previous);
                decision.surviving_person_id = Some(resolution.person_id.clone());
                resolution.decisions.push(decision);
            }
            Some(_) => {}
            None => {
                // The merged record was never seen: its identifiers now belong to the survivor.
                let survivor = resolution.person_id.clone();
                resolution
                    .decisions
                    .extend(attach(&mut tx, &merged_keys, &survivor).await?);
            }
        }
        tx.commit().await?;
        Ok(resolution)
    }

    /// A reviewer's decision on a queued match: `same_person` merges the provisional person into
    /// the candidate; otherwise both stay distinct.
    ///
    /// # Errors
    /// [`EmpiError::UnknownReview`] for an unknown or already decided review; database errors.
    pub async fn decide_review(
        &self,
        review_id: &str,
        same_person: bool,
        reviewer_id: &str,
    ) -> Result<ReviewOutcome, EmpiError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE empi_reviews SET status = $2, reviewer_id = $3, resolved_at = now()
              WHERE review_id = $1 AND status = 'open'
          RETURNING provisional_person_id, candidate_person_id",
        )
        .bind(review_id)
        .bind(if same_person { "linked" } else { "distinct" })
        .bind(reviewer_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(EmpiError::UnknownReview)?;
        let provisional: String = row.try_get("provisional_person_id")?;
        let candidate =
            surviving(&mut tx, &row.try_get::<String, _>("candidate_person_id")?).await?;
        let mut decisions = Vec::new();
        let person = if same_person && provisional != candidate {
            merge_into(&mut tx, &provisional, &candidate).await?;
            self.cache.forget_person(&provisional);
            let mut merge = Decision::new(Action::Merge, Method::Manual, &candidate);
            merge.previous_person_id = Some(provisional.clone());
            merge.surviving_person_id = Some(candidate.clone());
            decisions.push(merge);
            candidate.clone()
        } else {
            provisional.clone()
        };
        let mut resolved = Decision::new(Action::ReviewResolved, Method::Manual, &person);
        resolved.review_id = Some(review_id.to_owned());
        resolved.candidate_person_id = Some(candidate);
        resolved.reason = Some(
            if same_person {
                "same person"
            } else {
                "distinct persons"
            }
            .into(),
        );
        decisions.push(resolved);
        tx.commit().await?;
        Ok(ReviewOutcome { decisions })
    }

    /// Open reviews, oldest first: (review id, provisional person, candidate person, score).
    ///
    /// # Errors
    /// Database errors.
    pub async fn open_reviews(&self) -> Result<Vec<(String, String, String, f64)>, EmpiError> {
        let rows = sqlx::query(
            "SELECT review_id, provisional_person_id, candidate_person_id, score
               FROM empi_reviews WHERE status = 'open' ORDER BY created_at, review_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("review_id")?,
                    r.try_get("provisional_person_id")?,
                    r.try_get("candidate_person_id")?,
                    r.try_get("score")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(EmpiError::from)
    }
}

/// Takes transaction-scoped advisory locks on every key a resolution may create, in sorted order
/// (so two resolutions can never deadlock).
async fn lock(tx: &mut Transaction<'_, Postgres>, keys: &IdentityKeys) -> Result<(), EmpiError> {
    lock_all(tx, [keys]).await
}

async fn lock_all<'k>(
    tx: &mut Transaction<'_, Postgres>,
    keys: impl IntoIterator<Item = &'k IdentityKeys>,
) -> Result<(), EmpiError> {
    let mut names: Vec<String> = Vec::new();
    for keys in keys {
        names.extend(
            keys.identifiers
                .iter()
                .map(|(kind, key)| format!("{}:{key}", kind.as_str())),
        );
        if let Some(name) = &keys.name_key {
            names.push(format!("block:{name}:{:?}", keys.birth_date));
        }
        if let Some(phone) = &keys.phone_key {
            names.push(format!("phone:{phone}"));
        }
    }
    names.sort();
    names.dedup();
    // One round trip: the function scan yields the array's elements, and so takes the locks,
    // in the array's (sorted) order.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(name, 0)) FROM unnest($1::text[]) AS name",
    )
    .bind(names)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The surviving person an identifier belongs to, following merges.
async fn find_identifier(
    tx: &mut Transaction<'_, Postgres>,
    kind: IdentifierKind,
    key: &str,
) -> Result<Option<String>, EmpiError> {
    let person: Option<String> =
        sqlx::query_scalar("SELECT person_id FROM empi_identifiers WHERE kind = $1 AND key = $2")
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?;
    match person {
        Some(person) => Ok(Some(surviving(tx, &person).await?)),
        None => Ok(None),
    }
}

async fn surviving(tx: &mut Transaction<'_, Postgres>, person: &str) -> Result<String, EmpiError> {
    let mut current = person.to_owned();
    for _ in 0..MAX_MERGE_HOPS {
        let next: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM empi_persons WHERE person_id = $1")
                .bind(&current)
                .fetch_optional(&mut **tx)
                .await?;
        match next.flatten() {
            Some(next) => current = next,
            None => return Ok(current),
        }
    }
    Err(EmpiError::MergeChain)
}

/// Attaches the message's identifiers and missing demographics to `person`. An identifier that
/// already belongs to someone else stays there, and the conflict is queued for review.
async fn attach(
    tx: &mut Transaction<'_, Postgres>,
    keys: &IdentityKeys,
    person: &str,
) -> Result<Vec<Decision>, EmpiError> {
    let mut decisions = Vec::new();
    for (kind, key) in &keys.identifiers {
        // Insert only what is new, and read the owner otherwise: a message about a known patient
        // then writes nothing, so its transaction commits without a WAL flush.
        let inserted = sqlx::query(
            "INSERT INTO empi_identifiers (kind, key, person_id) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key) DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(key)
        .bind(person)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            continue;
        }
        let owner = find_identifier(tx, *kind, key)
            .await?
            .unwrap_or_else(|| person.to_owned());
        if owner != person {
            let reason = format!("{} already linked to another person", kind.as_str());
            decisions.push(queue_review(tx, person, &owner, 1.0, &reason).await?);
        }
    }
    sqlx::query(
        "UPDATE empi_persons SET name_key = COALESCE(name_key, $2), birth_date = COALESCE(birth_date, $3),
                sex_code = COALESCE(sex_code, $4), phone_key = COALESCE(phone_key, $5)
          WHERE person_id = $1
            AND ((name_key IS NULL AND $2::text IS NOT NULL) OR (birth_date IS NULL AND $3::date IS NOT NULL)
              OR (sex_code IS NULL AND $4::text IS NOT NULL) OR (phone_key IS NULL AND $5::text IS NOT NULL))",
    )
    .bind(person)
    .bind(&keys.name_key)
    .bind(keys.birth_date)
    .bind(&keys.sex_code)
    .bind(&keys.phone_key)
    .execute(&mut **tx)
    .await?;
    Ok(decisions)
}

async fn queue_review(
    tx: &mut Transaction<'_, Postgres>,
    provisional: &str,
    candidate: &str,
    score: f64,
    reason: &str,
) -> Result<Decision, EmpiError> {
    let review_id = format!("R-{provisional}-{candidate}");
    sqlx::query(
        "INSERT INTO empi_reviews (review_id, provisional_person_id, candidate_person_id, score)
         VALUES ($1, $2, $3, $4) ON CONFLICT (review_id) DO NOTHING",
    )
    .bind(&review_id)
    .bind(provisional)
    .bind(candidate)
    .bind(score)
    .execute(&mut **tx)
    .await?;
    let mut decision = Decision::new(Action::ReviewQueued, Method::Probabilistic, provisional);
    decision.candidate_person_id = Some(candidate.to_owned());
    decision.score = Some(score);
    decision.review_id = Some(review_id);
    decision.reason = Some(reason.to_owned());
    Ok(decision)
}

/// Points `merged` (and everything already merged into it) at `survivor`.
async fn merge_into(
    tx: &mut Transaction<'_, Postgres>,
    merged: &str,
    survivor: &str,
) -> Result<(), EmpiError> {
    sqlx::query(
        "UPDATE empi_persons SET merged_into = $2 WHERE person_id = $1 OR merged_into = $1",
    )
    .bind(merged)
    .bind(survivor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn note_invalid(mut decision: Decision, keys: &IdentityKeys) -> Decision {
    if keys.invalid_id_number {
        decision.reason = Some("invalid resident ID number ignored".into());
    }
    decision
}
