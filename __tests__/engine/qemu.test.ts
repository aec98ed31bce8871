import type { QemuMode } from '../../src/action/inputs.js'
import type { Arch } from '../../src/dotnet/platforms.js'
import { BINFMT_NAME, decideQemu } from '../../src/engine/qemu.js'

describe('decideQemu', () => {
  it.each<[string, QemuMode, Arch[], Arch | undefined, Arch[], Arch[], RegExp]>([
    ['auto: the generated Dockerfile needs no emulation', 'auto', ['amd64', 'arm64'], 'amd64', [], [], /build platform/],
    ['auto on an arm64 host', 'auto', ['amd64', 'arm64'], 'arm64', [], [], /build platform/],
    ['false', 'false', ['amd64', 'arm64'], 'amd64', [], [], /setup-qemu: false/],
    ['true, arm64 target on an amd64 host, not registered', 'true', ['amd64', 'arm64'], 'amd64', [], ['arm64'], /installed for arm64/],
    ['true, amd64 target on an arm64 host', 'true', ['amd64', 'arm64'], 'arm64', [], ['amd64'], /installed for amd64/],
    ['true, already registered', 'true', ['amd64', 'arm64'], 'amd64', ['arm64'], [], /already registered/],
    ['true, only the other arch registered', 'true', ['arm64'], 'amd64', ['amd64'], ['arm64'], /installed for arm64/],
    ['true, only the native target', 'true', ['amd64'], 'amd64', [], [], /no foreign platform/],
    ['true, unknown host arch: every target is foreign', 'true', ['amd64', 'arm64'], undefined, ['amd64'], ['arm64'], /installed for arm64/]
  ])('%s', (_label, mode, targets, buildArch, registered, install, reason) => {
    const d = decideQemu(mode, targets, buildArch, registered)
    expect(d.install).toEqual(install)
    expect(d.reason).toMatch(reason)
  })

  it('names the binfmt handlers the kernel registers', () => {
    expect(BINFMT_NAME).toEqual({ amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' })
  })
})
