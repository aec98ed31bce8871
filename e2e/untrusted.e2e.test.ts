// Text from the repository never speaks to the runner, on the real engine: a repository whose
// publish prints workflow commands in every form the runner reads, whose app prints them at
// start-up, and whose image holds a file named with a newline and a command. The step's output
// is read the way the runner reads it (__tests__/runnerlog.ts): no command of theirs survives,
// and their text is still shown. And the post step, given state it did not write, runs nothing
// of the workspace's.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { archFromNode } from '../src/dotnet/platforms.js'
import { liveCommands, readAsRunner, type Command } from '../__tests__/runnerlog.js'
import { ENTRY, makeFixtureWorkspace, runAction, WORK, type ActionRun } from './harness.js'

const RUN = `u${Date.now().toString(36)}`
const MARK = 'pwned-by-the-repository'
/** What the action itself says with commands: annotations, groups and debug lines. */
const OURS = ['group', 'endgroup', 'debug', 'warning', 'error', 'notice']

/** The first 20 bytes of an ELF file (64-bit, little-endian, shared object) for the host's CPU: too short to read further. */
function elfStub(): Buffer {
  const arch = archFromNode(process.arch)
  if (arch === undefined) throw new Error(`the end-to-end tests need an amd64 or arm64 host, not ${process.arch}`)
  const b = Buffer.alloc(20)
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b)
  b.writeUInt16LE(3, 16)
  b.writeUInt16LE(arch === 'amd64' ? 62 : 183, 18)
  return b
}

function describeCommands(cs: Command[]): string {
  return cs.map((c) => c.line).join('\n')
}

/** The pull request number this run builds (its GITHUB_REF, refs/pull/N/merge). */
const PR = String(100000 + (Date.now() % 900000))

describe('a repository that prints workflow commands: its build log, its app, its file names', () => {
  let run: ActionRun
  let live: Command[]
  let shown: string

  beforeAll(() => {
    const ws = makeFixtureWorkspace('untrusted-hostile', 'hostile')
    const project = path.join(ws, 'src', 'Hostile.Cli')
    fs.mkdirSync(path.join(project, 'stub'))
    fs.writeFileSync(path.join(project, 'stub', 'libstub.bin'), elfStub())
    // A source of this run's own: the publish step (which prints the hostile messages) must run,
    // not come from the cache of an earlier run on the same builder.
    fs.appendFileSync(path.join(project, 'Program.cs'), `\n// run ${Date.now()}\n`)
    const arch = archFromNode(process.arch) ?? 'amd64'
    // One platform: the proof is about text, not CPUs. The app is told to fail, so the smoke test shows its output.
    // Built as a pull request's code is: on a pull_request event.
    run = runAction(
      ws,
      { project: 'src/Hostile.Cli', platforms: `linux/${arch}`, 'smoke-test': 'true', 'smoke-args': 'fail', push: 'false' },
      { env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: `refs/pull/${PR}/merge` } }
    )
    live = liveCommands(run.stdout)
    shown = readAsRunner(run.stdout).shown.join('\n')
    console.log(`hostile: ${run.seconds.toFixed(1)} s (exit ${run.code}); commands the runner would act on:\n${describeCommands(live)}`)
  })

  test('the build ran, printed the hostile text, and failed only on the smoke test', () => {
    expect(run.code).not.toBe(0)
    const errors = live.filter((c) => c.name === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.value).toMatch(/^the built images failed their checks:%0Alinux\/(amd64|arm64): the smoke test failed: exited with code 3 after /)
  })

  test('no command of the repository survives: only our annotations, groups and debug lines, and none of theirs', () => {
    expect(describeCommands(live.filter((c) => !OURS.includes(c.name)))).toBe('')
    // Their text may be quoted in our one error annotation, never stand as a command of its own.
    expect(describeCommands(live.filter((c) => c.name !== 'error' && c.line.includes(MARK)))).toBe('')
    expect(readAsRunner(run.stdout).stoppedAtEnd).toBeUndefined()
    // Nothing reached the runner's files either.
    expect(Object.keys(run.outputs).filter((k) => ['x', 'legacy', 'cr', 'app', 'app2', 'file'].includes(k))).toEqual([])
  })

  test('the build log is shown as it was printed, every form of command in it', () => {
    for (const line of [`::set-output name=x::${MARK}`, `::add-mask::${MARK}`, `::save-state name=docker-config::/tmp/${MARK}`, `##[set-output name=legacy;]${MARK}`, `::set-output name=cr::${MARK}`, '::stop-commands::guessed-token']) {
      expect(shown).toContain(line)
    }
  })

  test("the app's own output is shown, made inert, with the smoke failure", () => {
    expect(shown).toContain(`set-output name=app:\\x3a${MARK}`)
    expect(shown).toContain(`starting #\\x23[set-output name=app2;]${MARK}`)
    expect(shown).toContain(`warning:\\x3a${MARK} on stderr`)
  })

  test("as a pull request, it restores and publishes in a NuGet package cache mount of that pull request's own, and writes no gha cache", () => {
    const ids = [...new Set([...shown.matchAll(/--mount=type=cache,id=([^,\s]+),target=\/root\/\.nuget\/packages/g)].map((m) => m[1]))]
    expect(ids).toEqual([`aot-buildx-nuget-untrusted-pull-request-pr-${PR}`])
    // The build itself succeeded (the first test: it failed only on the smoke test) with that mount.
    expect(shown).not.toMatch(/--cache-to[ =]type=gha/)
  })

  test('a file of the image named with a newline and commands is named on one line', () => {
    expect(shown).toMatch(new RegExp(`not read: .*/app/libhostile\\\\x0a:\\\\x3aset-output name=file:\\\\x3a${MARK}\\\\x0d#\\\\x23\\[save-state name=file;\\]${MARK}\\.so`))
  })
})

describe('the post step, given state it did not write', () => {
  const ws = path.join(WORK, 'untrusted-post')
  const temp = path.join(WORK, 'untrusted-post-temp')
  const evil = path.join(ws, 'evil-docker-config')
  const canary = path.join(ws, 'canary')

  beforeAll(() => {
    fs.rmSync(ws, { recursive: true, force: true })
    fs.rmSync(temp, { recursive: true, force: true })
    fs.mkdirSync(path.join(evil, 'cli-plugins'), { recursive: true })
    fs.mkdirSync(path.join(temp, 'tool-cache'), { recursive: true })
    // A plugin the docker CLI would run (its metadata query first): it leaves a file behind.
    fs.writeFileSync(path.join(evil, 'cli-plugins', 'docker-buildx'), `#!/bin/sh\necho "$@" >> '${canary}'\nexit 1\n`, { mode: 0o755 })
    // The name the action gives its own folders, but a link to the workspace's.
    fs.symlinkSync(evil, path.join(temp, 'aot-buildx-docker-config-AbC123'))
  })

  function post(dockerConfig: string): { code: number; stdout: string } {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(INPUT_|GITHUB_|STATE_|DOCKER_CONFIG$)/.test(k)) env[k] = v
    Object.assign(env, {
      GITHUB_WORKSPACE: ws,
      RUNNER_TEMP: temp,
      RUNNER_TOOL_CACHE: path.join(temp, 'tool-cache'),
      GITHUB_ACTIONS: 'true',
      STATE_isPost: 'true',
      'STATE_docker-config': dockerConfig,
      STATE_builder: `aot-buildx-forged-${RUN}`
    })
    const r = spawnSync('node', [ENTRY], { env, cwd: ws, encoding: 'utf8' })
    return { code: r.status ?? -1, stdout: `${r.stdout}${r.stderr}` }
  }

  test.each([
    ['a folder in the workspace', evil],
    ['a link in RUNNER_TEMP with the action\'s name, to the workspace', path.join(temp, 'aot-buildx-docker-config-AbC123')]
  ])('%s: its docker-buildx never runs, and the step says why', (_what, dir) => {
    fs.rmSync(canary, { force: true })
    const r = post(dir)
    const warnings = liveCommands(r.stdout).filter((c) => c.name === 'warning')
    console.log(`post with ${dir}: exit ${r.code}\n${describeCommands(warnings)}`)
    expect(r.code).toBe(0)
    expect(fs.existsSync(canary) ? fs.readFileSync(canary, 'utf8') : 'not run').toBe('not run')
    expect(warnings.some((c) => c.value.startsWith('Ignoring the docker-config state'))).toBe(true)
  })
})
