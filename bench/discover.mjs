// mode: discover, timed and compared: one or more bundles of the action (BENCH_BUNDLES, a comma
// list of label=path/to/index.js; default: now=a snapshot of dist/) on
//   mono-*  a generated repository of 100 apps, 10 libraries, 10 test projects, a tool and docs
//           (gen-monorepo.mjs, BENCH_APPS apps): whole repository, and changed-since with one app
//           changed, one library changed (about 20 apps reference it), docs only;
//   shop-*  the shop fixture (e2e/fixtures/shop): whole (solution and folder), and changed-since
//           with an app, the library, the linked shared source, the props, docs/tests/unconsumed
//           files, global.json deleted, a source deleted.
// BENCH_DISCOVER picks scenarios in its order (comma list of names or prefixes; default all), BENCH_REPS the
// repetitions (1), alternating the bundles' order. Every run's outputs (matrix, count), summary and
// per-project log lines are compared across bundles: any difference fails the run (exit 1).
// Each run's results are kept in bench/out/discover{TAG}/result-SCENARIO-LABEL.json;
// BENCH_COMPARE=DIR also compares them with the results an earlier run kept in DIR (another
// bundle measured alone, e.g. the slow one earlier).
// BENCH_TRACE=1 puts trace-docker.mjs in front of docker and reports, per run, how many dotnet
// invocations the sandbox ran, of which kinds, and how long each took (start reconstructed from
// the driver's job limit). Writes bench/discover-results{BENCH_DISCOVER_TAG}.{json,md}.
// node bench/discover.mjs   (run it under the shared engine lock: it evaluates in containers)
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { log, REPO, runAction, snapshotAction } from './common.mjs'
import { generateMonorepo } from './gen-monorepo.mjs'

const TAG = process.env.BENCH_DISCOVER_TAG ?? ''
const OUT = path.join(REPO, 'bench', 'out', `discover${TAG}`)
const REPS = Number(process.env.BENCH_REPS ?? '1')
const TRACE = process.env.BENCH_TRACE === '1'
const COMPARE = process.env.BENCH_COMPARE
fs.mkdirSync(OUT, { recursive: true })
const BUNDLES = (process.env.BENCH_BUNDLES ?? `now=${snapshotAction(path.join(OUT, 'now-dist'))}`).split(',').map((b) => {
  const [label, file] = b.split('=')
  if (label === undefined || file === undefined || !fs.existsSync(file)) throw new Error(`BENCH_BUNDLES: ${b} is not label=path/to/index.js of an existing bundle`)
  return { label, file: path.resolve(file) }
})

const git = (ws, ...args) => execFileSync('git', ['-c', 'user.email=b@example.com', '-c', 'user.name=b', ...args], { cwd: ws, stdio: 'ignore' })

/** A git repository at `ws` whose `base` tag is its files, and one branch per change (name -> edit). */
function history(ws, changes) {
  git(ws, 'init', '-q', '-b', 'main')
  git(ws, 'add', '-A')
  git(ws, 'commit', '-qm', 'base')
  git(ws, 'tag', 'base')
  for (const [name, change] of Object.entries(changes)) {
    git(ws, 'checkout', '-q', '-b', name, 'base')
    change(ws)
    git(ws, 'add', '-A')
    git(ws, 'commit', '-qm', name)
  }
  git(ws, 'checkout', '-q', 'main')
}
const append = (f, text) => (ws) => fs.appendFileSync(path.join(ws, f), text)

const mono = path.join(OUT, 'mono')
generateMonorepo(mono, Number(process.env.BENCH_APPS ?? '100'), 10)
history(mono, {
  app: append('apps/Api004/Program.cs', '// changed\n'),
  lib: append('libs/Shared.Lib03/Lib.cs', '// changed\n'),
  docs: append('docs/operations.md', 'And on 8081 for health.\n')
})
const shop = path.join(OUT, 'shop')
fs.rmSync(shop, { recursive: true, force: true })
fs.cpSync(path.join(REPO, 'e2e', 'fixtures', 'shop'), shop, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
fs.writeFileSync(path.join(shop, 'src/Shop.Cli/Extra.cs'), 'static class Extra {}\n')
history(shop, {
  app: append('src/Shop.Api/Program.cs', '// changed\n'),
  lib: append('src/Shop.Data/Catalog.cs', '// changed\n'),
  linked: append('src/Shared/BuildInfo.cs', '// changed\n'),
  props: append('Directory.Build.props', '<!-- x -->\n'),
  docs: (ws) => {
    append('docs/ops.md', 'more\n')(ws)
    append('tests/Shop.Tests/CatalogTests.cs', '// more\n')(ws)
    append('Shop.slnx', '<!-- x -->\n')(ws)
    fs.writeFileSync(path.join(ws, 'src/NOTES.md'), 'not consumed\n')
  },
  'no-global-json': (ws) => fs.rmSync(path.join(ws, 'global.json')),
  'source-deleted': (ws) => fs.rmSync(path.join(ws, 'src/Shop.Cli/Extra.cs'))
})

const SCENARIOS = {
  'mono-whole': { ws: mono, branch: 'main', inputs: { project: 'Mono.sln' } },
  'mono-app': { ws: mono, branch: 'app', inputs: { project: 'Mono.sln', 'changed-since': 'base' } },
  'mono-lib': { ws: mono, branch: 'lib', inputs: { project: 'Mono.sln', 'changed-since': 'base' } },
  'mono-docs': { ws: mono, branch: 'docs', inputs: { project: 'Mono.sln', 'changed-since': 'base' } },
  'shop-whole': { ws: shop, branch: 'main', inputs: { project: 'Shop.slnx' } },
  'shop-folder': { ws: shop, branch: 'main', inputs: { project: '.' } },
  'shop-app': { ws: shop, branch: 'app', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-lib': { ws: shop, branch: 'lib', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-linked': { ws: shop, branch: 'linked', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-props': { ws: shop, branch: 'props', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-docs': { ws: shop, branch: 'docs', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-no-global-json': { ws: shop, branch: 'no-global-json', inputs: { project: 'Shop.slnx', 'changed-since': 'base' } },
  'shop-source-deleted': { ws: shop, branch: 'source-deleted', inputs: { project: '.', 'changed-since': 'base' } }
}
const wanted = (process.env.BENCH_DISCOVER ?? '').split(',').filter((w) => w !== '')
const names = wanted.length === 0 ? Object.keys(SCENARIOS) : [...new Set(wanted.flatMap((w) => Object.keys(SCENARIOS).filter((n) => n === w || n.startsWith(w))))]
if (names.length === 0) throw new Error(`BENCH_DISCOVER matches no scenario of ${Object.keys(SCENARIOS).join(', ')}`)

// The stand-in docker, first on PATH, when tracing.
const traceDir = path.join(OUT, 'trace-bin')
let traceEnv = {}
if (TRACE) {
  fs.mkdirSync(traceDir, { recursive: true })
  const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
  fs.writeFileSync(path.join(traceDir, 'docker'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO, 'bench', 'trace-docker.mjs')}" "$@"\n`, { mode: 0o755 })
  traceEnv = { PATH: `${traceDir}:${process.env.PATH}`, TRACE_REAL_DOCKER: real }
}

/** Counts and durations of the sandbox's dotnet invocations, from the trace of one run. */
function traced(file) {
  if (!fs.existsSync(file)) return undefined
  const runs = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const events = runs.flat()
  const start = events.find((e) => e.ev === 'start')
  const reqs = events.filter((e) => e.ev === 'req')
  const res = new Map(events.filter((e) => e.ev === 'res').map((e) => [e.id, e]))
  const end = events.find((e) => e.ev === 'end')
  const jobs = start?.jobs || 4
  // The driver reads requests in order and starts one when fewer than `jobs` run; one ends when its answer is printed.
  const ends = []
  let t = 0
  const per = []
  for (const r of reqs) {
    t = Math.max(t, r.t)
    for (;;) {
      const running = ends.filter((e) => e > t)
      if (running.length < jobs) break
      t = Math.min(...running)
    }
    const done = res.get(r.id)?.t ?? end?.t ?? t
    ends.push(done)
    const project = r.args.find((a) => /\.(cs|fs|vb)?proj$/i.test(a)) ?? (r.kind === 'g' ? '(batch)' : '?')
    per.push({ kind: r.kind, project, ms: done - t, wait: t - r.t, code: res.get(r.id)?.code })
  }
  const byKind = {}
  for (const p of per) byKind[p.kind] = (byKind[p.kind] ?? 0) + 1
  const byProject = new Map()
  for (const p of per) byProject.set(p.project, (byProject.get(p.project) ?? 0) + 1)
  const ms = per.map((p) => p.ms).sort((a, b) => a - b)
  const counts = [...byProject.values()]
  return {
    containers: runs.length,
    invocations: per.length,
    byKind,
    projects: byProject.size,
    perProjectMax: Math.max(0, ...counts),
    perProjectMean: counts.length === 0 ? 0 : counts.reduce((a, b) => a + b, 0) / counts.length,
    msMedian: ms[Math.floor(ms.length / 2)] ?? 0,
    msMax: ms.at(-1) ?? 0,
    msSum: ms.reduce((a, b) => a + b, 0),
    firstRequestAfterStart: reqs.length > 0 && start !== undefined ? reqs[0].t - start.t : 0,
    containerMs: end?.ms ?? 0,
    failed: per.filter((p) => p.code !== 0).length
  }
}

/** What must be equal across bundles: outputs, summary, and each project's line of the log. */
function result(r) {
  const lines = r.log
    .split('\n')
    .filter((l) => /^\S+\.csproj: /.test(l))
    .sort()
  return { matrix: r.outputs.matrix ?? '', count: r.outputs.count ?? '', summary: r.summary, lines }
}

function once(name, bundle, rep) {
  const s = SCENARIOS[name]
  git(s.ws, 'checkout', '-q', s.branch)
  const traceFile = path.join(OUT, `trace-${name}-${bundle.label}-${rep}.jsonl`)
  fs.rmSync(traceFile, { force: true })
  const temp = path.join(OUT, `temp-${bundle.label}`)
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  const r = runAction(bundle.file, s.ws, temp, { mode: 'discover', summary: 'true', ...s.inputs }, TRACE ? { ...traceEnv, TRACE_FILE: traceFile } : {})
  r.summary = fs.readFileSync(path.join(temp, 'summary'), 'utf8')
  if (r.code !== 0) throw new Error(`${name} (${bundle.label}) failed:\n${r.log.slice(-4000)}`)
  const t = TRACE ? traced(traceFile) : undefined
  log(`${name} ${bundle.label}: ${r.wall.toFixed(2)} s, ${r.outputs.count} apps listed, load ${load}${t ? `; ${t.invocations} dotnet invocations (${JSON.stringify(t.byKind)}) over ${t.projects} projects, median ${(t.msMedian / 1000).toFixed(2)} s, max ${(t.msMax / 1000).toFixed(2)} s, sum ${(t.msSum / 1000).toFixed(1)} s` : ''}`)
  return { wall: r.wall, load: Number(load), trace: t, result: result(r) }
}

const results = {}
let differ = 0
for (const name of names) {
  const per = Object.fromEntries(BUNDLES.map((b) => [b.label, []]))
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? BUNDLES : [...BUNDLES].reverse()
    for (const b of order) per[b.label].push(once(name, b, rep))
  }
  const first = per[BUNDLES[0].label][0].result
  for (const b of BUNDLES) fs.writeFileSync(path.join(OUT, `result-${name}-${b.label}.json`), `${JSON.stringify(per[b.label][0].result, null, 2)}\n`)
  const earlier = COMPARE === undefined ? [] : fs.readdirSync(COMPARE).filter((f) => f.startsWith(`result-${name}-`) && f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(COMPARE, f), 'utf8')))
  if (COMPARE !== undefined && earlier.length === 0) log(`${name}: no earlier result in ${COMPARE} to compare with`)
  const same = [...BUNDLES.flatMap((b) => per[b.label].map((x) => x.result)), ...earlier].every((x) => JSON.stringify(x) === JSON.stringify(first))
  if (!same) {
    differ++
    for (const b of BUNDLES) fs.writeFileSync(path.join(OUT, `diff-${name}-${b.label}.json`), `${JSON.stringify(per[b.label].map((x) => x.result), null, 2)}\n`)
    log(`${name}: the bundles' results DIFFER (bench/out/discover${TAG}/diff-${name}-*.json)`)
  }
  results[name] = {
    count: first.count,
    same,
    comparedWithEarlier: earlier.length > 0,
    bundles: Object.fromEntries(BUNDLES.map((b) => [b.label, { wall: per[b.label].map((x) => x.wall), load: per[b.label].map((x) => x.load), trace: per[b.label].map((x) => x.trace) }]))
  }
}
git(mono, 'checkout', '-q', 'main')
git(shop, 'checkout', '-q', 'main')

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const meta = { date: new Date().toISOString(), reps: REPS, cores: os.availableParallelism(), bundles: BUNDLES.map((b) => b.label), trace: TRACE, loadavgEnd: fs.readFileSync('/proc/loadavg', 'utf8').trim() }
fs.writeFileSync(path.join(REPO, 'bench', `discover-results${TAG}.json`), `${JSON.stringify({ meta, results }, null, 2)}\n`)
const f = (x) => x.toFixed(2)
const md = [
  `# mode: discover (${meta.date}, ${meta.cores} cores, ${REPS} repetition(s), seconds; load average (1 min) at each run's start)`,
  '',
  `| scenario | apps listed | same results | ${BUNDLES.map((b) => `${b.label}: wall (median) | ${b.label}: load`).join(' | ')}${TRACE ? ` | ${BUNDLES.map((b) => `${b.label}: dotnet invocations (per project max)`).join(' | ')}` : ''} |`,
  `|---|---:|---|${BUNDLES.map(() => '---:|---').join('|')}${TRACE ? `|${BUNDLES.map(() => '---').join('|')}` : ''}|`,
  ...Object.entries(results).map(
    ([n, r]) =>
      `| ${n} | ${r.count} | ${r.same ? 'yes' : '**no**'}${COMPARE !== undefined ? (r.comparedWithEarlier ? ' (with the earlier run too)' : ' (no earlier run)') : ''} | ${BUNDLES.map((b) => `${f(median(r.bundles[b.label].wall))} | ${r.bundles[b.label].load.join(', ')}`).join(' | ')}${TRACE ? ` | ${BUNDLES.map((b) => r.bundles[b.label].trace.map((t) => (t ? `${t.invocations} (${t.perProjectMax})` : '')).join(', ')).join(' | ')}` : ''} |`
  ),
  '',
  `Load average at the end: ${meta.loadavgEnd}.`
]
fs.writeFileSync(path.join(REPO, 'bench', `discover-results${TAG}.md`), `${md.join('\n')}\n`)
console.log(md.join('\n'))
if (differ > 0) {
  console.error(`${differ} scenario(s) gave different results across bundles`)
  process.exit(1)
}
