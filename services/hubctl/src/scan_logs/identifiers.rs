//! The personal values of a simulated county (`crates/hub-simulator`, `people.rs`) and the
//! forms a log line could hold them in.
//!
//! - ID numbers (18 characters), mobile phones (11 digits), NHSA person numbers (`psn_no`, the
//!   insurance number) and facility patient ids (`P…` MRNs per facility, the `D…` ids of the
//!   duplicate registrations merged by ADT^A40): as they are, ASCII case folded by the scanner.
//! - Names, at least two characters (a lone surname would match any text): the name, the HL7
//!   and DICOM person-name form `family^given` (PID-5, MRG-7, PatientName), both again as JSON
//!   `\uXXXX` escapes (the hub's tracing writes raw UTF-8, other tools escape), and the name
//!   percent-encoded (an HTTP access log's URL). The misspelt names of the merged duplicate
//!   registrations are read from the A40 messages' MRG-7.
//!
//! The simulator generates no addresses and no insurance card numbers beyond `psn_no`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use hub_simulator::county::PROVINCIAL_HOSPITAL;
use hub_simulator::{County, Simulation};
use serde::Serialize;

/// The kind of a personal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Resident ID number (GB 11643).
    IdNumber,
    /// Full Chinese name.
    Name,
    /// Mobile phone.
    Phone,
    /// NHSA person number (`psn_no`).
    InsuranceNumber,
    /// A facility's patient id (MRN).
    PatientId,
}

/// Distinct values looked for, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Resident ID numbers.
    pub id_numbers: usize,
    /// Names (two characters or more).
    pub names: usize,
    /// Mobile phones.
    pub phones: usize,
    /// NHSA person numbers.
    pub insurance_numbers: usize,
    /// Facility patient ids.
    pub patient_ids: usize,
}

/// Every personal value of one simulated county, by kind.
#[derive(Debug, Default)]
pub struct Identifiers {
    values: BTreeMap<Kind, BTreeSet<String>>,
}

impl Identifiers {
    /// Collects the personal values of `simulation` (its residents and its merge messages).
    pub fn of(county: &County, simulation: &Simulation) -> Self {
        let mut ids = Self::default();
        let facilities: BTreeSet<&str> = county
            .hospitals
            .iter()
            .chain(&county.centres)
            .chain(&county.villages)
            .chain(&county.outside)
            .chain([&county.lab, &county.imaging])
            .chain(&county.pharmacy)
            .map(|f| f.code.as_str())
            .chain([PROVINCIAL_HOSPITAL.0])
            .collect();
        for r in &simulation.residents {
            ids.add(Kind::IdNumber, &r.id_number);
            ids.add(Kind::Name, &r.name);
            ids.add(Kind::Phone, &r.phone);
            ids.add(Kind::InsuranceNumber, &r.psn_no);
            for facility in &facilities {
                ids.add(Kind::PatientId, &r.mrn(facility));
            }
        }
        // The duplicate registrations: MRG-1 is the merged patient id, MRG-7 its name.
        for message in &simulation.messages {
            for segment in message.body.split('\r').filter(|s| s.starts_with("MRG|")) {
                let fields: Vec<&str> = segment.split('|').collect();
                if let Some(id) = fields.get(1).and_then(|f| f.split('^').next()) {
                    ids.add(Kind::PatientId, id);
                }
                if let Some(name) = fields.get(7) {
                    ids.add(Kind::Name, &name.replace('^', ""));
                }
            }
        }
        ids
    }

    /// Adds a value; empty values and names shorter than two characters are left out.
    pub fn add(&mut self, kind: Kind, value: &str) {
        let shortest = if kind == Kind::Name { 2 } else { 1 };
        if value.chars().count() >= shortest {
            self.values
                .entry(kind)
                .or_default()
                .insert(value.to_owned());
        }
    }

    /// Distinct values by kind.
    pub fn counts(&self) -> Counts {
        let n = |kind| self.values.get(&kind).map_or(0, BTreeSet::len);
        Counts {
            id_numbers: n(Kind::IdNumber),
            names: n(Kind::Name),
            phones: n(Kind::Phone),
            insurance_numbers: n(Kind::InsuranceNumber),
            patient_ids: n(Kind::PatientId),
        }
    }

    /// Every search pattern with its kind, each pattern once (the first kind wins).
    pub fn patterns(&self) -> Vec<(Vec<u8>, Kind)> {
        let mut patterns: BTreeMap<Vec<u8>, Kind> = BTreeMap::new();
        for (kind, values) in &self.values {
            for value in values {
                for form in forms(*kind, value) {
                    patterns.entry(form.into_bytes()).or_insert(*kind);
                }
            }
        }
        patterns.into_iter().collect()
    }
}

/// The forms of one value a log line could hold.
fn forms(kind: Kind, value: &str) -> Vec<String> {
    if kind != Kind::Name {
        return vec![value.to_owned()];
    }
    // Family names of one character (all the simulator's): 王伟 is PID-5 `王^伟`.
    let split = value.chars().next().map_or(0, char::len_utf8);
    let (family, given) = value.split_at(split);
    let person_name = format!("{family}^{given}");
    let mut forms = vec![
        json_escaped(value),
        json_escaped(&person_name),
        percent_encoded(value),
        value.to_owned(),
        person_name,
    ];
    forms.dedup();
    forms
}

/// `\uXXXX` for every character outside ASCII (UTF-16 units, as JSON writes them).
fn json_escaped(text: &str) -> String {
    let mut out = String::new();
    let mut units = [0u16; 2];
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// `%XX` for every byte outside ASCII.
fn percent_encoded(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_searched_in_their_escaped_and_hl7_forms() {
        let forms = forms(Kind::Name, "王伟");
        assert!(forms.contains(&"王伟".to_owned()));
        assert!(forms.contains(&"王^伟".to_owned()));
        assert!(forms.contains(&"\\u738b\\u4f1f".to_owned()));
        assert!(forms.contains(&"\\u738b^\\u4f1f".to_owned()));
        assert!(forms.contains(&"%E7%8E%8B%E4%BC%9F".to_owned()));
        assert_eq!(json_escaped("𠀀"), "\\ud840\\udc00");
        assert_eq!(super::forms(Kind::Phone, "13900000000"), ["13900000000"]);
    }

    #[test]
    fn single_characters_and_empty_values_are_left_out() {
        let mut ids = Identifiers::default();
        ids.add(Kind::Name, "王");
        ids.add(Kind::Phone, "");
        ids.add(Kind::Name, "李娜");
        ids.add(Kind::Name, "李娜");
        assert_eq!(
            ids.counts(),
            Counts {
                names: 1,
                ..Counts::default()
            }
        );
        assert_eq!(ids.patterns().len(), 5);
    }
}
