// Native vs cross: the toolchain stage installs cross packages only for targets whose arch
// differs from $BUILDARCH, and clang/llvm only when the SDK image lacks them (.NET 11's -aot
// image, .NET 9's plain one). Proven by running the generated stage's own shell script under
// /bin/sh with each BUILDARCH, with apt-get and rm replaced by stubs that record their argv and
// a PATH that holds only the stubs and the tools the test says the SDK image has.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { generateDockerfile, type DockerfilePlan } from '../../src/dockerfile/generate.js'
import { dockerfilePlan } from '../helpers.js'
import type { Arch } from '../../src/dotnet/platforms.js'

const plan = (targets: Arch[], dotnetMajor = 10): DockerfilePlan =>
  dockerfilePlan({ targets, dotnetMajor, project: 'TodoApi.csproj', restoreFiles: ['TodoApi.csproj'], generatedFrom: 'TodoApi.csproj (net10.0)' })

/** The shell script of the toolchain stage's RUN, without its --mount flags. */
function toolchainScript(dockerfile: string): string {
  const lines = dockerfile.split('\n')
  const from = lines.findIndex((l) => / AS toolchain$/.test(l))
  const run = lines.findIndex((l, i) => i > from && l.startsWith('RUN '))
  const body: string[] = []
  for (const line of lines.slice(run)) {
    body.push(line)
    if (!line.endsWith('\\')) break
  }
  const joined = body.map((l) => l.replace(/\\$/, '')).join(' ')
  return joined
    .replace(/^RUN\s+/, '')
    .replace(/--mount=\S+\s+/g, '')
    .trim()
}

/** What Microsoft's -aot SDK images carry (dotnet-docker): .NET 10's clang and llvm, .NET 11's only gcc. */
const NET10_TOOLS = ['clang', 'llvm-objcopy', 'gcc']
const NET11_TOOLS = ['gcc']

/** Runs the script as the build stage would on `buildArch` in an SDK image with `tools`; returns the stubbed commands it ran. */
function runToolchain(targets: Arch[], buildArch: Arch, dotnetMajor = 10, tools: string[] = NET10_TOOLS): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-toolchain-'))
  const bin = path.join(dir, 'bin')
  const log = path.join(dir, 'log')
  fs.mkdirSync(bin)
  fs.writeFileSync(log, '')
  for (const cmd of ['apt-get', 'rm']) fs.writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "$STUB_LOG"\n`, { mode: 0o755 })
  for (const cmd of tools) fs.writeFileSync(path.join(bin, cmd), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  // Only the stubs on PATH: the host's own clang must not count as the image's.
  execFileSync('/bin/sh', ['-c', toolchainScript(generateDockerfile(plan(targets, dotnetMajor)))], {
    env: { PATH: bin, BUILDARCH: buildArch, STUB_LOG: log },
    stdio: 'pipe'
  })
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
}

const ARM64_CROSS = 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross'
const AMD64_CROSS = 'gcc-x86-64-linux-gnu libc6-dev-amd64-cross'
const install = (pkgs: string): string => `apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-unsafe-io ${pkgs}`

describe('the toolchain stage, run with each BUILDARCH', () => {
  it('the script is the stage\'s own: cross lines keyed on $BUILDARCH, nothing on TARGETARCH', () => {
    const script = toolchainScript(generateDockerfile(plan(['arm64'])))
    expect(script).toMatch(/^set -eu; pkgs="";/)
    expect(script).toContain(`if [ "$BUILDARCH" != "arm64" ]; then pkgs="$pkgs ${ARM64_CROSS}"; fi;`)
    expect(script).not.toContain('TARGETARCH')
  })

  it.each<[string, Arch[], Arch, string[]]>([
    ['native arm64 runner, arm64 target: installs nothing', ['arm64'], 'arm64', []],
    ['native amd64 runner, amd64 target: installs nothing', ['amd64'], 'amd64', []],
    ['amd64 runner cross-compiling for arm64: the arm64 cross packages', ['arm64'], 'amd64', ['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install(ARM64_CROSS)]],
    ['arm64 runner cross-compiling for amd64: the amd64 cross packages', ['amd64'], 'arm64', ['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install(AMD64_CROSS)]],
    ['amd64 runner, both targets: only arm64 is foreign', ['amd64', 'arm64'], 'amd64', ['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install(ARM64_CROSS)]],
    ['arm64 runner, both targets: only amd64 is foreign', ['amd64', 'arm64'], 'arm64', ['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install(AMD64_CROSS)]]
  ])('%s', (_name, targets, buildArch, commands) => {
    expect(runToolchain(targets, buildArch)).toEqual(commands)
  })

  it('.NET 9 (no -aot image: no clang, no llvm) on a native arm64 runner installs clang and llvm only', () => {
    expect(runToolchain(['arm64'], 'arm64', 9, ['gcc'])).toEqual(['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install('clang llvm')])
  })

  it.each<[string, Arch[], Arch, string]>([
    ['native amd64 runner, amd64 target: clang and llvm', ['amd64'], 'amd64', 'clang llvm'],
    ['amd64 runner cross-compiling for arm64: clang, llvm and the arm64 cross packages', ['arm64'], 'amd64', `clang llvm ${ARM64_CROSS}`],
    ['arm64 runner, both targets: clang, llvm and the amd64 cross packages', ['amd64', 'arm64'], 'arm64', `clang llvm ${AMD64_CROSS}`]
  ])('.NET 11 (its -aot image has gcc, not clang or llvm), %s', (_name, targets, buildArch, pkgs) => {
    expect(runToolchain(targets, buildArch, 11, NET11_TOOLS)).toEqual(['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install(pkgs)])
  })

  it('an SDK image with clang but no llvm-objcopy gets llvm only', () => {
    expect(runToolchain(['amd64'], 'amd64', 10, ['clang'])).toEqual(['rm -f /etc/apt/apt.conf.d/docker-clean', 'apt-get update -qq', install('llvm')])
  })
})
