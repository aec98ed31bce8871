// The checks on every native (ELF) file of a built image, from the facts the layer scans kept:
//  - each executable and shared object is for the image's CPU: a wrong-arch .so otherwise only
//    fails when the app loads it (DllNotFoundException or "wrong ELF class" at run time);
//  - the glibc versions the app's files need (DT_VERNEED) are defined by the image's glibc
//    (DT_VERDEF of libc.so.6 and its siblings): otherwise the loader stops with
//    "version `GLIBC_2.38' not found" before Main runs.
// The app's files are checked one by one. The base image's are checked for their CPU only, as
// one finding: a base for another CPU (a runtime image pinned to one platform's manifest) makes
// every one of its files wrong at once, and its own libraries match its own libc.
// Pure: layer listings in, problems out.
import * as path from 'node:path'
import { ELF_MACHINE, RID, isArch, type Arch } from '../dotnet/platforms.js'
import { CPU_MACHINES, ET_DYN, ET_EXEC, compareVersions, glibcVersion, machineName, type ElfDynamic, type ElfFacts, type Range } from './elf.js'
import type { LayerEntry } from './oci.js'
import { printable } from '../util/errors.js'

export interface NativeInput {
  platform: string
  entrypoint: string
  /** Each layer's entries, base first. */
  layers: LayerEntry[][]
  /** The layer the app ships in (the entrypoint's); undefined when it is not in the image. */
  appLayer: number | undefined
}

export interface GlibcFloor {
  /** The highest GLIBC_x.y any of the app's files needs, and the first file that needs it. */
  needs?: { version: string; file: string }
  /** The highest GLIBC_x.y the image's glibc defines, and its libc.so.6. */
  has?: { version: string; file: string }
}

export interface NativeReport {
  problems: string[]
  /** ELF files of the app that were checked. */
  files: number
  glibc: GlibcFloor
  /** Files whose dynamic section could not be read, with why: not checked for glibc. */
  unreadable: string[]
}

interface Node {
  entry: LayerEntry
  layer: number
}

/** The image's filesystem as the layers stack up: later layers replace, whiteouts delete. */
export function mergeLayers(layers: LayerEntry[][]): Map<string, Node> {
  const fs = new Map<string, Node>()
  layers.forEach((entries, layer) => {
    for (const e of entries) {
      const base = path.posix.basename(e.path)
      const dir = path.posix.dirname(e.path)
      if (base === '.wh..wh..opq') {
        // An opaque directory: what lower layers had under it is gone.
        for (const [p, n] of fs) if (n.layer < layer && p.startsWith(`${dir === '/' ? '' : dir}/`)) fs.delete(p)
        continue
      }
      if (base.startsWith('.wh.')) {
        const gone = path.posix.join(dir, base.slice(4))
        for (const p of [...fs.keys()]) if (p === gone || p.startsWith(`${gone}/`)) fs.delete(p)
        continue
      }
      fs.set(e.path, { entry: e, layer })
    }
  })
  return fs
}

const MAX_LINKS = 40

/** A path with every symlink on the way followed (as the kernel would, at most 40 of them); undefined on a loop. */
export function resolvePath(fs: Map<string, Node>, p: string): string | undefined {
  let todo = p.split('/').filter((x) => x !== '')
  let done: string[] = []
  let links = 0
  while (todo.length > 0) {
    const [name, ...rest] = todo
    todo = rest
    if (name === undefined || name === '.') continue
    if (name === '..') {
      done.pop()
      continue
    }
    const here = `/${[...done, name].join('/')}`
    const node = fs.get(here)
    const link = node?.entry.linkname
    if (node !== undefined && link !== undefined && (node.entry.type === 'symlink' || node.entry.type === 'link')) {
      if (++links > MAX_LINKS) return undefined
      // A hard link's name is a path in the layer, so from the root, like an absolute symlink.
      if (link.startsWith('/') || node.entry.type === 'link') done = []
      todo = [...link.split('/').filter((x) => x !== ''), ...todo]
      continue
    }
    done.push(name)
  }
  return `/${done.join('/')}`
}

/** Where the dynamic loader looks for a library without a cache: the platform's multiarch folders first. */
function searchDirs(arch: Arch | undefined): string[] {
  const triplet = arch === 'amd64' ? 'x86_64-linux-gnu' : arch === 'arm64' ? 'aarch64-linux-gnu' : undefined
  return [...(triplet === undefined ? [] : [`/lib/${triplet}`, `/usr/lib/${triplet}`]), '/lib64', '/usr/lib64', '/lib', '/usr/lib']
}

interface Library {
  path: string
  elf: ElfFacts | undefined
}

/** A library by its soname, as the loader would find it; failing that, a file of that name anywhere. */
function findLibrary(fs: Map<string, Node>, arch: Arch | undefined, soname: string): Library | undefined {
  const candidates = [...searchDirs(arch).map((d) => `${d}/${soname}`), ...[...fs.keys()].filter((p) => path.posix.basename(p) === soname)]
  for (const c of candidates) {
    const real = resolvePath(fs, c)
    const node = real === undefined ? undefined : fs.get(real)
    if (real !== undefined && node?.entry.type === 'file') return { path: real, elf: node.entry.elf }
  }
  return undefined
}

const isCode = (e: LayerEntry): e is LayerEntry & { elf: ElfFacts } => e.elf !== undefined && (e.elf.ident.type === ET_EXEC || e.elf.ident.type === ET_DYN)

function dynamicOf(elf: ElfFacts | undefined): ElfDynamic | undefined {
  return elf?.dynamic.kind === 'read' ? elf.dynamic.dynamic : undefined
}

/** The glibc version needs that can stop the loader: GLIBC_*, not weak, not glibc's own GLIBC_PRIVATE. */
function glibcNeeds(d: ElfDynamic): { file: string; version: string }[] {
  return d.needs.filter((n) => !n.weak && n.version.startsWith('GLIBC_') && n.version !== 'GLIBC_PRIVATE')
}

function highest(names: string[]): string | undefined {
  let best: { name: string; v: number[] } | undefined
  for (const name of names) {
    const v = glibcVersion(name)
    if (v !== undefined && (best === undefined || compareVersions(v, best.v) > 0)) best = { name, v }
  }
  return best?.name
}

interface Context {
  fs: Map<string, Node>
  arch: Arch | undefined
  appLayer: number
  /** The app's executables and shared objects. */
  app: Node[]
}

function context(input: NativeInput): Context {
  const fs = mergeLayers(input.layers)
  // Without the entrypoint, the last layer is the app's: the generated Dockerfile copies it last.
  const appLayer = input.appLayer ?? input.layers.length - 1
  const arch = input.platform.split('/')[1]
  return { fs, arch: isArch(arch) ? arch : undefined, appLayer, app: [...fs.values()].filter((n) => n.layer === appLayer && isCode(n.entry)) }
}

const sameCpu = (ctx: Context, e: LayerEntry): boolean => ctx.arch === undefined || e.elf?.ident.machine === ELF_MACHINE[ctx.arch].code

/**
 * Files whose facts matter but lie past what a scan kept, by layer: the app's files of the
 * image's CPU, and the glibc libraries their needs name. Scan those layers again for them.
 */
export function missingRanges(input: NativeInput): Map<number, Map<string, Range[]>> {
  const ctx = context(input)
  const out = new Map<number, Map<string, Range[]>>()
  const want = (n: Node): void => {
    if (n.entry.elf?.dynamic.kind !== 'missing') return
    const layer = out.get(n.layer) ?? new Map<string, Range[]>()
    layer.set(n.entry.path, n.entry.elf.dynamic.ranges)
    out.set(n.layer, layer)
  }
  const sonames = new Set<string>(['libc.so.6'])
  for (const n of ctx.app.filter((x) => sameCpu(ctx, x.entry))) {
    want(n)
    for (const need of glibcNeeds(dynamicOf(n.entry.elf) ?? { soname: '', needed: [], needs: [], defines: [] })) sonames.add(need.file)
  }
  for (const soname of sonames) {
    const lib = findLibrary(ctx.fs, ctx.arch, soname)
    const node = lib === undefined ? undefined : ctx.fs.get(lib.path)
    if (node !== undefined) want(node)
  }
  return out
}

/** "an x86-64", "an AArch64", "a RISC-V". */
const article = (name: string): string => (/^(?:[AEIex]|S\/)/.test(name) ? 'an' : 'a')

/** A native file of the app that is for another CPU: named, with both machines. */
function wrongArchProblem(e: LayerEntry & { elf: ElfFacts }, arch: Arch): string {
  const library = /\.so(\.\d+)*$/.test(e.path)
  const what = library ? 'a native library for another architecture' : 'a native executable for another architecture'
  const hint = library ? `check the package's runtimes/${RID[arch]}/native assets or a hand-copied .so` : 'a file copied in for another platform?'
  const name = machineName(e.elf.ident.machine)
  return `${e.path} is ${article(name)} ${name} ELF file, not ${ELF_MACHINE[arch].name}: ${what} (${hint})`
}

/** The base image's files for another CPU, as one finding (a 32-bit companion of the CPU is allowed there). */
function wrongBaseProblem(wrong: (LayerEntry & { elf: ElfFacts })[], arch: Arch): string {
  const machines = [...new Set(wrong.map((e) => machineName(e.elf.ident.machine)))].join(', ')
  const named = wrong.slice(0, 3).map((e) => e.path)
  const more = wrong.length > named.length ? ` and ${wrong.length - named.length} more` : ''
  return (
    `${named.join(', ')}${more} in the base image ${wrong.length === 1 ? 'is' : 'are'} ${machines} ELF, not ${ELF_MACHINE[arch].name}: ` +
    'the runtime image is for another architecture (a runtime-image pinned by one platform\'s manifest digest? pin the multi-platform index digest)'
  )
}

const COMPANION: Record<Arch, number> = { amd64: 3, arm64: 40 }

export function checkNative(input: NativeInput): NativeReport {
  const ctx = context(input)
  const problems: string[] = []
  const unreadable: string[] = []
  const glibc: GlibcFloor = {}
  const { arch } = ctx
  if (arch !== undefined) {
    const foreign = (e: LayerEntry): e is LayerEntry & { elf: ElfFacts } => isCode(e) && !sameCpu(ctx, e) && CPU_MACHINES[e.elf.ident.machine] !== undefined
    // The entrypoint has its own finding ("exec format error") in inspect.ts.
    for (const n of ctx.app) if (foreign(n.entry) && n.entry.path !== input.entrypoint) problems.push(wrongArchProblem(n.entry, arch))
    const base = [...ctx.fs.values()]
      .filter((n) => n.layer !== ctx.appLayer)
      .map((n) => n.entry)
      .filter(foreign)
      .filter((e) => e.elf.ident.machine !== COMPANION[arch])
    if (base.length > 0) problems.push(wrongBaseProblem(base, arch))
  }

  // The glibc floor: what the app's files (of the image's CPU) need against what the image's glibc defines.
  const mine = ctx.app.filter((n) => sameCpu(ctx, n.entry))
  const needers: { path: string; needs: { file: string; version: string }[] }[] = []
  for (const n of mine) {
    const elf = n.entry.elf
    if (elf === undefined) continue
    if (elf.dynamic.kind !== 'read') {
      unreadable.push(`${n.entry.path} (${elf.dynamic.kind === 'unreadable' ? elf.dynamic.reason : 'its version tables lie past what was read'})`)
      continue
    }
    const needs = glibcNeeds(elf.dynamic.dynamic)
    if (needs.length > 0) needers.push({ path: n.entry.path, needs })
  }
  for (const { path: file, needs } of needers) {
    const top = highest(needs.map((x) => x.version))
    const known = glibc.needs === undefined ? undefined : glibcVersion(glibc.needs.version)
    const v = top === undefined ? undefined : glibcVersion(top)
    if (top !== undefined && v !== undefined && (known === undefined || compareVersions(v, known) > 0)) glibc.needs = { version: top, file }
  }
  if (needers.length === 0) return { problems, files: ctx.app.length, glibc, unreadable }

  const libc = findLibrary(ctx.fs, ctx.arch, 'libc.so.6')
  const libs = new Map<string, Library | undefined>()
  const library = (soname: string): Library | undefined => {
    if (!libs.has(soname)) libs.set(soname, findLibrary(ctx.fs, ctx.arch, soname))
    return libs.get(soname)
  }
  const libcDynamic = dynamicOf(libc?.elf)
  if (libc !== undefined && libc.elf !== undefined && libcDynamic === undefined) {
    unreadable.push(`${libc.path} (${libc.elf.dynamic.kind === 'unreadable' ? libc.elf.dynamic.reason : 'its version tables lie past what was read'})`)
    return { problems, files: ctx.app.length, glibc, unreadable }
  }
  // The image's glibc: every GLIBC_ version its libraries define (libc.so.6, and libm, the loader
  // and the rest the app names), so a version only a sibling defines is not missed.
  const defined = new Set<string>(libcDynamic?.defines ?? [])
  for (const { needs } of needers) for (const need of needs) for (const d of dynamicOf(library(need.file)?.elf)?.defines ?? []) defined.add(d)
  const top = highest([...defined])
  if (libc === undefined || top === undefined) {
    const why = libc === undefined ? 'no libc.so.6' : libc.elf === undefined ? `${libc.path} is not ELF` : `${libc.path} defines no GLIBC_ version`
    for (const { path: file, needs } of needers) {
      problems.push(
        `${file} needs ${highest(needs.map((x) => x.version)) ?? needs[0]?.version ?? 'glibc'}, but the image has no glibc (${why}): a musl or static base image cannot load it; use a glibc runtime image such as Microsoft's runtime-deps`
      )
    }
    return { problems, files: ctx.app.length, glibc, unreadable }
  }
  glibc.has = { version: top, file: libc.path }
  for (const { path: file, needs } of needers) {
    const lacking = needs.filter((need) => {
      const lib = dynamicOf(library(need.file)?.elf)
      // The library itself says, when it is read; otherwise the version is compared with the image's highest.
      if (lib !== undefined && lib.defines.some((d) => d.startsWith('GLIBC_'))) return !lib.defines.includes(need.version)
      const v = glibcVersion(need.version)
      return v === undefined ? !defined.has(need.version) : compareVersions(v, glibcVersion(top) ?? []) > 0
    })
    if (lacking.length === 0) continue
    const worst = highest(lacking.map((x) => x.version)) ?? lacking[0]?.version ?? ''
    const from = lacking.find((x) => x.version === worst)?.file ?? 'libc.so.6'
    const fix =
      file === input.entrypoint
        ? 'link against the runtime image\'s glibc: an SDK image of the same distro as the runtime image (e.g. the noble SDK with noble runtime-deps), or a runtime image with a newer glibc'
        : 'use a runtime image with a newer glibc, or a build of the library for this one (a build image of the runtime image\'s distro, e.g. the noble SDK with noble runtime-deps)'
    problems.push(`${file} needs ${worst} (from ${from}), but the image's glibc goes up to ${top} (${libc.path}): it would fail with "version \`${worst}' not found"; ${fix}`)
  }
  return { problems, files: ctx.app.length, glibc, unreadable }
}

/** One log line of what was checked and the glibc floor; file names made printable. */
export function nativeSummary(platform: string, r: Omit<NativeReport, 'problems'>): string {
  const parts = [`${platform}: ${r.files} native file${r.files === 1 ? '' : 's'} of the app checked`]
  if (r.glibc.needs !== undefined) parts.push(`the app needs ${r.glibc.needs.version} (${r.glibc.needs.file})`)
  if (r.glibc.has !== undefined) parts.push(`the image's glibc goes up to ${r.glibc.has.version} (${r.glibc.has.file})`)
  if (r.unreadable.length > 0) parts.push(`not read: ${r.unreadable.join(', ')}`)
  return printable(parts.join('; '))
}
