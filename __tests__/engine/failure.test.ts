// A failed build reads like its cause: dotnet's own error lines first (deduplicated, with the
// platform), or the engine's / registry's words; never BuildKit's echo of the RUN script or
// .NET stack frames in the first lines.
import { engineAdvice, engineErrors, failureReport, lastMeaningfulLines, publishErrors } from '../../src/engine/diagnose.js'

const SCRIPT_ECHO =
  '#21 [linux/amd64 publish 4/4] RUN --mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=shared     export DOTNET_TieredPGO=0;     records=$(find . -name project.nuget.cache -type f); (cd /build/amd64 && exec dotnet publish ...) > /tmp/publish-amd64.log 2>&1 & pid_amd64=$!;'

// The shape of a real failure: both targets built the library, one hit an MSBuild task exception.
const RACE_LOG = [
  SCRIPT_ECHO,
  '#21 38.80 ==> linux/amd64: published',
  '#21 38.80   Shop.Data -> /build/amd64/src/Shop.Data/bin/Release/net10.0/Shop.Data.dll',
  '#21 38.80 ==> linux/arm64: dotnet publish failed',
  "#21 38.80 /usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/targets/Microsoft.NET.Publish.targets(353,5): error MSB4018: The \"GenerateDepsFile\" task failed unexpectedly. [/build/arm64/src/Shop.Data/Shop.Data.csproj]",
  "#21 38.80 /usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/targets/Microsoft.NET.Publish.targets(353,5): error MSB4018: System.IO.IOException: The process cannot access the file '/build/arm64/src/Shop.Data/bin/Release/net10.0/Shop.Data.deps.json' because it is being used by another process. [/build/arm64/src/Shop.Data/Shop.Data.csproj]",
  '#21 38.80    at Microsoft.Win32.SafeHandles.SafeFileHandle.Init(String path, FileMode mode)',
  '#21 38.80    at Microsoft.NET.Build.Tasks.GenerateDepsFile.ExecuteCore()',
  "#21 38.80 /usr/share/dotnet/sdk/10.0.401/Sdks/Microsoft.NET.Sdk/targets/Microsoft.NET.Publish.targets(353,5): error MSB4018: The \"GenerateDepsFile\" task failed unexpectedly. [/build/arm64/src/Shop.Data/Shop.Data.csproj]",
  '#21 ERROR: process "/bin/sh -c export DOTNET_TieredPGO=0; ..." did not complete successfully: exit code: 1',
  '------',
  ' > [linux/amd64 publish 4/4] RUN --mount=type=cache,id=aot-buildx-nuget ... export DOTNET_TieredPGO=0;     records=$(find . -name project.nuget.cache -type f);',
  '38.80    at Microsoft.Build.BackEnd.TaskBuilder.ExecuteInstantiatedTask()',
  '------',
  'Dockerfile.aot:42',
  '--------------------',
  '  41 |     RUN --mount=type=cache,id=aot-buildx-nuget \\',
  '  42 | >>>     export DOTNET_TieredPGO=0; \\',
  '--------------------',
  'ERROR: failed to solve: process "/bin/sh -c export DOTNET_TieredPGO=0; ..." did not complete successfully: exit code: 1'
].join('\n')

const CS_LOG = [
  SCRIPT_ECHO,
  '#21 20.01 ==> linux/amd64: dotnet publish failed',
  '#21 20.01 /build/amd64/src/Shop.Data/Catalog.cs(9,37): error CS1002: ; expected [/build/amd64/src/Shop.Data/Shop.Data.csproj]',
  '#21 20.01 ==> linux/arm64: dotnet publish failed',
  '#21 20.01 /build/arm64/src/Shop.Data/Catalog.cs(9,37): error CS1002: ; expected [/build/arm64/src/Shop.Data/Shop.Data.csproj]',
  '#21 ERROR: process "/bin/sh -c ..." did not complete successfully: exit code: 1',
  'ERROR: failed to solve: process "/bin/sh -c ..." did not complete successfully: exit code: 1'
].join('\n')

const PUSH_LOG = [
  '#26 exporting to image',
  '#26 exporting layers 1.3s done',
  '#26 exporting manifest sha256:bfc35e3f3cd0fa05abb731a7a622bc49be6812e26c5fb72cc6f264c3aa88621d 0.5s done',
  '#26 pushing layers',
  '#26 ERROR: failed to push 127.0.0.1:5999/shop/api:1: failed to do request: Head "http://127.0.0.1:5999/v2/shop/api/blobs/sha256:2b8e": dial tcp 127.0.0.1:5999: connect: connection refused',
  '------',
  ' > exporting to image:',
  '------',
  'ERROR: failed to solve: failed to push 127.0.0.1:5999/shop/api:1: failed to do request: Head "http://127.0.0.1:5999/v2/shop/api/blobs/sha256:2b8e": dial tcp 127.0.0.1:5999: connect: connection refused'
].join('\n')

describe('publishErrors', () => {
  it("takes dotnet's error lines once each, with the platform, paths relative to the context", () => {
    const e = publishErrors(CS_LOG)
    expect(e).toEqual([{ line: 'src/Shop.Data/Catalog.cs(9,37): error CS1002: ; expected [src/Shop.Data/Shop.Data.csproj]', platforms: ['linux/amd64', 'linux/arm64'] }])
  })

  it('leaves out stack frames, the script echo and BuildKit’s summary lines', () => {
    const lines = publishErrors(RACE_LOG).map((e) => e.line)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain('error MSB4018: The "GenerateDepsFile" task failed unexpectedly. [src/Shop.Data/Shop.Data.csproj]')
    expect(lines.join('\n')).not.toMatch(/\bat Microsoft|TieredPGO|did not complete/)
  })

  it('finds nothing in a log without dotnet errors', () => {
    expect(publishErrors(PUSH_LOG)).toEqual([])
  })
})

describe('engineErrors and engineAdvice', () => {
  it('quotes what the registry said, once', () => {
    const e = engineErrors(PUSH_LOG)
    expect(e).toHaveLength(1)
    expect(e[0]).toMatch(/^failed to push 127\.0\.0\.1:5999\/shop\/api:1: .*connection refused$/)
  })

  it.each([
    ['failed to push r/x:1: dial tcp 127.0.0.1:5999: connect: connection refused', /did not answer/],
    ['failed to push ghcr.io/o/x:1: unexpected status from HEAD request: 401 Unauthorized', /login-action/],
    ['failed to push ghcr.io/o/x:1: unexpected status from POST request: 403 Forbidden', /packages: write/],
    ['failed to push r/x:1: name unknown: repository name not known to registry', /repository/],
    ['Unavailable: error reading from server: EOF', /engine .* stopped answering/],
    ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', /engine .* stopped answering/],
    ['failed to resolve source metadata for mcr.microsoft.com/dotnet/sdk:10.0-noble-aot: dial tcp: lookup mcr.microsoft.com: no such host', /sdk-image/]
  ])('%s', (cause, advice) => {
    expect(engineAdvice(cause)).toMatch(advice)
  })
})

describe('failureReport', () => {
  it("a failing publish: the first line names the platform, the next is dotnet's error; no script echo or stack frame in the first lines", () => {
    const r = failureReport(RACE_LOG, 1, 'shop/src/Shop.Api/Shop.Api.csproj')
    const lines = r.message.split('\n')
    expect(lines[0]).toBe('dotnet publish failed for linux/arm64:')
    expect(lines[1]).toContain('error MSB4018')
    expect(lines[1]).toContain('(linux/arm64)')
    const head = lines.slice(0, 4).join('\n')
    expect(head).not.toMatch(/TieredPGO|RUN --mount|\bat Microsoft/)
    expect(r.markdown.split('<details>')[0]).not.toMatch(/TieredPGO|RUN --mount|\bat Microsoft/)
    expect(r.markdown).toContain('`linux/arm64`')
  })

  it('a compile error leads with its error CS line', () => {
    const r = failureReport(CS_LOG, 1, 'p')
    expect(r.message.split('\n')[1]).toBe('  src/Shop.Data/Catalog.cs(9,37): error CS1002: ; expected [src/Shop.Data/Shop.Data.csproj] (linux/amd64, linux/arm64)')
  })

  it('a registry that is down: the cause comes first, with the fix, before any export progress', () => {
    const r = failureReport(PUSH_LOG, 1, 'p')
    const lines = r.message.split('\n')
    expect(lines[0]).toMatch(/^failed to push 127\.0\.0\.1:5999.*connection refused$/)
    expect(lines[1]).toMatch(/^Fix: the registry did not answer/)
  })

  it('text from the log cannot become Markdown in the summary', () => {
    const log = '#9 12.77 qemu-aarch64: <img src=x onerror=alert(1)> Segmentation fault\n#9 12.77 /build/arm64/src/`A`/B.cs(1,1): error CS0001: **bold** @someone [x](http://e) [/build/arm64/src/A/A.csproj]'
    const r = failureReport(log, 1, 'src/`evil`/@team.csproj')
    // Outside code spans and the fenced block (where Markdown renders nothing), no HTML survives.
    const outside = r.markdown.replace(/<details>[\s\S]*<\/details>/, '').replace(/(`+)[\s\S]*?\1/g, '')
    expect(outside).not.toMatch(/<img|\*\*bold|\[x\]\(/)
    expect(r.markdown).toContain('``src/`evil`/@team.csproj``')
    // Every log-derived line outside the fenced block is inside a code span.
    for (const l of r.markdown.replace(/<details>[\s\S]*$/, '').split('\n').filter((x) => x.startsWith('- '))) expect(l).toMatch(/^- `+/)
  })
})

describe('lastMeaningfulLines', () => {
  it('drops the RUN script echo, its error report and stack frames', () => {
    const tail = lastMeaningfulLines(RACE_LOG).join('\n')
    expect(tail).not.toMatch(/TieredPGO|\bat Microsoft|^\s*\d+ \|/m)
    expect(tail).toContain('error MSB4018')
  })
})

describe('failureReport after a failed push', () => {
  it('says which platforms were built though not pushed, right after the cause', () => {
    const r = failureReport(PUSH_LOG, 1, 'p', ['linux/amd64', 'linux/arm64'])
    const lines = r.message.split('\n')
    expect(lines[0]).toMatch(/^failed to push/)
    expect(lines[2]).toBe('Built, but not pushed: linux/amd64, linux/arm64 (the sizes outputs are set).')
    expect(r.markdown).toContain('Built, but not pushed: linux/amd64, linux/arm64.')
  })
})
