// The health probe, built on the host with the healthcheck stage's own RUN step from the
// generated Dockerfile (the source taken from its here-document) and run against a local HTTP
// server: the exit code Docker reads for 2xx, 3xx, 5xx, a hang, a closed port, a reply that
// is not HTTP. The other arch's probe is built too where the host has its GNU linker, and run
// where the kernel runs its binaries (binfmt).
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { generateDockerfile } from '../../src/dockerfile/generate.js'
import { HEALTHCHECK_SOURCE } from '../../src/dockerfile/healthcheck.js'
import { archFromNode, ELF_MACHINE, GNU_TRIPLE, type Arch } from '../../src/dotnet/platforms.js'
import { dockerfilePlan } from '../helpers.js'

/** Well under 1 MB: a freestanding probe is a few kB; a libc-linked one would be far past this. */
const MAX_PROBE_BYTES = 16 * 1024

const hostArch = archFromNode(process.arch)
const otherArch: Arch = hostArch === 'arm64' ? 'amd64' : 'arm64'
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
/**
 * A precondition of these tests: missing, the test fails saying what to install (never skips;
 * scripts/test.sh installs every one of them).
 */
function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(`precondition missing: ${what} (scripts/test.sh installs it)`)
}
const needCompiler = (): void => { need(has('clang'), 'clang (Debian package clang)'); }
/** The other arch's linker, as the toolchain stage's cross packages install it. */
const needCrossLinker = (): void => { need(has(`${GNU_TRIPLE[otherArch]}-ld`), `${GNU_TRIPLE[otherArch]}-ld (Debian package binutils-${GNU_TRIPLE[otherArch].replace(/_/g, '-')})`); }
/** The kernel runs the other arch's static binaries (QEMU registered with binfmt_misc). */
const needBinfmt = (): void => {
  const name = otherArch === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64'
  let state = ''
  try {
    state = fs.readFileSync(`/proc/sys/fs/binfmt_misc/${name}`, 'utf8')
  } catch {
    // not registered
  }
  need(state.startsWith('enabled'), `QEMU registered in binfmt_misc as ${name} (scripts/engine-up.sh registers it)`)
}

/** The healthcheck stage's here-document and RUN, taken from the generated Dockerfile. */
function healthcheckStage(targets: Arch[]): { source: string; run: string } {
  const lines = generateDockerfile(dockerfilePlan({ healthcheck: '/healthz', targets })).split('\n')
  const start = lines.indexOf("COPY <<'AOT_HEALTHCHECK_SOURCE' /probe/aot-healthcheck.c")
  const end = lines.indexOf('AOT_HEALTHCHECK_SOURCE', start + 1)
  const run: string[] = []
  for (const line of lines.slice(end + 1)) {
    run.push(line)
    if (!line.endsWith('\\')) break
  }
  return { source: lines.slice(start + 1, end).join('\n') + '\n', run: run.join('\n').replace(/^RUN /, '') }
}

/** Runs the stage's RUN step in a temp folder standing in for /probe; returns the folder. */
function buildProbes(targets: Arch[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-healthcheck-'))
  const stage = healthcheckStage(targets)
  fs.writeFileSync(path.join(dir, 'aot-healthcheck.c'), stage.source)
  const r = spawnSync('sh', ['-c', stage.run], { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`the healthcheck stage's RUN failed (${r.status}):\n${stage.run}\n${r.stdout}${r.stderr}`)
  return dir
}

interface Elf {
  machine: number
  type: number
  /** Program header types: 3 = PT_INTERP, 2 = PT_DYNAMIC. */
  segments: number[]
}

function readElf(file: string): Elf {
  const b = fs.readFileSync(file)
  expect(b.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  const phoff = Number(b.readBigUInt64LE(32))
  const phentsize = b.readUInt16LE(54)
  const phnum = b.readUInt16LE(56)
  const segments = Array.from({ length: phnum }, (_, i) => b.readUInt32LE(phoff + i * phentsize))
  return { machine: b.readUInt16LE(18), type: b.readUInt16LE(16), segments }
}

interface Result {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs the probe without blocking the event loop (the test's HTTP server answers it). */
function probe(bin: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      resolve({ code, stdout, stderr, ms: Date.now() - start })
    })
  })
}

/** The requests the server saw: request line and headers. */
const seen: { method: string; url: string; version: string; headers: http.IncomingHttpHeaders }[] = []
const open = new Set<net.Socket>()
const server = http.createServer((req, res) => {
  seen.push({ method: req.method ?? '', url: req.url ?? '', version: req.httpVersion, headers: req.headers })
  const route: Record<string, () => void> = {
    '/ok': () => res.writeHead(200).end('ok'),
    '/no-content': () => res.writeHead(204).end(),
    '/moved': () => res.writeHead(301, { Location: '/ok' }).end(),
    '/broken': () => res.writeHead(500).end('boom'),
    '/missing': () => res.writeHead(404).end(),
    '/unavailable': () => res.writeHead(503).end(),
    // Never answers: the probe must give up on its own.
    '/hang': () => {
      // nothing
    }
  }
  ;(route[req.url ?? ''] ?? route['/missing'])?.()
})
server.on('connection', (s) => {
  open.add(s)
  s.on('close', () => open.delete(s))
})
/** Answers every connection with a line that is not HTTP, or closes it without a word. */
const raw = net.createServer((s) => {
  s.once('data', () => {
    if (rawMode === 'garbage') s.end('SSH-2.0-OpenSSH_9.6\r\n')
    else s.destroy()
  })
})
let rawMode: 'garbage' | 'close' = 'garbage'
let port = 0
let rawPort = 0
let closedPort = 0

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => {
    s.listen(0, '127.0.0.1', () => {
      resolve((s.address() as net.AddressInfo).port)
    })
  })
}

let dir = ''
let bin = ''

beforeAll(async () => {
  if (hostArch === undefined) throw new Error(`the probe is built for amd64 and arm64 hosts, not ${process.arch}`)
  needCompiler()
  dir = buildProbes([hostArch])
  bin = path.join(dir, 'tree', hostArch, 'usr', 'local', 'bin', 'aot-healthcheck')
  port = await listen(server)
  rawPort = await listen(raw)
  // A port nothing listens on: bound, then closed.
  const s = net.createServer()
  closedPort = await listen(s)
  await new Promise((r) => s.close(r))
})

afterAll(async () => {
  for (const s of open) s.destroy()
  await new Promise((r) => server.close(r))
  await new Promise((r) => raw.close(r))
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('the probe, built by the healthcheck stage for the host', () => {
  it('is a static executable for the host CPU, of a few kB (well under 1 MB)', () => {
    const elf = readElf(bin)
    expect(elf.machine).toBe(ELF_MACHINE[hostArch ?? 'amd64'].code)
    expect(elf.type).toBe(2) // ET_EXEC
    expect(elf.segments).not.toContain(3) // no PT_INTERP: no dynamic loader needed
    expect(elf.segments).not.toContain(2) // no PT_DYNAMIC
    const size = fs.statSync(bin).size
    console.log(`aot-healthcheck for linux/${hostArch}: ${size} bytes`)
    expect(size).toBeLessThan(MAX_PROBE_BYTES)
    expect(fs.statSync(bin).mode & 0o755).toBe(0o755)
  })

  it('compiles without a warning (-Wall -Wextra, and -pedantic for the C it is written in)', () => {
    const r = spawnSync('clang', ['-fsyntax-only', '-std=c99', '-Wall', '-Wextra', '-pedantic', '-Wno-language-extension-token', '-ffreestanding', '-x', 'c', '-'], { input: HEALTHCHECK_SOURCE, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it.each([
    ['/ok', 200, 0],
    ['/no-content', 204, 0],
    ['/moved', 301, 0],
    ['/missing', 404, 1],
    ['/broken', 500, 1],
    ['/unavailable', 503, 1]
  ])('GET %s answered %d: exit %d, the status line on stdout', async (p, status, code) => {
    const r = await probe(bin, [p, String(port)])
    expect(r.code).toBe(code)
    expect(r.stdout).toMatch(new RegExp(`^HTTP/1\\.[01] ${status} `))
    expect(r.stderr).toBe('')
  })

  it('sends "GET <path> HTTP/1.0" without Host (host filtering lets an empty host through) and names itself', async () => {
    seen.length = 0
    await probe(bin, ['/ok?probe=docker&x=%20', String(port)])
    expect(seen).toEqual([{ method: 'GET', url: '/ok?probe=docker&x=%20', version: '1.0', headers: { 'user-agent': 'aot-healthcheck' } }])
  })

  it('an app that never answers: exit 1 after its own timeout (3 s), before Docker would kill it (5 s)', async () => {
    const r = await probe(bin, ['/hang', String(port)])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`aot-healthcheck: no answer from 127.0.0.1:${port}: timed out\n`)
    expect(r.ms).toBeGreaterThanOrEqual(2900)
    expect(r.ms).toBeLessThan(5000)
  })

  it('a closed port: exit 1 at once, "connection refused"', async () => {
    const r = await probe(bin, ['/ok', String(closedPort)])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`aot-healthcheck: connect to 127.0.0.1:${closedPort}: connection refused\n`)
    expect(r.ms).toBeLessThan(1000)
  })

  it.each([
    ['garbage', 'a reply that is not HTTP'],
    ['close', 'a connection closed without a reply']
  ] as const)('%s (%s): exit 1', async (mode, _what) => {
    rawMode = mode
    const r = await probe(bin, ['/ok', String(rawPort)])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`aot-healthcheck: no HTTP status line from 127.0.0.1:${rawPort}\n`)
  })

  it('without a port argument: the first port of ASPNETCORE_HTTP_PORTS, else 8080; the argument wins', async () => {
    expect((await probe(bin, ['/ok'], { ASPNETCORE_HTTP_PORTS: `${port};${closedPort}` })).code).toBe(0)
    expect((await probe(bin, ['/ok'], { ASPNETCORE_HTTP_PORTS: String(closedPort) })).code).toBe(1)
    expect((await probe(bin, ['/ok', String(port)], { ASPNETCORE_HTTP_PORTS: String(closedPort) })).code).toBe(0)
    // Not a port: ignored, so the default is asked (8080 here is, at best, someone else's).
    const fallback = await probe(bin, ['/ok'], { ASPNETCORE_HTTP_PORTS: 'http' })
    expect(fallback.stderr + fallback.stdout).toMatch(/^aot-healthcheck: [a-z ]+ 127\.0\.0\.1:8080\b|^HTTP\//)
  })

  it.each([
    [[], 'usage: aot-healthcheck /PATH [PORT]'],
    [['healthz'], 'usage: aot-healthcheck /PATH [PORT]'],
    [['/ok', '1', '2'], 'usage: aot-healthcheck /PATH [PORT]'],
    [['/a b'], 'the path must be printable ASCII without spaces'],
    [['/a\r\nX: 1'], 'the path must be printable ASCII without spaces'],
    [['/ok', '0'], 'the port must be a number from 1 to 65535'],
    [['/ok', '65536'], 'the port must be a number from 1 to 65535'],
    [['/ok', '80x'], 'the port must be a number from 1 to 65535']
  ])('arguments %j: exit 1 (Docker reserves 2), saying what is wrong', async (args, message) => {
    const r = await probe(bin, args)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`aot-healthcheck: ${message}\n`)
  })
})

describe(`the probe for the other arch (linux/${otherArch}), cross-compiled as the healthcheck stage does it`, () => {
  let crossDir = ''
  beforeAll(() => {
    needCompiler()
    needCrossLinker()
    crossDir = buildProbes(['amd64', 'arm64'])
  })
  afterAll(() => {
    fs.rmSync(crossDir, { recursive: true, force: true })
  })

  it.each<[Arch]>([['amd64'], ['arm64']])('linux/%s: a static executable for its CPU, of a few kB', (arch) => {
    const file = path.join(crossDir, 'tree', arch, 'usr', 'local', 'bin', 'aot-healthcheck')
    const elf = readElf(file)
    expect(elf.machine).toBe(ELF_MACHINE[arch].code)
    expect(elf.segments).not.toContain(3)
    const size = fs.statSync(file).size
    console.log(`aot-healthcheck for linux/${arch} (cross-compiled with the stage's RUN): ${size} bytes`)
    expect(size).toBeLessThan(MAX_PROBE_BYTES)
  })

  it(`runs under binfmt: 200 -> 0, 500 -> 1, 301 -> 0, closed port -> 1`, async () => {
    needBinfmt()
    const other = path.join(crossDir, 'tree', otherArch, 'usr', 'local', 'bin', 'aot-healthcheck')
    expect((await probe(other, ['/ok', String(port)])).code).toBe(0)
    expect((await probe(other, ['/broken', String(port)])).code).toBe(1)
    expect((await probe(other, ['/moved', String(port)])).code).toBe(0)
    expect((await probe(other, ['/ok', String(closedPort)])).code).toBe(1)
    expect((await probe(other, ['/ok'], { ASPNETCORE_HTTP_PORTS: String(port) })).code).toBe(0)
  })
})
