// The cache import/export faults read from buildx's plain log. The fixtures are real logs of
// Docker 28.5's BuildKit against the cache service stand-in with each fault switched on
// (scripts/cache-service/server.mjs), exported with ignore-error=true: the builds exited 0.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheFaults, cacheFaultWarning } from '../../src/engine/cachelog.js'

const LOGS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'buildx-logs')
const log = (name: string): string => fs.readFileSync(path.join(LOGS, `${name}.txt`), 'utf8')

describe('cacheFaults', () => {
  it('a read-only token: the first create is refused, nothing uploaded', () => {
    expect(cacheFaults(log('gha-read-only'))).toEqual([
      { kind: 'export', target: 'GitHub Actions Cache', error: 'error writing layer blob: failed to reserve cache', layersWritten: 0 }
    ])
  })

  it('429 past the rate limit: one layer uploaded, then BuildKit gave up retrying', () => {
    expect(cacheFaults(log('gha-429'))).toEqual([
      { kind: 'export', target: 'GitHub Actions Cache', error: 'error writing layer blob: maximum timeout reached: resource_exhausted', layersWritten: 1 }
    ])
  })

  it('an entry evicted before its finalize: not_found', () => {
    expect(cacheFaults(log('gha-evicted-before-finalize'))).toEqual([
      { kind: 'export', target: 'GitHub Actions Cache', error: 'error writing layer blob: not_found', layersWritten: 0 }
    ])
  })

  it("the index evicted between lookup and download: the import's Azure error, its code kept", () => {
    const [f, ...more] = cacheFaults(log('gha-import-evicted'))
    expect(more).toEqual([])
    expect(f).toMatchObject({ kind: 'import', layersWritten: 0 })
    expect(f?.target).toMatch(/^gha:\d+$/)
    expect(f?.error).toMatch(/^GET http:\/\/\S+ \(BlobNotFound\)$/)
  })

  it('a clean export and import are no fault', () => {
    const ok = [
      '#3 importing cache manifest from gha:123',
      '#3 DONE 0.0s',
      '#7 exporting to GitHub Actions Cache',
      '#7 preparing build cache for export',
      '#7 writing layer sha256:0a6734ce done',
      '#7 DONE 1.2s'
    ].join('\n')
    expect(cacheFaults(ok)).toEqual([])
  })

  it("a step's own error is not a cache fault; a registry cache export's is", () => {
    const text = ['#9 [build 3/5] RUN false', '#9 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1', '#12 exporting cache to registry', '#12 ERROR: failed to push 127.0.0.1:5000/c:1: unexpected status 500'].join('\n')
    expect(cacheFaults(text)).toEqual([{ kind: 'export', target: 'registry', error: 'failed to push 127.0.0.1:5000/c:1: unexpected status 500', layersWritten: 0 }])
  })

  it('never repeats a signed URL: the query (the signature) is cut', () => {
    const text = ['#3 importing cache manifest from gha:1', '#3 ERROR: GET https://acct.blob.core.windows.net/c/blob?sv=2024&sig=SECRET%3D&se=x', 'ERROR CODE: BlobNotFound'].join('\n')
    const [f] = cacheFaults(text)
    expect(f?.error).toBe('GET https://acct.blob.core.windows.net/c/blob (BlobNotFound)')
    expect(cacheFaultWarning(f as NonNullable<typeof f>)).not.toContain('SECRET')
  })
})

describe('cacheFaultWarning: what was not saved, and why', () => {
  const [readOnly] = cacheFaults(log('gha-read-only'))
  const [limited] = cacheFaults(log('gha-429'))
  const [evicted] = cacheFaults(log('gha-evicted-before-finalize'))
  const [imported] = cacheFaults(log('gha-import-evicted'))

  it.each([
    ['read-only', readOnly, /^The build cache was not saved to GitHub Actions Cache: .*cache token can only read .*pull_request_target.*\(BuildKit: error writing layer blob: failed to reserve cache\)\. .*Nothing was uploaded, not even the cache index/],
    ['429', limited, /^The build cache was not saved to GitHub Actions Cache: .*429 Too Many Requests.*200 cache-entry uploads a minute.*1 layer was uploaded before the error, but not the cache index/],
    ['not_found', evicted, /^The build cache was not saved to GitHub Actions Cache: an entry was evicted while BuildKit wrote it .*10 GB.*\(BuildKit: error writing layer blob: not_found\)/],
    ['import', imported, /^The build cache was not read from gha:\d+: an entry was evicted between its lookup and its download .*this run's export saves a fresh cache\.$/]
  ])('%s', (_name, fault, want) => {
    expect(fault).toBeDefined()
    expect(cacheFaultWarning(fault as NonNullable<typeof fault>)).toMatch(want)
  })
})
