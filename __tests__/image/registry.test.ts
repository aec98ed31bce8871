// Reading a registry image through `docker buildx imagetools inspect`: the argv, the parsing,
// and every error path, with a stub `docker` first on PATH that answers from a table of
// references (real OCI documents built by the shared fixtures) and records its argv and the
// DOCKER_CONFIG it was given. The real engine and an authenticated registry are the e2e proof
// (e2e/registry.e2e.test.ts).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  BASELINE_ADVICE,
  baselineFailure,
  classifyFailure,
  firstLine,
  ImageNotFoundError,
  inspectRaw,
  registryOf,
  RegistryReadError,
  registrySizes
} from '../../src/image/registry.js'
import { MemoryStore, addImage, BASE_FILES, appFiles, multiArchImage, type BuiltImage } from '../fixtures/oci-image.js'

// Answers `buildx imagetools inspect [--builder b] --raw REF` with FAKE_TABLE[REF].raw (base64),
// `--format '{{json .Image}}' REF` with FAKE_TABLE[REF].image, or prints FAKE_TABLE[REF].error
// and exits 1; an unknown reference is "not found", as buildx says it.
const STUB = `#!/usr/bin/env node
const fs = require('fs')
const args = process.argv.slice(2)
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ args, dockerConfig: process.env.DOCKER_CONFIG || '' }) + '\\n')
const table = JSON.parse(fs.readFileSync(process.env.FAKE_TABLE, 'utf8'))
const ref = args[args.length - 1]
const e = table[ref]
if (!e) { process.stderr.write('ERROR: ' + ref + ': not found\\n'); process.exit(1) }
if (e.error) { process.stderr.write(e.error); process.exit(1) }
if (args.includes('--raw')) process.stdout.write(Buffer.from(e.raw, 'base64'))
else process.stdout.write(e.image + '\\n')
`

interface Entry {
  raw?: string
  image?: string
  error?: string
}

let dir: string
let table: Record<string, Entry>
const saved = { PATH: process.env.PATH, DOCKER_CONFIG: process.env.DOCKER_CONFIG }

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-registry-'))
  fs.mkdirSync(path.join(dir, 'bin'))
  fs.writeFileSync(path.join(dir, 'bin', 'docker'), STUB, { mode: 0o755 })
  table = {}
  process.env.PATH = `${path.join(dir, 'bin')}${path.delimiter}${saved.PATH ?? ''}`
  process.env.FAKE_LOG = path.join(dir, 'calls.log')
  process.env.FAKE_TABLE = path.join(dir, 'table.json')
  fs.writeFileSync(process.env.FAKE_LOG, '')
})

afterEach(() => {
  process.env.PATH = saved.PATH
  if (saved.DOCKER_CONFIG === undefined) delete process.env.DOCKER_CONFIG
  else process.env.DOCKER_CONFIG = saved.DOCKER_CONFIG
  delete process.env.FAKE_LOG
  delete process.env.FAKE_TABLE
  fs.rmSync(dir, { recursive: true, force: true })
})

function serve(entries: Record<string, Entry>): void {
  Object.assign(table, entries)
  fs.writeFileSync(path.join(dir, 'table.json'), JSON.stringify(table))
}

function calls(): { args: string[]; dockerConfig: string }[] {
  return fs
    .readFileSync(path.join(dir, 'calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { args: string[]; dockerConfig: string })
}

const REPO = '127.0.0.1:5001/team/app'

/** A two-platform index with attestations, served under REPO:main and every manifest under REPO@digest. */
async function twoPlatforms(): Promise<{ store: MemoryStore; indexDigest: string; images: Record<'amd64' | 'arm64', BuiltImage> }> {
  const store = new MemoryStore()
  const { index, images } = await multiArchImage(store)
  const entries: Record<string, Entry> = {}
  for (const [digest, body] of store.blobs) entries[`${REPO}@${digest}`] = { raw: body.toString('base64') }
  // imagetools' --format '{{json .Image}}' of a platform manifest: its image config.
  for (const img of Object.values(images)) entries[`${REPO}@${img.descriptor.digest}`] = { raw: (store.blobs.get(img.descriptor.digest) as Buffer).toString('base64'), image: (store.blobs.get(img.config.digest) as Buffer).toString('utf8') }
  entries[`${REPO}:main`] = { raw: (store.blobs.get(index.digest) as Buffer).toString('base64') }
  serve(entries)
  return { store, indexDigest: index.digest, images }
}

const size = (b: BuiltImage): number => b.config.size + b.layers.reduce((s, l) => s + l.size, 0)

describe('registrySizes through docker buildx imagetools', () => {
  it('reads the index, then each platform manifest and its config by digest; never attestations or layers', async () => {
    const { images, store } = await twoPlatforms()
    const last = (b: BuiltImage): number => b.layers[b.layers.length - 1]?.size ?? -1
    expect(await registrySizes(`${REPO}:main`)).toEqual({
      'linux/amd64': { compressed: size(images.amd64), appLayer: last(images.amd64) },
      'linux/arm64': { compressed: size(images.arm64), appLayer: last(images.arm64) }
    })
    const format = ['--format', '{{json .Image}}']
    expect(calls().map((c) => c.args)).toEqual([
      ['buildx', 'imagetools', 'inspect', '--raw', `${REPO}:main`],
      ['buildx', 'imagetools', 'inspect', '--raw', `${REPO}@${images.amd64.descriptor.digest}`],
      ['buildx', 'imagetools', 'inspect', ...format, `${REPO}@${images.amd64.descriptor.digest}`],
      ['buildx', 'imagetools', 'inspect', '--raw', `${REPO}@${images.arm64.descriptor.digest}`],
      ['buildx', 'imagetools', 'inspect', ...format, `${REPO}@${images.arm64.descriptor.digest}`]
    ])
    // The compressed size is what the manifest's descriptors say: the blobs are never fetched.
    expect(store.blobs.size).toBeGreaterThan(6)
  })

  it('passes the builder, and the environment this process holds (the DOCKER_CONFIG with the logins)', async () => {
    await twoPlatforms()
    process.env.DOCKER_CONFIG = path.join(dir, 'docker-config')
    await registrySizes(`${REPO}:main`, { builder: 'ci' })
    expect(calls()).toHaveLength(5)
    for (const c of calls()) {
      expect(c.args.slice(0, 5)).toEqual(['buildx', 'imagetools', 'inspect', '--builder', 'ci'])
      expect(c.dockerConfig).toBe(path.join(dir, 'docker-config'))
    }
  })

  it('reads an image by digest, and checks the bytes against it', async () => {
    const { indexDigest } = await twoPlatforms()
    expect(Object.keys(await registrySizes(`${REPO}@${indexDigest}`))).toEqual(['linux/amd64', 'linux/arm64'])
    const tampered = `${REPO}@sha256:${'e'.repeat(64)}`
    serve({ [tampered]: { raw: Buffer.from('{"schemaVersion":2,"manifests":[]}').toString('base64') } })
    const err = (await registrySizes(tampered).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toBeInstanceOf(RegistryReadError)
    expect(err.message).toMatch(new RegExp(`^the registry returned content with digest sha256:[a-f0-9]{64} for ${tampered.replace(/[.]/g, '\\.')}$`))
  })

  it('a platform manifest whose bytes do not match its digest is refused', async () => {
    const { images } = await twoPlatforms()
    serve({ [`${REPO}@${images.arm64.descriptor.digest}`]: { raw: Buffer.from('{"tampered":true}').toString('base64') } })
    await expect(registrySizes(`${REPO}:main`)).rejects.toThrow(`for ${REPO}@${images.arm64.descriptor.digest}`)
  })

  it('a single-manifest image: its platform comes from its config, read for that very manifest', async () => {
    const store = new MemoryStore()
    const img = await addImage(store, { arch: 'arm64', layers: [BASE_FILES, appFiles('arm64')], platformOnDescriptor: false })
    const digest = img.descriptor.digest
    serve({
      [`${REPO}:single`]: { raw: (store.blobs.get(digest) as Buffer).toString('base64') },
      [`${REPO}@${digest}`]: { image: (store.blobs.get(img.config.digest) as Buffer).toString('utf8') }
    })
    expect(await registrySizes(`${REPO}:single`)).toEqual({ 'linux/arm64': { compressed: size(img), appLayer: img.layers[1]?.size } })
    expect(calls().map((c) => c.args)).toEqual([
      ['buildx', 'imagetools', 'inspect', '--raw', `${REPO}:single`],
      ['buildx', 'imagetools', 'inspect', '--format', '{{json .Image}}', `${REPO}@${digest}`]
    ])
  })

  it('a missing image is ImageNotFoundError (no baseline), and says so without a warning', async () => {
    serve({})
    const err = await registrySizes(`${REPO}:nope`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ImageNotFoundError)
    expect(baselineFailure(`${REPO}:nope`, err)).toEqual({ reason: `the image ${REPO}:nope was not found in its registry` })
    expect(baselineFailure(`${REPO}:nope`, err, '`shown`').reason).toBe('the image `shown` was not found in its registry')
  })

  it('a platform whose config cannot be read keeps its size, without an app-layer split', async () => {
    const { images } = await twoPlatforms()
    serve({ [`${REPO}@${images.arm64.descriptor.digest}`]: { raw: table[`${REPO}@${images.arm64.descriptor.digest}`]?.raw } })
    const sizes = await registrySizes(`${REPO}:main`)
    expect(sizes['linux/arm64']).toEqual({ compressed: size(images.arm64) })
    expect(sizes['linux/amd64']?.appLayer).toBeDefined()
  })

  it('an index whose platform manifest is gone is a broken image, not a missing one', async () => {
    const { images } = await twoPlatforms()
    table = Object.fromEntries(Object.entries(table).filter(([ref]) => ref !== `${REPO}@${images.amd64.descriptor.digest}`))
    serve({})
    const err = (await registrySizes(`${REPO}:main`).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toBeInstanceOf(RegistryReadError)
    expect(err.message).toBe(`the index of ${REPO}:main lists ${images.amd64.descriptor.digest}, which the registry does not have`)
  })

  it('a refused read names the registry and says to log in with docker/login-action', async () => {
    serve({ [`${REPO}:main`]: { error: `ERROR: unexpected status from HEAD request to http://127.0.0.1:5001/v2/team/app/manifests/main: 401 Unauthorized\n` } })
    const err = (await registrySizes(`${REPO}:main`).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toBeInstanceOf(RegistryReadError)
    expect(err).toMatchObject({ kind: 'denied', registry: '127.0.0.1:5001' })
    const { warning, reason } = baselineFailure(`${REPO}:main`, err)
    expect(warning).toBe(
      `Baseline image ${REPO}:main could not be read: the registry 127.0.0.1:5001 refused access ` +
        `(unexpected status from HEAD request to http://127.0.0.1:5001/v2/team/app/manifests/main: 401 Unauthorized). ` +
        `Log in to 127.0.0.1:5001 before this step with docker/login-action (or the registry's credential helper): the action reads registries with the engine's own logins.`
    )
    expect(reason).toBe(`the registry 127.0.0.1:5001 refused access to the baseline image ${REPO}:main: log in to it with docker/login-action before this step`)
  })

  it('for ghcr.io the warning shows the login step that works with GITHUB_TOKEN', () => {
    const e = new RegistryReadError('denied', 'ghcr.io', 'denied')
    expect(baselineFailure('ghcr.io/o/app:main', e).warning).toContain(
      'For ghcr.io: docker/login-action with registry: ghcr.io, username: ${{ github.actor }}, password: ${{ secrets.GITHUB_TOKEN }}, and permissions: packages: read.'
    )
    expect(baselineFailure('127.0.0.1:5001/a:b', new RegistryReadError('denied', '127.0.0.1:5001', 'x')).warning).not.toContain('ghcr.io')
  })

  it('a credential helper that fails is named as such, not taken for a missing image', async () => {
    serve({ [`${REPO}:main`]: { error: 'ERROR: error getting credentials - err: exec: "docker-credential-ecr-login": executable file not found in $PATH, out: ``\n' } })
    const err = (await registrySizes(`${REPO}:main`).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toMatchObject({ kind: 'credential-helper', registry: '127.0.0.1:5001' })
    expect(baselineFailure(`${REPO}:main`, err).warning).toBe(
      `Baseline image ${REPO}:main could not be read: the docker credential helper for 127.0.0.1:5001 failed ` +
        '(error getting credentials - err: exec: "docker-credential-ecr-login": executable file not found in $PATH, out: ``). ' +
        'Install the credential helper the docker config names for 127.0.0.1:5001, or log in with docker/login-action before this step.'
    )
  })

  it('any other failure: a warning with the first line of docker\'s message, clipped', async () => {
    const long = `ERROR: failed to do request: Head "http://127.0.0.1:5001/v2/team/app/manifests/main": dial tcp 127.0.0.1:5001: connect: connection refused ${'x'.repeat(300)}`
    serve({ [`${REPO}:main`]: { error: `\n${long}\nsecond line\n` } })
    const err = (await registrySizes(`${REPO}:main`).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toMatchObject({ kind: 'other', registry: '127.0.0.1:5001' })
    expect(err.message).toMatch(/^failed to do request: Head "http:\/\/127\.0\.0\.1:5001\/v2\/team\/app\/manifests\/main": dial tcp .*… \(\d+ more characters\)$/)
    expect(err.message).not.toContain('second line')
    const { warning, reason } = baselineFailure(`${REPO}:main`, err)
    expect(warning).toMatch(new RegExp(`^Baseline image ${REPO.replace(/[.]/g, '\\.')}:main could not be read: failed to do request`))
    expect(reason).toBe(`the baseline image ${REPO}:main could not be read`)
  })

  it('a document that is neither an index nor a manifest is a warning, not a crash', async () => {
    serve({ [`${REPO}:main`]: { raw: Buffer.from('{"architecture":"amd64","os":"linux"}').toString('base64') } })
    const err = await registrySizes(`${REPO}:main`).catch((e: unknown) => e)
    expect(baselineFailure(`${REPO}:main`, err).warning).toBe(
      `Baseline image ${REPO}:main could not be read: the manifest of ${REPO}:main is neither an image index nor an image manifest (media type none)`
    )
  })

  it('no docker on PATH is a read error, not a crash', async () => {
    process.env.PATH = path.join(dir, 'empty')
    const err = (await inspectRaw('', `${REPO}:main`).catch((e: unknown) => e)) as RegistryReadError
    expect(err).toBeInstanceOf(RegistryReadError)
    expect(err.message).toMatch(/^docker could not be run: /)
  })
})

describe('registryOf', () => {
  it.each([
    ['alpine', 'docker.io'],
    ['user/app:1.0', 'docker.io'],
    ['docker.io/library/alpine:3.20', 'docker.io'],
    ['index.docker.io/user/app', 'docker.io'],
    ['ghcr.io/owner/app:main', 'ghcr.io'],
    ['myregistry.azurecr.io/team/app:main', 'myregistry.azurecr.io'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:main', '123456789012.dkr.ecr.eu-west-1.amazonaws.com'],
    ['localhost:5000/x:y', 'localhost:5000'],
    ['localhost/x', 'localhost'],
    ['127.0.0.1:5001/a/b/c', '127.0.0.1:5001'],
    [`registry.internal/o/app@sha256:${'a'.repeat(64)}`, 'registry.internal'],
    [`app@sha256:${'a'.repeat(64)}`, 'docker.io']
  ])('%s is on %s', (ref, registry) => {
    expect(registryOf(ref)).toBe(registry)
  })
})

describe('classifyFailure: what buildx and the registries say', () => {
  it.each([
    ['ERROR: 127.0.0.1:5000/aot-e2e/todoapi:nope: not found', 'not-found'],
    [`ERROR: ghcr.io/o/app@sha256:${'0'.repeat(64)}: not found`, 'not-found'],
    ['ERROR: failed to resolve: MANIFEST_UNKNOWN: manifest unknown', 'not-found'],
    ['ERROR: NAME_UNKNOWN: repository name not known to registry', 'not-found'],
    ['ERROR: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials', 'denied'],
    ['ERROR: unexpected status from HEAD request to http://127.0.0.1:5001/v2/x/manifests/1: 401 Unauthorized', 'denied'],
    ['ERROR: failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized', 'denied'],
    ['ERROR: unexpected status from HEAD request to https://ghcr.io/v2/o/app/manifests/main: 403 Forbidden', 'denied'],
    ['ERROR: denied: Your authorization token has expired. Reauthenticate and try again.', 'denied'],
    ['ERROR: unauthorized: authentication required', 'denied'],
    ['ERROR: error getting credentials - err: exec: "docker-credential-acr-env": executable file not found in $PATH, out: ``', 'credential-helper'],
    ['ERROR: error getting credentials - err: exit status 1, out: `credentials not found in native keychain`', 'credential-helper'],
    ['ERROR: failed to do request: Head "https://registry.internal/v2/x/manifests/1": dial tcp: lookup registry.internal: no such host', 'other'],
    ['ERROR: invalid reference format: repository name (Bad) must be lowercase', 'other'],
    ['ERROR: failed to do request: Head "https://r.io/v2/x/manifests/1": tls: failed to verify certificate: x509: certificate signed by unknown authority', 'other']
  ])('%s', (text, kind) => {
    expect(classifyFailure(text)).toBe(kind)
  })

  it('firstLine drops buildx\'s ERROR: prefix and shows control characters', () => {
    expect(firstLine('\n  ERROR: one\ntwo')).toBe('one')
    expect(firstLine('bad \u001b[31mred')).toBe('bad \\x1b[31mred')
    expect(firstLine('')).toBe('')
  })

  it('the advice for TROUBLESHOOTING.md names docker/login-action', () => {
    expect(BASELINE_ADVICE.denied).toContain('docker/login-action')
    expect(BASELINE_ADVICE.credentialHelper).toContain('docker/login-action')
  })
})
