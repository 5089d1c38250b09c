using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MLNetRank.Serving.Native
{
    /// <summary>Which vector width the native kernel runs (tests and benches force one; <see cref="Auto"/> picks the widest
    /// the CPU accelerates).</summary>
    internal enum KernelPath
    {
        Auto,
        Avx512,
        /// <summary>AVX2, 16 lanes as two registers (the path AVX2 CPUs run).</summary>
        Avx2,
        /// <summary>AVX2, 8 lanes in one register (kept for comparison: slower, see the docs).</summary>
        Avx2Single,
        Scalar,
    }

    /// <summary>
    /// The per-request inputs and scratch of the native transformer kernel (one per <see cref="ScoringRequest"/>: a request
    /// is used by one thread at a time). The caller writes the user's real tokens (<see cref="UserTokens"/>, oldest first,
    /// padding removed) and each candidate's real room tokens (<see cref="RoomTokens"/>: segment 0's, then segment 1's, ...,
    /// each segment oldest first; <see cref="RoomCounts"/> per segment), as embedding rows without type or position.
    /// </summary>
    internal sealed class TransformerWorkspace
    {
        private const int MaxWidth = 16;

        public TransformerWorkspace(TransformerBlock block, int capacity, int maxUserTokens, int maxRoomTokens)
        {
            int d = block.D;
            Capacity = capacity;
            MaxUserTokens = maxUserTokens;
            MaxRoomTokens = maxRoomTokens;                                                      // without the summary token
            UserTokens = new float[Math.Max(1, maxUserTokens) * d];
            RoomTokens = new float[Math.Max(1, capacity * maxRoomTokens * d)];
            RoomCounts = new int[capacity * block.Segments];
            RoomCached = new float[capacity][];
            int userLanes = maxUserTokens + MaxWidth, roomLanes = maxRoomTokens + 1 + MaxWidth;
            UserState = new float[userLanes * d];
            UserQkv = new float[block.LayerCount][];
            for (int l = 0; l < block.LayerCount; l++)
                UserQkv[l] = new float[userLanes * 3 * d];
            RoomState = new float[roomLanes * d];
            RoomQkv = new float[roomLanes * 3 * d];
            Normed = new float[MaxWidth * d];
            Attended = new float[MaxWidth * d];
            Hidden = new float[MaxWidth * block.Ff];
            Scores = new float[(userLanes + roomLanes) * MaxWidth];
            Token = new float[4 * Math.Max(d, block.Ff)];
            Masks = new float[(MaxWidth + 1) * MaxWidth];
        }

        public int Capacity { get; }
        public int MaxUserTokens { get; }
        public int MaxRoomTokens { get; }

        /// <summary>[UserCount, d].</summary>
        public float[] UserTokens { get; }
        public int UserCount { get; set; }
        /// <summary>[candidate, MaxRoomTokens, d]: the candidate's real room tokens, segment after segment.</summary>
        public float[] RoomTokens { get; }
        /// <summary>[candidate, segment]: real tokens per segment.</summary>
        public int[] RoomCounts { get; }
        /// <summary>Per candidate: the room's cached layer-1 projections (<see cref="RoomCache"/>), or null.</summary>
        public float[]?[] RoomCached { get; }
        /// <summary>Per candidate: store the room's layer-1 projections in this array (lanes of the running width), or null.</summary>
        internal float[]?[]? RoomToCache { get; set; }

        // scratch, in lanes: [group][rows][W]
        internal float[] UserState, RoomState, RoomQkv, Normed, Attended, Hidden, Scores, Token, Masks;
        internal float[][] UserQkv;
        internal int MasksWidth;
    }

    /// <summary>
    /// The V4 live-stream transformer's serving computation (summary-token output) for one request, written for the lanes of
    /// a vector register: each candidate's summary + room tokens are the lanes ("queries in lanes": activations kept
    /// transposed [dimension][lane]), so a linear layer is broadcast-weight FMAs, layer norm's statistics are sums of
    /// vectors, attention scores over a key are (head dimension) FMAs for all the candidate's queries at once, and the softmax
    /// runs lane-parallel over the keys. The user's tokens (which attend the user's tokens only) are computed once per
    /// request in the same way. The last layer computes the summary token only, with the keys in the lanes.
    /// Equal to the exported ONNX graph (and TorchSharp) to ~1e-6 (the tests require 1e-5).
    /// </summary>
    internal static class TransformerKernel
    {
        /// <summary>Forces a path (tests and benches); <see cref="KernelPath.Auto"/> by default.</summary>
        internal static KernelPath ForcedPath { get; set; } = KernelPath.Auto;

        /// <summary>The path <see cref="ForcedPath"/> resolves to on this CPU.</summary>
        public static KernelPath ResolvedPath => ForcedPath != KernelPath.Auto ? ForcedPath
            : Vector512.IsHardwareAccelerated ? KernelPath.Avx512 : Vector256.IsHardwareAccelerated ? KernelPath.Avx2 : KernelPath.Scalar;

        /// <summary>The lanes of a path.</summary>
        public static int WidthOf(KernelPath path) => path switch { KernelPath.Avx512 or KernelPath.Avx2 => 16, KernelPath.Avx2Single => 8, _ => 1 };

        /// <summary>Scores candidates 0..<paramref name="candidates"/>-1 of the workspace: <paramref name="output"/> [candidates, d].</summary>
        public static void Score(TransformerBlock block, TransformerWorkspace ws, int candidates, Span<float> output, KernelPath path)
        {
            if (output.Length < candidates * block.D)
                throw new ArgumentException("The output holds fewer than candidates x d values.", nameof(output));
            switch (path)
            {
                case KernelPath.Avx512:
                    Lanes<Vector512<float>, Lanes16>.Score(block, ws, candidates, output);
                    break;
                case KernelPath.Avx2:
                    Lanes<Pair256, Lanes8x2>.Score(block, ws, candidates, output);
                    break;
                case KernelPath.Avx2Single:
                    Lanes<Vector256<float>, Lanes8>.Score(block, ws, candidates, output);
                    break;
                case KernelPath.Scalar:
                    Lanes<float, Lanes1>.Score(block, ws, candidates, output);
                    break;
                default:
                    Score(block, ws, candidates, output, ResolvedPath);
                    break;
            }
        }

        /// <summary>Floats of a room's cache entry: the layer-1 query/key/value of the summary + <paramref name="roomTokens"/> tokens in
        /// lanes of <paramref name="width"/>.</summary>
        public static int CacheEntryLength(TransformerBlock block, int roomTokens, int width) => (roomTokens + 1 + width - 1) / width * width * 3 * block.D;

        private static class Lanes<TV, TL> where TV : struct where TL : struct, ILanes<TV>
        {
            // Every method is compiled optimized at once (AggressiveOptimization): under tiered compilation the kernel ran
            // its unoptimized tiers (about 7 ms per request instead of 0.6) for the first seconds of a serving process.
            private static int W => TL.Width;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static ref float At(float[] a, int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), i);

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public static void Score(TransformerBlock b, TransformerWorkspace ws, int candidates, Span<float> output)
            {
                int d = b.D, w = W;
                if (ws.MasksWidth != w)
                {
                    // Masks[c] : lanes < c are 0, lanes >= c are -inf (the keys-in-lanes last layer)
                    for (int c = 0; c <= w; c++)
                        for (int lane = 0; lane < w; lane++)
                            ws.Masks[c * w + lane] = lane < c ? 0f : float.NegativeInfinity;
                    ws.MasksWidth = w;
                }
                int lu = ws.UserCount;
                if (lu > ws.MaxUserTokens)
                    throw new InvalidOperationException($"{lu} user tokens; the workspace holds {ws.MaxUserTokens}.");
                // ---- the user's tokens, once per request ----
                int gu = (lu + w - 1) / w;
                var us = ws.UserState;
                Array.Clear(us, 0, gu * d * w);
                for (int t = 0; t < lu; t++)
                {
                    int pos = Math.Min(lu - 1 - t, b.Positions - 1), baseIdx = (t / w) * d * w + t % w;
                    for (int j = 0; j < d; j++)
                        us[baseIdx + j * w] = ws.UserTokens[t * d + j] + b.TypeEmbedding[b.Segments * d + j] + b.PositionEmbedding[pos * d + j];
                }
                for (int l = 0; l < b.LayerCount; l++)
                {
                    var layer = b.Layers[l];
                    var qkv = ws.UserQkv[l];
                    for (int g = 0; g < gu; g++)
                        NormDense(layer.Qkv, layer.QkvBias, 0, 3 * d, d, us, g * d * w, ws.Normed, qkv, g * 3 * d * w);
                    if (l == b.LayerCount - 1)
                        break;
                    for (int g = 0; g < gu; g++)
                    {
                        Attend(b, qkv, g * 3 * d * w, default, 0, qkv, lu, ws.Scores, ws.Attended);
                        Finish(b, layer, us, g * d * w, ws);
                    }
                }
                // ---- each candidate ----
                int segments = b.Segments;
                for (int c = 0; c < candidates; c++)
                {
                    int n = 1, at = c * ws.MaxRoomTokens * d;
                    var rs = ws.RoomState;
                    // summary token, then each segment's real tokens with their type and recency position
                    int total = 1;
                    for (int s = 0; s < segments; s++)
                        total += ws.RoomCounts[c * segments + s];
                    int gr = (total + w - 1) / w;
                    Array.Clear(rs, 0, gr * d * w);
                    for (int j = 0; j < d; j++)
                        rs[j * w] = b.SummaryToken[j];
                    for (int s = 0; s < segments; s++)
                    {
                        int count = ws.RoomCounts[c * segments + s];
                        for (int k = 0; k < count; k++, n++)
                        {
                            int pos = Math.Min(count - 1 - k, b.Positions - 1), baseIdx = (n / w) * d * w + n % w;
                            for (int j = 0; j < d; j++)
                                rs[baseIdx + j * w] = ws.RoomTokens[at + (n - 1) * d + j] + b.TypeEmbedding[s * d + j] + b.PositionEmbedding[pos * d + j];
                        }
                    }
                    for (int l = 0; l < b.LayerCount; l++)
                    {
                        var layer = b.Layers[l];
                        bool last = l == b.LayerCount - 1;
                        float[] qkv = ws.RoomQkv;
                        if (l == 0 && ws.RoomCached[c] is { } cached)
                            qkv = cached;
                        else
                        {
                            for (int g = 0; g < gr; g++)
                                NormDense(layer.Qkv, layer.QkvBias, last ? d : 0, 3 * d, d, rs, g * d * w, ws.Normed, qkv, g * 3 * d * w);
                            if (l == 0 && ws.RoomToCache?[c] is { } store && !last)
                                Array.Copy(qkv, store, gr * 3 * d * w);
                        }
                        if (!last)
                        {
                            for (int g = 0; g < gr; g++)
                            {
                                Attend(b, qkv, g * 3 * d * w, qkv, total, ws.UserQkv[l], lu, ws.Scores, ws.Attended);
                                Finish(b, layer, rs, g * d * w, ws);
                            }
                        }
                        else
                            Summary(b, layer, rs, qkv, total, gr, ws.UserQkv[l], lu, gu, ws, output.Slice(c * d, d));
                    }
                }
            }

            /// <summary>y rows [outFrom, outTo) of W·LN(x) + bias for one group of lanes (x [d][W] at xOff; y [rows][W] at yOff,
            /// row o at o·W). LN without affine (folded into W).</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void NormDense(float[] wt, float[] bias, int outFrom, int outTo, int d, float[] x, int xOff, float[] xn, float[] y, int yOff)
            {
                Norm(x, xOff, d, xn);
                Dense(wt, bias, outFrom, outTo, d, xn, 0, y, yOff, relu: false, accumulate: false);
            }

            /// <summary>(x − mean)·rstd per lane over the d rows of x (biased variance, eps 1e-5, as PyTorch's LayerNorm).</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Norm(float[] x, int xOff, int d, float[] xn)
            {
                nuint w = (nuint)W;
                ref float xr = ref At(x, xOff);
                ref float nr = ref At(xn, 0);
                TV s0 = TL.Zero, s1 = TL.Zero;
                for (int j = 0; j < d; j += 2)
                {
                    s0 = TL.Add(s0, TL.Load(ref xr, (nuint)j * w));
                    s1 = TL.Add(s1, TL.Load(ref xr, (nuint)(j + 1) * w));
                }
                var mean = TL.Mul(TL.Add(s0, s1), TL.Splat(1f / d));
                TV v0 = TL.Zero, v1 = TL.Zero;
                for (int j = 0; j < d; j += 2)
                {
                    var c0 = TL.Sub(TL.Load(ref xr, (nuint)j * w), mean);
                    var c1 = TL.Sub(TL.Load(ref xr, (nuint)(j + 1) * w), mean);
                    TL.Store(c0, ref nr, (nuint)j * w);
                    TL.Store(c1, ref nr, (nuint)(j + 1) * w);
                    v0 = TL.Fma(c0, c0, v0);
                    v1 = TL.Fma(c1, c1, v1);
                }
                var rstd = TL.Div(TL.Splat(1f), TL.Sqrt(TL.Fma(TL.Add(v0, v1), TL.Splat(1f / d), TL.Splat(1e-5f))));
                for (int j = 0; j < d; j++)
                    TL.Store(TL.Mul(TL.Load(ref nr, (nuint)j * w), rstd), ref nr, (nuint)j * w);
            }

            /// <summary>Rows [outFrom, outTo) (a multiple of 4 apart) of y = W·x + bias in lanes (W [outs, ins] row-major, x [ins][W]
            /// at xOff); y row o is at yOff + o·W (rows keep their index); accumulate adds to y; relu applies max(·, 0) first.</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Dense(float[] wt, float[] bias, int outFrom, int outTo, int ins, float[] x, int xOff, float[] y, int yOff, bool relu, bool accumulate)
            {
                nuint w = (nuint)W;
                ref float xr = ref At(x, xOff);
                ref float yr = ref At(y, yOff);
                ref float wr = ref At(wt, 0);
                for (int o = outFrom; o < outTo; o += 4)
                {
                    var a0 = TL.Splat(bias[o]);
                    var a1 = TL.Splat(bias[o + 1]);
                    var a2 = TL.Splat(bias[o + 2]);
                    var a3 = TL.Splat(bias[o + 3]);
                    ref float w0 = ref Unsafe.Add(ref wr, o * ins);
                    for (int i = 0; i < ins; i++)
                    {
                        var xi = TL.Load(ref xr, (nuint)i * w);
                        a0 = TL.Fma(TL.Splat(Unsafe.Add(ref w0, i)), xi, a0);
                        a1 = TL.Fma(TL.Splat(Unsafe.Add(ref w0, ins + i)), xi, a1);
                        a2 = TL.Fma(TL.Splat(Unsafe.Add(ref w0, 2 * ins + i)), xi, a2);
                        a3 = TL.Fma(TL.Splat(Unsafe.Add(ref w0, 3 * ins + i)), xi, a3);
                    }
                    if (relu)
                    {
                        a0 = TL.Relu(a0);
                        a1 = TL.Relu(a1);
                        a2 = TL.Relu(a2);
                        a3 = TL.Relu(a3);
                    }
                    nuint r = (nuint)o * w;
                    if (accumulate)
                    {
                        a0 = TL.Add(TL.Load(ref yr, r), a0);
                        a1 = TL.Add(TL.Load(ref yr, r + w), a1);
                        a2 = TL.Add(TL.Load(ref yr, r + 2 * w), a2);
                        a3 = TL.Add(TL.Load(ref yr, r + 3 * w), a3);
                    }
                    TL.Store(a0, ref yr, r);
                    TL.Store(a1, ref yr, r + w);
                    TL.Store(a2, ref yr, r + 2 * w);
                    TL.Store(a3, ref yr, r + 3 * w);
                }
            }

            /// <summary>Multi-head attention of one group of queries (the Q rows of <paramref name="q"/> at qOff, scaled) over
            /// <paramref name="roomKeys"/> room keys and <paramref name="userKeys"/> user keys (the K and V rows of their
            /// [group][3d][W] buffers); the merged head outputs into <paramref name="o"/> [d][W].</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Attend(TransformerBlock b, float[] q, int qOff, float[]? room, int roomKeys, float[] user, int userKeys, float[] sc, float[] o)
            {
                int d = b.D, dh = b.HeadDim, w = W;
                nuint wn = (nuint)w;
                int gs = 3 * d * w;
                ref float qr = ref At(q, qOff);
                ref float sr = ref At(sc, 0);
                ref float or = ref At(o, 0);
                ref float rr = ref room is null ? ref At(user, 0) : ref At(room, 0);
                ref float ur = ref At(user, 0);
                for (int h = 0; h < b.Heads; h++)
                {
                    int hb = h * dh;
                    TV m0 = TL.Splat(float.NegativeInfinity), m1 = m0;
                    // scores, 4 query dimensions at a time (their query rows in registers); keys t of a [group][3d][W] buffer:
                    // component j of key t at (t / W)·3d·W + (d + j)·W + t % W
                    for (int jc = 0; jc < dh; jc += 4)
                    {
                        nuint qrow = (nuint)(hb + jc) * wn;
                        var q0 = TL.Load(ref qr, qrow);
                        var q1 = TL.Load(ref qr, qrow + wn);
                        var q2 = TL.Load(ref qr, qrow + 2 * wn);
                        var q3 = TL.Load(ref qr, qrow + 3 * wn);
                        bool first = jc == 0, lastChunk = jc + 4 == dh;
                        int idx = 0;
                        for (int src = 0; src < 2; src++)
                        {
                            ref float kr = ref src == 0 ? ref rr : ref ur;
                            int keys = src == 0 ? roomKeys : userKeys;
                            for (int t = 0; t < keys; t++, idx++)
                            {
                                ref float kb = ref Unsafe.Add(ref kr, (int)((uint)t / (uint)w) * gs + (d + hb + jc) * w + (int)((uint)t % (uint)w));
                                var s = TL.Fma(q3, TL.Splat(Unsafe.Add(ref kb, 3 * w)), TL.Fma(q2, TL.Splat(Unsafe.Add(ref kb, 2 * w)),
                                    TL.Fma(q1, TL.Splat(Unsafe.Add(ref kb, w)), TL.Mul(q0, TL.Splat(kb)))));
                                if (!first)
                                    s = TL.Add(TL.Load(ref sr, (nuint)idx * wn), s);
                                if (lastChunk)
                                {
                                    if ((idx & 1) == 0)
                                        m0 = TL.Max(m0, s);
                                    else
                                        m1 = TL.Max(m1, s);
                                }
                                TL.Store(s, ref sr, (nuint)idx * wn);
                            }
                        }
                    }
                    var m = TL.Max(m0, m1);
                    TV sum0 = TL.Zero, sum1 = TL.Zero;
                    if (dh == 4)
                    {
                        // one pass: the exp of each score, its sum, and the values it weighs
                        TV a0 = TL.Zero, a1 = TL.Zero, a2 = TL.Zero, a3 = TL.Zero;
                        int k = 0;
                        for (int src = 0; src < 2; src++)
                        {
                            ref float vr = ref src == 0 ? ref rr : ref ur;
                            int keys = src == 0 ? roomKeys : userKeys;
                            for (int t = 0; t < keys; t++, k++)
                            {
                                ref float vb = ref Unsafe.Add(ref vr, (int)((uint)t / (uint)w) * gs + (2 * d + hb) * w + (int)((uint)t % (uint)w));
                                var e = ExpClamped(TL.Sub(TL.Load(ref sr, (nuint)k * wn), m));
                                if ((k & 1) == 0)
                                    sum0 = TL.Add(sum0, e);
                                else
                                    sum1 = TL.Add(sum1, e);
                                a0 = TL.Fma(e, TL.Splat(vb), a0);
                                a1 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, w)), a1);
                                a2 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, 2 * w)), a2);
                                a3 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, 3 * w)), a3);
                            }
                        }
                        var inv4 = TL.Div(TL.Splat(1f), TL.Add(sum0, sum1));
                        nuint r4 = (nuint)hb * wn;
                        TL.Store(TL.Mul(a0, inv4), ref or, r4);
                        TL.Store(TL.Mul(a1, inv4), ref or, r4 + wn);
                        TL.Store(TL.Mul(a2, inv4), ref or, r4 + 2 * wn);
                        TL.Store(TL.Mul(a3, inv4), ref or, r4 + 3 * wn);
                        continue;
                    }
                    int n = roomKeys + userKeys;
                    for (int i = 0; i < n; i++)
                    {
                        var e = ExpClamped(TL.Sub(TL.Load(ref sr, (nuint)i * wn), m));
                        TL.Store(e, ref sr, (nuint)i * wn);
                        if ((i & 1) == 0)
                            sum0 = TL.Add(sum0, e);
                        else
                            sum1 = TL.Add(sum1, e);
                    }
                    var inv = TL.Div(TL.Splat(1f), TL.Add(sum0, sum1));
                    for (int jc = 0; jc < dh; jc += 4)
                    {
                        TV a0 = TL.Zero, a1 = TL.Zero, a2 = TL.Zero, a3 = TL.Zero;
                        int k = 0;
                        for (int src = 0; src < 2; src++)
                        {
                            ref float vr = ref src == 0 ? ref rr : ref ur;
                            int keys = src == 0 ? roomKeys : userKeys;
                            for (int t = 0; t < keys; t++, k++)
                            {
                                ref float vb = ref Unsafe.Add(ref vr, (int)((uint)t / (uint)w) * gs + (2 * d + hb + jc) * w + (int)((uint)t % (uint)w));
                                var e = TL.Load(ref sr, (nuint)k * wn);
                                a0 = TL.Fma(e, TL.Splat(vb), a0);
                                a1 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, w)), a1);
                                a2 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, 2 * w)), a2);
                                a3 = TL.Fma(e, TL.Splat(Unsafe.Add(ref vb, 3 * w)), a3);
                            }
                        }
                        nuint r = (nuint)(hb + jc) * wn;
                        TL.Store(TL.Mul(a0, inv), ref or, r);
                        TL.Store(TL.Mul(a1, inv), ref or, r + wn);
                        TL.Store(TL.Mul(a2, inv), ref or, r + 2 * wn);
                        TL.Store(TL.Mul(a3, inv), ref or, r + 3 * wn);
                    }
                }
            }

            /// <summary>exp(x) for max-subtracted scores x ≤ 0 that are never −∞ (the lanes' softmax runs over real keys only):
            /// below −87 it gives exp(−87) ≈ 1.6e-38 instead of a smaller number, a difference no softmax sum can show.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static TV ExpClamped(TV x) => TL.ExpClamped(x);

            /// <summary>x += proj(attended); x += FF(LN(x)) for one group of lanes (x [d][W] at xOff).</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Finish(TransformerBlock b, TransformerBlock.Layer layer, float[] x, int xOff, TransformerWorkspace ws)
            {
                int d = b.D;
                Dense(layer.Proj, layer.ProjBias, 0, d, d, ws.Attended, 0, x, xOff, relu: false, accumulate: true);
                Norm(x, xOff, d, ws.Normed);
                Dense(layer.Ff1, layer.Ff1Bias, 0, b.Ff, d, ws.Normed, 0, ws.Hidden, 0, relu: true, accumulate: false);
                Dense(layer.Ff2, layer.Ff2Bias, 0, d, b.Ff, ws.Hidden, 0, x, xOff, relu: false, accumulate: true);
            }

            /// <summary>y[outs] = bias + Σ_i x[i·xStride]·Wt[i, :] (one token, vectors over the outputs; outs a multiple of W).</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void DenseOne(float[] wt, float[] bias, int ins, int outs, ref float x, int xStride, ref float y, bool relu, bool accumulate)
            {
                ref float wr = ref At(wt, 0);
                ref float br = ref At(bias, 0);
                for (int o = 0; o < outs; o += W)
                {
                    var a = TL.Load(ref br, (nuint)o);
                    var a2 = TL.Zero;
                    int i = 0;
                    for (; i + 1 < ins; i += 2)
                    {
                        a = TL.Fma(TL.Splat(Unsafe.Add(ref x, i * xStride)), TL.Load(ref wr, (nuint)(i * outs + o)), a);
                        a2 = TL.Fma(TL.Splat(Unsafe.Add(ref x, (i + 1) * xStride)), TL.Load(ref wr, (nuint)((i + 1) * outs + o)), a2);
                    }
                    if (i < ins)
                        a = TL.Fma(TL.Splat(Unsafe.Add(ref x, i * xStride)), TL.Load(ref wr, (nuint)(i * outs + o)), a);
                    a = TL.Add(a, a2);
                    if (relu)
                        a = TL.Relu(a);
                    if (accumulate)
                        a = TL.Add(TL.Load(ref y, (nuint)o), a);
                    TL.Store(a, ref y, (nuint)o);
                }
            }

            /// <summary>The last layer for the summary token (lane 0 of group 0): its query against the room's and the user's keys
            /// held in lanes, softmax per head, values, output projection, feed-forward, final layer norm.</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void Summary(TransformerBlock b, TransformerBlock.Layer layer, float[] rs, float[] qkv, int total, int gr, float[] user, int lu, int gu,
                TransformerWorkspace ws, Span<float> output)
            {
                int d = b.D, dh = b.HeadDim, w = W;
                nuint wn = (nuint)w;
                int gs = 3 * d * w;
                var tok = ws.Token;                       // [0, d): normed summary; [d, 2d): query; [2d, 3d): attended; then the state
                // the summary's normed input (lane 0 of group 0) and its query
                Norm(rs, 0, d, ws.Normed);
                ref float tr = ref At(tok, 0);
                DenseOne(layer.QT, layer.QkvBias, d, d, ref At(ws.Normed, 0), w, ref Unsafe.Add(ref tr, d), relu: false, accumulate: false);
                ref float sr = ref At(ws.Scores, 0);
                ref float mr = ref At(ws.Masks, 0);
                int groups = gr + gu;
                for (int h = 0; h < b.Heads; h++)
                {
                    int hb = h * dh;
                    var m = TL.Splat(float.NegativeInfinity);
                    for (int g = 0; g < groups; g++)
                    {
                        bool isRoom = g < gr;
                        int gg = isRoom ? g : g - gr, valid = Math.Min(w, (isRoom ? total : lu) - gg * w);
                        ref float kr = ref At(isRoom ? qkv : user, gg * gs + (d + hb) * w);
                        var s = TL.Load(ref mr, (nuint)(valid * w));
                        for (int j = 0; j < dh; j++)
                            s = TL.Fma(TL.Splat(Unsafe.Add(ref tr, d + hb + j)), TL.Load(ref kr, (nuint)(j * w)), s);
                        TL.Store(s, ref sr, (nuint)g * wn);
                        m = TL.Max(m, s);
                    }
                    var mx = TL.Splat(TL.MaxAcross(m));
                    var sum = TL.Zero;
                    for (int g = 0; g < groups; g++)
                    {
                        var e = TL.Exp(TL.Sub(TL.Load(ref sr, (nuint)g * wn), mx));
                        TL.Store(e, ref sr, (nuint)g * wn);
                        sum = TL.Add(sum, e);
                    }
                    float inv = 1f / TL.Sum(sum);
                    for (int j = 0; j < dh; j++)
                    {
                        var acc = TL.Zero;
                        for (int g = 0; g < groups; g++)
                        {
                            bool isRoom = g < gr;
                            int gg = isRoom ? g : g - gr;
                            acc = TL.Fma(TL.Load(ref sr, (nuint)g * wn), TL.Load(ref At(isRoom ? qkv : user, gg * gs + (2 * d + hb + j) * w), 0), acc);
                        }
                        Unsafe.Add(ref tr, 2 * d + hb + j) = TL.Sum(acc) * inv;
                    }
                }
                // x = summary state + proj(attended); x += FF(LN(x)); output = final LN(x)
                ref float x = ref Unsafe.Add(ref tr, 3 * d);
                for (int j = 0; j < d; j++)
                    Unsafe.Add(ref x, j) = rs[j * w];
                DenseOne(layer.ProjT, layer.ProjBias, d, d, ref Unsafe.Add(ref tr, 2 * d), 1, ref x, relu: false, accumulate: true);
                NormOne(ref x, d, ref tr);
                ref float hidden = ref At(ws.Hidden, 0);
                DenseOne(layer.Ff1T, layer.Ff1Bias, d, b.Ff, ref tr, 1, ref hidden, relu: true, accumulate: false);
                DenseOne(layer.Ff2T, layer.Ff2Bias, b.Ff, d, ref hidden, 1, ref x, relu: false, accumulate: true);
                NormOne(ref x, d, ref tr);
                for (int j = 0; j < d; j++)
                {
                    float v = Unsafe.Add(ref tr, j) * b.FinalGain[j] + b.FinalBias[j];
                    if (!float.IsFinite(v))
                        throw new InvalidOperationException($"The native transformer computed a non-finite value ({v}) for a candidate's summary token.");
                    output[j] = v;
                }
            }

            /// <summary>(x − mean)·rstd of one token into y (no affine).</summary>
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            private static void NormOne(ref float x, int d, ref float y)
            {
                float s = 0;
                for (int j = 0; j < d; j++)
                    s += Unsafe.Add(ref x, j);
                float mean = s / d, v = 0;
                for (int j = 0; j < d; j++)
                {
                    float c = Unsafe.Add(ref x, j) - mean;
                    Unsafe.Add(ref y, j) = c;
                    v += c * c;
                }
                float rstd = 1f / MathF.Sqrt(v / d + 1e-5f);
                for (int j = 0; j < d; j++)
                    Unsafe.Add(ref y, j) *= rstd;
            }
        }
    }
}
