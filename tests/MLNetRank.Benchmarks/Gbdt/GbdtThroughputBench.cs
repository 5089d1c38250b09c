using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Gbdt;
using static MLNetRank.Benchmarks.Gbdt.GbdtBenchData;
using Table = System.Collections.Generic.List<(string Method, string Trees, string Threads, double Rows, (double Wall, double Cpu) Time)>;

namespace MLNetRank.Benchmarks.Gbdt
{
    /// <summary>
    /// Leaf-encoding throughput, 100 trees x 31 leaves x 50 features by default: MLNetRank's fast encoder (one thread,
    /// all cores) against ML.NET's tree featurizer on the same trees, the saved ONNX chain, LightGBM's native leaf
    /// prediction (same-size ensemble trained natively) and xgboost's pred_leaf (Debian python3-xgboost), same data.
    /// </summary>
    public sealed class GbdtThroughputBench : IBench
    {
        public string Name => "gbdt-throughput";

        public string Description => "GBDT leaf encoding rows/s: fast encoder vs ML.NET featurizer vs LightGBM C API vs xgboost pred_leaf";

        private static readonly Option<int> Rows = BenchOption.Of("--rows", 200_000, "rows encoded");
        private static readonly Option<int> TrainRows = BenchOption.Of("--train-rows", 50_000, "rows the ensemble is trained on");
        private static readonly Option<int> Features = BenchOption.Of("--features", 50, "features per row");
        private static readonly Option<int> Trees = BenchOption.Of("--trees", 100, "trees");
        private static readonly Option<int> Leaves = BenchOption.Of("--leaves", 31, "leaves per tree");
        private static readonly Option<int> Repeats = BenchOption.Of("--repeats", 3, "repeats (best is reported)");

        public int Run(ParseResult args)
        {
            int rows = args.GetValue(Rows);
            int trainRows = args.GetValue(TrainRows);
            int features = args.GetValue(Features);
            int trees = args.GetValue(Trees);
            int leaves = args.GetValue(Leaves);
            int repeats = args.GetValue(Repeats);
            int cores = Environment.ProcessorCount;
            Console.WriteLine($"rows {rows:N0} (encoded), train rows {trainRows:N0}, {features} features, {trees} trees x {leaves} leaves; best of {repeats}; {cores} cores.");
            if (File.Exists("/proc/loadavg"))
                Console.WriteLine($"Load average at start (1/5/15 min): {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))} (other processes share the cores).");
            Console.WriteLine();

            var (x, y) = Synthetic(rows, features, seed: 7);
            var ml = new MLContext(seed: 1);
            var train = Load(ml, x, y, features, 0, trainRows);
            var all = Load(ml, x, y, features);
            using var fastTree = FitTimed(ml, train, new GbdtLeafEncodingEstimator.Options
            {
                NumberOfTrees = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = 20,
            }, out double fitSeconds);
            using var lightGbm = FitTimed(ml, train, new GbdtLeafEncodingEstimator.Options
            {
                Trainer = GbdtLeafTrainer.LightGbm, NumberOfTrees = trees, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = 20,
            }, out double fitLgbSeconds);
            Console.WriteLine($"Fit (train + build encoder and saved chain): FastTree {fitSeconds:F1} s, LightGBM {fitLgbSeconds:F1} s; " +
                $"leaves per tree: FastTree mean {fastTree.LeafCounts.Average():F1}, LightGBM mean {lightGbm.LeafCounts.Average():F1}.");

            var table = new Table();
            var output = MeasureFastEncoder(table, fastTree, x, rows, all, repeats, cores);
            var builtIn = MeasureMlNetFeaturizer(table, ml, fastTree, all, rows, repeats);
            int mismatches = CountMismatches(builtIn, fastTree.Encoder, output);
            MeasureTransformerAndSavedChain(table, ml, fastTree, x, y, rows, features, all, repeats);
            MeasureLightGbmEncoder(table, lightGbm, x, rows, repeats, cores);
            MeasureNativeLightGbm(table, x, y, rows, trainRows, features, trees, leaves, repeats, cores);
            MeasureXgboost(table, x, y, rows, features, trainRows, trees, leaves, repeats, cores);
            PrintTable(table);
            return mismatches == 0 ? 0 : 1;
        }

        private static GbdtLeafEncodingTransformer FitTimed(MLContext ml, IDataView train, GbdtLeafEncodingEstimator.Options options, out double seconds)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var model = ml.Ranker().Transforms.EncodeGbdtLeaves(options).Fit(train);
            seconds = sw.Elapsed.TotalSeconds;
            return model;
        }

        /// <summary>Our fast encoder on the FastTree ensemble: one thread, all cores, and behind an IDataView cursor. Returns the
        /// leaf ids of the all-cores run (checked against ML.NET's featurizer).</summary>
        private static int[] MeasureFastEncoder(Table table, GbdtLeafEncodingTransformer fastTree, float[] x, int rows, IDataView all, int repeats, int cores)
        {
            var enc = fastTree.Encoder;
            var output = new int[rows * enc.TreeCount];
            table.Add(("MLNetRank GbdtLeafEncoder.EncodeBatch (float[] in, int[] out)", "FastTree", "1", rows,
                BestWithCpu(repeats, () => enc.EncodeBatch(x, rows, output, 1))));
            table.Add(("MLNetRank GbdtLeafEncoder.EncodeBatch (float[] in, int[] out)", "FastTree", $"{cores}", rows,
                BestWithCpu(repeats, () => enc.EncodeBatch(x, rows, output, null))));
            table.Add(("MLNetRank EncodeToArray (IDataView cursor in)", "FastTree", $"{cores}", rows,
                BestWithCpu(repeats, () => fastTree.EncodeToArray(all, out _))));
            return output;
        }

        /// <summary>ML.NET's tree featurizer on the same trees (cursor and row-to-row mapper); returns its output view.</summary>
        private static IDataView MeasureMlNetFeaturizer(Table table, MLContext ml, GbdtLeafEncodingTransformer fastTree, IDataView all, int rows, int repeats)
        {
            var featurizer = ml.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = "Features", ModelParameters = fastTree.ModelParameters, TreesColumnName = null, PathsColumnName = null, LeavesColumnName = "Leaves",
            }).Fit(all);
            var builtIn = featurizer.Transform(all);
            // ML.NET's cursor runs transforms on a parallel cursor set (see the CPU column); its row-to-row mapper (what
            // PredictionEngine uses) runs on one thread.
            table.Add(("ML.NET FeaturizeByPretrainTreeEnsemble, IDataView cursor over Leaves", "FastTree", "ML.NET's choice", rows,
                BestWithCpu(repeats, () => DrainVector<float>(builtIn, "Leaves"))));
            table.Add(("ML.NET FeaturizeByPretrainTreeEnsemble, row-to-row mapper over Leaves", "FastTree", "1", rows,
                BestWithCpu(repeats, () => DrainMapper(featurizer, all, "Leaves"))));
            return builtIn;
        }

        /// <summary>Checks the encoder against the built-in featurizer on a sample (the tests do it on NaN/Inf data).</summary>
        private static int CountMismatches(IDataView builtIn, GbdtLeafEncoder enc, int[] output)
        {
            var reference = builtIn.Preview(maxRows: 2000);
            int mismatches = 0;
            for (int r = 0; r < reference.RowView.Length; r++)
            {
                var leavesRef = ((Microsoft.ML.Data.VBuffer<float>)reference.RowView[r].Values.First(kv => kv.Key == "Leaves").Value).DenseValues().ToArray();
                int offset = 0;
                for (int t = 0; t < enc.TreeCount; t++)
                {
                    if (leavesRef[offset + output[r * enc.TreeCount + t]] != 1f)
                        mismatches++;
                    offset += enc.LeafCounts[t];
                }
            }
            Console.WriteLine($"Encoder vs ML.NET featurizer on {reference.RowView.Length} rows: {mismatches} mismatching leaves.");
            return mismatches;
        }

        private static void MeasureTransformerAndSavedChain(Table table, MLContext ml, GbdtLeafEncodingTransformer fastTree, float[] x, bool[] y,
            int rows, int features, IDataView all, int repeats)
        {
            var fastView = fastTree.Transform(all);
            table.Add(("MLNetRank transformer.Transform (fast encoder behind an IDataView), cursor over LeafIds", "FastTree", "ML.NET's choice", rows,
                BestWithCpu(repeats, () => DrainVector<uint>(fastView, "LeafIds"))));
            int savedRows = Math.Min(rows, 50_000);
            var savedInput = Load(ml, x, y, features, 0, savedRows);
            var saved = fastTree.SavedTransformer.Transform(savedInput);
            table.Add(("Saved chain (OnnxTransformer TreeEnsemble + MapValueToKey), cursor over LeafIds", "FastTree", "ML.NET's choice", savedRows,
                BestWithCpu(repeats, () => DrainVector<uint>(saved, "LeafIds"))));
        }

        private static void MeasureLightGbmEncoder(Table table, GbdtLeafEncodingTransformer lightGbm, float[] x, int rows, int repeats, int cores)
        {
            var encL = lightGbm.Encoder;
            var outputL = new int[rows * encL.TreeCount];
            table.Add(("MLNetRank GbdtLeafEncoder.EncodeBatch", "LightGBM (ML.NET)", "1", rows, BestWithCpu(repeats, () => encL.EncodeBatch(x, rows, outputL, 1))));
            table.Add(("MLNetRank GbdtLeafEncoder.EncodeBatch", "LightGBM (ML.NET)", $"{cores}", rows, BestWithCpu(repeats, () => encL.EncodeBatch(x, rows, outputL, null))));
        }

        /// <summary>The native peer: LightGBM's C API leaf prediction on a same-size ensemble trained natively.</summary>
        private static void MeasureNativeLightGbm(Table table, float[] x, bool[] y, int rows, int trainRows, int features, int trees, int leaves, int repeats, int cores)
        {
            try
            {
                using var native = new NativeLightGbm(x.AsSpan(0, trainRows * features).ToArray(), y.Take(trainRows).ToArray(), trainRows, features, trees, leaves, 20, cores);
                var result = new double[(long)rows * trees];
                table.Add(("LightGBM C API LGBM_BoosterPredictForMat (leaf index)", "LightGBM (native)", "1", rows,
                    BestWithCpu(repeats, () => native.PredictLeaves(x, rows, features, result, 1))));
                table.Add(("LightGBM C API LGBM_BoosterPredictForMat (leaf index)", "LightGBM (native)", $"{cores}", rows,
                    BestWithCpu(repeats, () => native.PredictLeaves(x, rows, features, result, cores))));
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                Console.WriteLine($"LightGBM native: not measured ({e.Message}).");
            }
        }

        /// <summary>The Python peer: xgboost pred_leaf, same data, same run.</summary>
        private static void MeasureXgboost(Table table, float[] x, bool[] y, int rows, int features, int trainRows, int trees, int leaves, int repeats, int cores)
        {
            var dataPath = Path.Combine(Path.GetTempPath(), $"mlnetrank-gbdt-{Guid.NewGuid():N}.bin");
            try
            {
                using (var w = new BinaryWriter(File.Create(dataPath)))
                {
                    foreach (var v in x)
                        w.Write(v);
                    foreach (var b in y)
                        w.Write(b ? 1f : 0f);
                }
                var py = Python(XgboostScript, string.Join(' ', dataPath, rows, features, trainRows, trees, leaves, repeats, cores));
                if (py is not null)
                {
                    foreach (var line in py.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var parts = line.Split('\t');
                        if (parts.Length == 3 && parts[0] == "pred_leaf")
                            table.Add(("xgboost Booster.predict(pred_leaf=True) (" + XgbVersion(py) + ")", "xgboost hist lossguide", parts[1], rows,
                                (double.Parse(parts[2], CultureInfo.InvariantCulture), double.NaN)));
                    }
                }
                else
                {
                    Console.WriteLine("xgboost: not measured (python3-xgboost missing; apt-get install -y python3-xgboost).");
                }
            }
            finally
            {
                File.Delete(dataPath);
            }
        }

        private static void PrintTable(Table table)
        {
            if (File.Exists("/proc/loadavg"))
                Console.WriteLine($"Load average at end: {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}.");
            Console.WriteLine();
            // rows/s per core: rows per CPU-second of the process (robust to other processes on the cores: a thread that waits
            // for a core costs wall time, not CPU time), so the one-thread and the parallel paths compare core for core; rows
            // without a CPU measurement (the Python peer) use rows/s divided by the threads given.
            Console.WriteLine("| method | trees | threads | rows | rows/s | rows/s per core (rows / CPU s) | CPU s / wall s |");
            Console.WriteLine("|---|---|---|---:|---:|---:|---:|");
            foreach (var (method, t, threads, n, time) in table)
            {
                string perCore = !double.IsNaN(time.Cpu) && time.Cpu > 0 ? Rate(n, time.Cpu)
                    : int.TryParse(threads, out int k) ? Rate(n, time.Wall * k) + " (wall x threads)" : "n/a";
                Console.WriteLine($"| {method} | {t} | {threads} | {n:N0} | {Rate(n, time.Wall)} | {perCore} | {(double.IsNaN(time.Cpu) ? "n/a" : (time.Cpu / time.Wall).ToString("F2", CultureInfo.InvariantCulture))} |");
            }
        }

        private static long DrainMapper(ITransformer transformer, IDataView input, string column)
        {
            var mapper = transformer.GetRowToRowMapper(input.Schema);
            var col = mapper.OutputSchema[column];
            var needed = mapper.GetDependencies(new[] { col });
            using var cursor = input.GetRowCursor(needed);
            long n = 0;
            using var row = mapper.GetRow(cursor, new[] { col });
            var getter = row.GetGetter<Microsoft.ML.Data.VBuffer<float>>(col);
            var buffer = default(Microsoft.ML.Data.VBuffer<float>);
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                n += buffer.GetValues().Length;
            }
            return n;
        }

        private static string XgbVersion(string output)
        {
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("version\t", StringComparison.Ordinal));
            return line is null ? "xgboost" : "xgboost " + line.Split('\t')[1].Trim();
        }

        private const string XgboostScript = @"
import sys, time
import numpy as np
import xgboost as xgb
path, rows, f, train_rows, trees, leaves, repeats, cores = sys.argv[1], *map(int, sys.argv[2:])
raw = np.fromfile(path, dtype=np.float32)
x = raw[:rows * f].reshape(rows, f)
y = raw[rows * f:rows * f + rows]
print('version\t' + xgb.__version__)
params = dict(objective='binary:logistic', tree_method='hist', grow_policy='lossguide', max_leaves=leaves, max_depth=0,
              eta=0.1, min_child_weight=1, nthread=cores, seed=1)
bst = xgb.train(params, xgb.DMatrix(x[:train_rows], label=y[:train_rows]), num_boost_round=trees)
dm = xgb.DMatrix(x)
for threads in (1, cores):
    bst.set_param({'nthread': threads})
    best = 1e9
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = bst.predict(dm, pred_leaf=True)
        best = min(best, time.perf_counter() - t0)
    assert out.shape == (rows, trees), out.shape
    print(f'pred_leaf\t{threads}\t{best}')
";
    }
}
