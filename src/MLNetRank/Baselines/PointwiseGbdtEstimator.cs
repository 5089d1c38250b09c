using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MLNetRank.Common;

namespace MLNetRank.Baselines
{
    /// <summary>Which ML.NET gradient-boosting trainer to use.</summary>
    public enum GbdtTrainerKind
    {
        /// <summary>ML.NET's FastTree (Microsoft.ML.FastTree).</summary>
        FastTree,

        /// <summary>LightGBM through Microsoft.ML.LightGbm.</summary>
        LightGbm,
    }

    /// <summary>
    /// V1 of the 1688 live-stream ranker: a point-wise gradient-boosted tree model of click on statistical
    /// features, trained with sample weights that trade click against conversion and stay time
    /// (<see cref="EngagementWeightEstimator"/>). The fitted model needs only the feature column at serving.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes |
    /// | Input column data type | features: known-size vector of Single; labels: Boolean or Single; stay time: Single |
    /// | Output column data type | `Score` (Single), `Probability` (Single), `PredictedLabel` (Boolean) |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank (Microsoft.ML.FastTree / Microsoft.ML.LightGbm come with it) |
    /// | Saved as | ML.NET `BinaryPredictionTransformer` over FastTree or LightGBM calibrated model parameters |
    /// ]]></format>
    /// </remarks>
    public sealed class PointwiseGbdtEstimator : IEstimator<PointwiseGbdtTransformer>
    {
        /// <summary>Options of <see cref="PointwiseGbdtEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>Feature column: a known-size vector of Single. Default <c>StatFeatures</c>.</summary>
            public string FeatureColumnName { get; set; } = "StatFeatures";

            /// <summary>Trainer. Default <see cref="GbdtTrainerKind.FastTree"/>.</summary>
            public GbdtTrainerKind Trainer { get; set; } = GbdtTrainerKind.FastTree;

            /// <summary>Sample weighting (its click column is the label); null trains an unweighted click model. Default: weights on.</summary>
            public EngagementWeightEstimator.Options? Weighting { get; set; } = new EngagementWeightEstimator.Options();

            /// <summary>Click label column used when <see cref="Weighting"/> is null. Default <c>Click</c>.</summary>
            public string LabelColumnName { get; set; } = "Click";

            /// <summary>Number of trees. Default 100.</summary>
            public int NumberOfTrees { get; set; } = 100;

            /// <summary>Maximum leaves per tree. Default 31.</summary>
            public int NumberOfLeaves { get; set; } = 31;

            /// <summary>Minimum training examples per leaf. Default 20.</summary>
            public int MinimumExampleCountPerLeaf { get; set; } = 20;

            /// <summary>Learning rate (shrinkage). Default 0.1.</summary>
            public double LearningRate { get; set; } = 0.1;

            /// <summary>Threads for training; null lets the trainer choose. Default null.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Seed; null draws one from the <see cref="MLContext"/>. Default null.</summary>
            public int? Seed { get; set; }

            /// <summary>The one check of these options (called by the estimator's constructor; the weighting's own checks
            /// included); column checks need the data and live in <c>GetOutputSchema</c>/<c>Fit</c>.</summary>
            internal void Validate()
            {
                if (!Enum.IsDefined(Trainer))
                    throw new ArgumentOutOfRangeException(nameof(Trainer), $"Trainer must be one of {string.Join(", ", Enum.GetNames<GbdtTrainerKind>())}; got {(int)Trainer}.");
                if (NumberOfTrees < 1) throw new ArgumentOutOfRangeException(nameof(NumberOfTrees), "NumberOfTrees must be >= 1.");
                if (NumberOfLeaves < 2) throw new ArgumentOutOfRangeException(nameof(NumberOfLeaves), "NumberOfLeaves must be >= 2.");
                if (MinimumExampleCountPerLeaf < 1) throw new ArgumentOutOfRangeException(nameof(MinimumExampleCountPerLeaf), "MinimumExampleCountPerLeaf must be >= 1.");
                if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), "LearningRate must be a finite number > 0.");
                if (Weighting is not null)
                {
                    Weighting.Validate();
                    if (Weighting.ClickColumnName != LabelColumnName)
                        throw new ArgumentException(
                            $"LabelColumnName is '{LabelColumnName}' but Weighting.ClickColumnName is '{Weighting.ClickColumnName}': " +
                            "with weighting, the click column of the weighting is the label; set both to the same column.", "options");
                }
            }
        }

        private readonly MLContext _context;
        private readonly Options _options;

        internal PointwiseGbdtEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
        }

        private string LabelColumn => _options.Weighting?.ClickColumnName ?? _options.LabelColumnName;

        private const string WeightColumn = "__PointwiseGbdtWeight";
        private const string LabelAsBool = "__PointwiseGbdtLabel";

        private IEstimator<ITransformer> Trainer(int seed, string? weight)
        {
            var o = _options;
            if (o.Trainer == GbdtTrainerKind.FastTree)
            {
                return _context.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
                {
                    LabelColumnName = LabelAsBool,
                    FeatureColumnName = o.FeatureColumnName,
                    ExampleWeightColumnName = weight,
                    NumberOfTrees = o.NumberOfTrees,
                    NumberOfLeaves = o.NumberOfLeaves,
                    MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf,
                    LearningRate = o.LearningRate,
                    NumberOfThreads = o.NumberOfThreads,
                    Seed = seed,
                });
            }
            return _context.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                LabelColumnName = LabelAsBool,
                FeatureColumnName = o.FeatureColumnName,
                ExampleWeightColumnName = weight,
                NumberOfIterations = o.NumberOfTrees,
                NumberOfLeaves = o.NumberOfLeaves,
                MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf,
                LearningRate = o.LearningRate,
                NumberOfThreads = o.NumberOfThreads,
                Seed = seed,
                Verbose = false,
                Silent = true,
            });
        }

        private void CheckSchema(SchemaShape input)
        {
            Check.Column(input, _options.FeatureColumnName, "features", "a known-size vector of Single", Check.IsFloatVector);
            Check.Column(input, LabelColumn, "click label", "Boolean or Single (0/1)", Check.IsBinaryLabel);
        }

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            CheckSchema(inputSchema);
            var withLabel = _context.Transforms.CopyColumns(LabelAsBool, LabelColumn).GetOutputSchema(inputSchema);
            return Trainer(0, null).GetOutputSchema(withLabel);
        }

        /// <summary>Trains the weighted click model.</summary>
        public PointwiseGbdtTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            Check.Column(input.Schema, _options.FeatureColumnName, "features", "a known-size vector of Single",
                t => t is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single);
            Check.Column(input.Schema, LabelColumn, "click label", "Boolean or Single (0/1)",
                t => t == BooleanDataViewType.Instance || t == NumberDataViewType.Single);
            int seed = ContextSeed.Resolve(_context, _options.Seed);
            using var log = new RankerLog(_context, "PointwiseGbdt");

            IDataView data = input;
            string? weight = null;
            if (_options.Weighting is not null)
            {
                var w = _options.Weighting;
                var wOptions = new EngagementWeightEstimator.Options
                {
                    OutputColumnName = WeightColumn,
                    ClickColumnName = w.ClickColumnName,
                    BuyColumnName = w.BuyColumnName,
                    StayTimeColumnName = w.StayTimeColumnName,
                    NonClickWeight = w.NonClickWeight,
                    ClickWeight = w.ClickWeight,
                    BuyWeight = w.BuyWeight,
                    StayTimeWeight = w.StayTimeWeight,
                };
                data = new EngagementWeightEstimator(_context, wOptions).Fit(data).Transform(data);
                weight = WeightColumn;
            }
            var labelType = input.Schema[LabelColumn].Type;
            data = labelType == BooleanDataViewType.Instance
                ? _context.Transforms.CopyColumns(LabelAsBool, LabelColumn).Fit(data).Transform(data)
                : _context.Transforms.Expression(LabelAsBool, "x => x > 0", LabelColumn).Fit(data).Transform(data);

            var stats = ScanTrainingData(data, weight);
            log.Info($"training {_options.Trainer} on {stats.Rows} rows ({stats.Positives} clicks), {_options.NumberOfTrees} trees x {_options.NumberOfLeaves} leaves, seed {seed}");
            var trainer = Trainer(seed, weight);
            var model = _options.Trainer == GbdtTrainerKind.LightGbm ? LightGbmGate.Fit(() => trainer.Fit(data)) : trainer.Fit(data);
            log.Info("training done");
            return new PointwiseGbdtTransformer(model, _options.Trainer, stats.Rows, stats.Positives);
        }

        private (long Rows, long Positives) ScanTrainingData(IDataView data, string? weight)
        {
            var feat = data.Schema[_options.FeatureColumnName];
            var label = data.Schema[LabelAsBool];
            string? stayName = weight is null ? null : _options.Weighting!.StayTimeColumnName;
            var cols = new System.Collections.Generic.List<DataViewSchema.Column> { feat, label };
            if (weight is not null) cols.Add(data.Schema[weight]);
            if (stayName is not null) cols.Add(data.Schema[stayName]);
            long rows = 0, pos = 0;
            using var cursor = data.GetRowCursor(cols);
            var fGet = cursor.GetGetter<VBuffer<float>>(feat);
            var lGet = cursor.GetGetter<bool>(label);
            ValueGetter<float>? wGet = weight is null ? null : cursor.GetGetter<float>(data.Schema[weight]);
            ValueGetter<float>? sGet = stayName is null ? null : cursor.GetGetter<float>(data.Schema[stayName]);
            float stay = 0;
            VBuffer<float> f = default;
            bool l = false;
            float wv = 0;
            while (cursor.MoveNext())
            {
                fGet(ref f);
                foreach (var v in f.GetValues())
                {
                    if (float.IsInfinity(v))
                        throw new InvalidOperationException($"Column '{_options.FeatureColumnName}' has an infinite value at row {rows}; expected finite numbers (NaN is allowed and treated as missing by the trees).");
                }
                lGet(ref l);
                if (l) pos++;
                if (sGet is not null)
                {
                    sGet(ref stay);
                    if (!(stay >= 0) || float.IsInfinity(stay))
                        throw new InvalidOperationException($"Column '{stayName}' has the value {stay} at row {rows}; expected a finite stay time in seconds >= 0.");
                }
                if (wGet is not null)
                {
                    wGet(ref wv);
                    if (!float.IsFinite(wv) || wv < 0)
                        throw new InvalidOperationException($"The sample weight at row {rows} is {wv}: check the stay-time column '{_options.Weighting!.StayTimeColumnName}' (expected finite seconds >= 0).");
                }
                rows++;
            }
            if (rows == 0)
                throw new InvalidOperationException("The training data is empty: PointwiseGbdt needs rows with a click label and features.");
            if (pos == 0 || pos == rows)
                throw new InvalidOperationException($"The click label column '{LabelColumn}' has a single class ({(pos == 0 ? "no" : "only")} positives in {rows} rows); a click model needs both.");
            return (rows, pos);
        }
    }

    /// <summary>
    /// The fitted V1 ranker: scores <c>Score</c>, <c>Probability</c> and <c>PredictedLabel</c> from the feature column.
    /// Saving writes the inner ML.NET <c>BinaryPredictionTransformer</c>: loading needs no MLNetRank code.
    /// </summary>
    public sealed class PointwiseGbdtTransformer : WrappedTransformer
    {
        internal PointwiseGbdtTransformer(ITransformer model, GbdtTrainerKind trainer, long rows, long positives)
            : base(model)
        {
            Trainer = trainer;
            TrainingRows = rows;
            TrainingPositives = positives;
        }

        /// <summary>The trainer that produced the trees.</summary>
        public GbdtTrainerKind Trainer { get; }

        /// <summary>Training rows seen.</summary>
        public long TrainingRows { get; }

        /// <summary>Clicked training rows seen.</summary>
        public long TrainingPositives { get; }
    }
}
