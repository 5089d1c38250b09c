using MLNetRank.Evaluation;
using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Debiasing;
using MLNetRank.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>Debiasing on the live-stream simulator, where the examination curve and the unbiased attraction are known.</summary>
    public class SimulatorDebiasingTests
    {
        private readonly ITestOutputHelper _out;

        public SimulatorDebiasingTests(ITestOutputHelper output) => _out = output;

        [Fact]
        [Trait("Category", "Quality")]
        public void Simulator_CurveRecovered_DebiasedModelsBeatNaiveOnTrueAttraction_AndSpreadExposure()
        {
            const int seed = 7;
            var ml = new MLContext(seed);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = seed,
                RequestCount = 10000,
                PositionBiasExponent = 1.5,
                PolicyPopularityWeight = 1.5, // a popularity-driven logging policy: the Matthew effect the debiasing must undo
            });
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, 8000));
            var test = ml.Data.Cache(sim.GetImpressions(ml, 8000, 2000));
            var truth = sim.World.TrueExaminationCurve;

            // (1) the curve, from randomized requests only: a randomized-traffic bucket of the same world (same seed, so the
            // same users and rooms), as large as a real randomization experiment would be run
            var bucket = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = seed,
                RequestCount = 20000,
                PositionBiasExponent = 1.5,
                PolicyPopularityWeight = 1.5,
                RandomizedShare = 1.0,
            }).GetImpressions(ml);
            var curve = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                RandomizedColumnName = "IsRandomized",
                MaximumPosition = 9,
            }).Fit(bucket);
            for (int p = 0; p < 10; p++)
            {
                double t = truth[p] / truth[0];
                _out.WriteLine($"position {p + 1}: true {t:F4} estimated {curve.Propensities[p]:F4}");
                Assert.True(Math.Abs(curve.Propensities[p] - t) < 0.05, $"position {p + 1}: estimated {curve.Propensities[p]:F4}, true {t:F4}");
            }
            double rmse = Math.Sqrt(Enumerable.Range(0, 10).Average(p => Math.Pow(curve.Propensities[p] - truth[p] / truth[0], 2)));
            Assert.True(rmse < 0.025, $"RMSE {rmse:F4}");

            // (2) naive vs IPS vs position-as-feature, FastTree click models on StatFeatures
            FastTreeBinaryTrainer.Options Opt(string features, string? weight) => new()
            {
                LabelColumnName = "Click",
                FeatureColumnName = features,
                ExampleWeightColumnName = weight,
                NumberOfTrees = 40,
                NumberOfLeaves = 16,
                MinimumExampleCountPerLeaf = 50,
                NumberOfThreads = 1,
                Seed = seed,
            };
            var withPropensity = curve.Transform(train);
            var weighted = ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { MaximumWeight = 20, NormalizeOverClicks = true })
                .Fit(withPropensity).Transform(withPropensity);
            var naive = ml.BinaryClassification.Trainers.FastTree(Opt("StatFeatures", null)).Fit(train);
            var ips = ml.BinaryClassification.Trainers.FastTree(Opt("StatFeatures", "Weight")).Fit(weighted);
            var paf = ml.Ranker().Trainers.PositionAsFeature(ml.BinaryClassification.Trainers.FastTree(Opt("FeaturesWithPosition", null)), featureColumnName: "StatFeatures").Fit(train);

            var attraction = test.GetColumn<float>("TrueAttraction").ToArray();
            var req = test.GetColumn<uint>("RequestId").ToArray();
            var live = test.GetColumn<uint>("LiveId").ToArray();
            (double Auc, double Gini) Eval(ITransformer m)
            {
                var s = m.Transform(test).GetColumn<float>("Score").ToArray();
                return (RankerMetrics.ExpectedAuc(s, attraction), RankerMetrics.ExposureGini(s, req, live, 3));
            }
            var n = Eval(naive);
            var i = Eval(ips);
            var f = Eval(paf);
            _out.WriteLine($"AUC vs TrueAttraction: naive {n.Auc:F4}, IPS {i.Auc:F4}, position-as-feature {f.Auc:F4}");
            _out.WriteLine($"exposure Gini top-3: naive {n.Gini:F4}, IPS {i.Gini:F4}, position-as-feature {f.Gini:F4}");
            Assert.True(i.Auc > n.Auc + 0.01, $"IPS {i.Auc:F4} vs naive {n.Auc:F4}");
            Assert.True(f.Auc > n.Auc + 0.01, $"position-as-feature {f.Auc:F4} vs naive {n.Auc:F4}");
            Assert.True(i.Gini < n.Gini - 0.02 && f.Gini < n.Gini - 0.02, $"Gini naive {n.Gini:F4}, IPS {i.Gini:F4}, position-as-feature {f.Gini:F4}");
        }
    }
}
