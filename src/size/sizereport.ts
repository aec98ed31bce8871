// The pull-request size report, end to end: find a baseline (a registry image, or the sizes
// a default-branch run kept in the Actions cache), diff, check budgets, and post one sticky
// comment per project. Thin shell over sizediff / budget / registry / baseline / comment.
import * as core from '@actions/core'
import type { Runner } from '../action/env.js'
import { context } from '@actions/github'
import { cacheRole, describeStored, restoreSizes, saveSizes } from './baseline.js'
import { checkBudgets, describeBudgets, type Breach, type MaxIncrease } from './budget.js'
import { upsertComment } from './comment.js'
import { baselineFailure, registrySizes } from '../image/registry.js'
import { diffSizes, formatReport, reportJson, type ReportJson, type SizeSet } from './diff.js'

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
  runner: Pick<Runner, 'eventName' | 'ref' | 'baseRef' | 'runId' | 'sha' | 'actionsCache'>
}

export interface SizeReport {
  markdown: string
  json: ReportJson
  breaches: Breach[]
}

async function registryBaseline(ref: string, builder: string): Promise<{ sizes?: SizeSet; source: string; reason: string }> {
  // Read with `docker buildx imagetools`, so with the engine's logins (docker/login-action,
  // credential helpers): the action sends no credentials of its own to any registry.
  try {
    return { sizes: await registrySizes(ref, { builder }), source: `registry image \`${ref}\``, reason: '' }
  } catch (e) {
    const { warning, reason } = baselineFailure(ref, e)
    if (warning !== undefined) core.warning(warning)
    return { source: '', reason }
  }
}

export async function sizeReport(s: ReportSettings, project: string, current: SizeSet): Promise<SizeReport> {
  let baseline: SizeSet | undefined
  let source = ''
  let reason = ''
  const role = cacheRole({
    eventName: s.runner.eventName,
    ref: s.runner.ref,
    baseRef: s.runner.baseRef,
    defaultBranch: (context.payload.repository as { default_branch?: string } | undefined)?.default_branch ?? ''
  })
  const cacheUsable = s.runner.actionsCache
  if (s.baselineImage !== '') {
    ;({ sizes: baseline, source, reason } = await registryBaseline(s.baselineImage, s.builder))
  } else if (role.restore && cacheUsable) {
    const r = await restoreSizes({ tempDir: s.tempDir, project, platforms: s.platforms, branch: role.restore })
    if (r) {
      baseline = r.stored.sizes
      source = describeStored(r.stored)
    } else reason = `no sizes are cached for branch ${role.restore} yet`
  } else {
    reason = 'no baseline-image is set, and this is not a pull request with a cached default-branch build'
  }
  const diff = diffSizes(baseline, current)
  const breaches = checkBudgets(diff, s.maxSize, s.maxIncrease)
  const markdown = formatReport(diff, { project, baselineSource: source, breaches, budgets: describeBudgets(s.maxSize, s.maxIncrease), noBaselineReason: reason })
  const json = reportJson(diff, breaches, { project, baselineSource: source, current })

  if (s.comment) {
    const pr = context.payload.pull_request as { number?: number } | undefined
    if (pr?.number === undefined) core.info('comment: true, but this run is not for a pull request: no comment.')
    else if (s.githubToken === '') core.warning('comment: true needs github-token (with pull-requests: write).')
    else {
      try {
        const r = await upsertComment({ token: s.githubToken, owner: context.repo.owner, repo: context.repo.repo, issueNumber: pr.number, project, body: markdown })
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
      await saveSizes({ tempDir: s.tempDir, project, platforms: s.platforms, branch: role.save, runId: s.runner.runId, sha: s.runner.sha, sizes: current })
    } catch (e) {
      core.warning(`Could not keep this build's sizes in the Actions cache: ${(e as Error).message}`)
    }
  }
  return { markdown, json, breaches }
}
