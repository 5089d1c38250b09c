using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>Options of <see cref="ClickValidator"/>: the columns of the validation click log and of the scored items.</summary>
    public sealed class ClickValidationOptions
    {
        /// <summary>Item id, in the click log and in every scored view (String, UInt32, Int32, UInt64 or Int64). Default <c>"ItemId"</c>.</summary>
        public string ItemColumnName { get; set; } = "ItemId";

        /// <summary>Click label of the log (Boolean, or Single &gt; 0 = click). Default <c>"Click"</c>.</summary>
        public string LabelColumnName { get; set; } = "Click";

        /// <summary>Propensity θ of the position each impression was shown at (Single &gt; 0), or null (the default) for a log of
        /// <b>randomized</b> sessions, where the raw clicks are already unbiased up to a constant per group (every item of a
        /// group is equally likely at every position).</summary>
        public string? PropensityColumnName { get; set; }

        /// <summary>Clip of 1/θ when <see cref="PropensityColumnName"/> is given (≥ 1). Default +∞ (no clipping).</summary>
        public double MaximumWeight { get; set; } = double.PositiveInfinity;

        /// <summary>Group (query, request) of each scored item: String, UInt32, Int32, UInt64, Int64 or a key. Default <c>"GroupId"</c>.</summary>
        public string GroupColumnName { get; set; } = "GroupId";

        /// <summary>Score of each scored item (Single, finite; higher = ranked first). Default <c>"Score"</c>.</summary>
        public string ScoreColumnName { get; set; } = "Score";

        /// <summary>Cut-off k of the discounted click gain (ranks 1..k count). Default 10.</summary>
        public int TruncationLevel { get; set; } = 10;
    }

    /// <summary>The validation click metric of one candidate model.</summary>
    public readonly struct ClickValidationScore
    {
        /// <summary>Creates a score.</summary>
        /// <param name="name">The candidate's name.</param>
        /// <param name="value">Its click nDCG@k on the validation log.</param>
        public ClickValidationScore(string name, double value)
        {
            Name = name;
            Value = value;
        }

        /// <summary>The candidate's name.</summary>
        public string Name { get; }

        /// <summary>Click nDCG@k: Σ over groups of Σ w(item) / log2(1 + rank) over the model's top k, divided by the same sum
        /// for the ideal order of w (w = the item's validation clicks, weighted by min(1/θ, M) when propensities are given).</summary>
        public double Value { get; }

        /// <inheritdoc />
        public override string ToString() => FormattableString.Invariant($"{Name}: {Value:F4}");
    }

    /// <summary>The outcome of <see cref="ClickValidator.Select"/>: every candidate's metric, best first.</summary>
    public sealed class ClickValidationResult
    {
        internal ClickValidationResult(IReadOnlyList<ClickValidationScore> scores) => Scores = scores;

        /// <summary>Every candidate's validation metric, best first (ties keep the candidates' order).</summary>
        public IReadOnlyList<ClickValidationScore> Scores { get; }

        /// <summary>The name of the candidate with the highest validation metric.</summary>
        public string Best => Scores[0].Name;

        /// <summary>The highest validation metric.</summary>
        public double BestValue => Scores[0].Value;
    }

    /// <summary>
    /// Chooses among rankers trained on clicks — naive or debiased by any estimator, clip and propensity source — by a click
    /// metric on a held-out <b>validation</b> click log, never on true relevance: the click nDCG@k of each candidate's ranking
    /// of the groups' items, with each item's gain its validation clicks (raw clicks on randomized sessions, or clicks
    /// weighted by min(1/θ, M) on logged ones).
    /// </summary>
    /// <remarks>
    /// <para>On randomized sessions (every item of a group equally likely at every shown position) the expected validation
    /// clicks of an item are c_g · relevance(item) with c_g the same for every item of its group, whatever the examination
    /// curve: the metric ranks candidates as nDCG@k with gains proportional to the true relevance would, in expectation,
    /// without any propensity estimate. This is the way to choose the propensity source (randomization, regression EM,
    /// dual learning) and the estimator (naive, IPS and its clip, SNIPS, doubly robust) on equal terms: a metric that weights
    /// logged clicks by one curve favours the candidates trained with that curve. Items never shown in the validation log
    /// have gain 0; items of the log absent from a scored view are left out of that view's metric.</para>
    /// <para>Create it with <c>mlContext.Ranker().CreateClickValidator(validationClicks, options)</c>; the log is read once,
    /// and each <see cref="Evaluate"/> reads one scored view (one row per item: group, item id, score).</para>
    /// </remarks>
    public sealed class ClickValidator
    {
        private readonly ClickValidationOptions _options;
        private readonly Dictionary<string, double> _gain;

        internal ClickValidator(IDataView clicks, ClickValidationOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (clicks is null)
                throw new ArgumentNullException(nameof(clicks));
            if (options.TruncationLevel < 1)
                throw new ArgumentOutOfRangeException(nameof(ClickValidationOptions.TruncationLevel), options.TruncationLevel, "TruncationLevel must be >= 1.");
            if (!(options.MaximumWeight >= 1))
                throw new ArgumentOutOfRangeException(nameof(ClickValidationOptions.MaximumWeight), options.MaximumWeight, "MaximumWeight must be >= 1 (+∞ = no clipping).");
            var idCol = Check.Column(clicks.Schema, options.ItemColumnName, "item id", ClickRelevanceEstimator.IdTypes, ClickRelevanceEstimator.IsId);
            var lCol = Check.Column(clicks.Schema, options.LabelColumnName, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType);
            DataViewSchema.Column? pCol = options.PropensityColumnName is null ? null
                : Check.Column(clicks.Schema, options.PropensityColumnName, "propensity", "Single (> 0)", t => t == NumberDataViewType.Single);
            var cols = new List<DataViewSchema.Column> { idCol, lCol };
            if (pCol.HasValue)
                cols.Add(pCol.Value);
            _gain = new Dictionary<string, double>();
            using (var cursor = clicks.GetRowCursor(cols))
            {
                var id = ClickRelevanceEstimator.IdGetter(cursor, idCol);
                var label = DebiasingColumns.LabelGetter(cursor, lCol);
                var prop = pCol.HasValue ? cursor.GetGetter<float>(pCol.Value) : null;
                float p = 1;
                for (long row = 0; cursor.MoveNext(); row++)
                {
                    string item = id();
                    bool click = label(row);
                    if (prop is not null)
                    {
                        prop(ref p);
                        if (!(p > 0) || float.IsInfinity(p))
                            throw new InvalidOperationException(FormattableString.Invariant(
                                $"Column '{options.PropensityColumnName}' row {row}: propensity {p} is not a finite number > 0."));
                    }
                    _gain.TryGetValue(item, out double g);
                    _gain[item] = g + (click ? Math.Min(1.0 / p, options.MaximumWeight) : 0);
                    Impressions++;
                    Clicks += click ? 1 : 0;
                }
            }
            if (Clicks == 0)
                throw new InvalidOperationException($"The validation log has no click in column '{options.LabelColumnName}' ({Impressions} rows): nothing to validate on.");
        }

        /// <summary>Rows (impressions) of the validation log.</summary>
        public long Impressions { get; }

        /// <summary>Clicks of the validation log.</summary>
        public long Clicks { get; }

        /// <summary>Distinct items of the validation log.</summary>
        public int Items => _gain.Count;

        /// <summary>The click nDCG@k of one candidate: <paramref name="scored"/> holds one row per item (group, item id, score),
        /// typically a trained model applied to the items of the validation groups.</summary>
        /// <param name="scored">The scored items.</param>
        /// <returns>The click nDCG@k in [0, 1] (1 = the candidate orders every group as the validation clicks do).</returns>
        public double Evaluate(IDataView scored)
        {
            if (scored is null)
                throw new ArgumentNullException(nameof(scored));
            var o = _options;
            var gCol = Check.Column(scored.Schema, o.GroupColumnName, "group id", ClickRelevanceEstimator.IdTypes + " or a UInt32 key",
                t => ClickRelevanceEstimator.IsId(t) || t is KeyDataViewType { RawType: var r } && r == typeof(uint));
            var idCol = Check.Column(scored.Schema, o.ItemColumnName, "item id", ClickRelevanceEstimator.IdTypes, ClickRelevanceEstimator.IsId);
            var sCol = Check.Column(scored.Schema, o.ScoreColumnName, "score", "Single (finite)", t => t == NumberDataViewType.Single);
            var groups = new Dictionary<string, List<(float Score, double Gain)>>();
            long matched = 0;
            using (var cursor = scored.GetRowCursor(new[] { gCol, idCol, sCol }))
            {
                Func<string> group;
                if (gCol.Type is KeyDataViewType)
                {
                    var kg = cursor.GetGetter<uint>(gCol);
                    uint k = 0;
                    group = () => { kg(ref k); return k.ToString(CultureInfo.InvariantCulture); };
                }
                else
                    group = ClickRelevanceEstimator.IdGetter(cursor, gCol);
                var id = ClickRelevanceEstimator.IdGetter(cursor, idCol);
                var score = cursor.GetGetter<float>(sCol);
                float s = 0;
                for (long row = 0; cursor.MoveNext(); row++)
                {
                    score(ref s);
                    Check.Finite(s, o.ScoreColumnName, row);
                    string g = group();
                    if (!_gain.TryGetValue(id(), out double gain))
                        gain = 0;
                    else
                        matched++;
                    if (!groups.TryGetValue(g, out var list))
                        groups[g] = list = new List<(float, double)>();
                    list.Add((s, gain));
                }
            }
            if (matched == 0)
                throw new InvalidOperationException($"No item of the scored view (column '{o.ItemColumnName}') appears in the validation log: nothing to compare.");
            double dcg = 0, ideal = 0;
            foreach (var list in groups.Values)
            {
                dcg += Dcg(list, o.TruncationLevel);
                ideal += IdealDcg(list, o.TruncationLevel);
            }
            return ideal > 0 ? dcg / ideal : 0;
        }

        /// <summary>Evaluates every candidate and returns them best first; <see cref="ClickValidationResult.Best"/> is the choice.</summary>
        /// <param name="candidates">(name, scored items) per candidate; names must differ.</param>
        public ClickValidationResult Select(IEnumerable<KeyValuePair<string, IDataView>> candidates)
        {
            if (candidates is null)
                throw new ArgumentNullException(nameof(candidates));
            var list = candidates.ToList();
            if (list.Count == 0)
                throw new ArgumentException("At least one candidate must be given.", nameof(candidates));
            if (list.Select(c => c.Key).Distinct().Count() != list.Count)
                throw new ArgumentException("Candidate names must differ.", nameof(candidates));
            var scores = list.Select((c, i) => (Score: new ClickValidationScore(c.Key, Evaluate(c.Value)), Index: i))
                .OrderByDescending(t => t.Score.Value).ThenBy(t => t.Index).Select(t => t.Score).ToList();
            return new ClickValidationResult(scores);
        }

        private static double Discount(int rank) => 1.0 / Math.Log(1 + rank, 2);

        /// <summary>DCG@k of the items ordered by score; tied scores share the mean discount of their block (no order within a tie).</summary>
        private static double Dcg(List<(float Score, double Gain)> items, int k)
        {
            var sorted = items.OrderByDescending(t => t.Score).ToList();
            double sum = 0;
            for (int start = 0; start < sorted.Count && start < k;)
            {
                int end = start;
                while (end < sorted.Count && sorted[end].Score == sorted[start].Score)
                    end++;
                double disc = 0;
                for (int r = start + 1; r <= end; r++)
                    disc += r <= k ? Discount(r) : 0;
                disc /= end - start;
                for (int i = start; i < end; i++)
                    sum += sorted[i].Gain * disc;
                start = end;
            }
            return sum;
        }

        private static double IdealDcg(List<(float Score, double Gain)> items, int k)
        {
            var g = items.Select(t => t.Gain).OrderByDescending(v => v).Take(k).ToList();
            double sum = 0;
            for (int r = 1; r <= g.Count; r++)
                sum += g[r - 1] * Discount(r);
            return sum;
        }
    }
}
