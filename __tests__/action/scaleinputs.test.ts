// Inputs of the scale-out modes: push-by-digest, mode, digests, buildx-version.
import { InputError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'
import { parseInputs, type RunnerEnv, type Settings } from '../../src/action/inputs.js'

const env: RunnerEnv = { workspace: '/ws', tempDir: '/tmp/rt' }
const D1 = `sha256:${'a'.repeat(64)}`
const D2 = `sha256:${'b'.repeat(64)}`

function parse(values: Record<string, string>): Settings {
  return parseInputs((name) => values[name] ?? '', env)
}

function inputError(values: Record<string, string>): InputError {
  const err = thrownBy(() => parse(values), InputError)
  expect(err.message).toMatch(/^Input "[^"]+": .+\. Accepted: .+\.$/s)
  return err
}

describe('mode: merge names the build-only inputs it ignores', () => {
  it('lists those given, and only those', () => {
    const s = parse({ mode: 'merge', tags: 'r/x:1', digests: D1, project: 'Api', 'build-args': 'A=1', 'max-size': '' })
    expect(s.ignoredInputs).toEqual(['project', 'build-args'])
    expect(parse({ mode: 'merge', tags: 'r/x:1', digests: D1 }).ignoredInputs).toEqual([])
    expect(parse({ project: 'Api', 'build-args': 'A=1' }).ignoredInputs).toEqual([])
  })
})

describe('inputs a runner passes at their action.yml default', () => {
  it('are not reported as ignored: configuration Release, flavor auto, push false as a runner passes them', () => {
    const s = parse({ mode: 'merge', tags: 'r/x:1', digests: D1, configuration: 'Release', flavor: 'auto', context: '.', cache: 'auto', 'context-files': 'project' })
    expect(s.ignoredInputs).toEqual([])
    expect(parse({ mode: 'merge', tags: 'r/x:1', digests: D1, configuration: 'Debug' }).ignoredInputs).toEqual(['configuration'])
  })
})

describe('mode: discover', () => {
  it('looks through the workspace by default and reads changed-since', () => {
    const s = parse({ mode: 'discover', 'changed-since': 'origin/main' })
    expect(s.project).toBe('/ws')
    expect(s.changedSince).toBe('origin/main')
    expect(parse({ mode: 'discover', project: 'Shop.slnx' }).project).toBe('/ws/Shop.slnx')
  })

  it('names the build-only inputs it ignores, given away from their defaults', () => {
    expect(parse({ mode: 'discover', tags: 'r/x:1', push: 'false', 'max-size': '10MB' }).ignoredInputs).toEqual(['tags', 'max-size'])
  })

  it('changed-since outside mode: discover, or one git would read as an option, is an input error', () => {
    expect(inputError({ project: 'Api', 'changed-since': 'main' }).message).toContain('only read in mode: discover')
    // Only the leading dash is wrong here: an option, not a revision.
    const e = inputError({ mode: 'discover', 'changed-since': '-p' })
    expect(e.message).toContain('Input "changed-since": "-p" is not a git revision')
    expect(inputError({ mode: 'discover', 'changed-since': '--output=/etc/passwd' }).message).toContain('Input "changed-since"')
  })

  it('an unknown mode names the three accepted', () => {
    expect(inputError({ mode: 'list' }).message).toContain('build, merge, discover')
  })
})

describe('defaults', () => {
  it('build mode, no push by digest, no digests, buildx as installed', () => {
    const s = parse({ project: 'Api' })
    expect(s.mode).toBe('build')
    expect(s.pushByDigest).toBe(false)
    expect(s.digests).toEqual([])
    expect(s.buildxVersion).toBe('')
  })
})

describe('push-by-digest', () => {
  it('one platform and a tag: accepted', () => {
    const s = parse({ project: 'Api', 'push-by-digest': 'true', platforms: 'linux/arm64', tags: 'ghcr.io/o/app:1' })
    expect(s.pushByDigest).toBe(true)
    expect(s.platforms).toEqual(['linux/arm64'])
    expect(s.tags).toEqual(['ghcr.io/o/app:1'])
  })

  it.each<[string, Record<string, string>, string, string]>([
    ['not a boolean', { 'push-by-digest': 'yes', platforms: 'linux/arm64', tags: 'r:1' }, 'push-by-digest', 'Input "push-by-digest": "yes" is not a boolean. Accepted: true or false.'],
    [
      'no tags',
      { 'push-by-digest': 'true', platforms: 'linux/arm64' },
      'push-by-digest',
      'Input "push-by-digest": is true but no tags are given. Accepted: tags naming the repository to push to (their tags are not created: the merge job sets them).'
    ],
    [
      'two platforms (the default)',
      { 'push-by-digest': 'true', tags: 'r:1' },
      'platforms',
      'Input "platforms": push-by-digest builds one platform per job, but 2 are given (linux/amd64, linux/arm64). Accepted: exactly one platform per job, e.g. linux/amd64 in one job and linux/arm64 in another, then a mode: merge job.'
    ],
    [
      'in merge mode',
      { mode: 'merge', 'push-by-digest': 'true', platforms: 'linux/arm64', tags: 'r:1', digests: D1 },
      'push-by-digest',
      'Input "push-by-digest": is true in mode: merge. Accepted: push-by-digest: true in the per-architecture build jobs, and mode: merge (without it) in the job that joins them.'
    ]
  ])('%s', (_name, values, input, message) => {
    const err = inputError({ project: 'Api', ...values })
    expect(err.input).toBe(input)
    expect(err.message).toBe(message)
  })
})

describe('mode: merge', () => {
  it('needs no project; takes bare digests and full references, from lines or commas', () => {
    const s = parse({ mode: 'merge', tags: 'ghcr.io/o/app:1\nghcr.io/o/app:latest', digests: `${D1}\n ghcr.io/o/app@${D2} ,` })
    expect(s.mode).toBe('merge')
    expect(s.project).toBe('')
    expect(s.digests).toEqual([D1, `ghcr.io/o/app@${D2}`])
    expect(s.tags).toEqual(['ghcr.io/o/app:1', 'ghcr.io/o/app:latest'])
  })

  it('a project, when given, is still resolved inside the workspace', () => {
    expect(parse({ mode: 'merge', project: 'src/Api', tags: 'r:1', digests: D1 }).project).toBe('/ws/src/Api')
    expect(inputError({ mode: 'merge', project: '../x', tags: 'r:1', digests: D1 }).input).toBe('project')
  })

  it.each<[string, Record<string, string>, string, string]>([
    ['an unknown mode', { mode: 'bake' }, 'mode', 'Input "mode": "bake" is not a known value. Accepted: build, merge.'],
    ['merge without tags', { mode: 'merge', digests: D1 }, 'tags', 'Input "tags": is required in mode: merge. Accepted: the tags of the multi-platform image the merge creates.'],
    ['merge without digests', { mode: 'merge', tags: 'r:1' }, 'digests', 'Input "digests": is required in mode: merge. Accepted: the digest outputs of the push-by-digest jobs, one per line.'],
    [
      'a short digest',
      { mode: 'merge', tags: 'r:1', digests: 'sha256:abc' },
      'digests',
      'Input "digests": "sha256:abc" is not an image digest. Accepted: sha256:<64 hex digits> (the digest output of a push-by-digest job), or a reference such as ghcr.io/o/app@sha256:<64 hex digits>.'
    ],
    ['a tag instead of a digest', { mode: 'merge', tags: 'r:1', digests: 'ghcr.io/o/app:1' }, 'digests', 'Input "digests": "ghcr.io/o/app:1" is not an image digest.'],
    ['a digest twice', { mode: 'merge', tags: 'r:1', digests: `${D1}\n${D1}` }, 'digests', `Input "digests": "${D1}" is listed twice. Accepted: each platform job's digest once.`],
    ['digests in build mode', { project: 'Api', digests: D1 }, 'digests', 'Input "digests": is only read in mode: merge. Accepted: empty here, or mode: merge.']
  ])('%s', (_name, values, input, message) => {
    const err = inputError(values)
    expect(err.input).toBe(input)
    expect(err.message.startsWith(message.replace(/\.$/, ''))).toBe(true)
  })

  it('build mode still requires a project', () => {
    expect(inputError({}).input).toBe('project')
  })
})

describe('buildx-version', () => {
  it.each([
    ['v0.21.2', 'v0.21.2'],
    ['0.21.2', 'v0.21.2'],
    [' v0.13.0 ', 'v0.13.0'],
    ['', '']
  ])('%j -> %j', (raw, version) => {
    expect(parse({ project: 'Api', 'buildx-version': raw }).buildxVersion).toBe(version)
  })

  it.each([
    ['latest', 'Input "buildx-version": "latest" is not a buildx release. Accepted: a release tag such as v0.21.2, or empty to use the installed buildx.'],
    ['v0.21', 'Input "buildx-version": "v0.21" is not a buildx release.'],
    ['v0.21.2; rm -rf /', 'Input "buildx-version": "v0.21.2; rm -rf /" is not a buildx release.'],
    ['v0.12.1', 'Input "buildx-version": buildx 0.12.1 is older than 0.13.0, the oldest this action runs. Accepted: a release from v0.13.0 on, such as v0.21.2.']
  ])('%j is refused', (raw, message) => {
    const err = inputError({ project: 'Api', 'buildx-version': raw })
    expect(err.input).toBe('buildx-version')
    expect(err.message.startsWith(message.replace(/\.$/, ''))).toBe(true)
  })
})
