// Reading the OCI layout a build wrote, including the one a builder that pushed during the
// build leaves: its index.json names the registry's index, which the layout does not hold.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { inspectLayout, layoutImageRoot } from '../../src/image/layout.js'
import { makeLayout } from '../pipeline/fakes.js'

let dir = ''
let own = ''
const FOREIGN = `sha256:${'ab'.repeat(32)}`
const blob = (digest: string): string => path.join(dir, 'blobs', 'sha256', digest.slice(7))
const nameInIndexJson = (digest: string): void => {
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 1234 }] }))
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-layout-'))
  own = await makeLayout(dir, false)
})
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('layoutImageRoot / inspectLayout', () => {
  test('a layout that names its own index is read through it', async () => {
    expect(layoutImageRoot(dir).digest).toBe(own)
    expect((await inspectLayout(dir)).map((r) => r.platform)).toEqual(['linux/amd64', 'linux/arm64'])
  })

  test("index.json names the registry's index (pushed during the build): the layout's own index is read, with the same images", async () => {
    const before = await inspectLayout(dir)
    nameInIndexJson(FOREIGN)
    expect(layoutImageRoot(dir)).toMatchObject({ digest: own, mediaType: 'application/vnd.oci.image.index.v1+json', size: fs.statSync(blob(own)).size })
    const after = await inspectLayout(dir)
    expect(after.map((r) => [r.platform, r.digest])).toEqual(before.map((r) => [r.platform, r.digest]))
    expect(after).toEqual(before)
  })

  test('an index named by another one is not a root: the outer one is read', async () => {
    // An outer index that names the layout's own one (nested, as some builders write).
    const outer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: own, size: fs.statSync(blob(own)).size }] }))
    const { createHash } = await import('node:crypto')
    const digest = `sha256:${createHash('sha256').update(outer).digest('hex')}`
    fs.writeFileSync(blob(digest), outer)
    nameInIndexJson(FOREIGN)
    expect(layoutImageRoot(dir).digest).toBe(digest)
    expect((await inspectLayout(dir)).map((r) => r.platform)).toEqual(['linux/amd64', 'linux/arm64'])
  })

  test('neither the named index nor one of its own: a clear error, no raw ENOENT', async () => {
    nameInIndexJson(FOREIGN)
    fs.rmSync(blob(own))
    await expect(inspectLayout(dir)).rejects.toThrow(
      `could not read the images the build wrote to its OCI layout (${dir}): its index.json names ${FOREIGN}, which the layout does not hold, and the layout holds no index of its own`
    )
  })

  test('two unrelated indexes of its own: which one is not guessed', async () => {
    const copy = JSON.parse(fs.readFileSync(blob(own), 'utf8')) as { manifests: unknown[] }
    const other = Buffer.from(JSON.stringify({ ...copy, manifests: copy.manifests.slice(0, 1) }))
    const { createHash } = await import('node:crypto')
    fs.writeFileSync(blob(`sha256:${createHash('sha256').update(other).digest('hex')}`), other)
    nameInIndexJson(FOREIGN)
    await expect(inspectLayout(dir)).rejects.toThrow(/the layout holds 2 indexes named by no other \(sha256:[a-f0-9]{64}, sha256:[a-f0-9]{64}\)$/)
  })

  test('a blob missing from the layout is named by its path in the layout', async () => {
    const index = JSON.parse(fs.readFileSync(blob(own), 'utf8')) as { manifests: { digest: string }[] }
    const manifest = index.manifests[0]?.digest ?? ''
    fs.rmSync(blob(manifest))
    await expect(inspectLayout(dir)).rejects.toThrow(`could not read the images the build wrote to its OCI layout (${dir}): blobs/sha256/${manifest.slice(7)} is missing`)
  })
})
