//! [`validate`]: one NHSA-shaped settlement record (JSON text) to a [`ValidSettlement`], or every
//! invalid field at once.

use hub_schemas::{CodedValue, SettlementKind};

use crate::codes::{inpatient, kind_of_transaction, reversible};
use crate::error::{FieldError, FieldReason};
use crate::json::Object;
use crate::model::{
    Amounts, DISEASE_CATEGORY_SYSTEM, ICD10_INSURANCE_SYSTEM, InsuredPerson, TCM_INSURANCE_SYSTEM,
    ValidSettlement,
};
use crate::time::{china_time_ms, date, epoch_days};

/// Validates one settlement record. All invalid fields are reported together, each by name and
/// reason; values never appear in errors.
///
/// # Errors
/// The list of invalid fields (`$` for a record that is not a JSON object).
pub fn validate(json: &str) -> Result<ValidSettlement, Vec<FieldError>> {
    let r = Object::parse(json, "").map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let e = &mut errors;

    let infno = r.text("infno", e);
    let kind = match infno.as_deref() {
        Some(infno) => kind_of_transaction(infno).unwrap_or_else(|| {
            e.push(FieldError::new("infno", FieldReason::UnknownTransaction));
            SettlementKind::Unknown
        }),
        None if r.has("omsgid") => SettlementKind::Reversal,
        None if r.has("init_setl_id") => SettlementKind::Cancellation,
        None => SettlementKind::Settlement,
    };
    let undoing = matches!(
        kind,
        SettlementKind::Reversal | SettlementKind::Cancellation
    );
    let not_for_kind: &[&str] = match kind {
        SettlementKind::Settlement => &["omsgid", "oinfno", "init_setl_id"],
        SettlementKind::Cancellation => &["omsgid", "oinfno"],
        _ => &[],
    };
    for name in not_for_kind.iter().filter(|name| r.has(name)) {
        e.push(FieldError::new(*name, FieldReason::NotAllowedForKind));
    }
    let (omsgid, oinfno) = if kind == SettlementKind::Reversal {
        let omsgid = r.required("omsgid", e);
        let oinfno = r.required("oinfno", e);
        if oinfno.as_deref().is_some_and(|o| !reversible(o)) {
            e.push(FieldError::new("oinfno", FieldReason::NotReversible));
        }
        (omsgid, oinfno)
    } else {
        (None, None)
    };
    let (setl_id, reverses_setl_id) = if undoing {
        // NHSA 2208/2305 requests name the settlement undone in setl_id; a record of the undoing
        // itself may carry its own setl_id and the original in init_setl_id.
        let own = r.text("setl_id", e);
        let original = r.text("init_setl_id", e);
        if own.is_none() && original.is_none() {
            e.push(FieldError::new("setl_id", FieldReason::Missing));
        }
        (own.clone().or_else(|| original.clone()), original.or(own))
    } else {
        (r.required("setl_id", e), None)
    };

    let psn_no = r.required("psn_no", e);
    let mdtrt_id = r.required("mdtrt_id", e);
    let fixmedins_code = r.required("fixmedins_code", e);
    if fixmedins_code
        .as_deref()
        .is_some_and(|c| !is_facility_code(c))
    {
        e.push(FieldError::new(
            "fixmedins_code",
            FieldReason::NotAFacilityCode,
        ));
    }
    let insuplc_admdvs = division(&r, "insuplc_admdvs", true, e);
    let mdtrtarea_admvs = division(&r, "mdtrtarea_admvs", false, e);
    let insutype = r.required("insutype", e);
    let med_type = r.required("med_type", e);
    let is_inpatient = med_type.as_deref().and_then(inpatient);
    if med_type.is_some() && is_inpatient.is_none() {
        e.push(FieldError::new("med_type", FieldReason::UnknownMedType));
    }
    let setl_time_ms = match r.required("setl_time", e) {
        Some(t) => china_time_ms(&t).or_else(|| {
            e.push(FieldError::new("setl_time", FieldReason::NotADateTime));
            None
        }),
        None => None,
    };
    let begndate = day(&r, "begndate", e);
    let enddate = day(&r, "enddate", e);
    if let (Some(begin), Some(end)) = (begndate, enddate)
        && end < begin
    {
        e.push(FieldError::new("enddate", FieldReason::EndBeforeBegin));
    }
    let amounts = amounts(&r, kind, e);
    let diagnoses = diagnoses(&r, e);
    let person = person(&r, psn_no.unwrap_or_default(), e);

    match (
        setl_id,
        mdtrt_id,
        fixmedins_code,
        insuplc_admdvs,
        insutype,
        med_type,
    ) {
        (
            Some(setl_id),
            Some(mdtrt_id),
            Some(fixmedins_code),
            Some(insuplc),
            Some(insutype),
            Some(med_type),
        ) if errors.is_empty() => Ok(ValidSettlement {
            kind,
            infno,
            setl_id,
            reverses_setl_id: if undoing { reverses_setl_id } else { None },
            omsgid,
            oinfno,
            person,
            mdtrt_id,
            fixmedins_code,
            insuplc_admdvs: insuplc,
            mdtrtarea_admvs,
            insutype,
            med_type,
            inpatient: is_inpatient.unwrap_or(false),
            setl_time_ms: setl_time_ms.unwrap_or_default(),
            begndate,
            enddate,
            amounts,
            diagnoses,
        }),
        _ => Err(errors),
    }
}

/// 12 ASCII letters and digits (NHSA `fixmedins_code`, e.g. `H21028100001`).
fn is_facility_code(code: &str) -> bool {
    code.len() == 12 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn division(r: &Object<'_>, name: &str, required: bool, e: &mut Vec<FieldError>) -> Option<String> {
    let code = if required {
        r.required(name, e)
    } else {
        r.text(name, e)
    }?;
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Some(code)
    } else {
        e.push(FieldError::new(name, FieldReason::NotADivisionCode));
        None
    }
}

fn day(r: &Object<'_>, name: &str, e: &mut Vec<FieldError>) -> Option<i32> {
    let text = r.text(name, e)?;
    let days = date(&text).and_then(epoch_days);
    if days.is_none() {
        e.push(FieldError::new(r.field(name), FieldReason::NotADate));
    }
    days
}

fn amounts(r: &Object<'_>, kind: SettlementKind, e: &mut Vec<FieldError>) -> Amounts {
    let required = ["medfee_sumamt", "fund_pay_sumamt", "psn_cash_pay"].map(|name| {
        let fen = r.required_amount(name, e);
        (fen, name)
    });
    let optional = ["acct_pay", "hifp_pay", "hifmi_pay", "maf_pay"].map(|name| {
        let fen = r.amount(name, e);
        (fen, name)
    });
    let mut signed = |fen: Option<i64>, name: &str| {
        let fen = fen?;
        if kind == SettlementKind::Settlement && fen < 0 {
            e.push(FieldError::new(name, FieldReason::NegativeOnSettlement));
            return None;
        }
        Some(if kind == SettlementKind::Settlement {
            fen
        } else {
            -fen.saturating_abs()
        })
    };
    let [medfee, fund, cash] = required.map(|(fen, name)| signed(fen, name).unwrap_or_default());
    let [acct, hifp, hifmi, maf] = optional.map(|(fen, name)| signed(fen, name));
    Amounts {
        medfee_sumamt: medfee,
        fund_pay_sumamt: fund,
        psn_cash_pay: cash,
        acct_pay: acct,
        hifp_pay: hifp,
        hifmi_pay: hifmi,
        maf_pay: maf,
    }
}

/// Diagnoses from `diseinfo` (NHSA name) or `diagnoses`, principal (`maindiag_flag` 1) first,
/// then by `diag_srt_no`, then as sent; without either list, `dise_codg` / `dise_name`.
fn diagnoses(r: &Object<'_>, e: &mut Vec<FieldError>) -> Vec<CodedValue> {
    if r.has("diseinfo") && r.has("diagnoses") {
        e.push(FieldError::new("diagnoses", FieldReason::Ambiguous));
        return Vec::new();
    }
    let list = r
        .objects("diseinfo", e)
        .or_else(|| r.objects("diagnoses", e));
    let Some(list) = list else {
        return r
            .text("dise_codg", e)
            .map(|code| {
                let system = if icd10_shaped(&code) {
                    ICD10_INSURANCE_SYSTEM
                } else {
                    DISEASE_CATEGORY_SYSTEM
                };
                let display = r.text("dise_name", e);
                vec![CodedValue {
                    code,
                    system: system.into(),
                    display,
                }]
            })
            .unwrap_or_default();
    };
    let mut ranked = Vec::with_capacity(list.len());
    for item in &list {
        let Some(code) = item.required("diag_code", e) else {
            continue;
        };
        let tcm = matches!(item.text("diag_type", e).as_deref(), Some("2" | "3"));
        let principal = item.text("maindiag_flag", e).as_deref() == Some("1");
        let order = item
            .text("diag_srt_no", e)
            .and_then(|n| n.parse::<u32>().ok());
        let system = if tcm {
            TCM_INSURANCE_SYSTEM
        } else {
            ICD10_INSURANCE_SYSTEM
        };
        let display = item.text("diag_name", e);
        ranked.push((
            !principal,
            order.unwrap_or(u32::MAX),
            CodedValue {
                code,
                system: system.into(),
                display,
            },
        ));
    }
    ranked.sort_by_key(|(not_principal, order, _)| (*not_principal, *order));
    ranked.into_iter().map(|(_, _, coded)| coded).collect()
}

/// A letter and two digits, then nothing or a dot: `I10`, `I10.x00`, `E11.900`. NHSA disease
/// category codes such as `M03900` (no dot) are not ICD-10.
fn icd10_shaped(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && (b.len() == 3 || b[3] == b'.')
}

fn person(r: &Object<'_>, psn_no: String, e: &mut Vec<FieldError>) -> InsuredPerson {
    let gend = r.text("gend", e);
    if gend
        .as_deref()
        .is_some_and(|g| !matches!(g, "0" | "1" | "2" | "5" | "6" | "9"))
    {
        e.push(FieldError::new("gend", FieldReason::NotASexCode));
    }
    let brdy = r.text("brdy", e).and_then(|text| {
        let parsed = date(&text);
        if parsed.is_none() {
            e.push(FieldError::new("brdy", FieldReason::NotADate));
        }
        parsed
    });
    InsuredPerson {
        psn_no,
        psn_name: r.text("psn_name", e),
        certno: r.text("certno", e),
        psn_cert_type: r.text("psn_cert_type", e),
        gend,
        brdy,
    }
}
