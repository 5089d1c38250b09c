using System;
using System.Collections.Generic;
using System.Linq;

namespace LiveStreamRanking
{
    /// <summary>What scores the candidates at a stage.</summary>
    public enum ScorerKind
    {
        /// <summary>A point-wise GBDT of click with engagement sample weights (V1's model): output <c>Probability</c>.</summary>
        Gbdt,
        /// <summary>A click-only network (V2-V4's deep CTR model: the statistics, the room id and the stage's sequence inputs
        /// through an MLP): output <c>ClickProbability</c>.</summary>
        ClickNetwork,
        /// <summary>The multi-task network (click, buy through ESMM, log stay time): outputs <c>ClickProbability</c>,
        /// <c>BuyJointProbability</c>, <c>StayTimeScore</c>, ...</summary>
        MultiTask,
    }

    /// <summary>
    /// The cumulative recipe of the ranking system: every stage takes the previous stage's recipe and adds its part. The
    /// recipe is turned into one ML.NET pipeline by <see cref="RankingPipelines.Build"/>.
    /// </summary>
    public sealed record Recipe
    {
        /// <summary>The model that scores.</summary>
        public ScorerKind Scorer { get; init; } = ScorerKind.Gbdt;

        /// <summary>metapath2vec user and room embeddings from the user-room-item graph (V3).</summary>
        public bool GraphEmbeddings { get; init; }

        /// <summary>GBDT leaves as per-tree ids into the network (the final system).</summary>
        public bool GbdtLeaves { get; init; }

        /// <summary>A PAL position-bias tower on the click task, dropped at serving (debiasing).</summary>
        public bool PositionBiasTower { get; init; }

        /// <summary>Sequence inputs of the network (behaviour sequences with their pooling: V2's dual target attention, V4's
        /// live-stream transformer). Each entry adds declared features to <c>MultiTaskEstimator.Options.Features</c>.</summary>
        public IReadOnlyList<NetworkInput> SequenceInputs { get; init; } = Array.Empty<NetworkInput>();

        /// <summary>A step after the network that fuses the task scores into one ranking score <c>Score</c> (the ensemble),
        /// or null (the ranking score is the click probability).</summary>
        public ScoreFusion? Fusion { get; init; }

        /// <summary>The column every ranking metric reads (nDCG, AUC against the true attraction, the served order).</summary>
        public string RankingScoreColumn => Fusion?.OutputColumnName ?? (Scorer == ScorerKind.Gbdt ? "Probability" : "ClickProbability");

        /// <summary>The column scored against clicks (one score ranks for every objective: the fused score once there is one).</summary>
        public string ClickScoreColumn => Fusion?.OutputColumnName ?? (Scorer == ScorerKind.Gbdt ? "Probability" : "ClickProbability");

        /// <summary>The column scored against purchases over all impressions (pCTCVR for the network; the fused score once there is one).</summary>
        public string BuyScoreColumn => Fusion?.OutputColumnName ?? Scorer switch
        {
            ScorerKind.Gbdt => "Probability",
            ScorerKind.ClickNetwork => "ClickProbability",
            _ => "BuyJointProbability",
        };

        /// <summary>The network's own click probability (calibration plot), or null for a GBDT scorer.</summary>
        public string? ClickProbabilityColumn => Scorer == ScorerKind.Gbdt ? null : "ClickProbability";

        /// <summary>The network's own P(click and buy) (calibration plot), or null without a buy task.</summary>
        public string? ClickAndBuyProbabilityColumn => Scorer == ScorerKind.MultiTask ? "BuyJointProbability" : null;

        /// <summary>The stay-time prediction (seconds), or null when the model has none.</summary>
        public string? StayTimeColumn => Scorer == ScorerKind.MultiTask ? "StayTimeScore" : null;

        /// <summary>Two recipes are equal when they build the same pipeline: the sequence inputs compare element by element
        /// (each stage builds a new list), so a stage that only adds a fusion is recognised as the previous stage plus a step.</summary>
        public bool Equals(Recipe? other) => other is not null && Scorer == other.Scorer && GraphEmbeddings == other.GraphEmbeddings
            && GbdtLeaves == other.GbdtLeaves && PositionBiasTower == other.PositionBiasTower
            && SequenceInputs.SequenceEqual(other.SequenceInputs) && Equals(Fusion, other.Fusion);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Scorer, GraphEmbeddings, GbdtLeaves, PositionBiasTower, SequenceInputs.Count, Fusion);
    }

    /// <summary>Declared network inputs added by a stage (e.g. a <c>SequenceFeature</c> with an attention pooling).</summary>
    /// <param name="Name">Name shown in the pipeline description.</param>
    /// <param name="Features">Creates the feature specs for the model sizes (fresh objects for every fit).</param>
    public sealed record NetworkInput(string Name, Func<ModelSizes, IEnumerable<MLNetRank.Torch.MultiTask.FeatureSpec>> Features);

    /// <summary>A score-fusion step appended after the network (the multi-objective ensemble).</summary>
    /// <param name="OutputColumnName">The fused ranking score column.</param>
    /// <param name="Create">Creates the estimator, given the context.</param>
    public sealed record ScoreFusion(string OutputColumnName, Func<Microsoft.ML.MLContext, Microsoft.ML.IEstimator<Microsoft.ML.ITransformer>> Create);

    /// <summary>One stage of the story.</summary>
    /// <param name="Name">Short name (used by <c>--stages</c>).</param>
    /// <param name="Title">What the stage adds.</param>
    /// <param name="Apply">Adds the stage's part to the previous recipe; null when the layers it needs do not exist yet.</param>
    /// <param name="MissingReason">Why the stage is skipped (when <paramref name="Apply"/> is null).</param>
    public sealed record Stage(string Name, string Title, Func<Recipe, Recipe>? Apply, string? MissingReason = null)
    {
        /// <summary>True when the stage can run.</summary>
        public bool Available => Apply != null;
    }

    /// <summary>
    /// The 1688 live-stream ranker's evolution, in order. Each stage adds its part to the previous one's recipe, so a stage
    /// run alone (<c>--stages final</c>) still contains every available earlier part.
    /// </summary>
    /// <remarks>
    /// A stage whose layers do not exist (yet) has <see cref="Stage.Apply"/> = null and is skipped with its reason; a stage
    /// is enabled by a recipe change (e.g. the ensemble: <c>r =&gt; r with { Fusion = RankingPipelines.Ensemble() }</c>).
    /// Nothing else changes: the pipeline builder, the evaluation, the table and the plots read the recipe.
    /// </remarks>
    public static class Stages
    {
        /// <summary>Every stage of the story, in order.</summary>
        public static IReadOnlyList<Stage> All { get; } = new[]
        {
            new Stage("V1", "point-wise GBDT on the 25 statistics, engagement-weighted", r => r),
            new Stage("V2", "click network + dual target attention (clicked items by the room's products on sale, watched rooms by the room)",
                r => r with
                {
                    Scorer = ScorerKind.ClickNetwork,
                    SequenceInputs = [.. r.SequenceInputs, RankingPipelines.ClickedItemsBySetQuery, RankingPipelines.WatchedRoomsByRoom],
                }),
            new Stage("V3", "+ metapath2vec user and room embeddings (user-room-item graph)", r => r with { GraphEmbeddings = true }),
            new Stage("V4", "+ live-stream transformer (room core/real-time products and the user's clicks)",
                r => r with
                {
                    // The transformer takes over the clicked-item sequence: its room tokens (core products, products on sale)
                    // attend over the clicked items, which subsumes V2's set query on that sequence; the watched-room
                    // target attention stays.
                    SequenceInputs = [.. r.SequenceInputs.Where(i => i != RankingPipelines.ClickedItemsBySetQuery), RankingPipelines.LiveStreamTransformer],
                }),
            new Stage("MTL", "MMoE network: click, buy (ESMM), log stay time", r => r with { Scorer = ScorerKind.MultiTask }),
            new Stage("debiasing", "+ PAL position-bias tower on click (training only)", r => r with { PositionBiasTower = true }),
            new Stage("final", "+ GBDT leaves as per-tree ids (the final system)", r => r with { GbdtLeaves = true }),
            new Stage("ensemble", "+ HarmonRank ensemble: one fused ranking score from P(click) and P(click and buy)",
                r => r with { Fusion = RankingPipelines.Ensemble() }),
        };

        /// <summary>The recipe of <paramref name="stage"/>: every available stage up to it applied in order.</summary>
        public static Recipe RecipeOf(Stage stage)
        {
            var recipe = new Recipe();
            foreach (var s in All)
            {
                if (s.Apply != null)
                    recipe = s.Apply(recipe);
                if (ReferenceEquals(s, stage))
                    return recipe;
            }
            throw new ArgumentException($"Unknown stage {stage.Name}.", nameof(stage));
        }

        /// <summary>The last available stage (whose recipe is the final system served as <c>final.zip</c>).</summary>
        public static Stage LastAvailable => All.Last(s => s.Available);

        /// <summary>Finds a stage by name (case-insensitive).</summary>
        public static Stage? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
    }
}
