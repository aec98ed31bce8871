// The publish step's shell script, run for real under /bin/sh with a stub `dotnet`: restores
// again only when the package cache lacks a package the restore recorded, publishes every
// target (side by side when there are several), fails when any target fails, and prints each
// target's log. Paths the step uses inside the image are moved into a temp folder.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { PUBLISH_SCRIPT } from '../../src/dockerfile/scripts.js'
import type { Arch } from '../../src/dotnet/platforms.js'

// A stub dotnet: logs its argv; `publish -a X -o DIR` fills DIR like a real publish, or fails
// when X is in FAIL_ARCHS; `restore` fails when FAIL_RESTORE is set.
const STUB = `#!/bin/sh
echo "dotnet $*" >> "$STUB_LOG"
cmd=$1; shift
if [ "$cmd" = nuget ]; then echo "NuGet Command Line 7.0 (stub)"; exit 0; fi
if [ "$cmd" = restore ]; then
  [ -z "$FAIL_RESTORE" ] || { echo "error NU1301: Unable to load the service index"; exit 1; }
  echo "  Restored (stub)"; exit 0
fi
arch=""; out=""
while [ $# -gt 0 ]; do
  case "$1" in -a) arch=$2; shift;; -o) out=$2; shift;; esac
  shift
done
case " $FAIL_ARCHS " in *" $arch "*) echo "Program.cs(3,1): error CS1002: ; expected ($arch)"; exit 1;; esac
# What a referenced library's RID-neutral build does: writes the same file for every target.
# A second writer in the same tree is the race the step must never allow.
[ -f src/Api/Api.csproj ] || { echo "not in a restored tree: $PWD"; exit 1; }
mkdir -p src/Lib/bin
if [ -e src/Lib/bin/Lib.deps.json ]; then echo "error MSB4018: $PWD/src/Lib/bin/Lib.deps.json written twice"; exit 1; fi
echo "$arch" > src/Lib/bin/Lib.deps.json
echo "$arch $PWD" >> "$STUB_LOG.cwd"
mkdir -p "$out" && : > "$out/Api" && : > "$out/Api.dbg" && : > "$out/appsettings.Development.json" && : > "$out/appsettings.json"
echo "  Api -> $out/ ($arch)"
`

interface Run {
  code: number | null
  out: string
  /** Every dotnet command line, in order. */
  all: string[]
  /** The restores and publishes among them (without the first-use setup). */
  calls: string[]
  root: string
  /** "<arch> <folder>" for each publish that got as far as writing the library's output. */
  cwds: string[]
}

// In front of the stub when secrets are tested: records the secret variables dotnet got (a shell
// would drop names with dashes before the stub could see them), then runs the stub.
const ENV_RECORDER = `#!/usr/bin/env node
const fs = require('fs'), cp = require('child_process'), path = require('path')
const seen = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SECRET_') || k.startsWith('NuGetPackageSourceCredentials_')))
fs.appendFileSync(process.env.STUB_LOG + '.env', JSON.stringify({ cmd: process.argv[2], seen }) + '\\n')
const r = cp.spawnSync('sh', [path.join(__dirname, 'dotnet-stub'), ...process.argv.slice(2)], { stdio: 'inherit' })
process.exit(r.status ?? 1)
`

function runPublish(
  targets: Arch[],
  opts: { packages?: 'all' | 'one missing' | 'no record'; failArchs?: Arch[]; failRestore?: boolean; recordIn?: string; framework?: string; configfile?: string; secrets?: Record<string, string> } = {}
): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-publish-'))
  const nuget = path.join(root, 'nuget')
  const src = path.join(root, 'src')
  const bin = path.join(root, 'bin')
  const log = path.join(root, 'calls')
  for (const d of [nuget, bin, path.join(src, 'src/Api/obj')]) fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(log, '')
  fs.writeFileSync(path.join(src, 'src/Api/Api.csproj'), '<Project />')
  const secretsDir = path.join(root, 'secrets')
  if (opts.secrets !== undefined) {
    fs.writeFileSync(path.join(bin, 'dotnet-stub'), STUB, { mode: 0o755 })
    fs.writeFileSync(path.join(bin, 'dotnet'), ENV_RECORDER, { mode: 0o755 })
    fs.mkdirSync(secretsDir)
    for (const [id, value] of Object.entries(opts.secrets)) fs.writeFileSync(path.join(secretsDir, id), value)
  } else {
    fs.writeFileSync(path.join(bin, 'dotnet'), STUB, { mode: 0o755 })
  }
  // What NuGet writes next to project.assets.json: the package files restore put in the cache.
  const pkgs = ['microsoft.dotnet.ilcompiler/10.0.1/microsoft.dotnet.ilcompiler.10.0.1.nupkg.sha512', 'runtime.linux-arm64.microsoft.dotnet.ilcompiler/10.0.1/r.nupkg.sha512']
  const packages = opts.packages ?? 'all'
  if (packages !== 'no record') {
    const cache = { version: 2, dgSpecHash: 'x', success: true, projectFilePath: '/src/src/Api/Api.csproj', expectedPackageFiles: pkgs.map((p) => `${nuget}/${p}`), logs: [] }
    const dir = path.join(src, opts.recordIn ?? 'src/Api/obj')
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'project.nuget.cache'), JSON.stringify(cache, null, 2))
  }
  for (const [i, p] of pkgs.entries()) {
    if (packages === 'one missing' && i === 1) continue
    fs.mkdirSync(path.dirname(path.join(nuget, p)), { recursive: true })
    fs.writeFileSync(path.join(nuget, p), '')
  }
  // The script as the Dockerfile carries it, run with the arguments the Dockerfile gives it;
  // its folders moved into the temp folder through its environment.
  const script = path.join(root, 'aot-publish')
  fs.writeFileSync(script, PUBLISH_SCRIPT)
  const r = spawnSync('sh', [script, 'src/Api/Api.csproj', 'Release', opts.framework ?? '', opts.configfile ?? '', ...targets], {
    cwd: root,
    env: {
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
      AOT_SECRETS: secretsDir,
      AOT_SECRET_IDS: Object.keys(opts.secrets ?? {}).join(' '),
      STUB_LOG: log,
      FAIL_ARCHS: (opts.failArchs ?? []).join(' '),
      FAIL_RESTORE: opts.failRestore ? '1' : '',
      AOT_SRC: src,
      AOT_BUILD: path.join(root, 'build'),
      AOT_APP: path.join(root, 'app'),
      AOT_LOGS: root,
      AOT_NUGET_PACKAGES: nuget
    },
    encoding: 'utf8'
  })
  const all = fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
  const cwds = fs.existsSync(`${log}.cwd`) ? fs.readFileSync(`${log}.cwd`, 'utf8').split('\n').filter((l) => l !== '') : []
  return { code: r.status, out: r.stdout + r.stderr, all, calls: all.filter((c) => c !== 'dotnet nuget --version'), root, cwds }
}

const restoreCall = `dotnet restore src/Api/Api.csproj -p:RuntimeIdentifiers="linux-x64;linux-arm64" -p:Configuration=Release`

describe('the publish step, run under /bin/sh with a stub dotnet', () => {
  test('every package is in the cache: no restore; both targets published into /app/<arch> without symbols or Development settings', () => {
    const r = runPublish(['amd64', 'arm64'])
    expect(r.code).toBe(0)
    expect(r.calls.filter((c) => c.startsWith('dotnet restore'))).toEqual([])
    expect(r.calls.sort()).toEqual([
      `dotnet publish src/Api/Api.csproj -a amd64 -c Release --no-restore -p:NativeDebugSymbols=false -o ${r.root}/app/amd64`,
      `dotnet publish src/Api/Api.csproj -a arm64 -c Release --no-restore -p:NativeDebugSymbols=false -o ${r.root}/app/arm64`
    ])
    for (const a of ['amd64', 'arm64']) expect(fs.readdirSync(path.join(r.root, 'app', a)).sort()).toEqual(['Api', 'appsettings.json'])
    expect(r.out).toContain('==> linux/amd64: published')
    expect(r.out).toContain('==> linux/arm64: published')
    expect(r.out).toContain(`Api -> ${r.root}/app/arm64/ (arm64)`)
  })

  test("the SDK's first-use setup runs once, alone, before any restore or publish (two first runs at once race on NuGet's migration mutex)", () => {
    for (const r of [runPublish(['amd64', 'arm64']), runPublish(['amd64', 'arm64'], { packages: 'one missing' })]) {
      expect(r.code).toBe(0)
      expect(r.all[0]).toBe('dotnet nuget --version')
      expect(r.all.filter((c) => c.startsWith('dotnet nuget'))).toHaveLength(1)
      expect(r.all.length).toBeGreaterThan(2)
    }
  })

  test('two targets never share a tree: each publishes in its own copy of the restored sources', () => {
    const r = runPublish(['amd64', 'arm64'])
    expect(r.code).toBe(0)
    expect(r.out).not.toContain('written twice')
    expect(r.cwds.sort()).toEqual([`amd64 ${r.root}/build/amd64`, `arm64 ${r.root}/build/arm64`])
    // The copies hold the restore output (the records the restore check reads).
    for (const a of ['amd64', 'arm64']) expect(fs.existsSync(path.join(r.root, 'build', a, 'src/Api/obj/project.nuget.cache'))).toBe(true)
  })

  test('the restore record is found wherever MSBuild put it (obj/ moved by a props file)', () => {
    const r = runPublish(['amd64', 'arm64'], { recordIn: 'src/Api/obj/container' })
    expect(r.code).toBe(0)
    expect(r.calls.filter((c) => c.startsWith('dotnet restore'))).toEqual([])
  })

  test('a package the restore recorded is missing from the cache mount: restore again, then publish', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'one missing' })
    expect(r.code).toBe(0)
    expect(r.calls[0]).toBe(restoreCall)
    expect(r.calls.filter((c) => c.startsWith('dotnet publish'))).toHaveLength(2)
    expect(r.out).toContain('NuGet packages are missing from the cache mount: restoring again')
  })

  test('with the kept-packages secret, missing packages stop the step (exit 42) before any restore: the action loads them and builds again', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'one missing', secrets: { 'aot-buildx-nuget-kept': '1' } })
    expect(r.code).toBe(42)
    expect(r.out).toContain('aot-buildx: this step needs the kept NuGet packages')
    expect(r.calls).toEqual([])
  })

  test('with the kept-packages secret and every package present, the step publishes as usual', () => {
    const r = runPublish(['amd64'], { secrets: { 'aot-buildx-nuget-kept': '1' } })
    expect(r.code).toBe(0)
    expect(r.calls.filter((c) => c.startsWith('dotnet publish'))).toHaveLength(1)
  })

  test('the secrets reach the restore again as variables (names with dashes too), and never the publishes', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'no record', secrets: { SECRET_TOKEN: 'tok $x "q"\n', 'NuGetPackageSourceCredentials_corp-feed': 'Username=u;Password=p' } })
    expect(r.code).toBe(0)
    const seen = fs
      .readFileSync(path.join(r.root, 'calls.env'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { cmd: string; seen: Record<string, string> })
    expect(seen.find((x) => x.cmd === 'restore')?.seen).toEqual({ SECRET_TOKEN: 'tok $x "q"', 'NuGetPackageSourceCredentials_corp-feed': 'Username=u;Password=p' })
    for (const x of seen.filter((y) => y.cmd === 'publish')) expect(x.seen).toEqual({})
    // Never on a command line the log shows.
    expect(r.out).not.toContain('tok $x')
  })

  test('no restore record at all: restore again', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'no record' })
    expect(r.code).toBe(0)
    expect(r.calls[0]).toBe(restoreCall)
  })

  test('the restore fails: the step fails and nothing is published', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'no record', failRestore: true })
    expect(r.code).not.toBe(0)
    expect(r.calls).toEqual([restoreCall])
    expect(r.out).toContain('error NU1301')
  })

  test.each([[['arm64']], [['amd64']], [['amd64', 'arm64']]] as [Arch[]][])('publishing fails for %j: the step fails, and each target reports with its whole log', (failArchs) => {
    const r = runPublish(['amd64', 'arm64'], { failArchs })
    expect(r.code).not.toBe(0)
    for (const a of ['amd64', 'arm64'] as Arch[]) {
      if (failArchs.includes(a)) {
        expect(r.out).toContain(`==> linux/${a}: dotnet publish failed`)
        expect(r.out).toContain(`error CS1002: ; expected (${a})`)
      } else {
        expect(r.out).toContain(`==> linux/${a}: published`)
      }
    }
    // The failed target's log follows its own header, not the other one's.
    const failed = failArchs[0]
    expect(r.out.indexOf(`error CS1002: ; expected (${failed})`)).toBeGreaterThan(r.out.indexOf(`==> linux/${failed}: dotnet publish failed`))
  })

  test('one target: published in the foreground; a failure fails the step', () => {
    const ok = runPublish(['arm64'])
    expect(ok.code).toBe(0)
    expect(ok.calls).toEqual([`dotnet publish src/Api/Api.csproj -a arm64 -c Release --no-restore -p:NativeDebugSymbols=false -o ${ok.root}/app/arm64`])
    expect(fs.readdirSync(path.join(ok.root, 'app', 'arm64')).sort()).toEqual(['Api', 'appsettings.json'])
    // In the folder a two-target build uses for that target: the same paths, the same binary.
    expect(ok.cwds).toEqual([`arm64 ${ok.root}/build/arm64`])
    const bad = runPublish(['arm64'], { failArchs: ['arm64'] })
    expect(bad.code).not.toBe(0)
    expect(bad.out).toContain('error CS1002')
  })
})

describe('the publish script, its arguments', () => {
  test('a framework and a NuGet.config reach restore and publish as whole arguments', () => {
    const r = runPublish(['amd64', 'arm64'], { packages: 'no record', framework: 'net10.0', configfile: '/run/secrets/nuget config' })
    expect(r.code).toBe(0)
    expect(r.calls[0]).toBe('dotnet restore src/Api/Api.csproj -p:RuntimeIdentifiers="linux-x64;linux-arm64" -p:Configuration=Release -p:TargetFramework=net10.0 --configfile /run/secrets/nuget config')
    expect(r.calls.filter((c) => c.startsWith('dotnet publish')).every((c) => c.includes(' -f net10.0 --no-restore'))).toBe(true)
  })

  test('too few arguments or an unknown architecture is a usage error, before anything runs', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-publish-usage-'))
    const script = path.join(root, 'aot-publish')
    fs.writeFileSync(script, PUBLISH_SCRIPT)
    const few = spawnSync('sh', [script, 'a.csproj', 'Release', '', ''], { encoding: 'utf8' })
    expect(few.status).toBe(2)
    expect(few.stderr).toContain('usage: aot-publish')
    const bad = spawnSync('sh', [script, 'a.csproj', 'Release', '', '', 'riscv64'], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('unknown architecture riscv64')
  })
})

test('the publish script passes shellcheck as POSIX sh (scripts/test.sh installs shellcheck)', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aot-publish-lint-')), 'aot-publish')
  fs.writeFileSync(file, PUBLISH_SCRIPT)
  const r = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' })
  expect(r.error).toBeUndefined()
  expect(r.stdout + r.stderr).toBe('')
  expect(r.status).toBe(0)
})
