import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CPU_MACHINES, ElfCapture, SparseFile, compareVersions, elfIdent, glibcVersion, machineName, readElfDynamic, type ElfDynamic, type ElfDynamicRead, type Range } from '../../src/image/elf.js'
import { elfOffsets, writeElf, type ElfSpec } from '../fixtures/elf-writer.js'

const X86_64 = 62
const AARCH64 = 183

function dynamicOf(r: ElfDynamicRead): ElfDynamic {
  if (r.kind !== 'read') throw new Error(`expected the dynamic facts, got ${JSON.stringify(r)}`)
  return r.dynamic
}

const pairs = (d: ElfDynamic): string[] => d.needs.map((n) => `${n.file} ${n.version}${n.weak ? ' (weak)' : ''}`).sort()

/** Streams a buffer through an ElfCapture in chunks of `size` bytes, as a tar entry arrives. */
function stream(data: Buffer, chunk: number, extra: Range[] = [], prefix?: number): ReturnType<ElfCapture['end']> {
  const c = new ElfCapture(data.length, extra, prefix)
  for (let at = 0; at < data.length; at += chunk) c.write(data.subarray(at, at + chunk))
  return c.end()
}

/** Streams a file again, with the ranges each pass said were missing, until it is read: the facts and the number of passes. */
function settle(data: Buffer, chunk: number): { facts: ReturnType<ElfCapture['end']>; passes: number } {
  const extra: Range[] = []
  for (let passes = 1; ; passes++) {
    const facts = stream(data, chunk, extra)
    if (facts?.dynamic.kind !== 'missing' || passes === 5) return { facts, passes }
    extra.push(...facts.dynamic.ranges)
  }
}

/** A precondition of a test: a command that must exist on this machine (the test fails, never skips). */
function tool(name: string, pkg: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  throw new Error(`${name} is not on PATH: install ${pkg} (scripts/test.sh does)`)
}

function mustExist(file: string, pkg: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: install ${pkg} (scripts/test.sh does)`)
  return fs.realpathSync(file)
}

/** What readelf says of a real file: needed libraries, soname, version needs and definitions. */
function readelf(file: string): { needed: string[]; soname: string; needs: string[]; defines: string[] } {
  const d = execFileSync(tool('readelf', 'binutils'), ['-d', '-W', file], { encoding: 'utf8' })
  const v = execFileSync(tool('readelf', 'binutils'), ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })
  const needed = [...d.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] as string)
  const soname = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(d)?.[1] ?? ''
  const needs: string[] = []
  const defines: string[] = []
  let section = ''
  let file_ = ''
  for (const line of v.split('\n')) {
    if (line.startsWith('Version needs section')) section = 'needs'
    else if (line.startsWith('Version definition section')) section = 'defs'
    else if (line.startsWith('Version symbols section')) section = ''
    const f = /File: (\S+)\s+Cnt:/.exec(line)
    if (section === 'needs' && f) file_ = f[1] as string
    const n = /Name: (\S+)\s+Flags: (\S+)/.exec(line)
    if (section === 'needs' && n) needs.push(`${file_} ${n[1] as string}${n[2] === 'WEAK' ? ' (weak)' : ''}`)
    const def = /Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)/.exec(line)
    if (section === 'defs' && def && def[1] !== 'BASE') defines.push(def[2] as string)
  }
  return { needed, soname, needs: needs.sort(), defines }
}

/** A library this very process has loaded (from /proc/self/maps: no ldd, no guessing). */
function loaded(name: RegExp): string {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8')
  const hit = maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').find((p) => name.test(path.basename(p)))
  if (hit === undefined) throw new Error(`this process has no ${name} loaded`)
  return hit
}

describe('elfIdent', () => {
  it.each([
    ['x86-64', writeElf({ machine: X86_64 }), { bits: 64, little: true, type: 3, machine: X86_64 }],
    ['32-bit ARM', writeElf({ machine: 40, bits: 32, type: 2 }), { bits: 32, little: true, type: 2, machine: 40 }],
    ['big-endian', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, 0, ...new Array<number>(8).fill(0), 0, 3, 0, 0x16]), { bits: 64, little: false, type: 3, machine: 0x16 }]
  ])('%s', (_l, head, want) => {
    expect(elfIdent(head)).toEqual(want)
  })

  it.each([
    ['19 bytes', writeElf({ machine: X86_64 }).subarray(0, 19)],
    ['a bad class', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 3, 1, ...new Array<number>(20).fill(0)])],
    ['a bad data encoding', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 0, ...new Array<number>(20).fill(0)])],
    ['a script', Buffer.from('#!/bin/sh\nexec /app/real "$@"\n')],
    ['a PE file', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62)])],
    ['an empty buffer', Buffer.alloc(0)],
    ['nothing', undefined]
  ])('not ELF: %s', (_l, head) => {
    expect(elfIdent(head)).toBeUndefined()
  })

  it('names the CPUs and falls back to the number', () => {
    expect(machineName(X86_64)).toBe('x86-64')
    expect(machineName(AARCH64)).toBe('AArch64')
    expect(machineName(247)).toBe('e_machine 0xf7')
    expect(CPU_MACHINES[247]).toBeUndefined()
  })
})

describe('readElfDynamic on files written here', () => {
  const spec: ElfSpec = {
    machine: X86_64,
    soname: 'libneedy.so',
    needed: ['libc.so.6', 'libm.so.6'],
    needs: [
      { file: 'libc.so.6', versions: ['GLIBC_2.2.5', 'GLIBC_2.99', { name: 'GLIBC_2.50', weak: true }] },
      { file: 'libm.so.6', versions: ['GLIBC_2.29'] }
    ],
    defines: ['NEEDY_1.0', 'NEEDY_2.0'],
    base: 0x400000
  }
  const want: ElfDynamic = {
    soname: 'libneedy.so',
    needed: ['libc.so.6', 'libm.so.6'],
    needs: [
      { file: 'libc.so.6', version: 'GLIBC_2.2.5', weak: false },
      { file: 'libc.so.6', version: 'GLIBC_2.99', weak: false },
      { file: 'libc.so.6', version: 'GLIBC_2.50', weak: true },
      { file: 'libm.so.6', version: 'GLIBC_2.29', weak: false }
    ],
    defines: ['NEEDY_1.0', 'NEEDY_2.0']
  }

  it.each([64, 32] as const)('%i-bit: needed, soname, needs (weak marked), definitions; addresses mapped through PT_LOAD', (bits) => {
    expect(dynamicOf(readElfDynamic(SparseFile.of(writeElf({ ...spec, bits }))))).toEqual(want)
  })

  it('readelf reads the same dynamic segment from the written file (the writer makes real ELF)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'elf-'))
    try {
      const f = path.join(dir, 'libneedy.so')
      fs.writeFileSync(f, writeElf(spec))
      const r = readelf(f)
      expect(r.needed).toEqual(spec.needed)
      expect(r.soname).toBe('libneedy.so')
      const d = execFileSync(tool('readelf', 'binutils'), ['-d', '-W', f], { encoding: 'utf8' })
      expect(d).toMatch(/\(VERNEEDNUM\)\s+2\b/)
      expect(d).toMatch(/\(VERDEFNUM\)\s+3\b/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a file without PT_DYNAMIC (static) needs nothing', () => {
    expect(dynamicOf(readElfDynamic(SparseFile.of(writeElf({ machine: X86_64, static: true }))))).toEqual({ soname: '', needed: [], needs: [], defines: [] })
  })

  it('a header alone (no program headers) needs nothing', () => {
    const h = writeElf({ machine: X86_64 }).subarray(0, 64)
    h.writeUInt16LE(0, 56)
    expect(readElfDynamic(SparseFile.of(h)).kind).toBe('read')
  })
})

describe('readElfDynamic never throws on malformed input', () => {
  const good = writeElf({ machine: X86_64, soname: 'libx.so', needed: ['libc.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.34', 'GLIBC_2.2.5'] }], defines: ['X_1'], base: 0x10000 })
  const { phoff, dynamic, strtab } = elfOffsets(good)

  it('every truncation of a good file is unreadable (or read, when only the tail went), never an exception', () => {
    for (let n = 0; n < good.length; n++) {
      const r = readElfDynamic(SparseFile.of(good.subarray(0, n)))
      expect(['unreadable', 'read']).toContain(r.kind)
      if (n < dynamic) expect(r.kind).toBe('unreadable')
    }
  })

  it('random corruption: 3000 files with bytes flipped give a result, never an exception', () => {
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0
      return seed % n
    }
    const kinds = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(good)
      for (let k = 0; k < 1 + rand(6); k++) b[rand(b.length)] = rand(256)
      const r = readElfDynamic(SparseFile.of(b))
      kinds.add(r.kind)
      if (r.kind === 'read') for (const s of [r.dynamic.soname, ...r.dynamic.needed, ...r.dynamic.defines]) expect(typeof s).toBe('string')
    }
    expect(kinds.has('unreadable')).toBe(true)
    expect(kinds.has('read')).toBe(true)
  })

  const poke = (f: (b: Buffer) => void): ElfDynamicRead => {
    const b = Buffer.from(good)
    f(b)
    return readElfDynamic(SparseFile.of(b))
  }

  it.each<[string, (b: Buffer) => void, RegExp]>([
    ['big-endian', (b) => (b[5] = 2), /big-endian/],
    ['not ELF', (b) => (b[1] = 0), /not an ELF/],
    ['0xffff program headers (extended numbering)', (b) => b.writeUInt16LE(0xffff, 56), /65535 program headers/],
    ['program headers of the wrong size', (b) => b.writeUInt16LE(40, 54), /program headers of 40 bytes/],
    ['program headers past the end', (b) => b.writeBigUInt64LE(BigInt(good.length), 32), /outside the file/],
    ['a program header offset beyond 2^53', (b) => b.writeBigUInt64LE(1n << 60n, 32), /beyond what can be read/],
    ['a dynamic segment past the end', (b) => b.writeBigUInt64LE(BigInt(good.length - 8), phoff + 56 + 8), /past the end/],
    ['a huge dynamic segment', (b) => b.writeBigUInt64LE(1n << 20n, phoff + 56 + 32), /dynamic segment of/],
    ['a string table in no segment', (b) => b.writeBigUInt64LE(0x9000000n, dynamic + 2 * 16 + 8), /in no loaded segment/],
    ['a string table past the end', (b) => b.writeBigUInt64LE(1n << 30n, dynamic + 3 * 16 + 8), /in no loaded segment/],
    ['a string index past the table', (b) => b.writeBigUInt64LE(1n << 16n, dynamic + 8), /outside the string table/],
    ['an unterminated last string', (b) => b.fill(0x41, strtab + 1, strtab + (good.readUInt32LE(dynamic + 3 * 16 + 8))), /string/],
    ['a version needs entry of version 7', (b) => b.writeUInt16LE(7, elfVerneed(b)), /version 7/],
    ['a version needs chain that leaves its window', (b) => b.writeUInt32LE(0x7ffffff0, elfVerneed(b) + 8), /runs past/]
  ])('%s', (_l, f, reason) => {
    const r = poke(f)
    expect(r.kind).toBe('unreadable')
    if (r.kind === 'unreadable') expect(r.reason).toMatch(reason)
  })

  it('a dynamic segment without a string table, but with needs, is unreadable; without anything, empty', () => {
    const b = Buffer.from(good)
    // Turn every tag into DT_NULL's neighbour DT_DEBUG (21): no string table left.
    for (let at = dynamic; at < b.length - 16; at += 16) b.writeBigInt64LE(21n, at)
    expect(readElfDynamic(SparseFile.of(b))).toEqual({ kind: 'read', dynamic: { soname: '', needed: [], needs: [], defines: [] } })
  })
})

/** File offset of the version needs table in a file writeElf made (right after the strings, 8-aligned). */
function elfVerneed(b: Buffer): number {
  const { dynamic } = elfOffsets(b)
  const base = Number(b.readBigUInt64LE(64 + 16))
  for (let at = dynamic; at + 16 <= b.length; at += 16) if (b.readUInt32LE(at) === 0x6ffffffe) return Number(b.readBigUInt64LE(at + 8)) - base
  throw new Error('no DT_VERNEED')
}

describe('ElfCapture: the facts from a file streamed past, holding only what they need', () => {
  const spec: ElfSpec = { machine: AARCH64, soname: 'libz.so', needed: ['libc.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.17', 'GLIBC_2.38'] }], base: 0x10000, gapAfter: 600_000 }
  const file = writeElf(spec)
  const whole = readElfDynamic(SparseFile.of(file))

  it.each([1, 7, 512, 65536])('in chunks of %i bytes: the dynamic segment far past the prefix is kept as it passes', (chunk) => {
    const r = stream(file, chunk)
    expect(r?.ident.machine).toBe(AARCH64)
    expect(r?.dynamic).toEqual(whole)
  })

  it('tables past the prefix are asked for (with a small string table), and a second pass with those ranges reads them', () => {
    const far = writeElf({ ...spec, gapBefore: 300_000, gapAfter: 10 })
    const first = stream(far, 4096)
    expect(first?.dynamic.kind).toBe('missing')
    const ranges = first?.dynamic.kind === 'missing' ? first.dynamic.ranges : []
    expect(ranges).toHaveLength(2)
    expect(stream(far, 4096, ranges)?.dynamic).toEqual(readElfDynamic(SparseFile.of(far)))
    expect(settle(far, 4096).passes).toBe(2)
  })

  it('program headers past a small prefix: asked for too', () => {
    const first = stream(file, 100, [], 64)
    expect(first?.dynamic).toEqual({ kind: 'missing', ranges: [{ offset: 64, length: 112 }] })
  })

  it('lets a file that is not ELF go at once, and keeps nothing of it', () => {
    const c = new ElfCapture(10_000)
    c.write(Buffer.from('#!/b'))
    c.write(Buffer.alloc(9996, 0x41))
    expect(c.end()).toBeUndefined()
    expect(stream(Buffer.from('\x7fEL'), 1)).toBeUndefined()
  })
})

describe('readElfDynamic on real binaries of this machine, checked against readelf', () => {
  const exe = fs.realpathSync('/proc/self/exe')
  const libc = loaded(/^libc\.so\.6$/)
  const libstdcxx = loaded(/^libstdc\+\+\.so\.6/)

  it.each([
    ['this process (node)', exe],
    ['the host libc, found in /proc/self/maps', libc],
    ['libstdc++ (tables past the 256 KiB prefix)', libstdcxx],
    ['/bin/ls', '/bin/ls']
  ])('%s', (_l, file) => {
    const d = dynamicOf(readElfDynamic(SparseFile.of(fs.readFileSync(file))))
    const r = readelf(file)
    expect(d.needed).toEqual(r.needed)
    expect(d.soname).toBe(r.soname)
    expect(pairs(d)).toEqual(r.needs)
    expect(d.defines).toEqual(r.defines)
  })

  it('the host libc defines GLIBC_ versions up to the one this process runs on', () => {
    const d = dynamicOf(readElfDynamic(SparseFile.of(fs.readFileSync(libc))))
    const runtime = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime
    expect(runtime).toMatch(/^\d+\.\d+$/)
    const top = d.defines.map((n) => ({ n, v: glibcVersion(n) })).filter((x) => x.v !== undefined).sort((a, b) => compareVersions(b.v ?? [], a.v ?? []))[0]
    expect(top?.n).toBe(`GLIBC_${runtime ?? ''}`)
    expect(d.defines).toContain('GLIBC_2.2.5')
  })

  it('streamed in 64 KiB chunks, libstdc++ (tables past the prefix, a 300 KB string table) is read in three passes, as the whole file', () => {
    const data = fs.readFileSync(libstdcxx)
    const { facts, passes } = settle(data, 65536)
    expect(facts?.dynamic).toEqual(readElfDynamic(SparseFile.of(data)))
    expect(passes).toBe(3)
  })

  it('streamed, node (a 5 MB string table) is read without holding its string table', () => {
    const data = fs.readFileSync(exe)
    const { facts, passes } = settle(data, 65536)
    expect(facts?.dynamic).toEqual(readElfDynamic(SparseFile.of(data)))
    expect(passes).toBeLessThanOrEqual(3)
  })

  it('streamed, the host libc is read in one pass', () => {
    const data = fs.readFileSync(libc)
    expect(stream(data, 65536)?.dynamic).toEqual(readElfDynamic(SparseFile.of(data)))
  })

  it('without section headers (e_shoff, e_shnum zeroed) the program headers still say everything', () => {
    const data = Buffer.from(fs.readFileSync('/bin/ls'))
    data.writeBigUInt64LE(0n, 40)
    data.writeUInt16LE(0, 60)
    data.writeUInt16LE(0, 62)
    const d = dynamicOf(readElfDynamic(SparseFile.of(data)))
    expect(pairs(d)).toEqual(readelf('/bin/ls').needs)
  })

  it('an AArch64 libc (the arm64 cross libc): machine 183, its addresses mapped to offsets, GLIBC_2.17 first', () => {
    const file = mustExist('/usr/aarch64-linux-gnu/lib/libc.so.6', 'libc6-arm64-cross')
    const data = fs.readFileSync(file)
    expect(elfIdent(data)).toMatchObject({ bits: 64, little: true, machine: AARCH64 })
    const d = dynamicOf(readElfDynamic(SparseFile.of(data)))
    const r = readelf(file)
    expect(d.defines).toEqual(r.defines)
    expect(pairs(d)).toEqual(r.needs)
    expect(d.defines[0]).toBe('GLIBC_2.17')
    expect(d.soname).toBe('libc.so.6')
  })

  it('a library gcc links against a stub libc.so.6 defining GLIBC_2.99 needs GLIBC_2.99 from libc.so.6', () => {
    const gcc = tool('gcc', 'gcc')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'elf-'))
    try {
      fs.writeFileSync(path.join(dir, 'stub.c'), 'int aot_stub_future(void) { return 99; }\n')
      fs.writeFileSync(path.join(dir, 'stub.map'), 'GLIBC_2.99 { global: aot_stub_future; local: *; };\n')
      fs.writeFileSync(path.join(dir, 'needy.c'), 'int aot_stub_future(void);\nint needy(void) { return aot_stub_future(); }\n')
      execFileSync(gcc, ['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libc.so.6', '-Wl,--version-script,stub.map', '-o', 'libc.so.6', 'stub.c'], { cwd: dir })
      execFileSync(gcc, ['-shared', '-fPIC', '-nostdlib', '-Wl,-soname,libneedy.so', '-o', 'libneedy.so', 'needy.c', './libc.so.6'], { cwd: dir })
      const needy = dynamicOf(readElfDynamic(SparseFile.of(fs.readFileSync(path.join(dir, 'libneedy.so')))))
      expect(needy.needs).toEqual([{ file: 'libc.so.6', version: 'GLIBC_2.99', weak: false }])
      expect(needy.needed).toEqual(['libc.so.6'])
      const stub = dynamicOf(readElfDynamic(SparseFile.of(fs.readFileSync(path.join(dir, 'libc.so.6')))))
      expect(stub.defines).toEqual(['GLIBC_2.99'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('glibcVersion and compareVersions', () => {
  it.each([
    ['GLIBC_2.2.5', [2, 2, 5]],
    ['GLIBC_2.39', [2, 39]],
    ['GLIBC_PRIVATE', undefined],
    ['GLIBC_ABI_DT_RELR', undefined],
    ['GLIBCXX_3.4.32', undefined],
    ['GLIBC_2', undefined]
  ])('%s', (name, want) => {
    expect(glibcVersion(name)).toEqual(want)
  })

  it('orders numerically, shorter as zeros', () => {
    expect(compareVersions([2, 10], [2, 9])).toBeGreaterThan(0)
    expect(compareVersions([2, 2, 5], [2, 3])).toBeLessThan(0)
    expect(compareVersions([2, 3, 0], [2, 3])).toBe(0)
  })
})
