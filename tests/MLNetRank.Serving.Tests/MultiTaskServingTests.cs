using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MLNetRank.Serving.Tests
{
    /// <summary>
    /// A multi-task model trained with TorchSharp (by MLNetRank.Torch.Tests, <c>ServingFixtureTests</c>) and saved as an
    /// ML.NET zip is loaded here, in a process with no TorchSharp and no MLNetRank registration, and must score exactly
    /// as it did in the training process.
    /// </summary>
    public class MultiTaskServingTests
    {
        public sealed class Row
        {
            [VectorType(6)] public float[] Features { get; set; } = new float[6];
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveSeq { get; set; } = Array.Empty<uint>();
        }

        private sealed class Expected
        {
            public Row[] Rows { get; set; } = Array.Empty<Row>();
            public string[] Columns { get; set; } = Array.Empty<string>();
            public float[][] Values { get; set; } = Array.Empty<float[]>();
        }

        private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

        [Fact]
        public void ProcessHasNoTorchSharp()
        {
            Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")), "TorchSharp.dll is in the serving test output");
            Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name!.StartsWith("TorchSharp", StringComparison.Ordinal));
            Assert.Empty(Directory.GetFiles(AppContext.BaseDirectory, "libtorch*", SearchOption.AllDirectories));
        }

        [Fact]
        public void MultiTaskModelLoadsAndScoresAsInTheTrainingProcess()
        {
            var expected = JsonSerializer.Deserialize<Expected>(File.ReadAllText(Fixture("multitask-expected.json")))!;
            var ml = new MLContext();
            var model = ml.Model.Load(Fixture("multitask.zip"), out var inputSchema);
            Assert.NotNull(inputSchema.GetColumnOrNull("LiveSeq"));
            var data = ml.Data.LoadFromEnumerable(expected.Rows);
            var scored = model.Transform(data);
            for (int c = 0; c < expected.Columns.Length; c++)
            {
                var got = scored.GetColumn<float[]>(scored.Schema[expected.Columns[c]]).Select(v => Assert.Single(v)).ToArray();
                Assert.Equal(expected.Values[c], got);
            }
            Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name!.StartsWith("TorchSharp", StringComparison.Ordinal));
            (model as IDisposable)?.Dispose();
        }
    }
}
