using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Onnx;
using MLNetRank.Serving;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    [Collection(LightGbmCollection.Name)]
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
            Assert.Equal(Outputs, scorer.OutputColumns.Select(c => c.Name));
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

        [Fact]
        public void ScoreAllMatchesTheMlNetPathAcrossBatches()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(41);
            var rows = Rows.Make(100, 42);
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = SaveNetworkOnly(ml, net, data);
            var expected = MlNetScores(zip, data);
            using var scorer = RequestScorer.Open(zip);
            foreach (int batch in new[] { 32, 100, 256 })
            {
                var all = scorer.ScoreAll(data, batch);
                foreach (var name in Outputs)
                {
                    var actual = Assert.IsType<float[]>(all[name]);
                    Assert.Equal(expected[name].Length, actual.Length);
                    for (int i = 0; i < actual.Length; i++)
                        Assert.True(Math.Abs(expected[name][i] - actual[i]) <= 1e-6, $"batch {batch}, {name}[{i}]");
                }
            }
            var empty = scorer.ScoreAll(ml.Data.LoadFromEnumerable(new List<Row>()));
            Assert.Empty(Assert.IsType<float[]>(empty["ClickProbability"]));
        }

        [Fact]
        public void ConcurrentRequestsOnOneScorerGiveTheSameScores()
        {
            var ml = new MLContext(seed: 1);
            var rng = new Random(51);
            var rows = Enumerable.Range(0, 80).Select(i => new RawRow
            {
                A = OrtRunner.Random(rng, 3, 2f),
                B = OrtRunner.Random(rng, 2, 2f),
                UserId = (uint)rng.Next(TinyRanker.Users),
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Transforms.Concatenate("Features", "A", "B")
                .Append(ml.Ranker().Transforms.ApplyOnnxNetwork(TinyRanker.Create(52).Build()));
            string zip = TempZip();
            using (var model = pipeline.Fit(data))
                ml.Model.Save(model, data.Schema, zip);
            var expected = MlNetScores(zip, data)["ClickProbability"];

            using var scorer = RequestScorer.Open(zip);
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            System.Threading.Tasks.Parallel.For(0, 4, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
            {
                using var request = scorer.CreateRequest(20);
                for (int round = 0; round < 25; round++)
                {
                    int start = ((t * 25 + round) * 7) % 60;
                    request.Count = 20;
                    for (int i = 0; i < 20; i++)
                    {
                        request.SetValues<float>("A", i, rows[start + i].A);
                        request.SetValues<float>("B", i, rows[start + i].B);
                        request.SetValue("UserId", i, rows[start + i].UserId);
                    }
                    scorer.Score(request);
                    var p = request.GetOutput<float>("ClickProbability");
                    for (int i = 0; i < 20; i++)
                        if (Math.Abs(p[i] - expected[start + i]) > 1e-6)
                            failures.Add($"thread {t}, round {round}, row {start + i}: {p[i]} vs {expected[start + i]}");
                }
            });
            Assert.Empty(failures);
        }

        private sealed class TwoStageRow
        {
            [VectorType(5)]
            public float[] Features { get; set; } = Array.Empty<float>();

            [VectorType(2)]
            public float[] Extra { get; set; } = Array.Empty<float>();

            public uint UserId { get; set; }
        }

        [Fact]
        public void BatchesEveryNetworkOfAChainWithMlNetTransformsBetween()
        {
            var rng = new Random(61);
            // Network 1: Features [5] -> Hidden [4]. Network 2: Z = Hidden ++ Extra [6], UserId -> Score.
            var g1 = new OnnxGraphBuilder("encoder");
            g1.AddInput("Features", new long[] { -1, 5 });
            g1.AddOutput(g1.Relu(g1.Dense("Features", OrtRunner.Random(rng, 20), OrtRunner.Random(rng, 4), 5, 4), "Hidden"), new long[] { -1, 4 });
            var g2 = new OnnxGraphBuilder("head");
            g2.AddInput("Z", new long[] { -1, 6 });
            var id = g2.AddInput("UserId", Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64, new long[] { -1, 1 });
            var emb = g2.Reshape(g2.Embedding(id, OrtRunner.Random(rng, 6 * 2), 6, 2), new long[] { -1, 2 });
            g2.AddOutput(g2.Sigmoid(g2.Dense(g2.Concat(1, new[] { "Z", emb }), OrtRunner.Random(rng, 8), new[] { 0.1f }, 8, 1), "Score"), new long[] { -1, 1 });

            var ml = new MLContext(seed: 1);
            var rows = Enumerable.Range(0, 30).Select(_ => new TwoStageRow
            {
                Features = OrtRunner.Random(rng, 5, 2f),
                Extra = OrtRunner.Random(rng, 2, 2f),
                UserId = (uint)rng.Next(6),
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Ranker().Transforms.ApplyOnnxNetwork(g1.ToBytes())
                .Append(ml.Transforms.Concatenate("Z", "Hidden", "Extra"))
                .Append(ml.Ranker().Transforms.ApplyOnnxNetwork(g2.ToBytes()))
                .Append(ml.Transforms.DropColumns("Z"));
            string zip = TempZip();
            using (var model = pipeline.Fit(data))
            {
                ml.Model.Save(model, data.Schema, zip);
                foreach (var t in model)
                    (t as IDisposable)?.Dispose();
            }
            var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
            var scored = loaded.Transform(data);
            var expectedScore = Rows.Column(scored, "Score");
            var expectedHidden = Rows.Column(scored, "Hidden");
            (loaded as IDisposable)?.Dispose();

            using var scorer = RequestScorer.Open(zip);
            Assert.Equal(2, scorer.NetworkCount);
            Assert.True(scorer.HasPrefix);
            Assert.Equal(new[] { "Hidden", "Score" }, scorer.OutputColumns.Select(c => c.Name)); // DropColumns("Z") adds nothing
            Assert.Equal(new[] { "Extra", "Features", "UserId" }, scorer.RequestColumns.Select(c => c.Name));
            using var request = scorer.CreateRequest(32);
            request.Load(data);
            scorer.Score(request);
            var score = request.GetOutput<float>("Score");
            var hidden = request.GetOutput<float>("Hidden");
            Assert.Equal(30, score.Length);
            Assert.Equal(120, hidden.Length);
            for (int i = 0; i < score.Length; i++)
                Assert.True(Math.Abs(expectedScore[i] - score[i]) <= 1e-6, $"Score[{i}]: {expectedScore[i]} vs {score[i]}");
            for (int i = 0; i < hidden.Length; i++)
                Assert.True(Math.Abs(expectedHidden[i] - hidden[i]) <= 1e-6, $"Hidden[{i}]");
            var all = scorer.ScoreAll(data, 7);
            var allScore = Assert.IsType<float[]>(all["Score"]);
            for (int i = 0; i < allScore.Length; i++)
                Assert.True(Math.Abs(expectedScore[i] - allScore[i]) <= 1e-6);
        }

        private sealed class SeqRow
        {
            [VectorType(3)]
            public float[] Features { get; set; } = Array.Empty<float>();

            [VectorType]
            public uint[] Seq { get; set; } = Array.Empty<uint>();
        }

        [Fact]
        public void SequenceInputsAreBatchedByLengthAndMatchTheMlNetPath()
        {
            // Score = Sigmoid(Dense(Features ++ mean of the sequence's embeddings)); Seq is a variable-size UInt32 vector
            // read by an int64 [-1, -1] input (cast inside the graph by ApplyOnnxNetwork).
            var rng = new Random(71);
            var g = new OnnxGraphBuilder("seq");
            g.AddInput("Features", new long[] { -1, 3 });
            var seq = g.AddInput("Seq", Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64, new long[] { -1, -1 });
            var pooled = g.ReduceMean(g.Embedding(seq, OrtRunner.Random(rng, 10 * 4), 10, 4), new long[] { 1 }, keepDims: false); // [N, 4]
            g.AddOutput(g.Sigmoid(g.Dense(g.Concat(1, new[] { "Features", pooled }), OrtRunner.Random(rng, 7), new[] { 0.2f }, 7, 1), "Score"), new long[] { -1, 1 });

            var ml = new MLContext(seed: 1);
            int[] lengths = { 3, 1, 3, 2, 5, 1, 3, 3, 2, 4, 1, 1 };
            var rows = lengths.Select(n => new SeqRow
            {
                Features = OrtRunner.Random(rng, 3, 2f),
                Seq = Enumerable.Range(0, n).Select(_ => (uint)rng.Next(10)).ToArray(),
            }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            string zip = TempZip();
            using (var model = ml.Ranker().Transforms.ApplyOnnxNetwork(g.ToBytes()).Fit(data))
                ml.Model.Save(model, data.Schema, zip);
            var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
            var expected = Rows.Column(loaded.Transform(data), "Score");
            (loaded as IDisposable)?.Dispose();

            using var scorer = RequestScorer.Open(zip);
            Assert.True(scorer.RequestColumns.Single(c => c.Name == "Seq").IsVariableSize);
            using var request = scorer.CreateRequest(16);
            request.Load(data);
            scorer.Score(request);
            var score = request.GetOutput<float>("Score");
            for (int i = 0; i < rows.Count; i++)
                Assert.True(Math.Abs(expected[i] - score[i]) <= 1e-6, $"row {i} (length {lengths[i]}): {expected[i]} vs {score[i]}");

            // A request where every candidate shares the user's sequence (the usual case) is a single call; set by hand.
            request.Count = 5;
            for (int i = 0; i < 5; i++)
            {
                request.SetValues<float>("Features", i, rows[i].Features);
                request.SetValues<uint>("Seq", i, rows[0].Seq);
            }
            scorer.Score(request);
            var same = request.GetOutput<float>("Score").ToArray();
            var check = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 5).Select(i => new SeqRow { Features = rows[i].Features, Seq = rows[0].Seq }).ToList());
            var reloaded = new MLContext(seed: 3).Model.Load(zip, out _);
            var expectedSame = Rows.Column(reloaded.Transform(check), "Score");
            (reloaded as IDisposable)?.Dispose();
            for (int i = 0; i < 5; i++)
                Assert.True(Math.Abs(expectedSame[i] - same[i]) <= 1e-6);
            var bad = Assert.Throws<ArgumentException>(() => request.SetValue("Seq", 0, 1u));
            Assert.Contains("variable-size", bad.Message);
        }

        public sealed class MultiTaskRow
        {
            [VectorType(6)] public float[] Features { get; set; } = new float[6];
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveSeq { get; set; } = Array.Empty<uint>();
        }

        private sealed class MultiTaskExpected
        {
            public MultiTaskRow[] Rows { get; set; } = Array.Empty<MultiTaskRow>();
            public string[] Columns { get; set; } = Array.Empty<string>();
            public float[][] Values { get; set; } = Array.Empty<float[]>();
        }

        [Fact]
        public void ScoresAMultiTaskModelTrainedByMLNetRankTorchExactly()
        {
            // The multi-task zip (TorchSharp-trained MMoE-style network exported to ONNX, with ML.NET transforms before it and
            // a variable-length LiveSeq input) that the serving tests load, with the scores of the training process.
            string fixtures = Path.Combine(MLNetRank.TestSupport.TestData.RepoRoot() ?? throw new InvalidOperationException("repository root not found"),
                "tests", "MLNetRank.Serving.Tests", "Fixtures");
            string zip = Path.Combine(fixtures, "multitask.zip");
            Assert.True(File.Exists(zip), $"fixture {zip} is missing (written by MLNetRank.Torch.Tests' ServingFixtureTests)");
            var expected = System.Text.Json.JsonSerializer.Deserialize<MultiTaskExpected>(File.ReadAllText(Path.Combine(fixtures, "multitask-expected.json")))!;
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(expected.Rows);

            using var scorer = RequestScorer.Open(zip);
            Assert.Contains(scorer.RequestColumns, c => c.Name == "LiveSeq" && c.IsVariableSize);
            using var request = scorer.CreateRequest(expected.Rows.Length);
            request.Load(data);
            scorer.Score(request);
            var loaded = ml.Model.Load(zip, out _);
            var scored = loaded.Transform(data);
            for (int c = 0; c < expected.Columns.Length; c++)
            {
                var name = expected.Columns[c];
                var actual = request.GetOutput<float>(name).ToArray();
                Assert.Equal(expected.Values[c], actual);
                Assert.Equal(Rows.Column(scored, name), actual);
            }
            (loaded as IDisposable)?.Dispose();
        }

        [Fact]
        public void AppliesTheTransformsAfterTheLastNetwork()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(91);
            var rows = Rows.Make(20, 92);
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Ranker().Transforms.ApplyOnnxNetwork(net.Build())
                .Append(ml.Transforms.Concatenate("Both", "ClickProbability", "BuyProbability"))
                .Append(ml.Transforms.CopyColumns("Final", "ClickScore"))
                .Append(ml.Transforms.DropColumns("ClickScore"));
            string zip = TempZip();
            using (var model = pipeline.Fit(data))
            {
                ml.Model.Save(model, data.Schema, zip);
                foreach (var t in model)
                    (t as IDisposable)?.Dispose();
            }
            var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
            var scored = loaded.Transform(data);
            using var scorer = RequestScorer.Open(zip);
            Assert.Contains(scorer.OutputColumns, c => c.Name == "Both" && c.ValuesPerRow == 2);
            Assert.Contains(scorer.OutputColumns, c => c.Name == "Final");
            using var request = scorer.CreateRequest(20);
            request.Load(data);
            scorer.Score(request);
            Assert.Equal(Rows.Column(scored, "Both"), request.GetOutput<float>("Both").ToArray());
            Assert.Equal(Rows.Column(scored, "Final"), request.GetOutput<float>("Final").ToArray());
            Assert.Equal(2, request.GetOutputWidth("Both"));
            var all = scorer.ScoreAll(data, 8);
            Assert.Equal(Rows.Column(scored, "Both"), Assert.IsType<float[]>(all["Both"]));
            (loaded as IDisposable)?.Dispose();
        }

        [Fact]
        public void ScoresAGbdtLeafEncodingLikeTheMlNetPath()
        {
            // EncodeGbdtLeaves saves an ONNX tree graph followed by ML.NET transforms that shape its leaf columns.
            const int f = 5;
            var ml = new MLContext(seed: 7);
            var train = MLNetRank.Tests.Gbdt.GbdtTestData.Load(ml, MLNetRank.Tests.Gbdt.GbdtTestData.Rows(600, f, seed: 8, nanRate: 0.1), f);
            string zip = TempZip();
            using (var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new MLNetRank.Gbdt.GbdtLeafEncodingEstimator.Options
            {
                Trainer = MLNetRank.Gbdt.GbdtLeafTrainer.LightGbm, IndicatorColumnName = "LeafIndicators", NumberOfTrees = 6, NumberOfLeaves = 7,
                MinimumExampleCountPerLeaf = 5,
            }).Fit(train))
                ml.Model.Save(model, train.Schema, zip);
            var rows = MLNetRank.Tests.Gbdt.GbdtTestData.Load(ml, MLNetRank.Tests.Gbdt.GbdtTestData.StressRows(100, f, seed: 9), f);
            var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
            var scored = loaded.Transform(rows);

            using var scorer = RequestScorer.Open(zip);
            using var request = scorer.CreateRequest(100);
            request.Load(rows);
            scorer.Score(request);
            Assert.Equal(Rows.Column(scored, "LeafIndicators"), request.GetOutput<float>("LeafIndicators").ToArray());
            var ids = scored.Schema["LeafIds"];
            var expectedIds = new List<uint>();
            using (var cursor = scored.GetRowCursor(new[] { ids }))
            {
                var getter = cursor.GetGetter<VBuffer<uint>>(ids);
                VBuffer<uint> v = default;
                while (cursor.MoveNext())
                {
                    getter(ref v);
                    expectedIds.AddRange(v.DenseValues());
                }
            }
            Assert.Equal(expectedIds, request.GetOutput<uint>("LeafIds").ToArray());
            (loaded as IDisposable)?.Dispose();
        }
    }
}
