import * as fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ProjectError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'
import {
  FILE_PROPERTIES,
  INPUT_ITEMS,
  MSBUILD_PROPERTIES,
  msbuildArgv,
  LOCATION_PROPERTIES,
  parseImports,
  preprocessArgv,
  repositoryImports,
  parseMsbuildJson,
  projectFacts,
  restoreFiles,
  type MsbuildEvaluation,
  type ProjectProperties
} from '../../src/dotnet/project.js'
import { VERSIONING_PROPERTIES } from '../../src/dotnet/versioning.js'

const fixture = (name: string): string => fs.readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8')

const API = '/ws/src/TodoApi/TodoApi.csproj'

/** Properties of a valid Native AOT web app, as `dotnet msbuild -getProperty` reports them. */
const WEB: ProjectProperties = {
  TargetName: 'TodoApi',
  AssemblyName: 'TodoApi',
  TargetFramework: 'net10.0',
  TargetFrameworks: '',
  PublishAot: 'true',
  InvariantGlobalization: 'true',
  OutputType: 'Exe',
  UsingMicrosoftNETSdk: 'true',
  UsingMicrosoftNETSdkWeb: 'true'
}

const ev = (over: ProjectProperties, references: string[] = []): MsbuildEvaluation => ({ properties: { ...WEB, ...over }, references })

const projectError = (f: () => unknown): ProjectError => thrownBy(f, ProjectError)

describe('msbuildArgv', () => {
  it('asks for every property and the project references, without building', () => {
    expect(msbuildArgv(API, '', 'Release')).toEqual([
      'msbuild',
      API,
      '-nologo',
      '-noAutoResponse',
      '-nodeReuse:false',
      '-property:Configuration=Release',
      ...[...MSBUILD_PROPERTIES, ...LOCATION_PROPERTIES, ...FILE_PROPERTIES, ...VERSIONING_PROPERTIES].map((p) => `-getProperty:${p}`),
      '-getItem:ProjectReference',
      '-getItem:PackageReference',
      ...INPUT_ITEMS.map((i) => `-getItem:${i}`)
    ])
  })

  it('evaluates with the configuration the build uses', () => {
    expect(msbuildArgv(API, '', 'Debug')).toContain('-property:Configuration=Debug')
    expect(preprocessArgv(API, '', 'Staging', '/tmp/x.xml')).toContain('-property:Configuration=Staging')
  })

  it('never reads response files and never runs a target', () => {
    for (const argv of [msbuildArgv(API, 'net9.0', 'Release'), preprocessArgv(API, 'net9.0', 'Release', '/tmp/pp.xml')]) {
      expect(argv).toContain('-noAutoResponse')
      expect(argv.some((a) => /^[-/](t|target|restore|r)[:]?/i.test(a) && !a.startsWith('-property:'))).toBe(false)
    }
  })

  it('picks the framework when one is given', () => {
    const argv = msbuildArgv(API, 'net9.0')
    expect(argv).toContain('-property:TargetFramework=net9.0')
    expect(argv.filter((a) => a.startsWith('-property:'))).toHaveLength(2)
    expect(argv).not.toContain('-t:Build')
  })
})

describe('parseImports and repositoryImports', () => {
  // The shape `dotnet msbuild -preprocess` writes: each import's path on its own line, then '='s.
  const bar = '='.repeat(140)
  const pp = [
    '<Project>',
    '  <!--',
    bar,
    '  <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk">',
    '',
    '/usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/Sdk/Sdk.props',
    bar,
    '-->',
    '/ws/src/Directory.Build.props',
    bar,
    '/ws/Directory.Build.props',
    bar,
    '/ws/src/Directory.Build.props',
    bar,
    '/ws/src/Api/obj/Api.csproj.nuget.g.props',
    bar,
    '/root/.nuget/packages/some.package/1.0.0/build/some.package.props',
    bar,
    '/ws/eng/aot.props',
    bar,
    '  <PropertyGroup><X>/not/an/import</X></PropertyGroup>',
    '</Project>'
  ].join('\n')

  it('lists every imported file once, in order', () => {
    expect(parseImports(pp)).toEqual([
      '/usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/Sdk/Sdk.props',
      '/ws/src/Directory.Build.props',
      '/ws/Directory.Build.props',
      '/ws/src/Api/obj/Api.csproj.nuget.g.props',
      '/root/.nuget/packages/some.package/1.0.0/build/some.package.props',
      '/ws/eng/aot.props'
    ])
  })

  it("keeps the repository's own imports: not the SDK's, not packages', not restore output", () => {
    expect(repositoryImports(parseImports(pp), ['/ws/src/Api/obj/', '/root/.nuget/packages/', '/usr/share/dotnet/sdk/10.0.401/', '/usr/share/dotnet/', ''])).toEqual([
      '/ws/src/Directory.Build.props',
      '/ws/Directory.Build.props',
      '/ws/eng/aot.props'
    ])
  })
})

describe('parseMsbuildJson', () => {
  it('reads Properties and the FullPath of each ProjectReference', () => {
    const got = parseMsbuildJson(fixture('msbuild-getproperty.json'))
    expect(got.properties.TargetName).toBe('TodoApi')
    expect(got.properties.UsingMicrosoftNETSdkWeb).toBe('true')
    expect(got.references).toEqual(['/ws/src/Todo.Domain/Todo.Domain.csproj', '/ws/src/Todo.Data/Todo.Data.csproj'])
  })

  it('skips text printed before the JSON', () => {
    const got = parseMsbuildJson(`  Determining projects to restore...\n${fixture('msbuild-getproperty.json')}`)
    expect(got.properties.OutputType).toBe('Exe')
  })

  it('falls back to Identity and tolerates a project without references', () => {
    expect(parseMsbuildJson('{"Properties":{"OutputType":"Exe"},"Items":{"ProjectReference":[{"Identity":"../L/L.csproj"}]}}').references).toEqual(['../L/L.csproj'])
    expect(parseMsbuildJson('{"Properties":{"OutputType":"Exe"}}')).toEqual({ properties: { OutputType: 'Exe' }, references: [], items: [], locations: [], packages: [] })
  })

  it('lists the PackageReference ids (a GlobalPackageReference is one too)', () => {
    const json = '{"Properties":{"OutputType":"Exe"},"Items":{"PackageReference":[{"Identity":"MinVer","PrivateAssets":"all"},{"Identity":"Nerdbank.GitVersioning","Version":""}]}}'
    expect(parseMsbuildJson(json).packages).toEqual(['MinVer', 'Nerdbank.GitVersioning'])
  })

  it('throws a ProjectError when there is no JSON', () => {
    expect(projectError(() => parseMsbuildJson('MSBUILD : error MSB1009: Project file does not exist.')).message).toContain('printed no JSON')
  })
})

describe('projectFacts: valid projects', () => {
  it('a web app', () => {
    const refs = ['/ws/src/Todo.Domain/Todo.Domain.csproj']
    expect(projectFacts(API, ev({}), '', refs)).toEqual({
      projectFile: API,
      targetName: 'TodoApi',
      targetFramework: 'net10.0',
      multiTargeted: false,
      dotnetMajor: 10,
      invariantGlobalization: true,
      isWeb: true,
      references: refs,
      assetsFile: ''
    })
  })

  it('where restore writes project.assets.json: MSBuildProjectExtensionsPath, absolute or from the project folder', () => {
    expect(projectFacts(API, ev({ MSBuildProjectExtensionsPath: '/ws/artifacts/obj/TodoApi/' }), '', []).assetsFile).toBe('/ws/artifacts/obj/TodoApi/project.assets.json')
    expect(projectFacts(API, ev({ MSBuildProjectExtensionsPath: 'obj\\' }), '', []).assetsFile).toBe('/ws/src/TodoApi/obj/project.assets.json')
    // NuGet's own property wins where it is set (RestoreOutputPath moves the file).
    expect(projectFacts(API, ev({ MSBuildProjectExtensionsPath: '/ws/src/TodoApi/obj/', ProjectAssetsFile: '/ws/restore/api/project.assets.json' }), '', []).assetsFile).toBe('/ws/restore/api/project.assets.json')
  })

  it('a console app on .NET 9 with culture data', () => {
    const f = projectFacts('/ws/Tool/Tool.csproj', ev({ TargetName: 'tool', UsingMicrosoftNETSdkWeb: '', InvariantGlobalization: '', TargetFramework: 'net9.0' }), '', [])
    expect(f).toMatchObject({ targetName: 'tool', targetFramework: 'net9.0', dotnetMajor: 9, isWeb: false, invariantGlobalization: false, multiTargeted: false })
  })

  it('a multi-targeted app with the framework chosen', () => {
    const f = projectFacts(API, ev({ TargetFramework: 'net9.0', TargetFrameworks: 'net9.0;net10.0' }), 'net9.0', [])
    expect(f).toMatchObject({ targetFramework: 'net9.0', multiTargeted: true, dotnetMajor: 9 })
  })

  it('reads booleans case-insensitively and falls back to the file name for TargetName', () => {
    const f = projectFacts(API, ev({ PublishAot: 'True', OutputType: 'exe', TargetName: '', AssemblyName: '' }), '', [])
    expect(f.targetName).toBe('TodoApi')
  })
})

describe('projectFacts: errors', () => {
  it('not SDK-style', () => {
    const e = projectError(() => projectFacts(API, ev({ UsingMicrosoftNETSdk: '' }), '', []))
    expect(e.message).toContain('TodoApi.csproj is not an SDK-style project')
    expect(e.message).toContain('Sdk="Microsoft.NET.Sdk"')
  })

  it('a library', () => {
    const e = projectError(() => projectFacts(API, ev({ OutputType: 'Library' }), '', []))
    expect(e.message).toContain('OutputType "Library"')
    expect(e.message).toContain('OutputType Exe')
  })

  it.each([
    ['false', 'false'],
    ['missing', undefined]
  ])('PublishAot %s', (_label, value) => {
    const e = projectError(() => projectFacts(API, ev({ PublishAot: value }), '', []))
    expect(e.message).toContain(`PublishAot is "${value ?? ''}"`)
    expect(e.message).toContain('<PublishAot>true</PublishAot>')
    expect(e.message).toContain('<PropertyGroup>')
    expect(e.message).toContain('Directory.Build.props')
    expect(e.message).toContain('does not force it from the command line')
  })

  it('multi-targeted without a framework lists the frameworks', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetFramework: '', TargetFrameworks: 'net9.0; net10.0' }), '', []))
    expect(e.message).toContain('targets several frameworks (net9.0, net10.0)')
    expect(e.message).toContain('"framework" input')
  })

  it('a framework the project does not list', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetFramework: '', TargetFrameworks: 'net9.0;net10.0' }), 'net11.0', []))
    expect(e.message).toBe('Input "framework": TodoApi.csproj does not target "net11.0". Accepted: one of net9.0, net10.0.')
  })

  it('a framework other than the single target', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetFramework: 'net9.0' }), 'net10.0', []))
    expect(e.message).toBe('Input "framework": TodoApi.csproj targets only "net9.0", not "net10.0". Accepted: "net9.0", or leave "framework" empty.')
  })

  it('net8.0 is rejected and net9.0 named as the oldest', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetFramework: 'net8.0' }), '', []))
    expect(e.message).toContain('targets net8.0')
    expect(e.message).toContain('net9.0 or later')
  })

  it('an OS-specific framework', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetFramework: 'net10.0-windows' }), '', []))
    expect(e.message).toContain('"net10.0-windows"')
    expect(e.message).toContain('without an OS suffix')
  })

  it('a TargetName that cannot be a literal ENTRYPOINT', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetName: 'Todo Api' }), '', []))
    expect(e.message).toContain('TargetName "Todo Api"')
    expect(e.message).toContain('ENTRYPOINT')
  })
})

describe('restoreFiles', () => {
  const ctx = '/ws'
  const api = '/ws/src/Api/Api.csproj'
  const lib = '/ws/src/Api/Lib/Lib.csproj' // nested inside another project's folder
  const core = '/ws/shared/Core/Core.csproj'
  const present = new Set([
    '/Directory.Build.props', // above the context: not copied
    '/ws/Directory.Build.props',
    '/ws/global.json',
    '/ws/NuGet.config',
    '/ws/src/Directory.Packages.props',
    '/ws/src/packages.lock.json', // not a project folder: not copied
    '/ws/src/Api/packages.lock.json',
    '/ws/src/Api/Directory.Build.targets',
    '/ws/shared/Core/packages.lock.json',
    '/ws/eng/aot.props' // imported by name only
  ])
  const exists = (p: string): boolean => present.has(p)

  it('copies every project and the restore files from its folder up to the context (no SDK: Directory.* by name)', () => {
    expect(restoreFiles(ctx, [api, lib, core], exists).files).toEqual(
      [
        'Directory.Build.props',
        'NuGet.config',
        'global.json',
        'shared/Core/Core.csproj',
        'shared/Core/packages.lock.json',
        'src/Api/Api.csproj',
        'src/Api/Directory.Build.targets',
        'src/Api/Lib/Lib.csproj',
        'src/Api/packages.lock.json',
        'src/Directory.Packages.props'
      ].sort()
    )
  })

  it('takes packages.lock.json only from the project own folder', () => {
    const got = restoreFiles(ctx, [lib], exists).files
    expect(got).toContain('src/Api/Lib/Lib.csproj')
    expect(got).toContain('src/Api/Directory.Build.targets')
    expect(got).not.toContain('src/Api/packages.lock.json')
    expect(got).not.toContain('src/packages.lock.json')
  })

  it('stops at the context when the context is a sub folder', () => {
    expect(restoreFiles('/ws/src', [api], exists).files).toEqual(['Api/Api.csproj', 'Api/Directory.Build.targets', 'Api/packages.lock.json', 'Directory.Packages.props'])
  })

  it('with the SDK, copies exactly the imports MSBuild listed (any name, any folder in the context), and config files by name', () => {
    const imports = ['/ws/Directory.Build.props', '/ws/eng/aot.props', '/ws/src/Api/Directory.Build.targets']
    expect(restoreFiles(ctx, [api], exists, imports, '/ws').files).toEqual([
      'Directory.Build.props',
      'NuGet.config',
      'eng/aot.props',
      'global.json',
      'src/Api/Api.csproj',
      'src/Api/Directory.Build.targets',
      'src/Api/packages.lock.json'
    ])
  })

  it('refuses an import above the context by name, and names the context that would hold it', () => {
    const e = projectError(() => restoreFiles('/ws/src/Api', [api], exists, ['/ws/src/Directory.Packages.props', '/ws/src/Api/Directory.Build.targets'], '/ws'))
    expect(e.message).toContain('/ws/src/Directory.Packages.props is imported')
    expect(e.message).toContain('outside the build context /ws/src/Api')
    expect(e.message).toContain('(/ws/src)')
    expect(e.message).toContain('"context" input')
  })

  it("ignores imports outside the workspace (the runner's SDK and packages; the build image has its own)", () => {
    expect(restoreFiles('/ws/src', [api], exists, ['/opt/toolchain/extra.props'], '/ws').files).toEqual(['Api/Api.csproj', 'Api/packages.lock.json'])
  })

  it('reports NuGet.config and global.json above the context instead of missing them silently', () => {
    const r = restoreFiles('/ws/src', [api], exists, [], '/ws')
    expect(r.warnings).toEqual(['/ws/NuGet.config', '/ws/global.json'])
    expect(r.files).not.toContain('../NuGet.config')
  })

  it('rejects a project outside the context', () => {
    const e = projectError(() => restoreFiles('/ws/src', [api, core], exists))
    expect(e.message).toContain(`${core} is outside the build context /ws/src`)
    expect(e.message).toContain('"context" input')
  })
})

describe('values from the project are never quoted whole', () => {
  it('a TargetName read from a file (a property function) is clipped in the error', () => {
    const secret = `ghp_${'x'.repeat(5000)}`
    const e = projectError(() => projectFacts(API, ev({ TargetName: `{"auths":{"ghcr.io":{"auth":"${secret}"}}}` }), '', []))
    expect(e.message.length).toBeLessThan(600)
    expect(e.message).toContain('more characters')
    expect(e.message).not.toContain('x'.repeat(100))
  })

  it('control characters are shown as escapes, not written to the log', () => {
    const e = projectError(() => projectFacts(API, ev({ TargetName: 'a\u001b[31mred\u0007' }), '', []))
    expect(e.message).toContain('\\x1b[31mred\\x07')
    expect(e.message.includes(String.fromCharCode(27))).toBe(false)
  })
})

describe('parseMsbuildJson: the files the items name', () => {
  const item = (full: string, meta: Record<string, string> = {}): Record<string, string> => ({ Identity: full, FullPath: full, DefiningProjectDirectory: '/ws/eng', ...meta })
  const parse = (items: Record<string, Record<string, string>[]>): string[] =>
    parseMsbuildJson(JSON.stringify({ Properties: { MSBuildProjectDirectory: '/ws/src/App' }, Items: items })).items ?? []

  it('takes sources, content, resources and Native AOT inputs by their full path', () => {
    expect(
      parse({
        Compile: [item('/ws/src/App/Program.cs'), item('/ws/src/Shared/Linked.cs')],
        Content: [item('/ws/src/App/wwwroot/site.css')],
        EmbeddedResource: [item('/ws/src/App/Strings.resx')],
        RdXmlFile: [item('/ws/src/App/rd.xml')],
        Protobuf: [item('/ws/protos/greet.proto')]
      }).sort()
    ).toEqual(['/ws/protos/greet.proto', '/ws/src/App/Program.cs', '/ws/src/App/Strings.resx', '/ws/src/App/rd.xml', '/ws/src/App/wwwroot/site.css', '/ws/src/Shared/Linked.cs'])
  })

  it('keeps a None item only when it is copied to the output or publish folder', () => {
    expect(
      parse({
        None: [
          item('/ws/src/App/README.md'),
          item('/ws/src/App/data.csv', { CopyToOutputDirectory: 'PreserveNewest' }),
          item('/ws/src/App/seed.json', { CopyToPublishDirectory: 'Always' }),
          item('/ws/src/App/never.txt', { CopyToOutputDirectory: 'Never' })
        ]
      })
    ).toEqual(['/ws/src/App/data.csv', '/ws/src/App/seed.json'])
  })

  it('takes the files properties name (a strong-name key, an icon), read from the project folder', () => {
    const items = parseMsbuildJson(JSON.stringify({ Properties: { MSBuildProjectDirectory: '/ws/src/App', AssemblyOriginatorKeyFile: '..\\..\\key.snk', ApplicationIcon: 'app.ico', Win32Resource: '' }, Items: {} })).items
    expect(items).toEqual(['/ws/key.snk', '/ws/src/App/app.ico'])
  })

  it('takes a local assembly reference by its HintPath, read from the project folder; framework references name no file', () => {
    expect(parse({ Reference: [item('/ws/src/App/Vendor', { HintPath: '..\\..\\lib\\Vendor.dll' }), item('/ws/src/App/System.Net.Http', { Identity: 'System.Net.Http' })] })).toEqual(['/ws/lib/Vendor.dll'])
  })
})

describe('restoreFiles: the import list can be forged by the repository (text in the preprocessed output)', () => {
  it('takes an import only where it exists inside the workspace (exists never looks through a link out)', () => {
    const present = new Set(['/ws/src/Api/Api.csproj', '/ws/Directory.Build.props'])
    const r = restoreFiles('/ws', ['/ws/src/Api/Api.csproj'], (p) => present.has(p), ['/ws/Directory.Build.props', '/ws/L/.ssh/id_rsa'], '/ws')
    expect(r.files).toContain('Directory.Build.props')
    expect(r.files).not.toContain('L/.ssh/id_rsa')
  })
})
