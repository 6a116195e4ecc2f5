//! `commons status|object|search|history|submit|export`: reading and writing the catalogue
//! through a running node.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::node::{print_json, NodeOpts};
use super::table;
use crate::api::SubmitRequest;

/// Element sets per submit request. Smaller than the API's bound [`crate::api::SUBMIT_BATCH`]: the node
/// signs one batch while it stores the one before, so the first and last batches (signed with
/// nothing to overlap, stored likewise) are what a small batch keeps short.
const CLI_BATCH: usize = 500;
/// Submit requests in flight at once.
const SUBMIT_IN_FLIGHT: usize = 3;
use crate::core::{CatalogueEntry, HistoryEntry, ObjectReport, SubmitSummary};
use crate::orbit::{read_element_sets, write_element_sets, ElementSet, OutputFormat};

fn short(text: &str) -> String {
    text.chars().take(16).collect()
}

pub fn status(opts: &NodeOpts) -> Result<()> {
    let status: Value = opts.client()?.get("/v1/status")?;
    if opts.json {
        return print_json(&status);
    }
    let c = &status["core"];
    let s = |v: &Value| match v {
        Value::String(t) => t.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let lines = vec![
        ("node", s(&status["node"]["peer_id"])),
        (
            "role",
            if status["node"]["relay"].as_bool() == Some(true) {
                "relay".into()
            } else {
                "signing node".into()
            },
        ),
        ("agency", format!("{} {}", s(&c["agency_name"]), short(&s(&c["agency"])))),
        ("network", format!("{} {}", s(&c["network_name"]), short(&s(&c["network_id"])))),
        ("members", s(&c["members"])),
        ("updates", s(&c["headers"])),
        ("objects", s(&c["objects"])),
        ("held aside", s(&c["held_aside"])),
        ("missing bodies", s(&c["missing_bodies"])),
        ("defective", s(&c["defective"])),
        ("state digest", s(&c["header_digest"])),
        (
            "peers",
            format!(
                "{} connected, {} admitted",
                s(&status["network"]["connected"]),
                s(&status["network"]["admitted"])
            ),
        ),
        ("gossip mesh", s(&status["network"]["mesh_size"])),
        (
            "gossip",
            format!(
                "{} received, {} published, {} ignored over a rate limit",
                s(&status["network"]["gossip_received"]),
                s(&status["network"]["gossip_published"]),
                s(&status["network"]["gossip_throttled"])
            ),
        ),
        ("last sync", s(&status["network"]["last_sync"])),
        ("may sign", s(&c["may_sign"])),
        ("uptime", format!("{} s (since {})", s(&c["uptime_s"]), s(&c["started_at"]))),
    ];
    print!("{}", table::pairs(&lines));
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ObjectArgs {
    /// Catalogue number (25544), Alpha-5 (A0001) or provisional id.
    pub id: String,
}

pub fn object(args: ObjectArgs, opts: &NodeOpts) -> Result<()> {
    let report: ObjectReport = opts.client()?.get(&format!("/v1/objects/{}", args.id.trim()))?;
    if opts.json {
        return print_json(&report);
    }
    let v = &report.view;
    let name_of = |agency: &Value| {
        let hex = agency.as_str().unwrap_or_default();
        report.agency_names.get(hex).cloned().unwrap_or_else(|| short(hex))
    };
    let c = &v["consensus"];
    println!(
        "object {}  {}  {}",
        v["object"].as_str().unwrap_or(""),
        c["name"].as_str().unwrap_or("(no name)"),
        c["cospar_id"].as_str().unwrap_or("")
    );
    if let Some(shared) = v.get("shared").filter(|s| !s.is_null()) {
        println!(
            "shared orbit: {} (update {}), reference epoch {}",
            name_of(&shared["agency"]),
            short(shared["update_id"].as_str().unwrap_or("")),
            shared["reference_epoch"].as_str().unwrap_or("")
        );
        let mut rows = Vec::new();
        for src in shared["sources"].as_array().into_iter().flatten() {
            let est =
                v["current"].as_array().into_iter().flatten().find(|c| c["update_id"] == src["update_id"]);
            let e = est.map(|e| &e["estimate"]);
            rows.push(vec![
                name_of(&src["agency"]),
                src["epoch"].as_str().unwrap_or("").to_owned(),
                e.map(|e| format!("{:.8}", e["mean_motion_rev_per_day"].as_f64().unwrap_or(0.0)))
                    .unwrap_or_default(),
                e.map(|e| format!("{:.7}", e["eccentricity"].as_f64().unwrap_or(0.0))).unwrap_or_default(),
                e.map(|e| format!("{:.4}", e["inclination_deg"].as_f64().unwrap_or(0.0))).unwrap_or_default(),
                src["distance_m"].as_u64().map(|d| d.to_string()).unwrap_or_else(|| "n/a".into()),
                if src["candidate"].as_bool() == Some(true) {
                    "yes".into()
                } else {
                    "no (outside window)".into()
                },
                short(src["update_id"].as_str().unwrap_or("")),
            ]);
        }
        print!(
            "{}",
            table::render(
                &[
                    "agency",
                    "epoch",
                    "mean motion",
                    "ecc",
                    "incl",
                    "Δ from shared (m)",
                    "candidate",
                    "update"
                ],
                &rows
            )
        );
    } else {
        println!("no current estimate from any member");
    }
    let claims = v["claims"].as_array().cloned().unwrap_or_default();
    if !claims.is_empty() {
        println!("metadata claims:");
        let rows: Vec<Vec<String>> = claims
            .iter()
            .map(|c| {
                let m = &c["metadata"];
                vec![
                    name_of(&c["agency"]),
                    m["name"].as_str().unwrap_or("").into(),
                    m["cospar_id"].as_str().unwrap_or("").into(),
                    m["object_type"].as_str().unwrap_or("").into(),
                    m["owner"].as_str().unwrap_or("").into(),
                ]
            })
            .collect();
        print!("{}", table::render(&["agency", "name", "cospar", "type", "owner"], &rows));
    }
    for (label, key) in
        [("defective updates", "defects"), ("forks", "forks"), ("bodies not yet held", "bodies_missing")]
    {
        if let Some(items) = v[key].as_array().filter(|a| !a.is_empty()) {
            println!("{label}: {}", items.len());
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Part of the name (case-insensitive).
    #[arg(long)]
    pub name: Option<String>,
    /// Part of the COSPAR id (e.g. 1998-067).
    #[arg(long)]
    pub cospar: Option<String>,
    /// payload, rocket_body, debris or unknown.
    #[arg(long = "type")]
    pub object_type: Option<String>,
    #[arg(long)]
    pub owner: Option<String>,
    /// LEO, MEO, GEO or HEO (by perigee and apogee).
    #[arg(long)]
    pub regime: Option<String>,
    /// Most results shown in the table.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

pub fn search(args: SearchArgs, opts: &NodeOpts) -> Result<()> {
    let mut query = Vec::new();
    for (k, v) in [
        ("name", &args.name),
        ("cospar", &args.cospar),
        ("type", &args.object_type),
        ("owner", &args.owner),
        ("regime", &args.regime),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", url_escape(v)));
        }
    }
    let found: Vec<CatalogueEntry> = opts.client()?.get(&format!("/v1/search?{}", query.join("&")))?;
    if opts.json {
        return print_json(&found);
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .take(args.limit)
        .map(|e| {
            vec![
                e.object.to_string(),
                e.name.clone().unwrap_or_default(),
                e.cospar_id.clone().unwrap_or_default(),
                crate::api::regime(&e.estimate).into(),
                e.estimate.epoch.to_iso_millis(),
            ]
        })
        .collect();
    print!("{}", table::render(&["object", "name", "cospar", "regime", "epoch"], &rows));
    println!(
        "{} found{}",
        found.len(),
        if found.len() > args.limit { format!(", {} shown (--limit)", args.limit) } else { String::new() }
    );
    Ok(())
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    pub id: String,
}

pub fn history(args: HistoryArgs, opts: &NodeOpts) -> Result<()> {
    let entries: Vec<HistoryEntry> =
        opts.client()?.get(&format!("/v1/objects/{}/history", args.id.trim()))?;
    if opts.json {
        return print_json(&entries);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|h| {
            let mut flags = Vec::new();
            if !h.in_state {
                flags.push("not admitted");
            }
            if h.forked {
                flags.push("forked");
            }
            if h.retracted {
                flags.push("retracted");
            }
            if h.defect.is_some() {
                flags.push("defective");
            }
            if !h.live {
                flags.push("superseded");
            }
            vec![
                h.signed_at.to_iso_millis(),
                h.author_name.clone().unwrap_or_else(|| h.author.short()),
                h.kind.as_str().into(),
                h.epoch.map(|e| e.to_iso_millis()).unwrap_or_default(),
                h.update_id.short(),
                flags.join(", "),
            ]
        })
        .collect();
    print!("{}", table::render(&["signed at", "author", "kind", "element epoch", "update", "notes"], &rows));
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// TLE, 3LE, OMM (KVN, XML, JSON) or CelesTrak CSV.
    pub file: PathBuf,
    /// Stop at the first bad record instead of submitting the rest.
    #[arg(long)]
    pub strict: bool,
}

pub fn submit(args: SubmitArgs, opts: &NodeOpts) -> Result<()> {
    let client = opts.client()?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let label = args.file.display().to_string();
    let outcome = read_element_sets(&text, &label);
    for error in &outcome.errors {
        eprintln!("{error}");
    }
    if args.strict && !outcome.errors.is_empty() {
        bail!("{} bad record(s) in {}; nothing submitted (--strict)", outcome.errors.len(), label);
    }
    let sets: Vec<ElementSet> = outcome.sets;
    let progress = if sets.len() > CLI_BATCH && !opts.json {
        let bar = ProgressBar::new(sets.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} element sets signed and stored ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    // Batches in flight: the node signs one while it flushes another. Each batch is
    // acknowledged only once durable, whatever the order the answers come in.
    let batches = std::sync::Mutex::new(sets.chunks(CLI_BATCH));
    let next_batch = || batches.lock().ok().and_then(|mut b| b.next());
    let summaries: Vec<Result<SubmitSummary>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SUBMIT_IN_FLIGHT)
            .map(|_| {
                scope.spawn(|| -> Result<SubmitSummary> {
                    let mut total = SubmitSummary::default();
                    while let Some(batch) = next_batch() {
                        let summary: SubmitSummary = client.post("/v1/submit", &SubmitRequest::of(batch))?;
                        total.merge(summary);
                        if let Some(bar) = &progress {
                            bar.inc(batch.len() as u64);
                        }
                    }
                    Ok(total)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(anyhow!("a submit thread panicked"))))
            .collect()
    });
    let mut total = SubmitSummary::default();
    for summary in summaries {
        total.merge(summary?);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if opts.json {
        print_json(
            &serde_json::json!({ "summary": total, "format_errors": outcome.errors.iter().map(ToString::to_string).collect::<Vec<_>>() }),
        )?;
    } else {
        println!(
            "{}: {} accepted, {} superseded (a newer estimate is held), {} unchanged, {} metadata claims, {} rejected, {} unreadable",
            label,
            total.accepted,
            total.superseded,
            total.unchanged,
            total.metadata_updates,
            total.rejected.len(),
            outcome.errors.len()
        );
        for r in total.rejected.iter().take(20) {
            println!("  rejected object {}: {}", r.object, r.reason);
        }
    }
    if !total.rejected.is_empty() || !outcome.errors.is_empty() {
        bail!("{} element set(s) were not stored", total.rejected.len() + outcome.errors.len());
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// tle, 3le, omm-kvn, omm-xml, omm-json or csv; or cdm for this node's conjunctions (with
    /// -o DIR, one file per event).
    #[arg(long, default_value = "3le")]
    pub format: String,
    /// One agency's current estimates (hex or base58 id) instead of the shared catalogue.
    #[arg(long)]
    pub agency: Option<String>,
    /// Write here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn parse_output_format(text: &str) -> Result<OutputFormat> {
    Ok(match text {
        "tle" => OutputFormat::Tle,
        "3le" => OutputFormat::ThreeLe,
        "omm-kvn" => OutputFormat::OmmKvn,
        "omm-xml" => OutputFormat::OmmXml,
        "omm-json" => OutputFormat::OmmJson,
        "csv" => OutputFormat::Csv,
        other => bail!("unknown format {other:?}: use tle, 3le, omm-kvn, omm-xml, omm-json or csv"),
    })
}

pub fn export(args: ExportArgs, opts: &NodeOpts) -> Result<()> {
    if args.format == "cdm" {
        if args.agency.is_some() {
            bail!("--agency does not apply to --format cdm: conjunctions are this node's screening of the shared catalogue");
        }
        return super::conjunctions::export_cdm(opts, args.output.as_deref());
    }
    let format = parse_output_format(&args.format)?;
    let path = match &args.agency {
        Some(a) => format!("/v1/catalogue?agency={}", url_escape(a)),
        None => "/v1/catalogue".into(),
    };
    let entries: Vec<CatalogueEntry> = opts.client()?.get(&path)?;
    let mut sets = Vec::with_capacity(entries.len());
    let mut skipped = 0;
    for e in entries {
        let set = ElementSet { estimate: e.estimate, name: e.name, cospar_id: e.cospar_id };
        if crate::orbit::writable(&set, format).is_err() {
            skipped += 1;
            continue;
        }
        sets.push(set);
    }
    let text = write_element_sets(&sets, format)?;
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?,
        None => print!("{text}"),
    }
    if skipped > 0 {
        eprintln!("{skipped} object(s) not written: catalogue numbers above 339999 cannot be written as TLE (use an OMM format)");
    }
    Ok(())
}

/// `commons check`: consistency checks of a running node.
pub fn check(opts: &NodeOpts) -> Result<()> {
    let report: crate::core::CheckReport = opts.client()?.get("/v1/check")?;
    if opts.json {
        print_json(&report)?;
    } else {
        let lines = vec![
            ("views equal a rebuild", report.views_equal_rebuild.to_string()),
            (
                "updates in engine / store",
                format!("{} / {}", report.headers_in_engine, report.headers_in_store),
            ),
            ("forks by this agency", report.own_forks.to_string()),
            ("forks seen", report.forks.to_string()),
            ("reserved seq", report.reserved_seq.to_string()),
        ];
        print!("{}", table::pairs(&lines));
    }
    if !report.views_equal_rebuild
        || report.own_forks > 0
        || report.headers_in_engine != report.headers_in_store
    {
        bail!("the node is not consistent");
    }
    Ok(())
}

/// `commons peers`: connected peers with agency, addresses, score and latency.
pub fn peers(opts: &NodeOpts) -> Result<()> {
    let peers: Vec<serde_json::Value> = opts.client()?.get("/v1/peers")?;
    if opts.json {
        return print_json(&peers);
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p["peer_id"].as_str().unwrap_or("").to_owned(),
                p["agency"].as_str().map(short).unwrap_or_else(|| "-".into()),
                p["state"].as_str().unwrap_or("").to_owned(),
                p["addresses"]
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(|a| a.as_str())
                    .unwrap_or("")
                    .to_owned(),
                p["score"].as_f64().map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into()),
                p["latency_ms"].as_f64().map(|l| format!("{l:.1}")).unwrap_or_else(|| "-".into()),
                p["last_sync"].as_str().unwrap_or("-").to_owned(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["peer", "agency", "state", "address", "score", "latency ms", "last sync"], &rows)
    );
    Ok(())
}
