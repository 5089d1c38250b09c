using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MLNetRank.Evaluation;

namespace LiveStreamRanking
{
    /// <summary>The example's PNG plots (ScottPlot).</summary>
    public static class Plots
    {
        private const int Width = 900, Height = 520;

        /// <summary>Quality metrics by stage: one line per metric over the stages run.</summary>
        public static string Evolution(IReadOnlyList<StageResult> results, string folder)
        {
            var plt = new ScottPlot.Plot();
            double[] xs = Enumerable.Range(0, results.Count).Select(i => (double)i).ToArray();
            void Line(string label, Func<StageResult, double> metric)
            {
                var ys = results.Select(metric).ToArray();
                var s = plt.Add.Scatter(xs, ys);
                s.LegendText = label;
                s.MarkerSize = 8;
                s.LineWidth = 2;
            }
            Line("Click AUC", r => r.ClickAuc);
            Line("Click GAUC (user)", r => r.ClickGauc);
            Line("Buy AUC", r => r.BuyAuc);
            Line("Buy GAUC (user)", r => r.BuyGauc);
            Line("nDCG@10 (true relevance)", r => r.Ndcg10);
            Line("AUC vs true attraction", r => r.AttractionAuc);
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, results.Select(r => r.Stage).ToArray());
            plt.Title("Ranking quality by stage (time-split test, simulator with known truth)");
            plt.XLabel("stage");
            plt.YLabel("metric");
            plt.ShowLegend(ScottPlot.Edge.Right); // outside the data: the late stages' points stay visible
            return Save(plt, folder, "evolution.png");
        }

        /// <summary>One PNG per validation metric of the network stages, by epoch.</summary>
        public static IReadOnlyList<string> TrainingCurves(IReadOnlyList<StageResult> results, string folder)
        {
            var networks = results.Where(r => r.History.Count > 0).ToArray();
            var files = new List<string>();
            if (networks.Length == 0)
                return files;
            foreach (var (metric, label, file) in new[]
            {
                ("Click.Auc", "click AUC (validation)", "training-click-auc.png"),
                ("Buy.Auc", "buy AUC (validation)", "training-buy-auc.png"),
                ("StayTime.Rmse", "log stay-time RMSE (validation, clicked rows)", "training-staytime-rmse.png"),
                ("Loss", "validation loss (weighted multi-task objective)", "training-loss.png"),
            })
            {
                var plt = new ScottPlot.Plot();
                bool any = false;
                foreach (var r in networks)
                {
                    var points = r.History.Where(e => e.ValidationMetrics.ContainsKey(metric)).ToArray();
                    if (points.Length == 0)
                        continue;
                    var s = plt.Add.Scatter(points.Select(e => (double)e.Epoch).ToArray(), points.Select(e => e.ValidationMetrics[metric]).ToArray());
                    s.LegendText = $"{r.Stage} (best epoch {r.BestEpoch})";
                    s.MarkerSize = 7;
                    s.LineWidth = 2;
                    any = true;
                }
                if (!any)
                    continue;
                plt.Title($"Training curve: {label}");
                plt.XLabel("epoch");
                plt.YLabel(label);
                plt.ShowLegend();
                files.Add(Save(plt, folder, file));
            }
            return files;
        }

        /// <summary>Reliability diagram of the final model's probabilities (equal-mass bins) against the diagonal.</summary>
        public static string Calibration(string stage, IReadOnlyList<(string Label, float[] Probabilities, bool[] Labels)> curves, string folder)
        {
            var plt = new ScottPlot.Plot();
            double top = 0;
            foreach (var (label, p, y) in curves)
            {
                var bins = RankerMetrics.CalibrationCurve(p, y, bins: 15, binning: CalibrationBinning.EqualMass);
                var s = plt.Add.Scatter(bins.Select(b => b.MeanPredicted).ToArray(), bins.Select(b => b.MeanObserved).ToArray());
                s.LegendText = $"{label} (ECE {RankerMetrics.ExpectedCalibrationError(p, y, 15, CalibrationBinning.EqualMass):0.0000})";
                s.MarkerSize = 7;
                top = Math.Max(top, Math.Max(bins.Max(b => b.MeanPredicted), bins.Max(b => b.MeanObserved)));
            }
            var diagonal = plt.Add.Line(0, 0, top, top);
            diagonal.LinePattern = ScottPlot.LinePattern.Dashed;
            diagonal.LegendText = "perfect calibration";
            plt.Title($"Calibration of the {stage} model (test rows shown at position 1, 15 equal-mass bins)");
            plt.XLabel("mean predicted probability");
            plt.YLabel("observed rate");
            plt.ShowLegend(ScottPlot.Alignment.UpperLeft);
            return Save(plt, folder, "calibration.png");
        }

        /// <summary>The recovered position (examination) curve against the simulator's truth, both relative to position 1.</summary>
        public static string PositionCurve(IReadOnlyList<double> truth, IReadOnlyList<double> recovered, string recoveredLabel, string folder)
        {
            var plt = new ScottPlot.Plot();
            double[] xs = Enumerable.Range(1, truth.Count).Select(i => (double)i).ToArray();
            var t = plt.Add.Scatter(xs, truth.Select(v => v / truth[0]).ToArray());
            t.LegendText = "true examination θ_k / θ_1";
            t.LineWidth = 2;
            t.MarkerSize = 7;
            int n = Math.Min(truth.Count, recovered.Count);
            var r = plt.Add.Scatter(xs.Take(n).ToArray(), recovered.Take(n).Select(v => v / recovered[0]).ToArray());
            r.LegendText = recoveredLabel;
            r.LineWidth = 2;
            r.MarkerSize = 7;
            r.LinePattern = ScottPlot.LinePattern.Dashed;
            plt.Title("Position curve: recovered vs true");
            plt.XLabel("position");
            plt.YLabel("relative examination probability");
            plt.ShowLegend(ScottPlot.Alignment.UpperRight);
            return Save(plt, folder, "position-curve.png");
        }

        private static string Save(ScottPlot.Plot plt, string folder, string file)
        {
            string path = Path.Combine(folder, file);
            plt.SavePng(path, Width, Height);
            return path;
        }
    }
}
