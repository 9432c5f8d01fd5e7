//! The county's year, day by day: outpatient visits (mostly at primary care), admissions and
//! discharges, referrals up and down, lab and imaging orders reported by the shared centres
//! (some critical), settlements in and out of the county with reversals and cancellations,
//! cancelled registrations, pharmacy purchases and duplicate registrations merged by A40.
//!
//! Each simulated happening is written twice: as the messages the source systems send
//! ([`Outgoing`]) and as ground truth ([`Truth`]) from which the expected indicators are computed.

use std::collections::BTreeMap;

use hub_terminology::{Facility, FacilityLevel};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use chrono::DateTime;

use crate::config::Config;
use crate::county::{County, PROVINCIAL_HOSPITAL};
use crate::dicom::Instance;
use crate::expected::{OrderTruth, ReferralTruth, SettledTruth, Truth, VisitTruth};
use crate::hl7::{self, Dx, Header, Observation, Order, Patient, Procedure, Visit};
use crate::people::Resident;
use crate::settlement::{self, Settled};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Outpatient diagnoses (clinical version codes the terminology maps).
const OUTPATIENT_DX: &[Dx<'static>] = &[
    ("I10.x00", "特发性(原发性)高血压"),
    ("I10.x00x003", "高血压2级"),
    ("E11.900", "2型糖尿病"),
    ("E11.900x001", "2型糖尿病不伴有并发症"),
    ("J18.900", "肺炎"),
    ("J44.100", "慢性阻塞性肺病伴有急性加重"),
];
/// Inpatient diagnoses.
const INPATIENT_DX: &[Dx<'static>] = &[
    ("I63.900", "脑梗死"),
    ("I21.900", "急性心肌梗死"),
    ("J18.900", "肺炎"),
    ("J44.100", "慢性阻塞性肺病伴有急性加重"),
    ("K35.800", "急性阑尾炎，其他和未特指的"),
    ("C34.900", "肺恶性肿瘤"),
];
/// Imaging procedures: RIS code, name, modality, body part.
const PROCEDURES: &[(&str, &str, &str, &str, &str)] = &[
    ("CT0101", "胸部CT平扫", "CT", "CHEST", "胸部"),
    ("DR0201", "胸部正位片", "DR", "CHEST", "胸部"),
    ("US0301", "腹部彩超", "US", "ABDOMEN", "腹部"),
    ("CT0401", "头颅CT平扫", "CT", "HEAD", "头部"),
];

/// The kind of feed a message goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Source {
    /// A facility's HIS (ADT, orders, referrals).
    His,
    /// The shared lab centre's LIS.
    Lab,
    /// The shared imaging centre's RIS.
    Imaging,
}

/// Where a message is delivered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Route {
    /// HL7 v2 over MLLP from `facility`'s `source` system.
    Mllp {
        /// The sending facility.
        facility: String,
        /// Its system.
        source: Source,
    },
    /// A settlement record of the insurance bureau (HTTP batches).
    Settlement,
    /// A DICOM Part-10 file written by `facility`'s modality into the imaging drop folder (the
    /// body is the instance's attributes as JSON, see [`crate::dicom::Instance`]).
    DicomFile {
        /// The performing centre.
        facility: String,
    },
    /// A row version in `facility`'s front-end-processor visit table (the body is the row as a
    /// JSON object, see [`crate::table`]).
    TableRow {
        /// The facility whose HIS writes the table.
        facility: String,
    },
}

/// One message as a source system sends it.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// Send time (MSH-7 / settlement time), epoch ms: the send order.
    pub at: i64,
    /// Where it goes.
    pub route: Route,
    /// MSH-10 or `setl_id`.
    pub id: String,
    /// ER7 text (segments ended by CR), one JSON object (settlement), or the JSON attributes of a
    /// DICOM instance.
    pub body: String,
}

/// What the county health record of one resident must hold (timeline counts by type).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordTruth {
    /// Encounter events (each ADT with a visit).
    pub encounter: usize,
    /// Lab results (one per OBX).
    pub lab: usize,
    /// Settlement records, reversals and cancellations included.
    pub settlement: usize,
    /// Imaging reports.
    pub imaging_report: usize,
    /// Undone settlements or a merged duplicate: identity depends on arrival order; not a
    /// clean spot check.
    pub complicated: bool,
}

/// The generator's state.
pub(crate) struct Generator<'a> {
    pub rng: ChaCha8Rng,
    pub config: &'a Config,
    pub county: &'a County,
    pub residents: &'a [Resident],
    pub messages: Vec<Outgoing>,
    pub truth: Truth,
    pub records: BTreeMap<usize, RecordTruth>,
    counter: u64,
    tag: String,
}

impl<'a> Generator<'a> {
    pub fn new(
        rng: ChaCha8Rng,
        config: &'a Config,
        county: &'a County,
        residents: &'a [Resident],
    ) -> Self {
        Self {
            rng,
            config,
            county,
            residents,
            messages: Vec::new(),
            truth: Truth::default(),
            records: BTreeMap::new(),
            counter: 0,
            tag: format!("{:04}", config.seed % 10_000),
        }
    }

    /// A new id: `prefix`, the seed tag, a counter.
    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}{:07}", self.tag, self.counter)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn record(&mut self, resident: usize) -> &mut RecordTruth {
        self.records.entry(resident).or_default()
    }

    fn send_hl7(&mut self, facility: &str, source: Source, at: i64, id: String, body: String) {
        self.messages.push(Outgoing {
            at,
            route: Route::Mllp {
                facility: facility.to_owned(),
                source,
            },
            id,
            body,
        });
    }

    /// Runs every day of the period, then the merges.
    pub fn run(&mut self, start_ms: i64) {
        let c = self.config;
        let (p_visit, p_admit, p_pharmacy) = (
            c.visits_per_year / 365.0,
            c.admissions_per_year / 365.0,
            c.pharmacy_per_year / 365.0,
        );
        for day in 0..i64::from(c.days) {
            let day_start = start_ms + day * DAY;
            for r in 0..self.residents.len() {
                if self.chance(p_visit) {
                    let at = day_start + self.rng.random_range(8 * HOUR..16 * HOUR) / 1000 * 1000;
                    self.outpatient(r, at);
                }
                if self.chance(p_admit) {
                    let at = day_start + self.rng.random_range(7 * HOUR..20 * HOUR) / 1000 * 1000;
                    self.admission(r, at);
                }
                if self.county.pharmacy.is_some() && self.chance(p_pharmacy) {
                    let at = day_start + self.rng.random_range(9 * HOUR..19 * HOUR) / 1000 * 1000;
                    self.pharmacy(r, at);
                }
            }
        }
        if !self.residents.is_empty() && c.days > 0 {
            for _ in 0..c.merges {
                let r = self.rng.random_range(0..self.residents.len());
                let day = self.rng.random_range(0..i64::from(c.days));
                let at = start_ms
                    + day * DAY
                    + 9 * HOUR
                    + self.rng.random_range(0..6 * HOUR) / 1000 * 1000;
                self.duplicate_and_merge(r, at);
            }
        }
        self.messages.sort_by_key(|m| m.at);
    }

    fn outpatient(&mut self, r: usize, at: i64) {
        let county = self.county;
        if !self.chance(self.config.in_county_rate) {
            let (code, area) = self.outside_hospital();
            let fee = self.rng.random_range(20_000..120_000);
            let dx = *OUTPATIENT_DX
                .choose(&mut self.rng)
                .unwrap_or(&OUTPATIENT_DX[0]);
            self.settle(r, &code, &area, "11", at + HOUR, None, fee, dx);
            return;
        }
        let resident = &self.residents[r];
        let primary = self.chance(self.config.primary_care_share);
        let facility: &Facility = if primary {
            if self.chance(0.5) {
                &county.villages[resident.village % county.villages.len()]
            } else {
                &county.centres[resident.centre % county.centres.len()]
            }
        } else {
            county
                .hospitals
                .choose(&mut self.rng)
                .unwrap_or(&county.hospitals[0])
        };
        let emergency = !primary && self.chance(self.config.emergency_share);
        let class = if emergency { "E" } else { "O" };
        let department = match (primary, emergency) {
            (true, _) => ("QK01", "全科门诊"),
            (false, true) => ("JZ01", "急诊科"),
            (false, false) => ("NK01", "内科门诊"),
        };
        let visit_number = self.next_id("MZ");
        let dx = *OUTPATIENT_DX
            .choose(&mut self.rng)
            .unwrap_or(&OUTPATIENT_DX[0]);
        let visit = Visit {
            class,
            department,
            doctor: "D0101",
            visit_number: &visit_number,
            admit: at,
            discharge: None,
        };
        let cancelled = if self.config.table_facilities.contains(&facility.code) {
            self.table_visit(r, facility, class, department, &visit_number, at)
        } else {
            self.hl7_visit(r, facility, &visit, dx)
        };
        self.truth.visits.push(VisitTruth {
            facility: facility.code.clone(),
            primary_care: facility.primary_care,
            class,
            at,
            cancelled,
        });
        if cancelled {
            return;
        }
        if !self.chance(self.config.self_pay_rate) {
            let fee = match facility.level {
                FacilityLevel::VillageClinic => self.rng.random_range(1_500..8_000),
                FacilityLevel::TownshipCentre | FacilityLevel::CommunityCentre => {
                    self.rng.random_range(5_000..30_000)
                }
                _ => self.rng.random_range(15_000..80_000),
            };
            let med_type = if emergency { "13" } else { "11" };
            let settle_at = at + self.rng.random_range(30..90) * MINUTE;
            self.settle(
                r,
                &facility.code,
                &county.code,
                med_type,
                settle_at,
                None,
                fee,
                dx,
            );
        }
        if self.chance(self.config.lab_order_rate) {
            self.lab_order(r, facility, &visit_number, at + 10 * MINUTE);
        }
        if self.chance(self.config.imaging_order_rate) {
            self.imaging_order(r, facility, &visit_number, at + 15 * MINUTE);
        }
        if primary && self.chance(self.config.referral_up_rate) {
            let to = if facility.level == FacilityLevel::VillageClinic && self.chance(0.3) {
                county.centres[resident.centre % county.centres.len()]
                    .code
                    .clone()
            } else {
                county
                    .hospitals
                    .choose(&mut self.rng)
                    .unwrap_or(&county.hospitals[0])
                    .code
                    .clone()
            };
            self.refer(r, facility, &to, &visit_number, at + 40 * MINUTE, dx);
        }
    }

    /// Registration (A04), perhaps cancelled (A11) ten minutes later; true when cancelled.
    fn hl7_visit(
        &mut self,
        r: usize,
        facility: &Facility,
        visit: &Visit<'_>,
        dx: Dx<'static>,
    ) -> bool {
        let resident = &self.residents[r];
        let at = visit.admit;
        let patient = Patient {
            resident,
            facility: &facility.code,
            duplicate: None,
        };
        let id = self.next_id("ADT");
        let header = Header {
            app: "HIS",
            facility: &facility.code,
            at,
            kind: "ADT^A04^ADT_A01",
            control_id: &id,
            version: "2.4",
        };
        let body = hl7::adt(&header, "A04", &patient, visit, &[dx]);
        self.send_hl7(&facility.code, Source::His, at, id.clone(), body);
        self.record(r).encounter += 1;
        if !self.chance(self.config.cancel_rate) {
            return false;
        }
        let at = at + 10 * MINUTE;
        let id = self.next_id("ADT");
        let header = Header {
            at,
            kind: "ADT^A11^ADT_A09",
            control_id: &id,
            ..header
        };
        let body = hl7::adt(&header, "A11", &patient, visit, &[]);
        self.send_hl7(&facility.code, Source::His, at, id.clone(), body);
        self.record(r).encounter += 1;
        true
    }

    /// The visit row in the facility's front-end table, perhaps updated as cancelled; true when
    /// cancelled. How many versions the hub sees depends on its polling: no clean spot check.
    fn table_visit(
        &mut self,
        r: usize,
        facility: &Facility,
        class: &str,
        department: (&str, &str),
        visit_number: &str,
        at: i64,
    ) -> bool {
        let resident = &self.residents[r];
        let local = |ms: i64| {
            DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .with_timezone(&hl7::china())
        };
        let mut row = serde_json::json!({
            "visit_id": visit_number,
            "encounter_id": visit_number,
            "encounter_class": class,
            "admit_time": local(at).format("%Y-%m-%d %H:%M:%S").to_string(),
            "department_code": department.0,
            "department_name": department.1,
            "patient_mrn": resident.mrn(&facility.code),
            "patient_id_number": resident.id_number,
            "patient_name": resident.name,
            "patient_birth_date": resident.birth_date.format("%Y-%m-%d").to_string(),
            "patient_sex": resident.sex,
            "patient_phone": resident.phone,
            "cancelled": false,
            "synthetic": true,
            "updated_at": local(at).to_rfc3339(),
        });
        let route = Route::TableRow {
            facility: facility.code.clone(),
        };
        self.messages.push(Outgoing {
            at,
            route: route.clone(),
            id: visit_number.to_owned(),
            body: row.to_string(),
        });
        self.record(r).complicated = true;
        if !self.chance(self.config.cancel_rate) {
            return false;
        }
        let when = at + 10 * MINUTE;
        row["cancelled"] = serde_json::json!(true);
        row["updated_at"] = serde_json::json!(local(when).to_rfc3339());
        self.messages.push(Outgoing {
            at: when,
            route,
            id: visit_number.to_owned(),
            body: row.to_string(),
        });
        true
    }

    fn admission(&mut self, r: usize, admit: i64) {
        let county = self.county;
        let resident = &self.residents[r];
        let dx = *INPATIENT_DX
            .choose(&mut self.rng)
            .unwrap_or(&INPATIENT_DX[0]);
        let days = self.rng.random_range(2..12);
        let discharge = admit + days * DAY + self.rng.random_range(0..4 * HOUR) / 1000 * 1000;
        if !self.chance(self.config.inpatient_in_county_share) {
            let (code, area) = self.outside_hospital();
            let fee = self.rng.random_range(1_500_000..6_000_000);
            if self.chance(0.5) && county.facility(&code).is_some() {
                let from = county
                    .hospitals
                    .choose(&mut self.rng)
                    .unwrap_or(&county.hospitals[0]);
                let visit_number = self.next_id("MZ");
                self.refer(r, from, &code, &visit_number, admit - 2 * HOUR, dx);
            }
            self.settle(
                r,
                &code,
                &area,
                "21",
                discharge + HOUR,
                Some((admit, discharge)),
                fee,
                dx,
            );
            return;
        }
        let facility: &Facility = if self.chance(0.8) {
            county
                .hospitals
                .choose(&mut self.rng)
                .unwrap_or(&county.hospitals[0])
        } else {
            &county.centres[resident.centre % county.centres.len()]
        };
        let visit_number = self.next_id("ZY");
        let patient = Patient {
            resident,
            facility: &facility.code,
            duplicate: None,
        };
        let mut visit = Visit {
            class: "I",
            department: ("NK02", "内科病区"),
            doctor: "D0231",
            visit_number: &visit_number,
            admit,
            discharge: None,
        };
        for (trigger, at) in [("A01", admit), ("A03", discharge)] {
            if trigger == "A03" {
                visit.discharge = Some(discharge);
            }
            let id = self.next_id("ADT");
            let kind = format!(
                "ADT^{trigger}^ADT_{}",
                if trigger == "A01" { "A01" } else { "A03" }
            );
            let header = Header {
                app: "HIS",
                facility: &facility.code,
                at,
                kind: &kind,
                control_id: &id,
                version: "2.4",
            };
            let body = hl7::adt(&header, trigger, &patient, &visit, &[dx]);
            self.send_hl7(&facility.code, Source::His, at, id, body);
            self.record(r).encounter += 1;
        }
        self.truth.visits.push(VisitTruth {
            facility: facility.code.clone(),
            primary_care: facility.primary_care,
            class: "I",
            at: admit,
            cancelled: false,
        });
        let fee = if facility.primary_care {
            self.rng.random_range(200_000..600_000)
        } else {
            self.rng.random_range(500_000..2_000_000)
        };
        self.settle(
            r,
            &facility.code,
            &county.code,
            "21",
            discharge + HOUR,
            Some((admit, discharge)),
            fee,
            dx,
        );
        if !facility.primary_care && self.chance(self.config.referral_down_rate) {
            let to = county.centres[resident.centre % county.centres.len()]
                .code
                .clone();
            self.refer(r, facility, &to, &visit_number, discharge + 30 * MINUTE, dx);
        }
    }

    fn pharmacy(&mut self, r: usize, at: i64) {
        let Some(pharmacy) = &self.county.pharmacy else {
            return;
        };
        let fee = self.rng.random_range(2_000..20_000);
        let dx = OUTPATIENT_DX[0];
        let (code, area) = (pharmacy.code.clone(), pharmacy.admdvs.clone());
        self.settle(r, &code, &area, "41", at, None, fee, dx);
    }

    /// A registered city hospital (70%) or the unregistered provincial one: code and area.
    fn outside_hospital(&mut self) -> (String, String) {
        if self.chance(0.7) {
            let f = self
                .county
                .outside
                .choose(&mut self.rng)
                .unwrap_or(&self.county.outside[0]);
            (f.code.clone(), f.admdvs.clone())
        } else {
            (
                PROVINCIAL_HOSPITAL.0.to_owned(),
                PROVINCIAL_HOSPITAL.1.to_owned(),
            )
        }
    }

    /// A settlement (unless self-paying), possibly reversed or cancelled and settled again.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &mut self,
        r: usize,
        facility: &str,
        area: &str,
        med_type: &'static str,
        at: i64,
        stay: Option<(i64, i64)>,
        medfee: i64,
        dx: Dx<'static>,
    ) {
        let resident = &self.residents[r];
        let share = if stay.is_some() {
            self.rng.random_range(55..75)
        } else {
            self.rng.random_range(40..65)
        };
        let fund = medfee * share / 100;
        let registered = self.county.facility(facility);
        let in_county = registered.map_or(area, |f| f.admdvs.as_str()) == self.county.code;
        let primary_care = registered.is_some_and(|f| f.primary_care);
        let pharmacy =
            med_type == "41" || registered.is_some_and(|f| f.level == FacilityLevel::Pharmacy);
        let insuplc = resident.insured_place.clone();
        let mut s = Settled {
            resident,
            setl_id: self.next_id(&format!("{insuplc}G")),
            mdtrt_id: self.next_id(&format!("{insuplc}M")),
            fixmedins_code: facility.to_owned(),
            mdtrtarea_admvs: area.to_owned(),
            med_type,
            at,
            stay,
            medfee,
            fund,
            diagnosis: Some(dx),
        };
        self.messages.push(Outgoing {
            at,
            route: Route::Settlement,
            id: s.setl_id.clone(),
            body: settlement::settlement(&s).to_string(),
        });
        self.record(r).settlement += 1;
        let mut truth = SettledTruth {
            facility: facility.to_owned(),
            in_county,
            primary_care,
            pharmacy,
            insured_place: insuplc.clone(),
            inpatient: stay.is_some(),
            at,
            net: 1,
            medfee,
            fund,
        };
        if self.chance(self.config.reversal_rate) {
            let when = at + HOUR;
            let setl_id = self.next_id(&format!("{insuplc}G"));
            let msgid = format!("{facility}{}", hl7::ts(at));
            let body = settlement::reversal(&s, &setl_id, &msgid, when).to_string();
            self.messages.push(Outgoing {
                at: when,
                route: Route::Settlement,
                id: setl_id,
                body,
            });
            truth.net = 0;
            truth.medfee = 0;
            truth.fund = 0;
            let record = self.record(r);
            record.settlement += 1;
            record.complicated = true;
        } else if self.chance(self.config.resettle_rate) {
            let when = at + 2 * HOUR;
            let body = settlement::cancellation(&s, when).to_string();
            self.messages.push(Outgoing {
                at: when,
                route: Route::Settlement,
                id: s.setl_id.clone(),
                body,
            });
            s.setl_id = self.next_id(&format!("{insuplc}G"));
            s.at = when + MINUTE;
            s.medfee = medfee * 9 / 10;
            s.fund = fund * 9 / 10;
            self.messages.push(Outgoing {
                at: s.at,
                route: Route::Settlement,
                id: s.setl_id.clone(),
                body: settlement::settlement(&s).to_string(),
            });
            truth.medfee = s.medfee;
            truth.fund = s.fund;
            let record = self.record(r);
            record.settlement += 2;
            record.complicated = true;
        }
        self.truth.settled.push(truth);
    }

    fn lab_order(&mut self, r: usize, ordering: &Facility, visit_number: &str, ordered: i64) {
        let resident = &self.residents[r];
        let lab = &self.county.lab;
        let collected = ordered + self.rng.random_range(5..30) * MINUTE;
        // Turnaround: mostly one to three hours, a tail up to a day.
        let minutes = if self.chance(0.1) {
            self.rng.random_range(240..1440)
        } else {
            self.rng.random_range(40..180)
        };
        let reported = ordered + minutes * MINUTE + self.rng.random_range(0..60) * 1000;
        let critical = self.chance(self.config.critical_rate);
        let (k, k_flag) = if critical {
            ("6.8".to_owned(), "HH")
        } else {
            (
                format!("{:.1}", self.rng.random_range(35..52) as f64 / 10.0),
                "N",
            )
        };
        let glu = self.rng.random_range(40..90) as f64 / 10.0;
        let obs = vec![
            Observation {
                code: "GLU",
                name: "葡萄糖",
                value: format!("{glu:.1}"),
                unit: "mmol/L",
                range: "3.9-6.1",
                flag: if glu > 6.1 { "H" } else { "N" },
            },
            Observation {
                code: "K",
                name: "钾",
                value: k,
                unit: "mmol/L",
                range: "3.5-5.3",
                flag: k_flag,
            },
            Observation {
                code: "NA",
                name: "钠",
                value: self.rng.random_range(136..146).to_string(),
                unit: "mmol/L",
                range: "137-147",
                flag: "N",
            },
            Observation {
                code: "CREA",
                name: "肌酐",
                value: self.rng.random_range(45..110).to_string(),
                unit: "umol/L",
                range: "41-111",
                flag: "N",
            },
        ];
        let order_id = self.next_id("LO");
        let filler = self.next_id("LS");
        let order = Order {
            order_id: &order_id,
            filler_id: &filler,
            ordering: (&ordering.code, &ordering.name),
            centre: (&lab.code, &lab.name),
            ordered,
            performed: collected,
            reported,
        };
        let patient = Patient {
            resident,
            facility: &ordering.code,
            duplicate: None,
        };
        let id = self.next_id("LAB");
        let header = Header {
            app: "LIS",
            facility: &lab.code,
            at: reported,
            kind: "ORU^R01^ORU_R01",
            control_id: &id,
            version: "2.5",
        };
        let body = hl7::lab_result(&header, &patient, visit_number, &order, &obs);
        self.send_hl7(&lab.code, Source::Lab, reported, id, body);
        self.record(r).lab += obs.len();
        self.truth.orders.push(OrderTruth {
            service: "lab",
            centre: lab.code.clone(),
            ordered,
            reported,
        });
    }

    fn imaging_order(&mut self, r: usize, ordering: &Facility, visit_number: &str, ordered: i64) {
        let resident = &self.residents[r];
        let centre = &self.county.imaging;
        let (code, name, modality, part, part_name) =
            *PROCEDURES.choose(&mut self.rng).unwrap_or(&PROCEDURES[0]);
        let performed = ordered + self.rng.random_range(30..24 * 60) * MINUTE;
        let reported = performed + self.rng.random_range(20..180) * MINUTE;
        let order_id = self.next_id("IO");
        let filler = self.next_id("RP");
        let accession = self.next_id("ACC");
        let uid = format!("1.2.156.112605.9.{}.{}", self.config.seed, self.counter);
        let procedure = Procedure {
            code: (code, name),
            modality,
            body_part: (part, part_name),
            accession: &accession,
            study_uid: &uid,
        };
        let order = Order {
            order_id: &order_id,
            filler_id: &filler,
            ordering: (&ordering.code, &ordering.name),
            centre: (&centre.code, &centre.name),
            ordered,
            performed,
            reported,
        };
        let patient = Patient {
            resident,
            facility: &ordering.code,
            duplicate: None,
        };
        let id = self.next_id("ORM");
        let header = Header {
            app: "HIS",
            facility: &ordering.code,
            at: ordered,
            kind: "ORM^O01",
            control_id: &id,
            version: "2.3.1",
        };
        let body = hl7::imaging_order(&header, &patient, visit_number, &order, &procedure);
        self.send_hl7(&ordering.code, Source::His, ordered, id, body);
        let (family, given) = resident
            .name
            .split_at(resident.name.chars().next().map_or(0, char::len_utf8));
        let local = DateTime::from_timestamp_millis(performed)
            .unwrap_or_default()
            .with_timezone(&hl7::china());
        let instance = Instance {
            modality: if modality == "DR" {
                "DX".to_owned()
            } else {
                modality.to_owned()
            },
            sop_uid: format!("{uid}.1.1"),
            study_uid: uid.clone(),
            series_uid: format!("{uid}.1"),
            accession: accession.clone(),
            order_id: order_id.clone(),
            study_date: local.format("%Y%m%d").to_string(),
            study_time: local.format("%H%M%S").to_string(),
            institution: centre.name.clone(),
            description: name.to_owned(),
            patient_name: format!("{family}^{given}"),
            patient_id: resident.mrn(&ordering.code),
            id_number: resident.id_number.clone(),
            birth_date: resident.birth_date.format("%Y%m%d").to_string(),
            sex: if resident.sex == "1" { "M" } else { "F" }.to_owned(),
            body_part: part.to_owned(),
        };
        self.messages.push(Outgoing {
            at: performed,
            route: Route::DicomFile {
                facility: centre.code.clone(),
            },
            id: instance.sop_uid.clone(),
            body: serde_json::to_string(&instance).unwrap_or_default(),
        });
        let critical = self.chance(self.config.critical_rate);
        let (findings, impression) = if critical {
            (
                "右肺上叶见软组织密度结节影，边缘毛糙。",
                "右肺上叶结节，考虑周围型肺癌可能。",
            )
        } else {
            ("未见明显异常密度影。", "未见明显异常。")
        };
        let id = self.next_id("RIS");
        let header = Header {
            app: "RIS",
            facility: &centre.code,
            at: reported,
            kind: "ORU^R01",
            control_id: &id,
            version: "2.3.1",
        };
        let body = hl7::imaging_report(
            &header, &patient, &order, &procedure, findings, impression, critical,
        );
        self.send_hl7(&centre.code, Source::Imaging, reported, id, body);
        self.record(r).imaging_report += 1;
        self.truth.orders.push(OrderTruth {
            service: "imaging",
            centre: centre.code.clone(),
            ordered,
            reported,
        });
    }

    fn refer(
        &mut self,
        r: usize,
        from: &Facility,
        to: &str,
        visit_number: &str,
        at: i64,
        reason: Dx<'static>,
    ) {
        let resident = &self.residents[r];
        let tier = |code: &str| self.county.facility(code).and_then(|f| f.level.tier());
        let direction = match (from.level.tier(), tier(to)) {
            (Some(a), Some(b)) if a < b => "UP",
            (Some(a), Some(b)) if a > b => "DOWN",
            _ => "LATERAL",
        };
        let word = match direction {
            "UP" => Some(("UP", "上转")),
            "DOWN" => Some(("DOWN", "下转")),
            _ => None,
        };
        // Half the senders leave the direction to the hub (derived from the facility levels).
        let sent_direction = if self.chance(0.5) { word } else { None };
        let referral_id = self.next_id("ZZ");
        let referral = hl7::Referral {
            id: &referral_id,
            from: &from.code,
            to,
            direction: sent_direction,
            referred: at,
            reason,
            visit_number,
        };
        let patient = Patient {
            resident,
            facility: &from.code,
            duplicate: None,
        };
        let id = self.next_id("REF");
        let header = Header {
            app: "HIS",
            facility: &from.code,
            at,
            kind: "REF^I12^REF_I12",
            control_id: &id,
            version: "2.5",
        };
        let body = hl7::referral(&header, "I12", &patient, &referral);
        self.send_hl7(&from.code, Source::His, at, id.clone(), body);
        let cancelled = self.chance(self.config.referral_cancel_rate);
        if cancelled {
            let when = at + 2 * HOUR;
            let id = self.next_id("REF");
            let header = Header {
                at: when,
                kind: "REF^I14^REF_I12",
                control_id: &id,
                ..header
            };
            let body = hl7::referral(&header, "I14", &patient, &referral);
            self.send_hl7(&from.code, Source::His, when, id, body);
        }
        let touches_county = from.admdvs == self.county.code
            || self
                .county
                .facility(to)
                .is_some_and(|f| f.admdvs == self.county.code);
        self.truth.referrals.push(ReferralTruth {
            direction,
            at,
            cancelled,
            touches_county,
        });
    }

    /// A second registration of resident `r` at the home village clinic under a new patient id,
    /// a misspelt name and no ID number (a real visit), merged into the resident a day later.
    fn duplicate_and_merge(&mut self, r: usize, at: i64) {
        let resident = &self.residents[r];
        let village = &self.county.villages[resident.village % self.county.villages.len()];
        let mrn = self.next_id("D");
        let family: String = resident.name.chars().take(1).collect();
        let misspelt = if resident.name.ends_with('英') {
            "瑛"
        } else {
            "英"
        };
        let name = format!("{family}{misspelt}");
        let visit_number = self.next_id("MZ");
        let duplicate = Patient {
            resident,
            facility: &village.code,
            duplicate: Some((mrn.clone(), name.clone())),
        };
        let visit = Visit {
            class: "O",
            department: ("QK01", "全科门诊"),
            doctor: "D0101",
            visit_number: &visit_number,
            admit: at,
            discharge: None,
        };
        let id = self.next_id("ADT");
        let header = Header {
            app: "HIS",
            facility: &village.code,
            at,
            kind: "ADT^A04^ADT_A01",
            control_id: &id,
            version: "2.4",
        };
        let dx = OUTPATIENT_DX[0];
        let body = hl7::adt(&header, "A04", &duplicate, &visit, &[dx]);
        self.send_hl7(&village.code, Source::His, at, id.clone(), body);
        self.truth.visits.push(VisitTruth {
            facility: village.code.clone(),
            primary_care: village.primary_care,
            class: "O",
            at,
            cancelled: false,
        });
        let when = at + DAY;
        let id = self.next_id("ADT");
        let header = Header {
            at: when,
            kind: "ADT^A40^ADT_A39",
            control_id: &id,
            ..header
        };
        let survivor = Patient {
            resident,
            facility: &village.code,
            duplicate: None,
        };
        let body = hl7::merge(&header, &survivor, &mrn, &name);
        self.send_hl7(&village.code, Source::His, when, id, body);
        self.record(r).complicated = true;
    }
}
