// The registry reader against a real HTTP server on 127.0.0.1 that speaks the few
// distribution-spec endpoints used: manifests by tag and digest, blobs, and a Bearer token
// service. The images are real OCI images built in memory by the shared fixtures.
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ImageNotFoundError, parseChallenge, parseReference, referenceString, registrySizes } from '../../src/image/registry.js'
import { MT, MemoryStore, multiArchImage, type BuiltImage } from '../fixtures/oci-image.js'
import { at } from '../helpers.js'
import type { Arch } from '../../src/dotnet/platforms.js'

interface Seen {
  method: string
  url: string
  accept: string
  authorization: string
}

interface Registry {
  port: number
  seen: Seen[]
  images: Record<Arch, BuiltImage>
  indexDigest: string
  attestations: string[]
  store: MemoryStore
  close: () => Promise<void>
}

interface Mode {
  /** Require a Bearer token from /token for every /v2 request. */
  token?: boolean
  /** Basic credentials the token service requires. */
  basic?: { username: string; password: string }
  /** Serve other bytes for this platform's config blob. */
  corruptConfigOf?: Arch
}

const TOKEN = 'tok-2f9a61'

async function startRegistry(mode: Mode = {}): Promise<Registry> {
  const store = new MemoryStore()
  const { index, images } = await multiArchImage(store)
  const manifests = new Map<string, string>()
  for (const [digest, body] of store.blobs) {
    try {
      const doc = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests?: unknown; layers?: unknown }
      if (doc.manifests !== undefined || doc.layers !== undefined) manifests.set(digest, doc.mediaType ?? MT.manifest)
    } catch {
      // a layer
    }
  }
  const indexBody = JSON.parse((store.blobs.get(index.digest) as Buffer).toString('utf8')) as { manifests: { digest: string; platform?: { os: string } }[] }
  const attestations = indexBody.manifests.filter((m) => m.platform?.os === 'unknown').map((m) => m.digest)
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    const url = req.url ?? ''
    seen.push({ method: req.method ?? '', url, accept: req.headers.accept ?? '', authorization: req.headers.authorization ?? '' })
    const port = (server.address() as AddressInfo).port
    if (url.startsWith('/token')) {
      const q = new URL(url, 'http://x').searchParams
      const want = mode.basic ? `Basic ${Buffer.from(`${mode.basic.username}:${mode.basic.password}`).toString('base64')}` : undefined
      if (q.get('service') !== 'test-registry' || q.get('scope') !== 'repository:team/app:pull' || (want !== undefined && req.headers.authorization !== want)) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}')
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }))
      return
    }
    if (mode.token && req.headers.authorization !== `Bearer ${TOKEN}`) {
      res
        .writeHead(401, {
          'Content-Type': 'application/json',
          'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:team/app:pull"`
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}')
      return
    }
    const m = /^\/v2\/team\/app\/(manifests|blobs)\/([^/?]+)$/.exec(url)
    let digest = m?.[2] ?? ''
    if (m?.[1] === 'manifests' && digest === 'main') digest = index.digest
    const body = store.blobs.get(digest)
    const isManifest = manifests.has(digest)
    if (m === null || body === undefined || (m[1] === 'manifests') !== isManifest) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
      return
    }
    const type = isManifest ? (manifests.get(digest) as string) : 'application/octet-stream'
    const sent = mode.corruptConfigOf !== undefined && images[mode.corruptConfigOf].config.digest === digest ? Buffer.from('{"tampered":true}') : body
    res.writeHead(200, { 'Content-Type': type, 'Docker-Content-Digest': digest, 'Content-Length': sent.length }).end(sent)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    images,
    indexDigest: index.digest,
    attestations,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          resolve()
        })
      })
  }
}

function expectedSizes(r: Registry): Record<string, { compressed: number; appLayer: number }> {
  // The app layer is the last: BuildKit's history says a COPY made it, as the generated Dockerfile does.
  const size = (b: BuiltImage): { compressed: number; appLayer: number } => ({ compressed: b.config.size + b.layers.reduce((s, l) => s + l.size, 0), appLayer: at(b.layers, -1).size })
  return { 'linux/amd64': size(r.images.amd64), 'linux/arm64': size(r.images.arm64) }
}

let reg: Registry | undefined
afterEach(async () => {
  await reg?.close()
  reg = undefined
})

describe('registrySizes over HTTP', () => {
  it('reads the index, the two platform manifests and their configs; never attestations or layers', async () => {
    reg = await startRegistry()
    const sizes = await registrySizes(`127.0.0.1:${reg.port}/team/app:main`)
    expect(sizes).toEqual(expectedSizes(reg))
    const { amd64, arm64 } = reg.images
    expect(reg.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /v2/team/app/manifests/main',
      `GET /v2/team/app/manifests/${amd64.descriptor.digest}`,
      `GET /v2/team/app/blobs/${amd64.config.digest}`,
      `GET /v2/team/app/manifests/${arm64.descriptor.digest}`,
      `GET /v2/team/app/blobs/${arm64.config.digest}`
    ])
    const urls = reg.seen.map((s) => s.url).join('\n')
    expect(reg.attestations).toHaveLength(2)
    for (const a of reg.attestations) expect(urls).not.toContain(a)
    for (const l of [...amd64.layers, ...arm64.layers]) expect(urls).not.toContain(l.digest)
    // Manifest requests accept every index and manifest type, OCI and Docker.
    for (const s of reg.seen.filter((x) => x.url.includes('/manifests/'))) {
      for (const t of [MT.index, MT.manifest, 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json']) {
        expect(s.accept).toContain(t)
      }
    }
    expect(reg.seen.every((s) => s.authorization === '')).toBe(true)
  })

  it('reads an image by digest', async () => {
    reg = await startRegistry()
    expect(await registrySizes(`127.0.0.1:${reg.port}/team/app@${reg.indexDigest}`)).toEqual(expectedSizes(reg))
    expect(at(reg.seen, 0).url).toBe(`/v2/team/app/manifests/${reg.indexDigest}`)
  })

  it('reads a single-platform image by its manifest digest', async () => {
    reg = await startRegistry()
    const sizes = await registrySizes(`127.0.0.1:${reg.port}/team/app@${reg.images.arm64.descriptor.digest}`)
    expect(sizes).toEqual({ 'linux/arm64': expectedSizes(reg)['linux/arm64'] })
  })

  it('answers a 401 with the anonymous token flow, once, then sends the Bearer token', async () => {
    reg = await startRegistry({ token: true })
    expect(await registrySizes(`127.0.0.1:${reg.port}/team/app:main`)).toEqual(expectedSizes(reg))
    const tokenCalls = reg.seen.filter((s) => s.url.startsWith('/token'))
    expect(tokenCalls).toHaveLength(1)
    expect(at(tokenCalls, 0).url).toBe('/token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull')
    expect(at(tokenCalls, 0).authorization).toBe('')
    expect(reg.seen[0]).toMatchObject({ url: '/v2/team/app/manifests/main', authorization: '' })
    expect(at(reg.seen, 1).url).toBe(at(tokenCalls, 0).url)
    // Every later registry request carries the token: exactly one 401 round trip.
    const v2 = reg.seen.slice(2)
    expect(v2).toHaveLength(5)
    expect(v2.every((s) => s.url.startsWith('/v2/') && s.authorization === `Bearer ${TOKEN}`)).toBe(true)
  })

  it('sends basic credentials to the token service only', async () => {
    const creds = { username: 'bot', password: 's3cret-pass' }
    reg = await startRegistry({ token: true, basic: creds })
    expect(await registrySizes(`127.0.0.1:${reg.port}/team/app:main`, { credentials: creds })).toEqual(expectedSizes(reg))
    const basic = `Basic ${Buffer.from('bot:s3cret-pass').toString('base64')}`
    expect(reg.seen.filter((s) => s.authorization === basic).map((s) => s.url)).toEqual(['/token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull'])
  })

  it('a refused token request is an error that does not reveal the credentials', async () => {
    reg = await startRegistry({ token: true, basic: { username: 'bot', password: 'right' } })
    const err = (await registrySizes(`127.0.0.1:${reg.port}/team/app:main`, { credentials: { username: 'bot', password: 'wrong-pass' } }).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toMatch(/token service http:\/\/127\.0\.0\.1:\d+\/token answered 401/)
    expect(err.message).not.toContain('wrong-pass')
    expect(err.message).not.toContain(Buffer.from('bot:wrong-pass').toString('base64'))
  })

  it('a missing tag is ImageNotFoundError (no baseline), not a generic failure', async () => {
    reg = await startRegistry()
    const err = await registrySizes(`127.0.0.1:${reg.port}/team/app:nope`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ImageNotFoundError)
    expect((err as Error).message).toBe(`image 127.0.0.1:${reg.port}/team/app:nope was not found in its registry`)
  })

  it('rejects content whose digest does not match', async () => {
    reg = await startRegistry({ corruptConfigOf: 'amd64' })
    await expect(registrySizes(`127.0.0.1:${reg.port}/team/app:main`)).rejects.toThrow(`the content's digest is sha256:`)
  })
})

describe('scheme', () => {
  it('uses https for a remote registry and http for localhost, unless told otherwise', async () => {
    const urls: string[] = []
    const fake = ((url: string | URL) => {
      urls.push(String(url))
      return Promise.resolve(new Response('{}', { status: 404 }))
    }) as typeof fetch
    for (const ref of ['ghcr.io/o/app:main', 'localhost:5000/x:y', 'alpine']) await registrySizes(ref, { fetch: fake }).catch(() => undefined)
    await registrySizes('registry.internal:5000/x:y', { fetch: fake, plainHttp: true }).catch(() => undefined)
    expect(urls).toEqual([
      'https://ghcr.io/v2/o/app/manifests/main',
      'http://localhost:5000/v2/x/manifests/y',
      'https://registry-1.docker.io/v2/library/alpine/manifests/latest',
      'http://registry.internal:5000/v2/x/manifests/y'
    ])
  })
})

describe('parseReference', () => {
  const D = `sha256:${'ab'.repeat(32)}`
  it.each([
    ['alpine', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: 'latest', reference: 'latest' }],
    ['user/app:1.0', { registry: 'registry-1.docker.io', repository: 'user/app', tag: '1.0', reference: '1.0' }],
    ['docker.io/library/alpine:3.20', { registry: 'registry-1.docker.io', repository: 'library/alpine', tag: '3.20', reference: '3.20' }],
    ['index.docker.io/nginx', { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['ghcr.io/owner/app:main', { registry: 'ghcr.io', repository: 'owner/app', tag: 'main', reference: 'main' }],
    ['localhost:5000/x:y', { registry: 'localhost:5000', repository: 'x', tag: 'y' }],
    ['localhost/x', { registry: 'localhost', repository: 'x', tag: 'latest' }],
    ['127.0.0.1:5000/a/b/c', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'latest' }],
    [`ghcr.io/o/app@${D}`, { registry: 'ghcr.io', repository: 'o/app', tag: undefined, digest: D, reference: D }],
    [`ghcr.io/o/app:main@${D}`, { registry: 'ghcr.io', repository: 'o/app', tag: 'main', digest: D, reference: D }],
    [`nginx@${D}`, { registry: 'registry-1.docker.io', repository: 'library/nginx', digest: D, reference: D }]
  ])('%s', (ref, want) => {
    expect(parseReference(ref)).toMatchObject(want)
  })

  it.each(['Upper/app', 'app@sha256:xyz', 'app:bad tag', 'ghcr.io/', '', 'app:', 'a//b'])('%p is rejected', (ref) => {
    expect(() => parseReference(ref)).toThrow(/is not an image reference/)
  })

  it('referenceString is the canonical form', () => {
    expect(referenceString(parseReference('alpine'))).toBe('registry-1.docker.io/library/alpine:latest')
    expect(referenceString(parseReference(`ghcr.io/o/app:main@${D}`))).toBe(`ghcr.io/o/app@${D}`)
  })
})

describe('parseChallenge', () => {
  it('reads quoted parameters, commas inside quotes included', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:a/b:pull,push' }
    })
    expect(parseChallenge('Basic realm=Registry')).toEqual({ scheme: 'basic', params: { realm: 'Registry' } })
    expect(parseChallenge('')).toEqual({ scheme: '', params: {} })
  })
})
