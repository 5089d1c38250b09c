using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MLNetRank.Torch.Layers;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>Rows in flat, pre-allocated arrays: a mini-batch on the host, or the shuffle buffer.</summary>
    internal sealed class RowStore
    {
        public readonly int Capacity;
        public int Count;
        public readonly float[] Dense;
        public readonly long[][] Cats;
        public readonly long[][] Seqs;
        public readonly int[][] SeqLengths;
        public readonly float[] Labels;
        public readonly float[] Mask;
        public readonly float[] Weights;
        public readonly float[] Adjust;
        public readonly float[] Positions;
        private readonly NetworkLayout _layout;

        public RowStore(NetworkLayout layout, int capacity)
        {
            _layout = layout;
            Capacity = capacity;
            Dense = new float[capacity * layout.DenseSize];
            Cats = layout.Categoricals.Select(c => new long[capacity * c.Slots]).ToArray();
            Seqs = layout.Sequences.Select(s => new long[capacity * s.MaximumLength]).ToArray();
            SeqLengths = layout.Sequences.Select(_ => new int[capacity]).ToArray();
            Labels = new float[capacity * layout.Tasks.Count];
            Mask = new float[capacity * layout.Tasks.Count];
            Weights = new float[capacity];
            Adjust = new float[capacity * layout.AdjustmentSize];
            Positions = new float[capacity * layout.PositionColumns.Count];
        }

        public void CopyRow(int from, RowStore dst, int to)
        {
            int d = _layout.DenseSize;
            Array.Copy(Dense, from * d, dst.Dense, to * d, d);
            for (int i = 0; i < Cats.Length; i++)
            {
                int k = _layout.Categoricals[i].Slots;
                Array.Copy(Cats[i], from * k, dst.Cats[i], to * k, k);
            }
            for (int i = 0; i < Seqs.Length; i++)
            {
                int m = _layout.Sequences[i].MaximumLength;
                int len = SeqLengths[i][from];
                Array.Copy(Seqs[i], from * m, dst.Seqs[i], to * m, len);
                dst.SeqLengths[i][to] = len;
            }
            int t = _layout.Tasks.Count;
            Array.Copy(Labels, from * t, dst.Labels, to * t, t);
            Array.Copy(Mask, from * t, dst.Mask, to * t, t);
            dst.Weights[to] = Weights[from];
            int a = _layout.AdjustmentSize;
            Array.Copy(Adjust, from * a, dst.Adjust, to * a, a);
            int q = _layout.PositionColumns.Count;
            Array.Copy(Positions, from * q, dst.Positions, to * q, q);
        }

        /// <summary>One tensor per input (never per row); they share or copy these arrays, so dispose them before reuse.</summary>
        public BatchTensors ToTensors(Device device, bool withAdjustments)
        {
            int n = Count;
            var b = new BatchTensors { Count = n };
            if (_layout.DenseSize > 0)
                b.Dense = Slice(Dense, n, _layout.DenseSize, device);
            b.Categoricals = new Tensor[Cats.Length];
            for (int i = 0; i < Cats.Length; i++)
                b.Categoricals[i] = Slice(Cats[i], n, _layout.Categoricals[i].Slots, device);
            b.Sequences = new Tensor[Seqs.Length];
            for (int i = 0; i < Seqs.Length; i++)
            {
                int m = _layout.Sequences[i].MaximumLength;
                var lens = SeqLengths[i];
                int l = 1;
                for (int r = 0; r < n; r++)
                    l = Math.Max(l, lens[r]);
                var ids = new long[n * l];
                for (int r = 0; r < n; r++)
                    Array.Copy(Seqs[i], r * m, ids, r * l, lens[r]);
                b.Sequences[i] = tensor(ids, new long[] { n, l }).to(device);
            }
            int t = _layout.Tasks.Count;
            b.Labels = Slice(Labels, n, t, device);
            b.Mask = Slice(Mask, n, t, device);
            b.Weights = Slice(Weights, n, 1, device).view(n);
            if (withAdjustments && _layout.AdjustmentSize > 0)
                b.Adjustments = Slice(Adjust, n, _layout.AdjustmentSize, device);
            if (_layout.PositionColumns.Count > 0)
                b.Positions = Slice(Positions, n, _layout.PositionColumns.Count, device);
            return b;
        }

        private Tensor Slice(float[] data, int n, int width, Device device)
        {
            var full = tensor(data, new long[] { Capacity, width });
            var t = n == Capacity ? full : full.narrow(0, 0, n);
            return device.type == TorchSharp.DeviceType.CPU ? t : t.to(device);
        }

        private Tensor Slice(long[] data, int n, int width, Device device)
        {
            var full = tensor(data, new long[] { Capacity, width });
            var t = n == Capacity ? full : full.narrow(0, 0, n);
            return device.type == TorchSharp.DeviceType.CPU ? t : t.to(device);
        }
    }

    /// <summary>Which rows of the data a reader returns.</summary>
    internal enum RowSubset
    {
        All,
        TrainingPart,
        ValidationPart,
    }

    /// <summary>
    /// Streams a prepared <see cref="IDataView"/> into mini-batches through a bounded shuffle buffer: a pass holds at most
    /// <c>ShuffleBufferSize + 3 x BatchSize</c> rows (the trainer runs at most two passes at once: the current epoch and
    /// the next one, read ahead; spare shuffle buffers are kept for reuse while the reader lives). Batches are assembled
    /// on a background thread while the network trains on the previous one. When all rows of a shuffled pass fit its
    /// buffer, they stay resident and later passes reshuffle them without reading the data view again.
    /// </summary>
    internal sealed class BatchReader
    {
        private readonly IDataView _data;
        private readonly NetworkLayout _layout;
        private readonly ColumnNames _cols;
        private readonly float _validationFraction;
        private readonly int _splitSeed;

        internal sealed class ColumnNames
        {
            public string? Dense;
            public string[] DenseSources = Array.Empty<string>();
            public int[] DenseSourceEnds = Array.Empty<int>();
            public string? Weight;
            public AdjustmentColumn[][] AdjustmentColumns = Array.Empty<AdjustmentColumn[]>();
        }

        public BatchReader(IDataView data, NetworkLayout layout, ColumnNames cols, float validationFraction, int splitSeed)
        {
            _data = data;
            _layout = layout;
            _cols = cols;
            _validationFraction = validationFraction;
            _splitSeed = splitSeed;
        }

        /// <summary>True when row <paramref name="index"/> belongs to the held-out validation part.</summary>
        public static bool IsValidationRow(long index, int seed, float fraction)
        {
            if (fraction <= 0)
                return false;
            ulong z = SplitMix64.Mix((ulong)index + 0x9E3779B97F4A7C15UL * (ulong)(uint)(seed + 1));
            return (z >> 11) * (1.0 / (1UL << 53)) < fraction;
        }

        /// <summary>
        /// Produces batches of <paramref name="batchSize"/> rows; the last one may be smaller. <paramref name="shuffleSeed"/>
        /// null = data order. <paramref name="consume"/> runs on the caller's thread; batches are filled on a worker thread.
        /// </summary>
        public void Run(RowSubset subset, int batchSize, int shuffleBuffer, int? shuffleSeed, Action<RowStore> consume)
        {
            using var stream = Start(subset, batchSize, shuffleBuffer, shuffleSeed);
            stream.Consume(consume);
        }

        /// <summary>
        /// Starts filling batches on a worker thread now; <see cref="BatchStream.Consume"/> takes them later. The trainer
        /// starts the next epoch's stream while the current epoch trains, so that the next epoch's shuffle buffer is
        /// filled off the hot path (at most two shuffle buffers are alive at once). Dispose stops the worker.
        /// </summary>
        public BatchStream Start(RowSubset subset, int batchSize, int shuffleBuffer, int? shuffleSeed)
            => new(this, subset, batchSize, shuffleBuffer, shuffleSeed);

        /// <summary>One pass over the rows: a worker thread fills at most three batches ahead of the consumer.</summary>
        internal sealed class BatchStream : IDisposable
        {
            private const int Buffers = 3;
            private readonly BlockingCollection<RowStore> _free = new(Buffers);
            private readonly BlockingCollection<RowStore> _full = new(Buffers);
            private readonly CancellationTokenSource _cts = new();
            private readonly Task _producer;
            private Exception? _producerError;
            private bool _consumed;
            private bool _disposed;

            internal BatchStream(BatchReader reader, RowSubset subset, int batchSize, int shuffleBuffer, int? shuffleSeed)
            {
                for (int i = 0; i < Buffers; i++)
                    _free.Add(new RowStore(reader._layout, batchSize));
                var token = _cts.Token;
                // which pass reads the rows and which waits for them is decided here, on the caller's thread, in the order
                // the streams are started: decided on the worker threads, the next epoch's worker could win and become the
                // reader while the trainer consumed this stream, which then waited for rows no one consumed (a deadlock)
                var (loading, resident) = reader.ClaimResident(subset, shuffleBuffer, shuffleSeed);
                _producer = Task.Factory.StartNew(() =>
                {
                    try
                    {
                        reader.Produce(subset, batchSize, shuffleBuffer, shuffleSeed, _free, _full, loading, resident, token);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        _producerError = ex;
                    }
                    finally
                    {
                        // a pass that stopped before it read the rows (cancelled, failed) lets the passes waiting for it read
                        // the data themselves
                        if (loading is not null && !loading.Task.IsCompleted)
                            reader.AbandonResident(subset, shuffleBuffer, loading);
                        _full.CompleteAdding();
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            /// <summary>Runs <paramref name="consume"/> on each batch, on the caller's thread; once per stream.</summary>
            public void Consume(Action<RowStore> consume)
            {
                if (_consumed)
                    throw new InvalidOperationException("A batch stream is consumed once.");
                _consumed = true;
                try
                {
                    using var batches = _full.GetConsumingEnumerable().GetEnumerator();
                    // the read-ahead fills batches while this thread waits (the gate let go), never during its TorchSharp work
                    while (TorchGate.Released(batches.MoveNext))
                    {
                        var batch = batches.Current;
                        consume(batch);
                        batch.Count = 0;
                        _free.Add(batch);
                    }
                }
                catch
                {
                    Stop();
                    throw;
                }
                TorchGate.Released(() => _producer.Wait());
                if (_producerError is not null)
                    throw _producerError is InvalidOperationException or ArgumentException
                        ? _producerError
                        : new InvalidOperationException("Reading the training data failed: " + _producerError.Message, _producerError);
            }

            private void Stop()
            {
                _cts.Cancel();
                try { TorchGate.Released(() => _producer.Wait()); } catch (AggregateException) { }
            }

            public void Dispose()
            {
                if (_disposed)
                    return;
                _disposed = true;
                Stop();
                _free.Dispose();
                _full.Dispose();
                _cts.Dispose();
            }
        }

        /// <summary>For a shuffled pass: the role of a stream started now. The first stream of a (subset, buffer size) reads
        /// the rows and may leave them resident (<c>Loading</c>); a later one waits for that (<c>Resident</c>).</summary>
        private (TaskCompletionSource<RowStore?>? Loading, Task<RowStore?>? Resident) ClaimResident(RowSubset subset, int shuffleBuffer, int? shuffleSeed)
        {
            if (!(shuffleSeed.HasValue && shuffleBuffer > 1))
                return (null, null);
            lock (_resident)
            {
                if (_resident.TryGetValue((subset, shuffleBuffer), out var resident))
                    return (null, resident);
                var loading = new TaskCompletionSource<RowStore?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _resident[(subset, shuffleBuffer)] = loading.Task;
                return (loading, null);
            }
        }

        /// <summary>Whether a shuffled pass over (<paramref name="subset"/>, <paramref name="shuffleBuffer"/>) has claimed the reading
        /// role (tests: the role is decided when a stream is started, on the caller's thread).</summary>
        internal bool HasReadingPass(RowSubset subset, int shuffleBuffer)
        {
            lock (_resident)
                return _resident.ContainsKey((subset, shuffleBuffer));
        }

        /// <summary>A reading pass that stopped early: later passes read the data themselves.</summary>
        private void AbandonResident(RowSubset subset, int shuffleBuffer, TaskCompletionSource<RowStore?> loading)
        {
            lock (_resident)
                if (_resident.TryGetValue((subset, shuffleBuffer), out var t) && t == loading.Task)
                    _resident.Remove((subset, shuffleBuffer));
            loading.TrySetResult(null);
        }

        private void Produce(RowSubset subset, int batchSize, int shuffleBuffer, int? shuffleSeed,
            BlockingCollection<RowStore> free, BlockingCollection<RowStore> full,
            TaskCompletionSource<RowStore?>? loading, Task<RowStore?>? resident, CancellationToken token)
        {
            token.ThrowIfCancellationRequested();
            // every row read (ML.NET cursors allocate) holds the gate, so no collection it starts runs beside the trainer's
            // TorchSharp calls (TorchGate says why)
            RowReader NewReader() { lock (TorchGate.Sync) return new RowReader(_data, _layout, _cols); }
            RowStore batch = free.Take(token);
            void Emit(RowStore src, int slot)
            {
                src.CopyRow(slot, batch, batch.Count++);
                if (batch.Count == batchSize)
                {
                    full.Add(batch, token);
                    batch = free.Take(token);
                }
            }

            bool shuffle = shuffleSeed.HasValue && shuffleBuffer > 1;
            // a shuffled pass whose rows all fit its buffer leaves them resident: later passes over the same rows with the
            // same buffer size shuffle them again without reading the IDataView (the trainer's epochs after the first)
            if (shuffle)
            {
                if (resident is not null)
                {
                    // a pass that is still reading the rows finishes first (the trainer starts the next epoch early)
                    resident.Wait(token);
                    if (resident.Result is RowStore rows)
                    {
                        EmitShuffled(rows, new Random(shuffleSeed!.Value));
                        if (batch.Count > 0)
                            full.Add(batch, token);
                        else
                            free.Add(batch);
                        return;
                    }
                }
            }
            using var row = NewReader();
            var pool = RentStore(shuffle ? shuffleBuffer : 1);
            bool keep = false, overflowed = false;
            try
            {
                var rng = new Random(shuffleSeed ?? 0);
                long index = -1;
                while (true)
                {
                    bool more;
                    lock (TorchGate.Sync)
                        more = row.MoveNext();
                    if (!more)
                        break;
                    token.ThrowIfCancellationRequested();    // a stream disposed unread stops within a row, not a buffer fill
                    index++;
                    if (subset != RowSubset.All)
                    {
                        bool val = IsValidationRow(index, _splitSeed, _validationFraction);
                        if (val != (subset == RowSubset.ValidationPart))
                            continue;
                    }
                    if (!shuffle)
                    {
                        lock (TorchGate.Sync)
                            row.Read(pool, 0, index);
                        Emit(pool, 0);
                        continue;
                    }
                    if (pool.Count < pool.Capacity)
                    {
                        lock (TorchGate.Sync)
                            row.Read(pool, pool.Count++, index);
                        continue;
                    }
                    overflowed = true;
                    int j = rng.Next(pool.Capacity);
                    Emit(pool, j);
                    lock (TorchGate.Sync)
                        row.Read(pool, j, index);
                }
                if (shuffle)
                {
                    if (loading is not null && !overflowed)
                    {
                        // every row is in the buffer, in data order (the shuffle below only reads it): keep it for later passes
                        keep = true;
                        loading.SetResult(pool);
                        loading = null;
                    }
                    EmitShuffled(pool, rng);
                }
                if (batch.Count > 0)
                    full.Add(batch, token);
                else
                    free.Add(batch);
            }
            finally
            {
                if (loading is not null)
                {
                    // the rows did not fit (or the pass stopped early): later passes read the data themselves
                    if (!overflowed)
                        lock (_resident)
                            _resident.Remove((subset, shuffleBuffer));
                    loading.SetResult(null);
                }
                if (!keep)
                    ReturnStore(pool);
            }

            // the rows of the buffer in a uniformly random order (Fisher-Yates): the same order whether the rows were just
            // read or were left resident by an earlier pass
            void EmitShuffled(RowStore rows, Random random)
            {
                var order = Enumerable.Range(0, rows.Count).ToArray();
                for (int i = order.Length - 1; i > 0; i--)
                {
                    int j = random.Next(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
                foreach (var i in order)
                    Emit(rows, i);
            }
        }

        /// <summary>Rows of a training subset that a shuffled pass found small enough for its buffer, in data order, by
        /// (subset, buffer size); null when they did not fit. Read-only once set; kept while the reader lives (the fit).</summary>
        private readonly Dictionary<(RowSubset, int), Task<RowStore?>> _resident = new();

        private readonly List<RowStore> _spareStores = new();

        /// <summary>A row store of <paramref name="capacity"/> rows: one that an earlier pass returned, or a new one (so the
        /// shuffle buffer is allocated once per fit, not once per epoch; at most two are in use, the current epoch's and the
        /// next one's).</summary>
        private RowStore RentStore(int capacity)
        {
            lock (_spareStores)
            {
                int i = _spareStores.FindIndex(r => r.Capacity == capacity);
                if (i >= 0)
                {
                    var r = _spareStores[i];
                    _spareStores.RemoveAt(i);
                    r.Count = 0;
                    return r;
                }
            }
            return new RowStore(_layout, capacity);
        }

        private void ReturnStore(RowStore store)
        {
            lock (_spareStores)
                if (_spareStores.Count < 2)
                    _spareStores.Add(store);
        }

        /// <summary>Reads one row of a cursor into a <see cref="RowStore"/> slot, validating values with clear messages.</summary>
        private sealed class RowReader : IDisposable
        {
            private readonly DataViewRowCursor _cursor;
            private readonly NetworkLayout _layout;
            private readonly ColumnNames _cols;
            private readonly ValueGetter<VBuffer<float>>? _dense;
            private readonly ValueGetter<VBuffer<uint>>[] _cats;
            private readonly ValueGetter<VBuffer<uint>>[] _seqs;
            private readonly Func<float>[] _labels;
            private readonly ValueGetter<float>? _weight;
            private readonly Action<float[], int>[] _adjust;
            private readonly int[] _adjustStarts;
            private readonly Func<float>[] _positions;
            private VBuffer<float> _denseBuf;
            private VBuffer<uint> _idBuf;

            public RowReader(IDataView data, NetworkLayout layout, ColumnNames cols)
            {
                _layout = layout;
                _cols = cols;
                var s = data.Schema;
                var needed = new List<DataViewSchema.Column>();
                if (cols.Dense is not null)
                    needed.Add(s[cols.Dense]);
                needed.AddRange(layout.Categoricals.Select(c => s[c.Column]));
                needed.AddRange(layout.Sequences.Select(c => s[c.Column]));
                needed.AddRange(layout.Tasks.Select(t => s[t.Label]).Distinct());
                needed.AddRange(layout.PositionColumns.Select(c => s[c]));
                if (cols.Weight is not null)
                    needed.Add(s[cols.Weight]);
                needed.AddRange(cols.AdjustmentColumns.SelectMany(a => a).Select(c => c.Name).Distinct().Select(c => s[c]));
                _cursor = data.GetRowCursor(needed.Distinct());
                if (cols.Dense is not null)
                    _dense = _cursor.GetGetter<VBuffer<float>>(s[cols.Dense]);
                _cats = layout.Categoricals.Select(c => KeyGetter(_cursor, s[c.Column])).ToArray();
                _seqs = layout.Sequences.Select(c => _cursor.GetGetter<VBuffer<uint>>(s[c.Column])).ToArray();
                _labels = layout.Tasks.Select(t => ScalarGetter(_cursor, s[t.Label])).ToArray();
                if (cols.Weight is not null)
                    _weight = _cursor.GetGetter<float>(s[cols.Weight]);
                var adjust = new List<Action<float[], int>>();
                var starts = new List<int>();
                int pos = 0;
                foreach (var a in cols.AdjustmentColumns.SelectMany(x => x))
                {
                    var col = s[a.Name];
                    starts.Add(pos);
                    if (a.Kind == AdjustmentColumnKind.Position)
                    {
                        var g = PositionGetter(_cursor, col);
                        adjust.Add((dst, off) => dst[off] = g());
                        pos += 1;
                    }
                    else if (a.Kind == AdjustmentColumnKind.Category)
                    {
                        var g = IdRowGetter(_cursor, col, a.Rows);
                        adjust.Add((dst, off) => dst[off] = g());
                        pos += 1;
                    }
                    else if (col.Type is VectorDataViewType vt)
                    {
                        var g = _cursor.GetGetter<VBuffer<float>>(col);
                        var buf = default(VBuffer<float>);
                        adjust.Add((dst, off) =>
                        {
                            g(ref buf);
                            buf.CopyTo(dst, off);
                        });
                        pos += vt.Size;
                    }
                    else
                    {
                        var g = ScalarGetter(_cursor, col);
                        adjust.Add((dst, off) => dst[off] = g());
                        pos += 1;
                    }
                }
                _adjustStarts = starts.ToArray();
                _adjust = adjust.ToArray();
                _positions = layout.PositionColumns.Select(c => PositionGetter(_cursor, s[c])).ToArray();
            }

            private static ValueGetter<VBuffer<uint>> KeyGetter(DataViewRow cursor, DataViewSchema.Column col)
            {
                if (col.Type is VectorDataViewType)
                    return cursor.GetGetter<VBuffer<uint>>(col);
                var g = cursor.GetGetter<uint>(col);
                uint v = 0;
                return (ref VBuffer<uint> dst) =>
                {
                    g(ref v);
                    var editor = VBufferEditor.Create(ref dst, 1);
                    editor.Values[0] = v;
                    dst = editor.Commit();
                };
            }

            /// <summary>A 1-based position as Single; throws, naming the column and the row, unless it is a whole number &gt;= 1
            /// (<see cref="PositionBuckets.Check"/>, the rule of every position input).</summary>
            private Func<float> PositionGetter(DataViewRowCursor cursor, DataViewSchema.Column col)
            {
                Func<double> raw;
                if (col.Type == NumberDataViewType.Int64)
                {
                    var g = cursor.GetGetter<long>(col);
                    long v = 0;
                    raw = () => { g(ref v); return v; };
                }
                else if (col.Type == NumberDataViewType.UInt32)
                {
                    var g = cursor.GetGetter<uint>(col);
                    uint v = 0;
                    raw = () => { g(ref v); return v; };
                }
                else if (col.Type == NumberDataViewType.Double)
                {
                    var g = cursor.GetGetter<double>(col);
                    double v = 0;
                    raw = () => { g(ref v); return v; };
                }
                else
                {
                    var f = ScalarGetter(cursor, col);
                    raw = () => f();
                }
                string name = col.Name;
                return () =>
                {
                    double p = raw();
                    PositionBuckets.Check(p, name, cursor.Position);
                    return (float)Math.Min(p, 1e7);
                };
            }

            /// <summary>An id (key, integer, Boolean or text) as an embedding row in [0, rows): a missing key or empty text is
            /// row 0; key values and integers 0..rows-2 get their own row (value + 1); other values are hashed.</summary>
            private static Func<float> IdRowGetter(DataViewRow cursor, DataViewSchema.Column col, int rows)
            {
                ulong span = (ulong)(rows - 1);
                float FromInt(long v) => v >= 0 && (ulong)v < span ? v + 1 : 1 + (float)(SplitMix64.Mix((ulong)v) % span);
                if (col.Type is KeyDataViewType)
                {
                    var g = cursor.GetGetter<uint>(col);
                    uint v = 0;
                    return () => { g(ref v); return v == 0 ? 0f : FromInt(v - 1L); };
                }
                if (col.Type is TextDataViewType)
                {
                    var g = cursor.GetGetter<ReadOnlyMemory<char>>(col);
                    var v = default(ReadOnlyMemory<char>);
                    return () =>
                    {
                        g(ref v);
                        if (v.IsEmpty)
                            return 0f;
                        ulong h = 14695981039346656037UL;
                        foreach (var c in v.Span)
                            h = (h ^ c) * 1099511628211UL;
                        return 1 + (float)(SplitMix64.Mix(h) % span);
                    };
                }
                if (col.Type == BooleanDataViewType.Instance)
                {
                    var g = cursor.GetGetter<bool>(col);
                    bool v = false;
                    return () => { g(ref v); return v ? 2f : 1f; };
                }
                Func<long> read = col.Type.RawType switch
                {
                    var t when t == typeof(int) => Int(cursor.GetGetter<int>(col), x => x),
                    var t when t == typeof(uint) => Int(cursor.GetGetter<uint>(col), x => x),
                    var t when t == typeof(long) => Int(cursor.GetGetter<long>(col), x => x),
                    var t when t == typeof(ulong) => Int(cursor.GetGetter<ulong>(col), x => unchecked((long)x)),
                    var t when t == typeof(short) => Int(cursor.GetGetter<short>(col), x => x),
                    var t when t == typeof(ushort) => Int(cursor.GetGetter<ushort>(col), x => x),
                    var t when t == typeof(byte) => Int(cursor.GetGetter<byte>(col), x => x),
                    var t when t == typeof(sbyte) => Int(cursor.GetGetter<sbyte>(col), x => x),
                    _ => throw new InvalidOperationException($"Column '{col.Name}' of type {col.Type} cannot be read as an id."),
                };
                return () => FromInt(read());
            }

            private static Func<long> Int<T>(ValueGetter<T> g, Func<T, long> conv)
            {
                T v = default!;
                return () => { g(ref v); return conv(v); };
            }

            internal static Func<float> ScalarGetter(DataViewRow cursor, DataViewSchema.Column col)
            {
                if (col.Type == BooleanDataViewType.Instance)
                {
                    var g = cursor.GetGetter<bool>(col);
                    bool v = false;
                    return () => { g(ref v); return v ? 1f : 0f; };
                }
                if (col.Type == NumberDataViewType.Int32)
                {
                    var g = cursor.GetGetter<int>(col);
                    int v = 0;
                    return () => { g(ref v); return v; };
                }
                var f = cursor.GetGetter<float>(col);
                float x = 0;
                return () => { f(ref x); return x; };
            }

            private bool _closed;

            public bool MoveNext()
            {
                if (_cursor.MoveNext())
                    return true;
                Dispose();
                return false;
            }

            /// <summary>Closes the cursor (also when a pass stops early), once.</summary>
            public void Dispose()
            {
                if (_closed)
                    return;
                _closed = true;
                _cursor.Dispose();
            }

            public void Read(RowStore store, int slot, long rowIndex)
            {
                int d = _layout.DenseSize;
                if (_dense is not null)
                {
                    _dense(ref _denseBuf);
                    if (_denseBuf.Length != d)
                        throw new InvalidOperationException($"Dense features have {_denseBuf.Length} values at row {rowIndex}; expected {d}.");
                    _denseBuf.CopyTo(store.Dense, slot * d);
                    for (int i = 0; i < d; i++)
                    {
                        float v = store.Dense[slot * d + i];
                        if (!float.IsFinite(v))
                            throw new InvalidOperationException(
                                $"Column '{DenseSource(i)}' has a non-finite value ({v}) at row {rowIndex}; expected finite numbers " +
                                "(replace missing values first, e.g. mlContext.Transforms.ReplaceMissingValues).");
                    }
                }
                for (int i = 0; i < _cats.Length; i++)
                {
                    _cats[i](ref _idBuf);
                    int k = _layout.Categoricals[i].Slots;
                    if (_idBuf.Length != k)
                        throw new InvalidOperationException($"Categorical column '{_layout.Categoricals[i].Name}' has {_idBuf.Length} ids at row {rowIndex}; expected {k}.");
                    var dstCat = store.Cats[i];
                    int at0 = slot * k;
                    long stride = _layout.Categoricals[i].SlotStride; // per-slot id spaces: slot j's ids start at row j * stride
                    if (_idBuf.IsDense)
                    {
                        var values = _idBuf.GetValues();
                        for (int j = 0; j < k; j++)
                            dstCat[at0 + j] = values[j] + j * stride;
                    }
                    else
                    {
                        for (int j = 0; j < k; j++)
                            dstCat[at0 + j] = j * stride;
                        var values = _idBuf.GetValues();
                        var indices = _idBuf.GetIndices();
                        for (int j = 0; j < indices.Length; j++)
                            dstCat[at0 + indices[j]] += values[j];
                    }
                }
                for (int i = 0; i < _seqs.Length; i++)
                {
                    _seqs[i](ref _idBuf);
                    int m = _layout.Sequences[i].MaximumLength;
                    int len = Math.Min(m, _idBuf.Length);
                    int skip = _idBuf.Length - len;
                    var dst = store.Seqs[i];
                    int at = slot * m;
                    if (_idBuf.IsDense)
                    {
                        var values = _idBuf.GetValues();
                        for (int j = 0; j < len; j++)
                            dst[at + j] = values[skip + j];
                    }
                    else
                    {
                        Array.Clear(dst, at, len);
                        var values = _idBuf.GetValues();
                        var indices = _idBuf.GetIndices();
                        for (int j = 0; j < indices.Length; j++)
                            if (indices[j] >= skip)
                                dst[at + indices[j] - skip] = values[j];
                    }
                    store.SeqLengths[i][slot] = len;
                }
                int t = _layout.Tasks.Count;
                for (int i = 0; i < t; i++)
                {
                    var task = _layout.Tasks[i];
                    float y = _labels[i]();
                    float m = 1f;
                    if (float.IsNaN(y))
                    {
                        m = 0f;
                        y = 0f;
                    }
                    else if (float.IsInfinity(y))
                        throw new InvalidOperationException($"Label column '{task.Label}' of task '{task.Name}' is infinite at row {rowIndex}.");
                    else if (task.Kind == MultiTaskKind.Binary && y != 0f && y != 1f)
                        throw new InvalidOperationException($"Label column '{task.Label}' of binary task '{task.Name}' has value {y} at row {rowIndex}; expected 0 or 1 (or NaN for no label).");
                    else if (task.Kind == MultiTaskKind.Regression && task.Transform == LabelTransform.Log1p)
                    {
                        if (y <= -1f)
                            throw new InvalidOperationException($"Label column '{task.Label}' of task '{task.Name}' has value {y} at row {rowIndex}; log1p needs labels > -1.");
                        y = MathF.Log(1f + y);
                    }
                    store.Labels[slot * t + i] = y;
                    store.Mask[slot * t + i] = m;
                }
                for (int i = 0; i < t; i++)
                {
                    // ESMM: the conditioned label implies its condition's (buy implies click); p(T and P) cannot learn a
                    // buy without a click, and the conditional tower would be trained towards a contradiction
                    int parent = _layout.Tasks[i].Parent;
                    if (parent >= 0 && store.Mask[slot * t + i] != 0f && store.Labels[slot * t + i] == 1f
                        && store.Mask[slot * t + parent] != 0f && store.Labels[slot * t + parent] == 0f)
                    {
                        var task = _layout.Tasks[i];
                        var cond = _layout.Tasks[parent];
                        throw new InvalidOperationException(
                            $"Label column '{task.Label}' of task '{task.Name}' is 1 at row {rowIndex} while its condition '{cond.Label}' (task '{cond.Name}', " +
                            $"ConditionedOn) is 0; an entire-space (ESMM) task's label must imply its condition's label. Fix the data (e.g. a buy without " +
                            $"a logged click), or train '{task.Name}' without ConditionedOn.");
                    }
                }
                float w = 1f;
                if (_weight is not null)
                {
                    _weight(ref w);
                    if (!float.IsFinite(w) || w < 0)
                        throw new InvalidOperationException($"Weight column '{_cols.Weight}' has value {w} at row {rowIndex}; expected a finite number >= 0.");
                }
                store.Weights[slot] = w;
                int offset = slot * _layout.AdjustmentSize;
                for (int c = 0; c < _adjust.Length; c++)
                    _adjust[c](store.Adjust, offset + _adjustStarts[c]);
                int q = _positions.Length;
                for (int c = 0; c < q; c++)
                {
                    store.Positions[slot * q + c] = _positions[c]();   // a whole number >= 1, checked by the getter
                }
            }

            private string DenseSource(int slot)
            {
                for (int i = 0; i < _cols.DenseSourceEnds.Length; i++)
                    if (slot < _cols.DenseSourceEnds[i])
                        return _cols.DenseSources[i];
                return _cols.Dense ?? "?";
            }
        }
    }
}
