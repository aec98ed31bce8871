import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DockerfileParser, Healthcheck, ModifiableInstruction, type From, type Instruction } from 'dockerfile-ast'
import {
  GENERATED_MARKER,
  generateDockerfile,
  argPath,
  resolveFlavor,
  shQuote,
  type DockerfilePlan,
  type ResolvedFlavor
} from '../../src/dockerfile/generate.js'
import { at, dockerfilePlan } from '../helpers.js'
import { defaultImages } from '../../src/dockerfile/images.js'
import { PUBLISH_SCRIPT, PUBLISH_SCRIPT_PATH } from '../../src/dockerfile/scripts.js'
import { HEALTHCHECK_BIN, HEALTHCHECK_OPTIONS, HEALTHCHECK_SOURCE, probeCompile } from '../../src/dockerfile/healthcheck.js'
import { ProjectError } from '../../src/util/errors.js'
import type { Arch } from '../../src/dotnet/platforms.js'

const plan = (over: Partial<DockerfilePlan>): DockerfilePlan => dockerfilePlan(over)

interface Stage {
  from: From
  instructions: Instruction[]
}

/** Parses the Dockerfile and groups its instructions by build stage name. */
function stages(text: string): Map<string, Stage> {
  const df = DockerfileParser.parse(text)
  const out = new Map<string, Stage>()
  let cur: Stage | undefined
  for (const i of df.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const from = df.getFROMs().find((f) => f.getRange().start.line === i.getRange().start.line) as From
      cur = { from, instructions: [] }
      out.set(from.getBuildStage() ?? '', cur)
      continue
    }
    cur?.instructions.push(i)
  }
  return out
}

const flags = (i: Instruction): string[] => (i instanceof ModifiableInstruction ? i.getFlags().map((f) => f.toString()) : [])
const args = (i: Instruction): string => i.getArgumentsContent() ?? ''
/** Everything an instruction says: keyword, flags and arguments. */
const fullText = (i: Instruction): string => [i.getKeyword(), ...flags(i), i.getRawArgumentsContent() ?? ''].join(' ')
const ofKind = (s: Stage, kw: string): Instruction[] => s.instructions.filter((i) => i.getKeyword() === kw)
const firstOfKind = (s: Stage, kw: string): Instruction => at(ofKind(s, kw), 0, `${kw} instruction`)

function stage(text: string, name: string): Stage {
  const s = stages(text).get(name)
  expect(s).toBeDefined()
  return s as Stage
}

const VARIANTS: [string, DockerfilePlan][] = [
  ['.NET 10 chiseled web, both targets', plan({})],
  ['.NET 10 chiseled-extra', plan({ flavor: 'chiseled-extra' })],
  ['.NET 10 full', plan({ flavor: 'full' })],
  ['.NET 9 console, arm64 only', plan({ dotnetMajor: 9, targets: ['arm64'], isWeb: false, targetName: 'hello' })],
  ['.NET 11 amd64 only', plan({ dotnetMajor: 11, targets: ['amd64'] })],
  [
    'project references, multi-target, NuGet secret, build args',
    plan({
      project: 'src/TodoApi/TodoApi.csproj',
      framework: 'net10.0',
      restoreFiles: ['Directory.Build.props', 'global.json', 'src/Todo.Domain/Todo.Domain.csproj', 'src/TodoApi/TodoApi.csproj', 'src/TodoApi/packages.lock.json'],
      nugetSecret: true,
      buildArgNames: ['VERSION', 'FEATURE_FLAGS'],
      configuration: 'Debug.Linux'
    })
  ],
  ['project in the context root', plan({ project: 'App.csproj', restoreFiles: ['App.csproj'], targetName: 'App', isWeb: false })],
  ['.NET 10 web with a health check, both targets', plan({ healthcheck: '/healthz' })],
  ['.NET 9 arm64 only, health check with a query, NuGet seed', plan({ dotnetMajor: 9, targets: ['arm64'], healthcheck: '/health/ready?probe=docker', nugetSeed: true })]
]

describe.each(VARIANTS)('generated Dockerfile structure: %s', (_label, p) => {
  const text = generateDockerfile(p)
  const all = stages(text)

  it('starts with the generated marker', () => {
    expect(at(text.split('\n'), 0).startsWith(GENERATED_MARKER)).toBe(true)
  })

  it('has the stages restore, toolchain, publish, final (and healthcheck before final when asked for)', () => {
    const named = DockerfileParser.parse(text)
      .getFROMs()
      .map((f) => f.getBuildStage())
      .filter((n) => n === null || !n.startsWith('nuget-'))
    expect(named).toEqual(['restore', 'toolchain', 'publish', ...(p.healthcheck ? ['healthcheck'] : []), 'final'])
  })

  it('keeps TARGET* out of the restore stage, so BuildKit restores once for every target', () => {
    const rs = all.get('restore') as Stage
    for (const i of rs.instructions) expect(fullText(i)).not.toMatch(/TARGET/)
    expect(args(firstOfKind(rs, 'RUN'))).toContain(`'-p:RuntimeIdentifiers="${p.targets.map((a) => (a === 'amd64' ? 'linux-x64' : 'linux-arm64')).join(';')}"'`)
  })

  it('keeps TARGET* out of the publish stage: one step builds every target, shared by all of them', () => {
    const pub = all.get('publish') as Stage
    for (const i of pub.instructions) expect(fullText(i)).not.toMatch(/TARGET/)
  })

  it('runs restore and toolchain on $BUILDPLATFORM, publish from toolchain, final on the target platform', () => {
    expect(all.get('restore')?.from.getPlatformFlag()?.getValue()).toBe('$BUILDPLATFORM')
    expect(all.get('toolchain')?.from.getPlatformFlag()?.getValue()).toBe('$BUILDPLATFORM')
    expect(all.get('restore')?.from.getImage()).toBe(p.sdkImage)
    expect(all.get('toolchain')?.from.getImage()).toBe(p.sdkImage)
    expect(all.get('publish')?.from.getImage()).toBe('toolchain')
    expect(all.get('final')?.from.getPlatformFlag()).toBeNull()
    expect(all.get('final')?.from.getImage()).toBe(p.runtimeImage)
  })

  it('keeps TARGET* out of the toolchain stage so BuildKit shares it between targets', () => {
    const tc = all.get('toolchain') as Stage
    expect(tc.instructions.length).toBeGreaterThan(0)
    for (const i of tc.instructions) expect(fullText(i)).not.toMatch(/TARGET/)
    expect(tc.from.getRawArgumentsContent()).not.toMatch(/TARGET/)
  })

  it('never builds separately from publish, runs objcopy by hand or symlinks tools', () => {
    expect(text).not.toMatch(/dotnet build /)
    // Only asked whether the SDK image has llvm-objcopy (to install llvm where it lacks it).
    expect(text).not.toMatch(/^(?!\s*command -v llvm-objcopy >\/dev\/null \|\| pkgs="\$pkgs llvm"; \\$).*objcopy/m)
    expect(text).not.toMatch(/ln -s/)
  })

  it('restores once for all RIDs, then runs the whole publish script once with every target', () => {
    const restore = ofKind(all.get('restore') as Stage, 'RUN')
    expect(restore).toHaveLength(1)
    expect(args(at(restore, 0))).toContain(`dotnet restore ${shQuote(p.project)} '-p:RuntimeIdentifiers=`)
    const publish = ofKind(all.get('publish') as Stage, 'RUN')
    expect(publish).toHaveLength(1)
    expect(args(at(publish, 0)).trim()).toBe(
      `sh ${PUBLISH_SCRIPT_PATH} ${[p.project, p.configuration, p.framework, p.nugetSecret ? '/run/secrets/nuget.config' : ''].map(shQuote).join(' ')} ${p.targets.join(' ')}`
    )
  })

  it('carries the publish script whole, as a here-document the RUN reads, before the sources', () => {
    const lines = text.split('\n')
    const start = lines.indexOf(`COPY <<'AOT_PUBLISH_SCRIPT' ${PUBLISH_SCRIPT_PATH}`)
    expect(start).toBeGreaterThan(lines.findIndex((l) => l.endsWith(' AS publish')))
    const end = lines.indexOf('AOT_PUBLISH_SCRIPT', start + 1)
    expect(lines.slice(start + 1, end).join('\n') + '\n').toBe(PUBLISH_SCRIPT)
    expect(end).toBeLessThan(lines.indexOf('COPY --link . .'))
  })

  it("final stage: COPY --link of its arch's folder from publish, last, USER $APP_UID, exec-form ENTRYPOINT, no RUN", () => {
    const fin = all.get('final') as Stage
    const copies = ofKind(fin, 'COPY')
    expect(copies).toHaveLength(p.healthcheck ? 2 : 1)
    expect(flags(at(copies, -1))).toEqual(expect.arrayContaining(['--link', '--from=publish']))
    expect(ofKind(fin, 'ARG').map(args)).toEqual(['TARGETARCH'])
    expect(args(at(copies, -1))).toBe('/publish/$TARGETARCH/ ./')
    // The app is the last layer: the size report takes the last COPY's layer as the app's.
    const layers = fin.instructions.filter((i) => ['COPY', 'ADD', 'RUN'].includes(i.getKeyword()))
    expect(at(layers, -1)).toBe(at(copies, -1))
    expect(ofKind(fin, 'USER').map(args)).toEqual(['$APP_UID'])
    const eps = ofKind(fin, 'ENTRYPOINT')
    expect(eps).toHaveLength(1)
    expect(JSON.parse(args(at(eps, 0)))).toEqual([`/app/${p.targetName}`])
    expect(ofKind(fin, 'RUN')).toHaveLength(0)
  })

  it('has a HEALTHCHECK exactly when a health-check path is given', () => {
    expect(ofKind(all.get('final') as Stage, 'HEALTHCHECK')).toHaveLength(p.healthcheck ? 1 : 0)
    expect(all.has('healthcheck')).toBe(Boolean(p.healthcheck))
  })

  it('exposes 8080 only for a web app', () => {
    expect(ofKind(all.get('final') as Stage, 'EXPOSE').map(args)).toEqual(p.isWeb ? ['8080'] : [])
  })

  it('copies only the restore files into the restore stage, with --link', () => {
    const copies = ofKind(all.get('restore') as Stage, 'COPY')
    expect(copies.length).toBeGreaterThan(0)
    const copied: string[] = []
    for (const c of copies) {
      expect(flags(c)).toEqual(['--link'])
      const list = JSON.parse(args(c)) as string[]
      copied.push(...list.slice(0, -1))
    }
    expect(copied.sort()).toEqual([...p.restoreFiles].sort())
  })
})

describe('flavours and .NET versions', () => {
  it.each([
    ['chiseled', 10, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'],
    ['chiseled-extra', 10, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra'],
    ['full', 10, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble'],
    ['chiseled', 9, 'mcr.microsoft.com/dotnet/runtime-deps:9.0-noble-chiseled'],
    ['chiseled', 11, 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled'],
    ['chiseled-extra', 11, 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled-extra'],
    ['full', 11, 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute']
  ] as [ResolvedFlavor, number, string][])('default runtime image %s .NET %d', (flavor, major, want) => {
    expect(defaultImages(major, '', flavor).runtime).toBe(want)
    expect(stage(generateDockerfile(plan({ flavor, dotnetMajor: major })), 'final').from.getImage()).toBe(want)
  })

  it.each([
    [9, 'mcr.microsoft.com/dotnet/sdk:9.0-noble'],
    [10, 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot'],
    [11, 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot']
  ])('.NET %d: SDK image %s in every build stage, the toolchain stage adding clang and llvm only where the image lacks them', (major, sdk) => {
    expect(defaultImages(major, '', 'chiseled').sdk).toBe(sdk)
    const text = generateDockerfile(plan({ dotnetMajor: major }))
    for (const name of ['restore', 'toolchain']) expect(stage(text, name).from.getImage()).toBe(sdk)
    const run = args(firstOfKind(stage(text, 'toolchain'), 'RUN'))
    expect(run).toContain('command -v clang >/dev/null || pkgs="$pkgs clang";')
    expect(run).toContain('command -v llvm-objcopy >/dev/null || pkgs="$pkgs llvm";')
  })
})

describe('cross packages per target', () => {
  const crossLines = (targets: Arch[]): string[] => {
    const run = firstOfKind(stage(generateDockerfile(plan({ targets })), 'toolchain'), 'RUN')
    return (run.getRawArgumentsContent() ?? '').split('\n').filter((l) => l.includes('$BUILDARCH" !='))
  }

  it.each([
    [['amd64', 'arm64'], ['gcc-x86-64-linux-gnu libc6-dev-amd64-cross', 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross']],
    [['arm64'], ['gcc-aarch64-linux-gnu libc6-dev-arm64-cross']],
    [['amd64'], ['gcc-x86-64-linux-gnu libc6-dev-amd64-cross']]
  ] as [Arch[], string[]][])('%j installs cross packages only when BUILDARCH differs', (targets, packages) => {
    const lines = crossLines(targets)
    expect(lines).toHaveLength(targets.length)
    targets.forEach((a, i) => {
      expect(lines[i]).toContain(`if [ "$BUILDARCH" != "${a}" ]`)
      expect(lines[i]).toContain(at(packages, i))
    })
  })

  it('installs nothing through apt when there is nothing to install', () => {
    const run = args(firstOfKind(stage(generateDockerfile(plan({ dotnetMajor: 10 })), 'toolchain'), 'RUN'))
    expect(run).toContain('if [ -n "$pkgs" ]; then')
    expect(run).toContain('--no-install-recommends -o Dpkg::Options::=--force-unsafe-io $pkgs')
  })
})

describe('options', () => {
  it('groups restore COPY lines by directory, each copied to its own folder', () => {
    const text = generateDockerfile(
      plan({ restoreFiles: ['Directory.Build.props', 'global.json', 'src/Lib/Lib.csproj', 'src/TodoApi/TodoApi.csproj', 'src/TodoApi/packages.lock.json'] })
    )
    const copies = ofKind(stage(text, 'restore'), 'COPY').map((c) => JSON.parse(args(c)) as string[])
    expect(copies).toEqual([
      ['Directory.Build.props', 'global.json', './'],
      ['src/Lib/Lib.csproj', 'src/Lib/'],
      ['src/TodoApi/TodoApi.csproj', 'src/TodoApi/packages.lock.json', 'src/TodoApi/']
    ])
  })

  it('names the framework for a multi-targeted project in restore and publish', () => {
    const text = generateDockerfile(plan({ framework: 'net9.0', dotnetMajor: 9 }))
    expect(args(firstOfKind(stage(text, 'restore'), 'RUN'))).toContain(" -p:TargetFramework='net9.0'")
    expect(args(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain(`sh ${PUBLISH_SCRIPT_PATH} 'src/TodoApi/TodoApi.csproj' 'Release' 'net9.0' ''`)
  })

  it('names no framework otherwise', () => {
    const text = generateDockerfile(plan({}))
    expect(args(firstOfKind(stage(text, 'restore'), 'RUN'))).not.toContain('TargetFramework')
    expect(args(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain("'Release' '' ''")
  })

  it('mounts the NuGet.config secret (required) in restore and publish', () => {
    const text = generateDockerfile(plan({ nugetSecret: true }))
    for (const name of ['restore', 'publish']) {
      const run = firstOfKind(stage(text, name), 'RUN')
      const secret = flags(run).filter((f) => f.includes('type=secret'))
      expect(secret).toEqual(['--mount=type=secret,id=nuget-config,target=/run/secrets/nuget.config,required=true'])
    }
    expect(args(firstOfKind(stage(text, 'restore'), 'RUN'))).toContain('--configfile /run/secrets/nuget.config')
    expect(args(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain("'/run/secrets/nuget.config' amd64 arm64")
  })

  it('mounts the user\'s secrets (required) on restore and publish only, as variables of their ids', () => {
    const text = generateDockerfile(plan({ secretIds: ['CORP_FEED_TOKEN', 'NuGetPackageSourceCredentials_corp'] }))
    for (const name of ['restore', 'publish']) {
      const run = firstOfKind(stage(text, name), 'RUN')
      expect(flags(run).filter((f) => f.includes('type=secret'))).toEqual([
        '--mount=type=secret,id=CORP_FEED_TOKEN,required=true',
        '--mount=type=secret,id=NuGetPackageSourceCredentials_corp,required=true'
      ])
    }
    expect(args(firstOfKind(stage(text, 'restore'), 'RUN'))).toContain('env "CORP_FEED_TOKEN=$(cat /run/secrets/CORP_FEED_TOKEN)" "NuGetPackageSourceCredentials_corp=$(cat /run/secrets/NuGetPackageSourceCredentials_corp)" dotnet restore')
    // The publish script restores again only when the package cache lacks something; it reads the files itself.
    expect(args(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain(`AOT_SECRET_IDS='CORP_FEED_TOKEN NuGetPackageSourceCredentials_corp' sh ${PUBLISH_SCRIPT_PATH}`)
    for (const name of ['toolchain', 'final']) expect(fullText(firstOfKind(stage(text, name), name === 'final' ? 'COPY' : 'RUN'))).not.toContain('secret')
    // Never an ENV or ARG that could carry a value into a layer or the cache key.
    expect(text).not.toMatch(/^(ENV|ARG) .*(CORP_FEED_TOKEN|NuGetPackageSourceCredentials)/m)
  })

  it('sets each secret for the command only: a real shell runs the restore line with the mounted files', () => {
    const text = generateDockerfile(plan({ secretIds: ['CORP_FEED_TOKEN', 'Creds_corp-feed'] }))
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-secrets-'))
    fs.writeFileSync(path.join(dir, 'CORP_FEED_TOKEN'), 'tok;en $with "quotes" `and` \\ back\n')
    fs.writeFileSync(path.join(dir, 'Creds_corp-feed'), 'two words')
    const line = args(firstOfKind(stage(text, 'restore'), 'RUN')).replace(/\/run\/secrets\//g, `${dir}/`)
    // dotnet stands in as a program on PATH that prints the variables it was given.
    fs.mkdirSync(path.join(dir, 'bin'))
    // A variable named with a dash is no shell variable (dash drops it): the stand-in is no shell.
    fs.writeFileSync(path.join(dir, 'bin', 'dotnet'), "#!/usr/bin/env node\nconsole.log(process.env.CORP_FEED_TOKEN + '|' + process.env['Creds_corp-feed'])\n", { mode: 0o755 })
    const r = spawnSync('sh', ['-c', `${line}; printf 'after:%s\\n' "\${CORP_FEED_TOKEN:-unset}"`], { encoding: 'utf8', env: { PATH: `${dir}/bin:${path.dirname(process.execPath)}:/usr/bin:/bin` } })
    fs.rmSync(dir, { recursive: true, force: true })
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('tok;en $with "quotes" `and` \\ back|two words\nafter:unset\n')
  })

  it('refuses a secret id that is not a variable name (it is written into a RUN line)', () => {
    expect(() => generateDockerfile(plan({ secretIds: ['A;rm -rf /'] }))).toThrow('is not an environment variable name')
  })

  it('mounts no secret without a NuGet.config', () => {
    const text = generateDockerfile(plan({ nugetSecret: false }))
    expect(text).not.toContain('type=secret')
    for (const name of ['restore', 'publish']) expect(args(firstOfKind(stage(text, name), 'RUN'))).not.toContain('/run/secrets/')
  })

  it('declares build args in the publish stage only', () => {
    const text = generateDockerfile(plan({ buildArgNames: ['VERSION', 'FEATURE_FLAGS'] }))
    expect(ofKind(stage(text, 'publish'), 'ARG').map(args)).toEqual(['VERSION', 'FEATURE_FLAGS'])
    expect(ofKind(stage(text, 'restore'), 'ARG')).toHaveLength(0)
    expect(ofKind(stage(text, 'toolchain'), 'ARG').map(args)).toEqual(['BUILDARCH'])
    expect(ofKind(stage(text, 'final'), 'ARG').map(args)).toEqual(['TARGETARCH'])
  })

  it('sets a versioning tool\'s no-git switches in the publish stage only, before its RUN (publish and its own restore see them)', () => {
    const text = generateDockerfile(plan({ publishEnv: { NBGV_GitEngine: 'Disabled', DisableGitVersionTask: 'true' } }))
    const publish = stage(text, 'publish')
    expect(ofKind(publish, 'ENV').map(args)).toEqual(['NBGV_GitEngine=Disabled', 'DisableGitVersionTask=true'])
    const envLine = publish.instructions.findIndex((i) => i.getKeyword() === 'ENV')
    const runLine = publish.instructions.findIndex((i) => i.getKeyword() === 'RUN')
    expect(envLine).toBeLessThan(runLine)
    for (const name of ['restore', 'toolchain', 'final']) expect(ofKind(stage(text, name), 'ENV')).toHaveLength(0)
    // Without a tool the file is as before: no ENV anywhere.
    expect(text.split('\n').filter((l) => l.startsWith('ENV '))).toHaveLength(2)
    expect(generateDockerfile(plan({})).split('\n').filter((l) => l.startsWith('ENV '))).toHaveLength(0)
    expect(() => generateDockerfile(plan({ publishEnv: { X: 'a b\nRUN evil' } }))).toThrow(ProjectError)
  })

  it('uses cache mounts for NuGet (locked in restore, shared in publish)', () => {
    const text = generateDockerfile(plan({}))
    expect(flags(firstOfKind(stage(text, 'restore'), 'RUN'))).toContain('--mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=locked')
    expect(flags(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain('--mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=private')
  })

  it('an untrusted event (a pull request) gets a package cache mount of its own in every step that touches one', () => {
    const trusted = generateDockerfile(plan({ nugetSeed: true }))
    const untrusted = generateDockerfile(plan({ nugetSeed: true, trustedEvent: false }))
    const ids = (text: string): string[] => [...text.matchAll(/--mount=type=cache,id=([^,]+),target=\/root\/\.nuget\/packages/g)].map((m) => m[1] ?? '')
    // restore, publish, the kept packages' load and export
    expect(ids(trusted)).toEqual(['aot-buildx-nuget', 'aot-buildx-nuget', 'aot-buildx-nuget', 'aot-buildx-nuget'])
    expect(ids(untrusted)).toEqual(['aot-buildx-nuget-untrusted', 'aot-buildx-nuget-untrusted', 'aot-buildx-nuget-untrusted', 'aot-buildx-nuget-untrusted'])
    expect(flags(firstOfKind(stage(untrusted, 'restore'), 'RUN'))).toContain('--mount=type=cache,id=aot-buildx-nuget-untrusted,target=/root/.nuget/packages,sharing=locked')
    expect(flags(firstOfKind(stage(untrusted, 'publish'), 'RUN'))).toContain('--mount=type=cache,id=aot-buildx-nuget-untrusted,target=/root/.nuget/packages,sharing=private')
    // Otherwise the same file.
    expect(untrusted.replaceAll('id=aot-buildx-nuget-untrusted,', 'id=aot-buildx-nuget,')).toBe(trusted)
    // Scoped (per pull request or run: plan.ts), in every step alike; a trusted build ignores the scope.
    expect(ids(generateDockerfile(plan({ nugetSeed: true, trustedEvent: false, untrustedScope: 'pull-request-pr-7' })))).toEqual(Array(4).fill('aot-buildx-nuget-untrusted-pull-request-pr-7'))
    expect(generateDockerfile(plan({ nugetSeed: true, untrustedScope: 'pull-request-pr-7' }))).toBe(trusted)
  })

  it('shell-quotes a project path with spaces and quotes', () => {
    const text = generateDockerfile(plan({ project: "src/Bob's App/App.csproj", restoreFiles: ["src/Bob's App/App.csproj"] }))
    expect(args(firstOfKind(stage(text, 'publish'), 'RUN'))).toContain(`sh ${PUBLISH_SCRIPT_PATH} 'src/Bob'\\''s App/App.csproj'`)
  })

  it.each([
    ['project', plan({ project: 'src/A\npi.csproj' })],
    ['restore file', plan({ restoreFiles: ['src/Api.csproj', 'evil\r\nRUN id'] })],
    ['project with DEL', plan({ project: 'a\u007f.csproj' })]
  ])('rejects control characters in a %s path', (_label, p) => {
    expect(() => generateDockerfile(p)).toThrow(/control characters/)
  })
})

describe('resolveFlavor', () => {
  it.each([
    ['auto', true, 'chiseled'],
    ['auto', false, 'chiseled-extra'],
    ['full', true, 'full'],
    ['chiseled', false, 'chiseled'],
    ['chiseled-extra', true, 'chiseled-extra']
  ] as [ResolvedFlavor | 'auto', boolean, ResolvedFlavor][])('%s with InvariantGlobalization=%s -> %s', (flavor, invariant, want) => {
    expect(resolveFlavor(flavor, invariant)).toBe(want)
  })
})

describe('shQuote', () => {
  it('escapes a single quote', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`)
  })

  it.each([["it's"], ['$(id) `x` "y" \\n ; &&'], ['a b'], ['']])('round-trips %j through sh', (s) => {
    expect(execFileSync('sh', ['-c', `printf %s ${shQuote(s)}`], { encoding: 'utf8' })).toBe(s)
  })
})

describe('publish stage copy order', () => {
  test('the restore output is copied after the sources, so a stray host obj/ cannot win', () => {
    const text = generateDockerfile({
      trustedEvent: true,
      sdkImage: 'sdk',
      runtimeImage: 'rt',
      flavor: 'chiseled',
      targets: ['amd64', 'arm64'],
      dotnetMajor: 10,
      project: 'App/App.csproj',
      framework: '',
      configuration: 'Release',
      restoreFiles: ['App/App.csproj'],
      targetName: 'App',
      isWeb: false,
      nugetSecret: false,
      buildArgNames: [],
      generatedFrom: 'test'
    })
    const publish = text.slice(text.indexOf('AS publish'), text.indexOf('AS final'))
    expect(publish.indexOf('COPY --link . .')).toBeGreaterThan(0)
    expect(publish.indexOf('COPY --link --from=restore /src/ ./')).toBeGreaterThan(publish.indexOf('COPY --link . .'))
  })
})

describe('NuGet seed (packages kept across builders)', () => {
  const plan = {
    trustedEvent: true,
    sdkImage: 'sdk',
    runtimeImage: 'rt',
    flavor: 'chiseled' as const,
    targets: ['amd64', 'arm64'] as Arch[],
    dotnetMajor: 10,
    project: 'App/App.csproj',
    framework: '',
    configuration: 'Release',
    restoreFiles: ['App/App.csproj'],
    targetName: 'App',
    isWeb: false,
    nugetSecret: false,
    buildArgNames: [],
    generatedFrom: 'test'
  }

  test('off by default: no seed or export stages', () => {
    const text = generateDockerfile(plan)
    expect(text).not.toContain('nuget-seed')
    expect(text).not.toContain('nuget-export')
    expect(text).not.toContain('--mount=type=secret,id=aot-buildx-nuget-kept')
  })

  test('on: a load target copies the seed into the cache mount, the export stage writes it out, final stays the default target', () => {
    const text = generateDockerfile({ ...plan, nugetSeed: true })
    const froms = DockerfileParser.parse(text).getFROMs()
    expect(froms.map((f) => f.getBuildStage())).toEqual(['nuget-seed', 'restore', 'toolchain', 'publish', 'nuget-load', 'nuget-export-run', 'nuget-export', 'final'])
    expect(at(froms, 0).getImageName()).toBe('scratch')
    // No image step reads the seed: its cache keys are the same with or without kept packages.
    const image = text.slice(0, text.indexOf('AS nuget-load')) + text.slice(text.indexOf('AS final'))
    expect(image.match(/from=nuget-seed/g)).toBeNull()
    const load = text.slice(text.indexOf('AS nuget-load'), text.indexOf('AS nuget-export-run'))
    expect(load).toContain('--mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=locked')
    expect(load).toContain('--mount=type=bind,from=nuget-seed,target=/nuget-seed')
    expect(load).toContain('ARG AOT_BUILDX_EXPORT_ID')
    // Restore and publish stop for the kept packages only when the kept secret is given and
    // they would download; an optional secret changes no cache key.
    const restore = text.slice(text.indexOf('AS restore'), text.indexOf('AS toolchain'))
    expect(restore).toContain('--mount=type=secret,id=aot-buildx-nuget-kept \\\n')
    expect(restore).toMatch(/if \[ -f \/run\/secrets\/aot-buildx-nuget-kept \] && \[ -z "\$\(ls -A \/root\/\.nuget\/packages\)" \]; then echo 'aot-buildx: this step needs the kept NuGet packages[^']*'; exit 42; fi; \\\n {4}dotnet restore /)
    const publish = text.slice(text.indexOf('AS publish'), text.indexOf('AS nuget-load'))
    expect(publish).toContain('--mount=type=secret,id=aot-buildx-nuget-kept \\\n')
    // One package folder (nuget-cache-dir), or the Actions cache's two parts (own/, packs/).
    expect(load).toContain('for d in /nuget-seed/packages /nuget-seed/*/packages; do if [ -d "$d" ]; then tar -C "$d" -cf - . | tar -C /root/.nuget/packages -xf - --skip-old-files; fi; done')
    const exportRun = text.slice(text.indexOf('AS nuget-export-run'), text.indexOf('AS final'))
    expect(exportRun).toContain('--mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages')
    expect(exportRun).toContain('COPY --from=nuget-export-run /out/ /')
  })
})

describe('paths from the repository in the Dockerfile', () => {
  it('a project path starting with - reaches dotnet as a path, not an option', () => {
    expect(argPath('-rf/App.csproj')).toBe('./-rf/App.csproj')
    const text = generateDockerfile(dockerfilePlan({ project: '-x/App.csproj', restoreFiles: ['-x/App.csproj'] }))
    expect(text).toContain("dotnet restore './-x/App.csproj'")
    expect(text).toContain("sh /usr/local/bin/aot-publish './-x/App.csproj'")
  })

  it('a $ in a path is escaped where BuildKit would expand it (COPY)', () => {
    const text = generateDockerfile(dockerfilePlan({ project: 'src/$HOME/App.csproj', restoreFiles: ['src/$HOME/App.csproj'] }))
    expect(text).toContain('COPY --link ["src/\\\\$HOME/App.csproj", "src/\\\\$HOME/"]')
  })
})

describe('health check (the healthcheck input)', () => {
  const text = generateDockerfile(plan({ healthcheck: '/healthz' }))
  const hc = stage(text, 'healthcheck')
  const fin = stage(text, 'final')
  const probe = at(ofKind(fin, 'HEALTHCHECK'), 0)

  it('builds the probe from the toolchain stage (so on $BUILDPLATFORM), without TARGET*: one build for every target, kept in the cache', () => {
    expect(hc.from.getImage()).toBe('toolchain')
    expect(hc.from.getPlatformFlag()).toBeNull()
    for (const i of hc.instructions) expect(fullText(i)).not.toMatch(/TARGET/)
    expect(ofKind(hc, 'WORKDIR').map(args)).toEqual(['/probe'])
  })

  it('carries the C source whole, as a here-document', () => {
    const lines = text.split('\n')
    const start = lines.indexOf("COPY <<'AOT_HEALTHCHECK_SOURCE' /probe/aot-healthcheck.c")
    expect(start).toBeGreaterThan(lines.findIndex((l) => l === 'FROM toolchain AS healthcheck'))
    const end = lines.indexOf('AOT_HEALTHCHECK_SOURCE', start + 1)
    expect(lines.slice(start + 1, end).join('\n') + '\n').toBe(HEALTHCHECK_SOURCE)
  })

  it.each<[Arch[]]>([[['amd64', 'arm64']], [['arm64']], [['amd64']]])('compiles one probe per target %j with clang --target, in one RUN, laid out as the image tree', (targets) => {
    const t = generateDockerfile(plan({ healthcheck: '/healthz', targets }))
    const runs = ofKind(stage(t, 'healthcheck'), 'RUN')
    expect(runs).toHaveLength(1)
    const script = args(at(runs, 0)).replace(/\\\n/g, ' ').replace(/\s+/g, ' ').trim()
    // Then laid out as the image's tree.
    expect(script).toBe(
      [
        `mkdir -p ${targets.join(' ')}`,
        ...targets.map((a) => probeCompile(a).join(' ')),
        ...targets.map((a) => `mkdir -p tree/${a}/usr/local/bin && mv ${a}/aot-healthcheck tree/${a}/usr/local/bin/aot-healthcheck`)
      ].join(' && ')
    )
  })

  it('copies its arch\'s probe into the final stage, before the app, as a file every user may run', () => {
    const copies = ofKind(fin, 'COPY')
    expect(flags(at(copies, 0))).toEqual(['--link', '--from=healthcheck'])
    // Its arch's tree onto /: the folders on the way come from the tree, with its one time.
    expect(args(at(copies, 0))).toBe('/probe/tree/$TARGETARCH/ /')
    expect(HEALTHCHECK_BIN).toBe('/usr/local/bin/aot-healthcheck')
  })

  it('HEALTHCHECK in exec form (no shell in the image), after USER, with the options', () => {
    expect(probe).toBeInstanceOf(Healthcheck)
    expect(probe instanceof Healthcheck ? probe.getSubcommand()?.getValue() : undefined).toBe('CMD')
    const cmd = (probe.getRawArgumentsContent() ?? '').replace(/^[\s\S]*?\bCMD\s+/, '')
    expect(JSON.parse(cmd)).toEqual([HEALTHCHECK_BIN, '/healthz'])
    expect(flags(probe)).toEqual([...HEALTHCHECK_OPTIONS])
    const kinds = fin.instructions.map((i) => i.getKeyword())
    expect(kinds.indexOf('HEALTHCHECK')).toBeGreaterThan(kinds.indexOf('USER'))
  })

  it('options: healthy about a second after the app answers; a slow start (QEMU: 7 to 9 s) does not count against it; Docker waits longer than the probe does', () => {
    const seconds = (flag: string): number => {
      const f = HEALTHCHECK_OPTIONS.find((o) => o.startsWith(`--${flag}=`)) ?? ''
      const m = /=(\d+)s$/.exec(f)
      if (m === null) throw new Error(`no --${flag}=<n>s in ${HEALTHCHECK_OPTIONS.join(' ')}`)
      return Number(m[1])
    }
    const probeTimeout = Number(/#define TIMEOUT_SECONDS (\d+)/.exec(HEALTHCHECK_SOURCE)?.[1])
    expect(probeTimeout).toBeGreaterThan(0)
    expect(seconds('timeout')).toBeGreaterThan(probeTimeout)
    expect(seconds('start-interval')).toBeLessThanOrEqual(1)
    // Three times the slowest start seen under QEMU: failures while an app starts do not count.
    expect(seconds('start-period')).toBeGreaterThanOrEqual(27)
    expect(seconds('interval')).toBeGreaterThan(seconds('timeout'))
    expect(HEALTHCHECK_OPTIONS).toContain('--retries=3')
  })

  it('a path with quotes and a backslash reaches the probe as it is (JSON in the exec form)', () => {
    const t = generateDockerfile(plan({ healthcheck: '/a"b\\c?d=$HOME' }))
    const h = at(ofKind(stage(t, 'final'), 'HEALTHCHECK'), 0)
    expect(JSON.parse((h.getRawArgumentsContent() ?? '').replace(/^[\s\S]*?\bCMD\s+/, ''))).toEqual([HEALTHCHECK_BIN, '/a"b\\c?d=$HOME'])
  })

  it.each([['healthz'], ['/a b'], ['/a\nRUN id'], ['']])('generateDockerfile refuses a path the input would refuse (%j), or adds nothing for empty', (bad) => {
    if (bad === '') {
      expect(generateDockerfile(plan({ healthcheck: '' }))).not.toMatch(/HEALTHCHECK|healthcheck/)
      return
    }
    expect(() => generateDockerfile(plan({ healthcheck: bad }))).toThrow(ProjectError)
  })
})

describe('the aot-facts stage (what restore resolved, for the SBOM)', () => {
  it("copies the restore's project.assets.json from where MSBuild put it, stands before the final stage, and leaves every other stage as it is", () => {
    const without = generateDockerfile(plan({}))
    const text = generateDockerfile(plan({ assetsFile: 'src/Api/obj/project.assets.json' }))
    const all = stages(text)
    const facts = all.get('aot-facts') as Stage
    expect(facts.from.getImage()).toBe('scratch')
    expect(facts.instructions.map(fullText)).toEqual(['COPY --from=restore ["/src/src/Api/obj/project.assets.json", "/project.assets.json"]'])
    const named = DockerfileParser.parse(text).getFROMs().map((f) => f.getBuildStage())
    expect(named.at(-1)).toBe('final')
    expect(named.indexOf('aot-facts')).toBe(named.length - 2)
    // The stage is the only difference: no step of the image changes with it.
    const removed = text.replace(/# What restore resolved[^\n]*\nFROM scratch AS aot-facts\n[^\n]*\n\n/, '')
    expect(removed).toBe(without)
  })

  it('no stage for an assets file outside the context or one a COPY cannot carry; $ is kept literal', () => {
    for (const a of ['../obj/project.assets.json', '/abs/project.assets.json', 'a\nb/project.assets.json', 'obj[1]/project.assets.json', 'o*/project.assets.json', '']) expect(generateDockerfile(plan({ assetsFile: a }))).not.toContain('aot-facts')
    expect(generateDockerfile(plan({ assetsFile: 'src/$HOME/obj/project.assets.json' }))).toContain('"/src/src/\\\\$HOME/obj/project.assets.json"')
  })
})
