using System;
using MLNetRank.Debiasing;

namespace Microsoft.ML
{
    /// <summary>
    /// Position debiasing in the MLNetRank catalog: <c>mlContext.Ranker().Transforms.EstimatePositionPropensity(...)</c>,
    /// <c>...InversePropensityWeight(...)</c>, <c>...EstimateClickRelevance(...)</c> and <c>mlContext.Ranker().Trainers.PositionAsFeature(...)</c>.
    /// </summary>
    public static class DebiasingCatalog
    {
        /// <summary>
        /// Estimates the examination propensity of each position (relative to position 1) and adds a propensity column.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="outputColumnName">Propensity column added. Default <c>"Propensity"</c>.</param>
        /// <param name="positionColumnName">Position column (1-based). Default <c>"Position"</c>.</param>
        /// <param name="labelColumnName">Click label. Default <c>"Click"</c>.</param>
        /// <param name="randomizedColumnName">Optional Boolean column marking randomized lists (only those are used). Default null (all rows).</param>
        /// <param name="maximumPosition">K: positions 1..K get their own propensity, later positions share one more bucket. Default 10.</param>
        /// <param name="bootstrapResamples">Bootstrap resamples for confidence intervals; 0 = none. Default 0.</param>
        /// <example>Runnable: <c>examples/LiveStreamRanking/Program.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>); <c>tests/MLNetRank.Tests/Debiasing/PositionPropensityTests.cs</c> (<c>dotnet test</c>).</example>
        public static PositionPropensityEstimator EstimatePositionPropensity(this RankerCatalog.RankerTransforms catalog,
            string outputColumnName = "Propensity", string positionColumnName = "Position", string labelColumnName = "Click",
            string? randomizedColumnName = null, int maximumPosition = 10, int bootstrapResamples = 0)
            => EstimatePositionPropensity(catalog, new PositionPropensityEstimator.Options
            {
                OutputColumnName = outputColumnName,
                PositionColumnName = positionColumnName,
                LabelColumnName = labelColumnName,
                RandomizedColumnName = randomizedColumnName,
                MaximumPosition = maximumPosition,
                BootstrapResamples = bootstrapResamples,
            });

        /// <summary>Estimates position propensities with all options (method, EM relevance model, smoothing, bootstrap, seed).</summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="options">Options; see <see cref="PositionPropensityEstimator.Options"/> for the defaults.</param>
        /// <example>Runnable: <c>examples/LiveStreamRanking/Program.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>); <c>tests/MLNetRank.Tests/Debiasing/PositionPropensityTests.cs</c> (<c>dotnet test</c>).</example>
        public static PositionPropensityEstimator EstimatePositionPropensity(this RankerCatalog.RankerTransforms catalog, PositionPropensityEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new PositionPropensityEstimator(catalog.Context, options ?? throw new ArgumentNullException(nameof(options)));
        }

        /// <summary>
        /// Adds an inverse-propensity weight column min(1/propensity, maximumWeight) for clicked rows (1 for the others), for a
        /// trainer's <c>ExampleWeightColumnName</c>.
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="outputColumnName">Weight column added. Default <c>"Weight"</c>.</param>
        /// <param name="propensityColumnName">Propensity column (Single &gt; 0). Default <c>"Propensity"</c>.</param>
        /// <param name="labelColumnName">Click label. Default <c>"Click"</c>.</param>
        /// <param name="maximumWeight">Clip of 1/propensity. Default 10.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/InversePropensityWeightTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Debiasing/SimulatorDebiasingTests.cs</c> (<c>dotnet test</c>).</example>
        public static InversePropensityWeightEstimator InversePropensityWeight(this RankerCatalog.RankerTransforms catalog,
            string outputColumnName = "Weight", string propensityColumnName = "Propensity", string labelColumnName = "Click", double maximumWeight = 10)
            => InversePropensityWeight(catalog, new InversePropensityWeightEstimator.Options
            {
                OutputColumnName = outputColumnName,
                PropensityColumnName = propensityColumnName,
                LabelColumnName = labelColumnName,
                MaximumWeight = maximumWeight,
            });

        /// <summary>Inverse-propensity weights with all options (rows weighted, clipping, normalization).</summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="options">Options; see <see cref="InversePropensityWeightEstimator.Options"/> for the defaults.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/InversePropensityWeightTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Debiasing/SimulatorDebiasingTests.cs</c> (<c>dotnet test</c>).</example>
        public static InversePropensityWeightEstimator InversePropensityWeight(this RankerCatalog.RankerTransforms catalog, InversePropensityWeightEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new InversePropensityWeightEstimator(catalog.Context, options ?? throw new ArgumentNullException(nameof(options)));
        }

        /// <summary>
        /// Estimates each item's relevance from an impression log as the inverse-propensity-scored click-through rate
        /// (1/n) Σ click · min(1/propensity, maximumWeight) and adds it as a label column (NaN for items never shown).
        /// </summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="outputColumnName">Relevance column added. Default <c>"Relevance"</c>.</param>
        /// <param name="itemColumnName">Item id column (e.g. a query-document id). Default <c>"ItemId"</c>.</param>
        /// <param name="propensityColumnName">Propensity column (Single &gt; 0); null = plain click-through rate. Default <c>"Propensity"</c>.</param>
        /// <param name="labelColumnName">Click label. Default <c>"Click"</c>.</param>
        /// <param name="maximumWeight">Clip of 1/propensity. Default 10.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/ClickRelevanceTests.cs</c> (<c>dotnet test</c>).</example>
        public static ClickRelevanceEstimator EstimateClickRelevance(this RankerCatalog.RankerTransforms catalog,
            string outputColumnName = "Relevance", string itemColumnName = "ItemId", string? propensityColumnName = "Propensity",
            string labelColumnName = "Click", double maximumWeight = 10)
            => EstimateClickRelevance(catalog, new ClickRelevanceEstimator.Options
            {
                OutputColumnName = outputColumnName,
                ItemColumnName = itemColumnName,
                PropensityColumnName = propensityColumnName,
                LabelColumnName = labelColumnName,
                MaximumWeight = maximumWeight,
            });

        /// <summary>Click-based relevance estimates with all options (clipping, impression count, value for unseen items).</summary>
        /// <param name="catalog">The MLNetRank transforms catalog.</param>
        /// <param name="options">Options; see <see cref="ClickRelevanceEstimator.Options"/> for the defaults.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/ClickRelevanceTests.cs</c> (<c>dotnet test</c>).</example>
        public static ClickRelevanceEstimator EstimateClickRelevance(this RankerCatalog.RankerTransforms catalog, ClickRelevanceEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new ClickRelevanceEstimator(catalog.Context, options ?? throw new ArgumentNullException(nameof(options)));
        }

        /// <summary>
        /// Trains <paramref name="trainer"/> with the position appended to the features; the fitted pipeline scores with
        /// <paramref name="neutralPosition"/> in its place (no position column at serving).
        /// </summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="trainer">The trainer, configured to read <paramref name="outputFeatureColumnName"/>.</param>
        /// <param name="featureColumnName">Feature column (known-size vector of Single). Default <c>"Features"</c>.</param>
        /// <param name="positionColumnName">Position column, read during training only. Default <c>"Position"</c>.</param>
        /// <param name="outputFeatureColumnName">Features plus the position slot, read by the trainer. Default <c>"FeaturesWithPosition"</c>.</param>
        /// <param name="neutralPosition">Position used at serving. Default 1.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/PositionAsFeatureTests.cs</c> (<c>dotnet test</c>).</example>
        public static PositionAsFeatureEstimator PositionAsFeature(this RankerCatalog.RankerTrainers catalog, IEstimator<ITransformer> trainer,
            string featureColumnName = "Features", string positionColumnName = "Position", string outputFeatureColumnName = "FeaturesWithPosition",
            float neutralPosition = 1)
            => PositionAsFeature(catalog, new PositionAsFeatureEstimator.Options
            {
                Trainer = trainer,
                FeatureColumnName = featureColumnName,
                PositionColumnName = positionColumnName,
                OutputFeatureColumnName = outputFeatureColumnName,
                NeutralPosition = neutralPosition,
            });

        /// <summary>Position as a feature with all options.</summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="options">Options; see <see cref="PositionAsFeatureEstimator.Options"/>.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/PositionAsFeatureTests.cs</c> (<c>dotnet test</c>).</example>
        public static PositionAsFeatureEstimator PositionAsFeature(this RankerCatalog.RankerTrainers catalog, PositionAsFeatureEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new PositionAsFeatureEstimator(catalog.Context, options ?? throw new ArgumentNullException(nameof(options)));
        }

        /// <summary>
        /// Unbiased learning to rank by the dual learning algorithm (DLA, Ai et al., SIGIR 2018): a ranker on the features and
        /// the propensity of each position learned together from an ordinary click log (no randomized traffic).
        /// </summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="labelColumnName">Click label (Boolean, or Single &gt; 0 = click). Default <c>"Click"</c>.</param>
        /// <param name="featureColumnName">Ranker input: known-size vector of Single. Default <c>"Features"</c>.</param>
        /// <param name="positionColumnName">1-based display position (Int32, Int64, Single or Double). Default <c>"Position"</c>.</param>
        /// <param name="sessionColumnName">Id of the displayed list (UInt32, Int32, UInt64, Int64 or String). Default <c>"Session"</c>.</param>
        /// <param name="maximumPosition">K: positions 1..K get their own propensity, later positions share one more. Default 10.</param>
        /// <returns>The estimator; its <see cref="DualLearningTransformer"/> adds <c>Score</c> and carries the learned curve.</returns>
        /// <remarks>Parameters in ML.NET's trainer order (label, features, then the rest); the other options keep their defaults.</remarks>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/DualLearningTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Debiasing/DualLearningFreshProcessTests.cs</c> (<c>dotnet test</c>).</example>
        public static DualLearningEstimator DualLearning(this RankerCatalog.RankerTrainers catalog, string labelColumnName = "Click",
            string featureColumnName = "Features", string positionColumnName = "Position", string sessionColumnName = "Session", int maximumPosition = 10)
            => DualLearning(catalog, new DualLearningEstimator.Options
            {
                FeatureColumnName = featureColumnName,
                PositionColumnName = positionColumnName,
                LabelColumnName = labelColumnName,
                SessionColumnName = sessionColumnName,
                MaximumPosition = maximumPosition,
            });

        /// <summary>
        /// A validator that chooses among click-trained rankers (naive, IPS with any clip, SNIPS, doubly robust, with propensities
        /// from randomization, regression EM or dual learning) by their click nDCG@k on a held-out validation click log — the
        /// selection uses validation clicks only, never true relevance. See <see cref="ClickValidator"/>.
        /// </summary>
        /// <param name="catalog">The MLNetRank catalog.</param>
        /// <param name="validationClicks">The validation log, one row per impression: item id, click and (for logged, not
        /// randomized, sessions) the propensity of its position. Read once, here.</param>
        /// <param name="options">Column names, clip and cut-off; default <see cref="ClickValidationOptions"/> (a randomized log).</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/ClickValidatorTests.cs</c> (<c>dotnet test</c>).</example>
        public static ClickValidator CreateClickValidator(this RankerCatalog catalog, IDataView validationClicks, ClickValidationOptions? options = null)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new ClickValidator(validationClicks, options ?? new ClickValidationOptions());
        }

        /// <summary>The dual learning algorithm with all options (ranker layers, epochs, learning rates, clip, item column, seed).</summary>
        /// <param name="catalog">The MLNetRank trainers catalog.</param>
        /// <param name="options">Options; see <see cref="DualLearningEstimator.Options"/> for the defaults.</param>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Debiasing/DualLearningTests.cs</c> (<c>dotnet test</c>); <c>tests/MLNetRank.Tests/Debiasing/DualLearningFreshProcessTests.cs</c> (<c>dotnet test</c>).</example>
        public static DualLearningEstimator DualLearning(this RankerCatalog.RankerTrainers catalog, DualLearningEstimator.Options options)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new DualLearningEstimator(catalog.Context, options ?? throw new ArgumentNullException(nameof(options)));
        }
    }
}
