using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Evaluation;

namespace Microsoft.ML
{
    /// <summary>
    /// Evaluation of multi-objective rankers: <c>mlContext.Ranker().Evaluate(...)</c> computes, in one pass over an
    /// <see cref="IDataView"/> of scored rows, AUC, group AUC (by user, by request, ...), log-loss, calibration
    /// (expected calibration error, mean predicted / observed), nDCG@k and MRR by request for each binary task, and
    /// RMSE (also on the log1p scale) and MAE for each regression task. The metrics themselves are in
    /// <see cref="RankerMetrics"/>, usable on plain arrays.
    /// </summary>
    /// <remarks>
    /// <para>Input columns: labels Boolean or Single (for a binary task a Single label &gt; 0 is positive), scores,
    /// probabilities and weights Single, group and request columns UInt32, Int32, Int64, UInt64, a key type or String
    /// (strings are mapped to ids exactly, without hashing). A missing column or a column of another type throws
    /// <see cref="ArgumentOutOfRangeException"/> naming the column, the expected and the actual type, before any row is
    /// read. A NaN or infinite value, a probability outside [0, 1] or a negative weight or relevance throws
    /// <see cref="InvalidOperationException"/> naming the column and the row. Empty data throws
    /// <see cref="InvalidOperationException"/>.</para>
    /// <para>Undefined metrics are NaN rather than errors: AUC of a task whose labels hold a single class (a warning is
    /// also written to <see cref="MLContext.Log"/>), group AUC when no group holds both classes, list metrics when no
    /// request has a relevant item.</para>
    /// <para>Memory: the needed columns are copied once (4 bytes per row per Single/Boolean column, 8 per group column).</para>
    /// </remarks>
    public static class RankerEvaluationCatalog
    {
        /// <summary>Evaluates every task of <paramref name="options"/> on <paramref name="data"/>.</summary>
        /// <param name="catalog">The MLNetRank catalog (<c>mlContext.Ranker()</c>).</param>
        /// <param name="data">Scored data: labels, the model's scores / probabilities, and the group and request ids.</param>
        /// <param name="options">Tasks, group columns, request column and metric rules.</param>
        /// <returns>Metrics per task and the overall list metrics; print them with <see cref="RankingEvaluationResult.ToMarkdownTable"/>.</returns>
        /// <example>Runnable: <c>notebooks/00-quick-start.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>tests/MLNetRank.Tests/Evaluation/RankerEvaluateTests.cs</c> (<c>dotnet test</c>).</example>
        public static RankingEvaluationResult Evaluate(this RankerCatalog catalog, IDataView data, RankingEvaluationOptions options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return RankingEvaluator.Evaluate(catalog.Context, data, options);
        }

        /// <summary>
        /// Evaluates several tasks at once, e.g.
        /// <c>Evaluate(data, [RankingTaskSpec.Binary("Click", "Click", "ClickProbability"), RankingTaskSpec.Regression("Stay", "StayTime", "StayScore", logTransform: true)], ["UserId", "RequestId"], "RequestId")</c>.
        /// </summary>
        /// <param name="catalog">The MLNetRank catalog (<c>mlContext.Ranker()</c>).</param>
        /// <param name="data">Scored data.</param>
        /// <param name="tasks">The tasks (at least one, unique names).</param>
        /// <param name="groupColumnNames">Columns of group AUC (e.g. user and request); none by default.</param>
        /// <param name="requestColumnName">Request column of nDCG@k and MRR; null computes no list metrics.</param>
        /// <param name="ndcgAt">Cut-offs of nDCG@k; null gives 1, 3, 5, 10.</param>
        /// <example>Runnable: <c>notebooks/00-quick-start.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>tests/MLNetRank.Tests/Evaluation/RankerEvaluateTests.cs</c> (<c>dotnet test</c>).</example>
        public static RankingEvaluationResult Evaluate(this RankerCatalog catalog, IDataView data, IEnumerable<RankingTaskSpec> tasks,
            IEnumerable<string>? groupColumnNames = null, string? requestColumnName = null, IEnumerable<int>? ndcgAt = null)
        {
            if (tasks is null)
                throw new ArgumentNullException(nameof(tasks));
            var options = new RankingEvaluationOptions
            {
                Tasks = tasks.ToList(),
                GroupColumnNames = groupColumnNames?.ToList() ?? new List<string>(),
                RequestColumnName = requestColumnName,
            };
            if (ndcgAt is not null)
                options.NdcgAt = ndcgAt.ToArray();
            return catalog.Evaluate(data, options);
        }

        /// <summary>
        /// Compares the AUC of two scores of the same rows (e.g. a multi-task model against a single-task one, both
        /// applied to the test set) with DeLong's test: both AUCs, the standard error of their difference and a two-sided
        /// p-value. See <see cref="RankerMetrics.CompareAuc"/>.
        /// </summary>
        /// <param name="catalog">The MLNetRank catalog (<c>mlContext.Ranker()</c>).</param>
        /// <param name="data">Data holding the label and both scores.</param>
        /// <param name="labelColumnName">Boolean or Single label column (Single &gt; 0 is positive).</param>
        /// <param name="scoreColumnNameA">Single score column of the first model.</param>
        /// <param name="scoreColumnNameB">Single score column of the second model.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Evaluation/AucComparisonTests.cs</c> (<c>dotnet test</c>).</example>
        public static AucComparison CompareAuc(this RankerCatalog catalog, IDataView data, string labelColumnName, string scoreColumnNameA, string scoreColumnNameB)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return RankingEvaluator.CompareAuc(catalog.Context, data, labelColumnName, scoreColumnNameA, scoreColumnNameB);
        }

        /// <summary>
        /// Evaluates one binary task: AUC, log-loss, calibration and, with a group column, group AUC by that column and
        /// nDCG@k / MRR with the group as the request.
        /// </summary>
        /// <param name="catalog">The MLNetRank catalog (<c>mlContext.Ranker()</c>).</param>
        /// <param name="data">Scored data.</param>
        /// <param name="labelColumnName">Boolean or Single label column (Single &gt; 0 is positive).</param>
        /// <param name="scoreColumnName">Single score column.</param>
        /// <param name="groupColumnName">Optional group / request column (user or request id).</param>
        /// <param name="probabilityColumnName">Optional Single probability column for log-loss and calibration.</param>
        /// <param name="scoreIsProbability">Without a probability column: whether the score column holds probabilities
        /// (true by default; false for raw scores, which leaves log-loss and calibration NaN).</param>
        /// <example>Runnable: <c>notebooks/00-quick-start.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>tests/MLNetRank.Tests/Evaluation/RankerEvaluateTests.cs</c> (<c>dotnet test</c>).</example>
        public static BinaryTaskMetrics Evaluate(this RankerCatalog catalog, IDataView data, string labelColumnName = "Label",
            string scoreColumnName = "Score", string? groupColumnName = null, string? probabilityColumnName = null, bool scoreIsProbability = true)
        {
            var options = new RankingEvaluationOptions
            {
                Tasks = [RankingTaskSpec.Binary(labelColumnName, labelColumnName, scoreColumnName, probabilityColumnName, scoreIsProbability)],
                RequestColumnName = groupColumnName,
            };
            if (groupColumnName is not null)
                options.GroupColumnNames.Add(groupColumnName);
            return catalog.Evaluate(data, options).Binary[labelColumnName];
        }
    }
}
