using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>Which rows <see cref="InversePropensityWeightEstimator"/> weights by 1 / propensity.</summary>
    public enum InversePropensityWeighting
    {
        /// <summary>Clicked rows get min(1/propensity, MaximumWeight); unclicked rows weigh 1 (the unbiased learning-to-rank
        /// estimator of Joachims et al. 2017: only the clicks carry the examination bias that IPS removes).</summary>
        ClickedRows,

        /// <summary>Every row gets min(1/propensity, MaximumWeight).</summary>
        AllRows,
    }

    public sealed partial class InversePropensityWeightEstimator
    {
        /// <summary>Options of <see cref="InversePropensityWeightEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>Weight column added (Single). Default <c>"Weight"</c>.</summary>
            public string OutputColumnName { get; set; } = "Weight";

            /// <summary>Propensity column (Single, &gt; 0), e.g. the output of <c>EstimatePositionPropensity</c>. Default <c>"Propensity"</c>.</summary>
            public string PropensityColumnName { get; set; } = "Propensity";

            /// <summary>Click label (Boolean, or Single &gt; 0 = click); needed by <see cref="InversePropensityWeighting.ClickedRows"/>
            /// and by <see cref="NormalizeOverClicks"/>. Default <c>"Click"</c>.</summary>
            public string? LabelColumnName { get; set; } = "Click";

            /// <summary>Which rows get the inverse propensity. Default <see cref="InversePropensityWeighting.ClickedRows"/>.</summary>
            public InversePropensityWeighting ApplyTo { get; set; } = InversePropensityWeighting.ClickedRows;

            /// <summary>Clipping: 1/propensity is capped at this value (propensity floor 1/MaximumWeight), trading a little bias
            /// for much less variance (Joachims et al. 2017; Strehl et al. 2010). Default 10.</summary>
            public double MaximumWeight { get; set; } = 10;

            /// <summary>When true, the clipped inverse propensities are scaled so their mean over the clicked rows of the fitting
            /// data is 1 (unclicked rows keep weight 1 under <see cref="InversePropensityWeighting.ClickedRows"/>); this keeps the
            /// balance of clicks and non-clicks of the unweighted data, so a trainer's regularization and learning rate behave as
            /// before. The scale is learned at Fit and saved. Default false.</summary>
            public bool NormalizeOverClicks { get; set; }
        }
    }

    /// <summary>
    /// Adds an inverse-propensity weight column, min(1/propensity, MaximumWeight) (optionally normalized), for the
    /// <c>ExampleWeightColumnName</c> of any ML.NET trainer (FastTree, LightGBM, SDCA, ...; for LightGBM LambdaRank see
    /// docs/debiasing.md on how row weights act there).
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes (a validation pass; the scale when normalizing) |
    /// | Input column data type | propensity: Single (> 0); click: Boolean or Single |
    /// | Output column data type | `Weight` (Single) |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank |
    /// | Saved as | ML.NET `Expression` transform |
    /// ]]></format>
    /// </remarks>
    public sealed partial class InversePropensityWeightEstimator : IEstimator<InversePropensityWeightTransformer>
    {
        private readonly MLContext _context;
        private readonly InversePropensityWeightEstimator.Options _options;

        internal InversePropensityWeightEstimator(MLContext context, InversePropensityWeightEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(options.OutputColumnName))
                throw new ArgumentException("OutputColumnName must be given.", nameof(options));
            if (!(options.MaximumWeight >= 1) || double.IsInfinity(options.MaximumWeight))
                throw new ArgumentOutOfRangeException(nameof(InversePropensityWeightEstimator.Options.MaximumWeight), options.MaximumWeight, "MaximumWeight must be a finite number >= 1.");
            if (options.LabelColumnName is null && (options.ApplyTo == InversePropensityWeighting.ClickedRows || options.NormalizeOverClicks))
                throw new ArgumentException("LabelColumnName is needed to weight clicked rows or to normalize over clicks.", nameof(options));
        }

        private bool UsesLabel => _options.ApplyTo == InversePropensityWeighting.ClickedRows || _options.NormalizeOverClicks;

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var o = _options;
            Check.Column(inputSchema, o.PropensityColumnName, "propensity", "Single (> 0)", Check.IsFloatScalar);
            bool boolLabel = true;
            if (UsesLabel)
                boolLabel = Check.Column(inputSchema, o.LabelColumnName!, "click label", DebiasingColumns.LabelTypes, Check.IsBinaryLabel).ItemType == BooleanDataViewType.Instance;
            return Build(boolLabel, 1).GetOutputSchema(inputSchema);
        }

        private IEstimator<ITransformer> Build(bool boolLabel, double scale)
        {
            var o = _options;
            string w = $"min(1 / p, {DebiasingColumns.Literal(o.MaximumWeight)}) * {DebiasingColumns.Literal(scale)}";
            if (o.ApplyTo == InversePropensityWeighting.AllRows)
                return _context.Transforms.Expression(o.OutputColumnName, $"p => {w}", o.PropensityColumnName);
            string cond = boolLabel ? "c" : "c > 0";
            return _context.Transforms.Expression(o.OutputColumnName, $"(p, c) => {cond} ? {w} : 1.0", o.PropensityColumnName, o.LabelColumnName!);
        }

        /// <summary>Checks the propensities, learns the normalization scale if asked, and returns the weighting transformer.</summary>
        public InversePropensityWeightTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var pCol = Check.Column(input.Schema, o.PropensityColumnName, "propensity", "Single (> 0)", t => t == NumberDataViewType.Single);
            DataViewSchema.Column? lCol = UsesLabel
                ? Check.Column(input.Schema, o.LabelColumnName!, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType)
                : null;
            var cols = new List<DataViewSchema.Column> { pCol };
            if (lCol.HasValue)
                cols.Add(lCol.Value);
            long rows = 0, clipped = 0, clickedRows = 0;
            double clickedSum = 0;
            using (var cursor = input.GetRowCursor(cols))
            {
                var pGet = cursor.GetGetter<float>(pCol);
                var lGet = lCol.HasValue ? DebiasingColumns.LabelGetter(cursor, lCol.Value) : null;
                float p = 0;
                for (; cursor.MoveNext(); rows++)
                {
                    pGet(ref p);
                    if (!(p > 0) || float.IsInfinity(p))
                        throw new InvalidOperationException(
                            $"The propensity column '{o.PropensityColumnName}' has the value {p.ToString(CultureInfo.InvariantCulture)} at row {rows}; expected a finite propensity > 0 " +
                            "(NaN comes from a position that is not a whole number >= 1).");
                    double w = Math.Min(1.0 / p, o.MaximumWeight);
                    bool clicked = lGet is not null && lGet(rows);
                    bool weighted = o.ApplyTo == InversePropensityWeighting.AllRows || clicked;
                    if (weighted && 1.0 / p > o.MaximumWeight)
                        clipped++;
                    if (clicked)
                    {
                        clickedRows++;
                        clickedSum += w;
                    }
                }
            }
            if (rows == 0)
                throw new InvalidOperationException("The data is empty: InversePropensityWeight needs rows with a propensity.");
            double scale = 1;
            if (o.NormalizeOverClicks)
            {
                if (clickedRows == 0)
                    throw new InvalidOperationException($"No row is clicked (column '{o.LabelColumnName}'): the weights cannot be normalized over clicks.");
                scale = clickedRows / clickedSum;
            }
            using (var log = new RankerLog(_context, "Debiasing"))
                log.Info($"inverse propensity weights on {rows} rows: {clipped} clipped at {o.MaximumWeight}, scale {scale:G6}");
            var bool_ = !lCol.HasValue || lCol.Value.Type == BooleanDataViewType.Instance;
            var inner = Build(bool_, scale).Fit(input);
            return new InversePropensityWeightTransformer(inner, scale, o.MaximumWeight, rows, clipped);
        }
    }

    /// <summary>
    /// Adds the inverse-propensity weight column. Saving writes a built-in ML.NET <c>Expression</c> transform.
    /// </summary>
    public sealed class InversePropensityWeightTransformer : WrappedTransformer
    {
        internal InversePropensityWeightTransformer(ITransformer inner, double scale, double maximumWeight, long rows, long clipped)
            : base(inner)
        {
            Scale = scale;
            MaximumWeight = maximumWeight;
            Rows = rows;
            ClippedRows = clipped;
        }

        /// <summary>The factor applied to the clipped inverse propensities (1 unless normalizing over clicks).</summary>
        public double Scale { get; }

        /// <summary>The clip of 1/propensity.</summary>
        public double MaximumWeight { get; }

        /// <summary>Rows of the fitting data.</summary>
        public long Rows { get; }

        /// <summary>Weighted rows of the fitting data whose 1/propensity exceeded <see cref="MaximumWeight"/>.</summary>
        public long ClippedRows { get; }
    }
}
