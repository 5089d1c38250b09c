using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace LiveStreamRanking
{
    /// <summary>
    /// Is a stage's gain over the previous stage more than the seed spread? Reads the <c>evolution.csv</c> of runs with
    /// different seeds (<c>--seeds 1,2,3</c> makes them; <c>--spread DIR,DIR,...</c> reads existing ones) and writes
    /// <c>seed-spread.md</c>: per stage and metric, the paired gain over the previous stage (same seed) as mean ± standard
    /// deviation across seeds, and whether it holds.
    /// </summary>
    public static class SeedSpread
    {
        private static readonly (string Column, string Label, bool HigherIsBetter)[] Metrics =
        {
            ("click_auc", "Click AUC", true),
            ("buy_auc", "Buy AUC", true),
            ("log_stay_rmse", "log stay RMSE", false),
            ("ndcg10_truth", "nDCG@10 (truth)", true),
            ("auc_true_attraction", "AUC vs true attraction", true),
        };

        /// <summary>The verdict on paired gains (one per seed): "holds" when every seed improves and the mean gain exceeds two
        /// standard errors (sd / √n); "worse" when every seed loses by that margin; otherwise "within spread".</summary>
        public static string Verdict(IReadOnlyList<double> gains)
        {
            if (gains.Count < 2)
                return "one seed";
            double mean = gains.Average(), sd = Sd(gains), se = sd / Math.Sqrt(gains.Count);
            if (gains.All(g => g > 0) && mean > 2 * se)
                return "holds";
            if (gains.All(g => g < 0) && -mean > 2 * se)
                return "worse";
            return "within spread";
        }

        private static double Sd(IReadOnlyList<double> x)
        {
            double m = x.Average();
            return x.Count < 2 ? 0 : Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Count - 1));
        }

        /// <summary>Reads the runs' <c>evolution.csv</c> files, writes <c>seed-spread.md</c> into <paramref name="folder"/> and
        /// returns its text.</summary>
        /// <param name="runs">(seed label, evolution.csv path) per run.</param>
        /// <param name="folder">Where to write seed-spread.md.</param>
        public static string Write(IReadOnlyList<(string Seed, string CsvPath)> runs, string folder)
        {
            if (runs.Count < 2)
                throw new ArgumentException("The seed spread needs at least two runs.", nameof(runs));
            var tables = runs.Select(r => ReadCsv(r.CsvPath)).ToList();
            var stages = tables[0].Select(row => row["stage"]).Where(s => tables.All(t => t.Any(row => row["stage"] == s))).ToList();
            var sb = new StringBuilder();
            sb.AppendLine("# Stage gains against the seed spread (MLNetRank main example)");
            sb.AppendLine();
            sb.AppendLine($"Runs: {string.Join(", ", runs.Select(r => $"seed {r.Seed} ({r.CsvPath})"))}. The seed sets the simulated world and traffic and the " +
                "MLContext. A gain is the stage's metric minus the previous stage's, in the same run (paired), as mean ± standard deviation across seeds, " +
                "then how many seeds improved. **holds**: every seed improves and the mean exceeds two standard errors (sd/√n); **worse**: every seed " +
                "loses by that margin; otherwise **within spread** (the table must not claim it). Lower is better for the log stay RMSE (its gain is the decrease).");
            sb.AppendLine();
            sb.AppendLine("| stage | vs | " + string.Join(" | ", Metrics.Select(m => m.Label)) + " |");
            sb.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---|", Metrics.Length)));
            for (int i = 1; i < stages.Count; i++)
            {
                var cells = new List<string> { stages[i], stages[i - 1] };
                foreach (var (column, _, higher) in Metrics)
                {
                    var gains = new List<double>();
                    foreach (var t in tables)
                    {
                        double now = Value(t, stages[i], column), before = Value(t, stages[i - 1], column);
                        if (double.IsNaN(now) || double.IsNaN(before))
                            continue;
                        gains.Add(higher ? now - before : before - now);
                    }
                    if (gains.Count < tables.Count)
                    {
                        cells.Add("-");
                        continue;
                    }
                    cells.Add(string.Format(CultureInfo.InvariantCulture, "{0:+0.0000;-0.0000} ± {1:0.0000} ({2}/{3}) {4}",
                        gains.Average(), Sd(gains), gains.Count(g => g > 0), gains.Count, Verdict(gains) switch
                        {
                            "holds" => "**holds**",
                            "worse" => "**worse**",
                            var v => v,
                        }));
                }
                sb.AppendLine("| " + string.Join(" | ", cells) + " |");
            }
            sb.AppendLine();
            sb.AppendLine("Levels (mean ± sd across seeds):");
            sb.AppendLine();
            sb.AppendLine("| stage | " + string.Join(" | ", Metrics.Select(m => m.Label)) + " | train CPU s |");
            sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Metrics.Length + 1)));
            foreach (var s in stages)
            {
                var cells = new List<string> { s };
                foreach (var column in Metrics.Select(m => m.Column).Append("train_cpu_seconds"))
                {
                    var v = tables.Select(t => Value(t, s, column)).Where(x => !double.IsNaN(x)).ToList();
                    cells.Add(v.Count == 0 ? "-" : string.Format(CultureInfo.InvariantCulture, column == "train_cpu_seconds" ? "{0:0} ± {1:0}" : "{0:0.0000} ± {1:0.0000}", v.Average(), Sd(v)));
                }
                sb.AppendLine("| " + string.Join(" | ", cells) + " |");
            }
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "seed-spread.md"), sb.ToString());
            return sb.ToString();
        }

        /// <summary>The quality columns of a run's <c>evolution.csv</c> as table rows (for <c>--replot</c>).</summary>
        public static List<StageResult> ReadResults(string csvPath)
        {
            var table = ReadCsv(csvPath);
            double V(Dictionary<string, string> row, string column)
                => row.TryGetValue(column, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
            return table.Select(r => new StageResult
            {
                Stage = r["stage"], Title = r.TryGetValue("title", out var t) ? t : "",
                ClickAuc = V(r, "click_auc"), ClickGauc = V(r, "click_gauc"), BuyAuc = V(r, "buy_auc"), BuyGauc = V(r, "buy_gauc"),
                StayRmseLog = V(r, "log_stay_rmse"), Ndcg10 = V(r, "ndcg10_truth"), AttractionAuc = V(r, "auc_true_attraction"),
            }).ToList();
        }

        private static double Value(List<Dictionary<string, string>> table, string stage, string column)
        {
            var row = table.First(r => r["stage"] == stage);
            return row.TryGetValue(column, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
        }

        internal static List<Dictionary<string, string>> ReadCsv(string path)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"No evolution table at '{path}'.", path);
            var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
            var header = Split(lines[0]);
            return lines.Skip(1).Select(l =>
            {
                var cells = Split(l);
                if (cells.Count != header.Count)
                    throw new InvalidDataException($"'{path}': a row has {cells.Count} cells, the header {header.Count}.");
                return header.Zip(cells).ToDictionary(p => p.First, p => p.Second);
            }).ToList();
        }

        /// <summary>Splits one CSV line (quoted cells may hold commas and doubled quotes).</summary>
        private static List<string> Split(string line)
        {
            var cells = new List<string>();
            var cell = new StringBuilder();
            bool quoted = false;
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else cell.Append(c);
                }
                else if (c == '"') quoted = true;
                else if (c == ',') { cells.Add(cell.ToString()); cell.Clear(); }
                else cell.Append(c);
            }
            cells.Add(cell.ToString());
            return cells;
        }
    }
}
