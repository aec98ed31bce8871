import { factsArgv,
  csv,
  DOCKERFILE_LABEL,
  buildArgv,
  buildxTooOld,
  cacheScope,
  dockerInfoHasContainerdStore,
  displayCommand,
  parseBuilderInspect,
  parseBuildxVersion,
  provenanceFlag,
  redactArgv,
  secretVariable,
  type BuildPlan
} from '../../src/engine/buildx.js'

const MIN: BuildPlan = {
  builder: '',
  dockerfile: '/ws/Dockerfile.aot',
  context: '/ws',
  platforms: ['linux/amd64', 'linux/arm64'],
  tags: [],
  labels: [],
  buildArgs: [],
  cacheScope: 'aot-buildx-src-Api-Api.csproj-linux-amd64+linux-arm64',
  cache: 'none',
  push: false,
  metadataFile: '/tmp/rt/aot-buildx-1/metadata.json',
  ociDir: '/tmp/rt/aot-buildx-1/oci',
  nugetConfig: '',
  progress: 'plain',
  dockerfileSha256: ''
}

const HEAD = ['buildx', 'build']
const COMMON = [
  '--file',
  '/ws/Dockerfile.aot',
  '--platform',
  'linux/amd64,linux/arm64',
  '--progress',
  'plain',
  '--metadata-file',
  '/tmp/rt/aot-buildx-1/metadata.json'
]
const OCI = ['--output', 'type=oci,tar=false,attestation-inline=true,dest=/tmp/rt/aot-buildx-1/oci']

describe('buildArgv', () => {
  it.each<[string, Partial<BuildPlan>, string[]]>([
    ['minimal', {}, [...HEAD, ...COMMON, ...OCI, '/ws']],
    ['with a builder', { builder: 'ci-builder' }, [...HEAD, '--builder', 'ci-builder', ...COMMON, ...OCI, '/ws']],
    [
      'tags, labels and build args',
      {
        tags: ['ghcr.io/o/app:1', 'ghcr.io/o/app:latest'],
        labels: ['org.opencontainers.image.title=Todo, API'],
        buildArgs: [
          { name: 'VERSION', value: '1.2.3' },
          { name: 'EMPTY', value: '' }
        ]
      },
      [
        ...HEAD,
        ...COMMON,
        '--tag',
        'ghcr.io/o/app:1',
        '--tag',
        'ghcr.io/o/app:latest',
        '--label',
        'org.opencontainers.image.title=Todo, API',
        '--build-arg',
        'VERSION=1.2.3',
        '--build-arg',
        'EMPTY=',
        ...OCI,
        '/ws'
      ]
    ],
    [
      'the Dockerfile hash label after the user labels',
      { labels: ['a=b'], dockerfileSha256: 'f'.repeat(64) },
      [...HEAD, ...COMMON, '--label', 'a=b', '--label', `${DOCKERFILE_LABEL}=${'f'.repeat(64)}`, ...OCI, '/ws']
    ],
    [
      'gha cache',
      { cache: 'gha' },
      [
        ...HEAD,
        ...COMMON,
        '--cache-from',
        'type=gha,scope=aot-buildx-src-Api-Api.csproj-linux-amd64+linux-arm64',
        '--cache-to',
        'type=gha,scope=aot-buildx-src-Api-Api.csproj-linux-amd64+linux-arm64,mode=max,ignore-error=true,timeout=2m',
        ...OCI,
        '/ws'
      ]
    ],
    ['push', { push: true, tags: ['ghcr.io/o/app:1'] }, [...HEAD, ...COMMON, '--tag', 'ghcr.io/o/app:1', ...OCI, '--output', 'type=registry', '/ws']],
    ['nuget secret', { nugetConfig: '/tmp/rt/NuGet.config' }, [...HEAD, ...COMMON, '--secret', 'id=nuget-config,src=/tmp/rt/NuGet.config', ...OCI, '/ws']],
    [
      'everything, in order',
      {
        builder: 'b',
        platforms: ['linux/arm64'],
        tags: ['ghcr.io/o/app:1'],
        labels: ['k=v'],
        buildArgs: [{ name: 'A', value: 'x' }],
        nugetConfig: '/n/NuGet.config',
        cache: 'gha',
        cacheScope: 's',
        push: true,
        progress: 'rawjson'
      },
      [
        'buildx',
        'build',
        '--builder',
        'b',
        '--file',
        '/ws/Dockerfile.aot',
        '--platform',
        'linux/arm64',
        '--progress',
        'rawjson',
        '--metadata-file',
        '/tmp/rt/aot-buildx-1/metadata.json',
        '--tag',
        'ghcr.io/o/app:1',
        '--label',
        'k=v',
        '--build-arg',
        'A=x',
        '--secret',
        'id=nuget-config,src=/n/NuGet.config',
        '--cache-from',
        'type=gha,scope=s',
        '--cache-to',
        'type=gha,scope=s,mode=max,ignore-error=true,timeout=2m',
        '--output',
        'type=oci,tar=false,attestation-inline=true,dest=/tmp/rt/aot-buildx-1/oci',
        '--output',
        'type=registry',
        '/ws'
      ]
    ]
  ])('%s', (_label, over, want) => {
    expect(buildArgv({ ...MIN, ...over })).toEqual(want)
  })
})

describe('buildArgv: secrets, load, annotations, attestations', () => {
  const argv = buildArgv({
    ...MIN,
    secrets: [
      { id: 'CORP_FEED_TOKEN', env: secretVariable('CORP_FEED_TOKEN') },
      { id: 'FEEDS', env: 'VSS_FEEDS' },
      { id: 'KEY', src: '/rt/key,1' }
    ],
    load: true,
    annotations: ['index:org.opencontainers.image.title=a, b', 'manifest[linux/arm64]:x=y'],
    provenance: 'mode=max,builder-id=https://github.com/o/r/actions/runs/1',
    sbom: 'true'
  })
  const after = (flag: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []))

  it('passes each secret by variable name or file, never by value', () => {
    expect(after('--secret')).toEqual(['id=CORP_FEED_TOKEN,env=AOT_BUILDX_SECRET_CORP_FEED_TOKEN', 'id=FEEDS,env=VSS_FEEDS', 'id=KEY,"src=/rt/key,1"'])
  })

  it('passes annotations whole (values may hold commas), provenance and sbom as given', () => {
    expect(after('--annotation')).toEqual(['index:org.opencontainers.image.title=a, b', 'manifest[linux/arm64]:x=y'])
    expect(after('--provenance')).toEqual(['mode=max,builder-id=https://github.com/o/r/actions/runs/1'])
    expect(after('--sbom')).toEqual(['true'])
  })

  it('loads beside the OCI layout output, before the context', () => {
    expect(argv.indexOf('--load')).toBeGreaterThan(argv.findIndex((a) => a.startsWith('type=oci')))
    expect(argv.at(-1)).toBe('/ws')
  })

  it('adds none of them by default', () => {
    const plain = buildArgv(MIN)
    for (const f of ['--secret', '--load', '--annotation', '--provenance', '--sbom']) expect(plain).not.toContain(f)
  })
})

describe('provenanceFlag (build-push-action\'s defaults)', () => {
  const id = 'https://github.com/o/r/actions/runs/7/attempts/2'
  it('is max-level for a public or unknown repository and min-level inline for a private one, naming the run', () => {
    expect(provenanceFlag('', { load: false, repositoryPrivate: false, builderId: id })).toBe(`mode=max,builder-id=${id}`)
    expect(provenanceFlag('', { load: false, repositoryPrivate: undefined, builderId: id })).toBe(`mode=max,builder-id=${id}`)
    expect(provenanceFlag('', { load: false, repositoryPrivate: true, builderId: id })).toBe(`mode=min,inline-only=true,builder-id=${id}`)
  })

  it('adds no flag when loading (the docker exporter takes no attestation), unless asked', () => {
    expect(provenanceFlag('', { load: true, repositoryPrivate: false, builderId: id })).toBe('')
    expect(provenanceFlag('mode=max', { load: true, repositoryPrivate: false, builderId: id })).toBe(`mode=max,builder-id=${id}`)
  })

  it('keeps false, turns true into the builder id, and keeps a given builder id', () => {
    expect(provenanceFlag('false', { load: false, repositoryPrivate: false, builderId: id })).toBe('false')
    expect(provenanceFlag('true', { load: false, repositoryPrivate: false, builderId: id })).toBe(`builder-id=${id}`)
    expect(provenanceFlag('true', { load: false, repositoryPrivate: false, builderId: '' })).toBe('true')
    expect(provenanceFlag('mode=min,builder-id=x', { load: false, repositoryPrivate: false, builderId: id })).toBe('mode=min,builder-id=x')
  })
})

describe('csv (buildx option values)', () => {
  it('leaves plain fields alone', () => {
    expect(csv(['type=oci', 'dest=/tmp/a b'])).toBe('type=oci,dest=/tmp/a b')
  })

  it('quotes a field with a comma or a quote, as encoding/csv reads it back', () => {
    expect(csv(['id=nuget-config', 'src=/tmp/a,b/NuGet.config'])).toBe('id=nuget-config,"src=/tmp/a,b/NuGet.config"')
    expect(csv(['dest=/tmp/say "hi"'])).toBe('"dest=/tmp/say ""hi"""')
  })

  it('a path with a comma reaches buildx as one field', () => {
    const argv = buildArgv({ ...MIN, nugetConfig: '/tmp/x,type=local/NuGet.config', ociDir: '/tmp/o,dest=/etc' })
    expect(argv).toContain('id=nuget-config,"src=/tmp/x,type=local/NuGet.config"')
    expect(argv).toContain('type=oci,tar=false,attestation-inline=true,"dest=/tmp/o,dest=/etc"')
  })
})

describe('cacheScope', () => {
  it('is a slug of the project and the platform set', () => {
    expect(cacheScope('src/Api/Api.csproj', ['linux/amd64', 'linux/arm64'])).toBe('aot-buildx-src-Api-Api.csproj-linux-amd64+linux-arm64')
  })

  it('differs between projects', () => {
    expect(cacheScope('src/Api/Api.csproj', ['linux/amd64'])).not.toBe(cacheScope('src/Worker/Worker.csproj', ['linux/amd64']))
  })

  it('differs between platform sets', () => {
    const scopes = new Set([
      cacheScope('src/Api/Api.csproj', ['linux/amd64']),
      cacheScope('src/Api/Api.csproj', ['linux/arm64']),
      cacheScope('src/Api/Api.csproj', ['linux/amd64', 'linux/arm64'])
    ])
    expect(scopes.size).toBe(3)
  })

  it('holds only characters a cache key accepts', () => {
    expect(cacheScope('./My Project/My App.csproj', ['linux/arm64'])).toMatch(/^[A-Za-z0-9._+-]+$/)
  })
})

describe('redactArgv', () => {
  it('hides build-arg values only', () => {
    const argv = ['buildx', 'build', '--label', 'a=secret-label', '--build-arg', 'TOKEN=abc=def', '--build-arg', 'MULTI=line1\nline2', '--tag', 'x:1', '/ws']
    expect(redactArgv(argv)).toEqual(['buildx', 'build', '--label', 'a=secret-label', '--build-arg', 'TOKEN=***', '--build-arg', 'MULTI=***', '--tag', 'x:1', '/ws'])
  })

  it('does not change the argv it is given', () => {
    const argv = ['--build-arg', 'A=b']
    redactArgv(argv)
    expect(argv).toEqual(['--build-arg', 'A=b'])
  })
})

describe('displayCommand', () => {
  it.each([
    [['buildx', 'build', '--platform', 'linux/amd64,linux/arm64', '/ws'], 'docker buildx build --platform linux/amd64,linux/arm64 /ws'],
    [['--label', 'title=Todo API'], "docker --label 'title=Todo API'"],
    [['--label', "it's"], `docker --label 'it'\\''s'`],
    [['--build-arg', 'A=$HOME'], "docker --build-arg 'A=$HOME'"],
    [['--tag', ''], "docker --tag ''"]
  ])('%j', (argv, want) => {
    expect(displayCommand(argv)).toBe(want)
  })
})

describe('parseBuildxVersion', () => {
  it.each([
    ['github.com/docker/buildx 0.13.1 0.13.1+ds1-3', '0.13.1'],
    ['github.com/docker/buildx v0.21.2 abc1234', '0.21.2'],
    ['github.com/docker/buildx v0.29.1-desktop.1 4a8c0a2', '0.29.1'],
    ['docker: unknown command "buildx"', undefined],
    ['', undefined]
  ])('%j -> %s', (text, want) => {
    expect(parseBuildxVersion(text)).toBe(want)
  })
})

describe('buildxTooOld', () => {
  it.each([
    ['0.12.1', false, /older than 0\.13\.0/],
    ['0.12.1', true, /older than 0\.13\.0/],
    ['0.13.0', false, undefined],
    ['0.13.1', true, /older than 0\.21\.0.*gha/],
    ['0.20.9', true, /older than 0\.21\.0/],
    ['0.21.0', true, undefined],
    ['0.29.1', true, undefined]
  ])('%s (gha %s)', (version, gha, want) => {
    const got = buildxTooOld(version, gha)
    if (want === undefined) expect(got).toBeUndefined()
    else expect(got).toMatch(want)
  })
})

describe('parseBuilderInspect', () => {
  const TEXT = `Name:          mybuilder
Driver:        docker-container
Last Activity: 2025-01-14 10:21:07 +0000 UTC

Nodes:
Name:                  mybuilder0
Endpoint:              unix:///var/run/docker.sock
Status:                running
BuildKit daemon flags: --allow-insecure-entitlement=network.host
BuildKit version:      v0.18.2
Platforms:             linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm64*, linux/386
Labels:
 org.mobyproject.buildkit.worker.executor:         oci
 org.mobyproject.buildkit.worker.hostname:         3f1c2b7d9e0a
GC Policy rule#0:
 All:            false
 Filters:        type==source.local,type==exec.cachemount,type==source.git.checkout
`

  it('reads name, driver and the node platforms without the * marker', () => {
    expect(parseBuilderInspect(TEXT)).toEqual({
      name: 'mybuilder',
      driver: 'docker-container',
      platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/arm64', 'linux/386']
    })
  })

  it('merges the platforms of several nodes without duplicates', () => {
    const two = `${TEXT}\nName:      mybuilder1\nPlatforms: linux/arm64, linux/arm/v7\n`
    expect(parseBuilderInspect(two).platforms).toEqual(['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/arm64', 'linux/386', 'linux/arm/v7'])
  })

  it('returns empty fields for unrelated text', () => {
    expect(parseBuilderInspect('ERROR: no builder "x" found')).toEqual({ name: '', driver: '', platforms: [] })
  })
})

describe('dockerInfoHasContainerdStore', () => {
  it.each([
    ['containerd snapshotter', JSON.stringify({ Driver: 'overlayfs', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] }), true],
    ['snapshotter in DriverStatus only', JSON.stringify({ Driver: 'stargz', DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] }), true],
    [
      'classic overlay2',
      JSON.stringify({
        Driver: 'overlay2',
        DriverStatus: [
          ['Backing Filesystem', 'extfs'],
          ['Supports d_type', 'true'],
          ['Using metacopy', 'false'],
          ['Native Overlay Diff', 'true'],
          ['userxattr', 'false']
        ]
      }),
      false
    ],
    ['no driver status', JSON.stringify({ Driver: 'overlay2' }), false],
    ['invalid JSON', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.', false],
    ['JSON null', 'null', false]
  ])('%s -> %s', (_label, json, want) => {
    expect(dockerInfoHasContainerdStore(json)).toBe(want)
  })
})

describe('buildArgv: source-date-epoch on every image output', () => {
  const outputs = (p: Partial<BuildPlan>): string[] => {
    const argv = buildArgv({ ...MIN, ...p })
    return argv.flatMap((a, i) => (argv[i - 1] === '--output' ? [a] : []))
  }
  const EPOCH = ['source-date-epoch=1735689600', 'rewrite-timestamp=true']

  it('the OCI layout and the registry push get the epoch and rewrite-timestamp', () => {
    expect(outputs({ push: true, sourceDateEpoch: 1735689600 })).toEqual([['type=oci', 'tar=false', 'attestation-inline=true', 'dest=/tmp/rt/aot-buildx-1/oci', ...EPOCH].join(','), ['type=registry', ...EPOCH].join(',')])
  })

  it('a push by digest gets them too', () => {
    const [, byDigest] = outputs({ pushByDigest: ['ghcr.io/o/api'], sourceDateEpoch: 1735689600 })
    expect(byDigest?.split(',')).toEqual(expect.arrayContaining(['push-by-digest=true', ...EPOCH]))
  })

  it('a loaded image is the same bytes: --load becomes the docker output with the same attributes', () => {
    const argv = buildArgv({ ...MIN, load: true, sourceDateEpoch: 0 })
    expect(argv).not.toContain('--load')
    expect(outputs({ load: true, sourceDateEpoch: 0 })).toContain('type=docker,source-date-epoch=0,rewrite-timestamp=true')
  })

  it('never as a build arg (the Dockerfile frontend would stamp every WORKDIR with it: a new cache key per commit)', () => {
    const argv = buildArgv({ ...MIN, push: true, sourceDateEpoch: 1735689600 })
    expect(argv.join(' ')).not.toContain('SOURCE_DATE_EPOCH')
  })

  it('without an epoch, the outputs are as before', () => {
    expect(outputs({ push: true, load: true })).toEqual([OCI[1], 'type=registry'])
    expect(buildArgv({ ...MIN, load: true })).toContain('--load')
  })
})

describe('buildArgv: no-cache', () => {
  it('passes --no-cache only when asked', () => {
    expect(buildArgv({ ...MIN, noCache: true })).toContain('--no-cache')
    expect(buildArgv(MIN)).not.toContain('--no-cache')
  })
})

describe('factsArgv: the SBOM facts build after the images', () => {
  const p: BuildPlan = {
    ...MIN,
    builder: 'b1',
    tags: ['r/x:1'],
    push: true,
    cache: 'gha',
    cacheFrom: ['type=registry,ref=r/x:cache'],
    cacheTo: ['type=registry,ref=r/x:cache'],
    nugetConfig: '/tmp/n.config',
    secrets: [{ id: 'tok', env: 'AOT_BUILDX_SECRET_tok' }],
    nugetKept: true,
    provenance: 'mode=max',
    sbom: 'true',
    sourceDateEpoch: 5,
    buildArgs: [{ name: 'Version', value: '1' }]
  }

  test("the same file, context, build args, secrets and cache sources; the facts stage only, on the build platform, to a folder; its own gha scope written (mode=min); nothing tagged, attested or pushed; not the kept-packages secret", () => {
    expect(factsArgv(p, 'aot-facts', '/tmp/rt/f')).toEqual([
      'buildx', 'build', '--builder', 'b1', '--file', '/ws/Dockerfile.aot', '--progress', 'plain', '--target', 'aot-facts', '--provenance', 'false',
      '--build-arg', 'Version=1',
      '--secret', 'id=nuget-config,src=/tmp/n.config',
      '--secret', 'id=tok,env=AOT_BUILDX_SECRET_tok',
      '--cache-from', `type=gha,scope=${MIN.cacheScope}-facts`,
      '--cache-from', `type=gha,scope=${MIN.cacheScope}`,
      '--cache-to', `type=gha,scope=${MIN.cacheScope}-facts,mode=min,ignore-error=true,timeout=2m`,
      '--cache-from', 'type=registry,ref=r/x:cache',
      '--output', 'type=local,dest=/tmp/rt/f',
      '/ws'
    ])
  })

  test('a run that exports no cache (untrusted events, read-only tokens) writes none for the facts either; without gha, only the user\'s sources', () => {
    expect(factsArgv({ ...p, cacheExport: false }, 'aot-facts', '/f').filter((a) => a.startsWith('type=gha'))).toEqual([`type=gha,scope=${MIN.cacheScope}-facts`, `type=gha,scope=${MIN.cacheScope}`])
    expect(factsArgv({ ...p, cacheExport: false }, 'aot-facts', '/f')).not.toContain('--cache-to')
    const none = factsArgv({ ...p, cache: 'none' }, 'aot-facts', '/f')
    expect(none.filter((_a, i) => none[i - 1] === '--cache-from' || none[i - 1] === '--cache-to')).toEqual(['type=registry,ref=r/x:cache'])
  })
})
