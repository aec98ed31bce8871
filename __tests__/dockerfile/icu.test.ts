import { icuWarning, invariantByEnv, lacksIcuByName } from '../../src/dockerfile/icu.js'

describe('ICU in the runtime image', () => {
  it('knows Microsoft\'s chiseled and distroless tags without -extra have none', () => {
    for (const image of [
      'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled',
      'mcr.microsoft.com/dotnet/runtime-deps:9.0-azurelinux3.0-distroless',
      'registry.local:5000/dotnet/runtime-deps:10.0-noble-chiseled@sha256:' + 'a'.repeat(64)
    ]) {
      expect(lacksIcuByName(image)).toBe(true)
    }
    for (const image of [
      'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra',
      'mcr.microsoft.com/dotnet/runtime-deps:9.0-azurelinux3.0-distroless-extra',
      'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble',
      // The registry's port or a path is not a tag.
      'chiseled:5000/app',
      'ghcr.io/o/chiseled-base'
    ]) {
      expect(lacksIcuByName(image)).toBe(false)
    }
  })

  it('reads DOTNET_SYSTEM_GLOBALIZATION_INVARIANT from the image config', () => {
    expect(invariantByEnv(['PATH=/usr/bin', 'DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true'])).toBe(true)
    expect(invariantByEnv(['DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1'])).toBe(true)
    expect(invariantByEnv(['DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false'])).toBe(false)
    expect(invariantByEnv(undefined)).toBe(false)
  })

  it('warns only when the app needs culture data and the image has none, saying why and what to do', () => {
    const w = icuWarning('Shop.Worker', true, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled')
    expect(w).toMatch(/^Shop\.Worker needs culture data \(InvariantGlobalization is false\), but the runtime image mcr\.microsoft\.com\/dotnet\/runtime-deps:10\.0-noble-chiseled has no ICU \(a chiseled or distroless image without -extra\)/)
    expect(w).toContain('-chiseled-extra')
    expect(icuWarning('App', true, 'corp/base:1', true)).toContain('has no ICU (its environment sets DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true)')
    expect(icuWarning('App', true, 'corp/base:1', false)).toBeUndefined()
    expect(icuWarning('App', false, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled', true)).toBeUndefined()
  })
})
