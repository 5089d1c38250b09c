using System.Collections.Generic;

namespace MLNetRank.Evaluation
{
    /// <summary>
    /// Options of <c>mlContext.Ranker().Evaluate(data, options)</c>: the tasks, the group columns of group AUC, the
    /// request column of the list metrics and the rules of each metric. Every default is usable as is.
    /// </summary>
    public sealed class RankingEvaluationOptions
    {
        /// <summary>The tasks to evaluate; see <see cref="RankingTaskSpec.Binary"/> and <see cref="RankingTaskSpec.Regression"/>.
        /// May be empty only for list metrics alone (<see cref="RelevanceColumnName"/>, <see cref="RankingScoreColumnName"/>
        /// and <see cref="RequestColumnName"/> given), e.g. to evaluate a learning-to-rank model on graded labels.</summary>
        public List<RankingTaskSpec> Tasks { get; set; } = new List<RankingTaskSpec>();

        /// <summary>Columns that group rows for group AUC, e.g. <c>UserId</c> and <c>RequestId</c>; one GAUC per column and
        /// binary task. Types: UInt32, Int32, Int64, UInt64, a key type or String. Empty by default.</summary>
        public List<string> GroupColumnNames { get; set; } = new List<string>();

        /// <summary>The request (query) column that defines the lists of nDCG@k and MRR; null (the default) computes no list metrics.
        /// Same types as <see cref="GroupColumnNames"/>. Each binary task then gets list metrics of its score against its label.</summary>
        public string? RequestColumnName { get; set; }

        /// <summary>Optional graded-relevance column (Single ≥ 0, or Boolean) for the overall list metrics
        /// (<see cref="RankingEvaluationResult.List"/>), e.g. the simulator's <c>TrueRelevance</c>. Needs <see cref="RequestColumnName"/>.</summary>
        public string? RelevanceColumnName { get; set; }

        /// <summary>The Single score that ranks the lists of the overall list metrics (e.g. the final blended score);
        /// null uses the score column of the first task (required when there is no task).</summary>
        public string? RankingScoreColumnName { get; set; }

        /// <summary>Optional Single column of non-negative row weights (e.g. inverse propensity weights) for AUC, group AUC,
        /// log-loss, calibration and the regression errors. List metrics are unweighted. Null by default.</summary>
        public string? WeightColumnName { get; set; }

        /// <summary>Cut-offs of nDCG@k; default 1, 3, 5, 10.</summary>
        public int[] NdcgAt { get; set; } = [1, 3, 5, 10];

        /// <summary>Tie rule of the list metrics; <see cref="TieBreaking.Pessimistic"/> by default.</summary>
        public TieBreaking TieBreaking { get; set; } = TieBreaking.Pessimistic;

        /// <summary>Requests without any relevant item: skipped (the default) or scored 0 or 1.</summary>
        public NoRelevantItemsHandling NoRelevantItems { get; set; } = NoRelevantItemsHandling.Skip;

        /// <summary>How group AUC weighs each group; by impressions by default.</summary>
        public GroupAucWeighting GroupAucWeighting { get; set; } = GroupAucWeighting.Impressions;

        /// <summary>Number of bins of the expected calibration error; 10 by default.</summary>
        public int CalibrationBins { get; set; } = 10;

        /// <summary>Binning of the expected calibration error; equal-width by default.</summary>
        public CalibrationBinning CalibrationBinning { get; set; } = CalibrationBinning.EqualWidth;
    }
}
