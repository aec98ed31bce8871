// Review findings (hostile pull request): each test states what SECURITY.md promises and fails
// on the code as it is today.
import type { Runner } from '../../src/action/env.js'
import { parseInputs } from '../../src/action/inputs.js'
import type { ProjectRead } from '../../src/dotnet/evaluate.js'
import { buildArgv } from '../../src/engine/buildx.js'
import { createBuilderArgv } from '../../src/engine/ownbuilder.js'
import { planBuild } from '../../src/pipeline/plan.js'

const runner: Runner = { workspace: '/ws', tempDir: '/rt', eventName: 'push', trustedEvent: true, runId: '1', job: 'b', ref: 'refs/heads/main', baseRef: '', sha: 'abc', actionsCache: true, cacheWritable: true, summaryFile: true, serverUrl: 'https://github.com', repository: 'o/r', runAttempt: '1', repositoryPrivate: undefined }
const proj: ProjectRead = {
  facts: { projectFile: '/ws/src/Api/Api.csproj', targetName: 'Api', targetFramework: 'net10.0', multiTargeted: false, dotnetMajor: 10, invariantGlobalization: true, isWeb: true, references: [] },
  restoreFiles: ['src/Api/Api.csproj'],
  aboveContext: [],
  itemsOutside: [],
  evaluatedBy: 'dotnet msbuild'
}
const settings = (inputs: Record<string, string>): ReturnType<typeof parseInputs> => parseInputs((n) => inputs[n] ?? '', runner)
const flag = (argv: string[], name: string): string[] => argv.filter((_a, i) => argv[i - 1] === name)

describe('review: caches built from untrusted code are not restored by trusted runs (SECURITY.md)', () => {
  // pull_request_target, workflow_run and issue_comment runs may build a pull request's code and live in the base branch's
  // cache scope, which push runs on that branch read; SECURITY.md counts them as untrusted.
  it.each(['pull_request_target', 'workflow_run', 'issue_comment'])('a %s run with a writable cache token does not export the gha cache into the scope a push run imports', (eventName) => {
    const push = buildArgv(planBuild(settings({ project: 'src/Api' }), proj, runner, '/rt/run').build)
    const untrusted = buildArgv(planBuild(settings({ project: 'src/Api' }), proj, { ...runner, eventName, trustedEvent: false }, '/rt/run').build)
    // Same scope name on both sides: what one writes, the other imports.
    expect(flag(untrusted, '--cache-from')).toEqual(flag(push, '--cache-from'))
    expect(flag(untrusted, '--cache-to')).toEqual([])
  })
})

describe('review: the builder the action creates for untrusted code', () => {
  // Every builder the action creates gets the runner's host network, whatever the event: the
  // repository's MSBuild targets run in its restore/publish RUN steps and reach services bound to
  // the runner's 127.0.0.1, which the smoke test is careful to keep out of reach.
  it('is not on the runner host network unless the workflow asks for it', () => {
    expect(createBuilderArgv('aot-buildx-1', [], '')).not.toContain('network=host')
  })
})

describe('review: one untrusted build cannot write the packages another untrusted build links', () => {
  // All untrusted events share one NuGet cache mount (aot-buildx-nuget-untrusted). On a builder
  // that outlives the job (self-hosted runner, the builder input), a fork's pull request can plant
  // a package folder there (a build/*.targets of its own under an id and version someone uses),
  // and the next pull request from a branch of the repository itself, which GitHub gives the
  // repository's secrets, links it and runs its targets in the publish step where those secrets
  // are mounted.
  it('two pull requests get different package cache mounts', () => {
    const ids = (ref: string, runId: string): string[] => {
      const text = planBuild(settings({ project: 'src/Api' }), proj, { ...runner, eventName: 'pull_request', trustedEvent: false, ref, runId }, '/rt/run').dockerfileText
      return [...text.matchAll(/--mount=type=cache,id=([^,]+),target=\/root\/\.nuget\/packages/g)].map((m) => m[1] ?? '')
    }
    const fork = ids('refs/pull/7/merge', '100')
    const sameRepo = ids('refs/pull/8/merge', '101')
    expect(fork.length).toBeGreaterThan(0)
    for (const id of sameRepo) expect(fork).not.toContain(id)
  })
})
