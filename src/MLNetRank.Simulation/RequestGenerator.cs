using System;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// Generates the rows of one request from an RNG seeded by (seed, request index), into reusable buffers.
    /// Memory is O(list size + sequence lengths); the world is shared and read-only.
    /// </summary>
    internal sealed class RequestGenerator
    {
        private readonly World _w;
        private readonly LiveStreamSimulatorOptions _o;
        private readonly int[] _scratchPool;
        private readonly double[] _policyScore;
        private readonly int[] _order;
        private readonly float[] _meanItems;
        private readonly int[] _onSaleScratch;
        private readonly int[] _onAllLives;
        private readonly int[] _hist0;       // UserItemSeq as 0-based items (item-level interest)

        // ---- outputs of the current request ----
        public long RequestIndex = -1;
        public uint UserId;
        public float Time;
        public bool IsRandomized;
        public readonly int N;
        public readonly uint[] LiveIds;
        public readonly float[] Stats;       // N x StatFeatureCount
        public uint[] ItemSeq;
        public int ItemSeqLength;
        public uint[] LiveSeq;
        public int LiveSeqLength;
        public readonly uint[] OnSale;       // N x MaxItemsOnSale
        public readonly int[] OnSaleLength;
        public readonly uint[] Core;         // N x CoreItemCount
        public readonly int[] CoreLength;
        public readonly bool[] Click, Buy, Follow, Comment;
        public readonly float[] StayTime, TrueAttraction, TrueConversion, TrueExamination, TrueRelevance;
        public readonly float[] TrueObjectives;   // N x ObjectiveCount

        public static readonly int ObjectiveCount = ImpressionColumns.ObjectiveNames.Count;

        public static readonly int StatCount = ImpressionColumns.StatFeatureCount;

        public RequestGenerator(World world)
        {
            _w = world;
            _o = world.Options;
            N = _o.ListSize;
            int pool = Math.Min(_o.CandidatePoolSize, _o.LiveCount);
            _scratchPool = new int[Math.Max(_o.LiveCount, pool)];
            _policyScore = new double[pool];
            _order = new int[pool];
            _meanItems = new float[world.D];
            _onSaleScratch = new int[_o.MaxItemsOnSale];
            _onAllLives = new int[_o.LiveCount];
            _hist0 = new int[_o.MaxItemSequenceLength];
            for (int l = 0; l < _o.LiveCount; l++)
                _onAllLives[l] = l;
            LiveIds = new uint[N];
            Stats = new float[N * StatCount];
            ItemSeq = new uint[_o.MaxItemSequenceLength];
            LiveSeq = new uint[_o.MaxLiveSequenceLength];
            OnSale = new uint[N * _o.MaxItemsOnSale];
            OnSaleLength = new int[N];
            Core = new uint[N * _o.CoreItemCount];
            CoreLength = new int[N];
            Click = new bool[N];
            Buy = new bool[N];
            Follow = new bool[N];
            Comment = new bool[N];
            StayTime = new float[N];
            TrueAttraction = new float[N];
            TrueConversion = new float[N];
            TrueExamination = new float[N];
            TrueRelevance = new float[N];
            TrueObjectives = new float[N * ObjectiveCount];
        }

        public void Generate(long r)
        {
            var w = _w;
            var o = _o;
            var rng = SimRandom.Create(o.Seed, SimRandom.StreamRequest, (ulong)r);
            RequestIndex = r;
            double t = o.TimeSpanHours * (r + rng.NextDouble()) / Math.Max(1, o.RequestCount);
            Time = (float)t;
            // everything below uses the exposed (float) time, so World's ground-truth methods called with Time give
            // exactly the generated values, also at hour boundaries
            t = Time;
            // the user, by activity
            double pick = rng.NextDouble() * w.UserCumulativeActivity[^1];
            int u = Array.BinarySearch(w.UserCumulativeActivity, pick);
            if (u < 0)
                u = ~u;
            u = Math.Min(u, o.UserCount - 1);
            UserId = (uint)u + 1;
            IsRandomized = rng.NextDouble() < o.RandomizedShare;

            // candidate pool: rooms on air this hour, topped up from all rooms when too few are on air
            int hourOfDay = (int)Math.Floor(t % 24.0);
            var onAir = w.OnAirByHour[Math.Clamp(hourOfDay, 0, 23)];
            int poolSize = _policyScore.Length;
            int count;
            if (onAir.Length >= poolSize)
            {
                Array.Copy(onAir, _scratchPool, onAir.Length);
                PartialShuffle(ref rng, _scratchPool, onAir.Length, poolSize);
                count = poolSize;
            }
            else
            {
                Array.Copy(onAir, _scratchPool, onAir.Length);
                count = onAir.Length;
                while (count < poolSize)
                {
                    int l = rng.Next(o.LiveCount);
                    bool dup = false;
                    for (int k = 0; k < count; k++)
                        dup |= _scratchPool[k] == l;
                    if (!dup)
                        _scratchPool[count++] = l;
                }
            }

            // sequences (shared by the rows of the request; no random draws)
            ItemSeqLength = RecentBefore(w.ItemHistoryOffsets, w.ItemHistoryItems, w.ItemHistoryTimes, u, (float)t, ItemSeq);
            LiveSeqLength = RecentBefore(w.LiveHistoryOffsets, w.LiveHistoryLives, w.LiveHistoryTimes, u, (float)t, LiveSeq);
            for (int k = 0; k < ItemSeqLength; k++)
                _hist0[k] = (int)ItemSeq[k] - 1;
            bool interest = o.ItemInterestScale != 0;
            long hour = (long)Math.Floor(t);

            // the list: logging policy (noisy relevance + popularity), or a uniform random draw
            if (IsRandomized)
            {
                PartialShuffle(ref rng, _scratchPool, count, N);
                for (int p = 0; p < N; p++)
                    _order[p] = p;
            }
            else
            {
                for (int c = 0; c < count; c++)
                {
                    int l = _scratchPool[c];
                    double z = 0;
                    if (interest)
                    {
                        int ns = w.OnSale(l, hour, _onSaleScratch);
                        z = w.InterestZ(_hist0.AsSpan(0, ItemSeqLength), _onSaleScratch.AsSpan(0, ns));
                    }
                    double logit = w.AttractionLogit(u, l, w.StreamAge(l, t), z);
                    _policyScore[c] = o.PolicyRelevanceWeight * logit + o.PolicyPopularityWeight * w.LivePopularity[l] + o.PolicyNoise * rng.NextGaussian();
                    _order[c] = c;
                }
                Array.Sort(_policyScore, _order, 0, count);
                Array.Reverse(_order, 0, count);
            }


            double noise = o.FeatureNoise;
            for (int p = 0; p < N; p++)
            {
                int l = _scratchPool[_order[p]];
                LiveIds[p] = (uint)l + 1;
                double age = w.StreamAge(l, t);
                bool onAirNow = age < w.LiveSessionHours[l];
                int nSale = w.OnSale(l, hour, _onSaleScratch);
                var sale = new ReadOnlySpan<int>(_onSaleScratch, 0, nSale);
                var truth = w.Truth(u, l, age, sale, _meanItems, interest ? w.InterestZ(_hist0.AsSpan(0, ItemSeqLength), sale) : 0);
                double exam = w.Examination[p];

                // labels: every draw is made unconditionally so the streams stay aligned across settings
                double uClick = rng.NextDouble(), uBuy = rng.NextDouble(), zStay = rng.NextGaussian(), uFollow = rng.NextDouble(), uComment = rng.NextDouble();
                bool click = uClick < exam * truth.Attraction;
                Click[p] = click;
                Buy[p] = click && uBuy < truth.Conversion;
                StayTime[p] = click ? (float)Math.Max(1.0, Math.Exp(truth.LogStayMean + o.StayNoise * zStay)) : 0f;
                Follow[p] = click && uFollow < truth.Follow;
                // comment partly depends on buy: a buyer comments with c + d(1 - c) (d = 0: the same draw as before)
                double dep = o.CommentBuyDependence;
                Comment[p] = click && uComment < (Buy[p] ? truth.Comment + dep * (1 - truth.Comment) : truth.Comment);
                double pClick = exam * truth.Attraction;
                int ob = p * ObjectiveCount;
                TrueObjectives[ob] = (float)pClick;
                TrueObjectives[ob + 1] = (float)(pClick * truth.Conversion);
                TrueObjectives[ob + 2] = (float)(pClick * LongStayProbability(truth.LogStayMean, o.StayNoise, o.LongStaySeconds));
                TrueObjectives[ob + 3] = (float)(pClick * truth.Follow);
                TrueObjectives[ob + 4] = (float)(pClick * (truth.Comment + dep * truth.Conversion * (1 - truth.Comment)));
                TrueAttraction[p] = (float)truth.Attraction;
                TrueConversion[p] = (float)truth.Conversion;
                TrueExamination[p] = (float)exam;
                TrueRelevance[p] = w.RelevanceGrade(truth.Attraction);

                // items
                int so = p * o.MaxItemsOnSale;
                for (int k = 0; k < nSale; k++)
                    OnSale[so + k] = (uint)_onSaleScratch[k] + 1;
                OnSaleLength[p] = nSale;
                int co = p * o.CoreItemCount, cs = w.CoreOffsets[l], ce = w.CoreOffsets[l + 1];
                for (int k = cs; k < ce; k++)
                    Core[co + k - cs] = (uint)w.CoreItems[k] + 1;
                CoreLength[p] = ce - cs;

                // ---- StatFeatures ----
                var f = new Span<float>(Stats, p * StatCount, StatCount);
                double fresh = 0.4 * Math.Exp(-age / 1.5);
                double rtCtr = World.Sigmoid(Logit(w.LiveMeanAttraction[l]) + fresh) * w.MeanExamination * Math.Exp(noise * rng.NextGaussian());
                double viewers = onAirNow ? Math.Exp(3 + w.LivePopularity[l] + 0.5 * Math.Sin(Math.PI * age / w.LiveSessionHours[l]) + noise * rng.NextGaussian())
                                          : Math.Exp(w.LivePopularity[l] + noise * rng.NextGaussian());
                double salePrice = 0, saleCtr = 0;
                for (int k = 0; k < nSale; k++)
                {
                    int i = _onSaleScratch[k];
                    salePrice += w.ItemLogPrice[i];
                    saleCtr += World.Sigmoid(-3 + 0.5 * w.ItemPopularity[i]);
                }
                salePrice = nSale > 0 ? salePrice / nSale : 0;
                saleCtr = nSale > 0 ? saleCtr / nSale : 0;
                double coreCvr = 0;
                for (int k = cs; k < ce; k++)
                    coreCvr += World.Sigmoid(-2.5 + 0.3 * w.ItemPopularity[w.CoreItems[k]] - 0.3 * (w.ItemLogPrice[w.CoreItems[k]] - w.MeanLogPrice));
                coreCvr = ce > cs ? coreCvr / (ce - cs) : 0;
                f[0] = (float)rtCtr;
                f[1] = (float)Math.Log(1 + viewers);
                f[2] = (float)Math.Log(1 + viewers * rtCtr * w.LiveMeanConversion[l] * Math.Exp(salePrice) * Math.Exp(noise * rng.NextGaussian()));
                f[3] = (float)age;
                f[4] = (float)(w.LiveMeanComment[l] * Math.Exp(noise * rng.NextGaussian()));
                f[5] = w.LiveHistCtr[l];
                f[6] = w.LiveHistCvr[l];
                f[7] = w.LiveHistStay[l];
                f[8] = w.LiveHistFollow[l];
                f[9] = w.LiveHistGmv[l];
                f[10] = w.LiveFollowers[l];
                f[11] = nSale;
                f[12] = (float)salePrice;
                f[13] = (float)saleCtr;
                f[14] = (float)coreCvr;
                f[15] = w.UserAgeBucket[u];
                f[16] = w.UserGender[u];
                f[17] = (float)Math.Log(w.UserActivity[u]);
                f[18] = w.UserPower[u];
                f[19] = w.UserHistCtr[u];
                CrossStats(u, l, truth, f);
                // category match between the user's recent items and the room's items on sale
                int match = 0;
                for (int k = 0; k < ItemSeqLength; k++)
                {
                    int cat = w.ItemCategoryData[(int)ItemSeq[k] - 1];
                    for (int j = 0; j < nSale; j++)
                        if (w.ItemCategoryData[_onSaleScratch[j]] == cat)
                        {
                            match++;
                            break;
                        }
                }
                f[23] = ItemSeqLength > 0 ? (float)match / ItemSeqLength : 0f;
            }
        }

        /// <summary>User x room statistics: drawn from a pair-seeded RNG, so they are the same in every request of the pair.</summary>
        private void CrossStats(int u, int l, in World.TruthValues truth, Span<float> f)
        {
            var o = _o;
            var pr = SimRandom.Create(o.Seed, SimRandom.StreamPair, (ulong)u, (ulong)l);
            double sameCommunity = _w.UserCommunityData[u] == _w.LiveCommunityData[l] ? 1 : 0;
            int watches = pr.Poisson(0.4 * _w.UserActivity[u] * Math.Exp(0.5 * truth.ZAttr + 0.3 * sameCommunity));
            int impressions = pr.Poisson(4 * _w.UserActivity[u]) + watches;
            int clicks = Math.Min(impressions, pr.Binomial(impressions, truth.Attraction * _w.MeanExamination) + watches / 2);
            double baseCtr = _w.LiveMeanAttraction[l] * _w.MeanExamination;
            f[20] = (float)Math.Log(1 + watches);
            f[21] = (float)((clicks + 5 * baseCtr) / (impressions + 5));
            f[22] = pr.NextDouble() < World.Sigmoid(o.FollowIntercept + 1.5 + 0.6 * truth.ZAttr) ? 1f : 0f;
            f[24] = watches > 0 ? (float)Math.Min(720, -Math.Log(1 - pr.NextDouble()) * 720.0 / (watches + 1)) : 720f;
        }

        private static double Logit(double p)
        {
            p = Math.Clamp(p, 1e-6, 1 - 1e-6);
            return Math.Log(p / (1 - p));
        }

        private static void PartialShuffle(ref SimRandom rng, int[] a, int n, int k)
        {
            for (int i = 0; i < k && i < n - 1; i++)
            {
                int j = i + rng.Next(n - i);
                (a[i], a[j]) = (a[j], a[i]);
            }
        }

        /// <summary>The last up-to-<c>dst.Length</c> history entries of user u before time t, oldest first, as 1-based ids.</summary>
        private static int RecentBefore(int[] offsets, int[] ids, float[] times, int u, float t, uint[] dst)
        {
            int s = offsets[u], e = offsets[u + 1];
            // first index with time >= t
            int lo = s, hi = e;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (times[mid] < t)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            int n = Math.Min(dst.Length, lo - s);
            for (int k = 0; k < n; k++)
                dst[k] = (uint)ids[lo - n + k] + 1;
            return n;
        }

        /// <summary>P(max(1, exp(m + σz)) &gt;= T) for z ~ N(0, 1): the stay draw of <see cref="Generate"/>.</summary>
        internal static double LongStayProbability(double logMean, double sigma, double seconds)
        {
            if (seconds <= 1)
                return 1;
            double gap = logMean - Math.Log(seconds);
            if (sigma <= 0)
                return gap >= 0 ? 1 : 0;
            return NormalCdf(gap / sigma);
        }

        /// <summary>Standard normal CDF through the complementary error function (fractional error below 1.2e-7).</summary>
        internal static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

        private static double Erfc(double x)
        {
            // Numerical Recipes' erfcc (Chebyshev fit), fractional error < 1.2e-7 everywhere
            double z = Math.Abs(x);
            double t = 1.0 / (1.0 + 0.5 * z);
            double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
            return x >= 0 ? r : 2.0 - r;
        }
    }
}
