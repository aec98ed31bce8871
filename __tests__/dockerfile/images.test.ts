// The table of Microsoft's images (dotnet/dotnet-docker at 3ed00b6, 2026-08-21): what each
// .NET major and distro gets, that an SDK image is never paired with a runtime-deps image of
// another distro, the distro choice and its errors, and the .NET 9 support warning.
import { IMAGE_TABLE, acceptedDistros, defaultImages, distroProblem, knownImages, majorImages, supportWarning } from '../../src/dockerfile/images.js'
import type { ResolvedFlavor } from '../../src/dockerfile/generate.js'

const FLAVORS: ResolvedFlavor[] = ['chiseled', 'chiseled-extra', 'full']

/** The distro a Microsoft tag names: 11.0-resolute-chiseled-extra -> resolute. */
function distroOfTag(ref: string): string {
  const tag = ref.slice(ref.lastIndexOf(':') + 1)
  const m = /^\d+\.0-([a-z]+[0-9.]*)(?:-|$)/.exec(tag)
  if (m === null) throw new Error(`no distro in ${ref}`)
  return m[1] as string
}

describe("Microsoft's image tags per .NET major and distro", () => {
  it.each<[number, string, ResolvedFlavor, string, string]>([
    [10, '', 'chiseled', 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'],
    [10, 'noble', 'chiseled-extra', 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra'],
    [10, 'resolute', 'chiseled', 'mcr.microsoft.com/dotnet/sdk:10.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-resolute-chiseled'],
    [10, 'resolute', 'full', 'mcr.microsoft.com/dotnet/sdk:10.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:10.0-resolute'],
    [11, '', 'chiseled', 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled'],
    [11, '', 'chiseled-extra', 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled-extra'],
    [11, 'resolute', 'full', 'mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot', 'mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute'],
    [9, '', 'chiseled', 'mcr.microsoft.com/dotnet/sdk:9.0-noble', 'mcr.microsoft.com/dotnet/runtime-deps:9.0-noble-chiseled']
  ])('.NET %d, distro %j, %s: %s with %s', (major, distro, flavor, sdk, runtime) => {
    expect(defaultImages(major, distro, flavor)).toEqual({ distro: distro || majorImages(major)?.recommended, sdk, runtime })
  })

  it('.NET 11 has no noble image at all: nothing in the table names 11.0-noble', () => {
    expect(knownImages(11).length).toBeGreaterThan(0)
    for (const ref of knownImages(11)) expect(ref).not.toMatch(/11\.0-noble/)
    expect(() => defaultImages(11, 'noble', 'chiseled')).toThrow()
  })

  it('every .NET major and distro pairs its SDK image with runtime-deps images of that distro only, in every flavor (never two distros, so never two glibcs, in one build)', () => {
    // An app links against the SDK image's glibc and runs on the runtime image's: the ELF check
    // refuses a newer one than the runtime has (e2e/native.e2e.test.ts proves it on Debian 11).
    // Every mismatch is listed, named by major, distro and flavor.
    const mismatches: string[] = []
    let pairs = 0
    for (const m of IMAGE_TABLE) {
      for (const d of m.distros) {
        const row = `.NET ${m.major} ${d.distro}`
        if (distroOfTag(d.sdk) !== d.distro) mismatches.push(`${row}: SDK tag ${d.sdk} is of ${distroOfTag(d.sdk)}`)
        if (!d.sdk.startsWith(`${m.major}.0-`)) mismatches.push(`${row}: SDK tag ${d.sdk} is not .NET ${m.major}'s`)
        expect(Object.keys(d.runtimeDeps).sort()).toEqual([...FLAVORS].sort())
        for (const [flavor, tag] of Object.entries(d.runtimeDeps)) {
          if (distroOfTag(tag) !== d.distro) mismatches.push(`${row} ${flavor}: runtime-deps tag ${tag} is of ${distroOfTag(tag)}`)
          if (!tag.startsWith(`${m.major}.0-`)) mismatches.push(`${row} ${flavor}: runtime-deps tag ${tag} is not .NET ${m.major}'s`)
        }
        // What a build gets: the defaults for each flavor, both of the row's distro.
        for (const flavor of FLAVORS) {
          const { sdk, runtime } = defaultImages(m.major, d.distro, flavor)
          if (distroOfTag(sdk) !== distroOfTag(runtime)) mismatches.push(`${row} ${flavor}: ${sdk} with ${runtime}`)
          pairs++
        }
      }
    }
    expect(mismatches).toEqual([])
    expect(pairs).toBeGreaterThan(0)
  })

  it("recommended distros are Microsoft's: noble for .NET 10 and 9, resolute for .NET 11; each is in its own list", () => {
    expect(acceptedDistros(10)).toEqual(['noble', 'resolute'])
    expect(acceptedDistros(11)).toEqual(['resolute'])
    expect(acceptedDistros(9)).toEqual(['noble'])
    for (const m of IMAGE_TABLE) expect(m.distros.map((d) => d.distro)).toContain(m.recommended)
  })

  it(".NET 11's -aot SDK image has no clang (dotnet-docker PR 7231); .NET 10's have it; .NET 9 has no -aot image", () => {
    expect(majorImages(11)?.distros.map((d) => [d.sdk, d.sdkHasClang])).toEqual([['11.0-resolute-aot', false]])
    expect(majorImages(10)?.distros.map((d) => [d.sdk, d.sdkHasClang])).toEqual([
      ['10.0-noble-aot', true],
      ['10.0-resolute-aot', true]
    ])
    expect(majorImages(9)?.distros.map((d) => [d.sdk, d.sdkHasClang])).toEqual([['9.0-noble', false]])
  })
})

describe('the distro choice', () => {
  it.each<[number, string]>([
    [10, ''],
    [10, 'noble'],
    [10, 'resolute'],
    [11, ''],
    [11, 'resolute'],
    [9, 'noble']
  ])('.NET %d, distro %j: accepted', (major, distro) => {
    expect(distroProblem(major, distro)).toBeUndefined()
  })

  it('.NET 11 on noble: refused, naming resolute as what is accepted', () => {
    const p = distroProblem(11, 'noble')
    expect(p?.problem).toMatch(/^\.NET 11 has no noble images known to this action \(dotnet\/dotnet-docker .* 3ed00b6 \(2026-08-21\)\)$/)
    expect(p?.accepted).toBe("for .NET 11: resolute (empty: resolute, Microsoft's recommended)")
  })

  it('.NET 10 on alpine or azurelinux3.0: Microsoft ships them, but without apt; noble and resolute are accepted', () => {
    for (const d of ['alpine', 'azurelinux3.0']) {
      expect(distroProblem(10, d)).toEqual({
        problem: `Microsoft ships .NET 10 on ${d}, but those images have no apt, which the cross toolchain stage installs with`,
        accepted: "for .NET 10: noble, resolute (empty: noble, Microsoft's recommended)"
      })
    }
  })
})

describe('support', () => {
  it('.NET 9 warns from 2026-11-10 on, not the day before', () => {
    expect(supportWarning(9, '2026-11-09')).toBeUndefined()
    expect(supportWarning(9, '2026-11-10')).toBe('.NET 9 is out of support since 2026-11-10: Microsoft ships no more fixes for it or its images. Move the project to net10.0 (LTS) or net11.0.')
    expect(supportWarning(9, '2026-12-06')).toMatch(/^\.NET 9 is out of support since 2026-11-10/)
  })

  it('.NET 10 and 11 do not warn', () => {
    expect(supportWarning(10, '2026-12-06')).toBeUndefined()
    expect(supportWarning(11, '2026-12-06')).toBeUndefined()
  })
})
