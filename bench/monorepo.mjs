// Monorepo benchmark: the shop fixture (e2e/fixtures/shop: three apps, a shared library, a
// linked source, tests, docs, its own .dockerignore), ours against the blog recipe written for
// it (bench/Dockerfile.blog-monorepo), side by side in one run on the same engine. Scenarios:
// nothing changed; unrelated changes (docs, tests, another app); a change in the shared
// library (every app built); a matrix pass over the three apps after one app changed, and the
// same pass after `mode: discover` with changed-since. Writes bench/monorepo-results.{json,md}.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cachedRuns, log, prune, ratio, REPO, runAction, runDockerfile, saveLog, snapshotAction, stat } from './common.mjs'

const REPS = Number(process.env.BENCH_MONOREPO_REPS ?? process.env.BENCH_REPS ?? 3)
const ACTION = snapshotAction(path.join(REPO, 'bench', 'out', 'mono-action'))
const WORK = path.join(REPO, 'bench', 'out', 'mono')
const LOGS = path.join(REPO, 'bench', 'out', 'logs')
const FIXTURE = path.join(REPO, 'e2e', 'fixtures', 'shop')
const BLOG = path.join(REPO, 'bench', 'Dockerfile.blog-monorepo')
const APPS = { api: 'src/Shop.Api/Shop.Api.csproj', worker: 'src/Shop.Worker/Shop.Worker.csproj', cli: 'src/Shop.Cli/Shop.Cli.csproj' }

/** A fresh copy of the fixture as a git repository (discovery reads its history). */
function copyFixture(dest) {
  fs.rmSync(dest, { recursive: true, force: true })
  fs.cpSync(FIXTURE, dest, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  git(dest, 'init', '-q', '-b', 'main')
  commit(dest, 'base')
}

function git(dir, ...args) {
  return execFileSync('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', ...args], { cwd: dir, encoding: 'utf8' })
}

function commit(dir, msg) {
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', msg, '--allow-empty')
  return git(dir, 'rev-parse', 'HEAD').trim()
}

/** One-line edits, each with a value no earlier build has seen. */
const EDITS = {
  docs: (dir, n) => fs.appendFileSync(path.join(dir, 'docs/ops.md'), `\nNote ${n}.\n`),
  tests: (dir, n) => fs.appendFileSync(path.join(dir, 'tests/Shop.Tests/CatalogTests.cs'), `\n// ${n}\n`),
  otherApp: (dir, n) => replace(path.join(dir, 'src/Shop.Cli/Program.cs'), /Revision = "[^"]*"/, `Revision = "cli-${n}"`),
  library: (dir, n) => replace(path.join(dir, 'src/Shop.Data/Catalog.cs'), /Revision = "[^"]*"/, `Revision = "data-${n}"`)
}

function replace(file, from, to) {
  const text = fs.readFileSync(file, 'utf8')
  if (!from.test(text)) throw new Error(`${file} does not match ${from}`)
  fs.writeFileSync(file, text.replace(from, to))
}

/** A build of one app by one recipe: wall seconds and how many RUN steps were cached. */
function builder(kind, ws) {
  return (app, label) => {
    const r =
      kind === 'ours'
        ? runAction(ACTION, ws, path.join(WORK, `${kind}-temp`), { project: APPS[app] })
        : runDockerfile(BLOG, ws, path.join(WORK, `${kind}-oci`), { PROJECT: APPS[app] })
    saveLog(LOGS, `mono-${kind}-${label}-${app}`, r.log)
    if (r.code !== 0) throw new Error(`${kind} ${label} ${app} failed:\n${r.log.slice(-4000)}`)
    return { wall: r.wall, ...cachedRuns(r.log) }
  }
}

/** Ours only: discovery of the apps whose inputs changed since `base`. */
function discover(ws, base) {
  const r = runAction(ACTION, ws, path.join(WORK, 'discover-temp'), { mode: 'discover', project: 'Shop.slnx', 'changed-since': base })
  saveLog(LOGS, 'mono-discover', r.log)
  if (r.code !== 0) throw new Error(`discover failed:\n${r.log.slice(-4000)}`)
  return { wall: r.wall, apps: JSON.parse(r.outputs.matrix).include.map((e) => e.project) }
}

function runKind(kind, rep) {
  const ws = path.join(WORK, `${kind}-ws`)
  copyFixture(ws)
  const build = builder(kind, ws)
  const row = {}
  prune()
  log(`rep ${rep}: ${kind}, cold builds of the three apps`)
  row.cold = Object.fromEntries(Object.keys(APPS).map((a) => [a, build(a, `cold-${rep}`)]))
  log(`rep ${rep}: ${kind}, nothing changed (every app)`)
  row.noopAll = Object.fromEntries(Object.keys(APPS).map((a) => [a, build(a, `noop-${rep}`)]))
  row.noop = row.noopAll.api
  for (const what of ['docs', 'tests', 'otherApp']) {
    EDITS[what](ws, `${kind}-${rep}`)
    log(`rep ${rep}: ${kind}, unrelated change (${what}), api rebuilt`)
    row[what] = build('api', `${what}-${rep}`)
  }
  // Bring every app up to date before the library change.
  for (const a of ['worker', 'cli']) build(a, `sync-${rep}`)
  EDITS.library(ws, `${kind}-${rep}`)
  log(`rep ${rep}: ${kind}, library change, every app built`)
  row.library = Object.fromEntries(Object.keys(APPS).map((a) => [a, build(a, `library-${rep}`)]))
  // A matrix pass over the three apps after one of them changed.
  const base = commit(ws, 'before the matrix pass')
  replace(path.join(ws, 'src/Shop.Cli/Program.cs'), /Revision = "[^"]*"/, `Revision = "cli-matrix-${kind}-${rep}"`)
  commit(ws, 'cli changed')
  log(`rep ${rep}: ${kind}, matrix pass over the three apps (cli changed)`)
  row.matrix = Object.fromEntries(Object.keys(APPS).map((a) => [a, build(a, `matrix-${rep}`)]))
  if (kind === 'ours') {
    // The same change again, then discovery lists only the changed app.
    replace(path.join(ws, 'src/Shop.Cli/Program.cs'), /Revision = "[^"]*"/, `Revision = "cli-discover-${rep}"`)
    const before = git(ws, 'rev-parse', 'HEAD').trim()
    commit(ws, 'cli changed again')
    log(`rep ${rep}: ours, discover + the apps it lists`)
    const d = discover(ws, before)
    row.discover = { discover: d.wall, apps: d.apps, builds: d.apps.map((p) => build(Object.keys(APPS).find((k) => APPS[k] === p), `discovered-${rep}`)) }
  }
  return row
}

const results = { reps: REPS, runs: [] }
fs.mkdirSync(WORK, { recursive: true })
for (let rep = 1; rep <= REPS; rep++) {
  const row = { rep, ours: runKind('ours', rep), blog: runKind('blog', rep) }
  results.runs.push(row)
  fs.writeFileSync(path.join(REPO, 'bench', 'monorepo-results.json'), JSON.stringify(results, null, 2))
}

const med = (f) => stat(results.runs.map(f)).median
const sum = (o) => Object.values(o).reduce((a, b) => a + b.wall, 0)
const k = (kind) => ({
  noop: med((r) => r[kind].noop.wall),
  noopOf: Object.fromEntries(Object.keys(APPS).map((a) => [a, med((r) => r[kind].noopAll[a].wall)])),
  docs: med((r) => r[kind].docs.wall),
  tests: med((r) => r[kind].tests.wall),
  otherApp: med((r) => r[kind].otherApp.wall),
  library: Object.fromEntries(Object.keys(APPS).map((a) => [a, med((r) => r[kind].library[a].wall)])),
  libraryCached: Object.fromEntries(Object.keys(APPS).map((a) => [a, `${results.runs[0][kind].library[a].cached}/${results.runs[0][kind].library[a].runs}`])),
  matrix: med((r) => sum(r[kind].matrix)),
  matrixChanged: med((r) => r[kind].matrix.cli.wall),
  unrelatedCached: ['docs', 'tests', 'otherApp'].map((w) => `${results.runs[0][kind][w].cached}/${results.runs[0][kind][w].runs}`)
})
const ours = k('ours')
const blog = k('blog')
const discoverTotal = med((r) => r.ours.discover.discover + r.ours.discover.builds.reduce((a, b) => a + b.wall, 0))
const discoverOnly = med((r) => r.ours.discover.discover)
const unrelatedMax = Math.max(ours.docs, ours.tests, ours.otherApp)
results.summary = { ours, blog, discoverTotal, discoverOnly, discoveredApps: results.runs[0].ours.discover.apps }
results.goals = {
  'unrelated change <= 10 s': unrelatedMax <= 10,
  'unrelated change <= 1.5 x nothing changed': unrelatedMax <= 1.5 * ours.noop,
  'library change rebuilds the apps that reference it, and only those': results.runs.every((r) => r.ours.library.cli.cached === r.ours.library.cli.runs && r.ours.library.api.cached < r.ours.library.api.runs && r.ours.library.worker.cached < r.ours.library.worker.runs),
  // The two unchanged apps' own nothing-changed builds: each app's evaluation costs differ.
  'matrix pass <= 1 build + 2 x nothing changed': ours.matrix <= ours.matrixChanged + ours.noopOf.api + ours.noopOf.worker
}
fs.writeFileSync(path.join(REPO, 'bench', 'monorepo-results.json'), JSON.stringify(results, null, 2))

const f = (x) => x.toFixed(1)
const md = [
  '# Monorepo benchmark',
  '',
  `${REPS} repetitions; the shop fixture (e2e/fixtures/shop): Shop.Api and Shop.Worker reference Shop.Data, Shop.Cli references nothing; its .dockerignore leaves out docs/ and tests/. Ours: the action with its defaults. Blog: the blog recipe written for one app of the repository (bench/Dockerfile.blog-monorepo), context = the repository. Both build linux/amd64 + linux/arm64 on one warm builder. Seconds, medians. Generated by \`npm run bench\`.`,
  '',
  '| scenario (app built) | ours | blog | ours / blog | RUN steps cached (ours; blog), rep 1 |',
  '|---|---:|---:|---:|---|',
  ...Object.keys(APPS).map((a) => `| nothing changed (${a}) | ${f(ours.noopOf[a])} | ${f(blog.noopOf[a])} | ${ratio(ours.noopOf[a], blog.noopOf[a])} | |`),
  `| docs changed (api) | ${f(ours.docs)} | ${f(blog.docs)} | ${ratio(ours.docs, blog.docs)} | ${ours.unrelatedCached[0]}; ${blog.unrelatedCached[0]} |`,
  `| tests changed (api) | ${f(ours.tests)} | ${f(blog.tests)} | ${ratio(ours.tests, blog.tests)} | ${ours.unrelatedCached[1]}; ${blog.unrelatedCached[1]} |`,
  `| another app changed (api) | ${f(ours.otherApp)} | ${f(blog.otherApp)} | ${ratio(ours.otherApp, blog.otherApp)} | ${ours.unrelatedCached[2]}; ${blog.unrelatedCached[2]} |`,
  ...Object.keys(APPS).map((a) => `| library changed (${a}) | ${f(ours.library[a])} | ${f(blog.library[a])} | ${ratio(ours.library[a], blog.library[a])} | ${ours.libraryCached[a]}; ${blog.libraryCached[a]} |`),
  `| matrix pass over 3 apps, cli changed (total) | ${f(ours.matrix)} | ${f(blog.matrix)} | ${ratio(ours.matrix, blog.matrix)} | |`,
  `| discover + the apps it lists (${results.summary.discoveredApps.join(', ')}) | ${f(discoverTotal)} | | ${ratio(discoverTotal, blog.matrix)} | discover alone ${f(discoverOnly)} s |`,
  '',
  '## Goals (ours)',
  '',
  `- unrelated change: slowest of docs/tests/another app ${f(unrelatedMax)} s; nothing changed ${f(ours.noop)} s (${ratio(unrelatedMax, ours.noop)} x)`,
  `- matrix pass ${f(ours.matrix)} s; 1 build (cli, ${f(ours.matrixChanged)} s) + nothing changed of api and worker (${f(ours.noopOf.api)} + ${f(ours.noopOf.worker)} s) = ${f(ours.matrixChanged + ours.noopOf.api + ours.noopOf.worker)} s`,
  ...Object.entries(results.goals).map(([g, ok]) => `- ${ok ? 'met' : 'NOT met'}: ${g}`),
  ''
].join('\n')
fs.writeFileSync(path.join(REPO, 'bench', 'monorepo-results.md'), md)
console.log(md)
