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
import { restoreFromActionsCache, saveToActionsCache } from '../action/actionscache.js'
import { NUGET_STORE_MARKER, exportArgv, fromNugetOrg, hasPackages, isSdkPack, loadArgv, newestPacks, nugetCacheKey, packageFolders, packsKey, packsKeyPrefixes, restoreSeed, samePacks, saveSeed, storeMarkerText, storedKey, type NugetCacheMode } from './cache.js'

export interface NugetSeed {
  /** Kept packages exist (found in the Actions cache, or in the folder): pass the kept secret. */
  available: boolean
  /** Where the packages are kept between runs. */
  store: string
  key: string
  restoreKeys: string[]
  /** The kept packages are for this exact key: nothing new to keep. */
  exact: boolean
  /**
   * Actions cache only: the store in two entries, the app's own packages (`key`, in `own/`;
   * `ownExact` when found under that key) and the SDK's packs, which every app on the same SDK
   * image shares (in `packs/`; `found` is the key of the set found, if any).
   */
  packs?: Packs
}

export const NO_SEED: NugetSeed = { available: false, store: '', key: '', restoreKeys: [], exact: false }

interface Packs {
  prefix: string
  restoreKeys: string[]
  found: string | undefined
  ownFound: boolean
  ownExact: boolean
}

const ownPart = (store: string): string => path.join(store, 'own')
const packsPart = (store: string): string => path.join(store, 'packs')

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
      // Another app built earlier in this job left its packages here: never carried into this one.
      fs.rmSync(store, { recursive: true, force: true })
      const hit = await restoreSeed(ownPart(store), key, restoreKeys, true)
      const later = '; downloaded only if a step of the build needs the packages'
      core.info(`Actions cache, the app's own packages: ${hit} (key ${key})${hit === 'miss' ? '' : later}`)
      const { prefix, restoreKeys: packsRestoreKeys } = packsKeyPrefixes(s.platforms, sdkImage, trusted)
      const found = await lookUpPacks(store, prefix, packsRestoreKeys)
      core.info(`Actions cache, the SDK's packs: ${found === undefined ? 'miss' : `found (key ${found})${later}`}`)
      const packs = { prefix, restoreKeys: packsRestoreKeys, found, ownFound: hit !== 'miss', ownExact: hit === 'exact' }
      return { available: hit !== 'miss' || found !== undefined, store, key, restoreKeys, exact: hit === 'exact' && found !== undefined, packs }
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
      if (seed.packs?.ownFound !== false) {
        const hit = await restoreSeed(ownPart(seed.store), seed.key, seed.restoreKeys)
        core.info(`Actions cache, the app's own packages: ${hit} (key ${seed.key})`)
      }
      if (seed.packs?.found !== undefined) {
        const got = await restorePacks(seed.store, seed.packs.found)
        core.info(`Actions cache, the SDK's packs: ${got ? 'hit' : 'miss'} (key ${seed.packs.found})`)
      }
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
    const count = packageFolders(dir).reduce((n, f) => n + fs.readdirSync(f).length, 0)
    core.info(`Loaded ${count} packages from ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
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
  // Only a folder this action made (its marker) or an empty one is replaced. (The Actions
  // cache's store is a folder of ours in RUNNER_TEMP, its parts downloaded without a marker.)
  if (mode === 'dir' && fs.existsSync(seed.store) && fs.readdirSync(seed.store).length > 0 && !fs.existsSync(path.join(seed.store, NUGET_STORE_MARKER))) {
    core.warning(`${seed.store} holds files this action did not write: the NuGet packages are not kept there.`)
    return
  }
  fs.rmSync(seed.store, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(seed.store), { recursive: true })
  if (mode === 'actions' && seed.packs !== undefined) {
    await storeInParts(dest, seed.store, seed.key, seed.packs)
    return
  }
  move(dest, seed.store)
  fs.writeFileSync(path.join(seed.store, NUGET_STORE_MARKER), storeMarkerText(seed.key))
  core.info(`Kept ${fs.readdirSync(path.join(seed.store, 'packages')).length} packages in ${seed.store}`)
  if (mode === 'actions') await saveSeed(seed.store, seed.key)
}

/** Every version of a package was restored from nuget.org (its .nupkg.metadata, a small regular file, says so). */
function everyVersionFromNugetOrg(dir: string): boolean {
  const versions = realFolders(dir)
  return (
    versions.length > 0 &&
    versions.every((v) => {
      const file = path.join(dir, v, '.nupkg.metadata')
      try {
        const st = fs.lstatSync(file)
        return st.isFile() && st.size < 65536 && fromNugetOrg(fs.readFileSync(file, 'utf8'))
      } catch {
        return false
      }
    })
  )
}

/** The names of the real folders in dir (not links, whatever they point at). */
function realFolders(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
}

function move(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true })
  try {
    fs.renameSync(from, to)
  } catch {
    fs.cpSync(from, to, { recursive: true })
    fs.rmSync(from, { recursive: true, force: true })
  }
}

/**
 * The Actions cache's two entries: the SDK's packs (saved unless the set found holds the same
 * packages; in a matrix the first job saves it and the others find it taken) and the app's own
 * packages (unless found under their exact key).
 */
async function storeInParts(dest: string, store: string, ownKey: string, parts: Packs): Promise<void> {
  const packs: string[] = []
  const own: string[] = []
  // The folder is what the build's cache mount held: a pull request's restore may have put links
  // there. Only real folders are kept (a link is never followed here, nor its target listed or
  // deleted).
  for (const id of realFolders(path.join(dest, 'packages'))) {
    const pack = isSdkPack(id) && everyVersionFromNugetOrg(path.join(dest, 'packages', id))
    ;(pack ? packs : own).push(id)
    move(path.join(dest, 'packages', id), path.join(pack ? packsPart(store) : ownPart(store), 'packages', id))
  }
  // Kept even empty (an app with no packages of its own): its exact key then spares the next runs an export.
  fs.mkdirSync(path.join(ownPart(store), 'packages'), { recursive: true })
  fs.writeFileSync(path.join(store, NUGET_STORE_MARKER), storeMarkerText(ownKey))
  core.info(`Kept ${own.length} packages of the app's own and ${packs.length} of the SDK's packs in ${store}`)
  const { keep, drop } = newestPacks(packs.flatMap((id) => realFolders(path.join(packsPart(store), 'packages', id)).map((v) => `${id}/${v}`)))
  for (const f of drop) fs.rmSync(path.join(packsPart(store), 'packages', f), { recursive: true, force: true })
  const key = packsKey(parts.prefix, keep)
  if (packs.length > 0 && !samePacks(key, parts.found)) {
    await saveToActionsCache([packsPart(store)], key, "The SDK's packs were", 'The next build on a fresh runner downloads them from the feeds again.', undefined, { sharedKey: true })
  }
  if (!parts.ownExact) await saveSeed(ownPart(store), ownKey)
}

/** The key of the SDK's packs the Actions cache holds for these prefixes, downloading nothing. */
async function lookUpPacks(store: string, prefix: string, restoreKeys: string[]): Promise<string | undefined> {
  try {
    return await restoreFromActionsCache([packsPart(store)], prefix, restoreKeys, { lookupOnly: true })
  } catch (e) {
    core.warning(`NuGet cache lookup failed (the build downloads packages instead): ${(e as Error).message}`)
    return undefined
  }
}

async function restorePacks(store: string, key: string): Promise<boolean> {
  try {
    return (await restoreFromActionsCache([packsPart(store)], key)) === key
  } catch (e) {
    core.warning(`NuGet cache restore failed (the build downloads packages instead): ${(e as Error).message}`)
    return false
  }
}
