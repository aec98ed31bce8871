import { InputError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'
import * as fs from 'node:fs'
import yaml from 'js-yaml'
import { DEFAULT_QEMU_IMAGE, INPUT_DEFAULTS, parseInputs, type RunnerEnv, type Settings } from '../../src/action/inputs.js'
import { parseList } from '../../src/util/lists.js'
import { secretValuesToMask } from '../../src/action/secrets.js'

const env: RunnerEnv = { workspace: '/ws', tempDir: '/tmp/rt' }

/** A getter over a Record: missing keys read as '' like @actions/core getInput. */
function getter(values: Record<string, string>): (name: string) => string {
  return (name) => values[name] ?? ''
}

function parse(values: Record<string, string>): Settings {
  return parseInputs(getter({ project: 'src/Api/Api.csproj', ...values }), env)
}

/** Runs parse and returns the InputError it throws (failing the test if it does not throw one). */
function inputError(values: Record<string, string>): InputError {
  return thrownBy(() => parse(values), InputError)
}

/** `Input "<name>": <problem>. Accepted: <...>.` */
function expectShape(err: InputError, name: string, problem: RegExp | string, accepted: RegExp | string): void {
  expect(err.input).toBe(name)
  const m = /^Input "([^"]+)": (.+)\. Accepted: (.+)\.$/s.exec(err.message)
  expect(m).not.toBeNull()
  const [, gotName, gotProblem, gotAccepted] = m as RegExpExecArray
  expect(gotName).toBe(name)
  if (typeof problem === 'string') expect(gotProblem).toContain(problem)
  else expect(gotProblem).toMatch(problem)
  if (typeof accepted === 'string') expect(gotAccepted).toContain(accepted)
  else expect(gotAccepted).toMatch(accepted)
}

describe('parseInputs defaults', () => {
  const s = parse({})

  it('resolves the project inside the workspace', () => {
    expect(s.project).toBe('/ws/src/Api/Api.csproj')
    expect(s.workspace).toBe('/ws')
    expect(s.tempDir).toBe('/tmp/rt')
  })

  it('builds both platforms', () => {
    expect(s.platforms).toEqual(['linux/amd64', 'linux/arm64'])
  })

  it('uses the documented defaults for the enumerations and booleans', () => {
    expect(s.flavor).toBe('auto')
    expect(s.push).toBe(false)
    expect(s.build).toBe(true)
    expect(s.summary).toBe(true)
    expect(s.cache).toBe('auto')
    expect(s.setupQemu).toBe('auto')
    expect(s.configuration).toBe('Release')
    expect(s.framework).toBe('')
  })

  it('uses the workspace as context and <context>/Dockerfile.aot as dockerfile', () => {
    expect(s.context).toBe('/ws')
    expect(s.dockerfile).toBe('/ws/Dockerfile.aot')
  })

  it('puts the default dockerfile in a non-default context', () => {
    expect(parse({ context: 'src' }).dockerfile).toBe('/ws/src/Dockerfile.aot')
  })

  it('pins the QEMU image and leaves images and lists empty', () => {
    expect(s.qemuImage).toBe(DEFAULT_QEMU_IMAGE)
    expect(s.sdkImage).toBe('')
    expect(s.runtimeImage).toBe('')
    expect(s.builder).toBe('')
    expect(s.nugetConfig).toBe('')
    expect(s.tags).toEqual([])
    expect(s.labels).toEqual([])
    expect(s.buildArgs).toEqual([])
  })
})

describe('list inputs', () => {
  it('parseList splits on newlines and commas, trims and drops blanks', () => {
    expect(parseList(' a ,b\n\n c\r\nd,, \n')).toEqual(['a', 'b', 'c', 'd'])
  })

  it('reads tags from newlines and commas', () => {
    expect(parse({ tags: 'ghcr.io/o/app:1\nghcr.io/o/app:latest, docker.io/o/app:1\n' }).tags).toEqual([
      'ghcr.io/o/app:1',
      'ghcr.io/o/app:latest',
      'docker.io/o/app:1'
    ])
  })

  it('reads labels and build args one per line, keeping commas and = in values', () => {
    const s = parse({
      labels: 'org.opencontainers.image.title=Todo, API\n\norg.opencontainers.image.licenses=MIT',
      'build-args': 'VERSION=1.2.3\nFEATURES=a,b=c\nEMPTY='
    })
    expect(s.labels).toEqual(['org.opencontainers.image.title=Todo, API', 'org.opencontainers.image.licenses=MIT'])
    expect(s.buildArgs).toEqual([
      { name: 'VERSION', value: '1.2.3' },
      { name: 'FEATURES', value: 'a,b=c' },
      { name: 'EMPTY', value: '' }
    ])
  })

  it('accepts push with tags', () => {
    const s = parse({ push: 'true', tags: 'ghcr.io/o/app:1' })
    expect(s.push).toBe(true)
  })
})

describe('platform normalisation', () => {
  it.each([
    ['linux/arm64/v8', ['linux/arm64']],
    ['LINUX/AMD64', ['linux/amd64']],
    ['linux/x86_64', ['linux/amd64']],
    ['linux/aarch64, linux/amd64', ['linux/arm64', 'linux/amd64']],
    ['linux/arm64\nlinux/x86_64', ['linux/arm64', 'linux/amd64']],
    ['  linux/amd64  ', ['linux/amd64']]
  ])('%j -> %j', (raw, want) => {
    expect(parse({ platforms: raw }).platforms).toEqual(want)
  })
})

describe('valid enumerations', () => {
  it.each([
    ['flavor', 'chiseled', (s: Settings) => s.flavor],
    ['flavor', 'full', (s: Settings) => s.flavor],
    ['cache', 'gha', (s: Settings) => s.cache],
    ['cache', 'none', (s: Settings) => s.cache],
    ['setup-qemu', 'true', (s: Settings) => s.setupQemu]
  ])('%s: %s', (name, value, pick) => {
    expect(pick(parse({ [name]: value }))).toBe(value)
  })

  it.each([
    ['True', true],
    ['FALSE', false],
    ['false', false]
  ])('build %s -> %s', (raw, want) => {
    expect(parse({ build: raw }).build).toBe(want)
  })
})

describe('bad inputs: one InputError each, in the shape Input "<name>": <problem>. Accepted: <...>.', () => {
  it('platforms linux/386', () => {
    expectShape(inputError({ platforms: 'linux/386' }), 'platforms', '"linux/386" is not a platform', 'linux/amd64, linux/arm64')
  })

  it('platforms windows/amd64', () => {
    expectShape(inputError({ platforms: 'linux/amd64,windows/amd64' }), 'platforms', '"windows/amd64"', 'linux/amd64, linux/arm64')
  })

  it('platforms listed twice under different spellings', () => {
    expectShape(inputError({ platforms: 'linux/arm64\nlinux/arm64/v8' }), 'platforms', '"linux/arm64/v8" is listed twice (as linux/arm64)', 'each platform once')
  })

  it('platforms empty after splitting', () => {
    expectShape(inputError({ platforms: ',' }), 'platforms', 'no platform given', 'linux/amd64, linux/arm64')
  })

  it('flavor slim', () => {
    expectShape(inputError({ flavor: 'slim' }), 'flavor', '"slim" is not a known value', 'chiseled, chiseled-extra, full, auto')
  })

  it('push yes', () => {
    expectShape(inputError({ push: 'yes', tags: 'ghcr.io/o/app:1' }), 'push', '"yes" is not a boolean', 'true or false')
  })

  it('build 1', () => {
    expectShape(inputError({ build: '1' }), 'build', '"1" is not a boolean', 'true or false')
  })

  it('push true without tags', () => {
    expectShape(inputError({ push: 'true' }), 'push', 'no tags', 'at least one entry in tags')
  })

  it('tag with an upper-case repository', () => {
    expectShape(inputError({ tags: 'ghcr.io/o/app:1,Ghcr.io/UPPER/App:1' }), 'tags', '"Ghcr.io/UPPER/App:1" is not a valid image tag', 'lower-case repository')
  })

  it('tag with a digest', () => {
    expectShape(inputError({ tags: `ghcr.io/o/app@sha256:${'a'.repeat(64)}` }), 'tags', 'is not a valid image tag', 'references like')
  })

  it('label without a key', () => {
    expectShape(inputError({ labels: 'a=b\n=x' }), 'labels', '"=x" has no key', 'one key=value per line')
  })

  it('build arg whose name starts with a digit', () => {
    expectShape(inputError({ 'build-args': '1BAD=x' }), 'build-args', 'entry 1 is not NAME=value', 'one NAME=value per line')
  })

  it.each([
    ['a token pasted without a name', 'VERSION=1\nghp_0123456789abcdefghijklmnopqrstuvwxyz', 'ghp_0123456789abcdefghijklmnopqrstuvwxyz', 2],
    ['a token with "-" and "." as the name', 'eyJhbGciOi.eyJzdWIi-x=1', 'eyJhbGciOi.eyJzdWIi-x', 1],
    ['a padded token (its "=" read as the separator)', 'dXNlcjpwYXNzd29yZDEy3x==', 'dXNlcjpwYXNzd29yZDEy3x', 1]
  ])('a build arg that is %s: named by its number only, and masked before validation', (_, raw, token, n) => {
    const err = inputError({ 'build-args': raw })
    expectShape(err, 'build-args', `entry ${n} is not NAME=value`, 'one NAME=value per line')
    expect(err.message).not.toContain(token.slice(0, 8))
    expect(secretValuesToMask((name) => (name === 'build-args' ? raw : ''), {})).toContain(token)
  })

  it('well-formed build args are not masked (their names and values are what the log shows)', () => {
    expect(secretValuesToMask((name) => (name === 'build-args' ? 'VERSION=1.2.3\nA=b' : ''), {})).toEqual([])
  })

  it('a build arg given twice', () => {
    expectShape(inputError({ 'build-args': 'VERSION=1\nOTHER=2\nVERSION=3' }), 'build-args', 'VERSION is given twice', 'each build argument once')
  })

  it('a rejected value is quoted clipped, with control characters shown', () => {
    const e = inputError({ tags: `${'a'.repeat(100000)}:1` })
    expect(e.message.length).toBeLessThan(400)
    expect(inputError({ flavor: 'x\u001b[2J' }).message).toContain('"x\\x1b[2J"')
  })

  it('build arg that BuildKit sets per platform', () => {
    expectShape(inputError({ 'build-args': 'TARGETARCH=arm64' }), 'build-args', 'TARGETARCH is set by BuildKit', 'your own build arguments')
  })

  it('framework 10.0', () => {
    expectShape(inputError({ framework: '10.0' }), 'framework', '"10.0" is not a target framework moniker', 'net10.0')
  })

  it('configuration with a space', () => {
    expectShape(inputError({ configuration: 'Re lease' }), 'configuration', '"Re lease" is not a configuration name', 'Release')
  })

  it('dockerfile outside the workspace', () => {
    expectShape(inputError({ dockerfile: '../outside' }), 'dockerfile', '"../outside" resolves to /outside, outside the workspace /ws', 'a path inside the workspace')
  })

  it('dockerfile named .dockerignore', () => {
    expectShape(inputError({ dockerfile: 'src/.dockerignore' }), 'dockerfile', '"src/.dockerignore" is not a file name', 'a file path such as Dockerfile.aot')
  })

  it('context outside the workspace', () => {
    expectShape(inputError({ context: '/etc' }), 'context', '"/etc" resolves to /etc, outside the workspace /ws', 'a path inside the workspace')
  })

  it('project empty', () => {
    let thrown: unknown
    try {
      parseInputs(getter({ project: '  ' }), env)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(InputError)
    expectShape(thrown as InputError, 'project', 'is required', 'a path to a .csproj file')
  })

  it('project outside the workspace', () => {
    expectShape(inputError({ project: '../x.csproj' }), 'project', '"../x.csproj" resolves to /x.csproj', 'a path inside the workspace')
  })

  it('sdk-image that is not a reference', () => {
    expectShape(inputError({ 'sdk-image': 'not a ref!' }), 'sdk-image', '"not a ref!" is not a valid image reference', 'registry/repo:tag')
  })

  it('setup-qemu maybe', () => {
    expectShape(inputError({ 'setup-qemu': 'maybe' }), 'setup-qemu', '"maybe" is not a known value', 'auto, true, false')
  })

  it('cache s3', () => {
    expectShape(inputError({ cache: 's3' }), 'cache', '"s3" is not a known value', 'auto, gha, none')
  })

  it('builder with a space', () => {
    expectShape(inputError({ builder: 'bad name' }), 'builder', '"bad name" is not a builder name', 'an existing buildx builder')
  })
})

describe('dockerfile that names a folder', () => {
  it('rejects "docker/" with a trailing slash', () => {
    expectShape(inputError({ dockerfile: 'docker/' }), 'dockerfile', '"docker/" is not a file name', 'a file path')
  })
})

describe("INPUT_DEFAULTS mirrors action.yml's defaults", () => {
  it('has the default of every input action.yml defaults (what a runner passes when the workflow gives none)', () => {
    const doc = yaml.load(fs.readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as { inputs: Record<string, { default?: string }> }
    const fromYaml = Object.fromEntries(Object.entries(doc.inputs).filter(([n, v]) => v.default !== undefined && n !== 'github-token').map(([n, v]) => [n, v.default]))
    expect(INPUT_DEFAULTS).toEqual(fromYaml)
  })
})

describe('load, annotations, provenance, sbom', () => {
  it('load needs tags and a name (not push-by-digest); off by default', () => {
    expect(parse({}).load).toBe(false)
    expect(parse({ load: 'true', tags: 'app:1' }).load).toBe(true)
    expectShape(inputError({ load: 'true' }), 'load', 'is true but no tags are given', 'at least one entry in tags')
    expectShape(inputError({ load: 'true', tags: 'r/app:1', 'push-by-digest': 'true', platforms: 'linux/amd64' }), 'load', 'push-by-digest', 'load: true with tags')
    expectShape(inputError({ load: 'yes' }), 'load', '"yes" is not a boolean', 'true or false')
  })

  it('annotations are metadata-action lines, kept whole (commas and colons in values)', () => {
    const lines = ['org.opencontainers.image.title=a, b', 'index:org.opencontainers.image.url=https://x.y/z', 'manifest,index:k=v', 'manifest[linux/arm64]:k=v']
    expect(parse({ annotations: lines.join('\n') }).annotations).toEqual(lines)
  })

  it('annotations refuse a line without =, an unknown place, and control characters', () => {
    expectShape(inputError({ annotations: 'no-value' }), 'annotations', '"no-value" is not key=value', 'metadata-action')
    expectShape(inputError({ annotations: 'layer:k=v' }), 'annotations', '"layer" is not a place for an annotation', 'manifest:, index:')
    expectShape(inputError({ annotations: 'k=a\u0007b' }), 'annotations', 'control characters', 'key=value')
  })

  it('provenance and sbom take true, false or their attributes', () => {
    expect(parse({}).provenance).toBe('')
    expect(parse({ provenance: 'False' }).provenance).toBe('false')
    expect(parse({ provenance: 'mode=max' }).provenance).toBe('mode=max')
    expect(parse({ sbom: 'generator=docker/buildkit-syft-scanner:1' }).sbom).toBe('generator=docker/buildkit-syft-scanner:1')
    expectShape(inputError({ provenance: 'mode=full' }), 'provenance', 'mode=full is not a provenance mode', 'mode=min or mode=max')
    expectShape(inputError({ provenance: 'level=max' }), 'provenance', '"level=max" is not one of its attributes', 'mode=max')
    expectShape(inputError({ sbom: 'generator=a b' }), 'sbom', 'the value of generator', 'generator=')
  })
})

describe('no-cache', () => {
  it('is a boolean, off by default', () => {
    expect(parse({}).noCache).toBe(false)
    expect(parse({ 'no-cache': 'true' }).noCache).toBe(true)
    expectShape(inputError({ 'no-cache': 'yes' }), 'no-cache', '"yes" is not a boolean', 'true or false')
  })
})

describe('source-date-epoch', () => {
  const withEnv = (values: Record<string, string>, environ: Record<string, string>): Settings => parseInputs(getter({ project: 'src/Api/Api.csproj', ...values }), env, environ)

  it('empty: the commit time; false: as built; a Unix time as given', () => {
    expect(parse({}).sourceDateEpoch).toBe('commit')
    expect(parse({ 'source-date-epoch': 'false' }).sourceDateEpoch).toBe('off')
    expect(parse({ 'source-date-epoch': '0' }).sourceDateEpoch).toBe(0)
    expect(parse({ 'source-date-epoch': ' 1735689600 ' }).sourceDateEpoch).toBe(1735689600)
  })

  it("empty reads the step's SOURCE_DATE_EPOCH, as buildx would; the input wins over it", () => {
    expect(withEnv({}, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch).toBe(1700000000)
    expect(withEnv({ 'source-date-epoch': '5' }, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch).toBe(5)
    expect(withEnv({ 'source-date-epoch': 'false' }, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch).toBe('off')
    expectShape(thrownBy(() => withEnv({}, { SOURCE_DATE_EPOCH: 'yesterday' }), InputError), 'source-date-epoch', "the step's SOURCE_DATE_EPOCH variable", 'a Unix time in seconds')
  })

  it.each(['-1', '1.5', '2025-01-01', 'true', '99999999999'])('refuses %j, naming what it takes', (v) => {
    expectShape(inputError({ 'source-date-epoch': v }), 'source-date-epoch', 'is not a Unix time', 'a Unix time in seconds')
  })
})

describe('cache-from, cache-to', () => {
  it('take buildx values one per line (commas inside), and an image reference as a registry cache', () => {
    const s = parse({ 'cache-from': 'type=local,src=/rt/cache\nghcr.io/o/app:buildcache', 'cache-to': 'type=registry,ref=ghcr.io/o/app:buildcache,mode=max' })
    expect(s.cacheFrom).toEqual(['type=local,src=/rt/cache', 'type=registry,ref=ghcr.io/o/app:buildcache'])
    expect(s.cacheTo).toEqual(['type=registry,ref=ghcr.io/o/app:buildcache,mode=max'])
    expect(parse({}).cacheFrom).toEqual([])
  })

  it('refuse an unknown type, a local cache without its folder, and text that is no reference', () => {
    expectShape(inputError({ 'cache-to': 'type=disk,dest=/x' }), 'cache-to', 'names no known type', 'type=registry')
    expectShape(inputError({ 'cache-to': 'type=local,src=/x' }), 'cache-to', 'has no dest=', 'type=local,dest=<dir>')
    expectShape(inputError({ 'cache-from': 'type=local,dest=/x' }), 'cache-from', 'has no src=', 'type=local,src=<dir>')
    expectShape(inputError({ 'cache-from': 'not a ref' }), 'cache-from', 'is neither type=... nor an image reference', 'an image reference')
  })
})

describe('healthcheck', () => {
  const accepted = 'a URL path the app answers with 2xx or 3xx when healthy, such as /healthz: starting with /, printable ASCII without spaces, at most 256 characters; empty for no health check'

  it('is off by default; takes a path, with a query, trimmed', () => {
    expect(parse({}).healthcheck).toBe('')
    expect(parse({ healthcheck: ' /healthz ' }).healthcheck).toBe('/healthz')
    expect(parse({ healthcheck: '/health/ready?probe=docker&x=$1' }).healthcheck).toBe('/health/ready?probe=docker&x=$1')
    expect(parse({ healthcheck: `/${'a'.repeat(255)}` }).healthcheck).toHaveLength(256)
  })

  it.each([
    ['healthz', '"healthz" does not start with /'],
    ['http://localhost/healthz', 'does not start with /'],
    ['/health z', 'contains a space'],
    ['/health\tz', 'contains the character U+0009'],
    ['/health\r\nX-Injected: 1', 'contains the character U+000D'],
    ['/gesundheit-ä', 'contains the character U+00E4'],
    [`/${'a'.repeat(256)}`, 'is 257 characters long']
  ])('refuses %j: names the input, what was wrong and what is accepted', (value, problem) => {
    const err = inputError({ healthcheck: value })
    expectShape(err, 'healthcheck', problem, accepted)
  })

  it('is ignored (and named) in mode: merge and mode: discover', () => {
    expect(parseInputs(getter({ mode: 'merge', tags: 'r/x:1', digests: `sha256:${'a'.repeat(64)}`, healthcheck: '/healthz' }), env).ignoredInputs).toEqual(['healthcheck'])
    expect(parse({ mode: 'discover', healthcheck: '/healthz' }).ignoredInputs).toEqual(['healthcheck'])
  })

  it('sdk-image is read by mode: discover: its projects are evaluated in that image', () => {
    const s = parse({ mode: 'discover', 'sdk-image': 'mirror.example/dotnet/sdk:10.0-noble-aot' })
    expect(s.ignoredInputs).toEqual([])
    expect(s.sdkImage).toBe('mirror.example/dotnet/sdk:10.0-noble-aot')
  })
})

describe('driver-opts, buildkitd-config, buildkitd-config-inline', () => {
  const TOML = '[registry."localhost:5000"]\n  http = true\n  insecure = true'

  it('are off by default', () => {
    expect(parse({})).toMatchObject({ driverOpts: [], buildkitdConfig: '', buildkitdConfigInline: '' })
  })

  it('driver-opts: one option line each, in order, passed as given', () => {
    const s = parse({ 'driver-opts': 'image=moby/buildkit:v0.20.0\n\n "env.NO_PROXY=localhost,127.0.0.1" \nmemory=4g,cpu-shares=512' })
    expect(s.driverOpts).toEqual(['image=moby/buildkit:v0.20.0', '"env.NO_PROXY=localhost,127.0.0.1"', 'memory=4g,cpu-shares=512'])
  })

  it('a bad key names the input, the entry and the accepted keys', () => {
    const err = inputError({ 'driver-opts': 'image=moby/buildkit:v0.20.0\nnetwork=host\nmemmory=4g' })
    expectShape(err, 'driver-opts', 'entry 3 names "memmory", which is not an option of the docker-container driver', /each key=value with a key of the docker-container driver: image, network, memory, .*env\.<NAME>, default-load \(buildx 0\.14\+\)/)
  })

  it('an entry without "=" is refused by its number, its text not shown (it may be a token)', () => {
    const err = inputError({ 'driver-opts': 'network=host\nghp_notreallyatoken' })
    expectShape(err, 'driver-opts', 'entry 2 has no "=" in a field (a field of 19 characters)', 'one option per line')
    expect(err.message).not.toContain('ghp_')
  })

  it('unbalanced quotes and control characters are refused', () => {
    expectShape(inputError({ 'driver-opts': '"env.A=1' }), 'driver-opts', 'entry 1 has unbalanced double quotes', 'a field with a comma "quoted"')
    expectShape(inputError({ 'driver-opts': 'env.A=1\u0007' }), 'driver-opts', 'entry 1 holds control characters', 'one option per line')
  })

  it('buildkitd-config resolves against the workspace; buildkitd-config-inline is kept as TOML text', () => {
    expect(parse({ 'buildkitd-config': '.github/buildkitd.toml' }).buildkitdConfig).toBe('/ws/.github/buildkitd.toml')
    expect(parse({ 'buildkitd-config': '/tmp/rt/buildkitd.toml' }).buildkitdConfig).toBe('/tmp/rt/buildkitd.toml')
    expect(parse({ 'buildkitd-config-inline': `\n${TOML}\n` }).buildkitdConfigInline).toBe(TOML)
  })

  it('buildkitd-config-inline that is not TOML is an input error before anything runs, without its text', () => {
    const e = inputError({ 'buildkitd-config-inline': '[registry."mirror.example"\nhttp = true' })
    expectShape(e, 'buildkitd-config-inline', 'is not valid TOML (line 1, column', 'a BuildKit daemon configuration in TOML')
    expect(e.message).not.toContain('mirror.example')
  })

  it('both configs at once is an input error', () => {
    expectShape(inputError({ 'buildkitd-config': 'b.toml', 'buildkitd-config-inline': TOML }), 'buildkitd-config-inline', 'is given together with buildkitd-config', 'one of the two')
  })

  it.each([
    ['driver-opts', 'network=host'],
    ['buildkitd-config', 'b.toml'],
    ['buildkitd-config-inline', TOML]
  ])('%s with builder: is an input error (a given builder is used as is)', (name, value) => {
    expectShape(inputError({ builder: 'mybuilder', [name]: value }), name, 'is given with builder: mybuilder, which is used as is', 'either builder')
  })

  it('are ignored (and named, not validated) in mode: merge and mode: discover', () => {
    const given = { 'driver-opts': 'memmory=4g', 'buildkitd-config': 'b.toml', 'buildkitd-config-inline': TOML, builder: 'mybuilder' }
    const merge = parseInputs(getter({ mode: 'merge', tags: 'r/x:1', digests: `sha256:${'a'.repeat(64)}`, ...given }), env)
    expect(merge.ignoredInputs).toEqual(['driver-opts', 'buildkitd-config', 'buildkitd-config-inline'])
    expect(merge).toMatchObject({ driverOpts: [], buildkitdConfig: '', buildkitdConfigInline: '' })
    expect(parse({ mode: 'discover', ...given }).ignoredInputs).toEqual(['builder', 'driver-opts', 'buildkitd-config', 'buildkitd-config-inline'])
  })
})

describe('smoke-window and max-memory', () => {
  it('smoke-window defaults to 5 s and takes milliseconds or seconds', () => {
    expect(parse({}).smokeWindowMs).toBe(5000)
    expect(parse({ 'smoke-window': '1.5s' }).smokeWindowMs).toBe(1500)
    expect(parse({ 'smoke-window': '800ms' }).smokeWindowMs).toBe(800)
    expect(parse({ 'smoke-window': '2000' }).smokeWindowMs).toBe(2000)
  })

  it.each(['0', '5m', 'soon', '301s', '50ms'])('smoke-window %j is an input error', (v) => {
    expectShape(inputError({ 'smoke-window': v }), 'smoke-window', 'is not a window the smoke test can use', 'a duration from 100ms to 300s')
  })

  it('refuses max-memory: 0, which no running app fits in (docker run reads --memory 0 as no limit)', () => {
    expectShape(inputError({ 'max-memory': '0' }), 'max-memory', '"0" is zero, which no running app fits in', 'a size more than 0, such as 64MB')
    expectShape(inputError({ 'max-memory': '0MB' }), 'max-memory', 'is zero', 'more than 0')
    expect(parse({ 'max-memory': '64MB' }).maxMemory).toBe(64_000_000)
    expect(parse({}).maxMemory).toBeUndefined()
  })
})
