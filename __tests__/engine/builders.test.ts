import { parseBuilderNodes, planBuilderPlatforms, qemuForGivenBuilder, sdkPlatform, type BuilderNode } from '../../src/engine/builders.js'
import type { Platform } from '../../src/dotnet/platforms.js'

const DOCKER = `Name:          default
Driver:        docker
Last Activity: 2026-11-23 22:52:03 +0000 UTC

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.0.0+unknown
Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, linux/arm64
Labels:
 org.mobyproject.buildkit.worker.executor:             containerd
`

const MULTI = `Name:          multi
Driver:        remote
Last Activity: 2026-11-23 22:52:03 +0000 UTC

Nodes:
Name:             x86
Endpoint:         tcp://10.0.0.1:1234
Status:           running
Platforms:        linux/amd64, linux/amd64/v2, linux/386
Labels:
 org.mobyproject.buildkit.worker.executor: oci

Name:             graviton
Endpoint:         tcp://10.0.0.2:1234
Status:           running
Platforms:        linux/arm64, linux/arm/v7
`

const PINNED = `Name:          pinned
Driver:        docker-container

Nodes:
Name:             pinned0
Endpoint:         unix:///var/run/docker.sock
Platforms:        linux/arm64*, linux/amd64, linux/amd64/v2, linux/386
`

describe('parseBuilderNodes', () => {
  it('reads each node, its platforms and its own platform', () => {
    expect(parseBuilderNodes(DOCKER)).toEqual([
      { name: 'default', platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3', 'linux/amd64/v4', 'linux/arm64'], native: 'linux/amd64' }
    ])
    expect(parseBuilderNodes(MULTI)).toEqual([
      { name: 'x86', platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/386'], native: 'linux/amd64' },
      { name: 'graviton', platforms: ['linux/arm64', 'linux/arm/v7'], native: 'linux/arm64' }
    ])
  })

  it('a platform configured by hand (*) is not the node\'s own', () => {
    expect(parseBuilderNodes(PINNED)).toEqual([{ name: 'pinned0', platforms: ['linux/arm64', 'linux/amd64', 'linux/amd64/v2', 'linux/386'], native: 'linux/amd64' }])
  })

  it('a builder that was not booted lists no platforms', () => {
    expect(parseBuilderNodes('Name: x\nDriver: remote\n\nNodes:\nName: x0\nEndpoint: tcp://h:1\nStatus: inactive\n')).toEqual([{ name: 'x0', platforms: [], native: '' }])
    expect(parseBuilderNodes('Name: x\nDriver: remote\n')).toEqual([])
  })
})

describe('sdkPlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm/v7', undefined],
    ['linux/s390x', undefined],
    ['windows/amd64', undefined]
  ])('%s -> %s', (p, want) => {
    expect(sdkPlatform(p)).toBe(want)
  })
})

function node(name: string, platforms: string[]): BuilderNode {
  return { name, platforms, native: platforms[0] ?? '' }
}

describe('planBuilderPlatforms: a target is buildable when listed, or when the SDK runs natively on the node', () => {
  const amd = node('n0', ['linux/amd64', 'linux/amd64/v2', 'linux/386'])
  const arm = node('n1', ['linux/arm64', 'linux/arm/v7'])
  const qemu = node('n0', ['linux/amd64', 'linux/arm64', 'linux/riscv64'])
  const s390x = node('z', ['linux/s390x'])
  const s390xWithArm = node('z', ['linux/s390x', 'linux/arm64'])

  it.each<[string, BuilderNode[], Platform[], string[]]>([
    ['amd64 node, amd64 target', [amd], ['linux/amd64'], ['linux/amd64: built natively on builder "b" (linux/amd64)']],
    [
      'amd64 node without arm64 listed: cross-compiled, not an error',
      [amd],
      ['linux/amd64', 'linux/arm64'],
      [
        'linux/amd64: built natively on builder "b" (linux/amd64)',
        'linux/arm64: not listed by builder "b"; it will be cross-compiled on linux/amd64, since nothing in the generated Dockerfile runs on the target platform'
      ]
    ],
    ['amd64 node that lists arm64 (QEMU): still cross-compiled there', [qemu], ['linux/arm64'], ['linux/arm64: cross-compiled on builder "b" (linux/amd64)']],
    ['arm64 node, amd64 target', [arm], ['linux/amd64'], ['linux/amd64: not listed by builder "b"; it will be cross-compiled on linux/arm64, since nothing in the generated Dockerfile runs on the target platform']],
    [
      'one native node per target',
      [amd, arm],
      ['linux/amd64', 'linux/arm64'],
      ['linux/amd64: built natively on node "n0" of builder "b" (linux/amd64)', 'linux/arm64: built natively on node "n1" of builder "b" (linux/arm64)']
    ],
    ['a node that was not booted: nothing to check', [node('x', [])], ['linux/arm64'], ['builder "b" lists no platforms, so its platforms were not checked']]
  ])('%s', (_name, nodes, targets, notes) => {
    expect(planBuilderPlatforms('b', nodes, targets)).toEqual({ notes })
  })

  it.each<[string, BuilderNode[], Platform[], RegExp]>([
    ['an s390x builder', [s390x], ['linux/amd64'], /^linux\/amd64 would be built on builder "b", which runs on linux\/s390x: the \.NET SDK.*runs only on linux\/amd64 or linux\/arm64/],
    ['an s390x node that lists arm64 under QEMU: the SDK would still run on s390x', [s390xWithArm], ['linux/arm64'], /^linux\/arm64 would be built on builder "b", which runs on linux\/s390x/],
    ['a target nobody lists goes to the first node', [s390x, arm], ['linux/amd64'], /^linux\/amd64 would be built on node "z" of builder "b", which runs on linux\/s390x/]
  ])('error before the build: %s', (_name, nodes, targets, error) => {
    const plan = planBuilderPlatforms('b', nodes, targets)
    expect(plan.error).toMatch(error)
    expect(plan.error).toContain('Use a builder with a linux/amd64 or linux/arm64 node')
  })

  it('an arm64 target goes to the arm64 node even when an s390x node comes first', () => {
    expect(planBuilderPlatforms('b', [s390x, arm], ['linux/arm64'])).toEqual({ notes: ['linux/arm64: built natively on node "n1" of builder "b" (linux/arm64)'] })
  })
})

describe('qemuForGivenBuilder', () => {
  it('keeps the decision without a given builder', () => {
    const d = { install: ['arm64' as const], reason: 'installed for arm64' }
    expect(qemuForGivenBuilder('', d)).toBe(d)
  })

  it('sets up nothing for a given builder, even with setup-qemu: true', () => {
    expect(qemuForGivenBuilder('remote-arm', { install: ['arm64'], reason: 'installed for arm64' })).toEqual({
      install: [],
      reason: 'not set up: the given builder "remote-arm" is used as is (nothing runs on the target platform)'
    })
  })
})
