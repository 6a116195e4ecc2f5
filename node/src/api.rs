//! The local HTTP/JSON API (axum, loopback only): the one interface the CLI uses. Reads are
//! open to local processes; every write needs the bearer token from the data directory.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::ids::{AgencyId, ObjectId};
use protocol::records::OrbitEstimate;
use protocol::time::Epoch;
use serde::{Deserialize, Serialize};

use crate::core::{Command, CoreHandle, JoinRequest, NodeInfo};
use crate::orbit::ElementSet;

/// Element sets per submit request: the CLI sends large files in batches of this many, each
/// acknowledged once durable.
pub const SUBMIT_BATCH: usize = 2000;

#[derive(Clone)]
struct AppState {
    core: CoreHandle,
    token: Arc<String>,
    info: Arc<NodeInfo>,
    network: Option<crate::network::NetworkHandle>,
}

/// An element set on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireElementSet {
    pub estimate: OrbitEstimate,
    pub name: Option<String>,
    pub cospar_id: Option<String>,
}

impl From<WireElementSet> for ElementSet {
    fn from(w: WireElementSet) -> Self {
        ElementSet { estimate: w.estimate, name: w.name, cospar_id: w.cospar_id }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitRequest {
    pub sets: Vec<WireElementSet>,
}

impl From<&ElementSet> for WireElementSet {
    fn from(s: &ElementSet) -> Self {
        WireElementSet { estimate: s.estimate.clone(), name: s.name.clone(), cospar_id: s.cospar_id.clone() }
    }
}

impl SubmitRequest {
    /// A request carrying these element sets (at most [`SUBMIT_BATCH`] per request).
    pub fn of(sets: &[ElementSet]) -> Self {
        SubmitRequest { sets: sets.iter().map(WireElementSet::from).collect() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuspendRequest {
    pub agency: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BindNodeRequest {
    pub peer_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequestRequest {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    pub name: Option<String>,
    pub cospar: Option<String>,
    #[serde(rename = "type")]
    pub object_type: Option<String>,
    pub owner: Option<String>,
    pub regime: Option<String>,
    pub agency: Option<String>,
}

/// An API error: a status and a message that says what to do.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}"))
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant-time comparison: the token is a secret.
    let expected = state.token.as_bytes();
    let ok = given.len() == expected.len()
        && given.bytes().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if ok {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            format!("bad or missing API token: writes need the token in {}/api.token", state.info.data_dir),
        ))
    }
}

fn parse_object(text: &str) -> Result<ObjectId, ApiError> {
    text.parse().map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e}")))
}

fn parse_peer(text: &str) -> Result<libp2p::PeerId, ApiError> {
    text.parse().map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("invalid peer id {text:?}: {e}")))
}

fn network_of(s: &AppState) -> Result<&crate::network::NetworkHandle, ApiError> {
    s.network
        .as_ref()
        .ok_or_else(|| ApiError(StatusCode::CONFLICT, "the network is disabled in this node's config".into()))
}

fn parse_agency(text: &str) -> Result<AgencyId, ApiError> {
    text.parse().map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e}")))
}

/// The router, for the server and for in-process tests.
pub fn router(
    core: CoreHandle,
    token: String,
    info: NodeInfo,
    network: Option<crate::network::NetworkHandle>,
    max_request_bytes: usize,
) -> Router {
    let state = AppState { core, token: Arc::new(token), info: Arc::new(info), network };
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/objects/{id}", get(object))
        .route("/v1/objects/{id}/history", get(history))
        .route("/v1/catalogue", get(catalogue))
        .route("/v1/conjunctions", get(conjunctions))
        .route("/v1/search", get(search))
        .route("/v1/members", get(members))
        .route("/v1/check", get(check))
        .route("/v1/peers", get(peers))
        .route("/v1/updates/{id}", get(update))
        .route("/v1/arrivals", post(arrivals))
        .route("/v1/admin/block", post(block))
        .route("/v1/admin/dial", post(dial))
        .route("/v1/admin/publish-raw", post(publish_raw))
        .route("/v1/admin/present", post(present))
        .route("/v1/admin/import", post(import))
        .route("/v1/submit", post(submit))
        .route("/v1/join-request", post(join_request))
        .route("/v1/endorse", post(endorse))
        .route("/v1/suspend", post(suspend))
        .route("/v1/bind-node", post(bind_node))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .with_state(state)
}

/// Serves the API until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn status(State(s): State<AppState>) -> ApiResult<serde_json::Value> {
    let core = s.core.ask(|reply| Command::Status { reply }).await?;
    let network = match &s.network {
        Some(n) => Some(n.status().await?),
        None => None,
    };
    Ok(Json(serde_json::json!({
        "node": {
            "peer_id": s.info.peer_id,
            "data_dir": s.info.data_dir,
            "relay": s.info.relay,
            "metrics": s.info.metrics_addr,
        },
        "core": core,
        "network": network,
    })))
}

async fn object(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<crate::core::ObjectReport> {
    let object = parse_object(&id)?;
    match s.core.ask(|reply| Command::Object { object, reply }).await? {
        Some(report) => Ok(Json(report)),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown object {object}: no member has published anything about it"),
        )),
    }
}

async fn history(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<crate::core::HistoryEntry>> {
    let object = parse_object(&id)?;
    let entries = s.core.ask(|reply| Command::History { object, reply }).await?;
    if entries.is_empty() {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("unknown object {object}: no update names it")));
    }
    Ok(Json(entries))
}

#[derive(Debug, Deserialize)]
struct CatalogueQuery {
    agency: Option<String>,
}

async fn catalogue(
    State(s): State<AppState>,
    Query(q): Query<CatalogueQuery>,
) -> ApiResult<Vec<crate::core::CatalogueEntry>> {
    let agency = q.agency.as_deref().map(parse_agency).transpose()?;
    Ok(Json(s.core.ask(|reply| Command::Catalogue { agency, reply }).await?))
}

#[derive(Debug, Deserialize)]
struct ConjunctionsQuery {
    object: Option<String>,
    within_km: Option<f64>,
    since: Option<String>,
    until: Option<String>,
    min_pc: Option<f64>,
    limit: Option<usize>,
    /// Re-screen each event with every source's estimates (default yes).
    spread: Option<bool>,
}

async fn conjunctions(
    State(s): State<AppState>,
    Query(q): Query<ConjunctionsQuery>,
) -> ApiResult<Vec<crate::core::ConjunctionReport>> {
    let time = |name: &str, text: &Option<String>| -> Result<Option<Epoch>, ApiError> {
        text.as_deref()
            .map(|t| {
                Epoch::parse_iso(t).map_err(|e| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!("{name}: {t:?} is not an ISO 8601 UTC time: {e}"),
                    )
                })
            })
            .transpose()
    };
    let query = crate::core::ConjunctionQuery {
        object: q.object.as_deref().map(parse_object).transpose()?,
        within_km: q.within_km,
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
        min_pc: q.min_pc,
        limit: q.limit,
        spread: q.spread.unwrap_or(true),
    };
    match s.core.ask(|reply| Command::Conjunctions { query, reply }).await? {
        Ok(reports) => Ok(Json(reports)),
        Err(e) => Err(ApiError(StatusCode::CONFLICT, e)),
    }
}

/// Orbit regime by perigee and apogee altitude (km): LEO (apogee ≤ 2 000), GEO (both within
/// 500 km of 35 786, near-circular), HEO (eccentricity ≥ 0.25), MEO (the rest).
pub fn regime(estimate: &OrbitEstimate) -> &'static str {
    const MU_KM3_S2: f64 = 398_600.8; // WGS72
    const RE_KM: f64 = 6378.135;
    let n_rad_s = estimate.mean_motion_rev_per_day * 2.0 * std::f64::consts::PI / 86_400.0;
    let a_km = (MU_KM3_S2 / (n_rad_s * n_rad_s)).cbrt();
    let perigee = a_km * (1.0 - estimate.eccentricity) - RE_KM;
    let apogee = a_km * (1.0 + estimate.eccentricity) - RE_KM;
    if apogee <= 2000.0 {
        "LEO"
    } else if estimate.eccentricity >= 0.25 {
        "HEO"
    } else if (35_286.0..=36_286.0).contains(&perigee) && (35_286.0..=36_286.0).contains(&apogee) {
        "GEO"
    } else {
        "MEO"
    }
}

async fn search(
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Vec<crate::core::CatalogueEntry>> {
    let agency = q.agency.as_deref().map(parse_agency).transpose()?;
    let all = s.core.ask(|reply| Command::Catalogue { agency, reply }).await?;
    let contains = |field: &Option<String>, needle: &Option<String>| match needle {
        None => true,
        Some(n) => field.as_deref().is_some_and(|f| f.to_lowercase().contains(&n.to_lowercase())),
    };
    if let Some(r) = &q.regime {
        if !["LEO", "MEO", "GEO", "HEO"].contains(&r.to_uppercase().as_str()) {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("unknown regime {r:?}: use LEO, MEO, GEO or HEO"),
            ));
        }
    }
    let found = all
        .into_iter()
        .filter(|e| {
            contains(&e.name, &q.name) && contains(&e.cospar_id, &q.cospar) && contains(&e.owner, &q.owner)
        })
        .filter(|e| match &q.object_type {
            None => true,
            Some(t) => e.object_type.is_some_and(|ot| {
                serde_json::to_value(ot)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .is_some_and(|v| v.eq_ignore_ascii_case(t))
            }),
        })
        .filter(|e| q.regime.as_ref().is_none_or(|r| regime(&e.estimate).eq_ignore_ascii_case(r)))
        .collect();
    Ok(Json(found))
}

async fn peers(State(s): State<AppState>) -> ApiResult<Vec<crate::network::PeerInfo>> {
    match &s.network {
        Some(n) => Ok(Json(n.peers().await?)),
        None => Ok(Json(Vec::new())),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockRequest {
    /// One peer, or several in `peer_ids` (a partition cuts many links at once), or both.
    #[serde(default)]
    pub peer_id: Option<String>,
    #[serde(default)]
    pub peer_ids: Vec<String>,
    pub blocked: bool,
}

/// Peers one block request, or addresses one dial request, may name at most.
pub const MAX_NAMED: usize = 10_000;

/// The one and the many of a request naming one thing or several, checked for 1 to
/// [`MAX_NAMED`] of them and parsed whole (a bad one fails the request before any is used).
fn named_list<T>(
    one: &Option<String>,
    many: &[String],
    fields: &str,
    parse: impl Fn(&str) -> Result<T, ApiError>,
) -> Result<(Vec<String>, Vec<T>), ApiError> {
    let named: Vec<String> = one.iter().chain(many).cloned().collect();
    if named.is_empty() || named.len() > MAX_NAMED {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("name 1 to {MAX_NAMED} in {fields} (got {})", named.len()),
        ));
    }
    let parsed = named.iter().map(|n| parse(n)).collect::<Result<Vec<_>, _>>()?;
    Ok((named, parsed))
}

/// Refuses (or lifts the refusal of) peers: for operators, and for partition tests. Every
/// peer id is checked before any is blocked, so a bad one changes nothing.
async fn block(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<BlockRequest>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let (named, peers) = named_list(&req.peer_id, &req.peer_ids, "peer_id or peer_ids", parse_peer)?;
    let network = network_of(&s)?;
    for peer in peers {
        network.block(peer, req.blocked).await?;
    }
    Ok(Json(serde_json::json!({ "peer_ids": named, "blocked": req.blocked })))
}

/// One update's canonical envelope, hex: anyone can re-verify it and reproduce what cites it.
async fn update(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<serde_json::Value> {
    let id: protocol::ids::UpdateId =
        id.parse().map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{e}")))?;
    match s.core.ask(|reply| Command::Update { id, reply }).await? {
        Some(bytes) => Ok(Json(serde_json::json!({ "update_id": id, "envelope_hex": hex::encode(bytes) }))),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("update {id} is not held by this node"))),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArrivalsRequest {
    pub ids: Vec<protocol::ids::UpdateId>,
}

/// When each update arrived at this node (µs since 1970, or null), for delivery measurements.
async fn arrivals(
    State(s): State<AppState>,
    Json(req): Json<ArrivalsRequest>,
) -> ApiResult<Vec<Option<i64>>> {
    let ids = req.ids;
    Ok(Json(s.core.ask(|reply| Command::Arrivals { ids, reply }).await?))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DialRequest {
    /// One address, or several in `addrs` (a healed partition redials many links), or both.
    #[serde(default)]
    pub addr: Option<String>,
    #[serde(default)]
    pub addrs: Vec<String>,
}

/// Dials addresses: every one is parsed before any is dialled, so a bad one dials nothing.
async fn dial(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<DialRequest>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let (named, addrs) = named_list(&req.addr, &req.addrs, "addr or addrs", |a| {
        a.parse::<libp2p::Multiaddr>()
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("invalid address {a:?}: {e}")))
    })?;
    let network = network_of(&s)?;
    for addr in addrs {
        network.dial(addr).await?;
    }
    Ok(Json(serde_json::json!({ "dialled": named })))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HexList {
    pub items_hex: Vec<String>,
}

fn decode_hex_list(list: &HexList) -> Result<Vec<Vec<u8>>, ApiError> {
    list.items_hex
        .iter()
        .enumerate()
        .map(|(i, h)| {
            hex::decode(h).map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("items_hex[{i}]: {e}")))
        })
        .collect()
}

/// Publishes bytes on the updates topic as given (diagnostics and hostile-peer tests).
async fn publish_raw(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<HexList>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let network = network_of(&s)?;
    let items = decode_hex_list(&req)?;
    let n = items.len();
    for bytes in items {
        network.publish_raw(bytes).await?;
    }
    Ok(Json(serde_json::json!({ "published": n })))
}

/// Sets extra statements this node presents in every gating handshake.
async fn present(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<HexList>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let statements = decode_hex_list(&req)?;
    let n = statements.len();
    s.core.send(Command::PresentAlso { statements }).await?;
    Ok(Json(serde_json::json!({ "presented": n })))
}

/// Imports signed envelopes (canonical bytes, hex), verified like any others.
async fn import(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<HexList>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let items = decode_hex_list(&req)?;
    let added = s.core.ask(|reply| Command::ImportEnvelopes { items, reply }).await?;
    Ok(Json(serde_json::json!({ "added": added })))
}

async fn check(State(s): State<AppState>) -> ApiResult<crate::core::CheckReport> {
    Ok(Json(s.core.ask(|reply| Command::Check { reply }).await?))
}

async fn members(State(s): State<AppState>) -> ApiResult<crate::core::MembersReport> {
    Ok(Json(s.core.ask(|reply| Command::Members { reply }).await?))
}

async fn submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<SubmitRequest>,
) -> ApiResult<crate::core::SubmitSummary> {
    authorise(&s, &headers)?;
    if req.sets.len() > SUBMIT_BATCH {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {SUBMIT_BATCH} element sets per request"),
        ));
    }
    let sets = req.sets.into_iter().map(ElementSet::from).collect();
    match s.core.ask(|reply| Command::SubmitElementSets { sets, reply }).await? {
        Ok(summary) => Ok(Json(summary)),
        Err(why) => Err(ApiError(StatusCode::CONFLICT, why)),
    }
}

async fn join_request(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<JoinRequestRequest>,
) -> ApiResult<JoinRequest> {
    authorise(&s, &headers)?;
    let name = req.name;
    let own_peer_id = s.info.peer_id.parse::<libp2p::PeerId>().map(|p| p.to_bytes()).unwrap_or_default();
    match s.core.ask(|reply| Command::JoinRequest { name, own_peer_id, reply }).await? {
        Ok(r) => Ok(Json(r)),
        Err(why) => Err(ApiError(StatusCode::CONFLICT, why)),
    }
}

fn update_answer(result: Result<protocol::ids::UpdateId, String>) -> ApiResult<serde_json::Value> {
    match result {
        Ok(id) => Ok(Json(serde_json::json!({ "update_id": id }))),
        Err(why) => Err(ApiError(StatusCode::CONFLICT, why)),
    }
}

async fn endorse(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<JoinRequest>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    update_answer(s.core.ask(|reply| Command::Endorse { request, reply }).await?)
}

async fn suspend(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<SuspendRequest>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let agency = parse_agency(&req.agency)?;
    let reason = req.reason;
    update_answer(s.core.ask(|reply| Command::Suspend { agency, reason, reply }).await?)
}

async fn bind_node(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<BindNodeRequest>,
) -> ApiResult<serde_json::Value> {
    authorise(&s, &headers)?;
    let peer = parse_peer(&req.peer_id)?;
    let peer_id = peer.to_bytes();
    update_answer(s.core.ask(|reply| Command::BindNode { peer_id, reply }).await?)
}

/// The address the API is served on, as the CLI finds it.
pub fn write_addr_file(path: &std::path::Path, addr: SocketAddr) -> std::io::Result<()> {
    std::fs::write(path, format!("{addr}\n"))
}
