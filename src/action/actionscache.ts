// Saves to GitHub's Actions cache that never fail a build: whether this run's cache token may
// write at all, and @actions/cache saves whose refusals (a read-only token, 429, a key taken)
// end as one warning of ours that says what was not saved and why. @actions/cache reports a
// refusal in its own words, some as warnings, some as info, a 429 twice; those lines are held
// back while it runs and become the reason in that one warning.
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { cacheTokenWritable, READ_ONLY_TOKEN } from './env.js'
import { printable } from '../util/errors.js'
import { setSink, untrustedStream } from '../util/untrusted.js'

/** Why a save was refused, from what @actions/cache said about it. Pure. */
export function saveRefusal(heard: string[]): string {
  const all = heard.join('\n')
  if (/rate limit|too many requests|\b429\b/i.test(all)) {
    const reset = /reset in (\d+) seconds/.exec(all)?.[1]
    return `the cache service answered 429 Too Many Requests (GitHub allows 200 cache-entry uploads a minute per repository${reset !== undefined ? `; it named ${reset} s to wait` : ''})`
  }
  if (/cache write denied/i.test(all)) return READ_ONLY_TOKEN
  if (/cache-mode '?\w*'? does not permit writes/i.test(all)) return "the job's cache-mode does not permit writes"
  if (/insufficient usage|quota has been hit/i.test(all)) return "the repository's cache storage is used up"
  if (/already exists|another job may be creating/i.test(all)) return 'an entry with this key exists already (another job saved it first)'
  const last = heard.filter((h) => h.trim() !== '').at(-1)
  return last !== undefined ? `the cache service refused it: ${last.replace(/^Failed to save: /, '')}` : 'the cache service refused it'
}

export function saveWarning(what: string, key: string, reason: string, then: string): string {
  return `${what} not saved to the Actions cache (key ${key}): ${reason}. ${then}`
}

/** A workflow command's message part, unescaped as the runner reads it. */
function commandMessage(line: string): string | undefined {
  const m = /^::(?:warning|error|notice)(?: [^:]*)?::(.*)$/.exec(line)
  return m?.[1]?.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%')
}

/** What the calls running now hear: lines the library printed as warnings or errors. */
const listeners = new Set<string[]>()
/** The one capture all overlapping calls share (the smoke test restores its platforms at once). */
let capture: { out: typeof process.stdout.write; err: typeof process.stderr.write; sink: (text: string) => void; shown: ReturnType<typeof untrustedStream>; debugs: string[] } | undefined

function currentCapture(): typeof capture {
  return capture
}

function hold(chunk: string | Uint8Array): boolean {
  const c = capture
  if (c === undefined) return true
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
  const kept = text
    .split(/(?<=\n)/)
    .filter((line) => {
      const bare = line.replace(/\r?\n$/, '')
      const message = commandMessage(bare)
      const heard = message ?? (/^(Failed to save|Cache save skipped)/.test(line) ? line.trim() : undefined)
      if (heard !== undefined) for (const l of listeners) l.push(heard)
      const debug = /^::debug::(.*)$/.exec(bare)?.[1]
      if (debug !== undefined) c.debugs.push(debug.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'))
      return message === undefined && debug === undefined
    })
    .join('')
  if (kept !== '') c.shown.write(kept)
  return true
}

/**
 * Runs an @actions/cache call with everything it prints (its own lines and those of the tar it
 * runs, on stdout and stderr) shown through the untrusted writer: tar names the files it
 * archives (with step debug on, each one; in an error, the one it failed on), and a package
 * folder written by a pull request's restore can be named like a workflow command. The
 * library's warnings and errors are held in `heard` (the caller turns them into its own
 * warning), its debug lines become ours, made inert. Calls may overlap: the first one in
 * installs the capture, the last one out removes it.
 */
export async function quietly<T>(f: () => Promise<T>, heard: string[] = []): Promise<T> {
  if (capture === undefined) {
    // The very functions, to be put back as they were (called with their stream as `this`).
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const out = process.stdout.write
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const err = process.stderr.write
    const sink = setSink((text) => {
      out.call(process.stdout, text)
    })
    capture = { out, err, sink, shown: untrustedStream(), debugs: [] }
    process.stdout.write = hold
    process.stderr.write = hold
  }
  listeners.add(heard)
  try {
    return await f()
  } finally {
    listeners.delete(heard)
    // Read again: another call may have ended the capture while this one awaited.
    const c = currentCapture()
    if (listeners.size === 0 && c !== undefined) {
      capture = undefined
      process.stdout.write = c.out
      process.stderr.write = c.err
      c.shown.end()
      setSink(c.sink)
      for (const d of c.debugs) core.debug(printable(d))
    }
  }
}

/** @actions/cache's restoreCache, its output shown through the untrusted writer (quietly). */
export async function restoreFromActionsCache(paths: string[], key: string, restoreKeys: string[] = [], options?: { lookupOnly?: boolean }): Promise<string | undefined> {
  const heard: string[] = []
  try {
    return await quietly(() => (options === undefined ? cache.restoreCache(paths, key, restoreKeys) : cache.restoreCache(paths, key, restoreKeys, options)), heard)
  } finally {
    // Its warnings (a failed download: the run goes on without the entry), as ours.
    for (const h of heard) core.warning(printable(h))
  }
}

/**
 * Saves paths under key; false (and one warning naming `what`, the reason and `then`, what the
 * next run does without it) when the token cannot write, the service refuses, or the save throws.
 */
export async function saveToActionsCache(paths: string[], key: string, what: string, then: string, token = process.env.ACTIONS_RUNTIME_TOKEN ?? ''): Promise<boolean> {
  if (cacheTokenWritable(token) === false) {
    core.warning(saveWarning(what, key, READ_ONLY_TOKEN, then))
    return false
  }
  // The library's own warnings and "Failed to save" lines are held for the one warning below.
  const heard: string[] = []
  let id = -1
  try {
    id = await quietly(() => cache.saveCache(paths, key), heard)
  } catch (e) {
    heard.push((e as Error).message)
  }
  if (id !== -1) return true
  core.warning(saveWarning(what, key, saveRefusal(heard), then))
  return false
}
