using System;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>The public extension point: a user-written pooling (the docs' example) trains, exports and scores like the
    /// built-in ones; one whose export disagrees with its forward is refused by Fit, naming the feature.</summary>
    [Collection("TorchSharp")]
    public class CustomPoolingTests
    {
        /// <summary>docs/multitask.md, "Writing your own pooling".</summary>
        public sealed class MaxPooling : SequencePooling
        {
            public override SequencePoolingModule CreateModule(SequencePoolingContext c) => new Module(c.FeatureName);

            private sealed class Module : SequencePoolingModule
            {
                // the numbers of the forward as Scalars that outlive every call (docs/multitask.md says why)
                private static readonly Scalar One = 1f.ToScalar(), Big = 1e9f.ToScalar(), Floor = (-1e8f).ToScalar();
                public Module(string name) : base(name) => RegisterComponents();
                public override Tensor forward(SequencePoolingBatch b) => b.Embedded.add(b.Mask.unsqueeze(2).sub(One).mul(Big), One).amax(1).clamp_min(Floor);
                public override string Export(SequencePoolingGraph x)
                {
                    var mask = x.Op("Unsqueeze", new[] { x.Mask, x.Constant(new long[] { 2 }, new long[] { 1 }) });
                    var bias = x.Op("Mul", new[] { x.Op("Sub", new[] { mask, x.Constant(new[] { 1f }, new long[] { 1 }) }), x.Constant(new[] { 1e9f }, new long[] { 1 }) });
                    var max = x.Op("ReduceMax", new[] { x.Op("Add", new[] { x.Embedded, bias }) }, ("axes", new long[] { 1 }), ("keepdims", 0));
                    return x.Op("Max", new[] { max, x.Constant(new[] { -1e8f }, new long[] { 1 }) });
                }
            }
        }

        /// <summary>Forward: a sum; export: a mean (a plausible mistake).</summary>
        private sealed class WrongPooling : SequencePooling
        {
            public override SequencePoolingModule CreateModule(SequencePoolingContext c) => new Module(c.FeatureName);

            private sealed class Module : SequencePoolingModule
            {
                public Module(string name) : base(name) => RegisterComponents();
                public override Tensor forward(SequencePoolingBatch b) => (b.Embedded * b.Mask.unsqueeze(2)).sum(1);
                public override string Export(SequencePoolingGraph x) => new MeanSequencePooling().CreateModule(new SequencePoolingContext("m", 8, 8)).Export(x);
            }
        }

        private static MultiTaskEstimator.Options With(SequencePooling pooling)
        {
            var o = SequenceNetworkTests.Options("mean");
            ((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserItemSeq)).Pooling = pooling;
            return o;
        }

        [Fact]
        public void UserWrittenPooling_TrainsAndExports()
        {
            var ml = new MLContext(1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(60)).GetImpressions(ml);
            using var model = ml.Ranker().Trainers.MultiTask(With(new MaxPooling())).Fit(data);
            var torch = model.TorchOutputs(data);
            var scored = model.Transform(data);
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = SequenceNetworkTests.Column(scored, model.OutputColumnNames[k]);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"{model.OutputColumnNames[k]} row {i}");
            }
        }

        [Fact]
        public void ExportThatDisagrees_IsRefusedByFit_NamingTheFeature()
        {
            var ml = new MLContext(1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(40)).GetImpressions(ml);
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(With(new WrongPooling())).Fit(data));
            Assert.Contains("UserItemSeq", ex.Message);
            Assert.Contains("disagrees", ex.Message);
            Assert.Contains("output row", ex.Message);
        }
    }
}
