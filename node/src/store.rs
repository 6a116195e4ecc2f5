//! The store: sled 0.34.7 behind a narrow API (open with a schema check, apply a batch
//! atomically, get, iterate for restore and sync). This is the only module that names sled
//! (sled calls itself beta; keeping it behind these verbs keeps it replaceable).
//!
//! Trees (schema version 2):
//! - `updates`: update id → the update: its canonical signed header and, while the update is
//!   live, its body, packed as `header length (u16, big-endian) ‖ header ‖ body`. A
//!   superseded estimate keeps its header (it is part of its author's chain) and loses its
//!   body. One insert stores a whole update: sled costs about 11 µs an insert here whatever
//!   the tree, so the insert count is what bounds ingest.
//! - `by_object`: object ‖ agency ‖ id → () (history and per-source lookups)
//! - `by_author`: author ‖ seq (big-endian) ‖ id → ()
//! - `views`: object → derived view (JSON), rebuilt from the updates when stale
//! - `conjunctions`: screening results (local computations, not replicated)
//! - `meta`: schema version, network id, seq reservation, views digest
//!
//! Schema version 1 kept headers and bodies in two trees (`headers`, `bodies`); a store of
//! that version is migrated in place when opened (see [`Store::open`]).
//!
//! Every [`Store::apply`] writes in a crash-safe order (sled recovers a prefix of its log),
//! then flushes: when it returns, the writes are on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protocol::codec;
use protocol::engine::StoreOp;
use protocol::envelope::SignedHeader;
use protocol::ids::{NetworkId, ObjectId, UpdateId};

/// The layout this build reads and writes. Bump it with a migration when the layout changes.
pub const SCHEMA_VERSION: u32 = 2;

/// The one older layout this build migrates from (headers and bodies in two trees).
const SCHEMA_V1: u32 = 1;
/// How long opening waits for the store's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Updates copied per batch when migrating a schema-1 store.
const MIGRATE_CHUNK: usize = 10_000;

const META_SCHEMA: &[u8] = b"schema_version";
const META_NETWORK: &[u8] = b"network_id";
const META_RESERVED_SEQ: &[u8] = b"reserved_seq";
const META_VIEWS_DIGEST: &[u8] = b"views_digest";
/// Present while a node has the store open; removed by a clean shutdown. Its presence at open
/// means the last run crashed, and [`Store::repair`] must scan.
const META_OPEN: &[u8] = b"open";

/// Errors of the store, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error(
        "the store at {path} has schema version {found}; this build of commons reads version {expected}. \
         Use the commons release that wrote it, or restore a backup made by this version"
    )]
    UnknownSchema { path: PathBuf, found: u32, expected: u32 },
    #[error("the store at {path} belongs to network {found}, but the genesis names network {expected}")]
    WrongNetwork { path: PathBuf, found: String, expected: String },
    #[error(
        "the store at {path} is in use by another process: is another node running from this data directory?"
    )]
    Locked { path: PathBuf },
    #[error("store I/O failed: {0}")]
    Io(#[from] sled::Error),
    #[error("stored record {what} is corrupt: {why}")]
    Corrupt { what: String, why: String },
}

/// The node's durable store.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    updates: sled::Tree,
    by_object: sled::Tree,
    by_author: sled::Tree,
    views: sled::Tree,
    conjunctions: sled::Tree,
    meta: sled::Tree,
}

fn object_key(object: &ObjectId) -> Vec<u8> {
    codec::encode(object).expect("an object id is a few bytes")
}

fn corrupt(what: impl Into<String>, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what: what.into(), why: why.to_string() }
}

/// One stored update: `header length (u16, big-endian) ‖ header ‖ body`. An update whose
/// body is dropped (or not yet fetched) ends after its header.
fn pack(header: &[u8], body: Option<&[u8]>) -> Vec<u8> {
    let body = body.unwrap_or_default();
    let mut value = Vec::with_capacity(2 + header.len() + body.len());
    // Headers are bounded by `codec::MAX_UPDATE_BYTES` (16 KiB), far below u16::MAX.
    value.extend_from_slice(&(header.len() as u16).to_be_bytes());
    value.extend_from_slice(header);
    value.extend_from_slice(body);
    value
}

/// Splits a stored update into its header bytes and its body, if it has one.
fn unpack(value: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (len, rest) = value.split_first_chunk::<2>()?;
    let (header, body) = rest.split_at_checked(u16::from_be_bytes(*len) as usize)?;
    Some((header, (!body.is_empty()).then_some(body)))
}

/// Replaces the body of a stored update's value (`None` drops it), keeping its header.
fn set_body(id: &[u8], value: &mut Vec<u8>, body: Option<&[u8]>) -> Result<(), StoreError> {
    let (header, _) = unpack_or_corrupt(id, value)?;
    let header_end = 2 + header.len();
    value.truncate(header_end);
    value.extend_from_slice(body.unwrap_or_default());
    Ok(())
}

fn unpack_or_corrupt<'v>(id: &[u8], value: &'v [u8]) -> Result<(&'v [u8], Option<&'v [u8]>), StoreError> {
    unpack(value)
        .ok_or_else(|| corrupt(format!("update {}", hex::encode(id)), "shorter than its header length"))
}

fn decode_header(id: &[u8], bytes: &[u8]) -> Result<SignedHeader, StoreError> {
    codec::decode(bytes).map_err(|e| corrupt(format!("header {}", hex::encode(id)), e))
}

/// Writes at least this many operations at once go to sled as batches (see [`Store::write`]).
const BATCH_FROM_OPS: usize = 64;

/// Applies `entries` (a value to insert, or `None` to remove) to `tree` in order: as one
/// sled batch when `batched`, else key by key. An empty list writes nothing (sled seals and
/// writes a log buffer even for an empty batch).
fn write_tree(
    tree: &sled::Tree,
    entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    batched: bool,
) -> Result<(), StoreError> {
    if batched {
        if !entries.is_empty() {
            let mut batch = sled::Batch::default();
            for (key, value) in entries {
                match value {
                    Some(value) => batch.insert(key, value),
                    None => batch.remove(key),
                }
            }
            tree.apply_batch(batch)?;
        }
        return Ok(());
    }
    for (key, value) in entries {
        match value {
            Some(value) => tree.insert(key, value)?,
            None => tree.remove(key)?,
        };
    }
    Ok(())
}

/// The index keys of one update: object ‖ author ‖ id (when it is about an object) and
/// author ‖ seq ‖ id.
fn index_keys(id: &UpdateId, signed: &SignedHeader) -> (Option<Vec<u8>>, Vec<u8>) {
    let h = &signed.header;
    let object_key = h.object.map(|object| {
        let mut key = object_key(&object);
        key.extend_from_slice(&h.author.0);
        key.extend_from_slice(&id.0);
        key
    });
    let mut author_key = h.author.0.to_vec();
    author_key.extend_from_slice(&h.seq.to_be_bytes());
    author_key.extend_from_slice(&id.0);
    (object_key, author_key)
}

impl Store {
    /// Opens (or creates) the store in `dir`, checking its schema version and network.
    /// `cache_bytes` bounds sled's page cache.
    pub fn open(dir: &Path, network: &NetworkId, cache_bytes: u64) -> Result<Self, StoreError> {
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes).flush_every_ms(Some(1000));
        // sled's file lock can outlive a closed store for a moment (its IO threads finish their
        // last writes after the handle is gone), so a restart right after a stop waits a little
        // for it; a store that stays locked is in use by another process.
        let started = std::time::Instant::now();
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(StoreError::Locked { path: dir.to_owned() });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(source) => return Err(StoreError::Open { path: dir.to_owned(), source }),
            }
        };
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            path: dir.to_owned(),
            updates: tree("updates")?,
            by_object: tree("by_object")?,
            by_author: tree("by_author")?,
            views: tree("views")?,
            conjunctions: tree("conjunctions")?,
            meta: tree("meta")?,
            db,
        };
        match store.meta.get(META_SCHEMA)? {
            None => {
                store.meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                store.meta.insert(META_NETWORK, &network.0)?;
                store.db.flush()?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).unwrap_or(u32::MAX);
                if found == SCHEMA_V1 {
                    store.migrate_from_v1()?;
                } else if found != SCHEMA_VERSION {
                    return Err(StoreError::UnknownSchema {
                        path: dir.to_owned(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                let stored = store.meta.get(META_NETWORK)?.map(|v| v.to_vec()).unwrap_or_default();
                if stored != network.0 {
                    return Err(StoreError::WrongNetwork {
                        path: dir.to_owned(),
                        found: hex::encode(&stored),
                        expected: network.to_hex(),
                    });
                }
            }
        }
        // A migration that stopped after recording the new version leaves the old trees.
        for old in ["headers", "bodies"] {
            if store.db.tree_names().iter().any(|name| name.as_ref() == old.as_bytes()) {
                store.db.drop_tree(old)?;
            }
        }
        Ok(store)
    }

    /// Migrates a schema-1 store in place: each header and its body (if stored) become one
    /// entry of `updates`. Copying is idempotent, and the version is recorded only once every
    /// update is copied and flushed, so a migration cut short by a crash starts over at the
    /// next open; the old trees are dropped last.
    fn migrate_from_v1(&self) -> Result<(), StoreError> {
        let headers = self.db.open_tree("headers")?;
        let bodies = self.db.open_tree("bodies")?;
        tracing::info!(path = %self.path.display(), updates = headers.len(), "migrating the store from schema version 1 to 2");
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for item in headers.iter() {
            let (id, header) = item?;
            let body = bodies.get(&id)?;
            batch.insert(id, pack(&header, body.as_deref()));
            in_batch += 1;
            if in_batch == MIGRATE_CHUNK {
                self.updates.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        self.updates.apply_batch(batch)?;
        self.db.flush()?;
        self.meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Reads the schema version of a store without opening it for use (for diagnostics).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies a batch of operations, then flushes: on return, the batch is durable.
    pub fn apply(&self, ops: &[StoreOp]) -> Result<(), StoreError> {
        self.write(ops)?;
        if !ops.is_empty() {
            self.db.flush()?;
        }
        Ok(())
    }

    /// Applies a batch of operations without flushing; durable after the next [`Store::flush`].
    ///
    /// Small writes go to sled one key at a time, in an order that keeps a crash harmless:
    /// removed updates first, then the indexes, then the stored updates, then the seq
    /// reservation. sled recovers a prefix of its one log (every tree shares it), so after a
    /// crash an update is never present without its index entries; index entries without an
    /// update are ignored on load and removed by [`Store::repair`]. Calls one after another
    /// keep this order among them, so a crash leaves a prefix of them. Nothing is
    /// acknowledged before the flush.
    ///
    /// Why not sled batches for small writes: a batch seals and writes sled's log buffer before
    /// and after itself (`pin_log`), so three per call cost six buffer writes, each a `pwrite`
    /// and a `sync_file_range` on one of sled's IO threads, for every update relayed from a
    /// peer (65 a second on each node of a cluster at 10 updates/s). Single-key writes wait in
    /// the buffer for the next flush. No write here needs more than one key to change at once.
    /// Large writes (a submission, a sync) still go as one batch per tree, in the same order:
    /// there the two buffer writes are nothing, and sled lays the pages out more compactly
    /// (a restart with 100 000 updates held 13 MB more memory after key-by-key ingest).
    ///
    /// A body joins its update's stored header (written by this call or an earlier one); a
    /// body whose header is nowhere is skipped with a warning (the engine never asks for one:
    /// sync fetches it again if it is needed).
    pub fn write(&self, ops: &[StoreOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        // The final value of every update this call touches: `None` removes it.
        let mut updates: BTreeMap<[u8; 32], Option<Vec<u8>>> = BTreeMap::new();
        // Index entries in order: the key, and an empty value to insert (`None` removes it).
        let mut by_object: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        let mut by_author: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        let mut reserved = None;
        for op in ops {
            match op {
                StoreOp::PutHeader { id, signed } => {
                    let header =
                        codec::encode(signed.as_ref()).map_err(|e| corrupt(format!("header {id}"), e))?;
                    updates.insert(id.0, Some(pack(&header, None)));
                    let (object_key, author_key) = index_keys(id, signed);
                    by_object.extend(object_key.map(|key| (key, Some(Vec::new()))));
                    by_author.push((author_key, Some(Vec::new())));
                }
                StoreOp::PutBody { id, body } => match self.pending(&mut updates, id)? {
                    Some(value) => set_body(&id.0, value, Some(body))?,
                    None => tracing::warn!(%id, "a body without its header was not stored"),
                },
                StoreOp::DropBody(id) => {
                    if let Some(value) = self.pending(&mut updates, id)? {
                        set_body(&id.0, value, None)?;
                    }
                }
                StoreOp::Remove(id) => {
                    if let Some(value) = self.pending(&mut updates, id)? {
                        let (header, _) = unpack_or_corrupt(&id.0, value)?;
                        let (object_key, author_key) = index_keys(id, &decode_header(&id.0, header)?);
                        by_object.extend(object_key.map(|key| (key, None)));
                        by_author.push((author_key, None));
                    }
                    updates.insert(id.0, None);
                }
                StoreOp::ReserveSeq(seq) => reserved = Some(*seq),
            }
        }
        // An update goes before its index entries, and comes after them.
        let batched = ops.len() >= BATCH_FROM_OPS;
        let (mut removed, mut stored) = (Vec::new(), Vec::new());
        for (id, value) in updates {
            match value {
                None => removed.push((id.to_vec(), None)),
                Some(value) => stored.push((id.to_vec(), Some(value))),
            }
        }
        write_tree(&self.updates, removed, batched)?;
        write_tree(&self.by_object, by_object, batched)?;
        write_tree(&self.by_author, by_author, batched)?;
        write_tree(&self.updates, stored, batched)?;
        if let Some(seq) = reserved {
            self.meta.insert(META_RESERVED_SEQ, &seq.to_be_bytes())?;
        }
        Ok(())
    }

    /// An update's value as this write leaves it so far, to change in place: the write's own
    /// pending value, or else the stored one (brought into `pending`). `None` when there is no
    /// such update (never stored, or removed by this write).
    fn pending<'p>(
        &self,
        pending: &'p mut BTreeMap<[u8; 32], Option<Vec<u8>>>,
        id: &UpdateId,
    ) -> Result<Option<&'p mut Vec<u8>>, StoreError> {
        Ok(match pending.entry(id.0) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut().as_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => match self.updates.get(id.0)? {
                Some(stored) => entry.insert(Some(stored.to_vec())).as_mut(),
                None => None,
            },
        })
    }

    /// Marks the store open, and reports whether the previous run ended without a clean
    /// shutdown (so a repair scan is needed).
    pub fn mark_open(&self) -> Result<bool, StoreError> {
        let crashed = self.meta.insert(META_OPEN, &[1])?.is_some();
        self.db.flush()?;
        Ok(crashed)
    }

    /// Marks a clean shutdown: everything is flushed.
    pub fn mark_closed(&self) -> Result<(), StoreError> {
        self.meta.remove(META_OPEN)?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes index entries whose update is missing (left by a crash part-way through a
    /// [`Store::write`]). Returns how many were removed.
    pub fn repair(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        let tail_id =
            |key: &[u8]| -> Option<[u8; 32]> { key.get(key.len().checked_sub(32)?..)?.try_into().ok() };
        for tree in [&self.by_object, &self.by_author] {
            let mut batch = sled::Batch::default();
            for item in tree.iter() {
                let (key, _) = item?;
                if tail_id(&key).is_none_or(|id| !self.updates.contains_key(id).unwrap_or(false)) {
                    batch.remove(key);
                    removed += 1;
                }
            }
            tree.apply_batch(batch)?;
        }
        if removed > 0 {
            self.db.flush()?;
        }
        Ok(removed)
    }

    /// Every stored header, one at a time (a large store is never held in memory twice). Used
    /// on start to rebuild the engine; corrupt entries are reported, never silently skipped.
    pub fn stored_headers(&self) -> impl Iterator<Item = Result<SignedHeader, StoreError>> + '_ {
        self.updates.iter().map(|item| {
            let (id, value) = item?;
            let (header, _) = unpack_or_corrupt(&id, &value)?;
            decode_header(&id, header)
        })
    }

    /// Every stored body with its update id, one at a time, in id order.
    pub fn stored_bodies(&self) -> impl Iterator<Item = Result<(UpdateId, Vec<u8>), StoreError>> + '_ {
        self.updates
            .iter()
            .map(|item| {
                let (key, value) = item?;
                let id: [u8; 32] = key
                    .as_ref()
                    .try_into()
                    .map_err(|_| corrupt(format!("update key {}", hex::encode(&key)), "not 32 bytes"))?;
                let (_, body) = unpack_or_corrupt(&key, &value)?;
                Ok(body.map(|body| (UpdateId(id), body.to_vec())))
            })
            .filter_map(Result::transpose)
    }

    pub fn get_header(&self, id: &UpdateId) -> Result<Option<SignedHeader>, StoreError> {
        let Some(value) = self.updates.get(id.0)? else { return Ok(None) };
        let (header, _) = unpack_or_corrupt(&id.0, &value)?;
        decode_header(&id.0, header).map(Some)
    }

    pub fn get_body(&self, id: &UpdateId) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(value) = self.updates.get(id.0)? else { return Ok(None) };
        Ok(unpack_or_corrupt(&id.0, &value)?.1.map(<[u8]>::to_vec))
    }

    /// Ids of every stored update about an object, any agency.
    pub fn ids_for_object(&self, object: &ObjectId) -> Result<Vec<UpdateId>, StoreError> {
        let prefix = object_key(object);
        let mut ids = Vec::new();
        for item in self.by_object.scan_prefix(&prefix) {
            let (key, _) = item?;
            let tail = key.get(key.len().saturating_sub(32)..).unwrap_or_default();
            let id: [u8; 32] = tail.try_into().map_err(|_| corrupt("object index key", "short key"))?;
            ids.push(UpdateId(id));
        }
        Ok(ids)
    }

    /// The durable seq reservation of this node's agency (0 when none).
    pub fn reserved_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(META_RESERVED_SEQ)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    pub fn n_headers(&self) -> usize {
        self.updates.len()
    }

    /// Bytes on disk (sled's estimate).
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Writes derived views (object → JSON) and the header digest they were derived from.
    /// Writes derived views (`None` removes one). `digest` is the header digest the stored
    /// views are now complete for; `None` marks them incomplete (rebuilt at the next start if
    /// the node stops before they are complete).
    pub fn put_views(
        &self,
        views: &[(ObjectId, Option<Vec<u8>>)],
        digest: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        // The digest goes first (a crash part-way leaves views with no digest: rebuilt at the
        // next start), and is written back only after every view (written as [`Store::write`]
        // writes: key by key when few).
        if !views.is_empty() {
            self.meta.remove(META_VIEWS_DIGEST)?;
        }
        let entries = views.iter().map(|(object, json)| (object_key(object), json.clone())).collect();
        write_tree(&self.views, entries, views.len() >= BATCH_FROM_OPS)?;
        match digest {
            Some(digest) => self.meta.insert(META_VIEWS_DIGEST, digest)?,
            None => self.meta.remove(META_VIEWS_DIGEST)?,
        };
        Ok(())
    }

    /// The header digest the stored views were derived from, if any.
    pub fn views_digest(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self.meta.get(META_VIEWS_DIGEST)?.and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()))
    }

    /// Drops every stored view (before a rebuild).
    pub fn clear_views(&self) -> Result<(), StoreError> {
        self.views.clear()?;
        self.meta.remove(META_VIEWS_DIGEST)?;
        Ok(())
    }

    /// Whether no derived view is stored. (Cheap: counting would read every view's pages,
    /// and sled keeps what it reads.)
    pub fn has_no_views(&self) -> bool {
        self.views.is_empty()
    }

    /// Replaces every stored conjunction (after a full screening).
    pub fn replace_conjunctions(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        self.conjunctions.clear()?;
        self.update_conjunctions(&[], rows)
    }

    /// Removes some stored conjunctions and adds others, in one batch (an incremental
    /// re-screening).
    pub fn update_conjunctions(
        &self,
        remove: &[Vec<u8>],
        add: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in remove {
            batch.remove(key.as_slice());
        }
        for (key, value) in add {
            batch.insert(key.as_slice(), value.as_slice());
        }
        self.conjunctions.apply_batch(batch)?;
        Ok(())
    }

    /// Every stored conjunction's value, in key order.
    pub fn stored_conjunctions(&self) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + '_ {
        self.conjunctions.iter().map(|item| Ok(item?.1.to_vec()))
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// Reads the schema version of the store in `dir` without opening it for writing, for a
/// clear message before anything else happens. `None` for a new or absent store.
pub fn peek_schema(dir: &Path) -> Result<Option<u32>, StoreError> {
    if !dir.exists() {
        return Ok(None);
    }
    let db = sled::Config::new()
        .path(dir)
        .open()
        .map_err(|source| StoreError::Open { path: dir.to_owned(), source })?;
    let meta = db.open_tree("meta")?;
    Ok(meta
        .get(META_SCHEMA)?
        .map(|v| <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_schema_version_is_refused_with_a_clear_message_and_the_store_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let network = NetworkId([1; 32]);
        {
            let store = Store::open(dir.path(), &network, 1 << 20).unwrap();
            store.meta.insert(META_SCHEMA, &7u32.to_be_bytes()).unwrap();
            store.flush().unwrap();
        }
        let err = Store::open(dir.path(), &network, 1 << 20).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("schema version 7") && text.contains("reads version 2"), "{text}");
        assert_eq!(peek_schema(dir.path()).unwrap(), Some(7), "the store was not rewritten");
    }

    /// A signed metadata update about `object`, its id and its body.
    fn update(seq: u64, object: u32) -> (UpdateId, SignedHeader, Vec<u8>) {
        let record = protocol::records::Record::ObjectMetadata(protocol::records::ObjectMetadata {
            object: ObjectId::Norad(object),
            name: Some(format!("OBJECT {object}")),
            cospar_id: None,
            object_type: None,
            owner: None,
            launch_date: None,
            decay_date: None,
            rcs_m2: None,
            size_m: None,
        });
        let envelope =
            protocol::Signer::from_seed([5; 32]).sign(NetworkId([1; 32]), seq, None, &record).unwrap();
        (envelope.id(), envelope.header, envelope.body)
    }

    fn put(id: UpdateId, signed: &SignedHeader) -> StoreOp {
        StoreOp::PutHeader { id, signed: Box::new(signed.clone()) }
    }

    #[test]
    fn an_update_keeps_its_header_and_its_body_until_the_body_is_dropped_or_it_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &NetworkId([1; 32]), 1 << 20).unwrap();
        let (a, header_a, body_a) = update(1, 25544);
        let (b, header_b, body_b) = update(2, 25544);
        // Header and body in one write, and in two.
        store.apply(&[put(a, &header_a), StoreOp::PutBody { id: a, body: body_a.clone() }]).unwrap();
        store.apply(&[put(b, &header_b)]).unwrap();
        assert_eq!(store.get_body(&b).unwrap(), None);
        store.apply(&[StoreOp::PutBody { id: b, body: body_b.clone() }]).unwrap();
        assert_eq!(store.get_header(&a).unwrap(), Some(header_a.clone()));
        assert_eq!(store.get_body(&a).unwrap(), Some(body_a));
        assert_eq!(store.get_body(&b).unwrap(), Some(body_b.clone()));
        assert_eq!(store.ids_for_object(&ObjectId::Norad(25544)).unwrap().len(), 2);
        // A dropped body leaves the header; a removed update leaves nothing, indexes included.
        store.apply(&[StoreOp::DropBody(a), StoreOp::Remove(b)]).unwrap();
        assert_eq!(store.get_header(&a).unwrap(), Some(header_a));
        assert_eq!(store.get_body(&a).unwrap(), None);
        assert_eq!(store.get_header(&b).unwrap(), None);
        assert_eq!(store.ids_for_object(&ObjectId::Norad(25544)).unwrap(), vec![a]);
        assert_eq!(store.by_author.len(), 1);
        // A body whose header is nowhere is not stored.
        let (c, _, body_c) = update(3, 7);
        store.apply(&[StoreOp::PutBody { id: c, body: body_c }]).unwrap();
        assert_eq!(store.get_header(&c).unwrap(), None);
        assert_eq!(store.stored_headers().count(), 1);
        assert_eq!(store.stored_bodies().count(), 0);
    }

    #[test]
    fn a_schema_1_store_is_migrated_in_place_with_every_header_and_body() {
        let dir = tempfile::tempdir().unwrap();
        let network = NetworkId([1; 32]);
        let updates: Vec<_> = (1..=3).map(|seq| update(seq, 40_000 + seq as u32)).collect();
        {
            // The schema-1 layout: headers and bodies in two trees (the second body dropped).
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let (headers, bodies, meta) = (
                db.open_tree("headers").unwrap(),
                db.open_tree("bodies").unwrap(),
                db.open_tree("meta").unwrap(),
            );
            for (i, (id, header, body)) in updates.iter().enumerate() {
                headers.insert(id.0, codec::encode(header).unwrap()).unwrap();
                if i != 1 {
                    bodies.insert(id.0, body.as_slice()).unwrap();
                }
            }
            meta.insert(META_SCHEMA, &1u32.to_be_bytes()).unwrap();
            meta.insert(META_NETWORK, &network.0).unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path(), &network, 1 << 20).unwrap();
        for (i, (id, header, body)) in updates.iter().enumerate() {
            assert_eq!(store.get_header(id).unwrap().as_ref(), Some(header));
            assert_eq!(store.get_body(id).unwrap(), (i != 1).then(|| body.clone()));
        }
        let names = store.db.tree_names();
        assert!(
            !names.iter().any(|n| n.as_ref() == b"headers" || n.as_ref() == b"bodies"),
            "old trees dropped"
        );
        drop(store);
        assert_eq!(peek_schema(dir.path()).unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_store_in_use_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let _open = Store::open(dir.path(), &NetworkId([1; 32]), 1 << 20).unwrap();
        let err = Store::open(dir.path(), &NetworkId([1; 32]), 1 << 20).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("another node running"), "{err}");
    }

    #[test]
    fn a_store_of_another_network_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), &NetworkId([1; 32]), 1 << 20).unwrap());
        let err = Store::open(dir.path(), &NetworkId([2; 32]), 1 << 20).unwrap_err();
        assert!(matches!(err, StoreError::WrongNetwork { .. }), "{err}");
    }
}
