//! A real third-party MLLP client (Python `hl7` package's `MLLPClient`) sends HIS, LIS and RIS
//! messages, including GB18030 with Chinese names; every message gets `AA` and is in its raw
//! topic byte-identical, with the envelope key and headers.

use std::process::Command;
use std::time::Duration;

use connector_hl7::SourceKind;
use hub_test_utils::{kafka_bootstrap, random_name};
use serde_json::Value;

use crate::fixtures::{self, Fixture};
use crate::support::{Running, consume, listener, settings};

const FACILITY: &str = "H21028100001";

fn python() -> String {
    std::env::var("HUB_INTEROP_PYTHON")
        .unwrap_or_else(|_| "/root/.cache/county-health-hub/venv/bin/python".to_owned())
}

/// Sends `fixtures` to `port` with the Python client; returns its JSON lines.
fn send_with_python(port: u16, fixtures: &[Fixture]) -> anyhow::Result<Vec<Value>> {
    let dir = std::env::temp_dir().join(random_name("hl7-interop"));
    std::fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    for f in fixtures {
        let path = dir.join(format!("{}.hl7", f.name));
        std::fs::write(&path, &f.bytes)?;
        files.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mllp_client.py");
    let output = Command::new(python())
        .arg(script)
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(&files)
        .output()?;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        output.status.success(),
        "python client failed (is HUB_INTEROP_PYTHON a venv with `hl7`?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)?
        .lines()
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_client_messages_are_acked_and_stored_byte_identical() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let run = format!("{:08x}", rand_suffix());
    let feeds = [
        (SourceKind::His, fixtures::his(&run)),
        (SourceKind::Lab, fixtures::lab(&run)),
        (SourceKind::Imaging, fixtures::imaging(&run)),
    ];
    let listeners = feeds.iter().map(|(s, _)| listener(FACILITY, *s)).collect();
    let connector = Running::start(settings(&bootstrap, listeners)).await?;

    for (i, (source, messages)) in feeds.iter().enumerate() {
        let port = connector.addrs[i].port();
        let acks = tokio::task::spawn_blocking({
            let messages: Vec<Fixture> = messages
                .iter()
                .map(|f| Fixture {
                    name: f.name,
                    control_id: f.control_id.clone(),
                    bytes: f.bytes.clone(),
                })
                .collect();
            move || send_with_python(port, &messages)
        })
        .await??;
        assert_eq!(acks.len(), messages.len());
        for (ack, fixture) in acks.iter().zip(messages) {
            let expected = if fixture.name == "adt-a01" {
                "CA"
            } else {
                "AA"
            }; // MSH-15 = AL
            assert_eq!(ack["code"], expected, "{}: {ack}", fixture.name);
            assert_eq!(
                ack["control_id"],
                fixture.control_id.as_str(),
                "{}",
                fixture.name
            );
            assert_eq!(
                ack["receiving_facility"].as_str().map(str::is_empty),
                Some(false)
            );
        }
        let gb = acks.iter().find(|a| {
            a["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("adt-gb18030.hl7"))
        });
        if let Some(gb) = gb {
            // The ACK came back in GB18030: the sender's facility name decodes.
            assert_eq!(gb["receiving_facility"], "县医院");
            assert_eq!(gb["version"], "2.4");
        }

        let topic = connector.topic(i);
        let records = consume(&bootstrap, &topic, messages.len(), Duration::from_secs(30)).await?;
        assert_eq!(records.len(), messages.len(), "{topic}");
        for fixture in messages {
            let key = format!("{FACILITY}:{}", fixture.control_id);
            let record = records
                .iter()
                .find(|r| r.key == key)
                .unwrap_or_else(|| panic!("{key} not in {topic}"));
            assert!(
                record.value == fixture.bytes,
                "{} is not byte-identical",
                fixture.name
            );
            let h = &record.headers;
            assert_eq!(h["hub-facility"], FACILITY);
            assert_eq!(h["hub-source"], source.as_str());
            assert_eq!(h["hub-content-type"], "x-application/hl7-v2+er7");
            assert_eq!(h["hub-message-id"], fixture.control_id);
            assert!(!h.contains_key("hub-synthetic"));
            let charset = if fixture.name == "adt-gb18030" {
                "GB18030"
            } else {
                "UTF-8"
            };
            assert_eq!(h["hub-charset"], charset, "{}", fixture.name);
            chrono::DateTime::parse_from_rfc3339(&h["hub-received-at"])?;
        }
    }
    let received = connector.metric("hub_hl7_messages_received_total", &[("facility", FACILITY)]);
    assert_eq!(received, 9.0);
    assert_eq!(
        connector.metric("hub_hl7_acks_total", &[("code", "AA")]),
        8.0
    );
    connector.stop().await
}

fn rand_suffix() -> u32 {
    let name = random_name("x");
    u32::from_str_radix(&name[name.len() - 8..], 16).unwrap_or(0)
}
