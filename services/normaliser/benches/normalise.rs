//! In-process normalisation throughput: HL7 parse + map, identity resolution in the EMPI on the
//! real PostgreSQL, terminology, Avro encoding. Reports messages/s and events/s on one core (the
//! loop is sequential) and the share of each stage. Not a test: `cargo bench -p normaliser`
//! (needs PostgreSQL as for the tests). Figures also go to `target/bench/normalise.txt`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hub_empi::Empi;
use hub_identity::Pseudonymizer;
use hub_schemas::raw::RawEnvelope;
use hub_terminology::Terminology;
use normaliser::codecs::Codecs;

const MESSAGES: usize = 3_000;

fn envelope(name: &str, index: usize, topic: &str) -> RawEnvelope {
    let path = format!(
        "{}/../../crates/hub-hl7/tests/golden/{name}.hl7",
        env!("CARGO_MANIFEST_DIR")
    );
    RawEnvelope {
        topic: topic.into(),
        offset: index as i64,
        facility: "H21028100001".into(),
        source: if topic.contains(".lab.") {
            "lab"
        } else {
            "his"
        }
        .into(),
        charset: "UTF-8".into(),
        message_id: format!("{name}-{index}"),
        received_at_ms: 1_763_880_000_000,
        payload: std::fs::read(path).expect("golden message"),
        ..RawEnvelope::default()
    }
}

#[derive(Default)]
struct Shares {
    map: Duration,
    identity: Duration,
    terminology_and_encode: Duration,
    events: usize,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = hub_test_utils::TestDatabase::create().await?;
        let pool = db.pool().await?;
        Empi::migrate(&pool).await?;
        let empi = Empi::new(pool, Pseudonymizer::new(b"bench-key-0123456789".to_vec()));
        let terminology = Terminology::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/terminology"))?;
        let codecs = Codecs::offline()?;
        let mut lines = vec![format!(
            "{MESSAGES} messages per case, one core, EMPI on local PostgreSQL, {}",
            if cfg!(debug_assertions) { "debug build" } else { "release build" }
        )];
        for (name, topic) in [("adt_a01_inpatient_dg1", "raw.his.hl7v2"), ("oru_r01_lab_panel", "raw.lab.hl7v2")] {
            let messages: Vec<RawEnvelope> = (0..MESSAGES).map(|i| envelope(name, i, topic)).collect();
            let mut shares = Shares::default();
            let started = Instant::now();
            for raw in &messages {
                let t = Instant::now();
                let mapped = hub_hl7::map_hl7(raw)?;
                shares.map += t.elapsed();
                let t = Instant::now();
                let patient = mapped.patient.as_ref().expect("patient");
                let resolution = empi.resolve(patient, &raw.message_id).await?;
                shares.identity += t.elapsed();
                let t = Instant::now();
                let mut events = mapped.events;
                for event in &mut events {
                    event.set_person_id(&resolution.person_id);
                    black_box(terminology.apply(event));
                    black_box(codecs.encode(event)?);
                }
                shares.terminology_and_encode += t.elapsed();
                shares.events += events.len() + resolution.decisions.len();
            }
            let total = started.elapsed().as_secs_f64();
            let pct = |d: Duration| 100.0 * d.as_secs_f64() / total;
            let line = format!(
                "{name:<24} {:>8.0} msg/s {:>9.0} events/s | map {:>4.1}% identity {:>4.1}% terminology+encode {:>4.1}%",
                MESSAGES as f64 / total,
                shares.events as f64 / total,
                pct(shares.map),
                pct(shares.identity),
                pct(shares.terminology_and_encode),
            );
            eprintln!("{line}");
            lines.push(line);
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("normalise.txt"), lines.join("\n") + "\n")?;
        anyhow::Ok(())
    })
}
