// Keeping NuGet packages between runs (I/O): restore the kept folder before the build (from
// the Actions cache or nuget-cache-dir), export the builder's package cache after it.
// The decisions (mode, key, marker) are in cache.ts.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import type { Settings } from '../action/inputs.js'
import { lastMeaningfulLines } from '../engine/diagnose.js'
import { readRepositoryFile } from '../util/files.js'
import { run } from '../util/proc.js'
import { NUGET_STORE_MARKER, exportArgv, hasPackages, loadArgv, nugetCacheKey, restoreSeed, saveSeed, storeMarkerText, storedKey, type NugetCacheMode } from './cache.js'

export interface NugetSeed {
  /** Kept packages exist (found in the Actions cache, or in the folder): pass the kept secret. */
  available: boolean
  /** Where the packages are kept between runs. */
  store: string
  key: string
  restoreKeys: string[]
  /** The kept packages are for this exact key: nothing new to keep. */
  exact: boolean
}

export const NO_SEED: NugetSeed = { available: false, store: '', key: '', restoreKeys: [], exact: false }

/**
 * Whether kept packages exist for this build, without fetching them: they are downloaded and
 * loaded only when a step of the build needs them (fetchKeptPackages), so a build whose steps
 * all come from the cache pays nothing for them.
 */
export async function prepareNugetSeed(mode: NugetCacheMode, s: Settings, project: string, restoreFiles: string[], sdkImage: string, trusted = true): Promise<NugetSeed> {
  if (mode === 'off') return NO_SEED
  // The folder holds what trusted runs kept (private packages among them): never loaded into a
  // build of untrusted code.
  if (mode === 'dir' && !trusted) {
    core.info("nuget-cache-dir: not read on this event (a pull request's build gets no packages trusted runs kept)")
    return NO_SEED
  }
  return core.group('NuGet packages from an earlier run', async () => {
    const store = mode === 'dir' ? s.nugetCacheDir : path.join(s.tempDir, 'aot-buildx-nuget')
    const contents: Record<string, string> = {}
    // Repository files: read only where they really lie inside the context (no symlink out).
    for (const f of restoreFiles) contents[f] = readRepositoryFile('context', s.context, path.join(s.context, f)) ?? ''
    const { key, restoreKeys } = nugetCacheKey(project, contents, s.platforms, sdkImage, trusted)
    if (mode === 'actions') {
      const hit = await restoreSeed(store, key, restoreKeys, true)
      core.info(`Actions cache: ${hit} (key ${key})${hit === 'miss' ? '' : '; downloaded only if a step of the build needs the packages'}`)
      return { available: hit !== 'miss', store, key, restoreKeys, exact: hit === 'exact' }
    }
    // The folder's own exact hit: exporting the same package set again would only cost time.
    const have = hasPackages(store)
    const marker = path.join(store, NUGET_STORE_MARKER)
    const exact = have && fs.existsSync(marker) && storedKey(fs.readFileSync(marker, 'utf8')) === key
    if (!have) core.info('No packages kept yet: restore downloads them.')
    else if (exact) core.info(`${store} holds the packages for this key (${key}): they are not exported again, and loaded only if a step of the build needs them.`)
    else core.info(`${store} holds packages kept for other restore inputs: loaded only if a step of the build needs them.`)
    return { available: have, store, key, restoreKeys, exact }
  })
}

/**
 * A step needs the kept packages: downloads them (Actions cache) and copies them into the
 * builder's package cache. Every failure is a warning: restore then downloads what is missing.
 */
export async function fetchKeptPackages(mode: NugetCacheMode, seed: NugetSeed, builder: string, s: Settings): Promise<void> {
  if (mode === 'actions') {
    await core.group('Download the kept NuGet packages', async () => {
      const hit = await restoreSeed(seed.store, seed.key, seed.restoreKeys)
      core.info(`Actions cache: ${hit} (key ${seed.key})`)
    })
  }
  if (hasPackages(seed.store)) await loadNugetSeed(seed.store, builder, s)
}

/**
 * Whether to export this run's package cache: packages are kept, and not yet for this key. (On
 * a fresh runner whose every step came from the cache the export finds it empty and keeps
 * nothing.)
 */
export function shouldKeepPackages(seed: NugetSeed): boolean {
  return seed.store !== '' && !seed.exact
}

/**
 * Copies the kept packages into the builder's package cache before the images' build. A
 * failure is a warning: restore then downloads what is missing.
 */
async function loadNugetSeed(dir: string, builder: string, s: Settings): Promise<void> {
  await core.group('Load the kept NuGet packages into the builder', async () => {
    const started = Date.now()
    const r = await run('docker', loadArgv(builder, s.dockerfile, s.context, dir, `${Date.now()}-${process.pid}`), { cwd: s.workspace })
    if (r.code !== 0) {
      core.warning(`Could not load the kept NuGet packages into the builder (exit ${r.code}); restore downloads them instead.\n${lastMeaningfulLines(r.stdout + r.stderr, 10).join('\n')}`)
      return
    }
    core.info(`Loaded ${fs.readdirSync(path.join(dir, 'packages')).length} packages from ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })
}

/**
 * Writes the builder's NuGet package cache out to the store, for the next run. Runs after the
 * images were built (and maybe pushed): every failure here is a warning, never a failed step.
 */
export async function keepNugetPackages(mode: NugetCacheMode, seed: NugetSeed, builder: string, s: Settings, runDir: string): Promise<void> {
  await core.group('Keep NuGet packages for the next run', async () => {
    try {
      await exportAndStore(mode, seed, builder, s, runDir)
    } catch (e) {
      core.warning(`The NuGet packages were not kept (${(e as Error).message}); the next run downloads them again.`)
    }
  })
}

async function exportAndStore(mode: NugetCacheMode, seed: NugetSeed, builder: string, s: Settings, runDir: string): Promise<void> {
  const dest = path.join(runDir, 'nuget-export')
  const r = await run('docker', exportArgv(builder, s.dockerfile, s.context, dest, `${Date.now()}-${process.pid}`), { cwd: s.workspace })
  if (r.code === 0 && !hasPackages(dest)) {
    // Every step came from the cache, so nothing was restored into this builder.
    core.info('The builder\'s package cache is empty (no step restored packages in this run): nothing to keep.')
    return
  }
  if (r.code !== 0) {
    core.warning(`Could not export the NuGet packages (exit ${r.code}); the next run downloads them again.\n${lastMeaningfulLines(r.stdout + r.stderr, 10).join('\n')}`)
    return
  }
  // Only a folder this action made (its marker) or an empty one is replaced.
  if (fs.existsSync(seed.store) && fs.readdirSync(seed.store).length > 0 && !fs.existsSync(path.join(seed.store, NUGET_STORE_MARKER))) {
    core.warning(`${seed.store} holds files this action did not write: the NuGet packages are not kept there.`)
    return
  }
  fs.rmSync(seed.store, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(seed.store), { recursive: true })
  try {
    fs.renameSync(dest, seed.store)
  } catch {
    fs.cpSync(dest, seed.store, { recursive: true })
    fs.rmSync(dest, { recursive: true, force: true })
  }
  fs.writeFileSync(path.join(seed.store, NUGET_STORE_MARKER), storeMarkerText(seed.key))
  core.info(`Kept ${fs.readdirSync(path.join(seed.store, 'packages')).length} packages in ${seed.store}`)
  if (mode === 'actions') await saveSeed(seed.store, seed.key)
}
