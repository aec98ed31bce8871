import * as path from 'node:path'
import type { Runner } from '../../src/action/env.js'
import { parseInputs } from '../../src/action/inputs.js'
import type { ProjectRead } from '../../src/dotnet/evaluate.js'
import { planBuild } from '../../src/pipeline/plan.js'
import { buildArgv } from '../../src/engine/buildx.js'

const runner: Runner = { workspace: '/ws', tempDir: '/rt', eventName: 'push', runId: '1', job: 'b', ref: 'refs/heads/main', baseRef: '', sha: 'abc', actionsCache: false, summaryFile: true, serverUrl: 'https://github.com', repository: 'o/r', runAttempt: '1', repositoryPrivate: undefined }
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
