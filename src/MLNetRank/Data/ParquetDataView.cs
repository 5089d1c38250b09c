using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Parquet;
using Parquet.Schema;

namespace MLNetRank.Data
{
    /// <summary>
    /// Parquet files as an <see cref="IDataView"/>: the footers are read once (schema, row counts); a cursor opens one file
    /// at a time and reads one row group of its active columns at a time, so memory holds one row group, never the data.
    /// </summary>
    internal sealed class ParquetDataView : IDataView
    {
        internal sealed class Column
        {
            public Column(string name, DataField field, Type element, bool isList, DataViewType type)
            {
                Name = name;
                Field = field;
                Element = element;
                IsList = isList;
                Type = type;
            }

            public string Name { get; }
            public DataField Field { get; }
            public Type Element { get; }
            public bool IsList { get; }
            public DataViewType Type { get; }
        }

        private readonly string[] _paths;
        private readonly long _rows;
        internal Column[] Columns { get; }

        public ParquetDataView(string[] paths, IReadOnlyList<string>? columns)
        {
            _paths = paths;
            ParquetSchema? first = null;
            foreach (var path in paths)
            {
                using var stream = File.OpenRead(path);
                var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
                try
                {
                if (first is null)
                    first = reader.Schema;
                else if (!first.Equals(reader.Schema))
                    throw new ArgumentException($"Parquet file '{path}' has a schema different from '{paths[0]}': {first.GetNotEqualsMessage(reader.Schema, paths[0], path)}", nameof(paths));
                for (int g = 0; g < reader.RowGroupCount; g++)
                    using (var rg = reader.OpenRowGroupReader(g))
                        _rows += rg.RowCount;
                }
                finally
                {
                    reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            var fields = first!.Fields;
            IEnumerable<Field> chosen = fields;
            if (columns is not null)
                chosen = columns.Select(c => fields.FirstOrDefault(f => f.Name == c)
                    ?? throw new ArgumentOutOfRangeException(nameof(columns), c, $"Column '{c}' is not in the Parquet files; they have: {string.Join(", ", fields.Select(f => f.Name))}."));
            Columns = chosen.Select(ToColumn).ToArray();
            var b = new DataViewSchema.Builder();
            foreach (var c in Columns)
                b.AddColumn(c.Name, c.Type);
            Schema = b.ToSchema();
        }

        private static Column ToColumn(Field f)
        {
            switch (f)
            {
                case DataField d when d.MaxRepetitionLevel == 0:
                    return new Column(f.Name, d, d.ClrType, false, ItemType(f.Name, d.ClrType));
                case ListField l when l.Item is DataField e && e.MaxRepetitionLevel == 1 && !IsText(e.ClrType):
                    return new Column(f.Name, e, e.ClrType, true, new VectorDataViewType((PrimitiveDataViewType)ItemType(f.Name, e.ClrType)));
                default:
                    throw new NotSupportedException(
                        $"Parquet column '{f.Name}' ({f.SchemaType}{(f is DataField df ? " of " + df.ClrType.Name : "")}) is not supported: " +
                        "scalars of bool, integers, float, double or string, and lists of bool, integers, float or double are. " +
                        "Load the other columns by naming them (LoadFromParquet(paths, columns)).");
            }
        }

        internal static bool IsText(Type t) => t == typeof(string) || t == typeof(ReadOnlyMemory<char>);

        private static DataViewType ItemType(string column, Type t)
        {
            if (t == typeof(bool)) return BooleanDataViewType.Instance;
            if (t == typeof(sbyte)) return NumberDataViewType.SByte;
            if (t == typeof(short)) return NumberDataViewType.Int16;
            if (t == typeof(int)) return NumberDataViewType.Int32;
            if (t == typeof(long)) return NumberDataViewType.Int64;
            if (t == typeof(byte)) return NumberDataViewType.Byte;
            if (t == typeof(ushort)) return NumberDataViewType.UInt16;
            if (t == typeof(uint)) return NumberDataViewType.UInt32;
            if (t == typeof(ulong)) return NumberDataViewType.UInt64;
            if (t == typeof(float)) return NumberDataViewType.Single;
            if (t == typeof(double)) return NumberDataViewType.Double;
            if (IsText(t)) return TextDataViewType.Instance;
            throw new NotSupportedException($"Parquet column '{column}' has values of type {t.Name}, which is not supported " +
                "(bool, integers, float, double and string are). Load the other columns by naming them (LoadFromParquet(paths, columns)).");
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _rows;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            new[] { GetRowCursor(columnsNeeded, rand) };

        /// <summary>One row group of one column, read from the file.</summary>
        private abstract class Chunk
        {
            public abstract Delegate Getter(Cursor cursor);
        }

        private sealed class ScalarChunk<T> : Chunk
        {
            public T[] Values = Array.Empty<T>();
            public override Delegate Getter(Cursor c) => (ValueGetter<T>)((ref T v) => v = Values[c.RowInGroup]);
        }

        private sealed class TextChunk : Chunk
        {
            public string?[] Values = Array.Empty<string?>();
            public override Delegate Getter(Cursor c) =>
                (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = (Values[c.RowInGroup] ?? "").AsMemory());
        }

        private sealed class ListChunk<T> : Chunk
        {
            public T[] Values = Array.Empty<T>();
            public int[] Offsets = { 0 };
            public override Delegate Getter(Cursor c) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> v) =>
            {
                int start = Offsets[c.RowInGroup], length = Offsets[c.RowInGroup + 1] - start;
                var editor = VBufferEditor.Create(ref v, length);
                Values.AsSpan(start, length).CopyTo(editor.Values);
                v = editor.Commit();
            });
        }

        private static Chunk Read(Column column, ParquetRowGroupReader rg, string path)
        {
            var method = typeof(ParquetDataView).GetMethod(column.IsList ? nameof(ReadList) : nameof(ReadScalar),
                System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            if (!column.IsList && IsText(column.Element))
            {
                var text = new TextChunk { Values = new string?[rg.RowCount] };
                rg.ReadAsync(column.Field, text.Values.AsMemory()!).AsTask().GetAwaiter().GetResult();
                return text;
            }
            try
            {
                return (Chunk)method.MakeGenericMethod(column.Element).Invoke(null, new object[] { column, rg, path })!;
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        private static T Missing<T>(Column column, string path, long row) where T : struct
        {
            if (typeof(T) == typeof(float)) return (T)(object)float.NaN;
            if (typeof(T) == typeof(double)) return (T)(object)double.NaN;
            throw new InvalidOperationException($"Parquet column '{column.Name}' has a null at row {row} of its row group in '{path}': " +
                $"{column.Element.Name} has no missing value in ML.NET (only Single and Double do, as NaN). Fill it before loading or leave the column out.");
        }

        private static Chunk ReadScalar<T>(Column column, ParquetRowGroupReader rg, string path) where T : struct
        {
            var chunk = new ScalarChunk<T> { Values = new T[rg.RowCount] };
            if (column.Field.MaxDefinitionLevel == 0)
                rg.ReadAsync<T>(column.Field, chunk.Values.AsMemory()).AsTask().GetAwaiter().GetResult();
            else
            {
                var nullable = new T?[rg.RowCount];
                rg.ReadAsync<T>(column.Field, nullable.AsMemory()).AsTask().GetAwaiter().GetResult();
                for (int i = 0; i < nullable.Length; i++)
                    chunk.Values[i] = nullable[i] ?? Missing<T>(column, path, i);
            }
            return chunk;
        }

        private static Chunk ReadList<T>(Column column, ParquetRowGroupReader rg, string path) where T : struct
        {
            var meta = rg.GetMetadata(column.Field)?.MetaData ?? throw new InvalidOperationException($"Parquet column '{column.Name}' has no metadata in a row group of '{path}'.");
            int levels = checked((int)meta.NumValues), maxDef = column.Field.MaxDefinitionLevel;
            var raw = new T[levels];
            var defs = new int[levels];
            var reps = new int[levels];
            rg.ReadRawAsync<T>(column.Field, raw, defs, reps).AsTask().GetAwaiter().GetResult();
            var chunk = new ListChunk<T> { Offsets = new int[rg.RowCount + 1] };
            var values = new List<T>(levels);
            int row = -1, next = 0;
            for (int i = 0; i < levels; i++)
            {
                if (reps[i] == 0)
                {
                    if (row >= 0)
                        chunk.Offsets[row + 1] = values.Count;
                    row++;
                }
                if (defs[i] == maxDef)
                    values.Add(raw[next++]);
                else if (defs[i] == maxDef - 1 && column.Field.IsNullable)
                    values.Add(Missing<T>(column, path, row)); // a null element inside a list
                // lower levels: an empty or null list, no element
            }
            if (row >= 0)
                chunk.Offsets[row + 1] = values.Count;
            if (row + 1 != rg.RowCount)
                throw new InvalidDataException($"Parquet column '{column.Name}' in '{path}': {row + 1} lists for {rg.RowCount} rows.");
            chunk.Values = values.ToArray();
            return chunk;
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly ParquetDataView _view;
            private readonly HashSet<int> _active;
            private readonly Chunk?[] _chunks;
            private readonly Delegate?[] _getters;
            private int _file = -1, _group;
            private Stream? _stream;
            private ParquetReader? _reader;
            private long _groupRows, _position = -1;
            internal int RowInGroup;

            public Cursor(ParquetDataView view, HashSet<int> active)
            {
                _view = view;
                _active = active;
                _chunks = new Chunk?[view.Columns.Length];
                _getters = new Delegate?[view.Columns.Length];
            }

            public override DataViewSchema Schema => _view.Schema;
            public override long Position => _position;
            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

            public override bool MoveNext()
            {
                if (RowInGroup + 1 < _groupRows && _position >= 0)
                {
                    RowInGroup++;
                    _position++;
                    return true;
                }
                while (true)
                {
                    if (_reader is null || _group >= _reader.RowGroupCount)
                    {
                        CloseFile();
                        if (++_file >= _view._paths.Length)
                            return false;
                        _stream = File.OpenRead(_view._paths[_file]);
                        _reader = ParquetReader.CreateAsync(_stream).GetAwaiter().GetResult();
                        _group = 0;
                        continue;
                    }
                    using var rg = _reader.OpenRowGroupReader(_group++);
                    if (rg.RowCount == 0)
                        continue;
                    _groupRows = rg.RowCount;
                    foreach (var i in _active)
                    {
                        _chunks[i] = Read(_view.Columns[i], rg, _view._paths[_file]);
                        _getters[i] = null;
                    }
                    RowInGroup = 0;
                    _position++;
                    return true;
                }
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!_active.Contains(column.Index))
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested by this cursor.");
                var expected = _view.Columns[column.Index].Type.RawType;
                if (typeof(TValue) != expected)
                    throw new InvalidOperationException($"Column '{column.Name}' holds {expected.Name}, not {typeof(TValue).Name}.");
                // the chunk changes with each row group: the getter reads whichever chunk is current
                return (ref TValue value) =>
                {
                    var g = (ValueGetter<TValue>)(_getters[column.Index] ??= _chunks[column.Index]!.Getter(this));
                    g(ref value);
                };
            }

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            private void CloseFile()
            {
                _reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
                _stream?.Dispose();
                _reader = null;
                _stream = null;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    CloseFile();
                base.Dispose(disposing);
            }
        }
    }
}
