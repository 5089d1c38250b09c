using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Debiasing;
using MLNetRank.Simulation.Datasets;

namespace MLNetRank.Benchmarks.Debiasing
{
    /// <summary>
    /// Position propensities of real randomized traffic: the Open Bandit Dataset's uniformly random logging policy (ZOZOTOWN,
    /// positions 1-3), estimated by CTR ratio with percentile bootstrap intervals.
    /// </summary>
    public sealed class DebiasOpenBanditBench : IBench
    {
        public string Name => "debias-openbandit";

        public string Description => "position propensities of Open Bandit's random policy with bootstrap CIs";

        private static readonly Option<int> Resamples = BenchOption.Of("--resamples", 1000, "bootstrap resamples");
        private static readonly Option<string> Data = BenchOption.Of("--data", Path.Combine("..", "shared", "data", "open-bandit-small"), "Open Bandit data folder");

        public int Run(ParseResult args)
        {
            int resamples = args.GetValue(Resamples);
            string folder = args.GetValue(Data)!;
            foreach (var campaign in new[] { "men", "women" })
            {
                string path = Path.Combine(folder, "random", campaign, campaign + ".csv");
                if (!File.Exists(path))
                {
                    Console.Error.WriteLine($"'{path}' not found (expected ../shared/data/open-bandit-small from the repo root)");
                    return 2;
                }
                var ml = new MLContext(seed: 1);
                var data = OpenBanditDataset.Load(ml, path);
                var t = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                {
                    MaximumPosition = 2,
                    BootstrapResamples = resamples,
                    ConfidenceLevel = 0.95,
                }).Fit(data);
                Console.WriteLine();
                Console.WriteLine($"### random/{campaign} ({t.RowsUsed} impressions, {t.Clicks.Sum()} clicks, {t.BootstrapResamplesUsed} bootstrap resamples)");
                Console.WriteLine();
                Console.Write(t.ToMarkdownTable());
            }
            return 0;
        }
    }
}
