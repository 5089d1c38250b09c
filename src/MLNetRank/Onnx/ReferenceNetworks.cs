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
            public int Experts { get; set; } = 4;
            public int[] ExpertLayers { get; set; } = { 256, 128 };
            public string[] Tasks { get; set; } = { "Click", "Buy" };
            public int[] TowerLayers { get; set; } = { 64 };
            public int Seed { get; set; } = 1;

            public int BottomWidth => DenseInputs + Ids.Length * EmbeddingDim;

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
            int bottom = spec.BottomWidth;
            var x = g.Concat(1, parts.ToArray(), "bottom");
            var experts = new List<string>();
            int width = bottom;
            for (int e = 0; e < spec.Experts; e++)
            {
                var h = x;
                width = bottom;
                foreach (int units in spec.ExpertLayers)
                {
                    h = g.Relu(g.Dense(h, Weights(width, width * units), new float[units], width, units));
                    width = units;
                }
                experts.Add(g.Unsqueeze(h, new long[] { 1 }));          // [N, 1, width]
            }
            var stacked = g.Concat(1, experts.ToArray(), "experts");    // [N, E, width]
            foreach (var task in spec.Tasks)
            {
                var gate = g.Softmax(g.Dense(x, Weights(bottom, bottom * spec.Experts), new float[spec.Experts], bottom, spec.Experts), 1); // [N, E]
                var mixed = g.Reshape(g.MatMul(g.Unsqueeze(gate, new long[] { 1 }), stacked), new long[] { -1, width }); // [N, width]
                var t = mixed;
                int w = width;
                foreach (int units in spec.TowerLayers)
                {
                    t = g.Relu(g.Dense(t, Weights(w, w * units), new float[units], w, units));
                    w = units;
                }
                g.Sigmoid(g.Dense(t, Weights(w, w), new float[1], w, 1), task + "Probability");
                g.AddOutput(task + "Probability", new long[] { -1, 1 });
            }
            return g.ToBytes();
        }
    }
}
