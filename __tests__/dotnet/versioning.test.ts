import { detectVersioning, TOOLS, versioningPlan, VERSIONING_PROPERTIES } from '../../src/dotnet/versioning.js'

const project = (packages: string[], properties: Record<string, string> = {}): { packages: string[]; properties: Record<string, string> } => ({ packages, properties })

describe('detectVersioning', () => {
  it('finds MinVer, Nerdbank.GitVersioning and GitVersion (both package names) in any evaluated project, ids in any case', () => {
    expect(detectVersioning([project(['Microsoft.Extensions.Hosting']), project(['minver'])])).toEqual(['minver'])
    expect(detectVersioning([project(['Nerdbank.GitVersioning'])])).toEqual(['nbgv'])
    expect(detectVersioning([project(['GitVersion.MsBuild'])])).toEqual(['gitversion'])
    expect(detectVersioning([project(['GitVersionTask'])])).toEqual(['gitversion'])
    expect(detectVersioning([project(['GitVersion.MsBuild', 'MinVer']), project(['Nerdbank.GitVersioning'])])).toEqual(['minver', 'nbgv', 'gitversion'])
  })

  it('finds nothing in a project without them, or where the project turned the tool off', () => {
    expect(detectVersioning([project(['Microsoft.Extensions.Hosting', 'MinVer.Extra'])])).toEqual([])
    expect(detectVersioning([project(['MinVer'], { MinVerSkip: 'true' })])).toEqual([])
    expect(detectVersioning([project(['GitVersion.MsBuild'], { DisableGitVersionTask: 'True' })])).toEqual([])
    // Off in one project, on in another: still used.
    expect(detectVersioning([project(['MinVer'], { MinVerSkip: 'true' }), project(['MinVer'], { MinVerSkip: '' })])).toEqual(['minver'])
  })

  it('asks the evaluation for the properties that turn a tool off', () => {
    expect(VERSIONING_PROPERTIES).toEqual(['MinVerSkip', 'DisableGitVersionTask'])
  })
})

describe('versioningPlan', () => {
  it('without a tool: nothing set, said or warned', () => {
    expect(versioningPlan([], [], [])).toEqual({ env: {}, summary: [], warnings: [] })
  })

  it('sets each tool\'s no-git switch: MinVer\'s warning stays a warning, NBGV\'s git engine off, GitVersion\'s task off', () => {
    expect(versioningPlan(['minver', 'nbgv', 'gitversion'], [], []).env).toEqual({ MSBuildWarningsNotAsErrors: 'MINVER1001', NBGV_GitEngine: 'Disabled', DisableGitVersionTask: 'true' })
  })

  it('a build arg of the same name wins over our switch', () => {
    expect(versioningPlan(['nbgv'], [{ name: 'NBGV_GitEngine', value: 'Managed' }], []).env).toEqual({})
  })

  it('without the version passed: the summary and a warning say it is the fallback, and how to pass the real one', () => {
    const p = versioningPlan(['minver'], [], [])
    expect(p.summary).toEqual([{ tool: 'MinVer', text: expect.stringContaining("the fallback, MinVer's default version, 0.0.0-alpha.0") as string }])
    expect(p.summary[0]?.text).toContain('MinVerVersionOverride=2.3.5')
    expect(p.warnings).toHaveLength(1)
    expect(p.warnings[0]).toContain('MinVer computes the version from git history, which the container build does not have')
    expect(p.warnings[0]).toContain("the binary carries MinVer's default version, 0.0.0-alpha.0")
    expect(p.warnings[0]).toContain('build-args as MinVerVersionOverride')
    const g = versioningPlan(['gitversion'], [], [])
    expect(g.warnings[0]).toContain("the project's own Version (1.0.0 unless it sets one)")
    expect(g.warnings[0]).toContain('build-args as Version')
    // NBGV takes no version from outside: said so, not promised.
    const n = versioningPlan(['nbgv'], [{ name: 'Version', value: '9.9.9' }], [])
    expect(n.summary[0]?.text).toContain("version.json's version with git height 0 and no commit id")
    expect(n.warnings[0]).toContain('has no property that takes a version computed elsewhere')
  })

  it('with the version passed in the tool\'s override build arg: the summary gives it, no warning', () => {
    const p = versioningPlan(['minver'], [{ name: 'MinVerVersionOverride', value: '2.3.5-rc.1' }], [])
    expect(p.summary).toEqual([{ tool: 'MinVer', text: expect.stringContaining('from build-args MinVerVersionOverride') as string, value: '2.3.5-rc.1' }])
    expect(p.warnings).toEqual([])
    expect(versioningPlan(['gitversion'], [{ name: 'Version', value: '4.0.1' }], []).summary[0]?.value).toBe('4.0.1')
  })

  it('a version label that disagrees with the binary is named, its text made inert', () => {
    expect(versioningPlan(['minver'], [{ name: 'MinVerVersionOverride', value: '2.3.5' }], ['org.opencontainers.image.version=2.3.5']).warnings).toEqual([])
    expect(versioningPlan(['minver'], [{ name: 'MinVerVersionOverride', value: '2.3.5' }], ['org.opencontainers.image.version=2.3.4']).warnings).toEqual([
      'The label org.opencontainers.image.version=2.3.4 differs from the version the binary carries, 2.3.5 (build-args MinVerVersionOverride).'
    ])
    const w = versioningPlan(['minver'], [], ['org.opencontainers.image.version=1.0\n::error::x']).warnings[0] ?? ''
    expect(w).toContain("The image's label org.opencontainers.image.version=1.0\\x0a:\\x3aerror:\\x3ax does not match the binary's fallback version.")
    expect(w).not.toContain('\n')
  })

  it('every tool names its package, fallback and remedy', () => {
    for (const t of Object.values(TOOLS)) {
      expect(t.packages.length).toBeGreaterThan(0)
      expect(t.fallback).not.toBe('')
      expect(t.remedy).toMatch(/\.$/)
    }
  })
})
