using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>A notebook run: the kernel (to read variables), and each code cell's outputs in Jupyter's form.</summary>
    public sealed class NotebookRun : IDisposable
    {
        internal NotebookRun(CompositeKernel kernel, CSharpKernel csharp, JsonObject notebook)
        {
            Kernel = kernel;
            CSharp = csharp;
            Notebook = notebook;
        }

        public CompositeKernel Kernel { get; }
        public CSharpKernel CSharp { get; }

        /// <summary>The notebook as read, with each code cell's outputs and execution count replaced by this run's.</summary>
        public JsonObject Notebook { get; }

        /// <summary>Seconds each code cell took, in order.</summary>
        public List<double> CellSeconds { get; } = new();

        /// <summary>Every text/plain and text/html value the notebook displayed or returned, in order.</summary>
        public List<string> Displayed { get; } = new();

        /// <summary>The value of a top-level variable of the notebook after its last cell.</summary>
        public T Get<T>(string name) =>
            CSharp.TryGetValue<T>(name, out var v) ? v : throw new KeyNotFoundException($"the notebook has no variable '{name}' of type {typeof(T).Name}");

        public void Dispose() => Kernel.Dispose();
    }

    /// <summary>
    /// Runs a Polyglot (.NET Interactive) notebook in the real C# kernel of Microsoft.DotNet.Interactive, set up as the
    /// dotnet-interactive tool sets it up (<c>#r "nuget:"</c>, <c>#i</c>, kernel helpers such as <c>display</c> and
    /// <c>HTML</c>), cell by cell. The only change to a cell's text: <c>#r "nuget: MLNetRank..., version"</c> lines get the
    /// version packed from this commit, and the packed feed is added with <c>#i</c> before the first <c>#r</c>. A failing
    /// cell throws with the cell's text and the kernel's error.
    /// </summary>
    public static class NotebookRunner
    {
        private static readonly Regex MLNetRankReference = new(
            @"^(\s*#r\s+""nuget:\s*)(MLNetRank(?:\.[A-Za-z]+)?)\s*,\s*[^""]+("".*)$", RegexOptions.Compiled);

        /// <summary>The code cells' text (C# cells only; other kernels' cells are not supported and fail the run).</summary>
        public static IReadOnlyList<string> CodeCells(JsonObject notebook) =>
            notebook["cells"]!.AsArray().Select(c => c!.AsObject())
                .Where(c => (string?)c["cell_type"] == "code").Select(SourceOf).ToList();

        private static string SourceOf(JsonObject cell) => cell["source"] switch
        {
            JsonArray a => string.Concat(a.Select(x => (string?)x)),
            JsonValue v => (string?)v ?? "",
            _ => "",
        };

        /// <summary>Rewrites a code cell's package lines for the packed feed (see the class summary).</summary>
        public static string ForFeed(string cell, PackedFeed feed, ref bool feedAdded)
        {
            var lines = cell.Replace("\r\n", "\n").Split('\n');
            var output = new StringBuilder();
            foreach (var line in lines)
            {
                var t = line.TrimStart();
                if (t.StartsWith("#i ", StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"A notebook must not carry its own package source ('{t}'): a relative path fails in the real kernel " +
                        "(\"Invalid URI\") and an absolute one works on one machine only. The test adds the packed feed itself.");
                if (!feedAdded && t.StartsWith("#r \"nuget:", StringComparison.Ordinal))
                {
                    output.Append("#i \"nuget: ").Append(feed.Folder).Append("\"\n");
                    feedAdded = true;
                }
                var m = MLNetRankReference.Match(line);
                output.Append(m.Success ? $"{m.Groups[1].Value}{m.Groups[2].Value}, {feed.Version}{m.Groups[3].Value}" : line).Append('\n');
            }
            return output.ToString().TrimEnd('\n');
        }

        public static async Task<NotebookRun> RunAsync(string path, PackedFeed feed, TimeSpan cellTimeout)
        {
            var notebook = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            string defaultKernel = (string?)notebook["metadata"]?["polyglot_notebook"]?["defaultKernelName"] ?? "csharp";

            var csharp = new CSharpKernel()
                .UseNugetDirective((k, refs) =>
                {
                    k.AddAssemblyReferences(refs.SelectMany(r => r.AssemblyPaths));
                    return Task.CompletedTask;
                })
                .UseKernelHelpers()
                .UseValueSharing();
            var kernel = new CompositeKernel { csharp };
            kernel.DefaultKernelName = csharp.Name;
            var run = new NotebookRun(kernel, csharp, notebook);

            bool feedAdded = false;
            int index = 0, executionCount = 0;
            try
            {
                foreach (var cell in notebook["cells"]!.AsArray().Select(c => c!.AsObject()))
                {
                    if ((string?)cell["cell_type"] != "code")
                        continue;
                    index++;
                    string kernelName = (string?)cell["metadata"]?["polyglot_notebook"]?["kernelName"]
                                        ?? (string?)cell["metadata"]?["dotnet_interactive"]?["language"] ?? defaultKernel;
                    if (kernelName != "csharp")
                        throw new InvalidOperationException($"{Path.GetFileName(path)}: code cell {index} is for kernel '{kernelName}'; only C# cells are run.");
                    string original = SourceOf(cell);
                    string code = ForFeed(original, feed, ref feedAdded);

                    using var cts = new CancellationTokenSource(cellTimeout);
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    KernelCommandResult result;
                    try
                    {
                        result = await kernel.SendAsync(new SubmitCode(code, csharp.Name), cts.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        throw new TimeoutException($"{Path.GetFileName(path)}: code cell {index} did not finish within {cellTimeout}.\n--- cell ---\n{original}");
                    }
                    executionCount++;
                    run.CellSeconds.Add(clock.Elapsed.TotalSeconds);
                    var outputs = new JsonArray();
                    var errors = new List<string>();
                    foreach (var e in result.Events)
                    {
                        switch (e)
                        {
                            case ReturnValueProduced r:
                                outputs.Add(DataOutput("execute_result", r.FormattedValues, run.Displayed, executionCount));
                                break;
                            case DisplayedValueProduced d:
                                outputs.Add(DataOutput("display_data", d.FormattedValues, run.Displayed, null));
                                break;
                            case StandardOutputValueProduced so:
                                outputs.Add(Stream("stdout", so.FormattedValues));
                                break;
                            case StandardErrorValueProduced se:
                                outputs.Add(Stream("stderr", se.FormattedValues));
                                break;
                            case ErrorProduced err:
                                errors.Add(err.Message);
                                break;
                            case CommandFailed f:
                                errors.Add(f.Message + (f.Exception is null ? "" : "\n" + f.Exception));
                                break;
                        }
                    }
                    if (errors.Count > 0)
                        throw new InvalidOperationException(
                            $"{Path.GetFileName(path)}: code cell {index} failed in the C# kernel:\n{string.Join("\n", errors)}\n--- cell ---\n{original}");
                    cell["outputs"] = outputs;
                    cell["execution_count"] = executionCount;
                }
            }
            catch
            {
                run.Dispose();
                throw;
            }
            return run;
        }

        private static JsonObject DataOutput(string type, IEnumerable<Microsoft.DotNet.Interactive.Formatting.FormattedValue> values, List<string> displayed, int? executionCount)
        {
            var data = new JsonObject();
            foreach (var v in values.Where(v => !v.SuppressDisplay))
            {
                data[v.MimeType] = Lines(v.Value);
                if (v.MimeType is "text/plain" or "text/html")
                    displayed.Add(v.Value);
            }
            var o = new JsonObject { ["output_type"] = type, ["data"] = data, ["metadata"] = new JsonObject() };
            if (executionCount is int n)
                o["execution_count"] = n;
            return o;
        }

        private static JsonObject Stream(string name, IEnumerable<Microsoft.DotNet.Interactive.Formatting.FormattedValue> values) => new()
        {
            ["output_type"] = "stream",
            ["name"] = name,
            ["text"] = Lines(string.Concat(values.Select(v => v.Value))),
        };

        private static JsonArray Lines(string s)
        {
            var a = new JsonArray();
            int start = 0;
            for (int i = 0; i < s.Length; i++)
                if (s[i] == '\n')
                {
                    a.Add(s[start..(i + 1)]);
                    start = i + 1;
                }
            if (start < s.Length)
                a.Add(s[start..]);
            return a;
        }

        /// <summary>Writes the notebook with this run's outputs (two-space indented JSON, as Polyglot writes it).</summary>
        public static void SaveWithOutputs(NotebookRun run, string path)
        {
            var json = run.Notebook.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, json + "\n");
            File.Move(tmp, path, overwrite: true);
        }
    }
}
