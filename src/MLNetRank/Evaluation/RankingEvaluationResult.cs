using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MLNetRank.Evaluation
{
    /// <summary>nDCG@k and MRR of one ranking score over the requests of the data.</summary>
    public sealed class ListMetrics
    {
        internal ListMetrics(string scoreColumnName, string relevanceColumnName, string requestColumnName,
            IReadOnlyDictionary<int, double> ndcg, double mrr, ListMetricResult counts)
        {
            ScoreColumnName = scoreColumnName;
            RelevanceColumnName = relevanceColumnName;
            RequestColumnName = requestColumnName;
            Ndcg = ndcg;
            Mrr = mrr;
            Requests = counts.Groups;
            RequestsUsed = counts.GroupsUsed;
            RequestsWithoutRelevant = counts.GroupsWithoutRelevant;
        }

        /// <summary>The score column that ranks each request.</summary>
        public string ScoreColumnName { get; }

        /// <summary>The relevance (or binary label) column.</summary>
        public string RelevanceColumnName { get; }

        /// <summary>The request column that defines the lists.</summary>
        public string RequestColumnName { get; }

        /// <summary>Mean nDCG@k over requests, by cut-off k (see <see cref="RankingMetrics.Ndcg{TGroup}(System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, System.ReadOnlySpan{TGroup}, int)"/>).</summary>
        public IReadOnlyDictionary<int, double> Ndcg { get; }

        /// <summary>Mean reciprocal rank of the first relevant item over requests.</summary>
        public double Mrr { get; }

        /// <summary>Number of distinct requests.</summary>
        public int Requests { get; }

        /// <summary>Requests that entered the means.</summary>
        public int RequestsUsed { get; }

        /// <summary>Requests without any relevant item (skipped by default, see <see cref="NoRelevantItemsHandling"/>).</summary>
        public int RequestsWithoutRelevant { get; }
    }

    /// <summary>Metrics of one binary task (click, buy, ...).</summary>
    public sealed class BinaryTaskMetrics
    {
        internal BinaryTaskMetrics(RankingTaskSpec task) => Task = task;

        /// <summary>The task these metrics describe.</summary>
        public RankingTaskSpec Task { get; }

        /// <summary>Task name.</summary>
        public string Name => Task.Name;

        /// <summary>Number of rows.</summary>
        public long Count { get; internal set; }

        /// <summary>Number of positive rows.</summary>
        public long Positives { get; internal set; }

        /// <summary>Area under the ROC curve of the score (ties count 1/2; weighted when a weight column is given);
        /// NaN when the data hold a single class.</summary>
        public double Auc { get; internal set; }

        /// <summary>DeLong standard error of <see cref="Auc"/> (a 95 % interval is AUC ± 1.96 × this); NaN with a weight
        /// column or fewer than 2 rows of either class.</summary>
        public double AucStandardError { get; internal set; } = double.NaN;

        /// <summary>Group AUC by group column name (see <see cref="RankingEvaluationOptions.GroupColumnNames"/>).</summary>
        public IReadOnlyDictionary<string, double> GAuc { get; internal set; } = new Dictionary<string, double>();

        /// <summary>Group AUC with its group counts, by group column name.</summary>
        public IReadOnlyDictionary<string, GroupAucResult> GAucDetails { get; internal set; } = new Dictionary<string, GroupAucResult>();

        /// <summary>Log-loss in nats (natural log, probabilities clipped at 1e-15); NaN without probabilities.</summary>
        public double LogLoss { get; internal set; } = double.NaN;

        /// <summary>Expected calibration error; NaN without probabilities.</summary>
        public double Ece { get; internal set; } = double.NaN;

        /// <summary>Mean predicted probability; NaN without probabilities.</summary>
        public double MeanPredicted { get; internal set; } = double.NaN;

        /// <summary>Observed positive rate.</summary>
        public double MeanObserved { get; internal set; }

        /// <summary>Mean predicted over observed rate (1 for a calibrated model on average); NaN without probabilities or positives.</summary>
        public double CalibrationRatio => MeanObserved > 0 ? MeanPredicted / MeanObserved : double.NaN;

        /// <summary>The reliability diagram behind <see cref="Ece"/>; empty without probabilities.</summary>
        public IReadOnlyList<CalibrationBin> CalibrationCurve { get; internal set; } = Array.Empty<CalibrationBin>();

        /// <summary>nDCG@k and MRR of the task's score against its label by request; null without a request column.</summary>
        public ListMetrics? List { get; internal set; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "{0}: AUC={1:F4} {2}LogLoss={3:F4} ECE={4:F4} MeanPredicted={5:F4} MeanObserved={6:F4} Count={7} Positives={8}",
            Name, Auc, string.Concat(GAuc.Select(g => string.Format(CultureInfo.InvariantCulture, "GAUC({0})={1:F4} ", g.Key, g.Value))),
            LogLoss, Ece, MeanPredicted, MeanObserved, Count, Positives);
    }

    /// <summary>Metrics of one regression task (stay time, ...).</summary>
    public sealed class RegressionTaskMetrics
    {
        internal RegressionTaskMetrics(RankingTaskSpec task) => Task = task;

        /// <summary>The task these metrics describe.</summary>
        public RankingTaskSpec Task { get; }

        /// <summary>Task name.</summary>
        public string Name => Task.Name;

        /// <summary>Number of rows.</summary>
        public long Count { get; internal set; }

        /// <summary>Root mean squared error in the label's units (with a log-scale prediction, of expm1(prediction)).</summary>
        public double Rmse { get; internal set; }

        /// <summary>Root mean squared error on the log1p scale: of log1p(prediction) (a negative prediction read as 0),
        /// or of the prediction itself when it is on the log1p scale, against log1p(label). NaN when a label is negative.</summary>
        public double RmseLog1p { get; internal set; }

        /// <summary>Mean absolute error in the label's units.</summary>
        public double Mae { get; internal set; }

        /// <summary>Mean prediction in the label's units.</summary>
        public double MeanPredicted { get; internal set; }

        /// <summary>Mean label.</summary>
        public double MeanObserved { get; internal set; }

        /// <inheritdoc/>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "{0}: RMSE={1:F4} RMSE(log1p)={2:F4} MAE={3:F4} MeanPredicted={4:F4} MeanObserved={5:F4} Count={6}",
            Name, Rmse, RmseLog1p, Mae, MeanPredicted, MeanObserved, Count);
    }

    /// <summary>
    /// The result of <c>mlContext.Ranker().Evaluate</c>: metrics per binary and regression task, and the overall list
    /// metrics. <see cref="ToMarkdownTable"/> prints them.
    /// </summary>
    public sealed class RankingEvaluationResult
    {
        private readonly List<BinaryTaskMetrics> _binary;
        private readonly List<RegressionTaskMetrics> _regression;

        internal RankingEvaluationResult(long rows, List<BinaryTaskMetrics> binary, List<RegressionTaskMetrics> regression, ListMetrics? list, int[] ndcgAt)
        {
            Rows = rows;
            _binary = binary;
            _regression = regression;
            Binary = binary.ToDictionary(b => b.Name, StringComparer.Ordinal);
            Regression = regression.ToDictionary(r => r.Name, StringComparer.Ordinal);
            List = list;
            NdcgAt = ndcgAt;
        }

        /// <summary>Number of rows evaluated.</summary>
        public long Rows { get; }

        /// <summary>Metrics of the binary tasks, by task name.</summary>
        public IReadOnlyDictionary<string, BinaryTaskMetrics> Binary { get; }

        /// <summary>Metrics of the regression tasks, by task name.</summary>
        public IReadOnlyDictionary<string, RegressionTaskMetrics> Regression { get; }

        /// <summary>Overall list metrics of <see cref="RankingEvaluationOptions.RankingScoreColumnName"/> against
        /// <see cref="RankingEvaluationOptions.RelevanceColumnName"/>; null when no relevance column was given.</summary>
        public ListMetrics? List { get; }

        /// <summary>The nDCG cut-offs evaluated.</summary>
        public IReadOnlyList<int> NdcgAt { get; }

        /// <summary>
        /// The metrics as Markdown tables: one row per binary task (count, positives, AUC, one GAUC per group column,
        /// log-loss, ECE, mean predicted / observed, nDCG@k, MRR), one row per regression task (RMSE, RMSE on log1p, MAE),
        /// and the overall list metrics. NaN prints as "n/a".
        /// </summary>
        public string ToMarkdownTable()
        {
            var sb = new StringBuilder();
            if (_binary.Count > 0)
            {
                var groupCols = _binary.SelectMany(b => b.GAuc.Keys).Distinct().ToList();
                bool list = _binary.Any(b => b.List is not null);
                var head = new List<string> { "Task", "Count", "Positives", "AUC" };
                head.AddRange(groupCols.Select(g => $"GAUC({g})"));
                head.AddRange(["LogLoss", "ECE", "MeanPred", "MeanObs"]);
                if (list)
                {
                    head.AddRange(NdcgAt.Select(k => $"nDCG@{k}"));
                    head.Add("MRR");
                }
                AppendRow(sb, head);
                AppendRow(sb, head.Select((_, i) => i == 0 ? "---" : "---:"));
                foreach (var b in _binary)
                {
                    var row = new List<string> { b.Name, b.Count.ToString(CultureInfo.InvariantCulture), b.Positives.ToString(CultureInfo.InvariantCulture), F(b.Auc) };
                    row.AddRange(groupCols.Select(g => b.GAuc.TryGetValue(g, out var v) ? F(v) : "n/a"));
                    row.AddRange([F(b.LogLoss), F(b.Ece), F(b.MeanPredicted), F(b.MeanObserved)]);
                    if (list)
                    {
                        row.AddRange(NdcgAt.Select(k => b.List is not null && b.List.Ndcg.TryGetValue(k, out var v) ? F(v) : "n/a"));
                        row.Add(b.List is null ? "n/a" : F(b.List.Mrr));
                    }
                    AppendRow(sb, row);
                }
            }
            if (_regression.Count > 0)
            {
                if (sb.Length > 0) sb.AppendLine();
                AppendRow(sb, ["Task", "Count", "RMSE", "RMSE(log1p)", "MAE", "MeanPred", "MeanObs"]);
                AppendRow(sb, ["---", "---:", "---:", "---:", "---:", "---:", "---:"]);
                foreach (var r in _regression)
                    AppendRow(sb, [r.Name, r.Count.ToString(CultureInfo.InvariantCulture), F(r.Rmse), F(r.RmseLog1p), F(r.Mae), F(r.MeanPredicted), F(r.MeanObserved)]);
            }
            if (List is not null)
            {
                if (sb.Length > 0) sb.AppendLine();
                var head = new List<string> { "Ranking", "Requests" };
                head.AddRange(NdcgAt.Select(k => $"nDCG@{k}"));
                head.Add("MRR");
                AppendRow(sb, head);
                AppendRow(sb, head.Select((_, i) => i == 0 ? "---" : "---:"));
                var row = new List<string> { $"{List.ScoreColumnName} vs {List.RelevanceColumnName}", $"{List.RequestsUsed}/{List.Requests}" };
                row.AddRange(NdcgAt.Select(k => List.Ndcg.TryGetValue(k, out var v) ? F(v) : "n/a"));
                row.Add(F(List.Mrr));
                AppendRow(sb, row);
            }
            return sb.ToString();
        }

        /// <summary>The same as <see cref="ToMarkdownTable"/>.</summary>
        public override string ToString() => ToMarkdownTable();

        private static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);

        private static void AppendRow(StringBuilder sb, IEnumerable<string> cells) => sb.Append("| ").AppendJoin(" | ", cells).AppendLine(" |");
    }
}
