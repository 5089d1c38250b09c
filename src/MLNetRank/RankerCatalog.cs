using System;
using MLNetRank;

namespace Microsoft.ML
{
    /// <summary>
    /// Entry point of MLNetRank, in the manner of <c>mlContext.Recommendation()</c>:
    /// <c>mlContext.Ranker()</c> returns a <see cref="RankerCatalog"/> that holds the
    /// <see cref="MLContext"/> (seed, log, the built-in transforms MLNetRank composes).
    /// </summary>
    public static class RankerCatalogExtensions
    {
        /// <summary>Returns the MLNetRank catalog bound to <paramref name="mlContext"/>.</summary>
        /// <param name="mlContext">The ML.NET context: its seed makes MLNetRank estimators deterministic and its
        /// <see cref="MLContext.Log"/> channel receives their progress.</param>
        /// <example>Runnable: <c>examples/LiveStreamRanking/Program.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>); <c>notebooks/00-quick-start.ipynb</c> (a Polyglot notebook, executed by the test suite).</example>
        public static RankerCatalog Ranker(this MLContext mlContext)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            return new RankerCatalog(mlContext);
        }
    }

    /// <summary>
    /// The MLNetRank catalog: ranking transforms (<see cref="Transforms"/>), trainers (<see cref="Trainers"/>)
    /// and evaluation (extension methods such as <c>Evaluate</c>). Components add their operations as
    /// extension methods on <see cref="RankerCatalog.RankerTransforms"/> and <see cref="RankerCatalog.RankerTrainers"/>.
    /// </summary>
    public sealed class RankerCatalog
    {
        internal RankerCatalog(MLContext context)
        {
            Context = context;
            Transforms = new RankerTransforms(context);
            Trainers = new RankerTrainers(context);
        }

        internal MLContext Context { get; }

        /// <summary>MLNetRank transforms: GBDT leaf encoding, metapath2vec embeddings, position propensity and IPS weights, ...</summary>
        public RankerTransforms Transforms { get; }

        /// <summary>MLNetRank trainers: the multi-task network, the objective ensemble, ...</summary>
        public RankerTrainers Trainers { get; }

        /// <summary>The transforms of <c>mlContext.Ranker()</c>; operations are extension methods.</summary>
        public sealed class RankerTransforms
        {
            internal RankerTransforms(MLContext context) => Context = context;
            internal MLContext Context { get; }
        }

        /// <summary>The trainers of <c>mlContext.Ranker()</c>; operations are extension methods.</summary>
        public sealed class RankerTrainers
        {
            internal RankerTrainers(MLContext context) => Context = context;
            internal MLContext Context { get; }
        }
    }
}
