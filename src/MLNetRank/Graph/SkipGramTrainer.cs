using System;
using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using System.Threading.Tasks;
using MLNetRank.Common;

namespace MLNetRank.Graph
{
    /// <summary>Walker's alias method over a contiguous range of node ids: O(1) draws from a discrete distribution.</summary>
    internal sealed class AliasTable
    {
        private readonly float[] _prob;
        private readonly int[] _alias;
        private readonly int _lo;

        public AliasTable(ReadOnlySpan<double> weights, int lo)
        {
            _lo = lo;
            int n = weights.Length;
            _prob = new float[n];
            _alias = new int[n];
            double sum = 0;
            foreach (var w in weights)
                sum += w;
            if (n == 0 || !(sum > 0))
            {
                Count = 0;
                return;
            }
            Count = n;
            var scaled = new double[n];
            var small = new int[n];
            var large = new int[n];
            int ns = 0, nl = 0;
            for (int i = 0; i < n; i++)
            {
                scaled[i] = weights[i] * n / sum;
                if (scaled[i] < 1)
                    small[ns++] = i;
                else
                    large[nl++] = i;
            }
            while (ns > 0 && nl > 0)
            {
                int s = small[--ns], l = large[--nl];
                _prob[s] = (float)scaled[s];
                _alias[s] = l;
                scaled[l] = scaled[l] + scaled[s] - 1;
                if (scaled[l] < 1)
                    small[ns++] = l;
                else
                    large[nl++] = l;
            }
            while (nl > 0)
            {
                int l = large[--nl];
                _prob[l] = 1; _alias[l] = l;
            }
            while (ns > 0)
            {
                int s = small[--ns];
                _prob[s] = 1; _alias[s] = s;
            }
        }

        /// <summary>Number of outcomes (0 when every weight is zero).</summary>
        public int Count { get; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Sample(ref SplitMix64 rng)
        {
            ulong r = rng.Next();
            int i = (int)(((r >> 32) * (ulong)(uint)Count) >> 32);
            float u = (uint)r * (1f / 4294967296f);
            return _lo + (u < _prob[i] ? i : _alias[i]);
        }
    }

    /// <summary>Statistics of a training run.</summary>
    internal sealed class SkipGramStatistics
    {
        public long Walks { get; set; }
        public long TokensPerEpoch { get; set; }
        public long TokensTrained { get; set; }
        public double WalkSeconds { get; set; }
        public double TrainSeconds { get; set; }
        public float FinalLearningRate { get; set; }
        public int Threads { get; set; }
    }

    /// <summary>
    /// Skip-gram with negative sampling over metapath walks, trained the word2vec way: lock-free SGD
    /// ("Hogwild") with one thread per contiguous shard of walks, the reduced window, frequent-node subsampling,
    /// unigram^0.75 negatives (per node type for metapath2vec++), a linearly decaying learning rate and a tabulated
    /// sigmoid. The inner loops are vectorised (<see cref="TensorPrimitives"/> and <see cref="Vector{T}"/>).
    /// With one thread the result is a deterministic function of the seed.
    /// </summary>
    internal sealed class SkipGramTrainer
    {
        private const int ExpTableSize = 1000;
        private const float MaxExp = 6f;
        private static readonly float[] s_expTable = BuildExpTable();

        private static float[] BuildExpTable()
        {
            var t = new float[ExpTableSize + 1];
            for (int i = 0; i <= ExpTableSize; i++)
            {
                double e = Math.Exp((i / (double)ExpTableSize * 2 - 1) * MaxExp);
                t[i] = (float)(e / (e + 1));
            }
            return t;
        }

        private readonly MetapathWalker _walker;
        private readonly int _dim;
        private readonly int _window;
        private readonly int _negative;
        private readonly int _epochs;
        private readonly float _alpha0;
        private readonly float _minAlpha;
        private readonly double _sample;
        private readonly bool _typed;
        private readonly int _threads;
        private readonly ulong _seed;
        private readonly bool _prefetch = System.Runtime.Intrinsics.X86.Sse.IsSupported;

        public SkipGramTrainer(MetapathWalker walker, int dimension, int window, int negative, int epochs, float alpha, float minAlphaFraction, double sample, bool typeAwareNegatives, int threads, int seed)
        {
            _walker = walker;
            _dim = dimension;
            _window = window;
            _negative = negative;
            _epochs = epochs;
            _alpha0 = alpha;
            _minAlpha = alpha * minAlphaFraction;
            _sample = sample;
            _typed = typeAwareNegatives;
            _threads = threads;
            _seed = SplitMix64.Mix((ulong)(uint)seed + 0x243F6A8885A308D3UL);
        }

        /// <summary>Occurrences of each node in the walk corpus (one epoch).</summary>
        public long[] Counts { get; private set; } = Array.Empty<long>();

        /// <summary>Input ("syn0") vectors, row-major [node, dimension]: the embeddings.</summary>
        public float[] Input { get; private set; } = Array.Empty<float>();

        /// <summary>Output ("syn1neg") vectors, row-major [node, dimension].</summary>
        public float[] Output { get; private set; } = Array.Empty<float>();

        public SkipGramStatistics Statistics { get; } = new SkipGramStatistics();

        /// <summary>Counts the corpus (one pass of walk generation, in parallel, deterministic).</summary>
        public void CountWalks()
        {
            var sw = Stopwatch.StartNew();
            int n = _walker.Graph.NodeCount;
            long walks = _walker.WalkCount;
            int shards = (int)Math.Max(1, Math.Min(_threads, walks));
            var partial = new long[shards][];
            Parallel.For(0, shards, new ParallelOptions { MaxDegreeOfParallelism = shards }, s =>
            {
                var c = new long[n];
                var buf = new int[_walker.WalkLength];
                long lo = walks * s / shards, hi = walks * (s + 1) / shards;
                for (long w = lo; w < hi; w++)
                {
                    int len = _walker.Generate(w, buf);
                    for (int i = 0; i < len; i++)
                        c[buf[i]]++;
                }
                partial[s] = c;
            });
            var counts = partial[0];
            for (int s = 1; s < shards; s++)
                for (int i = 0; i < n; i++)
                    counts[i] += partial[s][i];
            long total = 0;
            for (int i = 0; i < n; i++)
                total += counts[i];
            Counts = counts;
            Statistics.Walks = walks;
            Statistics.TokensPerEpoch = total;
            Statistics.WalkSeconds = sw.Elapsed.TotalSeconds;
        }

        /// <summary>
        /// State the training threads share and write (tokens processed, the current learning rate, the stop flag),
        /// each on its own cache line so a write by one thread never evicts the read-only state the others read per pair.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        private sealed class SharedCounters
        {
            [FieldOffset(64)] public long Processed;
            [FieldOffset(128)] public float Alpha;
            [FieldOffset(192)] public int Stop; // 0 = run, 1 = cancelled, 2 = diverged
        }

        /// <summary>Read-only state of one training run, set before the threads start.</summary>
        private sealed class RunState
        {
            public required float[] Input;
            public required float[] Output;
            public required AliasTable Global;
            public required AliasTable[]? PerType;
            public required ushort[]? NodeType;
            public required float[]? Keep;
            public required long TotalTokens;
            public required long UpdateEvery;
            public required SharedCounters Shared;
        }

        /// <summary>Epoch at which training diverged (non-finite scores), or 0.</summary>
        public int DivergedAtEpoch { get; private set; }

        /// <summary>Trains; <paramref name="onEpoch"/> is called after each epoch with (epoch, tokens so far, learning rate).</summary>
        /// <param name="onEpoch">Called after each epoch with (epoch, tokens so far, learning rate).</param>
        /// <param name="onTick">Called on the calling thread about every <paramref name="tickInterval"/> during an epoch with
        /// (epoch, tokens so far, learning rate).</param>
        /// <param name="tickInterval">Interval of <paramref name="onTick"/>; null = 10 s.</param>
        /// <param name="cancellation">Checked by every training thread every few thousand tokens (one learning-rate
        /// update): training stops within that many tokens and throws <see cref="OperationCanceledException"/>.</param>
        /// <exception cref="InvalidOperationException">Training diverged (a non-finite score): the message says what to change.</exception>
        public void Train(Action<int, long, float>? onEpoch, Action<int, long, float>? onTick = null, CancellationToken cancellation = default, TimeSpan? tickInterval = null)
        {
            if (Counts.Length == 0)
                CountWalks();
            var graph = _walker.Graph;
            int n = graph.NodeCount, d = _dim;
            long cells = (long)n * d;
            if (cells > Array.MaxLength)
                throw new InvalidOperationException($"{n} nodes x {d} dimensions exceed the largest array .NET allows; lower Dimension.");
            var input = GC.AllocateUninitializedArray<float>((int)cells);
            var output = new float[(int)cells];
            var init = new SplitMix64(_seed);
            for (long i = 0; i < cells; i++)
                input[i] = (init.NextFloat() - 0.5f) / d;

            // Negative sampling distributions: unigram^0.75 over the corpus, global or per node type.
            var pow = new double[n];
            for (int i = 0; i < n; i++)
                pow[i] = Math.Pow(Counts[i], 0.75);
            var global = new AliasTable(pow, 0);
            AliasTable[]? perType = null;
            if (_typed)
            {
                perType = new AliasTable[graph.TypeCount];
                for (int t = 0; t < graph.TypeCount; t++)
                {
                    int lo = graph.TypeOffsets[t], hi = graph.TypeOffsets[t + 1];
                    perType[t] = new AliasTable(pow.AsSpan(lo, hi - lo), lo);
                }
            }
            pow = null;
            ushort[]? nodeType = null;
            if (_typed)
            {
                nodeType = new ushort[n];
                for (int t = 0; t < graph.TypeCount; t++)
                    nodeType.AsSpan(graph.TypeOffsets[t], graph.TypeOffsets[t + 1] - graph.TypeOffsets[t]).Fill((ushort)t);
            }
            // Subsampling: keep probability per node (word2vec's formula).
            float[]? keep = null;
            long tokens = Statistics.TokensPerEpoch;
            if (_sample > 0 && tokens > 0)
            {
                keep = new float[n];
                double threshold = _sample * tokens;
                for (int i = 0; i < n; i++)
                {
                    double f = Counts[i];
                    keep[i] = f == 0 ? 0f : (float)Math.Min(1.0, (Math.Sqrt(f / threshold) + 1) * threshold / f);
                }
            }
            Input = input;
            Output = output;

            long totalTokens = tokens * _epochs;
            var shared = new SharedCounters { Alpha = _alpha0 };
            var run = new RunState
            {
                Input = input, Output = output, Global = global, PerType = perType, NodeType = nodeType, Keep = keep,
                TotalTokens = totalTokens,
                // word2vec refreshes the learning rate every 10k words; small corpora refresh more often so the decay stays linear.
                UpdateEvery = Math.Clamp(totalTokens / 1000, 100, 10000),
                Shared = shared,
            };
            var sw = Stopwatch.StartNew();
            long walks = _walker.WalkCount;
            int threads = (int)Math.Max(1, Math.Min(_threads, walks));
            Statistics.Threads = threads;
            var interval = tickInterval ?? TimeSpan.FromSeconds(10);
            var lastTick = sw.Elapsed;
            for (int epoch = 0; epoch < _epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                int e = epoch;
                // Every shard runs on its own thread (one thread: the result is still a pure function of the seed); the
                // calling thread reports progress and relays cancellation, so both reach the user on their own thread.
                var workers = new Thread[threads];
                for (int t = 0; t < threads; t++)
                {
                    int ti = t;
                    long lo = walks * t / threads, hi = walks * (t + 1) / threads;
                    workers[t] = new Thread(() => RunShard(run, e, ti, lo, hi)) { IsBackground = true, Name = "metapath2vec-" + ti };
                    workers[t].Start();
                }
                foreach (var w in workers)
                {
                    while (!w.Join(50))
                    {
                        if (cancellation.IsCancellationRequested)
                            Interlocked.CompareExchange(ref shared.Stop, 1, 0);
                        if (onTick is not null && sw.Elapsed - lastTick >= interval)
                        {
                            lastTick = sw.Elapsed;
                            onTick(epoch + 1, Volatile.Read(ref shared.Processed), Volatile.Read(ref shared.Alpha));
                        }
                    }
                }
                if (shared.Stop == 2)
                {
                    DivergedAtEpoch = epoch + 1;
                    throw new InvalidOperationException(
                        $"metapath2vec training diverged in epoch {epoch + 1} of {_epochs}: a skip-gram score became infinite or NaN " +
                        $"after {Volatile.Read(ref shared.Processed):N0} tokens with InitialLearningRate = {_alpha0:G4}. The embeddings would be NaN; " +
                        "lower InitialLearningRate (word2vec's default 0.025 suits most graphs; try 10x smaller than the value that diverged).");
                }
                if (shared.Stop == 1 || cancellation.IsCancellationRequested)
                    throw new OperationCanceledException($"metapath2vec training was cancelled in epoch {epoch + 1} of {_epochs}.", cancellation);
                onEpoch?.Invoke(epoch + 1, Volatile.Read(ref shared.Processed), Volatile.Read(ref shared.Alpha));
            }
            Statistics.TokensTrained = shared.Processed;
            Statistics.TrainSeconds = sw.Elapsed.TotalSeconds;
            Statistics.FinalLearningRate = shared.Alpha;
            // Backstop: a value that overflowed without any score being non-finite (cannot happen with finite scores, but
            // the check costs one pass and guarantees no NaN leaves the trainer).
            if (!IsFinite(input))
            {
                DivergedAtEpoch = _epochs;
                throw new InvalidOperationException(
                    $"metapath2vec training diverged: the embeddings hold non-finite values with InitialLearningRate = {_alpha0:G4}; lower InitialLearningRate.");
            }
        }

        private static bool IsFinite(float[] values)
        {
            // x - x is 0 for a finite x and NaN for +-Inf and NaN.
            var span = values.AsSpan();
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var acc = Vector<float>.Zero;
                for (; i <= span.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var v = new Vector<float>(span.Slice(i));
                    acc += v - v;
                }
                if (!Vector.EqualsAll(acc, Vector<float>.Zero))
                    return false;
            }
            for (; i < span.Length; i++)
                if (!float.IsFinite(span[i]))
                    return false;
            return true;
        }

        private void RunShard(RunState run, int epoch, int thread, long lo, long hi)
        {
            var rng = new SplitMix64(_seed ^ SplitMix64.Mix(((ulong)epoch << 20) + (ulong)thread + 1));
            var shared = run.Shared;
            int d = _dim, window = _window;
            var keep = run.Keep;
            var perType = run.PerType;
            var global = run.Global;
            var nodeType = run.NodeType;
            long updateEvery = run.UpdateEvery, totalTokens = run.TotalTokens;
            var walk = new int[_walker.WalkLength];
            var sentence = new int[_walker.WalkLength];
            var neu1e = new float[d];
            var nodes = new int[_negative + 1];
            long wordCount = 0, lastWordCount = 0;
            float localAlpha = Volatile.Read(ref shared.Alpha);
            ref float syn0 = ref MemoryMarshal.GetArrayDataReference(run.Input);
            ref float syn1 = ref MemoryMarshal.GetArrayDataReference(run.Output);
            bool finite = true;
            for (long w = lo; w < hi; w++)
            {
                if (wordCount - lastWordCount > updateEvery)
                {
                    long p = Interlocked.Add(ref shared.Processed, wordCount - lastWordCount);
                    lastWordCount = wordCount;
                    localAlpha = Math.Max(_minAlpha, _alpha0 * (1 - p / (float)(totalTokens + 1)));
                    Volatile.Write(ref shared.Alpha, localAlpha);
                    if (!finite)
                        Volatile.Write(ref shared.Stop, 2);
                    if (Volatile.Read(ref shared.Stop) != 0)
                        return;
                }
                int len = _walker.Generate(w, walk);
                wordCount += len;
                int k = 0;
                if (keep is null)
                {
                    walk.AsSpan(0, len).CopyTo(sentence);
                    k = len;
                }
                else
                {
                    for (int i = 0; i < len; i++)
                    {
                        int node = walk[i];
                        if (keep[node] < 1f && keep[node] < rng.NextFloat())
                            continue;
                        sentence[k++] = node;
                    }
                }
                for (int pos = 0; pos < k; pos++)
                {
                    int center = sentence[pos];
                    int b = rng.NextInt(window);
                    int from = Math.Max(0, pos - window + b), to = Math.Min(k - 1, pos + window - b);
                    var table = perType is null ? global : perType[nodeType![center]];
                    for (int c = from; c <= to; c++)
                    {
                        if (c == pos)
                            continue;
                        finite &= TrainPair(ref syn0, ref syn1, d, sentence[c], center, table, localAlpha, neu1e, nodes, ref rng);
                    }
                }
            }
            Interlocked.Add(ref shared.Processed, wordCount - lastWordCount);
            if (!finite)
                Volatile.Write(ref shared.Stop, 2);
        }

        /// <summary>One positive pair and its negatives; returns false when a score was not finite (divergence).</summary>
        private bool TrainPair(ref float syn0, ref float syn1, int d, int context, int target, AliasTable table, float a, float[] neu1e, int[] nodes, ref SplitMix64 rng)
        {
            // Draw the negatives first (same draws, same order as drawing them one by one) and prefetch every row
            // the pair touches: on graphs whose tables exceed the caches the misses then overlap instead of
            // queueing one after another.
            int count = 0;
            nodes[count++] = target;
            if (table.Count > 0)
            {
                for (int s = 1; s <= _negative; s++)
                {
                    int node = table.Sample(ref rng);
                    if (node != target)
                        nodes[count++] = node;
                }
            }
            if (_prefetch)
            {
                Prefetch(ref Unsafe.Add(ref syn0, (nint)context * d), d);
                for (int i = 0; i < count; i++)
                    Prefetch(ref Unsafe.Add(ref syn1, (nint)nodes[i] * d), d);
            }
            ref float l1 = ref Unsafe.Add(ref syn0, (nint)context * d);
            if (Vector512.IsHardwareAccelerated && d % Vector512<float>.Count == 0)
                return Rows512(ref l1, ref syn1, d, nodes, count, a, neu1e);
            if (Vector256.IsHardwareAccelerated && Fma.IsSupported && d % Vector256<float>.Count == 0)
                return Rows256(ref l1, ref syn1, d, nodes, count, a, neu1e);
            return RowsPortable(MemoryMarshal.CreateSpan(ref l1, d), ref syn1, d, nodes, count, a, neu1e);
        }

        /// <summary>The gradient factor g = (label - sigmoid(f)) * a, word2vec's tabulated sigmoid; NaN when f is NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float Gradient(float f, float label, float a)
        {
            if (f > MaxExp)
                return (label - 1) * a;
            if (f < -MaxExp)
                return label * a;
            if (float.IsNaN(f))
                return float.NaN;
            return (label - s_expTable[(int)((f + MaxExp) * (ExpTableSize / MaxExp / 2))]) * a;
        }

        /// <summary>
        /// The pair's rows with 512-bit vectors and fused multiply-adds: for each of <paramref name="count"/> output rows
        /// (the target first, then the negatives) the score, then neu1e += g·l2 and l2 += g·l1 in one pass; finally
        /// l1 += neu1e. Two dot-product accumulators break the dependency chain of the score.
        /// </summary>
        internal static bool Rows512(ref float l1, ref float syn1, int d, int[] nodes, int count, float a, float[] neu1eArray)
        {
            const int W = 16;
            ref float e = ref MemoryMarshal.GetArrayDataReference(neu1eArray);
            for (int i = 0; i < d; i += W)
                Vector512<float>.Zero.StoreUnsafe(ref e, (nuint)i);
            bool finite = true;
            for (int j = 0; j < count; j++)
            {
                ref float o = ref Unsafe.Add(ref syn1, (nint)nodes[j] * d);
                var acc0 = Vector512<float>.Zero;
                var acc1 = Vector512<float>.Zero;
                int i = 0;
                for (; i + 2 * W <= d; i += 2 * W)
                {
                    acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref l1, (nuint)i), Vector512.LoadUnsafe(ref o, (nuint)i), acc0);
                    acc1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref l1, (nuint)(i + W)), Vector512.LoadUnsafe(ref o, (nuint)(i + W)), acc1);
                }
                if (i < d)
                    acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref l1, (nuint)i), Vector512.LoadUnsafe(ref o, (nuint)i), acc0);
                float f = Vector512.Sum(acc0 + acc1);
                float g = Gradient(f, j == 0 ? 1f : 0f, a);
                if (!float.IsFinite(f))
                {
                    // NaN or infinite (an infinite row): the model has diverged; the caller stops the run
                    finite = false;
                    if (float.IsNaN(g))
                        continue;
                }
                if (g == 0)
                    continue;
                var gv = Vector512.Create(g);
                for (i = 0; i < d; i += W)
                {
                    var ov = Vector512.LoadUnsafe(ref o, (nuint)i);
                    Vector512.FusedMultiplyAdd(gv, ov, Vector512.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref e, (nuint)i);
                    Vector512.FusedMultiplyAdd(gv, Vector512.LoadUnsafe(ref l1, (nuint)i), ov).StoreUnsafe(ref o, (nuint)i);
                }
            }
            for (int i = 0; i < d; i += W)
                (Vector512.LoadUnsafe(ref l1, (nuint)i) + Vector512.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref l1, (nuint)i);
            return finite;
        }

        /// <summary><see cref="Rows512"/> with 256-bit vectors (AVX2 + FMA CPUs).</summary>
        internal static bool Rows256(ref float l1, ref float syn1, int d, int[] nodes, int count, float a, float[] neu1eArray)
        {
            const int W = 8;
            ref float e = ref MemoryMarshal.GetArrayDataReference(neu1eArray);
            for (int i = 0; i < d; i += W)
                Vector256<float>.Zero.StoreUnsafe(ref e, (nuint)i);
            bool finite = true;
            for (int j = 0; j < count; j++)
            {
                ref float o = ref Unsafe.Add(ref syn1, (nint)nodes[j] * d);
                var acc0 = Vector256<float>.Zero;
                var acc1 = Vector256<float>.Zero;
                int i = 0;
                for (; i + 2 * W <= d; i += 2 * W)
                {
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref l1, (nuint)i), Vector256.LoadUnsafe(ref o, (nuint)i), acc0);
                    acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref l1, (nuint)(i + W)), Vector256.LoadUnsafe(ref o, (nuint)(i + W)), acc1);
                }
                if (i < d)
                    acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref l1, (nuint)i), Vector256.LoadUnsafe(ref o, (nuint)i), acc0);
                float f = Vector256.Sum(acc0 + acc1);
                float g = Gradient(f, j == 0 ? 1f : 0f, a);
                if (!float.IsFinite(f))
                {
                    finite = false;
                    if (float.IsNaN(g))
                        continue;
                }
                if (g == 0)
                    continue;
                var gv = Vector256.Create(g);
                for (i = 0; i < d; i += W)
                {
                    var ov = Vector256.LoadUnsafe(ref o, (nuint)i);
                    Vector256.FusedMultiplyAdd(gv, ov, Vector256.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref e, (nuint)i);
                    Vector256.FusedMultiplyAdd(gv, Vector256.LoadUnsafe(ref l1, (nuint)i), ov).StoreUnsafe(ref o, (nuint)i);
                }
            }
            for (int i = 0; i < d; i += W)
                (Vector256.LoadUnsafe(ref l1, (nuint)i) + Vector256.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref l1, (nuint)i);
            return finite;
        }

        /// <summary>Any dimension, any CPU: <see cref="TensorPrimitives"/> and <see cref="Vector{T}"/>.</summary>
        internal static bool RowsPortable(Span<float> l1, ref float syn1, int d, int[] nodes, int count, float a, float[] neu1e)
        {
            Array.Clear(neu1e);
            bool finite = true;
            for (int i = 0; i < count; i++)
            {
                var l2 = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref syn1, (nint)nodes[i] * d), d);
                float f = TensorPrimitives.Dot(l1, l2);
                float g = Gradient(f, i == 0 ? 1f : 0f, a);
                if (!float.IsFinite(f))
                {
                    // NaN (an infinite row): the model has diverged; leave the rows alone and let the caller stop.
                    finite = false;
                    if (float.IsNaN(g))
                        continue;
                }
                if (g == 0)
                    continue;
                FusedUpdate(neu1e, l2, l1, g);
            }
            TensorPrimitives.Add(l1, neu1e, l1);
            return finite;
        }

        /// <summary>Prefetches the cache lines of a row (x86 SSE; a no-op elsewhere).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe void Prefetch(ref float row, int length)
        {
            byte* p = (byte*)Unsafe.AsPointer(ref row);
            for (int off = 0; off < length * sizeof(float); off += 64)
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + off);
        }

        /// <summary>neu1e += g * l2; l2 += g * l1 (one pass over both rows).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void FusedUpdate(Span<float> neu1e, Span<float> l2, ReadOnlySpan<float> l1, float g)
        {
            int d = l2.Length, i = 0;
            ref float e = ref MemoryMarshal.GetReference(neu1e);
            ref float o = ref MemoryMarshal.GetReference(l2);
            ref float x = ref MemoryMarshal.GetReference(l1);
            if (Vector.IsHardwareAccelerated && d >= Vector<float>.Count)
            {
                var gv = new Vector<float>(g);
                for (; i <= d - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var ov = Vector.LoadUnsafe(ref o, (nuint)i);
                    var ev = Vector.LoadUnsafe(ref e, (nuint)i);
                    var xv = Vector.LoadUnsafe(ref x, (nuint)i);
                    (ev + gv * ov).StoreUnsafe(ref e, (nuint)i);
                    (ov + gv * xv).StoreUnsafe(ref o, (nuint)i);
                }
            }
            for (; i < d; i++)
            {
                float ov = Unsafe.Add(ref o, i);
                Unsafe.Add(ref e, i) += g * ov;
                Unsafe.Add(ref o, i) = ov + g * Unsafe.Add(ref x, i);
            }
        }
    }
}
