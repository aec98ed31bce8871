// The sticky pull-request comment: one per project, found again by a hidden marker that
// names the project and by its author (the token's own identity), so matrix jobs over several
// projects each keep their own comment and reruns update it instead of adding another. The token is only handed to Octokit: it is
// never part of a message, log line or error this module produces.
import * as core from '@actions/core'
import { getOctokit } from '@actions/github'
import { runUrl } from '../action/env.js'

/** GitHub rejects comment bodies longer than this many characters. */
export const COMMENT_LIMIT = 65536

const TRUNCATED_NOTE =
  "\n\n… The report was cut here: it is longer than GitHub's 65,536-character comment limit. The full report is in the job summary and the size-report output.\n"

/** The hidden marker; the project is percent-encoded (slashes kept) so it cannot end the HTML comment. */
export function marker(project: string): string {
  return `<!-- aot-buildx-size-report project=${encodeURIComponent(project).replace(/%2F/gi, '/')} -->`
}

/** Marker + report, cut at a line boundary with a note when over the comment limit. */
export function commentBody(project: string, body: string, limit = COMMENT_LIMIT): string {
  const full = `${marker(project)}\n${body}`
  if (full.length <= limit) return full
  let cut = full.slice(0, limit - TRUNCATED_NOTE.length)
  const nl = cut.lastIndexOf('\n')
  if (nl > marker(project).length) cut = cut.slice(0, nl)
  // Never leave half of a surrogate pair at the end.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1)
  return cut + TRUNCATED_NOTE
}

/** Where a report was made: runner facts, every one from the environment or the event, so none is trusted. */
export interface RunFacts {
  eventName: string
  /** GITHUB_SHA: for pull_request events the merge commit, which no reviewer sees. */
  sha: string
  /** pull_request.head.sha from the event payload, when there is one. */
  headSha?: string
  serverUrl: string
  repository: string
  runId: string
  runAttempt: string
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/
// Shapes, not escaping: a value that does not look like one is left out, never rendered.
const NUMBER = /^[1-9]\d{0,19}$/

/** The commit a reviewer knows: the pull request's head, not the merge commit GITHUB_SHA names. */
export function commitOf(f: Pick<RunFacts, 'eventName' | 'sha' | 'headSha'>): string {
  const pr = f.eventName === 'pull_request' || f.eventName === 'pull_request_target'
  const sha = pr && f.headSha !== undefined && f.headSha !== '' ? f.headSha : f.sha
  return SHA.test(sha) ? sha : ''
}

/** "Commit `abc1234` · [run 42 (attempt 2)](…)": the line under the comment's heading; '' when nothing is known. */
export function runLine(f: RunFacts): string {
  const sha = commitOf(f)
  const parts: string[] = []
  if (sha !== '') parts.push(`Commit \`${sha.slice(0, 7)}\``)
  if (NUMBER.test(f.runId)) {
    const label = `${parts.length === 0 ? 'Run' : 'run'} ${f.runId}${NUMBER.test(f.runAttempt) && f.runAttempt !== '1' ? ` (attempt ${f.runAttempt})` : ''}`
    const url = runUrl(f)
    parts.push(url !== '' ? `[${label}](${url})` : label)
  }
  return parts.join(' · ')
}

export interface UpsertOptions {
  token: string
  owner: string
  repo: string
  issueNumber: number
  /** The project path; each project keeps its own comment. */
  project: string
  /** The report markdown, without the marker. */
  body: string
  /** REST API root; defaults to GITHUB_API_URL (then https://api.github.com). */
  baseUrl?: string
}

export type UpsertResult = 'created' | 'updated' | 'skipped-readonly'

interface RequestErrorLike {
  status?: number
  message?: string
  response?: { data?: { message?: string } }
}

function apiMessage(e: unknown): string {
  const err = e as RequestErrorLike
  return err.response?.data?.message ?? err.message ?? String(e)
}

/** Read-only tokens (fork pull requests, or permissions without pull-requests: write) get a 403. */
function isReadOnly(e: unknown): boolean {
  const err = e as RequestErrorLike
  return err.status === 403 && /Resource not accessible by (integration|personal access token)/i.test(apiMessage(e))
}

/** The login GITHUB_TOKEN writes as (an installation token: it cannot call GET /user). */
export const ACTIONS_BOT = 'github-actions[bot]'

type Octokit = ReturnType<typeof getOctokit>

/**
 * The login this token writes comments as: GraphQL's viewer answers for every kind of token
 * (a user's, GITHUB_TOKEN: github-actions[bot], another app's installation: <slug>[bot]);
 * where it does not, REST's GET /user, whose 403 (an installation token) means GITHUB_TOKEN.
 */
async function ownLogin(octokit: Octokit): Promise<string> {
  try {
    const r = await octokit.graphql<{ viewer?: { login?: unknown } }>('query { viewer { login } }')
    if (typeof r.viewer?.login === 'string' && r.viewer.login !== '') return r.viewer.login
  } catch {
    // Asked again over REST below.
  }
  try {
    return (await octokit.rest.users.getAuthenticated()).data.login
  } catch (e) {
    if ((e as RequestErrorLike).status === 403) return ACTIONS_BOT
    throw e
  }
}

export async function upsertComment(o: UpsertOptions): Promise<UpsertResult> {
  const baseUrl = o.baseUrl || process.env.GITHUB_API_URL || 'https://api.github.com'
  const octokit = getOctokit(o.token, { baseUrl })
  const mark = marker(o.project)
  const body = commentBody(o.project, o.body)
  const where = `${o.owner}/${o.repo}#${o.issueNumber}`
  try {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner: o.owner, repo: o.repo, issue_number: o.issueNumber, per_page: 100 })
    // Ours starts with the marker and was written by this token's own identity: anyone can
    // post the marker (a pull request's author first of all), and would then own the report.
    const marked = comments.filter((c) => (c.body ?? '').startsWith(mark))
    const me = marked.length === 0 ? '' : await ownLogin(octokit)
    const mine = marked.find((c) => c.user?.login === me)
    if (mine !== undefined) {
      await octokit.rest.issues.updateComment({ owner: o.owner, repo: o.repo, comment_id: mine.id, body })
      core.info(`Updated the size report comment on ${where}: ${mine.html_url}`)
      return 'updated'
    }
    const created = await octokit.rest.issues.createComment({ owner: o.owner, repo: o.repo, issue_number: o.issueNumber, body })
    core.info(`Created the size report comment on ${where}: ${created.data.html_url}`)
    return 'created'
  } catch (e) {
    if (isReadOnly(e)) {
      core.warning(
        `The size report was not posted on ${where}: the token can only read this repository (typical for pull requests from forks). ` +
          'The report is in the job summary and the size-report output. To comment, give the job `permissions: pull-requests: write`.'
      )
      return 'skipped-readonly'
    }
    // A fresh error with the API's own message: Octokit's carries the request, headers included.
    const status = (e as RequestErrorLike).status
    throw new Error(`could not post the size report comment on ${where}: ${status !== undefined ? `${status} ` : ''}${apiMessage(e)}`)
  }
}
