using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Onnx;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    public sealed class RequestScorerTests : IDisposable
    {
        private static readonly string[] Outputs = { "ClickScore", "ClickProbability", "BuyProbability" };
        private readonly List<string> _files = new();

        public void Dispose()
        {
            foreach (var f in _files)
                File.Delete(f);
        }

        private string TempZip()
        {
            var path = Path.Combine(Path.GetTempPath(), "mlnetrank-scorer-" + Guid.NewGuid().ToString("N") + ".zip");
            _files.Add(path);
            return path;
        }

        /// <summary>Saves TinyRanker applied directly to the columns (no ML.NET transform before the network).</summary>
        private string SaveNetworkOnly(MLContext ml, TinyRanker net, IDataView data)
        {
            string zip = TempZip();
            using var model = ml.Ranker().Transforms.ApplyOnnxNetwork(net.Build()).Fit(data);
            ml.Model.Save(model, data.Schema, zip);
            return zip;
        }

        private static Dictionary<string, float[]> MlNetScores(string zip, IDataView data)
        {
            var ml = new MLContext(seed: 5);
            var model = ml.Model.Load(zip, out _);
            var scored = model.Transform(data);
            var result = Outputs.ToDictionary(o => o, o => Rows.Column(scored, o));
            (model as IDisposable)?.Dispose();
            return result;
        }

        private static void AssertEqualOutputs(Dictionary<string, float[]> expected, ScoringRequest request, double tol = 1e-6)
        {
            foreach (var name in Outputs)
            {
                var actual = request.GetOutput<float>(name);
                Assert.Equal(expected[name].Length, actual.Length);
                for (int i = 0; i < actual.Length; i++)
                    Assert.True(Math.Abs(expected[name][i] - actual[i]) <= tol, $"{name}[{i}]: ML.NET {expected[name][i]}, scorer {actual[i]}");
            }
        }

        [Fact]
        public void ScoresABatchExactlyLikeTheMlNetPath()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(11);
            var rows = Rows.Make(40, 12);
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = SaveNetworkOnly(ml, net, data);
            var expected = MlNetScores(zip, data);

            using var scorer = RequestScorer.Open(zip);
            Assert.False(scorer.HasPrefix);
            Assert.Equal(0, scorer.SkippedTransformCount);
            Assert.Equal(new[] { "Features", "UserId" }, scorer.RequestColumns.Select(c => c.Name).OrderBy(n => n));
            Assert.Equal(typeof(uint), scorer.RequestColumns.Single(c => c.Name == "UserId").RawItemType);
            using var request = scorer.CreateRequest(64);
            request.Load(data);
            Assert.Equal(40, request.Count);
            scorer.Score(request);
            AssertEqualOutputs(expected, request);
            Assert.Equal(1, request.GetOutputWidth("ClickProbability"));

            // Also against the C# forward pass.
            var click = request.GetOutput<float>("ClickProbability");
            for (int i = 0; i < rows.Count; i++)
                Assert.True(Math.Abs(net.Forward(rows[i].Features, rows[i].UserId).Click - click[i]) < 1e-5);
        }

        [Fact]
        public void SettersAndChangingRequestSizesGiveTheSameScores()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(21);
            var rows = Rows.Make(30, 22);
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = SaveNetworkOnly(ml, net, data);
            var expected = MlNetScores(zip, data);

            using var scorer = RequestScorer.Open(zip, new RequestScorerOptions { IntraOpNumThreads = 2 });
            using var request = scorer.CreateRequest(30);
            foreach (int n in new[] { 30, 7, 1, 30 })
            {
                request.Count = n;
                var features = request.GetInputSpan<float>("Features");
                for (int i = 0; i < n; i++)
                {
                    if (i % 2 == 0)
                        request.SetValues<float>("Features", i, rows[i].Features);
                    else
                        rows[i].Features.CopyTo(features.Slice(i * TinyRanker.Dense, TinyRanker.Dense));
                    request.SetValue("UserId", i, rows[i].UserId);
                }
                scorer.Score(request);
                var p = request.GetOutput<float>("BuyProbability");
                Assert.Equal(n, p.Length);
                for (int i = 0; i < n; i++)
                    Assert.True(Math.Abs(expected["BuyProbability"][i] - p[i]) <= 1e-6, $"n={n}, row {i}");
            }
        }

        private sealed class RawRow
        {
            [VectorType(3)]
            public float[] A { get; set; } = Array.Empty<float>();

            [VectorType(2)]
            public float[] B { get; set; } = Array.Empty<float>();

            public uint UserId { get; set; }

            public string Comment { get; set; } = "";
        }

        [Fact]
        public void AppliesTheMlNetTransformsBeforeTheNetworkInBatch()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(31);
            var rng = new Random(32);
            var rows = Enumerable.Range(0, 25).Select(i => new RawRow
            {
                A = OrtRunner.Random(rng, 3, 5f),
                B = OrtRunner.Random(rng, 2, 5f),
                UserId = (uint)rng.Next(TinyRanker.Users),
                Comment = "c" + i,
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Transforms.Concatenate("Features", "A", "B")
                .Append(ml.Transforms.NormalizeMinMax("Features"))
                .Append(ml.Ranker().Transforms.ApplyOnnxNetwork(net.Build()));
            string zip = TempZip();
            using (var model = pipeline.Fit(data))
            {
                ml.Model.Save(model, data.Schema, zip);
                foreach (var t in model)
                    (t as IDisposable)?.Dispose();
            }
            var expected = MlNetScores(zip, data);

            using var scorer = RequestScorer.Open(zip);
            Assert.True(scorer.HasPrefix);
            Assert.Equal(new[] { "A", "B", "UserId" }, scorer.RequestColumns.Select(c => c.Name).OrderBy(n => n));
            using var request = scorer.CreateRequest(25);
            request.Load(data);
            scorer.Score(request);
            AssertEqualOutputs(expected, request);

            // The same request scored again (fresh row positions) and a smaller one filled by hand.
            scorer.Score(request);
            AssertEqualOutputs(expected, request);
            request.Count = 3;
            for (int i = 0; i < 3; i++)
            {
                request.SetValues<float>("A", i, rows[i].A);
                request.SetValues<float>("B", i, rows[i].B);
                request.SetValue("UserId", i, rows[i].UserId);
            }
            scorer.Score(request);
            var p = request.GetOutput<float>("ClickProbability");
            for (int i = 0; i < 3; i++)
                Assert.True(Math.Abs(expected["ClickProbability"][i] - p[i]) <= 1e-6);
        }

        [Fact]
        public void OpensFromAStream()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Rows.Make(5, 1));
            string zip = SaveNetworkOnly(ml, TinyRanker.Create(2), data);
            using var stream = File.OpenRead(zip);
            using var scorer = RequestScorer.Open(stream);
            Assert.Equal(Outputs, scorer.NetworkOutputs.Select(o => o.Name));
        }

        [Fact]
        public void BadModelsAndRequestsGiveClearErrors()
        {
            var ml = new MLContext(seed: 1);
            var rows = Rows.Make(5, 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = SaveNetworkOnly(ml, TinyRanker.Create(2), data);

            Assert.Throws<FileNotFoundException>(() => RequestScorer.Open(zip + ".missing"));

            string garbage = TempZip();
            File.WriteAllBytes(garbage, Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
            var e1 = Assert.Throws<InvalidDataException>(() => RequestScorer.Open(garbage));
            Assert.Contains("not a readable ML.NET model zip", e1.Message);

            string truncated = TempZip();
            var bytes = File.ReadAllBytes(zip);
            File.WriteAllBytes(truncated, bytes.Take(bytes.Length / 2).ToArray());
            Assert.Throws<InvalidDataException>(() => RequestScorer.Open(truncated));

            string noNetwork = TempZip();
            var concat = ml.Transforms.Concatenate("F2", "Features").Fit(data);
            ml.Model.Save(concat, data.Schema, noNetwork);
            var e2 = Assert.Throws<InvalidOperationException>(() => RequestScorer.Open(noNetwork));
            Assert.Contains("no ONNX network", e2.Message);

            using var scorer = RequestScorer.Open(zip);
            using var request = scorer.CreateRequest(4);
            var wide = Assert.Throws<ArgumentException>(() => request.SetValues<float>("Features", 0, new float[3]));
            Assert.Contains("'Features'", wide.Message);
            Assert.Contains("5 values", wide.Message);
            Assert.Throws<ArgumentException>(() => request.SetValue("UserId", 0, 1L)); // stores UInt32
            Assert.Throws<ArgumentException>(() => request.SetValue("Nope", 0, 1f));
            Assert.Throws<ArgumentOutOfRangeException>(() => request.SetValue("UserId", 4, 1u));
            Assert.Throws<ArgumentOutOfRangeException>(() => request.Count = 5);
            var tooMany = Assert.Throws<ArgumentException>(() => request.Load(data));
            Assert.Contains("capacity", tooMany.Message);
            var missing = ml.Data.LoadFromEnumerable(new[] { new { UserId = 1u } });
            var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => request.Load(missing));
            Assert.Contains("'Features'", e3.Message);
            Assert.Throws<ArgumentException>(() => request.GetOutput<float>("Nope"));
            Assert.Throws<ArgumentException>(() => request.GetOutput<long>("ClickProbability"));

            using var other = RequestScorer.Open(zip);
            Assert.Throws<ArgumentException>(() => other.Score(request));
        }

        private sealed class MmoeRow
        {
            [VectorType(12)]
            public float[] Dense { get; set; } = Array.Empty<float>();
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
        }

        [Fact]
        public void SmallMmoeMatchesTheMlNetPathAndAllocatesNothingPerRow()
        {
            var spec = new ReferenceNetworks.MmoeSpec
            {
                DenseInputs = 12,
                Ids = new[] { ("UserId", 50), ("LiveId", 20) },
                EmbeddingDim = 4,
                Experts = 3,
                ExpertLayers = new[] { 16, 8 },
                TowerLayers = new[] { 4 },
                Seed = 3,
            };
            var ml = new MLContext(seed: 1);
            var rng = new Random(4);
            var rows = Enumerable.Range(0, 64).Select(_ => new MmoeRow
            {
                Dense = OrtRunner.Random(rng, 12, 3f),
                UserId = (uint)rng.Next(50),
                LiveId = (uint)rng.Next(20),
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = TempZip();
            using (var model = ml.Ranker().Transforms.ApplyOnnxNetwork(ReferenceNetworks.Mmoe(spec)).Fit(data))
                ml.Model.Save(model, data.Schema, zip);
            var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
            var scored = loaded.Transform(data);
            var click = Rows.Column(scored, "ClickProbability");
            var buy = Rows.Column(scored, "BuyProbability");
            (loaded as IDisposable)?.Dispose();

            using var scorer = RequestScorer.Open(zip);
            using var request = scorer.CreateRequest(64);
            request.Load(data);
            scorer.Score(request);
            var pc = request.GetOutput<float>("ClickProbability");
            var pb = request.GetOutput<float>("BuyProbability");
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.True(Math.Abs(click[i] - pc[i]) <= 1e-6, $"click {i}: {click[i]} vs {pc[i]}");
                Assert.True(Math.Abs(buy[i] - pb[i]) <= 1e-6, $"buy {i}: {buy[i]} vs {pb[i]}");
            }
            Assert.True(click.Distinct().Count() > 10, "the scores vary across rows");

            // Managed allocation of one Score call does not grow with the number of rows.
            long Allocated(int n)
            {
                request.Count = n;
                scorer.Score(request); // caches the ONNX Runtime values for this size
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int k = 0; k < 10; k++)
                    scorer.Score(request);
                return (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
            }
            long small = Allocated(2), large = Allocated(64);
            Assert.True(large - small < 256, $"per-call allocation grows with rows: {small} B for 2 rows, {large} B for 64");
        }

        [Fact]
        public void TheMlNetPrefixPathAllocatesNothingPerRow()
        {
            var ml = new MLContext(seed: 1);
            var rng = new Random(5);
            var rows = Enumerable.Range(0, 64).Select(i => new RawRow
            {
                A = OrtRunner.Random(rng, 3),
                B = OrtRunner.Random(rng, 2),
                UserId = (uint)rng.Next(TinyRanker.Users),
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Transforms.Concatenate("Features", "A", "B")
                .Append(ml.Ranker().Transforms.ApplyOnnxNetwork(TinyRanker.Create(6).Build()));
            string zip = TempZip();
            using (var model = pipeline.Fit(data))
                ml.Model.Save(model, data.Schema, zip);
            using var scorer = RequestScorer.Open(zip);
            using var request = scorer.CreateRequest(64);
            request.Load(data);
            long Allocated(int n)
            {
                request.Count = n;
                scorer.Score(request);
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int k = 0; k < 10; k++)
                    scorer.Score(request);
                return (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
            }
            long small = Allocated(2), large = Allocated(64);
            Assert.True(large - small < 256, $"per-call allocation grows with rows: {small} B for 2 rows, {large} B for 64");
        }
    }
}
