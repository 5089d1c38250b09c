using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetRank.Common;
using MLNetRank.Onnx;

namespace MLNetRank.Serving
{
    /// <summary>
    /// A batch of up to <see cref="Capacity"/> candidate rows for one <see cref="RequestScorer"/>, with its own input and
    /// output buffers (allocated once, pinned, reused by every call). Fill the request columns
    /// (<see cref="RequestScorer.RequestColumns"/>) for rows <c>0..Count-1</c> with <see cref="SetValue{T}"/>,
    /// <see cref="SetValues{T}(string, int, ReadOnlySpan{T})"/>, <see cref="GetInputSpan{T}"/> or <see cref="Load"/>, call
    /// <see cref="RequestScorer.Score"/>, then read <see cref="GetOutput{T}"/>. A request is used by one thread at a time;
    /// create one per worker thread. Dispose it to release its ONNX Runtime values.
    /// </summary>
    public sealed class ScoringRequest : IDisposable
    {
        private readonly Dictionary<string, InputBuffer> _inputs;
        private readonly Dictionary<string, InputBuffer> _outputs;
        private int _count;
        private bool _disposed;

        internal ScoringRequest(RequestScorer scorer, int capacity)
        {
            Scorer = scorer;
            Capacity = capacity;
            _inputs = scorer.RequestColumns.ToDictionary(c => c.Name, c => InputBuffer.Create(c, capacity), StringComparer.Ordinal);
            // The columns visible so far, by name: request columns, then columns computed by ML.NET segments and network outputs.
            // Network inputs share the arrays of these buffers (no copy); network outputs are written into new ones.
            var store = new Dictionary<string, InputBuffer>(_inputs, StringComparer.Ordinal);
            var runs = new List<StageRun>();
            try
            {
                foreach (var step in scorer.Plan.Steps)
                {
                    var stage = step.Stage;
                    RequestRow? row = null;
                    var loaders = Array.Empty<Action<int>>();
                    if (stage.Segment != null && step.Produced.Length > 0)
                    {
                        row = new RequestRow(stage.SchemaBefore, step.SegmentInputs.Select(n => Stored(store, n, stage)));
                        var mapper = stage.CreateMapper();
                        var produced = step.Produced.Select(n => mapper.OutputSchema[n]).ToArray();
                        var mapped = mapper.GetRow(row, produced);
                        var computed = produced.Select(c => InputBuffer.Create(ScoringStage.ColumnOf(c.Name, c.Type), capacity)).ToArray();
                        loaders = computed.Select((b, i) => b.MakeLoader(mapped, produced[i])).ToArray();
                        foreach (var b in computed)
                            store[b.Column.Name] = b;
                    }
                    // native blocks: their output column (an input of the cut network), filled by their runs before the call
                    var natives = stage.Natives.Select(nt =>
                    {
                        var output = new FixedBuffer<float>(new RequestColumn(nt.Output, new VectorDataViewType(NumberDataViewType.Single, nt.D), typeof(float), nt.D), capacity);
                        var run = nt.CreateRun(capacity, name => Stored(store, name, stage), output);
                        store[nt.Output] = output;
                        return run;
                    }).ToArray();
                    var sources = stage.Inputs.Select(spec => Stored(store, spec.Name, stage)).ToArray();
                    bool grouped = sources.Any(b => b.FlatArray is null);
                    var inputs = stage.Inputs.Select((spec, i) => sources[i].FlatArray is Array flat
                        ? TensorBuffer.Create(spec, stage.InputTypes[i], sources[i].Column.ValuesPerRow, capacity, flat)
                        : null).ToArray();
                    var outputs = stage.Outputs.Select((spec, i) =>
                    {
                        var buffer = InputBuffer.Create(ScoringStage.ColumnOf(spec.Name, stage.OutputColumnTypes[i]), capacity);
                        store[spec.Name] = buffer;
                        return TensorBuffer.Create(spec, stage.OutputTypes[i], (int)spec.ValuesPerRow, capacity, buffer.FlatArray);
                    }).ToArray();
                    GroupedInput[]? groupedInputs = null;
                    GroupedOutput[]? groupedOutputs = null;
                    if (grouped)
                    {
                        groupedInputs = stage.Inputs.Select((spec, i) => inputs[i] is TensorBuffer t
                            ? GroupedInput.Fixed(stage.InputTypes[i], t.Array, t.Width, t.Shape, capacity)
                            : GroupedInput.Variable(stage.InputTypes[i], sources[i], spec, stage.InputZeroPadded[i], stage.InputRequestLevel[i])).ToArray();
                        groupedOutputs = outputs.Select((t, i) => GroupedOutput.Create(stage.OutputTypes[i], t.Array, t.Width, t.Shape, capacity)).ToArray();
                    }
                    runs.Add(new StageRun(stage, row, loaders, inputs, outputs, groupedInputs, groupedOutputs, capacity, natives));
                }
            }
            catch
            {
                foreach (var run in runs)
                    run.Dispose();
                throw;
            }
            Runs = runs.ToArray();
            _outputs = new Dictionary<string, InputBuffer>(StringComparer.Ordinal);
            foreach (var step in scorer.Plan.Steps)
                foreach (var name in step.Stage.OutputNames)
                    _outputs[name] = store[name];
            var plan = scorer.Plan;
            if (plan.Tail != null && plan.TailProduced.Length > 0)
            {
                TailRow = new RequestRow(plan.TailInputSchema, plan.TailInputs.Select(n => store.TryGetValue(n, out var b) ? b
                    : throw new InvalidOperationException($"Column '{n}', read after the last ONNX network, is not available to the request scorer.")));
                var mapper = plan.CreateTailMapper();
                var produced = plan.TailProduced.Select(n => mapper.OutputSchema[n]).ToArray();
                var mapped = mapper.GetRow(TailRow, produced);
                var computed = produced.Select(c => InputBuffer.Create(ScoringStage.ColumnOf(c.Name, c.Type), capacity)).ToArray();
                TailLoaders = computed.Select((b, i) => b.MakeLoader(mapped, produced[i])).ToArray();
                foreach (var b in computed)
                    _outputs[b.Column.Name] = b;
            }
        }

        internal RequestRow? TailRow { get; }

        internal Action<int>[] TailLoaders { get; } = Array.Empty<Action<int>>();

        /// <summary>The flat array of output column <paramref name="name"/> (rows x width).</summary>
        internal Array OutputArray(string name) => _outputs[name].FlatArray!;

        private static InputBuffer Stored(Dictionary<string, InputBuffer> store, string name, ScoringStage stage)
            => store.TryGetValue(name, out var b) ? b
                : throw new InvalidOperationException($"Column '{name}', read before ONNX network {stage.Index + 1}, is not available to the request scorer.");

        internal RequestScorer Scorer { get; }

        internal StageRun[] Runs { get; }

        /// <summary>The per-request state of one stage: its segment's row and loaders, its network's tensors and ONNX Runtime values.</summary>
        internal sealed class StageRun : IDisposable
        {
            private int _cachedRows = -1;
            private OrtValue[] _inputValues = Array.Empty<OrtValue>();
            private OrtValue[] _outputValues = Array.Empty<OrtValue>();

            private readonly GroupedInput[]? _groupedInputs;
            private readonly GroupedOutput[]? _groupedOutputs;
            private readonly int[] _order;
            private readonly long[] _keys;
            private readonly OrtValue[] _groupInputValues;
            private readonly OrtValue[] _groupOutputValues;
            private readonly GroupedInput[] _variable;

            private readonly Native.NativeTransformerRun[] _natives;

            public StageRun(ScoringStage stage, RequestRow? row, Action<int>[] loaders, TensorBuffer?[] inputs, TensorBuffer[] outputs,
                GroupedInput[]? groupedInputs, GroupedOutput[]? groupedOutputs, int capacity, Native.NativeTransformerRun[] natives)
            {
                _natives = natives;
                Stage = stage;
                Row = row;
                Loaders = loaders;
                Inputs = inputs;
                Outputs = outputs;
                _groupedInputs = groupedInputs;
                _groupedOutputs = groupedOutputs;
                _order = groupedInputs is null ? Array.Empty<int>() : new int[capacity];
                _keys = groupedInputs is null ? Array.Empty<long>() : new long[capacity];
                _groupInputValues = new OrtValue[inputs.Length];
                _variable = groupedInputs is null ? Array.Empty<GroupedInput>() : groupedInputs.Where((g, i) => inputs[i] is null).ToArray();
                _groupOutputValues = new OrtValue[outputs.Length];
            }

            public ScoringStage Stage { get; }
            public RequestRow? Row { get; }
            public Action<int>[] Loaders { get; }
            public TensorBuffer?[] Inputs { get; }
            public TensorBuffer[] Outputs { get; }

            /// <summary>Runs the stage's network on rows 0..n-1: one call, or one call per group of equal sequence lengths.</summary>
            public void Execute(RunOptions runOptions, int n)
            {
                foreach (var native in _natives)
                    native.Execute(n);
                if (_groupedInputs is null)
                {
                    var (inputs, outputs) = OrtValues(n);
                    Stage.Session.Run(runOptions, Stage.InputNames, inputs, Stage.OutputNames, outputs);
                    return;
                }
                var variable = _variable;
                if (variable.All(g => g.ZeroPadded))
                {
                    // every variable input pads with 0: the whole request in one call, each input at its longest row
                    bool id = IsIdentityOrder(n);
                    try
                    {
                        for (int i = 0; i < _groupedInputs.Length; i++)
                        {
                            int steps = 0;
                            if (_groupedInputs[i].IsVariable)
                                for (int r = 0; r < n; r++)
                                    steps = Math.Max(steps, _groupedInputs[i].Steps(r));
                            _groupInputValues[i] = _groupedInputs[i].Gather(_order, 0, n, Math.Max(steps, 1), id);
                        }
                        for (int i = 0; i < _groupedOutputs!.Length; i++)
                            _groupOutputValues[i] = _groupedOutputs[i].Create(n, identity: true);
                        Stage.Session.Run(runOptions, Stage.InputNames, _groupInputValues, Stage.OutputNames, _groupOutputValues);
                    }
                    finally
                    {
                        for (int i = 0; i < _groupInputValues.Length; i++)
                        {
                            _groupInputValues[i]?.Dispose();
                            _groupInputValues[i] = null!;
                        }
                        for (int i = 0; i < _groupOutputValues.Length; i++)
                        {
                            _groupOutputValues[i]?.Dispose();
                            _groupOutputValues[i] = null!;
                        }
                    }
                    return;
                }
                bool allEqual = true;
                for (int r = 0; r < n; r++)
                {
                    _order[r] = r;
                    long key = 0;
                    foreach (var g in variable)
                        key = key * 1_000_003L + g.Steps(r);
                    _keys[r] = key;
                    allEqual &= key == _keys[0];
                }
                if (!allEqual)
                    Array.Sort(_keys, _order, 0, n);
                int start = 0;
                while (start < n)
                {
                    // A group: consecutive rows (after sorting) with exactly the same lengths.
                    int end = start + 1;
                    while (end < n && _keys[end] == _keys[start] && SameSteps(variable, _order[start], _order[end]))
                        end++;
                    int count = end - start;
                    bool identity = count == n && IsIdentity(n);
                    try
                    {
                        for (int i = 0; i < _groupedInputs.Length; i++)
                            _groupInputValues[i] = _groupedInputs[i].Gather(_order, start, count, _groupedInputs[i].Steps(_order[start]), identity);
                        for (int i = 0; i < _groupedOutputs!.Length; i++)
                            _groupOutputValues[i] = _groupedOutputs[i].Create(count, identity);
                        Stage.Session.Run(runOptions, Stage.InputNames, _groupInputValues, Stage.OutputNames, _groupOutputValues);
                    }
                    finally
                    {
                        for (int i = 0; i < _groupInputValues.Length; i++)
                        {
                            _groupInputValues[i]?.Dispose();
                            _groupInputValues[i] = null!;
                        }
                        for (int i = 0; i < _groupOutputValues.Length; i++)
                        {
                            _groupOutputValues[i]?.Dispose();
                            _groupOutputValues[i] = null!;
                        }
                    }
                    if (!identity)
                        foreach (var o in _groupedOutputs)
                            o.Scatter(_order, start, count);
                    start = end;
                }
            }

            private static bool SameSteps(GroupedInput[] variable, int a, int b)
            {
                foreach (var g in variable)
                    if (g.Steps(a) != g.Steps(b))
                        return false;
                return true;
            }

            /// <summary>Sets the order to 0..n-1 (rows in place) and returns true.</summary>
            private bool IsIdentityOrder(int n)
            {
                for (int r = 0; r < n; r++)
                    _order[r] = r;
                return true;
            }

            private bool IsIdentity(int n)
            {
                for (int r = 0; r < n; r++)
                    if (_order[r] != r)
                        return false;
                return true;
            }

            public (OrtValue[] Inputs, OrtValue[] Outputs) OrtValues(int rows)
            {
                if (_cachedRows != rows)
                {
                    Dispose();
                    _inputValues = Inputs.Select(b => b!.CreateOrtValue(rows)).ToArray();
                    _outputValues = Outputs.Select(b => b.CreateOrtValue(rows)).ToArray();
                    _cachedRows = rows;
                }
                return (_inputValues, _outputValues);
            }

            public void Dispose()
            {
                foreach (var v in _inputValues)
                    v.Dispose();
                foreach (var v in _outputValues)
                    v.Dispose();
                _inputValues = Array.Empty<OrtValue>();
                _outputValues = Array.Empty<OrtValue>();
                _cachedRows = -1;
            }
        }

        /// <summary>The most rows this request holds.</summary>
        public int Capacity { get; }

        /// <summary>The number of rows to score (rows <c>0..Count-1</c>); at most <see cref="Capacity"/>.</summary>
        public int Count
        {
            get => _count;
            set
            {
                if (value < 0 || value > Capacity)
                    throw new ArgumentOutOfRangeException(nameof(value), $"Count must be in [0, {Capacity}] (the request's capacity); got {value}.");
                _count = value;
            }
        }

        /// <summary>Sets a scalar column's value at <paramref name="row"/> (a key column takes its raw value, e.g. a <see cref="uint"/>).</summary>
        /// <typeparam name="T">The column's raw item type (<see cref="RequestColumn.RawItemType"/>).</typeparam>
        /// <param name="column">Request column name.</param>
        /// <param name="row">Row index in [0, Capacity).</param>
        /// <param name="value">The value.</param>
        public void SetValue<T>(string column, int row, T value)
        {
            var b = Fixed<T>(column, row);
            if (b.Width != 1)
                throw new ArgumentException($"Column '{column}' holds {b.Width} values per row; use SetValues.", nameof(column));
            b.Data[row] = value;
        }

        /// <summary>Sets a vector column's values at <paramref name="row"/> (a known-size vector needs exactly its size).</summary>
        /// <typeparam name="T">The column's raw item type.</typeparam>
        /// <param name="column">Request column name.</param>
        /// <param name="row">Row index in [0, Capacity).</param>
        /// <param name="values">The values.</param>
        public void SetValues<T>(string column, int row, ReadOnlySpan<T> values)
        {
            var buffer = Buffer(column);
            CheckRow(row);
            if (buffer is VariableBuffer<T> variable)
            {
                variable.Set(row, values);
                return;
            }
            if (buffer.Column.IsVariableSize)
                throw new ArgumentException($"Column '{column}' stores {buffer.Column.RawItemType.Name} values ({buffer.Column.Type}); got {typeof(T).Name}.", nameof(column));
            var b = Fixed<T>(column, row);
            if (values.Length != b.Width)
                throw new ArgumentException($"Column '{column}' holds {b.Width} values per row; got {values.Length}.", nameof(values));
            values.CopyTo(b.Data.AsSpan(row * b.Width, b.Width));
        }

        /// <summary>Sets a vector column's values at <paramref name="row"/>.</summary>
        /// <typeparam name="T">The column's raw item type.</typeparam>
        /// <param name="column">Request column name.</param>
        /// <param name="row">Row index in [0, Capacity).</param>
        /// <param name="values">The values.</param>
        public void SetValues<T>(string column, int row, T[] values) => SetValues<T>(column, row, new ReadOnlySpan<T>(values));

        /// <summary>
        /// The whole input buffer of a scalar or known-size vector column, row-major (<c>Capacity x ValuesPerRow</c>):
        /// write rows <c>0..Count-1</c> directly, e.g. from a feature store.
        /// </summary>
        /// <typeparam name="T">The column's raw item type.</typeparam>
        /// <param name="column">Request column name.</param>
        public Span<T> GetInputSpan<T>(string column) => Fixed<T>(column, 0).Data;

        /// <summary>
        /// Reads the request columns of up to <see cref="Capacity"/> rows of <paramref name="data"/> into this request and sets
        /// <see cref="Count"/>. Columns are matched by name and must have the model's input types.
        /// </summary>
        /// <param name="data">Rows to score (e.g. the candidates of one request).</param>
        /// <exception cref="ArgumentOutOfRangeException">A request column is missing or has another type.</exception>
        /// <exception cref="ArgumentException"><paramref name="data"/> has more rows than <see cref="Capacity"/>.</exception>
        public void Load(IDataView data)
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            using var reader = OpenReader(data);
            if (reader.Next() && reader.Cursor.MoveNext())
                throw new ArgumentException($"The data has more rows than the request's capacity ({Capacity}).", nameof(data));
        }

        /// <summary>Reads a data view's request columns batch by batch into this request.</summary>
        internal sealed class Reader : IDisposable
        {
            private readonly ScoringRequest _request;
            private readonly Action<int>[] _loaders;

            public Reader(ScoringRequest request, DataViewRowCursor cursor, Action<int>[] loaders)
            {
                _request = request;
                Cursor = cursor;
                _loaders = loaders;
            }

            public DataViewRowCursor Cursor { get; }

            /// <summary>Loads up to Capacity rows and sets Count; true when the request is full (more rows may follow).</summary>
            public bool Next()
            {
                int r = 0;
                while (r < _request.Capacity && Cursor.MoveNext())
                {
                    foreach (var load in _loaders)
                        load(r);
                    r++;
                }
                _request.Count = r;
                return r == _request.Capacity;
            }

            public void Dispose() => Cursor.Dispose();
        }

        internal Reader OpenReader(IDataView data)
        {
            var columns = _inputs.Values.Select(b => Check.Column(data.Schema, b.Column.Name, "request", b.Column.Type.ToString() ?? "",
                t => SameType(t, b.Column.Type))).ToArray();
            var cursor = data.GetRowCursor(columns);
            var loaders = _inputs.Values.Select((b, i) => b.MakeLoader(cursor, columns[i])).ToArray();
            return new Reader(this, cursor, loaders);
        }

        /// <summary>
        /// The values of output <paramref name="column"/> (a network output, or a column added after the last network; see
        /// <see cref="RequestScorer.OutputColumns"/>) for rows <c>0..Count-1</c> after <see cref="RequestScorer.Score"/>,
        /// row-major (<c>Count x width</c>, see <see cref="GetOutputWidth"/>). The span is this request's buffer: the next
        /// <see cref="RequestScorer.Score"/> overwrites it.
        /// </summary>
        /// <typeparam name="T">The output's raw item type (<see cref="float"/> for float outputs, <see cref="uint"/> for keys).</typeparam>
        /// <param name="column">Output name (see <see cref="RequestScorer.OutputColumns"/>).</param>
        public ReadOnlySpan<T> GetOutput<T>(string column)
        {
            var b = Output(column);
            if (b is not FixedBuffer<T> f)
                throw new ArgumentException($"Output '{column}' holds {b.Column.RawItemType.Name} values ({b.Column.Type}), not {typeof(T).Name}.", nameof(column));
            return new ReadOnlySpan<T>(f.Data, 0, Count * f.Width);
        }

        /// <summary>The number of values per row of output <paramref name="column"/>.</summary>
        /// <param name="column">Output name.</param>
        public int GetOutputWidth(string column) => Output(column).Column.ValuesPerRow;

        /// <summary>Releases the ONNX Runtime values of this request.</summary>
        public void Dispose()
        {
            foreach (var run in Runs)
                run.Dispose();
            _disposed = true;
        }

        internal void ThrowIfDisposed()
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(ScoringRequest));
        }

        private static bool SameType(DataViewType actual, DataViewType expected)
        {
            if (actual.Equals(expected))
                return true;
            // Key columns are matched on their raw type; vectors on item type and size.
            if (actual is VectorDataViewType va && expected is VectorDataViewType ve)
                return va.Size == ve.Size && va.ItemType.RawType == ve.ItemType.RawType;
            return actual is not VectorDataViewType && expected is not VectorDataViewType && actual.RawType == expected.RawType;
        }

        private InputBuffer Buffer(string column)
        {
            if (column is null)
                throw new ArgumentNullException(nameof(column));
            if (!_inputs.TryGetValue(column, out var b))
                throw new ArgumentException($"'{column}' is not a request column; the model reads: {string.Join(", ", _inputs.Keys)}.", nameof(column));
            return b;
        }

        private FixedBuffer<T> Fixed<T>(string column, int row)
        {
            var b = Buffer(column);
            CheckRow(row);
            if (b is VariableBuffer<T>)
                throw new ArgumentException($"Column '{column}' is a variable-size vector; use SetValues.", nameof(column));
            return b as FixedBuffer<T> ?? throw new ArgumentException(
                $"Column '{column}' stores {b.Column.RawItemType.Name} values ({b.Column.Type}); got {typeof(T).Name}.", nameof(column));
        }

        private void CheckRow(int row)
        {
            if (row < 0 || row >= Capacity)
                throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside the request's capacity [0, {Capacity}).");
        }

        private InputBuffer Output(string column)
        {
            if (column is null || !_outputs.TryGetValue(column, out var b))
                throw new ArgumentException($"'{column}' is not an output of the scorer; outputs: {string.Join(", ", _outputs.Keys)}.", nameof(column));
            return b;
        }
    }
}
