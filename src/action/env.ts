// The runner's environment: the one place that reads process.env for runner facts, so the
// pipeline takes them as a value (and tests pass their own).
import * as os from 'node:os'

export interface Runner {
  workspace: string
  tempDir: string
  /** GITHUB_EVENT_NAME: push, pull_request, pull_request_target, ... ('' outside Actions). */
  eventName: string
  /** isTrustedEvent(eventName): what this run builds may be kept for later runs to use. */
  trustedEvent: boolean
  runId: string
  /** GITHUB_RUN_ATTEMPT: 1 for the first run, more for re-runs ('' outside Actions). */
  runAttempt: string
  job: string
  ref: string
  baseRef: string
  sha: string
  /** GITHUB_SERVER_URL, e.g. https://github.com; unvalidated: check its shape before it goes into a link. */
  serverUrl: string
  /** GITHUB_REPOSITORY, owner/name; unvalidated like serverUrl. */
  repository: string
  /** Whether GitHub's Actions cache service is reachable (BuildKit's gha cache, @actions/cache). */
  actionsCache: boolean
  /** Whether the cache token can write a scope (false: a read-only token); undefined when it does not say. */
  cacheWritable?: boolean
  /** A job summary file exists and DOCKER_BUILD_SUMMARY is not false (as for Docker's actions). */
  summaryFile: boolean
  /** The repository's visibility from the event payload; undefined when the payload does not say. */
  repositoryPrivate: boolean | undefined
  /** The pull request's number from the event payload (pull_request*, issue_comment on one); undefined when there is none. */
  pullRequest?: number
}

// Shapes, not escaping: a value that does not look like one is left out, never rendered.
const SERVER = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?\/?$/
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/
const RUN_NUMBER = /^[1-9]\d{0,19}$/

/** The run's page (links, provenance's builder id), or '' when a fact has an unexpected shape (then no link is made). */
export function runUrl(f: Pick<Runner, 'serverUrl' | 'repository' | 'runId' | 'runAttempt'>): string {
  const repo = f.repository.split('/')[1] ?? ''
  if (!SERVER.test(f.serverUrl) || !REPOSITORY.test(f.repository) || repo === '.' || repo === '..' || !RUN_NUMBER.test(f.runId)) return ''
  const attempt = RUN_NUMBER.test(f.runAttempt) ? `/attempts/${f.runAttempt}` : ''
  return `${f.serverUrl.replace(/\/$/, '')}/${f.repository}/actions/runs/${f.runId}${attempt}`
}

/**
 * The Actions cache service: v2 (ACTIONS_RESULTS_URL) or v1 (ACTIONS_CACHE_URL), and the token
 * both BuildKit and @actions/cache authenticate with. One check for every caller.
 */
export function actionsCacheAvailable(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL) && Boolean(env.ACTIONS_RUNTIME_TOKEN)
}

/**
 * Events whose code only someone with write access chose: a push, or a run started by hand.
 * Every other event (pull_request*, workflow_run, issue_comment, reviews, schedule,
 * merge_group, ..., and none at all outside Actions) may build code from a pull request, so
 * nothing it builds is kept where a trusted run would read it (packages, size baselines), and
 * its NuGet package cache mount is a separate one.
 */
const TRUSTED_EVENTS = new Set(['push', 'workflow_dispatch'])

export function isTrustedEvent(eventName: string): boolean {
  return TRUSTED_EVENTS.has(eventName)
}

/**
 * Whether an ACTIONS_RUNTIME_TOKEN can write any cache scope, from its `ac` claim as BuildKit
 * reads it ({Scope, Permission}, 2 = write); undefined when the token does not say. The claim is
 * read, not verified: only the service can verify it, and it refuses what the claim refuses.
 */
export function cacheTokenWritable(token: string): boolean | undefined {
  const body = token.split('.')[1]
  if (body === undefined || body === '') return undefined
  try {
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { ac?: unknown }
    const ac = typeof claims.ac === 'string' ? (JSON.parse(claims.ac) as unknown) : undefined
    if (!Array.isArray(ac) || ac.length === 0) return undefined
    return ac.some((s) => typeof (s as { Permission?: unknown }).Permission === 'number' && ((s as { Permission: number }).Permission & 2) !== 0)
  } catch {
    return undefined
  }
}

/** Why a read-only token saves nothing, in the words of every warning that says so. */
export const READ_ONLY_TOKEN =
  "this run's cache token can only read (GitHub gives read-only cache tokens to pull_request_target, issue_comment and fork workflow_run runs)"

export function runnerFrom(env: NodeJS.ProcessEnv, cwd: string, payload: Record<string, unknown> = {}): Runner {
  const visibility = (payload.repository as { private?: unknown } | undefined)?.private
  return {
    workspace: env.GITHUB_WORKSPACE || cwd,
    tempDir: env.RUNNER_TEMP || os.tmpdir(),
    eventName: env.GITHUB_EVENT_NAME ?? '',
    trustedEvent: isTrustedEvent(env.GITHUB_EVENT_NAME ?? ''),
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
    job: env.GITHUB_JOB ?? '',
    ref: env.GITHUB_REF ?? '',
    baseRef: env.GITHUB_BASE_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    serverUrl: env.GITHUB_SERVER_URL ?? '',
    repository: env.GITHUB_REPOSITORY ?? '',
    actionsCache: actionsCacheAvailable(env),
    cacheWritable: cacheTokenWritable(env.ACTIONS_RUNTIME_TOKEN ?? ''),
    summaryFile: Boolean(env.GITHUB_STEP_SUMMARY) && (env.DOCKER_BUILD_SUMMARY ?? '').trim().toLowerCase() !== 'false',
    repositoryPrivate: typeof visibility === 'boolean' ? visibility : undefined,
    pullRequest: pullRequestNumber(payload)
  }
}

/** pull_request*: pull_request.number; issue_comment on a pull request: issue.number. */
export function pullRequestNumber(payload: Record<string, unknown>): number | undefined {
  const pr = payload.pull_request as { number?: unknown } | undefined
  const issue = payload.issue as { number?: unknown; pull_request?: unknown } | undefined
  const n = pr?.number ?? (issue?.pull_request !== undefined ? issue.number : undefined)
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined
}
