import { msbuildError, parseMsbuildJson } from '../../src/dotnet/project.js'
import { DRIVER, evaluationImage, frameworkHint, gitFolderCandidates, parseResponse, preprocessPath, requestLine, SANDBOX_DIR, SANDBOX_ENV, sandboxArgv, sandboxLimits } from '../../src/dotnet/sandbox.js'
import { ProjectError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'

const spec = { image: 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot', workspace: '/home/runner/work/shop/shop', name: 'aot-buildx-eval-1-ab', user: '1001:127', limits: sandboxLimits(4, 16 * 1024 ** 3) }

/** The value that follows a flag, failing when the flag is absent. */
function flag(argv: string[], name: string): string {
  const i = argv.indexOf(name)
  if (i < 0) throw new Error(`${name} is not in ${argv.join(' ')}`)
  return argv[i + 1] ?? ''
}

describe('sandboxArgv: the evaluation container', () => {
  const argv = sandboxArgv(spec)
  const before = argv.slice(0, argv.indexOf(spec.image))

  it('is removed when it exits, has no network, a read-only root, no capability and no privilege gain', () => {
    expect(argv[0]).toBe('run')
    expect(before).toContain('--rm')
    expect(flag(argv, '--network')).toBe('none')
    expect(before).toContain('--read-only')
    expect(flag(argv, '--cap-drop')).toBe('ALL')
    expect(flag(argv, '--security-opt')).toBe('no-new-privileges')
    expect(flag(argv, '--log-driver')).toBe('none')
    expect(flag(argv, '--user')).toBe('1001:127')
    expect(flag(argv, '--name')).toBe('aot-buildx-eval-1-ab')
  })

  it('mounts the workspace read-only at its own path, and only a tmpfs is writable', () => {
    expect(flag(argv, '--mount')).toBe('type=bind,source=/home/runner/work/shop/shop,target=/home/runner/work/shop/shop,readonly')
    expect(before.filter((a) => a === '--mount' || a === '--volume' || a === '-v')).toEqual(['--mount'])
    const tmpfs = before.flatMap((a, i) => (a === '--tmpfs' ? [before[i + 1] ?? ''] : []))
    expect(tmpfs.map((t) => t.split(':')[0])).toEqual([SANDBOX_DIR, '/tmp'])
    for (const t of tmpfs) expect(t).toMatch(/:rw,nosuid,nodev,noexec,size=\d+m,mode=1777$/)
    expect(flag(argv, '--workdir')).toBe(SANDBOX_DIR)
  })

  it('limits memory (no swap), processes and CPUs', () => {
    expect(flag(argv, '--memory')).toBe(String(4 * 1024 ** 3))
    expect(flag(argv, '--memory-swap')).toBe(String(4 * 1024 ** 3))
    expect(flag(argv, '--pids-limit')).toBe('1024')
    expect(flag(argv, '--cpus')).toBe('4')
  })

  it('passes only its own variables: HOME and TMPDIR in the tmpfs, no runner variable, no value from the environment', () => {
    const envs = before.flatMap((a, i) => (a === '--env' || a === '-e' ? [before[i + 1] ?? ''] : []))
    expect(envs.every((e) => /^[A-Z_]+=/.test(e))).toBe(true)
    expect(envs.map((e) => e.split('=')[0]).sort()).toEqual([...Object.keys(SANDBOX_ENV), 'AOT_EVAL_JOBS'].sort())
    expect(envs).toContain(`HOME=${SANDBOX_DIR}/home`)
    expect(envs).toContain(`TMPDIR=${SANDBOX_DIR}/tmp`)
    expect(before.join(' ')).not.toMatch(/--env-file|--privileged|--cap-add|--network[= ]host|--pid[= ]|--ipc[= ]|--device|--volumes-from/)
  })

  it('runs our driver with bash in the image, nothing else after it', () => {
    expect(flag(argv, '--entrypoint')).toBe('bash')
    expect(argv.slice(argv.indexOf(spec.image))).toEqual([spec.image, '-c', DRIVER])
  })

  it('quotes a workspace path with a comma for the --mount syntax, and refuses / or the sandbox folder', () => {
    expect(flag(sandboxArgv({ ...spec, workspace: '/w/a,b' }), '--mount')).toBe('type=bind,"source=/w/a,b","target=/w/a,b",readonly')
    thrownBy(() => sandboxArgv({ ...spec, workspace: '/' }), ProjectError)
    thrownBy(() => sandboxArgv({ ...spec, workspace: `${SANDBOX_DIR}/x` }), ProjectError)
    thrownBy(() => sandboxArgv({ ...spec, workspace: 'rel' }), ProjectError)
  })
})

describe('hidden folders: the checkouts\' .git, where actions/checkout keeps the job\'s token', () => {
  it('each is covered by an empty read-only tmpfs, after the workspace mount', () => {
    const argv = sandboxArgv({ ...spec, hidden: ['/home/runner/work/shop/shop/.git', '/home/runner/work/shop/shop/sub,x/.git'] })
    const mounts = argv.flatMap((a, i) => (a === '--mount' ? [argv[i + 1] ?? ''] : []))
    expect(mounts).toEqual([
      'type=bind,source=/home/runner/work/shop/shop,target=/home/runner/work/shop/shop,readonly',
      'type=tmpfs,destination=/home/runner/work/shop/shop/.git,tmpfs-size=4096,readonly',
      'type=tmpfs,"destination=/home/runner/work/shop/shop/sub,x/.git",tmpfs-size=4096,readonly'
    ])
  })

  it('are looked for on the way from each project up to the workspace, and in its top folders', () => {
    expect(gitFolderCandidates('/ws', ['/ws/repo/src/App/App.csproj', '/ws/repo/src/Lib'], ['other'])).toEqual(
      ['/ws/.git', '/ws/other/.git', '/ws/repo/.git', '/ws/repo/src/.git', '/ws/repo/src/App/.git', '/ws/repo/src/App/App.csproj/.git', '/ws/repo/src/Lib/.git'].sort()
    )
    // A path outside the workspace adds nothing.
    expect(gitFolderCandidates('/ws', ['/elsewhere/App.csproj'], [])).toEqual(['/ws/.git'])
  })
})

describe('sandboxLimits and evaluationImage', () => {
  it('half the memory between 1 and 4 GiB, at least four evaluations at once', () => {
    expect(sandboxLimits(2, 7 * 1024 ** 3)).toEqual({ cpus: 2, memory: Math.floor(3.5 * 1024 ** 3), pids: 1024, jobs: 4 })
    expect(sandboxLimits(1, 1024 ** 3)).toEqual({ cpus: 1, memory: 1024 ** 3, pids: 1024, jobs: 4 })
    expect(sandboxLimits(8, 64 * 1024 ** 3)).toEqual({ cpus: 8, memory: 4 * 1024 ** 3, pids: 1024, jobs: 8 })
  })

  it('the sdk-image input, else the newest default SDK image', () => {
    expect(evaluationImage('')).toBe('mcr.microsoft.com/dotnet/sdk:10.0-noble-aot')
    expect(evaluationImage('mirror.example/sdk:10.0')).toBe('mirror.example/sdk:10.0')
  })

  it('a project that names net11.0 is evaluated by the .NET 11 SDK (the 10.0 one fails with NETSDK1045); older or unknown majors keep the default', () => {
    const csproj = (tfm: string): string => `<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup><TargetFramework>${tfm}</TargetFramework></PropertyGroup></Project>`
    expect(frameworkHint([csproj('net11.0')])).toBe(11)
    expect(frameworkHint([csproj('net8.0'), '<Project><PropertyGroup><TargetFrameworks>net10.0;NET11.0</TargetFrameworks></PropertyGroup></Project>'])).toBe(11)
    expect(frameworkHint([csproj('$(AppTfm)')])).toBeUndefined()
    expect(frameworkHint([csproj('netstandard2.0')])).toBeUndefined()
    expect(evaluationImage('', 11)).toBe('mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot')
    expect(evaluationImage('', 9)).toBe('mcr.microsoft.com/dotnet/sdk:10.0-noble-aot')
    expect(evaluationImage('', 12)).toBe('mcr.microsoft.com/dotnet/sdk:10.0-noble-aot')
    expect(evaluationImage('mirror.example/sdk:11.0', 11)).toBe('mirror.example/sdk:11.0')
  })
})

describe('requests and responses', () => {
  it('a request line carries every argument in base64: no space, newline or quote of a path reaches the shell as text', () => {
    const line = requestLine(7, 'i', ['msbuild', '/ws/a b/$(x)\n;rm -rf /.csproj', `-preprocess:${preprocessPath(7)}`])
    expect(line.endsWith('\n')).toBe(true)
    const [id, kind, ...args] = line.trim().split(' ')
    expect([id, kind]).toEqual(['7', 'i'])
    expect(args.every((a) => /^[A-Za-z0-9+/=]+$/.test(a))).toBe(true)
    expect(args.map((a) => Buffer.from(a, 'base64').toString())).toEqual(['msbuild', '/ws/a b/$(x)\n;rm -rf /.csproj', `-preprocess:${SANDBOX_DIR}/w/7.xml`])
  })

  it('a response is believed only in the shape the driver prints', () => {
    const b = (t: string): string => Buffer.from(t).toString('base64')
    expect(parseResponse(`{"id":3,"code":0,"out":"${b('{"Properties":{}}')}","err":""}`)).toEqual({ id: 3, code: 0, out: '{"Properties":{}}', err: '' })
    expect(parseResponse('{"id":3,"code":0,"out":"not base64!","err":""}')).toBeUndefined()
    expect(parseResponse('{"id":"3","code":0,"out":"","err":""}')).toBeUndefined()
    expect(parseResponse('{"id":3,"code":0,"out":"","err":"","extra":1}')).toBeUndefined()
    expect(parseResponse('Welcome to .NET')).toBeUndefined()
    expect(parseResponse('null')).toBeUndefined()
  })
})

describe('msbuildError: what a failed evaluation may say', () => {
  it('the MSBuild code, file:line and a clipped one-line message, not the rest of the output', () => {
    const out = [
      'Determining projects...',
      `/ws/Directory.Build.props(12,5): error MSB4019: The imported project "/ws/x/${'a'.repeat(2000)}.props" was not found. [/ws/src/App/App.csproj]`,
      '/ws/Directory.Build.props(13,5): error MSB4019: second error with ghp_secondline'
    ].join('\n')
    const got = msbuildError(out)
    expect(got).toMatch(/^MSB4019 at \/ws\/Directory\.Build\.props:12: The imported project "\/ws\/x\/a+… \(\d+ more characters\)$/)
    expect(got).not.toContain('ghp_secondline')
    expect(got).not.toContain('Determining')
    expect(got.length).toBeLessThan(400)
  })

  it('control characters in a message or a file name are escapes, never a new log line', () => {
    const got = msbuildError('/ws/a\u001b.props(1,1): error MSB4184: bad\r::set-output name=x::y')
    expect(got).toContain('\\x1b')
    expect(got).toContain('\\x0d')
    expect(Array.from(got, (c) => c.charCodeAt(0)).some((n) => n < 0x20)).toBe(false)
  })

  it('an error without a file (MSB1009), or output that is not MSBuild at all, is clipped to one line', () => {
    expect(msbuildError('MSBUILD : error MSB1009: Project file does not exist.\nSwitch: /ws/x.csproj')).toBe('MSB1009 at MSBUILD: Project file does not exist.')
    expect(msbuildError('A compatible .NET SDK was not found.\n\nRequested SDK version: 9.0.100')).toBe('A compatible .NET SDK was not found.')
    expect(msbuildError('')).toBe('no output')
  })

  it('parseMsbuildJson relays the summary, not the text, when there is no JSON', () => {
    const e = thrownBy(() => parseMsbuildJson(`Welcome\n/ws/D.props(2,3): error MSB4184: The expression cannot be evaluated.\n${'x'.repeat(5000)}`), ProjectError)
    expect(e.message).toBe('dotnet msbuild printed no JSON (MSB4184 at /ws/D.props:2: The expression cannot be evaluated.)')
  })
})
