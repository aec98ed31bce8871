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
  /** The folder passed as the nuget-seed build context ('' when there is none yet). */
  dir: string
  /** Where the packages are kept between runs. */
  store: string
  key: string
  /** Whether to export the package cache after the build (not needed after an exact hit). */
  save: boolean
}

export const NO_SEED: NugetSeed = { dir: '', store: '', key: '', save: false }

export async function prepareNugetSeed(mode: NugetCacheMode, s: Settings, project: string, restoreFiles: string[], sdkImage: string): Promise<NugetSeed> {
  if (mode === 'off') return NO_SEED
  return core.group('NuGet packages from an earlier run', async () => {
    const store = mode === 'dir' ? s.nugetCacheDir : path.join(s.tempDir, 'aot-buildx-nuget')
    const contents: Record<string, string> = {}
    // Repository files: read only where they really lie inside the context (no symlink out).
    for (const f of restoreFiles) contents[f] = readRepositoryFile('context', s.context, path.join(s.context, f)) ?? ''
    const { key, restoreKeys } = nugetCacheKey(project, contents, s.platforms, sdkImage)
    let save = true
    if (mode === 'actions') {
      const hit = await restoreSeed(store, key, restoreKeys)
      core.info(`Actions cache: ${hit} (key ${key})`)
      save = hit !== 'exact'
    } else {
      // The folder's own exact hit: exporting the same package set again would only cost time.
      const marker = path.join(store, NUGET_STORE_MARKER)
      save = !(fs.existsSync(marker) && storedKey(fs.readFileSync(marker, 'utf8')) === key && hasPackages(store))
      if (!save) core.info(`${store} holds the packages for this key (${key}): they are not exported again.`)
    }
    const have = hasPackages(store)
    core.info(have ? `Seeding the build's NuGet cache from ${store}` : 'No packages kept yet: restore downloads them.')
    return { dir: have ? store : '', store, key, save }
  })
}

/**
 * Copies the kept packages into the builder's package cache before the images' build. A
 * failure is a warning: restore then downloads what is missing.
 */
export async function loadNugetSeed(seed: NugetSeed, builder: string, s: Settings): Promise<void> {
  if (seed.dir === '') return
  await core.group('Load the kept NuGet packages into the builder', async () => {
    const started = Date.now()
    const r = await run('docker', loadArgv(builder, s.dockerfile, s.context, seed.dir, `${Date.now()}-${process.pid}`), { cwd: s.workspace })
    if (r.code !== 0) {
      core.warning(`Could not load the kept NuGet packages into the builder (exit ${r.code}); restore downloads them instead.\n${lastMeaningfulLines(r.stdout + r.stderr, 10).join('\n')}`)
      return
    }
    core.info(`Loaded ${fs.readdirSync(path.join(seed.dir, 'packages')).length} packages from ${seed.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
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
  if (r.code !== 0 || !hasPackages(dest)) {
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
