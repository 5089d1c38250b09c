using System;
using System.IO;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Adam, AdamW and Adagrad over the one flat weight buffer of <see cref="FlatParameters"/>, with PyTorch's arithmetic
    /// (the same formulas as <c>torch.optim</c>). It replaces TorchSharp's optimizers in the trainer because their
    /// <c>step</c> passes temporary <see cref="Scalar"/>s (made implicitly from doubles) to native calls without keeping
    /// them alive: a garbage collection started by another thread (the batch read-ahead allocates) can finalize such a
    /// Scalar while libtorch still reads it, which crashed training at random ("Expected false to be true" in
    /// <c>c10::Scalar::toFloat</c> under <c>addcmul_</c>). Here every Scalar is created explicitly and disposed only
    /// after the native call that reads it has returned.
    /// </summary>
    internal sealed class FlatOptimizer : IDisposable
    {
        private const double Beta1 = 0.9, Beta2 = 0.999, AdamEpsilon = 1e-8, AdagradEpsilon = 1e-10;
        private const int FormatVersion = 1;
        private readonly MultiTaskOptimizer _kind;
        private readonly Tensor _weights;
        private readonly Tensor _grad;
        private readonly double _learningRate, _weightDecay;
        private readonly Tensor _first;   // Adam(W): exp_avg; Adagrad: sum of squared gradients
        private readonly Tensor? _second; // Adam(W): exp_avg_sq
        private long _step;
        private bool _disposed;

        public FlatOptimizer(MultiTaskOptimizer kind, Tensor weights, Tensor grad, double learningRate, double weightDecay)
        {
            _kind = kind;
            _weights = weights;
            _grad = grad;
            _learningRate = learningRate;
            _weightDecay = weightDecay;
            _first = torch.zeros_like(weights).DetachFromDisposeScope();
            _second = kind == MultiTaskOptimizer.Adagrad ? null : torch.zeros_like(weights).DetachFromDisposeScope();
        }

        /// <summary>One update of every weight from the current gradients.</summary>
        public void Step()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            _step++;
            Tensor g = _grad;
            if (_kind == MultiTaskOptimizer.Adagrad)
            {
                if (_weightDecay != 0)
                    g = Add(g, _weights, _weightDecay);
                using (var one = 1.0.ToScalar())
                    _first.addcmul_(g, g, one);
                var std = _first.sqrt();
                using (var eps = AdagradEpsilon.ToScalar())
                    std.add_(eps, Scalars.One);   // add_(eps) alone would make a temporary alpha 1
                using var minusLr = (-_learningRate).ToScalar();
                _weights.addcdiv_(g, std, minusLr);
                return;
            }
            if (_kind == MultiTaskOptimizer.AdamW)
            {
                using var decay = (1 - _learningRate * _weightDecay).ToScalar();
                _weights.mul_(decay);
            }
            else if (_weightDecay != 0)
                g = Add(g, _weights, _weightDecay);
            using (var b1 = Beta1.ToScalar())
            using (var a1 = (1 - Beta1).ToScalar())
                _first.mul_(b1).add_(g, a1);
            using (var b2 = Beta2.ToScalar())
            using (var a2 = (1 - Beta2).ToScalar())
                _second!.mul_(b2).addcmul_(g, g, a2);
            double bias1 = 1 - Math.Pow(Beta1, _step), bias2 = 1 - Math.Pow(Beta2, _step);
            var denom = _second!.sqrt();
            using (var s = (1 / Math.Sqrt(bias2)).ToScalar())
                denom.mul_(s);
            using (var eps = AdamEpsilon.ToScalar())
                denom.add_(eps, Scalars.One);
            using var stepSize = (-_learningRate / bias1).ToScalar();
            _weights.addcdiv_(_first, denom, stepSize);
        }

        private static Tensor Add(Tensor a, Tensor b, double alpha)
        {
            using var s = alpha.ToScalar();
            return a.add(b, s);
        }

        /// <summary>Writes the state (kind, step, moment buffers) for a checkpoint.</summary>
        public void Save(BinaryWriter w)
        {
            w.Write(FormatVersion);
            w.Write((int)_kind);
            w.Write(_step);
            Write(w, _first);
            if (_second is not null)
                Write(w, _second);
        }

        /// <summary>Reads a state written by <see cref="Save"/> for the same optimizer and network.</summary>
        public void Load(BinaryReader r)
        {
            int version = r.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Optimizer state of format {version}; this version reads format {FormatVersion}.");
            var kind = (MultiTaskOptimizer)r.ReadInt32();
            if (kind != _kind)
                throw new InvalidDataException($"Optimizer state of {kind}; the options ask for {_kind}.");
            long step = r.ReadInt64();
            Read(r, _first);
            if (_second is not null)
                Read(r, _second);
            _step = step;
        }

        private static void Write(BinaryWriter w, Tensor t)
        {
            using var cpu = t.cpu();
            var data = cpu.data<float>().ToArray();
            w.Write(data.LongLength);
            var bytes = new byte[checked(data.Length * sizeof(float))];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            w.Write(bytes);
        }

        private static void Read(BinaryReader r, Tensor into)
        {
            long n = r.ReadInt64();
            if (n != into.numel())
                throw new InvalidDataException($"Optimizer state holds {n} values; the network has {into.numel()} weights.");
            var bytes = r.ReadBytes(checked((int)(n * sizeof(float))));
            if (bytes.Length != n * sizeof(float))
                throw new InvalidDataException("Optimizer state is truncated.");
            var data = new float[n];
            Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
            using var src = torch.tensor(data);
            using var noGrad = torch.no_grad();
            into.copy_(src);
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            _first.Dispose();
            _second?.Dispose();
        }
    }
}
