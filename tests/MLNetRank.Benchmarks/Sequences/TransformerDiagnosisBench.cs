using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Benchmarks.Onnx;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Why the V4 transformer does or does not learn the simulator's item-level interest: one world (seed), the planted signal's
    /// headroom (AUC of the true attraction with and without its κ·z term), and the Click/Buy AUC and GAUC of mean pooling and
    /// transformer variants trained on the same rows. <c>--groups</c> replaces every item id by its hidden taste group
    /// (<see cref="World.ItemTasteGroupOf"/>): the item embeddings then need not discover the groups, which separates "the
    /// layer cannot match" from "the embeddings never learn the groups".
    /// </summary>
    public sealed class TransformerDiagnosisBench : IBench
    {
        public string Name => "sequence-transformer-diagnosis";

        public string Description => "transformer variants vs mean pooling on one simulator world: headroom, item ids or taste groups";

        private static readonly Option<int> SeedOption = BenchOption.Of("--seed", 0, "world and training seed");
        private static readonly Option<int> TrainRequestsOption = BenchOption.Of("--train-requests", 2000, "training requests");
        private static readonly Option<int> TestRequestsOption = BenchOption.Of("--test-requests", 1000, "test requests");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<int> DimOption = BenchOption.Of("--dim", 8, "embedding dimension d");
        private static readonly Option<double> KappaOption = BenchOption.Of("--kappa", 1.5, "item-interest knob κ");
        private static readonly Option<bool> GroupsOption = BenchOption.Flag("--groups", "replace item ids by their taste groups");
        private static readonly Option<string[]> VariantsOption = BenchOption.List("--variants", new[] { "mean", "tf" }, "variants: none (headroom only), mean, tf[-h<heads>][-l<layers>][-target][-zr][-zb][-sim][-t<temperature>][-ty<type init sd>]");

        public int Run(ParseResult args)
        {
            int seed = args.GetValue(SeedOption);
            int trainRequests = args.GetValue(TrainRequestsOption), testRequests = args.GetValue(TestRequestsOption);
            int epochs = args.GetValue(EpochsOption), d = args.GetValue(DimOption);
            double kappa = args.GetValue(KappaOption);
            bool groups = args.GetValue(GroupsOption);
            var ml = new MLContext(seed);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 100 + seed, RequestCount = trainRequests + testRequests, ItemInterestScale = kappa });
            IDataView train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            IDataView test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
            var click = test.GetColumn<bool>(ImpressionColumns.Click).ToArray();
            var buy = test.GetColumn<bool>(ImpressionColumns.Buy).ToArray();
            var requests = test.GetColumn<uint>(ImpressionColumns.RequestId).ToArray();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}. Seed {seed}, κ = {kappa}, {trainRequests * 10:N0} training impressions, " +
                $"{epochs} epochs: {(long)Math.Ceiling(trainRequests * 10 / 256.0) * epochs} Adam steps (batch 256){(groups ? ", item ids replaced by taste groups" : "")}.");
            var z = Headroom(sim.World, test, click, requests, kappa);
            var variants = (args.GetValue(VariantsOption) ?? Array.Empty<string>()).Where(v => v != "none").ToArray();
            if (groups || variants.Any(v => v.Contains("oracle")))
            {
                // materialised rows: taste groups instead of item ids (--groups) and the true z as a column (oracle variants)
                train = Rows(ml, sim.World, train, groups, kappa);
                test = Rows(ml, sim.World, test, groups, kappa);
            }
            foreach (var v in variants)
            {
                var sw = Stopwatch.StartNew();
                var o = Options(v, d, seed + 1, epochs);
                var stats = new List<double[]>();
                TransformerModule.Probe = (output, p, b) => stats.Add(ProbeStats(output, p, b));
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                TransformerModule.Probe = null;
                if (stats.Count > 0)
                {
                    string Avg(IEnumerable<double[]> s) { var a = s.ToArray(); return string.Join(", ", Enumerable.Range(0, a[0].Length).Select(j => a.Average(x => x[j]).ToString("F3"))); }
                    Console.WriteLine($"  {v} probe (output row-variance share, room tokens' mass on user tokens, summary's mass on user tokens, mean max prob, items on sale: mass per identical user token / mass per user token): " +
                        $"first 10 steps [{Avg(stats.Take(10))}], last 20 steps [{Avg(stats.TakeLast(20))}], {stats.Count} steps");
                }
                var scored = model.Transform(test);
                var pc = scored.GetColumn<float[]>("ClickScore").Select(x => x[0]).ToArray();
                var pb = scored.GetColumn<float[]>("BuyScore").Select(x => x[0]).ToArray();
                Console.WriteLine($"  {v}: click AUC {RankerMetrics.Auc(pc, click):F4}, GAUC {RankerMetrics.GroupAuc<uint>(pc, click, requests):F4}, " +
                    $"buy AUC {RankerMetrics.Auc(pb, buy):F4}, GAUC {RankerMetrics.GroupAuc<uint>(pb, buy, requests):F4}, corr(click logit, z) {PlantedInterest.Correlation(pc, z, null):F4} (within requests {PlantedInterest.Correlation(pc, z, requests):F4}) ({sw.Elapsed.TotalSeconds:F0} s, load {ScoringMeasures.LoadAverage()})");
            }
            Console.WriteLine($"Load average at the end: {ScoringMeasures.LoadAverage()}.");
            return 0;
        }

        /// <summary>[share of the output's variance across rows, room tokens' attention mass on the user's tokens, the summary
        /// token's, the mean largest probability] of one training batch (first layer, heads averaged).</summary>
        private static double[] ProbeStats(TorchSharp.torch.Tensor output, TorchSharp.torch.Tensor p, SequencePoolingBatch b)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            double varRows = output.var(new long[] { 0 }).mean().item<float>();
            double meanSq = output.mean(new long[] { 0 }).square().mean().item<float>();
            long lr = p.shape[2], total = p.shape[3];
            var user = p.narrow(-1, lr, total - lr).sum(-1);                                 // [B, h, Lr]
            double roomUser = user.narrow(-1, 1, lr - 1).mean().item<float>();
            double summaryUser = user.narrow(-1, 0, 1).mean().item<float>();
            double maxP = p.max(-1).values.mean().item<float>();
            // items on sale (the second room segment, after the summary and the core items) vs the user's tokens with an identical
            // embedding (with --groups: the same taste group): mass per matching user token over mass per user token
            long core = b.Queries[0].shape[1], sale = b.Queries[1].shape[1], len = b.Embedded.shape[1];
            var ps = p.narrow(2, 1 + core, sale).narrow(-1, lr, len).mean(new long[] { 1 });                  // [B, S, L] heads averaged
            var same = (b.Queries[1].unsqueeze(2) - b.Embedded.unsqueeze(1)).abs().sum(-1).eq(0).to_type(TorchSharp.torch.ScalarType.Float32)
                * b.QueryMasks[1].unsqueeze(2) * b.Mask.unsqueeze(1);                                            // [B, S, L]
            var users = b.Mask.sum(-1, keepdim: true).unsqueeze(1).clamp_min(1);                                 // [B, 1, 1]
            var nSame = same.sum(-1);                                                                           // [B, S]
            var has = nSame.gt(0).to_type(TorchSharp.torch.ScalarType.Float32) * b.QueryMasks[1];
            var perSame = (ps * same).sum(-1) / nSame.clamp_min(1);
            var perUser = (ps * b.Mask.unsqueeze(1)).sum(-1) / users.squeeze(-1);
            double ratio = ((perSame / perUser.clamp_min(1e-12)) * has).sum().item<float>() / Math.Max(1, has.sum().item<float>());
            return new[] { varRows / (varRows + meanSq), roomUser, summaryUser, maxP, ratio };
        }

        /// <summary>The bench's network (<see cref="SequenceModels.Options"/>) with the transformer variant on the clicked items.</summary>
        internal static MultiTaskEstimator.Options Options(string variant, int d, int seed, int epochs)
        {
            if (variant.StartsWith("mean"))
            {
                var m = SequenceModels.Options("mean", d, seed, epochs, threads: 1);
                if (variant == "mean-oracle")
                    m.Features.Add(new DenseFeature(nameof(RowZ.OracleZ)));
                return m;
            }
            if (variant.StartsWith("match"))
            {
                // the readout the transformer lacks, written directly (MatchReadoutPooling), on the clicked items
                var mo = SequenceModels.Options("mean", d, seed, epochs, threads: 1);
                mo.Features.OfType<SequenceFeature>().Single(f => f.ColumnName == ImpressionColumns.UserItemSeq).Pooling = new MatchReadoutPooling(ImpressionColumns.LiveItemsOnSale,
                    variant.StartsWith("match-s") ? float.Parse(variant[7..], System.Globalization.CultureInfo.InvariantCulture) : 1f);
                return mo;
            }
            var o = SequenceModels.Options("transformer", d, seed, epochs, threads: 1);
            var items = o.Features.OfType<SequenceFeature>().Single(f => f.ColumnName == ImpressionColumns.UserItemSeq);
            var tf = (TransformerPooling)items.Pooling!;
            foreach (var part in variant.Split('-').Skip(1))
            {
                if (part.StartsWith('h'))
                    tf.Heads = int.Parse(part[1..]);
                else if (part.StartsWith('l'))
                    tf.Layers = int.Parse(part[1..]);
                else if (part == "zr")
                    tf.ZeroResidualInit = true;
                else if (part.StartsWith('t') && part != "target" && !part.StartsWith("ty"))
                    tf.Temperature = float.Parse(part[1..], System.Globalization.CultureInfo.InvariantCulture);
                else if (part.StartsWith("ty"))
                    tf.TypeInitStd = double.Parse(part[2..], System.Globalization.CultureInfo.InvariantCulture);
                else if (part.StartsWith('g'))
                    tf.OutputGainInit = float.Parse(part[1..], System.Globalization.CultureInfo.InvariantCulture);
                else if (part == "zb")
                    tf.ZeroBiasInit = true;
                else if (part == "sim")
                    tf.SimilarityInit = true;
                else if (part == "oracle")
                    o.Features.Add(new DenseFeature(nameof(RowZ.OracleZ)));
                else if (part == "target")
                {
                    tf.Output = TransformerOutput.TargetAttention;
                    tf.TargetFeatureName = ImpressionColumns.LiveId;
                }
                else
                    throw new ArgumentException($"unknown variant part '{part}' in '{variant}'");
            }
            return o;
        }

        /// <summary>AUC of the true click probability (attraction x examination) with and without the κ·z term, on the test rows.</summary>
        private static double[] Headroom(World w, IDataView test, bool[] click, uint[] requests, double kappa)
        {
            var z = PlantedInterest.TrueZ(w, test, kappa);
            var (with, without, withA, withoutA) = PlantedInterest.TrueProbabilities(test, z, kappa);
            Console.WriteLine($"Headroom on the test rows (κ = {kappa}): click AUC of the true attraction x examination {RankerMetrics.Auc(with, click):F4} " +
                $"(GAUC {RankerMetrics.GroupAuc<uint>(with, click, requests):F4}), without κ·z {RankerMetrics.Auc(without, click):F4} " +
                $"(GAUC {RankerMetrics.GroupAuc<uint>(without, click, requests):F4}); attraction alone {RankerMetrics.Auc(withA, click):F4} vs " +
                $"{RankerMetrics.Auc(withoutA, click):F4}; z mean {z.Average():F3}, sd {Math.Sqrt(z.Select(x => x * x).Average() - z.Average() * z.Average()):F3}.");
            return z;
        }

        /// <summary>The rows, with every item id (clicked items, items on sale, core items) replaced by its taste group + 1 when
        /// <paramref name="groups"/>, and the true z in <see cref="Row.OracleZ"/>.</summary>
        private static IDataView Rows(MLContext ml, World w, IDataView view, bool groups, double kappa)
        {
            uint[] Map(uint[] ids) => ids.Select(i => (uint)w.ItemTasteGroupOf(i) + 1).ToArray();
            var rows = ml.Data.CreateEnumerable<Row>(view, reuseRowObject: false).Select(r => new RowZ
            {
                RequestId = r.RequestId, StatFeatures = r.StatFeatures, LiveId = r.LiveId, UserLiveSeq = r.UserLiveSeq, Click = r.Click, Buy = r.Buy,
                OracleZ = kappa == 0 ? 0f : (float)w.TrueItemInterest(r.UserId, r.LiveId, r.Time),
                UserItemSeq = groups ? Map(r.UserItemSeq) : r.UserItemSeq,
                LiveItemsOnSale = groups ? Map(r.LiveItemsOnSale) : r.LiveItemsOnSale,
                LiveCoreItems = groups ? Map(r.LiveCoreItems) : r.LiveCoreItems,
            }).ToList();
            return ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        }

        private sealed class RowZ
        {
            public uint RequestId { get; set; }
            public float OracleZ { get; set; }
            [VectorType(25)] public float[] StatFeatures { get; set; } = Array.Empty<float>();
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        private sealed class Row
        {
            public uint RequestId { get; set; }
            public uint UserId { get; set; }
            public float Time { get; set; }
            [VectorType(25)] public float[] StatFeatures { get; set; } = Array.Empty<float>();
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }
    }
}
