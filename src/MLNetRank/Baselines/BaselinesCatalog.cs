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
        public static EngagementWeightEstimator EngagementWeight(this RankerCatalog.RankerTransforms catalog, EngagementWeightEstimator.Options? options = null)
        {
            if (catalog is null) throw new ArgumentNullException(nameof(catalog));
            return new EngagementWeightEstimator(catalog.Context, options ?? new EngagementWeightEstimator.Options());
        }

        /// <summary>
        /// V1 ranker: a point-wise FastTree or LightGBM click model on statistical features with engagement sample weights.
        /// </summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="options">Features, trainer, trees and weighting; see <see cref="PointwiseGbdtEstimator.Options"/>.</param>
        public static PointwiseGbdtEstimator PointwiseGbdt(this RankerCatalog.RankerTrainers catalog, PointwiseGbdtEstimator.Options? options = null)
        {
            if (catalog is null) throw new ArgumentNullException(nameof(catalog));
            return new PointwiseGbdtEstimator(catalog.Context, options ?? new PointwiseGbdtEstimator.Options());
        }
    }
}
