using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Runs a pooling module's TorchSharp forward and its ONNX export (alone, in ONNX Runtime) on the same batch and compares
    /// them: Fit's check of every pooling (built-in or user-written), and the tests' check of the exports.
    /// </summary>
    internal static class PoolingAgreement
    {
        /// <summary>Largest |torch − ONNX| over the pooled outputs; throws naming the feature and the differing output when it
        /// exceeds <paramref name="tolerance"/> (relative to max(1, |torch|)) or when the export fails.</summary>
        public static double Check(string featureName, SequencePoolingModule module, SequencePoolingBatch batch, double tolerance = 1e-4)
        {
            float[] expected;
            long[] shape;
            using (no_grad())
            {
                bool wasTraining = module.training;
                module.eval();
                using var scope = NewDisposeScope();
                var y = module.forward(batch).detach().cpu().contiguous();
                shape = y.shape;
                expected = y.data<float>().ToArray();
                if (wasTraining)
                    module.train();
            }
            float[] actual;
            long[] actualShape;
            try
            {
                (actual, actualShape) = RunExport(module, batch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"Sequence feature '{featureName}': the ONNX export of its pooling ({module.GetType().Name}) failed on a batch: {e.Message}", e);
            }
            if (!actualShape.SequenceEqual(shape))
                throw new InvalidOperationException($"Sequence feature '{featureName}': the ONNX export of its pooling ({module.GetType().Name}) outputs shape [{string.Join(", ", actualShape)}], the TorchSharp forward [{string.Join(", ", shape)}].");
            double worst = 0;
            int at = -1;
            for (int i = 0; i < expected.Length; i++)
            {
                double diff = Math.Abs(expected[i] - actual[i]) / Math.Max(1.0, Math.Abs(expected[i]));
                if (!(diff <= worst))
                {
                    worst = double.IsNaN(diff) ? double.PositiveInfinity : diff;
                    at = i;
                }
            }
            if (worst > tolerance)
            {
                long width = shape.Length > 1 ? shape[^1] : 1;
                throw new InvalidOperationException($"Sequence feature '{featureName}': the ONNX export of its pooling ({module.GetType().Name}) disagrees with its TorchSharp forward: output row {at / width}, slot {at % width} is {actual[at]} in ONNX and {expected[at]} in TorchSharp (relative difference {worst:g3} > {tolerance:g3}).");
            }
            return worst;
        }

        /// <summary>The pooling alone as an ONNX graph, run on the batch (the module's parameters as initializers).</summary>
        public static (float[] Values, long[] Shape) RunExport(SequencePoolingModule module, SequencePoolingBatch batch)
        {
            var g = new OnnxGraphBuilder("pooling_check");
            var inputs = new List<(string Name, Tensor Value)>();
            long next = -2;
            string Input(string name, Tensor t)
            {
                var dims = new long[t.dim()];
                for (int i = 0; i < dims.Length; i++)
                    dims[i] = next--;        // every dimension its own symbol (the sequence may have 1 row, the queries B)
                g.AddInput(name, TensorElementType.Float, dims);
                inputs.Add((name, t));
                return name;
            }
            var emb = Input("embedded", batch.Embedded);
            var mask = Input("mask", batch.Mask);
            var qs = batch.Queries.Select((q, i) => Input($"query{i}", q)).ToArray();
            var qms = batch.QueryMasks.Select((q, i) => Input($"query_mask{i}", q)).ToArray();
            var outName = module.Export(new SequencePoolingGraph(g, emb, mask, qs, qms));
            g.AddOutput(g.Identity(outName, "pooled"), new long[] { -1, -1 });
            using var session = new InferenceSession(g.ToBytes());
            var feeds = inputs.Select(p =>
            {
                using var c = p.Value.detach().cpu().contiguous();
                return NamedOnnxValue.CreateFromTensor(p.Name, new DenseTensor<float>(c.data<float>().ToArray(), c.shape.Select(s => (int)s).ToArray()));
            }).ToList();
            using var results = session.Run(feeds);
            var r = results.First().AsTensor<float>();
            return (r.ToArray(), r.Dimensions.ToArray().Select(x => (long)x).ToArray());
        }
    }
}
