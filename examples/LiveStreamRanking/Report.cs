using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace LiveStreamRanking
{
    /// <summary>The evolution table as console text, Markdown and CSV.</summary>
    public static class Report
    {
        private static readonly string[] Headers =
        {
            "stage", "Click AUC", "Click GAUC", "Buy AUC", "Buy GAUC", "log stay RMSE", "nDCG@10 (truth)", "AUC vs true attraction",
            "train s", "train CPU s", "model KiB", "score p50 ms", "score p99 ms",
        };

        private static string[] Cells(StageResult r) => new[]
        {
            r.Stage, F4(r.ClickAuc), F4(r.ClickGauc), F4(r.BuyAuc), F4(r.BuyGauc), double.IsNaN(r.StayRmseLog) ? "-" : F4(r.StayRmseLog),
            F4(r.Ndcg10), F4(r.AttractionAuc), r.TrainSeconds.ToString("0.0", CultureInfo.InvariantCulture),
            r.TrainCpuSeconds.ToString("0.0", CultureInfo.InvariantCulture), (r.ModelBytes / 1024.0).ToString("0", CultureInfo.InvariantCulture),
            r.ScoreP50Ms.ToString("0.000", CultureInfo.InvariantCulture), r.ScoreP99Ms.ToString("0.000", CultureInfo.InvariantCulture),
        };

        private static string F4(double v) => double.IsNaN(v) ? "-" : v.ToString("0.0000", CultureInfo.InvariantCulture);

        /// <summary>A Markdown table (also what the console shows).</summary>
        public static string Markdown(IReadOnlyList<StageResult> results)
        {
            var sb = new StringBuilder();
            sb.AppendLine("| " + string.Join(" | ", Headers) + " |");
            sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Headers.Length - 1)));
            foreach (var r in results)
                sb.AppendLine("| " + string.Join(" | ", Cells(r)) + " |");
            return sb.ToString();
        }

        /// <summary>CSV with a header row (invariant culture; full precision).</summary>
        public static string Csv(IReadOnlyList<StageResult> results)
        {
            var sb = new StringBuilder();
            sb.AppendLine("stage,title,click_auc,click_gauc,buy_auc,buy_gauc,log_stay_rmse,ndcg10_truth,auc_true_attraction,train_seconds,train_cpu_seconds,model_bytes,score_p50_ms,score_p99_ms,scoring_path,best_epoch");
            foreach (var r in results)
            {
                string G(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
                sb.AppendLine(string.Join(",", r.Stage, Quote(r.Title), G(r.ClickAuc), G(r.ClickGauc), G(r.BuyAuc), G(r.BuyGauc), G(r.StayRmseLog),
                    G(r.Ndcg10), G(r.AttractionAuc), G(r.TrainSeconds), G(r.TrainCpuSeconds), r.ModelBytes.ToString(CultureInfo.InvariantCulture), G(r.ScoreP50Ms), G(r.ScoreP99Ms),
                    r.ScoringPath, r.BestEpoch.ToString(CultureInfo.InvariantCulture)));
            }
            return sb.ToString();
        }

        private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

        /// <summary>Writes <c>evolution.md</c> (table + what each stage adds + run notes) and <c>evolution.csv</c>.</summary>
        public static (string Markdown, string Csv) Write(IReadOnlyList<StageResult> results, string folder, string runNote)
        {
            var md = new StringBuilder();
            md.AppendLine("# Evolution of the live-stream ranker (MLNetRank main example)");
            md.AppendLine();
            md.AppendLine(runNote);
            md.AppendLine();
            md.Append(Markdown(results));
            md.AppendLine();
            foreach (var r in results)
                md.AppendLine($"- **{r.Stage}**: {r.Title} (scored by {r.ScoringPath}{(r.BestEpoch > 0 ? $", best epoch {r.BestEpoch}" : "")})");
            string mdPath = Path.Combine(folder, "evolution.md"), csvPath = Path.Combine(folder, "evolution.csv");
            File.WriteAllText(mdPath, md.ToString());
            File.WriteAllText(csvPath, Csv(results));
            return (mdPath, csvPath);
        }
    }
}
