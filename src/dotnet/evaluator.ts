// The batch evaluator: a small MSBuild task, compiled in the evaluation sandbox by the SDK's
// own C# compiler, that evaluates many projects in one MSBuild process (one evaluation per
// project and framework, SDK imports parsed once, file lookups shared, several at a time) and
// returns each one's properties, items and imports together. Evaluation only, as
// `dotnet msbuild -getProperty/-getItem/-preprocess` did: no target of the repository runs.
// Pure: sandbox.ts's driver writes these files into the container and runs them; what they
// print is validated here.
import * as path from 'node:path'
import { ProjectError } from '../util/errors.js'
import { evaluationFromJson, repositoryImports, type ItemJson, type MsbuildEvaluation, type MsbuildJson } from './project.js'

/**
 * The request file, one value a line: configuration, workspace, `full` (items, imports, and
 * every ProjectReference inside the workspace and each framework of a multi-targeted project
 * followed) or `properties`, evaluations at once, the property names (;), the item types (;),
 * the item metadata (;), then one project path a line.
 */
export function evaluatorRequest(r: { configuration: string; workspace: string; full: boolean; jobs: number; properties: readonly string[]; items: readonly string[]; metadata: readonly string[]; projects: string[] }): string[] {
  const head = [r.configuration, r.workspace, r.full ? 'full' : 'properties', String(r.jobs), r.properties.join(';'), r.items.join(';'), r.metadata.join(';')]
  // One value a line: a line break would shift every line after it.
  if ([...head, ...r.projects].some((v) => /[\r\n]/.test(v))) throw new ProjectError('a value of the batch evaluation request has a line break')
  return [...head, ...r.projects]
}

/**
 * Whether one batch beats one `dotnet msbuild` per evaluation for `projects` projects. Each of
 * those is a process start (about a second of CPU), `jobs` at a time; the batch is one start
 * plus its compile (about 1.5 s) plus tens of milliseconds a project. So it pays once the
 * evaluations one by one would take more than two rounds of `jobs`: discovery without
 * changed-since evaluates each project once; with it, each app twice more (properties and
 * imports) and what it references, so at least three times the projects.
 */
export function batchPays(projects: number, full: boolean, jobs: number): boolean {
  return (full ? 3 * projects : projects) > 2 * jobs
}

/** Item metadata the facts read (project.ts itemFile). */
export const EVALUATOR_METADATA = ['FullPath', 'HintPath', 'CopyToOutputDirectory', 'CopyToPublishDirectory', 'DefiningProjectDirectory'] as const

/**
 * The task's source. Each evaluation is one JSON line: `project`, `framework`, and either
 * `Properties`/`Items` (the shape `-getProperty`/`-getItem` print) and `Imports`, or `error`,
 * MSBuild's own `file(line,col): error CODE: message`.
 */
export const EVALUATOR_CS = String.raw`using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.Build.Definition;
using Microsoft.Build.Evaluation;
using Microsoft.Build.Evaluation.Context;
using Microsoft.Build.Exceptions;
using Microsoft.Build.Execution;
using Microsoft.Build.Framework;

public sealed class AotEvaluate : Microsoft.Build.Utilities.Task
{
    [Required] public string Requests { get; set; }
    [Required] public string Output { get; set; }

    public override bool Execute()
    {
        var lines = File.ReadAllLines(Requests);
        var configuration = lines[0];
        var workspace = lines[1].TrimEnd('/') + "/";
        var full = lines[2] == "full";
        var jobs = Math.Max(1, int.Parse(lines[3]));
        var properties = lines[4].Split(';', StringSplitOptions.RemoveEmptyEntries);
        var itemTypes = lines[5].Split(';', StringSplitOptions.RemoveEmptyEntries);
        var metadata = lines[6].Split(';', StringSplitOptions.RemoveEmptyEntries);
        var collection = new ProjectCollection();
        // One context for every evaluation: file lookups, globs and SDK resolution are shared (the workspace is read-only).
        var context = EvaluationContext.Create(EvaluationContext.SharingPolicy.Shared);
        var seen = new ConcurrentDictionary<string, bool>();
        var level = new List<(string Project, string Framework)>();
        foreach (var p in lines.Skip(7).Where(l => l != ""))
            if (seen.TryAdd(p + "|", true)) level.Add((p, ""));
        using var output = new StreamWriter(Output);
        var gate = new object();
        while (level.Count > 0)
        {
            var next = new ConcurrentBag<(string, string)>();
            Parallel.ForEach(level, new ParallelOptions { MaxDegreeOfParallelism = jobs }, request =>
            {
                var buffer = new MemoryStream();
                using (var json = new Utf8JsonWriter(buffer))
                {
                    json.WriteStartObject();
                    json.WriteString("project", request.Project);
                    json.WriteString("framework", request.Framework);
                    try
                    {
                        var global = new Dictionary<string, string> { ["Configuration"] = configuration };
                        // A multi-targeted project has an empty TargetFramework until one is chosen.
                        if (request.Framework != "") global["TargetFramework"] = request.Framework;
                        var project = ProjectInstance.FromFile(request.Project, new ProjectOptions { GlobalProperties = global, ProjectCollection = collection, EvaluationContext = context });
                        json.WriteStartObject("Properties");
                        foreach (var name in properties) json.WriteString(name, project.GetPropertyValue(name));
                        json.WriteEndObject();
                        if (full)
                        {
                            json.WriteStartObject("Items");
                            foreach (var type in itemTypes)
                            {
                                json.WriteStartArray(type);
                                foreach (var item in project.GetItems(type))
                                {
                                    json.WriteStartObject();
                                    json.WriteString("Identity", item.EvaluatedInclude);
                                    foreach (var m in metadata)
                                    {
                                        var v = item.GetMetadataValue(m);
                                        if (v != "") json.WriteString(m, v);
                                    }
                                    json.WriteEndObject();
                                    if (type == "ProjectReference")
                                    {
                                        var reference = item.GetMetadataValue("FullPath");
                                        // Only what lies in the workspace is followed; the caller names anything else.
                                        if (reference.StartsWith(workspace, StringComparison.Ordinal) && File.Exists(reference) && seen.TryAdd(reference + "|", true)) next.Add((reference, ""));
                                    }
                                }
                                json.WriteEndArray();
                            }
                            json.WriteEndObject();
                            json.WriteStartArray("Imports");
                            foreach (var i in project.ImportPaths) json.WriteStringValue(i);
                            json.WriteEndArray();
                            // Each framework of a multi-targeted project: its items and references can differ.
                            if (project.GetPropertyValue("TargetFramework").Trim() == "")
                                foreach (var tf in project.GetPropertyValue("TargetFrameworks").Split(';').Select(t => t.Trim()).Where(t => t != ""))
                                    if (seen.TryAdd(request.Project + "|" + tf, true)) next.Add((request.Project, tf));
                        }
                    }
                    catch (InvalidProjectFileException e)
                    {
                        json.WriteString("error", (e.ProjectFile ?? request.Project) + "(" + e.LineNumber + "," + e.ColumnNumber + "): error " + (e.ErrorCode ?? "") + ": " + (e.BaseMessage ?? e.Message));
                    }
                    catch (Exception e)
                    {
                        json.WriteString("error", request.Project + ": error : " + e.GetType().Name + ": " + e.Message);
                    }
                    json.WriteEndObject();
                }
                lock (gate)
                {
                    output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                }
            });
            level = next.ToList();
        }
        return true;
    }
}
`

/**
 * The MSBuild project that compiles the task (once per sandbox) with the SDK's compiler against
 * the running runtime and MSBuild, then runs it. `dotnet msbuild` runs it with AotDir (where
 * the source is and the assembly goes), AotRequests and AotOutput.
 */
export const EVALUATOR_PROJ = `<Project>
  <Import Project="$(MSBuildToolsPath)/Microsoft.NETCoreSdk.BundledVersions.props" />
  <PropertyGroup>
    <AotRuntime>$([System.IO.Path]::GetDirectoryName($(DOTNET_HOST_PATH)))/shared/Microsoft.NETCore.App/$(BundledNETCoreAppPackageVersion)</AotRuntime>
  </PropertyGroup>
  <ItemGroup>
    <AotReference Include="$(AotRuntime)/*.dll" />
    <AotReference Include="$(MSBuildToolsPath)/Microsoft.Build.dll;$(MSBuildToolsPath)/Microsoft.Build.Framework.dll;$(MSBuildToolsPath)/Microsoft.Build.Utilities.Core.dll" />
  </ItemGroup>
  <UsingTask TaskName="AotEvaluate" AssemblyFile="$(AotDir)/AotEvaluate.dll" />
  <Target Name="AotCompile" Condition="!Exists('$(AotDir)/AotEvaluate.dll')">
    <WriteLinesToFile File="$(AotDir)/csc.rsp" Lines="@(AotReference->'-r:&quot;%(FullPath)&quot;')" Overwrite="true" />
    <Exec Command="&quot;$(DOTNET_HOST_PATH)&quot; exec &quot;$(MSBuildToolsPath)/Roslyn/bincore/csc.dll&quot; -nologo -noconfig -nostdlib -optimize -nullable:disable -target:library -out:&quot;$(AotDir)/AotEvaluate.dll&quot; @&quot;$(AotDir)/csc.rsp&quot; &quot;$(AotDir)/AotEvaluate.cs&quot;" />
  </Target>
  <Target Name="AotEvaluate" DependsOnTargets="AotCompile">
    <AotEvaluate Requests="$(AotRequests)" Output="$(AotOutput)" />
  </Target>
</Project>
`

/** One evaluation of the batch: its facts and the repository's imports, or MSBuild's error. */
export type BatchEvaluation = { evaluation: MsbuildEvaluation & { imports?: string[] }; error?: undefined } | { evaluation?: undefined; error: string }

/** The key of an evaluation: the project's absolute path and the framework it was evaluated for ('' for none). */
export function evaluationKey(project: string, framework: string): string {
  return `${path.resolve(project)}|${framework}`
}

const isStringRecord = (v: unknown): v is Record<string, string> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')

/**
 * The evaluator's JSON lines, by evaluationKey. A line that is not what the evaluator writes
 * (cut short by the sandbox's output limit, or anything else) is left out: the caller
 * evaluates what is missing on its own.
 */
export function parseEvaluatorOutput(text: string): Map<string, BatchEvaluation> {
  const out = new Map<string, BatchEvaluation>()
  for (const line of text.split('\n')) {
    let v: unknown
    try {
      v = JSON.parse(line)
    } catch {
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    const r = v as Record<string, unknown>
    if (typeof r.project !== 'string' || typeof r.framework !== 'string' || !path.isAbsolute(r.project)) continue
    const key = evaluationKey(r.project, r.framework)
    if (typeof r.error === 'string') {
      out.set(key, { error: r.error })
      continue
    }
    if (!isStringRecord(r.Properties)) continue
    const items = r.Items
    if (items !== undefined && !(typeof items === 'object' && items !== null && Object.values(items).every((list) => Array.isArray(list) && list.every(isStringRecord)))) continue
    const imports = r.Imports
    if (imports !== undefined && !(Array.isArray(imports) && imports.every((i) => typeof i === 'string'))) continue
    const evaluation = evaluationFromJson({ Properties: r.Properties, Items: items as Record<string, ItemJson[]> | undefined } satisfies MsbuildJson)
    out.set(key, { evaluation: imports === undefined ? evaluation : { ...evaluation, imports: repositoryImports(imports, evaluation.locations ?? []) } })
  }
  return out
}
