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

const KEY_TAKEN = 'an entry with this key exists already (another job saved it first)'

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
  if (/already exists|another job may be creating/i.test(all)) return KEY_TAKEN
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

/** The capture of the call running now: the streams' own write functions, the block, the debug lines. */
let capture: { out: typeof process.stdout.write; heard: string[]; shown: ReturnType<typeof untrustedStream>; debugs: string[] } | undefined
/** Calls run one at a time (the smoke test restores its platforms side by side): each is one capture. */
let queue: Promise<unknown> = Promise.resolve()

function hold(chunk: string | Uint8Array): boolean {
  const c = capture
  if (c === undefined) return true
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
  const kept = text
    .split(/(?<=\n)/)
    .filter((line) => {
      const bare = line.replace(/\r?\n$/, '')
      const message = commandMessage(bare)
      if (message !== undefined) c.heard.push(message)
      else if (/^(Failed to save|Cache save skipped)/.test(line)) c.heard.push(line.trim())
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
 * library's warnings and errors are held and handed to `after` (which prints ours), its debug
 * lines become ours, made inert. Calls wait for each other: one capture, one block at a time,
 * and `after` prints once the block is closed, before the next call starts.
 */
export async function quietly<T>(f: () => Promise<T>, after: (heard: string[], result: T | undefined, error: unknown) => void = () => undefined): Promise<T> {
  const mine = queue.then(async () => {
    // The very functions, to be put back as they were (called with their stream as `this`).
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const out = process.stdout.write
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const err = process.stderr.write
    const sink = setSink((text) => {
      out.call(process.stdout, text)
    })
    const c = { out, heard: [] as string[], shown: untrustedStream(), debugs: [] as string[] }
    capture = c
    process.stdout.write = hold
    process.stderr.write = hold
    let result: T | undefined
    let error: unknown
    try {
      result = await f()
    } catch (e) {
      error = e
    } finally {
      capture = undefined
      process.stdout.write = out
      process.stderr.write = err
      c.shown.end()
      setSink(sink)
    }
    for (const d of c.debugs) core.debug(printable(d))
    after(c.heard, result, error)
    // Rethrown as it came: the caller decides what a failed save or restore means.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (error !== undefined) throw error
    return result as T
  })
  queue = mine.catch(() => undefined)
  return mine
}

/** @actions/cache's restoreCache, its output shown through the untrusted writer (quietly). */
export async function restoreFromActionsCache(paths: string[], key: string, restoreKeys: string[] = [], options?: { lookupOnly?: boolean }): Promise<string | undefined> {
  // Its warnings (a failed download: the run goes on without the entry), as ours.
  return quietly(
    () => (options === undefined ? cache.restoreCache(paths, key, restoreKeys) : cache.restoreCache(paths, key, restoreKeys, options)),
    (heard) => {
      for (const h of heard) core.warning(printable(h))
    }
  )
}

/**
 * Saves paths under key; false (and one warning naming `what`, the reason and `then`, what the
 * next run does without it) when the token cannot write, the service refuses, or the save throws.
 */
export async function saveToActionsCache(paths: string[], key: string, what: string, then: string, token = process.env.ACTIONS_RUNTIME_TOKEN ?? '', options: { sharedKey?: boolean } = {}): Promise<boolean> {
  if (cacheTokenWritable(token) === false) {
    core.warning(saveWarning(what, key, READ_ONLY_TOKEN, then))
    return false
  }
  // The library's own warnings and "Failed to save" lines make the reason of one warning of ours.
  try {
    const id = await quietly(
      () => cache.saveCache(paths, key),
      (heard, result, error) => {
        if (result !== undefined && result !== -1 && error === undefined) return
        const reason = saveRefusal(error === undefined ? heard : [...heard, (error as Error).message])
        // A key every job of a matrix computes alike: one of them saves it, the others find it taken.
        if (options.sharedKey === true && reason === KEY_TAKEN) core.info(`${what} saved by another job already (key ${key}).`)
        else core.warning(saveWarning(what, key, printable(reason), then))
      }
    )
    return id !== -1
  } catch {
    return false
  }
}
