//! `commons pc`: the collision probability of one conjunction data message.
//!
//! ```text
//! commons pc conjunction.cdm                 # HBR from the message's comments
//! commons pc conjunction.cdm --hbr 10 --json
//! ```
//!
//! Foster's 2D method with a circular hard body (see `screening::pc`). The hard-body radius
//! comes from `--hbr`, else from the message (`COMMENT HBR = 10 [m]`, CDM 2.0 `HBR`, or both
//! objects' `Exclusion Volume Radius`), else from NASA CARA's HBR table (`--hbr-table`: the
//! two objects' radii summed); with none, the command says so.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::cli::node::print_json;
use crate::cli::table;
use crate::orbit::cdm;
use crate::screening::hbr::HbrTable;
use crate::screening::pc::{foster_2d, hard_body_radius_of, Encounter, MissVector};

#[derive(Debug, Args)]
pub struct PcArgs {
    /// The conjunction data message, KVN or XML (CCSDS 508.0).
    pub file: PathBuf,
    /// Combined hard-body radius, metres (default: the one the message states).
    #[arg(long, allow_hyphen_values = true)]
    pub hbr: Option<f64>,
    /// NASA CARA's HBR table (`HBR_Mass_Estimates_*.csv`), for messages that state no radius.
    #[arg(long)]
    pub hbr_table: Option<PathBuf>,
    /// Move the states along the straight relative motion to the true closest approach first
    /// (NASA CARA's Pc2D); by default the states are taken as given (Pc2D_NoAdj).
    #[arg(long)]
    pub at_true_tca: bool,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PcArgs) -> Result<()> {
    let label = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {label}"))?;
    let message = cdm::parse(&text, &label)?;
    let hbr = match args.hbr {
        Some(r) if r.is_finite() && r > 0.0 => r,
        Some(r) => bail!("--hbr: the hard-body radius must be a positive number of metres, not {r}"),
        None => match (hard_body_radius_of(&message), &args.hbr_table) {
            (Some(r), _) => r,
            (None, Some(path)) => {
                let table = HbrTable::read(path)?;
                let (a, b) = (message.object1.catalogue_number(), message.object2.catalogue_number());
                a.zip(b).and_then(|(a, b)| table.combined_m(a, b)).with_context(|| {
                    format!(
                        "{label}: the message states no hard-body radius, and {} lacks one of objects {} and {}; pass --hbr METRES",
                        path.display(),
                        message.object1.object_designator.trim(),
                        message.object2.object_designator.trim()
                    )
                })?
            }
            (None, None) => bail!(
                "{label}: the message states no hard-body radius (no HBR comment or keyword); pass --hbr METRES or --hbr-table FILE"
            ),
        },
    };
    let miss = if args.at_true_tca { MissVector::AtTrueTca } else { MissVector::AsGiven };
    let p = foster_2d(&Encounter::from_cdm(&message), hbr, miss).with_context(|| label.clone())?;
    let name = |o: &cdm::CdmObject| format!("{} ({})", o.object_designator.trim(), o.object_name.trim());
    if args.json {
        return print_json(&serde_json::json!({
            "file": label,
            "object1": message.object1.object_designator.trim(),
            "object2": message.object2.object_designator.trim(),
            "tca": message.relative.tca.to_iso_millis(),
            "method": "FOSTER-1992 (2D, circular hard body)",
            "states": if args.at_true_tca { "moved to the true TCA" } else { "as given" },
            "hard_body_radius_m": p.hard_body_radius_m,
            "miss_distance_m": p.miss_distance_m,
            "relative_speed_m_s": p.relative_speed_m_s,
            "sigma_major_m": p.sigma_major_m,
            "sigma_minor_m": p.sigma_minor_m,
            "pc": p.pc,
            "pc_in_message": message.relative.collision_probability,
        }));
    }
    let mut lines = vec![
        ("objects", format!("{} and {}", name(&message.object1), name(&message.object2))),
        ("TCA", message.relative.tca.to_iso_millis()),
        ("miss distance", format!("{:.3} m", p.miss_distance_m)),
        ("relative speed", format!("{:.3} m/s", p.relative_speed_m_s)),
        (
            "combined sigma",
            format!("{:.3} m × {:.3} m in the encounter plane", p.sigma_major_m, p.sigma_minor_m),
        ),
        ("hard-body radius", format!("{} m", p.hard_body_radius_m)),
        (
            "Pc",
            format!(
                "{:.6e} (Foster 2D, states {})",
                p.pc,
                if args.at_true_tca { "moved to the true TCA" } else { "as given" }
            ),
        ),
    ];
    if let Some(stated) = message.relative.collision_probability {
        let method = message.relative.collision_probability_method.clone().unwrap_or_default();
        lines.push(("Pc in the message", format!("{stated:e} {method}").trim_end().to_owned()));
    }
    print!("{}", table::pairs(&lines));
    Ok(())
}
