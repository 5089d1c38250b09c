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
    /// <summary>Writes an <see cref="IDataView"/> as Parquet, row group by row group (memory: one row group).</summary>
    internal static class ParquetSaver
    {
        private abstract class ColumnWriter
        {
            public abstract Field Field { get; }
            public abstract void Append(DataViewRowCursor cursor);
            public abstract void Write(ParquetRowGroupWriter rg);
        }

        private sealed class ScalarWriter<T> : ColumnWriter where T : struct
        {
            private readonly DataField<T> _field;
            private readonly DataViewSchema.Column _column;
            private ValueGetter<T>? _getter;
            private readonly List<T> _values = new();
            public ScalarWriter(DataViewSchema.Column c) { _column = c; _field = new DataField<T>(c.Name); }
            public override Field Field => _field;
            public override void Append(DataViewRowCursor cursor)
            {
                _getter ??= cursor.GetGetter<T>(_column);
                T v = default;
                _getter(ref v);
                _values.Add(v);
            }
            public override void Write(ParquetRowGroupWriter rg)
            {
                rg.WriteAsync<T>(_field, _values.ToArray()).GetAwaiter().GetResult();
                _values.Clear();
            }
            public void Reset() => _getter = null;
        }

        private sealed class TextWriter : ColumnWriter
        {
            private readonly DataField<string> _field;
            private readonly DataViewSchema.Column _column;
            private ValueGetter<ReadOnlyMemory<char>>? _getter;
            private readonly List<string> _values = new();
            public TextWriter(DataViewSchema.Column c) { _column = c; _field = new DataField<string>(c.Name); }
            public override Field Field => _field;
            public override void Append(DataViewRowCursor cursor)
            {
                _getter ??= cursor.GetGetter<ReadOnlyMemory<char>>(_column);
                ReadOnlyMemory<char> v = default;
                _getter(ref v);
                _values.Add(v.ToString());
            }
            public override void Write(ParquetRowGroupWriter rg)
            {
                rg.WriteAsync(_field, _values.ToArray()).GetAwaiter().GetResult();
                _values.Clear();
            }
        }

        private sealed class ListWriter<T> : ColumnWriter where T : struct
        {
            private readonly DataField<T> _element;
            private readonly ListField _field;
            private readonly DataViewSchema.Column _column;
            private ValueGetter<VBuffer<T>>? _getter;
            private VBuffer<T> _buffer;
            private readonly List<T> _values = new();
            private readonly List<int> _defs = new(), _reps = new();
            public ListWriter(DataViewSchema.Column c)
            {
                _column = c;
                _element = new DataField<T>("element");
                _field = new ListField(c.Name, _element);
            }
            public override Field Field => _field;
            public override void Append(DataViewRowCursor cursor)
            {
                _getter ??= cursor.GetGetter<VBuffer<T>>(_column);
                _getter(ref _buffer);
                int max = _element.MaxDefinitionLevel;
                if (_buffer.Length == 0)
                {
                    _defs.Add(max - 1); // an empty list
                    _reps.Add(0);
                    return;
                }
                int i = 0;
                foreach (var v in _buffer.DenseValues())
                {
                    _values.Add(v);
                    _defs.Add(max);
                    _reps.Add(i++ == 0 ? 0 : 1);
                }
            }
            public override void Write(ParquetRowGroupWriter rg)
            {
                rg.WriteAllPartsAsync<T>(_element, _values.ToArray(), _defs.ToArray(), _reps.ToArray(), default).GetAwaiter().GetResult();
                _values.Clear();
                _defs.Clear();
                _reps.Clear();
            }
        }

        private static ColumnWriter Create(DataViewSchema.Column c)
        {
            var type = c.Type;
            bool vector = false;
            if (type is VectorDataViewType v)
            {
                vector = true;
                type = v.ItemType;
            }
            if (type is KeyDataViewType key && key.RawType == typeof(uint))
                type = NumberDataViewType.UInt32;
            if (!vector && type is TextDataViewType)
                return new TextWriter(c);
            Type? raw = type is NumberDataViewType || type is BooleanDataViewType ? type.RawType : null;
            if (raw is null)
                throw new NotSupportedException($"Column '{c.Name}' of type {c.Type} cannot be written as Parquet: numbers, Boolean, Text, " +
                    "UInt32 keys and vectors of numbers, Boolean or keys can. Drop or convert it first (e.g. mlContext.Transforms.DropColumns).");
            var generic = (vector ? typeof(ListWriter<>) : typeof(ScalarWriter<>)).MakeGenericType(raw);
            return (ColumnWriter)Activator.CreateInstance(generic, c)!;
        }

        public static void Save(IDataView data, Stream stream, int rowGroupSize)
        {
            var columns = data.Schema.Where(c => !c.IsHidden).ToArray();
            var writers = columns.Select(Create).ToArray();
            var schema = new ParquetSchema(writers.Select(w => w.Field));
            var writer = ParquetWriter.CreateAsync(schema, stream, null, false).GetAwaiter().GetResult();
            try
            {
                using var cursor = data.GetRowCursor(columns);
                int rows = 0;
                while (cursor.MoveNext())
                {
                    foreach (var w in writers)
                        w.Append(cursor);
                    if (++rows == rowGroupSize)
                    {
                        Flush(writer, writers);
                        rows = 0;
                    }
                }
                if (rows > 0)
                    Flush(writer, writers);
            }
            finally
            {
                writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        private static void Flush(ParquetWriter writer, ColumnWriter[] writers)
        {
            using var rg = writer.CreateRowGroup();
            foreach (var w in writers)
                w.Write(rg);
        }
    }
}
