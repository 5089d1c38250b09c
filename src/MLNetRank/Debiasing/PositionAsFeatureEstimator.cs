using System;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    public sealed partial class PositionAsFeatureEstimator
    {
        /// <summary>Options of <see cref="PositionAsFeatureEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The trainer (or any estimator) to fit on <see cref="OutputFeatureColumnName"/>, e.g.
            /// <c>mlContext.BinaryClassification.Trainers.FastTree(labelColumnName: "Click", featureColumnName: "FeaturesWithPosition")</c>. Required.</summary>
            public IEstimator<ITransformer>? Trainer { get; set; }

            /// <summary>Feature column: a known-size vector of Single. Default <c>"Features"</c>.</summary>
            public string FeatureColumnName { get; set; } = "Features";

            /// <summary>Position column (Int32, Int64, Single or Double, 1-based), read only during Fit. Default <c>"Position"</c>.</summary>
            public string PositionColumnName { get; set; } = "Position";

            /// <summary>Column the trainer reads: the features with the position appended as the last slot. Default <c>"FeaturesWithPosition"</c>.</summary>
            public string OutputFeatureColumnName { get; set; } = "FeaturesWithPosition";

            /// <summary>The position written into the last slot by the fitted (serving) pipeline. Default 1: every item is scored as if shown
            /// at the top, the 1688 team's choice; any value gives the same ranking for a model additive in position (e.g. a logistic
            /// model), while for trees a value inside the training range (seen often) is safest.</summary>
            public float NeutralPosition { get; set; } = 1;
        }
    }

    /// <summary>
    /// Method 1 of position debiasing for any ML.NET trainer: the position enters the model as a feature during training, so the
    /// model attributes the position's share of the clicks to the position instead of to the items usually shown on top; the fitted
    /// pipeline replaces it with a constant neutral position, so serving needs no position column and every candidate is scored
    /// at the same position.
    /// </summary>
    /// <remarks>
    /// <para>Fit appends the true position (as Single) to <see cref="PositionAsFeatureEstimator.Options.FeatureColumnName"/> under
    /// <see cref="PositionAsFeatureEstimator.Options.OutputFeatureColumnName"/> and fits the trainer on it. The returned chain, all built-in ML.NET
    /// transforms, builds the same column with <see cref="PositionAsFeatureEstimator.Options.NeutralPosition"/> in the last slot (a one-slot
    /// selection of the feature vector mapped to the constant by an <c>Expression</c>, then <c>Concatenate</c>), then applies the
    /// trained model.</para>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes (the inner trainer) |
    /// | Input column data type | features: known-size vector of Single; position: Int32, Int64, Single or Double (training only) |
    /// | Output column data type | `FeaturesWithPosition` (vector of Single, one slot more) and the trainer's outputs |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank (and the trainer's package) |
    /// | Saved as | ML.NET `SelectFeaturesBasedOnCount` + `Expression` + `Concatenate` + the trainer's transformer |
    /// ]]></format>
    /// </remarks>
    public sealed partial class PositionAsFeatureEstimator : IEstimator<PositionAsFeatureTransformer>
    {
        private const string Slot = "__PositionAsFeatureSlot";
        private readonly MLContext _context;
        private readonly PositionAsFeatureEstimator.Options _options;
        private readonly IEstimator<ITransformer> _trainer;

        internal PositionAsFeatureEstimator(MLContext context, PositionAsFeatureEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _trainer = options.Trainer ?? throw new ArgumentException("PositionAsFeatureEstimator.Options.Trainer must be given.", nameof(options));
            if (!float.IsFinite(options.NeutralPosition))
                throw new ArgumentOutOfRangeException(nameof(PositionAsFeatureEstimator.Options.NeutralPosition), options.NeutralPosition, "NeutralPosition must be finite.");
            if (string.IsNullOrEmpty(options.OutputFeatureColumnName))
                throw new ArgumentException("OutputFeatureColumnName must be given.", nameof(options));
            if (options.OutputFeatureColumnName == options.FeatureColumnName)
                throw new ArgumentException("OutputFeatureColumnName must differ from FeatureColumnName.", nameof(options));
        }

        private IEstimator<ITransformer> TrainingFeatures()
            => _context.Transforms.Conversion.ConvertType(Slot, _options.PositionColumnName, DataKind.Single)
                .Append(_context.Transforms.Concatenate(_options.OutputFeatureColumnName, _options.FeatureColumnName, Slot))
                .Append(_context.Transforms.DropColumns(Slot));

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            Check.Column(inputSchema, _options.FeatureColumnName, "features", "a known-size vector of Single", Check.IsFloatVector);
            Check.Column(inputSchema, _options.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPosition);
            return _trainer.GetOutputSchema(TrainingFeatures().GetOutputSchema(inputSchema));
        }

        /// <summary>Fits the trainer on the features plus the true position; returns the serving chain with the neutral position.</summary>
        public PositionAsFeatureTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var fCol = Check.Column(input.Schema, o.FeatureColumnName, "features", "a known-size vector of Single",
                t => t is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single);
            var pCol = Check.Column(input.Schema, o.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPositionType);
            int dim = ((VectorDataViewType)fCol.Type).Size;

            // validate the positions (the trainer would silently learn from NaN or negative positions)
            long rows = 0;
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            using (var cursor = input.GetRowCursor(new[] { pCol }))
            {
                var pos = DebiasingColumns.PositionGetter(cursor, pCol);
                for (; cursor.MoveNext(); rows++)
                {
                    double p = pos();
                    PositionBuckets.Check(p, o.PositionColumnName, rows);
                    min = Math.Min(min, p);
                    max = Math.Max(max, p);
                }
            }
            if (rows == 0)
                throw new InvalidOperationException("The training data is empty: PositionAsFeature needs rows with features and a position.");

            using var log = new RankerLog(_context, "Debiasing");
            log.Info($"position as feature: training on {rows} rows, positions {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}, neutral position {o.NeutralPosition.ToString(CultureInfo.InvariantCulture)} at serving");
            if (o.NeutralPosition < min || o.NeutralPosition > max)
                log.Warning($"NeutralPosition {o.NeutralPosition} lies outside the training positions {min}..{max}; tree models extrapolate it as the nearest seen position.");

            var train = TrainingFeatures().Fit(input).Transform(input);
            var model = _trainer.Fit(train);

            // serving chain: a one-slot vector taken from the features, mapped to the neutral constant, appended as the last slot
            var template = new float[dim];
            template[0] = 1;
            var syntheticSchema = new SchemaDefinitionRow[] { new SchemaDefinitionRow { F = template } };
            var schemaDef = Microsoft.ML.Data.SchemaDefinition.Create(typeof(SchemaDefinitionRow));
            schemaDef[0].ColumnName = o.FeatureColumnName;
            schemaDef[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dim);
            var synthetic = _context.Data.LoadFromEnumerable(syntheticSchema, schemaDef);
            var select = _context.Transforms.FeatureSelection.SelectFeaturesBasedOnCount(Slot, o.FeatureColumnName, count: 1).Fit(synthetic);
            var serving = select
                .Append(_context.Transforms.Expression(Slot, $"x => {DebiasingColumns.Literal(o.NeutralPosition)}", Slot).Fit(select.Transform(synthetic)));
            var withConst = serving.Transform(input);
            var concat = _context.Transforms.Concatenate(o.OutputFeatureColumnName, o.FeatureColumnName, Slot).Fit(withConst);
            var drop = _context.Transforms.DropColumns(Slot).Fit(concat.Transform(withConst));
            var chain = new TransformerChain<ITransformer>(select, serving.LastTransformer, concat, drop, model);
            return new PositionAsFeatureTransformer(chain, model, o.NeutralPosition, rows);
        }

        private sealed class SchemaDefinitionRow
        {
            public float[] F { get; set; } = Array.Empty<float>();
        }
    }

    /// <summary>
    /// The fitted position-as-feature model: scores with <see cref="NeutralPosition"/> in place of the position (no position
    /// column needed). Saving writes built-in ML.NET transforms only.
    /// </summary>
    public sealed class PositionAsFeatureTransformer : WrappedTransformer
    {
        internal PositionAsFeatureTransformer(ITransformer chain, ITransformer model, float neutral, long rows)
            : base(chain)
        {
            Model = model;
            NeutralPosition = neutral;
            TrainingRows = rows;
        }

        /// <summary>The trained model (it reads the feature column with the position slot).</summary>
        public ITransformer Model { get; }

        /// <summary>The position written into the last feature slot at serving.</summary>
        public float NeutralPosition { get; }

        /// <summary>Training rows.</summary>
        public long TrainingRows { get; }
    }
}
