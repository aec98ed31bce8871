// Runs dist/index.js exactly as a runner does (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
// GITHUB_STATE, RUNNER_TEMP, GITHUB_WORKSPACE), with a fake `docker` first on PATH that
// records its argv. This proves the bundle's wiring and error paths; the real engine proof
// is the e2e suite.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { FAKE_DOCKER, isEvaluation, makeLayout, output, readOutputs, REPO, runnerEnv } from './fakes.js'
import { defined } from '../helpers.js'

interface Run {
  code: number
  stdout: string
  outputs: Record<string, string>
  summary: string
  calls: string[][]
  workspace: string
}

async function runAction(inputs: Record<string, string>, mode = 'ok', wrongArm = false, again?: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  // `again`: the workspace of an earlier run, to run a second time in it.
  const root = again !== undefined ? path.dirname(again) : fs.mkdtempSync(path.join(os.tmpdir(), 'aot-runner-'))
  const workspace = path.join(root, 'ws')
  const temp = path.join(root, 'temp')
  const bin = path.join(root, 'bin')
  fs.rmSync(temp, { recursive: true, force: true })
  fs.mkdirSync(temp)
  fs.mkdirSync(bin, { recursive: true })
  if (again === undefined) fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(workspace, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 })
  const layout = path.join(root, 'layout')
  fs.rmSync(layout, { recursive: true, force: true })
  const indexDigest = await makeLayout(layout, wrongArm)
  const callLog = path.join(root, 'calls.log')
  const env = runnerEnv({ workspace, temp, bin, callLog })
  Object.assign(env, { FAKE_MODE: mode, FAKE_LAYOUT: layout, FAKE_INDEX_DIGEST: indexDigest })
  Object.assign(env, extraEnv)
  // The smoke test is run() in-process (main.test.ts) and on the real engine (e2e/smoke): these fakes run no container.
  for (const [k, v] of Object.entries({ 'smoke-test': 'false', ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v
  const r = spawnSync('node', [path.join(REPO, 'dist', 'index.js')], { env, cwd: workspace, encoding: 'utf8' })
  return {
    code: r.status ?? -1,
    stdout: r.stdout + r.stderr,
    outputs: readOutputs(env.GITHUB_OUTPUT ?? ''),
    summary: fs.readFileSync(env.GITHUB_STEP_SUMMARY ?? '', 'utf8'),
    calls: fs.readFileSync(callLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]),
    workspace
  }
}

describe('dist/index.js run the way the runner runs it', () => {
  test('the bundle is one file that names no path of the folder it was bundled in (ncc relocates what it takes for a file of ours)', () => {
    const text = fs.readFileSync(path.join(REPO, 'dist', 'index.js'), 'utf8')
    expect(text).not.toMatch(/__nccwpck_require__\.ab \+/)
    expect(fs.readdirSync(path.join(REPO, 'dist')).sort()).toEqual(['index.js', 'licenses.txt', 'package.json'])
  })

  test('success: outputs per platform, summary table, and the exact buildx argv', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true', 'build-args': 'Version=1.2.3' })
    expect(r.code).toBe(0)
    const sizes = JSON.parse(output(r, 'sizes')) as Record<string, { compressed: number; uncompressed: number; appLayer: number }>
    expect(Object.keys(sizes).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    expect(r.outputs['size-linux-amd64']).toBe(String(defined(sizes['linux/amd64']).compressed))
    expect(r.outputs['size-linux-arm64']).toBe(String(defined(sizes['linux/arm64']).compressed))
    expect(defined(sizes['linux/arm64']).uncompressed).toBeGreaterThan(5000)
    expect(r.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/)
    expect(r.outputs.dockerfile).toBe(path.join(r.workspace, 'TodoApi', 'Dockerfile.aot'))
    expect(r.summary).toMatch(/^\| linux\/amd64 \| /m)
    expect(r.summary).toMatch(/^\| linux\/arm64 \| /m)
    expect(r.summary).toContain('Pushed: `localhost:5000/todo:1`')
    const build = r.calls.find((c) => c[0] === 'buildx' && c[1] === 'build') as string[]
    expect(build.slice(0, 8)).toEqual(['buildx', 'build', '--builder', 'default', '--file', r.outputs.dockerfile, '--platform', 'linux/amd64,linux/arm64'])
    // The docker driver: the build writes the layout only; the layout is pushed once, after the checks.
    expect(build).not.toContain('type=registry')
    expect(build[build.length - 1]).toBe(path.join(r.workspace, 'TodoApi'))
    const push = r.calls.findIndex((c) => c[0] === 'buildx' && c[1] === 'imagetools' && c[2] === 'create')
    expect(push).toBeGreaterThan(r.calls.indexOf(build))
    expect(r.calls[push]?.slice(-3, -1)).toEqual(['--tag', 'localhost:5000/todo:1'])
    expect(r.calls[push + 1]).toEqual(['served', 200, true])
    // Build-arg values never reach the log (they may be secrets passed by mistake).
    expect(r.stdout).toContain("--build-arg 'Version=***'")
    expect(r.stdout).not.toContain('1.2.3')
    // No QEMU: nothing runs on the target platform.
    expect(r.calls.some((c) => c[0] === 'run' && !isEvaluation(c))).toBe(false)
  })

  test('a size over the max-size budget is marked in the report and fails the step, naming platform, figure and budget', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'max-size': 'linux/amd64=100B,linux/arm64=1MB' })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/::error::.*linux\/amd64 is [\d.]+ B? ?.*over the max-size budget of 100 B/)
    expect(r.stdout).not.toMatch(/::error::.*linux\/arm64 is/)
    const report = JSON.parse(output(r, 'size-report')) as { breaches: { platform: string }[] }
    expect(report.breaches.map((b) => b.platform)).toEqual(['linux/amd64'])
    expect(r.summary).toContain('❌')
    expect(r.summary).toMatch(/no baseline/i)
  })

  test('invalid budget syntax is an input error', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'max-increase': 'a lot' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::Input "max-increase":')
    expect(r.calls).toEqual([])
  })

  test('nuget-cache-dir: the first run exports the package cache there, the next one seeds its build from it', async () => {
    const first = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'nuget-keep' })
    expect(first.code).toBe(0)
    const store = path.join(first.workspace, 'nuget-keep')
    const build1 = first.calls.find((c) => c[1] === 'build' && !c.includes('nuget-export')) as string[]
    expect(build1.join(' ')).not.toContain('--build-context')
    const exp = first.calls.find((c) => c.includes('nuget-export')) as string[]
    expect(exp).toEqual(expect.arrayContaining(['--target', 'nuget-export', '--build-arg']))
    expect(exp.some((a) => /^AOT_BUILDX_EXPORT_ID=\d+-\d+$/.test(a))).toBe(true)
    expect(fs.existsSync(path.join(store, 'packages', 'fake.package', '1.0.0'))).toBe(true)
    expect(fs.existsSync(path.join(store, '.aot-buildx-nuget'))).toBe(true)
    const dockerfile = fs.readFileSync(output(first, 'dockerfile'), 'utf8')
    expect(dockerfile).toContain('FROM scratch AS nuget-seed')
    expect(dockerfile).toContain('AS nuget-load')

    const second = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'nuget-keep' }, 'ok', false, first.workspace)
    expect(second.code).toBe(0)
    // Kept packages exist: the build gets their secret only, and loads them only if a step asks
    // (this fake build's steps never do).
    const builds2 = second.calls.filter((c) => c[1] === 'build' && !c.includes('aot-facts'))
    expect(builds2).toHaveLength(1)
    expect(builds2[0]).toEqual(expect.arrayContaining(['--secret', 'id=aot-buildx-nuget-kept,env=AOT_BUILDX_NUGET_KEPT']))
    expect((builds2[0] as string[]).join(' ')).not.toContain('--build-context')
    // Same restore inputs: the kept packages already match, so nothing is exported again.
    expect(second.calls.some((c) => c.includes('nuget-export'))).toBe(false)
    expect(second.stdout).toContain('they are not exported again')

    // A changed project file changes the key: the packages are exported again.
    const csproj = path.join(first.workspace, 'TodoApi', 'TodoApi.csproj')
    fs.writeFileSync(csproj, fs.readFileSync(csproj, 'utf8').replace('</Project>', '<!-- changed -->\n</Project>'))
    const third = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'nuget-keep' }, 'ok', false, first.workspace)
    expect(third.code).toBe(0)
    expect(third.calls.some((c) => c.includes('nuget-export'))).toBe(true)
  })

  test('nuget-cache-dir holding files the action did not write is left alone', async () => {
    const first = await runAction({ project: 'TodoApi', context: 'TodoApi', build: 'false' })
    fs.mkdirSync(path.join(first.workspace, 'mine'))
    fs.writeFileSync(path.join(first.workspace, 'mine', 'notes.txt'), 'keep me')
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'mine' }, 'ok', false, first.workspace)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('holds files this action did not write')
    expect(fs.readdirSync(path.join(first.workspace, 'mine'))).toEqual(['notes.txt'])
  })

  test('nuget-cache-dir outside the workspace and temp folder is an input error', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': '/etc/nuget' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`::error::Input "nuget-cache-dir": "/etc/nuget" resolves to /etc/nuget, outside the workspace`)
  })

  test('build: false writes the Dockerfile and calls docker only for the evaluation sandbox', async () => {
    const r = await runAction({ project: 'TodoApi/TodoApi.csproj', context: 'TodoApi', build: 'false' })
    expect(r.code).toBe(0)
    expect(r.calls.filter((c) => !isEvaluation(c))).toEqual([])
    expect(r.calls.filter(isEvaluation).length).toBe(1)
    expect(fs.readFileSync(output(r, 'dockerfile'), 'utf8')).toMatch(/^# Generated by aot-buildx-action\./)
    expect(r.stdout).toContain('The build would run:\ndocker buildx build')
  })

  test('a wrong-arch binary in an image fails the step after the build', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi' }, 'ok', true)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/::error::.*linux\/arm64: the entrypoint \/app\/TodoApi is built for x86-64, but the image is linux\/arm64/)
    expect(r.outputs.sizes).toBeDefined()
  })

  test('a failed build sets the outputs it has, then fails with cause, fix and the last log lines', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi' }, 'crti')
    expect(r.code).toBe(1)
    expect(r.outputs.dockerfile).toBeDefined()
    // The first line of the error is dotnet's (the linker's) own error, then the known cause.
    expect(r.stdout).toContain('::error::dotnet publish failed:%0A  clang : error : linker command failed with exit code 1%0ACause: the cross linker has no C runtime')
    expect(r.stdout).toContain('cannot find crti.o')
    expect(r.summary).toContain('build failed')
    expect(r.summary).toContain('libc6-dev-arm64-cross')
  })

  test.each([
    ['no-buildx', 'docker buildx is not available'],
    ['old', 'buildx 0.12.1 is older than 0.13.0']
  ])('engine problem %s gives a clear error', async (mode, message) => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi' }, mode)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`::error::${message}`)
    expect(fs.existsSync(path.join(r.workspace, 'TodoApi', 'Dockerfile.aot'))).toBe(true)
  })

  test('a hand-written Dockerfile at the target path is never overwritten', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-runner-own-'))
    fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(root, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
    fs.writeFileSync(path.join(root, 'TodoApi', 'Dockerfile'), 'FROM scratch\n')
    const env = { ...process.env, GITHUB_WORKSPACE: root, RUNNER_TEMP: os.tmpdir(), GITHUB_OUTPUT: '', GITHUB_STATE: '', INPUT_PROJECT: 'TodoApi', INPUT_CONTEXT: 'TodoApi', INPUT_DOCKERFILE: 'TodoApi/Dockerfile', INPUT_BUILD: 'false' }
    const r = spawnSync('node', [path.join(REPO, 'dist', 'index.js')], { env, encoding: 'utf8' })
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('::error::Input "dockerfile":')
    expect(r.stdout).toContain('was not generated by this action')
    expect(fs.readFileSync(path.join(root, 'TodoApi', 'Dockerfile'), 'utf8')).toBe('FROM scratch\n')
  })
})

describe('untrusted state and inputs, through the bundle', () => {
  test('the post step never passes a builder name from state as an option, and removes only builders it created', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-runner-post-'))
    const bin = path.join(root, 'bin')
    fs.mkdirSync(bin)
    fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 })
    const log = path.join(root, 'calls.log')
    for (const [builder, removed] of [
      ['--all-inactive', false],
      ['default', false],
      ['aot-buildx-123-build-456', true]
    ] as [string, boolean][]) {
      fs.writeFileSync(log, '')
      const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, FAKE_LOG: log, STATE_isPost: 'true', STATE_builder: builder, GITHUB_STATE: '', GITHUB_OUTPUT: '' }
      const r = spawnSync('node', [path.join(REPO, 'dist', 'index.js')], { env, encoding: 'utf8' })
      const calls = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[])
      if (removed) expect(calls).toEqual([['buildx', 'rm', '--force', '--', builder], ['network', 'ls', '--quiet', '--filter', `label=io.github.aot-buildx.builder=${builder}`]])
      else {
        expect(calls).toEqual([])
        expect(r.stdout).toContain('only removes builders it created')
      }
    }
  })

  test('a nuget-config inside the build context is refused before anything runs', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-config': 'TodoApi/appsettings.json' })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::Input "nuget-config":')
    expect(r.stdout).toContain('lies inside the build context')
    expect(r.calls).toEqual([])
  })

  test('on pull_request_target the NuGet packages built from the pull request are never kept', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'kept' }, 'ok', false, undefined, { GITHUB_EVENT_NAME: 'pull_request_target' })
    expect(r.code).toBe(0)
    expect(r.calls.some((c) => c.includes('nuget-export'))).toBe(false)
    expect(fs.existsSync(path.join(r.workspace, 'kept'))).toBe(false)
    expect(r.stdout).toContain("nuget-cache-dir: not read on this event (a pull request's build gets no packages trusted runs kept)")
    // The same run on push keeps them: the test above would notice a run that never exports.
    const push = await runAction({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'kept' }, 'ok', false, undefined, { GITHUB_EVENT_NAME: 'push' })
    expect(push.calls.some((c) => c.includes('nuget-export'))).toBe(true)
  })

  test('the github-token is masked before anything else is printed', async () => {
    const r = await runAction({ project: 'TodoApi', context: 'TodoApi', build: 'false', 'github-token': 'ghs_notarealtoken123' })
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('::add-mask::ghs_notarealtoken123')
  })

  test("the Dockerfile's own ignore file admits the project's files less what the repository's .dockerignore excludes; that file is never edited", async () => {
    const first = await runAction({ project: 'TodoApi', context: 'TodoApi', build: 'false' })
    expect(fs.existsSync(path.join(first.workspace, 'TodoApi', '.dockerignore'))).toBe(false)
    // A JSON file in a web project is a Content item: consumed, yet the repository keeps it out.
    fs.writeFileSync(path.join(first.workspace, 'TodoApi', 'secret.json'), '{}\n')
    fs.writeFileSync(path.join(first.workspace, 'TodoApi', 'NOTES.md'), 'not consumed\n')
    fs.writeFileSync(path.join(first.workspace, 'TodoApi', '.dockerignore'), 'secret.json\n')
    const again = await runAction({ project: 'TodoApi', context: 'TodoApi', build: 'false', 'nuget-cache-dir': 'TodoApi/.nuget-kept' }, 'ok', false, first.workspace)
    expect(again.code).toBe(0)
    expect(fs.readFileSync(path.join(first.workspace, 'TodoApi', '.dockerignore'), 'utf8')).toBe('secret.json\n')
    const own = fs.readFileSync(path.join(first.workspace, 'TodoApi', 'Dockerfile.aot.dockerignore'), 'utf8').split('\n')
    expect(own).toEqual(expect.arrayContaining(['*', '!/Program.cs', '!/TodoApi.csproj', '!/appsettings.json', '/.nuget-kept']))
    // A file in the project's folder is an input even when nothing names it; the repository's
    // .dockerignore still keeps its file out, and our generated files are never inputs.
    expect(own).toContain('!/NOTES.md')
    expect(own.some((l) => l.includes('secret.json'))).toBe(false)
    expect(own).toEqual(expect.arrayContaining(['/Dockerfile.aot', '/Dockerfile.aot.dockerignore']))
    expect(own.filter((l) => l.startsWith('!') && l.includes('Dockerfile.aot'))).toEqual([])
    // context-files: all sends the whole context: then the repository's file is copied whole.
    const all = await runAction({ project: 'TodoApi', context: 'TodoApi', build: 'false', 'context-files': 'all' }, 'ok', false, first.workspace)
    expect(all.code).toBe(0)
    const copied = fs.readFileSync(path.join(first.workspace, 'TodoApi', 'Dockerfile.aot.dockerignore'), 'utf8').split('\n')
    expect(copied).toContain('secret.json')
    expect(copied).not.toContain('*')
  })
})
