import { createHash } from 'node:crypto'
import * as path from 'node:path'
import type { Runner } from '../../src/action/env.js'
import { parseInputs } from '../../src/action/inputs.js'
import type { ProjectRead } from '../../src/dotnet/evaluate.js'
import { planBuild } from '../../src/pipeline/plan.js'
import { buildArgv } from '../../src/engine/buildx.js'

const runner: Runner = { workspace: '/ws', tempDir: '/rt', eventName: 'push', trustedEvent: true, runId: '1', job: 'b', ref: 'refs/heads/main', baseRef: '', sha: 'abc', actionsCache: false, summaryFile: true, serverUrl: 'https://github.com', repository: 'o/r', runAttempt: '1', repositoryPrivate: undefined }
const proj: ProjectRead = {
  facts: { projectFile: '/ws/src/Api/Api.csproj', targetName: 'Api', targetFramework: 'net10.0', multiTargeted: false, dotnetMajor: 10, invariantGlobalization: true, isWeb: true, references: [] },
  restoreFiles: ['src/Api/Api.csproj'],
  aboveContext: [],
  itemsOutside: [],
  evaluatedBy: 'dotnet msbuild'
}
const settings = (inputs: Record<string, string>): ReturnType<typeof parseInputs> => parseInputs((n) => inputs[n] ?? '', runner)

describe('planBuild', () => {
  it('cache: gha without the Actions cache service warns, and still asks for it as told', () => {
    const p = planBuild(settings({ project: 'src/Api', cache: 'gha' }), proj, runner, '/rt/run')
    expect(p.warnings.join('\n')).toContain('cache: gha, but this job has no GitHub Actions cache service')
    expect(p.build.cache).toBe('gha')
  })

  it('cache: auto uses gha only where the service exists, without a warning', () => {
    expect(planBuild(settings({ project: 'src/Api' }), proj, runner, '/rt/run')).toMatchObject({ warnings: [], build: { cache: 'none' } })
    expect(planBuild(settings({ project: 'src/Api' }), proj, { ...runner, actionsCache: true }, '/rt/run').build.cache).toBe('gha')
  })

  it('the user\'s cache-from / cache-to replace the gha default, and reach buildx as given; cache: gha keeps ours beside them', () => {
    const own = { project: 'src/Api', 'cache-from': 'type=local,src=/rt/c', 'cache-to': 'type=local,dest=/rt/c,mode=max' }
    const p = planBuild(settings(own), proj, { ...runner, actionsCache: true }, '/rt/run')
    expect(p.build.cache).toBe('none')
    const argv = buildArgv(p.build)
    expect(argv.filter((_a, i) => argv[i - 1] === '--cache-from')).toEqual(['type=local,src=/rt/c'])
    expect(argv.filter((_a, i) => argv[i - 1] === '--cache-to')).toEqual(['type=local,dest=/rt/c,mode=max'])
    expect(p.warnings).toEqual([])
    expect(planBuild(settings({ ...own, 'cache-to': 'type=local,dest=/rt/c\ntype=registry,ref=r/x:c' }), proj, runner, '/rt/run').warnings.join('\n')).toContain('a local cache exported beside another cache')
    const both = buildArgv(planBuild(settings({ ...own, cache: 'gha' }), proj, { ...runner, actionsCache: true }, '/rt/run').build)
    expect(both.filter((_a, i) => both[i - 1] === '--cache-to')).toEqual([expect.stringMatching(/^type=gha,scope=/), 'type=local,dest=/rt/c,mode=max'])
  })

  it('a read-only cache token on a trusted event: the gha cache is read, not written, and one warning says why', () => {
    const ro = { ...runner, actionsCache: true, cacheWritable: false, eventName: 'workflow_dispatch' }
    const p = planBuild(settings({ project: 'src/Api' }), proj, ro, '/rt/run')
    const argv = buildArgv(p.build)
    expect(argv.filter((_a, i) => argv[i - 1] === '--cache-from')).toEqual([expect.stringMatching(/^type=gha,scope=/)])
    expect(argv).not.toContain('--cache-to')
    expect(p.warnings).toEqual([expect.stringMatching(/^The build cache is read but not saved: this run's cache token can only read .*; this run is a workflow_dispatch run\./)])
    // A writable token, or one that does not say: the export stays, refusals ignored by BuildKit.
    for (const cacheWritable of [true, undefined]) {
      const w = buildArgv(planBuild(settings({ project: 'src/Api' }), proj, { ...ro, cacheWritable }, '/rt/run').build)
      expect(w.filter((_a, i) => w[i - 1] === '--cache-to')).toEqual([expect.stringMatching(/^type=gha,scope=.*,ignore-error=true,/)])
    }
  })

  // pull_request_target, workflow_run, issue_comment and schedule runs may build a pull request's
  // code and live in a branch's cache scope, which push runs on that branch import.
  it.each(['pull_request_target', 'workflow_run', 'issue_comment', 'schedule', ''])('an untrusted %p run, whatever its token, reads the gha cache push runs write and never exports into it; one notice says so', (eventName) => {
    for (const cacheWritable of [true, false, undefined]) {
      const push = buildArgv(planBuild(settings({ project: 'src/Api' }), proj, { ...runner, actionsCache: true, cacheWritable: true }, '/rt/run').build)
      const p = planBuild(settings({ project: 'src/Api' }), proj, { ...runner, actionsCache: true, cacheWritable, eventName, trustedEvent: false }, '/rt/run')
      const argv = buildArgv(p.build)
      // Same scope name on both sides: what one writes, the other imports.
      expect(argv.filter((_a, i) => argv[i - 1] === '--cache-from')).toEqual(push.filter((_a, i) => push[i - 1] === '--cache-from'))
      expect(argv).not.toContain('--cache-to')
      expect(p.warnings).toEqual([])
      expect(p.notes).toEqual([expect.stringMatching(/may build a pull request's code: the gha cache is read, not written; push and workflow_dispatch runs write it\.$/)])
    }
  })

  it.each(['pull_request', 'pull_request_target', 'workflow_run', 'issue_comment', 'schedule', ''])('an untrusted %p run exports no cache-to of the user\'s either (registry, local, gha); cache-from is read as given; one notice says so', (eventName) => {
    const own = { project: 'src/Api', 'cache-from': 'type=registry,ref=r/x:c', 'cache-to': 'type=registry,ref=r/x:c,mode=max\ntype=local,dest=/rt/c' }
    const p = planBuild(settings(own), proj, { ...runner, actionsCache: true, cacheWritable: true, eventName, trustedEvent: false }, '/rt/run')
    const argv = buildArgv(p.build)
    expect(argv).not.toContain('--cache-to')
    expect(argv.filter((_a, i) => argv[i - 1] === '--cache-from')).toEqual(['type=registry,ref=r/x:c'])
    expect(p.notes).toEqual([expect.stringMatching(/^cache-to is not exported on a(?: run without GITHUB_EVENT_NAME| \S+ run): a cache built from a pull request's code would be imported by the trusted builds that read it; push and workflow_dispatch runs export it\.$/)])
    // The same inputs on a push export both.
    const push = buildArgv(planBuild(settings(own), proj, { ...runner, actionsCache: true, cacheWritable: true }, '/rt/run').build)
    expect(push.filter((_a, i) => push[i - 1] === '--cache-to')).toEqual(['type=registry,ref=r/x:c,mode=max', 'type=local,dest=/rt/c'])
  })

  it('a build with secrets keeps no NuGet packages in the Actions cache with nuget-cache: auto, and says why once; true keeps them', () => {
    const svc = { ...runner, actionsCache: true }
    const withSecrets: Record<string, string>[] = [{ secrets: 'FEED_TOKEN=abc' }, { 'nuget-config': '/rt/NuGet.config' }]
    for (const secretInput of withSecrets) {
      const p = planBuild(settings({ project: 'src/Api', ...secretInput }), proj, svc, '/rt/run')
      expect(p.nugetMode).toBe('off')
      expect(p.notes).toEqual([expect.stringMatching(/^nuget-cache: auto keeps no NuGet packages in the Actions cache for a build with secrets .*a fork pull request's own workflow included/)])
      const kept = planBuild(settings({ project: 'src/Api', 'nuget-cache': 'true', ...secretInput }), proj, svc, '/rt/run')
      expect(kept.nugetMode).toBe('actions')
      expect(kept.notes).toEqual([])
    }
    // Without secrets, auto keeps them, with no notice.
    expect(planBuild(settings({ project: 'src/Api' }), proj, svc, '/rt/run')).toMatchObject({ nugetMode: 'actions', notes: [] })
  })

  it('cache-mode: min by default (what one app costs the 10 GB, README), max when asked; anything else is an input error', () => {
    const to = (inputs: Record<string, string>): string[] => {
      const argv = buildArgv(planBuild(settings({ project: 'src/Api', ...inputs }), proj, { ...runner, actionsCache: true }, '/rt/run').build)
      return argv.filter((_a, i) => argv[i - 1] === '--cache-to')
    }
    expect(to({})).toEqual([expect.stringMatching(/^type=gha,scope=aot-buildx-src-Api-Api\.csproj-linux-amd64\+linux-arm64,mode=min,ignore-error=true,timeout=2m$/)])
    expect(to({ 'cache-mode': 'max' })).toEqual([expect.stringMatching(/,mode=max,ignore-error=true,timeout=2m$/)])
    expect(() => settings({ project: 'src/Api', 'cache-mode': 'all' })).toThrow(/cache-mode/)
  })

  it('a pull_request run reads the gha cache and does not write it; a push writes it', () => {
    const pr = planBuild(settings({ project: 'src/Api' }), proj, { ...runner, actionsCache: true, cacheWritable: true, eventName: 'pull_request', trustedEvent: false }, '/rt/run')
    const argv = buildArgv(pr.build)
    expect(argv.filter((_a, i) => argv[i - 1] === '--cache-from')).toEqual([expect.stringMatching(/^type=gha,scope=/)])
    expect(argv).not.toContain('--cache-to')
    expect(pr.warnings).toEqual([])
    expect(pr.notes).toEqual([expect.stringMatching(/^Pull request run: the gha cache is read/)])
    const push = buildArgv(planBuild(settings({ project: 'src/Api' }), proj, { ...runner, actionsCache: true, cacheWritable: true }, '/rt/run').build)
    expect(push.filter((_a, i) => push[i - 1] === '--cache-to')).toEqual([expect.stringMatching(/^type=gha,/)])
    // The user's own cache-to is not exported either (the next test).
    const own = buildArgv(planBuild(settings({ project: 'src/Api', 'cache-to': 'type=registry,ref=r/c:1' }), proj, { ...runner, actionsCache: true, eventName: 'pull_request', trustedEvent: false }, '/rt/run').build)
    expect(own).not.toContain('--cache-to')
  })

  it('provenance: build-push-action\'s default with the run as builder id, none when loading', () => {
    const p = planBuild(settings({ project: 'src/Api' }), proj, { ...runner, runId: '77', repositoryPrivate: true }, '/rt/run')
    expect(p.build.provenance).toBe('mode=min,inline-only=true,builder-id=https://github.com/o/r/actions/runs/77/attempts/1')
    expect(planBuild(settings({ project: 'src/Api', load: 'true', tags: 'a:1' }), proj, runner, '/rt/run').build.provenance).toBe('')
  })

  it('push-by-digest: no tag in the build, the repositories to push to instead', () => {
    const p = planBuild(settings({ project: 'src/Api', tags: 'ghcr.io/o/api:1', 'push-by-digest': 'true', platforms: 'linux/arm64' }), proj, runner, '/rt/run')
    expect(p.build.tags).toEqual([])
    expect(p.build.pushByDigest).toEqual(['ghcr.io/o/api'])
    expect(p.build.ociDir).toBe(path.join('/rt/run', 'oci'))
  })
})

describe('planBuild: healthcheck', () => {
  it('a web app gets the HEALTHCHECK and no warning', () => {
    const p = planBuild(settings({ project: 'src/Api', healthcheck: '/healthz' }), proj, runner, '/rt/run')
    expect(p.warnings).toEqual([])
    expect(p.dockerfileText).toContain('CMD ["/usr/local/bin/aot-healthcheck", "/healthz"]')
  })

  it('a console app still gets it (it may serve HTTP without the Web SDK), with a warning that says why it may fail', () => {
    const consoleApp: ProjectRead = { ...proj, facts: { ...proj.facts, isWeb: false, targetName: 'Worker' } }
    const p = planBuild(settings({ project: 'src/Api', healthcheck: '/healthz' }), consoleApp, runner, '/rt/run')
    expect(p.warnings).toEqual([expect.stringContaining('healthcheck: /healthz is set, but Worker is not a web app (its project does not use Microsoft.NET.Sdk.Web)')])
    expect(p.warnings.join('')).toContain('Leave healthcheck empty for an app that serves no HTTP.')
    expect(p.dockerfileText).toContain('HEALTHCHECK ')
  })

  it('no healthcheck: no probe stage, no HEALTHCHECK, no warning for a console app', () => {
    const consoleApp: ProjectRead = { ...proj, facts: { ...proj.facts, isWeb: false } }
    const p = planBuild(settings({ project: 'src/Api' }), consoleApp, runner, '/rt/run')
    expect(p.warnings).toEqual([])
    expect(p.dockerfileText).not.toMatch(/HEALTHCHECK|aot-healthcheck/)
  })
})

describe('planBuild: base images by .NET major and distro', () => {
  const net = (major: number): ProjectRead => ({ ...proj, facts: { ...proj.facts, dotnetMajor: major, targetFramework: `net${major}.0` } })
  const fromLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('FROM '))

  it('.NET 11: resolute SDK and runtime-deps in every stage (no 11.0-noble anywhere), both checked to exist before the build', () => {
    const p = planBuild(settings({ project: 'src/Api' }), net(11), runner, '/rt/run')
    expect(p.sdkImage).toBe('mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot')
    expect(p.runtimeImage).toBe('mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled')
    expect(p.defaultImages).toEqual([p.sdkImage, p.runtimeImage])
    expect(p.dockerfileText).not.toMatch(/noble/)
    expect(fromLines(p.dockerfileText)).toEqual([
      'FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot AS restore',
      'FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot AS toolchain',
      'FROM toolchain AS publish',
      'FROM mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled AS final'
    ])
    // .NET 11's -aot image has no clang or llvm: the toolchain stage asks and installs them.
    expect(p.dockerfileText).toContain('command -v clang >/dev/null || pkgs="$pkgs clang"; \\')
  })

  it('.NET 10 with distro: resolute: both images resolute; the default stays noble', () => {
    const p = planBuild(settings({ project: 'src/Api', distro: 'resolute' }), net(10), runner, '/rt/run')
    expect([p.sdkImage, p.runtimeImage]).toEqual(['mcr.microsoft.com/dotnet/sdk:10.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-resolute-chiseled'])
    const d = planBuild(settings({ project: 'src/Api' }), net(10), runner, '/rt/run')
    expect([d.sdkImage, d.runtimeImage]).toEqual(['mcr.microsoft.com/dotnet/sdk:10.0-noble-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'])
  })

  it('a distro the major lacks: an error naming the input, the value and what .NET 11 accepts, before anything runs', () => {
    expect(() => planBuild(settings({ project: 'src/Api', distro: 'noble' }), net(11), runner, '/rt/run')).toThrow(
      `Input "distro": "noble": .NET 11 has no noble images known to this action (dotnet/dotnet-docker manifest.json and README tag lists at commit 3ed00b6 (2026-08-21)). Accepted: for .NET 11: resolute (empty: resolute, Microsoft's recommended).`
    )
    expect(() => planBuild(settings({ project: 'src/Api', distro: 'alpine' }), net(10), runner, '/rt/run')).toThrow(/^Input "distro": "alpine": Microsoft ships \.NET 10 on alpine, but those images have no apt.*Accepted: for \.NET 10: noble, resolute/)
  })

  it('a malformed distro is refused by the inputs, naming the input', () => {
    expect(() => settings({ project: 'src/Api', distro: 'noble; rm -rf /' })).toThrow(/^Input "distro": "noble; rm -rf \/" is not a distro name\. Accepted: /)
  })

  it('explicit images are not checked, and only the default one of a half-given pair is', () => {
    const both = planBuild(settings({ project: 'src/Api', 'sdk-image': 'mirror.example/sdk:11', 'runtime-image': 'mirror.example/rd:11' }), net(11), runner, '/rt/run')
    expect(both.defaultImages).toEqual([])
    const half = planBuild(settings({ project: 'src/Api', 'sdk-image': 'mirror.example/sdk:11' }), net(11), runner, '/rt/run')
    expect(half.defaultImages).toEqual(['mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled'])
  })

  it('distro with both images given is not read, and says so', () => {
    const p = planBuild(settings({ project: 'src/Api', distro: 'resolute', 'sdk-image': 'r/sdk:10', 'runtime-image': 'r/rd:10' }), net(10), runner, '/rt/run')
    expect([p.sdkImage, p.runtimeImage]).toEqual(['r/sdk:10', 'r/rd:10'])
    expect(p.warnings).toEqual(['distro: resolute is not read: sdk-image and runtime-image are both given.'])
  })

  it('a major the table does not know needs both images named', () => {
    expect(() => planBuild(settings({ project: 'src/Api' }), net(12), runner, '/rt/run')).toThrow(/targets net12\.0, and this action knows no Microsoft image of \.NET 12 \(it knows \.NET 9, 10, 11\): set sdk-image and runtime-image, both of one distro/)
    expect(planBuild(settings({ project: 'src/Api', 'sdk-image': 'r/sdk:12', 'runtime-image': 'r/rd:12' }), net(12), runner, '/rt/run').sdkImage).toBe('r/sdk:12')
  })

  it('.NET 9 warns that it is out of support (since 2026-11-10); .NET 10 does not', () => {
    expect(planBuild(settings({ project: 'src/Api' }), net(9), runner, '/rt/run', '2026-12-06').warnings).toEqual([
      'src/Api/Api.csproj targets net9.0: .NET 9 is out of support since 2026-11-10: Microsoft ships no more fixes for it or its images. Move the project to net10.0 (LTS) or net11.0.'
    ])
    expect(planBuild(settings({ project: 'src/Api' }), net(9), runner, '/rt/run', '2026-11-09').warnings).toEqual([])
    expect(planBuild(settings({ project: 'src/Api' }), net(10), runner, '/rt/run', '2026-12-06').warnings).toEqual([])
  })
})

describe('planBuild: culture data and the runtime image', () => {
  const icu: ProjectRead = { ...proj, facts: { ...proj.facts, invariantGlobalization: false } }

  it('warns when the app needs ICU and runtime-image (or flavor: chiseled) gives an image without it', () => {
    const given = planBuild(settings({ project: 'src/Api', 'runtime-image': 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled' }), icu, runner, '/rt/run')
    expect(given.runtimeImage).toBe('mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled')
    expect(given.warnings).toEqual([expect.stringContaining('Api needs culture data (InvariantGlobalization is false), but the runtime image mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled has no ICU')])
    expect(planBuild(settings({ project: 'src/Api', flavor: 'chiseled' }), icu, runner, '/rt/run').warnings).toEqual([expect.stringContaining('has no ICU')])
  })

  it('says nothing where the image has ICU or the app needs none', () => {
    expect(planBuild(settings({ project: 'src/Api' }), icu, runner, '/rt/run').warnings).toEqual([])
    expect(planBuild(settings({ project: 'src/Api', 'runtime-image': 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra' }), icu, runner, '/rt/run').warnings).toEqual([])
    expect(planBuild(settings({ project: 'src/Api', 'runtime-image': 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled' }), proj, runner, '/rt/run').warnings).toEqual([])
  })
})

describe('planBuild: a versioning tool that reads git history', () => {
  const minver: ProjectRead = { ...proj, versioning: ['minver'] }

  it('the build gets the tool\'s no-git switch, and the warning and summary say the version is the fallback', () => {
    const p = planBuild(settings({ project: 'src/Api' }), minver, runner, '/rt/run')
    expect(p.dockerfileText).toContain('\nENV MSBuildWarningsNotAsErrors=MINVER1001\n')
    expect(p.warnings).toEqual([expect.stringContaining("the binary carries MinVer's default version, 0.0.0-alpha.0")])
    expect(p.versioning).toEqual([{ tool: 'MinVer', text: expect.stringContaining('the fallback') as string }])
  })

  it('the version passed in build-args reaches the build as a build arg and the summary, without a warning', () => {
    const p = planBuild(settings({ project: 'src/Api', 'build-args': 'MinVerVersionOverride=2.3.5' }), minver, runner, '/rt/run')
    expect(p.warnings).toEqual([])
    expect(p.versioning).toEqual([{ tool: 'MinVer', text: expect.stringContaining('from build-args MinVerVersionOverride') as string, value: '2.3.5' }])
    expect(buildArgv(p.build)).toContain('MinVerVersionOverride=2.3.5')
    expect(p.dockerfileText).toContain('\nARG MinVerVersionOverride\n')
  })

  it('a project without such a tool: no ENV, no warning, no version line', () => {
    const p = planBuild(settings({ project: 'src/Api' }), proj, runner, '/rt/run')
    expect(p.dockerfileText).not.toContain('\nENV ')
    expect(p.versioning).toEqual([])
  })
})

describe('the NuGet package cache mount of untrusted builds', () => {
  const ids = (r: Partial<Runner>, runDir = '/rt/run'): string[] => {
    const text = planBuild(settings({ project: 'src/Api' }), proj, { ...runner, trustedEvent: false, ...r }, runDir).dockerfileText
    return [...new Set([...text.matchAll(/--mount=type=cache,id=([^,]+),target=\/root\/\.nuget\/packages/g)].map((m) => m[1] ?? ''))]
  }

  // On a builder that outlives the job, a fork's pull request could plant a package folder (a
  // build/*.targets of its own under an id and version someone uses) that the next pull request
  // from a branch of the repository, which has its secrets, links in its publish step.
  it('is one per pull request: two pull requests never share it, the runs of one do', () => {
    const fork = ids({ eventName: 'pull_request', ref: 'refs/pull/7/merge', runId: '100' })
    const sameRepo = ids({ eventName: 'pull_request', ref: 'refs/pull/8/merge', runId: '101' })
    expect(fork).toEqual(['aot-buildx-nuget-untrusted-pull-request-pr-7'])
    expect(sameRepo).toEqual(['aot-buildx-nuget-untrusted-pull-request-pr-8'])
    expect(ids({ eventName: 'pull_request', ref: 'refs/pull/7/merge', runId: '102' })).toEqual(fork)
    // The number from the event payload (pull_request_target's GITHUB_REF is the base branch).
    expect(ids({ eventName: 'pull_request_target', ref: 'refs/heads/main', pullRequest: 7 })).toEqual(['aot-buildx-nuget-untrusted-pull-request-target-pr-7'])
    // Another event's run of the same pull request (it may have secrets) does not share the fork's pull_request mount.
    expect(ids({ eventName: 'issue_comment', ref: 'refs/heads/main', pullRequest: 7 })).not.toEqual(fork)
  })

  it('is one per run where no pull request is named (schedule, workflow_run from a fork, outside Actions)', () => {
    expect(ids({ eventName: 'schedule', runId: '555' })).toEqual(['aot-buildx-nuget-untrusted-schedule-run-555'])
    expect(ids({ eventName: 'workflow_run', runId: '556' })).not.toEqual(ids({ eventName: 'workflow_run', runId: '557' }))
    expect(ids({ eventName: '', runId: '' }, '/tmp/aot-buildx-Ab12Cd')).toEqual(['aot-buildx-nuget-untrusted-no-event-run-aot-buildx-Ab12Cd'])
  })

  it('trusted events keep their one shared mount', () => {
    expect(ids({ trustedEvent: true, eventName: 'push' })).toEqual(['aot-buildx-nuget'])
    expect(ids({ trustedEvent: true, eventName: 'workflow_dispatch', pullRequest: 7 })).toEqual(['aot-buildx-nuget'])
  })
})

describe('the recipe label: one job per platform labels its image as a two-platform build does', () => {
  it('is the hash of the Dockerfile for both architectures, whichever a job builds', () => {
    const both = planBuild(settings({ project: 'src/Api' }), proj, runner, '/rt/run')
    const reversed = planBuild(settings({ project: 'src/Api', platforms: 'linux/arm64,linux/amd64' }), proj, runner, '/rt/run')
    const amd64 = planBuild(settings({ project: 'src/Api', platforms: 'linux/amd64' }), proj, runner, '/rt/run')
    const arm64 = planBuild(settings({ project: 'src/Api', platforms: 'linux/arm64' }), proj, runner, '/rt/run')
    expect(both.build.dockerfileSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(createHash('sha256').update(both.dockerfileText).digest('hex')).toBe(both.build.dockerfileSha256)
    for (const p of [reversed, amd64, arm64]) expect(p.build.dockerfileSha256).toBe(both.build.dockerfileSha256)
    // The file each job writes is still its own.
    expect(amd64.dockerfileText).not.toBe(both.dockerfileText)
    // Another project's recipe is another.
    expect(planBuild(settings({ project: 'src/Api', configuration: 'Debug' }), proj, runner, '/rt/run').build.dockerfileSha256).not.toBe(both.build.dockerfileSha256)
  })
})
