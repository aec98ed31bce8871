// The runner's environment: the one place that reads process.env for runner facts, so the
// pipeline takes them as a value (and tests pass their own).
import * as os from 'node:os'

export interface Runner {
  workspace: string
  tempDir: string
  /** GITHUB_EVENT_NAME: push, pull_request, pull_request_target, ... ('' outside Actions). */
  eventName: string
  runId: string
  job: string
  ref: string
  baseRef: string
  sha: string
  /** Whether GitHub's Actions cache service is reachable (BuildKit's gha cache, @actions/cache). */
  actionsCache: boolean
  /** A job summary file exists and DOCKER_BUILD_SUMMARY is not false (as for Docker's actions). */
  summaryFile: boolean
  /** GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ATTEMPT ('' outside Actions). */
  serverUrl: string
  repository: string
  runAttempt: string
  /** The repository's visibility from the event payload; undefined when the payload does not say. */
  repositoryPrivate: boolean | undefined
}

/** The run as a URL (provenance's builder id, links), or '' when the facts are missing or odd. */
export function runUrl(r: Pick<Runner, 'serverUrl' | 'repository' | 'runId' | 'runAttempt'>): string {
  if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(r.serverUrl) || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(r.repository) || !/^\d+$/.test(r.runId)) return ''
  return `${r.serverUrl}/${r.repository}/actions/runs/${r.runId}${/^\d+$/.test(r.runAttempt) ? `/attempts/${r.runAttempt}` : ''}`
}

/**
 * The Actions cache service: v2 (ACTIONS_RESULTS_URL) or v1 (ACTIONS_CACHE_URL), and the token
 * both BuildKit and @actions/cache authenticate with. One check for every caller.
 */
export function actionsCacheAvailable(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL) && Boolean(env.ACTIONS_RUNTIME_TOKEN)
}

export function runnerFrom(env: NodeJS.ProcessEnv, cwd: string, payload: Record<string, unknown> = {}): Runner {
  const visibility = (payload.repository as { private?: unknown } | undefined)?.private
  return {
    workspace: env.GITHUB_WORKSPACE || cwd,
    tempDir: env.RUNNER_TEMP || os.tmpdir(),
    eventName: env.GITHUB_EVENT_NAME ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    job: env.GITHUB_JOB ?? '',
    ref: env.GITHUB_REF ?? '',
    baseRef: env.GITHUB_BASE_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    actionsCache: actionsCacheAvailable(env),
    summaryFile: Boolean(env.GITHUB_STEP_SUMMARY) && (env.DOCKER_BUILD_SUMMARY ?? '').trim().toLowerCase() !== 'false',
    serverUrl: (env.GITHUB_SERVER_URL ?? '').replace(/\/+$/, ''),
    repository: env.GITHUB_REPOSITORY ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
    repositoryPrivate: typeof visibility === 'boolean' ? visibility : undefined
  }
}
