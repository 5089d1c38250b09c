using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Baselines;
using MLNetRank.Gbdt;
using MLNetRank.Graph;
using MLNetRank.Simulation;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.MultiTask;

namespace LiveStreamRanking
{
    /// <summary>Sizes of the models of the pipeline (the example's defaults finish in a few minutes on 2 cores).</summary>
    public sealed record ModelSizes
    {
        /// <summary>Trees of the V1/V3 GBDT scorer.</summary>
        public int ScorerTrees { get; init; } = 100;

        /// <summary>Trees of the GBDT leaf encoder of the final system (each tree is one id slot of the network).</summary>
        public int LeafTrees { get; init; } = 30;

        /// <summary>Leaves per tree of the leaf encoder.</summary>
        public int LeafLeaves { get; init; } = 16;

        /// <summary>metapath2vec embedding dimension.</summary>
        public int GraphDimension { get; init; } = 16;

        /// <summary>metapath2vec walks per node.</summary>
        public int GraphWalksPerNode { get; init; } = 4;

        /// <summary>Network epochs (the best validation epoch is kept).</summary>
        public int Epochs { get; init; } = 6;

        /// <summary>Network mini-batch.</summary>
        public int BatchSize { get; init; } = 512;

        /// <summary>Embedding dimension of the room ids and the item ids (the sequences share these tables). Default 8.</summary>
        public int IdDimension { get; init; } = 8;

        /// <summary>Layers of the live-stream transformer (V4 on). Default 1.</summary>
        public int TransformerLayers { get; init; } = 1;

        /// <summary>Attention heads of the live-stream transformer (must divide <see cref="IdDimension"/>). Default 2.</summary>
        public int TransformerHeads { get; init; } = 2;

        /// <summary>libtorch threads (0 = libtorch's default). Default 1: the small network gains little from a second thread, and
        /// an oversubscribed libtorch is many times slower on a busy machine.</summary>
        public int Threads { get; init; } = 1;
    }

    /// <summary>Turns a <see cref="Recipe"/> into one ML.NET pipeline over the simulator's impression columns.</summary>
    public static class RankingPipelines
    {
        /// <summary>The training-only stay-time label: seconds in the room after a click, NaN (no label) without a click.</summary>
        public const string StayLabelColumn = "StayLabel";

        /// <summary>Adds <see cref="StayLabelColumn"/> to impressions (a training-data step, not part of the saved model).</summary>
        public static IDataView WithStayLabel(MLContext ml, IDataView impressions)
            => ml.Transforms.CustomMapping<ClickStay, StayLabelRow>((i, o) => o.StayLabel = i.Click ? i.StayTime : float.NaN, contractName: null)
                .Fit(impressions).Transform(impressions);

        /// <summary>
        /// The pipeline of <paramref name="recipe"/>: graph embeddings (ValueMapping), GBDT leaf ids (ONNX), then either the
        /// engagement-weighted point-wise GBDT or the multi-task network (ONNX), then the score fusion if any. Every part
        /// saves as built-in ML.NET transformers, so the fitted chain is one zip.
        /// </summary>
        /// <param name="ml">The context (its seed makes the fit deterministic).</param>
        /// <param name="recipe">What the stage contains.</param>
        /// <param name="edges">The user-room-item graph's edges (for metapath2vec).</param>
        /// <param name="sizes">Model sizes.</param>
        /// <param name="progress">Per-epoch progress of the network, or null.</param>
        public static IEstimator<ITransformer> Build(MLContext ml, Recipe recipe, IDataView edges, ModelSizes sizes,
            IProgress<MultiTaskProgress>? progress = null)
        {
            var steps = new List<IEstimator<ITransformer>>();
            var dense = new List<string> { "StatFeatures" };
            if (recipe.GraphEmbeddings)
            {
                steps.Add(ml.Ranker().Transforms.Metapath2Vec(edges,
                    new Metapath2VecEstimator.Options
                    {
                        Metapaths = new[] { "User-Live-User", "User-Item-Live-Item-User" },
                        Dimension = sizes.GraphDimension, WalksPerNode = sizes.GraphWalksPerNode, WalkLength = 20, Epochs = 1,
                        // one thread: Hogwild SGD on several threads depends on their interleaving, and the run must repeat
                        NumberOfThreads = 1,
                    },
                    new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId")));
                dense.Add("UserEmbedding");
                dense.Add("LiveEmbedding");
            }
            if (recipe.GbdtLeaves)
            {
                steps.Add(ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
                {
                    FeatureColumnName = "StatFeatures", LabelColumnName = "Click", OutputColumnName = "LeafIds",
                    NumberOfTrees = sizes.LeafTrees, NumberOfLeaves = sizes.LeafLeaves,
                }));
            }

            if (recipe.Scorer == ScorerKind.Gbdt)
            {
                string features = "StatFeatures";
                if (dense.Count > 1)
                {
                    features = "GbdtFeatures";
                    steps.Add(ml.Transforms.Concatenate(features, dense.ToArray()));
                }
                steps.Add(ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options
                {
                    Trainer = GbdtTrainerKind.FastTree,
                    FeatureColumnName = features,
                    NumberOfTrees = sizes.ScorerTrees,
                    Weighting = new EngagementWeightEstimator.Options(), // click 1, +4 if bought, +0.25 ln(1 + stay seconds)
                }));
            }
            else
            {
                // the network stages (V2 on)
                if (dense.Count > 1)
                    steps.Add(ml.Transforms.Concatenate("Dense", dense.ToArray()));
                steps.Add(ml.Ranker().Trainers.MultiTask(NetworkOptions(recipe, dense.Count > 1 ? "Dense" : "StatFeatures", sizes, progress)));
            }
            if (recipe.Fusion != null)
                steps.Add(recipe.Fusion.Create(ml));

            IEstimator<ITransformer> chain = steps[0];
            foreach (var step in steps.Skip(1))
                chain = chain.Append(step);
            return chain;
        }

        /// <summary>The multi-task network of a recipe: MMoE over the dense inputs, the room id, the GBDT leaves and
        /// the stage's sequence inputs; click, buy (ESMM: buy implies click) and log stay time on clicked rows. 10% of the
        /// training rows (a fixed per-row draw) validate each epoch; the best epoch by click AUC is kept.</summary>
        public static MultiTaskEstimator.Options NetworkOptions(Recipe recipe, string denseColumn, ModelSizes sizes,
            IProgress<MultiTaskProgress>? progress)
        {
            bool multiTask = recipe.Scorer == ScorerKind.MultiTask;
            var o = new MultiTaskEstimator.Options
            {
                // V2-V4: one click task over a shared MLP; MTL on: MMoE over click, buy and stay time
                Architecture = multiTask ? MultiTaskArchitecture.MMoE : MultiTaskArchitecture.SharedBottom,
                Experts = 4,
                ExpertLayers = new[] { 64, 32 },
                TowerLayers = new[] { 16 },
                Epochs = sizes.Epochs,
                BatchSize = sizes.BatchSize,
                LearningRate = 2e-3,
                ShuffleBufferSize = 100_000,
                ValidationFraction = 0.1f,
                EarlyStoppingMetric = "Click.Auc",
                EarlyStoppingPatience = 1,
                NumberOfThreads = sizes.Threads,
                Progress = progress,
            };
            o.Features.Add(new DenseFeature(denseColumn));
            o.Features.Add(new CategoricalFeature("LiveId", sizes.IdDimension));
            if (recipe.GbdtLeaves)
                o.Features.Add(new CategoricalFeature("LeafIds", 4));
            // Sequence inputs: a column declared by two inputs (the room's items on sale: V2's set query, V4's tokens) is
            // declared once, by the first.
            foreach (var input in recipe.SequenceInputs)
                foreach (var f in input.Features(sizes))
                    if (!o.Features.Any(e => e.ColumnName == f.ColumnName))
                        o.Features.Add(f);

            var click = new TaskSpec("Click", "Click");
            if (recipe.PositionBiasTower)
                click.TrainingOnlyLogitAdjustments.Add(new PositionBiasTower("Position") { Combine = BiasCombination.Product });
            o.Tasks.Add(click);
            if (!multiTask)
                return o;
            o.Tasks.Add(new TaskSpec("Buy", "Buy") { ConditionedOn = "Click" });
            o.Tasks.Add(new TaskSpec("StayTime", StayLabelColumn, MultiTaskKind.Regression) { LabelTransform = LabelTransform.Log1p, Weight = 0.5f });
            return o;
        }

        /// <summary>The room's products on sale now (<c>LiveItemsOnSale</c>, at most 8): owns the item embedding table that the
        /// clicked-item sequence and the room's core products share; mean-pooled as an input of its own.</summary>
        private static SequenceFeature ItemsOnSale(ModelSizes sizes) => new(ImpressionColumns.LiveItemsOnSale, sizes.IdDimension) { MaximumLength = 8 };

        /// <summary>V2, first half of the dual target attention: every product the candidate room has on sale now attends over
        /// the user's clicked items (DIN's local activation unit; a set query, averaged over the products), item table shared
        /// with the products on sale.</summary>
        public static NetworkInput ClickedItemsBySetQuery { get; } = new("clicked items x products on sale", sizes => new FeatureSpec[]
        {
            ItemsOnSale(sizes),
            new SequenceFeature(ImpressionColumns.UserItemSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20,
                Pooling = new TargetAttentionPooling(ImpressionColumns.LiveItemsOnSale),
            },
        });

        /// <summary>V2, second half: the user's watched rooms attended by the candidate room id, sharing the room-id table of the
        /// <c>LiveId</c> categorical column.</summary>
        public static NetworkInput WatchedRoomsByRoom { get; } = new("watched rooms x room", sizes => new FeatureSpec[]
        {
            new SequenceFeature(ImpressionColumns.UserLiveSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = true, MaximumLength = 10,
                Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId),
            },
        });

        /// <summary>V4: the live-stream transformer over one token sequence of three types (the room's historical core products,
        /// its products on sale now, the user's clicked items; each token = id + type + recency embedding), the room's
        /// summary token as output; one item table.</summary>
        public static NetworkInput LiveStreamTransformer { get; } = new("live-stream transformer", sizes => new FeatureSpec[]
        {
            ItemsOnSale(sizes),
            new SequenceFeature(ImpressionColumns.LiveCoreItems) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, MaximumLength = 5 },
            new SequenceFeature(ImpressionColumns.UserItemSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20,
                Pooling = new TransformerPooling(ImpressionColumns.LiveCoreItems, ImpressionColumns.LiveItemsOnSale)
                {
                    Layers = sizes.TransformerLayers, Heads = sizes.TransformerHeads,
                },
            },
        });

        /// <summary>The fused ranking score (the ensemble stage): HarmonRank's learned two-step ensemble of P(click) and
        /// P(click and buy), trained on the sum of the two objectives' AUCs within requests.</summary>
        public static ScoreFusion Ensemble(int epochs = 3, int threads = 1) => new("Score", ml =>
        {
            var o = new ObjectiveEnsembleEstimator.Options
            {
                Method = ObjectiveEnsembleMethod.HarmonRank,
                GroupColumnName = "RequestId",
                Epochs = epochs,
                NumberOfThreads = threads,
            };
            o.Objectives.Add(new EnsembleObjective("Click", "ClickProbability", "Click"));
            o.Objectives.Add(new EnsembleObjective("Buy", "BuyJointProbability", "Buy"));
            return ml.Ranker().Trainers.ObjectiveEnsemble(o);
        });

        private sealed class ClickStay
        {
            public bool Click { get; set; }
            public float StayTime { get; set; }
        }

        private sealed class StayLabelRow
        {
            public float StayLabel { get; set; }
        }
    }
}
