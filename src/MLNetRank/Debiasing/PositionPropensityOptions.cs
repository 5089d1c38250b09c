using System;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>How <see cref="PositionPropensityEstimator"/> estimates the examination propensity of each position.</summary>
    public enum PropensityEstimationMethod
    {
        /// <summary>
        /// Click-through rate by position on randomized lists (swap / uniformly random traffic) relative to position 1:
        /// θ_k / θ_1 = CTR_k / CTR_1. Unbiased when the items shown at every position come from the same distribution,
        /// which randomization guarantees. Uses only the rows whose randomized-flag column is true, or every row when no
        /// flag column is given (the whole log is randomized, e.g. Open Bandit's <c>random</c> policy).
        /// </summary>
        Randomization,

        /// <summary>
        /// Regression EM (Wang et al., "Position Bias Estimation for Unbiased Learning to Rank in Personal Search", WSDM 2018)
        /// on ordinary, non-randomized logs: P(click) = θ(position) · γ(relevance), fitted by expectation-maximization. The
        /// relevance γ is either one parameter per id of <see cref="PositionPropensityEstimator.Options.RelevanceGroupColumnName"/>
        /// (their section 4.1: an id per query-document or per item) or a logistic regression on
        /// <see cref="PositionPropensityEstimator.Options.FeatureColumnName"/> (their regression EM, section 4.2, with a logistic
        /// relevance model instead of GBDT). The result needs the same item to be seen at several positions (or features
        /// that generalize across positions): without that variation θ and γ are not identifiable.
        /// </summary>
        RegressionEm,

        /// <summary>
        /// The dual learning algorithm (Ai et al., SIGIR 2018): the curve learned jointly with a ranker by
        /// <c>mlContext.Ranker().Trainers.DualLearning(...)</c> (<see cref="DualLearningEstimator"/>), whose
        /// <see cref="DualLearningTransformer.PropensityTransformer"/> reports this method. <see cref="PositionPropensityEstimator"/>
        /// does not run it (it needs a session column and a ranker): setting it there throws.
        /// </summary>
        DualLearning,
    }

    /// <summary>What <see cref="PositionPropensityEstimator.Options.Smoothing"/> shrinks each position's click-through rate towards
    /// (randomization estimate).</summary>
    public enum PropensitySmoothingPrior
    {
        /// <summary>The overall click-through rate: a flat curve (sparse positions are pulled towards θ = 1).</summary>
        OverallClickRate,

        /// <summary>A power law p^-η fitted to the same randomized counts (Poisson likelihood): sparse positions are pulled
        /// towards the smooth curve through the well-observed ones, so a position with no click keeps a propensity &gt; 0
        /// close to the trend instead of 0.</summary>
        PowerLaw,

        /// <summary>The curve in <see cref="PositionPropensityEstimator.Options.PriorCurve"/>, e.g. the curve of a regression-EM fit on the
        /// ordinary (non-randomized) log.</summary>
        Curve,
    }

    /// <summary>The relevance model of <see cref="PropensityEstimationMethod.RegressionEm"/> on a feature column.</summary>
    public enum EmRelevanceModel
    {
        /// <summary>Logistic regression on the standardized features, one Newton step per EM iteration (fast; linear in the logit).</summary>
        Logistic,

        /// <summary>Gradient-boosted regression trees (ML.NET FastTree, squared loss on the soft targets P(R = 1 | click, position)),
        /// refitted from scratch at every EM iteration, as in Wang et al.'s regression EM (which fits GBDT to labels sampled from
        /// the same posterior). Captures non-linear relevance; costs one FastTree fit per iteration.</summary>
        Gbdt,
    }

    /// <summary>A bootstrap confidence interval of a propensity.</summary>
    public readonly struct PropensityInterval
    {
        /// <summary>Creates an interval.</summary>
        /// <param name="lower">Lower bound.</param>
        /// <param name="upper">Upper bound.</param>
        public PropensityInterval(double lower, double upper)
        {
            Lower = lower;
            Upper = upper;
        }

        /// <summary>Lower bound (the (1 − level)/2 percentile of the bootstrap estimates).</summary>
        public double Lower { get; }

        /// <summary>Upper bound (the (1 + level)/2 percentile of the bootstrap estimates).</summary>
        public double Upper { get; }

        /// <summary>Upper − Lower.</summary>
        public double Width => Upper - Lower;

        /// <inheritdoc />
        public override string ToString() => FormattableString.Invariant($"[{Lower:G4}, {Upper:G4}]");
    }

    public sealed partial class PositionPropensityEstimator
    {
        /// <summary>Options of <see cref="PositionPropensityEstimator"/> (<c>mlContext.Ranker().Transforms.EstimatePositionPropensity</c>).</summary>
        public sealed class Options
        {
            /// <summary>Column added by the fitted transformer: the propensity (Single) of each row's position. Default <c>"Propensity"</c>.</summary>
            public string OutputColumnName { get; set; } = "Propensity";

            /// <summary>Position column: Int32, Int64, Single or Double, 1-based. Default <c>"Position"</c>.</summary>
            public string PositionColumnName { get; set; } = "Position";

            /// <summary>Click label column: Boolean, or Single where &gt; 0 is a click. Default <c>"Click"</c>.</summary>
            public string LabelColumnName { get; set; } = "Click";

            /// <summary>Optional Boolean column marking randomized lists; with <see cref="PropensityEstimationMethod.Randomization"/>
            /// only those rows are used, with <see cref="PropensityEstimationMethod.RegressionEm"/> it is ignored. Default null (all rows).</summary>
            public string? RandomizedColumnName { get; set; }

            /// <summary>Estimation method. Default <see cref="PropensityEstimationMethod.Randomization"/>.</summary>
            public PropensityEstimationMethod Method { get; set; } = PropensityEstimationMethod.Randomization;

            /// <summary>K: positions 1..K get their own propensity and every position above K shares one more bucket ("K+1+"),
            /// K + 1 buckets in all (the rule of every <c>MaximumPosition</c> in MLNetRank). Default 10.</summary>
            public int MaximumPosition { get; set; } = PositionBuckets.DefaultMaximumPosition;

            /// <summary>Randomization only: pseudo-impressions α added to each position at the prior's click-through rate,
            /// CTR_k = (clicks_k + α·prior_k) / (impressions_k + α), with the prior chosen by <see cref="SmoothingPrior"/> and scaled
            /// to the observed number of clicks. Default 0 (none).</summary>
            public double Smoothing { get; set; }

            /// <summary>Randomization with <see cref="Smoothing"/> &gt; 0: the prior curve. Default
            /// <see cref="PropensitySmoothingPrior.OverallClickRate"/> (a flat curve).</summary>
            public PropensitySmoothingPrior SmoothingPrior { get; set; } = PropensitySmoothingPrior.OverallClickRate;

            /// <summary>With <see cref="PropensitySmoothingPrior.Curve"/>: the prior propensity of positions 1..MaximumPosition + 1 (one
            /// value per bucket, each finite and &gt; 0; e.g. <c>emTransformer.Propensities</c>). Default null.</summary>
            public double[]? PriorCurve { get; set; }

            /// <summary>RegressionEm: a known-size vector of Single with relevance features (a logistic relevance model is fitted on
            /// them). Give this or <see cref="RelevanceGroupColumnName"/>. Default null.</summary>
            public string? FeatureColumnName { get; set; }

            /// <summary>RegressionEm: an id column (UInt32, Int32, Int64, String, or a key) naming the unit whose relevance is one
            /// parameter, e.g. the query-document pair or the item. Default null.</summary>
            public string? RelevanceGroupColumnName { get; set; }

            /// <summary>RegressionEm with <see cref="FeatureColumnName"/>: the relevance model. Default <see cref="EmRelevanceModel.Logistic"/>.</summary>
            public EmRelevanceModel RelevanceModel { get; set; } = EmRelevanceModel.Logistic;

            /// <summary>RegressionEm with the GBDT relevance model: trees per M-step. Default 20.</summary>
            public int GbdtTrees { get; set; } = 20;

            /// <summary>RegressionEm with the GBDT relevance model: leaves per tree. Default 15.</summary>
            public int GbdtLeaves { get; set; } = 15;

            /// <summary>RegressionEm with the GBDT relevance model: minimum rows per leaf. Default 50.</summary>
            public int GbdtMinimumExampleCountPerLeaf { get; set; } = 50;

            /// <summary>RegressionEm: maximum EM iterations. Default 100.</summary>
            public int MaximumIterations { get; set; } = 100;

            /// <summary>RegressionEm: EM stops when no examination, relevance or coefficient moves by more than this. Default 1e-5.</summary>
            public double Tolerance { get; set; } = 1e-5;

            /// <summary>RegressionEm with features: L2 penalty of the logistic relevance model, per unit of row weight. Default 1e-4.</summary>
            public double L2Regularization { get; set; } = 1e-4;

            /// <summary>Number of bootstrap resamples (Poisson(1) row weights) for <see cref="PositionPropensityTransformer.ConfidenceIntervals"/>;
            /// 0 = no intervals. Each resample reruns the estimator (cheap for Randomization, a full EM run for RegressionEm). Default 0.</summary>
            public int BootstrapResamples { get; set; }

            /// <summary>Confidence level of the percentile bootstrap intervals, in (0, 1). Default 0.95.</summary>
            public double ConfidenceLevel { get; set; } = 0.95;

            /// <summary>Seed of the bootstrap; null draws one from the <see cref="Microsoft.ML.MLContext"/>. Default null.</summary>
            public int? Seed { get; set; }

            /// <summary>Optional progress: <see cref="RankerProgress.Fraction"/> is the part of the work done (EM, then bootstrap
            /// resamples; stages <c>"EM"</c>, <c>"bootstrap"</c>). Default null.</summary>
            public IProgress<RankerProgress>? Progress { get; set; }

            internal void Validate()
            {
                if (string.IsNullOrEmpty(OutputColumnName))
                    throw new ArgumentException("OutputColumnName must be given.", nameof(OutputColumnName));
                PositionBuckets.Validate(MaximumPosition, nameof(MaximumPosition));
                if (!(Smoothing >= 0) || double.IsInfinity(Smoothing))
                    throw new ArgumentOutOfRangeException(nameof(Smoothing), Smoothing, "Smoothing must be a finite number >= 0.");
                if (SmoothingPrior == PropensitySmoothingPrior.Curve && (PriorCurve is null || PriorCurve.Length != MaximumPosition + 1 || Array.Exists(PriorCurve, v => !(v > 0) || double.IsInfinity(v))))
                    throw new ArgumentException($"SmoothingPrior = Curve needs PriorCurve with MaximumPosition + 1 ({MaximumPosition + 1}) finite values > 0 (one per bucket).", nameof(PriorCurve));
                if (MaximumIterations < 1)
                    throw new ArgumentOutOfRangeException(nameof(MaximumIterations), MaximumIterations, "MaximumIterations must be >= 1.");
                if (!(Tolerance > 0))
                    throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Tolerance must be > 0.");
                if (!(L2Regularization >= 0) || double.IsInfinity(L2Regularization))
                    throw new ArgumentOutOfRangeException(nameof(L2Regularization), L2Regularization, "L2Regularization must be a finite number >= 0.");
                if (GbdtTrees < 1 || GbdtLeaves < 2 || GbdtMinimumExampleCountPerLeaf < 1)
                    throw new ArgumentOutOfRangeException(nameof(GbdtTrees), "GbdtTrees must be >= 1, GbdtLeaves >= 2 and GbdtMinimumExampleCountPerLeaf >= 1.");
                if (BootstrapResamples < 0)
                    throw new ArgumentOutOfRangeException(nameof(BootstrapResamples), BootstrapResamples, "BootstrapResamples must be >= 0.");
                if (!(ConfidenceLevel > 0 && ConfidenceLevel < 1))
                    throw new ArgumentOutOfRangeException(nameof(ConfidenceLevel), ConfidenceLevel, "ConfidenceLevel must be in (0, 1).");
                if (Method == PropensityEstimationMethod.DualLearning)
                    throw new ArgumentException("Method = DualLearning is learned together with a ranker: use mlContext.Ranker().Trainers.DualLearning(...) and its PropensityTransformer.", nameof(Method));
                if (Method == PropensityEstimationMethod.RegressionEm)
                {
                    if (FeatureColumnName is null && RelevanceGroupColumnName is null)
                        throw new ArgumentException("RegressionEm needs a relevance model: set FeatureColumnName (logistic relevance on features) or RelevanceGroupColumnName (one relevance per id).");
                    if (FeatureColumnName is not null && RelevanceGroupColumnName is not null)
                        throw new ArgumentException("Set only one of FeatureColumnName and RelevanceGroupColumnName for RegressionEm.");
                }
            }
        }
    }
}
