// Every native file, checked on the real engine: the "native" fixture ships whatever .so files
// the test compiles into it (with the host's gcc). An image holding a library for another CPU,
// or one needing a newer glibc than its runtime image has, is refused before anything is
// pushed: the step fails naming the file, and the registry never gets the tag. The last case
// pairs the default SDK with a real older glibc (Debian 11's): why SDK and runtime images must
// be of one distro.
import { createHash } from 'node:crypto'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ELF_MACHINE, RID, archFromNode, type Arch } from '../src/dotnet/platforms.js'
import { compareVersions, glibcVersion } from '../src/image/elf.js'
import { layoutStore, readLayoutRoot } from '../src/image/layout.js'
import { platformImages } from '../src/image/oci.js'
import { docker, makeFixtureWorkspace, output, registryJson, REGISTRY, runAction, type ActionRun } from './harness.js'

const RUN = `r${Date.now().toString(36)}`
const PROJECT = 'src/Native.Probe'
const NATIVE = path.join(PROJECT, 'native')
/** What the fixture's runtime image is when nothing overrides it (InvariantGlobalization=true: chiseled). */
const RUNTIME = 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'

function hostArch(): Arch {
  const a = archFromNode(process.arch)
  if (a === undefined) throw new Error(`the end-to-end tests need an amd64 or arm64 host, not ${process.arch}`)
  return a
}

function gcc(args: string[], cwd: string): void {
  execFileSync('gcc', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** The step's ::error:: message, decoded (the runner's command escapes newlines). */
function errorOf(run: ActionRun): string[] {
  const line = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? ''
  return line.replace('::error::', '').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%').split('\n')
}

/** What the step logged of the native checks: one line per platform. */
function nativeLines(run: ActionRun): string {
  return run.stdout
    .split('\n')
    .filter((l) => / native files? of the app checked/.test(l))
    .join('\n')
}

const TRIPLET: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }

/**
 * The image's own glibc, asked of its libc.so.6 run as a program (it prints its release; the
 * loader's --version, which scripts/base-images.sh uses, is glibc 2.33+), not assumed.
 */
function imageGlibc(image: string, arch: Arch): string {
  const out = docker(['run', '--rm', '--pull', 'never', '--platform', `linux/${arch}`, '--entrypoint', `/lib/${TRIPLET[arch]}/libc.so.6`, image]).toString()
  const v = /release version (\d+\.\d+)/.exec(out)?.[1]
  if (v === undefined) throw new Error(`${image}'s libc.so.6 did not say its glibc version:\n${out}`)
  return v
}

/** Debian's archive: Debian 11 "bullseye" has glibc 2.31, older than the SDK images' glibc. */
const DEBIAN = 'http://deb.debian.org/debian'

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`)
  return Buffer.from(await res.arrayBuffer())
}

/**
 * A runtime image of Debian 11's glibc for one CPU: libc6 unpacked from bullseye's .deb (checked
 * against the archive's SHA256) plus what the action reads of a runtime image besides its glibc,
 * a non-root USER and the ENV of Microsoft's chiseled images, as scripts/base-images.sh makes its
 * stand-ins. Pushed to the registry, where any builder finds it (a docker-container builder does
 * not see the engine's own images). Returns where libc.so.6 leads in the image.
 */
async function bullseyeRuntime(arch: Arch, ref: string): Promise<{ libc: string }> {
  const index = await download(`${DEBIAN}/dists/bullseye/main/binary-${arch}/Packages.xz`)
  const packages = execFileSync('xz', ['-dc'], { input: index, maxBuffer: 512 * 1024 * 1024 }).toString()
  const stanza = packages.split('\n\n').find((s) => /^Package: libc6$/m.test(s)) ?? ''
  const file = /^Filename: (\S+)$/m.exec(stanza)?.[1]
  const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(stanza)?.[1]
  if (file === undefined || sha256 === undefined) throw new Error(`bullseye's Packages for ${arch} has no libc6 with a Filename and SHA256`)
  const deb = await download(`${DEBIAN}/${file}`)
  const got = createHash('sha256').update(deb).digest('hex')
  if (got !== sha256) throw new Error(`${file} has sha256 ${got}; the archive says ${sha256}`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-bullseye-'))
  try {
    fs.writeFileSync(path.join(dir, 'libc6.deb'), deb)
    execFileSync('dpkg-deb', ['-x', 'libc6.deb', 'rootfs'], { cwd: dir })
    const etc = path.join(dir, 'rootfs', 'etc')
    fs.mkdirSync(etc, { recursive: true })
    fs.writeFileSync(path.join(etc, 'passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n')
    fs.writeFileSync(path.join(etc, 'group'), 'root:x:0:\napp:x:1654:\n')
    const dockerfile = ['FROM scratch', 'COPY rootfs/ /', 'ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true', 'USER $APP_UID', '']
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile.join('\n'))
    docker(['build', '-q', '--platform', `linux/${arch}`, '--provenance=false', '-t', ref, dir])
    docker(['push', '-q', ref])
    const libDir = `/lib/${TRIPLET[arch]}`
    const libc = path.join(dir, 'rootfs', libDir, 'libc.so.6')
    return { libc: fs.lstatSync(libc).isSymbolicLink() ? path.posix.resolve(libDir, fs.readlinkSync(libc)) : `${libDir}/libc.so.6` }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The app's own layer (the generated Dockerfile copies it last) from the build's OCI layout, unpacked. */
async function appFromLayout(run: ActionRun, into: string): Promise<void> {
  const dir = fs.readdirSync(run.runnerTemp).find((n) => n.startsWith('aot-buildx-'))
  if (dir === undefined) throw new Error(`the run left no aot-buildx-* folder in ${run.runnerTemp}`)
  const layout = path.join(run.runnerTemp, dir, 'oci')
  const store = layoutStore(layout)
  const images = await platformImages(store, readLayoutRoot(layout))
  const layer = images[0]?.manifest.layers.at(-1)
  if (images.length !== 1 || layer === undefined) throw new Error(`expected one image with layers in ${layout}, found ${images.length}`)
  fs.writeFileSync(path.join(into, 'app.tar'), await store.read(layer.digest))
  execFileSync('tar', ['-xf', 'app.tar'], { cwd: into })
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

const newer = (a: string, b: string): number => compareVersions(glibcVersion(a) ?? [], glibcVersion(b) ?? [])

async function registryHasNo(repo: string, tag: string): Promise<void> {
  await expect(registryJson(repo, tag)).rejects.toThrow(/answered 404/)
}

describe('native: a library for another CPU in the image', () => {
  const host = hostArch()
  const other: Arch = host === 'amd64' ? 'arm64' : 'amd64'
  const repo = 'aot-e2e/native-wrongarch'
  let run: ActionRun

  beforeAll(() => {
    const ws = makeFixtureWorkspace('native-wrongarch', 'native')
    const dir = path.join(ws, NATIVE)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'wrong.c'), 'int wrong_arch_answer(void) { return 42; }\n')
    // Built for the host's CPU and shipped in both images, as a hand-copied .so is.
    gcc(['-shared', '-fPIC', '-o', 'libwrong.so', 'wrong.c'], dir)
    fs.rmSync(path.join(dir, 'wrong.c'))
    run = runAction(ws, { project: PROJECT, tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true' })
    console.log(`native wrong-arch: ${run.seconds.toFixed(1)} s (exit ${run.code})\n${nativeLines(run)}\n${errorOf(run).join('\n')}`)
  })

  test(`the linux/${other} image is refused, naming the file and both machines; linux/${host} passes`, () => {
    expect(run.code).not.toBe(0)
    const error = errorOf(run)
    expect(error[0]).toBe('the built images failed their checks:')
    expect(error.slice(1)).toEqual([
      `linux/${other}: /app/libwrong.so is an ${ELF_MACHINE[host].name} ELF file, not ${ELF_MACHINE[other].name}: a native library for another architecture (check the package's runtimes/${RID[other]}/native assets or a hand-copied .so)`
    ])
    // Both images were built and inspected: the host's one checked its two native files and passed.
    expect(Object.keys(JSON.parse(output(run, 'sizes')) as object).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    expect(run.stdout).toMatch(new RegExp(`linux/${host}: 2 native files of the app checked; the app needs GLIBC_2\\.\\d+ \\(/app/(Native\\.Probe|libwrong\\.so)\\); the image's glibc goes up to GLIBC_2\\.\\d+`))
  })

  test('nothing was pushed: the registry has no such tag', async () => {
    expect(run.stdout).not.toMatch(/::group::Push /)
    await registryHasNo(repo, RUN)
  })
})

describe('native: a library that needs a newer glibc than the runtime image has', () => {
  const host = hostArch()
  const repo = 'aot-e2e/native-glibc'
  let run: ActionRun
  let glibc = ''

  beforeAll(() => {
    glibc = imageGlibc(RUNTIME, host)
    const ws = makeFixtureWorkspace('native-glibc', 'native')
    const dir = path.join(ws, NATIVE)
    fs.mkdirSync(dir, { recursive: true })
    // A stub libc.so.6 whose version script defines GLIBC_2.99, outside the workspace: the
    // library linked against it records a need for GLIBC_2.99 from libc.so.6.
    const stub = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-stub-libc-'))
    try {
      fs.writeFileSync(path.join(stub, 'stub.c'), 'int aot_e2e_future(void) { return 99; }\n')
      fs.writeFileSync(path.join(stub, 'stub.map'), 'GLIBC_2.99 { global: aot_e2e_future; local: *; };\n')
      gcc(['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libc.so.6', '-Wl,--version-script,stub.map', '-o', 'libc.so.6', 'stub.c'], stub)
      fs.writeFileSync(path.join(stub, 'needy.c'), 'int aot_e2e_future(void);\nint needy(void) { return aot_e2e_future(); }\n')
      gcc(['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libneedy.so', '-o', path.join(dir, 'libneedy.so'), 'needy.c', './libc.so.6'], stub)
    } finally {
      fs.rmSync(stub, { recursive: true, force: true })
    }
    // The host's platform only: the check does not depend on the CPU, the first test covers both.
    run = runAction(ws, { project: PROJECT, platforms: `linux/${host}`, tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true' })
    console.log(`native glibc: ${run.seconds.toFixed(1)} s (exit ${run.code}); ${RUNTIME} (linux/${host}) has glibc ${glibc}\n${nativeLines(run)}\n${errorOf(run).join('\n')}`)
  })

  test('refused, naming the file, GLIBC_2.99 and the highest version the image\'s glibc defines (read from the image)', () => {
    expect(run.code).not.toBe(0)
    const error = errorOf(run)
    expect(error[0]).toBe('the built images failed their checks:')
    expect(error.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^linux/${host}: /app/libneedy\\.so needs GLIBC_2\\.99 \\(from libc\\.so\\.6\\), but the image's glibc goes up to GLIBC_${glibc.replace('.', '\\.')} \\(/(usr/)?lib/${host === 'amd64' ? 'x86_64' : 'aarch64'}-linux-gnu/libc\\.so\\.6\\): it would fail with "version \`GLIBC_2\\.99' not found"; use a runtime image with a newer glibc`
        )
      )
    ])
    expect(run.stdout).toMatch(new RegExp(`linux/${host}: 2 native files of the app checked; the app needs GLIBC_2\\.99 \\(/app/libneedy\\.so\\); the image's glibc goes up to GLIBC_${glibc.replace('.', '\\.')}`))
  })

  test('nothing was pushed: the registry has no such tag', async () => {
    await registryHasNo(repo, RUN)
  })
})

describe('native: an app linked on the default SDK\'s glibc, on a real older one (Debian 11): why SDK and runtime are of one distro', () => {
  const host = hostArch()
  const repo = 'aot-e2e/native-bullseye'
  const base = `${REGISTRY}/aot-e2e/bullseye-runtime:${RUN}`
  let run: ActionRun
  let runtime = { glibc: '', libc: '' }
  let sdk = { image: '', glibc: '' }
  /** The GLIBC_ version the refusal names. */
  let need = ''

  beforeAll(async () => {
    const { libc } = await bullseyeRuntime(host, base)
    runtime = { glibc: `GLIBC_${imageGlibc(base, host)}`, libc }
    // The fixture with no library of its own: the app itself is what needs the newer glibc.
    const ws = makeFixtureWorkspace('native-bullseye', 'native')
    run = runAction(ws, { project: PROJECT, platforms: `linux/${host}`, tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true', 'runtime-image': base })
    const image = /; SDK (\S+); runtime /.exec(run.stdout)?.[1]
    if (image === undefined) throw new Error(`the run did not say its SDK image (exit ${run.code}):\n${run.stdout.slice(-4000)}`)
    sdk = { image, glibc: `GLIBC_${imageGlibc(image, host)}` }
    need = / needs (GLIBC_[\d.]+) /.exec(errorOf(run)[1] ?? '')?.[1] ?? ''
    console.log(`native bullseye: ${run.seconds.toFixed(1)} s (exit ${run.code}); SDK ${sdk.image} has ${sdk.glibc}, ${base} has ${runtime.glibc}\n${nativeLines(run)}\n${errorOf(run).join('\n')}`)
  })

  afterAll(() => {
    spawnSync('docker', ['image', 'rm', base], { stdio: 'ignore' })
  })

  test('refused by the ELF check: the app needs a glibc above the image\'s and at most the SDK\'s; the fix is an SDK and runtime of one distro', () => {
    expect(newer(sdk.glibc, runtime.glibc)).toBeGreaterThan(0)
    expect(run.code).not.toBe(0)
    const error = errorOf(run)
    expect(error[0]).toBe('the built images failed their checks:')
    expect(error.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^linux/${host}: /app/Native\\.Probe needs GLIBC_[\\d.]+ \\(from [\\w.+-]+\\), but the image's glibc goes up to ${esc(runtime.glibc)} \\(${esc(runtime.libc)}\\): ` +
            `it would fail with "version \`GLIBC_[\\d.]+' not found"; link against the runtime image's glibc: an SDK image of the same distro as the runtime image \\(e\\.g\\. the noble SDK with noble runtime-deps\\), or a runtime image with a newer glibc$`
        )
      )
    ])
    expect(error[1]).toContain(`"version \`${need}' not found"`)
    expect(newer(need, runtime.glibc)).toBeGreaterThan(0)
    expect(newer(need, sdk.glibc)).toBeLessThanOrEqual(0)
    // The loader's release: bullseye's libc.so.6 defines up to GLIBC_2.30, its libm (which the app
    // needs, and the check reads too) GLIBC_2.31.
    expect(nativeLines(run)).toContain(`linux/${host}: 1 native file of the app checked; the app needs ${need} (/app/Native.Probe); the image's glibc goes up to ${runtime.glibc} (${runtime.libc})`)
  })

  test('the loader agrees: the app from the build\'s layout, started on that image, stops on a missing GLIBC_ version, the highest being the one named', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-bullseye-app-'))
    try {
      await appFromLayout(run, dir)
      const r = spawnSync('docker', ['run', '--rm', '--pull', 'never', '--platform', `linux/${host}`, '-v', `${path.join(dir, 'app')}:/app:ro`, '--entrypoint', '/app/Native.Probe', base], { encoding: 'utf8' })
      console.log(`Native.Probe on ${base}: exit ${r.status}\n${r.stderr}`)
      expect(r.status).not.toBe(0)
      const missing = [...r.stderr.matchAll(/version `(GLIBC_[\d.]+)' not found \(required by \/app\/Native\.Probe\)/g)].map((m) => m[1] ?? '')
      expect(missing.length).toBeGreaterThan(0)
      for (const v of missing) expect(newer(v, runtime.glibc)).toBeGreaterThan(0)
      expect([...missing].sort((a, b) => newer(b, a))[0]).toBe(need)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  test('nothing was pushed: the registry has no such tag', async () => {
    expect(run.stdout).not.toMatch(/::group::Push /)
    await registryHasNo(repo, RUN)
  })
})
