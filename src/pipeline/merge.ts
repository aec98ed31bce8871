// mode: merge. The per-architecture jobs pushed their images by digest; this joins them into
// one multi-platform index under the tags (`docker buildx imagetools create`), reads the
// index back from the registry, and reports the same outputs and summary as a single job.
// Nothing is built and no Dockerfile is written. Thin shell over scale.ts.
import * as path from 'node:path'
import * as core from '@actions/core'
import { BuildError, InputError } from '../util/errors.js'
import type { Runner } from '../action/env.js'
import type { Settings } from '../action/inputs.js'
import { setOutput, setOutputs } from '../action/outputs.js'
import { run } from '../util/proc.js'
import { showUntrusted } from '../util/untrusted.js'
import { indexPlatforms, manifestCompressedSize } from '../image/oci.js'
import { inspectRaw, type RawDocument } from '../image/registry.js'
import {
  imagetoolsCreateArgv,
  mergeAnnotations,
  mergedSizeOutputs,
  mergedSizesJson,
  mergedTable,
  mergeProblems,
  mergeSources,
  mergedImages,
  mergeFrame,
  repositories,
  type MergedPlatform
} from '../image/scale.js'
import { displayCommand } from '../engine/buildx.js'
import { ensureBuildx } from '../engine/setup.js'
import { finish } from './finish.js'
import { signRefs } from '../sign/cosign.js'
import { checkSigning, signImages } from '../sign/run.js'

/** An index or manifest as the registry stores it (see registry.ts), as a merge failure when it cannot be read. */
async function readRaw(builder: string, ref: string): Promise<RawDocument> {
  try {
    return await inspectRaw(builder, ref)
  } catch (e) {
    throw new BuildError(`could not read ${ref} back from the registry (docker buildx imagetools inspect --raw): ${(e as Error).message}`)
  }
}

export async function merge(s: Settings, runner: Runner, started: number): Promise<void> {
  // A merge job builds nothing: inputs that only shape a build are named, not silently dropped.
  if (s.ignoredInputs.length > 0) core.warning(`mode: merge builds nothing, so these inputs are ignored: ${s.ignoredInputs.join(', ')}. They belong in the per-architecture build jobs.`)
  const [tag] = s.tags
  const [repo] = repositories(s.tags)
  // The inputs already require tags in this mode; this only gives the first of them a type.
  if (tag === undefined || repo === undefined) throw new InputError('tags', 'is required in mode: merge', 'the tags of the multi-platform image the merge creates')
  const sources = mergeSources(s.digests, repo)
  checkSigning(s.sign, runner.trustedEvent, runner.eventName)
  const annotations = mergeAnnotations(s.annotations)
  if (annotations.left.length > 0) core.info(`Not set by the merge (only index: and manifest-descriptor: annotations are; the manifests are the build jobs'): ${annotations.left.join(', ')}`)
  const argv = imagetoolsCreateArgv(s.builder, s.tags, sources, annotations.passed)
  const title = s.project !== '' ? path.relative(s.workspace, s.project).split(path.sep).join('/') || '.' : repo
  if (!s.build) {
    showUntrusted(`build: false, so nothing is merged. The merge would run:\n${displayCommand(argv)}`)
    return
  }
  await core.group('Set up buildx', async () => {
    core.info(`buildx ${await ensureBuildx(false, s.buildxVersion, s.tempDir)}`)
  })

  const mergeStart = Date.now()
  const created = await core.group(`Merge ${s.digests.length} digest${s.digests.length === 1 ? '' : 's'} into ${s.tags.join(', ')}`, async () => {
    showUntrusted(displayCommand(argv))
    return run('docker', argv, { stream: true })
  })
  if (created.code !== 0) {
    const tail = (created.stderr || created.stdout).trim().split('\n').slice(-10).join('\n')
    throw new BuildError(
      `docker buildx imagetools create failed (exit ${created.code}). Check that every digest was pushed to ${repo} (push-by-digest jobs push to the repositories of their tags) and that this job is logged in to the registry.\n${tail}`
    )
  }

  const { indexDigest, found } = await core.group('Read the index back from the registry', async () => {
    const index = await readRaw(s.builder, tag)
    setOutput('digest', index.digest)
    const out: MergedPlatform[] = []
    for (const e of indexPlatforms(index.body, `the index of ${tag}`)) {
      const ref = `${repo}@${e.digest}`
      const manifest = await readRaw(s.builder, ref)
      out.push({ platform: e.platform, digest: e.digest, compressed: manifestCompressedSize(manifest.body, `the manifest ${ref}`) })
    }
    showUntrusted(`index ${index.digest}\n${mergedTable(out)}`)
    return { indexDigest: index.digest, found: out }
  })
  const seconds = (Date.now() - mergeStart) / 1000
  // The merged index is signed only when it holds every platform it should.
  const problems = mergeProblems(found, s.platforms)
  if (problems.length === 0) {
    const refused = await signImages(s.sign, signRefs(repositories(s.tags), indexDigest, found.map((f) => f.digest)), s.tempDir)
    if (refused !== undefined) problems.push(`signing (the index is pushed, unsigned): ${refused}`)
  }

  setOutputs({ sizes: JSON.stringify(mergedSizesJson(found)), ...mergedSizeOutputs(found) })
  await finish(s, runner, {
    title,
    images: mergedImages(found),
    problems,
    problemsHeading: 'the merged image is incomplete',
    timings: { merge: seconds },
    summary: mergeFrame({ title, found, tags: s.tags, indexDigest, seconds }),
    started
  })
}
