//! The CLI's client for the local API. Finds the running node through its data directory
//! (`api.addr`, `api.token`) and turns every failure into a message that says what to do.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::datadir::DataDir;

/// A connection to one node's local API.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    data_dir: PathBuf,
    agent: ureq::Agent,
}

impl Client {
    /// Connects to the node that runs from `dir`.
    pub fn for_data_dir(dir: &DataDir) -> Result<Client> {
        let addr_path = dir.api_addr();
        let addr = std::fs::read_to_string(&addr_path).map_err(|_| {
            anyhow!(
                "no node is running from {} (no {}). Start it with: commons node run --config {}",
                dir.root().display(),
                addr_path.display(),
                dir.config().display()
            )
        })?;
        let token = dir.read_token().ok();
        Ok(Self::new(addr.trim(), token, dir.root().to_owned()))
    }

    pub fn new(addr: &str, token: Option<String>, data_dir: PathBuf) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        Client { base: format!("http://{addr}"), token, data_dir, agent }
    }

    fn unreachable(&self, e: ureq::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach the node at {} ({e}). Is it running? Start it with: commons node run --config {}/config.toml",
            self.base,
            self.data_dir.display()
        )
    }

    fn answer<T: DeserializeOwned>(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<T> {
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .context("reading the node's answer")?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .context("the node's answer is not the JSON this CLI expects (versions differ?)");
        }
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned());
        match status.as_u16() {
            401 => bail!("{message}"),
            413 => bail!("the request is larger than the node accepts (api.max_request_bytes): {message}"),
            _ => bail!("{message}"),
        }
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let response = match self.agent.get(&url).call() {
            // A pooled connection the node has closed meanwhile (after a 413, say): a GET is
            // idempotent, so it is tried once more on a fresh connection.
            Err(ureq::Error::Io(_)) => self.agent.get(&url).call(),
            other => other,
        }
        .map_err(|e| self.unreachable(e))?;
        self.answer(response)
    }

    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let bytes = serde_json::to_vec(body).context("encoding the request")?;
        let response = request.header("Content-Type", "application/json").send(&bytes[..]).map_err(|e| {
            // A node that refuses a body as too large answers 413 and closes the connection
            // while the client is still sending: say so rather than "unreachable".
            let closed_early = matches!(&e, ureq::Error::Io(io) if matches!(io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset));
            if closed_early && bytes.len() > 64 * 1024 {
                anyhow!(
                    "the node closed the connection while receiving a {}-byte request: it is larger than the node accepts \
                     (api.max_request_bytes in its config)",
                    bytes.len()
                )
            } else {
                self.unreachable(e)
            }
        })?;
        self.answer(response)
    }
}
