// End-to-end harness: runs the bundled action exactly as a runner does (node dist/index.js, or AOT_E2E_ENTRY,
// with INPUT_* and the runner's files) and reads results back from outside the action:
// the registry's HTTP API, the Docker engine, and the running containers.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REGISTRY = process.env.AOT_REGISTRY_ADDR ?? '127.0.0.1:5000'
/**
 * The action's entry point: the bundle in dist/, or another bundle of the same sources
 * (AOT_E2E_ENTRY, e.g. one ncc built into a temp folder), so a branch can be tested unbundled.
 */
export const ENTRY = path.resolve(process.env.AOT_E2E_ENTRY ?? path.join(REPO, 'dist', 'index.js'))
/** Where e2e workspaces live: copies of the samples, so the repository stays clean. */
export const WORK = path.join(REPO, '.e2e')

export interface ActionRun {
  code: number
  stdout: string
  outputs: Record<string, string>
  summary: string
  seconds: number
  workspace: string
  runnerTemp: string
}

/** Parses GITHUB_OUTPUT as the runner does: `name<<delimiter` blocks and `name=value` lines. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  let open: { name: string; delimiter: string; value: string[] } | undefined
  for (const line of text.split('\n')) {
    if (open === undefined) {
      const [, name, delimiter] = /^([^<=]+)<<(.+)$/.exec(line) ?? []
      if (name !== undefined && delimiter !== undefined) open = { name, delimiter, value: [] }
      else if (/^[^<=]+=/.test(line)) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    } else if (line === open.delimiter) {
      out[open.name] = open.value.join('\n')
      open = undefined
    } else {
      open.value.push(line)
    }
  }
  // A block the file ends inside keeps what it holds.
  if (open !== undefined) out[open.name] = open.value.join('\n')
  return out
}

/** A step output the test reads on, failing clearly when the run did not set it. */
export function output(run: ActionRun, name: string): string {
  const value = run.outputs[name]
  if (value === undefined) throw new Error(`the run set no ${name} output (it set: ${Object.keys(run.outputs).join(', ')})`)
  return value
}

/** record[key], failing clearly when there is no such entry. */
export function entry<T>(record: Record<string, T>, key: string): T {
  const value = record[key]
  if (value === undefined) throw new Error(`expected an entry for ${key} (there are: ${Object.keys(record).join(', ')})`)
  return value
}

/** items[i] (a negative i counts from the end), failing clearly when there is no such element. */
export function at<T>(items: readonly T[], i: number): T {
  const item = items.at(i)
  if (item === undefined) throw new Error(`expected element ${i}, but there are ${items.length}`)
  return item
}

/** A fresh workspace holding copies of the given sample folders. */
export function makeWorkspace(name: string, samples: string[]): string {
  const ws = path.join(WORK, name)
  fs.rmSync(ws, { recursive: true, force: true })
  fs.mkdirSync(ws, { recursive: true })
  for (const s of samples) {
    fs.cpSync(path.join(REPO, 'samples', s), path.join(ws, s), {
      recursive: true,
      filter: (src) => !/\/(bin|obj)(\/|$)/.test(src)
    })
  }
  return ws
}

/** A fresh workspace holding a copy of a fixture repository from e2e/fixtures (the workspace root is the repository). */
export function makeFixtureWorkspace(name: string, fixture: string): string {
  const ws = path.join(WORK, name)
  fs.rmSync(ws, { recursive: true, force: true })
  fs.cpSync(path.join(REPO, 'e2e', 'fixtures', fixture), ws, { recursive: true, filter: (src) => !/\/(bin|obj)(\/|$)/.test(src) })
  return ws
}

/** Replaces a string in a workspace file (a one-line change); fails when it is not there. */
export function editFile(file: string, from: RegExp, to: string): void {
  const text = fs.readFileSync(file, 'utf8')
  if (!from.test(text)) throw new Error(`${file} does not match ${from}`)
  fs.writeFileSync(file, text.replace(from, to))
}

export interface RunOptions {
  /** A RUNNER_TEMP prepared by the caller (e.g. a small tmpfs). */
  runnerTemp?: string
  /** Variables the workflow sets on the step (env:). */
  env?: Record<string, string>
  /**
   * Leave `dotnet` on the action's PATH, as on a runner with a .NET SDK. By default it is taken
   * off, which proves the action needs no SDK on the runner (it evaluates in a container).
   */
  hostDotnet?: boolean
}

/**
 * PATH with every folder that holds `dotnet` replaced by a folder of links to everything else
 * in it (dotnet lives in /usr/bin beside git and node, so the folder cannot simply be dropped).
 */
export function pathWithoutDotnet(from = process.env.PATH ?? ''): string {
  const out: string[] = []
  for (const [i, dir] of from.split(path.delimiter).entries()) {
    if (dir === '' || !fs.existsSync(path.join(dir, 'dotnet'))) {
      out.push(dir)
      continue
    }
    const farm = path.join(WORK, 'path-without-dotnet', String(i))
    if (!fs.existsSync(farm)) {
      const tmp = `${farm}.${process.pid}`
      fs.mkdirSync(tmp, { recursive: true })
      for (const name of fs.readdirSync(dir)) if (name !== 'dotnet') fs.symlinkSync(path.join(dir, name), path.join(tmp, name))
      // Another test process may have made it meanwhile: theirs is the same.
      try {
        fs.renameSync(tmp, farm)
      } catch {
        fs.rmSync(tmp, { recursive: true, force: true })
      }
    }
    // A tool installed since the farm was made (the set-up installs cosign) gets its link too.
    for (const name of fs.readdirSync(dir)) {
      if (name === 'dotnet' || fs.existsSync(path.join(farm, name))) continue
      try {
        fs.symlinkSync(path.join(dir, name), path.join(farm, name))
      } catch {
        // another test process linked it first
      }
    }
    out.push(farm)
  }
  return out.join(path.delimiter)
}

interface Prepared {
  env: Record<string, string>
  runnerTemp: string
  file: (name: 'GITHUB_OUTPUT' | 'GITHUB_STEP_SUMMARY' | 'GITHUB_STATE') => string
}

/** A runner's files and environment for one step in `workspace`. */
function prepareRun(workspace: string, inputs: Record<string, string>, opts: RunOptions): Prepared {
  const runnerTemp = opts.runnerTemp ?? path.join(workspace, '..', `${path.basename(workspace)}-temp`)
  if (opts.runnerTemp === undefined) {
    fs.rmSync(runnerTemp, { recursive: true, force: true })
    fs.mkdirSync(runnerTemp, { recursive: true })
  }
  const files = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary', GITHUB_STATE: 'state', GITHUB_ENV: 'env', GITHUB_PATH: 'path' }
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_')) env[k] = v
  for (const [k, f] of Object.entries(files)) {
    const p = path.join(runnerTemp, f)
    env[k] = p
    fs.writeFileSync(p, '')
  }
  // A runner always names the event: a push unless the test says otherwise (opts.env).
  Object.assign(env, { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: runnerTemp, GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_EVENT_NAME: 'push' })
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  if (opts.hostDotnet !== true) env.PATH = pathWithoutDotnet(env.PATH)
  Object.assign(env, opts.env ?? {})
  return { env, runnerTemp, file: (name) => path.join(runnerTemp, files[name]) }
}

/** The post step, as the runner runs it after the job (it must succeed too), then what the step left. */
function finishRun(p: Prepared, workspace: string, code: number, stdout: string, seconds: number): ActionRun {
  const env = { ...p.env }
  const state = fs.readFileSync(p.file('GITHUB_STATE'), 'utf8')
  for (const [, name = '', , value = ''] of state.matchAll(/^([^<]+)<<(.+)\n([\s\S]*?)\n\2$/gm)) env[`STATE_${name}`] = value
  const post = spawnSync('node', [ENTRY], { env, cwd: workspace, encoding: 'utf8' })
  if (post.status !== 0) throw new Error(`post step failed: ${post.stdout}${post.stderr}`)
  return {
    code,
    stdout,
    outputs: parseOutputFile(fs.readFileSync(p.file('GITHUB_OUTPUT'), 'utf8')),
    summary: fs.readFileSync(p.file('GITHUB_STEP_SUMMARY'), 'utf8'),
    seconds,
    workspace,
    runnerTemp: p.runnerTemp
  }
}

/** Runs the action; `runnerTemp` names a RUNNER_TEMP prepared by the caller (e.g. a small tmpfs). */
export function runAction(workspace: string, inputs: Record<string, string>, opts: RunOptions = {}): ActionRun {
  const p = prepareRun(workspace, inputs, opts)
  const start = Date.now()
  const r = spawnSync('node', [ENTRY], { env: p.env, cwd: workspace, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  return finishRun(p, workspace, r.status ?? -1, streamText(r.stdout) + streamText(r.stderr), (Date.now() - start) / 1000)
}

/** runAction without blocking: for jobs that run at the same time, as matrix jobs on one builder do. */
export async function runActionAsync(workspace: string, inputs: Record<string, string>): Promise<ActionRun> {
  const p = prepareRun(workspace, inputs, {})
  const start = Date.now()
  const child = spawn('node', [ENTRY], { env: p.env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const code = await new Promise<number>((resolve) => child.on('close', (c) => { resolve(c ?? -1); }))
  return finishRun(p, workspace, code, out, (Date.now() - start) / 1000)
}

/**
 * A cancelled job: the action runs until `ready()` says the moment has come (polled), then gets
 * SIGINT, as the runner sends it on cancel; then the post step runs, as the runner runs it.
 */
export async function runActionCancelled(workspace: string, inputs: Record<string, string>, ready: () => boolean): Promise<ActionRun> {
  const p = prepareRun(workspace, inputs, {})
  const start = Date.now()
  const child = spawn('node', [ENTRY], { env: p.env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const closed = new Promise<number>((resolve) => child.on('close', (c, signal) => { resolve(c ?? (signal !== null ? 130 : -1)); }))
  const state = { done: false }
  void closed.then(() => (state.done = true))
  while (!state.done && !ready()) await new Promise((resolve) => setTimeout(resolve, 200))
  if (!state.done) child.kill('SIGINT')
  const code = await closed
  return finishRun(p, workspace, code, out, (Date.now() - start) / 1000)
}

/** spawnSync's stdout or stderr: null, not '', when the process could not be started at all (its types say string). */
function streamText(s: string | null): string {
  return s ?? ''
}

/** Step numbers of BuildKit vertices whose name matches, and whether each was CACHED. */
export function stepCacheState(log: string, re: RegExp): boolean[] {
  const steps = new Set<string>()
  for (const [, step, name] of log.matchAll(/^#(\d+) \[[^\]]*\] (.*)$/gm)) if (step !== undefined && name !== undefined && re.test(name)) steps.add(step)
  return [...steps].map((n) => new RegExp(`^#${n} CACHED$`, 'm').test(log))
}

export function docker(args: string[], input?: Buffer): Buffer {
  return execFileSync('docker', args, { input, maxBuffer: 512 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] })
}

/** The manifest types a registry read asks for. */
export const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')

export async function registryJson(repo: string, ref: string): Promise<{ digest: string; body: Record<string, unknown> }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } })
  if (res.status !== 200) throw new Error(`registry answered ${res.status} for ${repo}:${ref}`)
  return { digest: res.headers.get('docker-content-digest') ?? '', body: (await res.json()) as Record<string, unknown> }
}

interface Desc {
  digest: string
  size: number
  platform?: { os: string; architecture: string }
  annotations?: Record<string, string>
}

/** Per-platform compressed sizes (config + layers) as the registry stores them, attestations aside. */
export async function registrySizes(repo: string, tag: string): Promise<Record<string, { digest: string; size: number; config: string }>> {
  const index = await registryJson(repo, tag)
  const out: Record<string, { digest: string; size: number; config: string }> = {}
  for (const m of (index.body.manifests ?? []) as Desc[]) {
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue
    const man = await registryJson(repo, m.digest)
    const config = man.body.config as Desc
    const layers = man.body.layers as Desc[]
    out[`${m.platform?.os}/${m.platform?.architecture}`] = { digest: m.digest, size: config.size + layers.reduce((s, l) => s + l.size, 0), config: config.digest }
  }
  return out
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => {
        resolve(port)
      })
    })
    srv.on('error', reject)
  })
}

/** Polls a URL until it answers (a readiness check with a bounded number of tries). */
export async function waitForHttp(url: string, tries = 120): Promise<Response> {
  let last = ''
  for (let i = 0; i < tries; i++) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(2000) })
    } catch (e) {
      last = (e as Error).message
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  throw new Error(`${url} did not answer after ${tries} tries: ${last}`)
}

/** Reads one file out of an image without running it: docker create + docker cp to a tar stream. */
export function fileFromImage(image: string, platform: string, file: string): Buffer {
  const cid = docker(['create', '--platform', platform, image]).toString().trim()
  try {
    const tarball = docker(['cp', `${cid}:${file}`, '-'])
    // A tar with one entry: 512-byte header, then the content.
    const size = parseInt(tarball.subarray(124, 136).toString().replace(/\0.*$/, '').trim(), 8)
    return tarball.subarray(512, 512 + size)
  } finally {
    docker(['rm', '-f', cid])
  }
}

/** Lists every path in an image's filesystem (docker export). */
export function listImageFiles(image: string, platform: string): string[] {
  const cid = docker(['create', '--platform', platform, image]).toString().trim()
  try {
    const r = spawnSync('tar', ['-t'], { input: docker(['export', cid]), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    return r.stdout.split('\n').filter((l) => l !== '')
  } finally {
    docker(['rm', '-f', cid])
  }
}

export function startContainer(image: string, platform: string, args: string[] = []): string {
  return docker(['run', '-d', '--platform', platform, ...args, image]).toString().trim()
}

export function removeContainer(cid: string): void {
  spawn('docker', ['rm', '-f', cid], { stdio: 'ignore' })
}
