// The cached-sizes baseline: key and file logic directly, and the @actions/cache wrappers
// against a mocked module (ESM: jest.unstable_mockModule before the dynamic import) that
// behaves like the cache service: save stores the file under a key, restore by prefix
// returns the newest match.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { expect, jest } from '@jest/globals'
import type { SizeSet } from '../../src/size/diff.js'
import { at } from '../helpers.js'

const stored = new Map<string, string>()
const saveCache = jest.fn((paths: string[], key: string): Promise<number> => {
  if (stored.has(key)) return Promise.resolve(-1)
  stored.set(key, fs.readFileSync(at(paths, 0), 'utf8'))
  return Promise.resolve(1)
})
const restoreCache = jest.fn((paths: string[], primaryKey: string, restoreKeys: string[] = []): Promise<string | undefined> => {
  const keys = [...stored.keys()]
  const hit = stored.has(primaryKey) ? primaryKey : restoreKeys.map((p) => keys.filter((k) => k.startsWith(p)).at(-1)).find((k) => k !== undefined)
  const text = hit === undefined ? undefined : stored.get(hit)
  if (hit === undefined || text === undefined) return Promise.resolve(undefined)
  const file = at(paths, 0)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return Promise.resolve(hit)
})
const isFeatureAvailable = jest.fn(() => true)
const warning = jest.fn()
jest.unstable_mockModule('@actions/cache', () => ({ saveCache, restoreCache, isFeatureAvailable }))
jest.unstable_mockModule('@actions/core', () => ({ warning, info: jest.fn(), debug: jest.fn() }))

const b = await import('../../src/size/baseline.js')

const BOTH = ['linux/amd64', 'linux/arm64']
const SIZES: SizeSet = { 'linux/amd64': { compressed: 12_000_000, uncompressed: 30_000_000, appLayer: 4_000_000 }, 'linux/arm64': { compressed: 11_500_000 } }

let tempDir: string
beforeEach(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-baseline-'))
  stored.clear()
  jest.clearAllMocks()
  isFeatureAvailable.mockReturnValue(true)
})
afterEach(() => {
  fs.rmSync(tempDir, { recursive: true, force: true })
})

describe('cache keys', () => {
  it('prefix: project, platforms (any order) and branch', () => {
    expect(b.cacheKeyPrefix('samples/TodoApi', ['linux/arm64', 'linux/amd64'], 'main')).toBe('aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-')
    expect(b.cacheKeyPrefix('samples/TodoApi', BOTH, 'main')).toBe(b.cacheKeyPrefix('samples/TodoApi', ['linux/arm64', 'linux/amd64'], 'main'))
    expect(b.cacheKeyPrefix('Api.csproj', ['linux/arm64'], 'release/v2')).toBe('aot-buildx-sizes-Api.csproj-linux_arm64-release_v2-')
  })

  it('the key is the prefix plus the run id', () => {
    expect(b.cacheKey('samples/TodoApi', BOTH, 'main', '123456')).toBe('aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-123456')
    // A re-run's attempt: the first attempt saved under the run id already.
    expect(b.cacheKey('samples/TodoApi', BOTH, 'main', '123456', '1')).toBe('aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-123456')
    expect(b.cacheKey('samples/TodoApi', BOTH, 'main', '123456', '2')).toBe('aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-123456-2')
    expect(b.cacheKey('samples/TodoApi', BOTH, 'main', '123456', '2').startsWith(b.cacheKeyPrefix('samples/TodoApi', BOTH, 'main'))).toBe(true)
  })

  it("one branch's prefix never matches another branch's, project's or platform set's keys", () => {
    const prefix = b.cacheKeyPrefix('app', BOTH, 'main')
    expect(b.cacheKey('app', BOTH, 'main-old', '1').startsWith(prefix)).toBe(false)
    expect(b.cacheKey('app', BOTH, 'main/x', '1').startsWith(prefix)).toBe(false)
    expect(b.cacheKey('app-x', BOTH, 'main', '1').startsWith(b.cacheKeyPrefix('app', BOTH, 'main'))).toBe(false)
    expect(b.cacheKey('app', BOTH, 'main', '1').startsWith(b.cacheKeyPrefix('app', ['linux/amd64'], 'main'))).toBe(false)
    expect(b.cacheKey('app', BOTH, 'main', '1').startsWith(prefix)).toBe(true)
  })

  it('keys have no commas (the cache rejects them)', () => {
    expect(b.cacheKey('a,b', BOTH, 'x,y', '1')).not.toContain(',')
    expect(b.keyPart('')).toBe('_')
  })

  it('the file depends on project and platforms, not on branch or run', () => {
    expect(b.sizesFile('/rt', 'samples/TodoApi', ['linux/arm64', 'linux/amd64'])).toBe('/rt/aot-buildx-sizes/samples_TodoApi-linux_amd64+linux_arm64.json')
  })
})

describe('stored sizes', () => {
  it('round-trips', () => {
    const text = b.serializeSizes({ project: 'samples/TodoApi', branch: 'main', runId: '42', sha: 'abcdef0123', sizes: SIZES })
    expect(b.parseStoredSizes(text)).toEqual({ version: 1, project: 'samples/TodoApi', branch: 'main', runId: '42', sha: 'abcdef0123', sizes: SIZES })
  })

  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ version: 2, sizes: {} })],
    ['no sizes', JSON.stringify({ version: 1 })],
    ['a negative size', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: -1 } } })],
    ['a fractional size', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: 1.5 } } })],
    ['a string size', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: '1' } } })],
    ['a bad uncompressed size', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: 1, uncompressed: null } } })],
    ['a bad app layer', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: 1, appLayer: '1' } } })],
    ['an app layer larger than the image', JSON.stringify({ version: 1, sizes: { 'linux/amd64': { compressed: 1, appLayer: 2 } } })],
    ['null', 'null']
  ])('%s is no baseline', (_, text) => {
    expect(b.parseStoredSizes(text)).toBeUndefined()
  })

  it('reads a file written before the app layer was kept: its sizes have none, so the diff is not split', () => {
    const old = JSON.stringify({ version: 1, project: 'p', branch: 'main', runId: '1', sha: 'abc', sizes: { 'linux/amd64': { compressed: 5, uncompressed: 9 } } })
    expect(b.parseStoredSizes(old)?.sizes).toEqual({ 'linux/amd64': { compressed: 5, uncompressed: 9 } })
  })

  it('describes where the sizes came from', () => {
    const s = b.parseStoredSizes(b.serializeSizes({ project: 'p', branch: 'main', runId: '42', sha: 'abcdef0123', sizes: SIZES }))
    expect(b.describeStored(s as NonNullable<typeof s>)).toBe('sizes cached from branch main (run 42, commit abcdef0)')
    expect(b.describeStored({ version: 1, project: 'p', branch: 'main', runId: '', sha: '', sizes: {} })).toBe('sizes cached from branch main')
  })

  it('for Markdown, wraps the branch, and shows a run or commit only in its own shape (the file comes from a cache)', () => {
    const s = { version: 1 as const, project: 'p', branch: 'fix/@team', runId: '[x](http://e)', sha: '<img src=x>', sizes: {} }
    expect(b.describeStored(s, (t) => `«${t}»`)).toBe('sizes cached from branch «fix/@team»')
  })
})

describe('cacheRole', () => {
  it.each([
    [{ eventName: 'push', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, { save: 'main' }],
    [{ eventName: 'workflow_dispatch', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, { save: 'main' }],
    [{ eventName: 'push', ref: 'refs/heads/feature', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: 'push', ref: 'refs/tags/v1', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: 'pull_request', ref: 'refs/pull/7/merge', baseRef: 'main', defaultBranch: 'main' }, { restore: 'main' }],
    [{ eventName: 'pull_request_target', ref: 'refs/heads/main', baseRef: 'release/2', defaultBranch: 'main' }, { restore: 'release/2' }],
    // The default branch as GITHUB_REF, but the code built may be a pull request's: nothing saved.
    [{ eventName: 'workflow_run', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: 'issue_comment', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: 'schedule', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: 'merge_group', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, {}],
    [{ eventName: '', ref: 'refs/heads/main', baseRef: '', defaultBranch: 'main' }, {}]
  ])('%j -> %j', (e, want) => {
    expect(b.cacheRole(e)).toEqual(want)
  })
})

describe('saveSizes / restoreSizes with a mocked @actions/cache', () => {
  const save = (branch: string, runId: string, sizes: SizeSet = SIZES): ReturnType<typeof b.saveSizes> =>
    b.saveSizes({ tempDir, project: 'samples/TodoApi', platforms: BOTH, branch, runId, sha: `sha${runId}`, sizes })
  const restore = (branch: string): ReturnType<typeof b.restoreSizes> => b.restoreSizes({ tempDir, project: 'samples/TodoApi', platforms: BOTH, branch })

  it('saves the JSON file under the run key', async () => {
    expect(await save('main', '100')).toEqual({ key: 'aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-100', saved: true })
    const file = b.sizesFile(tempDir, 'samples/TodoApi', BOTH)
    expect(saveCache).toHaveBeenCalledWith([file], 'aot-buildx-sizes-samples_TodoApi-linux_amd64+linux_arm64-main-100')
    expect(b.parseStoredSizes(fs.readFileSync(file, 'utf8'))?.sizes).toEqual(SIZES)
  })

  it('restores the newest sizes of the branch by prefix', async () => {
    await save('main', '100', { 'linux/amd64': { compressed: 1 }, 'linux/arm64': { compressed: 2 } })
    await save('main', '101')
    await save('main-old', '102', { 'linux/amd64': { compressed: 9 }, 'linux/arm64': { compressed: 9 } })
    const got = await restore('main')
    const prefix = b.cacheKeyPrefix('samples/TodoApi', BOTH, 'main')
    expect(restoreCache).toHaveBeenCalledWith([b.sizesFile(tempDir, 'samples/TodoApi', BOTH)], prefix, [prefix])
    expect(got?.key).toBe(`${prefix}101`)
    expect(got?.stored).toMatchObject({ branch: 'main', runId: '101', sha: 'sha101', sizes: SIZES })
  })

  it('no cached sizes is no baseline, and a file left from this job does not pass for one', async () => {
    await save('main', '100')
    expect(fs.existsSync(b.sizesFile(tempDir, 'samples/TodoApi', BOTH))).toBe(true)
    expect(await restore('develop')).toBeUndefined()
  })

  it('a restored file this version cannot read is no baseline', async () => {
    stored.set(`${b.cacheKeyPrefix('samples/TodoApi', BOTH, 'main')}7`, '{"version":99}')
    expect(await restore('main')).toBeUndefined()
  })

  it('a key that exists already is not saved again, without failing', async () => {
    expect((await save('main', '100')).saved).toBe(true)
    expect((await save('main', '100')).saved).toBe(false)
  })

  it('cache service errors are warnings, not failures', async () => {
    saveCache.mockRejectedValueOnce(new Error('Cache service responded with 503'))
    expect((await save('main', '1')).saved).toBe(false)
    restoreCache.mockRejectedValueOnce(new Error('Cache service responded with 503'))
    expect(await restore('main')).toBeUndefined()
    expect(warning.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/^The image sizes were not saved to the Actions cache \(key aot-buildx-sizes-.*-main-1\): the cache service refused it: Cache service responded with 503\. Pull requests compare with the sizes saved before this run\.$/),
      expect.stringMatching(/^Could not restore the baseline sizes from the Actions cache \(aot-buildx-sizes-.*-main-\): Cache service responded with 503$/)
    ])
  })

  it('does nothing without the cache service', async () => {
    isFeatureAvailable.mockReturnValue(false)
    expect(await save('main', '1')).toEqual({ key: expect.stringMatching(/-main-1$/), saved: false })
    expect(await restore('main')).toBeUndefined()
    expect(saveCache).not.toHaveBeenCalled()
    expect(restoreCache).not.toHaveBeenCalled()
  })
})
