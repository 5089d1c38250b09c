using System;
using MLNetRank.Baselines;

namespace Microsoft.ML
{
    /// <summary>Catalog extensions of the V1 baseline: engagement sample weights and the point-wise GBDT ranker.</summary>
    public static class BaselinesCatalog
    {
        /// <summary>
        /// A sample-weight column that trades click against conversion and stay time:
        /// <c>NonClickWeight</c> without click, <c>ClickWeight + BuyWeight·buy + StayTimeWeight·ln(1 + stay)</c> with click.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="options">Columns and weights; see <see cref="EngagementWeightEstimator.Options"/>.</param>
        /// <example>Runnable: <c>notebooks/01-live-stream-ranking-v1.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static EngagementWeightEstimator EngagementWeight(this RankerCatalog.RankerTransforms catalog, EngagementWeightEstimator.Options? options = null)
        {
            if (catalog is null) throw new ArgumentNullException(nameof(catalog));
            return new EngagementWeightEstimator(catalog.Context, options ?? new EngagementWeightEstimator.Options());
        }

        /// <summary>
        /// The engagement sample weight (see the <see cref="EngagementWeightEstimator.Options"/> overload) in column
        /// <paramref name="outputColumnName"/>, with the default weights: 1 without click, <c>1 + 4·buy + 0.25·ln(1 + stay)</c> with click.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="outputColumnName">Weight column added (Single).</param>
        /// <param name="clickColumnName">Click label (Boolean or Single 0/1). Default <c>"Click"</c>.</param>
        /// <param name="buyColumnName">Conversion label (Boolean or Single 0/1); null = no conversion term. Default <c>"Buy"</c>.</param>
        /// <param name="stayTimeColumnName">Stay time in seconds (Single); null = no stay-time term. Default <c>"StayTime"</c>.</param>
        /// <example>Runnable: <c>notebooks/01-live-stream-ranking-v1.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>tests/MLNetRank.Tests/Baselines/PointwiseGbdtTests.cs</c> (<c>dotnet test</c>).</example>
        public static EngagementWeightEstimator EngagementWeight(this RankerCatalog.RankerTransforms catalog, string outputColumnName,
            string clickColumnName = "Click", string? buyColumnName = "Buy", string? stayTimeColumnName = "StayTime")
            => EngagementWeight(catalog, new EngagementWeightEstimator.Options
            {
                OutputColumnName = outputColumnName,
                ClickColumnName = clickColumnName,
                BuyColumnName = buyColumnName,
                StayTimeColumnName = stayTimeColumnName,
            });

        /// <summary>
        /// V1 ranker: a point-wise FastTree or LightGBM click model on statistical features with engagement sample weights.
        /// </summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="options">Features, trainer, trees and weighting; see <see cref="PointwiseGbdtEstimator.Options"/>.</param>
        /// <example>Runnable: <c>notebooks/01-live-stream-ranking-v1.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static PointwiseGbdtEstimator PointwiseGbdt(this RankerCatalog.RankerTrainers catalog, PointwiseGbdtEstimator.Options? options = null)
        {
            if (catalog is null) throw new ArgumentNullException(nameof(catalog));
            return new PointwiseGbdtEstimator(catalog.Context, options ?? new PointwiseGbdtEstimator.Options());
        }
    }
}
