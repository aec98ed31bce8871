// Saves to the Actions cache end as one warning each when refused: @actions/cache is mocked to
// say what its 6.x code says for each refusal (through the real @actions/core, so its warnings
// are workflow commands on stdout), and the test counts the warning commands the runner sees.
import { expect, jest } from '@jest/globals'
import * as core from '@actions/core'
import { cacheTokenWritable } from '../../src/action/env.js'
import { liveCommands, readAsRunner } from '../runnerlog.js'
import { HOSTILE, MARK } from '../util/hostile.js'

type Save = (paths: string[], key: string) => Promise<number>
type Restore = (paths: string[], key: string, restoreKeys?: string[]) => Promise<string | undefined>
const saveCache = jest.fn<Save>()
const restoreCache = jest.fn<Restore>()
jest.unstable_mockModule('@actions/cache', () => ({ saveCache, restoreCache }))
const { restoreFromActionsCache, saveToActionsCache, saveRefusal } = await import('../../src/action/actionscache.js')

/** A token whose `ac` claim lists these permissions (1 read, 2 write, 3 both); unsigned, as only the service checks. */
function token(...permissions: number[]): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const ac = JSON.stringify(permissions.map((p, i) => ({ Scope: `refs/heads/b${i}`, Permission: p })))
  return `${b64({ alg: 'HS256' })}.${b64({ ac, exp: 0 })}.sig`
}

let out: string[] = []
let restore: () => void = () => undefined
beforeEach(() => {
  out = []
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk))
    return true
  })
  restore = () => {
    spy.mockRestore()
  }
  saveCache.mockReset()
})
afterEach(() => {
  restore()
})
const warnings = (): string[] => out.join('').split('\n').filter((l) => l.startsWith('::warning'))

describe('cacheTokenWritable', () => {
  it.each([
    [token(3), true],
    [token(1, 2), true],
    [token(1), false],
    [token(1, 1), false],
    [token(), undefined],
    ['', undefined],
    ['not.a-jwt.at-all', undefined]
  ])('%s -> %s', (t, want) => {
    expect(cacheTokenWritable(t)).toBe(want)
  })
})

describe('saveToActionsCache: one warning per refused save, never a failure', () => {
  const save = (t: string): Promise<boolean> => saveToActionsCache(['/rt/x'], 'k-1', 'The NuGet packages were', 'The next run downloads them.', t)

  it('saved: no warning', async () => {
    saveCache.mockResolvedValue(7)
    expect(await save(token(3))).toBe(true)
    expect(warnings()).toEqual([])
  })

  it('a read-only token: not even tried, one warning', async () => {
    expect(await save(token(1))).toBe(false)
    expect(saveCache).not.toHaveBeenCalled()
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::The NuGet packages were not saved to the Actions cache \(key k-1\): this run's cache token can only read .*pull_request_target.*\. The next run downloads them\.$/)])
  })

  it("the service's write denial (200, ok false, 'cache write denied:'): the library's warning becomes ours", async () => {
    saveCache.mockImplementation(() => {
      core.warning('Failed to save: Unable to reserve cache with key k-1. More details: cache write denied: token has no writable scopes')
      return Promise.resolve(-1)
    })
    expect(await save('')).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::The NuGet packages were not saved .*: this run's cache token can only read/)])
  })

  it('429 with Retry-After: the library warns once and says "another job" in an info line; one warning of ours', async () => {
    saveCache.mockImplementation(() => {
      core.warning("You've hit a rate limit, your rate limit will reset in 60 seconds")
      core.info('Failed to save: Unable to reserve cache with key k-1, another job may be creating this cache.')
      return Promise.resolve(-1)
    })
    expect(await save(token(3))).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::.*not saved .*: the cache service answered 429 Too Many Requests \(GitHub allows 200 cache-entry uploads a minute per repository; it named 60 s to wait\)\./)])
  })

  it('ReserveCacheError (the key exists): the library only informs; one warning', async () => {
    saveCache.mockImplementation(() => {
      core.info('Failed to save: Unable to reserve cache with key k-1, another job may be creating this cache.')
      return Promise.resolve(-1)
    })
    expect(await save(token(3))).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/an entry with this key exists already/)])
  })

  it('a throw (e.g. an archive that cannot be made) is one warning too', async () => {
    saveCache.mockRejectedValue(new Error('Path Validation Error: Path(s) specified in the action for caching do(es) not exist'))
    expect(await save(token(3))).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/the cache service refused it: Path Validation Error/)])
  })

  it('stdout is given back, and lines that are not warnings pass through', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared, never called
    const write = process.stdout.write
    saveCache.mockImplementation(() => {
      core.info('Cache Size: ~1 MB (1048576 B)')
      return Promise.resolve(3)
    })
    await save(token(3))
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared, never called
    expect(process.stdout.write).toBe(write)
    expect(out.join('')).toContain('Cache Size: ~1 MB (1048576 B)')
  })
})

describe('saveRefusal', () => {
  it.each([
    [["Cache save skipped: the effective cache-mode 'read' does not permit writes."], /cache-mode does not permit writes/],
    [['Failed to CreateCacheEntry: Received non-retryable error: Failed request: (403) Forbidden: insufficient usage'], /cache storage is used up/],
    [[], /^the cache service refused it$/]
  ])('%j', (heard, want) => {
    expect(saveRefusal(heard)).toMatch(want)
  })
})

describe('what @actions/cache and its tar print reaches the log through the untrusted writer', () => {
  // tar names the files it archives (every one with step debug on; in an error, the one it failed
  // on), and a pull request's restore can name a package folder like a workflow command.
  const noisy = (): void => {
    process.stdout.write(`[command]/usr/bin/tar --posix -cf cache.tzst -P -C /rt --files-from manifest.txt\n${HOSTILE}\n`)
    process.stderr.write(`/usr/bin/tar: /rt/packages/x##[set-output name=pwn;]${MARK}: Cannot open: Permission denied\n::save-state name=docker-config::/tmp/${MARK}\n`)
    process.stdout.write('::debug::Cache Size: ~1 MB\n')
  }
  // What the runner still reads: only debug lines and warnings of ours, whose values hold no
  // command (what the library said, and text tar printed at a line's start, made inert).
  const expectOnlyInert = (log: string): void => {
    for (const c of liveCommands(log)) {
      expect(c.line).toMatch(/^::(debug|warning)::/)
      const value = c.line.replace(/^::(debug|warning)::/, '')
      expect(value).not.toMatch(/::|##\[/)
    }
    expect(liveCommands(log).map((c) => c.name)).not.toContain('set-output')
    expect(readAsRunner(log).stoppedAtEnd).toBeUndefined()
  }
  let err: string[] = []
  let restoreErr: () => void = () => undefined
  beforeEach(() => {
    err = []
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk))
      return true
    })
    restoreErr = () => {
      spy.mockRestore()
    }
  })
  afterEach(() => {
    restoreErr()
  })

  it('a save: no command survives, on stdout or stderr; the text is shown; our one warning is still read', async () => {
    saveCache.mockImplementation(() => {
      noisy()
      return Promise.resolve(-1)
    })
    expect(await saveToActionsCache(['/rt/x'], 'k-1', 'The NuGet packages were', 'The next run downloads them.', token(3))).toBe(false)
    const log = out.join('') + err.join('')
    expect(err.join('')).toBe('')
    expectOnlyInert(log)
    expect(liveCommands(log).filter((c) => c.name === 'warning')).toHaveLength(1)
    expect(readAsRunner(log).shown.join('\n')).toContain(`x##[set-output name=pwn;]${MARK}: Cannot open`)
  })

  it('two restores at once (the smoke test restores its platforms side by side): one after the other, each its own closed block; the streams put back; our own lines read after', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const before = [process.stdout.write, process.stderr.write]
    const started: string[] = []
    const gates: (() => void)[] = []
    restoreCache.mockImplementation(
      (paths) =>
        new Promise((resolve) => {
          started.push(paths[0] ?? '')
          noisy()
          process.stdout.write('Cache hit for: k-1\n')
          gates.push(() => {
            resolve('k-1')
          })
        })
    )
    const first = restoreFromActionsCache(['/rt/a'], 'k-1')
    const second = restoreFromActionsCache(['/rt/b'], 'k-1')
    await new Promise((r) => setImmediate(r))
    // The second waits for the first: never two captures at once.
    expect(started).toEqual(['/rt/a'])
    gates[0]?.()
    expect(await first).toBe('k-1')
    await new Promise((r) => setImmediate(r))
    expect(started).toEqual(['/rt/a', '/rt/b'])
    gates[1]?.()
    expect(await second).toBe('k-1')
    // eslint-disable-next-line @typescript-eslint/unbound-method
    expect([process.stdout.write, process.stderr.write]).toEqual(before)
    core.warning('ours')
    const log = out.join('') + err.join('')
    const marks = [...log.matchAll(/^::(?:stop-commands::([0-9a-f-]{36})|([0-9a-f-]{36})::)$/gm)].map((m) => (m[1] !== undefined ? 'stop' : 'resume'))
    expect(marks).toEqual(['stop', 'resume', 'stop', 'resume'])
    expectOnlyInert(log)
    expect(liveCommands(log).map((c) => c.line)).toContain('::warning::ours')
    expect(readAsRunner(log).shown.join('\n').match(/Cache hit for: k-1/g)).toHaveLength(2)
  })

  it('two overlapping restores that each fail: one warning each, not heard again by the other', async () => {
    const gates: (() => void)[] = []
    restoreCache.mockImplementation(
      () =>
        new Promise((resolve) => {
          process.stdout.write(`::warning::Failed to restore: Cache service responded with 503\n`)
          gates.push(() => {
            resolve(undefined)
          })
        })
    )
    const first = restoreFromActionsCache(['/rt/a'], 'k-1')
    const second = restoreFromActionsCache(['/rt/b'], 'k-2')
    await new Promise((r) => setImmediate(r))
    gates[0]?.()
    await first
    gates[1]?.()
    await second
    const log = out.join('') + err.join('')
    expect(liveCommands(log).filter((c) => c.name === 'warning').map((c) => c.line)).toEqual([
      '::warning::Failed to restore: Cache service responded with 503',
      '::warning::Failed to restore: Cache service responded with 503'
    ])
  })

  it("a restore likewise; the library's debug lines become ours, inert", async () => {
    restoreCache.mockImplementation(() => {
      noisy()
      return Promise.resolve('k-1')
    })
    expect(await restoreFromActionsCache(['/rt/x'], 'k-1')).toBe('k-1')
    const log = out.join('') + err.join('')
    expectOnlyInert(log)
    expect(liveCommands(log).map((c) => c.line)).toContain('::debug::Cache Size: ~1 MB')
    expect(readAsRunner(log).shown.join('\n')).toContain(`::save-state name=docker-config::/tmp/${MARK}`)
  })
})
