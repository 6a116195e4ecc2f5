//! What agencies publish: element sets from a real catalogue (the shared data's full public
//! catalogue of 2023-03-31, read through `orbit`), or from `orbit::synthetic` when the data
//! is absent. Each object of the workload is tracked by one to three agencies; a publication
//! is a new revision of an object's element set, its epoch moved forward by the virtual time
//! elapsed and its mean anomaly advanced to match (with a small offset per agency, as two
//! sensors differ), plus the agency's metadata claim the first time it publishes the object.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use orbit::ElementSet;
use protocol::records::{ObjectMetadata, OrbitEstimate};
use protocol::time::Epoch;

use crate::config::CatalogueChoice;

/// The real catalogue used when present, relative to the shared data directory.
pub const REAL_CATALOGUE: &str = "catalog/full-catalog-3le-2023-03-31.txt";
/// Size of the synthetic catalogue when the real one is not used.
const SYNTHETIC_SIZE: usize = 2000;
/// The synthetic catalogue's epoch: 2023-03-31T00:00Z, like the real one.
fn synthetic_epoch() -> Epoch {
    Epoch::from_civil(2023, 3, 31, 0)
}

/// A loaded catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Which one was used (never `Auto`): the replay command names it.
    pub choice: CatalogueChoice,
    /// Where it came from, for the report.
    pub source: String,
    pub sets: Arc<Vec<ElementSet>>,
}

/// The real catalogue, read once per process.
static REAL: Mutex<Option<(PathBuf, Arc<Vec<ElementSet>>)>> = Mutex::new(None);

fn real_path() -> Option<PathBuf> {
    orbit::data::data_dir().map(|d| d.join(REAL_CATALOGUE)).filter(|p| p.is_file())
}

/// Loads the catalogue a run asks for.
pub fn load(choice: CatalogueChoice) -> Result<Catalogue> {
    let path = match choice {
        CatalogueChoice::Synthetic => None,
        CatalogueChoice::Auto => real_path(),
        CatalogueChoice::Real => Some(real_path().with_context(|| {
            format!(
                "--catalogue real: {REAL_CATALOGUE} is not in the shared data directory \
                 (../shared/data from the workspace, or $COMMONS_DATA)"
            )
        })?),
    };
    let Some(path) = path else {
        let sets = orbit::synthetic::catalogue(SYNTHETIC_SIZE, synthetic_epoch(), 0x5eed);
        return Ok(Catalogue {
            choice: CatalogueChoice::Synthetic,
            source: format!("synthetic ({} objects)", sets.len()),
            sets: Arc::new(sets),
        });
    };
    let mut cache = REAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, sets)) = cache.as_ref() {
        if *cached == path {
            return Ok(Catalogue {
                choice: CatalogueChoice::Real,
                source: path.display().to_string(),
                sets: Arc::clone(sets),
            });
        }
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let outcome = orbit::read_element_sets(&text, &path.display().to_string());
    if outcome.sets.is_empty() {
        bail!("{}: no element set could be read ({} errors)", path.display(), outcome.errors.len());
    }
    let sets = Arc::new(outcome.sets);
    *cache = Some((path.clone(), Arc::clone(&sets)));
    Ok(Catalogue { choice: CatalogueChoice::Real, source: path.display().to_string(), sets })
}

/// One revision of an element set: `elapsed_us` after its catalogue epoch, offset by
/// `offset_deg` of mean anomaly.
pub fn revision(set: &ElementSet, elapsed_us: i64, offset_deg: f64, source: &str) -> OrbitEstimate {
    let mut estimate = set.estimate.clone();
    estimate.epoch = Epoch(set.estimate.epoch.0 + elapsed_us);
    let days = elapsed_us as f64 / 86_400e6;
    let advanced = estimate.mean_anomaly_deg + estimate.mean_motion_rev_per_day * 360.0 * days + offset_deg;
    let wrapped = advanced.rem_euclid(360.0);
    estimate.mean_anomaly_deg = if wrapped >= 360.0 { 0.0 } else { wrapped };
    estimate.source = source.to_owned();
    estimate
}

/// An agency's metadata claim for an object, from the catalogue's name and designator.
pub fn claim(set: &ElementSet, variant_name: bool) -> ObjectMetadata {
    ObjectMetadata {
        object: set.estimate.object,
        name: set.name.as_ref().map(|n| if variant_name { format!("{n} (alt)") } else { n.clone() }),
        cospar_id: set.cospar_id.clone(),
        object_type: None,
        owner: None,
        launch_date: None,
        decay_date: None,
        rcs_m2: None,
        size_m: None,
    }
}
