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

        private InputColumnCheck _expected = InputColumnCheck.None;

        /// <summary>Records the input columns scoring reads, with the types they had in training: scoring data whose column
        /// has another type (a String id where a key or integer was trained) then fails at once, naming the column and both
        /// types, instead of deep in ML.NET ("Invalid TValue in GetGetter") when a cursor reaches it.</summary>
        private protected void ExpectInputs(DataViewSchema trainingSchema, IEnumerable<(string Name, string Role)> columns)
        {
            _expected = InputColumnCheck.From(trainingSchema, columns);
        }

        private void CheckInput(DataViewSchema schema) => _expected.Check(schema);

        /// <summary>Saves the inner ML.NET transformer: the zip holds only built-in ML.NET types.</summary>
        void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);
    }
}
