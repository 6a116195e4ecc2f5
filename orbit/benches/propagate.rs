//! Benchmark: SGP4 over the whole public catalogue (24 548 objects of
//! full-catalog-3le-2023-03-31.txt) at 1440 instants, 24 h at 60 s steps from
//! 2023-03-31T00:00:00Z, in nanoseconds per propagation; single-threaded and on every core,
//! next to python-sgp4's vectorised `SatrecArray` on the same input (bench/propagate_python.py).
//!
//! ```text
//! cargo bench -p commons-orbit --bench propagate
//! ```
//!
//! Environment: `PROPAGATE_BENCH_REPEATS` (timed runs per row, the best is kept; default 3),
//! `PROPAGATE_BENCH_PYTHON` (the interpreter for the Python side, default `python3`; `none`
//! skips it), `PROPAGATE_BENCH_OBJECTS` (an evenly spaced subset of that many objects, for
//! profiling; the Python side always takes the whole catalogue). Skips with a message when the
//! shared data directory is absent.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use orbit::propagate::{
    prepare, propagate_parallel, propagate_serial, sample_index, PreparedObject, StateArrays, Times,
};
use protocol::time::Epoch;
use rayon::prelude::*;

const CATALOGUE: &str = "catalog/full-catalog-3le-2023-03-31.txt";
/// 24 h at 60 s steps: the conjunction-screening workload.
const N_TIMES: i64 = 1440;
const STEP_MICROS: i64 = 60_000_000;
/// Objects per batch: the buffers (49 bytes per sample) stay near 70 MB and are reused, as a
/// screening engine would, instead of holding all 35 million samples (1.7 GB) at once.
const OBJECTS_PER_BLOCK: usize = 1024;
/// The speed goals: single-threaded against python-sgp4 on one core, and every core against one.
const GOAL_RATIO: f64 = 1.8;

/// Wall-clock and CPU time of one run.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    /// CPU time of every thread of the process (None where Linux's schedstat is unavailable).
    /// On a machine shared with other work it stays close to the time the work itself needs,
    /// where wall-clock time grows with the load.
    cpu: Option<Duration>,
}

/// One measured way of propagating the catalogue.
struct Row {
    name: String,
    threads: usize,
    timing: Timing,
    n_propagations: usize,
}

impl Row {
    fn wall_ns(&self) -> f64 {
        self.timing.wall.as_secs_f64() * 1e9 / self.n_propagations as f64
    }
    fn cpu_ns(&self) -> Option<f64> {
        self.timing.cpu.map(|cpu| cpu.as_secs_f64() * 1e9 / self.n_propagations as f64)
    }
}

/// CPU time spent so far by every thread of this process, from Linux's per-thread schedstat
/// (nanoseconds on the CPU). Threads that have ended are not counted: the benchmark's threads
/// (the main one and the rayon pools) live until the end.
fn process_cpu_time() -> Option<Duration> {
    let mut total_ns: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total_ns += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total_ns))
}

/// The best (shortest wall-clock time) of `repeats` timed runs of `run`.
fn best_of(repeats: usize, mut run: impl FnMut()) -> Timing {
    let mut best: Option<Timing> = None;
    for _ in 0..repeats.max(1) {
        let cpu_before = process_cpu_time();
        let started = Instant::now();
        run();
        let wall = started.elapsed();
        let cpu = process_cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
        if best.is_none_or(|b| wall < b.wall) {
            best = Some(Timing { wall, cpu });
        }
    }
    best.unwrap_or(Timing { wall: Duration::ZERO, cpu: None })
}

/// Propagates every object in blocks, reusing one set of buffers.
fn batch_run(objects: &[PreparedObject], instants: &[Epoch], arrays: &mut StateArrays, parallel: bool) {
    for block in objects.chunks(OBJECTS_PER_BLOCK) {
        arrays.resize(block.len(), instants.len()).expect("a block fits in memory");
        let summary = if parallel {
            propagate_parallel(block, Times::Instants(instants), arrays.slices_mut())
        } else {
            propagate_serial(block, Times::Instants(instants), arrays.slices_mut())
        };
        black_box(summary.expect("buffers sized for the block"));
        black_box(arrays.x_km().first());
    }
}

/// The plain single propagator, one sample at a time, into the same buffers: the `sgp4` crate's
/// own speed, for reference.
fn single_run(objects: &[PreparedObject], instants: &[Epoch], arrays: &mut StateArrays) {
    for block in objects.chunks(OBJECTS_PER_BLOCK) {
        arrays.resize(block.len(), instants.len()).expect("a block fits in memory");
        let slices = arrays.slices_mut();
        for (o, object) in block.iter().enumerate() {
            let Ok(propagator) = object else { continue };
            for (t, &instant) in instants.iter().enumerate() {
                let i = sample_index(o, t, instants.len());
                if let Ok(state) = propagator.propagate_to(instant) {
                    slices.x_km[i] = state.position_km[0];
                    slices.y_km[i] = state.position_km[1];
                    slices.z_km[i] = state.position_km[2];
                    slices.vx_km_s[i] = state.velocity_km_s[0];
                    slices.vy_km_s[i] = state.velocity_km_s[1];
                    slices.vz_km_s[i] = state.velocity_km_s[2];
                }
            }
        }
        black_box(arrays.x_km().first());
    }
}

/// python-sgp4's figure, from bench/propagate_python.py run now (None when skipped).
fn python_row(repeats: usize) -> anyhow::Result<Option<Row>> {
    let interpreter = std::env::var("PROPAGATE_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    if interpreter == "none" {
        println!("python-sgp4: skipped (PROPAGATE_BENCH_PYTHON=none)");
        return Ok(None);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/propagate_python.py");
    let mut command = Command::new(&interpreter);
    command.arg(&script).arg("--json").arg("--repeats").arg(repeats.to_string());
    if let Some(dir) = orbit::data::data_dir() {
        command.arg("--data").arg(dir);
    }
    let output = command.output().with_context(|| format!("running {interpreter} {}", script.display()))?;
    if !output.status.success() {
        bail!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        println!("python-sgp4: skipped ({})", String::from_utf8_lossy(&output.stderr).trim());
        return Ok(None);
    };
    let result: serde_json::Value = serde_json::from_str(line).context("the Python bench's JSON")?;
    let number = |key: &str| result.get(key).and_then(serde_json::Value::as_f64).context(key.to_owned());
    let n_propagations = (number("n_objects")? * number("n_times")?) as usize;
    let version = result.get("sgp4_version").and_then(|v| v.as_str()).unwrap_or("?");
    if result.get("accelerated").and_then(serde_json::Value::as_bool) != Some(true) {
        println!("warning: python-sgp4 ran without its C++ extension");
    }
    let cpu = number("cpu_seconds").ok().map(Duration::from_secs_f64);
    Ok(Some(Row {
        name: format!("python-sgp4 {version} SatrecArray"),
        threads: 1,
        timing: Timing { wall: Duration::from_secs_f64(number("seconds")?), cpu },
        n_propagations,
    }))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() -> anyhow::Result<()> {
    let Some(path) = orbit::data::data_file(CATALOGUE) else { return Ok(()) };
    let repeats: usize = match std::env::var("PROPAGATE_BENCH_REPEATS") {
        Ok(text) => text.parse().context("PROPAGATE_BENCH_REPEATS")?,
        Err(_) => 3,
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let outcome = orbit::read_element_sets(&text, &path.display().to_string());
    if let Some(error) = outcome.errors.first() {
        bail!("{} element sets could not be read, the first: {error}", outcome.errors.len());
    }
    let mut sets = outcome.sets;
    if let Ok(text) = std::env::var("PROPAGATE_BENCH_OBJECTS") {
        // An evenly spaced subset, keeping the catalogue's mix of orbits (for profiling).
        let n_objects: usize = text.parse().context("PROPAGATE_BENCH_OBJECTS")?;
        let stride = (sets.len() / n_objects.max(1)).max(1);
        sets = sets.into_iter().step_by(stride).take(n_objects).collect();
    }

    let started = Instant::now();
    let objects = prepare(sets.par_iter().map(|set| &set.estimate));
    let prepare_time = started.elapsed();
    let n_not_initialised = objects.iter().filter(|o| o.is_err()).count();

    let start = Epoch::from_civil(2023, 3, 31, 0);
    let instants: Vec<Epoch> = (0..N_TIMES).map(|k| start.plus_micros(k * STEP_MICROS)).collect();
    let n_propagations = objects.len() * instants.len();
    let n_cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n_cores).build().context("a rayon pool")?;

    println!(
        "{} objects ({} do not initialise) x {} times = {} propagations; SGP4 set-up {:.1} ms on {} threads",
        objects.len(),
        n_not_initialised,
        instants.len(),
        n_propagations,
        prepare_time.as_secs_f64() * 1e3,
        rayon::current_num_threads(),
    );
    println!("load average before: {}; best of {repeats} runs per row", load_average());

    let mut arrays = StateArrays::default();
    // Touch the buffers once so that page faults are not timed.
    batch_run(&objects[..objects.len().min(OBJECTS_PER_BLOCK)], &instants, &mut arrays, true);

    let mut rows = Vec::new();
    let timing = best_of(repeats, || single_run(&objects, &instants, &mut arrays));
    rows.push(Row { name: "Propagator::propagate_to per sample".into(), threads: 1, timing, n_propagations });
    let timing = best_of(repeats, || batch_run(&objects, &instants, &mut arrays, false));
    rows.push(Row { name: "batch propagate_serial".into(), threads: 1, timing, n_propagations });
    let timing = best_of(repeats, || pool.install(|| batch_run(&objects, &instants, &mut arrays, true)));
    rows.push(Row { name: "batch propagate_parallel".into(), threads: n_cores, timing, n_propagations });
    let load_after_rust = load_average();
    let python = python_row(repeats)?;
    println!("load average after Rust: {load_after_rust}; after Python: {}", load_average());

    println!();
    println!(
        "{:<38} {:>7} {:>9} {:>15} {:>14}",
        "implementation", "threads", "seconds", "ns/propagation", "CPU ns/prop."
    );
    for row in rows.iter().chain(&python) {
        let cpu = row.cpu_ns().map_or_else(|| "-".to_owned(), |ns| format!("{ns:.1}"));
        println!(
            "{:<38} {:>7} {:>9.3} {:>15.1} {:>14}",
            row.name,
            row.threads,
            row.timing.wall.as_secs_f64(),
            row.wall_ns(),
            cpu
        );
    }
    println!("(ns/propagation: wall-clock time; CPU ns/prop.: CPU time of all threads, which load from");
    println!(" other processes inflates far less)");
    println!();
    let (single, serial, parallel) = (&rows[0], &rows[1], &rows[2]);
    let verdict = |ratio: f64| if ratio >= GOAL_RATIO { "met" } else { "MISSED" };
    let scaling = serial.wall_ns() / parallel.wall_ns();
    println!(
        "{n_cores} threads against 1, wall clock: {scaling:.2}x (goal > {GOAL_RATIO}x: {})",
        verdict(scaling)
    );
    if let (Some(serial_cpu), Some(parallel_cpu)) = (serial.cpu_ns(), parallel.cpu_ns()) {
        // What the threads would reach with every core to themselves: the serial CPU time
        // shared out, less whatever the parallel run spends on top of it.
        let idle_scaling = n_cores as f64 * serial_cpu / parallel_cpu;
        println!(
            "{n_cores} threads against 1, from CPU time (as on an idle machine): {idle_scaling:.2}x (goal > \
             {GOAL_RATIO}x: {})",
            verdict(idle_scaling)
        );
    }
    println!("batch against the single propagator: {:.2}x", single.wall_ns() / serial.wall_ns());
    if let Some(python) = &python {
        let ratio = python.wall_ns() / serial.wall_ns();
        println!(
            "Rust single thread against python-sgp4, wall clock: {ratio:.2}x (goal >= {GOAL_RATIO}x: {})",
            verdict(ratio)
        );
        if let (Some(python_cpu), Some(serial_cpu)) = (python.cpu_ns(), serial.cpu_ns()) {
            let ratio = python_cpu / serial_cpu;
            println!(
                "Rust single thread against python-sgp4, CPU time: {ratio:.2}x (goal >= {GOAL_RATIO}x: {})",
                verdict(ratio)
            );
        }
        println!(
            "Rust on {n_cores} threads against python-sgp4, wall clock: {:.2}x",
            python.wall_ns() / parallel.wall_ns()
        );
    }
    Ok(())
}
