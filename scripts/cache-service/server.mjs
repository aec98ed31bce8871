// A local stand-in for GitHub's Actions cache service v2, for the end-to-end tests: the Twirp
// JSON methods of github.actions.results.api.v1.CacheService that BuildKit's `type=gha` cache
// (tonistiigi/go-actions-cache) and @actions/cache call, in front of Azurite (Microsoft's Azure
// Storage emulator), so that uploads and downloads go through real Azure Blob HTTP with signed
// (SAS) URLs, as on GitHub.
//
// Like GitHub's service it reads the caller's scopes from ACTIONS_RUNTIME_TOKEN (a JWT whose
// `ac` claim lists {Scope, Permission}: 1 read, 2 write): an entry is written to the first
// writable scope and a lookup searches the scopes in the token's order, so a pull request's
// run finds what its base branch saved. Tokens are HS256-signed with the secret in the state
// folder (token.mjs makes them); a token that does not verify gets 401.
//
//   node server.mjs   (configured by the environment)
//     AOT_CACHE_STATE      state folder: secret, entries.json, requests.jsonl  (required)
//     AOT_CACHE_ADDR       listen address                                      [127.0.0.1:5010]
//     AOT_AZURITE_URL      Azurite's blob endpoint, account included   [http://127.0.0.1:10000/aotcache]
// The storage account's key is the state folder's azurite.key (Azurite is started with that
// account only, through AZURITE_ACCOUNTS), so the signed URLs are signed with a key of ours.
//
// Beside the service: GET /_stand-in/health (200 once Azurite answers and the container
// exists) and GET /_stand-in/entries (the entries, for tests to assert on). Every call of the
// service is appended to requests.jsonl: method, scopes, keys, and where a lookup matched.
//
// GitHub's refusals, always on: a token whose scopes are all read-only (what untrusted
// triggers get since 2026-06-26) is answered on create as GitHub answers it, 200 with
// {ok: false, message: "cache write denied: token has no writable scopes"}.
// GitHub's faults, switched on per test without a restart (each limited to the cache scopes
// that start with `scope`, so tests on one service do not meet each other's faults):
//   POST /_stand-in/faults {scope, rateLimit: {creates, windowSeconds?, retryAfter?}}
//        past `creates` CreateCacheEntry calls in the window: 429, Retry-After, resource_exhausted
//   POST /_stand-in/faults {scope, evict: {when: "download" | "finalize", keyPrefix?, count?}}
//        download: a lookup hit is answered, then the entry is evicted before it is downloaded;
//        finalize: an upload's entry is evicted before its finalize (404 not_found)
//   POST /_stand-in/faults {scope, budget: {bytes}}
//        entries past the byte budget are evicted, least recently used first, after each
//        finalize (GitHub evicts hourly past the repository's 10 GB)
//   GET /_stand-in/faults lists them; DELETE /_stand-in/faults?id=N (or all) ends them.
// An eviction deletes the blob too, and is recorded in requests.jsonl (method "evict").
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential
} from '@azure/storage-blob'

const CONTAINER = 'actions-cache'
const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/'
const URL_LIFETIME_MS = 60 * 60 * 1000

const STATE = process.env.AOT_CACHE_STATE
if (!STATE) {
  console.error('AOT_CACHE_STATE is not set')
  process.exit(2)
}
const [HOST, PORT] = (process.env.AOT_CACHE_ADDR ?? '127.0.0.1:5010').split(':')
const AZURITE = (process.env.AOT_AZURITE_URL ?? 'http://127.0.0.1:10000/aotcache').replace(/\/+$/, '')
const ACCOUNT = new URL(AZURITE).pathname.split('/')[1]
const ACCOUNT_KEY = fs.readFileSync(path.join(STATE, 'azurite.key'), 'utf8').trim()
const SECRET = fs.readFileSync(path.join(STATE, 'secret'))
const ENTRIES_FILE = path.join(STATE, 'entries.json')
const REQUESTS_FILE = path.join(STATE, 'requests.jsonl')

const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
const container = new BlobServiceClient(AZURITE, credential).getContainerClient(CONTAINER)

/** @type {{id: number, key: string, version: string, scope: string, blob: string, size: number, finalized: boolean, created: string, used?: string}[]} */
let entries = []
try {
  entries = JSON.parse(fs.readFileSync(ENTRIES_FILE, 'utf8'))
} catch {
  entries = []
}
let lastId = 0
function persist() {
  fs.writeFileSync(`${ENTRIES_FILE}.tmp`, JSON.stringify(entries, null, 1))
  fs.renameSync(`${ENTRIES_FILE}.tmp`, ENTRIES_FILE)
}
function record(call) {
  fs.appendFileSync(REQUESTS_FILE, `${JSON.stringify({ at: new Date().toISOString(), ...call })}\n`)
}

/** @type {{id: number, scope: string, rateLimit?: {creates: number, windowSeconds: number, retryAfter: number, at: number[]}, evict?: {when: string, keyPrefix: string, count: number}, budget?: {bytes: number}}[]} */
let faults = []
let faultIds = 0
const faultsFor = (scope, kind) => faults.filter((f) => f[kind] !== undefined && scope.startsWith(f.scope))

function parseFault(body) {
  const scope = typeof body.scope === 'string' ? body.scope : ''
  const n = (v, dflt) => (v === undefined ? dflt : Number.isInteger(v) && v >= 0 ? v : NaN)
  if (body.rateLimit) {
    const r = { creates: n(body.rateLimit.creates, NaN), windowSeconds: n(body.rateLimit.windowSeconds, 60), retryAfter: n(body.rateLimit.retryAfter, 60), at: [] }
    if ([r.creates, r.windowSeconds, r.retryAfter].some(Number.isNaN)) return 'rateLimit: {creates, windowSeconds?, retryAfter?}, whole numbers'
    return { scope, rateLimit: r }
  }
  if (body.evict) {
    const e = { when: body.evict.when, keyPrefix: typeof body.evict.keyPrefix === 'string' ? body.evict.keyPrefix : '', count: n(body.evict.count, 1) }
    if (!['download', 'finalize'].includes(e.when) || Number.isNaN(e.count)) return 'evict: {when: "download" | "finalize", keyPrefix?, count?}'
    return { scope, evict: e }
  }
  if (body.budget) {
    const b = { bytes: n(body.budget.bytes, NaN) }
    if (Number.isNaN(b.bytes)) return 'budget: {bytes}, a whole number'
    return { scope, budget: b }
  }
  return 'one of rateLimit, evict, budget'
}

/** Removes an entry and its blob, as GitHub's eviction does. */
async function evict(entry, reason) {
  entries = entries.filter((e) => e.id !== entry.id)
  persist()
  await container.getBlockBlobClient(entry.blob).deleteIfExists()
  record({ method: 'evict', reason, key: entry.key, scope: entry.scope, id: entry.id, size: entry.size })
}

/** Past a budget: the least recently used finalized entries of its scopes go first. */
async function enforceBudgets() {
  for (const f of faults.filter((x) => x.budget !== undefined)) {
    const mine = () => entries.filter((e) => e.finalized && e.scope.startsWith(f.scope))
    while (mine().reduce((s, e) => s + e.size, 0) > f.budget.bytes) {
      const [oldest] = mine().sort((a, b) => (a.used ?? a.created).localeCompare(b.used ?? b.created) || a.id - b.id)
      await evict(oldest, 'budget')
    }
  }
}

/** The evict fault of this kind that applies to the entry, used up by one. */
function takeEviction(entry, when) {
  const f = faultsFor(entry.scope, 'evict').find((x) => x.evict.when === when && x.evict.count > 0 && entry.key.startsWith(x.evict.keyPrefix))
  if (!f) return false
  f.evict.count -= 1
  return true
}


/** The token's scopes, or undefined when it is missing, malformed, not ours or expired. */
function scopesOf(authorization) {
  const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization ?? '')
  if (!m) return undefined
  const want = createHmac('sha256', SECRET).update(`${m[1]}.${m[2]}`).digest()
  const got = Buffer.from(m[3], 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined
  let claims
  try {
    claims = JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  const now = Date.now() / 1000
  if (typeof claims.exp !== 'number' || claims.exp < now || (typeof claims.nbf === 'number' && claims.nbf > now + 60)) return undefined
  try {
    const ac = JSON.parse(claims.ac)
    return ac.filter((s) => typeof s.Scope === 'string' && typeof s.Permission === 'number')
  } catch {
    return undefined
  }
}

function sasUrl(blob, permissions) {
  const sas = generateBlobSASQueryParameters(
    {
      containerName: CONTAINER,
      blobName: blob,
      permissions: BlobSASPermissions.parse(permissions),
      startsOn: new Date(Date.now() - 5 * 60 * 1000),
      expiresOn: new Date(Date.now() + URL_LIFETIME_MS)
    },
    credential
  )
  return `${container.getBlockBlobClient(blob).url}?${sas.toString()}`
}

function send(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}
// Twirp's error shape: {code, msg}.
const twirpError = (res, status, code, msg) => send(res, status, { code, msg })
// GitHub's answer to a create with a read-only token: not a Twirp error, ok false and this message
// (@actions/cache matches its prefix; BuildKit reports "failed to reserve cache").
const WRITE_DENIED = 'cache write denied: token has no writable scopes'

// protobuf JSON accepts a field by its proto name or its lowerCamelCase JSON name.
const field = (body, proto, json) => body[proto] ?? body[json]

/**
 * GitHub's order (docs: "Matching a cache key"), scope by scope: the key exactly, the key as a
 * prefix, then each restore key as a prefix; the newest entry of a prefix wins.
 */
function lookup(scopes, key, restoreKeys, version) {
  for (const s of scopes.filter((x) => (x.Permission & 1) !== 0)) {
    const here = entries.filter((e) => e.finalized && e.scope === s.Scope && e.version === version).sort((a, b) => b.id - a.id)
    const exact = here.find((e) => e.key === key)
    if (exact) return exact
    for (const prefix of [key, ...restoreKeys]) {
      const hit = here.find((e) => e.key.startsWith(prefix))
      if (hit) return hit
    }
  }
  return undefined
}

const methods = {
  async CreateCacheEntry(scopes, body, res) {
    const key = field(body, 'key', 'key')
    const version = field(body, 'version', 'version')
    if (typeof key !== 'string' || key === '' || typeof version !== 'string' || version === '') return twirpError(res, 400, 'invalid_argument', 'key and version are required')
    const scope = scopes.find((s) => (s.Permission & 2) !== 0)
    if (!scope) {
      record({ method: 'CreateCacheEntry', key, version, scopes: scopes.map((x) => x.Scope), result: 'write_denied' })
      return send(res, 200, { ok: false, message: WRITE_DENIED })
    }
    const now = Date.now()
    for (const f of faultsFor(scope.Scope, 'rateLimit')) {
      const r = f.rateLimit
      r.at = r.at.filter((t) => t > now - r.windowSeconds * 1000)
      if (r.at.length >= r.creates) {
        record({ method: 'CreateCacheEntry', key, version, scope: scope.Scope, result: 'rate_limited' })
        const text = JSON.stringify({ code: 'resource_exhausted', msg: `more than ${r.creates} cache entries created in ${r.windowSeconds} s` })
        res.writeHead(429, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Retry-After': String(r.retryAfter) })
        return res.end(text)
      }
    }
    for (const f of faultsFor(scope.Scope, 'rateLimit')) f.rateLimit.at.push(now)
    if (entries.some((e) => e.finalized && e.key === key && e.version === version && e.scope === scope.Scope)) {
      record({ method: 'CreateCacheEntry', key, version, scope: scope.Scope, result: 'already_exists' })
      return twirpError(res, 409, 'already_exists', 'cache entry with the same key, version, and scope already exists')
    }
    // An unfinished upload of the same key is replaced (a job that died half way).
    entries = entries.filter((e) => !(e.key === key && e.version === version && e.scope === scope.Scope))
    // Never an evicted entry's id again: tests tell entries apart by id.
    lastId = Math.max(lastId, entries.reduce((m, e) => Math.max(m, e.id), 0)) + 1
    const id = lastId
    const blob = `${id}-${randomBytes(8).toString('hex')}`
    entries.push({ id, key, version, scope: scope.Scope, blob, size: 0, finalized: false, created: new Date().toISOString() })
    persist()
    record({ method: 'CreateCacheEntry', key, version, scope: scope.Scope, result: 'created', id })
    send(res, 200, { ok: true, signed_upload_url: sasUrl(blob, 'cw') })
  },

  async FinalizeCacheEntryUpload(scopes, body, res) {
    const key = field(body, 'key', 'key')
    const version = field(body, 'version', 'version')
    const size = Number(field(body, 'size_bytes', 'sizeBytes'))
    const scope = scopes.find((s) => (s.Permission & 2) !== 0)
    const done = scope && entries.find((e) => e.finalized && e.key === key && e.version === version && e.scope === scope.Scope && e.size === size)
    // A retried finalize (the answer was lost) gets the same answer.
    if (done) return send(res, 200, { ok: true, entry_id: String(done.id) })
    const pending = scope && entries.find((e) => !e.finalized && e.key === key && e.version === version && e.scope === scope.Scope)
    if (!scope) {
      record({ method: 'FinalizeCacheEntryUpload', key, version, result: 'write_denied' })
      return send(res, 200, { ok: false, message: WRITE_DENIED })
    }
    if (pending && takeEviction(pending, 'finalize')) await evict(pending, 'fault: evicted before finalize')
    if (!pending || !entries.includes(pending)) {
      record({ method: 'FinalizeCacheEntryUpload', key, version, result: 'not_found' })
      return twirpError(res, 404, 'not_found', 'no cache entry is being uploaded with this key and version')
    }
    let actual
    try {
      actual = (await container.getBlockBlobClient(pending.blob).getProperties()).contentLength
    } catch (e) {
      record({ method: 'FinalizeCacheEntryUpload', key, version, result: 'no_blob', error: String(e) })
      return twirpError(res, 412, 'failed_precondition', 'nothing was uploaded to the signed URL')
    }
    // Looked up again after the wait: a new CreateCacheEntry may have replaced it meanwhile.
    const entry = entries.find((e) => e.id === pending.id && !e.finalized)
    if (!entry) {
      record({ method: 'FinalizeCacheEntryUpload', key, version, result: 'replaced' })
      return twirpError(res, 409, 'aborted', 'the upload was replaced by a newer one of the same key')
    }
    if (actual !== size) {
      record({ method: 'FinalizeCacheEntryUpload', key, version, result: 'size_mismatch', size, actual })
      return twirpError(res, 400, 'invalid_argument', `size_bytes ${size} differs from the uploaded ${actual} bytes`)
    }
    entry.finalized = true
    entry.size = size
    entry.used = new Date().toISOString()
    persist()
    record({ method: 'FinalizeCacheEntryUpload', key, version, scope: entry.scope, result: 'finalized', id: entry.id, size })
    await enforceBudgets()
    // int64 is a string in protobuf JSON.
    send(res, 200, { ok: true, entry_id: String(entry.id) })
  },

  async GetCacheEntryDownloadURL(scopes, body, res) {
    const key = field(body, 'key', 'key')
    const restoreKeys = field(body, 'restore_keys', 'restoreKeys') ?? []
    const version = field(body, 'version', 'version')
    const hit = lookup(scopes, key, Array.isArray(restoreKeys) ? restoreKeys : [], version)
    record({
      method: 'GetCacheEntryDownloadURL',
      key,
      restoreKeys,
      version,
      scopes: scopes.map((s) => s.Scope),
      result: hit ? 'hit' : 'miss',
      ...(hit ? { matchedKey: hit.key, matchedScope: hit.scope, id: hit.id } : {})
    })
    if (!hit) return send(res, 200, { ok: false })
    const url = sasUrl(hit.blob, 'r')
    // Evicted after the lookup answered: the caller's download finds no blob.
    if (takeEviction(hit, 'download')) await evict(hit, 'fault: evicted between lookup and download')
    else {
      hit.used = new Date().toISOString()
      persist()
    }
    send(res, 200, { ok: true, signed_download_url: url, matched_key: hit.key })
  }
}

async function readBody(req) {
  const chunks = []
  let n = 0
  for await (const c of req) {
    n += c.length
    if (n > 1024 * 1024) throw new Error('request too large')
    chunks.push(c)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/_stand-in/health') {
      await container.createIfNotExists()
      return send(res, 200, { ok: true, state: STATE, azurite: AZURITE })
    }
    if (req.method === 'GET' && req.url === '/_stand-in/entries') return send(res, 200, entries)
    if (req.url === '/_stand-in/faults' && req.method === 'GET') return send(res, 200, faults)
    if (req.url === '/_stand-in/faults' && req.method === 'POST') {
      let body
      try {
        body = JSON.parse(await readBody(req))
      } catch {
        return twirpError(res, 400, 'malformed', 'the body is not JSON')
      }
      const f = parseFault(body ?? {})
      if (typeof f === 'string') return twirpError(res, 400, 'invalid_argument', `a fault is ${f}`)
      const fault = { id: ++faultIds, ...f }
      faults.push(fault)
      record({ method: 'fault', result: 'on', fault })
      await enforceBudgets()
      return send(res, 200, fault)
    }
    if (req.url?.startsWith('/_stand-in/faults') && req.method === 'DELETE') {
      const id = new URL(req.url, 'http://x').searchParams.get('id')
      const gone = faults.filter((f) => id === null || String(f.id) === id)
      faults = faults.filter((f) => !gone.includes(f))
      for (const f of gone) record({ method: 'fault', result: 'off', fault: f })
      return send(res, 200, gone)
    }
    if (req.method !== 'POST' || !req.url?.startsWith(SERVICE)) return twirpError(res, 404, 'bad_route', `no handler for ${req.method} ${req.url}`)
    const method = methods[req.url.slice(SERVICE.length)]
    if (!method) return twirpError(res, 404, 'bad_route', `no method ${req.url.slice(SERVICE.length)}`)
    const scopes = scopesOf(req.headers.authorization)
    if (!scopes) {
      record({ method: req.url.slice(SERVICE.length), result: 'unauthenticated' })
      return twirpError(res, 401, 'unauthenticated', 'the token is missing, invalid or expired')
    }
    let body
    try {
      body = JSON.parse(await readBody(req))
    } catch {
      return twirpError(res, 400, 'malformed', 'the body is not JSON')
    }
    await method(scopes, body, res)
  } catch (e) {
    twirpError(res, 500, 'internal', String(e))
  }
})
server.listen(Number(PORT), HOST, () => console.log(`cache service stand-in on http://${HOST}:${PORT}/ (blobs: ${AZURITE}/${CONTAINER})`))
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)))
