using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Evaluation;
using MLNetRank.Gbdt;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using static MLNetRank.Benchmarks.Gbdt.GbdtBenchData;

namespace MLNetRank.Benchmarks.Gbdt
{
    /// <summary>
    /// GBDT+LR quality (He et al., 2014 protocol): log-loss and AUC of GBDT alone, LR alone and GBDT+LR (leaf one-hot +
    /// raw features -> logistic regression), trees fit on their own split (leakage control) and, for reference, on the
    /// same rows as the LR. Data: UCI Census-Income (KDD) test split from ../shared/data, a synthetic CTR-like set and the
    /// live-stream simulator (time split; also: leaf ids fed to the multi-task network vs the same network on the dense
    /// features alone).
    /// </summary>
    public sealed class GbdtQualityBench : IBench
    {
        public string Name => "gbdt-quality";

        public string Description => "GBDT alone vs LR alone vs GBDT+LR (log-loss, AUC) on census-income, synthetic and simulator data (--simulator REQUESTS)";

        private static readonly Option<int> Trees = BenchOption.Of("--trees", 100, "FastTree trees");
        private static readonly Option<int> Leaves = BenchOption.Of("--leaves", 31, "leaves per tree");
        private static readonly Option<int> SyntheticRows = BenchOption.Of("--synthetic-rows", 60_000, "rows of the synthetic data (0: skip it)");
        private static readonly Option<int> Simulator = BenchOption.Of("--simulator", 0, "simulator requests (0: skip the simulator data)");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<float[]> L2 = BenchOption.List("--l2", new[] { 1f }, "L2 weights of the LR on leaves");
        private static readonly Option<string> Census = BenchOption.Of("--census", FindCensus() ?? "", "census-income CSV ('none': skip it)");

        public int Run(ParseResult args)
        {
            int trees = args.GetValue(Trees);
            int leaves = args.GetValue(Leaves);
            int syntheticRows = args.GetValue(SyntheticRows);
            int simulatorRequests = args.GetValue(Simulator);
            int epochs = args.GetValue(Epochs);
            var l2 = args.GetValue(L2)!;
            string? census = args.GetValue(Census);
            Console.WriteLine($"{trees} FastTree trees x {leaves} leaves, learning rate 0.1, min 20 rows per leaf; LR = L-BFGS logistic regression (L2 1), mean-variance normalized raw features.");
            Console.WriteLine("Splits (seeded): 40% tree split, 40% LR split, 20% test. Metrics on the test split.");
            (float[] X, bool[] Y, int F)? censusData = !string.IsNullOrEmpty(census) && File.Exists(census) ? LoadCensus(census) : null;
            Console.WriteLine();
            Console.WriteLine("| data | model | trained on | test log-loss | test AUC |");
            Console.WriteLine("|---|---|---|---:|---:|");
            if (censusData is { } c)
                Evaluate("census-income (UCI KDD, test file, 99,762 rows)", c.X, c.Y, c.F, trees, leaves, l2);
            else
                Console.WriteLine("| census-income | not found: pass --census PATH to census-income.test.gz | | | |");
            if (syntheticRows > 0)
            {
                var (sx, sy) = Synthetic(syntheticRows, 50, seed: 11);
                Evaluate($"synthetic CTR-like ({syntheticRows:N0} rows, 50 features)", sx, sy, 50, trees, leaves, l2);
            }
            if (simulatorRequests > 0)
                EvaluateSimulator(simulatorRequests, trees, leaves, l2, epochs);
            return 0;
        }

        private static string? FindCensus()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetRank.sln")))
                dir = dir.Parent;
            if (dir is null)
                return null;
            var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "census-income", "census-income.test.gz"));
            return File.Exists(path) ? path : null;
        }

        private static void Evaluate(string dataName, float[] x, bool[] y, int f, int trees, int leaves, float[] l2)
        {
            int n = y.Length;
            var order = Enumerable.Range(0, n).ToArray();
            new Random(20240501).Shuffle(order);
            int a = (int)(n * 0.4), b = (int)(n * 0.8);
            var ml = new MLContext(seed: 1);
            IDataView Part(int from, int to)
            {
                var px = new float[(to - from) * f];
                var py = new bool[to - from];
                for (int i = from; i < to; i++)
                {
                    Array.Copy(x, (long)order[i] * f, px, (long)(i - from) * f, f);
                    py[i - from] = y[order[i]];
                }
                return ml.Data.Cache(Load(ml, px, py, f));
            }
            Compare(ml, dataName, Part(0, a), Part(a, b), Part(0, b), Part(b, n), trees, leaves, l2);
        }

        /// <summary>GBDT alone, LR alone and GBDT+LR on the given splits (columns <c>Features</c>, <c>Label</c>).</summary>
        private static void Compare(MLContext ml, string dataName, IDataView treeSplit, IDataView lrSplit, IDataView both, IDataView test,
            int trees, int leaves, float[] l2)
        {
            void Report(string model, string on, ITransformer t)
            {
                var m = ml.BinaryClassification.Evaluate(t.Transform(test));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {dataName} | {model} | {on} | {m.LogLoss:F4} | {m.AreaUnderRocCurve:F4} |"));
            }

            FastTreeBinaryTrainer Gbdt() => ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, LearningRate = 0.1, MinimumExampleCountPerLeaf = 20,
            });
            IEstimator<ITransformer> Lr() => ml.Transforms.ReplaceMissingValues("Features", replacementMode: Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean)
                .Append(ml.Transforms.NormalizeMeanVariance("Features"))
                .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options { L2Regularization = 1f }));
            GbdtLeafEncodingEstimator.Options Enc(IDataView? fitting) => new()
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, LearningRate = 0.1, MinimumExampleCountPerLeaf = 20, FittingData = fitting,
            };

            Report("GBDT alone (FastTree)", "tree split (40%)", Gbdt().Fit(treeSplit));
            Report("GBDT alone (FastTree)", "tree + LR splits (80%)", Gbdt().Fit(both));
            Report("LR alone", "LR split (40%)", Lr().Fit(lrSplit));
            Report("LR alone", "tree + LR splits (80%)", Lr().Fit(both));
            foreach (float w in l2)
            {
                Report($"GBDT+LR (leaves + raw -> LR, L2 {w})", "trees: tree split, LR: LR split", ml.Ranker().Trainers.GbdtLogisticRegression(Enc(treeSplit), l2Regularization: w).Fit(lrSplit));
                Report($"GBDT+LR (leaves + raw -> LR, L2 {w})", "trees and LR: same 80%", ml.Ranker().Trainers.GbdtLogisticRegression(Enc(null), l2Regularization: w).Fit(both));
            }
        }

        /// <summary>
        /// Live-stream simulator, split by time (request index): trees on the first 40% of requests, LR on the next 40%,
        /// test on the last 20%. Features <c>StatFeatures</c>, label <c>Click</c>. Then the leaf ids (trees of the tree
        /// split) fed with the dense features to the single-task network of MLNetRank.Torch, against the same network on
        /// the dense features alone, both trained on the LR split.
        /// </summary>
        private static void EvaluateSimulator(int requests, int trees, int leaves, float[] l2, int epochs)
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 42, RequestCount = requests });
            int a = (int)(requests * 0.4), b = (int)(requests * 0.8);
            var rename = ml.Transforms.CopyColumns("Features", "StatFeatures").Append(ml.Transforms.CopyColumns("Label", "Click"));
            ITransformer? renamer = null;
            IDataView Part(int from, int to)
            {
                var raw = sim.GetImpressions(ml, from, to - from);
                renamer ??= rename.Fit(raw);
                return ml.Data.Cache(renamer.Transform(raw));
            }
            var treeSplit = Part(0, a);
            var lrSplit = Part(a, b);
            var both = Part(0, b);
            var test = Part(b, requests);
            int features = ((VectorDataViewType)treeSplit.Schema["Features"].Type).Size;
            var labels = test.GetColumn<bool>("Label").ToArray();
            string dataName = string.Create(CultureInfo.InvariantCulture,
                $"simulator ({requests:N0} requests, {labels.Length:N0} test impressions, {features} features, test CTR {labels.Count(v => v) * 100.0 / labels.Length:F1}%)");
            Compare(ml, dataName, treeSplit, lrSplit, both, test, trees, leaves, l2);

            // Leaves -> multi-task network (single task "Click"), vs the same network on the dense features only.
            var encoder = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, LearningRate = 0.1, MinimumExampleCountPerLeaf = 20, FittingData = treeSplit,
            }).Fit(lrSplit);
            var lrEncoded = ml.Data.Cache(encoder.Transform(lrSplit));
            var testEncoded = encoder.Transform(test);
            void Network(string model, bool withLeaves)
            {
                var options = new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.SingleTask,
                    Epochs = epochs,
                    NumberOfThreads = 2,
                };
                options.Features.Add(new DenseFeature("StatFeatures"));
                if (withLeaves)
                    options.Features.Add(new CategoricalFeature("LeafIds"));
                options.Tasks.Add(new TaskSpec("Click", "Click"));
                using var net = ml.Ranker().Trainers.MultiTask(options).Fit(lrEncoded);
                var scored = net.Transform(testEncoded);
                var p = scored.GetColumn<float[]>("ClickProbability").Select(v => v[0]).ToArray();
                var y = scored.GetColumn<bool>("Click").ToArray();
                double auc = RankerMetrics.Auc(p, y), bits = RankerMetrics.LogLoss(p, y) / Math.Log(2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {dataName} | {model} | trees: tree split, network: LR split | {bits:F4} | {auc:F4} |"));
            }
            Network($"multi-task network (SingleTask, {epochs} epochs), StatFeatures only", withLeaves: false);
            Network($"multi-task network (SingleTask, {epochs} epochs), StatFeatures + LeafIds (8-dim embeddings)", withLeaves: true);
        }

        /// <summary>
        /// Census-Income (KDD): 42 comma-separated columns, no header; label = income column "50000+."; the instance
        /// weight (column 24) is dropped; numeric columns as they are, the others one-hot encoded (vocabulary of the file).
        /// </summary>
        private static (float[] X, bool[] Y, int F) LoadCensus(string path)
        {
            int[] numeric = { 0, 5, 16, 17, 18, 30, 39 };
            const int weightColumn = 24, labelColumn = 41;
            var records = new List<string[]>();
            using (var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress)))
            {
                string? line;
                while ((line = reader.ReadLine()) is not null)
                {
                    if (line.Length == 0)
                        continue;
                    var parts = line.Split(',');
                    if (parts.Length != 42)
                        continue;
                    for (int i = 0; i < parts.Length; i++)
                        parts[i] = parts[i].Trim();
                    records.Add(parts);
                }
            }
            var categorical = Enumerable.Range(0, labelColumn).Where(c => c != weightColumn && !numeric.Contains(c)).ToArray();
            var vocab = new Dictionary<(int, string), int>();
            int f = numeric.Length;
            foreach (var r in records)
                foreach (int c in categorical)
                    if (!vocab.ContainsKey((c, r[c])))
                        vocab[(c, r[c])] = f++;
            var x = new float[records.Count * f];
            var y = new bool[records.Count];
            for (int i = 0; i < records.Count; i++)
            {
                var r = records[i];
                for (int k = 0; k < numeric.Length; k++)
                    x[(long)i * f + k] = float.Parse(r[numeric[k]], CultureInfo.InvariantCulture);
                foreach (int c in categorical)
                    x[(long)i * f + vocab[(c, r[c])]] = 1f;
                y[i] = r[labelColumn].StartsWith("50000+", StringComparison.Ordinal);
            }
            Console.WriteLine($"census-income: {records.Count:N0} rows, {f} features ({numeric.Length} numeric + {f - numeric.Length} one-hot), {y.Count(v => v) * 100.0 / y.Length:F1}% positive.");
            return (x, y, f);
        }
    }
}
