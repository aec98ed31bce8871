// The product, end to end, on the real engine: the bundled action cross-compiles the
// samples with Native AOT for linux/amd64 and linux/arm64, pushes to a real registry, and
// everything is checked from outside the action.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  at,
  docker,
  entry,
  fileFromImage,
  freePort,
  listImageFiles,
  makeWorkspace,
  output,
  registryJson,
  registrySizes,
  REGISTRY,
  removeContainer,
  runAction,
  startContainer,
  stepCacheState,
  waitForHttp,
  type ActionRun
} from './harness.js'

const RUN = Date.now().toString(36)
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const
const ELF = { 'linux/amd64': 0x3e, 'linux/arm64': 0xb7 } as const

function must(run: ActionRun): void {
  if (run.code !== 0) throw new Error(`action failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
}

function elfMachine(b: Buffer): number {
  expect(b.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  return b.readUInt16LE(18)
}

/** The image config of one platform, read from the registry (config blob of its manifest). */
async function imageConfig(repo: string, tag: string, platform: string): Promise<{ User?: string; Env?: string[]; Labels?: Record<string, string> }> {
  const reg = await registrySizes(repo, tag)
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${entry(reg, platform).config}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { config: { User?: string; Env?: string[]; Labels?: Record<string, string> } }).config
}


describe('web sample (webapiaot): two platforms, pushed, run, rebuilt from cache', () => {
  const repo = 'aot-e2e/todoapi'
  const tag = `${REGISTRY}/${repo}:${RUN}`
  let ws = ''
  let first: ActionRun
  let second: ActionRun

  beforeAll(() => {
    ws = makeWorkspace('web', ['TodoApi'])
    // A change of this run's own, so the publish step runs even on an engine that built the sample before.
    fs.appendFileSync(path.join(ws, 'TodoApi', 'Program.cs'), `\n// e2e run ${RUN}\n`)
    const inputs = { project: 'TodoApi', context: 'TodoApi', tags: tag, push: 'true', labels: 'org.opencontainers.image.title=TodoApi' }
    first = runAction(ws, inputs)
    console.log(`web, first run: ${first.seconds.toFixed(1)} s (exit ${first.code})`)
    must(first)
    second = runAction(ws, inputs)
    console.log(`web, second run (nothing changed): ${second.seconds.toFixed(1)} s (exit ${second.code}); timings ${second.outputs.timings}`)
    must(second)
  })

  test('the pushed index holds exactly linux/amd64 and linux/arm64, with the sizes the action reported', async () => {
    const reg = await registrySizes(repo, RUN)
    expect(Object.keys(reg).sort()).toEqual([...PLATFORMS])
    const sizes = JSON.parse(output(first, 'sizes')) as Record<string, { compressed: number; digest: string }>
    for (const p of PLATFORMS) {
      const stored = entry(reg, p)
      expect(entry(sizes, p).compressed).toBe(stored.size)
      expect(entry(sizes, p).digest).toBe(stored.digest)
      expect(first.outputs[`size-${p.replace('/', '-')}`]).toBe(String(stored.size))
    }
    // The tag now names the second run's index (its provenance differs); the first one is
    // still in the registry by digest.
    const index = await registryJson(repo, RUN)
    expect(second.outputs.digest).toBe(index.digest)
    expect((await registryJson(repo, output(first, 'digest'))).digest).toBe(first.outputs.digest)
    console.log(`web sizes (compressed, from the registry): ${PLATFORMS.map((p) => `${p} ${entry(reg, p).size}`).join(', ')}`)
  })

  test.each(PLATFORMS)('%s: the entrypoint is an ELF for the right machine, no .dbg, runs as 1654', async (platform) => {
    const bin = fileFromImage(tag, platform, '/app/TodoApi')
    expect(elfMachine(bin)).toBe(ELF[platform])
    const files = listImageFiles(tag, platform)
    expect(files).toContain('app/TodoApi')
    expect(files.filter((f) => /\.dbg$|\.Development\.json$|\.pdb$/.test(f))).toEqual([])
    const cfg = await imageConfig(repo, RUN, platform)
    expect(cfg.User).toBe('1654')
    // auto flavour + InvariantGlobalization=true -> plain chiseled, which runs invariant.
    expect(cfg.Env).toContain('DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true')
  })

  test.each(PLATFORMS)('%s: the app starts and GET /todos answers 200 with 5 todos, as UID 1654', async (platform) => {
    const port = await freePort()
    const cid = startContainer(tag, platform, ['-p', `127.0.0.1:${port}:8080`])
    try {
      const res = await waitForHttp(`http://127.0.0.1:${port}/todos`)
      expect(res.status).toBe(200)
      const todos = (await res.json()) as { id: number; title: string }[]
      expect(todos).toHaveLength(5)
      expect(at(todos, 0).title).toBe('Walk the dog')
      const pid = docker(['inspect', '-f', '{{.State.Pid}}', cid]).toString().trim()
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('1654')
    } finally {
      removeContainer(cid)
    }
  })

  test('outputs and job summary hold what the action promises', () => {
    const o = first.outputs
    expect(o.dockerfile).toBe(path.join(ws, 'TodoApi', 'Dockerfile.aot'))
    expect((JSON.parse(output(first, 'metadata')) as Record<string, unknown>)['containerimage.digest']).toBe(o.digest)
    const sizes = JSON.parse(output(first, 'sizes')) as Record<string, { compressed: number; uncompressed: number; appLayer: number }>
    for (const p of PLATFORMS) {
      const s = entry(sizes, p)
      expect(s.uncompressed).toBeGreaterThan(s.compressed)
      expect(s.appLayer).toBeGreaterThan(1_000_000)
      expect(s.appLayer).toBeLessThan(s.compressed)
    }
    const t = JSON.parse(output(first, 'timings')) as { total: number; build: number }
    expect(t.build).toBeLessThanOrEqual(t.total)
    for (const p of PLATFORMS) expect(first.summary).toMatch(new RegExp(`^\\| ${p} \\| [\\d.]+ MB \\| [\\d.]+ MB \\| [\\d.]+ MB \\| \`mcr\\.microsoft\\.com/dotnet/runtime-deps:10\\.0-noble-chiseled\` \\| \`sha256:`, 'm'))
    expect(first.summary).toContain('Flavor **chiseled**')
    expect(first.summary).toContain('QEMU: not needed')
    expect(first.summary).toContain(`Pushed: \`${tag}\``)
  })

  test('the Dockerfile in the workspace is the one that was built', async () => {
    const text = fs.readFileSync(output(first, 'dockerfile'))
    const sha = createHash('sha256').update(text).digest('hex')
    for (const p of PLATFORMS) expect((await imageConfig(repo, RUN, p)).Labels?.['io.github.aot-buildx.dockerfile.sha256']).toBe(sha)
    expect(text.toString()).toMatch(/^# Generated by aot-buildx-action\./)
    // The ignore file BuildKit reads for our Dockerfile only; the context gets none written.
    expect(fs.readFileSync(path.join(ws, 'TodoApi', 'Dockerfile.aot.dockerignore'), 'utf8')).toMatch(/^# Generated by aot-buildx-action\./)
    expect(fs.existsSync(path.join(ws, 'TodoApi', '.dockerignore'))).toBe(false)
  })

  test('restore, cross toolchain and publish each ran once for both targets, and the second run was served from cache', () => {
    // First run: every RUN stage is one vertex, shared by both targets; publish built both.
    const once = (stage: string): number => new Set([...first.stdout.matchAll(new RegExp(`^#(\\d+) \\[[^\\]]*\\b${stage} [^\\]]*\\] RUN`, 'gm'))].map((m) => m[1])).size
    expect(once('toolchain')).toBe(1)
    expect(once('restore')).toBe(1)
    expect(once('publish')).toBe(1)
    expect(first.stdout).toMatch(/==> linux\/amd64: published/)
    expect(first.stdout).toMatch(/==> linux\/arm64: published/)
    // Second run: every RUN step (restore, toolchain, publish) is CACHED.
    const runs = stepCacheState(second.stdout, /^RUN /)
    expect(runs).toHaveLength(3)
    expect(runs.every((c) => c)).toBe(true)
    expect(second.outputs.sizes).toBe(first.outputs.sizes)
    console.log(`web: cold ${first.seconds.toFixed(1)} s, cached ${second.seconds.toFixed(1)} s`)
  })
})

describe('size report: a changed app against the pushed image as baseline', () => {
  const repo = 'aot-e2e/todoapi'
  let run: ActionRun

  beforeAll(() => {
    const ws = makeWorkspace('web-pr', ['TodoApi'])
    // The change: regular expressions pull a sizeable part of the BCL into the binary.
    const program = path.join(ws, 'TodoApi', 'Program.cs')
    fs.writeFileSync(
      program,
      fs.readFileSync(program, 'utf8').replace('var app = builder.Build();', 'var app = builder.Build();\napp.MapGet("/match/{s}", (string s) => System.Text.RegularExpressions.Regex.IsMatch(s, "^[a-z]+[0-9]*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase));')
    )
    run = runAction(ws, {
      project: 'TodoApi',
      context: 'TodoApi',
      tags: `${REGISTRY}/${repo}:${RUN}-pr`,
      push: 'true',
      'baseline-image': `${REGISTRY}/${repo}:${RUN}`,
      'max-increase': '50%'
    })
    console.log(`web, changed app with baseline: ${run.seconds.toFixed(1)} s (exit ${run.code})`)
    must(run)
  })

  test('the reported baseline, current and delta bytes equal the registry figures of both images', async () => {
    const base = await registrySizes(repo, RUN)
    const pr = await registrySizes(repo, `${RUN}-pr`)
    type Part = { baseline: number; current: number; delta: number } | null
    const report = JSON.parse(output(run, 'size-report')) as { rows: { platform: string; baseline: number | null; current: number | null; delta: number | null; app: Part; base: Part }[]; breaches: unknown[] }
    for (const p of PLATFORMS) {
      const row = report.rows.find((r) => r.platform === p)
      const before = entry(base, p).size
      const after = entry(pr, p).size
      expect(row).toBeDefined()
      expect(row?.baseline).toBe(before)
      expect(row?.current).toBe(after)
      expect(row?.delta).toBe(after - before)
      expect(after).toBeGreaterThan(before)
      // The registry baseline's app layer is its last layer (BuildKit's history: a COPY made it):
      // the change splits into app layer and base image, and the app grew.
      expect(row?.app).not.toBeNull()
      expect((row?.app?.delta ?? 0) + (row?.base?.delta ?? 0)).toBe(after - before)
      expect(row?.app?.delta).toBeGreaterThan(0)
    }
    expect(report.breaches).toEqual([])
    expect(run.summary).toContain(`${REGISTRY}/${repo}:${RUN}`)
    console.log(`size deltas: ${PLATFORMS.map((p) => `${p} +${entry(pr, p).size - entry(base, p).size} B`).join(', ')}`)
  })
})

describe('console sample: chiseled-extra flavour, private NuGet.config as a secret', () => {
  const repo = 'aot-e2e/helloaot'
  const tag = `${REGISTRY}/${repo}:${RUN}`
  const marker = `e2e-secret-${RUN}-do-not-leak`
  let run: ActionRun

  beforeAll(() => {
    const ws = makeWorkspace('console', ['HelloAot'])
    const config = path.join(ws, 'ci-nuget.config')
    fs.writeFileSync(
      config,
      `<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <!-- ${marker} -->\n  <packageSources>\n    <clear />\n    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />\n  </packageSources>\n</configuration>\n`
    )
    // smoke-test: true starts arm64 too (under the QEMU handler the e2e set-up registers; auto starts native platforms only).
    run = runAction(ws, { project: 'HelloAot/HelloAot.csproj', context: 'HelloAot', flavor: 'chiseled-extra', tags: tag, push: 'true', 'nuget-config': config, 'smoke-test': 'true' })
    console.log(`console, chiseled-extra: ${run.seconds.toFixed(1)} s (exit ${run.code})`)
    must(run)
  })

  test.each(PLATFORMS)('%s: prints its line, is an ELF for the right machine, and has ICU data (extra)', async (platform) => {
    const out = docker(['run', '--rm', '--platform', platform, tag]).toString()
    expect(out.trim()).toBe('Hello, World!')
    expect(elfMachine(fileFromImage(tag, platform, '/app/HelloAot'))).toBe(ELF[platform])
    const cfg = await imageConfig(repo, RUN, platform)
    expect(cfg.Env?.some((e) => e.startsWith('DOTNET_SYSTEM_GLOBALIZATION_INVARIANT'))).toBe(false)
    expect(listImageFiles(tag, platform).some((f) => /libicu/.test(f))).toBe(true)
  })

  test('the console sample was smoke-tested on both platforms before the push (exit 0; amd64 native)', () => {
    const smoke = JSON.parse(output(run, 'smoke')) as Record<string, { ok: boolean; emulated: boolean; startupMs: number | null }>
    expect(Object.keys(smoke).sort()).toEqual([...PLATFORMS].sort())
    for (const p of PLATFORMS) expect(smoke[p]?.ok).toBe(true)
    expect(smoke['linux/amd64']?.emulated).toBe(false)
  })

  test('the NuGet.config went in as a secret: mounted by the build, nowhere in the log, outputs, summary or layers', async () => {
    const dockerfile = fs.readFileSync(output(run, 'dockerfile'), 'utf8')
    expect(dockerfile).toContain('--mount=type=secret,id=nuget-config')
    expect(run.stdout).toContain('id=nuget-config,src=')
    expect(run.stdout).not.toContain(marker)
    expect(JSON.stringify(run.outputs)).not.toContain(marker)
    expect(run.summary).not.toContain(marker)
    for (const p of Object.values(await registrySizes(repo, RUN))) {
      const man = await registryJson(repo, p.digest)
      for (const layer of man.body.layers as { digest: string }[]) {
        const blob = Buffer.from(await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${layer.digest}`)).arrayBuffer())
        expect(gunzipSync(blob).includes(marker)).toBe(false)
      }
    }
  })
})

describe('bad input, end to end: the error a user sees', () => {
  test('a project without PublishAot fails before any build, naming the fix', () => {
    const ws = makeWorkspace('bad', ['HelloAot'])
    const csproj = path.join(ws, 'HelloAot', 'HelloAot.csproj')
    fs.writeFileSync(csproj, fs.readFileSync(csproj, 'utf8').replace(/\s*<PublishAot>true<\/PublishAot>/, ''))
    const run = runAction(ws, { project: 'HelloAot' })
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::HelloAot\.csproj does not enable Native AOT: PublishAot is ""\. Add <PublishAot>true<\/PublishAot>/)
    expect(run.stdout).not.toContain('buildx build')
    expect(fs.existsSync(path.join(ws, 'HelloAot', 'Dockerfile.aot'))).toBe(false)
  })

  test('an unsupported platform is an input error', () => {
    const ws = makeWorkspace('bad-platform', ['HelloAot'])
    const run = runAction(ws, { project: 'HelloAot', platforms: 'linux/amd64\nlinux/s390x' })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::Input "platforms": "linux/s390x" is not a platform Native AOT can target')
  })
})
