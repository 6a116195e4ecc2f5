//! `commons screen`: all-against-all conjunction screening of an element-set file, offline.
//!
//! ```text
//! commons screen catalog.tle --start 2023-03-31T00:00:00Z            # one day, 5 km
//! commons screen catalog.tle --window 7d --threshold 2km --json
//! commons screen catalog.json --hbr-table HBR_Mass_Estimates.csv      # Pc where covariance is known
//! ```
//!
//! Reads TLE, 3LE, OMM (KVN, XML, JSON) or CelesTrak CSV ([`crate::orbit::read_element_sets`]);
//! a file with bad records is refused, each record named by file, line, object and field, as
//! `commons convert` and `commons propagate` do. Screens with [`crate::screening::screen`] and
//! prints a table of events sorted by TCA, or with `--json` one JSON record per event (JSON
//! lines). Objects that could not be screened over the whole window are listed on standard error;
//! a progress bar shows there too when it is a terminal.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use protocol::time::Epoch;

use crate::cli::table;
use crate::screening::hbr::HbrTable;
use crate::screening::screen::{
    self, CollisionProbability, Conjunction, IssueKind, ScreenObject, ScreeningParameters, Stage,
    MAX_THRESHOLD_KM, MAX_WINDOW_S,
};

/// Screen element sets for close approaches, offline.
#[derive(Debug, Clone, clap::Args)]
pub struct ScreenArgs {
    /// The element sets (TLE, 3LE, OMM, CSV); `-` reads standard input.
    pub file: PathBuf,
    /// Start of the window, ISO 8601 UTC (default: now).
    #[arg(long, value_parser = parse_start)]
    pub start: Option<Epoch>,
    /// Length of the window: seconds (`3600`, `3600s`), minutes (`90m`), hours (`24h`) or days
    /// (`7d`); at most 7 days.
    #[arg(long, default_value = "24h", value_parser = parse_window)]
    pub window: u32,
    /// Largest miss distance reported: km (`5`, `5km`) or metres (`500m`).
    #[arg(long, default_value = "5km", value_parser = parse_threshold)]
    pub threshold: f64,
    /// Combined hard-body radius for the collision probability, metres.
    #[arg(long, allow_hyphen_values = true)]
    pub hbr: Option<f64>,
    /// NASA CARA's HBR table (`HBR_Mass_Estimates_*.csv`): per-object radii, summed per pair.
    #[arg(long)]
    pub hbr_table: Option<PathBuf>,
    /// One JSON record per event (JSON lines) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses `--start`.
pub fn parse_start(text: &str) -> Result<Epoch, String> {
    Epoch::parse_iso(text.trim()).map_err(|e| e.to_string())
}

/// Parses `--window` into seconds.
pub fn parse_window(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let why = "expected a duration in seconds (3600, 3600s), minutes (90m), hours (24h) or days (7d)";
    let (number, seconds_per_unit) = if let Some(n) = text.strip_suffix('d') {
        (n, 86_400.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3_600.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("invalid window {text:?}: {why}"))?;
    let seconds = (value * seconds_per_unit).round();
    if !(0.0..=f64::from(MAX_WINDOW_S)).contains(&seconds) {
        return Err(format!("invalid window {text:?}: {why}, from 0 to 7 days"));
    }
    Ok(seconds as u32)
}

/// Parses `--threshold` into km.
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let why = format!(
        "expected a distance in km (5, 5km) or metres (500m), above 0 and at most {MAX_THRESHOLD_KM} km"
    );
    let (number, km_per_unit) = if let Some(n) = text.strip_suffix("km") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 1e-3)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("invalid threshold {text:?}: {why}"))?;
    let km = value * km_per_unit;
    if !(km > 0.0 && km <= MAX_THRESHOLD_KM) {
        return Err(format!("invalid threshold {text:?}: {why}"));
    }
    Ok(km)
}

/// The progress bar on standard error (hidden when it is not a terminal).
#[derive(Debug)]
struct Bar(ProgressBar);

impl screen::Progress for Bar {
    fn stage(&self, stage: Stage, total: u64) {
        let what = match stage {
            Stage::Propagating => "objects propagated",
            Stage::Searching => "five-minute intervals searched",
            Stage::Refining => "candidate pairs refined",
        };
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(what);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Runs `commons screen`.
pub fn run(args: ScreenArgs) -> anyhow::Result<()> {
    let start = args.start.unwrap_or_else(crate::core::now_epoch);
    let parameters = ScreeningParameters {
        start,
        window_s: args.window,
        threshold_km: args.threshold,
        hard_body_radius_m: args.hbr,
    };
    parameters.validate().context("invalid screening parameters")?;
    let hbr_table = match &args.hbr_table {
        Some(path) => Some(HbrTable::read(path)?),
        None => None,
    };
    let (text, label) = super::propagate::read_input(&args.file)?;
    let outcome = crate::orbit::read_element_sets(&text, &label);
    if !outcome.errors.is_empty() {
        for error in &outcome.errors {
            eprintln!("error: {error}");
        }
        bail!("{label}: {} element set(s) could not be read; nothing screened", outcome.errors.len());
    }
    let objects: Vec<ScreenObject<Option<String>>> = outcome
        .sets
        .into_iter()
        .map(|set| ScreenObject { estimate: set.estimate, source: set.name })
        .collect();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Bar(bar);
    let report = screen::screen(parameters, objects, hbr_table.as_ref(), &progress)?;
    progress.0.finish_and_clear();
    for issue in &report.issues {
        eprintln!("warning: {}", describe_issue(&issue.object.to_string(), &issue.issue));
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if args.json {
        write_json(&report.events, &mut out)
    } else {
        write_table(&report.events, &parameters, report.stats.n_objects, &mut out)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

fn describe_issue(object: &str, issue: &IssueKind) -> String {
    match issue {
        IssueKind::NotInitialised { reason } => format!("object {object}: not screened: {reason}"),
        IssueKind::PropagationFailed { at, screened_until, reason } => {
            format!(
                "object {object}: screened only until {screened_until}: propagation fails at {at}: {reason}"
            )
        }
        IssueKind::Superseded { by_epoch } => {
            format!(
                "object {object}: a duplicate element set, not screened: the one with epoch {by_epoch} was"
            )
        }
    }
}

/// One JSON line.
#[derive(Debug, serde::Serialize)]
struct JsonEvent<'a> {
    /// Catalogue numbers (null for a provisional id), and the ids as text.
    norad_cat_id_1: Option<u32>,
    norad_cat_id_2: Option<u32>,
    object_1: String,
    object_2: String,
    object_name_1: Option<&'a str>,
    object_name_2: Option<&'a str>,
    /// ISO 8601 UTC with milliseconds.
    tca: String,
    miss_distance_km: f64,
    relative_speed_km_s: f64,
    radial_km: f64,
    transverse_km: f64,
    normal_km: f64,
    probability: &'a CollisionProbability,
}

fn write_json(events: &[Conjunction<Option<String>>], out: &mut impl Write) -> io::Result<()> {
    for e in events {
        let record = JsonEvent {
            norad_cat_id_1: e.primary.norad(),
            norad_cat_id_2: e.secondary.norad(),
            object_1: e.primary.to_string(),
            object_2: e.secondary.to_string(),
            object_name_1: e.primary_source.as_deref(),
            object_name_2: e.secondary_source.as_deref(),
            tca: e.tca.to_iso_millis(),
            miss_distance_km: e.miss_distance_km,
            relative_speed_km_s: e.relative_speed_km_s,
            radial_km: e.miss_rtn_km[0],
            transverse_km: e.miss_rtn_km[1],
            normal_km: e.miss_rtn_km[2],
            probability: &e.probability,
        };
        serde_json::to_writer(&mut *out, &record).map_err(io::Error::from)?;
        writeln!(out)?;
    }
    Ok(())
}

fn write_table(
    events: &[Conjunction<Option<String>>],
    parameters: &ScreeningParameters,
    n_objects: usize,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} event(s) within {} km among {} objects, {} to {}",
        events.len(),
        parameters.threshold_km,
        n_objects,
        parameters.start.to_iso_millis(),
        parameters.end().to_iso_millis()
    )?;
    if events.is_empty() {
        return Ok(());
    }
    let name = |id: &protocol::ids::ObjectId, source: &Option<String>| match source {
        Some(name) if !name.trim().is_empty() => format!("{id} {}", name.trim()),
        _ => id.to_string(),
    };
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.tca.to_iso_millis(),
                name(&e.primary, &e.primary_source),
                name(&e.secondary, &e.secondary_source),
                format!("{:.3}", e.miss_distance_km),
                format!("{:.3}", e.relative_speed_km_s),
                format!("{:.3}", e.miss_rtn_km[0]),
                format!("{:.3}", e.miss_rtn_km[1]),
                format!("{:.3}", e.miss_rtn_km[2]),
                match &e.probability {
                    CollisionProbability::Computed { pc, .. } => format!("{pc:.3e}"),
                    _ => "-".to_owned(),
                },
            ]
        })
        .collect();
    let headers = [
        "TCA (UTC)",
        "object 1",
        "object 2",
        "miss (km)",
        "speed (km/s)",
        "R (km)",
        "T (km)",
        "N (km)",
        "Pc",
    ];
    write!(out, "{}", table::render(&headers, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("24h"), Ok(86_400));
        assert_eq!(parse_window("90m"), Ok(5_400));
        assert_eq!(parse_window("7d"), Ok(MAX_WINDOW_S));
        assert_eq!(parse_window("3600"), Ok(3_600));
        assert_eq!(parse_window("0"), Ok(0));
        for bad in ["", "8d", "-1h", "x", "1w", "NaN", "inf"] {
            assert!(parse_window(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn thresholds_parse() {
        assert_eq!(parse_threshold("5km"), Ok(5.0));
        assert_eq!(parse_threshold("5"), Ok(5.0));
        assert_eq!(parse_threshold("500m"), Ok(0.5));
        for bad in ["", "0", "-5km", "101km", "km", "NaN"] {
            assert!(parse_threshold(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
