using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Evaluation;

namespace MLNetRank.Benchmarks.Evaluation
{
    /// <summary>
    /// Ranking metrics speed on synthetic impressions (requests of 20 candidates, scores with ties): the static
    /// <see cref="RankerMetrics"/>, the IDataView evaluator, ML.NET's BinaryClassification.Evaluate and scikit-learn
    /// (Debian python3-sklearn) on the same data; the values are printed beside the times so agreement is visible.
    /// </summary>
    public sealed class EvaluationThroughputBench : IBench
    {
        public string Name => "eval-throughput";

        public string Description => "AUC / GAUC / nDCG / ECE rows/s: RankerMetrics vs Ranker().Evaluate vs ML.NET evaluator vs scikit-learn";

        private sealed class Row
        {
            public uint RequestId { get; set; }
            public uint UserId { get; set; }
            public bool Label { get; set; }
            public float Score { get; set; }
            public float Probability { get; set; }
            public bool PredictedLabel { get; set; }
            public float Relevance { get; set; }
        }

        private static readonly Option<int> Rows = BenchOption.Of("--rows", 1_000_000, "rows scored");
        private static readonly Option<int> List = BenchOption.Of("--list", 20, "rows per request");
        private static readonly Option<int> Repeats = BenchOption.Of("--repeats", 3, "repeats (best is reported)");
        private static readonly Option<bool> NoPython = BenchOption.Flag("--no-python", "skip the scikit-learn peer");

        public int Run(ParseResult args)
        {
            int rows = args.GetValue(Rows);
            int list = args.GetValue(List);
            int repeats = args.GetValue(Repeats);
            bool python = !args.GetValue(NoPython);
            Console.WriteLine($"rows {rows:N0}, requests of {list}, {rows / 200:N0} users; best of {repeats}; {Environment.ProcessorCount} cores (shared machine: times are indicative).");
            Console.WriteLine();

            var rng = new Random(7);
            var data = new Row[rows];
            for (int i = 0; i < rows; i++)
            {
                double rel = rng.NextDouble();
                double p = Math.Clamp(0.02 + 0.25 * rel * rel + 0.05 * (rng.NextDouble() - 0.5), 0.0, 1.0);
                float prob = (float)Math.Round(p, 3); // ties, as real quantised scores have
                data[i] = new Row
                {
                    RequestId = (uint)(i / list),
                    UserId = (uint)((i / list) % Math.Max(1, rows / 200)),
                    Label = rng.NextDouble() < 0.02 + 0.25 * rel * rel,
                    Score = prob,
                    Probability = prob,
                    PredictedLabel = prob > 0.5f,
                    Relevance = (float)Math.Floor(rel * 4),
                };
            }
            var scores = data.Select(r => r.Score).ToArray();
            var labels = data.Select(r => r.Label).ToArray();
            var users = data.Select(r => r.UserId).ToArray();
            var requests = data.Select(r => r.RequestId).ToArray();
            var relevance = data.Select(r => r.Relevance).ToArray();
            var shuffled = Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).ToArray();
            var sScores = shuffled.Select(i => scores[i]).ToArray();
            var sLabels = shuffled.Select(i => labels[i]).ToArray();
            var sRequests = shuffled.Select(i => requests[i]).ToArray();

            var table = new List<(string Metric, string Impl, double Seconds, string Value)>();
            void Time(string metric, string impl, Func<double> f)
            {
                double v = double.NaN, best = double.MaxValue;
                for (int r = 0; r < repeats; r++)
                {
                    var sw = Stopwatch.StartNew();
                    v = f();
                    best = Math.Min(best, sw.Elapsed.TotalSeconds);
                }
                table.Add((metric, impl, best, v.ToString("G6", CultureInfo.InvariantCulture)));
            }

            Time("AUC", "RankerMetrics.Auc", () => RankerMetrics.Auc(scores, labels));
            var noisy = scores.Select(x => (float)Math.Round(x + 0.05 * rng.NextDouble(), 3)).ToArray();
            Time("AUC difference p-value", "RankerMetrics.CompareAuc (DeLong, 2 scores)", () => RankerMetrics.CompareAuc(scores, noisy, labels).PValue);
            Time("LogLoss (nats)", "RankerMetrics.LogLoss", () => RankerMetrics.LogLoss(scores, labels));
            Time("ECE (10 bins)", "RankerMetrics.ExpectedCalibrationError", () => RankerMetrics.ExpectedCalibrationError(scores, labels));
            Time("GAUC by user", "RankerMetrics.GroupAuc (rows not grouped by user)", () => RankerMetrics.GroupAuc(scores, labels, users));
            Time("GAUC by request", "RankerMetrics.GroupAuc (contiguous requests)", () => RankerMetrics.GroupAuc(scores, labels, requests));
            Time("GAUC by request", "RankerMetrics.GroupAuc (shuffled rows)", () => RankerMetrics.GroupAuc(sScores, sLabels, sRequests));
            Time("nDCG@10 (+@1,3,5, MRR)", "RankerMetrics.NdcgAndMrr (graded, pessimistic ties)", () =>
                RankerMetrics.NdcgAndMrr(scores, relevance, requests, [1, 3, 5, 10], TieBreaking.Pessimistic, NoRelevantItemsHandling.Skip, out _)[3].Value);

            var ml = new MLContext(seed: 1);
            var view = ml.Data.LoadFromEnumerable(data);
            RankingEvaluationResult? result = null;
            Time("AUC", "Ranker().Evaluate (1 task, GAUC user+request, nDCG/MRR, overall list; cursor included)", () =>
            {
                result = ml.Ranker().Evaluate(view, new RankingEvaluationOptions
                {
                    Tasks = [RankingTaskSpec.Binary("Click", "Label", "Score")],
                    GroupColumnNames = ["UserId", "RequestId"],
                    RequestColumnName = "RequestId",
                    RelevanceColumnName = "Relevance",
                });
                return result.Binary["Click"].Auc;
            });
            Time("AUC", "ML.NET BinaryClassification.Evaluate (also PR curve, F1, ...; cursor included)", () =>
                ml.BinaryClassification.Evaluate(view).AreaUnderRocCurve);
            Time("LogLoss (nats)", "ML.NET BinaryClassification.Evaluate LogLoss x ln 2", () =>
                ml.BinaryClassification.Evaluate(view).LogLoss * Math.Log(2));

            if (python)
                RunSklearn(scores, labels, repeats, table);

            Console.WriteLine("| metric | implementation | rows | best s | M rows/s | value |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|");
            foreach (var t in table)
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:N0} | {3:F3} | {4:F2} | {5} |",
                    t.Metric, t.Impl, rows, t.Seconds, rows / t.Seconds / 1e6, t.Value));
            Console.WriteLine();
            Console.WriteLine("Ranker().Evaluate(...).ToMarkdownTable():");
            Console.WriteLine();
            Console.WriteLine(result!.ToMarkdownTable());
            return 0;
        }

        private static void RunSklearn(float[] scores, bool[] labels, int repeats, List<(string, string, double, string)> table)
        {
            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-eval-bench-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllBytes(Path.Combine(dir, "s.f32"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(scores.AsSpan()).ToArray());
                File.WriteAllBytes(Path.Combine(dir, "l.u8"), labels.Select(b => b ? (byte)1 : (byte)0).ToArray());
                string script = $@"
import numpy as np, time, sklearn
from sklearn.metrics import roc_auc_score, log_loss
s = np.fromfile('{dir}/s.f32', dtype=np.float32).astype(np.float64)
l = np.fromfile('{dir}/l.u8', dtype=np.uint8)
def best(f):
    t = 1e9
    for _ in range({repeats}):
        t0 = time.perf_counter(); v = f(); t = min(t, time.perf_counter() - t0)
    return t, v
t, v = best(lambda: roc_auc_score(l, s)); print('auc', t, repr(v))
t, v = best(lambda: log_loss(l, s, eps=1e-15)); print('logloss', t, repr(v))
print('version', sklearn.__version__)
";
                File.WriteAllText(Path.Combine(dir, "bench.py"), script);
                var psi = PythonPeer.StartInfo(Path.Combine(dir, "bench.py"));
                using var p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd();
                string err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                {
                    Console.WriteLine($"(scikit-learn peer skipped: {err.Trim().Split('\n').LastOrDefault()})");
                    return;
                }
                var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(x => x.Split(' ')).ToArray();
                string version = lines.First(x => x[0] == "version")[1];
                foreach (var x in lines.Where(x => x[0] != "version"))
                    table.Add((x[0] == "auc" ? "AUC" : "LogLoss (nats)", $"scikit-learn {version} {(x[0] == "auc" ? "roc_auc_score" : "log_loss")} (numpy in memory)",
                        double.Parse(x[1], CultureInfo.InvariantCulture), double.Parse(x[2], CultureInfo.InvariantCulture).ToString("G6", CultureInfo.InvariantCulture)));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
