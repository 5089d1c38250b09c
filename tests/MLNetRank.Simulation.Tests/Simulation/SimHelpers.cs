using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Simulation.Tests.Simulation
{
    /// <summary>One impression row read back from the IDataView.</summary>
    internal sealed class Row
    {
        public uint RequestId, UserId, LiveId;
        public float Time;
        public int Position;
        public bool IsRandomized, Click, Buy, Follow, Comment;
        public float[] Stat = Array.Empty<float>();
        public uint[] ItemSeq = Array.Empty<uint>(), LiveSeq = Array.Empty<uint>(), OnSale = Array.Empty<uint>(), Core = Array.Empty<uint>();
        public float StayTime, TrueAttraction, TrueConversion, TrueExamination, TrueRelevance;
    }

    internal static class SimHelpers
    {
        public static LiveStreamSimulatorOptions Small(int seed = 7, long requests = 500) => new LiveStreamSimulatorOptions
        {
            Seed = seed,
            UserCount = 300,
            LiveCount = 60,
            ItemCount = 500,
            CategoryCount = 12,
            CommunityCount = 4,
            RequestCount = requests,
            ListSize = 8,
            CandidatePoolSize = 20,
        };

        /// <summary>Reads every row through a cursor (all columns).</summary>
        public static List<Row> Read(IDataView view, long max = long.MaxValue)
        {
            var s = view.Schema;
            var rows = new List<Row>();
            using var c = view.GetRowCursor(s);
            var gReq = c.GetGetter<uint>(s["RequestId"]);
            var gUser = c.GetGetter<uint>(s["UserId"]);
            var gLive = c.GetGetter<uint>(s["LiveId"]);
            var gTime = c.GetGetter<float>(s["Time"]);
            var gPos = c.GetGetter<int>(s["Position"]);
            var gRand = c.GetGetter<bool>(s["IsRandomized"]);
            var gStat = c.GetGetter<VBuffer<float>>(s["StatFeatures"]);
            var gIs = c.GetGetter<VBuffer<uint>>(s["UserItemSeq"]);
            var gLs = c.GetGetter<VBuffer<uint>>(s["UserLiveSeq"]);
            var gOs = c.GetGetter<VBuffer<uint>>(s["LiveItemsOnSale"]);
            var gCo = c.GetGetter<VBuffer<uint>>(s["LiveCoreItems"]);
            var gClick = c.GetGetter<bool>(s["Click"]);
            var gBuy = c.GetGetter<bool>(s["Buy"]);
            var gStay = c.GetGetter<float>(s["StayTime"]);
            var gFollow = c.GetGetter<bool>(s["Follow"]);
            var gComment = c.GetGetter<bool>(s["Comment"]);
            var gTa = c.GetGetter<float>(s["TrueAttraction"]);
            var gTc = c.GetGetter<float>(s["TrueConversion"]);
            var gTe = c.GetGetter<float>(s["TrueExamination"]);
            var gTr = c.GetGetter<float>(s["TrueRelevance"]);
            VBuffer<float> stat = default;
            VBuffer<uint> v = default;
            while (rows.Count < max && c.MoveNext())
            {
                var r = new Row();
                gReq(ref r.RequestId); gUser(ref r.UserId); gLive(ref r.LiveId); gTime(ref r.Time); gPos(ref r.Position); gRand(ref r.IsRandomized);
                gStat(ref stat); r.Stat = stat.DenseValues().ToArray();
                gIs(ref v); r.ItemSeq = v.DenseValues().ToArray();
                gLs(ref v); r.LiveSeq = v.DenseValues().ToArray();
                gOs(ref v); r.OnSale = v.DenseValues().ToArray();
                gCo(ref v); r.Core = v.DenseValues().ToArray();
                gClick(ref r.Click); gBuy(ref r.Buy); gStay(ref r.StayTime); gFollow(ref r.Follow); gComment(ref r.Comment);
                gTa(ref r.TrueAttraction); gTc(ref r.TrueConversion); gTe(ref r.TrueExamination); gTr(ref r.TrueRelevance);
                rows.Add(r);
            }
            return rows;
        }

        /// <summary>Reads a few scalar columns quickly (for large runs).</summary>
        public static (int[] pos, bool[] rand, bool[] click, float[] attraction) ReadCore(IDataView view)
        {
            var s = view.Schema;
            var pos = new List<int>();
            var rand = new List<bool>();
            var click = new List<bool>();
            var attr = new List<float>();
            using var c = view.GetRowCursor(new[] { s["Position"], s["IsRandomized"], s["Click"], s["TrueAttraction"] });
            var gp = c.GetGetter<int>(s["Position"]);
            var gr = c.GetGetter<bool>(s["IsRandomized"]);
            var gc = c.GetGetter<bool>(s["Click"]);
            var ga = c.GetGetter<float>(s["TrueAttraction"]);
            int p = 0;
            bool r = false, k = false;
            float a = 0;
            while (c.MoveNext())
            {
                gp(ref p); gr(ref r); gc(ref k); ga(ref a);
                pos.Add(p); rand.Add(r); click.Add(k); attr.Add(a);
            }
            return (pos.ToArray(), rand.ToArray(), click.ToArray(), attr.ToArray());
        }

        /// <summary>Area under the ROC curve (Mann–Whitney, ties count half).</summary>
        public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
        {
            var idx = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
            double rankSum = 0;
            long pos = 0;
            int k = 0;
            while (k < idx.Length)
            {
                int j = k;
                while (j + 1 < idx.Length && scores[idx[j + 1]] == scores[idx[k]]) j++;
                double rank = (k + j) / 2.0 + 1;
                for (int m = k; m <= j; m++)
                    if (labels[idx[m]]) { rankSum += rank; pos++; }
                k = j + 1;
            }
            long neg = idx.Length - pos;
            return (rankSum - pos * (pos + 1) / 2.0) / (pos * (double)neg);
        }

        public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
        {
            double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
            for (int i = 0; i < x.Count; i++)
            {
                sxy += (x[i] - mx) * (y[i] - my);
                sxx += (x[i] - mx) * (x[i] - mx);
                syy += (y[i] - my) * (y[i] - my);
            }
            return sxy / Math.Sqrt(sxx * syy);
        }
    }
}
