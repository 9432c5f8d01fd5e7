//! FHIR R4 export: `Patient/{id}` and `Patient/{id}/$everything` (a searchset Bundle with the
//! Patient, its Encounters, active Conditions, current lab Observations, ImagingStudies and their
//! DiagnosticReports, and an ExplanationOfBenefit per insurance settlement: a settlement is the
//! bureau's adjudicated result, which FHIR models as an EOB rather than a Claim). Identifiers follow
//! the masking rule of the JSON API (unmasked for admins only). Resource ids are the record's ids
//! made FHIR-safe (`[A-Za-z0-9.-]{1,64}`, an md5 for longer ones).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::access::{Access, person_read};
use super::error::ApiError;
use super::persons::{RESIDENT_ID_OID, demographics};

/// FHIR's media type.
const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR-safe id from any text (SQL expression over `$x`).
macro_rules! fhir_id {
    ($col:literal) => {
        concat!(
            "CASE WHEN length(",
            $col,
            ") <= 64 THEN regexp_replace(",
            $col,
            ", '[^A-Za-z0-9.-]', '-', 'g') ELSE md5(",
            $col,
            ") END"
        )
    };
}

/// A unit written the way UCUM writes units (`mmol/L`, `U/L`, `%`, `10^9/L` read as `10*9/L`),
/// which is then coded as UCUM; other units (`个/HP`, free text) keep only their display text.
macro_rules! ucum_like {
    () => {
        r"^[A-Za-z0-9.*/%\[\]{}()^-]+$"
    };
}

/// `GET /fhir/Patient/{id}`.
///
/// # Errors
/// As `person_read`.
pub async fn patient(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let access = person_read(&state, &headers, &id, "fhir_patient").await?;
    Ok(fhir(patient_resource(&state, &access).await?))
}

/// `GET /fhir/Patient/{id}/$everything`.
///
/// # Errors
/// As `person_read`.
pub async fn everything(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let access = person_read(&state, &headers, &id, "fhir_everything").await?;
    let base = base_url(&headers);
    let patient = patient_resource(&state, &access).await?;
    let patient_id = patient["id"].as_str().unwrap_or_default().to_owned();
    let mut entries = vec![entry(&base, patient)];
    for sql in [
        ENCOUNTERS,
        CONDITIONS,
        OBSERVATIONS,
        IMAGING_STUDIES,
        IMAGING_REPORTS,
        SETTLEMENTS,
    ] {
        let resources: Vec<Value> = sqlx::query_scalar(sql)
            .bind(&access.ids)
            .bind(&patient_id)
            .fetch_all(&state.pool)
            .await?;
        entries.extend(resources.into_iter().map(|r| entry(&base, r)));
    }
    Ok(fhir(json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    })))
}

fn fhir(value: Value) -> Response {
    let mut response = Json(value).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(FHIR_JSON),
    );
    response
}

/// The service base of absolute `fullUrl`s (FHIR requires them absolute): `http://` or, behind
/// a proxy that says so, `https://`, the request's `Host` (when it is a plain host name or
/// address with an optional port; `localhost` otherwise), then `/fhir`.
pub fn base_url(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default()
    };
    let scheme = if header("x-forwarded-proto").eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    let host = header("host");
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let host = if plain { host } else { "localhost" };
    format!("{scheme}://{host}/fhir")
}

fn entry(base: &str, resource: Value) -> Value {
    let url = format!(
        "{base}/{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    );
    json!({ "fullUrl": url, "resource": resource, "search": { "mode": "match" } })
}

async fn patient_resource(state: &AppState, access: &Access) -> Result<Value, ApiError> {
    let id: String = sqlx::query_scalar(concat!("SELECT ", fhir_id!("$1::text")))
        .bind(&access.person_id)
        .fetch_one(&state.pool)
        .await?;
    let demo = demographics(state, access).await?;
    let mut patient = json!({ "resourceType": "Patient", "id": id, "active": true });
    if let Some(number) = demo["id_number"].as_str() {
        patient["identifier"] = json!([{
            "use": "official",
            "system": format!("urn:oid:{RESIDENT_ID_OID}"),
            "value": number,
        }]);
    }
    if let Some(name) = demo["name"].as_str().filter(|n| !n.is_empty()) {
        patient["name"] = json!([{ "text": name }]);
    }
    patient["gender"] = json!(gender(demo["sex_code"].as_str().unwrap_or("0")));
    if let Some(birth) = demo["birth_date"].as_str() {
        patient["birthDate"] = json!(birth);
    }
    if let Some(phone) = demo["phone"].as_str() {
        patient["telecom"] = json!([{ "system": "phone", "value": phone }]);
    }
    Ok(patient)
}

/// GB/T 2261.1 sex code to FHIR administrative gender (5 and 6, changed sex, as the current sex).
pub fn gender(sex_code: &str) -> &'static str {
    match sex_code {
        "1" | "5" => "male",
        "2" | "6" => "female",
        "9" => "other",
        _ => "unknown",
    }
}

const ENCOUNTERS: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'Encounter', 'id', ",
    fhir_id!("event_id"),
    ", 'identifier', jsonb_build_array(jsonb_build_object('value', encounter_id)), \
     'status', CASE WHEN cancelled OR action LIKE 'CANCEL%' THEN 'cancelled' \
       WHEN action = 'DISCHARGE' THEN 'finished' WHEN action = 'PRE_ADMIT' THEN 'planned' \
       WHEN action IN ('REGISTER', 'ADMIT', 'TRANSFER', 'UPDATE') THEN 'in-progress' ELSE 'unknown' END, \
     'class', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/v3-ActCode', \
       'code', CASE encounter_class WHEN 'INPATIENT' THEN 'IMP' WHEN 'EMERGENCY' THEN 'EMER' \
         WHEN 'OBSERVATION' THEN 'OBSENC' ELSE 'AMB' END), \
     'subject', jsonb_build_object('reference', 'Patient/' || $2), \
     'period', nullif(jsonb_strip_nulls(jsonb_build_object('start', admit_time, 'end', discharge_time)), '{}'::jsonb), \
     'serviceProvider', jsonb_build_object('identifier', jsonb_build_object( \
       'system', 'urn:oid:2.16.156.10011.1.5', 'value', facility_code)))) \
     FROM encounters WHERE person_id = ANY($1) AND is_current ORDER BY event_time"
);

const CONDITIONS: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'Condition', 'id', ",
    fhir_id!("event_id"),
    ", 'clinicalStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/condition-clinical', 'code', 'active'))), \
     'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', CASE WHEN code_system LIKE 'ICD10%' THEN 'urn:oid:2.16.156.10011.2.3.3.11.3' \
         ELSE 'urn:hub:code-system:' || lower(code_system) END, \
       'code', code, 'display', code_display)), 'text', code_display), \
     'verificationStatus', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/condition-ver-status', \
       'code', CASE WHEN diagnosis_type = 'PRELIMINARY' THEN 'provisional' ELSE 'confirmed' END))), \
     'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/condition-category', \
       'code', 'encounter-diagnosis')))), \
     'subject', jsonb_build_object('reference', 'Patient/' || $2), \
     'encounter', (SELECT jsonb_build_object('reference', 'Encounter/' || ",
    fhir_id!("e.event_id"),
    ") FROM encounters e WHERE e.person_id = ANY($1) AND e.is_current \
       AND e.facility_code = d.facility_code AND e.encounter_id = d.encounter_id LIMIT 1), \
     'onsetDateTime', diagnosed_at, \
     'recordedDate', event_time)) \
     FROM diagnoses d WHERE person_id = ANY($1) AND is_current AND action <> 'REMOVED' ORDER BY event_time"
);

const OBSERVATIONS: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'Observation', 'id', ",
    fhir_id!("event_id"),
    ", 'status', CASE result_status WHEN 'FINAL' THEN 'final' WHEN 'PRELIMINARY' THEN 'preliminary' \
       WHEN 'CORRECTED' THEN 'corrected' WHEN 'CANCELLED' THEN 'cancelled' ELSE 'unknown' END, \
     'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/observation-category', 'code', 'laboratory')))), \
     'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'urn:hub:code-system:' || regexp_replace(lower(test_system), '[^a-z0-9.-]', '-', 'g'), \
       'code', test_code, 'display', test_display)), 'text', coalesce(test_display, test_code)), \
     'subject', jsonb_build_object('reference', 'Patient/' || $2), \
     'encounter', (SELECT jsonb_build_object('reference', 'Encounter/' || ",
    fhir_id!("e.event_id"),
    ") FROM encounters e WHERE e.person_id = ANY($1) AND e.is_current \
       AND e.facility_code = l.facility_code AND e.encounter_id = l.encounter_id LIMIT 1), \
     'effectiveDateTime', coalesce(collected_at, event_time), \
     'issued', reported_at, \
     'valueQuantity', CASE WHEN value_numeric IS NOT NULL \
       AND value_numeric NOT IN ('NaN', 'Infinity', '-Infinity') THEN jsonb_build_object( \
       'value', value_numeric, 'unit', unit, \
       'system', CASE WHEN unit ~ '",
    ucum_like!(),
    "' THEN 'http://unitsofmeasure.org' END, \
       'code', CASE WHEN unit ~ '",
    ucum_like!(),
    "' THEN replace(unit, '^', '*') END) END, \
     'valueString', CASE WHEN (value_numeric IS NULL \
       OR value_numeric IN ('NaN', 'Infinity', '-Infinity')) AND value_text <> '' THEN value_text END, \
     'referenceRange', CASE WHEN reference_range IS NOT NULL \
       THEN jsonb_build_array(jsonb_build_object('text', reference_range)) END)) \
     FROM lab_results l WHERE person_id = ANY($1) AND is_current ORDER BY event_time"
);

/// DICOM modality codes are coded in DICOM's controlled terminology; a study without a Study
/// Instance UID (an order not yet performed) is `registered`.
const IMAGING_STUDIES: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'ImagingStudy', 'id', ",
    fhir_id!("event_id"),
    ", 'identifier', jsonb_path_query_array(jsonb_build_array( \
       CASE WHEN study_instance_uid ~ '^[0-9]+(\\.[0-9]+)*$' THEN jsonb_build_object( \
         'system', 'urn:dicom:uid', 'value', 'urn:oid:' || study_instance_uid) END, \
       CASE WHEN accession_number <> '' THEN jsonb_build_object('type', jsonb_build_object( \
         'coding', jsonb_build_array(jsonb_build_object( \
           'system', 'http://terminology.hl7.org/CodeSystem/v2-0203', 'code', 'ACSN'))), \
         'value', accession_number) END, \
       jsonb_build_object('use', 'usual', 'value', order_id)), '$[*] ? (@ != null)'), \
     'status', CASE status WHEN 'COMPLETED' THEN 'available' WHEN 'CANCELLED' THEN 'cancelled' \
       WHEN 'UNKNOWN' THEN 'unknown' ELSE 'registered' END, \
     'modality', CASE WHEN modality ~ '^[A-Z]{2,3}$' THEN jsonb_build_array(jsonb_build_object( \
       'system', 'http://dicom.nema.org/resources/ontology/DCM', 'code', modality)) END, \
     'subject', jsonb_build_object('reference', 'Patient/' || $2), \
     'encounter', (SELECT jsonb_build_object('reference', 'Encounter/' || ",
    fhir_id!("e.event_id"),
    ") FROM encounters e WHERE e.person_id = ANY($1) AND e.is_current \
       AND e.facility_code = s.facility_code AND e.encounter_id = s.encounter_id LIMIT 1), \
     'started', performed_at, \
     'numberOfSeries', series_count, \
     'numberOfInstances', instance_count, \
     'procedureCode', CASE WHEN procedure_code <> '' THEN jsonb_build_array(jsonb_build_object( \
       'coding', jsonb_build_array(jsonb_build_object('system', 'urn:hub:code-system:procedure', \
         'code', procedure_code, 'display', procedure_display)), 'text', procedure_display)) END, \
     'description', procedure_display, \
     'location', jsonb_build_object('identifier', jsonb_build_object( \
       'system', 'urn:oid:2.16.156.10011.1.5', \
       'value', coalesce(performing_facility_code, facility_code))))) \
     FROM imaging_studies s WHERE person_id = ANY($1) AND is_current ORDER BY event_time"
);

/// An imaging report: LOINC 18748-4 (diagnostic imaging study), its impression (or findings)
/// as the conclusion, linked to its study when the study is in the record.
const IMAGING_REPORTS: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'DiagnosticReport', 'id', ",
    fhir_id!("event_id"),
    ", 'identifier', jsonb_build_array(jsonb_build_object('value', coalesce(report_id, order_id))), \
     'status', CASE report_status WHEN 'FINAL' THEN 'final' WHEN 'PRELIMINARY' THEN 'preliminary' \
       WHEN 'CORRECTED' THEN 'corrected' WHEN 'CANCELLED' THEN 'cancelled' ELSE 'unknown' END, \
     'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/v2-0074', 'code', 'RAD')))), \
     'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://loinc.org', 'code', '18748-4', 'display', 'Diagnostic imaging study'))), \
     'subject', jsonb_build_object('reference', 'Patient/' || $2), \
     'encounter', (SELECT jsonb_build_object('reference', 'Encounter/' || ",
    fhir_id!("e.event_id"),
    ") FROM encounters e WHERE e.person_id = ANY($1) AND e.is_current \
       AND e.facility_code = r.facility_code AND e.encounter_id = r.encounter_id LIMIT 1), \
     'effectiveDateTime', event_time, \
     'issued', reported_at, \
     'performer', jsonb_build_array(jsonb_build_object('identifier', jsonb_build_object( \
       'system', 'urn:oid:2.16.156.10011.1.5', 'value', facility_code))), \
     'imagingStudy', (SELECT jsonb_build_array(jsonb_build_object('reference', 'ImagingStudy/' || ",
    fhir_id!("s.event_id"),
    ")) FROM imaging_studies s WHERE s.person_id = ANY($1) AND s.is_current \
       AND s.facility_code = r.facility_code AND s.order_id = r.order_id LIMIT 1), \
     'conclusion', nullif(coalesce(nullif(impression, ''), findings), ''))) \
     FROM imaging_reports r WHERE person_id = ANY($1) AND is_current ORDER BY event_time"
);

/// An insurance settlement as an ExplanationOfBenefit: the insured's insurance area
/// (`insuplc_admdvs`, GB/T 2260) as the insurer, the medical institution as the provider, amounts
/// from fen to CNY. A reversed or cancelled settlement is `cancelled`; the reversal itself is not
/// exported (it is the reason, not a claim).
const SETTLEMENTS: &str = concat!(
    "SELECT jsonb_strip_nulls(jsonb_build_object('resourceType', 'ExplanationOfBenefit', 'id', ",
    fhir_id!("event_id"),
    ", 'identifier', jsonb_build_array(jsonb_build_object( \
       'system', 'urn:hub:nhsa:setl_id', 'value', setl_id)), \
     'status', CASE WHEN reversed_by IS NOT NULL THEN 'cancelled' ELSE 'active' END, \
     'type', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object( \
       'system', 'http://terminology.hl7.org/CodeSystem/claim-type', \
       'code', CASE WHEN inpatient THEN 'institutional' ELSE 'professional' END))), \
     'use', 'claim', \
     'patient', jsonb_build_object('reference', 'Patient/' || $2), \
     'created', setl_time, \
     'insurer', jsonb_build_object('identifier', jsonb_build_object( \
       'system', 'urn:hub:code-system:gb-t-2260', 'value', insuplc_admdvs)), \
     'provider', jsonb_build_object('identifier', jsonb_build_object( \
       'system', 'urn:oid:2.16.156.10011.1.5', 'value', fixmedins_code)), \
     'outcome', 'complete', \
     'insurance', jsonb_build_array(jsonb_build_object('focal', true, \
       'coverage', jsonb_build_object('display', 'insutype ' || insutype))), \
     'total', jsonb_build_array( \
       jsonb_build_object('category', jsonb_build_object('coding', jsonb_build_array( \
         jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/adjudication', \
           'code', 'submitted'))), \
         'amount', jsonb_build_object('value', medfee_sumamt / 100.0, 'currency', 'CNY')), \
       jsonb_build_object('category', jsonb_build_object('coding', jsonb_build_array( \
         jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/adjudication', \
           'code', 'benefit'))), \
         'amount', jsonb_build_object('value', fund_pay_sumamt / 100.0, 'currency', 'CNY'))), \
     'payment', jsonb_build_object('amount', jsonb_build_object( \
       'value', fund_pay_sumamt / 100.0, 'currency', 'CNY')))) \
     FROM settlements WHERE person_id = ANY($1) AND is_current AND kind = 'SETTLEMENT' \
     ORDER BY setl_time"
);

#[cfg(test)]
mod tests {
    #[test]
    fn maps_gb_sex_codes_to_fhir_gender() {
        assert_eq!(super::gender("1"), "male");
        assert_eq!(super::gender("2"), "female");
        assert_eq!(super::gender("0"), "unknown");
        assert_eq!(super::gender("9"), "other");
    }
}
