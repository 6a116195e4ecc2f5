//! A client for one node's local HTTP/JSON API (the same endpoints the `commons` CLI uses),
//! found through the node's data directory: `api.addr` (written by the node once it serves)
//! and `api.token` (the bearer token every write needs). The runner never links the node
//! crate: it reads only the JSON fields it needs, so a field the node adds changes nothing.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Reads (status, arrivals) answer fast or the node is in trouble.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// A submit is acknowledged once durable; a batch of 2000 element sets on a loaded machine
/// can take a while.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest answer read: arrivals of a long run's every update, or a history.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// One node's API.
#[derive(Debug, Clone)]
pub struct NodeApi {
    base: String,
    token: String,
    read: ureq::Agent,
    write: ureq::Agent,
}

/// The parts of `GET /v1/status` the runner uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    pub node: StatusNode,
    pub core: StatusCore,
    pub network: Option<StatusNetwork>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusNode {
    pub peer_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusCore {
    /// The agency id as the node writes it (compared as JSON with history entries' authors).
    pub agency: serde_json::Value,
    pub may_sign: bool,
    pub headers: u64,
    pub header_digest: String,
    pub body_digest: String,
    pub missing_bodies: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusNetwork {
    pub listen_addrs: Vec<String>,
    pub connected: u64,
    pub admitted: u64,
    pub mesh_size: u64,
    pub gossip_bytes: u64,
    pub sync_bytes: u64,
}

/// What `POST /v1/submit` answers.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SubmitSummary {
    pub accepted: u64,
    pub superseded: u64,
    pub unchanged: u64,
    pub metadata_updates: u64,
    pub rejected: Vec<serde_json::Value>,
}

/// One entry of `GET /v1/objects/{id}/history`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HistoryEntry {
    pub update_id: String,
    pub author: serde_json::Value,
    pub epoch: serde_json::Value,
}

impl NodeApi {
    /// The API of the node running from `data_dir`, if it has written its address.
    pub fn for_data_dir(data_dir: &Path) -> Result<Option<NodeApi>> {
        let addr_path = data_dir.join("api.addr");
        let Ok(addr) = std::fs::read_to_string(&addr_path) else { return Ok(None) };
        let addr = addr.trim();
        if addr.is_empty() {
            return Ok(None); // being written
        }
        let token_path = data_dir.join("api.token");
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading the API token {}", token_path.display()))?;
        Ok(Some(NodeApi::new(addr, token.trim())))
    }

    pub fn new(addr: &str, token: &str) -> NodeApi {
        let agent = |timeout| -> ureq::Agent {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build()
                .into()
        };
        NodeApi {
            base: format!("http://{addr}"),
            token: token.to_owned(),
            read: agent(READ_TIMEOUT),
            write: agent(WRITE_TIMEOUT),
        }
    }

    fn answer<T: DeserializeOwned>(
        &self,
        what: &str,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> Result<T> {
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .with_context(|| format!("{} {what}: reading the answer", self.base))?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| text.trim().to_owned());
            bail!("{} {what}: HTTP {}: {message}", self.base, status.as_u16());
        }
        serde_json::from_str(&text).with_context(|| {
            format!("{} {what}: the answer is not the JSON expected (node version?)", self.base)
        })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .read
            .get(format!("{}{path}", self.base))
            .call()
            .map_err(|e| anyhow!("{} GET {path}: {e}", self.base))?;
        self.answer(&format!("GET {path}"), response)
    }

    fn post_with<B: Serialize, T: DeserializeOwned>(
        &self,
        agent: &ureq::Agent,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let bytes = serde_json::to_vec(body).context("encoding a request")?;
        let response = agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(&bytes[..])
            .map_err(|e| anyhow!("{} POST {path}: {e}", self.base))?;
        self.answer(&format!("POST {path}"), response)
    }

    pub fn status(&self) -> Result<Status> {
        self.get("/v1/status")
    }

    pub fn submit<S: Serialize>(&self, sets: &[S]) -> Result<SubmitSummary> {
        self.post_with(&self.write, "/v1/submit", &serde_json::json!({ "sets": sets }))
    }

    pub fn history(&self, object: &str) -> Result<Vec<HistoryEntry>> {
        self.get(&format!("/v1/objects/{object}/history"))
    }

    /// When each update arrived at the node (µs since 1970), `None` where it has not.
    pub fn arrivals(&self, ids: &[String]) -> Result<Vec<Option<i64>>> {
        let answer: Vec<Option<i64>> =
            self.post_with(&self.write, "/v1/arrivals", &serde_json::json!({ "ids": ids }))?;
        if answer.len() != ids.len() {
            bail!("{} POST /v1/arrivals: {} answers for {} ids", self.base, answer.len(), ids.len());
        }
        Ok(answer)
    }

    /// Whether the node holds an update (`GET /v1/updates/{id}` answers 404 when not).
    pub fn holds(&self, id: &str) -> Result<bool> {
        let response = self
            .read
            .get(format!("{}/v1/updates/{id}", self.base))
            .call()
            .map_err(|e| anyhow!("{} GET /v1/updates/{id}: {e}", self.base))?;
        match response.status().as_u16() {
            404 => Ok(false),
            _ => self.answer::<serde_json::Value>("GET /v1/updates", response).map(|_| true),
        }
    }

    /// Refuses (`blocked`) or lets back (`!blocked`) peers, in one request: the partition
    /// tool.
    pub fn block(&self, peer_ids: &[String], blocked: bool) -> Result<()> {
        let _: serde_json::Value = self.post_with(
            &self.read,
            "/v1/admin/block",
            &serde_json::json!({ "peer_ids": peer_ids, "blocked": blocked }),
        )?;
        Ok(())
    }

    /// Dials a peer's multiaddr (ending in `/p2p/<peer id>`).
    pub fn dial(&self, addr: &str) -> Result<()> {
        self.dial_all(&[addr.to_owned()])
    }

    /// Dials several multiaddrs in one request.
    pub fn dial_all(&self, addrs: &[String]) -> Result<()> {
        let _: serde_json::Value =
            self.post_with(&self.read, "/v1/admin/dial", &serde_json::json!({ "addrs": addrs }))?;
        Ok(())
    }
}
