using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.Tests.Ensemble;

namespace MLNetRank.Benchmarks.Ensemble
{
    /// <summary>
    /// The objective ensemble on the five-objective simulator (click, buy, long stay, follow, comment; comment partly dependent
    /// on buy): per variant, AUC and GAUC (by request) of the fused score for every objective and the AUC sum, paired over seeds;
    /// and a trade-off plot of two objectives as the fixed formula's weights vary, with the learned variants marked.
    /// Options: <c>--seeds 5 --requests 6000 --epochs 8 --threads 1 --plot docs/figures/ensemble-tradeoff.png --only probe</c> (<c>ensemble --help</c>).
    /// </summary>
    public sealed class ObjectiveEnsembleBench : IBench
    {
        public string Name => "ensemble";

        public string Description => "Objective ensemble: fixed formulas, BCE, HarmonRank (one/two-step) — AUC/GAUC per objective, AUC sum, trade-off PNG";

        private static readonly (string name, ObjectiveEnsembleMethod method, bool twoStep)[] Variants =
        {
            ("logit sum (w = 1)", ObjectiveEnsembleMethod.WeightedLogitSum, false),
            ("probability product (w = 1)", ObjectiveEnsembleMethod.WeightedProbabilityProduct, false),
            ("BCE, one-step", ObjectiveEnsembleMethod.BinaryCrossEntropy, false),
            ("BCE, two-step", ObjectiveEnsembleMethod.BinaryCrossEntropy, true),
            ("HarmonRank, one-step", ObjectiveEnsembleMethod.HarmonRank, false),
            ("HarmonRank, two-step", ObjectiveEnsembleMethod.HarmonRank, true),
        };

        private static readonly Option<int> Seeds = BenchOption.Of("--seeds", 5, "worlds (seeds)");
        private static readonly Option<long> Requests = BenchOption.Of("--requests", 6000L, "requests per world");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 8, "epochs");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 1, "libtorch threads");
        private static readonly Option<int> Batch = BenchOption.Of("--batch", 512, "batch size");
        private static readonly Option<string?> Only = BenchOption.Optional<string>("--only", "probe: only the HarmonRank probe");
        private static readonly Option<string> PlotOption = BenchOption.Of("--plot", "docs/figures/ensemble-tradeoff.png", "trade-off plot (PNG)");

        public int Run(ParseResult args)
        {
            int seeds = args.GetValue(Seeds);
            long requests = args.GetValue(Requests);
            int epochs = args.GetValue(Epochs);
            int threads = args.GetValue(Threads);
            int batch = args.GetValue(Batch);
            string? only = args.GetValue(Only);
            string plot = args.GetValue(PlotOption)!;
            Console.WriteLine($"seeds {seeds}, {requests} requests per world (70% train / 30% test by request), {epochs} epochs, batch {batch}, {threads} libtorch thread(s)");

            int K = EnsembleSimulation.Names.Count;
            var auc = new Dictionary<string, List<double[]>>();
            var gauc = new Dictionary<string, List<double[]>>();
            var seconds = new Dictionary<string, List<double>>();
            var plotData = new List<(string name, double x, double y)>();
            for (int s = 0; s < seeds; s++)
            {
                int seed = 100 + s;
                var sw = Stopwatch.StartNew();
                var (trainRows, testRows) = EnsembleSimulation.Make(seed, requests);
                Console.WriteLine($"world {seed}: {trainRows.Count} train / {testRows.Count} test rows (made in {sw.Elapsed.TotalSeconds:0.0} s); test positives " +
                    string.Join(", ", Enumerable.Range(0, K).Select(k => $"{EnsembleSimulation.Names[k]} {testRows.Count(r => EnsembleSimulation.Label(r, k))}")));
                var ml = new MLContext(seed);
                var train = ml.Data.LoadFromEnumerable(trainRows);
                var test = ml.Data.LoadFromEnumerable(testRows);
                void Add(string name, float[] scores, double secs)
                {
                    (auc.TryGetValue(name, out var l) ? l : auc[name] = new()).Add(EnsembleSimulation.Aucs(testRows, scores));
                    (gauc.TryGetValue(name, out var g) ? g : gauc[name] = new()).Add(EnsembleSimulation.GroupAucs(testRows, scores));
                    (seconds.TryGetValue(name, out var t) ? t : seconds[name] = new()).Add(secs);
                }
                if (only != "probe")
                    for (int k = 0; k < K; k++)
                        Add($"{EnsembleSimulation.Names[k]} score alone", EnsembleSimulation.Single(testRows, k), 0);
                foreach (var (name, method, twoStep) in Variants)
                {
                    if (only == "probe" && method != ObjectiveEnsembleMethod.HarmonRank)
                        continue;
                    var o = EnsembleSimulation.Options(method, twoStep, epochs);
                    o.Seed = seed;
                    o.NumberOfThreads = threads;
                    o.BatchSize = batch;
                    sw.Restart();
                    using var model = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(train);
                    double fit = sw.Elapsed.TotalSeconds;
                    var scores = EnsembleSimulation.Column(model.Transform(test), "Score");
                    Add(name, scores, fit);
                    Console.WriteLine($"  {name}: fit {fit:0.0} s, AUC sum {auc[name][^1].Sum():0.0000}");
                }
                if (s == 0 && only != "probe")
                    plotData = TradeOff(ml, train, test, testRows, epochs, threads, seed);
            }

            Console.WriteLine();
            Console.WriteLine("AUC of the fused score per objective (test requests), mean over seeds; AUC sum; paired difference of the AUC sum against BCE of the same structure (mean ± sd, wins):");
            Console.WriteLine();
            Console.WriteLine("| variant | " + string.Join(" | ", EnsembleSimulation.Names) + " | AUC sum | vs BCE (same steps) | fit s |");
            Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---:|", K + 3)));
            foreach (var (name, list) in auc)
            {
                string vs = "";
                if (name.StartsWith("HarmonRank", StringComparison.Ordinal) && auc.ContainsKey(name.Replace("HarmonRank", "BCE")))
                {
                    var peer = auc[name.Replace("HarmonRank", "BCE")];
                    var d = list.Zip(peer, (x, y) => x.Sum() - y.Sum()).ToArray();
                    vs = $"{BenchFormat.Signed(d.Average())} ± {Sd(d):0.0000} ({d.Count(x => x > 0)}/{d.Length})";
                }
                Console.WriteLine($"| {name} | " + string.Join(" | ", Enumerable.Range(0, K).Select(k => list.Average(x => x[k]).ToString("0.0000", CultureInfo.InvariantCulture)))
                    + $" | {list.Average(x => x.Sum()):0.0000} | {vs} | {seconds[name].Average():0.0} |");
            }
            Console.WriteLine();
            Console.WriteLine("GAUC (by request) of the fused score per objective, mean over seeds; GAUC sum:");
            Console.WriteLine();
            Console.WriteLine("| variant | " + string.Join(" | ", EnsembleSimulation.Names) + " | GAUC sum |");
            Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---:|", K + 1)));
            foreach (var (name, list) in gauc)
                Console.WriteLine($"| {name} | " + string.Join(" | ", Enumerable.Range(0, K).Select(k => list.Average(x => x[k]).ToString("0.0000", CultureInfo.InvariantCulture)))
                    + $" | {list.Average(x => x.Sum()):0.0000} |");
            if (plotData.Count > 0)
            {
                Plot(plotData, plot);
                Console.WriteLine();
                Console.WriteLine($"Trade-off plot: {plot}");
            }
            return 0;
        }

        private static double Sd(double[] d)
        {
            if (d.Length < 2)
                return 0;
            double m = d.Average();
            return Math.Sqrt(d.Sum(x => (x - m) * (x - m)) / (d.Length - 1));
        }

        /// <summary>Click AUC against buy AUC of the weighted logit sum as the buy weight varies (other weights 1), and the learned variants.</summary>
        private static List<(string name, double x, double y)> TradeOff(MLContext ml, Microsoft.ML.IDataView train, Microsoft.ML.IDataView test,
            List<ObjectiveRow> testRows, int epochs, int threads, int seed)
        {
            var points = new List<(string, double, double)>();
            foreach (double wBuy in new[] { 0.0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8 })
            {
                var o = EnsembleSimulation.Options(ObjectiveEnsembleMethod.WeightedLogitSum);
                o.Objectives[1].Weight = (float)wBuy;
                using var m = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(train);
                var a = EnsembleSimulation.Aucs(testRows, EnsembleSimulation.Column(m.Transform(test), "Score"));
                points.Add(($"logit sum, w_buy = {wBuy}", a[0], a[1]));
                Console.WriteLine($"  trade-off: logit sum with w_buy {wBuy}: click AUC {a[0]:0.0000}, buy AUC {a[1]:0.0000}");
            }
            foreach (var (name, method, twoStep) in Variants.Where(v => v.method is ObjectiveEnsembleMethod.BinaryCrossEntropy or ObjectiveEnsembleMethod.HarmonRank))
            {
                var o = EnsembleSimulation.Options(method, twoStep, epochs);
                o.Seed = seed;
                o.NumberOfThreads = threads;
                using var m = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(train);
                var a = EnsembleSimulation.Aucs(testRows, EnsembleSimulation.Column(m.Transform(test), "Score"));
                points.Add((name, a[0], a[1]));
            }
            return points;
        }

        private static void Plot(List<(string name, double x, double y)> points, string path)
        {
            var plt = new ScottPlot.Plot();
            var fixedPts = points.Where(p => p.name.StartsWith("logit sum", StringComparison.Ordinal)).ToArray();
            var line = plt.Add.Scatter(fixedPts.Select(p => p.x).ToArray(), fixedPts.Select(p => p.y).ToArray());
            line.LegendText = "weighted logit sum, buy weight 0 → 8 (others 1)";
            foreach (var p in fixedPts)
            {
                var t = plt.Add.Text(p.name.Replace("logit sum, ", ""), p.x, p.y);
                t.LabelFontSize = 9;
            }
            var palette = new ScottPlot.Palettes.Category10();
            int i = 1;
            foreach (var p in points.Where(p => !p.name.StartsWith("logit sum", StringComparison.Ordinal)))
            {
                var m = plt.Add.Marker(p.x, p.y);
                m.MarkerSize = 12;
                m.Color = palette.GetColor(i++);
                m.MarkerShape = ScottPlot.MarkerShape.FilledDiamond;
                m.LegendText = p.name;
            }
            plt.XLabel("click AUC (test)");
            plt.YLabel("buy AUC (test)");
            plt.Title("Click vs buy AUC of the fused score: fixed weights and learned ensembles (world 100)");
            plt.ShowLegend(ScottPlot.Alignment.LowerLeft);
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (dir is not null)
                System.IO.Directory.CreateDirectory(dir);
            plt.SavePng(path, 900, 650);
        }
    }
}
