using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>
    /// TorchSharp 0.107's <c>torch.optim.Adam</c> (no AMSGrad, not maximizing), op for op and in the same order, with every
    /// Scalar kept alive for its call (<see cref="Scalars"/> says why: TorchSharp's own <c>Adam.step</c> passes temporary
    /// Scalars made from its doubles to native calls, which a garbage collection on another thread can free mid-call).
    /// The ensemble trainer's updates are the ones TorchSharp's Adam gives.
    /// </summary>
    internal sealed class EnsembleAdam : IDisposable
    {
        private const double Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8;
        private readonly Parameter[] _parameters;
        private readonly Tensor[] _expAvg, _expAvgSq;
        private readonly long[] _steps;
        private readonly double _learningRate, _weightDecay;

        public EnsembleAdam(IEnumerable<Parameter> parameters, double learningRate, double weightDecay)
        {
            _parameters = parameters.ToArray();
            _expAvg = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _expAvgSq = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _steps = new long[_parameters.Length];
            _learningRate = learningRate;
            _weightDecay = weightDecay;
        }

        /// <summary>Zeroes every gradient (as TorchSharp's optimizers do).</summary>
        public void ZeroGrad()
        {
            foreach (var p in _parameters)
            {
                using var grad = p.grad;
                _ = grad?.zero_();
            }
        }

        /// <summary>One Adam update of every parameter that has a gradient.</summary>
        public void Step()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            for (int i = 0; i < _parameters.Length; i++)
            {
                var param = _parameters[i];
                var grad = param.grad;
                if (grad is null)
                    continue;
                long step = ++_steps[i];
                double biasCorrection1 = 1 - Math.Pow(Beta1, step);
                double biasCorrection2 = 1 - Math.Pow(Beta2, step);
                if (_weightDecay != 0)
                    grad = grad.add(param, Scalars.Of(_weightDecay));
                _expAvg[i].mul_(Scalars.Of(Beta1)).add_(grad, Scalars.Of(1 - Beta1));
                _expAvgSq[i].mul_(Scalars.Of(Beta2)).addcmul_(grad, grad.conj(), Scalars.Of(1 - Beta2));
                using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
                var denom = _expAvgSq[i].sqrt().div(sqrtCorrection2).add_(Scalars.Of(Eps), Scalars.One);
                using var minusStepSize = (-(_learningRate / biasCorrection1)).ToScalar();
                param.addcdiv_(_expAvg[i], denom, minusStepSize);
            }
        }

        public void Dispose()
        {
            foreach (var t in _expAvg.Concat(_expAvgSq))
                t.Dispose();
        }
    }
}
