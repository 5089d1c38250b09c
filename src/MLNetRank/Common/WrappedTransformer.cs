using System;
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
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Inner.GetOutputSchema(inputSchema);

        /// <inheritdoc />
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Inner.GetRowToRowMapper(inputSchema);

        /// <inheritdoc />
        public virtual IDataView Transform(IDataView input) => Inner.Transform(input);

        /// <summary>Saves the inner ML.NET transformer: the zip holds only built-in ML.NET types.</summary>
        void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);
    }
}
