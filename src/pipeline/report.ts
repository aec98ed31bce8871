// mode: report. The last job of the reusable workflow: reads the report files its build jobs
// kept (an artifact each), and writes one table of every app to the job summary and one sticky
// pull-request comment for the whole run. Nothing is built. Thin shell over size/apps.ts.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { context } from '@actions/github'
import type { Runner } from '../action/env.js'
import type { Settings } from '../action/inputs.js'
import { APP_REPORT_ACCEPTED, AppReportError, appsLines, appsMarkdown, joinApps, parseAppReport, type AppReport } from '../size/apps.js'
import { runLine, upsertComment } from '../size/comment.js'
import { clip, InputError, printable } from '../util/errors.js'
import { toPosix } from '../util/paths.js'
import { showUntrusted } from '../util/untrusted.js'
import { summarize } from './finish.js'

/** A build job's file is a few kB; anything near this is not one. */
const MAX_FILE = 1024 * 1024
const MAX_FILES = 5000

/** The comment's marker key: its own, so the per-project comments of mode: build never meet it. */
export const commentKey = (title: string): string => `apps:${title}`

/** The .json files under the folder (artifacts downloaded with or without merge-multiple), sorted. */
function reportFiles(dir: string): string[] {
  let st: fs.Stats
  try {
    st = fs.lstatSync(dir)
  } catch {
    throw new InputError('reports', `${printable(dir)} does not exist (did any build job keep its report?)`, APP_REPORT_ACCEPTED)
  }
  if (!st.isDirectory()) throw new InputError('reports', `${printable(dir)} is not a folder`, APP_REPORT_ACCEPTED)
  const out: string[] = []
  const walk = (d: string, depth: number): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory() && depth < 2) walk(p, depth + 1)
      else if (e.isFile() && e.name.endsWith('.json')) out.push(p)
      if (out.length > MAX_FILES) throw new InputError('reports', `${printable(dir)} holds more than ${MAX_FILES} .json files`, APP_REPORT_ACCEPTED)
    }
  }
  walk(dir, 0)
  if (out.length === 0) throw new InputError('reports', `${printable(dir)} holds no .json report file`, APP_REPORT_ACCEPTED)
  return out.sort()
}

function readReport(file: string, dir: string): AppReport {
  const name = printable(clip(toPosix(path.relative(dir, file)), 200))
  const size = fs.statSync(file).size
  if (size > MAX_FILE) throw new InputError('reports', `${name} is ${size} bytes, not a build job's report`, APP_REPORT_ACCEPTED)
  try {
    return parseAppReport(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    if (e instanceof AppReportError) throw new InputError('reports', `${name}: ${printable(clip(e.message, 300))}`, APP_REPORT_ACCEPTED)
    throw e
  }
}

export async function report(s: Settings, runner: Runner, started: number): Promise<void> {
  if (s.ignoredInputs.length > 0) core.warning(`mode: report builds nothing, so these inputs are ignored: ${s.ignoredInputs.join(', ')}.`)
  const files = reportFiles(s.reports)
  const reports = files.map((f) => readReport(f, s.reports))
  let apps
  try {
    apps = joinApps(reports)
  } catch (e) {
    if (e instanceof AppReportError) throw new InputError('reports', printable(clip(e.message, 300)), APP_REPORT_ACCEPTED)
    throw e
  }
  const title = s.project !== '' ? toPosix(path.relative(s.workspace, s.project)) || '.' : ''
  // Names and messages are the repository's: shown only through the untrusted writer.
  showUntrusted(`${files.length} report files, ${apps.length} apps:\n${appsLines(apps).join('\n')}`)
  await summarize(appsMarkdown(title, apps), s, runner)

  const pr = context.payload.pull_request as { number?: number; head?: { sha?: unknown } } | undefined
  if (!s.comment) core.info('comment: false: the report is in the job summary only.')
  else if (pr?.number === undefined) core.info('comment: true, but this run is not for a pull request: no comment.')
  else if (s.githubToken === '') core.warning('comment: true needs github-token (with pull-requests: write).')
  else {
    const headSha = typeof pr.head?.sha === 'string' ? pr.head.sha : undefined
    const body = appsMarkdown(title, apps, runLine({ ...runner, headSha }))
    try {
      const r = await upsertComment({ token: s.githubToken, owner: context.repo.owner, repo: context.repo.repo, issueNumber: pr.number, project: commentKey(title), body })
      core.info(`Size report comment: ${r}`)
    } catch (e) {
      core.warning(`Could not post the size report comment: ${(e as Error).message}`)
    }
  }
  core.info(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${apps.length} apps, ${apps.filter((a) => a.overBudget).length} over budget, ${apps.filter((a) => a.failed.length > 0).length} failed.`)
}
