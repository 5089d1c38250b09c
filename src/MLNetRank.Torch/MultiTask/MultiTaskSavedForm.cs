using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;
using MLNetRank.Serving;
using MLNetRank.Torch.Layers;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// The multi-task trainer's saved form (step 4 of the component story, docs/architecture.md; the ML.NET preparation in
    /// front of it is <see cref="PreparationPlan"/>): the serving graph of a trained network ( ONNX applied by ML.NET's
    /// <c>OnnxTransformer</c>): inputs are the prepared columns, outputs the task columns. Written with
    /// <see cref="OnnxGraphBuilder"/>, which checks every reference, so an exporter bug fails here with the tensor named.
    /// </summary>
    internal static class MultiTaskSavedForm
    {
        private const string GraphName = "mlnetrank_multitask";
        private const string Producer = "MLNetRank.Torch";

        public static byte[] Export(MultiTaskNetwork net, NetworkLayout layout, PreparationPlan plan, MultiTaskEstimator.Options o)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var g = new OnnxGraphBuilder(GraphName) { ProducerName = Producer };
            DeclareInputs(g, layout.DenseSize, plan, layout.Categoricals.Select(c => (long)c.Slots).ToArray(), layout.Sequences.Select(q => q.SameForAllCandidates).ToArray(),
                layout.Sequences.Select(q => q.KnownLength).ToArray());
            // key columns arrive as UInt32 (0 = missing / unknown): rows of the embedding tables once cast to Int64
            // (a vector with one id space per slot adds each slot's offset: slot j's ids start at row j * stride)
            var cats = plan.Cats.Select((c, i) =>
            {
                var ids = g.Cast(c.Input, TensorElementType.Int64);
                var input = layout.Categoricals[i];
                return input.SlotStride > 0
                    ? g.Add(ids, g.Int64s("slot_offsets", Enumerable.Range(0, input.Slots).Select(j => j * input.SlotStride).ToArray()))
                    : ids;
            }).ToList();
            var seqs = plan.Seqs.Select(s => g.Cast(s.Input, TensorElementType.Int64)).ToList();
            var logits = net.Export(g, plan.Dense, cats, seqs, out var positionLogits);
            // transformer blocks the request scorer evaluates natively
            if (g.NativeTransformers.Count > 0)
                g.AddMetadata(MLNetRank.Serving.Native.NativeTransformerSpec.MetadataKey, MLNetRank.Serving.Native.NativeTransformerSpec.Write(g.NativeTransformers));
            // for the request scorer: id 0 is padding in every sequence input (so a batch may pad rows to one length), and
            // the request-level sequences may come with one row for all the request's candidates (user-side work shared)
            if (plan.Seqs.Count > 0)
            {
                g.AddMetadata(ServingMetadata.ZeroPaddedInputs, string.Join(",", plan.Seqs.Select(s => s.Input)));
                var shared = plan.Seqs.Where((s, i) => layout.Sequences[i].SameForAllCandidates).Select(s => s.Input).ToArray();
                if (shared.Length > 0)
                    g.AddMetadata(ServingMetadata.RequestLevelInputs, string.Join(",", shared));
            }
            // a task's score from its logit(s): the logit (binary, plain regression) or exp(logit) - 1 (log1p regression);
            // binary tasks also get the probability sigmoid(logit)
            void Emit(TaskInfo task, string logit, string scoreName, string probabilityName)
            {
                if (task.Kind == MultiTaskKind.Regression && task.Transform == LabelTransform.Log1p)
                    g.Sub(g.Exp(logit), g.AddConstant(new[] { 1f }, new long[] { 1 }, "one"), scoreName);
                else
                    g.Identity(logit, scoreName);
                if (task.Kind == MultiTaskKind.Binary)
                    g.Sigmoid(logit, probabilityName);
            }
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                var task = layout.Tasks[t];
                Emit(task, g.Reshape(logits[t], new long[] { -1 }), task.Name + "Score", task.Name + "Probability");
            }
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                var task = layout.Tasks[t];
                if (task.Parent >= 0)
                    g.Mul(layout.Tasks[task.Parent].Name + "Probability", task.Name + "Probability", task.Name + "JointProbability");
            }
            // per-position towers: [B, K + 1] vectors of all towers (same transform as the task's score)
            var widths = new Dictionary<string, long>();
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                if (positionLogits[t] is not { } all)
                    continue;
                var task = layout.Tasks[t];
                long width = task.PositionTowers!.MaximumPosition + 1;
                widths[task.Name + "PositionScores"] = widths[task.Name + "PositionProbabilities"] = width;
                Emit(task, all, task.Name + "PositionScores", task.Name + "PositionProbabilities");
            }
            foreach (var name in MultiTaskEstimator.OutputNames(o))
                g.AddOutput(name, TensorElementType.Float, widths.TryGetValue(name, out long k) ? new long[] { -1, k } : new long[] { -1 });
            return g.ToBytes();
        }

        private static void DeclareInputs(OnnxGraphBuilder g, int denseSize, PreparationPlan plan, long[] slots, bool[] requestLevel, int[] knownLengths)
        {
            if (plan.Dense is not null)
                g.AddInput(plan.Dense, TensorElementType.Float, new long[] { -1, denseSize });
            for (int i = 0; i < plan.Cats.Count; i++)
                g.AddInput(plan.Cats[i].Input, TensorElementType.UInt32, new long[] { -1, slots[i] });
            // each sequence has its own symbolic length (a shared dim_param would tell ONNX Runtime the lengths are equal)
            // a request-level sequence may have 1 row while the others have B: its rows are another symbol too
            // a known-size vector column (e.g. [VectorType(50)]) declares its size: ML.NET's OnnxTransformer shapes a known-size
            // column's tensor from the graph's input dims, and a symbolic length there would read as 0
            for (int i = 0; i < plan.Seqs.Count; i++)
                g.AddInput(plan.Seqs[i].Input, TensorElementType.UInt32, new long[] { requestLevel[i] ? -(1000 + i) : -1, knownLengths[i] > 0 ? knownLengths[i] : -(2 + i) });
        }

        /// <summary>A graph with the same inputs and outputs (types, not values), for <c>GetOutputSchema</c> before training.</summary>
        public static byte[] Placeholder(PreparationPlan plan, MultiTaskEstimator.Options o)
        {
            var g = new OnnxGraphBuilder(GraphName) { ProducerName = Producer };
            // sizes are unknown before fitting: declare them dynamic (the ONNX estimator only needs names and types here)
            long next = -2;
            if (plan.Dense is not null)
                g.AddInput(plan.Dense, TensorElementType.Float, new long[] { -1, next-- });
            foreach (var c in plan.Cats)
                g.AddInput(c.Input, TensorElementType.UInt32, new long[] { -1, next-- });
            foreach (var s in plan.Seqs)
                g.AddInput(s.Input, TensorElementType.UInt32, new long[] { -1, next-- });
            var first = plan.OnnxInputs[0];
            var src = plan.Dense == first ? first : g.Cast(first, TensorElementType.Float);
            var sum = g.ReduceSum(src, new long[] { 1 }, keepDims: false);
            foreach (var name in MultiTaskEstimator.OutputNames(o))
            {
                g.Identity(sum, name);
                g.AddOutput(name, TensorElementType.Float, new long[] { -1 });
            }
            return g.ToBytes();
        }
    }
}
