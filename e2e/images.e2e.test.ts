// .NET 11's base images, on the real engine and registry. There is no .NET 11 SDK on these
// machines, so what is proven here is the plumbing, not .NET 11's compiler:
//  - the existence check's lookup against a real registry (127.0.0.1:5000): an image that is
//    there, one that is not (a BuildError in seconds, naming it), and a registry nobody
//    listens on (skipped, with a debug line);
//  - the shop fixture's web API (net10.0: project reference, central package management, props
//    above the app) built for linux/amd64 and linux/arm64 with sdk-image and runtime-image
//    naming the labelled 11.0-resolute stand-ins (scripts/base-images.sh: Debian 12 inside,
//    the host's .NET 10 SDK, gcc and zlib1g-dev but no clang or llvm, as Microsoft's .NET 11
//    -aot image). The arm64 link is a cross link, which needs clang: it succeeds only because
//    the toolchain stage installed clang and llvm into an SDK image that has neither.
import { execFileSync, spawnSync } from 'node:child_process'
import { checkDefaultImages, lookup } from '../src/image/exists.js'
import { BuildError } from '../src/util/errors.js'
import { docker, freePort, makeFixtureWorkspace, output, registryJson, REGISTRY, runAction, startContainer, stepCacheState, waitForHttp } from './harness.js'

const RUN = `i${Date.now().toString(36)}`
const SDK11 = 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot'
const RD11 = 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled'
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const

function label(image: string, key: string): string {
  return execFileSync('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${key}" }}`, image], { encoding: 'utf8' }).trim()
}

describe('the default images\' existence check against a real registry', () => {
  const repo = `aot-e2e/exists-${RUN}`
  const present = `${REGISTRY}/${repo}:present`

  beforeAll(() => {
    // A small image of ours in the registry, and not in the engine's store, so the registry is asked.
    docker(['tag', RD11, present])
    docker(['push', '-q', present])
    docker(['image', 'rm', present])
  })

  it('an image the registry has exists; one it does not have fails in seconds naming it; an unreachable registry is skipped', async () => {
    const found = await lookup(present)
    expect(found.local).toBe(false)
    expect(found.remote?.code).toBe(0)

    const absent = `${REGISTRY}/${repo}:absent`
    const started = Date.now()
    let error: unknown
    try {
      await checkDefaultImages([present, absent], 11, () => undefined)
    } catch (e) {
      error = e
    }
    const seconds = (Date.now() - started) / 1000
    console.log(`existence check of ${present} and ${absent}: ${seconds.toFixed(1)} s`)
    expect(error).toBeInstanceOf(BuildError)
    expect((error as Error).message).toMatch(new RegExp(`^The default base image ${absent.replace(/[.:/]/g, '\\$&')} \\(.*not found\\) does not exist in the registry\\.`))
    expect((error as Error).message).not.toContain(`${present} (`)

    const debug: string[] = []
    const verdicts = await checkDefaultImages(['127.0.0.1:1/aot-e2e/nobody:1'], 11, (l) => debug.push(l))
    expect(verdicts).toEqual([expect.objectContaining({ state: 'unknown' })])
    expect(debug).toEqual([expect.stringMatching(/^Could not check that 127\.0\.0\.1:1\/aot-e2e\/nobody:1 exists \(.*connection refused.*\): the build will tell\.$/)])
  })
})

describe('shop API (net10.0) on the 11.0-resolute stand-ins, both platforms', () => {
  const repo = 'aot-e2e/shop-api-resolute'
  const tag = `${REGISTRY}/${repo}:${RUN}`

  it('the stand-ins are labelled as such, and the SDK one has gcc but no clang or llvm-objcopy (as Microsoft\'s .NET 11 -aot image)', () => {
    expect(label(SDK11, 'aot-buildx.stand-in')).toBe('true')
    expect(label(SDK11, 'org.opencontainers.image.description')).toMatch(/^STAND-IN for mcr\.microsoft\.com\/dotnet\/sdk:11\.0-resolute-aot, built from Debian 12 packages \(not Ubuntu 26\.04\)/)
    expect(label(RD11, 'aot-buildx.stand-in')).toBe('true')
    const probe = spawnSync('docker', ['run', '--rm', '--pull', 'never', SDK11, 'sh', '-c', 'command -v gcc; command -v clang || echo no-clang; command -v llvm-objcopy || echo no-llvm-objcopy'], { encoding: 'utf8' })
    expect(probe.stdout.split('\n').filter((l) => l !== '')).toEqual(['/usr/bin/gcc', 'no-clang', 'no-llvm-objcopy'])
  })

  it('builds and pushes both platforms; the toolchain stage installed clang and llvm; the app answers on each', async () => {
    const ws = makeFixtureWorkspace('shop-api-resolute', 'shop')
    const run = runAction(ws, { project: 'src/Shop.Api', tags: tag, push: 'true', platforms: PLATFORMS.join(','), 'sdk-image': SDK11, 'runtime-image': RD11 })
    console.log(`shop api on the 11.0-resolute stand-ins, both platforms: ${run.seconds.toFixed(1)} s (exit ${run.code})`)
    if (run.code !== 0) throw new Error(`the build failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
    expect(run.stdout).toContain(`SDK ${SDK11}; runtime ${RD11}`)
    // The toolchain stage's apt-get, with clang and llvm among what it set up (dpkg's own lines),
    // when the step ran; a cached step was made by this same stage text on this same SDK image.
    const toolchain = stepCacheState(run.stdout, /aot-buildx-apt-cache/)
    expect(toolchain).toHaveLength(1)
    if (toolchain[0] === false) {
      expect(run.stdout).toMatch(/Setting up clang[- ]/)
      expect(run.stdout).toMatch(/Setting up llvm[- ]/)
      expect(run.stdout).toMatch(/Setting up gcc-aarch64-linux-gnu /)
    }
    const index = await registryJson(repo, RUN)
    const manifests = (index.body.manifests as { platform?: { architecture: string } }[]).filter((m) => m.platform?.architecture !== 'unknown')
    expect(manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64'])
    expect(output(run, 'digest')).toBe(index.digest)
    for (const platform of PLATFORMS) {
      const port = await freePort()
      const cid = startContainer(tag, platform, ['-p', `127.0.0.1:${port}:8080`])
      try {
        const res = await waitForHttp(`http://127.0.0.1:${port}/version`)
        expect(res.status).toBe(200)
      } finally {
        // Removed before the image's tag is (below).
        docker(['rm', '-f', cid])
      }
    }
    // The image's base is the stand-in (its labels are inherited).
    const img = execFileSync('docker', ['image', 'inspect', '--format', '{{ index .Config.Labels "org.opencontainers.image.description" }}', tag], { encoding: 'utf8' }).trim()
    expect(img).toMatch(/^STAND-IN for mcr\.microsoft\.com\/dotnet\/runtime-deps:11\.0-resolute-chiseled/)
    docker(['image', 'rm', tag])
  })
})
