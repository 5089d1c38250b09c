using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetRank.Onnx;

namespace MLNetRank.Serving
{
    /// <summary>The values of one request column, for up to <c>capacity</c> rows.</summary>
    internal abstract class InputBuffer
    {
        protected InputBuffer(RequestColumn column) => Column = column;

        public RequestColumn Column { get; }

        /// <summary>The flat array of a fixed-width column; null for a variable-size one.</summary>
        public abstract Array? FlatArray { get; }

        /// <summary>A getter reading row <see cref="RequestRow.Index"/> (ValueGetter of T, or of VBuffer of T).</summary>
        public abstract Delegate MakeGetter(RequestRow row);

        /// <summary>An action copying the cursor's current value of <paramref name="column"/> into row r.</summary>
        public abstract Action<int> MakeLoader(DataViewRow cursor, DataViewSchema.Column column);

        public static InputBuffer Create(RequestColumn column, int capacity)
        {
            var type = column.IsVariableSize ? typeof(VariableBuffer<>) : typeof(FixedBuffer<>);
            return (InputBuffer)Activator.CreateInstance(type.MakeGenericType(column.RawItemType), column, capacity)!;
        }

        protected static void Densify<T>(in VBuffer<T> source, Span<T> destination, string column)
        {
            if (source.Length != destination.Length)
                throw new InvalidOperationException($"Column '{column}' has a vector of {source.Length} values; expected {destination.Length}.");
            var values = source.GetValues();
            if (source.IsDense)
            {
                values.CopyTo(destination);
                return;
            }
            destination.Clear();
            var indices = source.GetIndices();
            for (int i = 0; i < indices.Length; i++)
                destination[indices[i]] = values[i];
        }
    }

    /// <summary>A scalar or known-size vector column: one flat (pinned) array of capacity x width values.</summary>
    internal sealed class FixedBuffer<T> : InputBuffer
    {
        public FixedBuffer(RequestColumn column, int capacity) : base(column)
        {
            Width = column.ValuesPerRow;
            Data = GC.AllocateArray<T>(checked(capacity * Width), pinned: true);
            IsScalar = column.Type is not VectorDataViewType;
        }

        public int Width { get; }
        public T[] Data { get; }
        public bool IsScalar { get; }
        public override Array? FlatArray => Data;

        public override Delegate MakeGetter(RequestRow row)
        {
            if (IsScalar)
                return (ValueGetter<T>)((ref T value) => value = Data[row.Index]);
            return (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) =>
            {
                var editor = VBufferEditor.Create(ref value, Width);
                Data.AsSpan(row.Index * Width, Width).CopyTo(editor.Values);
                value = editor.Commit();
            });
        }

        public override Action<int> MakeLoader(DataViewRow cursor, DataViewSchema.Column column)
        {
            if (column.Type is not VectorDataViewType)
            {
                var getter = cursor.GetGetter<T>(column);
                return r => getter(ref Data[r]);
            }
            var vector = cursor.GetGetter<VBuffer<T>>(column);
            var buffer = default(VBuffer<T>);
            string name = Column.Name;
            return r =>
            {
                vector(ref buffer);
                Densify(buffer, Data.AsSpan(r * Width, Width), name);
            };
        }
    }

    /// <summary>A variable-size vector column: one array per row, grown when needed and reused.</summary>
    internal sealed class VariableBuffer<T> : InputBuffer
    {
        public VariableBuffer(RequestColumn column, int capacity) : base(column)
        {
            Rows = new T[capacity][];
            for (int i = 0; i < capacity; i++)
                Rows[i] = Array.Empty<T>();
            Lengths = new int[capacity];
        }

        public T[][] Rows { get; }
        public int[] Lengths { get; }
        public override Array? FlatArray => null;

        public void Set(int row, ReadOnlySpan<T> values)
        {
            if (Rows[row].Length < values.Length)
                Rows[row] = new T[Math.Max(values.Length, 2 * Rows[row].Length)];
            values.CopyTo(Rows[row]);
            Lengths[row] = values.Length;
        }

        public override Delegate MakeGetter(RequestRow row)
            => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) =>
            {
                int n = Lengths[row.Index];
                var editor = VBufferEditor.Create(ref value, n);
                Rows[row.Index].AsSpan(0, n).CopyTo(editor.Values);
                value = editor.Commit();
            });

        public override Action<int> MakeLoader(DataViewRow cursor, DataViewSchema.Column column)
        {
            var vector = cursor.GetGetter<VBuffer<T>>(column);
            var buffer = default(VBuffer<T>);
            var dense = Array.Empty<T>();
            string name = Column.Name;
            return r =>
            {
                vector(ref buffer);
                if (dense.Length < buffer.Length)
                    dense = new T[buffer.Length];
                Densify(buffer, dense.AsSpan(0, buffer.Length), name);
                Set(r, dense.AsSpan(0, buffer.Length));
            };
        }
    }

    /// <summary>One row of a request, seen by ML.NET's row mapper of the transforms before the network.</summary>
    internal sealed class RequestRow : DataViewRow
    {
        private readonly Dictionary<int, Delegate> _getters = new Dictionary<int, Delegate>();

        public RequestRow(DataViewSchema schema, IEnumerable<InputBuffer> buffers)
        {
            Schema = schema;
            foreach (var b in buffers)
                _getters[schema[b.Column.Name].Index] = b.MakeGetter(this);
        }

        public int Index { get; set; }

        public long RowPosition { get; set; } = -1;

        public override long Position => RowPosition;

        public override long Batch => 0;

        public override DataViewSchema Schema { get; }

        public override bool IsColumnActive(DataViewSchema.Column column) => _getters.ContainsKey(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_getters.TryGetValue(column.Index, out var getter))
                throw new InvalidOperationException($"Column '{column.Name}' is not carried by the scoring request.");
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
                $"Column '{column.Name}' is read as {typeof(TValue).Name}; the request stores {column.Type}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId id) => id = new DataViewRowId((ulong)RowPosition, 0);
    }

    /// <summary>A network input or output tensor: a pinned flat array for up to capacity rows.</summary>
    internal abstract class TensorBuffer
    {
        protected TensorBuffer(OnnxTensorSpec spec, int width)
        {
            Spec = spec;
            Width = width;
            Shape = spec.Dims.ToArray();
            int unknown = Array.FindIndex(Shape, 1, d => d < 0);
            if (unknown > 0)
            {
                long known = 1;
                for (int i = 1; i < Shape.Length; i++)
                    if (i != unknown)
                        known *= Shape[i];
                Shape[unknown] = width / known;
            }
        }

        public OnnxTensorSpec Spec { get; }
        public int Width { get; }
        public long[] Shape { get; }
        public abstract Array Array { get; }

        public abstract OrtValue CreateOrtValue(int rows);

        /// <summary>An action copying the mapped row's value of <paramref name="column"/> into row r.</summary>
        public abstract Action<int> MakeFeeder(DataViewRow row, DataViewSchema.Column column);

        public static TensorBuffer Create(OnnxTensorSpec spec, Type clrType, int width, int capacity, Array? shared)
            => (TensorBuffer)Activator.CreateInstance(typeof(TensorBuffer<>).MakeGenericType(clrType), spec, width, capacity, shared)!;
    }

    internal sealed class TensorBuffer<T> : TensorBuffer where T : unmanaged
    {
        private readonly T[] _data;

        public TensorBuffer(OnnxTensorSpec spec, int width, int capacity, Array? shared) : base(spec, width)
        {
            _data = shared as T[] ?? GC.AllocateArray<T>(checked(capacity * width), pinned: true);
        }

        public override Array Array => _data;

        public T[] Data => _data;

        public override OrtValue CreateOrtValue(int rows)
        {
            var shape = (long[])Shape.Clone();
            shape[0] = rows;
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(_data, 0, rows * Width), shape);
        }

        public override Action<int> MakeFeeder(DataViewRow row, DataViewSchema.Column column)
        {
            int width = Width;
            if (column.Type is not VectorDataViewType)
            {
                if (width != 1)
                    throw new InvalidOperationException($"Column '{column.Name}' is a scalar; the network input expects {width} values per row.");
                var getter = row.GetGetter<T>(column);
                return r => getter(ref _data[r]);
            }
            var vector = row.GetGetter<VBuffer<T>>(column);
            var buffer = default(VBuffer<T>);
            string name = column.Name;
            return r =>
            {
                vector(ref buffer);
                var destination = _data.AsSpan(r * width, width);
                if (buffer.Length != width)
                    throw new InvalidOperationException($"Column '{name}' has a vector of {buffer.Length} values at row {r}; the network input expects {width}.");
                if (buffer.IsDense)
                    buffer.GetValues().CopyTo(destination);
                else
                {
                    destination.Clear();
                    var values = buffer.GetValues();
                    var indices = buffer.GetIndices();
                    for (int i = 0; i < indices.Length; i++)
                        destination[indices[i]] = values[i];
                }
            };
        }
    }
}

namespace MLNetRank.Serving
{
    /// <summary>
    /// A network input fed group by group, for networks with a variable (sequence) dimension: the rows of a request are
    /// grouped by sequence length and each group is one ONNX Runtime call (exact: no padding).
    /// </summary>
    internal abstract class GroupedInput
    {
        /// <summary>The length of row <paramref name="row"/>'s variable dimension (0 for a fixed input).</summary>
        public abstract int Steps(int row);

        /// <summary>The tensor of rows <c>order[start..start+count)</c>, whose variable dimension is <paramref name="steps"/>.</summary>
        public abstract OrtValue Gather(int[] order, int start, int count, int steps, bool identity);

        /// <summary>A variable-length input.</summary>
        public virtual bool IsVariable => false;

        /// <summary>0 is padding in this input: rows may be padded to a longer length.</summary>
        public virtual bool ZeroPadded => false;

        public static GroupedInput Fixed(Type t, Array source, int width, long[] shape, int capacity)
            => (GroupedInput)Activator.CreateInstance(typeof(GroupedFixed<>).MakeGenericType(t), source, width, shape, capacity)!;

        public static GroupedInput Variable(Type t, InputBuffer source, OnnxTensorSpec spec, bool zeroPadded = false, bool requestLevel = false)
            => (GroupedInput)Activator.CreateInstance(typeof(GroupedVariable<>).MakeGenericType(t), source, spec, zeroPadded, requestLevel)!;
    }

    internal sealed class GroupedFixed<T> : GroupedInput where T : unmanaged
    {
        private readonly T[] _source;
        private readonly int _width;
        private readonly long[] _shape;
        private readonly T[] _scratch;

        public GroupedFixed(Array source, int width, long[] shape, int capacity)
        {
            _source = (T[])source;
            _width = width;
            _shape = shape;
            _scratch = GC.AllocateArray<T>(capacity * width, pinned: true);
        }

        public override int Steps(int row) => 0;

        public override OrtValue Gather(int[] order, int start, int count, int steps, bool identity)
        {
            var shape = (long[])_shape.Clone();
            shape[0] = count;
            if (identity)
                return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(_source, 0, count * _width), shape);
            for (int j = 0; j < count; j++)
                Array.Copy(_source, order[start + j] * _width, _scratch, j * _width, _width);
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(_scratch, 0, count * _width), shape);
        }
    }

    internal sealed class GroupedVariable<T> : GroupedInput where T : unmanaged
    {
        private readonly VariableBuffer<T> _source;
        private readonly long[] _shape;
        private readonly int _unknown;
        private readonly int _step;
        private readonly string _name;
        private T[] _scratch = Array.Empty<T>();

        private readonly bool _zeroPadded, _requestLevel;

        public GroupedVariable(InputBuffer source, OnnxTensorSpec spec, bool zeroPadded, bool requestLevel)
        {
            _zeroPadded = zeroPadded;
            _requestLevel = requestLevel;
            _source = (VariableBuffer<T>)source;
            _shape = spec.Dims.ToArray();
            _unknown = Array.FindIndex(_shape, 1, d => d < 0);
            long step = 1;
            for (int i = 1; i < _shape.Length; i++)
                if (i != _unknown)
                    step *= _shape[i];
            _step = checked((int)step);
            _name = spec.Name;
        }

        public override int Steps(int row)
        {
            int n = _source.Lengths[row];
            if (n % _step != 0)
                throw new InvalidOperationException($"Row {row} of column '{_name}' has {n} values, not a multiple of {_step} (the network input's known dimensions).");
            return n / _step;
        }

        public override bool IsVariable => true;

        public override bool ZeroPadded => _zeroPadded;

        public override OrtValue Gather(int[] order, int start, int count, int steps, bool identity)
        {
            int per = steps * _step;
            int rows = count;
            if (_requestLevel)
            {
                // one row for the request: every row must hold the same values (the graph broadcasts it)
                var first = _source.Rows[order[start]];
                int len = _source.Lengths[order[start]];
                for (int j = 1; j < count; j++)
                {
                    int r = order[start + j];
                    if (_source.Lengths[r] != len || !new ReadOnlySpan<T>(_source.Rows[r], 0, len).SequenceEqual(new ReadOnlySpan<T>(first, 0, len)))
                        throw new InvalidOperationException($"Column '{_name}' is declared the same for every candidate of a request (SameForAllCandidates), but rows {order[start]} and {r} of the request differ.");
                }
                rows = 1;
            }
            if (_scratch.Length < rows * per)
                _scratch = GC.AllocateArray<T>(Math.Max(rows * per, 2 * _scratch.Length), pinned: true);
            for (int j = 0; j < rows; j++)
            {
                int r = order[start + j];
                int len = Math.Min(_source.Lengths[r], per);
                // zero padding (only when the graph declares it) on the left: the row's last ids stay last, where a graph
                // that keeps the last MaximumLength ids of a sequence looks for them
                if (len < per)
                    Array.Clear(_scratch, j * per, per - len);
                Array.Copy(_source.Rows[r], 0, _scratch, j * per + per - len, len);
            }
            var shape = (long[])_shape.Clone();
            shape[0] = rows;
            shape[_unknown] = steps;
            count = rows;
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(_scratch, 0, count * per), shape);
        }
    }

    /// <summary>A network output written group by group: straight into the output buffer when the group is all rows in order, else scattered.</summary>
    internal abstract class GroupedOutput
    {
        public abstract OrtValue Create(int count, bool identity);

        public abstract void Scatter(int[] order, int start, int count);

        public static GroupedOutput Create(Type t, Array destination, int width, long[] shape, int capacity)
            => (GroupedOutput)Activator.CreateInstance(typeof(GroupedOutput<>).MakeGenericType(t), destination, width, shape, capacity)!;
    }

    internal sealed class GroupedOutput<T> : GroupedOutput where T : unmanaged
    {
        private readonly T[] _destination;
        private readonly int _width;
        private readonly long[] _shape;
        private readonly T[] _scratch;

        public GroupedOutput(Array destination, int width, long[] shape, int capacity)
        {
            _destination = (T[])destination;
            _width = width;
            _shape = shape;
            _scratch = GC.AllocateArray<T>(capacity * width, pinned: true);
        }

        public override OrtValue Create(int count, bool identity)
        {
            var shape = (long[])_shape.Clone();
            shape[0] = count;
            return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<T>(identity ? _destination : _scratch, 0, count * _width), shape);
        }

        public override void Scatter(int[] order, int start, int count)
        {
            for (int j = 0; j < count; j++)
                Array.Copy(_scratch, j * _width, _destination, order[start + j] * _width, _width);
        }
    }
}
