using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Reference networks with random weights, written with <see cref="OnnxGraphBuilder"/>, for tests and benchmarks:
    /// an MMoE ranker (dense features + id embeddings, experts, one softmax gate and one tower per task).
    /// </summary>
    internal static class ReferenceNetworks
    {
        internal sealed class MmoeSpec
        {
            public int DenseInputs { get; set; } = 100;
            public string DenseColumn { get; set; } = "Dense";
            /// <summary>Id columns (int64 graph inputs [-1, 1]) with their vocabulary sizes.</summary>
            public (string Column, int Vocabulary)[] Ids { get; set; } = { ("UserId", 10000), ("LiveId", 5000), ("CategoryId", 100) };
            public int EmbeddingDim { get; set; } = 16;
            /// <summary>An optional behaviour sequence (int64 graph input [-1, -1]), mean-pooled over its embeddings.</summary>
            public (string Column, int Vocabulary)? Sequence { get; set; }
            public int Experts { get; set; } = 4;
            public int[] ExpertLayers { get; set; } = { 256, 128 };
            public string[] Tasks { get; set; } = { "Click", "Buy" };
            public int[] TowerLayers { get; set; } = { 64 };
            public int Seed { get; set; } = 1;
            /// <summary>Write the experts' first layers and the gates over the bottom as ONE Gemm (then Split): same function, fewer, larger matrix products.</summary>
            public bool FuseBottomLayers { get; set; }

            public int BottomWidth => DenseInputs + (Ids.Length + (Sequence.HasValue ? 1 : 0)) * EmbeddingDim;

            /// <summary>Multiply-adds x 2 per row of the dense layers, the gates and the expert mixing.</summary>
            public long FlopsPerRow
            {
                get
                {
                    long f = 0;
                    int width = BottomWidth;
                    foreach (int h in ExpertLayers)
                    {
                        f += 2L * Experts * width * h;
                        width = h;
                    }
                    f += Tasks.Length * (2L * BottomWidth * Experts + 2L * Experts * width);
                    foreach (var _ in Tasks)
                    {
                        int w = width;
                        foreach (int h in TowerLayers)
                        {
                            f += 2L * w * h;
                            w = h;
                        }
                        f += 2L * w;
                    }
                    return f;
                }
            }
        }

        /// <summary>The MMoE graph: outputs <c>{Task}Probability</c> [-1, 1] per task.</summary>
        public static byte[] Mmoe(MmoeSpec spec)
        {
            var rng = new Random(spec.Seed);
            float[] Weights(int fanIn, int n)
            {
                float scale = (float)Math.Sqrt(2.0 / fanIn);
                var w = new float[n];
                for (int i = 0; i < n; i++)
                    w[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
                return w;
            }
            var g = new OnnxGraphBuilder("mmoe");
            var parts = new List<string> { g.AddInput(spec.DenseColumn, new long[] { -1, spec.DenseInputs }) };
            foreach (var (column, vocabulary) in spec.Ids)
            {
                var id = g.AddInput(column, TensorElementType.Int64, new long[] { -1, 1 });
                var table = Weights(spec.EmbeddingDim, vocabulary * spec.EmbeddingDim);
                parts.Add(g.Reshape(g.Embedding(id, table, vocabulary, spec.EmbeddingDim), new long[] { -1, spec.EmbeddingDim }));
            }
            if (spec.Sequence is (string seqColumn, int seqVocabulary))
            {
                var seq = g.AddInput(seqColumn, TensorElementType.Int64, new long[] { -1, -1 });
                var table = Weights(spec.EmbeddingDim, seqVocabulary * spec.EmbeddingDim);
                parts.Add(g.ReduceMean(g.Embedding(seq, table, seqVocabulary, spec.EmbeddingDim), new long[] { 1 }, keepDims: false));
            }
            int bottom = spec.BottomWidth;
            var x = g.Concat(1, parts.ToArray(), "bottom");
            // Weights in a fixed order, so the fused and unfused graphs compute the same function.
            var expertWeights = new List<(float[] W, int In, int Out)>[spec.Experts];
            for (int e = 0; e < spec.Experts; e++)
            {
                expertWeights[e] = new List<(float[], int, int)>();
                int w = bottom;
                foreach (int units in spec.ExpertLayers)
                {
                    expertWeights[e].Add((Weights(w, w * units), w, units));
                    w = units;
                }
            }
            var gateWeights = spec.Tasks.Select(_ => Weights(bottom, bottom * spec.Experts)).ToArray();

            var firstExpert = new string[spec.Experts];
            var gateLogits = new string[spec.Tasks.Length];
            int first = spec.ExpertLayers[0];
            if (spec.FuseBottomLayers)
            {
                // One [bottom, E*first + T*E] weight: column blocks = expert first layers, then gates.
                int total = spec.Experts * first + spec.Tasks.Length * spec.Experts;
                var fused = new float[bottom * total];
                for (int r = 0; r < bottom; r++)
                {
                    int c = 0;
                    for (int e = 0; e < spec.Experts; e++, c += first)
                        Array.Copy(expertWeights[e][0].W, r * first, fused, r * total + c, first);
                    for (int t = 0; t < spec.Tasks.Length; t++, c += spec.Experts)
                        Array.Copy(gateWeights[t], r * spec.Experts, fused, r * total + c, spec.Experts);
                }
                var all = g.Dense(x, fused, new float[total], bottom, total);
                var outputs = Enumerable.Range(0, spec.Experts + spec.Tasks.Length).Select(_ => g.UniqueName("split")).ToArray();
                var sizes = Enumerable.Repeat((long)first, spec.Experts).Concat(Enumerable.Repeat((long)spec.Experts, spec.Tasks.Length)).ToArray();
                g.AddNode("Split", new[] { all, g.AddConstant(sizes, new long[] { sizes.Length }) }, outputs, OnnxAttribute.Int("axis", 1));
                Array.Copy(outputs, firstExpert, spec.Experts);
                Array.Copy(outputs, spec.Experts, gateLogits, 0, spec.Tasks.Length);
            }
            else
            {
                for (int e = 0; e < spec.Experts; e++)
                    firstExpert[e] = g.Dense(x, expertWeights[e][0].W, new float[first], bottom, first);
                for (int t = 0; t < spec.Tasks.Length; t++)
                    gateLogits[t] = g.Dense(x, gateWeights[t], new float[spec.Experts], bottom, spec.Experts);
            }

            var experts = new List<string>();
            int width = first;
            for (int e = 0; e < spec.Experts; e++)
            {
                var h = g.Relu(firstExpert[e]);
                width = first;
                foreach (var (w, inF, outF) in expertWeights[e].Skip(1))
                {
                    h = g.Relu(g.Dense(h, w, new float[outF], inF, outF));
                    width = outF;
                }
                experts.Add(g.Unsqueeze(h, new long[] { 1 }));          // [N, 1, width]
            }
            var stacked = g.Concat(1, experts.ToArray(), "experts");    // [N, E, width]
            for (int t = 0; t < spec.Tasks.Length; t++)
            {
                var task = spec.Tasks[t];
                var gate = g.Softmax(gateLogits[t], 1); // [N, E]
                var mixed = g.Reshape(g.MatMul(g.Unsqueeze(gate, new long[] { 1 }), stacked), new long[] { -1, width }); // [N, width]
                var h = mixed;
                int w = width;
                foreach (int units in spec.TowerLayers)
                {
                    h = g.Relu(g.Dense(h, Weights(w, w * units), new float[units], w, units));
                    w = units;
                }
                g.Sigmoid(g.Dense(h, Weights(w, w), new float[1], w, 1), task + "Probability");
                g.AddOutput(task + "Probability", new long[] { -1, 1 });
            }
            return g.ToBytes();
        }
    }
}
