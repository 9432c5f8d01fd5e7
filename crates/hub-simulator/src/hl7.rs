//! HL7 v2 (ER7, UTF-8) builders for the messages the county's systems send: ADT A01/A03/A04/A11
//! (PID, PV1, DG1), A40 merges (MRG), lab ORU^R01 (ORC, OBR, OBX), imaging ORM^O01 and report
//! ORU^R01, REF^I12/I14 referrals. Shapes follow `crates/hub-hl7/tests/golden`.
//!
//! Every message is marked synthetic twice: MSH-11 processing id `T` (training/test) and a
//! `ZSY|SYNTHETIC^hub-simulator` segment (Z-segments are ignored by the mapping); the connector
//! listeners the simulator feeds also mark every raw message `hub-synthetic: true`.

use chrono::{DateTime, FixedOffset};

use crate::people::Resident;

/// China Standard Time, the zone of every simulated local time.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// An HL7 TS (`YYYYMMDDHHMMSS`, China time, no zone) of epoch milliseconds.
pub fn ts(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&china())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// The segment marking synthetic data.
const SYNTHETIC: &str = "ZSY|SYNTHETIC^hub-simulator";

/// A segment from its fields (index 0 is the segment id); trailing empty fields dropped.
fn seg(fields: &[&str]) -> String {
    let last = fields.iter().rposition(|f| !f.is_empty()).unwrap_or(0);
    fields[..=last].join("|")
}

/// A segment with fields set at 1-based positions.
fn seg_at(id: &str, fields: &[(usize, &str)]) -> String {
    let width = fields.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let mut all = vec![""; width + 1];
    all[0] = id;
    for (i, v) in fields {
        all[*i] = v;
    }
    seg(&all)
}

/// Message header data.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// Sending application: `HIS`, `LIS`, `RIS`.
    pub app: &'a str,
    /// Sending facility code.
    pub facility: &'a str,
    /// Message time, epoch ms.
    pub at: i64,
    /// MSH-9, e.g. `ADT^A04^ADT_A01`.
    pub kind: &'a str,
    /// MSH-10 control id.
    pub control_id: &'a str,
    /// MSH-12 version.
    pub version: &'a str,
}

fn msh(h: &Header<'_>) -> String {
    format!(
        "MSH|^~\\&|{}|{}|HUB|COUNTYHUB|{}||{}|{}|T|{}|||AL|NE|CHN|UNICODE UTF-8",
        h.app,
        h.facility,
        ts(h.at),
        h.kind,
        h.control_id,
        h.version
    )
}

fn message(segments: &[String]) -> String {
    let mut text = segments.join("\r");
    text.push('\r');
    text
}

/// Splits a Chinese name into family and given name (single-character family names).
fn split_name(name: &str) -> (String, String) {
    let mut chars = name.chars();
    let family: String = chars.next().map(String::from).unwrap_or_default();
    (family, chars.collect())
}

/// How a patient is identified in PID.
#[derive(Debug, Clone)]
pub struct Patient<'a> {
    /// The resident.
    pub resident: &'a Resident,
    /// The facility whose MRN is sent.
    pub facility: &'a str,
    /// A duplicate registration: this MRN, this name, no ID number and no phone.
    pub duplicate: Option<(String, String)>,
}

fn pid(p: &Patient<'_>) -> String {
    let r = p.resident;
    let sex = if r.sex == "1" { "M" } else { "F" };
    let birth = r.birth_date.format("%Y%m%d").to_string();
    match &p.duplicate {
        Some((mrn, name)) => {
            let (family, given) = split_name(name);
            seg(&[
                "PID",
                "1",
                "",
                &format!("{mrn}^^^{}^PI", p.facility),
                "",
                &format!("{family}^{given}"),
                "",
                &birth,
                sex,
            ])
        }
        None => {
            let (family, given) = split_name(&r.name);
            seg(&[
                "PID",
                "1",
                "",
                &format!(
                    "{}^^^{}^PI~{}^^^^ID",
                    r.mrn(p.facility),
                    p.facility,
                    r.id_number
                ),
                "",
                &format!("{family}^{given}^^^^^L"),
                "",
                &birth,
                sex,
                "",
                "",
                "",
                "",
                &format!("^PRN^CP^^^^^^^^^{}", r.phone),
            ])
        }
    }
}

/// A visit as PV1 describes it.
#[derive(Debug, Clone)]
pub struct Visit<'a> {
    /// `O` outpatient, `E` emergency, `I` inpatient.
    pub class: &'a str,
    /// Department code and name.
    pub department: (&'a str, &'a str),
    /// Attending doctor code.
    pub doctor: &'a str,
    /// Visit number (PV1-19), unique within the facility.
    pub visit_number: &'a str,
    /// Admission / registration time.
    pub admit: i64,
    /// Discharge time.
    pub discharge: Option<i64>,
}

fn pv1(v: &Visit<'_>, facility: &str) -> String {
    let location = format!("{}^^^{facility}^^^^^{}", v.department.0, v.department.1);
    let admit = ts(v.admit);
    let discharge = v.discharge.map(ts).unwrap_or_default();
    seg_at(
        "PV1",
        &[
            (1, "1"),
            (2, v.class),
            (3, &location),
            (7, v.doctor),
            (19, v.visit_number),
            (44, &admit),
            (45, &discharge),
        ],
    )
}

/// A diagnosis: ICD-10 national clinical version 2.0 code and name.
pub type Dx<'a> = (&'a str, &'a str);

fn dg1(i: usize, dx: Dx<'_>, kind: &str) -> String {
    seg_at(
        "DG1",
        &[
            (1, &(i + 1).to_string()),
            (3, &format!("{}^{}^ICD-10-GB-CLIN-2.0", dx.0, dx.1)),
            (6, kind),
        ],
    )
}

/// ADT A01 (admit), A03 (discharge), A04 (register) or A11 (cancel) with PID, PV1 and DG1s.
pub fn adt(
    h: &Header<'_>,
    trigger: &str,
    patient: &Patient<'_>,
    visit: &Visit<'_>,
    dx: &[Dx<'_>],
) -> String {
    let mut segments = vec![
        msh(h),
        format!("EVN|{trigger}|{}", ts(h.at)),
        pid(patient),
        pv1(visit, patient.facility),
    ];
    let kind = if trigger == "A03" { "F" } else { "A" };
    segments.extend(dx.iter().enumerate().map(|(i, d)| dg1(i, *d, kind)));
    segments.push(SYNTHETIC.to_owned());
    message(&segments)
}

/// ADT A40: `survivor` absorbs the duplicate registration `merged_mrn` (named `merged_name`).
pub fn merge(
    h: &Header<'_>,
    survivor: &Patient<'_>,
    merged_mrn: &str,
    merged_name: &str,
) -> String {
    let (family, given) = split_name(merged_name);
    message(&[
        msh(h),
        format!("EVN|A40|{}", ts(h.at)),
        pid(survivor),
        seg_at(
            "MRG",
            &[
                (1, &format!("{merged_mrn}^^^{}^PI", survivor.facility)),
                (7, &format!("{family}^{given}")),
            ],
        ),
        SYNTHETIC.to_owned(),
    ])
}

/// One lab observation: local code and name, value, unit, range, flag.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Local code (in `deploy/terminology/lab-codes.csv`).
    pub code: &'static str,
    /// Local name.
    pub name: &'static str,
    /// Value as text.
    pub value: String,
    /// Unit.
    pub unit: &'static str,
    /// Reference range.
    pub range: &'static str,
    /// Abnormal flag (N, H, L, HH, LL).
    pub flag: &'static str,
}

/// An order of a shared centre.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    /// Placer order number.
    pub order_id: &'a str,
    /// Filler number (lab sample / RIS report number).
    pub filler_id: &'a str,
    /// Ordering facility code and name.
    pub ordering: (&'a str, &'a str),
    /// The centre's code and name.
    pub centre: (&'a str, &'a str),
    /// Order time.
    pub ordered: i64,
    /// Specimen collected / study performed.
    pub performed: i64,
    /// Reported.
    pub reported: i64,
}

/// Lab ORU^R01 from the shared lab centre's LIS, one OBX per observation.
pub fn lab_result(
    h: &Header<'_>,
    patient: &Patient<'_>,
    visit_number: &str,
    o: &Order<'_>,
    obs: &[Observation],
) -> String {
    let ordering = format!("{}^^^^^^^^^{}", o.ordering.1, o.ordering.0);
    let performer = format!("{}^^^^^^^^^{}", o.centre.1, o.centre.0);
    let placer = format!("{}^{}", o.order_id, o.ordering.0);
    let filler = format!("{}^{}", o.filler_id, o.centre.0);
    let (ordered, performed, reported) = (ts(o.ordered), ts(o.performed), ts(o.reported));
    let mut segments = vec![
        msh(h),
        pid(patient),
        seg_at("PV1", &[(1, "1"), (2, "O"), (19, visit_number)]),
        seg_at(
            "ORC",
            &[
                (1, "RE"),
                (2, &placer),
                (3, &filler),
                (5, "CM"),
                (9, &ordered),
                (21, &ordering),
            ],
        ),
        seg_at(
            "OBR",
            &[
                (1, "1"),
                (2, &placer),
                (3, &filler),
                (4, "BMP^生化组合^L"),
                (6, &ordered),
                (7, &performed),
                (22, &reported),
                (25, "F"),
            ],
        ),
    ];
    for (i, ob) in obs.iter().enumerate() {
        segments.push(seg_at(
            "OBX",
            &[
                (1, &(i + 1).to_string()),
                (2, "NM"),
                (3, &format!("{}^{}^LIS-{}", ob.code, ob.name, o.centre.0)),
                (5, &ob.value),
                (6, ob.unit),
                (7, ob.range),
                (8, ob.flag),
                (11, "F"),
                (14, &reported),
                (23, &performer),
            ],
        ));
    }
    segments.push(SYNTHETIC.to_owned());
    message(&segments)
}

/// The imaging procedure of an order.
#[derive(Debug, Clone, Copy)]
pub struct Procedure<'a> {
    /// Local RIS code and name.
    pub code: (&'a str, &'a str),
    /// Modality (CT, DR, US, MR).
    pub modality: &'a str,
    /// Body part code and name.
    pub body_part: (&'a str, &'a str),
    /// Accession number.
    pub accession: &'a str,
    /// Study Instance UID.
    pub study_uid: &'a str,
}

/// ORM^O01 new order from the ordering facility's HIS to the shared imaging centre.
pub fn imaging_order(
    h: &Header<'_>,
    patient: &Patient<'_>,
    visit_number: &str,
    o: &Order<'_>,
    p: &Procedure<'_>,
) -> String {
    let ordering = format!("{}^^^^^^^^^{}", o.ordering.1, o.ordering.0);
    let placer = format!("{}^HIS", o.order_id);
    let ordered = ts(o.ordered);
    let scheduled = format!("^^^{}", ts(o.performed));
    let procedure = format!("{}^{}^LOCAL-RIS", p.code.0, p.code.1);
    let body = format!("^^^{}&{}", p.body_part.0, p.body_part.1);
    message(&[
        msh(h),
        pid(patient),
        seg_at("PV1", &[(1, "1"), (2, "O"), (19, visit_number)]),
        seg_at(
            "ORC",
            &[
                (1, "NW"),
                (2, &placer),
                (7, &scheduled),
                (9, &ordered),
                (21, &ordering),
            ],
        ),
        seg_at(
            "OBR",
            &[
                (1, "1"),
                (2, &placer),
                (4, &procedure),
                (15, &body),
                (18, p.accession),
                (24, p.modality),
                (27, &scheduled),
            ],
        ),
        format!("ZDS|{}^RIS^Application^DICOM", p.study_uid),
        SYNTHETIC.to_owned(),
    ])
}

/// Radiology ORU^R01 report from the shared imaging centre's RIS.
#[allow(clippy::too_many_arguments)]
pub fn imaging_report(
    h: &Header<'_>,
    patient: &Patient<'_>,
    o: &Order<'_>,
    p: &Procedure<'_>,
    findings: &str,
    impression: &str,
    critical: bool,
) -> String {
    let ordering = format!("{}^^^^^^^^^{}", o.ordering.1, o.ordering.0);
    let performer = format!("{}^^^^^^^^^{}", o.centre.1, o.centre.0);
    let placer = format!("{}^HIS", o.order_id);
    let filler = format!("{}^RIS", o.filler_id);
    let procedure = format!("{}^{}^LOCAL-RIS", p.code.0, p.code.1);
    let (ordered, performed, reported) = (ts(o.ordered), ts(o.performed), ts(o.reported));
    let gdt = format!("{}&GDT^检查所见", p.code.0);
    let imp = format!("{}&IMP^诊断意见", p.code.0);
    message(&[
        msh(h),
        pid(patient),
        seg_at(
            "ORC",
            &[
                (1, "RE"),
                (2, &placer),
                (3, &filler),
                (5, "CM"),
                (9, &ordered),
                (21, &ordering),
            ],
        ),
        seg_at(
            "OBR",
            &[
                (1, "1"),
                (2, &placer),
                (3, &filler),
                (4, &procedure),
                (6, &ordered),
                (7, &performed),
                (18, p.accession),
                (22, &reported),
                (24, p.modality),
                (25, "F"),
            ],
        ),
        seg_at(
            "OBX",
            &[
                (1, "1"),
                (2, "TX"),
                (3, &gdt),
                (4, "1"),
                (5, findings),
                (11, "F"),
                (23, &performer),
            ],
        ),
        seg_at(
            "OBX",
            &[
                (1, "2"),
                (2, "TX"),
                (3, &imp),
                (4, "1"),
                (5, impression),
                (8, if critical { "AA" } else { "" }),
                (11, "F"),
                (23, &performer),
            ],
        ),
        format!("ZDS|{}^RIS^Application^DICOM", p.study_uid),
        SYNTHETIC.to_owned(),
    ])
}

/// A referral between two facilities.
#[derive(Debug, Clone)]
pub struct Referral<'a> {
    /// Referral id (RF1-6), unique within the referring facility.
    pub id: &'a str,
    /// Referring and receiving facility codes.
    pub from: &'a str,
    /// Receiving facility.
    pub to: &'a str,
    /// `UP`/`DOWN` word sent in ZRF, or none (the hub derives it from the facility levels).
    pub direction: Option<(&'a str, &'a str)>,
    /// Referral time.
    pub referred: i64,
    /// Reason.
    pub reason: Dx<'a>,
    /// Referring visit number.
    pub visit_number: &'a str,
}

/// REF^I12 (new referral, pending acceptance) or REF^I14 (cancellation) from the referring HIS.
pub fn referral(h: &Header<'_>, trigger: &str, patient: &Patient<'_>, r: &Referral<'_>) -> String {
    let status = if trigger == "I14" {
        "E^已取消"
    } else {
        "P^待接收"
    };
    let referred = ts(r.referred);
    let processed = ts(h.at);
    let mut segments = vec![
        msh(h),
        seg_at(
            "RF1",
            &[
                (1, status),
                (2, "R"),
                (3, "Med^内科"),
                (6, r.id),
                (7, &referred),
                (9, &processed),
            ],
        ),
        format!(
            "PRD|RP|||^^^{}|||D{}",
            r.from,
            r.from.get(8..).unwrap_or("0001")
        ),
        format!("PRD|RT|||^^^{}", r.to),
        pid(patient),
        dg1(0, r.reason, "W"),
        seg_at("PV1", &[(1, "1"), (2, "O"), (19, r.visit_number)]),
    ];
    if let Some((code, word)) = r.direction {
        segments.push(format!("ZRF|{code}^{word}"));
    }
    segments.push(SYNTHETIC.to_owned());
    message(&segments)
}
