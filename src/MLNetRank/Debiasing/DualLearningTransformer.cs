using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Common;
using MLNetRank.Onnx;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The fitted <see cref="DualLearningEstimator"/>: <c>Transform</c> adds the ranker's score (<see cref="OutputColumnName"/>,
    /// a vector of one Single) computed from the features alone — no position is needed at serving. The learned examination
    /// curve is in <see cref="Propensities"/> and, as a transformer that adds it as a column, <see cref="PropensityTransformer"/>.
    /// Saving writes ML.NET's <see cref="OnnxTransformer"/> (the ranker as an ONNX graph): the zip loads with no MLNetRank code.
    /// Dispose it to delete its temporary ONNX file.
    /// </summary>
    public sealed class DualLearningTransformer : WrappedTransformer, IDisposable
    {
        private readonly OnnxModelFile _file;
        private readonly double[] _curve;
        private readonly double[] _rankerLoss;
        private readonly double[] _propensityLoss;

        internal DualLearningTransformer(OnnxTransformer inner, OnnxModelFile file, PositionPropensityTransformer propensity, DualLearningEstimator.Options options,
            DataViewSchema trainingSchema, double[] curve, List<double> rankerLoss, List<double> propensityLoss, int lists, int impressions)
            : base(inner)
        {
            _file = file;
            _curve = curve;
            _rankerLoss = rankerLoss.ToArray();
            _propensityLoss = propensityLoss.ToArray();
            PropensityTransformer = propensity;
            OutputColumnName = options.OutputColumnName;
            FeatureColumnName = options.FeatureColumnName;
            ListsUsed = lists;
            ImpressionsUsed = impressions;
            ExpectInputs(trainingSchema, new[] { (options.FeatureColumnName, "features") });
        }

        /// <summary>The score column added (a known-size vector of 1 Single).</summary>
        public string OutputColumnName { get; }

        /// <summary>The feature column the ranker reads.</summary>
        public string FeatureColumnName { get; }

        /// <summary>K: positions 1..K have their own propensity; later positions share the last one (K + 1 values).</summary>
        public int MaximumPosition => _curve.Length - 1;

        /// <summary>The learned examination propensity relative to position 1: element k-1 is θ_k / θ_1 (element 0 is 1; the last
        /// element is the pooled bucket of positions above K).</summary>
        public IReadOnlyList<double> Propensities => _curve;

        /// <summary>The learned propensity of a 1-based position (positions above K share the last bucket).</summary>
        public double GetPropensity(int position)
        {
            if (position < 1)
                throw new ArgumentOutOfRangeException(nameof(position), position, "Positions are 1-based.");
            return _curve[Math.Min(position, _curve.Length) - 1];
        }

        /// <summary>Adds the learned propensity of each row's position as a column (the estimator's <c>PropensityColumnName</c>),
        /// with <see cref="PropensityEstimationMethod.DualLearning"/> as its method: feed it to <c>EstimateClickRelevance</c> or
        /// <c>InversePropensityWeight</c> to train any ML.NET learner on the debiased labels. Saved as an ML.NET <c>Expression</c>.</summary>
        public PositionPropensityTransformer PropensityTransformer { get; }

        /// <summary>Mean ranker loss per clicked list, one value per epoch.</summary>
        public IReadOnlyList<double> RankerLoss => _rankerLoss;

        /// <summary>Mean propensity-model loss per clicked list, one value per epoch.</summary>
        public IReadOnlyList<double> PropensityLoss => _propensityLoss;

        /// <summary>Lists with at least one click (the training examples).</summary>
        public int ListsUsed { get; }

        /// <summary>Impressions in those lists.</summary>
        public int ImpressionsUsed { get; }

        /// <summary>Releases the ONNX session and deletes the temporary model file.</summary>
        public void Dispose()
        {
            ((OnnxTransformer)Inner).Dispose();
            _file.Dispose();
        }
    }
}
