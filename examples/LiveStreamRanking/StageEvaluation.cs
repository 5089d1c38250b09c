using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace LiveStreamRanking
{
    /// <summary>One row of the evolution table.</summary>
    public sealed record StageResult
    {
        /// <summary>Stage name.</summary>
        public string Stage { get; init; } = "";
        /// <summary>What the stage added.</summary>
        public string Title { get; init; } = "";
        /// <summary>Click AUC on the time-split test.</summary>
        public double ClickAuc { get; init; }
        /// <summary>Click group AUC by user.</summary>
        public double ClickGauc { get; init; }
        /// <summary>Buy AUC over all impressions.</summary>
        public double BuyAuc { get; init; }
        /// <summary>Buy group AUC by user.</summary>
        public double BuyGauc { get; init; }
        /// <summary>RMSE of ln(1 + stay seconds) on clicked test impressions; NaN when the stage predicts no stay time.</summary>
        public double StayRmseLog { get; init; } = double.NaN;
        /// <summary>nDCG@10 of the ranking score per request against the simulator's true relevance.</summary>
        public double Ndcg10 { get; init; }
        /// <summary>AUC of the ranking score against the true position-free attraction (expected AUC).</summary>
        public double AttractionAuc { get; init; }
        /// <summary>Training seconds (the whole pipeline's Fit).</summary>
        public double TrainSeconds { get; init; }
        /// <summary>CPU seconds of the process during the training (all threads; the fair figure on a shared machine).</summary>
        public double TrainCpuSeconds { get; init; }
        /// <summary>Saved zip size in bytes.</summary>
        public long ModelBytes { get; init; }
        /// <summary>Scoring latency per request, median, milliseconds.</summary>
        public double ScoreP50Ms { get; init; }
        /// <summary>Scoring latency per request, 99th percentile, milliseconds.</summary>
        public double ScoreP99Ms { get; init; }
        /// <summary>How requests were scored: <c>RequestScorer</c> (one batched ONNX Runtime call per network) or <c>ML.NET</c>.</summary>
        public string ScoringPath { get; init; } = "";
        /// <summary>Per-epoch validation metrics of the network (empty for a GBDT stage).</summary>
        public IReadOnlyList<MultiTaskEpoch> History { get; init; } = Array.Empty<MultiTaskEpoch>();
        /// <summary>Best epoch of the network (0 for a GBDT stage).</summary>
        public int BestEpoch { get; init; }
    }

    /// <summary>The test-period columns every metric reads, read once.</summary>
    public sealed class TestTruth
    {
        /// <summary>Reads the truth of <paramref name="test"/>.</summary>
        public TestTruth(IDataView test)
        {
            RequestId = test.GetColumn<uint>(ImpressionColumns.RequestId).ToArray();
            UserId = test.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            Click = test.GetColumn<bool>(ImpressionColumns.Click).ToArray();
            Buy = test.GetColumn<bool>(ImpressionColumns.Buy).ToArray();
            StayTime = test.GetColumn<float>(ImpressionColumns.StayTime).ToArray();
            Attraction = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            Relevance = test.GetColumn<float>(ImpressionColumns.TrueRelevance).ToArray();
            Position = test.GetColumn<int>(ImpressionColumns.Position).ToArray();
        }

        /// <summary>1-based position each row was shown at.</summary>
        public int[] Position { get; }

        /// <summary>Request of each row.</summary>
        public uint[] RequestId { get; }
        /// <summary>User of each row.</summary>
        public uint[] UserId { get; }
        /// <summary>Click labels.</summary>
        public bool[] Click { get; }
        /// <summary>Buy labels.</summary>
        public bool[] Buy { get; }
        /// <summary>Stay seconds (0 without a click).</summary>
        public float[] StayTime { get; }
        /// <summary>True P(click | examined).</summary>
        public float[] Attraction { get; }
        /// <summary>True graded relevance.</summary>
        public float[] Relevance { get; }
    }

    /// <summary>Metrics and serving measurements of a fitted stage.</summary>
    public static class StageEvaluation
    {
        /// <summary>Reads a score column (a scalar or the one-element vector the network outputs).</summary>
        public static float[] Scores(IDataView scored, string column)
        {
            var type = scored.Schema[column].Type;
            return type is VectorDataViewType
                ? scored.GetColumn<float[]>(column).Select(v => v[0]).ToArray()
                : scored.GetColumn<float>(column).ToArray();
        }

        /// <summary>
        /// Reads <paramref name="columns"/> of <paramref name="model"/>'s output on <paramref name="data"/> in one pass (each
        /// column a scalar or the one-element vector the network outputs): the pipeline runs once, however many columns are read.
        /// </summary>
        public static Dictionary<string, float[]> ScoreOnce(ITransformer model, IDataView data, IEnumerable<string> columns)
        {
            var scored = model.Transform(data);
            var names = columns.Distinct().ToArray();
            var cols = names.Select(n => scored.Schema[n]).ToArray();
            var values = names.ToDictionary(n => n, _ => new List<float>());
            using var cursor = scored.GetRowCursor(cols);
            var getters = cols.Select<DataViewSchema.Column, Func<float>>(c =>
            {
                if (c.Type is VectorDataViewType)
                {
                    var g = cursor.GetGetter<VBuffer<float>>(c);
                    VBuffer<float> v = default;
                    return () => { g(ref v); return v.GetItemOrDefault(0); };
                }
                var s = cursor.GetGetter<float>(c);
                float x = 0;
                return () => { s(ref x); return x; };
            }).ToArray();
            while (cursor.MoveNext())
                for (int k = 0; k < names.Length; k++)
                    values[names[k]].Add(getters[k]());
            return values.ToDictionary(p => p.Key, p => p.Value.ToArray());
        }

        /// <summary>
        /// Scores <paramref name="data"/> through the request scorer, one request (<paramref name="listSize"/> contiguous rows of
        /// one <c>RequestId</c>) per batched ONNX Runtime call, as the service does: <see cref="RequestScorer.ScoreAll"/> with
        /// a batch of one request. Returns every float output of width 1 (the task probabilities, pCTCVR, stay time, the fused
        /// score) by name. Throws when the rows are not whole contiguous requests (a batch must be one request: the user's
        /// sequences are request-level inputs).
        /// </summary>
        public static Dictionary<string, float[]> ScoreByRequest(RequestScorer scorer, IDataView data, uint[] requestIds, int listSize)
        {
            if (requestIds.Length % listSize != 0)
                throw new InvalidOperationException($"{requestIds.Length} rows are not whole requests of {listSize} candidates.");
            for (int r = 0; r < requestIds.Length; r += listSize)
                for (int i = r + 1; i < r + listSize; i++)
                    if (requestIds[i] != requestIds[r])
                        throw new InvalidOperationException($"Rows {r}..{r + listSize - 1} are not one request (RequestId {requestIds[r]} and {requestIds[i]}).");
            var all = scorer.ScoreAll(data, batchSize: listSize);
            var scores = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var (name, values) in all)
                if (values is float[] f && f.Length == requestIds.Length)
                    scores[name] = f;
            return scores;
        }

        /// <summary>The score columns a recipe's metrics, calibration plot and serving check read.</summary>
        public static IEnumerable<string> ScoreColumns(Recipe recipe)
        {
            yield return recipe.ClickScoreColumn;
            yield return recipe.BuyScoreColumn;
            yield return recipe.RankingScoreColumn;
            if (recipe.StayTimeColumn != null)
                yield return recipe.StayTimeColumn;
            if (recipe.ClickProbabilityColumn != null)
                yield return recipe.ClickProbabilityColumn;
            if (recipe.ClickAndBuyProbabilityColumn != null)
                yield return recipe.ClickAndBuyProbabilityColumn;
        }

        /// <summary>Quality metrics on the test period, from the test scores of <see cref="ScoreOnce"/> over <see cref="ScoreColumns"/>.</summary>
        public static StageResult Quality(IReadOnlyDictionary<string, float[]> scores, Recipe recipe, TestTruth truth)
        {
            var click = scores[recipe.ClickScoreColumn];
            var buy = scores[recipe.BuyScoreColumn];
            var rank = scores[recipe.RankingScoreColumn];
            double stay = double.NaN;
            if (recipe.StayTimeColumn != null)
            {
                var predicted = scores[recipe.StayTimeColumn];
                var clicked = Enumerable.Range(0, truth.Click.Length).Where(i => truth.Click[i]).ToArray();
                stay = RankerMetrics.RmseLog1p(clicked.Select(i => Math.Max(predicted[i], 0f)).ToArray(), clicked.Select(i => truth.StayTime[i]).ToArray());
            }
            return new StageResult
            {
                ClickAuc = RankerMetrics.Auc(click, truth.Click),
                ClickGauc = RankerMetrics.GroupAuc<uint>(click, truth.Click, truth.UserId),
                BuyAuc = RankerMetrics.Auc(buy, truth.Buy),
                BuyGauc = RankerMetrics.GroupAuc<uint>(buy, truth.Buy, truth.UserId),
                StayRmseLog = stay,
                Ndcg10 = RankerMetrics.Ndcg<uint>(rank, truth.Relevance, truth.RequestId, 10),
                AttractionAuc = RankerMetrics.ExpectedAuc(rank, truth.Attraction),
            };
        }

        /// <summary>
        /// Scoring latency per request through the request scorer (one batched ONNX Runtime call per network). Requests are
        /// the simulator's ranked lists of the test period, cached beforehand, so the time is the model's alone; one warm-up
        /// pass, then one timed pass.
        /// </summary>
        public static (double P50, double P99) Latency(RequestScorer scorer, string scoreColumn, IReadOnlyList<IDataView> requests)
        {
            var times = new List<double>(requests.Count);
            using var request = scorer.CreateRequest(capacity: 64);
            for (int round = 0; round < 2; round++)
                foreach (var r in requests)
                {
                    var sw = Stopwatch.StartNew();
                    request.Load(r);
                    scorer.Score(request);
                    _ = request.GetOutput<float>(scoreColumn)[0];
                    if (round == 1)
                        times.Add(sw.Elapsed.TotalMilliseconds);
                }
            times.Sort();
            return (Percentile(times, 0.50), Percentile(times, 0.99));
        }

        /// <summary>
        /// Scoring latency per request of a saved zip without an ONNX network (the GBDT stages): ML.NET's own transform of
        /// the request's rows; one warm-up pass, then one timed pass.
        /// </summary>
        public static (double P50, double P99) LatencyMlNet(string zip, string scoreColumn, IReadOnlyList<IDataView> requests)
        {
            var times = new List<double>(requests.Count);
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(zip, out _);
            for (int round = 0; round < 2; round++)
                foreach (var r in requests)
                {
                    var sw = Stopwatch.StartNew();
                    float best = float.MinValue;
                    foreach (var s in model.Transform(r).GetColumn<float>(scoreColumn))
                        best = Math.Max(best, s);
                    if (round == 1)
                        times.Add(sw.Elapsed.TotalMilliseconds);
                }
            (model as IDisposable)?.Dispose();
            times.Sort();
            return (Percentile(times, 0.50), Percentile(times, 0.99));
        }

        /// <summary>True when the saved chain has an ONNX network (the request scorer can serve it).</summary>
        public static bool HasNetwork(string zip)
        {
            var model = new MLContext(seed: 0).Model.Load(zip, out _);
            bool has = Flatten(model).Any(t => t is Microsoft.ML.Transforms.Onnx.OnnxTransformer);
            (model as IDisposable)?.Dispose();
            return has;
        }

        private static double Percentile(List<double> sorted, double q)
            => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

        /// <summary>The transformers of a (nested) chain, in order.</summary>
        public static IEnumerable<ITransformer> Flatten(ITransformer t)
        {
            if (t is TransformerChain<ITransformer> chain)
            {
                foreach (var inner in chain)
                    foreach (var x in Flatten(inner))
                        yield return x;
            }
            else if (t is IEnumerable<ITransformer> many)
            {
                foreach (var inner in many)
                    foreach (var x in Flatten(inner))
                        yield return x;
            }
            else
                yield return t;
        }

        /// <summary>Size of a file in bytes.</summary>
        public static long SizeOf(string path) => new FileInfo(path).Length;
    }
}
