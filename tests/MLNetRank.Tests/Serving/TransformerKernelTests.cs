using System;
using System.Linq;
using System.Runtime.Intrinsics;
using MLNetRank.Serving.Native;
using Xunit;

namespace MLNetRank.Tests.Serving
{
    /// <summary>The native transformer kernel (request scorer) against a plain double-precision reference of the V4
    /// transformer's definition (TorchSharp's forward: types, recency positions, the mask, summary-only last layer), on every
    /// path (AVX-512, AVX2, scalar), over varied lengths; the room cache's hits equal its misses.</summary>
    public class TransformerKernelTests
    {
        internal static TransformerParameters RandomParameters(int seed, int d = 16, int heads = 4, int ff = 64, int layers = 2, int positions = 20, int segments = 2)
        {
            var r = new Random(seed);
            float[] F(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
            float[] G(int n) => Enumerable.Range(0, n).Select(_ => (float)(1 + (r.NextDouble() - 0.5) * 0.4)).ToArray();
            return new TransformerParameters
            {
                Dimension = d, Heads = heads, FeedForward = ff, Layers = layers, Positions = positions, Segments = segments,
                TypeEmbedding = F((segments + 2) * d, 0.3), PositionEmbedding = F(positions * d, 0.3), Summary = F(d, 0.5),
                LayerParameters = Enumerable.Range(0, layers).Select(_ => new LayerParameters
                {
                    Norm1Gain = G(d), Norm1Bias = F(d, 0.1), QkvWeight = F(3 * d * d, 0.4), QkvBias = F(3 * d, 0.1), ProjWeight = F(d * d, 0.3), ProjBias = F(d, 0.1),
                    Norm2Gain = G(d), Norm2Bias = F(d, 0.1), Ff1Weight = F(ff * d, 0.3), Ff1Bias = F(ff, 0.1), Ff2Weight = F(d * ff, 0.2), Ff2Bias = F(d, 0.1),
                }).ToArray(),
                FinalGain = G(d), FinalBias = F(d, 0.1),
            };
        }

        // ---------------- reference (double) ----------------

        private static double[] Ln(double[] x, float[]? g, float[]? b)
        {
            double m = x.Average(), v = x.Select(t => (t - m) * (t - m)).Average();
            return x.Select((t, i) => (t - m) / Math.Sqrt(v + 1e-5) * (g?[i] ?? 1) + (b?[i] ?? 0)).ToArray();
        }

        private static double[] Linear(double[] x, float[] w, float[] b, int outs)
        {
            var y = new double[outs];
            for (int o = 0; o < outs; o++)
            {
                double s = b[o];
                for (int i = 0; i < x.Length; i++)
                    s += w[o * x.Length + i] * x[i];
                y[o] = s;
            }
            return y;
        }

        /// <summary>One pre-norm layer: each query token attends the key tokens (token states, not yet normed).</summary>
        private static double[][] RefLayer(TransformerParameters p, LayerParameters l, double[][] queries, double[][] keys)
        {
            int d = p.Dimension, dh = d / p.Heads;
            var kv = keys.Select(t => Linear(Ln(t, l.Norm1Gain, l.Norm1Bias), l.QkvWeight, l.QkvBias, 3 * d)).ToArray();
            return queries.Select(x =>
            {
                var q = Linear(Ln(x, l.Norm1Gain, l.Norm1Bias), l.QkvWeight, l.QkvBias, 3 * d);
                var o = new double[d];
                for (int h = 0; h < p.Heads; h++)
                {
                    var s = kv.Select(k => Enumerable.Range(0, dh).Sum(j => q[h * dh + j] * k[d + h * dh + j]) / Math.Sqrt(dh)).ToArray();
                    double mx = s.Max();
                    var e = s.Select(t => Math.Exp(t - mx)).ToArray();
                    double z = e.Sum();
                    for (int j = 0; j < dh; j++)
                        o[h * dh + j] = Enumerable.Range(0, kv.Length).Sum(k => e[k] * kv[k][2 * d + h * dh + j]) / z;
                }
                var y = Linear(o, l.ProjWeight, l.ProjBias, d).Select((t, j) => t + x[j]).ToArray();
                var f = Linear(Linear(Ln(y, l.Norm2Gain, l.Norm2Bias), l.Ff1Weight, l.Ff1Bias, p.FeedForward).Select(t => Math.Max(0, t)).ToArray(), l.Ff2Weight, l.Ff2Bias, d);
                return y.Select((t, j) => t + f[j]).ToArray();
            }).ToArray();
        }

        internal static double[] Reference(TransformerParameters p, float[][] user, float[][][] segments)
        {
            int d = p.Dimension, S = p.Segments;
            double[] Tok(float[] e, int type, int pos) => Enumerable.Range(0, d).Select(j => (double)e[j] + p.TypeEmbedding[type * d + j] + p.PositionEmbedding[Math.Min(pos, p.Positions - 1) * d + j]).ToArray();
            var u = user.Select((e, t) => Tok(e, S, user.Length - 1 - t)).ToArray();
            var room = new[] { Enumerable.Range(0, d).Select(j => (double)p.Summary[j] + p.TypeEmbedding[(S + 1) * d + j]).ToArray() }
                .Concat(segments.SelectMany((seg, s) => seg.Select((e, k) => Tok(e, s, seg.Length - 1 - k)))).ToArray();
            for (int l = 0; l < p.Layers; l++)
            {
                var lp = p.LayerParameters[l];
                var keys = room.Concat(u).ToArray();
                if (l == p.Layers - 1)
                {
                    room = RefLayer(p, lp, new[] { room[0] }, keys);
                    break;
                }
                var newRoom = RefLayer(p, lp, room, keys);
                u = RefLayer(p, lp, u, u);
                room = newRoom;
            }
            return Ln(room[0], p.FinalGain, p.FinalBias);
        }

        // ---------------- helpers ----------------

        private static float[][] Tokens(Random r, int n, int d) => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, d).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray()).ToArray();

        /// <summary>A request: one user, candidates with the given per-segment token counts.</summary>
        private static (TransformerWorkspace Ws, float[][] User, float[][][][] Rooms) Request(TransformerBlock block, int seed, int userTokens, int[][] counts, int maxUser = 60, int maxRoom = 40)
        {
            var r = new Random(seed);
            int d = block.D;
            var ws = new TransformerWorkspace(block, counts.Length, maxUser, maxRoom);
            var user = Tokens(r, userTokens, d);
            ws.UserCount = userTokens;
            for (int t = 0; t < userTokens; t++)
                user[t].CopyTo(ws.UserTokens, t * d);
            var rooms = counts.Select(c => c.Select(n => Tokens(r, n, d)).ToArray()).ToArray();
            for (int c = 0; c < counts.Length; c++)
            {
                int k = 0;
                for (int s = 0; s < block.Segments; s++)
                {
                    ws.RoomCounts[c * block.Segments + s] = counts[c][s];
                    foreach (var tok in rooms[c][s])
                        tok.CopyTo(ws.RoomTokens, (c * maxRoom + k++) * d);
                }
            }
            return (ws, user, rooms);
        }

        private static KernelPath[] AvailablePaths()
            => new[] { KernelPath.Scalar }.Concat(Vector256.IsHardwareAccelerated ? new[] { KernelPath.Avx2, KernelPath.Avx2Single } : Array.Empty<KernelPath>())
                .Concat(Vector512.IsHardwareAccelerated ? new[] { KernelPath.Avx512 } : Array.Empty<KernelPath>()).ToArray();

        [Theory]
        [InlineData(2, 4, 50)]      // the configuration, full history
        [InlineData(2, 4, 0)]       // empty history: the room's tokens only
        [InlineData(2, 4, 1)]
        [InlineData(1, 4, 17)]      // one layer: the summary-only layer is the first
        [InlineData(3, 2, 33)]      // a middle full layer; 2 heads of dimension 8
        public void EveryPath_EqualsTheDoubleReference(int layers, int heads, int userTokens)
        {
            var p = RandomParameters(7 + layers * 10 + heads, heads: heads, layers: layers);
            var block = new TransformerBlock(p);
            // rooms: the summary alone, one token, 14 (a 16-lane group less one), 15 (exactly 16 lanes), 20 (two groups of 16),
            // and long segments past the position table (clamped positions)
            var counts = new[] { new[] { 0, 0 }, new[] { 0, 1 }, new[] { 5, 8 }, new[] { 5, 9 }, new[] { 6, 13 }, new[] { 25, 2 } };
            var (ws, user, rooms) = Request(block, 3, userTokens, counts);
            var expected = counts.Select((_, c) => Reference(p, user, rooms[c])).ToArray();
            var outputs = AvailablePaths().ToDictionary(path => path, path =>
            {
                var o = new float[counts.Length * block.D];
                TransformerKernel.Score(block, ws, counts.Length, o, path);
                return o;
            });
            Assert.Contains(KernelPath.Scalar, outputs.Keys);
            foreach (var (path, o) in outputs)
                for (int c = 0; c < counts.Length; c++)
                    for (int j = 0; j < block.D; j++)
                        Assert.True(Math.Abs(o[c * block.D + j] - expected[c][j]) <= 2e-5, $"{path}: candidate {c} value {j}: {o[c * block.D + j]} vs reference {expected[c][j]:G9}");
            // the vector paths equal the scalar one (same per-lane operations; only horizontal sums differ in order)
            foreach (var (path, o) in outputs)
                for (int i = 0; i < o.Length; i++)
                    Assert.True(Math.Abs(o[i] - outputs[KernelPath.Scalar][i]) <= 1e-6, $"{path} vs scalar at {i}: {o[i]} vs {outputs[KernelPath.Scalar][i]}");
        }

        [Fact]
        public void CachedRoomProjections_ScoreExactlyAsComputedOnes()
        {
            var p = RandomParameters(11);
            var block = new TransformerBlock(p);
            var counts = new[] { new[] { 5, 8 }, new[] { 0, 3 }, new[] { 9, 12 } };
            foreach (var path in AvailablePaths())
            {
                var (ws, _, _) = Request(block, 5, 50, counts);
                var miss = new float[counts.Length * block.D];
                ws.RoomToCache = counts.Select(c => new float[TransformerKernel.CacheEntryLength(block, c.Sum(), TransformerKernel.WidthOf(path))]).ToArray();
                TransformerKernel.Score(block, ws, counts.Length, miss, path);
                var entries = ws.RoomToCache;
                ws.RoomToCache = null;
                for (int c = 0; c < counts.Length; c++)
                {
                    Assert.Contains(entries[c]!, v => v != 0f);
                    ws.RoomCached[c] = entries[c];
                }
                var hit = new float[miss.Length];
                TransformerKernel.Score(block, ws, counts.Length, hit, path);
                Assert.Equal(miss, hit);
                // a wrong entry changes the scores: the cached projections are really read
                entries[0]![17] += 1f;
                TransformerKernel.Score(block, ws, counts.Length, hit, path);
                Assert.NotEqual(miss.AsSpan(0, block.D).ToArray(), hit.AsSpan(0, block.D).ToArray());
            }
        }

        [Fact]
        public void RoomCache_IsBoundedAndKeyedByContent()
        {
            var cache = new RoomCache(3);
            Assert.Null(cache.TryGet(new uint[] { 16, 1, 2, 7, 8, 9 }));
            cache.Add(new uint[] { 16, 1, 2, 7, 8, 9 }, new float[] { 1 });
            Assert.Equal(new float[] { 1 }, cache.TryGet(new uint[] { 16, 1, 2, 7, 8, 9 }));
            Assert.Null(cache.TryGet(new uint[] { 16, 2, 1, 7, 8, 9 }));
            cache.Add(new uint[] { 2 }, new float[] { 2 });
            cache.Add(new uint[] { 3 }, new float[] { 3 });
            Assert.Equal(3, cache.Count);
            cache.Add(new uint[] { 4 }, new float[] { 4 });   // full: emptied, then the new room
            Assert.Equal(1, cache.Count);
            Assert.Equal(1, cache.Clears);
            Assert.Equal(new float[] { 4 }, cache.TryGet(new uint[] { 4 }));
            Assert.Equal(2, cache.Hits);
        }

        [Fact]
        public void PolynomialExp_IsAccurate()
        {
            for (double x = -87; x <= 0; x += 0.01)
            {
                double e = Math.Exp((float)x);
                Assert.True(Math.Abs(ExpPoly.Exp((float)x) - e) <= 4e-7 * e, $"exp({x})");
            }
            Assert.Equal(0f, ExpPoly.Exp(float.NegativeInfinity));
            Assert.Equal(0f, ExpPoly.Exp(-100f));
        }

        [Fact]
        public void UnsupportedConfigurations_AreNamed()
        {
            Assert.Null(TransformerBlock.Unsupported(16, 4, 64));
            Assert.Contains("dimension 8", TransformerBlock.Unsupported(8, 2, 32));
            Assert.Contains("head dimension", TransformerBlock.Unsupported(16, 8, 64));
            Assert.Contains("feed-forward", TransformerBlock.Unsupported(16, 4, 40));
        }
    }
}
