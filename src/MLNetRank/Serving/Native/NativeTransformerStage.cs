using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;

namespace MLNetRank.Serving.Native
{
    /// <summary>
    /// A transformer block of an ONNX network that the request scorer evaluates natively (<see cref="TransformerKernel"/>):
    /// its parameters and embedding tables (read once from the model), where its ids come from, and the shared room cache.
    /// Immutable apart from the thread-safe cache; each request gets its own <see cref="NativeTransformerRun"/>.
    /// </summary>
    internal sealed class NativeTransformerStage
    {
        private NativeTransformerStage(NativeTransformerSpec spec, TransformerBlock block, float[][] tables, long[] tableRows, RoomCache? cache)
        {
            Spec = spec;
            Block = block;
            Tables = tables;
            TableRows = tableRows;
            Cache = cache;
            InputColumns = new[] { spec.User.Input }.Concat(spec.Room.Select(r => r.Input)).Distinct(StringComparer.Ordinal).ToArray();
        }

        public NativeTransformerSpec Spec { get; }
        public TransformerBlock Block { get; }
        /// <summary>Per source (the user's, then each room segment's): its embedding table [rows, d].</summary>
        public float[][] Tables { get; }
        public long[] TableRows { get; }
        public RoomCache? Cache { get; }
        /// <summary>The request columns the block reads.</summary>
        public string[] InputColumns { get; }
        public string Output => Spec.Output;
        public int D => Block.D;

        /// <summary>The block, or null with the reason when the kernel cannot evaluate it (the network then keeps its ONNX form).</summary>
        public static NativeTransformerStage? TryCreate(NativeTransformerSpec spec, byte[] onnx, IReadOnlyList<OnnxTensorSpec> graphInputs, DataViewSchema columns, int roomCacheCapacity, out string? why)
        {
            why = TransformerBlock.Unsupported(spec.Dimension, spec.Heads, spec.FeedForward);
            if (why is not null)
                return null;
            if (spec.Room.Count == 0 || spec.Layers < 1)
            {
                why = "a block without room tokens or layers";
                return null;
            }
            var sources = new[] { spec.User }.Concat(spec.Room).ToArray();
            var tables = new float[sources.Length][];
            var rows = new long[sources.Length];
            var loaded = new Dictionary<string, (float[] Values, long[] Dims)?>(StringComparer.Ordinal);
            for (int i = 0; i < sources.Length; i++)
            {
                var s = sources[i];
                var input = graphInputs.FirstOrDefault(g => g.Name == s.Input);
                if (input is null || input.ElementType != TensorElementType.UInt32)
                {
                    why = $"input '{s.Input}' (not a uint32 graph input)";
                    return null;
                }
                var col = columns.GetColumnOrNull(s.Input);
                var item = col?.Type is VectorDataViewType v ? v.ItemType : col?.Type;
                if (item?.RawType != typeof(uint))
                {
                    why = $"column '{s.Input}' (its values are not uint32 keys)";
                    return null;
                }
                if (s.IsSequence ? s.MaximumLength <= 0 : s.Slots <= 0)
                {
                    why = $"input '{s.Input}' (no maximum length or slots recorded)";
                    return null;
                }
                if (!loaded.TryGetValue(s.Table, out var table))
                    loaded[s.Table] = table = OnnxGraphCut.FloatInitializer(onnx, s.Table);
                if (table is not { } t || t.Dims.Length != 2 || t.Dims[1] != spec.Dimension)
                {
                    why = $"embedding table '{s.Table}' (not a float [rows, {spec.Dimension}] initializer)";
                    return null;
                }
                tables[i] = t.Values;
                rows[i] = t.Dims[0];
            }
            TransformerParameters p;
            try
            {
                p = spec.Unpack();
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                why = "its recorded parameters: " + e.Message;
                return null;
            }
            var cache = roomCacheCapacity > 0 && spec.Layers >= 2 ? new RoomCache(roomCacheCapacity) : null;
            return new NativeTransformerStage(spec, new TransformerBlock(p), tables, rows, cache);
        }

        /// <summary>Most user tokens and room tokens (summary excluded) a candidate can have.</summary>
        public int MaxUserTokens => Spec.User.IsSequence ? Spec.User.MaximumLength : Spec.User.Slots;

        public int MaxRoomTokens => Spec.Room.Sum(r => r.IsSequence ? r.MaximumLength : r.Slots);

        public NativeTransformerRun CreateRun(int capacity, Func<string, InputBuffer> buffers, FixedBuffer<float> output)
            => new NativeTransformerRun(this, capacity, new[] { Spec.User }.Concat(Spec.Room).Select(s => buffers(s.Input)).ToArray(), output);
    }

    /// <summary>A request's native evaluation of one block: reads the ids from the request's buffers, gathers their
    /// embeddings, runs the kernel, writes the block's output column (which the rest of the network reads).</summary>
    internal sealed class NativeTransformerRun
    {
        private readonly NativeTransformerStage _stage;
        private readonly InputBuffer[] _sources;
        private readonly FixedBuffer<float> _output;
        private readonly TransformerWorkspace _ws;
        private readonly uint[] _key;
        private readonly int[] _keyLength;

        public NativeTransformerRun(NativeTransformerStage stage, int capacity, InputBuffer[] sources, FixedBuffer<float> output)
        {
            _stage = stage;
            _sources = sources;
            _output = output;
            _ws = new TransformerWorkspace(stage.Block, capacity, stage.MaxUserTokens, stage.MaxRoomTokens);
            int keyWidth = 1 + stage.Block.Segments + stage.MaxRoomTokens;
            _key = new uint[capacity * keyWidth];
            _keyLength = new int[capacity];
            if (stage.Cache is not null)
                _ws.RoomToCache = new float[capacity][];
        }

        private static ReadOnlySpan<uint> Ids(InputBuffer b, int row) => b switch
        {
            VariableBuffer<uint> v => new ReadOnlySpan<uint>(v.Rows[row], 0, v.Lengths[row]),
            FixedBuffer<uint> f => new ReadOnlySpan<uint>(f.Data, row * f.Width, f.Width),
            _ => throw new InvalidOperationException($"Column '{b.Column.Name}' does not hold uint32 ids."),
        };

        /// <summary>Appends the tokens of one source's row: their table rows' embeddings into <paramref name="dest"/> (from token
        /// <paramref name="at"/>), their row indices into <paramref name="key"/>; returns the number of tokens.</summary>
        private int Gather(int source, int row, float[] dest, int at, Span<uint> key)
        {
            var s = source == 0 ? _stage.Spec.User : _stage.Spec.Room[source - 1];
            var ids = Ids(_sources[source], row);
            var table = _stage.Tables[source];
            long rows = _stage.TableRows[source];
            int d = _stage.D, n = 0;
            int first = s.IsSequence ? Math.Max(0, ids.Length - s.MaximumLength) : 0;
            if (!s.IsSequence && ids.Length != s.Slots)
                throw new InvalidOperationException($"Column '{s.Input}' has {ids.Length} ids in row {row}; the network reads {s.Slots}.");
            for (int i = first; i < ids.Length; i++)
            {
                long index = s.IsSequence ? ids[i] : ids[i] + i * s.SlotStride;
                if (index <= 0)
                    continue;
                if (index >= rows)
                    throw new InvalidOperationException($"Column '{s.Input}' holds id {index} in row {row}; its embedding table has {rows} rows (ids must be keys of the training data's key space).");
                Array.Copy(table, index * d, dest, (at + n) * d, d);
                if (!key.IsEmpty)
                    key[n] = (uint)index;
                n++;
            }
            return n;
        }

        private bool SameIds(int source, int a, int b) => Ids(_sources[source], a).SequenceEqual(Ids(_sources[source], b));

        /// <summary>Evaluates the block for rows 0..n-1 (the user's tokens once per run of rows with the same user ids).</summary>
        public void Execute(int n)
        {
            var spec = _stage.Spec;
            // request-level sources: every row must hold the same ids (the graph broadcasts row 0)
            for (int s = 0; s <= spec.Room.Count; s++)
            {
                var src = s == 0 ? spec.User : spec.Room[s - 1];
                if (src.RequestLevel)
                    for (int r = 1; r < n; r++)
                        if (!SameIds(s, 0, r))
                            throw new InvalidOperationException($"Column '{src.Input}' is declared the same for every candidate of a request (SameForAllCandidates), but rows 0 and {r} of the request differ.");
            }
            int start = 0;
            while (start < n)
            {
                int end = start + 1;
                if (spec.User.RequestLevel)
                    end = n;
                else
                    while (end < n && SameIds(0, start, end))
                        end++;
                Run(start, end);
                start = end;
            }
        }

        private void Run(int start, int end)
        {
            var spec = _stage.Spec;
            var block = _stage.Block;
            var ws = _ws;
            int segments = block.Segments, maxRoom = _stage.MaxRoomTokens, keyWidth = 1 + segments + maxRoom;
            var path = TransformerKernel.ResolvedPath;
            int width = TransformerKernel.WidthOf(path);
            ws.UserCount = Gather(0, spec.User.RequestLevel ? 0 : start, ws.UserTokens, 0, Span<uint>.Empty);
            var cache = _stage.Cache;
            for (int c = 0; c < end - start; c++)
            {
                int row = start + c, total = 0;
                var key = _key.AsSpan(c * keyWidth, keyWidth);
                key[0] = (uint)width;
                for (int s = 0; s < segments; s++)
                {
                    var src = spec.Room[s];
                    int count = Gather(s + 1, src.RequestLevel ? 0 : row, ws.RoomTokens, c * maxRoom + total, key.Slice(1 + segments + total));
                    ws.RoomCounts[c * segments + s] = count;
                    key[1 + s] = (uint)count;
                    total += count;
                }
                _keyLength[c] = 1 + segments + total;
                ws.RoomCached[c] = null;
                if (cache is not null)
                {
                    ws.RoomToCache![c] = null;
                    var entry = cache.TryGet(key.Slice(0, _keyLength[c]));
                    int length = TransformerKernel.CacheEntryLength(block, total, width);
                    if (entry is not null && entry.Length == length)
                        ws.RoomCached[c] = entry;
                    else
                        ws.RoomToCache[c] = new float[length];
                }
            }
            TransformerKernel.Score(block, ws, end - start, _output.Data.AsSpan(start * block.D, (end - start) * block.D), path);
            if (cache is not null)
                for (int c = 0; c < end - start; c++)
                    if (ws.RoomToCache![c] is { } filled)
                    {
                        cache.Add(_key.AsSpan(c * keyWidth, _keyLength[c]), filled);
                        ws.RoomToCache[c] = null;
                    }
        }
    }
}
