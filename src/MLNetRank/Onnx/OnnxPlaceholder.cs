using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Builds a placeholder ONNX graph with given input and output names, types and shapes, whose outputs are zeros
    /// of the declared shape (the batch dimension follows the first batched input). Estimators that produce an ONNX
    /// network after training use it to answer <c>GetOutputSchema</c> before training, through ML.NET's own
    /// <c>OnnxScoringEstimator</c>: <c>new OnnxNetworkEstimator(mlContext, new OnnxNetworkEstimator.Options { Model =
    /// OnnxPlaceholder.Build(inputs, outputs) }).GetOutputSchema(inputSchema)</c>.
    /// </summary>
    internal static class OnnxPlaceholder
    {
        /// <summary>The placeholder model's bytes.</summary>
        /// <param name="inputs">The graph inputs (at least one; a leading <c>-1</c> is the batch dimension).</param>
        /// <param name="outputs">The graph outputs (at least one; numeric or boolean; only the leading dimension may be <c>-1</c>).</param>
        public static byte[] Build(IReadOnlyList<OnnxTensorSpec> inputs, IReadOnlyList<OnnxTensorSpec> outputs)
        {
            if (inputs is null || inputs.Count == 0)
                throw new ArgumentException("A placeholder graph needs at least one input.", nameof(inputs));
            if (outputs is null || outputs.Count == 0)
                throw new ArgumentException("A placeholder graph needs at least one output.", nameof(outputs));
            var g = new OnnxGraphBuilder("placeholder");
            foreach (var i in inputs)
                g.AddInput(i.Name, i.ElementType, i.Dims.ToArray());
            var batched = inputs.FirstOrDefault(i => i.HasBatchDimension);
            string? batch = null;
            if (batched != null)
            {
                var shape = g.AddNode("Shape", new[] { batched.Name }, new[] { g.UniqueName("shape") });
                batch = g.AddNode("Slice", new[] { shape, g.AddConstant(new long[] { 0 }, new long[] { 1 }), g.AddConstant(new long[] { 1 }, new long[] { 1 }) },
                    new[] { g.UniqueName("batch") });
            }
            foreach (var o in outputs)
            {
                if (o.Dims.Skip(1).Any(d => d < 0))
                    throw new ArgumentException($"Placeholder output '{o.Name}' has an unknown dimension after the first: [{string.Join(", ", o.Dims)}].", nameof(outputs));
                if (o.HasBatchDimension && batch is null)
                    throw new ArgumentException($"Placeholder output '{o.Name}' has a batch dimension but no input has one.", nameof(outputs));
                string target;
                var rest = o.Dims.Skip(o.HasBatchDimension ? 1 : 0).ToArray();
                if (o.HasBatchDimension)
                    target = rest.Length == 0 ? batch! : g.Concat(0, new[] { batch!, g.AddConstant(rest, new long[] { rest.Length }) });
                else
                    target = g.AddConstant(rest, new long[] { rest.Length });
                var zeroValue = OnnxAttribute.Tensor("value", new[] { 0f }, new long[] { 1 });
                if (o.ElementType == TensorElementType.Float)
                    g.AddNode("ConstantOfShape", new[] { target }, new[] { o.Name }, zeroValue);
                else
                    g.Cast(g.AddNode("ConstantOfShape", new[] { target }, new[] { g.UniqueName("zeros") }, zeroValue), o.ElementType, o.Name);
                g.AddOutput(o.Name, o.ElementType, o.Dims.ToArray());
            }
            return g.ToBytes();
        }
    }
}
