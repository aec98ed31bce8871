import { contextInputs } from '../../src/dotnet/inputs.js'

const files = new Set([
  '/ws/src/App/Program.cs',
  '/ws/src/Shared/Linked.cs',
  '/ws/src/App/.editorconfig',
  '/ws/.editorconfig',
  '/ws/src/Lib/Directory.Build.rsp',
  '/ws/other/Outside.cs',
  '/ws/Directory.Build.rsp'
])
const isFile = (p: string): boolean => files.has(p)

describe('contextInputs', () => {
  it('adds the item files inside the context to the restore inputs, context-relative and sorted', () => {
    const r = contextInputs('/ws', '/ws', ['src/App/App.csproj'], ['/ws/src/App/App.csproj'], ['/ws/src/App/Program.cs', '/ws/src/Shared/Linked.cs'], isFile)
    expect(r.files).toEqual(['.editorconfig', 'Directory.Build.rsp', 'src/App/.editorconfig', 'src/App/App.csproj', 'src/App/Program.cs', 'src/Shared/Linked.cs'])
    expect(r.outside).toEqual([])
  })

  it('finds .editorconfig and Directory.Build.rsp from every project and source folder up to the context, not above it', () => {
    const r = contextInputs('/ws/src', '/ws', [], ['/ws/src/App/App.csproj', '/ws/src/Lib/Lib.csproj'], [], isFile)
    expect(r.files).toEqual(['App/.editorconfig', 'Lib/Directory.Build.rsp'])
  })

  it('drops item paths that name no file and toolchain files outside the workspace; reports workspace files outside the context', () => {
    const r = contextInputs('/ws/src', '/ws', [], [], ['/ws/src/App/Program.cs', '/ws/src/App/Gone.cs', '/usr/share/dotnet/sdk/analyzers/A.dll', '/ws/other/Outside.cs'], isFile)
    expect(r.files).toEqual(['App/.editorconfig', 'App/Program.cs'])
    expect(r.outside).toEqual(['/ws/other/Outside.cs'])
  })
})
