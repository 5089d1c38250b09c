using System;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>The training objective on tiny hand-made batches, against the formulas computed here in double precision.</summary>
    [Collection("TorchSharp")]
    public class ObjectiveTests
    {
        private static double Sig(double z) => 1 / (1 + Math.Exp(-z));

        private static double Bce(double p, double y) => -(y * Math.Log(p) + (1 - y) * Math.Log(1 - p));

        private static NetworkLayout Layout(params TaskInfo[] tasks)
        {
            var layout = new NetworkLayout { DenseSize = 1, DenseMean = new[] { 0f }, DenseInvStd = new[] { 1f } };
            layout.Tasks.AddRange(tasks);
            return layout;
        }

        private static MultiTaskEstimator.Options Options(TaskWeighting weighting)
            => new() { Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 2 }, TowerLayers = new[] { 2 }, TaskWeighting = weighting };

        private static BatchTensors Batch(float[,] labels, float[,] mask, float[] weights)
        {
            int n = labels.GetLength(0), t = labels.GetLength(1);
            return new BatchTensors
            {
                Dense = zeros(n, 1),
                Labels = tensor(labels.Cast<float>().ToArray(), new long[] { n, t }),
                Mask = tensor(mask.Cast<float>().ToArray(), new long[] { n, t }),
                Weights = tensor(weights),
                Count = n,
            };
        }

        [Fact]
        public void PlainBinaryTasksWithFixedWeightsGiveTheWeightedMaskedMeansOfTheirCrossEntropies()
        {
            // the one-[B, T] computation used when every task is a plain binary task with a fixed weight
            using var scope = NewDisposeScope();
            var layout = Layout(
                new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary },
                new TaskInfo { Name = "Follow", Kind = MultiTaskKind.Binary, Weight = 0.25f },
                new TaskInfo { Name = "Share", Kind = MultiTaskKind.Binary, Weight = 3f });
            var o = Options(TaskWeighting.Fixed);
            using var net = new MultiTaskNetwork(layout, o);
            float[,] z = { { 0.5f, 1.0f, -0.2f }, { -1.0f, 2.0f, 0.7f }, { 2.0f, 0.0f, -1.5f }, { 0.1f, -0.4f, 0.9f } };
            float[,] y = { { 1f, 1f, 0f }, { 0f, 0f, 1f }, { 1f, 0f, 0f }, { 0f, 1f, 1f } };
            float[,] m = { { 1f, 1f, 0f }, { 1f, 0f, 1f }, { 1f, 1f, 1f }, { 0f, 1f, 1f } };
            float[] w = { 1f, 2f, 0.5f, 3f };
            var b = Batch(y, m, w);
            var logits = tensor(z.Cast<float>().ToArray(), new long[] { 4, 3 }).requires_grad_(true);
            var objective = new MultiTaskTrainer(layout, o, 1).Objective(net, logits, b);
            double expected = 0;
            for (int t = 0; t < 3; t++)
            {
                double l = 0, wt = 0;
                for (int r = 0; r < 4; r++)
                {
                    l += w[r] * m[r, t] * Bce(Sig(z[r, t]), y[r, t]);
                    wt += w[r] * m[r, t];
                }
                expected += layout.Tasks[t].Weight * l / wt;
            }
            Assert.Equal(expected, objective.item<float>(), 5);
            // and its gradient reaches only the labelled cells
            objective.backward();
            var g = logits.grad!.data<float>().ToArray();
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 3; t++)
                    Assert.Equal(m[r, t] == 0f, g[r * 3 + t] == 0f);
        }

        [Fact]
        public void FlatParametersShareTheWeightsAndGradientsOfTheModule()
        {
            using var scope = NewDisposeScope();
            manual_seed(3);
            var lin = nn.Linear(4, 3);
            var w0 = lin.weight!.detach().clone();
            using var flat = new FlatParameters(lin.parameters(), CPU);
            Assert.Equal(4 * 3 + 3, flat.Flat.numel());
            Assert.Equal(0f, (lin.weight!.detach() - w0).abs().max().item<float>());     // same values after the move
            var x = randn(5, 4);
            lin.forward(x).square().sum().backward();
            // autograd accumulated into the views: the flat gradient is the module's gradients, concatenated
            var expected = cat(new[] { lin.weight!.grad!.flatten(), lin.bias!.grad!.flatten() });
            Assert.Equal(0f, (flat.Flat.grad! - expected).abs().max().item<float>());
            Assert.True(expected.abs().sum().item<float>() > 0);
            // an optimizer step on the flat parameter moves the module's weights
            using (no_grad())
                flat.Flat.sub_(flat.Flat.grad! * 0.1);
            Assert.Equal(0f, (lin.weight!.detach() - (w0 - 0.1 * lin.weight!.grad!)).abs().max().item<float>(), 6);
            flat.ZeroGrad();
            Assert.Equal(0f, lin.weight!.grad!.abs().sum().item<float>());
        }

        [Fact]
        public void UncertaintyWeightingIsKendallsLossForBinaryAndRegressionTasks()
        {
            using var scope = NewDisposeScope();
            var layout = Layout(
                new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary },
                new TaskInfo { Name = "Stay", Kind = MultiTaskKind.Regression, Weight = 2f });
            var o = Options(TaskWeighting.Uncertainty);
            using var net = new MultiTaskNetwork(layout, o);
            double[] s = { 0.3, -0.7 };
            using (no_grad())
                net.LogVariances!.copy_(tensor(s.Select(v => (float)v).ToArray()));
            float[,] z = { { 0.5f, 1.0f }, { -1.0f, 2.0f }, { 2.0f, 0.0f } };
            float[,] y = { { 1f, 1.5f }, { 0f, 0f }, { 1f, 3.0f } };
            float[,] m = { { 1f, 1f }, { 1f, 0f }, { 1f, 1f } };   // row 1 has no stay label
            float[] w = { 1f, 2f, 0.5f };
            var b = Batch(y, m, w);
            var logits = tensor(z.Cast<float>().ToArray(), new long[] { 3, 2 });
            double actual = new MultiTaskTrainer(layout, o, 1).Objective(net, logits, b).item<float>();

            // weighted means of the per-task losses
            double lClick = 0, wClick = 0, lStay = 0, wStay = 0;
            for (int r = 0; r < 3; r++)
            {
                lClick += w[r] * m[r, 0] * Bce(Sig(z[r, 0]), y[r, 0]);
                wClick += w[r] * m[r, 0];
                lStay += w[r] * m[r, 1] * (z[r, 1] - y[r, 1]) * (z[r, 1] - y[r, 1]);
                wStay += w[r] * m[r, 1];
            }
            lClick /= wClick;
            lStay /= wStay;
            // Kendall et al. 2018, σ² = exp(s): classification (1/σ²) L + log σ; regression (1/(2σ²)) L + log σ
            double sigma0 = Math.Sqrt(Math.Exp(s[0])), sigma1 = Math.Sqrt(Math.Exp(s[1]));
            double expected = (lClick / (sigma0 * sigma0) + Math.Log(sigma0))
                            + 2.0 * (lStay / (2 * sigma1 * sigma1) + Math.Log(sigma1));
            Assert.Equal(expected, actual, 5);
        }

        [Fact]
        public void RegularizedUncertaintyIsLiebelAndKoernersLoss()
        {
            using var scope = NewDisposeScope();
            var layout = Layout(
                new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary, Weight = 0.5f },
                new TaskInfo { Name = "Stay", Kind = MultiTaskKind.Regression });
            var o = Options(TaskWeighting.RegularizedUncertainty);
            using var net = new MultiTaskNetwork(layout, o);
            double[] s = { -0.4, 1.1 };
            using (no_grad())
                net.LogVariances!.copy_(tensor(s.Select(v => (float)v).ToArray()));
            float[,] z = { { 1.5f, 0.5f }, { -0.5f, 2.5f } };
            float[,] y = { { 0f, 1.0f }, { 0f, 2.0f } };
            var b = Batch(y, new float[,] { { 1f, 1f }, { 1f, 1f } }, new[] { 1f, 1f });
            var logits = tensor(z.Cast<float>().ToArray(), new long[] { 2, 2 });
            double actual = new MultiTaskTrainer(layout, o, 1).Objective(net, logits, b).item<float>();
            double lClick = (Bce(Sig(1.5), 0) + Bce(Sig(-0.5), 0)) / 2;
            double lStay = (0.25 + 0.25) / 2;
            // (1/(2σ²)) L + ln(1 + σ²), σ² = exp(s), for both kinds of task
            double c0 = Math.Exp(s[0]), c1 = Math.Exp(s[1]);
            double expected = 0.5 * (lClick / (2 * c0) + Math.Log(1 + c0)) + (lStay / (2 * c1) + Math.Log(1 + c1));
            Assert.Equal(expected, actual, 5);
        }

        [Fact]
        public void UncertaintyWeightLearnsOneOverTwiceTheLossForABinaryTask()
        {
            // d/ds [exp(-s) L + s/2] = 0 at exp(-s) = 1 / (2L): check the gradient's sign on both sides of that point
            using var scope = NewDisposeScope();
            var layout = Layout(new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary });
            var o = Options(TaskWeighting.Uncertainty);
            using var net = new MultiTaskNetwork(layout, o);
            var b = Batch(new float[,] { { 1f }, { 0f } }, new float[,] { { 1f }, { 1f } }, new[] { 1f, 1f });
            var logits = tensor(new[] { 0.2f, 0.4f }, new long[] { 2, 1 });
            double loss = (Bce(Sig(0.2), 1) + Bce(Sig(0.4), 0)) / 2;
            double sStar = Math.Log(2 * loss);
            var trainer = new MultiTaskTrainer(layout, o, 1);
            foreach (var (s, sign) in new[] { (sStar - 0.1, -1), (sStar + 0.1, 1), (sStar, 0) })
            {
                using (no_grad())
                    net.LogVariances!.copy_(tensor(new[] { (float)s }));
                net.zero_grad();
                trainer.Objective(net, logits, b).backward();
                double g = net.LogVariances!.grad!.item<float>();
                Assert.Equal(-Math.Exp(-s) * loss + 0.5, g, 5);
                if (sign != 0)
                    Assert.Equal(sign, Math.Sign(g));
            }
        }

        [Fact]
        public void CounterfactualRiskIsTheInversePropensityWeightedConversionLoss()
        {
            using var scope = NewDisposeScope();
            const float lambda = 0.5f;
            var layout = Layout(
                new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary },
                new TaskInfo { Name = "Buy", Kind = MultiTaskKind.Binary, Parent = 0, CounterfactualWeight = lambda });
            var o = Options(TaskWeighting.Fixed);
            using var net = new MultiTaskNetwork(layout, o);
            // row 3's pCTR (sigmoid(-6) = 0.0025) is below the propensity floor 0.01
            float[,] z = { { 0.5f, -1.0f }, { -1.0f, 0.3f }, { 1.5f, 0.8f }, { -6.0f, -0.2f } };
            float[,] y = { { 1f, 0f }, { 0f, 0f }, { 1f, 1f }, { 1f, 0f } };
            float[,] m = { { 1f, 1f }, { 1f, 1f }, { 1f, 1f }, { 1f, 1f } };
            float[] w = { 1f, 1f, 2f, 1f };
            var b = Batch(y, m, w);
            var trainer = new MultiTaskTrainer(layout, o, 1);
            var logits = tensor(z.Cast<float>().ToArray(), new long[] { 4, 2 }).requires_grad_();
            var objective = trainer.Objective(net, logits, b);
            double actual = objective.item<float>();

            double lClick = 0, lJoint = 0, ips = 0, ws = 0;
            for (int r = 0; r < 4; r++)
            {
                double pctr = Sig(z[r, 0]), pcvr = Sig(z[r, 1]);
                lClick += w[r] * Bce(pctr, y[r, 0]);
                lJoint += w[r] * Bce(pctr * pcvr, y[r, 1]);
                if (y[r, 0] == 1f)
                    ips += w[r] * Bce(pcvr, y[r, 1]) / Math.Max(pctr, 0.01);
                ws += w[r];
            }
            double expected = lClick / ws + lJoint / ws + lambda * ips / ws;
            Assert.Equal(expected, actual, 5);

            // the propensity is a constant of the regulariser: the click logits get exactly plain ESMM's gradient
            objective.backward();
            var withRegulariser = logits.grad!.select(1, 0).data<float>().ToArray();
            layout.Tasks[1].CounterfactualWeight = 0f;
            var logits2 = tensor(z.Cast<float>().ToArray(), new long[] { 4, 2 }).requires_grad_();
            trainer.Objective(net, logits2, b).backward();
            var plain = logits2.grad!.select(1, 0).data<float>().ToArray();
            for (int r = 0; r < 4; r++)
                Assert.Equal(plain[r], withRegulariser[r], 6);
            // ... while the conversion logits do feel it
            Assert.NotEqual(logits2.grad!.select(1, 1).data<float>()[2], logits.grad!.select(1, 1).data<float>()[2]);
        }

        [Fact]
        public void CounterfactualWeightReachesTheTrainer()
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(600, 1));
            float[] Fit(float lambda)
            {
                var o = Fixture.FullOptions(MultiTaskArchitecture.SharedBottom);
                o.Tasks[1].CounterfactualWeight = lambda;
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                Assert.All(m.History, h => Assert.True(double.IsFinite(h.TrainingLoss)));
                return Fixture.Column(m.Transform(data), "BuyProbability");
            }
            var plain = Fit(0f);
            var regularised = Fit(1f);
            Assert.All(regularised, p => Assert.InRange(p, 0f, 1f));
            Assert.True(plain.Zip(regularised, (a, c) => Math.Abs(a - c)).Max() > 1e-4, "the regulariser changed nothing");
        }

        [Fact]
        public void CounterfactualWeightNeedsAConditionedTask()
        {
            var ml = new MLContext(1);
            var o = Fixture.FullOptions();
            o.Tasks.Add(new TaskSpec("Buy2", "Buy") { CounterfactualWeight = 1f });
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("'Buy2'", ex.Message);
            Assert.Contains("ConditionedOn", ex.Message);

            o = Fixture.FullOptions();
            o.Tasks.Add(new TaskSpec("Buy2", "Buy") { ConditionedOn = o.Tasks[0].Name, CounterfactualWeight = -1f });
            var range = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("'Buy2'", range.Message);
        }
    }
}
