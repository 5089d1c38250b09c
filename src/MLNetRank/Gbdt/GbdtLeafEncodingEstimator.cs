using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MLNetRank.Common;
using MLNetRank.Onnx;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// Encodes statistical features as the leaves of a boosted tree ensemble, as GBDT+LR (He et al., 2014) and the
    /// 1688 final ranker ("GBDT-encoded statistical features") use them. <see cref="Fit"/> trains the trees (FastTree or
    /// LightGBM) on the label — or takes an already trained ensemble — and returns a <see cref="GbdtLeafEncodingTransformer"/>.
    /// </summary>
    /// <remarks>
    /// <list type="table">
    /// <listheader><term>Estimator characteristic</term><description>Value</description></listheader>
    /// <item><term>Needs training data?</term><description>Yes, unless <see cref="GbdtLeafEncodingEstimator.Options.ModelParameters"/> is given (then only the schema).</description></item>
    /// <item><term>Input columns</term><description>Features: known-size vector of Single; Label: Boolean or Single (binary), Single (regression); optional weight: Single.</description></item>
    /// <item><term>Output columns</term><description>Leaf ids: known-size vector (one slot per tree) of Key&lt;UInt32&gt; with cardinality = the largest leaf count; optional indicator: known-size vector of Single over all leaves.</description></item>
    /// <item><term>Required packages</term><description>Training: MLNetRank, Microsoft.ML.FastTree / Microsoft.ML.LightGbm. Serving the saved zip: Microsoft.ML, Microsoft.ML.OnnxTransformer + Microsoft.ML.OnnxRuntime.</description></item>
    /// <item><term>Saved as</term><description>Built-in transformers: OnnxTransformer (the trees as an ONNX TreeEnsembleRegressor), ValueToKeyMapping, ValueMapping, KeyToVector, ColumnSelecting. Loads without MLNetRank.</description></item>
    /// </list>
    /// Missing values: a NaN feature follows the trees' missing-value rule as ML.NET evaluates it (FastTree: NaN goes to
    /// the right, "greater than" child; LightGBM: its learned default direction). Infinite features compare as numbers.
    /// Fitting rejects an infinite feature or a non-finite label, empty data and a single-class binary label.
    /// </remarks>
    public sealed partial class GbdtLeafEncodingEstimator : IEstimator<GbdtLeafEncodingTransformer>
    {
        private readonly MLContext _context;
        private readonly GbdtLeafEncodingEstimator.Options _options;

        internal GbdtLeafEncodingEstimator(MLContext context, GbdtLeafEncodingEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            Validate(options);
            _options = options.Clone();
        }

        private static void Validate(GbdtLeafEncodingEstimator.Options o)
        {
            if (string.IsNullOrEmpty(o.OutputColumnName))
                throw new ArgumentException("The output column name must be given.", nameof(o.OutputColumnName));
            if (string.IsNullOrEmpty(o.FeatureColumnName))
                throw new ArgumentException("The feature column name must be given.", nameof(o.FeatureColumnName));
            if (o.IndicatorColumnName == o.OutputColumnName)
                throw new ArgumentException($"The indicator column and the leaf-id column are both named '{o.OutputColumnName}'.", nameof(o.IndicatorColumnName));
            if (o.ModelParameters is null)
            {
                if (string.IsNullOrEmpty(o.LabelColumnName))
                    throw new ArgumentException("The label column name must be given when the trees are trained.", nameof(o.LabelColumnName));
                if (o.NumberOfTrees < 1)
                    throw new ArgumentOutOfRangeException(nameof(o.NumberOfTrees), o.NumberOfTrees, "At least one tree is needed.");
                if (o.NumberOfLeaves < 2)
                    throw new ArgumentOutOfRangeException(nameof(o.NumberOfLeaves), o.NumberOfLeaves, "A tree needs at least 2 leaves.");
                if (!(o.LearningRate > 0) || double.IsInfinity(o.LearningRate))
                    throw new ArgumentOutOfRangeException(nameof(o.LearningRate), o.LearningRate, "The learning rate must be a positive finite number.");
                if (o.MinimumExampleCountPerLeaf < 1)
                    throw new ArgumentOutOfRangeException(nameof(o.MinimumExampleCountPerLeaf), o.MinimumExampleCountPerLeaf, "Must be at least 1.");
                if (!(o.TrainingFraction > 0 && o.TrainingFraction <= 1))
                    throw new ArgumentOutOfRangeException(nameof(o.TrainingFraction), o.TrainingFraction, "The training fraction must be in (0, 1].");
                if (!Enum.IsDefined(o.Trainer) || !Enum.IsDefined(o.Objective))
                    throw new ArgumentOutOfRangeException(nameof(o.Trainer), $"Unknown trainer {o.Trainer} / objective {o.Objective}.");
            }
            else if (o.ModelParameters is not TreeEnsembleModelParametersBasedOnRegressionTree
                     && o.ModelParameters is not TreeEnsembleModelParametersBasedOnQuantileRegressionTree)
            {
                throw new ArgumentException($"Unsupported tree model parameters {o.ModelParameters.GetType().Name}.", nameof(o.ModelParameters));
            }
            if (o.NumberOfThreads is < 1)
                throw new ArgumentOutOfRangeException(nameof(o.NumberOfThreads), o.NumberOfThreads, "Must be at least 1.");
            if (o.MaximumDegreeOfParallelism is < 1)
                throw new ArgumentOutOfRangeException(nameof(o.MaximumDegreeOfParallelism), o.MaximumDegreeOfParallelism, "Must be at least 1.");
        }

        /// <summary>Checks the input columns and returns the input shape plus the output column(s).</summary>
        /// <param name="inputSchema">Shape of the input data.</param>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            if (inputSchema is null)
                throw new ArgumentNullException(nameof(inputSchema));
            Check.Column(inputSchema, _options.FeatureColumnName, "feature", "a known-size vector of Single", Check.IsFloatVector);
            if (_options.ModelParameters is null && _options.FittingData is null)
            {
                CheckLabel(inputSchema);
                if (!string.IsNullOrEmpty(_options.ExampleWeightColumnName))
                    Check.Column(inputSchema, _options.ExampleWeightColumnName!, "example weight", "Single", Check.IsFloatScalar);
            }
            // SchemaShape columns cannot be built by third parties: borrow the shapes of built-in estimators that produce the
            // same kinds of columns (a vector of keys; a vector of Single).
            var columns = inputSchema.Where(c => c.Name != _options.OutputColumnName && c.Name != _options.IndicatorColumnName).ToList();
            var keyShape = _context.Transforms.Conversion.MapValueToKey(_options.OutputColumnName, _options.FeatureColumnName).GetOutputSchema(inputSchema);
            columns.Add(keyShape.First(c => c.Name == _options.OutputColumnName));
            if (!string.IsNullOrEmpty(_options.IndicatorColumnName))
            {
                // The indicator is MapKeyToVector's count vector over a key: a known-size Single vector (slot names are added at Fit).
                var vecShape = _context.Transforms.Conversion.MapKeyToVector(_options.IndicatorColumnName, _options.OutputColumnName, outputCountVector: true)
                    .GetOutputSchema(keyShape);
                columns.Add(vecShape.First(c => c.Name == _options.IndicatorColumnName));
            }
            return new SchemaShape(columns);
        }

        private void CheckLabel(SchemaShape schema)
        {
            if (_options.Objective == GbdtLeafObjective.Binary)
                Check.Column(schema, _options.LabelColumnName, "label", "Boolean or Single (binary objective)", Check.IsBinaryLabel);
            else
                Check.Column(schema, _options.LabelColumnName, "label", "Single (regression objective)", Check.IsFloatScalar);
        }

        internal static DataViewSchema.Column CheckFeatureColumn(DataViewSchema schema, string name, int? size)
        {
            var col = Check.Column(schema, name, "feature", size is null ? "a known-size vector of Single" : $"a vector of {size} Single values",
                t => t is VectorDataViewType v && v.ItemType == NumberDataViewType.Single && v.IsKnownSize && (size is null || v.Size == size));
            return col;
        }

        /// <summary>Trains the trees (or takes the given ones) and builds the encoder and its saveable chain.</summary>
        /// <param name="input">Training data (the trees are fit on it, or on <see cref="GbdtLeafEncodingEstimator.Options.FittingData"/>).</param>
        public GbdtLeafEncodingTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            using var log = new RankerLog(_context, "Gbdt");
            var featureCol = CheckFeatureColumn(input.Schema, o.FeatureColumnName, null);
            int featureCount = ((VectorDataViewType)featureCol.Type).Size;

            TreeEnsembleModelParameters model;
            if (o.ModelParameters is not null)
            {
                model = o.ModelParameters;
                log.Progress(o.Progress, "using the given tree ensemble", 0, "GBDT leaf encoding: using the given tree ensemble.");
            }
            else
            {
                model = Train(input, log);
            }

            var trees = TreesOf(model);
            int maxFeature = -1;
            foreach (var tree in trees)
            {
                for (int i = 0; tree.NumberOfLeaves > 1 && i < tree.NumberOfNodes; i++)
                {
                    if (tree.CategoricalSplitFlags[i])
                        maxFeature = Math.Max(maxFeature, tree.GetCategoricalSplitFeaturesAt(i).DefaultIfEmpty(-1).Max());
                    else
                        maxFeature = Math.Max(maxFeature, tree.NumericalSplitFeatureIndexes[i]);
                }
            }
            if (maxFeature >= featureCount)
                throw new ArgumentOutOfRangeException(o.FeatureColumnName,
                    $"The feature column '{o.FeatureColumnName}' has {featureCount} slots but the trees split on feature {maxFeature}.");

            log.Progress(o.Progress, "building the encoder", null, $"GBDT leaf encoding: {trees.Count} trees, {trees.Sum(t => t.NumberOfLeaves)} leaves; building the saved chain and the fast encoder.");
            // ML.NET's featurizer is the reference evaluator: it tells the NaN direction of every split node.
            var schemaOnly = FeatureRows.Load(_context, featureCount, o.FeatureColumnName, Array.Empty<float[]>());
            const string probeLeaves = "__GbdtProbeLeaves";
            var featurizer = BuildFeaturizer(_context, model, o.FeatureColumnName, probeLeaves).Fit(schemaOnly);
            var nanLeft = NanRuleProbe.Learn(_context, featurizer, trees, featureCount, o.FeatureColumnName, probeLeaves);
            var encoder = GbdtLeafEncoder.Create(trees, featureCount, nanLeft);
            var inner = GbdtSavedForm.Build(_context, trees, encoder, o, out var onnxFile);
            log.Progress(o.Progress, "done", 1, "GBDT leaf encoding: fitted.");
            return new GbdtLeafEncodingTransformer(inner, encoder, model, o.FeatureColumnName, o.OutputColumnName, o.IndicatorColumnName, o.MaximumDegreeOfParallelism, onnxFile);
        }

        internal static IReadOnlyList<RegressionTreeBase> TreesOf(TreeEnsembleModelParameters model) => model switch
        {
            TreeEnsembleModelParametersBasedOnRegressionTree r => r.TrainedTreeEnsemble.Trees.Cast<RegressionTreeBase>().ToList(),
            TreeEnsembleModelParametersBasedOnQuantileRegressionTree q => q.TrainedTreeEnsemble.Trees.Cast<RegressionTreeBase>().ToList(),
            _ => throw new ArgumentException($"Unsupported tree model parameters {model.GetType().Name}."),
        };

        internal static PretrainedTreeFeaturizationEstimator BuildFeaturizer(MLContext context, TreeEnsembleModelParameters model, string featureColumn, string leavesColumn)
            => context.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = featureColumn,
                ModelParameters = model,
                TreesColumnName = null,
                PathsColumnName = null,
                LeavesColumnName = leavesColumn,
            });

        private TreeEnsembleModelParameters Train(IDataView input, RankerLog log)
        {
            var o = _options;
            var data = o.FittingData ?? input;
            string which = o.FittingData is null ? "the input data" : "FittingData";
            var featureCol = CheckFeatureColumn(data.Schema, o.FeatureColumnName, null);
            var labelCol = o.Objective == GbdtLeafObjective.Binary
                ? Check.Column(data.Schema, o.LabelColumnName, "label", "Boolean or Single (binary objective)",
                    t => t == BooleanDataViewType.Instance || t == NumberDataViewType.Single)
                : Check.Column(data.Schema, o.LabelColumnName, "label", "Single (regression objective)", t => t == NumberDataViewType.Single);
            DataViewSchema.Column? weightCol = string.IsNullOrEmpty(o.ExampleWeightColumnName) ? null
                : Check.Column(data.Schema, o.ExampleWeightColumnName!, "example weight", "Single", t => t == NumberDataViewType.Single);

            int seed = ContextSeed.Resolve(_context, o.Seed);
            if (o.TrainingFraction < 1)
                data = _context.Data.TrainTestSplit(data, testFraction: 1 - o.TrainingFraction, seed: seed).TrainSet;

            // One pass: count rows and classes, reject what the trainers would mishandle.
            long rows = 0, positives = 0;
            using (var cursor = data.GetRowCursor(weightCol is null ? new[] { featureCol, labelCol } : new[] { featureCol, labelCol, weightCol.Value }))
            {
                var fGet = cursor.GetGetter<VBuffer<float>>(featureCol);
                ValueGetter<bool>? bGet = labelCol.Type == BooleanDataViewType.Instance ? cursor.GetGetter<bool>(labelCol) : null;
                ValueGetter<float>? lGet = bGet is null ? cursor.GetGetter<float>(labelCol) : null;
                ValueGetter<float>? wGet = weightCol is null ? null : cursor.GetGetter<float>(weightCol.Value);
                var fv = default(VBuffer<float>);
                bool b = false;
                float l = 0, w = 0;
                while (cursor.MoveNext())
                {
                    fGet(ref fv);
                    foreach (var v in fv.GetValues())
                    {
                        if (float.IsInfinity(v))
                            throw new InvalidOperationException(
                                $"Column '{o.FeatureColumnName}' has an infinite value at row {rows} of {which}; the trees are fit on finite features " +
                                "(NaN is allowed and means missing).");
                    }
                    bool positive;
                    if (bGet is not null)
                    {
                        bGet(ref b);
                        positive = b;
                    }
                    else
                    {
                        lGet!(ref l);
                        Check.Finite(l, o.LabelColumnName, rows);
                        positive = l > 0;
                    }
                    if (wGet is not null)
                    {
                        wGet(ref w);
                        Check.Finite(w, o.ExampleWeightColumnName!, rows);
                        if (w < 0)
                            throw new InvalidOperationException($"Column '{o.ExampleWeightColumnName}' has a negative weight ({w}) at row {rows}.");
                    }
                    if (positive)
                        positives++;
                    rows++;
                }
            }
            if (rows == 0)
                throw new InvalidOperationException($"No rows to fit the trees on ({which}{(o.TrainingFraction < 1 ? $", training fraction {o.TrainingFraction}" : "")}).");
            if (o.Objective == GbdtLeafObjective.Binary && (positives == 0 || positives == rows))
                throw new InvalidOperationException(
                    $"The label column '{o.LabelColumnName}' has a single class ({(positives == 0 ? "all negative" : "all positive")} over {rows} rows); " +
                    "a binary objective needs both classes.");

            string label = o.LabelColumnName;
            if (o.Objective == GbdtLeafObjective.Binary && labelCol.Type == NumberDataViewType.Single)
            {
                label = "__GbdtLabel";
                data = _context.Transforms.Expression(label, "x => x > 0", o.LabelColumnName).Fit(data).Transform(data);
            }

            log.Progress(o.Progress, "training trees", 0,
                $"GBDT leaf encoding: training {o.NumberOfTrees} {o.Trainer} trees of {o.NumberOfLeaves} leaves ({o.Objective}) on {rows} rows, seed {seed}.");
            var bc = _context.BinaryClassification.Trainers;
            var rc = _context.Regression.Trainers;
            string? weight = o.ExampleWeightColumnName;
            TreeEnsembleModelParameters model = (o.Trainer, o.Objective) switch
            {
                (GbdtLeafTrainer.FastTree, GbdtLeafObjective.Binary) => bc.FastTree(new FastTreeBinaryTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = o.FeatureColumnName, ExampleWeightColumnName = weight,
                    NumberOfTrees = o.NumberOfTrees, NumberOfLeaves = o.NumberOfLeaves, LearningRate = o.LearningRate,
                    MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf, Seed = seed, NumberOfThreads = o.NumberOfThreads,
                }).Fit(data).Model.SubModel,
                (GbdtLeafTrainer.FastTree, GbdtLeafObjective.Regression) => rc.FastTree(new FastTreeRegressionTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = o.FeatureColumnName, ExampleWeightColumnName = weight,
                    NumberOfTrees = o.NumberOfTrees, NumberOfLeaves = o.NumberOfLeaves, LearningRate = o.LearningRate,
                    MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf, Seed = seed, NumberOfThreads = o.NumberOfThreads,
                }).Fit(data).Model,
                (GbdtLeafTrainer.LightGbm, GbdtLeafObjective.Binary) => LightGbmGate.Fit(() => bc.LightGbm(new LightGbmBinaryTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = o.FeatureColumnName, ExampleWeightColumnName = weight,
                    NumberOfIterations = o.NumberOfTrees, NumberOfLeaves = o.NumberOfLeaves, LearningRate = o.LearningRate,
                    MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf, Seed = seed, NumberOfThreads = o.NumberOfThreads,
                    Deterministic = true, Silent = true,
                }).Fit(data)).Model.SubModel,
                (GbdtLeafTrainer.LightGbm, GbdtLeafObjective.Regression) => LightGbmGate.Fit(() => rc.LightGbm(new LightGbmRegressionTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = o.FeatureColumnName, ExampleWeightColumnName = weight,
                    NumberOfIterations = o.NumberOfTrees, NumberOfLeaves = o.NumberOfLeaves, LearningRate = o.LearningRate,
                    MinimumExampleCountPerLeaf = o.MinimumExampleCountPerLeaf, Seed = seed, NumberOfThreads = o.NumberOfThreads,
                    Deterministic = true, Silent = true,
                }).Fit(data)).Model,
                // Unreachable: Validate (called by the constructor) rejects undefined trainers and objectives.
                _ => throw new ArgumentOutOfRangeException(nameof(o.Trainer), $"Unknown trainer {o.Trainer} / objective {o.Objective}."),
            };
            return model;
        }
    }
}
