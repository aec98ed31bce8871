// Push by digest on the docker driver, which buildx refuses to do ("push-by-digest is
// currently not implemented for docker driver"). The build has written an OCI layout anyway;
// it is served read-only on 127.0.0.1 for the few seconds `docker buildx imagetools create
// --tag <repo>@<digest>` needs to copy it to the registry. buildx does the copy with the
// engine's own registry credentials, which the action never reads; no tag is created.
import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { layoutPushArgv } from './scale.js'
import { run } from '../util/proc.js'

export type LayoutRequest = { kind: 'ping' } | { kind: 'manifests' | 'blobs'; digest: string }

/** The registry API requests the server answers: /v2/ and manifests or blobs by sha256 digest. */
export function parseLayoutRequest(method: string, url: string): LayoutRequest | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined
  const [p = ''] = url.split('?')
  if (p === '/v2/' || p === '/v2') return { kind: 'ping' }
  const [, kind, digest] = /^\/v2\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*\/(manifests|blobs)\/(sha256:[a-f0-9]{64})$/.exec(p) ?? []
  return (kind === 'manifests' || kind === 'blobs') && digest !== undefined ? { kind, digest } : undefined
}

function mediaTypeOf(body: Buffer): string {
  try {
    const t = (JSON.parse(body.toString('utf8')) as { mediaType?: unknown }).mediaType
    if (typeof t === 'string') return t
  } catch {
    // not a manifest
  }
  return 'application/vnd.oci.image.manifest.v1+json'
}

export interface LayoutServer {
  /** host:port of the server; images are addressed as <address>/layout@<digest>. */
  address: string
  close(): Promise<void>
}

/** Serves the blobs of an OCI layout folder, read-only, on 127.0.0.1 (a random port). */
export async function serveLayout(dir: string): Promise<LayoutServer> {
  const blobs = path.join(dir, 'blobs', 'sha256')
  const server = http.createServer((req, res) => {
    const r = parseLayoutRequest(req.method ?? '', req.url ?? '')
    if (r === undefined) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNSUPPORTED"}]}')
      return
    }
    if (r.kind === 'ping') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' }).end('{}')
      return
    }
    let body: Buffer
    try {
      body = fs.readFileSync(path.join(blobs, r.digest.slice('sha256:'.length)))
    } catch {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}')
      return
    }
    res.writeHead(200, {
      'Content-Type': r.kind === 'manifests' ? mediaTypeOf(body) : 'application/octet-stream',
      'Content-Length': body.length,
      'Docker-Content-Digest': r.digest,
      'Docker-Distribution-API-Version': 'registry/2.0'
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          resolve()
        })
      })
  }
}

/**
 * A push that failed because the registry did not yet have a blob the manifest names: buildx
 * 0.29's imagetools create (containerd's pusher) can PUT a manifest while one of its blobs is
 * still being committed; the same push a moment later succeeds (seen with Docker 28.5 against
 * the distribution registry). Pushing again is safe: what is there already is skipped.
 */
export function pushRaceLost(log: string): boolean {
  return /blob unknown to registry|manifest blob unknown/.test(log)
}

/** Pushes the layout's image `digest` to each reference (repo@digest, or repo:tag); once more after a lost race. */
export async function pushLayout(dir: string, builder: string, refs: string[], digest: string): Promise<{ code: number; log: string }> {
  const server = await serveLayout(dir)
  try {
    const argv = layoutPushArgv(builder, refs, digest, `${server.address}/layout`)
    let r = await run('docker', argv, { stream: true })
    if (r.code !== 0 && pushRaceLost(`${r.stdout}\n${r.stderr}`)) {
      core.info('The registry did not have a blob yet when its manifest arrived (a race inside the push): pushing again.')
      r = await run('docker', argv, { stream: true })
    }
    return { code: r.code, log: `${r.stdout}\n${r.stderr}` }
  } finally {
    await server.close()
  }
}
