//! The cluster run's plot, as hand-written SVG (no plotting crate): delivery latency of every
//! stream update over time (log scale; undelivered updates as red crosses), and below it how
//! far apart the nodes are (the updates the most-behind node lacks, and the samples where all
//! digests were equal), with each fault shaded from its start to its heal and a green dashed
//! line where the network had converged again. One look shows the network heal.

use std::fmt::Write as _;

use super::report::{ClusterReport, FaultReport, Timeline};

const WIDTH: f64 = 1100.0;
const HEIGHT: f64 = 740.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = WIDTH - 30.0;
const LAT_TOP: f64 = 130.0;
const LAT_BOTTOM: f64 = 420.0;
const SPREAD_TOP: f64 = 490.0;
const SPREAD_BOTTOM: f64 = 660.0;
/// One colour per agency (cycled).
const AGENCY_COLOURS: [&str; 6] = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];

/// What the plot draws.
#[derive(Debug, Clone)]
pub struct PlotInput<'a> {
    pub title: String,
    /// Lines under the title: the figures, the load, how to read the plot.
    pub subtitle: Vec<String>,
    pub timeline: &'a Timeline,
    pub faults: &'a [FaultReport],
}

/// The plot of a report.
pub fn plot(report: &ClusterReport) -> String {
    let s = &report.settings;
    let d = &report.delivery;
    let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let load = report
        .machine
        .load_average_stream_start
        .map_or("?".to_owned(), |l| format!("{:.2}, {:.2}, {:.2}", l[0], l[1], l[2]));
    render(&PlotInput {
        title: format!(
            "commons-sim cluster: {} real nodes, {} agencies, {} updates/s, {} faults",
            s.nodes,
            s.agencies,
            s.rate_per_s,
            report.faults.len()
        ),
        subtitle: vec![
            format!(
                "delivery latency p50 / p95 / max {} / {} / {} ms (steady state {} / {} / {} ms); {:.2} % of {} updates delivered everywhere",
                f(d.latency_ms.p50),
                f(d.latency_ms.p95),
                f(d.latency_ms.max),
                f(d.steady_latency_ms.p50),
                f(d.steady_latency_ms.p95),
                f(d.steady_latency_ms.max),
                d.delivered_pct,
                d.acknowledged
            ),
            format!(
                "{} cores, load average {load} when the stream began; shaded: a fault until its heal; green dashed: every node holds everything again",
                report.machine.cores
            ),
        ],
        timeline: &report.timeline,
        faults: &report.faults,
    })
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A tick step giving at most about ten ticks over `span`.
fn tick_step(span: f64) -> f64 {
    const STEPS: [f64; 12] = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
    STEPS.into_iter().find(|s| span / s <= 10.0).unwrap_or(7200.0)
}

/// The SVG document.
pub fn render(input: &PlotInput<'_>) -> String {
    let timeline = input.timeline;
    let end_s = timeline
        .samples
        .iter()
        .map(|s| s.t_s)
        .chain(timeline.updates.iter().map(|u| u.t_s))
        .chain(
            input.faults.iter().map(|f| f.heal_done_s + f.digests_equal_s.or(f.caught_up_s).unwrap_or(0.0)),
        )
        .fold(timeline.stream_s, f64::max)
        .max(1.0);
    let x = |t: f64| LEFT + (t.clamp(0.0, end_s) / end_s) * (RIGHT - LEFT);
    let latencies: Vec<f64> =
        timeline.updates.iter().filter_map(|u| u.latency_ms).filter(|l| *l > 0.0).collect();
    let lo_exp = latencies.iter().copied().fold(f64::INFINITY, f64::min).max(1.0).log10().floor().min(1.0);
    let hi_exp = latencies.iter().copied().fold(100.0, f64::max).log10().ceil().max(lo_exp + 1.0);
    let y_lat = |ms: f64| {
        let e = ms.max(1.0).log10().clamp(lo_exp, hi_exp);
        LAT_BOTTOM - (e - lo_exp) / (hi_exp - lo_exp) * (LAT_BOTTOM - LAT_TOP)
    };
    let spread_max = timeline.samples.iter().map(|s| s.headers_spread).max().unwrap_or(0).max(1) as f64;
    let y_spread = |v: f64| SPREAD_BOTTOM - (v / spread_max) * (SPREAD_BOTTOM - SPREAD_TOP - 10.0);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>
<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"##,
        escape(&input.title)
    );
    for (k, line) in input.subtitle.iter().enumerate() {
        let _ =
            writeln!(svg, r##"<text x="{LEFT}" y="{}" fill="#444">{}</text>"##, 42 + 17 * k, escape(line));
    }

    // Faults: a shaded band from the fault to the end of its heal, across both panels; the
    // heal; and where every node held everything again.
    for f in input.faults {
        let (fill, class) = if f.kind == "kill" {
            ("#e74c3c", "fault fault-kill")
        } else {
            ("#f39c12", "fault fault-partition")
        };
        let x0 = x(f.at_s);
        let x1 = x(f.heal_done_s).max(x0 + 1.0);
        let _ = writeln!(
            svg,
            r#"<g class="{class}"><title>{}</title><rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" fill-opacity="0.18"/><text x="{x0:.1}" y="{:.1}" fill="{fill}" font-size="11">{}</text><line class="heal" x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{SPREAD_BOTTOM}" stroke="{fill}" stroke-width="1.5"/></g>"#,
            escape(&f.label),
            LAT_TOP - 40.0,
            x1 - x0,
            SPREAD_BOTTOM - LAT_TOP + 40.0,
            LAT_TOP - 28.0,
            escape(&f.label),
            LAT_TOP - 40.0
        );
        let recovered = match (f.digests_equal_s, f.caught_up_s) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        match recovered {
            Some(after) => {
                let xc = x(f.heal_done_s + after);
                let _ = writeln!(
                    svg,
                    r##"<g class="converged"><line x1="{xc:.1}" y1="{:.1}" x2="{xc:.1}" y2="{SPREAD_BOTTOM}" stroke="#27ae60" stroke-width="1.5" stroke-dasharray="5,3"/><text x="{:.1}" y="{:.1}" fill="#27ae60" font-size="11">converged +{after:.1} s</text></g>"##,
                    LAT_TOP - 22.0,
                    xc + 3.0,
                    LAT_TOP - 12.0
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    r##"<text class="not-converged" x="{:.1}" y="{:.1}" fill="#c0392b" font-size="11">did not converge</text>"##,
                    x1 + 3.0,
                    LAT_TOP - 12.0
                );
            }
        }
    }

    // Axes and grids.
    let step = tick_step(end_s);
    let mut t = 0.0;
    while t <= end_s + 1e-9 {
        let xt = x(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{xt:.1}" y1="{LAT_TOP}" x2="{xt:.1}" y2="{LAT_BOTTOM}" stroke="#eee"/><line x1="{xt:.1}" y1="{SPREAD_TOP}" x2="{xt:.1}" y2="{SPREAD_BOTTOM}" stroke="#eee"/><text x="{xt:.1}" y="{:.1}" text-anchor="middle">{t:.0}</text><text x="{xt:.1}" y="{:.1}" text-anchor="middle">{t:.0}</text>"##,
            LAT_BOTTOM + 16.0,
            SPREAD_BOTTOM + 16.0
        );
        t += step;
    }
    let mut e = lo_exp;
    while e <= hi_exp + 1e-9 {
        let v = 10f64.powf(e);
        let yt = y_lat(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yt:.1}" x2="{RIGHT}" y2="{yt:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            LEFT - 6.0,
            yt + 4.0
        );
        e += 1.0;
    }
    for v in [0.0, spread_max / 2.0, spread_max] {
        let yt = y_spread(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yt:.1}" x2="{RIGHT}" y2="{yt:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
            LEFT - 6.0,
            yt + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{LAT_TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="#888"/>
<rect x="{LEFT}" y="{SPREAD_TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="#888"/>
<text x="{LEFT}" y="{:.1}" font-weight="bold">submit-to-everywhere delivery latency of each update (ms, log scale) against submission time (s since the stream began)</text>
<text x="{LEFT}" y="{:.1}" font-weight="bold">updates the most-behind running node lacks (max - min headers); green ticks: every node reports the same digests</text>
<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the stream began</text>"##,
        RIGHT - LEFT,
        LAT_BOTTOM - LAT_TOP,
        RIGHT - LEFT,
        SPREAD_BOTTOM - SPREAD_TOP,
        LAT_TOP - 48.0 + 0.0,
        SPREAD_TOP - 8.0,
        (LEFT + RIGHT) / 2.0,
        SPREAD_BOTTOM + 34.0
    );

    // Latency points, then undelivered updates as red crosses along the top.
    let _ = writeln!(svg, r#"<g class="latency">"#);
    for u in &timeline.updates {
        if let Some(ms) = u.latency_ms {
            let colour = AGENCY_COLOURS[u.agency % AGENCY_COLOURS.len()];
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{colour}" fill-opacity="0.7"/>"#,
                x(u.t_s),
                y_lat(ms)
            );
        }
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(svg, r##"<g class="undelivered" stroke="#c0392b" stroke-width="1.5">"##);
    for u in timeline.updates.iter().filter(|u| !u.delivered) {
        let (cx, cy) = (x(u.t_s), LAT_TOP + 6.0);
        let _ = writeln!(
            svg,
            r#"<path d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}"/>"#,
            cx - 3.0,
            cy - 3.0,
            cx + 3.0,
            cy + 3.0,
            cx - 3.0,
            cy + 3.0,
            cx + 3.0,
            cy - 3.0
        );
    }
    let _ = writeln!(svg, "</g>");

    // The spread between nodes, as steps, and the samples where all digests were equal.
    let mut points = String::new();
    let mut last: Option<(f64, f64)> = None;
    for s in &timeline.samples {
        let (px, py) = (x(s.t_s), y_spread(s.headers_spread as f64));
        if let Some((_, ly)) = last {
            let _ = write!(points, "{px:.1},{ly:.1} ");
        }
        let _ = write!(points, "{px:.1},{py:.1} ");
        last = Some((px, py));
    }
    let _ = writeln!(
        svg,
        r##"<polyline class="spread" points="{}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>"##,
        points.trim_end()
    );
    let _ = writeln!(svg, r##"<g class="agreement" stroke="#27ae60" stroke-width="2">"##);
    for s in timeline
        .samples
        .iter()
        .filter(|s| s.distinct_digests == 1 && s.answered == s.running && s.running > 0)
    {
        let px = x(s.t_s);
        let _ = writeln!(
            svg,
            r#"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{SPREAD_BOTTOM}"/>"#,
            SPREAD_BOTTOM - 6.0
        );
    }
    let _ = writeln!(svg, "</g>");

    // Legend.
    let ly = HEIGHT - 22.0;
    let _ = writeln!(
        svg,
        r##"<g class="legend" font-size="11"><circle cx="{LEFT}" cy="{:.1}" r="3" fill="{}"/><text x="{:.1}" y="{ly:.1}">an update (colour: its agency)</text><path d="M{:.1},{:.1} l6,6 m-6,0 l6,-6" stroke="#c0392b" stroke-width="1.5"/><text x="{:.1}" y="{ly:.1}">not delivered everywhere</text><rect x="{:.1}" y="{:.1}" width="12" height="10" fill="#e74c3c" fill-opacity="0.3"/><text x="{:.1}" y="{ly:.1}">kill -9 until restarted</text><rect x="{:.1}" y="{:.1}" width="12" height="10" fill="#f39c12" fill-opacity="0.3"/><text x="{:.1}" y="{ly:.1}">partition until healed</text><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#27ae60" stroke-width="1.5" stroke-dasharray="5,3"/><text x="{:.1}" y="{ly:.1}">converged</text></g>"##,
        ly - 4.0,
        AGENCY_COLOURS[0],
        LEFT + 8.0,
        LEFT + 200.0,
        ly - 9.0,
        LEFT + 212.0,
        LEFT + 370.0,
        ly - 9.0,
        LEFT + 386.0,
        LEFT + 530.0,
        ly - 9.0,
        LEFT + 546.0,
        LEFT + 690.0,
        ly - 4.0,
        LEFT + 715.0,
        ly - 4.0,
        LEFT + 721.0
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::report::{Sample, UpdatePoint};

    fn fault(kind: &str, label: &str, at_s: f64, heal_done_s: f64, converged: Option<f64>) -> FaultReport {
        FaultReport {
            kind: kind.into(),
            label: label.into(),
            nodes: vec![3],
            at_s,
            heal_start_s: heal_done_s - 0.5,
            heal_done_s,
            cut_commands_ms: 10.0,
            heal_commands_ms: 500.0,
            caught_up_s: converged,
            digests_equal_s: converged,
            stream_paused: true,
        }
    }

    #[test]
    fn the_plot_is_well_formed_xml_with_every_fault_marked() {
        let timeline = Timeline {
            stream_s: 60.0,
            samples: (0..60)
                .map(|t| Sample {
                    t_s: t as f64,
                    running: 4,
                    answered: 4,
                    distinct_digests: if (20..30).contains(&t) { 2 } else { 1 },
                    headers_spread: if (20..30).contains(&t) { 40 } else { 0 },
                    rss_mib_total: 100.0,
                })
                .collect(),
            updates: (0..600)
                .map(|k| UpdatePoint {
                    t_s: k as f64 / 10.0,
                    agency: k % 2,
                    latency_ms: (k != 7).then_some(20.0 + (k % 50) as f64),
                    delivered: k != 7,
                })
                .collect(),
        };
        let faults = [
            fault("kill", "kill -9 node-003", 10.0, 15.0, Some(1.5)),
            fault("partition", "partition <1> | 3 & \"the rest\"", 20.0, 30.0, Some(2.5)),
            fault("partition", "partition that never healed", 40.0, 50.0, None),
        ];
        let svg = render(&PlotInput {
            title: "a <title> & more".into(),
            subtitle: vec!["load 'high'".into(), "two > one".into()],
            timeline: &timeline,
            faults: &faults,
        });

        let mut reader = quick_xml::Reader::from_str(&svg);
        let (mut kills, mut partitions, mut converged, mut undelivered_paths, mut depth) = (0, 0, 0, 0, 0i32);
        let mut in_undelivered = false;
        loop {
            match reader.read_event() {
                Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Start(tag)) => {
                    depth += 1;
                    let class = tag
                        .try_get_attribute("class")
                        .unwrap()
                        .map(|a| a.unescape_value().unwrap().into_owned())
                        .unwrap_or_default();
                    kills += usize::from(class == "fault fault-kill");
                    partitions += usize::from(class == "fault fault-partition");
                    converged += usize::from(class == "converged");
                    in_undelivered = class == "undelivered";
                }
                Ok(quick_xml::events::Event::Empty(tag)) => {
                    undelivered_paths += usize::from(in_undelivered && tag.name().as_ref() == b"path");
                }
                Ok(quick_xml::events::Event::End(_)) => {
                    depth -= 1;
                    in_undelivered = false;
                }
                Ok(_) => {}
            }
        }
        assert_eq!(depth, 0, "every element is closed");
        assert_eq!((kills, partitions), (1, 2), "every fault is marked, by kind");
        assert_eq!(converged, 2, "a convergence line for each fault that converged");
        assert!(svg.contains("did not converge"), "a fault that never converged says so");
        assert_eq!(undelivered_paths, 1, "the undelivered update is marked");
        assert!(svg.contains("partition &lt;1&gt; | 3 &amp; &quot;the rest&quot;"), "labels are escaped");
    }

    #[test]
    fn an_empty_timeline_still_plots() {
        let timeline = Timeline::default();
        let svg = render(&PlotInput {
            title: String::new(),
            subtitle: Vec::new(),
            timeline: &timeline,
            faults: &[],
        });
        let mut reader = quick_xml::Reader::from_str(&svg);
        loop {
            match reader.read_event() {
                Err(e) => panic!("not well-formed: {e}"),
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
            }
        }
        assert!(!svg.contains("NaN"), "{svg}");
    }
}
