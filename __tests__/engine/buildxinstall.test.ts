// buildx-version: the pure decisions, then the real install over HTTP from a local server
// that serves a release file and its checksums.txt (and a release whose checksum is wrong).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { BuildError } from '../../src/util/errors.js'
import {
  buildxArch,
  buildxAsset,
  buildxUrls,
  checksumProblem,
  configEntriesToLink,
  decideBuildx,
  DEFAULT_BUILDX_DOWNLOAD_URL,
  downloadBase,
  parseChecksums
} from '../../src/engine/buildxinstall.js'
import { installBuildx, prepareDockerConfig } from '../../src/engine/buildxtool.js'
import { onPath } from '../../src/util/proc.js'

const HEX_A = 'a'.repeat(64)
const HEX_B = 'b'.repeat(64)

describe('release files and checksums', () => {
  it('asset names and URLs', () => {
    expect(buildxAsset('v0.21.2', 'arm64')).toBe('buildx-v0.21.2.linux-arm64')
    expect(buildxUrls('https://github.com/docker/buildx/releases/download', 'v0.21.2', 'amd64')).toEqual({
      binary: 'https://github.com/docker/buildx/releases/download/v0.21.2/buildx-v0.21.2.linux-amd64',
      checksums: 'https://github.com/docker/buildx/releases/download/v0.21.2/checksums.txt'
    })
    expect(buildxUrls('http://127.0.0.1:8080/mirror//', 'v0.21.2', 'arm64').binary).toBe('http://127.0.0.1:8080/mirror/v0.21.2/buildx-v0.21.2.linux-arm64')
  })

  it.each([
    [undefined, DEFAULT_BUILDX_DOWNLOAD_URL],
    ['', DEFAULT_BUILDX_DOWNLOAD_URL],
    ['http://127.0.0.1:9/releases/', 'http://127.0.0.1:9/releases'],
    ['https://mirror.example/buildx', 'https://mirror.example/buildx']
  ])('download base %j -> %s', (env, base) => {
    expect(downloadBase(env)).toBe(base)
  })

  it.each([
    ['file:///etc/passwd', 'AOT_BUILDX_DOWNLOAD_URL must be an http(s) URL, not file:'],
    ['not a url', 'AOT_BUILDX_DOWNLOAD_URL="not a url" is not a URL']
  ])('download base %j is refused', (env, message) => {
    expect(() => downloadBase(env)).toThrow(new BuildError(message))
  })

  it.each([
    ['x64', 'amd64'],
    ['arm64', 'arm64'],
    ['s390x', undefined],
    ['arm', undefined]
  ])('node arch %s -> %s', (a, want) => {
    expect(buildxArch(a)).toBe(want)
  })

  it('parses checksums.txt in its release formats (one or two spaces, *binary, paths)', () => {
    const text = [`${HEX_A} *buildx-v0.21.2.linux-amd64`, `${HEX_B.toUpperCase()}  buildx-v0.21.2.linux-arm64`, `${'c'.repeat(64)} ./release-out/buildx-v0.21.2.linux-riscv64`, 'garbage line', ''].join('\n')
    expect([...parseChecksums(text)]).toEqual([
      ['buildx-v0.21.2.linux-amd64', HEX_A],
      ['buildx-v0.21.2.linux-arm64', HEX_B],
      ['buildx-v0.21.2.linux-riscv64', 'c'.repeat(64)]
    ])
  })

  it.each([
    ['a match', HEX_A, undefined],
    ['a match in upper case', HEX_A.toUpperCase(), undefined],
    ['a mismatch', HEX_B, `checksum mismatch for buildx-v0.21.2.linux-amd64: checksums.txt says sha256 ${HEX_A}, the download is ${HEX_B}`]
  ])('checksumProblem: %s', (_name, actual, problem) => {
    expect(checksumProblem('buildx-v0.21.2.linux-amd64', actual, `${HEX_A} *buildx-v0.21.2.linux-amd64\n`)).toBe(problem)
  })

  it('checksumProblem: no line for the asset is refused too', () => {
    expect(checksumProblem('buildx-v0.21.2.linux-arm64', HEX_A, `${HEX_A} *buildx-v0.21.2.linux-amd64\n`)).toBe(
      "the release's checksums.txt has no line for buildx-v0.21.2.linux-arm64, so the download cannot be verified"
    )
  })

  it('links every entry of the user docker config except its plugins', () => {
    expect(configEntriesToLink(['config.json', 'cli-plugins', 'buildx', 'contexts'])).toEqual(['buildx', 'config.json', 'contexts'])
  })
})

describe('decideBuildx', () => {
  it.each<[string, string | undefined, boolean, string, ReturnType<typeof decideBuildx>]>([
    ['recent enough: used, nothing installed', '0.13.1', false, 'v0.21.2', { action: 'use', version: '0.13.1' }],
    ['recent enough without a pin', '0.21.2', true, '', { action: 'use', version: '0.21.2' }],
    ['missing, pinned: installed', undefined, false, 'v0.21.2', { action: 'install', version: 'v0.21.2', reason: "docker buildx is not available: 'buildx' is not a docker command" }],
    [
      'too old for the gha cache, pinned: installed',
      '0.13.1',
      true,
      'v0.21.2',
      { action: 'install', version: 'v0.21.2', reason: "buildx 0.13.1 is older than 0.21.0, which the gha cache needs since GitHub's cache service v2" }
    ],
    [
      'too old, no pin: the error says how to fix it',
      '0.12.1',
      false,
      '',
      {
        action: 'fail',
        message:
          'buildx 0.12.1 is older than 0.13.0, the first that writes the OCI layout and pushes in one build. Set buildx-version (e.g. v0.21.2) to install a release, or update buildx (docker/setup-buildx-action installs a current one).'
      }
    ],
    [
      'the pin is too old for the gha cache',
      '0.12.1',
      true,
      'v0.20.0',
      {
        action: 'fail',
        message:
          "buildx 0.12.1 is older than 0.13.0, the first that writes the OCI layout and pushes in one build, and buildx-version v0.20.0 is not recent enough either: buildx 0.20.0 is older than 0.21.0, which the gha cache needs since GitHub's cache service v2."
      }
    ]
  ])('%s', (_name, current, gha, wanted, decision) => {
    expect(decideBuildx(current, gha, wanted, "'buildx' is not a docker command")).toEqual(decision)
  })
})

// A fake buildx release: a docker CLI plugin (shell script) that answers the plugin metadata
// call and `buildx version`.
const VERSION = 'v0.21.2'
const PLUGIN = `#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"aot-buildx tests","Version":"${VERSION}","ShortDescription":"fake buildx"}'
  exit 0
fi
echo "github.com/docker/buildx ${VERSION} fake-for-tests"
`

describe('installBuildx over HTTP', () => {
  const arch = buildxArch(process.arch) ?? 'amd64'
  const asset = buildxAsset(VERSION, arch)
  const good = Buffer.from(PLUGIN)
  const sha = createHash('sha256').update(good).digest('hex')
  const requests: string[] = []
  let server: http.Server
  let base = ''
  let root = ''
  const saved = { cache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP }

  // Releases: VERSION is good; v0.99.0's file differs from its checksum; v0.98.0 has no line
  // for the asset; v0.97.0 does not exist.
  const files: Record<string, Buffer> = {
    [`/releases/${VERSION}/${asset}`]: good,
    [`/releases/${VERSION}/checksums.txt`]: Buffer.from(`${HEX_A} *buildx-${VERSION}.darwin-arm64\n${sha} *${asset}\n`),
    [`/releases/v0.99.0/${buildxAsset('v0.99.0', arch)}`]: Buffer.from(`${PLUGIN}# tampered\n`),
    [`/releases/v0.99.0/checksums.txt`]: Buffer.from(`${sha} *${buildxAsset('v0.99.0', arch)}\n`),
    [`/releases/v0.98.0/${buildxAsset('v0.98.0', arch)}`]: good,
    [`/releases/v0.98.0/checksums.txt`]: Buffer.from(`${sha} *buildx-v0.98.0.linux-s390x\n`)
  }

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-buildx-install-'))
    fs.mkdirSync(path.join(root, 'toolcache'))
    fs.mkdirSync(path.join(root, 'temp'))
    process.env.RUNNER_TOOL_CACHE = path.join(root, 'toolcache')
    process.env.RUNNER_TEMP = path.join(root, 'temp')
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '')
      const body = files[req.url ?? '']
      if (body === undefined) res.writeHead(404).end('not found')
      else res.writeHead(200, { 'Content-Length': body.length }).end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve()
      })
    })
    process.env.RUNNER_TOOL_CACHE = saved.cache
    process.env.RUNNER_TEMP = saved.temp
  })

  beforeEach(() => {
    requests.length = 0
  })

  it('downloads the release and its checksums.txt, verifies, and installs into the tool cache (mode 755)', async () => {
    const r = await installBuildx(VERSION, arch, base)
    expect(r).toEqual({ binary: path.join(root, 'toolcache', 'docker-buildx', '0.21.2', arch, 'docker-buildx'), cached: false })
    expect(requests).toEqual([`/releases/${VERSION}/${asset}`, `/releases/${VERSION}/checksums.txt`])
    expect(fs.readFileSync(r.binary)).toEqual(good)
    expect(fs.statSync(r.binary).mode & 0o777).toBe(0o755)
    expect(fs.existsSync(path.join(root, 'toolcache', 'docker-buildx', '0.21.2', `${arch}.complete`))).toBe(true)
    // The downloads themselves are not left in RUNNER_TEMP.
    expect(fs.readdirSync(path.join(root, 'temp'))).toEqual([])
  })

  it('a later job on the runner finds it in the tool cache: no download', async () => {
    const r = await installBuildx(VERSION, arch, base)
    expect(r.cached).toBe(true)
    expect(requests).toEqual([])
  })

  it('refuses a download whose checksum does not match, and caches nothing', async () => {
    const p = installBuildx('v0.99.0', arch, base)
    await expect(p).rejects.toThrow(BuildError)
    await expect(installBuildx('v0.99.0', arch, base)).rejects.toThrow(
      new RegExp(`^refusing to install buildx v0\\.99\\.0: checksum mismatch for buildx-v0\\.99\\.0\\.linux-${arch}: checksums\\.txt says sha256 ${sha}, the download is [a-f0-9]{64}\\.$`)
    )
    expect(fs.existsSync(path.join(root, 'toolcache', 'docker-buildx', '0.99.0'))).toBe(false)
    expect(fs.readdirSync(path.join(root, 'temp'))).toEqual([])
  })

  it('refuses a release whose checksums.txt has no line for the file', async () => {
    await expect(installBuildx('v0.98.0', arch, base)).rejects.toThrow(`refusing to install buildx v0.98.0: the release's checksums.txt has no line for buildx-v0.98.0.linux-${arch}`)
    expect(fs.existsSync(path.join(root, 'toolcache', 'docker-buildx', '0.98.0'))).toBe(false)
  })

  it('a release that does not exist is a clear error', async () => {
    await expect(installBuildx('v0.97.0', arch, base)).rejects.toThrow(`could not download buildx-v0.97.0.linux-${arch} from ${base}/v0.97.0/buildx-v0.97.0.linux-${arch} (HTTP 404)`)
  })

  it('prepareDockerConfig: our plugin, the user config linked in, the user folder untouched; docker runs our buildx', async () => {
    const { binary } = await installBuildx(VERSION, arch, base)
    const user = path.join(root, 'user-docker')
    fs.mkdirSync(path.join(user, 'cli-plugins'), { recursive: true })
    fs.mkdirSync(path.join(user, 'buildx', 'instances'), { recursive: true })
    fs.writeFileSync(path.join(user, 'config.json'), '{"auths":{"ghcr.io":{"auth":"dXNlcjpzZWNyZXQ="}}}', { mode: 0o600 })
    fs.writeFileSync(path.join(user, 'cli-plugins', 'docker-compose'), '#!/bin/sh\n', { mode: 0o755 })
    const before = fs.readdirSync(user, { recursive: true }).sort()

    const dir = prepareDockerConfig(binary, path.join(root, 'temp'), user)
    expect(path.dirname(dir)).toBe(path.join(root, 'temp'))
    expect(fs.readdirSync(dir).sort()).toEqual(['buildx', 'cli-plugins', 'config.json'])
    expect(fs.readdirSync(path.join(dir, 'cli-plugins'))).toEqual(['docker-buildx'])
    expect(fs.realpathSync(path.join(dir, 'cli-plugins', 'docker-buildx'))).toBe(fs.realpathSync(binary))
    expect(fs.readlinkSync(path.join(dir, 'config.json'))).toBe(path.join(user, 'config.json'))
    expect(fs.readlinkSync(path.join(dir, 'buildx'))).toBe(path.join(user, 'buildx'))
    expect(fs.readdirSync(user, { recursive: true }).sort()).toEqual(before)

    // The real docker CLI finds the plugin through DOCKER_CONFIG (where a docker CLI is installed).
    if (onPath('docker')) {
      const out = execFileSync('docker', ['buildx', 'version'], { env: { ...process.env, DOCKER_CONFIG: dir }, encoding: 'utf8' })
      expect(out.trim()).toBe(`github.com/docker/buildx ${VERSION} fake-for-tests`)
    }
  })

  it('prepareDockerConfig without a user docker config: just the plugin', async () => {
    const { binary } = await installBuildx(VERSION, arch, base)
    const dir = prepareDockerConfig(binary, path.join(root, 'temp'), path.join(root, 'no-such-dir'))
    expect(fs.readdirSync(dir)).toEqual(['cli-plugins'])
  })
})
