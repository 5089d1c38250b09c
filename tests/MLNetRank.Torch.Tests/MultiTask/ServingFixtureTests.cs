using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using MLNetRank.TestSupport;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// The model that tests/MLNetRank.Serving.Tests (no TorchSharp) loads in a fresh process: written here with
    /// <c>MLNETRANK_WRITE_FIXTURES=1</c>; otherwise this test checks that the committed zip still scores its committed
    /// expectations in this process too, and that a freshly trained model has the same output columns.
    /// </summary>
    [Collection("TorchSharp")]
    public class ServingFixtureTests
    {
        private static string FixtureFolder()
            => Path.Combine(TestData.RepoRoot() ?? throw new InvalidOperationException("repository root not found"), "tests", "MLNetRank.Serving.Tests", "Fixtures");

        [Fact]
        public void ServingFixtureIsWrittenByThisTrainer()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(400, 77);
            var data = Fixture.Load(ml, rows);
            var sample = rows.Take(40).Select(r => new { r.Features, r.UserId, r.LiveId, r.LiveSeq }).ToArray();
            string folder = FixtureFolder();
            if (Environment.GetEnvironmentVariable("MLNETRANK_WRITE_FIXTURES") == "1")
            {
                using var model = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(MultiTaskArchitecture.Ple, epochs: 2)).Fit(data);
                Directory.CreateDirectory(folder);
                ml.Model.Save(model, data.Schema, Path.Combine(folder, "multitask.zip"));
                var scored = model.Transform(Fixture.Load(ml, rows.Take(40)));
                var json = new
                {
                    Rows = sample,
                    Columns = model.OutputColumnNames.ToArray(),
                    Values = model.OutputColumnNames.Select(c => Fixture.Column(scored, c)).ToArray(),
                };
                File.WriteAllText(Path.Combine(folder, "multitask-expected.json"), JsonSerializer.Serialize(json));
            }
            var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "multitask-expected.json")));
            var columns = expected.RootElement.GetProperty("Columns").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var values = expected.RootElement.GetProperty("Values").EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
            var loaded = ml.Model.Load(Path.Combine(folder, "multitask.zip"), out _);
            var again = loaded.Transform(Fixture.Load(ml, rows.Take(40)));
            for (int c = 0; c < columns.Length; c++)
                Assert.Equal(values[c], Fixture.Column(again, columns[c]));
            Assert.Equal(MultiTaskEstimator.OutputNames(Fixture.FullOptions()), columns);
            (loaded as IDisposable)?.Dispose();
        }
    }
}
