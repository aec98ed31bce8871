import * as path from 'node:path'
import { contextInputs, folderFiles, type FileView, type FolderEntry } from '../../src/dotnet/inputs.js'

/** A file system of the given files (absolute paths), folders implied. */
function view(list: string[], texts: Record<string, string> = {}): FileView {
  const files = new Set(list)
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

const files = [
  '/ws/src/App/App.csproj',
  '/ws/src/App/Program.cs',
  '/ws/src/App/.editorconfig',
  '/ws/src/App/notes.md',
  '/ws/src/App/bin/Release/App.dll',
  '/ws/src/App/obj/project.assets.json',
  '/ws/src/App/.vs/state.json',
  '/ws/src/App/Views/bin/keep.txt',
  '/ws/src/App/Tests/App.Tests.csproj',
  '/ws/src/App/Tests/T.cs',
  '/ws/src/Shared/Linked.cs',
  '/ws/src/Lib/Lib.csproj',
  '/ws/src/Lib/AnalyzerReleases.Shipped.md',
  '/ws/src/Lib/Directory.Build.rsp',
  '/ws/src/Other/Other.csproj',
  '/ws/src/Other/O.cs',
  '/ws/docs/guide.md',
  '/ws/.editorconfig',
  '/ws/other/Outside.cs',
  '/ws/Directory.Build.rsp'
]
const fs = view(files)

describe('contextInputs: each consumed project folder whole, plus what the evaluation names outside them', () => {
  it('admits every file of the project folders (what packages add after restore too), less bin/, obj/, hidden folders and nested projects', () => {
    const r = contextInputs('/ws', '/ws', ['src/App/App.csproj', 'src/Lib/Lib.csproj'], ['/ws/src/App/App.csproj', '/ws/src/Lib/Lib.csproj'], [], fs)
    expect(r.files).toEqual([
      '.editorconfig',
      'Directory.Build.rsp',
      'src/App/.editorconfig',
      'src/App/App.csproj',
      'src/App/Program.cs',
      'src/App/Views/bin/keep.txt',
      'src/App/notes.md',
      'src/Lib/AnalyzerReleases.Shipped.md',
      'src/Lib/Directory.Build.rsp',
      'src/Lib/Lib.csproj'
    ])
  })

  it('a nested project is walked when it is consumed, and not otherwise; other apps, docs and tests stay out', () => {
    const r = contextInputs('/ws', '/ws', [], ['/ws/src/App/App.csproj', '/ws/src/App/Tests/App.Tests.csproj'], [], fs)
    expect(r.files).toContain('src/App/Tests/T.cs')
    const alone = contextInputs('/ws', '/ws', [], ['/ws/src/App/App.csproj'], [], fs)
    expect(alone.files.filter((f) => /Tests|Other|docs/.test(f))).toEqual([])
  })

  it('adds item files outside the project folders, and the .editorconfig / Directory.Build.rsp above them up to the context', () => {
    const r = contextInputs('/ws/src', '/ws', [], ['/ws/src/App/App.csproj'], ['/ws/src/Shared/Linked.cs'], fs)
    expect(r.files).toContain('Shared/Linked.cs')
    expect(r.files).not.toContain('../.editorconfig')
  })

  it('drops item paths that name no file and toolchain files outside the workspace; reports workspace files outside the context', () => {
    const r = contextInputs('/ws/src', '/ws', [], [], ['/ws/src/App/Gone.cs', '/usr/share/dotnet/sdk/analyzers/A.dll', '/ws/other/Outside.cs'], fs)
    expect(r.files).toEqual([])
    expect(r.outside).toEqual(['/ws/other/Outside.cs'])
  })
})

describe('folderFiles', () => {
  it('skips hidden folders, bin/ and obj/ at the top only, folders holding a project file and folders the caller names', () => {
    expect(folderFiles('/ws/src/App', fs).map((f) => path.relative('/ws/src/App', f)).sort()).toEqual(['.editorconfig', 'App.csproj', 'Program.cs', 'Views/bin/keep.txt', 'notes.md'])
    expect(folderFiles('/ws/src', fs, (d) => d === '/ws/src/Lib').map((f) => path.relative('/ws/src', f))).toEqual(['Shared/Linked.cs'])
  })
})
