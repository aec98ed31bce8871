// Review findings (hostile pull request), on the real engine: each test states what SECURITY.md
// promises and fails on the code as it is today.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runAction, WORK } from './harness.js'

const APP = `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <PublishAot>true</PublishAot>
  </PropertyGroup>
</Project>
`

describe('review: discover and a solution that lists a path through a symlink out of the workspace', () => {
  // SECURITY.md: "reads .sln/.slnx files as text, only where they really lie inside the
  // workspace (...), (a listed path outside the workspace is refused; ...)". The check is lexical
  // (discover.ts listProjects: isInside, then fs.existsSync through the link), so a committed
  // symlink makes the runner answer whether a path outside the workspace exists: a warning
  // "does not exist: skipped" for a missing one, an MSBuild error for one that exists.
  test('a listed project behind a symlink out of the workspace is refused by name, and nothing tells whether it exists on the runner', () => {
    const root = path.join(WORK, 'review-sln-link')
    fs.rmSync(root, { recursive: true, force: true })
    const outside = path.join(root, 'outside')
    const ws = path.join(root, 'ws')
    fs.mkdirSync(path.join(outside, 'Secret'), { recursive: true })
    fs.writeFileSync(path.join(outside, 'Secret', 'Secret.csproj'), APP)
    fs.mkdirSync(ws, { recursive: true })
    fs.symlinkSync('../outside', path.join(ws, 'ext'))
    const sln = (p: string): string => `Microsoft Visual Studio Solution File, Format Version 12.00\nProject("{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}") = "S", "${p}", "{1}"\nEndProject\n`
    fs.writeFileSync(path.join(ws, 'There.sln'), sln('ext/Secret/Secret.csproj'))
    fs.writeFileSync(path.join(ws, 'NotThere.sln'), sln('ext/Nope/Nope.csproj'))
    const there = runAction(ws, { mode: 'discover', project: 'There.sln' })
    const notThere = runAction(ws, { mode: 'discover', project: 'NotThere.sln' })
    for (const r of [there, notThere]) {
      expect(r.code).not.toBe(0)
      expect(r.stdout).toMatch(/lies outside the workspace/)
    }
  })
})
