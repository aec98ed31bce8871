// Per-platform sizes and the checks run on each built image before we report success:
// the entrypoint exists and is an ELF for the image's CPU (a wrong-arch binary otherwise
// only shows up at run time as `exec format error`), so is every other native file, the app's
// glibc needs are met by the image's glibc (native.ts), no debug symbols or Development
// settings slipped in, and the process does not run as root.
import * as path from 'node:path'
import type { Range } from './elf.js'
import { checkNative, missingRanges, type NativeReport } from './native.js'
import type { BlobStore, LayerScan, PlatformImage } from './oci.js'
import { scanLayer } from './oci.js'
import { ELF_MACHINE, isArch } from '../dotnet/platforms.js'
import { machineName } from './elf.js'
import { printable } from '../util/errors.js'
import { invariantByEnv } from '../dockerfile/icu.js'

export interface PlatformReport {
  platform: string
  digest: string
  compressed: number
  uncompressed: number
  /** The layer that holds the entrypoint: the app itself, without the base image. */
  appLayer: { compressed: number; uncompressed: number }
  layers: number
  entrypoint: string
  user: string
  problems: string[]
  /** What the native checks read: files checked, the glibc floor, files they could not read. */
  native: Omit<NativeReport, 'problems'>
  /** The config's Env sets DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true: the base image has no ICU. */
  invariantGlobalization?: boolean
}

const FORBIDDEN = [/\.dbg$/, /\.Development\.json$/, /\.pdb$/]

export function entrypointPath(config: PlatformImage['config']): string {
  const ep = config.config?.Entrypoint?.[0] ?? config.config?.Cmd?.[0] ?? ''
  if (ep === '') return ''
  return path.posix.resolve(config.config?.WorkingDir || '/', ep)
}

/** Rounds of scanning again for bytes a file's facts lacked: tables past the prefix, then their strings. */
const RESCANS = 3

export async function inspectImage(store: BlobStore, image: PlatformImage): Promise<PlatformReport> {
  const entry = entrypointPath(image.config)
  // An image of a CPU we do not target has no ELF machine here to check against.
  const arch = image.platform.split('/')[1]
  const problems: string[] = []
  let uncompressed = 0
  let app = { compressed: 0, uncompressed: 0 }
  let appLayer: number | undefined
  const scans: LayerScan[] = []
  for (const [i, layer] of image.manifest.layers.entries()) {
    const scan = await scanLayer(await store.read(layer.digest), layer.mediaType)
    scans.push(scan)
    uncompressed += scan.uncompressedSize
    for (const e of scan.entries) {
      if (e.path === entry && e.type === 'file') {
        appLayer = i
        app = { compressed: layer.size, uncompressed: scan.uncompressedSize }
      }
      if (FORBIDDEN.some((re) => re.test(e.path))) problems.push(`${e.path} is in the image (debug symbols or development settings must not ship)`)
    }
  }
  const input = { platform: image.platform, entrypoint: entry, layers: scans.map((s) => s.entries), appLayer }
  await rescan(store, image, scans, input)
  const head = appLayer === undefined ? undefined : scans[appLayer]?.entries.find((e) => e.path === entry && e.type === 'file')
  if (entry === '') problems.push('the image has no ENTRYPOINT')
  else if (head === undefined) problems.push(`the entrypoint ${entry} is not in the image`)
  else {
    const machine = head.elf?.ident.machine
    const want = isArch(arch) ? ELF_MACHINE[arch] : undefined
    if (machine === undefined) problems.push(`the entrypoint ${entry} is not an ELF executable`)
    else if (want !== undefined && machine !== want.code) {
      problems.push(`the entrypoint ${entry} is built for ${machineName(machine)}, but the image is ${image.platform} (${want.name}): it would fail with "exec format error"`)
    }
  }
  const { problems: nativeProblems, ...native } = checkNative(input)
  problems.push(...nativeProblems)
  const user = image.config.config?.User ?? ''
  const uid = user.split(':')[0]
  if (uid === '' || uid === '0' || uid === 'root') problems.push('the image runs as root; the generated Dockerfile sets USER $APP_UID')
  return {
    platform: image.platform,
    digest: image.manifestDigest,
    compressed: image.compressedSize,
    uncompressed,
    appLayer: app,
    layers: image.manifest.layers.length,
    entrypoint: entry,
    user,
    // They name files of the image, whose names the repository chose (a newline, a ::command).
    problems: problems.map(printable),
    native,
    invariantGlobalization: invariantByEnv(image.config.config?.Env)
  }
}

/**
 * The files whose facts matter but lie past what the first scan kept (rare: a library with
 * large symbol tables) are read in another scan of their layer, for just their missing ranges.
 * The ranges asked for so far are kept, so each round adds to what the last one read.
 */
async function rescan(store: BlobStore, image: PlatformImage, scans: LayerScan[], input: Parameters<typeof missingRanges>[0]): Promise<void> {
  const asked = new Map<string, Range[]>()
  for (let round = 0; round < RESCANS; round++) {
    const wanted = missingRanges(input)
    if (wanted.size === 0) return
    for (const [i, files] of wanted) {
      const layer = image.manifest.layers[i]
      const scan = scans[i]
      if (layer === undefined || scan === undefined) continue
      for (const [p, ranges] of files) asked.set(`${i}:${p}`, [...(asked.get(`${i}:${p}`) ?? []), ...ranges])
      const again = await scanLayer(await store.read(layer.digest), layer.mediaType, (p) => (files.has(p) ? asked.get(`${i}:${p}`) : undefined))
      const read = new Map(again.entries.filter((e) => files.has(e.path) && e.elf !== undefined).map((e) => [e.path, e.elf]))
      for (const e of scan.entries) {
        const elf = read.get(e.path)
        if (elf !== undefined) e.elf = elf
      }
    }
  }
}

/**
 * The app layer of an image known only by its manifest and config (a registry baseline: no
 * layer is downloaded, so no file can be found). The generated Dockerfile copies the app
 * last (USER and ENTRYPOINT add no layer), so the entrypoint's layer, which inspectImage
 * reports for a built image, is the last one. Taken only when the config's history says a
 * COPY made the last layer and there is an entrypoint; otherwise unknown.
 */
export function lastCopiedLayer(image: Pick<PlatformImage, 'manifest' | 'config'>): number | undefined {
  const layers = image.manifest.layers
  const made = (image.config.history ?? []).filter((h) => h.empty_layer !== true)
  const step = made[made.length - 1]?.created_by
  const layer = layers[layers.length - 1]
  // A history that does not match the layers one to one says nothing about the last layer.
  if (layers.length < 2 || made.length !== layers.length || typeof step !== 'string' || layer === undefined || entrypointPath(image.config) === '') return undefined
  // BuildKit writes "COPY src dst # buildkit"; the classic builder "/bin/sh -c #(nop) COPY ...".
  const copied = /^COPY\s/.test(step.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').trimStart())
  return copied && Number.isSafeInteger(layer.size) && layer.size >= 0 ? layer.size : undefined
}
