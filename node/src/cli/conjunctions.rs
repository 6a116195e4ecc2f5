//! `commons conjunctions`: the close approaches this node's own screening found in the shared
//! catalogue, with how every source's estimates see each one; and the CDM export of them
//! (`commons export --format cdm`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use protocol::time::Epoch;

use super::node::{print_json, NodeOpts};
use super::screen::parse_threshold;
use super::table;
use crate::core::ConjunctionReport;
use crate::orbit::cdm::{Cdm, CdmHeader, CdmObject, CdmRelativeData, RtnCovariance};
use crate::screening::screen::CollisionProbability;

#[derive(Debug, clap::Args)]
pub struct ConjunctionsArgs {
    /// Only events involving this object (catalogue number).
    #[arg(long)]
    pub object: Option<String>,
    /// Only events with a miss distance at most this (5km, 500m).
    #[arg(long, value_parser = parse_threshold)]
    pub within: Option<f64>,
    /// Only events with TCA at or after this time (ISO 8601 UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only events with TCA at or before this time (ISO 8601 UTC).
    #[arg(long)]
    pub until: Option<String>,
    /// Only events with a collision probability at least this (1e-6).
    #[arg(long)]
    pub min_pc: Option<f64>,
    /// At most this many events, soonest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

fn time(name: &str, text: &Option<String>) -> Result<Option<String>> {
    match text {
        Some(t) => {
            Epoch::parse_iso(t.trim()).with_context(|| {
                format!("--{name} {t:?}: expected an ISO 8601 UTC time, e.g. 2026-05-30T12:00:00Z")
            })?;
            Ok(Some(t.trim().to_owned()))
        }
        None => Ok(None),
    }
}

/// The API path of a query.
fn path(args: &ConjunctionsArgs, spread: bool, limit: Option<usize>) -> Result<String> {
    let mut query = vec![format!("spread={spread}")];
    if let Some(o) = &args.object {
        let object: protocol::ids::ObjectId =
            o.trim().parse().map_err(|e| anyhow::anyhow!("--object {o:?}: {e}"))?;
        query.push(format!("object={object}"));
    }
    if let Some(km) = args.within {
        query.push(format!("within_km={km}"));
    }
    if let Some(t) = time("since", &args.since)? {
        query.push(format!("since={t}"));
    }
    if let Some(t) = time("until", &args.until)? {
        query.push(format!("until={t}"));
    }
    if let Some(p) = args.min_pc {
        if !(0.0..=1.0).contains(&p) {
            bail!("--min-pc {p}: a probability is between 0 and 1");
        }
        query.push(format!("min_pc={p}"));
    }
    if let Some(n) = limit {
        query.push(format!("limit={n}"));
    }
    Ok(format!("/v1/conjunctions?{}", query.join("&")))
}

fn pc_text(p: &CollisionProbability) -> String {
    match p {
        CollisionProbability::Computed { pc, .. } => format!("{pc:.2e}"),
        CollisionProbability::NoCovariance => "no covariance".into(),
        CollisionProbability::NoHardBodyRadius => "no HBR".into(),
        CollisionProbability::Failed { .. } => "failed".into(),
    }
}

fn object_text(id: protocol::ids::ObjectId, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{id} {n}"),
        None => id.to_string(),
    }
}

pub fn run(args: ConjunctionsArgs, opts: &NodeOpts) -> Result<()> {
    let reports: Vec<ConjunctionReport> = opts.client()?.get(&path(&args, true, Some(args.limit))?)?;
    if opts.json {
        return print_json(&reports);
    }
    if reports.is_empty() {
        println!("no conjunctions match (screening runs on the node's catalogue; see `commons status`)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let e = &r.event;
            let spread = match &r.spread {
                Some(s) => {
                    let n = s.per_source.iter().filter(|p| p.approach.is_ok()).count();
                    match (s.min_miss_km, s.max_miss_km) {
                        (Some(lo), Some(hi)) => format!("{lo:.3}–{hi:.3} km ({n} source pair(s))"),
                        _ => "no source re-screened".into(),
                    }
                }
                None => String::new(),
            };
            vec![
                e.tca.to_iso_millis(),
                object_text(e.primary, &r.primary_name),
                object_text(e.secondary, &r.secondary_name),
                format!("{:.3}", e.miss_distance_km),
                format!("{:.2}", e.relative_speed_km_s),
                format!("{:.3} {:.3} {:.3}", e.miss_rtn_km[0], e.miss_rtn_km[1], e.miss_rtn_km[2]),
                pc_text(&e.probability),
                spread,
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["TCA (UTC)", "primary", "secondary", "miss km", "km/s", "R T N km", "Pc", "across sources"],
            &rows
        )
    );
    Ok(())
}

/// `commons export --format cdm`: every stored event as a CCSDS CDM (KVN), one message after
/// another on standard output, or one file per event in the directory `output`.
pub fn export_cdm(opts: &NodeOpts, output: Option<&Path>) -> Result<()> {
    let args =
        ConjunctionsArgs { object: None, within: None, since: None, until: None, min_pc: None, limit: 0 };
    let reports: Vec<ConjunctionReport> = opts.client()?.get(&path(&args, false, None)?)?;
    let created = crate::core::now_epoch();
    if let Some(dir) = output {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut all = String::new();
    for (i, report) in reports.iter().enumerate() {
        let text = crate::orbit::cdm::write_kvn(&cdm_of(report, created, i))
            .map_err(|e| anyhow::anyhow!("event {}: {e}", i + 1))?;
        match output {
            Some(dir) => {
                let e = &report.event;
                let file = dir.join(format!(
                    "{}_{}_{}.cdm",
                    e.tca.to_iso_millis().replace(':', ""),
                    e.primary,
                    e.secondary
                ));
                std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
            }
            None => {
                let _ = writeln!(all, "{text}");
            }
        }
    }
    match output {
        Some(dir) => eprintln!("{} conjunction data messages written to {}", reports.len(), dir.display()),
        None => print!("{all}"),
    }
    Ok(())
}

/// One event as a CDM: both objects' TEME states at TCA; the covariance where the event's
/// probability gives the encounter-plane figures (the full RTN covariance is not kept with the
/// event, so the covariance block is zero and a comment says so).
fn cdm_of(report: &ConjunctionReport, created: Epoch, index: usize) -> Cdm {
    let e = &report.event;
    let object = |designator: protocol::ids::ObjectId,
                  name: &Option<String>,
                  source: &protocol::ids::UpdateId,
                  position: [f64; 3],
                  velocity: [f64; 3]| CdmObject {
        metadata_comments: vec![format!("Element set: Orbital Commons update {source}")],
        object_designator: designator.to_string(),
        catalog_name: "SATCAT".into(),
        object_name: name.clone().unwrap_or_else(|| crate::orbit::UNKNOWN.into()),
        international_designator: crate::orbit::UNKNOWN.into(),
        object_type: None,
        ephemeris_name: "NONE".into(),
        covariance_method: "CALCULATED".into(),
        maneuverable: "N/A".into(),
        orbit_center: Some("EARTH".into()),
        ref_frame: "TEME".into(),
        metadata_other: Vec::new(),
        data_comments: vec!["Covariance not carried with the event: zeros".into()],
        data_other: Vec::new(),
        position_km: position,
        velocity_km_per_s: velocity,
        covariance: RtnCovariance { position_velocity: [0.0; 21], drag: None, srp: None, thrust: None },
    };
    let (pc, method) = match &e.probability {
        CollisionProbability::Computed { pc, .. } => (Some(*pc), Some("FOSTER-1992".to_owned())),
        _ => (None, None),
    };
    Cdm {
        header: CdmHeader {
            version: "1.0".into(),
            comments: vec![format!(
                "Screening: window {} + {} s, threshold {} km",
                e.parameters.start.to_iso_millis(),
                e.parameters.window_s,
                e.parameters.threshold_km
            )],
            creation_date: created,
            originator: "ORBITAL-COMMONS".into(),
            message_for: None,
            message_id: format!("OC-{}-{}-{}-{}", e.tca.0, e.primary, e.secondary, index + 1),
            other: Vec::new(),
        },
        relative: CdmRelativeData {
            comments: Vec::new(),
            tca: e.tca,
            miss_distance_m: e.miss_distance_km * 1000.0,
            relative_speed_m_per_s: Some(e.relative_speed_km_s * 1000.0),
            relative_position_rtn_m: Some(e.miss_rtn_km.map(|x| x * 1000.0)),
            relative_velocity_rtn_m_per_s: None,
            collision_probability: pc,
            collision_probability_method: method,
            other: Vec::new(),
        },
        object1: object(
            e.primary,
            &report.primary_name,
            &e.primary_source,
            e.primary_position_km,
            e.primary_velocity_km_s,
        ),
        object2: object(
            e.secondary,
            &report.secondary_name,
            &e.secondary_source,
            e.secondary_position_km,
            e.secondary_velocity_km_s,
        ),
        user_defined: Vec::new(),
    }
}
