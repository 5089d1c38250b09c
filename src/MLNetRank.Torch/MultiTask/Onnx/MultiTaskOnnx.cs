using System.Collections.Generic;
using System.Linq;

namespace MLNetRank.Torch.MultiTask.Onnx
{
    /// <summary>The serving graph of a trained network: inputs are the prepared columns, outputs the task columns.</summary>
    internal static class MultiTaskOnnx
    {
        public static byte[] Export(MultiTaskNetwork net, NetworkLayout layout, PreparationPlan plan, MultiTaskOptions o)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var w = new OnnxModelWriter();
            DeclareInputs(w, layout.DenseSize, plan, layout.Categoricals.Select(c => (long)c.Slots).ToArray());
            // key columns arrive as UInt32 (0 = missing / unknown): rows of the embedding tables once cast to Int64
            var cats = plan.Cats.Select(c => w.Op("Cast", new[] { c.Input }, ("to", 7L))).ToList();
            var seqs = plan.Seqs.Select(s => w.Op("Cast", new[] { s.Input }, ("to", 7L))).ToList();
            var logits = net.Export(w, plan.Dense, cats, seqs, out var positionLogits);
            // a task's score from its logit(s): the logit (binary, plain regression) or exp(logit) - 1 (log1p regression);
            // binary tasks also get the probability sigmoid(logit)
            void Emit(TaskInfo task, string logit, string scoreName, string probabilityName)
            {
                if (task.Kind == MultiTaskKind.Regression && task.Transform == LabelTransform.Log1p)
                {
                    var one = w.AddInitializer(w.Fresh("one"), new[] { 1f }, new long[] { 1 });
                    w.AddNode("Sub", new[] { w.Op("Exp", new[] { logit }), one }, new[] { scoreName });
                }
                else
                    w.AddNode("Identity", new[] { logit }, new[] { scoreName });
                if (task.Kind == MultiTaskKind.Binary)
                    w.AddNode("Sigmoid", new[] { logit }, new[] { probabilityName });
            }
            var flatShape = w.AddInitializer(w.Fresh("flat"), new long[] { -1 }, new long[] { 1 });
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                var task = layout.Tasks[t];
                Emit(task, w.Op("Reshape", new[] { logits[t], flatShape }), task.Name + "Score", task.Name + "Probability");
            }
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                var task = layout.Tasks[t];
                if (task.Parent >= 0)
                    w.AddNode("Mul", new[] { layout.Tasks[task.Parent].Name + "Probability", task.Name + "Probability" }, new[] { task.Name + "JointProbability" });
            }
            // per-position towers: [B, K + 1] vectors of all towers (same transform as the task's score)
            var widths = new Dictionary<string, long>();
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                if (positionLogits[t] is not { } all)
                    continue;
                var task = layout.Tasks[t];
                long width = task.PositionTowers!.Positions + 1;
                widths[task.Name + "PositionScores"] = widths[task.Name + "PositionProbabilities"] = width;
                Emit(task, all, task.Name + "PositionScores", task.Name + "PositionProbabilities");
            }
            foreach (var name in MultiTaskEstimator.OutputNames(o))
                w.AddOutput(name, OnnxElementType.Float, widths.TryGetValue(name, out long k) ? new long[] { -1, k } : new long[] { -1 });
            return w.ToBytes();
        }

        private static void DeclareInputs(OnnxModelWriter w, int denseSize, PreparationPlan plan, long[] slots)
        {
            if (plan.Dense is not null)
                w.AddInput(plan.Dense, OnnxElementType.Float, new long[] { -1, denseSize });
            for (int i = 0; i < plan.Cats.Count; i++)
                w.AddInput(plan.Cats[i].Input, OnnxElementType.UInt32, new long[] { -1, slots[i] });
            // each sequence has its own symbolic length (a shared dim_param would tell ONNX Runtime the lengths are equal)
            for (int i = 0; i < plan.Seqs.Count; i++)
                w.AddInput(plan.Seqs[i].Input, OnnxElementType.UInt32, new long[] { -1, -(2 + i) });
        }

        /// <summary>A graph with the same inputs and outputs (types, not values), for <c>GetOutputSchema</c> before training.</summary>
        public static byte[] Placeholder(PreparationPlan plan, MultiTaskOptions o)
        {
            var w = new OnnxModelWriter();
            // sizes are unknown before fitting: declare them dynamic (the ONNX estimator only needs names and types here)
            long next = -2;
            if (plan.Dense is not null)
                w.AddInput(plan.Dense, OnnxElementType.Float, new long[] { -1, next-- });
            foreach (var c in plan.Cats)
                w.AddInput(c.Input, OnnxElementType.UInt32, new long[] { -1, next-- });
            foreach (var s in plan.Seqs)
                w.AddInput(s.Input, OnnxElementType.UInt32, new long[] { -1, next-- });
            var first = plan.OnnxInputs[0];
            var src = plan.Dense == first ? first : w.Op("Cast", new[] { first }, ("to", 1L));
            var axis = w.AddInitializer(w.Fresh("axis"), new long[] { 1 }, new long[] { 1 });
            var sum = w.Op("ReduceSum", new[] { src, axis }, ("keepdims", 0L));
            foreach (var name in MultiTaskEstimator.OutputNames(o))
            {
                w.AddNode("Identity", new[] { sum }, new[] { name });
                w.AddOutput(name, OnnxElementType.Float, new long[] { -1 });
            }
            return w.ToBytes();
        }
    }
}
