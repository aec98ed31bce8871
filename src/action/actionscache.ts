// Saves to GitHub's Actions cache that never fail a build: whether this run's cache token may
// write at all, and @actions/cache saves whose refusals (a read-only token, 429, a key taken)
// end as one warning of ours that says what was not saved and why. @actions/cache reports a
// refusal in its own words, some as warnings, some as info, a 429 twice; those lines are held
// back while it runs and become the reason in that one warning.
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { cacheTokenWritable, READ_ONLY_TOKEN } from './env.js'

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

/**
 * Saves paths under key; false (and one warning naming `what`, the reason and `then`, what the
 * next run does without it) when the token cannot write, the service refuses, or the save throws.
 */
export async function saveToActionsCache(paths: string[], key: string, what: string, then: string, token = process.env.ACTIONS_RUNTIME_TOKEN ?? ''): Promise<boolean> {
  if (cacheTokenWritable(token) === false) {
    core.warning(saveWarning(what, key, READ_ONLY_TOKEN, then))
    return false
  }
  const heard: string[] = []
  // The very function, to be put back as it was (it is called with process.stdout as `this`).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = process.stdout.write
  // The library's own warnings and "Failed to save" lines are held for the one warning below.
  const hold = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const kept = text
      .split(/(?<=\n)/)
      .filter((line) => {
        const message = commandMessage(line.replace(/\r?\n$/, ''))
        if (message !== undefined) heard.push(message)
        else if (/^(Failed to save|Cache save skipped)/.test(line)) heard.push(line.trim())
        return message === undefined
      })
      .join('')
    return kept === '' || (write as (c: string, ...r: unknown[]) => boolean).call(process.stdout, kept, ...rest)
  }
  let id = -1
  process.stdout.write = hold
  try {
    id = await cache.saveCache(paths, key)
  } catch (e) {
    heard.push((e as Error).message)
  } finally {
    process.stdout.write = write
  }
  if (id !== -1) return true
  core.warning(saveWarning(what, key, saveRefusal(heard), then))
  return false
}
