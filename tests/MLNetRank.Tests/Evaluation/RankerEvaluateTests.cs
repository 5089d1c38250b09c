using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary><c>mlContext.Ranker().Evaluate</c> on IDataViews.</summary>
    public class RankerEvaluateTests
    {
        private sealed class Impression
        {
            public uint RequestId { get; set; }
            public uint UserId { get; set; }
            public bool Click { get; set; }
            public float ClickScore { get; set; }
            public float ClickProbability { get; set; }
            public bool Buy { get; set; }
            public float BuyProbability { get; set; }
            public float StayTime { get; set; }
            public float StayPrediction { get; set; }
            public float StayLog1pPrediction { get; set; }
            public float TrueRelevance { get; set; }
            public float FinalScore { get; set; }
            public float Weight { get; set; }
        }

        /// <summary>Requests of 6 candidates for 15 users; labels depend on a latent relevance.</summary>
        private static Impression[] Impressions(int seed = 5, int requests = 80)
        {
            var rng = new Random(seed);
            var rows = new List<Impression>();
            for (uint q = 0; q < requests; q++)
            {
                uint user = (uint)rng.Next(15);
                for (int i = 0; i < 6; i++)
                {
                    double rel = rng.NextDouble();
                    bool click = rng.NextDouble() < 0.1 + 0.5 * rel;
                    bool buy = click && rng.NextDouble() < 0.3 * rel;
                    float stay = click ? (float)Math.Round(rng.NextDouble() * 100 * rel, 1) : 0f;
                    float p = (float)Math.Clamp(0.1 + 0.5 * rel + 0.2 * (rng.NextDouble() - 0.5), 0.0, 1.0);
                    rows.Add(new Impression
                    {
                        RequestId = 1000 + q,
                        UserId = user,
                        Click = click,
                        ClickProbability = p,
                        ClickScore = (float)Math.Log(p / (1 - p + 1e-6) + 1e-6),
                        Buy = buy,
                        BuyProbability = (float)Math.Round(0.15 * rel, 2),
                        StayTime = stay,
                        StayPrediction = (float)(60 * rel),
                        StayLog1pPrediction = (float)Math.Log(1 + 60 * rel),
                        TrueRelevance = (float)Math.Floor(rel * 4),
                        FinalScore = (float)Math.Round(rel + 0.3 * rng.NextDouble(), 1),
                        Weight = (float)(0.5 + rng.NextDouble()),
                    });
                }
            }
            // Shuffle so requests are not contiguous.
            return rows.OrderBy(_ => rng.Next()).ToArray();
        }

        [Fact]
        public void MultiTaskEvaluationEqualsTheStaticMetrics()
        {
            var rows = Impressions();
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var result = ml.Ranker().Evaluate(data, new RankingEvaluationOptions
            {
                Tasks =
                [
                    RankingTaskSpec.Binary("Click", "Click", "ClickScore", "ClickProbability"),
                    RankingTaskSpec.Binary("Buy", "Buy", "BuyProbability"),
                    RankingTaskSpec.Regression("Stay", "StayTime", "StayPrediction"),
                    RankingTaskSpec.Regression("StayLog", "StayTime", "StayLog1pPrediction", logTransform: true),
                ],
                GroupColumnNames = ["UserId", "RequestId"],
                RequestColumnName = "RequestId",
                RelevanceColumnName = "TrueRelevance",
                RankingScoreColumnName = "FinalScore",
            });

            var click = rows.Select(r => r.Click).ToArray();
            var clickScore = rows.Select(r => r.ClickScore).ToArray();
            var clickProb = rows.Select(r => r.ClickProbability).ToArray();
            var users = rows.Select(r => r.UserId).ToArray();
            var requests = rows.Select(r => r.RequestId).ToArray();
            Assert.Equal(rows.Length, result.Rows);

            var c = result.Binary["Click"];
            Assert.Equal(rows.Length, c.Count);
            Assert.Equal(click.Count(x => x), c.Positives);
            Assert.Equal(RankerMetrics.Auc(clickScore, click), c.Auc, 12);
            Assert.Equal(RankerMetrics.GroupAuc(clickScore, click, users), c.GAuc["UserId"], 12);
            Assert.Equal(RankerMetrics.GroupAuc(clickScore, click, requests), c.GAuc["RequestId"], 12);
            Assert.Equal(RankerMetrics.GroupAucDetailed(clickScore, click, requests).GroupsSkipped, c.GAucDetails["RequestId"].GroupsSkipped);
            Assert.Equal(RankerMetrics.LogLoss(clickProb, click), c.LogLoss, 12);
            Assert.Equal(RankerMetrics.ExpectedCalibrationError(clickProb, click), c.Ece, 12);
            Assert.Equal(RankerMetrics.MeanPredicted(clickProb), c.MeanPredicted, 12);
            Assert.Equal(RankerMetrics.MeanObserved(click), c.MeanObserved, 12);
            Assert.Equal(10, c.CalibrationCurve.Count);
            Assert.NotNull(c.List);
            var clickRel = click.Select(x => x ? 1f : 0f).ToArray();
            foreach (int k in new[] { 1, 3, 5, 10 })
                Assert.Equal(RankerMetrics.Ndcg(clickScore, clickRel, requests, k), c.List!.Ndcg[k], 12);
            Assert.Equal(RankerMetrics.Mrr(clickScore, click, requests), c.List!.Mrr, 12);
            Assert.Equal(80, c.List.Requests);

            var buy = rows.Select(r => r.Buy).ToArray();
            var buyProb = rows.Select(r => r.BuyProbability).ToArray();
            Assert.Equal(RankerMetrics.Auc(buyProb, buy), result.Binary["Buy"].Auc, 12);
            Assert.Equal(RankerMetrics.LogLoss(buyProb, buy), result.Binary["Buy"].LogLoss, 12);

            var stay = rows.Select(r => r.StayTime).ToArray();
            var stayPred = rows.Select(r => r.StayPrediction).ToArray();
            var s = result.Regression["Stay"];
            Assert.Equal(RankerMetrics.Rmse(stayPred, stay), s.Rmse, 12);
            Assert.Equal(RankerMetrics.RmseLog1p(stayPred, stay), s.RmseLog1p, 12);
            Assert.Equal(RankerMetrics.Mae(stayPred, stay), s.Mae, 12);
            // The log-scale prediction log(1 + 60 rel) is the same model as 60 rel: the same errors up to float rounding.
            var sl = result.Regression["StayLog"];
            Assert.Equal(s.Rmse, sl.Rmse, 3);
            Assert.Equal(s.RmseLog1p, sl.RmseLog1p, 5);
            Assert.Equal(s.Mae, sl.Mae, 3);

            Assert.NotNull(result.List);
            var rel = rows.Select(r => r.TrueRelevance).ToArray();
            var final = rows.Select(r => r.FinalScore).ToArray();
            Assert.Equal(RankerMetrics.Ndcg(final, rel, requests, 5), result.List!.Ndcg[5], 12);
            Assert.Equal(RankerMetrics.Mrr(final, rel, requests), result.List.Mrr, 12);
            Assert.Equal("FinalScore", result.List.ScoreColumnName);
        }

        [Fact]
        public void EvaluationIsDeterministicAndIndependentOfTheSeed()
        {
            var rows = Impressions();
            string Run(int seed)
            {
                var ml = new MLContext(seed: seed);
                var r = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), [RankingTaskSpec.Binary("Click", "Click", "ClickScore", "ClickProbability")],
                    ["UserId"], "RequestId");
                return r.ToMarkdownTable() + r.Binary["Click"].Auc.ToString("R") + r.Binary["Click"].List!.Ndcg[10].ToString("R");
            }
            Assert.Equal(Run(1), Run(1));
            Assert.Equal(Run(1), Run(2));
        }

        [Fact]
        public void ListMetricsAloneNeedNoTask()
        {
            var rows = Impressions();
            var ml = new MLContext(seed: 1);
            var result = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), new RankingEvaluationOptions
            {
                RequestColumnName = "RequestId",
                RelevanceColumnName = "TrueRelevance",
                RankingScoreColumnName = "FinalScore",
                NdcgAt = [3],
            });
            Assert.Empty(result.Binary);
            Assert.Empty(result.Regression);
            var requests = rows.Select(r => r.RequestId).ToArray();
            Assert.Equal(RankerMetrics.Ndcg(rows.Select(r => r.FinalScore).ToArray(), rows.Select(r => r.TrueRelevance).ToArray(), requests, 3),
                result.List!.Ndcg[3], 12);
            Assert.StartsWith("| Ranking | Requests | nDCG@3 | MRR |", result.ToMarkdownTable());
        }

        [Fact]
        public void SingleTaskOverloadOnAHandCase()
        {
            // Two users: u1 rows (0.9 T, 0.1 F, 0.5 F) -> AUC 1; u2 rows (0.2 T, 0.8 F, 0.6 T, 0.4 F) -> AUC 1/4.
            // Pooled: positives 0.9, 0.2, 0.6 against negatives 0.1, 0.5, 0.8, 0.4 ->
            // 0.9 beats 4, 0.2 beats 1 (0.1), 0.6 beats 3 (0.1, 0.5, 0.4) -> 8 / 12.
            var rows = new[]
            {
                new Impression { UserId = 1, Click = true, ClickProbability = 0.9f },
                new Impression { UserId = 2, Click = true, ClickProbability = 0.2f },
                new Impression { UserId = 1, Click = false, ClickProbability = 0.1f },
                new Impression { UserId = 2, Click = false, ClickProbability = 0.8f },
                new Impression { UserId = 2, Click = true, ClickProbability = 0.6f },
                new Impression { UserId = 1, Click = false, ClickProbability = 0.5f },
                new Impression { UserId = 2, Click = false, ClickProbability = 0.4f },
            };
            var ml = new MLContext(seed: 1);
            var m = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), "Click", "ClickProbability", "UserId");
            Assert.Equal(8.0 / 12, m.Auc, 12);
            Assert.Equal((3 * 1.0 + 4 * 0.25) / 7, m.GAuc["UserId"], 12);
            Assert.Equal(7, m.Count);
            Assert.Equal(3, m.Positives);
            Assert.Equal(3.0 / 7, m.MeanObserved, 12);
            Assert.Equal((0.9 + 0.2 + 0.1 + 0.8 + 0.6 + 0.5 + 0.4) / 7, m.MeanPredicted, 6);
            // MRR by user: u1 ranks its positive first (1), u2 ranks 0.8 F, 0.6 T first relevant at 2 -> (1 + 1/2) / 2.
            Assert.Equal(0.75, m.List!.Mrr, 12);
        }

        private sealed class FloatLabelRow
        {
            public float Label { get; set; }
            public float Score { get; set; }
            public float Weight { get; set; }
            public int GroupInt { get; set; }
            public long GroupLong { get; set; }
            public string GroupText { get; set; } = "";
            public uint GroupUInt { get; set; }
        }

        private static FloatLabelRow[] FloatRows()
        {
            var rng = new Random(11);
            return Enumerable.Range(0, 200).Select(i =>
            {
                int g = rng.Next(12);
                float score = (float)Math.Round(rng.NextDouble(), 2);
                return new FloatLabelRow
                {
                    // Single labels: 0 negative; 1 and 2 (> 0) positive.
                    Label = rng.NextDouble() < score ? (rng.NextDouble() < 0.5 ? 1f : 2f) : 0f,
                    Score = score,
                    Weight = (float)(0.5 + rng.NextDouble()),
                    GroupInt = g - 6,
                    GroupLong = (g + 1) * 10_000_000_000L,
                    GroupText = "user-" + g,
                    GroupUInt = (uint)g,
                };
            }).ToArray();
        }

        [Fact]
        public void SingleLabelsAboveZeroArePositiveAndEveryGroupTypeAgrees()
        {
            var rows = FloatRows();
            var ml = new MLContext(seed: 1);
            var data = ml.Transforms.Conversion.MapValueToKey("GroupKey", "GroupText").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
            var result = ml.Ranker().Evaluate(data, [RankingTaskSpec.Binary("T", "Label", "Score")],
                ["GroupInt", "GroupLong", "GroupText", "GroupUInt", "GroupKey"]);
            var labels = rows.Select(r => r.Label > 0).ToArray();
            var scores = rows.Select(r => r.Score).ToArray();
            Assert.Equal(RankerMetrics.Auc(scores, labels), result.Binary["T"].Auc, 12);
            double expected = RankerMetrics.GroupAuc(scores, labels, rows.Select(r => r.GroupUInt).ToArray());
            Assert.Equal(5, result.Binary["T"].GAuc.Count);
            foreach (var g in result.Binary["T"].GAuc)
                Assert.Equal(expected, g.Value, 12);
        }

        [Fact]
        public void WeightColumnWeighsTheMetrics()
        {
            var rows = FloatRows();
            var ml = new MLContext(seed: 1);
            var result = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), new RankingEvaluationOptions
            {
                Tasks = [RankingTaskSpec.Binary("T", "Label", "Score")],
                GroupColumnNames = ["GroupUInt"],
                WeightColumnName = "Weight",
            });
            var labels = rows.Select(r => r.Label > 0).ToArray();
            var scores = rows.Select(r => r.Score).ToArray();
            var w = rows.Select(r => r.Weight).ToArray();
            var t = result.Binary["T"];
            Assert.Equal(RankerMetrics.Auc(scores, labels, w), t.Auc, 12);
            Assert.NotEqual(RankerMetrics.Auc(scores, labels), t.Auc, 6);
            Assert.Equal(RankerMetrics.GroupAucDetailed(scores, labels, rows.Select(r => r.GroupUInt).ToArray(), w).Value, t.GAuc["GroupUInt"], 12);
            Assert.Equal(RankerMetrics.LogLoss(scores, labels, w), t.LogLoss, 12);
            Assert.Equal(RankerMetrics.ExpectedCalibrationError(scores, labels, weights: w), t.Ece, 12);
        }

        [Fact]
        public void RegressionOnTheLogScaleByHand()
        {
            // Stay times 0 and 9 s predicted on the log1p scale as ln(2) and ln(4) -> expm1: 1 and 3 s.
            var rows = new[]
            {
                new Impression { StayTime = 0f, StayLog1pPrediction = (float)Math.Log(2) },
                new Impression { StayTime = 9f, StayLog1pPrediction = (float)Math.Log(4) },
            };
            var ml = new MLContext(seed: 1);
            var r = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), [RankingTaskSpec.Regression("Stay", "StayTime", "StayLog1pPrediction", logTransform: true)])
                .Regression["Stay"];
            Assert.Equal(Math.Sqrt((1 + 36) / 2.0), r.Rmse, 5);
            Assert.Equal((1 + 6) / 2.0, r.Mae, 5);
            double a = Math.Log(2) - 0, b = Math.Log(4) - Math.Log(10);
            Assert.Equal(Math.Sqrt((a * a + b * b) / 2), r.RmseLog1p, 6);
            Assert.Equal(2.0, r.MeanPredicted, 5);
            Assert.Equal(4.5, r.MeanObserved, 12);
        }

        [Fact]
        public void MarkdownTableListsEveryTaskAndMetric()
        {
            var ml = new MLContext(seed: 1);
            var result = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(Impressions()),
                [RankingTaskSpec.Binary("Click", "Click", "ClickProbability"), RankingTaskSpec.Regression("Stay", "StayTime", "StayPrediction")],
                ["UserId"], "RequestId", [1, 5]);
            string table = result.ToMarkdownTable();
            Assert.Contains("| Task | Count | Positives | AUC | GAUC(UserId) | LogLoss | ECE | MeanPred | MeanObs | nDCG@1 | nDCG@5 | MRR |", table);
            Assert.Contains("| Click | 480 | " + result.Binary["Click"].Positives + " | " + result.Binary["Click"].Auc.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) + " |", table);
            Assert.Contains("| Task | Count | RMSE | RMSE(log1p) | MAE | MeanPred | MeanObs |", table);
            Assert.Contains("| Stay | 480 | " + result.Regression["Stay"].Rmse.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), table);
            Assert.Equal(table, result.ToString());
        }

        // ---------------------------------------------------------------- bad input

        [Fact]
        public void MissingOrMistypedColumnsAreNamed()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Impressions(requests: 3));
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(data, "Click", "NoSuchScore"));
            Assert.Contains("'NoSuchScore'", e.Message);
            Assert.Contains("Single", e.Message);
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(data, "Click", "Buy"));
            Assert.Contains("'Buy'", e.Message);
            Assert.Contains("Boolean", e.Message); // actual type
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(data, "RequestId", "ClickProbability"));
            Assert.Contains("'RequestId'", e.Message);
            Assert.Contains("UInt32", e.Message);
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(data, "Click", "ClickProbability", "Weight"));
            Assert.Contains("'Weight'", e.Message);
            Assert.Contains("group", e.Message);
        }

        private sealed class VectorScoreRow
        {
            public bool Click { get; set; }
            [Microsoft.ML.Data.VectorType(1)] public float[] ClickProbability { get; set; } = new float[1];
            [Microsoft.ML.Data.VectorType(2)] public float[] TwoScores { get; set; } = new float[2];
        }

        [Fact]
        public void OneElementVectorScoresAreReadLikeScalars()
        {
            // ONNX models (and so the multi-task trainer) give scores as one-element vectors: they evaluate exactly like
            // the same values in a scalar column; wider vectors are rejected, naming the column.
            var probabilities = new[] { 0.9f, 0.2f, 0.1f, 0.8f, 0.6f, 0.5f, 0.4f };
            var clicks = new[] { true, true, false, false, true, false, false };
            var ml = new MLContext(seed: 1);
            var vectors = ml.Data.LoadFromEnumerable(probabilities.Select((p, i) => new VectorScoreRow { Click = clicks[i], ClickProbability = new[] { p } }).ToArray());
            var scalars = ml.Data.LoadFromEnumerable(probabilities.Select((p, i) => new Impression { Click = clicks[i], ClickProbability = p }).ToArray());
            var v = ml.Ranker().Evaluate(vectors, "Click", "ClickProbability");
            var s = ml.Ranker().Evaluate(scalars, "Click", "ClickProbability");
            Assert.Equal(8.0 / 12, v.Auc, 12);
            Assert.Equal(s.Auc, v.Auc, 12);
            Assert.Equal(s.LogLoss, v.LogLoss, 12);
            Assert.Equal(s.Ece, v.Ece, 12);
            var cmp = ml.Ranker().CompareAuc(vectors, "Click", "ClickProbability", "ClickProbability");
            Assert.Equal(s.Auc, cmp.AucA, 12);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(vectors, "Click", "TwoScores"));
            Assert.Contains("TwoScores", e.Message);
            Assert.Contains("one-element vector", e.Message);
        }

        private sealed class NaNRow
        {
            public bool Label { get; set; }
            public float Score { get; set; }
        }

        [Fact]
        public void NaNScoresNameTheColumnAndRow()
        {
            var ml = new MLContext(seed: 1);
            var rows = new[] { new NaNRow { Label = true, Score = 0.5f }, new NaNRow { Label = false, Score = 0.2f }, new NaNRow { Label = false, Score = float.NaN } };
            var e = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows)));
            Assert.Contains("'Score'", e.Message);
            Assert.Contains("row 2", e.Message);
        }

        [Fact]
        public void RawScoresNeedToBeDeclared()
        {
            var ml = new MLContext(seed: 1);
            var rows = new[] { new NaNRow { Label = true, Score = 2.5f }, new NaNRow { Label = false, Score = -1f } };
            var data = ml.Data.LoadFromEnumerable(rows);
            var e = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Evaluate(data));
            Assert.Contains("'Score'", e.Message);
            Assert.Contains("probability", e.Message);
            var m = ml.Ranker().Evaluate(data, scoreIsProbability: false);
            Assert.Equal(1.0, m.Auc, 12);
            Assert.True(double.IsNaN(m.LogLoss));
            Assert.True(double.IsNaN(m.Ece));
            Assert.Empty(m.CalibrationCurve);
        }

        [Fact]
        public void EmptyDataIsAnError()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(Array.Empty<NaNRow>())));
            Assert.Contains("no rows", e.Message);
        }

        [Fact]
        public void SingleClassGivesNaNAucAndAWarning()
        {
            var ml = new MLContext(seed: 1);
            var warnings = new List<string>();
            ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning && e.Source == "MLNetRank.Evaluation") warnings.Add(e.RawMessage); };
            var rows = new[] { new NaNRow { Label = false, Score = 0.5f }, new NaNRow { Label = false, Score = 0.2f } };
            var m = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows));
            Assert.True(double.IsNaN(m.Auc));
            Assert.Equal(0, m.Positives);
            Assert.Equal(-Math.Log(0.5 * 0.8) / 2, m.LogLoss, 6); // still defined
            Assert.Contains(warnings, w => w.Contains("single class"));
        }

        [Fact]
        public void BadOptionsAreRejected()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Impressions(requests: 2));
            Assert.Throws<ArgumentException>(() => ml.Ranker().Evaluate(data, new RankingEvaluationOptions()));
            Assert.Throws<ArgumentException>(() => ml.Ranker().Evaluate(data,
                [RankingTaskSpec.Binary("A", "Click", "ClickProbability"), RankingTaskSpec.Binary("A", "Buy", "BuyProbability")]));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Evaluate(data, [RankingTaskSpec.Binary("A", "Click", "ClickProbability")], ndcgAt: [0]));
            Assert.Throws<ArgumentException>(() => ml.Ranker().Evaluate(data, new RankingEvaluationOptions
            {
                Tasks = [RankingTaskSpec.Binary("A", "Click", "ClickProbability")],
                RelevanceColumnName = "TrueRelevance",
            }));
            var e = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(new[] { new Impression { StayTime = -1f } }),
                [RankingTaskSpec.Regression("S", "StayTime", "StayPrediction", logTransform: true)]));
            Assert.Contains("'StayTime'", e.Message);
        }

        /// <summary>Records the columns a consumer activates.</summary>
        private sealed class RecordingView : IDataView
        {
            private readonly IDataView _inner;
            public RecordingView(IDataView inner) => _inner = inner;
            public List<string> Active { get; } = new();
            public bool CanShuffle => _inner.CanShuffle;
            public DataViewSchema Schema => _inner.Schema;
            public long? GetRowCount() => _inner.GetRowCount();
            public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            {
                var cols = columnsNeeded.ToList();
                Active.AddRange(cols.Select(c => c.Name));
                return _inner.GetRowCursor(cols, rand);
            }
            public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
                => [GetRowCursor(columnsNeeded, rand)];
        }

        [Fact]
        public void OnlyTheNeededColumnsAreActive()
        {
            var ml = new MLContext(seed: 1);
            var view = new RecordingView(ml.Data.LoadFromEnumerable(Impressions(requests: 4)));
            ml.Ranker().Evaluate(view, "Click", "ClickProbability", "UserId");
            Assert.Equal(new[] { "Click", "ClickProbability", "UserId" }, view.Active.OrderBy(c => c, StringComparer.Ordinal).ToArray());
        }
    }
}
