//! [`FieldError`]: one invalid field of a settlement record, by name and reason, never with its
//! value, so it can go back to the sender (the HTTP connector answers per record), into the
//! dead-letter headers and into logs.

/// Why a field is invalid. `code()` is a bounded snake_case string (also the serialised form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldReason {
    /// The record is not JSON.
    NotJson,
    /// The value is not a JSON object (the record, or a diagnosis entry).
    NotAnObject,
    /// The value is not a JSON array.
    NotAnArray,
    /// A required field is absent, null or empty.
    Missing,
    /// A code or text field holds a non-integer number, a boolean, an array or an object.
    NotAString,
    /// An amount is not a plain decimal number of yuan.
    NotAnAmount,
    /// An amount has more than two decimal places.
    TooManyDecimals,
    /// An amount does not fit in a 64-bit number of fen.
    AmountTooLarge,
    /// A settlement (not a reversal or cancellation) carries a negative amount.
    NegativeOnSettlement,
    /// A time is not `yyyy-MM-dd HH:mm:ss`.
    NotADateTime,
    /// A date is not `yyyy-MM-dd` (or `yyyy-MM-dd HH:mm:ss`).
    NotADate,
    /// The end date is before the start date.
    EndBeforeBegin,
    /// Not a six-digit GB/T 2260 division code.
    NotADivisionCode,
    /// Not a 12-character designated-institution code (letters and digits).
    NotAFacilityCode,
    /// A `med_type` the inpatient table does not know.
    UnknownMedType,
    /// An `infno` that does not carry a settlement record.
    UnknownTransaction,
    /// A reversal whose `oinfno` is not a settlement transaction (2207, 2304).
    NotReversible,
    /// A field that belongs to another kind of record (e.g. `omsgid` on a settlement).
    NotAllowedForKind,
    /// Both `diseinfo` and `diagnoses` were sent.
    Ambiguous,
    /// A GB/T 2261.1 sex code that is not one of 0, 1, 2, 5, 6, 9.
    NotASexCode,
}

impl FieldReason {
    /// The bounded snake_case code, e.g. `too_many_decimals`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::NotAnObject => "not_an_object",
            Self::NotAnArray => "not_an_array",
            Self::Missing => "missing",
            Self::NotAString => "not_a_string",
            Self::NotAnAmount => "not_an_amount",
            Self::TooManyDecimals => "too_many_decimals",
            Self::AmountTooLarge => "amount_too_large",
            Self::NegativeOnSettlement => "negative_on_settlement",
            Self::NotADateTime => "not_a_date_time",
            Self::NotADate => "not_a_date",
            Self::EndBeforeBegin => "end_before_begin",
            Self::NotADivisionCode => "not_a_division_code",
            Self::NotAFacilityCode => "not_a_facility_code",
            Self::UnknownMedType => "unknown_med_type",
            Self::UnknownTransaction => "unknown_transaction",
            Self::NotReversible => "not_reversible",
            Self::NotAllowedForKind => "not_allowed_for_kind",
            Self::Ambiguous => "ambiguous",
            Self::NotASexCode => "not_a_sex_code",
        }
    }
}

impl std::fmt::Display for FieldReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One invalid field: its name (with the path inside arrays, e.g. `diseinfo[1].diag_code`;
/// `$` for the record itself) and the reason. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field name.
    pub field: String,
    /// Why it is invalid.
    pub reason: FieldReason,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, reason: FieldReason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}
