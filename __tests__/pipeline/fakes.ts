// Fakes shared by the pipeline tests: a `docker` that records its argv and answers like the
// engine (version, inspect, info; `buildx build` writes a prepared OCI layout or fails with a
// canned log), and a real OCI layout for two platforms plus an attestation, as buildx writes it.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Is this docker argv the evaluation sandbox's `docker run`? */
export const isEvaluation = (c: string[]): boolean => c[0] === 'run' && c.includes('aot-buildx.evaluation=true')

/**
 * For a fake docker (node, with fs and path required): the project is evaluated in a sandbox
 * container, which the real engine runs (the tests read real projects), with the real docker
 * found on PATH after the fake's own folder.
 */
export const SANDBOX_PASSTHROUGH = `if (args[0] === 'run' && args.includes('aot-buildx.evaluation=true')) {
  const self = path.dirname(process.argv[1])
  const real = (process.env.PATH || '').split(':').filter((d) => d !== '' && path.resolve(d) !== path.resolve(self)).map((d) => path.join(d, 'docker')).find((f) => fs.existsSync(f))
  if (!real) { process.stderr.write('fake docker: no real docker on PATH for the evaluation sandbox\\n'); process.exit(127) }
  const r = require('child_process').spawnSync(real, args, { stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
}
`

// The fake docker: answers version/inspect/info, and on `buildx build` either fails with a
// canned log or writes the OCI layout prepared in FAKE_LAYOUT plus a metadata file.
/** The fakes' answer to the SBOM's facts build: what restore resolved, one package for each RID and the runtime packs. */
export const FAKE_FACTS = `if (args[0] === 'buildx' && args[1] === 'build' && args.includes('aot-facts')) {
  if (mode === 'facts-fail') { console.log('#3 ERROR: failed to solve: restore: not found'); process.exit(1) }
  // FAKE_FACTS_DELAY_MS: a facts build that takes its time, as a real one does.
  if (process.env.FAKE_FACTS_DELAY_MS) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.FAKE_FACTS_DELAY_MS))
  const dest = /dest=([^,]*)/.exec(args[args.indexOf('--output') + 1])[1]
  const target = () => ({ 'Fake.Package/1.2.3': { type: 'package', runtime: { 'lib/net8.0/Fake.Package.dll': {} } } })
  const packs = ['linux-x64', 'linux-arm64'].map((rid) => ({ name: 'Microsoft.NETCore.App.Runtime.NativeAOT.' + rid, version: '[10.0.1, 10.0.1]' }))
  const fw = process.env.FAKE_FRAMEWORK || 'net10.0'
  fs.mkdirSync(dest, { recursive: true })
  fs.writeFileSync(path.join(dest, 'project.assets.json'), JSON.stringify({ version: 4, targets: { [fw]: {}, [fw + '/linux-x64']: target(), [fw + '/linux-arm64']: target() }, libraries: {}, project: { version: '1.0.0', frameworks: { [fw]: { targetAlias: fw, downloadDependencies: packs, frameworkReferences: { 'Microsoft.NETCore.App': {} } } } } }))
  fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['facts', dest]) + '\\n')
  process.exit(0)
}
`

export const FAKE_DOCKER = `#!/usr/bin/env node
const fs = require('fs'), path = require('path')
const args = process.argv.slice(2)
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(args) + '\\n')
const mode = process.env.FAKE_MODE || 'ok'
const j = args.join(' ')
${SANDBOX_PASSTHROUGH}if (j === 'buildx version') {
  if (mode === 'no-buildx') { process.stderr.write("docker: 'buildx' is not a docker command.\\n"); process.exit(1) }
  console.log('github.com/docker/buildx ' + (mode === 'old' ? '0.12.1' : process.env.FAKE_BUILDX || '0.13.1') + ' 0.13.1+ds1-3'); process.exit(0)
}
if (j.startsWith('buildx inspect')) {
  // A builder the action created answers as a docker-container builder of that name.
  const own = (args[2] || '').startsWith('aot-buildx-')
  const name = own ? args[2] : 'default'
  // FAKE_BUILDER_STATUS: the node's Status line (none by default, as for a builder not asked to start).
  const status = process.env.FAKE_BUILDER_STATUS ? '\\nStatus:    ' + process.env.FAKE_BUILDER_STATUS : ''
  console.log('Name:          ' + name + '\\nDriver:        ' + (own ? 'docker-container' : 'docker') + '\\n\\nNodes:\\nName:      ' + (own ? name + '0' : name) + status + '\\nPlatforms: linux/amd64, linux/arm64'); process.exit(0)
}
// buildx create: the config file's text is recorded as buildx reads it, at create.
if (args[0] === 'buildx' && args[1] === 'create') {
  const c = args.indexOf('--buildkitd-config')
  if (c >= 0) fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['buildkitd-config', fs.readFileSync(args[c + 1], 'utf8')]) + '\\n')
  console.log(args[args.indexOf('--name') + 1]); process.exit(0)
}
if (j.startsWith('info')) {
  if (mode === 'classic-store') { console.log(JSON.stringify({ ServerVersion: process.env.FAKE_ENGINE || '28.5.2', Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs']] })); process.exit(0) }
  console.log(JSON.stringify({ ServerVersion: process.env.FAKE_ENGINE || '28.5.2', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] })); process.exit(0)
}
// The smoke test: the image loaded from the layout's archive, one container started per
// platform; a web app's port is FAKE_APP_PORT on this host (a server the test runs).
if (args[0] === 'image' && args[1] === 'load') {
  const input = args[args.indexOf('--input') + 1]
  if (!fs.existsSync(input) || fs.statSync(input).size < 1024) { process.stderr.write('open ' + input + ': no such file\\n'); process.exit(1) }
  console.log('Loaded image: smoke'); process.exit(0)
}
// One container id per platform: the platforms run side by side, each with its own start.
if (args[0] === 'container' && args[1] === 'run') {
  const id = (args[args.indexOf('--platform') + 1] === 'linux/arm64' ? 'b' : 'a').repeat(64)
  fs.writeFileSync(process.env.FAKE_LOG + '.started-' + id, new Date().toISOString()); console.log(id); process.exit(0)
}
if (args[0] === 'container' && args[1] === 'port') {
  // A container that exited at once has no published port left (seen on the real engine).
  if (mode === 'smoke-exit-at-once') { process.stderr.write('Error: No public port \\'8080/tcp\\' published for ' + args[2] + '\\n'); process.exit(1) }
  console.log('127.0.0.1:' + process.env.FAKE_APP_PORT); process.exit(0)
}
if (args[0] === 'container' && args[1] === 'inspect') {
  const f = args[args.indexOf('--format') + 1]
  if (f === '{{.State.Running}}') console.log(mode === 'smoke-crash' || mode === 'smoke-exit-at-once' ? 'false' : 'true')
  else if (f === '{{.State.ExitCode}}') console.log('139')
  else if (f === '{{.State.StartedAt}}') console.log(fs.readFileSync(process.env.FAKE_LOG + '.started-' + args[args.length - 1], 'utf8'))
  process.exit(0)
}
// The smoke test's own network, created and removed around the runs.
if (args[0] === 'network' && (args[1] === 'create' || args[1] === 'rm')) { console.log(args[args.length - 1]); process.exit(0) }
if (args[0] === 'container' && args[1] === 'logs') { console.log('Unhandled exception. System.InvalidOperationException: no config'); process.exit(0) }
if ((args[0] === 'container' || args[0] === 'image') && args[1] === 'rm') process.exit(0)
// default-image-missing: Microsoft's images are neither in the engine nor in the registry.
if (mode === 'default-image-missing' && (args[args.length - 1] || '').startsWith('mcr.microsoft.com/')) {
  if (args[0] === 'image' && args[1] === 'inspect') { process.stderr.write('Error response from daemon: No such image: ' + args[args.length - 1] + '\\n'); process.exit(1) }
  if (args.slice(0, 4).join(' ') === 'buildx imagetools inspect --raw') { process.stderr.write('ERROR: ' + args[4] + ': not found\\n'); process.exit(1) }
}
if (args[0] === 'image' && args[1] === 'inspect') { console.log('sha256:' + 'b'.repeat(64)); process.exit(0) }
if (args[0] === 'buildx' && args[1] === 'build') {
  // Which secret variables buildx was given (names and lengths only).
  fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['secret-env', Object.keys(process.env).filter((k) => k.startsWith('AOT_BUILDX_SECRET_')).map((k) => k + ':' + process.env[k].length)]) + '\\n')
  // buildx's git switches, where the action set them.
  if (process.env.BUILDX_GIT_INFO !== undefined || process.env.BUILDX_GIT_LABELS !== undefined) fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['buildx-git-env', process.env.BUILDX_GIT_INFO, process.env.BUILDX_GIT_LABELS]) + '\\n')
}
// A step stops for the kept NuGet packages, as the generated restore step does when the
// kept secret is there and the package cache is empty.
if (args[0] === 'buildx' && args[1] === 'build' && process.env.FAKE_NEEDS_KEPT && args.includes('id=aot-buildx-nuget-kept,env=AOT_BUILDX_NUGET_KEPT')) {
  if (process.env.AOT_BUILDX_NUGET_KEPT !== '1') { process.stderr.write('secret aot-buildx-nuget-kept: env AOT_BUILDX_NUGET_KEPT not set\\n'); process.exit(1) }
  console.log('#9 [restore 4/4] RUN --mount=type=cache,id=aot-buildx-nuget if [ -f /run/secrets/aot-buildx-nuget-kept ]; then echo aot-buildx-kept; exit 42; fi;')
  console.log('#9 0.213 aot-buildx: this step needs the kept NuGet packages: they are loaded and the build runs again')
  console.log('#9 ERROR: process "/bin/sh -c ..." did not complete successfully: exit code: 42')
  process.exit(1)
}
if (args[0] === 'buildx' && args[1] === 'build' && args.includes('nuget-load')) {
  // Loading the kept packages into the builder's cache: nothing to write.
  if (process.env.FAKE_LOAD_FAILS) { console.log('#5 ERROR: failed to copy files: no space left on device'); process.exit(1) }
  process.exit(0)
}
if (args[0] === 'buildx' && args[1] === 'build' && args.includes('nuget-export')) {
  // The NuGet export target: the builder's package cache as files.
  const dest = /dest=([^,]*)/.exec(args[args.indexOf('--output') + 1])[1]
  fs.mkdirSync(path.join(dest, 'packages', 'fake.package', '1.0.0'), { recursive: true })
  process.exit(0)
}
${FAKE_FACTS}if (args[0] === 'buildx' && args[1] === 'build') {
  if (mode === 'crti') {
    console.log('#12 [linux/arm64 publish 4/4] RUN dotnet publish')
    console.log('#12 41.2 /usr/bin/aarch64-linux-gnu-ld.bfd: cannot find crti.o: No such file or directory')
    console.log('#12 41.3 clang : error : linker command failed with exit code 1')
    console.log('#12 ERROR: process "/bin/sh -c dotnet publish" did not complete successfully: exit code: 1')
    process.exit(1)
  }
  const out = /dest=([^,]*)/.exec(args[args.indexOf('--output') + 1])[1]
  fs.cpSync(process.env.FAKE_LAYOUT, out, { recursive: true })
  fs.writeFileSync(args[args.indexOf('--metadata-file') + 1], JSON.stringify({ 'containerimage.digest': process.env.FAKE_INDEX_DIGEST }))
  console.log('#20 DONE 0.1s')
  process.exit(0)
}
if (args[0] === 'buildx' && args[1] === 'imagetools' && args[2] === 'create') {
  // The layout push: read the image back from the action's layout server, as buildx would,
  // and record whether the bytes match the digest asked for.
  const src = args[args.length - 1]
  const m = /^(127\\.0\\.0\\.1:\\d+)\\/layout@(sha256:[a-f0-9]{64})$/.exec(src)
  if (!m) { process.stderr.write('fake docker: unexpected source ' + src + '\\n'); process.exit(3) }
  fetch('http://' + m[1] + '/v2/layout/manifests/' + m[2]).then(async (res) => {
    const body = Buffer.from(await res.arrayBuffer())
    const ok = res.status === 200 && 'sha256:' + require('crypto').createHash('sha256').update(body).digest('hex') === m[2]
    fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(['served', res.status, ok]) + '\\n')
    if (mode === 'push-fails') {
      process.stderr.write('ERROR: failed to do request: Head "http://localhost:5000/v2/todo/blobs/' + m[2] + '": dial tcp 127.0.0.1:5000: connect: connection refused\\n')
      process.exit(1)
    }
    // The registry refuses the first manifest PUT (a blob still being committed), as buildx 0.29 can race.
    const raced = process.env.FAKE_LOG + '.raced'
    if (mode === 'push-race' && !fs.existsSync(raced)) {
      fs.writeFileSync(raced, '')
      process.stderr.write('ERROR: failed commit on ref "manifest-' + m[2] + '": unexpected status from PUT request: 400 Bad Request\\nerrors:\\nunknown: provided digest did not match uploaded content\\nunknown: blob unknown to registry\\n')
      process.exit(1)
    }
    process.exit(ok ? 0 : 1)
  })
} else {
  process.stderr.write('fake docker: unexpected ' + j + '\\n'); process.exit(3)
}
`

export function sha(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

export function elf(machine: number): Buffer {
  const b = Buffer.alloc(64)
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0)
  b.writeUInt16LE(2, 16)
  b.writeUInt16LE(machine, 18)
  return b
}

export async function layer(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack()
  for (const [name, content] of Object.entries(files)) pack.entry({ name, size: content.length }, content)
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const c of pack) chunks.push(c as Buffer)
  return gzipSync(Buffer.concat(chunks))
}

/** A real OCI layout for two platforms plus an attestation, as buildx writes it. */
export async function makeLayout(dir: string, wrongArm: boolean): Promise<string> {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true })
  const put = (b: Buffer): { digest: string; size: number } => {
    const d = sha(b)
    fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), b)
    return { digest: d, size: b.length }
  }
  const manifests = []
  for (const [arch, machine] of [['amd64', 0x3e], ['arm64', wrongArm ? 0x3e : 0xb7]] as const) {
    const base = put(await layer({ 'etc/passwd': Buffer.from('app:x:1654:1654::/home/app:/sbin/nologin\n') }))
    const app = put(await layer({ 'app/TodoApi': Buffer.concat([elf(machine), Buffer.alloc(5000, 1)]) }))
    const config = put(Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Entrypoint: ['/app/TodoApi'], User: '1654', WorkingDir: '/app' } })))
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [base, app].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l }))
      })
    )
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest), platform: { os: 'linux', architecture: arch } })
  }
  const att = put(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: 'sha256:00', size: 0 }, layers: [] })))
  manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } })
  const index = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })))
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index }] }))
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  return index.digest
}

/** The step outputs a run wrote to its GITHUB_OUTPUT file (`name<<delimiter` blocks). */
export function readOutputs(file: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  for (const [, name = '', , value = ''] of fs.readFileSync(file, 'utf8').matchAll(/^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm)) outputs[name] = value
  return outputs
}

/** A step output the test reads on, failing clearly when the run did not set it. */
export function output(run: { outputs: Record<string, string> }, name: string): string {
  const value = run.outputs[name]
  if (value === undefined) throw new Error(`the run set no ${name} output (it set: ${Object.keys(run.outputs).join(', ')})`)
  return value
}

/**
 * The environment a runner gives an action step: this process's environment without any
 * INPUT_, GITHUB_ or ACTIONS_ variable, fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE
 * files in `temp`, the fake docker's folder first on PATH, and the workspace.
 */
export function runnerEnv(o: { workspace: string; temp: string; bin: string; callLog: string; drop?: string[] }): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_)/.test(k) && !(o.drop ?? []).includes(k)) env[k] = v
  for (const f of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'GITHUB_STATE']) {
    env[f] = path.join(o.temp, f)
    fs.writeFileSync(env[f], '')
  }
  fs.writeFileSync(o.callLog, '')
  // A runner always names the event; a push is trusted (keeps NuGet packages).
  return { ...env, PATH: `${o.bin}${path.delimiter}${process.env.PATH ?? ''}`, GITHUB_WORKSPACE: o.workspace, RUNNER_TEMP: o.temp, GITHUB_EVENT_NAME: 'push', FAKE_LOG: o.callLog }
}
