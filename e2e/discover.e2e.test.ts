// mode: discover on the shop fixture (three apps, a shared library, a linked source, tests,
// docs), against real git history and the real dotnet in the evaluation sandbox: which apps a change lists.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { editFile, makeFixtureWorkspace, output, runAction, WORK, type ActionRun } from './harness.js'

interface Entry {
  project: string
  name: string
  platforms: string
  framework: string
}

let ws = ''
const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.email=e2e@example.com', '-c', 'user.name=e2e', ...args], { cwd: ws, encoding: 'utf8' })

/** Commits what the change did on top of base, runs discovery against base, then resets to base. */
function discoverAfter(change: () => void, inputs: Record<string, string> = {}): { run: ActionRun; names: string[] } {
  change()
  git('add', '-A')
  git('commit', '-qm', 'change')
  const run = runAction(ws, { mode: 'discover', project: 'Shop.slnx', 'changed-since': 'base', ...inputs })
  git('reset', '-q', '--hard', 'base')
  if (run.code !== 0) throw new Error(`discovery failed:\n${run.stdout}`)
  const m = JSON.parse(output(run, 'matrix')) as { include: Entry[] }
  expect(output(run, 'count')).toBe(String(m.include.length))
  return { run, names: m.include.map((e) => e.name) }
}

beforeAll(() => {
  ws = makeFixtureWorkspace('discover', 'shop')
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('commit', '-qm', 'base')
  git('tag', 'base')
})

describe('mode: discover', () => {
  test('without changed-since: every Native AOT app of the solution, not the library or the tests, as matrix entries', () => {
    const run = runAction(ws, { mode: 'discover', project: 'Shop.slnx' })
    expect(run.code).toBe(0)
    const m = JSON.parse(output(run, 'matrix')) as { include: Entry[] }
    expect(m.include).toEqual([
      { project: 'src/Shop.Api/Shop.Api.csproj', name: 'shop-api', platforms: 'linux/amd64,linux/arm64', framework: '' },
      { project: 'src/Shop.Cli/Shop.Cli.csproj', name: 'shop-cli', platforms: 'linux/amd64,linux/arm64', framework: '' },
      { project: 'src/Shop.Worker/Shop.Worker.csproj', name: 'shop-worker', platforms: 'linux/amd64,linux/arm64', framework: '' }
    ])
    expect(run.summary).toContain('3 of 3 listed')
    // Every project evaluated in one sandbox container (the engine's docker run), with no dotnet
    // on the action's PATH; nothing of buildx ran.
    expect(run.stdout).toContain('Evaluating in a sandbox: one container of mcr.microsoft.com/dotnet/sdk:10.0-noble-aot')
    expect(run.stdout).not.toMatch(/buildx/)
  })

  test('a folder finds the same apps as the solution', () => {
    const run = runAction(ws, { mode: 'discover', project: '.' })
    expect((JSON.parse(output(run, 'matrix')) as { include: Entry[] }).include.map((e) => e.name)).toEqual(['shop-api', 'shop-cli', 'shop-worker'])
  })

  test('a change to one app lists that app only', () => {
    const { names, run } = discoverAfter(() => {
      editFile(path.join(ws, 'src/Shop.Api/Program.cs'), /Revision = "api-0"/, 'Revision = "api-1"')
    })
    expect(names).toEqual(['shop-api'])
    expect(run.summary).toContain('`src/Shop.Api/Program.cs`')
  })

  test('a change to the shared library lists every app that references it, and not the one that does not', () => {
    expect(discoverAfter(() => { editFile(path.join(ws, 'src/Shop.Data/Catalog.cs'), /Revision = "data-0"/, 'Revision = "data-1"'); }).names).toEqual(['shop-api', 'shop-worker'])
  })

  test('a change to a linked source outside the project folders, or to props above them, lists the apps that consume it', () => {
    expect(discoverAfter(() => { editFile(path.join(ws, 'src/Shared/BuildInfo.cs'), /shared-0/, 'shared-1'); }).names).toEqual(['shop-api', 'shop-worker'])
    expect(discoverAfter(() => { fs.appendFileSync(path.join(ws, 'Directory.Build.props'), '<!-- x -->\n'); }).names).toEqual(['shop-api', 'shop-cli', 'shop-worker'])
  })

  test('docs, tests, the solution file and an unconsumed file list nothing', () => {
    const { names, run } = discoverAfter(() => {
      editFile(path.join(ws, 'docs/ops.md'), /port 8080/, 'port 8081')
      fs.appendFileSync(path.join(ws, 'tests/Shop.Tests/CatalogTests.cs'), '// more\n')
      fs.appendFileSync(path.join(ws, 'Shop.slnx'), '<!-- x -->\n')
      // Outside every project's folder (a file in one is that project's input: the whole-folder rule).
      fs.writeFileSync(path.join(ws, 'src/NOTES.md'), 'not consumed\n')
    })
    expect(names).toEqual([])
    expect(output(run, 'count')).toBe('0')
    expect(run.summary).toContain('Nothing to build.')
  })

  test("deleting a file found by name above the projects (the repository's global.json) lists every app", () => {
    expect(discoverAfter(() => { fs.rmSync(path.join(ws, 'global.json')); }).names).toEqual(['shop-api', 'shop-cli', 'shop-worker'])
  })

  test('a source file deleted from an app folder lists that app', () => {
    fs.writeFileSync(path.join(ws, 'src/Shop.Cli/Extra.cs'), 'static class Extra {}\n')
    git('add', '-A')
    git('commit', '-qm', 'extra')
    git('tag', '-f', 'with-extra')
    const run = (() => {
      fs.rmSync(path.join(ws, 'src/Shop.Cli/Extra.cs'))
      git('add', '-A')
      git('commit', '-qm', 'delete')
      const r = runAction(ws, { mode: 'discover', project: 'Shop.slnx', 'changed-since': 'with-extra' })
      git('reset', '-q', '--hard', 'base')
      return r
    })()
    expect((JSON.parse(output(run, 'matrix')) as { include: Entry[] }).include.map((e) => e.name)).toEqual(['shop-cli'])
  })

  test('an unknown revision is a clear input error naming changed-since and the checkout depth', () => {
    const run = runAction(ws, { mode: 'discover', project: 'Shop.slnx', 'changed-since': 'no-such-ref' })
    expect(run.code).not.toBe(0)
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? ''
    expect(error).toContain('changed-since')
    expect(error).toContain('fetch-depth: 0')
    expect(error).not.toMatch(/\n\s+at /)
  })
})

describe('mode: discover and a solution that lists a path through a symlink out of the workspace', () => {
  // The check is on the real path, read link by link inside the workspace: a committed symlink
  // cannot make the runner tell whether a path outside the workspace exists (a warning "does not
  // exist: skipped" for a missing one, an MSBuild error for one that exists).
  const APP = '<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <TargetFramework>net10.0</TargetFramework>\n    <PublishAot>true</PublishAot>\n  </PropertyGroup>\n</Project>\n'
  test('the listed project is refused by name as outside the workspace, whether or not it exists on the runner', () => {
    const root = path.join(WORK, 'discover-sln-link')
    fs.rmSync(root, { recursive: true, force: true })
    const outside = path.join(root, 'outside')
    const linked = path.join(root, 'ws')
    fs.mkdirSync(path.join(outside, 'Secret'), { recursive: true })
    fs.writeFileSync(path.join(outside, 'Secret', 'Secret.csproj'), APP)
    fs.mkdirSync(linked, { recursive: true })
    fs.symlinkSync('../outside', path.join(linked, 'ext'))
    const sln = (p: string): string => `Microsoft Visual Studio Solution File, Format Version 12.00\nProject("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "S", "${p}", "{1}"\nEndProject\n`
    fs.writeFileSync(path.join(linked, 'There.sln'), sln('ext/Secret/Secret.csproj'))
    fs.writeFileSync(path.join(linked, 'NotThere.sln'), sln('ext/Nope/Nope.csproj'))
    const there = runAction(linked, { mode: 'discover', project: 'There.sln' })
    const notThere = runAction(linked, { mode: 'discover', project: 'NotThere.sln' })
    for (const [r, listed] of [[there, 'ext/Secret/Secret.csproj'], [notThere, 'ext/Nope/Nope.csproj']] as const) {
      expect(r.code).not.toBe(0)
      expect(r.stdout).toContain(`lists ${listed}, which lies outside the workspace`)
      expect(r.stdout).not.toMatch(/does not exist|MSB\d{4}/)
    }
  })
})
