// What restore and the evaluation read besides project files and imports: local package
// sources named by NuGet.config, files read by property functions and conditions.
import { localPackageSources } from '../../src/dotnet/feeds.js'
import type { FileView, FolderEntry } from '../../src/dotnet/inputs.js'
import { restoreFiles } from '../../src/dotnet/project.js'
import { evaluationReads } from '../../src/dotnet/reads.js'
import { restoreCopies } from '../../src/dockerfile/ignore.js'

function view(texts: Record<string, string>): FileView {
  const files = new Set(Object.keys(texts))
  return {
    isFile: (p) => files.has(p),
    list: (d) => {
      const out = new Map<string, FolderEntry['kind']>()
      for (const f of files) {
        if (!f.startsWith(`${d}/`)) continue
        const [first, ...rest] = f.slice(d.length + 1).split('/')
        if (first !== undefined) out.set(first, rest.length > 0 ? 'dir' : 'file')
      }
      return [...out].map(([name, kind]) => ({ name, kind }))
    },
    read: (p) => texts[p]
  }
}

const CONFIG = `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
    <add key="local" value="./vendor" />
    <add key="nested" value="..\\feeds\\team" />
    <add key="home" value="%HOME%/feed" />
    <add key="gone" value="./old" />
    <remove key="gone" />
  </packageSources>
  <config><add key="globalPackagesFolder" value="packages" /></config>
</configuration>`

describe('localPackageSources', () => {
  it('resolves relative sources from the config folder, skips URLs and removed keys, reports what it cannot resolve', () => {
    expect(localPackageSources('/ws/build/NuGet.config', CONFIG)).toEqual({ folders: ['/ws/build/vendor', '/ws/feeds/team'], unresolved: ['%HOME%/feed'] })
  })

  it('reads a single source, absolute and file:// paths, and nothing from a config without sources or not XML', () => {
    expect(localPackageSources('/ws/NuGet.config', '<configuration><packageSources><add key="a" value="/opt/feed" /></packageSources></configuration>').folders).toEqual(['/opt/feed'])
    expect(localPackageSources('/ws/NuGet.config', '<configuration><packageSources><add key="a" value="file:///srv/feed" /></packageSources></configuration>').folders).toEqual(['/srv/feed'])
    expect(localPackageSources('/ws/NuGet.config', '<configuration />')).toEqual({ folders: [], unresolved: [] })
    expect(localPackageSources('/ws/NuGet.config', 'not <xml')).toEqual({ folders: [], unresolved: [] })
  })
})

describe('evaluationReads', () => {
  it('finds a VERSION file read by a property function and asked for by a condition, from the file\'s own folder', () => {
    const props = `<Project><PropertyGroup>
      <Version Condition="Exists('$(MSBuildThisFileDirectory)VERSION')">$([System.IO.File]::ReadAllText('$(MSBuildThisFileDirectory)VERSION').Trim())</Version>
    </PropertyGroup></Project>`
    const r = evaluationReads('/ws/Directory.Build.props', props, ['/ws/src/App'])
    expect(r.files).toEqual(['/ws/VERSION'])
    expect(r.unresolved).toEqual([])
  })

  it('resolves $(MSBuildProjectDirectory), Path.Combine and NormalizePath, and relative paths from the project and the file', () => {
    const text = `<Project>
      <PropertyGroup><Notes>$([System.IO.File]::ReadAllText($([System.IO.Path]::Combine($(MSBuildProjectDirectory), 'notes.txt'))))</Notes>
      <Key>$([System.IO.File]::ReadAllText($([MSBuild]::NormalizePath('$(MSBuildThisFileDirectory)', '..', 'keys', 'id.txt'))))</Key>
      <Schemas>$([System.IO.Directory]::GetFiles('schemas', '*.json'))</Schemas></PropertyGroup></Project>`
    const r = evaluationReads('/ws/eng/x.props', text, ['/ws/src/App'])
    expect(r.files.sort()).toEqual(['/ws/keys/id.txt', '/ws/src/App/notes.txt'])
    expect(r.folders.sort()).toEqual(['/ws/eng/schemas', '/ws/src/App/schemas'])
  })

  it('reports a read whose path names a property it cannot know; an unknown Exists is only a question', () => {
    const text = `<Project><PropertyGroup Condition="Exists('$(SolutionDir)x.props')"><V>$([System.IO.File]::ReadAllText('$(VersionFile)'))</V></PropertyGroup></Project>`
    const r = evaluationReads('/ws/src/App/App.csproj', text, ['/ws/src/App'])
    expect(r).toEqual({ files: [], folders: [], unresolved: ['$(VersionFile)'] })
  })
})

describe('restoreFiles with the repository at hand', () => {
  const files = view({
    '/ws/NuGet.config': CONFIG.replace('..\\feeds\\team', '/elsewhere/feed'),
    '/ws/vendor/Ledger.Checksum.1.2.0.nupkg': 'PK',
    '/ws/vendor/ledger.tools/1.0.0/ledger.tools.1.0.0.nupkg': 'PK',
    '/ws/Directory.Build.props': `<Project><PropertyGroup><Version>$([System.IO.File]::ReadAllText('$(MSBuildThisFileDirectory)VERSION').Trim())</Version></PropertyGroup></Project>`,
    '/ws/VERSION': '2.5.0\n',
    '/ws/src/App/App.csproj': `<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup Condition="Exists('obj/leftover.json')" /></Project>`,
    '/ws/src/App/obj/leftover.json': '{}',
    '/ws/src/App/Program.cs': ''
  })
  const r = restoreFiles('/ws', ['/ws/src/App/App.csproj'], (p) => files.isFile(p), ['/ws/Directory.Build.props'], '/ws', files)

  it('copies the local package source folder and the file a property function reads into the restore layer', () => {
    expect(r.files).toEqual(['Directory.Build.props', 'NuGet.config', 'VERSION', 'src/App/App.csproj', 'vendor/Ledger.Checksum.1.2.0.nupkg', 'vendor/ledger.tools/1.0.0/ledger.tools.1.0.0.nupkg'])
  })

  it('names a source outside the context, one it cannot resolve, and none of build output', () => {
    expect(r.notes.join('\n')).toMatch(/NuGet\.config names the local package source \/elsewhere\/feed, which lies outside the build context \/ws/)
    expect(r.notes.join('\n')).toMatch(/names the package source %HOME%\/feed, a path the action cannot resolve/)
    expect(r.notes.join('\n')).not.toContain('leftover')
    // ./old was removed by <remove key="gone" />: not named.
    expect(r.notes.join('\n')).not.toMatch(/\bold\b/)
  })

  it('without the view (the old call), nothing is read', () => {
    expect(restoreFiles('/ws', ['/ws/src/App/App.csproj'], (p) => files.isFile(p), ['/ws/Directory.Build.props'], '/ws').files).toEqual(['Directory.Build.props', 'NuGet.config', 'src/App/App.csproj'])
  })
})

describe('restoreCopies', () => {
  it('drops restore inputs the .dockerignore excludes and names them', () => {
    expect(restoreCopies(['NuGet.config', 'src/App/App.csproj', 'vendor/a.nupkg'], '**/*.nupkg\n')).toEqual({ copied: ['NuGet.config', 'src/App/App.csproj'], dropped: ['vendor/a.nupkg'] })
    expect(restoreCopies(['global.json'], undefined)).toEqual({ copied: ['global.json'], dropped: [] })
  })
})
