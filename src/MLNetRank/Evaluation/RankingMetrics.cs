using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace MLNetRank.Evaluation
{
    /// <summary>
    /// Ranking, classification, calibration and regression metrics on plain arrays, for multi-objective rankers:
    /// AUC, group AUC, log-loss, nDCG@k, MRR, expected calibration error, mean predicted / observed, RMSE.
    /// </summary>
    /// <remarks>
    /// <para>Conventions shared by every method:</para>
    /// <list type="bullet">
    /// <item><description>All spans of one call have the same length; <c>weights</c> is optional (empty = every row weighs 1)
    /// and holds finite, non-negative numbers.</description></item>
    /// <item><description>Scores must be finite; probabilities must lie in [0, 1]; a NaN or out-of-range value throws
    /// <see cref="ArgumentException"/> naming the argument and the index.</description></item>
    /// <item><description>A metric that is undefined for the input (no rows, a single class for AUC, no group with a
    /// relevant item) is <see cref="double.NaN"/>, never an exception, so a batch of evaluations never stops on
    /// one degenerate slice.</description></item>
    /// <item><description>Groups are any equatable ids (<see cref="uint"/>, <see cref="int"/>, <see cref="long"/>,
    /// <see cref="string"/>, ...); the rows of a group need not be contiguous. Contiguous groups take a fast path
    /// that copies nothing.</description></item>
    /// <item><description>Work buffers come from <see cref="ArrayPool{T}.Shared"/>; sorting costs O(n log n).</description></item>
    /// </list>
    /// </remarks>
    public static partial class RankingMetrics
    {
        /// <summary>Probabilities are clipped to [<see cref="LogLossEpsilon"/>, 1 - <see cref="LogLossEpsilon"/>] in
        /// <see cref="LogLoss"/>, so a confident mistake costs at most -ln(1e-15) ≈ 34.5 nats instead of infinity.</summary>
        public const double LogLossEpsilon = 1e-15;

        // ------------------------------------------------------------------ AUC

        /// <summary>
        /// Area under the ROC curve: the (weighted) probability that a random positive row scores above a random
        /// negative row, a tie counting 1/2. With weights, each positive/negative pair weighs the product of the two
        /// row weights (scikit-learn's <c>roc_auc_score(y, s, sample_weight=w)</c> gives the same number).
        /// </summary>
        /// <param name="scores">Scores; any monotone transform (raw score or probability) gives the same AUC.</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        /// <returns>The AUC in [0, 1]; NaN when there are no positive or no negative rows (of positive weight).</returns>
        public static double Auc(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<float> weights = default)
        {
            CheckLengths(scores.Length, labels.Length, nameof(labels));
            CheckWeights(weights, scores.Length);
            CheckFinite(scores, nameof(scores));
            if (scores.Length == 0)
                return double.NaN;
            ulong[] keys = ArrayPool<ulong>.Shared.Rent(scores.Length);
            try
            {
                return AucCore(scores, labels, weights, keys, out _, out _);
            }
            finally
            {
                ArrayPool<ulong>.Shared.Return(keys);
            }
        }

        /// <summary>Tie-aware weighted AUC; inputs already validated; <paramref name="keys"/> has room for n entries.</summary>
        private static double AucCore(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<float> weights,
            ulong[] keys, out double positiveWeight, out double negativeWeight)
        {
            int n = scores.Length;
            var k = keys.AsSpan(0, n);
            for (int i = 0; i < n; i++)
                k[i] = ((ulong)SortableBits(scores[i]) << 32) | (uint)i;
            k.Sort();
            bool weighted = !weights.IsEmpty;
            double negBelow = 0, pos = 0, sum = 0;
            int start = 0;
            while (start < n)
            {
                uint block = (uint)(k[start] >> 32);
                double bp = 0, bn = 0;
                int end = start;
                for (; end < n && (uint)(k[end] >> 32) == block; end++)
                {
                    int row = (int)(uint)k[end];
                    double w = weighted ? weights[row] : 1.0;
                    if (labels[row]) bp += w; else bn += w;
                }
                sum += bp * (negBelow + 0.5 * bn);
                negBelow += bn;
                pos += bp;
                start = end;
            }
            positiveWeight = pos;
            negativeWeight = negBelow;
            if (pos <= 0 || negBelow <= 0)
                return double.NaN;
            return sum / (pos * negBelow);
        }

        /// <summary>
        /// Group AUC (GAUC): the AUC of each group (a user, or a request) averaged with the group's impression count
        /// as weight. Groups whose rows all have the same label have no AUC and are skipped (see
        /// <see cref="GroupAucDetailed{TGroup}"/> for the counts).
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Scores.</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="groups">Group id of each row; the rows of a group need not be contiguous.</param>
        /// <returns>GAUC in [0, 1]; NaN when no group has both classes.</returns>
        public static double GroupAuc<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<TGroup> groups)
            where TGroup : notnull, IEquatable<TGroup>
            => GroupAucDetailed(scores, labels, groups).Value;

        /// <summary>
        /// Group AUC with its counts: the AUC of each group (see <see cref="Auc"/>, ties count 1/2) averaged with the
        /// group weights chosen by <paramref name="weighting"/>. Single-class groups are skipped and counted.
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Scores.</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="groups">Group id of each row; the rows of a group need not be contiguous.</param>
        /// <param name="weights">Optional row weights: they weigh the pairs inside each group's AUC and, with
        /// <see cref="GroupAucWeighting.Impressions"/>, make a group weigh its total row weight.</param>
        /// <param name="weighting">Weight of each group's AUC in the mean; impressions by default.</param>
        public static GroupAucResult GroupAucDetailed<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<TGroup> groups,
            ReadOnlySpan<float> weights = default, GroupAucWeighting weighting = GroupAucWeighting.Impressions)
            where TGroup : notnull, IEquatable<TGroup>
        {
            CheckLengths(scores.Length, labels.Length, nameof(labels));
            CheckLengths(scores.Length, groups.Length, nameof(groups));
            CheckWeights(weights, scores.Length);
            CheckFinite(scores, nameof(scores));
            if (weighting is not (GroupAucWeighting.Impressions or GroupAucWeighting.Positives or GroupAucWeighting.Uniform))
                throw new ArgumentOutOfRangeException(nameof(weighting), weighting, "Unknown group AUC weighting.");
            if (scores.Length == 0)
                return new GroupAucResult { Value = double.NaN };
            using var layout = GroupLayout.Build(groups);
            int max = layout.MaxGroupSize;
            ulong[] keys = ArrayPool<ulong>.Shared.Rent(max);
            float[]? s = layout.Contiguous ? null : ArrayPool<float>.Shared.Rent(max);
            bool[]? l = layout.Contiguous ? null : ArrayPool<bool>.Shared.Rent(max);
            float[]? w = layout.Contiguous || weights.IsEmpty ? null : ArrayPool<float>.Shared.Rent(max);
            try
            {
                double sum = 0, totalWeight = 0;
                int used = 0, skipped = 0;
                long rowsUsed = 0;
                for (int g = 0; g < layout.GroupCount; g++)
                {
                    var gs = layout.Gather(g, scores, s);
                    var gl = layout.Gather(g, labels, l);
                    var gw = weights.IsEmpty ? default : layout.Gather(g, weights, w);
                    double auc = AucCore(gs, gl, gw, keys, out double pw, out double nw);
                    if (double.IsNaN(auc))
                    {
                        skipped++;
                        continue;
                    }
                    double groupWeight = weighting switch
                    {
                        GroupAucWeighting.Positives => pw,
                        GroupAucWeighting.Uniform => 1.0,
                        _ => pw + nw,
                    };
                    sum += groupWeight * auc;
                    totalWeight += groupWeight;
                    used++;
                    rowsUsed += gs.Length;
                }
                return new GroupAucResult
                {
                    Value = totalWeight > 0 ? sum / totalWeight : double.NaN,
                    Groups = layout.GroupCount,
                    GroupsUsed = used,
                    GroupsSkipped = skipped,
                    RowsUsed = rowsUsed,
                };
            }
            finally
            {
                ArrayPool<ulong>.Shared.Return(keys);
                if (s is not null) ArrayPool<float>.Shared.Return(s);
                if (l is not null) ArrayPool<bool>.Shared.Return(l);
                if (w is not null) ArrayPool<float>.Shared.Return(w);
            }
        }

        // ------------------------------------------------------------------ log-loss, means, calibration

        /// <summary>
        /// Mean negative log-likelihood in nats (natural logarithm), as scikit-learn's <c>log_loss</c>:
        /// -Σ wᵢ [yᵢ ln pᵢ + (1-yᵢ) ln(1-pᵢ)] / Σ wᵢ, with pᵢ clipped to [1e-15, 1 - 1e-15]
        /// (<see cref="LogLossEpsilon"/>). ML.NET's <c>BinaryClassification.Evaluate</c> reports log-loss in bits
        /// (base 2): divide this value by ln 2 to compare.
        /// </summary>
        /// <param name="probabilities">Predicted probabilities of the positive class, in [0, 1].</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        /// <returns>The log-loss (≥ 0); NaN for no rows or zero total weight.</returns>
        public static double LogLoss(ReadOnlySpan<float> probabilities, ReadOnlySpan<bool> labels, ReadOnlySpan<float> weights = default)
        {
            CheckLengths(probabilities.Length, labels.Length, nameof(labels));
            CheckWeights(weights, probabilities.Length);
            CheckProbabilities(probabilities, nameof(probabilities));
            double sum = 0, total = 0;
            for (int i = 0; i < probabilities.Length; i++)
            {
                double w = weights.IsEmpty ? 1.0 : weights[i];
                double p = Math.Clamp((double)probabilities[i], LogLossEpsilon, 1.0 - LogLossEpsilon);
                sum -= w * (labels[i] ? Math.Log(p) : Math.Log(1.0 - p));
                total += w;
            }
            return total > 0 ? sum / total : double.NaN;
        }

        /// <summary>Weighted mean of the predicted probabilities (or of any prediction); NaN for no rows.</summary>
        /// <param name="predictions">Predictions.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static double MeanPredicted(ReadOnlySpan<float> predictions, ReadOnlySpan<float> weights = default)
        {
            CheckWeights(weights, predictions.Length);
            CheckFinite(predictions, nameof(predictions));
            double sum = 0, total = 0;
            for (int i = 0; i < predictions.Length; i++)
            {
                double w = weights.IsEmpty ? 1.0 : weights[i];
                sum += w * predictions[i];
                total += w;
            }
            return total > 0 ? sum / total : double.NaN;
        }

        /// <summary>Weighted fraction of positive rows (the observed rate); NaN for no rows.</summary>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static double MeanObserved(ReadOnlySpan<bool> labels, ReadOnlySpan<float> weights = default)
        {
            CheckWeights(weights, labels.Length);
            double sum = 0, total = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                double w = weights.IsEmpty ? 1.0 : weights[i];
                if (labels[i]) sum += w;
                total += w;
            }
            return total > 0 ? sum / total : double.NaN;
        }

        /// <summary>
        /// Expected calibration error: Σ_b (W_b / W) · |mean predicted_b − mean observed_b| over the bins b of the
        /// predicted probability (Naeini et al., 2015; Guo et al., 2017), W_b being the weight (row count) of bin b.
        /// </summary>
        /// <param name="probabilities">Predicted probabilities of the positive class, in [0, 1].</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="bins">Number of bins (≥ 1), 10 by default.</param>
        /// <param name="binning">Equal-width bins on [0, 1] (default) or equal-mass bins (see <see cref="CalibrationBinning"/>).</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        /// <returns>ECE in [0, 1]; NaN for no rows.</returns>
        public static double ExpectedCalibrationError(ReadOnlySpan<float> probabilities, ReadOnlySpan<bool> labels, int bins = 10,
            CalibrationBinning binning = CalibrationBinning.EqualWidth, ReadOnlySpan<float> weights = default)
        {
            var curve = CalibrationCurve(probabilities, labels, bins, binning, weights);
            double total = 0, sum = 0;
            foreach (var b in curve)
            {
                if (b.Weight <= 0)
                    continue;
                total += b.Weight;
                sum += b.Weight * Math.Abs(b.MeanPredicted - b.MeanObserved);
            }
            return total > 0 ? sum / total : double.NaN;
        }

        /// <summary>
        /// The reliability diagram behind <see cref="ExpectedCalibrationError"/>: per bin, its edges, row count,
        /// weight, mean predicted probability and observed positive rate. Equal-width binning returns all
        /// <paramref name="bins"/> bins (empty ones with NaN means); equal-mass binning returns the non-empty bins only.
        /// </summary>
        /// <param name="probabilities">Predicted probabilities of the positive class, in [0, 1].</param>
        /// <param name="labels">True for positive rows.</param>
        /// <param name="bins">Number of bins (≥ 1), 10 by default.</param>
        /// <param name="binning">Equal-width (default) or equal-mass bins.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static CalibrationBin[] CalibrationCurve(ReadOnlySpan<float> probabilities, ReadOnlySpan<bool> labels, int bins = 10,
            CalibrationBinning binning = CalibrationBinning.EqualWidth, ReadOnlySpan<float> weights = default)
        {
            if (bins < 1)
                throw new ArgumentOutOfRangeException(nameof(bins), bins, "The number of calibration bins must be at least 1.");
            if (binning != CalibrationBinning.EqualWidth && binning != CalibrationBinning.EqualMass)
                throw new ArgumentOutOfRangeException(nameof(binning), binning, "Unknown calibration binning.");
            CheckLengths(probabilities.Length, labels.Length, nameof(labels));
            CheckWeights(weights, probabilities.Length);
            CheckProbabilities(probabilities, nameof(probabilities));
            int n = probabilities.Length;
            var count = new long[bins];
            var weight = new double[bins];
            var pred = new double[bins];
            var obs = new double[bins];
            var lo = new double[bins];
            var hi = new double[bins];
            int[] binOf = ArrayPool<int>.Shared.Rent(n);
            try
            {
                if (binning == CalibrationBinning.EqualWidth)
                {
                    for (int b = 0; b < bins; b++)
                    {
                        lo[b] = (double)b / bins;
                        hi[b] = (double)(b + 1) / bins;
                    }
                    for (int i = 0; i < n; i++)
                        binOf[i] = Math.Min(bins - 1, (int)(probabilities[i] * (double)bins));
                }
                else if (n > 0)
                {
                    ulong[] keys = ArrayPool<ulong>.Shared.Rent(n);
                    try
                    {
                        var k = keys.AsSpan(0, n);
                        for (int i = 0; i < n; i++)
                            k[i] = ((ulong)SortableBits(probabilities[i]) << 32) | (uint)i;
                        k.Sort();
                        int blockStart = 0;
                        var seen = new bool[bins];
                        for (int r = 0; r < n; r++)
                        {
                            if (r > 0 && (k[r] >> 32) != (k[r - 1] >> 32))
                                blockStart = r; // a tie block stays in the bin of its first row
                            int b = (int)((long)blockStart * bins / n);
                            int row = (int)(uint)k[r];
                            if (!seen[b])
                            {
                                seen[b] = true;
                                lo[b] = probabilities[row];
                            }
                            hi[b] = probabilities[row];
                            binOf[row] = b;
                        }
                    }
                    finally
                    {
                        ArrayPool<ulong>.Shared.Return(keys);
                    }
                }
                for (int i = 0; i < n; i++)
                {
                    int b = binOf[i];
                    double w = weights.IsEmpty ? 1.0 : weights[i];
                    count[b]++;
                    weight[b] += w;
                    pred[b] += w * probabilities[i];
                    if (labels[i]) obs[b] += w;
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(binOf);
            }
            var result = new List<CalibrationBin>(bins);
            for (int b = 0; b < bins; b++)
            {
                if (binning == CalibrationBinning.EqualMass && count[b] == 0)
                    continue;
                result.Add(new CalibrationBin
                {
                    Lower = lo[b],
                    Upper = hi[b],
                    Count = count[b],
                    Weight = weight[b],
                    MeanPredicted = weight[b] > 0 ? pred[b] / weight[b] : double.NaN,
                    MeanObserved = weight[b] > 0 ? obs[b] / weight[b] : double.NaN,
                });
            }
            return result.ToArray();
        }

        // ------------------------------------------------------------------ regression

        /// <summary>Root mean squared error √(Σ wᵢ (pᵢ − yᵢ)² / Σ wᵢ); NaN for no rows.</summary>
        /// <param name="predictions">Predictions.</param>
        /// <param name="targets">True values.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static double Rmse(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights = default)
        {
            CheckLengths(predictions.Length, targets.Length, nameof(targets));
            CheckWeights(weights, predictions.Length);
            CheckFinite(predictions, nameof(predictions));
            CheckFinite(targets, nameof(targets));
            double sum = 0, total = 0;
            for (int i = 0; i < predictions.Length; i++)
            {
                double w = weights.IsEmpty ? 1.0 : weights[i];
                double d = (double)predictions[i] - targets[i];
                sum += w * d * d;
                total += w;
            }
            return total > 0 ? Math.Sqrt(sum / total) : double.NaN;
        }

        /// <summary>
        /// RMSE on the log1p scale, √(Σ wᵢ (ln(1+max(pᵢ,0)) − ln(1+yᵢ))² / Σ wᵢ): the error of a stay-time (or any
        /// heavy-tailed, non-negative) prediction measured in relative terms (scikit-learn's
        /// <c>root_mean_squared_log_error</c>). Targets must be ≥ 0; a negative prediction is read as 0.
        /// </summary>
        /// <param name="predictions">Predictions in the targets' units (e.g. seconds).</param>
        /// <param name="targets">True values, ≥ 0.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static double RmseLog1p(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights = default)
        {
            CheckLengths(predictions.Length, targets.Length, nameof(targets));
            CheckWeights(weights, predictions.Length);
            CheckFinite(predictions, nameof(predictions));
            CheckFinite(targets, nameof(targets));
            double sum = 0, total = 0;
            for (int i = 0; i < predictions.Length; i++)
            {
                if (targets[i] < 0)
                    throw new ArgumentException($"targets[{i}] = {targets[i]} is negative; RMSE on the log1p scale needs targets >= 0.", nameof(targets));
                double w = weights.IsEmpty ? 1.0 : weights[i];
                double d = Math.Log(1.0 + Math.Max(0.0, predictions[i])) - Math.Log(1.0 + targets[i]);
                sum += w * d * d;
                total += w;
            }
            return total > 0 ? Math.Sqrt(sum / total) : double.NaN;
        }

        /// <summary>Mean absolute error Σ wᵢ |pᵢ − yᵢ| / Σ wᵢ; NaN for no rows.</summary>
        /// <param name="predictions">Predictions.</param>
        /// <param name="targets">True values.</param>
        /// <param name="weights">Optional non-negative row weights (empty = 1 each).</param>
        public static double Mae(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights = default)
        {
            CheckLengths(predictions.Length, targets.Length, nameof(targets));
            CheckWeights(weights, predictions.Length);
            CheckFinite(predictions, nameof(predictions));
            CheckFinite(targets, nameof(targets));
            double sum = 0, total = 0;
            for (int i = 0; i < predictions.Length; i++)
            {
                double w = weights.IsEmpty ? 1.0 : weights[i];
                sum += w * Math.Abs((double)predictions[i] - targets[i]);
                total += w;
            }
            return total > 0 ? sum / total : double.NaN;
        }

        // ------------------------------------------------------------------ list metrics

        /// <summary>
        /// Mean nDCG@k over groups (requests): DCG@k = Σ_{r=1..k} (2^rel_r − 1) / log2(r + 1) over the items
        /// ranked by descending score, divided by the ideal DCG@k of the group. Groups with fewer than k items use
        /// all their items. Ties are broken pessimistically and groups without a relevant item are skipped (see
        /// <see cref="NdcgDetailed{TGroup}"/> for the other rules and the counts).
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="relevance">Graded relevance ≥ 0 (0 = not relevant; e.g. 0/1 clicks, or 0..4 grades).</param>
        /// <param name="groups">Group (request) id of each row; the rows of a group need not be contiguous.</param>
        /// <param name="k">Cut-off (≥ 1); <see cref="int.MaxValue"/> gives the full-list nDCG.</param>
        public static double Ndcg<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<TGroup> groups, int k)
            where TGroup : notnull, IEquatable<TGroup>
            => NdcgDetailed(scores, relevance, groups, k).Value;

        /// <summary>Mean nDCG@k with binary relevance (true = relevant, gain 1); see
        /// <see cref="Ndcg{TGroup}(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{TGroup}, int)"/>.</summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="labels">True for relevant items.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        /// <param name="k">Cut-off (≥ 1).</param>
        public static double Ndcg<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<TGroup> groups, int k)
            where TGroup : notnull, IEquatable<TGroup>
        {
            CheckLengths(scores.Length, labels.Length, nameof(labels));
            float[] rel = ArrayPool<float>.Shared.Rent(labels.Length);
            try
            {
                for (int i = 0; i < labels.Length; i++)
                    rel[i] = labels[i] ? 1f : 0f;
                return NdcgDetailed(scores, rel.AsSpan(0, labels.Length), groups, k).Value;
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rel);
            }
        }

        /// <summary>nDCG@k with a chosen tie rule and handling of groups without a relevant item, and the counts behind it.</summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="relevance">Graded relevance ≥ 0.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        /// <param name="k">Cut-off (≥ 1).</param>
        /// <param name="ties">Tie rule, pessimistic by default.</param>
        /// <param name="noRelevant">Handling of groups whose ideal DCG is 0; skipped by default.</param>
        public static ListMetricResult NdcgDetailed<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<TGroup> groups, int k,
            TieBreaking ties = TieBreaking.Pessimistic, NoRelevantItemsHandling noRelevant = NoRelevantItemsHandling.Skip)
            where TGroup : notnull, IEquatable<TGroup>
        {
            var r = NdcgAndMrr(scores, relevance, groups, [k], ties, noRelevant, out _);
            return r[0];
        }

        /// <summary>
        /// Mean reciprocal rank over groups (requests): 1 / (rank of the first relevant item, relevance &gt; 0), items ranked
        /// by descending score. Ties are broken pessimistically and groups without a relevant item are skipped (see
        /// <see cref="MrrDetailed{TGroup}"/>).
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="relevance">Relevance ≥ 0; an item is relevant when its relevance is &gt; 0.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        public static double Mrr<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<TGroup> groups)
            where TGroup : notnull, IEquatable<TGroup>
            => MrrDetailed(scores, relevance, groups).Value;

        /// <summary>Mean reciprocal rank with boolean labels (true = relevant); see <see cref="Mrr{TGroup}(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{TGroup})"/>.</summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="labels">True for relevant items.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        public static double Mrr<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, ReadOnlySpan<TGroup> groups)
            where TGroup : notnull, IEquatable<TGroup>
        {
            CheckLengths(scores.Length, labels.Length, nameof(labels));
            float[] rel = ArrayPool<float>.Shared.Rent(labels.Length);
            try
            {
                for (int i = 0; i < labels.Length; i++)
                    rel[i] = labels[i] ? 1f : 0f;
                return MrrDetailed(scores, rel.AsSpan(0, labels.Length), groups).Value;
            }
            finally
            {
                ArrayPool<float>.Shared.Return(rel);
            }
        }

        /// <summary>
        /// Mean reciprocal rank with a chosen tie rule (with <see cref="TieBreaking.Average"/>, the exact expectation of
        /// 1/rank over random orders of the tied block holding the first relevant item) and handling of groups
        /// without a relevant item.
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="relevance">Relevance ≥ 0; an item is relevant when its relevance is &gt; 0.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        /// <param name="ties">Tie rule, pessimistic by default.</param>
        /// <param name="noRelevant">Handling of groups without a relevant item; skipped by default.</param>
        public static ListMetricResult MrrDetailed<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<TGroup> groups,
            TieBreaking ties = TieBreaking.Pessimistic, NoRelevantItemsHandling noRelevant = NoRelevantItemsHandling.Skip)
            where TGroup : notnull, IEquatable<TGroup>
        {
            NdcgAndMrr(scores, relevance, groups, [], ties, noRelevant, out var mrr);
            return mrr;
        }

        /// <summary>
        /// nDCG at several cut-offs and MRR in one pass (one sort per group): what the evaluator uses.
        /// </summary>
        /// <typeparam name="TGroup">Group id type.</typeparam>
        /// <param name="scores">Ranking scores (higher ranks first).</param>
        /// <param name="relevance">Graded relevance ≥ 0.</param>
        /// <param name="groups">Group (request) id of each row.</param>
        /// <param name="ks">Cut-offs (each ≥ 1).</param>
        /// <param name="ties">Tie rule.</param>
        /// <param name="noRelevant">Handling of groups without a relevant item.</param>
        /// <param name="mrr">The mean reciprocal rank under the same rules.</param>
        /// <returns>nDCG@k for each k of <paramref name="ks"/>, in the same order.</returns>
        public static ListMetricResult[] NdcgAndMrr<TGroup>(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<TGroup> groups,
            ReadOnlySpan<int> ks, TieBreaking ties, NoRelevantItemsHandling noRelevant, out ListMetricResult mrr)
            where TGroup : notnull, IEquatable<TGroup>
        {
            CheckLengths(scores.Length, relevance.Length, nameof(relevance));
            CheckLengths(scores.Length, groups.Length, nameof(groups));
            CheckFinite(scores, nameof(scores));
            for (int i = 0; i < relevance.Length; i++)
                if (!(relevance[i] >= 0) || float.IsInfinity(relevance[i]))
                    throw new ArgumentException($"relevance[{i}] = {relevance[i]}; relevance must be a finite number >= 0.", nameof(relevance));
            foreach (int k in ks)
                if (k < 1)
                    throw new ArgumentOutOfRangeException(nameof(ks), k, "Every nDCG cut-off k must be at least 1.");
            if (ties is not (TieBreaking.Pessimistic or TieBreaking.Average or TieBreaking.Optimistic))
                throw new ArgumentOutOfRangeException(nameof(ties), ties, "Unknown tie rule.");
            if (noRelevant is not (NoRelevantItemsHandling.Skip or NoRelevantItemsHandling.ScoreZero or NoRelevantItemsHandling.ScoreOne))
                throw new ArgumentOutOfRangeException(nameof(noRelevant), noRelevant, "Unknown handling of groups without a relevant item.");

            int nk = ks.Length;
            var ndcgSum = new double[nk];
            double mrrSum = 0;
            int groupCount = 0, withoutRelevant = 0;
            if (scores.Length > 0)
            {
                using var layout = GroupLayout.Build(groups);
                groupCount = layout.GroupCount;
                int max = layout.MaxGroupSize;
                float[]? s = layout.Contiguous ? null : ArrayPool<float>.Shared.Rent(max);
                float[]? rl = layout.Contiguous ? null : ArrayPool<float>.Shared.Rent(max);
                ulong[] keys = ArrayPool<ulong>.Shared.Rent(max);
                double[] gains = ArrayPool<double>.Shared.Rent(max);
                double[] ideal = ArrayPool<double>.Shared.Rent(max);
                var discounts = Discounts(max);
                var dcg = new double[nk];
                try
                {
                    for (int g = 0; g < layout.GroupCount; g++)
                    {
                        var gs = layout.Gather(g, scores, s);
                        var gr = layout.Gather(g, relevance, rl);
                        int m = gs.Length;
                        var gain = gains.AsSpan(0, m);
                        var ord = keys.AsSpan(0, m);
                        for (int i = 0; i < m; i++)
                        {
                            gain[i] = Math.Pow(2.0, gr[i]) - 1.0;
                            ord[i] = ((ulong)~SortableBits(gs[i]) << 32) | (uint)i; // descending score, then input order
                        }
                        var id = ideal.AsSpan(0, m);
                        gain.CopyTo(id);
                        id.Sort();
                        id.Reverse();
                        if (id[0] <= 0)
                        {
                            withoutRelevant++;
                            double v = noRelevant == NoRelevantItemsHandling.ScoreOne ? 1.0 : 0.0;
                            for (int j = 0; j < nk; j++) ndcgSum[j] += v;
                            mrrSum += v;
                            continue;
                        }
                        ord.Sort();
                        Array.Clear(dcg);
                        double rr = GroupDcg(ord, gain, gr, discounts, ks, ties, dcg);
                        for (int j = 0; j < nk; j++)
                        {
                            int cut = Math.Min(ks[j], m);
                            double idcg = 0;
                            for (int p = 0; p < cut; p++)
                                idcg += id[p] * discounts[p];
                            ndcgSum[j] += dcg[j] / idcg;
                        }
                        mrrSum += rr;
                    }
                }
                finally
                {
                    if (s is not null) ArrayPool<float>.Shared.Return(s);
                    if (rl is not null) ArrayPool<float>.Shared.Return(rl);
                    ArrayPool<ulong>.Shared.Return(keys);
                    ArrayPool<double>.Shared.Return(gains);
                    ArrayPool<double>.Shared.Return(ideal);
                }
            }
            int used = noRelevant == NoRelevantItemsHandling.Skip ? groupCount - withoutRelevant : groupCount;
            var results = new ListMetricResult[nk];
            for (int j = 0; j < nk; j++)
                results[j] = new ListMetricResult
                {
                    Value = used > 0 ? ndcgSum[j] / used : double.NaN,
                    Groups = groupCount,
                    GroupsUsed = used,
                    GroupsWithoutRelevant = withoutRelevant,
                };
            mrr = new ListMetricResult
            {
                Value = used > 0 ? mrrSum / used : double.NaN,
                Groups = groupCount,
                GroupsUsed = used,
                GroupsWithoutRelevant = withoutRelevant,
            };
            return results;
        }

        /// <summary>DCG at each cut-off of one group whose items are sorted by descending score in <paramref name="ord"/>;
        /// returns the reciprocal rank of the first relevant item under the same tie rule.</summary>
        private static double GroupDcg(ReadOnlySpan<ulong> ord, ReadOnlySpan<double> gain, ReadOnlySpan<float> relevance, double[] discounts,
            ReadOnlySpan<int> ks, TieBreaking ties, double[] dcg)
        {
            int m = ord.Length;
            double rr = 0;
            bool found = false;
            Span<double> small = stackalloc double[64];
            int start = 0;
            while (start < m)
            {
                uint block = (uint)(ord[start] >> 32);
                int end = start + 1;
                while (end < m && (uint)(ord[end] >> 32) == block)
                    end++;
                int size = end - start;
                int relevantInBlock = 0;
                for (int p = start; p < end; p++)
                    if (relevance[(int)(uint)ord[p]] > 0)
                        relevantInBlock++;

                if (size == 1)
                {
                    double gv = gain[(int)(uint)ord[start]];
                    for (int j = 0; j < ks.Length; j++)
                        if (start < ks[j])
                            dcg[j] += gv * discounts[start];
                }
                else if (ties == TieBreaking.Average)
                {
                    double mean = 0;
                    for (int p = start; p < end; p++)
                        mean += gain[(int)(uint)ord[p]];
                    mean /= size;
                    for (int j = 0; j < ks.Length; j++)
                    {
                        int stop = Math.Min(end, ks[j]);
                        for (int p = start; p < stop; p++)
                            dcg[j] += mean * discounts[p];
                    }
                }
                else
                {
                    double[]? rented = size > small.Length ? ArrayPool<double>.Shared.Rent(size) : null;
                    var bg = rented is null ? small.Slice(0, size) : rented.AsSpan(0, size);
                    for (int p = start; p < end; p++)
                        bg[p - start] = gain[(int)(uint)ord[p]];
                    bg.Sort();
                    if (ties == TieBreaking.Optimistic)
                        bg.Reverse();
                    for (int j = 0; j < ks.Length; j++)
                    {
                        int stop = Math.Min(end, ks[j]);
                        for (int p = start; p < stop; p++)
                            dcg[j] += bg[p - start] * discounts[p];
                    }
                    if (rented is not null)
                        ArrayPool<double>.Shared.Return(rented);
                }

                if (!found && relevantInBlock > 0)
                {
                    found = true;
                    rr = ties switch
                    {
                        TieBreaking.Optimistic => 1.0 / (start + 1),
                        TieBreaking.Pessimistic => 1.0 / (start + size - relevantInBlock + 1),
                        _ => ExpectedReciprocalRank(start, size, relevantInBlock),
                    };
                }
                start = end;
            }
            return rr;
        }

        /// <summary>E[1 / (start + X)] where X is the 1-based position of the first of r relevant items among m items in random order.</summary>
        private static double ExpectedReciprocalRank(int start, int m, int r)
        {
            // P(X = 1) = r / m; P(X = j + 1) / P(X = j) = (m - j - r + 1) / (m - j).
            double p = (double)r / m, sum = 0;
            for (int j = 1; j <= m - r + 1; j++)
            {
                sum += p / (start + j);
                if (m - j > 0)
                    p *= (double)(m - j - r + 1) / (m - j);
            }
            return sum;
        }

        private static double[] s_discounts = [];

        /// <summary>1 / log2(position + 2) for positions 0..n-1 (shared, grown on demand).</summary>
        private static double[] Discounts(int n)
        {
            var d = s_discounts;
            if (d.Length >= n)
                return d;
            d = new double[Math.Max(n, 256)];
            for (int i = 0; i < d.Length; i++)
                d[i] = 1.0 / Math.Log2(i + 2.0);
            s_discounts = d;
            return d;
        }

        // ------------------------------------------------------------------ helpers

        /// <summary>Maps a float to a uint whose unsigned order is the float's numeric order (-0 and +0 map alike).</summary>
        internal static uint SortableBits(float value)
        {
            if (value == 0f)
                value = 0f; // -0 == +0
            uint b = BitConverter.SingleToUInt32Bits(value);
            return (b & 0x8000_0000u) != 0 ? ~b : b | 0x8000_0000u;
        }

        private static void CheckLengths(int expected, int actual, string name)
        {
            if (expected != actual)
                throw new ArgumentException($"'{name}' has {actual} elements; expected {expected}, one per score.", name);
        }

        private static void CheckWeights(ReadOnlySpan<float> weights, int n)
        {
            if (weights.IsEmpty)
                return;
            if (weights.Length != n)
                throw new ArgumentException($"'weights' has {weights.Length} elements; expected {n} (one per row) or none.", nameof(weights));
            for (int i = 0; i < weights.Length; i++)
                if (!(weights[i] >= 0) || float.IsPositiveInfinity(weights[i]))
                    throw new ArgumentException($"weights[{i}] = {weights[i]}; weights must be finite and >= 0.", nameof(weights));
        }

        private static void CheckFinite(ReadOnlySpan<float> values, string name)
        {
            for (int i = 0; i < values.Length; i++)
                if (!float.IsFinite(values[i]))
                    throw new ArgumentException($"{name}[{i}] = {values[i]}; expected a finite number.", name);
        }

        private static void CheckProbabilities(ReadOnlySpan<float> values, string name)
        {
            for (int i = 0; i < values.Length; i++)
                if (!(values[i] >= 0f && values[i] <= 1f))
                    throw new ArgumentException($"{name}[{i}] = {values[i]}; expected a probability in [0, 1].", name);
        }

        /// <summary>The rows of each group: a dense group index in order of first appearance, offsets and (for
        /// non-contiguous groups) the row permutation, stable within a group.</summary>
        private readonly struct GroupLayout : IDisposable
        {
            private readonly int[] _offsets;
            private readonly int[]? _rows;

            private GroupLayout(int groupCount, int[] offsets, int[]? rows, int maxGroupSize)
            {
                GroupCount = groupCount;
                _offsets = offsets;
                _rows = rows;
                MaxGroupSize = maxGroupSize;
            }

            public int GroupCount { get; }

            public int MaxGroupSize { get; }

            /// <summary>True when every group's rows form one run of the input (no copy needed).</summary>
            public bool Contiguous => _rows is null;

            public static GroupLayout Build<TGroup>(ReadOnlySpan<TGroup> groups) where TGroup : notnull, IEquatable<TGroup>
            {
                int n = groups.Length;
                var map = new Dictionary<TGroup, int>();
                int[] dense = ArrayPool<int>.Shared.Rent(n);
                try
                {
                    bool contiguous = true;
                    int current = -1;
                    for (int i = 0; i < n; i++)
                    {
                        if (i == 0 || !groups[i].Equals(groups[i - 1]))
                        {
                            ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(map, groups[i], out bool exists);
                            if (!exists)
                                slot = map.Count - 1;
                            else
                                contiguous = false;
                            current = slot;
                        }
                        dense[i] = current;
                    }
                    int gc = map.Count;
                    int[] offsets = ArrayPool<int>.Shared.Rent(gc + 1);
                    Array.Clear(offsets, 0, gc + 1);
                    for (int i = 0; i < n; i++)
                        offsets[dense[i] + 1]++;
                    int max = 0;
                    for (int g = 0; g < gc; g++)
                    {
                        max = Math.Max(max, offsets[g + 1]);
                        offsets[g + 1] += offsets[g];
                    }
                    if (contiguous)
                        return new GroupLayout(gc, offsets, null, max);
                    int[] rows = ArrayPool<int>.Shared.Rent(n);
                    int[] next = ArrayPool<int>.Shared.Rent(gc);
                    Array.Copy(offsets, next, gc);
                    for (int i = 0; i < n; i++)
                        rows[next[dense[i]]++] = i;
                    ArrayPool<int>.Shared.Return(next);
                    return new GroupLayout(gc, offsets, rows, max);
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(dense);
                }
            }

            /// <summary>The values of group <paramref name="g"/>: a slice of <paramref name="source"/> for contiguous
            /// groups, else gathered into <paramref name="scratch"/>.</summary>
            public ReadOnlySpan<T> Gather<T>(int g, ReadOnlySpan<T> source, T[]? scratch)
            {
                int start = _offsets[g], length = _offsets[g + 1] - start;
                if (_rows is null)
                    return source.Slice(start, length);
                var dst = scratch.AsSpan(0, length);
                var rows = _rows.AsSpan(start, length);
                for (int i = 0; i < length; i++)
                    dst[i] = source[rows[i]];
                return dst;
            }

            public void Dispose()
            {
                ArrayPool<int>.Shared.Return(_offsets);
                if (_rows is not null)
                    ArrayPool<int>.Shared.Return(_rows);
            }
        }
    }
}
