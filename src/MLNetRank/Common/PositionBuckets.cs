using System;
using System.Globalization;

namespace MLNetRank.Common
{
    /// <summary>
    /// The one position-bucketing rule of MLNetRank, for every option named <c>MaximumPosition</c> (propensity
    /// estimation, position as a feature, position-bias towers, per-position towers): positions are 1-based whole
    /// numbers; positions <c>1..K</c> (K = <c>MaximumPosition</c>) get buckets <c>0..K-1</c> and every position above K
    /// shares bucket K ("K+1 and later"), so there are <c>K + 1</c> buckets. A missing, non-finite, fractional or smaller
    /// than 1 position is an error naming the column and the row.
    /// </summary>
    internal static class PositionBuckets
    {
        /// <summary>The default K of every <c>MaximumPosition</c> option.</summary>
        public const int DefaultMaximumPosition = 10;

        /// <summary>The largest accepted K.</summary>
        public const int Limit = 100_000;

        /// <summary>The number of buckets, <c>K + 1</c>.</summary>
        public static int Count(int maximumPosition) => maximumPosition + 1;

        /// <summary>The 0-based bucket of a checked 1-based <paramref name="position"/>.</summary>
        public static int Of(double position, int maximumPosition, string column, long row)
        {
            Check(position, column, row);
            return position > maximumPosition ? maximumPosition : (int)position - 1;
        }

        /// <summary>Throws unless <paramref name="position"/> is a finite whole number &gt;= 1.</summary>
        public static void Check(double position, string column, long row)
        {
            if (double.IsNaN(position) || double.IsInfinity(position))
                throw new InvalidOperationException($"The position column '{column}' has a non-finite value ({position}) at row {row}; expected a 1-based position.");
            if (position < 1)
                throw new InvalidOperationException($"The position column '{column}' has the value {position.ToString(CultureInfo.InvariantCulture)} at row {row}; positions are 1-based (>= 1).");
            if (position != Math.Floor(position))
                throw new InvalidOperationException($"The position column '{column}' has the non-integer value {position.ToString(CultureInfo.InvariantCulture)} at row {row}; expected a whole 1-based position.");
        }

        /// <summary>Throws unless <paramref name="maximumPosition"/> is in <c>[1, Limit]</c>.</summary>
        /// <param name="maximumPosition">K.</param>
        /// <param name="parameterName">The option's name, e.g. <c>MaximumPosition</c>.</param>
        /// <param name="owner">What the error names before it, e.g. <c>Task 'Click': PositionBiasTower</c>; null for none.</param>
        public static void Validate(int maximumPosition, string parameterName, string? owner = null)
        {
            if (maximumPosition < 1 || maximumPosition > Limit)
                throw new ArgumentOutOfRangeException(parameterName,
                    $"{(owner is null ? "" : owner + ".")}{parameterName} must be in [1, {Limit}] (was {maximumPosition}); positions above it share one bucket.");
        }

        /// <summary>A bucket's label: its position, or <c>"K+1+"</c> for the shared last bucket.</summary>
        public static string Label(int bucket, int maximumPosition)
            => bucket >= maximumPosition ? (maximumPosition + 1).ToString(CultureInfo.InvariantCulture) + "+" : (bucket + 1).ToString(CultureInfo.InvariantCulture);
    }
}
