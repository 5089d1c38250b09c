using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>The simulator's planted item-level interest on a set of rows, for the sequence benches' diagnostics: the true
    /// z per row, the true click probability with and without its κ·z term (the headroom), and the correlation of a model's
    /// score with z.</summary>
    internal static class PlantedInterest
    {
        /// <summary><see cref="World.TrueItemInterest"/> of every row (its user, room and time); zeros when κ = 0.</summary>
        public static double[] TrueZ(World world, IDataView rows, double kappa)
        {
            var users = rows.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var lives = rows.GetColumn<uint>(ImpressionColumns.LiveId).ToArray();
            var times = rows.GetColumn<float>(ImpressionColumns.Time).ToArray();
            return kappa == 0 ? new double[users.Length] : users.Select((u, i) => world.TrueItemInterest(u, lives[i], times[i])).ToArray();
        }

        /// <summary>The true attraction and click probability (attraction × examination) of every row, with the κ·z term
        /// (<paramref name="z"/>) and with it taken out of the attraction logit.</summary>
        public static (float[] Click, float[] ClickWithout, float[] Attraction, float[] AttractionWithout) TrueProbabilities(IDataView rows, double[] z, double kappa)
        {
            var attr = rows.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var exam = rows.GetColumn<float>(ImpressionColumns.TrueExamination).ToArray();
            var click = new float[attr.Length];
            var clickWithout = new float[attr.Length];
            var attrWithout = new float[attr.Length];
            for (int i = 0; i < attr.Length; i++)
            {
                double a = Math.Clamp(attr[i], 1e-7, 1 - 1e-7);
                double a0 = 1 / (1 + Math.Exp(-(Math.Log(a / (1 - a)) - kappa * z[i])));
                click[i] = attr[i] * exam[i];
                attrWithout[i] = (float)a0;
                clickWithout[i] = (float)(a0 * exam[i]);
            }
            return (click, clickWithout, attr, attrWithout);
        }

        /// <summary>Pearson correlation of a score (a logit) with z; with <paramref name="requests"/>, of the values centred per
        /// request (the within-request correlation).</summary>
        public static double Correlation(float[] score, double[] z, uint[]? requests)
        {
            var x = score.Select(v => (double)v).ToArray();
            var y = (double[])z.Clone();
            if (requests is not null)
                foreach (var g in Enumerable.Range(0, x.Length).GroupBy(i => requests[i]))
                {
                    double mx = g.Average(i => x[i]), my = g.Average(i => y[i]);
                    foreach (var i in g) { x[i] -= mx; y[i] -= my; }
                }
            double ax = x.Average(), ay = y.Average(), sxy = 0, sxx = 0, syy = 0;
            for (int i = 0; i < x.Length; i++) { sxy += (x[i] - ax) * (y[i] - ay); sxx += (x[i] - ax) * (x[i] - ax); syy += (y[i] - ay) * (y[i] - ay); }
            return sxy / Math.Sqrt(sxx * syy + 1e-30);
        }
    }
}
