using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Graph
{
    /// <summary>
    /// The metapath2vec saved form (step 4 of the component story, docs/architecture.md): builds a fitted transform out of ML.NET's own transformers: per output column,
    /// <c>ValueMapping</c> id -> row (UInt32; unknown ids get 0), <c>ValueMapping</c> row -> vector (row 0 = the default
    /// vector, so unknown ids get a full-length default rather than the empty vector ValueMapping gives an unknown key),
    /// optionally <c>ValueMapping</c> id -> true for the "known" indicator (unknown -> false), and a final
    /// <c>DropColumns</c> of the intermediate row columns.
    /// </summary>
    internal static class Metapath2VecSavedForm
    {
        internal sealed class ColumnPlan
        {
            public required string Output { get; init; }
            public required string Input { get; init; }
            public required string NodeType { get; init; }
            public required Type KeyType { get; init; }
            public string RowColumn => "__m2v_row_" + Output;
            public string KnownColumn => Output + "Known";
        }

        /// <summary>The .NET type of a supported id column (String, UInt32, Int32, UInt64, Int64), or null.</summary>
        public static Type? KeyTypeOf(DataViewType itemType)
        {
            if (itemType is TextDataViewType)
                return typeof(string);
            if (itemType is KeyDataViewType)
                return null;
            if (itemType == NumberDataViewType.UInt32)
                return typeof(uint);
            if (itemType == NumberDataViewType.Int32)
                return typeof(int);
            if (itemType == NumberDataViewType.UInt64)
                return typeof(ulong);
            if (itemType == NumberDataViewType.Int64)
                return typeof(long);
            return null;
        }

        public const string SupportedTypes = "a scalar String, UInt32, Int32, UInt64 or Int64 id column";

        /// <summary>The estimator chain; <paramref name="tables"/> null = one-row placeholder tables (for schema propagation).</summary>
        public static IEstimator<ITransformer> Build(MLContext ctx, IReadOnlyList<ColumnPlan> plans, int dimension, bool addKnown,
            Func<ColumnPlan, (string[] Ids, Func<int, float[]> Vector, float[] Default)>? tables)
        {
            IEstimator<ITransformer>? chain = null;
            foreach (var p in plans)
            {
                string[] ids;
                Func<int, float[]> vectors;
                float[] def;
                if (tables is null)
                {
                    ids = Array.Empty<string>();
                    vectors = _ => throw new InvalidOperationException();
                    def = new float[dimension];
                }
                else
                {
                    (ids, vectors, def) = tables(p);
                }
                var keys = ConvertKeys(ids, p.KeyType, out var rows);
                var idToRow = KeyIndexView(ctx, p.KeyType, keys, rows);
                var rowToVector = RowVectorView(ctx, dimension, rows, vectors, def);
                Append(ctx.Transforms.Conversion.MapValue(p.RowColumn, idToRow, idToRow.Schema["Key"], idToRow.Schema["Value"], p.Input));
                Append(ctx.Transforms.Conversion.MapValue(p.Output, rowToVector, rowToVector.Schema["Key"], rowToVector.Schema["Value"], p.RowColumn));
                if (addKnown)
                {
                    var known = KeyKnownView(ctx, p.KeyType, keys);
                    Append(ctx.Transforms.Conversion.MapValue(p.KnownColumn, known, known.Schema["Key"], known.Schema["Value"], p.Input));
                }
            }
            Append(ctx.Transforms.DropColumns(plans.Select(p => p.RowColumn).ToArray()));
            return chain!;

            void Append(IEstimator<ITransformer> e) => chain = chain is null ? e : chain.Append(e);
        }

        /// <summary>Converts text ids to the input column's key type; ids that do not fit are left out. rows[i] = 1-based row of keys[i].</summary>
        private static Array ConvertKeys(string[] ids, Type keyType, out uint[] rows)
        {
            var kept = new List<int>(ids.Length);
            if (keyType == typeof(string))
            {
                rows = Enumerable.Range(1, ids.Length).Select(i => (uint)i).ToArray();
                return ids;
            }
            var list = new List<object>();
            var rowList = new List<uint>();
            for (int i = 0; i < ids.Length; i++)
            {
                object? v = null;
                var s = ids[i];
                var inv = CultureInfo.InvariantCulture;
                if (keyType == typeof(uint) && uint.TryParse(s, NumberStyles.Integer, inv, out var a)) v = a;
                else if (keyType == typeof(int) && int.TryParse(s, NumberStyles.Integer, inv, out var b)) v = b;
                else if (keyType == typeof(ulong) && ulong.TryParse(s, NumberStyles.Integer, inv, out var c)) v = c;
                else if (keyType == typeof(long) && long.TryParse(s, NumberStyles.Integer, inv, out var d)) v = d;
                if (v is not null)
                {
                    list.Add(v);
                    rowList.Add((uint)(i + 1));
                }
            }
            rows = rowList.ToArray();
            var arr = Array.CreateInstance(keyType, list.Count);
            for (int i = 0; i < list.Count; i++)
                arr.SetValue(list[i], i);
            return arr;
        }

        private static IDataView KeyIndexView(MLContext ctx, Type keyType, Array keys, uint[] rows)
        {
            // An empty table would leave ValueMapping without a key type: a placeholder row maps a key no id uses... not
            // possible in general, so an empty type maps the placeholder to row 0 (the default) which is the right answer anyway.
            if (keyType == typeof(string)) return Make((string[])keys, rows, "");
            if (keyType == typeof(uint)) return Make((uint[])keys, rows, 0u);
            if (keyType == typeof(int)) return Make((int[])keys, rows, 0);
            if (keyType == typeof(ulong)) return Make((ulong[])keys, rows, 0ul);
            return Make((long[])keys, rows, 0L);

            IDataView Make<T>(T[] k, uint[] r, T placeholder)
            {
                var list = new List<KeyValueRow<T, uint>>(k.Length + 1);
                for (int i = 0; i < k.Length; i++)
                    list.Add(new KeyValueRow<T, uint> { Key = k[i], Value = r[i] });
                if (list.Count == 0)
                    list.Add(new KeyValueRow<T, uint> { Key = placeholder, Value = 0 });
                return ctx.Data.LoadFromEnumerable(list);
            }
        }

        private static IDataView KeyKnownView(MLContext ctx, Type keyType, Array keys)
        {
            if (keyType == typeof(string)) return Make((string[])keys, "");
            if (keyType == typeof(uint)) return Make((uint[])keys, 0u);
            if (keyType == typeof(int)) return Make((int[])keys, 0);
            if (keyType == typeof(ulong)) return Make((ulong[])keys, 0ul);
            return Make((long[])keys, 0L);

            IDataView Make<T>(T[] k, T placeholder)
            {
                var list = new List<KeyValueRow<T, bool>>(k.Length + 1);
                for (int i = 0; i < k.Length; i++)
                    list.Add(new KeyValueRow<T, bool> { Key = k[i], Value = true });
                if (list.Count == 0)
                    list.Add(new KeyValueRow<T, bool> { Key = placeholder, Value = false });
                return ctx.Data.LoadFromEnumerable(list);
            }
        }

        /// <summary>Row -> vector table; <paramref name="vectors"/> gives the vector of a 0-based row of the ids (one array
        /// per row, made as the list is built: no intermediate copy of the whole table).</summary>
        private static IDataView RowVectorView(MLContext ctx, int dimension, uint[] rows, Func<int, float[]> vectors, float[] def)
        {
            var list = new List<KeyValueRow<uint, float[]>>(rows.Length + 1)
            {
                new KeyValueRow<uint, float[]> { Key = 0, Value = (float[])def.Clone() },
            };
            foreach (var r in rows)
                list.Add(new KeyValueRow<uint, float[]> { Key = r, Value = vectors((int)(r - 1)) });
            var schema = SchemaDefinition.Create(typeof(KeyValueRow<uint, float[]>));
            schema["Value"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
            return ctx.Data.LoadFromEnumerable(list, schema);
        }

        private sealed class KeyValueRow<TKey, TValue>
        {
            public TKey Key { get; set; } = default!;
            public TValue Value { get; set; } = default!;
        }
    }
}
