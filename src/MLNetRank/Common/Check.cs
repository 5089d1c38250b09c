using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Common
{
    /// <summary>
    /// Input validation shared by MLNetRank estimators and transformers. Every message names the column,
    /// what was expected and what was found, as the design rules ask.
    /// </summary>
    internal static class Check
    {
        /// <summary>Finds <paramref name="column"/> in a <see cref="SchemaShape"/> and checks its type.</summary>
        /// <param name="schema">The input schema.</param>
        /// <param name="column">Column name.</param>
        /// <param name="role">What the column is for, e.g. "label" or "features".</param>
        /// <param name="expected">Readable description of the expected type, e.g. "a known-size vector of Single".</param>
        /// <param name="accept">Accepts the column's shape.</param>
        public static SchemaShape.Column Column(SchemaShape schema, string column, string role, string expected, Func<SchemaShape.Column, bool> accept)
        {
            if (string.IsNullOrEmpty(column))
                throw new ArgumentException($"The {role} column name must be given.", role);
            int index = -1;
            for (int i = 0; i < schema.Count; i++)
                if (schema[i].Name == column)
                    index = i;
            if (index < 0)
                throw new ArgumentOutOfRangeException(column,
                    $"The {role} column '{column}' was not found in the input schema; expected {expected}. " +
                    $"Columns present: {string.Join(", ", schema.Select(c => c.Name))}.");
            var col = schema[index];
            if (!accept(col))
                throw new ArgumentOutOfRangeException(column,
                    $"The {role} column '{column}' has type {Describe(col)}; expected {expected}.");
            return col;
        }

        /// <summary>Finds <paramref name="column"/> in a <see cref="DataViewSchema"/> and checks its type.</summary>
        public static DataViewSchema.Column Column(DataViewSchema schema, string column, string role, string expected, Func<DataViewType, bool> accept)
        {
            if (string.IsNullOrEmpty(column))
                throw new ArgumentException($"The {role} column name must be given.", role);
            DataViewSchema.Column? col = schema.GetColumnOrNull(column);
            if (!col.HasValue)
                throw new ArgumentOutOfRangeException(column,
                    $"The {role} column '{column}' was not found in the input schema; expected {expected}. " +
                    $"Columns present: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
            if (!accept(col.Value.Type))
                throw new ArgumentOutOfRangeException(column,
                    $"The {role} column '{column}' has type {col.Value.Type}; expected {expected}.");
            return col.Value;
        }

        /// <summary>A readable description of a <see cref="SchemaShape.Column"/>'s type.</summary>
        public static string Describe(SchemaShape.Column col)
        {
            string item = col.IsKey ? $"Key<{col.ItemType.RawType.Name}>" : (col.ItemType.ToString() ?? col.ItemType.RawType.Name);
            return col.Kind switch
            {
                SchemaShape.Column.VectorKind.Scalar => item,
                SchemaShape.Column.VectorKind.Vector => $"Vector<{item}> (known size)",
                _ => $"Vector<{item}> (variable size)",
            };
        }

        /// <summary>True for a scalar <see cref="NumberDataViewType.Single"/> column.</summary>
        public static bool IsFloatScalar(SchemaShape.Column c)
            => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && c.ItemType == NumberDataViewType.Single;

        /// <summary>True for a known-size vector of <see cref="NumberDataViewType.Single"/>.</summary>
        public static bool IsFloatVector(SchemaShape.Column c)
            => c.Kind == SchemaShape.Column.VectorKind.Vector && !c.IsKey && c.ItemType == NumberDataViewType.Single;

        /// <summary>True for a boolean scalar, or a Single scalar (0/1).</summary>
        public static bool IsBinaryLabel(SchemaShape.Column c)
            => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey
               && (c.ItemType == BooleanDataViewType.Instance || c.ItemType == NumberDataViewType.Single);

        /// <summary>Throws <see cref="InvalidOperationException"/> naming the column when a value is NaN or infinite.</summary>
        public static void Finite(float value, string column, long row)
        {
            if (!float.IsFinite(value))
                throw new InvalidOperationException($"Column '{column}' has a non-finite value ({value}) at row {row}; expected a finite number.");
        }
    }
}
