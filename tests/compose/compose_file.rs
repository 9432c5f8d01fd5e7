//! `docker-compose.yml` cannot be started on the development machines (no Docker engine), so
//! this test keeps it honest: Compose itself (Debian's `docker-compose`, installed by
//! `scripts/setup.sh`) validates it, it names the production stack, and it configures each hub
//! service with the same settings the local stack uses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).expect("docker-compose.yml is valid YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn env_keys(service: &Yaml) -> Vec<String> {
    service["environment"]
        .as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn compose_names_the_production_stack() {
    let doc = compose();
    let services = doc["services"].as_hash().expect("services");
    for name in [
        "kafka",
        "postgres",
        "schema-registry",
        "hub-init",
        "prometheus",
        "grafana",
    ] {
        assert!(
            services.contains_key(&Yaml::String(name.into())),
            "service {name} missing"
        );
    }
    let kafka = &doc["services"]["kafka"];
    assert!(
        kafka["image"]
            .as_str()
            .unwrap()
            .starts_with("apache/kafka:"),
        "Apache Kafka"
    );
    assert_eq!(
        kafka["environment"]["KAFKA_PROCESS_ROLES"].as_str(),
        Some("broker,controller")
    );
}

#[test]
fn hub_services_use_the_local_stacks_settings() {
    let doc = compose();
    let script = std::fs::read_to_string(root().join("scripts/hub")).unwrap();
    for service in ["schema-registry", "normaliser", "record", "monitor"] {
        let keys = env_keys(&doc["services"][service]);
        assert!(!keys.is_empty(), "{service} has no environment");
        for key in keys
            .iter()
            .filter(|k| k.starts_with("HUB__") && *k != "HUB__LOG_FORMAT")
        {
            // A secret read from a file in production may be a plain setting locally.
            let base = key.trim_end_matches("_FILE");
            assert!(
                script.contains(key.as_str()) || script.contains(&format!("{base}=")),
                "{service}: compose sets {key} but scripts/hub run does not set it (or {base})"
            );
        }
    }
    let init = doc["services"]["hub-init"]["command"]
        .as_vec()
        .expect("hub-init command");
    assert_eq!(init[0].as_str(), Some("hubctl"));
    assert_eq!(init[1].as_str(), Some("init"));
}

#[test]
fn prometheus_scrapes_every_hub_service_in_compose() {
    let doc = compose();
    let config = std::fs::read_to_string(root().join("deploy/prometheus/prometheus.yml")).unwrap();
    let prometheus = YamlLoader::load_from_str(&config).expect("prometheus.yml is valid YAML");
    let targets: Vec<String> = prometheus[0]["scrape_configs"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|job| job["static_configs"].as_vec().cloned().unwrap_or_default())
        .flat_map(|c| c["targets"].as_vec().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    for (name, service) in doc["services"].as_hash().unwrap() {
        let long_running =
            service["build"].as_hash().is_some() && service["restart"].as_str() != Some("no");
        if long_running {
            let name = name.as_str().unwrap();
            assert!(
                targets.iter().any(|t| t.starts_with(&format!("{name}:"))),
                "{name} is not scraped: {targets:?}"
            );
        }
    }
    let alerts = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    YamlLoader::load_from_str(&alerts).expect("alerts.yml is valid YAML");
}

#[test]
fn docker_compose_validates_the_file() {
    let output = std::process::Command::new(
        std::env::var("HUB_DOCKER_COMPOSE").unwrap_or_else(|_| "docker-compose".into()),
    )
    .args(["-f", "docker-compose.yml", "config", "--quiet"])
    .current_dir(root())
    .output()
    .expect(
        "docker-compose is not installed: run scripts/setup.sh (Debian package docker-compose)",
    );
    assert!(
        output.status.success(),
        "docker-compose config refused the file:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
