// Writes a repository of many apps for the discovery benchmark: two thirds web APIs, one third
// console apps, each referencing two of ten shared libraries, central package management,
// props above the projects, a test project per library (an executable: not an app), a tool
// that does not publish with Native AOT, docs, and a .sln that lists every project.
// node bench/gen-monorepo.mjs DIR [APPS=100]
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

export function generateMonorepo(dir, apps = 100, libs = 10) {
  fs.rmSync(dir, { recursive: true, force: true })
  const write = (f, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true })
    fs.writeFileSync(path.join(dir, f), text)
  }
  write('global.json', '{ "sdk": { "version": "10.0.100", "rollForward": "latestFeature" } }\n')
  write('Directory.Build.props', '<Project>\n  <PropertyGroup>\n    <Nullable>enable</Nullable>\n    <ImplicitUsings>enable</ImplicitUsings>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n  </PropertyGroup>\n</Project>\n')
  write('Directory.Packages.props', '<Project>\n  <ItemGroup>\n    <PackageVersion Include="Microsoft.Extensions.Logging.Abstractions" Version="10.0.0" />\n  </ItemGroup>\n</Project>\n')
  const projects = []
  for (let l = 0; l < libs; l++) {
    const name = `Shared.Lib${String(l).padStart(2, '0')}`
    write(`libs/${name}/${name}.csproj`, `<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <TargetFramework>net10.0</TargetFramework>\n    <IsAotCompatible>true</IsAotCompatible>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include="Microsoft.Extensions.Logging.Abstractions" />\n  </ItemGroup>\n</Project>\n`)
    write(`libs/${name}/Lib.cs`, `namespace ${name};\npublic static class Lib { public const string Name = "${name}"; }\n`)
    projects.push(`libs\\${name}\\${name}.csproj`)
  }
  for (let a = 0; a < apps; a++) {
    const web = a % 3 !== 2
    const name = `${web ? 'Api' : 'Tool'}${String(a).padStart(3, '0')}`
    const refs = [a % libs, (a * 7 + 3) % libs === a % libs ? (a + 1) % libs : (a * 7 + 3) % libs].map((l) => `Shared.Lib${String(l).padStart(2, '0')}`)
    write(
      `apps/${name}/${name}.csproj`,
      `<Project Sdk="Microsoft.NET.Sdk${web ? '.Web' : ''}">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <TargetFramework>net10.0</TargetFramework>\n    <PublishAot>true</PublishAot>\n    <InvariantGlobalization>true</InvariantGlobalization>\n  </PropertyGroup>\n  <ItemGroup>\n${refs.map((r) => `    <ProjectReference Include="..\\..\\libs\\${r}\\${r}.csproj" />`).join('\n')}\n  </ItemGroup>\n</Project>\n`
    )
    write(`apps/${name}/Program.cs`, web ? `var app = WebApplication.CreateSlimBuilder(args).Build();\napp.MapGet("/", () => "${name}");\napp.Run();\n` : `System.Console.WriteLine("${name}");\n`)
    projects.push(`apps\\${name}\\${name}.csproj`)
  }
  for (let l = 0; l < libs; l++) {
    const lib = `Shared.Lib${String(l).padStart(2, '0')}`
    const name = `${lib}.Tests`
    write(
      `tests/${name}/${name}.csproj`,
      `<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <TargetFramework>net10.0</TargetFramework>\n    <PublishAot>true</PublishAot>\n    <IsTestProject>true</IsTestProject>\n  </PropertyGroup>\n  <ItemGroup>\n    <ProjectReference Include="..\\..\\libs\\${lib}\\${lib}.csproj" />\n  </ItemGroup>\n</Project>\n`
    )
    write(`tests/${name}/Tests.cs`, `System.Console.WriteLine(${lib}.Lib.Name);\n`)
    projects.push(`tests\\${name}\\${name}.csproj`)
  }
  write('tools/Gen/Gen.csproj', '<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <TargetFramework>net10.0</TargetFramework>\n  </PropertyGroup>\n</Project>\n')
  write('tools/Gen/Program.cs', 'System.Console.WriteLine("gen");\n')
  projects.push('tools\\Gen\\Gen.csproj')
  write('docs/README.md', '# Services\n\nOne folder per service under apps/.\n')
  write('docs/operations.md', '# Operations\n\nEvery service listens on 8080.\n')
  const kind = '{9A19103F-16F7-4668-BE54-9A1E7A4F7556}'
  const sln = ['Microsoft Visual Studio Solution File, Format Version 12.00', '# Visual Studio Version 17']
  for (const p of projects) sln.push(`Project("${kind}") = "${path.basename(p.replace(/\\/g, '/'), '.csproj')}", "${p}", "{${randomUUID().toUpperCase()}}"`, 'EndProject')
  write('Mono.sln', `${sln.join('\r\n')}\r\n`)
  return { apps, libs, projects: projects.length }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, n] = process.argv.slice(2)
  if (dir === undefined) throw new Error('usage: node bench/gen-monorepo.mjs DIR [APPS]')
  console.log(generateMonorepo(path.resolve(dir), Number(n ?? '100')))
}
