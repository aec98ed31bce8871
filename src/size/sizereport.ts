// The pull-request size report, end to end: find a baseline (a registry image, or the sizes
// a default-branch run kept in the Actions cache), diff, check budgets, and post one sticky
// comment per project. Thin shell over diff / budget / registry / baseline / comment.
import * as core from '@actions/core'
import type { Runner } from '../action/env.js'
import { context } from '@actions/github'
import { cacheRole, describeStored, restoreSizes, saveSizes } from './baseline.js'
import { checkBudgets, describeBudgets, type Breach, type MaxIncrease } from './budget.js'
import { runLine, upsertComment } from './comment.js'
import { baselineFailure, registrySizes } from '../image/registry.js'
import { commentMarkdown, diffSizes, reportJson, reportParts, sizeSetOf, type Images, type ReportJson, type ReportParts, type SizeSet } from './diff.js'
import { code } from '../util/markdown.js'

export interface ReportSettings {
  baselineImage: string
  maxSize: Record<string, number>
  maxIncrease: MaxIncrease
  comment: boolean
  /** For the pull-request comment only: registries are read with the engine's own logins. */
  githubToken: string
  /** The builder given as input ('' for the current one): imagetools takes its registry settings. */
  builder: string
  tempDir: string
  platforms: string[]
  /** The runner facts the report needs (event, refs, run, whether the cache service exists). */
  runner: Pick<Runner, 'eventName' | 'ref' | 'baseRef' | 'runId' | 'runAttempt' | 'sha' | 'serverUrl' | 'repository' | 'actionsCache'>
}

export interface SizeReport {
  /** The table and the lines around it, for the job summary. */
  parts: ReportParts
  json: ReportJson
  breaches: Breach[]
}

interface Found {
  sizes?: SizeSet
  /** For the JSON output, as it always was. */
  source: string
  /** For the report: Markdown, with every outside value in a code span. */
  sourceMd: string
  reason: string
}

async function registryBaseline(ref: string, builder: string): Promise<Found> {
  // Read with `docker buildx imagetools`, so with the engine's logins (docker/login-action,
  // credential helpers): the action sends no credentials of its own to any registry.
  try {
    return { sizes: await registrySizes(ref, { builder }), source: `registry image \`${ref}\``, sourceMd: `registry image ${code(ref)}`, reason: '' }
  } catch (e) {
    const { warning, reason } = baselineFailure(ref, e, code(ref))
    if (warning !== undefined) core.warning(warning)
    return { source: '', sourceMd: '', reason }
  }
}

export async function sizeReport(s: ReportSettings, project: string, images: Images): Promise<SizeReport> {
  const current = sizeSetOf(images.rows)
  let found: Found = { source: '', sourceMd: '', reason: '' }
  const role = cacheRole({
    eventName: s.runner.eventName,
    ref: s.runner.ref,
    baseRef: s.runner.baseRef,
    defaultBranch: (context.payload.repository as { default_branch?: string } | undefined)?.default_branch ?? ''
  })
  const cacheUsable = s.runner.actionsCache
  if (s.baselineImage !== '') {
    found = await registryBaseline(s.baselineImage, s.builder)
  } else if (role.restore && cacheUsable) {
    const r = await restoreSizes({ tempDir: s.tempDir, project, platforms: s.platforms, branch: role.restore })
    if (r) found = { sizes: r.stored.sizes, source: describeStored(r.stored), sourceMd: describeStored(r.stored, code), reason: '' }
    else found.reason = `no sizes are cached for branch ${code(role.restore)} yet`
  } else {
    found.reason = 'no baseline-image is set, and this is not a pull request with a cached default-branch build'
  }
  const diff = diffSizes(found.sizes, current)
  const breaches = checkBudgets(diff, s.maxSize, s.maxIncrease)
  const parts = reportParts(images, diff, { baselineSource: found.sourceMd, breaches, budgets: describeBudgets(s.maxSize, s.maxIncrease), noBaselineReason: found.reason })
  const json = reportJson(diff, breaches, { project, baselineSource: found.source, current })

  if (s.comment) {
    const pr = context.payload.pull_request as { number?: number; head?: { sha?: unknown } } | undefined
    if (pr?.number === undefined) core.info('comment: true, but this run is not for a pull request: no comment.')
    else if (s.githubToken === '') core.warning('comment: true needs github-token (with pull-requests: write).')
    else {
      const headSha = typeof pr.head?.sha === 'string' ? pr.head.sha : undefined
      const body = commentMarkdown(project, parts, runLine({ ...s.runner, headSha }))
      try {
        const r = await upsertComment({ token: s.githubToken, owner: context.repo.owner, repo: context.repo.repo, issueNumber: pr.number, project, body })
        core.info(`Size report comment: ${r}`)
      } catch (e) {
        core.warning(`Could not post the size report comment: ${(e as Error).message}`)
      }
    }
  }
  // Saved only from default-branch runs whose images passed their checks (the caller
  // calls this after them), so a broken image never becomes the baseline.
  if (role.save && cacheUsable && breaches.length === 0) {
    try {
      await saveSizes({ tempDir: s.tempDir, project, platforms: s.platforms, branch: role.save, runId: s.runner.runId, runAttempt: s.runner.runAttempt, sha: s.runner.sha, sizes: current })
    } catch (e) {
      core.warning(`Could not keep this build's sizes in the Actions cache: ${(e as Error).message}`)
    }
  }
  return { parts, json, breaches }
}
