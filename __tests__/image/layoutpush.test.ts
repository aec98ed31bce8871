// Push by digest on the docker driver: the OCI layout served read-only as a registry for
// `docker buildx imagetools create` to copy from.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseLayoutRequest, pushRaceLost, serveLayout, type LayoutServer } from '../../src/image/layoutpush.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseLayoutRequest', () => {
  it.each([
    ['GET', '/v2/', { kind: 'ping' }],
    ['GET', '/v2', { kind: 'ping' }],
    ['HEAD', `/v2/layout/manifests/${D}`, { kind: 'manifests', digest: D }],
    ['GET', `/v2/layout/blobs/${D}`, { kind: 'blobs', digest: D }],
    ['GET', `/v2/some/nested/name/blobs/${D}?ns=docker.io`, { kind: 'blobs', digest: D }],
    ['GET', '/v2/layout/manifests/latest', undefined],
    ['GET', '/v2/layout/blobs/sha256:abc', undefined],
    ['GET', `/v2/layout/blobs/sha256:${'A'.repeat(64)}`, undefined],
    ['GET', `/v2/../../etc/blobs/${D}`, undefined],
    ['GET', '/v2/layout/blobs/uploads/', undefined],
    ['POST', '/v2/layout/blobs/uploads/', undefined],
    ['PUT', `/v2/layout/manifests/${D}`, undefined],
    ['DELETE', `/v2/layout/manifests/${D}`, undefined]
  ])('%s %s', (method, url, want) => {
    expect(parseLayoutRequest(method, url)).toEqual(want)
  })
})

describe('serveLayout', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }))
  const layer = Buffer.from('layer bytes')
  const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
  let dir = ''
  let server: LayoutServer

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-layout-'))
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
    for (const b of [manifest, layer]) fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha(b).slice(7)), b)
    server = await serveLayout(dir)
  })

  afterAll(async () => {
    await server.close()
  })

  it('listens on 127.0.0.1 only', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('answers the registry ping', async () => {
    const res = await fetch(`http://${server.address}/v2/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
  })

  it('serves a manifest by digest with its media type and digest', async () => {
    const res = await fetch(`http://${server.address}/v2/layout/manifests/${sha(manifest)}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json')
    expect(res.headers.get('docker-content-digest')).toBe(sha(manifest))
    expect(Buffer.from(await res.arrayBuffer())).toEqual(manifest)
  })

  it('HEAD gives the length without a body', async () => {
    const res = await fetch(`http://${server.address}/v2/layout/blobs/${sha(layer)}`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(layer.length))
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })

  it('serves a blob', async () => {
    const res = await fetch(`http://${server.address}/v2/layout/blobs/${sha(layer)}`)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(Buffer.from(await res.arrayBuffer())).toEqual(layer)
  })

  it.each([
    ['GET', `/v2/layout/blobs/${D}`],
    ['GET', '/v2/layout/manifests/latest'],
    ['POST', '/v2/layout/blobs/uploads/'],
    ['PUT', `/v2/layout/manifests/${D}`]
  ])('%s %s: 404, nothing written', async (method, url) => {
    const res = await fetch(`http://${server.address}${url}`, { method, body: method === 'GET' ? undefined : 'x' })
    expect(res.status).toBe(404)
    expect(fs.readdirSync(path.join(dir, 'blobs', 'sha256')).sort()).toEqual([sha(manifest), sha(layer)].map((d) => d.slice(7)).sort())
  })
})

test('pushRaceLost: a manifest that names a blob the registry has not committed yet, not other push failures', () => {
  expect(pushRaceLost('errors:\nunknown: provided digest did not match uploaded content\nunknown: blob unknown to registry\n')).toBe(true)
  expect(pushRaceLost('err.code="manifest blob unknown"')).toBe(true)
  expect(pushRaceLost('dial tcp 127.0.0.1:5000: connect: connection refused')).toBe(false)
  expect(pushRaceLost('401 Unauthorized')).toBe(false)
})
