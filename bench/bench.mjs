// Benchmark: the action's generated Dockerfile ("ours") against the blog recipe
// ("baseline", bench/Dockerfile.blog) and a bare host `dotnet publish` ("floor"), side by
// side in one run, on the same engine, base images and sample (the webapiaot Todo API,
// linux/amd64 + linux/arm64). Writes bench/results.json and bench/results.md.
// Run with `npm run bench` (bench/run.sh sets up the engine and compiles lib/ first).
import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { log, PLATFORMS, prune, ratio, REPO, runAction, runDockerfile, saveLog as keepLog, snapshotAction, stat, stepTimes } from './common.mjs'

const LIB = path.join(REPO, 'bench', 'out', 'lib', 'src')
const { platformImages, layoutRoot } = await import(path.join(LIB, 'image', 'oci.js'))
const { inspectImage } = await import(path.join(LIB, 'image', 'inspect.js'))
const { layoutStore } = await import(path.join(LIB, 'image', 'layout.js'))

const REPS = Number(process.env.BENCH_REPS ?? 5)
const ACTION = snapshotAction(path.join(REPO, 'bench', 'out', 'action'))
const WORK = path.join(REPO, 'bench', 'out', 'work')
const SAMPLE = path.join(REPO, 'samples', 'TodoApi')

function copySample(dest) {
  fs.rmSync(dest, { recursive: true, force: true })
  fs.cpSync(SAMPLE, dest, { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
}

/** The one-line change: a different title for the first todo. */
function editSource(dir, n) {
  const f = path.join(dir, 'Program.cs')
  const text = fs.readFileSync(f, 'utf8').replace(/new\(1, "[^"]*"\)/, `new(1, "Walk the dog ${n}")`)
  fs.writeFileSync(f, text)
}

async function layoutSizes(ociDir) {
  const store = layoutStore(ociDir)
  const images = await platformImages(store, layoutRoot(fs.readFileSync(path.join(ociDir, 'index.json'), 'utf8')))
  const out = {}
  for (const img of images) {
    const r = await inspectImage(store, img)
    out[r.platform] = { compressed: r.compressed, uncompressed: r.uncompressed, appLayer: r.appLayer.compressed, appLayerUncompressed: r.appLayer.uncompressed }
  }
  return out
}

/** Every build's log, kept for a second look at a slow repetition (bench/out/logs). */
function saveLog(label, text) {
  keepLog(path.join(WORK, '..', 'logs'), label, text)
}

/** Ours: the bundled action, run the way a runner runs it. */
function runOurs(label, ws, extraInputs = {}) {
  const r = runAction(ACTION, ws, path.join(WORK, 'ours-temp'), { project: 'TodoApi', context: 'TodoApi', platforms: PLATFORMS, ...extraInputs })
  saveLog(label, r.log)
  if (r.code !== 0) throw new Error(`ours failed:\n${r.log.slice(-4000)}`)
  const timings = JSON.parse(r.outputs.timings)
  const sizes = JSON.parse(r.outputs.sizes)
  return { wall: r.wall, build: timings.build, overhead: r.wall - timings.build, sizes, steps: stepTimes(r.log) }
}

/** Baseline: the blog recipe, built with the same buildx, platforms and OCI output. */
async function runBaseline(label, ctx, withSizes) {
  const oci = path.join(WORK, 'baseline-oci')
  const r = runDockerfile(path.join(REPO, 'bench', 'Dockerfile.blog'), ctx, oci)
  const wall = r.wall
  saveLog(label, r.log)
  if (r.code !== 0) throw new Error(`baseline failed:\n${r.log.slice(-4000)}`)
  return { wall, build: wall, sizes: withSizes ? await layoutSizes(oci) : undefined, steps: stepTimes(r.log) }
}

/** Floor: dotnet publish on the host for both RIDs at once, same SDK and cross toolchain, no container. */
async function runFloor(dir, nugetDir) {
  const publish = (rid) =>
    new Promise((resolve, reject) => {
      // One copy of the project per RID: two publishes must not share one obj/ folder.
      const p = spawn('dotnet', ['publish', path.join(dir, rid, 'TodoApi.csproj'), '-r', rid, '-c', 'Release', '-o', path.join(dir, rid, 'out'), '--nologo'], {
        env: { ...process.env, NUGET_PACKAGES: nugetDir, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (out += d))
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`floor publish ${rid} failed:\n${out.slice(-3000)}`))))
    })
  const t0 = process.hrtime.bigint()
  await Promise.all([publish('linux-x64'), publish('linux-arm64')])
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9 }
}

const results = { reps: REPS, platforms: PLATFORMS, machine: { cores: (await import('node:os')).cpus().length }, runs: [] }
fs.mkdirSync(WORK, { recursive: true })

for (let rep = 1; rep <= REPS; rep++) {
  const row = { rep }
  // Ours
  const ws = path.join(WORK, 'ours-ws')
  copySample(path.join(ws, 'TodoApi'))
  prune()
  log(`rep ${rep}: ours, cold`)
  row.oursCold = runOurs(`ours-cold-${rep}`, ws)
  editSource(path.join(ws, 'TodoApi'), rep)
  log(`rep ${rep}: ours, one-line change`)
  row.oursChange = runOurs(`ours-change-${rep}`, ws)
  log(`rep ${rep}: ours, nothing changed`)
  row.oursNoop = runOurs(`ours-noop-${rep}`, ws)

  // Baseline
  const ctx = path.join(WORK, 'baseline-ctx')
  copySample(ctx)
  prune()
  log(`rep ${rep}: baseline, cold`)
  row.baselineCold = await runBaseline(`baseline-cold-${rep}`, ctx, rep === 1)
  editSource(ctx, rep)
  log(`rep ${rep}: baseline, one-line change`)
  row.baselineChange = await runBaseline(`baseline-change-${rep}`, ctx, false)
  log(`rep ${rep}: baseline, nothing changed`)
  row.baselineNoop = await runBaseline(`baseline-noop-${rep}`, ctx, false)

  // Floor
  const fdir = path.join(WORK, 'floor')
  const nuget = path.join(WORK, 'floor-nuget')
  for (const rid of ['linux-x64', 'linux-arm64']) copySample(path.join(fdir, rid))
  fs.rmSync(nuget, { recursive: true, force: true })
  log(`rep ${rep}: floor, cold`)
  row.floorCold = await runFloor(fdir, nuget)
  for (const rid of ['linux-x64', 'linux-arm64']) editSource(path.join(fdir, rid), rep)
  log(`rep ${rep}: floor, one-line change`)
  row.floorChange = await runFloor(fdir, nuget)
  results.runs.push(row)
  log(`rep ${rep}: ours ${row.oursCold.wall.toFixed(1)} / baseline ${row.baselineCold.wall.toFixed(1)} / floor ${row.floorCold.wall.toFixed(1)} s cold`)
  fs.writeFileSync(path.join(REPO, 'bench', 'results.json'), JSON.stringify(results, null, 2))
}

// Warm CI runs: two consecutive runs on an emptied builder (a fresh runner), without and
// with the NuGet packages kept between them (nuget-cache-dir stands in for the Actions cache,
// minus its upload and download).
{
  const ws = path.join(WORK, 'ci-ws')
  copySample(path.join(ws, 'TodoApi'))
  const store = path.join(ws, 'nuget-store')
  fs.rmSync(store, { recursive: true, force: true })
  const restoreStep = (r) => r.steps.find((x) => /\brestore \d+\/\d+\]/.test(x.step))?.seconds ?? 0
  prune()
  log('warm CI: run 1, packages not kept')
  const plain1 = runOurs('warm-plain1', ws)
  prune()
  log('warm CI: run 2, packages not kept')
  const plain2 = runOurs('warm-plain2', ws)
  prune()
  log('warm CI: run 1, packages kept (export after the build)')
  const kept1 = runOurs('warm-kept1', ws, { 'nuget-cache-dir': 'nuget-store' })
  prune()
  log('warm CI: run 2, seeded from the kept packages')
  const kept2 = runOurs('warm-kept2', ws, { 'nuget-cache-dir': 'nuget-store' })
  const size = Number(execFileSync('du', ['-sb', store]).toString().split('\t')[0])
  results.warmCi = {
    withoutKeep: { run1: plain1.wall, run2: plain2.wall, restore2: restoreStep(plain2) },
    withKeep: { run1: kept1.wall, run2: kept2.wall, restore2: restoreStep(kept2) },
    storeBytes: size
  }
  log(`warm CI: run 2 ${plain2.wall.toFixed(1)} s without, ${kept2.wall.toFixed(1)} s with kept packages`)
}

const pick = (key, field = 'wall') => stat(results.runs.map((r) => r[key][field]))
const t = {
  oursCold: pick('oursCold'),
  baselineCold: pick('baselineCold'),
  floorCold: pick('floorCold'),
  oursChange: pick('oursChange'),
  baselineChange: pick('baselineChange'),
  floorChange: pick('floorChange'),
  oursNoop: pick('oursNoop'),
  baselineNoop: pick('baselineNoop'),
  overhead: stat(results.runs.flatMap((r) => [r.oursCold.overhead, r.oursChange.overhead, r.oursNoop.overhead]))
}
const oursSizes = results.runs[0].oursCold.sizes
const baseSizes = results.runs[0].baselineCold.sizes
results.summary = {
  timings: t,
  ratios: {
    coldVsBaseline: ratio(t.oursCold.median, t.baselineCold.median),
    coldVsFloor: ratio(t.oursCold.median, t.floorCold.median),
    changeVsBaseline: ratio(t.oursChange.median, t.baselineChange.median),
    appLayerVsBaseline: Object.fromEntries(Object.keys(oursSizes).map((p) => [p, ratio(oursSizes[p].appLayer, baseSizes[p].appLayer)]))
  },
  sizes: { ours: oursSizes, baseline: baseSizes }
}
results.goals = {
  'cold <= 0.7 x baseline': results.summary.ratios.coldVsBaseline <= 0.7,
  'cold <= 1.3 x floor': results.summary.ratios.coldVsFloor <= 1.3,
  'one-line change <= 0.8 x baseline': results.summary.ratios.changeVsBaseline <= 0.8,
  'nothing changed <= 10 s': t.oursNoop.median <= 10,
  'app layer <= 0.4 x baseline (each platform)': Object.values(results.summary.ratios.appLayerVsBaseline).every((r) => r <= 0.4),
  'overhead <= 3 s': t.overhead.median <= 3
}
fs.writeFileSync(path.join(REPO, 'bench', 'results.json'), JSON.stringify(results, null, 2))

const f = (x) => x.toFixed(1)
const mb = (n) => (n / 1e6).toFixed(2)
const md = [
  `# Benchmark results`,
  '',
  `${REPS} repetitions, ${results.machine.cores} cores, ${PLATFORMS}, webapiaot sample. Times in seconds (min / median). Generated by \`npm run bench\`.`,
  '',
  '| scenario | ours | baseline (blog recipe) | floor (host publish) | ours / baseline | ours / floor |',
  '|---|---:|---:|---:|---:|---:|',
  `| cold (caches emptied) | ${f(t.oursCold.min)} / ${f(t.oursCold.median)} | ${f(t.baselineCold.min)} / ${f(t.baselineCold.median)} | ${f(t.floorCold.min)} / ${f(t.floorCold.median)} | ${results.summary.ratios.coldVsBaseline} | ${results.summary.ratios.coldVsFloor} |`,
  `| one-line .cs change | ${f(t.oursChange.min)} / ${f(t.oursChange.median)} | ${f(t.baselineChange.min)} / ${f(t.baselineChange.median)} | ${f(t.floorChange.min)} / ${f(t.floorChange.median)} | ${results.summary.ratios.changeVsBaseline} | ${ratio(t.oursChange.median, t.floorChange.median)} |`,
  `| nothing changed | ${f(t.oursNoop.min)} / ${f(t.oursNoop.median)} | ${f(t.baselineNoop.min)} / ${f(t.baselineNoop.median)} | | ${ratio(t.oursNoop.median, t.baselineNoop.median)} | |`,
  '',
  `Action overhead (wall time minus docker buildx build): ${t.overhead.min.toFixed(2)} / ${t.overhead.median.toFixed(2)} s.`,
  '',
  '| platform | ours compressed | ours uncompressed | ours app layer | baseline compressed | baseline uncompressed | baseline app layer | app layer ratio |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...Object.keys(oursSizes).map(
    (p) =>
      `| ${p} | ${mb(oursSizes[p].compressed)} MB | ${mb(oursSizes[p].uncompressed)} MB | ${mb(oursSizes[p].appLayer)} MB | ${mb(baseSizes[p].compressed)} MB | ${mb(baseSizes[p].uncompressed)} MB | ${mb(baseSizes[p].appLayer)} MB | ${results.summary.ratios.appLayerVsBaseline[p]} |`
  ),
  '',
  'Ours uses the flavour `auto` picks for this sample (chiseled: InvariantGlobalization is true); the blog recipe uses chiseled-extra. The app layer (the layer holding the entrypoint, compressed) is independent of the base.',
  '',
  '## Goals',
  '',
  ...Object.entries(results.goals).map(([k, v]) => `- ${v ? 'met' : 'NOT met'}: ${k}`),
  '',
  '## Warm CI runs (emptied builder between two runs, 1 repetition)',
  '',
  '| | run 1 | run 2 | restore step in run 2 |',
  '|---|---:|---:|---:|',
  `| packages not kept | ${f(results.warmCi.withoutKeep.run1)} | ${f(results.warmCi.withoutKeep.run2)} | ${f(results.warmCi.withoutKeep.restore2)} |`,
  `| packages kept (nuget-cache-dir) | ${f(results.warmCi.withKeep.run1)} | ${f(results.warmCi.withKeep.run2)} | ${f(results.warmCi.withKeep.restore2)} |`,
  '',
  `Kept packages: ${mb(results.warmCi.storeBytes)} MB. Run 1 with keeping includes exporting them. On GitHub the Actions cache adds its own download and upload time; the registry this machine restores from is local, so the saving here is a lower bound for a real NuGet download.`,
  '',
  '## Slowest steps (rep 1)',
  '',
  ...['oursCold', 'baselineCold', 'oursChange', 'baselineChange'].flatMap((k) => [`${k}:`, ...results.runs[0][k].steps.map((s) => `- ${s.seconds}s ${s.step}`), '']),
  ''
].join('\n')
fs.writeFileSync(path.join(REPO, 'bench', 'results.md'), md)
console.log(md)
