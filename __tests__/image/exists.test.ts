// The default images' existence check, with a fake `docker` on PATH that answers each
// reference as the engine and a registry would: a local image, a manifest, "not found", an
// unreachable registry, a refusal, and a registry that never answers (the timeout).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BuildError } from '../../src/util/errors.js'
import { alreadyHeld, checkDefaultImages, judge, previewOf } from '../../src/image/exists.js'

const FAKE = `#!/usr/bin/env node
const fs = require('fs')
const args = process.argv.slice(2)
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(args) + '\\n')
const ref = args[args.length - 1]
const how = JSON.parse(process.env.FAKE_REFS)[ref] || 'missing'
if (args[0] === 'image' && args[1] === 'inspect') {
  if (how === 'local') { console.log('sha256:' + 'a'.repeat(64)); process.exit(0) }
  process.stderr.write('Error response from daemon: No such image: ' + ref + '\\n'); process.exit(1)
}
if (args.slice(0, 4).join(' ') === 'buildx imagetools inspect --raw') {
  if (how === 'remote') { console.log('{"schemaVersion":2}'); process.exit(0) }
  if (how === 'missing') { process.stderr.write('ERROR: ' + ref + ': not found\\n'); process.exit(1) }
  if (how === 'unreachable') { process.stderr.write('ERROR: failed to do request: Head "https://mcr.microsoft.com/v2/x/manifests/y": dial tcp: lookup mcr.microsoft.com on 10.0.0.53:53: no such host\\n'); process.exit(1) }
  if (how === 'denied') { process.stderr.write('ERROR: unexpected status from HEAD request: 401 Unauthorized\\n'); process.exit(1) }
  if (how === 'slow') { setTimeout(() => process.exit(0), 60000); return }
}
if (args.slice(0, 5).join(' ') === 'buildx imagetools inspect --format {{json .Manifest.Digest}}') {
  if (how.startsWith('sha256:')) { console.log(JSON.stringify(how)); process.exit(0) }
  if (how === 'missing') { process.stderr.write('ERROR: ' + ref + ': not found\\n'); process.exit(1) }
  if (how === 'slow') { setTimeout(() => process.exit(0), 60000); return }
}
process.stderr.write('fake docker: unexpected ' + args.join(' ') + '\\n'); process.exit(3)
`

let dir = ''
let log = ''
const savedPath = process.env.PATH

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-exists-'))
  fs.writeFileSync(path.join(dir, 'docker'), FAKE, { mode: 0o755 })
  log = path.join(dir, 'log')
  process.env.PATH = `${dir}${path.delimiter}${savedPath ?? ''}`
  process.env.FAKE_LOG = log
})
afterAll(() => {
  process.env.PATH = savedPath
  fs.rmSync(dir, { recursive: true, force: true })
})
beforeEach(() => {
  fs.writeFileSync(log, '')
})

const SDK = 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot'
const RD = 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled'

async function check(refs: Record<string, string>, timeoutMs = 10_000): Promise<{ error?: Error; debug: string[]; calls: string[][] }> {
  process.env.FAKE_REFS = JSON.stringify(refs)
  const debug: string[] = []
  let error: Error | undefined
  try {
    await checkDefaultImages([SDK, RD], 11, (l) => debug.push(l), timeoutMs)
  } catch (e) {
    error = e as Error
  }
  const calls = fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as string[])
  return { error, debug, calls }
}

describe('checkDefaultImages with a fake docker', () => {
  it('local images (the stand-ins) count as existing: the registry is not asked', async () => {
    const r = await check({ [SDK]: 'local', [RD]: 'local' })
    expect(r.error).toBeUndefined()
    expect(r.calls).toEqual(expect.arrayContaining([['image', 'inspect', '--format', '{{.Id}}', SDK], ['image', 'inspect', '--format', '{{.Id}}', RD]]))
    expect(r.calls.some((c) => c[0] === 'buildx')).toBe(false)
  })

  it('images the registry has: no error, no debug line', async () => {
    const r = await check({ [SDK]: 'remote', [RD]: 'remote' })
    expect(r.error).toBeUndefined()
    expect(r.debug).toEqual([])
    expect(r.calls).toEqual(expect.arrayContaining([['buildx', 'imagetools', 'inspect', '--raw', SDK]]))
  })

  it('a tag the registry does not know: a BuildError naming it and what exists (the preview tag, found in the registry)', async () => {
    const r = await check({ [SDK]: 'missing', [RD]: 'remote', 'mcr.microsoft.com/dotnet/sdk:11.0-preview-resolute-aot': 'remote' })
    expect(r.error).toBeInstanceOf(BuildError)
    expect(r.error?.message).toBe(
      'The default base image mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot (mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot: not found) does not exist in the registry. ' +
        'What exists: mcr.microsoft.com/dotnet/sdk:11.0-preview-resolute-aot. ' +
        'The images this action knows for .NET 11 (dotnet/dotnet-docker manifest.json and README tag lists at commit 3ed00b6 (2026-08-21)): mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot, mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled, mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled-extra, mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute. ' +
        'Set sdk-image and runtime-image to images of one distro that exist (or choose another distro with the distro input).'
    )
  })

  it('both missing and no preview either: both named, no "What exists"', async () => {
    const r = await check({})
    expect(r.error?.message).toMatch(/^The default base images mcr\.microsoft\.com\/dotnet\/sdk:11\.0-resolute-aot \(.*not found\) and mcr\.microsoft\.com\/dotnet\/runtime-deps:11\.0-resolute-chiseled \(.*not found\) do not exist in the registry\. The images this action knows/)
  })

  it('an unreachable registry: skipped with a debug line per image, no error', async () => {
    const r = await check({ [SDK]: 'unreachable', [RD]: 'unreachable' })
    expect(r.error).toBeUndefined()
    expect(r.debug).toEqual([
      `Could not check that ${SDK} exists (failed to do request: Head "https://mcr.microsoft.com/v2/x/manifests/y": dial tcp: lookup mcr.microsoft.com on 10.0.0.53:53: no such host): the build will tell.`,
      `Could not check that ${RD} exists (failed to do request: Head "https://mcr.microsoft.com/v2/x/manifests/y": dial tcp: lookup mcr.microsoft.com on 10.0.0.53:53: no such host): the build will tell.`
    ])
  })

  it('a refusal (401) is not taken for "not found": skipped with a debug line', async () => {
    const r = await check({ [SDK]: 'denied', [RD]: 'remote' })
    expect(r.error).toBeUndefined()
    expect(r.debug).toEqual([`Could not check that ${SDK} exists (unexpected status from HEAD request: 401 Unauthorized): the build will tell.`])
  })

  it('a registry that does not answer within the timeout: skipped, and the check returns', async () => {
    const r = await check({ [SDK]: 'slow', [RD]: 'remote' }, 1500)
    expect(r.error).toBeUndefined()
    expect(r.debug).toEqual([`Could not check that ${SDK} exists (mcr.microsoft.com did not answer within 1.5 s): the build will tell.`])
  })
})

describe('judge and previewOf (pure)', () => {
  it('a local image exists whatever the registry says', () => {
    expect(judge({ ref: SDK, local: true })).toEqual({ ref: SDK, state: 'exists' })
  })

  it('previewOf: the tag Microsoft uses before GA; none for a tag already preview or without a major', () => {
    expect(previewOf(SDK)).toBe('mcr.microsoft.com/dotnet/sdk:11.0-preview-resolute-aot')
    expect(previewOf('mcr.microsoft.com/dotnet/sdk:11.0-preview-resolute-aot')).toBeUndefined()
    expect(previewOf('r/x:latest')).toBeUndefined()
  })
})

describe('alreadyHeld: the refs under which the registry holds the built digest (not pushed again)', () => {
  const D = `sha256:${'d'.repeat(64)}`
  test('only the refs whose registry digest is exactly the built one', async () => {
    process.env.FAKE_REFS = JSON.stringify({ 'r/app:main': D, 'r/app:sha': `sha256:${'e'.repeat(64)}`, 'r/app:new': 'missing', [`r/app@${D}`]: D })
    expect(await alreadyHeld(['r/app:main', 'r/app:sha', 'r/app:new', `r/app@${D}`], D)).toEqual(['r/app:main', `r/app@${D}`])
  })

  test('a registry that does not answer in time holds nothing (the push goes on)', async () => {
    process.env.FAKE_REFS = JSON.stringify({ 'r/app:main': 'slow' })
    expect(await alreadyHeld(['r/app:main'], D, 300)).toEqual([])
  })
})
