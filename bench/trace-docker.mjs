// A `docker` stand-in for the discovery benchmark (bench/discover.mjs puts it first on PATH):
// every command goes to the real docker (TRACE_REAL_DOCKER) unchanged; for the evaluation
// sandbox (`docker run --label aot-buildx.evaluation=true`) it also writes, to TRACE_FILE, each
// request line the action sent and when, and when each answer came back. Nothing is changed
// on the way. bench/discover.mjs turns that into counts and durations per dotnet invocation.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as readline from 'node:readline'

const real = process.env.TRACE_REAL_DOCKER
const file = process.env.TRACE_FILE
if (real === undefined || file === undefined) throw new Error('TRACE_REAL_DOCKER and TRACE_FILE are needed')
const argv = process.argv.slice(2)
const sandbox = argv[0] === 'run' && argv.includes('aot-buildx.evaluation=true')
const t0 = performance.now()
const now = () => performance.timeOrigin + performance.now()
const child = spawn(real, argv, { stdio: sandbox ? ['pipe', 'pipe', 'inherit'] : 'inherit' })
if (sandbox) {
  const events = [{ ev: 'start', t: now(), jobs: Number(argv.find((a) => a.startsWith('AOT_EVAL_JOBS='))?.split('=')[1] ?? '0') }]
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const [id, kind, ...args] = line.split(' ')
    events.push({ ev: 'req', t: now(), id: Number(id), kind, args: args.map((a) => Buffer.from(a, 'base64').toString('utf8')) })
    child.stdin.write(`${line}\n`)
  }).on('close', () => child.stdin.end())
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let id = -1
    let code = -1
    try {
      ;({ id, code } = JSON.parse(line))
    } catch {
      // passed on unchanged; the action judges it
    }
    events.push({ ev: 'res', t: now(), id, code, bytes: line.length })
    process.stdout.write(`${line}\n`)
  })
  child.on('close', (code) => {
    events.push({ ev: 'end', t: now(), code, ms: performance.now() - t0 })
    fs.appendFileSync(file, `${JSON.stringify(events)}\n`)
    process.exit(code ?? 1)
  })
} else child.on('close', (code) => process.exit(code ?? 1))
