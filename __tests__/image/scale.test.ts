import { buildArgv, cacheScope, type BuildPlan } from '../../src/engine/buildx.js'
import { summaryMarkdown } from '../../src/size/report.js'
import { tableOnly } from '../../src/size/diff.js'
import {
  imagetoolsCreateArgv,
  mergeAnnotations,
  imagetoolsInspectRawArgv,
  layoutPushArgv,
  mergedSizeOutputs,
  mergedSizesJson,
  mergeProblems,
  mergeSources,
  mergedImages,
  mergeFrame,
  pushByDigestMethod,
  pushByDigestOutput,
  repositories,
  repositoryOf,
  type MergedPlatform
} from '../../src/image/scale.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`

describe('repositoryOf / repositories', () => {
  it.each([
    ['ghcr.io/o/app:1.0', 'ghcr.io/o/app'],
    ['localhost:5000/app:1', 'localhost:5000/app'],
    ['localhost:5000/app', 'localhost:5000/app'],
    ['127.0.0.1:5000/aot-e2e/scale:run-1', '127.0.0.1:5000/aot-e2e/scale'],
    ['app:latest', 'app'],
    ['app', 'app'],
    [`ghcr.io/o/app@${D1}`, 'ghcr.io/o/app'],
    [`ghcr.io/o/app:1@${D1}`, 'ghcr.io/o/app']
  ])('%s -> %s', (tag, repo) => {
    expect(repositoryOf(tag)).toBe(repo)
  })

  it('keeps each repository once, in order', () => {
    expect(repositories(['ghcr.io/o/app:1', 'ghcr.io/o/app:latest', 'docker.io/o/app:1', 'ghcr.io/o/app:sha-abc'])).toEqual(['ghcr.io/o/app', 'docker.io/o/app'])
  })
})

describe('push by digest', () => {
  it.each([
    [['ghcr.io/o/app'], 'type=image,name=ghcr.io/o/app,push-by-digest=true,name-canonical=true,push=true'],
    [['ghcr.io/o/app', 'docker.io/o/app'], 'type=image,"name=ghcr.io/o/app,docker.io/o/app",push-by-digest=true,name-canonical=true,push=true']
  ])('output for %j', (repos, out) => {
    expect(pushByDigestOutput(repos)).toBe(out)
  })

  it.each([
    ['docker', 'layout'],
    ['docker-container', 'buildx'],
    ['remote', 'buildx'],
    ['kubernetes', 'buildx'],
    ['cloud', 'buildx']
  ])('the %s driver pushes by %s', (driver, method) => {
    expect(pushByDigestMethod(driver)).toBe(method)
  })

  const PLAN: BuildPlan = {
    builder: 'ci',
    dockerfile: '/ws/Dockerfile.aot',
    context: '/ws',
    platforms: ['linux/arm64'],
    tags: [],
    labels: [],
    buildArgs: [],
    cacheScope: cacheScope('src/Api/Api.csproj', ['linux/arm64']),
    cache: 'gha',
    push: false,
    pushByDigest: ['ghcr.io/o/app'],
    metadataFile: '/rt/m.json',
    ociDir: '/rt/oci',
    nugetConfig: '',
    progress: 'plain',
    dockerfileSha256: ''
  }

  it('buildArgv: one platform, no --tag, the OCI layout and the push-by-digest output', () => {
    expect(buildArgv(PLAN)).toEqual([
      'buildx',
      'build',
      '--builder',
      'ci',
      '--file',
      '/ws/Dockerfile.aot',
      '--platform',
      'linux/arm64',
      '--progress',
      'plain',
      '--metadata-file',
      '/rt/m.json',
      '--cache-from',
      'type=gha,scope=aot-buildx-src-Api-Api.csproj-linux-arm64',
      '--cache-to',
      'type=gha,scope=aot-buildx-src-Api-Api.csproj-linux-arm64,mode=max,ignore-error=true,timeout=2m',
      '--output',
      'type=oci,tar=false,attestation-inline=true,dest=/rt/oci',
      '--output',
      'type=image,name=ghcr.io/o/app,push-by-digest=true,name-canonical=true,push=true',
      '/ws'
    ])
  })

  it('buildArgv: an empty pushByDigest falls back to push as before', () => {
    const argv = buildArgv({ ...PLAN, pushByDigest: [], push: true })
    expect(argv.slice(-3)).toEqual(['--output', 'type=registry', '/ws'])
    expect(buildArgv({ ...PLAN, pushByDigest: undefined, push: false }).slice(-3)).toEqual(['--output', 'type=oci,tar=false,attestation-inline=true,dest=/rt/oci', '/ws'])
  })

  it('per-architecture jobs get cache scopes of their own, apart from the two-platform build', () => {
    const both = cacheScope('src/Api/Api.csproj', ['linux/amd64', 'linux/arm64'])
    const amd = cacheScope('src/Api/Api.csproj', ['linux/amd64'])
    const arm = cacheScope('src/Api/Api.csproj', ['linux/arm64'])
    expect(new Set([both, amd, arm]).size).toBe(3)
    expect(amd).toBe('aot-buildx-src-Api-Api.csproj-linux-amd64')
    expect(arm).toBe('aot-buildx-src-Api-Api.csproj-linux-arm64')
    expect(both).toBe('aot-buildx-src-Api-Api.csproj-linux-amd64+linux-arm64')
  })

  it('layoutPushArgv: one --tag per reference (by digest, or tags), the local layout as the source', () => {
    expect(layoutPushArgv('default', ['127.0.0.1:5000/a:1', 'ghcr.io/o/a:latest'], D1, '127.0.0.1:40123/layout').slice(-5)).toEqual([
      '--tag',
      '127.0.0.1:5000/a:1',
      '--tag',
      'ghcr.io/o/a:latest',
      `127.0.0.1:40123/layout@${D1}`
    ])
    expect(layoutPushArgv('default', [`127.0.0.1:5000/a@${D1}`, `ghcr.io/o/a@${D1}`], D1, '127.0.0.1:40123/layout')).toEqual([
      'buildx',
      'imagetools',
      'create',
      '--builder',
      'default',
      '--progress',
      'plain',
      '--tag',
      `127.0.0.1:5000/a@${D1}`,
      '--tag',
      `ghcr.io/o/a@${D1}`,
      `127.0.0.1:40123/layout@${D1}`
    ])
    expect(layoutPushArgv('', ['r'], D1, 'h/layout').slice(0, 5)).toEqual(['buildx', 'imagetools', 'create', '--progress', 'plain'])
  })
})

describe('merge argv', () => {
  it('bare digests come from the first repository; full references stay as given', () => {
    expect(mergeSources([D1, `docker.io/o/app@${D2}`], 'ghcr.io/o/app')).toEqual([`ghcr.io/o/app@${D1}`, `docker.io/o/app@${D2}`])
  })

  it.each<[string, string, string[], string[], string[]]>([
    [
      'one tag',
      '',
      ['ghcr.io/o/app:1'],
      [`ghcr.io/o/app@${D1}`, `ghcr.io/o/app@${D2}`],
      ['buildx', 'imagetools', 'create', '--progress', 'plain', '--tag', 'ghcr.io/o/app:1', `ghcr.io/o/app@${D1}`, `ghcr.io/o/app@${D2}`]
    ],
    [
      'two tags and a builder',
      'ci',
      ['ghcr.io/o/app:1', 'ghcr.io/o/app:latest'],
      [`ghcr.io/o/app@${D1}`],
      ['buildx', 'imagetools', 'create', '--builder', 'ci', '--progress', 'plain', '--tag', 'ghcr.io/o/app:1', '--tag', 'ghcr.io/o/app:latest', `ghcr.io/o/app@${D1}`]
    ]
  ])('imagetools create: %s', (_name, builder, tags, sources, argv) => {
    expect(imagetoolsCreateArgv(builder, tags, sources)).toEqual(argv)
  })

  it('imagetools inspect --raw', () => {
    expect(imagetoolsInspectRawArgv('', 'ghcr.io/o/app:1')).toEqual(['buildx', 'imagetools', 'inspect', '--raw', 'ghcr.io/o/app:1'])
    expect(imagetoolsInspectRawArgv('ci', `r@${D1}`)).toEqual(['buildx', 'imagetools', 'inspect', '--builder', 'ci', '--raw', `r@${D1}`])
  })
})

const AMD64: MergedPlatform = { platform: 'linux/amd64', digest: D1, compressed: 12_345_678 }
const ARM64: MergedPlatform = { platform: 'linux/arm64', digest: D2, compressed: 11_000_000 }
const FOUND: MergedPlatform[] = [AMD64, ARM64]

describe('merge outputs and summary', () => {
  it.each<[string, MergedPlatform[], string[], string[]]>([
    ['complete', FOUND, ['linux/amd64', 'linux/arm64'], []],
    ['a platform missing', [AMD64], ['linux/amd64', 'linux/arm64'], ['the merged index has no linux/arm64 image: pass the digest of the linux/arm64 job too']],
    [
      'a platform twice',
      [AMD64, { ...AMD64, digest: D3 }, ARM64],
      ['linux/amd64', 'linux/arm64'],
      ['linux/amd64 is in the merged index 2 times: two of the digests are images of the same platform']
    ],
    ['one platform wanted', [ARM64], ['linux/arm64'], []]
  ])('mergeProblems: %s', (_name, found, wanted, problems) => {
    expect(mergeProblems(found, wanted)).toEqual(problems)
  })

  it('sizes: compressed and digest; uncompressed and app layer null, never 0', () => {
    expect(mergedSizesJson(FOUND)).toEqual({
      'linux/amd64': { compressed: 12_345_678, uncompressed: null, appLayer: null, digest: D1 },
      'linux/arm64': { compressed: 11_000_000, uncompressed: null, appLayer: null, digest: D2 }
    })
    expect(mergedSizeOutputs(FOUND)).toEqual({ 'size-linux-amd64': '12345678', 'size-linux-arm64': '11000000' })
  })

  it('summary: the same one table, n/a where manifests cannot tell, no base image column, and says why', () => {
    const md = summaryMarkdown(mergeFrame({ title: 'src/TodoApi/TodoApi.csproj', found: FOUND, tags: ['ghcr.io/o/app:1'], indexDigest: D3, seconds: 2.345 }), tableOnly(mergedImages(FOUND)))
    expect(md).toContain('### Native AOT image (merged): `src/TodoApi/TodoApi.csproj`')
    expect(md.match(/^\| Platform \|/gm)).toHaveLength(1)
    expect(md).toContain('| Platform | Compressed | Uncompressed | App layer | Digest |')
    expect(md).toContain(`| linux/amd64 | 12.35 MB | n/a | n/a | \`${D1.slice(0, 19)}…\` |`)
    expect(md).toContain(`| linux/arm64 | 11.00 MB | n/a | n/a | \`${D2.slice(0, 19)}…\` |`)
    expect(md).toContain(`Merged 2 platform images in 2.3 s · index \`${D3}\``)
    expect(md).toContain('Pushed: `ghcr.io/o/app:1`')
    expect(md).toContain('not available from manifests alone')
    expect(md).not.toMatch(/\| 0 B \|/)
  })

})

describe('annotations in a merge', () => {
  it('passes index and manifest-descriptor annotations to imagetools create, before the sources', () => {
    const { passed, left } = mergeAnnotations(['index:a=1', 'manifest-descriptor[linux/arm64]:b=2', 'index,manifest-descriptor:c=3', 'manifest:d=4', 'e=5', 'manifest,index:f=6'])
    expect(passed).toEqual(['index:a=1', 'manifest-descriptor[linux/arm64]:b=2', 'index,manifest-descriptor:c=3'])
    expect(left).toEqual(['manifest:d=4', 'e=5', 'manifest,index:f=6'])
    expect(imagetoolsCreateArgv('', ['r/x:1'], ['r/x@sha256:1'], passed).slice(-7)).toEqual(['--annotation', 'index:a=1', '--annotation', 'manifest-descriptor[linux/arm64]:b=2', '--annotation', 'index,manifest-descriptor:c=3', 'r/x@sha256:1'])
  })
})
