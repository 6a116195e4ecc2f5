//! Conjunction screening on a running node (DESIGN.md §6): the engine task hands the shared
//! catalogue to a screening thread, in full on a timer and object by object as updates change
//! shared orbits, and the thread keeps the events, in memory for queries and in the store's
//! `conjunctions` tree across restarts.
//!
//! Conjunctions are local computations, not replicated state: every node screens its own merged
//! catalogue, and every event names the update ids of the element sets it used and the
//! parameters, so anyone can reproduce it.
//!
//! - A *full* screening ([`Job::Full`]) screens every object's shared orbit over the window from
//!   its start (the node's clock when the job was made) and replaces every stored event.
//! - An *incremental* one ([`Job::Changed`]) re-screens the changed objects against all others
//!   and replaces just their events ([`Screening::update`]); it gives exactly the events a full
//!   screening of the same catalogue gives.
//!
//! The thread takes at most [`JOB_QUEUE`] jobs queued; the engine task keeps the changed
//! objects and tries again on its next tick when the queue is full, so changes are never lost,
//! only merged.

use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::{Context, Result};
use protocol::ids::{ObjectId, UpdateId};
use protocol::time::Epoch;

use super::hbr::HbrTable;
use super::screen::{Conjunction, IssueKind, ScreenObject, Screening, ScreeningParameters, Silent};
use crate::core::ScreeningStatus;
use crate::store::Store;

/// Screening jobs queued at most.
pub const JOB_QUEUE: usize = 2;

/// What the node screens with.
#[derive(Debug, Clone)]
pub struct ScreeningSettings {
    pub window_s: u32,
    pub threshold_km: f64,
    /// Combined hard-body radius for every pair, m; `None` takes each object's from the table.
    pub hard_body_radius_m: Option<f64>,
    pub hbr_table: Option<Arc<HbrTable>>,
}

/// Work for the screening thread.
#[derive(Debug)]
pub enum Job {
    /// Screen these objects (every object's shared orbit) from `start`.
    Full { start: Epoch, objects: Vec<ScreenObject<UpdateId>> },
    /// These objects' shared orbits changed; these objects no longer have one.
    Changed { changed: Vec<ScreenObject<UpdateId>>, removed: Vec<ObjectId> },
}

/// One stored event.
pub type Event = Conjunction<UpdateId>;

struct Shared {
    events: RwLock<Arc<Vec<Event>>>,
    status: Mutex<ScreeningStatus>,
}

/// The engine task's end of the screening thread.
pub struct ScreeningService {
    jobs: Option<SyncSender<Job>>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ScreeningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreeningService").finish_non_exhaustive()
    }
}

impl ScreeningService {
    /// Starts the thread, with the events stored by the last run until the first screening.
    pub fn start(settings: ScreeningSettings, store: Store) -> Result<ScreeningService> {
        let mut stored = Vec::new();
        for value in store.stored_conjunctions() {
            let value = value.context("reading stored conjunctions")?;
            // A stored event this build cannot read is dropped: the next screening replaces all.
            if let Ok(event) = serde_json::from_slice::<Event>(&value) {
                stored.push(event);
            }
        }
        sort(&mut stored);
        let status = ScreeningStatus { conjunctions: stored.len(), ..ScreeningStatus::default() };
        let shared = Arc::new(Shared { events: RwLock::new(Arc::new(stored)), status: Mutex::new(status) });
        let (jobs, rx) = sync_channel(JOB_QUEUE);
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("screening".into())
            .spawn(move || run(&settings, &store, &rx, &worker))
            .context("starting the screening thread")?;
        Ok(ScreeningService { jobs: Some(jobs), shared, thread: Some(thread) })
    }

    /// Queues a job, or gives it back when the queue is full.
    pub fn try_submit(&self, job: Job) -> Result<(), Job> {
        match &self.jobs {
            Some(jobs) => jobs.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
            }),
            None => Err(job),
        }
    }

    /// The events now held, sorted by TCA.
    pub fn events(&self) -> Arc<Vec<Event>> {
        self.shared.events.read().map(|e| Arc::clone(&e)).unwrap_or_default()
    }

    pub fn status(&self) -> ScreeningStatus {
        self.shared.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Finishes the queued jobs and stops the thread.
    pub fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ScreeningService {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sort(events: &mut [Event]) {
    events.sort_by_key(|a| (a.tca, a.primary, a.secondary));
}

/// The store key of an event: TCA (big-endian, order-preserving), then both objects.
pub fn event_key(event: &Event) -> Vec<u8> {
    let mut key = ((event.tca.0 as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    for object in [event.primary, event.secondary] {
        key.extend_from_slice(&protocol::codec::encode(&object).unwrap_or_default());
    }
    key
}

fn row(event: &Event) -> Option<(Vec<u8>, Vec<u8>)> {
    serde_json::to_vec(event).ok().map(|value| (event_key(event), value))
}

fn run(settings: &ScreeningSettings, store: &Store, rx: &Receiver<Job>, shared: &Shared) {
    let mut screening: Option<Screening<UpdateId>> = None;
    while let Ok(job) = rx.recv() {
        let t = Instant::now();
        match job {
            Job::Full { start, objects } => {
                let parameters = ScreeningParameters {
                    start,
                    window_s: settings.window_s,
                    threshold_km: settings.threshold_km,
                    hard_body_radius_m: settings.hard_body_radius_m,
                };
                let mut fresh = match Screening::new(parameters, settings.hbr_table.clone()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "screening parameters refused; screening is off");
                        return;
                    }
                };
                let stats = fresh.screen_all(objects, &Silent);
                let rows: Vec<_> = fresh.events().iter().filter_map(row).collect();
                if let Err(e) = store.replace_conjunctions(&rows) {
                    tracing::warn!(error = %e, "storing conjunctions failed; they are recomputed at the next screening");
                }
                let elapsed = t.elapsed().as_secs_f64();
                tracing::info!(
                    objects = stats.n_objects,
                    events = stats.n_events,
                    unpropagated = unpropagated(&fresh),
                    seconds = elapsed,
                    cache_mb = fresh.cache_bytes() / (1 << 20),
                    "full conjunction screening done"
                );
                publish(shared, &fresh, |s| {
                    s.last_full_s = Some(elapsed);
                    s.last_full_at = Some(start.to_iso_millis());
                });
                screening = Some(fresh);
            }
            Job::Changed { changed, removed } => {
                // Before the first full screening there is nothing to update: it covers these.
                let Some(current) = screening.as_mut() else { continue };
                let touched: HashSet<ObjectId> =
                    changed.iter().map(|o| o.estimate.object).chain(removed.iter().copied()).collect();
                let involves = |e: &&Event| touched.contains(&e.primary) || touched.contains(&e.secondary);
                let before: Vec<Vec<u8>> = current.events().iter().filter(involves).map(event_key).collect();
                let summary = current.update(changed, &removed);
                let after: Vec<_> = current.events().iter().filter(involves).filter_map(row).collect();
                if let Err(e) = store.update_conjunctions(&before, &after) {
                    tracing::warn!(error = %e, "storing conjunctions failed; they are recomputed at the next screening");
                }
                tracing::debug!(
                    rescreened = summary.n_rescreened,
                    removed = summary.n_events_removed,
                    added = summary.n_events_added,
                    ms = t.elapsed().as_millis() as u64,
                    "incremental conjunction screening"
                );
                publish(shared, current, |s| s.incremental_runs += 1);
            }
        }
    }
}

/// Makes a screening's events and counts visible to queries.
fn publish(shared: &Shared, screening: &Screening<UpdateId>, edit: impl FnOnce(&mut ScreeningStatus)) {
    let mut events = screening.events().to_vec();
    sort(&mut events);
    let n = events.len();
    if let Ok(mut held) = shared.events.write() {
        *held = Arc::new(events);
    }
    if let Ok(mut status) = shared.status.lock() {
        status.conjunctions = n;
        status.objects = screening.n_objects();
        status.unpropagated = unpropagated(screening);
        status.cache_bytes = screening.cache_bytes();
        edit(&mut status);
    }
}

/// Objects not screened over the whole window because their elements do not propagate.
fn unpropagated(screening: &Screening<UpdateId>) -> usize {
    screening.issues().iter().filter(|i| !matches!(i.issue, IssueKind::Superseded { .. })).count()
}
