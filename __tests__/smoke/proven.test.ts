import * as path from 'node:path'
import { parseProof, PROOF_MAJOR, proofFile, proofKey, proofsToSave, reusedResult, serializeProof, settingsHash, type ProofSettings } from '../../src/smoke/proven.js'
import { inTargetOrder, smokeJson, smokeLine, splitByProof, type SmokeResult, type SmokeTarget } from '../../src/smoke/plan.js'

const digest = `sha256:${'1'.repeat(64)}`
const amd: SmokeTarget = { platform: 'linux/amd64', emulated: false }
const arm: SmokeTarget = { platform: 'linux/arm64', emulated: true }
const web: ProofSettings = { isWeb: true, path: '/', args: [], windowMs: 5000, memoryLimit: 1_000_000_000, port: 8080, timeoutMs: 60_000 }
const worker: ProofSettings = { ...web, isWeb: false }

describe('proofKey: one platform image, with what decides its verdict', () => {
  it('names the action major, the manifest digest, the platform and how it ran', () => {
    const key = proofKey(digest, amd, web)
    expect(key).toBe(`aot-buildx-smoke-v${PROOF_MAJOR}-${'1'.repeat(64)}-linux_amd64-native-${settingsHash(web)}`)
    expect(proofKey(digest, arm, web)).toMatch(/-linux_arm64-qemu-[0-9a-f]{16}$/)
    expect(proofKey(`sha256:${'2'.repeat(64)}`, amd, web)).not.toBe(key)
    // Nothing but a digest of its own shape goes into a key.
    for (const bad of ['', 'sha256:abc', `sha512:${'1'.repeat(128)}`, `sha256:${'1'.repeat(64)}-x`]) expect(proofKey(bad, amd, web)).toBeUndefined()
  })

  it('changes with every setting that can change the verdict, and only with those for the kind of app', () => {
    const key = (s: Partial<ProofSettings>, base = web): string | undefined => proofKey(digest, amd, { ...base, ...s })
    // A web app: smoke-url, the port, the timeout, max-memory (the container's limit).
    for (const s of [{ path: '/healthz' }, { memoryLimit: 2_000_000_000 }, { port: 8081 }, { timeoutMs: 30_000 }, { isWeb: false }]) expect(key(s)).not.toBe(key({}))
    // smoke-args and smoke-window do not decide a web app's verdict.
    expect(key({ args: ['--x'], windowMs: 9000 })).toBe(key({}))
    // A console app: smoke-args, smoke-window, max-memory; not smoke-url.
    for (const s of [{ args: ['--mode=x'] }, { windowMs: 9000 }, { memoryLimit: 2_000_000_000 }]) expect(key(s, worker)).not.toBe(key({}, worker))
    expect(key({ path: '/other' }, worker)).toBe(key({}, worker))
  })

  it('keeps one file per platform, the same path at save and restore', () => {
    expect(proofFile('/t', 'linux/arm64')).toBe(path.join('/t', 'aot-buildx-smoke-proof', 'linux_arm64.json'))
  })
})

describe('parseProof: only a proof of exactly this image', () => {
  const stored = serializeProof({ digest, platform: 'linux/amd64', emulated: false, startupMs: 63, memoryPeak: 21_000_000, outcome: 'answered GET / with 200', runId: '123', sha: 'abcdef0123456789' })

  it('reads what saveProof writes', () => {
    expect(parseProof(stored, digest, amd)).toEqual({ version: 1, digest, platform: 'linux/amd64', emulated: false, startupMs: 63, memoryPeak: 21_000_000, outcome: 'answered GET / with 200', runId: '123', sha: 'abcdef0123456789' })
  })

  it('refuses another digest, platform or emulation, and anything this version did not write', () => {
    expect(parseProof(stored, `sha256:${'2'.repeat(64)}`, amd)).toBeUndefined()
    expect(parseProof(stored, digest, { platform: 'linux/amd64', emulated: true })).toBeUndefined()
    expect(parseProof(stored, digest, arm)).toBeUndefined()
    const edit = (o: Record<string, unknown>): string => JSON.stringify({ ...(JSON.parse(stored) as object), ...o })
    for (const bad of ['', 'null', '[]', '{', edit({ version: 2 }), edit({ startupMs: -1 }), edit({ memoryPeak: '20MB' }), edit({ outcome: '' }), edit({ outcome: 'ok\n::error::x' }), edit({ outcome: 'x'.repeat(501) })]) {
      expect(parseProof(bad, digest, amd)).toBeUndefined()
    }
    // The run and commit are shown only in their own shapes.
    expect(parseProof(edit({ runId: '1; rm', sha: '`x`' }), digest, amd)).toMatchObject({ runId: '', sha: '' })
  })
})

describe('reuse', () => {
  const proof = { version: 1 as const, digest, platform: 'linux/amd64', emulated: false, startupMs: 63, memoryPeak: 21_000_000, outcome: 'answered GET / with 200', runId: '123', sha: 'abcdef0123456789' }

  it('splits the targets into those started now and those whose image was proven', () => {
    const proofs = new Map([['linux/amd64', proof]])
    expect(splitByProof([amd, arm], proofs)).toEqual({ start: [arm], reuse: [proof] })
    expect(splitByProof([amd, arm], new Map())).toEqual({ start: [amd, arm], reuse: [] })
    const fresh: SmokeResult = { ...arm, startupMs: 2400, outcome: 'answered GET / with 200' }
    expect(inTargetOrder([amd, arm], [fresh, reusedResult(proof)]).map((r) => r.platform)).toEqual(['linux/amd64', 'linux/arm64'])
  })

  it('marks reused figures in the log line and in the smoke output, which keeps its shape', () => {
    const r = reusedResult(proof)
    expect(r).toMatchObject({ platform: 'linux/amd64', emulated: false, startupMs: 63, memoryPeak: 21_000_000, reused: true })
    expect(smokeLine(r)).toBe('started in 63 ms, peak memory 21.00 MB; answered GET / with 200; figures reused: this image digest passed the smoke test before (run 123, commit abcdef0) and was not started again')
    expect(smokeJson([r])).toEqual({
      'linux/amd64': { startupMs: 63, memoryPeak: 21_000_000, emulated: false, ok: true, outcome: 'answered GET / with 200; figures reused: this image digest passed the smoke test before (run 123, commit abcdef0) and was not started again' }
    })
  })

  it('keeps proofs only from trusted events, only when every image passed, only of what was started now', () => {
    const passed: SmokeResult = { ...amd, startupMs: 60, outcome: 'answered GET / with 200' }
    const failed: SmokeResult = { ...arm, outcome: 'x', failure: 'x' }
    expect(proofsToSave([passed], 0, true)).toEqual([passed])
    expect(proofsToSave([passed], 0, false)).toEqual([])
    expect(proofsToSave([passed, failed], 1, true)).toEqual([])
    expect(proofsToSave([passed, reusedResult(proof)], 0, true)).toEqual([passed])
  })
})
