using System;
using System.IO;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>
    /// File-based apps (<c>dotnet run app.cs</c>) that consume the packages packed from this commit, as a NuGet user
    /// would: TorchSharp from a build that did not adapt libLibTorchSharp.so (the run-time decision must make it load on
    /// Debian 12), a clear error when no TorchSharp backend is referenced, and a project that references both
    /// MLNetRank.Torch and Microsoft.ML.TorchSharp restoring, building and training.
    /// </summary>
    [Collection(PackedFeedCollection.Name)]
    public class PackagedConsumerTests
    {
        private readonly PackedFeed _feed;
        private readonly ITestOutputHelper _output;

        public PackagedConsumerTests(PackedFeed feed, ITestOutputHelper output)
        {
            _feed = feed;
            _output = output;
        }

        // A small multi-task training on the simulator; prints the click AUC.
        private const string TrainBody = """
            using System;
            using System.Linq;
            using Microsoft.ML;
            using Microsoft.ML.Data;
            using MLNetRank.Evaluation;
            using MLNetRank.Simulation;
            using MLNetRank.Torch.MultiTask;

            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { RequestCount = 1_500, UserCount = 300, LiveCount = 60, ItemCount = 600 });
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, 1_200));
            var test = sim.GetImpressions(ml, 1_200, 300);
            var o = new MultiTaskEstimator.Options { Architecture = MultiTaskArchitecture.SharedBottom, Epochs = 2 };
            o.Features.Add(new DenseFeature("StatFeatures"));
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
            var p = model.Transform(test).GetColumn<float[]>("ClickProbability").Select(v => v[0]).ToArray();
            Console.WriteLine($"native: {MLNetRank.Torch.TorchSharpNative.Prepare()}");
            Console.WriteLine($"click AUC {RankerMetrics.Auc(p, test.GetColumn<bool>("Click").ToArray()):0.0000}");
            """;

        private string Header(bool backend, string extra = "") =>
            $"#:package MLNetRank.Torch@{_feed.Version}\n#:package MLNetRank.Simulation@{_feed.Version}\n#:property PublishAot=false\n" +
            (backend ? "#:package TorchSharp-cpu@0.107.0\n" : "") + extra;

        private (int Exit, string Output) RunApp(string name, string source, bool expectSuccess = true, bool emptyPackagesFolderAtRunTime = false)
        {
            // One fixed folder per app, deleted afterwards with the build output in it: `dotnet run app.cs` would otherwise
            // keep its output (TorchSharp's native libraries for every platform, about 1.4 GB) in the user's runfile
            // folder after the test, and a CI machine's disk fills up.
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-consumer-{name}");
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            try
            {
                // the packed feed next to the default source, as a user adds a local feed
                File.WriteAllText(Path.Combine(dir, "NuGet.config"),
                    $"<configuration><packageSources><add key=\"mlnetrank-packed\" value=\"{_feed.Folder}\" /></packageSources></configuration>");
                File.WriteAllText(Path.Combine(dir, "app.cs"), source);
                // restore and build must succeed in every case; only running may fail (and then must fail as expected)
                PackedFeed.Run("dotnet", "build app.cs --artifacts-path artifacts", dir, TimeSpan.FromMinutes(10));
                System.Collections.Generic.Dictionary<string, string>? env = null;
                if (emptyPackagesFolderAtRunTime)
                {
                    // run with an empty NuGet packages folder: nothing from this machine's package cache can stand in
                    // for a backend the application does not reference
                    var empty = Path.Combine(dir, "empty-packages");
                    Directory.CreateDirectory(empty);
                    env = new() { ["NUGET_PACKAGES"] = empty };
                }
                try
                {
                    var output = PackedFeed.Run("dotnet", "run app.cs --no-build --artifacts-path artifacts", dir, TimeSpan.FromMinutes(10), env);
                    _output.WriteLine(output);
                    return (0, output);
                }
                catch (InvalidOperationException e) when (!expectSuccess)
                {
                    _output.WriteLine(e.Message);
                    return (1, e.Message);
                }
            }
            finally
            {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            }
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void TorchSharpLoadsFromABuildWithoutTheBuildTimeFix()
        {
            // The build-time target is switched off, as for a build made on a newer distribution and run here: the run-time
            // decision alone must make TorchSharp load where libstdc++ lacks GLIBCXX_3.4.32.
            var (_, output) = RunApp("runtime-fix", Header(backend: true, "#:property MLNetRankSkipTorchSharpLinuxFix=true\n") + TrainBody);
            Assert.Matches(@"click AUC 0\.[6-9]", output);
            var sysLib = MLNetRank.Notebooks.Tests.SystemLib.LacksGlibcxx3432();
            if (sysLib)
                Assert.Contains("loaded an adapted copy", output);
        }

        [Fact]
        public void WithoutABackendPackageTheErrorSaysWhichPackageToAdd()
        {
            var (exit, output) = RunApp("no-backend", Header(backend: false) + TrainBody, expectSuccess: false, emptyPackagesFolderAtRunTime: true);
            Assert.NotEqual(0, exit);
            Assert.Contains("add a backend package", output);
            Assert.Contains("dotnet add package TorchSharp-cpu", output);
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void AProjectReferencingBothMLNetRankTorchAndMicrosoftMLTorchSharpRestoresBuildsAndTrains()
        {
            // Microsoft.ML.TorchSharp 0.24.0 asks for TorchSharp >= 0.102.7; NuGet resolves the 0.107.0 MLNetRank.Torch needs.
            // Its trainers need pretrained weights downloaded at Fit, so here one is built (its assembly loaded and
            // its catalog reached) and the MLNetRank network trains in the same process.
            var source = Header(backend: true, "#:package Microsoft.ML.TorchSharp@0.24.0\n") + TrainBody + """

                var textClassifier = Microsoft.ML.TorchSharp.TorchSharpCatalog.TextClassification(ml.MulticlassClassification.Trainers, labelColumnName: "Label", sentence1ColumnName: "Text");
                Console.WriteLine($"Microsoft.ML.TorchSharp estimator: {textClassifier.GetType().Name}, TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}");
                """;
            var (_, output) = RunApp("with-ml-torchsharp", source);
            Assert.Matches(@"click AUC 0\.[6-9]", output);
            Assert.Contains("Microsoft.ML.TorchSharp estimator: TextClassificationTrainer, TorchSharp 0.107.0", output);
        }
    }

    internal static class SystemLib
    {
        /// <summary>Whether the system libstdc++ (the one the loader picks) lacks GLIBCXX_3.4.32, as on Debian 12.</summary>
        public static bool LacksGlibcxx3432()
        {
            if (!OperatingSystem.IsLinux())
                return false;
            foreach (var d in new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
            {
                var p = Path.Combine(d, "libstdc++.so.6");
                if (File.Exists(p))
                    return File.ReadAllBytes(p).AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) < 0;
            }
            return false;
        }
    }
}
