import { firstChangedInput, imageSlug, isAotApp, matrixEntries, newestFramework, parseSln, parseSlnx, validRevision } from '../../src/dotnet/solution.js'
import { ProjectError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'

describe('parseSln', () => {
  it('lists the C# projects, backslashes turned to slashes, not solution folders or other languages', () => {
    const sln = [
      'Microsoft Visual Studio Solution File, Format Version 12.00',
      'Project("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "Api", "src\\Api\\Api.csproj", "{11111111-1111-1111-1111-111111111111}"',
      'EndProject',
      'Project("{2150E333-8FDC-42A3-9474-1A3956D46DE8}") = "src", "src", "{22222222-2222-2222-2222-222222222222}"',
      'EndProject',
      'Project("{F2A71F9B-5D33-465A-A702-920D77279786}") = "Tool", "tools\\Tool.fsproj", "{33333333-3333-3333-3333-333333333333}"',
      'EndProject',
      '  Project("{9A19103F-16F7-4668-BE54-9A1E7A4F7556}") = "Lib", "src/Lib/Lib.csproj", "{44444444-4444-4444-4444-444444444444}"'
    ].join('\r\n')
    expect(parseSln(sln)).toEqual(['src/Api/Api.csproj', 'src/Lib/Lib.csproj'])
  })
})

describe('parseSlnx', () => {
  it('lists projects at the top and in nested folders', () => {
    const x = '<Solution><Project Path="a/A.csproj" /><Folder Name="/src/"><Project Path="src\\B\\B.csproj" /><Folder Name="/src/x/"><Project Path="src/x/C.csproj" Type="Classic C#" /></Folder></Folder><Project Path="d/D.vbproj" /></Solution>'
    expect(parseSlnx(x)).toEqual(['a/A.csproj', 'src/B/B.csproj', 'src/x/C.csproj'])
  })

  it('an empty solution lists nothing; a file that is not a solution is a clear error', () => {
    expect(parseSlnx('<Solution />')).toEqual([])
    expect(thrownBy(() => parseSlnx('<Project />'), ProjectError).message).toContain('no <Solution> root element')
  })
})

describe('isAotApp', () => {
  it('an executable with PublishAot, not a library, not a test project', () => {
    expect(isAotApp({ OutputType: 'Exe', PublishAot: 'true' })).toBe(true)
    expect(isAotApp({ OutputType: 'exe', PublishAot: 'True' })).toBe(true)
    expect(isAotApp({ OutputType: 'Library', PublishAot: 'true' })).toBe(false)
    expect(isAotApp({ OutputType: 'Exe', PublishAot: '' })).toBe(false)
    expect(isAotApp({ OutputType: 'Exe', PublishAot: 'true', IsTestProject: 'true' })).toBe(false)
  })
})

describe('matrix entries', () => {
  it('slugs are lower-case image-name components', () => {
    expect(imageSlug('Shop.Api')).toBe('shop-api')
    expect(imageSlug('My__App 2')).toBe('my-app-2')
    expect(imageSlug('...')).toBe('app')
  })

  it('sorted by project; a name two projects share is made unique from the folder', () => {
    expect(matrixEntries([{ project: 'b/Api/Api.csproj', framework: '' }, { project: 'a/Api/Api.csproj', framework: 'net10.0' }, { project: 'c/Web.csproj', framework: '' }], 'linux/amd64')).toEqual([
      { project: 'a/Api/Api.csproj', name: 'a-api-api', platforms: 'linux/amd64', framework: 'net10.0' },
      { project: 'b/Api/Api.csproj', name: 'b-api-api', platforms: 'linux/amd64', framework: '' },
      { project: 'c/Web.csproj', name: 'web', platforms: 'linux/amd64', framework: '' }
    ])
  })

  it('names stay unique when paths slug alike (two jobs must never push to one repository)', () => {
    const names = (ps: string[]): string[] => matrixEntries(ps.map((project) => ({ project, framework: '' })), 'linux/amd64').map((e) => e.name)
    expect(names(['x/Api.csproj', 'y/Api.csproj', 'x-api/X.Api.csproj'])).toEqual(['x-api', 'x-api-2', 'y-api'])
    expect(names(['a/Api/Api.csproj', 'a-api/Api.csproj'])).toEqual(['a-api-api', 'a-api-api-2'])
    expect(new Set(names(['A.csproj', 'a.csproj', 'a/A.csproj'])).size).toBe(3)
  })

  it('a multi-targeted app builds its newest netX.Y', () => {
    expect(newestFramework('net9.0;net10.0;netstandard2.0')).toBe('net10.0')
    expect(newestFramework('net10.0;net9.0')).toBe('net10.0')
    expect(newestFramework('')).toBe('')
  })
})

describe('firstChangedInput', () => {
  const app = { files: new Set(['/ws/src/App/Program.cs', '/ws/src/Shared/S.cs', '/ws/Directory.Build.props']), projectFolders: ['/ws/src/App', '/ws/src/Lib'], context: '/ws' }
  const exists = (f: string): boolean => !/Gone|Old\.cs$|nuget\.config$|global\.json$/.test(f)

  it('a changed input file, in the order git listed them', () => {
    expect(firstChangedInput(app, ['/ws/docs/a.md', '/ws/src/Shared/S.cs', '/ws/src/App/Program.cs'], exists)).toBe('/ws/src/Shared/S.cs')
  })

  it('a file deleted from a project folder counts; one deleted elsewhere or an existing unconsumed file does not', () => {
    expect(firstChangedInput(app, ['/ws/src/Lib/Gone.cs'], exists)).toBe('/ws/src/Lib/Gone.cs')
    expect(firstChangedInput(app, ['/ws/docs/Gone.cs', '/ws/src/App/README.md'], exists)).toBeUndefined()
  })

  it('a deleted linked source beside the ones the build sees counts', () => {
    expect(firstChangedInput(app, ['/ws/src/Shared/Old.cs'], exists)).toBe('/ws/src/Shared/Old.cs')
  })

  it('a deleted by-name file (NuGet.config, global.json) above the project, inside the context, counts; beside an unrelated folder it does not', () => {
    expect(firstChangedInput(app, ['/ws/nuget.config'], exists)).toBe('/ws/nuget.config')
    expect(firstChangedInput(app, ['/ws/src/global.json'], exists)).toBe('/ws/src/global.json')
    expect(firstChangedInput(app, ['/ws/tools/global.json', '/ws/src/Other/nuget.config'], exists)).toBeUndefined()
    expect(firstChangedInput({ ...app, context: '/ws/src' }, ['/ws/nuget.config'], exists)).toBeUndefined()
  })
})

describe('validRevision', () => {
  it.each(['main', 'origin/main', 'v1.2.3', 'HEAD~1', 'a1b2c3d', 'refs/heads/x', 'main@{1}'])('accepts %s', (r) => {
    expect(validRevision(r)).toBe(true)
  })
  it.each(['--output=/tmp/x', '-p', 'a b', 'x;y', '$(id)', ''])('refuses %j', (r) => {
    expect(validRevision(r)).toBe(false)
  })
})
