// Benchmark: warm CI on fresh runners, through the Actions cache service (the local stand-in,
// scripts/cache-service.sh: GitHub's Twirp methods in front of Azurite's blob storage). Side by
// side in one run, on the TodoApi sample, linux/amd64 + linux/arm64:
//   - ours: the action with its defaults (cache: auto = BuildKit's type=gha cache, and the NuGet
//     packages kept with @actions/cache);
//   - baseline: the blog recipe built as a user of Docker's actions would, with
//     --cache-from/--cache-to type=gha,mode=max.
// Each repetition, for each: a first run on an empty builder saves the caches; then, each on an
// emptied builder as on a fresh runner, "nothing changed" and "one-line change"; and the same
// kind of one-line change on the warm builder, for the ratio. The workspace is a git checkout
// with a commit per change, as on a runner (the action takes the images' timestamps from it).
// Writes bench/fresh-runner.json and bench/fresh-runner.md. `BENCH_SUITES=fresh npm run bench`.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { log, prune, ratio, REPO, runAction, runDockerfile, saveLog, snapshotAction, stat, cachedRuns } from './common.mjs'

const REPS = Number(process.env.BENCH_REPS ?? 3)
// BENCH_FRESH=noop: only the first run and the fresh runner's nothing-changed run (a quick check).
// BENCH_FRESH=sbom: the same, ours with its defaults against ours with dotnet-sbom: false (what the SBOM costs).
const SBOM_PAIR = process.env.BENCH_FRESH === 'sbom'
const NOOP_ONLY = process.env.BENCH_FRESH === 'noop' || SBOM_PAIR
const WHO = SBOM_PAIR ? ['ours', 'ours-nosbom'] : ['ours', 'baseline']
// BENCH_FRESH_REPORT=1: no runs; the tables from the results file a run interrupted after a repetition left.
const REPORT_ONLY = process.env.BENCH_FRESH_REPORT === '1'
const RESULTS = path.join(REPO, 'bench', SBOM_PAIR ? 'fresh-runner-sbom' : NOOP_ONLY ? 'fresh-runner-noop' : 'fresh-runner')
const ACTION = snapshotAction(path.join(REPO, 'bench', 'out', 'action-fresh'))
const WORK = path.join(REPO, 'bench', 'out', 'fresh')
const LOGS = path.join(REPO, 'bench', 'out', 'logs')
const SAMPLE = path.join(REPO, 'samples', 'TodoApi')
const STATE = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
const STAMP = Date.now().toString(36)

function serviceEnv() {
  const text = fs.readFileSync(path.join(STATE, 'service.env'), 'utf8')
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

/** A runner's environment for a push to `branch`, its default branch, with a token for its cache scope. */
function runnerEnv(branch) {
  const event = path.join(WORK, `event-${branch}.json`)
  fs.writeFileSync(event, JSON.stringify({ repository: { full_name: 'octo/todo', default_branch: branch, private: false } }))
  const token = execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', `refs/heads/${branch}`], { encoding: 'utf8' }).trim()
  return {
    ...serviceEnv(),
    ACTIONS_RUNTIME_TOKEN: token,
    GITHUB_EVENT_PATH: event,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REF: `refs/heads/${branch}`,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo/todo',
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_SHA: 'a'.repeat(40)
  }
}

function copySample(dest) {
  fs.rmSync(dest, { recursive: true, force: true })
  fs.cpSync(SAMPLE, dest, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
}

function editSource(dir, text) {
  const f = path.join(dir, 'Program.cs')
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/new\(1, "[^"]*"\)/, `new(1, "${text}")`))
}

/** The workspace as actions/checkout leaves it: a git checkout of a commit (the action reads its time). */
function commit(ws, message) {
  const git = (...args) => execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', ...args], { cwd: ws, stdio: 'ignore' })
  if (!fs.existsSync(path.join(ws, '.git'))) git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('commit', '-qm', message)
}

function ours(label, ws, env, extra = {}) {
  // A fresh RUNNER_TEMP every run: nothing is kept on the runner between runs.
  const r = runAction(ACTION, ws, path.join(WORK, 'ours-temp'), { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64,linux/arm64', summary: 'false', ...extra }, env)
  saveLog(LOGS, `fresh-${label}`, r.log)
  if (r.code !== 0) throw new Error(`ours ${label} failed:\n${r.log.slice(-4000)}`)
  if (!/exporting to GitHub Actions Cache|importing cache manifest from gha/.test(r.log)) throw new Error(`ours ${label} did not use the gha cache`)
  return { wall: r.wall, cached: cachedRuns(r.log) }
}

function baseline(label, ctx, env, scope) {
  const gha = ['--cache-from', `type=gha,scope=${scope}`, '--cache-to', `type=gha,scope=${scope},mode=max`]
  const r = runDockerfile(path.join(REPO, 'bench', 'Dockerfile.blog'), ctx, path.join(WORK, 'baseline-oci'), {}, gha, { ...process.env, ...env })
  saveLog(LOGS, `fresh-${label}`, r.log)
  if (r.code !== 0) throw new Error(`baseline ${label} failed:\n${r.log.slice(-4000)}`)
  return { wall: r.wall, cached: cachedRuns(r.log) }
}

if (!REPORT_ONLY) {
  fs.rmSync(WORK, { recursive: true, force: true })
  fs.mkdirSync(WORK, { recursive: true })
}
const results = REPORT_ONLY ? JSON.parse(fs.readFileSync(`${RESULTS}.json`, 'utf8')) : { reps: REPS, runs: [] }
results.reps = REPORT_ONLY ? results.runs.length : REPS
for (let rep = 1; !REPORT_ONLY && rep <= REPS; rep++) {
  const row = { rep }
  for (const who of WHO) {
    // A cache scope (branch) of this repetition's own: each first run starts with nothing saved.
    const branch = `bench-${STAMP}-${who}-${rep}`
    const env = runnerEnv(branch)
    const mine = who.startsWith('ours')
    const dir = path.join(WORK, mine ? 'ws' : 'ctx')
    const app = mine ? path.join(dir, 'TodoApi') : dir
    fs.rmSync(dir, { recursive: true, force: true })
    copySample(app)
    editSource(app, `Walk the dog ${STAMP} ${rep}`)
    commit(dir, 'first')
    const build = (label) => (mine ? ours(`${who}-${label}-${rep}`, dir, env, who === 'ours-nosbom' ? { 'dotnet-sbom': 'false' } : {}) : baseline(`${who}-${label}-${rep}`, dir, env, branch))
    prune()
    log(`rep ${rep}: ${who}, first run on an empty builder (saves the caches)`)
    const first = build('first')
    prune()
    log(`rep ${rep}: ${who}, fresh runner, nothing changed`)
    const freshNoop = build('fresh-noop')
    if (NOOP_ONLY) {
      row[who] = { first, freshNoop }
      log(`rep ${rep}: ${who}: first ${first.wall.toFixed(1)} s, fresh nothing changed ${freshNoop.wall.toFixed(1)} s`)
      continue
    }
    editSource(app, `Walk the cat ${STAMP} ${rep}`)
    commit(dir, 'cat')
    log(`rep ${rep}: ${who}, warm builder, one-line change`)
    const warmChange = build('warm-change')
    prune()
    editSource(app, `Walk the fish ${STAMP} ${rep}`)
    commit(dir, 'fish')
    log(`rep ${rep}: ${who}, fresh runner, one-line change`)
    const freshChange = build('fresh-change')
    row[who] = { first, freshNoop, warmChange, freshChange }
    log(`rep ${rep}: ${who}: first ${first.wall.toFixed(1)} s, fresh nothing changed ${freshNoop.wall.toFixed(1)} s, warm change ${warmChange.wall.toFixed(1)} s, fresh change ${freshChange.wall.toFixed(1)} s`)
  }
  results.runs.push(row)
  fs.writeFileSync(`${RESULTS}.json`, JSON.stringify(results, null, 2))
}

if (NOOP_ONLY) {
  const noop = (who) => stat(results.runs.map((r) => r[who].freshNoop.wall))
  const [a, b] = WHO.map(noop)
  const names = SBOM_PAIR ? ['ours (dotnet-sbom: true, the default)', 'ours with dotnet-sbom: false'] : ['ours', 'blog recipe + gha']
  fs.writeFileSync(
    `${RESULTS}.md`,
    `# Fresh runner, nothing changed (BENCH_FRESH=${process.env.BENCH_FRESH})\n\n${results.reps} repetition(s), TodoApi, both arches, seconds min / median: ${names[0]} ${a.min.toFixed(1)} / ${a.median.toFixed(1)}, ${names[1]} ${b.min.toFixed(1)} / ${b.median.toFixed(1)}; ratio of medians ${ratio(a.median, b.median)}.\n`
  )
  process.exit(0)
}

const pick = (who, k) => stat(results.runs.map((r) => r[who][k].wall))
const t = {}
for (const who of ['ours', 'baseline']) for (const k of ['first', 'freshNoop', 'warmChange', 'freshChange']) t[`${who}.${k}`] = pick(who, k)
results.summary = {
  timings: t,
  ratios: {
    oursFreshChangeVsWarm: ratio(t['ours.freshChange'].median, t['ours.warmChange'].median),
    baselineFreshChangeVsWarm: ratio(t['baseline.freshChange'].median, t['baseline.warmChange'].median),
    freshNoopVsBaseline: ratio(t['ours.freshNoop'].median, t['baseline.freshNoop'].median),
    freshChangeVsBaseline: ratio(t['ours.freshChange'].median, t['baseline.freshChange'].median)
  }
}
results.goals = {
  'fresh runner, nothing changed <= 20 s (both arches)': t['ours.freshNoop'].median <= 20,
  'fresh runner, one-line change <= 1.15 x the same change on a warm builder': results.summary.ratios.oursFreshChangeVsWarm <= 1.15
}
fs.writeFileSync(path.join(REPO, 'bench', 'fresh-runner.json'), JSON.stringify(results, null, 2))

const f = (x) => `${x.min.toFixed(1)} / ${x.median.toFixed(1)}`
const c = (who, k) => results.runs.map((r) => `${r[who][k].cached.cached}/${r[who][k].cached.runs}`).join(', ')
const md = [
  '# Fresh runners: the gha cache through the Actions cache service',
  '',
  `${results.reps} repetitions, linux/amd64 + linux/arm64, TodoApi sample; the cache service is the local stand-in (scripts/cache-service.sh: GitHub's Twirp methods, Azurite's blob storage on this machine). Seconds, min / median; ratios of medians. Generated by \`BENCH_SUITES=fresh npm run bench\`.`,
  '',
  '| scenario | ours | baseline (blog recipe, type=gha,mode=max) | ours / baseline | RUN steps CACHED, ours (per rep) | baseline |',
  '|---|---:|---:|---:|---|---|',
  `| first run, empty builder (saves the caches) | ${f(t['ours.first'])} | ${f(t['baseline.first'])} | ${ratio(t['ours.first'].median, t['baseline.first'].median)} | ${c('ours', 'first')} | ${c('baseline', 'first')} |`,
  `| fresh runner, nothing changed | ${f(t['ours.freshNoop'])} | ${f(t['baseline.freshNoop'])} | ${results.summary.ratios.freshNoopVsBaseline} | ${c('ours', 'freshNoop')} | ${c('baseline', 'freshNoop')} |`,
  `| warm builder, one-line change | ${f(t['ours.warmChange'])} | ${f(t['baseline.warmChange'])} | ${ratio(t['ours.warmChange'].median, t['baseline.warmChange'].median)} | ${c('ours', 'warmChange')} | ${c('baseline', 'warmChange')} |`,
  `| fresh runner, one-line change | ${f(t['ours.freshChange'])} | ${f(t['baseline.freshChange'])} | ${results.summary.ratios.freshChangeVsBaseline} | ${c('ours', 'freshChange')} | ${c('baseline', 'freshChange')} |`,
  '',
  `Fresh runner one-line change / warm builder one-line change: ours ${results.summary.ratios.oursFreshChangeVsWarm}, baseline ${results.summary.ratios.baselineFreshChangeVsWarm}.`,
  '',
  '## Goals',
  '',
  ...Object.entries(results.goals).map(([k, v]) => `- ${v ? 'met' : 'NOT met'}: ${k}`),
  ''
].join('\n')
fs.writeFileSync(path.join(REPO, 'bench', 'fresh-runner.md'), md)
console.log(md)
