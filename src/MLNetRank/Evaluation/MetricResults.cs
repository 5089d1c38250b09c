using System.Globalization;

namespace MLNetRank.Evaluation
{
    /// <summary>Group AUC with the counts behind it (see <see cref="RankerMetrics.GroupAucDetailed{TGroup}"/>).</summary>
    public readonly record struct GroupAucResult
    {
        /// <summary>The weighted mean of the per-group AUCs; NaN when no group has both classes.</summary>
        public double Value { get; init; }

        /// <summary>Number of distinct groups in the input.</summary>
        public int Groups { get; init; }

        /// <summary>Groups that entered the mean (they hold at least one positive and one negative row).</summary>
        public int GroupsUsed { get; init; }

        /// <summary>Groups left out because all their rows have the same label (their AUC is undefined).</summary>
        public int GroupsSkipped { get; init; }

        /// <summary>Rows belonging to the groups that entered the mean.</summary>
        public long RowsUsed { get; init; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "GAUC={0:F6} (groups used {1} of {2}, skipped {3} single-class, rows used {4})", Value, GroupsUsed, Groups, GroupsSkipped, RowsUsed);
    }

    /// <summary>A list metric (nDCG@k or MRR) averaged over groups, with the counts behind it.</summary>
    public readonly record struct ListMetricResult
    {
        /// <summary>The mean over the groups that count (see <see cref="NoRelevantItemsHandling"/>); NaN when none counts.</summary>
        public double Value { get; init; }

        /// <summary>Number of distinct groups (requests) in the input.</summary>
        public int Groups { get; init; }

        /// <summary>Groups that entered the mean.</summary>
        public int GroupsUsed { get; init; }

        /// <summary>Groups without any relevant item (relevance &gt; 0); they are skipped or scored according to
        /// the <see cref="NoRelevantItemsHandling"/> in use.</summary>
        public int GroupsWithoutRelevant { get; init; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "{0:F6} (groups used {1} of {2}, {3} without a relevant item)", Value, GroupsUsed, Groups, GroupsWithoutRelevant);
    }

    /// <summary>One bin of a reliability diagram (see <see cref="RankerMetrics.CalibrationCurve"/>).</summary>
    public readonly record struct CalibrationBin
    {
        /// <summary>Lower edge of the bin: b/B for equal-width bins, the smallest probability in the bin for equal-mass bins.</summary>
        public double Lower { get; init; }

        /// <summary>Upper edge of the bin: (b+1)/B for equal-width bins, the largest probability in the bin for equal-mass bins.</summary>
        public double Upper { get; init; }

        /// <summary>Number of rows in the bin.</summary>
        public long Count { get; init; }

        /// <summary>Total weight of the rows in the bin (equal to <see cref="Count"/> without weights).</summary>
        public double Weight { get; init; }

        /// <summary>Weighted mean predicted probability in the bin (NaN for an empty bin).</summary>
        public double MeanPredicted { get; init; }

        /// <summary>Weighted fraction of positives in the bin (NaN for an empty bin).</summary>
        public double MeanObserved { get; init; }
    }
}
