//! Drop folders end to end against the real broker: Part-10 files with Chinese names in each
//! Specific Character Set form to `done/` and the raw topic, pixel data never in Kafka,
//! unreadable files to the DLQ and `failed/`, a `.part` file read only once renamed.

use std::time::Duration;

use encoding_rs::GB18030;
use hub_kafka::headers;
use hub_test_utils::kafka_bootstrap;
use serde_json::{Value, json};

use crate::dicom_files::{Spec, latin1, write};
use crate::support::{FILE_ONLY, Running, consume, eventually, files, settings, temp_dir};

fn json_of(value: &[u8]) -> Value {
    serde_json::from_slice(value).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn chinese_names_in_gb18030_utf8_and_iso2022_files_reach_the_topic() -> anyhow::Result<()> {
    let dir = temp_dir("imaging-drop");
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    let gb = Spec::gb18030("1.2.156.1.1");
    let mut utf8 = Spec::gb18030("1.2.156.1.2");
    utf8.charset = vec!["ISO_IR 192"];
    utf8.patient_name = "李四^四".into();
    // ISO 2022 with code extensions: G1 designated to GB 2312 by ESC $ ) A, EUC-CN bytes.
    let mut iso2022 = Spec::gb18030("1.2.156.1.3");
    iso2022.charset = vec!["ISO 2022 IR 6", "ISO 2022 IR 58"];
    let euc = |s: &str| GB18030.encode(s).0.into_owned();
    let mut name = b"\x1b$)A".to_vec();
    name.extend(euc("王五"));
    name.push(b'^');
    name.extend(euc("五"));
    iso2022.patient_name = latin1(&name);
    let mut institution = b"\x1b$)A".to_vec();
    institution.extend(euc("乡镇卫生院"));
    iso2022.institution = latin1(&institution);
    let tmp = temp_dir("imaging-src");
    for (name, spec) in [("a.dcm", &gb), ("IM000002", &utf8), ("c.DCM", &iso2022)] {
        write(&tmp.join(name), spec);
        std::fs::rename(tmp.join(name), dir.join("incoming").join(name))?;
    }
    // The files really are in those charsets.
    let gb_bytes = std::fs::read(dir.join("incoming/a.dcm"))?;
    assert!(contains(&gb_bytes, &euc("张三^三")));
    assert!(contains(
        &std::fs::read(dir.join("incoming/IM000002"))?,
        "李四".as_bytes()
    ));
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done")).len()
            == 3)
        .await
    );
    assert!(files(&dir.join("incoming")).is_empty());
    let raw = consume(&running.settings.topic, 3, Duration::from_secs(20)).await?;
    assert_eq!(raw.len(), 3);
    let by_key = |uid: &str| {
        raw.iter()
            .find(|r| r.key == format!("{FILE_ONLY}:{uid}"))
            .unwrap_or_else(|| panic!("no record for {uid}"))
    };
    let r = by_key("1.2.156.1.1");
    let v = json_of(&r.value);
    assert_eq!(
        v["00100010"],
        json!({"vr": "PN", "Value": [{"Alphabetic": "张三^三"}]})
    );
    assert_eq!(v["00080080"]["Value"][0], "某县人民医院");
    assert_eq!(v["0020000D"]["Value"][0], gb.study_uid);
    assert_eq!(v["00080060"]["Value"][0], "CT");
    assert_eq!(v["00200013"], json!({"vr": "IS", "Value": [1]}));
    assert_eq!(
        v["00101002"]["Value"][0]["00100020"]["Value"][0],
        "210102199001011237"
    );
    assert!(v.get("00020010").is_none(), "no file meta group");
    assert_eq!(r.headers[headers::CONTENT_TYPE], "application/dicom+json");
    assert_eq!(r.headers[headers::CHARSET], "UTF-8");
    assert_eq!(r.headers["hub-dicom-charset"], "GB18030");
    assert_eq!(r.headers[headers::MESSAGE_ID], "1.2.156.1.1");
    assert_eq!(r.headers[headers::SOURCE], "imaging");
    assert_eq!(r.headers[headers::FACILITY], FILE_ONLY);
    let r = by_key("1.2.156.1.2");
    assert_eq!(
        json_of(&r.value)["00100010"]["Value"][0]["Alphabetic"],
        "李四^四"
    );
    assert_eq!(r.headers["hub-dicom-charset"], "ISO_IR 192");
    let r = by_key("1.2.156.1.3");
    let v = json_of(&r.value);
    assert_eq!(v["00100010"]["Value"][0]["Alphabetic"], "王五^五");
    assert_eq!(v["00080080"]["Value"][0], "乡镇卫生院");
    assert_eq!(
        r.headers["hub-dicom-charset"],
        "ISO 2022 IR 6\\ISO 2022 IR 58"
    );
    let done = [("sender", FILE_ONLY), ("outcome", "done")];
    assert_eq!(running.metric("hub_imaging_files_total", &done), 3.0);
    let stored = [("channel", "file"), ("outcome", "stored")];
    assert_eq!(running.metric("hub_imaging_instances_total", &stored), 3.0);
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(tmp);
    Ok(())
}

#[tokio::test]
async fn pixel_data_never_reaches_kafka() -> anyhow::Result<()> {
    let dir = temp_dir("imaging-drop");
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    let mut spec = Spec::gb18030("1.2.156.2.1");
    spec.frames = 400; // 400 frames of 64x64x2 bytes: 3.3 MB of pixels
    let tmp = temp_dir("imaging-src");
    write(&tmp.join("mf.dcm"), &spec);
    let size = std::fs::metadata(tmp.join("mf.dcm"))?.len();
    assert!(size > 3_000_000, "{size}");
    std::fs::rename(tmp.join("mf.dcm"), dir.join("incoming/mf.dcm"))?;
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done"))
            == ["mf.dcm"])
        .await
    );
    let raw = consume(&running.settings.topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(raw.len(), 1);
    assert!(
        raw[0].value.len() < 8 * 1024,
        "{} bytes",
        raw[0].value.len()
    );
    let v = json_of(&raw[0].value);
    assert!(v.get("7FE00010").is_none());
    assert_eq!(v["00280008"]["Value"][0], 400);
    assert_eq!(v["00280010"], json!({"vr": "US", "Value": [64]}));
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(tmp);
    Ok(())
}

#[tokio::test]
async fn unreadable_files_go_to_the_dlq_and_failed() -> anyhow::Result<()> {
    let dir = temp_dir("imaging-drop");
    let mut s = settings(&kafka_bootstrap(), Some(&dir));
    s.drop_folder.dlq_max_bytes = 1024;
    let running = Running::start(s).await?;
    let tmp = temp_dir("imaging-src");
    // Garbage: not a Part-10 file at all (and larger than what the DLQ keeps).
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(tmp.join("garbage.dcm"), &garbage)?;
    // Truncated: a real file cut inside its data set.
    write(&tmp.join("whole.dcm"), &Spec::gb18030("1.2.156.3.1"));
    let whole = std::fs::read(tmp.join("whole.dcm"))?;
    std::fs::write(tmp.join("truncated.dcm"), &whole[..whole.len() - 40])?;
    // No Study Instance UID.
    let mut no_study = Spec::gb18030("1.2.156.3.2");
    no_study.study_uid = String::new();
    write(&tmp.join("nostudy.dcm"), &no_study);
    for name in ["garbage.dcm", "truncated.dcm", "nostudy.dcm"] {
        std::fs::rename(tmp.join(name), dir.join("incoming").join(name))?;
    }
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("failed")).len()
            == 6)
        .await,
        "{:?}",
        files(&dir.join("failed"))
    );
    assert!(files(&dir.join("done")).is_empty());
    let dlq = consume(&running.settings.dlq_topic, 3, Duration::from_secs(20)).await?;
    assert_eq!(dlq.len(), 3);
    let by_code = |code: &str| {
        dlq.iter()
            .find(|r| r.headers[headers::ERROR_CODE] == code)
            .unwrap_or_else(|| {
                panic!(
                    "no {code} in {:?}",
                    dlq.iter().map(|r| &r.headers).collect::<Vec<_>>()
                )
            })
    };
    let g = by_code("dicom_not_part10");
    assert_eq!(g.value, garbage[..1024]);
    assert!(g.headers[headers::ERROR_DETAIL].contains("first 1024 of 5000 bytes"));
    assert_eq!(g.headers[headers::CONTENT_TYPE], "application/dicom");
    assert_eq!(g.headers[headers::ERROR_STAGE], "connector-imaging");
    assert_eq!(g.headers[headers::SOURCE_TOPIC], running.settings.topic);
    let t = by_code("dicom_parse_error");
    assert_eq!(
        t.value,
        whole[..whole.len() - 40],
        "a small file is kept whole"
    );
    let n = by_code("dicom_missing_uid");
    for letter in &dlq {
        let detail = &letter.headers[headers::ERROR_DETAIL];
        assert!(
            !detail.contains("张三") && !detail.contains("210102"),
            "{detail}"
        );
    }
    assert!(n.headers[headers::ERROR_DETAIL].contains("(0020,000D)"));
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("failed/garbage.dcm.errors.json"))?)?;
    assert_eq!(sidecar["error_code"], "dicom_not_part10");
    assert_eq!(sidecar["dead_lettered"], true);
    let raw = consume(&running.settings.topic, 1, Duration::from_secs(2)).await?;
    assert!(raw.is_empty(), "nothing unreadable reaches the raw topic");
    let dead = [
        ("stage", "connector-imaging"),
        ("error_code", "dicom_parse_error"),
    ];
    assert_eq!(running.metric("hub_dlq_published_events_total", &dead), 1.0);
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(tmp);
    Ok(())
}

#[tokio::test]
async fn a_part_file_is_read_only_once_renamed() -> anyhow::Result<()> {
    let dir = temp_dir("imaging-drop");
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    let part = dir.join("incoming/IM000009.part");
    write(&part, &Spec::gb18030("1.2.156.4.1"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(files(&dir.join("incoming")), ["IM000009.part"]);
    assert!(
        consume(&running.settings.topic, 1, Duration::from_secs(2))
            .await?
            .is_empty()
    );
    std::fs::rename(&part, dir.join("incoming/IM000009"))?;
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done"))
            == ["IM000009"])
        .await
    );
    let raw = consume(&running.settings.topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(raw[0].key, format!("{FILE_ONLY}:1.2.156.4.1"));
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[test]
fn reading_stops_before_the_pixel_data() {
    // A multi-frame file cut in the middle of its pixel data still reads: the frames are never
    // parsed (nor loaded), only the header before them.
    let tmp = temp_dir("imaging-src");
    let mut spec = Spec::gb18030("1.2.156.5.1");
    spec.frames = 200;
    write(&tmp.join("mf.dcm"), &spec);
    let bytes = std::fs::read(tmp.join("mf.dcm")).unwrap();
    std::fs::write(tmp.join("cut.dcm"), &bytes[..bytes.len() / 2]).unwrap();
    let instance = connector_imaging::instance::read_part10(&tmp.join("cut.dcm")).unwrap();
    assert_eq!(instance.sop_instance_uid, "1.2.156.5.1");
    assert_eq!(instance.json["00280008"]["Value"][0], 200);
    assert!(!instance.json.contains_key("7FE00010"));
    let _ = std::fs::remove_dir_all(tmp);
}
