using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LiveStreamRanking
{
    /// <summary>
    /// An in-memory <see cref="IDataView"/> over arrays of equal length: scalar columns (one value per row) and known-size
    /// <see cref="float"/> vector columns (row-major, <c>rows x width</c>). The example builds the score fusion's training
    /// rows from the request scorer's batched outputs with it (the labels and the request id come from the data).
    /// </summary>
    internal sealed class ArrayDataView : IDataView
    {
        private readonly int _rows;
        private readonly List<(string Name, DataViewType Type, Func<Func<int>, Delegate> Getter)> _columns = new();
        private DataViewSchema? _schema;

        public ArrayDataView(int rows) => _rows = rows;

        /// <summary>Adds a scalar column.</summary>
        public ArrayDataView Add<T>(string name, DataViewType type, T[] values)
        {
            if (values.Length != _rows)
                throw new ArgumentException($"Column '{name}' has {values.Length} values for {_rows} rows.", nameof(values));
            _columns.Add((name, type, pos => (ValueGetter<T>)((ref T v) => v = values[pos()])));
            _schema = null;
            return this;
        }

        /// <summary>Adds a known-size float vector column from a row-major array.</summary>
        public ArrayDataView AddVector(string name, float[] flat, int width)
        {
            if (flat.Length != (long)_rows * width)
                throw new ArgumentException($"Column '{name}' has {flat.Length} values for {_rows} rows of {width}.", nameof(flat));
            _columns.Add((name, new VectorDataViewType(NumberDataViewType.Single, width), pos => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
            {
                var editor = VBufferEditor.Create(ref v, width);
                flat.AsSpan(pos() * width, width).CopyTo(editor.Values);
                v = editor.Commit();
            })));
            _schema = null;
            return this;
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema
        {
            get
            {
                if (_schema == null)
                {
                    var b = new DataViewSchema.Builder();
                    foreach (var c in _columns)
                        b.AddColumn(c.Name, c.Type);
                    _schema = b.ToSchema();
                }
                return _schema;
            }
        }

        public long? GetRowCount() => _rows;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            => new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => new[] { GetRowCursor(columnsNeeded, rand) };

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly ArrayDataView _view;
            private readonly HashSet<int> _active;
            private int _pos = -1;

            public Cursor(ArrayDataView view, HashSet<int> active)
            {
                _view = view;
                _active = active;
            }

            public override long Position => _pos;
            public override long Batch => 0;
            public override DataViewSchema Schema => _view.Schema;

            public override bool MoveNext() => ++_pos < _view._rows;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!_active.Contains(column.Index))
                    throw new InvalidOperationException($"Column '{column.Name}' is not active.");
                return (ValueGetter<TValue>)_view._columns[column.Index].Getter(() => _pos);
            }

            public override ValueGetter<DataViewRowId> GetIdGetter()
                => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_pos, 0);
        }
    }
}
