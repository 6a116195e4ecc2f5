//! Waiting that Ctrl-C interrupts: every wait polls a condition (or the clock, for the run's
//! schedule) in short steps and gives up when the stop flag is raised.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How often conditions on a node (a file, an API answer) are polled.
pub const POLL: Duration = Duration::from_millis(25);

/// Sleeps `duration` in short steps, failing as soon as `stop` is raised.
pub fn pause(stop: &AtomicBool, duration: Duration) -> Result<()> {
    let end = Instant::now() + duration;
    loop {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Sleeps until `instant` (at once if it is past), failing when `stop` is raised.
pub fn pause_until(stop: &AtomicBool, instant: Instant) -> Result<()> {
    pause(stop, instant.saturating_duration_since(Instant::now()))
}

/// Polls `condition` every `every` until it yields a value; fails after `timeout` saying
/// `what` (and the last error the condition returned, if any), or when `stop` is raised.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    stop: &AtomicBool,
    mut condition: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match condition() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > timeout {
            return match last_error {
                Some(e) => Err(e).with_context(|| format!("timed out after {timeout:?} waiting for {what}")),
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            };
        }
        pause(stop, every)?;
    }
}

/// A flag raised by SIGINT (Ctrl-C) or SIGTERM, so that the run stops and its guard kills
/// the nodes and removes their directories. The signals are caught by tokio's handler on a
/// thread of its own (no `unsafe` here, and no extra dependency: tokio is the workspace's).
pub fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let raised = Arc::clone(&flag);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the signal handler's runtime")?;
    // Register the handlers before returning, so that a signal right after is caught.
    let mut terminate = runtime
        .block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) })
        .context("installing the SIGTERM handler")?;
    let mut interrupt = runtime
        .block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) })
        .context("installing the SIGINT handler")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            eprintln!("commons-sim cluster: interrupted; stopping every node");
            raised.store(true, Ordering::Relaxed);
        })
        .context("starting the signal thread")?;
    Ok(flag)
}
