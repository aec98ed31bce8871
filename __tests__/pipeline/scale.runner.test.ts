// The scale-out modes run from dist/index.js exactly as a runner runs them, with a fake
// `docker` first on PATH that records its argv: push by digest (docker driver: the OCI layout
// served to imagetools; other drivers: buildx pushes), merge, a given builder, and a pinned
// buildx installed over real HTTP. The real engine proof is e2e/scale.e2e.test.ts.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from '@jest/globals'
import { FAKE_FACTS, isEvaluation, layer, output, readOutputs, runnerEnv, SANDBOX_PASSTHROUGH, sha } from './fakes.js'
import { at, defined } from '../helpers.js'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

const FAKE_DOCKER = `#!/usr/bin/env node
const fs = require('fs'), path = require('path'), crypto = require('crypto'), cp = require('child_process')
const args = process.argv.slice(2)
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(args) + '\\n')
const j = args.join(' ')
const mode = process.env.FAKE_MODE || 'ok'
${SANDBOX_PASSTHROUGH}const plugin = process.env.DOCKER_CONFIG ? path.join(process.env.DOCKER_CONFIG, 'cli-plugins', 'docker-buildx') : ''
if (j === 'buildx version') {
  if (plugin && fs.existsSync(plugin)) { process.stdout.write(cp.execFileSync(plugin, args)); process.exit(0) }
  console.log('github.com/docker/buildx ' + (mode === 'old' ? '0.12.1' : '0.13.1') + ' 0.13.1+ds1-3'); process.exit(0)
}
if (j.startsWith('buildx inspect')) {
  const driver = process.env.FAKE_DRIVER || 'docker'
  const platforms = process.env.FAKE_PLATFORMS || 'linux/amd64, linux/amd64/v2, linux/arm64'
  console.log('Name:          ' + (args[2] && args[2] !== '--bootstrap' ? args[2] : 'default') + '\\nDriver:        ' + driver + '\\n\\nNodes:\\nName:      n0\\nPlatforms: ' + platforms); process.exit(0)
}
if (j.startsWith('info')) { console.log(JSON.stringify({ DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] })); process.exit(0) }
${FAKE_FACTS}if (args[0] === 'buildx' && args[1] === 'build') {
  const out = args[args.indexOf('--output') + 1].replace(/^.*dest=/, '')
  fs.cpSync(process.env.FAKE_LAYOUT, out, { recursive: true })
  fs.writeFileSync(args[args.indexOf('--metadata-file') + 1], JSON.stringify({ 'containerimage.digest': process.env.FAKE_ROOT_DIGEST }))
  process.exit(0)
}
if (args[0] === 'buildx' && args[1] === 'imagetools' && args[2] === 'create') {
  const src = args[args.length - 1]
  const m = /^(127\\.0\\.0\\.1:\\d+)\\/layout@(sha256:[a-f0-9]{64})$/.exec(src)
  if (m) {
    // The layout push: read the image back from the action's server, as buildx would.
    fetch('http://' + m[1] + '/v2/layout/manifests/' + m[2]).then(async (res) => {
      const body = Buffer.from(await res.arrayBuffer())
      const got = 'sha256:' + crypto.createHash('sha256').update(body).digest('hex')
      fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['served', res.status, got === m[2]]) + '\\n')
      process.exit(got === m[2] ? 0 : 1)
    })
  } else {
    if (mode === 'create-fails') { process.stderr.write('ERROR: ' + src + ': not found\\n'); process.exit(1) }
    process.exit(0)
  }
} else if (args[0] === 'image' && args[1] === 'inspect' && (args[args.length - 1] || '').startsWith('mcr.microsoft.com/')) {
  // The default base images are in the engine's store, as the stand-ins are.
  console.log('sha256:' + 'b'.repeat(64))
} else if (args[0] === 'buildx' && args[1] === 'imagetools' && args[2] === 'inspect') {
  const reg = JSON.parse(fs.readFileSync(process.env.FAKE_REGISTRY, 'utf8'))
  const ref = args[args.length - 1]
  if (!reg[ref]) { process.stderr.write('ERROR: ' + ref + ': not found\\n'); process.exit(1) }
  process.stdout.write(Buffer.from(reg[ref], 'base64'))
} else {
  process.stderr.write('fake docker: unexpected ' + j + '\\n'); process.exit(3)
}
`

/** A one-platform OCI layout whose root is the image manifest, as the docker driver writes it. */
async function makeLayout(dir: string, arch: 'amd64' | 'arm64'): Promise<string> {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  const put = (b: Buffer): { digest: string; size: number } => {
    const d = sha(b)
    fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), b)
    return { digest: d, size: b.length }
  }
  const elf = Buffer.alloc(64)
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0)
  elf.writeUInt16LE(arch === 'amd64' ? 0x3e : 0xb7, 18)
  const app = put(await layer({ 'app/TodoApi': Buffer.concat([elf, Buffer.alloc(3000, 1)]) }))
  const config = put(Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Entrypoint: ['/app/TodoApi'], User: '1654', WorkingDir: '/app' } })))
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...app }]
      })
    )
  )
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { os: 'linux', architecture: arch } }] })
  )
  return manifest.digest
}

interface Run {
  code: number
  stdout: string
  outputs: Record<string, string>
  summary: string
  calls: unknown[][]
  workspace: string
  state: string
}

async function runAction(inputs: Record<string, string>, extraEnv: Record<string, string> = {}, arch: 'amd64' | 'arm64' = 'arm64'): Promise<Run> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-scale-runner-'))
  const workspace = path.join(root, 'ws')
  const temp = path.join(root, 'temp')
  const bin = path.join(root, 'bin')
  fs.mkdirSync(temp)
  fs.mkdirSync(bin)
  fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(workspace, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 })
  const layout = path.join(root, 'layout')
  const rootDigest = await makeLayout(layout, arch)
  const callLog = path.join(root, 'calls.log')
  const env = runnerEnv({ workspace, temp, bin, callLog, drop: ['DOCKER_CONFIG'] })
  // A test may bring its own registry contents.
  const registryFile = extraEnv.FAKE_REGISTRY ?? path.join(root, 'registry.json')
  Object.assign(env, {
    RUNNER_TOOL_CACHE: path.join(root, 'toolcache'),
    DOCKER_CONFIG: path.join(root, 'user-docker-config'),
    FAKE_LAYOUT: layout,
    FAKE_ROOT_DIGEST: rootDigest,
    ...extraEnv,
    FAKE_REGISTRY: registryFile
  })
  if (!fs.existsSync(registryFile)) fs.writeFileSync(registryFile, '{}')
  // The smoke test is run() in-process (main.test.ts) and on the real engine (e2e/smoke): these fakes run no container.
  for (const [k, v] of Object.entries({ 'smoke-test': 'false', ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v
  // Asynchronous: a test's own HTTP server must keep answering while the action runs.
  const child = spawn('node', [path.join(REPO, 'dist', 'index.js')], { env, cwd: workspace })
  let stdout = ''
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stdout += b.toString()))
  const code = await new Promise<number>((resolve) => {
    child.on('close', (c) => {
      resolve(c ?? -1)
    })
  })
  return {
    code,
    stdout,
    outputs: readOutputs(env.GITHUB_OUTPUT ?? ''),
    summary: fs.readFileSync(env.GITHUB_STEP_SUMMARY ?? '', 'utf8'),
    calls: fs.readFileSync(callLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown[]),
    workspace,
    state: fs.readFileSync(env.GITHUB_STATE ?? '', 'utf8')
  }
}

/** Success, or the failure with the action's log. */
function expectSuccess(r: Run): void {
  if (r.code !== 0) throw new Error(`the action failed (exit ${r.code}):\n${r.stdout.slice(-4000)}`)
}

const buildCall = (r: Run): string[] => r.calls.find((c) => c[0] === 'buildx' && c[1] === 'build') as string[]
const imagetoolsCalls = (r: Run): string[][] => r.calls.filter((c) => c[0] === 'buildx' && c[1] === 'imagetools') as string[][]

describe('push-by-digest, one platform per job', () => {
  test('docker driver: no tag, the OCI layout pushed by digest through imagetools, digest and sizes out', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/arm64', tags: 'localhost:5000/todo:1\nlocalhost:5000/todo:latest', 'push-by-digest': 'true' })
    expectSuccess(r)
    const build = buildCall(r)
    expect(build).not.toContain('--tag')
    expect(build.filter((_a, i) => build[i - 1] === '--output')).toEqual([expect.stringMatching(/^type=oci,tar=false,attestation-inline=true,dest=/)])
    expect(build.slice(build.indexOf('--platform'), build.indexOf('--platform') + 2)).toEqual(['--platform', 'linux/arm64'])
    const digest = r.outputs.digest
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/)
    // First asked whether the registry holds that digest already (this fake registry does not).
    expect(at(imagetoolsCalls(r), 0, 'imagetools call')).toEqual(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest.Digest}}', `localhost:5000/todo@${digest}`])
    const create = at(imagetoolsCalls(r), 1, 'imagetools call')
    expect(create.slice(0, 8)).toEqual(['buildx', 'imagetools', 'create', '--builder', 'default', '--progress', 'plain', '--tag'])
    // One repository (two tags of it), by digest; the source is the layout server on loopback.
    expect(create.slice(8)).toEqual([`localhost:5000/todo@${digest}`, expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+/layout@${digest}$`))])
    expect(r.calls).toContainEqual(['served', 200, true])
    const sizes = JSON.parse(output(r, 'sizes')) as Record<string, { compressed: number; digest: string }>
    expect(Object.keys(sizes)).toEqual(['linux/arm64'])
    expect(defined(sizes['linux/arm64']).digest).toBe(digest)
    expect(r.outputs['size-linux-arm64']).toBe(String(defined(sizes['linux/arm64']).compressed))
    expect(r.outputs['size-linux-amd64']).toBeUndefined()
    expect(r.summary).toContain(`Pushed: \`localhost:5000/todo@${digest}\``)
    expect(r.stdout).toContain('On the docker driver the images are pushed from their OCI layout, once, after the build and their checks.')
  })

  test('a given docker-container builder with the SBOM on: the build pushes nothing, the layout is pushed by digest after it (a single manifest gets no SBOM, and the log says why)', async () => {
    const r = await runAction(
      { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64', tags: 'ghcr.io/o/todo:1', 'push-by-digest': 'true', builder: 'arm-box' },
      { FAKE_DRIVER: 'docker-container', FAKE_PLATFORMS: 'linux/arm64, linux/arm/v7' },
      'amd64'
    )
    expectSuccess(r)
    const build = buildCall(r)
    expect(build.join(' ')).not.toContain('push-by-digest=true')
    expect(r.calls.filter((c) => c[0] === 'buildx' && c[1] === 'build' && c.includes('aot-facts'))).toHaveLength(1)
    const built = (JSON.parse(output(r, 'metadata')) as Record<string, unknown>)['containerimage.digest']
    expect(r.outputs.digest).toBe(built)
    expect(imagetoolsCalls(r).filter((c) => c[2] === 'create').map((c) => c[c.length - 1])).toEqual([expect.stringMatching(new RegExp(`/layout@${String(built)}$`))])
    expect(r.stdout).toContain('The images are pushed from their OCI layout, once, after the build, their checks and the SBOM.')
    expect(r.stdout).toContain('dotnet-sbom: the images carry no SBOM of their .NET packages: the image is a single manifest, not an index with attestations')
  })

  test('a given docker-container builder with dotnet-sbom: false: buildx pushes by digest itself, no QEMU, no imagetools', async () => {
    const r = await runAction(
      { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64', tags: 'ghcr.io/o/todo:1', 'push-by-digest': 'true', builder: 'arm-box', 'setup-qemu': 'true', 'dotnet-sbom': 'false' },
      { FAKE_DRIVER: 'docker-container', FAKE_PLATFORMS: 'linux/arm64, linux/arm/v7' },
      'amd64'
    )
    expectSuccess(r)
    const build = buildCall(r)
    expect(build.slice(0, 4)).toEqual(['buildx', 'build', '--builder', 'arm-box'])
    expect(build.slice(-3)).toEqual(['--output', 'type=image,name=ghcr.io/o/todo,push-by-digest=true,name-canonical=true,push=true', path.join(r.workspace, 'TodoApi')])
    expect(build).not.toContain('--tag')
    expect(imagetoolsCalls(r)).toEqual([])
    expect(r.calls.some((c) => c[0] === 'run' && !isEvaluation(c as string[]))).toBe(false)
    expect(r.stdout).toContain('linux/amd64: not listed by builder "arm-box"; it will be cross-compiled on linux/arm64')
    expect(r.stdout).not.toContain('creating a docker-container builder')
    expect(r.outputs.digest).toBe((JSON.parse(output(r, 'metadata')) as Record<string, unknown>)['containerimage.digest'])
  })

  test('a given builder whose node the SDK cannot run on fails before the build', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', builder: 'mainframe' }, { FAKE_DRIVER: 'remote', FAKE_PLATFORMS: 'linux/s390x' })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/::error::linux\/amd64 would be built on builder "mainframe", which runs on linux\/s390x: the \.NET SDK/)
    expect(buildCall(r)).toBeUndefined()
  })

  test('two platforms with push-by-digest is an input error', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', 'push-by-digest': 'true' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::Input "platforms": push-by-digest builds one platform per job, but 2 are given')
    expect(r.calls).toEqual([])
  })
})

describe('mode: merge', () => {
  const repo = 'localhost:5000/todo'
  const M = 'application/vnd.oci.image.manifest.v1+json'
  const manifest = (arch: string, sizes: number[]): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: M,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(Buffer.from(`config-${arch}`)), size: sizes[0] },
        layers: sizes.slice(1).map((s, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(Buffer.from(`${arch}-${i}`)), size: s }))
      })
    )
  const amd = manifest('amd64', [1000, 5_000_000, 9_000_000])
  const arm = manifest('arm64', [1001, 5_100_000, 8_000_000])
  const att = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: M, config: { digest: sha(Buffer.from('a')), size: 1 }, layers: [] }))
  const index = (entries: Buffer[]): Buffer =>
    Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            ...entries.map((b) => ({ mediaType: M, digest: sha(b), size: b.length, platform: { os: 'linux', architecture: b === amd ? 'amd64' : 'arm64' } })),
            { mediaType: M, digest: sha(att), size: att.length, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': sha(amd) } }
          ]
        },
        null,
        2
      )
    )

  function registry(idx: Buffer): string {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aot-scale-reg-')), 'registry.json')
    fs.writeFileSync(
      f,
      JSON.stringify({ [`${repo}:1`]: idx.toString('base64'), [`${repo}@${sha(amd)}`]: amd.toString('base64'), [`${repo}@${sha(arm)}`]: arm.toString('base64') })
    )
    return f
  }

  test('joins the digests under the tags and reports the index read back from the registry', async () => {
    const idx = index([amd, arm])
    const r = await runAction({ mode: 'merge', tags: `${repo}:1\n${repo}:latest`, digests: `${sha(amd)}\n${sha(arm)}` }, { FAKE_REGISTRY: registry(idx) })
    expectSuccess(r)
    expect(imagetoolsCalls(r)).toEqual([
      ['buildx', 'imagetools', 'create', '--progress', 'plain', '--tag', `${repo}:1`, '--tag', `${repo}:latest`, `${repo}@${sha(amd)}`, `${repo}@${sha(arm)}`],
      ['buildx', 'imagetools', 'inspect', '--raw', `${repo}:1`],
      ['buildx', 'imagetools', 'inspect', '--raw', `${repo}@${sha(amd)}`],
      ['buildx', 'imagetools', 'inspect', '--raw', `${repo}@${sha(arm)}`]
    ])
    // Nothing is built, no Dockerfile is written, no builder is touched.
    expect(r.calls.filter((c) => c[1] === 'build' || c[1] === 'inspect')).toEqual([])
    expect(r.stdout).not.toContain('::group::Read the project')
    expect(r.stdout).not.toContain('::group::Generate the Dockerfile')
    expect(r.outputs.dockerfile).toBeUndefined()
    expect(r.outputs.digest).toBe(sha(idx))
    expect(JSON.parse(output(r, 'sizes'))).toEqual({
      'linux/amd64': { compressed: 14_001_000, uncompressed: null, appLayer: null, digest: sha(amd) },
      'linux/arm64': { compressed: 13_101_001, uncompressed: null, appLayer: null, digest: sha(arm) }
    })
    expect(r.outputs['size-linux-amd64']).toBe('14001000')
    expect(r.outputs['size-linux-arm64']).toBe('13101001')
    expect(r.summary).toContain('### Native AOT image (merged): `localhost:5000/todo`')
    expect(r.summary).toContain('| linux/amd64 | 14.00 MB | n/a | n/a |')
    expect(r.summary).toContain(`index \`${sha(idx)}\``)
    expect(r.summary).toContain('Pushed: `localhost:5000/todo:1`, `localhost:5000/todo:latest`')
    expect(JSON.parse(output(r, 'timings'))).toEqual({ total: expect.any(Number), merge: expect.any(Number) })
  })

  test('a platform missing from the merge fails after setting the outputs', async () => {
    const idx = index([amd])
    const r = await runAction({ mode: 'merge', tags: `${repo}:1`, digests: sha(amd) }, { FAKE_REGISTRY: registry(idx) })
    expect(r.code).toBe(1)
    expect(r.outputs.digest).toBe(sha(idx))
    expect(Object.keys(JSON.parse(output(r, 'sizes')) as Record<string, unknown>)).toEqual(['linux/amd64'])
    expect(r.stdout).toContain('::error::the merged image is incomplete:%0Athe merged index has no linux/arm64 image: pass the digest of the linux/arm64 job too')
  })

  test('imagetools create failing says what to check', async () => {
    const r = await runAction({ mode: 'merge', tags: `${repo}:1`, digests: `${sha(amd)},${sha(arm)}` }, { FAKE_MODE: 'create-fails' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::docker buildx imagetools create failed (exit 1). Check that every digest was pushed to localhost:5000/todo')
    expect(r.outputs.digest).toBeUndefined()
  })
})

describe('buildx-version: installs a verified buildx when the runner has an old one', () => {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64'
  const plugin = Buffer.from(
    '#!/bin/sh\nif [ "$1" = docker-cli-plugin-metadata ]; then echo \'{"SchemaVersion":"0.1.0","Vendor":"t","Version":"v0.21.2"}\'; exit 0; fi\necho "github.com/docker/buildx v0.21.2 fake"\n'
  )
  let server: http.Server
  let base = ''
  let checksum = createHash('sha256').update(plugin).digest('hex')

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === `/dl/v0.21.2/buildx-v0.21.2.linux-${arch}`) res.writeHead(200).end(plugin)
      else if (req.url === '/dl/v0.21.2/checksums.txt') res.writeHead(200).end(`${checksum} *buildx-v0.21.2.linux-${arch}\n`)
      else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dl`
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve()
      })
    })
  })

  test('the pinned release is downloaded, verified and used through DOCKER_CONFIG; the post step gets it too', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/arm64', 'buildx-version': 'v0.21.2' }, { FAKE_MODE: 'old', AOT_BUILDX_DOWNLOAD_URL: base })
    expectSuccess(r)
    expect(r.stdout).toContain('buildx 0.12.1 is older than 0.13.0, the first that writes the OCI layout and pushes in one build: installing buildx v0.21.2.')
    expect(r.stdout).toContain('buildx v0.21.2 downloaded and verified (sha256)')
    expect(r.stdout).toContain('buildx 0.21.2; builder default')
    expect(r.state).toMatch(/^docker-config<<.+\n.+aot-buildx-docker-config-/m)
  })

  test('a wrong checksum is refused and nothing is built', async () => {
    checksum = 'f'.repeat(64)
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/arm64', 'buildx-version': 'v0.21.2' }, { FAKE_MODE: 'old', AOT_BUILDX_DOWNLOAD_URL: base })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`::error::refusing to install buildx v0.21.2: checksum mismatch for buildx-v0.21.2.linux-${arch}: checksums.txt says sha256 ${'f'.repeat(64)}`)
    expect(buildCall(r)).toBeUndefined()
  })
})
