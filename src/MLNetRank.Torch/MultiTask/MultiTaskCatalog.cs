using System;
using MLNetRank.Torch.MultiTask;

namespace Microsoft.ML
{
    /// <summary>The multi-task trainer on <c>mlContext.Ranker().Trainers</c>.</summary>
    public static class MultiTaskCatalog
    {
        /// <summary>
        /// A multi-task ranking network (shared-bottom, MMoE, PLE; ESMM conditioning; wide part; fixed or uncertainty
        /// weights) trained with TorchSharp and served as ONNX through ML.NET: adds <c>TScore</c>/<c>TProbability</c> per task.
        /// </summary>
        /// <param name="catalog">The trainers of <c>mlContext.Ranker()</c>.</param>
        /// <param name="options">Features, tasks, architecture and training settings.</param>
        /// <example>Runnable: <c>notebooks/04-multitask-debiasing.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static MultiTaskEstimator MultiTask(this RankerCatalog.RankerTrainers catalog, MultiTaskEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new MultiTaskEstimator(catalog.Context, options);
        }
    }
}
