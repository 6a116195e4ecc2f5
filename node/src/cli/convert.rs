//! `commons convert`: element sets from one format to another.
//!
//! Reads TLE, 3LE, OMM (KVN, XML, JSON) or CelesTrak CSV (detected from the content), writes
//! the chosen format. Every bad record is reported on stderr as `file:line: object N: field:
//! why`, the rest are converted, and the command fails (exit status 1) if any record was
//! bad; `--strict` stops at the first bad record and writes nothing.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::orbit::{self, FormatError, InputFormat, OutputFormat};

/// The `--to` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTo {
    /// Two-line element sets.
    Tle,
    /// Three-line element sets (a name line, then the two lines).
    #[value(name = "3le")]
    ThreeLe,
    /// CCSDS OMM, keyword = value.
    OmmKvn,
    /// CCSDS OMM, XML.
    OmmXml,
    /// OMM keywords as JSON (CelesTrak's layout).
    OmmJson,
    /// CelesTrak GP CSV.
    Csv,
}

impl From<ConvertTo> for OutputFormat {
    fn from(to: ConvertTo) -> Self {
        match to {
            ConvertTo::Tle => OutputFormat::Tle,
            ConvertTo::ThreeLe => OutputFormat::ThreeLe,
            ConvertTo::OmmKvn => OutputFormat::OmmKvn,
            ConvertTo::OmmXml => OutputFormat::OmmXml,
            ConvertTo::OmmJson => OutputFormat::OmmJson,
            ConvertTo::Csv => OutputFormat::Csv,
        }
    }
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input file: TLE, 3LE, OMM (KVN, XML or JSON) or CelesTrak CSV; `-` reads standard input.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub to: ConvertTo,
    /// Output file (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Stop at the first bad record and write nothing (default: report every bad record
    /// and convert the rest).
    #[arg(long)]
    pub strict: bool,
}

/// Runs `commons convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<()> {
    let label =
        if args.file.as_os_str() == "-" { "<stdin>".to_owned() } else { args.file.display().to_string() };
    let text = read_input(&args.file, &label)?;
    let input_format = orbit::detect_format(&text);
    let format = OutputFormat::from(args.to);
    let outcome = orbit::read_element_sets(&text, &label);
    if args.strict {
        if let Some(first) = outcome.errors.first() {
            bail!("{first}\n--strict: stopped at the first bad record; nothing written");
        }
    }
    let mut errors: Vec<FormatError> = outcome.errors;
    let mut sets = Vec::with_capacity(outcome.sets.len());
    for set in outcome.sets {
        match orbit::writable(&set, format) {
            Ok(()) => sets.push(set),
            Err(error) if args.strict => {
                bail!("{error}\n--strict: stopped at the first element set that cannot be written; nothing written")
            }
            Err(error) => errors.push(error),
        }
    }
    for error in &errors {
        eprintln!("{error}");
    }
    let bad = errors.len();
    if sets.is_empty() {
        if bad == 0 {
            bail!("{label}: no element sets found (read as {})", describe(input_format));
        }
        bail!("{label}: {} (listed above); nothing written", count(bad, "bad record"));
    }
    let output = orbit::write_element_sets(&sets, format)?;
    write_output(args.output.as_deref(), &output)?;
    let destination = args.output.as_ref().map_or("standard output".to_owned(), |p| p.display().to_string());
    let written = count(sets.len(), "element set");
    if bad > 0 {
        bail!(
            "{label}: {} (listed above); the other {written} written to {destination}",
            count(bad, "bad record")
        );
    }
    if args.output.is_some() || !std::io::stdout().is_terminal() {
        let to = args.to.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
        eprintln!("{label}: {written} ({}) written to {destination} as {to}", describe(input_format));
    }
    Ok(())
}

/// `1 element set`, `2 element sets`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn describe(format: InputFormat) -> &'static str {
    match format {
        InputFormat::Tle => "TLE/3LE",
        InputFormat::OmmKvn => "OMM KVN",
        InputFormat::OmmXml => "OMM XML",
        InputFormat::OmmJson => "OMM JSON",
        InputFormat::Csv => "CSV",
    }
}

fn read_input(path: &Path, label: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).context("reading standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("reading {label}"))?;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            eprintln!("warning: {label} is not valid UTF-8; invalid bytes were replaced with U+FFFD");
            Ok(String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

fn write_output(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display())),
        None => match std::io::stdout().lock().write_all(text.as_bytes()) {
            // A reader that stops early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("writing standard output"),
        },
    }
}
