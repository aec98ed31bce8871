import { diagnose, failedStage, failureReport, lastMeaningfulLines } from '../../src/engine/diagnose.js'

describe('diagnose', () => {
  it.each([
    [
      'clang missing',
      "#14 41.27 /root/.nuget/packages/microsoft.dotnet.ilcompiler/10.0.0/build/Microsoft.NETCore.Native.Unix.targets(207,5): error : Platform linker ('clang') not found in PATH. Ensure you have all the required prerequisites documented at https://aka.ms/nativeaot-prerequisites. [/src/TodoApi.csproj]",
      /clang/,
      /Platform linker \('clang'\) not found/
    ],
    ['crti.o', '#14 88.10 /usr/bin/aarch64-linux-gnu-ld: cannot find crti.o: No such file or directory', /C runtime/, /cannot find crti\.o/],
    ['Scrt1.o', '#14 88.10 /usr/bin/ld: cannot find Scrt1.o: No such file or directory', /C runtime/, /cannot find Scrt1\.o/],
    ['host ld for arm64', '#14 90.02 /usr/bin/ld: unrecognised emulation mode: aarch64linux', /host linker/, /unrecognised emulation mode: aarch64linux/],
    [
      'host objcopy',
      "#14 95.55 objcopy: Unable to recognise the format of the input file `/src/obj/Release/net10.0/linux-arm64/native/TodoApi'",
      /objcopy/,
      /objcopy: Unable to recognise the format of the input file/
    ],
    [
      'NETSDK1203',
      '#14 3.21 /usr/share/dotnet/sdk/10.0.100/Sdks/Microsoft.NET.Sdk/targets/Microsoft.NET.Publish.targets(60,5): error NETSDK1203: Ahead-of-time compilation is not supported for the target runtime identifier \'\'. [/src/TodoApi.csproj]',
      /RuntimeIdentifier/,
      /NETSDK1203/
    ],
    [
      'NETSDK1047',
      "#14 2.04 /usr/share/dotnet/sdk/9.0.100/Sdks/Microsoft.NET.Sdk/targets/Microsoft.PackageDependencyResolution.targets(266,5): error NETSDK1047: Assets file '/src/obj/project.assets.json' doesn't have a target for 'net9.0/linux-arm64'. Ensure that restore has run and that you have included 'net9.0' in the TargetFrameworks for your project. You may also need to include 'linux-arm64' in your project's RuntimeIdentifiers. [/src/TodoApi.csproj]",
      /RID/,
      /NETSDK1047/
    ],
    ['QEMU crash', '#9 12.77 qemu: uncaught target signal 11 (Segmentation fault) - core dumped', /QEMU/, /qemu: uncaught target signal/],
    ['exec format error', '#9 0.151 exec /app/x: exec format error', /another CPU/, /exec format error/],
    ['glibc too new', "/app/TodoApi: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /app/TodoApi)", /glibc/, /GLIBC_2\.38' not found/],
    ['HEALTHCHECK on an old engine', 'ERROR: failed to solve: dockerfile parse error on line 402: unknown flag: start-interval', /frontend is older than 1\.6/, /unknown flag: start-interval/]
  ])('%s', (_label, line, cause, match) => {
    const log = ['#14 [publish 5/5] RUN dotnet publish ...', line, '#14 ERROR: process "/bin/sh -c dotnet publish" did not complete successfully: exit code: 1'].join('\n')
    const found = diagnose(log)
    expect(found.length).toBeGreaterThanOrEqual(1)
    const d = found.find((x) => match.test(x.match))
    expect(d).toBeDefined()
    expect(d?.cause).toMatch(cause)
    expect(d?.cause.length).toBeGreaterThan(20)
    expect(d?.fix.length).toBeGreaterThan(20)
  })

  it('finds nothing in an unrelated failure', () => {
    const log = [
      '#12 [publish 4/5] COPY --link . .',
      '#12 DONE 0.2s',
      "#14 12.31 /src/Program.cs(3,1): error CS0103: The name 'Foo' does not exist in the current context [/src/TodoApi.csproj]",
      '#14 ERROR: process "/bin/sh -c dotnet publish" did not complete successfully: exit code: 1'
    ].join('\n')
    expect(diagnose(log)).toEqual([])
  })

  it('finds nothing in an empty log', () => {
    expect(diagnose('')).toEqual([])
  })

  it('reports each recognised failure of a log once', () => {
    const log = ['/usr/bin/ld: cannot find crti.o: No such file or directory', '/usr/bin/ld: cannot find crti.o: No such file or directory', 'exec /bin/sh: exec format error'].join('\n')
    expect(diagnose(log).map((d) => d.match)).toEqual(['cannot find crti.o', 'exec format error'])
  })
})

describe('lastMeaningfulLines', () => {
  const LOG = [
    '#0 building with "default" instance using docker driver',
    '',
    '#1 [internal] load build definition from Dockerfile.aot',
    '#1 transferring dockerfile: 2.31kB done',
    '#1 DONE 0.0s',
    '#3 [internal] load metadata for mcr.microsoft.com/dotnet/sdk:10.0-noble-aot',
    '#3 DONE 0.8s',
    '#5 [restore 1/4] FROM mcr.microsoft.com/dotnet/sdk:10.0-noble-aot@sha256:abc',
    '#5 resolve mcr.microsoft.com/dotnet/sdk:10.0-noble-aot@sha256:abc 0.0s done',
    '#5 sha256:4f4fb700ef54 32B / 32B 0.1s done',
    '#5 extracting sha256:4f4fb700ef54 done',
    '#5 DONE 0.1s',
    '#7 CACHED',
    '#14 [publish 5/5] RUN dotnet publish',
    '#14 2.345',
    '#14 41.27 error : Platform linker not found',
    '#14 ERROR: process "/bin/sh -c dotnet publish" did not complete successfully: exit code: 1',
    '------',
    'ERROR: failed to solve: process "/bin/sh -c dotnet publish" did not complete successfully: exit code: 1'
  ].join('\n')

  it('drops BuildKit progress noise and keeps the error lines', () => {
    const got = lastMeaningfulLines(LOG)
    for (const noise of ['#5 DONE 0.1s', '#1 [internal] load build definition from Dockerfile.aot', '#3 [internal] load metadata for mcr.microsoft.com/dotnet/sdk:10.0-noble-aot', '#7 CACHED', '#14 2.345', '', '#5 extracting sha256:4f4fb700ef54 done']) {
      expect(got).not.toContain(noise)
    }
    expect(got).toContain('#14 41.27 error : Platform linker not found')
    expect(got[got.length - 1]).toBe('ERROR: failed to solve: the RUN step did not complete successfully: exit code: 1')
  })

  it('keeps only the last N, in order', () => {
    expect(lastMeaningfulLines(LOG, 3)).toEqual([
      '#14 41.27 error : Platform linker not found',
      '#14 ERROR: the RUN step did not complete successfully: exit code: 1',
      'ERROR: failed to solve: the RUN step did not complete successfully: exit code: 1'
    ])
  })

  it('splits CRLF logs', () => {
    expect(lastMeaningfulLines('a\r\n#2 DONE 1.0s\r\nb\r\n', 5)).toEqual(['a', 'b'])
  })

  it('defaults to 25 lines', () => {
    const log = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n')
    const got = lastMeaningfulLines(log)
    expect(got).toHaveLength(25)
    expect(got[0]).toBe('line 15')
  })
})

describe('a private feed that refuses the restore', () => {
  // As BuildKit printed it for the corp fixture against an nginx feed with basic auth.
  const log = [
    '#18 [linux/amd64 restore 6/6] RUN --mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=locked     dotnet restore src/Corp.Orders.Cli/Corp.Orders.Cli.csproj',
    '#18 1.202   Determining projects to restore...',
    '#18 7.755 /src/src/Corp.Orders.Cli/Corp.Orders.Cli.csproj : error NU1301: Unable to load the service index for source http://172.17.0.1:5555/v3/index.json.',
    '#18 7.755 /src/src/Corp.Orders.Cli/Corp.Orders.Cli.csproj : error NU1301:   Response status code does not indicate success: 401 (Unauthorized).',
    '#18 13.81   Failed to restore /src/src/Corp.Orders.Cli/Corp.Orders.Cli.csproj (in 11.95 sec).',
    '#18 ERROR: process "/bin/sh -c dotnet restore" did not complete successfully: exit code: 1'
  ].join('\n')

  it('says the feed refused the credentials and names the inputs, not the generic unreachable-source advice', () => {
    const found = diagnose(log)
    expect(found.map((d) => d.cause)).toEqual(['a NuGet feed refused the restore (401 or 403): the build has no credentials, or wrong ones, for the source named in the error above.'])
    expect(found[0]?.fix).toContain('"secrets" or "secret-envs"')
  })

  it('leads with dotnet restore (the failed step) and the line that names the feed', () => {
    const r = failureReport(log, 1, 'src/Corp.Orders.Cli/Corp.Orders.Cli.csproj')
    const [first, second] = r.message.split('\n')
    expect(first).toBe('dotnet restore failed:')
    expect(second).toBe('  src/Corp.Orders.Cli/Corp.Orders.Cli.csproj : error NU1301: Unable to load the service index for source http://172.17.0.1:5555/v3/index.json.')
    expect(r.markdown).toContain('dotnet restore failed:')
  })

  it('keeps the generic advice for a source that cannot be reached at all', () => {
    const down = log.replace('Response status code does not indicate success: 401 (Unauthorized).', 'Connection refused (172.17.0.1:5555)')
    expect(diagnose(down).map((d) => d.cause)).toEqual(['NuGet could not reach a package source from inside the build.'])
  })

  it('names the failed stage', () => {
    expect(failedStage(log)).toBe('restore')
    expect(failedStage('#30 [publish 3/5] RUN sh /usr/local/bin/aot-publish\n#30 ERROR: process did not complete')).toBe('publish')
    expect(failedStage('no step failed')).toBeUndefined()
  })
})
