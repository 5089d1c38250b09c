using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Onnx;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>The objective ensemble's saved form (step 4 of the component story, docs/architecture.md), applied by ML.NET's
    /// <c>OnnxTransformer</c> through <c>ApplyOnnxNetwork</c>: the ensemble as one ONNX graph: one input per score column ([N, 1] float), the fused score and, two-step, the
    /// sub-scores as outputs ([N, 1] float each).</summary>
    internal static class EnsembleSavedForm
    {
        internal static string SubScoreName(EnsembleObjective o) => o.Name + "SubScore";

        /// <summary>Output columns, in order: the fused score, then the sub-scores of a two-step learned ensemble.</summary>
        internal static string[] OutputNames(ObjectiveEnsembleEstimator.Options o)
        {
            var names = new List<string> { o.OutputColumnName };
            if (HasSubScores(o))
                names.AddRange(o.Objectives.Select(SubScoreName));
            return names.ToArray();
        }

        internal static bool IsLearned(ObjectiveEnsembleMethod m)
            => m == ObjectiveEnsembleMethod.BinaryCrossEntropy || m == ObjectiveEnsembleMethod.HarmonRank;

        internal static bool HasSubScores(ObjectiveEnsembleEstimator.Options o) => IsLearned(o.Method) && o.TwoStep;

        /// <summary>The objectives' logits [N, K] (probabilities clamped to [ε, 1 − ε], then log p − log(1 − p)).</summary>
        private static string Logits(OnnxGraphBuilder g, ObjectiveEnsembleEstimator.Options o, Dictionary<string, string> inputs)
        {
            var cols = new List<string>();
            foreach (var obj in o.Objectives)
            {
                var x = inputs[obj.ScoreColumnName];
                if (obj.ScoreKind == ObjectiveScoreKind.Probability)
                {
                    var p = g.Clip(x, EnsembleData.Epsilon, 1 - EnsembleData.Epsilon);
                    var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
                    x = g.Sub(g.Log(p), g.Log(g.Sub(one, p)));
                }
                cols.Add(x);
            }
            return cols.Count == 1 ? cols[0] : g.Concat(1, cols.ToArray());
        }

        /// <summary>Log-probabilities [N, K] for the product formula (a logit x gives log σ(x) = −softplus(−x)).</summary>
        private static string LogProbabilities(OnnxGraphBuilder g, ObjectiveEnsembleEstimator.Options o, Dictionary<string, string> inputs)
        {
            var cols = new List<string>();
            foreach (var obj in o.Objectives)
            {
                var x = inputs[obj.ScoreColumnName];
                if (obj.ScoreKind == ObjectiveScoreKind.Probability)
                    cols.Add(g.Log(g.Clip(x, EnsembleData.Epsilon, 1f)));
                else
                {
                    var sp = g.UniqueName("softplus");
                    g.AddNode("Softplus", new[] { g.Neg(x) }, new[] { sp });
                    cols.Add(g.Neg(sp));
                }
            }
            return cols.Count == 1 ? cols[0] : g.Concat(1, cols.ToArray());
        }

        private static (OnnxGraphBuilder g, Dictionary<string, string> inputs) Start(ObjectiveEnsembleEstimator.Options o)
        {
            var g = new OnnxGraphBuilder("MLNetRank.ObjectiveEnsemble") { DocString = $"MLNetRank objective ensemble ({o.Method}{(HasSubScores(o) ? ", two-step" : "")})" };
            var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var obj in o.Objectives)
                if (!inputs.ContainsKey(obj.ScoreColumnName))
                    inputs[obj.ScoreColumnName] = g.AddInput(obj.ScoreColumnName, new long[] { -1, 1 });
            return (g, inputs);
        }

        private static byte[] Finish(OnnxGraphBuilder g, ObjectiveEnsembleEstimator.Options o, string score, string? sub)
        {
            g.Identity(score, o.OutputColumnName);
            g.AddOutput(o.OutputColumnName, new long[] { -1, 1 });
            if (sub is not null)
            {
                var names = o.Objectives.Select(SubScoreName).ToArray();
                if (names.Length == 1)
                    g.Identity(sub, names[0]);
                else
                    g.Split(sub, Enumerable.Repeat(1L, names.Length).ToArray(), 1, names);
                foreach (var n in names)
                    g.AddOutput(n, new long[] { -1, 1 });
            }
            return g.ToBytes();
        }

        /// <summary>A fixed formula's graph (also the placeholder of a learned ensemble's signature).</summary>
        internal static byte[] Fixed(ObjectiveEnsembleEstimator.Options o, ObjectiveEnsembleMethod method)
        {
            var (g, inputs) = Start(o);
            int K = o.Objectives.Count;
            var w = g.AddConstant(o.Objectives.Select(x => x.Weight).ToArray(), new long[] { K, 1 }, "weights");
            string score = method == ObjectiveEnsembleMethod.WeightedProbabilityProduct
                ? g.Exp(g.MatMul(LogProbabilities(g, o, inputs), w))
                : g.MatMul(Logits(g, o, inputs), w);
            string? sub = null;
            if (HasSubScores(o))   // placeholder only: the sub-scores' signature
                sub = g.Identity(Logits(g, o, inputs));
            return Finish(g, o, score, sub);
        }

        /// <summary>A learned ensemble: logits, standardization with the training data's μ and σ, then the network.</summary>
        internal static byte[] Learned(ObjectiveEnsembleEstimator.Options o, EnsembleNetwork net, float[] mean, float[] sigma)
        {
            var (g, inputs) = Start(o);
            int K = o.Objectives.Count;
            var z = g.Mul(g.Sub(Logits(g, o, inputs), g.AddConstant(mean, new long[] { K }, "logit_mean")),
                          g.AddConstant(sigma.Select(s => 1f / s).ToArray(), new long[] { K }, "logit_inv_std"));
            var (score, sub) = net.Export(g, z);
            return Finish(g, o, score, sub);
        }
    }
}
