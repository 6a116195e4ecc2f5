//! The Prometheus metrics endpoint: off by default; when on (`[metrics] enabled = true`), it
//! serves `GET /metrics` in the Prometheus text exposition format (version 0.0.4) on a
//! loopback address, read-only and without a token. Every figure is read from the engine
//! task and the network event loop at scrape time; nothing is kept here.
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `commons_up` | gauge | 1 while the node serves |
//! | `commons_uptime_seconds` | gauge | since the node started |
//! | `commons_peers` | gauge | connected peers |
//! | `commons_peers_admitted` | gauge | connected peers whose agency is an admitted member |
//! | `commons_mesh_peers` | gauge | gossipsub mesh size on the network topic |
//! | `commons_members` | gauge | admitted member agencies |
//! | `commons_updates` | gauge | update headers held |
//! | `commons_objects` | gauge | objects in the catalogue |
//! | `commons_missing_bodies` | gauge | live bodies still to fetch |
//! | `commons_updates_accepted_total` | counter | updates accepted, any source |
//! | `commons_updates_defective_total` | counter | accepted updates with a defective body |
//! | `commons_updates_rejected_total{reason}` | counter | updates rejected, by reason |
//! | `commons_gossip_received_total`, `_published_total`, `_throttled_total` | counter | gossip messages |
//! | `commons_gossip_bytes_total` | counter | gossip payload bytes in and out |
//! | `commons_sync_rounds_total` | counter | anti-entropy sessions completed |
//! | `commons_sync_bytes_total` | counter | bytes of sync messages in and out |
//! | `commons_store_bytes` | gauge | the store's size on disk |
//! | `commons_screening_seconds` | gauge | duration of the last full conjunction screening |
//! | `commons_conjunctions` | gauge | conjunctions held from the last screening |

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::core::{Command, CoreHandle, CoreStatus};
use crate::network::{NetworkHandle, NetworkStatus};

#[derive(Clone)]
struct MetricsState {
    core: CoreHandle,
    network: Option<NetworkHandle>,
}

/// The endpoint's router: `GET /metrics`.
pub fn router(core: CoreHandle, network: Option<NetworkHandle>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(MetricsState { core, network })
}

async fn metrics(State(s): State<MetricsState>) -> impl IntoResponse {
    let core = match s.core.ask(|reply| Command::Status { reply }).await {
        Ok(core) => core,
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("the engine task is not answering: {e}\n"))
                .into_response()
        }
    };
    let network = match &s.network {
        Some(n) => n.status().await.ok(),
        None => None,
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&core, network.as_ref()))
        .into_response()
}

/// One metric family in the text format.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.head(name, kind, help);
        let _ = writeln!(self.out, "{name} {value}");
    }
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }
}

/// Label values escape backslash, double quote and newline.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Renders the metrics from the engine's and the network's status.
pub fn render(core: &CoreStatus, network: Option<&NetworkStatus>) -> String {
    let mut out = String::with_capacity(4096);
    let mut f = Family { out: &mut out };
    f.one("commons_up", "gauge", "1 while the node serves.", 1);
    f.one("commons_uptime_seconds", "gauge", "Seconds since the node started.", core.uptime_s);
    let (peers, admitted, mesh) = network.map_or((0, 0, 0), |n| (n.connected, n.admitted, n.mesh_size));
    f.one("commons_peers", "gauge", "Connected peers.", peers);
    f.one("commons_peers_admitted", "gauge", "Connected peers of admitted member agencies.", admitted);
    f.one("commons_mesh_peers", "gauge", "Gossipsub mesh size on the network topic.", mesh);
    f.one("commons_members", "gauge", "Admitted member agencies.", core.members);
    f.one("commons_updates", "gauge", "Update headers held.", core.headers);
    f.one("commons_objects", "gauge", "Objects in the catalogue.", core.objects);
    f.one("commons_missing_bodies", "gauge", "Live bodies not yet fetched.", core.missing_bodies);
    f.one(
        "commons_updates_accepted_total",
        "counter",
        "Updates accepted since start, any source.",
        core.accepted,
    );
    f.one(
        "commons_updates_defective_total",
        "counter",
        "Accepted updates whose body is defective (kept as evidence, counted in no view).",
        core.defective,
    );
    f.head("commons_updates_rejected_total", "counter", "Updates rejected since start, by reason.");
    for (reason, n) in &core.rejected {
        let _ = writeln!(f.out, "commons_updates_rejected_total{{reason=\"{}\"}} {n}", label(reason));
    }
    let n = network.cloned().unwrap_or_default();
    f.one("commons_gossip_received_total", "counter", "Gossip messages received.", n.gossip_received);
    f.one("commons_gossip_published_total", "counter", "Gossip messages published.", n.gossip_published);
    f.one(
        "commons_gossip_throttled_total",
        "counter",
        "Gossip messages ignored for exceeding a per-peer or per-author rate.",
        n.gossip_throttled,
    );
    f.one(
        "commons_gossip_bytes_total",
        "counter",
        "Gossip payload bytes received and published.",
        n.gossip_bytes,
    );
    f.one("commons_sync_rounds_total", "counter", "Anti-entropy sessions completed.", n.syncs_completed);
    f.one("commons_sync_bytes_total", "counter", "Bytes of sync messages sent and received.", n.sync_bytes);
    f.one("commons_store_bytes", "gauge", "The store's size on disk, bytes.", core.store_bytes);
    let screening = core.screening.as_ref();
    f.one(
        "commons_screening_seconds",
        "gauge",
        "Duration of the last full conjunction screening, seconds.",
        screening.and_then(|s| s.last_full_s).unwrap_or(0.0),
    );
    f.one(
        "commons_conjunctions",
        "gauge",
        "Conjunctions held from the last screening.",
        screening.map_or(0, |s| s.conjunctions),
    );
    out
}
