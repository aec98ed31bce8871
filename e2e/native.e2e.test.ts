// Every native file, checked on the real engine: the "native" fixture ships whatever .so files
// the test compiles into it (with the host's gcc). An image holding a library for another CPU,
// or one needing a newer glibc than its runtime image has, is refused before anything is
// pushed: the step fails naming the file, and the registry never gets the tag.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ELF_MACHINE, RID, archFromNode, type Arch } from '../src/dotnet/platforms.js'
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

/** The image's own glibc, asked of its dynamic loader (as scripts/base-images.sh checks it), not assumed. */
function imageGlibc(image: string, arch: Arch): string {
  const loader = arch === 'amd64' ? '/lib64/ld-linux-x86-64.so.2' : '/lib/ld-linux-aarch64.so.1'
  const out = docker(['run', '--rm', '--pull', 'never', '--platform', `linux/${arch}`, '--entrypoint', loader, image, '--version']).toString()
  const v = /release version (\d+\.\d+)/.exec(out)?.[1]
  if (v === undefined) throw new Error(`${image}'s loader did not say its glibc version:\n${out}`)
  return v
}

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
