using System;
using System.Collections.Generic;
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
    
        /// <summary>How much of the taste-group structure a set of item vectors holds: over the items with a vector, the share of
        /// each item's 5 nearest neighbours (cosine) in its own taste group and in its own category (chance: about 1/groups and
        /// 1/categories), and the mean cosine of same-group pairs minus that of all pairs.</summary>
        public static string GroupPurity(World world, IReadOnlyDictionary<uint, float[]> vectors)
        {
            var ids = vectors.Keys.OrderBy(x => x).ToArray();
            int n = ids.Length;
            if (n < 10)
                return "too few items";
            var unit = ids.Select(i =>
            {
                var v = vectors[i];
                double norm = Math.Sqrt(v.Sum(x => (double)x * x));
                return v.Select(x => norm > 0 ? x / norm : 0).ToArray();
            }).ToArray();
            var group = ids.Select(i => world.ItemTasteGroupOf(i)).ToArray();
            var cat = ids.Select(i => world.ItemCategory(i)).ToArray();
            double inGroup = 0, inCat = 0, sameSum = 0, allSum = 0;
            long sameN = 0, allN = 0;
            var sims = new double[n];
            for (int a = 0; a < n; a++)
            {
                for (int b = 0; b < n; b++)
                {
                    double c = 0;
                    for (int k = 0; k < unit[a].Length; k++)
                        c += unit[a][k] * unit[b][k];
                    sims[b] = b == a ? double.NegativeInfinity : c;
                    if (b != a)
                    {
                        allSum += c;
                        allN++;
                        if (group[a] == group[b])
                        {
                            sameSum += c;
                            sameN++;
                        }
                    }
                }
                foreach (int b in Enumerable.Range(0, n).OrderByDescending(b => sims[b]).Take(5))
                {
                    inGroup += group[a] == group[b] ? 0.2 : 0;
                    inCat += cat[a] == cat[b] ? 0.2 : 0;
                }
            }
            return $"{n} items: 5-NN in own taste group {inGroup / n:F3} (chance ~{1.0 / Math.Max(1, world.ItemCount / 30):F3}), in own category {inCat / n:F3} (chance ~{1.0 / world.CategoryCount:F3}); "
                + $"cosine same group − all pairs {(sameN > 0 ? sameSum / sameN : 0) - allSum / allN:+0.000;-0.000}";
        }

        /// <summary>Co-occurrence vectors of the items in the users' clicked-item sequences (one sequence per user, its last row):
        /// item i's vector counts, per other item, the users whose sequence holds both. What an unsupervised embedding of the
        /// histories (item2vec, metapath2vec) could learn from.</summary>
        public static Dictionary<uint, float[]> CoOccurrence(IDataView rows)
        {
            var users = rows.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var seqs = rows.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var last = new Dictionary<uint, uint[]>();
            for (int i = 0; i < users.Length; i++)
                last[users[i]] = seqs[i].Where(x => x > 0).Distinct().ToArray();
            var items = last.Values.SelectMany(x => x).Distinct().OrderBy(x => x).ToArray();
            var index = items.Select((x, k) => (x, k)).ToDictionary(p => p.x, p => p.k);
            var vec = items.ToDictionary(x => x, _ => new float[items.Length]);
            foreach (var seq in last.Values)
                foreach (var a in seq)
                    foreach (var b in seq)
                        if (a != b)
                            vec[a][index[b]]++;
            return vec.Where(p => p.Value.Sum() >= 5).ToDictionary(p => p.Key, p => p.Value);
        }
}
}
