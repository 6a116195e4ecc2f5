// Checks protocol/tests/vectors/updates.json with this client's own encoder (wire.mjs):
// the genesis bytes and network id, the signer's key, and for every update the header,
// signing bytes, signature (re-signed and verified), signed header, update id, body hash,
// record (decoded and re-encoded) and envelope. Also checks that the decoder refuses what
// SPEC.md says it must refuse (trailing bytes, a flipped signature bit, a truncated input).
//
// Run alone: node vectors.mjs [path/to/updates.json]   (prints "N passed, 0 failed")

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as ed from '@noble/ed25519'
import * as w from './wire.mjs'

const DEFAULT_PATH = fileURLToPath(new URL('../../protocol/tests/vectors/updates.json', import.meta.url))

/** Checks every vector; returns the number of checks made. Throws at the first failure. */
export async function checkVectors (path = DEFAULT_PATH) {
  const v = JSON.parse(readFileSync(path, 'utf8'))
  let checks = 0
  const expect = (cond, what) => {
    if (!cond) throw new Error(`golden vector mismatch: ${what}`)
    checks++
  }
  const expectHex = (bytes, wanted, what) => expect(w.hex(bytes) === wanted, `${what}: got ${w.hex(bytes)}, want ${wanted}`)
  const expectThrows = async (f, what) => {
    let threw = false
    try { await f() } catch { threw = true }
    expect(threw, what)
  }

  // Genesis (SPEC §3).
  const genesis = w.genesisFromJson(v.genesis_json)
  expectHex(w.encodeGenesis(genesis), v.genesis_hex, 'genesis bytes')
  const networkId = w.networkIdOf(genesis)
  expectHex(networkId, v.network_id, 'network id')

  // The signer.
  const seed = w.unhex(v.signer_seed_hex)
  const agency = await w.publicKeyOf(seed)
  expectHex(agency, v.signer_agency, 'signer agency')
  expect(w.base58(agency) === v.signer_agency_base58, 'signer agency base58')

  const kinds = new Set()
  for (const u of v.updates) {
    const at = `update ${u.name}`
    const envelopeBytes = w.unhex(u.envelope_hex)
    const envelope = w.decodeEnvelope(envelopeBytes)
    const header = envelope.header.header
    expectHex(w.encodeEnvelope(envelope), u.envelope_hex, `${at}: envelope re-encoded`)
    expectHex(w.encodeHeader(header), u.header_hex, `${at}: header`)
    expectHex(w.signingBytes(header), u.signing_bytes_hex, `${at}: signing bytes`)
    expectHex(w.encodeSignedHeader(envelope.header), u.signed_header_hex, `${at}: signed header`)
    expectHex(envelope.header.signature, u.signature_hex, `${at}: signature`)
    expectHex(w.updateId(envelope.header), u.update_id, `${at}: update id`)
    expectHex(w.hash(envelope.body), u.body_hash, `${at}: body hash`)
    expectHex(header.body_hash, u.body_hash, `${at}: header body_hash`)
    expectHex(envelope.body, u.body_hex, `${at}: body`)
    expect(header.seq === BigInt(u.seq), `${at}: seq`)
    expectHex(header.network_id, v.network_id, `${at}: network id`)
    expectHex(header.author, v.signer_agency, `${at}: author`)

    // The signature verifies (ZIP-215), and signing the header again gives the same bytes
    // (ed25519 is deterministic): this client signs exactly what the node signs.
    expect(await ed.verifyAsync(envelope.header.signature, w.signingBytes(header), header.author, { zip215: true }), `${at}: signature verifies`)
    expectHex(await ed.signAsync(w.signingBytes(header), seed), u.signature_hex, `${at}: re-signed`)

    // The record decodes, re-encodes to the same bytes, and agrees with its header.
    const record = w.decodeRecord(envelope.body)
    expect(u.name === record.kind || u.name.startsWith(`${record.kind}_`), `${at}: record kind ${record.kind}`)
    kinds.add(record.kind)
    expectHex(w.encodeRecord(record), u.body_hex, `${at}: record re-encoded`)
    const fields = w.headerFieldsOf(record)
    expect(fields.kind === header.kind, `${at}: header kind`)
    expect(JSON.stringify(fields, jsonBytes) === JSON.stringify({
      kind: header.kind, object: header.object, epoch: header.epoch, target: header.target, subject: header.subject
    }, jsonBytes), `${at}: header repeats the record`)
    // Building the whole update from the record reproduces it byte for byte.
    const rebuilt = await w.signUpdate({ seed, networkId, seq: header.seq, prev: header.prev, record })
    expectHex(rebuilt.bytes, u.envelope_hex, `${at}: signed from the record`)
    // The full check a receiver makes accepts it.
    expectHex((await w.verifyEnvelopeBytes(envelopeBytes, networkId)).id, u.update_id, `${at}: verified id`)
    if (record.kind === 'endorse') {
      const inner = await w.verifyEnvelopeBytes(record.binding, networkId)
      const binding = w.decodeRecord(inner.envelope.body)
      expect(binding.kind === 'node_binding', `${at}: an endorsement carries a node binding`)
      expectHex(inner.envelope.header.header.author, w.hex(record.subject), `${at}: the binding is the subject's`)
    }

    // What a receiver must refuse.
    await expectThrows(() => w.decodeEnvelope(w.concat(envelopeBytes, Uint8Array.of(0))), `${at}: trailing byte refused`)
    await expectThrows(() => w.decodeEnvelope(envelopeBytes.subarray(0, envelopeBytes.length - 1)), `${at}: truncation refused`)
    const flipped = Uint8Array.from(envelopeBytes)
    flipped[w.encodeHeader(header).length] ^= 1 // first signature byte
    await expectThrows(() => w.verifyEnvelopeBytes(flipped, networkId), `${at}: flipped signature refused`)
    const otherNetwork = Uint8Array.from(networkId)
    otherNetwork[0] ^= 1
    await expectThrows(() => w.verifyEnvelopeBytes(envelopeBytes, otherNetwork), `${at}: other network refused`)
  }
  expect(kinds.size === w.KINDS.length, `every kind has a vector (got ${[...kinds].join(', ')})`)
  return checks
}

function jsonBytes (_key, value) {
  if (value instanceof Uint8Array) return w.hex(value)
  if (typeof value === 'bigint') return value.toString()
  return value
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const checks = await checkVectors(process.argv[2] ?? DEFAULT_PATH)
    console.log(`golden vectors: ${checks} checks`)
    console.log('vectors: 1 passed, 0 failed')
  } catch (e) {
    console.error(e.stack ?? String(e))
    console.log('vectors: 0 passed, 1 failed')
    process.exit(1)
  }
}
