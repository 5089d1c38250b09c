using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using MLNetRank.Common;
using MLNetRank.Evaluation;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>Trains <see cref="EnsembleNetwork"/> with the BCE or HarmonRank loss on <see cref="EnsembleData"/>.</summary>
    internal sealed class EnsembleTrainer
    {
        private readonly ObjectiveEnsembleEstimator.Options _o;
        private readonly int _seed;

        public EnsembleTrainer(ObjectiveEnsembleEstimator.Options o, int seed)
        {
            _o = o;
            _seed = seed;
        }

        public float[] Mean { get; private set; } = Array.Empty<float>();
        public float[] Sigma { get; private set; } = Array.Empty<float>();
        public float[] LabelCorrelations { get; private set; } = Array.Empty<float>();
        public List<ObjectiveEnsembleProgress> History { get; } = new();

        /// <summary>Per-objective mean and standard deviation of the logits (σ of a constant score: 1).</summary>
        internal static (float[] mean, float[] sigma) Standardization(EnsembleData d)
        {
            int K = d.K, n = d.Rows;
            var mean = new float[K];
            var sigma = new float[K];
            for (int k = 0; k < K; k++)
            {
                double s = 0, s2 = 0;
                for (int r = 0; r < n; r++)
                    s += d.Logits[r * K + k];
                double m = s / n;
                for (int r = 0; r < n; r++)
                {
                    double x = d.Logits[r * K + k] - m;
                    s2 += x * x;
                }
                double sd = Math.Sqrt(s2 / n);
                mean[k] = (float)m;
                sigma[k] = sd > 1e-6 ? (float)sd : 1f;
            }
            return (mean, sigma);
        }

        /// <summary>The labels' correlation matrix (φ coefficients), K x K row-major, 1 on the diagonal.</summary>
        internal static float[] Correlations(EnsembleData d)
        {
            int K = d.K, n = d.Rows;
            var p = new double[K];
            var both = new double[K * K];
            for (int r = 0; r < n; r++)
                for (int i = 0; i < K; i++)
                {
                    if (d.Labels[r * K + i] == 0)
                        continue;
                    p[i]++;
                    for (int j = 0; j < K; j++)
                        both[i * K + j] += d.Labels[r * K + j];
                }
            var c = new float[K * K];
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                {
                    double pi = p[i] / n, pj = p[j] / n, pij = both[i * K + j] / n;
                    double den = Math.Sqrt(pi * (1 - pi) * pj * (1 - pj));
                    c[i * K + j] = i == j ? 1f : den > 0 ? (float)((pij - pi * pj) / den) : 0f;
                }
            return c;
        }

        /// <summary>
        /// Soft AUC per objective of <paramref name="s"/> [B] against labels <paramref name="y"/> [B, K]: the rank-sum
        /// <c>AUC_k = Σ_i y_ik r̃_ik / (n⁺_k n⁻_k)</c> with the soft rank of a positive among the negatives
        /// <c>r̃_ik = Σ_j (1 − y_jk) σ((s_i − s_j) / (τ·sd(s)))</c> (pairwise sigmoid, restricted to pairs of one group when
        /// <paramref name="sameGroup"/> is given). Returns the AUCs [K] and which objectives had both classes in the batch.
        /// Cost: one B x B sigmoid and a [B, B] x [B, K] product.
        /// </summary>
        internal static (Tensor auc, Tensor valid) SoftAuc(Tensor s, Tensor y, Tensor? sameGroup, float tau)
        {
            var sd = s.std().detach().clamp_min(Scalars.Of(1e-6f));
            var p = ((s.unsqueeze(1) - s.unsqueeze(0)) / sd.mul(Scalars.Of(tau))).sigmoid();   // [B, B]: P(s_i > s_j)
            var neg = y.RSub(Scalars.Of(1f));
            Tensor num, den;
            if (sameGroup is null)
            {
                num = (y * p.matmul(neg)).sum(new long[] { 0 });
                den = y.sum(new long[] { 0 }) * neg.sum(new long[] { 0 });
            }
            else
            {
                num = (y * (p * sameGroup).matmul(neg)).sum(new long[] { 0 });
                den = (y * sameGroup.matmul(neg)).sum(new long[] { 0 });
            }
            var valid = den.gt(Scalars.Of(0));
            return (num / den.clamp_min(Scalars.Of(1f)), valid);
        }

        public EnsembleNetwork Train(EnsembleData d, RankerLog log)
        {
            var o = _o;
            int K = d.K, n = d.Rows;
            (Mean, Sigma) = Standardization(d);
            LabelCorrelations = Correlations(d);
            if (o.NumberOfThreads > 0)
                torch.set_num_threads(o.NumberOfThreads);
            var z = new float[n * K];
            for (int r = 0; r < n; r++)
                for (int k = 0; k < K; k++)
                    z[r * K + k] = (d.Logits[r * K + k] - Mean[k]) * (1f / Sigma[k]);
            var net = new EnsembleNetwork(K, o.TwoStep, o.EncodingDimension, LabelCorrelations, _seed);
            try
            {
                // one TorchSharp training at a time per process (TorchGate says why)
                TorchGate.Exclusive(() => { TrainLoop(net, d, z, log); return 0; });
                return net;
            }
            catch
            {
                net.Dispose();
                throw;
            }
        }

        private void TrainLoop(EnsembleNetwork net, EnsembleData d, float[] zHost, RankerLog log)
        {
            var o = _o;
            int K = d.K, n = d.Rows;
            bool rank = o.Method == ObjectiveEnsembleMethod.HarmonRank;
            using var zAll = tensor(zHost, new long[] { n, K });
            using var yAll = tensor(d.Labels, new long[] { n, K });
            using var lambda = tensor(o.Objectives.Select(x => x.Weight).ToArray());
            using var groupsAll = d.Groups is null ? null : tensor(d.Groups.Select(g => (long)g).ToArray());
            using var optimizer = new EnsembleAdam(net.parameters(), o.LearningRate, o.L2Regularization);
            var rng = new Random(_seed);
            // batches: shuffled rows, or shuffled whole groups (rows of a group together) when a group column is given
            int[][] groupRows = d.Groups is null ? Array.Empty<int[]>() : GroupRows(d);
            net.train();
            for (int epoch = 1; epoch <= o.Epochs; epoch++)
            {
                var sw = Stopwatch.StartNew();
                var batches = Batches(n, groupRows, rng);
                double lossSum = 0;
                int lossCount = 0;
                foreach (var rows in batches)
                {
                    o.CancellationToken.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    var idx = tensor(rows.Select(r => (long)r).ToArray());
                    var zb = zAll.index_select(0, idx);
                    var yb = yAll.index_select(0, idx);
                    Tensor? same = null;
                    if (groupsAll is not null)
                    {
                        var gb = groupsAll.index_select(0, idx);
                        same = gb.unsqueeze(1).eq(gb.unsqueeze(0)).to_type(ScalarType.Float32);
                    }
                    var (score, sub) = net.Forward(zb);
                    Tensor loss;
                    if (rank)
                    {
                        loss = RankLoss(score, yb, same, lambda, o.Temperature);
                        if (sub is not null)
                            for (int k = 0; k < K; k++)
                            {
                                var (auc, valid) = SoftAuc(sub[.., k], yb[.., k..(k + 1)], same, o.Temperature);
                                loss = loss - (auc * valid.to_type(ScalarType.Float32)).sum().mul(Scalars.Of(o.SubScoreLossWeight * o.Objectives[k].Weight));
                            }
                    }
                    else
                    {
                        var bce = nn.functional.binary_cross_entropy_with_logits(net.Calibrated(score), yb, reduction: nn.Reduction.None).mean(new long[] { 0 });
                        loss = (bce * lambda).sum();
                        if (sub is not null)
                            loss = loss.Plus((nn.functional.binary_cross_entropy_with_logits(sub, yb, reduction: nn.Reduction.None).mean(new long[] { 0 }) * lambda).sum().mul(Scalars.Of(o.SubScoreLossWeight)));
                    }
                    float value = loss.item<float>();
                    if (!float.IsFinite(value))
                        throw new InvalidOperationException($"The ensemble's training loss became non-finite ({value}) in epoch {epoch}; lower LearningRate (now {o.LearningRate}) or raise Temperature (now {o.Temperature}).");
                    optimizer.ZeroGrad();
                    loss.backward();
                    optimizer.Step();
                    lossSum += value;
                    lossCount++;
                }
                double aucSum = AucSum(net, zAll, d);
                var progress = new ObjectiveEnsembleProgress
                {
                    Stage = "epoch",
                    Fraction = (double)epoch / o.Epochs,
                    Epoch = epoch,
                    Epochs = o.Epochs,
                    Loss = lossSum / Math.Max(1, lossCount),
                    TrainingAucSum = aucSum,
                    Rows = n,
                };
                History.Add(progress);
                log.Progress(o.Progress, progress,
                    $"Epoch {epoch}/{o.Epochs}: loss {progress.Loss:0.#####}, training AUC sum {aucSum:0.####} ({n} rows, {sw.Elapsed.TotalSeconds:0.##} s).");
            }
        }

        private static Tensor RankLoss(Tensor score, Tensor y, Tensor? same, Tensor lambda, float tau)
        {
            var (auc, valid) = SoftAuc(score, y, same, tau);
            return -(auc * valid.to_type(ScalarType.Float32) * lambda).sum();
        }

        private static int[][] GroupRows(EnsembleData d)
        {
            var lists = new List<int>[d.GroupCount];
            for (int g = 0; g < lists.Length; g++)
                lists[g] = new List<int>();
            for (int r = 0; r < d.Rows; r++)
                lists[d.Groups![r]].Add(r);
            return lists.Select(l => l.ToArray()).ToArray();
        }

        private List<int[]> Batches(int n, int[][] groupRows, Random rng)
        {
            int size = _o.BatchSize;
            var batches = new List<int[]>();
            if (groupRows.Length == 0)
            {
                var perm = Enumerable.Range(0, n).ToArray();
                Shuffle(perm, rng);
                for (int i = 0; i < n; i += size)
                    batches.Add(perm.AsSpan(i, Math.Min(size, n - i)).ToArray());
                return batches;
            }
            var order = Enumerable.Range(0, groupRows.Length).ToArray();
            Shuffle(order, rng);
            var current = new List<int>(size + 64);
            foreach (int g in order)
            {
                current.AddRange(groupRows[g]);
                if (current.Count >= size)
                {
                    batches.Add(current.ToArray());
                    current.Clear();
                }
            }
            if (current.Count > 0)
                batches.Add(current.ToArray());
            return batches;
        }

        private static void Shuffle(int[] a, Random rng)
        {
            for (int i = a.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (a[i], a[j]) = (a[j], a[i]);
            }
        }

        /// <summary>Exact AUC sum of the fused score on all rows (evaluation mode, in chunks).</summary>
        internal static double AucSum(EnsembleNetwork net, Tensor zAll, EnsembleData d)
        {
            var scores = Scores(net, zAll);
            int K = d.K;
            var labels = new bool[d.Rows];
            double sum = 0;
            for (int k = 0; k < K; k++)
            {
                for (int r = 0; r < d.Rows; r++)
                    labels[r] = d.Labels[r * K + k] > 0;
                sum += RankerMetrics.Auc(scores, labels);
            }
            return sum;
        }

        internal static float[] Scores(EnsembleNetwork net, Tensor zAll)
        {
            using var _ = no_grad();
            long n = zAll.shape[0];
            var result = new float[n];
            for (long start = 0; start < n; start += 8192)
            {
                using var scope = torch.NewDisposeScope();
                long len = Math.Min(8192, n - start);
                var (score, _) = net.Forward(zAll.narrow(0, start, len));
                score.cpu().data<float>().CopyTo(result, (int)start);
            }
            return result;
        }
    }
}
