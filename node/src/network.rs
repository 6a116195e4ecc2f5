//! The network (DESIGN.md §5): rust-libp2p on tokio. One [`EventLoop`] owns the `Swarm` and is
//! the only code that matches on `SwarmEvent`; the rest of the node holds a cloneable
//! [`NetworkHandle`] that sends [`NetCommand`]s over a bounded channel.
//!
//! - Transports: TCP + noise + yamux, and QUIC.
//! - Behaviours, in order: connection limits and memory-connection limits, gossipsub (one
//!   topic per network id, message id = blake3 of the bytes, `validate_messages()` so nothing
//!   is forwarded before the engine has verified it), identify, ping, request-response for the
//!   gating handshake and for anti-entropy sync, and Kademlia in server mode.
//! - Gating: right after connecting, both sides exchange a handshake carrying their binding and
//!   the statements that admit their agency. A peer whose noise-authenticated id is not in the
//!   newest binding of an admitted agency is disconnected, unless it is a configured bootstrap
//!   peer not yet synced with, or observers are allowed.
//! - Sync: the engine's anti-entropy messages ride on request-response; the network only
//!   carries them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, TopicHash, ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, identify, memory_connection_limits, noise, ping, tcp, yamux, Multiaddr, PeerId,
    StreamProtocol, Swarm,
};
use protocol::engine::{Peer, Verdict};
use protocol::envelope::Envelope;
use protocol::ids::{AgencyId, NetworkId};
use protocol::sync::{SyncRequest, SyncResponse, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_RESPONSE_BYTES};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::core::{Command, CoreHandle, NetworkInput, NetworkOutput};

/// Commands queued for the event loop at most.
pub const NET_COMMAND_QUEUE: usize = 256;
/// Internal completions (handshake decisions, sync answers) queued at most.
const INTERNAL_QUEUE: usize = 1024;
/// Permanent faults (bad signatures, hash mismatches) before a peer is disconnected and
/// refused for [`BAN_DURATION`].
const MAX_FAULTS: u32 = 20;
const BAN_DURATION: Duration = Duration::from_secs(600);
/// Pings on every connection this often; one unanswered within the timeout closes it.
const PING_INTERVAL: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The gossipsub topic of a network.
pub fn topic(network: &NetworkId) -> IdentTopic {
    IdentTopic::new(format!("/orbital-commons/{}/updates/2", network.to_hex()))
}

/// The gating handshake protocol.
pub const HANDSHAKE_PROTOCOL: &str = "/orbital-commons/handshake/1";
/// The anti-entropy sync protocol.
pub const SYNC_PROTOCOL: &str = "/orbital-commons/sync/1";

/// What each side presents in the gating handshake: canonical envelopes of its binding and
/// of the statements that admit its agency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Handshake {
    pub network_id: ByteBuf,
    pub statements: Vec<ByteBuf>,
}

/// One sync message, the engine's canonical bytes (see `protocol::sync`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncBytes(pub ByteBuf);

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    memory: memory_connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    handshake: request_response::cbor::Behaviour<Handshake, Handshake>,
    sync: request_response::cbor::Behaviour<SyncBytes, SyncBytes>,
    kad: kad::Behaviour<MemoryStore>,
}

/// What the node knows about a connected peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    pub peer_id: String,
    pub agency: Option<AgencyId>,
    /// `admitted`, `pending` (handshake not done), `bootstrap` (exempt until synced) or
    /// `observer` (read-only).
    pub state: &'static str,
    pub addresses: Vec<String>,
    pub score: Option<f64>,
    pub latency_ms: Option<f64>,
    pub last_sync: Option<String>,
}

/// The network part of `commons status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetworkStatus {
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    pub connected: usize,
    pub admitted: usize,
    pub mesh_size: usize,
    pub syncs_completed: u64,
    pub last_sync: Option<String>,
    pub gossip_received: u64,
    pub gossip_published: u64,
    /// Gossip messages ignored for exceeding the per-peer or per-author rate.
    pub gossip_throttled: u64,
    /// Payload bytes of gossip messages received and published.
    pub gossip_bytes: u64,
    /// Bytes of all sync messages sent and received.
    pub sync_bytes: u64,
    /// Bytes of negentropy reconciliation messages in completed sessions this node started.
    pub reconcile_bytes: u64,
}

/// Commands for the event loop.
#[derive(Debug)]
pub enum NetCommand {
    Status {
        reply: oneshot::Sender<NetworkStatus>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    Dial {
        addr: Multiaddr,
    },
    /// Refuse a peer (for partition tests and operators); `false` lifts it.
    Block {
        peer: PeerId,
        blocked: bool,
    },
    /// Publish bytes on the updates topic exactly as given (operators' and tests' tool:
    /// receivers verify everything, so this can only hurt the sender's score).
    PublishRaw {
        bytes: Vec<u8>,
    },
    Shutdown,
}

/// Cloneable access to the event loop.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    tx: mpsc::Sender<NetCommand>,
    pub peer_id: PeerId,
}

impl NetworkHandle {
    pub async fn status(&self) -> Result<NetworkStatus> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(NetCommand::Status { reply }).await.context("the network has stopped")?;
        rx.await.context("the network dropped the request")
    }
    pub async fn peers(&self) -> Result<Vec<PeerInfo>> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(NetCommand::Peers { reply }).await.context("the network has stopped")?;
        rx.await.context("the network dropped the request")
    }
    pub async fn dial(&self, addr: Multiaddr) -> Result<()> {
        self.tx.send(NetCommand::Dial { addr }).await.context("the network has stopped")
    }
    pub async fn block(&self, peer: PeerId, blocked: bool) -> Result<()> {
        self.tx.send(NetCommand::Block { peer, blocked }).await.context("the network has stopped")
    }
    pub async fn publish_raw(&self, bytes: Vec<u8>) -> Result<()> {
        self.tx.send(NetCommand::PublishRaw { bytes }).await.context("the network has stopped")
    }
    pub async fn shutdown(&self) {
        let _ = self.tx.send(NetCommand::Shutdown).await;
    }
}

enum Internal {
    Gated { peer: PeerId, agency: Option<AgencyId> },
    SendHandshake { peer: PeerId, statements: Vec<Vec<u8>> },
    SyncAnswer { channel: ResponseChannel<SyncBytes>, response: SyncResponse },
    HandshakeAnswer { channel: ResponseChannel<Handshake>, statements: Vec<Vec<u8>> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Pending,
    Admitted(AgencyId),
    Bootstrap,
    Observer,
}

/// Counts events in one-second windows, for the per-peer and per-author gossip limits.
#[derive(Debug, Clone, Copy)]
struct RateWindow {
    start: Instant,
    count: u32,
}

impl RateWindow {
    fn new(now: Instant) -> Self {
        Self { start: now, count: 0 }
    }

    /// Counts one event at `now`; whether it is within `limit` events in its window.
    fn admit(&mut self, now: Instant, limit: u32) -> bool {
        if now.duration_since(self.start) >= Duration::from_secs(1) {
            *self = Self::new(now);
        }
        self.count = self.count.saturating_add(1);
        self.count <= limit
    }

    fn is_current(&self, now: Instant) -> bool {
        now.duration_since(self.start) < Duration::from_secs(1)
    }
}

/// Most authors whose gossip rate is tracked at once (the map is pruned to the current
/// window's authors, then cleared, past it).
const MAX_TRACKED_AUTHORS: usize = 4096;

struct PeerState {
    gate: Gate,
    addresses: HashSet<Multiaddr>,
    latency: Option<Duration>,
    last_sync: Option<Instant>,
    faults: u32,
    rate: RateWindow,
}

impl PeerState {
    fn new() -> Self {
        Self {
            gate: Gate::Pending,
            addresses: HashSet::new(),
            latency: None,
            last_sync: None,
            faults: 0,
            rate: RateWindow::new(Instant::now()),
        }
    }
}

/// Builds the swarm and starts the event loop on the current runtime.
pub async fn start(
    config: &Config,
    keypair: Keypair,
    network: NetworkId,
    core: CoreHandle,
    outputs: mpsc::Receiver<NetworkOutput>,
) -> Result<NetworkHandle> {
    let local_peer_id = keypair.public().to_peer_id();
    let topic = topic(&network);
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(config.heartbeat)
        .mesh_n(config.mesh_n)
        .mesh_n_low(config.mesh_n_low)
        .mesh_n_high(config.mesh_n_high)
        .mesh_outbound_min(
            config.mesh_n_low.min(config.mesh_n / 2).max(1).min(config.mesh_n_low.saturating_sub(1).max(1)),
        )
        .max_transmit_size(config.max_message_bytes)
        // No gossipsub-level signatures (StrictNoSign): every update is signed end to end by
        // its author, and peers are judged by the propagation source, which noise
        // authenticates. Verifying a node signature on every copy received, duplicates
        // included, cost each node an ed25519 check per copy on its runtime thread.
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(blake3::hash(&m.data).as_bytes().to_vec()))
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
    gossipsub
        .with_peer_score(score_params(&topic.hash()), score_thresholds())
        .map_err(|e| anyhow::anyhow!("peer scoring: {e}"))?;
    gossipsub.subscribe(&topic).map_err(|e| anyhow::anyhow!("subscribing to {topic}: {e}"))?;

    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.max_connections))
        .with_max_established_per_peer(Some(config.max_connections_per_peer))
        .with_max_pending_incoming(Some(config.max_connections / 2 + 1));
    let request_timeout = Duration::from_secs(30);
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .context("TCP transport")?
        .with_quic()
        // `/dns4/…`, `/dns6/…` and `/dns/…` addresses resolve through the system's resolver.
        .with_dns()
        .context("DNS resolution (reading the system's resolver configuration)")?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let mut kad = kad::Behaviour::new(peer_id, MemoryStore::new(peer_id));
            kad.set_mode(Some(kad::Mode::Server));
            Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                memory: memory_connection_limits::Behaviour::with_max_percentage(0.9),
                gossipsub,
                identify: identify::Behaviour::new(identify::Config::new(
                    "/orbital-commons/1.0.0".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::new(
                    ping::Config::new().with_interval(PING_INTERVAL).with_timeout(PING_TIMEOUT),
                ),
                handshake: request_response::cbor::Behaviour::new(
                    [(StreamProtocol::new(HANDSHAKE_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(request_timeout),
                ),
                sync: request_response::cbor::Behaviour::with_codec(
                    request_response::cbor::codec::Codec::default()
                        .set_request_size_maximum(MAX_SYNC_REQUEST_BYTES as u64 + 1024)
                        .set_response_size_maximum(MAX_SYNC_RESPONSE_BYTES as u64 + 1024),
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(request_timeout),
                ),
                kad,
            }
        })
        .map_err(|e| anyhow::anyhow!("network behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    for addr in &config.listen {
        swarm.listen_on(addr.clone()).with_context(|| format!("cannot listen on {addr}"))?;
    }
    let mut bootstrap = HashSet::new();
    for addr in &config.bootstrap {
        if let Some(peer) = peer_of(addr) {
            bootstrap.insert(peer);
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        swarm.dial(addr.clone()).with_context(|| format!("cannot dial bootstrap peer {addr}"))?;
    }
    let (tx, rx) = mpsc::channel(NET_COMMAND_QUEUE);
    let (internal_tx, internal_rx) = mpsc::channel(INTERNAL_QUEUE);
    let event_loop = EventLoop {
        swarm,
        topic,
        local_peer_id,
        core,
        commands: rx,
        outputs,
        internal_tx,
        internal_rx,
        peers: HashMap::new(),
        bootstrap,
        bootstrap_addrs: config.bootstrap.clone(),
        target_peers: config.target_peers as usize,
        allow_observers: config.allow_observers,
        blocked: HashMap::new(),
        known_addrs: HashMap::new(),
        pending_sync: HashMap::new(),
        sync_interval: config.sync_interval,
        sync_rounds: 0,
        max_per_peer_per_s: config.max_updates_per_peer_per_s,
        max_per_author_per_s: config.max_updates_per_author_per_s,
        author_rates: HashMap::new(),
        stats: NetStats::default(),
    };
    tokio::spawn(event_loop.run());
    Ok(NetworkHandle { tx, peer_id: local_peer_id })
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// Peer scoring for the updates topic: invalid messages weigh heavily; loopback is exempt from
/// the IP-colocation penalty (many nodes on one machine in tests and the simulator).
fn score_params(topic: &TopicHash) -> gossipsub::PeerScoreParams {
    let mut params = gossipsub::PeerScoreParams::default();
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.5,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        ..Default::default()
    };
    params.topics.insert(topic.clone(), topic_params);
    params.ip_colocation_factor_whitelist.insert(IpAddr::from([127, 0, 0, 1]));
    params.ip_colocation_factor_whitelist.insert(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]));
    params
}

/// How often a node short of peers (below `network.target_peers`) searches for more.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(60);

/// Below this gossip score a peer's messages are ignored, and the peer is disconnected.
const GRAYLIST_THRESHOLD: f64 = -80.0;

fn score_thresholds() -> gossipsub::PeerScoreThresholds {
    gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    }
}

#[derive(Debug, Default)]
struct NetStats {
    syncs_completed: u64,
    gossip_throttled: u64,
    last_sync: Option<Instant>,
    gossip_received: u64,
    gossip_published: u64,
    gossip_bytes: u64,
    sync_bytes: u64,
    reconcile_bytes: u64,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    local_peer_id: PeerId,
    core: CoreHandle,
    commands: mpsc::Receiver<NetCommand>,
    outputs: mpsc::Receiver<NetworkOutput>,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    peers: HashMap<PeerId, PeerState>,
    bootstrap: HashSet<PeerId>,
    bootstrap_addrs: Vec<Multiaddr>,
    /// Peers this node dials discovered peers up to (incoming connections may add more, up to
    /// `max_connections`).
    target_peers: usize,
    allow_observers: bool,
    blocked: HashMap<PeerId, Option<Instant>>,
    /// The last address each peer was reached at (to redial after a block is lifted).
    known_addrs: HashMap<PeerId, Multiaddr>,
    pending_sync: HashMap<OutboundRequestId, PeerId>,
    sync_interval: Duration,
    /// Anti-entropy rounds so far (drives the jitter and the tie-breaks).
    sync_rounds: u64,
    max_per_peer_per_s: u32,
    max_per_author_per_s: u32,
    author_rates: HashMap<AgencyId, RateWindow>,
    stats: NetStats,
}

fn to_peer(peer: &PeerId) -> Peer {
    Peer(peer.to_string())
}

impl EventLoop {
    async fn run(mut self) {
        let sync_timer = tokio::time::sleep(self.next_sync_delay());
        tokio::pin!(sync_timer);
        let kad_timer = tokio::time::sleep(self.next_discovery_delay());
        tokio::pin!(kad_timer);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
                Some(command) = self.commands.recv() => {
                    if matches!(command, NetCommand::Shutdown) {
                        return;
                    }
                    self.on_command(command);
                }
                Some(output) = self.outputs.recv() => self.on_output(output),
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                () = &mut sync_timer => {
                    self.sync_round();
                    sync_timer.as_mut().reset(tokio::time::Instant::now() + self.next_sync_delay());
                }
                () = &mut kad_timer => {
                    // Kademlia refreshes its table itself every 5 minutes; a node short of
                    // peers looks for more now. (A bootstrap walk opens streams to dozens of
                    // peers: done every minute by every node at once, it stalled a 100-node
                    // cluster's gossip for seconds.)
                    let connected = self.swarm.connected_peers().count();
                    if connected > 0 && connected < self.target_peers {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                    kad_timer.as_mut().reset(tokio::time::Instant::now() + self.next_discovery_delay());
                }
            }
        }
    }

    fn is_blocked(&mut self, peer: &PeerId) -> bool {
        match self.blocked.get(peer) {
            Some(None) => true,
            Some(Some(until)) if Instant::now() < *until => true,
            Some(Some(_)) => {
                self.blocked.remove(peer);
                false
            }
            None => false,
        }
    }

    fn may_exchange(&self, peer: &PeerId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| matches!(p.gate, Gate::Admitted(_) | Gate::Bootstrap | Gate::Observer))
    }

    fn is_member(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|p| matches!(p.gate, Gate::Admitted(_) | Gate::Bootstrap))
    }

    fn start_sync(&self, peer: &PeerId) {
        let _ = self.core.try_send(Command::Network(NetworkInput::SyncStart { peer: to_peer(peer) }));
    }

    /// A hash of this node, the round and `salt`: nodes started together drift apart instead
    /// of syncing in step, and each picks among equally stale peers in its own order.
    fn round_hash(&self, salt: &[u8]) -> u64 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.local_peer_id.to_bytes());
        hasher.update(&self.sync_rounds.to_le_bytes());
        hasher.update(salt);
        let bytes: [u8; 8] = hasher.finalize().as_bytes()[..8].try_into().unwrap_or_default();
        u64::from_le_bytes(bytes)
    }

    /// Time to the next check for too few peers: a minute ±25 %, drawn per node and round
    /// so that nodes started together do not search together.
    fn next_discovery_delay(&self) -> Duration {
        let fraction = (self.round_hash(b"discovery") >> 11) as f64 / (1u64 << 53) as f64;
        DISCOVERY_INTERVAL.mul_f64(0.75 + 0.5 * fraction)
    }

    /// The wait before the next anti-entropy round: the interval, ±25 %.
    fn next_sync_delay(&self) -> Duration {
        let fraction = (self.round_hash(b"delay") >> 11) as f64 / (1u64 << 53) as f64;
        self.sync_interval.mul_f64(0.75 + 0.5 * fraction)
    }

    /// One anti-entropy round: bans graylisted peers, redials missing bootstrap peers, and
    /// syncs with the members [`protocol::sync::peers_to_sync`] picks.
    fn sync_round(&mut self) {
        self.sync_rounds += 1;
        // Peers whose gossip score fell below the graylist (invalid messages, floods) are
        // already ignored by gossipsub; disconnect them too, for the ban period.
        let graylisted: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|p| {
                self.swarm.behaviour().gossipsub.peer_score(p).is_some_and(|s| s < GRAYLIST_THRESHOLD)
            })
            .copied()
            .collect();
        for peer in graylisted {
            tracing::warn!(%peer, "gossip score below the graylist: disconnecting");
            self.ban(peer);
        }
        // Bootstrap peers that are not connected (refused earlier, restarted, partitioned)
        // are dialled again: admission may have changed since.
        for addr in self.bootstrap_addrs.clone() {
            if let Some(peer) = peer_of(&addr) {
                if !self.swarm.is_connected(&peer) && !self.is_blocked(&peer) {
                    let _ = self.swarm.dial(addr);
                }
            }
        }
        let members = self
            .peers
            .iter()
            .filter(|(p, _)| self.is_member(p))
            .map(|(p, state)| (state.last_sync, self.round_hash(&p.to_bytes()), *p));
        for peer in protocol::sync::peers_to_sync(members) {
            self.start_sync(&peer);
        }
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                if self.is_blocked(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                let state = self.peers.entry(peer_id).or_insert_with(PeerState::new);
                state.addresses.insert(endpoint.get_remote_address().clone());
                if state.gate == Gate::Pending && self.bootstrap.contains(&peer_id) {
                    state.gate = Gate::Bootstrap;
                }
                self.known_addrs.insert(peer_id, endpoint.get_remote_address().clone());
                tracing::debug!(peer = %peer_id, "connected; handshaking");
                self.request_handshake(peer_id);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.peers.remove(&peer_id);
                let _ = self.core.try_send(Command::Network(NetworkInput::SyncFailed {
                    peer: to_peer(&peer_id),
                    reason: "disconnected".into(),
                }));
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event).await,
            _ => {}
        }
    }

    /// Fetches our statements from the engine (without blocking the loop) and sends our
    /// handshake to a peer, or answers its handshake request.
    fn with_statements(&self, then: impl FnOnce(Vec<Vec<u8>>) -> Internal + Send + 'static) {
        let (reply, rx) = oneshot::channel();
        let own_peer_id = self.local_peer_id.to_bytes();
        let core = self.core.clone();
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            if core.send(Command::HandshakeStatements { own_peer_id, reply }).await.is_ok() {
                let statements = rx.await.unwrap_or_default();
                let _ = internal.send(then(statements)).await;
            }
        });
    }

    fn request_handshake(&self, peer: PeerId) {
        self.with_statements(move |statements| Internal::SendHandshake { peer, statements });
    }

    fn topic_network_bytes(&self) -> Vec<u8> {
        self.topic.hash().as_str().as_bytes().to_vec()
    }

    /// Asks the engine to gate a peer on what it presented; the answer comes back as
    /// `Internal::Gated`.
    fn gate(&self, peer: PeerId, handshake: Handshake) {
        if handshake.network_id.as_ref() != self.topic_network_bytes().as_slice() {
            let internal = self.internal_tx.clone();
            tokio::spawn(async move {
                let _ = internal.send(Internal::Gated { peer, agency: None }).await;
            });
            return;
        }
        let presented = handshake.statements.into_iter().map(ByteBuf::into_vec).collect();
        let (reply, rx) = oneshot::channel();
        let core = self.core.clone();
        let internal = self.internal_tx.clone();
        // Waits for room in the engine's queue rather than dropping: a handshake that is never
        // answered would leave the peer pending for good.
        tokio::spawn(async move {
            if core.send(Command::Gate { peer_id: peer.to_bytes(), presented, reply }).await.is_err() {
                return;
            }
            let agency = rx.await.ok().flatten();
            let _ = internal.send(Internal::Gated { peer, agency }).await;
        });
    }

    async fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Handshake(request_response::Event::Message { peer, message, .. }) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        self.gate(peer, request);
                        self.with_statements(move |statements| Internal::HandshakeAnswer {
                            channel,
                            statements,
                        });
                    }
                    request_response::Message::Response { response, .. } => self.gate(peer, response),
                }
            }
            BehaviourEvent::Handshake(request_response::Event::OutboundFailure { peer, error, .. }) => {
                tracing::debug!(%peer, %error, "handshake failed");
            }
            BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. }) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    self.on_sync_request(peer, request, channel)
                }
                request_response::Message::Response { request_id, response } => {
                    self.pending_sync.remove(&request_id);
                    self.stats.sync_bytes += response.0.len() as u64;
                    let input = match SyncResponse::from_bytes(&response.0) {
                        Ok(response) => NetworkInput::SyncResponse { peer: to_peer(&peer), response },
                        Err(e) => {
                            self.fault(peer, &format!("malformed sync answer: {e}"));
                            NetworkInput::SyncFailed { peer: to_peer(&peer), reason: e }
                        }
                    };
                    let _ = self.core.send(Command::Network(input)).await;
                }
            },
            BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            }) => {
                self.pending_sync.remove(&request_id);
                let _ = self
                    .core
                    .send(Command::Network(NetworkInput::SyncFailed {
                        peer: to_peer(&peer),
                        reason: error.to_string(),
                    }))
                    .await;
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                self.on_gossip(propagation_source, message_id, message);
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                for addr in info.listen_addrs {
                    if let Some(state) = self.peers.get_mut(&peer_id) {
                        state.addresses.insert(addr.clone());
                    }
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            BehaviourEvent::Ping(ping::Event { peer, result: Ok(rtt), .. }) => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.latency = Some(rtt);
                }
            }
            // A connection that stops answering pings is dead (a cut cable keeps a TCP
            // connection "open" for minutes): close it, so status, metrics and the mesh tell
            // the truth and the peer is redialled once reachable.
            // (A peer that does not serve ping at all is left alone: the failure is then
            // `Unsupported`, at once, and says nothing about the connection.)
            BehaviourEvent::Ping(ping::Event { peer, connection, result: Err(e) })
                if !matches!(e, ping::Failure::Unsupported) =>
            {
                tracing::info!(peer = %peer, error = %e, "peer stopped answering pings; closing the connection");
                self.swarm.close_connection(connection);
            }
            // Peers found by Kademlia are dialled only while this node has fewer than its
            // target: enough for a connected gossip mesh and sync partners, without every
            // node of a large network connecting to every other.
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, addresses, .. })
                if !self.swarm.is_connected(&peer)
                    && peer != self.local_peer_id
                    && !self.is_blocked(&peer)
                    && self.swarm.connected_peers().count() < self.target_peers =>
            {
                let _ = self.swarm.dial(addresses.first().clone());
            }
            _ => {}
        }
    }

    /// Answers a sync request, counting the bytes.
    fn send_sync_response(&mut self, channel: ResponseChannel<SyncBytes>, response: &SyncResponse) {
        let bytes = response.to_bytes();
        self.stats.sync_bytes += bytes.len() as u64;
        let _ = self.swarm.behaviour_mut().sync.send_response(channel, SyncBytes(ByteBuf::from(bytes)));
    }

    fn on_sync_request(&mut self, peer: PeerId, request: SyncBytes, channel: ResponseChannel<SyncBytes>) {
        self.stats.sync_bytes += request.0.len() as u64;
        if !self.may_exchange(&peer) {
            let refused =
                SyncResponse::Refused("not admitted: complete the handshake as a member first".into());
            self.send_sync_response(channel, &refused);
            return;
        }
        let request = match SyncRequest::from_bytes(&request.0) {
            Ok(r) => r,
            Err(e) => {
                self.fault(peer, &format!("malformed sync request: {e}"));
                let refused = SyncResponse::Refused(format!("malformed request: {e}"));
                self.send_sync_response(channel, &refused);
                return;
            }
        };
        let (reply, rx) = oneshot::channel();
        if !self.core.try_send(Command::Network(NetworkInput::SyncRequest { request, reply })) {
            let busy = SyncResponse::Refused("busy: try again later".into());
            self.send_sync_response(channel, &busy);
            return;
        }
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let response = rx.await.unwrap_or(SyncResponse::Refused("the node is stopping".into()));
            let _ = internal.send(Internal::SyncAnswer { channel, response }).await;
        });
    }

    fn on_gossip(&mut self, source: PeerId, message_id: MessageId, message: gossipsub::Message) {
        self.stats.gossip_received += 1;
        self.stats.gossip_bytes += message.data.len() as u64;
        let verdict_ignore = |s: &mut Self| {
            s.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                &message_id,
                &source,
                MessageAcceptance::Ignore,
            );
        };
        // Gossip from non-members is ignored: not forwarded, not penalised.
        if !self.is_member(&source) {
            verdict_ignore(self);
            return;
        }
        // Per-peer and per-author rate limits: over either, messages are ignored (not
        // forwarded, not validated). An honest bulk import bursts too, so the rate alone never
        // bans or penalises; what was ignored arrives by sync. Invalid floods are scored down
        // by their rejections and then disconnected.
        let now = Instant::now();
        let limit = self.max_per_peer_per_s;
        let peer_over = self.peers.get_mut(&source).is_some_and(|state| !state.rate.admit(now, limit));
        if peer_over || !self.author_admits(&message.data, now) {
            self.stats.gossip_throttled += 1;
            verdict_ignore(self);
            return;
        }
        let input = NetworkInput::Gossip {
            from: to_peer(&source),
            message_id: message_id.0.clone(),
            bytes: message.data,
        };
        if !self.core.try_send(Command::Network(input)) {
            // The validation queue is full: anti-entropy will deliver it later.
            verdict_ignore(self);
        }
    }

    /// Counts a gossiped update against its author's rate; whether it is within it. Bytes
    /// that do not decode pass, for the engine to reject (and penalise their sender).
    fn author_admits(&mut self, bytes: &[u8], now: Instant) -> bool {
        let Ok(envelope) = protocol::codec::decode::<Envelope>(bytes) else { return true };
        if self.author_rates.len() >= MAX_TRACKED_AUTHORS {
            self.author_rates.retain(|_, rate| rate.is_current(now));
            if self.author_rates.len() >= MAX_TRACKED_AUTHORS {
                self.author_rates.clear();
            }
        }
        self.author_rates
            .entry(envelope.header.header.author)
            .or_insert_with(|| RateWindow::new(now))
            .admit(now, self.max_per_author_per_s)
    }

    fn fault(&mut self, peer: PeerId, reason: &str) {
        tracing::info!(%peer, %reason, "peer fault");
        let faults = self.peers.get_mut(&peer).map_or(0, |s| {
            s.faults += 1;
            s.faults
        });
        if faults >= MAX_FAULTS {
            self.ban(peer);
        }
    }

    fn ban(&mut self, peer: PeerId) {
        self.blocked.insert(peer, Some(Instant::now() + BAN_DURATION));
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Gated { peer, agency } => self.on_gated(peer, agency),
            Internal::SyncAnswer { channel, response } => self.send_sync_response(channel, &response),
            Internal::SendHandshake { peer, statements } => {
                let handshake = Handshake {
                    network_id: ByteBuf::from(self.topic_network_bytes()),
                    statements: statements.into_iter().map(ByteBuf::from).collect(),
                };
                self.swarm.behaviour_mut().handshake.send_request(&peer, handshake);
            }
            Internal::HandshakeAnswer { channel, statements } => {
                let handshake = Handshake {
                    network_id: ByteBuf::from(self.topic_network_bytes()),
                    statements: statements.into_iter().map(ByteBuf::from).collect(),
                };
                let _ = self.swarm.behaviour_mut().handshake.send_response(channel, handshake);
            }
        }
    }

    fn on_gated(&mut self, peer: PeerId, agency: Option<AgencyId>) {
        let Some(state) = self.peers.get_mut(&peer) else { return };
        let was_member = matches!(state.gate, Gate::Admitted(_));
        state.gate = match (agency, state.gate) {
            (Some(agency), _) => Gate::Admitted(agency),
            (None, Gate::Bootstrap) if state.last_sync.is_none() => Gate::Bootstrap,
            (None, _) if self.allow_observers => Gate::Observer,
            (None, _) => {
                tracing::info!(%peer, "refused: its peer id is not in the newest binding of an admitted agency");
                let _ = self.swarm.disconnect_peer_id(peer);
                return;
            }
        };
        if !was_member && self.is_member(&peer) {
            tracing::info!(%peer, agency = ?agency.map(|a| a.short()), "peer admitted");
            self.start_sync(&peer);
        }
    }

    fn on_command(&mut self, command: NetCommand) {
        match command {
            NetCommand::Status { reply } => {
                let mesh_size = self.swarm.behaviour().gossipsub.mesh_peers(&self.topic.hash()).count();
                let _ = reply.send(NetworkStatus {
                    peer_id: self.local_peer_id.to_string(),
                    listen_addrs: self.swarm.listeners().map(ToString::to_string).collect(),
                    connected: self.swarm.connected_peers().count(),
                    admitted: self.peers.values().filter(|p| matches!(p.gate, Gate::Admitted(_))).count(),
                    mesh_size,
                    syncs_completed: self.stats.syncs_completed,
                    last_sync: self
                        .stats
                        .last_sync
                        .map(|t| format!("{:.1} s ago", t.elapsed().as_secs_f64())),
                    gossip_received: self.stats.gossip_received,
                    gossip_published: self.stats.gossip_published,
                    gossip_bytes: self.stats.gossip_bytes,
                    gossip_throttled: self.stats.gossip_throttled,
                    sync_bytes: self.stats.sync_bytes,
                    reconcile_bytes: self.stats.reconcile_bytes,
                });
            }
            NetCommand::Peers { reply } => {
                let gossipsub = &self.swarm.behaviour().gossipsub;
                let mut peers: Vec<PeerInfo> = self
                    .peers
                    .iter()
                    .map(|(id, s)| PeerInfo {
                        peer_id: id.to_string(),
                        agency: match s.gate {
                            Gate::Admitted(a) => Some(a),
                            _ => None,
                        },
                        state: match s.gate {
                            Gate::Admitted(_) => "admitted",
                            Gate::Pending => "pending",
                            Gate::Bootstrap => "bootstrap",
                            Gate::Observer => "observer",
                        },
                        addresses: s.addresses.iter().map(ToString::to_string).collect(),
                        score: gossipsub.peer_score(id),
                        latency_ms: s.latency.map(|d| d.as_secs_f64() * 1000.0),
                        last_sync: s.last_sync.map(|t| format!("{:.1} s ago", t.elapsed().as_secs_f64())),
                    })
                    .collect();
                peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
                let _ = reply.send(peers);
            }
            NetCommand::Dial { addr } => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, error = %e, "dial failed");
                }
            }
            NetCommand::Block { peer, blocked } => {
                if blocked {
                    self.blocked.insert(peer, None);
                    let _ = self.swarm.disconnect_peer_id(peer);
                } else {
                    self.blocked.remove(&peer);
                    if let Some(addr) = self.known_addrs.get(&peer).cloned() {
                        let _ = self.swarm.dial(addr);
                    }
                }
            }
            NetCommand::PublishRaw { bytes } => self.on_output(NetworkOutput::Publish(bytes)),
            NetCommand::Shutdown => {}
        }
    }

    fn on_output(&mut self, output: NetworkOutput) {
        match output {
            NetworkOutput::Publish(bytes) => {
                let topic = self.topic.clone();
                let len = bytes.len();
                match self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    Ok(_) => {
                        self.stats.gossip_published += 1;
                        self.stats.gossip_bytes += len as u64;
                    }
                    // Normal: no peers yet, or the same bytes again. Anti-entropy delivers.
                    Err(e) => tracing::debug!(error = %e, "publish not sent"),
                }
            }
            NetworkOutput::Verdict { from, message_id, verdict } => {
                let Ok(peer) = from.0.parse::<PeerId>() else { return };
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                    Verdict::Reject => MessageAcceptance::Reject,
                };
                // A rejected message also comes as `Penalise`, which counts the fault once.
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &MessageId(message_id),
                    &peer,
                    acceptance,
                );
            }
            NetworkOutput::Penalise { peer, reason } => {
                if let Ok(peer) = peer.0.parse::<PeerId>() {
                    self.fault(peer, &reason);
                }
            }
            NetworkOutput::SendSync { peer, request } => {
                let Ok(peer_id) = peer.0.parse::<PeerId>() else { return };
                let bytes = request.to_bytes();
                self.stats.sync_bytes += bytes.len() as u64;
                let id =
                    self.swarm.behaviour_mut().sync.send_request(&peer_id, SyncBytes(ByteBuf::from(bytes)));
                self.pending_sync.insert(id, peer_id);
            }
            NetworkOutput::SyncFinished { peer, report } => {
                let Ok(peer_id) = peer.0.parse::<PeerId>() else { return };
                if report.aborted.is_none() {
                    self.stats.syncs_completed += 1;
                    self.stats.reconcile_bytes += report.reconcile_bytes as u64;
                    self.stats.last_sync = Some(Instant::now());
                    if let Some(state) = self.peers.get_mut(&peer_id) {
                        state.last_sync = Some(Instant::now());
                        if state.gate == Gate::Bootstrap {
                            // Exempt only until the first sync: now gate it like anyone.
                            state.gate = Gate::Pending;
                            self.request_handshake(peer_id);
                        }
                    }
                    tracing::debug!(peer = %peer_id, headers = report.headers_fetched, bodies = report.bodies_fetched, in_sync = report.already_in_sync, "sync finished");
                } else {
                    tracing::debug!(peer = %peer_id, reason = ?report.aborted, "sync aborted");
                }
            }
            NetworkOutput::MembershipChanged => {
                // Re-gate every connected peer against the new membership.
                let peers: Vec<PeerId> = self.peers.keys().copied().collect();
                for peer in peers {
                    self.request_handshake(peer);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_window_admits_its_limit_then_refuses_until_the_next_second() {
        let t0 = Instant::now();
        let mut window = RateWindow::new(t0);
        assert!((0..3).all(|_| window.admit(t0, 3)));
        assert!(!window.admit(t0 + Duration::from_millis(999), 3));
        assert!(window.is_current(t0 + Duration::from_millis(999)));
        assert!(!window.is_current(t0 + Duration::from_secs(1)));
        assert!(window.admit(t0 + Duration::from_secs(1), 3), "a new window starts empty");
        assert!((0..2).all(|_| window.admit(t0 + Duration::from_secs(1), 3)));
        assert!(!window.admit(t0 + Duration::from_millis(1500), 3));
    }
}
