//! The store writer: the engine's durable writes, and everything that must wait for them, on a
//! thread of their own.
//!
//! The engine task runs the engine and hands each step's outward effects to the writer, in
//! order, as one [`Step`]: the store writes, the network outputs, and the replies to
//! submitters. The writer applies the writes, flushes, and only then sends the outputs and
//! replies. So the rule "nothing is acknowledged or published before it is on disk" holds,
//! while the engine task signs and merges the next batch during the flush (the two halves of
//! a large ingest run on both cores).
//!
//! Judgements of what peers sent (gossip verdicts, penalties) do not pass through here: the
//! engine task sends them to the network at once. A verdict lets gossipsub forward another
//! author's update, which never waits for this node's disk.
//!
//! Steps queued together are committed together: their writes go to the store as one
//! [`Store::write`] (key by key, in the store's crash-safe order), then one flush covers them
//! all, then their outputs go out in order. sled recovers a prefix of its log, so a crash
//! leaves a prefix of the writes.
//!
//! A group is flushed when it holds our own signed updates (a seq reservation) or something
//! waiting for durability (a reply to a local command, [`Writer::wait_durable`]). Updates
//! that only arrived from peers are applied without a flush of their own: sled flushes them
//! within a second, or the next flush does, and a crash before then loses only what sync
//! fetches again. (A flush per gossiped update was most of a node's CPU at a steady stream.)
//!
//! What the engine task itself serves from the engine's memory to the outside (sync answers,
//! handshake statements, single envelopes) can include updates that are not yet durable; it
//! calls [`Writer::wait_durable`] first, so no signed update of ours leaves this node before
//! it and its seq reservation are on disk.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use anyhow::{Context, Result};
use protocol::engine::StoreOp;
use tokio::sync::mpsc;

use crate::core::NetworkOutput;
use crate::store::Store;

/// Engine steps queued for the writer at most; the engine task waits when it is full.
pub const WRITE_QUEUE: usize = 16;
/// Steps committed under one flush at most.
pub const MAX_GROUP: usize = 64;

/// Something to do once the writes before it are durable.
pub type Then = Box<dyn FnOnce() + Send>;

/// One outward effect of an engine step, in the engine's order.
pub enum Action {
    Persist(Vec<StoreOp>),
    Network(NetworkOutput),
    Then(Then),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Persist(ops) => write!(f, "Persist({} ops)", ops.len()),
            Action::Network(output) => write!(f, "Network({output:?})"),
            Action::Then(_) => f.write_str("Then(..)"),
        }
    }
}

/// The outward effects of one engine step.
pub type Step = Vec<Action>;

/// The engine task's end of the writer.
#[derive(Debug)]
pub struct Writer {
    tx: Option<SyncSender<Step>>,
    /// Steps sent and not yet completed.
    in_flight: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread for `store`, sending network outputs to `net`.
    pub fn spawn(store: Store, net: mpsc::Sender<NetworkOutput>) -> Result<Writer> {
        let (tx, rx) = sync_channel(WRITE_QUEUE);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&in_flight);
        let thread = std::thread::Builder::new()
            .name("store writer".into())
            .spawn(move || run(&store, &net, &rx, &counter))
            .context("starting the store writer thread")?;
        Ok(Writer { tx: Some(tx), in_flight, thread: Some(thread) })
    }

    /// Queues a step (waiting while the queue is full). An empty step is dropped.
    pub fn send(&self, step: Step) {
        if step.is_empty() {
            return;
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = &self.tx {
            if tx.send(step).is_err() {
                // The writer only stops by exiting the process on a store failure.
                tracing::error!("the store writer has stopped; stopping");
                std::process::exit(70);
            }
        }
    }

    /// Runs `then` once every write queued before it is durable.
    pub fn then(&self, then: Then) {
        self.send(vec![Action::Then(then)]);
    }

    /// Returns once every queued step is complete: its writes durable, its outputs sent.
    pub fn wait_durable(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            return;
        }
        let (done, wait) = sync_channel(1);
        self.then(Box::new(move || {
            let _ = done.send(());
        }));
        let _ = wait.recv();
    }

    /// Completes every queued step and stops the thread.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(store: &Store, net: &mpsc::Sender<NetworkOutput>, rx: &Receiver<Step>, in_flight: &AtomicUsize) {
    // Whether writes are applied but not yet flushed.
    let mut unflushed = false;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(step) => group.push(step),
                Err(_) => break,
            }
        }
        let n = group.len();
        let t = std::time::Instant::now();
        let mut must_flush = false;
        let mut ops: Vec<StoreOp> = Vec::new();
        let mut after = Vec::new();
        for action in group.into_iter().flatten() {
            match action {
                Action::Persist(step_ops) => {
                    // Our own signed updates (their seq reservation comes with them).
                    must_flush |= step_ops.iter().any(|op| matches!(op, StoreOp::ReserveSeq(_)));
                    ops.extend(step_ops);
                }
                Action::Then(then) => {
                    must_flush = true;
                    after.push(Action::Then(then));
                }
                other @ Action::Network(_) => after.push(other),
            }
        }
        // The group's writes in one call, in the store's crash-safe order; they wait in sled's
        // log buffer for the flush (ours, or sled's own within a second).
        if !ops.is_empty() {
            if let Err(e) = store.write(&ops) {
                // Nothing after this point may be acknowledged: stop rather than lie.
                tracing::error!(error = %e, "the store refused a write; stopping");
                std::process::exit(70);
            }
            unflushed = true;
        }
        if must_flush && unflushed {
            if let Err(e) = store.flush() {
                tracing::error!(error = %e, "the store could not flush; stopping");
                std::process::exit(70);
            }
            unflushed = false;
        }
        tracing::debug!(steps = n, write_us = t.elapsed().as_micros() as u64, "store writes durable");
        for action in after {
            match action {
                // A full queue drops: gossip is an optimisation, anti-entropy delivers later.
                Action::Network(output) => {
                    let _ = net.try_send(output);
                }
                Action::Then(then) => then(),
                Action::Persist(_) => {}
            }
        }
        in_flight.fetch_sub(n, Ordering::SeqCst);
    }
}
