using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Benchmarks.Gbdt
{
    /// <summary>Data and helpers shared by the GBDT benchmarks.</summary>
    internal static class GbdtBenchData
    {
        public sealed class Row
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public bool Label { get; set; }
        }

        /// <summary>
        /// Synthetic CTR-like rows: 50 "statistical" features (counts, rates, skewed), a label from a logistic model with
        /// main effects, thresholds and pairwise interactions (so the trees have work to do and linear models miss some).
        /// </summary>
        public static (float[] X, bool[] Y) Synthetic(int rows, int features, int seed, double nanRate = 0)
        {
            var rng = new Random(seed);
            var x = new float[rows * features];
            var y = new bool[rows];
            for (int r = 0; r < rows; r++)
            {
                var row = x.AsSpan(r * features, features);
                for (int j = 0; j < features; j++)
                {
                    double u = rng.NextDouble();
                    row[j] = (j % 3) switch
                    {
                        0 => (float)(-Math.Log(1 - u) * 10),        // counts-like, skewed
                        1 => (float)u,                                // rates
                        _ => (float)(rng.NextDouble() * 2 - 1),       // centred stats
                    };
                }
                double logit = -1.0 + 0.08 * row[0] - 1.5 * row[1] + 2.5 * Math.Sign(row[2] * row[5])
                    + 1.5 * (row[4] > 0.7 ? 1 : 0) * (row[7] > 0.6 ? 1 : -1) + 0.8 * row[8] * row[11]
                    + (row[3] > 15 ? 1.0 : 0.0) - 0.5 * row[13];
                y[r] = rng.NextDouble() < 1 / (1 + Math.Exp(-logit));
                if (nanRate > 0)
                    for (int j = 0; j < features; j++)
                        if (rng.NextDouble() < nanRate)
                            row[j] = float.NaN;
            }
            return (x, y);
        }

        public static IDataView Load(MLContext ml, float[] x, bool[] y, int features, int start = 0, int count = -1)
        {
            if (count < 0)
                count = y.Length - start;
            var rows = new List<Row>(count);
            for (int r = start; r < start + count; r++)
                rows.Add(new Row { Features = x.AsSpan(r * features, features).ToArray(), Label = y[r] });
            var def = SchemaDefinition.Create(typeof(Row));
            def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
            return ml.Data.LoadFromEnumerable(rows, def);
        }

        /// <summary>Best of <paramref name="repeats"/> timings of <paramref name="action"/>, in seconds.</summary>
        public static double Best(int repeats, Action action) => BestWithCpu(repeats, action).Wall;

        /// <summary>Best wall time of <paramref name="repeats"/> runs, with the process CPU time of that run (CPU/wall = threads busy).</summary>
        public static (double Wall, double Cpu) BestWithCpu(int repeats, Action action)
        {
            (double Wall, double Cpu) best = (double.MaxValue, 0);
            var process = Process.GetCurrentProcess();
            for (int i = 0; i < repeats; i++)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                action();
                double wall = sw.Elapsed.TotalSeconds;
                process.Refresh();
                double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
                if (wall < best.Wall)
                    best = (wall, cpu);
            }
            return best;
        }

        /// <summary>Reads every value of a vector column with a single cursor (what an ML.NET consumer pays).</summary>
        public static long DrainVector<T>(IDataView data, string column)
        {
            var col = data.Schema[column];
            long n = 0;
            using var cursor = data.GetRowCursor(new[] { col });
            var getter = cursor.GetGetter<VBuffer<T>>(col);
            var buffer = default(VBuffer<T>);
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                n += buffer.GetValues().Length;
            }
            return n;
        }

        public static string Rate(double rows, double seconds) => (rows / seconds).ToString("N0", CultureInfo.InvariantCulture);

        /// <summary>Runs Debian's python3 with a script; returns stdout, or null with the reason on stderr.</summary>
        public static string? Python(string script, string args)
        {
            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-gbdt-{Guid.NewGuid():N}.py");
            File.WriteAllText(path, script);
            try
            {
                var psi = PythonPeer.StartInfo($"{path} {args}");
                using var p = Process.Start(psi)!;
                string stdout = p.StandardOutput.ReadToEnd();
                string stderr = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                {
                    Console.Error.WriteLine($"python3 failed ({p.ExitCode}): {stderr.Trim()}");
                    return null;
                }
                return stdout;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"python3 not runnable: {e.Message}");
                return null;
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
