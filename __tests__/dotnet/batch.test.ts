// The batch evaluator (every project in one MSBuild process of the sandbox) against the one
// `dotnet msbuild` per evaluation it replaces in discovery: on the real engine and SDK image,
// the same facts for every project of the realistic fixtures and of a repository with
// multi-targeting, framework-conditioned references, imports, linked and copied files, and
// broken projects; and none of the per-project invocations once the batch has run.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { evaluateBatch, evaluateProperties, readProject, withSandbox, type Sandbox } from '../../src/dotnet/evaluate.js'
import type { BatchEvaluation } from '../../src/dotnet/evaluator.js'
import { evaluationImage } from '../../src/dotnet/sandbox.js'
import { REPO } from '../pipeline/fakes.js'

const SDK = '<Project Sdk="Microsoft.NET.Sdk">'

function repo(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-'))
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true })
    fs.writeFileSync(path.join(root, f), text)
  }
  return root
}

function projectsIn(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !['bin', 'obj', '.git'].includes(e.name)) out.push(...projectsIn(path.join(dir, e.name)))
    else if (e.isFile() && e.name.endsWith('.csproj')) out.push(path.join(dir, e.name))
  }
  return out.sort()
}

/** The sandbox, with each request's kind counted. */
function counting(sb: Sandbox, kinds: string[]): Sandbox {
  return { ...sb, run: (kind, argv) => (kinds.push(kind), sb.run(kind, argv)) }
}

/** readProject's result or its error, the exit code left out (the batch has none per project). */
async function outcome(f: () => Promise<unknown>): Promise<unknown> {
  try {
    return await f()
  } catch (e) {
    return { error: (e as Error).message.replace(/ \(exit code \d+\)/g, '') }
  }
}

/** Every project read both ways in one sandbox; the frameworks are discovery's (the newest of a multi-targeted app). */
async function bothWays(root: string, frameworks: Record<string, string> = {}): Promise<{ before: unknown[]; after: unknown[]; kinds: string[]; batch: Map<string, BatchEvaluation> }> {
  const projects = projectsIn(root)
  return withSandbox(evaluationImage(''), root, projects, async (sb) => {
    const before: unknown[] = []
    for (const p of projects) before.push(await outcome(() => readProject(p, frameworks[path.basename(p)] ?? '', root, root, 'Release', sb)))
    const b = await evaluateBatch(projects, 'Release', root, true, sb)
    if (b.evaluations === undefined) throw new Error(`the batch failed: ${b.failure}`)
    const kinds: string[] = []
    const after: unknown[] = []
    for (const p of projects) after.push(await outcome(() => readProject(p, frameworks[path.basename(p)] ?? '', root, root, 'Release', counting(sb, kinds), b.evaluations)))
    return { before, after, kinds, batch: b.evaluations }
  })
}

describe('the batch evaluator gives what one dotnet msbuild per evaluation gave', () => {
  test('the shop fixture (references, central packages, props above, a linked source, tests): the same facts and inputs for every project, with no other dotnet run', async () => {
    const { before, after, kinds } = await bothWays(path.join(REPO, 'e2e/fixtures/shop'))
    expect(after).toEqual(before)
    expect(kinds).toEqual([])
    // The comparison compares something: the apps' inputs were read.
    expect(JSON.stringify(before)).toContain('src/Shared/BuildInfo.cs')
  })

  test('the ledger fixture (an analyzer project, a local package project, a .dockerignore): the same', async () => {
    const { before, after, kinds } = await bothWays(path.join(REPO, 'e2e/fixtures/ledger'))
    expect(after).toEqual(before)
    expect(kinds).toEqual([])
  })

  const root = repo({
    'Directory.Build.props': '<Project><PropertyGroup><Nullable>enable</Nullable></PropertyGroup></Project>',
    'eng/common.props': '<Project><PropertyGroup><Deterministic>true</Deterministic></PropertyGroup></Project>',
    'src/Multi/Multi.csproj': `${SDK}<Import Project="../../eng/common.props" />
      <PropertyGroup><OutputType>Exe</OutputType><TargetFrameworks>net9.0;net10.0</TargetFrameworks><PublishAot>true</PublishAot>
        <AssemblyOriginatorKeyFile>key.snk</AssemblyOriginatorKeyFile></PropertyGroup>
      <ItemGroup>
        <Compile Include="../Shared/*.cs" />
        <None Update="data.json" CopyToOutputDirectory="PreserveNewest" />
        <ProjectReference Include="../Lib/Lib.csproj" />
      </ItemGroup></Project>`,
    'src/Multi/Program.cs': 'System.Console.WriteLine(1);\n',
    'src/Multi/data.json': '{}\n',
    'src/Multi/key.snk': 'k',
    'src/Shared/Clock.cs': 'class Clock {}\n',
    'src/Lib/Lib.csproj': `${SDK}<PropertyGroup><TargetFrameworks>net9.0;net10.0</TargetFrameworks></PropertyGroup>
      <ItemGroup Condition="'$(TargetFramework)' == 'net10.0'"><ProjectReference Include="../Only10/Only10.csproj" /></ItemGroup>
      <ItemGroup><Reference Include="Vendor"><HintPath>../../vendor/Vendor.dll</HintPath></Reference></ItemGroup></Project>`,
    'src/Lib/L.cs': 'class L {}\n',
    'vendor/Vendor.dll': 'not really',
    'src/Only10/Only10.csproj': `${SDK}<PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>`,
    'src/Only10/O.cs': 'class O {}\n',
    'src/Broken/Broken.csproj': `${SDK}<PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>\n<ItemGroup>\n</Project>`,
    'src/Missing/Missing.csproj': `${SDK}<Import Project="../../eng/none.props" /><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>`,
    'src/Outside/Outside.csproj': `${SDK}<PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup><ItemGroup><ProjectReference Include="/etc/Else/Else.csproj" /></ItemGroup></Project>`
  })
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  test('multi-targeting, a reference only one framework has, imports, linked, copied and key files, broken projects: the same facts, inputs and errors', async () => {
    const { before, after, kinds, batch } = await bothWays(root, { 'Multi.csproj': 'net10.0' })
    expect(after).toEqual(before)
    expect(kinds).toEqual([])
    const text = JSON.stringify(before)
    for (const f of ['eng/common.props', 'src/Shared/Clock.cs', 'src/Only10/Only10.csproj', 'vendor/Vendor.dll', 'src/Multi/key.snk']) expect(text).toContain(f)
    // Errors as MSBuild code and file:line, per project; a reference outside the workspace is named, not evaluated.
    expect(text).toMatch(/Broken\.csproj: MSB4025 at [^"]*Broken\.csproj:3: /)
    expect(text).toMatch(/Missing\.csproj: MSB4019 at [^"]*Missing\.csproj:1: /)
    expect(text).toContain('Outside.csproj references /etc/Else/Else.csproj, which lies outside the workspace')
    expect([...batch.keys()].some((k) => k.startsWith('/etc/'))).toBe(false)
    // Each framework of the multi-targeted library once, shared by every project that references it.
    expect([...batch.keys()].filter((k) => k.includes('/src/Lib/Lib.csproj|')).sort()).toEqual([`${root}/src/Lib/Lib.csproj|`, `${root}/src/Lib/Lib.csproj|net10.0`, `${root}/src/Lib/Lib.csproj|net9.0`])
  })

  test('properties only (discovery without changed-since): the same properties, and the failures named as before', async () => {
    const projects = projectsIn(root)
    const good = projects.filter((p) => !/Broken|Missing/.test(p))
    await withSandbox(evaluationImage(''), root, projects, async (sb) => {
      const b = await evaluateBatch(projects, 'Release', root, false, sb)
      if (b.evaluations === undefined) throw new Error(`the batch failed: ${b.failure}`)
      const kinds: string[] = []
      expect(await evaluateProperties(good, 'Release', counting(sb, kinds), b.evaluations)).toEqual(await evaluateProperties(good, 'Release', sb))
      expect(kinds).toEqual([])
      const failed = await outcome(() => evaluateProperties(projects, 'Release', sb, b.evaluations))
      expect(failed).toEqual(await outcome(() => evaluateProperties(projects, 'Release', sb)))
      expect(JSON.stringify(failed)).toContain('MSB4025')
    })
  })
})
