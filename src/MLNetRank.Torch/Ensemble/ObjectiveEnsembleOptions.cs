using System;
using System.Collections.Generic;
using System.Threading;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>How the objective ensemble turns the task scores into one ranking score.</summary>
    public enum ObjectiveEnsembleMethod
    {
        /// <summary>Fixed formula, no training: <c>Score = Σ_k w_k · logit_k</c> with the given <see cref="EnsembleObjective.Weight"/>s.</summary>
        WeightedLogitSum,

        /// <summary>Fixed formula, no training (the industry default): <c>Score = Π_k p_k^{w_k}</c> with the given weights.</summary>
        WeightedProbabilityProduct,

        /// <summary>Learned, supervised by one binary cross-entropy per objective on the fused score (each objective reads the fused
        /// score through its own calibration <c>σ(a_k · Score + c_k)</c>, a_k &gt; 0): the baseline HarmonRank improves on.</summary>
        BinaryCrossEntropy,

        /// <summary>Learned, supervised by the sum of the objectives' AUCs of the fused score, each written as a rank-sum and made
        /// differentiable with pairwise-sigmoid soft ranks (HarmonRank, Xia et al. 2026).</summary>
        HarmonRank,
    }

    /// <summary>What an objective's score column holds.</summary>
    public enum ObjectiveScoreKind
    {
        /// <summary>A probability in [0, 1] (e.g. the multi-task model's <c>TProbability</c>).</summary>
        Probability,

        /// <summary>A logit, any real number (e.g. the multi-task model's <c>TScore</c> of a binary task).</summary>
        Logit,
    }

    /// <summary>One objective of the ensemble: its score column (an input of the fused score) and its label (training only).</summary>
    public sealed class EnsembleObjective
    {
        /// <summary>Declares an objective.</summary>
        /// <param name="name">Objective name (names the <c>{Name}SubScore</c> output of the two-step ensemble).</param>
        /// <param name="scoreColumnName">Score column: Single, or a vector of one Single (the multi-task model's outputs).</param>
        /// <param name="labelColumnName">Label column (training only): Boolean, Single, Double or Int32; positive when
        /// <c>label &gt;= </c><see cref="LabelThreshold"/>.</param>
        /// <param name="scoreKind">Whether the score column holds probabilities (default) or logits.</param>
        public EnsembleObjective(string name, string scoreColumnName, string labelColumnName, ObjectiveScoreKind scoreKind = ObjectiveScoreKind.Probability)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("An objective needs a name.", nameof(name));
            if (string.IsNullOrWhiteSpace(scoreColumnName))
                throw new ArgumentException($"Objective '{name}' needs a score column name.", nameof(scoreColumnName));
            if (string.IsNullOrWhiteSpace(labelColumnName))
                throw new ArgumentException($"Objective '{name}' needs a label column name.", nameof(labelColumnName));
            Name = name;
            ScoreColumnName = scoreColumnName;
            LabelColumnName = labelColumnName;
            ScoreKind = scoreKind;
        }

        /// <summary>Objective name.</summary>
        public string Name { get; }

        /// <summary>The score column read at scoring time.</summary>
        public string ScoreColumnName { get; }

        /// <summary>The label column read at training time.</summary>
        public string LabelColumnName { get; }

        /// <summary>Whether <see cref="ScoreColumnName"/> holds probabilities or logits.</summary>
        public ObjectiveScoreKind ScoreKind { get; }

        /// <summary>Fixed formulas: the objective's weight <c>w_k</c>. Learned methods: the objective's weight in the loss
        /// (its AUC's or its cross-entropy's). Finite, &gt;= 0. Default 1.</summary>
        public float Weight { get; set; } = 1f;

        /// <summary>A row is a positive of this objective when its label is <c>&gt;=</c> this threshold (Boolean true = 1).
        /// Default 0.5 (0/1 labels); e.g. 60 with a stay-time label in seconds makes the objective "stayed at least a minute".</summary>
        public float LabelThreshold { get; set; } = 0.5f;
    }

    /// <summary>Progress of an objective-ensemble training run, reported once per epoch: the common <see cref="RankerProgress"/>
    /// (stage "epoch", <see cref="RankerProgress.Fraction"/> = epochs done / epochs) with the ensemble's own figures.</summary>
    public sealed class ObjectiveEnsembleProgress : RankerProgress
    {
        /// <summary>1-based epoch just finished.</summary>
        public int Epoch { get; init; }

        /// <summary>Epochs planned.</summary>
        public int Epochs { get; init; }

        /// <summary>Mean training loss of the epoch (negative AUC sum for HarmonRank, summed cross-entropies for BCE).</summary>
        public double Loss { get; init; }

        /// <summary>Sum over objectives of the fused score's exact AUC on the training rows after the epoch.</summary>
        public double TrainingAucSum { get; init; }

        /// <summary>Training rows.</summary>
        public long Rows { get; init; }
    }

    public sealed partial class ObjectiveEnsembleEstimator
    {
        /// <summary>Options of <see cref="ObjectiveEnsembleEstimator"/> (<c>mlContext.Ranker().Trainers.ObjectiveEnsemble(options)</c>).</summary>
        public sealed class Options
        {
            /// <summary>The objectives (at least one; two or more to ensemble anything).</summary>
            public IList<EnsembleObjective> Objectives { get; } = new List<EnsembleObjective>();

            /// <summary>The method. Default <see cref="ObjectiveEnsembleMethod.HarmonRank"/>.</summary>
            public ObjectiveEnsembleMethod Method { get; set; } = ObjectiveEnsembleMethod.HarmonRank;

            /// <summary>Learned methods: the two-step relation-aware ensemble (step 1: each objective's encoding attends to the others,
            /// with attention biased by the objectives' label correlations; step 2: a gate fuses the aligned sub-scores into
            /// <c>Score</c>) instead of one learned weight per objective. Adds a <c>{Name}SubScore</c> output per objective. Default true.</summary>
            public bool TwoStep { get; set; } = true;

            /// <summary>Output column of the fused score (a vector of one Single, as ONNX outputs are in ML.NET). Default <c>Score</c>.</summary>
            public string OutputColumnName { get; set; } = "Score";

            /// <summary>Optional group column (request or user: key, integer or text). When set, training batches hold whole groups
            /// and HarmonRank's soft AUC compares only rows of the same group (a group-AUC objective). Training only.</summary>
            public string? GroupColumnName { get; set; }

            /// <summary>Two-step: dimension of each objective's encoding. Default 8.</summary>
            public int EncodingDimension { get; set; } = 8;

            /// <summary>HarmonRank: temperature of the pairwise sigmoid, relative to the batch's score standard deviation
            /// (smaller = closer to the exact AUC, steeper gradients). Default 0.1.</summary>
            public float Temperature { get; set; } = 0.1f;

            /// <summary>Two-step: weight of the sub-scores' own losses (each sub-score supervised by its objective) beside the fused
            /// score's loss. Default 0.5.</summary>
            public float SubScoreLossWeight { get; set; } = 0.5f;

            /// <summary>Learned methods: passes over the data. Default 10.</summary>
            public int Epochs { get; set; } = 10;

            /// <summary>Learned methods: rows per mini-batch (with a group column, whole groups are added until at least this many rows).
            /// HarmonRank's cost per batch is O(B²) per score (see docs/ensemble.md). Default 512.</summary>
            public int BatchSize { get; set; } = 512;

            /// <summary>Adam learning rate. Default 0.01.</summary>
            public double LearningRate { get; set; } = 0.01;

            /// <summary>L2 penalty (Adam weight decay). Default 0.</summary>
            public double L2Regularization { get; set; }

            /// <summary>Threads of libtorch (process-wide); 0 leaves libtorch's setting. Default 0.</summary>
            public int NumberOfThreads { get; set; }

            /// <summary>Seed; null draws one from the <see cref="Microsoft.ML.MLContext"/> (same context seed, same model).</summary>
            public int? Seed { get; set; }

            /// <summary>Optional progress receiver, called after every epoch (also logged on <c>MLContext.Log</c>).</summary>
            public IProgress<ObjectiveEnsembleProgress>? Progress { get; set; }

            /// <summary>Cancels training; checked before every mini-batch (<see cref="OperationCanceledException"/>).</summary>
            public CancellationToken CancellationToken { get; set; }
        }
    }
}
