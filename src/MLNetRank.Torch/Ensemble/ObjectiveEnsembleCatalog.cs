using System;
using MLNetRank.Torch.Ensemble;

namespace Microsoft.ML
{
    /// <summary>The objective ensemble on <c>mlContext.Ranker().Trainers</c>.</summary>
    public static class ObjectiveEnsembleCatalog
    {
        /// <summary>
        /// Fuses several task scores (click, buy, stay, follow, comment, ...) into one ranking score: a fixed formula (weighted
        /// logit sum, weighted probability product) or a learned ensemble supervised by per-objective cross-entropies or by
        /// HarmonRank's differentiable AUC sum, one-step or two-step relation-aware. Served as ONNX through ML.NET.
        /// </summary>
        /// <param name="catalog">The trainers of <c>mlContext.Ranker()</c>.</param>
        /// <param name="options">Objectives, method and training settings.</param>
        /// <example>Runnable: <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>); <c>tests/MLNetRank.Torch.Tests/Ensemble/ObjectiveEnsembleTests.cs</c> (<c>dotnet test</c>).</example>
        public static ObjectiveEnsembleEstimator ObjectiveEnsemble(this RankerCatalog.RankerTrainers catalog, ObjectiveEnsembleEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new ObjectiveEnsembleEstimator(catalog.Context, options);
        }
    }
}
