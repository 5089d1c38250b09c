using System;
using System.Collections.Generic;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The per-item estimators of <see cref="ClickRelevanceEstimator"/> on in-memory arrays: inverse propensity scoring,
    /// its self-normalised form and the doubly robust (shrunk) form, plus the held-out split and loss that choose the clip
    /// and the shrinkage.
    /// </summary>
    internal static class ClickRelevanceAlgorithms
    {
        /// <summary>An impression log: item index, click, propensity θ (1 when uncorrected), optional prior per row.</summary>
        public sealed class Log
        {
            public Log(int[] item, bool[] click, float[] theta, float[]? prior, int items)
            {
                Item = item;
                Click = click;
                Theta = theta;
                Prior = prior;
                Items = items;
            }

            public int[] Item { get; }
            public bool[] Click { get; }
            public float[] Theta { get; }
            public float[]? Prior { get; }
            public int Items { get; }
        }

        /// <summary>Per-item estimates; NaN relevance for an item without (training) impressions.</summary>
        public sealed class Result
        {
            public double[] Relevance = Array.Empty<double>();
            public double[] Impressions = Array.Empty<double>();
            public double[] Exposure = Array.Empty<double>();
            public long Clipped;
        }

        /// <summary>Estimates every item's relevance from the rows not flagged in <paramref name="exclude"/>.</summary>
        public static Result Estimate(Log log, bool[]? exclude, ClickRelevanceMethod method, double maximumWeight, double shrinkage)
        {
            int m = log.Items;
            var n = new double[m];
            var exposure = new double[m];
            var clickWeight = new double[m];
            var thetaWeight = new double[m];
            var priorSum = log.Prior is null ? null : new double[m];
            long clipped = 0;
            double allClickWeight = 0, allThetaWeight = 0;
            for (int i = 0; i < log.Item.Length; i++)
            {
                if (exclude is not null && exclude[i])
                    continue;
                int k = log.Item[i];
                double th = log.Theta[i];
                double w = 1.0 / th;
                if (w > maximumWeight)
                {
                    w = maximumWeight;
                    if (log.Click[i])
                        clipped++;
                }
                n[k]++;
                exposure[k] += th;
                thetaWeight[k] += th * w;
                allThetaWeight += th * w;
                if (log.Click[i])
                {
                    clickWeight[k] += w;
                    allClickWeight += w;
                }
                if (priorSum is not null)
                    priorSum[k] += log.Prior![i];
            }
            double pooled = allThetaWeight > 0 ? allClickWeight / allThetaWeight : 0;
            var relevance = new double[m];
            for (int k = 0; k < m; k++)
            {
                if (n[k] == 0)
                {
                    relevance[k] = double.NaN;
                    continue;
                }
                switch (method)
                {
                    case ClickRelevanceMethod.InversePropensity:
                        relevance[k] = clickWeight[k] / n[k];
                        break;
                    case ClickRelevanceMethod.SelfNormalized:
                        relevance[k] = clickWeight[k] / thetaWeight[k];
                        break;
                    default:
                        double f = priorSum is null ? pooled : priorSum[k] / n[k];
                        relevance[k] = (clickWeight[k] + shrinkage * f) / (thetaWeight[k] + shrinkage);
                        break;
                }
            }
            return new Result { Relevance = relevance, Impressions = n, Exposure = exposure, Clipped = clipped };
        }

        /// <summary>Held-out flags: a stable hash of the session key (or of the row index) against the fraction.</summary>
        public static bool[] HoldOut(IReadOnlyList<string>? session, int rows, double fraction, int seed)
        {
            var held = new bool[rows];
            ulong threshold = (ulong)(fraction * ulong.MaxValue);
            for (int i = 0; i < rows; i++)
            {
                ulong h = session is null ? Mix((ulong)i ^ ((ulong)(uint)seed << 32)) : Fnv(session[i], seed);
                held[i] = h < threshold;
            }
            return held;
        }

        /// <summary>Mean (click − θ · relevance)² over the held-out rows whose item has training rows; NaN when there is none.</summary>
        public static double ValidationLoss(Log log, bool[] heldOut, ClickRelevanceMethod method, double maximumWeight, double shrinkage)
        {
            var e = Estimate(log, heldOut, method, maximumWeight, shrinkage);
            double sum = 0;
            long count = 0;
            for (int i = 0; i < log.Item.Length; i++)
            {
                if (!heldOut[i])
                    continue;
                double r = e.Relevance[log.Item[i]];
                if (double.IsNaN(r))
                    continue;
                double d = (log.Click[i] ? 1 : 0) - log.Theta[i] * r;
                sum += d * d;
                count++;
            }
            return count == 0 ? double.NaN : sum / count;
        }

        /// <summary>One SplitMix64 step from <paramref name="z"/> (the project's one implementation, <see cref="SplitMix64"/>).</summary>
        private static ulong Mix(ulong z) => SplitMix64.Mix(z + 0x9E3779B97F4A7C15UL);

        private static ulong Fnv(string s, int seed)
        {
            ulong h = 14695981039346656037UL ^ (ulong)(uint)seed;
            foreach (char c in s)
            {
                h ^= c;
                h *= 1099511628211UL;
            }
            return Mix(h);
        }
    }
}
