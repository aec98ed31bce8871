// The builder the action creates: moby/buildkit cannot be pulled on the machines these tests
// run on, so the exact `buildx create` argv is the proof (no end-to-end build has run it yet).
import { builderNetwork, builderNetworkCreateArgv, createBuilderArgv, DRIVER_OPTS_ACCEPTED, readDriverOpt, wantsConfiguredBuilder } from '../../src/engine/ownbuilder.js'

const HEAD = ['buildx', 'create', '--name', 'aot-buildx-1', '--driver', 'docker-container']

describe('createBuilderArgv', () => {
  it('on a trusted event, creates a docker-container builder on the host network by default, so it reaches a registry on localhost', () => {
    expect(createBuilderArgv('aot-buildx-1', [], '', true)).toEqual([...HEAD, '--driver-opt', 'network=host', '--bootstrap'])
  })

  // Untrusted events may build a pull request's code: its restore and publish steps would reach
  // every service bound to the runner's 127.0.0.1, which the smoke test keeps out of reach too.
  it('on an untrusted event, the builder is on a bridge network of its own (not the host, not the default bridge), unless the workflow names one', () => {
    expect(createBuilderArgv('aot-buildx-1', [], '', false)).toEqual([...HEAD, '--driver-opt', 'network=aot-buildx-1', '--bootstrap'])
    expect(builderNetwork('aot-buildx-1', [], false)).toBe('aot-buildx-1')
    expect(builderNetworkCreateArgv('aot-buildx-1')).toEqual(['network', 'create', '--driver', 'bridge', '--label', 'io.github.aot-buildx.builder=aot-buildx-1', 'aot-buildx-1'])
    expect(builderNetwork('aot-buildx-1', ['network=host'], false)).toBeUndefined()
    expect(builderNetwork('aot-buildx-1', [], true)).toBe('host')
    expect(createBuilderArgv('aot-buildx-1', [], '/rt/buildkitd.toml', false)).not.toContain('network=host')
    // driver-opts are the workflow author's: their network=host stands on any event.
    expect(createBuilderArgv('aot-buildx-1', ['network=host'], '', false)).toEqual([...HEAD, '--driver-opt', 'network=host', '--bootstrap'])
  })

  it("a user's own network= replaces the default, also inside a line of several options", () => {
    expect(createBuilderArgv('aot-buildx-1', ['network=bridge'], '', true)).toEqual([...HEAD, '--driver-opt', 'network=bridge', '--bootstrap'])
    expect(createBuilderArgv('aot-buildx-1', ['image=moby/buildkit:v0.20.0,network=my-net'], '', true)).toEqual([...HEAD, '--driver-opt', 'image=moby/buildkit:v0.20.0,network=my-net', '--bootstrap'])
  })

  it('passes driver-opts in the order given, one --driver-opt each, verbatim (buildx reads each as CSV)', () => {
    const opts = ['image=moby/buildkit:v0.20.0', '"env.NO_PROXY=localhost,127.0.0.1"', 'memory=4g', 'env.HTTP_PROXY=http://proxy:3128']
    expect(createBuilderArgv('aot-buildx-1', opts, '', true)).toEqual([
      ...HEAD,
      '--driver-opt',
      'network=host',
      '--driver-opt',
      'image=moby/buildkit:v0.20.0',
      '--driver-opt',
      '"env.NO_PROXY=localhost,127.0.0.1"',
      '--driver-opt',
      'memory=4g',
      '--driver-opt',
      'env.HTTP_PROXY=http://proxy:3128',
      '--bootstrap'
    ])
  })

  it('passes a buildkitd config file as --buildkitd-config (the spelling since buildx 0.13, the oldest this action runs)', () => {
    expect(createBuilderArgv('aot-buildx-1', [], '/ws/.github/buildkitd.toml', true)).toEqual([...HEAD, '--driver-opt', 'network=host', '--buildkitd-config', '/ws/.github/buildkitd.toml', '--bootstrap'])
    expect(createBuilderArgv('aot-buildx-1', ['cpu-shares=512'], '/tmp/rt/aot-buildx-x/buildkitd.toml', true)).toEqual([
      ...HEAD,
      '--driver-opt',
      'network=host',
      '--driver-opt',
      'cpu-shares=512',
      '--buildkitd-config',
      '/tmp/rt/aot-buildx-x/buildkitd.toml',
      '--bootstrap'
    ])
  })
})

describe('readDriverOpt', () => {
  it("reads the docker-container driver's keys, env.<NAME> and several fields per line", () => {
    expect(readDriverOpt('image=moby/buildkit:buildx-stable-1')).toEqual({ fields: [{ key: 'image', value: 'moby/buildkit:buildx-stable-1' }] })
    expect(readDriverOpt('env.BUILDKIT_STEP_LOG_MAX_SIZE=10485760,default-load=true')).toEqual({
      fields: [
        { key: 'env.BUILDKIT_STEP_LOG_MAX_SIZE', value: '10485760' },
        { key: 'default-load', value: 'true' }
      ]
    })
    expect(readDriverOpt('"env.NO_PROXY=a,b",restart-policy=always')).toEqual({
      fields: [
        { key: 'env.NO_PROXY', value: 'a,b' },
        { key: 'restart-policy', value: 'always' }
      ]
    })
    for (const k of ['network', 'memory', 'memory-swap', 'cpu-period', 'cpu-quota', 'cpu-shares', 'cpuset-cpus', 'cpuset-mems', 'cgroup-parent', 'provenance-add-gha', 'allow-untrusted-image']) {
      expect(readDriverOpt(`${k}=1`)).toEqual({ fields: [{ key: k, value: '1' }] })
    }
  })

  it('names what is wrong, never a value', () => {
    expect(readDriverOpt('mem=4g')).toEqual({ problem: 'names "mem", which is not an option of the docker-container driver' })
    expect(readDriverOpt('env.=x')).toHaveProperty('problem', 'names "env.", which is not an option of the docker-container driver')
    expect(readDriverOpt('ghp_secrettoken')).toEqual({ problem: 'has no "=" in a field (a field of 15 characters)' })
    expect(readDriverOpt('image=x,')).toEqual({ problem: 'has no "=" in a field (an empty field)' })
    expect(readDriverOpt('"env.A=1')).toEqual({ problem: 'has unbalanced double quotes' })
    expect(readDriverOpt('env.A=say "hi"')).toEqual({ problem: 'has unbalanced double quotes' })
  })

  it('the accepted text lists every key, with the buildx release newer keys need', () => {
    expect(DRIVER_OPTS_ACCEPTED).toContain('image, network, memory')
    expect(DRIVER_OPTS_ACCEPTED).toContain('env.<NAME>, default-load (buildx 0.14+), provenance-add-gha (buildx 0.30+), allow-untrusted-image (buildx 0.36+)')
  })
})

describe('wantsConfiguredBuilder', () => {
  it('any of the three inputs asks for a configured builder', () => {
    const none = { driverOpts: [], buildkitdConfig: '', buildkitdConfigInline: '' }
    expect(wantsConfiguredBuilder(none)).toBe(false)
    expect(wantsConfiguredBuilder({ ...none, driverOpts: ['memory=4g'] })).toBe(true)
    expect(wantsConfiguredBuilder({ ...none, buildkitdConfig: '/ws/b.toml' })).toBe(true)
    expect(wantsConfiguredBuilder({ ...none, buildkitdConfigInline: '[registry."localhost:5000"]\nhttp = true' })).toBe(true)
  })
})
