// The Orbital Commons wire format, written from protocol/SPEC.md: the canonical encoding
// (bincode 2, little-endian, fixed-width integers), headers, envelopes, records, the genesis,
// signatures and ids, and the CBOR framing of the request-response protocols.
//
// Byte strings are Uint8Array; u64 and i64 are BigInt; f64 are numbers.

import * as ed from '@noble/ed25519'
import { blake3 } from '@noble/hashes/blake3.js'

export const FORMAT_VERSION = 1
export const MAX_UPDATE_BYTES = 16384
export const MAX_TEXT_BYTES = 512
export const MAX_SEQ = (1n << 63n) - 1n
export const SIGNING_DOMAIN = new TextEncoder().encode('orbital-commons/update-header/v1')
export const HANDSHAKE_PROTOCOL = '/orbital-commons/handshake/1'
export const SYNC_PROTOCOL = '/orbital-commons/sync/1'
export const IDENTIFY_PROTOCOL_VERSION = '/orbital-commons/1.0.0'
export const MAX_SYNC_RESPONSE_BYTES = 10 * 1024 * 1024

export const KINDS = [
  'orbit_estimate', 'object_metadata', 'maneuver_notice', 'endorse', 'suspend', 'node_binding', 'retract'
]
export const Kind = Object.fromEntries(KINDS.map((k, i) => [k, i]))
const OBJECT_TYPES = ['payload', 'rocket_body', 'debris', 'unknown']
const COVARIANCE_FRAMES = ['RTN', 'TEME']

// ---------------------------------------------------------------- hex, base58, hashes

export function hex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

export function unhex (text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`not hex: ${String(text).slice(0, 40)}`)
  }
  return new Uint8Array(Buffer.from(text, 'hex'))
}

export function equalBytes (a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function hash (bytes) {
  return blake3(bytes)
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export function base58 (bytes) {
  let n = BigInt('0x' + (hex(bytes) || '0'))
  let out = ''
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = '1' + out
  }
  return out
}

// ---------------------------------------------------------------- bincode (SPEC §1)

export class Writer {
  constructor () {
    this.parts = []
  }

  raw (bytes) { this.parts.push(Uint8Array.from(bytes)); return this }
  u8 (v) { return this.int(v, 1) }
  u16 (v) { return this.int(v, 2) }
  u32 (v) { return this.int(v, 4) }
  int (v, width) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * width)) throw new Error(`u${8 * width} out of range: ${v}`)
    const b = new Uint8Array(width)
    for (let i = 0; i < width; i++) b[i] = Math.floor(v / 2 ** (8 * i)) & 0xff
    return this.raw(b)
  }

  u64 (v) {
    v = BigInt(v)
    if (v < 0n || v >= 1n << 64n) throw new Error(`u64 out of range: ${v}`)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, v, true)
    return this.raw(b)
  }

  i64 (v) {
    v = BigInt(v)
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new Error(`i64 out of range: ${v}`)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigInt64(0, v, true)
    return this.raw(b)
  }

  f64 (v) {
    if (typeof v !== 'number') throw new Error(`not an f64: ${v}`)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v, true)
    return this.raw(b)
  }

  bool (v) { return this.u8(v ? 1 : 0) }
  char (c) {
    if (typeof c !== 'string' || [...c].length !== 1) throw new Error(`not one char: ${c}`)
    return this.raw(new TextEncoder().encode(c))
  }

  fixed (bytes, n) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) throw new Error(`expected ${n} bytes`)
    return this.raw(bytes)
  }

  bytes (b) { return this.u64(b.length).raw(b) }
  string (s) { return this.bytes(new TextEncoder().encode(s)) }
  vec (items, each) {
    this.u64(items.length)
    for (const item of items) each(this, item)
    return this
  }

  option (v, each) {
    if (v === null || v === undefined) return this.u8(0)
    this.u8(1)
    each(this, v)
    return this
  }

  variant (index) { return this.u32(index) }
  finish () { return concat(...this.parts) }
}

export class Reader {
  constructor (bytes, limit = MAX_UPDATE_BYTES) {
    if (bytes.length > limit) throw new Error(`too large: ${bytes.length} bytes > ${limit}`)
    this.b = bytes
    this.at = 0
  }

  take (n) {
    if (n > this.b.length - this.at) throw new Error('truncated')
    const out = this.b.subarray(this.at, this.at + n)
    this.at += n
    return out
  }

  view (n) { const t = this.take(n); return new DataView(t.buffer, t.byteOffset, n) }
  u8 () { return this.take(1)[0] }
  u16 () { return this.view(2).getUint16(0, true) }
  u32 () { return this.view(4).getUint32(0, true) }
  u64 () { return this.view(8).getBigUint64(0, true) }
  i64 () { return this.view(8).getBigInt64(0, true) }
  f64 () { return this.view(8).getFloat64(0, true) }
  bool () {
    const v = this.u8()
    if (v > 1) throw new Error(`invalid bool ${v}`)
    return v === 1
  }

  char () {
    const first = this.b[this.at]
    const width = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 0
    if (width === 0) throw new Error('invalid char')
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.take(width))
    if ([...text].length !== 1) throw new Error('invalid char')
    return text
  }

  fixed (n) { return Uint8Array.from(this.take(n)) }
  len () {
    const n = this.u64()
    if (n > BigInt(this.b.length - this.at)) throw new Error('truncated: length beyond the input')
    return Number(n)
  }

  bytes () { return this.fixed(this.len()) }
  string () { return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.len())) }
  vec (each) {
    const n = this.len()
    const out = []
    for (let i = 0; i < n; i++) out.push(each(this))
    return out
  }

  option (each) {
    const tag = this.u8()
    if (tag > 1) throw new Error(`invalid option tag ${tag}`)
    return tag === 1 ? each(this) : null
  }

  variant (count) {
    const v = this.u32()
    if (v >= count) throw new Error(`unknown variant ${v}`)
    return v
  }

  end () {
    if (this.at !== this.b.length) throw new Error(`${this.b.length - this.at} trailing bytes`)
  }
}

/** Decodes `bytes` with `each`, rejecting trailing bytes (one value, one encoding). */
export function decodeExact (bytes, each, limit = MAX_UPDATE_BYTES) {
  const r = new Reader(bytes, limit)
  const value = each(r)
  r.end()
  return value
}

function encodeWith (each, value, limit = MAX_UPDATE_BYTES) {
  const w = new Writer()
  each(w, value)
  const out = w.finish()
  if (out.length > limit) throw new Error(`encoding of ${out.length} bytes exceeds ${limit}`)
  return out
}

// ---------------------------------------------------------------- ids

// ObjectId: 0 Norad(u32) | 1 Provisional { agency, local }. In JS: { norad } or { agency, local }.
const putObject = (w, o) => {
  if (o.norad !== undefined) w.variant(0).u32(o.norad)
  else w.variant(1).fixed(o.agency, 32).u32(o.local)
}
const getObject = (r) => r.variant(2) === 0 ? { norad: r.u32() } : { agency: r.fixed(32), local: r.u32() }
const put32 = (w, b) => w.fixed(b, 32)
const get32 = (r) => r.fixed(32)

// ---------------------------------------------------------------- updates (SPEC §2)

export function putHeader (w, h) {
  w.u16(h.format_version).fixed(h.network_id, 32).fixed(h.author, 32).u64(h.seq)
  w.option(h.prev, put32).variant(h.kind).option(h.object, putObject)
  w.option(h.epoch, (w, e) => w.i64(e)).option(h.target, put32).option(h.subject, put32)
  w.fixed(h.body_hash, 32)
}

export function getHeader (r) {
  return {
    format_version: r.u16(),
    network_id: r.fixed(32),
    author: r.fixed(32),
    seq: r.u64(),
    prev: r.option(get32),
    kind: r.variant(KINDS.length),
    object: r.option(getObject),
    epoch: r.option((r) => r.i64()),
    target: r.option(get32),
    subject: r.option(get32),
    body_hash: r.fixed(32)
  }
}

export const putSignedHeader = (w, s) => { putHeader(w, s.header); w.fixed(s.signature, 64) }
export const getSignedHeader = (r) => ({ header: getHeader(r), signature: r.fixed(64) })
export const putEnvelope = (w, e) => { putSignedHeader(w, e.header); w.bytes(e.body) }
export const getEnvelope = (r) => ({ header: getSignedHeader(r), body: r.bytes() })

export const encodeHeader = (h) => encodeWith(putHeader, h)
export const encodeSignedHeader = (s) => encodeWith(putSignedHeader, s)
export const encodeEnvelope = (e) => encodeWith(putEnvelope, e)
export const decodeEnvelope = (bytes) => decodeExact(bytes, getEnvelope)
export const signingBytes = (h) => concat(SIGNING_DOMAIN, encodeHeader(h))
export const updateId = (signed) => hash(encodeSignedHeader(signed))

// ---------------------------------------------------------------- records

const putOptF64 = (w, v) => w.option(v, (w, x) => w.f64(x))
const getOptF64 = (r) => r.option((r) => r.f64())
const putOptString = (w, v) => w.option(v, (w, s) => w.string(s))
const getOptString = (r) => r.option((r) => r.string())
const ESTIMATE_FLOATS = [
  'mean_motion_rev_per_day', 'eccentricity', 'inclination_deg', 'ra_of_asc_node_deg',
  'arg_of_pericenter_deg', 'mean_anomaly_deg', 'bstar', 'mean_motion_dot', 'mean_motion_ddot'
]

const RECORDS = {
  orbit_estimate: {
    put (w, r) {
      putObject(w, r.object)
      w.i64(r.epoch)
      for (const f of ESTIMATE_FLOATS) w.f64(r[f])
      w.u8(r.ephemeris_type).char(r.classification).u32(r.element_set_no).u32(r.rev_at_epoch)
      w.option(r.covariance, (w, c) => {
        w.variant(COVARIANCE_FRAMES.indexOf(c.frame))
        if (c.lower_triangle.length !== 21) throw new Error('a covariance has 21 values')
        for (const x of c.lower_triangle) w.f64(x)
      })
      w.option(r.quality, (w, q) => {
        putOptF64(w, q.rms_km)
        w.option(q.n_observations, (w, n) => w.u32(n))
        putOptF64(w, q.span_days)
      })
      w.string(r.source)
    },
    get (r) {
      const out = { object: getObject(r), epoch: r.i64() }
      for (const f of ESTIMATE_FLOATS) out[f] = r.f64()
      out.ephemeris_type = r.u8()
      out.classification = r.char()
      out.element_set_no = r.u32()
      out.rev_at_epoch = r.u32()
      out.covariance = r.option((r) => ({
        frame: COVARIANCE_FRAMES[r.variant(2)],
        lower_triangle: Array.from({ length: 21 }, () => r.f64())
      }))
      out.quality = r.option((r) => ({
        rms_km: getOptF64(r),
        n_observations: r.option((r) => r.u32()),
        span_days: getOptF64(r)
      }))
      out.source = r.string()
      return out
    }
  },
  object_metadata: {
    put (w, r) {
      putObject(w, r.object)
      putOptString(w, r.name)
      putOptString(w, r.cospar_id)
      w.option(r.object_type, (w, t) => w.variant(OBJECT_TYPES.indexOf(t)))
      putOptString(w, r.owner)
      putOptString(w, r.launch_date)
      putOptString(w, r.decay_date)
      putOptF64(w, r.rcs_m2)
      putOptF64(w, r.size_m)
    },
    get: (r) => ({
      object: getObject(r),
      name: getOptString(r),
      cospar_id: getOptString(r),
      object_type: r.option((r) => OBJECT_TYPES[r.variant(4)]),
      owner: getOptString(r),
      launch_date: getOptString(r),
      decay_date: getOptString(r),
      rcs_m2: getOptF64(r),
      size_m: getOptF64(r)
    })
  },
  maneuver_notice: {
    put (w, r) {
      putObject(w, r.object)
      w.i64(r.window_start).i64(r.window_end)
      putOptF64(w, r.expected_delta_v_mps)
      w.string(r.description)
    },
    get: (r) => ({
      object: getObject(r),
      window_start: r.i64(),
      window_end: r.i64(),
      expected_delta_v_mps: getOptF64(r),
      description: r.string()
    })
  },
  endorse: {
    put: (w, r) => w.fixed(r.subject, 32).string(r.name).bytes(r.binding),
    get: (r) => ({ subject: r.fixed(32), name: r.string(), binding: r.bytes() })
  },
  suspend: {
    put: (w, r) => w.fixed(r.subject, 32).string(r.reason),
    get: (r) => ({ subject: r.fixed(32), reason: r.string() })
  },
  node_binding: {
    put: (w, r) => w.vec(r.peer_ids, (w, p) => w.bytes(p)),
    get: (r) => ({ peer_ids: r.vec((r) => r.bytes()) })
  },
  retract: {
    put: (w, r) => w.fixed(r.target, 32).string(r.reason),
    get: (r) => ({ target: r.fixed(32), reason: r.string() })
  }
}

/** A record is { kind: 'orbit_estimate' | ..., ...fields }. */
export function encodeRecord (record) {
  return encodeWith((w, rec) => {
    const index = Kind[rec.kind]
    if (index === undefined) throw new Error(`unknown record kind ${rec.kind}`)
    w.variant(index)
    RECORDS[rec.kind].put(w, rec)
  }, record)
}

export function decodeRecord (bytes) {
  return decodeExact(bytes, (r) => {
    const kind = KINDS[r.variant(KINDS.length)]
    return { kind, ...RECORDS[kind].get(r) }
  })
}

/** What the header repeats of its record (SPEC §2: present exactly for some kinds). */
export function headerFieldsOf (record) {
  return {
    kind: Kind[record.kind],
    object: ['orbit_estimate', 'object_metadata', 'maneuver_notice'].includes(record.kind) ? record.object : null,
    epoch: record.kind === 'orbit_estimate' ? BigInt(record.epoch) : null,
    target: record.kind === 'retract' ? record.target : null,
    subject: ['endorse', 'suspend'].includes(record.kind) ? record.subject : null
  }
}

// ---------------------------------------------------------------- signing and verifying

export async function publicKeyOf (seed) {
  return ed.getPublicKeyAsync(seed)
}

/** Signs a record as an update: returns the envelope, its canonical bytes and its id. */
export async function signUpdate ({ seed, networkId, seq, prev = null, record }) {
  const body = encodeRecord(record)
  const header = {
    format_version: FORMAT_VERSION,
    network_id: networkId,
    author: await publicKeyOf(seed),
    seq: BigInt(seq),
    prev,
    ...headerFieldsOf(record),
    body_hash: hash(body)
  }
  const signature = await ed.signAsync(signingBytes(header), seed)
  const envelope = { header: { header, signature }, body }
  const bytes = encodeEnvelope(envelope)
  return { envelope, bytes, id: updateId(envelope.header) }
}

/** Header checks of SPEC §2 that need no state, then the signature (ZIP-215). */
export async function verifyEnvelopeBytes (bytes, networkId) {
  const envelope = decodeEnvelope(bytes)
  const h = envelope.header.header
  if (h.format_version !== FORMAT_VERSION) throw new Error(`unknown format version ${h.format_version}`)
  if (networkId && !equalBytes(h.network_id, networkId)) throw new Error('wrong network id')
  if (h.seq > MAX_SEQ) throw new Error('seq out of range')
  const hasObject = h.kind <= 2
  if (hasObject !== (h.object !== null)) throw new Error('object must be present exactly for kinds 0, 1, 2')
  if ((h.kind === 0) !== (h.epoch !== null)) throw new Error('epoch must be present exactly for kind 0')
  if ((h.kind === 6) !== (h.target !== null)) throw new Error('target must be present exactly for kind 6')
  if ((h.kind === 3 || h.kind === 4) !== (h.subject !== null)) throw new Error('subject must be present exactly for kinds 3, 4')
  const ok = await ed.verifyAsync(envelope.header.signature, signingBytes(h), h.author, { zip215: true })
  if (!ok) throw new Error('bad signature')
  if (!equalBytes(hash(envelope.body), h.body_hash)) throw new Error('body does not match body_hash')
  return { envelope, id: updateId(envelope.header) }
}

// ---------------------------------------------------------------- genesis (SPEC §3)

export function putGenesis (w, g) {
  w.string(g.network_name)
  w.vec(g.founders, (w, f) => {
    w.fixed(f.agency, 32).string(f.name).vec(f.node_peer_ids, (w, p) => w.bytes(p))
  })
  w.u32(g.endorsement_threshold).u32(g.estimates_per_source)
  w.u64(g.shared_orbit_window_s).u64(g.max_epoch_ahead_s)
}

/** A genesis from its JSON form (`genesis.json`: ids and keys as lower-case hex). */
export function genesisFromJson (json) {
  const founders = json.founders.map((f) => ({
    agency: unhex(f.agency),
    name: f.name,
    node_peer_ids: f.node_peer_ids.map(unhex)
  }))
  for (let i = 1; i < founders.length; i++) {
    if (hex(founders[i - 1].agency) >= hex(founders[i].agency)) throw new Error('founders must be sorted by agency')
  }
  return { ...json, founders }
}

export const encodeGenesis = (g) => encodeWith(putGenesis, g)
export const networkIdOf = (g) => hash(encodeGenesis(g))
export const topicOf = (networkId) => `/orbital-commons/${hex(networkId)}/updates/2`

// ---------------------------------------------------------------- sync messages (SPEC §4)

export const SyncRequest = { Digest: 0, Reconcile: 1, FetchHeaders: 2, FetchBodies: 3 }
export const SyncResponse = ['digest', 'reconcile', 'headers', 'bodies', 'refused']

export function encodeFetch (variant, ids) {
  return encodeWith((w) => w.variant(variant).vec(ids, put32), null, 1024 * 1024)
}

export function decodeSyncResponse (bytes) {
  return decodeExact(bytes, (r) => {
    const kind = SyncResponse[r.variant(SyncResponse.length)]
    switch (kind) {
      case 'digest': return { kind, headers: r.fixed(32), bodies: r.fixed(32), n_headers: r.u64() }
      case 'reconcile': return { kind, message: r.bytes() }
      case 'headers': return { kind, headers: r.vec(getSignedHeader) }
      case 'bodies': return { kind, bodies: r.vec((r) => ({ id: r.fixed(32), body: r.bytes() })) }
      default: return { kind, reason: r.string() }
    }
  }, MAX_SYNC_RESPONSE_BYTES)
}

export function decodeSyncRequestKind (bytes) {
  return decodeExact(bytes.subarray(0, 4), (r) => r.u32())
}

export const encodeRefused = (reason) => encodeWith((w) => w.variant(4).string(reason), null)

// ---------------------------------------------------------------- CBOR (RFC 8949), the subset used

function cborHead (major, n) {
  if (n < 24) return Uint8Array.of((major << 5) | n)
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n)
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff)
  if (n < 0x100000000) return Uint8Array.of((major << 5) | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
  throw new Error('CBOR length too large')
}

/** Uint8Array → byte string, string → text, Array → array, object → map, integer → int. */
export function cborEncode (v) {
  if (v instanceof Uint8Array) return concat(cborHead(2, v.length), v)
  if (typeof v === 'string') {
    const b = new TextEncoder().encode(v)
    return concat(cborHead(3, b.length), b)
  }
  if (Array.isArray(v)) return concat(cborHead(4, v.length), ...v.map(cborEncode))
  if (Number.isInteger(v)) return v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v)
  if (v && typeof v === 'object') {
    const entries = Object.entries(v)
    return concat(cborHead(5, entries.length), ...entries.flatMap(([k, x]) => [cborEncode(k), cborEncode(x)]))
  }
  throw new Error(`cannot CBOR-encode ${v}`)
}

/** Decodes one CBOR value (definite or indefinite lengths), rejecting trailing bytes. */
export function cborDecode (bytes) {
  let at = 0
  const byte = () => {
    if (at >= bytes.length) throw new Error('CBOR truncated')
    return bytes[at++]
  }
  const arg = (info) => {
    if (info < 24) return info
    const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[info]
    if (!width) throw new Error(`unsupported CBOR argument ${info}`)
    let n = 0n
    for (let i = 0; i < width; i++) n = (n << 8n) | BigInt(byte())
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('CBOR argument too large')
    return Number(n)
  }
  const take = (n) => {
    if (n > bytes.length - at) throw new Error('CBOR truncated')
    at += n
    return bytes.slice(at - n, at)
  }
  const item = () => {
    const first = byte()
    const major = first >> 5
    const info = first & 31
    if (info === 31 && major >= 2 && major <= 5) {
      // Indefinite length: chunks or items until the break byte 0xff.
      const parts = []
      while (bytes[at] !== 0xff) {
        if (at >= bytes.length) throw new Error('CBOR truncated')
        parts.push(item())
      }
      at++
      if (major === 2) return concat(...parts)
      if (major === 3) return parts.join('')
      if (major === 4) return parts
      const map = {}
      for (let i = 0; i < parts.length; i += 2) map[parts[i]] = parts[i + 1]
      return map
    }
    switch (major) {
      case 0: return arg(info)
      case 1: return -1 - arg(info)
      case 2: return take(arg(info))
      case 3: return new TextDecoder('utf-8', { fatal: true }).decode(take(arg(info)))
      case 4: return Array.from({ length: arg(info) }, item)
      case 5: {
        const map = {}
        const n = arg(info)
        for (let i = 0; i < n; i++) {
          const k = item()
          map[k] = item()
        }
        return map
      }
      case 6: arg(info); return item() // a tag: its value
      default:
        if (info === 20) return false
        if (info === 21) return true
        if (info === 22 || info === 23) return null
        throw new Error(`unsupported CBOR simple/float ${info}`)
    }
  }
  const value = item()
  if (at !== bytes.length) throw new Error(`${bytes.length - at} trailing bytes after the CBOR value`)
  return value
}
