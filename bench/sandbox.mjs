// The evaluation sandbox's cost, side by side in one run: an older bundle (BENCH_OLD, e.g. the
// commit before the sandbox, which evaluated with the runner's dotnet) against this one
// (BENCH_NEW, default: a snapshot of dist/), alternating, BENCH_REPS repetitions (3), after a
// warm-up of each. Scenarios (BENCH_SANDBOX: a comma list, default all):
//   eval          the TodoApi sample with build: false: the project read and the files written, no engine
//                 command but the evaluation's (what changed between the two, alone)
//   noop          the TodoApi sample for both arches, built before: nothing changed (smoke test off)
//   shop          mode: discover on the shop fixture's Shop.slnx
//   shop-changed  the same with changed-since (every app's inputs read)
//   mono          mode: discover on a generated repository of 100 apps and 10 libraries (gen-monorepo.mjs;
//                 BENCH_MONO_REPS repetitions, default BENCH_REPS)
//   fresh-noop    noop on a fresh runner: the builder emptied, the gha cache saved in the Actions cache
//                 service stand-in (scripts/cache-service.sh), and the SDK image absent from the engine.
//                 The SDK image is named from the local registry (a copy of the stand-in pushed to
//                 127.0.0.1:5000 once), so a pull of it is timed: a lower bound of a real runner's,
//                 from this machine's disk with no network. The stand-in is put back at the end.
// Writes bench/sandbox-results{BENCH_SANDBOX_TAG}.{json,md}. node bench/sandbox.mjs
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { log, prune, REPO, runAction, snapshotAction } from './common.mjs'
import { generateMonorepo } from './gen-monorepo.mjs'

const TAG = process.env.BENCH_SANDBOX_TAG ?? ''
const OUT = path.join(REPO, 'bench', 'out', `sandbox${TAG}`)
const REPS = Number(process.env.BENCH_REPS ?? '3')
const OLD = process.env.BENCH_OLD
if (OLD === undefined || !fs.existsSync(OLD)) throw new Error('BENCH_OLD must name the older bundle (its index.js), e.g. git archive <commit> dist | tar -x -C <dir>, then BENCH_OLD=<dir>/dist/index.js')
const NEW = process.env.BENCH_NEW ?? snapshotAction(path.join(OUT, 'new-dist'))
const WANTED = (process.env.BENCH_SANDBOX ?? 'eval,noop,shop,shop-changed,mono').split(',')

const git = (ws, ...args) => execFileSync('git', ['-c', 'user.email=b@example.com', '-c', 'user.name=b', ...args], { cwd: ws, stdio: 'ignore' })

function workspaces() {
  fs.mkdirSync(OUT, { recursive: true })
  const todo = path.join(OUT, 'todo')
  fs.rmSync(todo, { recursive: true, force: true })
  fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(todo, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  const shop = path.join(OUT, 'shop')
  fs.rmSync(shop, { recursive: true, force: true })
  fs.cpSync(path.join(REPO, 'e2e', 'fixtures', 'shop'), shop, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  git(shop, 'init', '-q', '-b', 'main')
  git(shop, 'add', '-A')
  git(shop, 'commit', '-qm', 'base')
  fs.appendFileSync(path.join(shop, 'src/Shop.Data/Catalog.cs'), '// changed\n')
  git(shop, 'commit', '-qam', 'change')
  const mono = path.join(OUT, 'mono')
  generateMonorepo(mono, 100, 10)
  return { todo, shop, mono }
}

const ws = workspaces()
const SDK = 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot'
const SDK_COPY = '127.0.0.1:5000/aot-bench/sdk:10.0-noble-aot'
const STAMP = Date.now().toString(36)
const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const present = (ref) => {
  try {
    docker('image', 'inspect', ref)
    return true
  } catch {
    return false
  }
}

/** A push run on a branch of its own (its cache scope), with a token for it, as fresh-runner.mjs gives. */
function runnerEnv(branch) {
  const state = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
  const service = Object.fromEntries(
    fs
      .readFileSync(path.join(state, 'service.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
  const event = path.join(OUT, `event-${branch}.json`)
  fs.writeFileSync(event, JSON.stringify({ repository: { full_name: 'octo/todo', default_branch: branch, private: false } }))
  const token = execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', `refs/heads/${branch}`], { encoding: 'utf8' }).trim()
  return { ...service, ACTIONS_RUNTIME_TOKEN: token, GITHUB_EVENT_PATH: event, GITHUB_EVENT_NAME: 'push', GITHUB_REF: `refs/heads/${branch}`, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/todo', GITHUB_RUN_ID: String(Date.now()), GITHUB_SHA: 'a'.repeat(40) }
}
const freshEnv = { old: runnerEnv(`sandbox-fresh-${STAMP}-old`), new: runnerEnv(`sandbox-fresh-${STAMP}-new`) }

/** Both names of the SDK image gone from the engine, so its content is too: what a fresh runner has. */
function dropSdk() {
  for (const ref of [SDK_COPY, SDK]) if (present(ref)) docker('image', 'rm', ref)
}
/** The stand-in back under its own name (and the copy's name gone), as the other suites need it. */
function restoreSdk() {
  if (!present(SDK)) {
    docker('pull', SDK_COPY)
    docker('tag', SDK_COPY, SDK)
  }
  if (present(SDK_COPY)) docker('image', 'rm', SDK_COPY)
}

const SCENARIOS = {
  eval: { ws: ws.todo, inputs: { project: 'TodoApi', platforms: 'linux/amd64,linux/arm64', build: 'false' } },
  noop: { ws: ws.todo, inputs: { project: 'TodoApi', platforms: 'linux/amd64,linux/arm64', 'smoke-test': 'false' } },
  shop: { ws: ws.shop, inputs: { mode: 'discover', project: 'Shop.slnx' } },
  'shop-changed': { ws: ws.shop, inputs: { mode: 'discover', project: 'Shop.slnx', 'changed-since': 'HEAD~1' } },
  mono: { ws: ws.mono, inputs: { mode: 'discover', project: 'Mono.sln' } },
  'fresh-noop': { ws: ws.todo, inputs: { project: 'TodoApi', platforms: 'linux/amd64,linux/arm64', 'smoke-test': 'false', 'sdk-image': SDK_COPY }, env: freshEnv, before: () => (prune(), dropSdk()) }
}

function once(name, which) {
  const s = SCENARIOS[name]
  s.before?.()
  const r = runAction(which === 'old' ? OLD : NEW, s.ws, path.join(OUT, `temp-${which}`), s.inputs, s.env?.[which] ?? {})
  if (r.code !== 0) throw new Error(`${name} (${which}) failed:\n${r.log.slice(-4000)}`)
  if (s.inputs.mode === 'discover') {
    const count = r.outputs.count
    log(`${name} ${which}: ${r.wall.toFixed(2)} s (${count} apps listed)`)
  } else log(`${name} ${which}: ${r.wall.toFixed(2)} s`)
  return r.wall
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = {}
for (const name of WANTED) {
  if (SCENARIOS[name] === undefined) throw new Error(`no scenario ${name}`)
  // The build needs a warm builder (nothing changed); discovery only the file cache, which the first repetition warms.
  if (name === 'noop') {
    once(name, 'old')
    once(name, 'new')
  }
  // A fresh runner's nothing-changed run needs the gha cache saved by a first run (SDK image present).
  if (name === 'fresh-noop') {
    restoreSdk()
    docker('tag', SDK, SDK_COPY)
    docker('push', SDK_COPY)
    for (const which of ['old', 'new']) {
      prune()
      const r = runAction(which === 'old' ? OLD : NEW, SCENARIOS[name].ws, path.join(OUT, `temp-${which}`), SCENARIOS[name].inputs, freshEnv[which])
      if (r.code !== 0) throw new Error(`fresh-noop's first run (${which}) failed:\n${r.log.slice(-4000)}`)
      log(`fresh-noop ${which}: first run (saves the gha cache) ${r.wall.toFixed(2)} s`)
    }
  }
  const t = { old: [], new: [] }
  const reps = name === 'mono' ? Number(process.env.BENCH_MONO_REPS ?? String(REPS)) : REPS
  try {
    for (let rep = 0; rep < reps; rep++) {
      // Alternating which goes first, so neither always runs on the warmer machine.
      for (const which of rep % 2 === 0 ? ['old', 'new'] : ['new', 'old']) t[which].push(once(name, which))
    }
  } finally {
    if (name === 'fresh-noop') restoreSdk()
  }
  results[name] = { reps, old: t.old, new: t.new, oldMedian: median(t.old), newMedian: median(t.new) }
}
const image = 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot'
let imageBytes = 0
try {
  imageBytes = Number(execFileSync('docker', ['image', 'inspect', '-f', '{{.Size}}', image], { encoding: 'utf8' }).trim())
} catch {
  // not in the engine
}
const meta = { date: new Date().toISOString(), reps: REPS, old: process.env.BENCH_OLD_LABEL ?? 'BENCH_OLD', new: process.env.BENCH_NEW_LABEL ?? 'BENCH_NEW', loadavg: fs.readFileSync('/proc/loadavg', 'utf8').trim(), sdkImageBytes: imageBytes }
fs.writeFileSync(path.join(REPO, 'bench', `sandbox-results${TAG}.json`), `${JSON.stringify({ meta, results }, null, 2)}\n`)
const f = (x) => x.toFixed(2)
const md = [
  `# Evaluation sandbox: before and after (${meta.date}, ${REPS} repetitions, medians in seconds)`,
  '',
  '| scenario | before (host dotnet) | after (sandbox) | after − before | after / before |',
  '|---|---:|---:|---:|---:|',
  ...Object.entries(results).map(([n, r]) => `| ${n} | ${f(r.oldMedian)} | ${f(r.newMedian)} | ${f(r.newMedian - r.oldMedian)} | ${f(r.newMedian / r.oldMedian)} |`),
  '',
  `Load average at the end: ${meta.loadavg}. SDK image in the engine: ${(imageBytes / 1e9).toFixed(2)} GB.`
]
fs.writeFileSync(path.join(REPO, 'bench', `sandbox-results${TAG}.md`), `${md.join('\n')}\n`)
console.log(md.join('\n'))
