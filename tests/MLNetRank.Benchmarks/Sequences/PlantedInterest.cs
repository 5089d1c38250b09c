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

        /// <summary>How well readouts of item vectors computed from each row's own columns follow the true z: the correlation
        /// (overall / within requests) with z of (a) the dot product of the mean item-on-sale vector and the mean clicked-item
        /// vector (an item-CF score), (b) the same with unit-length vectors (mean cosine), (c) the mean over products of the
        /// largest cosine to a clicked item (the bench's MatchReadout).</summary>
        public static string ReadoutCorrelations(IDataView rows, MLNetRank.Torch.MultiTask.PretrainedEmbeddings vectors, double[] z, uint[] requests)
        {
            var seqs = rows.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var sale = rows.GetColumn<uint[]>(ImpressionColumns.LiveItemsOnSale).ToArray();
            int d = vectors.Dimension;
            float[]? Get(uint id, bool unit)
            {
                if (!vectors.TryGetVector(id.ToString(System.Globalization.CultureInfo.InvariantCulture), out var v))
                    return null;
                var a = v.ToArray();
                if (unit)
                {
                    double n = Math.Sqrt(a.Sum(x => (double)x * x));
                    for (int j = 0; j < d; j++)
                        a[j] = (float)(a[j] / (n + 1e-9));
                }
                return a;
            }
            var dotM = new float[seqs.Length];
            var cosM = new float[seqs.Length];
            var maxM = new float[seqs.Length];
            for (int i = 0; i < seqs.Length; i++)
            {
                foreach (bool unit in new[] { false, true })
                {
                    var h = seqs[i].Where(x => x > 0).Select(x => Get(x, unit)).OfType<float[]>().ToArray();
                    var p = sale[i].Where(x => x > 0).Select(x => Get(x, unit)).OfType<float[]>().ToArray();
                    if (h.Length == 0 || p.Length == 0)
                        continue;
                    double sum = 0, mx = 0;
                    foreach (var a in p)
                    {
                        double best = double.NegativeInfinity;
                        foreach (var b in h)
                        {
                            double c = 0;
                            for (int j = 0; j < d; j++)
                                c += a[j] * b[j];
                            sum += c;
                            best = Math.Max(best, c);
                        }
                        mx += best;
                    }
                    if (unit)
                    {
                        cosM[i] = (float)(sum / (h.Length * p.Length));
                        maxM[i] = (float)(mx / p.Length);
                    }
                    else
                        dotM[i] = (float)(sum / (h.Length * p.Length));
                }
            }
            return $"corr with z (overall / within requests): mean dot {Correlation(dotM, z, null):F3} / {Correlation(dotM, z, requests):F3}, "
                + $"mean cosine {Correlation(cosM, z, null):F3} / {Correlation(cosM, z, requests):F3}, mean max cosine {Correlation(maxM, z, null):F3} / {Correlation(maxM, z, requests):F3}";
        }
    
        /// <summary>Readouts from the raw co-click counts of the training rows (distinct items per user): per test row, over the
        /// room's items on sale p and the clicked items h, (a) mean PPMI(p, h), (b) mean over p of max PPMI, (c) share of p with
        /// a co-click count ≥ 1 with some h, (d) ≥ 2, (e) share of p that are themselves among h, (f) the oracle: share of p whose
        /// taste group is among h's (z itself), (g) share of p whose category is among h's, (h) the number of distinct h; their
        /// correlation with z (overall / within requests).</summary>
        public static string CoClickReadouts(IDataView train, IDataView test, double[] z, uint[] requests, World world)
        {
            var users = train.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var tseqs = train.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var byUser = new Dictionary<uint, HashSet<uint>>();
            for (int i = 0; i < users.Length; i++)
            {
                if (!byUser.TryGetValue(users[i], out var set))
                    byUser[users[i]] = set = new HashSet<uint>();
                foreach (var x in tseqs[i])
                    if (x > 0)
                        set.Add(x);
            }
            var co = new Dictionary<(uint, uint), int>();
            var cnt = new Dictionary<uint, int>();
            long total = 0;
            foreach (var set in byUser.Values)
                foreach (var a in set)
                    foreach (var b in set)
                        if (a != b)
                        {
                            co[(a, b)] = co.GetValueOrDefault((a, b)) + 1;
                            cnt[a] = cnt.GetValueOrDefault(a) + 1;
                            total++;
                        }
            double Ppmi(uint a, uint b) => co.TryGetValue((a, b), out var c) ? Math.Max(0, Math.Log(c * (double)total / ((double)cnt[a] * cnt[b]))) : 0;
            var seqs = test.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var sale = test.GetColumn<uint[]>(ImpressionColumns.LiveItemsOnSale).ToArray();
            var r = Enumerable.Range(0, 8).Select(_ => new float[seqs.Length]).ToArray();
            for (int i = 0; i < seqs.Length; i++)
            {
                var h = seqs[i].Where(x => x > 0).Distinct().ToArray();
                var p = sale[i].Where(x => x > 0).ToArray();
                if (h.Length == 0 || p.Length == 0)
                    continue;
                var hg = h.Select(x => world.ItemTasteGroupOf(x)).ToHashSet();
                var hc = h.Select(x => world.ItemCategory(x)).ToHashSet();
                double mean = 0, mx = 0, any1 = 0, any2 = 0, same = 0, oracle = 0, cat = 0;
                foreach (var a in p)
                {
                    var v = h.Select(b => Ppmi(a, b)).ToArray();
                    mean += v.Average();
                    mx += v.Max();
                    any1 += h.Any(b => co.GetValueOrDefault((a, b)) >= 1) ? 1 : 0;
                    any2 += h.Any(b => co.GetValueOrDefault((a, b)) >= 2) ? 1 : 0;
                    same += h.Contains(a) ? 1 : 0;
                    oracle += hg.Contains(world.ItemTasteGroupOf(a)) ? 1 : 0;
                    cat += hc.Contains(world.ItemCategory(a)) ? 1 : 0;
                }
                var vals = new[] { mean, mx, any1, any2, same, oracle, cat, h.Length };
                for (int k = 0; k < 8; k++)
                    r[k][i] = (float)(k == 7 ? vals[k] : vals[k] / p.Length);
            }
            var names = new[] { "mean PPMI", "max PPMI", "co-clicked ≥1", "≥2", "same item", "oracle share", "category share", "distinct history items" };
            return string.Join(", ", names.Select((n, k) => $"{n} {Correlation(r[k], z, null):F3} / {Correlation(r[k], z, requests):F3}"));
        }
    }
}
