//! Synthetic HL7 v2 messages (invented people and ids) as HIS, LIS and RIS interfaces send them.

/// One message: a name for the logs, its control id and its bytes.
pub struct Fixture {
    /// Short name.
    pub name: &'static str,
    /// MSH-10.
    pub control_id: String,
    /// The bytes as sent.
    pub bytes: Vec<u8>,
}

fn fixture(name: &'static str, run: &str, text: &str) -> Fixture {
    let control_id = format!("{name}-{run}");
    Fixture {
        name,
        bytes: text
            .replace("{ID}", &control_id)
            .replace('\n', "\r")
            .into_bytes(),
        control_id,
    }
}

/// ADT^A01/A03/A04/A08/A40 from a HIS (v2.4 and v2.5), plus one in GB18030 with Chinese names.
pub fn his(run: &str) -> Vec<Fixture> {
    let mut out = vec![
        fixture(
            "adt-a01",
            run,
            "MSH|^~\\&|HIS|H21028100001|HUB|COUNTY|20240501083000||ADT^A01^ADT_A01|{ID}|P|2.5|||AL|NE||UNICODE UTF-8\nEVN|A01|20240501083000\nPID|1||MRN0001^^^H21028100001^MR~110105194912310029^^^CHN^NNCHN||Zhang^San||19491231|M|||1 Main St^^Wafangdian^LN^116300||13800138000\nPV1|1|I|W01^101^1^H21028100001||||D001^Li^Si|||MED||||||||IP0001|||||||||||||||||||||||||20240501083000\n",
        ),
        fixture(
            "adt-a03",
            run,
            "MSH|^~\\&|HIS|H21028100001|HUB|COUNTY|20240505100000||ADT^A03^ADT_A03|{ID}|P|2.5\nEVN|A03|20240505100000\nPID|1||MRN0001^^^H21028100001^MR||Zhang^San||19491231|M\nPV1|1|I|W01^101^1||||D001^Li^Si|||MED||||||||IP0001|||||||||||||||||||||||||20240501083000|20240505100000\nDG1|1||I10^Essential hypertension^ICD10|||F\n",
        ),
        fixture(
            "adt-a04",
            run,
            "MSH|^~\\&|HIS|H21028100001|HUB|COUNTY|20240502090000||ADT^A04^ADT_A01|{ID}|P|2.4\nEVN|A04|20240502090000\nPID|1||MRN0002^^^H21028100001^MR||Wang^Wu||19800312|F\nPV1|1|O|OPD^^^H21028100001||||D002^Zhao^Liu|||GEN\n",
        ),
        fixture(
            "adt-a08",
            run,
            "MSH|^~\\&|HIS|H21028100001|HUB|COUNTY|20240502091500||ADT^A08^ADT_A01|{ID}|P|2.5\nEVN|A08|20240502091500\nPID|1||MRN0002^^^H21028100001^MR||Wang^Wu||19800312|F|||2 River Rd^^Wafangdian^LN||13900139000\nPV1|1|O|OPD\n",
        ),
        fixture(
            "adt-a40",
            run,
            "MSH|^~\\&|HIS|H21028100001|HUB|COUNTY|20240503120000||ADT^A40^ADT_A39|{ID}|P|2.5\nEVN|A40|20240503120000\nPID|1||MRN0001^^^H21028100001^MR||Zhang^San||19491231|M\nMRG|MRN0099^^^H21028100001^MR\n",
        ),
    ];
    let gb = encoding_rs::GB18030;
    let chinese = "MSH|^~\\&|HIS|县医院|HUB|医共体|20240504080000||ADT^A01^ADT_A01|{ID}|P|2.4||||||GB 18030-2000\nEVN|A01|20240504080000\nPID|1||MRN0003^^^H21028100001^MR||张^三丰||19560708|M|||瓦房店市复州城镇^^大连^辽宁||13700137000\nPV1|1|I|内科^201^2||||D003^李^医生\n";
    let control_id = format!("adt-gb18030-{run}");
    let text = chinese.replace("{ID}", &control_id).replace('\n', "\r");
    let (bytes, _, unmappable) = gb.encode(&text);
    assert!(!unmappable);
    out.push(Fixture {
        name: "adt-gb18030",
        control_id,
        bytes: bytes.into_owned(),
    });
    out
}

/// ORU^R01 from a LIS with many OBX.
pub fn lab(run: &str) -> Vec<Fixture> {
    let mut text = String::from(
        "MSH|^~\\&|LIS|H21028100001|HUB|COUNTY|20240501101500||ORU^R01^ORU_R01|{ID}|P|2.5.1\nPID|1||MRN0001^^^H21028100001^MR||Zhang^San||19491231|M\nOBR|1|ORD42|LIS42|CBC^Complete blood count^LOCAL|||20240501090000\n",
    );
    for i in 1..=80 {
        text.push_str(&format!(
            "OBX|{i}|NM|T{i:03}^Test {i}^LOCAL||{}.{}|mmol/L|3.5-5.3|N|||F|||20240501100000\n",
            i % 9 + 1,
            i % 10
        ));
    }
    vec![fixture("oru-r01", run, &text)]
}

/// ORM^O01 orders and an ORU imaging report from a RIS.
pub fn imaging(run: &str) -> Vec<Fixture> {
    vec![
        fixture(
            "orm-o01",
            run,
            "MSH|^~\\&|RIS|H21028100001|HUB|COUNTY|20240501110000||ORM^O01^ORM_O01|{ID}|P|2.3.1\nPID|1||MRN0001^^^H21028100001^MR||Zhang^San||19491231|M\nORC|NW|RIS100|||SC\nOBR|1|RIS100||CT-CHEST^CT chest^LOCAL|||20240501110000\n",
        ),
        fixture(
            "oru-imaging",
            run,
            "MSH|^~\\&|RIS|H21028100001|HUB|COUNTY|20240501120000||ORU^R01^ORU_R01|{ID}|P|2.5\nPID|1||MRN0001^^^H21028100001^MR||Zhang^San||19491231|M\nOBR|1|RIS100|PACS100|CT-CHEST^CT chest^LOCAL|||20240501110000|||||||||||||||20240501120000||CT|F\nOBX|1|TX|FINDINGS^Findings^LOCAL||No focal consolidation.||||||F\nOBX|2|TX|IMPRESSION^Impression^LOCAL||Normal chest CT.||||||F\nOBX|3|ST|STUDY-UID^Study Instance UID^DCM||1.2.156.112605.1.20240501.100||||||F\n",
        ),
    ]
}
