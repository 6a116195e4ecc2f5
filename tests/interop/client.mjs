// An Orbital Commons client on js-libp2p, written from protocol/SPEC.md. It:
//   1. checks the golden vectors (vectors.mjs);
//   2. connects to a node over TCP + noise + yamux, with identify and gossipsub;
//   3. passes the gating handshake (/orbital-commons/handshake/1) with its own signed
//      NodeBinding, and confirms its admission over /orbital-commons/sync/1 (FetchHeaders of
//      its binding: a node refuses sync to peers that have not passed the handshake);
//   4. receives a signed update that the node publishes on the network topic, and verifies it;
//   5. publishes an OrbitEstimate it signed itself, for the same object, in the canonical
//      encoding, and confirms over sync (FetchHeaders, FetchBodies) that the node stored it.
//
// Usage: INTEROP_AGENCY_SEED=<64 hex> node client.mjs --peer <multiaddr with /p2p/> \
//          --genesis <genesis.json> [--vectors <updates.json>] [--timeout-ms 90000]
//
// Progress goes to stdout as one JSON object per line ("event": vectors, connected,
// handshake, admitted, ready, received, published, stored, done, or error); logs to stderr.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import * as w from './wire.mjs'
import { checkVectors } from './vectors.mjs'

const { values: args } = parseArgs({
  options: {
    peer: { type: 'string' },
    genesis: { type: 'string' },
    vectors: { type: 'string' },
    'timeout-ms': { type: 'string', default: '90000' }
  }
})

function emit (event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

function log (...parts) {
  process.stderr.write(`[interop ${new Date().toISOString()}] ${parts.join(' ')}\n`)
}

function fail (message) {
  emit('error', { message })
  log('error:', message)
  process.exit(1)
}

const deadline = Date.now() + Number(args['timeout-ms'])
const overall = setTimeout(() => fail(`timed out after ${args['timeout-ms']} ms`), Number(args['timeout-ms']))
overall.unref()

/** Polls `probe` until it returns a value other than undefined, or fails with `what`. */
async function waitFor (what, probe, intervalMs = 100) {
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const nowMicros = () => BigInt(Date.now()) * 1000n

/**
 * Reads a stream to its end (the remote closed its writing side), at most `limit` bytes.
 * Event-based, checking `readableEnded`: the node writes its whole request and closes its
 * side at once, so its data and its close may both be queued before a handler starts reading.
 */
function readAll (stream, limit) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let n = 0
    let settled = false
    const done = (err) => {
      if (settled) return
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      if (err) reject(err instanceof Error ? err : new Error(`stream ${err.type ?? err}`))
      else resolve(w.concat(...chunks))
    }
    const onMessage = (event) => {
      const bytes = event.data.subarray()
      n += bytes.length
      if (n > limit) return done(new Error(`message over ${limit} bytes`))
      chunks.push(bytes)
      if (stream.readableEnded && stream.readBufferLength === 0) done()
    }
    const onEnd = () => { if (stream.readBufferLength === 0) done() }
    const onClose = (event) => {
      if (event.error) done(event.error)
      else if (stream.readBufferLength === 0) done()
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    if (stream.readableEnded && stream.readBufferLength === 0) done()
  })
}

/**
 * One request-response exchange as the libp2p cbor codec does it (SPEC §4): write one CBOR
 * value, close our writing side, read the answer to its end.
 */
async function request (node, peer, protocol, value, limit) {
  const stream = await node.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(30000) })
  const reading = readAll(stream, limit)
  stream.send(w.cborEncode(value))
  await stream.close()
  const answer = await reading
  if (answer.length === 0) throw new Error(`${protocol}: the node closed the stream without answering (refused?)`)
  return w.cborDecode(answer)
}

/** A sync request (bincode bytes inside a CBOR byte string) and its decoded answer. */
async function sync (node, peer, requestBytes) {
  const answer = await request(node, peer, w.SYNC_PROTOCOL, requestBytes, w.MAX_SYNC_RESPONSE_BYTES + 1024)
  if (!(answer instanceof Uint8Array)) throw new Error('a sync answer must be a CBOR byte string')
  return w.decodeSyncResponse(answer)
}

async function main () {
  if (!args.peer || !args.genesis) fail('usage: client.mjs --peer <multiaddr/p2p/id> --genesis <genesis.json>')
  const seedHex = process.env.INTEROP_AGENCY_SEED
  if (!seedHex || seedHex.length !== 64) fail('INTEROP_AGENCY_SEED must hold the agency seed as 64 hex digits')

  // 1. The golden vectors: if this encoder disagrees with them, nothing below can work.
  emit('vectors', { checks: await checkVectors(args.vectors) })

  // The network: genesis → network id → topic (SPEC §3, §4).
  const genesis = w.genesisFromJson(JSON.parse(readFileSync(args.genesis, 'utf8')))
  const networkId = w.networkIdOf(genesis)
  const topic = w.topicOf(networkId)
  const topicBytes = new TextEncoder().encode(topic)
  const seed = w.unhex(seedHex)
  const agency = await w.publicKeyOf(seed)
  if (!genesis.founders.some((f) => w.equalBytes(f.agency, agency))) log('note: this agency is not a founder')

  const target = multiaddr(args.peer)
  const nodePeerText = target.getComponents().find((c) => c.name === 'p2p')?.value
  if (!nodePeerText) fail('--peer must end in /p2p/<peer id>')

  // 2. A js-libp2p node: TCP + noise + yamux, identify, gossipsub with the network's rules.
  const node = await createLibp2p({
    addresses: { listen: [] },
    // Ping (/ipfs/ping/1.0.0) is served: the node pings every connection and closes one whose
    // ping fails, and rust-libp2p's ping stops answering inbound pings on a connection where
    // the remote proved not to serve ping. js-libp2p's own connection monitor (which aborts a
    // connection on one slow ping) is off: on a loaded 2-core CI machine it only adds flakes,
    // and the node's pings already decide liveness.
    connectionMonitor: { enabled: false },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign', // SPEC §4: no from, seqno, signature or key
        msgIdFn: (msg) => w.hash(msg.data), // message id = the 32 bytes of blake3(data)
        emitSelf: false,
        allowPublishToZeroTopicPeers: false
      })
    }
  })
  // SPEC §4 names the identify protocol version; js-libp2p derives it from a prefix that also
  // names the identify protocol itself, so it is set on the running service.
  if (node.services.identify?.host) node.services.identify.host.protocolVersion = w.IDENTIFY_PROTOCOL_VERSION
  const peerIdBytes = node.peerId.toMultihash().bytes
  log('peer id', node.peerId.toString(), 'agency', w.hex(agency), 'topic', topic)

  // Our NodeBinding: this node's peer id (multihash bytes), signed by the agency key.
  const binding = await w.signUpdate({
    seed,
    networkId,
    seq: nowMicros(),
    record: { kind: 'node_binding', peer_ids: [peerIdBytes] }
  })
  const ourHandshake = { network_id: topicBytes, statements: [binding.bytes] }

  // Answer the node's handshake request with the same statements.
  const presentedByNode = []
  await node.handle(w.HANDSHAKE_PROTOCOL, async (stream) => {
    try {
      const theirs = w.cborDecode(await readAll(stream, 4 * 1024 * 1024))
      if (!(theirs.network_id instanceof Uint8Array) || !w.equalBytes(theirs.network_id, topicBytes)) {
        throw new Error('the node\'s handshake request names another network')
      }
      presentedByNode.push(theirs)
      stream.send(w.cborEncode(ourHandshake))
      await stream.close()
    } catch (e) {
      log('inbound handshake failed:', e.message)
      stream.abort(e)
    }
  })
  // This client keeps no state: it refuses the node's anti-entropy requests politely.
  await node.handle(w.SYNC_PROTOCOL, async (stream) => {
    try {
      await readAll(stream, 1024 * 1024 + 1024)
      stream.send(w.cborEncode(w.encodeRefused('the interop client keeps no state')))
      await stream.close()
    } catch (e) {
      stream.abort(e)
    }
  })

  // Everything that arrives on the topic, verified as a receiver must (SPEC §2).
  const received = []
  const pubsub = node.services.pubsub
  pubsub.addEventListener('message', async (event) => {
    const msg = event.detail
    if (msg.topic !== topic) return
    try {
      const { envelope, id } = await w.verifyEnvelopeBytes(msg.data, networkId)
      const record = w.decodeRecord(envelope.body)
      const h = envelope.header.header
      received.push({ envelope, id, record, bytes: msg.data })
      emit('received', {
        update_id: w.hex(id),
        author: w.hex(h.author),
        kind: record.kind,
        object: record.object?.norad ?? null,
        from: msg.from?.toString(),
        envelope_hex: w.hex(msg.data)
      })
    } catch (e) {
      emit('received_invalid', { message: e.message })
    }
  })
  pubsub.subscribe(topic)

  // Connect; noise authenticates the node's peer id.
  const connection = await node.dial(target, { signal: AbortSignal.timeout(20000) })
  const nodePeer = connection.remotePeer
  if (nodePeer.toString() !== nodePeerText) fail(`dialled ${nodePeerText} but reached ${nodePeer}`)
  emit('connected', { peer_id: node.peerId.toString(), node: nodePeer.toString() })

  // 3. Our handshake request; the node's answer carries its own statements.
  const answer = await request(node, nodePeer, w.HANDSHAKE_PROTOCOL, ourHandshake, 4 * 1024 * 1024)
  if (!(answer.network_id instanceof Uint8Array) || !w.equalBytes(answer.network_id, topicBytes)) {
    fail(`the node answered the handshake for another network: ${JSON.stringify(answer.network_id)}`)
  }
  if (!Array.isArray(answer.statements)) fail('the handshake answer has no statements list')
  const statements = []
  for (const bytes of answer.statements) {
    const { envelope, id } = await w.verifyEnvelopeBytes(bytes, networkId)
    statements.push({ kind: w.KINDS[envelope.header.header.kind], update_id: w.hex(id) })
  }
  emit('handshake', { node_statements: statements, binding_id: w.hex(binding.id) })

  // Admission: the node serves sync only to admitted peers, and the binding we presented is
  // in its state once it has gated us.
  await waitFor('admission (our binding served back over sync)', async () => {
    const response = await sync(node, nodePeer, w.encodeFetch(w.SyncRequest.FetchHeaders, [binding.id]))
    if (response.kind === 'refused') {
      log('sync refused (not admitted yet?):', response.reason)
      return undefined
    }
    if (response.kind !== 'headers') throw new Error(`FetchHeaders answered with ${response.kind}`)
    return response.headers.some((s) => w.equalBytes(w.updateId(s), binding.id)) ? true : undefined
  }, 200)
  emit('admitted', { binding_id: w.hex(binding.id) })

  // Each side sends a request (SPEC §4): the node's must reach us, and be answered.
  await waitFor('the node\'s own handshake request', () => presentedByNode.length > 0 ? true : undefined)

  // The node must know we subscribed before it publishes, or its update would miss us.
  await waitFor('the node on our topic', () =>
    pubsub.getSubscribers(topic).some((p) => p.equals(nodePeer)) ? true : undefined)
  emit('ready', {
    peer_id: node.peerId.toString(),
    agency: w.hex(agency),
    binding_id: w.hex(binding.id),
    node_handshake_requests: presentedByNode.length
  })

  // 4. An orbit estimate signed by the node's agency.
  const theirs = await waitFor('an orbit estimate from the node', () =>
    received.find((u) => u.record.kind === 'orbit_estimate' && !w.equalBytes(u.envelope.header.header.author, agency)))

  // 5. Our own estimate of the same object at the same epoch, in the canonical encoding.
  const record = {
    ...theirs.record,
    mean_anomaly_deg: (theirs.record.mean_anomaly_deg + 0.01) % 360,
    element_set_no: (theirs.record.element_set_no + 1) % 1000,
    covariance: null,
    quality: { rms_km: 0.5, n_observations: 12, span_days: 1.5 },
    source: 'js-libp2p interop client'
  }
  const seq = nowMicros() > binding.envelope.header.header.seq ? nowMicros() : binding.envelope.header.header.seq + 1n
  const ours = await w.signUpdate({ seed, networkId, seq, prev: binding.id, record })
  await w.verifyEnvelopeBytes(ours.bytes, networkId)
  const published = await pubsub.publish(topic, ours.bytes)
  const recipients = published.recipients.map(String)
  if (!recipients.includes(nodePeer.toString())) fail(`published to ${recipients}, not to the node`)
  emit('published', {
    update_id: w.hex(ours.id),
    object: record.object.norad ?? null,
    envelope_hex: w.hex(ours.bytes),
    recipients
  })

  // The node stored it: its header, then its body, served back over sync.
  await waitFor('our update in the node\'s state', async () => {
    const response = await sync(node, nodePeer, w.encodeFetch(w.SyncRequest.FetchHeaders, [ours.id]))
    if (response.kind !== 'headers') throw new Error(`FetchHeaders answered with ${response.kind}`)
    return response.headers.some((s) => w.equalBytes(w.updateId(s), ours.id)) ? true : undefined
  }, 200)
  const bodies = await sync(node, nodePeer, w.encodeFetch(w.SyncRequest.FetchBodies, [ours.id]))
  if (bodies.kind !== 'bodies') fail(`FetchBodies answered with ${bodies.kind}`)
  const body = bodies.bodies.find((b) => w.equalBytes(b.id, ours.id))
  if (!body || !w.equalBytes(body.body, ours.envelope.body)) fail('the node does not serve our body back unchanged')
  emit('stored', { update_id: w.hex(ours.id) })

  await node.stop()
  emit('done')
}

const describe = (e) => e?.stack ?? (e?.error?.stack) ?? `${e?.type ?? ''} ${String(e)}`
process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${describe(e)}`))
main().then(() => process.exit(0), (e) => fail(describe(e)))
