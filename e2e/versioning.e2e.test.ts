// A repository versioned from git history, built with the action's defaults (both platforms,
// the smoke test). The "stamp" fixture takes its version from MinVer and git tags, with
// TreatWarningsAsErrors and MSBuildTreatWarningsAsErrors; the test makes a real git repository
// of a copy and tags it. .git never reaches the builder, so the binary carries MinVer's
// fallback, which the summary and a warning must say; a second build passes the version MinVer
// computes on the runner (the tag's) through build-args, as a workflow would.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { docker, makeFixtureWorkspace, output, REGISTRY, runAction, type ActionRun } from './harness.js'

const RUN = `r${Date.now().toString(36)}`
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const
const LABEL = 'org.opencontainers.image.version'

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], { cwd, encoding: 'utf8' })
}

/** The image's labels, from its config as the registry holds it (the amd64 one). */
function labels(tag: string): Record<string, string> {
  docker(['pull', '--platform', 'linux/amd64', tag])
  return JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', tag]).toString()) as Record<string, string>
}

describe('stamp: versioned by MinVer from git tags, TreatWarningsAsErrors and MSBuildTreatWarningsAsErrors', () => {
  const repo = 'aot-e2e/stamp'
  const tagOf = (n: number): string => `${REGISTRY}/${repo}:${RUN}-${n}`
  // Unique per run, so no version can come from an earlier run's cache.
  const version = `2.${Date.now() % 60000}.0`
  let ws = ''
  let fallback: ActionRun
  let passed: ActionRun | undefined

  beforeAll(() => {
    ws = makeFixtureWorkspace('stamp', 'stamp')
    // A checkout with its history: a release commit tagged v<version>, as a release workflow sees it.
    git(ws, ['init', '-q', '-b', 'main'])
    git(ws, ['add', '-A'])
    git(ws, ['commit', '-q', '-m', 'stamp'])
    git(ws, ['tag', `v${version}`])
    fallback = runAction(ws, { project: 'src/Stamp.Cli', tags: tagOf(0), push: 'true', 'smoke-test': 'true' })
    console.log(`stamp, defaults: ${fallback.seconds.toFixed(1)} s (exit ${fallback.code})`)
    if (fallback.code !== 0) return
    // What MinVer computes on the runner for a tagged commit is the tag's version: passed as a workflow passes it.
    passed = runAction(ws, { project: 'src/Stamp.Cli', tags: tagOf(1), push: 'true', 'smoke-test': 'true', 'build-args': `MinVerVersionOverride=${version}`, labels: `${LABEL}=${version}` })
    console.log(`stamp, version passed in build-args: ${passed.seconds.toFixed(1)} s (exit ${passed.code})`)
  })

  afterAll(() => {
    for (const i of [0, 1]) {
      try {
        docker(['rmi', tagOf(i)])
      } catch {
        // not pulled
      }
    }
  })

  test('the .git folder is a real one with the tag, and the build context never holds it', () => {
    expect(git(ws, ['describe', '--tags']).trim()).toBe(`v${version}`)
    must(fallback, 'the build with the defaults')
    const ignore = fs.readFileSync(path.join(ws, 'Dockerfile.aot.dockerignore'), 'utf8').split('\n')
    expect(ignore.some((l) => /^!.*\.git(\/|$)/.test(l))).toBe(false)
  })

  test('with the defaults both platforms build (MINVER1001 stays a warning under MSBuildTreatWarningsAsErrors) and start', () => {
    must(fallback, 'the build with the defaults')
    expect(fallback.stdout).toContain('warning MINVER1001')
    expect(fallback.stdout).not.toContain('error MINVER1001')
    expect(fs.readFileSync(path.join(ws, 'Dockerfile.aot'), 'utf8')).toContain('\nENV MSBuildWarningsNotAsErrors=MINVER1001\n')
    const smoke = JSON.parse(output(fallback, 'smoke')) as Record<string, { ok: boolean }>
    expect(Object.keys(smoke).sort()).toEqual([...PLATFORMS])
    for (const p of PLATFORMS) expect(smoke[p]?.ok).toBe(true)
  })

  test('the binary carries the fallback the summary and the warning name, and no label claims another version', () => {
    must(fallback, 'the build with the defaults')
    const said = /Version \(MinVer\): the fallback, MinVer's default version, (\S+) \(/.exec(fallback.summary)?.[1]
    expect(said).toBe('0.0.0-alpha.0')
    expect(fallback.summary).toContain('`MinVerVersionOverride=2.3.5`')
    expect(fallback.stdout).toMatch(/::warning::MinVer computes the version from git history, which the container build does not have .*the binary carries MinVer's default version, 0\.0\.0-alpha\.0.*MinVerVersionOverride/)
    for (const p of PLATFORMS) {
      expect(docker(['run', '--rm', '--platform', p, tagOf(0), '--version']).toString().trim()).toBe(said)
      // The library got MinVer from Directory.Build.props too, and fell back the same way.
      expect(docker(['run', '--rm', '--platform', p, tagOf(0)]).toString()).toContain(`core: Stamp.Core ${said ?? ''} (file version 0.0.0.0, prerelease)`)
    }
    expect(labels(tagOf(0))[LABEL]).toBeUndefined()
  })

  test('the version passed in build-args is in both binaries, the label and the summary, without the warning', () => {
    if (passed === undefined) throw new Error('the build with the defaults failed, so the version was not passed')
    must(passed, 'the build with the version passed')
    expect(passed.summary).toContain(`Version (MinVer): \`${version}\`, from build-args MinVerVersionOverride`)
    expect(passed.stdout).not.toContain('::warning::MinVer computes the version')
    expect(passed.stdout).not.toContain('warning MINVER1001')
    for (const p of PLATFORMS) {
      expect(docker(['run', '--rm', '--platform', p, tagOf(1), '--version']).toString().trim()).toBe(version)
      expect(docker(['run', '--rm', '--platform', p, tagOf(1)]).toString()).toContain(`release: stamp ${version} (file version ${version}.0)`)
    }
    expect(labels(tagOf(1))[LABEL]).toBe(version)
  })
})
