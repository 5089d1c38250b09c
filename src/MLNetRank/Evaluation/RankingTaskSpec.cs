using System;

namespace MLNetRank.Evaluation
{
    /// <summary>The kind of a task evaluated by <c>mlContext.Ranker().Evaluate</c>.</summary>
    public enum RankingTaskKind
    {
        /// <summary>A binary task (click, buy, follow, ...): AUC, group AUC, log-loss, calibration, list metrics.</summary>
        Binary = 0,

        /// <summary>A regression task (stay time, ...): RMSE, RMSE on the log1p scale, MAE.</summary>
        Regression = 1,
    }

    /// <summary>
    /// One task (objective) of a multi-objective evaluation: which label column and which prediction columns to compare.
    /// Build it with <see cref="Binary"/> or <see cref="Regression"/>.
    /// </summary>
    public sealed class RankingTaskSpec
    {
        private RankingTaskSpec(string name, RankingTaskKind kind, string label, string score, string? probability, bool scoreIsProbability, bool logTransform)
        {
            Name = name;
            Kind = kind;
            LabelColumnName = label;
            ScoreColumnName = score;
            ProbabilityColumnName = probability;
            ScoreIsProbability = scoreIsProbability;
            LogTransform = logTransform;
        }

        /// <summary>Task name, used as the key of the results (e.g. "Click").</summary>
        public string Name { get; }

        /// <summary>Binary or regression.</summary>
        public RankingTaskKind Kind { get; }

        /// <summary>The label column: Boolean or Single for a binary task (a Single label &gt; 0 is positive), Single for a regression task.</summary>
        public string LabelColumnName { get; }

        /// <summary>The Single prediction column: the ranking score of a binary task, the prediction of a regression task.</summary>
        public string ScoreColumnName { get; }

        /// <summary>Binary task: the Single column of predicted probabilities used by log-loss and calibration, or null
        /// (then <see cref="ScoreIsProbability"/> says whether the score column is the probability).</summary>
        public string? ProbabilityColumnName { get; }

        /// <summary>Binary task: true when the score column itself is read as the probability (no probability column was
        /// given and <c>scoreIsProbability</c> was true; values outside [0, 1] then throw). False when a probability column
        /// is given, or when the score column holds raw scores without one (log-loss and calibration are then NaN).</summary>
        public bool ScoreIsProbability { get; }

        /// <summary>Regression task: true when the score column predicts log(1 + label) (e.g. a network trained on
        /// log1p(stay time)) rather than the label itself.</summary>
        public bool LogTransform { get; }

        /// <summary>
        /// A binary task. Ranking metrics (AUC, group AUC, nDCG, MRR) use <paramref name="scoreColumnName"/>; log-loss,
        /// expected calibration error and mean predicted use <paramref name="probabilityColumnName"/> when given, else the
        /// score column when <paramref name="scoreIsProbability"/> (the default).
        /// </summary>
        /// <param name="name">Task name (unique within one evaluation).</param>
        /// <param name="labelColumnName">Boolean label column, or Single (a value &gt; 0 is positive).</param>
        /// <param name="scoreColumnName">Single score column (raw score or probability).</param>
        /// <param name="probabilityColumnName">Optional Single column of probabilities in [0, 1] (e.g. <c>ClickProbability</c>).</param>
        /// <param name="scoreIsProbability">Without a probability column: whether the score column holds probabilities.</param>
        public static RankingTaskSpec Binary(string name, string labelColumnName, string scoreColumnName, string? probabilityColumnName = null, bool scoreIsProbability = true)
            => new RankingTaskSpec(CheckName(name, nameof(name)), RankingTaskKind.Binary, CheckName(labelColumnName, nameof(labelColumnName)),
                CheckName(scoreColumnName, nameof(scoreColumnName)), probabilityColumnName, probabilityColumnName is null && scoreIsProbability, false);

        /// <summary>
        /// A regression task such as stay time: RMSE and MAE in the label's units, and RMSE on the log1p scale.
        /// </summary>
        /// <param name="name">Task name (unique within one evaluation).</param>
        /// <param name="labelColumnName">Single label column (e.g. <c>StayTime</c> in seconds).</param>
        /// <param name="scoreColumnName">Single prediction column.</param>
        /// <param name="logTransform">True when the prediction is on the log1p scale (it predicts log(1 + label)); the
        /// metrics in the label's units then use expm1(prediction). Labels must then be ≥ 0.</param>
        public static RankingTaskSpec Regression(string name, string labelColumnName, string scoreColumnName, bool logTransform = false)
            => new RankingTaskSpec(CheckName(name, nameof(name)), RankingTaskKind.Regression, CheckName(labelColumnName, nameof(labelColumnName)),
                CheckName(scoreColumnName, nameof(scoreColumnName)), null, false, logTransform);

        /// <inheritdoc/>
        public override string ToString() => Kind == RankingTaskKind.Binary
            ? $"{Name}: binary, label '{LabelColumnName}', score '{ScoreColumnName}'" + (ProbabilityColumnName is null ? "" : $", probability '{ProbabilityColumnName}'")
            : $"{Name}: regression, label '{LabelColumnName}', prediction '{ScoreColumnName}'" + (LogTransform ? " (log1p scale)" : "");

        private static string CheckName(string value, string parameter)
            => string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("A non-empty name is required.", parameter) : value;
    }
}
