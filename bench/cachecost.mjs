// What one app costs the repository's Actions cache (10 GB by default): entries and bytes the
// action writes to the cache service stand-in (scripts/cache-service.sh) per app, for BuildKit's
// gha cache with mode=max and mode=min, on a first run and after a one-line change, and the
// @actions/cache saves beside them (NuGet packages, sizes). Each app and mode writes to a cache
// scope of its own (a branch of its own, as on an empty repository), so nothing is shared but
// what the app's own runs share; blobs every app's mode=max export holds are counted apart as
// "shared" (a matrix stores them once per branch). The builder is not emptied: what an export
// writes does not depend on which steps the builder held.
//
// Apps: the TodoApi sample and the shop fixture's API, worker and CLI. Writes
// bench/cachecost.json and bench/cachecost.md.
//   node bench/cachecost.mjs        (after npm run bundle; BENCH_PLATFORMS [linux/amd64],
//                                    BENCH_APPS [todo,api,worker,cli], BENCH_MODES [max,min],
//                                    AOT_CACHE_STATE)
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { log, REPO, runAction, saveLog, snapshotAction } from './common.mjs'

const PLATFORMS = process.env.BENCH_PLATFORMS ?? 'linux/amd64'
const STATE = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
const ACTION = snapshotAction(path.join(REPO, 'bench', 'out', 'action-cachecost'))
const WORK = path.join(REPO, 'bench', 'out', 'cachecost')
const LOGS = path.join(REPO, 'bench', 'out', 'logs')
const STAMP = Date.now().toString(36)

const APPS = {
  todo: { name: 'TodoApi (sample)', source: path.join(REPO, 'samples', 'TodoApi'), ws: 'TodoApi', project: 'TodoApi', context: 'TodoApi', file: 'TodoApi/Program.cs', edit: [/new\(1, "[^"]*"\)/, (v) => `new(1, "${v}")`] },
  api: { name: 'shop: Shop.Api', fixture: 'shop', project: 'src/Shop.Api', context: '.', file: 'src/Shop.Api/Program.cs', edit: [/Revision = "[^"]*"/, (v) => `Revision = "${v}"`] },
  worker: { name: 'shop: Shop.Worker', fixture: 'shop', project: 'src/Shop.Worker/Shop.Worker.csproj', context: '.', file: 'src/Shop.Worker/Program.cs' },
  cli: { name: 'shop: Shop.Cli', fixture: 'shop', project: 'src/Shop.Cli', context: '.', file: 'src/Shop.Cli/Program.cs' }
}
const chosen = (process.env.BENCH_APPS ?? 'todo,api,worker,cli').split(',')

function serviceEnv() {
  const text = fs.readFileSync(path.join(STATE, 'service.env'), 'utf8')
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}
const requests = () => fs.readFileSync(path.join(STATE, 'requests.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

function runnerEnv(branch) {
  const event = path.join(WORK, `event-${branch}.json`)
  fs.writeFileSync(event, JSON.stringify({ repository: { full_name: 'octo/shop', default_branch: branch, private: false } }))
  const token = execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', `refs/heads/${branch}`], { encoding: 'utf8', env: { ...process.env, AOT_CACHE_STATE: STATE } }).trim()
  return { ...serviceEnv(), ACTIONS_RUNTIME_TOKEN: token, GITHUB_EVENT_PATH: event, GITHUB_EVENT_NAME: 'push', GITHUB_REF: `refs/heads/${branch}`, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/shop', GITHUB_RUN_ID: String(Date.now()), GITHUB_SHA: 'c'.repeat(40) }
}

function workspace(app) {
  const ws = path.join(WORK, app)
  fs.rmSync(ws, { recursive: true, force: true })
  if (APPS[app].fixture) fs.cpSync(path.join(REPO, 'e2e', 'fixtures', APPS[app].fixture), ws, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  else fs.cpSync(APPS[app].source, path.join(ws, APPS[app].ws), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  return ws
}

/** A one-line change: a string the app prints or serves (a comment line where the app has none to edit). */
function edit(ws, app, value) {
  const f = path.join(ws, APPS[app].file)
  const text = fs.readFileSync(f, 'utf8')
  const [re, to] = APPS[app].edit ?? []
  fs.writeFileSync(f, re && re.test(text) ? text.replace(re, to(value)) : `${text}\n// ${value}\n`)
}

/** One run of the action exporting the gha cache with `mode`; what it wrote to the service. */
function run(ws, app, mode, branch, label) {
  const scope = `aot-buildx-bench-${app}`
  const from = requests().length
  const r = runAction(
    ACTION,
    ws,
    path.join(WORK, `${app}-temp`),
    { project: APPS[app].project, context: APPS[app].context, platforms: PLATFORMS, 'smoke-test': 'false', cache: 'none', 'cache-from': `type=gha,scope=${scope}`, 'cache-to': `type=gha,scope=${scope},mode=${mode},ignore-error=true` },
    runnerEnv(branch)
  )
  saveLog(LOGS, `cachecost-${app}-${mode}-${label}`, r.log)
  if (r.code !== 0) throw new Error(`${app} ${mode} ${label} failed:\n${r.log.slice(-4000)}`)
  if (/::warning::The build cache was not saved/.test(r.log)) throw new Error(`${app} ${mode} ${label}: the export was refused:\n${r.log.slice(-4000)}`)
  // Only this branch's calls: others may use the same service meanwhile.
  const calls = requests().slice(from).filter((c) => c.scope === `refs/heads/${branch}`)
  const done = calls.filter((c) => c.method === 'FinalizeCacheEntryUpload' && c.result === 'finalized')
  const kind = (k) => (k.startsWith('buildkit-blob-') ? 'blob' : k.startsWith('index-') ? 'index' : 'actions')
  const part = (k) => (k.startsWith('aot-buildx-packs-') ? 'packs' : k.startsWith('aot-buildx-nuget-') ? 'own' : 'other')
  const sum = (xs) => xs.reduce((s, c) => s + c.size, 0)
  return {
    wall: Number(r.wall.toFixed(1)),
    creates: calls.filter((c) => c.method === 'CreateCacheEntry' && c.result === 'created').length,
    blobs: done.filter((c) => kind(c.key) === 'blob').map((c) => ({ key: c.key, size: c.size })),
    gha: { entries: done.filter((c) => kind(c.key) !== 'actions').length, bytes: sum(done.filter((c) => kind(c.key) !== 'actions')) },
    actions: { entries: done.filter((c) => kind(c.key) === 'actions').length, bytes: sum(done.filter((c) => kind(c.key) === 'actions')), keys: done.filter((c) => kind(c.key) === 'actions').map((c) => c.key.replace(/-[0-9a-f]{16,}$|-\d+$/, '-…')) },
    // The NuGet packages in two entries: the app's own, and the SDK's packs every app on the SDK image shares.
    nuget: Object.fromEntries(['own', 'packs'].map((p) => [p, sum(done.filter((c) => kind(c.key) === 'actions' && part(c.key) === p))]))
  }
}


/** The table, from what is measured so far (rewritten after each app and mode). */
function writeReport() {
  // Blobs in every measured app's first mode=max export: the toolchain and base layers a matrix shares.
  const measured = Object.values(results.apps).filter((a) => a.max !== undefined)
  const firstMax = measured.map((a) => new Set(a.max.first.blobs.map((b) => b.key)))
  // Shared needs two apps to tell: with one, nothing is called shared.
  const shared = new Set(firstMax.length < 2 ? [] : [...(firstMax[0] ?? [])].filter((k) => firstMax.every((s) => s.has(k))))
  const MB = (b) => (b / 1e6).toFixed(1)
  const lines = [
    `# What one app costs the Actions cache (${PLATFORMS})`,
    '',
    'Written to the cache service stand-in per run: entries (uploads) and MB, for BuildKit\'s gha cache',
    '(`mode=max` / `mode=min`, blobs + index) and for @actions/cache (NuGet packages, sizes). "Own" leaves',
    `out the ${shared.size} blobs every app's mode=max export holds (the SDK and toolchain layers, stored once per branch).`,
    '',
    '| app | mode | first run: entries | first: MB (own) | one-line change: entries | change: MB | @actions/cache first: entries, MB | of which NuGet: app\'s own MB, SDK packs MB (shared) |',
    '|---|---|---|---|---|---|---|---|'
  ]
  for (const a of measured) {
    for (const mode of ['max', 'min'].filter((m) => a[m] !== undefined)) {
      const f = a[mode].first
      const c = a[mode].change
      const own = f.blobs.filter((b) => !shared.has(b.key)).reduce((s, b) => s + b.size, 0)
      lines.push(`| ${a.name} | ${mode} | ${f.gha.entries} | ${MB(f.gha.bytes)} (${MB(own)}) | ${c.gha.entries} | ${MB(c.gha.bytes)} | ${f.actions.entries}, ${MB(f.actions.bytes)} | ${MB(f.nuget?.own ?? 0)}, ${MB(f.nuget?.packs ?? 0)} |`)
    }
  }
  const sharedBytes = measured[0]?.max.first.blobs.filter((b) => shared.has(b.key)).reduce((s, b) => s + b.size, 0) ?? 0
  lines.push('', `Shared blobs: ${shared.size}, ${MB(sharedBytes)} MB.`, '', `\`node bench/cachecost.mjs\` (${new Date().toISOString().slice(0, 10)}); raw numbers in bench/cachecost.json.`)
  fs.writeFileSync(path.join(REPO, 'bench', 'cachecost.md'), `${lines.join('\n')}\n`)
  log(`wrote bench/cachecost.md:\n${lines.join('\n')}`)
}

fs.mkdirSync(WORK, { recursive: true })
const results = { platforms: PLATFORMS, apps: {} }
for (const app of chosen) {
  results.apps[app] = { name: APPS[app].name }
  for (const mode of (process.env.BENCH_MODES ?? 'max,min').split(',')) {
    const ws = workspace(app)
    edit(ws, app, `bench-${STAMP}-0`)
    const branch = `bench-${STAMP}-${app}-${mode}`
    log(`${app} mode=${mode}: first run`)
    const first = run(ws, app, mode, branch, 'first')
    edit(ws, app, `bench-${STAMP}-1`)
    log(`${app} mode=${mode}: one-line change`)
    const change = run(ws, app, mode, branch, 'change')
    results.apps[app][mode] = { first, change }
    fs.writeFileSync(path.join(REPO, 'bench', 'cachecost.json'), `${JSON.stringify(results, null, 1)}\n`)
    writeReport()
  }
}

