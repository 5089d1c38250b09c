using System;
using System.Collections.Generic;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The dual learning algorithm (Ai et al., "Unbiased Learning to Rank with Unbiased Propensity Estimation", SIGIR 2018):
    /// a ranker f(x) and a propensity model g(position) (one logit per position bucket) trained together on clicked lists.
    /// Per list, with P_r = softmax of the ranker's scores and P_e = softmax of the position logits over the list:
    /// the ranker minimizes −Σ_clicked w_i log P_r(i), w_i = P_e(first)/P_e(i) (inverse propensity weighting), and the
    /// propensity model minimizes −Σ_clicked v_i log P_e(i), v_i = P_r(first)/P_r(i) (inverse relevance weighting), each
    /// weight computed from the other model's current values and held constant in the gradient, both clipped at M.
    /// The ranker is a multilayer perceptron (ReLU hidden layers, linear output; no hidden layer = a linear ranker) on
    /// standardized features; both are trained by Adam over mini-batches of lists. Everything runs on one thread in a
    /// seeded order: same seed and data = same weights.
    /// </summary>
    internal sealed class DualLearningAlgorithm
    {
        public sealed class Settings
        {
            public int[] Hidden = Array.Empty<int>();
            public int Epochs = 10;
            public int BatchSize = 64;
            public double LearningRate = 0.01;
            public double PropensityLearningRate = 0.05;
            public double L2 = 1e-4;
            public double MaximumWeight = 100;
            public int Seed = 1;
        }

        /// <summary>Clicked lists: the rows of list s are <c>Starts[s] .. Starts[s+1]</c> of <c>Item</c>, <c>Bucket</c>, <c>Click</c>.</summary>
        public sealed class Lists
        {
            public int[] Starts = Array.Empty<int>();
            public int[] Item = Array.Empty<int>();
            public int[] Bucket = Array.Empty<int>();
            public int[] Position = Array.Empty<int>();
            public bool[] Click = Array.Empty<bool>();
            public int Count => Starts.Length - 1;
        }

        private readonly int _dim;
        private readonly int[] _widths;        // input, hidden..., 1
        private readonly float[][] _w;         // layer l: widths[l+1] x widths[l], row-major (out by in)
        private readonly float[][] _b;
        private readonly double[] _g;          // position logits
        private readonly Settings _s;

        public DualLearningAlgorithm(int dim, int buckets, Settings s)
        {
            _dim = dim;
            _s = s;
            _widths = new int[s.Hidden.Length + 2];
            _widths[0] = dim;
            for (int i = 0; i < s.Hidden.Length; i++)
                _widths[i + 1] = s.Hidden[i];
            _widths[^1] = 1;
            var rng = new Random(s.Seed);
            int layers = _widths.Length - 1;
            _w = new float[layers][];
            _b = new float[layers][];
            for (int l = 0; l < layers; l++)
            {
                int fanIn = _widths[l], fanOut = _widths[l + 1];
                _w[l] = new float[fanIn * fanOut];
                _b[l] = new float[fanOut];
                // He-uniform for ReLU layers, small uniform for the output layer
                double a = l < layers - 1 ? Math.Sqrt(6.0 / fanIn) : Math.Sqrt(1.0 / fanIn);
                for (int i = 0; i < _w[l].Length; i++)
                    _w[l][i] = (float)((rng.NextDouble() * 2 - 1) * a);
            }
            _g = new double[buckets];
        }

        public int[] Widths => _widths;
        public float[][] Weights => _w;
        public float[][] Biases => _b;

        /// <summary>Propensities relative to the first bucket: exp(g_k − g_0).</summary>
        public double[] Propensities()
        {
            var p = new double[_g.Length];
            for (int k = 0; k < p.Length; k++)
                p[k] = Math.Exp(_g[k] - _g[0]);
            return p;
        }

        /// <summary>Trains; <paramref name="onEpoch"/> gets (epoch, mean ranker loss, mean propensity loss) per list.</summary>
        public void Train(float[] x, Lists data, Action<int, double, double>? onEpoch)
        {
            int layers = _w.Length;
            var adamW = new Adam[layers];
            var adamB = new Adam[layers];
            for (int l = 0; l < layers; l++)
            {
                adamW[l] = new Adam(_w[l].Length);
                adamB[l] = new Adam(_b[l].Length);
            }
            var adamG = new Adam(_g.Length);
            var gradW = new float[layers][];
            var gradB = new float[layers][];
            for (int l = 0; l < layers; l++)
            {
                gradW[l] = new float[_w[l].Length];
                gradB[l] = new float[_b[l].Length];
            }
            var gradG = new double[_g.Length];
            int maxList = 0;
            for (int s = 0; s < data.Count; s++)
                maxList = Math.Max(maxList, data.Starts[s + 1] - data.Starts[s]);
            // activations of one list: act[l] = rows x widths[l] (act[0] = the inputs)
            var act = new float[_widths.Length][];
            for (int l = 0; l < _widths.Length; l++)
                act[l] = new float[maxList * _widths[l]];
            var delta = new float[_widths.Length][];
            for (int l = 0; l < _widths.Length; l++)
                delta[l] = new float[maxList * _widths[l]];
            var order = new int[data.Count];
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            var rng = new Random(unchecked(_s.Seed * 31 + 7));
            var pr = new double[maxList];
            var pe = new double[maxList];
            double M = _s.MaximumWeight;
            // both learning rates decay linearly to 5% of their value over the run: the weights of each loss move with the
            // other model, and a constant Adam step leaves the last estimates jittering around the fixed point
            long totalSteps = (long)_s.Epochs * ((order.Length + _s.BatchSize - 1) / _s.BatchSize), step = 0;
            for (int epoch = 1; epoch <= _s.Epochs; epoch++)
            {
                rng.Shuffle(order);
                double lossR = 0, lossE = 0;
                for (int start = 0; start < order.Length; start += _s.BatchSize)
                {
                    int end = Math.Min(order.Length, start + _s.BatchSize);
                    for (int l = 0; l < layers; l++)
                    {
                        Array.Clear(gradW[l]);
                        Array.Clear(gradB[l]);
                    }
                    Array.Clear(gradG);
                    for (int oi = start; oi < end; oi++)
                    {
                        int s = order[oi];
                        int r0 = data.Starts[s], n = data.Starts[s + 1] - r0;
                        // forward
                        for (int i = 0; i < n; i++)
                            Array.Copy(x, (long)data.Item[r0 + i] * _dim, act[0], (long)i * _dim, _dim);
                        for (int l = 0; l < layers; l++)
                            Forward(l, act[l], act[l + 1], n, l < layers - 1);
                        int first = 0;
                        for (int i = 1; i < n; i++)
                            if (data.Position[r0 + i] < data.Position[r0 + first])
                                first = i;
                        double maxS = double.NegativeInfinity, maxG = double.NegativeInfinity;
                        for (int i = 0; i < n; i++)
                        {
                            maxS = Math.Max(maxS, act[layers][i]);
                            maxG = Math.Max(maxG, _g[data.Bucket[r0 + i]]);
                        }
                        double zs = 0, ze = 0;
                        for (int i = 0; i < n; i++)
                        {
                            pr[i] = Math.Exp(act[layers][i] - maxS);
                            pe[i] = Math.Exp(_g[data.Bucket[r0 + i]] - maxG);
                            zs += pr[i];
                            ze += pe[i];
                        }
                        for (int i = 0; i < n; i++)
                        {
                            pr[i] /= zs;
                            pe[i] /= ze;
                        }
                        double W = 0, V = 0;
                        var dOut = delta[layers];
                        for (int i = 0; i < n; i++)
                            dOut[i] = 0;
                        for (int i = 0; i < n; i++)
                        {
                            if (!data.Click[r0 + i])
                                continue;
                            double w = Math.Min(Math.Exp(_g[data.Bucket[r0 + first]] - _g[data.Bucket[r0 + i]]), M);
                            double v = Math.Min(Math.Exp(act[layers][first] - act[layers][i]), M);
                            W += w;
                            V += v;
                            lossR -= w * Math.Log(Math.Max(pr[i], 1e-300));
                            lossE -= v * Math.Log(Math.Max(pe[i], 1e-300));
                            dOut[i] -= (float)w;
                            gradG[data.Bucket[r0 + i]] -= v;
                        }
                        for (int i = 0; i < n; i++)
                        {
                            dOut[i] += (float)(W * pr[i]);
                            gradG[data.Bucket[r0 + i]] += V * pe[i];
                        }
                        // backward through the layers
                        for (int l = layers - 1; l >= 0; l--)
                            Backward(l, act[l], act[l + 1], delta[l + 1], delta[l], gradW[l], gradB[l], n, l > 0);
                    }
                    float scale = 1f / (end - start);
                    double decay = 1 - 0.95 * step++ / Math.Max(1, totalSteps - 1);
                    for (int l = 0; l < layers; l++)
                    {
                        var gw = gradW[l];
                        var w = _w[l];
                        for (int i = 0; i < gw.Length; i++)
                            gw[i] = gw[i] * scale + (float)_s.L2 * w[i];
                        for (int i = 0; i < gradB[l].Length; i++)
                            gradB[l][i] *= scale;
                        adamW[l].Step(w, gw, _s.LearningRate * decay);
                        adamB[l].Step(_b[l], gradB[l], _s.LearningRate * decay);
                    }
                    for (int k = 0; k < gradG.Length; k++)
                        gradG[k] *= scale;
                    adamG.Step(_g, gradG, _s.PropensityLearningRate * decay);
                }
                lossR /= Math.Max(1, data.Count);
                lossE /= Math.Max(1, data.Count);
                if (!double.IsFinite(lossR) || !double.IsFinite(lossE) || !AllFinite())
                    throw new InvalidOperationException(
                        $"Dual learning diverged in epoch {epoch} (ranker loss {lossR}, propensity loss {lossE}): lower LearningRate or PropensityLearningRate, or MaximumWeight.");
                onEpoch?.Invoke(epoch, lossR, lossE);
            }
        }

        private bool AllFinite()
        {
            foreach (var v in _g)
                if (!double.IsFinite(v))
                    return false;
            foreach (var w in _w)
                foreach (var v in w)
                    if (!float.IsFinite(v))
                        return false;
            return true;
        }

        /// <summary>Scores rows of standardized features (rows x dim).</summary>
        public float[] Score(float[] x, int rows)
        {
            int layers = _w.Length;
            var a = x;
            for (int l = 0; l < layers; l++)
            {
                var o = new float[rows * _widths[l + 1]];
                Forward(l, a, o, rows, l < layers - 1);
                a = o;
            }
            return a;
        }

        private void Forward(int l, float[] input, float[] output, int rows, bool relu)
        {
            int nIn = _widths[l], nOut = _widths[l + 1];
            var w = _w[l];
            var b = _b[l];
            for (int r = 0; r < rows; r++)
            {
                var xin = new ReadOnlySpan<float>(input, r * nIn, nIn);
                for (int o = 0; o < nOut; o++)
                {
                    float sum = b[o] + Dot(xin, new ReadOnlySpan<float>(w, o * nIn, nIn));
                    output[r * nOut + o] = relu && sum < 0 ? 0 : sum;
                }
            }
        }

        private void Backward(int l, float[] input, float[] output, float[] dOutput, float[] dInput, float[] gw, float[] gb, int rows, bool propagate)
        {
            int nIn = _widths[l], nOut = _widths[l + 1];
            var w = _w[l];
            bool relu = l < _w.Length - 1;
            if (propagate)
                Array.Clear(dInput, 0, rows * nIn);
            for (int r = 0; r < rows; r++)
            {
                for (int o = 0; o < nOut; o++)
                {
                    float d = dOutput[r * nOut + o];
                    if (relu && output[r * nOut + o] <= 0)
                        d = 0;
                    if (d == 0)
                        continue;
                    gb[o] += d;
                    var gRow = new Span<float>(gw, o * nIn, nIn);
                    var xin = new ReadOnlySpan<float>(input, r * nIn, nIn);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(xin, d, gRow, gRow);
                    if (propagate)
                    {
                        var wRow = new ReadOnlySpan<float>(w, o * nIn, nIn);
                        var dIn = new Span<float>(dInput, r * nIn, nIn);
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(wRow, d, dIn, dIn);
                    }
                }
            }
        }

        private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
            => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

        /// <summary>Adam (Kingma and Ba), β = (0.9, 0.999), ε = 1e-8, bias-corrected.</summary>
        private sealed class Adam
        {
            private readonly double[] _m, _v;
            private int _t;

            public Adam(int n)
            {
                _m = new double[n];
                _v = new double[n];
            }

            public void Step(float[] p, float[] g, double lr)
            {
                _t++;
                double c1 = 1 - Math.Pow(0.9, _t), c2 = 1 - Math.Pow(0.999, _t);
                for (int i = 0; i < p.Length; i++)
                {
                    _m[i] = 0.9 * _m[i] + 0.1 * g[i];
                    _v[i] = 0.999 * _v[i] + 0.001 * g[i] * g[i];
                    p[i] -= (float)(lr * (_m[i] / c1) / (Math.Sqrt(_v[i] / c2) + 1e-8));
                }
            }

            public void Step(double[] p, double[] g, double lr)
            {
                _t++;
                double c1 = 1 - Math.Pow(0.9, _t), c2 = 1 - Math.Pow(0.999, _t);
                for (int i = 0; i < p.Length; i++)
                {
                    _m[i] = 0.9 * _m[i] + 0.1 * g[i];
                    _v[i] = 0.999 * _v[i] + 0.001 * g[i] * g[i];
                    p[i] -= lr * (_m[i] / c1) / (Math.Sqrt(_v[i] / c2) + 1e-8);
                }
            }
        }
    }
}
