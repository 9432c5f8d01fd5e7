//! Drop folders end to end against the real broker: JSON Lines and CSV files to `done/`, a
//! `.part` file never read, invalid lines to `failed/` with a sidecar and the DLQ, a broker
//! that is down leaving the file in `incoming/`.

use std::time::Duration;

use hub_kafka::headers;
use hub_test_utils::kafka_bootstrap;

use crate::support::{
    FILE_ONLY, Running, consume, eventually, files, invalid, reversal, settings, settlement,
    temp_dir, unreachable_settings,
};

const CSV_HEADER: &str = "setl_id,psn_no,mdtrt_id,fixmedins_code,insuplc_admdvs,insutype,\
                          med_type,setl_time,medfee_sumamt,fund_pay_sumamt,psn_cash_pay,dise_codg\n";

#[tokio::test]
async fn jsonl_and_csv_files_end_in_done_and_in_the_topic() -> anyhow::Result<()> {
    let dir = temp_dir("insurance-drop");
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    let lines = [settlement("F-1"), reversal("F-1")];
    std::fs::write(
        dir.join("incoming/a.jsonl"),
        format!("{}\r\n\n{}\n", lines[0], lines[1]),
    )?;
    std::fs::write(
        dir.join("incoming/b.csv"),
        format!(
            "{CSV_HEADER}C-1,P1,M1,H21028100001,210281,390,11,2026-11-02 09:41:27,0.10,0.05,0.05,I10\n"
        ),
    )?;
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done")).len()
            == 2)
        .await,
        "{:?}",
        files(&dir.join("incoming"))
    );
    assert_eq!(files(&dir.join("done")), ["a.jsonl", "b.csv"]);
    assert!(files(&dir.join("incoming")).is_empty());
    let raw = consume(&running.settings.topic, 3, Duration::from_secs(20)).await?;
    assert_eq!(raw.len(), 3);
    assert_eq!(raw[0].value, lines[0].as_bytes());
    assert_eq!(raw[1].value, lines[1].as_bytes());
    assert_eq!(raw[0].headers[headers::FACILITY], FILE_ONLY);
    assert_eq!(raw[1].key, format!("{FILE_ONLY}:F-1#2601"));
    let csv: serde_json::Value = serde_json::from_slice(&raw[2].value)?;
    assert_eq!(csv["medfee_sumamt"], "0.10");
    assert_eq!(raw[2].headers[headers::MESSAGE_ID], "C-1");
    assert_eq!(raw[2].headers[headers::CONTENT_TYPE], "application/json");
    let done = [("sender", FILE_ONLY), ("outcome", "done")];
    assert_eq!(running.metric("hub_insurance_files_total", &done), 2.0);
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn part_files_and_files_still_changing_are_never_read() -> anyhow::Result<()> {
    let dir = temp_dir("insurance-drop");
    let mut s = settings(&kafka_bootstrap(), Some(&dir));
    s.drop_folder.stable_secs = 1;
    let running = Running::start(s).await?;
    let part = dir.join("incoming/c.jsonl.part");
    // Half a line, as a sender mid-write leaves it.
    std::fs::write(&part, &settlement("P-1")[..40])?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(files(&dir.join("incoming")), ["c.jsonl.part"]);
    assert!(files(&dir.join("failed")).is_empty());
    std::fs::write(&part, format!("{}\n", settlement("P-1")))?;
    std::fs::rename(&part, dir.join("incoming/c.jsonl"))?;
    // The stability rule holds the renamed file back for about stable_secs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(files(&dir.join("incoming")), ["c.jsonl"]);
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done"))
            == ["c.jsonl"])
        .await
    );
    let raw = consume(&running.settings.topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(raw[0].value, settlement("P-1").as_bytes());
    let dlq = consume(&running.settings.dlq_topic, 1, Duration::from_secs(3)).await?;
    assert!(dlq.is_empty(), "the half-written file was never read");
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn invalid_lines_go_to_failed_with_a_sidecar_and_to_the_dlq() -> anyhow::Result<()> {
    let dir = temp_dir("insurance-drop");
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    let file = format!(
        "{}\n{}\n{{\"setl_id\": oops\n",
        settlement("V-1"),
        invalid("V-2")
    );
    std::fs::write(dir.join("incoming/d.jsonl"), &file)?;
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("failed")).len()
            == 2)
        .await
    );
    assert_eq!(
        files(&dir.join("failed")),
        ["d.jsonl", "d.jsonl.errors.json"]
    );
    assert_eq!(std::fs::read_to_string(dir.join("failed/d.jsonl"))?, file);
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("failed/d.jsonl.errors.json"))?)?;
    assert_eq!(sidecar["accepted"], 1);
    assert_eq!(sidecar["rejected"], 2);
    assert_eq!(sidecar["errors"][0]["line"], 2);
    assert_eq!(
        sidecar["errors"][0]["error_code"],
        "settlement_invalid_field"
    );
    assert_eq!(sidecar["errors"][1]["line"], 3);
    assert_eq!(sidecar["errors"][1]["error_code"], "settlement_not_json");
    assert!(!sidecar.to_string().contains("李四"));

    let raw = consume(&running.settings.topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(raw[0].value, settlement("V-1").as_bytes());
    let dlq = consume(&running.settings.dlq_topic, 2, Duration::from_secs(20)).await?;
    assert_eq!(dlq.len(), 2);
    assert_eq!(dlq[0].value, invalid("V-2").as_bytes());
    assert!(dlq[0].headers[headers::ERROR_DETAIL].starts_with("line 2 of the file"));
    assert_eq!(dlq[1].value, b"{\"setl_id\": oops");
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn broker_down_leaves_the_file_in_incoming_until_a_restart_stores_it() -> anyhow::Result<()> {
    let dir = temp_dir("insurance-drop");
    let running = Running::start(unreachable_settings(Some(&dir))).await?;
    std::fs::write(
        dir.join("incoming/e.jsonl"),
        format!("{}\n", settlement("D-1")),
    )?;
    let retried = [("sender", FILE_ONLY), ("outcome", "retry")];
    assert!(
        eventually(Duration::from_secs(20), || running
            .metric("hub_insurance_files_total", &retried)
            >= 2.0)
        .await,
        "the file was tried at least twice"
    );
    assert_eq!(files(&dir.join("incoming")), ["e.jsonl"]);
    assert!(files(&dir.join("done")).is_empty() && files(&dir.join("failed")).is_empty());
    running.stop().await?;

    // A restart with the broker back reads the file again, from the start.
    let running = Running::start(settings(&kafka_bootstrap(), Some(&dir))).await?;
    assert!(
        eventually(Duration::from_secs(30), || files(&dir.join("done"))
            == ["e.jsonl"])
        .await
    );
    let raw = consume(&running.settings.topic, 1, Duration::from_secs(20)).await?;
    assert_eq!(raw[0].value, settlement("D-1").as_bytes());
    running.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
