using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Feasibility probe for the V4 transformer's serving latency (issue 11's ≤ 1 ms): the exported network's per-request
    /// computation (d = 16, 4 heads, feed-forward 64, 2 pre-norm layers, the last one for the summary token only; 50 user
    /// tokens computed once per request, each candidate's 14 room tokens attending the room's and the user's tokens)
    /// written as one fused managed kernel with 512-bit vectors (a 16-wide token is one register), checked against a
    /// plain double-precision reference on the same random weights, and timed in thread CPU per 200-candidate request.
    /// The probe kernel itself is not wired into the request scorer; <c>--native</c> times the request scorer's kernel
    /// (src/MLNetRank/Serving/Native, session 9) on the same shapes instead.
    /// </summary>
    internal sealed class TransformerKernelProbe : IBench
    {
        private const int D = 16, H = 4, Hd = 4, F = 64, Keys = 64;

        private static readonly Option<int> RequestsOption = BenchOption.Of("--requests", 300, "requests timed");
        private static readonly Option<int> CandidatesOption = BenchOption.Of("--candidates", 200, "candidates per request");
        private static readonly Option<int> RoomTokensOption = BenchOption.Of("--room-tokens", 14, "room tokens per candidate (summary + core + on sale), at most 14");
        private static readonly Option<int> LengthOption = BenchOption.Of("--length", 50, "user tokens (sequence length), at most 50");
        private static readonly Option<bool> RoomCacheOption = BenchOption.Flag("--room-cache", "the room tokens' layer-1 query/key/value read from a per-room cache (filled before timing) instead of computed per request: what such a cache would save");
        private static readonly Option<bool> NativeOption = BenchOption.Flag("--native", "time the request scorer's native kernel (src/MLNetRank/Serving/Native: queries in lanes, the path the CPU accelerates or DOTNET_EnableAVX512=0 forces to AVX2; on .NET 10 DOTNET_EnableAVX512F=0 does not) on the same shapes instead of the probe's kernel; with --room-cache, the rooms' layer-1 projections come from its room cache");
        private static readonly Option<string> ExpOption = BenchOption.Of("--exp", "polynomial", "softmax exponential: polynomial (the kernel's own, AVX-512), library (TensorPrimitives.Exp), none (skipped: what the rest costs; no check)");

        public string Name => "transformer-kernel-probe";

        public string Description => "feasibility: the V4 transformer's per-request serving work as one fused managed AVX-512 kernel (not wired into the request scorer), checked against a reference";

        private sealed class Layer
        {
            public float[] G1 = Ones(D), B1 = new float[D], Wqkv = new float[D * 3 * D], Bqkv = new float[3 * D], Wo = new float[D * D], Bo = new float[D];
            public float[] G2 = Ones(D), B2 = new float[D], W1 = new float[D * F], Bf1 = new float[F], W2 = new float[F * D], Bf2 = new float[D];

            public Layer(Random r)
            {
                foreach (var a in new[] { Wqkv, Wo, W1, W2 })
                    Fill(r, a, 0.3f);
                foreach (var a in new[] { Bqkv, Bo, Bf1, Bf2, B1, B2 })
                    Fill(r, a, 0.1f);
                for (int i = 0; i < D; i++)
                {
                    G1[i] = 1f + (float)(r.NextDouble() - 0.5) * 0.2f;
                    G2[i] = 1f + (float)(r.NextDouble() - 0.5) * 0.2f;
                }
            }
        }

        private static float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

        private static void Fill(Random r, float[] a, float scale)
        {
            for (int i = 0; i < a.Length; i++)
                a[i] = (float)(r.NextDouble() * 2 - 1) * scale;
        }

        public int Run(ParseResult args)
        {
            int requests = args.GetValue(RequestsOption), candidates = args.GetValue(CandidatesOption);
            int roomTokens = args.GetValue(RoomTokensOption), length = args.GetValue(LengthOption);
            string exp = args.GetValue(ExpOption)!;
            if (exp is not ("polynomial" or "library" or "none"))
                throw new ArgumentException($"--exp must be polynomial, library or none (was '{exp}').");
            SkipExp = exp == "none";
            LibraryExp = exp == "library";
            if (roomTokens < 1 || roomTokens > 14 || length < 1 || length > 50)
                throw new ArgumentOutOfRangeException(nameof(args), "--room-tokens must be in 1..14 and --length in 1..50.");
            if (args.GetValue(NativeOption))
                return RunNative(requests, candidates, roomTokens, length, args.GetValue(RoomCacheOption));
            if (!Vector512.IsHardwareAccelerated)
                Console.WriteLine("note: Vector512 is not hardware accelerated on this CPU; the kernel runs on emulated vectors.");
            var r = new Random(1);
            var layers = new[] { new Layer(r), new Layer(r) };
            var gf = Ones(D);
            var bf = new float[D];
            Fill(r, bf, 0.1f);
            var user = new float[length * D];
            Fill(r, user, 1f);
            var rooms = new float[candidates * 14 * D];
            Fill(r, rooms, 1f);
            var valid = new int[candidates];
            for (int c = 0; c < candidates; c++)
                valid[c] = Math.Max(1, roomTokens - r.Next(0, 5));   // 4 to 8 items on sale: some room tokens are padding
            var kernel = new Kernel(layers, gf, bf);
            bool roomCache = args.GetValue(RoomCacheOption);
            if (roomCache)
                kernel.FillRoomCache(rooms, candidates);
            var fast = new float[candidates * D];

            // correctness on the first request against the double reference
            kernel.Score(user, length, rooms, valid, candidates, fast);
            double maxDiff = 0;
            for (int c = 0; c < candidates; c++)
            {
                var refOut = Reference(layers, gf, bf, user, length, rooms.AsSpan(c * 14 * D, 14 * D).ToArray(), valid[c]);
                for (int i = 0; i < D; i++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(refOut[i] - fast[c * D + i]));
            }
            Console.WriteLine($"max |kernel - reference| over {candidates} candidates: {maxDiff:E2}");
            if (!(maxDiff < 1e-4) && !SkipExp)
                throw new InvalidOperationException($"the kernel disagrees with the reference ({maxDiff:E2}).");

            // steady state: at least 3 s of requests first, so that the tiered JIT has promoted the kernel (with 30 warm-up
            // requests the timed loop sometimes ran part of the kernel before its final tier: 2.1 ms against 1.5)
            var warm = System.Diagnostics.Stopwatch.StartNew();
            for (int w = 0; w < 30 || warm.Elapsed.TotalSeconds < 3; w++)
                kernel.Score(user, length, rooms, valid, candidates, fast);
            var cpu = new List<double>(requests);
            var wall = new List<double>(requests);
            for (int q = 0; q < requests; q++)
            {
                user[q % user.Length] += 1e-3f;   // a different user each request
                double c0 = SequenceLatencyBench.ThreadCpuMs();
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                kernel.Score(user, length, rooms, valid, candidates, fast);
                wall.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                cpu.Add(SequenceLatencyBench.ThreadCpuMs() - c0);
            }
            double P(List<double> a, double q) => Onnx.ScoringMeasures.Percentile(a, q);
            Console.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}; {candidates} candidates x {roomTokens} room tokens (valid {valid.Min()}-{valid.Max()}), {length} user tokens");
            Console.WriteLine("| kernel | CPU p50 (ms) | CPU p90 (ms) | wall p50 (ms) |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| fused managed, exp = {exp}{(roomCache ? ", room-only layer-1 projections cached" : "")} | {P(cpu, 0.5):F3} | {P(cpu, 0.9):F3} | {P(wall, 0.5):F3} |");
            Console.WriteLine($"Load average at the end: {Onnx.ScoringMeasures.LoadAverage()}.");
            return 0;
        }

        /// <summary>The request scorer's native kernel on the same shapes: 2 room segments (5 core products, then the products
        /// on sale), random weights; the same valid-token mix and timing loop as the probe.</summary>
        private static int RunNative(int requests, int candidates, int roomTokens, int length, bool roomCache)
        {
            var r = new Random(1);
            float[] Rand(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
            float[] Gain(int n) => Enumerable.Range(0, n).Select(_ => (float)(1 + (r.NextDouble() - 0.5) * 0.2)).ToArray();
            var p = new MLNetRank.Serving.Native.TransformerParameters
            {
                Dimension = D, Heads = H, FeedForward = F, Layers = 2, Positions = 50, Segments = 2,
                TypeEmbedding = Rand(4 * D, 0.3), PositionEmbedding = Rand(50 * D, 0.3), Summary = Rand(D, 0.5),
                LayerParameters = Enumerable.Range(0, 2).Select(_ => new MLNetRank.Serving.Native.LayerParameters
                {
                    Norm1Gain = Gain(D), Norm1Bias = Rand(D, 0.1), QkvWeight = Rand(3 * D * D, 0.3), QkvBias = Rand(3 * D, 0.1), ProjWeight = Rand(D * D, 0.3), ProjBias = Rand(D, 0.1),
                    Norm2Gain = Gain(D), Norm2Bias = Rand(D, 0.1), Ff1Weight = Rand(F * D, 0.3), Ff1Bias = Rand(F, 0.1), Ff2Weight = Rand(D * F, 0.3), Ff2Bias = Rand(D, 0.1),
                }).ToArray(),
                FinalGain = Gain(D), FinalBias = Rand(D, 0.1),
            };
            var block = new MLNetRank.Serving.Native.TransformerBlock(p);
            var ws = new MLNetRank.Serving.Native.TransformerWorkspace(block, candidates, length, 13);
            ws.UserCount = length;
            Rand(length * D, 1).CopyTo(ws.UserTokens, 0);
            Rand(candidates * 13 * D, 1).CopyTo(ws.RoomTokens, 0);
            var path = MLNetRank.Serving.Native.TransformerKernel.ResolvedPath;
            int width = MLNetRank.Serving.Native.TransformerKernel.WidthOf(path);
            int minValid = int.MaxValue, maxValid = 0;
            for (int c = 0; c < candidates; c++)
            {
                int valid = Math.Max(1, roomTokens - r.Next(0, 5));   // tokens with the summary, as the probe
                int core = Math.Min(5, valid - 1);
                ws.RoomCounts[2 * c] = core;
                ws.RoomCounts[2 * c + 1] = valid - 1 - core;
                minValid = Math.Min(minValid, valid);
                maxValid = Math.Max(maxValid, valid);
            }
            var output = new float[candidates * D];
            if (roomCache)
            {
                ws.RoomToCache = Enumerable.Range(0, candidates).Select(c => new float[MLNetRank.Serving.Native.TransformerKernel.CacheEntryLength(block, ws.RoomCounts[2 * c] + ws.RoomCounts[2 * c + 1], width)]).ToArray();
                MLNetRank.Serving.Native.TransformerKernel.Score(block, ws, candidates, output, path);
                for (int c = 0; c < candidates; c++)
                    ws.RoomCached[c] = ws.RoomToCache[c];
                ws.RoomToCache = null;
            }
            var warm = System.Diagnostics.Stopwatch.StartNew();
            for (int w = 0; w < 30 || warm.Elapsed.TotalSeconds < 3; w++)
                MLNetRank.Serving.Native.TransformerKernel.Score(block, ws, candidates, output, path);
            var cpu = new List<double>(requests);
            var wall = new List<double>(requests);
            for (int q = 0; q < requests; q++)
            {
                ws.UserTokens[q % (length * D)] += 1e-3f;
                double c0 = SequenceLatencyBench.ThreadCpuMs();
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                MLNetRank.Serving.Native.TransformerKernel.Score(block, ws, candidates, output, path);
                wall.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                cpu.Add(SequenceLatencyBench.ThreadCpuMs() - c0);
            }
            double P(List<double> a, double q) => Onnx.ScoringMeasures.Percentile(a, q);
            Console.WriteLine($"native kernel path {path} ({width} lanes); {candidates} candidates x {roomTokens} room tokens (valid {minValid}-{maxValid} with the summary), {length} user tokens");
            Console.WriteLine("| kernel | CPU p50 (ms) | CPU p90 (ms) | wall p50 (ms) |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| request scorer's native kernel, {path}{(roomCache ? ", room cache (all hits)" : "")} | {P(cpu, 0.5):F3} | {P(cpu, 0.9):F3} | {P(wall, 0.5):F3} |");
            Console.WriteLine($"Load average at the end: {Onnx.ScoringMeasures.LoadAverage()}.");
            return 0;
        }

        // ---------------- reference (double precision, the exported network's definition) ----------------

        private static double[] LayerNorm(double[] x, float[] g, float[] b)
        {
            double m = x.Average(), v = x.Select(t => (t - m) * (t - m)).Average();
            return x.Select((t, i) => (t - m) / Math.Sqrt(v + 1e-5) * g[i] + b[i]).ToArray();
        }

        private static double[] Dense(double[] x, float[] w, float[] b, int n)
        {
            var y = new double[n];
            for (int o = 0; o < n; o++)
            {
                double s = b[o];
                for (int i = 0; i < x.Length; i++)
                    s += x[i] * w[i * n + o];
                y[o] = s;
            }
            return y;
        }

        /// <summary>One pre-norm layer for the given queries over the given keys' token states.</summary>
        private static double[][] RefLayer(Layer p, double[][] queries, double[][] keyTokens)
        {
            var kq = keyTokens.Select(t => Dense(LayerNorm(t, p.G1, p.B1), p.Wqkv, p.Bqkv, 3 * D)).ToArray();
            var result = new double[queries.Length][];
            for (int i = 0; i < queries.Length; i++)
            {
                var qkv = Dense(LayerNorm(queries[i], p.G1, p.B1), p.Wqkv, p.Bqkv, 3 * D);
                var o = new double[D];
                for (int h = 0; h < H; h++)
                {
                    var s = kq.Select(k => Enumerable.Range(0, Hd).Sum(j => qkv[h * Hd + j] * k[D + h * Hd + j]) / Math.Sqrt(Hd)).ToArray();
                    double mx = s.Max();
                    var e = s.Select(t => Math.Exp(t - mx)).ToArray();
                    double z = e.Sum();
                    for (int j = 0; j < Hd; j++)
                        o[h * Hd + j] = Enumerable.Range(0, kq.Length).Sum(k => e[k] * kq[k][2 * D + h * Hd + j]) / z;
                }
                var x = Dense(o, p.Wo, p.Bo, D).Select((t, j) => t + queries[i][j]).ToArray();
                var f = Dense(Dense(LayerNorm(x, p.G2, p.B2), p.W1, p.Bf1, F).Select(t => Math.Max(0, t)).ToArray(), p.W2, p.Bf2, D);
                result[i] = x.Select((t, j) => t + f[j]).ToArray();
            }
            return result;
        }

        private static double[] Reference(Layer[] l, float[] gf, float[] bf, float[] user, int length, float[] room, int valid)
        {
            var u0 = Enumerable.Range(0, length).Select(t => user.Skip(t * D).Take(D).Select(v => (double)v).ToArray()).ToArray();
            var r0 = Enumerable.Range(0, valid).Select(t => room.Skip(t * D).Take(D).Select(v => (double)v).ToArray()).ToArray();
            var u1 = RefLayer(l[0], u0, u0);                         // the user's tokens attend the user's tokens only
            var r1 = RefLayer(l[0], r0, r0.Concat(u0).ToArray());    // the room's tokens attend every token
            var s2 = RefLayer(l[1], new[] { r1[0] }, r1.Concat(u1).ToArray())[0];   // last layer: the summary token only
            return LayerNorm(s2, gf, bf);
        }

        // ---------------- the fused kernel ----------------

        private static bool SkipExp, LibraryExp;

        /// <summary>exp(x) for x ≤ 0 (a softmax's max-subtracted scores; −∞ gives 0): 2^n · p(r), r = x − n·ln 2 in
        /// [−ln2/2, ln2/2], p of degree 6 (relative error ~2e-7).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Exp(Vector512<float> x)
        {
            var under = Vector512.LessThan(x, Vector512.Create(-87f));
            x = Vector512.Max(x, Vector512.Create(-87f));
            var n = Vector512.Round(x * Vector512.Create(1.44269504f));
            var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693145752f), x);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.42860677e-6f), r);
            var p = Vector512.Create(1f / 720);
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
            var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
            return Vector512.AndNot(p * scale, under.AsSingle());
        }

        private sealed class Kernel
        {
            private readonly Layer[] _l;
            private readonly float[] _gf, _bf;
            // keys / values by head and dimension, 64 key slots: 0..13 the candidate's room tokens, 14.. the user's
            private readonly float[] _k1 = new float[H * Hd * Keys], _v1 = new float[H * Hd * Keys], _k2 = new float[H * Hd * Keys], _v2 = new float[H * Hd * Keys];
            private readonly float[] _bias = new float[Keys], _scores = new float[H * Keys];
            private readonly float[] _x = new float[14 * D], _qkv = new float[14 * 3 * D], _u1 = new float[50 * D];

            /// <summary>With <c>--room-cache</c>: each room token's layer-1 query/key/value (they depend on the room alone), as a
            /// per-room cache in the request scorer would hold them; null = computed per request.</summary>
            public float[]? RoomCache { get; set; }

            /// <summary>Fills <see cref="RoomCache"/> for these rooms (what the cache would hold after their first request).</summary>
            public void FillRoomCache(float[] rooms, int candidates)
            {
                var cache = new float[candidates * 14 * 3 * D];
                Layer a = _l[0];
                for (int i = 0; i < candidates * 14; i++)
                    Dense16(Ln(Load(rooms, i * D), Load(a.G1, 0), Load(a.B1, 0)), a.Wqkv, a.Bqkv, 3, cache.AsSpan(i * 3 * D, 3 * D));
                RoomCache = cache;
            }

            public Kernel(Layer[] layers, float[] gf, float[] bf)
            {
                _l = layers;
                _gf = gf;
                _bf = bf;
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector512<float> Load(float[] a, int offset) => Vector512.LoadUnsafe(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(a), (nuint)offset);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector512<float> Ln(Vector512<float> x, Vector512<float> g, Vector512<float> b)
            {
                float mean = Vector512.Sum(x) * (1f / D);
                var c = x - Vector512.Create(mean);
                float var = Vector512.Sum(c * c) * (1f / D);
                return c * Vector512.Create(1f / MathF.Sqrt(var + 1e-5f)) * g + b;
            }

            /// <summary>x·W + b for a 16-wide x and W [16, width] (the first 16·n outputs, n ≤ 4, as independent chains).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static void Dense16(Vector512<float> x, float[] w, float[] b, int n, Span<float> y, int width = 0)
            {
                int stride = width > 0 ? width : 16 * n;
                Span<float> xs = stackalloc float[D];
                x.CopyTo(xs);
                ref float w0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(w);
                var a0 = Load(b, 0);
                var a1 = n > 1 ? Load(b, 16) : default;
                var a2 = n > 2 ? Load(b, 32) : default;
                var a3 = n > 3 ? Load(b, 48) : default;
                for (int i = 0; i < D; i++)
                {
                    var xi = Vector512.Create(xs[i]);
                    nuint row = (nuint)(i * stride);
                    a0 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref w0, row), a0);
                    if (n > 1) a1 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref w0, row + 16), a1);
                    if (n > 2) a2 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref w0, row + 32), a2);
                    if (n > 3) a3 = Vector512.FusedMultiplyAdd(xi, Vector512.LoadUnsafe(ref w0, row + 48), a3);
                }
                a0.CopyTo(y);
                if (n > 1) a1.CopyTo(y.Slice(16));
                if (n > 2) a2.CopyTo(y.Slice(32));
                if (n > 3) a3.CopyTo(y.Slice(48));
            }

            /// <summary>A token's QKV into the head-major key/value slots (and returns its query in qkv[0..16)).</summary>
            private static void Scatter(ReadOnlySpan<float> qkv, float[] k, float[] v, int slot)
            {
                for (int c = 0; c < D; c++)
                {
                    k[c * Keys + slot] = qkv[D + c];      // (head, dim) = c
                    v[c * Keys + slot] = qkv[2 * D + c];
                }
            }

            /// <summary>Attention of one query (16 values, 4 heads) over the 64 slots; returns the 16 merged head outputs.</summary>
            private Vector512<float> Attend(ReadOnlySpan<float> q, float[] k, float[] v)
            {
                Span<float> outv = stackalloc float[D];
                var bias0 = Load(_bias, 0);
                var bias1 = Load(_bias, 16);
                var bias2 = Load(_bias, 32);
                var bias3 = Load(_bias, 48);
                for (int h = 0; h < H; h++)
                {
                    Vector512<float> s0 = bias0, s1 = bias1, s2 = bias2, s3 = bias3;
                    for (int j = 0; j < Hd; j++)
                    {
                        int c = h * Hd + j;
                        var qj = Vector512.Create(q[c] * 0.5f);
                        s0 = Vector512.FusedMultiplyAdd(qj, Load(k, c * Keys), s0);
                        s1 = Vector512.FusedMultiplyAdd(qj, Load(k, c * Keys + 16), s1);
                        s2 = Vector512.FusedMultiplyAdd(qj, Load(k, c * Keys + 32), s2);
                        s3 = Vector512.FusedMultiplyAdd(qj, Load(k, c * Keys + 48), s3);
                    }
                    var m = Vector512.Create(MaxAcross(Vector512.Max(Vector512.Max(s0, s1), Vector512.Max(s2, s3))));
                    var row = _scores.AsSpan(h * Keys, Keys);
                    (s0 - m).CopyTo(row);
                    (s1 - m).CopyTo(row.Slice(16));
                    (s2 - m).CopyTo(row.Slice(32));
                    (s3 - m).CopyTo(row.Slice(48));
                }
                if (!SkipExp)
                {
                    if (LibraryExp)
                        TensorPrimitives.Exp(_scores, _scores);
                    else
                        for (int i = 0; i < H * Keys; i += 16)
                            Exp(Load(_scores, i)).CopyTo(_scores.AsSpan(i, 16));
                }
                for (int h = 0; h < H; h++)
                {
                    var e0 = Load(_scores, h * Keys);
                    var e1 = Load(_scores, h * Keys + 16);
                    var e2 = Load(_scores, h * Keys + 32);
                    var e3 = Load(_scores, h * Keys + 48);
                    float inv = 1f / Vector512.Sum(e0 + e1 + e2 + e3);
                    for (int j = 0; j < Hd; j++)
                    {
                        int c = h * Hd + j;
                        var acc = e0 * Load(v, c * Keys);
                        acc = Vector512.FusedMultiplyAdd(e1, Load(v, c * Keys + 16), acc);
                        acc = Vector512.FusedMultiplyAdd(e2, Load(v, c * Keys + 32), acc);
                        acc = Vector512.FusedMultiplyAdd(e3, Load(v, c * Keys + 48), acc);
                        outv[c] = Vector512.Sum(acc) * inv;
                    }
                }
                return Vector512.Create((ReadOnlySpan<float>)outv);
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static float MaxAcross(Vector512<float> v)
            {
                var a = Vector256.Max(v.GetLower(), v.GetUpper());
                var b = Vector128.Max(a.GetLower(), a.GetUpper());
                return MathF.Max(MathF.Max(b.GetElement(0), b.GetElement(1)), MathF.Max(b.GetElement(2), b.GetElement(3)));
            }

            /// <summary>Attention output → residual → pre-norm feed-forward → residual.</summary>
            private Vector512<float> Finish(Layer p, Vector512<float> x, Vector512<float> att)
            {
                Span<float> o = stackalloc float[D];
                Dense16(att, p.Wo, p.Bo, 1, o);
                x += Vector512.Create((ReadOnlySpan<float>)o);
                var h = Ln(x, Load(p.G2, 0), Load(p.B2, 0));
                Span<float> f = stackalloc float[F];
                Dense16(h, p.W1, p.Bf1, F / 16, f);
                var acc = Load(p.Bf2, 0);
                var acc2 = Vector512<float>.Zero;
                for (int i = 0; i < F; i += 2)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(MathF.Max(f[i], 0f)), Load(p.W2, i * D), acc);
                    acc2 = Vector512.FusedMultiplyAdd(Vector512.Create(MathF.Max(f[i + 1], 0f)), Load(p.W2, (i + 1) * D), acc2);
                }
                return x + acc + acc2;
            }

            public void Score(float[] user, int length, float[] rooms, int[] valid, int candidates, float[] output)
            {
                Layer a = _l[0], b = _l[1];
                var g1a = Load(a.G1, 0); var b1a = Load(a.B1, 0);
                var g1b = Load(b.G1, 0); var b1b = Load(b.B1, 0);
                Span<float> qkv = stackalloc float[3 * D];
                // per request: the user's layer-1 keys/values (slots 14..), the user's layer-1 states, their layer-2 keys/values
                for (int t = 0; t < length; t++)
                {
                    Dense16(Ln(Load(user, t * D), g1a, b1a), a.Wqkv, a.Bqkv, 3, qkv);
                    Scatter(qkv, _k1, _v1, 14 + t);
                }
                for (int s = 0; s < Keys; s++)
                    _bias[s] = s >= 14 && s < 14 + length ? 0f : float.NegativeInfinity;
                for (int t = 0; t < length; t++)
                {
                    var x = Load(user, t * D);
                    Dense16(Ln(x, g1a, b1a), a.Wqkv, a.Bqkv, 1, qkv, 3 * D);
                    Finish(a, x, Attend(qkv, _k1, _v1)).CopyTo(_u1.AsSpan(t * D, D));
                }
                for (int t = 0; t < length; t++)
                {
                    Dense16(Ln(Load(_u1, t * D), g1b, b1b), b.Wqkv, b.Bqkv, 3, qkv);
                    Scatter(qkv, _k2, _v2, 14 + t);
                }
                var gf = Load(_gf, 0); var bf = Load(_bf, 0);
                for (int c = 0; c < candidates; c++)
                {
                    int n = valid[c], off = c * 14 * D;
                    for (int s = 0; s < 14; s++)
                        _bias[s] = s < n ? 0f : float.NegativeInfinity;
                    for (int t = 0; t < n; t++)
                    {
                        var span = _qkv.AsSpan(t * 3 * D, 3 * D);
                        if (RoomCache is null)
                            Dense16(Ln(Load(rooms, off + t * D), g1a, b1a), a.Wqkv, a.Bqkv, 3, span);
                        else
                            RoomCache.AsSpan((c * 14 + t) * 3 * D, 3 * D).CopyTo(span);
                        Scatter(span, _k1, _v1, t);
                    }
                    for (int t = 0; t < n; t++)
                    {
                        var x1 = Finish(a, Load(rooms, off + t * D), Attend(_qkv.AsSpan(t * 3 * D, D), _k1, _v1));
                        x1.CopyTo(_x.AsSpan(t * D, D));
                        // layer 2's keys/values of this room token (only the summary token needs its query)
                        var span = _qkv.AsSpan(t * 3 * D, 3 * D);
                        Dense16(Ln(x1, g1b, b1b), b.Wqkv, b.Bqkv, 3, span);
                        Scatter(span, _k2, _v2, t);
                    }
                    var y = Finish(b, Load(_x, 0), Attend(_qkv.AsSpan(0, D), _k2, _v2));   // the summary (token 0)'s query from the loop above
                    Ln(y, gf, bf).CopyTo(output.AsSpan(c * D, D));
                }
            }
        }
    }
}
