//! `commons propagate`: TEME states of element sets over a time span.
//!
//! ```text
//! commons propagate catalog.tle --start 2023-03-31T00:00:00Z --stop 2023-04-01T00:00:00Z --step 60
//! commons propagate SGP4-VER.TLE --start +0 --stop +4320 --step 6h --json
//! ```
//!
//! Times are ISO 8601 UTC instants, shared by every object, or minutes since each object's own
//! epoch (`+0`, `+4320`, `-1440`), as the SGP4 verification set states them. The samples run
//! from the start in whole steps, and end with the stop itself, as the reference driver does.
//! Objects are propagated in bounded batches with [`crate::orbit::propagate`] and printed in
//! file order; a sample that cannot be propagated is printed with its error, never dropped.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use protocol::time::Epoch;
use rayon::prelude::*;

use crate::orbit::propagate::{
    prepare, propagate_parallel, PreparedObject, SampleStatus, StateArrays, Times, MAX_MINUTES_FROM_EPOCH,
};
use crate::orbit::ElementSet;

/// Most samples held in memory at once (about 50 MB of states): objects are propagated and
/// printed in batches of at most this many samples.
pub const MAX_BUFFERED_SAMPLES: usize = 1 << 20;

/// Most times per object: one object's samples must fit in one batch.
pub const MAX_TIMES_PER_OBJECT: usize = MAX_BUFFERED_SAMPLES;

/// Largest input file read, in bytes (the whole public catalogue is about 4 MB).
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

const MICROS_PER_MINUTE: i64 = 60_000_000;

/// Propagate element sets with SGP4 and print TEME position and velocity per object and time.
#[derive(Debug, Clone, clap::Args)]
pub struct PropagateArgs {
    /// The element sets (TLE, 3LE, ...); `-` reads standard input.
    pub file: PathBuf,
    /// First time: ISO 8601 UTC (`2023-03-31T00:00:00Z`), or minutes since each object's epoch
    /// (`+0`, `-1440`).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_time_arg)]
    pub start: TimeArg,
    /// Last time, in the same form as --start. It is always included.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_time_arg)]
    pub stop: TimeArg,
    /// Time between samples: seconds (`60`, `60s`), minutes (`1m`) or hours (`1h`).
    #[arg(long, value_parser = parse_step)]
    pub step: Step,
    /// One JSON record per object and time (JSON lines) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A time given on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeArg {
    /// A UTC instant shared by every object.
    Instant(Epoch),
    /// An offset from each object's own epoch, in whole microseconds.
    SinceEpoch { offset_micros: i64 },
}

/// The time between samples, in whole microseconds (positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub micros: i64,
}

/// Parses `--start`/`--stop`: ISO 8601 UTC, or signed minutes since each object's epoch.
pub fn parse_time_arg(text: &str) -> Result<TimeArg, String> {
    let text = text.trim();
    let expected = "expected ISO 8601 UTC (2023-03-31T00:00:00Z) or minutes since each object's \
                    epoch with a sign (+0, +4320, -1440)";
    if let Some(unsigned) = text.strip_prefix(['+', '-']) {
        let minutes: f64 = match unsigned.strip_prefix(['+', '-']) {
            Some(_) => None,
            None => unsigned.parse().ok(),
        }
        .ok_or_else(|| format!("invalid time {text:?}: {expected}"))?;
        if !(0.0..=MAX_MINUTES_FROM_EPOCH).contains(&minutes) {
            return Err(format!(
                "invalid time {text:?}: at most {MAX_MINUTES_FROM_EPOCH} minutes from the epoch (300 years)"
            ));
        }
        let sign = if text.starts_with('-') { -1.0 } else { 1.0 };
        // Rounded to the microsecond; the bound keeps it far inside i64.
        let offset_micros = (sign * minutes * MICROS_PER_MINUTE as f64).round() as i64;
        return Ok(TimeArg::SinceEpoch { offset_micros });
    }
    Epoch::parse_iso(text)
        .map(TimeArg::Instant)
        .map_err(|e| format!("{e}; or minutes since each object's epoch with a sign (+0, +4320, -1440)"))
}

/// Parses `--step`: a positive number of seconds, or of minutes or hours with `m` or `h`.
pub fn parse_step(text: &str) -> Result<Step, String> {
    let text = text.trim();
    let (number, micros_per_unit) = if let Some(n) = text.strip_suffix('h') {
        (n, 3_600_000_000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        (text, 1_000_000.0)
    };
    let why = "expected a positive time step in seconds (60, 60s), minutes (1m) or hours (1h)";
    let value: f64 = number.trim().parse().map_err(|_| format!("invalid step {text:?}: {why}"))?;
    let micros = (value * micros_per_unit).round();
    // 300 years is longer than any span the times can cover.
    if !(1.0..=MAX_MINUTES_FROM_EPOCH * MICROS_PER_MINUTE as f64).contains(&micros) {
        return Err(format!("invalid step {text:?}: {why}, at least one microsecond"));
    }
    Ok(Step { micros: micros as i64 })
}

/// The sample times: shared instants, or offsets from each object's epoch.
#[derive(Debug)]
enum Grid {
    Instants(Vec<Epoch>),
    SinceEpoch { offsets_micros: Vec<i64>, minutes: Vec<f64> },
}

/// Times from `start` in whole steps while before `stop`, then `stop` itself.
fn grid_micros(start: i64, stop: i64, step: Step) -> anyhow::Result<Vec<i64>> {
    if stop < start {
        bail!("--stop is before --start");
    }
    let span = stop.checked_sub(start).context("the span from --start to --stop is too long")?;
    let n_steps = span / step.micros + i64::from(span % step.micros != 0);
    let n_times = usize::try_from(n_steps).ok().and_then(|n| n.checked_add(1)).unwrap_or(usize::MAX);
    if n_times > MAX_TIMES_PER_OBJECT {
        bail!(
            "{n_times} times per object is more than the {MAX_TIMES_PER_OBJECT} allowed: use a larger --step \
             or a shorter span"
        );
    }
    let mut times: Vec<i64> = (0..n_steps).map(|k| start + k * step.micros).collect();
    times.push(stop);
    Ok(times)
}

fn build_grid(start: TimeArg, stop: TimeArg, step: Step) -> anyhow::Result<Grid> {
    match (start, stop) {
        (TimeArg::Instant(start), TimeArg::Instant(stop)) => {
            let micros = grid_micros(start.micros(), stop.micros(), step)?;
            Ok(Grid::Instants(micros.into_iter().map(Epoch::from_micros).collect()))
        }
        (TimeArg::SinceEpoch { offset_micros: start }, TimeArg::SinceEpoch { offset_micros: stop }) => {
            let offsets_micros = grid_micros(start, stop, step)?;
            // The same expression as Epoch::minutes_since, so both forms give the same bits.
            let minutes = offsets_micros.iter().map(|&m| m as f64 / 60e6).collect();
            Ok(Grid::SinceEpoch { offsets_micros, minutes })
        }
        _ => {
            bail!("--start and --stop must both be ISO 8601 instants or both be minutes since epoch (+N/-N)")
        }
    }
}

impl Grid {
    fn times(&self) -> Times<'_> {
        match self {
            Grid::Instants(instants) => Times::Instants(instants),
            Grid::SinceEpoch { minutes, .. } => Times::MinutesSinceEpoch(minutes),
        }
    }

    fn len(&self) -> usize {
        match self {
            Grid::Instants(instants) => instants.len(),
            Grid::SinceEpoch { minutes, .. } => minutes.len(),
        }
    }

    /// The UTC instant and the minutes since `epoch` of time number `index`.
    fn at(&self, index: usize, epoch: Epoch) -> (Epoch, f64) {
        match self {
            Grid::Instants(instants) => {
                let t = instants.get(index).copied().unwrap_or(epoch);
                (t, t.minutes_since(epoch))
            }
            Grid::SinceEpoch { offsets_micros, minutes } => (
                epoch.plus_micros(offsets_micros.get(index).copied().unwrap_or(0)),
                minutes.get(index).copied().unwrap_or(f64::NAN),
            ),
        }
    }
}

/// Reads the whole input (a file, or standard input for `-`), bounded.
pub(crate) fn read_input(file: &Path) -> anyhow::Result<(String, String)> {
    let mut bytes = Vec::new();
    let label = if file.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        "<stdin>".to_owned()
    } else {
        let opened = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        opened
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", file.display()))?;
        file.display().to_string()
    };
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("{label}: larger than {MAX_INPUT_BYTES} bytes");
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!("{label}: not UTF-8 text (first bad byte at offset {})", e.utf8_error().valid_up_to())
    })?;
    Ok((text, label))
}

/// Runs `commons propagate`.
pub fn run(args: PropagateArgs) -> anyhow::Result<()> {
    let grid = build_grid(args.start, args.stop, args.step)?;
    let (text, label) = read_input(&args.file)?;
    let outcome = crate::orbit::read_element_sets(&text, &label);
    if !outcome.errors.is_empty() {
        for error in &outcome.errors {
            eprintln!("error: {error}");
        }
        bail!("{label}: {} element set(s) could not be read; nothing propagated", outcome.errors.len());
    }
    let sets = outcome.sets;
    let objects = prepare(sets.par_iter().map(|set| &set.estimate));
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match write_all(&sets, &objects, &grid, args.json, &mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

/// Propagates in bounded batches of objects and prints each batch in file order.
fn write_all(
    sets: &[ElementSet],
    objects: &[PreparedObject],
    grid: &Grid,
    json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let n_times = grid.len();
    let objects_per_batch = (MAX_BUFFERED_SAMPLES / n_times.max(1)).max(1);
    let mut arrays = StateArrays::default();
    if !json {
        write_table_header(out)?;
    }
    for (batch_sets, batch_objects) in sets.chunks(objects_per_batch).zip(objects.chunks(objects_per_batch)) {
        arrays.resize(batch_objects.len(), n_times).map_err(io::Error::other)?;
        propagate_parallel(batch_objects, grid.times(), arrays.slices_mut()).map_err(io::Error::other)?;
        for (index, (set, object)) in batch_sets.iter().zip(batch_objects).enumerate() {
            let epoch = set.estimate.epoch;
            for time in 0..n_times {
                let Some(sample) = arrays.sample(index, time) else { continue };
                let (instant, minutes) = grid.at(time, epoch);
                let error = (!sample.status.is_ok()).then(|| error_of(object, sample.status, minutes));
                if json {
                    let record = JsonRecord {
                        norad_cat_id: set.estimate.object.norad(),
                        object: set.estimate.object.to_string(),
                        object_name: set.name.as_deref(),
                        time: instant,
                        minutes_since_epoch: minutes,
                        position_km: error.is_none().then_some(sample.position_km),
                        velocity_km_s: error.is_none().then_some(sample.velocity_km_s),
                        error,
                    };
                    // serde_json keeps the kind of an I/O error (a broken pipe stays one).
                    serde_json::to_writer(&mut *out, &record).map_err(io::Error::from)?;
                    writeln!(out)?;
                } else {
                    write_table_row(
                        out,
                        set,
                        instant,
                        minutes,
                        &sample.position_km,
                        &sample.velocity_km_s,
                        error,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Why a sample failed, in full: the propagator's own error where there is one.
fn error_of(object: &PreparedObject, status: SampleStatus, minutes: f64) -> JsonError {
    let message = match (object, status) {
        (Err(error), _) => error.to_string(),
        (Ok(_), SampleStatus::TimeOutOfRange) => {
            format!("{minutes} minutes from epoch is not finite or beyond {MAX_MINUTES_FROM_EPOCH}")
        }
        (Ok(propagator), _) => match propagator.propagate_minutes(minutes) {
            Err(error) => error.to_string(),
            Ok(_) => status.description().to_owned(),
        },
    };
    JsonError { kind: status_kind(status), reference_code: status.reference_code(), message }
}

/// A status as a stable snake_case word for JSON.
fn status_kind(status: SampleStatus) -> &'static str {
    match status {
        SampleStatus::Ok => "ok",
        SampleStatus::NotInitialised => "not_initialised",
        SampleStatus::Eccentricity => "eccentricity",
        SampleStatus::PerturbedEccentricity => "perturbed_eccentricity",
        SampleStatus::SemiLatusRectum => "semi_latus_rectum",
        SampleStatus::Decayed => "decayed",
        SampleStatus::TimeOutOfRange => "time_out_of_range",
        SampleStatus::NotComputed => "not_computed",
    }
}

/// One JSON line.
#[derive(Debug, serde::Serialize)]
struct JsonRecord<'a> {
    /// The catalogue number (null for a provisional id).
    norad_cat_id: Option<u32>,
    object: String,
    object_name: Option<&'a str>,
    time: Epoch,
    minutes_since_epoch: f64,
    position_km: Option<[f64; 3]>,
    velocity_km_s: Option<[f64; 3]>,
    error: Option<JsonError>,
}

#[derive(Debug, serde::Serialize)]
struct JsonError {
    kind: &'static str,
    /// The code Vallado's reference SGP4 gives for the same failure.
    reference_code: Option<u8>,
    message: String,
}

/// Column widths of the table, shared by the header and the rows.
const OBJECT_WIDTH: usize = 9;
const TIME_WIDTH: usize = 27;
const MINUTES_WIDTH: usize = 16;
const POSITION_WIDTH: usize = 17;
const VELOCITY_WIDTH: usize = 14;

fn write_table_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{:>ow$}  {:<tw$}  {:>mw$}  {:>pw$}  {:>pw$}  {:>pw$}  {:>vw$}  {:>vw$}  {:>vw$}  status",
        "object",
        "time (UTC)",
        "t-epoch (min)",
        "x (km)",
        "y (km)",
        "z (km)",
        "vx (km/s)",
        "vy (km/s)",
        "vz (km/s)",
        ow = OBJECT_WIDTH,
        tw = TIME_WIDTH,
        mw = MINUTES_WIDTH,
        pw = POSITION_WIDTH,
        vw = VELOCITY_WIDTH,
    )
}

fn write_table_row(
    out: &mut impl Write,
    set: &ElementSet,
    instant: Epoch,
    minutes: f64,
    position_km: &[f64; 3],
    velocity_km_s: &[f64; 3],
    error: Option<JsonError>,
) -> io::Result<()> {
    write!(
        out,
        "{:>ow$}  {:<tw$}  {:>mw$.6}  ",
        set.estimate.object.to_string(),
        instant.to_string(),
        minutes,
        ow = OBJECT_WIDTH,
        tw = TIME_WIDTH,
        mw = MINUTES_WIDTH,
    )?;
    match error {
        None => writeln!(
            out,
            "{:>pw$.8}  {:>pw$.8}  {:>pw$.8}  {:>vw$.9}  {:>vw$.9}  {:>vw$.9}  ok",
            position_km[0],
            position_km[1],
            position_km[2],
            velocity_km_s[0],
            velocity_km_s[1],
            velocity_km_s[2],
            pw = POSITION_WIDTH,
            vw = VELOCITY_WIDTH,
        ),
        Some(error) => writeln!(
            out,
            "{:>pw$}  {:>pw$}  {:>pw$}  {:>vw$}  {:>vw$}  {:>vw$}  error: {}",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            error.message,
            pw = POSITION_WIDTH,
            vw = VELOCITY_WIDTH,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ids::ObjectId;
    use protocol::records::OrbitEstimate;

    /// ISS (ZARYA), 2020-07-12, and a copy whose eccentricity does not initialise SGP4.
    fn element_sets() -> Vec<ElementSet> {
        let iss = crate::synthetic::iss_2020_07_12();
        let broken = OrbitEstimate { object: ObjectId::Norad(99999), eccentricity: 1.5, ..iss.clone() };
        [iss, broken]
            .into_iter()
            .map(|estimate| ElementSet { estimate, name: Some("TEST".into()), cospar_id: None })
            .collect()
    }

    fn output(json: bool) -> String {
        let sets = element_sets();
        let objects = prepare(sets.par_iter().map(|set| &set.estimate));
        let grid = build_grid(
            TimeArg::SinceEpoch { offset_micros: 0 },
            TimeArg::SinceEpoch { offset_micros: 10 * MICROS_PER_MINUTE },
            Step { micros: 5 * MICROS_PER_MINUTE },
        )
        .expect("small grid");
        let mut out = Vec::new();
        write_all(&sets, &objects, &grid, json, &mut out).expect("writes to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn json_has_one_record_per_object_and_time_with_errors_in_place() {
        let text = output(true);
        let records: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
        assert_eq!(records.len(), 6);
        let first = &records[0];
        assert_eq!(first["norad_cat_id"], 25544);
        assert_eq!(first["time"], "2020-07-12T21:16:01.000416Z");
        assert_eq!(first["minutes_since_epoch"], 0.0);
        assert_eq!(first["position_km"].as_array().map(Vec::len), Some(3));
        assert!(first["error"].is_null());
        assert_eq!(records[2]["time"], "2020-07-12T21:26:01.000416Z");
        let broken = &records[3];
        assert_eq!(broken["norad_cat_id"], 99999);
        assert!(broken["position_km"].is_null());
        assert_eq!(broken["error"]["kind"], "not_initialised");
        assert_eq!(broken["error"]["reference_code"], 1);
    }

    #[test]
    fn table_columns_line_up() {
        let text = output(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "a header and six rows:\n{text}");
        let status_column = lines[0].find("status").expect("a status column");
        for line in &lines[1..4] {
            assert_eq!(line.find(" ok").map(|i| i + 1), Some(status_column), "{line}");
        }
        for line in &lines[4..] {
            assert_eq!(line.find(" error:").map(|i| i + 1), Some(status_column), "{line}");
        }
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time_arg("+0"), Ok(TimeArg::SinceEpoch { offset_micros: 0 }));
        assert_eq!(parse_time_arg("+4320"), Ok(TimeArg::SinceEpoch { offset_micros: 4320 * 60_000_000 }));
        assert_eq!(parse_time_arg("-1440"), Ok(TimeArg::SinceEpoch { offset_micros: -1440 * 60_000_000 }));
        assert_eq!(parse_time_arg("+54.2028672"), Ok(TimeArg::SinceEpoch { offset_micros: 3_252_172_032 }));
        assert_eq!(
            parse_time_arg("2023-03-31T00:00:00Z"),
            Ok(TimeArg::Instant(Epoch::from_civil(2023, 3, 31, 0)))
        );
        for bad in ["", "+", "-x", "+-5", "-+5", "+inf", "+NaN", "+1e300", "1440", "yesterday", "2023-02-30"]
        {
            assert!(parse_time_arg(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn steps_parse() {
        assert_eq!(parse_step("60"), Ok(Step { micros: 60_000_000 }));
        assert_eq!(parse_step("60s"), Ok(Step { micros: 60_000_000 }));
        assert_eq!(parse_step("1m"), Ok(Step { micros: 60_000_000 }));
        assert_eq!(parse_step("1h"), Ok(Step { micros: 3_600_000_000 }));
        assert_eq!(parse_step("0.5s"), Ok(Step { micros: 500_000 }));
        for bad in ["", "0", "-60", "s", "1d", "NaN", "inf", "1e300h"] {
            assert!(parse_step(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn grid_ends_with_the_stop() {
        let step = Step { micros: 20 * 60_000_000 };
        let times = grid_micros(0, 50 * 60_000_000, step).expect("small");
        assert_eq!(times, [0, 20, 40, 50].map(|m| m * 60_000_000));
        assert_eq!(grid_micros(5, 5, step).expect("small"), [5]);
        assert!(grid_micros(5, 4, step).is_err());
        assert!(grid_micros(0, i64::MAX, Step { micros: 1 }).is_err());
        let mixed = build_grid(
            TimeArg::SinceEpoch { offset_micros: 0 },
            TimeArg::Instant(Epoch::from_civil(2023, 3, 31, 0)),
            step,
        );
        assert!(mixed.is_err());
    }
}
