using System.Collections.Generic;

namespace MLNetRank.Simulation
{
    /// <summary>Names of the columns of <see cref="LiveStreamSimulator.GetImpressions(Microsoft.ML.MLContext)"/> and of the
    /// slots of its <c>StatFeatures</c> vector.</summary>
    public static class ImpressionColumns
    {
        /// <summary><c>RequestId</c>, UInt32: 1-based request (ranked list) id; rows of a request are contiguous.</summary>
        public const string RequestId = "RequestId";
        /// <summary><c>UserId</c>, UInt32 (1-based).</summary>
        public const string UserId = "UserId";
        /// <summary><c>LiveId</c>, UInt32 (1-based): the live room shown.</summary>
        public const string LiveId = "LiveId";
        /// <summary><c>Time</c>, Single: hours since the start of the simulated window; non-decreasing with RequestId.</summary>
        public const string Time = "Time";
        /// <summary><c>Position</c>, Int32: 1-based position in the list.</summary>
        public const string Position = "Position";
        /// <summary><c>IsRandomized</c>, Boolean: the list was a uniformly random draw in random order.</summary>
        public const string IsRandomized = "IsRandomized";
        /// <summary><c>StatFeatures</c>, known-size vector of Single with slot names <see cref="StatFeatureNames"/>.</summary>
        public const string StatFeatures = "StatFeatures";
        /// <summary><c>UserItemSeq</c>, variable-size vector of UInt32: item ids the user clicked most recently before the request, oldest first.</summary>
        public const string UserItemSeq = "UserItemSeq";
        /// <summary><c>UserLiveSeq</c>, variable-size vector of UInt32: live ids the user watched most recently, oldest first.</summary>
        public const string UserLiveSeq = "UserLiveSeq";
        /// <summary><c>LiveItemsOnSale</c>, variable-size vector of UInt32: item ids on sale in the room now.</summary>
        public const string LiveItemsOnSale = "LiveItemsOnSale";
        /// <summary><c>LiveCoreItems</c>, variable-size vector of UInt32: the room's historical core item ids.</summary>
        public const string LiveCoreItems = "LiveCoreItems";
        /// <summary><c>Click</c>, Boolean label.</summary>
        public const string Click = "Click";
        /// <summary><c>Buy</c>, Boolean label (only after a click).</summary>
        public const string Buy = "Buy";
        /// <summary><c>StayTime</c>, Single label: seconds in the room, 0 without a click, &gt; 0 after one.</summary>
        public const string StayTime = "StayTime";
        /// <summary><c>Follow</c>, Boolean label (only after a click).</summary>
        public const string Follow = "Follow";
        /// <summary><c>Comment</c>, Boolean label (only after a click).</summary>
        public const string Comment = "Comment";
        /// <summary><c>TrueAttraction</c>, Single: true P(click | examined).</summary>
        public const string TrueAttraction = "TrueAttraction";
        /// <summary><c>TrueConversion</c>, Single: true P(buy | click).</summary>
        public const string TrueConversion = "TrueConversion";
        /// <summary><c>TrueExamination</c>, Single: true P(examined | position).</summary>
        public const string TrueExamination = "TrueExamination";
        /// <summary><c>TrueRelevance</c>, Single: graded relevance 0..4 from the true attraction (see <see cref="World.RelevanceThresholdsByGrade"/>).</summary>
        public const string TrueRelevance = "TrueRelevance";

        /// <summary><c>TrueObjectives</c>, known-size vector of 5 Single with slot names <see cref="ObjectiveNames"/>: the true
        /// probability of each objective for the impression (before the draw, position bias included): P(click) = exam·attraction,
        /// P(buy) = P(click)·conversion, P(long stay) = P(click)·P(stay &gt;= LongStaySeconds), P(follow) = P(click)·follow,
        /// P(comment) = P(click)·(c + d·conversion·(1 − c)) with d = <c>CommentBuyDependence</c>. The ground truth of the
        /// multi-objective ensemble.</summary>
        public const string TrueObjectives = "TrueObjectives";

        /// <summary>Slot names of <c>TrueObjectives</c>, in order: Click, Buy, LongStay, Follow, Comment (labels: <c>Click</c>,
        /// <c>Buy</c>, <c>StayTime</c> &gt;= LongStaySeconds, <c>Follow</c>, <c>Comment</c>).</summary>
        public static IReadOnlyList<string> ObjectiveNames { get; } = new[] { "Click", "Buy", "LongStay", "Follow", "Comment" };

        /// <summary>Slot names of <c>StatFeatures</c>, in order: room real-time statistics, room historical statistics,
        /// statistics of the room's items, user profile, and user x room cross statistics.</summary>
        public static IReadOnlyList<string> StatFeatureNames { get; } = new[]
        {
            "live_rt_ctr_1h",                  // 0  real-time CTR of the room in the last hour (noisy)
            "live_rt_viewers_log",             // 1  log(1 + current viewers)
            "live_rt_gmv_1h_log",              // 2  log(1 + GMV in the last hour)
            "live_stream_age_hours",           // 3  hours since the current session started
            "live_rt_comment_rate",            // 4  real-time comment rate
            "live_hist_ctr_7d",                // 5  historical CTR (7 days)
            "live_hist_cvr_7d",                // 6  historical conversion rate
            "live_hist_stay_log_seconds",      // 7  historical mean log stay seconds
            "live_hist_follow_rate",           // 8  historical follow rate after a click
            "live_hist_gmv_7d_log",            // 9  log(1 + GMV over 7 days)
            "live_followers_log",              // 10 log followers
            "live_items_on_sale_count",        // 11 number of items on sale now
            "live_items_on_sale_avg_log_price",// 12 mean log price of the items on sale
            "live_items_on_sale_avg_ctr",      // 13 mean historical CTR of the items on sale
            "live_core_items_avg_cvr",         // 14 mean historical conversion rate of the core items
            "user_age_bucket",                 // 15 1..6
            "user_gender",                     // 16 0/1
            "user_activity_log",               // 17 log activity level
            "user_purchase_power",             // 18 purchase power
            "user_hist_ctr",                   // 19 user's historical CTR (noisy)
            "user_live_watch_count_30d_log",   // 20 log(1 + watches of this room in 30 days)
            "user_live_hist_ctr",              // 21 user's smoothed CTR on this room
            "user_follows_live",               // 22 0/1
            "user_live_category_match",        // 23 share of UserItemSeq whose category the room sells now
            "user_live_hours_since_watch",     // 24 hours since the user last watched this room (720 if never)
        };

        /// <summary>Number of slots of <c>StatFeatures</c>.</summary>
        public static int StatFeatureCount => StatFeatureNames.Count;
    }
}
