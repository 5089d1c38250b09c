using System;
using System.Collections.Generic;
using System.Linq;

namespace MLNetRank.Evaluation
{
    public static partial class RankingMetrics
    {
        // ------------------------------------------------------------------ exposure concentration

        /// <summary>
        /// Gini coefficient of non-negative values: 0 when all are equal, approaching 1 when one value holds everything
        /// (G = Σ_i Σ_j |x_i − x_j| / (2 n² mean), computed in O(n log n) on the sorted values).
        /// </summary>
        /// <param name="values">Non-negative finite values (e.g. exposure per item).</param>
        /// <returns>The Gini coefficient in [0, 1 − 1/n]; NaN for no values or a zero total.</returns>
        /// <exception cref="ArgumentException">A value is negative, NaN or infinite (the message names the index).</exception>
        public static double Gini(ReadOnlySpan<double> values)
        {
            for (int i = 0; i < values.Length; i++)
                if (!(values[i] >= 0) || double.IsInfinity(values[i]))
                    throw new ArgumentException($"values[{i}] = {values[i]}; expected a finite number >= 0.", nameof(values));
            if (values.Length == 0)
                return double.NaN;
            var sorted = values.ToArray();
            Array.Sort(sorted);
            double total = 0, weighted = 0;
            for (int i = 0; i < sorted.Length; i++)
            {
                total += sorted[i];
                weighted += (i + 1) * sorted[i];
            }
            if (total <= 0)
                return double.NaN;
            int n = sorted.Length;
            return 2 * weighted / (n * total) - (n + 1.0) / n;
        }

        /// <summary>
        /// Exposure concentration of a ranker (the Matthew effect): each request's items are ranked by descending score, the item
        /// at rank r ≤ k receives exposure <c>positionWeights[r-1]</c> (default 1 / log2(r + 1), the nDCG discount), and the
        /// result is the <see cref="Gini(ReadOnlySpan{double})"/> of the total exposure per item over every item that appears
        /// in the rows (items never ranked in a top k count with exposure 0).
        /// </summary>
        /// <typeparam name="TGroup">Request id type.</typeparam>
        /// <typeparam name="TItem">Item id type (e.g. the live room).</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first; ties keep row order).</param>
        /// <param name="groups">Request id of each row; the rows of a request need not be contiguous.</param>
        /// <param name="items">Item id of each row.</param>
        /// <param name="k">Cut-off (≥ 1).</param>
        /// <param name="positionWeights">Optional exposure of ranks 1..k (at least k finite values ≥ 0); empty = 1 / log2(r + 1).</param>
        public static double ExposureGini<TGroup, TItem>(ReadOnlySpan<float> scores, ReadOnlySpan<TGroup> groups, ReadOnlySpan<TItem> items, int k,
            ReadOnlySpan<double> positionWeights = default)
            where TGroup : notnull, IEquatable<TGroup>
            where TItem : notnull, IEquatable<TItem>
        {
            CheckLengths(scores.Length, groups.Length, nameof(groups));
            CheckLengths(scores.Length, items.Length, nameof(items));
            CheckFinite(scores, nameof(scores));
            if (k < 1)
                throw new ArgumentOutOfRangeException(nameof(k), k, "k must be >= 1.");
            if (!positionWeights.IsEmpty && positionWeights.Length < k)
                throw new ArgumentException($"positionWeights has {positionWeights.Length} values; expected at least k = {k}.", nameof(positionWeights));
            var weights = new double[k];
            for (int r = 0; r < k; r++)
            {
                weights[r] = positionWeights.IsEmpty ? 1 / Math.Log2(r + 2) : positionWeights[r];
                if (!(weights[r] >= 0) || double.IsInfinity(weights[r]))
                    throw new ArgumentException($"positionWeights[{r}] = {weights[r]}; expected a finite number >= 0.", nameof(positionWeights));
            }
            if (scores.Length == 0)
                return double.NaN;
            var itemIndex = new Dictionary<TItem, int>();
            var itemOf = new int[scores.Length];
            for (int i = 0; i < items.Length; i++)
            {
                if (!itemIndex.TryGetValue(items[i], out int id))
                    itemIndex[items[i]] = id = itemIndex.Count;
                itemOf[i] = id;
            }
            var byGroup = new Dictionary<TGroup, List<int>>();
            for (int i = 0; i < groups.Length; i++)
            {
                if (!byGroup.TryGetValue(groups[i], out var list))
                    byGroup[groups[i]] = list = new List<int>();
                list.Add(i);
            }
            var exposure = new double[itemIndex.Count];
            var s = scores.ToArray();
            foreach (var rows in byGroup.Values)
            {
                var ordered = rows.OrderByDescending(i => s[i]).ThenBy(i => i).ToList();
                for (int r = 0; r < ordered.Count && r < k; r++)
                    exposure[itemOf[ordered[r]]] += weights[r];
            }
            return Gini(exposure);
        }

        // ------------------------------------------------------------------ AUC against known click probabilities

        /// <summary>
        /// The AUC a score would reach, in expectation, against labels drawn independently as Bernoulli(<paramref name="probabilities"/>):
        /// Σ_{i≠j} p_i (1 − p_j) [s_i &gt; s_j + ½·(s_i = s_j)] / Σ_{i≠j} p_i (1 − p_j). On simulated data, with the true unbiased
        /// click probability (e.g. the simulator's <c>TrueAttraction</c>), it measures how well a model ranks by the truth with
        /// no label noise and no position bias.
        /// </summary>
        /// <param name="scores">Scores (finite).</param>
        /// <param name="probabilities">True positive probabilities in [0, 1].</param>
        /// <returns>The expected AUC; NaN when the denominator is 0 (e.g. every probability 0 or every probability 1).</returns>
        public static double ExpectedAuc(ReadOnlySpan<float> scores, ReadOnlySpan<float> probabilities)
        {
            CheckLengths(scores.Length, probabilities.Length, nameof(probabilities));
            CheckFinite(scores, nameof(scores));
            for (int i = 0; i < probabilities.Length; i++)
                if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
                    throw new ArgumentException($"probabilities[{i}] = {probabilities[i]}; expected a probability in [0, 1].", nameof(probabilities));
            int n = scores.Length;
            var order = new int[n];
            for (int i = 0; i < n; i++)
                order[i] = i;
            var keys = scores.ToArray();
            Array.Sort(keys, order);
            double lowerNeg = 0, num = 0, totalPos = 0, totalNeg = 0, self = 0;
            int g = 0;
            while (g < n)
            {
                int e = g;
                while (e < n && keys[e] == keys[g])
                    e++;
                double a = 0, b = 0, ab = 0;
                for (int r = g; r < e; r++)
                {
                    double p = probabilities[order[r]];
                    a += p;
                    b += 1 - p;
                    ab += p * (1 - p);
                }
                num += a * lowerNeg + 0.5 * (a * b - ab);
                lowerNeg += b;
                totalPos += a;
                totalNeg += b;
                self += ab;
                g = e;
            }
            double den = totalPos * totalNeg - self;
            return den > 0 ? num / den : double.NaN;
        }
    }
}
