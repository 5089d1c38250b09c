using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>Each pooling module's ONNX export equals its TorchSharp forward (to 1e-5), also when the sequence comes with one
    /// row for the whole batch (a request's user history under the request scorer).</summary>
    [Collection("TorchSharp")]
    public class PoolingModuleTests
    {
        private const int B = 6, L = 7, D = 8;

        /// <summary>A batch with ragged masks: row 1's sequence is empty, row 2's query set is empty.</summary>
        internal static SequencePoolingBatch Batch(int seed, int rows, int[] queryLengths, bool sameSequenceForAll = false)
        {
            var g = new Generator((ulong)seed);
            var emb = randn(new long[] { rows, L, D }, generator: g);
            var mask = (rand(new long[] { rows, L }, generator: g) > 0.3f).to_type(ScalarType.Float32);
            mask[TensorIndex.Colon, 0] = ones(rows);
            if (rows > 1)
                mask[1] = zeros(L);
            if (sameSequenceForAll)
            {
                emb = emb.narrow(0, 0, 1).expand(rows, L, D).contiguous();
                mask = mask.narrow(0, 0, 1).expand(rows, L).contiguous();
            }
            var qs = new List<Tensor>();
            var qms = new List<Tensor>();
            foreach (var q in queryLengths)
            {
                qs.Add(randn(new long[] { rows, q, D }, generator: g));
                var qm = (rand(new long[] { rows, q }, generator: g) > 0.2f).to_type(ScalarType.Float32);
                qm[TensorIndex.Colon, 0] = ones(rows);
                if (rows > 2 && q > 1)
                    qm[2] = zeros(q);
                qms.Add(qm);
            }
            return new SequencePoolingBatch(emb, mask, qs, qms);
        }

        public static IEnumerable<object[]> Poolings()
        {
            yield return new object[] { "mean", new MeanSequencePooling(), Array.Empty<int>() };
            yield return new object[] { "din", new TargetAttentionPooling("room"), new[] { 1 } };
            yield return new object[] { "din-sum", new TargetAttentionPooling("room") { Weighting = AttentionWeighting.Sum }, new[] { 1 } };
            yield return new object[] { "din-softmax-2layers", new TargetAttentionPooling("room") { Weighting = AttentionWeighting.Softmax, HiddenLayers = new[] { 16, 8 } }, new[] { 1 } };
            yield return new object[] { "dual-set-query-sum", new TargetAttentionPooling("onsale") { Weighting = AttentionWeighting.Sum }, new[] { 5 } };
            yield return new object[] { "dual-set-query", new TargetAttentionPooling("onsale"), new[] { 5 } };
            yield return new object[] { "din-intensity", new TargetAttentionPooling("room") { IncludeIntensity = true }, new[] { 1 } };
            yield return new object[] { "din-softmax-intensity", new TargetAttentionPooling("room") { Weighting = AttentionWeighting.Softmax, IncludeIntensity = true }, new[] { 1 } };
            yield return new object[] { "dual-set-query-sum-intensity", new TargetAttentionPooling("onsale") { Weighting = AttentionWeighting.Sum, IncludeIntensity = true }, new[] { 5 } };
            yield return new object[] { "dual-set-query-match-intensity", new TargetAttentionPooling("onsale") { MatchDetectors = true, IncludeIntensity = true }, new[] { 5 } };
            yield return new object[] { "din-lr-scale", new TargetAttentionPooling("room") { LearningRateScale = 0.1f }, new[] { 1 } };
            yield return new object[] { "dual-set-query-lr-scale-intensity", new TargetAttentionPooling("onsale") { LearningRateScale = 0.1f, IncludeIntensity = true }, new[] { 5 } };
            yield return new object[] { "dual-set-query-penalty-softmax", new TargetAttentionPooling("onsale") { EqualWeightPenalty = 1f, Weighting = AttentionWeighting.Softmax }, new[] { 5 } };
            yield return new object[] { "din-match-raw-mass", new TargetAttentionPooling("room") { MatchDetectors = true, IncludeIntensity = true, IntensityBatchNorm = false }, new[] { 1 } };
            yield return new object[] { "transformer-summary", new TransformerPooling("core", "onsale") { Layers = 2, Heads = 4 }, new[] { 3, 5 } };
            yield return new object[] { "transformer-1layer-2heads", new TransformerPooling("core") { Layers = 1, Heads = 2 }, new[] { 4 } };
            yield return new object[] { "transformer-target", new TransformerPooling("core", "onsale") { Output = TransformerOutput.TargetAttention, TargetFeatureName = "room" }, new[] { 3, 5, 1 } };
            // the diagnosis bench's experimental knobs: the export must follow the attention temperature
            yield return new object[] { "transformer-temperature-3", new TransformerPooling("core", "onsale") { Temperature = 3f, SimilarityInit = true, ZeroBiasInit = true, TypeInitStd = 0.2 }, new[] { 3, 5 } };
        }

        private static SequencePoolingModule Create(SequencePooling p, int[] q)
        {
            torch.manual_seed(3);
            var m = p.CreateModule(new SequencePoolingContext("UserItemSeq", D, L, q.Select(_ => D).ToArray(), q));
            // move every parameter off its init (biases start at 0, layer norms at 1) so the check sees all of them
            using (no_grad())
                foreach (var w in m.parameters())
                    w.add_(randn_like(w) * 0.3f);
            return m;
        }

        [Theory]
        [MemberData(nameof(Poolings))]
        public void OnnxExportEqualsTorchSharpForward(string name, SequencePooling pooling, int[] queryLengths)
        {
            using var scope = NewDisposeScope();
            var module = Create(pooling, queryLengths);
            var batch = Batch(11, B, queryLengths);
            double worst = PoolingAgreement.Check(name, module, batch, tolerance: 1e-5);
            using (no_grad())
            {
                var y = module.forward(batch);
                Assert.Equal(new long[] { B, pooling.GetOutputDimension(D) }, y.shape);
                Assert.True(y.isfinite().all().item<bool>(), $"{name}: non-finite output");
                // not a constant: rows differ
                Assert.True((y[0] - y[3]).abs().max().item<float>() > 1e-3, $"{name}: rows 0 and 3 pool to the same vector");
            }
            Assert.True(worst <= 1e-5, $"{name}: {worst}");
        }

        [Theory]
        [MemberData(nameof(Poolings))]
        public void OneRowSequence_BroadcastsAgainstTheCandidates(string name, SequencePooling pooling, int[] queryLengths)
        {
            if (queryLengths.Length == 0)
                return;   // without queries the caller broadcasts the pooled row
            using var scope = NewDisposeScope();
            var module = Create(pooling, queryLengths);
            var full = Batch(5, B, queryLengths, sameSequenceForAll: true);
            var shared = new SequencePoolingBatch(full.Embedded.narrow(0, 0, 1), full.Mask.narrow(0, 0, 1), full.Queries, full.QueryMasks);
            using (no_grad())
            {
                var a = module.forward(full);
                var b = module.forward(shared);
                Assert.Equal(a.shape, b.shape);
                Assert.True((a - b).abs().max().item<float>() < 1e-5, $"{name}: one-row sequence differs from the repeated one");
            }
            PoolingAgreement.Check(name, module, shared, tolerance: 1e-5);
        }

        /// <summary>The request scorer pads a request's rows on the left to one length: every built-in pooling must give the same
        /// result whatever padding (mask 0, any embedding) stands before the ids.</summary>
        [Theory]
        [MemberData(nameof(Poolings))]
        public void LeftPadding_ChangesNothing(string name, SequencePooling pooling, int[] queryLengths)
        {
            using var scope = NewDisposeScope();
            var module = Create(pooling, queryLengths);
            var batch = Batch(8, B, queryLengths);
            (Tensor, Tensor) Pad(Tensor e, Tensor m)
            {
                var extra = randn(e.shape[0], 3, D);
                return (cat(new[] { extra, e }, 1), cat(new[] { zeros(m.shape[0], 3), m }, 1));
            }
            var (pe, pm) = Pad(batch.Embedded, batch.Mask);
            // sequence queries are padded too; a categorical query (one id) never is
            var padded = queryLengths.Select((q, i) => q > 1 ? Pad(batch.Queries[i], batch.QueryMasks[i]) : (batch.Queries[i], batch.QueryMasks[i])).ToArray();
            var other = new SequencePoolingBatch(pe, pm, padded.Select(p => p.Item1).ToArray(), padded.Select(p => p.Item2).ToArray());
            using (no_grad())
            {
                var a = module.forward(batch);
                var b = module.forward(other);
                Assert.True((a - b).abs().max().item<float>() < 1e-5, $"{name}: left padding changed the output by {(a - b).abs().max().item<float>()}");
            }
            PoolingAgreement.Check(name, module, other, tolerance: 1e-5);
        }

        [Fact]
        public void Din_MasksPadding_AndAnEmptyHistoryPoolsToZero()
        {
            using var scope = NewDisposeScope();
            var module = Create(new TargetAttentionPooling("room"), new[] { 1 });
            var batch = Batch(2, B, new[] { 1 });
            using (no_grad())
            {
                // padding never matters: change the padded steps' embeddings, the output stays
                var changed = batch.Embedded + (1 - batch.Mask).unsqueeze(2) * 5f;
                var a = module.forward(batch);
                var b = module.forward(new SequencePoolingBatch(changed, batch.Mask, batch.Queries, batch.QueryMasks));
                Assert.True((a - b).abs().max().item<float>() < 1e-5);
                // the empty sequence pools to zeros; DIN's sum is not a convex combination: doubling every key's embedding
                // changes the output by more than a factor of 2 somewhere (weights depend on the keys too)
                Assert.True(a[1].abs().max().item<float>() == 0f);
            }
        }

        /// <summary>Under the request scorer a set query's padded products are skipped (the export gathers the real ones for a
        /// shared sequence) and a wide request runs in chunks of queries: a request where only some rows, or no row at all, has a
        /// product on sale, and a 60-candidate request, still agree to 1e-5, and a row without products pools to zeros.</summary>
        [Theory]
        [InlineData(AttentionWeighting.Mean)]
        [InlineData(AttentionWeighting.Softmax)]
        [InlineData(AttentionWeighting.Sum)]
        public void SetQuery_WithPaddedOrNoProducts_AgreesOnASharedSequence(AttentionWeighting weighting)
        {
            using var scope = NewDisposeScope();
            var module = Create(new TargetAttentionPooling("onsale") { Weighting = weighting }, new[] { 5 });
            var (some, none) = AgreesOnPaddedAndChunkedRequests(module);
            var (values, shape) = PoolingAgreement.RunExport(module, none);
            Assert.Equal(new long[] { B, D }, shape);
            Assert.All(values, v => Assert.Equal(0f, v));
            using (no_grad())
            {
                var y = module.forward(some);
                Assert.True(y[2].abs().max().item<float>() == 0f, "a row without products pools to zeros");
                Assert.True(y[0].abs().max().item<float>() > 1e-3);
            }
        }

        /// <summary>The same skipped padded products and chunks with the intensity appended (its per-query mass is scattered
        /// back like the pooled values) and the unit's inputs normalised: a request where some or no rows have products, and a
        /// 60-candidate request in two chunks, shared and one row per candidate, agree to 1e-5.</summary>
        [Theory]
        [InlineData(AttentionWeighting.Mean, false)]
        [InlineData(AttentionWeighting.Softmax, true)]
        [InlineData(AttentionWeighting.Sum, true)]
        public void SetQuery_WithIntensity_AgreesOnPaddedAndChunkedRequests(AttentionWeighting weighting, bool matchDetectors)
        {
            using var scope = NewDisposeScope();
            var module = Create(new TargetAttentionPooling("onsale") { Weighting = weighting, IncludeIntensity = true, MatchDetectors = matchDetectors }, new[] { 5 });
            AgreesOnPaddedAndChunkedRequests(module);
        }

        /// <summary>Checks a set-query module (5 products per row) against its export to 1e-5 on one shared sequence: a request
        /// where some rows have products on sale ("some": row 0 has 2 of 5) and one where none has ("none"), and a request of
        /// 60 candidates (~240 real products, computed in two chunks of queries), shared and one row per candidate. Returns the
        /// "some" and "none" requests.</summary>
        private static (SequencePoolingBatch Some, SequencePoolingBatch None) AgreesOnPaddedAndChunkedRequests(SequencePoolingModule module)
        {
            var full = Batch(9, B, new[] { 5 }, sameSequenceForAll: true);
            var qm = full.QueryMasks[0].clone();
            qm[0] = tensor(new[] { 0f, 0f, 1f, 0f, 1f });
            var some = new SequencePoolingBatch(full.Embedded.narrow(0, 0, 1), full.Mask.narrow(0, 0, 1), full.Queries, new[] { qm });
            var none = new SequencePoolingBatch(some.Embedded, some.Mask, full.Queries, new[] { zeros_like(qm) });
            Assert.True(PoolingAgreement.Check("some", module, some, tolerance: 1e-5) <= 1e-5);
            Assert.True(PoolingAgreement.Check("none", module, none, tolerance: 1e-5) <= 1e-5);
            var wide = Batch(4, 60, new[] { 5 }, sameSequenceForAll: true);
            Assert.True(PoolingAgreement.Check("wide", module, new SequencePoolingBatch(wide.Embedded.narrow(0, 0, 1), wide.Mask.narrow(0, 0, 1), wide.Queries, wide.QueryMasks), tolerance: 1e-5) <= 1e-5);
            Assert.True(PoolingAgreement.Check("wide, one row per candidate", module, wide, tolerance: 1e-5) <= 1e-5);
            return (some, none);
        }

        /// <summary>The activation unit starts as an equal-weight pooling: before training, Mean and Softmax pool exactly like
        /// mean pooling and Sum like a sum over the present steps, whatever the query; after the weights move, the query matters.</summary>
        [Theory]
        [InlineData(AttentionWeighting.Mean)]
        [InlineData(AttentionWeighting.Softmax)]
        [InlineData(AttentionWeighting.Sum)]
        public void Din_StartsAsEqualWeightPooling_AndLeavesItWhenTrained(AttentionWeighting weighting)
        {
            using var scope = NewDisposeScope();
            torch.manual_seed(5);
            var module = new TargetAttentionPooling("room") { Weighting = weighting }.CreateModule(new SequencePoolingContext("UserItemSeq", D, L, new[] { D }, new[] { 1 }));
            var mean = new MeanSequencePooling().CreateModule(new SequencePoolingContext("UserItemSeq", D, L));
            var batch = Batch(4, B, new[] { 1 });
            using (no_grad())
            {
                var expected = mean.forward(batch);
                if (weighting == AttentionWeighting.Sum)
                    expected = expected * batch.Mask.sum(1, keepdim: true);
                var a = module.forward(batch);
                Assert.True((a - expected).abs().max().item<float>() < 1e-5, $"{weighting}: the untrained unit does not pool with equal weights");
                foreach (var w in module.parameters())
                    w.add_(randn_like(w) * 0.3f);
                var b = module.forward(batch);
                Assert.True((b - expected).abs().max().item<float>() > 1e-2, $"{weighting}: moved weights left the pooling unchanged");
            }
            PoolingAgreement.Check(weighting.ToString(), module, batch, tolerance: 1e-5);
        }

        /// <summary><see cref="TargetAttentionPooling.LearningRateScale"/>: the unit still starts as mean pooling, and the same
        /// Adam steps on a target it can fit (the pooled vector regressed on a query-dependent target) move its attention weights
        /// away from equal weights several times less at 0.1 than at 1 — but not zero: it still learns. The deviation is measured
        /// on the pooled vectors against mean pooling times the unit's output bias (the scale, which is not slowed).</summary>
        [Fact]
        public void LearningRateScale_StartsAsMeanPooling_AndMovesTheWeightsSlower()
        {
            double Deviation(float scale, bool train)
            {
                using var scope = NewDisposeScope();
                torch.manual_seed(11);
                var g = new Generator(23);
                const int ids = 24, rows = 128, len = 8;
                var table = nn.Embedding(ids, D);
                using (no_grad())
                    nn.init.normal_(table.weight!, 0, 0.05);   // the library's initial embedding scale
                var module = new TargetAttentionPooling("room") { LearningRateScale = scale }.CreateModule(new SequencePoolingContext("UserItemSeq", D, len, new[] { D }, new[] { 1 }));
                var mean = new MeanSequencePooling().CreateModule(new SequencePoolingContext("UserItemSeq", D, len));
                var head = nn.Linear(D, 1);
                var opt = optim.Adam(module.parameters().Concat(head.parameters()), lr: 2e-3);
                SequencePoolingBatch Draw(out Tensor y)
                {
                    var kg = randint(ids, new long[] { rows, len }, generator: g);
                    var qg = randint(ids, new long[] { rows, 1 }, generator: g);
                    // the target: the first embedding coordinate of the history steps whose id shares the query's parity
                    var same = ((kg % 2) == (qg % 2)).to_type(ScalarType.Float32);
                    using (no_grad())
                        y = (table.forward(kg).select(2, 0) * same).sum(1, keepdim: true) / same.sum(1, keepdim: true).clamp_min(1f);
                    return new SequencePoolingBatch(table.forward(kg).detach(), ones(rows, len), new[] { table.forward(qg).detach() }, new[] { ones(rows, 1) });
                }
                for (int step = 0; train && step < 200; step++)
                {
                    using var inner = NewDisposeScope();
                    var b = Draw(out var y);
                    var loss = nn.functional.mse_loss(head.forward(module.forward(b)), y);
                    opt.zero_grad();
                    loss.backward();
                    opt.step();
                }
                using (no_grad())
                {
                    var b = Draw(out _);
                    // the output bias (not scaled) only rescales the pooled vector: what the query changes is measured
                    var bias = module.named_parameters().Single(p => p.name == "output.bias").parameter;
                    return (module.forward(b) - mean.forward(b) * bias).abs().mean().item<float>();
                }
            }
            Assert.True(Deviation(0.1f, train: false) < 1e-6, "the scaled unit does not start as mean pooling");
            double full = Deviation(1f, train: true), slow = Deviation(0.1f, train: true);
            Assert.True(slow < 0.5 * full, $"deviation from mean pooling after training: scale 0.1 {slow:G4}, scale 1 {full:G4}");
            Assert.True(slow > 1e-4 * full, $"the scaled unit did not learn: {slow:G4} (scale 1: {full:G4})");
        }

        /// <summary>With <see cref="TargetAttentionPooling.IncludeIntensity"/> the untrained unit still pools like mean pooling and
        /// its extra dimension is 1 (the mean of a ≡ 1) for a history with present steps, 0 for an empty one.</summary>
        [Fact]
        public void Intensity_StartsAtOne_BesideTheMeanPooledVector()
        {
            using var scope = NewDisposeScope();
            var module = new TargetAttentionPooling("onsale") { IncludeIntensity = true }.CreateModule(new SequencePoolingContext("UserItemSeq", D, L, new[] { D }, new[] { 5 }));
            var mean = new MeanSequencePooling().CreateModule(new SequencePoolingContext("UserItemSeq", D, L));
            var batch = Batch(4, B, new[] { 5 });
            module.eval();   // the intensity's batch norm with its initial running statistics (mean 0, variance 1)
            using (no_grad())
            {
                var a = module.forward(batch);
                Assert.Equal(new long[] { B, D + 1 }, a.shape);
                // a row whose query set is empty (row 2) pools to zeros
                var anyQuery = (batch.QueryMasks[0].sum(1, keepdim: true) > 0).to_type(ScalarType.Float32);
                Assert.True((a.narrow(1, 0, D) - mean.forward(batch) * anyQuery).abs().max().item<float>() < 1e-5);
                var intensity = a.select(1, D);
                var expected = (batch.Mask.sum(1) > 0).to_type(ScalarType.Float32) * anyQuery.squeeze(1);
                Assert.True((intensity - expected).abs().max().item<float>() < 1e-5, "the untrained intensity is not 1 (0 for the empty history)");
            }
        }

        /// <summary>What the intensity and the match detectors are for. The target is the share of history steps whose id equals
        /// the query's id; the ids' embeddings are learned from the library's initial scale (N(0, 0.05)), the read-out is linear,
        /// Adam at the trainer's default rate 2e-3. A linear read-out of the weighted average of the keys cannot compute a product
        /// of query and keys; the plain unit with the intensity barely leaves its start in that many steps (its inputs are near
        /// zero); with <see cref="TargetAttentionPooling.MatchDetectors"/> it learns the match. Same data, same steps.</summary>
        [Fact]
        public void IntensityWithMatchDetectors_LearnsTheMatchShare_WhereThePlainUnitDoesNot()
        {
            double Fit(bool intensity, bool match)
            {
                using var scope = NewDisposeScope();
                torch.manual_seed(7);
                var g = new Generator(17);
                const int ids = 24, rows = 256, len = 10;
                var table = nn.Embedding(ids, D);
                using (no_grad())
                    nn.init.normal_(table.weight!, 0, 0.05);
                var module = new TargetAttentionPooling("room") { IncludeIntensity = intensity, MatchDetectors = match }.CreateModule(new SequencePoolingContext("UserItemSeq", D, len, new[] { D }, new[] { 1 }));
                var head = nn.Linear(D + (intensity ? 1 : 0), 1);
                var opt = optim.Adam(module.parameters().Concat(head.parameters()).Concat(table.parameters()), lr: 2e-3);
                double total = 0;
                const int steps = 300, last = 50;
                for (int step = 0; step < steps; step++)
                {
                    using var inner = NewDisposeScope();
                    var kg = randint(ids, new long[] { rows, len }, generator: g);
                    var qg = randint(ids, new long[] { rows, 1 }, generator: g);
                    // a query id present in the history half of the time, so the share varies
                    var plant = rand(new long[] { rows }, generator: g) < 0.5f;
                    kg[TensorIndex.Colon, 0] = where(plant, qg.squeeze(1), kg[TensorIndex.Colon, 0]);
                    var y = (kg == qg).to_type(ScalarType.Float32).mean(new long[] { 1 }, keepdim: true) * 10f;   // matches per history
                    var pooled = module.forward(new SequencePoolingBatch(table.forward(kg), ones(rows, len), new[] { table.forward(qg) }, new[] { ones(rows, 1) }));
                    var loss = nn.functional.mse_loss(head.forward(pooled), y);
                    opt.zero_grad();
                    loss.backward();
                    opt.step();
                    if (step >= steps - last)
                        total += loss.item<float>() / last;
                }
                return total;
            }
            double plain = Fit(true, false), matched = Fit(true, true), none = Fit(false, true);
            Assert.True(matched < 0.5 * plain, $"MSE with match detectors {matched:F4}, plain unit {plain:F4}, without the intensity {none:F4}");
            Assert.True(matched < 0.5 * none, $"MSE with match detectors {matched:F4}, plain unit {plain:F4}, without the intensity {none:F4}");
        }

        [Fact]
        public void WrongExport_IsCaught_NamingTheFeatureAndTheOutput()
        {
            using var scope = NewDisposeScope();
            var module = new OffByOneExport();
            var batch = Batch(1, B, Array.Empty<int>());
            var ex = Assert.Throws<InvalidOperationException>(() => PoolingAgreement.Check("UserItemSeq", module, batch));
            Assert.Contains("UserItemSeq", ex.Message);
            Assert.Contains("output row", ex.Message);
            Assert.Contains(nameof(OffByOneExport), ex.Message);
        }

        [Fact]
        public void Options_AreValidated_WithTheFeatureNamed()
        {
            var ctx = new SequencePoolingContext("UserItemSeq", 8, 50, new[] { 8, 8 }, new[] { 5, 8 });
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerPooling("core", "onsale") { Heads = 3 }.Validate(ctx));
            Assert.Contains("UserItemSeq", ex.Message);
            Assert.Contains("Heads", ex.Message);
            var ex2 = Assert.Throws<ArgumentException>(() => new TargetAttentionPooling("room").Validate(new SequencePoolingContext("UserLiveSeq", 8, 10, new[] { 4 })));
            Assert.Contains("room", ex2.Message);
            Assert.Contains("4", ex2.Message);
            Assert.Throws<ArgumentException>(() => new TransformerPooling("core") { Output = TransformerOutput.TargetAttention }.Validate(ctx));
            Assert.Throws<ArgumentException>(() => new TargetAttentionPooling(" "));
            var ex3 = Assert.Throws<ArgumentOutOfRangeException>(() => new TargetAttentionPooling("room") { Weighting = (AttentionWeighting)7 }.Validate(new SequencePoolingContext("UserLiveSeq", 8, 10, new[] { 8 })));
            Assert.Contains("UserLiveSeq", ex3.Message);
            var ex4 = Assert.Throws<ArgumentOutOfRangeException>(() => new TargetAttentionPooling("room") { LearningRateScale = 0f }.Validate(new SequencePoolingContext("UserLiveSeq", 8, 10, new[] { 8 })));
            Assert.Contains("LearningRateScale", ex4.Message);
            Assert.Contains("Weighting", ex3.Message);
        }

        /// <summary>A user-written pooling whose export adds 1 to the mean: the check must catch it.</summary>
        private sealed class OffByOneExport : SequencePoolingModule
        {
            public OffByOneExport() : base("off_by_one") => RegisterComponents();

            public override Tensor forward(SequencePoolingBatch b) => (b.Embedded * b.Mask.unsqueeze(2)).sum(1);

            public override string Export(SequencePoolingGraph x)
            {
                var masked = x.Op("Mul", new[] { x.Embedded, x.Op("Unsqueeze", new[] { x.Mask, x.Constant(new long[] { 2 }, new long[] { 1 }) }) });
                var s = x.Op("ReduceSum", new[] { masked, x.Constant(new long[] { 1 }, new long[] { 1 }) }, ("keepdims", 0));
                return x.Op("Add", new[] { s, x.Constant(new[] { 1f }, new long[] { 1 }) });
            }
        }
    }
}
