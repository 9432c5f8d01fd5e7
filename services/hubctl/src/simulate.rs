//! `hubctl simulate`: a seeded synthetic county sent through the hub's real interfaces (HL7 over
//! MLLP for HIS, LIS and RIS; settlement batches over HTTP; DICOM files into the imaging drop
//! folder; visit rows into front-end-processor tables), or, with `--print-expected`, the
//! indicator values its data must produce (JSON, as the monitor publishes them).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;
use hub_simulator::send::{Targets, send};
use hub_simulator::{Config, County, Simulation};

/// What shapes the simulated county: the same values give the same residents and messages.
/// Shared by `hubctl simulate` and `hubctl scan-logs` (which regenerates the county's personal
/// data to look for it in logs).
#[derive(Debug, Args)]
pub struct CountyArgs {
    /// Seed: the same seed and parameters give the same messages, byte for byte.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Residents of the county.
    #[arg(long, default_value_t = 2000)]
    residents: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// First simulated day (local time).
    #[arg(long, default_value = "2026-11-01")]
    start: NaiveDate,
    /// County code (GB/T 2260); its facilities come from the registry.
    #[arg(long, default_value = "210281")]
    county: String,
    /// Folder of the terminology (the facility registry).
    #[arg(long, default_value = "deploy/terminology")]
    terminology: PathBuf,
    /// Outpatient visits per resident and year.
    #[arg(long)]
    visits_per_year: Option<f64>,
    /// Share of visits made inside the county (0..1).
    #[arg(long)]
    in_county_rate: Option<f64>,
    /// Share of in-county outpatient visits at primary care (0..1).
    #[arg(long)]
    primary_care_share: Option<f64>,
    /// Admissions per resident and year.
    #[arg(long)]
    admissions_per_year: Option<f64>,
    /// Share of primary-care visits referred up (0..1).
    #[arg(long)]
    referral_up_rate: Option<f64>,
    /// Share of county-hospital discharges referred down (0..1).
    #[arg(long)]
    referral_down_rate: Option<f64>,
    /// A facility whose HIS writes visits into the front-end table (repeat).
    #[arg(long = "table-facility")]
    table_facilities: Vec<String>,
}

impl CountyArgs {
    fn config(&self) -> Config {
        let mut c = Config::new(self.seed, self.residents, self.start, self.days);
        c.county.clone_from(&self.county);
        let set = |target: &mut f64, value: Option<f64>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut c.visits_per_year, self.visits_per_year);
        set(&mut c.in_county_rate, self.in_county_rate);
        set(&mut c.primary_care_share, self.primary_care_share);
        set(&mut c.admissions_per_year, self.admissions_per_year);
        set(&mut c.referral_up_rate, self.referral_up_rate);
        set(&mut c.referral_down_rate, self.referral_down_rate);
        c.table_facilities.clone_from(&self.table_facilities);
        c
    }

    /// Loads the facility registry and simulates the county, in memory.
    ///
    /// # Errors
    /// The terminology cannot be loaded or lacks a facility the county needs.
    pub fn simulate(&self) -> anyhow::Result<(County, Simulation)> {
        let terminology = hub_terminology::Terminology::load(&self.terminology)
            .with_context(|| format!("loading {}", self.terminology.display()))?;
        let county = County::from_registry(&terminology, &self.county)?;
        let simulation = Simulation::run(&self.config(), &county);
        Ok((county, simulation))
    }
}

/// Arguments of `hubctl simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    county: CountyArgs,
    /// Most messages per second, e.g. `200/s` (0: as fast as the hub answers).
    #[arg(long, default_value = "0")]
    rate: String,
    /// HIS listener: `FACILITY=HOST:PORT` for one facility (repeat), or `HOST:PORT` for every
    /// facility without its own (the listener's facility code then replaces theirs).
    #[arg(long = "mllp-his")]
    mllp_his: Vec<String>,
    /// The shared lab centre's LIS listener.
    #[arg(long = "mllp-lab")]
    mllp_lab: Option<SocketAddr>,
    /// The shared imaging centre's RIS listener.
    #[arg(long = "mllp-imaging")]
    mllp_imaging: Option<SocketAddr>,
    /// Settlement API, e.g. `http://127.0.0.1:8443/v1/settlements`.
    #[arg(long)]
    settlements_url: Option<String>,
    /// Bearer token of the settlement API.
    #[arg(long, env = "HUB_SETTLEMENT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Settlement records per HTTP request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// The imaging connector's drop folder of the shared imaging centre: one DICOM Part-10
    /// file per study is written into its `incoming/`.
    #[arg(long)]
    dicom_drop: Option<PathBuf>,
    /// PostgreSQL URL of a front-end-processor database: the outpatient registrations of the
    /// `--table-facility` facilities are written into its visit tables instead of HL7.
    #[arg(long, env = "HUB_SIMULATE_TABLE_URL", hide_env_values = true)]
    table_url: Option<String>,
    /// Print the expected indicator values (JSON) and send nothing.
    #[arg(long)]
    print_expected: bool,
    /// Seconds one message is resent while the hub refuses the connection, drops it before
    /// the ACK or answers `AR`/503 (a source system's interface engine keeps retrying).
    #[arg(long, default_value_t = 300)]
    retry_secs: u64,
    /// Write every acknowledged message here, one `route-kind<TAB>id` line each (ids are
    /// message control ids, setl_ids, SOP instance UIDs, visit numbers: no personal data), for
    /// `hubctl reconcile`.
    #[arg(long)]
    acknowledged_ids: Option<PathBuf>,
}

fn parse_rate(text: &str) -> anyhow::Result<f64> {
    let number = text.trim().trim_end_matches("/s");
    let rate: f64 = number
        .parse()
        .with_context(|| format!("--rate {text}: expected N or N/s"))?;
    if !rate.is_finite() || rate < 0.0 {
        bail!("--rate must be zero or positive");
    }
    Ok(rate)
}

impl SimulateArgs {
    fn targets(&self) -> anyhow::Result<Targets> {
        let mut his = HashMap::new();
        let mut his_default = None;
        for entry in &self.mllp_his {
            match entry.split_once('=') {
                Some((facility, addr)) => {
                    let addr: SocketAddr = addr
                        .parse()
                        .with_context(|| format!("--mllp-his {entry}"))?;
                    his.insert(facility.to_owned(), addr);
                }
                None => {
                    his_default = Some(
                        entry
                            .parse()
                            .with_context(|| format!("--mllp-his {entry}"))?,
                    )
                }
            }
        }
        Ok(Targets {
            his,
            his_default,
            lab: self.mllp_lab,
            imaging: self.mllp_imaging,
            settlements_url: self.settlements_url.clone(),
            token: self.token.clone(),
            rate: parse_rate(&self.rate)?,
            batch: self.batch,
            dicom_drop: self.dicom_drop.clone(),
            table_url: self.table_url.clone(),
            retry_for: std::time::Duration::from_secs(self.retry_secs),
        })
    }
}

/// Simulates the county and sends it, or prints what it must produce.
pub async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let (_, simulation) = args.county.simulate()?;
    let mut stdout = std::io::stdout().lock();
    if args.print_expected {
        serde_json::to_writer_pretty(&mut stdout, &simulation.expected())?;
        writeln!(stdout)?;
        return Ok(());
    }
    let targets = args.targets()?;
    if targets.his_default.is_some() {
        tracing::warn!(
            "A shared HIS listener stamps its own facility code on every visit: the indicators will differ from --print-expected."
        );
    }
    tracing::info!(
        residents = simulation.residents.len(),
        messages = simulation.messages.len(),
        "Sending the simulated county."
    );
    let report = send(&simulation.messages, &targets).await?;
    if let Some(path) = &args.acknowledged_ids {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("{}", path.display()))?,
        );
        for (kind, id) in &report.acknowledged {
            writeln!(file, "{kind}\t{id}")?;
        }
        file.flush()?;
    }
    serde_json::to_writer_pretty(&mut stdout, &report)?;
    writeln!(stdout)?;
    if report.skipped > 0 {
        tracing::warn!(
            skipped = report.skipped,
            "Messages without a target were not sent."
        );
    }
    if report.total_rejected() > 0 {
        bail!("{} messages were refused", report.total_rejected());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("0").unwrap(), 0.0);
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
