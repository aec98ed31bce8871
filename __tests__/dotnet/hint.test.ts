// Which SDK evaluates: the texts read for the hint come from the project and the props above
// it, inside the workspace only.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { hintTexts } from '../../src/dotnet/evaluate.js'
import { frameworkHint } from '../../src/dotnet/sandbox.js'

describe('hintTexts', () => {
  let root = ''
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-hint-'))
  })
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('reads the project and every Directory.Build.props up to the workspace, nothing above it and nothing a link leads out to', () => {
    const ws = path.join(root, 'ws')
    const app = path.join(ws, 'src', 'App')
    fs.mkdirSync(app, { recursive: true })
    fs.writeFileSync(path.join(app, 'App.csproj'), '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>$(AppTfm)</TargetFramework></PropertyGroup></Project>')
    fs.writeFileSync(path.join(ws, 'Directory.Build.props'), '<Project><PropertyGroup><AppTfm>net11.0</AppTfm></PropertyGroup></Project>')
    // Above the workspace: never read.
    fs.writeFileSync(path.join(root, 'Directory.Build.props'), '<Project><PropertyGroup><AppTfm>net12.0</AppTfm></PropertyGroup></Project>')
    expect(frameworkHint(hintTexts([path.join(app, 'App.csproj')], ws))).toBe(11)
    // A props file that links outside the workspace is not read.
    fs.writeFileSync(path.join(root, 'outside.props'), '<Project><PropertyGroup><X>net13.0</X></PropertyGroup></Project>')
    fs.symlinkSync(path.join(root, 'outside.props'), path.join(ws, 'src', 'Directory.Build.props'))
    expect(hintTexts([path.join(app, 'App.csproj')], ws).join('\n')).not.toContain('net13.0')
    expect(frameworkHint(hintTexts([path.join(app, 'App.csproj')], ws))).toBe(11)
  })
})
