using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;
using MLNetRank.TestSupport;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>
    /// The V4 transformer + DIN model that tests/MLNetRank.Serving.Tests (no TorchSharp) reloads in a fresh process: written
    /// with <c>MLNETRANK_WRITE_FIXTURES=1</c>; otherwise the committed zip must still score its committed expectations here.
    /// </summary>
    [Collection("TorchSharp")]
    public class SequenceServingFixtureTests
    {
        public sealed class Row
        {
            [VectorType(25)] public float[] StatFeatures { get; set; } = new float[25];
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
        }

        private static string FixtureFolder()
            => Path.Combine(TestData.RepoRoot() ?? throw new InvalidOperationException("repository root not found"), "tests", "MLNetRank.Serving.Tests", "Fixtures");

        [Fact]
        public void SequenceFixtureIsWrittenByThisTrainer()
        {
            var ml = new MLContext(1);
            string folder = FixtureFolder();
            if (Environment.GetEnvironmentVariable("MLNETRANK_WRITE_FIXTURES") == "1")
            {
                var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(120)).GetImpressions(ml);
                var o = SequenceNetworkTests.Options("transformer", epochs: 2);
                ((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserLiveSeq)).Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                Directory.CreateDirectory(folder);
                ml.Model.Save(model, data.Schema, Path.Combine(folder, "sequences.zip"));
                var rows = ml.Data.CreateEnumerable<Row>(ml.Data.TakeRows(data, 40), reuseRowObject: false).ToArray();
                var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
                var json = new
                {
                    Rows = rows,
                    Columns = model.OutputColumnNames.ToArray(),
                    Values = model.OutputColumnNames.Select(c => SequenceNetworkTests.Column(scored, c)).ToArray(),
                };
                File.WriteAllText(Path.Combine(folder, "sequences-expected.json"), JsonSerializer.Serialize(json));
            }
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "sequences-expected.json")));
            var columns = doc.RootElement.GetProperty("Columns").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var values = doc.RootElement.GetProperty("Values").EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
            var expectedRows = JsonSerializer.Deserialize<Row[]>(doc.RootElement.GetProperty("Rows").GetRawText())!;
            var loaded = ml.Model.Load(Path.Combine(folder, "sequences.zip"), out _);
            var again = loaded.Transform(ml.Data.LoadFromEnumerable(expectedRows));
            for (int c = 0; c < columns.Length; c++)
                Assert.Equal(values[c], SequenceNetworkTests.Column(again, columns[c]));
            (loaded as IDisposable)?.Dispose();
        }
    }
}
