using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Serving;
using Xunit;

namespace MLNetRank.Serving.Tests
{
    /// <summary>
    /// A model with the V4 live-stream transformer and DIN target attention, trained with TorchSharp (MLNetRank.Torch.Tests,
    /// <c>SequenceServingFixtureTests</c>), reloaded here in a process without TorchSharp: identical scores through ML.NET,
    /// and the same through the request scorer (user-side sequences fed once per request).
    /// </summary>
    public class SequenceServingTests
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

        private sealed class Expected
        {
            public Row[] Rows { get; set; } = Array.Empty<Row>();
            public string[] Columns { get; set; } = Array.Empty<string>();
            public float[][] Values { get; set; } = Array.Empty<float[]>();
        }

        private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

        [Fact]
        public void SequenceModelLoadsAndScoresAsInTheTrainingProcess()
        {
            var expected = JsonSerializer.Deserialize<Expected>(File.ReadAllText(Fixture("sequences-expected.json")))!;
            var ml = new MLContext();
            var model = ml.Model.Load(Fixture("sequences.zip"), out _);
            var data = ml.Data.LoadFromEnumerable(expected.Rows);
            var scored = model.Transform(data);
            for (int c = 0; c < expected.Columns.Length; c++)
            {
                var got = scored.GetColumn<float[]>(scored.Schema[expected.Columns[c]]).Select(v => Assert.Single(v)).ToArray();
                Assert.Equal(expected.Values[c], got);
            }
            (model as IDisposable)?.Dispose();
            // the request scorer, one request per user (rows of one request share the user's sequences)
            using var scorer = RequestScorer.Open(Fixture("sequences.zip"));
            // saved before exports recorded native blocks: no metadata, so the whole network runs in ONNX Runtime as before
            Assert.Empty(scorer.NativeBlocks);
            var all = scorer.ScoreAll(data, batchSize: 8);
            for (int c = 0; c < expected.Columns.Length; c++)
            {
                var got = (float[])all[expected.Columns[c]];
                for (int i = 0; i < got.Length; i++)
                    Assert.True(Math.Abs(got[i] - expected.Values[c][i]) <= 1e-5 * Math.Max(1, Math.Abs(expected.Values[c][i])), $"{expected.Columns[c]} row {i}: {got[i]} vs {expected.Values[c][i]}");
            }
            Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name!.StartsWith("TorchSharp", StringComparison.Ordinal));
        }
    }
}
