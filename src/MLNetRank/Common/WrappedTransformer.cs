using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Common
{
    /// <summary>
    /// Base of MLNetRank's fitted transformers that wrap ML.NET's own saveable transformers (DESIGN.md,
    /// "Saving"): scoring and saving forward to <see cref="Inner"/>, so a saved zip holds only built-in
    /// types and loads with no MLNetRank code; the wrapper adds typed properties for the user.
    /// </summary>
    public abstract class WrappedTransformer : ITransformer
    {
        private protected WrappedTransformer(ITransformer inner)
        {
            Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        }

        /// <summary>The ML.NET transformer (or chain) that scores and is saved; what <c>mlContext.Model.Load</c> returns.</summary>
        public ITransformer Inner { get; }

        /// <inheritdoc />
        public bool IsRowToRowMapper => Inner.IsRowToRowMapper;

        /// <inheritdoc />
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
        {
            CheckInput(inputSchema);
            return Inner.GetOutputSchema(inputSchema);
        }

        /// <inheritdoc />
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
        {
            CheckInput(inputSchema);
            return Inner.GetRowToRowMapper(inputSchema);
        }

        /// <inheritdoc />
        public virtual IDataView Transform(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            CheckInput(input.Schema);
            return Inner.Transform(input);
        }

        private (string Name, DataViewType Type, string Role)[] _expected = Array.Empty<(string, DataViewType, string)>();

        /// <summary>Records the input columns scoring reads, with the types they had in training: scoring data whose column
        /// has another type (a String id where a key or integer was trained) then fails at once, naming the column and both
        /// types, instead of deep in ML.NET ("Invalid TValue in GetGetter") when a cursor reaches it.</summary>
        private protected void ExpectInputs(DataViewSchema trainingSchema, IEnumerable<(string Name, string Role)> columns)
        {
            _expected = columns.Select(c => (c.Name, trainingSchema[c.Name].Type, c.Role)).ToArray();
        }

        private void CheckInput(DataViewSchema schema)
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

        /// <summary>Saves the inner ML.NET transformer: the zip holds only built-in ML.NET types.</summary>
        void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);
    }
}
