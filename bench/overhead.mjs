// Where a nothing-changed run's time goes: the action on the TodoApi sample (both platforms, the
// action's defaults, a warm builder) with a `docker` in front of the real one that records each
// command's kind, start and end (nothing else changes on the way); once without the Actions
// cache, and once with the cache service stand-in (scripts/cache-service.sh) as on GitHub: the
// gha cache, and smoke-test figures reused by digest. Per run: the wall time, the
// time of each kind of docker command (overlaps counted once per kind), and the time no docker
// command ran (the action's own work: reading the layout, checks, summary). BENCH_REPS runs (3),
// after one warm-up. Writes bench/overhead.{json,md}.
//   node bench/overhead.mjs   (after npm run bench set the engine up)
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { log, REPO, runAction, snapshotAction, stat } from './common.mjs'

const REPS = Number(process.env.BENCH_REPS ?? 3)
const OUT = path.join(REPO, 'bench', 'out', 'overhead')
fs.rmSync(OUT, { recursive: true, force: true })
fs.mkdirSync(path.join(OUT, 'bin'), { recursive: true })
const ACTION = snapshotAction(path.join(OUT, 'action'))
const WS = path.join(OUT, 'ws')
fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(WS, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
const REAL = execFileSync('bash', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
const TRACE = path.join(OUT, 'trace.jsonl')
// The recorder: the real docker with the same argv and stdio; one line per command when it ends.
// CommonJS in a .cjs file: the repository's package.json makes an extensionless script ESM.
fs.writeFileSync(path.join(OUT, 'bin', 'docker'), `#!/bin/sh\nexec node ${JSON.stringify(path.join(OUT, 'bin', 'docker.cjs'))} "$@"\n`, { mode: 0o755 })
fs.writeFileSync(
  path.join(OUT, 'bin', 'docker.cjs'),
  `const { spawn } = require('node:child_process')
const fs = require('node:fs')
const argv = process.argv.slice(2)
const start = Date.now()
const child = spawn(${JSON.stringify(REAL)}, argv, { stdio: 'inherit' })
child.on('exit', (code, signal) => {
  fs.appendFileSync(${JSON.stringify(TRACE)}, JSON.stringify({ argv: argv.slice(0, 12), start, end: Date.now() }) + '\\n')
  process.exit(code ?? (signal ? 1 : 0))
})
`,
  { mode: 0o755 }
)

/** What a docker command is, for the table. */
function kind(argv) {
  const a = argv.join(' ')
  if (argv[0] === 'run' && a.includes('aot-buildx.evaluation=true')) return 'evaluation sandbox (docker run)'
  if (argv[0] === 'buildx' && argv[1] === 'build') return a.includes('nuget-') ? 'NuGet package cache (buildx build)' : 'docker buildx build'
  if (argv[0] === 'buildx') return `docker buildx ${argv[1]}`
  if (argv[0] === 'image' && argv[1] === 'load') return 'smoke test: image load'
  if (argv[0] === 'container' && argv[1] === 'run') return 'smoke test: container run'
  if (argv[0] === 'container' || argv[0] === 'network') return 'smoke test: container/network commands'
  if (argv[0] === 'image') return `docker image ${argv[1]}`
  return `docker ${argv[0]}`
}
/** Length of the union of intervals. */
function covered(intervals) {
  let total = 0
  let end = -Infinity
  for (const [s, e] of [...intervals].sort((x, y) => x[0] - y[0])) {
    if (s > end) {
      total += e - s
      end = e
    } else if (e > end) {
      total += e - end
      end = e
    }
  }
  return total
}

/** A push run on a branch of its own (its cache scope), with a token for it. */
function serviceEnv() {
  const state = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
  const service = Object.fromEntries(
    fs
      .readFileSync(path.join(state, 'service.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
  const branch = `overhead-${Date.now().toString(36)}`
  const event = path.join(OUT, 'event.json')
  fs.writeFileSync(event, JSON.stringify({ repository: { full_name: 'octo/todo', default_branch: branch, private: false } }))
  const token = execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', `refs/heads/${branch}`], { encoding: 'utf8' }).trim()
  return { ...service, ACTIONS_RUNTIME_TOKEN: token, GITHUB_EVENT_PATH: event, GITHUB_EVENT_NAME: 'push', GITHUB_REF: `refs/heads/${branch}`, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/todo', GITHUB_RUN_ID: '1', GITHUB_SHA: 'a'.repeat(40) }
}

function once(label, env) {
  fs.writeFileSync(TRACE, '')
  const t0 = Date.now()
  const r = runAction(ACTION, WS, path.join(OUT, 'temp'), { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64,linux/arm64' }, { ...env, PATH: `${path.join(OUT, 'bin')}:${process.env.PATH}` })
  const t1 = Date.now()
  if (r.code !== 0) throw new Error(`${label} failed:\n${r.log.slice(-4000)}`)
  const cmds = fs.readFileSync(TRACE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const byKind = {}
  for (const c of cmds) (byKind[kind(c.argv)] ??= []).push([c.start, c.end])
  const kinds = Object.fromEntries(Object.entries(byKind).map(([k, iv]) => [k, { count: iv.length, seconds: covered(iv) / 1000 }]))
  const docker = covered(cmds.map((c) => [c.start, c.end])) / 1000
  const wall = (t1 - t0) / 1000
  log(`${label}: ${wall.toFixed(2)} s, docker ${docker.toFixed(2)} s, buildx ${JSON.parse(r.outputs.timings).build} s`)
  return { wall, docker, outside: wall - docker, buildx: JSON.parse(r.outputs.timings).build, kinds }
}

const variants = {}
for (const [name, env] of [['without the Actions cache', {}], ['with the Actions cache service (as on GitHub)', serviceEnv()]]) {
  once(`${name}: warm-up (builds what the builder lacks, saves what the service keeps)`, env)
  const runs = []
  for (let i = 1; i <= REPS; i++) runs.push(once(`${name}: nothing changed ${i}`, env))
  variants[name] = runs
}
fs.writeFileSync(path.join(REPO, 'bench', 'overhead.json'), `${JSON.stringify({ reps: REPS, variants }, null, 2)}\n`)
const f = (xs) => stat(xs).median.toFixed(2)
const md = [
  "# Where a nothing-changed run's time goes",
  '',
  `TodoApi, linux/amd64 + linux/arm64, the action's defaults, a warm builder; medians of ${REPS} runs in seconds. Generated by \`node bench/overhead.mjs\`.`
]
for (const [name, runs] of Object.entries(variants)) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.kinds)))].sort((a, b) => stat(runs.map((r) => r.kinds[b]?.seconds ?? 0)).median - stat(runs.map((r) => r.kinds[a]?.seconds ?? 0)).median)
  md.push(
    '',
    `## ${name}`,
    '',
    '| part | seconds | commands per run |',
    '|---|---:|---:|',
    `| whole run (wall) | ${f(runs.map((r) => r.wall))} | |`,
    ...names.map((n) => `| ${n} | ${f(runs.map((r) => r.kinds[n]?.seconds ?? 0))} | ${runs[0].kinds[n]?.count ?? 0} |`),
    `| no docker command running (node: start, layout, checks, summary) | ${f(runs.map((r) => r.outside))} | |`,
    `| action overhead as the bench counts it (wall − buildx) | ${f(runs.map((r) => r.wall - r.buildx))} | |`
  )
}
md.push('')
fs.writeFileSync(path.join(REPO, 'bench', 'overhead.md'), md.join('\n'))
console.log(md.join('\n'))
