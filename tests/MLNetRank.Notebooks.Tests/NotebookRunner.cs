using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>What a notebook cell can call besides its code: Polyglot's <c>display</c>.</summary>
    public sealed class NotebookGlobals
    {
        /// <summary>Everything the notebook displayed, in order.</summary>
        public List<string> Displayed { get; } = new();

        /// <summary>The notebook's top-level variables after its last cell (filled by the runner).</summary>
        public Dictionary<string, object?> Variables { get; } = new();

        /// <summary>Polyglot's <c>display(value)</c>: here it records the value's text.</summary>
        public object? display(object? value)
        {
            Displayed.Add(value?.ToString() ?? "null");
            return value;
        }
    }

    /// <summary>
    /// Runs the C# cells of a Polyglot (.NET Interactive) notebook in order with Roslyn scripting, the way the
    /// kernel would: state carries from cell to cell. The kernel itself (Microsoft.DotNet.Interactive) is not
    /// available here, so <c>#r "nuget: ..."</c> and <c>#i</c> lines — which only bring the packages this test
    /// project already references — are skipped; every other line runs as written.
    /// </summary>
    public static class NotebookRunner
    {
        public static IReadOnlyList<string> CSharpCells(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            string defaultKernel = "csharp";
            if (doc.RootElement.TryGetProperty("metadata", out var meta) &&
                meta.TryGetProperty("polyglot_notebook", out var pn) &&
                pn.TryGetProperty("defaultKernelName", out var dk))
                defaultKernel = dk.GetString() ?? "csharp";
            var cells = new List<string>();
            foreach (var cell in doc.RootElement.GetProperty("cells").EnumerateArray())
            {
                if (cell.GetProperty("cell_type").GetString() != "code")
                    continue;
                string kernel = defaultKernel;
                if (cell.TryGetProperty("metadata", out var cm))
                {
                    if (cm.TryGetProperty("polyglot_notebook", out var cpn) && cpn.TryGetProperty("kernelName", out var kn))
                        kernel = kn.GetString() ?? kernel;
                    else if (cm.TryGetProperty("dotnet_interactive", out var di) && di.TryGetProperty("language", out var lang))
                        kernel = lang.GetString() ?? kernel;
                }
                if (kernel != "csharp")
                    continue;
                var src = cell.GetProperty("source");
                string text = src.ValueKind == JsonValueKind.Array
                    ? string.Concat(src.EnumerateArray().Select(s => s.GetString()))
                    : src.GetString() ?? "";
                cells.Add(text);
            }
            return cells;
        }

        public static async Task<NotebookGlobals> RunAsync(string path, params System.Reflection.Assembly[] references)
        {
            var globals = new NotebookGlobals();
            var options = ScriptOptions.Default
                .AddReferences(references)
                .AddImports("System", "System.Linq", "System.Collections.Generic");
            ScriptState<object>? state = null;
            int index = 0;
            foreach (var cell in CSharpCells(path))
            {
                index++;
                var code = new StringBuilder();
                foreach (var line in cell.Split('\n'))
                {
                    var t = line.TrimStart();
                    if (t.StartsWith("#r \"nuget:", StringComparison.Ordinal) || t.StartsWith("#i ", StringComparison.Ordinal) || t.StartsWith("#!", StringComparison.Ordinal))
                        code.AppendLine("// (skipped by the test runner) " + t);
                    else
                        code.AppendLine(line.TrimEnd('\r'));
                }
                try
                {
                    state = state is null
                        ? await CSharpScript.RunAsync(code.ToString(), options, globals, typeof(NotebookGlobals))
                        : await state.ContinueWithAsync(code.ToString(), options);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"{Path.GetFileName(path)}: code cell {index} failed: {e.Message}\n--- cell ---\n{cell}", e);
                }
            }
            if (state is not null)
                foreach (var v in state.Variables)
                    globals.Variables[v.Name] = v.Value;
            return globals;
        }
    }
}
