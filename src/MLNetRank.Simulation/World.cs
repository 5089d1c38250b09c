using System;
using System.Collections.Generic;
using System.Linq;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// The simulated world behind <see cref="LiveStreamSimulator"/>: users, live rooms, items and categories, their latent
    /// vectors and communities, each room's catalog, and the true behaviour model (attraction, conversion, examination).
    /// Other components' tests use it to check what they recover. All ids are 1-based (0 is never used, so it can serve
    /// as padding); communities are 0-based.
    /// </summary>
    /// <remarks>
    /// The true model, per user u, room l and time t (z-scores are standardized over random user x room pairs):
    /// <list type="bullet">
    /// <item>attraction logit = <c>AttractionIntercept + AttractionScale·zAttr(u,l) + quality(l) + bias(u) + 0.4·exp(-age/1.5h) + ItemInterestScale·zInterest(u,l,t)</c>
    /// (the last term only when the item-level interest knob is on; see <see cref="TrueItemInterest"/>),
    /// where zAttr is the scaled dot product of the user's and the room's latent vectors and the room's latent vector is half its
    /// own and half the mean of its catalog items' vectors;</item>
    /// <item>conversion logit (P(buy | click)) = <c>ConversionIntercept + ConversionScale·(ρ·shared + sqrt(1-ρ²)·zConv) + power(u) - 0.3·priceDeviation</c>,
    /// shared = standardized zAttr + zItems, zItems = the user's affinity to the mean vector of the items on sale now;</item>
    /// <item>stay, follow and comment use ρ·zAttr + sqrt(1-ρ²)·zTask with their own task-specific latent vectors;</item>
    /// <item>P(click) = examination(position) x attraction; buy, stay, follow and comment happen only after a click.</item>
    /// </list>
    /// </remarks>
    public sealed class World
    {
        internal const int TaskConversion = 0, TaskStay = 1, TaskFollow = 2, TaskComment = 3, TaskCount = 4;

        internal readonly LiveStreamSimulatorOptions Options;
        internal readonly int D;
        internal readonly float InvSqrtD;

        internal readonly float[] CommunityCenters;
        internal readonly float[] UserLatentData, LiveLatentData, ItemLatentData, CategoryLatentData;
        internal readonly float[][] UserTaskLatent, LiveTaskLatent;
        internal readonly int[] UserCommunityData, LiveCommunityData, CategoryCommunityData;
        internal readonly int[] ItemCategoryData; // 0-based category index
        internal readonly int[][] CategoryItems;   // 0-based item indices

        // users
        internal readonly float[] UserBias, UserPower, UserActivity, UserHistCtr;
        internal readonly int[] UserAgeBucket, UserGender;
        internal readonly double[] UserCumulativeActivity;

        // lives
        internal readonly float[] LivePopularity, LiveQuality, LiveStartHour, LiveSessionHours;
        internal readonly int[] CatalogOffsets, CatalogItems; // items 0-based
        internal readonly int[] CoreOffsets, CoreItems;
        internal readonly int[][] OnAirByHour;
        internal readonly float[] LiveMeanAttraction, LiveMeanConversion, LiveMeanLogStay, LiveMeanFollow, LiveMeanComment;
        internal readonly float[] LiveHistCtr, LiveHistCvr, LiveHistStay, LiveHistFollow, LiveHistGmv, LiveFollowers;

        // items
        internal readonly float[] ItemLogPrice, ItemPopularity;
        internal readonly float MeanLogPrice;

        // histories (sorted by time per user)
        internal readonly int[] ItemHistoryOffsets, ItemHistoryItems; // items 0-based
        internal readonly float[] ItemHistoryTimes;
        internal readonly int[] LiveHistoryOffsets, LiveHistoryLives;   // lives 0-based
        internal readonly float[] LiveHistoryTimes;

        // item-level interest (LiveStreamSimulatorOptions.ItemInterestScale): hidden taste groups, 0-based
        internal readonly int[] ItemTasteData;
        internal readonly int TasteGroupCount;
        internal readonly int[][] TasteGroupItems;   // 0-based item indices per group
        internal readonly int[] UserTasteData;       // TasteGroupsPerUser groups per user, 0-based
        internal readonly double InterestMean, InterestStd;

        // calibration of the latent scores
        internal readonly double AttrMean, AttrStd, ItemsMean, ItemsStd, SharedStd;
        internal readonly double[] RelevanceThresholds;
        internal readonly double[] Examination;
        internal readonly double MeanExamination;

        internal World(LiveStreamSimulatorOptions o)
        {
            Options = o;
            D = o.LatentDimension;
            InvSqrtD = 1f / MathF.Sqrt(D);
            int U = o.UserCount, L = o.LiveCount, I = o.ItemCount, C = o.CategoryCount, K = o.CommunityCount;
            var rng = SimRandom.Create(o.Seed, SimRandom.StreamWorld, 0);
            float spread = (float)o.CommunitySpread;

            // examination curve
            Examination = new double[o.ListSize];
            for (int p = 0; p < o.ListSize; p++)
                Examination[p] = o.ExaminationCurve is not null ? o.ExaminationCurve[p] : Math.Pow(1.0 / (p + 1), o.PositionBiasExponent);
            MeanExamination = Examination.Average();

            CommunityCenters = Gaussian(ref rng, K * D, 1f);

            // categories
            CategoryCommunityData = new int[C];
            CategoryLatentData = new float[C * D];
            for (int c = 0; c < C; c++)
            {
                CategoryCommunityData[c] = c % K;
                for (int k = 0; k < D; k++)
                    CategoryLatentData[c * D + k] = CommunityCenters[(c % K) * D + k] + 0.5f * spread * (float)rng.NextGaussian();
            }

            // items
            ItemCategoryData = new int[I];
            ItemLatentData = new float[I * D];
            ItemLogPrice = new float[I];
            ItemPopularity = new float[I];
            var catPrice = new float[C];
            for (int c = 0; c < C; c++)
                catPrice[c] = (float)(3.0 + 0.5 * rng.NextGaussian());
            var catLists = new List<int>[C];
            for (int c = 0; c < C; c++)
                catLists[c] = new List<int>();
            for (int i = 0; i < I; i++)
            {
                int c = i < C ? i : rng.Next(C);
                ItemCategoryData[i] = c;
                catLists[c].Add(i);
                for (int k = 0; k < D; k++)
                    ItemLatentData[i * D + k] = CategoryLatentData[c * D + k] + 0.5f * spread * (float)rng.NextGaussian();
                ItemLogPrice[i] = catPrice[c] + (float)(0.5 * rng.NextGaussian());
                ItemPopularity[i] = (float)rng.NextGaussian();
            }
            CategoryItems = catLists.Select(l => l.ToArray()).ToArray();
            MeanLogPrice = I > 0 ? ItemLogPrice.Average() : 0f;

            // users
            UserCommunityData = new int[U];
            UserLatentData = new float[U * D];
            UserBias = new float[U];
            UserPower = new float[U];
            UserActivity = new float[U];
            UserAgeBucket = new int[U];
            UserGender = new int[U];
            UserCumulativeActivity = new double[U];
            double cum = 0;
            for (int u = 0; u < U; u++)
            {
                int m = rng.Next(K);
                UserCommunityData[u] = m;
                for (int k = 0; k < D; k++)
                    UserLatentData[u * D + k] = CommunityCenters[m * D + k] + spread * (float)rng.NextGaussian();
                UserBias[u] = (float)(0.3 * rng.NextGaussian());
                UserPower[u] = (float)(0.5 * rng.NextGaussian());
                UserActivity[u] = (float)Math.Exp(0.6 * rng.NextGaussian() - 0.18);
                UserAgeBucket[u] = 1 + rng.Next(6);
                UserGender[u] = rng.Next(2);
                cum += UserActivity[u];
                UserCumulativeActivity[u] = cum;
            }

            // lives: own latent, catalog, final latent
            LiveCommunityData = new int[L];
            LiveLatentData = new float[L * D];
            LivePopularity = new float[L];
            LiveQuality = new float[L];
            LiveStartHour = new float[L];
            LiveSessionHours = new float[L];
            CatalogOffsets = new int[L + 1];
            CoreOffsets = new int[L + 1];
            var catalog = new List<int>();
            var core = new List<int>();
            var commCats = Enumerable.Range(0, K).Select(m => Enumerable.Range(0, C).Where(c => CategoryCommunityData[c] == m && CategoryItems[c].Length > 0).ToArray()).ToArray();
            var nonEmptyCats = Enumerable.Range(0, C).Where(c => CategoryItems[c].Length > 0).ToArray();
            var own = new float[D];
            var chosen = new HashSet<int>();
            var scored = new List<(int item, double score)>();
            for (int l = 0; l < L; l++)
            {
                int m = rng.Next(K);
                LiveCommunityData[l] = m;
                for (int k = 0; k < D; k++)
                    own[k] = CommunityCenters[m * D + k] + spread * (float)rng.NextGaussian();
                LivePopularity[l] = (float)rng.NextGaussian();
                LiveQuality[l] = (float)(0.5 * (0.6 * LivePopularity[l] + 0.8 * rng.NextGaussian()));
                LiveStartHour[l] = (float)(24 * rng.NextDouble());
                LiveSessionHours[l] = (float)(2 + 8 * rng.NextDouble());
                var cats = commCats[m].Length > 0 ? commCats[m] : nonEmptyCats;
                int main1 = cats[rng.Next(cats.Length)], main2 = cats[rng.Next(cats.Length)];
                int size = Math.Min(I, rng.Next(o.MinCatalogSize, o.MaxCatalogSize));
                chosen.Clear();
                scored.Clear();
                int guard = 0;
                while (chosen.Count < size && guard++ < size * 50)
                {
                    double u01 = rng.NextDouble();
                    int c = u01 < 0.45 ? main1 : u01 < 0.8 ? main2 : nonEmptyCats[rng.Next(nonEmptyCats.Length)];
                    int item = PickBySoftmax(ref rng, CategoryItems[c], own, ItemLatentData, 1.0);
                    if (chosen.Add(item))
                        scored.Add((item, Dot(own, 0, ItemLatentData, item * D, D) * InvSqrtD + 0.3 * ItemPopularity[item]));
                }
                for (int i = 0; guard >= size * 50 && chosen.Count < size && i < I; i++)
                    if (chosen.Add(i))
                        scored.Add((i, 0));
                foreach (var s in scored)
                    catalog.Add(s.item);
                foreach (var s in scored.OrderByDescending(s => s.score).ThenBy(s => s.item).Take(Math.Min(o.CoreItemCount, scored.Count)))
                    core.Add(s.item);
                CatalogOffsets[l + 1] = catalog.Count;
                CoreOffsets[l + 1] = core.Count;
                // room latent = half its own, half the mean of its catalog
                for (int k = 0; k < D; k++)
                {
                    double mean = 0;
                    foreach (var s in scored)
                        mean += ItemLatentData[s.item * D + k];
                    LiveLatentData[l * D + k] = (float)(0.5 * own[k] + 0.5 * mean / scored.Count);
                }
            }
            CatalogItems = catalog.ToArray();
            CoreItems = core.ToArray();

            // on-air rooms per hour of the day
            OnAirByHour = new int[24][];
            for (int h = 0; h < 24; h++)
            {
                var list = new List<int>();
                for (int l = 0; l < L; l++)
                    if (StreamAge(l, h + 0.5) < LiveSessionHours[l])
                        list.Add(l);
                OnAirByHour[h] = list.ToArray();
            }

            // task-specific latent vectors (independent of the communities)
            UserTaskLatent = new float[TaskCount][];
            LiveTaskLatent = new float[TaskCount][];
            for (int t = 0; t < TaskCount; t++)
            {
                UserTaskLatent[t] = Gaussian(ref rng, U * D, 1f);
                LiveTaskLatent[t] = Gaussian(ref rng, L * D, 1f);
            }

            // calibration of zAttr and zItems over random pairs
            {
                var cal = SimRandom.Create(o.Seed, SimRandom.StreamCalibration, 0);
                const int n = 20000;
                var a = new double[n];
                var b = new double[n];
                Span<float> meanItems = stackalloc float[D];
                Span<int> onSale = stackalloc int[o.MaxItemsOnSale];
                for (int s = 0; s < n; s++)
                {
                    int u = cal.Next(U), l = cal.Next(L);
                    a[s] = Dot(UserLatentData, u * D, LiveLatentData, l * D, D) * InvSqrtD;
                    int cnt = OnSale(l, cal.Next(24 * 7), onSale);
                    MeanLatent(onSale[..cnt], meanItems);
                    b[s] = DotSpan(UserLatentData, u * D, meanItems) * InvSqrtD;
                }
                (AttrMean, AttrStd) = MeanStd(a);
                (ItemsMean, ItemsStd) = MeanStd(b);
                var sum = new double[n];
                for (int s = 0; s < n; s++)
                    sum[s] = (a[s] - AttrMean) / AttrStd + (b[s] - ItemsMean) / ItemsStd;
                SharedStd = MeanStd(sum).std;
                // graded relevance thresholds: quantiles of the true attraction over random pairs and times
                var probs = new double[n];
                for (int s = 0; s < n; s++)
                {
                    int u = cal.Next(U), l = cal.Next(L);
                    probs[s] = Sigmoid(AttractionLogit(u, l, 24 * cal.NextDouble()));
                }
                Array.Sort(probs);
                RelevanceThresholds = new[] { 0.5, 0.75, 0.9, 0.97 }.Select(q => probs[(int)(q * (n - 1))]).ToArray();
            }

            // population means per room (their noisy versions are the historical statistics)
            LiveMeanAttraction = new float[L];
            LiveMeanConversion = new float[L];
            LiveMeanLogStay = new float[L];
            LiveMeanFollow = new float[L];
            LiveMeanComment = new float[L];
            LiveHistCtr = new float[L];
            LiveHistCvr = new float[L];
            LiveHistStay = new float[L];
            LiveHistFollow = new float[L];
            LiveHistGmv = new float[L];
            LiveFollowers = new float[L];
            {
                double noise = o.FeatureNoise;
                System.Threading.Tasks.Parallel.For(0, L, l =>
                {
                    Span<float> meanItems = stackalloc float[D];
                    Span<int> onSale = stackalloc int[o.MaxItemsOnSale];
                    var lr = SimRandom.Create(o.Seed, SimRandom.StreamWorld, 1000 + (ulong)l);
                    const int m = 100;
                    double sa = 0, sc = 0, ss = 0, sf = 0, sm = 0;
                    for (int s = 0; s < m; s++)
                    {
                        int u = lr.Next(U);
                        double age = LiveSessionHours[l] * lr.NextDouble();
                        int cnt = OnSale(l, lr.Next(24 * 7), onSale);
                        var p = Truth(u, l, age, onSale[..cnt], meanItems);
                        sa += p.Attraction;
                        sc += p.Conversion;
                        ss += p.LogStayMean;
                        sf += p.Follow;
                        sm += p.Comment;
                    }
                    LiveMeanAttraction[l] = (float)(sa / m);
                    LiveMeanConversion[l] = (float)(sc / m);
                    LiveMeanLogStay[l] = (float)(ss / m);
                    LiveMeanFollow[l] = (float)(sf / m);
                    LiveMeanComment[l] = (float)(sm / m);
                    LiveHistCtr[l] = (float)(LiveMeanAttraction[l] * MeanExamination * Math.Exp(0.5 * noise * lr.NextGaussian()));
                    LiveHistCvr[l] = (float)(LiveMeanConversion[l] * Math.Exp(0.5 * noise * lr.NextGaussian()));
                    LiveHistStay[l] = (float)(LiveMeanLogStay[l] + 0.5 * noise * lr.NextGaussian());
                    LiveHistFollow[l] = (float)(LiveMeanFollow[l] * Math.Exp(0.5 * noise * lr.NextGaussian()));
                    double catalogPrice = 0;
                    for (int j = CatalogOffsets[l]; j < CatalogOffsets[l + 1]; j++)
                        catalogPrice += Math.Exp(ItemLogPrice[CatalogItems[j]]);
                    catalogPrice /= Math.Max(1, CatalogOffsets[l + 1] - CatalogOffsets[l]);
                    double viewers7d = Math.Exp(7 + LivePopularity[l]);
                    LiveHistGmv[l] = (float)Math.Log(1 + viewers7d * LiveHistCtr[l] * LiveHistCvr[l] * catalogPrice);
                    LiveFollowers[l] = (float)(5 + 1.2 * LivePopularity[l] + 3 * LiveMeanFollow[l] + noise * lr.NextGaussian());
                });
            }

            // user historical CTR (noisy)
            UserHistCtr = new float[U];
            for (int u = 0; u < U; u++)
            {
                var ur = SimRandom.Create(o.Seed, SimRandom.StreamWorld, 1_000_000 + (ulong)u);
                UserHistCtr[u] = (float)(Sigmoid(o.AttractionIntercept + UserBias[u] + 0.5) * MeanExamination * Math.Exp(0.5 * o.FeatureNoise * ur.NextGaussian()));
            }

            // hidden taste groups of items and users, each from its own stream (the other draws are unchanged)
            TasteGroupCount = Math.Max(1, I / 30);
            ItemTasteData = new int[I];
            {
                var tr = SimRandom.Create(o.Seed, SimRandom.StreamTaste, 0);
                for (int i = 0; i < I; i++)
                    ItemTasteData[i] = tr.Next(TasteGroupCount);
            }
            TasteGroupItems = GroupMembers();
            int perUser = Math.Min(o.TasteGroupsPerUser, TasteGroupCount);
            UserTasteData = new int[U * perUser];
            for (int u = 0; u < U; u++)
            {
                var ur = SimRandom.Create(o.Seed, SimRandom.StreamTaste, 2, (ulong)u);
                for (int k = 0; k < perUser; k++)
                {
                    int g;
                    do
                        g = ur.Next(TasteGroupCount);
                    while (new ReadOnlySpan<int>(UserTasteData, u * perUser, k).Contains(g));
                    UserTasteData[u * perUser + k] = g;
                }
            }

            // background histories: item clicks and room watches, half before time 0
            (ItemHistoryOffsets, ItemHistoryItems, ItemHistoryTimes) = BuildItemHistory();
            (LiveHistoryOffsets, LiveHistoryLives, LiveHistoryTimes) = BuildLiveHistory();

            // item-level interest: the mean and deviation of the raw interest over random users, rooms and times
            {
                var cal = SimRandom.Create(o.Seed, SimRandom.StreamTaste, 1);
                const int n = 20000;
                var raw = new double[n];
                var hist = new int[o.MaxItemSequenceLength];
                Span<int> sale = stackalloc int[o.MaxItemsOnSale];
                for (int s = 0; s < n; s++)
                {
                    int u = cal.Next(U), l = cal.Next(L);
                    float t = (float)(o.TimeSpanHours * cal.NextDouble());
                    int h = RecentItemsBefore(u, t, hist);
                    int cnt = OnSale(l, (long)Math.Floor(t), sale);
                    raw[s] = InterestRaw(hist.AsSpan(0, h), sale[..cnt]);
                }
                (InterestMean, InterestStd) = MeanStd(raw);
            }
        }

        private int[][] GroupMembers()
        {
            var lists = Enumerable.Range(0, TasteGroupCount).Select(_ => new List<int>()).ToArray();
            for (int i = 0; i < ItemTasteData.Length; i++)
                lists[ItemTasteData[i]].Add(i);
            return lists.Select(l => l.ToArray()).ToArray();
        }

        /// <summary>The last up-to-<c>dst.Length</c> items (0-based) user u clicked before time t, oldest first.</summary>
        internal int RecentItemsBefore(int u, float t, Span<int> dst)
        {
            int s = ItemHistoryOffsets[u], e = ItemHistoryOffsets[u + 1];
            int lo = s, hi = e;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (ItemHistoryTimes[mid] < t)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            int n = Math.Min(dst.Length, lo - s);
            for (int k = 0; k < n; k++)
                dst[k] = ItemHistoryItems[lo - n + k];
            return n;
        }

        /// <summary>Share of the items on sale whose taste group appears among the history's items (0 when either is empty).</summary>
        internal double InterestRaw(ReadOnlySpan<int> history, ReadOnlySpan<int> onSale)
        {
            if (history.Length == 0 || onSale.Length == 0)
                return 0;
            int hits = 0;
            foreach (int s in onSale)
            {
                int g = ItemTasteData[s];
                foreach (int h in history)
                    if (ItemTasteData[h] == g)
                    {
                        hits++;
                        break;
                    }
            }
            return (double)hits / onSale.Length;
        }

        /// <summary>The standardized item-level interest (the term that <see cref="LiveStreamSimulatorOptions.ItemInterestScale"/> multiplies).</summary>
        internal double InterestZ(ReadOnlySpan<int> history, ReadOnlySpan<int> onSale) => (InterestRaw(history, onSale) - InterestMean) / InterestStd;

        /// <summary>Builds one time-sorted event list per user in parallel (each user has its own RNG stream, so the result
        /// does not depend on the number of threads) and concatenates them.</summary>
        private (int[], int[], float[]) PerUser(Func<int, List<(float t, int id)>> build)
        {
            int U = Options.UserCount;
            var per = new (float t, int id)[U][];
            System.Threading.Tasks.Parallel.For(0, U, u =>
            {
                var ev = build(u);
                ev.Sort((x, y) => x.t.CompareTo(y.t));
                per[u] = ev.ToArray();
            });
            var offsets = new int[U + 1];
            for (int u = 0; u < U; u++)
                offsets[u + 1] = offsets[u] + per[u].Length;
            var ids = new int[offsets[U]];
            var times = new float[offsets[U]];
            for (int u = 0; u < U; u++)
                for (int k = 0; k < per[u].Length; k++)
                {
                    ids[offsets[u] + k] = per[u][k].id;
                    times[offsets[u] + k] = per[u][k].t;
                }
            return (offsets, ids, times);
        }

        private (int[], int[], float[]) BuildItemHistory()
        {
            var o = Options;
            int C = o.CategoryCount;
            float T = (float)o.TimeSpanHours;
            return PerUser(u =>
            {
                var r = SimRandom.Create(o.Seed, SimRandom.StreamHistory, (ulong)u);
                var catWeights = new double[C];
                double total = 0;
                for (int c = 0; c < C; c++)
                {
                    catWeights[c] = CategoryItems[c].Length == 0 ? 0 : Math.Exp(1.5 * Dot(UserLatentData, u * D, CategoryLatentData, c * D, D) * InvSqrtD);
                    total += catWeights[c];
                }
                double mean = 0.5 * o.MeanItemHistory * UserActivity[u];
                int before = 2 + r.Poisson(mean), after = r.Poisson(mean);
                var ev = new List<(float t, int id)>(before + after);
                var userVec = new ReadOnlySpan<float>(UserLatentData, u * D, D);
                // taste-shaped clicks (TasteHistoryShare): decided and drawn from their own stream after the click drawn as
                // without the option, so a click that does not follow the taste is the same click as without it
                double share = o.TasteHistoryShare;
                var tr = share > 0 ? SimRandom.Create(o.Seed, SimRandom.StreamTaste, 3, (ulong)u) : default;
                int perUser = UserTasteData.Length / o.UserCount;
                for (int e = 0; e < before + after; e++)
                {
                    float t = e < before ? -T * (float)r.NextDouble() : T * (float)r.NextDouble();
                    int c = r.Categorical(catWeights, total);
                    int item = PickBySoftmax(ref r, CategoryItems[c], userVec, ItemLatentData, 1.0);
                    if (share > 0 && tr.NextDouble() < share)
                    {
                        var members = TasteGroupItems[UserTasteData[u * perUser + tr.Next(perUser)]];
                        if (members.Length > 0)
                            item = PickBySoftmax(ref tr, members, userVec, ItemLatentData, 1.0);
                    }
                    ev.Add((t, item));
                }
                return ev;
            });
        }

        private (int[], int[], float[]) BuildLiveHistory()
        {
            var o = Options;
            int L = o.LiveCount;
            var commLives = Enumerable.Range(0, o.CommunityCount).Select(m => Enumerable.Range(0, L).Where(l => LiveCommunityData[l] == m).ToArray()).ToArray();
            const int cand = 20;
            float T = (float)o.TimeSpanHours;
            return PerUser(u =>
            {
                var candLives = new int[cand];
                var w = new double[cand];
                var r = SimRandom.Create(o.Seed, SimRandom.StreamLiveHistory, (ulong)u);
                double mean = 0.5 * o.MeanLiveHistory * UserActivity[u];
                int before = 1 + r.Poisson(mean), after = r.Poisson(mean);
                var own = commLives[UserCommunityData[u]];
                var ev = new List<(float t, int id)>(before + after);
                for (int e = 0; e < before + after; e++)
                {
                    float t = e < before ? -T * (float)r.NextDouble() : T * (float)r.NextDouble();
                    double total = 0;
                    for (int j = 0; j < cand; j++)
                    {
                        candLives[j] = own.Length > 0 && r.NextDouble() < 0.7 ? own[r.Next(own.Length)] : r.Next(L);
                        w[j] = Math.Exp(AttractionLogit(u, candLives[j], 2.0));
                        total += w[j];
                    }
                    ev.Add((t, candLives[r.Categorical(w, total)]));
                }
                return ev;
            });
        }

        // ---------------- the true model (0-based indices) ----------------

        internal struct TruthValues
        {
            public double Attraction, Conversion, LogStayMean, Follow, Comment, AttractionLogit, ZAttr;
        }

        /// <summary>Hours since the room's current daily session started, in [0, 24).</summary>
        internal double StreamAge(int l, double time)
        {
            double a = (time - LiveStartHour[l]) % 24.0;
            return a < 0 ? a + 24.0 : a;
        }

        internal double ZAttr(int u, int l) => (Dot(UserLatentData, u * D, LiveLatentData, l * D, D) * InvSqrtD - AttrMean) / AttrStd;

        internal double AttractionLogit(int u, int l, double age, double interestZ = 0)
            => Options.AttractionIntercept + Options.AttractionScale * ZAttr(u, l) + LiveQuality[l] + UserBias[u] + 0.4 * Math.Exp(-age / 1.5)
               + (interestZ == 0 ? 0 : Options.ItemInterestScale * interestZ);

        internal double ZTask(int task, int u, int l) => Dot(UserTaskLatent[task], u * D, LiveTaskLatent[task], l * D, D) * InvSqrtD;

        /// <summary>All true probabilities of user u in room l at stream age <paramref name="age"/> with the given items on sale.</summary>
        internal TruthValues Truth(int u, int l, double age, ReadOnlySpan<int> onSale, Span<float> scratch, double interestZ = 0)
        {
            var o = Options;
            var v = new TruthValues();
            double zA = ZAttr(u, l);
            v.ZAttr = zA;
            v.AttractionLogit = o.AttractionIntercept + o.AttractionScale * zA + LiveQuality[l] + UserBias[u] + 0.4 * Math.Exp(-age / 1.5)
                + (interestZ == 0 ? 0 : o.ItemInterestScale * interestZ);
            v.Attraction = Sigmoid(v.AttractionLogit);
            MeanLatent(onSale, scratch);
            double zI = (DotSpan(UserLatentData, u * D, scratch) * InvSqrtD - ItemsMean) / ItemsStd;
            double shared = (zA + zI) / SharedStd;
            double price = 0;
            foreach (int i in onSale)
                price += ItemLogPrice[i];
            price = onSale.Length > 0 ? price / onSale.Length - MeanLogPrice : 0;
            double rc = o.ConversionCorrelation;
            v.Conversion = Sigmoid(o.ConversionIntercept + o.ConversionScale * (rc * shared + Math.Sqrt(1 - rc * rc) * ZTask(TaskConversion, u, l)) + UserPower[u] - 0.3 * price);
            double rs = o.StayCorrelation;
            v.LogStayMean = Math.Log(o.StayMedianSeconds) + o.StayScale * (rs * zA + Math.Sqrt(1 - rs * rs) * ZTask(TaskStay, u, l));
            double rf = o.FollowCorrelation;
            v.Follow = Sigmoid(o.FollowIntercept + o.EngagementScale * (rf * zA + Math.Sqrt(1 - rf * rf) * ZTask(TaskFollow, u, l)));
            double rm = o.CommentCorrelation;
            v.Comment = Sigmoid(o.CommentIntercept + o.EngagementScale * (rm * zA + Math.Sqrt(1 - rm * rm) * ZTask(TaskComment, u, l)));
            return v;
        }

        /// <summary>The items on sale in room l during hour <paramref name="hourIndex"/> (a rotating subset of its catalog, core items favoured).</summary>
        internal int OnSale(int l, long hourIndex, Span<int> dst)
        {
            int start = CatalogOffsets[l], size = CatalogOffsets[l + 1] - start;
            var r = SimRandom.Create(Options.Seed, SimRandom.StreamOnSale, (ulong)l, unchecked((ulong)hourIndex));
            int max = Math.Min(Options.MaxItemsOnSale, size);
            int count = Math.Max(1, Math.Min(max, (max + 1) / 2 + r.Next(max / 2 + 1)));
            int n = 0;
            for (int j = CoreOffsets[l]; j < CoreOffsets[l + 1] && n < count; j++)
                if (r.NextDouble() < 0.6)
                    dst[n++] = CoreItems[j];
            int guard = 0;
            while (n < count && guard++ < 1000)
            {
                int item = CatalogItems[start + r.Next(size)];
                bool dup = false;
                for (int k = 0; k < n; k++)
                    dup |= dst[k] == item;
                if (!dup)
                    dst[n++] = item;
            }
            return n;
        }

        internal int RelevanceGrade(double attraction)
        {
            int g = 0;
            foreach (var t in RelevanceThresholds)
                if (attraction > t)
                    g++;
            return g;
        }

        internal void MeanLatent(ReadOnlySpan<int> items, Span<float> dst)
        {
            dst.Clear();
            if (items.Length == 0)
                return;
            foreach (int i in items)
                for (int k = 0; k < D; k++)
                    dst[k] += ItemLatentData[i * D + k];
            for (int k = 0; k < D; k++)
                dst[k] /= items.Length;
        }

        // ---------------- helpers ----------------

        internal static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

        internal static double Dot(float[] a, int ao, float[] b, int bo, int d)
        {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += a[ao + k] * b[bo + k];
            return s;
        }

        private static double Dot(ReadOnlySpan<float> a, int ao, float[] b, int bo, int d)
        {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += a[ao + k] * b[bo + k];
            return s;
        }

        internal static double DotSpan(float[] a, int ao, ReadOnlySpan<float> b)
        {
            double s = 0;
            for (int k = 0; k < b.Length; k++)
                s += a[ao + k] * b[k];
            return s;
        }

        /// <summary>Draws one candidate with probability proportional to exp(temperature x affinity). Large candidate sets are
        /// first subsampled (64 uniform draws), so the cost stays bounded however many items a category holds.</summary>
        private int PickBySoftmax(ref SimRandom r, int[] candidates, ReadOnlySpan<float> vec, float[] latent, double temperature)
        {
            const int maxCandidates = 64;
            int m = Math.Min(candidates.Length, maxCandidates);
            bool sub = candidates.Length > maxCandidates;
            Span<double> w = stackalloc double[m];
            Span<int> pick = stackalloc int[m];
            double max = double.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                pick[j] = sub ? candidates[r.Next(candidates.Length)] : candidates[j];
                w[j] = temperature * Dot(vec, 0, latent, pick[j] * D, D) * InvSqrtD;
                max = Math.Max(max, w[j]);
            }
            double total = 0;
            for (int j = 0; j < m; j++)
            {
                w[j] = Math.Exp(w[j] - max);
                total += w[j];
            }
            return pick[r.Categorical(w, total)];
        }

        private static float[] Gaussian(ref SimRandom r, int n, float scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
                a[i] = scale * (float)r.NextGaussian();
            return a;
        }

        private static (double mean, double std) MeanStd(double[] a)
        {
            double m = a.Average();
            double v = a.Sum(x => (x - m) * (x - m)) / Math.Max(1, a.Length - 1);
            return (m, Math.Max(1e-9, Math.Sqrt(v)));
        }

        // ---------------- public API ----------------

        /// <summary>Number of users (ids 1..UserCount).</summary>
        public int UserCount => Options.UserCount;

        /// <summary>Number of live rooms (ids 1..LiveCount).</summary>
        public int LiveCount => Options.LiveCount;

        /// <summary>Number of items (ids 1..ItemCount).</summary>
        public int ItemCount => Options.ItemCount;

        /// <summary>Number of categories (ids 1..CategoryCount).</summary>
        public int CategoryCount => Options.CategoryCount;

        /// <summary>Number of communities (0..CommunityCount-1).</summary>
        public int CommunityCount => Options.CommunityCount;

        /// <summary>Dimension of the latent vectors.</summary>
        public int LatentDimension => D;

        /// <summary>The true examination probability per position: element k is P(examine | position k+1), for positions 1..ListSize.</summary>
        public IReadOnlyList<double> TrueExaminationCurve => Array.AsReadOnly(Examination);

        /// <summary>The true examination probability of a 1-based position.</summary>
        public double TrueExamination(int position)
        {
            if (position < 1 || position > Examination.Length)
                throw new ArgumentOutOfRangeException(nameof(position), position, $"Position must be in 1..{Examination.Length}.");
            return Examination[position - 1];
        }

        /// <summary>Attraction probabilities above which <c>TrueRelevance</c> reaches grades 1, 2, 3 and 4 (the 50th, 75th, 90th and
        /// 97th percentiles of the true attraction over random user x room pairs).</summary>
        public IReadOnlyList<double> RelevanceThresholdsByGrade => Array.AsReadOnly(RelevanceThresholds);

        /// <summary>Community (0-based) of a user.</summary>
        public int UserCommunity(uint userId) => UserCommunityData[UserIndex(userId)];

        /// <summary>Community (0-based) of a live room.</summary>
        public int LiveCommunity(uint liveId) => LiveCommunityData[LiveIndex(liveId)];

        /// <summary>Community (0-based) of an item (its category's community).</summary>
        public int ItemCommunity(uint itemId) => CategoryCommunityData[ItemCategoryData[ItemIndex(itemId)]];

        /// <summary>Community (0-based) of a category.</summary>
        public int CategoryCommunity(uint categoryId)
        {
            if (categoryId < 1 || categoryId > Options.CategoryCount)
                throw new ArgumentOutOfRangeException(nameof(categoryId), categoryId, $"Category ids are 1..{Options.CategoryCount}.");
            return CategoryCommunityData[categoryId - 1];
        }

        /// <summary>Category id (1-based) of an item.</summary>
        public uint ItemCategory(uint itemId) => (uint)ItemCategoryData[ItemIndex(itemId)] + 1;

        /// <summary>A copy of the user's latent vector.</summary>
        public float[] UserLatent(uint userId) => Slice(UserLatentData, UserIndex(userId));

        /// <summary>A copy of the live room's latent vector (half its own, half the mean of its catalog items).</summary>
        public float[] LiveLatent(uint liveId) => Slice(LiveLatentData, LiveIndex(liveId));

        /// <summary>A copy of the item's latent vector.</summary>
        public float[] ItemLatent(uint itemId) => Slice(ItemLatentData, ItemIndex(itemId));

        /// <summary>Popularity of a live room (standard normal; drives viewers, followers and the logging policy).</summary>
        public float LivePopularityOf(uint liveId) => LivePopularity[LiveIndex(liveId)];

        /// <summary>All items a room sells (its catalog), as item ids.</summary>
        public IReadOnlyList<uint> LiveCatalog(uint liveId)
        {
            int l = LiveIndex(liveId);
            return Ids(CatalogItems, CatalogOffsets[l], CatalogOffsets[l + 1]);
        }

        /// <summary>A room's historical core items, as item ids.</summary>
        public IReadOnlyList<uint> LiveCoreItemsOf(uint liveId)
        {
            int l = LiveIndex(liveId);
            return Ids(CoreItems, CoreOffsets[l], CoreOffsets[l + 1]);
        }

        /// <summary>The items on sale in a room at <paramref name="time"/> (hours); the set rotates every hour.</summary>
        public IReadOnlyList<uint> LiveItemsOnSaleAt(uint liveId, float time)
        {
            int l = LiveIndex(liveId);
            Span<int> buf = stackalloc int[Options.MaxItemsOnSale];
            int n = OnSale(l, (long)Math.Floor(time), buf);
            var a = new uint[n];
            for (int i = 0; i < n; i++)
                a[i] = (uint)buf[i] + 1;
            return a;
        }

        /// <summary>True attraction probability (P(click | examined)) of a user for a room at <paramref name="time"/> hours
        /// (with the item-level interest term when <see cref="LiveStreamSimulatorOptions.ItemInterestScale"/> is not 0).</summary>
        public double TrueAttraction(uint userId, uint liveId, float time)
        {
            int l = LiveIndex(liveId), u = UserIndex(userId);
            double z = Options.ItemInterestScale == 0 ? 0 : TrueItemInterest(userId, liveId, time);
            return Sigmoid(AttractionLogit(u, l, StreamAge(l, time), z));
        }

        /// <summary>The standardized item-level interest <c>zInterest</c> of a user for a room at <paramref name="time"/> hours
        /// (mean 0 and deviation 1 over random users, rooms and times): the share of the room's items on sale at that time whose
        /// taste group appears among the user's last <see cref="LiveStreamSimulatorOptions.MaxItemSequenceLength"/> clicked items
        /// before it (the row's <c>UserItemSeq</c>), standardized. The attraction logit gains
        /// <see cref="LiveStreamSimulatorOptions.ItemInterestScale"/> times this value (nothing when the knob is 0).</summary>
        public double TrueItemInterest(uint userId, uint liveId, float time)
        {
            int u = UserIndex(userId), l = LiveIndex(liveId);
            var hist = new int[Options.MaxItemSequenceLength];
            int h = RecentItemsBefore(u, time, hist);
            Span<int> sale = stackalloc int[Options.MaxItemsOnSale];
            int n = OnSale(l, (long)Math.Floor(time), sale);
            return InterestZ(hist.AsSpan(0, h), sale[..n]);
        }

        /// <summary>The hidden taste group (0-based, about 30 items per group, drawn independently of categories, communities and
        /// latent vectors) of an item: the unit of <see cref="LiveStreamSimulatorOptions.ItemInterestScale"/>'s item-level interest.</summary>
        public int ItemTasteGroupOf(uint itemId) => ItemTasteData[ItemIndex(itemId)];

        /// <summary>The hidden taste groups of a user (0-based, as <see cref="ItemTasteGroupOf"/>; <see cref="LiveStreamSimulatorOptions.TasteGroupsPerUser"/>
        /// distinct groups (at most the number of groups), drawn uniformly from their own random stream whatever the options). With
        /// <see cref="LiveStreamSimulatorOptions.TasteHistoryShare"/> &gt; 0 that share of the user's background item clicks are items
        /// of these groups; with 0 they do not shape anything.</summary>
        public IReadOnlyList<int> UserTasteGroups(uint userId)
        {
            int u = UserIndex(userId), n = UserTasteData.Length / Options.UserCount;
            return Array.AsReadOnly(new ReadOnlySpan<int>(UserTasteData, u * n, n).ToArray());
        }

        /// <summary>True conversion probability (P(buy | click)) of a user in a room at <paramref name="time"/> hours.</summary>
        public double TrueConversion(uint userId, uint liveId, float time)
        {
            int u = UserIndex(userId), l = LiveIndex(liveId);
            Span<int> buf = stackalloc int[Options.MaxItemsOnSale];
            int n = OnSale(l, (long)Math.Floor(time), buf);
            Span<float> scratch = stackalloc float[D];
            return Truth(u, l, StreamAge(l, time), buf[..n], scratch).Conversion;   // conversion does not depend on the interest term
        }

        private float[] Slice(float[] data, int index) => new ReadOnlySpan<float>(data, index * D, D).ToArray();

        private static uint[] Ids(int[] data, int from, int to)
        {
            var a = new uint[to - from];
            for (int i = 0; i < a.Length; i++)
                a[i] = (uint)data[from + i] + 1;
            return a;
        }

        internal int UserIndex(uint id) => id >= 1 && id <= Options.UserCount ? (int)id - 1
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"User ids are 1..{Options.UserCount}.");

        internal int LiveIndex(uint id) => id >= 1 && id <= Options.LiveCount ? (int)id - 1
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"Live ids are 1..{Options.LiveCount}.");

        internal int ItemIndex(uint id) => id >= 1 && id <= Options.ItemCount ? (int)id - 1
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"Item ids are 1..{Options.ItemCount}.");
    }
}
