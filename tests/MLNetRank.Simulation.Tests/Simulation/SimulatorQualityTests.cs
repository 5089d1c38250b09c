using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    public class SimulatorQualityTests
    {
        private readonly ITestOutputHelper _out;

        public SimulatorQualityTests(ITestOutputHelper output) => _out = output;

        [Theory]
        [Trait("Category", "Quality")]
        [InlineData(1.0)]
        [InlineData(0.5)]
        public void ExaminationCurve_IsRecoveredFromRandomizedTraffic_NotFromLoggedTraffic(double eta)
        {
            var o = SimHelpers.Small(requests: 30_000);
            o.PositionBiasExponent = eta;
            o.RandomizedShare = 0.5;
            var sim = new LiveStreamSimulator(o);
            var (pos, rand, click, _) = SimHelpers.ReadCore(sim.GetImpressions(new MLContext(1)));
            int n = o.ListSize;
            double[] Ctr(bool randomized)
            {
                var clicks = new double[n];
                var shown = new double[n];
                for (int i = 0; i < pos.Length; i++)
                    if (rand[i] == randomized)
                    {
                        shown[pos[i] - 1]++;
                        if (click[i]) clicks[pos[i] - 1]++;
                    }
                return clicks.Select((c, p) => c / shown[p]).Append(shown[0]).ToArray();
            }
            var r = Ctr(true);
            var l = Ctr(false);
            double nr = r[n], nl = l[n];
            for (int p = 1; p < n; p++)
            {
                double ratio = r[p] / r[0];
                double truth = sim.World.TrueExamination(p + 1) / sim.World.TrueExamination(1);
                double sdLog = Math.Sqrt((1 - r[p]) / (nr * r[p]) + (1 - r[0]) / (nr * r[0]));
                _out.WriteLine($"eta {eta} position {p + 1}: randomized CTR ratio {ratio:0.000} (truth {truth:0.000}, ±{4 * sdLog:0.000} in log), logged ratio {l[p] / l[0]:0.000}");
                Assert.InRange(Math.Log(ratio), Math.Log(truth) - 4 * sdLog, Math.Log(truth) + 4 * sdLog);
            }
            // the naive estimate on logged traffic is biased low at the bottom (relevant rooms are placed first)
            double sdLast = Math.Sqrt((1 - l[n - 1]) / (nl * l[n - 1]) + (1 - l[0]) / (nl * l[0]));
            double truthLast = sim.World.TrueExamination(n);
            Assert.True(Math.Log(l[n - 1] / l[0]) < Math.Log(truthLast) - 4 * sdLast, "logged traffic should show selection bias");
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void StatFeatures_CarrySignal_GbdtBeatsRandomButNotTheOracle_SequencesAddSignal()
        {
            var o = new LiveStreamSimulatorOptions { Seed = 11, RequestCount = 8_000 };
            var sim = new LiveStreamSimulator(o);
            var ml = new MLContext(1);
            var rows = SimHelpers.Read(sim.GetImpressions(ml));
            var w = sim.World;
            // a content score from the sequences: mean latent similarity of the user's recent items and the room's items on sale
            // (the world's item vectors stand in for learned item embeddings)
            float SeqScore(Row r)
            {
                double s = 0;
                foreach (var a in r.ItemSeq)
                {
                    var va = w.ItemLatent(a);
                    foreach (var b in r.OnSale)
                    {
                        var vb = w.ItemLatent(b);
                        for (int k = 0; k < va.Length; k++) s += va[k] * vb[k];
                    }
                }
                return (float)(s / Math.Max(1, r.ItemSeq.Length * r.OnSale.Length));
            }
            var data = rows.Select(r => new Example
            {
                Label = r.Click,
                Stat = r.Stat,
                StatPlus = r.Stat.Append(SeqScore(r)).ToArray(),
                Oracle = r.TrueAttraction * r.TrueExamination,
                Position = r.Position,
                Request = r.RequestId,
            }).ToList();
            int split = data.Count * 4 / 5;
            var train = ml.Data.LoadFromEnumerable(data.Take(split));
            var test = ml.Data.LoadFromEnumerable(data.Skip(split));
            double Auc(string features)
            {
                var pipe = ml.Transforms.Concatenate("Features", features, nameof(Example.Position)).Append(
                    ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Label", featureColumnName: "Features", numberOfLeaves: 16, numberOfTrees: 40, minimumExampleCountPerLeaf: 50));
                var model = pipe.Fit(train);
                return ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(test), "Label").AreaUnderRocCurve;
            }
            double aucStat = Auc(nameof(Example.Stat));
            double aucPlus = Auc(nameof(Example.StatPlus));
            var testRows = data.Skip(split).ToList();
            double oracle = SimHelpers.Auc(testRows.Select(e => (double)e.Oracle).ToList(), testRows.Select(e => e.Label).ToList());
            _out.WriteLine($"AUC: StatFeatures {aucStat:0.0000}, + sequence score {aucPlus:0.0000}, oracle {oracle:0.0000}");
            Assert.True(aucStat > 0.6, $"StatFeatures should carry signal: AUC {aucStat}");
            Assert.True(aucStat < oracle, $"StatFeatures should not reach the oracle: {aucStat} vs {oracle}");
            Assert.True(aucPlus > aucStat + 0.003, $"the item sequences should add signal beyond StatFeatures: {aucPlus} vs {aucStat}");
        }

        private sealed class Example
        {
            public bool Label { get; set; }
            [VectorType(25)]
            public float[] Stat { get; set; } = Array.Empty<float>();
            [VectorType(26)]
            public float[] StatPlus { get; set; } = Array.Empty<float>();
            public float Oracle { get; set; }
            public float Position { get; set; }
            public uint Request { get; set; }
        }
    }
}
