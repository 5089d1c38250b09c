using System;
using System.Collections.Generic;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// Options of <see cref="LiveStreamSimulator"/>. The defaults (2,000 users, 300 live rooms, 3,000 items,
    /// 30 categories, 8 communities, 20,000 requests of 10 positions = 200,000 impressions) generate in a few
    /// seconds on one core; every size can be raised (the impressions stream, so only the entities are held in memory).
    /// </summary>
    public sealed class LiveStreamSimulatorOptions
    {
        /// <summary>Seed of every random draw: the same options give the same world and the same rows. Default 42.</summary>
        public int Seed { get; set; } = 42;

        /// <summary>Number of users (ids 1..UserCount). Default 2,000.</summary>
        public int UserCount { get; set; } = 2000;

        /// <summary>Number of live rooms, i.e. streamers (ids 1..LiveCount). Default 300.</summary>
        public int LiveCount { get; set; } = 300;

        /// <summary>Number of items, i.e. products sold in rooms (ids 1..ItemCount). Default 3,000.</summary>
        public int ItemCount { get; set; } = 3000;

        /// <summary>Number of item categories (ids 1..CategoryCount). Default 30.</summary>
        public int CategoryCount { get; set; } = 30;

        /// <summary>Number of latent communities (0..CommunityCount-1) that group users, rooms, categories and items. Default 8.</summary>
        public int CommunityCount { get; set; } = 8;

        /// <summary>Dimension of the latent vectors of users, rooms and items. Default 8.</summary>
        public int LatentDimension { get; set; } = 8;

        /// <summary>Spread of an entity's latent vector around its community centre (the centres have unit variance
        /// per dimension). Smaller = crisper communities. Default 0.7.</summary>
        public double CommunitySpread { get; set; } = 0.7;

        /// <summary>Number of requests (ranked lists) in <see cref="LiveStreamSimulator.GetImpressions(Microsoft.ML.MLContext)"/>. Default 20,000.</summary>
        public long RequestCount { get; set; } = 20000;

        /// <summary>Number of rooms shown per request, at positions 1..ListSize. Default 10.</summary>
        public int ListSize { get; set; } = 10;

        /// <summary>Number of on-air candidate rooms the logging policy (or the randomizer) chooses the list from. Default 30 (3 x ListSize).</summary>
        public int CandidatePoolSize { get; set; } = 30;

        /// <summary>Length of the simulated window in hours; request times spread evenly over [0, TimeSpanHours) and
        /// increase with the request index. Default 168 (one week).</summary>
        public double TimeSpanHours { get; set; } = 168;

        /// <summary>Position-bias exponent η of the default examination curve P(examine | position) = (1/position)^η. Default 1.0.</summary>
        public double PositionBiasExponent { get; set; } = 1.0;

        /// <summary>Optional explicit examination curve: element k is P(examine | position k+1), each in (0, 1]; must hold at
        /// least <see cref="ListSize"/> values. When set it replaces the (1/position)^η curve. Default null.</summary>
        public IReadOnlyList<double>? ExaminationCurve { get; set; }

        /// <summary>Share of requests whose list is a uniformly random draw of the candidate pool in random order
        /// (marked <c>IsRandomized</c>): unbiased traffic for evaluation and propensity estimation. Default 0.1.</summary>
        public double RandomizedShare { get; set; } = 0.1;

        /// <summary>Weight of the true attraction logit in the logging policy's score. Default 1.0.</summary>
        public double PolicyRelevanceWeight { get; set; } = 1.0;

        /// <summary>Weight of the room's popularity in the logging policy's score. Default 0.5.</summary>
        public double PolicyPopularityWeight { get; set; } = 0.5;

        /// <summary>Standard deviation of the Gaussian noise in the logging policy's score. Default 1.0.</summary>
        public double PolicyNoise { get; set; } = 1.0;

        /// <summary>Intercept of the attraction logit (sets the overall click rate). Default -2.2.</summary>
        public double AttractionIntercept { get; set; } = -2.2;

        /// <summary>Scale of the user x room latent affinity in the attraction logit. Default 1.2.</summary>
        public double AttractionScale { get; set; } = 1.2;

        /// <summary>Intercept of the conversion logit, P(buy | click). Default -3.0.</summary>
        public double ConversionIntercept { get; set; } = -3.0;

        /// <summary>Scale of the latent score in the conversion logit. Default 1.0.</summary>
        public double ConversionScale { get; set; } = 1.0;

        /// <summary>Correlation ρ of the conversion latent score with the shared (attraction and on-sale item match) score:
        /// the task's score is ρ·shared + sqrt(1-ρ²)·specific, both standardized. Default 0.5.</summary>
        public double ConversionCorrelation { get; set; } = 0.5;

        /// <summary>Median stay time in seconds after a click. Default 45.</summary>
        public double StayMedianSeconds { get; set; } = 45;

        /// <summary>Scale of the latent score on log stay time. Default 0.6.</summary>
        public double StayScale { get; set; } = 0.6;

        /// <summary>Standard deviation of the log-normal noise of the stay time (heavy tail). Default 1.0.</summary>
        public double StayNoise { get; set; } = 1.0;

        /// <summary>Correlation of the stay-time latent score with the attraction score. Default 0.7.</summary>
        public double StayCorrelation { get; set; } = 0.7;

        /// <summary>Intercept of the follow logit (after a click). Default -3.0.</summary>
        public double FollowIntercept { get; set; } = -3.0;

        /// <summary>Correlation of the follow latent score with the attraction score. Default 0.6.</summary>
        public double FollowCorrelation { get; set; } = 0.6;

        /// <summary>Intercept of the comment logit (after a click). Default -2.5.</summary>
        public double CommentIntercept { get; set; } = -2.5;

        /// <summary>Correlation of the comment latent score with the attraction score. Default 0.3.</summary>
        public double CommentCorrelation { get; set; } = 0.3;

        /// <summary>Scale of the latent score in the follow and comment logits. Default 1.0.</summary>
        public double EngagementScale { get; set; } = 1.0;

        /// <summary>Dependence d of comment on buy (the partly dependent pair of the HarmonRank paper): after a purchase the
        /// comment probability rises from c = P(comment | click) to c + d·(1 − c), so P(comment | click) = c + d·P(buy | click)·(1 − c).
        /// 0 = independent given the truth (the default, identical rows to earlier versions); 1 = every buyer comments.</summary>
        public double CommentBuyDependence { get; set; }

        /// <summary>Stay time in seconds from which a visit counts as a long stay, the binary stay objective of
        /// <c>TrueObjectives</c> (P(StayTime &gt;= LongStaySeconds)). Default 60.</summary>
        public double LongStaySeconds { get; set; } = 60;

        /// <summary>Relative noise of the statistics in <c>StatFeatures</c> (0 = exact population means, larger = noisier). Default 0.3.</summary>
        public double FeatureNoise { get; set; } = 0.3;

        /// <summary>Maximum length of <c>UserItemSeq</c> (the most recent clicked items). Default 20.</summary>
        public int MaxItemSequenceLength { get; set; } = 20;

        /// <summary>Maximum length of <c>UserLiveSeq</c> (the most recently watched rooms). Default 10.</summary>
        public int MaxLiveSequenceLength { get; set; } = 10;

        /// <summary>Mean number of background item clicks per user over the history (half before time 0). Default 40.</summary>
        public int MeanItemHistory { get; set; } = 40;

        /// <summary>Mean number of background room watches per user over the history (half before time 0). Default 20.</summary>
        public int MeanLiveHistory { get; set; } = 20;

        /// <summary>Minimum catalog size of a room (items it has ever sold). Default 10.</summary>
        public int MinCatalogSize { get; set; } = 10;

        /// <summary>Maximum catalog size of a room. Default 30.</summary>
        public int MaxCatalogSize { get; set; } = 30;

        /// <summary>Number of historical core items of a room (<c>LiveCoreItems</c>). Default 5.</summary>
        public int CoreItemCount { get; set; } = 5;

        /// <summary>Maximum number of items on sale at once in a room (<c>LiveItemsOnSale</c>, rotating every hour). Default 8.</summary>
        public int MaxItemsOnSale { get; set; } = 8;

        /// <summary>Item-level interest κ: the attraction logit gains <c>κ·zInterest(u, l, t)</c>, where <c>zInterest</c> is the
        /// standardized share of the items on sale in room l now whose hidden <em>taste group</em> also appears among the user's
        /// recent clicked items (the <c>UserItemSeq</c> window). Taste groups (about 30 items each, see
        /// <see cref="World.ItemTasteGroupOf"/>) are independent of categories, communities and latent vectors, so no
        /// <c>StatFeatures</c> slot summarises the signal: a model sees it only by matching the item sequence against the room's
        /// items on sale (target attention). 0 = none (the rows are then bit-identical to a simulator without the knob); the
        /// ground truth is <see cref="World.TrueItemInterest"/> and is part of <c>TrueAttraction</c>. Default 0.</summary>
        public double ItemInterestScale { get; set; }

        /// <summary>Share of each user's background item clicks (the source of <c>UserItemSeq</c> and of the User→Item edges) that
        /// follow the user's hidden <em>taste</em>, in [0, 1]. Every user has <see cref="TasteGroupsPerUser"/> taste groups (the
        /// groups of <see cref="ItemInterestScale"/>, see <see cref="World.UserTasteGroups"/>); with this probability a history
        /// click is an item of one of them (a group drawn uniformly, then an item of the group by the user's latent affinity, so
        /// the user's usual categories are favoured but not required: a taste such as a style or a brand crosses categories),
        /// otherwise it is drawn by category and item affinity exactly as without the option. This is what real histories show
        /// and DIN assumes: a few persistent interests, each covering part of the history. The definition of the item-level
        /// interest does not change; only the histories it reads do. 0 = histories ignore the taste groups (the rows are then
        /// bit-identical to a simulator without the option). Default 0.</summary>
        public double TasteHistoryShare { get; set; }

        /// <summary>Number of distinct taste groups each user has (drawn uniformly from the max(1, <c>ItemCount / 30</c>) groups,
        /// from their own random stream), used by <see cref="TasteHistoryShare"/>. Must be positive; a value above the number of
        /// groups gives every user every group (so small worlds keep working with the default). Default 3.</summary>
        public int TasteGroupsPerUser { get; set; } = 3;

        /// <summary>Validates the options; throws <see cref="ArgumentOutOfRangeException"/> naming the option.</summary>
        public void Validate()
        {
            static void Positive(long v, string name)
            {
                if (v <= 0)
                    throw new ArgumentOutOfRangeException(name, v, $"{name} must be positive.");
            }
            static void Probability(double v, string name)
            {
                if (!(v >= 0 && v <= 1))
                    throw new ArgumentOutOfRangeException(name, v, $"{name} must be in [0, 1].");
            }
            static void Finite(double v, string name)
            {
                if (!double.IsFinite(v))
                    throw new ArgumentOutOfRangeException(name, v, $"{name} must be a finite number.");
            }
            Positive(UserCount, nameof(UserCount));
            Positive(LiveCount, nameof(LiveCount));
            Positive(ItemCount, nameof(ItemCount));
            Positive(CategoryCount, nameof(CategoryCount));
            Positive(CommunityCount, nameof(CommunityCount));
            Positive(LatentDimension, nameof(LatentDimension));
            Positive(ListSize, nameof(ListSize));
            Positive(MaxItemSequenceLength, nameof(MaxItemSequenceLength));
            Positive(MaxLiveSequenceLength, nameof(MaxLiveSequenceLength));
            Positive(MinCatalogSize, nameof(MinCatalogSize));
            Positive(CoreItemCount, nameof(CoreItemCount));
            Positive(MaxItemsOnSale, nameof(MaxItemsOnSale));
            if (RequestCount < 0)
                throw new ArgumentOutOfRangeException(nameof(RequestCount), RequestCount, "RequestCount must be non-negative.");
            if (ListSize > LiveCount)
                throw new ArgumentOutOfRangeException(nameof(ListSize), ListSize, $"ListSize ({ListSize}) cannot exceed LiveCount ({LiveCount}).");
            if (CandidatePoolSize < ListSize)
                throw new ArgumentOutOfRangeException(nameof(CandidatePoolSize), CandidatePoolSize, $"CandidatePoolSize ({CandidatePoolSize}) must be at least ListSize ({ListSize}).");
            if (MaxCatalogSize < MinCatalogSize)
                throw new ArgumentOutOfRangeException(nameof(MaxCatalogSize), MaxCatalogSize, "MaxCatalogSize must be at least MinCatalogSize.");
            if (MinCatalogSize > ItemCount)
                throw new ArgumentOutOfRangeException(nameof(MinCatalogSize), MinCatalogSize, $"MinCatalogSize ({MinCatalogSize}) cannot exceed ItemCount ({ItemCount}).");
            if (!(TimeSpanHours > 0) || !double.IsFinite(TimeSpanHours))
                throw new ArgumentOutOfRangeException(nameof(TimeSpanHours), TimeSpanHours, "TimeSpanHours must be a positive finite number.");
            if (!(PositionBiasExponent >= 0) || !double.IsFinite(PositionBiasExponent))
                throw new ArgumentOutOfRangeException(nameof(PositionBiasExponent), PositionBiasExponent, "PositionBiasExponent must be a non-negative finite number.");
            if (MeanItemHistory < 0)
                throw new ArgumentOutOfRangeException(nameof(MeanItemHistory), MeanItemHistory, "MeanItemHistory must be non-negative.");
            if (MeanLiveHistory < 0)
                throw new ArgumentOutOfRangeException(nameof(MeanLiveHistory), MeanLiveHistory, "MeanLiveHistory must be non-negative.");
            Probability(RandomizedShare, nameof(RandomizedShare));
            Probability(Math.Abs(ConversionCorrelation), nameof(ConversionCorrelation));
            Probability(Math.Abs(StayCorrelation), nameof(StayCorrelation));
            Probability(Math.Abs(FollowCorrelation), nameof(FollowCorrelation));
            Probability(Math.Abs(CommentCorrelation), nameof(CommentCorrelation));
            Probability(CommentBuyDependence, nameof(CommentBuyDependence));
            Probability(TasteHistoryShare, nameof(TasteHistoryShare));
            Positive(TasteGroupsPerUser, nameof(TasteGroupsPerUser));
            if (!(LongStaySeconds > 0) || !double.IsFinite(LongStaySeconds))
                throw new ArgumentOutOfRangeException(nameof(LongStaySeconds), LongStaySeconds, "LongStaySeconds must be a positive finite number.");
            foreach (var (v, n) in new[]
            {
                (CommunitySpread, nameof(CommunitySpread)), (PolicyRelevanceWeight, nameof(PolicyRelevanceWeight)),
                (PolicyPopularityWeight, nameof(PolicyPopularityWeight)), (PolicyNoise, nameof(PolicyNoise)),
                (AttractionIntercept, nameof(AttractionIntercept)), (AttractionScale, nameof(AttractionScale)),
                (ConversionIntercept, nameof(ConversionIntercept)), (ConversionScale, nameof(ConversionScale)),
                (StayScale, nameof(StayScale)), (StayNoise, nameof(StayNoise)), (FollowIntercept, nameof(FollowIntercept)),
                (CommentIntercept, nameof(CommentIntercept)), (ItemInterestScale, nameof(ItemInterestScale)), (EngagementScale, nameof(EngagementScale)), (FeatureNoise, nameof(FeatureNoise)),
            })
                Finite(v, n);
            if (CommunitySpread < 0 || PolicyNoise < 0 || StayNoise < 0 || FeatureNoise < 0)
                throw new ArgumentOutOfRangeException(CommunitySpread < 0 ? nameof(CommunitySpread) : PolicyNoise < 0 ? nameof(PolicyNoise) : StayNoise < 0 ? nameof(StayNoise) : nameof(FeatureNoise),
                    "Spreads and noise levels must be non-negative.");
            if (!(StayMedianSeconds > 0) || !double.IsFinite(StayMedianSeconds))
                throw new ArgumentOutOfRangeException(nameof(StayMedianSeconds), StayMedianSeconds, "StayMedianSeconds must be a positive finite number.");
            if (ExaminationCurve is not null)
            {
                if (ExaminationCurve.Count < ListSize)
                    throw new ArgumentOutOfRangeException(nameof(ExaminationCurve), ExaminationCurve.Count,
                        $"ExaminationCurve has {ExaminationCurve.Count} values; it needs one per position, at least ListSize = {ListSize}.");
                for (int i = 0; i < ExaminationCurve.Count; i++)
                    if (!(ExaminationCurve[i] > 0 && ExaminationCurve[i] <= 1))
                        throw new ArgumentOutOfRangeException(nameof(ExaminationCurve), ExaminationCurve[i],
                            $"ExaminationCurve value for position {i + 1} is {ExaminationCurve[i]}; each must be in (0, 1].");
            }
        }

        /// <summary>A shallow copy (the examination curve is copied too), so a simulator is not affected by later changes.</summary>
        internal LiveStreamSimulatorOptions Clone()
        {
            var c = (LiveStreamSimulatorOptions)MemberwiseClone();
            if (ExaminationCurve is not null)
                c.ExaminationCurve = new List<double>(ExaminationCurve).AsReadOnly();
            return c;
        }
    }
}
