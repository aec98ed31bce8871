// run(): the post step, or a build, or a merge; every error to setFailed.
import * as os from 'node:os'
import * as path from 'node:path'
import * as core from '@actions/core'
import { context } from '@actions/github'
import { runnerFrom } from './action/env.js'
import { parseInputs } from './action/inputs.js'
import { secretValuesToMask } from './action/secrets.js'
import { STATE } from './action/outputs.js'
import { dockerConfigProblem, userDockerConfig } from './engine/buildxtool.js'
import { removeBuilder } from './engine/setup.js'
import { removeSmokeLeftovers } from './smoke/run.js'
import { build } from './pipeline/build.js'
import { merge } from './pipeline/merge.js'
import { discover } from './pipeline/discover.js'
import { report } from './pipeline/report.js'
import { BuildError, InputError, printable, ProjectError } from './util/errors.js'

export async function post(): Promise<void> {
  // The buildx this step installed (buildx-version), so `buildx rm` finds the same plugin. State
  // comes back from a file the job's steps can write, and docker runs the folder's plugin: only
  // the shape the main step wrote is used.
  const dockerConfig = core.getState(STATE.dockerConfig)
  if (dockerConfig !== '') {
    const problem = dockerConfigProblem(dockerConfig, path.resolve(process.env.RUNNER_TEMP || os.tmpdir()), process.env.RUNNER_TOOL_CACHE ?? '', userDockerConfig())
    if (problem === undefined) process.env.DOCKER_CONFIG = dockerConfig
    else core.warning(`Ignoring the docker-config state ${printable(JSON.stringify(dockerConfig))}: ${printable(problem)}; this action uses only a folder it made in RUNNER_TEMP.`)
  }
  // A cancelled job can leave a smoke-tested container running; only a token in our own shape is used.
  const smoke = core.getState(STATE.smoke)
  if (smoke !== '') await removeSmokeLeftovers(smoke)
  const builder = core.getState(STATE.builder)
  if (builder !== '') await removeBuilder(builder)
}

export async function main(): Promise<void> {
  const started = Date.now()
  const runner = runnerFrom(process.env, process.cwd(), context.payload)
  const s = parseInputs((n) => core.getInput(n), runner, process.env)
  // Scale-out: join the per-architecture digests; nothing is built.
  if (s.mode === 'merge') return merge(s, runner, started)
  // Monorepos: list the apps (that changed) for a matrix; nothing is built.
  if (s.mode === 'discover') return discover(s, runner, started)
  // The reusable workflow's last job: one table and one comment for every app of the run.
  if (s.mode === 'report') return report(s, runner, started)
  return build(s, runner, started)
}

export async function run(): Promise<void> {
  try {
    if (core.getState(STATE.isPost) === 'true') {
      await post()
      return
    }
    core.saveState(STATE.isPost, 'true')
    // Before anything can print it.
    const token = core.getInput('github-token')
    if (token !== '') core.setSecret(token)
    for (const v of secretValuesToMask((n) => core.getInput(n), process.env)) core.setSecret(v)
    await main()
  } catch (e) {
    const err = e as Error
    if (err instanceof InputError || err instanceof ProjectError || err instanceof BuildError) core.setFailed(err.message)
    else core.setFailed(`${err.message}\n${err.stack ?? ''}`)
  }
}
