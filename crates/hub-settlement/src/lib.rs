//! NHSA-shaped insurance settlement JSON (the insurance bureau's records, `raw.insurance.settlement`)
//! to the canonical `Settlement` event: a pure mapping, one record per raw message.
//!
//! Input: one JSON object with NHSA field names. Required: `setl_id`, `psn_no`, `mdtrt_id`,
//! `fixmedins_code` (12 characters), `insuplc_admdvs` (6 digits), `insutype`, `med_type`,
//! `setl_time` (`yyyy-MM-dd HH:mm:ss`, China time), `medfee_sumamt`, `fund_pay_sumamt`,
//! `psn_cash_pay`. Optional: `infno`, `mdtrtarea_admvs`, `begndate`, `enddate`, `acct_pay`,
//! `hifp_pay`, `hifmi_pay`, `maf_pay`, diagnoses (`diseinfo` or `diagnoses`: objects with
//! `diag_code`, `diag_name`, `diag_type`, `maindiag_flag`, `diag_srt_no`; or a single
//! `dise_codg`/`dise_name`), the person (`psn_name`, `certno`, `psn_cert_type`, `gend`, `brdy`),
//! and for undoing records `omsgid`, `oinfno`, `init_setl_id`. Other fields are ignored;
//! `null` and `""` count as absent; codes may be JSON strings or integers.
//!
//! Decisions:
//! - **Kind**: from `infno` (2207/2304/4101/4101A settlement, 2208/2305 cancellation, 2601
//!   reversal, anything else rejected); without it, `omsgid` means a reversal, `init_setl_id` a
//!   cancellation, otherwise a settlement. Reversals need `omsgid` and `oinfno` (2207 or 2304).
//! - **Ids** of undoing records: `init_setl_id` is the settlement undone; without it `setl_id` is
//!   (as in the NHSA 2208/2305 requests). The event's `setl_id` is the record's own `setl_id`
//!   when sent, else the original; `reverses_setl_id` is the original.
//! - **Amounts**: yuan with at most 2 decimals, as JSON numbers or strings, converted exactly to
//!   fen from their source text (never through f64). Signed as `settlement.avsc` says: positive on
//!   a settlement (a negative amount there is an error), negative on a reversal or cancellation
//!   whatever sign the source used.
//! - **inpatient** from `med_type` by the table in `codes.rs`; unknown types are rejected.
//! - **Diagnoses** are NHSA insurance version codes (`ICD-10-NHSA-2.0`; `TCM-NHSA` for
//!   `diag_type` 2/3; a non-ICD `dise_codg` is a disease category, `NHSA-DISE`).
//! - **Patient**: `psn_no` is the insurance number; `certno` is passed as the resident ID number
//!   only when `psn_cert_type` is absent or 01 (resident ID card), and the EMPI validates it.
//! - Event `facility_code` is `fixmedins_code` (where care happened); `event_time` = `setl_time`.
//!
//! Layout: `validate.rs` (fields to [`ValidSettlement`], defined in `model.rs`), `json.rs`
//! (exact field access), `amount.rs`, `time.rs`, `codes.rs` (transaction and `med_type`
//! tables), `error.rs`.

mod amount;
mod codes;
mod error;
mod json;
mod model;
mod time;
mod validate;

use hub_identity::PatientRef;
use hub_mapping::{MapError, Mapped, event_id, provenance};
use hub_schemas::raw::RawEnvelope;
use hub_schemas::{AnyEvent, Settlement};

pub use error::{FieldError, FieldReason};
pub use model::{
    Amounts, DISEASE_CATEGORY_SYSTEM, ICD10_INSURANCE_SYSTEM, InsuredPerson, TCM_INSURANCE_SYSTEM,
    ValidSettlement,
};
pub use validate::validate;

/// The entity name in event ids.
const ENTITY: &str = "settlement";
/// Certificate type 01: resident ID card (居民身份证).
const RESIDENT_ID_CARD: &str = "01";

/// Maps one raw settlement message to its canonical event and patient.
///
/// # Errors
/// `settlement_not_json` when the payload is not a UTF-8 JSON object; `settlement_invalid_field`
/// with the invalid fields (names and reasons only) otherwise.
pub fn map_settlement(raw: &RawEnvelope) -> Result<Mapped, MapError> {
    let json = std::str::from_utf8(&raw.payload)
        .map_err(|_| MapError::new("settlement_not_json", "payload is not UTF-8"))?;
    let valid = validate(json).map_err(|errors| {
        let shape = errors.iter().any(|e| e.field == "$");
        let code = if shape {
            "settlement_not_json"
        } else {
            "settlement_invalid_field"
        };
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let plural = if errors.len() == 1 { "" } else { "s" };
        MapError::new(
            code,
            format!(
                "{} invalid field{plural}: {}",
                errors.len(),
                list.join("; ")
            ),
        )
    })?;
    Ok(valid.into_mapped(raw))
}

impl ValidSettlement {
    /// The canonical event (person id empty until identity resolution) and the patient.
    pub fn into_mapped(self, raw: &RawEnvelope) -> Mapped {
        let person = self.person;
        let resident_id = person
            .psn_cert_type
            .as_deref()
            .is_none_or(|t| t == RESIDENT_ID_CARD);
        let patient = PatientRef {
            facility_code: raw.facility.clone(),
            insurance_number: Some(person.psn_no.clone()),
            id_number: person.certno.filter(|_| resident_id),
            name: person.psn_name,
            birth_date: person.brdy,
            sex_code: person.gend,
            ..PatientRef::default()
        };
        let a = self.amounts;
        let settlement = Settlement {
            event_id: event_id(raw, ENTITY, 0),
            person_id: String::new(),
            facility_code: self.fixmedins_code.clone(),
            event_time: self.setl_time_ms,
            provenance: provenance(raw),
            setl_id: self.setl_id,
            kind: self.kind,
            reverses_setl_id: self.reverses_setl_id,
            omsgid: self.omsgid,
            oinfno: self.oinfno,
            nhsa_transaction: self.infno,
            psn_no: person.psn_no,
            mdtrt_id: self.mdtrt_id,
            fixmedins_code: self.fixmedins_code,
            insuplc_admdvs: self.insuplc_admdvs,
            mdtrtarea_admvs: self.mdtrtarea_admvs,
            insutype: self.insutype,
            med_type: self.med_type,
            inpatient: self.inpatient,
            setl_time: self.setl_time_ms,
            begndate: self.begndate,
            enddate: self.enddate,
            medfee_sumamt: a.medfee_sumamt,
            fund_pay_sumamt: a.fund_pay_sumamt,
            psn_cash_pay: a.psn_cash_pay,
            acct_pay: a.acct_pay,
            hifp_pay: a.hifp_pay,
            hifmi_pay: a.hifmi_pay,
            maf_pay: a.maf_pay,
            diagnoses: self.diagnoses,
        };
        Mapped {
            patient: Some(patient),
            merged_patient: None,
            events: vec![AnyEvent::Settlement(settlement)],
        }
    }
}
