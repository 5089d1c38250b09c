using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Simulation.Data
{
    /// <summary>A column-oriented, read-only in-memory <see cref="IDataView"/> (the loaders' and the edges table's output).</summary>
    internal sealed class InMemoryDataView : IDataView
    {
        internal abstract class Column
        {
            public string Name = "";
            public DataViewType Type = NumberDataViewType.Single;
            public DataViewSchema.Annotations? Annotations;
            public abstract Delegate Getter(Func<int> row);
        }

        private sealed class ScalarColumn<T> : Column
        {
            public T[] Values = Array.Empty<T>();
            public override Delegate Getter(Func<int> row) => (ValueGetter<T>)((ref T v) => v = Values[row()]);
        }

        private sealed class VectorColumn<T> : Column
        {
            public T[] Values = Array.Empty<T>();
            public int Size;
            public override Delegate Getter(Func<int> row) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> dst) =>
            {
                var ed = VBufferEditor.Create(ref dst, Size);
                new ReadOnlySpan<T>(Values, row() * Size, Size).CopyTo(ed.Values);
                dst = ed.Commit();
            });
        }

        private readonly Column[] _columns;
        private readonly int _rows;

        public InMemoryDataView(int rows, IEnumerable<Column> columns)
        {
            _rows = rows;
            _columns = columns.ToArray();
            var b = new DataViewSchema.Builder();
            foreach (var c in _columns)
                b.AddColumn(c.Name, c.Type, c.Annotations);
            Schema = b.ToSchema();
        }

        public static Column Scalar<T>(string name, DataViewType type, T[] values)
            => new ScalarColumn<T> { Name = name, Type = type, Values = values };

        public static Column Vector<T>(string name, PrimitiveDataViewType itemType, int size, T[] values, IReadOnlyList<string>? slotNames = null)
        {
            DataViewSchema.Annotations? ann = null;
            if (slotNames is not null)
            {
                var names = slotNames.Select(s => s.AsMemory()).ToArray();
                var ab = new DataViewSchema.Annotations.Builder();
                ab.Add<VBuffer<ReadOnlyMemory<char>>>("SlotNames", new VectorDataViewType(TextDataViewType.Instance, size), (ref VBuffer<ReadOnlyMemory<char>> dst) =>
                {
                    var ed = VBufferEditor.Create(ref dst, names.Length);
                    names.CopyTo(ed.Values);
                    dst = ed.Commit();
                });
                ann = ab.ToAnnotations();
            }
            return new VectorColumn<T> { Name = name, Type = new VectorDataViewType(itemType, size), Values = values, Size = size, Annotations = ann };
        }

        public bool CanShuffle => true;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _rows;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            => new Cursor(this, columnsNeeded, rand);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => new[] { GetRowCursor(columnsNeeded, rand) };

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly InMemoryDataView _parent;
            private readonly bool[] _active;
            private readonly int[]? _perm;
            private long _position = -1;
            private bool _done;

            public Cursor(InMemoryDataView parent, IEnumerable<DataViewSchema.Column> needed, Random? rand)
            {
                _parent = parent;
                _active = new bool[parent._columns.Length];
                foreach (var c in needed)
                    _active[c.Index] = true;
                if (rand is not null)
                {
                    _perm = Enumerable.Range(0, parent._rows).ToArray();
                    for (int i = _perm.Length - 1; i > 0; i--)
                    {
                        int j = rand.Next(i + 1);
                        (_perm[i], _perm[j]) = (_perm[j], _perm[i]);
                    }
                }
            }

            public override DataViewSchema Schema => _parent.Schema;
            public override long Position => _position;
            public override long Batch => 0;
            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            private int Row()
            {
                if (_position < 0 || _position >= _parent._rows)
                    throw new InvalidOperationException("The cursor is not on a row: call MoveNext first.");
                return _perm is null ? (int)_position : _perm[_position];
            }

            public override bool MoveNext()
            {
                if (_done || _position + 1 >= _parent._rows)
                {
                    _done = true;
                    _position = -1;
                    return false;
                }
                _position++;
                return true;
            }

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)Row(), 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index < 0 || column.Index >= _active.Length)
                    throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' is not in this view.");
                if (!_active[column.Index])
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
                var d = _parent._columns[column.Index].Getter(Row);
                return d as ValueGetter<TValue> ?? throw new InvalidOperationException(
                    $"Column '{column.Name}' has type {_parent._columns[column.Index].Type}; it cannot be read as {typeof(TValue).Name}.");
            }
        }
    }
}
