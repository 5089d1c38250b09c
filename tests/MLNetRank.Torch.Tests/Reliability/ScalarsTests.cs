using System;
using System.Linq;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Reliability
{
    /// <summary>The kept-Scalar idiom (Layers/Scalars.cs) and its replacements of TorchSharp's own code give TorchSharp's
    /// results bit for bit: values and gradients of the helpers, and the ensemble's Adam against torch.optim.Adam.</summary>
    [Collection("TorchSharp")]
    public class ScalarsTests
    {
        private static float[] Bits(Tensor t) => t.detach().cpu().data<float>().ToArray();

        [Fact]
        public void TheCacheKeepsOneScalarPerTypeAndValue()
        {
            Assert.Same(Scalars.Of(0.5f), Scalars.Of(0.5f));
            Assert.Same(Scalars.One, Scalars.Of(1));
            Assert.NotSame(Scalars.Of(1), Scalars.Of(1L));
            Assert.NotSame(Scalars.Of(1f), Scalars.Of(1.0));
            Assert.NotSame(Scalars.Of(0f), Scalars.Of(-0f));
            Assert.True(Scalars.Of(2).Type is ScalarType.Int64 or ScalarType.Int32);   // an integral Scalar, as 2 implicitly
            Assert.True(Scalars.Of(2.0).Type is ScalarType.Float64 or ScalarType.Float32);
        }

        [Fact]
        public void TheHelpersGiveTorchSharpsOperatorsBitForBit()
        {
            using var scope = NewDisposeScope();
            var g = new Generator(3);
            var a0 = randn(new long[] { 5, 7 }, generator: g) * 4;
            var b0 = randn(new long[] { 5, 7 }, generator: g) * 4;
            a0[0, 0] = tensor(30f);                       // past softplus's threshold
            (Tensor value, float[] ga, float[] gb) Run(Func<Tensor, Tensor, Tensor> f)
            {
                var a = a0.clone().requires_grad_(true);
                var b = b0.clone().requires_grad_(true);
                var y = f(a, b);
                (y * y).sum().backward();
                return (y.detach(), Bits(a.grad!), Bits(b.grad!));
            }
            void Same(Func<Tensor, Tensor, Tensor> ours, Func<Tensor, Tensor, Tensor> theirs)
            {
                var x = Run(ours);
                var y = Run(theirs);
                Assert.Equal(Bits(y.value), Bits(x.value));
                Assert.Equal(y.ga, x.ga);
                Assert.Equal(y.gb, x.gb);
            }
            Same((a, b) => a.Plus(b), (a, b) => a + b);
            Same((a, b) => a.RSub(Scalars.One) * b, (a, b) => (1 - a) * b);
            Same((a, b) => a.RSub(Scalars.Of(1f)) * b, (a, b) => (1f - a) * b);
            Same((a, b) => a.Squared() * b, (a, b) => a.square() * b);
            Same((a, b) => Scalars.Softplus(a) * b, (a, b) => nn.functional.softplus(a) * b);
            Same((a, b) => a.clamp(Scalars.Of(1e-7), Scalars.Of(1 - 1e-7)) * b, (a, b) => a.clamp(1e-7, 1 - 1e-7) * b);
            Same((a, b) => a.mul(Scalars.Of(0.5f)).Plus(b.mul(Scalars.Of(1e9f))), (a, b) => a * 0.5f + b * 1e9f);
            Same((a, b) => a.exp().RSub(Scalars.One).clamp_min(Scalars.Of(1e-7)).log() * b, (a, b) => (1 - a.exp()).clamp_min(1e-7).log() * b);
            Same((a, b) => { var c = a.clone(); c.PlusInPlace(b); return c; }, (a, b) => { var c = a.clone(); c.add_(b); return c; });
        }

        [Fact]
        public void EnsembleAdamIsTorchSharpsAdam()
        {
            foreach (double decay in new[] { 0.0, 0.01 })
            {
                using var scope = NewDisposeScope();
                Parameter[] Make() { torch.manual_seed(4); return new[] { new Parameter(randn(6, 3)), new Parameter(randn(3)) }; }
                var ours = Make();
                var theirs = Make();
                using var adam = new EnsembleAdam(ours, 0.05, decay);
                var reference = torch.optim.Adam(theirs, 0.05, weight_decay: decay);
                var x = randn(9, 6);
                for (int step = 0; step < 5; step++)
                {
                    foreach (var (p, isOurs) in new[] { (ours, true), (theirs, false) })
                    {
                        if (isOurs) adam.ZeroGrad(); else reference.zero_grad();
                        var loss = (x.matmul(p[0]) + p[1]).tanh().sum();
                        loss.backward();
                        if (isOurs) adam.Step(); else reference.step();
                    }
                    for (int i = 0; i < ours.Length; i++)
                        Assert.Equal(Bits(theirs[i]), Bits(ours[i]));
                }
                Assert.NotEqual(Bits(Make()[0]), Bits(ours[0]));   // it did move the weights
            }
        }
    }
}
