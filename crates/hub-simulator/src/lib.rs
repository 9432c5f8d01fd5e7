//! A seeded, reproducible synthetic county medical community (县域医共体) and its year of care,
//! sent through the hub's real interfaces, with the indicator values its data must produce.
//!
//! - [`config`]: size, period and rates. [`county`]: the county's facilities from the facility
//!   registry (`deploy/terminology/facilities.csv`). [`people`]: residents in households with
//!   valid synthetic resident ID numbers (GB 11643 MOD 11-2), Chinese names, insured places.
//! - [`generate`]: the year, day by day, as [`Outgoing`] messages and as ground truth;
//!   [`hl7`] and [`settlement`] build the HL7 v2 and NHSA JSON the source systems send.
//! - [`expected`]: the ground truth reduced with the monitor's formulas (`services/monitor/
//!   INDICATORS.md`) to the numerators and denominators the monitor must publish.
//! - [`send`]: delivery over MLLP (waiting for each ACK), HTTP settlement batches and DICOM
//!   Part-10 files ([`dicom`]) into the imaging connector's drop folder, visit rows into a
//!   front-end-processor table ([`table`]) for facilities configured to use one.
//!
//! Everything is deterministic in the seed: a ChaCha8 generator, no clock, no hash-map order.
//! Every record is synthetic (MSH-11 `T`, a `ZSY` segment, `"synthetic": true`; the connectors
//! the simulator feeds should mark their listeners `synthetic`).

pub mod config;
pub mod county;
pub mod dicom;
pub mod expected;
pub mod generate;
pub mod hl7;
pub mod people;
pub mod send;
pub mod settlement;
pub mod table;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use config::Config;
pub use county::{County, CountyError};
pub use expected::{Expected, Truth};
pub use generate::{Outgoing, RecordTruth, Route, Source};
pub use people::Resident;

/// A simulated county and its messages.
#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    /// The parameters.
    pub config: Config,
    /// The residents.
    pub residents: Vec<Resident>,
    /// Every message, in send order.
    pub messages: Vec<Outgoing>,
    /// Ground truth of the indicators.
    pub truth: Truth,
    /// Per resident index: what their health record must show.
    pub records: BTreeMap<usize, RecordTruth>,
}

impl Simulation {
    /// Simulates `config` over `county`.
    pub fn run(config: &Config, county: &County) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let start_ms = config
            .start
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis())
            - 8 * 3_600_000;
        let residents = people::population(
            &mut rng,
            county,
            config.residents,
            config.insured_elsewhere_share,
            config.start,
        );
        let mut generator = generate::Generator::new(rng, config, county, &residents);
        generator.run(start_ms);
        let generate::Generator {
            messages,
            truth,
            records,
            ..
        } = generator;
        Self {
            config: config.clone(),
            residents,
            messages,
            truth,
            records,
        }
    }

    /// The indicators the monitor must publish for this county (small cells below 5 suppressed).
    pub fn expected(&self) -> Expected {
        self.truth.expected(&self.config.county, 5)
    }
}
