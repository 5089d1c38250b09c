using System;
using System.Buffers;

namespace MLNetRank.Evaluation
{
    /// <summary>DeLong's test comparing the AUCs of two scores on the same rows (see <see cref="RankerMetrics.CompareAuc"/>).</summary>
    public readonly record struct AucComparison
    {
        /// <summary>AUC of the first score.</summary>
        public double AucA { get; init; }

        /// <summary>AUC of the second score.</summary>
        public double AucB { get; init; }

        /// <summary>AucA − AucB.</summary>
        public double Difference => AucA - AucB;

        /// <summary>DeLong standard error of <see cref="AucA"/>.</summary>
        public double StandardErrorA { get; init; }

        /// <summary>DeLong standard error of <see cref="AucB"/>.</summary>
        public double StandardErrorB { get; init; }

        /// <summary>Standard error of the difference, accounting for the correlation of the two scores on the same rows.</summary>
        public double StandardError { get; init; }

        /// <summary>z = <see cref="Difference"/> / <see cref="StandardError"/> (NaN when the standard error is 0).</summary>
        public double Z { get; init; }

        /// <summary>Two-sided p-value of the hypothesis AucA = AucB under the normal approximation.</summary>
        public double PValue { get; init; }

        /// <summary>Lower end of the 95 % confidence interval of <see cref="Difference"/>.</summary>
        public double Lower95 => Difference - Z95 * StandardError;

        /// <summary>Upper end of the 95 % confidence interval of <see cref="Difference"/>.</summary>
        public double Upper95 => Difference + Z95 * StandardError;

        internal const double Z95 = 1.959963984540054;
    }

    public static partial class RankerMetrics
    {
        /// <summary>
        /// DeLong's test (DeLong, DeLong and Clarke-Pearson, 1988) of two correlated AUCs: two models scored on the same
        /// rows. Uses the structural components (placement values) of each positive and negative row, ties counting 1/2,
        /// computed with one sort per score (O(n log n), as Sun and Xu, 2014).
        /// </summary>
        /// <param name="scoresA">Scores of the first model.</param>
        /// <param name="scoresB">Scores of the second model, same rows.</param>
        /// <param name="labels">True for positive rows.</param>
        /// <returns>Both AUCs, their standard errors, the standard error of the difference, z and the two-sided p-value.
        /// Every field is NaN when there are fewer than 2 positives or 2 negatives.</returns>
        public static AucComparison CompareAuc(ReadOnlySpan<float> scoresA, ReadOnlySpan<float> scoresB, ReadOnlySpan<bool> labels)
        {
            CheckLengths(scoresA.Length, scoresB.Length, nameof(scoresB));
            CheckLengths(scoresA.Length, labels.Length, nameof(labels));
            CheckFinite(scoresA, nameof(scoresA));
            CheckFinite(scoresB, nameof(scoresB));
            int n = labels.Length, pos = 0;
            foreach (bool l in labels)
                if (l) pos++;
            int neg = n - pos;
            if (pos < 2 || neg < 2)
                return new AucComparison
                {
                    AucA = double.NaN, AucB = double.NaN, StandardErrorA = double.NaN, StandardErrorB = double.NaN,
                    StandardError = double.NaN, Z = double.NaN, PValue = double.NaN,
                };
            double[] a = ArrayPool<double>.Shared.Rent(n);
            double[] b = ArrayPool<double>.Shared.Rent(n);
            ulong[] keys = ArrayPool<ulong>.Shared.Rent(n);
            try
            {
                Placements(scoresA, labels, pos, neg, keys, a);
                Placements(scoresB, labels, pos, neg, keys, b);
                // Means and (co)variances of the placements over positives (V10) and negatives (V01).
                double mA10 = 0, mB10 = 0, mA01 = 0, mB01 = 0;
                for (int i = 0; i < n; i++)
                {
                    if (labels[i]) { mA10 += a[i]; mB10 += b[i]; }
                    else { mA01 += a[i]; mB01 += b[i]; }
                }
                mA10 /= pos; mB10 /= pos; mA01 /= neg; mB01 /= neg;
                double sAA10 = 0, sBB10 = 0, sAB10 = 0, sAA01 = 0, sBB01 = 0, sAB01 = 0;
                for (int i = 0; i < n; i++)
                {
                    if (labels[i])
                    {
                        double da = a[i] - mA10, db = b[i] - mB10;
                        sAA10 += da * da; sBB10 += db * db; sAB10 += da * db;
                    }
                    else
                    {
                        double da = a[i] - mA01, db = b[i] - mB01;
                        sAA01 += da * da; sBB01 += db * db; sAB01 += da * db;
                    }
                }
                double m1 = pos - 1, n1 = neg - 1;
                double varA = sAA10 / m1 / pos + sAA01 / n1 / neg;
                double varB = sBB10 / m1 / pos + sBB01 / n1 / neg;
                double cov = sAB10 / m1 / pos + sAB01 / n1 / neg;
                double varDiff = Math.Max(0.0, varA + varB - 2 * cov);
                double se = Math.Sqrt(varDiff);
                double diff = mA10 - mB10;
                double z = se > 0 ? diff / se : double.NaN;
                return new AucComparison
                {
                    AucA = mA10,
                    AucB = mB10,
                    StandardErrorA = Math.Sqrt(varA),
                    StandardErrorB = Math.Sqrt(varB),
                    StandardError = se,
                    Z = z,
                    PValue = se > 0 ? Erfc(Math.Abs(z) / Math.Sqrt(2.0)) : (diff == 0 ? 1.0 : 0.0),
                };
            }
            finally
            {
                ArrayPool<double>.Shared.Return(a);
                ArrayPool<double>.Shared.Return(b);
                ArrayPool<ulong>.Shared.Return(keys);
            }
        }

        /// <summary>
        /// DeLong standard error of one AUC (unweighted, ties counting 1/2); NaN with fewer than 2 positives or negatives.
        /// A normal 95 % interval is AUC ± 1.96 × this.
        /// </summary>
        /// <param name="scores">Scores.</param>
        /// <param name="labels">True for positive rows.</param>
        public static double AucStandardError(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels)
        {
            CheckLengths(scores.Length, labels.Length, nameof(labels));
            CheckFinite(scores, nameof(scores));
            int n = labels.Length, pos = 0;
            foreach (bool l in labels)
                if (l) pos++;
            int neg = n - pos;
            if (pos < 2 || neg < 2)
                return double.NaN;
            double[] a = ArrayPool<double>.Shared.Rent(n);
            ulong[] keys = ArrayPool<ulong>.Shared.Rent(n);
            try
            {
                Placements(scores, labels, pos, neg, keys, a);
                double m10 = 0, m01 = 0;
                for (int i = 0; i < n; i++)
                {
                    if (labels[i]) m10 += a[i]; else m01 += a[i];
                }
                m10 /= pos;
                m01 /= neg;
                double s10 = 0, s01 = 0;
                for (int i = 0; i < n; i++)
                {
                    if (labels[i]) s10 += (a[i] - m10) * (a[i] - m10);
                    else s01 += (a[i] - m01) * (a[i] - m01);
                }
                return Math.Sqrt(s10 / (pos - 1) / pos + s01 / (neg - 1) / neg);
            }
            finally
            {
                ArrayPool<double>.Shared.Return(a);
                ArrayPool<ulong>.Shared.Return(keys);
            }
        }

        /// <summary>For a positive row, the share of negatives it beats (ties 1/2); for a negative row, the share of
        /// positives that beat it (ties 1/2). Each mean equals the AUC.</summary>
        private static void Placements(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, int pos, int neg, ulong[] keys, double[] placement)
        {
            int n = scores.Length;
            var k = keys.AsSpan(0, n);
            for (int i = 0; i < n; i++)
                k[i] = ((ulong)SortableBits(scores[i]) << 32) | (uint)i;
            k.Sort();
            long negBelow = 0, posBelow = 0;
            int start = 0;
            while (start < n)
            {
                uint block = (uint)(k[start] >> 32);
                int end = start;
                long bp = 0, bn = 0;
                for (; end < n && (uint)(k[end] >> 32) == block; end++)
                {
                    if (labels[(int)(uint)k[end]]) bp++; else bn++;
                }
                double posValue = (negBelow + 0.5 * bn) / neg;
                double negValue = (pos - posBelow - bp + 0.5 * bp) / pos;
                for (int p = start; p < end; p++)
                {
                    int row = (int)(uint)k[p];
                    placement[row] = labels[row] ? posValue : negValue;
                }
                negBelow += bn;
                posBelow += bp;
                start = end;
            }
        }

        /// <summary>
        /// Complementary error function, relative error below 1e-13: a positive-term series of erf for x &lt; 2.5, a
        /// continued fraction of erfc above.
        /// </summary>
        internal static double Erfc(double x)
        {
            if (double.IsNaN(x))
                return double.NaN;
            if (x < 0)
                return 2.0 - Erfc(-x);
            if (x < 2.5)
            {
                // erf(x) = 2/sqrt(pi) exp(-x^2) sum_{k>=0} (2x^2)^k x / (1*3*...*(2k+1))
                double term = x, sum = x, x2 = 2 * x * x;
                for (int k = 1; k < 200; k++)
                {
                    term *= x2 / (2 * k + 1);
                    sum += term;
                    if (term < sum * 1e-17)
                        break;
                }
                return 1.0 - 2.0 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
            }
            if (x > 27)
                return 0.0;
            // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated from the tail.
            double f = x;
            for (int k = 120; k >= 1; k--)
                f = x + k / 2.0 / f;
            return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
        }
    }
}
