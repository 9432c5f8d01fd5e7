//! Field access over one JSON object that keeps each value's exact source text, so amounts are
//! read from their digits (a JSON number never passes through f64) and every problem is recorded
//! as a [`FieldError`] naming the field, never quoting its value.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::amount::{AmountError, parse_fen};
use crate::error::{FieldError, FieldReason};

/// One JSON object, its members as raw text, and the path used in error field names.
pub(crate) struct Object<'a> {
    members: BTreeMap<String, &'a RawValue>,
    path: String,
}

/// A member's value, classified.
enum Member<'a> {
    /// Absent, `null` or `""`: NHSA exports send empty strings for absent values.
    Absent,
    /// A JSON string, unescaped and trimmed.
    Text(String),
    /// A JSON number, as written.
    Number(&'a str),
    /// Anything else (boolean, array, object).
    Other,
}

impl<'a> Object<'a> {
    /// Parses `json` as an object; `path` prefixes field names in errors (`""` at the top).
    pub fn parse(json: &'a str, path: &str) -> Result<Self, FieldError> {
        let field = if path.is_empty() { "$" } else { path };
        match serde_json::from_str::<BTreeMap<String, &'a RawValue>>(json) {
            Ok(members) => Ok(Self {
                members,
                path: path.to_owned(),
            }),
            Err(e) if e.is_data() => Err(FieldError::new(field, FieldReason::NotAnObject)),
            Err(_) => Err(FieldError::new(field, FieldReason::NotJson)),
        }
    }

    /// The error field name of member `name`.
    pub fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn member(&self, name: &str) -> Member<'a> {
        let Some(raw) = self.members.get(name) else {
            return Member::Absent;
        };
        let text = raw.get().trim();
        match text.as_bytes().first() {
            Some(b'n') if text == "null" => Member::Absent,
            Some(b'"') => match serde_json::from_str::<String>(text) {
                Ok(s) if s.trim().is_empty() => Member::Absent,
                Ok(s) => Member::Text(s.trim().to_owned()),
                Err(_) => Member::Other,
            },
            Some(b'-' | b'0'..=b'9') => Member::Number(text),
            _ => Member::Other,
        }
    }

    /// True when the member is present and not null or empty.
    pub fn has(&self, name: &str) -> bool {
        !matches!(self.member(name), Member::Absent)
    }

    /// An optional code or text. Integer JSON numbers are taken as their digits (senders write
    /// `"med_type": 21` as often as `"21"`); other types are an error.
    pub fn text(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        match self.member(name) {
            Member::Absent => None,
            Member::Text(s) => Some(s),
            Member::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => Some(n.to_owned()),
            Member::Number(_) | Member::Other => {
                errors.push(FieldError::new(self.field(name), FieldReason::NotAString));
                None
            }
        }
    }

    /// A required code or text: as [`Object::text`], and `missing` when absent.
    pub fn required(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        if !self.has(name) {
            errors.push(FieldError::new(self.field(name), FieldReason::Missing));
        }
        self.text(name, errors)
    }

    /// An optional amount in yuan (JSON number or string) as signed fen.
    pub fn amount(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
        let text = match self.member(name) {
            Member::Absent => return None,
            Member::Text(s) => s,
            Member::Number(n) => n.to_owned(),
            Member::Other => {
                errors.push(FieldError::new(self.field(name), FieldReason::NotAnAmount));
                return None;
            }
        };
        let reason = match parse_fen(&text) {
            Ok(fen) => return Some(fen),
            Err(AmountError::NotNumeric) => FieldReason::NotAnAmount,
            Err(AmountError::TooManyDecimals) => FieldReason::TooManyDecimals,
            Err(AmountError::TooLarge) => FieldReason::AmountTooLarge,
        };
        errors.push(FieldError::new(self.field(name), reason));
        None
    }

    /// A required amount.
    pub fn required_amount(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
        if !self.has(name) {
            errors.push(FieldError::new(self.field(name), FieldReason::Missing));
        }
        self.amount(name, errors)
    }

    /// An optional array of objects; `None` when absent or on error.
    pub fn objects(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<Vec<Object<'a>>> {
        let raw = self.members.get(name)?;
        if raw.get().trim() == "null" {
            return None;
        }
        let Ok(items) = serde_json::from_str::<Vec<&'a RawValue>>(raw.get()) else {
            errors.push(FieldError::new(self.field(name), FieldReason::NotAnArray));
            return None;
        };
        let mut objects = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match Object::parse(item.get(), &format!("{}[{i}]", self.field(name))) {
                Ok(object) => objects.push(object),
                Err(e) => errors.push(e),
            }
        }
        Some(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_numbers_and_amounts_from_their_source_text() {
        let json = r#"{"a":" x ","b":21,"c":"","d":null,"e":1.5,"f":true,"m":0.29,"n":"12.30"}"#;
        let o = Object::parse(json, "").unwrap();
        let mut errors = Vec::new();
        assert_eq!(o.text("a", &mut errors).as_deref(), Some("x"));
        assert_eq!(o.text("b", &mut errors).as_deref(), Some("21"));
        assert_eq!(o.text("c", &mut errors), None);
        assert_eq!(o.text("d", &mut errors), None);
        assert_eq!(o.amount("m", &mut errors), Some(29));
        assert_eq!(o.amount("n", &mut errors), Some(1230));
        assert_eq!(o.amount("e", &mut errors), Some(150));
        assert!(errors.is_empty());
        assert_eq!(o.text("e", &mut errors), None);
        assert_eq!(o.text("f", &mut errors), None);
        assert_eq!(o.required("c", &mut errors), None);
        assert_eq!(o.amount("f", &mut errors), None);
        let got: Vec<(String, FieldReason)> =
            errors.into_iter().map(|e| (e.field, e.reason)).collect();
        assert_eq!(
            got,
            [
                ("e".to_owned(), FieldReason::NotAString),
                ("f".to_owned(), FieldReason::NotAString),
                ("c".to_owned(), FieldReason::Missing),
                ("f".to_owned(), FieldReason::NotAnAmount),
            ]
        );
    }

    #[test]
    fn nested_objects_carry_their_path() {
        let o = Object::parse(r#"{"list":[{"k":"v"},3]}"#, "").unwrap();
        let mut errors = Vec::new();
        let items = o.objects("list", &mut errors).unwrap();
        assert_eq!(items[0].field("k"), "list[0].k");
        assert_eq!(
            errors,
            [FieldError::new("list[1]", FieldReason::NotAnObject)]
        );
        assert_eq!(
            Object::parse("[1]", "").err().unwrap().reason,
            FieldReason::NotAnObject
        );
        assert_eq!(
            Object::parse("{", "").err().unwrap().reason,
            FieldReason::NotJson
        );
    }
}
