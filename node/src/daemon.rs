//! `commons node run`: the daemon. One entry point, [`run`], that the binary and the tests
//! both call: it opens the store, restores the engine, serves the local API, and stops
//! cleanly when `shutdown` resolves, with everything acknowledged on disk.

use std::future::Future;

use anyhow::{Context, Result};
use protocol::engine::EngineConfig;

use crate::config::Config;
use crate::core::{self, Command, CoreConfig, NodeInfo};
use crate::datadir::DataDir;
use crate::store::Store;

/// Runs a node until `shutdown` resolves. `ready` receives the API address once serving.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> Result<()> {
    let dir = DataDir::new(&config.data_dir);
    let genesis = dir.load_genesis()?;
    let network_id = genesis.network_id();
    let signer = dir.signer()?;
    let keypair = dir.node_keypair()?;
    let token = dir.read_token()?;
    let relay = signer.is_none();
    let store = Store::open(&dir.store(), &network_id, config.store_cache_bytes)
        .with_context(|| format!("opening the store of {}", dir.root().display()))?;
    let engine_config = EngineConfig {
        max_aside: config.max_pending,
        sync_before_signing: config.network_enabled && !config.bootstrap.is_empty(),
        verify_threads: std::thread::available_parallelism().map_or(1, usize::from),
        ..EngineConfig::default()
    };
    let agency = signer.as_ref().map(|s| s.agency());
    let screening = config.screening_settings()?;
    let (core, network_outputs, engine_thread) =
        core::spawn(genesis.clone(), store, signer, CoreConfig { engine: engine_config, screening })?;
    let network = if config.network_enabled {
        Some(
            crate::network::start(&config, keypair.clone(), network_id, core.clone(), network_outputs)
                .await?,
        )
    } else {
        None
    };

    tokio::spawn(core::tick(core.clone()));
    let listener = tokio::net::TcpListener::bind(config.api_listen).await.with_context(|| {
        format!("cannot listen on {} for the local API (is another node running?)", config.api_listen)
    })?;
    let api_addr = listener.local_addr()?;
    crate::api::write_addr_file(&dir.api_addr(), api_addr)?;
    let mut metrics_addr = None;
    if config.metrics_enabled {
        let listener = tokio::net::TcpListener::bind(config.metrics_listen).await.with_context(|| {
            format!("cannot listen on {} for the metrics endpoint ([metrics] listen)", config.metrics_listen)
        })?;
        let addr = listener.local_addr()?;
        tracing::info!(metrics = %addr, "serving Prometheus metrics at /metrics");
        metrics_addr = Some(addr.to_string());
        let router = crate::metrics::router(core.clone(), network.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    let info = NodeInfo {
        peer_id: keypair.public().to_peer_id().to_string(),
        data_dir: dir.root().display().to_string(),
        relay,
        metrics_addr,
    };
    tracing::info!(
        api = %api_addr,
        network = %genesis.network_name,
        network_id = %network_id.short(),
        agency = ?agency.map(|a| a.short()),
        peer_id = %info.peer_id,
        relay,
        "node running"
    );
    let router = crate::api::router(core.clone(), token, info, network.clone(), config.max_request_bytes);
    if let Some(ready) = ready {
        let _ = ready.send(api_addr);
    }
    notify_service_manager(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("running")]);
    let served = crate::api::serve(listener, router, shutdown).await;
    notify_service_manager(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("flushing the store"),
    ]);
    tracing::info!("stopping: flushing the store");
    if let Some(network) = &network {
        network.shutdown().await;
    }
    core.ask(|reply| Command::Shutdown { reply }).await.ok();
    let _ = tokio::task::spawn_blocking(move || engine_thread.join()).await;
    let _ = std::fs::remove_file(dir.api_addr());
    served.context("the local API failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Tells systemd (a `Type=notify` unit) that the node is ready, or stopping: the store is
/// restored, the network started and the API served before `READY=1`, so `systemctl start`
/// returns when the node can answer. Without `$NOTIFY_SOCKET` (not under systemd) it does
/// nothing; a failure to notify is logged, never fatal.
fn notify_service_manager(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "could not notify the service manager ($NOTIFY_SOCKET)");
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
