using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetRank.Common;

namespace MLNetRank.Onnx
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
        private readonly Dictionary<string, TensorBuffer> _outputs;
        private int _count;
        private int _cachedRows = -1;
        private OrtValue[] _inputValues = Array.Empty<OrtValue>();
        private OrtValue[] _outputValues = Array.Empty<OrtValue>();
        private bool _disposed;

        internal ScoringRequest(RequestScorer scorer, int capacity)
        {
            Scorer = scorer;
            Capacity = capacity;
            _inputs = scorer.RequestColumns.ToDictionary(c => c.Name, c => InputBuffer.Create(c, capacity), StringComparer.Ordinal);
            // Without ML.NET transforms before the network the request buffers are the network's input tensors (no copy).
            NetworkInputs = scorer.NetworkInputSpecs.Select((spec, i) => TensorBuffer.Create(spec, scorer.NetworkInputTypes[i],
                (int)spec.ValuesPerRow, capacity, scorer.HasPrefix ? null : _inputs[spec.Name].FlatArray)).ToArray();
            NetworkOutputs = scorer.NetworkOutputSpecs.Select((spec, i) => TensorBuffer.Create(spec, scorer.NetworkOutputTypes[i],
                (int)spec.ValuesPerRow, capacity, null)).ToArray();
            _outputs = NetworkOutputs.ToDictionary(o => o.Spec.Name, StringComparer.Ordinal);
            if (scorer.HasPrefix)
            {
                Row = new RequestRow(scorer.InputSchema, _inputs.Values);
                var mapper = scorer.CreatePrefixMapper();
                var active = scorer.NetworkInputSpecs.Select(s => mapper.OutputSchema[s.Name]).ToArray();
                MappedRow = mapper.GetRow(Row, active);
                Feeders = NetworkInputs.Select(b => b.MakeFeeder(MappedRow, MappedRow.Schema[b.Spec.Name])).ToArray();
            }
        }

        internal RequestScorer Scorer { get; }
        internal TensorBuffer[] NetworkInputs { get; }
        internal TensorBuffer[] NetworkOutputs { get; }
        internal RequestRow? Row { get; }
        internal DataViewRow? MappedRow { get; }
        internal Action<int>[]? Feeders { get; }

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
            var columns = _inputs.Values.Select(b => Check.Column(data.Schema, b.Column.Name, "request", b.Column.Type.ToString() ?? "",
                t => SameType(t, b.Column.Type))).ToArray();
            using var cursor = data.GetRowCursor(columns);
            var loaders = _inputs.Values.Select((b, i) => b.MakeLoader(cursor, columns[i])).ToArray();
            int r = 0;
            while (cursor.MoveNext())
            {
                if (r == Capacity)
                    throw new ArgumentException($"The data has more rows than the request's capacity ({Capacity}).", nameof(data));
                foreach (var load in loaders)
                    load(r);
                r++;
            }
            Count = r;
        }

        /// <summary>
        /// The values of network output <paramref name="column"/> for rows <c>0..Count-1</c> after <see cref="RequestScorer.Score"/>,
        /// row-major (<c>Count x width</c>, see <see cref="GetOutputWidth"/>). The span is this request's buffer: the next
        /// <see cref="RequestScorer.Score"/> overwrites it.
        /// </summary>
        /// <typeparam name="T">The output's element type (<see cref="float"/> for float outputs).</typeparam>
        /// <param name="column">Output name (see <see cref="RequestScorer.NetworkOutputs"/>).</param>
        public ReadOnlySpan<T> GetOutput<T>(string column)
        {
            var b = Output(column);
            if (b.Array is not T[] data)
                throw new ArgumentException($"Output '{column}' holds {b.Spec.ElementType}, not {typeof(T).Name}.", nameof(column));
            return new ReadOnlySpan<T>(data, 0, Count * b.Width);
        }

        /// <summary>The number of values per row of network output <paramref name="column"/>.</summary>
        /// <param name="column">Output name.</param>
        public int GetOutputWidth(string column) => Output(column).Width;

        internal (OrtValue[] Inputs, OrtValue[] Outputs) OrtValues()
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(ScoringRequest));
            if (_cachedRows != Count)
            {
                DisposeValues();
                _inputValues = NetworkInputs.Select(b => b.CreateOrtValue(Count)).ToArray();
                _outputValues = NetworkOutputs.Select(b => b.CreateOrtValue(Count)).ToArray();
                _cachedRows = Count;
            }
            return (_inputValues, _outputValues);
        }

        /// <summary>Releases the ONNX Runtime values of this request.</summary>
        public void Dispose()
        {
            DisposeValues();
            _disposed = true;
        }

        private void DisposeValues()
        {
            foreach (var v in _inputValues)
                v.Dispose();
            foreach (var v in _outputValues)
                v.Dispose();
            _inputValues = Array.Empty<OrtValue>();
            _outputValues = Array.Empty<OrtValue>();
            _cachedRows = -1;
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

        private TensorBuffer Output(string column)
        {
            if (column is null || !_outputs.TryGetValue(column, out var b))
                throw new ArgumentException($"'{column}' is not a network output; outputs: {string.Join(", ", _outputs.Keys)}.", nameof(column));
            return b;
        }
    }
}
