using System;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Gbdt;

namespace Microsoft.ML
{
    /// <summary>GBDT leaf encoding in the MLNetRank catalog: <c>mlContext.Ranker().Transforms.EncodeGbdtLeaves(...)</c>.</summary>
    public static class GbdtCatalog
    {
        /// <summary>
        /// Trains a boosted tree ensemble on <paramref name="labelColumnName"/> and encodes
        /// <paramref name="featureColumnName"/> as the leaf each tree routes a row to: <paramref name="outputColumnName"/> is
        /// a vector of keys (one per tree) and, when <paramref name="indicatorColumnName"/> is given, a one-hot vector over
        /// all leaves is added too.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="outputColumnName">Leaf-id key vector column. Default <c>"LeafIds"</c>.</param>
        /// <param name="featureColumnName">Feature column (known-size vector of Single). Default <c>"Features"</c>.</param>
        /// <param name="labelColumnName">Label column (Boolean or Single). Default <c>"Label"</c>.</param>
        /// <param name="indicatorColumnName">Optional one-hot indicator column over all leaves. Default null.</param>
        /// <param name="numberOfTrees">Number of trees. Default 100.</param>
        /// <param name="numberOfLeaves">Maximum leaves per tree. Default 31.</param>
        /// <example>Runnable: <c>notebooks/02-gbdt-leaves.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static GbdtLeafEncodingEstimator EncodeGbdtLeaves(this RankerCatalog.RankerTransforms catalog,
            string outputColumnName = "LeafIds", string featureColumnName = "Features", string labelColumnName = "Label",
            string? indicatorColumnName = null, int numberOfTrees = 100, int numberOfLeaves = 31)
            => EncodeGbdtLeaves(catalog, new GbdtLeafEncodingEstimator.Options
            {
                OutputColumnName = outputColumnName,
                FeatureColumnName = featureColumnName,
                LabelColumnName = labelColumnName,
                IndicatorColumnName = indicatorColumnName,
                NumberOfTrees = numberOfTrees,
                NumberOfLeaves = numberOfLeaves,
            });

        /// <summary>GBDT leaf encoding with all options (trainer, objective, weights, leakage control, seed, ...).</summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="options">Options; see <see cref="GbdtLeafEncodingEstimator.Options"/> for the defaults.</param>
        /// <example>Runnable: <c>notebooks/02-gbdt-leaves.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static GbdtLeafEncodingEstimator EncodeGbdtLeaves(this RankerCatalog.RankerTransforms catalog, GbdtLeafEncodingEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new GbdtLeafEncodingEstimator(catalog.Context, options);
        }

        /// <summary>
        /// Encodes with an already trained ML.NET tree ensemble (FastTree, FastForest or LightGBM model parameters, e.g.
        /// <c>binaryTransformer.Model.SubModel</c>) instead of training one.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="modelParameters">The trained trees.</param>
        /// <param name="outputColumnName">Leaf-id key vector column. Default <c>"LeafIds"</c>.</param>
        /// <param name="featureColumnName">Feature column the trees were trained on. Default <c>"Features"</c>.</param>
        /// <param name="indicatorColumnName">Optional one-hot indicator column over all leaves. Default null.</param>
        /// <example>Runnable: <c>notebooks/02-gbdt-leaves.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static GbdtLeafEncodingEstimator EncodeGbdtLeaves(this RankerCatalog.RankerTransforms catalog, TreeEnsembleModelParameters modelParameters,
            string outputColumnName = "LeafIds", string featureColumnName = "Features", string? indicatorColumnName = null)
        {
            if (modelParameters is null)
                throw new ArgumentNullException(nameof(modelParameters));
            return EncodeGbdtLeaves(catalog, new GbdtLeafEncodingEstimator.Options
            {
                ModelParameters = modelParameters,
                OutputColumnName = outputColumnName,
                FeatureColumnName = featureColumnName,
                IndicatorColumnName = indicatorColumnName,
            });
        }

        /// <summary>
        /// GBDT+LR (He et al., 2014) as one pipeline: the leaf one-hot indicator of <paramref name="encoding"/>'s trees
        /// (named <c>GbdtLeafIndicators</c> unless the options name it) concatenated with the raw features (NaN replaced by
        /// the column mean, then mean-variance normalized: column <c>GbdtLrRawFeatures</c>) into <c>GbdtLrFeatures</c>,
        /// cached, then
        /// L-BFGS logistic regression on <paramref name="labelColumnName"/> (Boolean). Give
        /// <see cref="GbdtLeafEncodingEstimator.Options.FittingData"/> to fit the trees on a split the regression does not see.
        /// </summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="encoding">Options of the tree encoding (trees, leaves, trainer, fitting data, ...).</param>
        /// <param name="labelColumnName">Boolean label of the logistic regression. Default <c>"Label"</c>.</param>
        /// <param name="l2Regularization">L2 weight of the logistic regression. Default 1.</param>
        /// <example>Runnable: <c>notebooks/02-gbdt-leaves.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>tests/MLNetRank.Tests/Gbdt/GbdtPipelineTests.cs</c> (<c>dotnet test</c>).</example>
        public static EstimatorChain<BinaryPredictionTransformer<CalibratedModelParametersBase<LinearBinaryModelParameters, PlattCalibrator>>> GbdtLogisticRegression(
            this RankerCatalog.RankerTrainers catalog, GbdtLeafEncodingEstimator.Options encoding, string labelColumnName = "Label", float l2Regularization = 1f)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (encoding is null)
                throw new ArgumentNullException(nameof(encoding));
            var ml = catalog.Context;
            var o = encoding.Clone();
            o.IndicatorColumnName ??= "GbdtLeafIndicators";
            const string lrFeatures = "GbdtLrFeatures", lrRaw = "GbdtLrRawFeatures";
            return new GbdtLeafEncodingEstimator(ml, o)
                .Append(ml.Transforms.ReplaceMissingValues(lrRaw, o.FeatureColumnName, Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean))
                .Append(ml.Transforms.NormalizeMeanVariance(lrRaw))
                .Append(ml.Transforms.Concatenate(lrFeatures, o.IndicatorColumnName, lrRaw))
                .AppendCacheCheckpoint(ml)
                .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
                {
                    LabelColumnName = labelColumnName,
                    FeatureColumnName = lrFeatures,
                    L2Regularization = l2Regularization,
                }));
        }
    }
}
