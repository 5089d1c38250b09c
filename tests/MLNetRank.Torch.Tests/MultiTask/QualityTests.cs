using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;
using MLNetRank.Evaluation;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// Behaviour on data with a known answer (<see cref="Fixture"/>): click and conversion share a nonlinear factor of the
    /// features, conversions are sparse. Scores are compared with the true probabilities through the expected AUC
    /// (each row is a positive with weight p and a negative with weight 1 - p).
    /// </summary>
    [Collection("TorchSharp")]
    [Trait("Category", "Quality")]
    public class QualityTests
    {
        private readonly ITestOutputHelper _out;

        public QualityTests(ITestOutputHelper output) => _out = output;

        internal static double ExpectedAuc(float[] scores, float[] truth) => RankerMetrics.ExpectedAuc(scores, truth);

        private static MultiTaskEstimator.Options Options(MultiTaskArchitecture arch, int seed)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = arch,
                ExpertLayers = new[] { 32, 16 },
                TowerLayers = new[] { 8 },
                Experts = 4,
                SharedExperts = 2,
                TaskExperts = 1,
                Levels = 1,
                Epochs = 8,
                BatchSize = 128,
                LearningRate = 0.005,
                ShuffleBufferSize = 5000,
                Seed = seed,
            };
            o.Features.Add(new DenseFeature("Features"));
            o.Features.Add(new CategoricalFeature("UserId", 4));
            o.Features.Add(new CategoricalFeature("LiveId", 4));
            return o;
        }

        [Fact]
        public void MultiTaskBeatsSingleTaskOnTheSparseTaskOfTheSimulator()
        {
            // the live-stream simulator: buys are sparse (~1.4 % of impressions) and partially related to clicks
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2024, RequestCount = 4000 });
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, 2500));
            var test = ml.Data.Cache(sim.GetImpressions(ml, 2500, 1500));
            var exam = test.GetColumn<float>(ImpressionColumns.TrueExamination).ToArray();
            var attr = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var conv = test.GetColumn<float>(ImpressionColumns.TrueConversion).ToArray();
            var truth = exam.Select((e, i) => e * attr[i] * conv[i]).ToArray();
            var results = new Dictionary<MultiTaskArchitecture, double>();
            // every sharing architecture beats single-task on the sparse task: the robust part of the expected ordering
            // (multitask-quality sim-sweep: -0.045 ± 0.012 for single-task vs shared-bottom over 5 simulator seeds at 40k
            // impressions); MMoE/PLE vs shared-bottom is within the seed spread there, so it is not asserted
            foreach (var arch in new[] { MultiTaskArchitecture.SingleTask, MultiTaskArchitecture.SharedBottom, MultiTaskArchitecture.MMoE, MultiTaskArchitecture.Ple })
            {
                var o = new MultiTaskEstimator.Options
                {
                    Architecture = arch, ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 }, Experts = 4,
                    SharedExperts = 2, TaskExperts = 1, Levels = 2,
                    Epochs = 4, BatchSize = 256, LearningRate = 2e-3, ShuffleBufferSize = 50_000, Seed = 1,
                };
                o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
                o.Features.Add(new CategoricalFeature(ImpressionColumns.UserId, 8));
                o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
                o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
                o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                results[arch] = ExpectedAuc(Fixture.Column(m.Transform(test), "BuyProbability"), truth);
                _out.WriteLine($"{arch}: Buy expected AUC {results[arch]:F4}");
            }
            Assert.True(results[MultiTaskArchitecture.SharedBottom] > results[MultiTaskArchitecture.SingleTask], Describe(results));
            Assert.True(results[MultiTaskArchitecture.MMoE] > results[MultiTaskArchitecture.SingleTask], Describe(results));
            Assert.True(results[MultiTaskArchitecture.Ple] > results[MultiTaskArchitecture.SingleTask], Describe(results));
        }

        [Fact]
        public void EsmmConversionOverTheEntireSpaceBeatsAClickedOnlyModel()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(6000, 31, buyBias: -0.5);
            var train = Fixture.Load(ml, rows);
            var testRows = Fixture.Make(4000, 32, buyBias: -0.5);
            var test = Fixture.Load(ml, testRows);
            var truth = testRows.Select(r => r.TrueCvr).ToArray();

            double esmm = 0, clickedOnly = 0;
            foreach (var seed in new[] { 1, 2 })
            {
                var o = Options(MultiTaskArchitecture.SharedBottom, seed);
                o.Tasks.Add(new TaskSpec("Click", "Click"));
                o.Tasks.Add(new TaskSpec("Buy", "Buy") { ConditionedOn = "Click" });
                using (var m = ml.Ranker().Trainers.MultiTask(o).Fit(train))
                    esmm += ExpectedAuc(Fixture.Column(m.Transform(test), "BuyProbability"), truth) / 2;

                // the classic baseline: a CVR model trained on clicked impressions only (NaN label = no label)
                var clicked = ml.Data.FilterByCustomPredicate<Impression>(train, r => !r.Click);
                var c = Options(MultiTaskArchitecture.SingleTask, seed);
                c.Tasks.Add(new TaskSpec("Buy", "Buy"));
                using (var m = ml.Ranker().Trainers.MultiTask(c).Fit(clicked))
                    clickedOnly += ExpectedAuc(Fixture.Column(m.Transform(test), "BuyProbability"), truth) / 2;
            }
            _out.WriteLine($"CVR expected AUC over all impressions: ESMM {esmm:F4}, clicked-only {clickedOnly:F4}");
            Assert.True(esmm > clickedOnly, $"ESMM {esmm:F4} vs clicked-only {clickedOnly:F4}");
        }

        private static string Describe(Dictionary<MultiTaskArchitecture, double> r) => string.Join(", ", r.Select(kv => $"{kv.Key} {kv.Value:F4}"));
    }
}
