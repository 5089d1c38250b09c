using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Common
{
    /// <summary>
    /// The input columns a fitted transformer reads at scoring, with the types they had in training. Checked when a
    /// transformer is given a schema (<c>Transform</c>, <c>GetOutputSchema</c>, <c>GetRowToRowMapper</c>): a column of another
    /// type (a String id where a key or integer was trained) fails at once, naming the column and both types, instead of deep
    /// in ML.NET ("Invalid TValue in GetGetter") when a cursor reaches it.
    /// </summary>
    internal sealed class InputColumnCheck
    {
        public static readonly InputColumnCheck None = new(Array.Empty<(string, DataViewType, string)>());

        private readonly (string Name, DataViewType Type, string Role)[] _expected;

        private InputColumnCheck((string Name, DataViewType Type, string Role)[] expected)
        {
            _expected = expected;
        }

        /// <summary>Records <paramref name="columns"/> with their types in <paramref name="trainingSchema"/>.</summary>
        public static InputColumnCheck From(DataViewSchema trainingSchema, IEnumerable<(string Name, string Role)> columns)
            => new(columns.Select(c => (c.Name, trainingSchema[c.Name].Type, c.Role)).ToArray());

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (parameter name = the column) when a recorded column is
        /// missing from <paramref name="schema"/> or has another type.</summary>
        public void Check(DataViewSchema schema)
        {
            if (schema is null)
                throw new ArgumentNullException(nameof(schema));
            foreach (var (name, type, role) in _expected)
            {
                var col = schema.GetColumnOrNull(name);
                if (col is null)
                    throw new ArgumentOutOfRangeException(name, $"The input has no column '{name}' ({role}); the model was trained with it as {type}.");
                if (!col.Value.Type.Equals(type))
                    throw new ArgumentOutOfRangeException(name, $"Column '{name}' ({role}) has type {col.Value.Type}; the model was trained with {type}. " +
                        "Convert it to that type before scoring (e.g. mlContext.Transforms.Conversion.ConvertType, or MapValueToKey for ids).");
            }
        }
    }
}
