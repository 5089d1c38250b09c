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
    /// <c>c10::Scalar::toFloat</c> under <c>addcmul_</c>). Here every Scalar stays alive for its call: the constants and
    /// the configuration's values are <see cref="Scalars"/> (the library's one idiom), the per-step bias corrections are
    /// locals disposed after the call that reads them.
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
                    g = g.add(_weights, Scalars.Of(_weightDecay));
                _first.addcmul_(g, g, Scalars.Of(1.0));
                var std = _first.sqrt();
                std.add_(Scalars.Of(AdagradEpsilon), Scalars.One);   // add_(eps) alone would make a temporary alpha 1
                _weights.addcdiv_(g, std, Scalars.Of(-_learningRate));
                return;
            }
            if (_kind == MultiTaskOptimizer.AdamW)
                _weights.mul_(Scalars.Of(1 - _learningRate * _weightDecay));
            else if (_weightDecay != 0)
                g = g.add(_weights, Scalars.Of(_weightDecay));
            _first.mul_(Scalars.Of(Beta1)).add_(g, Scalars.Of(1 - Beta1));
            _second!.mul_(Scalars.Of(Beta2)).addcmul_(g, g, Scalars.Of(1 - Beta2));
            // the bias corrections change every step: Scalars of their own, disposed after the call that reads them
            double bias1 = 1 - Math.Pow(Beta1, _step), bias2 = 1 - Math.Pow(Beta2, _step);
            var denom = _second!.sqrt();
            using (var s = (1 / Math.Sqrt(bias2)).ToScalar())
                denom.mul_(s);
            denom.add_(Scalars.Of(AdamEpsilon), Scalars.One);
            using var stepSize = (-_learningRate / bias1).ToScalar();
            _weights.addcdiv_(_first, denom, stepSize);
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
