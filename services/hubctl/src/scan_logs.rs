//! `hubctl scan-logs`: proof that no personal data of a simulated run reached a log line.
//!
//! The county is regenerated in memory from the same arguments as `hubctl simulate` (seeded,
//! byte for byte the same residents), every personal value it generated is collected
//! ([`identifiers`]) and the files are searched for all of them at once with one Aho-Corasick
//! automaton. The summary (JSON on stdout) names the file, the line and the kind of each hit,
//! never the value: the report must not leak what it looks for.
//!
//! Exit status: 0 no hit, 1 hits, 2 error (as `grep`).

mod identifiers;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use anyhow::Context;
use clap::Args;
use serde::Serialize;

pub use identifiers::{Identifiers, Kind};

use crate::simulate::CountyArgs;

/// Arguments of `hubctl scan-logs`.
#[derive(Debug, Args)]
pub struct ScanLogsArgs {
    #[command(flatten)]
    county: CountyArgs,
    /// Hits listed in the summary at most (all of them are counted in `hit_count`).
    #[arg(long, default_value_t = 1000)]
    max_hits: usize,
    /// Log files or folders; a folder is read recursively, every regular file in it
    /// (symbolic links inside folders are not followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// One line holding a personal value of one kind (the value itself is never reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The file, as given or found below a given folder.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was found.
    pub kind: Kind,
}

/// What `hubctl scan-logs` prints.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Distinct personal values looked for, by kind.
    pub identifiers: identifiers::Counts,
    /// Search patterns (values and their escaped and HL7 forms).
    pub patterns: usize,
    /// Lines with a hit, counted once per kind.
    pub hit_count: u64,
    /// More than `--max-hits` hits: the list is cut.
    pub hits_truncated: bool,
    /// The first `--max-hits` hits, in file and line order.
    pub hits: Vec<Hit>,
}

/// An automaton over every pattern of a county's personal values.
pub struct Scanner {
    automaton: AhoCorasick,
    kinds: Vec<Kind>,
    max_hits: usize,
}

impl Scanner {
    /// Builds the automaton; `max_hits` bounds the hits kept in the summary.
    ///
    /// # Errors
    /// The automaton is too large to build.
    pub fn new(identifiers: &Identifiers, max_hits: usize) -> anyhow::Result<Self> {
        let (patterns, kinds): (Vec<Vec<u8>>, Vec<Kind>) =
            identifiers.patterns().into_iter().unzip();
        // ASCII case folding: a lower-case `x` check character and `\u738B` as well as `\u738b`.
        // Leftmost-longest: the longest form wins where one pattern starts another.
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .context("building the search automaton")?;
        Ok(Self {
            automaton,
            kinds,
            max_hits,
        })
    }

    /// Scans one stream line by line, adding to `summary` (hits are named `file`).
    ///
    /// # Errors
    /// Reading fails.
    pub fn scan(
        &self,
        file: &str,
        reader: impl Read,
        summary: &mut Summary,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = Vec::with_capacity(4096);
        let mut number = 0u64;
        summary.files += 1;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                return Ok(());
            }
            number += 1;
            summary.lines += 1;
            summary.bytes += read as u64;
            // A line reports each kind once however often it holds values of it.
            let mut found: Vec<Kind> = Vec::new();
            for m in self.automaton.find_iter(&line) {
                let kind = self.kinds[m.pattern().as_usize()];
                if !found.contains(&kind) {
                    found.push(kind);
                }
            }
            found.sort();
            for kind in found {
                summary.hit_count += 1;
                if summary.hits.len() < self.max_hits {
                    summary.hits.push(Hit {
                        file: file.to_owned(),
                        line: number,
                        kind,
                    });
                } else {
                    summary.hits_truncated = true;
                }
            }
        }
    }

    /// Scans files and folders (recursively, in name order).
    ///
    /// # Errors
    /// A path does not exist or cannot be read.
    pub fn scan_paths(&self, paths: &[PathBuf], summary: &mut Summary) -> anyhow::Result<()> {
        for path in paths {
            let meta =
                std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
            if meta.is_dir() {
                self.scan_dir(path, summary)?;
            } else {
                self.scan_file(path, summary)?;
            }
        }
        Ok(())
    }

    fn scan_dir(&self, dir: &Path, summary: &mut Summary) -> anyhow::Result<()> {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                self.scan_dir(&path, summary)?;
            } else if kind.is_file() {
                self.scan_file(&path, summary)?;
            }
        }
        Ok(())
    }

    fn scan_file(&self, path: &Path, summary: &mut Summary) -> anyhow::Result<()> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        self.scan(&path.display().to_string(), file, summary)
            .with_context(|| format!("reading {}", path.display()))
    }
}

/// Regenerates the county, scans `args.paths` and prints the summary. Returns whether there
/// were hits.
///
/// # Errors
/// The county cannot be simulated, a path cannot be read, stdout cannot be written.
pub fn scan_logs(args: &ScanLogsArgs) -> anyhow::Result<bool> {
    let (county, simulation) = args.county.simulate()?;
    let identifiers = Identifiers::of(&county, &simulation);
    let scanner = Scanner::new(&identifiers, args.max_hits)?;
    let mut summary = Summary {
        identifiers: identifiers.counts(),
        patterns: scanner.kinds.len(),
        ..Summary::default()
    };
    scanner.scan_paths(&args.paths, &mut summary)?;
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &summary)?;
    writeln!(stdout)?;
    Ok(summary.hit_count > 0)
}

#[cfg(test)]
mod tests;
