// smokeTest's order of work, with a fake `docker` first on PATH (argv and ordering only; the
// real engine is e2e/smoke): platforms run side by side, so a container that keeps running
// until the other platform's container has started exits 0 only when they are started together.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { inspectLayout } from '../../src/image/layout.js'
import { smokeTest } from '../../src/smoke/run.js'
import type { SmokeTarget } from '../../src/smoke/plan.js'
import { makeLayout } from '../pipeline/fakes.js'

// A console app's container: `container wait` returns 0 once every expected container has been
// started (a marker per `container run`), or 143 once it was sent SIGTERM.
const FAKE = `#!/usr/bin/env node
const fs = require('fs'), path = require('path')
const args = process.argv.slice(2)
const dir = process.env.FAKE_DIR
fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify(args) + '\\n')
const id = (p) => (p === 'linux/amd64' ? 'a' : 'b').repeat(64)
const now = () => new Date().toISOString()
if (args[0] === 'network') { console.log(args[args.length - 1]); process.exit(0) }
if (args[0] === 'image' && args[1] === 'load') { console.log('Loaded image'); process.exit(0) }
if (args[0] === 'image') { console.log('sha256:' + 'c'.repeat(64)); process.exit(0) }
if (args[0] === 'container' && args[1] === 'run') {
  const p = args[args.indexOf('--platform') + 1]
  fs.writeFileSync(path.join(dir, 'started-' + id(p)), now())
  console.log(id(p)); process.exit(0)
}
if (args[0] === 'container' && args[1] === 'wait') {
  const me = args[2]
  const check = () => {
    if (fs.existsSync(path.join(dir, 'killed-' + me))) { console.log('143'); process.exit(0) }
    if (fs.readdirSync(dir).filter((f) => f.startsWith('started-')).length >= Number(process.env.FAKE_EXPECT)) { console.log('0'); process.exit(0) }
  }
  check(); setInterval(check, 10)
} else if (args[0] === 'container' && args[1] === 'kill') {
  fs.writeFileSync(path.join(dir, 'killed-' + args[args.length - 1]), ''); process.exit(0)
} else if (args[0] === 'container' && args[1] === 'inspect') {
  const f = args[args.indexOf('--format') + 1]
  if (f === '{{.State.StartedAt}}') console.log(fs.readFileSync(path.join(dir, 'started-' + args[args.length - 1]), 'utf8'))
  else if (f === '{{.State.OOMKilled}}') console.log('false')
  else console.log(now())
  process.exit(0)
} else if (args[0] === 'container' && args[1] === 'logs') {
  console.log(now() + ' hello'); process.exit(0)
} else if (args[0] === 'container' && args[1] === 'rm') {
  process.exit(0)
} else {
  process.stderr.write('fake docker: unexpected ' + args.join(' ') + '\\n'); process.exit(3)
}
`

let dir = ''
const savedPath = process.env.PATH
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-smoke-run-'))
  fs.mkdirSync(path.join(dir, 'bin'))
  fs.mkdirSync(path.join(dir, 'state'))
  fs.writeFileSync(path.join(dir, 'bin', 'docker'), FAKE, { mode: 0o755 })
  process.env.PATH = `${path.join(dir, 'bin')}${path.delimiter}${savedPath ?? ''}`
  process.env.FAKE_DIR = path.join(dir, 'state')
})
afterEach(() => {
  process.env.PATH = savedPath
  fs.rmSync(dir, { recursive: true, force: true })
})

function calls(): string[][] {
  return fs
    .readFileSync(path.join(dir, 'state', 'calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[])
}

test('platforms are started side by side, native first, each measured from its own start; results keep the targets\' order', async () => {
  const layout = path.join(dir, 'layout')
  await makeLayout(layout, false)
  const reports = await inspectLayout(layout)
  process.env.FAKE_EXPECT = '2'
  // The emulated platform first, as a user may list it: the native one still loads and starts first.
  const targets: SmokeTarget[] = [
    { platform: 'linux/arm64', emulated: true },
    { platform: 'linux/amd64', emulated: false }
  ]
  const results = await smokeTest(targets, reports, { ociDir: layout, workDir: dir, isWeb: false, path: '/', args: [], timeoutMs: 60_000, windowMs: 20_000, port: 8080, memoryLimit: 1_000_000_000, token: '1-a' })
  expect(results.map((r) => r.platform)).toEqual(['linux/arm64', 'linux/amd64'])
  // Each exited 0 while the other ran: neither waited for the other's end.
  for (const r of results) expect(r.outcome).toMatch(/^exited with code 0 after/)
  expect(results.map((r) => r.failure)).toEqual([undefined, undefined])
  const log = calls()
  const at = (pred: (c: string[]) => boolean): number => log.findIndex(pred)
  const runOf = (p: string): number => at((c) => c[1] === 'run' && c.includes(p))
  const loadOf = (p: string): number => at((c) => c[1] === 'load' && (c.at(-1) ?? '').endsWith(`smoke-${p.replace('/', '-')}.tar`))
  expect(loadOf('linux/amd64')).toBeLessThan(loadOf('linux/arm64'))
  expect(runOf('linux/amd64')).toBeLessThan(runOf('linux/arm64'))
  // Both containers ran before either was removed; the network went last.
  const firstRm = at((c) => c[0] === 'container' && c[1] === 'rm')
  expect(Math.max(runOf('linux/amd64'), runOf('linux/arm64'))).toBeLessThan(firstRm)
  expect(log.at(-1)).toEqual(['network', 'rm', 'aot-buildx-smoke-1-a'])
  expect(log.filter((c) => c[0] === 'container' && c[1] === 'rm').map((c) => c.at(-1)).sort()).toEqual(['a'.repeat(64), 'b'.repeat(64)])
}, 60_000)
