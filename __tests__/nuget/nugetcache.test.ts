import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { isTrustedEvent } from '../../src/action/env.js'
import { exportArgv, fromNugetOrg, hasPackages, isSdkPack, keptPackagesNeeded, loadArgv, mayKeepPackages, newestPacks, nugetCacheKey, nugetCacheMode, packageFolders, packsKey, packsKeyPrefixes, samePacks, storeMarkerText, storedKey } from '../../src/nuget/cache.js'

describe('nugetCacheMode', () => {
  test.each([
    ['false', '', true, 'off'],
    ['false', '/cache', true, 'off'],
    ['auto', '/cache', false, 'dir'],
    ['true', '/cache', true, 'dir'],
    ['auto', '', true, 'actions'],
    ['true', '', true, 'actions'],
    ['auto', '', false, 'off'],
    ['true', '', false, 'off']
  ] as const)('input %s, dir "%s", Actions cache %s -> %s', (input, dir, actions, want) => {
    expect(nugetCacheMode(input, dir, actions)).toBe(want)
  })

  // Every workflow run of the repository can read the Actions cache, a fork pull request's own
  // workflow included: auto keeps no private packages there.
  test.each([
    ['auto', '', true, 'off'],
    ['true', '', true, 'actions'],
    ['auto', '/cache', true, 'dir'],
    ['false', '', true, 'off']
  ] as const)('a build with secrets: input %s, dir "%s", Actions cache %s -> %s', (input, dir, actions, want) => {
    expect(nugetCacheMode(input, dir, actions, true)).toBe(want)
  })
})

describe('nugetCacheKey', () => {
  const files = { 'App/App.csproj': '<Project Sdk="Microsoft.NET.Sdk.Web"/>', 'Directory.Packages.props': '<Project/>' }
  const base = nugetCacheKey('samples/App/App.csproj', files, ['linux/amd64', 'linux/arm64'], 'sdk:10.0')

  test('names the project and falls back to any earlier key of the same project', () => {
    expect(base.key).toMatch(/^aot-buildx-nuget-samples_App_App.csproj-[0-9a-f]{32}$/)
    expect(base.restoreKeys).toEqual(['aot-buildx-nuget-samples_App_App.csproj-'])
  })

  test("an untrusted event's set is kept and found under a prefix of its own: neither kind restores the other (a trusted set may hold private packages)", () => {
    const pr = nugetCacheKey('samples/App/App.csproj', files, ['linux/amd64', 'linux/arm64'], 'sdk:10.0', false)
    expect(pr.key).toMatch(/^aot-buildx-pr-nuget-samples_App_App.csproj-[0-9a-f]{32}$/)
    expect(pr.restoreKeys).toEqual(['aot-buildx-pr-nuget-samples_App_App.csproj-'])
    expect(base.key.startsWith(pr.restoreKeys[0] ?? '')).toBe(false)
    expect(pr.key.startsWith(base.restoreKeys[0] ?? '')).toBe(false)
    // A project whose name could make one prefix start the other still cannot.
    const odd = nugetCacheKey('pr-nuget-x', files, ['linux/amd64'], 'sdk:10.0')
    expect(nugetCacheKey('x', files, ['linux/amd64'], 'sdk:10.0', false).key.startsWith(odd.restoreKeys[0] ?? '')).toBe(false)
  })

  test('does not depend on the order of files or platforms', () => {
    const swapped = nugetCacheKey('samples/App/App.csproj', { 'Directory.Packages.props': '<Project/>', 'App/App.csproj': '<Project Sdk="Microsoft.NET.Sdk.Web"/>' }, ['linux/arm64', 'linux/amd64'], 'sdk:10.0')
    expect(swapped.key).toBe(base.key)
  })

  test.each([
    ['a project file edit', { ...files, 'App/App.csproj': '<Project Sdk="Microsoft.NET.Sdk"/>' }, ['linux/amd64', 'linux/arm64'], 'sdk:10.0'],
    ['a platform set', files, ['linux/amd64'], 'sdk:10.0'],
    ['an SDK image', files, ['linux/amd64', 'linux/arm64'], 'sdk:11.0']
  ])('changes with %s', (_what, f, platforms, sdk) => {
    expect(nugetCacheKey('samples/App/App.csproj', f, [...platforms], sdk).key).not.toBe(base.key)
  })
})

test('exportArgv targets the export stage, makes the copy run again (a new build arg, not --no-cache, which would empty the cache mount), and writes files', () => {
  expect(exportArgv('b1', '/ws/Dockerfile.aot', '/ws', '/tmp/seed', '42')).toEqual([
    'buildx',
    'build',
    '--builder',
    'b1',
    '--file',
    '/ws/Dockerfile.aot',
    '--target',
    'nuget-export',
    '--build-arg',
    'AOT_BUILDX_EXPORT_ID=42',
    '--progress',
    'plain',
    '--output',
    'type=local,dest=/tmp/seed',
    '/ws'
  ])
  expect(exportArgv('', 'D', 'C', 'E', '1').slice(0, 4)).toEqual(['buildx', 'build', '--file', 'D'])
})

test('loadArgv targets the load stage with the kept packages as the nuget-seed context, always runs the copy, and outputs nothing but cache', () => {
  expect(loadArgv('b1', '/ws/Dockerfile.aot', '/ws', '/tmp/kept', '7')).toEqual([
    'buildx',
    'build',
    '--builder',
    'b1',
    '--file',
    '/ws/Dockerfile.aot',
    '--target',
    'nuget-load',
    '--build-context',
    'nuget-seed=/tmp/kept',
    '--build-arg',
    'AOT_BUILDX_EXPORT_ID=7',
    '--progress',
    'plain',
    '--output',
    'type=cacheonly',
    '/ws'
  ])
  expect(loadArgv('', 'D', 'C', 'S', '1').slice(0, 4)).toEqual(['buildx', 'build', '--file', 'D'])
})

test('keptPackagesNeeded reads the step\'s own output line and its exit code, not the step\'s name that holds the same text', () => {
  const name = "#9 [restore 4/4] RUN --mount=type=secret,id=aot-buildx-nuget-kept if [ -f /run/secrets/aot-buildx-nuget-kept ]; then echo 'aot-buildx: this step needs the kept NuGet packages: they are loaded and the build runs again'; exit 42; fi;"
  const said = '#9 0.213 aot-buildx: this step needs the kept NuGet packages: they are loaded and the build runs again'
  const failed = '#9 ERROR: process "/bin/sh -c ..." did not complete successfully: exit code: 42'
  expect(keptPackagesNeeded([name, said, failed].join('\n'))).toBe(true)
  expect(keptPackagesNeeded([name, failed].join('\n'))).toBe(false)
  expect(keptPackagesNeeded([name, said, failed.replace('42', '1')].join('\n'))).toBe(false)
})

describe("the SDK's packs, kept once for every app on one SDK image", () => {
  test.each([
    // What a Native AOT publish of the TodoApi sample for linux-x64 and linux-arm64 restores (.NET 10).
    'microsoft.dotnet.ilcompiler',
    'runtime.linux-x64.microsoft.dotnet.ilcompiler',
    'runtime.linux-arm64.microsoft.dotnet.ilcompiler',
    'microsoft.net.illink.tasks',
    'microsoft.netcore.app.runtime.linux-x64',
    'microsoft.netcore.app.runtime.nativeaot.linux-arm64',
    'microsoft.aspnetcore.app.runtime.linux-arm64',
    'microsoft.netcore.app.host.linux-arm64',
    'microsoft.netcore.app.crossgen2.linux-musl-x64',
    'microsoft.netcore.app.ref',
    'Microsoft.AspNetCore.App.Ref'
  ])('%s is a pack', (id) => {
    expect(isSdkPack(id)).toBe(true)
  })

  test.each([
    'microsoft.aspnetcore.openapi',
    'microsoft.openapi',
    'microsoft.data.sqlite',
    'sqlitepclraw.lib.e_sqlite3',
    // Not a pack by a prefix or a suffix: a feed's own package keeps to the app's own entry.
    'microsoft.dotnet.ilcompiler.extras',
    'contoso.microsoft.dotnet.ilcompiler',
    'microsoft.netcore.app.runtime.linux-x64.patched',
    'microsoft.netcore.app.runtime.',
    'runtime..microsoft.dotnet.ilcompiler',
    // A family by a pattern is not a pack: only the runtime identifiers this action builds.
    'microsoft.aspnetcore.app.runtime.contoso',
    'runtime.contoso-private.microsoft.dotnet.ilcompiler',
    'microsoft.netcore.app.runtime.win-x64'
  ])('%s is an app package', (id) => {
    expect(isSdkPack(id)).toBe(false)
  })

  test('one prefix per SDK image and platforms, whatever the project; apart from every app key', () => {
    const a = packsKeyPrefixes(['linux/amd64', 'linux/arm64'], 'sdk:10.0')
    expect(a.prefix).toMatch(/^aot-buildx-packs-[0-9a-f]{16}-$/)
    expect(a.restoreKeys).toEqual([a.prefix])
    expect(packsKeyPrefixes(['linux/arm64', 'linux/amd64'], 'sdk:10.0')).toEqual(a)
    expect(packsKeyPrefixes(['linux/amd64'], 'sdk:10.0').prefix).not.toBe(a.prefix)
    expect(packsKeyPrefixes(['linux/amd64', 'linux/arm64'], 'sdk:11.0').prefix).not.toBe(a.prefix)
    // A project named `packs` keeps its own packages under the app prefix: neither finds the other.
    const app = nugetCacheKey('packs', {}, ['linux/amd64', 'linux/arm64'], 'sdk:10.0')
    expect(app.key.startsWith(a.prefix)).toBe(false)
    expect(packsKey(a.prefix, []).startsWith(app.restoreKeys[0] ?? '')).toBe(false)
  })

  test("a pull request finds its own sets, then the trusted runs' (public packs); it keeps only under its own prefix", () => {
    const trusted = packsKeyPrefixes(['linux/amd64'], 'sdk:10.0')
    const pr = packsKeyPrefixes(['linux/amd64'], 'sdk:10.0', false)
    expect(pr.prefix).toMatch(/^aot-buildx-pr-packs-[0-9a-f]{16}-$/)
    expect(pr.restoreKeys).toEqual([pr.prefix, trusted.prefix])
    expect(pr.prefix.startsWith(trusted.prefix)).toBe(false)
    expect(trusted.prefix.startsWith(pr.prefix)).toBe(false)
  })

  test('the key names the packages held, in any order', () => {
    const p = 'aot-buildx-packs-0123456789abcdef-'
    const k = packsKey(p, ['microsoft.dotnet.ilcompiler/10.0.1', 'microsoft.net.illink.tasks/10.0.1'])
    expect(k).toMatch(/^aot-buildx-packs-0123456789abcdef-[0-9a-f]{32}$/)
    expect(packsKey(p, ['microsoft.net.illink.tasks/10.0.1', 'microsoft.dotnet.ilcompiler/10.0.1'])).toBe(k)
    expect(packsKey(p, ['microsoft.dotnet.ilcompiler/10.0.2', 'microsoft.net.illink.tasks/10.0.1'])).not.toBe(k)
    expect(packsKey(p, ['microsoft.dotnet.ilcompiler/10.0.1'])).not.toBe(k)
    // A pull request's set that holds what a trusted run's holds is the same set: not kept again.
    const pr = packsKey('aot-buildx-pr-packs-0123456789abcdef-', ['microsoft.dotnet.ilcompiler/10.0.1', 'microsoft.net.illink.tasks/10.0.1'])
    expect(samePacks(pr, k)).toBe(true)
    expect(samePacks(packsKey(p, ['microsoft.dotnet.ilcompiler/10.0.1']), k)).toBe(false)
    expect(samePacks(k, undefined)).toBe(false)
  })

  test('of each pack only the newest version is kept (an earlier SDK patch is not carried along)', () => {
    const { keep, drop } = newestPacks([
      'microsoft.dotnet.ilcompiler/10.0.1',
      'microsoft.dotnet.ilcompiler/10.0.10',
      'microsoft.dotnet.ilcompiler/10.0.2',
      'microsoft.net.illink.tasks/10.0.0-rc.2.25502.107',
      'microsoft.net.illink.tasks/10.0.0',
      'microsoft.netcore.app.ref/9.0.11'
    ])
    expect(keep.sort()).toEqual(['microsoft.dotnet.ilcompiler/10.0.10', 'microsoft.net.illink.tasks/10.0.0', 'microsoft.netcore.app.ref/9.0.11'])
    expect(drop.sort()).toEqual(['microsoft.dotnet.ilcompiler/10.0.1', 'microsoft.dotnet.ilcompiler/10.0.2', 'microsoft.net.illink.tasks/10.0.0-rc.2.25502.107'])
  })

  test('an older framework line keeps its own newest patch (an app on net8.0 beside one on net9.0)', () => {
    const { keep, drop } = newestPacks(['microsoft.netcore.app.ref/8.0.20', 'microsoft.netcore.app.ref/9.0.11', 'microsoft.netcore.app.ref/8.0.21', 'microsoft.netcore.app.ref/9.0.10'])
    expect(keep.sort()).toEqual(['microsoft.netcore.app.ref/8.0.21', 'microsoft.netcore.app.ref/9.0.11'])
    expect(drop.sort()).toEqual(['microsoft.netcore.app.ref/8.0.20', 'microsoft.netcore.app.ref/9.0.10'])
  })

  test('a pack is shared only if NuGet restored it from nuget.org (an authenticated mirror\'s URL may carry a token)', () => {
    expect(fromNugetOrg('{"version": 2, "contentHash": "x", "source": "https://api.nuget.org/v3/index.json"}')).toBe(true)
    expect(fromNugetOrg('{"version": 2, "source": "https://api.nuget.org/v3/index.json/"}')).toBe(true)
    expect(fromNugetOrg('{"version": 2, "source": "https://www.myget.org/F/corp/auth/0123-secret/api/v3/index.json"}')).toBe(false)
    expect(fromNugetOrg('{"version": 2, "source": "/root/.nuget/fallback"}')).toBe(false)
    expect(fromNugetOrg('{"version": 2}')).toBe(false)
    expect(fromNugetOrg('not json')).toBe(false)
  })
})

test('packageFolders finds packages/ and the Actions cache store\'s own/ and packs/ parts, non-empty only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'))
  expect(packageFolders(dir)).toEqual([])
  fs.mkdirSync(path.join(dir, 'own', 'packages'), { recursive: true })
  expect(hasPackages(dir)).toBe(false)
  fs.mkdirSync(path.join(dir, 'packs', 'packages', 'microsoft.dotnet.ilcompiler'), { recursive: true })
  expect(packageFolders(dir)).toEqual([path.join(dir, 'packs', 'packages')])
  fs.mkdirSync(path.join(dir, 'own', 'packages', 'microsoft.openapi'))
  expect(packageFolders(dir)).toEqual([path.join(dir, 'own', 'packages'), path.join(dir, 'packs', 'packages')])
  // Another folder is no part of a store.
  fs.mkdirSync(path.join(dir, 'other', 'packages', 'x'), { recursive: true })
  expect(packageFolders(dir)).toHaveLength(2)
})

test('hasPackages is true only for a folder with a non-empty packages/', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-'))
  expect(hasPackages(dir)).toBe(false)
  fs.mkdirSync(path.join(dir, 'packages'))
  expect(hasPackages(dir)).toBe(false)
  fs.mkdirSync(path.join(dir, 'packages', 'newtonsoft.json'))
  expect(hasPackages(dir)).toBe(true)
  expect(hasPackages(path.join(dir, 'missing'))).toBe(false)
})

describe('store marker', () => {
  test('records the key the packages were exported for, and reads it back', () => {
    const key = 'aot-buildx-nuget-App.csproj-0123456789abcdef0123456789abcdef'
    expect(storeMarkerText(key)).toContain('kept by aot-buildx-action')
    expect(storedKey(storeMarkerText(key))).toBe(key)
  })

  test('a marker without a key (or with another text) records none', () => {
    expect(storedKey('NuGet packages kept by aot-buildx-action between runs.\n')).toBeUndefined()
    expect(storedKey('')).toBeUndefined()
  })
})

describe('mayKeepPackages', () => {
  const trusted = (e: string): boolean => isTrustedEvent(e)
  it.each(['push', 'workflow_dispatch'])('on %s (trusted), in the folder and in the Actions cache', (e) => {
    expect(mayKeepPackages('dir', trusted(e), e)).toBe(true)
    expect(mayKeepPackages('actions', trusted(e), e)).toBe(true)
  })

  // A self-hosted runner's folder is read by every later run: nothing an untrusted event built goes there.
  it.each(['pull_request', 'pull_request_target', 'workflow_run', 'issue_comment', 'pull_request_review', 'pull_request_review_comment', 'schedule', 'merge_group', ''])(
    'never in nuget-cache-dir on %p',
    (e) => {
      expect(trusted(e)).toBe(false)
      expect(mayKeepPackages('dir', trusted(e), e)).toBe(false)
    }
  )

  it('in the Actions cache on pull_request only (its own merge-ref scope), not on events that save into a branch scope', () => {
    expect(mayKeepPackages('actions', false, 'pull_request')).toBe(true)
    for (const e of ['pull_request_target', 'workflow_run', 'issue_comment', 'schedule', '']) expect(mayKeepPackages('actions', false, e)).toBe(false)
  })

  it('never with the cache off', () => {
    expect(mayKeepPackages('off', true, 'push')).toBe(false)
  })
})
