// ELF facts the image checks need, read without the whole file: its machine (the header), and
// the symbol versions it needs and defines, found through the program headers (PT_DYNAMIC ->
// DT_STRTAB, DT_VERNEED, DT_VERDEF, mapped to file offsets through PT_LOAD). Section headers
// are not used: they sit at the end of the file and a stripped binary may have none.
// Pure: bytes in, facts out. Malformed input is never thrown at the caller: it is 'unreadable'.

export interface Range {
  offset: number
  length: number
}

export interface ElfIdent {
  bits: 32 | 64
  little: boolean
  /** e_type: 2 = ET_EXEC, 3 = ET_DYN (shared objects and PIE executables). */
  type: number
  machine: number
}

export interface VersionNeed {
  /** The library the version is needed from (vn_file), e.g. libc.so.6. */
  file: string
  version: string
  /** A weak need does not stop the loader when the version is missing. */
  weak: boolean
}

export interface ElfDynamic {
  soname: string
  needed: string[]
  needs: VersionNeed[]
  /** Version names the file defines (the base entry, its own soname, left out). */
  defines: string[]
}

export type ElfDynamicRead =
  | { kind: 'read'; dynamic: ElfDynamic }
  /** Bytes that were not captured (streamed past): read them and try again. */
  | { kind: 'missing'; ranges: Range[] }
  | { kind: 'unreadable'; reason: string }

export interface ElfFacts {
  ident: ElfIdent
  dynamic: ElfDynamicRead
}

export const ET_EXEC = 2
export const ET_DYN = 3

/** e_machine of the CPUs an image could hold code for; other machines (BPF, GPUs) are not CPU code. */
export const CPU_MACHINES: Readonly<Record<number, string>> = {
  2: 'SPARC',
  3: 'x86 (32-bit)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  40: 'ARM (32-bit)',
  43: 'SPARC V9',
  50: 'IA-64',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch'
}

export function machineName(machine: number): string {
  return CPU_MACHINES[machine] ?? `e_machine 0x${machine.toString(16)}`
}

// Bounds on what one file may make us hold or walk: far above any real binary's tables.
/** How much of every ELF file the first scan keeps: the dynamic tables of real libraries lie within it. */
export const PREFIX_BYTES = 256 * 1024
const MAX_PHNUM = 1024
const MAX_DYNAMIC = 64 * 1024
/** Longest name read from a string table (sonames and version names are short). */
const MAX_STRING = 4096
const VERSION_WINDOW = 64 * 1024
const MAX_ENTRIES = 4096

const DT_NULL = 0
const DT_NEEDED = 1
const DT_STRTAB = 5
const DT_STRSZ = 10
const DT_SONAME = 14
const DT_VERDEF = 0x6ffffffc
const DT_VERDEFNUM = 0x6ffffffd
const DT_VERNEED = 0x6ffffffe
const DT_VERNEEDNUM = 0x6fffffff
const PT_LOAD = 1
const PT_DYNAMIC = 2
const VER_FLG_BASE = 1
const VER_FLG_WEAK = 2

/** The ELF identification and header fields every check uses; undefined for anything not ELF. */
export function elfIdent(head: Buffer | undefined): ElfIdent | undefined {
  if (head === undefined || head.length < 20) return undefined
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined
  const bits = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined
  const little = head[5] === 1 ? true : head[5] === 2 ? false : undefined
  if (bits === undefined || little === undefined) return undefined
  return { bits, little, type: little ? head.readUInt16LE(16) : head.readUInt16BE(16), machine: little ? head.readUInt16LE(18) : head.readUInt16BE(18) }
}

/** Not in the bytes we hold (a later scan can capture them). */
class Missing extends Error {
  constructor(readonly ranges: Range[]) {
    super('missing bytes')
  }
}

/** Not an ELF file we can read. */
class Malformed extends Error {}

/** Bytes of a file known at some offsets: what a stream kept as it went past. */
export class SparseFile {
  private readonly blocks: { offset: number; data: Buffer }[] = []

  constructor(
    readonly size: number,
    pieces: { offset: number; data: Buffer }[]
  ) {
    // Merged into sorted, non-overlapping blocks, so any range lies in at most one.
    const sorted = [...pieces].filter((p) => p.data.length > 0).sort((a, b) => a.offset - b.offset)
    let run: { offset: number; parts: Buffer[]; end: number } | undefined
    const close = (): void => {
      if (run !== undefined) this.blocks.push({ offset: run.offset, data: run.parts.length === 1 ? (run.parts[0] as Buffer) : Buffer.concat(run.parts) })
    }
    for (const p of sorted) {
      const end = p.offset + p.data.length
      if (run !== undefined && p.offset <= run.end) {
        if (end > run.end) {
          run.parts.push(p.data.subarray(run.end - p.offset))
          run.end = end
        }
      } else {
        close()
        run = { offset: p.offset, parts: [p.data], end }
      }
    }
    close()
  }

  /** A whole file in memory. */
  static of(data: Buffer): SparseFile {
    return new SparseFile(data.length, [{ offset: 0, data }])
  }

  has(r: Range): boolean {
    return this.blocks.some((b) => b.offset <= r.offset && r.offset + r.length <= b.offset + b.data.length)
  }

  /** The bytes of a range: Malformed when it is outside the file, Missing when it was not kept. */
  read(offset: number, length: number): Buffer {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Malformed(`a read of ${length} bytes at ${offset} is outside the file (${this.size} bytes)`)
    }
    if (length === 0) return Buffer.alloc(0)
    for (const b of this.blocks) {
      if (b.offset <= offset && offset + length <= b.offset + b.data.length) return b.data.subarray(offset - b.offset, offset - b.offset + length)
    }
    throw new Missing([{ offset, length }])
  }

  /**
   * The NUL-terminated string at the start of a window (the window lies in the file):
   * undefined when the bytes up to its NUL were not kept, Malformed when the window has none.
   */
  cString(window: Range): string | undefined {
    const b = this.blocks.find((x) => x.offset <= window.offset && window.offset < x.offset + x.data.length)
    if (b === undefined) return undefined
    const from = window.offset - b.offset
    const to = Math.min(b.data.length, from + window.length)
    const nul = b.data.indexOf(0, from)
    if (nul >= 0 && nul < to) return b.data.toString('latin1', from, nul)
    if (to - from < window.length) return undefined
    throw new Malformed(`no string ends within ${window.length} bytes at ${window.offset}`)
  }
}

interface Segment {
  offset: number
  vaddr: number
  filesz: number
}

interface Layout {
  ident: ElfIdent
  loads: Segment[]
  dynamic: Range | undefined
}

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('a 64-bit field is beyond what can be read')
  return Number(v)
}

/** The ELF header and program headers: where the dynamic segment is, and how addresses map to offsets. */
function readLayout(file: SparseFile): Layout {
  const ident = elfIdent(file.read(0, Math.min(file.size, 20)))
  if (ident === undefined) throw new Malformed('not an ELF file')
  if (!ident.little) throw new Malformed('a big-endian ELF file')
  const wide = ident.bits === 64
  const h = file.read(0, wide ? 64 : 52)
  const phoff = wide ? u64(h, 32) : h.readUInt32LE(28)
  const phentsize = h.readUInt16LE(wide ? 54 : 42)
  const phnum = h.readUInt16LE(wide ? 56 : 44)
  const loads: Segment[] = []
  let dynamic: Range | undefined
  if (phnum === 0) return { ident, loads, dynamic }
  // 0xffff means the real count is in section 0, which we do not read.
  if (phnum > MAX_PHNUM) throw new Malformed(`${phnum} program headers`)
  if (phentsize !== (wide ? 56 : 32)) throw new Malformed(`program headers of ${phentsize} bytes`)
  const ph = file.read(phoff, phnum * phentsize)
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize
    const type = ph.readUInt32LE(at)
    const seg: Segment = wide
      ? { offset: u64(ph, at + 8), vaddr: u64(ph, at + 16), filesz: u64(ph, at + 32) }
      : { offset: ph.readUInt32LE(at + 4), vaddr: ph.readUInt32LE(at + 8), filesz: ph.readUInt32LE(at + 16) }
    if (type === PT_LOAD) loads.push(seg)
    else if (type === PT_DYNAMIC && dynamic === undefined) dynamic = { offset: seg.offset, length: seg.filesz }
  }
  if (dynamic !== undefined) {
    if (dynamic.length > MAX_DYNAMIC) throw new Malformed(`a dynamic segment of ${dynamic.length} bytes`)
    if (dynamic.offset + dynamic.length > file.size) throw new Malformed('the dynamic segment ends past the end of the file')
  }
  return { ident, loads, dynamic }
}

/** The file range a virtual address range is loaded from, within one PT_LOAD. */
function fileRange(loads: Segment[], vaddr: number, length: number, what: string): Range {
  for (const s of loads) {
    if (vaddr >= s.vaddr && vaddr + length <= s.vaddr + s.filesz) return { offset: vaddr - s.vaddr + s.offset, length }
  }
  throw new Malformed(`${what} (0x${vaddr.toString(16)}) is in no loaded segment`)
}

/** Up to `window` bytes from vaddr, cut at the end of its segment: version tables have no size of their own. */
function windowAt(loads: Segment[], vaddr: number, window: number, what: string): Range {
  for (const s of loads) {
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return { offset: vaddr - s.vaddr + s.offset, length: Math.min(window, s.vaddr + s.filesz - vaddr) }
  }
  throw new Malformed(`${what} (0x${vaddr.toString(16)}) is in no loaded segment`)
}

/** Where the dynamic segment lies in the file, once the headers are in hand; undefined when it has none. */
export function dynamicRange(file: SparseFile): Range | undefined {
  return readLayout(file).dynamic
}

interface DynamicTags {
  needed: number[]
  soname?: number
  strtab?: number
  strsz?: number
  verneed?: number
  verneednum?: number
  verdef?: number
  verdefnum?: number
}

function readTags(d: Buffer, wide: boolean): DynamicTags {
  const size = wide ? 16 : 8
  const t: DynamicTags = { needed: [] }
  for (let at = 0; at + size <= d.length; at += size) {
    // Every tag we read fits in 32 bits; a 64-bit tag with high bits set is one we ignore.
    if (wide && d.readUInt32LE(at + 4) !== 0) continue
    const tag = d.readUInt32LE(at)
    if (tag === DT_NULL) break
    const val = wide ? u64(d, at + 8) : d.readUInt32LE(at + 4)
    if (tag === DT_NEEDED) t.needed.push(val)
    else if (tag === DT_SONAME) t.soname = val
    else if (tag === DT_STRTAB) t.strtab = val
    else if (tag === DT_STRSZ) t.strsz = val
    else if (tag === DT_VERNEED) t.verneed = val
    else if (tag === DT_VERNEEDNUM) t.verneednum = val
    else if (tag === DT_VERDEF) t.verdef = val
    else if (tag === DT_VERDEFNUM) t.verdefnum = val
  }
  return t
}

/** A version table's entries, with names still as offsets into the string table. */
interface RawNeed {
  file: number
  version: number
  weak: boolean
}

/** A bounds-checked view of a version table's window: every read past it is Malformed. */
function tableReader(b: Buffer, what: string): { u16: (at: number) => number; u32: (at: number) => number } {
  const check = (at: number, n: number): void => {
    if (!Number.isSafeInteger(at) || at < 0 || at + n > b.length) throw new Malformed(`${what} runs past its ${b.length} bytes`)
  }
  return {
    u16: (at) => {
      check(at, 2)
      return b.readUInt16LE(at)
    },
    u32: (at) => {
      check(at, 4)
      return b.readUInt32LE(at)
    }
  }
}

function readVerneed(b: Buffer, count: number | undefined): RawNeed[] {
  const r = tableReader(b, 'the version needs table')
  const out: RawNeed[] = []
  let at = 0
  for (let i = 0; i < Math.min(count ?? MAX_ENTRIES, MAX_ENTRIES); i++) {
    if (r.u16(at) !== 1) throw new Malformed(`version needs entry of version ${r.u16(at)}`)
    const cnt = r.u16(at + 2)
    const file = r.u32(at + 4)
    let aux = at + r.u32(at + 8)
    for (let j = 0; j < cnt; j++) {
      if (out.length >= MAX_ENTRIES) throw new Malformed('too many version needs')
      out.push({ file, version: r.u32(aux + 8), weak: (r.u16(aux + 4) & VER_FLG_WEAK) !== 0 })
      const next = r.u32(aux + 12)
      if (next === 0) break
      aux += next
    }
    const next = r.u32(at + 12)
    if (next === 0) break
    at += next
  }
  return out
}

function readVerdef(b: Buffer, count: number | undefined): number[] {
  const r = tableReader(b, 'the version definitions table')
  const out: number[] = []
  let at = 0
  for (let i = 0; i < Math.min(count ?? MAX_ENTRIES, MAX_ENTRIES); i++) {
    if (r.u16(at) !== 1) throw new Malformed(`version definition of version ${r.u16(at)}`)
    const flags = r.u16(at + 2)
    // The first auxiliary entry names the version; later ones name its parents.
    if (r.u16(at + 6) > 0 && (flags & VER_FLG_BASE) === 0) out.push(r.u32(at + r.u32(at + 12)))
    const next = r.u32(at + 16)
    if (next === 0) break
    at += next
  }
  return out
}

/**
 * The strings at the given offsets of the string table, read one by one (a string table can
 * hold megabytes of exported names: only the few the checks need are read). Missing lists a
 * window at each string that was not captured.
 */
function readStrings(file: SparseFile, table: Range, offsets: number[]): Map<number, string> {
  const out = new Map<number, string>()
  const absent: Range[] = []
  for (const at of new Set(offsets)) {
    if (!Number.isSafeInteger(at) || at < 0 || at >= table.length) throw new Malformed(`a string at ${at} is outside the string table`)
    const window = { offset: table.offset + at, length: Math.min(MAX_STRING, table.length - at) }
    const text = file.cString(window)
    if (text === undefined) absent.push(window)
    else out.set(at, text)
  }
  if (absent.length > 0) throw new Missing(absent)
  return out
}

/**
 * The needed libraries, soname and symbol versions of an ELF file. Reads only the headers, the
 * dynamic segment, the version tables and the strings they name; says which ranges it lacked
 * when the file is known only in part, and never throws.
 */
export function readElfDynamic(file: SparseFile): ElfDynamicRead {
  try {
    const layout = readLayout(file)
    const empty: ElfDynamicRead = { kind: 'read', dynamic: { soname: '', needed: [], needs: [], defines: [] } }
    if (layout.dynamic === undefined) return empty
    const tags = readTags(file.read(layout.dynamic.offset, layout.dynamic.length), layout.ident.bits === 64)
    const { strtab, strsz } = tags
    if (strtab === undefined || strsz === undefined) {
      if (tags.verneed !== undefined || tags.verdef !== undefined || tags.needed.length > 0 || tags.soname !== undefined) throw new Malformed('no dynamic string table')
      return empty
    }
    const table = fileRange(layout.loads, strtab, strsz, 'the dynamic string table')
    if (table.offset + table.length > file.size) throw new Malformed('the dynamic string table ends past the end of the file')
    const windows = [
      tags.verneed === undefined ? undefined : windowAt(layout.loads, tags.verneed, VERSION_WINDOW, 'the version needs table'),
      tags.verdef === undefined ? undefined : windowAt(layout.loads, tags.verdef, VERSION_WINDOW, 'the version definitions table')
    ]
    // Both tables at once, so a later scan captures them in one go; and a string table no
    // larger than the prefix with them, which saves a scan for its strings.
    const absent = windows.filter((r): r is Range => r !== undefined && r.offset + r.length <= file.size && !file.has(r))
    if (absent.length > 0) throw new Missing(table.length <= PREFIX_BYTES && !file.has(table) ? [...absent, table] : absent)
    const [needWindow, defWindow] = windows.map((r) => (r === undefined ? undefined : file.read(r.offset, r.length)))
    const needs = needWindow === undefined ? [] : readVerneed(needWindow, tags.verneednum)
    const defines = defWindow === undefined ? [] : readVerdef(defWindow, tags.verdefnum)
    const strings = readStrings(file, table, [...tags.needed, ...(tags.soname === undefined ? [] : [tags.soname]), ...needs.flatMap((n) => [n.file, n.version]), ...defines])
    const str = (at: number): string => strings.get(at) ?? ''
    return {
      kind: 'read',
      dynamic: {
        soname: tags.soname === undefined ? '' : str(tags.soname),
        needed: tags.needed.map(str),
        needs: needs.map((n) => ({ file: str(n.file), version: str(n.version), weak: n.weak })),
        defines: defines.map(str)
      }
    }
  } catch (e) {
    if (e instanceof Missing) return { kind: 'missing', ranges: e.ranges }
    if (e instanceof Malformed) return { kind: 'unreadable', reason: e.message }
    // Buffer reads are bounds-checked above; anything else is still not an ELF we can read.
    return { kind: 'unreadable', reason: e instanceof Error ? e.message : String(e) }
  }
}

/**
 * Keeps, as a file streams past, the bytes its ELF facts need: the first PREFIX_BYTES, the
 * dynamic segment wherever it lies (found from the program headers as soon as they have
 * passed), and any ranges a previous read said were missing. A file that does not start with
 * the ELF magic is let go after four bytes.
 */
export class ElfCapture {
  private pos = 0
  private readonly pieces: { offset: number; data: Buffer }[] = []
  private readonly want: Range[]
  private state: 'sniff' | 'elf' | 'not-elf' = 'sniff'
  private dynamicKnown = false
  /** Where the stream must be before the headers can all be in hand. */
  private retryAt = 0

  constructor(
    private readonly size: number,
    extra: Range[] = [],
    prefix = PREFIX_BYTES
  ) {
    this.want = [{ offset: 0, length: Math.min(size, prefix) }, ...extra]
  }

  write(chunk: Buffer): void {
    if (this.state === 'not-elf') return
    const start = this.pos
    this.pos += chunk.length
    for (const r of this.want) {
      const a = Math.max(start, r.offset)
      const b = Math.min(this.pos, r.offset + r.length)
      if (a < b) this.pieces.push({ offset: a, data: chunk.subarray(a - start, b - start) })
    }
    if (this.state === 'sniff' && this.pos >= 4) {
      const head = this.file().read(0, 4)
      this.state = head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ? 'elf' : 'not-elf'
      if (this.state === 'not-elf') this.pieces.length = 0
    }
    if (this.state === 'elf' && !this.dynamicKnown && this.pos >= this.retryAt) this.findDynamic()
  }

  /** The facts of the file, once it has streamed past; undefined when it is not ELF. */
  end(): ElfFacts | undefined {
    if (this.state !== 'elf') return undefined
    const file = this.file()
    const ident = elfIdent(file.read(0, Math.min(20, file.size)))
    if (ident === undefined) return undefined
    return { ident, dynamic: readElfDynamic(file) }
  }

  private file(): SparseFile {
    return new SparseFile(this.size, this.pieces)
  }

  private findDynamic(): void {
    try {
      const range = dynamicRange(this.file())
      this.dynamicKnown = true
      // Still ahead in the stream: keep it as it passes.
      if (range !== undefined && range.offset + range.length > this.pos) this.want.push(range)
    } catch (e) {
      // Headers not all here yet: try again once they have passed, if they are kept at all.
      // Anything else: end() will say.
      const kept = (r: Range): boolean => this.want.some((w) => w.offset <= r.offset && r.offset + r.length <= w.offset + w.length)
      if (e instanceof Missing && e.ranges.every(kept)) this.retryAt = Math.max(...e.ranges.map((r) => r.offset + r.length))
      else this.dynamicKnown = true
    }
  }
}

/** GLIBC_2.3.4 -> [2, 3, 4]; undefined for other names (GLIBC_PRIVATE, GLIBC_ABI_DT_RELR). */
export function glibcVersion(name: string): number[] | undefined {
  const m = /^GLIBC_(\d+(?:\.\d+)+)$/.exec(name)
  return m?.[1]?.split('.').map(Number)
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
