using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Onnx;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    public class OnnxNetworkEstimatorTests
    {
        private static void AssertScores(TinyRanker net, List<Row> rows, IDataView scored, double tol = 1e-5)
        {
            var clickScore = Rows.Column(scored, "ClickScore");
            var click = Rows.Column(scored, "ClickProbability");
            var buy = Rows.Column(scored, "BuyProbability");
            Assert.Equal(rows.Count, click.Length);
            for (int i = 0; i < rows.Count; i++)
            {
                var (c, p, b) = net.Forward(rows[i].Features, rows[i].UserId);
                Assert.True(Math.Abs(c - clickScore[i]) < tol, $"row {i}: ClickScore {clickScore[i]} vs {c}");
                Assert.True(Math.Abs(p - click[i]) < tol, $"row {i}: ClickProbability {click[i]} vs {p}");
                Assert.True(Math.Abs(b - buy[i]) < tol, $"row {i}: BuyProbability {buy[i]} vs {b}");
            }
        }

        [Fact]
        public void ScoresUInt32IdsThroughAnInt64GraphAndRoundTripsThroughTheZip()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(3);
            var rows = Rows.Make(20, 4);
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-" + Guid.NewGuid().ToString("N") + ".zip");
            try
            {
                string tempFile;
                using (var model = ml.Ranker().Transforms.ApplyOnnxNetwork(net.Build()).Fit(data))
                {
                    // The UInt32 column is cast inside the graph: the chain is the single built-in OnnxTransformer.
                    Assert.Equal(TensorElementType.UInt32, model.Inputs.Single(i => i.Name == "UserId").ElementType);
                    var scored = model.Transform(data);
                    // ML.NET gives a [-1, 1] output the dims [1, 1]: a known-size vector of one Single.
                    var type = Assert.IsType<VectorDataViewType>(scored.Schema["ClickProbability"].Type);
                    Assert.Equal(NumberDataViewType.Single, type.ItemType);
                    Assert.Equal(1, type.Size);
                    AssertScores(net, rows, scored);
                    ml.Model.Save(model, data.Schema, zip);
                    tempFile = model.ModelFile!;
                    Assert.True(File.Exists(tempFile));
                    Assert.Equal(OnnxTempFilesFolder(), Path.GetDirectoryName(tempFile));
                }
                Assert.False(File.Exists(tempFile), "disposing the transformer deletes its temporary model file");

                using (var archive = ZipFile.OpenRead(zip))
                    Assert.Contains(archive.Entries, e => e.FullName.EndsWith("OnnxModel", StringComparison.Ordinal));

                var fresh = new MLContext(seed: 99);
                var loaded = fresh.Model.Load(zip, out var schema);
                Assert.IsType<OnnxTransformer>(loaded);
                AssertScores(net, rows, loaded.Transform(fresh.Data.LoadFromEnumerable(rows)));
                Assert.Equal(data.Schema["UserId"].Type, schema["UserId"].Type);
                ((IDisposable)loaded).Dispose();
            }
            finally
            {
                File.Delete(zip);
            }
        }

        private static string OnnxTempFilesFolder() => Path.Combine(Path.GetTempPath(), "MLNetRank-onnx-" + Environment.ProcessId);

        [Fact]
        public void MapsGraphNamesToOtherColumnNames()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(5);
            var rows = Rows.Make(6, 6);
            var data = ml.Data.LoadFromEnumerable(rows);
            var graph = net.Build(TensorElementType.Int64, features: "x", userId: "user");
            var estimator = ml.Ranker().Transforms.ApplyOnnxNetwork(graph,
                new Dictionary<string, string> { ["x"] = "Features", ["user"] = "UserId" },
                new Dictionary<string, string> { ["ClickProbability"] = "pClick" });
            var shape = estimator.GetOutputSchema(Shapes.Of(data.Schema));
            Assert.Contains(shape, c => c.Name == "pClick");
            Assert.DoesNotContain(shape, c => c.Name == "ClickProbability");
            using var model = estimator.Fit(data);
            var scored = model.Transform(data);
            var p = Rows.Column(scored, "pClick");
            for (int i = 0; i < rows.Count; i++)
                Assert.True(Math.Abs(net.Forward(rows[i].Features, rows[i].UserId).Click - p[i]) < 1e-5);
            Assert.Null(scored.Schema.GetColumnOrNull("x"));
        }

        [Fact]
        public void GetOutputSchemaFromAPlaceholderEqualsTheRealNetworks()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Rows.Make(3, 1));
            var input = Shapes.Of(data.Schema);
            var real = ml.Ranker().Transforms.ApplyOnnxNetwork(TinyRanker.Create(1).Build()).GetOutputSchema(input);
            var placeholder = OnnxPlaceholder.Build(
                new[] { new OnnxTensorSpec("Features", -1, TinyRanker.Dense), new OnnxTensorSpec("UserId", TensorElementType.Int64, new long[] { -1, 1 }) },
                new[] { new OnnxTensorSpec("ClickScore", -1, 1), new OnnxTensorSpec("ClickProbability", -1, 1), new OnnxTensorSpec("BuyProbability", -1, 1) });
            var fromPlaceholder = ml.Ranker().Transforms.ApplyOnnxNetwork(placeholder).GetOutputSchema(input);
            Assert.Equal(real.Select(c => (c.Name, c.Kind, c.ItemType, c.IsKey)), fromPlaceholder.Select(c => (c.Name, c.Kind, c.ItemType, c.IsKey)));
            var click = fromPlaceholder.Single(c => c.Name == "ClickProbability");
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, click.Kind);
            Assert.Equal(NumberDataViewType.Single, click.ItemType);

            // The placeholder runs, and gives zeros of the declared shape.
            var r = OrtRunner.Run(placeholder, ("Features", new float[3 * TinyRanker.Dense], new long[] { 3, TinyRanker.Dense }), ("UserId", new long[3], new long[] { 3, 1 }));
            Assert.Equal(new long[] { 3, 1 }, r.Shapes["BuyProbability"]);
            Assert.All(r.Floats["BuyProbability"], v => Assert.Equal(0f, v));
        }

        [Fact]
        public void KeyColumnsPassTheirRawValues()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(8);
            var rows = Rows.Make(12, 9);
            var data = ml.Data.LoadFromEnumerable(rows);
            // Key<UInt32> with raw value = id + 1 (1-based); the graph subtracts 1 before the lookup.
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "UserId").Fit(data).Transform(data);
            var g = new OnnxGraphBuilder();
            g.AddInput("UserKey", TensorElementType.UInt32, new long[] { -1, 1 });
            var asLong = g.Cast("UserKey", TensorElementType.Int64);
            g.AddOutput(g.Sub(asLong, g.AddConstant(new long[] { 1 }, Array.Empty<long>()), "Index"), TensorElementType.Int64, new long[] { -1, 1 });
            var estimator = ml.Ranker().Transforms.ApplyOnnxNetwork(g.ToBytes());
            var shape = estimator.GetOutputSchema(Shapes.Of(keyed.Schema));
            Assert.Equal(NumberDataViewType.Int64, shape.Single(c => c.Name == "Index").ItemType);
            using var model = estimator.Fit(keyed);
            var scored = model.Transform(keyed);
            var index = new List<long>();
            var keys = new List<uint>();
            using (var cursor = scored.GetRowCursor(scored.Schema))
            {
                var ig = cursor.GetGetter<VBuffer<long>>(scored.Schema["Index"]);
                var kg = cursor.GetGetter<uint>(scored.Schema["UserKey"]);
                VBuffer<long> v = default;
                uint k = 0;
                while (cursor.MoveNext())
                {
                    ig(ref v);
                    kg(ref k);
                    index.Add(v.GetValues()[0]);
                    keys.Add(k);
                }
            }
            Assert.Equal(keys.Select(k => (long)k - 1), index);
            Assert.All(index, i => Assert.InRange(i, 0, TinyRanker.Users - 1));

            // An int64 graph input reads the key column too (cast inside the graph), still with raw values.
            var g64 = new OnnxGraphBuilder();
            g64.AddInput("UserKey", TensorElementType.Int64, new long[] { -1, 1 });
            g64.AddOutput(g64.Identity("UserKey", "Raw"), TensorElementType.Int64, new long[] { -1, 1 });
            var estimator64 = ml.Ranker().Transforms.ApplyOnnxNetwork(g64.ToBytes());
            Assert.Equal(NumberDataViewType.Int64, estimator64.GetOutputSchema(Shapes.Of(keyed.Schema)).Single(c => c.Name == "Raw").ItemType);
            using var model64 = estimator64.Fit(keyed);
            var raw = new List<long>();
            var scored64 = model64.Transform(keyed);
            using (var cursor = scored64.GetRowCursor(new[] { scored64.Schema["Raw"] }))
            {
                var getter = cursor.GetGetter<VBuffer<long>>(scored64.Schema["Raw"]);
                VBuffer<long> v = default;
                while (cursor.MoveNext())
                {
                    getter(ref v);
                    raw.Add(v.GetValues()[0]);
                }
            }
            Assert.Equal(keys.Select(k => (long)k), raw);
        }

        [Fact]
        public void BadInputsGiveErrorsNamingTheColumn()
        {
            var ml = new MLContext(seed: 1);
            var model = TinyRanker.Create(1).Build();
            var estimator = ml.Ranker().Transforms.ApplyOnnxNetwork(model);

            var missing = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1u } });
            var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Shapes.Of(missing.Schema)));
            Assert.Contains("'Features'", e1.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(missing));

            var text = ml.Data.LoadFromEnumerable(new[] { new TextRow { Features = new float[TinyRanker.Dense], UserId = "a" } });
            var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Shapes.Of(text.Schema)));
            Assert.Contains("'UserId'", e2.Message);
            Assert.Contains("String", e2.Message);

            var narrow = ml.Data.LoadFromEnumerable(new[] { new NarrowRow { Features = new float[3], UserId = 1 } });
            var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(narrow));
            Assert.Contains("'Features'", e3.Message);
            Assert.Contains("3 values", e3.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.ApplyOnnxNetwork(model, new Dictionary<string, string> { ["Nope"] = "Features" }));
            var same = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.ApplyOnnxNetwork(model, new Dictionary<string, string> { ["UserId"] = "Features" }));
            Assert.Contains("same column 'Features'", same.Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.ApplyOnnxNetwork(Array.Empty<byte>()));
            Assert.Throws<InvalidDataException>(() => ml.Ranker().Transforms.ApplyOnnxNetwork(new byte[] { 1, 2, 3, 4, 5 }));
        }

        [Fact]
        public void FittingTwiceGivesTheSameNetworkAndScores()
        {
            var rows = Rows.Make(8, 3);
            byte[] graph = TinyRanker.Create(4).Build();
            (byte[] Bytes, float[] Scores) Fit()
            {
                var ml = new MLContext(seed: 7);
                var data = ml.Data.LoadFromEnumerable(rows);
                using var model = ml.Ranker().Transforms.ApplyOnnxNetwork(graph).Fit(data);
                return (model.GetModelBytes(), Rows.Column(model.Transform(data), "ClickProbability"));
            }
            var a = Fit();
            var b = Fit();
            Assert.Equal(a.Bytes, b.Bytes);
            Assert.Equal(a.Scores, b.Scores);
        }

        [Fact]
        public void OutputColumnNameFirstOverloadMapsTheOnlyInputAndOutputAndRejectsWiderGraphs()
        {
            // y = sigmoid(x · w) over a graph whose tensor names are not the columns' names
            var w = new[] { 0.5f, -1f, 2f };
            var g = new OnnxGraphBuilder("single");
            var x = g.AddInput("x", new long[] { -1, 3 });
            g.Sigmoid(g.MatMul(x, g.AddConstant(w, new long[] { 3, 1 })), "y");
            g.AddOutput("y", new long[] { -1, 1 });
            var rows = Enumerable.Range(0, 6).Select(i => new NarrowRow { Features = new[] { i * 0.3f, 1f - i * 0.2f, (i % 3) - 1f } }).ToList();
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            using var model = ml.Ranker().Transforms.ApplyOnnxNetwork("Score", "Features", g.ToBytes()).Fit(data);
            var scored = model.Transform(data);
            Assert.False(scored.Schema.GetColumnOrNull("y").HasValue);
            var score = Rows.Column(scored, "Score");
            for (int i = 0; i < rows.Count; i++)
            {
                var f = rows[i].Features;
                double expected = 1 / (1 + Math.Exp(-(f[0] * w[0] + f[1] * w[1] + f[2] * w[2])));
                Assert.True(Math.Abs(expected - score[i]) < 1e-6, $"row {i}: {score[i]} vs {expected}");
            }

            // two inputs (and three outputs): the overload cannot guess the mapping and says which names the graph has
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.ApplyOnnxNetwork("Score", "Features", TinyRanker.Create(3).Build()));
            Assert.Contains("Features", ex.Message);
            Assert.Contains("UserId", ex.Message);
        }

        private sealed class TextRow
        {
            [VectorType(TinyRanker.Dense)]
            public float[] Features { get; set; } = Array.Empty<float>();
            public string UserId { get; set; } = "";
        }

        private sealed class NarrowRow
        {
            [VectorType(3)]
            public float[] Features { get; set; } = Array.Empty<float>();
            public uint UserId { get; set; }
        }
    }
}
