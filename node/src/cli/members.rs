//! `commons members|join-request|endorse|suspend`: membership by endorsement.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use super::node::{print_json, NodeOpts};
use super::table;
use crate::api::{JoinRequestRequest, SuspendRequest};
use crate::core::{JoinRequest, MembersReport};

pub fn members(opts: &NodeOpts) -> Result<()> {
    let report: MembersReport = opts.client()?.get("/v1/members")?;
    if opts.json {
        return print_json(&report);
    }
    let rows: Vec<Vec<String>> = report
        .members
        .iter()
        .map(|m| {
            vec![
                m.name.clone().unwrap_or_default(),
                m.agency.to_hex(),
                if m.founder { "founder".into() } else { format!("endorsed by {}", m.endorsed_by.len()) },
                m.nodes.len().to_string(),
            ]
        })
        .collect();
    print!("{}", table::render(&["name", "agency", "admission", "nodes"], &rows));
    println!(
        "endorsement threshold k = {}; suspended: {}",
        report.endorsement_threshold,
        report.suspended.len()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct JoinRequestArgs {
    /// The applicant's name as members will see it.
    #[arg(long)]
    pub name: String,
    /// Where to write the request file for members.
    #[arg(short, long, default_value = "join-request.json")]
    pub output: PathBuf,
}

pub fn join_request(args: JoinRequestArgs, opts: &NodeOpts) -> Result<()> {
    let request: JoinRequest =
        opts.client()?.post("/v1/join-request", &JoinRequestRequest { name: args.name })?;
    std::fs::write(&args.output, serde_json::to_string_pretty(&request)? + "\n")
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    if opts.json {
        return print_json(&request);
    }
    println!(
        "wrote {}: hand it to members; each endorses it with `commons endorse {}`",
        args.output.display(),
        args.output.display()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct EndorseArgs {
    /// The applicant's request file.
    pub request: PathBuf,
}

pub fn endorse(args: EndorseArgs, opts: &NodeOpts) -> Result<()> {
    let text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let request: JoinRequest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a join request", args.request.display()))?;
    let answer: Value = opts.client()?.post("/v1/endorse", &request)?;
    if opts.json {
        return print_json(&answer);
    }
    println!(
        "endorsed {} ({}): update {}",
        request.name,
        request.agency.short(),
        answer["update_id"].as_str().unwrap_or("")
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct SuspendArgs {
    /// The agency to suspend (hex or base58 id). Only founders' votes count.
    pub agency: String,
    #[arg(long, default_value = "")]
    pub reason: String,
}

pub fn suspend(args: SuspendArgs, opts: &NodeOpts) -> Result<()> {
    let answer: Value = opts
        .client()?
        .post("/v1/suspend", &SuspendRequest { agency: args.agency.clone(), reason: args.reason })?;
    if opts.json {
        return print_json(&answer);
    }
    println!("voted to suspend {}: update {}", args.agency, answer["update_id"].as_str().unwrap_or(""));
    Ok(())
}
