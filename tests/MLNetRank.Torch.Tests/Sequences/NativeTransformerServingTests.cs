using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Serving;
using MLNetRank.Serving.Native;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>The request scorer evaluates a trained V4 transformer natively (graph cut at the block, managed kernel) with the
    /// same scores as its ONNX path and ML.NET's, over requests of varied lengths, on every kernel path, with and without the
    /// room cache; native off is the ONNX path; a reopened scorer scores identically.</summary>
    [Collection("TorchSharp")]
    public class NativeTransformerServingTests
    {
        private readonly ITestOutputHelper _out;

        public NativeTransformerServingTests(ITestOutputHelper output) => _out = output;

        /// <summary>The transformer network of <see cref="SequenceNetworkTests"/> with d = 16 (the kernel's sizes): the room's
        /// 5 core products and 8 products on sale, the user's last 20 clicked items.</summary>
        internal static MultiTaskEstimator.Options Options()
        {
            var o = new MultiTaskEstimator.Options { Epochs = 1, BatchSize = 128, Experts = 2, ExpertLayers = new[] { 16 }, TowerLayers = new[] { 8 }, ShuffleBufferSize = 1000, Seed = 3 };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, 16) { MaximumLength = 8 });
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveCoreItems) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, MaximumLength = 5 });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserItemSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20,
                Pooling = new TransformerPooling(ImpressionColumns.LiveCoreItems, ImpressionColumns.LiveItemsOnSale) { Layers = 2, Heads = 4 },
            });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserLiveSeq) { SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = true });
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
            return o;
        }

        private static void AssertClose(IReadOnlyDictionary<string, Array> expected, IReadOnlyDictionary<string, Array> actual, string what, double tolerance = 1e-5)
        {
            foreach (var (name, e) in expected)
            {
                var a = (float[])actual[name];
                var x = (float[])e;
                Assert.Equal(x.Length, a.Length);
                for (int i = 0; i < x.Length; i++)
                    Assert.True(Math.Abs(a[i] - x[i]) <= tolerance * Math.Max(1, Math.Abs(x[i])), $"{what}: {name} row {i}: {a[i]} vs {x[i]}");
            }
        }

        /// <summary>Requests built by hand over the lengths that matter: empty history, 1 token, 20 (the maximum), 33 (the last
        /// 20 kept), padding zeros inside; rooms with no core product and 1 product on sale, and with the most tokens.</summary>
        private static float[][] ScoreHandMade(RequestScorer scorer, uint[][] users, (uint[] Core, uint[] OnSale)[] rooms, string output)
        {
            using var request = scorer.CreateRequest(rooms.Length);
            var results = new List<float[]>();
            foreach (var user in users)
            {
                request.Count = rooms.Length;
                for (int i = 0; i < rooms.Length; i++)
                {
                    request.SetValues<float>(ImpressionColumns.StatFeatures, i, Enumerable.Range(0, 25).Select(k => (float)((k * 7 + i) % 5) / 5f).ToArray());
                    request.SetValue(ImpressionColumns.LiveId, i, (uint)(i % 50 + 1));
                    request.SetValues<uint>(ImpressionColumns.LiveCoreItems, i, rooms[i].Core);
                    request.SetValues<uint>(ImpressionColumns.LiveItemsOnSale, i, rooms[i].OnSale);
                    request.SetValues<uint>(ImpressionColumns.UserItemSeq, i, user);
                    request.SetValues<uint>(ImpressionColumns.UserLiveSeq, i, new uint[] { 3, 9, 14 });
                }
                scorer.Score(request);
                results.Add(request.GetOutput<float>(output).ToArray());
            }
            return results.ToArray();
        }

        /// <summary>The kernel on the module's own parameters (exported by <c>NativeParameters</c>) = TorchSharp's forward of the
        /// block's output, to 1e-5, with padding anywhere in the masks, an empty history, a long one (positions clamped), and
        /// rooms from the summary alone to all tokens; perturbed parameters (not the initial ones).</summary>
        [Theory]
        [InlineData(2, 4)]
        [InlineData(3, 2)]
        public void Kernel_EqualsTheModulesForward(int layers, int heads)
        {
            const int D = 16, L = 50, B = 6;
            var context = new SequencePoolingContext("UserItemSeq", D, L, new[] { D, D }, new[] { 5, 9 });
            using var module = (TransformerModule)new TransformerPooling("core", "onsale") { Layers = layers, Heads = heads }.CreateModule(context);
            module.eval();
            manual_seed(4);
            using (no_grad())
                foreach (var p in module.parameters())
                    p.add_(randn_like(p).mul(MLNetRank.Torch.Layers.Scalars.Of(0.3f)));
            var r = new Random(2);
            float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
            var userMasks = new[] { Enumerable.Repeat(1f, L).ToArray(), new float[L], Enumerable.Range(0, L).Select(t => t % 3 == 1 ? 0f : 1f).ToArray() };
            var coreMask = new float[B * 5];
            var saleMask = new float[B * 9];
            for (int c = 0; c < B; c++)
            {
                for (int t = 0; t < 5; t++)
                    coreMask[c * 5 + t] = c == 0 ? 0 : c == 1 ? (t == 4 ? 1 : 0) : ((t + c) % 4 == 0 ? 0 : 1);
                for (int t = 0; t < 9; t++)
                    saleMask[c * 9 + t] = c == 0 ? 0 : c == 5 ? 1 : ((t * c) % 3 == 0 ? 0 : 1);
            }
            var core = Rand(B * 5 * D);
            var sale = Rand(B * 9 * D);
            var user = Rand(L * D);
            var np = module.NativeParameters()!;
            var block = new TransformerBlock(np);
            foreach (var um in userMasks)
            {
                using var scope = NewDisposeScope();
                var batch = new SequencePoolingBatch(tensor(user, new long[] { 1, L, D }), tensor(um, new long[] { 1, L }),
                    new[] { tensor(core, new long[] { B, 5, D }), tensor(sale, new long[] { B, 9, D }) },
                    new[] { tensor(coreMask, new long[] { B, 5 }), tensor(saleMask, new long[] { B, 9 }) });
                float[] expected;
                using (no_grad())
                    expected = module.forward(batch).data<float>().ToArray();
                // the kernel's input: the real tokens of each source, in order
                var ws = new TransformerWorkspace(block, B, L, 14);
                int n = 0;
                for (int t = 0; t < L; t++)
                    if (um[t] > 0)
                        Array.Copy(user, t * D, ws.UserTokens, n++ * D, D);
                ws.UserCount = n;
                for (int c = 0; c < B; c++)
                {
                    int k = 0;
                    foreach (var (values, mask, len, s) in new[] { (core, coreMask, 5, 0), (sale, saleMask, 9, 1) })
                    {
                        int count = 0;
                        for (int t = 0; t < len; t++)
                            if (mask[c * len + t] > 0)
                            {
                                Array.Copy(values, (c * len + t) * D, ws.RoomTokens, (c * 14 + k++) * D, D);
                                count++;
                            }
                        ws.RoomCounts[c * 2 + s] = count;
                    }
                }
                foreach (var kernelPath in new[] { KernelPath.Auto, KernelPath.Avx2, KernelPath.Avx2Single, KernelPath.Scalar })
                {
                    var actual = new float[B * D];
                    TransformerKernel.Score(block, ws, B, actual, kernelPath);
                    for (int i = 0; i < actual.Length; i++)
                        Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{kernelPath}, {um.Count(m => m > 0)} user tokens: candidate {i / D} value {i % D}: kernel {actual[i]} vs TorchSharp {expected[i]}");
                }
            }
        }

        [Fact]
        public void NativeScores_EqualTheOnnxPathAndMLNet_OnEveryPathAndWithTheRoomCache()
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(150));
            var data = sim.GetImpressions(ml);
            using var model = ml.Ranker().Trainers.MultiTask(Options()).Fit(data);
            var scored = model.Transform(data);
            var path = Path.Combine(Path.GetTempPath(), $"native-tf-{Guid.NewGuid():N}.zip");
            var forced = TransformerKernel.ForcedPath;
            try
            {
                ml.Model.Save(model, data.Schema, path);
                using var onnxPath = RequestScorer.Open(path, new RequestScorerOptions { NativeKernels = false });
                using var native = RequestScorer.Open(path, new RequestScorerOptions { RoomCacheCapacity = 100_000 });
                using var uncached = RequestScorer.Open(path);
                Assert.Null(uncached.Plan.Steps.SelectMany(s => s.Stage.Natives).Single().Cache);   // off by default
                Assert.Empty(onnxPath.NativeBlocks);
                Assert.Single(native.NativeBlocks);
                Assert.Single(uncached.NativeBlocks);
                // the public inputs are the saved network's (the cut is internal)
                Assert.Equal(onnxPath.NetworkInputs.Select(i => i.Name), native.NetworkInputs.Select(i => i.Name));
                Assert.Equal(onnxPath.RequestColumns.Select(c => c.Name), native.RequestColumns.Select(c => c.Name));

                // the simulator's requests (8 candidates of one user each): native = ONNX path = ML.NET
                var reference = onnxPath.ScoreAll(data, batchSize: 8);
                var nativeScores = native.ScoreAll(data, batchSize: 8);
                AssertClose(reference, nativeScores, "native vs ONNX path");
                foreach (var name in model.OutputColumnNames)
                {
                    var mlnet = SequenceNetworkTests.Column(scored, name);
                    var b = (float[])nativeScores[name];
                    for (int i = 0; i < b.Length; i++)
                        Assert.True(Math.Abs(b[i] - mlnet[i]) <= 1e-5 * Math.Max(1, Math.Abs(mlnet[i])), $"native vs ML.NET: {name} row {i}: {b[i]} vs {mlnet[i]}");
                }
                // the second pass reads every room from the cache: the same scores, bit for bit
                var cacheStage = native.Plan.Steps.SelectMany(s => s.Stage.Natives).Single();
                long missesBefore = cacheStage.Cache!.Misses;
                Assert.Equal(nativeScores["ClickProbability"], (float[])native.ScoreAll(data, batchSize: 8)["ClickProbability"]);
                Assert.True(cacheStage.Cache.Hits > 0);
                Assert.Equal(missesBefore, cacheStage.Cache.Misses);
                Assert.Equal(nativeScores["ClickProbability"], (float[])uncached.ScoreAll(data, batchSize: 8)["ClickProbability"]);
                // a "request" spanning two users' rows is refused as on the ONNX path, the column named
                var ex = Assert.Throws<InvalidOperationException>(() => native.ScoreAll(data, batchSize: 16));
                Assert.Contains("SameForAllCandidates", ex.Message);
                Assert.Contains(ImpressionColumns.UserItemSeq, ex.Message);

                // hand-made requests over the lengths that matter
                var users = new[]
                {
                    Array.Empty<uint>(),
                    new uint[] { 17 },
                    Enumerable.Range(1, 20).Select(k => (uint)(k * 13 % 590 + 1)).ToArray(),
                    Enumerable.Range(1, 33).Select(k => (uint)(k * 29 % 590 + 1)).ToArray(),
                    new uint[] { 0, 0, 41, 0, 42, 43, 0 },
                };
                var rooms = new[]
                {
                    (Array.Empty<uint>(), new uint[] { 5 }),
                    (new uint[] { 1, 2, 3, 4, 5 }, new uint[] { 6, 7, 8, 9, 10, 11, 12, 13 }),
                    (new uint[] { 0, 44 }, new uint[] { 45, 0, 46 }),
                    (new uint[] { 7, 8, 9, 10, 11, 12, 13 }, Enumerable.Range(100, 12).Select(k => (uint)k).ToArray()),
                    (Array.Empty<uint>(), Array.Empty<uint>()),
                };
                var expected = ScoreHandMade(onnxPath, users, rooms, "ClickProbability");
                foreach (var kernelPath in new[] { KernelPath.Auto, KernelPath.Avx2, KernelPath.Avx2Single, KernelPath.Scalar })
                {
                    TransformerKernel.ForcedPath = kernelPath;
                    foreach (var scorer in new[] { native, uncached })
                    {
                        var actual = ScoreHandMade(scorer, users, rooms, "ClickProbability");
                        for (int u = 0; u < users.Length; u++)
                            for (int i = 0; i < rooms.Length; i++)
                                Assert.True(Math.Abs(actual[u][i] - expected[u][i]) <= 1e-5, $"{kernelPath}: user {u} room {i}: {actual[u][i]} vs ONNX {expected[u][i]}");
                    }
                }
                TransformerKernel.ForcedPath = forced;
                // concurrent requests on one scorer (shared room cache): each thread's scores equal the ONNX path's
                System.Threading.Tasks.Parallel.For(0, 4, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
                {
                    for (int k = 0; k < 3; k++)
                    {
                        var actual = ScoreHandMade(native, users, rooms, "ClickProbability");
                        for (int u = 0; u < users.Length; u++)
                            for (int i = 0; i < rooms.Length; i++)
                                Assert.True(Math.Abs(actual[u][i] - expected[u][i]) <= 1e-5, $"concurrent: user {u} room {i}: {actual[u][i]} vs ONNX {expected[u][i]}");
                    }
                });
                // the block's output really feeds the scores: the users' histories change them
                Assert.NotEqual(expected[0][1], expected[2][1]);

                // a new scorer on the saved zip scores identically
                using var reopened = RequestScorer.Open(path, new RequestScorerOptions { RoomCacheCapacity = 100_000 });
                Assert.Equal(nativeScores["ClickProbability"], (float[])reopened.ScoreAll(data, batchSize: 8)["ClickProbability"]);
                _out.WriteLine($"native blocks: {string.Join(", ", native.NativeBlocks)}; cache {cacheStage.Cache.Count} rooms, {cacheStage.Cache.Hits} hits, {cacheStage.Cache.Misses} misses");
            }
            finally
            {
                TransformerKernel.ForcedPath = forced;
                File.Delete(path);
            }
        }
    }
}
