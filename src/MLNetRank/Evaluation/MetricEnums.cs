namespace MLNetRank.Evaluation
{
    /// <summary>
    /// How list metrics (nDCG, MRR) order items whose scores are exactly equal.
    /// </summary>
    public enum TieBreaking
    {
        /// <summary>
        /// Tied items are ordered worst first (lowest relevance first), so a tie never earns credit: a model
        /// that gives every item the same score gets the worst possible nDCG and MRR. The result does not
        /// depend on the order of the rows. This is the default.
        /// </summary>
        Pessimistic = 0,

        /// <summary>
        /// The expected value over all orders of the tied items (McSherry and Najork, ECIR 2008): each tied
        /// block shares its mean gain over the positions it occupies. nDCG then equals scikit-learn's
        /// <c>ndcg_score</c> (whose default <c>ignore_ties=False</c> does the same).
        /// </summary>
        Average = 1,

        /// <summary>Tied items are ordered best first (highest relevance first): an upper bound.</summary>
        Optimistic = 2,
    }

    /// <summary>
    /// What nDCG and MRR do with a group (request) that has no relevant item (ideal DCG = 0, nothing to find).
    /// </summary>
    public enum NoRelevantItemsHandling
    {
        /// <summary>
        /// The group is left out of the mean and counted separately
        /// (<see cref="ListMetricResult.GroupsWithoutRelevant"/>). This is the default: such a request says
        /// nothing about the order. The metric is NaN when no group has a relevant item.
        /// </summary>
        Skip = 0,

        /// <summary>The group counts with a value of 0 (scikit-learn's <c>ndcg_score</c> convention).</summary>
        ScoreZero = 1,

        /// <summary>The group counts with a value of 1 (LightGBM's and XGBoost's <c>ndcg</c> convention).</summary>
        ScoreOne = 2,
    }

    /// <summary>How <see cref="RankerMetrics.ExpectedCalibrationError"/> bins the predicted probabilities.</summary>
    public enum CalibrationBinning
    {
        /// <summary>
        /// B bins of equal width on [0, 1]: bin b holds probabilities in [b/B, (b+1)/B), the last bin also holds 1.
        /// This is the default (Guo et al., 2017).
        /// </summary>
        EqualWidth = 0,

        /// <summary>
        /// B bins holding (nearly) equal numbers of rows, by rank of the predicted probability. Rows with an equal
        /// probability always share a bin (a tie block goes to the bin of its first row), so fewer than B bins may
        /// be filled and the result never depends on the order of the rows.
        /// </summary>
        EqualMass = 1,
    }

    /// <summary>How <see cref="RankerMetrics.GroupAuc{TGroup}(System.ReadOnlySpan{float}, System.ReadOnlySpan{bool}, System.ReadOnlySpan{TGroup})"/>
    /// weights the AUC of each group in the mean.</summary>
    public enum GroupAucWeighting
    {
        /// <summary>By the group's impressions: its number of rows (or its total row weight when weights are given).
        /// This is the default, as in Alibaba's DIN paper (Zhou et al., 2018).</summary>
        Impressions = 0,

        /// <summary>By the group's positives (e.g. clicks), the other weighting DIN mentions.</summary>
        Positives = 1,

        /// <summary>Every group counts the same.</summary>
        Uniform = 2,
    }
}
