using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using MLNetRank.Torch.Ensemble;

namespace MLNetRank.Torch.Tests.Ensemble
{
    /// <summary>One impression of the five-objective world: model-like scores (the true probability's logit plus noise, as a
    /// multi-task model would give) and the five labels.</summary>
    public sealed class ObjectiveRow
    {
        public uint RequestId;
        public float ClickProbability, BuyProbability, LongStayProbability, FollowProbability, CommentProbability;
        public bool Click, Buy, LongStay, Follow, Comment;
    }

    /// <summary>
    /// The simulator with five objectives (click, buy, long stay, follow, comment; comment partly dependent on buy) and the
    /// task scores an ensemble reads. Shared by the ensemble tests and the ensemble benchmark (linked into it).
    /// </summary>
    internal static class EnsembleSimulation
    {
        public static IReadOnlyList<string> Names => ImpressionColumns.ObjectiveNames;

        /// <summary>Noise (sd on the logit) of each objective's score: the rarer objectives are predicted less well.</summary>
        public static readonly double[] DefaultNoise = { 0.4, 0.7, 0.5, 0.7, 0.7 };

        public static LiveStreamSimulatorOptions World(int seed, long requests) => new LiveStreamSimulatorOptions
        {
            Seed = seed,
            RequestCount = requests,
            CommentBuyDependence = 0.5,
            ConversionIntercept = -2.0,
            FollowIntercept = -2.5,
            CommentIntercept = -2.5,
        };

        /// <summary>Rows of <paramref name="requests"/> requests; the first <paramref name="trainShare"/> of the requests train.</summary>
        public static (List<ObjectiveRow> train, List<ObjectiveRow> test) Make(int seed, long requests, double trainShare = 0.7, double[]? noise = null)
        {
            noise ??= DefaultNoise;
            var o = World(seed, requests);
            var view = new LiveStreamSimulator(o).GetImpressions(new MLContext(seed));
            var s = view.Schema;
            var rng = new Random(seed * 7919 + 1);
            var rows = new List<ObjectiveRow>();
            using var c = view.GetRowCursor(s);
            var truth = c.GetGetter<VBuffer<float>>(s[ImpressionColumns.TrueObjectives]);
            var request = c.GetGetter<uint>(s[ImpressionColumns.RequestId]);
            var click = c.GetGetter<bool>(s["Click"]);
            var buy = c.GetGetter<bool>(s["Buy"]);
            var follow = c.GetGetter<bool>(s["Follow"]);
            var comment = c.GetGetter<bool>(s["Comment"]);
            var stay = c.GetGetter<float>(s["StayTime"]);
            VBuffer<float> t = default;
            float st = 0;
            while (c.MoveNext())
            {
                truth(ref t);
                var p = t.DenseValues().ToArray();
                var score = new float[5];
                for (int k = 0; k < 5; k++)
                {
                    double q = Math.Clamp(p[k], 1e-6, 1 - 1e-6);
                    double logit = Math.Log(q / (1 - q)) + noise[k] * Gaussian(rng);
                    score[k] = (float)(1 / (1 + Math.Exp(-logit)));
                }
                var r = new ObjectiveRow
                {
                    ClickProbability = score[0], BuyProbability = score[1], LongStayProbability = score[2],
                    FollowProbability = score[3], CommentProbability = score[4],
                };
                request(ref r.RequestId);
                click(ref r.Click);
                buy(ref r.Buy);
                follow(ref r.Follow);
                comment(ref r.Comment);
                stay(ref st);
                r.LongStay = st >= o.LongStaySeconds;
                rows.Add(r);
            }
            uint cut = (uint)Math.Round(requests * trainShare);
            return (rows.Where(r => r.RequestId <= cut).ToList(), rows.Where(r => r.RequestId > cut).ToList());
        }

        private static double Gaussian(Random rng)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        /// <summary>The ensemble's objectives over these rows: score <c>{Name}Probability</c>, label <c>{Name}</c>.</summary>
        public static ObjectiveEnsembleEstimator.Options Options(ObjectiveEnsembleMethod method, bool twoStep = true, int epochs = 8)
        {
            var o = new ObjectiveEnsembleEstimator.Options { Method = method, TwoStep = twoStep, Epochs = epochs, Seed = 11 };
            foreach (var n in Names)
                o.Objectives.Add(new EnsembleObjective(n, n + "Probability", n));
            return o;
        }

        public static float[] Score(ObjectiveRow r, int k) => new[] { r.ClickProbability, r.BuyProbability, r.LongStayProbability, r.FollowProbability, r.CommentProbability }[k..(k + 1)];

        public static bool Label(ObjectiveRow r, int k) => k switch { 0 => r.Click, 1 => r.Buy, 2 => r.LongStay, 3 => r.Follow, _ => r.Comment };

        /// <summary>AUC of <paramref name="scores"/> for each objective.</summary>
        public static double[] Aucs(IReadOnlyList<ObjectiveRow> rows, float[] scores)
            => Enumerable.Range(0, 5).Select(k => RankerMetrics.Auc(scores, rows.Select(r => Label(r, k)).ToArray())).ToArray();

        /// <summary>Group AUC (by request) of <paramref name="scores"/> for each objective.</summary>
        public static double[] GroupAucs(IReadOnlyList<ObjectiveRow> rows, float[] scores)
        {
            var groups = rows.Select(r => r.RequestId).ToArray();
            return Enumerable.Range(0, 5).Select(k => RankerMetrics.GroupAuc<uint>(scores, rows.Select(r => Label(r, k)).ToArray(), groups)).ToArray();
        }

        /// <summary>A single objective's score as the ranking score.</summary>
        public static float[] Single(IReadOnlyList<ObjectiveRow> rows, int k) => rows.Select(r => Score(r, k)[0]).ToArray();

        /// <summary>Reads a score column (scalar or vector of one) of a scored view.</summary>
        public static float[] Column(IDataView view, string name)
        {
            var col = view.Schema[name];
            var result = new List<float>();
            using var c = view.GetRowCursor(new[] { col });
            if (col.Type is VectorDataViewType)
            {
                var g = c.GetGetter<VBuffer<float>>(col);
                VBuffer<float> v = default;
                while (c.MoveNext())
                {
                    g(ref v);
                    result.Add(v.GetItemOrDefault(0));
                }
            }
            else
            {
                var g = c.GetGetter<float>(col);
                float v = 0;
                while (c.MoveNext())
                {
                    g(ref v);
                    result.Add(v);
                }
            }
            return result.ToArray();
        }
    }
}
