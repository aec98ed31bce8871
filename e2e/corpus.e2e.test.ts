// Repositories shaped like other people's, built with the action's defaults (both platforms,
// context-files: project, the smoke test). The "ledger" fixture has what an evaluation before
// restore cannot list: a source generator whose analyzer release tracking files
// (AnalyzerReleases.*.md) the Microsoft.CodeAnalysis.Analyzers package adds as AdditionalFiles
// after restore, under TreatWarningsAsErrors (RS2008 without them); a local package source
// (NuGet.config: ./vendor); a VERSION file read into <Version> by a property function; a
// library multi-targeted to netstandard2.0 and net10.0; UseArtifactsOutput.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { docker, editFile, makeFixtureWorkspace, output, REGISTRY, runAction, stepCacheState, type ActionRun } from './harness.js'

const RUN = `r${Date.now().toString(36)}`
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
}

/** Adler-32, written here independently of the fixture's package. */
function adler32(text: string): string {
  let a = 1
  let b = 0
  for (const c of Buffer.from(text, 'latin1')) {
    a = (a + c) % 65521
    b = (b + a) % 65521
  }
  return ((b * 65536 + a) >>> 0).toString(16).padStart(8, '0')
}

describe('ledger: source generator with release tracking, multi-targeted library, artifacts output, local feed, VERSION file', () => {
  const repo = 'aot-e2e/ledger'
  const tagOf = (n: number): string => `${REGISTRY}/${repo}:${RUN}-${n}`
  // Unique per run, so neither the version nor the package can come from an earlier run's cache.
  const n = Date.now() % 60000
  const version = `2.5.${n}`
  const packageVersion = `1.2.${n}`
  let ws = ''
  let cold: ActionRun
  let rebuilt: ActionRun | undefined
  let unrelated: ActionRun | undefined

  beforeAll(() => {
    ws = makeFixtureWorkspace('ledger', 'ledger')
    fs.writeFileSync(path.join(ws, 'VERSION'), `${version}\n`)
    // The repository's release job packs its own package into the local source; so does the test.
    execFileSync('dotnet', ['pack', 'packages/Ledger.Checksum', '-c', 'Release', `-p:Version=${packageVersion}`, '-o', 'vendor', '--nologo', '-v', 'q'], { cwd: ws, stdio: 'pipe' })
    editFile(path.join(ws, 'src/Ledger.Cli/Ledger.Cli.csproj'), /Include="Ledger\.Checksum" Version="[^"]+"/, `Include="Ledger.Checksum" Version="${packageVersion}"`)
    // smoke-test: true starts arm64 too (under the QEMU handler the e2e set-up registers; auto starts native platforms only).
    cold = runAction(ws, { project: 'src/Ledger.Cli', tags: tagOf(0), push: 'true', 'smoke-test': 'true' })
    console.log(`ledger, cold: ${cold.seconds.toFixed(1)} s (exit ${cold.code})`)
    if (cold.code !== 0) return
    // One line of the generator: what it emits must reach the new image.
    editFile(path.join(ws, 'src/Ledger.Generators/CommandTableGenerator.cs'), /Banner = \\"ledger commands\\"/, `Banner = \\"ledger commands ${RUN}\\"`)
    rebuilt = runAction(ws, { project: 'src/Ledger.Cli', tags: tagOf(1), push: 'true' })
    console.log(`ledger, generator line changed: ${rebuilt.seconds.toFixed(1)} s (exit ${rebuilt.code})`)
    if (rebuilt.code !== 0) return
    // Outside the app's projects: docs, tests, the readme, the feed's own package source.
    fs.appendFileSync(path.join(ws, 'docs/commands.md'), `\nChanged by ${RUN}.\n`)
    fs.appendFileSync(path.join(ws, 'tests/Ledger.Core.Tests/BookTests.cs'), `\n// ${RUN}\n`)
    fs.appendFileSync(path.join(ws, 'packages/Ledger.Checksum/Checksum.cs'), `\n// ${RUN}\n`)
    unrelated = runAction(ws, { project: 'src/Ledger.Cli', 'smoke-test': 'false' })
    console.log(`ledger, unrelated changes: ${unrelated.seconds.toFixed(1)} s (exit ${unrelated.code})`)
  })

  afterAll(() => {
    for (const i of [0, 1]) {
      try {
        docker(['rmi', tagOf(i)])
      } catch {
        // not pulled
      }
    }
  })

  test('with the defaults, both platforms build (no RS2008: the release tracking files reached the generator) and start', () => {
    must(cold, 'the cold build')
    expect(cold.stdout).not.toContain('RS2008')
    const smoke = JSON.parse(output(cold, 'smoke')) as Record<string, { ok: boolean }>
    expect(Object.keys(smoke).sort()).toEqual([...PLATFORMS])
    for (const p of PLATFORMS) expect(smoke[p]?.ok).toBe(true)
  })

  test('each image runs the generated command table, the net10.0 build of the library, the local package, and the VERSION file\'s version', () => {
    must(cold, 'the cold build')
    for (const p of PLATFORMS) {
      const out = docker(['run', '--rm', '--platform', p, tagOf(0)]).toString()
      expect(out).toContain('ledger commands\n')
      expect(out).toContain('balance: balance 9.50')
      expect(out).toMatch(new RegExp(`version: version ${version.replace(/\./g, '\\.')}(\\+|\\n)`))
      expect(out).toContain('core: net10.0')
      expect(out).toContain(`checksum: ${adler32('ledger')}`)
    }
  })

  test('the restore layer copies the local package source and the VERSION file; the context admits the generator\'s folder, not docs or tests', () => {
    must(cold, 'the cold build')
    const df = fs.readFileSync(path.join(ws, 'Dockerfile.aot'), 'utf8')
    expect(df).toMatch(new RegExp(`COPY --link \\[[^\\]]*"vendor/Ledger\\.Checksum\\.${packageVersion.replace(/\./g, '\\.')}\\.nupkg"`))
    expect(df).toMatch(/COPY --link \[[^\]]*"VERSION"/)
    const ignore = fs.readFileSync(path.join(ws, 'Dockerfile.aot.dockerignore'), 'utf8').split('\n')
    expect(ignore).toContain('*')
    // src/ holds only the app's projects, so it may be admitted as one folder.
    expect(ignore.some((l) => /^!\/src(\/Ledger\.Generators(\/AnalyzerReleases\.Shipped\.md)?)?$/.test(l))).toBe(true)
    expect(ignore.some((l) => /docs|tests|packages\/|artifacts/.test(l))).toBe(false)
  })

  test('a one-line change in the generator shows up in both new images', () => {
    if (rebuilt === undefined) throw new Error('the cold build failed, so nothing was rebuilt')
    must(rebuilt, 'the rebuild')
    for (const p of PLATFORMS) expect(docker(['run', '--rm', '--platform', p, tagOf(1)]).toString()).toContain(`ledger commands ${RUN}\n`)
  })

  test('changes in docs, tests and the package source outside the app\'s projects leave every step cached', () => {
    if (unrelated === undefined) throw new Error('an earlier build failed, so the unrelated change was not built')
    must(unrelated, 'the build after unrelated changes')
    const steps = stepCacheState(unrelated.stdout, /^(RUN|COPY) /)
    expect(steps.length).toBeGreaterThanOrEqual(6)
    expect(steps.every((cached) => cached)).toBe(true)
  })
})
