// The computed input set, evaluated by the real dotnet in the evaluation sandbox (a container
// of the SDK image on this machine's engine): what MSBuild's items and imports say a build
// consumes, and nothing else from the repository.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { readProject as readIn, withSandbox } from '../../src/dotnet/evaluate.js'
import { evaluationImage } from '../../src/dotnet/sandbox.js'

const readProject = (project: string, framework: string, context: string, workspace: string): ReturnType<typeof readIn> =>
  withSandbox(evaluationImage(''), workspace, [project], (sb) => readIn(project, framework, context, workspace, 'Release', sb))

const SDK = '<Project Sdk="Microsoft.NET.Sdk">'

function repo(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'inputs-'))
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true })
    fs.writeFileSync(path.join(root, f), text)
  }
  return root
}

const LIB = (body = ''): string => `${SDK}<PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>${body}</Project>`

describe('readProject: the files a build consumes, as the real dotnet lists them', () => {
  const root = repo({
    'Directory.Build.props': '<Project><PropertyGroup><Nullable>enable</Nullable></PropertyGroup></Project>',
    '.editorconfig': 'root = true\n',
    'README.md': '# repo\n',
    'docs/ops.md': 'ops\n',
    'eng/extra.props': '<Project />',
    'src/App/App.csproj': `${SDK}<Import Project="../../eng/extra.props" />
      <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup>
      <ItemGroup>
        <Compile Remove="Legacy/**" />
        <Compile Include="../Shared/**/*.cs" LinkBase="Shared" />
        <None Update="seed.json" CopyToOutputDirectory="PreserveNewest" />
        <EmbeddedResource Include="Strings.txt" />
        <ProjectReference Include="../Lib1/Lib1.csproj" />
      </ItemGroup></Project>`,
    'src/App/Program.cs': 'System.Console.WriteLine(1);\n',
    'src/App/Models/Order.cs': 'class Order {}\n',
    'src/App/Legacy/Old.cs': 'class Old {}\n',
    'src/App/seed.json': '{}\n',
    'src/App/notes.md': 'not consumed\n',
    'src/App/Strings.txt': 'hello\n',
    'src/Shared/Deep/Clock.cs': 'class Clock {}\n',
    'src/Lib1/Lib1.csproj': LIB('<ItemGroup><ProjectReference Include="../Lib2/Lib2.csproj" /></ItemGroup>'),
    'src/Lib1/A.cs': 'class A {}\n',
    // Globs its own folder by hand, as older projects do.
    'src/Lib2/Lib2.csproj': LIB('<PropertyGroup><EnableDefaultCompileItems>false</EnableDefaultCompileItems></PropertyGroup><ItemGroup><Compile Include="**/*.cs" /></ItemGroup>'),
    'src/Lib2/Sub/B.cs': 'class B {}\n',
    'src/Lib2/b.txt': 'not consumed\n',
    'src/Other/Other.csproj': LIB(),
    'src/Other/O.cs': 'class O {}\n',
    'tests/T/T.csproj': LIB('<ItemGroup><ProjectReference Include="../../src/App/App.csproj" /></ItemGroup>'),
    'tests/T/T.cs': 'class T {}\n'
  })
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('holds the folders of the project and its references of references whole, linked sources, imports and .editorconfig; not other projects, docs or tests', async () => {
    const r = await readProject(path.join(root, 'src/App'), '', root, root)
    expect(r.contextFiles).toEqual([
      '.editorconfig',
      'Directory.Build.props',
      'eng/extra.props',
      'src/App/App.csproj',
      // Not items before restore, but in the project's folder: a package may add them after.
      'src/App/Legacy/Old.cs',
      'src/App/Models/Order.cs',
      'src/App/Program.cs',
      'src/App/Strings.txt',
      'src/App/notes.md',
      'src/App/seed.json',
      'src/Lib1/A.cs',
      'src/Lib1/Lib1.csproj',
      'src/Lib2/Lib2.csproj',
      'src/Lib2/Sub/B.cs',
      'src/Lib2/b.txt',
      'src/Shared/Deep/Clock.cs'
    ])
    expect(r.itemsOutside).toEqual([])
  })

  it('names item files that lie outside the context (a linked source above it)', async () => {
    const r = await readProject(path.join(root, 'src/App'), '', path.join(root, 'src/App'), root).catch((e: unknown) => e)
    // The referenced projects are outside that context: refused, by name, before any item is looked at.
    expect(String(r)).toMatch(/Lib1\.csproj is outside the build context/)
    const lone = repo({
      'app/App.csproj': `${SDK}<PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup><ItemGroup><Compile Include="../shared/*.cs" /></ItemGroup></Project>`,
      'app/Program.cs': 'System.Console.WriteLine(1);\n',
      'shared/S.cs': 'class S {}\n'
    })
    const r2 = await readProject(path.join(lone, 'app'), '', path.join(lone, 'app'), lone)
    expect(r2.itemsOutside).toEqual([path.join(lone, 'shared/S.cs')])
    expect(r2.contextFiles).toEqual(['App.csproj', 'Program.cs'])
    fs.rmSync(lone, { recursive: true, force: true })
  })

  it('puts a VERSION file a property function reads and a NuGet.config local source folder into the restore layer', async () => {
    const v = repo({
      'Directory.Build.props': `<Project><PropertyGroup><Version Condition="Exists('$(MSBuildThisFileDirectory)VERSION')">$([System.IO.File]::ReadAllText('$(MSBuildThisFileDirectory)VERSION').Trim())</Version></PropertyGroup></Project>`,
      VERSION: '2.5.0\n',
      'NuGet.config': '<configuration><packageSources><add key="local" value="./vendor" /></packageSources></configuration>',
      'vendor/Tiny.1.0.0.nupkg': 'PK',
      'docs/a.md': 'a\n',
      'app/App.csproj': `${SDK}<PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup></Project>`,
      'app/Program.cs': 'System.Console.WriteLine(1);\n'
    })
    const r = await readProject(path.join(v, 'app'), '', v, v)
    expect(r.restoreFiles).toEqual(['Directory.Build.props', 'NuGet.config', 'VERSION', 'app/App.csproj', 'vendor/Tiny.1.0.0.nupkg'])
    expect(r.contextFiles).toEqual(['Directory.Build.props', 'NuGet.config', 'VERSION', 'app/App.csproj', 'app/Program.cs', 'vendor/Tiny.1.0.0.nupkg'])
    expect(r.notes).toEqual([])
    fs.rmSync(v, { recursive: true, force: true })
  })

  it('follows a reference a multi-targeted library makes for one framework only, and takes the strong-name key a property names', async () => {
    const mt = repo({
      'app/App.csproj': `${SDK}<PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup><ItemGroup><ProjectReference Include="../multi/Multi.csproj" /></ItemGroup></Project>`,
      'app/Program.cs': 'System.Console.WriteLine(1);\n',
      'multi/Multi.csproj': `${SDK}<PropertyGroup><TargetFrameworks>net9.0;net10.0</TargetFrameworks><SignAssembly>true</SignAssembly><AssemblyOriginatorKeyFile>../keys/shop.snk</AssemblyOriginatorKeyFile></PropertyGroup><ItemGroup Condition="'$(TargetFramework)' == 'net10.0'"><ProjectReference Include="../only10/Only10.csproj" /></ItemGroup></Project>`,
      'multi/M.cs': 'class M {}\n',
      'keys/shop.snk': 'not a real key\n',
      'only10/Only10.csproj': LIB(),
      'only10/O.cs': 'class O {}\n'
    })
    const r = await readProject(path.join(mt, 'app'), '', mt, mt)
    expect(r.contextFiles).toEqual(['app/App.csproj', 'app/Program.cs', 'keys/shop.snk', 'multi/M.cs', 'multi/Multi.csproj', 'only10/O.cs', 'only10/Only10.csproj'])
    fs.rmSync(mt, { recursive: true, force: true })
  })

  // A committed symlink out of the workspace must not make the runner answer whether a path
  // outside exists (a missing one said "does not exist", an existing one went on to evaluation).
  it('a ProjectReference through a symlink out of the workspace is refused by name, whether or not its target exists', async () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'refout-'))
    const ws = path.join(top, 'ws')
    fs.mkdirSync(path.join(top, 'outside', 'Secret'), { recursive: true })
    fs.writeFileSync(path.join(top, 'outside', 'Secret', 'Secret.csproj'), LIB())
    const app = (ref: string): string => `${SDK}<PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup><ItemGroup><ProjectReference Include="${ref}" /></ItemGroup></Project>`
    fs.mkdirSync(path.join(ws, 'there'), { recursive: true })
    fs.mkdirSync(path.join(ws, 'notthere'))
    fs.writeFileSync(path.join(ws, 'there', 'App.csproj'), app('../ext/Secret/Secret.csproj'))
    fs.writeFileSync(path.join(ws, 'notthere', 'App.csproj'), app('../ext/Nope/Nope.csproj'))
    fs.symlinkSync('../outside', path.join(ws, 'ext'))
    for (const [dir, ref] of [['there', 'Secret/Secret.csproj'], ['notthere', 'Nope/Nope.csproj']]) {
      await expect(readProject(path.join(ws, dir ?? ''), '', ws, ws)).rejects.toThrow(`App.csproj references ${path.join(ws, 'ext', ref ?? '')}, which lies outside the workspace`)
    }
    fs.rmSync(top, { recursive: true, force: true })
  })
})
