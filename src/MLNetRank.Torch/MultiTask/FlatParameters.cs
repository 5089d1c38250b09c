using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// The parameters of a network re-pointed at one contiguous buffer, <see cref="Flat"/>, and their gradients at
    /// another, so that an elementwise optimizer (Adam, AdamW, Adagrad: the same arithmetic per weight) updates all weights
    /// with a few large operations per step. Gradients stay defined (zeroed in place by <see cref="ZeroGrad"/>), as
    /// TorchSharp's own <c>zero_grad</c> keeps them.
    /// </summary>
    internal sealed class FlatParameters : IDisposable
    {
        private readonly List<Parameter> _parameters;
        private readonly Tensor _grad;
        private bool _disposed;

        public FlatParameters(IEnumerable<Parameter> parameters, Device device)
        {
            _parameters = parameters.ToList();
            long total = _parameters.Sum(p => p.numel());
            using var scope = torch.NewDisposeScope();
            using var _ = no_grad();
            Flat = new Parameter(torch.empty(total, ScalarType.Float32, device), requires_grad: true);
            Flat.MoveToOuterDisposeScope();
            _grad = torch.zeros(total, ScalarType.Float32, device).MoveToOuterDisposeScope();
            long offset = 0;
            foreach (var p in _parameters)
            {
                if (p.dtype != ScalarType.Float32)
                    throw new InvalidOperationException($"Parameter of type {p.dtype}: the trainer keeps float32 weights only.");
                long n = p.numel();
                var view = Flat.narrow(0, offset, n).view(p.shape);
                view.copy_(p);
                p.set_(view);
                p.grad = _grad.narrow(0, offset, n).view(p.shape);
                offset += n;
            }
            Flat.grad = _grad;
        }

        /// <summary>All weights, as one parameter for the optimizer.</summary>
        public Parameter Flat { get; }

        /// <summary>All gradients, in the layout of <see cref="Flat"/>.</summary>
        public Tensor Grad => _grad;

        /// <summary>Zeroes every gradient (one operation).</summary>
        public void ZeroGrad() => _grad.zero_();

        /// <summary>Detaches the gradients (the weights keep the shared buffer, which lives as long as they do).</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var p in _parameters)
                p.grad = null;
            Flat.grad = null;
            _grad.Dispose();
            Flat.Dispose();
        }
    }
}
