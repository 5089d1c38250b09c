using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The fitted propensity curve of <see cref="PositionPropensityEstimator"/>. <c>Transform</c> adds the propensity of each
    /// row's position (positions above <see cref="MaximumPosition"/> share the last bucket; an invalid position — below 1, not whole,
    /// NaN — gives NaN). Saving writes a built-in ML.NET <c>Expression</c> transform: the zip loads with no MLNetRank code.
    /// </summary>
    public sealed class PositionPropensityTransformer : WrappedTransformer
    {
        private readonly double[] _curve;
        private readonly PropensityInterval[]? _intervals;
        private readonly long[] _impressions;
        private readonly long[] _clicks;

        internal PositionPropensityTransformer(ITransformer inner, PositionPropensityEstimator.Options options, double[] curve, PropensityInterval[]? intervals,
            long[] impressions, long[] clicks, long rows, int iterations, bool converged, double[]? examination, int bootstrapUsed)
            : base(inner)
        {
            _curve = curve;
            _intervals = intervals;
            _impressions = impressions;
            _clicks = clicks;
            Method = options.Method;
            PositionColumnName = options.PositionColumnName;
            OutputColumnName = options.OutputColumnName;
            RowsUsed = rows;
            Iterations = iterations;
            Converged = converged;
            AbsoluteExamination = examination;
            BootstrapResamplesUsed = bootstrapUsed;
            ConfidenceLevel = options.ConfidenceLevel;
        }

        /// <summary>The method that produced the curve.</summary>
        public PropensityEstimationMethod Method { get; }

        /// <summary>The position column read.</summary>
        public string PositionColumnName { get; }

        /// <summary>The propensity column added.</summary>
        public string OutputColumnName { get; }

        /// <summary>K: positions 1..K have their own propensity; later positions share the last one (K + 1 values).</summary>
        public int MaximumPosition => _curve.Length - 1;

        /// <summary>Examination propensity relative to position 1: element k-1 is θ_k / θ_1 (element 0 is 1; the last element is the pooled bucket of positions above K).</summary>
        public IReadOnlyList<double> Propensities => _curve;

        /// <summary>Bootstrap percentile intervals of <see cref="Propensities"/> at <see cref="ConfidenceLevel"/>, or null when
        /// no resample was asked for. Position 1's interval is [1, 1] by construction (the curve is relative to it).</summary>
        public IReadOnlyList<PropensityInterval>? ConfidenceIntervals => _intervals;

        /// <summary>Confidence level of <see cref="ConfidenceIntervals"/>.</summary>
        public double ConfidenceLevel { get; }

        /// <summary>Bootstrap resamples that entered the intervals (resamples without a click at position 1 are left out).</summary>
        public int BootstrapResamplesUsed { get; }

        /// <summary>Impressions per bucket in the rows used.</summary>
        public IReadOnlyList<long> Impressions => _impressions;

        /// <summary>Clicks per bucket in the rows used.</summary>
        public IReadOnlyList<long> Clicks => _clicks;

        /// <summary>Rows used (for Randomization with a flag column: the randomized rows).</summary>
        public long RowsUsed { get; }

        /// <summary>RegressionEm: EM iterations run (0 for Randomization).</summary>
        public int Iterations { get; }

        /// <summary>RegressionEm: whether EM reached the tolerance (true for Randomization).</summary>
        public bool Converged { get; }

        /// <summary>RegressionEm: the absolute examination probabilities θ_k as fitted (their scale is not identifiable from
        /// clicks alone; <see cref="Propensities"/> is the identifiable ratio). Null for Randomization.</summary>
        public IReadOnlyList<double>? AbsoluteExamination { get; }

        /// <summary>The propensity of a 1-based position (positions above <see cref="MaximumPosition"/> share the last bucket).</summary>
        /// <param name="position">A 1-based position.</param>
        /// <exception cref="ArgumentOutOfRangeException">The position is below 1.</exception>
        public double GetPropensity(int position)
        {
            if (position < 1)
                throw new ArgumentOutOfRangeException(nameof(position), position, "Positions are 1-based (>= 1).");
            return _curve[Math.Min(position, _curve.Length) - 1];
        }

        /// <summary>A Markdown table: position, impressions, clicks, propensity and (when estimated) the interval and its width.</summary>
        public string ToMarkdownTable()
        {
            var sb = new StringBuilder();
            bool ci = _intervals is not null;
            sb.Append("| position | impressions | clicks | propensity |");
            if (ci)
                sb.Append(CultureInfo.InvariantCulture, $" {ConfidenceLevel:P0} CI | CI width |");
            sb.AppendLine();
            sb.Append("|---|---|---|---|").AppendLine(ci ? "---|---|" : string.Empty);
            for (int b = 0; b < _curve.Length; b++)
            {
                string pos = PositionBuckets.Label(b, MaximumPosition);
                sb.Append(CultureInfo.InvariantCulture, $"| {pos} | {_impressions[b]} | {_clicks[b]} | {_curve[b]:F4} |");
                if (ci)
                    sb.Append(CultureInfo.InvariantCulture, $" [{_intervals![b].Lower:F4}, {_intervals[b].Upper:F4}] | {_intervals[b].Width:F4} |");
                sb.AppendLine();
            }
            return sb.ToString();
        }
    }
}
