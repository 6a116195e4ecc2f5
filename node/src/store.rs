//! The store: sled 0.34.7 behind a narrow API (open with a schema check, apply a batch
//! atomically, get, iterate for restore and sync). This is the only module that names sled
//! (sled calls itself beta; keeping it behind these verbs keeps it replaceable).
//!
//! Trees:
//! - `headers`: update id → canonical signed header
//! - `bodies`: update id → body bytes (live bodies only)
//! - `by_object`: object ‖ agency ‖ id → () (history and per-source lookups)
//! - `by_author`: author ‖ seq (big-endian) ‖ id → ()
//! - `views`: object → derived view (JSON), rebuilt from the updates when stale
//! - `conjunctions`: screening results (local computations, not replicated)
//! - `meta`: schema version, network id, seq reservation, views digest
//!
//! Every [`Store::apply`] writes one atomic batch per tree, in a crash-safe order, then
//! flushes: when it returns, the batch is on disk.

use std::path::{Path, PathBuf};

use protocol::codec;
use protocol::engine::StoreOp;
use protocol::envelope::SignedHeader;
use protocol::ids::{NetworkId, ObjectId, UpdateId};

/// The layout this build reads and writes. Bump it with a migration when the layout changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Batches of at least this many operations write their independent trees in parallel.
const PARALLEL_APPLY_OPS: usize = 512;

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
    headers: sled::Tree,
    bodies: sled::Tree,
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

impl Store {
    /// Opens (or creates) the store in `dir`, checking its schema version and network.
    /// `cache_bytes` bounds sled's page cache.
    pub fn open(dir: &Path, network: &NetworkId, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|source| StoreError::Open { path: dir.to_owned(), source })?;
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            path: dir.to_owned(),
            headers: tree("headers")?,
            bodies: tree("bodies")?,
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
                if found != SCHEMA_VERSION {
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
        Ok(store)
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
    /// Each tree gets one atomic sled batch, written in an order that keeps a crash harmless:
    /// bodies and indexes first, then headers, then the seq reservation. sled recovers a
    /// prefix of its log, so after a crash a header is never present without its indexes
    /// and body; indexes or bodies without a header are ignored on load and removed by
    /// [`Store::repair`]. Batches written one after another keep this order among them, so
    /// a crash leaves a prefix of them. A batch is acknowledged only after the flush.
    pub fn write(&self, ops: &[StoreOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut headers = sled::Batch::default();
        let mut bodies = sled::Batch::default();
        let mut by_object = sled::Batch::default();
        let mut by_author = sled::Batch::default();
        let mut removed_headers = sled::Batch::default();
        let mut reserved = None;
        let index_keys = |id: &UpdateId, signed: &SignedHeader| {
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
        };
        for op in ops {
            match op {
                StoreOp::PutHeader { id, signed } => {
                    let bytes =
                        codec::encode(signed.as_ref()).map_err(|e| corrupt(format!("header {id}"), e))?;
                    headers.insert(&id.0, bytes);
                    let (object_key, author_key) = index_keys(id, signed);
                    if let Some(key) = object_key {
                        by_object.insert(key, &[]);
                    }
                    by_author.insert(author_key, &[]);
                }
                StoreOp::PutBody { id, body } => bodies.insert(&id.0, body.as_slice()),
                StoreOp::DropBody(id) => bodies.remove(&id.0),
                StoreOp::Remove(id) => {
                    bodies.remove(&id.0);
                    removed_headers.remove(&id.0);
                    if let Some(signed) = self.get_header(id)? {
                        let (object_key, author_key) = index_keys(id, &signed);
                        if let Some(key) = object_key {
                            by_object.remove(key);
                        }
                        by_author.remove(author_key);
                    }
                }
                StoreOp::ReserveSeq(seq) => reserved = Some(*seq),
            }
        }
        // Removals go first: a header is removed before its indexes, so a crash between
        // leaves only index entries without a header (harmless, repaired on start).
        self.headers.apply_batch(removed_headers)?;
        // Bodies and the two indexes are independent trees: large batches go to them in
        // parallel (sled trees take concurrent writers). Headers follow once all three are in.
        if ops.len() >= PARALLEL_APPLY_OPS {
            std::thread::scope(|scope| {
                let bodies = scope.spawn(|| self.bodies.apply_batch(bodies));
                let by_object = scope.spawn(|| self.by_object.apply_batch(by_object));
                let by_author = self.by_author.apply_batch(by_author);
                for joined in [bodies.join(), by_object.join()] {
                    joined.map_err(|_| corrupt("store writer thread", "panicked"))??;
                }
                by_author?;
                Ok::<(), StoreError>(())
            })?;
        } else {
            self.bodies.apply_batch(bodies)?;
            self.by_object.apply_batch(by_object)?;
            self.by_author.apply_batch(by_author)?;
        }
        self.headers.apply_batch(headers)?;
        if let Some(seq) = reserved {
            self.meta.insert(META_RESERVED_SEQ, &seq.to_be_bytes())?;
        }
        Ok(())
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

    /// Removes index entries and bodies whose header is missing (left by a crash between the
    /// per-tree batches of one [`Store::apply`]). Returns how many were removed.
    pub fn repair(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        let tail_id =
            |key: &[u8]| -> Option<[u8; 32]> { key.get(key.len().checked_sub(32)?..)?.try_into().ok() };
        for tree in [&self.by_object, &self.by_author] {
            let mut batch = sled::Batch::default();
            for item in tree.iter() {
                let (key, _) = item?;
                if tail_id(&key).is_none_or(|id| !self.headers.contains_key(id).unwrap_or(false)) {
                    batch.remove(key);
                    removed += 1;
                }
            }
            tree.apply_batch(batch)?;
        }
        let mut batch = sled::Batch::default();
        for item in self.bodies.iter() {
            let (key, _) = item?;
            if !self.headers.contains_key(&key)? {
                batch.remove(key);
                removed += 1;
            }
        }
        self.bodies.apply_batch(batch)?;
        if removed > 0 {
            self.db.flush()?;
        }
        Ok(removed)
    }

    /// Every stored header, one at a time (a large store is never held in memory twice). Used
    /// on start to rebuild the engine; corrupt entries are reported, never silently skipped.
    pub fn stored_headers(&self) -> impl Iterator<Item = Result<SignedHeader, StoreError>> + '_ {
        self.headers.iter().map(|item| {
            let (key, value) = item?;
            codec::decode(&value).map_err(|e| corrupt(format!("header {}", hex::encode(&key)), e))
        })
    }

    /// Every stored body with its update id, one at a time, in id order.
    pub fn stored_bodies(&self) -> impl Iterator<Item = Result<(UpdateId, Vec<u8>), StoreError>> + '_ {
        self.bodies.iter().map(|item| {
            let (key, value) = item?;
            let id: [u8; 32] = key
                .as_ref()
                .try_into()
                .map_err(|_| corrupt(format!("body key {}", hex::encode(&key)), "not 32 bytes"))?;
            Ok((UpdateId(id), value.to_vec()))
        })
    }

    pub fn get_header(&self, id: &UpdateId) -> Result<Option<SignedHeader>, StoreError> {
        self.headers
            .get(id.0)?
            .map(|v| codec::decode(&v).map_err(|e| corrupt(format!("header {id}"), e)))
            .transpose()
    }

    pub fn get_body(&self, id: &UpdateId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.bodies.get(id.0)?.map(|v| v.to_vec()))
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
        self.headers.len()
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
        let mut batch = sled::Batch::default();
        for (object, json) in views {
            match json {
                Some(json) => batch.insert(object_key(object), json.as_slice()),
                None => batch.remove(object_key(object)),
            }
        }
        self.views.apply_batch(batch)?;
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
        assert!(text.contains("schema version 7") && text.contains("reads version 1"), "{text}");
        assert_eq!(peek_schema(dir.path()).unwrap(), Some(7), "the store was not rewritten");
    }

    #[test]
    fn a_store_of_another_network_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), &NetworkId([1; 32]), 1 << 20).unwrap());
        let err = Store::open(dir.path(), &NetworkId([2; 32]), 1 << 20).unwrap_err();
        assert!(matches!(err, StoreError::WrongNetwork { .. }), "{err}");
    }
}
