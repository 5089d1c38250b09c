using System;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;

namespace MLNetRank.Gbdt
{
    /// <summary>The gradient-boosting library that trains the trees of <see cref="GbdtLeafEncodingEstimator"/>.</summary>
    public enum GbdtLeafTrainer
    {
        /// <summary>ML.NET's FastTree (Microsoft.ML.FastTree). The default.</summary>
        FastTree = 0,

        /// <summary>LightGBM through Microsoft.ML.LightGbm (native lib_lightgbm).</summary>
        LightGbm = 1,
    }

    /// <summary>The objective the trees are boosted on.</summary>
    public enum GbdtLeafObjective
    {
        /// <summary>Binary classification (log-loss); the label is Boolean, or Single with &gt; 0 meaning positive.</summary>
        Binary = 0,

        /// <summary>Least-squares regression; the label is Single.</summary>
        Regression = 1,
    }

    public sealed partial class GbdtLeafEncodingEstimator
    {
        /// <summary>
        /// Options of <see cref="GbdtLeafEncodingEstimator"/> (<c>mlContext.Ranker().Transforms.EncodeGbdtLeaves(options)</c>).
        /// The defaults work: 100 FastTree trees of 31 leaves on a binary label, fit on all the rows given to <c>Fit</c>.
        /// </summary>
        public sealed class Options
        {
            /// <summary>Output column of per-tree leaf ids: a known-size vector (one slot per tree, slot names
            /// <c>Tree007</c>) of <c>Key&lt;UInt32&gt;</c> whose cardinality is the largest leaf count of any tree. Default <c>"LeafIds"</c>.</summary>
            public string OutputColumnName { get; set; } = "LeafIds";

            /// <summary>Optional output column of the one-hot indicator over all leaves (a known-size vector of Single, one
            /// slot per leaf of every tree, slot names <c>Tree007Leaf12</c>), for linear learners. Default null (not produced).</summary>
            public string? IndicatorColumnName { get; set; }

            /// <summary>Input feature column: a known-size vector of Single. Default <c>"Features"</c>.</summary>
            public string FeatureColumnName { get; set; } = "Features";

            /// <summary>Label column the trees are trained on (Boolean or Single for <see cref="GbdtLeafObjective.Binary"/>,
            /// Single for <see cref="GbdtLeafObjective.Regression"/>). Default <c>"Label"</c>. Not needed when
            /// <see cref="ModelParameters"/> is given.</summary>
            public string LabelColumnName { get; set; } = "Label";

            /// <summary>Optional example-weight column (Single). Default null.</summary>
            public string? ExampleWeightColumnName { get; set; }

            /// <summary>Library that trains the trees. Default <see cref="GbdtLeafTrainer.FastTree"/>.</summary>
            public GbdtLeafTrainer Trainer { get; set; } = GbdtLeafTrainer.FastTree;

            /// <summary>Boosting objective. Default <see cref="GbdtLeafObjective.Binary"/>.</summary>
            public GbdtLeafObjective Objective { get; set; } = GbdtLeafObjective.Binary;

            /// <summary>Number of trees (boosting iterations). Default 100.</summary>
            public int NumberOfTrees { get; set; } = 100;

            /// <summary>Maximum number of leaves per tree. Default 31.</summary>
            public int NumberOfLeaves { get; set; } = 31;

            /// <summary>Learning rate (shrinkage). Default 0.1.</summary>
            public double LearningRate { get; set; } = 0.1;

            /// <summary>Minimum number of training rows in a leaf. Default 20.</summary>
            public int MinimumExampleCountPerLeaf { get; set; } = 20;

            /// <summary>
            /// Fraction of the fitting rows the trees are trained on, drawn by a seeded random split (1 = all rows). With
            /// <c>Fit(data)</c> and no <see cref="FittingData"/>, the trees see this fraction of <c>data</c>; a downstream learner in
            /// the same <c>EstimatorChain</c> still sees every row, so for strict leakage control give <see cref="FittingData"/> a
            /// split the downstream model does not train on. Default 1.
            /// </summary>
            public double TrainingFraction { get; set; } = 1.0;

            /// <summary>Optional separate data the trees are fit on instead of the data given to <c>Fit</c> (leakage control:
            /// e.g. an earlier time window). Its schema must hold the feature, label and weight columns. Default null.</summary>
            public IDataView? FittingData { get; set; }

            /// <summary>An already trained ML.NET tree ensemble (FastTree, FastForest or LightGBM model parameters, e.g. the
            /// <c>SubModel</c> of a calibrated binary model) to encode with instead of training one. Default null.</summary>
            public TreeEnsembleModelParameters? ModelParameters { get; set; }

            /// <summary>Seed of the trainer and of the <see cref="TrainingFraction"/> split; null draws one from the
            /// <see cref="MLContext"/> (same context seed and calls give the same trees). Default null.</summary>
            public int? Seed { get; set; }

            /// <summary>Threads the tree trainer uses; null lets it choose. LightGBM with a fixed seed and thread count is
            /// deterministic (its <c>Deterministic</c> flag is set). Default null.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Maximum threads of the fast encoder's batch API (<see cref="GbdtLeafEncodingTransformer.EncodeToArray"/>);
            /// null uses all cores. Default null.</summary>
            public int? MaximumDegreeOfParallelism { get; set; }

            /// <summary>Optional progress of <c>Fit</c>: stages <c>"training trees"</c>, <c>"building the encoder"</c>, <c>"done"</c>
            /// (or <c>"using the given tree ensemble"</c>), the same messages as on <see cref="MLContext.Log"/>. Default null.</summary>
            public IProgress<RankerProgress>? Progress { get; set; }

            internal GbdtLeafEncodingEstimator.Options Clone() => (GbdtLeafEncodingEstimator.Options)MemberwiseClone();
        }
    }
}
