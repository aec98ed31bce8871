// Scale-out, end to end on the real engine: two separate action runs (one per architecture,
// as two matrix jobs would) push the TodoApi sample by digest only, then a third run merges
// the digests under a tag. Checked from outside the action: the registry's API and the
// running containers.
import {
  at,
  docker,
  entry,
  freePort,
  makeWorkspace,
  output,
  registryJson,
  registrySizes,
  REGISTRY,
  removeContainer,
  runAction,
  startContainer,
  waitForHttp,
  type ActionRun
} from './harness.js'

const RUN = `scale-${Date.now().toString(36)}`
const REPO = 'aot-e2e/scale'
const TAG = `${REGISTRY}/${REPO}:${RUN}`
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const
type P = (typeof PLATFORMS)[number]

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
}

async function tagsOf(repo: string): Promise<string[]> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)
  if (res.status === 404) return []
  return (((await res.json()) as { tags?: string[] | null }).tags ?? []).slice().sort()
}

interface Sizes {
  [platform: string]: { compressed: number; uncompressed: number | null; appLayer: number | null; digest: string }
}

describe('scale-out: one job per architecture pushes by digest, a merge job tags the index', () => {
  const jobs = {} as Record<P, ActionRun>
  let merge: ActionRun
  let tagsBeforeMerge: string[] = []

  beforeAll(async () => {
    for (const p of PLATFORMS) {
      const ws = makeWorkspace(`scale-${p.replace('/', '-')}`, ['TodoApi'])
      jobs[p] = runAction(ws, { project: 'TodoApi', context: 'TodoApi', platforms: p, tags: TAG, 'push-by-digest': 'true' })
      console.log(`scale: ${p} job ${jobs[p].seconds.toFixed(1)} s (exit ${jobs[p].code}); digest ${jobs[p].outputs.digest}; timings ${jobs[p].outputs.timings}`)
      must(jobs[p], `the ${p} job`)
    }
    tagsBeforeMerge = await tagsOf(REPO)
    // The merge job has no project and no sources: only the digests the platform jobs output.
    const ws = makeWorkspace('scale-merge', [])
    merge = runAction(ws, {
      mode: 'merge',
      tags: TAG,
      digests: PLATFORMS.map((p) => jobs[p].outputs.digest).join('\n'),
      // As metadata-action gives them: the index one is the merge's, the manifest one the build jobs'.
      annotations: `index:org.opencontainers.image.revision=${RUN}\nmanifest:org.opencontainers.image.vendor=not-by-merge`
    })
    console.log(`scale: merge job ${merge.seconds.toFixed(1)} s (exit ${merge.code}); digest ${merge.outputs.digest}; timings ${merge.outputs.timings}`)
    must(merge, 'the merge job')
  })

  afterAll(() => {
    // Pulled by `docker run` below: this suite's own local image, removed again.
    try {
      docker(['rmi', TAG])
    } catch {
      // not pulled (a test failed before running it)
    }
  })

  test('the platform jobs pushed by digest only: no tag until the merge', async () => {
    expect(tagsBeforeMerge).not.toContain(RUN)
    for (const p of PLATFORMS) {
      const d = output(jobs[p], 'digest')
      expect(d).toMatch(/^sha256:[a-f0-9]{64}$/)
      expect((await registryJson(REPO, d)).digest).toBe(d)
      expect(jobs[p].summary).toContain(`Pushed: \`${REGISTRY}/${REPO}@${d}\``)
      const build = jobs[p].stdout.split('\n').find((l) => l.startsWith('docker buildx build')) ?? ''
      expect(build).toContain(`--platform ${p}`)
      expect(build).not.toContain('--tag')
      expect(Object.keys(JSON.parse(output(jobs[p], 'sizes')) as Sizes)).toEqual([p])
    }
    expect(await tagsOf(REPO)).toContain(RUN)
  })

  test('the tag names an index of exactly linux/amd64 and linux/arm64, with the digest the merge output', async () => {
    const reg = await registrySizes(REPO, RUN)
    expect(Object.keys(reg).sort()).toEqual([...PLATFORMS])
    expect(merge.outputs.digest).toBe((await registryJson(REPO, RUN)).digest)
  })

  test('the merge sets the index annotation and says which it leaves to the build jobs', async () => {
    const index = await registryJson(REPO, RUN)
    expect(index.body.annotations).toEqual({ 'org.opencontainers.image.revision': RUN })
    expect(merge.stdout).toContain('Not set by the merge (only index: and manifest-descriptor: annotations are')
  })

  test('the merged sizes equal the registry figures and the platform jobs\' own', async () => {
    const reg = await registrySizes(REPO, RUN)
    const merged = JSON.parse(output(merge, 'sizes')) as Sizes
    expect(Object.keys(merged).sort()).toEqual([...PLATFORMS])
    for (const p of PLATFORMS) {
      const job = entry(JSON.parse(output(jobs[p], 'sizes')) as Sizes, p)
      const m = entry(merged, p)
      const stored = entry(reg, p).size
      expect(m.compressed).toBe(stored)
      expect(merge.outputs[`size-${p.replace('/', '-')}`]).toBe(String(stored))
      expect(m.uncompressed).toBeNull()
      expect(m.appLayer).toBeNull()
      // What each job measured from its OCI layout is what the registry now serves.
      expect(job.compressed).toBe(stored)
      expect(job.uncompressed).toBeGreaterThan(job.compressed)
    }
    console.log(`scale sizes (compressed, from the registry): ${PLATFORMS.map((p) => `${p} ${entry(reg, p).size}`).join(', ')}`)
  })

  test('the merge\'s per-platform digests are the two jobs\' digests', async () => {
    const reg = await registrySizes(REPO, RUN)
    const merged = JSON.parse(output(merge, 'sizes')) as Sizes
    for (const p of PLATFORMS) {
      const job = entry(JSON.parse(output(jobs[p], 'sizes')) as Sizes, p)
      const { digest } = entry(merged, p)
      expect(digest).toBe(entry(reg, p).digest)
      expect(digest).toBe(job.digest)
      // A job's digest output is its image manifest (docker driver) or an index holding it.
      const pushed = await registryJson(REPO, output(jobs[p], 'digest'))
      const inside = ((pushed.body.manifests as { digest: string }[] | undefined) ?? []).map((m) => m.digest)
      expect(jobs[p].outputs.digest === digest || inside.includes(digest)).toBe(true)
    }
  })

  test.each(PLATFORMS)('%s: the merged tag runs; GET /todos answers 200 with 5 todos', async (platform) => {
    const port = await freePort()
    const cid = startContainer(TAG, platform, ['-p', `127.0.0.1:${port}:8080`])
    try {
      const res = await waitForHttp(`http://127.0.0.1:${port}/todos`)
      expect(res.status).toBe(200)
      const todos = (await res.json()) as { id: number; title: string }[]
      expect(todos).toHaveLength(5)
      expect(at(todos, 0).title).toBe('Walk the dog')
    } finally {
      removeContainer(cid)
    }
  })

  test('the merge built nothing and says what manifests cannot tell', () => {
    expect(merge.stdout).not.toContain('buildx build')
    expect(merge.outputs.dockerfile).toBeUndefined()
    expect(merge.summary).toContain(`### Native AOT image (merged): \`${REGISTRY}/${REPO}\``)
    for (const p of PLATFORMS) expect(merge.summary).toMatch(new RegExp(`^\\| ${p} \\| [\\d.]+ MB \\| n/a \\| n/a \\| \`sha256:`, 'm'))
    expect(merge.summary).toContain('not available from manifests alone')
    expect(merge.summary).toContain(`Pushed: \`${TAG}\``)
    const t = JSON.parse(output(merge, 'timings')) as { total: number; merge: number }
    expect(t.merge).toBeLessThanOrEqual(t.total)
  })
})
