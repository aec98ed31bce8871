// Signatures with cosign on the real engine and the local registry: `sign: true` with a key
// (generated here, passed as cosign-key and cosign-password as a workflow passes secrets), no
// transparency log (Rekor is unreachable here; keyless is argv-tested only, Fulcio and Rekor
// too). `cosign verify --key` passes for the pushed index and each platform manifest, fails for
// a tag moved to an image the key never signed; the merge mode signs the merged index; keyless
// without the job's OIDC token fails before anything is built, naming the permission. The key
// never reaches the log, the summary or the outputs. scripts/engine-up.sh installs cosign 3.
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { docker, makeWorkspace, output, REGISTRY, registryJson, runAction, type ActionRun } from './harness.js'

const RUN = Date.now().toString(36)
const REPO = `aot-e2e/signed-${RUN}`
const PASSWORD = `pw-${RUN}-secret`
const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-cosign-'))

function must(run: ActionRun, what: string): ActionRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
  return run
}

/** cosign verify with the public key, no transparency log (none was written); exit code and output. */
function verify(ref: string): { code: number; text: string } {
  const r = spawnSync('cosign', ['verify', '--key', path.join(keys, 'cosign.pub'), '--insecure-ignore-tlog=true', ref], { encoding: 'utf8' })
  return { code: r.status ?? -1, text: `${r.stdout}${r.stderr}` }
}

interface Desc {
  digest: string
  annotations?: Record<string, string>
}

/** The platform manifests of an index in the registry (attestation manifests left out). */
async function platformManifests(ref: string): Promise<string[]> {
  const { body } = await registryJson(REPO, ref)
  return ((body.manifests ?? []) as Desc[]).filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest').map((m) => m.digest)
}

let key = ''
const ws = makeWorkspace(`sign-${RUN}`, ['HelloAot'])
const base = { project: 'HelloAot', context: 'HelloAot', 'smoke-test': 'false' }
const signing = () => ({ sign: 'true', 'cosign-key': key, 'cosign-password': PASSWORD, 'transparency-log': 'false' })

beforeAll(() => {
  execFileSync('cosign', ['generate-key-pair'], { cwd: keys, env: { ...process.env, COSIGN_PASSWORD: PASSWORD }, stdio: 'ignore' })
  key = fs.readFileSync(path.join(keys, 'cosign.key'), 'utf8')
})

afterAll(() => {
  fs.rmSync(keys, { recursive: true, force: true })
})

/** The secrets appear only in the commands that mask them (the runner shows neither). */
function noSecrets(run: ActionRun): void {
  const body = key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))
  expect(body.length).toBeGreaterThan(0)
  expect(run.stdout).toContain(`::add-mask::${PASSWORD}`)
  const shown = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')
  for (const text of [shown, run.summary, JSON.stringify(run.outputs)]) {
    for (const line of body) expect(text).not.toContain(line)
    expect(text).not.toContain(PASSWORD)
  }
}

describe('sign: true with a key', () => {
  let run: ActionRun

  beforeAll(() => {
    run = must(runAction(ws, { ...base, ...signing(), platforms: 'linux/amd64,linux/arm64', push: 'true', tags: `${REGISTRY}/${REPO}:main` }), 'the signed build')
  })

  test('the pushed index and each platform manifest verify with the public key', async () => {
    const digest = output(run, 'digest')
    expect((await registryJson(REPO, 'main')).digest).toBe(digest)
    const platforms = await platformManifests('main')
    expect(platforms).toHaveLength(2)
    for (const d of [digest, ...platforms]) {
      const v = verify(`${REGISTRY}/${REPO}@${d}`)
      expect({ d, code: v.code }).toEqual({ d, code: 0 })
      expect(v.text).toContain(`"docker-manifest-digest":"${d}"`)
      expect(run.stdout).toContain(`Signed ${REGISTRY}/${REPO}@${d}`)
    }
    expect(verify(`${REGISTRY}/${REPO}:main`).code).toBe(0)
  })

  test('a tag moved to an image the key did not sign fails verification', () => {
    // The runtime base image, pushed under the signed tag: what a tampered registry would serve.
    docker(['tag', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled', `${REGISTRY}/${REPO}:main`])
    docker(['push', '-q', `${REGISTRY}/${REPO}:main`])
    const v = verify(`${REGISTRY}/${REPO}:main`)
    expect(v.code).not.toBe(0)
    expect(v.text).toMatch(/no signatures found|no matching signatures/)
  })

  test('the key and its password never reach the log, the summary or the outputs', () => {
    noSecrets(run)
  })
})

describe('merge signs the merged index', () => {
  test('two push-by-digest jobs unsigned, the merge signed: the merged index and both platforms verify', async () => {
    const digests: string[] = []
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const job = must(runAction(ws, { ...base, platforms: platform, 'push-by-digest': 'true', tags: `${REGISTRY}/${REPO}` }), `push by digest ${platform}`)
      digests.push(output(job, 'digest'))
    }
    const merged = must(runAction(ws, { mode: 'merge', digests: digests.join('\n'), tags: `${REGISTRY}/${REPO}:merged`, ...signing() }), 'the signed merge')
    const index = output(merged, 'digest')
    expect((await registryJson(REPO, 'merged')).digest).toBe(index)
    expect(verify(`${REGISTRY}/${REPO}@${index}`).code).toBe(0)
    for (const d of await platformManifests('merged')) expect(verify(`${REGISTRY}/${REPO}@${d}`).code).toBe(0)
    noSecrets(merged)
  })
})

test('keyless without the OIDC token fails before anything is built, naming the permission', () => {
  const r = runAction(ws, { ...base, platforms: 'linux/amd64', push: 'true', tags: `${REGISTRY}/${REPO}:keyless`, sign: 'true' })
  expect(r.code).not.toBe(0)
  expect(r.stdout).toMatch(/^::error::.*sign: keyless signing needs an OIDC token.*permissions: id-token: write/m)
  // Before the project is read: nothing evaluated, generated or built.
  expect(r.stdout).not.toContain('::group::Read the project')
  expect(r.stdout).not.toMatch(/^#\d+ \[/m)
})
