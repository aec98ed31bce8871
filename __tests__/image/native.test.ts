import { SparseFile, elfIdent, readElfDynamic, type ElfFacts } from '../../src/image/elf.js'
import { inspectImage, type PlatformReport } from '../../src/image/inspect.js'
import { checkNative, mergeLayers, missingRanges, nativeSummary, resolvePath } from '../../src/image/native.js'
import { platformImages, type LayerEntry } from '../../src/image/oci.js'
import type { Arch } from '../../src/dotnet/platforms.js'
import { at } from '../helpers.js'
import { GOOD_CONFIG, MemoryStore, addImage, appFiles, elfBinary, type FileSpec } from '../fixtures/oci-image.js'
import { writeElf, type ElfSpec } from '../fixtures/elf-writer.js'

const MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 }
const TRIPLET: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }

/** The GLIBC_ version names a glibc of this release defines, oldest first (x86-64's start at 2.2.5). */
function glibcDefines(top: number, arch: Arch = 'amd64'): string[] {
  const from = arch === 'amd64' ? 3 : 17
  return [...(arch === 'amd64' ? ['GLIBC_2.2.5', 'GLIBC_2.2.6'] : []), ...Array.from({ length: top - from + 1 }, (_, i) => `GLIBC_2.${from + i}`), 'GLIBC_PRIVATE']
}

const libc = (arch: Arch, top: number, extra: string[] = []): Buffer => writeElf({ machine: MACHINE[arch], soname: 'libc.so.6', defines: [...glibcDefines(top, arch), ...extra] })

/** A runtime-deps-like base: passwd, libc.so.6 in the multiarch folder, /lib -> usr/lib (merged /usr). */
function glibcBase(arch: Arch, top: number, extra: FileSpec[] = []): FileSpec[] {
  return [
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654::/home/app:/usr/sbin/nologin\n' },
    { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { path: `usr/lib/${TRIPLET[arch]}/libc.so.6`, content: libc(arch, top) },
    ...extra
  ]
}

/** A .so of the app: the given needs, for the given machine. */
const lib = (machine: number, spec: Partial<ElfSpec> = {}): Buffer => writeElf({ machine, needed: ['libc.so.6'], ...spec })

const needsGlibc = (machine: number, ...versions: string[]): Buffer => lib(machine, { needs: [{ file: 'libc.so.6', versions }] })

async function inspect(arch: Arch, layers: FileSpec[][], config = GOOD_CONFIG): Promise<PlatformReport> {
  const store = new MemoryStore()
  const built = await addImage(store, { arch, layers, config })
  return inspectImage(store, at(await platformImages(store, built.descriptor), 0, 'platform image'))
}

describe('inspectImage: every native file of the app is for the image\'s CPU', () => {
  it('a wrong-arch .so in the arm64 app layer is named, with both machines; the amd64 image of the same app passes', async () => {
    const wrong = lib(MACHINE.amd64, { soname: 'libfoo.so' })
    const arm = await inspect('arm64', [glibcBase('arm64', 39), appFiles('arm64', [{ path: 'app/libfoo.so', content: wrong }])])
    expect(arm.problems).toEqual([
      "/app/libfoo.so is an x86-64 ELF file, not AArch64: a native library for another architecture (check the package's runtimes/linux-arm64/native assets or a hand-copied .so)"
    ])
    const amd = await inspect('amd64', [glibcBase('amd64', 39), appFiles('amd64', [{ path: 'app/libfoo.so', content: wrong }])])
    expect(amd.problems).toEqual([])
    expect(amd.native.files).toBe(2)
  })

  it('names each wrong file, libraries and executables alike, wherever they sit in the app layer', async () => {
    const r = await inspect('amd64', [
      glibcBase('amd64', 39),
      appFiles('amd64', [
        { path: 'app/runtimes/libe_sqlite3.so', content: lib(MACHINE.arm64) },
        { path: 'app/libSkiaSharp.so.116.0', content: lib(40, { bits: 32 }) },
        { path: 'app/tools/helper', content: writeElf({ machine: MACHINE.arm64, type: 2, static: true }) },
        { path: 'app/tools/riscv', content: writeElf({ machine: 243, type: 2, static: true }) }
      ])
    ])
    expect(r.problems).toEqual([
      expect.stringMatching(/^\/app\/runtimes\/libe_sqlite3\.so is an AArch64 ELF file, not x86-64: a native library .*runtimes\/linux-x64\/native/),
      expect.stringMatching(/^\/app\/libSkiaSharp\.so\.116\.0 is an ARM \(32-bit\) ELF file, not x86-64: a native library/),
      expect.stringMatching(/^\/app\/tools\/helper is an AArch64 ELF file, not x86-64: a native executable for another architecture/),
      expect.stringMatching(/^\/app\/tools\/riscv is a RISC-V ELF file, not x86-64/)
    ])
  })

  it('the entrypoint keeps its own finding, once', async () => {
    const r = await inspect('arm64', [glibcBase('arm64', 39), appFiles('amd64')])
    expect(r.problems).toEqual([expect.stringContaining('the entrypoint /app/TodoApi is built for x86-64, but the image is linux/arm64')])
  })

  it('object files, core files and ELF that is not CPU code (BPF, GPU) are left alone', async () => {
    const r = await inspect('arm64', [
      glibcBase('arm64', 39),
      appFiles('arm64', [
        { path: 'app/probe.o', content: writeElf({ machine: MACHINE.amd64, type: 1, static: true }) },
        { path: 'app/filter.bpf.so', content: writeElf({ machine: 247, static: true }) },
        { path: 'app/kernels.cubin', content: writeElf({ machine: 190, type: 2, static: true }) }
      ])
    ])
    expect(r.problems).toEqual([])
  })

  it('a base image for another CPU is one finding that names its files and the likely cause', async () => {
    const base = glibcBase('amd64', 39, [{ path: 'usr/lib/x86_64-linux-gnu/libssl.so.3', content: lib(MACHINE.amd64) }, { path: 'usr/lib/x86_64-linux-gnu/libz.so.1', content: lib(MACHINE.amd64) }, { path: 'usr/lib/x86_64-linux-gnu/libm.so.6', content: lib(MACHINE.amd64) }])
    const r = await inspect('arm64', [base, appFiles('arm64')])
    expect(r.problems).toEqual([expect.stringMatching(/^\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6, .*, .* and 1 more in the base image are x86-64 ELF, not AArch64: the runtime image is for another architecture .*index digest/)])
  })

  it('a 32-bit x86 library in an amd64 base image (multilib) is not a finding', async () => {
    const r = await inspect('amd64', [glibcBase('amd64', 39, [{ path: 'usr/lib32/libc.so.6', content: lib(3, { bits: 32 }) }]), appFiles('amd64')])
    expect(r.problems).toEqual([])
  })
})

describe('inspectImage: the glibc floor', () => {
  it('a GLIBC_2.99 need against a libc that defines up to GLIBC_2.39 is named with both versions', async () => {
    const r = await inspect('amd64', [glibcBase('amd64', 39), appFiles('amd64', [{ path: 'app/libneedy.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.2.5', 'GLIBC_2.99') }])])
    expect(r.problems).toEqual([
      "/app/libneedy.so needs GLIBC_2.99 (from libc.so.6), but the image's glibc goes up to GLIBC_2.39 (/usr/lib/x86_64-linux-gnu/libc.so.6): it would fail with \"version `GLIBC_2.99' not found\"; use a runtime image with a newer glibc, or a build of the library for this one (a build image of the runtime image's distro, e.g. the noble SDK with noble runtime-deps)"
    ])
    expect(r.native.glibc).toEqual({ needs: { version: 'GLIBC_2.99', file: '/app/libneedy.so' }, has: { version: 'GLIBC_2.39', file: '/usr/lib/x86_64-linux-gnu/libc.so.6' } })
  })

  it('an entrypoint linked against a newer glibc than the runtime image\'s: the fix is an SDK of the same distro', async () => {
    const app = appFiles('arm64').filter((f) => f.path !== 'app/TodoApi')
    const r = await inspect('arm64', [glibcBase('arm64', 36), [...app, { path: 'app/TodoApi', content: writeElf({ machine: MACHINE.arm64, needed: ['libc.so.6', 'libm.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.17', 'GLIBC_2.34', 'GLIBC_2.38'] }] }) }]])
    expect(r.problems).toEqual([expect.stringMatching(/^\/app\/TodoApi needs GLIBC_2\.38 \(from libc\.so\.6\), but the image's glibc goes up to GLIBC_2\.36 .*an SDK image of the same distro as the runtime image \(e\.g\. the noble SDK with noble runtime-deps\)/)])
  })

  it('needs the image meets: no finding, and the floor is reported', async () => {
    const r = await inspect('amd64', [
      glibcBase('amd64', 39),
      appFiles('amd64', [
        { path: 'app/libe_sqlite3.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.2.5', 'GLIBC_2.14') },
        { path: 'app/libSystem.Native.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.28', 'GLIBC_PRIVATE') }
      ])
    ])
    expect(r.problems).toEqual([])
    expect(r.native.glibc.needs).toEqual({ version: 'GLIBC_2.28', file: '/app/libSystem.Native.so' })
    expect(nativeSummary(r.platform, r.native)).toBe(
      "linux/amd64: 3 native files of the app checked; the app needs GLIBC_2.28 (/app/libSystem.Native.so); the image's glibc goes up to GLIBC_2.39 (/usr/lib/x86_64-linux-gnu/libc.so.6)"
    )
  })

  it('a weak need is no finding: the loader goes on without it', async () => {
    const so = lib(MACHINE.amd64, { needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.2.5', { name: 'GLIBC_2.99', weak: true }] }] })
    expect((await inspect('amd64', [glibcBase('amd64', 39), appFiles('amd64', [{ path: 'app/libweak.so', content: so }])])).problems).toEqual([])
  })

  it('libc found through symlinks: /lib -> usr/lib, and libc.so.6 -> libc-2.31.so (older glibc)', async () => {
    const base: FileSpec[] = [
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { path: 'usr/lib/x86_64-linux-gnu/libc-2.31.so', content: libc('amd64', 31) },
      { path: 'usr/lib/x86_64-linux-gnu/libc.so.6', type: 'symlink', linkname: 'libc-2.31.so' }
    ]
    const r = await inspect('amd64', [base, appFiles('amd64', [{ path: 'app/libneedy.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.34') }])])
    expect(r.problems).toEqual([expect.stringContaining("needs GLIBC_2.34 (from libc.so.6), but the image's glibc goes up to GLIBC_2.31 (/usr/lib/x86_64-linux-gnu/libc-2.31.so)")])
  })

  it('a version only a sibling library defines (libm) counts as the image\'s; one that library lacks is named', async () => {
    const libm = writeElf({ machine: MACHINE.amd64, soname: 'libm.so.6', defines: ['GLIBC_2.2.5', 'GLIBC_2.29', 'GLIBC_2.40'] })
    const base = glibcBase('amd64', 39, [{ path: 'usr/lib/x86_64-linux-gnu/libm.so.6', content: libm }])
    const uses = (v: string): Buffer => lib(MACHINE.amd64, { needed: ['libm.so.6'], needs: [{ file: 'libm.so.6', versions: [v] }] })
    const ok = await inspect('amd64', [base, appFiles('amd64', [{ path: 'app/libmath.so', content: uses('GLIBC_2.40') }])])
    expect(ok.problems).toEqual([])
    expect(ok.native.glibc.has?.version).toBe('GLIBC_2.40')
    const bad = await inspect('amd64', [base, appFiles('amd64', [{ path: 'app/libmath.so', content: uses('GLIBC_2.35') }])])
    expect(bad.problems).toEqual([expect.stringContaining('/app/libmath.so needs GLIBC_2.35 (from libm.so.6)')])
  })

  it('GLIBC_ABI_DT_RELR (packed relocations) against a libc without it is named', async () => {
    const so = needsGlibc(MACHINE.amd64, 'GLIBC_2.2.5', 'GLIBC_ABI_DT_RELR')
    const old = await inspect('amd64', [glibcBase('amd64', 35), appFiles('amd64', [{ path: 'app/librelr.so', content: so }])])
    expect(old.problems).toEqual([expect.stringContaining('/app/librelr.so needs GLIBC_ABI_DT_RELR (from libc.so.6)')])
    const base = [{ path: 'usr/lib/x86_64-linux-gnu/libc.so.6', content: libc('amd64', 36, ['GLIBC_ABI_DT_RELR']) }]
    expect((await inspect('amd64', [base, appFiles('amd64', [{ path: 'app/librelr.so', content: so }])])).problems).toEqual([])
  })

  it('an image without glibc (musl, distroless static) is named only when an app file needs GLIBC', async () => {
    const musl: FileSpec[] = [{ path: 'lib/ld-musl-x86_64.so.1', content: writeElf({ machine: MACHINE.amd64, soname: 'libc.musl-x86_64.so.1' }) }]
    const r = await inspect('amd64', [musl, appFiles('amd64', [{ path: 'app/libneedy.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.2.5', 'GLIBC_2.17') }])])
    expect(r.problems).toEqual(["/app/libneedy.so needs GLIBC_2.17, but the image has no glibc (no libc.so.6): a musl or static base image cannot load it; use a glibc runtime image such as Microsoft's runtime-deps"])
    // A static app (no needs) on the same base: nothing to say.
    expect((await inspect('amd64', [musl, appFiles('amd64')])).problems).toEqual([])
  })

  it('a libc the app layer deletes (a whiteout) is gone', async () => {
    const r = await inspect('amd64', [
      glibcBase('amd64', 39),
      [{ path: 'usr/lib/x86_64-linux-gnu/.wh.libc.so.6', content: '' }],
      appFiles('amd64', [{ path: 'app/libneedy.so', content: needsGlibc(MACHINE.amd64, 'GLIBC_2.17') }])
    ])
    expect(r.problems).toEqual([expect.stringContaining('the image has no glibc (no libc.so.6)')])
  })

  it('a library whose tables lie past the first scan\'s prefix is read in another scan, and still named', async () => {
    const far = writeElf({ machine: MACHINE.amd64, needed: ['libc.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.99'] }], gapBefore: 400_000 })
    const r = await inspect('amd64', [glibcBase('amd64', 39), appFiles('amd64', [{ path: 'app/libfar.so', content: far }])])
    expect(r.problems).toEqual([expect.stringContaining('/app/libfar.so needs GLIBC_2.99')])
  })

  it('an app file whose dynamic section cannot be read is no finding, but is said', async () => {
    const broken = needsGlibc(MACHINE.amd64, 'GLIBC_2.99')
    broken.writeUInt16LE(40, 54) // program headers of a size no ELF has
    const r = await inspect('amd64', [glibcBase('amd64', 39), appFiles('amd64', [{ path: 'app/libbroken.so', content: broken }])])
    expect(r.problems).toEqual([])
    expect(r.native.unreadable).toEqual(['/app/libbroken.so (program headers of 40 bytes)'])
  })
})

/** A layer entry for a file with these bytes (ELF facts as a whole-file read gives them). */
function file(p: string, data?: Buffer): LayerEntry {
  const ident = elfIdent(data)
  const e: LayerEntry = { path: p, size: data?.length ?? 0, type: 'file' }
  if (ident !== undefined && data !== undefined) e.elf = { ident, dynamic: readElfDynamic(SparseFile.of(data)) } satisfies ElfFacts
  return e
}
const link = (p: string, to: string): LayerEntry => ({ path: p, size: 0, type: 'symlink', linkname: to })

describe('mergeLayers and resolvePath', () => {
  const fs = mergeLayers([
    [link('/lib', 'usr/lib'), file('/usr/lib/x86_64-linux-gnu/libc.so.6'), link('/usr/lib/x86_64-linux-gnu/libc-alias.so', '../x86_64-linux-gnu/./libc.so.6'), link('/loop/a', '/loop/b'), link('/loop/b', 'a'), file('/opt/x/one'), file('/opt/x/two')],
    [file('/opt/.wh..wh..opq'), file('/opt/three'), { path: '/usr/lib/x86_64-linux-gnu/libc-hard.so.6', size: 0, type: 'link', linkname: '/usr/lib/x86_64-linux-gnu/libc.so.6' }]
  ])

  it.each([
    ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/lib/x86_64-linux-gnu/libc-alias.so', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/lib/../lib/x86_64-linux-gnu/libc-hard.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/usr/lib/nothing', '/usr/lib/nothing'],
    ['/loop/a', undefined]
  ])('%s -> %s', (from, to) => {
    expect(resolvePath(fs, from)).toBe(to)
  })

  it('an opaque directory hides what lower layers had under it', () => {
    expect([...fs.keys()].filter((p) => p.startsWith('/opt'))).toEqual(['/opt/three'])
  })
})

describe('checkNative and missingRanges', () => {
  const base = [file('/usr/lib/x86_64-linux-gnu/libc.so.6', libc('amd64', 39))]

  it('asks again for an app file of the image\'s CPU whose tables were not kept, and for the libc it needs', () => {
    const missing: LayerEntry = { path: '/app/libfar.so', size: 1000, type: 'file', elf: { ident: { bits: 64, little: true, type: 3, machine: 62 }, dynamic: { kind: 'missing', ranges: [{ offset: 500, length: 16 }] } } }
    const wrongCpu: LayerEntry = { ...missing, path: '/app/libarm.so', elf: { ident: { bits: 64, little: true, type: 3, machine: 183 }, dynamic: { kind: 'missing', ranges: [{ offset: 1, length: 1 }] } } }
    const libcMissing: LayerEntry = { ...missing, path: '/usr/lib/x86_64-linux-gnu/libc.so.6', elf: { ident: { bits: 64, little: true, type: 3, machine: 62 }, dynamic: { kind: 'missing', ranges: [{ offset: 7, length: 9 }] } } }
    const want = missingRanges({ platform: 'linux/amd64', entrypoint: '/app/x', layers: [[libcMissing], [missing, wrongCpu]], appLayer: 1 })
    expect(want).toEqual(
      new Map([
        [1, new Map([['/app/libfar.so', [{ offset: 500, length: 16 }]]])],
        [0, new Map([['/usr/lib/x86_64-linux-gnu/libc.so.6', [{ offset: 7, length: 9 }]]])]
      ])
    )
    expect(missingRanges({ platform: 'linux/amd64', entrypoint: '/app/x', layers: [base, [file('/app/x', elfBinary('amd64'))]], appLayer: 1 }).size).toBe(0)
  })

  it('without the entrypoint, the last layer is the app\'s', () => {
    const r = checkNative({ platform: 'linux/arm64', entrypoint: '/app/gone', layers: [base.map((e) => ({ ...e })), [file('/app/libx.so', lib(62))]], appLayer: undefined })
    expect(r.problems).toEqual([
      expect.stringContaining('/app/libx.so is an x86-64 ELF file, not AArch64'),
      expect.stringContaining('/usr/lib/x86_64-linux-gnu/libc.so.6 in the base image is x86-64 ELF, not AArch64')
    ])
  })

  it('a platform we do not target (riscv64): no CPU to check against, glibc still checked', () => {
    const r = checkNative({ platform: 'linux/riscv64', entrypoint: '/app/x', layers: [[file('/usr/lib/libc.so.6', writeElf({ machine: 243, soname: 'libc.so.6', defines: ['GLIBC_2.27'] }))], [file('/app/x', needsGlibc(243, 'GLIBC_2.33'))]], appLayer: 1 })
    expect(r.problems).toEqual([expect.stringContaining('/app/x needs GLIBC_2.33 (from libc.so.6), but the image\'s glibc goes up to GLIBC_2.27 (/usr/lib/libc.so.6)')])
  })
})
