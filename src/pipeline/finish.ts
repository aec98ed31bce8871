// The shared tail of a build and a merge: size report (only for images that passed their
// checks, so a broken image never becomes a baseline), outputs, timings, the job summary with
// one size table, and the failures that come after the outputs are set.
import * as core from '@actions/core'
import type { Runner } from '../action/env.js'
import type { Settings } from '../action/inputs.js'
import { setOutput } from '../action/outputs.js'
import { budgetFailure } from '../size/budget.js'
import { tableOnly, type Images } from '../size/diff.js'
import { summaryMarkdown, type SummaryFrame } from '../size/report.js'
import { sizeReport } from '../size/sizereport.js'
import { BuildError } from '../util/errors.js'

/** Appends to the job summary when there is one and it is wanted (summary input, DOCKER_BUILD_SUMMARY). */
export async function summarize(text: string, s: Pick<Settings, 'summary'>, runner: Pick<Runner, 'summaryFile'>): Promise<void> {
  if (!s.summary || !runner.summaryFile) return
  await core.summary.addRaw(text).write()
}

export interface Tail {
  /** The project (or repository) path the report and comment are for. */
  title: string
  /** This build's figures per platform: the rows of the one size table, and the diff's current side. */
  images: Images
  /** Problems found in the images; the report is skipped and the step fails when any. */
  problems: string[]
  /** What the problems mean, for the error's first line. */
  problemsHeading: string
  /** Seconds of the engine work, by name (build, merge). */
  timings: Record<string, number>
  /** What the job summary says around the size table. */
  summary: SummaryFrame
  started: number
}

export async function finish(s: Settings, runner: Runner, t: Tail): Promise<void> {
  const report =
    t.problems.length === 0
      ? await core.group('Size report', async () =>
          sizeReport(
            { baselineImage: s.baselineImage, maxSize: s.maxSize, maxIncrease: s.maxIncrease, comment: s.comment, githubToken: s.githubToken, builder: s.builder, tempDir: s.tempDir, platforms: s.platforms, runner },
            t.title,
            t.images
          )
        )
      : undefined
  if (report !== undefined) setOutput('size-report', JSON.stringify(report.json))
  const total = (Date.now() - t.started) / 1000
  const timings: Record<string, number> = { total: Number(total.toFixed(3)) }
  for (const [k, v] of Object.entries(t.timings)) timings[k] = Number(v.toFixed(3))
  setOutput('timings', JSON.stringify(timings))
  // One table: the size report's when there is one, else this build's figures alone.
  await summarize(summaryMarkdown(t.summary, report?.parts ?? tableOnly(t.images)), s, runner)
  if (t.problems.length > 0) throw new BuildError(`${t.problemsHeading}:\n${t.problems.join('\n')}`)
  if (report !== undefined && report.breaches.length > 0) throw new BuildError(budgetFailure(report.breaches))
  const engine = Object.values(t.timings).reduce((a, b) => a + b, 0)
  core.info(`Done in ${total.toFixed(1)} s (${Object.entries(t.timings).map(([k, v]) => `${k === 'build' ? 'buildx' : k} ${v.toFixed(1)} s`).join(', ')}, action overhead ${(total - engine).toFixed(1)} s).`)
}
