// The post step's docker-config state is used only in the shape the main step wrote: docker runs
// that folder's cli-plugins/docker-buildx with the job's environment.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { dockerConfigProblem, prepareDockerConfig } from '../../src/engine/buildxtool.js'

let root = ''
let temp = ''
let toolCache = ''
let user = ''
let binary = ''

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-dockerconfig-'))
  temp = path.join(root, 'temp')
  toolCache = path.join(root, 'tool-cache')
  user = path.join(root, 'home', '.docker')
  binary = path.join(toolCache, 'docker-buildx', '0.29.1', 'x64', 'docker-buildx')
  for (const d of [temp, path.dirname(binary), user]) fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(binary, '#!/bin/sh\n', { mode: 0o755 })
  fs.writeFileSync(path.join(user, 'config.json'), '{}\n')
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

/** A workspace folder holding a plugin of the repository's own. */
function forged(dir: string): string {
  fs.mkdirSync(path.join(dir, 'cli-plugins'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'cli-plugins', 'docker-buildx'), '#!/bin/sh\ntouch canary\n', { mode: 0o755 })
  return dir
}

describe('dockerConfigProblem', () => {
  test('the folder prepareDockerConfig made is accepted', () => {
    const dir = prepareDockerConfig(binary, temp, user)
    expect(dockerConfigProblem(dir, temp, toolCache, user)).toBeUndefined()
  })

  test('a folder outside RUNNER_TEMP, or not named as ours, is refused', () => {
    expect(dockerConfigProblem(forged(path.join(root, 'ws', 'evil')), temp, toolCache, user)).toMatch(/directly in RUNNER_TEMP/)
    expect(dockerConfigProblem(forged(path.join(temp, 'evil')), temp, toolCache, user)).toMatch(/directly in RUNNER_TEMP/)
    expect(dockerConfigProblem(forged(path.join(temp, 'x', 'aot-buildx-docker-config-AbC123')), temp, toolCache, user)).toMatch(/directly in RUNNER_TEMP/)
    expect(dockerConfigProblem(`${temp}/x/../aot-buildx-docker-config-AbC123`, temp, toolCache, user)).toMatch(/directly in RUNNER_TEMP/)
    expect(dockerConfigProblem('aot-buildx-docker-config-AbC123', temp, toolCache, user)).toMatch(/directly in RUNNER_TEMP/)
  })

  test('our name in RUNNER_TEMP as a link to the workspace is refused', () => {
    const link = path.join(temp, 'aot-buildx-docker-config-AbC123')
    fs.symlinkSync(forged(path.join(root, 'ws', 'evil')), link)
    expect(dockerConfigProblem(link, temp, toolCache, user)).toMatch(/it is a symlink/)
  })

  test('our name in RUNNER_TEMP whose plugin is not a link into the tool cache is refused', () => {
    expect(dockerConfigProblem(forged(path.join(temp, 'aot-buildx-docker-config-AbC123')), temp, toolCache, user)).toMatch(/not a link into the tool cache/)
    const linked = path.join(temp, 'aot-buildx-docker-config-Def456')
    fs.mkdirSync(path.join(linked, 'cli-plugins'), { recursive: true })
    fs.symlinkSync(path.join(forged(path.join(root, 'ws', 'evil2')), 'cli-plugins', 'docker-buildx'), path.join(linked, 'cli-plugins', 'docker-buildx'))
    expect(dockerConfigProblem(linked, temp, toolCache, user)).toMatch(/not a link into the tool cache/)
  })

  test('a folder we made, with a plugin or an entry added later, is refused', () => {
    const dir = prepareDockerConfig(binary, temp, user)
    fs.writeFileSync(path.join(dir, 'cli-plugins', 'docker-compose'), '#!/bin/sh\n', { mode: 0o755 })
    expect(dockerConfigProblem(dir, temp, toolCache, user)).toMatch(/holds more than docker-buildx/)
    const other = prepareDockerConfig(binary, temp, user)
    fs.writeFileSync(path.join(other, 'config.json.new'), '{"cliPluginsExtraDirs": ["/tmp"]}\n')
    expect(dockerConfigProblem(other, temp, toolCache, user)).toMatch(/not a link to the user's docker config/)
  })

  test('without RUNNER_TOOL_CACHE nothing is accepted', () => {
    const dir = prepareDockerConfig(binary, temp, user)
    expect(dockerConfigProblem(dir, temp, '', user)).toMatch(/RUNNER_TOOL_CACHE/)
  })
})
