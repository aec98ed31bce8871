import { batchPays, evaluationKey, evaluatorRequest, EVALUATOR_CS, EVALUATOR_METADATA, EVALUATOR_PROJ, parseEvaluatorOutput } from '../../src/dotnet/evaluator.js'
import { parseMsbuildJson } from '../../src/dotnet/project.js'
import { DRIVER, SANDBOX_DIR } from '../../src/dotnet/sandbox.js'
import { ProjectError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'

const props = { MSBuildProjectDirectory: '/ws/src/App', TargetFramework: 'net10.0', OutputType: 'Exe', NuGetPackageRoot: '/home/u/.nuget/packages/', MSBuildExtensionsPath: '/usr/share/dotnet/sdk/10.0.100/', AssemblyOriginatorKeyFile: 'key.snk' }
const items = {
  ProjectReference: [{ Identity: '../Lib/Lib.csproj', FullPath: '/ws/src/Lib/Lib.csproj' }],
  Compile: [{ Identity: 'Program.cs', FullPath: '/ws/src/App/Program.cs' }, { Identity: '../Shared/Clock.cs', FullPath: '/ws/src/Shared/Clock.cs' }],
  None: [{ Identity: 'notes.md', FullPath: '/ws/src/App/notes.md' }, { Identity: 'seed.json', FullPath: '/ws/src/App/seed.json', CopyToOutputDirectory: 'PreserveNewest' }],
  Reference: [{ Identity: 'Vendor', HintPath: '../../vendor/Vendor.dll' }]
}
const imports = ['/usr/share/dotnet/sdk/10.0.100/Sdks/Microsoft.NET.Sdk/Sdk/Sdk.props', '/ws/Directory.Build.props', '/home/u/.nuget/packages/x/1.0.0/build/x.props', '/ws/eng/aot.props']
const line = (o: unknown): string => JSON.stringify(o)

describe('the batch evaluator request', () => {
  it('one value a line: configuration, workspace, what to return, evaluations at once, the names asked for, then the projects', () => {
    expect(evaluatorRequest({ configuration: 'Release', workspace: '/ws', full: true, jobs: 4, properties: ['A', 'B'], items: ['X'], metadata: ['FullPath'], projects: ['/ws/a b/A.csproj', '/ws/B.csproj'] })).toEqual([
      'Release',
      '/ws',
      'full',
      '4',
      'A;B',
      'X',
      'FullPath',
      '/ws/a b/A.csproj',
      '/ws/B.csproj'
    ])
    expect(evaluatorRequest({ configuration: 'Debug', workspace: '/ws', full: false, jobs: 2, properties: [], items: [], metadata: [], projects: [] })[2]).toBe('properties')
  })

  it('refuses a line break in any value: it would shift the lines after it', () => {
    const r = { configuration: 'Release', workspace: '/ws', full: true, jobs: 4, properties: [], items: [], metadata: [], projects: ['/ws/A.csproj'] }
    thrownBy(() => evaluatorRequest({ ...r, projects: ['/ws/a\nb/A.csproj'] }), ProjectError)
    thrownBy(() => evaluatorRequest({ ...r, workspace: '/w\rs' }), ProjectError)
  })

  it('asks for the metadata the facts read', () => {
    expect([...EVALUATOR_METADATA]).toEqual(['FullPath', 'HintPath', 'CopyToOutputDirectory', 'CopyToPublishDirectory', 'DefiningProjectDirectory'])
  })
})

describe('parseEvaluatorOutput: what the batch printed', () => {
  it('an evaluation gives the same facts as -getProperty/-getItem JSON of the same values, and only the repository\'s imports', () => {
    const out = parseEvaluatorOutput(`${line({ project: '/ws/src/App/App.csproj', framework: '', Properties: props, Items: items, Imports: imports })}\n`)
    const e = out.get(evaluationKey('/ws/src/App/App.csproj', ''))
    if (e?.evaluation === undefined) throw new Error('no evaluation parsed')
    const { imports: got, ...facts } = e.evaluation
    expect(facts).toEqual(parseMsbuildJson(JSON.stringify({ Properties: props, Items: items })))
    expect(facts.items?.sort()).toEqual(['/ws/src/App/Program.cs', '/ws/src/App/key.snk', '/ws/src/App/seed.json', '/ws/src/Shared/Clock.cs', '/ws/vendor/Vendor.dll'])
    expect(facts.references).toEqual(['/ws/src/Lib/Lib.csproj'])
    expect(got).toEqual(['/ws/Directory.Build.props', '/ws/eng/aot.props'])
  })

  it('keys each evaluation by project and framework; properties-only lines have no imports', () => {
    const out = parseEvaluatorOutput(
      [
        line({ project: '/ws/Lib/Lib.csproj', framework: '', Properties: { TargetFrameworks: 'net9.0;net10.0' } }),
        line({ project: '/ws/Lib/Lib.csproj', framework: 'net9.0', Properties: { TargetFramework: 'net9.0' }, Items: {}, Imports: [] }),
        ''
      ].join('\n')
    )
    expect([...out.keys()]).toEqual(['/ws/Lib/Lib.csproj|', '/ws/Lib/Lib.csproj|net9.0'])
    expect(out.get('/ws/Lib/Lib.csproj|')?.evaluation?.imports).toBeUndefined()
    expect(out.get('/ws/Lib/Lib.csproj|net9.0')?.evaluation?.imports).toEqual([])
    expect(evaluationKey('/ws/x/../Lib/Lib.csproj', 'net9.0')).toBe('/ws/Lib/Lib.csproj|net9.0')
  })

  it('an error is MSBuild\'s own line, kept for the caller to summarize', () => {
    const err = '/ws/Directory.Build.props(3,5): error MSB4019: The imported project "/ws/x.props" was not found.'
    expect(parseEvaluatorOutput(line({ project: '/ws/A/A.csproj', framework: '', error: err })).get('/ws/A/A.csproj|')).toEqual({ error: err })
  })

  it('a line not in the evaluator\'s shape is left out (the caller evaluates that project on its own): cut short, wrong types, a relative path', () => {
    const ok = line({ project: '/ws/A/A.csproj', framework: '', Properties: { OutputType: 'Exe' } })
    const out = parseEvaluatorOutput(
      [
        ok,
        ok.slice(0, 20).replace('/A/A', '/B/B'),
        line({ project: '/ws/C/C.csproj', framework: '', Properties: { OutputType: 1 } }),
        line({ project: 'D/D.csproj', framework: '', Properties: {} }),
        line({ project: '/ws/E/E.csproj', framework: '', Properties: {}, Items: { Compile: [{ Identity: 3 }] } }),
        line({ project: '/ws/F/F.csproj', framework: '', Properties: {}, Items: {}, Imports: [1] }),
        line({ project: '/ws/G/G.csproj', framework: 7, Properties: {} }),
        '[]',
        'Welcome to .NET'
      ].join('\n')
    )
    expect([...out.keys()]).toEqual(['/ws/A/A.csproj|'])
  })
})

describe('the evaluator in the sandbox driver', () => {
  it('writes the task source and its project into the sandbox folder, each in a heredoc its text cannot end early', () => {
    expect(DRIVER).toContain(`cat >"$S/e/AotEvaluate.cs" <<'AOT_EVALUATOR_CS'\n${EVALUATOR_CS}AOT_EVALUATOR_CS\n`)
    expect(DRIVER).toContain(`cat >"$S/e/eval.proj" <<'AOT_EVALUATOR_PROJ'\n${EVALUATOR_PROJ}AOT_EVALUATOR_PROJ\n`)
    expect(EVALUATOR_CS.split('\n')).not.toContain('AOT_EVALUATOR_CS')
    expect(EVALUATOR_PROJ.split('\n')).not.toContain('AOT_EVALUATOR_PROJ')
    expect(DRIVER).toContain(`S=${SANDBOX_DIR}`)
  })

  it('evaluates only: the task builds no target of a project, and loads each with the configuration and framework as global properties', () => {
    expect(EVALUATOR_CS).toContain('ProjectInstance.FromFile(')
    expect(EVALUATOR_CS).not.toMatch(/\.Build\(|BuildManager|BuildRequestData/)
    expect(EVALUATOR_CS).toContain('["Configuration"] = configuration')
    expect(EVALUATOR_CS).toContain('global["TargetFramework"] = request.Framework')
    // The evaluator project's own targets: compile the task, run it.
    expect([...EVALUATOR_PROJ.matchAll(/<Target Name="(\w+)"/g)].map((m) => m[1])).toEqual(['AotCompile', 'AotEvaluate'])
  })
})

describe('batchPays: one batch, or one dotnet msbuild per evaluation', () => {
  it('the batch once the evaluations one by one would take more than two rounds of the sandbox\'s jobs', () => {
    // The shop fixture (5 projects) without changed-since: 5 processes, 4 at a time, beat the batch's compile.
    expect(batchPays(5, false, 4)).toBe(false)
    expect(batchPays(8, false, 4)).toBe(false)
    expect(batchPays(9, false, 4)).toBe(true)
    // With changed-since each app is evaluated three times and more: the shop fixture batches.
    expect(batchPays(5, true, 4)).toBe(true)
    expect(batchPays(2, true, 4)).toBe(false)
    expect(batchPays(122, false, 8)).toBe(true)
  })
})
