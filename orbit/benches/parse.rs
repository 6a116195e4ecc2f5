//! Parse benchmark: element sets per second reading the full public catalogue (24 548 3LE
//! records) as TLE, and as OMM KVN, XML, JSON and CSV written from it; and TLE writing.
//! Skips with a message when the shared data is absent.
//!
//! Run: `cargo bench -p commons-orbit --bench parse`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orbit::omm::{self, OmmHeaderFields};
use orbit::{csv, tle};
use protocol::time::Epoch;

const CATALOGUE: &str = "catalog/full-catalog-3le-2023-03-31.txt";

fn parse(c: &mut Criterion) {
    let Some(path) = orbit::data::data_file(CATALOGUE) else {
        eprintln!("skipping the parse benchmark: {CATALOGUE} is not available");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("the catalogue is readable UTF-8");
    let sets = tle::read(&text, "catalogue").sets;
    let n_sets = u64::try_from(sets.len()).expect("a count fits u64");

    let mut group = c.benchmark_group("catalogue");
    group.throughput(Throughput::Elements(n_sets));
    group.bench_function("read_tle", |b| b.iter(|| tle::read(black_box(&text), "catalogue")));
    group.bench_function("write_3le", |b| b.iter(|| tle::write(black_box(&sets), true)));

    // The slower encodings: fewer, longer samples.
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    let header =
        OmmHeaderFields { creation_date: Epoch::from_civil(2026, 1, 1, 0), originator: "BENCH".into() };
    let kvn = omm::write_kvn(&sets, &header).expect("writable");
    let xml = omm::write_xml(&sets, &header).expect("writable");
    let json = omm::write_json(&sets).expect("writable");
    let csv_text = csv::write(&sets).expect("writable");
    group.bench_function("read_omm_kvn", |b| b.iter(|| omm::read_kvn(black_box(&kvn), "kvn")));
    group.bench_function("read_omm_xml", |b| b.iter(|| omm::read_xml(black_box(&xml), "xml")));
    group.bench_function("read_omm_json", |b| b.iter(|| omm::read_json(black_box(&json), "json")));
    group.bench_function("read_csv", |b| b.iter(|| csv::read(black_box(&csv_text), "csv")));
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
