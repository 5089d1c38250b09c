using System;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Baselines
{
    /// <summary>
    /// Computes a per-impression sample weight that trades click against conversion and stay time, the way
    /// point-wise rankers (1688 V1, YouTube's weighted logistic regression) fold several objectives into one
    /// click model:
    /// <c>weight = NonClickWeight</c> for an impression without click, and
    /// <c>weight = ClickWeight + BuyWeight·buy + StayTimeWeight·ln(1 + stay)</c> for a clicked impression.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | No |
    /// | Input column data type | click, buy: Boolean or Single (0/1); stay time: Single (seconds, ≥ 0) |
    /// | Output column data type | Single |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank |
    /// | Saved as | ML.NET `ExpressionTransformer` (with `TypeConvertingTransformer`) |
    /// ]]></format>
    /// The weight uses labels, so it belongs to training pipelines only (it is not part of a serving model);
    /// <see cref="PointwiseGbdtEstimator"/> applies it internally and returns a model that needs features only.
    /// </remarks>
    public sealed class EngagementWeightEstimator : IEstimator<ITransformer>
    {
        /// <summary>Options of <see cref="EngagementWeightEstimator"/>; the defaults work for live-stream traffic.</summary>
        public sealed class Options
        {
            /// <summary>Name of the output weight column. Default <c>Weight</c>.</summary>
            public string OutputColumnName { get; set; } = "Weight";

            /// <summary>Click label column (Boolean or Single 0/1). Default <c>Click</c>.</summary>
            public string ClickColumnName { get; set; } = "Click";

            /// <summary>Conversion label column (Boolean or Single 0/1), or null to ignore. Default <c>Buy</c>.</summary>
            public string? BuyColumnName { get; set; } = "Buy";

            /// <summary>Stay-time column in seconds (Single), or null to ignore. Default <c>StayTime</c>.</summary>
            public string? StayTimeColumnName { get; set; } = "StayTime";

            /// <summary>Weight of an impression without click. Default 1.</summary>
            public float NonClickWeight { get; set; } = 1f;

            /// <summary>Base weight of a clicked impression. Default 1.</summary>
            public float ClickWeight { get; set; } = 1f;

            /// <summary>Added to a clicked impression's weight when it converted. Default 4.</summary>
            public float BuyWeight { get; set; } = 4f;

            /// <summary>Multiplies <c>ln(1 + stay seconds)</c> on a clicked impression. Default 0.25.</summary>
            public float StayTimeWeight { get; set; } = 0.25f;

            /// <summary>The one check of these options (the estimator's constructor and <see cref="PointwiseGbdtEstimator"/> call it);
            /// column checks need the data and live in <c>GetOutputSchema</c>/<c>Fit</c>.</summary>
            internal void Validate()
            {
                foreach (var (name, value) in new[] { (nameof(NonClickWeight), NonClickWeight), (nameof(ClickWeight), ClickWeight),
                                                      (nameof(BuyWeight), BuyWeight), (nameof(StayTimeWeight), StayTimeWeight) })
                {
                    if (!float.IsFinite(value) || value < 0)
                        throw new ArgumentOutOfRangeException(name, $"{name} must be a finite number >= 0; got {value}.");
                }
                if (NonClickWeight == 0 && ClickWeight == 0)
                    throw new ArgumentOutOfRangeException(nameof(ClickWeight), "NonClickWeight and ClickWeight cannot both be 0.");
            }
        }

        private readonly MLContext _context;
        private readonly Options _options;

        internal EngagementWeightEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
        }

                private IEstimator<ITransformer> Build(Func<string, bool> isBoolean)
        {
            static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
            var inputs = new System.Collections.Generic.List<string> { _options.ClickColumnName };
            var names = new System.Collections.Generic.List<string> { "c" };
            string AsBool(string column, string alias) => isBoolean(column) ? alias : $"({alias} > 0)";

            string expr = $"({AsBool(_options.ClickColumnName, "c")} ? {F(_options.ClickWeight)}";
            if (_options.BuyColumnName is not null)
            {
                inputs.Add(_options.BuyColumnName);
                names.Add("b");
                expr += $" + ({AsBool(_options.BuyColumnName, "b")} ? {F(_options.BuyWeight)} : 0)";
            }
            if (_options.StayTimeColumnName is not null)
            {
                inputs.Add(_options.StayTimeColumnName);
                names.Add("s");
                expr += $" + {F(_options.StayTimeWeight)} * log(1 + max(s, 0))";
            }
            expr += $" : {F(_options.NonClickWeight)})";
            return _context.Transforms.Expression(_options.OutputColumnName, $"({string.Join(", ", names)}) => {expr}", inputs.ToArray());
        }

        private static bool IsLabel(SchemaShape.Column c) => Check.IsBinaryLabel(c);

        private static bool IsLabelType(DataViewType t) => t == BooleanDataViewType.Instance || t == NumberDataViewType.Single;

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var click = Check.Column(inputSchema, _options.ClickColumnName, "click label", "Boolean or Single", IsLabel);
            bool clickBool = click.ItemType == BooleanDataViewType.Instance;
            bool buyBool = false;
            if (_options.BuyColumnName is not null)
                buyBool = Check.Column(inputSchema, _options.BuyColumnName, "buy label", "Boolean or Single", IsLabel).ItemType == BooleanDataViewType.Instance;
            if (_options.StayTimeColumnName is not null)
                Check.Column(inputSchema, _options.StayTimeColumnName, "stay time", "Single (seconds)", Check.IsFloatScalar);
            return Build(n => n == _options.ClickColumnName ? clickBool : buyBool).GetOutputSchema(inputSchema);
        }

        /// <summary>Returns the built-in transformer chain that computes the weight column.</summary>
        public ITransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            Check.Column(input.Schema, _options.ClickColumnName, "click label", "Boolean or Single", IsLabelType);
            if (_options.BuyColumnName is not null)
                Check.Column(input.Schema, _options.BuyColumnName, "buy label", "Boolean or Single", IsLabelType);
            if (_options.StayTimeColumnName is not null)
                Check.Column(input.Schema, _options.StayTimeColumnName, "stay time", "Single (seconds)", t => t == NumberDataViewType.Single);
            return Build(n => input.Schema[n].Type == BooleanDataViewType.Instance).Fit(input);
        }
    }
}
