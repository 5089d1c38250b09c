using System;
using MLNetRank.Common;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Per-position towers of a task (position debiasing, method 3): <c>MaximumPosition + 1</c> towers on the task's shared
    /// representation, one per display position <c>1..K</c> (K = <see cref="MaximumPosition"/>) and one for every later
    /// position ("K+"), the position-bucketing rule of every <c>MaximumPosition</c> in MLNetRank. In training,
    /// each row's loss is taken on the tower of its position bucket only, so tower <c>k</c> learns <c>p(task | item, shown at
    /// k)</c>. At serving no position is needed: <c>{Task}Score</c> and <c>{Task}Probability</c> come from the tower of
    /// <see cref="ServingPosition"/>; with <see cref="OutputAllPositions"/> the model also outputs all towers as vectors
    /// <c>{Task}PositionScores</c> and <c>{Task}PositionProbabilities</c> (<c>K + 1</c> values: positions
    /// <c>1..K</c>, then "K+"), the input of position-aware allocation
    /// (<c>MLNetRank.Debiasing.PositionAllocation</c>).
    /// </summary>
    public sealed class PerPositionTowers
    {
        /// <summary>Per-position towers reading the display position from <paramref name="positionColumnName"/>.</summary>
        /// <param name="positionColumnName">Training-only column with the 1-based display position (Int32 or Single, whole numbers &gt;= 1).</param>
        /// <param name="maximumPosition">K: positions with a tower of their own; later positions share the "K+" tower. Default 10.</param>
        public PerPositionTowers(string positionColumnName = "Position", int maximumPosition = PositionBuckets.DefaultMaximumPosition)
        {
            PositionColumnName = positionColumnName;
            MaximumPosition = maximumPosition;
        }

        /// <summary>Training-only column holding the 1-based display position: Int32 or Single, whole numbers &gt;= 1
        /// (a missing, fractional or smaller value fails with the column name and row). Default <c>"Position"</c>.</summary>
        public string PositionColumnName { get; set; }

        /// <summary>K: positions <c>1..K</c> get a tower each, positions above K share one more tower. Default 10.</summary>
        public int MaximumPosition { get; set; }

        /// <summary>The position (1..K+1; K+1 = the "K+" tower) whose tower gives <c>{Task}Score</c> and
        /// <c>{Task}Probability</c>. Default 1 (the top slot: "how good is this item where it matters most").</summary>
        public int ServingPosition { get; set; } = 1;

        /// <summary>Also output <c>{Task}PositionScores</c> (and, for a binary task, <c>{Task}PositionProbabilities</c>):
        /// vectors of <c>K + 1</c> values, one per tower. Default false.</summary>
        public bool OutputAllPositions { get; set; }

        /// <summary>Hidden layers of each position's tower; null uses the task's tower layers. Default null.</summary>
        public int[]? TowerLayers { get; set; }

        internal void Validate(string task)
        {
            if (string.IsNullOrWhiteSpace(PositionColumnName))
                throw new ArgumentException($"Task '{task}': PerPositionTowers.PositionColumnName is empty.", nameof(PositionColumnName));
            PositionBuckets.Validate(MaximumPosition, nameof(MaximumPosition), $"Task '{task}': PerPositionTowers");
            if (ServingPosition < 1 || ServingPosition > MaximumPosition + 1)
                throw new ArgumentOutOfRangeException(nameof(ServingPosition), $"Task '{task}': PerPositionTowers.ServingPosition must be in [1, MaximumPosition + 1 = {MaximumPosition + 1}] (was {ServingPosition}).");
            if (TowerLayers is not null && Array.Exists(TowerLayers, h => h < 1))
                throw new ArgumentOutOfRangeException(nameof(TowerLayers), $"Task '{task}': PerPositionTowers.TowerLayers sizes must be >= 1.");
        }
    }
}
