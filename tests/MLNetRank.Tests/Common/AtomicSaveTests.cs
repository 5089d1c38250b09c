using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;
using Xunit;

namespace MLNetRank.Tests.Common
{
    public class AtomicSaveTests
    {
        /// <summary>A large value-mapping model (a few MB of zip, so that a save takes a while): key i maps to i * factor.</summary>
        internal static (ITransformer Model, IDataView Data) BigModel(MLContext ml, float factor, int entries = 300_000)
        {
            var pairs = Enumerable.Range(0, entries).Select(i => new KeyValuePair<float, float>(i, i * factor));
            var data = ml.Data.LoadFromEnumerable(new[] { new In { Key = 3 }, new In { Key = 12345 } });
            var model = ml.Transforms.Conversion.MapValue("Value", pairs, "Key").Fit(data);
            return (model, data);
        }

        public sealed class In
        {
            public float Key { get; set; }
        }

        [Fact]
        public void SaveAtomicallyReplacesTheFileAndLeavesNoTemporaryFile()
        {
            var ml = new MLContext(1);
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-atomic-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                var path = Path.Combine(dir, "model.zip");
                var (a, data) = BigModel(ml, 1f, 20_000);
                ml.Model.SaveAtomically(a, data.Schema, path);
                var (b, _) = BigModel(ml, 2f, 20_000);
                ml.Model.SaveAtomically(b, data.Schema, path);
                Assert.Equal(new[] { "model.zip" }, Directory.GetFiles(dir).Select(Path.GetFileName));
                var loaded = ml.Model.Load(path, out _);
                Assert.Equal(new[] { 6f, 24690f }, loaded.Transform(data).GetColumn<float>("Value").ToArray());

                // a failing writer leaves the previous file as it was, and no temporary file
                Assert.Throws<FormatException>(() => AtomicFile.Write(path, s => { s.Write(new byte[1000]); throw new FormatException("writer"); }));
                Assert.Equal(new[] { "model.zip" }, Directory.GetFiles(dir).Select(Path.GetFileName));
                Assert.Equal(new[] { 6f, 24690f }, ml.Model.Load(path, out _).Transform(data).GetColumn<float>("Value").ToArray());
                Assert.Throws<DirectoryNotFoundException>(() => ml.Model.SaveAtomically(a, data.Schema, Path.Combine(dir, "no", "model.zip")));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        // A child process that loads MLNetRank.dll and saves a big model over the same file again and again, until killed.
        private const string SaverApp = @"#:package Microsoft.ML@6.0.0
#:property PublishAot=false
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

var ml = new MLContext(1);
var pairs = Enumerable.Range(0, 300_000).Select(i => new KeyValuePair<float, float>(i, i * 2f));
var data = ml.Data.LoadFromEnumerable(new[] { new In { Key = 3 } });
var model = ml.Transforms.Conversion.MapValue(""Value"", pairs, ""Key"").Fit(data);
var save = Assembly.LoadFrom(args[0]).GetType(""Microsoft.ML.AtomicModelSaveExtensions"")!.GetMethod(""SaveAtomically"")!;
bool plain = args[2] == ""plain"";
Console.WriteLine(""saving"");
while (true)
{
    if (plain)
        ml.Model.Save(model, data.Schema, args[1]);
    else
        save.Invoke(null, new object[] { ml.Model, model, data.Schema, args[1] });
}

public sealed class In { public float Key { get; set; } }
";

        [Theory]
        [Trait("Category", "Quality")]
        [InlineData("atomic")]
        [InlineData("plain")]
        public void AProcessKilledMidSaveLeavesTheOldModelLoadable(string mode)
        {
            var ml = new MLContext(1);
            var appDir = Path.Combine(Path.GetTempPath(), "mlnetrank-atomic-save-app");   // fixed: dotnet run reuses its build
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-atomic-kill-{Guid.NewGuid():N}");
            Directory.CreateDirectory(appDir);
            Directory.CreateDirectory(dir);
            try
            {
                var app = Path.Combine(appDir, "saver.cs");
                if (!File.Exists(app) || File.ReadAllText(app) != SaverApp)
                    File.WriteAllText(app, SaverApp);
                var path = Path.Combine(dir, "model.zip");
                var (old, data) = BigModel(ml, 1f);
                ml.Model.SaveAtomically(old, data.Schema, path);
                long oldLength = new FileInfo(path).Length;

                var psi = new ProcessStartInfo("dotnet", $"run saver.cs -- \"{typeof(AtomicFile).Assembly.Location}\" \"{path}\" {mode}")
                {
                    WorkingDirectory = appDir,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
                psi.Environment["DOTNET_NOLOGO"] = "1";
                using var p = Process.Start(psi)!;
                bool midSave = false;
                var deadline = DateTime.UtcNow.AddMinutes(5);
                while (DateTime.UtcNow < deadline && !p.HasExited)
                {
                    // a save is in progress: the temporary file exists (atomic), or the destination is being rewritten (plain)
                    midSave = mode == "atomic"
                        ? Directory.GetFiles(dir, "model.zip.*" + AtomicFile.TemporarySuffix).Length > 0
                        : File.Exists(path) && new FileInfo(path).Length < oldLength / 2;
                    if (midSave)
                    {
                        p.Kill(entireProcessTree: true);
                        break;
                    }
                    Thread.Sleep(1);
                }
                if (!midSave)
                {
                    if (!p.HasExited)
                        p.Kill(entireProcessTree: true);
                    Assert.Fail($"the saver never was mid-save: {p.StandardOutput.ReadToEnd()} {p.StandardError.ReadToEnd()}");
                }
                p.WaitForExit();

                if (mode == "plain")
                {
                    // the control: ML.NET's own Save, killed mid-save, destroys the previous model
                    Assert.ThrowsAny<Exception>(() => ml.Model.Load(path, out _).Transform(data).GetColumn<float>("Value").ToArray());
                    return;
                }
                var loaded = ml.Model.Load(path, out _);
                var values = loaded.Transform(data).GetColumn<float>("Value").ToArray();
                // the old model (factor 1) or a complete new one (factor 2) if a previous save had finished: never torn
                Assert.True(values.SequenceEqual(new[] { 3f, 12345f }) || values.SequenceEqual(new[] { 6f, 24690f }), string.Join(", ", values));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
