//! [`ValidSettlement`]: a settlement record whose every field is valid, in canonical units, and
//! the code-system names its diagnoses carry.

use chrono::NaiveDate;
use hub_schemas::{CodedValue, SettlementKind};

/// `CodedValue.system` of NHSA insurance version 2.0 ICD-10 codes (医保版 2.0).
pub const ICD10_INSURANCE_SYSTEM: &str = "ICD-10-NHSA-2.0";
/// `CodedValue.system` of NHSA insurance TCM disease and syndrome codes (医保版中医病证,
/// `diag_type` 2 or 3).
pub const TCM_INSURANCE_SYSTEM: &str = "TCM-NHSA";
/// `CodedValue.system` of a `dise_codg` that is not ICD-10 shaped: an NHSA disease category
/// (病种编码, e.g. a chronic or special outpatient disease).
pub const DISEASE_CATEGORY_SYSTEM: &str = "NHSA-DISE";

/// The insured person as the record names them. Personal data: `Debug` shows presence only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct InsuredPerson {
    /// Insurance person number (`psn_no`).
    pub psn_no: String,
    /// Name (`psn_name`).
    pub psn_name: Option<String>,
    /// Certificate number (`certno`).
    pub certno: Option<String>,
    /// Certificate type (`psn_cert_type`, 01 = resident ID card).
    pub psn_cert_type: Option<String>,
    /// GB/T 2261.1 sex code (`gend`).
    pub gend: Option<String>,
    /// Birth date (`brdy`).
    pub brdy: Option<NaiveDate>,
}

impl std::fmt::Debug for InsuredPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present = |v: bool| if v { "<present>" } else { "<absent>" };
        f.debug_struct("InsuredPerson")
            .field("psn_no", &present(!self.psn_no.is_empty()))
            .field("psn_name", &present(self.psn_name.is_some()))
            .field("certno", &present(self.certno.is_some()))
            .field("psn_cert_type", &self.psn_cert_type)
            .field("gend", &self.gend)
            .field("brdy", &present(self.brdy.is_some()))
            .finish()
    }
}

/// Amounts in fen, already signed for the canonical event: positive on a settlement, negative
/// on a reversal or cancellation (whatever sign the source used there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    /// `medfee_sumamt`.
    pub medfee_sumamt: i64,
    /// `fund_pay_sumamt`.
    pub fund_pay_sumamt: i64,
    /// `psn_cash_pay`.
    pub psn_cash_pay: i64,
    /// `acct_pay`.
    pub acct_pay: Option<i64>,
    /// `hifp_pay`.
    pub hifp_pay: Option<i64>,
    /// `hifmi_pay`.
    pub hifmi_pay: Option<i64>,
    /// `maf_pay`.
    pub maf_pay: Option<i64>,
}

/// A settlement record whose every field is valid, in canonical units.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSettlement {
    /// Settlement, reversal or cancellation.
    pub kind: SettlementKind,
    /// The NHSA transaction (`infno`) if sent.
    pub infno: Option<String>,
    /// `setl_id`; for reversals and cancellations see [`crate`] docs.
    pub setl_id: String,
    /// For reversals and cancellations: the settlement undone.
    pub reverses_setl_id: Option<String>,
    /// For reversals: `omsgid`.
    pub omsgid: Option<String>,
    /// For reversals: `oinfno`.
    pub oinfno: Option<String>,
    /// The insured person.
    pub person: InsuredPerson,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `fixmedins_code`.
    pub fixmedins_code: String,
    /// `insuplc_admdvs`.
    pub insuplc_admdvs: String,
    /// `mdtrtarea_admvs`.
    pub mdtrtarea_admvs: Option<String>,
    /// `insutype`.
    pub insutype: String,
    /// `med_type`.
    pub med_type: String,
    /// Derived from `med_type`.
    pub inpatient: bool,
    /// `setl_time` as epoch milliseconds.
    pub setl_time_ms: i64,
    /// `begndate` as days since 1970-01-01.
    pub begndate: Option<i32>,
    /// `enddate` as days since 1970-01-01.
    pub enddate: Option<i32>,
    /// The amounts, signed.
    pub amounts: Amounts,
    /// Diagnoses, principal first.
    pub diagnoses: Vec<CodedValue>,
}
